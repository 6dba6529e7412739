//! Errors of the S3 connectors, and how they map onto the runtime's
//! `ConnectError` (retriable or not).

use ferry_api::{BoxError, ConnectError};
use thiserror::Error;

pub type Result<T, E = S3Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum S3Error {
    /// A configuration the connector cannot work with; names the key.
    #[error("{0}")]
    Config(String),
    /// The S3 server could not be reached or answered with a server-side
    /// failure (5xx, throttling): worth trying again once it is back.
    #[error("{context}: {source}")]
    Unavailable {
        context: String,
        #[source]
        source: BoxError,
    },
    /// The S3 server refused the request (credentials, a missing bucket,
    /// permissions): trying again fails the same way.
    #[error("{context}: {source}")]
    Refused {
        context: String,
        #[source]
        source: BoxError,
    },
    /// A record the configured format cannot encode (no schema for Avro or
    /// Parquet, a value of the wrong kind, a null value with
    /// `behavior.on.null.values=fail`).
    #[error("{0}")]
    Record(String),
    /// An object the source cannot read back (not written by the sink, or
    /// damaged).
    #[error("object {key}: {reason}")]
    Object { key: String, reason: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl S3Error {
    pub fn is_retriable(&self) -> bool {
        matches!(self, S3Error::Unavailable { .. })
    }
}

impl From<ferry_api::DataError> for S3Error {
    fn from(e: ferry_api::DataError) -> Self {
        S3Error::Record(e.to_string())
    }
}

impl From<S3Error> for ConnectError {
    fn from(e: S3Error) -> Self {
        match e {
            S3Error::Config(m) => ConnectError::Config(m),
            e @ S3Error::Unavailable { .. } => {
                ConnectError::retriable_caused_by("S3 is unavailable", e)
            }
            e => ConnectError::caused_by("S3 connector failure", e),
        }
    }
}
