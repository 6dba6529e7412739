//! Errors of chains, and the shorthand transforms use for configuration
//! failures. A transform's own failure is `ferry_api::TransformError`,
//! which keeps the Java exception Kafka Connect would report.

pub(crate) use ferry_api::config::ConfigError;
pub(crate) use ferry_api::{ExceptionKind, TransformError};
use ferry_java::regex::RegexError;

/// RegexRouter's `replaceFirst` failures, under the exception Java throws.
pub(crate) fn regex_error(e: RegexError) -> TransformError {
    let kind = match e {
        // PatternSyntaxException is an IllegalArgumentException.
        RegexError::Syntax(_) | RegexError::IllegalArgument(_) => ExceptionKind::IllegalArgument,
        RegexError::NoGroup(_) => ExceptionKind::IndexOutOfBounds,
    };
    TransformError::new(kind, e.to_string())
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
