//! What both herders do the same way: validating connector configs,
//! describing plugins, and reading and changing connector offsets (source
//! offsets in the worker's offset store, sink offsets in the consumer group).

use std::sync::Arc;

use ferry_api::config::{ConfigInfos, ConfigKeyInfo};
use ferry_api::{ConnectorKind, OffsetMap, PluginDescriptor, PluginFactory};
use ferry_kafka::{Admin, PartitionOffset};
use serde_json::Value as Json;

use crate::config_providers::has_placeholder;
use crate::connector_config::{
    framework_config_def, validate_connector_config, SinkTopics, CONNECTOR_CLASS,
};
use crate::connector_rules::ConnectorRules;
use crate::entities::{
    ActiveTopics, ActiveTopicsInfo, ConnectorOffset, ConnectorOffsets, ConnectorState,
    ConnectorStateInfo, Message, State, TaskState,
};
use crate::herder::{HerderError, HerderResult};
use crate::offsets::OffsetStore;
use crate::plugins::Plugins;
use crate::redact;
use crate::status::StatusStore;
use crate::worker::sink_group;
use crate::worker_config::WorkerConfig;
use crate::Props;

pub fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

fn json_map(v: Json) -> Option<OffsetMap> {
    match v {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

/// `{"kafka_topic":…, "kafka_partition":…}` → (topic, partition), accepting
/// numbers given as strings, as Kafka Connect does.
fn sink_partition(p: &OffsetMap) -> HerderResult<(String, i32)> {
    let bad = |m: &str| HerderError::BadRequest(m.to_owned());
    let topic = match p.get("kafka_topic") {
        Some(Json::String(t)) => t.clone(),
        _ => {
            return Err(bad(
                "Kafka topic names must be valid strings and may not be null",
            ))
        }
    };
    let partition = match p.get("kafka_partition") {
        Some(Json::Number(n)) => n.as_i64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .and_then(|n| i32::try_from(n).ok())
    .ok_or_else(|| bad("Failed to parse the following Kafka partition value in the provided offsets: 'kafka_partition'. Partition values for sink connectors need to be integers."))?;
    Ok((topic, partition))
}

fn sink_offset(o: &OffsetMap) -> HerderResult<i64> {
    match o.get("kafka_offset") {
        Some(Json::Number(n)) => n.as_i64(),
        Some(Json::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        HerderError::BadRequest("Failed to parse the following Kafka offset value in the provided offsets: 'kafka_offset'. Offset values for sink connectors need to be integers.".into())
    })
}

fn props_display(p: &Props) -> String {
    let inner: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Finds the connector's plugin and validates its config, then checks it
/// against the worker's rules (client overrides, `tasks.max.limit`, allowed
/// file paths); the result is named by the class as the user wrote it, as
/// Kafka Connect does.
pub fn validate(
    plugins: &Plugins,
    rules: &ConnectorRules,
    config: &Props,
) -> HerderResult<(PluginDescriptor, ConfigInfos)> {
    let class = config.get(CONNECTOR_CLASS).map(|s| s.trim()).unwrap_or("");
    if class.is_empty() {
        // Kafka Connect echoes the config here, passwords included; Ferry
        // hides them.
        return Err(HerderError::BadRequest(format!(
            "Connector config {} contains no connector type",
            props_display(&redact::masked(plugins, config))
        )));
    }
    let plugin = plugins
        .connector(class)
        .ok_or_else(|| HerderError::BadRequest(plugins.unknown_connector_message(class)))?
        .clone();
    // Validated as the connector will see it, with config-provider
    // placeholders resolved; answered with the placeholders, as stored.
    let resolved = rules
        .providers
        .resolve(config)
        .map_err(|e| HerderError::BadRequest(e.to_string()))?;
    let mut infos = validate_connector_config(plugins, &plugin, &resolved.config);
    rules.check(&plugin, &resolved.config, &mut infos);
    infos.name = class.to_owned();
    for info in &mut infos.configs {
        if let Some(value) = &mut info.value {
            if let Some(raw) = config.get(&value.name).filter(|v| has_placeholder(v)) {
                value.value = Some(raw.clone());
            }
        }
    }
    // A connector's own checks may quote a value; passwords and what the
    // providers gave never show.
    redact::Secrets::of(plugins, &resolved.config)
        .with_values(&resolved.values)
        .scrub_infos(&mut infos);
    Ok((plugin, infos))
}

/// Validates a config about to be stored under `name` (which it is given,
/// as Kafka Connect does); refuses it with every error found.
pub fn validate_for_put(
    plugins: &Plugins,
    rules: &ConnectorRules,
    name: &str,
    config: &mut Props,
) -> HerderResult<PluginDescriptor> {
    config.insert(crate::connector_config::NAME.into(), name.to_owned());
    let (plugin, infos) = validate(plugins, rules, config)?;
    if infos.error_count > 0 {
        return Err(HerderError::BadRequest(
            crate::connector_config::invalid_config_message(&infos),
        ));
    }
    Ok(plugin)
}

/// The config keys of a plugin of any kind: a connector's own then the
/// framework's; converters, header converters, transformations and
/// predicates have their own keys only.
pub fn plugin_config(plugins: &Plugins, plugin: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
    let p = plugins
        .describe(plugin)
        .ok_or_else(|| HerderError::NotFound(format!("Unknown plugin {plugin}.")))?;
    let mut def = p.plugin.config_def().clone();
    if let PluginFactory::Connector(connector) = p.plugin.factory() {
        def.merge(&framework_config_def(connector.kind));
    }
    Ok(def.keys().iter().map(|k| k.info()).collect())
}

/// Partitions of the topics a sink connector consumes.
fn sink_partitions(admin: &Admin, config: &Props) -> HerderResult<Vec<(String, i32)>> {
    let SinkTopics {
        list: mut topics,
        regex,
    } = SinkTopics::of(config);
    if topics.is_empty() && !regex.is_empty() {
        let re = regex::Regex::new(&format!("^(?:{regex})$"))
            .map_err(|e| HerderError::BadRequest(e.to_string()))?;
        topics = admin
            .topic_names()
            .map_err(|e| HerderError::Internal(e.to_string()))?
            .into_iter()
            .filter(|t| re.is_match(t))
            .collect();
    }
    let mut out = Vec::new();
    for t in topics {
        for p in admin
            .partitions(&t)
            .map_err(|e| HerderError::Internal(e.to_string()))?
        {
            out.push((t.clone(), p));
        }
    }
    Ok(out)
}

/// `GET /connectors/{c}/offsets`.
pub fn read_offsets(
    admin: &Admin,
    store: &Arc<dyn OffsetStore>,
    name: &str,
    kind: ConnectorKind,
    config: &Props,
) -> HerderResult<ConnectorOffsets> {
    let offsets = match kind {
        ConnectorKind::Source => store
            .connector_offsets(name)
            .into_iter()
            .map(|(partition, offset)| ConnectorOffset {
                partition,
                offset: Some(offset),
            })
            .collect(),
        ConnectorKind::Sink => {
            let parts = sink_partitions(admin, config)?;
            admin
                .committed_offsets(&sink_group(name, config), &parts)
                .map_err(|e| HerderError::Internal(e.to_string()))?
                .into_iter()
                .map(|o| ConnectorOffset {
                    partition: json_map(
                        serde_json::json!({"kafka_topic": o.topic, "kafka_partition": o.partition}),
                    )
                    .unwrap_or_default(),
                    offset: json_map(serde_json::json!({"kafka_offset": o.offset})),
                })
                .collect()
        }
    };
    Ok(ConnectorOffsets { offsets })
}

/// An alter request must name at least one partition, and its partitions
/// and offsets may hold only primitive values (Kafka Connect's
/// `OffsetUtils.validateFormat`): a nested object or array would be stored,
/// then fail the task that reads it back.
pub fn require_offsets(offsets: &ConnectorOffsets) -> HerderResult<()> {
    if offsets.offsets.is_empty() {
        return Err(HerderError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".into(),
        ));
    }
    for o in &offsets.offsets {
        validate_offset_format(&o.partition)?;
        if let Some(offset) = &o.offset {
            validate_offset_format(offset)?;
        }
    }
    Ok(())
}

fn validate_offset_format(map: &OffsetMap) -> HerderResult<()> {
    for (key, value) in map {
        let kind = match value {
            Json::Object(_) => "MAP",
            Json::Array(_) => "ARRAY",
            Json::Null | Json::Bool(_) | Json::Number(_) | Json::String(_) => continue,
        };
        return Err(HerderError::BadRequest(format!(
            "Offsets may only contain primitive types as values, but field {key} contains {kind}"
        )));
    }
    Ok(())
}

async fn put_source_offsets(
    store: &Arc<dyn OffsetStore>,
    name: &str,
    updates: Vec<(OffsetMap, Option<OffsetMap>)>,
) -> HerderResult<()> {
    store
        .put(name, updates)
        .await
        .map_err(|e| HerderError::Internal(e.to_string()))
}

/// `PATCH /connectors/{c}/offsets` on a stopped connector.
pub async fn alter_offsets(
    admin: &Admin,
    store: &Arc<dyn OffsetStore>,
    name: &str,
    kind: ConnectorKind,
    config: &Props,
    offsets: ConnectorOffsets,
) -> HerderResult<Message> {
    match kind {
        ConnectorKind::Source => {
            let updates = offsets
                .offsets
                .into_iter()
                .map(|o| (o.partition, o.offset))
                .collect();
            put_source_offsets(store, name, updates).await?;
        }
        ConnectorKind::Sink => {
            let mut set = Vec::new();
            for o in &offsets.offsets {
                let (topic, partition) = sink_partition(&o.partition)?;
                match &o.offset {
                    Some(off) => set.push(PartitionOffset {
                        topic,
                        partition,
                        offset: sink_offset(off)?,
                    }),
                    None => {
                        return Err(HerderError::BadRequest(format!(
                            "Resetting the offsets of single partitions of a sink connector is not supported yet; reset all of them with DELETE /connectors/{name}/offsets"
                        )))
                    }
                }
            }
            admin
                .alter_group_offsets(&sink_group(name, config), &set)
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
    }
    Ok(Message {
        message: "The offsets for this connector have been altered successfully".into(),
    })
}

/// `DELETE /connectors/{c}/offsets` on a stopped connector.
pub async fn reset_offsets(
    admin: &Admin,
    store: &Arc<dyn OffsetStore>,
    name: &str,
    kind: ConnectorKind,
    config: &Props,
) -> HerderResult<Message> {
    match kind {
        ConnectorKind::Source => {
            let updates = store
                .connector_offsets(name)
                .into_iter()
                .map(|(p, _)| (p, None))
                .collect();
            put_source_offsets(store, name, updates).await?;
        }
        ConnectorKind::Sink => {
            admin
                .delete_group(&sink_group(name, config))
                .await
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
    }
    Ok(Message {
        message: "The offsets for this connector have been reset successfully".into(),
    })
}

/// Applies a `PATCH /connectors/{c}/config` body: `None` removes a key.
pub fn apply_patch(config: &mut Props, patch: std::collections::BTreeMap<String, Option<String>>) {
    for (k, v) in patch {
        match v {
            Some(v) => {
                config.insert(k, v);
            }
            None => {
                config.remove(&k);
            }
        }
    }
}

/// Asks a running connector for its task configs, as the herders store
/// them: at most `tasks.max` (unless `tasks.max.enforce=false`) and never
/// more than the worker's `tasks.max.limit` (`limit`), each with
/// `task.class`, and a sink's tasks with the connector's `topics` /
/// `topics.regex`. The error is the trace to report as the connector's
/// FAILED state.
pub fn generate_task_configs(
    name: &str,
    instance: &dyn ferry_api::Connector,
    plugin: &PluginDescriptor,
    config: &Props,
    limit: u32,
) -> Result<Vec<Props>, String> {
    let max = config
        .get(crate::connector_config::TASKS_MAX)
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, (limit as usize).max(1));
    // A panic in the connector's code fails the connector, not the worker.
    let configs =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| instance.task_configs(max)))
            .map_err(|panic| {
                format!(
                    "org.apache.kafka.connect.errors.ConnectException: The connector panicked: {}",
                    crate::task::panic_message(&*panic)
                )
            })?
            .map_err(|e| crate::status::trace_of(&e))?;
    if configs.len() > limit as usize {
        return Err(format!(
            "org.apache.kafka.connect.errors.ConnectException: Connector {name} generated {} tasks, more than this worker runs for one connector ({}={limit})",
            configs.len(),
            crate::worker_config::TASKS_MAX_LIMIT
        ));
    }
    let enforce = config.get("tasks.max.enforce").map(|v| v.trim()) != Some("false");
    if enforce && configs.len() > max {
        return Err(format!(
            "org.apache.kafka.connect.errors.ConnectException: Connector {name} generated {} tasks, which is greater than the maximum of {max} allowed by the tasks.max property",
            configs.len()
        ));
    }
    let task_class = plugin.class.replace("Connector", "Task");
    let sink = plugin.kind == ConnectorKind::Sink;
    Ok(configs
        .into_iter()
        .map(|mut c| {
            c.entry("task.class".into())
                .or_insert_with(|| task_class.clone());
            if sink {
                SinkTopics::copy_into_task(config, &mut c);
            }
            c
        })
        .collect())
}

/// The `/status` view of a connector with `task_count` tasks, from the
/// status store; a connector with no status yet is `UNASSIGNED` on
/// `unassigned_worker`.
pub fn state_info(
    status: &StatusStore,
    name: &str,
    connector_type: &str,
    version: Option<String>,
    task_count: u32,
    unassigned_worker: &str,
) -> ConnectorStateInfo {
    let connector = match status.connector(name) {
        Some(s) => ConnectorState {
            state: s.state,
            worker_id: s.worker_id,
            version: version.clone(),
            trace: s.trace,
        },
        None => ConnectorState {
            state: State::Unassigned,
            worker_id: unassigned_worker.to_owned(),
            version: version.clone(),
            trace: None,
        },
    };
    let tasks = status
        .tasks(name)
        .into_iter()
        .filter(|(id, _)| *id < task_count)
        .map(|(id, s)| TaskState {
            id,
            state: s.state,
            worker_id: s.worker_id,
            version: version.clone(),
            trace: s.trace,
        })
        .collect();
    ConnectorStateInfo {
        name: name.to_owned(),
        connector,
        tasks,
        connector_type: connector_type.to_owned(),
    }
}

/// `/connectors/{name}/topics` of a connector known to exist.
pub fn active_topics(
    worker: &WorkerConfig,
    status: &StatusStore,
    name: &str,
) -> HerderResult<ActiveTopicsInfo> {
    if !worker.topic_tracking() {
        return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
    }
    let mut out = ActiveTopicsInfo::new();
    out.insert(
        name.to_owned(),
        ActiveTopics {
            topics: status.topics(name),
        },
    );
    Ok(out)
}

/// `PUT /connectors/{name}/topics/reset` of a connector known to exist.
pub fn reset_active_topics(
    worker: &WorkerConfig,
    status: &StatusStore,
    name: &str,
) -> HerderResult<()> {
    if !worker.topic_tracking() {
        return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
    }
    if !worker.topic_tracking_reset() {
        return Err(HerderError::Forbidden(
            "Topic tracking reset is disabled.".into(),
        ));
    }
    status.reset_topics(name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(partition: Json, offset: Json) -> ConnectorOffsets {
        ConnectorOffsets {
            offsets: vec![ConnectorOffset {
                partition: json_map(partition).expect("an object"),
                offset: json_map(offset),
            }],
        }
    }

    fn refusal(o: &ConnectorOffsets) -> String {
        match require_offsets(o) {
            Err(HerderError::BadRequest(m)) => m,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn offsets_hold_primitives_only() {
        use serde_json::json;
        let ok = offsets(
            json!({"file": "a", "n": 1}),
            json!({"position": 5, "done": false, "x": null, "f": 1.5}),
        );
        assert!(require_offsets(&ok).is_ok());
        assert!(require_offsets(&offsets(json!({"file": "a"}), Json::Null)).is_ok());
        assert_eq!(
            refusal(&offsets(
                json!({"file": "a"}),
                json!({"position": {"deep": 1}})
            )),
            "Offsets may only contain primitive types as values, but field position contains MAP"
        );
        assert_eq!(
            refusal(&offsets(json!({"file": [1]}), json!({"position": 1}))),
            "Offsets may only contain primitive types as values, but field file contains ARRAY"
        );
        assert!(refusal(&ConnectorOffsets::default()).starts_with("Partitions / offsets"));
    }

    struct Panicking;

    #[async_trait::async_trait]
    impl ferry_api::Connector for Panicking {
        fn version(&self) -> String {
            "test".into()
        }
        fn config_def(&self) -> ferry_api::ConfigDef {
            ferry_api::ConfigDef::new()
        }
        async fn start(
            &mut self,
            _props: Props,
            _context: std::sync::Arc<dyn ferry_api::ConnectorContext>,
        ) -> Result<(), ferry_api::ConnectError> {
            Ok(())
        }
        fn task_configs(&self, _max: usize) -> Result<Vec<Props>, ferry_api::ConnectError> {
            panic!("Unknown configuration 'tables'")
        }
        async fn stop(&mut self) -> Result<(), ferry_api::ConnectError> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_generating_task_configs_fails_the_connector() {
        let plugin = PluginDescriptor {
            class: "test.PanickingConnector",
            aliases: &[],
            kind: ConnectorKind::Source,
            version: "test",
            new_connector: || Box::new(Panicking),
            new_source_task: None,
            new_sink_task: None,
            local_file_keys: &[],
        };
        let trace = generate_task_configs("c", &Panicking, &plugin, &Props::new(), 10)
            .expect_err("the panic is the connector's failure");
        assert_eq!(
            trace,
            "org.apache.kafka.connect.errors.ConnectException: The connector panicked: Unknown configuration 'tables'"
        );
    }
}
