//! `cairn witness serve`: a C2SP tlog-witness answering with the spec's statuses, keeping
//! the size it cosigned across a kill -9.

use cairn_tlog::cosignature::{CosignatureVerifier, add_lines, require_quorum};
use cairn_tlog::merkle::{self, MemoryTree};
use cairn_tlog::witness::{AddCheckpoint, parse_size};
use cairn_tlog::{Checkpoint, Note, NoteSigner};

use crate::pull::{s, stdout};
use crate::util::{Served, cairn, ok};

const ORIGIN: &str = "registry.test/log";

fn signed(log: &NoteSigner, origin: &str, size: u64, root: [u8; 32]) -> Vec<u8> {
    let cp = Checkpoint {
        origin: origin.into(),
        size,
        root,
        extensions: vec![],
    };
    log.sign(&cp.to_text()).unwrap().into_bytes()
}

fn post(url: &str, old: u64, proof: Vec<[u8; 32]>, checkpoint: Vec<u8>) -> (u16, Vec<u8>) {
    let body = AddCheckpoint {
        old,
        proof,
        checkpoint,
    }
    .to_body();
    raw(url, body)
}

fn raw(url: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let r = reqwest::Client::new()
                .post(format!("{url}/add-checkpoint"))
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        })
}

fn witness(config: &std::path::Path) -> Served {
    let mut cmd = cairn();
    cmd.arg("witness");
    Served::start(cmd, &["--config", s(config), "--addr", "127.0.0.1:0"])
}

#[test]
fn the_witness_cosigns_only_what_extends_what_it_cosigned_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let log = NoteSigner::from_seed(ORIGIN, &[5; 32]).unwrap();
    let mallory = NoteSigner::from_seed(ORIGIN, &[6; 32]).unwrap();
    let config = dir.path().join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"witness.test/cairn\"\nkey = \"witness.pem\"\ndatabase = \"state.db\"\n\
             [[log]]\norigin = \"{ORIGIN}\"\nkey = \"{}\"\n",
            log.verifier()
        ),
    )
    .unwrap();
    let vkey = stdout(&ok(cairn()
        .args(["witness", "key", "--config"])
        .arg(&config)))
    .trim()
    .to_owned();
    let key = CosignatureVerifier::parse(&vkey).unwrap();
    let mut tree = MemoryTree::default();
    for i in 0..5u8 {
        tree.push(merkle::leaf_hash(&[i]));
    }
    let root = |n| merkle::range_root(&tree, 0, n).unwrap();
    let w = witness(&config);

    // The spec's refusals: bad request, unknown log, untrusted signature, old > size.
    assert_eq!(raw(&w.url, b"old x\n\n".to_vec()).0, 400);
    let other = NoteSigner::from_seed("other.test/log", &[7; 32]).unwrap();
    let unknown = signed(&other, "other.test/log", 3, root(3));
    assert_eq!(post(&w.url, 0, vec![], unknown).0, 404);
    assert_eq!(
        post(&w.url, 0, vec![], signed(&mallory, ORIGIN, 3, root(3))).0,
        403
    );
    assert_eq!(
        post(&w.url, 4, vec![], signed(&log, ORIGIN, 3, root(3))).0,
        400
    );

    // First contact, and the cosignature verifies under `cairn witness key`.
    let three = signed(&log, ORIGIN, 3, root(3));
    let (status, line) = post(&w.url, 0, vec![], three.clone());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&line));
    let cosigned = add_lines(
        std::str::from_utf8(&three).unwrap(),
        &[String::from_utf8(line).unwrap()],
    )
    .unwrap();
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    require_quorum(&note, std::slice::from_ref(&key), 1).unwrap();

    // A fork (same size, other root), a rollback, a stale old size, a bad proof.
    assert_eq!(
        post(&w.url, 3, vec![], signed(&log, ORIGIN, 3, [9; 32])).0,
        422
    );
    let (status, body) = post(&w.url, 2, vec![], signed(&log, ORIGIN, 2, root(2)));
    assert_eq!((status, parse_size(&body)), (409, Some(3)));
    let five = signed(&log, ORIGIN, 5, root(5));
    let proof = merkle::consistency_proof(&tree, 3, 5).unwrap();
    let mut bad = proof.clone();
    bad[0][0] ^= 1;
    assert_eq!(post(&w.url, 3, bad, five.clone()).0, 422);
    let (status, body) = post(&w.url, 0, vec![], five.clone());
    assert_eq!((status, parse_size(&body)), (409, Some(3)));

    // kill -9 and restart: the size it cosigned is still what it holds.
    w.kill9();
    let w = witness(&config);
    assert!(
        w.stderr_text()
            .contains(&format!("witnessing {ORIGIN}, cosigned to 3 entries")),
        "{}",
        w.stderr_text()
    );
    let (status, body) = post(&w.url, 0, vec![], five.clone());
    assert_eq!((status, parse_size(&body)), (409, Some(3)));
    assert_eq!(post(&w.url, 3, proof, five).0, 200);
    let (status, body) = post(&w.url, 3, vec![], signed(&log, ORIGIN, 3, root(3)));
    assert_eq!((status, parse_size(&body)), (409, Some(5)));
}
