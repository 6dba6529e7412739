//! PostgreSQL change data capture, to be a drop-in for Debezium's Postgres
//! connector (`io.debezium.connector.postgresql.PostgresConnector`).
//!
//! The layers, bottom up:
//! - [`catalog`]: what the catalog says of a table that the stream does not.
//! - [`config`]: Debezium's configuration keys, defaults and checks.
//! - [`connector`]: the connector, under Debezium's class name, one task.
//! - [`events`]: change events: the envelope, the source block, keys and rows.
//! - [`pgoutput`]: the decoder of the messages PostgreSQL's built-in
//!   `pgoutput` plugin writes into a logical replication stream.
//! - [`pgtext`]: parsers of the text forms in which pgoutput sends values.
//! - [`snapshot`]: the snapshot phase: captured tables read as `r` events.
//! - [`stream`]: pgoutput messages in, change events with their offsets out.
//! - [`task`]: the source task: slot and publication, snapshot, streaming.
//! - [`values`]: column types and values as Debezium writes them.
//! - [`incremental`]: incremental snapshots and the signal table.
//! - [`kafka_signals`]: signals read from a Kafka topic.
//! - [`lsn`]: log sequence numbers, as PostgreSQL and Debezium write them.
//! - [`offsets`]: source offsets in Debezium's format.

pub mod catalog;
pub mod chunks;
pub mod config;
pub mod connector;
pub mod events;
pub mod file_signals;
pub mod incremental;
pub mod javaser;
pub mod kafka_signals;
pub mod lsn;
pub mod notifications;
pub mod offsets;
pub mod pgoutput;
pub mod pgtext;
pub mod snapshot;
pub mod stream;
pub mod task;
pub mod values;

use ferry_api::{ConnectorKind, PluginDescriptor};

pub use connector::PostgresCdcConnector;
pub use task::PostgresCdcTask;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Debezium's class name; `PostgresConnector` and `Postgres` are accepted
/// too.
pub const CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";

/// The connector plugin of this crate.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PluginDescriptor {
        class: CLASS,
        aliases: &[],
        kind: ConnectorKind::Source,
        version: VERSION,
        new_connector: || Box::new(PostgresCdcConnector::default()),
        new_source_task: Some(|| Box::new(PostgresCdcTask::default())),
        new_sink_task: None,
        local_file_keys: &[],
    }]
}
