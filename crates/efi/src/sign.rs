//! Authenticode signing: a PKCS#7 SignedData over the image's SpcIndirectDataContent,
//! signed with an RSA db key and carrying its certificate, in a WIN_CERTIFICATE appended
//! to the image (what `sbsign` writes, and what UEFI firmware checks against db).
//!
//! The private key is held sealed in guarded memory (`cairn-secmem`) and opened for one
//! signature at a time; the RSA key the `rsa` crate builds from it lives for that
//! signature only and is zeroed when dropped.

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier};
use der::asn1::ObjectIdentifier;
use der::{Any, Decode as _, Encode as _};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::Error;
use crate::pe::Layout;

/// `SPC_INDIRECT_DATA_OBJID`: the content type of an Authenticode signature.
pub const SPC_INDIRECT_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.4");
/// `SPC_PE_IMAGE_DATAOBJ`: what the indirect data describes, a PE image.
const SPC_PE_IMAGE_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.15");
/// SHA-256.
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `WIN_CERT_REVISION_2_0`.
pub(crate) const WIN_CERT_REVISION: u16 = 0x0200;
/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
pub(crate) const WIN_CERT_TYPE_PKCS: u16 = 0x0002;

/// An RSA signing key (db for images; PK or KEK for variable updates), sealed, with its
/// X.509 certificate.
#[derive(Debug)]
pub struct EfiKey {
    pub(crate) secret: cairn_secmem::Enclave,
    pub(crate) cert: Certificate,
}

fn der_error<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Signing(format!("{what}: {e}"))
}

impl EfiKey {
    /// A key from its DER (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, already in
    /// guarded memory) and its certificate (DER or PEM). The key must match the
    /// certificate.
    pub fn new(key_der: cairn_secmem::LockedBuffer, cert: &[u8]) -> Result<Self, Error> {
        let cert = Certificate::from_der(&crate::cert::certificate_der(cert)?)
            .map_err(der_error("certificate"))?;
        let key = EfiKey {
            secret: cairn_secmem::Enclave::seal(key_der)
                .map_err(|e| Error::Signing(e.to_string()))?,
            cert,
        };
        let public = key.with_key(|k| k.to_public_key())?;
        let spki = key
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(der_error("certificate key"))?;
        let ours = rsa::pkcs8::EncodePublicKey::to_public_key_der(&public)
            .map_err(|e| Error::Signing(e.to_string()))?;
        if ours.as_bytes() != spki.as_slice() {
            return Err(Error::Signing(
                "the private key does not belong to the certificate".into(),
            ));
        }
        Ok(key)
    }

    /// Runs `f` with the RSA key opened from the sealed secret, for one operation.
    pub(crate) fn with_key<R>(&self, f: impl FnOnce(&RsaPrivateKey) -> R) -> Result<R, Error> {
        let opened = self
            .secret
            .open()
            .map_err(|e| Error::Signing(e.to_string()))?;
        let bytes = opened.bytes();
        let key = rsa::pkcs8::DecodePrivateKey::from_pkcs8_der(&bytes)
            .or_else(|_| rsa::pkcs1::DecodeRsaPrivateKey::from_pkcs1_der(&bytes))
            .map_err(|_| Error::Signing("the key is not an RSA private key".into()))?;
        let result = f(&key);
        drop(key);
        cairn_secmem::scrub_stack();
        Ok(result)
    }

    /// The certificate's DER.
    pub fn certificate_der(&self) -> Result<Vec<u8>, Error> {
        self.cert.to_der().map_err(der_error("certificate"))
    }
}

/// A DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The DER of SpcIndirectDataContent for an image digest, as sbsign writes it: a PE image
/// with empty flags and the "<<<Obsolete>>>" file link, then the SHA-256 DigestInfo.
pub(crate) fn indirect_data(digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
    let oid = |o: ObjectIdentifier| o.to_der().map_err(der_error("oid"));
    let obsolete: Vec<u8> = "<<<Obsolete>>>"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let link = tlv(0xa0, &tlv(0xa2, &tlv(0x80, &obsolete)));
    let pe_data = tlv(0x30, &[&[0x03, 0x01, 0x00][..], &link].concat());
    let data = tlv(0x30, &[oid(SPC_PE_IMAGE_DATA)?, pe_data].concat());
    let algorithm = tlv(0x30, &[oid(SHA256)?, vec![0x05, 0x00]].concat());
    let digest_info = tlv(0x30, &[algorithm, tlv(0x04, digest)].concat());
    Ok(tlv(0x30, &[data, digest_info].concat()))
}

/// The PKCS#7 ContentInfo (DER) of an Authenticode signature over `digest`.
pub fn signature(digest: &[u8; 32], key: &EfiKey) -> Result<Vec<u8>, Error> {
    let content = EncapsulatedContentInfo {
        econtent_type: SPC_INDIRECT_DATA,
        econtent: Some(Any::from_der(&indirect_data(digest)?).map_err(der_error("content"))?),
    };
    let sha256 = AlgorithmIdentifierOwned {
        oid: SHA256,
        parameters: None,
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: key.cert.tbs_certificate.issuer.clone(),
        serial_number: key.cert.tbs_certificate.serial_number.clone(),
    });
    let built = key.with_key(|private| -> Result<ContentInfo, Error> {
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(private.clone());
        let info = SignerInfoBuilder::new(&signer, sid, sha256.clone(), &content, None)
            .map_err(der_error("signer"))?;
        let mut builder = SignedDataBuilder::new(&content);
        builder
            .add_digest_algorithm(sha256.clone())
            .and_then(|b| b.add_certificate(CertificateChoices::Certificate(key.cert.clone())))
            .and_then(|b| b.add_signer_info::<_, rsa::pkcs1v15::Signature>(info))
            .map_err(der_error("signing"))?;
        builder.build().map_err(der_error("signed data"))
    })??;
    // Authenticode is PKCS#7: SignedData version 1 (CMS would say 3 for a content type
    // other than data). The version is not under the signature.
    let mut signed: SignedData = built
        .content
        .decode_as()
        .map_err(der_error("signed data"))?;
    signed.version = CmsVersion::V1;
    let info = ContentInfo {
        content_type: built.content_type,
        content: Any::encode_from(&signed).map_err(der_error("signed data"))?,
    };
    info.to_der().map_err(der_error("content info"))
}

/// Signs an image. Unsigned: pads it to 8 bytes, appends the certificate table (one
/// WIN_CERTIFICATE, itself padded to 8 bytes), points the directory entry at it and
/// recomputes the PE checksum. Signed already: appends one more WIN_CERTIFICATE over the
/// same digest (the table is not part of it), so either key's db entry allows the image.
pub fn sign(image: &[u8], key: &EfiKey) -> Result<Signed, Error> {
    let layout = Layout::of(image)?;
    let mut out = match layout.cert_table {
        Some((at, size)) if at + size != image.len() => {
            return Err(Error::Signing(
                "the image's certificate table does not end the file".into(),
            ));
        }
        Some(_) => image.to_vec(),
        None => {
            let mut out = image.to_vec();
            out.resize(image.len().next_multiple_of(8), 0);
            out
        }
    };
    // The digest of the image as it will be covered: unsigned, once padded; signed, as it
    // is (its table, about to be padded, is not part of it).
    let digest = crate::authenticode::digest(&out)?;
    let (table_at, old_size) = layout
        .cert_table
        .map_or((out.len(), 0), |(at, size)| (at, size.next_multiple_of(8)));
    out.resize(table_at + old_size, 0);
    let pkcs7 = signature(&digest, key)?;
    let length =
        u32::try_from(8 + pkcs7.len()).map_err(|_| Error::Signing("signature too large".into()))?;
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_REVISION.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_TYPE_PKCS.to_le_bytes());
    out.extend_from_slice(&pkcs7);
    out.resize(out.len().next_multiple_of(8), 0);
    let size = out.len() - table_at;
    set_table(&mut out, &layout, table_at, size)?;
    Ok(Signed { image: out, digest })
}

/// The image without its signatures: the certificate table cut off, the directory entry
/// zeroed, the checksum recomputed (the padding signing added stays, as with
/// `sbattach --remove`).
pub fn unsign(image: &[u8]) -> Result<Vec<u8>, Error> {
    let layout = Layout::of(image)?;
    let Some((at, size)) = layout.cert_table else {
        return Err(Error::Signing("the image is not signed".into()));
    };
    if at + size != image.len() {
        return Err(Error::Signing(
            "the image's certificate table does not end the file".into(),
        ));
    }
    let mut out = image[..at].to_vec();
    set_table(&mut out, &layout, 0, 0)?;
    Ok(out)
}

/// Points the certificate-table directory entry at `(at, size)` and recomputes the checksum.
fn set_table(out: &mut [u8], layout: &Layout, at: usize, size: usize) -> Result<(), Error> {
    let too_large = || Error::Signing("image too large".into());
    let at = u32::try_from(at).map_err(|_| too_large())?;
    let size = u32::try_from(size).map_err(|_| too_large())?;
    out[layout.cert_dir..layout.cert_dir + 4].copy_from_slice(&at.to_le_bytes());
    out[layout.cert_dir + 4..layout.cert_dir + 8].copy_from_slice(&size.to_le_bytes());
    let sum = checksum(out, layout.checksum);
    out[layout.checksum..layout.checksum + 4].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// A signed image, and the Authenticode digest its signature covers.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The signed image's bytes.
    pub image: Vec<u8>,
    /// Its Authenticode digest (the same before and after signing).
    pub digest: [u8; 32],
}

/// The PE checksum: the file's 16-bit little-endian words added with end-around carry
/// (the CheckSum field counted as zero), plus the file's length. Summed wide and folded
/// once: the carries come out the same.
fn checksum(image: &[u8], field: usize) -> u32 {
    let words = image.chunks_exact(2);
    let odd = words.remainder().first().map_or(0, |b| u64::from(*b));
    let mut sum: u64 = words
        .map(|w| u64::from(u16::from_le_bytes([w[0], w[1]])))
        .sum::<u64>()
        + odd;
    // Take the field's two words back out (a hostile image with an odd field offset keeps
    // them: its checksum is wrong, which the firmware does not check).
    if let Some(f) = image.get(field..field + 4).filter(|_| field % 2 == 0) {
        sum -= u64::from(u16::from_le_bytes([f[0], f[1]]))
            + u64::from(u16::from_le_bytes([f[2], f[3]]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    (sum as u32).wrapping_add(image.len() as u32)
}
