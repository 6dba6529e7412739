//! The streaming task against the local PostgreSQL, driven as the runtime
//! drives it (the SDK's source harness): it creates its publication and
//! slot, streams changes as Debezium's events, tells the slot what is
//! flushed only after the offsets are committed, and, started again from
//! those offsets, sends only what came after.

use std::time::{Duration, Instant};

use ferry_api::testkit::{props, MemoryOffsetReader, SourceHarness};
use ferry_api::{SourceRecord, Value};
use ferry_connector_postgres_cdc::task::PostgresCdcTask;
use sqlx::{PgConnection, Row};

mod support;

use support::{exec, slot_state, Deadline};

/// The task's configuration for `table` only, streaming without a
/// snapshot, with quick polls and status updates.
fn task_config(
    prefix: &str,
    slot: &str,
    publication: &str,
    table: &str,
    extra: &[(&str, &str)],
) -> ferry_api::Props {
    let include = format!("public.{table}");
    let mut pairs = vec![
        ("topic.prefix", prefix),
        ("database.hostname", "127.0.0.1"),
        ("database.port", "55432"),
        ("database.user", "postgres"),
        ("database.dbname", "postgres"),
        ("database.sslmode", "disable"),
        ("plugin.name", "pgoutput"),
        ("slot.name", slot),
        ("publication.name", publication),
        ("publication.autocreate.mode", "filtered"),
        ("table.include.list", include.as_str()),
        ("snapshot.mode", "no_data"),
        ("poll.interval.ms", "100"),
        ("status.update.interval.ms", "100"),
    ];
    pairs.extend_from_slice(extra);
    props(&pairs)
}

/// Polls until `n` records came, or fails after 30 s.
async fn poll_until(h: &mut SourceHarness<PostgresCdcTask>, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    let mut deadline = Deadline::new(format!("{n} records"), Duration::from_secs(30));
    while out.len() < n {
        deadline.next().await;
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
    slot_state(db, slot).await.0
}

#[tokio::test]
async fn streams_commits_and_resumes_from_its_offsets() {
    let mut db = support::connect().await;
    let table = support::unique("cdc_task");
    let publication = support::unique("cdc_task_pub");
    let slot = support::unique("cdc_task_slot");
    let prefix = support::unique("shop");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY, name text)"),
    )
    .await;
    let config = task_config(&prefix, &slot, &publication, &table, &[]);
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
    let mut deadline = Deadline::new(
        format!("the slot to confirm {lsn_commit}"),
        Duration::from_secs(30),
    );
    while confirmed_flush(&mut db, &slot).await < lsn_commit {
        deadline.next().await;
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

    support::drop_slot(&mut db, &slot).await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}")).await;
}

/// With `heartbeat.interval.ms`, a quiet stream still sends heartbeats
/// that carry the current offset, after running
/// `heartbeat.action.query`.
#[tokio::test]
async fn heartbeats_carry_the_offset_and_run_the_action_query() {
    let mut db = support::connect().await;
    let table = support::unique("cdc_beat");
    let beats = support::unique("cdc_beats");
    let publication = support::unique("cdc_beat_pub");
    let slot = support::unique("cdc_beat_slot");
    let prefix = support::unique("beat");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY)"),
    )
    .await;
    exec(&mut db, &format!("CREATE TABLE {beats} (at timestamptz)")).await;
    let action = format!("INSERT INTO {beats} VALUES (now())");
    let config = task_config(
        &prefix,
        &slot,
        &publication,
        &table,
        &[
            ("heartbeat.interval.ms", "100"),
            ("heartbeat.action.query", action.as_str()),
            ("slot.drop.on.stop", "true"),
        ],
    );
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
