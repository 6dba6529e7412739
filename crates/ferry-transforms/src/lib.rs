//! Kafka Connect's single message transforms and predicates.
//!
//! Every transformation and predicate of Kafka Connect 4.3.1
//! (`org.apache.kafka.connect.transforms.*`), with the same class names,
//! configuration keys, defaults, validation and error messages, working on
//! records with and without schemas, implementing `ferry_api`'s
//! `Transformation` and `Predicate`; [`plugins`] describes them to the
//! worker's plugin registry. And the chain that Kafka Connect builds from a
//! connector's `transforms` / `predicates` settings, which finds each class
//! through [`TransformPlugins`] (the registry), so a transformation or
//! predicate registered by anyone works in a chain as the built-in ones do.
//!
//! How the runtime uses it:
//!
//! ```
//! use ferry_api::{Props, SourceRecord, Value};
//! use ferry_transforms::{TransformPlugins, TransformationChain};
//!
//! fn route(plugins: &dyn TransformPlugins) {
//!     let props: Props = [
//!         ("transforms", "route"),
//!         ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
//!         ("transforms.route.regex", "(.*)"),
//!         ("transforms.route.replacement", "copy-$1"),
//!     ]
//!     .into_iter()
//!     .map(|(k, v)| (k.to_owned(), v.to_owned()))
//!     .collect();
//!
//!     // Refuse invalid configs before creating the connector.
//!     let validation = ferry_transforms::validation(plugins, &props);
//!     assert_eq!(validation.error_count(), 0);
//!
//!     // One chain per task; records go through by value.
//!     let mut chain =
//!         TransformationChain::<SourceRecord>::from_connector_config(plugins, &props).unwrap();
//!     let record = SourceRecord { topic: "orders".into(), value: Value::from("x"), ..Default::default() };
//!     let out = chain.apply(record).unwrap().expect("not filtered");
//!     assert_eq!(out.topic, "copy-orders");
//! }
//! ```
//!
//! A sink task builds a `TransformationChain::<SinkRecord>` the same way and
//! runs each converted record through it before `put`. A failure
//! (`ferry_api::TransformError`) carries the Java exception class and
//! message a Kafka Connect worker would report, and the alias and class of
//! the stage (for the `TRANSFORMATION` stage of error handling and the dead
//! letter queue context headers). [`validation`] adds key definitions to
//! [`validate`]'s results, for `/config/validate`.

pub mod chain;
mod config;
pub mod error;
mod plugins;
pub mod predicates;
pub mod record;
pub mod transforms;
mod util;

use ferry_api::{Predicate, Transformation};

pub use chain::{
    validate, validation, TransformPlugin, TransformPlugins, TransformationChain, Validation,
};
pub use error::ChainError;
pub use plugins::{plugins, KAFKA_VERSION};
pub use record::Side;
