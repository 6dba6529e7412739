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

/// Errors a connector or task reports to the runtime.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A failure the runtime may retry (Kafka Connect's `RetriableException`).
    #[error("retriable: {0}")]
    Retriable(String),
    #[error("{0}")]
    Other(String),
}

impl ConnectError {
    pub fn other(msg: impl Into<String>) -> Self {
        ConnectError::Other(msg.into())
    }
    pub fn config(msg: impl Into<String>) -> Self {
        ConnectError::Config(msg.into())
    }
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }
}
