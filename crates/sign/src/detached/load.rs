//! Reading key files into a [`DetachedKeys`]: SPKI PEM (several blocks a file) or OpenPGP
//! public keys (armored or binary, several a file).

use std::io::Read;
use std::path::Path;

use super::DetachedKeys;
use crate::error::Error;

/// Largest key file read: a GnuPG key carrying many certifications is a few hundred KiB.
const MAX_KEY_FILE: u64 = 16 << 20;

const PEM_BLOCK: &str = "-----BEGIN PUBLIC KEY-----";
const PGP_BLOCK: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

fn refused(origin: &str, reason: impl std::fmt::Display) -> Error {
    Error::Key {
        origin: origin.to_owned(),
        reason: reason.to_string(),
    }
}

impl DetachedKeys {
    /// Reads key files: SPKI PEM (several blocks a file) or OpenPGP public keys (armored or
    /// binary, as `gpg --export [--armor]` writes them, several keys a file).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, Error> {
        let mut keys = DetachedKeys::default();
        for path in paths {
            let path = path.as_ref();
            let origin = format!("public key {}", path.display());
            keys.add_bytes(&read_key_file(path, &origin)?, &origin)?;
        }
        Ok(keys)
    }

    /// Adds the keys of one key file's bytes; `origin` names the file in errors.
    fn add_bytes(&mut self, bytes: &[u8], origin: &str) -> Result<(), Error> {
        let binary_pgp = bytes.first().is_some_and(|b| b & 0x80 != 0);
        let text = if binary_pgp {
            ""
        } else {
            std::str::from_utf8(bytes)
                .map_err(|_| refused(origin, "neither PEM text nor binary OpenPGP"))?
        };
        let (pem, armored_pgp) = (text.contains(PEM_BLOCK), text.contains(PGP_BLOCK));
        if !(binary_pgp || pem || armored_pgp) {
            return Err(refused(
                origin,
                "neither an SPKI PEM nor an OpenPGP public key",
            ));
        }
        if pem {
            // RSA and P-384 keys sign in-toto attestations only (no package signature kind
            // uses them): read, so a bad block is still an error, and left out.
            let mut all = crate::attestation::AttestationKeys::new();
            for key in all.add_pem(text, origin)?.into_iter().flatten() {
                self.add_key(key);
            }
        }
        if binary_pgp || armored_pgp {
            self.add_openpgp_bytes(bytes, origin)?;
        }
        Ok(())
    }

    #[cfg(feature = "openpgp")]
    fn add_openpgp_bytes(&mut self, bytes: &[u8], origin: &str) -> Result<(), Error> {
        for key in crate::openpgp::OpenPgpKey::parse_all(bytes).map_err(|e| refused(origin, e))? {
            self.add_openpgp(key);
        }
        Ok(())
    }

    #[cfg(not(feature = "openpgp"))]
    fn add_openpgp_bytes(&mut self, _bytes: &[u8], origin: &str) -> Result<(), Error> {
        Err(refused(
            origin,
            "an OpenPGP key, but this build of Cairn has no OpenPGP support",
        ))
    }
}

fn read_key_file(path: &Path, origin: &str) -> Result<Vec<u8>, Error> {
    let file = std::fs::File::open(path).map_err(|e| refused(origin, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(origin, e))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(refused(origin, "larger than 16 MiB: not a key file"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_files_load_every_block_and_other_files_are_refused() {
        let a = crate::PrivateKey::generate(crate::Algorithm::Ed25519).unwrap();
        let b = crate::PrivateKey::generate(crate::Algorithm::Secp256k1).unwrap();
        let mut keys = DetachedKeys::default();
        let text = format!("{}{}", a.public().to_pem(), b.public().to_pem());
        keys.add_bytes(text.as_bytes(), "test").unwrap();
        assert_eq!(keys.ids(), vec![a.public().id(), b.public().id()]);
        assert!(keys.add_bytes(b"hello", "test").is_err());
        assert!(keys.add_bytes(&[0x99, 0x01], "test").is_err());
        assert!(DetachedKeys::load(&["/nonexistent/key.pem"]).is_err());
    }
}
