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

mod efivars;
mod enroll;
mod keygen;
mod log;
mod show;
mod uki;

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
        #[command(flatten)]
        publish: log::Publish,
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
        #[command(flatten)]
        published: log::LogCheck,
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
        #[command(flatten)]
        publish: log::Publish,
    },
    /// Print the lists of an `.esl` file (or a variable's contents): type, owner, and the
    /// certificate's subject and SHA-256, or the image digest.
    Show {
        /// The signature list file.
        file: PathBuf,
    },
    /// Print Secure Boot's state and the firmware's PK, KEK, db and dbx variables (what
    /// `efi-readvar` shows), from efivarfs.
    List {
        /// Where efivarfs is mounted.
        #[arg(long, default_value = efivars::EFIVARS)]
        efivars: PathBuf,
    },
    /// Write signed updates (`.auth`) to the firmware's variables through efivarfs: db and
    /// dbx first, then KEK, then PK (which ends setup mode). Clears and restores the
    /// immutable flag efivarfs puts on the variable files. The firmware checks each update's
    /// signature; its refusal stops the enrollment.
    Enroll {
        /// A key set (`cairn efi keygen --out`): its db.auth, dbx.auth, KEK.auth and
        /// PK.auth, those that exist.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// PK's update.
        #[arg(long)]
        pk: Option<PathBuf>,
        /// KEK's update.
        #[arg(long)]
        kek: Option<PathBuf>,
        /// db's update.
        #[arg(long)]
        db: Option<PathBuf>,
        /// dbx's update.
        #[arg(long)]
        dbx: Option<PathBuf>,
        /// The updates append (made with `cairn efi auth --append`).
        #[arg(long)]
        append: bool,
        /// Where efivarfs is mounted.
        #[arg(long, default_value = efivars::EFIVARS)]
        efivars: PathBuf,
        /// Check the updates and print what would be written, without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Build a unified kernel image (UKI) from systemd's EFI stub, the kernel, the initrd
    /// and the command line, as `ukify` does; sign it with `cairn efi sign` so Secure Boot
    /// covers all of it.
    Uki {
        /// The kernel (bzImage).
        #[arg(long)]
        kernel: PathBuf,
        /// The initrd.
        #[arg(long)]
        initrd: Option<PathBuf>,
        /// The kernel command line.
        #[arg(long)]
        cmdline: Option<String>,
        /// An os-release file, shown by boot menus.
        #[arg(long)]
        os_release: Option<PathBuf>,
        /// The kernel release (`uname -r`), for boot loaders that show it.
        #[arg(long)]
        uname: Option<String>,
        /// systemd's EFI stub (Debian's systemd-boot-efi).
        #[arg(long, default_value = uki::STUB)]
        stub: PathBuf,
        /// The image to write.
        #[arg(long)]
        out: PathBuf,
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
        } => keygen::keygen(&out, &name, bits, chained, years, owner, time)?,
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
        EfiCommand::Show { file } => show::show(&file)?,
        EfiCommand::List { efivars } => enroll::list(&efivars)?,
        EfiCommand::Enroll {
            dir,
            pk,
            kek,
            db,
            dbx,
            append,
            efivars,
            dry_run,
        } => {
            let updates = enroll::Updates {
                dir,
                pk,
                kek,
                db,
                dbx,
            };
            enroll::enroll(&updates, append, &efivars, dry_run)?;
        }
        EfiCommand::Uki {
            kernel,
            initrd,
            cmdline,
            os_release,
            uname,
            stub,
            out,
        } => {
            let contents = uki::Contents {
                stub,
                kernel,
                initrd,
                cmdline,
                os_release,
                uname,
            };
            uki::build(&contents, &out)?;
            println!("{} built: sign it with cairn efi sign", out.display());
        }
        EfiCommand::Auth {
            var,
            list,
            key,
            cert,
            time,
            append,
            out,
            publish,
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
            log::publish_update(&publish, &out, var, append)?;
        }
        EfiCommand::Verify {
            image,
            db,
            dbx,
            published,
        } => {
            // Not published: refused before db is asked (a one-off image is not trusted).
            if published.wanted() && !log::check(&published, &image)? {
                return Ok(ExitCode::from(1));
            }
            return verify(&image, &db, &dbx);
        }
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
            publish,
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
            log::publish_image(&publish, &out)?;
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
