//! An S3-compatible store of the test process's own: moto's server (`moto_server`, from
//! PyPI's `moto[server]`, which enforces `If-None-Match` on puts and multipart completions)
//! on loopback. Each test gets a fresh bucket. A missing `moto_server` fails loudly.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether this run targets S3 (`CAIRN_TEST_OBJECT_STORE=s3`).
pub fn wanted() -> bool {
    std::env::var("CAIRN_TEST_OBJECT_STORE").as_deref() == Ok("s3")
}

/// A bucket on the test server.
#[derive(Clone, Debug)]
pub struct Bucket {
    /// `s3://<name>`, for `--object-store`.
    pub url: String,
    /// `http://127.0.0.1:<port>`, for `--s3-endpoint`.
    pub endpoint: String,
}

/// Credentials moto accepts (any), for the environment of servers a test spawns.
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "cairn-test"),
    ("AWS_SECRET_ACCESS_KEY", "cairn-test"),
    ("AWS_REGION", "us-east-1"),
];

static PORT: OnceLock<u16> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

fn start() -> u16 {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .any(|d| d.join("moto_server").is_file());
    assert!(
        found,
        "the S3 test tier needs moto_server, which is missing: install it with \
         `pip install 'moto[server]'` (./scripts/test does)"
    );
    let port = crate::process::free_port();
    let mut cmd = crate::process::tied("moto_server");
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::process::spawn_tied(cmd, "moto_server");
    crate::process::wait_for_port(port, "moto_server");
    port
}

/// A fresh, empty bucket on the test server (started on first use).
pub async fn bucket() -> Bucket {
    let port = *PORT.get_or_init(start);
    let name = format!(
        "cairn-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating bucket {name}: {}",
        created.status()
    );
    Bucket {
        url: format!("s3://{name}"),
        endpoint,
    }
}

/// For servers started inside the test process: the credentials must already be in its
/// environment (setting variables in a running, threaded process is not sound).
pub fn assert_credentials_in_env() {
    for (name, _) in &CREDENTIALS[..2] {
        assert!(
            std::env::var_os(name).is_some(),
            "the S3 test tier needs {name} in the environment (any value: moto accepts \
             all); ./scripts/test sets it"
        );
    }
}
