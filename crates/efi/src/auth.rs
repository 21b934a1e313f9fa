//! Signed variable updates (`.auth` files, EFI_VARIABLE_AUTHENTICATION_2): a timestamp, a
//! WIN_CERTIFICATE_UEFI_GUID holding a bare PKCS#7 SignedData, then the new contents (a
//! signature list). The signature covers the variable's name (UTF-16LE), its vendor GUID,
//! its attributes, the timestamp and the contents. PK signs PK and KEK; KEK signs db and
//! dbx. The SignedData is what `sign-efi-sig-list` writes, byte for byte: no signed
//! attributes, detached content, SHA-256 and rsaEncryption with NULL parameters.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Encode as _};
use rsa::signature::{SignatureEncoding as _, Signer as _};
use sha2::Sha256;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::Error;
use crate::guid::Guid;
use crate::sign::EfiKey;

/// `WIN_CERT_TYPE_EFI_GUID`.
const WIN_CERT_TYPE_EFI_GUID: u16 = 0x0ef1;
/// `EFI_CERT_TYPE_PKCS7_GUID`: the certificate data is a PKCS#7 SignedData.
pub const CERT_TYPE_PKCS7: Guid = Guid::from_fields(
    0x4aaf_d29d,
    0x68df,
    0x49ee,
    [0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7],
);
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");

/// Non-volatile, boot-service and runtime access, time-based authenticated writes.
pub const ATTRIBUTES: u32 = 0x01 | 0x02 | 0x04 | 0x20;
/// `EFI_VARIABLE_APPEND_WRITE`.
pub const APPEND_WRITE: u32 = 0x40;

/// A Secure Boot key variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variable {
    /// The platform key: signs PK and KEK updates.
    Pk,
    /// The key exchange keys: sign db and dbx updates.
    Kek,
    /// The allowed signatures and image digests.
    Db,
    /// The forbidden ones, which win over db.
    Dbx,
}

impl Variable {
    /// The variable's name (`PK`, `KEK`, `db`, `dbx`).
    pub fn name(self) -> &'static str {
        match self {
            Variable::Pk => "PK",
            Variable::Kek => "KEK",
            Variable::Db => "db",
            Variable::Dbx => "dbx",
        }
    }

    /// Its vendor GUID: the global variable GUID for PK and KEK, the image security
    /// database's for db and dbx.
    pub fn vendor(self) -> Guid {
        match self {
            Variable::Pk | Variable::Kek => Guid::GLOBAL_VARIABLE,
            Variable::Db | Variable::Dbx => Guid::IMAGE_SECURITY_DATABASE,
        }
    }
}

impl std::str::FromStr for Variable {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [Variable::Pk, Variable::Kek, Variable::Db, Variable::Dbx]
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("{s:?}: expected PK, KEK, db or dbx"))
    }
}

/// EFI_TIME as an authenticated update carries it (UTC; nanoseconds, zone and daylight
/// zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EfiTime {
    /// 1900–9999.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59.
    pub second: u8,
}

impl EfiTime {
    /// Parses `YYYY-MM-DD HH:MM:SS` (what `sign-efi-sig-list -t` takes).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::Time(text.to_owned());
        let t = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
            .map_err(|_| bad())?;
        use chrono::{Datelike as _, Timelike as _};
        Ok(EfiTime {
            year: u16::try_from(t.year()).map_err(|_| bad())?,
            month: t.month() as u8,
            day: t.day() as u8,
            hour: t.hour() as u8,
            minute: t.minute() as u8,
            second: t.second() as u8,
        })
    }

    /// Its 16 bytes.
    pub fn to_bytes(self) -> [u8; 16] {
        let y = self.year.to_le_bytes();
        [
            y[0],
            y[1],
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]
    }
}

/// What the signature of an update covers.
pub(crate) fn signed_bytes(var: Variable, attributes: u32, time: EfiTime, list: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = var
        .name()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    out.extend_from_slice(&var.vendor().0);
    out.extend_from_slice(&attributes.to_le_bytes());
    out.extend_from_slice(&time.to_bytes());
    out.extend_from_slice(list);
    out
}

fn der_error<E: std::fmt::Display>(e: E) -> Error {
    Error::Signing(e.to_string())
}

fn with_null(oid: ObjectIdentifier) -> Result<AlgorithmIdentifierOwned, Error> {
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::new(der::Tag::Null, Vec::new()).map_err(der_error)?),
    })
}

/// A signed update of `var` to `list` (replacing it, or appended to it), at `time`.
pub fn signed_update(
    var: Variable,
    time: EfiTime,
    append: bool,
    list: &[u8],
    key: &EfiKey,
) -> Result<Vec<u8>, Error> {
    let attributes = ATTRIBUTES | if append { APPEND_WRITE } else { 0 };
    let message = signed_bytes(var, attributes, time, list);
    let signature = key
        .with_key(|private| {
            rsa::pkcs1v15::SigningKey::<Sha256>::new(private.clone())
                .try_sign(&message)
                .map(|s| s.to_vec())
        })?
        .map_err(der_error)?;
    let sha256 = with_null(SHA256)?;
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: key.cert.tbs_certificate.issuer.clone(),
            serial_number: key.cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: None,
        signature_algorithm: with_null(RSA)?,
        signature: OctetString::new(signature).map_err(der_error)?,
        unsigned_attrs: None,
    };
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(der_error)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(key.cert.clone())])
                .map_err(der_error)?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(der_error)?),
    };
    let pkcs7 = signed.to_der().map_err(der_error)?;
    let length = u32::try_from(8 + 16 + pkcs7.len()).map_err(der_error)?;
    let mut out = Vec::with_capacity(16 + length as usize + list.len());
    out.extend_from_slice(&time.to_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&crate::sign::WIN_CERT_REVISION.to_le_bytes());
    out.extend_from_slice(&WIN_CERT_TYPE_EFI_GUID.to_le_bytes());
    out.extend_from_slice(&CERT_TYPE_PKCS7.0);
    out.extend_from_slice(&pkcs7);
    out.extend_from_slice(list);
    Ok(out)
}

/// The parts of a `.auth` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update<'a> {
    /// The timestamp, as stored.
    pub time: [u8; 16],
    /// The PKCS#7 SignedData (DER).
    pub signature: &'a [u8],
    /// The new contents (a signature list).
    pub list: &'a [u8],
}

/// Splits a `.auth` file; every length is checked against the bytes.
pub fn parse(bytes: &[u8]) -> Result<Update<'_>, Error> {
    let bad = |what| Error::Auth(what);
    if bytes.len() < 16 + 24 {
        return Err(bad("shorter than its headers"));
    }
    let mut time = [0u8; 16];
    time.copy_from_slice(&bytes[..16]);
    let length = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as usize;
    let kind = u16::from_le_bytes([bytes[22], bytes[23]]);
    if kind != WIN_CERT_TYPE_EFI_GUID || bytes[24..40] != CERT_TYPE_PKCS7.0 {
        return Err(bad(
            "not a WIN_CERTIFICATE_UEFI_GUID with a PKCS#7 signature",
        ));
    }
    if length < 24 || 16 + length > bytes.len() {
        return Err(bad("the signature's length runs past the file"));
    }
    Ok(Update {
        time,
        signature: &bytes[40..16 + length],
        list: &bytes[16 + length..],
    })
}
