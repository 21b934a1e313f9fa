//! Telling the kinds of detached signature apart by their bytes, and parsing each kind.
//!
//! The kinds overlap: a raw Ed25519 signature may start like an OpenPGP packet header, and
//! 64 bytes of DER ECDSA are 128 hex digits like a hex Ed25519 signature. So the stricter
//! reading is tried first: a complete OpenPGP signature packet, then well-formed DER, and
//! only then the bare length of an Ed25519 signature.

use super::Kind;
use crate::error::{Error, SignatureDefect};

/// Length of an Ed25519 signature.
const ED25519_LEN: usize = 64;

/// A detached signature, parsed as the kind it claims to be.
pub(crate) enum Parsed {
    /// DER ECDSA (high-S accepted, as `PublicKey::verify` does).
    Ecdsa(Vec<u8>),
    /// Ed25519.
    Ed25519(ed25519_dalek::Signature),
    /// One OpenPGP signature over a document.
    #[cfg(feature = "openpgp")]
    OpenPgp(Box<pgp::packet::Signature>),
}

impl Parsed {
    /// Parses `bytes` as a signature of `kind`.
    pub(crate) fn new(kind: Kind, bytes: &[u8]) -> Result<Self, Error> {
        match kind {
            Kind::Ecdsa => ecdsa(bytes).map(Parsed::Ecdsa),
            Kind::Ed25519 => ed25519(bytes).map(Parsed::Ed25519),
            #[cfg(feature = "openpgp")]
            Kind::OpenPgp => {
                crate::openpgp::parse_signature(bytes).map(|s| Parsed::OpenPgp(Box::new(s)))
            }
            #[cfg(not(feature = "openpgp"))]
            Kind::OpenPgp => Err(Error::Signature(SignatureDefect::NoOpenPgp)),
        }
    }
}

/// What kind a signature file's bytes are: OpenPGP armor (`-----BEGIN PGP SIGNATURE`) or a
/// binary OpenPGP signature packet that parses; hex text (surrounding whitespace trimmed,
/// either case) of well-formed DER ECDSA; exactly 64 raw bytes or 128 hex digits of
/// Ed25519. Without the `openpgp` feature, OpenPGP signatures are refused as such.
pub fn classify(bytes: &[u8]) -> Result<Kind, Error> {
    if bytes
        .trim_ascii_start()
        .starts_with(b"-----BEGIN PGP SIGNATURE")
    {
        return openpgp(bytes);
    }
    let packet_like = looks_like_packet(bytes);
    if packet_like && openpgp(bytes).is_ok() {
        return Ok(Kind::OpenPgp);
    }
    if let Some(text) = hex_text(bytes) {
        if ecdsa(text.as_bytes()).is_ok() {
            return Ok(Kind::Ecdsa);
        }
        if text.len() == 2 * ED25519_LEN {
            return Ok(Kind::Ed25519);
        }
    }
    if bytes.len() == ED25519_LEN {
        return Ok(Kind::Ed25519);
    }
    if packet_like {
        // Neither Ed25519 nor anything else: the OpenPGP parser's reason is the useful one.
        return openpgp(bytes);
    }
    Err(Error::Signature(SignatureDefect::Unrecognized))
}

/// OpenPGP when it parses as an OpenPGP signature; the parser's refusal otherwise.
#[cfg(feature = "openpgp")]
fn openpgp(bytes: &[u8]) -> Result<Kind, Error> {
    crate::openpgp::parse_signature(bytes).map(|_| Kind::OpenPgp)
}

/// Without OpenPGP support, what looks like OpenPGP is refused as such.
#[cfg(not(feature = "openpgp"))]
fn openpgp(_bytes: &[u8]) -> Result<Kind, Error> {
    Err(Error::Signature(SignatureDefect::NoOpenPgp))
}

/// A signature packet header: old format tag 2 (one, two or four length octets) or new
/// format tag 2. The same test as `openpgp::looks_like_openpgp`, which builds without the
/// feature lack.
fn looks_like_packet(bytes: &[u8]) -> bool {
    bytes
        .first()
        .is_some_and(|b| matches!(b, 0x88 | 0x89 | 0x8a | 0xc2))
}

/// The trimmed text when `bytes` are nothing but hex digits around whitespace.
fn hex_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text)
}

/// DER ECDSA from its hex text.
fn ecdsa(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Signature(SignatureDefect::NotHex))?;
    crate::verify::parse(text)
}

/// Ed25519 from 64 raw bytes or 128 hex digits (whitespace around them ignored).
fn ed25519(bytes: &[u8]) -> Result<ed25519_dalek::Signature, Error> {
    let raw: [u8; ED25519_LEN] = match <[u8; ED25519_LEN]>::try_from(bytes) {
        Ok(raw) => raw,
        Err(_) => hex_text(bytes)
            .filter(|t| t.len() == 2 * ED25519_LEN)
            .and_then(|t| hex::decode(t).ok())
            .and_then(|d| <[u8; ED25519_LEN]>::try_from(d).ok())
            .ok_or_else(|| Error::MalformedSignature {
                kind: Kind::Ed25519,
                reason: "neither 64 raw bytes nor 128 hex digits".into(),
            })?,
    };
    Ok(ed25519_dalek::Signature::from_bytes(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecdsa_hex() -> String {
        let key = crate::PrivateKey::generate(crate::Algorithm::P256).unwrap();
        hex::encode(key.sign_digest(&crate::sha256(b"x")).unwrap())
    }

    #[test]
    fn each_kind_is_told_apart() {
        let der = ecdsa_hex();
        assert_eq!(classify(der.as_bytes()).unwrap(), Kind::Ecdsa);
        assert_eq!(
            classify(format!("  {}\n", der.to_uppercase()).as_bytes()).unwrap(),
            Kind::Ecdsa
        );
        // Raw Ed25519 starting like an OpenPGP packet header is still Ed25519.
        for first in [0x88u8, 0x89, 0xc2, 0x00] {
            let mut raw = [0x5au8; 64];
            raw[0] = first;
            assert_eq!(classify(&raw).unwrap(), Kind::Ed25519, "{first:#x}");
            let hex = format!("{}\n", hex::encode(raw));
            assert_eq!(classify(hex.as_bytes()).unwrap(), Kind::Ed25519);
        }
    }

    #[test]
    fn garbage_is_refused() {
        let garbage: [&[u8]; 6] = [
            b"",
            b"hello",
            &[0u8; 63],
            &[0u8; 65],
            b"abc",
            b"-----BEGIN X",
        ];
        for bytes in garbage {
            assert!(
                matches!(
                    classify(bytes),
                    Err(Error::Signature(SignatureDefect::Unrecognized))
                ),
                "{bytes:?}"
            );
        }
        // Header-like but not a packet, and not 64 bytes: the OpenPGP reason is given.
        assert!(matches!(
            classify(&[0xc2u8; 10]),
            Err(Error::MalformedSignature { .. } | Error::Signature(SignatureDefect::NoOpenPgp))
        ));
    }

    #[test]
    fn parsing_holds_each_kind_to_its_form() {
        assert!(Parsed::new(Kind::Ed25519, &[1u8; 64]).is_ok());
        assert!(Parsed::new(Kind::Ed25519, hex::encode([1u8; 64]).as_bytes()).is_ok());
        assert!(matches!(
            Parsed::new(Kind::Ed25519, &[1u8; 63]),
            Err(Error::MalformedSignature {
                kind: Kind::Ed25519,
                ..
            })
        ));
        assert!(matches!(
            Parsed::new(Kind::Ecdsa, b"zz"),
            Err(Error::Signature(SignatureDefect::NotHex))
        ));
        assert!(matches!(
            Parsed::new(Kind::Ecdsa, b"3006020101020101ff"),
            Err(Error::Signature(SignatureDefect::NotDer))
        ));
        assert!(Parsed::new(Kind::OpenPgp, &[0x5au8; 64]).is_err());
    }

    #[cfg(not(feature = "openpgp"))]
    #[test]
    fn without_openpgp_support_openpgp_is_refused_as_such() {
        let armored = b"-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n";
        assert!(matches!(
            classify(armored),
            Err(Error::Signature(SignatureDefect::NoOpenPgp))
        ));
        assert!(matches!(
            classify(&[0x89u8; 100]),
            Err(Error::Signature(SignatureDefect::NoOpenPgp))
        ));
    }
}
