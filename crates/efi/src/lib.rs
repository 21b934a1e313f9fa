//! UEFI Secure Boot formats, pure (bytes in, bytes out, no I/O):
//! - [`authenticode`]: the PE/COFF image digest the firmware compares with db and dbx
//!   (the Authenticode hash, as sbsign, pesign and osslsigncode compute it);
//! - [`siglist`]: EFI_SIGNATURE_LIST, the format of the PK, KEK, db and dbx variables
//!   (X.509 certificates and SHA-256 hashes, each with its owner GUID);
//! - [`sign`]: Authenticode signatures (PKCS#7 SignedData in a WIN_CERTIFICATE), made
//!   with an RSA db key held in guarded memory;
//! - [`auth`]: signed variable updates (`.auth`, EFI_VARIABLE_AUTHENTICATION_2), byte for
//!   byte what efitools' `sign-efi-sig-list` writes; [`auth_check`] checks one's signature
//!   for the variable it is meant for;
//! - [`verify`]: the firmware's decision over an image, against db and dbx;
//! - [`signers`]: who signed an image (every signature verified, trust not weighed);
//! - [`keygen`]: RSA keys and X.509 certificates for PK, KEK and db;
//! - [`cert`]: X.509 certificates as the firmware stores them (DER);
//! - [`uki`]: unified kernel images (systemd's stub plus kernel, initrd, command line);
//! - [`Guid`]: EFI GUIDs in their mixed-endian byte layout.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod auth_check;
pub mod authenticode;
pub mod cert;
mod error;
mod guid;
pub mod keygen;
mod pe;
pub mod siglist;
pub mod sign;
pub mod signers;
pub mod uki;
pub mod verify;

pub use error::Error;
pub use guid::Guid;
