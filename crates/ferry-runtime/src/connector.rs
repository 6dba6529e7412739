//! One owner of a connector instance's lifecycle, Kafka Connect's
//! `WorkerConnector`: start, pause, resume, stop, task-config generation and
//! failure, run in the connector's own tokio task.
//!
//! Herders hold a [`WorkerConnector`] handle and send it commands; they
//! never await a connector's `start()`. A connector that takes a minute to
//! start (a JDBC source retrying an unreachable database) stays
//! `UNASSIGNED` in its status meanwhile, and every other request is
//! answered at once. Task configs flow back to the herder as
//! [`ConnectorEvent`]s; the herder owns the tasks.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_api::{ConnectError, Connector, ConnectorContext, PluginDescriptor};
use futures::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn, Instrument};

use crate::connector_ops;
use crate::connector_rules::ConnectorRules;
use crate::entities::{State, TargetState};
use crate::redact::Secrets;
use crate::status::{trace_of, StatusStore};
use crate::Props;

/// What a running connector tells its herder.
#[derive(Debug)]
pub enum ConnectorEvent {
    /// The connector (re)generated its task configs: after it started, and
    /// whenever it asked for a task reconfiguration.
    TaskConfigs {
        connector: String,
        /// Which [`WorkerConnector`] sent it: events of one already replaced
        /// are ignored.
        generation: u64,
        /// Counts the connector's task-config generations, so that a herder
        /// can tell a late event from the latest.
        sequence: u64,
        configs: Vec<Props>,
    },
}

/// Where a herder receives its connectors' events.
pub type EventSink = Arc<dyn Fn(ConnectorEvent) + Send + Sync>;

/// How far the connector got, for callers that want to wait a little for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    /// Started; its first task configs were sent.
    Started,
    Failed,
    Stopped,
}

enum Command {
    Target(TargetState),
    Reconfigure,
    Failed(String),
    Stop,
}

static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// The handle a herder keeps for a connector running on this worker.
pub struct WorkerConnector {
    name: String,
    generation: u64,
    commands: mpsc::UnboundedSender<Command>,
    phase: watch::Receiver<Phase>,
    join: JoinHandle<()>,
}

/// What the connector's own task needs to run it.
pub struct ConnectorSpec {
    pub name: String,
    pub plugin: PluginDescriptor,
    pub config: Props,
    pub target: TargetState,
    /// The config's passwords, hidden wherever the connector's errors
    /// quote them.
    pub secrets: Secrets,
}

impl WorkerConnector {
    /// Spawns the connector's task; returns at once. The connector starts
    /// unless its target state is `STOPPED`, and fails instead if its
    /// config breaks the worker's `rules` (a config stored before they
    /// applied).
    pub fn spawn(
        spec: ConnectorSpec,
        rules: Arc<ConnectorRules>,
        status: Arc<StatusStore>,
        events: EventSink,
    ) -> Self {
        let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let (phase_tx, phase_rx) = watch::channel(Phase::Starting);
        let span = tracing::info_span!("connector", connector = %spec.name);
        let runner = Runner {
            instance: (spec.plugin.new_connector)(),
            name: spec.name.clone(),
            generation,
            secrets: spec.secrets,
            plugin: spec.plugin,
            resolved: Props::new(),
            config: spec.config,
            target: spec.target,
            rules,
            started: false,
            failed: false,
            sequence: 0,
            status,
            events,
            phase: phase_tx,
            commands: rx,
            context: Arc::new(Context {
                commands: tx.clone(),
            }),
        };
        let join = tokio::spawn(runner.run().instrument(span));
        WorkerConnector {
            name: spec.name,
            generation,
            commands: tx,
            phase: phase_rx,
            join,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Pauses, resumes or stops the connector instance.
    pub fn set_target(&self, target: TargetState) {
        let _ = self.commands.send(Command::Target(target));
    }

    /// Follows how far the connector got.
    pub fn phase(&self) -> watch::Receiver<Phase> {
        self.phase.clone()
    }

    /// Stops the instance (abandoning a `start()` still under way) and waits
    /// at most `timeout` for it; a connector that overruns is cancelled.
    pub async fn stop(self, timeout: Duration) {
        let _ = self.commands.send(Command::Stop);
        let abort = self.join.abort_handle();
        if tokio::time::timeout(timeout, self.join).await.is_err() {
            warn!(connector = %self.name, ?timeout, "connector did not stop in time; cancelling it");
            abort.abort();
        }
    }
}

/// The connector's view of the runtime.
struct Context {
    commands: mpsc::UnboundedSender<Command>,
}

impl ConnectorContext for Context {
    fn request_task_reconfiguration(&self) {
        let _ = self.commands.send(Command::Reconfigure);
    }
    fn raise_error(&self, error: ConnectError) {
        let _ = self.commands.send(Command::Failed(trace_of(&error)));
    }
}

struct Runner {
    name: String,
    generation: u64,
    plugin: PluginDescriptor,
    /// The config as stored, config-provider placeholders and all.
    config: Props,
    /// The config the instance started with: placeholders resolved.
    resolved: Props,
    /// The config's passwords, hidden in failure traces and logs.
    secrets: Secrets,
    target: TargetState,
    rules: Arc<ConnectorRules>,
    instance: Box<dyn Connector>,
    /// `start()` succeeded and `stop()` was not called since.
    started: bool,
    /// Failed to start or raised an error: stays so until restarted.
    failed: bool,
    /// Task-config generations sent so far.
    sequence: u64,
    status: Arc<StatusStore>,
    events: EventSink,
    phase: watch::Sender<Phase>,
    commands: mpsc::UnboundedReceiver<Command>,
    context: Arc<Context>,
}

impl Runner {
    async fn run(mut self) {
        if self.apply_target().await.is_continue() {
            while let Some(command) = self.commands.recv().await {
                let flow = match command {
                    Command::Target(t) => {
                        self.target = t;
                        self.apply_target().await
                    }
                    Command::Reconfigure => {
                        if self.started && self.target != TargetState::Stopped {
                            self.send_task_configs();
                        }
                        ControlFlow::Continue(())
                    }
                    Command::Failed(trace) => {
                        self.fail(trace);
                        ControlFlow::Continue(())
                    }
                    Command::Stop => ControlFlow::Break(()),
                };
                if flow.is_break() {
                    break;
                }
            }
        }
        self.stop_instance().await;
    }

    /// Brings the instance in line with the target state; breaks when the
    /// connector was told to stop for good while starting.
    async fn apply_target(&mut self) -> ControlFlow<()> {
        match self.target {
            TargetState::Stopped => {
                self.stop_instance().await;
                self.failed = false;
                self.status.set_connector(&self.name, State::Stopped, None);
                self.phase.send_replace(Phase::Stopped);
            }
            TargetState::Paused | TargetState::Started if self.failed => {}
            TargetState::Paused | TargetState::Started => {
                if !self.started {
                    self.start().await?;
                    if !self.started || self.failed {
                        return ControlFlow::Continue(());
                    }
                    info!(connector = %self.name, "connector started");
                    self.set_running_state();
                    self.send_task_configs();
                    if !self.failed {
                        self.phase.send_replace(Phase::Started);
                    }
                } else {
                    self.set_running_state();
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn set_running_state(&self) {
        let state = if self.target == TargetState::Paused {
            State::Paused
        } else {
            State::Running
        };
        self.status.set_connector(&self.name, state, None);
    }

    /// Runs `start()` while still taking commands: a stop abandons it,
    /// other commands update what to do once it returns.
    async fn start(&mut self) -> ControlFlow<()> {
        // Placeholders are resolved each time the instance starts, so a
        // rotated secret is read again on restart.
        match self.rules.providers.resolve(&self.config) {
            Ok(resolved) => {
                self.secrets = std::mem::take(&mut self.secrets).with_values(&resolved.values);
                self.resolved = resolved.config;
            }
            Err(e) => {
                self.fail(format!(
                    "org.apache.kafka.common.config.ConfigException: {e}"
                ));
                return ControlFlow::Continue(());
            }
        }
        // A config stored before the worker's rules (or written to the
        // config topic by another writer) fails this connector alone.
        let broken = match self
            .rules
            .files
            .check_connector(&self.plugin, &self.resolved)
        {
            Err(e) => Some(trace_of(&e)),
            Ok(()) => self.rules.tasks_max_error(&self.resolved),
        };
        if let Some(reason) = broken {
            self.fail(format!(
                "org.apache.kafka.connect.errors.ConnectException: {reason}"
            ));
            return ControlFlow::Continue(());
        }
        let ctx: Arc<dyn ConnectorContext> = self.context.clone();
        // A panic in the connector's code fails the connector, as an
        // exception thrown by a Java connector does.
        let mut start =
            AssertUnwindSafe(self.instance.start(self.resolved.clone(), ctx)).catch_unwind();
        let mut raised = None;
        let result = loop {
            tokio::select! {
                r = &mut start => break Some(r.unwrap_or_else(|panic| Err(ConnectError::other(format!(
                    "The connector panicked: {}",
                    crate::task::panic_message(&*panic)
                ))))),
                command = self.commands.recv() => match command {
                    None | Some(Command::Stop) => return ControlFlow::Break(()),
                    Some(Command::Target(TargetState::Stopped)) => {
                        self.target = TargetState::Stopped;
                        break None;
                    }
                    Some(Command::Target(t)) => self.target = t,
                    // Task configs are generated once it has started anyway.
                    Some(Command::Reconfigure) => {}
                    Some(Command::Failed(trace)) => raised = Some(trace),
                },
            }
        };
        drop(start);
        match result {
            Some(Ok(())) => {
                self.started = true;
                if let Some(trace) = raised {
                    self.fail(trace);
                }
            }
            Some(Err(e)) => {
                error!(connector = %self.name, error = %self.secrets.scrub(&e.to_string()), "connector failed to start");
                self.fail(format!(
                    "org.apache.kafka.connect.errors.ConnectException: {}",
                    trace_of(&e)
                ));
            }
            // Stopped while starting: stop what may be half started.
            None => {
                self.started = true;
                return Box::pin(self.apply_target()).await;
            }
        }
        ControlFlow::Continue(())
    }

    fn fail(&mut self, trace: String) {
        let trace = self.secrets.scrub(&trace);
        error!(connector = %self.name, "connector failed: {trace}");
        self.failed = true;
        self.status
            .set_connector(&self.name, State::Failed, Some(trace));
        self.phase.send_replace(Phase::Failed);
    }

    fn send_task_configs(&mut self) {
        match connector_ops::generate_task_configs(
            &self.name,
            self.instance.as_ref(),
            &self.plugin,
            &self.resolved,
            self.rules.max_tasks,
        ) {
            Ok(mut configs) => {
                // Stored without the secrets: each task resolves them.
                crate::config_providers::reverse_transform(&self.config, &mut configs);
                self.sequence += 1;
                (self.events)(ConnectorEvent::TaskConfigs {
                    connector: self.name.clone(),
                    generation: self.generation,
                    sequence: self.sequence,
                    configs,
                })
            }
            Err(trace) => self.fail(trace),
        }
    }

    async fn stop_instance(&mut self) {
        if std::mem::take(&mut self.started) {
            if let Err(e) = self.instance.stop().await {
                warn!(connector = %self.name, error = %e, "connector stop failed");
            }
        }
    }
}
