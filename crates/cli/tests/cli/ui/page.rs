//! Reading pages in the browser: open, wait, and take texts, links and script results.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::Value;

pub(super) fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

/// Opens `path` and waits for its `<main>`.
pub(super) async fn open(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("main"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Waits until the browser shows a page whose URL satisfies `ok`.
/// `ok` gets the path and the query.
pub(super) async fn wait_url(c: &Client, ok: impl Fn(&str, Option<&str>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let u = c.current_url().await.unwrap();
        if ok(u.path(), u.query()) && c.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "still at {u}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(super) async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

pub(super) async fn hrefs(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.attr("href").await.unwrap().unwrap_or_default());
    }
    out
}

pub(super) async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

pub(super) async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}
