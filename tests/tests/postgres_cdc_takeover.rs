//! Takeover both ways: Debezium 3.6.1 on Kafka Connect 4.3.1 snapshots
//! and streams a table and stops; Ferry, started on the same offsets file,
//! connector name and slot, continues; then Debezium takes back from
//! Ferry's offsets. Every row arrives exactly once: no change is lost at a
//! handover and none is sent twice.

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

#[test]
fn debezium_and_ferry_take_over_from_each_other() {
    require_kafka();
    let plugin = Command::new(deploy_script("connect-plugin.sh"))
        .arg("io.debezium:debezium-connector-postgres:3.6.1.Final")
        .output()
        .expect("run connect-plugin.sh");
    assert!(
        plugin.status.success(),
        "{}",
        String::from_utf8_lossy(&plugin.stderr)
    );
    let plugin = String::from_utf8_lossy(&plugin.stdout).trim().to_owned();

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
    let connector = write_connector(
        dir.path(),
        &unique("takeover-cdc"),
        &[
            (
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            ),
            ("tasks.max", "1"),
            ("database.hostname", "127.0.0.1"),
            ("database.port", "55432"),
            ("database.user", "postgres"),
            ("database.dbname", "postgres"),
            ("database.sslmode", "disable"),
            ("topic.prefix", &prefix),
            ("plugin.name", "pgoutput"),
            ("slot.name", &slot),
            ("publication.name", &publication),
            ("publication.autocreate.mode", "filtered"),
            ("table.include.list", &include),
            ("poll.interval.ms", "100"),
        ],
    );
    // Ferry's worker properties; Kafka Connect's name the same offsets
    // file and converters.
    let mut ferry = Worker::new(dir.path(), &[]);
    let port = free_port();
    let connect_props = dir.path().join("connect.properties");
    std::fs::write(
        &connect_props,
        format!(
            "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\nplugin.path={plugin}\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=1000\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n",
            bootstrap(),
            dir.path().join("offsets").display()
        ),
    )
    .expect("connect.properties");
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

    wait_for("the slot to be released", WAIT, || {
        let active = db.query_text(&format!(
            "SELECT active::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ));
        (active.first().map(|r| r[0].as_str()) != Some("true")).then_some(())
    });
    db.exec(&format!("SELECT pg_drop_replication_slot('{slot}')"));
    db.exec(&format!("DROP PUBLICATION {publication}"));
    db.exec(&format!("DROP TABLE {table}"));
}
