//! `cairn serve`.
//!
//! Precedence: flag > `CAIRN_*` variable > memflow-registry's `MEMFLOW_*` variable > `.env`
//! file > default. The `MEMFLOW_*` names keep existing deployments working unchanged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cairn_server::mirror::MirrorServer;
use cairn_server::{BearerToken, Server, ServerConfig, TokenSource};

use crate::common::env::first_set as env;
use crate::common::log_key::LogKeyArgs;
use crate::common::storage::StorageArgs;
use crate::common::upstream::UpstreamArgs;

/// Arguments of `cairn serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [env: CAIRN_ADDR, MEMFLOW_ADDR] [default: 127.0.0.1:3000]
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Data directory, created if missing [env: CAIRN_DATA, MEMFLOW_STORAGE_ROOT] [default: ./cairn-data]
    #[arg(long)]
    data: Option<PathBuf>,
    /// Bearer token for uploads and deletes; without one, a token is generated on first
    /// start and kept in the data directory [env: CAIRN_TOKEN, MEMFLOW_BEARER_TOKEN]
    #[arg(long)]
    token: Option<String>,
    /// PEM public key that upload signatures must verify under, or an OpenPGP public key
    /// (`gpg --export`, armored or binary) for package signatures; repeat for several
    /// [env: CAIRN_PUBLIC_KEY (comma-separated), MEMFLOW_PUBLIC_KEY_FILE]
    #[arg(long = "public-key")]
    public_keys: Vec<PathBuf>,
    /// Largest accepted upload in bytes [env: CAIRN_MAX_UPLOAD_BYTES] [default: 268435456]
    #[arg(long)]
    max_upload_bytes: Option<u64>,
    #[command(flatten)]
    log: LogKeyArgs,
    #[command(flatten)]
    storage: StorageArgs,
    /// Signed trust policy (`cairn trust`): its signer keys verify uploads, and each
    /// plugin's name and version must pass it, deny list first [env: CAIRN_TRUST]
    #[arg(long)]
    trust: Option<PathBuf>,
    /// Seconds to receive a request's headers; also how long an idle keep-alive connection
    /// is kept
    #[arg(long, env = "CAIRN_HEADER_TIMEOUT", default_value_t = cairn_server::DEFAULT_HEADER_TIMEOUT.as_secs())]
    header_timeout: u64,
    /// Seconds a connection may stay silent with no request in flight (also idle HTTP/2)
    #[arg(long, env = "CAIRN_IDLE_TIMEOUT", default_value_t = cairn_server::DEFAULT_IDLE_TIMEOUT.as_secs())]
    idle_timeout: u64,
    /// Bytes per second a request body must average once --body-grace is over (a rate,
    /// not a total: large uploads on slow links still work); 408 below it
    #[arg(long, env = "CAIRN_MIN_BODY_RATE", default_value_t = cairn_server::DEFAULT_MIN_BODY_RATE)]
    min_body_rate: u64,
    /// Seconds a request body may take before --min-body-rate applies
    #[arg(long, env = "CAIRN_BODY_GRACE", default_value_t = cairn_server::DEFAULT_BODY_GRACE.as_secs())]
    body_grace: u64,
    /// Connections served at once; more are answered 503 and closed (lowered to fit the
    /// open-file limit)
    #[arg(long, env = "CAIRN_MAX_CONNECTIONS", default_value_t = cairn_server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    #[command(flatten)]
    upstream: UpstreamArgs,
}

/// Descriptors kept free for the index, blobs, the log and staging files.
const RESERVED_FDS: u64 = 64;

/// Raises the open-file limit to what `connections` need (up to the hard limit), and
/// returns how many connections fit under it.
fn fit_open_files(connections: usize) -> usize {
    let want = connections as u64 + RESERVED_FDS;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    // `None` is unlimited.
    let current = lim.current.unwrap_or(u64::MAX);
    let maximum = lim.maximum.unwrap_or(u64::MAX);
    if current < want && maximum > current {
        let raised = Rlimit {
            current: Some(want.min(maximum)),
            maximum: lim.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            lim = raised;
        }
    }
    let current = lim.current.unwrap_or(u64::MAX);
    let fit = usize::try_from(current.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
    if fit < connections {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "cairn: WARNING: the open-file limit ({}) allows {fit} connections, not {connections}: raise it with `ulimit -n` or LimitNOFILE=",
            current
        );
    }
    connections.min(fit)
}

impl ServeArgs {
    fn resolve(self) -> anyhow::Result<(ServerConfig, Option<cairn_mirror::MirrorConfig>)> {
        let upstream = self.upstream.clone();
        let config = self.resolve_server()?;
        let mirror = upstream.to_config(&config.registry.data_dir)?;
        Ok((config, mirror))
    }

    fn resolve_server(self) -> anyhow::Result<ServerConfig> {
        let addr = match self.addr {
            Some(a) => a,
            None => match env(&["CAIRN_ADDR", "MEMFLOW_ADDR"]) {
                Some(a) => a
                    .parse()
                    .with_context(|| format!("invalid listen address {a:?}"))?,
                None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            },
        };
        let data = self
            .data
            .or_else(|| env(&["CAIRN_DATA", "MEMFLOW_STORAGE_ROOT"]).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./cairn-data"));
        let token = match self
            .token
            .or_else(|| env(&["CAIRN_TOKEN", "MEMFLOW_BEARER_TOKEN"]))
        {
            Some(t) => Some(BearerToken::new(&t).context("the bearer token is empty")?),
            None => None,
        };
        let mut public_keys = self.public_keys;
        if public_keys.is_empty() {
            if let Some(list) = env(&["CAIRN_PUBLIC_KEY"]) {
                public_keys = list.split(',').map(|p| PathBuf::from(p.trim())).collect();
            } else if let Some(p) = env(&["MEMFLOW_PUBLIC_KEY_FILE"]) {
                public_keys.push(PathBuf::from(p));
            }
        }
        let mut config = ServerConfig::new(addr, data);
        config.limits = cairn_server::Limits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.max(1)),
            min_body_rate: self.min_body_rate,
            body_grace: std::time::Duration::from_secs(self.body_grace),
            max_connections: fit_open_files(self.max_connections.max(1)),
        };
        config.registry.log = self.log.to_log_key();
        self.storage.apply(&mut config.registry);
        config.registry.trust = self
            .trust
            .or_else(|| env(&["CAIRN_TRUST"]).map(PathBuf::from));
        config.token = token;
        config.registry.public_keys = public_keys;
        if let Some(n) = self.max_upload_bytes {
            config.registry.max_upload_bytes = n;
        } else if let Some(n) = env(&["CAIRN_MAX_UPLOAD_BYTES"]) {
            config.registry.max_upload_bytes = n
                .parse()
                .with_context(|| format!("invalid CAIRN_MAX_UPLOAD_BYTES {n:?}"))?;
        }
        Ok(config)
    }
}

/// The server's stderr: a write that fails (a closed or full stderr) is dropped, never a
/// panic, so the server keeps serving when nobody can read its log.
struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// `eprintln!` that cannot panic (see [`Stderr`]).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(Stderr, $($arg)*);
    }};
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let allow_local = args.upstream.allow_local;
    let (config, mirror) = args.resolve()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(|| Stderr)
        // A failed write must not become a panic in a request (the default reports it with
        // eprintln!, which panics when stderr is gone).
        .log_internal_errors(false)
        .init();
    // The process holds the log key: no core dumps, no ptrace or /proc/<pid>/mem by other
    // processes of the same user.
    if let Err(e) = cairn_secmem::disable_core_dumps() {
        tracing::warn!("could not disable core dumps: {e}");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served = runtime.block_on(async move {
        if let Some(mirror) = mirror {
            let data = config.registry.data_dir.clone();
            let local = allow_local.then(|| config.clone());
            let server = MirrorServer::bind(config.addr, config.limits, mirror, local)
                .await
                .context("starting the mirror")?;
            announce_mirror(&server, &data);
            server
                .run(crate::common::shutdown::signal())
                .await
                .context("serving")?;
            return Ok(ExitCode::SUCCESS);
        }
        let data = config.registry.data_dir.clone();
        let server = Server::bind(config).await.context("starting the server")?;
        announce(&server, &data);
        server
            .run(crate::common::shutdown::signal())
            .await
            .context("serving")?;
        Ok(ExitCode::SUCCESS)
    });
    drop(runtime);
    // Destroy every secret buffer and the session key before the process goes.
    cairn_secmem::purge();
    served
}

/// Start-up facts for the operator, on stderr. The token is printed only when generated.
fn announce(server: &Server, data: &std::path::Path) {
    announce_registry(server.state(), server.token_source(), data);
    // Last, so that whoever waits for this line has seen everything above.
    say!("cairn: listening on http://{}", server.local_addr());
}

/// What a registry holds and trusts, its token and its log key.
fn announce_registry(
    state: &cairn_server::AppState,
    token_source: &TokenSource,
    data: &std::path::Path,
) {
    let keys = state.registry.keys();
    say!(
        "cairn: data directory {} (index: {})",
        data.display(),
        state.registry.index_engine()
    );
    match token_source {
        TokenSource::Generated(text) => {
            say!(
                "cairn: generated write token (shown once, kept in {}/token):",
                data.display()
            );
            say!("{text}");
        }
        TokenSource::Stored => say!("cairn: write token read from {}/token", data.display()),
        TokenSource::Configured => say!("cairn: write token set by configuration"),
    }
    if let Some(policy) = state.registry.policy() {
        say!(
            "cairn: uploads checked against trust policy version {} (expires {})",
            policy.doc().version,
            policy.doc().expires
        );
    } else if keys.is_empty() {
        say!(
            "cairn: WARNING: no public key configured (--public-key): upload signatures are \
             stored UNVERIFIED and variants carry \"verified\": false"
        );
    }
    for key in keys.keys() {
        say!("cairn: trusting signing key {}", &key.id()[..16]);
    }
    let log = state.registry.log();
    if state.registry.log_key_created() {
        say!("cairn: generated the log key");
    }
    say!(
        "cairn: transparency log of {} entries, verifier key:",
        log.size()
    );
    say!("{}", log.verifier());
}

/// Start-up facts of a mirror, on stderr.
fn announce_mirror(server: &MirrorServer, data: &std::path::Path) {
    let m = &server.state().mirror;
    if let Some((local, token_source)) = server.local() {
        announce_registry(local, token_source, data);
        say!(
            "cairn: local plugins published beside the mirrored ones, their log at {}",
            cairn_server::mirror::local::LOCAL_LOG_ROUTES
        );
    }
    let kind = if server.local().is_some() {
        "mirror"
    } else {
        "read-only mirror"
    };
    say!(
        "cairn: {kind} of {} (kept in {}), {} artifacts held",
        m.upstream(),
        m.config().dir.display(),
        m.held()
    );
    say!(
        "cairn: upstream log {} verified to {} entries",
        m.log().key().name(),
        m.log().size()
    );
    if m.config().policy.is_some() {
        say!("cairn: mirrored artifacts checked against the upstream trust policy");
    }
    say!("cairn: listening on http://{}", server.local_addr());
}
