//! One pagination abstraction for every style Atlassian uses.
//!
//! An operation describes how to fetch one page given where to continue ([`Next`]), and what
//! the answer says about the next one; [`paginate`] turns that into a stream of every item.
//! The styles map onto [`Next`] like this:
//!
//! | style | where | next |
//! |---|---|---|
//! | v1 cursor URLs (`links.next` is a URL with `cursor=`) | Org v1 users, orgs, events | [`Next::Cursor`] (the `cursor` query value; see [`cursor_from_url`]) |
//! | v2 opaque cursors, in the body or the query | Org v2 search/lists, workspaces, Confluence v2 | [`Next::Cursor`] |
//! | `startAt`/`maxResults`/`isLast` | Jira PageBean | [`Next::Offset`] = `startAt` + items received |
//! | bare arrays with `startAt`/`maxResults` | Jira `users/search` | [`Next::Offset`] while a page is full |
//! | `start`/`limit`/`_links.next` | Confluence v1, JSM | [`Next::Offset`] while `_links.next` / not `isLastPage` |
//! | `page`/`per_page`, no total | Statuspage | [`Next::Page`] while a page is full |
//! | SCIM `startIndex` (1-based) | SCIM | [`Next::Offset`] |
//!
//! The requested page size is never trusted: offsets advance by the items actually received,
//! a page counts as full only against what the server really returned before, and an empty page
//! ends the stream. A cursor, offset or page number seen twice is an
//! [`Error::RepeatedCursor`], never an endless loop.

use std::collections::HashSet;
use std::future::Future;

use futures::{Stream, TryStreamExt};

use crate::error::{Error, Result};
use crate::family::Family;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Next {
    /// An opaque cursor.
    Cursor(String),
    /// An item offset (`startAt`, `start`, SCIM `startIndex` − 1).
    Offset(u64),
    /// A 1-based page number.
    Page(u32),
}

/// One fetched page: its items and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone)]
pub struct PageOf<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where to continue, if anywhere.
    pub next: Option<Next>,
}

/// Streams every item of a paginated endpoint. `fetch(None)` gets the first page; each later
/// call gets the previous page's [`PageOf::next`]. Stops at a page without `next` or without
/// items; a repeated `next` is an error.
pub fn paginate<T, F, Fut>(
    family: Family,
    route: &'static str,
    fetch: F,
) -> impl Stream<Item = Result<T>>
where
    F: FnMut(Option<Next>) -> Fut,
    Fut: Future<Output = Result<PageOf<T>>>,
{
    paginate_pages(family, route, None, fetch)
        .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
}

/// Streams the pages of a paginated endpoint, each with where the next one starts, so a
/// caller can record that position after storing a page and later resume there.
///
/// `fetch(start)` gets the first page (`start` is `None` for the beginning, or a position a
/// previous stream yielded); each later call gets the previous page's [`PageOf::next`]. Every
/// yielded page's `next` is `None` exactly when the stream ends after it. Stops at a page
/// without `next` or without items; a repeated `next` is an error (after the page that
/// repeated it, whose `next` is then `None`).
pub fn paginate_pages<T, F, Fut>(
    family: Family,
    route: &'static str,
    start: Option<Next>,
    fetch: F,
) -> impl Stream<Item = Result<PageOf<T>>>
where
    F: FnMut(Option<Next>) -> Fut,
    Fut: Future<Output = Result<PageOf<T>>>,
{
    struct State<F> {
        fetch: F,
        /// Where the next fetch starts; `None` with `started` means the stream is exhausted.
        next: Option<Next>,
        started: bool,
        seen: HashSet<Next>,
        /// An error to yield after the page that caused it.
        pending: Option<Error>,
        done: bool,
    }
    let state = State {
        fetch,
        seen: start.iter().cloned().collect(),
        next: start,
        started: false,
        pending: None,
        done: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        if let Some(err) = st.pending.take() {
            return Some((Err(err), st));
        }
        if st.done || (st.started && st.next.is_none()) {
            return None;
        }
        st.started = true;
        let mut page = match (st.fetch)(st.next.take()).await {
            Ok(page) => page,
            Err(err) => {
                st.done = true;
                return Some((Err(err), st));
            }
        };
        match page.next.take() {
            Some(next) if !page.items.is_empty() => {
                if st.seen.insert(next.clone()) {
                    st.next = Some(next.clone());
                    page.next = Some(next);
                } else {
                    st.done = true;
                    st.pending = Some(Error::RepeatedCursor {
                        family,
                        route,
                        cursor: format!("{next:?}"),
                    });
                }
            }
            _ => st.next = None,
        }
        Some((Ok(page), st))
    })
}

/// The `cursor` query value of a v1 `links.next` URL (absolute or relative).
pub fn cursor_from_url(next: &str) -> Option<String> {
    let query = next.split_once('?').map(|(_, q)| q)?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
}

/// For bare-array or page-number endpoints without a "last" flag: whether a page of
/// `received` items means more may follow. It does when it holds as many items as requested,
/// or as many as an earlier page (`largest_seen`, 0 before the second page) when the server
/// capped pages below the request. Request the documented maximum page size, so a short first
/// page really is the last.
pub fn page_is_full(received: usize, requested: usize, largest_seen: usize) -> bool {
    received > 0 && (received >= requested || received == largest_seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn collect<T>(s: impl Stream<Item = Result<T>>) -> (Vec<T>, Option<Error>) {
        let mut items = vec![];
        let mut s = std::pin::pin!(s);
        while let Some(item) = s.next().await {
            match item {
                Ok(i) => items.push(i),
                Err(e) => return (items, Some(e)),
            }
        }
        (items, None)
    }

    #[tokio::test]
    async fn offsets_advance_by_items_received_not_by_the_requested_size() {
        // The server caps pages at 3 although 50 were asked for.
        let data: Vec<u32> = (0..8).collect();
        let (items, err) = collect(paginate(Family::Jira, "/x", |next| {
            let data = data.clone();
            async move {
                let start = match next {
                    Some(Next::Offset(o)) => o as usize,
                    _ => 0,
                };
                let items: Vec<u32> = data.iter().copied().skip(start).take(3).collect();
                let is_last = start + items.len() >= data.len();
                let next = (!is_last).then(|| Next::Offset((start + items.len()) as u64));
                Ok(PageOf { items, next })
            }
        }))
        .await;
        assert!(err.is_none());
        assert_eq!(items, data);
    }

    /// Cursor pages over `0..n`, three at a time; the cursor is the next offset.
    fn cursor_pages(n: u32, start: Option<Next>) -> impl Stream<Item = Result<PageOf<u32>>> {
        paginate_pages(Family::Org, "/x", start, move |next| async move {
            let from = match next {
                Some(Next::Cursor(c)) => c.parse::<u32>().unwrap_or(0),
                _ => 0,
            };
            let items: Vec<u32> = (from..n).take(3).collect();
            let end = from + items.len() as u32;
            let next = (end < n).then(|| Next::Cursor(end.to_string()));
            Ok(PageOf { items, next })
        })
    }

    #[tokio::test]
    async fn pages_carry_where_the_next_starts_and_a_stream_resumes_there() {
        let (pages, err) = collect(cursor_pages(8, None)).await;
        assert!(err.is_none());
        let nexts: Vec<Option<Next>> = pages.iter().map(|p| p.next.clone()).collect();
        assert_eq!(
            nexts,
            vec![
                Some(Next::Cursor("3".into())),
                Some(Next::Cursor("6".into())),
                None
            ]
        );
        // Resuming at the first page's cursor yields exactly the rest.
        let (rest, err) = collect(cursor_pages(8, nexts[0].clone())).await;
        assert!(err.is_none());
        let items: Vec<u32> = rest.into_iter().flat_map(|p| p.items).collect();
        assert_eq!(items, (3..8).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_an_error_not_a_loop() {
        let (items, err) = collect(paginate(Family::Org, "/x", |_| async {
            Ok(PageOf {
                items: vec![1],
                next: Some(Next::Cursor("same".into())),
            })
        }))
        .await;
        assert_eq!(items, vec![1, 1]);
        assert!(matches!(err, Some(Error::RepeatedCursor { .. })));
    }

    #[tokio::test]
    async fn empty_and_single_pages_end_the_stream() {
        let (items, err) = collect(paginate(Family::Org, "/x", |_| async {
            Ok(PageOf::<u8> {
                items: vec![],
                next: Some(Next::Cursor("more".into())),
            })
        }))
        .await;
        assert!(
            items.is_empty() && err.is_none(),
            "an empty page ends even with a next cursor"
        );
        let (items, _) = collect(paginate(Family::Org, "/x", |_| async {
            Ok(PageOf {
                items: vec![7],
                next: None,
            })
        }))
        .await;
        assert_eq!(items, vec![7]);
    }

    #[tokio::test]
    async fn an_error_is_yielded_after_the_items_before_it() {
        let mut calls = 0;
        let (items, err) = collect(paginate(Family::Statuspage, "/x", move |_| {
            calls += 1;
            let n = calls;
            async move {
                if n == 1 {
                    Ok(PageOf {
                        items: vec![1, 2],
                        next: Some(Next::Page(2)),
                    })
                } else {
                    Err(Error::Config("boom".into()))
                }
            }
        }))
        .await;
        assert_eq!(items, vec![1, 2]);
        assert!(matches!(err, Some(Error::Config(_))));
    }

    #[tokio::test]
    async fn scim_start_index_paging_is_one_based_and_stops_at_total_results() {
        // SCIM: `startIndex` is 1-based, `itemsPerPage` may be below `count`, `totalResults` ends.
        let users: Vec<u32> = (1..=7).collect();
        let (items, err) = collect(paginate(
            Family::Org,
            "/scim/directory/{directoryId}/Users",
            |next| {
                let users = users.clone();
                async move {
                    let start_index = match next {
                        Some(Next::Offset(o)) => o + 1,
                        _ => 1,
                    };
                    let page: Vec<u32> = users
                        .iter()
                        .copied()
                        .skip(start_index as usize - 1)
                        .take(3)
                        .collect();
                    let total = users.len() as u64;
                    let seen = start_index - 1 + page.len() as u64;
                    Ok(PageOf {
                        items: page,
                        next: (seen < total).then_some(Next::Offset(seen)),
                    })
                }
            },
        ))
        .await;
        assert!(err.is_none());
        assert_eq!(items, users);
    }

    #[test]
    fn v1_cursor_urls_give_their_cursor() {
        assert_eq!(
            cursor_from_url("https://api.atlassian.com/admin/v1/orgs/o/users?cursor=abc%3D")
                .as_deref(),
            Some("abc=")
        );
        assert_eq!(cursor_from_url("/rest?x=1"), None);
    }

    #[test]
    fn fullness_never_trusts_the_requested_size() {
        assert!(page_is_full(100, 100, 0));
        assert!(
            page_is_full(50, 100, 50),
            "the server caps at 50: a page of 50 is full"
        );
        assert!(!page_is_full(20, 100, 50));
        assert!(!page_is_full(0, 100, 50));
    }
}
