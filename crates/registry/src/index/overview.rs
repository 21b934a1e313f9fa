//! The summaries a person browsing the registry reads first: each plugin with its latest
//! version and number of variants, and a plugin's variants grouped by ABI, file type and
//! architecture. Both are read from the `variants_by_name` index; nothing is stored for
//! them.

use cairn_plugin::{Architecture, FileType};
use sqlx::{QueryBuilder, Row};

use super::Index;
use crate::error::Error;

/// One plugin name, as a list of plugins shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginOverview {
    /// Plugin name.
    pub name: String,
    /// Description of the variant that sorts first, as `GET /plugins` gives it.
    pub description: String,
    /// Version of that same variant (highest ABI, then newest).
    pub latest_version: String,
    /// Variants (descriptors) under this name.
    pub variants: u64,
}

/// The variants of one plugin with one ABI, file type and architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantGroup {
    /// memflow plugin ABI version.
    pub abi: i32,
    /// Container format.
    pub file_type: FileType,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Variants in the group.
    pub variants: u64,
}

impl Index {
    /// Every plugin name with its description, latest version and number of variants,
    /// sorted by name (byte order, as [`Index::plugins`]).
    pub async fn plugin_overview(&self) -> Result<Vec<PluginOverview>, Error> {
        let collate = if self.postgres().is_some() {
            " COLLATE \"C\""
        } else {
            ""
        };
        let sql = format!(
            "SELECT p.name, p.description, \
             (SELECT v.version FROM variants v WHERE v.name = p.name \
              ORDER BY v.plugin_version DESC, v.created_ns DESC, v.id DESC LIMIT 1), \
             (SELECT COUNT(*) FROM variants v WHERE v.name = p.name) \
             FROM plugins p ORDER BY p.name{collate}"
        );
        on_pool!(self, read, |pool, Db| {
            let rows = QueryBuilder::<Db>::new(sql).build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let version: Option<String> = r.try_get(2)?;
                    let count: i64 = r.try_get(3)?;
                    Ok(PluginOverview {
                        name: r.try_get(0)?,
                        description: r.try_get(1)?,
                        latest_version: version.unwrap_or_default(),
                        variants: u64::try_from(count).unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    /// The groups of `name`'s variants: ABI descending, then file type and architecture.
    pub async fn variant_groups(&self, name: &str) -> Result<Vec<VariantGroup>, Error> {
        if name.contains('\0') {
            return Ok(Vec::new());
        }
        on_pool!(self, read, |pool, Db| {
            let rows = QueryBuilder::<Db>::new(
                "SELECT plugin_version, file_type, architecture, COUNT(*) FROM variants \
                 WHERE name = ",
            )
            .push_bind(name.to_owned())
            .push(
                " GROUP BY plugin_version, file_type, architecture \
                 ORDER BY plugin_version DESC, file_type, architecture",
            )
            .build()
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let corrupt = |what: &str, v: &str| Error::Corrupt(format!("{what} {v:?}"));
                    let file_type: String = r.try_get(1)?;
                    let arch: String = r.try_get(2)?;
                    let count: i64 = r.try_get(3)?;
                    Ok(VariantGroup {
                        abi: r.try_get(0)?,
                        file_type: FileType::parse(&file_type)
                            .ok_or_else(|| corrupt("file type", &file_type))?,
                        architecture: Architecture::from_key(&arch)
                            .ok_or_else(|| corrupt("arch", &arch))?,
                        variants: u64::try_from(count).unwrap_or(0),
                    })
                })
                .collect()
        })
    }
}
