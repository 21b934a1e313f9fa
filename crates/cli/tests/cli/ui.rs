//! The web UI in a real browser: Debian's headless Chromium, driven over WebDriver, against
//! a `cairn serve` holding the plugin fixtures, a hostile plugin, a deleted plugin, an
//! in-toto attestation and two scans of a host by the real agent. The test finds, clicks
//! and reads what a person would, checks the file page's proof itself, and saves a
//! screenshot of every page it visits (`target/tmp/ui-screenshots/`).

mod looks;
mod page;
mod world;

use std::collections::BTreeSet;
use std::path::Path;

use cairn_testkit::browser::Browser;
use cairn_testkit::fixtures::plugin;
use cairn_tlog::merkle::{leaf_hash, verify_inclusion};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::util::{cairn, ok, sha256_hex};
use looks::{csp_blocks_injected_script, every_field_is_labelled_and_readable, phone_and_dark};
use page::{hrefs, js, open, shots, source, texts, wait_url};
use world::{SYNTHC, in_toto, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_finds_reads_and_proves_what_the_registry_holds() {
    let w = world().await;
    let base = w.served.url.clone();
    let http = reqwest::Client::new();
    let b = Browser::start(1280, 900).await;
    let c = &b.client;
    let dir = shots();

    // `/` leads to the list; the search box finds synthc, and not the deleted plugin.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_url(c, |p, _| p == "/ui/").await;
    b.screenshot(&dir, "plugins").await;
    let search = c.find(Locator::Css("input#q")).await.unwrap();
    search.send_keys("synth").await.unwrap();
    c.find(Locator::Css("form.search button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |_, q| q == Some("q=synth")).await;
    let names = texts(c, "table.plugins th a").await;
    assert!(names.contains(&"synthc".to_owned()), "{names:?}");
    assert!(!source(c).await.contains("gone01"));
    b.screenshot(&dir, "search").await;

    // The plugin page lists exactly the variants the JSON API lists.
    c.find(Locator::LinkText("synthc"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == "/ui/plugins/synthc").await;
    let shown: BTreeSet<String> = hrefs(c, "a.digest[href^='/ui/files/']")
        .await
        .into_iter()
        .map(|h| h.rsplit('/').next().unwrap().to_owned())
        .collect();
    let api: Value = http
        .get(format!("{base}/plugins/synthc?limit=50"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: BTreeSet<String> = api["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, listed);
    assert_eq!(listed.len(), SYNTHC.len());
    let groups = texts(c, "section.group h2").await;
    assert!(
        groups.iter().any(|g| g.starts_with("ABI 1 · elf · x86_64")),
        "{groups:?}"
    );
    b.screenshot(&dir, "plugin").await;
    let group = "abi=1&file_type=elf&architecture=x86_64";
    open(c, &base, &format!("/ui/plugins/synthc/variants?{group}")).await;
    let api: Value = http
        .get(format!(
            "{base}/plugins/synthc?memflow_plugin_version=1&file_type=elf&architecture=x86_64"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let in_group: Vec<String> = hrefs(c, "a.digest[href^='/ui/files/']")
        .await
        .into_iter()
        .map(|h| h.rsplit('/').next().unwrap().to_owned())
        .collect();
    let api_group: Vec<&str> = api["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["digest"].as_str().unwrap())
        .collect();
    assert_eq!(in_group, api_group);
    b.screenshot(&dir, "variants").await;
    c.back().await.unwrap();
    wait_url(c, |p, _| p == "/ui/plugins/synthc").await;

    // The file page's proof, read off the page, verifies under the log's own key.
    let digest = sha256_hex(&plugin(SYNTHC[0]));
    c.find(Locator::Css(&format!("a[href='/ui/files/{digest}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == format!("/ui/files/{digest}")).await;
    file_proof_verifies(c, &w.data, &digest).await;
    b.screenshot(&dir, "file").await;

    hostile_text_stays_text(c, &base, &w.hostile).await;
    b.screenshot(&dir, "hostile").await;
    deleted_plugin_is_nowhere(c, &base, &w.gone).await;

    // The log: its checkpoint, and an entry reached by the form.
    open(c, &base, "/ui/log").await;
    let size: u64 = c
        .find(Locator::Id("tree-size"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(size >= 13, "{size}");
    b.screenshot(&dir, "log").await;
    c.find(Locator::Id("index"))
        .await
        .unwrap()
        .send_keys("0")
        .await
        .unwrap();
    c.find(Locator::Css("section.forms form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == "/ui/log/entries/0").await;
    let verdict = c
        .find(Locator::Id("verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(verdict.starts_with("verified"), "{verdict}");

    // The attestation names its subject and its signer, and is proven.
    open(c, &base, &format!("/ui/attestations/{}", w.attestation)).await;
    let link: Value =
        serde_json::from_slice(&std::fs::read(in_toto("package.1c656f99.link")).unwrap()).unwrap();
    let product = link["signed"]["products"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(texts(c, "ul.subjects a").await, [product]);
    assert_eq!(texts(c, "ul.signers a").await.len(), 1);
    let verdict = c
        .find(Locator::Id("verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(verdict.starts_with("verified"), "{verdict}");
    b.screenshot(&dir, "attestation").await;
    c.find(Locator::Css("ul.signers a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p.starts_with("/ui/keys/")).await;
    let signed = hrefs(c, "table.entries td a").await;
    assert!(
        signed.contains(&format!("/ui/attestations/{}", w.attestation)),
        "{signed:?}"
    );
    b.screenshot(&dir, "key").await;

    scan_diff_shows_the_setuid_file_first(&b, &base, &w.scans).await;
    b.screenshot(&dir, "scan").await;
    csp_blocks_injected_script(c, &base).await;
    every_field_is_labelled_and_readable(c, &base).await;

    // Keyboard: the first Tab reaches the skip link.
    open(c, &base, "/ui/plugins/synthc").await;
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("\u{e004}")
        .await
        .unwrap();
    assert_eq!(
        js(c, "return document.activeElement.className").await,
        json!("skip")
    );
    b.close().await;

    phone_and_dark(&base).await;
}

async fn file_proof_verifies(c: &Client, data: &Path, digest: &str) {
    let verdict = c
        .find(Locator::Id("verdict"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(verdict.starts_with("verified"), "{verdict}");
    let vkey =
        String::from_utf8(ok(cairn().args(["log", "key", "--data"]).arg(data)).stdout).unwrap();
    let key = cairn_tlog::note::NoteVerifier::parse(vkey.trim()).unwrap();
    // innerText of a <pre> keeps its lines; the note ends with a newline.
    let checkpoint = js(
        c,
        "return document.getElementById('checkpoint').textContent",
    )
    .await;
    let cp =
        cairn_tlog::verify::open_checkpoint(checkpoint.as_str().unwrap().as_bytes(), &key).unwrap();
    let index: u64 = c
        .find(Locator::Id("leaf-index"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .parse()
        .unwrap();
    let entry = js(c, "return document.getElementById('entry').textContent").await;
    let entry: Value = serde_json::from_str(entry.as_str().unwrap()).unwrap();
    assert_eq!(entry["kind"], "artifact");
    assert_eq!(entry["digest"], digest);
    let hashes: Vec<cairn_tlog::Hash> = texts(c, "ol#proof code")
        .await
        .iter()
        .map(|h| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(h)
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let leaf = leaf_hash(&cairn_tlog::entry::canonical(&entry));
    verify_inclusion(index, cp.size, &leaf, &hashes, &cp.root).unwrap();
}

async fn hostile_text_stays_text(c: &Client, base: &str, digest: &str) {
    for path in [
        "/ui/plugins/%3Ci%3Ex%3C%2F".to_owned(),
        format!("/ui/files/{digest}"),
    ] {
        open(c, base, &path).await;
        assert_eq!(
            js(c, "return document.scripts.length").await,
            json!(0),
            "{path}"
        );
        let title = js(c, "return document.title").await;
        assert!(
            !title.as_str().unwrap().contains("pwned"),
            "{path}: {title}"
        );
        let body = js(c, "return document.body.innerText").await;
        assert!(
            body.as_str()
                .unwrap()
                .contains("<script>document.title='pwned'</script>"),
            "{path} shows the description as text"
        );
        assert_eq!(
            js(
                c,
                "return document.querySelectorAll('main i, main script').length"
            )
            .await,
            json!(0),
            "{path}"
        );
    }
    assert_eq!(
        c.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        format!("File {digest}")
    );
    // The stylesheet loaded (the CSP allows it): the body has the stylesheet's margin.
    assert_eq!(
        js(c, "return getComputedStyle(document.body).margin").await,
        json!("0px")
    );
}

async fn deleted_plugin_is_nowhere(c: &Client, base: &str, gone: &str) {
    for path in ["/ui/plugins", "/ui/plugins?q=gone", "/ui/log", "/ui/hosts"] {
        open(c, base, path).await;
        let s = source(c).await;
        assert!(!s.contains("gone01") && !s.contains("withdrawn"), "{path}");
    }
    open(c, base, &format!("/ui/files/{gone}")).await;
    let said = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(said.contains("deleted by log entry"), "{said}");
    assert!(!source(c).await.contains("gone01"));
}

async fn scan_diff_shows_the_setuid_file_first(b: &Browser, base: &str, scans: &[String; 2]) {
    let c = &b.client;
    open(c, base, "/ui/hosts").await;
    b.screenshot(&shots(), "hosts").await;
    c.find(Locator::LinkText("web1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == "/ui/hosts/web1").await;
    b.screenshot(&shots(), "host").await;
    let listed = hrefs(c, "table.scans a").await;
    assert_eq!(
        listed,
        [
            format!("/ui/scans/{}", scans[1]),
            format!("/ui/scans/{}", scans[0])
        ],
        "newest first"
    );
    c.find(Locator::Css("table.scans a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == format!("/ui/scans/{}", scans[1])).await;
    let first = c
        .find(Locator::Css("table.findings tbody tr"))
        .await
        .unwrap();
    assert_eq!(
        first.attr("class").await.unwrap().as_deref(),
        Some("anomaly")
    );
    let row = first.text().await.unwrap();
    assert!(
        row.contains("/opt/backdoor") && row.contains("setuid"),
        "{row}"
    );
    // Highlighted: the anomaly row is painted, the others are not.
    let painted = js(
        c,
        "return getComputedStyle(document.querySelector('tr.anomaly td')).backgroundColor",
    )
    .await;
    assert_ne!(painted, json!("rgba(0, 0, 0, 0)"));
}
