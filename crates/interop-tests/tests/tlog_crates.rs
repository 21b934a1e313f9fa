//! An independent implementation checks a live `cairn serve`'s log: cloudflare/azul's
//! `signed_note` verifies the checkpoint signatures and `tlog_tiles` the inclusion of every
//! entry and the consistency between checkpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cairn_server::{BearerToken, Server, ServerConfig};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash, check_record, check_tree, record_hash};

const TOKEN: &str = "tlog-token";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

async fn get(url: &str) -> reqwest::Response {
    let r = reqwest::get(url).await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r
}

/// Verifies a checkpoint with signed_note and parses it with tlog_tiles.
fn open(note: &[u8], vkey: &str) -> Checkpoint {
    let verifier = StandardVerifier::new(vkey).unwrap();
    let note = Note::from_bytes(note).unwrap();
    let (verified, _) = note
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .unwrap();
    assert_eq!(verified.len(), 1);
    Checkpoint::from_bytes(note.text()).unwrap()
}

fn proof(v: &serde_json::Value) -> Vec<Hash> {
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::parse_hash(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn azul_crates_verify_a_live_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
    config.token = BearerToken::new(TOKEN);
    config.registry.public_keys = vec![fixtures().join("test-keys/fixture-test-pub-key.pem")];
    config.registry.log.origin = Some("interop.test/log".into());
    let server = Server::bind(config).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    let vkey = server.state().registry.log().verifier().to_string();
    tokio::spawn(server.run(std::future::pending()));

    let key = cairn_sign_key();
    let client = reqwest::Client::new();
    let mut checkpoints = Vec::new();
    for i in 0..12u64 {
        let mut bytes = std::fs::read(fixtures().join("libmemflow_synthc.x86_64.so")).unwrap();
        bytes.extend_from_slice(&i.to_le_bytes());
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes.clone()))
            .text("signature", key.sign(&bytes));
        let r = client
            .post(format!("{url}/files"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "\"Added\"");
        checkpoints.push(
            get(&format!("{url}/log/checkpoint"))
                .await
                .bytes()
                .await
                .unwrap()
                .to_vec(),
        );
    }

    let latest = open(checkpoints.last().unwrap(), &vkey);
    assert_eq!(latest.origin(), "interop.test/log");
    assert_eq!(latest.size(), 12);
    // Inclusion of every entry.
    for index in 0..latest.size() {
        let entry: serde_json::Value = get(&format!("{url}/log/entries/{index}"))
            .await
            .json()
            .await
            .unwrap();
        let leaf = Hash::parse_hash(entry["leaf_hash"].as_str().unwrap()).unwrap();
        let bytes = cairn_tlog::entry::canonical(&entry["entry"]);
        assert_eq!(
            record_hash(&bytes),
            leaf,
            "entry {index}: leaf hash is not RFC 6962's"
        );
        let p: serde_json::Value = get(&format!(
            "{url}/log/proof/inclusion?index={index}&size={}",
            latest.size()
        ))
        .await
        .json()
        .await
        .unwrap();
        check_record(&proof(&p), latest.size(), *latest.hash(), index, leaf).unwrap();
    }
    // Consistency between every checkpoint served and the latest.
    for old in &checkpoints[..checkpoints.len() - 1] {
        let old = open(old, &vkey);
        let p: serde_json::Value = get(&format!(
            "{url}/log/proof/consistency?from={}&to={}",
            old.size(),
            latest.size()
        ))
        .await
        .json()
        .await
        .unwrap();
        check_tree(
            &proof(&p),
            latest.size(),
            *latest.hash(),
            old.size(),
            *old.hash(),
        )
        .unwrap();
    }
    // The level-0 tile holds exactly those leaf hashes.
    let tile = get(&format!("{url}/log/tile/0/000.p/12"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(tile.len(), 12 * 32);
    let first: serde_json::Value = get(&format!("{url}/log/entries/0"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        B64.encode(&tile[..32]),
        first["leaf_hash"].as_str().unwrap()
    );
}

fn cairn_sign_key() -> Signer {
    Signer(std::fs::read_to_string(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap())
}

struct Signer(String);

impl Signer {
    fn sign(&self, bytes: &[u8]) -> String {
        use k256::ecdsa::signature::hazmat::PrehashSigner;
        use k256::pkcs8::DecodePrivateKey;
        use sha2::Digest as _;
        let key = k256::ecdsa::SigningKey::from_pkcs8_pem(&self.0).unwrap();
        let sig: k256::ecdsa::Signature = key.sign_prehash(&sha2::Sha256::digest(bytes)).unwrap();
        sig.to_der()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
