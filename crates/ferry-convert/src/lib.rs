//! Kafka Connect's converters: they turn Connect data (schema + value) into
//! the bytes stored in Kafka and back. The wire formats are byte-for-byte
//! those of Kafka Connect, so topics can be shared with Kafka Connect workers.

use ferry_api::{Props, Schema, Value};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConvertError {
    #[error("Unknown converter class {0}")]
    UnknownClass(String),
    #[error("Invalid converter configuration: {0}")]
    Config(String),
    /// Kafka Connect's `DataException`, e.g. bytes that are not valid JSON.
    #[error("{0}")]
    Data(String),
}

/// Whether a converter handles record keys or values (`converter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterRole {
    Key,
    Value,
    Header,
}

/// Kafka Connect's `Converter`.
pub trait Converter: Send + Sync {
    /// Serializes into `out` (cleared first). Returns `false` for a null
    /// payload (a tombstone), leaving `out` empty.
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError>;

    /// Deserializes a payload (`None` = null) into schema and value.
    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<(Option<Schema>, Value), ConvertError>;
}
