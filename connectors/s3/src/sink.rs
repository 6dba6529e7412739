//! The sink connector (`io.confluent.connect.s3.S3SinkConnector`) and its
//! task: one [`PartitionWriter`] per assigned Kafka partition.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, Props, SinkRecord, SinkTask, SinkTaskContext,
    TopicPartition,
};
use tracing::{debug, info, warn};

use crate::buffer::Budget;
use crate::config::{self, SinkConfig};
use crate::error::S3Error;
use crate::storage::Store;
use crate::writer::{Outcome, PartitionWriter};

#[derive(Default)]
pub struct S3SinkConnector {
    props: Props,
}

#[async_trait]
impl Connector for S3SinkConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }

    fn config_def(&self) -> ConfigDef {
        config::sink_config_def()
    }

    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        config::sink_config_def().validate_with(props, config::cross_checks)
    }

    async fn start(
        &mut self,
        props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        SinkConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    /// Every task gets the same config; the worker spreads partitions.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

#[derive(Default)]
pub struct S3SinkTask {
    cfg: Option<Arc<SinkConfig>>,
    store: Option<Store>,
    context: Option<Arc<SinkTaskContext>>,
    writers: HashMap<TopicPartition, PartitionWriter>,
    name: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl S3SinkTask {
    fn parts(&self) -> Result<(Arc<SinkConfig>, Store, Arc<SinkTaskContext>), ConnectError> {
        match (&self.cfg, &self.store, &self.context) {
            (Some(c), Some(s), Some(x)) => Ok((c.clone(), s.clone(), x.clone())),
            _ => Err(ConnectError::other("the S3 sink task was not started")),
        }
    }

    /// After a failed upload: the partition's files are dropped and its
    /// records after the last complete file set are consumed again.
    async fn rewind(&mut self, tp: &TopicPartition) {
        let Some(w) = self.writers.get_mut(tp) else {
            return;
        };
        if let Some(offset) = w.discard().await {
            if let Some(ctx) = &self.context {
                ctx.reset_offset(tp.clone(), offset);
            }
            warn!(connector = %self.name, topic = %tp.topic, partition = tp.partition, offset, "S3 upload failed; writing the partition again from the last complete file");
        }
    }
}

#[async_trait]
impl SinkTask for S3SinkTask {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        let cfg = SinkConfig::parse(&props)?;
        let store = Store::new(&cfg.store).await?;
        Budget::worker().limit_to(cfg.buffer_max_bytes);
        store.check_bucket().await?;
        self.name = props.get("name").cloned().unwrap_or_default();
        info!(connector = %self.name, bucket = %store.bucket(), "S3 sink task started");
        self.cfg = Some(Arc::new(cfg));
        self.store = Some(store);
        self.context = Some(context);
        Ok(())
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        let (cfg, store, _) = self.parts()?;
        let now = now_ms();
        for tp in partitions {
            self.writers.entry(tp.clone()).or_insert_with(|| {
                PartitionWriter::new(
                    tp.clone(),
                    cfg.clone(),
                    store.clone(),
                    Budget::worker(),
                    now,
                )
            });
        }
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let (cfg, store, ctx) = self.parts()?;
        let reporter = ctx.errant_record_reporter();
        let now = now_ms();
        let mut failed: Option<(TopicPartition, S3Error)> = None;
        for record in &records {
            let tp =
                TopicPartition::new(record.original_topic(), record.original_kafka_partition());
            if failed.as_ref().is_some_and(|(f, _)| *f == tp) {
                continue;
            }
            let writer = self.writers.entry(tp.clone()).or_insert_with(|| {
                PartitionWriter::new(
                    tp.clone(),
                    cfg.clone(),
                    store.clone(),
                    Budget::worker(),
                    now,
                )
            });
            match writer.write(record, now).await {
                Ok(Outcome::Written) => {}
                Ok(Outcome::IgnoredNull) => {
                    if cfg.report_nulls {
                        if let Some(r) = &reporter {
                            let e = ConnectError::other(
                                "Null valued record ignored (behavior.on.null.values=ignore)",
                            );
                            r.report(record, &e).await?;
                        }
                    }
                }
                Err(S3Error::Record(message)) => match &reporter {
                    Some(r) => {
                        r.report(record, &ConnectError::other(message)).await?;
                        writer.refused(record.original_kafka_offset());
                    }
                    None => return Err(ConnectError::from(S3Error::Record(message))),
                },
                Err(e) if e.is_retriable() => {
                    failed = Some((tp, e));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Commits that finished meanwhile.
        let tps: Vec<TopicPartition> = self.writers.keys().cloned().collect();
        for tp in tps {
            let Some(w) = self.writers.get_mut(&tp) else {
                continue;
            };
            if let Err(e) = w.settle(false).await {
                if !e.is_retriable() {
                    return Err(e.into());
                }
                if failed.is_none() {
                    failed = Some((tp.clone(), e));
                } else {
                    self.rewind(&tp).await;
                }
            }
        }
        if let Some((tp, e)) = failed {
            self.rewind(&tp).await;
            // Confluent's `retry.backoff.ms`: the wait before the batch
            // comes again.
            ctx.timeout(cfg.retry_backoff);
            // The other partitions of the batch are delivered again too;
            // their writers skip what they already took.
            return Err(e.into());
        }
        Ok(())
    }

    async fn pre_commit(
        &mut self,
        _offsets: BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ConnectError> {
        let now = now_ms();
        let mut safe = BTreeMap::new();
        let tps: Vec<TopicPartition> = self.writers.keys().cloned().collect();
        for tp in tps {
            let Some(w) = self.writers.get_mut(&tp) else {
                continue;
            };
            w.rotate_if_scheduled(now);
            match w.settle(true).await {
                Ok(()) => {
                    if let Some(offset) = w.offset_to_commit() {
                        safe.insert(tp, offset);
                    }
                }
                Err(e) if e.is_retriable() => {
                    let committed = w.offset_to_commit();
                    self.rewind(&tp).await;
                    if let Some(offset) = committed {
                        safe.insert(tp, offset);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        debug!(connector = %self.name, partitions = safe.len(), "S3 sink offsets safe to commit");
        Ok(safe)
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        for tp in partitions {
            if let Some(mut w) = self.writers.remove(tp) {
                // Files not committed are written again by the next owner.
                w.discard().await;
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        for (_, mut w) in self.writers.drain() {
            w.discard().await;
        }
        Ok(())
    }
}
