//! What the connector relies on from the replication client
//! (`pgwire-replication`), against the PostgreSQL that
//! `deploy/local/postgres.sh` starts: a replication connection streams a
//! slot's changes, which the decoder reads, and the slot's confirmed flush
//! LSN moves to what the client acknowledges, and no further.

use std::time::{Duration, Instant};

use ferry_connector_postgres_cdc::pgoutput::{decode, Message};
use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent};
use sqlx::{PgConnection, Row};

mod support;

use support::{exec, slot_state, Deadline};

/// When the server last heard a status update from the slot's client.
async fn last_reply(db: &mut PgConnection, slot: &str) -> Option<String> {
    sqlx::query(
        "SELECT r.reply_time::text FROM pg_stat_replication r \
         JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1",
    )
    .bind(slot)
    .fetch_optional(db)
    .await
    .expect("the replication state")
    .and_then(|r| r.get(0))
}

#[tokio::test]
async fn streams_a_slot_and_confirms_what_is_acknowledged() {
    let mut db = support::connect().await;
    let table = support::unique("cdc_stream");
    let publication = support::unique("cdc_stream_pub");
    let slot = support::unique("cdc_stream_slot");
    exec(
        &mut db,
        &format!("CREATE TABLE {table} (id int PRIMARY KEY, name text)"),
    )
    .await;
    exec(
        &mut db,
        &format!("CREATE PUBLICATION {publication} FOR TABLE {table}"),
    )
    .await;
    exec(
        &mut db,
        &format!("SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"),
    )
    .await;
    exec(
        &mut db,
        &format!("INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
    )
    .await;
    exec(
        &mut db,
        &format!("UPDATE {table} SET name = 'B' WHERE id = 2"),
    )
    .await;

    let config = ReplicationConfig::new(
        "127.0.0.1",
        "postgres",
        "",
        "postgres",
        &slot,
        publication.as_str(),
    )
    .with_port(55432)
    .with_status_interval(Duration::from_millis(100));
    let mut client = ReplicationClient::connect(config)
        .await
        .expect("a replication connection");
    let mut commits = Vec::new();
    let mut changes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while commits.len() < 2 {
        assert!(Instant::now() < deadline, "two transactions within 30 s");
        let event = tokio::time::timeout(Duration::from_secs(30), client.recv())
            .await
            .expect("an event within 30 s")
            .expect("the stream")
            .expect("the stream open");
        match event {
            ReplicationEvent::XLogData {
                data, wal_start, ..
            } => {
                let kind = match decode(&data, false).expect("a pgoutput message") {
                    Message::Relation(r) => {
                        assert_eq!(r.name, table);
                        'R'
                    }
                    Message::Insert { .. } => 'I',
                    Message::Update { .. } => 'U',
                    other => panic!("unexpected {other:?}"),
                };
                changes.push((kind, wal_start));
            }
            ReplicationEvent::Commit { end_lsn, .. } => commits.push(end_lsn),
            _ => {}
        }
    }
    let kinds: String = changes.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, "RIIIU");
    assert!(
        changes.windows(2).all(|w| w[0].1 <= w[1].1),
        "changes in WAL order: {changes:?}"
    );

    // Acknowledge the first transaction only: the slot confirms it, not
    // the second.
    let first = commits[0].as_u64();
    client.update_applied_lsn(commits[0]);
    let mut deadline = Deadline::new(
        format!("the slot to confirm {first}"),
        Duration::from_secs(30),
    );
    loop {
        let (confirmed, _) = slot_state(&mut db, &slot).await;
        assert!(
            confirmed <= first,
            "the slot confirmed {confirmed}, past the acknowledged {first}"
        );
        if confirmed == first {
            break;
        }
        deadline.next().await;
    }
    // Further status updates arrive: still the first.
    let seen = last_reply(&mut db, &slot).await;
    let mut deadline = Deadline::new("another status update", Duration::from_secs(30));
    while last_reply(&mut db, &slot).await == seen {
        deadline.next().await;
    }
    assert_eq!(slot_state(&mut db, &slot).await.0, first);

    client.shutdown().await.expect("a clean shutdown");
    support::drop_slot(&mut db, &slot).await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}")).await;
}
