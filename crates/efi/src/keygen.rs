//! Making Secure Boot keys: an RSA key and its X.509 certificate, self-signed (as the
//! how-to's `make_keys.sh` and sbctl make PK, KEK and db) or issued by another key
//! (PK → KEK → db). The private key goes from the generator straight into guarded memory.

use std::str::FromStr as _;
use std::time::Duration;

use der::{Decode as _, Encode as _};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use crate::error::Error;
use crate::sign::EfiKey;

/// A new key: its PKCS#8 PEM (guarded memory, for the key file) and the key itself.
#[derive(Debug)]
pub struct NewKey {
    /// `-----BEGIN PRIVATE KEY-----`, in guarded memory.
    pub pem: cairn_secmem::LockedBuffer,
    /// The key with its certificate, ready to sign.
    pub key: EfiKey,
}

/// What to make.
#[derive(Clone, Debug)]
pub struct KeySpec<'a> {
    /// The certificate's subject, `CN=…,O=…`.
    pub subject: &'a str,
    /// RSA modulus size: 2048 or 4096.
    pub bits: usize,
    /// How long the certificate is valid.
    pub validity: Duration,
    /// Whether the certificate may issue others (PK, KEK when chained).
    pub ca: bool,
}

fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Signing(format!("{what}: {e}"))
}

/// Makes a key and its certificate, self-signed, or issued by `issuer`.
pub fn generate(spec: &KeySpec<'_>, issuer: Option<&EfiKey>) -> Result<NewKey, Error> {
    if ![2048, 3072, 4096].contains(&spec.bits) {
        return Err(Error::Signing(format!(
            "RSA-{} is not offered: 2048, 3072 or 4096",
            spec.bits
        )));
    }
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, spec.bits).map_err(failed("key"))?;
    let der = private.to_pkcs8_der().map_err(failed("key"))?;
    let mut plain = der.as_bytes().to_vec();
    let secret = cairn_secmem::LockedBuffer::from_bytes(&mut plain).map_err(failed("key"))?;
    drop(der);
    let pem = cairn_secmem::encode_pem("PRIVATE KEY", &secret.bytes()).map_err(failed("key"))?;
    let spki_der = private
        .to_public_key()
        .to_public_key_der()
        .map_err(failed("key"))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(failed("key"))?;
    let subject = Name::from_str(spec.subject).map_err(failed("subject"))?;
    let mut serial = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut serial);
    serial[0] &= 0x7f;
    let serial = SerialNumber::new(&serial).map_err(failed("serial"))?;
    let validity = Validity::from_now(spec.validity).map_err(failed("validity"))?;
    // A signing (non-CA) certificate needs digitalSignature, which verifiers such as
    // sbverify require; a self-signed one is a leaf issued by itself.
    let issuer_name = issuer.map_or_else(
        || subject.clone(),
        |by| by.cert.tbs_certificate.subject.clone(),
    );
    let profile = match (issuer, spec.ca) {
        (None, true) => Profile::Root,
        (Some(_), true) => Profile::SubCA {
            issuer: issuer_name,
            path_len_constraint: None,
        },
        (_, false) => Profile::Leaf {
            issuer: issuer_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
    };
    let sign_with = |signing: &RsaPrivateKey| -> Result<Certificate, Error> {
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(signing.clone());
        CertificateBuilder::new(
            profile.clone(),
            serial.clone(),
            validity,
            subject.clone(),
            spki.clone(),
            &signer,
        )
        .map_err(failed("certificate"))?
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(failed("certificate"))
    };
    let cert = match issuer {
        None => sign_with(&private)?,
        Some(by) => by.with_key(|k| sign_with(k))??,
    };
    drop(private);
    cairn_secmem::scrub_stack();
    let cert_der = cert.to_der().map_err(failed("certificate"))?;
    Ok(NewKey {
        pem,
        key: EfiKey::new(secret, &cert_der)?,
    })
}

/// A day-long RSA-2048 key with a self-signed certificate, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn test_key(subject: &str) -> NewKey {
    let spec = KeySpec {
        subject,
        bits: 2048,
        validity: std::time::Duration::from_secs(86_400),
        ca: false,
    };
    #[allow(clippy::unwrap_used)]
    generate(&spec, None).unwrap()
}
