//! The connector (splits the work into tasks) and the source task.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, OffsetMap, Props, Schema, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal, Value,
};
use serde_json::Value as Json;
use tokio::time::Instant;
use tracing::info;

use crate::config::{config_def, DatagenConfig, RANDOM_SEED, TASK_ID, TASK_KEYS};
use crate::generator::Generator;
use crate::rng::hash_str;

/// Source partition key: the task number.
pub const PARTITION_TASK: &str = "task";
/// Source offset key: records generated so far by the task.
pub const OFFSET_ITERATION: &str = "iteration";

/// Most records one poll returns.
const MAX_BATCH: usize = 1000;
/// Longest a poll waits before returning (the worker handles pause requests
/// and offset commits between polls; a stop ends the wait at once).
const MAX_POLL_WAIT: Duration = Duration::from_millis(900);
/// Wait per poll once every iteration is done.
const DONE_WAIT: Duration = Duration::from_millis(500);

fn config_error(e: crate::config::KeyError) -> ConnectError {
    ConnectError::config(e.message)
}

#[derive(Default)]
pub struct DatagenConnector {
    props: Props,
}

#[async_trait]
impl Connector for DatagenConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        DatagenConfig::validate(props)
    }
    async fn start(
        &mut self,
        props: Props,
        _ctx: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        DatagenConfig::parse(&props).map_err(config_error)?;
        self.props = props;
        Ok(())
    }
    /// `max_tasks` tasks, each with its own task number and so its own
    /// record stream.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        let mut base = Props::new();
        for k in TASK_KEYS {
            if let Some(v) = self.props.get(*k) {
                base.insert((*k).to_owned(), v.clone());
            }
        }
        // Without a seed, the connector name picks one, so the stream stays
        // the same across restarts.
        if !base.contains_key(RANDOM_SEED.name()) {
            if let Some(name) = self.props.get("name") {
                base.insert(
                    RANDOM_SEED.name().to_owned(),
                    (hash_str(name) as i64).to_string(),
                );
            }
        }
        Ok((0..max_tasks.max(1))
            .map(|i| {
                let mut cfg = base.clone();
                cfg.insert(TASK_ID.name().to_owned(), i.to_string());
                cfg
            })
            .collect())
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

pub struct DatagenSourceTask {
    topic: String,
    generator: Option<Generator>,
    partition: Arc<OffsetMap>,
    /// Index of the next record, i.e. records generated so far.
    next: u64,
    limit: Option<u64>,
    interval: Duration,
    next_due: Instant,
    done_logged: bool,
    /// Fires when the task is to stop: ends a wait for the next record.
    stop: StopSignal,
}

impl Default for DatagenSourceTask {
    fn default() -> Self {
        DatagenSourceTask {
            topic: String::new(),
            generator: None,
            partition: Arc::new(OffsetMap::new()),
            next: 0,
            limit: None,
            interval: Duration::ZERO,
            next_due: Instant::now(),
            done_logged: false,
            stop: StopSignal::new(),
        }
    }
}

impl DatagenSourceTask {
    fn remaining(&self) -> u64 {
        self.limit.map_or(u64::MAX, |l| l.saturating_sub(self.next))
    }

    fn record(&mut self) -> Result<SourceRecord, ConnectError> {
        let generator = self
            .generator
            .as_ref()
            .ok_or_else(|| ConnectError::other("datagen task polled before start"))?;
        let i = self.next;
        let (key, value) = generator.record(i)?;
        self.next += 1;
        let mut offset = OffsetMap::new();
        offset.insert(OFFSET_ITERATION.into(), Json::from(self.next));
        let mut record = SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            Some(generator.schema().clone()),
            Value::Struct(value),
        );
        if let Some(k) = key {
            record.key_schema = Some(Schema::string());
            record.key = Value::String(k);
        }
        Ok(record)
    }
}

#[async_trait]
impl SourceTask for DatagenSourceTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let cfg = DatagenConfig::parse(&props).map_err(config_error)?;
        let task = cfg.task_id.unwrap_or_else(|| context.task_number());
        let seed = cfg
            .seed
            .unwrap_or_else(|| hash_str(context.connector_name()));
        let mut partition = OffsetMap::new();
        partition.insert(PARTITION_TASK.into(), Json::from(task));
        self.next = match context.offset_storage_reader().offset(&partition) {
            None => 0,
            Some(offset) => offset
                .get(OFFSET_ITERATION)
                .and_then(Json::as_u64)
                .ok_or_else(|| {
                    ConnectError::other(format!(
                        "Offset iteration is missing or not a count: {:?}",
                        offset.get(OFFSET_ITERATION)
                    ))
                })?,
        };
        if self.next > 0 {
            info!(
                task,
                iteration = self.next,
                "resuming from committed offset"
            );
        }
        self.partition = Arc::new(partition);
        self.topic = cfg.topic;
        self.limit = cfg.iterations;
        self.interval = cfg.max_interval;
        self.generator = Some(Generator::new(cfg.schema, cfg.key_field, seed, task));
        self.next_due = Instant::now();
        self.done_logged = false;
        self.stop = context.stop_signal().clone();
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if self.remaining() == 0 {
            if !self.done_logged {
                info!(topic = %self.topic, records = self.next, "all iterations generated");
                self.done_logged = true;
            }
            self.stop
                .unless_stopped(tokio::time::sleep(DONE_WAIT))
                .await;
            return Ok(Vec::new());
        }
        if self.interval.is_zero() {
            let n = self.remaining().min(MAX_BATCH as u64) as usize;
            return (0..n).map(|_| self.record()).collect();
        }
        let deadline = Instant::now() + MAX_POLL_WAIT;
        loop {
            let now = Instant::now();
            // After a long pause, start afresh rather than burst to catch up.
            if now.duration_since(self.next_due) > Duration::from_secs(1) {
                self.next_due = now;
            }
            let mut out = Vec::new();
            while self.next_due <= now && out.len() < MAX_BATCH && self.remaining() > 0 {
                out.push(self.record()?);
                self.next_due += self.interval;
            }
            if !out.is_empty() {
                return Ok(out);
            }
            let wait_until = self.next_due.min(deadline);
            let waited = self
                .stop
                .unless_stopped(tokio::time::sleep_until(wait_until))
                .await;
            if waited.is_none() || wait_until == deadline {
                return Ok(out);
            }
        }
    }

    /// Committed offsets are all this task needs: records are not kept
    /// for `commit_record`.
    fn wants_commit_record(&self) -> bool {
        false
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferry_api::testkit::{props, start_connector, MemoryOffsetReader, SourceHarness};

    use super::*;
    use crate::config;

    const FIELDS: &str = config::FIELDS.name();
    const ITERATIONS: &str = config::ITERATIONS.name();
    const KAFKA_TOPIC: &str = config::KAFKA_TOPIC.name();
    const MAX_INTERVAL: &str = config::MAX_INTERVAL.name();
    const QUICKSTART: &str = config::QUICKSTART.name();
    const TASK_ID: &str = config::TASK_ID.name();

    fn users(iterations: &str) -> Props {
        props(&[
            (KAFKA_TOPIC, "t"),
            (QUICKSTART, "users"),
            (MAX_INTERVAL, "0"),
            (ITERATIONS, iterations),
            ("random.seed", "42"),
            (TASK_ID, "0"),
        ])
    }

    async fn started(p: Props, offsets: MemoryOffsetReader) -> SourceHarness<DatagenSourceTask> {
        let mut h = SourceHarness::with_offsets(DatagenSourceTask::default(), offsets);
        h.start(p).await.unwrap();
        h
    }

    #[tokio::test]
    async fn iterations_bound_the_records_and_offsets_count_them() {
        let mut task = started(users("1500"), MemoryOffsetReader::new()).await;
        let first = task.poll().await.unwrap();
        assert_eq!(first.len(), MAX_BATCH);
        let second = task.poll().await.unwrap();
        assert_eq!(second.len(), 500);
        assert_eq!(second[499].source_offset[OFFSET_ITERATION], 1500);
        assert_eq!(first[0].source_partition[PARTITION_TASK], 0);
        assert_eq!(first[0].topic, "t");
        assert!(matches!(first[0].key, Value::String(_)));
        assert!(task.poll().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_restart_continues_with_the_same_records() {
        let mut fresh = started(users("10"), MemoryOffsetReader::new()).await;
        let all = fresh.poll().await.unwrap();
        assert_eq!(all.len(), 10);
        // Four of them reached Kafka and had their offsets committed.
        let offsets = MemoryOffsetReader::new();
        let mut first = started(users("10"), offsets.clone()).await;
        let polled = first.poll().await.unwrap();
        first.acknowledge(&polled[..4]).await.unwrap();
        first.commit_offsets().await.unwrap();
        first.stop().await.unwrap();
        let mut resumed = started(users("10"), offsets.clone()).await;
        let rest = resumed.poll().await.unwrap();
        assert_eq!(rest, all[4..]);
        resumed.acknowledge(&rest).await.unwrap();
        resumed.commit_offsets().await.unwrap();
        let mut done = started(users("10"), offsets).await;
        assert!(done.poll().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn max_interval_paces_records() {
        let mut p = users("3");
        p.insert(MAX_INTERVAL.into(), "100".into());
        let mut task = started(p, MemoryOffsetReader::new()).await;
        let t0 = std::time::Instant::now();
        task.poll_records(3, Duration::from_secs(5)).await.unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(190),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn a_wait_for_the_next_record_ends_when_the_task_is_stopped() {
        let mut p = users("10");
        p.insert(MAX_INTERVAL.into(), "60000".into());
        let mut task = started(p, MemoryOffsetReader::new()).await;
        assert_eq!(
            task.poll().await.unwrap().len(),
            1,
            "the first is due at once"
        );
        // The next is due in a minute: a poll would wait its longest wait.
        task.stop_signal().stop();
        let t0 = std::time::Instant::now();
        assert!(task.poll().await.unwrap().is_empty());
        assert!(t0.elapsed() < MAX_POLL_WAIT / 2, "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn task_configs_number_the_tasks_and_fix_a_seed() {
        let mut config = props(&[
            ("name", "gen"),
            ("connector.class", "Datagen"),
            (KAFKA_TOPIC, "t"),
            (QUICKSTART, "orders"),
        ]);
        let mut c = DatagenConnector::default();
        start_connector(&mut c, config.clone()).await.unwrap();
        let cfgs = c.task_configs(3).unwrap();
        assert_eq!(cfgs.len(), 3);
        for (i, cfg) in cfgs.iter().enumerate() {
            assert_eq!(cfg[TASK_ID], i.to_string());
            assert!(!cfg.contains_key("connector.class"));
            assert_eq!(cfg["random.seed"], cfgs[0]["random.seed"]);
        }
        config.insert("random.seed".into(), "7".into());
        let mut seeded = DatagenConnector::default();
        start_connector(&mut seeded, config).await.unwrap();
        assert_eq!(seeded.task_configs(1).unwrap()[0]["random.seed"], "7");
    }

    fn errors(p: &Props) -> Vec<(String, String)> {
        DatagenConfig::validate(p)
            .into_iter()
            .flat_map(|v| v.errors.into_iter().map(move |e| (v.name.clone(), e)))
            .collect()
    }

    #[test]
    fn config_validation_names_the_key() {
        let key_of = |pairs: &[(&str, &str)]| -> Vec<String> {
            errors(&props(pairs)).into_iter().map(|(k, _)| k).collect()
        };
        assert!(key_of(&[(KAFKA_TOPIC, "t"), (QUICKSTART, "users")]).is_empty());
        assert!(key_of(&[
            (KAFKA_TOPIC, "t"),
            (QUICKSTART, "none"),
            (FIELDS, "a:int32")
        ])
        .is_empty());
        assert_eq!(key_of(&[(QUICKSTART, "users")]), ["kafka.topic"]);
        assert_eq!(
            key_of(&[(KAFKA_TOPIC, "t"), (QUICKSTART, "stock")]),
            ["quickstart"]
        );
        assert_eq!(key_of(&[(KAFKA_TOPIC, "t")]), ["quickstart"]);
        assert_eq!(
            key_of(&[(KAFKA_TOPIC, "t"), (FIELDS, "a:int128")]),
            ["fields"]
        );
        assert_eq!(
            key_of(&[(KAFKA_TOPIC, "t"), (FIELDS, "a:int32,a:string")]),
            ["fields"]
        );
        assert_eq!(
            key_of(&[(KAFKA_TOPIC, "t"), (FIELDS, "nocolon")]),
            ["fields"]
        );
        assert_eq!(
            key_of(&[
                (KAFKA_TOPIC, "t"),
                (QUICKSTART, "users"),
                (FIELDS, "a:int32")
            ]),
            ["fields"]
        );
        assert_eq!(
            key_of(&[
                (KAFKA_TOPIC, "t"),
                (QUICKSTART, "users"),
                ("schema.keyfield", "nope")
            ]),
            ["schema.keyfield"]
        );
        assert_eq!(
            key_of(&[
                (KAFKA_TOPIC, "t"),
                (FIELDS, "b:bytes"),
                ("schema.keyfield", "b")
            ]),
            ["schema.keyfield"]
        );
        assert_eq!(
            key_of(&[
                (KAFKA_TOPIC, "t"),
                (QUICKSTART, "users"),
                (MAX_INTERVAL, "-1")
            ]),
            ["max.interval"]
        );
        assert_eq!(
            key_of(&[(KAFKA_TOPIC, "t"), (QUICKSTART, "users"), (ITERATIONS, "x")]),
            ["iterations"]
        );
        assert_eq!(
            key_of(&[
                (KAFKA_TOPIC, "t"),
                (QUICKSTART, "users"),
                (ITERATIONS, "5"),
                ("max.records", "6")
            ]),
            ["max.records"]
        );
    }

    #[test]
    fn iterations_and_its_alias() {
        let parse = |pairs: &[(&str, &str)]| {
            let mut p = props(&[(KAFKA_TOPIC, "t"), (QUICKSTART, "Users")]);
            p.extend(props(pairs));
            DatagenConfig::parse(&p).unwrap().iterations
        };
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[(ITERATIONS, "-1")]), None);
        assert_eq!(parse(&[(ITERATIONS, "10")]), Some(10));
        assert_eq!(parse(&[("max.records", "7")]), Some(7));
        assert_eq!(parse(&[(ITERATIONS, "7"), ("max.records", "7")]), Some(7));
    }
}
