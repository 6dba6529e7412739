//! Kafka Connect's single message transforms and predicates.
//!
//! Every transformation and predicate of Kafka Connect 4.3.1
//! (`org.apache.kafka.connect.transforms.*`), with the same class names,
//! configuration keys, defaults, validation and error messages, working on
//! records with and without schemas; and the chain that Kafka Connect builds
//! from a connector's `transforms` / `predicates` settings.
//!
//! How the runtime uses it:
//!
//! ```
//! use ferry_api::{Props, SourceRecord, Value};
//! use ferry_transforms::TransformationChain;
//!
//! let props: Props = [
//!     ("transforms", "route"),
//!     ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
//!     ("transforms.route.regex", "(.*)"),
//!     ("transforms.route.replacement", "copy-$1"),
//! ]
//! .into_iter()
//! .map(|(k, v)| (k.to_owned(), v.to_owned()))
//! .collect();
//!
//! // Refuse invalid configs before creating the connector.
//! assert!(ferry_transforms::validate(&props).iter().all(|v| v.errors.is_empty()));
//!
//! // One chain per task; records go through by value.
//! let mut chain = TransformationChain::<SourceRecord>::from_connector_config(&props).unwrap();
//! let record = SourceRecord { topic: "orders".into(), value: Value::from("x"), ..Default::default() };
//! let out = chain.apply(record).unwrap().expect("not filtered");
//! assert_eq!(out.topic, "copy-orders");
//! ```
//!
//! A sink task builds a `TransformationChain::<SinkRecord>` the same way and
//! runs each converted record through it before `put`. A failure
//! ([`TransformError`]) carries the Java exception class and message a Kafka
//! Connect worker would report, and the alias and class of the stage (for
//! the `TRANSFORMATION` stage of error handling and the dead letter queue
//! context headers). [`validation`] adds key definitions to [`validate`]'s
//! results, for `/config/validate`; [`plugins`] and [`config_def_for`] serve
//! `/connector-plugins`.

pub mod chain;
mod config;
pub mod error;
pub mod predicates;
pub mod record;
pub mod registry;
pub mod transforms;
mod util;

use ferry_api::{ConfigDef, Props};

pub use chain::{validate, validation, TransformationChain, Validation};
pub use error::{ChainError, ConfigError, ExceptionKind, StageRef, TransformError};
pub use record::{ConnectRecord, Side};
pub use registry::{
    config_def_for, new_predicate, new_transformation, plugins, resolve_class, PluginInfo,
    PluginKind, KAFKA_VERSION,
};

/// Kafka Connect's `Transformation<R>`: rewrites, or drops, one record.
pub trait Transformation<R: ConnectRecord>: Send {
    /// Parses and checks the settings (the keys under
    /// `transforms.<alias>.`, prefix stripped).
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;

    /// The configuration keys, for `/connector-plugins/{p}/config`.
    fn config_def(&self) -> ConfigDef;

    /// Transforms `record`; `None` drops it from the rest of the chain.
    fn apply(&mut self, record: R) -> Result<Option<R>, TransformError>;

    /// Releases resources; the transform is not used afterwards.
    fn close(&mut self) {}
}

/// Kafka Connect's `Predicate<R>`: decides whether a transform applies.
pub trait Predicate<R: ConnectRecord>: Send {
    /// Parses and checks the settings (the keys under
    /// `predicates.<alias>.`, prefix stripped).
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;

    /// The configuration keys, for `/connector-plugins/{p}/config`.
    fn config_def(&self) -> ConfigDef;

    fn test(&self, record: &R) -> bool;

    fn close(&mut self) {}
}
