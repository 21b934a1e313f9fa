//! X.509 certificates as the firmware stores them: DER, read from DER or PEM files.

use der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _};
use x509_cert::Certificate;

use crate::error::Error;

/// The DER bytes of a certificate given as DER or PEM, checked to be one.
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let cert = if bytes.starts_with(b"-----BEGIN") {
        Certificate::from_pem(bytes)
    } else {
        Certificate::from_der(bytes)
    }
    .map_err(|e| Error::Certificate(e.to_string()))?;
    cert.to_der().map_err(|e| Error::Certificate(e.to_string()))
}

/// A certificate's subject, as text (`CN=…,O=…`), for listings.
pub fn subject(der: &[u8]) -> Result<String, Error> {
    let cert = Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string()))?;
    Ok(cert.tbs_certificate.subject.to_string())
}

/// A certificate's PEM text (`-----BEGIN CERTIFICATE-----`, LF line endings).
pub fn to_pem(der: &[u8]) -> Result<String, Error> {
    let cert = Certificate::from_der(der).map_err(|e| Error::Certificate(e.to_string()))?;
    cert.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| Error::Certificate(e.to_string()))
}
