//! OpenPGP (RFC 4880 / 9580) v4 keys and detached signatures over Cairn's own keys, through
//! the `pgp` crate, so that GnuPG 2.2 imports the key and `gpg --verify` accepts the
//! signature; and verification of signatures GnuPG made.
//!
//! A Cairn key becomes an OpenPGP key with a fixed creation time (2020-01-01), so its
//! fingerprint depends on the key alone and every export of it is the same key to GnuPG.
//! Signing goes through the key's enclave like every other signature.

use std::io::Read;

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, SignedKeyDetails, SignedPublicKey,
    SignedPublicSubKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{
    KeyFlags, PubKeyInner, SignatureConfig, SignatureType, Subpacket, SubpacketData, UserId,
};
use pgp::types::{
    EcdsaPublicParams, EddsaLegacyPublicParams, KeyDetails, KeyVersion, Mpi, PacketHeaderVersion,
    Password, PublicParams, SignatureBytes, SignedUser, Tag, Timestamp,
};

use crate::error::Error;
use crate::keys::{Algorithm, PrivateKey, PublicKey};

/// Creation time of every OpenPGP key made from a Cairn key: 2020-01-01T00:00:00Z.
pub const KEY_CREATED: u32 = 1_577_836_800;

fn pgp_error(what: &str) -> impl Fn(pgp::errors::Error) -> Error + '_ {
    move |e| Error::Key {
        origin: format!("OpenPGP {what}"),
        reason: e.to_string(),
    }
}

/// The v4 public-key packet of a Cairn public key.
pub fn key_packet(public: &PublicKey) -> Result<pgp::packet::PublicKey, Error> {
    let (algorithm, params) = match public {
        PublicKey::Ed25519(k) => (
            PublicKeyAlgorithm::EdDSALegacy,
            PublicParams::EdDSALegacy(EddsaLegacyPublicParams::Ed25519 { key: *k }),
        ),
        PublicKey::P256(k) => (
            PublicKeyAlgorithm::ECDSA,
            PublicParams::ECDSA(EcdsaPublicParams::P256 { key: k.into() }),
        ),
        PublicKey::Secp256k1(k) => (
            PublicKeyAlgorithm::ECDSA,
            PublicParams::ECDSA(EcdsaPublicParams::Secp256k1 { key: k.into() }),
        ),
    };
    let inner = PubKeyInner::new(
        KeyVersion::V4,
        algorithm,
        Timestamp::from_secs(KEY_CREATED),
        None,
        params,
    )
    .map_err(pgp_error("key"))?;
    pgp::packet::PublicKey::from_inner(inner).map_err(pgp_error("key"))
}

/// A Cairn private key seen by `pgp` as a signing key.
#[derive(Debug)]
struct Signer<'a> {
    key: &'a PrivateKey,
    packet: pgp::packet::PublicKey,
}

impl KeyDetails for Signer<'_> {
    fn version(&self) -> KeyVersion {
        self.packet.version()
    }
    fn legacy_key_id(&self) -> pgp::types::KeyId {
        self.packet.legacy_key_id()
    }
    fn fingerprint(&self) -> pgp::types::Fingerprint {
        self.packet.fingerprint()
    }
    fn algorithm(&self) -> PublicKeyAlgorithm {
        self.packet.algorithm()
    }
    fn created_at(&self) -> Timestamp {
        self.packet.created_at()
    }
    fn legacy_v3_expiration_days(&self) -> Option<u16> {
        None
    }
    fn public_params(&self) -> &PublicParams {
        self.packet.public_params()
    }
}

impl pgp::types::SigningKey for Signer<'_> {
    fn sign(
        &self,
        _key_pw: &Password,
        hash: HashAlgorithm,
        digest: &[u8],
    ) -> pgp::errors::Result<SignatureBytes> {
        let refuse = |why: String| pgp::errors::Error::from(std::io::Error::other(why));
        if hash != HashAlgorithm::Sha256 || digest.len() != 32 {
            return Err(refuse(format!("only SHA-256 is used, not {hash:?}")));
        }
        let (r, s) = match self.key.algorithm() {
            // OpenPGP's EdDSA signs the digest as the message.
            Algorithm::Ed25519 => {
                let sig = self
                    .key
                    .sign(&crate::keys::Signed::bytes(digest))
                    .map_err(|e| refuse(e.to_string()))?;
                (sig[..32].to_vec(), sig[32..].to_vec())
            }
            _ => {
                let mut d = [0u8; 32];
                d.copy_from_slice(digest);
                let der = self
                    .key
                    .sign_digest(&d)
                    .map_err(|e| refuse(e.to_string()))?;
                let sig =
                    p256::ecdsa::Signature::from_der(&der).map_err(|e| refuse(e.to_string()))?;
                let (r, s) = sig.split_bytes();
                (r.to_vec(), s.to_vec())
            }
        };
        Ok(SignatureBytes::Mpis(vec![
            Mpi::from_slice(&r),
            Mpi::from_slice(&s),
        ]))
    }

    fn hash_alg(&self) -> HashAlgorithm {
        HashAlgorithm::Sha256
    }
}

fn config(signer: &Signer<'_>, typ: SignatureType) -> Result<SignatureConfig, Error> {
    let mut config = SignatureConfig::v4(typ, signer.algorithm(), HashAlgorithm::Sha256);
    let mut hashed = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::now())),
        Subpacket::regular(SubpacketData::IssuerFingerprint(signer.fingerprint())),
    ];
    if typ == SignatureType::CertPositive {
        let mut flags = KeyFlags::default();
        flags.set_certify(true);
        flags.set_sign(true);
        hashed.push(Subpacket::regular(SubpacketData::KeyFlags(flags)));
    }
    config.hashed_subpackets = hashed
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(pgp_error("signature"))?;
    config.unhashed_subpackets = vec![
        Subpacket::regular(SubpacketData::IssuerKeyId(signer.legacy_key_id()))
            .map_err(pgp_error("signature"))?,
    ];
    Ok(config)
}

/// The key as an armored OpenPGP public key with one self-certified user id, ready for
/// `gpg --import`.
pub fn export_public_key(key: &PrivateKey, user_id: &str) -> Result<String, Error> {
    let packet = key_packet(key.public())?;
    let signer = Signer {
        key,
        packet: packet.clone(),
    };
    let uid = UserId::from_str(PacketHeaderVersion::New, user_id).map_err(pgp_error("user id"))?;
    let cert = config(&signer, SignatureType::CertPositive)?
        .sign_certification(&signer, &packet, &Password::empty(), Tag::UserId, &uid)
        .map_err(pgp_error("certification"))?;
    let details = SignedKeyDetails::new(
        vec![],
        vec![],
        vec![SignedUser::new(uid, vec![cert])],
        vec![],
    );
    SignedPublicKey::new(packet, details, vec![])
        .to_armored_string(ArmorOptions::default())
        .map_err(pgp_error("key"))
}

/// An OpenPGP detached signature (binary document, SHA-256) of `data`: armored text, or
/// the raw packet.
pub fn sign_detached(key: &PrivateKey, data: impl Read, armored: bool) -> Result<Vec<u8>, Error> {
    let signer = Signer {
        key,
        packet: key_packet(key.public())?,
    };
    let sig = config(&signer, SignatureType::Binary)?
        .sign(&signer, &Password::empty(), data)
        .map_err(pgp_error("signature"))?;
    let detached = DetachedSignature::new(sig);
    if armored {
        return detached
            .to_armored_string(ArmorOptions::default())
            .map(String::into_bytes)
            .map_err(pgp_error("signature"));
    }
    pgp::ser::Serialize::to_bytes(&detached).map_err(pgp_error("signature"))
}

/// Whether bytes look like an OpenPGP signature: armor, or a signature packet header (old
/// format tag 2, or new format 0xC2). Raw Ed25519 signatures can start with those bytes too:
/// callers fall back when parsing fails.
pub fn looks_like_openpgp(bytes: &[u8]) -> bool {
    bytes.starts_with(b"-----BEGIN PGP SIGNATURE")
        || bytes
            .first()
            .is_some_and(|b| matches!(b, 0x88 | 0x89 | 0x8a | 0xc2))
}

/// A key OpenPGP signatures may come from.
#[derive(Debug)]
pub enum OpenPgpKey {
    /// An OpenPGP key (as `gpg --export` writes it), with its subkeys.
    Pgp(Box<SignedPublicKey>),
    /// A Cairn key, seen as the OpenPGP key `cairn key pub --openpgp` exports.
    Cairn(Box<pgp::packet::PublicKey>),
}

impl OpenPgpKey {
    /// Parses an armored or binary OpenPGP public key.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let key = if bytes.starts_with(b"-----BEGIN") {
            SignedPublicKey::from_armor_single(bytes).map(|(k, _)| k)
        } else {
            SignedPublicKey::from_bytes(bytes)
        }
        .map_err(pgp_error("public key"))?;
        Ok(OpenPgpKey::Pgp(Box::new(key)))
    }

    /// Parses every OpenPGP public key of a file: binary (`gpg --export`, several keys
    /// concatenated) or armored (`gpg --export --armor`, several blocks of several keys), so
    /// a keyring export is one file, as publishers hand them out.
    pub fn parse_all(bytes: &[u8]) -> Result<Vec<Self>, Error> {
        let mut keys = Vec::new();
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            for key in SignedPublicKey::from_bytes_many(bytes).map_err(pgp_error("public key"))? {
                keys.push(key.map_err(pgp_error("public key"))?);
            }
        } else {
            let text = std::str::from_utf8(bytes).map_err(|_| Error::Key {
                origin: "OpenPGP public key".into(),
                reason: "neither binary OpenPGP nor armored text".into(),
            })?;
            for block in armor_blocks(text) {
                let (many, _) = SignedPublicKey::from_armor_many(block.as_bytes())
                    .map_err(pgp_error("public key"))?;
                for key in many {
                    keys.push(key.map_err(pgp_error("public key"))?);
                }
            }
        }
        if keys.is_empty() {
            return Err(Error::Key {
                origin: "OpenPGP public key".into(),
                reason: "no public key in it".into(),
            });
        }
        Ok(keys
            .into_iter()
            .map(|k| OpenPgpKey::Pgp(Box::new(k)))
            .collect())
    }

    /// The key as armored text, the form a trust policy stores (binary does not fit TOML).
    pub fn to_armored(&self) -> Result<String, Error> {
        match self {
            OpenPgpKey::Pgp(k) => k.to_armored_string(ArmorOptions::default()),
            OpenPgpKey::Cairn(p) => SignedPublicKey::new(
                (**p).clone(),
                SignedKeyDetails::new(vec![], vec![], vec![], vec![]),
                vec![],
            )
            .to_armored_string(ArmorOptions::default()),
        }
        .map_err(pgp_error("public key"))
    }

    /// A Cairn public key in its OpenPGP form.
    pub fn from_cairn(public: &PublicKey) -> Result<Self, Error> {
        key_packet(public).map(|p| OpenPgpKey::Cairn(Box::new(p)))
    }

    /// Hex fingerprint of the primary key.
    pub fn fingerprint(&self) -> String {
        match self {
            OpenPgpKey::Pgp(k) => hex::encode(k.primary_key.fingerprint().as_bytes()),
            OpenPgpKey::Cairn(p) => hex::encode(p.fingerprint().as_bytes()),
        }
    }

    /// Whether this key (or one of its signing subkeys) made `signature` over `data`.
    fn verifies(&self, signature: &DetachedSignature, data: &[u8]) -> bool {
        match self {
            OpenPgpKey::Pgp(k) => {
                signature.verify(&k.primary_key, data).is_ok()
                    || k.public_subkeys
                        .iter()
                        .any(|s: &SignedPublicSubKey| signature.verify(&s.key, data).is_ok())
            }
            OpenPgpKey::Cairn(p) => signature.verify(p.as_ref(), data).is_ok(),
        }
    }
}

/// Verifies an armored or binary detached signature over `data`; returns the fingerprint of
/// the key that made it, or `None`.
pub fn verify_detached(
    keys: &[OpenPgpKey],
    signature: &[u8],
    data: &[u8],
) -> Result<Option<String>, Error> {
    let sig = DetachedSignature::new(parse_signature(signature)?);
    Ok(keys
        .iter()
        .find(|k| k.verifies(&sig, data))
        .map(OpenPgpKey::fingerprint))
}

/// Armor marker of a public key block.
const KEY_BLOCK: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// Each armored key block of a text (from its marker to the next one), so that files made
/// by concatenating exports parse: `pgp` reads one armor block per call.
fn armor_blocks(text: &str) -> impl Iterator<Item = &str> {
    let starts: Vec<usize> = text.match_indices(KEY_BLOCK).map(|(at, _)| at).collect();
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([text.len()]).collect();
    starts.into_iter().zip(ends).map(|(a, b)| &text[a..b])
}

fn malformed(reason: impl std::fmt::Display) -> Error {
    Error::MalformedSignature {
        kind: crate::detached::Kind::OpenPgp,
        reason: reason.to_string(),
    }
}

/// Parses an armored or binary detached signature: exactly one signature packet, of a
/// version `pgp` knows, over a document (binary or text), hashed with SHA-2 or SHA-3.
///
/// Strict so that a raw Ed25519 signature that happens to start like a packet header is not
/// taken for one, and so that MD5, SHA-1 and RIPEMD-160 (collisions are practical or near)
/// never vouch for a file.
pub(crate) fn parse_signature(bytes: &[u8]) -> Result<pgp::packet::Signature, Error> {
    let armored = bytes.trim_ascii_start();
    let mut many = if armored.starts_with(b"-----BEGIN PGP SIGNATURE") {
        DetachedSignature::from_armor_many(armored).map(|(m, _)| m)
    } else {
        DetachedSignature::from_bytes_many(bytes)
    }
    .map_err(malformed)?;
    let sig = many
        .next()
        .ok_or_else(|| malformed("no signature packet"))?
        .map_err(malformed)?
        .signature;
    if many.next().is_some() {
        return Err(malformed("more than one packet"));
    }
    let Some(hash) = sig.hash_alg() else {
        return Err(malformed(format!(
            "unsupported version {:?}",
            sig.version()
        )));
    };
    if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
        return Err(malformed(format!(
            "a {:?} signature, not one over a file",
            sig.typ()
        )));
    }
    if !matches!(
        hash,
        HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha224
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512
    ) {
        return Err(malformed(format!("hashed with {hash}, too weak to trust")));
    }
    Ok(sig)
}

/// The Cairn key an OpenPGP key packet made by [`key_packet`] stands for.
pub(crate) fn cairn_key_of(packet: &pgp::packet::PublicKey) -> Option<PublicKey> {
    match packet.public_params() {
        PublicParams::EdDSALegacy(EddsaLegacyPublicParams::Ed25519 { key }) => {
            Some(PublicKey::Ed25519(*key))
        }
        PublicParams::ECDSA(EcdsaPublicParams::P256 { key }) => Some(PublicKey::P256(key.into())),
        PublicParams::ECDSA(EcdsaPublicParams::Secp256k1 { key }) => {
            Some(PublicKey::Secp256k1(key.into()))
        }
        _ => None,
    }
}
