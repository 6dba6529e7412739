//! The framework's connector keys (Kafka Connect's `ConnectorConfig`,
//! `SinkConnectorConfig`, `SourceConnectorConfig`) and validation of a whole
//! connector config: framework keys first, then the connector's own.

use ferry_api::config::{
    ConfigDef, ConfigError, ConfigInfos, ConfigType, ConfigValue, Importance, ValidatedValue,
    Validator, Width,
};
use ferry_api::{ConnectorKind, PluginDescriptor};

use crate::plugins::Plugins;
use crate::worker_config::HEADER_CONVERTER;
use crate::Props;

pub const NAME: &str = "name";
/// The longest connector name a create accepts. A name must fit the worker
/// group protocol (32,767 bytes), consumer group and client ids, and a URL
/// even when fully percent-encoded within the 8 KiB request line that
/// proxies commonly allow; names taken over from an existing config topic
/// are not held to it.
pub const MAX_NAME_BYTES: usize = 2048;
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";
pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";

const COMMON: &str = "Common";
const TRANSFORMS: &str = "Transforms";
const PREDICATES: &str = "Predicates";
const ERRORS: &str = "Error Handling";

/// Keys every connector has.
pub fn common_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(NAME, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("Globally unique name to use for this connector.")
        .group(COMMON)
        .width(Width::Medium)
        .display_name("Connector name");
    d.define(CONNECTOR_CLASS, ConfigType::String)
        .importance(Importance::High)
        .doc("Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector. If the connector is org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this full name, or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the configuration a bit shorter")
        .group(COMMON)
        .width(Width::Long)
        .display_name("Connector class");
    d.define(TASKS_MAX, ConfigType::Int)
        .default_str("1")
        .validator(Validator::at_least(1.0))
        .importance(Importance::High)
        .doc("Maximum number of tasks to use for this connector.")
        .group(COMMON)
        .width(Width::Short)
        .display_name("Tasks max");
    d.define("tasks.max.enforce", ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.")
        .group(COMMON)
        .width(Width::Short)
        .display_name("Enforce tasks max");
    // `header.converter` names a registered class: checked with the plugin
    // registry by `validate_connector_config`.
    for (key, display) in [
        ("key.converter", "Key converter class"),
        ("value.converter", "Value converter class"),
        ("header.converter", "Header converter class"),
    ] {
        d.define(key, ConfigType::Class)
            .default_null()
            .importance(Importance::Low)
            .doc("Converter class used by this connector; the worker's when unset.")
            .group(COMMON)
            .width(Width::Short)
            .display_name(display);
    }
    d.define("config.action.reload", ConfigType::String)
        .default_str("restart")
        .validator(Validator::OneOfIgnoreCase(vec!["none", "restart"]))
        .importance(Importance::Low)
        .doc("What to do when a configuration provider reports a change: restart or none.")
        .group(COMMON)
        .width(Width::Medium)
        .display_name("Reload Action");
    d.define("transforms", ConfigType::List)
        .default_str("")
        .validator(Validator::Custom(unique_aliases))
        .importance(Importance::Low)
        .doc("Aliases for the transformations to be applied to records.")
        .group(TRANSFORMS)
        .width(Width::Long)
        .display_name("Transforms");
    d.define("predicates", ConfigType::List)
        .default_str("")
        .validator(Validator::Custom(unique_aliases))
        .importance(Importance::Low)
        .doc("Aliases for the predicates used by transformations.")
        .group(PREDICATES)
        .width(Width::Long)
        .display_name("Predicates");
    d.define("errors.retry.timeout", ConfigType::Long)
        .default_str("0")
        .importance(Importance::Medium)
        .doc("The maximum duration in milliseconds that a failed operation will be reattempted. 0 disables retries, -1 retries forever.")
        .group(ERRORS)
        .width(Width::Medium)
        .display_name("Retry Timeout for Errors");
    d.define("errors.retry.delay.max.ms", ConfigType::Long)
        .default_str("60000")
        .importance(Importance::Medium)
        .doc("The maximum duration in milliseconds between consecutive retry attempts.")
        .group(ERRORS)
        .width(Width::Medium)
        .display_name("Maximum Delay Between Retries for Errors");
    d.define("errors.tolerance", ConfigType::String)
        .default_str("none")
        .validator(Validator::OneOfIgnoreCase(vec!["none", "all"]))
        .importance(Importance::Medium)
        .doc("Behavior for tolerating errors during connector operation: 'none' fails the task, 'all' skips problematic records.")
        .group(ERRORS)
        .width(Width::Short)
        .display_name("Error Tolerance");
    d.define("errors.log.enable", ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .doc("Log the error context of each failed operation and its record.")
        .group(ERRORS)
        .width(Width::Short)
        .display_name("Log Errors");
    d.define("errors.log.include.messages", ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .doc("Include the failed record in error logs.")
        .group(ERRORS)
        .width(Width::Short)
        .display_name("Log Error Details");
    d
}

fn unique_aliases(_key: &str, v: &ferry_api::config::ConfigValue) -> Result<(), String> {
    if let ferry_api::config::ConfigValue::List(items) = v {
        let mut seen = std::collections::HashSet::new();
        for i in items {
            if !seen.insert(i) {
                return Err(format!("Duplicate alias provided: {i}"));
            }
        }
    }
    Ok(())
}

/// Keys of sink connectors.
pub fn sink_config_def() -> ConfigDef {
    let mut d = common_config_def();
    d.define(TOPICS, ConfigType::List)
        .default_str("")
        .importance(Importance::High)
        .doc("List of topics to consume, separated by commas")
        .group(COMMON)
        .width(Width::Long)
        .display_name("Topics");
    d.define(TOPICS_REGEX, ConfigType::String)
        .default_str("")
        .importance(Importance::High)
        .doc("Regular expression giving topics to consume. Only one of topics or topics.regex should be specified.")
        .group(COMMON)
        .width(Width::Long)
        .display_name("Topics regex");
    d.define(DLQ_TOPIC, ConfigType::String)
        .default_str("")
        .importance(Importance::Medium)
        .doc("The name of the topic to be used as the dead letter queue (DLQ) for records that fail in the sink, an empty string disables it.")
        .group(ERRORS)
        .width(Width::Medium)
        .display_name("Dead Letter Queue Topic Name");
    d.define("errors.deadletterqueue.topic.replication.factor", ConfigType::Short)
        .default_str("3")
        .importance(Importance::Medium)
        .doc("Replication factor used to create the dead letter queue topic when it doesn't already exist.")
        .group(ERRORS)
        .width(Width::Medium)
        .display_name("Dead Letter Queue Topic Replication Factor");
    d.define("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .doc("If true, add headers containing error context to the messages written to the dead letter queue.")
        .group(ERRORS)
        .width(Width::Medium)
        .display_name("Enable Error Context Headers");
    d
}

/// Keys of source connectors.
pub fn source_config_def() -> ConfigDef {
    let mut d = common_config_def();
    d.define("topic.creation.groups", ConfigType::List)
        .default_str("")
        .importance(Importance::Low)
        .doc("Groups of configurations for topics created by source connectors")
        .group("Topic Creation")
        .width(Width::Long)
        .display_name("Topic Creation Groups");
    d.define("exactly.once.support", ConfigType::String)
        .default_str("requested")
        .validator(Validator::OneOfIgnoreCase(vec!["requested", "required"]))
        .importance(Importance::Medium)
        .doc("Whether exactly-once support is required from this connector.")
        .group("Exactly Once Support")
        .width(Width::Short)
        .display_name("Exactly once support");
    d.define("transaction.boundary", ConfigType::String)
        .default_str("poll")
        .validator(Validator::OneOfIgnoreCase(vec![
            "poll",
            "interval",
            "connector",
        ]))
        .importance(Importance::Medium)
        .doc("How transaction boundaries are defined with exactly-once source support.")
        .group("Exactly Once Support")
        .width(Width::Short)
        .display_name("Transaction Boundary");
    d.define("offsets.storage.topic", ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("The name of a separate offsets topic to use for this connector.")
        .group("offsets.topic")
        .width(Width::Long)
        .display_name("Offsets topic");
    d
}

pub fn framework_config_def(kind: ConnectorKind) -> ConfigDef {
    match kind {
        ConnectorKind::Sink => sink_config_def(),
        ConnectorKind::Source => source_config_def(),
    }
}

/// The topics a sink consumes, as `topics` or `topics.regex` give them
/// (one of them is set once the config was accepted).
pub struct SinkTopics<'a> {
    pub list: Vec<String>,
    /// Trimmed; empty when not set.
    pub regex: &'a str,
}

impl<'a> SinkTopics<'a> {
    pub fn of(props: &'a Props) -> Self {
        SinkTopics {
            list: ferry_api::config::parse_list(
                props.get(TOPICS).map(String::as_str).unwrap_or(""),
            ),
            regex: props.get(TOPICS_REGEX).map(|s| s.trim()).unwrap_or(""),
        }
    }

    /// Copies the connector's `topics` / `topics.regex` into a sink task's
    /// config, as Kafka Connect's worker does.
    pub fn copy_into_task(connector: &Props, task: &mut Props) {
        for key in [TOPICS, TOPICS_REGEX] {
            if let Some(v) = connector.get(key) {
                task.entry(key.to_owned()).or_insert_with(|| v.clone());
            }
        }
    }
}

/// Sink-specific cross-key checks, with Kafka Connect's messages.
fn validate_sink(props: &Props, values: &mut [ValidatedValue]) {
    let SinkTopics {
        list: topics,
        regex,
    } = SinkTopics::of(props);
    let mut add = |key: &str, msg: &str| {
        if let Some(v) = values.iter_mut().find(|v| v.name == key) {
            v.errors.push(msg.to_owned());
        }
    };
    if !topics.is_empty() && !regex.is_empty() {
        let msg = "topics and topics.regex are mutually exclusive options, but both are set.";
        add(TOPICS, msg);
        add(TOPICS_REGEX, msg);
    }
    if topics.is_empty() && regex.is_empty() {
        let msg = "Must configure one of topics or topics.regex";
        add(TOPICS, msg);
        add(TOPICS_REGEX, msg);
    }
    if !regex.is_empty() {
        if let Err(e) = regex::Regex::new(regex) {
            add(
                TOPICS_REGEX,
                &format!("Invalid value {regex} for configuration topics.regex: {e}"),
            );
        }
    }
    let dlq = props.get(DLQ_TOPIC).map(|s| s.trim()).unwrap_or("");
    if !dlq.is_empty() && topics.iter().any(|t| t == dlq) {
        add(
            DLQ_TOPIC,
            &format!(
                "The DLQ topic '{dlq}' may not be included in the list of topics ('topics={}') to be consumed.",
                topics.join(",")
            ),
        );
    }
}

/// `header.converter` must name a header converter `plugins` has, with
/// Kafka Connect's message for a class it cannot load.
fn validate_header_converter(plugins: &Plugins, values: &mut [ValidatedValue]) {
    let Some(v) = values.iter_mut().find(|v| v.name == HEADER_CONVERTER) else {
        return;
    };
    if let (true, ConfigValue::Class(class)) = (v.errors.is_empty(), &v.value) {
        if let Err(reason) = plugins.check_header_converter(class) {
            let error = ConfigError::invalid(HEADER_CONVERTER, class, &reason);
            v.errors.push(error.message);
        }
    }
}

/// Validates a whole connector config: framework keys, then the
/// connector's own keys and checks; the classes it names are looked up in
/// `plugins`.
pub fn validate_connector_config(
    plugins: &Plugins,
    plugin: &PluginDescriptor,
    props: &Props,
) -> ConfigInfos {
    let mut def = framework_config_def(plugin.kind);
    let mut values = def.validate(props);
    validate_header_converter(plugins, &mut values);
    match plugin.kind {
        ConnectorKind::Sink => validate_sink(props, &mut values),
        ConnectorKind::Source => crate::topic_creation::validate(props, &mut values),
    }
    // Transform and predicate keys (their aliases' own settings included)
    // are validated by the transforms crate, whose results supersede ours.
    let transforms = ferry_transforms::validation(plugins, props);
    for (key, value) in transforms.keys.into_iter().zip(transforms.values) {
        match values.iter_mut().find(|x| x.name == value.name) {
            Some(slot) => *slot = value,
            None => values.push(value),
        }
        def.add_key(key);
    }
    let connector = (plugin.new_connector)();
    let own_def = connector.config_def();
    let own_values = connector.validate(props);
    for v in own_values {
        // A connector may redefine a framework key; its result replaces ours.
        match values.iter_mut().find(|x| x.name == v.name) {
            Some(slot) => slot.errors.extend(v.errors),
            None => values.push(v),
        }
    }
    let mut groups = def.groups();
    for g in transforms.groups {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    def.merge(&own_def);
    for g in own_def.groups() {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut infos = ConfigInfos::new(plugin.class, &def, &values);
    infos.groups = groups;
    infos
}

/// The create/update error for a config with validation errors.
pub fn invalid_config_message(infos: &ConfigInfos) -> String {
    let mut lines = vec![format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        infos.error_count
    )];
    for c in &infos.configs {
        if let Some(v) = &c.value {
            lines.extend(v.errors.iter().cloned());
        }
    }
    lines.push(
        "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
            .into(),
    );
    lines.join("\n")
}
