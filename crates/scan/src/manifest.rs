//! The scan file: JSON lines with a header, the records, and an integrity trailer.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::record::Record;

/// Format identifier in every header.
pub const FORMAT: &str = "cairn-scan/1";

/// Options a scan ran with, recorded so a reader knows what was (not) looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Content digests computed (`sha256`, optionally `blake3`).
    pub hashes: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
    /// Whether other filesystems were skipped.
    pub one_file_system: bool,
    /// Worker threads.
    pub threads: usize,
}

/// First line of a scan file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"header"`.
    pub kind: String,
    /// [`FORMAT`].
    pub format: String,
    /// Tool and version that wrote the scan.
    pub tool: String,
    /// Host name.
    pub host: String,
    /// Absolute roots scanned.
    pub roots: Vec<String>,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// End time, RFC 3339 UTC.
    pub finished: String,
    /// Options.
    pub options: ScanOptions,
}

impl Header {
    pub(crate) fn new(
        roots: Vec<String>,
        started: chrono::DateTime<chrono::Utc>,
        finished: chrono::DateTime<chrono::Utc>,
        options: ScanOptions,
    ) -> Self {
        let rfc = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        };
        Header {
            kind: "header".into(),
            format: FORMAT.into(),
            tool: format!("cairn {}", env!("CARGO_PKG_VERSION")),
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
            roots,
            started: rfc(started),
            finished: rfc(finished),
            options,
        }
    }
}

/// Last line of a scan file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// Always `"trailer"`.
    pub kind: String,
    /// Number of entry lines.
    pub entries: u64,
    /// Entries that carry an error.
    pub errors: u64,
    /// SHA-256 (hex) of every byte before the trailer line.
    pub sha256: String,
}

/// A finished scan in memory.
#[derive(Clone, Debug)]
pub struct Scan {
    /// Header.
    pub header: Header,
    /// Records sorted by path bytes.
    pub records: Vec<Record>,
}

/// A scan read back from a file, its trailer checked.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Header.
    pub header: Header,
    /// Records in file order.
    pub records: Vec<Record>,
    /// The (verified) trailer.
    pub trailer: Trailer,
}

/// A writer that hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Manifest {
    /// Writes a scan as JSON lines; returns the trailer written.
    pub fn write(scan: &Scan, out: impl Write) -> Result<Trailer, Error> {
        let mut w = Hashing {
            inner: std::io::BufWriter::new(out),
            hash: Sha256::new(),
        };
        serde_json::to_writer(&mut w, &scan.header).map_err(std::io::Error::from)?;
        w.write_all(b"\n")?;
        for r in &scan.records {
            serde_json::to_writer(&mut w, r).map_err(std::io::Error::from)?;
            w.write_all(b"\n")?;
        }
        let trailer = Trailer {
            kind: "trailer".into(),
            entries: scan.records.len() as u64,
            errors: scan.records.iter().filter(|r| r.error.is_some()).count() as u64,
            sha256: hex::encode(w.hash.clone().finalize()),
        };
        let mut inner = w.inner;
        serde_json::to_writer(&mut inner, &trailer).map_err(std::io::Error::from)?;
        inner.write_all(b"\n")?;
        inner.flush()?;
        Ok(trailer)
    }

    /// Reads a scan file and checks its trailer: count and digest must match, nothing may
    /// follow it.
    pub fn read(mut input: impl BufRead) -> Result<Self, Error> {
        let mut hash = Sha256::new();
        let mut header: Option<Header> = None;
        let mut records = Vec::new();
        let mut trailer: Option<Trailer> = None;
        let mut number = 0;
        let malformed = |line: usize, reason: String| Error::Malformed { line, reason };
        let mut line = Vec::new();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let terminated = line.last() == Some(&b'\n');
            if terminated {
                line.pop();
            }
            number += 1;
            if !terminated {
                return Err(Error::Integrity(format!(
                    "the file is truncated (line {number} is cut off)"
                )));
            }
            if trailer.is_some() {
                return Err(Error::Integrity("data after the trailer".into()));
            }
            if header.is_none() {
                let h: Header = serde_json::from_slice(&line)
                    .map_err(|e| malformed(number, format!("header: {e}")))?;
                if h.kind != "header" || h.format != FORMAT {
                    return Err(malformed(number, format!("not a {FORMAT} header")));
                }
                header = Some(h);
            } else if line.starts_with(b"{\"kind\":\"trailer\"") {
                let t: Trailer = serde_json::from_slice(&line)
                    .map_err(|e| malformed(number, format!("trailer: {e}")))?;
                trailer = Some(t);
                continue;
            } else {
                records.push(
                    serde_json::from_slice(&line).map_err(|e| malformed(number, e.to_string()))?,
                );
            }
            hash.update(&line);
            hash.update(b"\n");
        }
        let header = header.ok_or_else(|| malformed(1, "empty file".into()))?;
        let trailer =
            trailer.ok_or_else(|| Error::Integrity("no trailer: the file is truncated".into()))?;
        if trailer.entries != records.len() as u64 {
            return Err(Error::Integrity(format!(
                "trailer counts {} entries, file has {}",
                trailer.entries,
                records.len()
            )));
        }
        let digest = hex::encode(hash.finalize());
        if digest != trailer.sha256 {
            return Err(Error::Integrity(format!(
                "content digest {digest} does not match the trailer's {}",
                trailer.sha256
            )));
        }
        Ok(Manifest {
            header,
            records,
            trailer,
        })
    }
}
