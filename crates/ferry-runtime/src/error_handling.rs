//! Kafka Connect's `errors.*` handling for records that fail in a converter:
//! fail the task (`errors.tolerance=none`), or skip the record, log it if
//! asked, and for sinks write its original bytes to the dead letter queue
//! with the `__connect.errors.*` context headers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::{lock, ConnectError, Converter, ErrantRecordReporter, SinkRecord};
use ferry_kafka::{
    Admin, Delivered, DeliveryListener, NewTopicSpec, OutgoingRecord, Producer, ProducerPool,
};
use rdkafka::error::KafkaError;
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;
use tracing::{debug, error, trace, warn};

use crate::entities::TargetState;

use crate::connector_config::DLQ_TOPIC;
use crate::errors::TaskError;
use crate::headers::HeaderConverter;
use crate::worker_config::WorkerConfig;
use crate::Props;

pub const TOLERANCE: &str = "errors.tolerance";
pub const LOG_ENABLE: &str = "errors.log.enable";
pub const LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
pub const DLQ_REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";

pub const RETRY_TIMEOUT: &str = "errors.retry.timeout";
pub const RETRY_DELAY_MAX: &str = "errors.retry.delay.max.ms";

const DLQ_WRITE_FAILED: &str = "Failed to write a record to the dead letter queue";

pub const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";
pub const RETRIABLE_EXCEPTION: &str = "org.apache.kafka.connect.errors.RetriableException";

/// Where in a record's way through a task an operation failed: Kafka
/// Connect's `Stage`, whose names appear in logs, traces and the dead
/// letter queue's `__connect.errors.stage` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    TaskPoll,
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    KafkaProduce,
    KafkaConsume,
    TaskPut,
}

impl Stage {
    /// Kafka Connect's name of the stage.
    pub fn name(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn flag(props: &Props, key: &str) -> bool {
    props
        .get(key)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The connector's `errors.*` settings (validated when the config was
/// accepted).
#[derive(Debug, Clone, Default)]
pub struct ErrorPolicy {
    pub tolerate_all: bool,
    pub log: bool,
    pub log_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_replication_factor: i32,
    pub dlq_context_headers: bool,
    pub retry: RetryPolicy,
}

impl ErrorPolicy {
    pub fn from_config(props: &Props) -> Self {
        ErrorPolicy {
            tolerate_all: props
                .get(TOLERANCE)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("all")),
            log: flag(props, LOG_ENABLE),
            log_messages: flag(props, LOG_INCLUDE_MESSAGES),
            dlq_topic: props
                .get(DLQ_TOPIC)
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            dlq_replication_factor: props
                .get(DLQ_REPLICATION_FACTOR)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(3),
            dlq_context_headers: flag(props, DLQ_CONTEXT_HEADERS),
            retry: RetryPolicy::from_config(props),
        }
    }
}

/// A consumed record a converter could not read, with its original bytes.
#[derive(Debug, Clone)]
pub struct ErrantRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub stage: Stage,
    /// The class of the converter or transformation that failed.
    pub class_name: String,
    /// The Java exception class Kafka Connect would name.
    pub exception_class: &'static str,
    pub message: String,
}

impl ErrorPolicy {
    /// Logs a tolerated failure the way Kafka Connect's `LogReporter` does.
    pub fn log_errant(&self, connector: &str, task: u32, r: &ErrantRecord) {
        if !self.log {
            return;
        }
        let mut context = format!(
            "Error encountered in task {connector}-{task}. Executing stage '{}' with class '{}', where consumed record is {{topic='{}', partition={}, offset={}, timestamp={}}}.",
            r.stage,
            r.class_name,
            r.topic,
            r.partition,
            r.offset,
            r.timestamp.unwrap_or(-1)
        );
        if self.log_messages {
            context.push_str(&format!(
                " Key: {:?}, value: {:?}.",
                r.key.as_deref().map(String::from_utf8_lossy),
                r.value.as_deref().map(String::from_utf8_lossy)
            ));
        }
        error!(connector, task, error = %r.message, "{context}");
    }
}

/// Delivery results of the dead letter queue producer: the first failure,
/// and the waiters of records whose acknowledgement someone awaits.
#[derive(Default)]
struct Acks {
    failed: AtomicBool,
    first: Mutex<Option<KafkaError>>,
    /// Sequence numbers of awaited records; 0 is never awaited.
    next_seq: AtomicUsize,
    waiters: Mutex<HashMap<usize, oneshot::Sender<Result<(), String>>>>,
}

impl DeliveryListener for Acks {
    fn delivered(&self, seq: usize, result: Result<Delivered<'_>, KafkaError>) {
        if let Err(e) = &result {
            self.failed.store(true, Ordering::Release);
            lock(&self.first).get_or_insert_with(|| e.clone());
        }
        let result = result
            .map(|_| ())
            .map_err(|e| format!("{DLQ_WRITE_FAILED}: {e}"));
        if seq != 0 {
            let waiter = lock(&self.waiters).remove(&seq);
            if let Some(w) = waiter {
                // The waiter may have given up; nothing to tell then.
                let _ = w.send(result);
            }
        }
    }
}

/// The dead letter queue producer of one sink task.
pub struct DeadLetterQueue {
    producer: Producer,
    failures: Arc<Acks>,
    topic: String,
    context_headers: bool,
    connector: String,
    task: u32,
}

impl DeadLetterQueue {
    /// Creates the topic if needed (one partition, as Kafka Connect does)
    /// and the producer.
    pub async fn open(
        worker: &WorkerConfig,
        producers: &Arc<ProducerPool>,
        connector_config: &Props,
        connector: &str,
        task: u32,
        policy: &ErrorPolicy,
    ) -> Result<Option<Self>, TaskError> {
        let Some(topic) = policy.dlq_topic.clone() else {
            return Ok(None);
        };
        let admin_props = worker
            .connector_admin_props(connector_config)
            .map_err(|e| TaskError::setup("dead letter queue admin client settings", e))?;
        let admin = Admin::new(&admin_props)
            .map_err(|e| TaskError::setup("dead letter queue admin client", e))?;
        admin
            .create_topics(&[NewTopicSpec {
                name: topic.clone(),
                partitions: 1,
                replication_factor: policy.dlq_replication_factor,
                configs: Vec::new(),
            }])
            .await
            .map_err(|e| {
                TaskError::setup(
                    format!("cannot create the dead letter queue topic {topic}"),
                    e,
                )
            })?;
        let props = worker
            .client_props(
                crate::client_overrides::ClientKind::Producer,
                connector_config,
                ferry_kafka::producer::source_producer_defaults(),
            )
            .map_err(|e| TaskError::setup("dead letter queue producer settings", e))?;
        let failures = Arc::new(Acks::default());
        let producer = producers
            .producer(&props, failures.clone())
            .map_err(|e| TaskError::setup("dead letter queue producer", e))?;
        Ok(Some(DeadLetterQueue {
            producer,
            failures,
            topic,
            context_headers: policy.dlq_context_headers,
            connector: connector.to_owned(),
            task,
        }))
    }

    /// Queues the record; `flush` makes it durable.
    pub async fn send(&self, r: &ErrantRecord) -> Result<(), TaskError> {
        self.send_seq(r, 0).await
    }

    /// Queues the record and returns a receiver of its acknowledgement.
    pub async fn send_acked(
        &self,
        r: &ErrantRecord,
    ) -> Result<oneshot::Receiver<Result<(), String>>, TaskError> {
        let seq = self.failures.next_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        // Registered first: the acknowledgement may arrive before `send`
        // returns.
        lock(&self.failures.waiters).insert(seq, tx);
        if let Err(e) = self.send_seq(r, seq).await {
            lock(&self.failures.waiters).remove(&seq);
            return Err(e);
        }
        Ok(rx)
    }

    async fn send_seq(&self, r: &ErrantRecord, seq: usize) -> Result<(), TaskError> {
        let mut headers: Vec<(String, Option<Vec<u8>>)> = r.headers.clone();
        if self.context_headers {
            let context = [
                ("__connect.errors.topic", r.topic.clone()),
                ("__connect.errors.partition", r.partition.to_string()),
                ("__connect.errors.offset", r.offset.to_string()),
                ("__connect.errors.connector.name", self.connector.clone()),
                ("__connect.errors.task.id", self.task.to_string()),
                ("__connect.errors.stage", r.stage.name().to_owned()),
                ("__connect.errors.class.name", r.class_name.clone()),
                (
                    "__connect.errors.exception.class.name",
                    r.exception_class.to_owned(),
                ),
                ("__connect.errors.exception.message", r.message.clone()),
                (
                    "__connect.errors.exception.stacktrace",
                    format!("{}: {}", r.exception_class, r.message),
                ),
            ];
            headers.extend(
                context
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), Some(v.into_bytes()))),
            );
        }
        let header_refs: Vec<(&str, Option<&[u8]>)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let out = OutgoingRecord {
            topic: &self.topic,
            partition: None,
            key: r.key.as_deref(),
            value: r.value.as_deref(),
            headers: &header_refs,
            timestamp: r.timestamp,
        };
        self.producer
            .send(&out, seq)
            .await
            .map_err(TaskError::kafka(
                "Failed to write a record to the dead letter queue",
            ))
    }

    /// Waits until every queued record is in Kafka; called before consumer
    /// offsets past them are committed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), TaskError> {
        if let Err(e) = self.producer.flush(timeout).await {
            warn!(connector = %self.connector, task = self.task, error = %e, "dead letter queue flush");
            return Err(TaskError::kafka("Failed to flush the dead letter queue")(e));
        }
        if self.failures.failed.load(Ordering::Acquire) {
            if let Some(source) = lock(&self.failures.first).clone() {
                return Err(TaskError::Delivery {
                    context: DLQ_WRITE_FAILED,
                    source,
                });
            }
        }
        Ok(())
    }
}

/// Kafka Connect's `RetryWithToleranceOperator.RETRIES_DELAY_MIN_MS`: the
/// first backoff; each further one doubles.
pub const RETRIES_DELAY_MIN_MS: u64 = 300;

/// `errors.retry.timeout` and `errors.retry.delay.max.ms`: how long a stage
/// operation (a conversion, the transformation chain) that failed with a
/// retriable error is attempted again before `errors.tolerance` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Milliseconds; 0 (the default) never retries, a negative value
    /// retries until the task stops.
    pub timeout_ms: i64,
    /// Longest backoff between attempts, in milliseconds.
    pub max_delay_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            timeout_ms: 0,
            max_delay_ms: 60_000,
        }
    }
}

/// How a retried operation ended.
#[derive(Debug, PartialEq)]
pub enum Retried<T, E> {
    Done(T),
    /// A non-retriable error, or the last retriable one when the retry
    /// timeout ran out; `errors.tolerance` decides what happens next.
    Failed(E),
    /// The task is stopping: the operation was given up between attempts.
    /// The record is left unprocessed (it is read again after a restart).
    Stopped(E),
}

/// A random number below `bound` (0 when `bound` is 0). The hasher keys of
/// `RandomState` are random per process and differ per instance, which is
/// all the jitter of a backoff needs.
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::AtomicU64;
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    if bound == 0 {
        return 0;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(DRAWS.fetch_add(1, Ordering::Relaxed));
    h.finish() % bound
}

/// Resolves once the task is asked to stop (never, if the switch is gone).
async fn stop_requested(stop: &mut watch::Receiver<TargetState>) {
    loop {
        if *stop.borrow_and_update() == TargetState::Stopped {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl RetryPolicy {
    pub fn from_config(props: &Props) -> Self {
        let long = |key: &str, default: i64| {
            props
                .get(key)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(default)
        };
        RetryPolicy {
            timeout_ms: long(RETRY_TIMEOUT, 0),
            max_delay_ms: long(RETRY_DELAY_MAX, 60_000),
        }
    }

    /// Whether failed operations are attempted more than once.
    pub fn enabled(&self) -> bool {
        self.timeout_ms != 0
    }

    /// The backoff after attempt `attempt` (1-based) failed, before the
    /// deadline caps it: 300 ms doubled per earlier retry, or, once that
    /// passes `errors.retry.delay.max.ms`, a random delay below the maximum.
    pub fn backoff_delay(&self, attempt: u32) -> Duration {
        let retries = attempt.saturating_sub(1);
        // Java shifts a long and wraps into negative delays after 55
        // retries (which then spin); saturating keeps the random branch.
        let delay = if retries < 55 {
            RETRIES_DELAY_MIN_MS << retries
        } else {
            u64::MAX
        };
        let max = u64::try_from(self.max_delay_ms).unwrap_or(0);
        Duration::from_millis(if delay > max {
            random_below(max)
        } else {
            delay
        })
    }

    /// Runs `op`, and while it fails with an error `is_retriable` accepts
    /// and the retry timeout allows, backs off and runs it again (Kafka
    /// Connect's `execAndRetry`). A stop request ends the backoff at once.
    pub async fn run<T, E>(
        &self,
        stop: &mut watch::Receiver<TargetState>,
        is_retriable: impl Fn(&E) -> bool,
        mut op: impl FnMut() -> Result<T, E>,
    ) -> Retried<T, E> {
        match op() {
            Ok(v) => Retried::Done(v),
            // The timeout counts from the first failure rather than the
            // first attempt: this runs per record and stage, and the
            // attempt takes microseconds, not worth a clock read.
            Err(e) => {
                self.retry_after(Instant::now(), e, stop, is_retriable, op)
                    .await
            }
        }
    }

    /// Continues [`run`](Self::run) after a first attempt that started at
    /// `start` and failed with `error` (the caller could not wait then).
    pub async fn retry_after<T, E>(
        &self,
        start: Instant,
        error: E,
        stop: &mut watch::Receiver<TargetState>,
        is_retriable: impl Fn(&E) -> bool,
        mut op: impl FnMut() -> Result<T, E>,
    ) -> Retried<T, E> {
        let deadline = u64::try_from(self.timeout_ms)
            .ok()
            .map(|ms| start + Duration::from_millis(ms));
        let mut error = error;
        let mut attempt: u32 = 1;
        loop {
            if !is_retriable(&error) {
                return Retried::Failed(error);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                trace!(attempt, "retriable failure; no time left to retry");
                return Retried::Failed(error);
            }
            let mut delay = self.backoff_delay(attempt);
            if let Some(d) = deadline {
                delay = delay.min(d.saturating_duration_since(Instant::now()));
            }
            debug!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retriable failure; retrying after a backoff"
            );
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop_requested(stop) => {}
            }
            if *stop.borrow() == TargetState::Stopped {
                return Retried::Stopped(error);
            }
            attempt += 1;
            match op() {
                Ok(v) => return Retried::Done(v),
                Err(e) => error = e,
            }
        }
    }
}

/// The Java exception class Kafka Connect would name for a task's error.
pub fn connect_exception_class(e: &ConnectError) -> &'static str {
    match e {
        ConnectError::Retriable { .. } => RETRIABLE_EXCEPTION,
        ConnectError::Data(_) => DATA_EXCEPTION,
        ConnectError::Config(_) => "org.apache.kafka.common.config.ConfigException",
        ConnectError::Io(_) | ConnectError::Other { .. } => {
            "org.apache.kafka.connect.errors.ConnectException"
        }
    }
}

/// Kafka Connect's message when a failure is not tolerated.
pub const TOLERANCE_EXCEEDED: &str = "Tolerance exceeded in error handler";

/// The runtime side of a sink task's `ErrantRecordReporter` (Kafka
/// Connect's `WorkerErrantRecordReporter`): the record goes back to bytes
/// through the task's converters, is logged per `errors.log.*`, written to
/// the dead letter queue with the `__connect.errors.*` context headers (stage
/// `TASK_PUT`), and counts against `errors.tolerance`.
pub struct SinkErrantRecordReporter {
    connector: String,
    task: u32,
    policy: ErrorPolicy,
    key_converter: Arc<dyn Converter>,
    value_converter: Arc<dyn Converter>,
    header_converter: Arc<HeaderConverter>,
    /// The task's dead letter queue, attached when the task starts.
    dlq: OnceLock<Arc<DeadLetterQueue>>,
    /// Reports under way, so that a commit can wait for them.
    in_flight: AtomicUsize,
    idle: Notify,
    /// The first report refused by `errors.tolerance=none`: the task fails
    /// with it even if it swallowed the error `report` returned.
    refused: Mutex<Option<(&'static str, String)>>,
}

/// Decrements the in-flight count when a report ends, however it ends.
struct InFlight<'a>(&'a SinkErrantRecordReporter);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl SinkErrantRecordReporter {
    /// The reporter of a sink task, when the connector asks for one: a dead
    /// letter queue topic or `errors.log.enable=true`, as Kafka Connect's
    /// `SinkConnectorConfig.enableErrantRecordReporter()`.
    pub fn new(
        connector: &str,
        task: u32,
        policy: &ErrorPolicy,
        key_converter: Arc<dyn Converter>,
        value_converter: Arc<dyn Converter>,
        header_converter: Arc<HeaderConverter>,
    ) -> Option<Arc<Self>> {
        if policy.dlq_topic.is_none() && !policy.log {
            return None;
        }
        Some(Arc::new(SinkErrantRecordReporter {
            connector: connector.to_owned(),
            task,
            policy: policy.clone(),
            key_converter,
            value_converter,
            header_converter,
            dlq: OnceLock::new(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            refused: Mutex::new(None),
        }))
    }

    /// Sends later reports to `dlq` too (set once, when the task starts).
    pub fn attach_dlq(&self, dlq: Arc<DeadLetterQueue>) {
        if self.dlq.set(dlq).is_err() {
            warn!(connector = %self.connector, task = self.task, "dead letter queue attached twice; keeping the first");
        }
    }

    /// Waits until no report is under way (Kafka Connect waits for the
    /// reporter's futures before committing offsets).
    pub async fn wait_idle(&self, timeout: Duration) -> Result<(), TaskError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(TaskError::Kafka {
                    context: "Failed to write errant records to the dead letter queue".into(),
                    source: ferry_kafka::KafkaClientError::Timeout(
                        timeout,
                        "errant record reports",
                    ),
                });
            }
        }
    }

    /// The task's failure when a report was refused by
    /// `errors.tolerance=none` (Kafka Connect's `maybeThrowAsyncError`).
    pub fn tolerance_failure(&self) -> Option<TaskError> {
        lock(&self.refused)
            .clone()
            .map(|(class, message)| TaskError::Reported(class, message))
    }

    fn errant(
        &self,
        record: &SinkRecord,
        error: &ConnectError,
    ) -> Result<ErrantRecord, ConnectError> {
        let topic = &record.topic;
        let bytes =
            |c: &dyn Converter, schema: Option<&ferry_api::Schema>, v: &ferry_api::Value| {
                let mut out = Vec::new();
                c.from_connect(topic, schema, v, &mut out)
                    .map(|present| present.then_some(out))
                    .map_err(|e| ConnectError::Data(ferry_api::DataError::Invalid(e.to_string())))
            };
        let key = bytes(
            self.key_converter.as_ref(),
            record.key_schema.as_ref(),
            &record.key,
        )?;
        let value = bytes(
            self.value_converter.as_ref(),
            record.value_schema.as_ref(),
            &record.value,
        )?;
        let mut headers = Vec::with_capacity(record.headers.len());
        for h in record.headers.iter() {
            let v = self
                .header_converter
                .from_connect(topic, &h.key, h.schema.as_ref(), &h.value)
                .map_err(|e| ConnectError::Data(ferry_api::DataError::Invalid(e.to_string())))?;
            headers.push((h.key.clone(), v));
        }
        Ok(ErrantRecord {
            topic: record.topic.clone(),
            partition: record.kafka_partition,
            offset: record.kafka_offset,
            timestamp: record.timestamp,
            key,
            value,
            headers,
            stage: Stage::TaskPut,
            class_name: "org.apache.kafka.connect.sink.SinkTask".to_owned(),
            exception_class: connect_exception_class(error),
            message: error.to_string(),
        })
    }
}

#[async_trait]
impl ErrantRecordReporter for SinkErrantRecordReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<(), ConnectError> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let _guard = InFlight(self);
        let errant = self.errant(record, error)?;
        self.policy.log_errant(&self.connector, self.task, &errant);
        // As Kafka Connect, the record is reported (logged, dead-lettered)
        // before the tolerance check, so it is there even when the task fails.
        let ack = match self.dlq.get() {
            Some(dlq) => Some(
                dlq.send_acked(&errant)
                    .await
                    .map_err(|e| ConnectError::caused_by(e.to_string(), e))?,
            ),
            None => None,
        };
        if !self.policy.tolerate_all {
            lock(&self.refused).get_or_insert((errant.exception_class, errant.message));
            return Err(ConnectError::other(TOLERANCE_EXCEEDED));
        }
        if let Some(ack) = ack {
            match ack.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(ConnectError::other(e)),
                Err(_) => {
                    return Err(ConnectError::other(
                        "the dead letter queue producer closed before acknowledging the record",
                    ))
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum E {
        Retriable,
        Fatal,
    }

    fn retriable(e: &E) -> bool {
        *e == E::Retriable
    }

    fn policy(timeout_ms: i64, max_delay_ms: i64) -> RetryPolicy {
        RetryPolicy {
            timeout_ms,
            max_delay_ms,
        }
    }

    fn switch() -> (watch::Sender<TargetState>, watch::Receiver<TargetState>) {
        watch::channel(TargetState::Started)
    }

    const MS: Duration = Duration::from_millis(1);
    /// Scheduling slack allowed above a computed delay.
    const SLACK: Duration = Duration::from_millis(150);

    #[test]
    fn backoff_doubles_from_300ms_then_draws_below_the_maximum() {
        let p = RetryPolicy::default();
        let expected = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400];
        for (i, ms) in expected.iter().enumerate() {
            assert_eq!(p.backoff_delay(i as u32 + 1), *ms * MS);
        }
        // 76800 > 60000: random below the maximum, also far past the
        // point where the shift would overflow.
        let draws: Vec<Duration> = (0..200).map(|i| p.backoff_delay(9 + i * 7)).collect();
        assert!(draws.iter().all(|d| *d < 60_000 * MS));
        assert!(draws.iter().any(|d| *d != draws[0]), "no jitter: {draws:?}");
        assert_eq!(policy(1000, 0).backoff_delay(1), Duration::ZERO);
    }

    #[tokio::test]
    async fn no_retry_by_default() {
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = RetryPolicy::default()
            .run(&mut rx, retriable, || -> Result<(), E> {
                calls += 1;
                Err(E::Retriable)
            })
            .await;
        assert_eq!(r, Retried::Failed(E::Retriable));
        assert_eq!(calls, 1);
        assert!(start.elapsed() < SLACK);
    }

    #[tokio::test]
    async fn non_retriable_errors_are_not_retried() {
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let r = policy(-1, 60_000)
            .run(&mut rx, retriable, || -> Result<(), E> {
                calls += 1;
                Err(E::Fatal)
            })
            .await;
        assert_eq!(r, Retried::Failed(E::Fatal));
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn succeeds_after_backing_off_300_then_600ms() {
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = policy(10_000, 60_000)
            .run(&mut rx, retriable, || {
                calls += 1;
                if calls <= 2 {
                    Err(E::Retriable)
                } else {
                    Ok(calls)
                }
            })
            .await;
        let elapsed = start.elapsed();
        assert_eq!(r, Retried::Done(3));
        assert!(elapsed >= 900 * MS, "{elapsed:?}");
        assert!(elapsed < 900 * MS + SLACK, "{elapsed:?}");
    }

    #[tokio::test]
    async fn the_deadline_caps_the_last_backoff_and_ends_the_retries() {
        // Attempts at 0, 300, 900 ms; the 1200 ms backoff is cut to 100 ms;
        // the fourth attempt at 1000 ms fails with no time left.
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = policy(1000, 60_000)
            .run(&mut rx, retriable, || -> Result<(), E> {
                calls += 1;
                Err(E::Retriable)
            })
            .await;
        let elapsed = start.elapsed();
        assert_eq!(r, Retried::Failed(E::Retriable));
        assert_eq!(calls, 4);
        assert!(elapsed >= 1000 * MS, "{elapsed:?}");
        assert!(elapsed < 1000 * MS + SLACK, "{elapsed:?}");
    }

    #[tokio::test]
    async fn jitter_stays_below_the_maximum_delay() {
        let (_tx, mut rx) = switch();
        let mut at: Vec<Instant> = Vec::new();
        let start = Instant::now();
        let r = policy(1200, 100)
            .run(&mut rx, retriable, || -> Result<(), E> {
                at.push(Instant::now());
                Err(E::Retriable)
            })
            .await;
        let elapsed = start.elapsed();
        assert_eq!(r, Retried::Failed(E::Retriable));
        assert!(
            elapsed >= 1200 * MS && elapsed < 1200 * MS + SLACK,
            "{elapsed:?}"
        );
        let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
        // Each backoff is below 100 ms, so at least 1200 / 100 of them fit.
        assert!(gaps.len() >= 12, "{gaps:?}");
        assert!(gaps.iter().all(|g| *g < 100 * MS + SLACK / 3), "{gaps:?}");
        assert!(
            gaps.iter().any(|g| g.abs_diff(gaps[0]) > MS),
            "no jitter: {gaps:?}"
        );
    }

    #[tokio::test]
    async fn a_negative_timeout_retries_until_success() {
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = policy(-1, 20)
            .run(&mut rx, retriable, || {
                calls += 1;
                if calls <= 5 {
                    Err(E::Retriable)
                } else {
                    Ok(())
                }
            })
            .await;
        assert_eq!(r, Retried::Done(()));
        assert_eq!(calls, 6);
        assert!(start.elapsed() < 5 * 20 * MS + SLACK);
    }

    #[tokio::test]
    async fn a_stop_request_ends_the_backoff_at_once() {
        let (tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = policy(-1, 60_000)
            .run(&mut rx, retriable, || -> Result<(), E> {
                calls += 1;
                if calls == 2 {
                    // Asked to stop while this attempt runs: the 600 ms
                    // backoff that would follow is not waited for.
                    tx.send_replace(TargetState::Stopped);
                }
                Err(E::Retriable)
            })
            .await;
        let elapsed = start.elapsed();
        assert_eq!(r, Retried::Stopped(E::Retriable));
        assert_eq!(calls, 2);
        assert!(
            elapsed >= 300 * MS && elapsed < 300 * MS + SLACK,
            "{elapsed:?}"
        );
    }

    #[tokio::test]
    async fn retry_after_counts_the_first_attempt_made_elsewhere() {
        let (_tx, mut rx) = switch();
        let mut calls = 0;
        let start = Instant::now();
        let r = policy(500, 60_000)
            .retry_after(
                start,
                E::Retriable,
                &mut rx,
                retriable,
                || -> Result<(), E> {
                    calls += 1;
                    Err(E::Retriable)
                },
            )
            .await;
        // Backoffs of 300 ms and then 200 ms (capped), so two more attempts.
        assert_eq!(r, Retried::Failed(E::Retriable));
        assert_eq!(calls, 2);
        assert!(start.elapsed() < 500 * MS + SLACK);
    }
}
