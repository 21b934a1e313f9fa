//! Why a registry operation failed.

/// A registry error. Variants say whose fault it is: the client's input, or the environment.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No artifact with that digest.
    #[error("plugin not found")]
    NotFound,
    /// An upload exceeded the configured size limit.
    #[error("upload exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The upload's signature was refused, or a configured key could not be read.
    #[error(transparent)]
    Sign(#[from] cairn_sign::Error),
    /// The uploaded binary could not be analysed.
    #[error("invalid plugin binary: {0}")]
    Plugin(#[from] cairn_plugin::Error),
    /// An uploaded scan file is malformed or fails its integrity check.
    #[error("invalid scan file: {0}")]
    Scan(#[from] cairn_scan::Error),
    /// An attestation was refused.
    #[error("invalid attestation: {0}")]
    Attestation(String),
    /// An uploaded EFI image is not one: not PE/COFF, a header pointing outside the file,
    /// or a signature that is not PKCS#7.
    #[error("refused EFI image: {0}")]
    EfiImage(cairn_efi::Error),
    /// An uploaded EFI image is unsigned, or a signature of it does not verify over its
    /// Authenticode digest.
    #[error("refused EFI image: {0}")]
    EfiUnverified(cairn_efi::signers::Unverified),
    /// An uploaded signed variable update (`.auth`) is malformed.
    #[error("refused signed variable update: {0}")]
    EfiAuth(cairn_efi::Error),
    /// An uploaded signed variable update's signature does not verify for the variable and
    /// kind of write it was published as.
    #[error("refused signed variable update: {0}")]
    EfiAuthUnverified(cairn_efi::auth_check::Unverified),
    /// The log entry for this submission would exceed what a tile bundle can hold.
    #[error("{what}: the log entry would be {size} bytes (limit 65535)")]
    EntryTooLarge {
        /// What made it large (`too many or too long descriptors`, …).
        what: &'static str,
        /// The entry's size.
        size: usize,
    },
    /// The transparency log failed.
    #[error("transparency log error: {0}")]
    Log(cairn_tlog::Error),
    /// The uploaded binary holds no plugin descriptor, so there is nothing to index.
    #[error("invalid plugin binary: no MEMFLOW_CONNECTOR_* or MEMFLOW_OS_* descriptor found")]
    NoDescriptors,
    /// A descriptor the index cannot serve: an empty name, or a name or version too long.
    #[error("invalid plugin binary: descriptor {export}: {why}")]
    BadDescriptor {
        /// The export that holds it.
        export: String,
        /// What is wrong.
        why: String,
    },
    /// A descriptor was refused by the server's trust policy.
    #[error("refused by the trust policy: {name} {version}: {denial}")]
    PolicyDenied {
        /// The descriptor's plugin name.
        name: String,
        /// Its version.
        version: String,
        /// Why the policy refused it (boxed: it is large, and errors travel in every
        /// `Result`).
        denial: Box<cairn_sign::policy::Denial>,
    },
    /// The server's trust policy cannot be used (malformed, expired, badly signed).
    #[error("refused by the trust policy: {0}")]
    PolicyUnusable(#[from] cairn_sign::policy::PolicyError),
    /// Local file I/O failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The blob store failed.
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
    /// The index database failed.
    #[error("index database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the index schema failed.
    #[error("index migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The index holds a value this version cannot read.
    #[error("index database holds an unreadable value: {0}")]
    Corrupt(String),
    /// The configuration names something unusable (an object store URL, a log key that
    /// differs from the one the shared log is signed with).
    #[error("configuration error: {0}")]
    Config(String),
    /// The change is recorded and its log entry sequenced (durable: it will be published),
    /// but no checkpoint covered it in time: the shared log has no working leader.
    #[error(
        "recorded as log entry {0}, but no checkpoint covers it yet (is a log leader \
         running?); it will be published when one does"
    )]
    NotYetLogged(u64),
    /// A change was logged, but the index could not be updated: writes pause until it is.
    #[error(
        "recorded as log entry {index}, but the index could not be updated ({reason}); writes \
         are paused until it catches up, and a retry will then answer AlreadyExists"
    )]
    IndexBehind {
        /// The logged entry.
        index: u64,
        /// Why the index write failed.
        reason: String,
    },
    /// Writes are refused while the index is behind the log.
    #[error("writes are paused: the index is behind the log since entry {index} ({reason})")]
    WritesPaused {
        /// First entry not reflected.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The registry's storage is full.
    #[error(
        "insufficient storage: the registry's disk or bucket is full ({0}); nothing was published"
    )]
    StorageFull(String),
    /// A background task died (a bug: please report it).
    #[error("internal error: {0}")]
    Internal(String),
    /// A host of that name is enrolled already (its token is not shown again).
    #[error("host {0} is enrolled already")]
    HostExists(String),
    /// No host of that name is enrolled.
    #[error("no host {0} is enrolled")]
    UnknownHost(String),
    /// An enrolment that cannot stand: a bad name or key.
    #[error("refused host: {0}")]
    BadHost(String),
    /// A host's token was used for a scan of another host.
    #[error("this token submits scans of host {token} only; the scan is of host {scan:?}")]
    WrongHost {
        /// The token's host.
        token: String,
        /// The host the scan names.
        scan: String,
    },
    /// A scan of an enrolled host whose signature is not by that host's key.
    #[error("the scan's signature does not verify under host {host}'s key ({why})")]
    HostKey {
        /// The host.
        host: String,
        /// Why.
        why: String,
    },
    /// A baseline that cannot be set: no such scan, or a scan of another host.
    #[error("refused baseline: {0}")]
    Baseline(String),
    /// A package upload whose fields cannot stand: its name, version, file name, media type
    /// or number of signatures.
    #[error("refused package: {0}")]
    BadPackage(String),
    /// A package signature that is malformed, or that no configured key made.
    #[error("refused package: signature {index}: {why}")]
    PackageSignature {
        /// Which signature, counting from 1 in upload order.
        index: usize,
        /// Why.
        why: String,
    },
    /// That name and version is published with other bytes.
    #[error(
        "package {name} {version} is published already with other bytes (digest {digest}); \
         delete that version first to publish it again"
    )]
    PackageExists {
        /// Package name.
        name: String,
        /// Its version.
        version: String,
        /// The digest published.
        digest: String,
    },
    /// A trust policy that cannot be published: unreadable, expired, short of its roots'
    /// signatures, or not a valid update of the policy published before.
    #[error("refused policy: {0}")]
    BadPolicy(String),
    /// No package of that name and version is published.
    #[error("no package {name} {version} is published")]
    UnknownPackage {
        /// Package name.
        name: String,
        /// Its version.
        version: String,
    },
}

// By hand, not `#[from]`: the message already includes the log error, and a source as
// well would print it twice in an error chain.
impl From<cairn_tlog::Error> for Error {
    fn from(e: cairn_tlog::Error) -> Self {
        Error::Log(e)
    }
}

impl Error {
    /// Whether this is the storage being full (`ENOSPC`, `EDQUOT`, SQLite's SQLITE_FULL),
    /// wherever it surfaced: a blob, a log tile or the index.
    pub fn is_storage_full(&self) -> bool {
        fn full(text: &str) -> bool {
            text.contains("No space left on device")
                || text.contains("Disk quota exceeded")
                || text.contains("database or disk is full")
        }
        match self {
            Error::StorageFull(_) => true,
            Error::Io(e) => matches!(e.raw_os_error(), Some(28 | 122)) || full(&e.to_string()),
            other => full(&other.to_string()),
        }
    }

    /// True when the client sent something unacceptable (a 4xx), false for server-side failures.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            Error::NotFound
                | Error::TooLarge { .. }
                | Error::Sign(cairn_sign::Error::Signature(_))
                | Error::Plugin(_)
                | Error::NoDescriptors
                | Error::BadDescriptor { .. }
                | Error::Scan(_)
                | Error::EntryTooLarge { .. }
                | Error::Attestation(_)
                | Error::EfiImage(_)
                | Error::EfiUnverified(_)
                | Error::EfiAuth(_)
                | Error::EfiAuthUnverified(_)
                | Error::PolicyDenied { .. }
                | Error::HostExists(_)
                | Error::UnknownHost(_)
                | Error::BadHost(_)
                | Error::WrongHost { .. }
                | Error::HostKey { .. }
                | Error::Baseline(_)
                | Error::BadPackage(_)
                | Error::BadPolicy(_)
                | Error::PackageSignature { .. }
                | Error::PackageExists { .. }
                | Error::UnknownPackage { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_every_variant_formats() {
        let all = [
            Error::NotFound,
            Error::TooLarge { limit: 1 },
            Error::Sign(cairn_sign::Error::Signature(
                cairn_sign::SignatureDefect::NotHex,
            )),
            Error::Plugin(cairn_plugin::Error::UnknownFormat),
            Error::NoDescriptors,
            Error::BadDescriptor {
                export: "MEMFLOW_OS_X".into(),
                why: "empty name".into(),
            },
            Error::Io(std::io::Error::other("x")),
            Error::Corrupt("c".into()),
            Error::Internal("i".into()),
            Error::IndexBehind {
                index: 1,
                reason: "r".into(),
            },
            Error::WritesPaused {
                index: 1,
                reason: "r".into(),
            },
            Error::StorageFull("disk".into()),
            Error::HostExists("h".into()),
            Error::UnknownHost("h".into()),
            Error::BadHost("b".into()),
            Error::WrongHost {
                token: "a".into(),
                scan: "b".into(),
            },
            Error::HostKey {
                host: "h".into(),
                why: "w".into(),
            },
            Error::Baseline("b".into()),
            Error::EfiImage(cairn_efi::Error::NoOptionalHeader),
            Error::EfiUnverified(cairn_efi::signers::Unverified::Unsigned),
            Error::EfiAuth(cairn_efi::Error::Auth("short")),
            Error::EfiAuthUnverified(cairn_efi::auth_check::Unverified {
                variable: "db",
                append: false,
                why: "w".into(),
            }),
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
        }
    }
}
