//! `cairn trust …`: write, sign and inspect a trust policy (`cairn-sign::policy`), and
//! publish it to a registry's log.

mod publish;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_sign::PublicKey;
use cairn_sign::openpgp::OpenPgpKey;
use cairn_sign::policy::{DeniedPackage, LogPin, Policy, PolicyDoc, Root, SignerEntry};
use chrono::{DateTime, Duration, Utc};

use crate::common::key_ids::{key_ids, openpgp_keys_of};
use crate::common::passphrase::PassphraseArgs;

/// `cairn trust …`
#[derive(Debug, clap::Subcommand)]
pub enum TrustCommand {
    /// Start a policy (version 1, unsigned) with its root keys.
    Init {
        /// Policy file to write.
        #[arg(long)]
        out: PathBuf,
        /// Root public keys (SPKI PEM), repeatable.
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        /// Distinct root signatures the policy and its updates need.
        #[arg(long, default_value_t = 1)]
        threshold: usize,
        /// Days until the policy expires.
        #[arg(long, default_value_t = 365)]
        expires_days: i64,
        /// Pin a transparency log by its verifier key (`cairn log key`).
        #[arg(long)]
        log_key: Option<String>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Allow keys to sign packages whose names match globs.
    AddSigner {
        /// Policy file.
        policy: PathBuf,
        /// A name for the entry.
        #[arg(long)]
        name: String,
        /// Public keys (SPKI PEM), repeatable; required unless --openpgp-key is given.
        #[arg(long = "key", required_unless_present = "openpgp_keys")]
        keys: Vec<PathBuf>,
        /// OpenPGP public keys (`gpg --export`, binary or armored), repeatable: stored
        /// armored, counted by primary-key fingerprint.
        #[arg(long = "openpgp-key")]
        openpgp_keys: Vec<PathBuf>,
        /// Package-name globs, repeatable (`memflow-*`).
        #[arg(long = "package", required = true)]
        packages: Vec<String>,
        /// Distinct signatures of this entry's keys required.
        #[arg(long, default_value_t = 1)]
        threshold: usize,
        /// Valid from (RFC 3339).
        #[arg(long)]
        not_before: Option<DateTime<Utc>>,
        /// Valid until (RFC 3339).
        #[arg(long)]
        not_after: Option<DateTime<Utc>>,
    },
    /// Deny keys, digests or package versions (the deny list always wins).
    Deny {
        /// Policy file.
        policy: PathBuf,
        /// A key id or OpenPGP fingerprint, or a public key file (SPKI PEM, or an OpenPGP
        /// key: its fingerprint).
        #[arg(long)]
        key: Vec<String>,
        /// An artifact SHA-256 digest.
        #[arg(long)]
        digest: Vec<String>,
        /// A package-name glob (with --versions).
        #[arg(long, requires = "versions")]
        package: Option<String>,
        /// A semver range of the package (`<0.2.3`, `*`).
        #[arg(long, requires = "package")]
        versions: Option<String>,
    },
    /// Pin the transparency log artifacts must be in.
    Log {
        /// Policy file.
        policy: PathBuf,
        /// Verifier key (`<name>+<id>+<base64>`).
        #[arg(long)]
        key: String,
    },
    /// Add a root key's signature.
    Sign {
        /// Policy file.
        policy: PathBuf,
        /// Root private key.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Print the policy, and the OpenPGP fingerprints of each signer entry holding some.
    Show {
        /// Policy file.
        policy: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check signatures and expiry, and (with --previous) that it may replace the previous
    /// policy: higher version, signed by the threshold of the old roots as well.
    Check {
        /// Policy file.
        policy: PathBuf,
        /// The policy it replaces.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Publish a signed policy to a registry (takes the write token): the registry checks
    /// it updates the last one it published and logs it; its entry is then proven.
    Publish(publish::PublishArgs),
}

/// Reads and parses a policy file (signatures unchecked: for editing and inspecting it).
fn load(path: &Path) -> anyhow::Result<Policy> {
    Ok(Policy::read(path)?)
}

fn pem_of(path: &Path) -> anyhow::Result<String> {
    Ok(PublicKey::from_file(path)?.to_pem())
}

/// Writes an edited document back: unsigned, one version up if it had been signed.
fn save_edit(path: &Path, old: &Policy, mut doc: PolicyDoc) -> anyhow::Result<ExitCode> {
    if old.signature_count() > 0 {
        doc.version = old.doc().version + 1;
    }
    let policy = Policy::from_doc(doc)?;
    std::fs::write(path, policy.to_text())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "cairn: policy version {} written, unsigned: sign it with `cairn trust sign`",
        policy.doc().version
    );
    Ok(ExitCode::SUCCESS)
}

/// Each signer entry's OpenPGP fingerprints, in the entries' order (none for an entry of
/// Cairn keys only).
fn openpgp_fingerprints(doc: &PolicyDoc) -> anyhow::Result<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for entry in &doc.signers {
        let mut fingerprints = Vec::new();
        for block in &entry.openpgp {
            let keys = OpenPgpKey::parse_all(block.as_bytes())
                .with_context(|| format!("signer {:?}: OpenPGP key", entry.name))?;
            fingerprints.extend(keys.iter().map(OpenPgpKey::fingerprint));
        }
        out.push(fingerprints);
    }
    Ok(out)
}

/// `cairn trust show`: the file as it is, then a line for each OpenPGP key of each signer
/// entry, since armored keys do not show whose they are; in JSON, each entry holding
/// OpenPGP keys gains `openpgp_fingerprints`.
fn show(p: &Policy, json: bool) -> anyhow::Result<()> {
    let fingerprints = openpgp_fingerprints(p.doc())?;
    if !json {
        print!("{}", p.to_text());
        for (entry, fprs) in p.doc().signers.iter().zip(&fingerprints) {
            for fpr in fprs {
                println!("# signer {:?}: OpenPGP key {fpr}", entry.name);
            }
        }
        return Ok(());
    }
    let mut value = serde_json::to_value(p.doc())?;
    if let Some(entries) = value.get_mut("signers").and_then(|s| s.as_array_mut()) {
        for (entry, fprs) in entries.iter_mut().zip(&fingerprints) {
            if let (Some(obj), false) = (entry.as_object_mut(), fprs.is_empty()) {
                obj.insert("openpgp_fingerprints".into(), serde_json::json!(fprs));
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

/// Runs `cairn trust …`.
pub fn run(cmd: TrustCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TrustCommand::Init {
            out,
            root_keys,
            threshold,
            expires_days,
            log_key,
            force,
        } => {
            if out.exists() && !force {
                bail!("{} exists (use --force to replace it)", out.display());
            }
            let doc = PolicyDoc {
                version: 1,
                expires: Utc::now() + Duration::days(expires_days),
                root: Root {
                    threshold,
                    keys: root_keys
                        .iter()
                        .map(|p| pem_of(p))
                        .collect::<Result<_, _>>()?,
                },
                log: log_key.map(|key| LogPin { key }),
                ..Default::default()
            };
            let policy = Policy::from_doc(doc)?;
            std::fs::write(&out, policy.to_text())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("cairn: policy written to {} (unsigned)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::AddSigner {
            policy,
            name,
            keys,
            openpgp_keys,
            packages,
            threshold,
            not_before,
            not_after,
        } => {
            let old = load(&policy)?;
            let mut doc = old.doc().clone();
            let mut openpgp = Vec::new();
            for path in &openpgp_keys {
                for key in openpgp_keys_of(path)? {
                    openpgp.push(key.to_armored()?);
                }
            }
            doc.signers.push(SignerEntry {
                name,
                threshold,
                packages,
                keys: keys.iter().map(|p| pem_of(p)).collect::<Result<_, _>>()?,
                openpgp,
                not_before,
                not_after,
            });
            save_edit(&policy, &old, doc)
        }
        TrustCommand::Deny {
            policy,
            key,
            digest,
            package,
            versions,
        } => {
            let old = load(&policy)?;
            let mut doc = old.doc().clone();
            for k in key {
                doc.deny.keys.extend(key_ids(&k)?);
            }
            for d in digest {
                if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                    bail!("--digest {d:?} is not a SHA-256 hex digest");
                }
                doc.deny.digests.push(d.to_ascii_lowercase());
            }
            if let (Some(name), Some(versions)) = (package, versions) {
                doc.deny.packages.push(DeniedPackage { name, versions });
            }
            save_edit(&policy, &old, doc)
        }
        TrustCommand::Log { policy, key } => {
            cairn_tlog::NoteVerifier::parse(&key).context("--key is not a log verifier key")?;
            let old = load(&policy)?;
            let mut doc = old.doc().clone();
            doc.log = Some(LogPin { key });
            save_edit(&policy, &old, doc)
        }
        TrustCommand::Sign {
            policy,
            key,
            passphrase,
        } => {
            let mut p = load(&policy)?;
            let pass = passphrase.read()?;
            let key = cairn_sign::PrivateKey::from_pem_file(
                &key,
                pass.as_ref().map(|p| p.bytes()).as_deref(),
            )?;
            p.sign(&key)?;
            std::fs::write(&policy, p.to_text())
                .with_context(|| format!("writing {}", policy.display()))?;
            eprintln!(
                "cairn: signed policy version {} with key {}",
                p.doc().version,
                &key.public().id()[..16]
            );
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Publish(args) => publish::run(args),
        TrustCommand::Show { policy, json } => {
            show(&load(&policy)?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        TrustCommand::Check { policy, previous } => {
            let p = load(&policy)?;
            let now = Utc::now();
            let verdict = match &previous {
                Some(old) => load(old)?.check_update(&p, now),
                None => p.verify(now),
            };
            match verdict {
                Ok(()) => {
                    println!(
                        "policy OK: version {}, expires {}",
                        p.doc().version,
                        p.doc().expires
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("cairn: policy REFUSED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
