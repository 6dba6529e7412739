//! The producer behind each source task: librdkafka's threaded producer with
//! a delivery callback that tells the task which records Kafka acknowledged.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientContext, Message};
use tokio::sync::Notify;

use crate::config::{client_config, ClientProps};
use crate::error::KafkaClientError;

/// Told about every record's fate, from librdkafka's delivery thread.
/// `seq` is the number the record was sent with.
pub trait DeliveryListener: Send + Sync + 'static {
    fn delivered(&self, seq: usize, result: Result<(i32, i64), KafkaError>);
}

struct Context {
    listener: Arc<dyn DeliveryListener>,
    /// Woken on every delivery, so a sender blocked on a full queue resumes.
    space: Arc<Notify>,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let outcome = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.clone()),
        };
        self.listener.delivered(seq, outcome);
        self.space.notify_one();
    }
}

/// One record to produce. Payloads are copied by librdkafka, so the caller
/// can reuse its buffers.
pub struct OutgoingRecord<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
    pub timestamp: Option<i64>,
}

pub struct Producer {
    inner: ThreadedProducer<Context>,
    space: Arc<Notify>,
}

/// Ferry's defaults for source producers: idempotent, acks=all, Java's
/// murmur2 partitioner (so keys land where Kafka Connect would put them),
/// and batches large enough for throughput.
pub fn source_producer_defaults() -> ClientProps {
    [
        ("acks", "all"),
        ("enable.idempotence", "true"),
        ("partitioner", "murmur2_random"),
        ("linger.ms", "5"),
        ("batch.size", "1000000"),
        ("batch.num.messages", "10000"),
        // Bounded in-flight data: enough for full batches at several hundred
        // thousand records/s, while keeping the worker's memory small.
        ("queue.buffering.max.messages", "10000"),
        ("queue.buffering.max.kbytes", "8192"),
        ("compression.type", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Producer {
    pub fn new(
        props: &ClientProps,
        listener: Arc<dyn DeliveryListener>,
    ) -> Result<Self, KafkaClientError> {
        let space = Arc::new(Notify::new());
        let ctx = Context {
            listener,
            space: space.clone(),
        };
        let inner: ThreadedProducer<Context> = client_config(props)
            .create_with_context(ctx)
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        Ok(Producer { inner, space })
    }

    /// Queues a record; waits while librdkafka's queue is full, which is the
    /// backpressure that slows a fast source down.
    pub async fn send(
        &self,
        record: &OutgoingRecord<'_>,
        seq: usize,
    ) -> Result<(), KafkaClientError> {
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(record.topic, seq);
            if let Some(p) = record.partition {
                r = r.partition(p);
            }
            if let Some(k) = record.key {
                r = r.key(k);
            }
            if let Some(v) = record.value {
                r = r.payload(v);
            }
            if let Some(ts) = record.timestamp {
                r = r.timestamp(ts);
            }
            if !record.headers.is_empty() {
                let mut h = OwnedHeaders::new_with_capacity(record.headers.len());
                for (key, value) in record.headers {
                    h = h.insert(Header { key, value: *value });
                }
                r = r.headers(h);
            }
            match self.inner.send(r) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Deliveries free room; the timeout guards a missed wake-up.
                    let _ = tokio::time::timeout(Duration::from_millis(50), self.space.notified())
                        .await;
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    /// Records handed to librdkafka and not yet acknowledged or failed.
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// Waits until every queued record is acknowledged or failed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.inner.in_flight_count() > 0 {
            if tokio::time::Instant::now() >= deadline {
                return Err(KafkaClientError::Timeout(
                    timeout,
                    "produced records to be acknowledged",
                ));
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), self.space.notified()).await;
        }
        Ok(())
    }
}
