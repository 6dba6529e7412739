//! The sink task loop: fetch → convert → put; every
//! `offset.flush.interval.ms` the task's `pre_commit` says which offsets are
//! safe and those are committed to the group `connect-<connector>`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ferry_api::{
    ConnectError, Headers, SinkRecord, SinkTask, SinkTaskContext, TimestampType, TopicPartition,
};
use ferry_convert::Converter;
use ferry_kafka::{Consumer, PartitionOffset, RebalanceEvent};
use ferry_transforms::TransformationChain;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::entities::{State, TargetState};
use crate::error_handling::{DeadLetterQueue, ErrantRecord, ErrorPolicy, DATA_EXCEPTION};
use crate::errors::TaskError;
use crate::headers::HeaderConverter;
use crate::status::StatusStore;
use crate::worker_config::WorkerConfig;
use crate::Props;

/// How long a `put` that raised a retriable error waits before the same
/// batch is offered again.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Longest wait for the first record of a fetch; also how long a stop or
/// pause request can wait for an idle task to notice it.
const FETCH_WAIT: Duration = Duration::from_millis(200);

pub struct SinkTaskRunner {
    pub connector: String,
    pub task_id: u32,
    pub task: Box<dyn SinkTask>,
    pub props: Props,
    pub consumer: Consumer,
    pub context: Arc<SinkTaskContext>,
    pub key_converter: Box<dyn Converter>,
    pub value_converter: Box<dyn Converter>,
    pub header_converter: HeaderConverter,
    pub status: Arc<StatusStore>,
    pub target: watch::Receiver<TargetState>,
    pub flush_interval: Duration,
    pub max_poll_records: usize,
    pub topic_tracking: bool,
    pub errors: ErrorPolicy,
    pub transforms: TransformationChain<SinkRecord>,
    /// Opened when the task starts, if the connector names a DLQ topic.
    pub dlq: Option<DeadLetterQueue>,
    pub worker_config: WorkerConfig,
    pub connector_config: Props,
    /// Converter classes, named in error reports.
    pub converter_classes: (String, String),
    pub flush_timeout: Duration,
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

impl SinkTaskRunner {
    pub async fn run(mut self) {
        let (c, t) = (self.connector.clone(), self.task_id);
        match self.execute().await {
            Ok(()) => info!(connector = %c, task = t, "sink task stopped"),
            Err(e) => {
                error!(connector = %c, task = t, error = %e, "sink task failed");
                self.status.set_task(&c, t, State::Failed, Some(e.trace()));
                if let Err(e) = self.task.stop().await {
                    warn!(connector = %c, task = t, error = %e, "stopping failed sink task");
                }
            }
        }
    }

    async fn execute(&mut self) -> Result<(), TaskError> {
        self.task
            .start(self.props.clone(), self.context.clone())
            .await
            .map_err(TaskError::Task)?;
        self.dlq = DeadLetterQueue::open(
            &self.worker_config,
            &self.connector_config,
            &self.connector,
            self.task_id,
            &self.errors,
        )
        .await?;
        info!(connector = %self.connector, task = self.task_id, "sink task started");
        let mut positions = Positions::new();
        let mut assigned: HashSet<TopicPartition> = HashSet::new();
        let mut paused_by_task: HashSet<TopicPartition> = HashSet::new();
        let mut next_commit = Instant::now() + self.flush_interval;
        let mut reported = None;
        let mut batch: Vec<SinkRecord> = Vec::with_capacity(self.max_poll_records);
        loop {
            let target = *self.target.borrow_and_update();
            if reported != Some(target) {
                let state = match target {
                    TargetState::Started => State::Running,
                    TargetState::Paused => State::Paused,
                    TargetState::Stopped => break,
                };
                self.set_paused(&assigned, &paused_by_task, target == TargetState::Paused)?;
                self.status
                    .set_task(&self.connector, self.task_id, state, None);
                reported = Some(target);
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
                    .map_err(|e| TaskError::Consume(e.to_string()))?;
            }
            if target == TargetState::Started && !ranges.is_empty() {
                let put = if batch.is_empty() {
                    // Every record was errant and skipped.
                    Ok(())
                } else {
                    self.task.put(std::mem::take(&mut batch)).await
                };
                match put {
                    Ok(()) => {
                        for (tp, _, next) in ranges {
                            positions.insert(tp, next);
                        }
                    }
                    Err(e) if e.is_retriable() => {
                        // The batch is lost to us once moved; rewind and refetch.
                        warn!(connector = %self.connector, task = self.task_id, error = %e, "retriable put failure; redelivering");
                        self.rewind(&ranges)?;
                        tokio::time::sleep(RETRY_BACKOFF).await;
                    }
                    Err(e) => return Err(TaskError::Task(e)),
                }
            }
            if Instant::now() >= next_commit || self.context.take_commit_request() {
                self.commit(&positions).await?;
                next_commit = Instant::now() + self.flush_interval;
            }
        }
        self.commit(&positions).await?;
        self.transforms.close();
        let all: Vec<TopicPartition> = assigned.into_iter().collect();
        self.task.close(&all).await.map_err(TaskError::Task)?;
        self.task.stop().await.map_err(TaskError::Task)
    }

    /// Fetches up to `max_poll_records` and converts them. Records a
    /// converter rejects fail the task, or with `errors.tolerance=all` are
    /// logged, sent to the dead letter queue and skipped.
    async fn fetch(&mut self, batch: &mut Vec<SinkRecord>) -> Result<FetchedRanges, TaskError> {
        let mut failure: Option<TaskError> = None;
        let mut errant: Vec<ErrantRecord> = Vec::new();
        let mut ranges = FetchedRanges::new();
        let tolerate = self.errors.tolerate_all;
        let key_conv = &self.key_converter;
        let value_conv = &self.value_converter;
        let header_conv = &self.header_converter;
        let classes = &self.converter_classes;
        let transforms = &mut self.transforms;
        let mut topics_seen: Vec<String> = Vec::new();
        self.consumer
            .poll_batch(self.max_poll_records, FETCH_WAIT, |m| {
                if failure.is_some() {
                    return;
                }
                note_range(&mut ranges, m.topic, m.partition, m.offset);
                let converted = key_conv
                    .to_connect(m.topic, m.key)
                    .map_err(|e| ("KEY_CONVERTER", &classes.0, e))
                    .and_then(|k| {
                        value_conv
                            .to_connect(m.topic, m.value)
                            .map(|v| (k, v))
                            .map_err(|e| ("VALUE_CONVERTER", &classes.1, e))
                    });
                let (key, value) = match converted {
                    Ok(kv) => kv,
                    Err((stage, class, e)) if tolerate => {
                        errant.push(ErrantRecord {
                            topic: m.topic.to_owned(),
                            partition: m.partition,
                            offset: m.offset,
                            timestamp: m.timestamp.map(|(t, _)| t),
                            key: m.key.map(<[u8]>::to_vec),
                            value: m.value.map(<[u8]>::to_vec),
                            headers: m
                                .headers()
                                .map(|(k, v)| (k.to_owned(), v.map(<[u8]>::to_vec)))
                                .collect(),
                            stage,
                            class_name: class.clone(),
                            exception_class: DATA_EXCEPTION,
                            message: e.to_string(),
                        });
                        return;
                    }
                    Err((stage, _, e)) => {
                        failure = Some(TaskError::Convert(stage, e.to_string()));
                        return;
                    }
                };
                let mut headers = Headers::new();
                for (k, v) in m.headers() {
                    let (schema, value) = header_conv.to_connect(v);
                    headers.add(k, schema, value);
                }
                let (timestamp, timestamp_type) = match m.timestamp {
                    Some((ts, true)) => (Some(ts), TimestampType::LogAppendTime),
                    Some((ts, false)) => (Some(ts), TimestampType::CreateTime),
                    None => (None, TimestampType::NoTimestampType),
                };
                if topics_seen.last().map(String::as_str) != Some(m.topic) {
                    topics_seen.push(m.topic.to_owned());
                }
                let record = SinkRecord {
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
                };
                match transforms.apply(record) {
                    Ok(Some(r)) => batch.push(r),
                    Ok(None) => {}
                    Err(e) if tolerate => errant.push(ErrantRecord {
                        topic: m.topic.to_owned(),
                        partition: m.partition,
                        offset: m.offset,
                        timestamp: m.timestamp.map(|(t, _)| t),
                        key: m.key.map(<[u8]>::to_vec),
                        value: m.value.map(<[u8]>::to_vec),
                        headers: m
                            .headers()
                            .map(|(k, v)| (k.to_owned(), v.map(<[u8]>::to_vec)))
                            .collect(),
                        stage: "TRANSFORMATION",
                        class_name: e.stage().map(|s| s.class.to_owned()).unwrap_or_default(),
                        exception_class: e.exception_class(),
                        message: e.to_string(),
                    }),
                    Err(e) => {
                        failure = Some(TaskError::Transform(e.exception_class(), e.to_string()))
                    }
                }
            })
            .await
            .map_err(|e| TaskError::Consume(e.to_string()))?;
        if self.topic_tracking {
            for t in topics_seen {
                if self.status.record_topic(&self.connector, &t) {
                    debug!(connector = %self.connector, topic = %t, "connector uses a new topic");
                }
            }
        }
        if let Some(f) = failure {
            return Err(f);
        }
        for r in &errant {
            self.errors.log_errant(&self.connector, self.task_id, r);
            if let Some(dlq) = &self.dlq {
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
                .map_err(|e| TaskError::Consume(e.to_string()))?;
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
        r.map_err(|e| TaskError::Consume(e.to_string()))
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
                    info!(connector = %self.connector, task = self.task_id, partitions = ?tps, "partitions assigned");
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
                    info!(connector = %self.connector, task = self.task_id, partitions = ?tps, "partitions revoked");
                    let mine: Positions = positions
                        .iter()
                        .filter(|(tp, _)| tps.contains(tp))
                        .map(|(tp, o)| (tp.clone(), *o))
                        .collect();
                    if let Err(e) = self.commit(&mine).await {
                        warn!(connector = %self.connector, task = self.task_id, error = %e, "commit on revocation failed");
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
                    .map_err(|e| TaskError::Consume(e.to_string()))?;
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
                .map_err(|e| TaskError::Consume(e.to_string()))?;
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
                .map_err(|e| TaskError::Consume(e.to_string()))?;
        }
        Ok(())
    }

    /// `pre_commit` → commit what the task says is safe.
    async fn commit(&mut self, positions: &Positions) -> Result<(), TaskError> {
        if positions.is_empty() {
            return Ok(());
        }
        // Records sent to the dead letter queue must be in Kafka before the
        // offsets that skip them are committed.
        if let Some(dlq) = &self.dlq {
            dlq.flush(self.flush_timeout).await?;
        }
        let safe = match self.task.pre_commit(positions.clone()).await {
            Ok(s) => s,
            Err(ConnectError::Retriable(e)) => {
                warn!(connector = %self.connector, task = self.task_id, error = %e, "pre-commit failed; retrying at the next commit");
                return Ok(());
            }
            Err(e) => return Err(TaskError::Task(e)),
        };
        let offsets: Vec<PartitionOffset> = safe
            .into_iter()
            .map(|(tp, offset)| PartitionOffset {
                topic: tp.topic,
                partition: tp.partition,
                offset,
            })
            .collect();
        self.consumer
            .commit(&offsets)
            .map_err(|e| TaskError::Offsets(e.to_string()))?;
        debug!(connector = %self.connector, task = self.task_id, partitions = offsets.len(), "committed sink offsets");
        Ok(())
    }
}
