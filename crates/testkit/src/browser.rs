//! A real headless Chromium of the test's own, driven over WebDriver: Debian's `chromium`
//! and `chromium-driver` (installed by `./scripts/test`), one ChromeDriver per browser on a
//! loopback port, and a fantoccini session on it. A missing browser fails loudly.
//!
//! The browser may reach loopback only: every other host name fails to resolve and every
//! other address goes to a dead proxy, and Chromium's own background traffic (updates,
//! sync, safe browsing) is switched off.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Where the browser is.
const CHROMIUM: &str = "/usr/bin/chromium";

/// A ChromeDriver child and the browser session on it; both end on drop.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Guard,
    _profile: tempfile::TempDir,
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a window of `width`×`height`, in
    /// the system's light colour scheme.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::launch(width, height, &[]).await
    }

    /// As [`Browser::start`], with the system in its dark colour scheme.
    pub async fn start_dark(width: u32, height: u32) -> Browser {
        Browser::launch(width, height, &["--force-dark-mode"]).await
    }

    async fn launch(width: u32, height: u32, extra: &[&str]) -> Browser {
        let driver_exe = on_path("chromedriver");
        assert!(
            driver_exe.is_some() && Path::new(CHROMIUM).is_file(),
            "the browser tests need Debian's chromium and chromium-driver, which are missing: \
             apt-get install chromium chromium-driver (./scripts/test does)"
        );
        let profile = tempfile::tempdir().unwrap();
        let port = crate::process::free_port();
        let mut cmd = Command::new(driver_exe.unwrap());
        cmd.arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = Guard(cmd.spawn().expect("starting chromedriver"));
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&url).await;
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(profile.path(), width, height, extra))
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                    .unwrap_or_default();
                panic!("starting a Chromium session: {e}\n{log}")
            });
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Saves a screenshot of the page as `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// Ends the session cleanly (the driver is killed on drop either way).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Kills the ChromeDriver child (and with it the browser) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn capabilities(
    profile: &Path,
    width: u32,
    height: u32,
    extra: &[&str],
) -> fantoccini::wd::Capabilities {
    let mut args = vec![
        "--headless=new".to_owned(),
        // As root in a container Chromium does not start sandboxed; it loads only the test's
        // own pages on loopback.
        "--no-sandbox".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-gpu".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.join("profile").display()),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-extensions".to_owned(),
        "--disable-breakpad".to_owned(),
        "--metrics-recording-only".to_owned(),
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost".to_owned(),
        "--proxy-server=127.0.0.1:9".to_owned(),
        "--proxy-bypass-list=127.0.0.1;localhost".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    caps.insert(
        "timeouts".into(),
        json!({ "pageLoad": 20_000, "script": 5_000 }),
    );
    caps
}

/// Waits until ChromeDriver answers `/status` with `ready`.
async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    loop {
        let ready = match http.get(format!("{url}/status")).send().await {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["value"]["ready"] == true),
            Err(_) => false,
        };
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "chromedriver did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
