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

/// A registry in `data` that trusts the fixture key, served: its URL and log key.
async fn upstream(data: &std::path::Path) -> (String, cairn_tlog::NoteVerifier) {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), data);
    config.token = BearerToken::new(TOKEN);
    config.registry.public_keys = vec![fixtures().join("test-keys/fixture-test-pub-key.pem")];
    let upstream = Server::bind(config).await.unwrap();
    let up = format!("http://{}", upstream.local_addr());
    let key = upstream.state().registry.log().verifier().clone();
    tokio::spawn(upstream.run(std::future::pending()));
    (up, key)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_memflow_client_gets_the_same_through_a_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let (up, key) = upstream(&dir.path().join("up")).await;

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
        None,
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

/// A mirror with `--allow-local`: the memflow client uploads to it with the mirror's own
/// token, and lists, finds and downloads local and mirrored variants alike.
#[tokio::test(flavor = "multi_thread")]
async fn the_memflow_client_publishes_to_a_mirror_that_allows_local_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let public = fixtures().join("test-keys/fixture-test-pub-key.pem");
    let (up, key) = upstream(&dir.path().join("up")).await;
    let mut generator =
        SignatureGenerator::new(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap();
    let r = upload(&up, TOKEN, "libmemflow_synthc.x86_64.so", &mut generator).await;
    assert!(matches!(r, PluginUploadResponse::Added), "{r:?}");

    let mut local = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("mirror"));
    local.token = BearerToken::new("mirror-token");
    local.registry.public_keys = vec![public.clone()];
    let mirror = MirrorServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Limits::default(),
        MirrorConfig::new(&up, key, dir.path().join("mirror/mirror")),
        Some(local),
    )
    .await
    .unwrap();
    let via = format!("http://{}", mirror.local_addr());
    tokio::spawn(mirror.run(std::future::pending()));
    let r = upload(
        &via,
        "mirror-token",
        "memflow_synthc.x86_64.dll",
        &mut generator,
    )
    .await;
    assert!(matches!(r, PluginUploadResponse::Added), "{r:?}");

    let mirrored = client::plugin_versions(Some(&via), "synthc", true, None, 10)
        .await
        .unwrap();
    let direct = client::plugin_versions(Some(&up), "synthc", true, None, 10)
        .await
        .unwrap();
    assert_eq!(mirrored.len(), direct.len() + 1);
    assert!(
        direct
            .iter()
            .all(|d| mirrored.iter().any(|m| m.digest == d.digest))
    );
    let verifier = SignatureVerifier::new(&public).unwrap();
    for variant in &mirrored {
        let uri = PluginUri::with_defaults("synthc", &via, "latest").unwrap();
        let bytes = client::download(&uri, variant)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        verifier.is_valid(&bytes, &variant.signature).unwrap();
    }
}

async fn upload(
    url: &str,
    token: &str,
    file: &str,
    generator: &mut SignatureGenerator,
) -> PluginUploadResponse {
    client::upload(Some(url), Some(token), fixtures().join(file), generator)
        .await
        .unwrap()
}
