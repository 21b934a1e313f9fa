//! Answers taken as bytes, for a caller that passes them on unchanged (a mirror): capped,
//! so an upstream cannot make its caller buffer without bound.

use futures::StreamExt as _;

use super::Client;
use crate::error::Error;

impl Client {
    /// `GET path_and_query` as bytes, at most `limit` of them; an error status is
    /// [`Error::Status`], a longer body [`Error::TooLarge`].
    pub async fn get_bytes(&self, path_and_query: &str, limit: usize) -> Result<Vec<u8>, Error> {
        let url = self.url(path_and_query);
        let r = self.send("GET", &url, self.http.get(&url)).await?;
        if r.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Error::TooLarge { url, limit });
        }
        let mut out = Vec::new();
        let mut body = r.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| Error::Transport {
                method: "GET",
                url: url.clone(),
                source,
            })?;
            if out.len() + chunk.len() > limit {
                return Err(Error::TooLarge { url, limit });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// A log object (`tile/0/x001/234`, `tile/entries/005.p/7`) under `/log/`, at most
    /// `limit` bytes; `None` when the registry answers 404.
    pub async fn log_object(&self, path: &str, limit: usize) -> Result<Option<Vec<u8>>, Error> {
        match self.get_bytes(&format!("/log/{path}"), limit).await {
            Ok(b) => Ok(Some(b)),
            Err(Error::Status { status, .. }) if status == reqwest::StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
