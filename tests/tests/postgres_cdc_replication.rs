//! Replication end to end: a PostgreSQL table → Ferry's CDC connector →
//! Kafka → Debezium's `ExtractNewRecordState` → Ferry's JDBC sink → a
//! second database, under a concurrent load of inserts, updates and
//! deletes, with the worker SIGKILLed part way and started again:
//! afterwards the replica equals the source table. Once into PostgreSQL,
//! once into MariaDB.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use ferry_tests::*;
use jdbc_support::*;

const ROWS: &str = "SELECT id::text, name, qty::text, price::numeric(10,2)::text FROM";
const MARIADB_ROWS: &str =
    "SELECT CAST(id AS CHAR), CAST(name AS CHAR(255)), CAST(qty AS CHAR), CAST(price AS CHAR) FROM";

#[test]
fn a_table_is_replicated_into_postgresql_under_load_through_a_kill() {
    replicate(Db::postgres_sink(), &pg_sink_url(), ROWS);
}

#[test]
fn a_table_is_replicated_into_mariadb_under_load_through_a_kill() {
    replicate(Db::mariadb(), MARIADB_URL, MARIADB_ROWS);
}

/// Replicates a new table into `sink_db` (at `sink_url`), whose rows
/// `rows` selects as text in the source's form. Both sides are ordered by
/// the table's own `id` column, not the text one the select names `id`.
fn replicate(sink_db: Db, sink_url: &str, rows: &str) {
    let src_db = Db::postgres();
    let table = unique("repl_src").replace('-', "_");
    let replica = unique("repl_dst").replace('-', "_");
    let slot = unique("repl_slot").replace('-', "_");
    let publication = unique("repl_pub").replace('-', "_");
    let prefix = unique("repl");
    src_db.exec(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(10,2))"
    ));
    src_db.exec(&format!(
        "INSERT INTO {table} SELECT g, 'row ' || g, g % 7, g * 0.25 FROM generate_series(1, 500) g"
    ));
    let include = format!("public.{table}");
    let topic = format!("{prefix}.public.{table}");
    let settings = CdcSettings::new(&prefix, &slot, &publication, &include);
    let cdc: Vec<(&str, String)> = settings
        .pairs()
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    let sink = vec![
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector".to_owned(),
        ),
        ("connection.url", sink_url.to_owned()),
        ("topics", topic.clone()),
        ("table.name.format", replica.clone()),
        ("insert.mode", "upsert".into()),
        ("pk.mode", "record_key".into()),
        ("delete.enabled", "true".into()),
        ("auto.create", "true".into()),
        ("consumer.override.auto.offset.reset", "earliest".into()),
        ("transforms", "unwrap".into()),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState".into(),
        ),
    ];
    let mut p = Pipeline::start(&[(&unique("repl-cdc"), cdc), (&unique("repl-sink"), sink)]);

    // The load: 40 transactions of inserts, updates and deletes, written
    // while the pipeline runs and through the kill.
    let writer_table = table.clone();
    let writer = std::thread::spawn(move || {
        let db = Db::postgres();
        for batch in 0..40 {
            let from = 1_000 + batch * 25;
            let sql = format!(
                "BEGIN; \
                 INSERT INTO {t} SELECT g, 'new ' || g, g % 5, g * 0.5 FROM generate_series({from}, {to}) g; \
                 UPDATE {t} SET qty = qty + 1, name = name || '!' WHERE id % 40 = {m}; \
                 DELETE FROM {t} WHERE id % 97 = {m}; \
                 COMMIT;",
                t = writer_table,
                to = from + 24,
                m = batch % 40,
            );
            wait_for(&format!("batch {batch} written"), TIMEOUT, || {
                db.try_exec(&sql).ok()
            });
        }
    });

    // Killed once the replica holds part of the load.
    wait_for("the replica to hold part of the load", TIMEOUT, || {
        sink_db.count(&replica).filter(|c| *c > 600)
    });
    p.worker.kill();
    p.restart();
    writer.join().expect("the writer");

    wait_same(
        "the replica to equal the source",
        TIMEOUT,
        || src_db.query_text(&format!("{ROWS} {table} ORDER BY {table}.id")),
        || {
            sink_db
                .try_query_text(&format!("{rows} {replica} ORDER BY {replica}.id"))
                .ok()
        },
    );
    p.worker.terminate();

    src_db.drop_cdc(&slot, &publication, &table);
    sink_db.exec(&format!("DROP TABLE IF EXISTS {replica}"));
}
