//! MariaDB on either side: a MariaDB source table reaches a PostgreSQL
//! sink table, and a PostgreSQL source table reaches a MariaDB sink table
//! (upserts with `INSERT … ON DUPLICATE KEY UPDATE`), values and types kept.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use ferry_tests::*;
use jdbc_support::*;

#[test]
fn mariadb_source_to_postgres_sink() {
    let src_db = Db::mariadb();
    let sink_db = Db::postgres_sink();
    let src = unique("maria_src").replace('-', "_");
    let sink = unique("maria_sink").replace('-', "_");
    let prefix = format!("{}-", unique("maria"));
    src_db.exec(&format!(
        "CREATE TABLE `{src}` (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), price DECIMAL(10,2) NOT NULL,
            qty INT, big BIGINT, score DOUBLE, active TINYINT(1), born DATE, updated_at DATETIME(3) NOT NULL, raw VARBINARY(16))"
    ));
    let insert = |from: i32, n: i32| {
        for i in from..from + n {
            src_db.exec(&format!(
                "INSERT INTO `{src}` (name, price, qty, big, score, active, born, updated_at, raw)
                 VALUES ({}, {}.{:02}, {}, {}, {}.25, {}, '2024-04-{:02}', UTC_TIMESTAMP(3), UNHEX('0A{:02X}'))",
                if i % 3 == 0 { "NULL".into() } else { format!("'näme {i}'") },
                i * 11 - 20,
                i % 100,
                if i % 4 == 0 { "NULL".into() } else { (i * 5).to_string() },
                20_000_000_000i64 + i as i64,
                i,
                i % 2,
                1 + i % 27,
                i % 256
            ));
        }
    };
    insert(1, 4);
    let _p = Pipeline::start(&[
        (
            &unique("maria-source"),
            source_props(
                "jdbc:mariadb://127.0.0.1:53306/ferry?user=ferry&password=ferry",
                "timestamp+incrementing",
                &src,
                &prefix,
            ),
        ),
        (
            &unique("maria-sink"),
            sink_props(&pg_sink_url(), &format!("{prefix}{src}"), &sink),
        ),
    ]);
    let expected = || {
        src_db.query_text(&format!(
            "SELECT CAST(id AS CHAR), name, CAST(price AS CHAR), CAST(qty AS CHAR), CAST(big AS CHAR), CAST(score AS CHAR),
                    IF(active, 'true', 'false'), CAST(born AS CHAR), LEFT(DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f'), 23), HEX(raw)
             FROM `{src}` ORDER BY id"
        ))
    };
    let read = || {
        sink_db
            .try_query_text(&format!(
                "SELECT id::text, name, price::text, qty::text, big::text, score::text, active::text, born::text,
                        to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.MS'), upper(encode(raw, 'hex'))
                 FROM \"{sink}\" s ORDER BY s.id"
            ))
            .ok()
    };
    wait_same("MariaDB rows in Postgres", TIMEOUT, expected, read);
    src_db.exec(&format!(
        "UPDATE `{src}` SET price = -5.5, updated_at = UTC_TIMESTAMP(3) WHERE id = 3"
    ));
    insert(5, 30);
    wait_same(
        "updated and new MariaDB rows in Postgres",
        TIMEOUT,
        expected,
        read,
    );
    let types: Vec<String> = sink_db
        .column_types(&sink)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        types,
        vec![
            "integer",
            "text",
            "numeric",
            "integer",
            "bigint",
            "double precision",
            "boolean",
            "date",
            "timestamp without time zone",
            "bytea"
        ]
    );
}

#[test]
fn postgres_source_to_mariadb_sink() {
    let src_db = Db::postgres();
    let sink_db = Db::mariadb();
    let src = unique("pg2maria").replace('-', "_");
    let sink = unique("pg2maria_sink").replace('-', "_");
    let prefix = format!("{}-", unique("pg2maria"));
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id SERIAL PRIMARY KEY, name TEXT, price NUMERIC(9,3) NOT NULL, big BIGINT, active BOOLEAN,
            born DATE, updated_at TIMESTAMP(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))"
    ));
    let insert = |from: i32, n: i32| {
        src_db.exec(&format!(
            "INSERT INTO \"{src}\" (name, price, big, active, born)
             SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE 'nämé ' || g END, g * -1.125, g::bigint * 1000000000, g % 2 = 1, DATE '2023-12-30' + g
             FROM generate_series({from}, {}) g",
            from + n - 1
        ))
    };
    insert(1, 5);
    let _p = Pipeline::start(&[
        (
            &unique("pg2maria-source"),
            source_props(PG_URL, "timestamp", &src, &prefix),
        ),
        (
            &unique("pg2maria-sink"),
            sink_props(MARIADB_URL, &format!("{prefix}{src}"), &sink),
        ),
    ]);
    let expected = || {
        src_db.query_text(&format!(
            "SELECT id::text, name, price::text, big::text, active::text, born::text, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.MS')
             FROM \"{src}\" s ORDER BY s.id"
        ))
    };
    let read = || {
        sink_db
            .try_query_text(&format!(
                "SELECT CAST(id AS CHAR), CAST(name AS CHAR(255)), CAST(price AS CHAR), CAST(big AS CHAR), IF(active, 'true', 'false'), CAST(born AS CHAR),
                        LEFT(DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f'), 23)
                 FROM `{sink}` ORDER BY id"
            ))
            .ok()
    };
    wait_same("Postgres rows in MariaDB", TIMEOUT, expected, read);
    src_db.exec(&format!("UPDATE \"{src}\" SET name = 'changed', updated_at = (now() AT TIME ZONE 'UTC') WHERE id = 1"));
    insert(6, 20);
    wait_same(
        "updated and new Postgres rows in MariaDB",
        TIMEOUT,
        expected,
        read,
    );
    let types: Vec<String> = sink_db
        .column_types(&sink)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        types,
        vec!["int", "text", "decimal", "bigint", "tinyint", "date", "datetime"]
    );
}

/// `insert.mode=update` and tombstone deletes on MariaDB, keyed by the
/// record key's struct.
#[test]
fn updates_and_deletes_by_record_key() {
    let db = Db::mariadb();
    let topic = unique("maria-upd");
    let table = topic.replace('-', "_");
    db.exec(&format!(
        "CREATE TABLE `{table}` (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL)"
    ));
    db.exec(&format!(
        "INSERT INTO `{table}` VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')"
    ));
    create_topic(&topic, 1);
    let key = |id: i64| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}}],"optional":false}},"payload":{{"id":{id}}}}}"#
        )
    };
    let value = |id: i64, name: &str| {
        Some(format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}},{{"type":"string","optional":false,"field":"name"}}],"optional":false}},"payload":{{"id":{id},"name":"{name}"}}}}"#
        ))
    };
    produce_keyed(
        &topic,
        &[
            (key(1), value(1, "one")),
            (key(2), value(2, "two")),
            (key(3), None),
            (key(2), value(2, "deux")),
            (key(4), None),
        ],
    );
    let mut sink = sink_props(MARIADB_URL, &topic, &table);
    sink.retain(|(k, _)| !matches!(*k, "pk.mode" | "insert.mode" | "auto.create"));
    sink.push(("insert.mode", "update".into()));
    sink.push(("pk.mode", "record_key".into()));
    sink.push(("delete.enabled", "true".into()));
    let _p = Pipeline::start(&[(&unique("maria-upd-sink"), sink)]);
    wait_same(
        "updated and deleted rows",
        TIMEOUT,
        || {
            vec![
                vec!["1".into(), "one".into()],
                vec!["2".into(), "deux".into()],
            ]
        },
        || {
            db.try_query_text(&format!(
                "SELECT CAST(id AS CHAR), CAST(name AS CHAR(20)) FROM `{table}` ORDER BY id"
            ))
            .ok()
        },
    );
}
