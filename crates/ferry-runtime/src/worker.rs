//! The worker: builds and runs connector instances and tasks with their
//! converters and Kafka clients. Herders decide what runs; the worker knows
//! how.

use std::sync::Arc;

use ferry_api::{ConnectorKind, PluginDescriptor, SinkTaskContext, SourceTaskContext};
use ferry_convert::{new_converter, Converter, ConverterRole};
use ferry_kafka::consumer::sink_consumer_defaults;
use ferry_kafka::producer::source_producer_defaults;
use ferry_kafka::{Admin, Consumer, Producer};
use ferry_transforms::TransformationChain;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn, Instrument};

use crate::connector_config::{TOPICS, TOPICS_REGEX};
use crate::entities::{State, TargetState};
use crate::error_handling::{ErrorPolicy, SinkErrantRecordReporter};
use crate::errors::TaskError;
use crate::headers::HeaderConverter;
use crate::offsets::{ConnectorOffsetReader, OffsetStore};
use crate::sink_task::SinkTaskRunner;
use crate::source_task::{SourceTaskRunner, SubmittedRecords};
use crate::status::StatusStore;
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
    pub offsets: Arc<dyn OffsetStore>,
    pub status: Arc<StatusStore>,
}

/// The consumer group of a sink connector.
pub fn sink_group(connector: &str, config: &Props) -> String {
    config
        .get("consumer.override.group.id")
        .cloned()
        .unwrap_or_else(|| format!("connect-{connector}"))
}

impl Worker {
    fn converter(
        &self,
        role: ConverterRole,
        connector_config: &Props,
    ) -> Result<Box<dyn Converter>, TaskError> {
        let prefix = match role {
            ConverterRole::Key => "key.converter",
            ConverterRole::Value => "value.converter",
            ConverterRole::Header => "header.converter",
        };
        let (class, props) = self.config.converter_for(prefix, connector_config);
        new_converter(&class, role, &props).map_err(|e| TaskError::Setup(format!("{prefix}: {e}")))
    }

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
        let (tx, rx) = watch::channel(target);
        let span = tracing::info_span!("task", connector = %connector, task = task_id);
        let built = match plugin.kind {
            ConnectorKind::Source => self
                .source_runner(
                    plugin,
                    connector,
                    task_id,
                    connector_config,
                    task_config,
                    rx,
                )
                .map(|r| tokio::spawn(r.run().instrument(span))),
            ConnectorKind::Sink => self
                .sink_runner(
                    plugin,
                    connector,
                    task_id,
                    connector_config,
                    task_config,
                    rx,
                )
                .map(|r| tokio::spawn(r.run().instrument(span))),
        };
        match built {
            Ok(join) => Some(TaskHandle { target: tx, join }),
            Err(e) => {
                warn!(connector, task = task_id, error = %e, "task could not be created");
                self.status
                    .set_task(connector, task_id, State::Failed, Some(e.trace()));
                None
            }
        }
    }

    fn source_runner(
        &self,
        plugin: &PluginDescriptor,
        connector: &str,
        task_id: u32,
        connector_config: &Props,
        task_config: Props,
        target: watch::Receiver<TargetState>,
    ) -> Result<SourceTaskRunner, TaskError> {
        let new_task = plugin
            .new_source_task
            .ok_or_else(|| TaskError::Setup(format!("{} has no source task", plugin.class)))?;
        let mut producer_props =
            self.config
                .client_props("producer", connector_config, source_producer_defaults());
        producer_props
            .entry("client.id".into())
            .or_insert_with(|| format!("connector-producer-{connector}-{task_id}"));
        let submitted = Arc::new(SubmittedRecords::default());
        let producer = Producer::new(&producer_props, submitted.clone())
            .map_err(|e| TaskError::Setup(e.to_string()))?;
        let reader = Arc::new(ConnectorOffsetReader {
            connector: connector.to_owned(),
            store: self.offsets.clone(),
        });
        Ok(SourceTaskRunner {
            connector: connector.to_owned(),
            task_id,
            task: new_task(),
            props: task_config,
            producer,
            submitted,
            key_converter: self.converter(ConverterRole::Key, connector_config)?,
            value_converter: self.converter(ConverterRole::Value, connector_config)?,
            header_converter: HeaderConverter::for_connector(&self.config, connector_config)
                .map_err(|e| TaskError::Setup(format!("header.converter: {e}")))?,
            offsets: self.offsets.clone(),
            context: SourceTaskContext::new(connector, task_id, reader),
            status: self.status.clone(),
            target,
            flush_interval: self.config.offset_flush_interval(),
            flush_timeout: self
                .config
                .offset_flush_timeout()
                .max(self.config.shutdown_timeout()),
            topic_tracking: self.config.topic_tracking(),
            errors: ErrorPolicy::from_config(connector_config),
            transforms: TransformationChain::from_connector_config(connector_config)
                .map_err(|e| TaskError::Setup(format!("{}: {}", e.key, e.message)))?,
            topic_creation: self.topic_creation(connector_config)?,
            known_topics: Default::default(),
            dlq: None,
            worker_config: self.config.clone(),
            connector_config: connector_config.clone(),
            converter_classes: (
                self.config
                    .converter_for("key.converter", connector_config)
                    .0,
                self.config
                    .converter_for("value.converter", connector_config)
                    .0,
            ),
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
        let rules = TopicCreation::from_config(connector_config)
            .map_err(|(key, message)| TaskError::Setup(format!("{key}: {message}")))?;
        let admin =
            Admin::new(&self.config.admin_props()).map_err(|e| TaskError::Setup(e.to_string()))?;
        Ok(Some((rules, admin)))
    }

    fn sink_runner(
        &self,
        plugin: &PluginDescriptor,
        connector: &str,
        task_id: u32,
        connector_config: &Props,
        mut task_config: Props,
        target: watch::Receiver<TargetState>,
    ) -> Result<SinkTaskRunner, TaskError> {
        let new_task = plugin
            .new_sink_task
            .ok_or_else(|| TaskError::Setup(format!("{} has no sink task", plugin.class)))?;
        let mut consumer_props =
            self.config
                .client_props("consumer", connector_config, sink_consumer_defaults());
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
            Consumer::new(&consumer_props).map_err(|e| TaskError::Setup(e.to_string()))?;
        // Tasks see the topics they consume, as in Kafka Connect.
        for key in [TOPICS, TOPICS_REGEX] {
            if let Some(v) = connector_config.get(key) {
                task_config
                    .entry(key.to_owned())
                    .or_insert_with(|| v.clone());
            }
        }
        let topics = ferry_api::config::parse_list(
            connector_config
                .get(TOPICS)
                .map(String::as_str)
                .unwrap_or(""),
        );
        let regex = connector_config
            .get(TOPICS_REGEX)
            .map(|s| s.trim())
            .unwrap_or("");
        if !topics.is_empty() {
            consumer.subscribe(&topics)
        } else {
            consumer.subscribe_regex(regex)
        }
        .map_err(|e| TaskError::Setup(e.to_string()))?;
        let key_converter: Arc<dyn Converter> =
            self.converter(ConverterRole::Key, connector_config)?.into();
        let value_converter: Arc<dyn Converter> = self
            .converter(ConverterRole::Value, connector_config)?
            .into();
        let header_converter = Arc::new(
            HeaderConverter::for_connector(&self.config, connector_config)
                .map_err(|e| TaskError::Setup(format!("header.converter: {e}")))?,
        );
        let errors = ErrorPolicy::from_config(connector_config);
        // Offered to the task only when the connector asks for error
        // reporting (a dead letter queue or errors.log.enable), as Kafka
        // Connect does; it shares the task's converters.
        let reporter = SinkErrantRecordReporter::new(
            connector,
            task_id,
            &errors,
            key_converter.clone(),
            value_converter.clone(),
            header_converter.clone(),
        );
        let context = match &reporter {
            Some(r) => SinkTaskContext::with_errant_record_reporter(r.clone()),
            None => SinkTaskContext::new(),
        };
        Ok(SinkTaskRunner {
            connector: connector.to_owned(),
            task_id,
            task: new_task(),
            props: task_config,
            consumer,
            context,
            key_converter,
            value_converter,
            header_converter,
            status: self.status.clone(),
            target,
            flush_interval: self.config.offset_flush_interval(),
            max_poll_records,
            topic_tracking: self.config.topic_tracking(),
            errors,
            transforms: TransformationChain::from_connector_config(connector_config)
                .map_err(|e| TaskError::Setup(format!("{}: {}", e.key, e.message)))?,
            dlq: None,
            reporter,
            worker_config: self.config.clone(),
            connector_config: connector_config.clone(),
            converter_classes: (
                self.config
                    .converter_for("key.converter", connector_config)
                    .0,
                self.config
                    .converter_for("value.converter", connector_config)
                    .0,
            ),
            flush_timeout: self.config.offset_flush_timeout(),
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
