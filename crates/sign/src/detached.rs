//! Detached signatures of every kind over files too large to hold in memory: OpenPGP
//! (armored or binary, from GnuPG or from a Cairn key), hex DER ECDSA over the SHA-256 (what
//! `openssl dgst -sha256 -hex -sign` writes) and pure Ed25519 over the bytes.
//!
//! Files are streamed, never read whole nor mapped: a package can be hundreds of MiB and a
//! server checking it must not grow. ECDSA needs only the SHA-256 the caller computed while
//! the file streamed in; Ed25519 reads the file once for every candidate key together;
//! OpenPGP reads it once per key whose id the signature names. Every pass also hashes what
//! it read, and a file whose bytes no longer have the caller's SHA-256 is an error, so a
//! verdict always concerns the bytes the caller hashed.
//!
//! Telling the kinds apart is in `classify.rs`, reading key files in `load.rs`, the
//! streaming passes in `stream.rs` and OpenPGP keys in `gpg.rs`.

mod classify;
#[cfg(feature = "openpgp")]
mod gpg;
mod load;
mod stream;

use std::fmt;
use std::path::Path;

use crate::error::Error;
use crate::keys::{Algorithm, PublicKey, Signed};

pub(crate) use classify::Parsed;
pub use classify::classify;

/// The kinds of detached signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// OpenPGP, armored or binary (`gpg --detach-sign`, `cairn sign --format openpgp`).
    OpenPgp,
    /// Hex DER ECDSA over the file's SHA-256 (secp256k1 or P-256).
    Ecdsa,
    /// Pure Ed25519 over the file's bytes: 64 raw bytes or 128 hex digits.
    Ed25519,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::OpenPgp => "OpenPGP",
            Kind::Ecdsa => "ECDSA",
            Kind::Ed25519 => "Ed25519",
        })
    }
}

/// The keys detached signatures are checked under: Cairn public keys (ECDSA and Ed25519, and
/// their OpenPGP form, as `cairn sign --format openpgp` makes) and OpenPGP keys as
/// `gpg --export` (binary) or `gpg --export --armor` writes them.
///
/// One set for every kind, so that a caller holding a publisher's keys need not know which
/// kind of signature the publisher chose.
#[derive(Clone, Debug, Default)]
pub struct DetachedKeys {
    cairn: Vec<PublicKey>,
    #[cfg(feature = "openpgp")]
    gpg: Vec<gpg::GpgKey>,
}

impl DetachedKeys {
    /// Adds a Cairn key (once: keys are told apart by id).
    pub fn add_key(&mut self, key: PublicKey) {
        if !self.cairn.contains(&key) {
            self.cairn.push(key);
        }
    }

    /// Adds an OpenPGP key (once: keys are told apart by fingerprint). A Cairn key in its
    /// OpenPGP form is added as the Cairn key, so that its signatures of every kind report
    /// the Cairn key id.
    #[cfg(feature = "openpgp")]
    pub fn add_openpgp(&mut self, key: crate::openpgp::OpenPgpKey) {
        match key {
            crate::openpgp::OpenPgpKey::Pgp(k) => {
                let key = gpg::GpgKey::new(*k);
                if !self
                    .gpg
                    .iter()
                    .any(|g| g.fingerprint() == key.fingerprint())
                {
                    self.gpg.push(key);
                }
            }
            crate::openpgp::OpenPgpKey::Cairn(p) => {
                if let Some(k) = crate::openpgp::cairn_key_of(&p) {
                    self.add_key(k);
                }
            }
        }
    }

    /// Every key of `other` as well (a policy gathers its signer entries' keys this way).
    pub fn extend(&mut self, other: &DetachedKeys) {
        for key in &other.cairn {
            self.add_key(key.clone());
        }
        #[cfg(feature = "openpgp")]
        for key in &other.gpg {
            if !self
                .gpg
                .iter()
                .any(|g| g.fingerprint() == key.fingerprint())
            {
                self.gpg.push(key.clone());
            }
        }
    }

    /// True when the set holds no key at all.
    pub fn is_empty(&self) -> bool {
        #[cfg(feature = "openpgp")]
        if !self.gpg.is_empty() {
            return false;
        }
        self.cairn.is_empty()
    }

    /// The Cairn keys (the ones plugin uploads and attestations can be checked under too).
    pub fn keys(&self) -> &[PublicKey] {
        &self.cairn
    }

    /// Every key id this set can report: Cairn key ids (hex SHA-256 of SPKI DER) and OpenPGP
    /// primary-key fingerprints (lowercase hex), in the order the keys were added.
    pub fn ids(&self) -> Vec<String> {
        let ids = self.cairn.iter().map(PublicKey::id);
        #[cfg(feature = "openpgp")]
        let ids = ids.chain(self.gpg.iter().map(|g| g.fingerprint().to_owned()));
        ids.collect()
    }

    /// Which key made `signature` (of `kind`) over the file at `path`, whose SHA-256 is
    /// `sha256` (hashed by the caller as the file streamed in).
    ///
    /// `Ok(Some(id))` names the verifying key: for an OpenPGP signature by a Cairn key, the
    /// Cairn key id; for a GnuPG key, the primary key's fingerprint even when a subkey
    /// signed. `Ok(None)` when no key verifies it. Refused: a malformed signature, a file
    /// that cannot be read or whose bytes no longer have `sha256`.
    pub fn verify_file(
        &self,
        kind: Kind,
        signature: &[u8],
        path: &Path,
        sha256: &[u8; 32],
    ) -> Result<Option<String>, Error> {
        let parsed = Parsed::new(kind, signature)?;
        Ok(self
            .verifying_ids(&parsed, path, sha256)?
            .into_iter()
            .next())
    }

    /// Every key of the set that made the parsed signature (one signature may verify under
    /// two ids: a Cairn key and the same key imported in its OpenPGP form). Errors are I/O
    /// only: the signature was parsed already.
    pub(crate) fn verifying_ids(
        &self,
        parsed: &Parsed,
        path: &Path,
        sha256: &[u8; 32],
    ) -> Result<Vec<String>, Error> {
        match parsed {
            Parsed::Ecdsa(der) => {
                let signed = Signed::digest(*sha256);
                Ok(self
                    .cairn
                    .iter()
                    .filter(|k| k.algorithm() != Algorithm::Ed25519 && k.verify(&signed, der))
                    .map(PublicKey::id)
                    .collect())
            }
            Parsed::Ed25519(sig) => stream::ed25519(&self.cairn, sig, path, sha256),
            #[cfg(feature = "openpgp")]
            Parsed::OpenPgp(sig) => gpg::verifying_ids(&self.cairn, &self.gpg, sig, path, sha256),
        }
    }
}

/// SHA-256 of a file, streamed (for callers that did not hash it as it arrived).
pub fn sha256_file(path: &Path) -> Result<[u8; 32], Error> {
    stream::sha256_file(path)
}
