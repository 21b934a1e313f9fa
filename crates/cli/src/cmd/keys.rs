//! `cairn keygen`, `cairn key`, `cairn sign`, `cairn verify`: keys and detached signatures
//! in the formats openssl and memflow-registry use.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use cairn_sign::{Algorithm, PrivateKey, PublicKey};

use crate::common::files::{map_file, sha256_file};
use crate::common::passphrase::PassphraseArgs;
use crate::common::signature::{SignatureFormat, sign_file};

/// Largest signature file read.
const MAX_SIGNATURE_FILE: u64 = 64 * 1024;

/// Arguments of `cairn keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Key algorithm.
    #[arg(long, default_value = "secp256k1", value_parser = parse_algorithm)]
    algo: Algorithm,
    /// Private key file to write (PKCS#8 PEM, mode 0600); the public key goes to
    /// `<OUT>.pub` unless --pub-out says otherwise.
    #[arg(long)]
    out: PathBuf,
    /// Public key file to write (SPKI PEM).
    #[arg(long)]
    pub_out: Option<PathBuf>,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
    /// Also write the key as an OpenPGP public key (`<OUT>.asc`).
    #[command(flatten)]
    pgp: OpenPgpArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// `--openpgp [--user-id]`: the key as an OpenPGP public key too, for `gpg --import`.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenPgpArgs {
    /// As an OpenPGP public key for `gpg --import` (the user id is self-certified, so this
    /// needs the private key).
    #[arg(long)]
    openpgp: bool,
    /// The OpenPGP user id ("Name <mail>").
    #[arg(long, requires = "openpgp")]
    user_id: Option<String>,
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse().map_err(|e: cairn_sign::Error| e.to_string())
}

/// `cairn key …`
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Print the public key (SPKI PEM) of a private or public key file.
    Pub {
        /// Key file.
        key: PathBuf,
        /// Print it armored.
        #[command(flatten)]
        pgp: OpenPgpArgs,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Print the key id (hex SHA-256 of the SPKI DER) of a private or public key file.
    Id {
        /// Key file.
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `cairn sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Private key (PKCS#8 or SEC1 PEM).
    #[arg(long)]
    key: PathBuf,
    /// File to sign.
    file: PathBuf,
    /// Signature encoding.
    #[arg(long, value_enum, default_value = "hex")]
    format: SignatureFormat,
    /// Where to write the signature [default: standard output].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// Arguments of `cairn verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Public key(s) the signature may come from (SPKI PEM, several per file allowed, or an
    /// OpenPGP public key).
    #[arg(long, required_unless_present = "trust")]
    key: Vec<PathBuf>,
    /// Decide by a trust policy instead (its signer keys, globs, windows and deny list).
    #[arg(long, conflicts_with = "key")]
    trust: Option<PathBuf>,
    /// A pulled package's C2SP tlog-proof (`FILE.tlog-proof`): check FILE, its signature
    /// files and its log entry offline (with --trust; name and version come from the entry).
    #[arg(long, requires = "trust")]
    proof: Option<PathBuf>,
    /// The package name the policy judges (with --trust).
    #[arg(long)]
    name: Option<String>,
    /// The package version the policy judges (with --trust).
    #[arg(long = "plugin-version", id = "verify_version")]
    version: Option<String>,
    /// The signature as text (hex).
    #[arg(long, conflicts_with = "signature_file")]
    signature: Option<String>,
    /// The signature file (hex text or raw bytes). Without a signature, FILE itself must be
    /// a signed in-toto link or DSSE envelope.
    #[arg(long)]
    signature_file: Option<PathBuf>,
    /// The signed file.
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `cairn keygen`.
pub fn keygen(args: KeygenArgs) -> anyhow::Result<ExitCode> {
    let pub_out = args
        .pub_out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.pub", args.out.display())));
    for path in [&args.out, &pub_out] {
        if path.exists() && !args.force {
            bail!("{} exists (use --force to replace it)", path.display());
        }
    }
    let passphrase = args.passphrase.read()?;
    let key = PrivateKey::generate(args.algo)?;
    let pem = key.to_pem(passphrase.as_ref().map(|p| p.bytes()).as_deref())?;
    cairn_secmem::write_secret_file(&args.out, &pem.bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    std::fs::write(&pub_out, key.public().to_pem())
        .with_context(|| format!("writing {}", pub_out.display()))?;
    if args.pgp.openpgp {
        let asc = PathBuf::from(format!("{}.asc", args.out.display()));
        let armored = cairn_sign::openpgp::export_public_key(
            &key,
            &user_id_or_default(args.pgp.user_id.as_deref(), &key),
        )?;
        std::fs::write(&asc, armored).with_context(|| format!("writing {}", asc.display()))?;
    }
    println!("{}", key.public().id());
    eprintln!(
        "cairn: {} key written to {} (public key: {})",
        args.algo,
        args.out.display(),
        pub_out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn user_id_or_default(user_id: Option<&str>, key: &PrivateKey) -> String {
    user_id.map_or_else(
        || format!("cairn key {}", &key.public().id()[..16]),
        str::to_owned,
    )
}

/// Reads the public key of a public or private key file.
fn public_of(path: &Path, passphrase: &PassphraseArgs) -> anyhow::Result<PublicKey> {
    let pass = passphrase.read()?;
    Ok(PublicKey::from_file_with(
        path,
        pass.as_ref().map(|p| p.bytes()).as_deref(),
    )?)
}

/// Runs `cairn key …`.
pub fn key(cmd: KeyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeyCommand::Pub {
            key,
            pgp: OpenPgpArgs {
                openpgp: true,
                user_id,
            },
            passphrase,
        } => {
            let pass = passphrase.read()?;
            let key = PrivateKey::from_pem_file(&key, pass.as_ref().map(|p| p.bytes()).as_deref())
                .context("--openpgp needs the private key, to certify the user id")?;
            let uid = user_id_or_default(user_id.as_deref(), &key);
            print!("{}", cairn_sign::openpgp::export_public_key(&key, &uid)?);
        }
        KeyCommand::Pub {
            key, passphrase, ..
        } => print!("{}", public_of(&key, &passphrase)?.to_pem()),
        KeyCommand::Id {
            key,
            passphrase,
            json,
        } => {
            let public = public_of(&key, &passphrase)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": public.id(), "algorithm": public.algorithm().to_string()})
                );
            } else {
                println!("{}", public.id());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cairn sign`.
pub fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let pass = args.passphrase.read()?;
    let key = PrivateKey::from_pem_file(&args.key, pass.as_ref().map(|p| p.bytes()).as_deref())?;
    drop(pass);
    let bytes = sign_file(&key, &args.file, args.format)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The signature bytes of `--signature` / `--signature-file`: hex text or raw bytes.
fn signature_bytes(args: &VerifyArgs) -> anyhow::Result<Option<Vec<u8>>> {
    let raw = match (&args.signature, &args.signature_file) {
        (Some(text), _) => text.clone().into_bytes(),
        (None, Some(path)) => {
            let len = std::fs::metadata(path)
                .with_context(|| format!("reading {}", path.display()))?
                .len();
            if len > MAX_SIGNATURE_FILE {
                bail!("{} is too large to be a signature", path.display());
            }
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        (None, None) => return Ok(None),
    };
    let text = String::from_utf8_lossy(&raw);
    let trimmed = text.trim();
    if !trimmed.is_empty()
        && trimmed.len() % 2 == 0
        && trimmed.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(Some(hex::decode(trimmed)?));
    }
    Ok(Some(raw))
}

/// Runs `cairn verify`: exit 0 when a given key verifies the signature, 1 when none does.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    match (&args.trust, &args.proof) {
        (Some(trust), Some(proof)) => return verify_proof(&args, trust, proof),
        (Some(trust), None) => return verify_by_policy(&args, trust),
        _ => {}
    }
    let mut keys = Vec::new();
    let mut pgp_keys = Vec::new();
    for path in &args.key {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            || bytes.first().is_some_and(|b| b & 0x80 != 0)
        {
            pgp_keys.push(cairn_sign::openpgp::OpenPgpKey::parse(&bytes)?);
            continue;
        }
        for key in PublicKey::all_from_pem(&text, &format!("key {}", path.display()))? {
            pgp_keys.push(cairn_sign::openpgp::OpenPgpKey::from_cairn(&key)?);
            keys.push(key);
        }
    }
    let Some(signature) = signature_bytes(&args)? else {
        return verify_attestation(&args);
    };
    if cairn_sign::openpgp::looks_like_openpgp(&signature) {
        let data = map_file(&args.file)?;
        match cairn_sign::openpgp::verify_detached(&pgp_keys, &signature, &data) {
            Ok(found) => {
                return report(
                    args.json,
                    found.map(|fp| (fp, "OpenPGP".to_owned())),
                    &args.file,
                );
            }
            // Binary raw Ed25519 signatures can look like a packet header: fall through.
            Err(e) if signature.starts_with(b"-----BEGIN") => return Err(e.into()),
            Err(_) => {}
        }
    }
    let digest = sha256_file(&args.file)?;
    let bytes = map_file(&args.file)?;
    let signed = cairn_sign::Signed::hashed(digest, &bytes);
    let good = keys.iter().find(|key| key.verify(&signed, &signature));
    report(
        args.json,
        good.map(|k| (k.id(), k.algorithm().to_string())),
        &args.file,
    )
}

/// `cairn verify --trust POLICY --name N`: the policy's decision on a file and signature.
fn verify_by_policy(args: &VerifyArgs, trust: &Path) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    let policy = cairn_sign::policy::Policy::load(trust, now)?;
    if args.name.is_none() {
        bail!("--trust needs --name (or --proof, whose log entry names the package)");
    }
    let signature =
        signature_bytes(args)?.context("--trust needs --signature or --signature-file")?;
    let digest = sha256_file(&args.file)?;
    let bytes = map_file(&args.file)?;
    let decision = policy.evaluate(
        &cairn_sign::policy::Artifact {
            name: args.name.as_deref().unwrap_or_default(),
            version: args.version.as_deref(),
            digest: &digest,
            bytes: Some(&bytes),
        },
        &[signature],
        now,
    );
    match decision {
        cairn_sign::policy::Decision::Allowed { signer, keys } => {
            let id = keys.first().cloned().unwrap_or_default();
            report(
                args.json,
                Some((id, format!("policy signer {signer:?}"))),
                &args.file,
            )
        }
        cairn_sign::policy::Decision::Denied(why) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "error": why.to_string()})
                );
            } else {
                eprintln!("cairn: refused by the trust policy: {why}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// `cairn verify --trust POLICY --proof F.tlog-proof FILE`: a pulled package, offline.
fn verify_proof(args: &VerifyArgs, trust: &Path, proof: &Path) -> anyhow::Result<ExitCode> {
    let policy = cairn_sign::policy::Policy::load(trust, chrono::Utc::now())?;
    let len = std::fs::metadata(proof)
        .with_context(|| format!("reading {}", proof.display()))?
        .len();
    if len > cairn_tlog::proof::MAX_PROOF_BYTES as u64 {
        bail!("{} is too large to be a tlog-proof", proof.display());
    }
    let text =
        std::fs::read_to_string(proof).with_context(|| format!("reading {}", proof.display()))?;
    let signatures = match &args.signature_file {
        Some(path) => vec![path.clone()],
        None => cairn_client::package::signature_files_beside(&args.file),
    };
    match cairn_client::verify_offline(&policy, &text, &args.file, &signatures) {
        Ok(v) => {
            let f = &v.facts;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "name": f.name, "version": f.version,
                        "digest": f.digest, "log_index": f.log_index, "signer": v.signer,
                        "signature_files": signatures})
                );
            } else {
                println!(
                    "{} {} verified offline: {} is log entry {}'s package, allowed by policy signer {:?}",
                    f.name,
                    f.version,
                    args.file.display(),
                    f.log_index,
                    v.signer
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(refused(
            args.json,
            format!("{}: {e}", args.file.display()),
            &e,
        )),
    }
}

/// Prints why a check failed (`said` for people, the error in JSON); exit code 1.
fn refused(json: bool, said: String, e: &dyn std::fmt::Display) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"valid": false, "error": e.to_string()})
        );
    } else {
        eprintln!("cairn: {said}");
    }
    ExitCode::from(1)
}

fn report(json: bool, good: Option<(String, String)>, file: &Path) -> anyhow::Result<ExitCode> {
    match (&good, json) {
        (Some((id, algo)), true) => {
            println!(
                "{}",
                serde_json::json!({"valid": true, "key_id": id, "algorithm": algo})
            )
        }
        (None, true) => println!("{}", serde_json::json!({"valid": false})),
        (Some((id, algo)), false) => {
            println!(
                "signature OK: {} signed by {algo} key {}",
                file.display(),
                &id[..16]
            )
        }
        (None, false) => eprintln!(
            "cairn: signature INVALID: no given key verifies {}",
            file.display()
        ),
    }
    Ok(if good.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `cairn verify --key K LINK`: a signed in-toto link or DSSE envelope.
fn verify_attestation(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let doc =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    // Every key type in-toto signs with (RSA-PSS and P-384 too), not only Cairn's.
    let mut trusted = cairn_sign::attestation::AttestationKeys::new();
    for path in &args.key {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        trusted.add_pem(&text, &format!("key {}", path.display()))?;
    }
    match cairn_sign::attestation::check_with(&doc, &trusted) {
        Ok(att) => {
            let id = att.signers.first().cloned().unwrap_or_default();
            if args.json {
                println!("{}", serde_json::to_string(&att)?);
                return Ok(ExitCode::SUCCESS);
            }
            report(false, Some((id, att.format.to_owned())), &args.file)
        }
        Err(e) => Ok(refused(
            args.json,
            format!("{} does not verify: {e}", args.file.display()),
            &e,
        )),
    }
}
