//! The log's Ed25519 key on disk: PKCS#8 PEM, mode 0600, generated on first use.
//!
//! The file is read straight into guarded memory (`cairn-secmem`), decoded there, and the
//! seed sealed in an enclave: no copy of the key, in any encoding, reaches the ordinary heap.

use std::path::Path;

use cairn_secmem::LockedBuffer;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;

use crate::error::{Error, KeyFileFailure};
use crate::note::NoteSigner;

/// DER of `PrivateKeyInfo { version 0, algorithm id-Ed25519, privateKey OCTET STRING }`
/// up to the 32-byte seed.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn key_error(path: &Path, failure: KeyFileFailure) -> Error {
    Error::KeyFile {
        path: path.to_owned(),
        failure,
    }
}

fn key_io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| key_error(path, KeyFileFailure::Io(e))
}

/// Reads the log key from `path` (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519`
/// writes it), or generates one there if the file does not exist.
pub fn load_or_generate(path: &Path, origin: &str) -> Result<(NoteSigner, bool), Error> {
    let (seed, created) = load_or_generate_seed(path)?;
    Ok((NoteSigner::from_secret(origin, seed)?, created))
}

/// The Ed25519 seed kept at `path` (PKCS#8 PEM), in guarded memory, or a new one written
/// there if the file does not exist; `true` when it was generated. Any Ed25519 key of
/// Cairn's (a log's, a witness's) is kept this way.
pub fn load_or_generate_seed(path: &Path) -> Result<(LockedBuffer, bool), Error> {
    match path.try_exists() {
        Ok(true) => Ok((read_seed(path)?, false)),
        Ok(false) => {
            let seed = LockedBuffer::random(32)?;
            write_key(path, &seed)?;
            Ok((seed, true))
        }
        Err(e) => Err(key_io(path)(e)),
    }
}

/// The 32-byte seed of a PKCS#8 Ed25519 PEM file, decoded in guarded memory.
fn read_seed(path: &Path) -> Result<LockedBuffer, Error> {
    let pem = cairn_secmem::read_pem_file(path).map_err(|e| match e {
        cairn_secmem::Error::Read(e) => key_error(path, KeyFileFailure::Io(e)),
        e => key_error(path, KeyFileFailure::Secret(e)),
    })?;
    if pem.label != "PRIVATE KEY" {
        return Err(key_error(
            path,
            KeyFileFailure::Label {
                label: pem.label.clone(),
            },
        ));
    }
    let mut seed = LockedBuffer::new(32)?;
    {
        let key = SigningKey::from_pkcs8_der(&pem.der.bytes()).map_err(|e| {
            key_error(
                path,
                KeyFileFailure::NotEd25519 {
                    reason: e.to_string(),
                },
            )
        })?;
        seed.copy_from(key.as_bytes())?;
    }
    cairn_secmem::scrub_stack();
    Ok(seed)
}

/// Writes the seed as PKCS#8 v1 PEM, exactly as `openssl genpkey -algorithm ed25519` does
/// (OpenSSL 3.0 refuses the v2 form ed25519-dalek would emit); atomically, mode 0600.
fn write_key(path: &Path, seed: &LockedBuffer) -> Result<(), Error> {
    let mut der = LockedBuffer::new(PKCS8_V1_PREFIX.len() + 32)?;
    der.copy_from(&PKCS8_V1_PREFIX)?;
    der.copy_at(PKCS8_V1_PREFIX.len(), &seed.bytes())?;
    let pem = cairn_secmem::encode_pem("PRIVATE KEY", &der.bytes())?;
    drop(der);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(key_io(path))?;
    }
    cairn_secmem::write_secret_file(path, &pem.bytes()).map_err(key_io(path))
}

/// Reads an existing log key (no generation).
pub fn load(path: &Path, origin: &str) -> Result<NoteSigner, Error> {
    if !path.exists() {
        return Err(key_error(path, KeyFileFailure::Missing));
    }
    Ok(load_or_generate(path, origin)?.0)
}

/// Where a registry keeps its log key by default: `<data>/keys/log.pem`.
pub fn default_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("keys/log.pem")
}

/// The default origin: `<hostname>/log`.
pub fn default_origin() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!("{}/log", if host.is_empty() { "localhost" } else { &host })
}
