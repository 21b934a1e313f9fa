//! The web UI in a real browser: Debian's headless Chromium, driven over WebDriver, against
//! a `cairn serve` holding the plugin fixtures, a hostile plugin, a deleted plugin, an
//! in-toto attestation and two scans of a host by the real agent. The test finds, clicks
//! and reads what a person would, checks the file page's proof itself, and saves a
//! screenshot of every page it visits (`target/tmp/ui-screenshots/`).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cairn_testkit::browser::Browser;
use cairn_testkit::fixtures::{patched_plugin, plugin};
use cairn_tlog::merkle::{leaf_hash, verify_inclusion};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::hosts::{boot, text, write_config};
use crate::util::{Served, cairn, ok, pub_key, serve_args, sha256_hex, upload};

const TOKEN: &str = "ui-test-token";

/// The synthc fixtures.
const SYNTHC: [&str; 7] = [
    "libmemflow_synthc.x86_64.so",
    "libmemflow_synthc.x86.so",
    "libmemflow_synthc.aarch64.so",
    "libmemflow_synthc_abi2.x86_64.so",
    "libmemflow_synthc.aarch64.dylib",
    "memflow_synthc.x86_64.dll",
    "libmemflow_synthc.universal.dylib",
];

/// What the test put in the registry.
struct World {
    served: Served,
    data: PathBuf,
    hostile: String,
    gone: String,
    attestation: String,
    scans: [String; 2],
    _dir: tempfile::TempDir,
}

fn in_toto(name: &str) -> PathBuf {
    crate::util::fixtures().join("../in-toto").join(name)
}

/// Fills a fresh registry, over its HTTP API and with the real agent.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = pub_key();
    let mut args = serve_args(&data, TOKEN, &key);
    args.extend([
        "--public-key".into(),
        in_toto("signer.pub.pem").display().to_string(),
    ]);
    let served = Served::start(
        cairn(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let url = served.url.clone();
    let http = reqwest::Client::new();
    for f in SYNTHC.iter().chain(&["libmemflow_synthmulti.x86_64.so"]) {
        let (status, body) = upload(&http, &url, TOKEN, plugin(f)).await.unwrap();
        assert_eq!(status, 200, "{f}: {body}");
    }
    let hostile = patched_plugin(b"<i>x</", "<script>document.title='pwned'</script>");
    let gone = patched_plugin(b"gone01", "a plugin that was withdrawn");
    let (hostile_d, gone_d) = (sha256_hex(&hostile), sha256_hex(&gone));
    for bytes in [hostile, gone] {
        assert_eq!(upload(&http, &url, TOKEN, bytes).await.unwrap().0, 200);
    }
    let r = http
        .delete(format!("{url}/files/{gone_d}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link = std::fs::read(in_toto("package.1c656f99.link")).unwrap();
    let r = http
        .post(format!("{url}/log/entries"))
        .bearer_auth(TOKEN)
        .body(link.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let scans = scans(dir.path(), &data, &url);
    World {
        served,
        data,
        hostile: hostile_d,
        gone: gone_d,
        attestation: sha256_hex(&link),
        scans,
        _dir: dir,
    }
}

/// Host `web1` enrolled by the CLI and booted twice by the agent: a baseline scan, then
/// one with a setuid file planted. The two scans' digests, oldest first.
fn scans(dir: &Path, data: &Path, url: &str) -> [String; 2] {
    let (cfg, root, spool) = (dir.join("cfg"), dir.join("root"), dir.join("spool"));
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"\x7fELF v1").unwrap();
    ok(cairn().args(["keygen", "--out"]).arg(cfg.join("host.pem")));
    ok(cairn()
        .args(["admin", "host", "add", "web1", "--key"])
        .arg(cfg.join("host.pem.pub"))
        .arg("--token-out")
        .arg(cfg.join("host.token"))
        .args(["--registry", url, "--token", TOKEN]));
    let log_key =
        String::from_utf8(ok(cairn().args(["log", "key", "--data"]).arg(data)).stdout).unwrap();
    write_config(&cfg, url, log_key.trim());
    let first = boot(&cfg, &root, &spool, false);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let listed = |n| {
        // It exits 1 when the scan has anomalies: the second one has.
        let out = cairn()
            .args(["scan", "report", "web1", "--json", "--registry", url])
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["scan"]["host"], "web1", "{n}");
        v["scan"]["digest"].as_str().unwrap().to_owned()
    };
    let baseline = listed(1);
    ok(cairn()
        .args(["admin", "baseline", "set", "web1", "--scan", &baseline])
        .args(["--registry", url, "--token", TOKEN]));
    std::fs::create_dir_all(root.join("opt")).unwrap();
    std::fs::write(root.join("opt/backdoor"), b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("opt/backdoor"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    let second = boot(&cfg, &root, &spool, false);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    [baseline, listed(2)]
}

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

/// Opens `path` and waits for its `<main>`.
async fn open(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("main"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Waits until the browser shows a page whose URL satisfies `ok`.
/// `ok` gets the path and the query.
async fn wait_url(c: &Client, ok: impl Fn(&str, Option<&str>) -> bool) {
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

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.text().await.unwrap());
    }
    out
}

async fn hrefs(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.unwrap() {
        out.push(e.attr("href").await.unwrap().unwrap_or_default());
    }
    out
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn source(c: &Client) -> String {
    c.source().await.unwrap()
}

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

    scan_diff_shows_the_setuid_file_first(c, &base, &w.scans).await;
    b.screenshot(&dir, "scan").await;

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

async fn scan_diff_shows_the_setuid_file_first(c: &Client, base: &str, scans: &[String; 2]) {
    open(c, base, "/ui/hosts").await;
    c.find(Locator::LinkText("web1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_url(c, |p, _| p == "/ui/hosts/web1").await;
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

/// On a phone-sized screen nothing runs off the side; in the dark scheme the page is dark.
async fn phone_and_dark(base: &str) {
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
    b.close().await;
}
