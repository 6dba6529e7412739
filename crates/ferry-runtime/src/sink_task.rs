//! The sink task loop: fetch → convert → put; every
//! `offset.flush.interval.ms` the task's `pre_commit` says which offsets are
//! safe and those are committed to the group `connect-<connector>`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::{
    ConnectError, ConvertError, ExceptionKind, Headers, OriginalPosition, SinkRecord, SinkTask,
    SinkTaskContext, StopSignal, TimestampType, TopicPartition, TransformError,
};
use ferry_kafka::{Consumer, PartitionOffset, RebalanceEvent};
use ferry_transforms::TransformationChain;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::entities::TargetState;
use crate::error_handling::{ErrantRecord, Retried, RetryPolicy, SinkErrantRecordReporter, Stage};
use crate::errors::TaskError;
use crate::status::trace_of;
use crate::task::{Converters, TaskCore, TaskLoop};

/// How long a `put` that raised a retriable error waits before the same
/// batch is offered again.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Longest wait for the first record of a fetch; also how long a stop or
/// pause request can wait for an idle task to notice it.
const FETCH_WAIT: Duration = Duration::from_millis(200);

/// A sink task's loop: what every task has, plus the consumer and the
/// task's context and errant record reporter.
pub struct SinkTaskRunner {
    pub core: TaskCore<SinkRecord>,
    pub task: Box<dyn SinkTask>,
    pub consumer: Consumer,
    pub context: Arc<SinkTaskContext>,
    pub max_poll_records: usize,
    /// The errant record reporter offered to the task through its context,
    /// when the connector configures one.
    pub reporter: Option<Arc<SinkErrantRecordReporter>>,
}

/// What one fetch consumed, per partition: the first offset and the next
/// offset after the last record (converted or skipped as errant).
type FetchedRanges = Vec<(TopicPartition, i64, i64)>;

fn note_range(ranges: &mut FetchedRanges, topic: &str, partition: i32, offset: i64) {
    match ranges.last_mut() {
        Some((tp, _, next)) if tp.partition == partition && tp.topic == topic => *next = offset + 1,
        _ => match ranges
            .iter_mut()
            .find(|(tp, _, _)| tp.partition == partition && tp.topic == topic)
        {
            Some((_, _, next)) => *next = offset + 1,
            None => ranges.push((TopicPartition::new(topic, partition), offset, offset + 1)),
        },
    }
}

/// Offsets consumed and handed to `put`, as "next offset to read".
type Positions = BTreeMap<TopicPartition, i64>;

/// A consumed record as the stages read it: borrowed from the consumer's
/// buffers, or from an [`OwnedMessage`] kept for a retry.
struct Consumed<'a> {
    topic: &'a str,
    partition: i32,
    offset: i64,
    timestamp: Option<(i64, bool)>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

impl<'a> Consumed<'a> {
    fn borrowed(m: &'a ferry_kafka::ConsumedMessage<'a>) -> Self {
        Consumed {
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: m.key,
            value: m.value,
            headers: m.headers().collect(),
        }
    }

    /// The record's original bytes, for the dead letter queue.
    fn errant(&self, f: StageFailure) -> ErrantRecord {
        ErrantRecord {
            topic: self.topic.to_owned(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp.map(|(t, _)| t),
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(<[u8]>::to_vec)))
                .collect(),
            stage: f.stage,
            class_name: f.class,
            exception_class: f.exception_class,
            message: f.message,
        }
    }
}

/// A consumed record copied out of the consumer's buffers, to be processed
/// after the fetch (when a stage must be retried, with waits in between).
struct OwnedMessage {
    topic: String,
    partition: i32,
    offset: i64,
    timestamp: Option<(i64, bool)>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl OwnedMessage {
    fn of(m: &Consumed<'_>) -> Self {
        OwnedMessage {
            topic: m.topic.to_owned(),
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: m.key.map(<[u8]>::to_vec),
            value: m.value.map(<[u8]>::to_vec),
            headers: m
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    fn view(&self) -> Consumed<'_> {
        Consumed {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect(),
        }
    }
}

/// A stage that failed on a record.
#[derive(Debug)]
struct StageFailure {
    stage: Stage,
    /// The class that failed.
    class: String,
    /// The Java exception class Kafka Connect would name.
    exception_class: &'static str,
    message: String,
    retriable: bool,
}

impl StageFailure {
    fn converter(stage: Stage, class: &str, e: ConvertError) -> Self {
        StageFailure {
            stage,
            class: class.to_owned(),
            exception_class: e.exception_class(),
            retriable: e.is_retriable(),
            message: e.to_string(),
        }
    }

    fn transform(e: TransformError) -> Self {
        StageFailure {
            stage: Stage::Transformation,
            class: e.stage().map(|s| s.class.to_owned()).unwrap_or_default(),
            exception_class: e.exception_class(),
            retriable: e.kind() == ExceptionKind::Retriable,
            message: e.to_string(),
        }
    }

    /// The task's failure when the record is not tolerated.
    fn into_task_error(self) -> TaskError {
        if self.stage == Stage::Transformation {
            TaskError::Transform(self.exception_class, self.message)
        } else {
            TaskError::Convert(self.stage, self.message)
        }
    }
}

/// When and how the first attempt of a deferred record failed.
type FirstFailure = (Instant, StageFailure);

/// The converters a consumed record goes through.
struct StageConverters<'s>(&'s Converters);

/// The converters and transformations a consumed record goes through.
struct Stages<'s> {
    conv: StageConverters<'s>,
    transforms: &'s mut TransformationChain<SinkRecord>,
}

type Converted = (Option<ferry_api::Schema>, ferry_api::Value);

impl StageConverters<'_> {
    fn key(&self, m: &Consumed<'_>) -> Result<Converted, StageFailure> {
        self.0
            .key
            .to_connect(m.topic, m.key)
            .map_err(|e| StageFailure::converter(Stage::KeyConverter, &self.0.key_class, e))
    }

    fn value(&self, m: &Consumed<'_>) -> Result<Converted, StageFailure> {
        self.0
            .value
            .to_connect(m.topic, m.value)
            .map_err(|e| StageFailure::converter(Stage::ValueConverter, &self.0.value_class, e))
    }

    fn headers(&self, m: &Consumed<'_>) -> Result<Headers, StageFailure> {
        let mut headers = Headers::new();
        let header = &self.0.header;
        for (k, v) in &m.headers {
            let (schema, value) = header
                .to_connect(m.topic, k, *v)
                .map_err(|e| StageFailure::converter(Stage::HeaderConverter, header.class(), e))?;
            headers.add(*k, schema, value);
        }
        Ok(headers)
    }

    fn record(m: &Consumed<'_>, key: Converted, value: Converted, headers: Headers) -> SinkRecord {
        let (timestamp, timestamp_type) = match m.timestamp {
            Some((ts, true)) => (Some(ts), TimestampType::LogAppendTime),
            Some((ts, false)) => (Some(ts), TimestampType::CreateTime),
            None => (None, TimestampType::NoTimestampType),
        };
        SinkRecord {
            topic: m.topic.to_owned(),
            kafka_partition: m.partition,
            kafka_offset: m.offset,
            key_schema: key.0,
            key: key.1,
            value_schema: value.0,
            value: value.1,
            timestamp,
            timestamp_type,
            headers,
            original: None,
        }
    }
}

/// Keeps where `r` was consumed when transformations changed its topic,
/// partition or offset (Kafka Connect 3.6's `originalTopic()`,
/// `originalKafkaPartition()`, `originalKafkaOffset()`), so that a sink
/// tracking offsets itself names the partitions the runtime commits. The
/// record's own fields are compared with the message's: most chains leave
/// them alone, and then nothing is copied.
fn with_original(m: &Consumed<'_>, mut r: SinkRecord) -> SinkRecord {
    if r.topic != m.topic || r.kafka_partition != m.partition || r.kafka_offset != m.offset {
        r.original = Some(OriginalPosition {
            topic: m.topic.to_owned(),
            partition: m.partition,
            offset: m.offset,
        });
    }
    r
}

/// Deserializes each message's key, value and headers with one call per
/// converter (see [`Converters::prefers_batches`]): per message, the
/// record the transformations get, or the first stage that failed, in
/// Kafka Connect's order (key, value, headers).
fn deserialize_batch(
    conv: &Converters,
    messages: &[Consumed<'_>],
) -> Vec<Result<SinkRecord, StageFailure>> {
    let keys: Vec<_> = messages.iter().map(|m| (m.topic, m.key)).collect();
    let values: Vec<_> = messages.iter().map(|m| (m.topic, m.value)).collect();
    let headers: Vec<_> = messages
        .iter()
        .flat_map(|m| m.headers.iter().map(move |(k, v)| (m.topic, *k, *v)))
        .collect();
    let missing = || {
        Err(ConvertError::Data(
            "a converter returned too few results".into(),
        ))
    };
    let mut keys = conv.key.to_connect_batch(&keys).into_iter();
    let mut values = conv.value.to_connect_batch(&values).into_iter();
    let mut header_values = if headers.is_empty() {
        Vec::new()
    } else {
        conv.header.to_connect_batch(&headers)
    }
    .into_iter();
    messages
        .iter()
        .map(|m| {
            let key = keys.next().unwrap_or_else(missing);
            let value = values.next().unwrap_or_else(missing);
            let mut converted = Ok(Headers::new());
            for (k, _) in &m.headers {
                let header = header_values.next().unwrap_or_else(missing);
                if let Ok(hs) = &mut converted {
                    match header {
                        Ok((schema, value)) => hs.add(*k, schema, value),
                        Err(e) => converted = Err(e),
                    }
                }
            }
            let key =
                key.map_err(|e| StageFailure::converter(Stage::KeyConverter, &conv.key_class, e))?;
            let value = value.map_err(|e| {
                StageFailure::converter(Stage::ValueConverter, &conv.value_class, e)
            })?;
            let headers = converted.map_err(|e| {
                StageFailure::converter(Stage::HeaderConverter, conv.header.class(), e)
            })?;
            Ok(StageConverters::record(m, key, value, headers))
        })
        .collect()
}

impl Stages<'_> {
    /// One attempt at every stage, in Kafka Connect's order.
    fn run_once(&mut self, m: &Consumed<'_>) -> Result<Option<SinkRecord>, StageFailure> {
        let record = self.convert(m)?;
        self.transforms
            .apply(record)
            .map(|r| r.map(|r| with_original(m, r)))
            .map_err(StageFailure::transform)
    }

    /// One attempt at the converters: the record the transformations get.
    fn convert(&self, m: &Consumed<'_>) -> Result<SinkRecord, StageFailure> {
        let key = self.conv.key(m)?;
        let value = self.conv.value(m)?;
        let headers = self.conv.headers(m)?;
        Ok(StageConverters::record(m, key, value, headers))
    }

    /// Every stage with retries. The stage that failed in the first pass
    /// continues its retries from that attempt; the stages before it
    /// succeeded then and run again on the same bytes.
    // The macro's last use leaves `first` unread by design.
    #[allow(unused_assignments)]
    async fn run_retrying(
        &mut self,
        m: &Consumed<'_>,
        mut first: Option<FirstFailure>,
        retry: &RetryPolicy,
        stop: &mut watch::Receiver<TargetState>,
    ) -> Retried<Option<SinkRecord>, StageFailure> {
        let retriable = |f: &StageFailure| f.retriable;
        macro_rules! stage {
            ($name:expr, $op:expr) => {{
                let outcome = match first.take() {
                    Some((start, f)) if f.stage == $name => {
                        retry.retry_after(start, f, stop, retriable, $op).await
                    }
                    other => {
                        first = other;
                        retry.run(stop, retriable, $op).await
                    }
                };
                match outcome {
                    Retried::Done(v) => v,
                    Retried::Failed(f) => return Retried::Failed(f),
                    Retried::Stopped(f) => return Retried::Stopped(f),
                }
            }};
        }
        let conv = &self.conv;
        let key = stage!(Stage::KeyConverter, || conv.key(m));
        let value = stage!(Stage::ValueConverter, || conv.value(m));
        let headers = stage!(Stage::HeaderConverter, || conv.headers(m));
        let record = StageConverters::record(m, key, value, headers);
        let transforms = &mut *self.transforms;
        // The chain takes the record; each attempt gets a copy. Kafka
        // Connect retries each transformation on its own; Ferry's chain is
        // retried from its start, the same for transformations that keep no
        // state between records.
        Retried::Done(stage!(Stage::Transformation, || transforms
            .apply(record.clone())
            .map(|r| r.map(|r| with_original(m, r)))
            .map_err(StageFailure::transform)))
    }
}

/// Where a record stands once its fetch is over.
enum Later {
    /// Converted; waiting for the chain's result over the batch.
    Transforming,
    /// Through every stage (`None`: dropped by a transformation).
    Done(Option<SinkRecord>),
    /// Failed at a stage, not to be retried.
    Failed(StageFailure),
    /// To be run through the stages with retries, after a first attempt
    /// that failed (or none yet).
    Retry(Option<FirstFailure>),
}

/// What a fetch made of its records so far.
#[derive(Default)]
struct FetchOutcome {
    failure: Option<TaskError>,
    errant: Vec<ErrantRecord>,
    tolerate_all: bool,
}

impl FetchOutcome {
    fn take(
        &mut self,
        m: &Consumed<'_>,
        result: Result<Option<SinkRecord>, StageFailure>,
        batch: &mut Vec<SinkRecord>,
    ) {
        match result {
            Ok(Some(r)) => batch.push(r),
            // Filtered out by a transformation.
            Ok(None) => {}
            Err(f) if self.tolerate_all => self.errant.push(m.errant(f)),
            Err(f) => self.failure = Some(f.into_task_error()),
        }
    }
}

#[async_trait]
impl TaskLoop for SinkTaskRunner {
    const KIND: &'static str = "sink";

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

/// The longest a stopping task waits for its last commit. While the
/// connector's consumer group rebalances, the broker answers a commit only
/// once every member has rejoined, and members may be the very tasks being
/// stopped; a commit that does not make it in time leaves the partitions'
/// next owner to start from the last periodic commit (at least once, as
/// after a crash), instead of holding the herder for the shutdown timeout.
const FINAL_COMMIT_WAIT: Duration = Duration::from_secs(1);

/// Periodic commits (and those of revoked partitions) are sent without
/// waiting, as Kafka Connect's `commitAsync`; the last one before the task
/// stops waits for the broker's answer.
#[derive(Debug, Clone, Copy)]
enum Commit {
    Periodic,
    Final,
}

impl SinkTaskRunner {
    async fn run_loop(&mut self) -> Result<(), TaskError> {
        // Opened before the task starts, so that its errant record reporter
        // can be used from `start` on.
        self.core.open_dlq().await?;
        if let (Some(reporter), Some(dlq)) = (&self.reporter, &self.core.dlq) {
            reporter.attach_dlq(dlq.clone());
        }
        self.task
            .start(self.core.props.clone(), self.context.clone())
            .await
            .map_err(TaskError::Task)?;
        info!(connector = %self.core.connector, task = self.core.task_id, "sink task started");
        let mut positions = Positions::new();
        let mut assigned: HashSet<TopicPartition> = HashSet::new();
        let mut paused_by_task: HashSet<TopicPartition> = HashSet::new();
        let mut next_commit = Instant::now() + self.core.flush_interval;
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(self.max_poll_records);
        while let Some((target, changed)) = self.core.observe_target() {
            if changed {
                self.set_paused(&assigned, &paused_by_task, target == TargetState::Paused)?;
            }
            self.apply_rebalances(&mut assigned, &mut positions, &paused_by_task, target)
                .await?;
            self.apply_context_requests(&assigned, &mut paused_by_task, &mut positions, target)?;

            let mut ranges = FetchedRanges::new();
            if target == TargetState::Started && batch.is_empty() {
                ranges = self.fetch(&mut batch).await?;
            } else if target == TargetState::Paused {
                // Keep serving the group (rebalances) while delivering nothing.
                self.consumer
                    .poll_batch(0, Duration::from_millis(200), |_| {})
                    .await
                    .map_err(TaskError::kafka("Failed to control the consumer"))?;
            }
            if target == TargetState::Started && !ranges.is_empty() {
                let put = if batch.is_empty() {
                    // Every record was errant and skipped.
                    Ok(())
                } else {
                    self.task.put(std::mem::take(&mut batch)).await
                };
                // A record the task reported under errors.tolerance=none
                // fails the task, even if the task carried on.
                if let Some(refused) = self.reporter.as_ref().and_then(|r| r.tolerance_failure()) {
                    return Err(refused);
                }
                match put {
                    Ok(()) => {
                        for (tp, _, next) in ranges {
                            positions.insert(tp, next);
                        }
                    }
                    Err(e) if e.is_retriable() => {
                        // The batch is lost to us once moved; rewind and refetch.
                        warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "retriable put failure; redelivering");
                        self.rewind(&ranges)?;
                        // A stop (perhaps what made `put` give up) ends the wait.
                        let wait = self.context.take_timeout().unwrap_or(RETRY_BACKOFF);
                        self.context
                            .stop_signal()
                            .unless_stopped(tokio::time::sleep(wait))
                            .await;
                    }
                    Err(e) => return Err(TaskError::Task(e)),
                }
            }
            if Instant::now() >= next_commit || self.context.take_commit_request() {
                self.commit(&positions, Commit::Periodic).await?;
                next_commit = Instant::now() + self.core.flush_interval;
            }
        }
        self.commit(&positions, Commit::Final).await?;
        self.core.transforms.close();
        let all: Vec<TopicPartition> = assigned.into_iter().collect();
        self.task.close(&all).await.map_err(TaskError::Task)?;
        let stopped = self.task.stop().await.map_err(TaskError::Task);
        // After `stop`: the task may still report errant records, which the
        // dead letter queue converts.
        self.core.converters.close();
        stopped
    }

    /// Fetches up to `max_poll_records` and converts and transforms them.
    /// A stage that fails with a retriable error is retried per
    /// `errors.retry.*`; a record that still fails fails the task, or with
    /// `errors.tolerance=all` is logged, sent to the dead letter queue and
    /// skipped. Returns no ranges when the task was stopped mid-retry: the
    /// fetch is then rewound and nothing of it is delivered.
    async fn fetch(&mut self, batch: &mut Vec<SinkRecord>) -> Result<FetchedRanges, TaskError> {
        let core = &mut self.core;
        let mut outcome = FetchOutcome {
            tolerate_all: core.errors.tolerate_all,
            ..FetchOutcome::default()
        };
        let mut ranges = FetchedRanges::new();
        let retry = core.errors.retry;
        let mut stages = Stages {
            conv: StageConverters(&core.converters),
            transforms: &mut core.transforms,
        };
        // Converters or a chain that prefer batches (a plugin's) run once
        // over the whole fetch, after it: each record is then copied out of
        // the consumer's buffers, for its dead letter queue entry or retry.
        let batch_converters = stages.conv.0.prefers_batches();
        let batched = batch_converters || stages.transforms.prefers_batches();
        // In fetch order; `None`: not converted yet (batch converters).
        let mut pending: Vec<(Option<SinkRecord>, OwnedMessage)> = Vec::new();
        // Records after one that must be retried wait for it, in order.
        let mut deferred: Vec<(OwnedMessage, Option<FirstFailure>)> = Vec::new();
        let mut topics_seen: Vec<String> = Vec::new();
        self.consumer
            .poll_batch(self.max_poll_records, FETCH_WAIT, |m| {
                if outcome.failure.is_some() {
                    return;
                }
                note_range(&mut ranges, m.topic, m.partition, m.offset);
                if topics_seen.last().map(String::as_str) != Some(m.topic) {
                    topics_seen.push(m.topic.to_owned());
                }
                let view = Consumed::borrowed(&m);
                if !deferred.is_empty() {
                    deferred.push((OwnedMessage::of(&view), None));
                    return;
                }
                let result = if batch_converters {
                    pending.push((None, OwnedMessage::of(&view)));
                    return;
                } else if batched {
                    match stages.convert(&view) {
                        Ok(record) => {
                            pending.push((Some(record), OwnedMessage::of(&view)));
                            return;
                        }
                        Err(f) => Err(f),
                    }
                } else {
                    stages.run_once(&view)
                };
                match result {
                    Err(f) if f.retriable && retry.enabled() => {
                        // The retry deadline counts from the failure: no
                        // clock read per record on the way there.
                        deferred.push((OwnedMessage::of(&view), Some((Instant::now(), f))));
                    }
                    result => outcome.take(&view, result, batch),
                }
            })
            .await
            .map_err(TaskError::kafka("Failed to poll records from Kafka"))?;
        // What is left after the fetch, in order: the batch's records with
        // their stages' results, then the deferred ones.
        let failed = |f: StageFailure| {
            if f.retriable && retry.enabled() {
                Later::Retry(Some((Instant::now(), f)))
            } else {
                Later::Failed(f)
            }
        };
        let mut later: Vec<(OwnedMessage, Later)> =
            Vec::with_capacity(pending.len() + deferred.len());
        if !pending.is_empty() {
            let mut deserialized = if batch_converters {
                let views: Vec<Consumed<'_>> = pending.iter().map(|(_, m)| m.view()).collect();
                deserialize_batch(stages.conv.0, &views)
            } else {
                Vec::new()
            }
            .into_iter();
            let mut records = Vec::with_capacity(pending.len());
            for (record, owned) in pending {
                let converted = match record {
                    Some(r) => Ok(r),
                    None => deserialized.next().unwrap_or_else(|| {
                        Err(StageFailure::converter(
                            Stage::ValueConverter,
                            &stages.conv.0.value_class,
                            ConvertError::Data("a converter returned too few results".into()),
                        ))
                    }),
                };
                let next = match converted {
                    Ok(r) => {
                        records.push(r);
                        Later::Transforming
                    }
                    Err(f) => failed(f),
                };
                later.push((owned, next));
            }
            let mut results = stages.transforms.apply_batch(records).into_iter();
            for (owned, next) in &mut later {
                if matches!(next, Later::Transforming) {
                    *next = match results.next() {
                        Some(Ok(r)) => Later::Done(r.map(|r| with_original(&owned.view(), r))),
                        Some(Err(e)) => failed(StageFailure::transform(e)),
                        None => Later::Failed(StageFailure::transform(TransformError::data(
                            "the transformation chain returned too few results",
                        ))),
                    };
                }
            }
        }
        later.extend(
            deferred
                .into_iter()
                .map(|(owned, first)| (owned, Later::Retry(first))),
        );
        if core.topic_tracking {
            for t in topics_seen {
                if core.status.record_topic(&core.connector, &t) {
                    debug!(connector = %core.connector, topic = %t, "connector uses a new topic");
                }
            }
        }
        let mut stop = core.target.clone();
        for (owned, next) in later {
            if outcome.failure.is_some() {
                break;
            }
            let view = owned.view();
            let first = match next {
                Later::Done(r) => {
                    outcome.take(&view, Ok(r), batch);
                    continue;
                }
                // Filled in above, each from its result.
                Later::Transforming => continue,
                Later::Failed(f) => {
                    outcome.take(&view, Err(f), batch);
                    continue;
                }
                Later::Retry(first) => first,
            };
            match stages.run_retrying(&view, first, &retry, &mut stop).await {
                Retried::Done(r) => outcome.take(&view, Ok(r), batch),
                Retried::Failed(f) => outcome.take(&view, Err(f), batch),
                Retried::Stopped(f) => {
                    info!(connector = %core.connector, task = core.task_id, stage = f.stage.name(),
                          "stopping while a record was being retried; it is read again after a restart");
                    batch.clear();
                    self.rewind(&ranges)?;
                    return Ok(FetchedRanges::new());
                }
            }
        }
        if let Some(f) = outcome.failure {
            return Err(f);
        }
        for r in &outcome.errant {
            core.errors.log_errant(&core.connector, core.task_id, r);
            if let Some(dlq) = &core.dlq {
                dlq.send(r).await?;
            }
        }
        Ok(ranges)
    }

    /// Seeks back so that records of a batch that was not put are fetched again.
    fn rewind(&self, ranges: &FetchedRanges) -> Result<(), TaskError> {
        for (tp, first, _) in ranges {
            self.consumer
                .seek(&tp.topic, tp.partition, *first)
                .map_err(TaskError::kafka("Failed to control the consumer"))?;
        }
        Ok(())
    }

    fn set_paused(
        &self,
        assigned: &HashSet<TopicPartition>,
        paused_by_task: &HashSet<TopicPartition>,
        paused: bool,
    ) -> Result<(), TaskError> {
        let parts: Vec<(String, i32)> = assigned
            .iter()
            .filter(|tp| paused || !paused_by_task.contains(tp))
            .map(|tp| (tp.topic.clone(), tp.partition))
            .collect();
        if parts.is_empty() {
            return Ok(());
        }
        let r = if paused {
            self.consumer.pause(&parts)
        } else {
            self.consumer.resume(&parts)
        };
        r.map_err(TaskError::kafka("Failed to control the consumer"))
    }

    async fn apply_rebalances(
        &mut self,
        assigned: &mut HashSet<TopicPartition>,
        positions: &mut Positions,
        paused_by_task: &HashSet<TopicPartition>,
        target: TargetState,
    ) -> Result<(), TaskError> {
        for event in self.consumer.take_rebalance_events() {
            match event {
                RebalanceEvent::Assigned(parts) => {
                    let tps: Vec<TopicPartition> = parts
                        .iter()
                        .map(|(t, p)| TopicPartition::new(t, *p))
                        .collect();
                    info!(connector = %self.core.connector, task = self.core.task_id, partitions = ?tps, "partitions assigned");
                    assigned.extend(tps.iter().cloned());
                    self.context.set_assignment(assigned.clone());
                    self.task.open(&tps).await.map_err(TaskError::Task)?;
                    if target == TargetState::Paused {
                        self.set_paused(assigned, paused_by_task, true)?;
                    }
                }
                RebalanceEvent::Revoked(parts) => {
                    let tps: Vec<TopicPartition> = parts
                        .iter()
                        .map(|(t, p)| TopicPartition::new(t, *p))
                        .collect();
                    info!(connector = %self.core.connector, task = self.core.task_id, partitions = ?tps, "partitions revoked");
                    let mine: Positions = positions
                        .iter()
                        .filter(|(tp, _)| tps.contains(tp))
                        .map(|(tp, o)| (tp.clone(), *o))
                        .collect();
                    if let Err(e) = self.commit(&mine, Commit::Periodic).await {
                        warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "commit on revocation failed");
                    }
                    self.task.close(&tps).await.map_err(TaskError::Task)?;
                    for tp in &tps {
                        assigned.remove(tp);
                        positions.remove(tp);
                    }
                    self.context.set_assignment(assigned.clone());
                }
            }
        }
        Ok(())
    }

    fn apply_context_requests(
        &self,
        assigned: &HashSet<TopicPartition>,
        paused_by_task: &mut HashSet<TopicPartition>,
        positions: &mut Positions,
        target: TargetState,
    ) -> Result<(), TaskError> {
        for (tp, offset) in self.context.take_offset_resets() {
            if assigned.contains(&tp) {
                self.consumer
                    .seek(&tp.topic, tp.partition, offset)
                    .map_err(TaskError::kafka("Failed to control the consumer"))?;
                positions.insert(tp, offset);
            }
        }
        let (pause, resume) = self.context.take_pause_requests();
        let to_pause: Vec<(String, i32)> = pause
            .into_iter()
            .filter(|tp| assigned.contains(tp))
            .map(|tp| {
                paused_by_task.insert(tp.clone());
                (tp.topic, tp.partition)
            })
            .collect();
        if !to_pause.is_empty() {
            self.consumer
                .pause(&to_pause)
                .map_err(TaskError::kafka("Failed to control the consumer"))?;
        }
        let to_resume: Vec<(String, i32)> = resume
            .into_iter()
            .filter(|tp| paused_by_task.remove(tp) && assigned.contains(tp))
            .map(|tp| (tp.topic, tp.partition))
            .collect();
        // A connector-level pause keeps everything paused.
        if !to_resume.is_empty() && target == TargetState::Started {
            self.consumer
                .resume(&to_resume)
                .map_err(TaskError::kafka("Failed to control the consumer"))?;
        }
        Ok(())
    }

    /// `pre_commit` → commit what the task says is safe.
    async fn commit(&mut self, positions: &Positions, kind: Commit) -> Result<(), TaskError> {
        if positions.is_empty() {
            return Ok(());
        }
        // Records sent to the dead letter queue, by the runtime or through
        // the task's errant record reporter, must be in Kafka before the
        // offsets that skip them are committed.
        if let Some(reporter) = &self.reporter {
            if let Err(e) = reporter.wait_idle(self.core.flush_timeout).await {
                // Kafka Connect waits as long as it takes; here the commit
                // is left for the next round instead, so nothing past an
                // unacknowledged report is committed and the task goes on.
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "offset commit postponed");
                return Ok(());
            }
        }
        if let Some(dlq) = &self.core.dlq {
            if let Err(e) = dlq.flush(self.core.flush_timeout).await {
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "offset commit postponed: dead letter queue not flushed");
                return Ok(());
            }
        }
        let safe = match self.task.pre_commit(positions.clone()).await {
            Ok(s) => s,
            Err(e @ ConnectError::Retriable { .. }) => {
                warn!(connector = %self.core.connector, task = self.core.task_id, error = %trace_of(&e), "pre-commit failed; retrying at the next commit");
                return Ok(());
            }
            Err(e) => return Err(TaskError::Task(e)),
        };
        // A task may still be writing when `pre_commit` is called (a plugin
        // sink's `put` runs in the background); a record it reported
        // meanwhile under errors.tolerance=none fails the task before any
        // offset past it is committed.
        if let Some(refused) = self.reporter.as_ref().and_then(|r| r.tolerance_failure()) {
            return Err(refused);
        }
        let offsets: Vec<PartitionOffset> = safe
            .into_iter()
            .map(|(tp, offset)| PartitionOffset {
                topic: tp.topic,
                partition: tp.partition,
                offset,
            })
            .collect();
        // As in Kafka Connect, a failed commit (coordinator moved, broker
        // restarting) is not the task's failure: the next commit carries
        // the same or later offsets.
        let sent = match kind {
            Commit::Periodic => self.consumer.commit_async(&offsets),
            Commit::Final => {
                self.consumer
                    .commit_final(&offsets, self.core.flush_timeout.min(FINAL_COMMIT_WAIT))
                    .await
            }
        };
        if let Err(e) = sent {
            match kind {
                Commit::Periodic => {
                    warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "offset commit failed; retrying at the next commit")
                }
                Commit::Final => {
                    warn!(connector = %self.core.connector, task = self.core.task_id, error = %e, "final offset commit failed; the partitions' next owner reads on from the last committed offsets")
                }
            }
            return Ok(());
        }
        debug!(connector = %self.core.connector, task = self.core.task_id, partitions = offsets.len(), ?kind, "sink offsets committed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ferry_api::{Converter, Schema, Value};
    use ferry_convert::StringConverter;

    use crate::headers::HeaderConverter;
    use crate::Props;

    use super::*;

    /// A value converter that fails with a retriable error `failures` times.
    struct Flaky {
        calls: AtomicUsize,
        failures: usize,
    }

    impl Converter for Flaky {
        fn configure(&mut self, _props: &Props, _is_key: bool) -> Result<(), ConvertError> {
            Ok(())
        }

        fn from_connect(
            &self,
            _topic: &str,
            _schema: Option<&Schema>,
            _value: &Value,
            _out: &mut Vec<u8>,
        ) -> Result<bool, ConvertError> {
            Err(ConvertError::Data("not used".into()))
        }

        fn to_connect(
            &self,
            _topic: &str,
            data: Option<&[u8]>,
        ) -> Result<(Option<Schema>, Value), ConvertError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err(ConvertError::Retriable("registry unavailable".into()));
            }
            Ok((
                Some(Schema::optional_string()),
                Value::String(String::from_utf8_lossy(data.unwrap_or_default()).into_owned()),
            ))
        }
    }

    fn converters(value: Arc<Flaky>) -> Converters {
        let key = StringConverter::new(ferry_convert::ConverterRole::Key, &Props::new())
            .expect("a string converter");
        Converters {
            key: Arc::new(key),
            value,
            header: Arc::new(HeaderConverter::simple()),
            key_class: "K".to_owned(),
            value_class: "V".to_owned(),
        }
    }

    fn message() -> OwnedMessage {
        OwnedMessage {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            timestamp: Some((1, false)),
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            headers: vec![("h".into(), Some(b"1".to_vec()))],
        }
    }

    #[tokio::test]
    async fn a_retriable_stage_failure_is_retried_from_the_first_attempt_on() {
        let value = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
            failures: 2,
        });
        let converters = converters(value.clone());
        let mut chain = TransformationChain::empty();
        let mut stages = Stages {
            conv: StageConverters(&converters),
            transforms: &mut chain,
        };
        let owned = message();
        let m = owned.view();
        let started = Instant::now();
        let first = match stages.run_once(&m) {
            Err(f) => f,
            Ok(r) => panic!("the first attempt should fail, got {r:?}"),
        };
        assert!(first.retriable);
        assert_eq!(first.stage, Stage::ValueConverter);
        assert_eq!(first.class, "V");

        let (_tx, mut stop) = watch::channel(TargetState::Started);
        let retry = RetryPolicy {
            timeout_ms: 5_000,
            max_delay_ms: 60_000,
        };
        let out = stages
            .run_retrying(&m, Some((started, first)), &retry, &mut stop)
            .await;
        let elapsed = started.elapsed();
        let record = match out {
            Retried::Done(Some(r)) => r,
            other => panic!("expected a record, got {other:?}"),
        };
        assert_eq!(record.value, Value::String("v".into()));
        assert_eq!(record.key, Value::String("k".into()));
        assert_eq!(record.headers.len(), 1);
        // Two failures (the first pass and one retry), then success: the
        // backoffs are 300 and 600 ms from the first attempt.
        assert_eq!(value.calls.load(Ordering::SeqCst), 3);
        assert!(
            elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(1050),
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn when_retries_run_out_the_failure_goes_to_the_tolerance_check() {
        let value = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
            failures: usize::MAX,
        });
        let converters = converters(value.clone());
        let mut chain = TransformationChain::empty();
        let mut stages = Stages {
            conv: StageConverters(&converters),
            transforms: &mut chain,
        };
        let owned = message();
        let m = owned.view();
        let (_tx, mut stop) = watch::channel(TargetState::Started);
        let retry = RetryPolicy {
            timeout_ms: 400,
            max_delay_ms: 60_000,
        };
        let started = Instant::now();
        let failure = match stages.run_retrying(&m, None, &retry, &mut stop).await {
            Retried::Failed(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        };
        let elapsed = started.elapsed();
        // Attempts at 0, 300 and 400 ms (the 600 ms backoff capped).
        assert_eq!(value.calls.load(Ordering::SeqCst), 3);
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(550),
            "{elapsed:?}"
        );
        let mut outcome = FetchOutcome::default();
        let mut batch = Vec::new();
        outcome.take(&m, Err(failure), &mut batch);
        match outcome.failure {
            Some(TaskError::Convert(stage, msg)) => {
                assert_eq!(stage, Stage::ValueConverter);
                assert_eq!(msg, "registry unavailable");
            }
            other => panic!("expected a converter failure, got {other:?}"),
        }
        assert!(batch.is_empty());
    }
}
