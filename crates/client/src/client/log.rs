//! The log routes a client reads directly: checkpoints and consistency proofs.

use cairn_api::ProofAnswer;
use cairn_tlog::Hash;

use super::Client;
use crate::error::Error;

impl Client {
    /// `GET /log/proof/consistency?from=&to=`, decoded.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>, Error> {
        self.consistency_at(crate::proof::DEFAULT_LOG_ROUTES, from, to)
            .await
    }

    /// `GET {routes}/proof/consistency?from=&to=`, decoded: the consistency proof of the
    /// log routed at `routes` (`/log`, or `/local/log` on a mirror that also publishes).
    pub async fn consistency_at(
        &self,
        routes: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Hash>, Error> {
        let path = format!("{routes}/proof/consistency?from={from}&to={to}");
        let answer: ProofAnswer = self.get_json(&path).await?;
        crate::proof::hashes(&answer.proof).map_err(|reason| Error::Decode {
            method: "GET",
            url: self.url(&path),
            reason,
        })
    }

    /// `GET /log/checkpoint`: the latest signed checkpoint, as served.
    pub async fn checkpoint(&self) -> Result<String, Error> {
        let url = self.url("/log/checkpoint");
        let r = self.send("GET", &url, self.http.get(&url)).await?;
        r.text().await.map_err(|source| Error::Transport {
            method: "GET",
            url,
            source,
        })
    }
}
