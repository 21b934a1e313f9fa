//! Running the real `cairn` binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use k256::ecdsa::signature::hazmat::PrehashSigner;
use k256::ecdsa::{Signature, SigningKey};
use k256::pkcs8::DecodePrivateKey;
use sha2::{Digest as _, Sha256};

pub fn cairn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    // Tests set configuration explicitly; nothing leaks in from the developer's shell.
    for var in [
        "CAIRN_ADDR",
        "CAIRN_DATA",
        "CAIRN_TOKEN",
        "CAIRN_PUBLIC_KEY",
        "CAIRN_MAX_UPLOAD_BYTES",
        "CAIRN_UPSTREAM",
        "CAIRN_UPSTREAM_LOG_KEY",
        "CAIRN_UPSTREAM_TRUST",
        "CAIRN_UPSTREAM_TTL",
        "MEMFLOW_ADDR",
        "MEMFLOW_STORAGE_ROOT",
        "MEMFLOW_BEARER_TOKEN",
        "MEMFLOW_PUBLIC_KEY_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

pub fn pub_key() -> PathBuf {
    fixtures().join("test-keys/fixture-test-pub-key.pem")
}

pub fn sign(bytes: &[u8]) -> String {
    let pem =
        std::fs::read_to_string(fixtures().join("test-keys/fixture-test-priv-key.pem")).unwrap();
    let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    let sig: Signature = key.sign_prehash(&Sha256::digest(bytes)).unwrap();
    hex(sig.to_der().as_bytes())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A valid plugin of at least `size` bytes with a digest unique to `tag`.
pub fn plugin(size: usize, tag: u64) -> Vec<u8> {
    let mut bytes = fixture("libmemflow_synthc.x86_64.so");
    bytes.extend_from_slice(&tag.to_le_bytes());
    if bytes.len() < size {
        bytes.resize(size, 0xa5);
    }
    bytes
}

/// A running `cairn serve` child, with everything it printed on stderr.
pub struct Served {
    pub child: Child,
    pub url: String,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `cairn serve` with `args` (plus `--addr 127.0.0.1:0` unless the caller set an
    /// address through the environment) and waits for it to listen.
    pub fn start(mut cmd: Command, args: &[&str]) -> Served {
        cmd.arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("cairn: listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server did not start: {:?}", lines.lock().unwrap()));
        Served {
            child,
            url,
            stderr: lines,
        }
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGKILL: no chance to flush, finish or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The names of the files in `dir`, sorted (none when it does not exist).
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// `--database`, `--object-store`, `--s3-endpoint` of a registry on PostgreSQL and a bucket.
pub fn shared_storage_args(database: &str, bucket: &cairn_testkit::s3::Bucket) -> Vec<String> {
    vec![
        "--database".into(),
        database.to_owned(),
        "--object-store".into(),
        bucket.url.clone(),
        "--s3-endpoint".into(),
        bucket.endpoint.clone(),
    ]
}

pub fn serve_args<'a>(data: &'a Path, token: &'a str, key: &'a Path) -> Vec<String> {
    vec![
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--data".into(),
        data.display().to_string(),
        "--token".into(),
        token.into(),
        "--public-key".into(),
        key.display().to_string(),
    ]
}

pub async fn upload(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bytes: Vec<u8>,
) -> reqwest::Result<(u16, String)> {
    let sig = sign(&bytes);
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("p.so"),
        )
        .text("signature", sig);
    let r = client
        .post(format!("{url}/files"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.text().await?))
}

/// The `cairn-agent` binary of this build (its own crate, so no `CARGO_BIN_EXE_` names it):
/// beside `cairn`, built first when a test is run on its own.
pub fn agent_exe() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let path = Path::new(env!("CARGO_BIN_EXE_cairn")).with_file_name("cairn-agent");
    BUILT.call_once(|| {
        if path.exists() {
            return;
        }
        let profile = path.parent().and_then(|p| p.file_name()).unwrap();
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        // The workspace's feature set, as `cargo test --workspace` builds it: nothing rebuilt.
        cargo.args(["build", "--workspace", "--bin", "cairn-agent"]);
        if profile == "release" {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo build -p cairn-agent");
        assert!(status.success(), "cargo build -p cairn-agent failed");
    });
    path
}

/// `cairn-agent`, with nothing from the developer's shell.
pub fn agent() -> Command {
    Command::new(agent_exe())
}

/// Runs a command that must succeed; its output.
pub fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
