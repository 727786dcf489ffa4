//! The audit log: events (filtered, newest first), the events stream (by processing time, for
//! bulk reads and polling), one event, and the list of actions.

use futures::Stream;
use reqwest::Method;
use serde::Deserialize;

use super::{DataList, DataOf, OrgApi, required};
use crate::Error;
use crate::client::segment;
use crate::error::Result;
use crate::family::Family;
use crate::models::org::{Event, EventAction, EventProduct, SortDirection};
use crate::page::{Next, PageOf, cursor_from_url, paginate};

/// Largest page of both event lists.
const EVENTS_MAX_LIMIT: u32 = 500;

/// Filters of the audit-log query (`GET /v1/orgs/{orgId}/events`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Free text.
    pub q: Option<String>,
    /// Earliest event time, UNIX epoch milliseconds.
    pub from: Option<i64>,
    /// Latest event time, UNIX epoch milliseconds.
    pub to: Option<i64>,
    /// Action key(s), comma-separated (see [`OrgApi::event_actions`]).
    pub action: Option<String>,
    /// Actor account ids.
    pub actor: Vec<String>,
    /// Source IP addresses.
    pub ip: Vec<String>,
    /// Products.
    pub product: Vec<EventProduct>,
    /// Location filter, as Atlassian takes it (JSON such as `[{"city":…,"countryName":…}]`).
    pub location: Option<String>,
    /// Page size to ask for (1–500; default the maximum, 500).
    pub limit: Option<u32>,
}

impl EventFilter {
    fn query(&self) -> Result<Vec<(String, String)>> {
        let mut q = vec![];
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                q.push((name.to_owned(), value));
            }
        };
        push("q", self.q.clone());
        push("from", self.from.map(|ms| ms.to_string()));
        push("to", self.to.map(|ms| ms.to_string()));
        push("action", self.action.clone());
        // These arrays are `explode: false`: one comma-separated value.
        push("actor", Some(self.actor.join(",")));
        push("ip", Some(self.ip.join(",")));
        push(
            "product",
            Some(
                self.product
                    .iter()
                    .map(EventProduct::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        );
        push("location", self.location.clone());
        push("limit", Some(events_limit(self.limit)?.to_string()));
        Ok(q)
    }
}

/// Parameters of the events stream (`GET /v1/orgs/{orgId}/events-stream`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventStreamFilter {
    /// Earliest processing time, UNIX epoch milliseconds.
    pub from: Option<i64>,
    /// Latest processing time, UNIX epoch milliseconds.
    pub to: Option<i64>,
    /// Order of processing time (Atlassian's default: ascending). The cursor keeps it.
    pub sort_order: Option<SortDirection>,
    /// Page size to ask for (1–500; default the maximum, 500).
    pub limit: Option<u32>,
}

impl EventStreamFilter {
    fn query(&self) -> Result<Vec<(String, String)>> {
        let mut q = vec![];
        if let Some(from) = self.from {
            q.push(("from".to_owned(), from.to_string()));
        }
        if let Some(to) = self.to {
            q.push(("to".to_owned(), to.to_string()));
        }
        if let Some(order) = &self.sort_order {
            q.push(("sortOrder".to_owned(), order.to_string()));
        }
        q.push(("limit".to_owned(), events_limit(self.limit)?.to_string()));
        Ok(q)
    }
}

fn events_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        None => Ok(EVENTS_MAX_LIMIT),
        Some(n) if (1..=EVENTS_MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(Error::InvalidInput(format!(
            "the page size must be 1 to {EVENTS_MAX_LIMIT}, got {n}"
        ))),
    }
}

/// One page of the events stream, and where to continue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPage {
    /// The events of this page.
    pub events: Vec<Event>,
    /// Where the next page starts. Ascending streams always give one, also on the last page:
    /// keep it and poll with it later to get only new events.
    pub next_cursor: Option<String>,
}

/// `{data, links:{next: URL}, meta:{next: cursor}}` of both event lists.
#[derive(Debug, Deserialize)]
struct EventsPage {
    #[serde(default)]
    data: Vec<Event>,
    #[serde(default)]
    links: super::Links,
    #[serde(default)]
    meta: Meta,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default)]
    next: Option<String>,
}

impl EventsPage {
    /// The next cursor: `meta.next`, else the `cursor` of the `links.next` URL.
    fn next_cursor(&self) -> Option<String> {
        self.meta
            .next
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| self.links.next.as_deref().and_then(cursor_from_url))
            .filter(|c| !c.is_empty())
    }
}

impl<'a> OrgApi<'a> {
    /// Every audit-log event matching `filter`, newest first (`GET /v1/orgs/{orgId}/events`).
    /// Atlassian allows only 10 requests a minute on this path, so pages are as large as
    /// allowed (500); for bulk reads prefer [`events_stream`](Self::events_stream). Read-only.
    pub fn events(&self, filter: &EventFilter) -> impl Stream<Item = Result<Event>> + 'a {
        const ROUTE: &str = "/v1/orgs/{orgId}/events";
        self.event_list(ROUTE, "events", filter.query())
    }

    /// Every event processed in the window, by processing time
    /// (`GET /v1/orgs/{orgId}/events-stream`), ascending unless asked otherwise. The stream
    /// ends at the first empty page. To poll for new events, use
    /// [`poll_events`](Self::poll_events) instead. Read-only.
    pub fn events_stream(
        &self,
        filter: &EventStreamFilter,
    ) -> impl Stream<Item = Result<Event>> + 'a {
        const ROUTE: &str = "/v1/orgs/{orgId}/events-stream";
        self.event_list(ROUTE, "events-stream", filter.query())
    }

    fn event_list(
        &self,
        route: &'static str,
        what: &'static str,
        query: Result<Vec<(String, String)>>,
    ) -> impl Stream<Item = Result<Event>> + 'a {
        let this = self.clone();
        let mut first = Some(query);
        paginate(Family::Org, route, move |next| {
            let this = this.clone();
            let query = match (first.take(), next) {
                (Some(query), _) => query,
                // The cursor keeps the query; the next URL carries nothing else.
                (None, Some(Next::Cursor(cursor))) => Ok(vec![("cursor".to_owned(), cursor)]),
                (None, other) => Err(Error::InvalidInput(format!(
                    "unexpected continuation {other:?} of {route}"
                ))),
            };
            async move {
                let path = format!("{}/{what}", this.org_path("v1")?);
                let mut call = this.call(Method::GET, route, &path)?;
                for (name, value) in query? {
                    call = call.query(&name, value);
                }
                let page: EventsPage = this.client.json(call).await?;
                let next = page.next_cursor().map(Next::Cursor);
                Ok(PageOf {
                    items: page.data,
                    next,
                })
            }
        })
    }

    /// One page of the events stream: the first page of `filter` when `cursor` is `None`, else
    /// the page at `cursor` (which keeps the filter and order). Keep
    /// [`EventPage::next_cursor`] and call again later to receive only events processed since.
    /// Read-only.
    pub async fn poll_events(
        &self,
        filter: &EventStreamFilter,
        cursor: Option<&str>,
    ) -> Result<EventPage> {
        const ROUTE: &str = "/v1/orgs/{orgId}/events-stream";
        let path = format!("{}/events-stream", self.org_path("v1")?);
        let mut call = self.call(Method::GET, ROUTE, &path)?;
        match cursor {
            Some(cursor) => call = call.query("cursor", cursor),
            None => {
                for (name, value) in filter.query()? {
                    call = call.query(&name, value);
                }
            }
        }
        let page: EventsPage = self.client.json(call).await?;
        let next_cursor = page.next_cursor();
        Ok(EventPage {
            events: page.data,
            next_cursor,
        })
    }

    /// One event by id (`GET /v1/orgs/{orgId}/events/{eventId}`). Read-only; 404 for an
    /// unknown event.
    pub async fn event(&self, event_id: &str) -> Result<Event> {
        required("an event id", event_id)?;
        let path = format!("{}/events/{}", self.org_path("v1")?, segment(event_id));
        let call = self.call(Method::GET, "/v1/orgs/{orgId}/events/{eventId}", &path)?;
        let body: DataOf<Event> = self.client.json(call).await?;
        Ok(body.data)
    }

    /// Every action the audit log records, with display names
    /// (`GET /v1/orgs/{orgId}/event-actions`). Read-only.
    pub async fn event_actions(&self) -> Result<Vec<EventAction>> {
        let path = format!("{}/event-actions", self.org_path("v1")?);
        let call = self.call(Method::GET, "/v1/orgs/{orgId}/event-actions", &path)?;
        let body: DataList<EventAction> = self.client.json(call).await?;
        Ok(body.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters_join_their_arrays_with_commas() {
        let filter = EventFilter {
            from: Some(1_700_000_000_000),
            actor: vec!["a".into(), "b".into()],
            product: vec![EventProduct::Jira, EventProduct::Confluence],
            ..Default::default()
        };
        assert_eq!(
            filter.query().unwrap(),
            vec![
                ("from".to_owned(), "1700000000000".to_owned()),
                ("actor".to_owned(), "a,b".to_owned()),
                ("product".to_owned(), "jira,confluence".to_owned()),
                ("limit".to_owned(), "500".to_owned()),
            ]
        );
        let too_big = EventStreamFilter {
            limit: Some(501),
            ..Default::default()
        };
        assert!(too_big.query().is_err());
    }

    #[test]
    fn the_next_cursor_comes_from_meta_or_the_next_url() {
        let page: EventsPage = serde_json::from_str(
            r#"{"data":[],"links":{"next":"https://api.atlassian.com/admin/v1/orgs/o/events?cursor=abc"}}"#,
        )
        .unwrap();
        assert_eq!(page.next_cursor().as_deref(), Some("abc"));
        let page: EventsPage =
            serde_json::from_str(r#"{"data":[],"links":{},"meta":{"next":"xyz"}}"#).unwrap();
        assert_eq!(page.next_cursor().as_deref(), Some("xyz"));
    }
}
