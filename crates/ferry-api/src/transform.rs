//! Single message transforms: Kafka Connect's `Transformation` and
//! `Predicate`, and the error a transformation reports.
//!
//! A worker builds the transformations a connector names in `transforms`
//! (and the predicates in `predicates`) through their factories, one per
//! task, then calls `configure` with the settings under
//! `transforms.<alias>.` (or `predicates.<alias>.`), prefix stripped.
//! A plugin implements the trait for both [`SourceRecord`] and
//! [`SinkRecord`] (usually generically, for every [`ConnectRecord`]), as a
//! Kafka Connect transformation class serves source and sink connectors
//! alike.
//!
//! [`SourceRecord`]: crate::SourceRecord
//! [`SinkRecord`]: crate::SinkRecord
#![warn(missing_docs)]

use std::fmt;

use crate::config::{ConfigDef, ConfigError};
use crate::record::ConnectRecord;
use crate::Props;

/// Kafka Connect's `Transformation<R>`: rewrites, or drops, one record.
pub trait Transformation<R: ConnectRecord>: Send {
    /// `configure(configs)`: parses and checks the settings (the keys under
    /// `transforms.<alias>.`, prefix stripped). Called once, before `apply`.
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;

    /// `config()`: the configuration keys, for
    /// `/connector-plugins/{plugin}/config` and for validating a
    /// connector's `transforms.<alias>.*` settings.
    fn config_def(&self) -> ConfigDef;

    /// `apply(record)`: the transformed record; `None` drops it from the
    /// rest of the chain.
    fn apply(&mut self, record: R) -> Result<Option<R>, TransformError>;

    /// `apply` for each record of a batch: one result per record, in order.
    /// The worker calls this; the default calls `apply` record by record.
    /// A transformation for which a call costs more than a record does
    /// (a plugin library's, which crosses the library boundary) makes one
    /// call per batch.
    fn apply_batch(&mut self, records: Vec<R>) -> Vec<Result<Option<R>, TransformError>> {
        records.into_iter().map(|r| self.apply(r)).collect()
    }

    /// Whether a call costs so much more than a record (as a plugin
    /// library's does) that the worker should gather records for
    /// [`apply_batch`](Self::apply_batch) even where that costs it a copy
    /// of each. `false` by default.
    fn prefers_batches(&self) -> bool {
        false
    }

    /// Releases resources; the transformation is not used afterwards.
    fn close(&mut self) {}
}

/// Kafka Connect's `Predicate<R>`: decides whether a transformation applies
/// to a record.
pub trait Predicate<R: ConnectRecord>: Send {
    /// `configure(configs)`: parses and checks the settings (the keys under
    /// `predicates.<alias>.`, prefix stripped). Called once, before `test`.
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError>;

    /// `config()`: the configuration keys, for
    /// `/connector-plugins/{plugin}/config` and for validating a
    /// connector's `predicates.<alias>.*` settings.
    fn config_def(&self) -> ConfigDef;

    /// `test(record)`: whether the record matches.
    fn test(&self, record: &R) -> bool;

    /// `test` for each record of a batch: one answer per record, in order.
    /// The worker calls this; the default calls `test` record by record
    /// (see [`Transformation::apply_batch`]).
    fn test_batch(&self, records: &[&R]) -> Vec<bool> {
        records.iter().map(|r| self.test(r)).collect()
    }

    /// As [`Transformation::prefers_batches`]. `false` by default.
    fn prefers_batches(&self) -> bool {
        false
    }

    /// Releases resources; the predicate is not used afterwards.
    fn close(&mut self) {}
}

/// The Java exception a Kafka Connect transformation throws for a failure.
///
/// Kafka Connect reports a failed transformation through that exception:
/// its class goes into the dead letter queue headers
/// (`__connect.errors.exception.class.name`), its message into the task's
/// trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    /// `org.apache.kafka.connect.errors.DataException`: the record does not
    /// fit what the transformation needs.
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
    /// `java.lang.NullPointerException`, which a few transformations throw
    /// on inputs they do not expect (HeaderFrom with a missing field).
    NullPointer,
    /// `org.apache.kafka.connect.errors.RetriableException`: a
    /// transformation that depends on something outside the record (a
    /// lookup) may succeed when tried again; the runtime retries the chain
    /// per `errors.retry.timeout`.
    Retriable,
}

impl ExceptionKind {
    /// The Java exception's class name.
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

/// Which stage of a transformation chain failed, for messages and the dead
/// letter queue context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRef {
    /// The alias in `transforms`.
    pub alias: String,
    /// The transformation's class name.
    pub class: String,
}

/// A transformation failed on a record: the Java exception Kafka Connect
/// would report and its message, and, once the error has left a chain, the
/// stage that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformError {
    kind: ExceptionKind,
    message: String,
    stage: Option<StageRef>,
}

impl TransformError {
    /// A failure reported as a `kind` exception with `message`.
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

    /// The exception Kafka Connect would report.
    pub fn kind(&self) -> ExceptionKind {
        self.kind
    }

    /// The Java exception class Kafka Connect reports for this failure.
    pub fn exception_class(&self) -> &'static str {
        self.kind.java_class()
    }

    /// The exception message, as Kafka Connect's transformation words it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The chain stage that failed, when the error came through a chain.
    pub fn stage(&self) -> Option<&StageRef> {
        self.stage.as_ref()
    }

    /// The same failure, attributed to the chain stage `alias` of class
    /// `class` (what a chain does with its stages' errors).
    pub fn at_stage(mut self, alias: &str, class: &str) -> Self {
        self.stage = Some(StageRef {
            alias: alias.to_owned(),
            class: class.to_owned(),
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
