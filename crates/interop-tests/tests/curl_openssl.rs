//! `cairn serve` driven by `curl` and `openssl` exactly as memflow-registry's README shows.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_server::{BearerToken, Server, ServerConfig};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Is the DER signature's S in the upper half of the secp256k1 order?
fn is_high_s(sig_hex: &str) -> bool {
    use k256::elliptic_curve::scalar::IsHigh;
    let der: Vec<u8> = (0..sig_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&sig_hex[i..i + 2], 16).unwrap())
        .collect();
    bool::from(
        k256::ecdsa::Signature::from_der(&der)
            .unwrap()
            .s()
            .is_high(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_flow_with_curl_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Key pair exactly as the README makes it.
    sh(
        d,
        "openssl ecparam -name secp256k1 -genkey | openssl pkcs8 -topk8 -nocrypt -out ec-secp256k1-priv-key.pem",
    );
    sh(
        d,
        "openssl ec -in ec-secp256k1-priv-key.pem -pubout > ec-secp256k1-pub-key.pem",
    );

    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), d.join("data"));
    config.token = BearerToken::new("token");
    config.registry.public_keys = vec![d.join("ec-secp256k1-pub-key.pem")];
    let server = Server::bind(config).await.unwrap();
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));

    // Twenty distinct plugin files, each signed by openssl as the README does. Raw openssl
    // output is high-S about half the time; memflow-registry refused those, Cairn must not.
    let original = std::fs::read(fixtures().join("libmemflow_synthc.x86_64.so")).unwrap();
    let mut high = 0;
    for i in 0..20 {
        let mut bytes = original.clone();
        bytes.resize(bytes.len() + i + 1, 0);
        std::fs::write(d.join(format!("plugin{i}.so")), &bytes).unwrap();
        let out = sh(
            d,
            &format!(
                "export SIGNATURE=$(openssl dgst -sha256 -hex -sign ec-secp256k1-priv-key.pem plugin{i}.so | cut -d' ' -f2)
                 echo $SIGNATURE
                 curl -sS -H \"Authorization: Bearer token\" -F 'file=@plugin{i}.so' -F \"signature=$SIGNATURE\" {url}/files"
            ),
        );
        let mut lines = out.lines();
        let signature = lines.next().unwrap();
        high += usize::from(is_high_s(signature));
        assert_eq!(
            lines.next(),
            Some("\"Added\""),
            "plugin{i}.so (high-S: {})",
            is_high_s(signature)
        );
    }
    assert!(
        high > 0,
        "no high-S signature in 20 tries: the normalisation went untested"
    );

    let list = sh(d, &format!("curl -sS {url}/plugins"));
    assert_eq!(
        list,
        "{\"plugins\":[{\"name\":\"synthc\",\"description\":\"synthetic connector fixture for registry parser tests\"}]}"
    );
    let found = sh(
        d,
        &format!(
            "curl -sS '{url}/plugins/synthc?memflow_plugin_version=1&file_type=elf&architecture=x86_64'"
        ),
    );
    let found: serde_json::Value = serde_json::from_str(&found).unwrap();
    let digest = found["plugins"][0]["digest"].as_str().unwrap().to_owned();
    assert_eq!(found["plugins"].as_array().unwrap().len(), 5);

    sh(
        d,
        &format!("curl -sS {url}/files/{digest} --output file.so"),
    );
    let sum = sh(d, "sha256sum file.so | cut -d' ' -f1");
    assert_eq!(sum.trim(), digest);
    // The stored (normalised) signature verifies with openssl against the downloaded file.
    let meta = sh(d, &format!("curl -sS {url}/files/{digest}/metadata"));
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    let sig_hex = meta["signature"].as_str().unwrap();
    let der: Vec<u8> = (0..sig_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&sig_hex[i..i + 2], 16).unwrap())
        .collect();
    std::fs::write(d.join("sig.der"), der).unwrap();
    let verified = sh(
        d,
        "openssl dgst -sha256 -verify ec-secp256k1-pub-key.pem -signature sig.der file.so",
    );
    assert_eq!(verified.trim(), "Verified OK");

    let status = sh(
        d,
        &format!(
            "curl -sS -o /dev/null -w '%{{http_code}}' -X DELETE -H \"Authorization: Bearer token\" {url}/files/{digest}"
        ),
    );
    assert_eq!(status, "200");
    let status = sh(
        d,
        &format!("curl -sS -o /dev/null -w '%{{http_code}}' {url}/files/{digest}/metadata"),
    );
    assert_eq!(status, "404");
}
