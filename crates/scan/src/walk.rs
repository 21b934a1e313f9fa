//! The parallel walk.
//!
//! Directories fan out as rayon tasks; files are examined in small batches so one huge
//! directory still spreads over every thread. Records flow through a channel to the caller's
//! thread, which sorts them by path bytes once the walk is done.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::entry::{self, Options};
use crate::error::Error;
use crate::manifest::{Header, Scan, ScanOptions};
use crate::record::{EntryType, Record, os_bytes};

/// Files examined per task.
const BATCH: usize = 32;

/// Configures and runs a scan.
#[derive(Clone, Debug)]
pub struct Scanner {
    roots: Vec<PathBuf>,
    excludes: Vec<String>,
    one_file_system: bool,
    blake3: bool,
    threads: usize,
    progress: Option<Arc<AtomicU64>>,
    root: Option<PathBuf>,
}

struct Walk<'a> {
    excludes: &'a GlobSet,
    /// The filesystem root paths are recorded from (`/sysroot` for `/sysroot/usr/bin/x`
    /// recorded as `/usr/bin/x`), when it is not `/`.
    root: Option<&'a Path>,
    one_file_system: bool,
    options: Options,
    progress: Option<&'a AtomicU64>,
}

impl Scanner {
    /// A scanner of these roots with default options (SHA-256 only, one thread per core).
    pub fn new(roots: Vec<PathBuf>) -> Self {
        Scanner {
            roots,
            excludes: Vec::new(),
            one_file_system: false,
            blake3: false,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            progress: None,
            root: None,
        }
    }

    /// Skips paths matching a glob (and, for directories, everything below them).
    pub fn exclude(mut self, glob: impl Into<String>) -> Self {
        self.excludes.push(glob.into());
        self
    }

    /// Does not descend into directories on another device than their root.
    pub fn one_file_system(mut self, yes: bool) -> Self {
        self.one_file_system = yes;
        self
    }

    /// Also computes BLAKE3 of regular files.
    pub fn blake3(mut self, yes: bool) -> Self {
        self.blake3 = yes;
        self
    }

    /// Worker threads (more than cores helps on cold, I/O-bound trees).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// A counter the scan increments per entry, for progress display.
    pub fn progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    /// Scans a filesystem mounted at `root` (the initramfs's `/sysroot`) as its own system
    /// sees it: the roots are taken below `root`, and every path, exclude and the header's
    /// roots are as seen from it, so the scan compares with one taken on the running system.
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Where `given` (a root as the scanned system sees it) is on this machine.
    fn under_root(&self, given: &Path) -> Result<PathBuf, Error> {
        let Some(base) = &self.root else {
            return Ok(given.to_path_buf());
        };
        let mut path = base.clone();
        for part in given.components() {
            match part {
                std::path::Component::Normal(p) => path.push(p),
                std::path::Component::RootDir | std::path::Component::CurDir => {}
                _ => {
                    return Err(Error::Root {
                        path: given.display().to_string(),
                        source: std::io::Error::other(
                            "a root under --root must not climb out of it (..)",
                        ),
                    });
                }
            }
        }
        Ok(path)
    }

    /// Runs the scan.
    pub fn scan(&self) -> Result<Scan, Error> {
        let started = chrono::Utc::now();
        let mut globs = GlobSetBuilder::new();
        for g in &self.excludes {
            globs.add(Glob::new(g)?);
        }
        let excludes = globs.build()?;
        let mut roots = Vec::new();
        let base = match &self.root {
            Some(r) => Some(std::path::absolute(r).map_err(|source| Error::Root {
                path: r.display().to_string(),
                source,
            })?),
            None => None,
        };
        for root in &self.roots {
            let path =
                std::path::absolute(self.under_root(root)?).map_err(|source| Error::Root {
                    path: root.display().to_string(),
                    source,
                })?;
            let meta = std::fs::symlink_metadata(&path).map_err(|source| Error::Root {
                path: root.display().to_string(),
                source,
            })?;
            roots.push((path, meta.dev()));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        let walk = Walk {
            excludes: &excludes,
            root: base.as_deref(),
            one_file_system: self.one_file_system,
            options: Options {
                blake3: self.blake3,
            },
            progress: self.progress.as_deref(),
        };
        let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, Record)>();
        let mut records = Vec::new();
        std::thread::scope(|threads| {
            threads.spawn(|| {
                pool.scope(|scope| {
                    for (root, dev) in &roots {
                        let tx = tx.clone();
                        let walk = &walk;
                        scope.spawn(move |scope| walk.visit(scope, root.clone(), *dev, &tx));
                    }
                });
                drop(tx);
            });
            records.extend(rx);
        });
        records.sort_by(|a, b| os_bytes(a.0.as_os_str()).cmp(os_bytes(b.0.as_os_str())));
        records.dedup_by(|a, b| a.0 == b.0);
        let header = Header::new(
            roots
                .iter()
                .map(|(p, _)| walk.seen(p).display().to_string())
                .collect(),
            started,
            chrono::Utc::now(),
            ScanOptions {
                hashes: if self.blake3 {
                    vec!["sha256".into(), "blake3".into()]
                } else {
                    vec!["sha256".into()]
                },
                exclude: self.excludes.clone(),
                one_file_system: self.one_file_system,
                threads: self.threads,
            },
        );
        Ok(Scan {
            header,
            records: records.into_iter().map(|(_, r)| r).collect(),
        })
    }
}

impl Walk<'_> {
    fn visit<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        dir: PathBuf,
        root_dev: u64,
        tx: &Sender<(PathBuf, Record)>,
    ) {
        let mut record = entry::examine(&dir, false, self.options);
        let descend = record.kind == Some(EntryType::Dir)
            && !(self.one_file_system && record.dev != Some(root_dev));
        let mut batch = Vec::with_capacity(BATCH);
        if descend {
            match std::fs::read_dir(&dir) {
                Ok(entries) => {
                    for entry in entries {
                        let Ok(entry) = entry else { continue };
                        let path = entry.path();
                        if self.excludes.is_match(self.seen(&path)) {
                            continue;
                        }
                        let file_type = entry.file_type().ok();
                        if file_type.is_some_and(|t| t.is_dir()) {
                            let tx = tx.clone();
                            scope.spawn(move |scope| self.visit(scope, path, root_dev, &tx));
                        } else {
                            batch.push((path, file_type.is_some_and(|t| t.is_file())));
                            if batch.len() == BATCH {
                                self.spawn_batch(scope, std::mem::take(&mut batch), tx);
                            }
                        }
                    }
                }
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::PermissionDenied {
                        "permission denied (list)".to_owned()
                    } else {
                        format!("list: {e}")
                    };
                    // Not being able to list says more than not being able to open for attributes.
                    record.error = Some(why);
                }
            }
        }
        self.send(dir, record, tx);
        if !batch.is_empty() {
            self.spawn_batch(scope, batch, tx);
        }
    }

    fn spawn_batch<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        batch: Vec<(PathBuf, bool)>,
        tx: &Sender<(PathBuf, Record)>,
    ) {
        let tx = tx.clone();
        scope.spawn(move |_| {
            for (path, regular) in batch {
                let record = entry::examine(&path, regular, self.options);
                self.send(path, record, &tx);
            }
        });
    }

    /// `path` as the scanned system sees it: below the root, from `/`.
    fn seen(&self, path: &Path) -> PathBuf {
        match self.root.and_then(|r| path.strip_prefix(r).ok()) {
            Some(rest) => Path::new("/").join(rest),
            None => path.to_path_buf(),
        }
    }

    fn send(&self, path: PathBuf, mut record: Record, tx: &Sender<(PathBuf, Record)>) {
        if let Some(p) = self.progress {
            p.fetch_add(1, Ordering::Relaxed);
        }
        let path = if self.root.is_some() {
            let seen = self.seen(&path);
            let named = Record::new(&seen);
            (record.path, record.path_hex) = (named.path, named.path_hex);
            seen
        } else {
            path
        };
        let _ = tx.send((path, record));
    }
}
