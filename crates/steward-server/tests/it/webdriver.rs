//! A minimal W3C WebDriver client over reqwest: the dozen commands the browser test uses.
//!
//! Why not thirtyfour: it turns on `serde_json/preserve_order`, and since features unify
//! across the workspace's test build, every crate's JSON maps would keep insertion order in
//! tests but not in the shipped binary (clippy also starts flagging larger error types in
//! other crates). These few commands are not worth that.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How to find an element.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// A CSS selector.
    Css(&'a str),
    /// An element id.
    Id(&'a str),
    /// A link's exact text.
    LinkText(&'a str),
}

impl By<'_> {
    fn to_json(self) -> Value {
        match self {
            By::Css(s) => json!({"using": "css selector", "value": s}),
            By::Id(id) => json!({"using": "css selector", "value": format!("[id=\"{id}\"]")}),
            By::LinkText(t) => json!({"using": "link text", "value": t}),
        }
    }
}

/// A browser session.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element of the current page.
pub struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Session {
    /// Starts headless Chromium (`binary`) through chromedriver at `url`.
    pub async fn chromium(url: &str, binary: &str) -> anyhow::Result<Session> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-background-networking",
                         "--window-size=1440,960"],
            },
        }}});
        let url = url.trim_end_matches('/');
        let r: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = r["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("chromedriver did not start a session: {r}"))?;
        Ok(Session {
            http,
            base: format!("{url}/session/{id}"),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await?;
        let status = r.status();
        let v: Value = r.json().await?;
        anyhow::ensure!(
            status.is_success(),
            "WebDriver {path}: {status} {}",
            v["value"]
        );
        Ok(v["value"].clone())
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(drop)
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<url::Url> {
        let v = self.call(reqwest::Method::GET, "/url", None).await?;
        Ok(url::Url::parse(v.as_str().context("no url")?)?)
    }

    /// The first element `by` finds.
    pub async fn find(&self, by: By<'_>) -> anyhow::Result<Element<'_>> {
        let v = self
            .call(reqwest::Method::POST, "/element", Some(by.to_json()))
            .await?;
        Ok(Element {
            session: self,
            id: v[ELEMENT]
                .as_str()
                .context("no element reference")?
                .to_owned(),
        })
    }

    /// Waits until the element `by` finds contains `want` in its text.
    pub async fn wait_for_text(
        &self,
        by: By<'_>,
        want: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(e) = self.find(by).await
                && let Ok(text) = e.text().await
            {
                if text.contains(want) {
                    return Ok(());
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::bail!("waited {timeout:?} for {want:?} in {by:?}; last saw {last:?}")
    }

    /// Waits until `by` finds an element.
    pub async fn wait_for(&self, by: By<'_>, timeout: Duration) -> anyhow::Result<Element<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.find(by).await {
                Ok(e) => return Ok(e),
                Err(e) if Instant::now() >= deadline => {
                    return Err(e.context(format!("waited {timeout:?} for {by:?}")));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png =
            base64::engine::general_purpose::STANDARD.decode(v.as_str().context("no image")?)?;
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session (closes the browser).
    pub async fn quit(self) -> anyhow::Result<()> {
        self.http.delete(&self.base).send().await?;
        Ok(())
    }
}

impl Element<'_> {
    /// Clicks it.
    pub async fn click(&self) -> anyhow::Result<()> {
        self.session
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/click", self.id),
                Some(json!({})),
            )
            .await
            .map(drop)
    }

    /// Empties a text field.
    pub async fn clear(&self) -> anyhow::Result<()> {
        self.session
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/clear", self.id),
                Some(json!({})),
            )
            .await
            .map(drop)
    }

    /// Types `text` into it.
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.session
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/value", self.id),
                Some(json!({"text": text})),
            )
            .await
            .map(drop)
    }

    /// Its rendered text.
    pub async fn text(&self) -> anyhow::Result<String> {
        let v = self
            .session
            .call(
                reqwest::Method::GET,
                &format!("/element/{}/text", self.id),
                None,
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }
}
