//! The web UI's host and scan pages over HTTP (both engines): hosts with their scans, and a
//! scan's comparison with the baseline and the previous scan, anomalies first and marked.

use std::os::unix::fs::PermissionsExt as _;

use crate::hosts::{enroll, host_key, scan_of, set_baseline, submit, system};
use crate::ui::page;
use crate::util::{TOKEN, TestApp, sha256_hex, sign_with};

#[tokio::test]
async fn a_scan_page_puts_the_planted_setuid_change_first() {
    let app = TestApp::start().await;
    let empty = page(&app, "/ui/hosts", 200).await;
    assert!(empty.contains("No host is enrolled"));
    let key = host_key(9);
    let token = enroll(&app, "web1", &key).await;
    let root = system();
    let first = scan_of("web1", root.path());
    assert_eq!(
        submit(&app, first.clone(), &sign_with(&key, &first), &token)
            .await
            .0,
        200
    );
    let first_digest = sha256_hex(&first);
    let (status, body) = set_baseline(&app, "web1", &first_digest, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    let body = page(&app, &format!("/ui/scans/{first_digest}"), 200).await;
    assert!(body.contains("nothing to compare with"), "{body}");

    // Planted: a setuid shell script; also an ordinary change that sorts before it.
    std::fs::write(root.path().join("etc/motd"), b"changed").unwrap();
    let planted = root.path().join("usr/bin/zz-backdoor");
    std::fs::write(&planted, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let second = scan_of("web1", root.path());
    assert_eq!(
        submit(&app, second.clone(), &sign_with(&key, &second), &token)
            .await
            .0,
        200
    );
    let second_digest = sha256_hex(&second);

    let body = page(&app, &format!("/ui/scans/{second_digest}"), 200).await;
    let report = app
        .get_json(&format!("/scans/{second_digest}/report"))
        .await;
    let baseline = &report["report"]["baseline"];
    assert_eq!(baseline["against"], first_digest.as_str());
    for label in ["Against the baseline", "Against the previous scan"] {
        assert!(body.contains(label), "{label}");
    }
    // The first row of each findings table is the planted file, marked as an anomaly.
    let tables: Vec<&str> = body
        .split("<table class=\"findings stack\">")
        .skip(1)
        .collect();
    assert_eq!(tables.len(), 2);
    for t in &tables {
        let first_row = t.split("<tr").nth(2).unwrap();
        assert!(
            first_row.starts_with(" class=\"anomaly\"")
                && first_row.contains("/usr/bin/zz-backdoor"),
            "{first_row}"
        );
        assert!(first_row.contains("<span class=\"badge bad\">setuid</span>"));
        let motd = t.find("/etc/motd").expect("the ordinary change is listed");
        assert!(t.find("/usr/bin/zz-backdoor").unwrap() < motd);
        assert_eq!(t.matches("class=\"anomaly\"").count(), 1, "{t}");
    }
    let anomalies = baseline["anomalies"]["setuid"].as_u64().unwrap();
    assert!(body.contains(&format!("{anomalies} setuid")));

    // The host page lists both scans, newest first, the second with its anomaly count.
    let host = page(&app, "/ui/hosts/web1", 200).await;
    let host = host.split("<table class=\"scans stack\">").nth(1).unwrap();
    let a = host.find(&format!("/ui/scans/{second_digest}")).unwrap();
    let b = host.find(&format!("/ui/scans/{first_digest}\">")).unwrap();
    assert!(a < b, "newest first");
    assert!(host.contains(&format!("{anomalies} anomal")));
    let hosts = page(&app, "/ui/hosts", 200).await;
    assert!(hosts.contains("href=\"/ui/hosts/web1\""));
    assert!(hosts.contains(&format!("/ui/scans/{second_digest}")));
    page(&app, "/ui/hosts/nobody", 404).await;
    page(&app, "/ui/hosts/..%2Fx", 400).await;
    page(&app, &format!("/ui/scans/{}", "1".repeat(64)), 404).await;
    page(&app, "/ui/scans/xyz", 400).await;
}
