//! The keys attestations are checked against: every key type securesystemslib (and so
//! in-toto) signs with, each known by Cairn's id (hex SHA-256 of the SPKI DER, as for every
//! Cairn key) and by in-toto's keyid (SHA-256 of securesystemslib's canonical key object).
//!
//! What each type signs, as securesystemslib's `CryptoSigner` does it:
//!
//! | key | scheme | signature |
//! | --- | --- | --- |
//! | RSA | `rsassa-pss-sha256` | RSASSA-PSS, SHA-256, MGF1-SHA-256, salt as long as the digest |
//! | EC P-256 | `ecdsa-sha2-nistp256` | DER ECDSA over the SHA-256 |
//! | EC P-384 | `ecdsa-sha2-nistp384` | DER ECDSA over the SHA-384 |
//! | Ed25519 | `ed25519` | Ed25519 over the bytes |

use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::signature::hazmat::PrehashVerifier as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256, Sha384};

use super::formats::olpc_canonical;
use crate::error::Error;
use crate::keys::{PublicKey, Signed};

/// Shortest RSA modulus accepted: securesystemslib's own keys are 3072 bits, and a shorter
/// key than 2048 bits proves little.
const MIN_RSA_BITS: usize = 2048;

/// in-toto verification keys of every type securesystemslib uses.
///
/// A key added twice (the same SPKI) is kept once.
#[derive(Clone, Debug, Default)]
pub struct AttestationKeys {
    keys: Vec<AttestationKey>,
}

/// One key, its two names and what verifies under it.
#[derive(Clone, Debug)]
pub(super) struct AttestationKey {
    /// Cairn's id: hex SHA-256 of the SPKI DER.
    pub(super) id: String,
    /// in-toto's keyid (`None` for secp256k1, a curve securesystemslib has no scheme for).
    pub(super) keyid: Option<String>,
    verifier: Verifier,
}

#[derive(Clone, Debug)]
enum Verifier {
    /// A key Cairn also signs artifacts with: its one verification rule.
    Cairn(PublicKey),
    /// RSA-PSS: salt as long as the digest first, then the longest salt (see [`rsa_key`]).
    Rsa(Box<[rsa::pss::VerifyingKey<Sha256>; 2]>),
    /// ECDSA P-384 over SHA-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl AttestationKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every `PUBLIC KEY` PEM block of `text` (SPKI: RSA, EC P-256, EC P-384, Ed25519,
    /// secp256k1). Returns, per block in order, the [`PublicKey`] when the block is a key
    /// Cairn also signs artifacts with, `None` for attestation-only keys (RSA, P-384).
    ///
    /// Nothing is added unless every block is a key. Errors name `origin`.
    pub fn add_pem(&mut self, text: &str, origin: &str) -> Result<Vec<Option<PublicKey>>, Error> {
        let mut parsed = Vec::new();
        for der in pem_blocks(text, origin)? {
            parsed.push(parse_spki(&der).map_err(|reason| key_error(origin, reason))?);
        }
        Ok(parsed
            .into_iter()
            .map(|(key, public)| {
                self.push(key);
                public
            })
            .collect())
    }

    /// Adds a Cairn key (from [`crate::TrustedKeys`]).
    pub fn add_key(&mut self, key: &PublicKey) {
        self.push(cairn_key(key));
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Every key's id (hex SHA-256 of its SPKI DER), in the order added: the ids an
    /// attestation's `signers` name them by.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Every key.
    pub(super) fn iter(&self) -> impl Iterator<Item = &AttestationKey> {
        self.keys.iter()
    }

    fn push(&mut self, key: AttestationKey) {
        if !self.keys.iter().any(|k| k.id == key.id) {
            self.keys.push(key);
        }
    }
}

impl AttestationKey {
    /// Whether `signature` (raw bytes: DER for ECDSA) is this key's over `message`.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.verifier {
            Verifier::Cairn(key) => key.verify(&Signed::bytes(message), signature),
            Verifier::Rsa(salts) => {
                let digest = Sha256::digest(message);
                rsa::pss::Signature::try_from(signature)
                    .is_ok_and(|s| salts.iter().any(|k| k.verify_prehash(&digest, &s).is_ok()))
            }
            Verifier::P384(key) => p384::ecdsa::Signature::from_der(signature)
                // cryptography (OpenSSL) makes high-S signatures as often as low-S ones.
                .map(|s| s.normalize_s().unwrap_or(s))
                .is_ok_and(|s| key.verify_prehash(&Sha384::digest(message), &s).is_ok()),
        }
    }
}

/// in-toto's keyid of a Cairn key: what securesystemslib computes for it (`None` for
/// secp256k1, which securesystemslib does not sign with).
pub fn in_toto_keyid(key: &PublicKey) -> Option<String> {
    cairn_key(key).keyid
}

/// securesystemslib's `compute_default_keyid`: SHA-256 of the canonical JSON of
/// `{"keytype", "scheme", "keyval": {"public"}}`, without `keyid_hash_algorithms`.
fn keyid(keytype: &str, scheme: &str, public: String) -> String {
    let object = serde_json::json!({
        "keytype": keytype,
        "scheme": scheme,
        "keyval": {"public": public},
    });
    let mut bytes = Vec::new();
    // A fixed object of strings: canonicalisation cannot fail.
    let _ = olpc_canonical(&object, &mut bytes);
    hex::encode(Sha256::digest(bytes))
}

/// The public value securesystemslib keeps for RSA and ECDSA keys: the SPKI PEM as
/// cryptography writes it (64-column lines, LF, a final newline), the same as
/// `openssl pkey -pubout`.
fn spki_pem(der: &[u8]) -> Result<String, String> {
    pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, der).map_err(|e| e.to_string())
}

fn cairn_key(key: &PublicKey) -> AttestationKey {
    let keyid = match key {
        // `to_pem` is the PEM of the uncompressed point, as cryptography writes it.
        PublicKey::P256(_) => Some(keyid("ecdsa", "ecdsa-sha2-nistp256", key.to_pem())),
        PublicKey::Ed25519(k) => Some(keyid("ed25519", "ed25519", hex::encode(k.to_bytes()))),
        PublicKey::Secp256k1(_) => None,
    };
    AttestationKey {
        id: key.id(),
        keyid,
        verifier: Verifier::Cairn(key.clone()),
    }
}

/// An attestation key from SPKI DER, and the Cairn key it also is, if it is one.
fn parse_spki(der: &[u8]) -> Result<(AttestationKey, Option<PublicKey>), String> {
    if let Ok(key) = PublicKey::from_spki_der(der) {
        return Ok((cairn_key(&key), Some(key)));
    }
    if let Ok(key) = rsa::RsaPublicKey::from_public_key_der(der) {
        return rsa_key(key).map(|k| (k, None));
    }
    if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
        // Re-encoded, so that the id and the PEM are of the uncompressed point whatever
        // form the file used.
        let der = key.to_public_key_der().map_err(|e| e.to_string())?;
        let keyid = keyid("ecdsa", "ecdsa-sha2-nistp384", spki_pem(der.as_bytes())?);
        let key = AttestationKey {
            id: hex::encode(Sha256::digest(der.as_bytes())),
            keyid: Some(keyid),
            verifier: Verifier::P384(key),
        };
        return Ok((key, None));
    }
    Err("not an RSA, EC P-256, EC P-384, secp256k1 or Ed25519 SPKI public key".into())
}

/// securesystemslib signs RSA-PSS with a salt as long as the digest (32 bytes) and verifies
/// any salt length; in-toto-golang and ring sign the same way. OpenSSL's default salt is the
/// longest that fits, so that one is accepted too: the salt is random bytes either way, and
/// only its length is fixed.
fn rsa_key(key: rsa::RsaPublicKey) -> Result<AttestationKey, String> {
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "RSA key of {bits} bits: at least {MIN_RSA_BITS} are required"
        ));
    }
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    let keyid = keyid("rsa", "rsassa-pss-sha256", spki_pem(der.as_bytes())?);
    // RFC 8017 9.1: emLen = ceil((modBits - 1) / 8), the longest salt emLen - hLen - 2.
    let longest = (bits - 1).div_ceil(8).saturating_sub(32 + 2);
    let salts = [32, longest]
        .map(|salt| rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(key.clone(), salt));
    Ok(AttestationKey {
        id: hex::encode(Sha256::digest(der.as_bytes())),
        keyid: Some(keyid),
        verifier: Verifier::Rsa(Box::new(salts)),
    })
}

/// The DER of every `PUBLIC KEY` block of a PEM text.
fn pem_blocks(text: &str, origin: &str) -> Result<Vec<Vec<u8>>, Error> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let end = rest[start..]
            .find(END)
            .ok_or_else(|| key_error(origin, "unterminated PEM block"))?
            + start
            + END.len();
        let (_, der) = pkcs8::der::pem::decode_vec(&rest.as_bytes()[start..end])
            .map_err(|e| key_error(origin, format!("bad PEM: {e}")))?;
        blocks.push(der);
        rest = &rest[end..];
    }
    if blocks.is_empty() {
        return Err(key_error(origin, "no PUBLIC KEY block"));
    }
    Ok(blocks)
}

fn key_error(origin: &str, reason: impl std::fmt::Display) -> Error {
    Error::Key {
        origin: origin.into(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEak6IiNrXnRibS9psmX1a6DX196R3
PJsIGQv3btXp4kSR802ku75m+hxPL2gK+ENq23IF59Qu6C8Gq+je13nvJg==
-----END PUBLIC KEY-----
";
    const P384: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEZXUBI9zwRFh90C7xo4Jfu7juk83X8ANR
R4Xy0kLVehR33z+3iFEFMH6+8mAvbjv5duTXv1FhEYCezmMONfgA4Q82dibwgUvX
qsRxOykB/Xlc0Hb0mL/c3YLRPFx29Lvg
-----END PUBLIC KEY-----
";
    const RSA2048: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkrX4UAUMs+/uEGAiVXeb
aVEHg8FWXYRmWC8roAK7lNjx6ZfWVpjYymKuiu+aGgxSIXSO5dJQaA1aeWM619I6
fp9H+8j0anx0lm61kd6Jw6uG/x538QU/bGFBuJt3ikB0HLeczhjeqqnPWpo6JyeS
OFs5q7hwxuYb8o5buLHgSiMkz70UBBveh33QapNwAH0AZWJhezbxgQFDg0/eumd9
U7F3E4VRIW5Str5US6jppV+s25c6pZOTGN+vdHAh2OBgrGVeKhaqT6rK5+nzPm2F
an78LZIhsPELhWGhBx22QMLdmWPUCLTGv3t7ziu9nH0ktCtKYjwv6xiN/KlQVhLr
7QIDAQAB
-----END PUBLIC KEY-----
";
    const RSA1024: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDYMaJUTvQcCcC77Eyp952+/5WU
G/Ysqh45+dGwODPI6AEmL2OXeG0X0X8I0phs5Mm5V+oRJAL0Bw9AJItNll/D/uxz
uiJXjcRqSzRawscIxfhPGI9+KY7ExVMpFN4vFdJ5avINk1vp4lFIxw7sUVn8hL6U
o04INXsdt9SAQ0DRpQIDAQAB
-----END PUBLIC KEY-----
";
    const P521: &str = "-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQB6EdyCwpAZVJdKrnl13zFcRy9ecWO
paGHwiouzWMcC/UwarooDBbl4Mp/RBDkI9YWcvdw/RpyMpe1wuRxMVZ5VBAB3orw
74LMIC6Dncwd4H47UWxgmorpr3oVkyzBDsBCP4qORSNI+xvtKXBSlD3NULphPjJM
D5kAQIOSNDTkT5kvW5g=
-----END PUBLIC KEY-----
";

    fn fixture_key() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/in-toto/signer.pub.pem"
        );
        std::fs::read_to_string(path).unwrap()
    }

    /// The keyids are the ones securesystemslib 1.6.0 (in-toto 3.0.0) computed for these
    /// keys (`SSlibKey.from_crypto(...).keyid`, and the fixture link's file name).
    #[test]
    fn keyids_are_securesystemslibs() {
        let ed = PublicKey::from_pem(&fixture_key(), "fixture").unwrap();
        assert_eq!(
            in_toto_keyid(&ed).unwrap(),
            "1c656f99c470df02d88b13ddd5f06ce392deae2af0b1173964e11a86e34b8139"
        );
        let p256 = PublicKey::from_pem(P256, "p256").unwrap();
        assert_eq!(
            in_toto_keyid(&p256).unwrap(),
            "acd2454a471b9d02a9d7f5ffa8a7253b55a961d6720e770a22c37ea529730c97"
        );
        let mut keys = AttestationKeys::new();
        assert_eq!(keys.add_pem(P384, "p384").unwrap(), [None]);
        let k = keys.iter().next().unwrap();
        assert_eq!(
            k.keyid.as_deref(),
            Some("2b998c2759c4bcfa99cc048d41801c03f185982f07324ec7a0971a73a90156e1")
        );
        let der = pkcs8::der::pem::decode_vec(P384.as_bytes()).unwrap().1;
        assert_eq!(k.id, hex::encode(Sha256::digest(der)));
        assert_eq!(keys.add_pem(RSA2048, "rsa").unwrap(), [None]);
        assert_eq!(
            keys.iter().nth(1).unwrap().keyid.as_deref(),
            Some("b09879f925ae1d84098eb3e633bd35944976bd5fbc588fcdfad4ca2cc85d4fb1")
        );
        let k256 = crate::PrivateKey::generate(crate::Algorithm::Secp256k1).unwrap();
        assert_eq!(in_toto_keyid(k256.public()), None);
    }

    #[test]
    fn add_pem_reports_cairn_keys_in_order_and_keeps_each_key_once() {
        let mut keys = AttestationKeys::new();
        let text = format!("{P384}{}{P256}", fixture_key());
        let added = keys.add_pem(&text, "bundle").unwrap();
        assert_eq!(added.len(), 3);
        assert!(added[0].is_none());
        assert_eq!(
            added[1].as_ref().map(PublicKey::algorithm),
            Some(crate::Algorithm::Ed25519)
        );
        assert_eq!(
            added[2].as_ref().map(PublicKey::algorithm),
            Some(crate::Algorithm::P256)
        );
        assert_eq!(keys.len(), 3);
        keys.add_pem(P256, "again").unwrap();
        keys.add_key(added[1].as_ref().unwrap());
        assert_eq!(keys.len(), 3);
        assert!(!keys.is_empty());
        assert!(AttestationKeys::new().is_empty());
    }

    #[test]
    fn refusals_name_their_origin_and_add_nothing() {
        let mut keys = AttestationKeys::new();
        let e = keys.add_pem(P256.replace("PUBLIC", "PRIVATE").as_str(), "private.pem");
        assert_eq!(
            e.unwrap_err().to_string(),
            "private.pem: no PUBLIC KEY block"
        );
        for (text, why) in [
            (RSA1024, "1024 bits"),
            (P521, "not an RSA"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n", "unterminated"),
            (
                "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n",
                "bad PEM",
            ),
        ] {
            // After a good key: a refused text adds none of its keys.
            let text = format!("{P256}{text}");
            let e = keys.add_pem(&text, "keys.pem").unwrap_err().to_string();
            assert!(e.starts_with("keys.pem: ") && e.contains(why), "{e}");
        }
        assert!(keys.is_empty());
    }

    #[test]
    fn garbage_signatures_verify_nothing() {
        let mut keys = AttestationKeys::new();
        keys.add_pem(&format!("{RSA2048}{P384}{P256}{}", fixture_key()), "k")
            .unwrap();
        for sig in [
            &[][..],
            &[0x30, 0x02, 0x02, 0x00][..],
            &[0xff; 64][..],
            &[0; 256][..],
            &[0xff; 256][..],
        ] {
            assert!(keys.iter().all(|k| !k.verify(b"message", sig)));
        }
    }
}
