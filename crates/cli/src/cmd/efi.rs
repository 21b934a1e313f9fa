//! `cairn efi …`: UEFI Secure Boot files. `hash` prints an image's Authenticode digest (what
//! db and dbx list), `sign` signs an image with a db key, `esl` builds an EFI signature
//! list, `show` prints one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cairn_efi::siglist::{self, SignatureList};
use cairn_efi::{Guid, authenticode, cert};

use crate::common::files::map_file;

/// `cairn efi …`
#[derive(Debug, clap::Subcommand)]
pub enum EfiCommand {
    /// Make a Secure Boot key set, as the how-to's make_keys.sh and sbctl do: PK, KEK and db
    /// (RSA keys, mode 0600; X.509 certificates; signature lists), PK.auth and KEK.auth
    /// signed by PK and db.auth signed by KEK, ready to enroll, and the owner GUID.
    Keygen {
        /// The directory to write into (created; existing key files are never replaced).
        #[arg(long)]
        out: PathBuf,
        /// The organisation, in every certificate's subject (`CN=NAME PK`, …).
        #[arg(long)]
        name: String,
        /// RSA modulus size: 2048, 3072 or 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Issue KEK from PK and db from KEK, instead of three self-signed certificates.
        #[arg(long)]
        chained: bool,
        /// Years the certificates are valid.
        #[arg(long, default_value_t = 10)]
        years: u64,
        /// The owner GUID of every list entry [default: a new random one].
        #[arg(long)]
        owner: Option<String>,
        /// The timestamp of the `.auth` files, UTC `YYYY-MM-DD HH:MM:SS` [default: now].
        #[arg(long)]
        time: Option<String>,
    },
    /// Print the SHA-256 Authenticode digest of PE/EFI images (what `pesign --hash` and
    /// `hash-to-efi-sig-list` compute), one `DIGEST  FILE` line each.
    Hash {
        /// EFI images.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Build an EFI signature list (`.esl`, the contents of PK, KEK, db or dbx): one list
    /// per certificate, then one list of image digests.
    Esl {
        /// The owner GUID of every entry.
        #[arg(long)]
        owner: String,
        /// An X.509 certificate (PEM or DER) to list; repeatable.
        #[arg(long = "cert")]
        certs: Vec<PathBuf>,
        /// An EFI image whose Authenticode digest to list; repeatable.
        #[arg(long = "hash")]
        images: Vec<PathBuf>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an EFI image (Authenticode, as sbsign does) with an RSA db key and its
    /// certificate; the key is read into guarded memory. A signed image gets one more
    /// signature (either key's db entry then allows it).
    Sign {
        /// The unsigned EFI image.
        image: PathBuf,
        /// The db private key (PEM: PKCS#8 or PKCS#1 RSA, unencrypted).
        #[arg(long)]
        key: PathBuf,
        /// The db certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// Where to write the signed image [default: IMAGE.signed].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Remove every signature from an image (what `sbattach --remove` does one at a time).
    Unsign {
        /// The signed image.
        image: PathBuf,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Decide an image as UEFI firmware does: allowed when a signature chains to a db
    /// certificate or its digest is in db, refused when its digest or a certificate of the
    /// chain is in dbx (which always wins). Exit 1 when refused.
    Verify {
        /// The EFI image.
        image: PathBuf,
        /// A db certificate (PEM or DER) or signature list; repeatable.
        #[arg(long, required = true)]
        db: Vec<PathBuf>,
        /// A dbx certificate or signature list; repeatable.
        #[arg(long)]
        dbx: Vec<PathBuf>,
    },
    /// Make a signed update of a Secure Boot variable (`.auth`, what `sign-efi-sig-list`
    /// writes): PK signs PK and KEK updates, KEK signs db and dbx updates.
    Auth {
        /// The variable: PK, KEK, db or dbx.
        var: cairn_efi::auth::Variable,
        /// The new contents, a signature list (`cairn efi esl`).
        list: PathBuf,
        /// The signing key (PEM: PKCS#8 or PKCS#1 RSA, unencrypted).
        #[arg(long)]
        key: PathBuf,
        /// Its certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// The update's timestamp, UTC `YYYY-MM-DD HH:MM:SS` [default: now]; the firmware
        /// refuses one older than the variable's.
        #[arg(long)]
        time: Option<String>,
        /// Append to the variable instead of replacing it.
        #[arg(long)]
        append: bool,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the lists of an `.esl` file (or a variable's contents): type, owner, and the
    /// certificate's subject and SHA-256, or the image digest.
    Show {
        /// The signature list file.
        file: PathBuf,
    },
}

/// Runs `cairn efi`.
pub fn run(cmd: EfiCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EfiCommand::Keygen {
            out,
            name,
            bits,
            chained,
            years,
            owner,
            time,
        } => keygen(&out, &name, bits, chained, years, owner, time)?,
        EfiCommand::Hash { images } => {
            let mut out = std::io::stdout().lock();
            for image in images {
                writeln!(
                    out,
                    "{}  {}",
                    hex::encode(image_digest(&image)?),
                    image.display()
                )?;
            }
        }
        EfiCommand::Esl {
            owner,
            certs,
            images,
            out,
        } => {
            let owner: Guid = owner.parse()?;
            let mut lists = Vec::new();
            for path in &certs {
                let bytes = read(path)?;
                let der = cert::certificate_der(&bytes)
                    .with_context(|| format!("reading {}", path.display()))?;
                lists.push(SignatureList::x509(owner, &der));
            }
            let digests = images
                .iter()
                .map(|i| image_digest(i.as_path()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if !digests.is_empty() {
                lists.push(SignatureList::sha256(owner, &digests));
            }
            anyhow::ensure!(!lists.is_empty(), "give at least one --cert or --hash");
            std::fs::write(&out, siglist::to_bytes(&lists))
                .with_context(|| format!("writing {}", out.display()))?;
        }
        EfiCommand::Show { file } => show(&file)?,
        EfiCommand::Auth {
            var,
            list,
            key,
            cert,
            time,
            append,
            out,
        } => {
            let time =
                time.unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
            let time = cairn_efi::auth::EfiTime::parse(&time)?;
            let contents = read(&list)?;
            siglist::parse(&contents)
                .with_context(|| format!("{} is not an EFI signature list", list.display()))?;
            let signer = load_key(&key, &cert)?;
            let update = cairn_efi::auth::signed_update(var, time, append, &contents, &signer)?;
            crate::common::files::write_atomically(&out, &update)?;
        }
        EfiCommand::Verify { image, db, dbx } => return verify(&image, &db, &dbx),
        EfiCommand::Unsign { image, out } => {
            let unsigned = cairn_efi::sign::unsign(&map_file(&image)?)
                .with_context(|| format!("removing the signatures of {}", image.display()))?;
            crate::common::files::write_atomically(&out, &unsigned)?;
        }
        EfiCommand::Sign {
            image,
            key,
            cert,
            out,
        } => {
            let db = load_key(&key, &cert)?;
            let signed = cairn_efi::sign::sign(&map_file(&image)?, &db)
                .with_context(|| format!("signing {}", image.display()))?;
            let out = out.unwrap_or_else(|| {
                let mut name = image.clone().into_os_string();
                name.push(".signed");
                PathBuf::from(name)
            });
            crate::common::files::write_atomically(&out, &signed.image)?;
            println!("{} signed: {}", out.display(), hex::encode(signed.digest));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn image_digest(image: &Path) -> anyhow::Result<[u8; 32]> {
    let map = map_file(image)?;
    authenticode::digest(&map).with_context(|| format!("{} is not an EFI image", image.display()))
}

/// `--time`, else now.
fn efi_time(time: Option<String>) -> anyhow::Result<cairn_efi::auth::EfiTime> {
    let time = time.unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
    Ok(cairn_efi::auth::EfiTime::parse(&time)?)
}

fn keygen(
    dir: &Path,
    name: &str,
    bits: usize,
    chained: bool,
    years: u64,
    owner: Option<String>,
    time: Option<String>,
) -> anyhow::Result<()> {
    use cairn_efi::auth::{Variable, signed_update};
    use cairn_efi::keygen::{KeySpec, generate};
    anyhow::ensure!(
        !name.is_empty() && !name.contains([',', '=', '+', '"', '\\', '<', '>', ';']),
        "--name {name:?}: give a plain name (no , = + \" \\ < > ;)"
    );
    let owner: Guid = match owner {
        Some(g) => g.parse()?,
        None => Guid::random(),
    };
    let time = efi_time(time)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let names = ["PK", "KEK", "db"];
    for n in names {
        for ext in ["key", "crt", "esl", "auth"] {
            let path = dir.join(format!("{n}.{ext}"));
            anyhow::ensure!(
                !path.exists(),
                "{} exists: keys are never replaced",
                path.display()
            );
        }
    }
    let validity = std::time::Duration::from_secs(years.max(1) * 365 * 24 * 3600);
    let spec = |n: &str, ca: bool| (format!("CN={name} {n}"), ca);
    let mut keys = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let (subject, ca) = spec(n, i < 2);
        let issuer = if chained { keys.last() } else { None };
        let spec = KeySpec {
            subject: &subject,
            bits,
            validity,
            ca,
        };
        let made = generate(&spec, issuer.map(|k: &cairn_efi::keygen::NewKey| &k.key))?;
        keys.push(made);
    }
    for (n, made) in names.iter().zip(&keys) {
        let cert = made.key.certificate_der()?;
        cairn_secmem::write_secret_file(&dir.join(format!("{n}.key")), &made.pem.bytes())
            .with_context(|| format!("writing {n}.key"))?;
        let pem = cert::to_pem(&cert)?;
        crate::common::files::write_atomically(&dir.join(format!("{n}.crt")), pem.as_bytes())?;
        let esl = siglist::to_bytes(&[SignatureList::x509(owner, &cert)]);
        crate::common::files::write_atomically(&dir.join(format!("{n}.esl")), &esl)?;
    }
    // PK signs itself and KEK; KEK signs db.
    for (var, list, by) in [
        (Variable::Pk, 0, 0),
        (Variable::Kek, 1, 0),
        (Variable::Db, 2, 1),
    ] {
        let cert = keys[list].key.certificate_der()?;
        let esl = siglist::to_bytes(&[SignatureList::x509(owner, &cert)]);
        let update = signed_update(var, time, false, &esl, &keys[by].key)?;
        crate::common::files::write_atomically(&dir.join(format!("{}.auth", var.name())), &update)?;
    }
    crate::common::files::write_atomically(&dir.join("GUID"), format!("{owner}\n").as_bytes())?;
    println!(
        "PK, KEK and db written to {} (owner {owner})",
        dir.display()
    );
    Ok(())
}

/// A signing key read into guarded memory, with its certificate.
fn load_key(key: &Path, cert: &Path) -> anyhow::Result<cairn_efi::sign::EfiKey> {
    let secret = cairn_secmem::read_pem_file(key)
        .with_context(|| format!("reading the key {}", key.display()))?;
    cairn_efi::sign::EfiKey::new(secret.der, &read(cert)?)
        .with_context(|| format!("loading {} with {}", key.display(), cert.display()))
}

fn database(files: &[PathBuf]) -> anyhow::Result<cairn_efi::verify::Database> {
    let mut database = cairn_efi::verify::Database::default();
    for f in files {
        database.add_file(&read(f)?).with_context(|| {
            format!(
                "{} is neither a certificate nor a signature list",
                f.display()
            )
        })?;
    }
    Ok(database)
}

fn verify(image: &Path, db: &[PathBuf], dbx: &[PathBuf]) -> anyhow::Result<ExitCode> {
    use cairn_efi::verify::Allowed;
    let (db, dbx) = (database(db)?, database(dbx)?);
    let decision = cairn_efi::verify::verify(&map_file(image)?, &db, &dbx)
        .with_context(|| format!("{} is not an EFI image", image.display()))?;
    Ok(match decision {
        Ok(Allowed::DigestInDb) => {
            println!("{}: allowed: its digest is in db", image.display());
            ExitCode::SUCCESS
        }
        Ok(Allowed::Signed { signer, anchor }) => {
            println!(
                "{}: allowed: signed by {signer}, which chains to db certificate {anchor}",
                image.display()
            );
            ExitCode::SUCCESS
        }
        Err(refused) => {
            println!("{}: REFUSED: {refused}", image.display());
            ExitCode::from(1)
        }
    })
}

fn show(file: &Path) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let mut out = std::io::stdout().lock();
    let lists = match siglist::parse(&bytes) {
        Ok(lists) => lists,
        Err(e) => {
            let update = cairn_efi::auth::parse(&bytes)
                .map_err(|_| e)
                .with_context(|| {
                    format!(
                        "{} is not an EFI signature list (nor a signed update)",
                        file.display()
                    )
                })?;
            let t = update.time;
            writeln!(
                out,
                "signed update at {:04}-{:02}-{:02} {:02}:{:02}:{:02}, signature {} bytes",
                u16::from_le_bytes([t[0], t[1]]),
                t[2],
                t[3],
                t[4],
                t[5],
                t[6],
                update.signature.len()
            )?;
            siglist::parse(update.list)
                .with_context(|| format!("the list in {}", file.display()))?
        }
    };
    for (i, list) in lists.iter().enumerate() {
        let kind = match list.kind {
            Guid::CERT_X509 => "X509".to_owned(),
            Guid::CERT_SHA256 => "SHA256".to_owned(),
            other => format!("type {other}"),
        };
        writeln!(out, "list {i}: {kind}, {} entries", list.entries.len())?;
        for e in &list.entries {
            let what = match list.kind {
                Guid::CERT_X509 => {
                    use sha2::Digest as _;
                    let subject = cert::subject(&e.data).unwrap_or_else(|e| format!("({e})"));
                    let fp = hex::encode(sha2::Sha256::digest(&e.data));
                    format!("subject {subject}, sha256 {fp}")
                }
                _ => hex::encode(&e.data),
            };
            writeln!(out, "  owner {}  {what}", e.owner)?;
        }
    }
    Ok(())
}
