//! The consumer behind each sink task: a member of the group
//! `connect-<connector>` with manual offset commits.

use std::ffi::c_void;
use std::sync::Mutex;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use rdkafka::bindings as rdsys;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::{ClientContext, Message, Timestamp};
use tracing::warn;

use crate::close::CloseOffRuntime;
use crate::config::{client_config, ClientProps};
use crate::error::KafkaClientError;
use crate::PartitionOffset;

/// How often [`Consumer::commit_final`] looks for its answer.
const COMMIT_CHECK: Duration = Duration::from_millis(10);

/// Partitions gained or lost in a group rebalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
}

#[derive(Default)]
struct Context {
    events: Mutex<Vec<RebalanceEvent>>,
}

impl ClientContext for Context {}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl ConsumerContext for Context {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let event = match rebalance {
            Rebalance::Assign(tpl) => RebalanceEvent::Assigned(partitions(tpl)),
            Rebalance::Revoke(tpl) => RebalanceEvent::Revoked(partitions(tpl)),
            Rebalance::Error(_) => return,
        };
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
}

/// A fetched record, borrowed from the consumer's buffers.
pub struct ConsumedMessage<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    /// (milliseconds, true when set by the broker at append time)
    pub timestamp: Option<(i64, bool)>,
    message: &'a BorrowedMessage<'a>,
}

impl ConsumedMessage<'_> {
    /// Headers as (key, value) pairs, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.message
            .headers()
            .into_iter()
            .flat_map(|h| h.iter().map(|h| (h.key, h.value)))
    }
}

pub struct Consumer {
    inner: CloseOffRuntime<StreamConsumer<Context>>,
}

/// Kafka Connect's sink consumer defaults: manual commits, from the earliest
/// offset when the group has none.
pub fn sink_consumer_defaults() -> ClientProps {
    [
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("enable.partition.eof", "false"),
        ("fetch.wait.max.ms", "100"),
        // Tasks joining or leaving the group move only the partitions that
        // change hands; the others keep flowing through the rebalance.
        ("partition.assignment.strategy", "cooperative-sticky"),
        // Prefetch enough to keep a task busy, but bounded: the default 64 MiB
        // per consumer dominated the worker's memory.
        ("queued.max.messages.kbytes", "4096"),
        // librdkafka decompresses a whole fetch response as it arrives and
        // keeps each batch's buffer until its last record is consumed; with
        // Java's 1 MiB a zstd fetch held ~40 MB of C heap (the Java consumer
        // decompresses batch by batch as it iterates). A quarter of that
        // bounds a zstd sink under 40 MiB RSS at the same throughput.
        ("max.partition.fetch.bytes", "262144"),
        ("queued.min.messages", "10000"),
        // Once the prefetch queue is full librdkafka pauses fetching for
        // this long (1 s by default), which stalled a fast sink every time
        // it drained the queue.
        ("fetch.queue.backoff.ms", "10"),
        // librdkafka looks for a subscribed topic that does not exist yet (or
        // new topics matching a regex) only at this interval; 5 minutes by
        // default would stall a sink started before its source.
        ("topic.metadata.refresh.interval.ms", "10000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Consumer {
    pub fn new(props: &ClientProps) -> Result<Self, KafkaClientError> {
        let inner: StreamConsumer<Context> = client_config(props)?
            .create_with_context(Context::default())
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        Ok(Consumer {
            inner: CloseOffRuntime::new(inner),
        })
    }

    pub fn subscribe(&self, topics: &[String]) -> Result<(), KafkaClientError> {
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.inner.subscribe(&refs)?;
        Ok(())
    }

    /// Subscribes to topics matching a regular expression.
    pub fn subscribe_regex(&self, regex: &str) -> Result<(), KafkaClientError> {
        // librdkafka treats a subscription starting with '^' as a regex.
        let pattern = if regex.starts_with('^') {
            regex.to_owned()
        } else {
            format!("^{regex}")
        };
        self.inner.subscribe(&[&pattern])?;
        Ok(())
    }

    /// Waits up to `wait` for the first record, then takes whatever else is
    /// already fetched, up to `max` records in all, handing each to `f`.
    /// Returns how many records were seen.
    pub async fn poll_batch<F>(
        &self,
        max: usize,
        wait: Duration,
        mut f: F,
    ) -> Result<usize, KafkaClientError>
    where
        F: FnMut(ConsumedMessage<'_>),
    {
        // One stream for the whole batch: each `recv()` would register and
        // unregister a waker per record.
        let mut stream = self.inner.stream();
        let first = match tokio::time::timeout(wait, stream.next()).await {
            Err(_) | Ok(None) => return Ok(0),
            Ok(Some(Err(e))) if is_transient(&e) => {
                // The Java consumer waits these out too (a topic not created
                // yet, a leader moving); librdkafka keeps retrying.
                warn!(error = %e, "transient consumer error");
                return Ok(0);
            }
            Ok(Some(r)) => r?,
        };
        visit(&first, &mut f);
        drop(first);
        let mut n = 1;
        while n < max {
            match stream.next().now_or_never().flatten() {
                Some(Ok(m)) => {
                    visit(&m, &mut f);
                    n += 1;
                }
                Some(Err(e)) if is_transient(&e) => {
                    warn!(error = %e, "transient consumer error");
                    break;
                }
                Some(Err(e)) => return Err(e.into()),
                None => break,
            }
        }
        Ok(n)
    }

    /// Rebalance events since the last call.
    pub fn take_rebalance_events(&self) -> Vec<RebalanceEvent> {
        std::mem::take(
            &mut *self
                .inner
                .context()
                .events
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Sends a commit of "next offset to consume" for each partition without
    /// waiting for the answer (Kafka Connect's periodic `commitAsync`);
    /// librdkafka logs a failure, and the next commit carries the same or
    /// later offsets.
    ///
    /// Never synchronous here: a rebalance of the group waits for this
    /// member to serve its revocation in a poll, so a task blocked in a
    /// synchronous commit while its group rebalances would hold the whole
    /// group back.
    pub fn commit_async(&self, offsets: &[PartitionOffset]) -> Result<(), KafkaClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        self.inner
            .commit(&offset_list(offsets)?, CommitMode::Async)?;
        Ok(())
    }

    /// The last commit before the consumer is closed: sends it and polls
    /// the consumer (serving rebalances) until the broker answers, at most
    /// `wait`. Records fetched meanwhile are dropped: they lie past the
    /// committed offsets and are read again by the partition's next owner.
    pub async fn commit_final(
        &self,
        offsets: &[PartitionOffset],
        wait: Duration,
    ) -> Result<(), KafkaClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let tpl = offset_list(offsets)?;
        let answer = CommitAnswer::send(&self.inner, &tpl)?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut stream = self.inner.stream();
        loop {
            if let Some(result) = answer.take() {
                return result;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(KafkaClientError::Timeout(wait, "the final offset commit"));
            }
            let step = (deadline - now).min(COMMIT_CHECK);
            // Records are dropped, as above; errors are the fetches' own.
            if let Ok(None) = tokio::time::timeout(step, stream.next()).await {
                return Err(KafkaClientError::Other("consumer closed".into()));
            }
        }
    }

    /// Reads `partitions` without joining the group's rebalances, from
    /// the group's committed offsets (`auto.offset.reset` where there are
    /// none), as the Java consumer's `assign`.
    pub fn assign(&self, partitions: &[(String, i32)]) -> Result<(), KafkaClientError> {
        let mut tpl = TopicPartitionList::with_capacity(partitions.len());
        for (t, p) in partitions {
            tpl.add_partition_offset(t, *p, Offset::Stored)?;
        }
        self.inner.assign(&tpl)?;
        Ok(())
    }

    pub fn seek(&self, topic: &str, partition: i32, offset: i64) -> Result<(), KafkaClientError> {
        self.inner.seek(
            topic,
            partition,
            Offset::Offset(offset),
            Duration::from_secs(10),
        )?;
        Ok(())
    }

    pub fn pause(&self, partitions: &[(String, i32)]) -> Result<(), KafkaClientError> {
        self.inner.pause(&tpl_of(partitions))?;
        Ok(())
    }

    pub fn resume(&self, partitions: &[(String, i32)]) -> Result<(), KafkaClientError> {
        self.inner.resume(&tpl_of(partitions))?;
        Ok(())
    }

    /// The partitions currently assigned to this member.
    pub fn assignment(&self) -> Result<Vec<(String, i32)>, KafkaClientError> {
        Ok(partitions(&self.inner.assignment()?))
    }
}

/// Errors librdkafka reports on the message stream and then recovers from
/// by itself; only anything else stops a sink task.
///
/// A batch that cannot be decompressed (a codec this build lacks, or corrupt
/// data) is never retried by librdkafka: it reports the error again on every
/// fetch, and the partition would make no progress without a word to the
/// user. The Java consumer throws from `poll()` there and the task fails.
fn is_transient(e: &KafkaError) -> bool {
    match e {
        KafkaError::PartitionEOF(_) => true,
        KafkaError::MessageConsumption(code) => !matches!(
            code,
            RDKafkaErrorCode::Fatal
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::SaslAuthenticationFailed
                | RDKafkaErrorCode::Authentication
                // A failed TLS handshake (an untrusted or expired
                // certificate): Java's consumer throws
                // SslAuthenticationException from poll().
                | RDKafkaErrorCode::SSL
                | RDKafkaErrorCode::NotImplemented
                | RDKafkaErrorCode::BadCompression
                | RDKafkaErrorCode::UnsupportedCompressionType
        ),
        _ => false,
    }
}

/// A commit whose answer comes back on a queue of its own, served by
/// [`take`](Self::take): librdkafka reports manual asynchronous commits to
/// no one unless asked this way, and a synchronous commit would stop this
/// member from serving its group meanwhile.
struct CommitAnswer {
    queue: *mut rdsys::rd_kafka_queue_t,
    slot: Box<AnswerSlot>,
}

/// `None` until answered, then librdkafka's error code (`NoError` for
/// success).
#[derive(Default)]
struct AnswerSlot(Mutex<Option<RDKafkaErrorCode>>);

// SAFETY: the queue handle is only used through librdkafka's thread-safe
// queue functions, and destroyed once, on drop.
unsafe impl Send for CommitAnswer {}
unsafe impl Sync for CommitAnswer {}

unsafe extern "C" fn commit_answered(
    _rk: *mut rdsys::rd_kafka_t,
    err: rdsys::rd_kafka_resp_err_t,
    _offsets: *mut rdsys::rd_kafka_topic_partition_list_t,
    opaque: *mut c_void,
) {
    // SAFETY: `opaque` is the slot of a live `CommitAnswer`: the callback
    // runs only inside `take`, which borrows it.
    let slot = unsafe { &*(opaque as *const AnswerSlot) };
    *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.into());
}

impl CommitAnswer {
    fn send(
        consumer: &StreamConsumer<Context>,
        offsets: &TopicPartitionList,
    ) -> Result<Self, KafkaClientError> {
        let rk = consumer.client().native_ptr();
        // SAFETY: a new queue of a live client, destroyed on drop.
        let queue = unsafe { rdsys::rd_kafka_queue_new(rk) };
        let answer = CommitAnswer {
            queue,
            slot: Box::default(),
        };
        let opaque = &*answer.slot as *const AnswerSlot as *mut c_void;
        // SAFETY: librdkafka copies the offsets; the answer is served on
        // `queue` only by `take`, while `slot` is alive.
        let err = unsafe {
            rdsys::rd_kafka_commit_queue(rk, offsets.ptr(), queue, Some(commit_answered), opaque)
        };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(KafkaError::ConsumerCommit(err.into()).into());
        }
        Ok(answer)
    }

    /// The broker's answer, if it has come.
    fn take(&self) -> Option<Result<(), KafkaClientError>> {
        // SAFETY: serves the callbacks of ops on our own queue, now.
        unsafe { rdsys::rd_kafka_queue_poll_callback(self.queue, 0) };
        match (*self.slot.0.lock().unwrap_or_else(|p| p.into_inner()))? {
            RDKafkaErrorCode::NoError => Some(Ok(())),
            code => Some(Err(KafkaError::ConsumerCommit(code).into())),
        }
    }
}

impl Drop for CommitAnswer {
    fn drop(&mut self) {
        // An answer arriving later is dropped by librdkafka with the queue,
        // without calling back.
        // SAFETY: destroyed once; no callback runs after this.
        unsafe { rdsys::rd_kafka_queue_destroy(self.queue) };
    }
}

fn offset_list(offsets: &[PartitionOffset]) -> Result<TopicPartitionList, KafkaClientError> {
    let mut tpl = TopicPartitionList::with_capacity(offsets.len());
    for o in offsets {
        tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))?;
    }
    Ok(tpl)
}

fn tpl_of(partitions: &[(String, i32)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for (t, p) in partitions {
        tpl.add_partition(t, *p);
    }
    tpl
}

fn visit<F: FnMut(ConsumedMessage<'_>)>(m: &BorrowedMessage<'_>, f: &mut F) {
    let timestamp = match m.timestamp() {
        Timestamp::CreateTime(t) => Some((t, false)),
        Timestamp::LogAppendTime(t) => Some((t, true)),
        Timestamp::NotAvailable => None,
    };
    f(ConsumedMessage {
        topic: m.topic(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key(),
        value: m.payload(),
        timestamp,
        message: m,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_batches_stop_the_task() {
        for code in [
            RDKafkaErrorCode::NotImplemented,
            RDKafkaErrorCode::BadCompression,
            RDKafkaErrorCode::UnsupportedCompressionType,
        ] {
            assert!(
                !is_transient(&KafkaError::MessageConsumption(code)),
                "{code:?}"
            );
        }
        assert!(is_transient(&KafkaError::MessageConsumption(
            RDKafkaErrorCode::UnknownTopicOrPartition
        )));
    }

    #[test]
    fn every_codec_the_java_producer_writes_is_built_in() {
        // Without one of these a sink on such a topic could not decode a
        // single record.
        let features = rdkafka::ClientConfig::new()
            .create_native_config()
            .unwrap()
            .get("builtin.features")
            .unwrap();
        let features: Vec<&str> = features.split(',').collect();
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            assert!(
                features.contains(&codec),
                "{codec} missing from {features:?}"
            );
        }
    }
}
