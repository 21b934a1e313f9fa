//! Verifying an image as UEFI firmware does: allowed when its Authenticode digest is in db,
//! or when a signature over that digest verifies and chains to a certificate in db;
//! refused, whatever db says, when the digest or any certificate of the chain is in dbx.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode as _, Encode as _, Reader as _, Sequence, SliceReader};
use rsa::RsaPublicKey;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::Error;
use crate::guid::Guid;
use crate::pe::Layout;
use crate::siglist::SignatureList;
use crate::sign::{SPC_INDIRECT_DATA, WIN_CERT_TYPE_PKCS};

pub(crate) const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub(crate) const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
pub(crate) const MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");

/// SpcIndirectDataContent: what the image is, and its digest.
#[derive(Sequence)]
struct IndirectData {
    data: Any,
    message_digest: DigestInfo,
}

#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

/// The certificates and image digests of a db or dbx (X.509 and SHA-256 entries).
#[derive(Clone, Debug, Default)]
pub struct Database {
    /// DER certificates.
    pub certificates: Vec<Vec<u8>>,
    /// SHA-256 Authenticode digests of images.
    pub digests: Vec<[u8; 32]>,
}

impl Database {
    /// Adds a certificate (DER or PEM), the lists of an `.esl` file, or those of a signed
    /// update (`.auth`), whichever `bytes` are.
    pub fn add_file(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Ok(der) = crate::cert::certificate_der(bytes) {
            self.certificates.push(der);
            return Ok(());
        }
        match crate::siglist::parse(bytes) {
            Ok(lists) => self.add_lists(&lists),
            Err(e) => match crate::auth::parse(bytes) {
                Ok(update) => self.add_lists(&crate::siglist::parse(update.list)?),
                Err(_) => return Err(e),
            },
        }
        Ok(())
    }

    /// Adds every X.509 and SHA-256 entry of `lists` (other types are not enforced here).
    pub fn add_lists(&mut self, lists: &[SignatureList]) {
        for list in lists {
            for e in &list.entries {
                match list.kind {
                    Guid::CERT_X509 => self.certificates.push(e.data.clone()),
                    Guid::CERT_SHA256 => {
                        if let Ok(d) = <[u8; 32]>::try_from(e.data.as_slice()) {
                            self.digests.push(d);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Why an image is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Its digest is listed in db.
    DigestInDb,
    /// A signature by `signer` (subject) chains to the db certificate `anchor` (subject).
    Signed {
        /// The signing certificate's subject.
        signer: String,
        /// The db certificate it chains to.
        anchor: String,
    },
}

/// Why an image is refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The image's digest is in dbx.
    #[error("the image's digest is in dbx")]
    DigestInDbx,
    /// A certificate of the signature's chain is in dbx.
    #[error("certificate {0} of the signature's chain is in dbx")]
    CertificateInDbx(String),
    /// Unsigned, and its digest is not in db.
    #[error("the image is not signed, and its digest is not in db")]
    Unsigned,
    /// No signature verifies and chains to db (each signature's reason, in order).
    #[error("no signature chains to db: {}", .0.join("; "))]
    NotTrusted(Vec<String>),
}

/// Decides `image` against `db` and `dbx`. `Err` is a malformed image; `Ok(Err)` a refusal.
pub fn verify(
    image: &[u8],
    db: &Database,
    dbx: &Database,
) -> Result<Result<Allowed, Refused>, Error> {
    let layout = Layout::of(image)?;
    let digest = crate::authenticode::digest(image)?;
    if dbx.digests.contains(&digest) {
        return Ok(Err(Refused::DigestInDbx));
    }
    let signatures = match layout.cert_table {
        Some((at, size)) => signatures(&image[at..at + size])?,
        None => Vec::new(),
    };
    // Every signature is weighed before any allows: one whose chain dbx lists refuses the
    // image, whatever the others say (as the firmware does).
    let mut reasons = Vec::new();
    let mut allowed = None;
    for signed in &signatures {
        match check(signed, &digest, db, dbx) {
            Ok(a) => {
                allowed.get_or_insert(a);
            }
            Err(Verdict::Refused(r)) => return Ok(Err(r)),
            Err(Verdict::Untrusted(why)) => reasons.push(why),
        }
    }
    if let Some(a) = allowed {
        return Ok(Ok(a));
    }
    if db.digests.contains(&digest) {
        return Ok(Ok(Allowed::DigestInDb));
    }
    Ok(Err(if signatures.is_empty() {
        Refused::Unsigned
    } else {
        Refused::NotTrusted(reasons)
    }))
}

/// The PKCS#7 signatures of a certificate table (WIN_CERTIFICATE entries, 8-aligned).
pub(crate) fn signatures(table: &[u8]) -> Result<Vec<SignedData>, Error> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= table.len() {
        let length =
            u32::from_le_bytes([table[at], table[at + 1], table[at + 2], table[at + 3]]) as usize;
        let kind = u16::from_le_bytes([table[at + 6], table[at + 7]]);
        if length < 8 || at + length > table.len() {
            return Err(Error::Pe(format!(
                "certificate-table entry at {at} has length {length}"
            )));
        }
        if kind == WIN_CERT_TYPE_PKCS {
            let mut reader = SliceReader::new(&table[at + 8..at + length]).map_err(pkcs7)?;
            let info: ContentInfo = reader.decode().map_err(pkcs7)?;
            out.push(info.content.decode_as().map_err(pkcs7)?);
        }
        at += length.next_multiple_of(8);
    }
    Ok(out)
}

/// The X.509 certificates a SignedData carries (other kinds of certificate skipped).
pub(crate) fn certificates(signed: &SignedData) -> Vec<&Certificate> {
    signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn pkcs7(e: der::Error) -> Error {
    Error::Pe(format!("malformed signature: {e}"))
}

enum Verdict {
    Refused(Refused),
    Untrusted(String),
}

fn untrusted(why: impl Into<String>) -> Verdict {
    Verdict::Untrusted(why.into())
}

/// One signature: it signs this digest, verifies, and chains to db without touching dbx.
fn check(
    signed: &SignedData,
    digest: &[u8; 32],
    db: &Database,
    dbx: &Database,
) -> Result<Allowed, Verdict> {
    let (signer, certs) = verified_signer(signed, digest).map_err(Verdict::Untrusted)?;
    chain_to_db(signer, &certs, db, dbx)
}

/// The signer's certificate of an Authenticode signature that signs `digest` and whose
/// signature verifies, with every certificate the signature carries (for the chain); why
/// not, otherwise. Trust (db, dbx) is not weighed here.
pub(crate) fn verified_signer<'a>(
    signed: &'a SignedData,
    digest: &[u8; 32],
) -> Result<(&'a Certificate, Vec<&'a Certificate>), String> {
    let content = &signed.encap_content_info;
    let econtent = content
        .econtent
        .as_ref()
        .ok_or_else(|| "no content".to_owned())?;
    if content.econtent_type != SPC_INDIRECT_DATA {
        return Err("not an Authenticode signature".into());
    }
    let indirect = IndirectData::from_der(&econtent.to_der().map_err(|e| e.to_string())?)
        .map_err(|e| format!("indirect data: {e}"))?;
    if indirect.message_digest.algorithm.oid != SHA256 {
        return Err("not a SHA-256 signature".into());
    }
    if indirect.message_digest.digest.as_bytes() != digest {
        return Err("it signs another image digest".into());
    }
    let certs = certificates(signed);
    let info = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or_else(|| "no signer".to_owned())?;
    let signer = signer_certificate(info, &certs)?;
    check_signer_info(info, econtent, signer)?;
    Ok((signer, certs))
}

/// The certificate `info` names (by issuer and serial) among `certs`.
pub(crate) fn signer_certificate<'a>(
    info: &SignerInfo,
    certs: &[&'a Certificate],
) -> Result<&'a Certificate, String> {
    let SignerIdentifier::IssuerAndSerialNumber(id) = &info.sid else {
        return Err("the signer is not named by issuer and serial".into());
    };
    certs
        .iter()
        .copied()
        .find(|c| {
            c.tbs_certificate.issuer == id.issuer
                && c.tbs_certificate.serial_number == id.serial_number
        })
        .ok_or_else(|| "the signer's certificate is not in the signature".into())
}

/// The signed attributes carry this content's digest, and the signature over them verifies.
fn check_signer_info(
    info: &SignerInfo,
    econtent: &Any,
    signer: &Certificate,
) -> Result<(), String> {
    let attrs = info
        .signed_attrs
        .as_ref()
        .ok_or_else(|| "no signed attributes".to_owned())?;
    let value = |oid| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let content_digest: [u8; 32] = Sha256::digest(econtent.value()).into();
    let md = value(MESSAGE_DIGEST).ok_or_else(|| "no message digest attribute".to_owned())?;
    if md.value() != content_digest {
        return Err("the message digest attribute does not match the content".to_owned());
    }
    let ct = value(CONTENT_TYPE).ok_or_else(|| "no content type attribute".to_owned())?;
    if ct.value() != SPC_INDIRECT_DATA.as_bytes() {
        return Err("the content type attribute is not Authenticode's".to_owned());
    }
    if info.digest_alg.oid != SHA256
        || ![RSA, SHA256_WITH_RSA].contains(&info.signature_algorithm.oid)
    {
        return Err("only RSA with SHA-256 is supported".to_owned());
    }
    let signed = attrs.to_der().map_err(|e| e.to_string())?;
    rsa_verify(signer, &signed, info.signature.as_bytes())
}

/// Whether `signature` (RSA PKCS#1 v1.5, SHA-256) over `message` verifies under `by`'s key.
pub(crate) fn rsa_verify(by: &Certificate, message: &[u8], signature: &[u8]) -> Result<(), String> {
    let spki = by
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let key =
        RsaPublicKey::from_public_key_der(&spki).map_err(|_| "the key is not RSA".to_owned())?;
    let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|e| e.to_string())?;
    rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
        .verify(message, &signature)
        .map_err(|_| "the signature does not verify".to_owned())
}

fn subject(c: &Certificate) -> String {
    c.tbs_certificate.subject.to_string()
}

/// Walks from the signer up through the signature's certificates to a db certificate;
/// each link's signature must verify, and no certificate on the way may be in dbx.
fn chain_to_db(
    signer: &Certificate,
    certs: &[&Certificate],
    db: &Database,
    dbx: &Database,
) -> Result<Allowed, Verdict> {
    let db_certs: Vec<Certificate> = db
        .certificates
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut current = signer;
    for _ in 0..=certs.len() {
        let der = current.to_der().map_err(|e| untrusted(e.to_string()))?;
        if dbx.certificates.contains(&der) {
            return Err(Verdict::Refused(Refused::CertificateInDbx(subject(
                current,
            ))));
        }
        if db.certificates.contains(&der) {
            return Ok(Allowed::Signed {
                signer: subject(signer),
                anchor: subject(current),
            });
        }
        let tbs = current
            .tbs_certificate
            .to_der()
            .map_err(|e| untrusted(e.to_string()))?;
        let issued = |by: &Certificate| {
            by.tbs_certificate.subject == current.tbs_certificate.issuer
                && current.signature_algorithm.oid == SHA256_WITH_RSA
                && rsa_verify(by, &tbs, current.signature.raw_bytes()).is_ok()
        };
        if let Some(anchor) = db_certs.iter().find(|c| issued(c)) {
            let anchor_der = anchor.to_der().map_err(|e| untrusted(e.to_string()))?;
            if dbx.certificates.contains(&anchor_der) {
                return Err(Verdict::Refused(Refused::CertificateInDbx(subject(anchor))));
            }
            return Ok(Allowed::Signed {
                signer: subject(signer),
                anchor: subject(anchor),
            });
        }
        match certs
            .iter()
            .find(|c| !std::ptr::eq(**c, current) && issued(c))
        {
            Some(next) => current = next,
            None => break,
        }
    }
    Err(untrusted(format!(
        "{} does not chain to a db certificate",
        subject(signer)
    )))
}
