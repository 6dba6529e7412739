//! The standalone herder: connectors from the command line and the REST API,
//! source offsets in a local file, statuses in memory — Kafka Connect's
//! `StandaloneHerder`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigInfos, ConfigKeyInfo};
use ferry_api::{ConnectError, Connector, ConnectorContext, PluginDescriptor};
use ferry_kafka::Admin;
use tokio::sync::{mpsc, Mutex};
use tracing::{error, info, warn};

use crate::connector_config::{invalid_config_message, NAME};
use crate::connector_ops::{self, not_found};
use crate::entities::{
    ActiveTopics, ActiveTopicsInfo, ConnectorInfo, ConnectorOffsets, ConnectorState,
    ConnectorStateInfo, Message, PluginInfo, RestartPlan, ServerInfo, State, TargetState, TaskId,
    TaskInfo, TaskState,
};
use crate::herder::{Created, Herder, HerderError, HerderResult, PluginType};
use crate::plugins::{Plugins, CONNECT_VERSION};
use crate::status::trace_of;
use crate::worker::{TaskHandle, Worker};
use crate::Props;

/// Requests connectors make from their own tasks (reconfiguration, errors).
enum ConnectorEvent {
    Reconfigure(String),
    Failed(String, String),
}

struct Context {
    name: String,
    events: mpsc::UnboundedSender<ConnectorEvent>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        let _ = self
            .events
            .send(ConnectorEvent::Reconfigure(self.name.clone()));
    }
    fn raise_error(&self, error: ConnectError) {
        let _ = self
            .events
            .send(ConnectorEvent::Failed(self.name.clone(), trace_of(&error)));
    }
}

struct ConnectorEntry {
    config: Props,
    plugin: PluginDescriptor,
    target: TargetState,
    instance: Option<Box<dyn Connector>>,
    task_configs: Vec<Props>,
    tasks: BTreeMap<u32, TaskHandle>,
}

pub struct StandaloneHerder {
    worker: Arc<Worker>,
    plugins: Plugins,
    admin: Admin,
    server_info: ServerInfo,
    connectors: Mutex<BTreeMap<String, ConnectorEntry>>,
    events: mpsc::UnboundedSender<ConnectorEvent>,
}

impl StandaloneHerder {
    /// Builds the herder and starts its background event loop.
    pub async fn start(
        worker: Arc<Worker>,
        plugins: Plugins,
        commit: &str,
    ) -> Result<Arc<Self>, String> {
        let admin = Admin::new(&worker.config.admin_props()).map_err(|e| e.to_string())?;
        let cluster_id = admin.cluster_id().await.map_err(|e| {
            format!(
                "cannot reach Kafka at {}: {e}",
                worker.config.bootstrap_servers()
            )
        })?;
        info!(kafka_cluster_id = %cluster_id, "connected to Kafka");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let herder = Arc::new(StandaloneHerder {
            worker,
            plugins,
            admin,
            server_info: ServerInfo {
                version: CONNECT_VERSION.to_owned(),
                commit: commit.to_owned(),
                kafka_cluster_id: cluster_id,
            },
            connectors: Mutex::new(BTreeMap::new()),
            events: tx,
        });
        let weak = Arc::downgrade(&herder);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(h) = weak.upgrade() else { break };
                h.handle_event(event).await;
            }
        });
        Ok(herder)
    }

    async fn handle_event(&self, event: ConnectorEvent) {
        let mut connectors = self.connectors.lock().await;
        match event {
            ConnectorEvent::Reconfigure(name) => {
                if let Some(entry) = connectors.get_mut(&name) {
                    if entry.target != TargetState::Stopped {
                        self.reconfigure_tasks(&name, entry).await;
                    }
                }
            }
            ConnectorEvent::Failed(name, trace) => {
                error!(connector = %name, "connector failed: {trace}");
                self.worker
                    .status
                    .set_connector(&name, State::Failed, Some(trace));
            }
        }
    }

    /// Starts the connector instance per its target state, then its tasks.
    async fn start_connector(&self, name: &str, entry: &mut ConnectorEntry) {
        let status = &self.worker.status;
        if entry.target == TargetState::Stopped {
            status.set_connector(name, State::Stopped, None);
            entry.task_configs.clear();
            return;
        }
        let mut instance = (entry.plugin.new_connector)();
        let ctx = Arc::new(Context {
            name: name.to_owned(),
            events: self.events.clone(),
        });
        if let Err(e) = instance.start(entry.config.clone(), ctx).await {
            error!(connector = name, error = %e, "connector failed to start");
            status.set_connector(
                name,
                State::Failed,
                Some(format!(
                    "org.apache.kafka.connect.errors.ConnectException: {}",
                    trace_of(&e)
                )),
            );
            return;
        }
        let state = if entry.target == TargetState::Paused {
            State::Paused
        } else {
            State::Running
        };
        status.set_connector(name, state, None);
        info!(connector = name, "connector started");
        entry.instance = Some(instance);
        self.reconfigure_tasks(name, entry).await;
    }

    /// Asks the connector for task configs; restarts the tasks if they changed.
    async fn reconfigure_tasks(&self, name: &str, entry: &mut ConnectorEntry) {
        let Some(instance) = &entry.instance else {
            return;
        };
        let configs = match connector_ops::generate_task_configs(
            name,
            instance.as_ref(),
            &entry.plugin,
            &entry.config,
        ) {
            Ok(c) => c,
            Err(trace) => {
                self.worker
                    .status
                    .set_connector(name, State::Failed, Some(trace));
                return;
            }
        };
        if configs == entry.task_configs
            && !entry.tasks.is_empty()
            && entry.tasks.values().all(|t| !t.is_finished())
        {
            return;
        }
        self.stop_all_tasks(name, entry).await;
        entry.task_configs = configs;
        self.start_tasks(name, entry, None);
    }

    fn start_tasks(&self, name: &str, entry: &mut ConnectorEntry, only: Option<&[u32]>) {
        for (i, cfg) in entry.task_configs.iter().enumerate() {
            let id = i as u32;
            if only.is_some_and(|o| !o.contains(&id)) {
                continue;
            }
            if let Some(handle) = self.worker.start_task(
                &entry.plugin,
                name,
                id,
                &entry.config,
                cfg.clone(),
                entry.target,
            ) {
                entry.tasks.insert(id, handle);
            }
        }
    }

    async fn stop_all_tasks(&self, name: &str, entry: &mut ConnectorEntry) {
        let tasks: Vec<(u32, TaskHandle)> = std::mem::take(&mut entry.tasks).into_iter().collect();
        self.worker.stop_tasks(name, tasks).await;
        for (id, _) in entry.task_configs.iter().enumerate() {
            self.worker.status.remove_task(name, id as u32);
        }
    }

    async fn stop_connector_instance(&self, name: &str, entry: &mut ConnectorEntry) {
        if let Some(mut instance) = entry.instance.take() {
            if let Err(e) = instance.stop().await {
                warn!(connector = name, error = %e, "connector stop failed");
            }
        }
    }

    /// Stops everything: tasks drain and commit within the graceful timeout.
    pub async fn shutdown(&self) {
        let mut connectors = self.connectors.lock().await;
        let names: Vec<String> = connectors.keys().cloned().collect();
        let stops = connectors.iter_mut().map(|(name, entry)| async move {
            self.stop_all_tasks(name, entry).await;
            self.stop_connector_instance(name, entry).await;
        });
        futures::future::join_all(stops).await;
        info!(connectors = ?names, "herder stopped");
    }

    fn validate(&self, config: &Props) -> HerderResult<(PluginDescriptor, ConfigInfos)> {
        connector_ops::validate(&self.plugins, config)
    }

    fn info_of(&self, name: &str, entry: &ConnectorEntry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: entry.config.clone(),
            tasks: (0..entry.task_configs.len() as u32)
                .map(|task| TaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            connector_type: entry.plugin.kind.name().to_owned(),
        }
    }

    fn status_of(&self, name: &str, entry: &ConnectorEntry) -> ConnectorStateInfo {
        let status = &self.worker.status;
        let connector = status.connector(name).map_or(
            ConnectorState {
                state: State::Unassigned,
                worker_id: status.worker_id().to_owned(),
                version: Some(entry.plugin.version.to_owned()),
                trace: None,
            },
            |s| ConnectorState {
                state: s.state,
                worker_id: s.worker_id,
                version: Some(entry.plugin.version.to_owned()),
                trace: s.trace,
            },
        );
        let tasks = status
            .tasks(name)
            .into_iter()
            .filter(|(id, _)| (*id as usize) < entry.task_configs.len())
            .map(|(id, s)| TaskState {
                id,
                state: s.state,
                worker_id: s.worker_id,
                version: Some(entry.plugin.version.to_owned()),
                trace: s.trace,
            })
            .collect();
        ConnectorStateInfo {
            name: name.to_owned(),
            connector,
            tasks,
            connector_type: entry.plugin.kind.name().to_owned(),
        }
    }

    /// Offsets may change only while the connector is stopped with no tasks.
    fn require_stopped(name: &str, entry: &ConnectorEntry) -> HerderResult<()> {
        if entry.target != TargetState::Stopped || !entry.tasks.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(())
    }

    /// Creates or replaces a connector from a config file given on the
    /// command line.
    pub async fn add_connector(&self, config: Props) -> HerderResult<ConnectorInfo> {
        let name = config.get(NAME).cloned().unwrap_or_default();
        Ok(self
            .put_connector_config(&name, config, true, None)
            .await?
            .value)
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
    async fn server_info(&self) -> HerderResult<ServerInfo> {
        Ok(self.server_info.clone())
    }

    async fn health(&self) -> HerderResult<String> {
        Ok("Worker has completed startup and is ready to handle requests.".into())
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(self.info_of(name, entry))
    }

    async fn connector_config(&self, name: &str) -> HerderResult<Props> {
        let connectors = self.connectors.lock().await;
        Ok(connectors
            .get(name)
            .ok_or_else(|| not_found(name))?
            .config
            .clone())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        config.insert(NAME.into(), name.to_owned());
        let (plugin, infos) = self.validate(&config)?;
        if infos.error_count > 0 {
            return Err(HerderError::BadRequest(invalid_config_message(&infos)));
        }
        let mut connectors = self.connectors.lock().await;
        let created = match connectors.get_mut(name) {
            Some(_) if !allow_replace => {
                return Err(HerderError::Conflict(format!(
                    "Connector {name} already exists"
                )));
            }
            Some(entry) => {
                info!(connector = name, "reconfiguring connector");
                self.stop_all_tasks(name, entry).await;
                self.stop_connector_instance(name, entry).await;
                entry.config = config;
                entry.plugin = plugin;
                entry.task_configs.clear();
                self.start_connector(name, entry).await;
                false
            }
            None => {
                info!(connector = name, class = plugin.class, "creating connector");
                let mut entry = ConnectorEntry {
                    config,
                    plugin,
                    target: initial_state.unwrap_or(TargetState::Started),
                    instance: None,
                    task_configs: Vec::new(),
                    tasks: BTreeMap::new(),
                };
                self.start_connector(name, &mut entry).await;
                connectors.insert(name.to_owned(), entry);
                true
            }
        };
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(Created {
            created,
            value: self.info_of(name, entry),
        })
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        let mut config = self.connector_config(name).await?;
        connector_ops::apply_patch(&mut config, patch);
        Ok(self
            .put_connector_config(name, config, true, None)
            .await?
            .value)
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        let mut connectors = self.connectors.lock().await;
        let mut entry = connectors.remove(name).ok_or_else(|| not_found(name))?;
        self.stop_all_tasks(name, &mut entry).await;
        self.stop_connector_instance(name, &mut entry).await;
        self.worker.status.remove_connector(name);
        info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        Ok(self.status_of(name, entry))
    }

    async fn task_status(&self, id: &TaskId) -> HerderResult<TaskState> {
        let missing = || HerderError::NotFound(format!("No status found for task {id}"));
        let s = self
            .worker
            .status
            .task(&id.connector, id.task)
            .ok_or_else(missing)?;
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(&id.connector).ok_or_else(missing)?;
        if id.task as usize >= entry.task_configs.len() {
            return Err(missing());
        }
        Ok(TaskState {
            id: id.task,
            state: s.state,
            worker_id: s.worker_id,
            version: Some(entry.plugin.version.to_owned()),
            trace: s.trace,
        })
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(entry
            .task_configs
            .iter()
            .enumerate()
            .map(|(i, c)| TaskInfo {
                id: TaskId {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                config: c.clone(),
            })
            .collect())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HerderResult<Option<RestartPlan>> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector: {name}")))?;
        let status = self.status_of(name, entry);
        let restart_connector = !only_failed || status.connector.state == State::Failed;
        let tasks_to_restart: Vec<u32> = if include_tasks {
            status
                .tasks
                .iter()
                .filter(|t| !only_failed || t.state == State::Failed)
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        let mut plan = status.clone();
        if restart_connector {
            plan.connector.state = State::Restarting;
        }
        for t in plan.tasks.iter_mut() {
            if tasks_to_restart.contains(&t.id) {
                t.state = State::Restarting;
                t.trace = None;
            }
        }
        if entry.target != TargetState::Stopped {
            if !tasks_to_restart.is_empty() {
                let tasks: Vec<(u32, TaskHandle)> = tasks_to_restart
                    .iter()
                    .filter_map(|id| entry.tasks.remove(id).map(|h| (*id, h)))
                    .collect();
                self.worker.stop_tasks(name, tasks).await;
            }
            if restart_connector {
                self.stop_connector_instance(name, entry).await;
                let mut instance = (entry.plugin.new_connector)();
                let ctx = Arc::new(Context {
                    name: name.to_owned(),
                    events: self.events.clone(),
                });
                match instance.start(entry.config.clone(), ctx).await {
                    Ok(()) => {
                        let state = if entry.target == TargetState::Paused {
                            State::Paused
                        } else {
                            State::Running
                        };
                        self.worker.status.set_connector(name, state, None);
                        entry.instance = Some(instance);
                    }
                    Err(e) => self.worker.status.set_connector(
                        name,
                        State::Failed,
                        Some(format!(
                            "org.apache.kafka.connect.errors.ConnectException: {}",
                            trace_of(&e)
                        )),
                    ),
                }
            }
            if !tasks_to_restart.is_empty() {
                self.start_tasks(name, entry, Some(&tasks_to_restart));
            }
        }
        if !include_tasks && !only_failed {
            return Ok(None);
        }
        Ok(Some(plan))
    }

    async fn restart_task(&self, id: &TaskId) -> HerderResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors
            .get_mut(&id.connector)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector: {}", id.connector)))?;
        if id.task as usize >= entry.task_configs.len() {
            return Err(HerderError::NotFound(format!("Unknown task: {id}")));
        }
        if let Some(h) = entry.tasks.remove(&id.task) {
            self.worker
                .stop_tasks(&id.connector, vec![(id.task, h)])
                .await;
        }
        self.start_tasks(&id.connector, entry, Some(&[id.task]));
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
        if entry.target == TargetState::Stopped {
            // Pausing a stopped connector leaves it stopped, without tasks.
            entry.target = TargetState::Paused;
            self.start_connector(name, entry).await;
            return Ok(());
        }
        entry.target = TargetState::Paused;
        for t in entry.tasks.values() {
            t.set_target(TargetState::Paused);
        }
        if entry.instance.is_some() {
            self.worker.status.set_connector(name, State::Paused, None);
        }
        Ok(())
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
        let was = entry.target;
        entry.target = TargetState::Started;
        if was == TargetState::Stopped {
            self.start_connector(name, entry).await;
            return Ok(());
        }
        for t in entry.tasks.values() {
            t.set_target(TargetState::Started);
        }
        if entry.instance.is_some() {
            self.worker.status.set_connector(name, State::Running, None);
        }
        Ok(())
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors
            .get_mut(name)
            .ok_or_else(|| HerderError::NotFound(format!("Unknown connector {name}")))?;
        entry.target = TargetState::Stopped;
        self.stop_all_tasks(name, entry).await;
        self.stop_connector_instance(name, entry).await;
        entry.task_configs.clear();
        self.worker.status.set_connector(name, State::Stopped, None);
        info!(connector = name, "connector stopped");
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        connector_ops::read_offsets(
            &self.admin,
            &self.worker.offsets,
            name,
            entry.plugin.kind,
            &entry.config,
        )
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message> {
        connector_ops::require_offsets(&offsets)?;
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Self::require_stopped(name, entry)?;
        connector_ops::alter_offsets(
            &self.admin,
            &self.worker.offsets,
            name,
            entry.plugin.kind,
            &entry.config,
            offsets,
        )
        .await
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Self::require_stopped(name, entry)?;
        connector_ops::reset_offsets(
            &self.admin,
            &self.worker.offsets,
            name,
            entry.plugin.kind,
            &entry.config,
        )
        .await
    }

    async fn active_topics(&self, name: &str) -> HerderResult<ActiveTopicsInfo> {
        if !self.worker.config.topic_tracking() {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.connectors.lock().await.contains_key(name) {
            return Err(not_found(name));
        }
        let mut out = ActiveTopicsInfo::new();
        out.insert(
            name.to_owned(),
            ActiveTopics {
                topics: self.worker.status.topics(name),
            },
        );
        Ok(out)
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        if !self.worker.config.topic_tracking() {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.worker.config.topic_tracking_reset() {
            return Err(HerderError::Forbidden(
                "Topic tracking reset is disabled.".into(),
            ));
        }
        if !self.connectors.lock().await.contains_key(name) {
            return Err(not_found(name));
        }
        self.worker.status.reset_topics(name);
        Ok(())
    }

    async fn validate_connector_config(&self, config: Props) -> HerderResult<ConfigInfos> {
        Ok(self.validate(&config)?.1)
    }

    fn plugins(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        self.plugins.list(types)
    }

    fn plugin_config(&self, plugin: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
        connector_ops::plugin_config(&self.plugins, plugin)
    }
}
