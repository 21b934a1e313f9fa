//! `cairn serve` driven by the crates.io `memflow-registry` 0.1 client, unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use cairn_server::{BearerToken, Server, ServerConfig};
use k256::ecdsa::Signature;
use memflow_registry::rest::models::PluginUploadResponse;
use memflow_registry::{PluginUri, SignatureGenerator, SignatureVerifier, client};
use sha2::{Digest as _, Sha256};

const TOKEN: &str = "interop-token";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

/// A cairn server on loopback trusting the fixture key; returns its URL.
async fn start(dir: &std::path::Path) -> String {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("data"));
    config.token = BearerToken::new(TOKEN);
    config.registry.public_keys = vec![fixtures().join("test-keys/fixture-test-pub-key.pem")];
    let server = Server::bind(config).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn memflow_registry_client_works_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let url = start(dir.path()).await;
    let registry = Some(url.as_str());
    let key = fixtures().join("test-keys/fixture-test-priv-key.pem");
    let mut generator = SignatureGenerator::new(&key).unwrap();

    // Upload with the client's own signature generator (uppercase hex, low-S).
    for file in [
        "libmemflow_synthc.x86_64.so",
        "libmemflow_synthc_abi2.x86_64.so",
        "memflow_synthc.x86_64.dll",
    ] {
        let r = client::upload(registry, Some(TOKEN), fixtures().join(file), &mut generator)
            .await
            .unwrap();
        assert!(matches!(r, PluginUploadResponse::Added), "{file}: {r:?}");
    }
    let again = client::upload(
        registry,
        Some(TOKEN),
        fixtures().join("libmemflow_synthc.x86_64.so"),
        &mut generator,
    )
    .await
    .unwrap();
    assert!(matches!(again, PluginUploadResponse::AlreadyExists));
    let refused = client::upload(
        registry,
        Some("wrong"),
        fixtures().join("libmemflow_synthc.x86.so"),
        &mut generator,
    )
    .await;
    assert!(refused.is_err());

    // List and find.
    let plugins = client::plugins(registry).await.unwrap();
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0].name, "synthc");
    let all = client::plugin_versions(registry, "synthc", true, None, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].descriptor.plugin_version, 2, "ABI descending");
    let abi1 = client::plugin_versions(registry, "synthc", true, Some(1), 10)
        .await
        .unwrap();
    assert_eq!(abi1.len(), 2);

    // find_by_uri adds the host's file type and architecture, like memflowup.
    let uri = PluginUri::with_defaults("synthc:1.2.3", &url, "latest").unwrap();
    let variant = client::find_by_uri(&uri, true, Some(1)).await.unwrap();
    assert_eq!(variant.descriptor.version, "1.2.3");
    let latest = PluginUri::with_defaults("synthc", &url, "latest").unwrap();
    let newest = client::find_by_uri(&latest, true, None).await.unwrap();
    assert_eq!(newest.descriptor.version, "2.0.0-abi2");

    // Metadata, download, and the client's signature check on what it downloaded.
    let meta = client::metadata(&uri, &variant).await.unwrap();
    assert_eq!(meta.digest, variant.digest);
    assert_eq!(meta.descriptors.len(), 1);
    let bytes = client::download(&uri, &variant)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), variant.digest);
    let verifier =
        SignatureVerifier::new(fixtures().join("test-keys/fixture-test-pub-key.pem")).unwrap();
    verifier.is_valid(&bytes, &variant.signature).unwrap();

    // Delete through the client.
    client::delete(registry, Some(TOKEN), &variant.digest)
        .await
        .unwrap();
    assert!(
        client::delete(registry, Some(TOKEN), &variant.digest)
            .await
            .is_err()
    );
    assert_eq!(
        client::plugin_versions(registry, "synthc", true, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

/// An openssl-style high-S signature is accepted and served low-S, so the memflow client's
/// verifier (which refuses high-S) still accepts the download.
#[tokio::test(flavor = "multi_thread")]
async fn high_s_uploads_verify_in_the_memflow_client() {
    let dir = tempfile::tempdir().unwrap();
    let url = start(dir.path()).await;
    let bytes = std::fs::read(fixtures().join("libmemflow_synthc.aarch64.so")).unwrap();
    let mut generator =
        SignatureGenerator::new(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap();
    let low = generator.sign(&bytes).unwrap();
    let der: Vec<u8> = (0..low.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&low[i..i + 2], 16).unwrap())
        .collect();
    let sig = Signature::from_der(&der).unwrap();
    let (r, s) = sig.split_scalars();
    let high = hex(Signature::from_scalars(r, -*s).unwrap().to_der().as_bytes());
    let verifier =
        SignatureVerifier::new(fixtures().join("test-keys/fixture-test-pub-key.pem")).unwrap();
    assert!(
        verifier.is_valid(&bytes, &high).is_err(),
        "the memflow verifier refuses high-S"
    );

    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("x.so"),
        )
        .text("signature", high);
    let r = reqwest::Client::new()
        .post(format!("{url}/files"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "\"Added\"");
    let uri = PluginUri::with_defaults("synthc", &url, "latest").unwrap();
    let variant = client::find_by_uri(&uri, true, None).await.unwrap();
    let downloaded = client::download(&uri, &variant)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    verifier.is_valid(&downloaded, &variant.signature).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
