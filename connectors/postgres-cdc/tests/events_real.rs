//! Rows of real changes made into Debezium's structs: a table with a
//! composite primary key declared out of column order, a dropped and a
//! generated column (neither sent by pgoutput), NOT NULL columns and
//! several types; its changes are read through a logical slot, its
//! columns from the catalog.

mod support;

use std::collections::HashMap;

use ferry_api::data::Value;
use ferry_connector_postgres_cdc::catalog;
use ferry_connector_postgres_cdc::events::TableSchema;
use ferry_connector_postgres_cdc::pgoutput::{decode, Message, OldTuple};
use ferry_connector_postgres_cdc::values::Modes;
use sqlx::Executor;

#[tokio::test]
async fn changes_become_debezium_rows_and_keys() {
    let mut db = support::connect().await;
    let table = support::unique("cdc_events");
    let publication = support::unique("cdc_events_pub");
    let slot = support::unique("cdc_events_slot");
    for sql in [
        format!(
            "CREATE TABLE {table} (a int NOT NULL, gone text, b varchar(10) NOT NULL, \
             amount numeric(10,2), at timestamptz, twice int GENERATED ALWAYS AS (a * 2) STORED, \
             tags text[], PRIMARY KEY (b, a))"
        ),
        format!("ALTER TABLE {table} DROP COLUMN gone"),
        format!("CREATE PUBLICATION {publication} FOR TABLE {table}"),
        format!("SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"),
        format!(
            "INSERT INTO {table} (a, b, amount, at, tags) \
             VALUES (1, 'x', 12.5, '2024-01-02 03:04:05.5+00', ARRAY['p', NULL])"
        ),
        format!("UPDATE {table} SET a = 2 WHERE a = 1"),
        format!("DELETE FROM {table} WHERE a = 2"),
        "SELECT pg_logical_emit_message(false, 'end', '')".into(),
    ] {
        db.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let payloads: Vec<Vec<u8>> = support::slot_messages(&mut db, &slot, &publication)
        .await
        .into_iter()
        .map(|(_, p)| p)
        .collect();

    let mut tables: HashMap<u32, TableSchema> = HashMap::new();
    let mut rows = Vec::new();
    for p in &payloads {
        match decode(p, false).expect("a pgoutput message") {
            Message::Relation(r) => {
                let columns = catalog::columns(&mut db, r.oid).await.expect("the catalog");
                assert_eq!(
                    columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                    r.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>(),
                    "the catalog's columns are the stream's"
                );
                let schema =
                    TableSchema::new("shop", &r.namespace, &r.name, &columns, Modes::default());
                tables.insert(r.oid, schema);
            }
            Message::Insert { relation, new, .. } => {
                rows.push(("c", tables[&relation].row(&new).expect("a row")))
            }
            Message::Update { relation, new, .. } => {
                rows.push(("u", tables[&relation].row(&new).expect("a row")))
            }
            Message::Delete {
                relation,
                old: OldTuple::Key(old),
                ..
            } => rows.push(("d", tables[&relation].row(&old).expect("a key row"))),
            _ => {}
        }
    }
    for sql in [
        format!("SELECT pg_drop_replication_slot('{slot}')"),
        format!("DROP PUBLICATION {publication}"),
        format!("DROP TABLE {table}"),
    ] {
        db.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let schema = tables.values().next().expect("the table's relation");
    assert_eq!(schema.topic, format!("shop.public.{table}"));
    let key = schema.key_schema.as_ref().expect("a primary key");
    let key_fields: Vec<&str> = key.fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        key_fields,
        vec!["b", "a"],
        "key fields in primary key order"
    );
    let value_fields: Vec<&str> = schema
        .value_schema
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(value_fields, vec!["a", "b", "amount", "at", "tags"]);
    let a = schema.value_schema.field("a").expect("a");
    assert!(!a.schema.is_optional(), "NOT NULL");
    assert!(schema
        .value_schema
        .field("amount")
        .expect("amount")
        .schema
        .is_optional());

    let ops: String = rows.iter().map(|(op, _)| *op).collect();
    assert_eq!(ops, "cud");
    let (row, key) = &rows[0].1;
    let key = key.as_ref().expect("a key");
    assert_eq!(key.get("b"), Some(&Value::String("x".into())));
    assert_eq!(key.get("a"), Some(&Value::Int32(1)));
    let Some(Value::Decimal(amount)) = row.get("amount") else {
        panic!("a decimal amount: {row:?}");
    };
    assert_eq!((amount.unscaled, amount.scale), (1250, 2));
    assert_eq!(
        row.get("at"),
        Some(&Value::String("2024-01-02T03:04:05.500000Z".into()))
    );
    assert_eq!(
        row.get("tags"),
        Some(&Value::Array(vec![Value::String("p".into()), Value::Null]))
    );
    // The delete carries the old key only: the other columns are null.
    let (row, key) = &rows[2].1;
    assert_eq!(
        key.as_ref().and_then(|k| k.get("a")),
        Some(&Value::Int32(2))
    );
    assert_eq!(row.get("amount"), Some(&Value::Null));
}
