//! A [`cairn_tlog::Fetcher`] over HTTP, so `cairn_tlog::verify_log` audits a served log
//! exactly as it audits a directory.

use cairn_tlog::Fetcher;

/// Fetches log objects (`checkpoint`, `tile/…`) under a base URL. Blocking: it runs its own
/// single-threaded runtime, so call it outside any async context.
#[derive(Debug)]
pub struct HttpFetcher {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl HttpFetcher {
    /// A fetcher for the log at `base` (for a registry: `<registry>/log`).
    pub fn new(base: &str) -> Result<Self, crate::Error> {
        let io = |source| crate::Error::Io {
            what: "starting the HTTP runtime".into(),
            source,
        };
        Ok(HttpFetcher {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(io)?,
        })
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, cairn_tlog::Error> {
        let url = format!("{}/{path}", self.base);
        let failed = |e: String| cairn_tlog::Error::Fetch {
            path: path.to_owned(),
            failure: cairn_tlog::FetchFailure::Io(std::io::Error::other(format!("{url}: {e}"))),
        };
        self.runtime.block_on(async {
            let r = self
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| failed(e.to_string()))?;
            if r.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !r.status().is_success() {
                return Err(failed(r.status().to_string()));
            }
            Ok(Some(
                r.bytes().await.map_err(|e| failed(e.to_string()))?.to_vec(),
            ))
        })
    }
}
