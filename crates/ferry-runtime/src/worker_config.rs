//! Worker properties: Kafka Connect's keys, their defaults and validation,
//! and the client properties derived from them.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_api::config::{
    originals_with_prefix, ConfigDef, ConfigError, ConfigType, Importance, ParsedConfig, Validator,
};

use crate::Props;

pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const OFFSET_FILE: &str = "offset.storage.file.filename";
pub const OFFSET_FLUSH_INTERVAL: &str = "offset.flush.interval.ms";
pub const OFFSET_FLUSH_TIMEOUT: &str = "offset.flush.timeout.ms";
pub const SHUTDOWN_TIMEOUT: &str = "task.shutdown.graceful.timeout.ms";
pub const LISTENERS: &str = "listeners";
pub const ADVERTISED_HOST: &str = "rest.advertised.host.name";
pub const ADVERTISED_PORT: &str = "rest.advertised.port";
pub const ADVERTISED_LISTENER: &str = "rest.advertised.listener";
pub const TOPIC_TRACKING: &str = "topic.tracking.enable";
pub const TOPIC_TRACKING_RESET: &str = "topic.tracking.allow.reset";
pub const TOPIC_CREATION: &str = "topic.creation.enable";
pub const OVERRIDE_POLICY: &str = "connector.client.config.override.policy";
pub const PLUGIN_PATH: &str = "plugin.path";

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// The worker keys Ferry knows, with Kafka Connect's defaults. Keys not
/// listed (client settings, converter settings) pass through untouched.
pub fn worker_config_def(standalone: bool) -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(BOOTSTRAP_SERVERS, ConfigType::List)
        .default_str("localhost:9092")
        .importance(Importance::High)
        .doc("Kafka brokers to connect to, host:port, comma separated.");
    d.define(KEY_CONVERTER, ConfigType::Class)
        .default_str(JSON_CONVERTER)
        .importance(Importance::High)
        .doc("Converter for record keys.");
    d.define(VALUE_CONVERTER, ConfigType::Class)
        .default_str(JSON_CONVERTER)
        .importance(Importance::High)
        .doc("Converter for record values.");
    d.define(HEADER_CONVERTER, ConfigType::Class)
        .default_str(SIMPLE_HEADER_CONVERTER)
        .validator(Validator::Custom(crate::headers::validate_class))
        .importance(Importance::Low)
        .doc("Converter for record headers.");
    if standalone {
        d.define(OFFSET_FILE, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .doc("File in which source connector offsets are stored.");
    }
    d.define(OFFSET_FLUSH_INTERVAL, ConfigType::Long)
        .default_str("60000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("Interval at which to commit offsets of tasks.");
    d.define(OFFSET_FLUSH_TIMEOUT, ConfigType::Long)
        .default_str("5000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("Longest wait for records to be flushed and offsets committed before giving up on a commit.");
    d.define(SHUTDOWN_TIMEOUT, ConfigType::Long)
        .default_str("5000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("How long to wait for tasks to stop gracefully.");
    d.define(LISTENERS, ConfigType::List)
        .default_str("http://:8083")
        .importance(Importance::Low)
        .doc("Listeners of the REST API, e.g. http://127.0.0.1:8083.");
    d.define(ADVERTISED_HOST, ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("Host name given to other workers and shown as worker_id.");
    d.define(ADVERTISED_PORT, ConfigType::Int)
        .default_null()
        .importance(Importance::Low)
        .doc("Port given to other workers and shown as worker_id.");
    d.define(ADVERTISED_LISTENER, ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("Scheme given to other workers.");
    d.define(TOPIC_TRACKING, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("Track the topics each connector uses.");
    d.define(TOPIC_TRACKING_RESET, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("Allow resetting a connector's tracked topics.");
    d.define(TOPIC_CREATION, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("Let source connectors create the topics they write to, per their topic.creation.* settings.");
    d.define(OVERRIDE_POLICY, ConfigType::String)
        .default_str("All")
        .validator(Validator::OneOf(vec!["All", "None", "Principal"]))
        .importance(Importance::Medium)
        .doc("Which producer.override.*, consumer.override.* and admin.override.* settings connectors may use.");
    if !standalone {
        define_distributed(&mut d);
    }
    d.define(PLUGIN_PATH, ConfigType::List)
        .default_null()
        .importance(Importance::Low)
        .doc("Directories with connector plugins. Ferry does not load plugins yet and runs its built-in connectors only; a non-empty value is logged as ignored.");
    d
}

pub const GROUP_ID: &str = "group.id";
pub const CONFIG_TOPIC: &str = "config.storage.topic";
pub const OFFSETS_TOPIC: &str = "offset.storage.topic";
pub const STATUS_TOPIC: &str = "status.storage.topic";

/// The keys of a distributed worker (`DistributedConfig`).
fn define_distributed(d: &mut ConfigDef) {
    d.define(GROUP_ID, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("A unique string that identifies the Connect cluster group this worker belongs to.");
    for (topic, what, partitions) in [
        (CONFIG_TOPIC, "connector configurations", None),
        (OFFSETS_TOPIC, "source connector offsets", Some("25")),
        (STATUS_TOPIC, "connector and task statuses", Some("5")),
    ] {
        d.define(topic, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .doc(&format!(
                "The name of the Kafka topic where {what} are stored."
            ));
        let base = topic.trim_end_matches(".topic");
        d.define(&format!("{base}.replication.factor"), ConfigType::Short)
            .default_str("3")
            .importance(Importance::Low)
            .doc("Replication factor used when creating the topic; -1 for the broker default.");
        if let Some(p) = partitions {
            d.define(&format!("{base}.partitions"), ConfigType::Int)
                .default_str(p)
                .importance(Importance::Low)
                .doc("The number of partitions used when creating the topic; -1 for the broker default.");
        }
    }
    for (key, default, doc) in [
        ("session.timeout.ms", "10000", "The timeout used to detect worker failures."),
        ("heartbeat.interval.ms", "3000", "The expected time between heartbeats to the group coordinator."),
        ("rebalance.timeout.ms", "60000", "The maximum allowed time for each worker to join the group once a rebalance has begun."),
        ("scheduled.rebalance.max.delay.ms", "300000", "How long the leader waits for a departed worker to return before reassigning its connectors and tasks."),
        ("worker.sync.timeout.ms", "3000", "How long a worker waits to catch up with the leader's config before rejoining."),
        ("worker.unsync.backoff.ms", "300000", "How long a worker that cannot catch up waits before rejoining."),
        ("inter.worker.key.ttl.ms", "3600000", "The time to live of the key that signs internal requests."),
    ] {
        d.define(key, ConfigType::Int)
            .default_str(default)
            .validator(Validator::at_least(0.0))
            .importance(Importance::Low)
            .doc(doc);
    }
    d.define("connect.protocol", ConfigType::String)
        .default_str("sessioned")
        .validator(Validator::OneOf(vec!["eager", "compatible", "sessioned"]))
        .importance(Importance::Low)
        .doc("Compatibility mode for the worker group protocol.");
    d.define("inter.worker.key.generation.algorithm", ConfigType::String)
        .default_str("HmacSHA256")
        .validator(Validator::OneOf(vec!["HmacSHA256"]))
        .importance(Importance::Low)
        .doc("The algorithm that generates the keys signing internal requests.");
    d.define("inter.worker.signature.algorithm", ConfigType::String)
        .default_str("HmacSHA256")
        .validator(Validator::OneOf(vec!["HmacSHA256"]))
        .importance(Importance::Low)
        .doc("The algorithm that signs internal requests.");
    d.define("inter.worker.verification.algorithms", ConfigType::List)
        .default_str("HmacSHA256")
        .importance(Importance::Low)
        .doc("The algorithms accepted on internal requests.");
    d.define("exactly.once.source.support", ConfigType::String)
        .default_str("disabled")
        .validator(Validator::OneOf(vec!["disabled"]))
        .importance(Importance::High)
        .doc("Exactly-once source support; Ferry supports `disabled`.");
}

/// Parsed worker properties.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    parsed: ParsedConfig,
}

impl WorkerConfig {
    /// Parses and validates worker properties. A non-empty `plugin.path`
    /// is logged as ignored.
    pub fn new(props: Props, standalone: bool) -> Result<Self, ConfigError> {
        let parsed = worker_config_def(standalone).parse(&props)?;
        let config = WorkerConfig { parsed };
        if let Some(warning) = config.plugin_path_warning() {
            tracing::warn!("{warning}");
        }
        Ok(config)
    }

    /// The directories listed in `plugin.path`.
    pub fn plugin_path(&self) -> Vec<String> {
        self.parsed
            .list(PLUGIN_PATH)
            .iter()
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// What a worker with a non-empty `plugin.path` warns about: Ferry loads
    /// no plugins from it.
    pub fn plugin_path_warning(&self) -> Option<String> {
        let dirs = self.plugin_path();
        (!dirs.is_empty()).then(|| {
            format!(
                "plugin.path is ignored: native connector plugins are not loaded yet, \
                 Ferry runs its built-in connectors only (not scanned: {})",
                dirs.join(", ")
            )
        })
    }

    pub fn props(&self) -> &Props {
        self.parsed.originals()
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parsed.string(key)
    }
    pub fn bootstrap_servers(&self) -> String {
        self.parsed.list(BOOTSTRAP_SERVERS).join(",")
    }
    pub fn offset_file(&self) -> Option<&str> {
        self.parsed.string(OFFSET_FILE)
    }
    pub fn offset_flush_interval(&self) -> Duration {
        Duration::from_millis(
            self.parsed
                .long(OFFSET_FLUSH_INTERVAL)
                .unwrap_or(60_000)
                .max(0) as u64,
        )
    }
    pub fn offset_flush_timeout(&self) -> Duration {
        Duration::from_millis(
            self.parsed
                .long(OFFSET_FLUSH_TIMEOUT)
                .unwrap_or(5_000)
                .max(0) as u64,
        )
    }
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.parsed.long(SHUTDOWN_TIMEOUT).unwrap_or(5_000).max(0) as u64)
    }
    pub fn listeners(&self) -> String {
        self.parsed.list(LISTENERS).join(",")
    }
    pub fn topic_tracking(&self) -> bool {
        self.parsed.boolean(TOPIC_TRACKING).unwrap_or(true)
    }
    pub fn topic_tracking_reset(&self) -> bool {
        self.parsed.boolean(TOPIC_TRACKING_RESET).unwrap_or(true)
    }
    pub fn advertised_host(&self) -> Option<&str> {
        self.parsed.string(ADVERTISED_HOST)
    }
    pub fn advertised_port(&self) -> Option<u16> {
        self.parsed
            .int(ADVERTISED_PORT)
            .and_then(|p| u16::try_from(p).ok())
    }
    /// An integer setting with a default (distributed keys).
    pub fn int_or(&self, key: &str, default: i64) -> i64 {
        self.parsed
            .int(key)
            .map(i64::from)
            .or_else(|| self.parsed.long(key))
            .unwrap_or(default)
    }
    pub fn list(&self, key: &str) -> Vec<String> {
        self.parsed.list(key).to_vec()
    }
    pub fn topic_creation(&self) -> bool {
        self.parsed.boolean(TOPIC_CREATION).unwrap_or(true)
    }
    /// Whether connectors may override client settings.
    pub fn allows_client_overrides(&self) -> bool {
        self.parsed.string(OVERRIDE_POLICY) != Some("None")
    }

    /// The converter class and its settings for `role_prefix` (`key.converter`
    /// …): the connector's choice if it names a class, else the worker's.
    pub fn converter_for(&self, role_prefix: &str, connector: &Props) -> (String, Props) {
        let prefix = format!("{role_prefix}.");
        match connector.get(role_prefix) {
            Some(class) => (
                class.trim().to_owned(),
                originals_with_prefix(connector, &prefix),
            ),
            None => (
                self.parsed
                    .string(role_prefix)
                    .unwrap_or(JSON_CONVERTER)
                    .to_owned(),
                originals_with_prefix(self.props(), &prefix),
            ),
        }
    }

    /// Client properties for a connector's clients: bootstrap servers, the
    /// worker's `<kind>.*` settings, then the connector's `<kind>.override.*`.
    pub fn client_props(
        &self,
        kind: &str,
        connector: &Props,
        defaults: BTreeMap<String, String>,
    ) -> Props {
        let mut props = defaults;
        props.insert(BOOTSTRAP_SERVERS.into(), self.bootstrap_servers());
        props.extend(originals_with_prefix(self.props(), &format!("{kind}.")));
        if self.allows_client_overrides() {
            props.extend(originals_with_prefix(
                connector,
                &format!("{kind}.override."),
            ));
        }
        props
    }

    /// Properties for the worker's own admin client.
    pub fn admin_props(&self) -> Props {
        let mut props = Props::new();
        props.insert(BOOTSTRAP_SERVERS.into(), self.bootstrap_servers());
        for (k, v) in self.props() {
            if k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl.") {
                props.insert(k.clone(), v.clone());
            }
        }
        props.extend(originals_with_prefix(self.props(), "admin."));
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut props: Props = [("offset.storage.file.filename", "/tmp/offsets")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        props.insert(BOOTSTRAP_SERVERS.into(), "localhost:9092".into());
        WorkerConfig::new(props, true).expect("valid worker properties")
    }

    #[test]
    fn plugin_path_is_reported_as_ignored() {
        assert!(config(&[]).plugin_path_warning().is_none());
        assert!(config(&[(PLUGIN_PATH, "")]).plugin_path_warning().is_none());

        let c = config(&[(PLUGIN_PATH, "/opt/connectors, /usr/share/java")]);
        assert_eq!(c.plugin_path(), vec!["/opt/connectors", "/usr/share/java"]);
        let warning = c.plugin_path_warning().expect("a warning");
        assert!(
            warning.contains("/opt/connectors, /usr/share/java"),
            "{warning}"
        );
        assert!(warning.contains("not loaded"), "{warning}");
        assert!(warning.contains("built-in connectors only"), "{warning}");
    }
}
