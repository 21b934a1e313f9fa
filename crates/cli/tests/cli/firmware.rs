//! The firmware decides: real UEFI firmware (Debian's OVMF Secure Boot build under QEMU,
//! TCG) enrolled with a key set `cairn efi keygen` made boots an image `cairn efi sign`
//! signed, and refuses an unsigned one, one signed by a key outside db, and db-signed ones
//! whose certificate or digest a Cairn-made dbx lists. `./scripts/test` installs
//! qemu-system-x86, ovmf and (PyPI) virt-firmware, whose `virt-fw-vars` enrolls the keys
//! into the variable store offline; dbx goes in as the `.auth` file Cairn signed.

use std::path::Path;

use crate::util::{cairn, ok};
use crate::vm::{CODE, HELLO, VARS, denied, enroll, hello_boot as boot, need, started};

#[test]
fn the_firmware_boots_what_cairn_signed_and_refuses_the_rest() {
    need(CODE);
    need(VARS);
    need(HELLO);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    let stranger = d.join("stranger");
    ok(cairn()
        .args(["efi", "keygen", "--name", "Firmware Test", "--out"])
        .arg(&keys));
    ok(cairn()
        .args(["efi", "keygen", "--name", "Stranger", "--out"])
        .arg(&stranger));
    let sign = |with: &Path, out: &str| {
        let out = d.join(out);
        ok(cairn()
            .args(["efi", "sign", HELLO, "--key"])
            .arg(with.join("db.key"))
            .arg("--cert")
            .arg(with.join("db.crt"))
            .arg("--out")
            .arg(&out));
        out
    };
    let signed = sign(&keys, "signed.efi");
    let foreign = sign(&stranger, "foreign.efi");
    let vars = enroll(d, &keys, None, None);

    let log = boot(d, &vars, &signed);
    assert!(started(&log), "a Cairn-signed image did not boot:\n{log}");
    let log = boot(d, &vars, Path::new(HELLO));
    assert!(denied(&log), "an unsigned image was not refused:\n{log}");
    let log = boot(d, &vars, &foreign);
    assert!(
        denied(&log),
        "an image signed outside db was not refused:\n{log}"
    );
    // The foreign-signed image, signed again by db's key: the second signature allows it.
    let both = d.join("both.efi");
    ok(cairn()
        .args(["efi", "sign"])
        .arg(&foreign)
        .arg("--key")
        .arg(keys.join("db.key"))
        .arg("--cert")
        .arg(keys.join("db.crt"))
        .arg("--out")
        .arg(&both));
    let log = boot(d, &vars, &both);
    assert!(
        started(&log),
        "a second, db-trusted signature did not allow the image:\n{log}"
    );

    // dbx, made and signed (by KEK) by Cairn: db's certificate, or the image's digest.
    let guid = std::fs::read_to_string(keys.join("GUID")).unwrap();
    let dbx = |what: &str, file: &Path, name: &str| {
        let esl = d.join(format!("{name}.esl"));
        let auth = d.join(format!("{name}.auth"));
        ok(cairn()
            .args(["efi", "esl", "--owner", guid.trim(), what])
            .arg(file)
            .arg("--out")
            .arg(&esl));
        ok(cairn()
            .args(["efi", "auth", "dbx"])
            .arg(&esl)
            .arg("--key")
            .arg(keys.join("KEK.key"))
            .arg("--cert")
            .arg(keys.join("KEK.crt"))
            .arg("--out")
            .arg(&auth));
        auth
    };
    let by_cert = enroll(
        d,
        &keys,
        Some(&dbx("--cert", &keys.join("db.crt"), "dbx-cert")),
        None,
    );
    let log = boot(d, &by_cert, &signed);
    assert!(
        denied(&log),
        "an image whose certificate is in dbx was not refused:\n{log}"
    );
    // Two signatures, the second one db trusts: the first's signer in dbx still refuses it.
    let foreign_out = enroll(
        d,
        &keys,
        Some(&dbx("--cert", &stranger.join("db.crt"), "dbx-foreign")),
        None,
    );
    let log = boot(d, &foreign_out, &both);
    assert!(
        denied(&log),
        "an image with one signature in dbx was not refused:\n{log}"
    );
    let by_hash = enroll(d, &keys, Some(&dbx("--hash", &signed, "dbx-hash")), None);
    let log = boot(d, &by_hash, &signed);
    assert!(
        denied(&log),
        "an image whose digest is in dbx was not refused:\n{log}"
    );

    // An unsigned image allowed by its digest in db. Its length is not a multiple of 8: the
    // firmware hashes it as it is, as `cairn efi hash` does, not padded as sbsign pads
    // (and efitools' hash-to-efi-sig-list hashes).
    let hash_of = |path: &Path| {
        let said = String::from_utf8(ok(cairn().args(["efi", "hash"]).arg(path)).stdout).unwrap();
        said.split_whitespace().next().unwrap().to_owned()
    };
    let odd = d.join("odd.efi");
    let mut bytes = std::fs::read(HELLO).unwrap();
    bytes.extend_from_slice(b"odd");
    std::fs::write(&odd, &bytes).unwrap();
    let digest = hash_of(&odd);
    let log = boot(d, &enroll(d, &keys, None, Some(&digest)), &odd);
    assert!(
        started(&log),
        "an image whose digest is in db did not boot:\n{log}"
    );
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let padded_path = d.join("padded.efi");
    std::fs::write(&padded_path, &bytes).unwrap();
    let padded = hash_of(&padded_path);
    assert_ne!(padded, digest);
    let log = boot(d, &enroll(d, &keys, None, Some(&padded)), &odd);
    assert!(denied(&log), "the padded digest allowed the image:\n{log}");
}
