//! The standalone herder: connectors from the command line and the REST API,
//! source offsets in a local file, statuses in memory — Kafka Connect's
//! `StandaloneHerder`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::config::{ConfigInfos, ConfigKeyInfo};
use ferry_api::{lock, PluginDescriptor};
use ferry_kafka::Admin;
use tokio::sync::{mpsc, watch, Mutex};
use tracing::info;

use crate::connector::{ConnectorEvent, ConnectorSpec, EventSink, Phase, WorkerConnector};
use crate::connector_config::NAME;
use crate::connector_ops::{self, not_found};
use crate::connector_rules::ConnectorRules;
use crate::entities::{
    ActiveTopicsInfo, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, Message, PluginInfo,
    RestartPlan, ServerInfo, State, TargetState, TaskId, TaskInfo, TaskState,
};
use crate::herder::{Created, Herder, HerderError, HerderResult, PluginType};
use crate::plugins::CONNECT_VERSION;
use crate::redact::Secrets;
use crate::worker::{TaskHandle, Worker};
use crate::Props;

/// How long a create or update waits for the connector to start and
/// configure its tasks before answering without them (as Kafka Connect's
/// standalone worker answers with the tasks once the connector started).
const START_WAIT: Duration = Duration::from_secs(3);

/// What the REST API reads of a connector; replaced under a short lock.
struct ConnectorView {
    config: Props,
    plugin: PluginDescriptor,
    target: TargetState,
    task_configs: Vec<Props>,
}

/// What runs for a connector; changed by one request at a time.
#[derive(Default)]
struct Running {
    connector: Option<WorkerConnector>,
    tasks: BTreeMap<u32, TaskHandle>,
    /// The sequence of the task configs applied last, to skip late events.
    applied_sequence: u64,
    /// Removed from the herder: a request that waited for this lock must
    /// not bring it back to life.
    deleted: bool,
}

struct ConnectorSlot {
    name: String,
    view: std::sync::Mutex<ConnectorView>,
    running: Mutex<Running>,
    /// Counts task-config applications, so a create can wait for the first.
    applied: watch::Sender<u64>,
}

impl ConnectorSlot {
    fn view(&self) -> std::sync::MutexGuard<'_, ConnectorView> {
        lock(&self.view)
    }
}

pub struct StandaloneHerder {
    /// The worker, whose plugin registry the herder finds connectors in.
    worker: Arc<Worker>,
    /// The worker's rules for connector configs, built once.
    rules: Arc<ConnectorRules>,
    admin: Admin,
    server_info: ServerInfo,
    /// Held only to look a connector up, never across an await.
    connectors: std::sync::Mutex<BTreeMap<String, Arc<ConnectorSlot>>>,
    events: EventSink,
}

impl StandaloneHerder {
    /// Builds the herder and starts its background event loop.
    pub async fn start(worker: Arc<Worker>, commit: &str) -> Result<Arc<Self>, String> {
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
            rules: Arc::new(ConnectorRules::new(&worker.config)),
            worker,
            admin,
            server_info: ServerInfo {
                version: CONNECT_VERSION.to_owned(),
                commit: commit.to_owned(),
                kafka_cluster_id: cluster_id,
            },
            connectors: std::sync::Mutex::new(BTreeMap::new()),
            events: Arc::new(move |e| {
                let _ = tx.send(e);
            }),
        });
        let weak = Arc::downgrade(&herder);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let Some(h) = weak.upgrade() else { break };
                // Each connector's tasks change on their own, so one slow
                // to stop does not hold up the others.
                tokio::spawn(async move { h.handle_event(event).await });
            }
        });
        Ok(herder)
    }

    fn slot(&self, name: &str) -> Option<Arc<ConnectorSlot>> {
        lock(&self.connectors).get(name).cloned()
    }

    async fn handle_event(&self, event: ConnectorEvent) {
        let ConnectorEvent::TaskConfigs {
            connector,
            generation,
            sequence,
            configs,
        } = event;
        let Some(slot) = self.slot(&connector) else {
            return;
        };
        let mut running = slot.running.lock().await;
        let current = running.connector.as_ref().map(WorkerConnector::generation);
        if running.deleted || current != Some(generation) || sequence <= running.applied_sequence {
            return;
        }
        running.applied_sequence = sequence;
        let (target, unchanged) = {
            let view = slot.view();
            (view.target, view.task_configs == configs)
        };
        if target == TargetState::Stopped {
            return;
        }
        if !(unchanged
            && !running.tasks.is_empty()
            && running.tasks.values().all(|t| !t.is_finished()))
        {
            self.stop_all_tasks(&slot, &mut running).await;
            slot.view().task_configs = configs;
            self.start_tasks(&slot, &mut running, None);
        }
        slot.applied.send_modify(|n| *n += 1);
    }

    /// Spawns the connector's lifecycle per its target state; its tasks
    /// follow once it has generated their configs.
    fn start_connector(&self, slot: &ConnectorSlot, running: &mut Running) {
        running.applied_sequence = 0;
        let spec = {
            let view = slot.view();
            ConnectorSpec {
                name: slot.name.clone(),
                plugin: view.plugin.clone(),
                config: view.config.clone(),
                target: view.target,
                secrets: Secrets::for_plugin(&self.worker.plugins, &view.plugin, &view.config),
            }
        };
        running.connector = Some(WorkerConnector::spawn(
            spec,
            self.rules.clone(),
            self.worker.status.clone(),
            self.events.clone(),
        ));
    }

    fn start_tasks(&self, slot: &ConnectorSlot, running: &mut Running, only: Option<&[u32]>) {
        let view = slot.view();
        for (i, cfg) in view.task_configs.iter().enumerate() {
            let id = i as u32;
            if only.is_some_and(|o| !o.contains(&id)) {
                continue;
            }
            if let Some(handle) = self.worker.start_task(
                &view.plugin,
                &slot.name,
                id,
                &view.config,
                cfg.clone(),
                view.target,
            ) {
                running.tasks.insert(id, handle);
            }
        }
    }

    async fn stop_all_tasks(&self, slot: &ConnectorSlot, running: &mut Running) {
        let tasks: Vec<(u32, TaskHandle)> =
            std::mem::take(&mut running.tasks).into_iter().collect();
        self.worker.stop_tasks(&slot.name, tasks).await;
        let count = slot.view().task_configs.len();
        for id in 0..count {
            self.worker.status.remove_task(&slot.name, id as u32);
        }
    }

    async fn stop_connector_instance(&self, running: &mut Running) {
        if let Some(connector) = running.connector.take() {
            connector.stop(self.worker.config.shutdown_timeout()).await;
        }
    }

    /// Stops tasks and connector, outside any lock but this connector's.
    async fn stop_everything(&self, slot: &ConnectorSlot, running: &mut Running) {
        self.stop_all_tasks(slot, running).await;
        self.stop_connector_instance(running).await;
    }

    /// Waits a little for a new connector to start and configure its tasks,
    /// so that the answer can list them.
    async fn wait_for_tasks(
        slot: &ConnectorSlot,
        phase: watch::Receiver<Phase>,
        applied_before: u64,
    ) {
        let mut phase = phase;
        let mut applied = slot.applied.subscribe();
        let started_and_applied = async {
            let started = phase.wait_for(|p| *p != Phase::Starting).await;
            if started.is_ok_and(|p| *p == Phase::Started) {
                let _ = applied.wait_for(|n| *n > applied_before).await;
            }
        };
        let _ = tokio::time::timeout(START_WAIT, started_and_applied).await;
    }

    /// Stops everything: tasks drain and commit within the graceful timeout.
    pub async fn shutdown(&self) {
        let slots: Vec<Arc<ConnectorSlot>> = lock(&self.connectors).values().cloned().collect();
        let names: Vec<String> = slots.iter().map(|s| s.name.clone()).collect();
        let stops = slots.iter().map(|slot| async move {
            let mut running = slot.running.lock().await;
            self.stop_everything(slot, &mut running).await;
        });
        futures::future::join_all(stops).await;
        info!(connectors = ?names, "herder stopped");
    }

    fn validate(&self, config: &Props) -> HerderResult<(PluginDescriptor, ConfigInfos)> {
        connector_ops::validate(&self.worker.plugins, &self.rules, config)
    }

    fn info_of(name: &str, view: &ConnectorView) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: view.config.clone(),
            tasks: (0..view.task_configs.len() as u32)
                .map(|task| TaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            connector_type: view.plugin.kind.name().to_owned(),
        }
    }

    fn status_of(&self, name: &str, view: &ConnectorView) -> ConnectorStateInfo {
        let status = &self.worker.status;
        connector_ops::state_info(
            status,
            name,
            view.plugin.kind.name(),
            Some(view.plugin.version.to_owned()),
            view.task_configs.len() as u32,
            status.worker_id(),
        )
    }

    /// Offsets may change only while the connector is stopped with no tasks.
    async fn require_stopped(slot: &ConnectorSlot) -> HerderResult<()> {
        let stopped = slot.view().target == TargetState::Stopped;
        if !stopped || !slot.running.lock().await.tasks.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{}/stop' endpoint",
                slot.name
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

    /// Pauses, resumes or stops a connector and its tasks.
    async fn set_target(&self, name: &str, target: TargetState) -> HerderResult<()> {
        let unknown = || HerderError::NotFound(format!("Unknown connector {name}"));
        let slot = self.known(name, unknown)?;
        let mut running = slot.running.lock().await;
        if running.deleted {
            return Err(unknown());
        }
        slot.view().target = target;
        if target == TargetState::Stopped {
            self.stop_all_tasks(&slot, &mut running).await;
            slot.view().task_configs.clear();
            self.worker.status.set_connector(name, State::Stopped, None);
        } else {
            for t in running.tasks.values() {
                t.set_target(target);
            }
        }
        match &running.connector {
            Some(connector) => connector.set_target(target),
            None => self.start_connector(&slot, &mut running),
        }
        Ok(())
    }

    fn known(
        &self,
        name: &str,
        missing: impl FnOnce() -> HerderError,
    ) -> HerderResult<Arc<ConnectorSlot>> {
        self.slot(name).ok_or_else(missing)
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
        lock(&self.connectors).keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let slot = self.known(name, || not_found(name))?;
        let view = slot.view();
        Ok(Self::info_of(name, &view))
    }

    async fn connector_config(&self, name: &str) -> HerderResult<Props> {
        let slot = self.known(name, || not_found(name))?;
        let config = slot.view().config.clone();
        Ok(config)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        let plugin =
            connector_ops::validate_for_put(&self.worker.plugins, &self.rules, name, &mut config)?;
        loop {
            let (slot, created) = {
                let mut connectors = lock(&self.connectors);
                match connectors.get(name) {
                    Some(_) if !allow_replace => {
                        return Err(HerderError::Conflict(format!(
                            "Connector {name} already exists"
                        )));
                    }
                    Some(slot) => (slot.clone(), false),
                    None => {
                        let slot = Arc::new(ConnectorSlot {
                            name: name.to_owned(),
                            view: std::sync::Mutex::new(ConnectorView {
                                config: config.clone(),
                                plugin: plugin.clone(),
                                target: initial_state.unwrap_or(TargetState::Started),
                                task_configs: Vec::new(),
                            }),
                            running: Mutex::new(Running::default()),
                            applied: watch::channel(0).0,
                        });
                        connectors.insert(name.to_owned(), slot.clone());
                        (slot, true)
                    }
                }
            };
            let mut running = slot.running.lock().await;
            if running.deleted {
                // Deleted while this request waited: create it anew.
                continue;
            }
            if created {
                info!(connector = name, class = plugin.class, "creating connector");
            } else {
                info!(connector = name, "reconfiguring connector");
                self.stop_everything(&slot, &mut running).await;
                let mut view = slot.view();
                view.config = config;
                view.plugin = plugin;
                view.task_configs.clear();
            }
            let applied_before = *slot.applied.borrow();
            self.start_connector(&slot, &mut running);
            let phase = running.connector.as_ref().map(WorkerConnector::phase);
            drop(running);
            if let Some(phase) = phase {
                Self::wait_for_tasks(&slot, phase, applied_before).await;
            }
            let view = slot.view();
            return Ok(Created {
                created,
                value: Self::info_of(name, &view),
            });
        }
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        let slot = self.known(name, || not_found(name))?;
        let mut running = slot.running.lock().await;
        if running.deleted {
            return Err(not_found(name));
        }
        running.deleted = true;
        lock(&self.connectors).remove(name);
        self.stop_everything(&slot, &mut running).await;
        self.worker.status.remove_connector(name);
        info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        let slot = self.known(name, || {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        let view = slot.view();
        Ok(self.status_of(name, &view))
    }

    async fn task_status(&self, id: &TaskId) -> HerderResult<TaskState> {
        let missing = || HerderError::NotFound(format!("No status found for task {id}"));
        let s = self
            .worker
            .status
            .task(&id.connector, id.task)
            .ok_or_else(missing)?;
        let slot = self.known(&id.connector, missing)?;
        let view = slot.view();
        if id.task as usize >= view.task_configs.len() {
            return Err(missing());
        }
        Ok(TaskState {
            id: id.task,
            state: s.state,
            worker_id: s.worker_id,
            version: Some(view.plugin.version.to_owned()),
            trace: s.trace,
        })
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        let slot = self.known(name, || not_found(name))?;
        let view = slot.view();
        Ok(view
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
        let unknown = || HerderError::NotFound(format!("Unknown connector: {name}"));
        let slot = self.known(name, unknown)?;
        let mut running = slot.running.lock().await;
        if running.deleted {
            return Err(unknown());
        }
        let (status, target) = {
            let view = slot.view();
            (self.status_of(name, &view), view.target)
        };
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
        if target != TargetState::Stopped {
            if !tasks_to_restart.is_empty() {
                let tasks: Vec<(u32, TaskHandle)> = tasks_to_restart
                    .iter()
                    .filter_map(|id| running.tasks.remove(id).map(|h| (*id, h)))
                    .collect();
                self.worker.stop_tasks(name, tasks).await;
            }
            if restart_connector {
                self.stop_connector_instance(&mut running).await;
                self.worker
                    .status
                    .set_connector(name, State::Restarting, None);
                self.start_connector(&slot, &mut running);
            }
            if !tasks_to_restart.is_empty() {
                self.start_tasks(&slot, &mut running, Some(&tasks_to_restart));
            }
        }
        if !include_tasks && !only_failed {
            return Ok(None);
        }
        Ok(Some(plan))
    }

    async fn restart_task(&self, id: &TaskId) -> HerderResult<()> {
        let unknown = || HerderError::NotFound(format!("Unknown connector: {}", id.connector));
        let slot = self.known(&id.connector, unknown)?;
        let mut running = slot.running.lock().await;
        if running.deleted {
            return Err(unknown());
        }
        if id.task as usize >= slot.view().task_configs.len() {
            return Err(HerderError::NotFound(format!("Unknown task: {id}")));
        }
        if let Some(h) = running.tasks.remove(&id.task) {
            self.worker
                .stop_tasks(&id.connector, vec![(id.task, h)])
                .await;
        }
        self.start_tasks(&slot, &mut running, Some(&[id.task]));
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        self.set_target(name, TargetState::Paused).await
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        self.set_target(name, TargetState::Started).await
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        self.set_target(name, TargetState::Stopped).await?;
        info!(connector = name, "connector stopped");
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let slot = self.known(name, || not_found(name))?;
        let (kind, config) = {
            let view = slot.view();
            (view.plugin.kind, view.config.clone())
        };
        connector_ops::read_offsets(&self.admin, &self.worker.offsets, name, kind, &config)
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message> {
        connector_ops::require_offsets(&offsets)?;
        let slot = self.known(name, || not_found(name))?;
        Self::require_stopped(&slot).await?;
        let (kind, config) = {
            let view = slot.view();
            (view.plugin.kind, view.config.clone())
        };
        connector_ops::alter_offsets(
            &self.admin,
            &self.worker.offsets,
            name,
            kind,
            &config,
            offsets,
        )
        .await
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        let slot = self.known(name, || not_found(name))?;
        Self::require_stopped(&slot).await?;
        let (kind, config) = {
            let view = slot.view();
            (view.plugin.kind, view.config.clone())
        };
        connector_ops::reset_offsets(&self.admin, &self.worker.offsets, name, kind, &config).await
    }

    async fn active_topics(&self, name: &str) -> HerderResult<ActiveTopicsInfo> {
        self.known(name, || not_found(name))?;
        connector_ops::active_topics(&self.worker.config, &self.worker.status, name)
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        self.known(name, || not_found(name))?;
        connector_ops::reset_active_topics(&self.worker.config, &self.worker.status, name)
    }

    async fn validate_connector_config(&self, config: Props) -> HerderResult<ConfigInfos> {
        Ok(self.validate(&config)?.1)
    }

    fn plugins(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        self.worker.plugins.list(types)
    }

    fn plugin_config(&self, plugin: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
        connector_ops::plugin_config(&self.worker.plugins, plugin)
    }
}
