//! Converters: Kafka Connect's `Converter` and `HeaderConverter`, which turn
//! Connect data (a schema and a value) into the bytes stored in Kafka and
//! back.
//!
//! A worker builds one per task and role from the class a connector (or the
//! worker) names in `key.converter`, `value.converter` or
//! `header.converter`: it creates the plugin through its factory, then calls
//! `configure` with the settings under that prefix (prefix stripped).
//! Converters are shared by a task's threads once configured, hence `&self`
//! in the conversion methods.
#![warn(missing_docs)]

use thiserror::Error;

use crate::config::ConfigDef;
use crate::data::{Schema, Value};
use crate::Props;

/// Why a converter could not be built or could not convert.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConvertError {
    /// No converter of that class (or alias) is registered.
    #[error("Unknown converter class {0}")]
    UnknownClass(String),
    /// `configure` refused the settings.
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
    /// Whether trying again may succeed ([`ConvertError::Retriable`]).
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

/// Kafka Connect's `Converter`: record keys and values to bytes and back.
pub trait Converter: Send + Sync {
    /// `configure(configs, isKey)`: applies the converter's own settings
    /// (the keys under `key.converter.` or `value.converter.`, prefix
    /// stripped). Called once, before any conversion.
    fn configure(&mut self, props: &Props, is_key: bool) -> Result<(), ConvertError>;

    /// `config()`: the configuration keys, for
    /// `/connector-plugins/{plugin}/config`. None by default.
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    /// `fromConnectData`: serializes into `out` (cleared first). Returns
    /// `false` for a null payload (a tombstone), leaving `out` empty.
    // Named after Kafka Connect's `fromConnectData`.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError>;

    /// `toConnectData`: deserializes a payload (`None` = null) into schema
    /// and value.
    fn to_connect(
        &self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError>;

    /// `from_connect` for each `(topic, schema, value)` of a batch: one
    /// result per item, in order, the bytes or `None` for a null payload.
    /// The default converts item by item. A converter for which a call
    /// costs more than an item does (a plugin library's, which crosses the
    /// library boundary) makes one call per batch; the worker uses this
    /// only when [`prefers_batches`](Self::prefers_batches) says so.
    // Named after Kafka Connect's `fromConnectData`.
    #[allow(clippy::wrong_self_convention, clippy::type_complexity)]
    fn from_connect_batch(
        &self,
        items: &[(&str, Option<&Schema>, &Value)],
    ) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
        items
            .iter()
            .map(|(topic, schema, value)| {
                let mut out = Vec::new();
                self.from_connect(topic, *schema, value, &mut out)
                    .map(|present| present.then_some(out))
            })
            .collect()
    }

    /// `to_connect` for each `(topic, payload)` of a batch: one result per
    /// item, in order (see [`from_connect_batch`](Self::from_connect_batch)).
    #[allow(clippy::type_complexity)]
    fn to_connect_batch(
        &self,
        items: &[(&str, Option<&[u8]>)],
    ) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
        items
            .iter()
            .map(|(topic, data)| self.to_connect(topic, *data))
            .collect()
    }

    /// Whether a call costs so much more than an item (as a plugin
    /// library's does) that the worker should gather a batch's items for
    /// the batch methods even where that costs it a copy of each record.
    /// `false` by default.
    fn prefers_batches(&self) -> bool {
        false
    }

    /// Releases resources when the task that owns the converter stops; the
    /// converter is not used afterwards.
    fn close(&self) {}
}

/// Kafka Connect's `HeaderConverter`: record header values to bytes and
/// back.
pub trait HeaderConverter: Send + Sync {
    /// `configure(configs)`: applies the converter's own settings (the keys
    /// under `header.converter.`, prefix stripped). Called once, before any
    /// conversion.
    fn configure(&mut self, props: &Props) -> Result<(), ConvertError>;

    /// `config()`: the configuration keys, for
    /// `/connector-plugins/{plugin}/config`.
    fn config_def(&self) -> ConfigDef;

    /// `fromConnectHeader`: the bytes of the value of header `header_key`
    /// (`None` = null).
    // Named after Kafka Connect's `fromConnectHeader`.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError>;

    /// `toConnectHeader`: schema and value of the bytes of header
    /// `header_key` (`None` = null).
    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError>;

    /// `from_connect_header` for each `(topic, header key, schema, value)`
    /// of a batch: one result per item, in order (see
    /// [`Converter::from_connect_batch`]).
    // Named after Kafka Connect's `fromConnectHeader`.
    #[allow(clippy::wrong_self_convention, clippy::type_complexity)]
    fn from_connect_header_batch(
        &self,
        items: &[(&str, &str, Option<&Schema>, &Value)],
    ) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
        items
            .iter()
            .map(|(topic, key, schema, value)| self.from_connect_header(topic, key, *schema, value))
            .collect()
    }

    /// `to_connect_header` for each `(topic, header key, payload)` of a
    /// batch: one result per item, in order.
    #[allow(clippy::type_complexity)]
    fn to_connect_header_batch(
        &self,
        items: &[(&str, &str, Option<&[u8]>)],
    ) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
        items
            .iter()
            .map(|(topic, key, data)| self.to_connect_header(topic, key, *data))
            .collect()
    }

    /// As [`Converter::prefers_batches`]. `false` by default.
    fn prefers_batches(&self) -> bool {
        false
    }

    /// Releases resources when the task that owns the converter stops; the
    /// converter is not used afterwards.
    fn close(&self) {}
}
