//! The source and sink tasks against SQLite (in-process, a real database
//! file), driven through the SDK's test kit as the runtime would drive them.

use std::path::Path;
use std::time::Duration;

use ferry_api::testkit::{props, sink_record, start_connector, SinkHarness, SourceHarness};
use ferry_api::{
    Connector, Props, Schema, SchemaBuilder, SourceRecord, Struct, TopicPartition, Value,
};

use crate::db::Pool;
use crate::url::ConnectionSpec;
use crate::{JdbcSinkTask, JdbcSourceConnector, JdbcSourceTask};

/// A SQLite database file and its JDBC URL.
fn database(dir: &Path) -> (String, Pool) {
    let path = dir.join("test.db");
    let spec = ConnectionSpec::Sqlite {
        path: path.to_string_lossy().into_owned(),
    };
    let pool = Pool::connect(&spec, 1).expect("a SQLite pool");
    (format!("jdbc:sqlite:{}", path.display()), pool)
}

async fn exec(pool: &Pool, sql: &str) {
    pool.execute(sql).await.expect(sql);
}

fn ids(records: &[SourceRecord]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| match &r.value {
            Value::Struct(s) => match s.get("id") {
                Some(Value::Int64(id)) => Some(*id),
                Some(Value::Int32(id)) => Some(i64::from(*id)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The task config the connector generates for `props`.
async fn task_config(props: Props) -> Props {
    let mut connector = JdbcSourceConnector::default();
    start_connector(&mut connector, props)
        .await
        .expect("the connector starts");
    let mut configs = connector.task_configs(1).expect("task configs");
    connector.stop().await.expect("the connector stops");
    assert_eq!(configs.len(), 1, "{configs:?}");
    configs.remove(0)
}

#[tokio::test]
async fn the_source_task_reads_new_rows_and_resumes_after_committed_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, db) = database(dir.path());
    exec(
        &db,
        "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)",
    )
    .await;
    exec(&db, "INSERT INTO items (name) VALUES ('a'), ('b'), ('c')").await;
    let config = task_config(props(&[
        ("connection.url", &url),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("topic.prefix", "lite-"),
        ("table.whitelist", "items"),
        ("poll.interval.ms", "100"),
    ]))
    .await;
    assert_eq!(config.get("tables").map(String::as_str), Some("items"));

    let mut first = SourceHarness::new(JdbcSourceTask::default());
    first.start(config.clone()).await.expect("started");
    let records = first
        .poll_records(3, Duration::from_secs(10))
        .await
        .expect("three rows");
    assert_eq!(ids(&records), [1, 2, 3]);
    assert!(records.iter().all(|r| r.topic == "lite-items"));
    // Two of them reached Kafka before the task stopped.
    first
        .acknowledge(&records[..2])
        .await
        .expect("acknowledged");
    first.commit_offsets().await.expect("committed");
    first.stop().await.expect("stopped");

    exec(&db, "INSERT INTO items (name) VALUES ('d')").await;
    let mut second =
        SourceHarness::with_offsets(JdbcSourceTask::default(), first.offsets().clone());
    second.start(config).await.expect("restarted");
    let rest = second
        .poll_records(2, Duration::from_secs(10))
        .await
        .expect("the rows after the committed one");
    assert_eq!(ids(&rest), [3, 4]);
    second.stop().await.expect("stopped");
    db.close().await;
}

#[tokio::test]
async fn the_sink_task_writes_rows_before_their_offsets_are_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, db) = database(dir.path());
    let mut sink = SinkHarness::new(JdbcSinkTask::default());
    sink.start(props(&[
        ("connection.url", &url),
        ("auto.create", "true"),
        ("insert.mode", "upsert"),
        ("pk.mode", "record_value"),
        ("pk.fields", "id"),
        ("table.name.format", "kafka_${topic}"),
    ]))
    .await
    .expect("started");
    let tp = TopicPartition::new("orders", 0);
    sink.open(std::slice::from_ref(&tp)).await.expect("opened");
    let schema = SchemaBuilder::struct_()
        .field("id", Schema::int64())
        .field("qty", Schema::int32())
        .build();
    let row = |offset: i64, id: i64, qty: i32| {
        let value = Struct::new(schema.clone())
            .and_then(|s| s.put("id", id))
            .and_then(|s| s.put("qty", qty))
            .expect("a row");
        let mut r = sink_record("orders", 0, offset, Value::Struct(value));
        r.value_schema = Some(schema.clone());
        r
    };
    sink.put(vec![row(0, 1, 5), row(1, 2, 7), row(2, 1, 6)])
        .await
        .expect("put");
    // The write may still be under way; committing waits for it.
    let committed = sink.commit().await.expect("committed");
    assert_eq!(committed.get(&tp), Some(&3));
    let Pool::Lite(lite) = &db else {
        panic!("a SQLite pool");
    };
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, qty FROM kafka_orders ORDER BY id")
        .fetch_all(lite)
        .await
        .expect("the table");
    assert_eq!(rows, [(1, 6), (2, 7)]);
    sink.stop().await.expect("stopped");
    db.close().await;
}

#[tokio::test]
async fn a_write_retrying_an_unreachable_database_gives_up_when_stopped() {
    // The first attempt waits for a connection up to the pool's acquire
    // timeout (10 s); a retry would come a minute after that.
    let mut sink = SinkHarness::new(JdbcSinkTask::default()).timeout(Duration::from_secs(40));
    sink.start(props(&[
        // Nothing listens on port 1.
        ("connection.url", "jdbc:postgresql://127.0.0.1:1/nowhere"),
        ("auto.create", "true"),
        ("max.retries", "10"),
        ("retry.backoff.ms", "60000"),
    ]))
    .await
    .expect("started");
    let schema = SchemaBuilder::struct_()
        .field("id", Schema::int64())
        .build();
    let value = Struct::new(schema.clone())
        .and_then(|s| s.put("id", 1i64))
        .expect("a row");
    let mut record = sink_record("orders", 0, 0, Value::Struct(value));
    record.value_schema = Some(schema);
    sink.put(vec![record])
        .await
        .expect("the write runs in the background");
    // Stopped before the commit: the first attempt fails at once (nothing
    // listens) and the minute-long backoff after it must end on the signal.
    sink.stop_signal().stop();
    let t0 = std::time::Instant::now();
    match sink.commit().await {
        Err(ferry_api::testkit::HarnessError::Task(e)) => {
            assert!(e.is_retriable(), "{e}");
            assert!(e.to_string().contains("Stopped while retrying"), "{e}");
        }
        other => panic!("expected the stopped write's error, got {other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_secs(25), "{:?}", t0.elapsed());
}
