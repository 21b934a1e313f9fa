//! `--trust POLICY`: uploads pass the server's policy (signer globs, deny list) or get a 400.

use cairn_sign::policy::{DeniedPackage, Policy, PolicyDoc, Root, SignerEntry};
use cairn_sign::{Algorithm, PrivateKey};
use chrono::{Duration, Utc};

use crate::util::{TestApp, fixtures, padded_plugin, sha256_hex, sign};

/// A policy signed by a fresh root, trusting the fixture key for `globs`.
fn policy(
    dir: &std::path::Path,
    globs: &[&str],
    edit: impl FnOnce(&mut PolicyDoc),
) -> std::path::PathBuf {
    let root = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let signer =
        std::fs::read_to_string(fixtures().join("test-keys/fixture-test-pub-key.pem")).unwrap();
    let mut doc = PolicyDoc {
        version: 1,
        expires: Utc::now() + Duration::days(1),
        root: Root {
            threshold: 1,
            keys: vec![root.public().to_pem()],
        },
        signers: vec![SignerEntry {
            name: "fixture".into(),
            threshold: 1,
            packages: globs.iter().map(|g| (*g).to_owned()).collect(),
            keys: vec![signer],
            openpgp: vec![],
            not_before: None,
            not_after: None,
        }],
        ..Default::default()
    };
    edit(&mut doc);
    let mut p = Policy::from_doc(doc).unwrap();
    p.sign(&root).unwrap();
    let path = dir.join(format!("policy-{}.toml", globs.join("_").replace('*', "x")));
    std::fs::write(&path, p.to_text()).unwrap();
    path
}

async fn refused(app: &TestApp, bytes: Vec<u8>, why: &str) {
    let sig = sign(&bytes);
    let r = app.upload(bytes, &sig).await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("refused by the trust policy") && body.contains(why),
        "{body}"
    );
}

#[tokio::test]
async fn uploads_must_pass_the_servers_trust_policy() {
    let dir = tempfile::tempdir().unwrap();
    let allow = policy(dir.path(), &["synth*"], |_| {});
    let app = TestApp::start_with(|c| {
        c.registry.public_keys.clear();
        c.registry.trust = Some(allow.clone());
    })
    .await;
    app.upload_ok(padded_plugin(1), "Added").await;
    // A stranger's signature is refused before the policy is even asked.
    let stranger = k256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
    let bytes = padded_plugin(2);
    let r = app
        .upload(bytes.clone(), &crate::util::sign_with(&stranger, &bytes))
        .await;
    assert_eq!(r.status(), 400);

    let globs = policy(dir.path(), &["other-*"], |_| {});
    let app = TestApp::start_with(|c| {
        c.registry.public_keys.clear();
        c.registry.trust = Some(globs.clone());
    })
    .await;
    refused(&app, padded_plugin(3), "outside its package globs").await;

    let denied_bytes = padded_plugin(4);
    let digest = sha256_hex(&denied_bytes);
    let deny = policy(dir.path(), &["*"], |d| {
        d.deny.digests.push(digest.clone());
        d.deny.packages.push(DeniedPackage {
            name: "synthc".into(),
            versions: "=1.2.3".into(),
        });
    });
    let app = TestApp::start_with(|c| {
        c.registry.public_keys.clear();
        c.registry.trust = Some(deny.clone());
    })
    .await;
    refused(&app, denied_bytes, "deny list").await;
    refused(&app, padded_plugin(5), "synthc 1.2.3 is denied").await;
    assert_eq!(
        app.get_json("/plugins").await["plugins"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn an_unsigned_or_expired_policy_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let expired = policy(dir.path(), &["*"], |d| {
        d.expires = Utc::now() - Duration::hours(1)
    });
    let config = {
        let mut c = cairn_server::ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("data"),
        );
        c.registry.trust = Some(expired);
        c
    };
    let err = cairn_server::Server::bind(config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("expired"), "{err}");
}
