//! Why an image or a list was refused.

/// An EFI format error: what failed, named.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a PE/COFF image, or a header field points outside the file.
    #[error("not a valid PE image: {0}")]
    Pe(String),
    /// A PE image that is not a UEFI kind (PE32 or PE32+ with an optional header).
    #[error("the PE image has no optional header: it is not an EFI image")]
    NoOptionalHeader,
    /// A signature list is truncated or its sizes disagree.
    #[error("malformed EFI signature list at byte {offset}: {what}")]
    SignatureList {
        /// Where in the input the bad list starts.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Bytes that should be an X.509 certificate (DER or PEM) are not one.
    #[error("not an X.509 certificate: {0}")]
    Certificate(String),
    /// Signing failed: the key, the certificate, or the image as it stands.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A timestamp that is not `YYYY-MM-DD HH:MM:SS`.
    #[error("invalid time {0:?}: expected YYYY-MM-DD HH:MM:SS")]
    Time(String),
    /// A `.auth` file that is truncated or not a signed variable update.
    #[error("malformed signed variable update: {0}")]
    Auth(&'static str),
    /// A unified kernel image that cannot be built from this stub and these parts.
    #[error("cannot build the unified kernel image: {0}")]
    Uki(String),
    /// A GUID in text form that does not parse.
    #[error("invalid GUID {0:?}: expected 8-4-4-4-12 hex digits")]
    Guid(String),
}
