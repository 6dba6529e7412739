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
//!
//! | Kafka Connect | here |
//! |---|---|
//! | `Connector`, `SourceConnector`, `SinkConnector` | [`Connector`] with a [`ConnectorKind`] |
//! | `SourceTask`, `SourceTaskContext`, `OffsetStorageReader` | [`SourceTask`], [`SourceTaskContext`], [`OffsetStorageReader`] |
//! | `SinkTask`, `SinkTaskContext`, `ErrantRecordReporter` | [`SinkTask`], [`SinkTaskContext`], [`ErrantRecordReporter`] |
//! | `SourceRecord`, `SinkRecord`, `ConnectRecord`, `Headers` | [`SourceRecord`], [`SinkRecord`], [`ConnectRecord`], [`Headers`] |
//! | `Schema`, `SchemaBuilder`, `Struct`, `Decimal`, `Date`, … | [`Schema`], [`SchemaBuilder`], [`Struct`], [`Value`] (logical types are variants) |
//! | `ConfigDef`, `AbstractConfig` | [`ConfigDef`] with typed [`Key`] constants, [`ParsedConfig`] |
//! | `Converter`, `HeaderConverter` | [`Converter`], [`HeaderConverter`] |
//! | `Transformation`, `Predicate` | [`Transformation`], [`Predicate`] |
//! | `ConnectException`, `RetriableException`, `DataException` | [`ConnectError`], [`DataError`] |
//! | `stop()` called from another thread to interrupt `poll()` | [`StopSignal`] in the task's context |
//! | the plugin path's class scanning | [`PluginDescriptor`] and [`Plugin`] |
//!
//! # A source connector and its test
//!
//! A counter: each of the configured counters is a source partition, and
//! each poll emits the next `per.poll` numbers of each into the configured
//! topic, every `interval.ms`. The connector spreads the counters over its
//! tasks; a task reads the committed offset of each of its counters when it
//! starts, so a restarted task carries on after the last number Kafka
//! acknowledged; and a poll waiting for the next interval returns at once
//! when the task is stopped.
//!
//! Each key is declared once, as a [`Key`] constant that names it and the
//! Rust type it is read as, and the connector and its tasks parse their
//! properties against the same definition. Besides `ferry-api`, the crate
//! depends on `async-trait` (the traits are async), `tokio` (for the timer)
//! and `serde_json` (offsets are JSON maps), and on `ferry-api` with the
//! `testkit` feature as a dev-dependency.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use async_trait::async_trait;
//! use ferry_api::config::{ConfigDef, Importance, Key, Validator};
//! use ferry_api::{
//!     ConnectError, Connector, ConnectorContext, ConnectorKind, OffsetMap, OffsetStorageReader,
//!     PluginDescriptor, Props, Schema, SourceRecord, SourceTask, SourceTaskContext, StopSignal,
//!     Value,
//! };
//! use serde_json::json;
//! use tokio::time::Instant;
//!
//! const TOPIC: Key<String> = Key::new("topic");
//! const COUNTERS: Key<Vec<String>> = Key::new("counters");
//! const PER_POLL: Key<i32> = Key::new("per.poll");
//! const INTERVAL_MS: Key<i64> = Key::new("interval.ms");
//!
//! fn config_def() -> ConfigDef {
//!     let mut d = ConfigDef::new();
//!     d.define_key(TOPIC)
//!         .validator(Validator::NonEmptyString)
//!         .importance(Importance::High)
//!         .doc("The topic to write the numbers to");
//!     d.define_key(COUNTERS)
//!         .default(vec!["counter".to_owned()])
//!         .doc("The counters, each counting from 0 on its own");
//!     d.define_key(PER_POLL)
//!         .default(10)
//!         .validator(Validator::at_least(1.0))
//!         .doc("Numbers of each counter per poll");
//!     d.define_key(INTERVAL_MS)
//!         .default(1000)
//!         .validator(Validator::at_least(0.0))
//!         .doc("Milliseconds between polls");
//!     d
//! }
//!
//! fn parse(props: &Props) -> Result<ferry_api::config::ParsedConfig, ConnectError> {
//!     config_def().parse(props).map_err(|e| ConnectError::config(e.message))
//! }
//!
//! #[derive(Default)]
//! pub struct CounterSourceConnector {
//!     props: Props,
//!     counters: Vec<String>,
//! }
//!
//! #[async_trait]
//! impl Connector for CounterSourceConnector {
//!     fn version(&self) -> String {
//!         env!("CARGO_PKG_VERSION").into()
//!     }
//!     fn config_def(&self) -> ConfigDef {
//!         config_def()
//!     }
//!     async fn start(
//!         &mut self,
//!         props: Props,
//!         _context: Arc<dyn ConnectorContext>,
//!     ) -> Result<(), ConnectError> {
//!         self.counters = parse(&props)?.get(COUNTERS);
//!         self.props = props;
//!         Ok(())
//!     }
//!     /// The counters dealt out over at most `max_tasks` tasks; each task's
//!     /// config is the connector's with its own share of the counters.
//!     fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
//!         let tasks = max_tasks.min(self.counters.len());
//!         Ok((0..tasks)
//!             .map(|t| {
//!                 let share: Vec<&str> =
//!                     self.counters.iter().skip(t).step_by(tasks).map(String::as_str).collect();
//!                 let mut config = self.props.clone();
//!                 config.insert(COUNTERS.name().to_owned(), share.join(","));
//!                 config
//!             })
//!             .collect())
//!     }
//!     async fn stop(&mut self) -> Result<(), ConnectError> {
//!         Ok(())
//!     }
//! }
//!
//! /// `poll` returns within this when idle: the runtime commits offsets and
//! /// handles pauses between polls.
//! const MAX_IDLE: Duration = Duration::from_secs(1);
//!
//! #[derive(Default)]
//! pub struct CounterSourceTask {
//!     topic: String,
//!     per_poll: i64,
//!     interval: Duration,
//!     /// Each counter's source partition and next number.
//!     counters: Vec<(Arc<OffsetMap>, i64)>,
//!     /// When the next batch is due; `None`: at once.
//!     next_due: Option<Instant>,
//!     stop: StopSignal,
//! }
//!
//! /// The number after the last one committed for `partition`, or 0.
//! fn resume_from(
//!     offsets: &dyn OffsetStorageReader,
//!     partition: &OffsetMap,
//! ) -> Result<i64, ConnectError> {
//!     match offsets.offset(partition) {
//!         None => Ok(0),
//!         Some(offset) => offset.get("next").and_then(|n| n.as_i64()).ok_or_else(|| {
//!             ConnectError::other(format!("Unexpected offset {offset:?} for {partition:?}"))
//!         }),
//!     }
//! }
//!
//! #[async_trait]
//! impl SourceTask for CounterSourceTask {
//!     async fn start(
//!         &mut self,
//!         props: Props,
//!         context: SourceTaskContext,
//!     ) -> Result<(), ConnectError> {
//!         let config = parse(&props)?;
//!         self.topic = config.get(TOPIC);
//!         self.per_poll = config.get(PER_POLL).into();
//!         // Never negative: the definition's validator refuses that.
//!         self.interval = Duration::from_millis(u64::try_from(config.get(INTERVAL_MS)).unwrap_or(0));
//!         for name in config.get(COUNTERS) {
//!             let partition: OffsetMap = [("counter".to_owned(), json!(name))].into_iter().collect();
//!             let next = resume_from(context.offset_storage_reader(), &partition)?;
//!             self.counters.push((Arc::new(partition), next));
//!         }
//!         // Kept for `poll`, which waits for it along with the next interval.
//!         self.stop = context.stop_signal().clone();
//!         Ok(())
//!     }
//!
//!     async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
//!         if let Some(due) = self.next_due {
//!             let wait = tokio::time::sleep_until(due.min(Instant::now() + MAX_IDLE));
//!             // Stopped, or still not due after the wait: nothing this time.
//!             if self.stop.unless_stopped(wait).await.is_none() || Instant::now() < due {
//!                 return Ok(Vec::new());
//!             }
//!         }
//!         self.next_due = Some(Instant::now() + self.interval);
//!         let mut records = Vec::new();
//!         for (partition, next) in &mut self.counters {
//!             for n in *next..*next + self.per_poll {
//!                 // The offset is the position after the record.
//!                 let offset: OffsetMap = [("next".to_owned(), json!(n + 1))].into_iter().collect();
//!                 records.push(SourceRecord::new(
//!                     partition.clone(),
//!                     offset,
//!                     self.topic.clone(),
//!                     Some(Schema::int64()),
//!                     Value::Int64(n),
//!                 ));
//!             }
//!             *next += self.per_poll;
//!         }
//!         Ok(records)
//!     }
//!
//!     /// The counters keep nothing in a system of their own to acknowledge.
//!     fn wants_commit_record(&self) -> bool {
//!         false
//!     }
//!
//!     async fn stop(&mut self) -> Result<(), ConnectError> {
//!         Ok(())
//!     }
//! }
//!
//! /// The crate's connectors, for a worker to register.
//! pub fn plugins() -> Vec<PluginDescriptor> {
//!     vec![PluginDescriptor {
//!         class: "com.example.CounterSourceConnector",
//!         aliases: &[],
//!         kind: ConnectorKind::Source,
//!         version: env!("CARGO_PKG_VERSION"),
//!         new_connector: || Box::new(CounterSourceConnector::default()),
//!         new_source_task: Some(|| Box::new(CounterSourceTask::default())),
//!         new_sink_task: None,
//!         local_file_keys: &[],
//!     }]
//! }
//!
//! // The unit test, with the `testkit` feature (a `#[tokio::test]` in the
//! // connector's crate).
//! use ferry_api::testkit::{self, HarnessError, SourceHarness};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The connector deals three counters out to two tasks.
//! let mut connector = CounterSourceConnector::default();
//! let props = testkit::props(&[
//!     ("topic", "numbers"),
//!     ("counters", "a, b, c"),
//!     ("per.poll", "2"),
//!     ("interval.ms", "0"),
//! ]);
//! testkit::start_connector(&mut connector, props).await?;
//! let configs = connector.task_configs(2)?;
//! assert_eq!(configs.len(), 2);
//! assert_eq!(configs[0]["counters"], "a,c");
//! assert_eq!(configs[1]["counters"], "b");
//!
//! // Task 1 counts "b", two numbers per poll.
//! let mut task = SourceHarness::new(CounterSourceTask::default());
//! task.start(configs[1].clone()).await?;
//! let records = task.poll_records(4, Duration::from_secs(5)).await?;
//! let numbers: Vec<&Value> = records.iter().map(|r| &r.value).collect();
//! assert_eq!(numbers, [&Value::Int64(0), &Value::Int64(1), &Value::Int64(2), &Value::Int64(3)]);
//! assert_eq!(records[0].topic, "numbers");
//! // Kafka acknowledges them and the runtime commits their offsets, ...
//! task.acknowledge(&records).await?;
//! task.commit_offsets().await?;
//! task.stop().await?;
//!
//! // ... so a task started again carries on after them.
//! let mut restarted =
//!     SourceHarness::with_offsets(CounterSourceTask::default(), task.offsets().clone());
//! restarted.start(configs[1].clone()).await?;
//! assert_eq!(restarted.poll().await?[0].value, Value::Int64(4));
//! restarted.stop().await?;
//!
//! // A poll waiting for the next interval returns at once when the task is
//! // stopped (without the stop, it would return after a second, which is
//! // past this harness's deadline).
//! let mut idle = SourceHarness::new(CounterSourceTask::default())
//!     .timeout(Duration::from_millis(300));
//! idle.start(testkit::props(&[("topic", "t"), ("interval.ms", "60000")])).await?;
//! assert_eq!(idle.poll().await?.len(), 10, "the first batch is due at once");
//! assert!(matches!(idle.poll().await, Err(HarnessError::Timeout { .. })));
//! idle.stop_signal().stop();
//! assert!(idle.poll().await?.is_empty());
//! idle.stop().await?;
//!
//! // What a worker registers.
//! let plugin = ferry_api::Plugin::connector(plugins().remove(0));
//! assert!(plugin.alias_candidates().contains(&"CounterSource".to_owned()));
//! # Ok(())
//! # }
//! ```
//!
//! # Registering a connector
//!
//! Kafka Connect finds connectors by scanning its plugin path for classes;
//! a Ferry worker is given them. A connector crate lists its connectors as
//! [`PluginDescriptor`]s, by convention from a `pub fn plugins() ->
//! Vec<PluginDescriptor>` as above (the file connectors' crate,
//! `connectors/file`, does the same). A worker build chains each crate's
//! `plugins()` into its registry (a custom worker passes them, each wrapped
//! in a [`Plugin`] by [`Plugin::connector`], to `ferry::Build::plugins`); the connector is then usable under its class
//! name and aliases (`CounterSourceConnector`, `CounterSource`) wherever a
//! configuration names a connector class. Converters, transformations and
//! predicates are registered as [`Plugin`]s directly ([`Plugin::converter`],
//! [`Plugin::transformation`], …). For loading a connector from a native
//! plugin library instead, see `docs/writing-a-connector.md` in the
//! repository, which also walks through sink connectors, errors and
//! retries, and testing.

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
