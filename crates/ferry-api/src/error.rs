use thiserror::Error;

/// Errors raised by schema and value handling (Kafka Connect's `DataException`).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DataError {
    #[error("{0}")]
    Invalid(String),
    #[error("Invalid Java object for schema with type {expected}: {found}")]
    TypeMismatch { expected: String, found: String },
    #[error("Conversion error: {0}")]
    Conversion(String),
}

/// The cause kept under a [`ConnectError`]: any error, so that a driver's
/// or client's own error stays reachable through `Error::source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors a connector or task reports to the runtime. Each keeps the error
/// that caused it, so that a task's trace ends with the cause's own message,
/// as Kafka Connect's `Caused by:` lines do.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A failure the runtime may retry (Kafka Connect's `RetriableException`).
    #[error("retriable: {message}")]
    Retriable {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    #[error("{message}")]
    Other {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl ConnectError {
    pub fn other(msg: impl Into<String>) -> Self {
        ConnectError::Other {
            message: msg.into(),
            source: None,
        }
    }
    pub fn config(msg: impl Into<String>) -> Self {
        ConnectError::Config(msg.into())
    }
    pub fn retriable(msg: impl Into<String>) -> Self {
        ConnectError::Retriable {
            message: msg.into(),
            source: None,
        }
    }
    /// A failure described by `msg` and caused by `source`.
    pub fn caused_by(msg: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ConnectError::Other {
            message: msg.into(),
            source: Some(source.into()),
        }
    }
    /// A retriable failure described by `msg` and caused by `source`.
    pub fn retriable_caused_by(msg: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ConnectError::Retriable {
            message: msg.into(),
            source: Some(source.into()),
        }
    }
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable { .. })
    }
}
