//! The log's search, attestations and published policies: `GET /log/search`,
//! `POST /log/entries`, `GET /attestations/{digest}[/entry]`, `POST|GET /policies`.

use cairn_api::{
    AttestationAdded, EntryProof, PolicyList, PolicyPublished, SearchAnswer, SearchKey,
};

use super::{Client, check_digest, decode, urlencode};
use crate::error::Error;

/// Largest attestation document read back (what a registry accepts).
const MAX_ATTESTATION_BYTES: usize = 1024 * 1024;

/// One page of a search: the key and value, where it starts, its size, and whether each
/// hit comes with its inclusion proof.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    /// What to look for.
    pub key: SearchKey,
    /// Its value (a digest, key id, name, `name@version` or host).
    pub value: String,
    /// Only entries after this index.
    pub after: Option<u64>,
    /// Most hits (the registry caps it).
    pub limit: Option<u32>,
    /// Ask for inclusion proofs against one checkpoint.
    pub proofs: bool,
}

impl Client {
    /// `GET /log/search`: one page.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchAnswer, Error> {
        let mut path = format!(
            "/log/search?{}={}",
            request.key.as_str(),
            urlencode(&request.value)
        );
        if let Some(after) = request.after {
            path.push_str(&format!("&after={after}"));
        }
        if let Some(limit) = request.limit {
            path.push_str(&format!("&limit={limit}"));
        }
        if request.proofs {
            path.push_str("&proofs=true");
        }
        self.get_json(&path).await
    }

    /// `POST /log/entries`: submits a signed in-toto link or DSSE envelope.
    pub async fn attest(&self, document: Vec<u8>) -> Result<AttestationAdded, Error> {
        let url = self.url("/log/entries");
        let request = self
            .http
            .post(&url)
            .bearer_auth(self.token()?)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(document);
        let r = self.send("POST", &url, request).await?;
        decode("POST", &url, r).await
    }

    /// `GET /attestations/{digest}`: the stored document's bytes.
    pub async fn attestation(&self, digest: &str) -> Result<Vec<u8>, Error> {
        check_digest(digest)?;
        let url = self.url(&format!("/attestations/{digest}"));
        let r = self.send("GET", &url, self.http.get(&url)).await?;
        let bytes = r.bytes().await.map_err(|source| Error::Transport {
            method: "GET",
            url: url.clone(),
            source,
        })?;
        if bytes.len() > MAX_ATTESTATION_BYTES {
            return Err(Error::Decode {
                method: "GET",
                url,
                reason: format!("a document over {MAX_ATTESTATION_BYTES} bytes"),
            });
        }
        Ok(bytes.to_vec())
    }

    /// `GET /attestations/{digest}/entry`: the entry that logged the document, with its
    /// inclusion proof.
    pub async fn attestation_entry(&self, digest: &str) -> Result<EntryProof, Error> {
        check_digest(digest)?;
        self.get_json(&format!("/attestations/{digest}/entry"))
            .await
    }

    /// `POST /policies`: publishes a signed trust policy file's text.
    pub async fn publish_policy(&self, text: String) -> Result<PolicyPublished, Error> {
        let url = self.url("/policies");
        let request = self
            .http
            .post(&url)
            .bearer_auth(self.token()?)
            .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(text);
        let r = self.send("POST", &url, request).await?;
        decode("POST", &url, r).await
    }

    /// `GET /policies`: every published policy, newest first.
    pub async fn policies(&self) -> Result<PolicyList, Error> {
        self.get_json("/policies").await
    }
}
