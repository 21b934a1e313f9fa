//! Cairn's cosignatures and tlog-witness requests against code no one here wrote: the
//! PyPI `aics-witness` (a C2SP tlog-witness server) cosigns checkpoints of a Cairn log sent
//! with `cairn_tlog::witness`, Cairn's verifier checks its cosignatures, and `aics-tlog`
//! verifies a checkpoint cosigned by it and by a Cairn `Cosigner` with a quorum of 2.
//! `scripts/test` installs both packages into `target/aics` (or set `CAIRN_AICS_BIN`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use cairn_tlog::cosignature::{CosignatureVerifier, Cosigner, add_lines, require_quorum};
use cairn_tlog::merkle::{self, MemoryTree};
use cairn_tlog::witness::{AddCheckpoint, parse_size};
use cairn_tlog::{Checkpoint, Note, NoteSigner};

const ORIGIN: &str = "cairn.test/log";

fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("CAIRN_AICS_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/aics/bin"),
        PathBuf::from,
    );
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test (it installs aics-witness and aics-tlog from PyPI)",
        path.display()
    );
    path
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

struct Witness {
    child: Child,
    url: String,
    vkey: String,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An `aics-witness` that trusts the log `log_vkey`, listening on loopback.
fn aics_witness(dir: &std::path::Path, log_vkey: &str) -> Witness {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("witness.json");
    let listen = format!("127.0.0.1:{port}");
    let w = bin("aics-witness");
    let out = Command::new(&w)
        .args(["init", "--config"])
        .arg(&config)
        .args(["--name", "witness.test/aics", "--listen", &listen])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (ok, text) = run(Command::new(&w)
        .args(["add-log", "--config"])
        .arg(&config)
        .args(["--origin", ORIGIN, "--vkey", log_vkey]));
    assert!(ok, "{text}");
    let child = Command::new(&w)
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(&listen).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Witness {
        child,
        url: format!("http://{listen}"),
        vkey,
    }
}

fn signed(log: &NoteSigner, tree: &MemoryTree, size: u64) -> String {
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: merkle::range_root(tree, 0, size).unwrap(),
        extensions: vec![],
    };
    log.sign(&cp.to_text()).unwrap()
}

async fn add(w: &Witness, req: &AddCheckpoint) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", w.url))
        .body(req.to_body())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn an_aics_witness_cosigns_a_cairn_log_and_aics_tlog_counts_cairn_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap();
    let mut tree = MemoryTree::default();
    for i in 0..5u8 {
        tree.push(merkle::leaf_hash(&[i]));
    }
    let w = aics_witness(dir.path(), &log.verifier().to_string());
    let theirs = CosignatureVerifier::parse(&w.vkey).unwrap();

    // First contact: old 0, no proof.
    let three = signed(&log, &tree, 3);
    let req = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: three.clone().into_bytes(),
    };
    let (status, body) = add(&w, &req).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let line = String::from_utf8(body).unwrap();
    let note = Note::parse(add_lines(&three, &[line]).unwrap().as_bytes()).unwrap();
    assert_eq!(
        require_quorum(&note, std::slice::from_ref(&theirs), 1).unwrap(),
        ["witness.test/aics"]
    );

    // A stale old size is answered 409 with the witness's size, as Cairn reads it.
    let five = signed(&log, &tree, 5);
    let stale = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: five.clone().into_bytes(),
    };
    let (status, body) = add(&w, &stale).await;
    assert_eq!((status, parse_size(&body)), (409, Some(3)));
    // A proof that does not verify is 422; Cairn's own proof is accepted.
    let proof = merkle::consistency_proof(&tree, 3, 5).unwrap();
    let mut bad = proof.clone();
    bad[0][0] ^= 1;
    let forged = AddCheckpoint {
        old: 3,
        proof: bad,
        checkpoint: five.clone().into_bytes(),
    };
    assert_eq!(add(&w, &forged).await.0, 422);
    let good = AddCheckpoint {
        old: 3,
        proof,
        checkpoint: five.clone().into_bytes(),
    };
    let (status, body) = add(&w, &good).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let theirs_line = String::from_utf8(body).unwrap();

    // Cosigned by aics-witness and by a Cairn cosigner: aics-tlog counts both.
    let mut seed = cairn_secmem::LockedBuffer::new(32).unwrap();
    seed.copy_from(&[9; 32]).unwrap();
    let ours = Cosigner::from_secret("witness.test/cairn", seed).unwrap();
    let text = Note::parse(five.as_bytes()).unwrap().text().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let our_line = ours.cosign(&text, now).unwrap();
    let both = add_lines(&five, &[theirs_line, our_line]).unwrap();
    let file = dir.path().join("checkpoint");
    std::fs::write(&file, &both).unwrap();
    let absent = Cosigner::from_secret("witness.test/absent", {
        let mut s = cairn_secmem::LockedBuffer::new(32).unwrap();
        s.copy_from(&[10; 32]).unwrap();
        s
    })
    .unwrap();
    let verify = |keys: &[String], quorum: &str| {
        let mut cmd = Command::new(bin("aics-tlog"));
        cmd.args(["verify-checkpoint", "--note"])
            .arg(&file)
            .args(["--log-key", &log.verifier().to_string()])
            .args(["--origin", ORIGIN, "--quorum", quorum]);
        for k in keys {
            cmd.args(["--witness-key", k]);
        }
        run(&mut cmd)
    };
    let two = [w.vkey.clone(), ours.verifier().to_string()];
    let (ok, text) = verify(&two, "2");
    assert!(ok, "aics-tlog refused a 2-of-2 cosigned checkpoint: {text}");
    let three_keys = [
        two[0].clone(),
        two[1].clone(),
        absent.verifier().to_string(),
    ];
    let (ok, text) = verify(&three_keys, "3");
    assert!(
        !ok,
        "aics-tlog accepted a quorum of 3 with 2 cosignatures: {text}"
    );
    // And Cairn agrees.
    let note = Note::parse(both.as_bytes()).unwrap();
    let keys = [theirs, ours.verifier(), absent.verifier()];
    assert_eq!(require_quorum(&note, &keys, 2).unwrap().len(), 2);
    assert!(require_quorum(&note, &keys, 3).is_err());
}
