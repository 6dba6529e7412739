//! Takeover both ways: Debezium 3.6.1 on Kafka Connect 4.3.1 snapshots
//! and streams a table and stops; Ferry, started on the same offsets file,
//! connector name and slot, continues; then Debezium takes back from
//! Ferry's offsets. Every row arrives exactly once: no change is lost at a
//! handover and none is sent twice. An incremental snapshot is taken
//! over the same way, mid-table, from the key position each stored.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_tests::kafka_connect::KafkaConnect;
use ferry_tests::*;
use jdbc_support::*;
use serde_json::Value as Json;

const WAIT: Duration = Duration::from_secs(90);

/// How many times each id was sent (`r` or `c` events) to `topic`.
fn counts(topic: &str) -> BTreeMap<i64, usize> {
    let mut out = BTreeMap::new();
    for r in consume_records(topic, usize::MAX, Duration::from_secs(3)) {
        let Some(v) = r.value else { continue };
        let event: Json = serde_json::from_slice(&v).expect("a JSON event");
        if let Some(id) = event["payload"]["after"]["id"].as_i64() {
            *out.entry(id).or_default() += 1;
        }
    }
    out
}

fn wait_for_ids(topic: &str, upto: i64) -> BTreeMap<i64, usize> {
    wait_for(&format!("ids up to {upto} in {topic}"), WAIT, || {
        let c = counts(topic);
        (1..=upto).all(|id| c.contains_key(&id)).then_some(c)
    })
}

fn insert(db: &Db, table: &str, from: i64, to: i64) {
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'row ' || g FROM generate_series({from}, {to}) g"
    ));
}

/// Debezium 3.6.1's Postgres plugin, fetched (once) by the project's
/// script: the `plugin.path` for Kafka Connect.
fn debezium_plugin() -> String {
    let plugin = Command::new(deploy_script("connect-plugin.sh"))
        .arg("io.debezium:debezium-connector-postgres:3.6.1.Final")
        .output()
        .expect("run connect-plugin.sh");
    assert!(
        plugin.status.success(),
        "{}",
        String::from_utf8_lossy(&plugin.stderr)
    );
    String::from_utf8_lossy(&plugin.stdout).trim().to_owned()
}

/// Kafka Connect's worker properties in `dir`, naming the offsets file
/// Ferry's `Worker` uses there (`dir/offsets`) and the same converters,
/// and the REST port they listen on.
fn connect_properties(dir: &Path, plugin: &str) -> (std::path::PathBuf, u16) {
    let port = free_port();
    let props = dir.join("connect.properties");
    std::fs::write(
        &props,
        format!(
            "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\nplugin.path={plugin}\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=1000\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n",
            bootstrap(),
            dir.join("offsets").display()
        ),
    )
    .expect("connect.properties");
    (props, port)
}

#[test]
fn debezium_and_ferry_take_over_from_each_other() {
    require_kafka();
    let plugin = debezium_plugin();

    let db = Db::postgres();
    let table = unique("takeover").replace('-', "_");
    let slot = unique("takeover_slot").replace('-', "_");
    let publication = unique("takeover_pub").replace('-', "_");
    let prefix = unique("tk");
    let topic = format!("{prefix}.public.{table}");
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v text NOT NULL)"
    ));
    insert(&db, &table, 1, 10);

    let dir = tempfile::tempdir().expect("a directory");
    let include = format!("public.{table}");
    let settings = CdcSettings::new(&prefix, &slot, &publication, &include);
    let connector = write_connector(dir.path(), &unique("takeover-cdc"), &settings.pairs());
    // Ferry's worker properties; Kafka Connect's name the same offsets
    // file and converters.
    let mut ferry = Worker::new(dir.path(), &[]);
    let (connect_props, port) = connect_properties(dir.path(), &plugin);
    let run_debezium = |upto_before: i64, insert_from: i64, insert_to: i64| {
        let mut connect = KafkaConnect::new(connect_props.clone(), port);
        connect.start(&[Path::new(&connector)]);
        wait_for_ids(&topic, upto_before);
        insert(&db, &table, insert_from, insert_to);
        wait_for_ids(&topic, insert_to);
        connect.stop();
    };

    // Debezium: the snapshot (1..10), then 11..30 streamed; stopped.
    run_debezium(10, 11, 30);
    insert(&db, &table, 31, 50);

    // Ferry continues from Debezium's offsets: 31..50 written while
    // nothing ran, then 51..70.
    ferry.start(std::slice::from_ref(&connector));
    wait_for_ids(&topic, 50);
    insert(&db, &table, 51, 70);
    wait_for_ids(&topic, 70);
    assert!(ferry.terminate().success(), "{}", ferry.log_text());
    insert(&db, &table, 71, 90);

    // Debezium takes back from Ferry's offsets.
    run_debezium(90, 91, 100);

    let c = counts(&topic);
    let repeated: Vec<(&i64, &usize)> = c.iter().filter(|(_, n)| **n != 1).collect();
    assert_eq!(c.len(), 100, "every row once: {c:?}");
    assert!(
        repeated.is_empty(),
        "rows sent more than once: {repeated:?}"
    );

    db.drop_cdc(&slot, &publication, &table);
}

/// Each event of `topic` as JSON, in order.
fn events(topic: &str) -> Vec<Json> {
    let n = usize::try_from(record_count(topic)).unwrap_or(0);
    consume_records(topic, n, WAIT)
        .into_iter()
        .filter_map(|r| r.value)
        .map(|v| serde_json::from_slice(&v).expect("a JSON event"))
        .collect()
}

/// The ids of the incremental snapshot's rows in `topic`, in order.
fn snapshot_ids(topic: &str) -> Vec<i64> {
    events(topic)
        .iter()
        .filter(|e| e["payload"]["op"] == "r")
        .filter_map(|e| e["payload"]["after"]["id"].as_i64())
        .collect()
}

/// An event with what differs between two rows and two runs left out:
/// the row, the clocks, the WAL positions.
fn shape(event: &Json) -> Json {
    let mut e = event.clone();
    let p = &mut e["payload"];
    p["after"] = Json::Null;
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        p[k] = Json::Null;
        p["source"][k] = Json::Null;
    }
    for k in ["lsn", "txId", "sequence"] {
        p["source"][k] = Json::Null;
    }
    e
}

/// Waits until the committed offset's chunk position is row `n`'s: a
/// Java-serialized `Object[]{BigDecimal, java.sql.Date, Integer(n)}`, in
/// hex, whose last four bytes are `n`.
fn wait_committed_position(offsets: &Path, n: i32) {
    let last = format!("{n:08x}\"");
    wait_for(&format!("the position of row {n} committed"), WAIT, || {
        let text = String::from_utf8_lossy(&std::fs::read(offsets).ok()?).into_owned();
        let position = text
            .split("\"incremental_snapshot_primary_key\":\"")
            .nth(1)?;
        let position = &position[..position.find('"')? + 1];
        (position.ends_with(&last)
            && position.contains("6a6176612e6d6174682e426967446563696d616c")
            && position.contains("6a6176612e73716c2e44617465"))
        .then_some(())
    });
}

#[test]
fn an_incremental_snapshot_is_taken_over_both_ways() {
    require_kafka();
    let plugin = debezium_plugin();

    let db = Db::postgres();
    let table = unique("inc_takeover").replace('-', "_");
    let signal = unique("inc_takeover_signal").replace('-', "_");
    let slot = unique("inc_takeover_slot").replace('-', "_");
    let publication = unique("inc_takeover_pub").replace('-', "_");
    let prefix = unique("itk");
    let topic = format!("{prefix}.public.{table}");
    let rows = 1000;
    // Keyed by a numeric, a date and an int, so that the positions
    // handed over are a BigDecimal, a java.sql.Date and an Integer; key
    // order is id order.
    db.exec(&format!(
        "CREATE TABLE {table} (id int, amount numeric(10,2), day date, v text NOT NULL, \
         PRIMARY KEY (amount, day, id))"
    ));
    let insert = |from: i64, to: i64| {
        db.exec(&format!(
            "INSERT INTO {table} SELECT g, g * 0.25 - 100, date '1999-12-25' + g / 100, 'row ' || g \
             FROM generate_series({from}, {to}) g \
             ON CONFLICT (amount, day, id) DO UPDATE SET v = 'again'"
        ))
    };
    insert(1, rows);
    db.exec(&format!(
        "CREATE TABLE {signal} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
    ));

    let dir = tempfile::tempdir().expect("a directory");
    let include = format!("public.{table}");
    let signal_id = format!("public.{signal}");
    let settings = CdcSettings::new(&prefix, &slot, &publication, &include)
        .set("snapshot.mode", "no_data")
        .set("signal.data.collection", signal_id)
        .set("incremental.snapshot.chunk.size", "100");
    let connector = write_connector(dir.path(), &unique("inc-takeover-cdc"), &settings.pairs());
    let offsets = dir.path().join("offsets");
    let mut ferry = Worker::new(dir.path(), &[]);
    let (connect_props, port) = connect_properties(dir.path(), &plugin);
    let pause = |id: &str| {
        db.exec(&format!(
            "INSERT INTO {signal} VALUES ('{id}', 'pause-snapshot', NULL)"
        ))
    };

    // Debezium: streaming (a change made once the slot exists arrives),
    // then a snapshot requested and paused in one transaction: it reads
    // rows 0..99 (0 the marker) and waits. Stopped once that position is
    // committed.
    let mut connect = KafkaConnect::new(connect_props.clone(), port);
    connect.start(&[Path::new(&connector)]);
    wait_for("Debezium to stream", WAIT, || {
        insert(0, 0);
        counts(&topic).contains_key(&0).then_some(())
    });
    db.exec(&format!(
        "BEGIN; \
         INSERT INTO {signal} VALUES ('takeover-1', 'execute-snapshot', \
           '{{\"data-collections\": [\"{signal_id_table}\"], \"type\": \"incremental\"}}'); \
         INSERT INTO {signal} VALUES ('takeover-2', 'pause-snapshot', NULL); \
         COMMIT",
        signal_id_table = include
    ));
    wait_for("Debezium's first chunk", WAIT, || {
        (snapshot_ids(&topic).len() >= 100).then_some(())
    });
    wait_committed_position(&offsets, 99);
    connect.stop();
    assert_eq!(snapshot_ids(&topic), (0..100).collect::<Vec<_>>());

    // Ferry goes on from Debezium's position (a pause sent while nothing
    // ran stops it after one chunk: 100..199).
    pause("takeover-3");
    ferry.start(std::slice::from_ref(&connector));
    wait_for("Ferry's chunk", WAIT, || {
        assert!(ferry.is_running(), "{}", ferry.log_text());
        (snapshot_ids(&topic).len() >= 200).then_some(())
    });
    wait_committed_position(&offsets, 199);
    assert!(ferry.terminate().success(), "{}", ferry.log_text());
    assert_eq!(
        snapshot_ids(&topic),
        (0..200).collect::<Vec<_>>(),
        "Ferry read on from Debezium's position; log:\n{}",
        ferry.log_text()
    );

    // Debezium takes the rest from Ferry's position.
    let mut connect = KafkaConnect::new(connect_props.clone(), port);
    connect.start(&[Path::new(&connector)]);
    wait_for("the rest of the snapshot", WAIT, || {
        (snapshot_ids(&topic).len() > rows as usize).then_some(())
    });
    connect.stop();
    assert_eq!(
        snapshot_ids(&topic),
        (0..=rows).collect::<Vec<_>>(),
        "every row once, in key order"
    );

    // Ferry's snapshot events are Debezium's, apart from the row, the
    // clocks and the WAL positions.
    let all = events(&topic);
    let read = |id: i64| {
        all.iter()
            .find(|e| e["payload"]["op"] == "r" && e["payload"]["after"]["id"] == id)
            .map(shape)
            .expect("a snapshot event")
    };
    assert_eq!(
        read(150),
        read(50),
        "Ferry's event (row 150) against Debezium's (row 50)"
    );
    assert_eq!(
        read(150),
        read(500),
        "Ferry's against Debezium's after the takeover"
    );

    db.drop_cdc(&slot, &publication, &format!("{table}, {signal}"));
}

/// A blocking snapshot under Debezium, then one under Ferry on the same
/// connector, offsets and slot: each pauses streaming while it reads
/// (Ferry right after the signal, so a change in the signal's transaction
/// comes after every row), and Ferry's events are Debezium's, markers
/// and position included.
#[test]
fn a_blocking_snapshot_is_debeziums() {
    require_kafka();
    let plugin = debezium_plugin();
    let db = Db::postgres();
    let table = unique("blk_takeover").replace('-', "_");
    let signal = unique("blk_takeover_signal").replace('-', "_");
    let slot = unique("blk_takeover_slot").replace('-', "_");
    let publication = unique("blk_takeover_pub").replace('-', "_");
    let prefix = unique("btk");
    let topic = format!("{prefix}.public.{table}");
    let signal_topic = format!("{prefix}.public.{signal}");
    let rows = 300;
    db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v text NOT NULL)"
    ));
    insert(&db, &table, 1, rows);
    db.exec(&format!(
        "CREATE TABLE {signal} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
    ));
    let dir = tempfile::tempdir().expect("a directory");
    let include = format!("public.{table}");
    let signal_id = format!("public.{signal}");
    let settings = CdcSettings::new(&prefix, &slot, &publication, &include)
        .set("snapshot.mode", "no_data")
        .set("signal.data.collection", signal_id);
    let connector = write_connector(dir.path(), &unique("blk-takeover-cdc"), &settings.pairs());
    let mut ferry = Worker::new(dir.path(), &[]);
    let (connect_props, port) = connect_properties(dir.path(), &plugin);
    // The request, then in its transaction a row that must come after the
    // snapshot's.
    let request = |id: &str, after: i64| {
        db.exec(&format!(
            "BEGIN; \
             INSERT INTO {signal} VALUES ('{id}', 'execute-snapshot', \
               '{{\"data-collections\": [\"{include}\"], \"type\": \"blocking\"}}'); \
             INSERT INTO {table} VALUES ({after}, 'after'); \
             COMMIT"
        ))
    };
    // Created (streamed) rather than read: the snapshot reads the row of
    // its signal's transaction too, committed by then.
    let created =
        |e: &Json, id: i64| e["payload"]["op"] == "c" && e["payload"]["after"]["id"] == id;
    let arrived = |id: i64| events(&topic).iter().any(|e| created(e, id));

    // Debezium: streaming (a change made once the slot exists arrives),
    // then the snapshot.
    let mut connect = KafkaConnect::new(connect_props.clone(), port);
    connect.start(&[Path::new(&connector)]);
    wait_for("Debezium to stream", WAIT, || {
        db.exec(&format!(
            "INSERT INTO {table} VALUES (0, 'marker') ON CONFLICT (id) DO UPDATE SET v = 'again'"
        ));
        arrived(0).then_some(())
    });
    // Debezium pauses from another thread (`doBlockingSnapshot` sets the
    // pause in its executor), so the change after the signal may come
    // before or after its rows; Ferry pauses right after the signal.
    let reads = || {
        events(&topic)
            .iter()
            .filter(|e| e["payload"]["op"] == "r")
            .count()
    };
    let per_snapshot = rows as usize + 2; // 0..=rows and 1001
    request("blocking-1", 1001);
    wait_for("Debezium's snapshot", WAIT, || {
        (arrived(1001) && reads() >= per_snapshot).then_some(())
    });
    connect.stop();

    // Ferry, from Debezium's offsets.
    ferry.start(std::slice::from_ref(&connector));
    request("blocking-2", 1002);
    wait_for("Ferry's snapshot", WAIT, || {
        assert!(ferry.is_running(), "{}", ferry.log_text());
        (arrived(1002) && reads() > 2 * per_snapshot).then_some(())
    });
    assert!(ferry.terminate().success(), "{}", ferry.log_text());

    let all = events(&topic);
    let signals = events(&signal_topic);
    assert_eq!(
        (
            all.iter().filter(|e| created(e, 1001)).count(),
            all.iter().filter(|e| created(e, 1002)).count()
        ),
        (1, 1),
        "Ferry neither took Debezium's snapshot again nor sent a change twice"
    );
    // Each snapshot's rows, uninterrupted: Debezium's first, Ferry's after.
    let read_at: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, e)| e["payload"]["op"] == "r")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        read_at.len(),
        2 * per_snapshot + 1,
        "Ferry read one row more (1002); log:\n{}",
        ferry.log_text()
    );
    let (debezium_at, ferry_at) = read_at.split_at(per_snapshot);
    for at in [debezium_at, ferry_at] {
        assert_eq!(
            at[at.len() - 1] - at[0] + 1,
            at.len(),
            "no change among a snapshot's rows"
        );
    }
    let created_at = |id: i64| all.iter().position(|e| created(e, id));
    assert_eq!(
        created_at(1002),
        Some(ferry_at[ferry_at.len() - 1] + 1),
        "Ferry: the change after the signal comes after the rows"
    );
    assert!(
        [
            Some(debezium_at[0] - 1),
            Some(debezium_at[debezium_at.len() - 1] + 1)
        ]
        .contains(&created_at(1001)),
        "Debezium: the change after the signal next to the rows"
    );
    let section = |at: &[usize]| -> Vec<&Json> { at.iter().map(|i| &all[*i]).collect() };
    let (debezium, ours) = (section(debezium_at), section(ferry_at));
    let ids = |s: &[&Json]| -> Vec<i64> {
        let mut ids: Vec<i64> = s
            .iter()
            .filter_map(|e| e["payload"]["after"]["id"].as_i64())
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(
        ids(&debezium),
        (0..=rows).chain([1001]).collect::<Vec<_>>(),
        "Debezium read every row once"
    );
    assert_eq!(
        ids(&ours),
        (0..=rows).chain([1001, 1002]).collect::<Vec<_>>(),
        "Ferry read every row once; log:\n{}",
        ferry.log_text()
    );
    // Markers, envelopes and source blocks alike: first, middle, last.
    for (i, j) in [(0, 0), (1, 1), (debezium.len() - 1, ours.len() - 1)] {
        assert_eq!(
            shape(ours[j]),
            shape(debezium[i]),
            "Ferry's snapshot event {j} against Debezium's {i}"
        );
    }
    // Both in their signal's transaction: Ferry's at the signal's own
    // position, Debezium's there or at the change after it.
    let signal_source = |id: &str| {
        signals
            .iter()
            .find(|e| e["payload"]["after"]["id"] == id)
            .map(|e| e["payload"]["source"].clone())
            .expect("the signal's event")
    };
    let at = signal_source("blocking-2");
    assert!(
        ours.iter()
            .all(|e| e["payload"]["source"]["lsn"] == at["lsn"]
                && e["payload"]["source"]["txId"] == at["txId"]),
        "Ferry's snapshot records are at its signal's position"
    );
    let at = signal_source("blocking-1");
    let lsn = |v: &Json| v.as_i64().unwrap_or(-1);
    assert!(
        debezium.iter().all(|e| {
            let source = &e["payload"]["source"];
            source["txId"] == at["txId"] && lsn(&source["lsn"]) >= lsn(&at["lsn"])
        }),
        "Debezium's snapshot records are in its signal's transaction"
    );

    db.drop_cdc(&slot, &publication, &format!("{table}, {signal}"));
}

/// The notifications of one connector's run: `(aggregate_type, type,
/// additional_data)` in topic order, `connector_name` and the incremental
/// snapshot's id (its signal's) replaced by placeholders; and the first
/// record's key and value schemas.
fn notifications(topic: &str, prefix: &str, signal_id: &str) -> (Vec<Json>, Json) {
    let n = usize::try_from(record_count(topic)).unwrap_or(0);
    let records = consume_records(topic, n, WAIT);
    let mut schemas = Json::Null;
    let list = records
        .iter()
        .map(|r| {
            let key: Json =
                serde_json::from_slice(r.key.as_deref().unwrap_or(b"null")).expect("a JSON key");
            let value: Json = serde_json::from_slice(r.value.as_deref().unwrap_or(b"null"))
                .expect("a JSON value");
            if schemas.is_null() {
                schemas = serde_json::json!([key["schema"], value["schema"]]);
            }
            let p = &value["payload"];
            assert_eq!(
                key["payload"]["id"], p["id"],
                "the key is the notification's id"
            );
            assert!(p["timestamp"].as_i64().is_some(), "{p}");
            let mut data = p["additional_data"].clone();
            if data["connector_name"] == prefix {
                data["connector_name"] = "<name>".into();
            }
            let id = if p["id"] == signal_id {
                "<signal>"
            } else {
                "<uuid>"
            };
            serde_json::json!([p["aggregate_type"], p["type"], id, data])
        })
        .collect();
    (list, schemas)
}

/// Snapshot notifications (`notification.enabled.channels=sink,log`):
/// an initial snapshot of two tables and an incremental one of a table,
/// first under Debezium, then under Ferry on the same tables (their own
/// slots and topics): the same notifications in the same order, with the
/// same schemas and additional data.
#[test]
fn snapshot_notifications_are_debeziums() {
    require_kafka();
    let plugin = debezium_plugin();
    let db = Db::postgres();
    let a = unique("notes_a").replace('-', "_");
    let b = unique("notes_b").replace('-', "_");
    let signal = unique("notes_signal").replace('-', "_");
    db.exec(&format!(
        "CREATE TABLE {a} (id int PRIMARY KEY, v text NOT NULL)"
    ));
    db.exec(&format!(
        "CREATE TABLE {b} (id int PRIMARY KEY, v text NOT NULL)"
    ));
    insert(&db, &a, 1, 5);
    insert(&db, &b, 1, 2);
    db.exec(&format!(
        "CREATE TABLE {signal} (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
    ));
    let include = format!("public.{a},public.{b}");
    let signal_id = format!("public.{signal}");
    // Whether the topic's notifications end with `aggregate`'s COMPLETED.
    let completed = |topic: &str, aggregate: &str| {
        consume_records(topic, usize::MAX, Duration::from_secs(2))
            .iter()
            .filter_map(|r| serde_json::from_slice::<Json>(r.value.as_deref()?).ok())
            .any(|v| {
                v["payload"]["aggregate_type"] == aggregate && v["payload"]["type"] == "COMPLETED"
            })
    };
    // One run: the initial snapshot of `a`, `b` and the signal table, then
    // an incremental snapshot of `a` in chunks of 2.
    let run = |who: &str, start: &dyn Fn(&Path), stop: &dyn Fn()| {
        let tag = unique(&format!("notes_{who}")).replace('-', "_");
        let (slot, publication, prefix) =
            (format!("{tag}_slot"), format!("{tag}_pub"), tag.clone());
        let topic = format!("{tag}.notifications");
        let dir = tempfile::tempdir().expect("a directory");
        let settings = CdcSettings::new(&prefix, &slot, &publication, &include)
            .set("signal.data.collection", signal_id.as_str())
            .set("incremental.snapshot.chunk.size", "2")
            .set("notification.enabled.channels", "sink,log")
            .set("notification.sink.topic.name", topic.as_str());
        let connector = write_connector(dir.path(), &unique("notes-cdc"), &settings.pairs());
        start(&connector);
        wait_for("the initial snapshot's notifications", WAIT, || {
            completed(&topic, "Initial Snapshot").then_some(())
        });
        let request = format!("{tag}-inc");
        db.exec(&format!(
            "INSERT INTO {signal} VALUES ('{request}', 'execute-snapshot', \
               '{{\"data-collections\": [\"public.{a}\"], \"type\": \"incremental\"}}')"
        ));
        wait_for(
            &format!("{who}'s incremental snapshot's notifications"),
            WAIT,
            || completed(&topic, "Incremental Snapshot").then_some(()),
        );
        stop();
        db.drop_slot(&slot, &publication);
        notifications(&topic, &prefix, &request)
    };
    let (connect_props, port) = connect_properties(
        tempfile::tempdir().expect("a directory").keep().as_path(),
        &plugin,
    );
    let connect = std::cell::RefCell::new(KafkaConnect::new(connect_props, port));
    let debezium = run(
        "debezium",
        &|c: &Path| connect.borrow_mut().start(&[c]),
        &|| connect.borrow_mut().stop(),
    );
    let ferry_dir = tempfile::tempdir().expect("a directory");
    let ferry = std::cell::RefCell::new(Worker::new(ferry_dir.path(), &[]));
    let ours = run(
        "ferry",
        &|c: &Path| ferry.borrow_mut().start(&[c.to_path_buf()]),
        &|| assert!(ferry.borrow_mut().terminate().success()),
    );
    assert_eq!(ours.1, debezium.1, "the notifications' schemas");
    assert_eq!(
        ours.0, debezium.0,
        "Ferry's notifications (left) against Debezium's (right)"
    );
    db.exec(&format!("DROP TABLE {a}, {b}, {signal}"));
}
