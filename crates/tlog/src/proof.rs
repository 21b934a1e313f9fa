//! C2SP tlog-proof (`c2sp.org/tlog-proof@v1`): an offline-verifiable proof that an entry
//! is in a log, as one text file: optional opaque `extra` data, the entry's index, its
//! inclusion proof, and the checkpoint the proof is for.
//!
//! Cairn puts the logged entry's canonical bytes in `extra`, so the file alone says what
//! was logged: a verifier hashes `extra` as the leaf and proves it against the checkpoint.

use base64::Engine as _;

use crate::merkle::Hash;

/// The first line of every tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest tlog-proof text read (an entry of 64 KiB in base64, 64 hashes, a checkpoint
/// with cosignatures fit well within).
pub const MAX_PROOF_BYTES: usize = 256 * 1024;

/// A parsed tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The opaque extra data (Cairn: the entry's canonical bytes).
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof, leaf side first.
    pub proof: Vec<Hash>,
    /// The checkpoint (a signed note), as text.
    pub checkpoint: String,
}

/// Why a tlog-proof text does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed tlog-proof: {0}")]
pub struct MalformedProof(pub String);

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl TlogProof {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut text = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", b64().encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            text.push_str(&b64().encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint);
        text
    }

    /// Parses the text form (strictly: every line as the format has it).
    pub fn parse(text: &str) -> Result<Self, MalformedProof> {
        let bad = |why: &str| MalformedProof(why.to_owned());
        if text.len() > MAX_PROOF_BYTES {
            return Err(bad("larger than 256 KiB"));
        }
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut extra = None;
        if let Some(data) = line.strip_prefix("extra ") {
            extra = Some(
                b64()
                    .decode(data)
                    .map_err(|_| bad("the extra line is not base64"))?,
            );
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the index line is not `index <number>`"))?;
        let proof = lines
            .map(|l| {
                let raw = b64()
                    .decode(l)
                    .map_err(|_| bad("a proof hash is not base64"))?;
                Hash::try_from(raw.as_slice()).map_err(|_| bad("a proof hash is not 32 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if checkpoint.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_bad_forms_are_refused() {
        let proof = TlogProof {
            extra: Some(b"{\"kind\":\"package\"}".to_vec()),
            index: 7,
            proof: vec![[1u8; 32], [2u8; 32]],
            checkpoint: "origin\n8\nroot\n\n\u{2014} origin sig\n".into(),
        };
        let text = proof.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        assert_eq!(TlogProof::parse(&text), Ok(proof.clone()));
        let plain = TlogProof {
            extra: None,
            ..proof
        };
        assert_eq!(TlogProof::parse(&plain.to_text()), Ok(plain.clone()));
        for bad in [
            text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
            text.replace("index 7", "index x"),
            text.replace("extra ", "extra !"),
            plain.to_text().replace("\n\n", "\n"),
            format!("{HEADER}\nindex 1\nAAAA\n\ncp\n"),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
