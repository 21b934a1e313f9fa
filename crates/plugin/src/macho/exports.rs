//! The Mach-O export trie, read iteratively with bounds.
//!
//! goblin's reader recurses without a cycle check and indexes the dylib table unchecked, so
//! a crafted trie can overflow the stack or panic. This one reads each node at most once
//! (a node reached twice is refused when it is first queued, so siblings pointing at one
//! node cannot pile up), keeps names as links into an arena instead of copies, descends
//! only where a plugin export (`MEMFLOW_*`, `_MEMFLOW_*`) can still be, and bounds names and
//! exports: work and memory stay linear in the trie's size.

use crate::error::Error;

const EXPORT_SYMBOL_FLAGS_KIND_MASK: u64 = 0x03;
const EXPORT_SYMBOL_FLAGS_KIND_REGULAR: u64 = 0x00;
const EXPORT_SYMBOL_FLAGS_REEXPORT: u64 = 0x08;
const EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER: u64 = 0x10;
/// Longer symbol names are not plugin descriptors; stop descending there.
const MAX_NAME: usize = 1024;
/// Most plugin exports returned (descriptors are limited further by the caller).
const MAX_EXPORTS: usize = 1024;
/// The prefixes of plugin exports (Mach-O keeps the leading underscore).
const PREFIXES: [&[u8]; 2] = [b"_MEMFLOW_", b"MEMFLOW_"];

/// One name in the arena: its parent's name plus an edge label of the trie.
#[derive(Clone, Copy)]
struct Name {
    parent: usize,
    label: (usize, usize),
    len: usize,
    /// Its first bytes, enough to compare with [`PREFIXES`].
    head: [u8; 9],
}

impl Name {
    const ROOT: Name = Name {
        parent: usize::MAX,
        label: (0, 0),
        len: 0,
        head: [0; 9],
    };

    fn child(&self, parent: usize, trie: &[u8], start: usize, len: usize) -> Name {
        let mut head = self.head;
        for (i, b) in trie[start..start + len].iter().enumerate() {
            match head.get_mut(self.len + i) {
                Some(h) => *h = *b,
                None => break,
            }
        }
        Name {
            parent,
            label: (start, len),
            len: self.len + len,
            head,
        }
    }

    /// Whether a plugin export can still start with this name.
    fn may_lead_to_plugin(&self) -> bool {
        let n = self.len.min(self.head.len());
        PREFIXES.iter().any(|p| {
            let k = n.min(p.len());
            self.head[..k] == p[..k]
        })
    }
}

/// The whole name of `id`, from its links.
fn spell(arena: &[Name], trie: &[u8], id: usize) -> String {
    let mut parts = Vec::new();
    let mut at = id;
    while at != usize::MAX {
        let n = arena[at];
        parts.push(&trie[n.label.0..n.label.0 + n.label.1]);
        at = n.parent;
    }
    let bytes: Vec<u8> = parts.into_iter().rev().flatten().copied().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Regular plugin exports (`MEMFLOW_*`, `_MEMFLOW_*`) as (name, offset from the image
/// base), in trie (depth-first) order.
pub(crate) fn read(trie: &[u8]) -> Result<Vec<(String, u64)>, Error> {
    let mut out = Vec::new();
    if trie.is_empty() {
        return Ok(out);
    }
    let mut queued = vec![false; trie.len()];
    queued[0] = true;
    let mut arena = vec![Name::ROOT];
    // Depth-first, children pushed in reverse so they pop in file order.
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    while let Some((node, id)) = stack.pop() {
        let mut at = node;
        let terminal_size = uleb(trie, &mut at)?;
        let children_at = at
            .checked_add(usize_of(terminal_size)?)
            .ok_or_else(|| bad("size"))?;
        let name = arena[id];
        if terminal_size > 0 && name.len >= PREFIXES[1].len() && name.may_lead_to_plugin() {
            let flags = uleb(trie, &mut at)?;
            let regular = flags & EXPORT_SYMBOL_FLAGS_KIND_MASK == EXPORT_SYMBOL_FLAGS_KIND_REGULAR
                && flags & (EXPORT_SYMBOL_FLAGS_REEXPORT | EXPORT_SYMBOL_FLAGS_STUB_AND_RESOLVER)
                    == 0;
            if regular {
                if out.len() >= MAX_EXPORTS {
                    return Err(bad("too many plugin exports"));
                }
                let address = uleb(trie, &mut at)?;
                out.push((spell(&arena, trie, id), address));
            }
        }
        let mut at = children_at;
        let count = *trie.get(at).ok_or_else(|| bad("truncated"))?;
        at += 1;
        let first = stack.len();
        for _ in 0..count {
            let label_len = trie
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or_else(|| bad("unterminated edge label"))?;
            let label_at = at;
            at += label_len + 1;
            let child = usize_of(uleb(trie, &mut at)?)?;
            let seen = queued
                .get_mut(child)
                .ok_or_else(|| bad("node offset past end"))?;
            if std::mem::replace(seen, true) {
                return Err(bad("a node reached twice (cycle or shared node)"));
            }
            let child_name = name.child(id, trie, label_at, label_len);
            if child_name.len <= MAX_NAME && child_name.may_lead_to_plugin() {
                arena.push(child_name);
                stack.push((child, arena.len() - 1));
            }
        }
        stack[first..].reverse();
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

    /// root --"_MEMFLOW_OS_A"--> node(terminal 0x10) ; root --"_MEMFLOW_OS_B"--> (0x20) ;
    /// root --"_other"--> (0x30), which is no plugin export.
    fn two_exports() -> Vec<u8> {
        let mut t = vec![0, 3];
        t.extend_from_slice(b"_MEMFLOW_OS_A\0");
        t.push(40);
        t.extend_from_slice(b"_MEMFLOW_OS_B\0");
        t.push(44);
        t.extend_from_slice(b"_other\0");
        t.push(48);
        assert_eq!(t.len(), 40);
        t.extend_from_slice(&[2, 0, 0x10, 0]); // at 40: terminal size 2, flags 0, addr 0x10, 0 kids
        t.extend_from_slice(&[2, 0, 0x20, 0]); // at 44
        t.extend_from_slice(&[2, 0, 0x30, 0]); // at 48
        t
    }

    #[test]
    fn reads_plugin_exports_in_trie_order() {
        assert_eq!(
            read(&two_exports()).unwrap(),
            vec![
                ("_MEMFLOW_OS_A".into(), 0x10),
                ("_MEMFLOW_OS_B".into(), 0x20)
            ]
        );
    }

    /// 255 edges from the root to one node: the old reader queued every one of them (with
    /// a copied name) before noticing; this one refuses at the second edge.
    #[test]
    fn siblings_sharing_a_node_are_refused_at_once() {
        let label = b"_MEMFLOW_OS_X\0";
        let node = 2 + 255 * (label.len() + 2);
        let mut t = vec![0, 255];
        for _ in 0..255 {
            t.extend_from_slice(label);
            // The node's offset as a two-byte ULEB128.
            t.extend_from_slice(&[(node & 0x7f) as u8 | 0x80, (node >> 7) as u8]);
        }
        assert_eq!(t.len(), node);
        t.extend_from_slice(&[2, 0, 0x10, 0]);
        let err = read(&t).unwrap_err().to_string();
        assert!(err.contains("a node reached twice"), "{err}");
    }

    #[test]
    fn cycles_and_truncation_are_errors() {
        let mut cyclic = two_exports();
        cyclic[31] = 0; // "_MEMFLOW_OS_B" now points back at the root
        assert!(read(&cyclic).is_err());
        let t = two_exports();
        // Up to the last node read: "_other"'s node (from 48) is never descended into.
        for len in 1..48 {
            assert!(read(&t[..len]).is_err(), "prefix {len}");
        }
    }
}
