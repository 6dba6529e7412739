//! The worker: builds and runs connector instances and tasks with their
//! converters and Kafka clients. Herders decide what runs; the worker knows
//! how.

use std::sync::Arc;

use ferry_api::{ConnectorKind, PluginDescriptor, SinkTaskContext, SourceTaskContext};
use ferry_kafka::consumer::sink_consumer_defaults;
use ferry_kafka::producer::source_producer_defaults;
use ferry_kafka::{Admin, Consumer, ProducerPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn, Instrument};

use crate::client_overrides::ClientKind;
use crate::connector_config::SinkTopics;
use crate::entities::{State, TargetState};
use crate::error_handling::SinkErrantRecordReporter;
use crate::errors::TaskError;
use crate::offsets::{ConnectorOffsetReader, OffsetStore};
use crate::plugins::Plugins;
use crate::redact::Secrets;
use crate::sink_task::SinkTaskRunner;
use crate::source_task::{SourceTaskRunner, SubmittedRecords};
use crate::status::{trace_of, StatusStore};
use crate::task::{self, TaskCore, TaskSpec};
use crate::topic_creation::{self, TopicCreation};
use crate::worker_config::WorkerConfig;
use crate::Props;

/// A running task: its target-state switch and its loop.
pub struct TaskHandle {
    target: watch::Sender<TargetState>,
    join: JoinHandle<()>,
}

impl TaskHandle {
    pub fn set_target(&self, target: TargetState) {
        self.target.send_replace(target);
    }
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

pub struct Worker {
    pub config: WorkerConfig,
    /// Every plugin this worker can run, found by class name or alias.
    pub plugins: Arc<Plugins>,
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
    /// Source tasks' and dead letter queues' producers, shared by tasks
    /// whose producer settings are equal.
    pub producers: Arc<ProducerPool>,
}

fn no_task(plugin: &PluginDescriptor) -> TaskError {
    TaskError::Setup {
        context: format!("{} has no {} task", plugin.class, plugin.kind.name()),
        source: None,
    }
}

/// The consumer group of a sink connector.
pub fn sink_group(connector: &str, config: &Props) -> String {
    config
        .get("consumer.override.group.id")
        .cloned()
        .unwrap_or_else(|| format!("connect-{connector}"))
}

impl Worker {
    /// Builds and spawns a task; on a setup failure the task is recorded as
    /// FAILED and no loop runs.
    pub fn start_task(
        &self,
        plugin: &PluginDescriptor,
        connector: &str,
        task_id: u32,
        connector_config: &Props,
        task_config: Props,
        target: TargetState,
    ) -> Option<TaskHandle> {
        self.status
            .set_task(connector, task_id, State::Unassigned, None);
        // Stored configs keep their config-provider placeholders; the task
        // runs with them resolved, read now.
        let providers = &self.config.providers;
        let (connector_config, task_config, resolved_values) = match providers
            .resolve(connector_config)
            .and_then(|c| providers.resolve(&task_config).map(|t| (c, t)))
        {
            Ok((c, t)) => {
                let values: Vec<String> = c.values.into_iter().chain(t.values).collect();
                (c.config, t.config, values)
            }
            Err(e) => {
                let trace = format!("org.apache.kafka.common.config.ConfigException: {e}");
                warn!(connector, task = task_id, error = %trace, "task refused");
                self.status
                    .set_task(connector, task_id, State::Failed, Some(trace));
                return None;
            }
        };
        let connector_config = &connector_config;
        // A config stored before `file.connectors.allowed.paths` was set
        // (or by another worker) must not reach the file.
        let files = &self.config.common.file_connectors_allowed_paths;
        if let Err(e) = files
            .check_connector(plugin, connector_config)
            .and_then(|()| files.check_task(plugin, &task_config))
        {
            let e = TaskError::setup("the task's file is not allowed", e);
            warn!(connector, task = task_id, error = %trace_of(&e), "task refused");
            self.status
                .set_task(connector, task_id, State::Failed, Some(e.trace()));
            return None;
        }
        let (tx, rx) = watch::channel(target);
        let span = tracing::info_span!("task", connector = %connector, task = task_id);
        let spec = TaskSpec {
            connector,
            task_id,
            connector_config,
            target: rx,
        };
        let (name, status) = (connector.to_owned(), self.status.clone());
        let secrets = Secrets::for_plugin(&self.plugins, plugin, connector_config)
            .with_values(&resolved_values);
        let hidden = secrets.clone();
        let built = match plugin.kind {
            ConnectorKind::Source => self.source_runner(plugin, spec, task_config).map(|r| {
                tokio::spawn(task::run(name, task_id, status, hidden, r).instrument(span))
            }),
            ConnectorKind::Sink => self.sink_runner(plugin, spec, task_config).map(|r| {
                tokio::spawn(task::run(name, task_id, status, hidden, r).instrument(span))
            }),
        };
        match built {
            Ok(join) => Some(TaskHandle { target: tx, join }),
            Err(e) => {
                warn!(connector, task = task_id, error = %secrets.scrub(&trace_of(&e)), "task could not be created");
                self.status.set_task(
                    connector,
                    task_id,
                    State::Failed,
                    Some(secrets.scrub(&e.trace())),
                );
                None
            }
        }
    }

    fn source_runner(
        &self,
        plugin: &PluginDescriptor,
        spec: TaskSpec<'_>,
        task_config: Props,
    ) -> Result<SourceTaskRunner, TaskError> {
        let (connector, task_id, connector_config) =
            (spec.connector, spec.task_id, spec.connector_config);
        let new_task = plugin.new_source_task.ok_or_else(|| no_task(plugin))?;
        let core = TaskCore::new(self, spec, task_config)?;
        let producer_props = self
            .config
            .client_props(
                ClientKind::Producer,
                connector_config,
                source_producer_defaults(),
            )
            .map_err(|e| TaskError::setup("producer settings", e))?;
        let task = new_task();
        // Whether records are kept for `commit_record` is settled once the
        // task has started.
        let submitted = Arc::new(SubmittedRecords::new(false));
        let producer = self
            .producers
            .producer(&producer_props, submitted.clone())
            .map_err(|e| TaskError::setup("producer", e))?;
        let reader = Arc::new(ConnectorOffsetReader {
            connector: connector.to_owned(),
            store: self.offsets.clone(),
        });
        Ok(SourceTaskRunner {
            core,
            task,
            producer,
            submitted,
            offsets: self.offsets.clone(),
            context: SourceTaskContext::new(connector, task_id, reader),
            drain_timeout: self
                .config
                .offset_flush_timeout()
                .max(self.config.shutdown_timeout()),
            topic_creation: self.topic_creation(connector_config)?,
            known_topics: Default::default(),
            offset_write: None,
        })
    }

    /// The connector's topic creation rules, if the worker allows topic
    /// creation and the connector configures it.
    fn topic_creation(
        &self,
        connector_config: &Props,
    ) -> Result<Option<(TopicCreation, Admin)>, TaskError> {
        if !self.config.topic_creation() || !topic_creation::requested(connector_config) {
            return Ok(None);
        }
        let rules = TopicCreation::from_config(connector_config).map_err(|(key, message)| {
            TaskError::Setup {
                context: key,
                source: Some(message.into()),
            }
        })?;
        let admin_props = self
            .config
            .connector_admin_props(connector_config)
            .map_err(|e| TaskError::setup("admin client settings", e))?;
        let admin = Admin::new(&admin_props)
            .map_err(|e| TaskError::setup("topic creation admin client", e))?;
        Ok(Some((rules, admin)))
    }

    fn sink_runner(
        &self,
        plugin: &PluginDescriptor,
        spec: TaskSpec<'_>,
        mut task_config: Props,
    ) -> Result<SinkTaskRunner, TaskError> {
        let (connector, task_id, connector_config) =
            (spec.connector, spec.task_id, spec.connector_config);
        let new_task = plugin.new_sink_task.ok_or_else(|| no_task(plugin))?;
        // Tasks see the topics they consume, whatever stored their config.
        SinkTopics::copy_into_task(connector_config, &mut task_config);
        let core = TaskCore::new(self, spec, task_config)?;
        let mut consumer_props = self
            .config
            .client_props(
                ClientKind::Consumer,
                connector_config,
                sink_consumer_defaults(),
            )
            .map_err(|e| TaskError::setup("consumer settings", e))?;
        consumer_props.insert("group.id".into(), sink_group(connector, connector_config));
        consumer_props
            .entry("client.id".into())
            .or_insert_with(|| format!("connector-consumer-{connector}-{task_id}"));
        let max_poll_records = consumer_props
            .get("max.poll.records")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(500);
        let consumer =
            Consumer::new(&consumer_props).map_err(|e| TaskError::setup("consumer", e))?;
        let topics = SinkTopics::of(connector_config);
        if !topics.list.is_empty() {
            consumer.subscribe(&topics.list)
        } else {
            consumer.subscribe_regex(topics.regex)
        }
        .map_err(|e| TaskError::setup("subscribing to the connector's topics", e))?;
        // Offered to the task only when the connector asks for error
        // reporting (a dead letter queue or errors.log.enable), as Kafka
        // Connect does; it shares the task's converters.
        let reporter = SinkErrantRecordReporter::new(
            connector,
            task_id,
            &core.errors,
            core.converters.key.clone(),
            core.converters.value.clone(),
            core.converters.header.clone(),
        );
        let context = match &reporter {
            Some(r) => SinkTaskContext::with_errant_record_reporter(r.clone()),
            None => SinkTaskContext::new(),
        };
        Ok(SinkTaskRunner {
            core,
            task: new_task(),
            consumer,
            context,
            max_poll_records,
            reporter,
        })
    }

    /// Stops tasks together, each given the graceful shutdown timeout; a
    /// task that overruns it is cancelled (its uncommitted work is redone
    /// after restart, never lost).
    pub async fn stop_tasks(&self, connector: &str, tasks: Vec<(u32, TaskHandle)>) {
        for (_, t) in &tasks {
            t.set_target(TargetState::Stopped);
        }
        let timeout = self.config.shutdown_timeout();
        let waits = tasks.into_iter().map(|(id, t)| async move {
            let abort = t.join.abort_handle();
            if tokio::time::timeout(timeout, t.join).await.is_err() {
                warn!(
                    connector,
                    task = id,
                    ?timeout,
                    "task did not stop in time; cancelling it"
                );
                abort.abort();
            }
            id
        });
        for id in futures::future::join_all(waits).await {
            if self
                .status
                .task(connector, id)
                .is_some_and(|s| s.state != State::Failed)
            {
                self.status.remove_task(connector, id);
            }
            info!(connector, task = id, "task stopped");
        }
    }
}
