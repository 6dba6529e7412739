//! A topic read from the beginning and followed for ever, with "read to the
//! end" on request: Kafka Connect's `KafkaBasedLog`, on which the config,
//! offsets and status stores of distributed mode are built.
//!
//! One thread owns the consumer (manually assigned to every partition, no
//! group): it hands each record to the owner's callback in offset order and
//! answers read-to-end requests once every partition's position has reached
//! the end offsets taken when the request arrived. The thread sleeps on one
//! channel that both requests and librdkafka's "fetched records are
//! waiting" callback wake, so neither waits out a poll timeout. Writes go through an
//! idempotent, `acks=all` producer with Java's murmur2 partitioner, so keyed
//! records land where Java workers put them.

use std::collections::HashMap;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;
use tracing::debug;

use crate::config::{client_config, ClientProps};
use crate::error::KafkaClientError;

/// A record handed to the log's callback.
#[derive(Debug)]
pub struct LogRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    /// `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

enum Control {
    /// Reply once every partition reached these end offsets.
    ReadToEnd(
        HashMap<i32, i64>,
        oneshot::Sender<Result<(), KafkaClientError>>,
    ),
    /// The consumer's queue went from empty to non-empty.
    Fetched,
    Stop,
}

/// How long one metadata or watermark request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`KafkaLog::start`] waits for the topic's partitions.
const TOPIC_WAIT: Duration = Duration::from_secs(60);
/// The reader's longest sleep with nothing to do, and with a read-to-end
/// request waiting.
const IDLE_WAIT: Duration = Duration::from_millis(500);
const PENDING_WAIT: Duration = Duration::from_millis(20);

/// A followed topic. Dropping it stops the reader thread.
pub struct KafkaLog {
    topic: String,
    partitions: Vec<i32>,
    producer: FutureProducer,
    control: std_mpsc::Sender<Control>,
    reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Starts following `topic` (which must exist) from its beginning.
    /// `props` carries `bootstrap.servers` and any security settings;
    /// `client_id` names the log's clients in broker logs. `apply` sees every
    /// record, in order per partition, on the reader thread.
    pub fn start(
        props: &ClientProps,
        topic: &str,
        client_id: &str,
        mut apply: impl FnMut(LogRecord<'_>) + Send + 'static,
    ) -> Result<Self, KafkaClientError> {
        let mut consumer_props = props.clone();
        consumer_props.insert("client.id".into(), format!("{client_id}-consumer"));
        // No group: the log is assigned every partition by hand.
        consumer_props.insert("group.id".into(), format!("{client_id}-unused"));
        consumer_props.insert("enable.auto.commit".into(), "false".into());
        consumer_props.insert("enable.auto.offset.store".into(), "false".into());
        consumer_props.insert("isolation.level".into(), "read_committed".into());
        consumer_props.insert("enable.partition.eof".into(), "false".into());
        consumer_props.insert("fetch.wait.max.ms".into(), "50".into());
        let mut consumer: BaseConsumer = client_config(&consumer_props)?
            .create()
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        let (tx, rx) = std_mpsc::channel();
        let fetched = tx.clone();
        consumer.set_nonempty_callback(move || {
            let _ = fetched.send(Control::Fetched);
        });

        let mut producer_props = props.clone();
        producer_props.insert("client.id".into(), format!("{client_id}-producer"));
        producer_props.insert("acks".into(), "all".into());
        producer_props.insert("enable.idempotence".into(), "true".into());
        producer_props.insert("partitioner".into(), "murmur2_random".into());
        producer_props.insert("linger.ms".into(), "0".into());
        let producer: FutureProducer = client_config(&producer_props)?
            .create()
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;

        let partitions = partitions_of(&consumer, topic)?;
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
        }
        consumer.assign(&tpl)?;

        let topic_name = topic.to_owned();
        let reader = std::thread::Builder::new()
            .name(format!("log-{topic}"))
            .spawn(move || {
                let mut reader = Reader {
                    consumer,
                    topic: topic_name,
                    next: HashMap::new(),
                    pending: Vec::new(),
                };
                reader.run(&rx, &mut apply);
            })
            .map_err(|e| KafkaClientError::Other(format!("cannot start log reader: {e}")))?;
        Ok(KafkaLog {
            topic: topic.to_owned(),
            partitions,
            producer,
            control: tx,
            reader: Some(reader),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Returns once every record written before the call has been applied.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), KafkaClientError> {
        let timed_out = || KafkaClientError::Timeout(timeout, "reading to the end of the log");
        let deadline = tokio::time::Instant::now() + timeout;
        // Asked through the producer's connection: the reader's consumer
        // holds its connection in a long-poll fetch, behind which the broker
        // would queue each watermark request (50 ms apiece, over a second
        // for the offsets topic's 25 partitions).
        let (producer, topic, partitions) = (
            self.producer.clone(),
            self.topic.clone(),
            self.partitions.clone(),
        );
        let ends = tokio::time::timeout_at(
            deadline,
            tokio::task::spawn_blocking(move || end_offsets(&producer, &topic, &partitions)),
        )
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| KafkaClientError::Other(format!("end offsets: {e}")))??;
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::ReadToEnd(ends, tx))
            .map_err(|_| KafkaClientError::Other("log reader stopped".into()))?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(KafkaClientError::Other("log reader stopped".into())),
            Err(_) => Err(timed_out()),
        }
    }

    /// Writes a record (keyed by murmur2 unless `partition` is given) and
    /// returns once the broker acknowledged it.
    pub async fn send(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
        partition: Option<i32>,
    ) -> Result<(), KafkaClientError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(|(e, _)| KafkaClientError::Kafka(e))
    }

    /// Writes records (keyed by murmur2) and returns once the broker
    /// acknowledged every one, waiting at most `timeout`. All are queued
    /// before waiting, so many records cost one round trip, not one each.
    pub async fn send_all(
        &self,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
        timeout: Duration,
    ) -> Result<(), KafkaClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || KafkaClientError::Timeout(timeout, "acknowledgements of log writes");
        let mut pending = Vec::with_capacity(records.len());
        for (key, value) in records {
            loop {
                let mut record: FutureRecord<'_, [u8], [u8]> =
                    FutureRecord::to(&self.topic).key(key.as_slice());
                if let Some(v) = value {
                    record = record.payload(v.as_slice());
                }
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                        if tokio::time::Instant::now() < deadline =>
                    {
                        // The local queue drains as deliveries complete.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(KafkaClientError::Kafka(e)),
                }
            }
        }
        for delivery in pending {
            match tokio::time::timeout_at(deadline, delivery).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err((e, _)))) => return Err(KafkaClientError::Kafka(e)),
                Ok(Err(_)) => return Err(KafkaClientError::Other("log producer closed".into())),
                Err(_) => return Err(timed_out()),
            }
        }
        Ok(())
    }

    /// Queues a record without waiting for its acknowledgement (see
    /// [`flush`](Self::flush)); records queued in turn keep their order.
    pub fn enqueue(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), KafkaClientError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = value {
            record = record.payload(v);
        }
        self.producer
            .send_result(record)
            .map(drop)
            .map_err(|(e, _)| KafkaClientError::Kafka(e))
    }

    /// Waits until every record sent so far is acknowledged.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaClientError> {
        self.producer
            .flush(timeout)
            .map_err(KafkaClientError::Kafka)
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// The topic's partitions, waiting a while for a topic created a moment ago
/// (metadata reaches every broker shortly after creation) or a broker that
/// is still starting.
fn partitions_of(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, KafkaClientError> {
    let deadline = Instant::now() + TOPIC_WAIT;
    loop {
        match try_partitions_of(consumer, topic) {
            Ok(ps) => return Ok(ps),
            Err(e) if Instant::now() < deadline => {
                debug!(topic, error = %e, "waiting for the topic's metadata");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

fn try_partitions_of(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, KafkaClientError> {
    let md = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| KafkaClientError::Other(format!("topic {topic} not found")))?;
    if let Some(e) = t.error() {
        return Err(KafkaClientError::Other(format!(
            "topic {topic}: {:?}",
            RDKafkaErrorCode::from(e)
        )));
    }
    let mut ps: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    ps.sort_unstable();
    if ps.is_empty() {
        return Err(KafkaClientError::Other(format!(
            "topic {topic} has no partitions"
        )));
    }
    Ok(ps)
}

/// Each non-empty partition's end offset, now.
fn end_offsets(
    producer: &FutureProducer,
    topic: &str,
    partitions: &[i32],
) -> Result<HashMap<i32, i64>, KafkaClientError> {
    let mut ends = HashMap::new();
    for p in partitions {
        let (low, high) = producer
            .client()
            .fetch_watermarks(topic, *p, REQUEST_TIMEOUT)?;
        // An empty (or fully compacted-away) partition has nothing to read.
        if high > low {
            ends.insert(*p, high);
        }
    }
    Ok(ends)
}

struct PendingRead {
    ends: HashMap<i32, i64>,
    reply: oneshot::Sender<Result<(), KafkaClientError>>,
}

struct Reader {
    consumer: BaseConsumer,
    topic: String,
    /// Offset after the last record applied, per partition.
    next: HashMap<i32, i64>,
    pending: Vec<PendingRead>,
}

impl Reader {
    fn run(&mut self, rx: &std_mpsc::Receiver<Control>, apply: &mut impl FnMut(LogRecord<'_>)) {
        loop {
            self.apply_fetched(apply);
            self.complete_reads();
            // Records and requests wake the thread at once; the timeout only
            // bounds how long a position that moved without a record
            // (compaction, transaction markers) goes unnoticed.
            let wait = if self.pending.is_empty() {
                IDLE_WAIT
            } else {
                PENDING_WAIT
            };
            let mut next = rx.recv_timeout(wait);
            loop {
                match next {
                    Ok(Control::ReadToEnd(ends, reply)) => {
                        self.pending.push(PendingRead { ends, reply })
                    }
                    Ok(Control::Fetched) | Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                    Ok(Control::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                }
                next = match rx.try_recv() {
                    Ok(c) => Ok(c),
                    Err(std_mpsc::TryRecvError::Empty) => break,
                    Err(std_mpsc::TryRecvError::Disconnected) => {
                        Err(std_mpsc::RecvTimeoutError::Disconnected)
                    }
                };
            }
        }
    }

    /// Applies every record the consumer has fetched, without blocking.
    fn apply_fetched(&mut self, apply: &mut impl FnMut(LogRecord<'_>)) {
        while let Some(result) = self.consumer.poll(Duration::ZERO) {
            match result {
                Ok(m) => {
                    self.next.insert(m.partition(), m.offset() + 1);
                    apply(LogRecord {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key(),
                        value: m.payload(),
                    });
                }
                Err(e) => {
                    // Transient (broker restart, leader move): librdkafka
                    // reconnects and resumes on its own.
                    debug!(topic = %self.topic, error = %e, "log consumer error");
                }
            }
        }
    }

    fn caught_up(&self, partition: i32, end: i64) -> bool {
        if self.next.get(&partition).is_some_and(|n| *n >= end) {
            return true;
        }
        // Records removed by compaction or transaction markers never reach
        // the callback; the consumer's own position still passes them.
        let Ok(positions) = self.consumer.position() else {
            return false;
        };
        match positions
            .find_partition(&self.topic, partition)
            .map(|e| e.offset())
        {
            Some(Offset::Offset(o)) => o >= end,
            _ => false,
        }
    }

    fn complete_reads(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for read in pending {
            if read.ends.iter().all(|(p, end)| self.caught_up(*p, *end)) {
                let _ = read.reply.send(Ok(()));
            } else {
                self.pending.push(read);
            }
        }
    }
}
