//! The sink task's errant record reporter against a real broker: built as
//! the worker builds it (the connector's converters, its `errors.*`
//! settings, the task's dead letter queue), it writes reported records to
//! the dead letter queue topic with Kafka Connect's `__connect.errors.*`
//! headers, and refuses them under `errors.tolerance=none`.
//!
//! Needs the local broker (`deploy/local/up.sh`; `FERRY_TEST_BOOTSTRAP`
//! overrides 127.0.0.1:9092).

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ferry_api::config::ConfigDef;
use ferry_api::{
    ConnectError, Connector, ConnectorContext, ConnectorKind, Converter, DataError,
    ErrantRecordReporter, Headers, PluginDescriptor, Schema, SinkRecord, SinkTask, SinkTaskContext,
    TimestampType, Value,
};
use ferry_runtime::entities::{State, TargetState};
use ferry_runtime::error_handling::{DeadLetterQueue, ErrorPolicy, SinkErrantRecordReporter};
use ferry_runtime::errors::TaskError;
use ferry_runtime::headers::HeaderConverter;
use ferry_runtime::offsets::FileOffsetStore;
use ferry_runtime::plugins::Plugins;
use ferry_runtime::status::StatusStore;
use ferry_runtime::worker::Worker;
use ferry_runtime::worker_config::WorkerConfig;
use ferry_runtime::Props;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers as _, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn require_broker() {
    let reachable = bootstrap()
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "no Kafka broker at {}: start one with deploy/local/up.sh",
        bootstrap()
    );
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn worker() -> WorkerConfig {
    WorkerConfig::new(
        props(&[
            ("bootstrap.servers", &bootstrap()),
            ("offset.storage.file.filename", "/dev/null"),
            // Not used by the reporter: it takes the connector's converters.
            (
                "key.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
        ]),
        true,
    )
    .expect("worker config")
}

fn plugins() -> Plugins {
    Plugins::with_built_ins(Vec::new()).expect("built-in plugins")
}

fn converter(worker: &WorkerConfig, prefix: &str, is_key: bool, cc: &Props) -> Arc<dyn Converter> {
    let (class, settings) = worker.converter_for(prefix, cc);
    plugins()
        .new_converter(&class, is_key, &settings)
        .expect("converter")
        .into()
}

/// The reporter and its dead letter queue, as the worker sets them up for
/// a sink task (`Worker::sink_runner`, then the task's start).
async fn reporter_for(cc: &Props) -> Arc<SinkErrantRecordReporter> {
    let worker = worker();
    let plugins = plugins();
    let policy = ErrorPolicy::from_config(cc);
    let reporter = SinkErrantRecordReporter::new(
        "errant-test",
        3,
        &policy,
        converter(&worker, "key.converter", true, cc),
        converter(&worker, "value.converter", false, cc),
        Arc::new(HeaderConverter::for_connector(&plugins, &worker, cc).expect("header converter")),
    )
    .expect("a reporter is offered when a DLQ topic is set");
    let dlq = DeadLetterQueue::open(
        &worker,
        &ferry_kafka::ProducerPool::new(),
        cc,
        "errant-test",
        3,
        &policy,
    )
    .await
    .expect("open DLQ")
    .expect("a DLQ topic is configured");
    reporter.attach_dlq(Arc::new(dlq));
    reporter
}

fn connector_config(dlq: &str, tolerance: &str) -> Props {
    props(&[
        ("name", "errant-test"),
        ("connector.class", "FileStreamSink"),
        ("topics", "orders"),
        ("errors.tolerance", tolerance),
        ("errors.log.enable", "true"),
        ("errors.log.include.messages", "true"),
        ("errors.deadletterqueue.topic.name", dlq),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("value.converter.schemas.enable", "false"),
        (
            "header.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("header.converter.schemas.enable", "false"),
    ])
}

fn record(key: Value, offset: i64) -> SinkRecord {
    let mut headers = Headers::new();
    headers.add("trace", Some(Schema::int32()), Value::Int32(7));
    SinkRecord {
        topic: "orders".into(),
        kafka_partition: 2,
        kafka_offset: offset,
        key_schema: Some(Schema::optional_string()),
        key,
        value_schema: None,
        value: Value::Map(vec![(Value::String("qty".into()), Value::Int64(5))]),
        timestamp: Some(1_700_000_000_123),
        timestamp_type: TimestampType::CreateTime,
        headers,
        original: None,
    }
}

type Consumed = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
    Vec<(String, Option<Vec<u8>>)>,
);

/// Reads `n` records of the (single-partition) dead letter queue topic.
fn consume(topic: &str, n: usize) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("errant-test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} records in {topic} after 30 s",
            out.len()
        );
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.expect("consume");
        let headers = m
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            m.key().map(<[u8]>::to_vec),
            m.payload().map(<[u8]>::to_vec),
            m.timestamp().to_millis(),
            headers,
        ));
    }
    out
}

fn header<'a>(headers: &'a [(String, Option<Vec<u8>>)], key: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn reported_records_reach_the_dead_letter_queue_as_bytes_with_context_headers() {
    require_broker();
    let dlq = unique("ferry-errant-dlq");
    let reporter = reporter_for(&connector_config(&dlq, "all")).await;

    let bad_row = ConnectError::Data(DataError::Invalid("bad row".into()));
    reporter
        .report(&record(Value::String("k1".into()), 42), &bad_row)
        .await
        .expect("tolerated report");
    let unavailable = ConnectError::retriable("database unavailable");
    reporter
        .report(&record(Value::Null, 43), &unavailable)
        .await
        .expect("tolerated report");
    // Nothing is under way once `report` returned: a commit may proceed.
    reporter
        .wait_idle(Duration::from_millis(100))
        .await
        .expect("idle");
    assert!(reporter.tolerance_failure().is_none());

    let records = consume(&dlq, 2);
    let (key, value, timestamp, headers) = &records[0];
    assert_eq!(key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(value.as_deref(), Some(&br#"{"qty":5}"#[..]));
    assert_eq!(*timestamp, Some(1_700_000_000_123));
    // The record's own header, written by the configured header converter.
    assert_eq!(header(headers, "trace"), Some("7"));
    for (k, v) in [
        ("__connect.errors.topic", "orders"),
        ("__connect.errors.partition", "2"),
        ("__connect.errors.offset", "42"),
        ("__connect.errors.connector.name", "errant-test"),
        ("__connect.errors.task.id", "3"),
        ("__connect.errors.stage", "TASK_PUT"),
        (
            "__connect.errors.class.name",
            "org.apache.kafka.connect.sink.SinkTask",
        ),
        (
            "__connect.errors.exception.class.name",
            "org.apache.kafka.connect.errors.DataException",
        ),
        ("__connect.errors.exception.message", "bad row"),
    ] {
        assert_eq!(header(headers, k), Some(v), "{k} in {headers:?}");
    }
    assert!(header(headers, "__connect.errors.exception.stacktrace")
        .is_some_and(|t| t.starts_with("org.apache.kafka.connect.errors.DataException")));
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names[0], "trace", "the record's headers come first");

    let (key, value, _, headers) = &records[1];
    assert_eq!(*key, None, "a null key stays null");
    assert_eq!(value.as_deref(), Some(&br#"{"qty":5}"#[..]));
    assert_eq!(header(headers, "__connect.errors.offset"), Some("43"));
    assert_eq!(
        header(headers, "__connect.errors.exception.class.name"),
        Some("org.apache.kafka.connect.errors.RetriableException")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tolerance_none_a_report_fails_the_task_after_reaching_the_queue() {
    require_broker();
    let dlq = unique("ferry-errant-dlq-none");
    let cc = connector_config(&dlq, "none");
    let reporter = reporter_for(&cc).await;

    let bad_row = ConnectError::Data(DataError::Invalid("bad row".into()));
    let refused = reporter
        .report(&record(Value::String("k9".into()), 7), &bad_row)
        .await
        .expect_err("errors.tolerance=none refuses the report");
    assert_eq!(refused.to_string(), "Tolerance exceeded in error handler");
    // The sink task checks this after `put`, whatever the task did with
    // the error it was given.
    let failure = reporter
        .tolerance_failure()
        .expect("the task is failed by the refused report");
    assert!(matches!(failure, TaskError::Reported(..)));
    assert_eq!(
        failure.trace(),
        "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\
         Caused by: org.apache.kafka.connect.errors.DataException: bad row"
    );

    // As in Kafka Connect, the record was reported before the tolerance
    // check: it is in the dead letter queue.
    let records = consume(&dlq, 1);
    assert_eq!(records[0].0.as_deref(), Some(&b"k9"[..]));
    assert_eq!(header(&records[0].3, "__connect.errors.offset"), Some("7"));
}

#[test]
fn the_reporter_is_offered_only_with_a_dead_letter_queue_or_error_log() {
    let worker = worker();
    let build = |cc: &Props| {
        SinkErrantRecordReporter::new(
            "c",
            0,
            &ErrorPolicy::from_config(cc),
            converter(&worker, "key.converter", true, cc),
            converter(&worker, "value.converter", false, cc),
            Arc::new(HeaderConverter::simple()),
        )
    };
    assert!(build(&props(&[("errors.tolerance", "all")])).is_none());
    assert!(build(&props(&[("errors.deadletterqueue.topic.name", "  ")])).is_none());
    assert!(build(&props(&[("errors.log.enable", "true")])).is_some());
    assert!(build(&props(&[("errors.deadletterqueue.topic.name", "dlq")])).is_some());
}

#[tokio::test]
async fn a_reporter_without_a_queue_logs_and_counts_against_the_tolerance() {
    let worker = worker();
    let cc = props(&[("errors.log.enable", "true"), ("errors.tolerance", "all")]);
    let reporter = SinkErrantRecordReporter::new(
        "c",
        0,
        &ErrorPolicy::from_config(&cc),
        converter(&worker, "key.converter", true, &cc),
        converter(&worker, "value.converter", false, &cc),
        Arc::new(HeaderConverter::simple()),
    )
    .expect("offered with errors.log.enable");
    let e = ConnectError::other("boom");
    reporter
        .report(&record(Value::String("k".into()), 1), &e)
        .await
        .expect("tolerated");
    // A record the converters cannot write is an error of `report` itself.
    let mut unwritable = record(Value::String("k".into()), 2);
    unwritable.value_schema = Some(Schema::int32());
    unwritable.value = Value::String("not an int".into());
    assert!(reporter.report(&unwritable, &e).await.is_err());
}

/// A sink task that reports every record whose value is the task config's
/// `report.value` through its context's reporter; with `swallow=true` it
/// ignores what `report` returns, as a careless connector might.
struct ReportingTask {
    context: Option<Arc<SinkTaskContext>>,
    report_value: String,
    swallow: bool,
}

#[async_trait]
impl SinkTask for ReportingTask {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        self.report_value = props.get("report.value").cloned().unwrap_or_default();
        self.swallow = props.get("swallow").is_some_and(|v| v == "true");
        self.context = Some(context);
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        let reporter = self
            .context
            .as_ref()
            .and_then(|c| c.errant_record_reporter())
            .ok_or_else(|| ConnectError::other("no errant record reporter offered"))?;
        for r in &records {
            if r.value == Value::String(self.report_value.clone()) {
                let e = ConnectError::Data(DataError::Invalid(format!(
                    "cannot write offset {}",
                    r.kafka_offset
                )));
                match reporter.report(r, &e).await {
                    Err(_) if self.swallow => {}
                    other => other?,
                }
            }
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
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

fn reporting_plugin() -> PluginDescriptor {
    PluginDescriptor {
        class: "test.ReportingSinkConnector",
        aliases: &[],
        kind: ConnectorKind::Sink,
        version: "test",
        new_connector: || Box::new(NoConnector),
        new_source_task: None,
        new_sink_task: Some(|| {
            Box::new(ReportingTask {
                context: None,
                report_value: String::new(),
                swallow: false,
            })
        }),
        local_file_keys: &[],
    }
}

/// A topic with the values given, in one partition.
async fn topic_with(values: &[&str]) -> String {
    let topic = unique("ferry-errant-src");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin");
    let created = admin
        .create_topics(
            &[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topic");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("producer");
    for v in values {
        producer
            .send(
                FutureRecord::<(), str>::to(&topic).payload(v),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("produce");
    }
    topic
}

/// The offset the connector's consumer group committed on partition 0.
fn committed(group: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let offsets = consumer
        .committed_offsets(tpl, Duration::from_secs(5))
        .ok()?;
    match offsets.find_partition(topic, 0)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

async fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sink_worker() -> Worker {
    let config = WorkerConfig::new(
        props(&[
            ("bootstrap.servers", &bootstrap()),
            ("offset.storage.file.filename", "/dev/null"),
            ("offset.flush.interval.ms", "300"),
        ]),
        true,
    )
    .expect("worker config");
    let offsets = tempfile::NamedTempFile::new().expect("temp file");
    Worker {
        config,
        plugins: Arc::new(plugins()),
        offsets: Arc::new(FileOffsetStore::open(offsets.path()).expect("offset store")),
        status: Arc::new(StatusStore::new("test-worker")),
        producers: ferry_kafka::ProducerPool::new(),
    }
}

fn sink_config(name: &str, topic: &str, dlq: &str, tolerance: &str) -> Props {
    props(&[
        ("name", name),
        ("connector.class", "test.ReportingSinkConnector"),
        ("topics", topic),
        ("errors.tolerance", tolerance),
        ("errors.deadletterqueue.topic.name", dlq),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_task_commits_past_a_reported_record_only_once_it_is_in_the_queue() {
    require_broker();
    let topic = topic_with(&["a", "b", "c"]).await;
    let dlq = unique("ferry-errant-task-dlq");
    let name = unique("errant-task");
    let worker = sink_worker();
    let cc = sink_config(&name, &topic, &dlq, "all");
    let task_config = props(&[("report.value", "b")]);
    let handle = worker
        .start_task(
            &reporting_plugin(),
            &name,
            0,
            &cc,
            task_config,
            TargetState::Started,
        )
        .expect("task started");
    let group = format!("connect-{name}");
    wait_until("offset 3 committed", || {
        committed(&group, &topic).filter(|o| *o == 3)
    })
    .await;
    // Committed past "b": its report must already be in the queue.
    let records = consume(&dlq, 1);
    assert_eq!(records[0].1.as_deref(), Some(&b"b"[..]));
    assert_eq!(header(&records[0].3, "__connect.errors.offset"), Some("1"));
    assert_eq!(
        header(&records[0].3, "__connect.errors.stage"),
        Some("TASK_PUT")
    );
    assert_eq!(
        worker.status.task(&name, 0).map(|s| s.state),
        Some(State::Running)
    );
    worker.stop_tasks(&name, vec![(0, handle)]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sink_task_that_swallows_a_refused_report_fails_without_committing() {
    require_broker();
    let topic = topic_with(&["a", "b", "c"]).await;
    let dlq = unique("ferry-errant-task-dlq-none");
    let name = unique("errant-task-none");
    let worker = sink_worker();
    let cc = sink_config(&name, &topic, &dlq, "none");
    let task_config = props(&[("report.value", "b"), ("swallow", "true")]);
    let handle = worker
        .start_task(
            &reporting_plugin(),
            &name,
            0,
            &cc,
            task_config,
            TargetState::Started,
        )
        .expect("task started");
    let status = worker.status.clone();
    let failed = wait_until("the task to fail", || {
        status.task(&name, 0).filter(|s| s.state == State::Failed)
    })
    .await;
    let trace = failed.trace.unwrap_or_default();
    assert!(
        trace.starts_with(
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\n\
             Caused by: org.apache.kafka.connect.errors.DataException: cannot write offset 1"
        ),
        "{trace}"
    );
    // "b" is offset 1: an earlier batch may have committed up to it, never
    // past it.
    let committed = committed(&format!("connect-{name}"), &topic);
    assert!(
        committed.unwrap_or(0) <= 1,
        "committed {committed:?} past the refused record"
    );
    worker.stop_tasks(&name, vec![(0, handle)]).await;
}
