//! Listings of a mirror that also publishes: the upstream's and the local registry's
//! answers merged into one, in the order and pages a memflow client expects.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use cairn_api::{PluginList, PluginSummary, PluginVariant, VariantList};
use cairn_registry::{FindQuery, MAX_LIMIT};

use super::local::Both;
use crate::error::ApiError;
use crate::handlers::plugins::FindParams;

/// How deep (`skip + limit`) a merged variant listing goes: each source is read from its
/// start to merge them, so an unbounded `skip` would cost unbounded upstream requests.
pub const MAX_MERGED_DEPTH: u32 = 1000;

/// The upstream's part of a listing, or why it is missing.
enum UpstreamPart<T> {
    Fresh(T),
    Stale(T),
    Unreachable(String),
}

/// `GET /plugins`: every name either side holds, sorted, the local description first.
pub async fn list(State(s): State<Both>) -> Result<Response, ApiError> {
    let local = s.local.registry.plugins().await?;
    let upstream = upstream_json::<PluginList>(&s, "/plugins").await?;
    let mut names = BTreeMap::new();
    let (part, warning) = split(upstream);
    for p in part.map(|l| l.plugins).unwrap_or_default() {
        names.insert(p.name.clone(), p);
    }
    for p in local {
        names.insert(p.name.clone(), p);
    }
    let plugins: Vec<PluginSummary> = names.into_values().collect();
    Ok(json(&PluginList { plugins }, warning))
}

/// `GET /plugins/{name}?…`: both sides' variants under the same filters, ABI descending
/// then newest first, a binary held on both sides listed once (the local one, which is
/// what downloads and proofs then serve), paged by `skip` and `limit` over the merge.
pub async fn find(
    State(s): State<Both>,
    Path(name): Path<String>,
    Query(params): Query<FindParams>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = params.validate()?;
    let depth = query.skip.saturating_add(query.limit);
    if depth > MAX_MERGED_DEPTH {
        return Err(ApiError::bad_request(format!(
            "this mirror also publishes its own plugins and merges listings at most \
             {MAX_MERGED_DEPTH} variants deep (skip + limit)"
        )));
    }
    let mut local = Vec::new();
    if name.len() <= cairn_registry::MAX_NAME_BYTES {
        local = local_variants(&s, &name, &query, depth).await?;
    }
    let (upstream, warning) = split(upstream_variants(&s, &uri, depth).await?);
    let held: std::collections::HashSet<(String, String)> = local
        .iter()
        .map(|m| (m.digest.clone(), m.descriptor.name.clone()))
        .collect();
    let mut merged = local;
    merged.extend(
        upstream
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !held.contains(&(v.digest.clone(), v.descriptor.name.clone()))),
    );
    // Stable: on equal keys the local variant stays first.
    merged.sort_by(|a, b| {
        (b.descriptor.plugin_version, b.created_at)
            .cmp(&(a.descriptor.plugin_version, a.created_at))
    });
    let plugins = merged
        .into_iter()
        .skip(query.skip as usize)
        .take(query.limit as usize)
        .collect();
    Ok(json(
        &VariantList {
            plugins,
            skip: query.skip,
        },
        warning,
    ))
}

/// The first `depth` local variants matching `query`, read a page at a time.
async fn local_variants(
    s: &Both,
    name: &str,
    query: &FindQuery,
    depth: u32,
) -> Result<Vec<PluginVariant>, ApiError> {
    let mut out = Vec::new();
    while (out.len() as u32) < depth {
        let page = FindQuery {
            skip: out.len() as u32,
            limit: (depth - out.len() as u32).min(MAX_LIMIT),
            ..query.clone()
        };
        let got = s.local.registry.find(name, &page).await?;
        let short = (got.len() as u32) < page.limit;
        out.extend(got);
        if short {
            break;
        }
    }
    Ok(out)
}

/// The first `depth` upstream variants under the request's own filters, a page at a time.
async fn upstream_variants(
    s: &Both,
    uri: &Uri,
    depth: u32,
) -> Result<UpstreamPart<Vec<PluginVariant>>, ApiError> {
    let filters: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "skip" && k != "limit")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    // The path as the client sent it (still percent-encoded), as the upstream takes it.
    let path = uri.path();
    let mut out = Vec::new();
    let mut stale = false;
    while (out.len() as u32) < depth {
        let limit = (depth - out.len() as u32).min(MAX_LIMIT);
        let key = form_urlencoded::Serializer::new(format!("{path}?"))
            .extend_pairs(&filters)
            .append_pair("skip", &out.len().to_string())
            .append_pair("limit", &limit.to_string())
            .finish();
        let page = match upstream_json::<VariantList>(s, &key).await? {
            UpstreamPart::Fresh(p) => p,
            UpstreamPart::Stale(p) => {
                stale = true;
                p
            }
            UpstreamPart::Unreachable(why) if out.is_empty() => {
                return Ok(UpstreamPart::Unreachable(why));
            }
            // Later pages missing: what was read is served, marked stale.
            UpstreamPart::Unreachable(_) => {
                stale = true;
                break;
            }
        };
        let short = (page.plugins.len() as u32) < limit;
        out.extend(page.plugins);
        if short {
            break;
        }
    }
    Ok(if stale {
        UpstreamPart::Stale(out)
    } else {
        UpstreamPart::Fresh(out)
    })
}

/// The upstream's listing `key`, parsed; an unreachable upstream is no error here (local
/// plugins are still listed), a listing it does not have is empty.
async fn upstream_json<T: serde::de::DeserializeOwned + Default>(
    s: &Both,
    key: &str,
) -> Result<UpstreamPart<T>, ApiError> {
    let listing = match s.mirror.mirror.listing(key).await {
        Ok(l) => l,
        Err(cairn_mirror::Error::NotFound { .. }) => return Ok(UpstreamPart::Fresh(T::default())),
        Err(e @ cairn_mirror::Error::Unreachable { .. }) => {
            return Ok(UpstreamPart::Unreachable(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let parsed = serde_json::from_slice(&listing.body).map_err(|e| {
        ApiError::from(cairn_mirror::Error::Unreachable {
            upstream: s.mirror.mirror.upstream().to_owned(),
            reason: format!("its answer to {key} is no listing: {e}"),
        })
    })?;
    Ok(if listing.stale {
        UpstreamPart::Stale(parsed)
    } else {
        UpstreamPart::Fresh(parsed)
    })
}

/// The upstream's part and the `Warning` the merged answer carries when it is stale or
/// missing.
fn split<T>(part: UpstreamPart<T>) -> (Option<T>, Option<HeaderValue>) {
    match part {
        UpstreamPart::Fresh(t) => (Some(t), None),
        UpstreamPart::Stale(t) => (
            Some(t),
            Some(HeaderValue::from_static(
                "110 cairn \"Response is Stale: the upstream is unreachable\"",
            )),
        ),
        UpstreamPart::Unreachable(why) => {
            tracing::warn!(reason = %why, "listing local plugins only");
            (
                None,
                Some(HeaderValue::from_static(
                    "111 cairn \"Revalidation Failed: the upstream is unreachable, local plugins only\"",
                )),
            )
        }
    }
}

fn json(answer: &impl serde::Serialize, warning: Option<HeaderValue>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(w) = warning {
        headers.insert(header::WARNING, w);
    }
    (headers, serde_json::to_vec(answer).unwrap_or_default()).into_response()
}
