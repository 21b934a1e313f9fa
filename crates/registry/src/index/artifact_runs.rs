//! Runs of consecutive artifact entries applied together, as replay and reindex meet them:
//! exactly the rows one `artifacts::insert_rows` call per entry would write, in the same
//! order (variant ids included), in a few multi-row statements. Each statement is a round
//! trip to SQLite's worker thread, and those round trips, not SQLite, were most of a
//! reindex's time.

use std::collections::{BTreeSet, HashSet};

use cairn_plugin::Descriptor;
use sqlx::QueryBuilder;

use super::{WriteTx, as_i64};
use crate::error::Error;
use crate::model::NewArtifact;

/// Artifact rows per statement (7 bound values each).
const ARTIFACT_ROWS: usize = 1000;
/// Variant rows per statement (11 bound values each).
const VARIANT_ROWS: usize = 500;
/// Plugin names per statement.
const NAME_ROWS: usize = 1000;

/// Inserts the rows of a run of artifacts (in log order) that are not indexed yet.
///
/// Equivalent to one `insert_rows` per artifact: a digest met again in the run or indexed
/// before writes nothing; variants go in in run order; and each touched plugin row ends as
/// the variant that sorts first makes it, as refreshing it after every insert would (a run
/// only adds variants).
pub(crate) async fn insert_run(tx: &mut WriteTx, run: &[NewArtifact]) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let firsts: Vec<&NewArtifact> = run.iter().filter(|a| seen.insert(a.digest)).collect();
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in firsts.chunks(ARTIFACT_ROWS) {
        let digests: Vec<String> = on_tx!(tx, |conn, Db| {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO artifacts (digest, size, signature, key_id, verified, created_ns, \
                 log_index) ",
            );
            q.push_values(chunk, |mut b, a| {
                b.push_bind(a.digest.to_hex())
                    .push_bind(as_i64(a.size))
                    .push_bind(a.signature.clone())
                    .push_bind(a.key_id.clone())
                    .push_bind(a.key_id.is_some())
                    .push_bind(a.created_ns)
                    .push_bind(a.log_index.map(as_i64));
            });
            q.push(" ON CONFLICT (digest) DO NOTHING RETURNING digest");
            q.build_query_scalar().fetch_all(&mut *conn).await?
        });
        inserted.extend(digests);
    }
    let variants: Vec<(&NewArtifact, usize, &Descriptor)> = firsts
        .iter()
        .filter(|a| inserted.contains(&a.digest.to_hex()))
        .flat_map(|a| {
            a.descriptors
                .iter()
                .enumerate()
                .map(move |(p, d)| (*a, p, d))
        })
        .collect();
    for chunk in variants.chunks(VARIANT_ROWS) {
        on_tx!(tx, |conn, Db| {
            let mut q = QueryBuilder::<Db>::new(
                "INSERT INTO variants (digest, position, plugin_kind, export_name, file_type, \
                 architecture, plugin_version, name, version, description, created_ns) ",
            );
            q.push_values(chunk, |mut b, (a, position, d)| {
                b.push_bind(a.digest.to_hex())
                    .push_bind(*position as i64)
                    .push_bind(d.plugin_kind.as_str())
                    .push_bind(d.export_name.clone())
                    .push_bind(d.file_type.as_str())
                    .push_bind(d.architecture.to_key())
                    .push_bind(d.plugin_version)
                    .push_bind(d.name.clone())
                    .push_bind(d.version.clone())
                    .push_bind(d.description.clone())
                    .push_bind(a.created_ns);
            });
            q.build().execute(&mut *conn).await?;
        });
    }
    let names: Vec<&str> = variants
        .iter()
        .map(|(_, _, d)| d.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in names.chunks(NAME_ROWS) {
        refresh_plugins(tx, chunk).await?;
    }
    Ok(())
}

/// Sets the `plugins` row of each of `names` (each has a variant) from the variant that
/// sorts first, in one statement.
async fn refresh_plugins(tx: &mut WriteTx, names: &[&str]) -> Result<(), Error> {
    on_tx!(tx, |conn, Db| {
        let mut q = QueryBuilder::<Db>::new(
            "INSERT INTO plugins (name, description) SELECT n.column1, (SELECT v.description \
             FROM variants v WHERE v.name = n.column1 \
             ORDER BY v.plugin_version DESC, v.created_ns DESC, v.id DESC LIMIT 1) FROM (VALUES ",
        );
        let mut list = q.separated(", ");
        for name in names {
            list.push("(CAST(")
                .push_bind_unseparated(name.to_string())
                .push_unseparated(" AS TEXT))");
        }
        q.push(
            ") AS n WHERE true ON CONFLICT (name) DO UPDATE SET description = excluded.description",
        );
        q.build().execute(&mut *conn).await?;
    });
    Ok(())
}
