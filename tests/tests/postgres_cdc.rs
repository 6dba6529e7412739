//! Change data capture through the worker: a standalone Ferry runs
//! `io.debezium.connector.postgresql.PostgresConnector` against the local
//! PostgreSQL and Kafka. The table's rows arrive as a snapshot, its
//! changes as Debezium's events; the worker SIGKILLed and started again
//! loses no change, and repeats only what came after its last committed
//! offset.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;
use serde_json::Value as Json;

const WAIT: Duration = Duration::from_secs(60);

/// `(op, id)` of each change event among `records` (tombstones left out).
fn ops(records: &[Consumed]) -> Vec<(String, i64)> {
    records
        .iter()
        .filter_map(|r| r.value.as_deref())
        .map(|v| {
            let event: Json = serde_json::from_slice(v).expect("a JSON event");
            let payload = &event["payload"];
            let row = if payload["op"] == "d" {
                &payload["before"]
            } else {
                &payload["after"]
            };
            (
                payload["op"].as_str().unwrap_or_default().to_owned(),
                row["id"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn connector_settings(
    name: &str,
    prefix: &str,
    slot: &str,
    publication: &str,
    include: &str,
) -> CdcSettings {
    CdcSettings::new(prefix, slot, publication, include)
        .set("name", name)
        .set("status.update.interval.ms", "200")
}

#[test]
fn a_table_is_snapshotted_streamed_and_survives_a_kill() {
    require_kafka();
    let db = Db::postgres();
    let table = unique("cdc_e2e").replace('-', "_");
    let slot = unique("cdc_e2e_slot").replace('-', "_");
    let publication = unique("cdc_e2e_pub").replace('-', "_");
    let prefix = unique("cdc");
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2))"
    ));
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, 100) g"
    ));
    let include = format!("public.{table}");
    let name = unique("cdc-e2e");
    let dir = tempfile::tempdir().expect("a directory");
    // Fetches of 30 rows taken by polls of 7: rows are turned into events
    // across both boundaries.
    let props = connector_settings(&name, &prefix, &slot, &publication, &include)
        .set("snapshot.fetch.size", "30")
        .set("max.batch.size", "7");
    let connector = write_connector(dir.path(), "cdc", &props.pairs());
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(std::slice::from_ref(&connector));
    let topic = format!("{prefix}.public.{table}");

    // The snapshot, with the schema the JsonConverter writes for it.
    let snapshot = consume_records(&topic, 100, WAIT);
    assert_eq!(snapshot.len(), 100, "every row of the snapshot");
    let first: Json =
        serde_json::from_slice(snapshot[0].value.as_deref().expect("a value")).expect("JSON");
    assert_eq!(first["schema"]["name"], format!("{topic}.Envelope"));
    assert_eq!(first["payload"]["op"], "r");
    assert_eq!(first["payload"]["source"]["snapshot"], "first");
    assert_eq!(first["payload"]["source"]["connector"], "postgresql");
    assert_eq!(first["payload"]["after"]["name"], "row 1");
    let marker = |r: &Consumed| -> Json {
        let v: Json = serde_json::from_slice(r.value.as_deref().expect("a value")).expect("JSON");
        v["payload"]["source"]["snapshot"].clone()
    };
    assert_eq!(marker(&snapshot[1]), "true");
    assert_eq!(marker(&snapshot[99]), "last");
    assert_eq!(
        ops(&snapshot),
        (1..=100).map(|i| ("r".to_owned(), i)).collect::<Vec<_>>()
    );

    // Streamed changes, a delete followed by its tombstone.
    db.exec(&format!("INSERT INTO {table} VALUES (101, 'new', 1)"));
    db.exec(&format!("UPDATE {table} SET name = 'changed' WHERE id = 5"));
    db.exec(&format!("DELETE FROM {table} WHERE id = 6"));
    let all = consume_records(&topic, 104, WAIT);
    assert_eq!(
        ops(&all[100..]),
        vec![
            ("c".to_owned(), 101),
            ("u".to_owned(), 5),
            ("d".to_owned(), 6)
        ],
        "worker log:\n{}",
        worker.log_text()
    );
    assert_eq!(all[103].value, None, "a tombstone after the delete");
    // The old row of a delete holds the key only (REPLICA IDENTITY
    // DEFAULT): a required column gets Debezium's fallback, an optional
    // one null.
    let delete: Json =
        serde_json::from_slice(all[102].value.as_deref().expect("the delete")).expect("JSON");
    assert_eq!(delete["payload"]["before"]["name"], "");
    assert_eq!(delete["payload"]["before"]["price"], Json::Null);

    // Killed while changes keep coming; started again, every change is
    // there, and an id repeats only for changes after the last commit.
    for batch in 0..5 {
        let from = 200 + batch * 20;
        db.exec(&format!(
            "INSERT INTO {table} SELECT g, 'load', 0 FROM generate_series({from}, {}) g",
            from + 19
        ));
    }
    wait_for("part of the load in Kafka", WAIT, || {
        (consume_records(&topic, 110, Duration::from_secs(5)).len() >= 110).then_some(())
    });
    // A streamed position committed (the offsets file holds the JSON
    // bytes of each offset), so the restart resumes rather than snapshots.
    let offsets = dir.path().join("offsets");
    wait_for("a streamed offset to be committed", WAIT, || {
        let bytes = std::fs::read(&offsets).ok()?;
        bytes
            .windows(b"lsn_proc".len())
            .any(|w| w == b"lsn_proc")
            .then_some(())
    });
    worker.kill();
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'after', 0 FROM generate_series(400, 409) g"
    ));
    worker.start(std::slice::from_ref(&connector));
    // 104 before the load, 100 of the load, 10 after; duplicates on top.
    // Checked every 5 s (a read of the whole topic), at most 10 times.
    let expected_ids: Vec<i64> = (200..300).chain(400..410).collect();
    let mut checks = 0;
    let records = wait_for("every change after the restart", WAIT, || {
        checks += 1;
        assert!(
            worker.is_running() && checks < 10,
            "the changes after the restart; worker log:\n{}",
            worker.log_text()
        );
        // Everything there is: duplicates may follow the 214th.
        let records = consume_records(&topic, usize::MAX, Duration::from_secs(5));
        let created: BTreeMap<i64, usize> = ops(&records[104.min(records.len())..])
            .into_iter()
            .filter(|(op, _)| op == "c")
            .fold(BTreeMap::new(), |mut m, (_, id)| {
                *m.entry(id).or_default() += 1;
                m
            });
        expected_ids
            .iter()
            .all(|id| created.contains_key(id))
            .then_some(records)
    });
    // Nothing from before the kill's last commit came twice: the snapshot
    // is not taken again.
    let snapshots = ops(&records).iter().filter(|(op, _)| op == "r").count();
    assert_eq!(snapshots, 100, "no second snapshot");
    worker.terminate();

    // The slot is still there, holding the task's position.
    let slots = db.query_text(&format!(
        "SELECT active::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ));
    assert_eq!(slots.len(), 1, "the slot survives the worker");
    db.drop_cdc(&slot, &publication, &table);
}

#[test]
fn heartbeats_go_out_while_streaming_and_pause_while_a_snapshot_runs() {
    require_kafka();
    let db = Db::postgres();
    let table = unique("cdc_beat").replace('-', "_");
    let beats = unique("cdc_beats").replace('-', "_");
    let slot = unique("cdc_beat_slot").replace('-', "_");
    let publication = unique("cdc_beat_pub").replace('-', "_");
    let prefix = unique("cdcbeat");
    let rows = 5_000;
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL)"
    ));
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'row ' || g FROM generate_series(1, {rows}) g"
    ));
    db.exec(&format!("CREATE TABLE {beats} (n serial PRIMARY KEY)"));
    let include = format!("public.{table}");
    let name = unique("cdc-beat");
    let action = format!("INSERT INTO {beats} DEFAULT VALUES");
    let dir = tempfile::tempdir().expect("a directory");
    let connector = |mode: &str| {
        let props = connector_settings(&name, &prefix, &slot, &publication, &include).set_all(&[
            ("snapshot.mode", mode),
            ("snapshot.fetch.size", "500"),
            ("max.batch.size", "100"),
            ("heartbeat.interval.ms", "100"),
            ("heartbeat.action.query", action.as_str()),
        ]);
        write_connector(dir.path(), "cdc", &props.pairs())
    };
    let topic = format!("{prefix}.public.{table}");
    let heartbeat_topic = format!("__debezium-heartbeat.{prefix}");
    let payload = |r: &Consumed| -> Json {
        serde_json::from_slice::<Json>(r.value.as_deref().expect("a value")).expect("JSON")
            ["payload"]
            .clone()
    };

    // The snapshot, then a change streamed; heartbeats meanwhile.
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[connector("initial")]);
    consume_records(&topic, rows, WAIT);
    db.exec(&format!("UPDATE {table} SET name = 'changed' WHERE id = 1"));
    let beat = wait_for("heartbeats while streaming", WAIT, || {
        assert!(worker.is_running(), "{}", worker.log_text());
        consume_records(&heartbeat_topic, usize::MAX, Duration::from_secs(1))
            .into_iter()
            .next()
    });
    let key: Json = serde_json::from_slice(beat.key.as_deref().expect("a key")).expect("JSON");
    assert_eq!(
        key["schema"]["name"],
        "io.debezium.connector.common.ServerNameKey"
    );
    assert_eq!(key["payload"]["serverName"], prefix.as_str());
    let value: Json =
        serde_json::from_slice(beat.value.as_deref().expect("a value")).expect("JSON");
    assert_eq!(
        value["schema"]["name"],
        "io.debezium.connector.common.Heartbeat"
    );
    assert!(value["payload"]["ts_ms"].as_i64().is_some());
    let ran: i64 = db.query_text(&format!("SELECT count(*)::text FROM {beats}"))[0][0]
        .parse()
        .expect("a count");
    assert!(ran >= 1, "heartbeat.action.query ran");
    assert!(worker.terminate().success(), "{}", worker.log_text());

    // Started again with snapshot.mode=always: a stored offset exists, and
    // no heartbeat (which would carry it) goes out until the snapshot's
    // last record has.
    let before = record_count(&heartbeat_topic);
    worker.start(&[connector("always")]);
    // The first snapshot, the change (and its tombstone-free update),
    // the second snapshot.
    let expected = 2 * rows + 1;
    wait_for("the second snapshot", WAIT, || {
        assert!(worker.is_running(), "{}", worker.log_text());
        (record_count(&topic) >= expected as i64).then_some(())
    });
    let again = consume_records(&topic, expected, WAIT);
    let last = again
        .iter()
        .filter(|r| r.value.is_some())
        .map(payload)
        .rfind(|p| p["op"] == "r")
        .expect("the second snapshot's last record");
    assert_eq!(last["source"]["snapshot"], "last");
    wait_for("a heartbeat after the snapshot", WAIT, || {
        (record_count(&heartbeat_topic) > before).then_some(())
    });
    let beats_after: Vec<i64> =
        consume_records(&heartbeat_topic, usize::MAX, Duration::from_secs(1))[before as usize..]
            .iter()
            .filter_map(|r| payload(r)["ts_ms"].as_i64())
            .collect();
    let snapshot_end = last["ts_ms"].as_i64().expect("ts_ms");
    assert!(
        beats_after.iter().all(|ts| *ts >= snapshot_end),
        "no heartbeat before the snapshot's end ({snapshot_end}): {beats_after:?}"
    );
    assert!(worker.terminate().success(), "{}", worker.log_text());
    db.drop_cdc(&slot, &publication, &format!("{table}, {beats}"));
}

/// `(snapshot marker, id)` of each read event among `records`.
fn reads(records: &[Consumed]) -> Vec<(String, i64)> {
    records
        .iter()
        .filter_map(|r| r.value.as_deref())
        .map(|v| serde_json::from_slice::<Json>(v).expect("a JSON event"))
        .filter(|e| e["payload"]["op"] == "r")
        .map(|e| {
            let p = &e["payload"];
            (
                p["source"]["snapshot"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["after"]["id"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[test]
fn a_snapshot_read_by_several_connections_has_every_row_once_and_sequential_markers() {
    require_kafka();
    let db = Db::postgres();
    let base = unique("cdc_par").replace('-', "_");
    let slot = format!("{base}_slot");
    let publication = format!("{base}_pub");
    let prefix = unique("cdcpar");
    // a: an int key, split into 3 x 2 chunks; b: a composite text/int key,
    // rows inserted out of key order; c: no key, one chunk; d: empty.
    let (a, b, c, d) = (
        format!("{base}_a"),
        format!("{base}_b"),
        format!("{base}_c"),
        format!("{base}_d"),
    );
    db.exec(&format!(
        "CREATE TABLE {a} (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO {a} SELECT g, 'a ' || g FROM generate_series(1, 1000) g; \
         CREATE TABLE {b} (region text, id int, PRIMARY KEY (region, id)); \
         INSERT INTO {b} SELECT 'r' || (g % 7), g FROM generate_series(500, 1, -1) g; \
         CREATE TABLE {c} (id int, note text); \
         INSERT INTO {c} SELECT g, 'c' FROM generate_series(1, 50) g; \
         CREATE TABLE {d} (id int PRIMARY KEY)"
    ));
    let name = unique("cdc-par");
    let dir = tempfile::tempdir().expect("a directory");
    let props = connector_settings(
        &name,
        &prefix,
        &slot,
        &publication,
        &format!("public\\.{base}_.*"),
    )
    .set("snapshot.max.threads", "3")
    .set("snapshot.max.threads.multiplier", "2")
    .set("snapshot.fetch.size", "37")
    .set("max.batch.size", "50");
    let connector = write_connector(dir.path(), "cdc", &props.pairs());
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(std::slice::from_ref(&connector));
    let topic = |t: &str| format!("{prefix}.public.{t}");

    // Every row once; the markers a sequential snapshot gives: the first
    // table's first row `first`, the last row of the last table with rows
    // `last`, each table's first and last rows.
    let check = |t: &str, rows: usize, first: &str, last: &str| {
        let records = consume_records(&topic(t), rows, WAIT);
        let read = reads(&records);
        assert_eq!(read.len(), rows, "{t}; worker log:\n{}", worker.log_text());
        let mut ids: Vec<i64> = read.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), rows, "{t}: every row once");
        assert_eq!(read[0].0, first, "{t}: the first row's marker");
        assert_eq!(read[rows - 1].0, last, "{t}: the last row's marker");
        assert!(
            read[1..rows - 1].iter().all(|(m, _)| m == "true"),
            "{t}: the markers between"
        );
        read
    };
    let read_a = check(&a, 1000, "first", "last_in_data_collection");
    check(
        &b,
        500,
        "first_in_data_collection",
        "last_in_data_collection",
    );
    check(&c, 50, "first_in_data_collection", "last");
    // In key order chunk after chunk: the first table was split.
    assert_eq!(read_a[0].1, 1, "a's first chunk first");
    assert!(
        worker.log_text().contains("table split into chunks"),
        "the snapshot was read in chunks; worker log:\n{}",
        worker.log_text()
    );
    // Streaming follows.
    db.exec(&format!("INSERT INTO {a} VALUES (1001, 'new')"));
    let records = consume_records(&topic(&a), 1001, WAIT);
    assert_eq!(ops(&records[1000..]), vec![("c".to_owned(), 1001)]);
    worker.terminate();

    // Taken again (`always`): a view of its own, exported to the other
    // connections.
    let connector = write_connector(
        dir.path(),
        "cdc",
        &props.set("snapshot.mode", "always").pairs(),
    );
    worker.start(std::slice::from_ref(&connector));
    let records = consume_records(&topic(&a), 2002, WAIT);
    let again = reads(&records[1001..]);
    let mut ids: Vec<i64> = again.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=1001).collect::<Vec<_>>(),
        "worker log:\n{}",
        worker.log_text()
    );
    worker.terminate();
    db.drop_cdc(&slot, &publication, &format!("{a}, {b}, {c}, {d}"));
}
