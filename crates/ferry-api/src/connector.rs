//! Connector and task traits, their contexts, and the descriptor through
//! which the runtime finds a connector by class name.
//!
//! Tasks are async. The runtime handles pause requests and offset commits
//! between polls, as Kafka Connect's worker loop does, so `SourceTask::poll`
//! should return within about a second when there is nothing to read (an
//! empty batch is fine). A stop does not wait for that: the task's context
//! carries a [`StopSignal`] that fires as soon as the task is to stop, and a
//! `poll` waiting for data can wait for it too and return at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigInfos, ValidatedValue};
use crate::error::ConnectError;
use crate::record::{RecordMetadata, SinkRecord, SourceRecord};
use crate::stop::StopSignal;
use crate::sync::lock;
use crate::{OffsetMap, Props};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    Source,
    Sink,
}

impl ConnectorKind {
    /// The lower-case name used by the REST API (`"source"`, `"sink"`).
    pub fn name(self) -> &'static str {
        match self {
            ConnectorKind::Source => "source",
            ConnectorKind::Sink => "sink",
        }
    }
}

/// What a running connector can ask of the runtime.
pub trait ConnectorContext: Send + Sync {
    /// The connector's task configs changed; the runtime asks for them again.
    fn request_task_reconfiguration(&self);
    /// The connector hit an unrecoverable error in the background.
    fn raise_error(&self, error: ConnectError);
}

/// A connector: validates its config and splits the work into task configs.
#[async_trait]
pub trait Connector: Send + Sync {
    fn version(&self) -> String;
    /// The connector's own configuration keys.
    fn config_def(&self) -> ConfigDef;
    async fn start(
        &mut self,
        props: Props,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError>;
    /// Up to `max_tasks` task configurations.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError>;
    async fn stop(&mut self) -> Result<(), ConnectError>;
    /// Extra checks beyond `config_def()`; returns the per-key results with
    /// any errors added. The default validates against `config_def()`.
    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        self.config_def().validate(props)
    }
}

/// Reads committed source offsets (`OffsetStorageReader`).
pub trait OffsetStorageReader: Send + Sync {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap>;
}

/// What a source task gets from the runtime (`SourceTaskContext`).
#[derive(Clone)]
pub struct SourceTaskContext {
    offsets: Arc<dyn OffsetStorageReader>,
    task_id: (String, u32),
    stop: StopSignal,
}

impl SourceTaskContext {
    /// A context with a stop signal of its own, which the runtime (or a
    /// test) fires through [`stop_signal`](Self::stop_signal).
    pub fn new(connector: &str, task: u32, offsets: Arc<dyn OffsetStorageReader>) -> Self {
        SourceTaskContext {
            offsets,
            task_id: (connector.to_owned(), task),
            stop: StopSignal::new(),
        }
    }
    pub fn offset_storage_reader(&self) -> &dyn OffsetStorageReader {
        self.offsets.as_ref()
    }
    pub fn connector_name(&self) -> &str {
        &self.task_id.0
    }
    pub fn task_number(&self) -> u32 {
        self.task_id.1
    }
    /// Fires when the task is to stop; clone it to keep it past `start`.
    /// A `poll` that waits for data should also wait for
    /// [`StopSignal::stopped`] and return (an empty batch is fine) once it
    /// resolves; the runtime then ends its loop and calls `stop`.
    pub fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }
}

#[async_trait]
pub trait SourceTask: Send {
    async fn start(&mut self, props: Props, context: SourceTaskContext)
        -> Result<(), ConnectError>;
    /// The next batch of records; empty when nothing arrived for a while.
    /// Return within about a second when idle (pauses and offset commits
    /// happen between polls), and at once when the context's
    /// [`stop_signal`](SourceTaskContext::stop_signal) fires.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError>;
    /// Offsets up to the records acknowledged so far were committed.
    async fn commit(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
    /// Called for each record `poll` returned once the runtime is done with
    /// it (Kafka Connect's `commitRecord`), for sources that acknowledge
    /// what they read in their own system (a message queue, a change
    /// stream). `record` is the record as `poll` returned it, before any
    /// transformation. `metadata` says where Kafka stored it; it is `None`
    /// for a record that was never written: dropped by a transformation or
    /// predicate, or skipped after a failure under `errors.tolerance=all`.
    ///
    /// Kafka Connect calls it from the producer's callback; Ferry calls it
    /// from the task's loop, between polls and before each offset commit
    /// (so before [`commit`](Self::commit) covers the record), in the
    /// order `poll` returned the records. It is not called for records a
    /// failed task never got acknowledged. An error is logged and the task
    /// goes on, as in Kafka Connect. The default does nothing; the
    /// runtime's offset commits do not depend on it.
    async fn commit_record(
        &mut self,
        _record: &SourceRecord,
        _metadata: Option<&RecordMetadata>,
    ) -> Result<(), ConnectError> {
        Ok(())
    }
    /// Whether the runtime calls [`commit_record`](Self::commit_record).
    /// Calling it means keeping every record until Kafka acknowledges it
    /// (and, with transformations configured, a copy of it as polled). A
    /// task that does not implement `commit_record` can return `false` to
    /// save that; the default is `true`, so an implementation is never
    /// silently skipped.
    fn wants_commit_record(&self) -> bool {
        true
    }
    async fn stop(&mut self) -> Result<(), ConnectError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// Reports records a sink task could not write (Kafka Connect's
/// `ErrantRecordReporter`): the runtime logs them and sends them to the dead
/// letter queue as its `errors.*` settings say. With `errors.tolerance=none`
/// reporting fails, and the task should fail with the returned error.
#[async_trait]
pub trait ErrantRecordReporter: Send + Sync {
    /// Returns once the report is durable (written to the dead letter
    /// queue, when there is one), so offsets after it may be committed.
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<(), ConnectError>;
}

/// Requests a sink task makes of the runtime, read by the runtime between
/// `put` calls (`SinkTaskContext`), and the signal that the task is to stop.
#[derive(Default)]
pub struct SinkTaskContext {
    stop: StopSignal,
    errant_record_reporter: Option<Arc<dyn ErrantRecordReporter>>,
    assignment: Mutex<HashSet<TopicPartition>>,
    offset_resets: Mutex<HashMap<TopicPartition, i64>>,
    to_pause: Mutex<HashSet<TopicPartition>>,
    to_resume: Mutex<HashSet<TopicPartition>>,
    commit_requested: AtomicBool,
}

impl SinkTaskContext {
    pub fn new() -> Arc<Self> {
        Arc::new(SinkTaskContext::default())
    }
    /// A context whose tasks can report errant records.
    pub fn with_errant_record_reporter(reporter: Arc<dyn ErrantRecordReporter>) -> Arc<Self> {
        Arc::new(SinkTaskContext {
            errant_record_reporter: Some(reporter),
            ..SinkTaskContext::default()
        })
    }
    /// The reporter, when the connector's `errors.*` settings configure one
    /// (a dead letter queue topic or `errors.log.enable`), as in Kafka Connect.
    pub fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.errant_record_reporter.clone()
    }
    /// Rewind or skip: consume `tp` from `offset` next.
    pub fn reset_offset(&self, tp: TopicPartition, offset: i64) {
        lock(&self.offset_resets).insert(tp, offset);
    }
    pub fn pause(&self, partitions: &[TopicPartition]) {
        let mut p = lock(&self.to_pause);
        let mut r = lock(&self.to_resume);
        for tp in partitions {
            r.remove(tp);
            p.insert(tp.clone());
        }
    }
    pub fn resume(&self, partitions: &[TopicPartition]) {
        let mut p = lock(&self.to_pause);
        let mut r = lock(&self.to_resume);
        for tp in partitions {
            p.remove(tp);
            r.insert(tp.clone());
        }
    }
    /// Asks for an offset commit as soon as possible.
    pub fn request_commit(&self) {
        self.commit_requested.store(true, Ordering::Release);
    }
    pub fn assignment(&self) -> HashSet<TopicPartition> {
        lock(&self.assignment).clone()
    }
    /// Fires when the task is to stop. A `put` or `flush` that waits (for a
    /// slow destination, a retry backoff) can wait for
    /// [`StopSignal::stopped`] too and give up early: records whose `put`
    /// failed, or were not flushed, are not committed and are delivered
    /// again after a restart.
    pub fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }

    // Runtime side.
    pub fn set_assignment(&self, partitions: HashSet<TopicPartition>) {
        *lock(&self.assignment) = partitions;
    }
    pub fn take_offset_resets(&self) -> HashMap<TopicPartition, i64> {
        std::mem::take(&mut *lock(&self.offset_resets))
    }
    pub fn take_pause_requests(&self) -> (HashSet<TopicPartition>, HashSet<TopicPartition>) {
        (
            std::mem::take(&mut *lock(&self.to_pause)),
            std::mem::take(&mut *lock(&self.to_resume)),
        )
    }
    pub fn take_commit_request(&self) -> bool {
        self.commit_requested.swap(false, Ordering::AcqRel)
    }
}

#[async_trait]
pub trait SinkTask: Send {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError>;
    /// Newly assigned partitions.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError>;
    /// Makes everything `put` so far durable.
    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        Ok(())
    }
    /// The offsets safe to commit; by default flushes and returns `offsets`.
    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ConnectError> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }
    /// Partitions taken away from this task.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), ConnectError>;
}

/// How the runtime finds and builds a connector: the class name and aliases
/// users write in `connector.class`, and constructors for connector and task.
#[derive(Clone)]
pub struct PluginDescriptor {
    /// The Kafka Connect class name, e.g.
    /// `org.apache.kafka.connect.file.FileStreamSourceConnector`.
    pub class: &'static str,
    /// Other accepted names (simple class names are derived automatically).
    pub aliases: &'static [&'static str],
    pub kind: ConnectorKind,
    pub version: &'static str,
    pub new_connector: fn() -> Box<dyn Connector>,
    pub new_source_task: Option<fn() -> Box<dyn SourceTask>>,
    pub new_sink_task: Option<fn() -> Box<dyn SinkTask>>,
    /// Config keys naming a file on the worker's machine that the connector
    /// reads or writes (unset: its standard input or output). A worker with
    /// `file.connectors.allowed.paths` refuses them outside its directories.
    pub local_file_keys: &'static [&'static str],
}

impl PluginDescriptor {
    /// Whether `name` designates this plugin: the class name, a listed alias,
    /// the simple class name, or the simple name without `Connector`.
    pub fn matches(&self, name: &str) -> bool {
        if name == self.class || self.aliases.contains(&name) {
            return true;
        }
        let simple = self.class.rsplit('.').next().unwrap_or(self.class);
        name == simple || simple.strip_suffix("Connector") == Some(name)
    }

    pub fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    /// Validates `props` against the connector's own keys.
    pub fn validate(&self, props: &Props) -> ConfigInfos {
        let connector = (self.new_connector)();
        let def = connector.config_def();
        ConfigInfos::new(self.class, &def, &connector.validate(props))
    }
}

impl std::fmt::Debug for PluginDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginDescriptor")
            .field("class", &self.class)
            .field("kind", &self.kind)
            .finish()
    }
}
