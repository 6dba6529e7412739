//! The decoder against what PostgreSQL's own pgoutput writes: changes are
//! made on the PostgreSQL that `deploy/local/postgres.sh` starts, read
//! back through a logical slot of the SQL interface
//! (`pg_logical_slot_get_binary_changes`, the same messages a replication
//! connection streams) and decoded.

mod support;

use ferry_connector_postgres_cdc::pgoutput::{
    decode, truncate_option, Column, Message, OldTuple, ReplicaIdentity,
};
use sqlx::Executor;

fn texts(columns: impl Iterator<Item = Column<'static>>) -> Vec<Option<String>> {
    columns
        .map(|c| match c {
            // Long values by their length: a failure stays readable.
            Column::Text(t) if t.len() > 40 => Some(format!("<{} bytes>", t.len())),
            Column::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            Column::Null => None,
            Column::UnchangedToast => Some("<unchanged>".into()),
            Column::Binary(_) => Some("<binary>".into()),
        })
        .collect()
}

#[tokio::test]
async fn decodes_what_postgres_writes() {
    let mut db = support::connect().await;
    let table = support::unique("cdc_decode");
    let full = format!("{table}_full");
    let publication = support::unique("cdc_pub");
    let slot = support::unique("cdc_slot");
    for sql in [
        format!("CREATE TABLE {table} (id int PRIMARY KEY, name varchar(20), note text)"),
        // Stored out of line, uncompressed, so that a long note is TOASTed.
        format!("ALTER TABLE {table} ALTER COLUMN note SET STORAGE EXTERNAL"),
        format!("CREATE TABLE {full} (id int PRIMARY KEY, name text)"),
        format!("ALTER TABLE {full} REPLICA IDENTITY FULL"),
        format!("CREATE PUBLICATION {publication} FOR TABLE {table}, {full}"),
        format!("SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"),
        // One transaction: insert, update, update of the key, delete.
        "BEGIN".into(),
        format!("INSERT INTO {table} VALUES (1, 'one', NULL), (2, 'two', repeat('x', 100000))"),
        format!("UPDATE {table} SET name = 'uno' WHERE id = 1"),
        format!("UPDATE {table} SET id = 3 WHERE id = 1"),
        format!("DELETE FROM {table} WHERE id = 3"),
        "COMMIT".into(),
        // The TOASTed note is untouched by this update.
        format!("UPDATE {table} SET name = 'dos' WHERE id = 2"),
        format!("INSERT INTO {full} VALUES (7, 'seven')"),
        format!("UPDATE {full} SET name = 'siete' WHERE id = 7"),
        format!("TRUNCATE {table}, {full} RESTART IDENTITY"),
        "SELECT pg_logical_emit_message(false, 'ferry', 'hello')".into(),
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
    for sql in [
        format!("SELECT pg_drop_replication_slot('{slot}')"),
        format!("DROP PUBLICATION {publication}"),
        format!("DROP TABLE {table}, {full}"),
    ] {
        db.execute(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    // Leaked so that decoded messages may borrow for the whole test.
    let payloads: &'static [Vec<u8>] = payloads.leak();
    let messages: Vec<Message<'static>> = payloads
        .iter()
        .map(|p| decode(p, false).unwrap_or_else(|e| panic!("{e}: {p:?}")))
        .collect();
    let kinds: String = messages
        .iter()
        .map(|m| match m {
            Message::Begin { .. } => 'B',
            Message::Commit { .. } => 'C',
            Message::Relation(_) => 'R',
            Message::Insert { .. } => 'I',
            Message::Update { .. } => 'U',
            Message::Delete { .. } => 'D',
            Message::Truncate { .. } => 'T',
            Message::LogicalMessage { .. } => 'M',
            _ => '?',
        })
        .collect();
    // TRUNCATE ... RESTART IDENTITY sends both relations again first.
    assert_eq!(kinds, "BRIIUUDCBUCBRICBUCBRRTCM", "{messages:#?}");

    let Message::Relation(rel) = &messages[1] else {
        unreachable!()
    };
    assert_eq!(
        (rel.namespace.as_str(), rel.name.as_str()),
        ("public", table.as_str())
    );
    assert_eq!(rel.replica_identity, ReplicaIdentity::Default);
    let cols: Vec<(&str, bool, u32, i32)> = rel
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.key, c.type_oid, c.type_modifier))
        .collect();
    // int4 = 23, varchar = 1043 with typmod length + 4, text = 25.
    assert_eq!(
        cols,
        vec![
            ("id", true, 23, -1),
            ("name", false, 1043, 24),
            ("note", false, 25, -1)
        ]
    );
    let Message::Begin { xid, final_lsn, .. } = messages[0] else {
        unreachable!()
    };
    let Message::Commit {
        commit_lsn,
        end_lsn,
        ..
    } = messages[7]
    else {
        unreachable!()
    };
    assert_eq!(final_lsn, commit_lsn, "Begin names its commit's LSN");
    assert!(end_lsn > commit_lsn);
    assert!(xid > 0);

    let Message::Insert { new, .. } = &messages[2] else {
        unreachable!()
    };
    assert_eq!(
        texts(new.columns()),
        vec![Some("1".into()), Some("one".into()), None]
    );
    // An update that keeps the key carries no old tuple; one that changes
    // it carries the old key.
    let Message::Update { old: None, new, .. } = &messages[4] else {
        panic!("{:?}", messages[4])
    };
    assert_eq!(texts(new.columns())[1], Some("uno".into()));
    let Message::Update {
        old: Some(OldTuple::Key(old)),
        new,
        ..
    } = &messages[5]
    else {
        panic!("{:?}", messages[5])
    };
    assert_eq!(texts(old.columns()), vec![Some("1".into()), None, None]);
    assert_eq!(texts(new.columns())[0], Some("3".into()));
    let Message::Delete {
        old: OldTuple::Key(old),
        ..
    } = &messages[6]
    else {
        panic!("{:?}", messages[6])
    };
    assert_eq!(texts(old.columns())[0], Some("3".into()));
    // The untouched TOASTed column is not sent.
    let Message::Update { new, .. } = &messages[9] else {
        unreachable!()
    };
    assert_eq!(
        texts(new.columns()),
        vec![
            Some("2".into()),
            Some("dos".into()),
            Some("<unchanged>".into())
        ]
    );
    // REPLICA IDENTITY FULL: the whole old row.
    let Message::Relation(full_rel) = &messages[12] else {
        unreachable!()
    };
    assert_eq!(full_rel.replica_identity, ReplicaIdentity::Full);
    let Message::Update {
        old: Some(OldTuple::Full(old)),
        ..
    } = &messages[16]
    else {
        panic!("{:?}", messages[16])
    };
    assert_eq!(
        texts(old.columns()),
        vec![Some("7".into()), Some("seven".into())]
    );
    let Message::Truncate {
        options, relations, ..
    } = &messages[21]
    else {
        unreachable!()
    };
    assert_eq!(*options, truncate_option::RESTART_IDENTITY);
    assert_eq!(relations.len(), 2);
    assert!(relations.contains(&rel.oid) && relations.contains(&full_rel.oid));
    let Message::LogicalMessage {
        transactional,
        prefix,
        content,
        ..
    } = &messages[23]
    else {
        unreachable!()
    };
    assert_eq!(
        (*transactional, *prefix, *content),
        (false, "ferry", &b"hello"[..])
    );
}
