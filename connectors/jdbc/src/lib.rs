//! JDBC-style source and sink connectors on sqlx for PostgreSQL,
//! MariaDB / MySQL and SQLite, configured with the keys of Confluent's
//! `kafka-connect-jdbc` and accepted under its class names.

pub mod config;
pub mod db;
pub mod dialect;
pub mod error;
pub mod sink;
pub mod source;
pub mod types;
pub mod url;

#[cfg(test)]
mod task_tests;

use ferry_api::{ConnectorKind, PluginDescriptor};

pub use sink::{JdbcSinkConnector, JdbcSinkTask};
pub use source::{JdbcSourceConnector, JdbcSourceTask};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub const SOURCE_CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
pub const SINK_CLASS: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";

/// The connector plugins of this crate; `JdbcSourceConnector`,
/// `JdbcSource`, `JdbcSinkConnector` and `JdbcSink` are accepted too.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![
        PluginDescriptor {
            class: SOURCE_CLASS,
            aliases: &[],
            kind: ConnectorKind::Source,
            version: VERSION,
            new_connector: || Box::new(JdbcSourceConnector::default()),
            new_source_task: Some(|| Box::new(JdbcSourceTask::default())),
            new_sink_task: None,
            local_file_keys: &[],
        },
        PluginDescriptor {
            class: SINK_CLASS,
            aliases: &[],
            kind: ConnectorKind::Sink,
            version: VERSION,
            new_connector: || Box::new(JdbcSinkConnector::default()),
            new_source_task: None,
            new_sink_task: Some(|| Box::new(JdbcSinkTask::default())),
            local_file_keys: &[],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_under_confluent_names() {
        let p = plugins();
        for name in [SOURCE_CLASS, "JdbcSourceConnector", "JdbcSource"] {
            assert!(p[0].matches(name), "{name}");
        }
        for name in [SINK_CLASS, "JdbcSinkConnector", "JdbcSink"] {
            assert!(p[1].matches(name), "{name}");
        }
    }
}
