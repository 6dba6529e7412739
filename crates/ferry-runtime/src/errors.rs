//! Why a task stopped working, with the stage Kafka Connect would name and
//! the error underneath.

use ferry_api::{BoxError, ConnectError};
use ferry_kafka::KafkaClientError;
use rdkafka::error::KafkaError;
use thiserror::Error;

use crate::error_handling::Stage;
use crate::status::trace_of;

const CONNECT_EXCEPTION: &str = "org.apache.kafka.connect.errors.ConnectException";
const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";

#[derive(Debug, Error)]
pub enum TaskError {
    /// The connector's task code failed (poll, put, start, …).
    #[error("{0}")]
    Task(ConnectError),
    /// A converter could not handle a record and `errors.tolerance` is
    /// `none`.
    #[error("Tolerance exceeded in error handler (stage {0}): {1}")]
    Convert(Stage, String),
    /// A transformation failed and `errors.tolerance` is `none`: the Java
    /// exception class and the message.
    #[error("Tolerance exceeded in error handler (stage TRANSFORMATION): {0}: {1}")]
    Transform(&'static str, String),
    /// A sink task reported an errant record and `errors.tolerance` is
    /// `none`: the Java exception class and the message of the reported
    /// error.
    #[error("Tolerance exceeded in error handler: {0}: {1}")]
    Reported(&'static str, String),
    /// A Kafka client failed at what `context` says.
    #[error("{context}")]
    Kafka {
        context: String,
        #[source]
        source: KafkaClientError,
    },
    /// The producer's delivery callback reported a record Kafka did not take.
    #[error("{context}")]
    Delivery {
        context: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("Failed to commit offsets")]
    Offsets(#[source] BoxError),
    /// The connector's task code panicked; the panic's message.
    #[error("The task panicked: {0}")]
    Panicked(String),
    /// The task could not be built or started (a converter, a client, the
    /// dead letter queue).
    #[error("{context}")]
    Setup {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl TaskError {
    /// A setup failure of `what`, caused by `source`.
    pub fn setup(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        TaskError::Setup {
            context: what.into(),
            source: Some(source.into()),
        }
    }

    /// A Kafka client failure while doing `what`; `what` becomes a `String`
    /// only when the failure happens, so passing it on a hot path is free.
    pub fn kafka<S: Into<String>>(what: S) -> impl FnOnce(KafkaClientError) -> TaskError {
        move |source| TaskError::Kafka {
            context: what.into(),
            source,
        }
    }

    /// The `trace` shown in the task's status: Kafka Connect's exception
    /// class, the message, and a `Caused by:` line for each cause.
    pub fn trace(&self) -> String {
        match self {
            TaskError::Reported(class, msg) => format!(
                "{CONNECT_EXCEPTION}: Tolerance exceeded in error handler\nCaused by: {class}: {msg}"
            ),
            TaskError::Transform(class, msg) => format!(
                "{CONNECT_EXCEPTION}: Tolerance exceeded in error handler\nCaused by: {class}: {msg} (stage TRANSFORMATION)"
            ),
            TaskError::Convert(stage, msg) => format!(
                "{CONNECT_EXCEPTION}: Tolerance exceeded in error handler\nCaused by: {DATA_EXCEPTION}: {msg} (stage {stage})"
            ),
            // The task's own error carries its causes.
            TaskError::Task(inner) => format!("{CONNECT_EXCEPTION}: {}", trace_of(inner)),
            other => format!("{CONNECT_EXCEPTION}: {}", trace_of(other)),
        }
    }
}
