//! Connector and task traits, their contexts, and the descriptor through
//! which the runtime finds a connector by class name: Kafka Connect's
//! `org.apache.kafka.connect.connector`, `.source` and `.sink` packages.
//!
//! # How the runtime calls them
//!
//! A connector instance and each task instance are built afresh from the
//! constructors in their [`PluginDescriptor`] every time they start, and
//! each runs on a tokio task of its own on the worker's multi-threaded
//! runtime. Calls into one instance never overlap (the methods take
//! `&mut self`), but successive calls may run on different threads, hence
//! the `Send` bounds. The methods are async: wait for I/O with async
//! clients, and move blocking work (a synchronous driver, a long
//! computation) off the runtime's threads, e.g. with tokio's
//! `spawn_blocking`: a call that blocks its thread holds up other
//! connectors' tasks. (A native plugin library loaded from `plugin.path`
//! runs the same methods differently; see `docs/writing-a-connector.md`.)
//!
//! The runtime handles pause requests and offset commits between polls, as
//! Kafka Connect's worker loop does, so [`SourceTask::poll`] should return
//! within about a second when there is nothing to read (an empty batch is
//! fine). A stop does not wait for that: the task's context carries a
//! [`StopSignal`] that fires as soon as the task is to stop, and a `poll`
//! waiting for data can wait for it too and return at once.
//!
//! Which errors the runtime retries and which fail the task is described
//! under [`ConnectError`]. A panic in connector or task code fails the
//! connector or task the same way (its status turns `FAILED` with the
//! panic's message); the worker carries on.

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

/// Whether a connector is a source or a sink: which of Kafka Connect's
/// `SourceConnector` and `SinkConnector` it extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    /// Reads an external system into Kafka; its tasks are [`SourceTask`]s.
    Source,
    /// Writes Kafka topics into an external system; its tasks are
    /// [`SinkTask`]s.
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

/// What a running connector can ask of the runtime (Kafka Connect's
/// `ConnectorContext`). Given to [`Connector::start`]; keep the `Arc` to
/// call it later, from any thread (a background task watching the source
/// for new tables, say).
pub trait ConnectorContext: Send + Sync {
    /// `requestTaskReconfiguration()`: the work should be split
    /// differently (the source gained a table, say). The runtime calls
    /// [`Connector::task_configs`] again soon after, on the connector's own
    /// task, and restarts the tasks if the configurations changed.
    fn request_task_reconfiguration(&self);
    /// `raiseError(e)`: the connector hit an unrecoverable error in the
    /// background. The connector turns `FAILED` with `error`'s trace and
    /// stays so until restarted; its running tasks are left alone.
    fn raise_error(&self, error: ConnectError);
}

/// A connector (Kafka Connect's `Connector`, that is `SourceConnector` or
/// `SinkConnector`): checks its configuration and splits the work into task
/// configurations. It moves no data itself; its tasks do.
///
/// The runtime builds an instance with
/// [`PluginDescriptor::new_connector`], calls [`start`](Self::start), then
/// [`task_configs`](Self::task_configs) (again whenever the connector asks
/// through [`ConnectorContext::request_task_reconfiguration`]), and
/// [`stop`](Self::stop) when the connector is stopped, deleted or given a
/// new configuration (a new instance then starts with it), or its worker
/// shuts down. A paused connector stays started; only its tasks pause.
///
/// [`config_def`](Self::config_def) and [`validate`](Self::validate) are
/// also called on instances that are never started: to describe the plugin
/// (`GET /connector-plugins/{plugin}/config`), and to validate a
/// configuration before it is stored (`PUT /connectors/{name}/config`,
/// `POST /connectors`, `PUT …/config/validate`). They must not depend on
/// `start` having run.
#[async_trait]
pub trait Connector: Send + Sync {
    /// `version()`: the connector's version. `/connector-plugins` reports
    /// the descriptor's [`version`](PluginDescriptor::version), which
    /// should be the same (usually the crate's version).
    fn version(&self) -> String;
    /// `config()`: the connector's own configuration keys, declared once
    /// (see [`crate::config`]). The runtime's keys (`name`,
    /// `connector.class`, `tasks.max`, `transforms`, `errors.*`, …) are not
    /// part of it; they are in the configuration `start` gets all the same.
    fn config_def(&self) -> ConfigDef;
    /// `start(props)` (with `initialize(context)`): `props` is the
    /// connector's whole configuration as the user gave it, strings, the
    /// runtime's keys included. Parse it with
    /// [`ConfigDef::parse`](crate::ConfigDef::parse) against
    /// [`config_def`](Self::config_def) and keep what
    /// [`task_configs`](Self::task_configs) needs.
    ///
    /// An error fails the connector (`FAILED`, with the error's trace) and
    /// no task starts. A stop while `start` is still running abandons it.
    async fn start(
        &mut self,
        props: Props,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError>;
    /// `taskConfigs(maxTasks)`: one configuration per task to run, at most
    /// `max_tasks` (the connector's `tasks.max`, bounded by the worker's
    /// `tasks.max.limit`). Task `i` is started with the `i`-th; it gets
    /// only what is in it, so copy in the keys the task reads. The runtime
    /// adds `task.class`, and to a sink task's configuration the
    /// connector's `topics` or `topics.regex`.
    ///
    /// Called after `start` and after each reconfiguration request, on the
    /// connector's task; it is not async, so it should not wait for
    /// anything. An error, or more than `max_tasks` configurations (unless
    /// `tasks.max.enforce=false`), fails the connector.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError>;
    /// `stop()`: releases what `start` acquired (background tasks,
    /// clients). Called once per successful `start`; the instance is
    /// dropped afterwards. The worker waits for it at most
    /// `task.shutdown.graceful.timeout.ms`, then cancels it. An error is
    /// logged.
    async fn stop(&mut self) -> Result<(), ConnectError>;
    /// `validate(props)`: checks `props`, the whole connector configuration,
    /// and returns one result per key with its errors (Kafka Connect's
    /// `ConfigValue`s). The default validates against
    /// [`config_def`](Self::config_def); override it for checks that span
    /// keys, adding errors to the keys concerned. A configuration with
    /// errors is refused with 400 before it is stored.
    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        self.config_def().validate(props)
    }
}

/// Reads committed source offsets (Kafka Connect's `OffsetStorageReader`),
/// from the offsets file (standalone) or the offsets topic (distributed).
/// Offsets belong to the connector: every task of it reads the same ones.
pub trait OffsetStorageReader: Send + Sync {
    /// `offset(partition)`: the offset last committed for the source
    /// partition `partition` (compared as a whole map), or `None` when
    /// there is none, as for a connector's first run.
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap>;
}

/// What a source task gets from the runtime (Kafka Connect's
/// `SourceTaskContext`), in [`SourceTask::start`]. Cloning is cheap and
/// clones share the stop signal.
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
    /// Runtime side: the context fires `stop` rather than a signal of its
    /// own (a plugin library's context, fired from the worker's side).
    pub fn with_stop_signal(mut self, stop: StopSignal) -> Self {
        self.stop = stop;
        self
    }
    /// `offsetStorageReader()`: the connector's committed offsets. Read the
    /// offsets of the task's source partitions in `start` and resume after
    /// them; that is what makes a restart carry on where the last run's
    /// committed records end.
    pub fn offset_storage_reader(&self) -> &dyn OffsetStorageReader {
        self.offsets.as_ref()
    }
    /// The connector's name, as the user named it (for logs).
    pub fn connector_name(&self) -> &str {
        &self.task_id.0
    }
    /// The task's number: its configuration's index in what
    /// [`Connector::task_configs`] returned, counting from 0.
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

/// A source task (Kafka Connect's `SourceTask`): reads an external system
/// and returns records for the runtime to write to Kafka.
///
/// The runtime builds it with [`PluginDescriptor::new_source_task`] for one
/// of the configurations [`Connector::task_configs`] returned, calls
/// [`start`](Self::start), then [`poll`](Self::poll) in a loop, with
/// [`commit_record`](Self::commit_record) and [`commit`](Self::commit)
/// between polls, and [`stop`](Self::stop) once the loop has ended. While
/// the connector is paused the task is neither polled nor stopped.
///
/// **Offsets.** Each record carries a source partition (where it comes
/// from: a file, a table) and a source offset (how far into it), maps of
/// primitives. Every `offset.flush.interval.ms` and at stop the runtime
/// commits, per source partition, the offset of the last record Kafka
/// acknowledged together with every record polled before it. A task
/// started again reads that offset in `start` through the context's
/// [`offset_storage_reader`](SourceTaskContext::offset_storage_reader) and
/// resumes after it. Delivery is at least once: records polled after the
/// last commit are polled again after a crash.
#[async_trait]
pub trait SourceTask: Send {
    /// `start(props)` (with `initialize(context)`): `props` is the task's
    /// configuration, as [`Connector::task_configs`] made it. Parse it,
    /// read the committed offsets of the task's source partitions, and
    /// keep the context (or a clone of its
    /// [`stop_signal`](SourceTaskContext::stop_signal)) for `poll`. An
    /// error fails the task; `stop` is called all the same.
    async fn start(&mut self, props: Props, context: SourceTaskContext)
        -> Result<(), ConnectError>;
    /// `poll()`: the next batch of records, which the runtime then owns and
    /// sends through the connector's transformations and converters to
    /// Kafka. Empty when nothing arrived for a while (Kafka Connect's
    /// `null`). Return within about a second when idle (pauses and offset
    /// commits happen between polls), and at once when the context's
    /// [`stop_signal`](SourceTaskContext::stop_signal) fires. Each record
    /// needs a topic; partitions and offsets may only hold primitives.
    ///
    /// A [`ConnectError::Retriable`] error is logged and the task is polled
    /// again after a short pause; any other error fails the task.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError>;
    /// `commit()`: the offsets of the records acknowledged so far were
    /// committed, for a source that acknowledges what it read in its own
    /// system in bulk. Called after each offset commit, between polls. An
    /// error is logged and the next commit calls it again, except at the
    /// last commit before `stop`, where it fails the task. The default
    /// does nothing.
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
    /// silently skipped. Asked once, after [`start`](Self::start).
    fn wants_commit_record(&self) -> bool {
        true
    }
    /// [`commit_record`](Self::commit_record) for several records at once,
    /// in the order `poll` returned them; this is what the runtime calls.
    /// The default calls `commit_record` for each record, all of them even
    /// when one fails, and returns the first failure. A task whose
    /// acknowledgements cost a round trip each can acknowledge the batch in
    /// one.
    async fn commit_records(
        &mut self,
        records: &[(SourceRecord, Option<RecordMetadata>)],
    ) -> Result<(), ConnectError> {
        let mut first = Ok(());
        for (record, metadata) in records {
            let r = self.commit_record(record, metadata.as_ref()).await;
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
    /// `stop()`: releases what the task holds (connections, files). Called
    /// once the loop has ended, after the last offset commit, and also
    /// after a failure, even of `start`, so it must cope with a task that
    /// never started. Unlike Kafka Connect's, it is never called while
    /// `poll` runs: the [`StopSignal`] is what interrupts a waiting `poll`.
    /// An error is logged.
    async fn stop(&mut self) -> Result<(), ConnectError>;
}

/// A partition of a Kafka topic (Kafka's `TopicPartition`): what a sink
/// task is assigned, and what its offsets are kept by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic's name.
    pub topic: String,
    /// The partition's number, from 0.
    pub partition: i32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
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
/// `put` calls (Kafka Connect's `SinkTaskContext`), and the signal that the
/// task is to stop. The task gets it in [`SinkTask::start`] and keeps the
/// `Arc`; its methods may be called from any thread.
///
/// The methods under "runtime side" below are the runtime's (and the
/// testkit's); a task does not call them.
#[derive(Default)]
pub struct SinkTaskContext {
    stop: StopSignal,
    errant_record_reporter: Option<Arc<dyn ErrantRecordReporter>>,
    assignment: Mutex<HashSet<TopicPartition>>,
    offset_resets: Mutex<HashMap<TopicPartition, i64>>,
    to_pause: Mutex<HashSet<TopicPartition>>,
    to_resume: Mutex<HashSet<TopicPartition>>,
    commit_requested: AtomicBool,
    retry_timeout: Mutex<Option<std::time::Duration>>,
}

impl SinkTaskContext {
    /// A context with no errant record reporter and no requests.
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
    /// Runtime side: a context that fires `stop` rather than a signal of
    /// its own (a plugin library's context, fired from the worker's side),
    /// with a reporter or without.
    pub fn with_stop_signal(
        reporter: Option<Arc<dyn ErrantRecordReporter>>,
        stop: StopSignal,
    ) -> Arc<Self> {
        Arc::new(SinkTaskContext {
            stop,
            errant_record_reporter: reporter,
            ..SinkTaskContext::default()
        })
    }
    /// The reporter, when the connector's `errors.*` settings configure one
    /// (a dead letter queue topic or `errors.log.enable`), as in Kafka Connect.
    pub fn errant_record_reporter(&self) -> Option<Arc<dyn ErrantRecordReporter>> {
        self.errant_record_reporter.clone()
    }
    /// `offset(tp, offset)`: rewinds or skips ahead: `tp` is consumed from
    /// `offset` next (its records from there on are delivered to `put`
    /// again), from the next fetch on. For a partition assigned to the
    /// task; others are ignored. Typically called in
    /// [`SinkTask::open`] by a sink that stores its offsets in the
    /// destination.
    pub fn reset_offset(&self, tp: TopicPartition, offset: i64) {
        lock(&self.offset_resets).insert(tp, offset);
    }
    /// `pause(partitions)`: stops fetching records of these assigned
    /// partitions until [`resume`](Self::resume), from the next fetch on
    /// (back-pressure from a destination that is busy for some partitions).
    /// The consumer stays in its group meanwhile.
    pub fn pause(&self, partitions: &[TopicPartition]) {
        let mut p = lock(&self.to_pause);
        let mut r = lock(&self.to_resume);
        for tp in partitions {
            r.remove(tp);
            p.insert(tp.clone());
        }
    }
    /// `resume(partitions)`: fetches records of partitions the task paused
    /// again. While the whole connector is paused, nothing is fetched
    /// whatever the task asks.
    pub fn resume(&self, partitions: &[TopicPartition]) {
        let mut p = lock(&self.to_pause);
        let mut r = lock(&self.to_resume);
        for tp in partitions {
            p.remove(tp);
            r.insert(tp.clone());
        }
    }
    /// `requestCommit()`: asks for an offset commit
    /// ([`SinkTask::pre_commit`], then a commit of what it returns) right
    /// after the current `put`, rather than at the next
    /// `offset.flush.interval.ms`.
    pub fn request_commit(&self) {
        self.commit_requested.store(true, Ordering::Release);
    }
    /// `timeout(ms)`: how long to wait before the batch a `put` failed with
    /// a retriable error is delivered again, instead of the runtime's
    /// default; for the next failure only. Typically set just before
    /// returning the error (a sink's `retry.backoff.ms`). Not carried
    /// across the native plugin boundary (ABI 3): a plugin's failed batch
    /// waits the default.
    pub fn timeout(&self, wait: std::time::Duration) {
        *lock(&self.retry_timeout) = Some(wait);
    }
    /// `assignment()`: the partitions assigned to the task now; it already
    /// holds those passed to [`SinkTask::open`] and no longer those passed
    /// to [`SinkTask::close`].
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

    /// Runtime side: records the task's assignment, before `open` and
    /// after `close`.
    pub fn set_assignment(&self, partitions: HashSet<TopicPartition>) {
        *lock(&self.assignment) = partitions;
    }
    /// Runtime side: the offset resets requested since the last call.
    pub fn take_offset_resets(&self) -> HashMap<TopicPartition, i64> {
        std::mem::take(&mut *lock(&self.offset_resets))
    }
    /// Runtime side: the partitions to pause and to resume, requested
    /// since the last call (a later request for a partition cancels an
    /// earlier opposite one).
    pub fn take_pause_requests(&self) -> (HashSet<TopicPartition>, HashSet<TopicPartition>) {
        (
            std::mem::take(&mut *lock(&self.to_pause)),
            std::mem::take(&mut *lock(&self.to_resume)),
        )
    }
    /// Runtime side: whether a commit was requested since the last call.
    pub fn take_commit_request(&self) -> bool {
        self.commit_requested.swap(false, Ordering::AcqRel)
    }
    /// Runtime side: the wait [`timeout`](Self::timeout) asked for, once.
    pub fn take_timeout(&self) -> Option<std::time::Duration> {
        lock(&self.retry_timeout).take()
    }
}

/// A sink task (Kafka Connect's `SinkTask`): writes the records the
/// runtime consumed from Kafka to an external system.
///
/// The runtime builds it with [`PluginDescriptor::new_sink_task`] for one
/// of the configurations [`Connector::task_configs`] returned and calls
/// [`start`](Self::start). Then, in a loop: [`open`](Self::open) and
/// [`close`](Self::close) as the task's consumer, a member of the
/// connector's consumer group (`connect-<connector>` by default), is assigned
/// partitions and has them revoked; [`put`](Self::put) with each batch of
/// records fetched (at most `max.poll.records`), converted and
/// transformed; and [`pre_commit`](Self::pre_commit), which calls
/// [`flush`](Self::flush) by default, every `offset.flush.interval.ms`,
/// when the task asks ([`SinkTaskContext::request_commit`]), before
/// partitions are revoked and at stop. Last, `close` of every assigned
/// partition and [`stop`](Self::stop). While the connector is paused
/// nothing is put.
///
/// **Offsets.** The runtime commits to the consumer group the offsets
/// `pre_commit` returns, so a task that writes in `put` (or buffers there
/// and writes in `flush`) is at least once with no offset code of its own:
/// records after the last commit are delivered again after a restart or a
/// rebalance. Offsets are kept by the partition a record was consumed
/// from, which transformations may have changed on the record; see
/// [`SinkRecord::original_topic`](crate::SinkRecord::original_topic).
#[async_trait]
pub trait SinkTask: Send {
    /// `start(props)` (with `initialize(context)`): `props` is the task's
    /// configuration, as [`Connector::task_configs`] made it, with the
    /// connector's `topics` or `topics.regex` added. Keep the context for
    /// later calls; its errant record reporter may be used from here on.
    /// No partition is assigned yet. An error fails the task; `stop` is
    /// called all the same.
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError>;
    /// `open(partitions)`: partitions newly assigned to the task, before
    /// any of their records is put; set up per-partition state (a writer,
    /// a rewind with [`SinkTaskContext::reset_offset`] to offsets kept in
    /// the destination) here. An error fails the task. The default does
    /// nothing.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    /// `put(records)`: writes `records`, which the task now owns, in the
    /// order they were consumed within each partition. It may write them
    /// at once or buffer them for [`flush`](Self::flush). It is only called
    /// with records: unlike Kafka Connect, never with an empty batch when
    /// nothing arrived, so do time-based work in `flush` /
    /// [`pre_commit`](Self::pre_commit).
    ///
    /// A [`ConnectError::Retriable`] error rewinds the batch's partitions,
    /// and the same records are delivered again after a short pause (a
    /// stop ends the pause); any other error fails the task. Either way
    /// the batch is not committed. A record that cannot be written while
    /// the rest can is reported through the context's
    /// [`errant_record_reporter`](SinkTaskContext::errant_record_reporter)
    /// instead, when there is one.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError>;
    /// `flush(currentOffsets)`: makes everything `put` so far durable in
    /// the destination. `offsets` are the positions the runtime would
    /// commit: per partition consumed from, the offset after the last
    /// record put. Called by the default
    /// [`pre_commit`](Self::pre_commit) only. The default does nothing,
    /// right for a task whose `put` writes durably.
    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        Ok(())
    }
    /// `preCommit(currentOffsets)`: the offsets safe to commit, given the
    /// positions after the records put so far (as for
    /// [`flush`](Self::flush)). Return lower offsets, or leave partitions
    /// out, for records not yet durable (a task that writes in the
    /// background); an empty map commits nothing. Offsets are keyed by the
    /// partition consumed from: see
    /// [`SinkRecord::original_kafka_offset`](crate::SinkRecord::original_kafka_offset).
    /// The default calls `flush` and returns `offsets`.
    ///
    /// A [`ConnectError::Retriable`] error skips this commit (the next one
    /// tries again); any other error fails the task.
    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ConnectError> {
        self.flush(&offsets).await?;
        Ok(offsets)
    }
    /// `close(partitions)`: partitions taken away from the task, revoked in
    /// a rebalance or all of them at stop, after the runtime committed
    /// what `pre_commit` returned for them. Drop their per-partition
    /// state; their records are not put any more unless they are assigned
    /// again (with a new `open`). An error fails the task. The default
    /// does nothing.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    /// `stop()`: releases what the task holds (connections, buffers).
    /// Called after the last commit and `close`, and also after a failure,
    /// even of `start`, so it must cope with a task that never started.
    /// An error is logged.
    async fn stop(&mut self) -> Result<(), ConnectError>;
}

/// How the runtime finds and builds a connector: the class name and aliases
/// users write in `connector.class`, and constructors for connector and
/// task. Kafka Connect finds the same by scanning the plugin path for
/// classes; here a connector crate lists its descriptors (conventionally
/// in a `plugins()` function) and the worker registers each with
/// [`Plugin::connector`](crate::Plugin::connector).
///
/// The constructors build unstarted instances and are called for every
/// start (and, for the connector, to validate configurations), so they
/// should be cheap: acquire resources in `start`.
#[derive(Clone)]
pub struct PluginDescriptor {
    /// The Kafka Connect class name, e.g.
    /// `org.apache.kafka.connect.file.FileStreamSourceConnector`.
    pub class: &'static str,
    /// Other accepted names (simple class names are derived automatically).
    pub aliases: &'static [&'static str],
    /// Source or sink; it decides which task constructor is used.
    pub kind: ConnectorKind,
    /// The version `/connector-plugins` reports.
    pub version: &'static str,
    /// Builds an unstarted connector.
    pub new_connector: fn() -> Box<dyn Connector>,
    /// Builds an unstarted source task; `Some` for a source connector.
    pub new_source_task: Option<fn() -> Box<dyn SourceTask>>,
    /// Builds an unstarted sink task; `Some` for a sink connector.
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

    /// The class name without its package, e.g. `FileStreamSourceConnector`.
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
