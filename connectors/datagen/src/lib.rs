//! A data generator source connector, configured with the keys of
//! Confluent's `kafka-connect-datagen` (`kafka.topic`, `quickstart`,
//! `max.interval`, `iterations`, `schema.keyfield`, ...).
//!
//! Records are deterministic: the same `random.seed` and task number always
//! produce the same records, and record `i` of a task can be generated on its
//! own, so a restarted task continues from its committed offset with exactly
//! the records it would have produced without the restart.

mod config;
mod generator;
mod rng;
mod source;

use ferry_api::{ConnectorKind, PluginDescriptor};

pub use config::{DatagenConfig, FieldType, Quickstart, SchemaSpec};
pub use generator::Generator;
pub use rng::Rng;
pub use source::{DatagenConnector, DatagenSourceTask};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Kafka Connect class name; `DatagenConnector` and `Datagen` are
/// accepted too (simple class name, with and without `Connector`).
pub const CLASS: &str = "io.confluent.kafka.connect.datagen.DatagenConnector";

/// The connector plugins of this crate.
pub fn plugins() -> Vec<PluginDescriptor> {
    vec![PluginDescriptor {
        class: CLASS,
        aliases: &[],
        kind: ConnectorKind::Source,
        version: VERSION,
        new_connector: || Box::new(DatagenConnector::default()),
        new_source_task: Some(|| Box::new(DatagenSourceTask::default())),
        new_sink_task: None,
        local_file_keys: &[],
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_under_class_name_and_short_names() {
        let p = &plugins()[0];
        for name in [CLASS, "DatagenConnector", "Datagen"] {
            assert!(p.matches(name), "{name}");
        }
        assert!(!p.matches("FileStreamSource"));
    }
}
