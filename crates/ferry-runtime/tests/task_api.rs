//! The task API as the worker drives it against a real broker: the stop
//! signal ends a `poll` or `put` that waits, `SourceTask::commit_record` is
//! called for written, filtered and skipped records, and sink records carry
//! the topic, partition and offset they were consumed at when a
//! transformation changed them.
//!
//! Needs the local broker (`deploy/local/up.sh kafka`; `FERRY_TEST_BOOTSTRAP`
//! overrides 127.0.0.1:9092).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, Key};
use ferry_api::{
    lock, ConnectError, Connector, ConnectorContext, ConnectorKind, OffsetMap, PluginDescriptor,
    RecordMetadata, Schema, SinkRecord, SinkTask, SinkTaskContext, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal, TopicPartition, Value,
};
use ferry_runtime::entities::{State, TargetState};
use ferry_runtime::offsets::FileOffsetStore;
use ferry_runtime::plugins::Plugins;
use ferry_runtime::status::StatusStore;
use ferry_runtime::worker::{TaskHandle, Worker};
use ferry_runtime::worker_config::WorkerConfig;
use ferry_runtime::Props;
use ferry_tests::{bootstrap, create_topic, produce, require_kafka, unique};
use serde_json::json;

/// What the test tasks saw, by connector name: the tasks are built by plain
/// constructor functions, so they report through this.
static SEEN: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());

fn note(connector: &str, event: String) {
    lock(&SEEN)
        .entry(connector.to_owned())
        .or_default()
        .push(event);
}

fn seen(connector: &str) -> Vec<String> {
    lock(&SEEN).get(connector).cloned().unwrap_or_default()
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A worker whose tasks get ten seconds to stop gracefully: a stop that
/// takes that long was not ended by the stop signal.
fn worker(dir: &tempfile::TempDir) -> Worker {
    let offsets = dir.path().join("offsets");
    let config = WorkerConfig::new(
        props(&[
            ("bootstrap.servers", &bootstrap()),
            (
                "offset.storage.file.filename",
                offsets.to_str().expect("utf-8 path"),
            ),
            ("offset.flush.interval.ms", "200"),
            ("task.shutdown.graceful.timeout.ms", "10000"),
        ]),
        true,
    )
    .expect("worker config");
    Worker {
        config,
        // Converters, transformations and predicates; the test plugins are
        // handed to `start_task` directly.
        plugins: Arc::new(Plugins::with_built_ins(Vec::new()).expect("built-in plugins")),
        offsets: Arc::new(FileOffsetStore::open(&offsets).expect("offset store")),
        status: Arc::new(StatusStore::new("test-worker")),
        producers: ferry_kafka::ProducerPool::new(),
    }
}

async fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the task as a herder does and returns how long that took.
async fn stop_timed(worker: &Worker, name: &str, handle: TaskHandle) -> Duration {
    let t0 = Instant::now();
    worker.stop_tasks(name, vec![(0, handle)]).await;
    t0.elapsed()
}

struct NoConnector;

#[async_trait]
impl Connector for NoConnector {
    fn version(&self) -> String {
        "test".into()
    }
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    async fn start(
        &mut self,
        _props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        Ok(())
    }
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok(vec![Props::new()])
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

fn plugin(
    kind: ConnectorKind,
    new_source_task: Option<fn() -> Box<dyn SourceTask>>,
    new_sink_task: Option<fn() -> Box<dyn SinkTask>>,
) -> PluginDescriptor {
    PluginDescriptor {
        class: "test.TaskApiConnector",
        aliases: &[],
        kind,
        version: "test",
        new_connector: || Box::new(NoConnector),
        new_source_task,
        new_sink_task,
        local_file_keys: &[],
    }
}

/// A source task that returns the task config's `batch` (a JSON array of
/// values; `null` a tombstone, `{"bad": v}` a string the int32 schema
/// refuses) in its first poll, then waits: with `block=true` for the stop
/// signal only, otherwise up to 100 ms or the stop signal.
#[derive(Default)]
struct ScriptedSource {
    connector: String,
    topic: String,
    batch: Vec<serde_json::Value>,
    polled: bool,
    block: bool,
    stop: StopSignal,
}

#[async_trait]
impl SourceTask for ScriptedSource {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        self.connector = context.connector_name().to_owned();
        if props.contains_key("misspelt") {
            // A key the definition does not declare: a bug in the task.
            let parsed = ConfigDef::new()
                .parse(&props)
                .map_err(|e| ConnectError::config(e.message))?;
            self.topic = parsed.get(Key::<String>::new("topik"));
        }
        self.topic = props.get("topic").cloned().unwrap_or_default();
        let batch = props.get("batch").map(String::as_str).unwrap_or("[]");
        self.batch =
            serde_json::from_str(batch).map_err(|e| ConnectError::caused_by("batch", e))?;
        self.block = props.get("block").is_some_and(|b| b == "true");
        self.stop = context.stop_signal().clone();
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if !std::mem::replace(&mut self.polled, true) {
            let partition = Arc::new(OffsetMap::from_iter([("p".to_owned(), json!("x"))]));
            return Ok(self
                .batch
                .iter()
                .enumerate()
                .map(|(n, v)| {
                    let offset = OffsetMap::from_iter([("n".to_owned(), json!(n))]);
                    let (schema, value) = match v {
                        serde_json::Value::Null => (None, Value::Null),
                        serde_json::Value::Object(bad) => (
                            Some(Schema::int32()),
                            Value::String(bad["bad"].as_str().unwrap_or_default().to_owned()),
                        ),
                        other => (
                            Some(Schema::string()),
                            Value::String(other.as_str().unwrap_or_default().to_owned()),
                        ),
                    };
                    SourceRecord::new(partition.clone(), offset, self.topic.clone(), schema, value)
                })
                .collect());
        }
        note(&self.connector, "polling".into());
        if self.block {
            self.stop.stopped().await;
        } else {
            self.stop
                .unless_stopped(tokio::time::sleep(Duration::from_millis(100)))
                .await;
        }
        Ok(Vec::new())
    }

    async fn commit_record(
        &mut self,
        record: &SourceRecord,
        metadata: Option<&RecordMetadata>,
    ) -> Result<(), ConnectError> {
        let written = metadata.map_or("none".to_owned(), |m| {
            format!("{}/{}@{}", m.topic, m.partition, m.offset)
        });
        note(
            &self.connector,
            format!(
                "commit_record {} {} {written}",
                record.source_offset["n"], record.topic
            ),
        );
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        note(&self.connector, "stop".into());
        Ok(())
    }
}

fn source_plugin() -> PluginDescriptor {
    plugin(
        ConnectorKind::Source,
        Some(|| Box::new(ScriptedSource::default())),
        None,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_that_waits_for_data_is_ended_by_the_stop_signal() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = worker(&dir);
    let name = unique("stop-source");
    let cc = props(&[
        ("name", &name),
        ("connector.class", "test.TaskApiConnector"),
    ]);
    let task_config = props(&[("topic", &unique("unused")), ("block", "true")]);
    let handle = worker
        .start_task(
            &source_plugin(),
            &name,
            0,
            &cc,
            task_config,
            TargetState::Started,
        )
        .expect("task started");
    wait_until("the task to wait in poll", || {
        seen(&name).contains(&"polling".to_owned()).then_some(())
    })
    .await;
    let took = stop_timed(&worker, &name, handle).await;
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    // Stopped gracefully rather than cancelled at the shutdown timeout.
    assert_eq!(seen(&name).last().map(String::as_str), Some("stop"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_that_panics_fails_with_the_panic_as_its_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = worker(&dir);
    let name = unique("panicking");
    let cc = props(&[
        ("name", &name),
        ("connector.class", "test.TaskApiConnector"),
    ]);
    let task_config = props(&[("topic", &unique("unused")), ("misspelt", "yes")]);
    let handle = worker
        .start_task(
            &source_plugin(),
            &name,
            0,
            &cc,
            task_config,
            TargetState::Started,
        )
        .expect("task built");
    let status = worker.status.clone();
    let failed = wait_until("the task to fail", || {
        status.task(&name, 0).filter(|s| s.state == State::Failed)
    })
    .await;
    assert_eq!(
        failed.trace.as_deref(),
        Some("org.apache.kafka.connect.errors.ConnectException: The task panicked: Unknown configuration 'topik'")
    );
    // The runtime stopped the failed task, as after any failure.
    assert_eq!(seen(&name).last().map(String::as_str), Some("stop"));
    stop_timed(&worker, &name, handle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_record_sees_written_filtered_and_skipped_records() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = worker(&dir);
    let name = unique("commit-record");
    let topic = unique("commit-record-in");
    let routed = format!("{topic}-routed");
    tokio::task::block_in_place(|| create_topic(&routed, 1));
    let cc = props(&[
        ("name", &name),
        ("connector.class", "test.TaskApiConnector"),
        ("errors.tolerance", "all"),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
        ("transforms", "drop,route"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "tombstone"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-routed"),
        ("predicates", "tombstone"),
        ("predicates.tombstone.type", "RecordIsTombstone"),
    ]);
    let batch = json!(["a", null, {"bad": "not an int"}, "d"]).to_string();
    let task_config = props(&[("topic", &topic), ("batch", &batch)]);
    let handle = worker
        .start_task(
            &source_plugin(),
            &name,
            0,
            &cc,
            task_config,
            TargetState::Started,
        )
        .expect("task started");
    let calls = wait_until("commit_record for each record", || {
        let calls: Vec<String> = seen(&name)
            .into_iter()
            .filter(|e| e.starts_with("commit_record"))
            .collect();
        (calls.len() == 4).then_some(calls)
    })
    .await;
    // The records as polled (before the topic was routed), in order; where
    // the written ones landed; nothing for the filtered tombstone and the
    // record the converter refused (skipped under errors.tolerance=all).
    assert_eq!(
        calls,
        [
            format!("commit_record 0 {topic} {routed}/0@0"),
            format!("commit_record 1 {topic} none"),
            format!("commit_record 2 {topic} none"),
            format!("commit_record 3 {topic} {routed}/0@1"),
        ]
    );
    let partition = OffsetMap::from_iter([("p".to_owned(), json!("x"))]);
    wait_until("the last offset committed", || {
        worker
            .offsets
            .get(&name, &partition)
            .filter(|o| o.get("n") == Some(&json!(3)))
    })
    .await;
    assert_eq!(
        worker.status.task(&name, 0).map(|s| s.state),
        Some(State::Running)
    );
    stop_timed(&worker, &name, handle).await;
}

/// A sink task that notes each record's topic and original position, and
/// the offsets it is asked to commit; with `block=true` its `put` waits
/// for the stop signal and then fails as retriable.
#[derive(Default)]
struct NotingSink {
    connector: String,
    block: bool,
    context: Option<Arc<SinkTaskContext>>,
}

#[async_trait]
impl SinkTask for NotingSink {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        self.connector = props.get("connector").cloned().unwrap_or_default();
        self.block = props.get("block").is_some_and(|b| b == "true");
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        for r in &records {
            note(
                &self.connector,
                format!(
                    "put {}/{}@{} from {}/{}@{}",
                    r.topic,
                    r.kafka_partition,
                    r.kafka_offset,
                    r.original_topic(),
                    r.original_kafka_partition(),
                    r.original_kafka_offset()
                ),
            );
        }
        if self.block {
            if let Some(c) = &self.context {
                c.stop_signal().stopped().await;
            }
            return Err(ConnectError::retriable("stopping"));
        }
        Ok(())
    }

    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ConnectError> {
        for (tp, o) in &offsets {
            note(
                &self.connector,
                format!("pre_commit {}/{}@{o}", tp.topic, tp.partition),
            );
        }
        Ok(offsets)
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        note(&self.connector, "stop".into());
        Ok(())
    }
}

fn sink_plugin() -> PluginDescriptor {
    plugin(
        ConnectorKind::Sink,
        None,
        Some(|| Box::new(NotingSink::default())),
    )
}

fn sink_config(name: &str, topic: &str, extra: &[(&str, &str)]) -> Props {
    let mut cc = props(&[
        ("name", name),
        ("connector.class", "test.TaskApiConnector"),
        ("topics", topic),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
    ]);
    cc.extend(props(extra));
    cc
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_records_keep_their_position_before_transformations() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = worker(&dir);
    let name = unique("originals");
    let topic = unique("originals-in");
    tokio::task::block_in_place(|| {
        create_topic(&topic, 1);
        produce(&topic, &[b"a", b"b"]);
    });
    let cc = sink_config(
        &name,
        &topic,
        &[
            ("transforms", "route"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "$1-routed"),
        ],
    );
    let handle = worker
        .start_task(
            &sink_plugin(),
            &name,
            0,
            &cc,
            props(&[("connector", &name)]),
            TargetState::Started,
        )
        .expect("task started");
    let routed = format!("{topic}-routed");
    let expected_commit = format!("pre_commit {topic}/0@2");
    let events = wait_until("offsets past both records committed", || {
        let events = seen(&name);
        events.contains(&expected_commit).then_some(events)
    })
    .await;
    let puts: Vec<&String> = events.iter().filter(|e| e.starts_with("put")).collect();
    assert_eq!(
        puts,
        [
            &format!("put {routed}/0@0 from {topic}/0@0"),
            &format!("put {routed}/0@1 from {topic}/0@1"),
        ]
    );
    stop_timed(&worker, &name, handle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_that_waits_is_ended_by_the_stop_signal() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let worker = worker(&dir);
    let name = unique("stop-sink");
    let topic = unique("stop-sink-in");
    tokio::task::block_in_place(|| {
        create_topic(&topic, 1);
        produce(&topic, &[b"a"]);
    });
    let handle = worker
        .start_task(
            &sink_plugin(),
            &name,
            0,
            &sink_config(&name, &topic, &[]),
            props(&[("connector", &name), ("block", "true")]),
            TargetState::Started,
        )
        .expect("task started");
    let put = format!("put {topic}/0@0 from {topic}/0@0");
    wait_until("the task to wait in put", || {
        seen(&name).contains(&put).then_some(())
    })
    .await;
    let took = stop_timed(&worker, &name, handle).await;
    assert!(took < Duration::from_secs(3), "stopping took {took:?}");
    let events = seen(&name);
    assert_eq!(events.last().map(String::as_str), Some("stop"));
    // The put failed: nothing past the record is committed.
    let commits: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("pre_commit"))
        .collect();
    assert!(commits.is_empty(), "{commits:?}");
}
