//! Errors across the boundary: a status code ([`ferry_plugin_abi::status`])
//! and a UTF-8 message, mapped from and back to Ferry's error types so
//! that a retriable error stays retriable and a transformation's exception
//! class survives.

use ferry_api::config::ConfigError;
use ferry_api::{ConnectError, ConvertError, DataError, ExceptionKind, TransformError};
use ferry_plugin_abi::status;

/// A failure as it crosses: status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One of [`ferry_plugin_abi::status`], not `OK`.
    pub status: i32,
    /// UTF-8 text. For `CONFIG` it may start with the offending key and a
    /// NUL byte.
    pub message: String,
}

impl Failure {
    /// A failure of `status` with `message`.
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A non-retriable failure.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(status::ERROR, message)
    }

    /// Whether the failure is a panic inside the plugin.
    pub fn is_panic(&self) -> bool {
        self.status == status::PANIC
    }

    /// The message without a `CONFIG` failure's key, and the key.
    pub fn key_and_message(&self) -> (&str, &str) {
        match self.message.split_once('\0') {
            Some((key, message)) if self.status == status::CONFIG => (key, message),
            _ => ("", &self.message),
        }
    }
}

/// The message of `e` followed by its causes, as Java's `Caused by:` lines.
fn with_causes(message: String, e: &dyn std::error::Error) -> String {
    let mut out = message;
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str("\nCaused by: ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

impl From<&ConnectError> for Failure {
    fn from(e: &ConnectError) -> Self {
        match e {
            ConnectError::Retriable { message, .. } => {
                Failure::new(status::RETRIABLE, with_causes(message.clone(), e))
            }
            ConnectError::Config(m) => Failure::new(status::CONFIG, m.clone()),
            ConnectError::Data(d) => Failure::new(status::DATA, d.to_string()),
            other => Failure::new(status::ERROR, with_causes(other.to_string(), other)),
        }
    }
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Self {
        Failure::from(&e)
    }
}

impl From<ConvertError> for Failure {
    fn from(e: ConvertError) -> Self {
        match e {
            ConvertError::Retriable(m) => Failure::new(status::RETRIABLE, m),
            ConvertError::Config(m) => Failure::new(status::CONFIG, m),
            ConvertError::Data(m) => Failure::new(status::DATA, m),
            e @ ConvertError::UnknownClass(_) => Failure::new(status::ERROR, e.to_string()),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::new(status::CONFIG, format!("{}\0{}", e.key, e.message))
    }
}

impl From<TransformError> for Failure {
    fn from(e: TransformError) -> Self {
        let s = match e.kind() {
            ExceptionKind::Data => status::DATA,
            ExceptionKind::Connect => status::ERROR,
            ExceptionKind::Config => status::CONFIG,
            ExceptionKind::IllegalArgument => status::ILLEGAL_ARGUMENT,
            ExceptionKind::IndexOutOfBounds => status::INDEX_OUT_OF_BOUNDS,
            ExceptionKind::SchemaBuilder => status::SCHEMA_BUILDER,
            ExceptionKind::NullPointer => status::NULL_POINTER,
            ExceptionKind::Retriable => status::RETRIABLE,
        };
        Failure::new(s, e.message())
    }
}

impl From<ferry_plugin_abi::wire::WireError> for Failure {
    fn from(e: ferry_plugin_abi::wire::WireError) -> Self {
        Failure::new(status::ERROR, e.to_string())
    }
}

impl From<Failure> for ConnectError {
    fn from(f: Failure) -> Self {
        match f.status {
            status::RETRIABLE => ConnectError::retriable(f.message),
            status::CONFIG => ConnectError::Config(f.key_and_message().1.to_owned()),
            status::DATA => ConnectError::Data(DataError::Invalid(f.message)),
            _ => ConnectError::other(f.message),
        }
    }
}

impl From<Failure> for ConvertError {
    fn from(f: Failure) -> Self {
        match f.status {
            status::RETRIABLE => ConvertError::Retriable(f.message),
            status::CONFIG => ConvertError::Config(f.key_and_message().1.to_owned()),
            _ => ConvertError::Data(f.message),
        }
    }
}

impl From<Failure> for ConfigError {
    fn from(f: Failure) -> Self {
        let (key, message) = f.key_and_message();
        ConfigError {
            key: key.to_owned(),
            message: message.to_owned(),
        }
    }
}

impl From<Failure> for TransformError {
    fn from(f: Failure) -> Self {
        let kind = match f.status {
            status::DATA => ExceptionKind::Data,
            status::CONFIG => ExceptionKind::Config,
            status::ILLEGAL_ARGUMENT => ExceptionKind::IllegalArgument,
            status::INDEX_OUT_OF_BOUNDS => ExceptionKind::IndexOutOfBounds,
            status::SCHEMA_BUILDER => ExceptionKind::SchemaBuilder,
            status::NULL_POINTER => ExceptionKind::NullPointer,
            status::RETRIABLE => ExceptionKind::Retriable,
            _ => ExceptionKind::Connect,
        };
        TransformError::new(kind, f.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_the_round_trip() {
        let back = ConnectError::from(Failure::from(ConnectError::retriable("later")));
        assert!(back.is_retriable());
        assert_eq!(back.to_string(), "retriable: later");
        let t = TransformError::new(ExceptionKind::IllegalArgument, "bad field");
        assert_eq!(TransformError::from(Failure::from(t.clone())), t);
        let c = ConfigError::invalid("x", 1, "too small");
        assert_eq!(ConfigError::from(Failure::from(c.clone())), c);
        let caused = ConnectError::caused_by("write failed", std::io::Error::other("disk full"));
        assert_eq!(
            Failure::from(caused).message,
            "write failed\nCaused by: disk full"
        );
    }
}
