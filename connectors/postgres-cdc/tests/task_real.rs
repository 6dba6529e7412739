//! The streaming task against the local PostgreSQL, driven as the runtime
//! drives it (the SDK's source harness): it creates its publication and
//! slot, streams changes as Debezium's events, tells the slot what is
//! flushed only after the offsets are committed, and, started again from
//! those offsets, sends only what came after.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_api::testkit::{props, MemoryOffsetReader, SourceHarness};
use ferry_api::{SourceRecord, Value};
use ferry_connector_postgres_cdc::task::PostgresCdcTask;
use sqlx::{Connection, Executor, PgConnection, Row};

const PG_URL: &str = "postgresql://postgres@127.0.0.1:55432/postgres";

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn exec(db: &mut PgConnection, sql: &str) {
    db.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Polls until `n` records came, or fails after 30 s.
async fn poll_until(h: &mut SourceHarness<PostgresCdcTask>, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < n {
        assert!(
            Instant::now() < deadline,
            "{n} records within 30 s, got {}",
            out.len()
        );
        out.extend(h.poll().await.expect("a poll"));
    }
    out
}

fn after_id(r: &SourceRecord) -> Option<i32> {
    let Value::Struct(envelope) = &r.value else {
        return None;
    };
    let Some(Value::Struct(after)) = envelope.get("after") else {
        return None;
    };
    match after.get("id") {
        Some(Value::Int32(id)) => Some(*id),
        _ => None,
    }
}

async fn confirmed_flush(db: &mut PgConnection, slot: &str) -> u64 {
    let row = sqlx::query(
        "SELECT (confirmed_flush_lsn - '0/0')::text FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(slot)
    .fetch_one(db)
    .await
    .expect("the slot");
    row.get::<String, _>(0).parse().expect("a number")
}

#[tokio::test]
async fn streams_commits_and_resumes_from_its_offsets() {
    let mut db = PgConnection::connect(PG_URL).await.unwrap_or_else(|e| {
        panic!("cannot connect to {PG_URL}: {e}; start it with deploy/local/up.sh")
    });
    let table = unique("cdc_task");
    let publication = unique("cdc_task_pub");
    let slot = unique("cdc_task_slot");
    let prefix = unique("shop");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY, name text)"),
    )
    .await;
    let config = props(&[
        ("topic.prefix", &prefix),
        ("database.hostname", "127.0.0.1"),
        ("database.port", "55432"),
        ("database.user", "postgres"),
        ("database.dbname", "postgres"),
        ("database.sslmode", "disable"),
        ("plugin.name", "pgoutput"),
        ("slot.name", &slot),
        ("publication.name", &publication),
        ("publication.autocreate.mode", "filtered"),
        ("table.include.list", &format!("public.{table}")),
        ("snapshot.mode", "no_data"),
        ("poll.interval.ms", "100"),
        ("status.update.interval.ms", "100"),
    ]);
    let offsets = MemoryOffsetReader::new();
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(config.clone()).await.expect("the task starts");

    exec(
        &mut db,
        &format!("INSERT INTO {table} VALUES (1, 'a'), (2, 'b')"),
    )
    .await;
    exec(
        &mut db,
        &format!("UPDATE {table} SET name = 'B' WHERE id = 2"),
    )
    .await;
    let records = poll_until(&mut h, 3).await;
    assert_eq!(
        records.iter().map(after_id).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(2)]
    );
    assert_eq!(records[0].topic, format!("{prefix}.public.{table}"));
    assert!(
        matches!(records[0].key, Value::Struct(_)),
        "keyed by the primary key"
    );
    let flushed_before = confirmed_flush(&mut db, &slot).await;

    // Acknowledged and committed: the slot moves to the last commit the
    // committed offset names, and no further.
    h.acknowledge(&records).await.expect("acknowledged");
    h.commit_offsets().await.expect("committed");
    let committed = h
        .committed_offset(&ferry_connector_postgres_cdc::offsets::partition(&prefix))
        .expect("an offset");
    let lsn_commit = committed
        .get("lsn_commit")
        .and_then(|v| v.as_u64())
        .expect("the last commit before the last record");
    let deadline = Instant::now() + Duration::from_secs(30);
    while confirmed_flush(&mut db, &slot).await < lsn_commit {
        assert!(
            Instant::now() < deadline,
            "the slot confirmed {lsn_commit} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flushed = confirmed_flush(&mut db, &slot).await;
    assert!(
        flushed > flushed_before && flushed <= lsn_commit,
        "{flushed_before} < {flushed} <= {lsn_commit}"
    );
    h.stop().await.expect("stopped");

    // Started again from the committed offsets: the last transaction (not
    // confirmed to the slot) is streamed again, but its events up to the
    // committed offset are not sent twice; the new row follows.
    exec(&mut db, &format!("INSERT INTO {table} VALUES (3, 'c')")).await;
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(config).await.expect("the task starts again");
    let records = poll_until(&mut h, 1).await;
    assert_eq!(
        records.iter().map(after_id).collect::<Vec<_>>(),
        vec![Some(3)]
    );
    h.stop().await.expect("stopped");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let active: bool =
            sqlx::query("SELECT active FROM pg_replication_slots WHERE slot_name = $1")
                .bind(&slot)
                .fetch_one(&mut db)
                .await
                .expect("the slot")
                .get(0);
        if !active {
            break;
        }
        assert!(Instant::now() < deadline, "the slot released within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    exec(
        &mut db,
        &format!("SELECT pg_drop_replication_slot('{slot}')"),
    )
    .await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}")).await;
}

/// With `heartbeat.interval.ms`, a quiet stream still sends heartbeats
/// that carry the current offset, after running
/// `heartbeat.action.query`.
#[tokio::test]
async fn heartbeats_carry_the_offset_and_run_the_action_query() {
    let mut db = PgConnection::connect(PG_URL).await.unwrap_or_else(|e| {
        panic!("cannot connect to {PG_URL}: {e}; start it with deploy/local/up.sh")
    });
    let table = unique("cdc_beat");
    let beats = unique("cdc_beats");
    let publication = unique("cdc_beat_pub");
    let slot = unique("cdc_beat_slot");
    let prefix = unique("beat");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY)"),
    )
    .await;
    exec(&mut db, &format!("CREATE TABLE {beats} (at timestamptz)")).await;
    let config = props(&[
        ("topic.prefix", &prefix),
        ("database.hostname", "127.0.0.1"),
        ("database.port", "55432"),
        ("database.user", "postgres"),
        ("database.dbname", "postgres"),
        ("database.sslmode", "disable"),
        ("plugin.name", "pgoutput"),
        ("slot.name", &slot),
        ("publication.name", &publication),
        ("publication.autocreate.mode", "filtered"),
        ("table.include.list", &format!("public.{table}")),
        ("snapshot.mode", "no_data"),
        ("poll.interval.ms", "100"),
        ("heartbeat.interval.ms", "100"),
        (
            "heartbeat.action.query",
            &format!("INSERT INTO {beats} VALUES (now())"),
        ),
        ("slot.drop.on.stop", "true"),
    ]);
    let mut h = SourceHarness::new(PostgresCdcTask::default());
    h.start(config).await.expect("the task starts");
    exec(&mut db, &format!("INSERT INTO {table} VALUES (1)")).await;
    let heartbeat_topic = format!("__debezium-heartbeat.{prefix}");
    let mut change_lsn = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    let heartbeat = 'found: loop {
        assert!(
            Instant::now() < deadline,
            "a heartbeat after the change within 30 s; topics seen: {seen:?}"
        );
        for r in h.poll().await.expect("a poll") {
            seen.push(r.topic.clone());
            if r.topic != heartbeat_topic {
                change_lsn = r.source_offset.get("lsn_proc").and_then(|v| v.as_u64());
            } else if change_lsn.is_some() {
                break 'found r;
            }
        }
    };
    assert_eq!(
        heartbeat.key_schema.as_ref().and_then(|s| s.name()),
        Some("io.debezium.connector.common.ServerNameKey")
    );
    assert_eq!(
        heartbeat.value_schema.as_ref().and_then(|s| s.name()),
        Some("io.debezium.connector.common.Heartbeat")
    );
    assert_eq!(heartbeat.kafka_partition, Some(0));
    let beat_lsn = heartbeat
        .source_offset
        .get("lsn_proc")
        .and_then(|v| v.as_u64());
    assert!(
        beat_lsn >= change_lsn,
        "the heartbeat carries the offset past the change"
    );
    let ran: i64 = sqlx::query(&format!("SELECT count(*) FROM {beats}"))
        .fetch_one(&mut db)
        .await
        .expect("the heartbeat table")
        .get(0);
    assert!(ran > 0, "heartbeat.action.query ran");
    h.stop().await.expect("stopped");
    // slot.drop.on.stop: gone once the task stopped.
    let left: i64 = sqlx::query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1")
        .bind(&slot)
        .fetch_one(&mut db)
        .await
        .expect("the slots")
        .get(0);
    assert_eq!(left, 0, "the slot was dropped on stop");
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}, {beats}")).await;
}
