//! Who signed an image: the certificate of each Authenticode signature whose SignedData
//! verifies over the image's digest. Trust is not weighed here (that is db's and dbx's, in
//! [`crate::verify`]): this is what a registry records when it publishes an image, so that
//! every key that signed a published image is on the record.

use der::Encode as _;

use crate::error::Error;
use crate::pe::Layout;

/// A signed image whose every signature verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signers {
    /// The image's Authenticode digest (what every signature signs).
    pub authenticode: [u8; 32],
    /// The DER certificate of each signature's signer, in certificate-table order.
    pub certificates: Vec<Vec<u8>>,
}

/// Why an image's signatures do not stand.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// The image carries no Authenticode signature.
    #[error("the image is not signed")]
    Unsigned,
    /// A signature does not verify over the image's digest (it signs another image, its
    /// signed attributes were altered, or its RSA signature is not the signer's).
    #[error("signature {index} of the image does not verify: {why}")]
    Signature {
        /// Its position in the certificate table, from 0.
        index: usize,
        /// What failed.
        why: String,
    },
}

/// The signers of `image`. `Err` is a malformed image (not PE, or a signature that is not
/// PKCS#7); `Ok(Err)` an unsigned image or one with a signature that does not verify. Every
/// signature must verify: one that does not would be a signer nobody can name.
pub fn signers(image: &[u8]) -> Result<Result<Signers, Unverified>, Error> {
    let layout = Layout::of(image)?;
    let authenticode = crate::authenticode::digest(image)?;
    let signatures = match layout.cert_table {
        Some((at, size)) => crate::verify::signatures(&image[at..at + size])?,
        None => Vec::new(),
    };
    if signatures.is_empty() {
        return Ok(Err(Unverified::Unsigned));
    }
    let mut certificates = Vec::with_capacity(signatures.len());
    for (index, signed) in signatures.iter().enumerate() {
        let verified = crate::verify::verified_signer(signed, &authenticode)
            .and_then(|(signer, _)| signer.to_der().map_err(|e| e.to_string()));
        match verified {
            Ok(der) => certificates.push(der),
            Err(why) => return Ok(Err(Unverified::Signature { index, why })),
        }
    }
    Ok(Ok(Signers {
        authenticode,
        certificates,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::keygen::test_key as key;

    const HELLO: &str = "/usr/lib/efitools/x86_64-linux-gnu/HelloWorld.efi";

    #[test]
    fn every_signer_of_a_signed_image_is_named_in_order() {
        let hello = std::fs::read(HELLO).unwrap();
        assert_eq!(signers(&hello).unwrap(), Err(Unverified::Unsigned));
        let (a, b) = (key("CN=signer a"), key("CN=signer b"));
        let once = crate::sign::sign(&hello, &a.key).unwrap();
        let twice = crate::sign::sign(&once.image, &b.key).unwrap();
        let found = signers(&twice.image).unwrap().unwrap();
        assert_eq!(
            found.authenticode,
            crate::authenticode::digest(&twice.image).unwrap()
        );
        assert_eq!(
            found.certificates,
            vec![
                a.key.certificate_der().unwrap(),
                b.key.certificate_der().unwrap()
            ]
        );
    }

    #[test]
    fn a_signature_that_does_not_verify_is_named() {
        let hello = std::fs::read(HELLO).unwrap();
        let signed = crate::sign::sign(&hello, &key("CN=signer").key).unwrap();
        // The RSA signature is the last bytes of the SignedData, before the table's
        // padding: flip one of them.
        let layout = Layout::of(&signed.image).unwrap();
        let (at, size) = layout.cert_table.unwrap();
        let length = u32::from_le_bytes(signed.image[at..at + 4].try_into().unwrap()) as usize;
        assert!(length <= size);
        let mut tampered = signed.image.clone();
        tampered[at + length - 10] ^= 1;
        match signers(&tampered).unwrap() {
            Err(Unverified::Signature { index: 0, why }) => {
                assert!(why.contains("does not verify"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        // A section byte changed: the signature signs another digest.
        let mut edited = signed.image.clone();
        let (offset, _) = layout.sections[0];
        edited[offset] ^= 1;
        match signers(&edited).unwrap() {
            Err(Unverified::Signature { index: 0, why }) => {
                assert!(why.contains("another image digest"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        assert!(signers(b"MZ not a PE image").is_err());
    }
}
