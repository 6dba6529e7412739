//! JDBC source and sink against a real PostgreSQL 15 and a real Kafka:
//! rows of a source table reach a sink table in another database with the
//! same values and types in every source mode; schema evolution with and
//! without `auto.evolve`; tombstones delete; upserts stay exact when the
//! worker is killed mid-stream.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;

fn create_source(db: &Db, table: &str) {
    db.exec(&format!(
        "CREATE TABLE \"{table}\" (
            id SERIAL PRIMARY KEY,
            name TEXT,
            price NUMERIC(10,2) NOT NULL,
            qty INT,
            big BIGINT,
            score DOUBLE PRECISION,
            active BOOLEAN,
            born DATE,
            updated_at TIMESTAMP(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
            data JSONB,
            uid UUID,
            raw BYTEA,
            tags TEXT[])"
    ));
}

fn insert_rows(db: &Db, table: &str, from: i32, n: i32) {
    for i in from..from + n {
        db.exec(&format!(
            "INSERT INTO \"{table}\" (name, price, qty, big, score, active, born, data, uid, raw, tags) VALUES (
                {name}, {whole}.{cents:02}, {qty}, {big}, {score}, {active}, DATE '2024-02-{day:02}',
                '{{\"n\": {i}, \"s\": \"x\"}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a{i:02}', '\\x00ff{i:02}'::bytea, ARRAY['a{i}', NULL, 'ü'])",
            name = if i % 3 == 0 { "NULL".to_owned() } else { format!("'näme {i}'") },
            whole = i * 7 - 10,
            cents = i % 100,
            qty = if i % 4 == 0 { "NULL".to_owned() } else { (i * 3).to_string() },
            big = 10_000_000_000i64 + i as i64,
            score = i as f64 / 3.0,
            active = i % 2 == 0,
            day = 1 + i % 27,
        ));
    }
}

/// Every column as text, the same on both sides.
fn canonical(db: &Db, table: &str) -> Option<Vec<Vec<String>>> {
    db.try_query_text(&format!(
        "SELECT id::text, name, price::text, qty::text, big::text, score::text, active::text, born::text,
                to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.MS'), data::text::jsonb::text, uid::text,
                encode(raw, 'hex'), tags::text
         FROM \"{table}\" ORDER BY id"
    ))
    .ok()
}

fn round_trip(mode: &str, query_mode: bool) {
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    let src = unique("src").replace('-', "_");
    let sink = unique("sink").replace('-', "_");
    let prefix = format!("{}-", unique("pg"));
    let topic = if query_mode {
        prefix.clone()
    } else {
        format!("{prefix}{src}")
    };
    create_source(&src_db, &src);
    insert_rows(&src_db, &src, 1, 3);

    let mut source = source_props(&jdbc_pg_url("postgres"), mode, &src, &prefix);
    if query_mode {
        source.retain(|(k, _)| *k != "table.whitelist");
        source.push(("query", format!("SELECT * FROM \"{src}\"")));
    }
    let p = Pipeline::start(&[
        (&unique("pg-source"), source),
        (
            &unique("pg-sink"),
            sink_props(&pg_sink_url(), &topic, &sink),
        ),
    ]);
    let expected = || canonical(&src_db, &src).expect("source rows");
    let read = || canonical(&sink_db, &sink);
    wait_same("the first rows in the sink", TIMEOUT, expected, read);

    if mode != "incrementing" {
        src_db.exec(&format!(
            "UPDATE \"{src}\" SET price = price + 1000.5, name = 'changed', updated_at = (now() AT TIME ZONE 'UTC') WHERE id = 2"
        ));
        wait_same("the updated row in the sink", TIMEOUT, expected, read);
    }
    insert_rows(&src_db, &src, 4, 60);
    wait_same("all rows in the sink", TIMEOUT, expected, read);

    let types = sink_db.column_types(&sink);
    let expect: Vec<(&str, &str)> = vec![
        ("id", "integer"),
        ("name", "text"),
        ("price", "numeric"),
        ("qty", "integer"),
        ("big", "bigint"),
        ("score", "double precision"),
        ("active", "boolean"),
        ("born", "date"),
        ("updated_at", "timestamp without time zone"),
        ("data", "text"),
        ("uid", "text"),
        ("raw", "bytea"),
        ("tags", "ARRAY"),
    ];
    let got: Vec<(&str, &str)> = types
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(got, expect);
    drop(p);
}

#[test]
fn incrementing_mode_round_trip() {
    round_trip("incrementing", false);
}

#[test]
fn timestamp_mode_round_trip() {
    round_trip("timestamp", false);
}

#[test]
fn timestamp_incrementing_mode_round_trip() {
    round_trip("timestamp+incrementing", false);
}

#[test]
fn bulk_mode_round_trip() {
    round_trip("bulk", false);
}

#[test]
fn query_mode_round_trip() {
    round_trip("timestamp+incrementing", true);
}

/// The source's offsets use Confluent's partition and offset maps.
#[test]
fn source_offsets_have_confluent_shape() {
    let db = Db::postgres();
    let src = unique("offs").replace('-', "_");
    create_source(&db, &src);
    insert_rows(&db, &src, 1, 5);
    let name = unique("pg-offsets");
    let p = Pipeline::start(&[(
        &name,
        source_props(PG_URL, "timestamp+incrementing", &src, "offs-"),
    )]);
    let offsets = wait_for("committed source offsets", TIMEOUT, || {
        let (code, body) = http_get(&p.worker.url(&format!("/connectors/{name}/offsets")))?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let first = v["offsets"].get(0)?.clone();
        (code == 200 && first["offset"]["incrementing"] == 5).then_some(first)
    });
    assert_eq!(offsets["partition"]["protocol"], "1");
    assert_eq!(
        offsets["partition"]["table"],
        format!("postgres.public.{src}")
    );
    assert!(offsets["offset"]["timestamp"].is_i64(), "{offsets}");
    assert!(offsets["offset"]["timestamp_nanos"].is_i64(), "{offsets}");
}

/// A column added upstream appears downstream with `auto.evolve`; without
/// it the sink task fails naming the table and the column.
#[test]
fn schema_evolution_with_and_without_auto_evolve() {
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    let src = unique("evo").replace('-', "_");
    let evolving = unique("evo_sink").replace('-', "_");
    let fixed = unique("fixed_sink").replace('-', "_");
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id SERIAL PRIMARY KEY, name TEXT NOT NULL)"
    ));
    src_db.exec(&format!("INSERT INTO \"{src}\" (name) VALUES ('a'), ('b')"));
    let prefix = format!("{}-", unique("evo"));
    let topic = format!("{prefix}{src}");
    let mut strict = sink_props(&pg_sink_url(), &topic, &fixed);
    strict.retain(|(k, _)| *k != "auto.evolve");
    strict.push(("auto.evolve", "false".into()));
    let strict_name = unique("strict-sink");
    let p = Pipeline::start(&[
        (
            &unique("evo-source"),
            source_props(PG_URL, "incrementing", &src, &prefix),
        ),
        (
            &unique("evo-sink"),
            sink_props(&pg_sink_url(), &topic, &evolving),
        ),
        (&strict_name, strict),
    ]);
    let rows = |db: &Db, t: &str| {
        db.try_query_text(&format!("SELECT id::text, name FROM \"{t}\" ORDER BY id"))
            .ok()
    };
    wait_for("both sinks to have the first rows", TIMEOUT, || {
        (rows(&sink_db, &evolving)?.len() == 2 && rows(&sink_db, &fixed)?.len() == 2).then_some(())
    });

    src_db.exec(&format!("ALTER TABLE \"{src}\" ADD COLUMN note TEXT"));
    src_db.exec(&format!(
        "INSERT INTO \"{src}\" (name, note) VALUES ('c', 'new column')"
    ));
    wait_same(
        "the new column downstream",
        TIMEOUT,
        || {
            vec![
                vec!["1".into(), "a".into(), "NULL".into()],
                vec!["2".into(), "b".into(), "NULL".into()],
                vec!["3".into(), "c".into(), "new column".into()],
            ]
        },
        || {
            sink_db
                .try_query_text(&format!(
                    "SELECT id::text, name, note FROM \"{evolving}\" ORDER BY id"
                ))
                .ok()
        },
    );
    let (state, trace) = wait_for("the strict sink task to fail", TIMEOUT, || {
        p.task_state(&strict_name).filter(|(s, _)| s == "FAILED")
    });
    assert_eq!(state, "FAILED");
    assert!(
        trace.contains(&fixed) && trace.contains("note") && trace.contains("auto.evolve"),
        "{trace}"
    );
    assert_eq!(rows(&sink_db, &fixed).map(|r| r.len()), Some(2));
}

/// Tombstones delete by key (pk.mode=record_key, delete.enabled=true).
#[test]
fn tombstones_delete_rows() {
    let sink_db = Db::postgres_sink();
    let topic = unique("tomb");
    let table = topic.replace('-', "_");
    create_topic(&topic, 1);
    let key = |id: i64| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}}],"optional":false}},"payload":{{"id":{id}}}}}"#
        )
    };
    let value = |id: i64, name: &str| {
        Some(format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}},{{"type":"string","optional":true,"field":"name"}}],"optional":false,"name":"row"}},"payload":{{"id":{id},"name":"{name}"}}}}"#
        ))
    };
    let mut records: Vec<(String, Option<String>)> =
        (1..=5).map(|i| (key(i), value(i, "v1"))).collect();
    records.push((key(2), None));
    records.push((key(4), None));
    records.push((key(3), value(3, "v2")));
    produce_keyed(&topic, &records);
    let mut sink = sink_props(&pg_sink_url(), &topic, &table);
    sink.retain(|(k, _)| !matches!(*k, "pk.mode" | "pk.fields"));
    sink.push(("pk.mode", "record_key".into()));
    sink.push(("pk.fields", "id".into()));
    sink.push(("delete.enabled", "true".into()));
    let _p = Pipeline::start(&[(&unique("tomb-sink"), sink)]);
    wait_same(
        "deleted rows gone",
        TIMEOUT,
        || {
            vec![
                vec!["1".into(), "v1".into()],
                vec!["3".into(), "v2".into()],
                vec!["5".into(), "v1".into()],
            ]
        },
        || {
            sink_db
                .try_query_text(&format!(
                    "SELECT id::text, name FROM \"{table}\" ORDER BY id"
                ))
                .ok()
        },
    );
}

/// SIGKILL the worker while the sink writes: after a restart every row is
/// there exactly once with its last value.
#[test]
fn upserts_survive_a_killed_worker() {
    let sink_db = Db::postgres_sink();
    let topic = unique("kill");
    let table = topic.replace('-', "_");
    create_topic(&topic, 2);
    let n = 20_000i64;
    let records: Vec<(String, Option<String>)> = (0..n)
        .map(|i| {
            let id = i % 5_000;
            (
                id.to_string(),
                Some(format!(
                    r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}},{{"type":"int64","optional":false,"field":"seq"}}],"optional":false}},"payload":{{"id":{id},"seq":{i}}}}}"#
                )),
            )
        })
        .collect();
    produce_keyed(&topic, &records);
    let mut sink = sink_props(&pg_sink_url(), &topic, &table);
    sink.push(("batch.size", "500".into()));
    sink.push((
        "key.converter",
        "org.apache.kafka.connect.storage.StringConverter".into(),
    ));
    sink.push(("consumer.override.max.poll.records", "500".into()));
    let mut p = Pipeline::start(&[(&unique("kill-sink"), sink)]);
    wait_for("some rows written", TIMEOUT, || {
        sink_db.count(&table).filter(|c| *c > 0).map(|_| ())
    });
    p.worker.kill();
    p.restart();
    // Keys are spread over partitions by the key hash, so each id's last
    // record is the one with the highest seq among its records.
    let expected: Vec<Vec<String>> = (0..5_000)
        .map(|id| vec![id.to_string(), (id + 15_000).to_string()])
        .collect();
    wait_same(
        "every id with its last seq",
        Duration::from_secs(180),
        || expected.clone(),
        || {
            sink_db
                .try_query_text(&format!(
                    "SELECT id::text, seq::text FROM \"{table}\" t ORDER BY t.id"
                ))
                .ok()
        },
    );
}

/// A table created while the connector runs is found by the table monitor,
/// the tasks are reconfigured, and its rows reach its own topic.
#[test]
fn new_tables_are_picked_up() {
    let db = Db::postgres();
    let first = unique("mon_a").replace('-', "_");
    let second = unique("mon_b").replace('-', "_");
    let prefix = format!("{}-", unique("mon"));
    db.exec(&format!(
        "CREATE TABLE \"{first}\" (id SERIAL PRIMARY KEY, v TEXT NOT NULL)"
    ));
    db.exec(&format!("INSERT INTO \"{first}\" (v) VALUES ('a'), ('b')"));
    let mut source = source_props(
        PG_URL,
        "incrementing",
        &format!("{first},{second}"),
        &prefix,
    );
    source.push(("table.poll.interval.ms", "500".into()));
    source.push(("tasks.max", "2".into()));
    let _p = Pipeline::start(&[(&unique("mon-source"), source)]);
    assert_eq!(
        consume_values(&format!("{prefix}{first}"), 2, TIMEOUT).len(),
        2
    );
    db.exec(&format!(
        "CREATE TABLE \"{second}\" (id SERIAL PRIMARY KEY, v TEXT NOT NULL)"
    ));
    db.exec(&format!(
        "INSERT INTO \"{second}\" (v) VALUES ('x'), ('y'), ('z')"
    ));
    let values = consume_values(&format!("{prefix}{second}"), 3, TIMEOUT);
    assert_eq!(values.len(), 3, "rows of the new table");
    let text = String::from_utf8(values[2].clone().unwrap_or_default()).unwrap_or_default();
    assert!(
        text.contains("\"v\":\"z\"") && text.contains(&format!("\"name\":\"{second}\"")),
        "{text}"
    );
}

/// Records the database refuses (here: too long for the column) go to the
/// errant record reporter, i.e. the dead letter queue; the rest are written.
#[test]
fn refused_records_go_to_the_dead_letter_queue() {
    let sink_db = Db::postgres_sink();
    let topic = unique("dlq-in");
    let dlq = unique("dlq");
    let table = topic.replace('-', "_");
    sink_db.exec(&format!(
        "CREATE TABLE \"{table}\" (id BIGINT PRIMARY KEY, name VARCHAR(5) NOT NULL)"
    ));
    create_topic(&topic, 1);
    let value = |id: i64, name: &str| {
        Some(format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}},{{"type":"string","optional":false,"field":"name"}}],"optional":false}},"payload":{{"id":{id},"name":"{name}"}}}}"#
        ))
    };
    let records: Vec<(String, Option<String>)> = [
        (1, "ok"),
        (2, "fine"),
        (3, "far too long"),
        (4, "good"),
        (5, "yes"),
    ]
    .iter()
    .map(|(i, n)| (i.to_string(), value(*i, n)))
    .collect();
    produce_keyed(&topic, &records);
    let mut sink = sink_props(&pg_sink_url(), &topic, &table);
    sink.retain(|(k, _)| *k != "auto.create");
    sink.push((
        "key.converter",
        "org.apache.kafka.connect.storage.StringConverter".into(),
    ));
    sink.push(("errors.tolerance", "all".into()));
    sink.push(("errors.deadletterqueue.topic.name", dlq.clone()));
    sink.push((
        "errors.deadletterqueue.topic.replication.factor",
        "1".into(),
    ));
    let _p = Pipeline::start(&[(&unique("dlq-sink"), sink)]);
    wait_same(
        "the good rows",
        TIMEOUT,
        || {
            [("1", "ok"), ("2", "fine"), ("4", "good"), ("5", "yes")]
                .iter()
                .map(|(a, b)| vec![a.to_string(), b.to_string()])
                .collect()
        },
        || {
            sink_db
                .try_query_text(&format!(
                    "SELECT id::text, name FROM \"{table}\" t ORDER BY t.id"
                ))
                .ok()
        },
    );
    let dead = consume_values(&dlq, 1, TIMEOUT);
    assert_eq!(dead.len(), 1);
    let text = String::from_utf8(dead[0].clone().unwrap_or_default()).unwrap_or_default();
    assert!(text.contains("far too long"), "{text}");
}

/// SIGKILL while the source reads a large table and the sink writes it:
/// after a restart the source continues from its committed offset and the
/// sink table ends up equal to the source table.
#[test]
fn source_and_sink_survive_a_killed_worker() {
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    let src = unique("ksrc").replace('-', "_");
    let sink = unique("ksink").replace('-', "_");
    let prefix = format!("{}-", unique("ks"));
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL, amount NUMERIC(10,2) NOT NULL)"
    ));
    src_db.exec(&format!(
        "INSERT INTO \"{src}\" (v, amount) SELECT 'v' || g, g / 8.0 FROM generate_series(1, 40000) g"
    ));
    let mut source = source_props(PG_URL, "incrementing", &src, &prefix);
    source.retain(|(k, _)| *k != "batch.max.rows");
    source.push(("batch.max.rows", "200".into()));
    let mut sink_cfg = sink_props(&pg_sink_url(), &format!("{prefix}{src}"), &sink);
    sink_cfg.push(("batch.size", "200".into()));
    sink_cfg.push(("consumer.override.max.poll.records", "200".into()));
    let mut p = Pipeline::start(&[
        (&unique("ks-source"), source),
        (&unique("ks-sink"), sink_cfg),
    ]);
    let part = wait_for("the sink to be part way", TIMEOUT, || {
        sink_db.count(&sink).filter(|c| *c > 0)
    });
    p.worker.kill();
    assert!(part < 40_000, "the copy was already complete ({part} rows)");
    src_db.exec(&format!(
        "INSERT INTO \"{src}\" (v, amount) SELECT 'w' || g, g / 4.0 FROM generate_series(1, 1000) g"
    ));
    p.restart();
    let canonical = |db: &Db, t: &str| {
        db.try_query_text(&format!(
            "SELECT count(*)::text, sum(id)::text, sum(amount)::text, count(DISTINCT v)::text FROM \"{t}\""
        ))
        .ok()
    };
    wait_same(
        "the sink to equal the source after the restart",
        Duration::from_secs(180),
        || canonical(&src_db, &src).expect("source"),
        || canonical(&sink_db, &sink),
    );
}

/// Timestamp mode reads `batch.max.rows` at a time; rows sharing a
/// timestamp across a batch boundary are all read, none twice.
#[test]
fn timestamp_mode_with_many_equal_timestamps() {
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    let src = unique("ties").replace('-', "_");
    let sink = unique("ties_sink").replace('-', "_");
    let prefix = format!("{}-", unique("ties"));
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id INT PRIMARY KEY, v TEXT NOT NULL, updated_at TIMESTAMP(3) NOT NULL)"
    ));
    src_db.exec(&format!(
        "INSERT INTO \"{src}\" SELECT g, 'v' || g, TIMESTAMP '2024-01-01 00:00:00' + (g % 7) * INTERVAL '1 second' FROM generate_series(1, 500) g"
    ));
    let source = source_props(PG_URL, "timestamp", &src, &prefix);
    let name = unique("ties-source");
    let p = Pipeline::start(&[
        (&name, source),
        (
            &unique("ties-sink"),
            sink_props(&pg_sink_url(), &format!("{prefix}{src}"), &sink),
        ),
    ]);
    let rows = |db: &Db, t: &str| {
        db.try_query_text(&format!(
            "SELECT count(*)::text, sum(id)::text, count(DISTINCT v)::text FROM \"{t}\""
        ))
        .ok()
    };
    wait_same(
        "every row in the sink",
        TIMEOUT,
        || rows(&src_db, &src).expect("source"),
        || rows(&sink_db, &sink),
    );
    // Exactly once into Kafka: no batch boundary repeated or skipped rows.
    let values = consume_values(&format!("{prefix}{src}"), 501, Duration::from_secs(10));
    assert_eq!(values.len(), 500);
    drop(p);
}
