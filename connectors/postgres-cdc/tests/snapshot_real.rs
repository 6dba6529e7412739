//! Snapshots against the local PostgreSQL, driven as the runtime drives a
//! task: every captured table read in name order as `r` events with
//! Debezium's markers and offsets, the changes made while the snapshot
//! runs streamed after it (the slot's exported snapshot), no second
//! snapshot once one completed, a snapshot cut short taken again, and
//! `initial_only` reading without a slot.

use std::time::Duration;

use ferry_api::testkit::{props, MemoryOffsetReader, SourceHarness};
use ferry_api::{Props, SourceRecord, Value};
use ferry_connector_postgres_cdc::offsets::partition;
use ferry_connector_postgres_cdc::task::PostgresCdcTask;
use sqlx::Row;

mod support;

use support::{exec, Deadline};

/// The task's configuration for the tables whose names start with
/// `base`, reading `fetch` rows at a time.
fn config(
    prefix: &str,
    slot: &str,
    publication: &str,
    base: &str,
    extra: &[(&str, &str)],
) -> Props {
    let include = format!("public\\.{base}_.*");
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
        ("snapshot.fetch.size", "2"),
        ("poll.interval.ms", "100"),
        ("status.update.interval.ms", "100"),
    ];
    pairs.extend_from_slice(extra);
    props(&pairs)
}

async fn poll_until(h: &mut SourceHarness<PostgresCdcTask>, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    let mut deadline = Deadline::new(format!("{n} records"), Duration::from_secs(30));
    while out.len() < n {
        deadline.next().await;
        out.extend(h.poll().await.expect("a poll"));
    }
    out
}

fn envelope(r: &SourceRecord) -> &ferry_api::Struct {
    match &r.value {
        Value::Struct(e) => e,
        other => panic!("an envelope, not {other:?}"),
    }
}

/// `(table, id, op, source.snapshot)` of a change event.
fn summary(r: &SourceRecord) -> (String, i32, String, String) {
    let e = envelope(r);
    let text = |s: &ferry_api::Struct, f: &str| match s.get(f) {
        Some(Value::String(v)) => v.clone(),
        _ => String::new(),
    };
    let Some(Value::Struct(source)) = e.get("source") else {
        panic!("a source block");
    };
    let Some(Value::Struct(after)) = e.get("after") else {
        panic!("an after row");
    };
    let Some(Value::Int32(id)) = after.get("id") else {
        panic!("an id");
    };
    // source.snapshot is left to its default ("false") when not a snapshot.
    let marker = match source.get("snapshot") {
        Some(Value::String(m)) => m.clone(),
        _ => "false".into(),
    };
    (text(source, "table"), *id, text(e, "op"), marker)
}

fn offset_flag(r: &SourceRecord, key: &str) -> Option<bool> {
    r.source_offset.get(key).and_then(|v| v.as_bool())
}

async fn consistent_point(db: &mut sqlx::PgConnection, slot: &str) -> u64 {
    support::slot_state(db, slot).await.0
}

#[tokio::test]
async fn an_initial_snapshot_reads_every_table_in_order_then_streams() {
    let mut db = support::connect().await;
    let base = support::unique("snap");
    let slot = support::unique("snap_slot");
    let publication = support::unique("snap_pub");
    let prefix = support::unique("inv");
    // Named so that their order differs from their creation's: c (3 rows,
    // more than a fetch), b (empty), a (2 rows, one whole fetch).
    for (t, rows) in [
        ("c", "(1, 'x'), (2, 'y'), (3, 'z')"),
        ("b", ""),
        ("a", "(1, 'p'), (2, 'q')"),
    ] {
        exec(
            &mut db,
            &format!("CREATE TABLE {base}_{t} (id int PRIMARY KEY, name text)"),
        )
        .await;
        if !rows.is_empty() {
            exec(&mut db, &format!("INSERT INTO {base}_{t} VALUES {rows}")).await;
        }
    }
    let config = config(&prefix, &slot, &publication, &base, &[]);
    let offsets = MemoryOffsetReader::new();
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(config.clone()).await.expect("the task starts");
    // After the start, before the snapshot is read: not in the snapshot,
    // streamed after it.
    exec(&mut db, &format!("INSERT INTO {base}_a VALUES (3, 'r')")).await;

    let records = poll_until(&mut h, 6).await;
    let a = format!("{base}_a");
    let c = format!("{base}_c");
    let got: Vec<_> = records.iter().map(summary).collect();
    let want = |t: &str, id, op: &str, m: &str| (t.to_owned(), id, op.to_owned(), m.to_owned());
    assert_eq!(
        got,
        vec![
            want(&a, 1, "r", "first"),
            want(&a, 2, "r", "last_in_data_collection"),
            want(&c, 1, "r", "first_in_data_collection"),
            want(&c, 2, "r", "true"),
            want(&c, 3, "r", "last"),
            want(&a, 3, "c", "false"),
        ]
    );
    // Snapshot offsets: the slot's consistent point, the snapshot's
    // transaction, "running" until the last record says "completed".
    let point = consistent_point(&mut db, &slot).await;
    for (i, r) in records[..5].iter().enumerate() {
        let last = i == 4;
        assert_eq!(
            r.source_offset.get("snapshot").and_then(|v| v.as_str()),
            Some("INITIAL")
        );
        assert_eq!(
            offset_flag(r, "last_snapshot_record"),
            Some(last),
            "record {i}"
        );
        assert_eq!(
            offset_flag(r, "snapshot_completed"),
            Some(last),
            "record {i}"
        );
        let lsn = r
            .source_offset
            .get("lsn")
            .and_then(|v| v.as_u64())
            .expect("an lsn");
        assert!(
            lsn <= point,
            "the snapshot's position {lsn} is the slot's start, at most {point}"
        );
        assert!(r.source_offset.contains_key("txId") && r.source_offset.contains_key("ts_usec"));
        assert!(
            !r.source_offset.contains_key("lsn_proc"),
            "no streamed position yet"
        );
        let Some(Value::Struct(source)) = envelope(r).get("source") else {
            panic!("a source block");
        };
        assert_eq!(source.get("lsn"), Some(&Value::Int64(lsn as i64)));
        assert!(
            matches!(r.key, Value::Struct(_)),
            "keyed by the primary key"
        );
    }
    assert_eq!(records[0].topic, format!("{prefix}.public.{a}"));
    assert!(
        !records[5].source_offset.contains_key("snapshot"),
        "streaming"
    );

    // Committed and started again: no second snapshot, only what is new.
    h.acknowledge(&records).await.expect("acknowledged");
    h.commit_offsets().await.expect("committed");
    assert!(h.committed_offset(&partition(&prefix)).is_some());
    h.stop().await.expect("stopped");
    exec(&mut db, &format!("INSERT INTO {base}_c VALUES (4, 'w')")).await;
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(config).await.expect("the task starts again");
    let records = poll_until(&mut h, 1).await;
    assert_eq!(
        records.iter().map(summary).collect::<Vec<_>>(),
        vec![want(&c, 4, "c", "false")]
    );
    h.stop().await.expect("stopped");

    support::drop_slot(&mut db, &slot).await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {base}_a, {base}_b, {base}_c")).await;
}

#[tokio::test]
async fn a_snapshot_cut_short_is_taken_again_and_initial_only_needs_no_slot() {
    let mut db = support::connect().await;
    let base = support::unique("resnap");
    let slot = support::unique("resnap_slot");
    let publication = support::unique("resnap_pub");
    let prefix = support::unique("re");
    exec(
        &mut db,
        &format!("CREATE TABLE {base}_t (id int PRIMARY KEY)"),
    )
    .await;
    exec(
        &mut db,
        &format!("INSERT INTO {base}_t SELECT generate_series(1, 5)"),
    )
    .await;

    // One record per poll; stopped after the first two were committed.
    let cut = config(
        &prefix,
        &slot,
        &publication,
        &base,
        &[("max.batch.size", "1")],
    );
    let offsets = MemoryOffsetReader::new();
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(cut.clone()).await.expect("the task starts");
    let first = poll_until(&mut h, 2).await;
    h.acknowledge(&first).await.expect("acknowledged");
    h.commit_offsets().await.expect("committed");
    h.stop().await.expect("stopped");
    let stored = h.committed_offset(&partition(&prefix)).expect("an offset");
    assert_eq!(
        stored.get("snapshot").and_then(|v| v.as_str()),
        Some("INITIAL")
    );

    // The slot exists now: the new snapshot reads in a transaction of its
    // own, from the start, and ends complete.
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(cut).await.expect("the task starts again");
    let again = poll_until(&mut h, 5).await;
    let ids: Vec<i32> = again.iter().map(|r| summary(r).1).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(offset_flag(&again[4], "snapshot_completed"), Some(true));
    h.stop().await.expect("stopped");
    support::drop_slot(&mut db, &slot).await;

    // initial_only: the snapshot, and no slot.
    let only_slot = support::unique("resnap_only");
    let only = config(
        &support::unique("only"),
        &only_slot,
        &publication,
        &base,
        &[("snapshot.mode", "initial_only")],
    );
    let mut h = SourceHarness::new(PostgresCdcTask::default());
    h.start(only).await.expect("the task starts");
    let read = poll_until(&mut h, 5).await;
    assert_eq!(
        read.iter().map(|r| summary(r).2).collect::<Vec<_>>(),
        vec!["r"; 5]
    );
    assert!(
        h.poll().await.expect("a poll").is_empty(),
        "nothing after the snapshot"
    );
    h.stop().await.expect("stopped");
    let slots: i64 = sqlx::query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1")
        .bind(&only_slot)
        .fetch_one(&mut db)
        .await
        .expect("the slots")
        .get(0);
    assert_eq!(slots, 0, "initial_only creates no slot");

    exec(
        &mut db,
        &format!("DROP PUBLICATION IF EXISTS {publication}"),
    )
    .await;
    exec(&mut db, &format!("DROP TABLE {base}_t")).await;
}

#[tokio::test]
async fn excluded_columns_are_left_out_and_a_lost_position_is_refused_unless_when_needed() {
    let mut db = support::connect().await;
    let base = support::unique("cols");
    let slot = support::unique("cols_slot");
    let publication = support::unique("cols_pub");
    let prefix = support::unique("cols");
    let table = format!("{base}_t");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY, name text, secret text)"),
    )
    .await;
    exec(
        &mut db,
        &format!("INSERT INTO {table} VALUES (1, 'a', 's1')"),
    )
    .await;
    let exclude = format!("public\\.{table}\\.SECRET");
    let keys = format!("public\\.{table}:name,id");
    let config = config(
        &prefix,
        &slot,
        &publication,
        &base,
        &[
            ("column.exclude.list", exclude.as_str()),
            ("message.key.columns", keys.as_str()),
        ],
    );
    let offsets = MemoryOffsetReader::new();
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(config.clone()).await.expect("the task starts");
    exec(
        &mut db,
        &format!("INSERT INTO {table} VALUES (2, 'b', 's2')"),
    )
    .await;
    let records = poll_until(&mut h, 2).await;
    for r in &records {
        let Some(Value::Struct(after)) = envelope(r).get("after") else {
            panic!("an after row");
        };
        let fields: Vec<&str> = after
            .schema()
            .fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            fields,
            vec!["id", "name"],
            "secret left out (matched in any case)"
        );
        let Value::Struct(key) = &r.key else {
            panic!("a key");
        };
        let key_fields: Vec<&str> = key
            .schema()
            .fields()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            key_fields,
            vec!["name", "id"],
            "message.key.columns, in its order"
        );
    }
    assert_eq!(
        records.iter().map(|r| summary(r).2).collect::<Vec<_>>(),
        vec!["r", "c"]
    );
    h.acknowledge(&records).await.expect("acknowledged");
    h.commit_offsets().await.expect("committed");
    h.stop().await.expect("stopped");

    // The slot is gone: the stored position cannot be streamed from.
    support::drop_slot(&mut db, &slot).await;
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    let refused = h.start(config.clone()).await.expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("no longer available on the server"),
        "{refused}"
    );
    // when_needed snapshots instead, and streams after.
    let mut when_needed = config;
    when_needed.insert("snapshot.mode".into(), "when_needed".into());
    let mut h = SourceHarness::with_offsets(PostgresCdcTask::default(), offsets.clone());
    h.start(when_needed).await.expect("the task starts");
    let again = poll_until(&mut h, 2).await;
    assert_eq!(
        again
            .iter()
            .map(|r| (summary(r).1, summary(r).2))
            .collect::<Vec<_>>(),
        vec![(1, "r".to_owned()), (2, "r".to_owned())]
    );
    h.stop().await.expect("stopped");

    support::drop_slot(&mut db, &slot).await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}")).await;
}
