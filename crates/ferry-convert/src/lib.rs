//! Kafka Connect's converters: they turn Connect data (schema + value) into
//! the bytes stored in Kafka and back. The wire formats are byte-for-byte
//! those of Kafka Connect, so topics can be shared with Kafka Connect workers.
//!
//! - `org.apache.kafka.connect.json.JsonConverter` is [`JsonConverter`],
//! - `org.apache.kafka.connect.storage.StringConverter` is [`StringConverter`],
//! - `org.apache.kafka.connect.converters.ByteArrayConverter` is [`ByteArrayConverter`].
//!
//! [`new_converter`] builds one from a Kafka Connect class name, and
//! [`converter_plugins`] lists them for the REST API. The golden tests
//! (`golden/`) compare every format against the real Kafka Connect jars.

mod bytes;
mod json;
mod plugins;
mod string;

use ferry_api::config::ParsedConfig;
use ferry_api::{ConfigDef, ConfigType, Importance, Props, Schema, Validator, Value};
use thiserror::Error;

pub use bytes::ByteArrayConverter;
pub use json::{
    DecimalFormat, JsonConverter, DECIMAL_FORMAT_CONFIG, REPLACE_NULL_WITH_DEFAULT_CONFIG,
    SCHEMAS_CACHE_SIZE_CONFIG, SCHEMAS_ENABLE_CONFIG, SCHEMA_CONTENT_CONFIG,
};
pub use plugins::{
    converter_config_def_for, converter_plugins, new_converter, ConverterPlugin,
    KAFKA_CONNECT_VERSION,
};
pub use string::StringConverter;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConvertError {
    #[error("Unknown converter class {0}")]
    UnknownClass(String),
    #[error("Invalid converter configuration: {0}")]
    Config(String),
    /// Kafka Connect's `DataException`, e.g. bytes that are not valid JSON.
    #[error("{0}")]
    Data(String),
    /// Kafka Connect's `RetriableException`: a converter that depends on
    /// another service (a schema registry) may succeed when tried again; the
    /// runtime retries it per `errors.retry.timeout`.
    #[error("{0}")]
    Retriable(String),
}

impl ConvertError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConvertError::Retriable(_))
    }

    /// The Java exception class Kafka Connect reports for this failure.
    pub fn exception_class(&self) -> &'static str {
        match self {
            ConvertError::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
            ConvertError::UnknownClass(_) | ConvertError::Config(_) => {
                "org.apache.kafka.common.config.ConfigException"
            }
            ConvertError::Data(_) => "org.apache.kafka.connect.errors.DataException",
        }
    }
}

/// Whether a converter handles record keys or values (`converter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterRole {
    Key,
    Value,
    Header,
}

impl ConverterRole {
    /// The `converter.type` value: `key`, `value` or `header`.
    pub fn name(self) -> &'static str {
        match self {
            ConverterRole::Key => "key",
            ConverterRole::Value => "value",
            ConverterRole::Header => "header",
        }
    }
}

/// Kafka Connect's `Converter`.
pub trait Converter: Send + Sync {
    /// Serializes into `out` (cleared first). Returns `false` for a null
    /// payload (a tombstone), leaving `out` empty.
    // Named after Kafka Connect's `fromConnectData`.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError>;

    /// Deserializes a payload (`None` = null) into schema and value.
    fn to_connect(
        &self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError>;
}

pub(crate) const CONVERTER_TYPE_CONFIG: &str = "converter.type";

/// `ConverterConfig.newConfigDef()`: the `converter.type` key every
/// converter's configuration starts with.
pub(crate) fn converter_config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(CONVERTER_TYPE_CONFIG, ConfigType::String)
        .validator(Validator::OneOf(vec!["key", "value", "header"]))
        .importance(Importance::Low)
        .doc("How this converter will be used.");
    def
}

/// Parses a converter's settings as `configure(configs, isKey)` does: the
/// role decides `converter.type`, whatever the properties say.
pub(crate) fn parse_config(
    def: &ConfigDef,
    role: ConverterRole,
    props: &Props,
) -> Result<ParsedConfig, ConvertError> {
    let mut props = props.clone();
    props.insert(CONVERTER_TYPE_CONFIG.to_owned(), role.name().to_owned());
    def.parse(&props)
        .map_err(|e| ConvertError::Config(e.message))
}
