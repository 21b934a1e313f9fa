//! The spool: signed scans waiting to be submitted, under `/run` at boot (dracut moves it
//! into the booted system, where `cairn-agent flush` submits them). Each scan is
//! `<digest>.scan` with its signature in `<digest>.sig`; both appear whole or not at all.

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest as _, Sha256};

/// A spooled, signed scan.
#[derive(Debug, Clone)]
pub struct Spooled {
    /// SHA-256 of the scan file, hex.
    pub digest: String,
    /// The scan file.
    pub scan: PathBuf,
    /// Its signature (hex DER).
    pub signature: String,
}

/// A spool directory (created 0700: scans list every file of the host).
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Opens `dir`, creating it.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the spool {}", dir.display()))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes a scan with `write`, then signs it with `sign` (given its SHA-256), and
    /// files both under the digest.
    pub fn put(
        &self,
        write: impl FnOnce(&File) -> anyhow::Result<()>,
        sign: impl FnOnce(&[u8; 32]) -> anyhow::Result<String>,
    ) -> anyhow::Result<Spooled> {
        let tmp = self
            .dir
            .join(format!(".scan-{}.partial", std::process::id()));
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        write(&file)?;
        file.sync_all()?;
        drop(file);
        let digest: [u8; 32] = hash_file(&tmp)?;
        let signature = sign(&digest)?;
        let hex = hex::encode(digest);
        let sig = self.dir.join(format!("{hex}.sig"));
        let sig_tmp = self
            .dir
            .join(format!(".sig-{}.partial", std::process::id()));
        let mut f = File::create(&sig_tmp)?;
        writeln!(f, "{signature}")?;
        f.sync_all()?;
        std::fs::rename(&sig_tmp, &sig)?;
        // The scan is renamed last: a scan under its name always has its signature.
        let scan = self.dir.join(format!("{hex}.scan"));
        std::fs::rename(&tmp, &scan)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(Spooled {
            digest: hex,
            scan,
            signature,
        })
    }

    /// Every spooled scan with its signature, oldest first.
    pub fn list(&self) -> anyhow::Result<Vec<Spooled>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let Some(digest) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".scan"))
            else {
                continue;
            };
            let sig = self.dir.join(format!("{digest}.sig"));
            let Ok(signature) = std::fs::read_to_string(&sig) else {
                continue;
            };
            let modified = std::fs::metadata(&path)?.modified()?;
            found.push((
                modified,
                Spooled {
                    digest: digest.to_owned(),
                    scan: path.clone(),
                    signature: signature.trim().to_owned(),
                },
            ));
        }
        found.sort_by(|a, b| (a.0, &a.1.digest).cmp(&(b.0, &b.1.digest)));
        Ok(found.into_iter().map(|(_, s)| s).collect())
    }

    /// Removes a submitted scan (the scan first, so no scan is left without its signature).
    pub fn remove(&self, s: &Spooled) -> anyhow::Result<()> {
        std::fs::remove_file(&s.scan)?;
        std::fs::remove_file(self.dir.join(format!("{}.sig", s.digest)))?;
        Ok(())
    }
}

/// SHA-256 of a file, streamed.
pub fn hash_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_scan_is_filed_under_its_digest_with_its_signature() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("spool")).unwrap();
        let s = spool
            .put(
                |mut f| Ok(f.write_all(b"scan bytes")?),
                |d| Ok(format!("sig-of-{}", hex::encode(d))),
            )
            .unwrap();
        assert_eq!(s.digest, hex::encode(Sha256::digest(b"scan bytes")));
        let listed = spool.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].signature, format!("sig-of-{}", s.digest));
        let mode = std::fs::metadata(dir.path().join("spool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        spool.remove(&listed[0]).unwrap();
        assert!(spool.list().unwrap().is_empty());
    }

    #[test]
    fn a_scan_whose_signing_failed_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let failed = spool.put(|mut f| Ok(f.write_all(b"x")?), |_| anyhow::bail!("no key"));
        assert!(failed.is_err());
        assert!(spool.list().unwrap().is_empty());
    }
}
