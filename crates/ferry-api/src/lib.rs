//! Ferry's plugin SDK.
//!
//! The data model (schemas, values, structs), records, the traits of every
//! plugin kind (connectors and their tasks, converters, header converters,
//! transformations, predicates) and `ConfigDef` mirror Kafka Connect's
//! `connect-api`, so a plugin written against Kafka Connect maps onto these
//! types one to one. [`Plugin`] describes a plugin to the worker's
//! registry. Nothing here knows about Kafka clients or HTTP.
//!
//! With the `testkit` feature, `testkit` drives tasks in memory for unit
//! tests: offsets, contexts that record requests, and source and sink
//! harnesses with deadlines.

#![warn(missing_docs)]

pub mod config;
pub mod connector;
pub mod convert;
pub mod data;
pub mod error;
pub mod plugin;
pub mod record;
pub mod stop;
pub mod sync;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod transform;

pub use config::{
    ConfigDef, ConfigKey, ConfigType, Importance, Key, ParsedConfig, Password, Validator, Width,
};
pub use connector::{
    Connector, ConnectorContext, ConnectorKind, ErrantRecordReporter, OffsetStorageReader,
    PluginDescriptor, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext, TopicPartition,
};
pub use convert::{ConvertError, Converter, HeaderConverter};
pub use data::{Decimal, Field, Schema, SchemaBuilder, SchemaType, Struct, Value};
pub use error::{BoxError, ConnectError, DataError};
pub use plugin::{
    ConverterFactory, HeaderConverterFactory, Plugin, PluginFactory, PluginType, PredicateFactory,
    TransformationFactory,
};
pub use record::{
    ConnectRecord, Header, Headers, OriginalPosition, RecordMetadata, SinkRecord, SourceRecord,
    TimestampType,
};
pub use stop::{StopSignal, Stopped};
pub use sync::lock;
pub use transform::{ExceptionKind, Predicate, StageRef, TransformError, Transformation};

/// Source partitions and offsets: maps of primitives, stored as JSON.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

/// A connector's or task's configuration, as Kafka Connect passes it: strings.
pub type Props = std::collections::BTreeMap<String, String>;
