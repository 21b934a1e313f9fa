//! Signed notes against golang.org/x/mod/sumdb/note's test vector, and checkpoints.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use cairn_tlog::{Checkpoint, Note, NoteSigner, NoteVerifier};

const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIGNED: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

#[test]
fn sumdb_vector_signs_and_verifies() {
    let signer = NoteSigner::parse(SKEY).unwrap();
    assert_eq!(signer.verifier().to_string(), VKEY);
    assert_eq!(signer.sign(TEXT).unwrap(), SIGNED);
    let peter = NoteVerifier::parse(VKEY).unwrap();
    let enoch = NoteVerifier::parse(ENOCH).unwrap();
    assert_eq!(
        Note::parse(SIGNED.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&peter))
            .unwrap(),
        ["PeterNeumann"]
    );
    let both = format!("{SIGNED}{ENOCH_SIG}");
    let note = Note::parse(both.as_bytes()).unwrap();
    assert_eq!(
        note.verify(&[peter.clone(), enoch.clone()]).unwrap(),
        ["PeterNeumann", "EnochRoot"]
    );
    assert_eq!(
        note.verify(std::slice::from_ref(&enoch)).unwrap(),
        ["EnochRoot"],
        "unknown signers are ignored"
    );
    assert!(
        Note::parse(SIGNED.as_bytes())
            .unwrap()
            .verify(&[enoch])
            .is_err(),
        "no trusted signature"
    );
    assert_eq!(Note::parse(SIGNED.as_bytes()).unwrap().text(), TEXT);
}

#[test]
fn bad_notes_and_keys_are_refused() {
    let peter = NoteVerifier::parse(VKEY).unwrap();
    let corrupted = SIGNED.replace("x08go", "x08gp");
    assert!(
        Note::parse(corrupted.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&peter))
            .is_err()
    );
    let altered = SIGNED.replace("cryptography", "cryptographY");
    assert!(
        Note::parse(altered.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&peter))
            .is_err()
    );
    for bad in [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        SIGNED.trim_end_matches('\n').to_owned(),
        format!("\x01{SIGNED}"),
        SIGNED.replace("— PeterNeumann", "— Bad Name"),
        format!("{SIGNED}not a signature\n"),
        format!("{TEXT}\n{}", ENOCH_SIG.repeat(101)),
    ] {
        assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    for key in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "no-plus-signs",
    ] {
        assert!(NoteVerifier::parse(key).is_err(), "{key}");
    }
    assert!(
        NoteSigner::parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
        )
        .is_err()
    );
    assert!(NoteSigner::parse(SKEY).unwrap().sign("no newline").is_err());
    assert_eq!(
        format!("{:?}", NoteSigner::parse(SKEY).unwrap()),
        "NoteSigner(PeterNeumann+c74f20a3)"
    );
}

#[test]
fn checkpoints_round_trip_and_refuse_malformed_bodies() {
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let c = Checkpoint::parse(text).unwrap();
    assert_eq!(
        (c.origin.as_str(), c.size),
        ("example.com/behind-the-sofa", 20_852_163)
    );
    assert_eq!(c.to_text(), text);
    let with_ext = format!("{text}extension one\n");
    assert_eq!(
        Checkpoint::parse(&with_ext).unwrap().extensions,
        ["extension one"]
    );
    for bad in [
        "example.com/x\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",
        "example.com/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
    // A signed checkpoint, end to end.
    let signer = NoteSigner::generate("example.com/log").unwrap();
    let note = signer.sign(&c.to_text()).unwrap();
    let parsed = Note::parse(note.as_bytes()).unwrap();
    parsed.verify(&[signer.verifier()]).unwrap();
    assert_eq!(Checkpoint::parse(parsed.text()).unwrap(), c);
}
