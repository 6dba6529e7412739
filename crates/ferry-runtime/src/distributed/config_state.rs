//! An in-memory snapshot of the config topic, built by applying its records
//! in order with Kafka Connect's read semantics.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{
    ConfigKey, ConfigRecord, ConfigValue, RecordError, RecordProps, RestartRequest, SessionKey,
    TargetState,
};

/// The state read from the config topic.
#[derive(Debug, Clone)]
pub struct ConfigState {
    offset: i64,
    live: bool,
    connector_configs: BTreeMap<String, RecordProps>,
    applied_configs: BTreeMap<String, RecordProps>,
    target_states: BTreeMap<String, TargetState>,
    task_counts: BTreeMap<String, u32>,
    task_configs: BTreeMap<String, BTreeMap<u32, RecordProps>>,
    deferred: BTreeMap<String, BTreeMap<u32, RecordProps>>,
    inconsistent: BTreeSet<String>,
    fencing_task_counts: BTreeMap<String, i32>,
    pending_fencing: BTreeSet<String>,
    session_key: Option<SessionKey>,
    restart_requests: BTreeMap<String, RestartRequest>,
    logger_levels: Vec<(String, String)>,
    unknown_keys: Vec<String>,
}

impl Default for ConfigState {
    fn default() -> Self {
        ConfigState::new()
    }
}

impl ConfigState {
    pub fn new() -> ConfigState {
        ConfigState {
            offset: -1,
            live: false,
            connector_configs: BTreeMap::new(),
            applied_configs: BTreeMap::new(),
            target_states: BTreeMap::new(),
            task_counts: BTreeMap::new(),
            task_configs: BTreeMap::new(),
            deferred: BTreeMap::new(),
            inconsistent: BTreeSet::new(),
            fencing_task_counts: BTreeMap::new(),
            pending_fencing: BTreeSet::new(),
            session_key: None,
            restart_requests: BTreeMap::new(),
            logger_levels: Vec::new(),
            unknown_keys: Vec::new(),
        }
    }

    /// Marks the end of the startup read: `restart-connector-*` and
    /// `logger-cluster-*` records applied from now on take effect.
    pub fn set_live(&mut self) {
        self.live = true;
    }

    /// Decodes and applies a raw record read at `offset`. The config offset
    /// advances even when the value cannot be decoded.
    pub fn apply_raw(
        &mut self,
        offset: i64,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(), RecordError> {
        self.offset = offset + 1;
        let record = ConfigRecord::decode(key, value)?;
        self.apply_record(record);
        Ok(())
    }

    /// Applies a decoded record read at `offset`.
    pub fn apply(&mut self, offset: i64, record: ConfigRecord) {
        self.offset = offset + 1;
        self.apply_record(record);
    }

    fn apply_record(&mut self, record: ConfigRecord) {
        match (record.key, record.value) {
            (ConfigKey::Connector(name), None) => self.remove_connector(&name),
            (ConfigKey::Connector(name), Some(ConfigValue::Properties(props))) => {
                self.target_states
                    .entry(name.clone())
                    .or_insert(TargetState::Started);
                self.connector_configs.insert(name, props);
            }
            (ConfigKey::Task { connector, task }, Some(ConfigValue::Properties(props))) => {
                self.deferred
                    .entry(connector)
                    .or_default()
                    .insert(task, props);
            }
            (ConfigKey::Task { .. }, None) => {}
            (ConfigKey::Commit(name), Some(ConfigValue::Commit { tasks })) => {
                self.apply_commit(name, tasks);
            }
            (ConfigKey::TargetState(name), None) => {
                if self.connector_configs.contains_key(&name) {
                    self.target_states.insert(name, TargetState::Started);
                } else {
                    self.target_states.remove(&name);
                }
            }
            (ConfigKey::TargetState(name), Some(ConfigValue::TargetState(state))) => {
                self.target_states.insert(name, state);
            }
            (ConfigKey::TasksFencing(name), Some(ConfigValue::TasksFencing { task_count })) => {
                self.pending_fencing.remove(&name);
                self.fencing_task_counts.insert(name, task_count);
            }
            (ConfigKey::SessionKey, Some(ConfigValue::SessionKey(key))) => {
                self.session_key = Some(key);
            }
            // Restart and logger records act only when read after startup.
            (ConfigKey::RestartConnector(name), Some(ConfigValue::RestartConnector(req)))
                if self.live =>
            {
                self.restart_requests.insert(name, req);
            }
            (ConfigKey::LoggerCluster(ns), Some(ConfigValue::LoggerCluster { level }))
                if self.live =>
            {
                self.logger_levels.push((ns, level));
            }
            (ConfigKey::Unknown(key), _) => {
                tracing::warn!(key, "ignoring config record with unknown key");
                self.unknown_keys.push(key);
            }
            // Tombstones for commit, fencing, session key, restart and logger
            // records carry no meaning.
            _ => {}
        }
    }

    fn remove_connector(&mut self, name: &str) {
        self.connector_configs.remove(name);
        self.task_counts.remove(name);
        self.task_configs.remove(name);
        self.deferred.remove(name);
        self.applied_configs.remove(name);
    }

    fn apply_commit(&mut self, name: String, tasks: i32) {
        if !self.connector_configs.contains_key(&name) {
            // Deleted, and compaction removed both its config and tombstone.
            tracing::debug!(connector = %name, "ignoring task commit for unknown connector");
            self.remove_connector(&name);
            return;
        }
        let n = u32::try_from(tasks).unwrap_or(0);
        let buffered = self.deferred.remove(&name).unwrap_or_default();
        let complete = (0..n).all(|i| buffered.contains_key(&i));
        if complete {
            let configs = self.task_configs.entry(name.clone()).or_default();
            configs.extend(buffered);
            self.inconsistent.remove(&name);
            if let Some(config) = self.connector_configs.get(&name) {
                self.applied_configs.insert(name.clone(), config.clone());
            }
        } else {
            tracing::error!(connector = %name, tasks = n, "incomplete task configs; marking inconsistent");
            self.inconsistent.insert(name.clone());
        }
        // Relevant only with exactly-once source support enabled.
        self.pending_fencing.insert(name.clone());
        self.task_counts.insert(name, n);
    }

    /// Offset of the last record applied + 1, or -1 if nothing was read.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Names of connectors that currently have a config.
    pub fn connectors(&self) -> impl Iterator<Item = &str> {
        self.connector_configs.keys().map(String::as_str)
    }

    pub fn contains(&self, connector: &str) -> bool {
        self.connector_configs.contains_key(connector)
    }

    pub fn connector_config(&self, connector: &str) -> Option<&RecordProps> {
        self.connector_configs.get(connector)
    }

    /// The connector config in effect when its current task configs were
    /// committed consistently.
    pub fn applied_connector_config(&self, connector: &str) -> Option<&RecordProps> {
        self.applied_configs.get(connector)
    }

    pub fn target_state(&self, connector: &str) -> Option<TargetState> {
        self.target_states.get(connector).copied()
    }

    /// The committed task count, if a commit has been applied.
    pub fn task_count(&self, connector: &str) -> Option<u32> {
        self.task_counts.get(connector).copied()
    }

    /// A committed task config.
    pub fn task_config(&self, connector: &str, task: u32) -> Option<&RecordProps> {
        self.task_configs.get(connector)?.get(&task)
    }

    /// The task configs of the current generation (ids 0..task count), or
    /// `None` if the connector is inconsistent or has none committed.
    pub fn task_configs(&self, connector: &str) -> Option<Vec<&RecordProps>> {
        if self.inconsistent.contains(connector) {
            return None;
        }
        let n = self.task_count(connector)?;
        let configs = self.task_configs.get(connector);
        (0..n)
            .map(|i| configs.and_then(|c| c.get(&i)))
            .collect::<Option<Vec<_>>>()
    }

    pub fn is_inconsistent(&self, connector: &str) -> bool {
        self.inconsistent.contains(connector)
    }

    pub fn inconsistent(&self) -> impl Iterator<Item = &str> {
        self.inconsistent.iter().map(String::as_str)
    }

    /// Whether a task commit came after the latest `tasks-fencing-` record.
    pub fn pending_fencing(&self, connector: &str) -> bool {
        self.pending_fencing.contains(connector)
    }

    pub fn fencing_task_count(&self, connector: &str) -> Option<i32> {
        self.fencing_task_counts.get(connector).copied()
    }

    pub fn session_key(&self) -> Option<&SessionKey> {
        self.session_key.as_ref()
    }

    /// Takes the pending restart requests (at most one per connector).
    pub fn take_restart_requests(&mut self) -> BTreeMap<String, RestartRequest> {
        std::mem::take(&mut self.restart_requests)
    }

    /// Takes the cluster logger level changes read while live, in order.
    pub fn take_logger_levels(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.logger_levels)
    }

    /// Keys with unknown prefixes seen so far.
    pub fn unknown_keys(&self) -> &[String] {
        &self.unknown_keys
    }
}
