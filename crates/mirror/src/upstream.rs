//! [`Upstream`]: the registry a mirror fetches from, its answers sorted into what the
//! mirror tells its own clients: unreachable (503), not there (404), a lie (502).

use cairn_client::{Client, Error as ClientError, StatusCode};
use cairn_tlog::tile::TilePath;

use crate::error::{Error, Lie};
use crate::metrics::MirrorMetrics;

/// The upstream registry, and the counters its failures go to.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client,
    metrics: std::sync::Arc<MirrorMetrics>,
}

impl Upstream {
    /// The upstream at `url`.
    pub fn new(url: &str, metrics: std::sync::Arc<MirrorMetrics>) -> Result<Self, Error> {
        let client = Client::new(url).map_err(|e| Error::BadRequest(e.to_string()))?;
        Ok(Upstream { client, metrics })
    }

    /// The typed client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        self.client.base()
    }

    /// A refusal of what the upstream served, counted.
    pub fn refused(&self, lie: Lie, what: String, reason: String) -> Error {
        self.metrics.failed(lie);
        tracing::warn!(upstream = self.url(), %what, %reason, "refused what the upstream served");
        Error::Refused {
            upstream: self.url().to_owned(),
            lie,
            what,
            reason,
        }
    }

    /// The mirror's error for a failed request about `what`, counted when the upstream
    /// could not answer.
    pub fn failed(&self, what: &str, e: ClientError) -> Error {
        let upstream = self.url().to_owned();
        match e {
            ClientError::Status {
                status, message, ..
            } if status == StatusCode::NOT_FOUND || status == StatusCode::GONE => Error::NotFound {
                upstream,
                what: what.to_owned(),
                message,
            },
            ClientError::Status {
                status, message, ..
            } if status.is_client_error() => Error::Upstream {
                upstream,
                status: status.as_u16(),
                message,
            },
            e => {
                self.metrics.upstream_error();
                Error::Unreachable {
                    upstream,
                    reason: e.to_string(),
                }
            }
        }
    }

    /// A log object; when a partial tile is no longer published (the upstream has grown
    /// since its checkpoint), the full tile or a wider partial one in its place.
    pub async fn tile_or_full(&self, path: &TilePath, limit: usize) -> Result<Vec<u8>, Error> {
        let what = format!("log object {path}");
        let c = &self.client;
        if let Some(b) = c
            .log_object(&path.to_string(), limit)
            .await
            .map_err(|e| self.failed(&what, e))?
        {
            return Ok(b);
        }
        if path.partial.is_some() {
            let full = TilePath {
                partial: None,
                ..*path
            };
            if let Some(b) = c
                .log_object(&full.to_string(), limit)
                .await
                .map_err(|e| self.failed(&what, e))?
            {
                return Ok(b);
            }
            // Grown, but not by a whole tile: its newest checkpoint names the partial tile.
            let text = c.checkpoint().await.map_err(|e| self.failed(&what, e))?;
            if let Some(size) = text.lines().nth(1).and_then(|l| l.parse::<u64>().ok()) {
                let wider = cairn_tlog::tile::tiles_for_size(size)
                    .into_iter()
                    .find(|t| t.kind == path.kind && t.index == path.index);
                if let Some(wider) = wider.filter(|w| w.width() >= path.width()) {
                    if let Some(b) = c
                        .log_object(&wider.to_string(), limit)
                        .await
                        .map_err(|e| self.failed(&what, e))?
                    {
                        return Ok(b);
                    }
                }
            }
        }
        Err(Error::NotFound {
            upstream: self.url().to_owned(),
            what,
            message: "no such published tile".into(),
        })
    }
}
