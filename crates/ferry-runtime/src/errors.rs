//! Why a task stopped working, with the stage Kafka Connect would name.

use ferry_api::ConnectError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TaskError {
    /// The connector's task code failed (poll, put, start, …).
    #[error("{0}")]
    Task(ConnectError),
    /// A converter could not handle a record and `errors.tolerance` is
    /// `none`; the stage names which converter.
    #[error("Tolerance exceeded in error handler (stage {0}): {1}")]
    Convert(&'static str, String),
    /// A transformation failed and `errors.tolerance` is `none`: the Java
    /// exception class and the message.
    #[error("Tolerance exceeded in error handler (stage TRANSFORMATION): {0}: {1}")]
    Transform(&'static str, String),
    /// A sink task reported an errant record and `errors.tolerance` is
    /// `none`: the Java exception class and the message of the reported
    /// error.
    #[error("Tolerance exceeded in error handler: {0}: {1}")]
    Reported(&'static str, String),
    #[error("{0}")]
    Produce(String),
    #[error("{0}")]
    Consume(String),
    #[error("Failed to commit offsets: {0}")]
    Offsets(String),
    #[error("{0}")]
    Setup(String),
}

impl TaskError {
    /// The `trace` shown in the task's status.
    pub fn trace(&self) -> String {
        let kind = match self {
            TaskError::Task(_) => "org.apache.kafka.connect.errors.ConnectException",
            TaskError::Convert(..) => "org.apache.kafka.connect.errors.DataException",
            TaskError::Transform(..)
            | TaskError::Reported(..)
            | TaskError::Produce(_)
            | TaskError::Consume(_)
            | TaskError::Offsets(_)
            | TaskError::Setup(_) => "org.apache.kafka.connect.errors.ConnectException",
        };
        if let TaskError::Reported(class, msg) = self {
            return format!(
                "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\nCaused by: {class}: {msg}"
            );
        }
        if let TaskError::Transform(class, msg) = self {
            return format!(
                "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\nCaused by: {class}: {msg} (stage TRANSFORMATION)"
            );
        }
        if let TaskError::Convert(stage, msg) = self {
            return format!(
                "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\nCaused by: {kind}: {msg} (stage {stage})"
            );
        }
        let mut out = format!("{kind}: {self}");
        if let TaskError::Task(inner) = self {
            let mut source = std::error::Error::source(inner);
            while let Some(s) = source {
                out.push_str("\nCaused by: ");
                out.push_str(&s.to_string());
                source = s.source();
            }
        }
        out
    }
}
