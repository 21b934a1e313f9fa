//! The log's Ed25519 key on disk: PKCS#8 PEM, mode 0600, generated on first use.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::note::NoteSigner;

/// DER of `PrivateKeyInfo { version 0, algorithm id-Ed25519, privateKey OCTET STRING }`
/// up to the 32-byte seed.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn key_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Malformed {
        what: "log key",
        reason: format!("{}: {reason}", path.display()),
    }
}

/// Reads the log key from `path` (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519`
/// writes it), or generates one there if the file does not exist.
pub fn load_or_generate(path: &Path, origin: &str) -> Result<(NoteSigner, bool), Error> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            let pem = Zeroizing::new(pem);
            let key = SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| key_error(path, format!("not an Ed25519 PKCS#8 key: {e}")))?;
            Ok((NoteSigner::from_seed(origin, &key.to_bytes())?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = Zeroizing::new([0u8; 32]);
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, seed.as_mut());
            let key = SigningKey::from_bytes(&seed);
            // PKCS#8 v1, exactly as `openssl genpkey -algorithm ed25519` writes it (OpenSSL 3.0
            // refuses the v2 form ed25519-dalek would emit).
            let mut der = Zeroizing::new(PKCS8_V1_PREFIX.to_vec());
            der.extend_from_slice(key.as_bytes());
            let pem = Zeroizing::new(pem_encode("PRIVATE KEY", &der));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| key_error(path, e))?;
            }
            let tmp = path.with_extension("tmp");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| key_error(path, e))?;
            f.write_all(pem.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| key_error(path, e))?;
            std::fs::rename(&tmp, path).map_err(|e| key_error(path, e))?;
            Ok((NoteSigner::from_seed(origin, &seed)?, true))
        }
        Err(e) => Err(key_error(path, e)),
    }
}

/// PEM armour (RFC 7468): base64 in 64-column lines.
fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads an existing log key (no generation).
pub fn load(path: &Path, origin: &str) -> Result<NoteSigner, Error> {
    if !path.exists() {
        return Err(key_error(path, "no such file"));
    }
    Ok(load_or_generate(path, origin)?.0)
}

/// The default origin: `<hostname>/log`.
pub fn default_origin() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!("{}/log", if host.is_empty() { "localhost" } else { &host })
}
