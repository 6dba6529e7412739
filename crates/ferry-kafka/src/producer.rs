//! Source tasks' producers: librdkafka's threaded producer with a delivery
//! callback that tells each task which of its records Kafka acknowledged.
//!
//! Tasks whose producer settings are equal share one librdkafka producer
//! (see [`ProducerPool`]): a librdkafka client costs four threads and about
//! half a megabyte, so a producer per task made a connector with a thousand
//! tasks cost gigabytes, and deleting it meant destroying a thousand clients.
//! Each task holds a [`Producer`] handle with its own slot; a delivery report
//! carries the slot and the task's sequence number in its opaque, so routing
//! it costs no allocation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientContext, Message};
use tokio::sync::Notify;

use crate::close::CloseOffRuntime;
use crate::config::{client_config, ClientProps};
use crate::error::KafkaClientError;

/// Where Kafka stored a record, as its delivery report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered<'a> {
    /// The topic written to.
    pub topic: &'a str,
    /// The partition written to.
    pub partition: i32,
    /// The record's offset there.
    pub offset: i64,
    /// The record's timestamp in the topic (the broker's for a topic with
    /// `LogAppendTime`); `None` when the report has none.
    pub timestamp: Option<i64>,
}

/// Told about every record's fate, from librdkafka's delivery thread.
/// `seq` is the number the record was sent with.
pub trait DeliveryListener: Send + Sync + 'static {
    fn delivered(&self, seq: usize, result: Result<Delivered<'_>, KafkaError>);
}

/// Bits of a delivery opaque that carry the task's sequence number; the
/// bits above carry its slot. 2^48 records per task is centuries of sending.
const SEQ_BITS: u32 = 48;
const SEQ_MASK: usize = (1 << SEQ_BITS) - 1;
/// Handles one librdkafka producer serves at most; the pool opens another
/// producer beyond that.
const MAX_SLOTS: usize = 1 << (usize::BITS - SEQ_BITS);

/// One task's view of a shared producer.
struct Slot {
    listener: Arc<dyn DeliveryListener>,
    /// Records sent and not yet reported.
    in_flight: AtomicUsize,
    /// Woken when `in_flight` drops to zero.
    drained: Notify,
    /// The handle is gone; the slot is reused once nothing is in flight, so
    /// that late reports never reach another task's listener.
    retired: AtomicBool,
}

#[derive(Default)]
struct Slots(RwLock<Vec<Arc<Slot>>>);

impl Slots {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<Slot>>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<Slot>>> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for a new handle: a free one, or a new one; `None` when full.
    fn register(&self, listener: Arc<dyn DeliveryListener>) -> Option<(usize, Arc<Slot>)> {
        let slot = Arc::new(Slot {
            listener,
            in_flight: AtomicUsize::new(0),
            drained: Notify::new(),
            retired: AtomicBool::new(false),
        });
        let mut slots = self.write();
        let free = slots.iter().position(|s| {
            s.retired.load(Ordering::Acquire) && s.in_flight.load(Ordering::Acquire) == 0
        });
        let index = match free {
            Some(i) => {
                slots[i] = slot.clone();
                i
            }
            None if slots.len() < MAX_SLOTS => {
                slots.push(slot.clone());
                slots.len() - 1
            }
            None => return None,
        };
        Some((index, slot))
    }

    /// Handles still open.
    fn live(&self) -> usize {
        self.read()
            .iter()
            .filter(|s| !s.retired.load(Ordering::Acquire))
            .count()
    }
}

struct Context {
    slots: Arc<Slots>,
    /// Woken on every delivery, so a sender blocked on a full queue resumes.
    space: Arc<Notify>,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let outcome = match result {
            Ok(m) => Ok(Delivered {
                topic: m.topic(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
            }),
            Err((e, _)) => Err(e.clone()),
        };
        let slots = self.slots.read();
        if let Some(slot) = slots.get(opaque >> SEQ_BITS) {
            if !slot.retired.load(Ordering::Acquire) {
                slot.listener.delivered(opaque & SEQ_MASK, outcome);
            }
            if slot.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
                slot.drained.notify_one();
            }
        }
        drop(slots);
        self.space.notify_one();
    }
}

/// One librdkafka producer and the handles it serves.
struct SharedProducer {
    inner: CloseOffRuntime<ThreadedProducer<Context>>,
    slots: Arc<Slots>,
    space: Arc<Notify>,
    key: ClientProps,
    pool: Weak<ProducerPool>,
}

/// The worker's producers, one per distinct set of producer settings.
#[derive(Default)]
pub struct ProducerPool {
    producers: Mutex<HashMap<ClientProps, Arc<SharedProducer>>>,
    opened: AtomicUsize,
}

impl ProducerPool {
    pub fn new() -> Arc<Self> {
        Arc::new(ProducerPool::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientProps, Arc<SharedProducer>>> {
        self.producers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A producer handle with `props`, whose delivery reports go to
    /// `listener`. Handles with equal `props` share a librdkafka producer;
    /// one that hit a fatal error is not handed out again.
    pub fn producer(
        self: &Arc<Self>,
        props: &ClientProps,
        listener: Arc<dyn DeliveryListener>,
    ) -> Result<Producer, KafkaClientError> {
        let mut producers = self.lock();
        if let Some(shared) = producers.get(props) {
            if shared.inner.client().fatal_error().is_none() {
                if let Some((index, slot)) = shared.slots.register(listener.clone()) {
                    return Ok(Producer::new(shared.clone(), index, slot));
                }
            }
        }
        let shared = Arc::new(self.open(props)?);
        let (index, slot) = shared
            .slots
            .register(listener)
            .ok_or_else(|| KafkaClientError::Other("no producer slot free".into()))?;
        if let Some(replaced) = producers.insert(props.clone(), shared.clone()) {
            drop(replaced);
        }
        Ok(Producer::new(shared, index, slot))
    }

    fn open(self: &Arc<Self>, props: &ClientProps) -> Result<SharedProducer, KafkaClientError> {
        let n = self.opened.fetch_add(1, Ordering::Relaxed);
        let mut settings = props.clone();
        settings
            .entry("client.id".into())
            .or_insert_with(|| format!("ferry-producer-{n}"));
        let slots = Arc::new(Slots::default());
        let space = Arc::new(Notify::new());
        let ctx = Context {
            slots: slots.clone(),
            space: space.clone(),
        };
        let inner: ThreadedProducer<Context> =
            client_config(&settings)?
                .create_with_context(ctx)
                .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        Ok(SharedProducer {
            inner: CloseOffRuntime::new(inner),
            slots,
            space,
            key: props.clone(),
            pool: Arc::downgrade(self),
        })
    }

    /// Closes a producer no handle uses any more.
    fn release(&self, shared: &Arc<SharedProducer>) {
        let mut producers = self.lock();
        if shared.slots.live() > 0 {
            return;
        }
        if producers
            .get(&shared.key)
            .is_some_and(|p| Arc::ptr_eq(p, shared))
        {
            if let Some(p) = producers.remove(&shared.key) {
                drop(p);
            }
        }
    }

    /// librdkafka producers open now (for tests and diagnostics).
    pub fn open_producers(&self) -> usize {
        self.lock().len()
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

/// One task's handle on a shared producer.
pub struct Producer {
    shared: Option<Arc<SharedProducer>>,
    index: usize,
    slot: Arc<Slot>,
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
    /// A producer of its own, not shared with any other handle (for
    /// clients that need their own settings and lifetime).
    pub fn new_dedicated(
        props: &ClientProps,
        listener: Arc<dyn DeliveryListener>,
    ) -> Result<Self, KafkaClientError> {
        ProducerPool::new().producer(props, listener)
    }

    fn new(shared: Arc<SharedProducer>, index: usize, slot: Arc<Slot>) -> Self {
        Producer {
            shared: Some(shared),
            index,
            slot,
        }
    }

    fn shared(&self) -> Result<&SharedProducer, KafkaClientError> {
        self.shared
            .as_deref()
            .ok_or_else(|| KafkaClientError::Other("producer closed".into()))
    }

    /// Queues a record; waits while librdkafka's queue is full, which is the
    /// backpressure that slows a fast source down.
    pub async fn send(
        &self,
        record: &OutgoingRecord<'_>,
        seq: usize,
    ) -> Result<(), KafkaClientError> {
        if seq > SEQ_MASK {
            return Err(KafkaClientError::Other(format!(
                "record sequence number {seq} exceeds the producer's {SEQ_BITS}-bit range"
            )));
        }
        let shared = self.shared()?;
        let opaque = (self.index << SEQ_BITS) | seq;
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(record.topic, opaque);
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
            // Counted first: the report may arrive before `send` returns.
            self.slot.in_flight.fetch_add(1, Ordering::AcqRel);
            match shared.inner.send(r) {
                Ok(()) => return Ok(()),
                Err((e, _)) => {
                    self.slot.in_flight.fetch_sub(1, Ordering::AcqRel);
                    if e != KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) {
                        return Err(e.into());
                    }
                    // Deliveries free room; the timeout guards a missed wake-up.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(50), shared.space.notified())
                            .await;
                }
            }
        }
    }

    /// This handle's records handed to librdkafka and not yet acknowledged
    /// or failed.
    pub fn in_flight(&self) -> usize {
        self.slot.in_flight.load(Ordering::Acquire)
    }

    /// Waits until every record this handle queued is acknowledged or failed.
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let drained = self.slot.drained.notified();
            if self.in_flight() == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, drained).await.is_err() {
                return Err(KafkaClientError::Timeout(
                    timeout,
                    "produced records to be acknowledged",
                ));
            }
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.slot.retired.store(true, Ordering::Release);
        if let Some(shared) = self.shared.take() {
            match shared.pool.upgrade() {
                Some(pool) => pool.release(&shared),
                None => drop(shared),
            }
        }
    }
}
