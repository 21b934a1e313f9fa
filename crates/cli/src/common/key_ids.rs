//! What a `--key` argument stands for: a key file's ids, or an id as given.

use std::path::Path;

use anyhow::{Context, bail};
use cairn_sign::PublicKey;
use cairn_sign::openpgp::OpenPgpKey;

/// The OpenPGP public keys of a file (binary or armored, one or several).
pub fn openpgp_keys_of(path: &Path) -> anyhow::Result<Vec<OpenPgpKey>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    OpenPgpKey::parse_all(&bytes).with_context(|| format!("OpenPGP key file {}", path.display()))
}

/// Whether a key file holds OpenPGP keys rather than SPKI PEM: binary packets or armor.
pub fn is_openpgp_file(path: &Path) -> anyhow::Result<bool> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(head.first().is_some_and(|b| b & 0x80 != 0)
        || String::from_utf8_lossy(&head).contains("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
}

/// The ids a `--key` argument stands for: a key file's key id (a private key file's public
/// half, every block of a public key file) or OpenPGP fingerprints, or a key id (64 hex
/// digits) or v4 fingerprint (40) as given.
pub fn key_ids(arg: &str) -> anyhow::Result<Vec<String>> {
    let path = Path::new(arg);
    if path.exists() {
        if is_openpgp_file(path)? {
            return Ok(openpgp_keys_of(path)?
                .iter()
                .map(OpenPgpKey::fingerprint)
                .collect());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if text.contains("PRIVATE KEY-----") {
            return Ok(vec![PublicKey::from_file(path)?.id()]);
        }
        // The registry's own rule for every in-toto key type (RSA and P-384 too).
        let mut keys = cairn_sign::attestation::AttestationKeys::new();
        keys.add_pem(&text, &format!("key {}", path.display()))?;
        if keys.is_empty() {
            bail!("{} holds no PUBLIC KEY block", path.display());
        }
        return Ok(keys.ids());
    }
    if matches!(arg.len(), 40 | 64) && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(vec![arg.to_ascii_lowercase()]);
    }
    bail!("--key {arg:?} is neither a key file, a 64-hex-digit key id nor an OpenPGP fingerprint");
}
