//! A PostgreSQL cluster of the test process's own (`initdb` + `postgres` in a temp dir, on
//! loopback), so a suite runs against PostgreSQL when `CAIRN_TEST_DATABASE=postgres`.
//! Each test gets a fresh database. Missing binaries fail loudly, never skip.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// Whether this run targets PostgreSQL (`CAIRN_TEST_DATABASE=postgres`).
pub fn wanted() -> bool {
    std::env::var("CAIRN_TEST_DATABASE").as_deref() == Ok("postgres")
}

struct Cluster {
    port: u16,
    _dir: tempfile::TempDir,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// `initdb`'s directory: on the PATH, or Debian's versioned one.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|d| d.join("initdb").is_file())
    {
        return dir;
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    debian
        .pop()
        .filter(|d| d.join("initdb").is_file())
        .unwrap_or_else(|| {
            panic!(
                "CAIRN_TEST_DATABASE=postgres but PostgreSQL's server binaries (initdb, postgres) \
             are missing: install them (apt-get install postgresql)"
            )
        })
}

/// The uid/gid PostgreSQL runs as: itself refuses root, so `postgres` when we are root.
fn owner() -> Option<(u32, u32)> {
    let out = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return None;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((
        id("-u").expect("running as root needs a `postgres` user for PostgreSQL"),
        id("-g").expect("running as root needs a `postgres` group for PostgreSQL"),
    ))
}

fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Removes the clusters of earlier test processes that are gone (the static holding each
/// directory is never dropped; its server died with its process).
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("cairn-pg-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start() -> Cluster {
    let bin = bin_dir();
    let owner = owner();
    remove_stale_clusters();
    let dir = tempfile::Builder::new()
        .prefix(&format!("cairn-pg-{}-", std::process::id()))
        .tempdir()
        .unwrap();
    let data = dir.path().join("data");
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    let init = as_owner(&mut Command::new(bin.join("initdb")), owner)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = crate::process::free_port();
    spawn_server(&bin.join("postgres"), &data, dir.path(), port, owner);
    crate::process::wait_for_port(port, "PostgreSQL");
    Cluster { port, _dir: dir }
}

fn spawn_server(
    postgres: &Path,
    data: &Path,
    sockets: &Path,
    port: u16,
    owner: Option<(u32, u32)>,
) {
    let mut cmd = crate::process::tied(postgres);
    as_owner(&mut cmd, owner)
        .arg("-D")
        .arg(data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(sockets)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=500",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::process::spawn_tied(cmd, "postgres");
}

/// A fresh, empty database on the test cluster.
pub async fn database_url() -> String {
    let port = CLUSTER.get_or_init(start).port;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    // The server takes TCP connections before it takes sessions ("the database system is
    // starting up"): retry until it answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut conn = loop {
        match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => break conn,
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("PostgreSQL on port {port} never took a session: {e}"),
        }
    };
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:{port}/{name}")
}
