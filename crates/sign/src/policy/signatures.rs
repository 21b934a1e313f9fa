//! The policy's root signatures: writing the signed file, adding a signature, and checking
//! the threshold of its own root keys and, for an update, of the previous policy's.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{Policy, PolicyError, SIGNATURE_PREFIX, distinct};
use crate::keys::{PrivateKey, PublicKey, Signed};

impl Policy {
    /// Body and signature lines: the file to write.
    pub fn to_text(&self) -> String {
        let mut out = self.body.clone();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        for (id, sig) in &self.signatures {
            out.push_str(&format!("{SIGNATURE_PREFIX}{id} {}\n", hex::encode(sig)));
        }
        out
    }

    /// Adds a root signature by `key` (which must be one of `roots`, old or new: the caller
    /// decides which policy it counts for).
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), crate::Error> {
        let sig = key.sign(&Signed::bytes(self.body.as_bytes()))?;
        let id = key.public().id();
        self.signatures.retain(|(i, _)| *i != id);
        self.signatures.push((id, sig));
        Ok(())
    }

    /// Distinct key ids among `keys` with a valid signature over this body.
    fn signed_by(&self, keys: &[PublicKey]) -> BTreeSet<String> {
        distinct(keys.iter().filter_map(|k| {
            let id = k.id();
            self.signatures
                .iter()
                .any(|(sid, sig)| *sid == id && k.verify(&Signed::bytes(self.body.as_bytes()), sig))
                .then_some(id)
        }))
    }

    /// Key ids of this policy's own root keys whose signatures over it verify (what a
    /// registry logs when it publishes the policy).
    pub fn root_signers(&self) -> Vec<String> {
        self.signed_by(&self.roots).into_iter().collect()
    }

    /// Checks expiry and the threshold of the policy's own root keys.
    pub fn verify(&self, now: DateTime<Utc>) -> Result<(), PolicyError> {
        if now > self.doc.expires {
            return Err(PolicyError::Expired(self.doc.expires));
        }
        let have = self.signed_by(&self.roots).len();
        if have < self.doc.root.threshold {
            return Err(PolicyError::Threshold {
                which: "its own",
                have,
                need: self.doc.root.threshold,
            });
        }
        Ok(())
    }

    /// Checks that `new` may replace this policy: valid by itself, a higher version, and
    /// signed by the threshold of this policy's root keys too.
    pub fn check_update(&self, new: &Policy, now: DateTime<Utc>) -> Result<(), PolicyError> {
        if new.doc.version <= self.doc.version {
            return Err(PolicyError::Version {
                old: self.doc.version,
                new: new.doc.version,
            });
        }
        new.verify(now)?;
        let have = new.signed_by(&self.roots).len();
        if have < self.doc.root.threshold {
            return Err(PolicyError::Threshold {
                which: "the previous policy's",
                have,
                need: self.doc.root.threshold,
            });
        }
        Ok(())
    }
}
