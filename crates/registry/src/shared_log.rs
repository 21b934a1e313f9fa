//! The transparency log shared by every instance on one PostgreSQL database and one object
//! store.
//!
//! - Sequencing: any instance gives an entry its index in the transaction that changes the
//!   index (`Index::sequence`), so an acknowledged entry is durable in PostgreSQL before
//!   anything is answered, exactly once.
//! - Integration: one leader, the holder of a PostgreSQL advisory lock, reads the sequenced
//!   entries in order, writes their tiles to the object store, signs a checkpoint and
//!   publishes it by a compare-and-swap on `log_head`. Tiles are a pure function of the
//!   sequenced entries, so a deposed leader that still writes one writes the same bytes; the
//!   compare-and-swap keeps it from publishing. When the leader dies its session ends, the
//!   lock is free, and another instance takes it within [`LEADER_RETRY`], reloads the tree
//!   from the stored tiles and goes on from the published size.
//! - Following: every instance listens for new checkpoints, checks each one against the
//!   tiles ([`LogHandle::observe`]) and wakes the submitters it covers.

use std::sync::Arc;
use std::time::Duration;

use cairn_tlog::store::TileStore;
use cairn_tlog::{LogHandle, LogWriter, NoteSigner};
use sqlx::Row;
use sqlx::postgres::PgConnection;
use sqlx::postgres::{PgListener, PgPool};

use crate::error::Error;
use crate::index::log_state::LOG_SEQUENCED;
use crate::metrics::RegistryMetrics;

/// The PostgreSQL notification channel of published checkpoints.
const LOG_PUBLISHED: &str = "cairn_log_published";
/// The advisory lock whose holder integrates the log ("cairn" in ASCII).
const LEADER_LOCK: i64 = 0x0063_6169_726e;
/// How often an instance that is not the leader tries to become it.
pub const LEADER_RETRY: Duration = Duration::from_millis(500);
/// The longest the leader sleeps with no notification before it looks for entries.
const IDLE_POLL: Duration = Duration::from_millis(250);
/// The longest a follower goes without reading the published head.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// The published head: size and signed checkpoint.
async fn head(pool: &PgPool) -> Result<(u64, String, String), Error> {
    let row = sqlx::query("SELECT size, checkpoint, verifier FROM log_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let size: i64 = row.try_get(0)?;
    Ok((
        u64::try_from(size).unwrap_or(0),
        row.try_get(1)?,
        row.try_get(2)?,
    ))
}

/// Opens this instance's view of the shared log. The first instance ever records its log
/// key and an empty checkpoint; any later one must sign with the same key.
pub(crate) async fn open(
    pool: &PgPool,
    signer: &NoteSigner,
    tiles: Arc<dyn TileStore>,
) -> Result<LogHandle, Error> {
    let ours = signer.verifier().to_string();
    let empty = cairn_tlog::Checkpoint {
        origin: signer.verifier().name().to_owned(),
        size: 0,
        root: cairn_tlog::merkle::empty_root(),
        extensions: vec![],
    };
    let signed_empty = signer.sign(&empty.to_text())?;
    let (_, _, recorded) = head(pool).await?;
    if recorded.is_empty() {
        refuse_a_second_log(pool, &tiles).await?;
    }
    sqlx::query(
        "UPDATE log_head SET verifier = $1, checkpoint = $2 WHERE id = 1 AND verifier = ''",
    )
    .bind(&ours)
    .bind(&signed_empty)
    .execute(pool)
    .await?;
    let (_, checkpoint, theirs) = head(pool).await?;
    if theirs != ours {
        return Err(Error::Config(format!(
            "the shared log is signed by {theirs}, but this instance's log key is {ours}: give \
             every instance the same --log-key and --log-origin"
        )));
    }
    let verifier = signer.verifier();
    tokio::task::spawn_blocking(move || LogHandle::follow(tiles, verifier, &checkpoint))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(Error::from)
}

/// Before the shared log starts: a database that already indexes artifacts, or a store that
/// already holds a log, had its entries logged elsewhere (an earlier per-instance log).
/// Starting a second log beside it would fork history, so refuse and say how to move.
async fn refuse_a_second_log(pool: &PgPool, tiles: &Arc<dyn TileStore>) -> Result<(), Error> {
    let indexed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM artifacts) OR EXISTS (SELECT 1 FROM scans) \
         OR EXISTS (SELECT 1 FROM efi_images) OR EXISTS (SELECT 1 FROM efi_vars)",
    )
    .fetch_one(pool)
    .await?;
    let store = tiles.clone();
    let stored = tokio::task::spawn_blocking(move || store.read("checkpoint"))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    if indexed || stored.is_some() {
        return Err(Error::Config(
            "this database or store already holds a registry whose log is not the shared \
             one (it was written by an earlier version, one log per instance): move it with \
             `cairn admin migrate` into an empty database and bucket"
                .into(),
        ));
    }
    Ok(())
}

/// Keeps `log` at the published head: on every notification, and at least every second.
pub(crate) fn spawn_follower(pool: PgPool, log: LogHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = None;
        loop {
            if listener.is_none() {
                listener = listen(&pool, LOG_PUBLISHED).await;
            }
            if let Some(l) = &mut listener {
                match tokio::time::timeout(FOLLOW_POLL, l.try_recv()).await {
                    Ok(Ok(Some(_))) | Err(_) => {}
                    // The connection dropped or failed: reconnect, and read the head anyway.
                    Ok(Ok(None)) | Ok(Err(_)) => listener = None,
                }
            } else {
                tokio::time::sleep(FOLLOW_POLL).await;
            }
            if let Err(e) = catch_up(&pool, &log).await {
                tracing::warn!(error = %e, "following the shared log");
            }
        }
    })
}

async fn listen(pool: &PgPool, channel: &str) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen(channel).await.ok()?;
    Some(listener)
}

/// Reads the published head and moves `log` to it.
async fn catch_up(pool: &PgPool, log: &LogHandle) -> Result<(), Error> {
    let (size, checkpoint, _) = head(pool).await?;
    let next: i64 = sqlx::query_scalar("SELECT next FROM log_seq WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let sequenced = u64::try_from(next).unwrap_or(0);
    log.set_backlog(usize::try_from(sequenced.saturating_sub(size)).unwrap_or(usize::MAX));
    if size <= log.size() {
        return Ok(());
    }
    let log = log.clone();
    tokio::task::spawn_blocking(move || log.observe(&checkpoint))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    Ok(())
}

/// Runs for the life of the registry: tries to lead, leads while it holds the lock, tries
/// again when it loses it. One connection of its own is kept across attempts, outside the
/// pool: the lock lives exactly as long as that session.
pub(crate) fn spawn_leader(
    pool: PgPool,
    signer: NoteSigner,
    tiles: Arc<dyn TileStore>,
    batch: usize,
    metrics: RegistryMetrics,
) -> tokio::task::JoinHandle<()> {
    let signer = Arc::new(signer);
    tokio::spawn(async move {
        let mut session: Option<PgConnection> = None;
        loop {
            let attempt = match session.take() {
                Some(conn) => Ok(conn),
                None => pool.acquire().await.map(|c| c.detach()),
            };
            match attempt {
                Ok(mut conn) => {
                    match lead(&pool, &mut conn, &signer, &tiles, batch, &metrics).await {
                        // Another instance leads: keep the session for the next attempt.
                        Ok(false) => session = Some(conn),
                        // Leadership ended: the session closes with `conn`, and the lock with it.
                        Ok(true) => tracing::warn!("no longer the log leader"),
                        Err(e) => tracing::warn!(error = %e, "log leader stopped"),
                    }
                }
                Err(e) => tracing::warn!(error = %e, "log leader: no database connection"),
            }
            metrics.leader.set(0);
            tokio::time::sleep(LEADER_RETRY).await;
        }
    })
}

/// Takes the lock on `lock` if it is free and integrates until something fails.
/// `Ok(false)`: another instance leads (nothing was done).
async fn lead(
    pool: &PgPool,
    lock: &mut PgConnection,
    signer: &Arc<NoteSigner>,
    tiles: &Arc<dyn TileStore>,
    batch: usize,
    metrics: &RegistryMetrics,
) -> Result<bool, Error> {
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut *lock)
        .await?;
    if !got {
        return Ok(false);
    }
    let mut wake = PgListener::connect_with(pool).await?;
    wake.listen(LOG_SEQUENCED).await?;
    let (_, checkpoint, _) = head(pool).await?;
    let (store, key) = (tiles.clone(), signer.clone());
    let mut writer = tokio::task::spawn_blocking(move || {
        LogWriter::resume(store, key, Some(checkpoint.as_bytes()))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    metrics.leader.set(1);
    tracing::info!(size = writer.size(), "leading the shared log");
    loop {
        // A broken lock session means the lock is gone: stop before writing anything.
        sqlx::query("SELECT 1").execute(&mut *lock).await?;
        let old = writer.size();
        let entries = sequenced(pool, old, batch).await?;
        if entries.is_empty() {
            let _ = tokio::time::timeout(IDLE_POLL, wake.try_recv()).await;
            continue;
        }
        let (w, prepared) = tokio::task::spawn_blocking(move || {
            let prepared = writer.prepare(&entries);
            (writer, prepared)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        writer = w;
        let committed = prepared?;
        // The bucket's copy goes first, so a reader of the bucket alone is never behind a
        // submitter's answer. It is safe before the compare-and-swap: it covers only
        // sequenced entries, and any leader signs the same bytes for the same size.
        copy_checkpoint(tiles, writer.size(), &committed.checkpoint).await?;
        if !publish(pool, old, writer.size(), &committed.checkpoint).await? {
            return Ok(true);
        }
    }
}

/// Writes the bucket's `checkpoint` object unless it already holds a larger log (a slow,
/// deposed leader must not move it backwards).
async fn copy_checkpoint(
    tiles: &Arc<dyn TileStore>,
    size: u64,
    checkpoint: &str,
) -> Result<(), Error> {
    let (store, text) = (tiles.clone(), checkpoint.to_owned());
    tokio::task::spawn_blocking(move || -> Result<(), Error> {
        let stored_size = store
            .read("checkpoint")?
            .and_then(|b| cairn_tlog::Note::parse(&b).ok())
            .and_then(|n| cairn_tlog::Checkpoint::parse(n.text()).ok())
            .map_or(0, |c| c.size);
        if stored_size < size {
            store.write("checkpoint", text.as_bytes())?;
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Sequenced entries from `from`, in order, at most `batch`, stopping at any gap.
async fn sequenced(pool: &PgPool, from: u64, batch: usize) -> Result<Vec<Vec<u8>>, Error> {
    let rows =
        sqlx::query("SELECT idx, data FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2")
            .bind(i64::try_from(from).unwrap_or(i64::MAX))
            .bind(i64::try_from(batch).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let idx: i64 = row.try_get(0)?;
        if u64::try_from(idx).ok() != Some(from + i as u64) {
            break;
        }
        entries.push(row.try_get::<Vec<u8>, _>(1)?);
    }
    Ok(entries)
}

/// Publishes a checkpoint if the head is still at `old`; false when someone else moved it.
async fn publish(pool: &PgPool, old: u64, new: u64, checkpoint: &str) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    let moved =
        sqlx::query("UPDATE log_head SET size = $1, checkpoint = $2 WHERE id = 1 AND size = $3")
            .bind(i64::try_from(new).unwrap_or(i64::MAX))
            .bind(checkpoint)
            .bind(i64::try_from(old).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(&format!("NOTIFY {LOG_PUBLISHED}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether the database's shared log is empty (nothing sequenced, nothing published).
pub(crate) async fn is_empty(pool: &PgPool) -> Result<bool, Error> {
    let next: i64 = sqlx::query_scalar("SELECT next FROM log_seq WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let (size, _, _) = head(pool).await?;
    Ok(next == 0 && size == 0)
}

/// Installs a whole log at once (a migration): its entries, the next index, and the
/// published head, in one transaction, and only into an empty log.
pub(crate) async fn import(
    pool: &PgPool,
    entries: &[Vec<u8>],
    checkpoint: &str,
    verifier: &str,
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    let next: i64 = sqlx::query_scalar("SELECT next FROM log_seq WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    if next != 0 {
        return Err(Error::Config(
            "the destination database already holds a log".into(),
        ));
    }
    for (chunk_no, chunk) in entries.chunks(1000).enumerate() {
        let first = chunk_no * 1000;
        sqlx::QueryBuilder::<sqlx::Postgres>::new("INSERT INTO log_entries (idx, data) ")
            .push_values(chunk.iter().enumerate(), |mut b, (i, data)| {
                b.push_bind(i64::try_from(first + i).unwrap_or(i64::MAX))
                    .push_bind(data.as_slice());
            })
            .build()
            .execute(&mut *tx)
            .await?;
    }
    let size = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    sqlx::query("UPDATE log_seq SET next = $1 WHERE id = 1")
        .bind(size)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE log_head SET size = $1, checkpoint = $2, verifier = $3 WHERE id = 1")
        .bind(size)
        .bind(checkpoint)
        .bind(verifier)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
