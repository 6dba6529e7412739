//! What the connector relies on from the replication client
//! (`pgwire-replication`), against the PostgreSQL that
//! `deploy/local/postgres.sh` starts: a replication connection streams a
//! slot's changes, which the decoder reads, and the slot's confirmed flush
//! LSN moves to what the client acknowledges, and no further.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_connector_postgres_cdc::pgoutput::{decode, Message};
use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent};
use sqlx::{Connection, Executor, PgConnection, Row};

const PG_URL: &str = "postgresql://postgres@127.0.0.1:55432/postgres";

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

async fn exec(db: &mut PgConnection, sql: &str) {
    db.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The slot's `confirmed_flush_lsn` and whether a connection uses it.
async fn slot_state(db: &mut PgConnection, slot: &str) -> (u64, bool) {
    let row = sqlx::query(
        "SELECT (confirmed_flush_lsn - '0/0')::text, active FROM pg_replication_slots \
         WHERE slot_name = $1",
    )
    .bind(slot)
    .fetch_one(db)
    .await
    .expect("the slot");
    let lsn: String = row.get(0);
    (lsn.parse().expect("a number"), row.get(1))
}

#[tokio::test]
async fn streams_a_slot_and_confirms_what_is_acknowledged() {
    let mut db = PgConnection::connect(PG_URL).await.unwrap_or_else(|e| {
        panic!("cannot connect to {PG_URL}: {e}; start it with deploy/local/up.sh")
    });
    let table = unique("cdc_stream");
    let publication = unique("cdc_stream_pub");
    let slot = unique("cdc_stream_slot");
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
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (confirmed, _) = slot_state(&mut db, &slot).await;
        assert!(
            confirmed <= first,
            "the slot confirmed {confirmed}, past the acknowledged {first}"
        );
        if confirmed == first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot confirmed {first} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A few more status updates go by: still the first.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(slot_state(&mut db, &slot).await.0, first);

    client.shutdown().await.expect("a clean shutdown");
    let deadline = Instant::now() + Duration::from_secs(30);
    while slot_state(&mut db, &slot).await.1 {
        assert!(Instant::now() < deadline, "the slot released within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    exec(
        &mut db,
        &format!("SELECT pg_drop_replication_slot('{slot}')"),
    )
    .await;
    exec(&mut db, &format!("DROP PUBLICATION {publication}")).await;
    exec(&mut db, &format!("DROP TABLE {table}")).await;
}
