//! [`Client`]: every request Cairn makes to a registry, typed.

use std::path::Path;
use std::sync::Arc;

use cairn_api::{
    BaselineSet, EfiAdded, EfiList, EntryProof, HostAdded, HostList, NewBaseline, NewHost,
    PluginList, PluginMetadata, ReportAnswer, ScanAdded, ScanList, UploadOutcome, VariantList,
};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use sha2::Digest as _;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::error::Error;
use crate::query::VariantQuery;

mod log;
mod packages;
mod raw;
mod search;

pub use packages::PackageUpload;
pub use search::SearchRequest;

/// Progress of a transfer (a progress bar, or nothing: `()`).
pub trait Progress: Send + Sync {
    /// The transfer starts; `total` bytes when known.
    fn start(&self, total: Option<u64>) {
        let _ = total;
    }
    /// `n` more bytes moved.
    fn advance(&self, n: u64) {
        let _ = n;
    }
    /// The transfer ended.
    fn finish(&self) {}
}

impl Progress for () {}

/// What a download wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Download {
    /// SHA-256 of the bytes received.
    pub sha256: [u8; 32],
    /// How many.
    pub size: u64,
}

/// A registry: its base URL, the write token if any, and one HTTP client.
///
/// Answers are decoded into `cairn-api` types; error statuses become [`Error::Status`] with
/// the server's message. Nothing here trusts an answer: [`crate::pull`] and
/// [`crate::baseline`] prove what they use.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// Checks a digest before it goes into a URL.
pub fn check_digest(d: &str) -> Result<(), Error> {
    if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::BadDigest(d.to_owned()));
    }
    Ok(())
}

/// Percent-encodes everything but unreserved characters (one path segment or query value).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    /// A client for the registry at `base` (`http://…` or `https://…`).
    pub fn new(base: &str) -> Result<Self, Error> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::BadUrl(base.to_owned()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| Error::Transport {
                method: "build",
                url: base.to_owned(),
                source,
            })?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            token: None,
            http,
        })
    }

    /// The same client, with a write token.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn token(&self) -> Result<&str, Error> {
        self.token.as_deref().ok_or(Error::NoToken)
    }

    /// [`Error::NoToken`] unless a write token is set: check before work a write needs.
    pub fn require_token(&self) -> Result<(), Error> {
        self.token().map(|_| ())
    }

    /// Sends a request; an error status becomes [`Error::Status`].
    pub(crate) async fn send(
        &self,
        method: &'static str,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let transport = |source| Error::Transport {
            method,
            url: url.to_owned(),
            source,
        };
        let r = request.send().await.map_err(transport)?;
        let status = r.status();
        if status.is_success() {
            return Ok(r);
        }
        let message = r.text().await.unwrap_or_default().trim().to_owned();
        Err(Error::Status {
            method,
            url: url.to_owned(),
            status,
            message,
        })
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let url = self.url(path);
        let r = self.send("GET", &url, self.http.get(&url)).await?;
        decode("GET", &url, r).await
    }

    /// `GET /plugins`: every plugin name.
    pub async fn plugins(&self) -> Result<PluginList, Error> {
        self.get_json("/plugins").await
    }

    /// `GET /plugins/{name}`: the variants matching `query`.
    pub async fn find(&self, name: &str, query: &VariantQuery) -> Result<VariantList, Error> {
        self.get_json(&format!(
            "/plugins/{}?{}",
            urlencode(name),
            query.to_query()
        ))
        .await
    }

    /// `GET /files/{digest}/metadata`.
    pub async fn metadata(&self, digest: &str) -> Result<PluginMetadata, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/files/{digest}/metadata")).await
    }

    /// `GET /files/{digest}` streamed into `out`, hashed as it arrives (never held whole).
    pub async fn download_to(
        &self,
        digest: &str,
        out: &mut (impl AsyncWrite + Unpin),
        progress: &dyn Progress,
    ) -> Result<Download, Error> {
        check_digest(digest)?;
        self.stream_to(&format!("/files/{digest}"), out, progress)
            .await
    }

    /// `GET /scans/{digest}`: a stored scan file, streamed and hashed like a plugin.
    pub async fn scan(
        &self,
        digest: &str,
        out: &mut (impl AsyncWrite + Unpin),
        progress: &dyn Progress,
    ) -> Result<Download, Error> {
        check_digest(digest)?;
        self.stream_to(&format!("/scans/{digest}"), out, progress)
            .await
    }

    pub(crate) async fn stream_to(
        &self,
        path: &str,
        out: &mut (impl AsyncWrite + Unpin),
        progress: &dyn Progress,
    ) -> Result<Download, Error> {
        let url = self.url(path);
        let r = self.send("GET", &url, self.http.get(&url)).await?;
        let expected = r.content_length();
        progress.start(expected);
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        let mut body = r.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| match expected {
                Some(expected) if size < expected => Error::Truncated {
                    url: url.clone(),
                    got: size,
                    expected,
                },
                _ => Error::Transport {
                    method: "GET",
                    url: url.clone(),
                    source,
                },
            })?;
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(Error::io("writing the download"))?;
            size += chunk.len() as u64;
            progress.advance(chunk.len() as u64);
        }
        out.flush()
            .await
            .map_err(Error::io("writing the download"))?;
        progress.finish();
        Ok(Download {
            sha256: hasher.finalize().into(),
            size,
        })
    }

    /// `GET /files/{digest}/proof`: the artifact's log entry, inclusion proof and checkpoint.
    pub async fn proof(&self, digest: &str) -> Result<EntryProof, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/files/{digest}/proof")).await
    }

    /// `GET /scans/{digest}/proof`: the scan's log entry, inclusion proof and checkpoint.
    pub async fn scan_proof(&self, digest: &str) -> Result<EntryProof, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/scans/{digest}/proof")).await
    }

    /// `GET /efi/{digest}/proof`: a Secure Boot file's log entry, inclusion proof and
    /// checkpoint (`digest`: the SHA-256 of the file).
    pub async fn efi_proof(&self, digest: &str) -> Result<EntryProof, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/efi/{digest}/proof")).await
    }

    /// `GET /efi?authenticode=`: the published images with this Authenticode digest.
    pub async fn efi_images(&self, authenticode: &str) -> Result<EfiList, Error> {
        check_digest(authenticode)?;
        self.get_json(&format!(
            "/efi?authenticode={}",
            authenticode.to_ascii_lowercase()
        ))
        .await
    }

    /// `GET /efi/{digest}`: a published Secure Boot file, streamed and hashed.
    pub async fn efi_file(
        &self,
        digest: &str,
        out: &mut (impl AsyncWrite + Unpin),
        progress: &dyn Progress,
    ) -> Result<Download, Error> {
        check_digest(digest)?;
        self.stream_to(&format!("/efi/{digest}"), out, progress)
            .await
    }

    /// `GET /scans[?host=]`: stored scans, newest first.
    pub async fn scans(&self, host: Option<&str>) -> Result<ScanList, Error> {
        match host {
            Some(h) => {
                self.get_json(&format!("/scans?host={}", urlencode(h)))
                    .await
            }
            None => self.get_json("/scans").await,
        }
    }

    /// `POST /files`: uploads a plugin binary with its hex DER signature, streamed from disk.
    pub async fn push(
        &self,
        file: &Path,
        signature: &str,
        progress: Arc<dyn Progress>,
    ) -> Result<UploadOutcome, Error> {
        let url = self.url("/files");
        let fields = [("signature", signature.to_owned())];
        let r = self.upload(&url, file, &fields, progress).await?;
        decode("POST", &url, r).await
    }

    /// `POST /scans`: uploads a signed scan file.
    pub async fn push_scan(&self, file: &Path, signature: &str) -> Result<ScanAdded, Error> {
        let url = self.url("/scans");
        let fields = [("signature", signature.to_owned())];
        let r = self.upload(&url, file, &fields, Arc::new(())).await?;
        decode("POST", &url, r).await
    }

    /// `POST /efi/images`: publishes a signed EFI image (the registry checks that every
    /// signature verifies over its Authenticode digest), streamed from disk.
    pub async fn push_efi_image(
        &self,
        file: &Path,
        progress: Arc<dyn Progress>,
    ) -> Result<EfiAdded, Error> {
        let url = self.url("/efi/images");
        let r = self.upload(&url, file, &[], progress).await?;
        decode("POST", &url, r).await
    }

    /// `POST /efi/vars`: publishes a signed variable update (`.auth`) of `variable` (`PK`,
    /// `KEK`, `db`, `dbx`), replacing it or (`append`) appending to it.
    pub async fn push_efi_vars(
        &self,
        file: &Path,
        variable: &str,
        append: bool,
    ) -> Result<EfiAdded, Error> {
        let url = self.url("/efi/vars");
        let fields = [
            ("variable", variable.to_owned()),
            ("append", append.to_string()),
        ];
        let r = self.upload(&url, file, &fields, Arc::new(())).await?;
        decode("POST", &url, r).await
    }

    /// Streams `file` as the multipart `file` field, then the text `fields`.
    async fn upload(
        &self,
        url: &str,
        file: &Path,
        fields: &[(&'static str, String)],
        progress: Arc<dyn Progress>,
    ) -> Result<reqwest::Response, Error> {
        let add = |form: reqwest::multipart::Form| {
            fields
                .iter()
                .fold(form, |form, (name, value)| form.text(*name, value.clone()))
        };
        self.upload_form(url, file, add, progress).await
    }

    /// Streams `file` as the multipart `file` field, then what `add` puts in the form.
    pub(crate) async fn upload_form(
        &self,
        url: &str,
        file: &Path,
        add: impl FnOnce(reqwest::multipart::Form) -> reqwest::multipart::Form,
        progress: Arc<dyn Progress>,
    ) -> Result<reqwest::Response, Error> {
        let token = self.token()?;
        let reading = || format!("reading {}", file.display());
        let f = tokio::fs::File::open(file)
            .await
            .map_err(Error::io(reading()))?;
        let len = f.metadata().await.map_err(Error::io(reading()))?.len();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        progress.start(Some(len));
        let shown = progress.clone();
        let stream = tokio_util::io::ReaderStream::new(f).inspect(move |chunk| {
            if let Ok(c) = chunk {
                shown.advance(c.len() as u64);
            }
        });
        let part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
                .file_name(name);
        let form = add(reqwest::multipart::Form::new().part("file", part));
        let request = self.http.post(url).bearer_auth(token).multipart(form);
        let answer = self.send("POST", url, request).await;
        progress.finish();
        answer
    }

    /// Sends `body` as JSON with the write token and decodes the answer.
    async fn write_json<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, Error> {
        let url = self.url(path);
        let request = match method {
            "PUT" => self.http.put(&url),
            _ => self.http.post(&url),
        };
        let request = request.bearer_auth(self.token()?).json(body);
        let r = self.send(method, &url, request).await?;
        decode(method, &url, r).await
    }

    /// `POST /hosts`: enrols a host with its public key (PEM); the answer holds its token.
    pub async fn add_host(&self, name: &str, key_pem: &str) -> Result<HostAdded, Error> {
        let body = NewHost {
            name: name.to_owned(),
            key: key_pem.to_owned(),
        };
        self.write_json("POST", "/hosts", &body).await
    }

    /// `GET /hosts`: every enrolled host.
    pub async fn hosts(&self) -> Result<HostList, Error> {
        self.get_json("/hosts").await
    }

    /// `PUT /hosts/{name}/baseline`: the scan the host's arriving scans are compared with.
    pub async fn set_baseline(&self, host: &str, scan: &str) -> Result<BaselineSet, Error> {
        check_digest(scan)?;
        let body = NewBaseline {
            scan: scan.to_owned(),
        };
        let path = format!("/hosts/{}/baseline", urlencode(host));
        self.write_json("PUT", &path, &body).await
    }

    /// `GET /scans/{digest}/report`: a stored scan and the registry's report of it.
    pub async fn scan_report(&self, digest: &str) -> Result<ReportAnswer, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/scans/{digest}/report")).await
    }

    /// `DELETE /files/{digest}`.
    pub async fn delete(&self, digest: &str) -> Result<(), Error> {
        check_digest(digest)?;
        let url = self.url(&format!("/files/{digest}"));
        let request = self.http.delete(&url).bearer_auth(self.token()?);
        self.send("DELETE", &url, request).await?;
        Ok(())
    }
}

pub(crate) async fn decode<T: DeserializeOwned>(
    method: &'static str,
    url: &str,
    r: reqwest::Response,
) -> Result<T, Error> {
    let bytes = r.bytes().await.map_err(|source| Error::Transport {
        method,
        url: url.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
        method,
        url: url.to_owned(),
        reason: e.to_string(),
    })
}
