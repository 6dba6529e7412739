//! Kafka → S3, a drop-in for Confluent's S3 sink
//! (`io.confluent.connect.s3.S3SinkConnector`): its keys, object names,
//! formats and exactly-once file layout; and S3 → Kafka, a source that
//! replays a bucket the sink wrote (`io.confluent.connect.s3.source.S3SourceConnector`).
//!
//! The layers, bottom up:
//! - [`config`]: Confluent's keys, defaults and cross-key checks.
//! - [`storage`]: the S3 client, and objects streamed up in parts.
//! - [`buffer`]: open files' bytes, in memory within the worker-wide
//!   budget and on disk beyond it.
//! - [`joda`]: Joda-Time patterns, the syntax of `path.format`.
//! - [`partitioner`]: the directory a record goes under, and the
//!   timestamp extractors of the time-based partitioners.
//! - [`format`]: records in a file's format (JSON lines, raw bytes, Avro).
//! - [`parquet`]: Parquet files, through Arrow batches.
//! - [`writer`]: one Kafka partition's open files, rotations and commits.
//! - [`sink`]: the sink connector and its task.
//! - [`source`]: the source that replays what the sink wrote.

pub mod buffer;
pub mod config;
pub mod error;
pub mod format;
pub mod gzip;
pub mod joda;
pub mod parquet;
pub mod partitioner;
pub mod sink;
pub mod source;
pub mod storage;
pub mod writer;

use ferry_api::{ConnectorKind, PluginDescriptor};

pub use sink::{S3SinkConnector, S3SinkTask};
pub use source::{S3SourceConnector, S3SourceTask};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Confluent's class name; `S3SinkConnector` and `S3Sink` are accepted too.
pub const SINK_CLASS: &str = "io.confluent.connect.s3.S3SinkConnector";

/// The class name of Confluent's S3 source; `S3SourceConnector` and
/// `S3Source` are accepted too.
pub const SOURCE_CLASS: &str = "io.confluent.connect.s3.source.S3SourceConnector";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![
        PluginDescriptor {
            class: SINK_CLASS,
            aliases: &[],
            kind: ConnectorKind::Sink,
            version: VERSION,
            new_connector: || Box::new(S3SinkConnector::default()),
            new_source_task: None,
            new_sink_task: Some(|| Box::new(S3SinkTask::default())),
            local_file_keys: &[],
        },
        PluginDescriptor {
            class: SOURCE_CLASS,
            aliases: &[],
            kind: ConnectorKind::Source,
            version: VERSION,
            new_connector: || Box::new(S3SourceConnector::default()),
            new_source_task: Some(|| Box::new(S3SourceTask::default())),
            new_sink_task: None,
            local_file_keys: &[],
        },
    ]
}
