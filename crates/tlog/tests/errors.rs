//! Callers tell failures apart by variant, not by wording.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cairn_tlog::{
    Checkpoint, Defect, DirStore, Error, FetchFailure, Inconsistency, Note, NoteSigner,
    SignatureFailure, verify_log,
};

const TEXT: &str = "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

#[test]
fn a_checkpoint_without_its_final_newline_is_malformed() {
    let err = Checkpoint::parse(TEXT.trim_end()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed {
                what: "checkpoint",
                defect: Defect::Unterminated(_),
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "malformed checkpoint: text must end in a newline"
    );
    let err = Checkpoint::parse("example.org/log\n3\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed {
                what: "checkpoint",
                defect: Defect::Missing("root line"),
            }
        ),
        "{err:?}"
    );
}

#[test]
fn signatures_by_unknown_keys_and_bad_signatures_are_told_apart() {
    let signer = NoteSigner::from_seed("example.org/log", &[1; 32]).unwrap();
    let stranger = NoteSigner::from_seed("example.org/log", &[2; 32]).unwrap();
    let trusted = [signer.verifier()];

    let by_stranger = Note::parse(stranger.sign(TEXT).unwrap().as_bytes()).unwrap();
    let err = by_stranger.verify(&trusted).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature(SignatureFailure::NoTrustedSignature)
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "note verification failed: no signature by a trusted key"
    );

    // The trusted key's signature over another tree size.
    let forged = signer.sign(TEXT).unwrap().replacen("\n3\n", "\n4\n", 1);
    let err = Note::parse(forged.as_bytes())
        .unwrap()
        .verify(&trusted)
        .unwrap_err();
    let key = format!("example.org/log+{:08x}", signer.verifier().id());
    assert!(
        matches!(&err, Error::BadSignature(SignatureFailure::Invalid { key: k }) if *k == key),
        "{err:?}"
    );
}

#[test]
fn a_missing_checkpoint_is_a_fetch_failure_and_a_fork_an_inconsistency() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::from_seed("example.org/log", &[1; 32])
        .unwrap()
        .verifier();
    let err = verify_log(&DirStore::open(dir.path()).unwrap(), &key, None).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Fetch { path, failure: FetchFailure::Missing } if path == "checkpoint"
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "checkpoint is missing");

    let err = Error::Inconsistent(Inconsistency::NotAPrefix {
        old_size: 3,
        new_size: 4,
        old: "a".into(),
        new: "b".into(),
    });
    assert_eq!(
        err.to_string(),
        "INCONSISTENT: the earlier checkpoint (size 3) is not a prefix of the current one (size 4):\na\nb"
    );
}
