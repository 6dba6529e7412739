//! The streaming logic on real changes: PostgreSQL's own pgoutput messages
//! (read through a logical slot's SQL interface, the messages a
//! replication connection streams) become Debezium's events: creates,
//! updates with and without the old row, a primary-key change as a delete,
//! a tombstone and a create, deletes with tombstones, truncates; each with
//! its offset.

mod support;

use std::collections::BTreeSet;

use ferry_api::data::Value;
use ferry_connector_postgres_cdc::catalog;
use ferry_connector_postgres_cdc::offsets::MessageType;
use ferry_connector_postgres_cdc::pgoutput::{decode, Message};
use ferry_connector_postgres_cdc::stream::{
    ChangeEvent, ChangeStream, ContextHeaders, StreamSettings,
};
use ferry_connector_postgres_cdc::values::Modes;
use sqlx::Executor;

fn field<'a>(e: &'a ChangeEvent, path: &[&str]) -> Option<&'a Value> {
    let (_, envelope) = e.value.as_ref()?;
    let mut v = envelope.get(path[0])?;
    for p in &path[1..] {
        let Value::Struct(s) = v else { return None };
        v = s.get(p)?;
    }
    Some(v)
}

fn header<'a>(e: &'a ChangeEvent, name: &str) -> Option<&'a Value> {
    e.headers.iter().find(|h| h.key == name).map(|h| &h.value)
}

#[tokio::test]
async fn real_changes_become_debezium_events_with_offsets() {
    let mut db = support::connect().await;
    let t = support::unique("cdc_stream_t");
    let full = support::unique("cdc_stream_full");
    let publication = support::unique("cdc_stream_pub");
    let slot = support::unique("cdc_stream_slot");
    for sql in [
        format!("CREATE TABLE {t} (id int PRIMARY KEY, name text)"),
        format!("CREATE TABLE {full} (id int PRIMARY KEY, name text, doc text)"),
        format!("ALTER TABLE {full} REPLICA IDENTITY FULL"),
        format!("ALTER TABLE {full} ALTER COLUMN doc SET STORAGE EXTERNAL"),
        format!("CREATE PUBLICATION {publication} FOR TABLE {t}, {full}"),
        format!("SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"),
        format!("INSERT INTO {t} VALUES (1, 'a')"),
        format!("UPDATE {t} SET name = 'b' WHERE id = 1"),
        format!("UPDATE {t} SET id = 2 WHERE id = 1"),
        format!("DELETE FROM {t} WHERE id = 2"),
        format!("INSERT INTO {full} VALUES (1, 'x', repeat('d', 10000))"),
        format!("UPDATE {full} SET name = 'y' WHERE id = 1"),
        format!("TRUNCATE {t}"),
        "SELECT pg_logical_emit_message(false, 'end', '')".into(),
    ] {
        db.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let feed = support::slot_messages(&mut db, &slot, &publication).await;

    let mut stream = ChangeStream::new(
        StreamSettings {
            topic_prefix: "shop".into(),
            db: "postgres".into(),
            modes: Modes::default(),
            // Truncates published too.
            skipped_operations: BTreeSet::new(),
            tombstones_on_delete: true,
            context_headers: Some(ContextHeaders {
                run_id: "run-1".into(),
            }),
            transaction_topic: None,
        },
        None,
    );
    let mut events = Vec::new();
    let mut commits = Vec::new();
    for (lsn, payload) in &feed {
        let message = decode(payload, false).expect("a pgoutput message");
        match &message {
            Message::Relation(r) => {
                let columns = catalog::columns(&mut db, r.oid).await.expect("the catalog");
                stream.add_relation(r, Some(columns));
            }
            Message::Commit { .. } => commits.push(*lsn),
            _ => {}
        }
        stream
            .message(*lsn, &message, 1_700_000_000_000_000, &mut events)
            .expect("events");
    }
    for sql in [
        format!("SELECT pg_drop_replication_slot('{slot}')"),
        format!("DROP PUBLICATION {publication}"),
        format!("DROP TABLE {t}, {full}"),
    ] {
        db.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    let summary: Vec<String> = events
        .iter()
        .map(|e| {
            let table = if e.topic.ends_with(&t) { "t" } else { "full" };
            match field(e, &["op"]) {
                Some(Value::String(op)) => format!("{table}:{op}"),
                _ => format!("{table}:tombstone"),
            }
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "t:c",
            "t:u",
            "t:d",
            "t:tombstone",
            "t:c",
            "t:d",
            "t:tombstone",
            "full:c",
            "full:u",
            "t:t"
        ],
        "the events"
    );
    // The update keeping its key has no old row under the default identity.
    assert_eq!(field(&events[1], &["before"]), Some(&Value::Null));
    assert_eq!(
        field(&events[1], &["after", "name"]),
        Some(&Value::String("b".into()))
    );
    // The key change: the delete names the new key, the create the old.
    let Some(Value::Struct(new_key)) = header(&events[2], "__debezium.newkey") else {
        panic!("a new key header: {:?}", events[2].headers);
    };
    assert_eq!(new_key.get("id"), Some(&Value::Int32(2)));
    assert!(
        header(&events[3], "__debezium.newkey").is_some(),
        "the tombstone keeps the headers"
    );
    let Some(Value::Struct(old_key)) = header(&events[4], "__debezium.oldkey") else {
        panic!("an old key header");
    };
    assert_eq!(old_key.get("id"), Some(&Value::Int32(1)));
    assert_eq!(
        header(&events[0], "__debezium.context.runId"),
        Some(&Value::String("run-1".into()))
    );
    // REPLICA IDENTITY FULL: the old row, and the untouched TOASTed value
    // taken from it instead of the placeholder.
    assert_eq!(
        field(&events[8], &["before", "name"]),
        Some(&Value::String("x".into()))
    );
    let Some(Value::String(doc)) = field(&events[8], &["after", "doc"]) else {
        panic!("the document");
    };
    assert_eq!(doc.len(), 10_000);
    // The truncate has no key.
    assert!(events[9].key.is_none());

    // Offsets: each event at its own LSN; the last commit before it.
    let first = &events[0].offset;
    assert_eq!(first.lsn_commit, None);
    assert_eq!(first.message_type, Some(MessageType::Insert));
    assert_eq!(first.lsn, first.lsn_proc);
    let second = &events[1].offset;
    assert_eq!(second.lsn_commit, Some(commits[0]));
    assert!(second.lsn_proc > first.lsn_proc);
    assert_eq!(
        field(&events[1], &["source", "sequence"]),
        Some(&Value::String(format!(
            "[\"{}\",\"{}\"]",
            commits[0].0,
            second.lsn_proc.map_or(0, |l| l.0)
        )))
    );
    assert!(second.tx_id.is_some_and(|x| x > 0));
    assert!(second.ts_usec.is_some_and(|t| t > 1_600_000_000_000_000));
    assert_eq!(stream.offset().message_type, Some(MessageType::Message));
}
