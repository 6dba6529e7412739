//! SQLite (in-process) on either side: a SQLite source table reaches a
//! PostgreSQL sink table, and a PostgreSQL source table reaches a SQLite
//! sink table, with the same values and matching column types.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use ferry_tests::*;
use jdbc_support::*;

#[test]
fn sqlite_source_to_postgres_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("source.db");
    let src_db = Db::sqlite(&file);
    let sink_db = Db::postgres_sink();
    let src = "items";
    let sink = unique("lite_sink").replace('-', "_");
    let prefix = format!("{}-", unique("lite"));
    src_db.exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, price NUMERIC(10,2) NOT NULL, qty INTEGER,
            score REAL, active BOOLEAN, born DATE,
            updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')), raw BLOB)",
    );
    let insert = |from: i32, n: i32| {
        for i in from..from + n {
            src_db.exec(&format!(
                "INSERT INTO items (name, price, qty, score, active, born, raw) VALUES ({}, {}.{:02}, {}, {}.5, {}, '2024-03-{:02}', x'00ff{:02x}')",
                if i % 3 == 0 { "NULL".into() } else { format!("'name {i}'") },
                i * 3,
                i % 100,
                if i % 4 == 0 { "NULL".into() } else { (i * 2).to_string() },
                i,
                i % 2,
                1 + i % 27,
                i % 256
            ));
        }
    };
    insert(1, 5);
    let _p = Pipeline::start(&[
        (
            &unique("lite-source"),
            source_props(
                &format!("jdbc:sqlite:{}", file.display()),
                "timestamp+incrementing",
                src,
                &prefix,
            ),
        ),
        (
            &unique("lite-sink"),
            sink_props(&pg_sink_url(), &format!("{prefix}{src}"), &sink),
        ),
    ]);
    let expected = || {
        src_db.query_text(
            "SELECT CAST(id AS TEXT), name, printf('%.2f', price), CAST(qty AS TEXT), CAST(score AS TEXT),
                    CASE active WHEN 1 THEN 'true' ELSE 'false' END, CAST(born AS TEXT), CAST(updated_at AS TEXT), hex(raw)
             FROM items ORDER BY items.id",
        )
    };
    let read = || {
        sink_db
            .try_query_text(&format!(
                "SELECT id::text, name, price::text, qty::text, score::text, active::text, born::text,
                        to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.MS'), upper(encode(raw, 'hex'))
                 FROM \"{sink}\" s ORDER BY s.id"
            ))
            .ok()
    };
    wait_same("SQLite rows in Postgres", TIMEOUT, expected, read);
    src_db.exec("UPDATE items SET name = 'changed', price = 999.99, updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = 2");
    insert(6, 30);
    wait_same(
        "updated and new SQLite rows in Postgres",
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
            "bigint",
            "text",
            "numeric",
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
fn postgres_source_to_sqlite_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sink.db");
    let src_db = Db::postgres();
    let sink_db = Db::sqlite(&file);
    let src = unique("pg2lite").replace('-', "_");
    let sink = "copied";
    let prefix = format!("{}-", unique("pg2lite"));
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id SERIAL PRIMARY KEY, name VARCHAR(40), price NUMERIC(8,2) NOT NULL, active BOOLEAN,
            born DATE, at TIMESTAMP(3) NOT NULL, raw BYTEA)"
    ));
    let insert = |from: i32, n: i32| {
        src_db.exec(&format!(
            "INSERT INTO \"{src}\" (name, price, active, born, at, raw)
             SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END, g * 1.25, g % 2 = 0, DATE '2024-01-01' + g,
                    TIMESTAMP '2024-05-01 10:00:00.123' + g * INTERVAL '1 second', decode(lpad(to_hex(g), 4, '0'), 'hex')
             FROM generate_series({from}, {}) g",
            from + n - 1
        ))
    };
    insert(1, 10);
    let _p = Pipeline::start(&[
        (
            &unique("pg2lite-source"),
            source_props(PG_URL, "incrementing", &src, &prefix),
        ),
        (
            &unique("pg2lite-sink"),
            sink_props(
                &format!("jdbc:sqlite:{}", file.display()),
                &format!("{prefix}{src}"),
                sink,
            ),
        ),
    ]);
    let expected = || {
        src_db.query_text(&format!(
            "SELECT id::text, name, to_char(price, 'FM999999990.00'), active::text, born::text,
                    to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS'), upper(encode(raw, 'hex'))
             FROM \"{src}\" s ORDER BY s.id"
        ))
    };
    let read = || {
        sink_db
            .try_query_text(
                "SELECT CAST(id AS TEXT), name, printf('%.2f', price), CASE active WHEN 1 THEN 'true' ELSE 'false' END,
                        CAST(born AS TEXT), strftime('%Y-%m-%d %H:%M:%f', at), hex(raw)
                 FROM copied ORDER BY copied.id",
            )
            .ok()
    };
    wait_same("Postgres rows in SQLite", TIMEOUT, expected, read);
    insert(11, 40);
    wait_same("new Postgres rows in SQLite", TIMEOUT, expected, read);
    let types: Vec<String> = sink_db
        .column_types(sink)
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        types,
        vec!["integer", "text", "numeric", "integer", "date", "numeric", "blob"]
    );
}
