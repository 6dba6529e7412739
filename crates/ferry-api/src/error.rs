//! The errors plugins report: [`ConnectError`] from connectors and tasks,
//! [`DataError`] from the data model.

use thiserror::Error;

/// Errors raised by schema and value handling (Kafka Connect's `DataException`).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DataError {
    /// A schema or value that breaks a rule of the data model (a null in a
    /// required field, an unknown field name, a non-struct schema given to
    /// a [`Struct`](crate::Struct)); the message is Kafka Connect's.
    #[error("{0}")]
    Invalid(String),
    /// A value whose kind does not fit its schema's type, worded as Kafka
    /// Connect's `ConnectSchema.validateValue` words it.
    #[error("Invalid Java object for schema with type {expected}: {found}")]
    TypeMismatch {
        /// The schema type, e.g. `INT32`.
        expected: String,
        /// The Java class Kafka Connect would name for the value, e.g.
        /// `String` (see [`Value::kind_name`](crate::Value::kind_name)).
        found: String,
    },
    /// A value that cannot be converted to the form asked for (a decimal
    /// that does not fit 128 bits, text that is no number).
    #[error("Conversion error: {0}")]
    Conversion(String),
}

/// The cause kept under a [`ConnectError`]: any error, so that a driver's
/// or client's own error stays reachable through `Error::source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors a connector or task reports to the runtime (Kafka Connect's
/// `ConnectException` and its subclasses). Each keeps the error that caused
/// it, so that a task's trace ends with the cause's own message, as Kafka
/// Connect's `Caused by:` lines do.
///
/// Only [`Retriable`](Self::Retriable) is treated differently from the
/// rest, and only where Kafka Connect retries a `RetriableException`:
///
/// - from [`SourceTask::poll`](crate::SourceTask::poll): logged, and the
///   task polls again after a short pause;
/// - from [`SinkTask::put`](crate::SinkTask::put): the batch's partitions
///   are rewound and the same records are delivered to `put` again;
/// - from [`SinkTask::pre_commit`](crate::SinkTask::pre_commit) (or `flush`
///   through it): logged, nothing is committed, and the commit is tried
///   again at the next one.
///
/// Anywhere else, and any other variant there, fails the task (or, from a
/// [`Connector`](crate::Connector), the connector): its status turns
/// `FAILED` with the error's whole cause chain as its trace, and it stays
/// so until restarted through the REST API. Errors from
/// [`SourceTask::commit_record`](crate::SourceTask::commit_record), from
/// the `stop` methods, and from
/// [`SourceTask::commit`](crate::SourceTask::commit) (but the last one
/// before the task stops) are logged only, as Kafka Connect logs what those
/// throw.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// A configuration the connector or task cannot work with (Kafka
    /// Connect's `ConfigException`); the message says which key and why,
    /// e.g. a [`ConfigError`](crate::config::ConfigError)'s message.
    #[error("{0}")]
    Config(String),
    /// A schema or value the data model refuses (`DataException`).
    #[error(transparent)]
    Data(#[from] DataError),
    /// An I/O failure, with the [`std::io::Error`] as its cause. Not
    /// retriable: wrap it with
    /// [`retriable_caused_by`](Self::retriable_caused_by) when trying
    /// again may help.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A failure the runtime may retry (Kafka Connect's
    /// `RetriableException`): a destination or source that is briefly
    /// unreachable, a lock timeout. See the type's documentation for where
    /// the runtime retries it.
    #[error("retriable: {message}")]
    Retriable {
        /// What failed.
        message: String,
        /// The error that caused it, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other failure (Kafka Connect's `ConnectException`): the task or
    /// connector fails.
    #[error("{message}")]
    Other {
        /// What failed.
        message: String,
        /// The error that caused it, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl ConnectError {
    /// An [`Other`](Self::Other) failure without a cause.
    pub fn other(msg: impl Into<String>) -> Self {
        ConnectError::Other {
            message: msg.into(),
            source: None,
        }
    }
    /// A [`Config`](Self::Config) error.
    pub fn config(msg: impl Into<String>) -> Self {
        ConnectError::Config(msg.into())
    }
    /// A [`Retriable`](Self::Retriable) failure without a cause.
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
    /// Whether this is [`Retriable`](Self::Retriable), the only variant
    /// the runtime tries again.
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable { .. })
    }
}
