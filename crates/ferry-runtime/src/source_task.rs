//! The source task loop: poll → convert → produce; a record's source offset
//! is committed only after Kafka acknowledged it and every record submitted
//! before it (at-least-once).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::{
    ConnectError, ConvertError, Converter, ExceptionKind, OffsetMap, RecordMetadata, SourceRecord,
    SourceTask, SourceTaskContext, StopSignal, TransformError,
};
use ferry_kafka::{Admin, Delivered, DeliveryListener, OutgoingRecord, Producer};
use rdkafka::error::KafkaError;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::entities::TargetState;
use crate::error_handling::{ErrantRecord, Retried, RetryPolicy, Stage, DATA_EXCEPTION};
use crate::errors::TaskError;
use crate::offsets::OffsetStore;
use crate::status::trace_of;
use crate::task::{Converters, TaskCore, TaskLoop};
use crate::topic_creation::TopicCreation;

/// Records handed to the producer, in submission order, until they and all
/// before them are acknowledged (Kafka Connect's `SubmittedRecords`).
///
/// For a task that wants [`SourceTask::commit_record`], each entry also
/// keeps the record as polled, and acknowledged entries stay until the
/// task's loop takes them ([`SubmittedRecords::take_finished`]) to call
/// `commit_record` from the loop; otherwise the delivery callback moves
/// acknowledged offsets along by itself.
#[derive(Default)]
pub struct SubmittedRecords {
    inner: Mutex<Submitted>,
    /// Set once, after the task started and before its first record.
    keeps_records: AtomicBool,
}

#[derive(Default)]
struct Submitted {
    /// Sequence number of `pending[0]`.
    base: usize,
    next: usize,
    pending: VecDeque<Pending>,
    /// Latest offset per source partition of the acknowledged prefix, not
    /// yet taken by `committable`. Advanced on every acknowledgement so that
    /// acknowledged records do not pile up between offset flushes.
    ready: Vec<(Arc<OffsetMap>, OffsetMap)>,
    failure: Option<KafkaError>,
}

impl Submitted {
    fn advance(&mut self) {
        while self.pending.front().is_some_and(|p| p.done) {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            self.base += 1;
            self.note_ready(p.partition, p.offset);
        }
    }

    /// `offset` is the latest committable one of `partition`.
    fn note_ready(&mut self, partition: Arc<OffsetMap>, offset: OffsetMap) {
        if partition.is_empty() && offset.is_empty() {
            return;
        }
        match self
            .ready
            .iter_mut()
            .find(|(part, _)| Arc::ptr_eq(part, &partition) || *part == partition)
        {
            Some(slot) => slot.1 = offset,
            None => self.ready.push((partition, offset)),
        }
    }

    fn get_mut(&mut self, seq: usize) -> Option<&mut Pending> {
        let i = seq.checked_sub(self.base)?;
        self.pending.get_mut(i)
    }
}

struct Pending {
    partition: Arc<OffsetMap>,
    /// Empty while the kept record holds the offset.
    offset: OffsetMap,
    /// Acknowledged, or never to be written (filtered, skipped).
    done: bool,
    /// For `commit_record` only, so boxed: tasks that do not want it pay
    /// one pointer per record in flight.
    kept: Option<Box<Kept>>,
}

/// What `commit_record` is called with.
#[derive(Default)]
struct Kept {
    /// The record as polled.
    record: Option<SourceRecord>,
    /// Where Kafka stored it; `None` when it was never written.
    metadata: Option<RecordMetadata>,
}

/// A record the runtime is done with, in submission order, for
/// `commit_record`.
pub struct Finished {
    /// The record's source partition.
    pub partition: Arc<OffsetMap>,
    /// Its source offset, unless `record` holds it.
    pub offset: OffsetMap,
    /// The record as polled (its offset inside), when it was kept.
    pub record: Option<SourceRecord>,
    /// Where Kafka stored it; `None` when it was never written.
    pub metadata: Option<RecordMetadata>,
}

impl SubmittedRecords {
    /// Tracks records for a task that wants `commit_record` when
    /// `keeps_records`: the records are kept until the loop takes them.
    pub fn new(keeps_records: bool) -> Self {
        SubmittedRecords {
            inner: Mutex::default(),
            keeps_records: AtomicBool::new(keeps_records),
        }
    }

    /// Whether to keep records, as the started task says; before the
    /// first record is submitted.
    pub fn set_keeps_records(&self, keeps_records: bool) {
        self.keeps_records.store(keeps_records, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Submitted> {
        ferry_api::lock(&self.inner)
    }

    /// Whether records are kept for `commit_record`.
    pub fn keeps_records(&self) -> bool {
        self.keeps_records.load(Ordering::Acquire)
    }

    /// Registers a record about to be sent; returns its sequence number.
    pub fn submit(&self, partition: Arc<OffsetMap>, offset: OffsetMap) -> usize {
        self.submit_batch(std::iter::once((partition, offset)))
    }

    /// Registers a batch about to be sent, in order, under one lock; returns
    /// the sequence number of the first. Records of the batch that are never
    /// sent (the task failed) are never acknowledged, so nothing after them
    /// is committed.
    pub fn submit_batch(
        &self,
        batch: impl ExactSizeIterator<Item = (Arc<OffsetMap>, OffsetMap)>,
    ) -> usize {
        let mut s = self.lock();
        let first = s.next;
        s.next += batch.len();
        s.pending.extend(batch.map(|(partition, offset)| Pending {
            partition,
            offset,
            done: false,
            kept: None,
        }));
        first
    }

    /// Keeps `record`, as polled, with the entry `seq` (once sent, or with
    /// [`Self::finish`]).
    pub fn keep(&self, seq: usize, record: SourceRecord) {
        if let Some(p) = self.lock().get_mut(seq) {
            p.kept.get_or_insert_with(Box::default).record = Some(record);
        }
    }

    /// The record `seq` is done with without being written (a filtered or
    /// skipped record): its offset may be committed.
    pub fn finish(&self, seq: usize, record: Option<SourceRecord>) {
        let mut s = self.lock();
        if let Some(p) = s.get_mut(seq) {
            p.done = true;
            if self.keeps_records() {
                p.kept.get_or_insert_with(Box::default).record = record;
            }
        }
        if !self.keeps_records() {
            s.advance();
        }
    }

    /// The acknowledged prefix, in order, for the loop to call
    /// `commit_record` with; their offsets become committable through
    /// [`Self::note_committable`]. Nothing when records are not kept.
    pub fn take_finished(&self) -> Vec<Finished> {
        let mut s = self.lock();
        let mut out = Vec::new();
        while s.pending.front().is_some_and(|p| p.done) {
            let Some(p) = s.pending.pop_front() else {
                break;
            };
            s.base += 1;
            let kept = p.kept.map(|k| *k).unwrap_or_default();
            out.push(Finished {
                partition: p.partition,
                offset: p.offset,
                record: kept.record,
                metadata: kept.metadata,
            });
        }
        out
    }

    /// A finished record's offset, after `commit_record`.
    pub fn note_committable(&self, partition: Arc<OffsetMap>, offset: OffsetMap) {
        self.lock().note_ready(partition, offset);
    }

    /// The latest committable offset of each source partition: that of the
    /// last record of the acknowledged prefix. Removes that prefix.
    pub fn committable(&self) -> Vec<(Arc<OffsetMap>, OffsetMap)> {
        let mut s = self.lock();
        if !self.keeps_records() {
            s.advance();
        }
        std::mem::take(&mut s.ready)
    }

    pub fn failure(&self) -> Option<KafkaError> {
        self.lock().failure.clone()
    }

    pub fn outstanding(&self) -> usize {
        self.lock().pending.len()
    }
}

impl DeliveryListener for SubmittedRecords {
    fn delivered(&self, seq: usize, result: Result<Delivered<'_>, KafkaError>) {
        let mut s = self.lock();
        match result {
            Ok(d) => {
                // Where it landed is kept only for `commit_record`.
                let metadata = self.keeps_records().then(|| RecordMetadata {
                    topic: d.topic.to_owned(),
                    partition: d.partition,
                    offset: d.offset,
                    timestamp: d.timestamp,
                });
                let first = seq == s.base;
                if let Some(p) = s.get_mut(seq) {
                    p.done = true;
                    if metadata.is_some() {
                        p.kept.get_or_insert_with(Box::default).metadata = metadata;
                    }
                }
                if first && !self.keeps_records() {
                    s.advance();
                }
            }
            Err(e) => {
                if s.failure.is_none() {
                    s.failure = Some(e);
                }
            }
        }
    }
}

/// A source task's loop: what every task has, plus the producer, the
/// records in flight and the offset store.
pub struct SourceTaskRunner {
    pub core: TaskCore<SourceRecord>,
    pub task: Box<dyn SourceTask>,
    pub producer: Producer,
    pub submitted: Arc<SubmittedRecords>,
    pub offsets: Arc<dyn OffsetStore>,
    pub context: SourceTaskContext,
    /// Longest wait for the producer and the dead letter queue to drain.
    pub drain_timeout: Duration,
    /// Topic creation rules and the admin client to apply them, when the
    /// worker and the connector ask for topic creation.
    pub topic_creation: Option<(TopicCreation, Admin)>,
    /// Topics already created or found to exist.
    pub known_topics: HashSet<String>,
    /// The offset write in flight, started at the last flush.
    pub offset_write:
        Option<tokio::task::JoinHandle<Result<usize, crate::offsets::OffsetStoreError>>>,
}

/// The dead letter queue entry for a failed source record: its key and value
/// as the task's converters write them, or — for the part whose converter
/// failed — as `Values.convertToString` text; the source partition and
/// offset ride along as headers.
fn source_errant(
    r: &SourceRecord,
    converters: &Converters,
    (stage, class_name, exception_class): (Stage, String, &'static str),
    message: String,
) -> ErrantRecord {
    let bytes = |c: &dyn Converter, schema: Option<&ferry_api::Schema>, v: &ferry_api::Value| {
        let mut out = Vec::new();
        match c.from_connect(&r.topic, schema, v, &mut out) {
            Ok(true) => Some(out),
            Ok(false) => None,
            Err(_) if v.is_null() => None,
            Err(_) => Some(ferry_java::values::convert_to_string(v).into_bytes()),
        }
    };
    let mut headers: Vec<(String, Option<Vec<u8>>)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.key.clone(),
                converters
                    .header
                    .from_connect(&r.topic, &h.key, h.schema.as_ref(), &h.value)
                    .ok()
                    .flatten(),
            )
        })
        .collect();
    headers.push((
        "__connect.errors.source.partition".into(),
        serde_json::to_vec(r.source_partition.as_ref()).ok(),
    ));
    headers.push((
        "__connect.errors.source.offset".into(),
        serde_json::to_vec(&r.source_offset).ok(),
    ));
    ErrantRecord {
        topic: r.topic.clone(),
        partition: r.kafka_partition.unwrap_or(-1),
        offset: -1,
        timestamp: r.timestamp,
        key: bytes(converters.key.as_ref(), r.key_schema.as_ref(), &r.key),
        value: bytes(converters.value.as_ref(), r.value_schema.as_ref(), &r.value),
        headers,
        stage,
        class_name,
        exception_class,
        message,
    }
}

/// Header names with their serialized values (`None`: null).
type SerializedHeaders = Vec<(String, Option<Vec<u8>>)>;

/// What the converters made of one record in a batch pass: its key's and
/// value's bytes (`None`: null) and its headers', or the first failure.
struct Serialized {
    key: Result<Option<Vec<u8>>, ConvertError>,
    value: Result<Option<Vec<u8>>, ConvertError>,
    headers: Result<SerializedHeaders, ConvertError>,
}

/// Serializes each record's key, value and headers with one call per
/// converter (see [`Converters::prefers_batches`]).
fn serialize_batch(conv: &Converters, records: &[&SourceRecord]) -> Vec<Serialized> {
    let keys: Vec<_> = records
        .iter()
        .map(|r| (r.topic.as_str(), r.key_schema.as_ref(), &r.key))
        .collect();
    let values: Vec<_> = records
        .iter()
        .map(|r| (r.topic.as_str(), r.value_schema.as_ref(), &r.value))
        .collect();
    let headers: Vec<_> = records
        .iter()
        .flat_map(|r| {
            r.headers.iter().map(|h| {
                (
                    r.topic.as_str(),
                    h.key.as_str(),
                    h.schema.as_ref(),
                    &h.value,
                )
            })
        })
        .collect();
    let mut keys = conv.key.from_connect_batch(&keys).into_iter();
    let mut values = conv.value.from_connect_batch(&values).into_iter();
    let mut header_bytes = if headers.is_empty() {
        Vec::new()
    } else {
        conv.header.from_connect_batch(&headers)
    }
    .into_iter();
    let missing = || {
        Err(ConvertError::Data(
            "a converter returned too few results".into(),
        ))
    };
    records
        .iter()
        .map(|r| {
            let mut converted = Ok(Vec::with_capacity(r.headers.len()));
            for h in r.headers.iter() {
                let bytes = header_bytes.next().unwrap_or_else(missing);
                if let Ok(out) = &mut converted {
                    match bytes {
                        Ok(b) => out.push((h.key.clone(), b)),
                        Err(e) => converted = Err(e),
                    }
                }
            }
            Serialized {
                key: keys.next().unwrap_or_else(missing),
                value: values.next().unwrap_or_else(missing),
                headers: converted,
            }
        })
        .collect()
}

/// Puts a batch pass's bytes where `send` expects them: `true` when there
/// is a payload.
fn take_bytes(bytes: Option<Vec<u8>>, buf: &mut Vec<u8>) -> bool {
    match bytes {
        Some(b) => {
            *buf = b;
            true
        }
        None => {
            buf.clear();
            false
        }
    }
}

/// A converter stage: the batch pass's first attempt when there was one
/// (retried by `op` if it failed retriably), else `op` with retries.
async fn converted<T>(
    retry: RetryPolicy,
    stop: &mut watch::Receiver<TargetState>,
    first: Option<Result<T, ConvertError>>,
    op: impl FnMut() -> Result<T, ConvertError>,
) -> Retried<T, ConvertError> {
    let retriable = ConvertError::is_retriable;
    match first {
        None => retry.run(stop, retriable, op).await,
        Some(Ok(v)) => Retried::Done(v),
        Some(Err(e)) => {
            retry
                .retry_after(Instant::now(), e, stop, retriable, op)
                .await
        }
    }
}

struct Buffers {
    last_topic: String,
    topic_resets: u64,
    key: Vec<u8>,
    value: Vec<u8>,
    headers: SerializedHeaders,
}

#[async_trait]
impl TaskLoop for SourceTaskRunner {
    const KIND: &'static str = "source";

    async fn execute(&mut self) -> Result<(), TaskError> {
        self.run_loop().await
    }

    async fn stop_task(&mut self) -> Result<(), ConnectError> {
        self.task.stop().await
    }

    fn stop_signal(&self) -> StopSignal {
        self.context.stop_signal().clone()
    }

    fn target(&self) -> watch::Receiver<TargetState> {
        self.core.target.clone()
    }
}

impl SourceTaskRunner {
    async fn run_loop(&mut self) -> Result<(), TaskError> {
        self.task
            .start(self.core.props.clone(), self.context.clone())
            .await
            .map_err(TaskError::Task)?;
        // Asked once started: a plugin's task knows only then.
        self.submitted
            .set_keeps_records(self.task.wants_commit_record());
        self.core.open_dlq().await?;
        info!(connector = %self.core.connector, task = self.core.task_id, "source task started");
        let mut bufs = Buffers {
            last_topic: String::new(),
            topic_resets: 0,
            key: Vec::with_capacity(256),
            value: Vec::with_capacity(1024),
            headers: Vec::new(),
        };
        let mut next_flush = Instant::now() + self.core.flush_interval;
        // Ends the backoff of a retried operation when the task is stopped.
        let mut stop = self.core.target.clone();
        let keep = self.submitted.keeps_records();
        while let Some((target, _)) = self.core.observe_target() {
            if let Some(source) = self.submitted.failure() {
                return Err(TaskError::Delivery {
                    context: "Unrecoverable exception from producer send callback",
                    source,
                });
            }
            self.commit_records().await;
            self.finish_offset_write(false).await;
            if Instant::now() >= next_flush && self.offset_write.is_none() {
                // As in Kafka Connect, a failed commit (the offset store or
                // dead letter queue unreachable) is retried at the next
                // flush; the records stay uncommitted meanwhile.
                if let Err(e) = self.begin_offset_write().await {
                    warn!(connector = %self.core.connector, task = self.core.task_id, error = %trace_of(&e),
                          "offset commit failed; retrying at the next flush");
                }
                next_flush = Instant::now() + self.core.flush_interval;
            }
            if target == TargetState::Paused {
                // Wake for a state change or the next offset flush.
                let _ = tokio::time::timeout_at(next_flush, self.core.target.changed()).await;
                continue;
            }
            let mut records = match self.task.poll().await {
                Ok(r) => r,
                // As Kafka Connect: a retriable poll failure is logged and the
                // task polls again (after a pause, so a broken source does not spin).
                Err(e) if e.is_retriable() => {
                    warn!(connector = %self.core.connector, task = self.core.task_id, error = %trace_of(&e), "retriable poll failure; polling again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => return Err(TaskError::Task(e)),
            };
            // The offset moves into the tracker, unless the record keeps it
            // for `commit_record` or for a dead letter queue entry.
            let keep_offsets = keep || self.core.dlq.is_some();
            let first = self.submitted.submit_batch(records.iter_mut().map(|r| {
                let offset = if keep {
                    OffsetMap::new()
                } else if keep_offsets {
                    r.source_offset.clone()
                } else {
                    std::mem::take(&mut r.source_offset)
                };
                (r.source_partition.clone(), offset)
            }));
            let retry = self.core.errors.retry;
            // The record as polled is kept for a dead letter queue entry, for
            // retries (the chain takes the record it transforms), and for
            // `commit_record` when a transformation may change it.
            let copy = self.core.dlq.is_some()
                || retry.enabled()
                || (keep && !self.core.transforms.is_empty());
            let mut originals = copy.then(|| records.clone().into_iter());
            // The chain's first attempt runs over the whole batch: each
            // stage is called once (a plugin's crosses its library once).
            let mut applied_batch = (!self.core.transforms.is_empty()).then(|| {
                self.core
                    .transforms
                    .apply_batch(std::mem::take(&mut records))
                    .into_iter()
            });
            let mut untransformed = records.into_iter();
            // Converters that prefer batches (a plugin's) serialize what
            // passed the chain in one call each, before the sends.
            let mut serialized = self.core.converters.prefers_batches().then(|| {
                let passed: Vec<&SourceRecord> = match &applied_batch {
                    Some(results) => results
                        .as_slice()
                        .iter()
                        .filter_map(|r| r.as_ref().ok().and_then(Option::as_ref))
                        .collect(),
                    None => untransformed.as_slice().iter().collect(),
                };
                serialize_batch(&self.core.converters, &passed).into_iter()
            });
            for i in 0.. {
                let first_try = match &mut applied_batch {
                    Some(results) => results.next(),
                    None => untransformed.next().map(|r| Ok(Some(r))),
                };
                let Some(first_try) = first_try else { break };
                let pre = match (&first_try, &mut serialized) {
                    (Ok(Some(_)), Some(serialized)) => serialized.next(),
                    _ => None,
                };
                let original = originals.as_mut().and_then(Iterator::next);
                let seq = first + i;
                let is_retriable = |e: &TransformError| e.kind() == ExceptionKind::Retriable;
                let applied = match (first_try, &original) {
                    (Ok(r), _) => Retried::Done(r),
                    (Err(e), Some(copy)) if retry.enabled() && is_retriable(&e) => {
                        let transforms = &mut self.core.transforms;
                        retry
                            .retry_after(Instant::now(), e, &mut stop, is_retriable, || {
                                transforms.apply(copy.clone())
                            })
                            .await
                    }
                    (Err(e), _) => Retried::Failed(e),
                };
                let record = match applied {
                    Retried::Done(Some(r)) => r,
                    // Filtered out: done with, so its offset may be committed.
                    Retried::Done(None) => {
                        self.submitted.finish(seq, original);
                        continue;
                    }
                    Retried::Failed(e) if self.core.errors.tolerate_all => {
                        let class = e.stage().map(|s| s.class.to_owned()).unwrap_or_default();
                        self.skip(
                            seq,
                            original,
                            (Stage::Transformation, class, e.exception_class()),
                            e.to_string(),
                        )
                        .await?;
                        continue;
                    }
                    Retried::Failed(e) => {
                        return Err(TaskError::Transform(e.exception_class(), e.to_string()))
                    }
                    // Stopping: this record and the rest of the batch stay
                    // unacknowledged, so their offsets are not committed and
                    // they are polled again after a restart.
                    Retried::Stopped(_) => break,
                };
                match self.send(&record, pre, seq, &mut bufs, &mut stop).await {
                    Ok(true) => {
                        if keep {
                            // Without a copy, no transformation changed it.
                            self.submitted.keep(seq, original.unwrap_or(record));
                        }
                    }
                    Ok(false) => break,
                    Err(TaskError::Convert(stage, msg)) if self.core.errors.tolerate_all => {
                        let class = self.core.converters.class_at(stage).to_owned();
                        self.skip(
                            seq,
                            Some(original.unwrap_or(record)),
                            (stage, class, DATA_EXCEPTION),
                            msg,
                        )
                        .await?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.shutdown().await
    }

    /// Calls the task's `commit_record` for each record the runtime is done
    /// with, in order, then makes their offsets committable. Failures are
    /// logged, as Kafka Connect logs what `commitRecord` throws.
    async fn commit_records(&mut self) {
        if !self.submitted.keeps_records() {
            return;
        }
        let finished = self.submitted.take_finished();
        if finished.is_empty() {
            return;
        }
        // One call for all of them: a plugin task gets them in one batch.
        let mut order = Vec::with_capacity(finished.len());
        let mut records = Vec::new();
        for f in finished {
            let Finished {
                partition,
                offset,
                record,
                metadata,
            } = f;
            match record {
                Some(r) => {
                    order.push(None);
                    records.push((r, metadata));
                }
                None => order.push(Some((partition, offset))),
            }
        }
        if !records.is_empty() {
            if let Err(e) = self.task.commit_records(&records).await {
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %trace_of(&e),
                      "commit_record failed");
            }
        }
        let mut records = records.into_iter();
        for kept in order {
            let (partition, offset) = match kept {
                Some(position) => position,
                None => match records.next() {
                    Some((mut r, _)) => (r.source_partition, std::mem::take(&mut r.source_offset)),
                    None => continue,
                },
            };
            self.submitted.note_committable(partition, offset);
        }
    }

    /// Converts and produces one record; `Ok(false)` when the task was
    /// asked to stop while a conversion was being retried (nothing sent).
    async fn send(
        &mut self,
        record: &SourceRecord,
        pre: Option<Serialized>,
        seq: usize,
        bufs: &mut Buffers,
        stop: &mut watch::Receiver<TargetState>,
    ) -> Result<bool, TaskError> {
        let SourceRecord {
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
            ..
        } = record;
        let (kafka_partition, timestamp) = (*kafka_partition, *timestamp);
        let retry = self.core.errors.retry;
        let conv = &self.core.converters;
        let (pre_key, pre_value, pre_headers) = match pre {
            Some(p) => (Some(p.key), Some(p.value), Some(p.headers)),
            None => (None, None, None),
        };
        let (key_conv, key_buf) = (&conv.key, &mut bufs.key);
        let first = pre_key.map(|r| r.map(|bytes| take_bytes(bytes, key_buf)));
        let has_key = match converted(retry, stop, first, || {
            key_conv.from_connect(topic, key_schema.as_ref(), key, key_buf)
        })
        .await
        {
            Retried::Done(present) => present,
            Retried::Failed(e) => {
                return Err(TaskError::Convert(Stage::KeyConverter, e.to_string()))
            }
            Retried::Stopped(_) => return Ok(false),
        };
        let (value_conv, value_buf) = (&conv.value, &mut bufs.value);
        let first = pre_value.map(|r| r.map(|bytes| take_bytes(bytes, value_buf)));
        let has_value = match converted(retry, stop, first, || {
            value_conv.from_connect(topic, value_schema.as_ref(), value, value_buf)
        })
        .await
        {
            Retried::Done(present) => present,
            Retried::Failed(e) => {
                return Err(TaskError::Convert(Stage::ValueConverter, e.to_string()))
            }
            Retried::Stopped(_) => return Ok(false),
        };
        // All headers are one operation, as in Kafka Connect.
        let (header_conv, header_buf) = (&conv.header, &mut bufs.headers);
        let first = pre_headers.map(|r| r.map(|h| *header_buf = h));
        let headers_converted = converted(retry, stop, first, || {
            header_buf.clear();
            for h in headers {
                let bytes = header_conv.from_connect(topic, &h.key, h.schema.as_ref(), &h.value)?;
                header_buf.push((h.key.clone(), bytes));
            }
            Ok(())
        })
        .await;
        match headers_converted {
            Retried::Done(()) => {}
            Retried::Failed(e) => {
                return Err(TaskError::Convert(Stage::HeaderConverter, e.to_string()))
            }
            Retried::Stopped(_) => return Ok(false),
        }
        // Most records carry no headers: skip building the view for them.
        let header_refs: Vec<(&str, Option<&[u8]>)> = if bufs.headers.is_empty() {
            Vec::new()
        } else {
            bufs.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect()
        };
        // Records mostly go to the topic of the record before: topic creation
        // and tracking look at a topic only when it changes.
        let resets = self.core.status.topic_resets();
        if bufs.last_topic != *topic || bufs.topic_resets != resets {
            self.ensure_topic(topic).await?;
            if self.core.topic_tracking
                && self.core.status.record_topic(&self.core.connector, topic)
            {
                debug!(connector = %self.core.connector, topic = %topic, "connector uses a new topic");
            }
            bufs.topic_resets = resets;
            bufs.last_topic.clone_from(topic);
        }
        let out = OutgoingRecord {
            topic,
            partition: kafka_partition,
            key: has_key.then_some(bufs.key.as_slice()),
            value: has_value.then_some(bufs.value.as_slice()),
            headers: &header_refs,
            timestamp,
        };
        self.producer
            .send(&out, seq)
            .await
            // The message is built only on failure: this runs per record.
            .map_err(|e| {
                TaskError::kafka(format!("Failed to send a record to topic {topic}"))(e)
            })?;
        Ok(true)
    }

    /// A record that failed with `errors.tolerance=all`: logged if asked,
    /// written to the dead letter queue if one is configured, and counted as
    /// done so that its offset can be committed (after the queue is flushed).
    async fn skip(
        &mut self,
        seq: usize,
        original: Option<SourceRecord>,
        (stage, class_name, exception_class): (Stage, String, &'static str),
        message: String,
    ) -> Result<(), TaskError> {
        let core = &self.core;
        if core.errors.log {
            error!(connector = %core.connector, task = core.task_id, stage = stage.name(), error = %message,
                   "Error encountered in task {}-{}; record skipped (errors.tolerance=all)", core.connector, core.task_id);
        }
        if let (Some(dlq), Some(r)) = (&core.dlq, &original) {
            let errant = source_errant(
                r,
                &core.converters,
                (stage, class_name, exception_class),
                message,
            );
            dlq.send(&errant).await?;
        }
        self.submitted.finish(seq, original);
        Ok(())
    }

    /// Creates `topic` per the connector's `topic.creation.*` rules the first
    /// time this task writes to it.
    async fn ensure_topic(&mut self, topic: &str) -> Result<(), TaskError> {
        let Some((rules, admin)) = &self.topic_creation else {
            return Ok(());
        };
        if self.known_topics.contains(topic) {
            return Ok(());
        }
        if let Some(spec) = rules.spec_for(topic) {
            let created = admin
                .create_topics(std::slice::from_ref(&spec))
                .await
                .map_err(TaskError::kafka(format!("Failed to create topic {topic}")))?;
            if !created.is_empty() {
                info!(connector = %self.core.connector, topic, partitions = spec.partitions,
                      replication_factor = spec.replication_factor, "created topic");
            }
        }
        self.known_topics.insert(topic.to_owned());
        Ok(())
    }

    /// Writes the offsets of acknowledged records, then tells the task.
    /// The offsets of the records acknowledged so far, to store.
    fn committable_offsets(&self) -> Vec<(OffsetMap, Option<OffsetMap>)> {
        self.submitted
            .committable()
            .into_iter()
            .map(|(p, o)| (Arc::unwrap_or_clone(p), Some(o)))
            .collect()
    }

    /// Starts writing the acknowledged offsets in the background: polling
    /// goes on meanwhile (as Kafka Connect commits offsets off the polling
    /// thread), so a slow offset store (an fsync of the offsets file, a
    /// slow broker) does not hold change events back.
    async fn begin_offset_write(&mut self) -> Result<(), TaskError> {
        self.commit_records().await;
        // Dead-lettered records must be in Kafka before their offsets count.
        if let Some(dlq) = &self.core.dlq {
            dlq.flush(self.drain_timeout).await?;
        }
        let offsets = self.committable_offsets();
        if offsets.is_empty() {
            return self.task.commit().await.map_err(TaskError::Task);
        }
        let store = self.offsets.clone();
        let connector = self.core.connector.clone();
        self.offset_write = Some(tokio::spawn(async move {
            let n = offsets.len();
            store.put(&connector, offsets).await.map(|()| n)
        }));
        Ok(())
    }

    /// Takes the result of the offset write in flight, if it finished (or,
    /// with `wait`, once it does), and tells the task its offsets are
    /// stored (`commit`), as Kafka Connect does after a flush.
    async fn finish_offset_write(&mut self, wait: bool) {
        let Some(handle) = self.offset_write.as_mut() else {
            return;
        };
        if !wait && !handle.is_finished() {
            return;
        }
        let result = handle.await;
        self.offset_write = None;
        match result {
            Ok(Ok(n)) => {
                debug!(connector = %self.core.connector, task = self.core.task_id, partitions = n, "committed source offsets");
                if let Err(e) = self.task.commit().await {
                    warn!(connector = %self.core.connector, task = self.core.task_id, error = %trace_of(&e), "task commit failed");
                }
            }
            Ok(Err(e)) => {
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %e,
                      "offset commit failed; retrying at the next flush");
            }
            Err(e) => {
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "offset commit failed; retrying at the next flush");
            }
        }
    }

    /// The last commit: what was acknowledged, written before returning.
    async fn commit_offsets(&mut self) -> Result<(), TaskError> {
        self.finish_offset_write(true).await;
        self.commit_records().await;
        if let Some(dlq) = &self.core.dlq {
            dlq.flush(self.drain_timeout).await?;
        }
        let offsets = self.committable_offsets();
        if !offsets.is_empty() {
            let n = offsets.len();
            self.offsets
                .put(&self.core.connector, offsets)
                .await
                .map_err(|e| TaskError::Offsets(e.into()))?;
            debug!(connector = %self.core.connector, task = self.core.task_id, partitions = n, "committed source offsets");
        }
        self.task.commit().await.map_err(TaskError::Task)
    }

    /// Drains the producer, commits what was acknowledged, stops the task.
    async fn shutdown(&mut self) -> Result<(), TaskError> {
        if let Err(e) = self.producer.flush(self.drain_timeout).await {
            warn!(connector = %self.core.connector, task = self.core.task_id, error = %e,
                  outstanding = self.submitted.outstanding(), "producer not drained at shutdown");
        }
        self.commit_offsets().await?;
        self.core.transforms.close();
        let stopped = self.task.stop().await.map_err(TaskError::Task);
        // After `stop`, which may still produce records.
        self.core.converters.close();
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: serde_json::Value) -> OffsetMap {
        v.as_object().cloned().unwrap_or_default()
    }

    fn at(offset: i64) -> Result<Delivered<'static>, KafkaError> {
        Ok(Delivered {
            topic: "t",
            partition: 0,
            offset,
            timestamp: Some(1_000 + offset),
        })
    }

    #[test]
    fn only_the_acknowledged_prefix_is_committable() {
        let s = SubmittedRecords::default();
        let p = Arc::new(m(json!({"f": "a"})));
        let a = s.submit(p.clone(), m(json!({"pos": 1})));
        let b = s.submit(p.clone(), m(json!({"pos": 2})));
        let c = s.submit(p.clone(), m(json!({"pos": 3})));
        s.delivered(b, at(1));
        assert!(
            s.committable().is_empty(),
            "record a is not acknowledged yet"
        );
        s.delivered(a, at(0));
        assert_eq!(s.committable(), vec![(p.clone(), m(json!({"pos": 2})))]);
        s.delivered(c, at(2));
        assert_eq!(s.committable(), vec![(p, m(json!({"pos": 3})))]);
        assert_eq!(s.outstanding(), 0);
        assert!(s.take_finished().is_empty(), "records are not kept");
    }

    #[test]
    fn a_failed_delivery_is_reported_and_never_committed() {
        let s = SubmittedRecords::default();
        let a = s.submit(Arc::new(m(json!({"f": "a"}))), m(json!({"pos": 1})));
        s.delivered(a, Err(KafkaError::Canceled));
        assert!(s.failure().is_some());
        assert!(s.committable().is_empty());
    }

    fn record(p: &Arc<OffsetMap>, pos: i64) -> SourceRecord {
        SourceRecord::new(
            p.clone(),
            m(json!({ "pos": pos })),
            "t",
            None,
            ferry_api::Value::Int64(pos),
        )
    }

    #[test]
    fn kept_records_finish_in_order_with_where_they_landed() {
        let s = SubmittedRecords::new(true);
        let p = Arc::new(m(json!({"f": "a"})));
        let first = s.submit_batch((0..3).map(|_| (p.clone(), OffsetMap::new())));
        // 0 is sent, 1 is filtered out, 2 is sent; 2 is acknowledged first.
        s.keep(first, record(&p, 0));
        s.finish(first + 1, Some(record(&p, 1)));
        s.keep(first + 2, record(&p, 2));
        s.delivered(first + 2, at(8));
        assert!(s.take_finished().is_empty(), "0 is not acknowledged yet");
        // The callback acknowledges; only the loop moves offsets along.
        s.delivered(first, at(7));
        assert!(s.committable().is_empty());
        let finished = s.take_finished();
        let seen: Vec<(i64, Option<i64>)> = finished
            .iter()
            .map(|f| {
                let r = f.record.as_ref().expect("kept");
                (
                    r.source_offset["pos"].as_i64().unwrap_or(-1),
                    f.metadata.as_ref().map(|md| md.offset),
                )
            })
            .collect();
        assert_eq!(seen, [(0, Some(7)), (1, None), (2, Some(8))]);
        assert_eq!(
            finished[2].metadata,
            Some(RecordMetadata {
                topic: "t".into(),
                partition: 0,
                offset: 8,
                timestamp: Some(1_008),
            })
        );
        for f in finished {
            let mut r = f.record.expect("kept");
            s.note_committable(
                r.source_partition.clone(),
                std::mem::take(&mut r.source_offset),
            );
        }
        assert_eq!(s.committable(), vec![(p, m(json!({"pos": 2})))]);
        assert_eq!(s.outstanding(), 0);
    }
}
