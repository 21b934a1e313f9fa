//! Counting copies of a secret in another process's memory, as an auditor (or a test) would.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// What a scan of a process's memory found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryScan {
    /// Occurrences of the needle.
    pub matches: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Readable mappings the kernel would not let us read (secretmem pages among them).
    pub unreadable: usize,
}

/// Kernel-provided mappings that are not the process's memory.
const SKIPPED: [&str; 3] = ["[vvar]", "[vvar_vclock]", "[vsyscall]"];

/// Counts occurrences of `needle` in every readable mapping of process `pid`, through
/// `/proc/<pid>/maps` and `/proc/<pid>/mem` (needs ptrace access to `pid`). Scanning the
/// calling process itself would also find the needle the caller holds.
pub fn scan_process(pid: u32, needle: &[u8]) -> io::Result<MemoryScan> {
    if needle.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty needle"));
    }
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let mem = File::open(format!("/proc/{pid}/mem"))?;
    let finder = memchr::memmem::Finder::new(needle);
    let mut scan = MemoryScan::default();
    let mut chunk = vec![0u8; 1 << 20];
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with('r') || SKIPPED.contains(&name) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        else {
            continue;
        };
        match scan_range(&mem, start, end, &finder, &mut chunk) {
            Ok((m, b)) => {
                scan.matches += m;
                scan.bytes += b;
            }
            Err(_) => scan.unreadable += 1,
        }
    }
    Ok(scan)
}

/// Scans `[start, end)` in chunks that overlap by `needle.len() - 1` bytes.
fn scan_range(
    mem: &File,
    start: u64,
    end: u64,
    finder: &memchr::memmem::Finder<'_>,
    chunk: &mut [u8],
) -> io::Result<(usize, u64)> {
    let overlap = finder.needle().len() as u64 - 1;
    let mut at = start;
    let mut matches = 0;
    let mut bytes = 0;
    while at < end {
        let want = ((end - at) as usize).min(chunk.len());
        let n = mem.read_at(&mut chunk[..want], at)?;
        if n == 0 {
            break;
        }
        matches += finder.find_iter(&chunk[..n]).count();
        bytes += n as u64;
        if at + (n as u64) >= end {
            break;
        }
        // Step back so a match straddling two chunks is seen once, in the next chunk only
        // when it starts past this chunk's last full window.
        let next = at + n as u64 - overlap;
        at = next.max(at + 1);
    }
    Ok((matches, bytes))
}
