//! A scan baseline fetched from a registry, used only once its signature and its `scan` log
//! entry are proven.

use cairn_api::{LogEntry, ScanSummary};
use cairn_sign::policy::{Artifact, Decision, Policy};
use cairn_sign::{Signed, TrustedKeys};
use cairn_tlog::NoteVerifier;

use crate::client::{Client, Progress};
use crate::error::{Error, Refusal};
use crate::proof::prove;
use crate::state::LogState;

/// Whom a baseline's signature must come from.
#[derive(Clone, Copy, Debug)]
pub enum Signers<'a> {
    /// Any of these keys (ECDSA: scans carry hex DER signatures over their SHA-256).
    Keys(&'a TrustedKeys),
    /// A signer entry of this policy whose package globs match `scan:<host>`; the deny list
    /// first, as for plugins.
    Policy(&'a Policy),
}

/// A verified baseline: the scan file in a temporary file, and its proven summary.
#[derive(Debug)]
pub struct Baseline {
    /// The scan file (JSON lines), exactly the bytes that were signed and logged.
    pub file: tempfile::NamedTempFile,
    /// What its log entry records.
    pub scan: ScanSummary,
    /// The entry's index in the log.
    pub log_index: u64,
}

/// The name a policy sees for a scan of `host`.
pub fn policy_name(host: &str) -> String {
    format!("scan:{host}")
}

/// Downloads scan `digest`, proves its `scan` log entry against `log` (consistent with what
/// `state` saw) and checks the logged signature over the bytes against `signers`.
pub async fn fetch(
    client: &Client,
    digest: &str,
    signers: Signers<'_>,
    log: &NoteVerifier,
    state: &LogState,
    progress: &dyn Progress,
) -> Result<Baseline, Error> {
    let file = tempfile::NamedTempFile::new().map_err(Error::io("creating a temporary file"))?;
    let mut out = tokio::fs::File::from_std(
        file.reopen()
            .map_err(Error::io("opening the temporary file"))?,
    );
    let got = client.scan(digest, &mut out, progress).await?;
    out.sync_all()
        .await
        .map_err(Error::io("writing the download"))?;
    if hex::encode(got.sha256) != digest {
        return Err(Refusal::Digest {
            expected: digest.to_owned(),
            got: hex::encode(got.sha256),
        }
        .into());
    }
    let answer = client.scan_proof(digest).await?;
    let proven = prove(client, &answer, log, state).await?;
    let index = proven.index;
    let LogEntry::Scan { scan, .. } = proven.entry else {
        return Err(Refusal::Entry {
            index,
            what: format!("is no scan, yet the registry gives it as the proof of scan {digest}"),
        }
        .into());
    };
    if scan.digest != digest || scan.size != got.size {
        return Err(Refusal::Entry {
            index,
            what: format!(
                "records scan {} of {} bytes, not the one served ({digest}, {} bytes)",
                scan.digest, scan.size, got.size
            ),
        }
        .into());
    }
    let signature = hex::decode(&scan.signature)
        .map_err(|_| Refusal::Signature("the logged signature is not hex".into()))?;
    crate::bytes::with_map(file.path(), |bytes| {
        check_signature(signers, &scan, &got.sha256, bytes, &signature)
    })??;
    Ok(Baseline {
        file,
        scan,
        log_index: index,
    })
}

fn check_signature(
    signers: Signers<'_>,
    scan: &ScanSummary,
    digest: &[u8; 32],
    bytes: &[u8],
    signature: &[u8],
) -> Result<(), Refusal> {
    match signers {
        Signers::Keys(keys) => {
            let signed = Signed::hashed(*digest, bytes);
            if keys.keys().iter().any(|k| k.verify(&signed, signature)) {
                Ok(())
            } else {
                Err(Refusal::Signature(format!(
                    "no given key made the signature of scan {} (host {})",
                    scan.digest, scan.host
                )))
            }
        }
        Signers::Policy(policy) => {
            let name = policy_name(&scan.host);
            let artifact = Artifact {
                name: &name,
                version: None,
                digest,
                bytes: Some(bytes),
            };
            match policy.evaluate(&artifact, &[signature.to_vec()], chrono::Utc::now()) {
                Decision::Allowed { .. } => Ok(()),
                Decision::Denied(denial) => Err(Refusal::Policy {
                    plugin: name,
                    denial,
                }),
            }
        }
    }
}
