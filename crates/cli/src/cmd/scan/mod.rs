//! `cairn scan`: record a tree, compare records, verify, sign and publish them, and read
//! the registry's reports of them.

mod report;

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_scan::{ChangeKind, Diff, Manifest, Scanner};

/// Arguments of `cairn scan`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    action: Option<Action>,
    /// Roots to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where to write the scan (JSON lines).
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// Skip paths matching this glob (repeatable); a matching directory is not entered.
    #[arg(long)]
    exclude: Vec<String>,
    /// Stay on the filesystem of each root.
    #[arg(long)]
    one_file_system: bool,
    /// Scan a system mounted here (an initramfs's /sysroot) as it sees itself: PATHS and
    /// --exclude are taken below it, and paths are recorded from its `/`, so the scan
    /// compares with one taken on the running system.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Extra content digest besides SHA-256.
    #[arg(long, value_parser = ["blake3"])]
    hash: Option<String>,
    /// Worker threads [default: one per core]; more helps on cold, I/O-bound trees.
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Compare two scans; exit 0 = no change, 1 = changes, 2 = error.
    Diff {
        /// OLD NEW, or only NEW with --baseline.
        #[arg(required = true, num_args = 1..=2, value_names = ["OLD", "NEW"])]
        files: Vec<PathBuf>,
        /// Fetch the earlier scan from a registry: URL/scans/<digest>. It is used only once
        /// its signature (--key or --trust) and its log entry (--log-key, or the policy's
        /// pinned log) are proven.
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        trust: BaselineTrust,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a scan's trailer (and a detached signature, with --signature and --key).
    Verify {
        /// Scan file.
        file: PathBuf,
        /// Detached signature (hex DER, as `cairn scan sign` writes it).
        #[arg(long, requires = "key")]
        signature: Option<PathBuf>,
        /// PEM public key the signature must verify under.
        #[arg(long, requires = "signature")]
        key: Option<PathBuf>,
    },
    /// Sign a scan (ECDSA secp256k1 over SHA-256, hex DER, as openssl dgst writes it).
    Sign {
        /// Scan file.
        file: PathBuf,
        /// PKCS#8 PEM private key.
        #[arg(long)]
        key: PathBuf,
        /// Signature file [default: FILE.sig].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Upload a signed scan to a registry.
    Push {
        /// Scan file.
        file: PathBuf,
        /// Registry URL [env: CAIRN_REGISTRY].
        #[arg(long, env = "CAIRN_REGISTRY")]
        registry: String,
        /// Write token, or the host's own token [env: CAIRN_TOKEN].
        #[arg(long, env = "CAIRN_TOKEN", hide_env_values = true)]
        token: String,
        /// PKCS#8 PEM private key to sign with.
        #[arg(long)]
        key: PathBuf,
    },
    /// The registry's reports of HOST's scans, newest first, with the findings of the
    /// newest (or --scan); exit 1 when it has anomalies against the host's baseline.
    Report(report::ReportArgs),
}

/// Who may have signed a `--baseline`, and the log it must be in.
#[derive(Debug, Clone, clap::Args)]
struct BaselineTrust {
    /// With --baseline: a public key (PEM) the baseline's signature must verify under
    /// (repeatable).
    #[arg(long = "key", requires = "baseline", conflicts_with = "trust")]
    keys: Vec<PathBuf>,
    /// With --baseline and --key: the registry's log verifier key (`cairn log key`).
    #[arg(long, requires = "keys")]
    log_key: Option<String>,
    /// With --baseline: a trust policy whose signers for `scan:<host>` may sign baselines;
    /// its pinned log proves the entry.
    #[arg(long, requires = "baseline")]
    trust: Option<PathBuf>,
}

/// Runs `cairn scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(Action::Diff {
            files,
            baseline,
            trust,
            json,
        }) => diff(files, baseline, &trust, json),
        Some(Action::Verify {
            file,
            signature,
            key,
        }) => verify(&file, signature.as_deref(), key.as_deref()),
        Some(Action::Sign { file, key, out }) => sign(&file, &key, out),
        Some(Action::Push {
            file,
            registry,
            token,
            key,
        }) => push(&file, &registry, &token, &key),
        Some(Action::Report(args)) => report::run(args),
        None => {
            let out = args.out.context("--out is required")?;
            let mut scanner = Scanner::new(args.paths)
                .one_file_system(args.one_file_system)
                .blake3(args.hash.is_some());
            for glob in args.exclude {
                scanner = scanner.exclude(glob);
            }
            if let Some(n) = args.threads {
                scanner = scanner.threads(n);
            }
            if let Some(root) = args.root {
                scanner = scanner.root(root);
            }
            record(scanner, &out)
        }
    }
}

fn record(scanner: Scanner, out: &Path) -> anyhow::Result<ExitCode> {
    let counter = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} entries {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let ticker = {
        let (bar, counter) = (bar.clone(), counter.clone());
        std::thread::spawn(move || {
            while !bar.is_finished() {
                bar.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let scan = scanner.progress(counter).scan();
    bar.finish_and_clear();
    let _ = ticker.join();
    let scan = scan?;
    // Write next to the target and rename, so a crash never leaves a half scan under its name.
    let tmp = out.with_extension("partial");
    let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let trailer = Manifest::write(&scan, &file)?;
    file.sync_all()?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "cairn: {} entries ({} with errors) -> {} (sha256 of content {})",
        trailer.entries,
        trailer.errors,
        out.display(),
        &trailer.sha256[..16]
    );
    Ok(if trailer.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Manifest::read(BufReader::new(file)).with_context(|| format!("reading {}", path.display()))
}

fn diff(
    files: Vec<PathBuf>,
    baseline: Option<String>,
    trust: &BaselineTrust,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (old, new) = match (files.as_slice(), baseline) {
        ([old, new], None) => (read_manifest(old)?, read_manifest(new)?),
        ([new], Some(url)) => (fetch(&url, trust)?, read_manifest(new)?),
        _ => bail!("give OLD and NEW scan files, or NEW with --baseline URL"),
    };
    let report = cairn_scan::diff(&old, &new);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_diff(&mut out, &report)?;
    }
    Ok(if report.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_diff(out: &mut impl Write, report: &Diff) -> anyhow::Result<()> {
    for c in &report.changes {
        let flags: Vec<String> = c
            .flags
            .iter()
            .map(|f| format!("{f:?}").to_uppercase())
            .collect();
        let kinds: Vec<String> = c
            .kinds
            .iter()
            .map(|k| format!("{k:?}").to_lowercase())
            .collect();
        let mark = if flags.is_empty() {
            String::new()
        } else {
            format!("!! {} ", flags.join(","))
        };
        writeln!(
            out,
            "{mark}{:<24} {}  {}",
            kinds.join(","),
            c.path.display(),
            c.details.join("; ")
        )?;
    }
    let count = |k| report.of(k).count();
    writeln!(
        out,
        "{} changed: {} added, {} removed, {} content, {} mode, {} owner, {} flagged",
        report.changes.len(),
        count(ChangeKind::Added),
        count(ChangeKind::Removed),
        count(ChangeKind::Content),
        count(ChangeKind::Mode),
        count(ChangeKind::Owner),
        report
            .changes
            .iter()
            .filter(|c| !c.flags.is_empty())
            .count()
    )?;
    Ok(())
}

fn verify(file: &Path, signature: Option<&Path>, key: Option<&Path>) -> anyhow::Result<ExitCode> {
    let manifest = read_manifest(file)?;
    println!(
        "{}: trailer OK, {} entries, host {}",
        file.display(),
        manifest.trailer.entries,
        manifest.header.host
    );
    if let (Some(sig), Some(key)) = (signature, key) {
        let keys = cairn_sign::TrustedKeys::load(&[key])?;
        let text =
            std::fs::read_to_string(sig).with_context(|| format!("reading {}", sig.display()))?;
        let digest = crate::common::files::sha256_file(file)?;
        let check = keys
            .check(&text, &digest)
            .with_context(|| format!("{} does not verify", sig.display()))?;
        println!(
            "signature OK, key {}",
            &check.key_id.unwrap_or_default()[..16]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs a scan file with an ECDSA key: hex DER over its SHA-256, what the registry takes.
fn sign_file(file: &Path, key: &Path) -> anyhow::Result<String> {
    read_manifest(file)?;
    let key = cairn_sign::PrivateKey::from_pem_file(key, None)?;
    if key.algorithm() == cairn_sign::Algorithm::Ed25519 {
        bail!("scans carry ECDSA signatures (hex DER): sign with a secp256k1 or P-256 key");
    }
    Ok(hex::encode(
        key.sign_digest(&crate::common::files::sha256_file(file)?)?,
    ))
}

fn sign(file: &Path, key: &Path, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let signature = sign_file(file, key)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.sig", file.display())));
    std::fs::write(&out, format!("{signature}\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!("cairn: signed {} -> {}", file.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn push(file: &Path, registry: &str, token: &str, key: &Path) -> anyhow::Result<ExitCode> {
    let signature = sign_file(file, key)?;
    let client = cairn_client::Client::new(registry)?.with_token(Some(token.to_owned()));
    let runtime = tokio::runtime::Runtime::new()?;
    let added = runtime.block_on(client.push_scan(file, &signature))?;
    println!("{}", serde_json::to_string(&added)?);
    Ok(ExitCode::SUCCESS)
}

/// Fetches a baseline and proves it: its signature by --key or --trust, its `scan` entry in
/// the log, consistent with the checkpoints this client saw.
fn fetch(url: &str, trust: &BaselineTrust) -> anyhow::Result<Manifest> {
    let (base, digest) = url
        .trim_end_matches('/')
        .rsplit_once("/scans/")
        .with_context(|| format!("--baseline {url:?}: expected REGISTRY/scans/<digest>"))?;
    let client = cairn_client::Client::new(base)?;
    let keys;
    let policy;
    let (signers, vkey) = if let Some(path) = &trust.trust {
        policy = crate::common::trust::policy(Some(path.clone()))?;
        let vkey = policy
            .log_key()
            .context("the trust policy pins no log ([log] key): a baseline must be proven in one")?
            .to_owned();
        (cairn_client::baseline::Signers::Policy(&policy), vkey)
    } else if !trust.keys.is_empty() {
        keys = cairn_sign::TrustedKeys::load(&trust.keys)?;
        let vkey = trust.log_key.clone().context(
            "--baseline with --key needs --log-key VKEY (the key `cairn log key` prints)",
        )?;
        (cairn_client::baseline::Signers::Keys(&keys), vkey)
    } else {
        bail!(
            "--baseline is used only once proven: give --key PUB and --log-key VKEY, or --trust POLICY"
        );
    };
    let log = cairn_tlog::NoteVerifier::parse(&vkey).context("the log key")?;
    let state = crate::common::trust::log_state()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let baseline = runtime.block_on(cairn_client::baseline::fetch(
        &client,
        digest,
        signers,
        &log,
        &state,
        &(),
    ))?;
    eprintln!(
        "cairn: baseline {} of {} (log entry {}) verified",
        &baseline.scan.digest[..16],
        baseline.scan.host,
        baseline.log_index
    );
    let file = File::open(baseline.file.path())?;
    Manifest::read(BufReader::new(file)).with_context(|| format!("reading the baseline from {url}"))
}
