//! C2SP tlog-witness `add-checkpoint` requests: what a log sends a witness, and what a
//! witness reads. The body is `old <size>\n`, the consistency proof from that size (one
//! base64 hash a line, at most [`MAX_PROOF_LINES`]), an empty line, then the signed
//! checkpoint. A witness answers 200 with its cosignature lines, or 409 with its own size
//! (content type [`SIZE_CONTENT_TYPE`]) when `old` is not the size it cosigned last.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Defect, Error};
use crate::merkle::Hash;

/// The path of the request, below a witness's URL prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// Content type of a 409 answer, whose body is the witness's size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Most proof lines in one request (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Largest request body read: proof lines and a checkpoint note with its signatures.
pub const MAX_REQUEST_BYTES: usize = 128 << 10;

/// A parsed `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size the log believes the witness cosigned last.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(B64.encode(h).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Parses a request body; any defect is the witness's 400.
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let bad = |defect| Error::Malformed {
            what: "add-checkpoint request",
            defect,
        };
        if body.len() > MAX_REQUEST_BYTES {
            return Err(bad(Defect::TooLarge {
                field: "request",
                max: MAX_REQUEST_BYTES,
            }));
        }
        let mut rest = body;
        let mut line = || -> Result<&[u8], Error> {
            let at = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or_else(|| bad(Defect::Unterminated("line")))?;
            let (l, r) = rest.split_at(at);
            rest = &r[1..];
            Ok(l)
        };
        let old = std::str::from_utf8(line()?)
            .ok()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .filter(|n| n.len() == 1 || !n.starts_with('0'))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad(Defect::Invalid("first line (old <size>)")))?;
        let mut proof = Vec::new();
        loop {
            let l = line()?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(Defect::TooMany {
                    field: "proof lines",
                    max: MAX_PROOF_LINES,
                }));
            }
            let raw = B64.decode(l).map_err(|_| {
                bad(Defect::Encoding {
                    field: "proof line",
                    expected: "base64",
                })
            })?;
            let hash = Hash::try_from(raw.as_slice()).map_err(|_| {
                bad(Defect::Length {
                    field: "proof hash",
                    expected: 32,
                    found: raw.len(),
                })
            })?;
            proof.push(hash);
        }
        let checkpoint = rest.to_vec();
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint,
        })
    }
}

/// Parses a 409 answer's body: the witness's size.
pub fn parse_size(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    let n = text.strip_suffix('\n').unwrap_or(text);
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_are_refused() {
        let req = AddCheckpoint {
            old: 7,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: b"o\n9\nroot\n\n\xe2\x80\x94 o sig\n".to_vec(),
        };
        assert_eq!(AddCheckpoint::parse(&req.to_body()).unwrap(), req);
        for bad in [
            &b""[..],
            b"old 7",
            b"old x\n\n",
            b"old 07\n\n",
            b"new 7\n\n",
            b"old 7\nnot base64!\n\n",
            b"old 7\nAAAA\n\n",
        ] {
            assert!(AddCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
        let many = AddCheckpoint {
            old: 1,
            proof: vec![[0; 32]; MAX_PROOF_LINES + 1],
            checkpoint: vec![],
        };
        assert!(AddCheckpoint::parse(&many.to_body()).is_err());
        assert_eq!(parse_size(b"42\n"), Some(42));
        assert_eq!(parse_size(b"x\n"), None);
    }
}
