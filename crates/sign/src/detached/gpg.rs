//! OpenPGP keys as detached signatures are checked under: a GnuPG key with the subkeys that
//! may sign for it, and the OpenPGP form of Cairn keys; and the streaming check of an
//! OpenPGP signature under them.

use std::path::Path;

use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{PublicSubkey, Signature, SignatureType};
use pgp::types::{KeyDetails, VerifyingKey};

use super::stream::HashingReader;
use crate::error::Error;
use crate::keys::PublicKey;

/// A GnuPG key, reduced to what may sign: its primary key and the subkeys it bound for
/// signing, or nothing once it is revoked.
#[derive(Clone, Debug)]
pub(crate) struct GpgKey {
    fingerprint: String,
    primary: Option<pgp::packet::PublicKey>,
    subkeys: Vec<PublicSubkey>,
}

impl GpgKey {
    /// Keeps the primary key unless it revoked itself, and each subkey that the primary
    /// bound with the signing flag, that cross-certified the primary (the back signature
    /// GnuPG requires) and that is not revoked. Anyone can append a subkey to a published
    /// key; only these are the key holder's.
    pub(crate) fn new(key: SignedPublicKey) -> Self {
        let primary = key.primary_key;
        let fingerprint = hex::encode(primary.fingerprint().as_bytes());
        let revoked = key.details.revocation_signatures.iter().any(|s| {
            s.typ() == Some(SignatureType::KeyRevocation) && s.verify_key(&primary).is_ok()
        });
        if revoked {
            return GpgKey {
                fingerprint,
                primary: None,
                subkeys: Vec::new(),
            };
        }
        let subkeys = key
            .public_subkeys
            .into_iter()
            .filter(|s| signs_for(&primary, s))
            .map(|s| s.key)
            .collect();
        GpgKey {
            fingerprint,
            primary: Some(primary),
            subkeys,
        }
    }

    /// Lowercase hex fingerprint of the primary key.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn signs_for(primary: &pgp::packet::PublicKey, sub: &SignedPublicSubKey) -> bool {
    let made_by_primary = |s: &&Signature| s.verify_subkey_binding(primary, &sub.key).is_ok();
    let revoked = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        .any(|s| made_by_primary(&s));
    let bound = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding) && s.key_flags().sign())
        .filter(made_by_primary)
        .any(|s| {
            s.embedded_signature()
                .is_some_and(|back| back.verify_primary_key_binding(&sub.key, primary).is_ok())
        });
    bound && !revoked
}

/// Whether the signature names `key` as its issuer (or names none, so any key may be it):
/// the check `pgp` makes first, made here before the file is opened.
fn names(sig: &Signature, key: &impl KeyDetails) -> bool {
    let ids = sig.issuer_key_id();
    let fingerprints = sig.issuer_fingerprint();
    (ids.is_empty() && fingerprints.is_empty())
        || ids.iter().any(|id| **id == key.legacy_key_id())
        || fingerprints.iter().any(|fp| **fp == key.fingerprint())
}

/// Whether `key` made `sig` over the file, read once through a hashing reader.
fn made_by(
    sig: &Signature,
    key: &impl VerifyingKey,
    path: &Path,
    sha256: &[u8; 32],
) -> Result<bool, Error> {
    if !names(sig, key) {
        return Ok(false);
    }
    let mut reader = HashingReader::open(path)?;
    let accepted = sig.verify(key, &mut reader).is_ok();
    reader.finish(accepted, sha256)?;
    Ok(accepted)
}

/// The ids of the keys that made `sig` over the file: the Cairn id for a Cairn key's OpenPGP
/// form, the primary fingerprint for a GnuPG key or any of its signing subkeys.
pub(super) fn verifying_ids(
    cairn: &[PublicKey],
    gpg: &[GpgKey],
    sig: &Signature,
    path: &Path,
    sha256: &[u8; 32],
) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    for key in cairn {
        // A key with no OpenPGP form cannot have made an OpenPGP signature.
        let Ok(packet) = crate::openpgp::key_packet(key) else {
            continue;
        };
        if made_by(sig, &packet, path, sha256)? {
            ids.push(key.id());
        }
    }
    for key in gpg {
        if gpg_made(key, sig, path, sha256)? {
            ids.push(key.fingerprint.clone());
        }
    }
    Ok(ids)
}

fn gpg_made(key: &GpgKey, sig: &Signature, path: &Path, sha256: &[u8; 32]) -> Result<bool, Error> {
    if let Some(primary) = &key.primary {
        if made_by(sig, primary, path, sha256)? {
            return Ok(true);
        }
    }
    for sub in &key.subkeys {
        if made_by(sig, sub, path, sha256)? {
            return Ok(true);
        }
    }
    Ok(false)
}
