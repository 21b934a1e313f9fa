//! The web UI over HTTP (both engines): every page answers with its security headers, lists
//! exactly what the JSON API lists, shows hostile text as text, proves what it shows, and
//! never shows a deleted file.

use std::collections::BTreeSet;

use cairn_tlog::merkle::{leaf_hash, verify_inclusion};
use cairn_tlog::verify::open_checkpoint;
use serde_json::Value;

use crate::log::key_of;
use crate::util::{TestApp, fixture, sha256_hex};

/// The synthc fixtures, in upload order.
const SYNTHC: [&str; 7] = [
    "libmemflow_synthc.x86_64.so",
    "libmemflow_synthc.x86.so",
    "libmemflow_synthc.aarch64.so",
    "libmemflow_synthc_abi2.x86_64.so",
    "libmemflow_synthc.aarch64.dylib",
    "memflow_synthc.x86_64.dll",
    "libmemflow_synthc.universal.dylib",
];

/// The x86_64 fixture with its name and description replaced, checked to still parse.
pub(crate) fn patched(name: &[u8; 6], description: &str) -> Vec<u8> {
    let bytes = cairn_testkit::fixtures::patched_plugin(name, description);
    let found = cairn_plugin::analyze(&bytes).unwrap();
    assert_eq!(found[0].name.as_bytes(), name);
    bytes
}

/// A page's body, after checking its status and the headers every UI answer carries.
pub(crate) async fn page(app: &TestApp, path: &str, status: u16) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status(), status, "GET {path}");
    assert_eq!(
        r.headers()["content-security-policy"],
        cairn_server::ui::CSP,
        "{path}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(
        r.headers()["content-type"],
        "text/html; charset=utf-8",
        "{path}"
    );
    let body = r.text().await.unwrap();
    // The CSP allows no script and no inline style; nor does any page carry one.
    for banned in ["<script", " style=", "<style", "http://", "https://"] {
        let allowed_url = banned.starts_with("http") && body.contains("pull --registry http://");
        if !allowed_url {
            assert!(!body.contains(banned), "{path} has {banned:?}");
        }
    }
    assert!(body.len() < 100_000, "{path} weighs {} bytes", body.len());
    body
}

/// Undoes HTML escaping (askama writes `&#NN;`).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').expect("entity end");
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            _ => char::from_u32(entity.trim_start_matches('#').parse().unwrap()).unwrap(),
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The text of the element with `id`, unescaped.
pub(crate) fn by_id(body: &str, tag: &str, id: &str) -> String {
    let open = format!("<{tag} id=\"{id}\">");
    let start = body.find(&open).unwrap_or_else(|| panic!("no #{id}")) + open.len();
    let end = start + body[start..].find(&format!("</{tag}>")).unwrap();
    unescape(&body[start..end])
}

/// The hashes of the page's `<ol id="proof">`, decoded.
pub(crate) fn proof_hashes(body: &str) -> Vec<cairn_tlog::Hash> {
    use base64::Engine;
    let start = body.find("<ol id=\"proof\">").expect("a proof list");
    let end = start + body[start..].find("</ol>").unwrap();
    body[start..end]
        .split("<code class=\"digest\">")
        .skip(1)
        .map(|s| {
            let b64 = s.split('<').next().unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Digests the page links to a file page of, in page order.
fn file_links(body: &str) -> Vec<String> {
    body.match_indices("href=\"/ui/files/")
        .map(|(i, m)| body[i + m.len()..i + m.len() + 64].to_owned())
        .collect()
}

fn digests(v: &Value) -> Vec<String> {
    v["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn plugin_pages_list_exactly_what_the_api_lists() {
    let app = TestApp::start().await;
    for file in SYNTHC {
        app.upload_ok(fixture(file), "Added").await;
    }
    app.upload_ok(fixture("libmemflow_synthmulti.x86_64.so"), "Added")
        .await;

    // `/` and `/ui` lead to the list, which the search narrows.
    let r = app.get("/").await;
    assert!(r.url().path() == "/ui/", "redirected to {}", r.url());
    let all = page(&app, "/ui/", 200).await;
    let api = app.get_json("/plugins").await;
    for p in api["plugins"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert!(
            all.contains(&format!("href=\"/ui/plugins/{name}\"")),
            "{name}"
        );
    }
    let found = page(&app, "/ui/plugins?q=SYNTHC", 200).await;
    assert!(found.contains("href=\"/ui/plugins/synthc\""));
    assert!(
        found.contains("value=\"SYNTHC\""),
        "the search box keeps the query"
    );
    let none = page(&app, "/ui/plugins?q=no-such-plugin", 200).await;
    assert!(none.contains("No plugin matches"));
    assert!(!none.contains("href=\"/ui/plugins/synthc\""));

    // Each group the API knows appears on the plugin page, and the group page lists exactly
    // the API's variants for it, in its order.
    let every = app.get_json("/plugins/synthc?limit=50").await;
    let groups: BTreeSet<(i64, String, String)> = every["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let d = &v["descriptor"];
            (
                d["plugin_version"].as_i64().unwrap(),
                d["file_type"].as_str().unwrap().to_lowercase(),
                d["architecture"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect();
    let plugin = page(&app, "/ui/plugins/synthc", 200).await;
    let mut seen = BTreeSet::new();
    for (abi, file_type, arch) in &groups {
        assert!(
            plugin.contains(&format!("ABI {abi} · {file_type} · {arch}")),
            "group {abi} {file_type} {arch} missing"
        );
        let query =
            format!("memflow_plugin_version={abi}&file_type={file_type}&architecture={arch}");
        let api = digests(
            &app.get_json(&format!("/plugins/synthc?{query}&limit=50"))
                .await,
        );
        let ui = page(
            &app,
            &format!(
                "/ui/plugins/synthc/variants?abi={abi}&file_type={file_type}&architecture={arch}"
            ),
            200,
        )
        .await;
        assert_eq!(file_links(&ui), api, "group {query}");
        seen.extend(api);
    }
    let uploaded: BTreeSet<String> = SYNTHC.iter().map(|f| sha256_hex(&fixture(f))).collect();
    assert_eq!(seen, uploaded, "the groups cover every synthc file");
    let on_plugin_page: BTreeSet<String> = file_links(&plugin).into_iter().collect();
    assert_eq!(on_plugin_page, uploaded);
    // Each row names the commands that fetch exactly its file.
    let d = sha256_hex(&fixture(SYNTHC[0]));
    assert!(plugin.contains(&format!(
        "cairn pull --registry http://{} synthc:{d}",
        app.addr
    )));
    assert!(plugin.contains(&format!(
        "memflowup pull --registry http://{} --pub-key",
        app.addr
    )));

    page(&app, "/ui/plugins/no-such-plugin", 404).await;
    page(
        &app,
        "/ui/plugins/synthc/variants?abi=9&file_type=elf&architecture=x86_64",
        404,
    )
    .await;
    page(
        &app,
        "/ui/plugins/synthc/variants?abi=1&file_type=exe&architecture=x86_64",
        400,
    )
    .await;
    page(&app, "/ui/files/nothex", 400).await;
    page(&app, &format!("/ui/files/{}", "0".repeat(64)), 404).await;
    page(&app, "/ui/static/ui.0000.css", 404).await;
}

#[tokio::test]
async fn hostile_names_and_descriptions_render_as_text() {
    let app = TestApp::start().await;
    let hostile = "<script>document.title='pwned'</script><b>";
    let bytes = patched(b"<i>x</", hostile);
    let digest = app.upload_ok(bytes, "Added").await;
    let name_path = "/ui/plugins/%3Ci%3Ex%3C%2F";
    for path in [
        "/ui/plugins".to_owned(),
        "/ui/plugins?q=%3Cscript".to_owned(),
        name_path.to_owned(),
        format!("/ui/files/{digest}"),
    ] {
        let body = page(&app, &path, 200).await;
        assert!(
            body.contains(
                "&#60;script&#62;document.title=&#39;pwned&#39;&#60;/script&#62;&#60;b&#62;"
            ),
            "{path} does not show the description as text"
        );
        assert!(
            body.contains("&#60;i&#62;x&#60;/"),
            "{path} does not show the name as text"
        );
        assert!(!body.contains("<b>") && !body.contains("<i>"), "{path}");
    }
    // Links to the plugin carry its name percent-encoded, and lead to it.
    let list = page(&app, "/ui/plugins", 200).await;
    assert!(list.contains(&format!("href=\"{name_path}\"")), "{list}");
    // The stylesheet the pages link is served, immutable, and itself names no URL.
    let href = list
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let css = app.get(&href).await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let css = css.text().await.unwrap();
    assert!(css.contains("prefers-color-scheme: dark"));
    assert!(!css.contains("url(") && !css.contains("@import"));
}

#[tokio::test]
async fn the_file_page_proves_what_it_shows() {
    let app = TestApp::start().await;
    let bytes = fixture(SYNTHC[0]);
    let digest = app.upload_ok(bytes.clone(), "Added").await;
    app.upload_ok(fixture(SYNTHC[1]), "Added").await;
    let body = page(&app, &format!("/ui/files/{digest}"), 200).await;
    assert!(
        body.contains("id=\"verdict\">verified"),
        "the server's check passed"
    );

    // What the page shows verifies under the log's key, taken from the data directory.
    let key = key_of(&app);
    let checkpoint = by_id(&body, "pre", "checkpoint");
    let cp = open_checkpoint(checkpoint.as_bytes(), &key).unwrap();
    let index: u64 = by_id(&body, "dd", "leaf-index").parse().unwrap();
    let entry = by_id(&body, "pre", "entry");
    let entry: Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(entry["digest"], digest.as_str());
    assert_eq!(entry["kind"], "artifact");
    let canonical = cairn_tlog::entry::canonical(&entry);
    let hashes = proof_hashes(&body);
    verify_inclusion(index, cp.size, &leaf_hash(&canonical), &hashes, &cp.root).unwrap();
    assert_eq!(sha256_hex(&bytes), digest);

    // The download is the same proof as tlog-proof text.
    let r = app.get(&format!("/ui/files/{digest}/tlog-proof")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        format!("attachment; filename=\"{digest}.tlog-proof\"").as_str()
    );
    let proof = cairn_tlog::TlogProof::parse(&r.text().await.unwrap()).unwrap();
    assert_eq!(
        (proof.index, &proof.proof, proof.checkpoint.as_str()),
        (index, &hashes, checkpoint.as_str())
    );
    assert_eq!(proof.extra.as_deref(), Some(&canonical[..]));
}

#[tokio::test]
async fn a_deleted_plugin_is_nowhere() {
    let app = TestApp::start().await;
    app.upload_ok(fixture(SYNTHC[0]), "Added").await;
    let gone = app
        .upload_ok(patched(b"gone01", "a plugin that was withdrawn"), "Added")
        .await;
    assert!(page(&app, "/ui/plugins", 200).await.contains("gone01"));
    let r = app.delete(&gone, Some(crate::util::TOKEN)).await;
    assert_eq!(r.status(), 200);

    for path in ["/ui/plugins", "/ui/plugins?q=gone", "/ui/plugins/synthc"] {
        let body = page(&app, path, 200).await;
        assert!(
            !body.contains("gone01") && !body.contains("withdrawn"),
            "{path}"
        );
        assert!(!body.contains(&gone), "{path}");
    }
    let body = page(&app, "/ui/plugins/gone01", 404).await;
    assert!(!body.contains("withdrawn"));
    let body = page(&app, &format!("/ui/files/{gone}"), 410).await;
    assert!(body.contains("deleted by log entry 2"), "{body}");
    assert!(!body.contains("gone01") && !body.contains("withdrawn"));
    let r = app.get(&format!("/ui/files/{gone}/tlog-proof")).await;
    assert_eq!(r.status(), 410);
}
