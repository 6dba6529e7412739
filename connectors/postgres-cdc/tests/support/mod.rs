//! What the tests against the local PostgreSQL share.
#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_connector_postgres_cdc::lsn::Lsn;
use sqlx::{Connection, Executor, PgConnection, Row};

pub const PG_URL: &str = "postgresql://postgres@127.0.0.1:55432/postgres";

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

pub async fn connect() -> PgConnection {
    PgConnection::connect(PG_URL).await.unwrap_or_else(|e| {
        panic!("cannot connect to {PG_URL}: {e}; start it with deploy/local/up.sh")
    })
}

pub async fn exec(db: &mut PgConnection, sql: &str) {
    db.execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A wait for a condition: each [`Deadline::next`] fails the test once
/// `timeout` has passed, and otherwise lets a short interval go by before
/// the condition is checked again.
pub struct Deadline {
    what: String,
    until: Instant,
    every: tokio::time::Interval,
}

impl Deadline {
    pub fn new(what: impl Into<String>, timeout: Duration) -> Self {
        let period = Duration::from_millis(20);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Deadline {
            what: what.into(),
            until: Instant::now() + timeout,
            every,
        }
    }

    /// Fails the test when the deadline has passed; waits a tick if not.
    pub async fn next(&mut self) {
        assert!(Instant::now() < self.until, "{} in time", self.what);
        self.every.tick().await;
    }
}

/// The slot's messages, each with its LSN, through the SQL interface, up
/// to the first logical message (tests end their changes with one: with
/// synchronous_commit off, the slot reads only as far as WAL is flushed).
pub async fn slot_messages(
    db: &mut PgConnection,
    slot: &str,
    publication: &str,
) -> Vec<(Lsn, Vec<u8>)> {
    let mut feed: Vec<(Lsn, Vec<u8>)> = Vec::new();
    let sql = format!(
        "SELECT (lsn - '0/0')::text, data FROM pg_logical_slot_get_binary_changes('{slot}', \
         NULL, NULL, 'proto_version', '1', 'publication_names', '{publication}', 'messages', 'true')"
    );
    let mut deadline = Deadline::new("the slot to reach the last change", Duration::from_secs(30));
    loop {
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *db)
            .await
            .expect("the slot's changes");
        for r in &rows {
            let lsn: String = r.get(0);
            feed.push((Lsn(lsn.parse().expect("an LSN")), r.get(1)));
        }
        if feed.last().and_then(|(_, p)| p.first()) == Some(&b'M') {
            break;
        }
        deadline.next().await;
    }
    feed
}

/// The slot's `confirmed_flush_lsn` and whether a connection uses it.
pub async fn slot_state(db: &mut PgConnection, slot: &str) -> (u64, bool) {
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

/// Waits until no connection holds the slot, then drops it.
pub async fn drop_slot(db: &mut PgConnection, slot: &str) {
    let mut deadline = Deadline::new("the slot to be released", Duration::from_secs(30));
    while slot_state(db, slot).await.1 {
        deadline.next().await;
    }
    exec(db, &format!("SELECT pg_drop_replication_slot('{slot}')")).await;
}
