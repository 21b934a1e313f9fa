//! Passphrase encryption of PKCS#8 private keys (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC),
//! in guarded memory.

use cairn_secmem::LockedBuffer;
use pkcs8::der::{Decode, Encode};

use super::{key_error, secret_error};
use crate::error::Error;

/// PBKDF2-HMAC-SHA256 rounds for passphrase-encrypted keys (OWASP's 2023 figure).
const PBKDF2_ROUNDS: u32 = 600_000;

/// Decrypts an `ENCRYPTED PRIVATE KEY` in guarded memory; returns the buffer and the length
/// of the plaintext at its start.
pub(super) fn decrypt_pkcs8(
    der: &LockedBuffer,
    passphrase: &[u8],
    origin: &str,
) -> Result<(LockedBuffer, usize), Error> {
    let bytes = der.bytes();
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(&bytes)
        .map_err(|e| key_error(origin, format!("not an encrypted PKCS#8 key: {e}")))?;
    let mut plain =
        LockedBuffer::new(info.encrypted_data.len().max(1)).map_err(secret_error(origin))?;
    let n = {
        let mut buf = plain.bytes_mut().map_err(secret_error(origin))?;
        buf.copy_from_slice(info.encrypted_data);
        info.encryption_algorithm
            .decrypt_in_place(passphrase, &mut buf)
            .map_err(|_| key_error(origin, "wrong passphrase, or a damaged key"))?
            .len()
    };
    Ok((plain, n))
}

/// Encrypts the first `len` bytes of `der` in place (it has 16 spare bytes) and returns the
/// `EncryptedPrivateKeyInfo` DER.
pub(super) fn encrypt_pkcs8(
    der: &mut LockedBuffer,
    len: usize,
    passphrase: &[u8],
) -> Result<Vec<u8>, Error> {
    let origin = "private key";
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
    let params = pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, &iv)
        .map_err(|e| key_error(origin, e))?;
    let mut buf = der.bytes_mut().map_err(secret_error(origin))?;
    let ciphertext = params
        .encrypt_in_place(passphrase, &mut buf, len)
        .map_err(|e| key_error(origin, e))?;
    pkcs8::EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: ciphertext,
    }
    .to_der()
    .map_err(|e| key_error(origin, e))
}
