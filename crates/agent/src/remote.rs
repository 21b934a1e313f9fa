//! The registry over HTTP(S), blocking, every call bounded by a deadline: a scan upload
//! streamed from the spool as `multipart/form-data`, and the proof of its log entry.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use cairn_api::{EntryProof, ScanAdded};

/// Why a submission did not go through.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// No answer before the deadline, or no connection: the scan stays spooled.
    #[error("the registry is unreachable: {0}")]
    Unreachable(String),
    /// The registry answered with an error status: the scan was refused.
    #[error("the registry refused it: {status} {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The registry's message.
        message: String,
    },
    /// The answer was not what the API says.
    #[error("the registry's answer is unreadable: {0}")]
    BadAnswer(String),
}

/// A registry at a base URL, with a host token.
pub struct Remote {
    base: String,
    token: String,
    deadline: Instant,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// A registry that must answer by `deadline`.
    pub fn new(base: &str, token: String, deadline: Instant) -> anyhow::Result<Self> {
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "the registry URL {base:?} is not http:// or https://"
        );
        Ok(Remote {
            base: base.trim_end_matches('/').to_owned(),
            token,
            deadline,
        })
    }

    fn agent(&self) -> Result<ureq::Agent, SubmitError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SubmitError::Unreachable("the deadline passed".into()));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(left))
            .timeout_connect(Some(left.min(Duration::from_secs(10))))
            .http_status_as_error(false)
            .user_agent(concat!("cairn-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(config.into())
    }

    /// `POST /scans`: the scan file and its signature, streamed.
    pub fn submit(&self, scan: &Path, signature: &str) -> Result<ScanAdded, SubmitError> {
        let boundary = format!("cairn-agent-{}", hex::encode(rand_bytes()));
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n{signature}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.jsonl\"\r\n\
             Content-Type: application/x-ndjson\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let file = std::fs::File::open(scan)
            .map_err(|e| SubmitError::BadAnswer(format!("reading {}: {e}", scan.display())))?;
        let mut body = head.as_bytes().chain(file).chain(tail.as_bytes());
        let answer = self
            .agent()?
            .post(format!("{}/scans", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(ureq::SendBody::from_reader(&mut body));
        decode(answer)
    }

    /// `GET /scans/{digest}/proof`.
    pub fn proof(&self, digest: &str) -> Result<EntryProof, SubmitError> {
        let answer = self
            .agent()?
            .get(format!("{}/scans/{digest}/proof", self.base))
            .call();
        decode(answer)
    }
}

/// Bytes for a multipart boundary (not secret, only unlikely to occur in a scan).
fn rand_bytes() -> [u8; 12] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 12];
    out.copy_from_slice(&nanos.to_le_bytes()[..12]);
    out
}

fn decode<T: serde::de::DeserializeOwned>(
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, SubmitError> {
    let mut answer = answer.map_err(|e| SubmitError::Unreachable(e.to_string()))?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_string()
        .map_err(|e| SubmitError::Unreachable(format!("reading the answer: {e}")))?;
    if status >= 500 {
        // The registry is there but cannot take it now: keep the scan for later.
        return Err(SubmitError::Unreachable(format!(
            "{status} {}",
            text.trim()
        )));
    }
    if !(200..300).contains(&status) {
        return Err(SubmitError::Refused {
            status,
            message: text.trim().to_owned(),
        });
    }
    serde_json::from_str(&text).map_err(|e| SubmitError::BadAnswer(e.to_string()))
}
