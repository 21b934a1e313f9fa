//! Cairn's HTTP server: memflow-registry's API, served from a [`cairn_registry::Registry`].
//!
//! [`Server::bind`] opens the registry and the listening socket; [`Server::run`] serves
//! until a shutdown signal. [`router`] builds the axum app on its own, for tests and for
//! embedding. Every route, every status code and every JSON shape that memflow clients rely
//! on is kept; upstream defects are not (see `handlers/` for each route's notes).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = cairn_server::ServerConfig::new("127.0.0.1:3000".parse()?, "./cairn-data");
//! let server = cairn_server::Server::bind(config).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod app;
mod body_rate;
mod cache;
mod config;
mod connection;
mod error;
mod extract;
mod handlers;
mod idle;
mod limits;
mod metrics;
pub mod mirror;
mod range;
mod router;
mod server;
mod token;
pub mod ui;
pub mod witness;

pub use app::{App, AppState};
pub use config::ServerConfig;
pub use error::ApiError;
pub use limits::{
    DEFAULT_BODY_GRACE, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MIN_BODY_RATE, Limits,
};
pub use router::router;
pub use server::{Server, ServerError};
pub use token::{BearerToken, TokenSource};
