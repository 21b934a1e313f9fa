//! `cairn efi keygen`: a Secure Boot key set, as the how-to's make_keys.sh and sbctl make.

use std::path::Path;

use anyhow::Context;
use cairn_efi::siglist::{self, SignatureList};
use cairn_efi::{Guid, cert};

use super::efi_time;

/// Writes PK, KEK and db (keys, certificates, lists, signed updates) and the owner GUID.
pub(super) fn keygen(
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
