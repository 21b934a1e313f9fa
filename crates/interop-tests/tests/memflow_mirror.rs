//! The crates.io `memflow-registry` 0.1 client, unchanged, through a `cairn serve
//! --upstream` mirror: the same plugins, variants, metadata and bytes as from the upstream,
//! and the signatures still verify in the memflow client's own verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use cairn_mirror::MirrorConfig;
use cairn_server::mirror::MirrorServer;
use cairn_server::{BearerToken, Limits, Server, ServerConfig};
use memflow_registry::rest::models::PluginUploadResponse;
use memflow_registry::{PluginUri, SignatureGenerator, SignatureVerifier, client};

const TOKEN: &str = "interop-token";

/// A variant's digest and signature.
type Signed = (String, String);

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memflow_client_gets_the_same_through_a_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("up"));
    config.token = BearerToken::new(TOKEN);
    config.registry.public_keys = vec![fixtures().join("test-keys/fixture-test-pub-key.pem")];
    let upstream = Server::bind(config).await.unwrap();
    let up = format!("http://{}", upstream.local_addr());
    let key = upstream.state().registry.log().verifier().clone();
    tokio::spawn(upstream.run(std::future::pending()));

    let mut generator =
        SignatureGenerator::new(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap();
    for file in [
        "libmemflow_synthc.x86_64.so",
        "libmemflow_synthc_abi2.x86_64.so",
        "memflow_synthc.x86_64.dll",
    ] {
        let r = client::upload(
            Some(&up),
            Some(TOKEN),
            fixtures().join(file),
            &mut generator,
        )
        .await
        .unwrap();
        assert!(matches!(r, PluginUploadResponse::Added), "{file}: {r:?}");
    }

    let mirror = MirrorServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Limits::default(),
        MirrorConfig::new(&up, key, dir.path().join("mirror")),
    )
    .await
    .unwrap();
    let via = format!("http://{}", mirror.local_addr());
    tokio::spawn(mirror.run(std::future::pending()));

    let names = |v: Vec<memflow_registry::rest::models::PluginInfo>| {
        v.into_iter()
            .map(|p| (p.name, p.description))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(client::plugins(Some(&via)).await.unwrap()),
        names(client::plugins(Some(&up)).await.unwrap())
    );
    let verifier =
        SignatureVerifier::new(fixtures().join("test-keys/fixture-test-pub-key.pem")).unwrap();
    for abi in [None, Some(1), Some(2)] {
        let direct = client::plugin_versions(Some(&up), "synthc", true, abi, 10)
            .await
            .unwrap();
        let mirrored = client::plugin_versions(Some(&via), "synthc", true, abi, 10)
            .await
            .unwrap();
        let (mirrored, direct): (Vec<Signed>, Vec<Signed>) = (
            mirrored
                .iter()
                .map(|p| (p.digest.clone(), p.signature.clone()))
                .collect(),
            direct
                .iter()
                .map(|p| (p.digest.clone(), p.signature.clone()))
                .collect(),
        );
        assert_eq!(mirrored, direct, "abi {abi:?}");
        assert!(!mirrored.is_empty());
    }
    let uri = PluginUri::with_defaults("synthc:1.2.3", &via, "latest").unwrap();
    let variant = client::find_by_uri(&uri, true, Some(1)).await.unwrap();
    let direct_uri = PluginUri::with_defaults("synthc:1.2.3", &up, "latest").unwrap();
    let direct = client::find_by_uri(&direct_uri, true, Some(1))
        .await
        .unwrap();
    assert_eq!(variant.digest, direct.digest);
    let meta = client::metadata(&uri, &variant).await.unwrap();
    let direct_meta = client::metadata(&direct_uri, &direct).await.unwrap();
    assert_eq!(
        serde_json::to_value(&meta).unwrap(),
        serde_json::to_value(&direct_meta).unwrap()
    );
    let bytes = client::download(&uri, &variant)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let direct_bytes = client::download(&direct_uri, &direct)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes, direct_bytes);
    verifier.is_valid(&bytes, &variant.signature).unwrap();
}
