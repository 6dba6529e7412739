//! Errors of transforms, predicates and chains.
//!
//! Kafka Connect reports a failed transform through the Java exception it
//! threw: the class name goes into the dead letter queue headers
//! (`__connect.errors.exception.class.name`) and the message into the task's
//! trace. `TransformError` keeps both, so the runtime can report exactly what
//! a Java worker would.

use std::fmt;

pub use ferry_api::config::ConfigError;
use ferry_java::regex::RegexError;

/// The Java exception a Kafka Connect transform throws for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    /// `org.apache.kafka.connect.errors.DataException`: the record does not
    /// fit what the transform needs.
    Data,
    /// `org.apache.kafka.connect.errors.ConnectException`.
    Connect,
    /// `org.apache.kafka.common.config.ConfigException`.
    Config,
    /// `java.lang.IllegalArgumentException` (ExtractField's unknown field,
    /// RegexRouter's bad group reference).
    IllegalArgument,
    /// `java.lang.IndexOutOfBoundsException` (RegexRouter's `$9` with fewer
    /// groups).
    IndexOutOfBounds,
    /// `org.apache.kafka.connect.errors.SchemaBuilderException`: a default
    /// value that does not fit its schema, a duplicate field name.
    SchemaBuilder,
    /// `java.lang.NullPointerException`, which a few transforms throw on
    /// inputs they do not expect (HeaderFrom with a missing field).
    NullPointer,
    /// `org.apache.kafka.connect.errors.RetriableException`: a transform
    /// that depends on something outside the record (a lookup) may succeed
    /// when tried again; the runtime retries the chain per
    /// `errors.retry.timeout`.
    Retriable,
}

impl ExceptionKind {
    pub fn java_class(self) -> &'static str {
        match self {
            ExceptionKind::Data => "org.apache.kafka.connect.errors.DataException",
            ExceptionKind::Connect => "org.apache.kafka.connect.errors.ConnectException",
            ExceptionKind::Config => "org.apache.kafka.common.config.ConfigException",
            ExceptionKind::IllegalArgument => "java.lang.IllegalArgumentException",
            ExceptionKind::IndexOutOfBounds => "java.lang.IndexOutOfBoundsException",
            ExceptionKind::SchemaBuilder => {
                "org.apache.kafka.connect.errors.SchemaBuilderException"
            }
            ExceptionKind::NullPointer => "java.lang.NullPointerException",
            ExceptionKind::Retriable => "org.apache.kafka.connect.errors.RetriableException",
        }
    }
}

/// Which chain stage failed, for messages and the DLQ context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRef {
    /// The alias in `transforms`.
    pub alias: String,
    /// The transformation's class name.
    pub class: &'static str,
}

/// A transform failed on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError {
    kind: ExceptionKind,
    message: String,
    stage: Option<StageRef>,
}

impl TransformError {
    pub fn new(kind: ExceptionKind, message: impl Into<String>) -> Self {
        TransformError {
            kind,
            message: message.into(),
            stage: None,
        }
    }

    /// A `DataException`, the usual failure.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::Data, message)
    }

    pub fn kind(&self) -> ExceptionKind {
        self.kind
    }

    /// The Java exception class Kafka Connect reports for this failure.
    pub fn exception_class(&self) -> &'static str {
        self.kind.java_class()
    }

    /// The exception message, as Kafka Connect's transform words it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The chain stage that failed, when the error came through a chain.
    pub fn stage(&self) -> Option<&StageRef> {
        self.stage.as_ref()
    }

    pub(crate) fn at_stage(mut self, alias: &str, class: &'static str) -> Self {
        self.stage = Some(StageRef {
            alias: alias.to_owned(),
            class,
        });
        self
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stage {
            Some(s) => write!(
                f,
                "transformation '{}' ({}) failed: {}",
                s.alias, s.class, self.message
            ),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TransformError {}

/// RegexRouter's `replaceFirst` failures, under the exception Java throws.
impl From<RegexError> for TransformError {
    fn from(e: RegexError) -> Self {
        let kind = match e {
            // PatternSyntaxException is an IllegalArgumentException.
            RegexError::Syntax(_) | RegexError::IllegalArgument(_) => {
                ExceptionKind::IllegalArgument
            }
            RegexError::NoGroup(_) => ExceptionKind::IndexOutOfBounds,
        };
        TransformError::new(kind, e.to_string())
    }
}

/// A chain could not be built from a connector configuration.
///
/// `key` names the offending configuration key (prefixed, e.g.
/// `transforms.route.regex`), so the runtime can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChainError {
    pub key: String,
    pub message: String,
}

impl ChainError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ChainError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Shorthand for configuration failures with Kafka's message shapes.
pub(crate) fn config_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}
