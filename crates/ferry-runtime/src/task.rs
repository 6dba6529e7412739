//! What every task has, source or sink (Kafka Connect's `WorkerTask`):
//! converters, the transformation chain, the `errors.*` policy and dead
//! letter queue, status and target state, built once from the connector
//! config. [`SourceTaskRunner`](crate::source_task::SourceTaskRunner) and
//! [`SinkTaskRunner`](crate::sink_task::SinkTaskRunner) keep only their
//! loops and their Kafka clients.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::{ConnectError, ConnectRecord, Converter, StopSignal};
use ferry_kafka::ProducerPool;
use ferry_transforms::TransformationChain;
use futures::FutureExt;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::entities::{State, TargetState};
use crate::error_handling::{DeadLetterQueue, ErrorPolicy, Stage};
use crate::errors::TaskError;
use crate::headers::HeaderConverter;
use crate::plugins::Plugins;
use crate::redact::Secrets;
use crate::status::{trace_of, StatusStore};
use crate::worker::Worker;
use crate::worker_config::WorkerConfig;
use crate::Props;

/// The key and value converters with the class names error reports give.
pub struct Converters {
    pub key: Arc<dyn Converter>,
    pub value: Arc<dyn Converter>,
    pub header: Arc<HeaderConverter>,
    pub key_class: String,
    pub value_class: String,
}

impl Converters {
    /// The converters a connector's config (or the worker's) names, built
    /// by `plugins`.
    pub fn for_connector(
        plugins: &Plugins,
        worker: &WorkerConfig,
        connector: &Props,
    ) -> Result<Self, TaskError> {
        let build = |is_key: bool, prefix: &str| {
            let (class, props) = worker.converter_for(prefix, connector);
            plugins
                .new_converter(&class, is_key, &props)
                .map(|c| (Arc::<dyn Converter>::from(c), class))
                .map_err(|e| TaskError::setup(prefix, e))
        };
        let (key, key_class) = build(true, "key.converter")?;
        let (value, value_class) = build(false, "value.converter")?;
        let header = HeaderConverter::for_connector(plugins, worker, connector)
            .map_err(|e| TaskError::setup("header.converter", e))?;
        Ok(Converters {
            key,
            value,
            header: Arc::new(header),
            key_class,
            value_class,
        })
    }

    /// Whether a converter prefers batches (a plugin's does): the task
    /// loops then convert a poll's or a fetch's records in one call per
    /// converter.
    pub fn prefers_batches(&self) -> bool {
        self.key.prefers_batches() || self.value.prefers_batches() || self.header.prefers_batches()
    }

    /// Closes the converters when their task stops.
    pub fn close(&self) {
        self.key.close();
        self.value.close();
        self.header.close();
    }

    /// The class that ran at a converter stage, named in error reports.
    pub fn class_at(&self, stage: Stage) -> &str {
        match stage {
            Stage::KeyConverter => &self.key_class,
            Stage::HeaderConverter => self.header.class(),
            _ => &self.value_class,
        }
    }
}

/// Which task to build, and the switch its herder steers it with.
pub struct TaskSpec<'a> {
    pub connector: &'a str,
    pub task_id: u32,
    pub connector_config: &'a Props,
    pub target: watch::Receiver<TargetState>,
}

/// The parts every task loop shares.
pub struct TaskCore<R: ConnectRecord> {
    pub connector: String,
    pub task_id: u32,
    /// The task's own config, as its connector generated it.
    pub props: Props,
    pub converters: Converters,
    pub transforms: TransformationChain<R>,
    pub errors: ErrorPolicy,
    /// Opened by [`TaskCore::open_dlq`] when the connector names a topic.
    pub dlq: Option<Arc<DeadLetterQueue>>,
    pub status: Arc<StatusStore>,
    pub target: watch::Receiver<TargetState>,
    /// The target state last written to the status store.
    reported: Option<TargetState>,
    pub flush_interval: Duration,
    pub flush_timeout: Duration,
    pub topic_tracking: bool,
    pub worker_config: WorkerConfig,
    producers: Arc<ProducerPool>,
    pub connector_config: Props,
}

impl<R: ConnectRecord> TaskCore<R> {
    /// Builds the shared parts from the connector's config; converters are
    /// looked up once, here.
    pub fn new(worker: &Worker, spec: TaskSpec<'_>, props: Props) -> Result<Self, TaskError> {
        let TaskSpec {
            connector,
            task_id,
            connector_config,
            target,
        } = spec;
        let plugins = worker.plugins.as_ref();
        let transforms = TransformationChain::from_connector_config(plugins, connector_config)
            .map_err(|e| TaskError::Setup {
                context: e.key.clone(),
                source: Some(e.message.into()),
            })?;
        let (status, producers, worker) = (
            worker.status.clone(),
            worker.producers.clone(),
            &worker.config,
        );
        Ok(TaskCore {
            connector: connector.to_owned(),
            task_id,
            props,
            converters: Converters::for_connector(plugins, worker, connector_config)?,
            transforms,
            errors: ErrorPolicy::from_config(connector_config),
            dlq: None,
            status,
            target,
            reported: None,
            flush_interval: worker.offset_flush_interval(),
            flush_timeout: worker.offset_flush_timeout(),
            topic_tracking: worker.topic_tracking(),
            worker_config: worker.clone(),
            producers,
            connector_config: connector_config.clone(),
        })
    }

    /// Opens the dead letter queue when the connector names one.
    pub async fn open_dlq(&mut self) -> Result<(), TaskError> {
        self.dlq = DeadLetterQueue::open(
            &self.worker_config,
            &self.producers,
            &self.connector_config,
            &self.connector,
            self.task_id,
            &self.errors,
        )
        .await?
        .map(Arc::new);
        Ok(())
    }

    /// The target state now, reported to the status store when it changed:
    /// `None` once the task is to stop, else the target and whether it
    /// changed since the last call.
    pub fn observe_target(&mut self) -> Option<(TargetState, bool)> {
        let target = *self.target.borrow_and_update();
        let changed = self.reported != Some(target);
        if changed {
            let state = match target {
                TargetState::Started => State::Running,
                TargetState::Paused => State::Paused,
                TargetState::Stopped => return None,
            };
            self.status
                .set_task(&self.connector, self.task_id, state, None);
            self.reported = Some(target);
        }
        (target != TargetState::Stopped).then_some((target, changed))
    }
}

/// A task loop the worker runs: one per task, until stopped or failed.
#[async_trait]
pub trait TaskLoop: Send {
    /// `"source"` or `"sink"`, for logs.
    const KIND: &'static str;
    /// Starts the task and runs its loop until it is stopped.
    async fn execute(&mut self) -> Result<(), TaskError>;
    /// Stops the connector's task after a failure.
    async fn stop_task(&mut self) -> Result<(), ConnectError>;
    /// The signal in the connector task's context, fired when the task is
    /// to stop.
    fn stop_signal(&self) -> StopSignal;
    /// The target state the herder steers the task with.
    fn target(&self) -> watch::Receiver<TargetState>;
}

/// Fires `signal` once the target state turns `STOPPED`, so that a task
/// waiting in `poll`, `put` or `flush` can return without waiting for its
/// own timeout; never returns.
async fn fire_on_stop(mut target: watch::Receiver<TargetState>, signal: StopSignal) -> Infallible {
    // A closed channel means no stop request can come any more.
    if target
        .wait_for(|t| *t == TargetState::Stopped)
        .await
        .is_ok()
    {
        signal.stop();
    }
    std::future::pending().await
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs a task loop, recording its end: a failure is the task's FAILED
/// status with the whole cause chain as its trace (the connector's
/// passwords hidden wherever the error quotes them). A panic in the
/// connector's task code fails the task the same way (as an exception
/// thrown by a Java task does) rather than leaving it RUNNING with no loop.
pub async fn run<T: TaskLoop>(
    connector: String,
    id: u32,
    status: Arc<StatusStore>,
    secrets: Secrets,
    mut task: T,
) {
    let signal = task.stop_signal();
    // A task of its own: the loop is not polled while it runs a plugin's
    // call in place, and the stop is what ends such a call.
    let stopping = tokio::spawn(fire_on_stop(task.target(), signal.clone()));
    let outcome = AssertUnwindSafe(task.execute()).catch_unwind().await;
    stopping.abort();
    let outcome = outcome.unwrap_or_else(|panic| Err(TaskError::Panicked(panic_message(&*panic))));
    match outcome {
        Ok(()) => info!(connector = %connector, task = id, "{} task stopped", T::KIND),
        Err(e) => {
            // The task is stopped next: whatever it still waits on ends.
            signal.stop();
            error!(connector = %connector, task = id, error = %secrets.scrub(&trace_of(&e)), "{} task failed", T::KIND);
            status.set_task(
                &connector,
                id,
                State::Failed,
                Some(secrets.scrub(&e.trace())),
            );
            match AssertUnwindSafe(task.stop_task()).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    warn!(connector = %connector, task = id, error = %e, "stopping failed {} task", T::KIND)
                }
                Err(panic) => {
                    warn!(connector = %connector, task = id, error = %panic_message(&*panic), "stopping failed {} task panicked", T::KIND)
                }
            }
        }
    }
}
