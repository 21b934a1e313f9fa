//! `POST /policies`: a published trust policy is checked like a client checks an update
//! (its roots' threshold, a higher version signed by the earlier roots too) and logged,
//! so every rotation is an entry anyone finds by the roots' key ids.

use cairn_api::{PolicyList, PolicyPublished, SearchAnswer};
use cairn_sign::policy::{Policy, PolicyDoc, Root};
use cairn_sign::{Algorithm, PrivateKey};

use crate::util::{TOKEN, TestApp, sha256_hex};

/// Policy `version` whose root is `root`, signed by each of `signers`.
pub(crate) fn policy(version: u64, root: &PrivateKey, signers: &[&PrivateKey]) -> String {
    let doc = PolicyDoc {
        version,
        expires: chrono::Utc::now() + chrono::Duration::days(30),
        root: Root {
            threshold: 1,
            keys: vec![root.public().to_pem()],
        },
        ..Default::default()
    };
    let mut p = Policy::from_doc(doc).unwrap();
    for s in signers {
        p.sign(s).unwrap();
    }
    p.to_text()
}

pub(crate) async fn publish(app: &TestApp, text: &str, token: Option<&str>) -> (u16, String) {
    let mut r = app.client.post(app.url("/policies")).body(text.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn policies_are_checked_like_updates_logged_and_found_by_their_roots() {
    let app = TestApp::start().await;
    let old = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let new = PrivateKey::generate(Algorithm::P256).unwrap();
    let v1 = policy(1, &old, &[&old]);
    assert_eq!(publish(&app, &v1, None).await.0, 401);
    let (status, body) = publish(&app, &policy(1, &old, &[]), Some(TOKEN)).await;
    assert_eq!(status, 400, "unsigned: {body}");
    assert!(body.contains("refused policy"), "{body}");
    let (status, body) = publish(&app, "version = ", Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = publish(&app, &v1, Some(TOKEN)).await;
    assert_eq!(status, 201, "{body}");
    let first: PolicyPublished = serde_json::from_str(&body).unwrap();
    assert_eq!(first.policy.version, 1);
    assert_eq!(first.policy.digest, sha256_hex(v1.as_bytes()));
    assert_eq!(first.policy.roots, vec![old.public().id()]);
    // The same text again: the same entry, nothing logged.
    let (status, body) = publish(&app, &v1, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let again: PolicyPublished = serde_json::from_str(&body).unwrap();
    assert_eq!(again.policy.log_index, first.policy.log_index);

    // A rotation to a new root must be signed by the old root as well, and go up.
    let (status, body) = publish(&app, &policy(2, &new, &[&new]), Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("previous policy"), "{body}");
    let (status, body) = publish(&app, &policy(1, &new, &[&new, &old]), Some(TOKEN)).await;
    assert_eq!(status, 400, "{body}");
    let v2 = policy(2, &new, &[&new, &old]);
    let (status, body) = publish(&app, &v2, Some(TOKEN)).await;
    assert_eq!(status, 201, "{body}");
    let second: PolicyPublished = serde_json::from_str(&body).unwrap();
    assert_eq!(second.policy.roots, vec![new.public().id()]);

    let list: PolicyList = serde_json::from_value(app.get_json("/policies").await).unwrap();
    let versions: Vec<u64> = list.policies.iter().map(|p| p.version).collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(app.get("/policies/latest").await.text().await.unwrap(), v2);
    assert_eq!(app.get("/policies/1").await.text().await.unwrap(), v1);
    assert_eq!(app.get("/policies/9").await.status(), 404);
    assert_eq!(app.get("/policies/x").await.status(), 400);

    // The log holds each version whole, found by its digest and its roots.
    for (text, p) in [(&v1, &first), (&v2, &second)] {
        let found: SearchAnswer = serde_json::from_value(
            app.get_json(&format!("/log/search?digest={}", p.policy.digest))
                .await,
        )
        .unwrap();
        assert_eq!(found.hits.len(), 1);
        assert_eq!(found.hits[0].index, p.policy.log_index);
        assert_eq!(found.hits[0].entry["kind"], "policy");
        assert_eq!(found.hits[0].entry["text"], text.as_str());
    }
    let by_new: SearchAnswer = serde_json::from_value(
        app.get_json(&format!("/log/search?key={}", new.public().id()))
            .await,
    )
    .unwrap();
    assert_eq!(by_new.hits.len(), 1);
    assert_eq!(by_new.hits[0].index, second.policy.log_index);
}
