//! A test kit for connector authors: the runtime's side of the task API,
//! in memory (enable the `testkit` feature, usually in
//! `[dev-dependencies]`).
//!
//! - [`MemoryOffsetReader`]: committed source offsets, set by the test or by
//!   a [`SourceHarness`]'s commits, so a restarted task resumes from them.
//! - [`RecordingConnectorContext`] and [`RecordingErrantRecordReporter`]:
//!   contexts that record what a connector or task asked of the runtime.
//! - [`SourceHarness`]: starts a source task with given properties and
//!   offsets, polls it with a deadline, checks what it returns (a topic, and
//!   source partitions and offsets of primitives, as the runtime requires),
//!   acknowledges records as Kafka would (calling `commit_record`) and
//!   commits their offsets.
//! - [`SinkHarness`]: opens partitions, feeds records to `put`, asks for
//!   the offsets the task would let the runtime commit (`pre_commit`, which
//!   flushes by default), and shows the task's pause, resume, rewind and
//!   commit requests.
//!
//! Every call into the task is bounded by the harness's timeout (5 s
//! unless changed), so a task that hangs fails its test with a
//! [`HarnessError::Timeout`] rather than hanging it.
//!
//! ```
//! use ferry_api::testkit::SourceHarness;
//! # use ferry_api::{ConnectError, Props, SourceRecord, SourceTask, SourceTaskContext};
//! # #[derive(Default)]
//! # struct MyTask(u32);
//! # #[async_trait::async_trait]
//! # impl SourceTask for MyTask {
//! #     async fn start(&mut self, _: Props, _: SourceTaskContext) -> Result<(), ConnectError> { Ok(()) }
//! #     async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
//! #         self.0 += 1;
//! #         let offset = [("n".to_owned(), self.0.into())].into_iter().collect();
//! #         Ok(vec![SourceRecord::new(Default::default(), offset, "t", None, ferry_api::Value::Int32(0))])
//! #     }
//! #     async fn stop(&mut self) -> Result<(), ConnectError> { Ok(()) }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ferry_api::testkit::HarnessError> {
//! let mut source = SourceHarness::new(MyTask::default());
//! source.start(ferry_api::testkit::props(&[("topic", "t")])).await?;
//! let records = source.poll_records(3, std::time::Duration::from_secs(5)).await?;
//! source.acknowledge(&records).await?;
//! source.commit_offsets().await?;
//! assert_eq!(source.committed_offset(&Default::default()).unwrap()["n"], 3);
//! source.stop().await?;
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::connector::{
    Connector, ConnectorContext, ErrantRecordReporter, OffsetStorageReader, SinkTask,
    SinkTaskContext, SourceTask, SourceTaskContext, TopicPartition,
};
use crate::data::Value;
use crate::error::ConnectError;
use crate::record::{RecordMetadata, SinkRecord, SourceRecord};
use crate::stop::StopSignal;
use crate::sync::lock;
use crate::{OffsetMap, Props};

/// How long a harness waits for one call into the task by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Properties from pairs: `props(&[("topic", "t"), ("batch.size", "3")])`.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A source partition or offset from a JSON object literal
/// (`offset_map(json!({"position": 10}))`); anything else is an empty map.
pub fn offset_map(value: Json) -> OffsetMap {
    match value {
        Json::Object(map) => map,
        _ => OffsetMap::new(),
    }
}

/// A record as the runtime delivers it to a sink task: consumed from
/// `topic`'s `partition` at `offset`, with a value and no schema, key or
/// headers (set the fields for more).
pub fn sink_record(topic: &str, partition: i32, offset: i64, value: Value) -> SinkRecord {
    SinkRecord {
        topic: topic.to_owned(),
        kafka_partition: partition,
        kafka_offset: offset,
        value,
        ..SinkRecord::default()
    }
}

/// What went wrong in a harness.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The task returned an error.
    #[error("the task failed: {0}")]
    Task(#[from] ConnectError),
    /// A call into the task did not return in time.
    #[error("{call} did not return within {timeout:?}")]
    Timeout {
        /// The trait method called, e.g. `SourceTask::poll`.
        call: &'static str,
        /// The harness's timeout.
        timeout: Duration,
    },
    /// Fewer records than asked for arrived before the deadline; `got` are
    /// those that did.
    #[error("{} of {wanted} records within {within:?}", got.len())]
    TooFewRecords {
        /// How many records were asked for.
        wanted: usize,
        /// The records that arrived.
        got: Vec<SourceRecord>,
        /// How long the harness polled.
        within: Duration,
    },
    /// A polled record the runtime would refuse.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The harness was used before `start`.
    #[error("the task was not started")]
    NotStarted,
}

/// Runs one call into the task, bounded by `timeout`.
async fn bounded<T>(
    call: &'static str,
    timeout: Duration,
    work: impl Future<Output = Result<T, ConnectError>>,
) -> Result<T, HarnessError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(HarnessError::Timeout { call, timeout }),
    }
}

/// Committed source offsets in memory: Kafka Connect's
/// `OffsetStorageReader` over what the test (or a [`SourceHarness`]'s
/// commits) put in. Cloning shares the offsets, so a restarted task can be
/// given the reader its predecessor committed to.
#[derive(Clone, Default)]
pub struct MemoryOffsetReader {
    offsets: Arc<Mutex<Vec<(OffsetMap, OffsetMap)>>>,
}

impl MemoryOffsetReader {
    /// A reader with no committed offsets.
    pub fn new() -> Self {
        MemoryOffsetReader::default()
    }

    /// With `offset` committed for `partition`.
    pub fn with(self, partition: OffsetMap, offset: OffsetMap) -> Self {
        self.set(partition, offset);
        self
    }

    /// Commits `offset` for `partition`, replacing an earlier one.
    pub fn set(&self, partition: OffsetMap, offset: OffsetMap) {
        let mut offsets = lock(&self.offsets);
        match offsets.iter_mut().find(|(p, _)| *p == partition) {
            Some(slot) => slot.1 = offset,
            None => offsets.push((partition, offset)),
        }
    }

    /// Every committed partition and offset.
    pub fn all(&self) -> Vec<(OffsetMap, OffsetMap)> {
        lock(&self.offsets).clone()
    }
}

impl OffsetStorageReader for MemoryOffsetReader {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        lock(&self.offsets)
            .iter()
            .find(|(p, _)| p == partition)
            .map(|(_, o)| o.clone())
    }
}

/// A [`ConnectorContext`] that records the connector's requests.
#[derive(Default)]
pub struct RecordingConnectorContext {
    reconfigurations: AtomicUsize,
    errors: Mutex<Vec<ConnectError>>,
}

impl RecordingConnectorContext {
    /// A context that has recorded nothing yet.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingConnectorContext::default())
    }
    /// How often the connector asked for its task configs to be read again.
    pub fn reconfiguration_requests(&self) -> usize {
        self.reconfigurations.load(Ordering::Acquire)
    }
    /// The errors the connector raised, taken.
    pub fn take_errors(&self) -> Vec<ConnectError> {
        std::mem::take(&mut *lock(&self.errors))
    }
}

impl ConnectorContext for RecordingConnectorContext {
    fn request_task_reconfiguration(&self) {
        self.reconfigurations.fetch_add(1, Ordering::AcqRel);
    }
    fn raise_error(&self, error: ConnectError) {
        lock(&self.errors).push(error);
    }
}

/// Starts `connector` with `props` and a [`RecordingConnectorContext`],
/// which it returns; the call is bounded by [`DEFAULT_TIMEOUT`].
pub async fn start_connector(
    connector: &mut dyn Connector,
    props: Props,
) -> Result<Arc<RecordingConnectorContext>, HarnessError> {
    let context = RecordingConnectorContext::new();
    let as_dyn: Arc<dyn ConnectorContext> = context.clone();
    bounded(
        "Connector::start",
        DEFAULT_TIMEOUT,
        connector.start(props, as_dyn),
    )
    .await?;
    Ok(context)
}

/// An [`ErrantRecordReporter`] that keeps what is reported (with
/// `errors.tolerance=all`, as it were), or refuses every report (as under
/// `errors.tolerance=none`).
#[derive(Default)]
pub struct RecordingErrantRecordReporter {
    reported: Mutex<Vec<(SinkRecord, String)>>,
    refuse: bool,
}

impl RecordingErrantRecordReporter {
    /// A reporter that accepts every report.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingErrantRecordReporter::default())
    }
    /// A reporter that refuses every report, as under
    /// `errors.tolerance=none` (the report is still recorded).
    pub fn refusing() -> Arc<Self> {
        Arc::new(RecordingErrantRecordReporter {
            refuse: true,
            ..RecordingErrantRecordReporter::default()
        })
    }
    /// The records reported so far, with their errors' messages.
    pub fn reported(&self) -> Vec<(SinkRecord, String)> {
        lock(&self.reported).clone()
    }
}

#[async_trait]
impl ErrantRecordReporter for RecordingErrantRecordReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<(), ConnectError> {
        lock(&self.reported).push((record.clone(), error.to_string()));
        if self.refuse {
            return Err(ConnectError::other("Tolerance exceeded in error handler"));
        }
        Ok(())
    }
}

/// Why a source record would be refused by the runtime: no topic, or a
/// source partition or offset holding something other than primitives
/// (Kafka Connect stores them as JSON maps of primitives).
pub fn check_source_record(record: &SourceRecord) -> Result<(), String> {
    if record.topic.is_empty() {
        return Err("a record without a topic".into());
    }
    for (what, map) in [
        ("source partition", record.source_partition.as_ref()),
        ("source offset", &record.source_offset),
    ] {
        for (key, value) in map {
            if value.is_object() || value.is_array() {
                return Err(format!(
                    "the {what} may only contain primitive values, but {key} is {value}"
                ));
            }
        }
    }
    Ok(())
}

/// A source task driven as the runtime drives it, in memory.
pub struct SourceHarness<T: SourceTask> {
    task: T,
    context: SourceTaskContext,
    offsets: MemoryOffsetReader,
    timeout: Duration,
    started: bool,
    /// Offsets of acknowledged records not yet committed, per partition.
    acknowledged: Vec<(OffsetMap, OffsetMap)>,
    /// Kafka offsets handed out per topic partition.
    next_kafka_offset: HashMap<(String, i32), i64>,
}

impl<T: SourceTask> SourceHarness<T> {
    /// A harness for `task` of connector `test-connector`, task 0, with no
    /// committed offsets.
    pub fn new(task: T) -> Self {
        SourceHarness::with_offsets(task, MemoryOffsetReader::new())
    }

    /// A harness whose task reads committed offsets from `offsets` (and
    /// commits to it): pass a clone of an earlier harness's
    /// [`offsets`](Self::offsets) to restart a task where it left off.
    pub fn with_offsets(task: T, offsets: MemoryOffsetReader) -> Self {
        SourceHarness {
            task,
            context: SourceTaskContext::new("test-connector", 0, Arc::new(offsets.clone())),
            offsets,
            timeout: DEFAULT_TIMEOUT,
            started: false,
            acknowledged: Vec::new(),
            next_kafka_offset: HashMap::new(),
        }
    }

    /// Names the connector and task number the task's context reports.
    pub fn named(mut self, connector: &str, task: u32) -> Self {
        self.context = SourceTaskContext::new(connector, task, Arc::new(self.offsets.clone()));
        self
    }

    /// How long each call into the task may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The committed offsets the task reads.
    pub fn offsets(&self) -> &MemoryOffsetReader {
        &self.offsets
    }

    /// The stop signal in the task's context; fire it to check that a
    /// waiting `poll` returns.
    pub fn stop_signal(&self) -> &StopSignal {
        self.context.stop_signal()
    }

    /// The task, to look at its state.
    pub fn task(&self) -> &T {
        &self.task
    }

    /// The task, to change its state between calls.
    pub fn task_mut(&mut self) -> &mut T {
        &mut self.task
    }

    /// Starts the task with `props`.
    pub async fn start(&mut self, props: Props) -> Result<(), HarnessError> {
        bounded(
            "SourceTask::start",
            self.timeout,
            self.task.start(props, self.context.clone()),
        )
        .await?;
        self.started = true;
        Ok(())
    }

    /// One poll; its records are checked as the runtime would.
    pub async fn poll(&mut self) -> Result<Vec<SourceRecord>, HarnessError> {
        if !self.started {
            return Err(HarnessError::NotStarted);
        }
        let records = bounded("SourceTask::poll", self.timeout, self.task.poll()).await?;
        for r in &records {
            check_source_record(r).map_err(HarnessError::InvalidRecord)?;
        }
        Ok(records)
    }

    /// Polls until at least `n` records arrived, for at most `within`
    /// (each poll also bounded by the harness's timeout). Returns every
    /// record polled, which may be more than `n`.
    pub async fn poll_records(
        &mut self,
        n: usize,
        within: Duration,
    ) -> Result<Vec<SourceRecord>, HarnessError> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::new();
        while got.len() < n {
            if tokio::time::Instant::now() >= deadline {
                return Err(HarnessError::TooFewRecords {
                    wanted: n,
                    got,
                    within,
                });
            }
            got.extend(self.poll().await?);
        }
        Ok(got)
    }

    /// Acknowledges `records` as Kafka would once written: calls
    /// `commit_record` with made-up metadata (the record's topic and
    /// partition, 0 when it names none, and the next offset there) when the
    /// task wants it, and notes their offsets for the next
    /// [`commit_offsets`](Self::commit_offsets). Returns the metadata.
    pub async fn acknowledge(
        &mut self,
        records: &[SourceRecord],
    ) -> Result<Vec<RecordMetadata>, HarnessError> {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let partition = r.kafka_partition.unwrap_or(0);
            let next = self
                .next_kafka_offset
                .entry((r.topic.clone(), partition))
                .or_insert(0);
            let metadata = RecordMetadata {
                topic: r.topic.clone(),
                partition,
                offset: *next,
                timestamp: r.timestamp,
            };
            *next += 1;
            self.finish(r, Some(&metadata)).await?;
            out.push(metadata);
        }
        Ok(out)
    }

    /// Handles `records` as the runtime handles records a transformation
    /// dropped or that were skipped after an error: `commit_record` with no
    /// metadata, and their offsets noted for the next commit.
    pub async fn acknowledge_dropped(
        &mut self,
        records: &[SourceRecord],
    ) -> Result<(), HarnessError> {
        for r in records {
            self.finish(r, None).await?;
        }
        Ok(())
    }

    async fn finish(
        &mut self,
        record: &SourceRecord,
        metadata: Option<&RecordMetadata>,
    ) -> Result<(), HarnessError> {
        if self.task.wants_commit_record() {
            bounded(
                "SourceTask::commit_record",
                self.timeout,
                self.task.commit_record(record, metadata),
            )
            .await?;
        }
        let partition = record.source_partition.as_ref();
        if partition.is_empty() && record.source_offset.is_empty() {
            return Ok(());
        }
        match self.acknowledged.iter_mut().find(|(p, _)| p == partition) {
            Some(slot) => slot.1 = record.source_offset.clone(),
            None => self
                .acknowledged
                .push((partition.clone(), record.source_offset.clone())),
        }
        Ok(())
    }

    /// Commits the offsets of the records acknowledged so far to the
    /// offset reader, then calls the task's `commit`, as the runtime's
    /// offset flush does.
    pub async fn commit_offsets(&mut self) -> Result<(), HarnessError> {
        for (partition, offset) in std::mem::take(&mut self.acknowledged) {
            self.offsets.set(partition, offset);
        }
        bounded("SourceTask::commit", self.timeout, self.task.commit()).await
    }

    /// The committed offset of `partition`.
    pub fn committed_offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.offsets.offset(partition)
    }

    /// Fires the stop signal and stops the task, as the runtime does.
    pub async fn stop(&mut self) -> Result<(), HarnessError> {
        self.context.stop_signal().stop();
        bounded("SourceTask::stop", self.timeout, self.task.stop()).await
    }
}

/// What a sink task asked of the runtime through its context since the
/// last look.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SinkRequests {
    /// Partitions the task paused (and did not resume since).
    pub paused: HashSet<TopicPartition>,
    /// Partitions the task resumed (and did not pause since).
    pub resumed: HashSet<TopicPartition>,
    /// Partitions to consume from the given offset next.
    pub offset_resets: HashMap<TopicPartition, i64>,
    /// The task asked for an offset commit.
    pub commit_requested: bool,
}

/// A sink task driven as the runtime drives it, in memory.
pub struct SinkHarness<T: SinkTask> {
    task: T,
    context: Arc<SinkTaskContext>,
    reporter: Option<Arc<RecordingErrantRecordReporter>>,
    timeout: Duration,
    started: bool,
    /// Next offset to consume per partition, past the records `put`
    /// accepted.
    positions: BTreeMap<TopicPartition, i64>,
}

impl<T: SinkTask> SinkHarness<T> {
    /// A harness for `task`; its context offers no errant record reporter.
    pub fn new(task: T) -> Self {
        SinkHarness::with_context(task, SinkTaskContext::new(), None)
    }

    /// A harness whose context offers `reporter` (as a connector with a
    /// dead letter queue or `errors.log.enable` gets one).
    pub fn with_errant_record_reporter(
        task: T,
        reporter: Arc<RecordingErrantRecordReporter>,
    ) -> Self {
        let context = SinkTaskContext::with_errant_record_reporter(reporter.clone());
        SinkHarness::with_context(task, context, Some(reporter))
    }

    fn with_context(
        task: T,
        context: Arc<SinkTaskContext>,
        reporter: Option<Arc<RecordingErrantRecordReporter>>,
    ) -> Self {
        SinkHarness {
            task,
            context,
            reporter,
            timeout: DEFAULT_TIMEOUT,
            started: false,
            positions: BTreeMap::new(),
        }
    }

    /// How long each call into the task may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The task, to look at its state.
    pub fn task(&self) -> &T {
        &self.task
    }

    /// The task, to change its state between calls.
    pub fn task_mut(&mut self) -> &mut T {
        &mut self.task
    }

    /// The task's context, as the task sees it.
    pub fn context(&self) -> &Arc<SinkTaskContext> {
        &self.context
    }

    /// The stop signal in the task's context.
    pub fn stop_signal(&self) -> &StopSignal {
        self.context.stop_signal()
    }

    /// What was reported through the errant record reporter.
    pub fn reported(&self) -> Vec<(SinkRecord, String)> {
        self.reporter
            .as_ref()
            .map(|r| r.reported())
            .unwrap_or_default()
    }

    /// Starts the task with `props`.
    pub async fn start(&mut self, props: Props) -> Result<(), HarnessError> {
        bounded(
            "SinkTask::start",
            self.timeout,
            self.task.start(props, self.context.clone()),
        )
        .await?;
        self.started = true;
        Ok(())
    }

    /// Assigns `partitions` (added to the context's assignment) and calls
    /// `open`.
    pub async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), HarnessError> {
        let mut assignment = self.context.assignment();
        assignment.extend(partitions.iter().cloned());
        self.context.set_assignment(assignment);
        bounded("SinkTask::open", self.timeout, self.task.open(partitions)).await
    }

    /// Hands `records` to `put`. Once it succeeds, the consumed position of
    /// each record's original partition moves past its original offset, as
    /// the runtime's does.
    pub async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), HarnessError> {
        if !self.started {
            return Err(HarnessError::NotStarted);
        }
        let consumed: Vec<(TopicPartition, i64)> = records
            .iter()
            .map(|r| {
                (
                    TopicPartition::new(r.original_topic(), r.original_kafka_partition()),
                    r.original_kafka_offset() + 1,
                )
            })
            .collect();
        bounded("SinkTask::put", self.timeout, self.task.put(records)).await?;
        for (tp, next) in consumed {
            let position = self.positions.entry(tp).or_insert(next);
            *position = (*position).max(next);
        }
        Ok(())
    }

    /// The consumed positions (next offset per partition) of the records
    /// `put` accepted.
    pub fn positions(&self) -> &BTreeMap<TopicPartition, i64> {
        &self.positions
    }

    /// Asks the task which offsets may be committed, as the runtime's
    /// offset commit does: `pre_commit` with the consumed positions (which
    /// flushes by default). Returns what the task said.
    pub async fn commit(&mut self) -> Result<BTreeMap<TopicPartition, i64>, HarnessError> {
        bounded(
            "SinkTask::pre_commit",
            self.timeout,
            self.task.pre_commit(self.positions.clone()),
        )
        .await
    }

    /// The pause, resume, rewind and commit requests the task made since
    /// the last call.
    pub fn take_requests(&self) -> SinkRequests {
        let (paused, resumed) = self.context.take_pause_requests();
        SinkRequests {
            paused,
            resumed,
            offset_resets: self.context.take_offset_resets(),
            commit_requested: self.context.take_commit_request(),
        }
    }

    /// Revokes `partitions`: calls `close` and removes them from the
    /// assignment and the positions.
    pub async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), HarnessError> {
        bounded("SinkTask::close", self.timeout, self.task.close(partitions)).await?;
        let mut assignment = self.context.assignment();
        for tp in partitions {
            assignment.remove(tp);
            self.positions.remove(tp);
        }
        self.context.set_assignment(assignment);
        Ok(())
    }

    /// Fires the stop signal, closes the assigned partitions and stops the
    /// task, as the runtime does (which commits first: call
    /// [`commit`](Self::commit) before to see the last offsets).
    pub async fn stop(&mut self) -> Result<(), HarnessError> {
        self.context.stop_signal().stop();
        let assigned: Vec<TopicPartition> = self.context.assignment().into_iter().collect();
        bounded("SinkTask::close", self.timeout, self.task.close(&assigned)).await?;
        bounded("SinkTask::stop", self.timeout, self.task.stop()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A source task that emits `per_poll` records per poll, numbered in
    /// its offsets from the committed one on, and notes `commit_record`
    /// and `commit` calls. With `hang`, its polls wait for the stop signal.
    #[derive(Default)]
    struct Counter {
        next: u64,
        per_poll: u64,
        hang: bool,
        nested_offset: bool,
        stop: StopSignal,
        committed_records: Vec<(u64, Option<i64>)>,
        commits: usize,
        stopped: bool,
    }

    fn partition() -> OffsetMap {
        offset_map(json!({"source": "counter"}))
    }

    #[async_trait]
    impl SourceTask for Counter {
        async fn start(
            &mut self,
            props: Props,
            context: SourceTaskContext,
        ) -> Result<(), ConnectError> {
            self.per_poll = props
                .get("per.poll")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            self.hang = props.contains_key("hang");
            self.nested_offset = props.contains_key("nested");
            self.next = context
                .offset_storage_reader()
                .offset(&partition())
                .and_then(|o| o["n"].as_u64())
                .map_or(0, |n| n + 1);
            self.stop = context.stop_signal().clone();
            Ok(())
        }

        async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
            if self.hang {
                self.stop.stopped().await;
                return Ok(Vec::new());
            }
            let part = Arc::new(partition());
            let out = (0..self.per_poll)
                .map(|i| {
                    let n = self.next + i;
                    let offset = if self.nested_offset {
                        offset_map(json!({ "n": { "deep": n } }))
                    } else {
                        offset_map(json!({ "n": n }))
                    };
                    SourceRecord::new(
                        part.clone(),
                        offset,
                        "numbers",
                        None,
                        Value::Int64(n as i64),
                    )
                })
                .collect();
            self.next += self.per_poll;
            Ok(out)
        }

        async fn commit_record(
            &mut self,
            record: &SourceRecord,
            metadata: Option<&RecordMetadata>,
        ) -> Result<(), ConnectError> {
            let n = record.source_offset["n"].as_u64().unwrap_or(u64::MAX);
            self.committed_records.push((n, metadata.map(|m| m.offset)));
            Ok(())
        }

        async fn commit(&mut self) -> Result<(), ConnectError> {
            self.commits += 1;
            Ok(())
        }

        async fn stop(&mut self) -> Result<(), ConnectError> {
            self.stopped = true;
            Ok(())
        }
    }

    #[test]
    fn the_offset_reader_keeps_one_offset_per_partition() {
        let reader = MemoryOffsetReader::new().with(partition(), offset_map(json!({"n": 1})));
        reader.set(partition(), offset_map(json!({"n": 2})));
        reader.set(offset_map(json!({"other": 1})), offset_map(json!({"n": 9})));
        assert_eq!(
            reader.offset(&partition()),
            Some(offset_map(json!({"n": 2})))
        );
        assert_eq!(reader.all().len(), 2);
        assert_eq!(reader.offset(&offset_map(json!({"none": 0}))), None);
        // Clones share the offsets.
        reader.clone().set(partition(), offset_map(json!({"n": 3})));
        assert_eq!(reader.offset(&partition()).unwrap()["n"], 3);
    }

    #[tokio::test]
    async fn a_source_harness_polls_acknowledges_and_commits() {
        let mut h = SourceHarness::new(Counter::default());
        assert!(matches!(h.poll().await, Err(HarnessError::NotStarted)));
        h.start(props(&[("per.poll", "2")])).await.unwrap();
        let records = h.poll_records(5, Duration::from_secs(5)).await.unwrap();
        assert_eq!(records.len(), 6, "whole polls: 3 of 2 records");
        let metadata = h.acknowledge(&records[..4]).await.unwrap();
        let offsets: Vec<i64> = metadata.iter().map(|m| m.offset).collect();
        assert_eq!(offsets, [0, 1, 2, 3]);
        assert_eq!(metadata[0].topic, "numbers");
        h.acknowledge_dropped(&records[4..5]).await.unwrap();
        assert_eq!(
            h.task().committed_records,
            [
                (0, Some(0)),
                (1, Some(1)),
                (2, Some(2)),
                (3, Some(3)),
                (4, None)
            ]
        );
        assert_eq!(h.committed_offset(&partition()), None, "not committed yet");
        h.commit_offsets().await.unwrap();
        assert_eq!(h.committed_offset(&partition()).unwrap()["n"], 4);
        assert_eq!(h.task().commits, 1);
        h.stop().await.unwrap();
        assert!(h.task().stopped);
        assert!(h.stop_signal().is_stopped());

        // A new task given the same offsets resumes after the committed one.
        let mut restarted = SourceHarness::with_offsets(Counter::default(), h.offsets().clone());
        restarted.start(props(&[])).await.unwrap();
        let next = restarted.poll().await.unwrap();
        assert_eq!(next[0].source_offset["n"], 5);
    }

    #[tokio::test]
    async fn too_few_records_report_what_did_arrive() {
        let mut h = SourceHarness::new(Counter::default());
        h.start(props(&[("per.poll", "0")])).await.unwrap();
        match h.poll_records(1, Duration::from_millis(50)).await {
            Err(HarnessError::TooFewRecords { wanted, got, .. }) => {
                assert_eq!((wanted, got.len()), (1, 0));
            }
            other => panic!("expected too few records, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_poll_that_hangs_times_out_and_the_stop_signal_ends_it() {
        let mut h = SourceHarness::new(Counter::default()).timeout(Duration::from_millis(100));
        h.start(props(&[("hang", "")])).await.unwrap();
        assert!(matches!(
            h.poll().await,
            Err(HarnessError::Timeout {
                call: "SourceTask::poll",
                ..
            })
        ));
        h.stop_signal().stop();
        assert!(h.poll().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn records_the_runtime_would_refuse_are_reported() {
        let mut h = SourceHarness::new(Counter::default()).named("c", 3);
        h.start(props(&[("nested", "")])).await.unwrap();
        match h.poll().await {
            Err(HarnessError::InvalidRecord(why)) => {
                assert_eq!(
                    why,
                    r#"the source offset may only contain primitive values, but n is {"deep":0}"#
                );
            }
            other => panic!("expected an invalid record, got {other:?}"),
        }
    }

    /// A sink task that keeps what it is given, and uses its context as
    /// its config asks: pause, rewind, request a commit, report errant
    /// records (values "bad"), or hang in `put`.
    #[derive(Default)]
    struct Keeper {
        context: Option<Arc<SinkTaskContext>>,
        hang: bool,
        kept: Vec<SinkRecord>,
        flushed: usize,
        opened: Vec<TopicPartition>,
        closed: Vec<TopicPartition>,
    }

    #[async_trait]
    impl SinkTask for Keeper {
        async fn start(
            &mut self,
            props: Props,
            context: Arc<SinkTaskContext>,
        ) -> Result<(), ConnectError> {
            self.hang = props.contains_key("hang");
            self.context = Some(context);
            Ok(())
        }

        async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
            self.opened.extend_from_slice(partitions);
            Ok(())
        }

        async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
            let Some(context) = self.context.clone() else {
                return Err(ConnectError::other("not started"));
            };
            if self.hang {
                context.stop_signal().stopped().await;
                return Err(ConnectError::retriable("stopped"));
            }
            for r in records {
                match &r.value {
                    Value::String(s) if s == "bad" => {
                        let reporter = context
                            .errant_record_reporter()
                            .ok_or_else(|| ConnectError::other("no reporter"))?;
                        reporter
                            .report(&r, &ConnectError::other("bad value"))
                            .await?;
                    }
                    Value::String(s) if s == "pause" => {
                        context.pause(&[TopicPartition::new(r.original_topic(), 0)]);
                        context.request_commit();
                    }
                    Value::String(s) if s == "rewind" => {
                        context.reset_offset(TopicPartition::new(r.original_topic(), 0), 0);
                    }
                    _ => self.kept.push(r),
                }
            }
            Ok(())
        }

        async fn flush(
            &mut self,
            _offsets: &BTreeMap<TopicPartition, i64>,
        ) -> Result<(), ConnectError> {
            self.flushed = self.kept.len();
            Ok(())
        }

        async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
            self.closed.extend_from_slice(partitions);
            Ok(())
        }

        async fn stop(&mut self) -> Result<(), ConnectError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_sink_harness_tracks_positions_and_commits_through_pre_commit() {
        let mut h = SinkHarness::new(Keeper::default());
        let tp = TopicPartition::new("in", 0);
        assert!(matches!(
            h.put(Vec::new()).await,
            Err(HarnessError::NotStarted)
        ));
        h.start(props(&[])).await.unwrap();
        h.open(std::slice::from_ref(&tp)).await.unwrap();
        assert_eq!(h.context().assignment(), HashSet::from([tp.clone()]));
        // The second record was routed to another topic by a transformation:
        // its original position is what counts.
        let mut routed = sink_record("elsewhere", 3, 40, Value::from("b"));
        routed.original = Some(crate::OriginalPosition {
            topic: "in".into(),
            partition: 0,
            offset: 11,
        });
        h.put(vec![sink_record("in", 0, 10, Value::from("a")), routed])
            .await
            .unwrap();
        assert_eq!(h.positions(), &BTreeMap::from([(tp.clone(), 12)]));
        let committed = h.commit().await.unwrap();
        assert_eq!(committed, BTreeMap::from([(tp.clone(), 12)]));
        assert_eq!(h.task().flushed, 2, "pre_commit flushes by default");
        h.close(std::slice::from_ref(&tp)).await.unwrap();
        assert!(h.positions().is_empty());
        assert!(h.context().assignment().is_empty());
        h.stop().await.unwrap();
        assert_eq!(h.task().closed, [tp]);
    }

    #[tokio::test]
    async fn a_sink_harness_shows_the_tasks_requests_and_reports() {
        let reporter = RecordingErrantRecordReporter::new();
        let mut h = SinkHarness::with_errant_record_reporter(Keeper::default(), reporter);
        h.start(props(&[])).await.unwrap();
        h.put(vec![
            sink_record("in", 0, 0, Value::from("bad")),
            sink_record("in", 0, 1, Value::from("pause")),
            sink_record("in", 0, 2, Value::from("rewind")),
        ])
        .await
        .unwrap();
        let reported = h.reported();
        assert_eq!(reported.len(), 1);
        assert_eq!(
            (reported[0].0.kafka_offset, reported[0].1.as_str()),
            (0, "bad value")
        );
        let requests = h.take_requests();
        let tp = TopicPartition::new("in", 0);
        assert_eq!(requests.paused, HashSet::from([tp.clone()]));
        assert_eq!(requests.offset_resets, HashMap::from([(tp, 0)]));
        assert!(requests.commit_requested);
        assert_eq!(h.take_requests(), SinkRequests::default(), "taken");

        let mut refused = SinkHarness::with_errant_record_reporter(
            Keeper::default(),
            RecordingErrantRecordReporter::refusing(),
        );
        refused.start(props(&[])).await.unwrap();
        let failed = refused
            .put(vec![sink_record("in", 0, 0, Value::from("bad"))])
            .await;
        assert!(matches!(failed, Err(HarnessError::Task(_))), "{failed:?}");
        assert!(
            refused.positions().is_empty(),
            "a failed put consumes nothing"
        );
    }

    #[tokio::test]
    async fn a_put_that_waits_for_the_stop_signal_times_out_until_it_fires() {
        let mut h = SinkHarness::new(Keeper::default()).timeout(Duration::from_millis(100));
        h.start(props(&[("hang", "")])).await.unwrap();
        let records = || vec![sink_record("in", 0, 0, Value::from("a"))];
        assert!(matches!(
            h.put(records()).await,
            Err(HarnessError::Timeout {
                call: "SinkTask::put",
                ..
            })
        ));
        h.stop_signal().stop();
        match h.put(records()).await {
            Err(HarnessError::Task(e)) => assert!(e.is_retriable()),
            other => panic!("expected the task's retriable error, got {other:?}"),
        }
    }

    struct Reconfiguring;

    #[async_trait]
    impl Connector for Reconfiguring {
        fn version(&self) -> String {
            "1".into()
        }
        fn config_def(&self) -> crate::ConfigDef {
            crate::ConfigDef::new()
        }
        async fn start(
            &mut self,
            _props: Props,
            context: Arc<dyn ConnectorContext>,
        ) -> Result<(), ConnectError> {
            context.request_task_reconfiguration();
            context.raise_error(ConnectError::other("lost the source"));
            Ok(())
        }
        fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
            Ok(Vec::new())
        }
        async fn stop(&mut self) -> Result<(), ConnectError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_connector_context_records_requests_and_errors() {
        let context = start_connector(&mut Reconfiguring, props(&[]))
            .await
            .unwrap();
        assert_eq!(context.reconfiguration_requests(), 1);
        let errors = context.take_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), "lost the source");
        assert!(context.take_errors().is_empty());
    }
}
