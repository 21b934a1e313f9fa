//! C2SP tlog-checkpoint: the note body a log signs.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! [extension lines]
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Defect, Error};
use crate::merkle::Hash;

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (also its key name).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: Hash,
    /// Opaque extension lines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text, every line ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Parses a note text (the part a signature covers).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |defect| Error::Malformed {
            what: "checkpoint",
            defect,
        };
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad(Defect::Unterminated("text")))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad(Defect::Empty("origin")))?;
        let size = lines
            .next()
            .ok_or_else(|| bad(Defect::Missing("size line")))?;
        if size.is_empty()
            || (size.len() > 1 && size.starts_with('0'))
            || !size.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad(Defect::Encoding {
                field: "size",
                expected: "a canonical decimal",
            }));
        }
        let size = size.parse().map_err(|_| bad(Defect::OutOfRange("size")))?;
        let root = B64
            .decode(
                lines
                    .next()
                    .ok_or_else(|| bad(Defect::Missing("root line")))?,
            )
            .map_err(|_| {
                bad(Defect::Encoding {
                    field: "root",
                    expected: "base64",
                })
            })?;
        let root: Hash = root.try_into().map_err(|r: Vec<u8>| {
            bad(Defect::Length {
                field: "root",
                expected: 32,
                found: r.len(),
            })
        })?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad(Defect::Empty("extension line")));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}
