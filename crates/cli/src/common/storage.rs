//! `--database`, `--object-store`, `--s3-endpoint`: where a registry keeps its index and
//! objects, for `serve` and `admin reindex`.

use super::env::first_set;

/// The index database and the object store of a registry.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// PostgreSQL URL for the index (`postgres://user@host/db`) instead of the embedded
    /// SQLite file [env: CAIRN_DATABASE]
    #[arg(long)]
    pub database: Option<String>,
    /// S3-compatible bucket for blobs, attestations and log tiles (`s3://bucket/prefix`),
    /// shared by every instance; credentials and region from the usual AWS_* variables
    /// [env: CAIRN_OBJECT_STORE] [default: files in the data directory]
    #[arg(long)]
    pub object_store: Option<String>,
    /// Endpoint of a non-AWS S3-compatible store (`http://127.0.0.1:9000`)
    /// [env: CAIRN_S3_ENDPOINT, AWS_ENDPOINT_URL]
    #[arg(long)]
    pub s3_endpoint: Option<String>,
}

impl StorageArgs {
    /// Sets `config`'s storage from the flags, else the environment.
    pub fn apply(self, config: &mut cairn_registry::RegistryConfig) {
        config.database = self.database.or_else(|| first_set(&["CAIRN_DATABASE"]));
        config.object_store = self
            .object_store
            .or_else(|| first_set(&["CAIRN_OBJECT_STORE"]));
        config.s3_endpoint = s3_endpoint(self.s3_endpoint);
    }
}

/// `--s3-endpoint`, else `CAIRN_S3_ENDPOINT`, else `AWS_ENDPOINT_URL`.
pub fn s3_endpoint(flag: Option<String>) -> Option<String> {
    flag.or_else(|| first_set(&["CAIRN_S3_ENDPOINT", "AWS_ENDPOINT_URL"]))
}
