//! Publishing trust policies: checked like a client checks an update, then logged, so
//! every rotation and revocation is an entry everyone can see.

use cairn_api::{MAX_POLICY_BYTES, PolicySummary};
use cairn_sign::policy::Policy;
use sha2::{Digest as _, Sha256};

use super::Registry;
use super::journal::Logged;
use crate::digest::Digest;
use crate::error::Error;
use crate::log_entry::LogEntry;

/// The lock every publication takes: versions are published one at a time.
const POLICY_LOCK: [u8; 32] = [0x70; 32];

fn bad(e: impl std::fmt::Display) -> Error {
    Error::BadPolicy(e.to_string())
}

impl Registry {
    /// Publishes a signed trust policy (its file text): valid now and signed by its roots'
    /// threshold, and, when one was published before, a valid update of it (a higher
    /// version, signed by the threshold of the earlier roots too). The same text published
    /// again answers the earlier entry (`false`).
    pub async fn publish_policy(&self, text: String) -> Result<(PolicySummary, bool), Error> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(bad(format!("the policy exceeds {MAX_POLICY_BYTES} bytes")));
        }
        let now = chrono::Utc::now();
        let policy = Policy::parse(&text).map_err(bad)?;
        policy.verify(now).map_err(bad)?;
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        self.writable().await?;
        let _guard = self.lock_name(&Digest::from_bytes(POLICY_LOCK)).await?;
        if let Some((latest, latest_text)) = self.index.policy(None).await? {
            if latest.digest == digest {
                return Ok((latest, false));
            }
            let previous = Policy::parse(&latest_text)
                .map_err(|e| Error::Corrupt(format!("published policy {}: {e}", latest.version)))?;
            previous.check_update(&policy, now).map_err(bad)?;
        }
        let version = policy.doc().version;
        if i64::try_from(version).is_err() {
            return Err(bad(format!(
                "version {version} is beyond what the index stores"
            )));
        }
        let logged = Logged::new(
            LogEntry::Policy {
                version,
                digest: digest.clone(),
                text,
                roots: policy.root_signers(),
                created_ns: now.timestamp_nanos_opt().unwrap_or(i64::MAX),
            },
            "the policy",
        )?;
        let recorded = self
            .record(logged)
            .await?
            .ok_or_else(|| bad(format!("version {version} is published already")))?;
        let appended = self.published(recorded).await?;
        tracing::info!(version, index = appended.index, "trust policy published");
        let (summary, _) = self
            .index
            .policy(Some(version))
            .await?
            .ok_or_else(|| Error::Internal("a published policy is not indexed".into()))?;
        Ok((summary, true))
    }

    /// Every published policy, newest first.
    pub async fn policies(&self) -> Result<Vec<PolicySummary>, Error> {
        self.index.policies().await
    }

    /// A published policy and its text: `version`, or the newest.
    pub async fn published_policy(
        &self,
        version: Option<u64>,
    ) -> Result<Option<(PolicySummary, String)>, Error> {
        self.index.policy(version).await
    }
}
