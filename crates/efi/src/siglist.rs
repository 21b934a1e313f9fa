//! EFI_SIGNATURE_LIST: the contents of the PK, KEK, db and dbx variables (and of `.esl`
//! files). A file is a sequence of lists; each list has a type (X.509, SHA-256, …), an
//! optional header, and entries of one size, each an owner GUID followed by its data.

use crate::error::Error;
use crate::guid::Guid;

/// Bytes of a list's fixed header: type GUID and three sizes.
const LIST_HEADER: usize = 16 + 4 + 4 + 4;
/// Bytes of an entry's owner GUID.
const OWNER: usize = 16;

/// One signature: its owner and its data (a DER certificate, a SHA-256, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Who added it (a GUID the enrolling party chooses).
    pub owner: Guid,
    /// The signature data: for [`Guid::CERT_X509`] a DER certificate, for
    /// [`Guid::CERT_SHA256`] 32 bytes.
    pub data: Vec<u8>,
}

/// One EFI_SIGNATURE_LIST: entries of one type and one size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureList {
    /// The entries' type ([`Guid::CERT_X509`], [`Guid::CERT_SHA256`], …).
    pub kind: Guid,
    /// The list's type-specific header (empty for X.509 and SHA-256).
    pub header: Vec<u8>,
    /// The entries, all of the same data size.
    pub entries: Vec<Entry>,
}

impl SignatureList {
    /// A list holding one DER X.509 certificate (what `cert-to-efi-sig-list` writes).
    pub fn x509(owner: Guid, cert_der: &[u8]) -> Self {
        SignatureList {
            kind: Guid::CERT_X509,
            header: Vec::new(),
            entries: vec![Entry {
                owner,
                data: cert_der.to_vec(),
            }],
        }
    }

    /// A list of SHA-256 image digests (what `hash-to-efi-sig-list` writes).
    pub fn sha256(owner: Guid, digests: &[[u8; 32]]) -> Self {
        SignatureList {
            kind: Guid::CERT_SHA256,
            header: Vec::new(),
            entries: digests
                .iter()
                .map(|d| Entry {
                    owner,
                    data: d.to_vec(),
                })
                .collect(),
        }
    }

    /// The list's bytes. Entries of unequal sizes cannot share a list: each list written
    /// takes the size of its first entry, so give one list per certificate size.
    fn write(&self, out: &mut Vec<u8>) {
        let size = OWNER + self.entries.first().map_or(0, |e| e.data.len());
        let total = LIST_HEADER + self.header.len() + size * self.entries.len();
        out.extend_from_slice(&self.kind.0);
        for n in [total, self.header.len(), size] {
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        out.extend_from_slice(&self.header);
        for e in &self.entries {
            out.extend_from_slice(&e.owner.0);
            out.extend_from_slice(&e.data);
        }
    }
}

/// The bytes of a sequence of lists, as a variable or `.esl` file holds them.
pub fn to_bytes(lists: &[SignatureList]) -> Vec<u8> {
    let mut out = Vec::new();
    for list in lists {
        list.write(&mut out);
    }
    out
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// Parses a sequence of lists; every size is checked against the bytes there are.
pub fn parse(bytes: &[u8]) -> Result<Vec<SignatureList>, Error> {
    let mut lists = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let bad = |what| Error::SignatureList { offset: at, what };
        let rest = &bytes[at..];
        if rest.len() < LIST_HEADER {
            return Err(bad("truncated list header"));
        }
        let (total, header, size) = (u32_at(rest, 16), u32_at(rest, 20), u32_at(rest, 24));
        if total > rest.len() {
            return Err(bad("the list is longer than the bytes that follow"));
        }
        let body = total
            .checked_sub(LIST_HEADER)
            .and_then(|b| b.checked_sub(header))
            .ok_or(bad("the list is shorter than its headers"))?;
        if size < OWNER {
            return Err(bad("an entry is shorter than its owner GUID"));
        }
        if body % size != 0 {
            return Err(bad("the entries do not fill the list"));
        }
        let mut kind = [0u8; 16];
        kind.copy_from_slice(&rest[..16]);
        let kind = Guid(kind);
        if kind == Guid::CERT_SHA256 && size != OWNER + 32 {
            return Err(bad("a SHA-256 entry is not 32 bytes"));
        }
        let start = LIST_HEADER + header;
        let entries = rest[start..total]
            .chunks_exact(size)
            .map(|e| {
                let mut owner = [0u8; 16];
                owner.copy_from_slice(&e[..OWNER]);
                Entry {
                    owner: Guid(owner),
                    data: e[OWNER..].to_vec(),
                }
            })
            .collect();
        lists.push(SignatureList {
            kind,
            header: rest[LIST_HEADER..start].to_vec(),
            entries,
        });
        at += total;
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_hostile_sizes_are_refused() {
        let owner: Guid = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        let lists = vec![
            SignatureList::x509(owner, b"not really DER"),
            SignatureList::sha256(owner, &[[1; 32], [2; 32]]),
        ];
        let bytes = to_bytes(&lists);
        assert_eq!(bytes.len(), 28 + 16 + 14 + 28 + 2 * 48);
        assert_eq!(parse(&bytes).unwrap(), lists);
        assert_eq!(parse(&[]).unwrap(), vec![]);
        for cut in 1..bytes.len() {
            if cut == 28 + 16 + 14 {
                continue; // a whole first list
            }
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut absurd = bytes.clone();
        absurd[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&absurd).is_err());
        let mut zero = bytes.clone();
        zero[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert!(parse(&zero).is_err());
        let mut header = bytes;
        header[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&header).is_err());
    }
}
