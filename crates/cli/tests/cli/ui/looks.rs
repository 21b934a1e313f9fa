//! How the pages hold up: the CSP refuses injected script, every field is labelled, text
//! reads at WCAG AA contrast, and on a phone in the dark scheme nothing runs off the side.

use std::time::Duration;

use cairn_testkit::browser::Browser;
use fantoccini::Client;
use serde_json::json;

use super::page::{js, open, shots};

/// Markup slipped into a page (as an escaping bug would let through) does not run: the CSP
/// refuses inline handlers and scripts.
pub(super) async fn csp_blocks_injected_script(c: &Client, base: &str) {
    open(c, base, "/ui/log").await;
    js(
        c,
        "document.body.insertAdjacentHTML('beforeend', \
         '<img src=\"/ui/none.png\" onerror=\"document.title=\\'injected\\'\">'); \
         const s = document.createElement('script'); s.textContent = \"document.title='injected'\"; \
         document.body.appendChild(s); return null",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let title = js(c, "return document.title").await;
    assert_eq!(title, json!("Transparency log · Cairn"));
}

/// WCAG's contrast ratio of two `rgb(…)` colours.
fn contrast(a: &str, b: &str) -> f64 {
    let lum = |c: &str| {
        let v: Vec<f64> = c
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|x| x.trim().parse::<f64>().unwrap() / 255.0)
            .map(|x| {
                if x <= 0.03928 {
                    x / 12.92
                } else {
                    ((x + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]
    };
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// Every form field has a label, and text, muted text, links and badges read at WCAG AA
/// contrast against the page (checked in whichever scheme the browser is in).
pub(super) async fn every_field_is_labelled_and_readable(c: &Client, base: &str) {
    for path in ["/ui/log", "/ui/plugins/synthc", "/ui/hosts"] {
        open(c, base, path).await;
        let unlabelled = js(
            c,
            "return [...document.querySelectorAll('input')].filter(i => i.labels.length == 0).length",
        )
        .await;
        assert_eq!(unlabelled, json!(0), "{path}");
        let pairs = js(
            c,
            "const bg = getComputedStyle(document.body).backgroundColor; \
             return [...document.querySelectorAll('main, .muted, main a, .badge, .verdict, thead th')] \
               .map(e => { const s = getComputedStyle(e); \
                 const own = s.backgroundColor; \
                 return [e.className || e.tagName, s.color, own == 'rgba(0, 0, 0, 0)' ? bg : own]; })",
        )
        .await;
        let pairs = pairs.as_array().unwrap();
        assert!(pairs.len() > 5, "{path}: {pairs:?}");
        for p in pairs {
            let (what, fg, bg) = (&p[0], p[1].as_str().unwrap(), p[2].as_str().unwrap());
            let ratio = contrast(fg, bg);
            assert!(ratio >= 4.5, "{path}: {what} {fg} on {bg}: {ratio:.2}");
        }
    }
}

/// On a phone-sized screen nothing runs off the side; in the dark scheme the page is dark.
pub(super) async fn phone_and_dark(base: &str) {
    let b = Browser::start_dark(390, 844).await;
    let c = &b.client;
    for path in ["/ui/plugins/synthc", "/ui/log", "/ui/hosts"] {
        open(c, base, path).await;
        let overflow = js(
            c,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await;
        assert_eq!(overflow, json!(0), "{path} is wider than the phone");
    }
    open(c, base, "/ui/plugins/synthc").await;
    assert_eq!(
        js(c, "return getComputedStyle(document.body).backgroundColor").await,
        json!("rgb(13, 17, 23)"),
        "the dark scheme is followed"
    );
    b.screenshot(&shots(), "plugin-phone-dark").await;
    every_field_is_labelled_and_readable(c, base).await;
    b.close().await;
}
