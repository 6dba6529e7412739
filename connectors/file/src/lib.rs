//! Kafka Connect's FileStream connectors: lines of a file (or standard
//! input) into a topic, and records of topics into lines of a file (or
//! standard output). Same config keys and offsets as Kafka Connect's, so a
//! `connect-standalone` offsets file carries over.

mod sink;
mod source;

use ferry_api::{ConnectorKind, PluginDescriptor};

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The keys naming a file the connectors read or write; confined to
/// `file.connectors.allowed.paths` when the worker sets it.
const SOURCE_FILE_KEYS: &[&str] = &[source::FILE.name()];
const SINK_FILE_KEYS: &[&str] = &[sink::FILE.name()];

/// The connector plugins of this crate.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![
        PluginDescriptor {
            class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
            aliases: &[],
            kind: ConnectorKind::Source,
            version: VERSION,
            new_connector: || Box::new(FileStreamSourceConnector::default()),
            new_source_task: Some(|| Box::new(FileStreamSourceTask::default())),
            new_sink_task: None,
            local_file_keys: SOURCE_FILE_KEYS,
        },
        PluginDescriptor {
            class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
            aliases: &[],
            kind: ConnectorKind::Sink,
            version: VERSION,
            new_connector: || Box::new(FileStreamSinkConnector::default()),
            new_source_task: None,
            new_sink_task: Some(|| Box::new(FileStreamSinkTask::default())),
            local_file_keys: SINK_FILE_KEYS,
        },
    ]
}
