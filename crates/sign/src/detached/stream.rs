//! Passes over a signed file: hashing it, checking Ed25519 signatures of every candidate key
//! in one read, and a reader that hashes what a verifier reads, so that each pass can prove
//! it saw the bytes the caller hashed.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use ed25519_dalek::StreamVerifier;
use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::keys::PublicKey;

/// Read size: large enough that system calls do not dominate, small enough not to matter.
const CHUNK: usize = 64 * 1024;

fn io_error(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(io_error(path))
}

/// Feeds every chunk of the file to `each`, in order.
fn each_chunk(path: &Path, mut each: impl FnMut(&[u8])) -> Result<(), Error> {
    let mut file = open(path)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path)(e)),
        }
    }
}

/// SHA-256 of a file, streamed.
pub(super) fn sha256_file(path: &Path) -> Result<[u8; 32], Error> {
    let mut hasher = Sha256::new();
    each_chunk(path, |chunk| hasher.update(chunk))?;
    Ok(hasher.finalize().into())
}

fn unchanged(path: &Path, hasher: Sha256, sha256: &[u8; 32]) -> Result<(), Error> {
    if <[u8; 32]>::from(hasher.finalize()) == *sha256 {
        return Ok(());
    }
    Err(Error::Changed {
        path: path.display().to_string(),
    })
}

/// The ids of the Ed25519 keys among `keys` that made `sig` over the file, in one read.
///
/// Strict as `verify_strict` is, which streaming verification is not by itself: a weak
/// (small-order) key or nonce point verifies nothing, since such signatures can be made to
/// verify for more than one message. A non-canonical `s` is refused by `verify_stream`.
pub(super) fn ed25519(
    keys: &[PublicKey],
    sig: &ed25519_dalek::Signature,
    path: &Path,
    sha256: &[u8; 32],
) -> Result<Vec<String>, Error> {
    let r_sound = VerifyingKey::from_bytes(sig.r_bytes()).is_ok_and(|r| !r.is_weak());
    if !r_sound {
        return Ok(Vec::new());
    }
    let mut verifiers: Vec<(String, StreamVerifier)> = keys
        .iter()
        .filter_map(|key| match key {
            PublicKey::Ed25519(k) if !k.is_weak() => {
                k.verify_stream(sig).ok().map(|v| (key.id(), v))
            }
            _ => None,
        })
        .collect();
    if verifiers.is_empty() {
        return Ok(Vec::new());
    }
    let mut hasher = Sha256::new();
    each_chunk(path, |chunk| {
        hasher.update(chunk);
        for (_, v) in &mut verifiers {
            v.update(chunk);
        }
    })?;
    unchanged(path, hasher, sha256)?;
    Ok(verifiers
        .into_iter()
        .filter_map(|(id, v)| v.finalize_and_verify().is_ok().then_some(id))
        .collect())
}

/// A reader of the file that hashes what passes through it and keeps the first I/O error,
/// for verifiers (`pgp`) that read on their own and would report a failed read as a bad
/// signature.
#[cfg(feature = "openpgp")]
pub(super) struct HashingReader<'a> {
    path: &'a Path,
    inner: io::BufReader<File>,
    hasher: Sha256,
    failure: Option<io::Error>,
}

#[cfg(feature = "openpgp")]
impl<'a> HashingReader<'a> {
    /// Opens the file.
    pub(super) fn open(path: &'a Path) -> Result<Self, Error> {
        Ok(HashingReader {
            path,
            inner: io::BufReader::with_capacity(CHUNK, open(path)?),
            hasher: Sha256::new(),
            failure: None,
        })
    }

    /// After a verifier is done: an I/O error it met is the caller's error; a verifier that
    /// accepted must have read exactly the bytes of `sha256` (the rest is read here if it
    /// stopped early).
    pub(super) fn finish(mut self, accepted: bool, sha256: &[u8; 32]) -> Result<(), Error> {
        if accepted && self.failure.is_none() {
            let _ = io::copy(&mut self, &mut io::sink());
        }
        if let Some(e) = self.failure {
            return Err(io_error(self.path)(e));
        }
        if accepted {
            unchanged(self.path, self.hasher, sha256)?;
        }
        Ok(())
    }
}

#[cfg(feature = "openpgp")]
impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let told = io::Error::new(e.kind(), e.to_string());
                self.failure.get_or_insert(e);
                Err(told)
            }
        }
    }
}
