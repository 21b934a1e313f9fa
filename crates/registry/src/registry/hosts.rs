//! Hosts that submit scans: enrolled with the key their scans must verify under and a
//! token of their own, and the baseline their arriving scans are compared with. Both are
//! log entries, so the log says which key spoke for a host and what it was compared with.

use cairn_api::{BaselineSet, HostSummary, is_valid_host_name};
use sha2::{Digest as _, Sha256};

use super::Registry;
use super::journal::Logged;
use super::publish::now_ns;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;
use crate::model::time_of;

/// What a host token starts with, so secret scanners and people can tell one apart.
const TOKEN_PREFIX: &str = "cairn_host_";

/// The lock that serialises changes to one host (a digest of its name, in its own domain).
fn host_lock_key(name: &str) -> Digest {
    Digest::from_bytes(Sha256::digest(format!("cairn host\0{name}")).into())
}

/// SHA-256 of a presented token, hex: what the `hosts` table is looked up by.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl Registry {
    /// Enrols a host with its public key (secp256k1 or P-256) and returns it with its new
    /// token, which exists only in this answer.
    pub async fn add_host(
        &self,
        name: &str,
        key_pem: &str,
    ) -> Result<(HostSummary, String), Error> {
        if !is_valid_host_name(name) {
            return Err(Error::BadHost(format!(
                "{name:?} is no host name (1 to 253 of A-Z a-z 0-9 . - _, not starting with . or -)"
            )));
        }
        let key = cairn_sign::PublicKey::from_pem(key_pem, "the host key")
            .map_err(|e| Error::BadHost(e.to_string()))?;
        if key.algorithm() == cairn_sign::Algorithm::Ed25519 {
            return Err(Error::BadHost(
                "scans carry ECDSA signatures: give a secp256k1 or P-256 key".into(),
            ));
        }
        self.writable().await?;
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
        let created_ns = now_ns();
        let entry = LogEntry::Host {
            name: name.to_owned(),
            key: key.to_pem(),
            key_id: key.id(),
            token_sha256: token_hash(&token),
            created_ns,
        };
        let logged = Logged::new(entry, "the host key is too large")?;
        let recorded = {
            let _guard = self.lock(&host_lock_key(name)).await?;
            if self.index.host(name).await?.is_some() {
                return Err(Error::HostExists(name.to_owned()));
            }
            self.record(logged).await?
        };
        let recorded = recorded.ok_or_else(|| Error::HostExists(name.to_owned()))?;
        let appended = self.published(recorded).await?;
        tracing::info!(host = %name, key = %key.id(), "host enrolled");
        let host = HostSummary {
            name: name.to_owned(),
            key: key.to_pem(),
            key_id: key.id(),
            created_at: time_of(created_ns),
            log_index: Some(appended.index),
            baseline: None,
        };
        Ok((host, token))
    }

    /// Every enrolled host, by name.
    pub async fn hosts(&self) -> Result<Vec<HostSummary>, Error> {
        self.index.hosts().await
    }

    /// The enrolled host `name`.
    pub async fn host(&self, name: &str) -> Result<Option<HostSummary>, Error> {
        self.index.host(name).await
    }

    /// The host a presented bearer token belongs to, if any.
    pub async fn host_for_token(&self, token: &str) -> Result<Option<HostSummary>, Error> {
        if !token.trim().starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.index.host_by_token(&token_hash(token)).await
    }

    /// Makes stored scan `scan`, of host `host`, the one its arriving scans are compared with.
    pub async fn set_baseline(&self, host: &str, scan: &Digest) -> Result<BaselineSet, Error> {
        self.writable().await?;
        let entry = LogEntry::Baseline {
            host: host.to_owned(),
            scan: scan.to_hex(),
            created_ns: now_ns(),
        };
        let logged = Logged::new(entry, "the host name is too long")?;
        let recorded = {
            let _guard = self.lock(&host_lock_key(host)).await?;
            if self.index.host(host).await?.is_none() {
                return Err(Error::UnknownHost(host.to_owned()));
            }
            let stored = self
                .index
                .scan(scan)
                .await?
                .ok_or_else(|| Error::Baseline(format!("no scan {scan} is stored")))?;
            if stored.host != host {
                return Err(Error::Baseline(format!(
                    "scan {scan} is of host {:?}, not of {host}",
                    stored.host
                )));
            }
            self.record(logged).await?
        };
        let recorded = recorded.ok_or_else(|| Error::UnknownHost(host.to_owned()))?;
        let appended = self.published(recorded).await?;
        tracing::info!(host = %host, scan = %scan, "baseline set");
        Ok(BaselineSet {
            host: host.to_owned(),
            scan: scan.to_hex(),
            log_index: appended.index,
        })
    }
}
