//! A server on 127.0.0.1:0 over a temporary data directory, and fixture helpers.

use std::net::SocketAddr;
use std::path::PathBuf;

use cairn_server::{BearerToken, Server, ServerConfig};
use k256::ecdsa::signature::hazmat::PrehashSigner;
use k256::ecdsa::{Signature, SigningKey};
use k256::pkcs8::DecodePrivateKey;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-token";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

pub fn reference() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("reference-metadata.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn signing_key() -> SigningKey {
    let pem =
        std::fs::read_to_string(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap();
    SigningKey::from_pkcs8_pem(&pem).unwrap()
}

/// Low-S hex DER signature by the fixture key, as memflow's SignatureGenerator makes.
pub fn sign(bytes: &[u8]) -> String {
    sign_with(&signing_key(), bytes)
}

pub fn sign_with(key: &SigningKey, bytes: &[u8]) -> String {
    let sig: Signature = key.sign_prehash(&Sha256::digest(bytes)).unwrap();
    hex(sig.to_der().as_bytes())
}

/// The same signature with S replaced by n - S (what openssl emits half the time).
pub fn high_s(low_hex: &str) -> String {
    let der: Vec<u8> = (0..low_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&low_hex[i..i + 2], 16).unwrap())
        .collect();
    let sig = Signature::from_der(&der).unwrap();
    let (r, s) = sig.split_scalars();
    hex(Signature::from_scalars(r, -*s).unwrap().to_der().as_bytes())
}

/// A valid plugin with a distinct digest: the x86_64 fixture with `pad` zero bytes appended.
pub fn padded_plugin(pad: usize) -> Vec<u8> {
    let mut bytes = fixture("libmemflow_synthc.x86_64.so");
    bytes.resize(bytes.len() + pad, 0);
    bytes
}

pub struct TestApp {
    _dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    config: ServerConfig,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestApp {
    /// Server trusting the fixture key, with token [`TOKEN`].
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("data"));
        config.token = BearerToken::new(TOKEN);
        config.registry.public_keys = vec![fixtures().join("test-keys/fixture-test-pub-key.pem")];
        if cairn_testkit::pg::wanted() {
            config.registry.database = Some(cairn_testkit::pg::database_url().await);
        }
        if cairn_testkit::s3::wanted() {
            cairn_testkit::s3::assert_credentials_in_env();
            let bucket = cairn_testkit::s3::bucket().await;
            config.registry.object_store = Some(bucket.url);
            config.registry.s3_endpoint = Some(bucket.endpoint);
        }
        tweak(&mut config);
        let mut app = TestApp {
            _dir: dir,
            addr: "127.0.0.1:0".parse().unwrap(),
            client: reqwest::Client::new(),
            config,
            stop: None,
            task: None,
        };
        app.launch().await;
        app
    }

    pub async fn launch(&mut self) {
        let server = Server::bind(self.config.clone()).await.unwrap();
        self.addr = server.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        }));
    }

    /// Graceful stop, then a fresh server over the same data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    /// Graceful stop; `launch` starts again over the same data directory.
    pub async fn stop(&mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.take().unwrap().await.unwrap();
        self.config.addr = "127.0.0.1:0".parse().unwrap();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.registry.data_dir.clone()
    }

    /// The shared object store, when the app has one.
    pub fn objects(&self) -> Option<std::sync::Arc<dyn object_store::ObjectStore>> {
        let url = self.config.registry.object_store.as_deref()?;
        Some(
            cairn_registry::objects::open_s3(url, self.config.registry.s3_endpoint.as_deref())
                .unwrap(),
        )
    }

    /// Whether the blob of `digest` is stored (in the data directory or the bucket).
    pub async fn blob_exists(&self, digest: &str) -> bool {
        let rel = format!("blobs/sha256/{}/{digest}", &digest[..2]);
        match self.objects() {
            None => self.data_dir().join(rel).exists(),
            Some(store) => store.head(&rel.as_str().into()).await.is_ok(),
        }
    }

    /// Flips one stored byte of the blob of `digest` (in the data directory or the bucket).
    pub async fn corrupt_blob(&self, digest: &str, at: usize) {
        let rel = format!("blobs/sha256/{}/{digest}", &digest[..2]);
        match self.objects() {
            None => {
                let path = self.data_dir().join(rel);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[at] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
            Some(store) => {
                let path = object_store::path::Path::from(rel.as_str());
                let mut bytes = store
                    .get(&path)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
                    .to_vec();
                bytes[at] ^= 1;
                store.put(&path, bytes.into()).await.unwrap();
            }
        }
    }

    /// Makes the blob store refuse writes: its staging directory, or its bucket, is gone.
    pub async fn break_store(&self) {
        use futures::TryStreamExt as _;
        let Some(store) = self.objects() else {
            std::fs::remove_dir_all(self.data_dir().join("staging")).unwrap();
            return;
        };
        let names: Vec<_> = store
            .list(None)
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap();
        for name in names {
            store.delete(&name).await.unwrap();
        }
        let bucket = self.config.registry.object_store.as_deref().unwrap();
        let endpoint = self.config.registry.s3_endpoint.as_deref().unwrap();
        let r = self
            .client
            .delete(format!("{endpoint}/{}", bucket.trim_start_matches("s3://")))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "deleting the bucket: {}",
            r.status()
        );
    }

    /// The PostgreSQL URL of the app's index, on the PostgreSQL tier.
    pub fn database(&self) -> Option<String> {
        self.config.registry.database.clone()
    }

    /// The app's registry configuration with the embedded SQLite index, for tools that
    /// open the same data (and bucket) directly.
    pub fn registry_config(&self) -> cairn_registry::RegistryConfig {
        let mut config = self.config.registry.clone();
        config.database = None;
        config
    }

    /// Audits the stored log (its tiles and `checkpoint` object), optionally against an
    /// earlier checkpoint.
    pub async fn verify_stored_log(&self, key: &cairn_tlog::NoteVerifier, prior: Option<String>) {
        let key = key.clone();
        let store: std::sync::Arc<dyn cairn_tlog::store::TileStore> = match self.objects() {
            None => std::sync::Arc::new(
                cairn_tlog::DirStore::open(&self.data_dir().join("log")).unwrap(),
            ),
            Some(objects) => std::sync::Arc::new(cairn_registry::objects::BlockingObjects::new(
                objects,
                "log",
                tokio::runtime::Handle::current(),
            )),
        };
        tokio::task::spawn_blocking(move || {
            cairn_tlog::verify_log(&store, &key, prior.as_deref().map(str::as_bytes)).unwrap();
        })
        .await
        .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn upload(&self, bytes: Vec<u8>, signature: &str) -> reqwest::Response {
        let form = Form::new()
            .part("file", Part::bytes(bytes).file_name("plugin.so"))
            .text("signature", signature.to_owned());
        self.client
            .post(self.url("/files"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads signed bytes and asserts the answer.
    pub async fn upload_ok(&self, bytes: Vec<u8>, expected: &str) -> String {
        let digest = sha256_hex(&bytes);
        let sig = sign(&bytes);
        let r = self.upload(bytes, &sig).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(
            (status.as_u16(), body.as_str()),
            (200, format!("\"{expected}\"").as_str())
        );
        digest
    }

    pub async fn delete(&self, digest: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.delete(self.url(&format!("/files/{digest}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }
}
