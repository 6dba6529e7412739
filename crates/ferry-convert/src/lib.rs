//! Kafka Connect's converters: they turn Connect data (schema + value) into
//! the bytes stored in Kafka and back. The wire formats are byte-for-byte
//! those of Kafka Connect, so topics can be shared with Kafka Connect workers.
//!
//! - `org.apache.kafka.connect.json.JsonConverter` is [`JsonConverter`],
//! - `org.apache.kafka.connect.storage.StringConverter` is [`StringConverter`],
//! - `org.apache.kafka.connect.converters.ByteArrayConverter` is [`ByteArrayConverter`],
//! - `org.apache.kafka.connect.storage.SimpleHeaderConverter` is [`SimpleHeaderConverter`].
//!
//! The first three implement both `ferry_api::Converter` and
//! `ferry_api::HeaderConverter`, as their Kafka Connect classes do; the last
//! is a header converter only. [`plugins`] describes them to the worker's
//! plugin registry, which builds them by class name. The golden tests
//! (`golden/`) compare every format against the real Kafka Connect jars.

mod bytes;
mod json;
mod plugins;
mod simple_header;
mod string;

use ferry_api::config::ParsedConfig;
use ferry_api::{
    ConfigDef, ConfigType, ConvertError, Converter, Importance, Props, Schema, Validator, Value,
};

pub use bytes::ByteArrayConverter;
pub use json::{
    DecimalFormat, JsonConverter, DECIMAL_FORMAT_CONFIG, REPLACE_NULL_WITH_DEFAULT_CONFIG,
    SCHEMAS_CACHE_SIZE_CONFIG, SCHEMAS_ENABLE_CONFIG, SCHEMA_CONTENT_CONFIG,
};
pub use plugins::{plugins, KAFKA_CONNECT_VERSION};
pub use simple_header::SimpleHeaderConverter;
pub use string::StringConverter;

/// Whether a converter handles record keys, values or headers
/// (`converter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterRole {
    /// Record keys (`key.converter`).
    Key,
    /// Record values (`value.converter`).
    Value,
    /// Header values (`header.converter`).
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

    /// The role `Converter::configure(props, is_key)` asks for.
    pub fn of_key(is_key: bool) -> Self {
        if is_key {
            ConverterRole::Key
        } else {
            ConverterRole::Value
        }
    }
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

/// Makes a converter a header converter too, as Kafka Connect's
/// `JsonConverter`, `StringConverter` and `ByteArrayConverter` are: its
/// `fromConnectHeader` / `toConnectHeader` are its `fromConnectData` /
/// `toConnectData`, configured with `converter.type=header`. The type needs
/// `new(role, props)` and `config_def()`.
macro_rules! header_converter_from_converter {
    ($($t:ty),*) => {$(
        impl ferry_api::HeaderConverter for $t {
            fn configure(&mut self, props: &Props) -> Result<(), ConvertError> {
                *self = <$t>::new(ConverterRole::Header, props)?;
                Ok(())
            }

            fn config_def(&self) -> ConfigDef {
                <$t>::config_def()
            }

            fn from_connect_header(
                &self,
                topic: &str,
                _header_key: &str,
                schema: Option<&Schema>,
                value: &Value,
            ) -> Result<Option<Vec<u8>>, ConvertError> {
                let mut out = Vec::new();
                Ok(Converter::from_connect(self, topic, schema, value, &mut out)?.then_some(out))
            }

            fn to_connect_header(
                &self,
                topic: &str,
                _header_key: &str,
                data: Option<&[u8]>,
            ) -> Result<(Option<Schema>, Value), ConvertError> {
                Converter::to_connect(self, topic, data)
            }
        }
    )*};
}

header_converter_from_converter!(JsonConverter, StringConverter, ByteArrayConverter);
