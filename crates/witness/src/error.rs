//! Why a witness could not start, and why it refuses a checkpoint.

/// Why the witness could not start or keep its state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file.
    #[error("witness configuration {path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The witness's key or a log's key.
    #[error("witness key: {0}")]
    Key(#[from] cairn_tlog::Error),
    /// The state database.
    #[error("witness database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A checkpoint the witness does not cosign, with the tlog-witness status of each case.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// 400: the request or the checkpoint does not parse, or `old` exceeds its size.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: no log with this origin is configured.
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    /// 403: no valid signature by the log's configured key.
    #[error("the checkpoint is not signed by the log's key: {0}")]
    Untrusted(String),
    /// 409: `old` is not the size this witness cosigned last (the answer's body).
    #[error("this witness cosigned {size} entries of the log last")]
    Conflict {
        /// The size the witness holds.
        size: u64,
    },
    /// 422: a fork, a rollback at the same size, or a consistency proof that fails.
    #[error("inconsistent with what this witness cosigned: {0}")]
    Inconsistent(String),
    /// 500: the state could not be read or written (nothing was cosigned).
    #[error("the witness's state: {0}")]
    State(String),
}

impl Refusal {
    /// The HTTP status the tlog-witness spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Untrusted(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent(_) => 422,
            Refusal::State(_) => 500,
        }
    }
}
