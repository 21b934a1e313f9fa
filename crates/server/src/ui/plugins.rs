//! The plugin pages: the searchable list, one plugin's variants grouped by ABI, file type
//! and architecture, and one such group page by page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cairn_plugin::{Architecture, FileType};
use cairn_registry::{FindQuery, MAX_NAME_BYTES, PluginOverview, PluginVariant};
use serde::Deserialize;

use super::commands::{cairn_pull, memflowup_pull, registry_url};
use super::page::{UiError, cached, render};
use super::text::time;
use crate::app::AppState;

/// Plugins on one page of the list.
const PLUGINS_PER_PAGE: usize = 50;
/// Variants of each group the plugin page shows; the group page has the rest.
const VARIANTS_PER_GROUP: u32 = 10;
/// Variants on one page of a group (the JSON API's largest `limit`).
const VARIANTS_PER_PAGE: u32 = cairn_registry::MAX_LIMIT;
/// Longest search text accepted.
const MAX_QUERY_BYTES: usize = 256;

/// One variant as a row of the plugin and group pages.
pub struct VariantRow {
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the file.
    pub digest: String,
    /// Key that verified the upload signature.
    pub key_id: Option<String>,
    /// Whether the upload signature verified.
    pub verified: bool,
    /// Upload time.
    pub created: String,
    /// The log entry that published it.
    pub log_index: Option<u64>,
    /// Export name (several descriptors of one file differ in it).
    pub export_name: String,
    /// `memflowup pull` for exactly this file.
    pub memflowup: String,
    /// `cairn pull` for exactly this file.
    pub cairn: String,
}

impl VariantRow {
    fn new(v: PluginVariant, registry: &str) -> Self {
        VariantRow {
            memflowup: memflowup_pull(registry, &v.descriptor.name, &v.digest),
            cairn: cairn_pull(registry, &v.descriptor.name, &v.digest),
            version: v.descriptor.version,
            export_name: v.descriptor.export_name,
            key_id: v.key_id,
            verified: v.verified,
            created: time(&v.created_at),
            log_index: v.log_index,
            digest: v.digest,
        }
    }
}

/// Query of `GET /ui/plugins`.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "plugins.html")]
struct PluginsPage {
    title: String,
    q: String,
    plugins: Vec<PluginOverview>,
    matched: usize,
    page: u32,
    pages: u32,
}

/// `GET /ui/` and `GET /ui/plugins?q=&page=`: every plugin, or those whose name or
/// description contains `q` (case-insensitive), 50 a page.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Response, UiError> {
    let q = params.q.unwrap_or_default();
    if q.len() > MAX_QUERY_BYTES {
        return Err(UiError::bad_request(format!(
            "the search text is longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let page = params.page.unwrap_or(0);
    let key = format!("plugins\0{q}\0{page}");
    cached(&state, key, async {
        let needle = q.trim().to_lowercase();
        let mut all = state.registry.plugin_overview().await?;
        if !needle.is_empty() {
            all.retain(|p| {
                p.name.to_lowercase().contains(&needle)
                    || p.description.to_lowercase().contains(&needle)
            });
        }
        let matched = all.len();
        let pages = matched.div_ceil(PLUGINS_PER_PAGE).max(1) as u32;
        let plugins = all
            .into_iter()
            .skip((page as usize).saturating_mul(PLUGINS_PER_PAGE))
            .take(PLUGINS_PER_PAGE)
            .collect();
        let title = if needle.is_empty() {
            "Plugins".to_owned()
        } else {
            format!("Plugins matching “{}”", q.trim())
        };
        render(&PluginsPage {
            title,
            q: q.trim().to_owned(),
            plugins,
            matched,
            page,
            pages,
        })
    })
    .await
}

/// One group of variants on the plugin page.
pub struct GroupView {
    /// ABI version.
    pub abi: i32,
    /// File type key (`elf`, `pe`, `mach`).
    pub file_type: &'static str,
    /// Architecture key.
    pub architecture: String,
    /// Variants in the group.
    pub variants: u64,
    /// The newest of them.
    pub rows: Vec<VariantRow>,
}

#[derive(Template)]
#[template(path = "plugin.html")]
struct PluginPage {
    title: String,
    name: String,
    description: String,
    groups: Vec<GroupView>,
}

fn no_plugin(name: &str) -> UiError {
    UiError::not_found(format!("No plugin is named “{name}”."))
}

/// `GET /ui/plugins/{name}`: the plugin's variants by ABI (highest first), file type and
/// architecture, the newest of each group with the commands that fetch them.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(no_plugin(&name));
    }
    let registry = registry_url(&headers);
    let key = format!("plugin\0{registry}\0{name}");
    cached(&state, key, async {
        let mut groups = Vec::new();
        for g in state.registry.variant_groups(&name).await? {
            let query = group_query(g.abi, g.file_type, g.architecture, 0, VARIANTS_PER_GROUP);
            let found = state.registry.find(&name, &query).await?;
            groups.push(GroupView {
                abi: g.abi,
                file_type: g.file_type.as_str(),
                architecture: g.architecture.to_key(),
                variants: g.variants,
                rows: rows(found, &registry),
            });
        }
        // The description the JSON list gives: the variant that sorts first's.
        let first = FindQuery {
            limit: 1,
            ..FindQuery::default()
        };
        let description = match state.registry.find(&name, &first).await?.pop() {
            Some(v) => v.descriptor.description,
            None => return Err(no_plugin(&name)),
        };
        render(&PluginPage {
            title: name.clone(),
            name: name.clone(),
            description,
            groups,
        })
    })
    .await
}

fn rows(found: Vec<PluginVariant>, registry: &str) -> Vec<VariantRow> {
    found
        .into_iter()
        .map(|v| VariantRow::new(v, registry))
        .collect()
}

fn group_query(
    abi: i32,
    file_type: FileType,
    architecture: Architecture,
    skip: u32,
    limit: u32,
) -> FindQuery {
    FindQuery {
        memflow_plugin_version: Some(abi),
        file_type: Some(file_type),
        architecture: Some(architecture),
        skip,
        limit,
        ..FindQuery::default()
    }
}

/// Query of `GET /ui/plugins/{name}/variants`.
#[derive(Debug, Deserialize)]
pub struct GroupParams {
    abi: i32,
    file_type: String,
    architecture: String,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "variants.html")]
struct GroupPage {
    title: String,
    name: String,
    group: GroupView,
    page: u32,
    pages: u32,
}

/// `GET /ui/plugins/{name}/variants?abi=&file_type=&architecture=&page=`: one group, 50
/// variants a page, in the order and pages of `GET /plugins/{name}` with the same filters.
pub async fn group(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<GroupParams>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let file_type = FileType::parse(&params.file_type)
        .ok_or_else(|| UiError::bad_request("file_type: expected pe, elf or mach"))?;
    let architecture = match Architecture::from_key(&params.architecture) {
        Some(Architecture::Unknown(_)) | None => {
            return Err(UiError::bad_request(
                "architecture: expected x86, x86_64, arm or arm64",
            ));
        }
        Some(a) => a,
    };
    if name.len() > MAX_NAME_BYTES {
        return Err(no_plugin(&name));
    }
    let page = params.page.unwrap_or(0);
    let registry = registry_url(&headers);
    let key = format!(
        "group\0{registry}\0{name}\0{}\0{}\0{}\0{page}",
        params.abi,
        file_type.as_str(),
        architecture.to_key()
    );
    cached(&state, key, async {
        let groups = state.registry.variant_groups(&name).await?;
        let Some(g) = groups.into_iter().find(|g| {
            g.abi == params.abi && g.file_type == file_type && g.architecture == architecture
        }) else {
            return Err(UiError::not_found(format!(
                "“{name}” has no variants for ABI {}, {} on {}.",
                params.abi,
                file_type.as_str(),
                architecture.to_key()
            )));
        };
        let skip = page.saturating_mul(VARIANTS_PER_PAGE);
        let query = group_query(g.abi, file_type, architecture, skip, VARIANTS_PER_PAGE);
        let found = state.registry.find(&name, &query).await?;
        let pages = g.variants.div_ceil(u64::from(VARIANTS_PER_PAGE)).max(1) as u32;
        render(&GroupPage {
            title: format!(
                "{name}: ABI {}, {}, {}",
                g.abi,
                file_type.as_str(),
                architecture.to_key()
            ),
            name: name.clone(),
            group: GroupView {
                abi: g.abi,
                file_type: file_type.as_str(),
                architecture: architecture.to_key(),
                variants: g.variants,
                rows: rows(found, &registry),
            },
            page,
            pages,
        })
    })
    .await
}
