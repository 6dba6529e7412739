//! Kafka Connect's `errors.*` handling for records that fail in a converter:
//! fail the task (`errors.tolerance=none`), or skip the record, log it if
//! asked, and for sinks write its original bytes to the dead letter queue
//! with the `__connect.errors.*` context headers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ferry_kafka::{Admin, DeliveryListener, NewTopicSpec, OutgoingRecord, Producer};
use rdkafka::error::KafkaError;
use tracing::{error, warn};

use crate::connector_config::DLQ_TOPIC;
use crate::errors::TaskError;
use crate::worker_config::WorkerConfig;
use crate::Props;

pub const TOLERANCE: &str = "errors.tolerance";
pub const LOG_ENABLE: &str = "errors.log.enable";
pub const LOG_INCLUDE_MESSAGES: &str = "errors.log.include.messages";
pub const DLQ_REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";

pub const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";

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
    /// `KEY_CONVERTER`, `VALUE_CONVERTER`, …
    pub stage: &'static str,
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

#[derive(Default)]
struct Failures {
    failed: AtomicBool,
    first: Mutex<Option<String>>,
}

impl DeliveryListener for Failures {
    fn delivered(&self, _seq: usize, result: Result<(i32, i64), KafkaError>) {
        if let Err(e) = result {
            self.failed.store(true, Ordering::Release);
            self.first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| {
                    format!("Failed to write a record to the dead letter queue: {e}")
                });
        }
    }
}

/// The dead letter queue producer of one sink task.
pub struct DeadLetterQueue {
    producer: Producer,
    failures: Arc<Failures>,
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
        connector_config: &Props,
        connector: &str,
        task: u32,
        policy: &ErrorPolicy,
    ) -> Result<Option<Self>, TaskError> {
        let Some(topic) = policy.dlq_topic.clone() else {
            return Ok(None);
        };
        let admin =
            Admin::new(&worker.admin_props()).map_err(|e| TaskError::Setup(e.to_string()))?;
        admin
            .create_topics(&[NewTopicSpec {
                name: topic.clone(),
                partitions: 1,
                replication_factor: policy.dlq_replication_factor,
                configs: Vec::new(),
            }])
            .await
            .map_err(|e| {
                TaskError::Setup(format!(
                    "cannot create the dead letter queue topic {topic}: {e}"
                ))
            })?;
        let mut props = worker.client_props(
            "producer",
            connector_config,
            ferry_kafka::producer::source_producer_defaults(),
        );
        props.insert(
            "client.id".into(),
            format!("connector-dlq-producer-{connector}-{task}"),
        );
        let failures = Arc::new(Failures::default());
        let producer =
            Producer::new(&props, failures.clone()).map_err(|e| TaskError::Setup(e.to_string()))?;
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
        let mut headers: Vec<(String, Option<Vec<u8>>)> = r.headers.clone();
        if self.context_headers {
            let context = [
                ("__connect.errors.topic", r.topic.clone()),
                ("__connect.errors.partition", r.partition.to_string()),
                ("__connect.errors.offset", r.offset.to_string()),
                ("__connect.errors.connector.name", self.connector.clone()),
                ("__connect.errors.task.id", self.task.to_string()),
                ("__connect.errors.stage", r.stage.to_owned()),
                ("__connect.errors.class.name", r.class_name.clone()),
                (
                    "__connect.errors.exception.class.name",
                    DATA_EXCEPTION.to_owned(),
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
            .send(&out, 0)
            .await
            .map_err(|e| TaskError::Produce(format!("dead letter queue: {e}")))
    }

    /// Waits until every queued record is in Kafka; called before consumer
    /// offsets past them are committed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), TaskError> {
        if let Err(e) = self.producer.flush(timeout).await {
            warn!(connector = %self.connector, task = self.task, error = %e, "dead letter queue flush");
            return Err(TaskError::Produce(e.to_string()));
        }
        if self.failures.failed.load(Ordering::Acquire) {
            let msg = self
                .failures
                .first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            return Err(TaskError::Produce(msg));
        }
        Ok(())
    }
}
