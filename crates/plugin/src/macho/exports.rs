//! The Mach-O export trie, read iteratively with bounds.
//!
//! goblin's reader recurses without a cycle check and indexes the dylib table unchecked, so
//! a crafted trie can overflow the stack or panic. This one visits each node at most once,
//! bounds every read and every name, and returns symbols in trie (depth-first) order.

use crate::error::Error;

const EXPORT_SYMBOL_FLAGS_KIND_MASK: u64 = 0x03;
const EXPORT_SYMBOL_FLAGS_KIND_REGULAR: u64 = 0x00;
const EXPORT_SYMBOL_FLAGS_REEXPORT: u64 = 0x08;
const EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER: u64 = 0x10;
/// Longer symbol names are not plugin descriptors; stop descending there.
const MAX_NAME: usize = 4096;

/// Regular exports as (name, offset from the image base), in trie order.
pub(crate) fn read(trie: &[u8]) -> Result<Vec<(String, u64)>, Error> {
    let mut out = Vec::new();
    let mut visited = vec![false; trie.len()];
    // Depth-first, children pushed in reverse so they pop in file order.
    let mut stack: Vec<(usize, Vec<u8>)> = vec![(0, Vec::new())];
    while let Some((node, name)) = stack.pop() {
        if trie.is_empty() {
            break;
        }
        let seen = visited
            .get_mut(node)
            .ok_or_else(|| bad("node offset past end"))?;
        if std::mem::replace(seen, true) {
            return Err(bad("cycle"));
        }
        let mut at = node;
        let terminal_size = uleb(trie, &mut at)?;
        let children_at = at
            .checked_add(usize_of(terminal_size)?)
            .ok_or_else(|| bad("size"))?;
        if terminal_size > 0 {
            let flags = uleb(trie, &mut at)?;
            let regular = flags & EXPORT_SYMBOL_FLAGS_KIND_MASK == EXPORT_SYMBOL_FLAGS_KIND_REGULAR
                && flags & (EXPORT_SYMBOL_FLAGS_REEXPORT | EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER)
                    == 0;
            if regular {
                let address = uleb(trie, &mut at)?;
                out.push((String::from_utf8_lossy(&name).into_owned(), address));
            }
        }
        let mut at = children_at;
        let count = *trie.get(at).ok_or_else(|| bad("truncated"))?;
        at += 1;
        let mut children = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let label_len = trie
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or_else(|| bad("unterminated edge label"))?;
            let label = &trie[at..at + label_len];
            at += label_len + 1;
            let child = usize_of(uleb(trie, &mut at)?)?;
            if name.len() + label.len() <= MAX_NAME {
                let mut child_name = name.clone();
                child_name.extend_from_slice(label);
                children.push((child, child_name));
            }
        }
        stack.extend(children.into_iter().rev());
    }
    Ok(out)
}

fn bad(what: &str) -> Error {
    Error::Malformed(format!("Mach-O export trie: {what}"))
}

fn usize_of(v: u64) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| bad("value too large"))
}

/// Reads one ULEB128 at `*at`, advancing it.
fn uleb(data: &[u8], at: &mut usize) -> Result<u64, Error> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at).ok_or_else(|| bad("truncated"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("ULEB128 too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// root --"_A"--> node(terminal 0x10) ; root --"_B"--> node(terminal 0x20)
    fn two_exports() -> Vec<u8> {
        let mut t = vec![0, 2];
        t.extend_from_slice(b"_A\0");
        t.push(10);
        t.extend_from_slice(b"_B\0");
        t.push(14);
        assert_eq!(t.len(), 10);
        t.extend_from_slice(&[2, 0, 0x10, 0]); // at 10: terminal size 2, flags 0, addr 0x10, 0 kids
        t.extend_from_slice(&[2, 0, 0x20, 0]); // at 14
        t
    }

    #[test]
    fn reads_in_trie_order() {
        assert_eq!(
            read(&two_exports()).unwrap(),
            vec![("_A".into(), 0x10), ("_B".into(), 0x20)]
        );
    }

    #[test]
    fn cycles_and_truncation_are_errors() {
        let mut cyclic = two_exports();
        cyclic[9] = 0; // "_B" now points back at the root
        assert!(read(&cyclic).is_err());
        let t = two_exports();
        for len in 1..t.len() {
            assert!(read(&t[..len]).is_err(), "prefix {len}");
        }
    }
}
