//! Incremental snapshots on request through the signal table, as
//! Debezium's: a standalone Ferry streams a table whose rows were never
//! snapshotted (`snapshot.mode=no_data`); an `execute-snapshot` signal has
//! them read in chunks while a concurrent load updates, deletes and
//! inserts rows. Replaying the topic in order must give the table as it
//! is: a snapshot row never overtakes a newer streamed change. A worker
//! SIGKILLed mid-snapshot goes on from the last row it committed.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;
use serde_json::Value as Json;

const WAIT: Duration = Duration::from_secs(90);

struct Setup {
    prefix: String,
    db: Db,
    table: String,
    signal: String,
    topic: String,
    signal_topic: String,
    connector: std::path::PathBuf,
    dir: tempfile::TempDir,
}

fn setup(rows: i64, chunk: &str) -> Setup {
    setup_with(rows, chunk, &[])
}

fn setup_with(rows: i64, chunk: &str, extra: &[(&str, &str)]) -> Setup {
    require_kafka();
    let db = Db::postgres();
    let table = unique("cdc_inc").replace('-', "_");
    let signal = unique("cdc_inc_signal").replace('-', "_");
    let slot = unique("cdc_inc_slot").replace('-', "_");
    let publication = unique("cdc_inc_pub").replace('-', "_");
    let prefix = unique("cdcinc");
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)"
    ));
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'row ' || g, 0 FROM generate_series(1, {rows}) g"
    ));
    db.exec(&format!(
        "CREATE TABLE {signal} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
    ));
    let include = format!("public.{table}");
    let signal_id = format!("public.{signal}");
    let name = unique("cdc-inc");
    let dir = tempfile::tempdir().expect("a directory");
    let props = CdcSettings::new(&prefix, &slot, &publication, &include)
        .set("name", name.as_str())
        .set("snapshot.mode", "no_data")
        .set("signal.data.collection", signal_id.as_str())
        .set("incremental.snapshot.chunk.size", chunk)
        .set_all(extra);
    let connector = write_connector(dir.path(), "cdc", &props.pairs());
    Setup {
        prefix: prefix.clone(),
        topic: format!("{prefix}.public.{table}"),
        signal_topic: format!("{prefix}.public.{signal}"),
        db,
        table,
        signal,
        connector,
        dir,
    }
}

/// The change events of a topic, in order: `(op, id, row)`, the row
/// `None` for a delete; tombstones left out.
fn events(topic: &str) -> Vec<(String, i64, Option<Json>, String)> {
    let n = usize::try_from(record_count(topic)).unwrap_or(0);
    consume_records(topic, n, WAIT)
        .iter()
        .filter_map(|r| r.value.as_deref())
        .map(|v| {
            let event: Json = serde_json::from_slice(v).expect("a JSON event");
            let p = &event["payload"];
            let op = p["op"].as_str().unwrap_or_default().to_owned();
            let row = if op == "d" { &p["before"] } else { &p["after"] };
            (
                op.clone(),
                row["id"].as_i64().unwrap_or(-1),
                (op != "d").then(|| p["after"].clone()),
                p["source"]["snapshot"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The table a consumer rebuilds by applying the events in order.
fn replay(events: &[(String, i64, Option<Json>, String)]) -> BTreeMap<i64, (String, i64)> {
    let mut rows = BTreeMap::new();
    for (_, id, row, _) in events {
        match row {
            Some(r) => {
                rows.insert(
                    *id,
                    (
                        r["name"].as_str().unwrap_or_default().to_owned(),
                        r["n"].as_i64().unwrap_or(-1),
                    ),
                );
            }
            None => {
                rows.remove(id);
            }
        }
    }
    rows
}

fn table_rows(db: &Db, table: &str) -> BTreeMap<i64, (String, i64)> {
    db.query_text(&format!(
        "SELECT id::text, name, n::text FROM {table} ORDER BY id"
    ))
    .into_iter()
    .map(|r| {
        (
            r[0].parse().expect("an id"),
            (r[1].clone(), r[2].parse().expect("a number")),
        )
    })
    .collect()
}

/// Streaming is up once a change made now arrives (one made before the
/// slot existed is not streamed: it is written again until one is).
fn wait_streaming(s: &Setup, worker: &Worker) {
    wait_for("streaming to start", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        s.db.exec(&format!(
            "INSERT INTO {table} VALUES (1000000, 'marker', 0) \
             ON CONFLICT (id) DO UPDATE SET n = {table}.n + 1",
            table = s.table
        ));
        events(&s.topic)
            .iter()
            .any(|(_, id, ..)| *id == 1_000_000)
            .then_some(())
    });
}

#[test]
fn an_incremental_snapshot_never_overtakes_a_streamed_change() {
    let rows = 20_000;
    let s = setup(rows, "500");
    let mut worker = Worker::new(s.dir.path(), &[]);
    worker.start(std::slice::from_ref(&s.connector));
    wait_streaming(&s, &worker);

    // A load on the table for as long as the snapshot runs: updates and
    // deletes of rows the chunks read, inserts.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        let table = s.table.clone();
        std::thread::spawn(move || {
            let db = Db::postgres();
            let mut i: i64 = 0;
            while !stop.load(Ordering::Relaxed) || i < 300 {
                i += 1;
                let id = (i * 7919) % 20_000 + 1;
                match i % 10 {
                    0 => db.exec(&format!("DELETE FROM {table} WHERE id = {id}")),
                    1 => db.exec(&format!("INSERT INTO {table} VALUES ({}, 'new', {i})", -i)),
                    _ => db.exec(&format!(
                        "UPDATE {table} SET name = 'updated', n = {i} WHERE id IN ({id}, {})",
                        (id * 13) % 20_000 + 1
                    )),
                }
            }
            i
        })
    };
    s.db.exec(&format!(
        "INSERT INTO {} VALUES ('ad-hoc-1', 'execute-snapshot', \
         '{{\"data-collections\": [\"public.{}\"], \"type\": \"incremental\"}}')",
        s.signal, s.table
    ));
    wait_for("the incremental snapshot to complete", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        worker
            .log_text()
            .contains("incremental snapshot completed")
            .then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let changes = load.join().expect("the load");
    assert!(changes >= 300, "a load ran during the snapshot");

    let expected = table_rows(&s.db, &s.table);
    let all = wait_for("the topic to replay into the table", WAIT, || {
        let all = events(&s.topic);
        (replay(&all) == expected).then_some(all)
    });
    let read: Vec<_> = all.iter().filter(|(op, ..)| op == "r").collect();
    assert!(
        read.iter().all(|(.., snapshot)| snapshot == "incremental"),
        "snapshot rows are marked incremental"
    );
    // No row came twice from the snapshot.
    let mut per_id: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, id, ..) in &read {
        *per_id.entry(*id).or_default() += 1;
    }
    assert!(per_id.values().all(|n| *n == 1), "no row read twice");
    assert!(
        read.len() as i64 > rows / 2,
        "{} rows read of {rows}",
        read.len()
    );
    // The load changed rows inside open windows: those chunk rows were
    // dropped, so fewer rows were read than the table had untouched.
    let touched: std::collections::BTreeSet<i64> = all
        .iter()
        .filter(|(op, ..)| op != "r")
        .map(|(_, id, ..)| *id)
        .collect();
    assert!(
        (1..=rows).all(|id| per_id.contains_key(&id) || touched.contains(&id)),
        "every row was read or streamed"
    );

    // The signal table's changes are events too, as Debezium writes them:
    // the request, then an open and a close watermark per chunk.
    let signals: Vec<String> = events(&s.signal_topic)
        .into_iter()
        .filter_map(|(_, _, row, _)| Some(row?["type"].as_str()?.to_owned()))
        .collect();
    assert_eq!(
        signals.first().map(String::as_str),
        Some("execute-snapshot")
    );
    let opened = signals
        .iter()
        .filter(|t| *t == "snapshot-window-open")
        .count();
    let closed = signals
        .iter()
        .filter(|t| *t == "snapshot-window-close")
        .count();
    assert_eq!(opened, closed, "every window closed");
    assert!(
        opened >= read.len() / 500,
        "{opened} windows for {} rows read in chunks of 500",
        read.len()
    );
    worker.terminate();
}

#[test]
fn a_killed_worker_goes_on_from_the_last_row_it_committed() {
    let rows = 5_000;
    let chunk = 200;
    let s = setup(rows, "200");
    let mut worker = Worker::new(s.dir.path(), &[]);
    worker.start(std::slice::from_ref(&s.connector));
    wait_streaming(&s, &worker);

    // Requested and paused in one transaction: one chunk is read, then
    // the snapshot waits.
    s.db.exec(&format!(
        "BEGIN; \
         INSERT INTO {signal} VALUES ('ad-hoc-2', 'execute-snapshot', \
           '{{\"data-collections\": [\"public.{table}\"]}}'); \
         INSERT INTO {signal} VALUES ('ad-hoc-3', 'pause-snapshot', NULL); \
         COMMIT",
        signal = s.signal,
        table = s.table
    ));
    let first = wait_for("the first chunk", WAIT, || {
        let read = events(&s.topic)
            .into_iter()
            .filter(|(op, ..)| op == "r")
            .count();
        (read >= chunk).then_some(read)
    });
    assert_eq!(first, chunk, "paused after one chunk");
    // Its last row's offset committed (the offsets file holds the JSON
    // of each offset): Debezium's key, with the Java-serialized key of
    // row 200.
    let offsets = s.dir.path().join("offsets");
    let row_200 = "737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870000000c8";
    wait_for("the chunk's offsets to be committed", WAIT, || {
        let bytes = std::fs::read(&offsets).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        (text.contains("incremental_snapshot_primary_key") && text.contains(row_200)).then_some(())
    });
    worker.kill();
    worker.start(std::slice::from_ref(&s.connector));
    // Not paused after a restart (Debezium keeps pauses in memory): the
    // snapshot goes on from row 201.
    let expected = table_rows(&s.db, &s.table);
    let all = wait_for("the rest of the snapshot", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let all = events(&s.topic);
        (replay(&all) == expected).then_some(all)
    });
    let read: Vec<i64> = all
        .iter()
        .filter(|(op, ..)| op == "r")
        .map(|(_, id, ..)| *id)
        .collect();
    assert_eq!(
        read,
        (1..=rows).chain([1_000_000]).collect::<Vec<_>>(),
        "every row read once, in key order, none again after the restart"
    );
    worker.terminate();
}

/// `(op, id, source)` of every event of a topic, in order.
fn sources(topic: &str) -> Vec<(String, i64, Json)> {
    let n = usize::try_from(record_count(topic)).unwrap_or(0);
    consume_records(topic, n, WAIT)
        .iter()
        .filter_map(|r| r.value.as_deref())
        .map(|v| {
            let event: Json = serde_json::from_slice(v).expect("a JSON event");
            let p = &event["payload"];
            let op = p["op"].as_str().unwrap_or_default().to_owned();
            let row = if op == "d" { &p["before"] } else { &p["after"] };
            (op, row["id"].as_i64().unwrap_or(-1), p["source"].clone())
        })
        .collect()
}

#[test]
fn a_blocking_snapshot_pauses_streaming_and_resumes_where_it_stopped() {
    let s = setup(3_000, "500");
    let mut worker = Worker::new(s.dir.path(), &[]);
    worker.start(std::slice::from_ref(&s.connector));
    wait_streaming(&s, &worker);

    // The request, with a SELECT for the table (Debezium's
    // additional-conditions of a blocking snapshot), and in the same
    // transaction after it a change that streaming must send after the
    // snapshot's rows; then more changes while the snapshot runs.
    s.db.exec(&format!(
        "BEGIN; \
         INSERT INTO {signal} VALUES ('ad-hoc-blocking', 'execute-snapshot', \
           '{{\"data-collections\": [\"PUBLIC.{table}\"], \"type\": \"blocking\", \
              \"additional-conditions\": [{{\"data-collection\": \"public.{table}\", \
                \"filter\": \"SELECT * FROM public.{table} WHERE id <= 2000;\"}}]}}'); \
         UPDATE {table} SET n = 1 WHERE id = 5; \
         COMMIT; \
         UPDATE {table} SET n = 2 WHERE id = 6; \
         INSERT INTO {table} VALUES (5000, 'after', 3)",
        signal = s.signal,
        table = s.table
    ));
    let expected = table_rows(&s.db, &s.table);
    let all = wait_for("the snapshot and the changes after it", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let all = events(&s.topic);
        (all.iter().any(|(_, id, ..)| *id == 5000)
            && all.iter().filter(|(op, ..)| op == "r").count() >= 2000)
            .then_some(all)
    });
    // In the heap's order: rows 5 and 6 were updated before the snapshot.
    let mut read: Vec<i64> = all
        .iter()
        .filter(|(op, ..)| op == "r")
        .map(|(_, id, ..)| *id)
        .collect();
    read.sort_unstable();
    assert!(
        read.iter().copied().eq(1..=2000),
        "the rows the SELECT chose, once each: {} read, from {:?} to {:?}",
        read.len(),
        read.first(),
        read.last()
    );
    let first_read = all.iter().position(|(op, ..)| op == "r").unwrap_or(0);
    let last_read = all.iter().rposition(|(op, ..)| op == "r").unwrap_or(0);
    assert_eq!(
        all[first_read..=last_read].len(),
        2000,
        "no change in the middle of the snapshot"
    );
    let after: Vec<(&str, i64)> = all[last_read + 1..]
        .iter()
        .map(|(op, id, ..)| (op.as_str(), *id))
        .collect();
    assert_eq!(
        after,
        [("u", 5), ("u", 6), ("c", 5000)],
        "streaming resumed"
    );
    // Rows above 2000 were neither snapshotted nor changed.
    let expected: BTreeMap<_, _> = expected
        .into_iter()
        .filter(|(id, _)| *id <= 2000 || *id == 5000 || *id == 1_000_000)
        .collect();
    assert!(
        replay(&all) == expected,
        "the topic replays into the table's rows it covers"
    );
    let markers: Vec<&str> = all[first_read..=last_read]
        .iter()
        .map(|(.., m)| m.as_str())
        .collect();
    assert_eq!(markers.first(), Some(&"first"));
    assert_eq!(markers.last(), Some(&"last"));
    assert!(markers[1..1999].iter().all(|m| *m == "true"));

    // The snapshot's records are at the stream's position: the signal's.
    let signal = sources(&s.signal_topic)
        .into_iter()
        .find(|(op, ..)| op == "c")
        .map(|(.., source)| source)
        .expect("the signal's event");
    let snapshot_sources: Vec<Json> = sources(&s.topic)
        .into_iter()
        .filter(|(op, ..)| op == "r")
        .map(|(.., source)| source)
        .collect();
    assert!(snapshot_sources
        .iter()
        .all(|src| src["lsn"] == signal["lsn"] && src["txId"] == signal["txId"]));
    assert!(worker.log_text().contains("snapshot completed"));
    worker.terminate();
}

#[test]
fn signals_are_read_from_kafka_too() {
    let signals = unique("cdc-signals");
    create_topic(&signals, 1);
    let bootstrap = bootstrap();
    let s = setup_with(
        1_000,
        "300",
        &[
            ("signal.enabled.channels", "source,kafka"),
            ("signal.kafka.topic", signals.as_str()),
            ("signal.kafka.bootstrap.servers", bootstrap.as_str()),
            ("signal.poll.interval.ms", "200"),
        ],
    );
    let mut worker = Worker::new(s.dir.path(), &[]);
    worker.start(std::slice::from_ref(&s.connector));
    wait_streaming(&s, &worker);
    let reads = || {
        events(&s.topic)
            .into_iter()
            .filter(|(op, ..)| op == "r")
            .map(|(.., marker)| marker)
            .collect::<Vec<_>>()
    };

    // Another connector's signal is not this one's; then an incremental
    // snapshot, then a blocking one, keyed by the connector's topic.prefix.
    let incremental = format!(
        r#"{{"id": "k-1", "type": "execute-snapshot", "data": {{"data-collections": ["public.{}"], "type": "incremental"}}}}"#,
        s.table
    );
    let blocking = incremental
        .replace("k-1", "k-2")
        .replace("incremental", "blocking");
    produce_keyed(
        &signals,
        &[("another-connector", Some(incremental.as_str()))],
    );
    produce_keyed(&signals, &[(s.prefix.as_str(), Some(incremental.as_str()))]);
    let read = wait_for("the incremental snapshot", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let read = reads();
        (read.len() >= 1_001).then_some(read)
    });
    assert_eq!(read.len(), 1_001, "every row once (and the marker row)");
    assert!(read.iter().all(|m| m == "incremental"));
    assert!(worker
        .log_text()
        .contains("does not match the connector's name"));

    produce_keyed(&signals, &[(s.prefix.as_str(), Some(blocking.as_str()))]);
    let read = wait_for("the blocking snapshot", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let read = reads();
        (read.len() >= 2_002).then_some(read)
    });
    assert_eq!(read.len(), 2_002, "every row once more");
    assert_eq!(read[1_001], "first");
    assert_eq!(read[2_001], "last");
    worker.terminate();

    // The signals read were committed: started again, the worker reads
    // on after them (a log signal sent now is the first it acts on; one
    // read again would be acted on before it or in the same read).
    worker.start(std::slice::from_ref(&s.connector));
    produce_keyed(
        &signals,
        &[(
            s.prefix.as_str(),
            Some(r#"{"id": "k-3", "type": "log", "data": {"message": "after the restart"}}"#),
        )],
    );
    wait_for("the log signal", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        worker
            .log_text()
            .contains("after the restart")
            .then_some(())
    });
    let log = worker.log_text();
    assert_eq!(
        (
            log.matches("execute-snapshot (blocking)").count(),
            log.matches("incremental snapshot requested").count()
        ),
        (1, 1),
        "each signal acted on once"
    );
    assert_eq!(reads().len(), 2_002, "no signal acted on twice");
    worker.terminate();
}

/// Keys of `numeric`, `date` and `timestamp` columns: Debezium records
/// their positions as a Java-serialized `BigDecimal`, `java.sql.Date` and
/// the timestamp's text. A snapshot of a table keyed by all three, killed
/// after its first chunk's offset is committed, goes on from that
/// position after the restart: every row read once, in key order.
#[test]
fn positions_in_numeric_date_and_timestamp_keys_survive_a_restart() {
    require_kafka();
    let db = Db::postgres();
    let table = unique("cdc_inc_keys").replace('-', "_");
    let signal = unique("cdc_inc_keys_signal").replace('-', "_");
    let slot = unique("cdc_inc_keys_slot").replace('-', "_");
    let publication = unique("cdc_inc_keys_pub").replace('-', "_");
    let prefix = unique("cdcinckeys");
    let topic = format!("{prefix}.public.{table}");
    db.exec(&format!(
        "CREATE TABLE {table} (amount numeric(12,3), day date, at timestamp, v text NOT NULL, \
         PRIMARY KEY (amount, day, at))"
    ));
    // Negative, zero and positive amounts, days either side of 2000-01-01,
    // microsecond timestamps; 301 rows.
    db.exec(&format!(
        "INSERT INTO {table} SELECT (g % 7) * 1.5 - 3, date '1999-12-30' + (g % 5), \
           timestamp '2024-01-01 00:00:00.123456' + g * interval '1 minute', 'row ' || g \
         FROM generate_series(0, 300) g"
    ));
    db.exec(&format!(
        "CREATE TABLE {signal} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
    ));
    // A key holding NaN, which no BigDecimal stands for: that table is
    // skipped, not read up to it.
    let nan = format!("{table}_nan");
    db.exec(&format!("CREATE TABLE {nan} (id numeric PRIMARY KEY)"));
    db.exec(&format!("INSERT INTO {nan} VALUES (1), (2), ('NaN')"));
    let dir = tempfile::tempdir().expect("a directory");
    let (name, include, signal_id) = (
        unique("cdc-inc-keys"),
        format!("public.{table},public.{nan}"),
        format!("public.{signal}"),
    );
    let settings = CdcSettings::new(&prefix, &slot, &publication, &include)
        .set("name", name.as_str())
        .set("snapshot.mode", "no_data")
        .set("signal.data.collection", signal_id.as_str())
        .set("incremental.snapshot.chunk.size", "40");
    let connector = write_connector(dir.path(), "cdc", &settings.pairs());
    // The key of each snapshot event, as text, in topic order.
    let read = || -> Vec<String> {
        let n = usize::try_from(record_count(&topic)).unwrap_or(0);
        consume_records(&topic, n, WAIT)
            .iter()
            .filter_map(|r| r.value.as_deref())
            .filter_map(|v| {
                let event: Json = serde_json::from_slice(v).expect("a JSON event");
                let p = &event["payload"];
                (p["op"] == "r").then(|| p["after"]["v"].as_str().unwrap_or_default().to_owned())
            })
            .collect()
    };
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(std::slice::from_ref(&connector));
    wait_for("streaming to start", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        db.exec(&format!("UPDATE {signal} SET data = data WHERE false"));
        let active = db.query_text(&format!(
            "SELECT active::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ));
        (active.first().map(|r| r[0].as_str()) == Some("true")).then_some(())
    });
    db.exec(&format!(
        "BEGIN; \
         INSERT INTO {signal} VALUES ('keys-1', 'execute-snapshot', \
           '{{\"data-collections\": [\"public.{nan}\", \"public.{table}\"]}}'); \
         INSERT INTO {signal} VALUES ('keys-2', 'pause-snapshot', NULL); \
         COMMIT"
    ));
    let first = wait_for("the first chunk", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let n = read().len();
        (n >= 40).then_some(n)
    });
    assert_eq!(first, 40, "paused after one chunk");
    // The 40th row in key order (the table's columns: `amount` alone
    // would sort by the text column of the select list); its position,
    // committed, is a BigDecimal, a java.sql.Date and the timestamp's text.
    let fortieth = db.query_text(&format!(
        "SELECT amount::text, day::text, at::text FROM {table} t \
         ORDER BY t.amount, t.day, t.at OFFSET 39 LIMIT 1"
    ));
    let at_hex: String = fortieth[0][2].bytes().map(|b| format!("{b:02x}")).collect();
    let offsets = dir.path().join("offsets");
    wait_for("the chunk's offsets to be committed", WAIT, || {
        let text = String::from_utf8_lossy(&std::fs::read(&offsets).ok()?).into_owned();
        (text.contains("incremental_snapshot_primary_key")
            && text.contains("6a6176612e6d6174682e426967446563696d616c")
            && text.contains("6a6176612e73716c2e44617465")
            && text.contains(&at_hex))
        .then_some(())
    });
    worker.kill();
    worker.start(std::slice::from_ref(&connector));
    let expected: Vec<String> = db
        .query_text(&format!(
            "SELECT v FROM {table} t ORDER BY t.amount, t.day, t.at"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let all = wait_for("the rest of the snapshot", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let all = read();
        (all.len() >= expected.len()).then_some(all)
    });
    assert_eq!(
        all, expected,
        "every row read once, in key order, none again after the restart"
    );
    assert_eq!(
        record_count(&format!("{prefix}.public.{nan}")),
        0,
        "nothing of the table keyed by NaN"
    );
    assert!(worker
        .log_text()
        .contains("a key value Debezium cannot record as a position"));
    worker.terminate();
    db.drop_cdc(&slot, &publication, &format!("{table}, {nan}, {signal}"));
}

/// The `file` signal channel: a line of JSON in `signal.file` is a signal,
/// acted on within `signal.poll.interval.ms`; the file is emptied as it is
/// read, so a signal is acted on once.
#[test]
fn signals_are_read_from_a_file_too() {
    let files = tempfile::tempdir().expect("a directory");
    let file = files.path().join("signals.txt");
    let file_name = file.display().to_string();
    let s = setup_with(
        300,
        "100",
        &[
            ("signal.enabled.channels", "source,file"),
            ("signal.file", file_name.as_str()),
            ("signal.poll.interval.ms", "100"),
        ],
    );
    let mut worker = Worker::new(s.dir.path(), &[]);
    worker.start(std::slice::from_ref(&s.connector));
    wait_streaming(&s, &worker);
    std::fs::write(
        &file,
        format!(
            "{{\"id\": \"f-1\", \"type\": \"execute-snapshot\", \"data\": {{\"data-collections\": [\"public.{}\"]}}}}\n\
             {{\"id\": \"f-2\", \"type\": \"log\", \"data\": {{\"message\": \"from the file\"}}}}\n",
            s.table
        ),
    )
    .expect("write the signal file");
    let read = wait_for("the incremental snapshot", WAIT, || {
        assert!(worker.is_running(), "worker log:\n{}", worker.log_text());
        let read: Vec<i64> = events(&s.topic)
            .into_iter()
            .filter(|(op, ..)| op == "r")
            .map(|(_, id, ..)| id)
            .collect();
        (read.len() >= 301).then_some(read)
    });
    assert_eq!(
        read,
        (1..=300).chain([1_000_000]).collect::<Vec<_>>(),
        "every row once, in key order"
    );
    assert!(worker.log_text().contains("from the file"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("the signal file"),
        "",
        "emptied as read"
    );
    worker.terminate();
}
