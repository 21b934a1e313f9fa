//! X.509 certificates as the firmware stores them: DER, read from DER or PEM files.

use der::{Decode as _, Encode as _, EncodePem as _};
use x509_cert::Certificate;

use crate::error::Error;

/// The DER bytes of a certificate given as DER or PEM, checked to be one.
///
/// PEM is decoded whole first (`pem-rfc7468`), then parsed as DER: `der`'s streaming PEM
/// reader spins forever on a body shorter than the length it declares (found by the
/// `efi_lists` fuzz target; the input is a test below).
pub fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::Certificate(e.to_string());
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (label, der) = pem_rfc7468::decode_vec(bytes).map_err(|e| bad(&e))?;
        if label != "CERTIFICATE" {
            return Err(Error::Certificate(format!(
                "a PEM {label}, not a CERTIFICATE"
            )));
        }
        der
    } else {
        bytes.to_vec()
    };
    let cert = Certificate::from_der(&der).map_err(|e| bad(&e))?;
    cert.to_der().map_err(|e| bad(&e))
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

#[cfg(test)]
mod tests {
    /// The fuzzer's input that hung `der`'s PEM reader: a body shorter than it declares.
    #[test]
    fn a_truncated_pem_body_is_an_error_not_a_hang() {
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIF\n-----END CERTIFICATE-----\n";
        assert!(super::certificate_der(pem).is_err());
        let key = b"-----BEGIN PRIVATE KEY-----\nMIIF\n-----END PRIVATE KEY-----\n";
        assert!(super::certificate_der(key).is_err());
    }
}
