//! Change data capture under faults: the server restarted and the
//! replication connection cut while changes keep coming lose nothing and
//! repeat nothing (no change event, no transaction BEGIN or END); refusals (an unknown role, a role without the
//! replication privilege, a slot another session holds, a slot dropped
//! while streaming, `wal_level` not logical) fail the task with a trace
//! naming the cause. A snapshot cut by a server crash is taken again.
//!
//! A server taking TCP over TLS only is streamed from with its certificate
//! verified, and refuses a connector without TLS or trusting another CA.
//!
//! The restart, `wal_level` and TLS tests run their own PostgreSQL instances
//! (`deploy/local/postgres.sh` with their own state directory and port),
//! so the shared server the other tests use is never restarted.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;
use serde_json::{json, Value as Json};

const WAIT: Duration = Duration::from_secs(90);

/// A PostgreSQL instance of a test's own, stopped when dropped.
struct OwnPostgres {
    state: tempfile::TempDir,
    port: u16,
    settings: String,
    /// TCP over TLS only, with a test CA.
    tls: bool,
}

impl OwnPostgres {
    fn start(settings: &str) -> OwnPostgres {
        Self::start_with(settings, false)
    }

    fn start_with(settings: &str, tls: bool) -> OwnPostgres {
        let pg = OwnPostgres {
            state: tempfile::tempdir().expect("a state directory"),
            port: free_port(),
            settings: settings.to_owned(),
            tls,
        };
        pg.script(&["start"]);
        pg
    }

    fn script(&self, args: &[&str]) {
        let status = Command::new(deploy_script("postgres.sh"))
            .args(args)
            .env("FERRY_STATE", self.state.path())
            .env("FERRY_POSTGRES_PORT", self.port.to_string())
            .env("FERRY_POSTGRES_SETTINGS", &self.settings)
            .env("FERRY_POSTGRES_TLS", if self.tls { "1" } else { "0" })
            .status()
            .expect("postgres.sh runs");
        assert!(status.success(), "postgres.sh {args:?}");
    }

    fn db(&self) -> Db {
        let tls = if self.tls { "?sslmode=require" } else { "" };
        Db::connect(
            Kind::Postgres,
            &format!(
                "postgresql://postgres@127.0.0.1:{}/postgres{tls}",
                self.port
            ),
        )
    }

    /// The CA the server's certificate is signed by.
    fn ca(&self) -> String {
        self.state
            .path()
            .join("postgres/tls/ca.crt")
            .display()
            .to_string()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(deploy_script("postgres.sh"))
            .arg("stop")
            .env("FERRY_STATE", self.state.path())
            .env("FERRY_POSTGRES_PORT", self.port.to_string())
            .status();
    }
}

fn cdc_config(port: u16, prefix: &str, slot: &str, table: &str, extra: &[(&str, &str)]) -> Json {
    let table = format!("public.{table}");
    let mut config = CdcSettings::new(prefix, slot, &format!("{slot}_pub"), &table)
        .set("database.port", port.to_string())
        .set("status.update.interval.ms", "200")
        .set("retriable.restart.connector.wait.ms", "200")
        .json();
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

fn create(worker: &Worker, name: &str, config: Json) {
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": name, "config": config})),
    );
    assert_eq!(code, 201, "{body}");
}

fn task_state(worker: &Worker, name: &str) -> Json {
    call(
        "GET",
        &worker.url(&format!("/connectors/{name}/status")),
        None,
    )
    .1["tasks"][0]
        .clone()
}

/// The task's trace once it has failed.
fn failure(worker: &Worker, name: &str) -> String {
    let task = wait_for(&format!("{name} to fail"), WAIT, || {
        let task = task_state(worker, name);
        (task["state"] == "FAILED").then_some(task)
    });
    task["trace"].as_str().unwrap_or_default().to_owned()
}

/// How many times each id was created among the change events.
fn creates(records: &[Consumed]) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for value in records.iter().filter_map(|r| r.value.as_deref()) {
        let event: Json = serde_json::from_slice(value).expect("a JSON event");
        if event["payload"]["op"] == "c" {
            let id = event["payload"]["after"]["id"].as_i64().expect("an id");
            *seen.entry(id).or_default() += 1;
        }
    }
    seen
}

/// Inserts batches of `per_batch` rows, one transaction each, until
/// `stop`, counting the rows written in `written`; a batch that fails (the
/// server going away) is tried again, and `ON CONFLICT` makes a batch that
/// committed unseen harmless.
fn write_load(
    url: String,
    table: String,
    per_batch: i64,
    written: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let db = Db::connect(Kind::Postgres, &url);
        let mut next = 1;
        while !stop.load(Ordering::Relaxed) {
            let sql = format!(
                "INSERT INTO {table} SELECT g, 'load' FROM generate_series({next}, {}) g \
                 ON CONFLICT DO NOTHING",
                next + per_batch - 1
            );
            if db.try_exec(&sql).is_ok() {
                next += per_batch;
                written.store(next - 1, Ordering::Relaxed);
            }
            // At most some thousand rows a second: the point is changes
            // arriving while the faults happen, not volume.
            std::thread::park_timeout(Duration::from_millis(10));
        }
    })
}

fn walsender_pid(db: &Db, slot: &str) -> Option<String> {
    db.try_query_text(&format!(
        "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = '{slot}' AND active"
    ))
    .ok()?
    .first()
    .map(|r| r[0].clone())
}

/// Waits until the writer has written 100 rows more, and then until
/// Kafka holds as many change events as there are rows written.
fn wait_progress(written: &AtomicI64, topic: &str) {
    let from = written.load(Ordering::Relaxed);
    let upto = wait_for("100 more rows written", WAIT, || {
        let n = written.load(Ordering::Relaxed);
        (n >= from + 100).then_some(n)
    });
    wait_for(&format!("{upto} change events in Kafka"), WAIT, || {
        (record_count(topic) >= upto).then_some(())
    });
}

#[test]
fn a_restarted_server_and_cut_connections_lose_and_repeat_nothing() {
    require_kafka();
    // Acknowledged commits must survive the crash below.
    let pg = OwnPostgres::start("-c synchronous_commit=on");
    let db = pg.db();
    let table = "faults";
    db.exec(&format!(
        "CREATE TABLE {table} (id bigint PRIMARY KEY, note text)"
    ));
    let slot = "faults_slot";
    let prefix = unique("cdc-faults");
    let topic = format!("{prefix}.public.{table}");
    let dir = tempfile::tempdir().expect("a directory");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    create(
        &worker,
        "faults",
        cdc_config(
            pg.port,
            &prefix,
            slot,
            table,
            &[
                ("snapshot.mode", "no_data"),
                ("provide.transaction.metadata", "true"),
            ],
        ),
    );
    wait_for("the slot to stream", WAIT, || walsender_pid(&db, slot));

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicI64::new(0));
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", pg.port);
    let writer = write_load(
        url,
        table.to_owned(),
        10,
        Arc::clone(&written),
        Arc::clone(&stop),
    );
    wait_progress(&written, &topic);

    // The connection cut from the server's side, twice.
    for _ in 0..2 {
        let pid = wait_for("a streaming session", WAIT, || walsender_pid(&db, slot));
        db.exec(&format!("SELECT pg_terminate_backend({pid})"));
        wait_progress(&written, &topic);
    }
    // The server crashed and started again under load.
    pg.script(&["stop", "--immediate"]);
    pg.script(&["start"]);
    wait_progress(&written, &topic);

    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the writer");
    let written = written.load(Ordering::Relaxed);
    let records = wait_for("every row's change event", WAIT, || {
        let records = consume_records(&topic, usize::MAX, Duration::from_secs(5));
        (records.len() as i64 >= written).then_some(records)
    });
    let created = creates(&records);
    let repeated: Vec<_> = created.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "no change sent twice: {repeated:?}\n{}",
        worker.log_text()
    );
    assert_eq!(
        created.keys().copied().collect::<Vec<_>>(),
        (1..=written).collect::<Vec<_>>(),
        "every change, once"
    );
    // Each transaction began and ended once, its END counting its rows.
    let mut ends = BTreeMap::new();
    let mut begins = BTreeMap::new();
    for r in consume_records(
        &format!("{prefix}.transaction"),
        usize::MAX,
        Duration::from_secs(5),
    ) {
        let value: Json =
            serde_json::from_slice(r.value.as_deref().expect("a value")).expect("JSON");
        let payload = &value["payload"];
        let tx = payload["id"]
            .as_str()
            .and_then(|id| id.split(':').next())
            .expect("an id")
            .to_owned();
        let seen = if payload["status"] == "BEGIN" {
            &mut begins
        } else {
            &mut ends
        };
        *seen.entry(tx).or_insert(0) += 1;
        if payload["status"] == "END" {
            assert_eq!(payload["event_count"], 10, "{payload}");
        }
    }
    assert!(
        begins.values().chain(ends.values()).all(|n| *n == 1),
        "BEGIN {begins:?}\nEND {ends:?}"
    );
    assert_eq!(
        begins.keys().collect::<Vec<_>>(),
        ends.keys().collect::<Vec<_>>()
    );
    assert_eq!(ends.len() as i64 * 10, written);
    assert_eq!(task_state(&worker, "faults")["state"], "RUNNING");
    let log = worker.log_text();
    assert_eq!(
        log.matches("replication stream reconnected").count(),
        3,
        "{log}"
    );
    worker.terminate();
}

#[test]
fn a_snapshot_cut_by_a_server_crash_is_taken_again() {
    require_kafka();
    let pg = OwnPostgres::start("-c synchronous_commit=on");
    let db = pg.db();
    let table = "cut";
    let rows: i64 = 200_000;
    db.exec(&format!(
        "CREATE TABLE {table} (id bigint PRIMARY KEY, note text)"
    ));
    db.exec(&format!(
        "INSERT INTO {table} SELECT g, repeat('n', 100) FROM generate_series(1, {rows}) g"
    ));
    db.exec("CREATE TABLE cut_after (id bigint PRIMARY KEY, note text)");
    let slot = "cut_slot";
    let prefix = unique("cdc-cut");
    let topic = format!("{prefix}.public.{table}");
    let dir = tempfile::tempdir().expect("a directory");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    create(
        &worker,
        "cut",
        cdc_config(
            pg.port,
            &prefix,
            slot,
            table,
            &[("table.include.list", "public.cut,public.cut_after")],
        ),
    );
    // The server crashes while the snapshot is being read.
    wait_for("part of the snapshot", WAIT, || {
        (record_count(&topic) >= 2_000).then_some(())
    });
    pg.script(&["stop", "--immediate"]);
    let sent_before = record_count(&topic);
    assert!(
        sent_before < rows,
        "the crash came before the snapshot's end"
    );
    pg.script(&["start"]);

    // The task started over: the whole snapshot again, then streaming.
    wait_for("the snapshot taken again", WAIT, || {
        assert_ne!(
            task_state(&worker, "cut")["state"],
            "FAILED",
            "{}",
            worker.log_text()
        );
        (record_count(&topic) >= sent_before + rows).then_some(())
    });
    db.exec("INSERT INTO cut_after VALUES (1, 'after')");
    wait_for("a change streamed after the snapshot", WAIT, || {
        let after = consume_records(
            &format!("{prefix}.public.cut_after"),
            1,
            Duration::from_secs(1),
        );
        creates(&after).contains_key(&1).then_some(())
    });
    let records = consume_records(
        &topic,
        usize::try_from(record_count(&topic)).unwrap_or(0),
        Duration::from_secs(300),
    );
    let mut read = std::collections::BTreeSet::new();
    let mut last = 0;
    for value in records.iter().filter_map(|r| r.value.as_deref()) {
        let event: Json = serde_json::from_slice(value).expect("a JSON event");
        if event["payload"]["op"] == "r" {
            read.insert(event["payload"]["after"]["id"].as_i64().expect("an id"));
            if event["payload"]["source"]["snapshot"] == "last" {
                last += 1;
            }
        }
    }
    assert_eq!(read.len() as i64, rows, "every row read");
    assert_eq!(last, 1, "one snapshot completed");
    assert_eq!(task_state(&worker, "cut")["state"], "RUNNING");
    assert!(
        worker.log_text().contains("the task started over"),
        "{}",
        worker.log_text()
    );
    worker.terminate();
}

#[test]
fn refusals_fail_the_task_naming_their_cause() {
    require_kafka();
    let db = Db::postgres();
    let table = unique("cdc_refusals").replace('-', "_");
    db.exec(&format!("CREATE TABLE {table} (id int PRIMARY KEY)"));
    let dir = tempfile::tempdir().expect("a directory");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let slot = |what: &str| format!("{table}_{what}");

    // A role that does not exist.
    create(
        &worker,
        "no-role",
        cdc_config(
            55432,
            &unique("cdc-no-role"),
            &slot("norole"),
            &table,
            &[("database.user", "ferry_no_such_role")],
        ),
    );
    let trace = failure(&worker, "no-role");
    assert!(
        trace.contains("role \"ferry_no_such_role\" does not exist"),
        "{trace}"
    );

    // A role without the replication privilege, reading a publication
    // made for it.
    let role = format!("{table}_reader");
    db.exec(&format!("CREATE ROLE {role} LOGIN"));
    db.exec(&format!("GRANT SELECT ON {table} TO {role}"));
    db.exec(&format!(
        "CREATE PUBLICATION {}_pub FOR TABLE {table}",
        slot("noreplication")
    ));
    create(
        &worker,
        "no-replication",
        cdc_config(
            55432,
            &unique("cdc-no-replication"),
            &slot("noreplication"),
            &table,
            &[
                ("database.user", role.as_str()),
                ("publication.autocreate.mode", "disabled"),
            ],
        ),
    );
    let trace = failure(&worker, "no-replication");
    assert!(
        trace.contains("replication slot")
            && trace.contains("must be superuser or replication role"),
        "{trace}"
    );

    // A slot another session holds: waited for, then refused.
    let held = slot("held");
    create(
        &worker,
        "holder",
        cdc_config(55432, &unique("cdc-holder"), &held, &table, &[]),
    );
    wait_for("the slot to stream", WAIT, || walsender_pid(&db, &held));
    create(
        &worker,
        "second",
        cdc_config(
            55432,
            &unique("cdc-second"),
            &held,
            &table,
            &[("slot.max.retries", "2"), ("slot.retry.delay.ms", "100")],
        ),
    );
    let trace = failure(&worker, "second");
    assert!(
        trace.contains(&format!(
            "replication slot {held} is active for another session"
        )) && trace.contains("slot.max.retries"),
        "{trace}"
    );

    // The slot dropped while streaming: no session to go back to.
    let dropped = slot("dropped");
    create(
        &worker,
        "dropped",
        cdc_config(
            55432,
            &unique("cdc-dropped"),
            &dropped,
            &table,
            &[("retriable.restart.connector.wait.ms", "3000")],
        ),
    );
    let pid = wait_for("the slot to stream", WAIT, || walsender_pid(&db, &dropped));
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    wait_for("the slot to be released and dropped", WAIT, || {
        db.try_exec(&format!("SELECT pg_drop_replication_slot('{dropped}')"))
            .ok()
    });
    let trace = failure(&worker, "dropped");
    assert!(
        trace.contains(&format!("replication slot {dropped} no longer exists")),
        "{trace}"
    );

    worker.terminate();
    // The holder's slot, once its session is gone.
    wait_for("the slot to be released", WAIT, || {
        db.try_exec(&format!("SELECT pg_drop_replication_slot('{held}')"))
            .ok()
    });
    for s in ["norole", "noreplication", "held", "dropped"] {
        db.exec(&format!("DROP PUBLICATION IF EXISTS {}_pub", slot(s)));
    }
    db.exec(&format!("DROP TABLE {table}"));
    db.exec(&format!("DROP OWNED BY {role}"));
    db.exec(&format!("DROP ROLE {role}"));
}

#[test]
fn wal_level_replica_is_refused_naming_the_setting() {
    require_kafka();
    let pg = OwnPostgres::start("-c wal_level=replica");
    pg.db().exec("CREATE TABLE walled (id int PRIMARY KEY)");
    let dir = tempfile::tempdir().expect("a directory");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    create(
        &worker,
        "walled",
        cdc_config(pg.port, &unique("cdc-walled"), "walled_slot", "walled", &[]),
    );
    let trace = failure(&worker, "walled");
    assert!(
        trace.contains("wal_level is replica") && trace.contains("wal_level=logical"),
        "{trace}"
    );
    worker.terminate();
}

#[test]
fn streams_over_tls_and_fails_where_the_server_or_its_certificate_refuses() {
    require_kafka();
    let pg = OwnPostgres::start_with("", true);
    let db = pg.db();
    db.exec("CREATE TABLE secured (id int PRIMARY KEY)");
    let dir = tempfile::tempdir().expect("a directory");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let ca = pg.ca();

    // The server's certificate verified, name and all.
    let prefix = unique("cdc-tls");
    create(
        &worker,
        "verified",
        cdc_config(
            pg.port,
            &prefix,
            "verified_slot",
            "secured",
            &[
                ("database.sslmode", "verify-full"),
                ("database.sslrootcert", ca.as_str()),
            ],
        ),
    );
    wait_for("the slot to stream", WAIT, || {
        walsender_pid(&db, "verified_slot")
    });
    db.exec("INSERT INTO secured SELECT generate_series(1, 3)");
    let topic = format!("{prefix}.public.secured");
    wait_for("the rows over TLS", WAIT, || {
        (record_count(&topic) >= 3).then_some(())
    });
    let ssl: Vec<Vec<String>> = db.query_text(
        "SELECT s.ssl::text FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
         WHERE a.backend_type = 'walsender'",
    );
    assert_eq!(
        ssl,
        vec![vec!["true".to_owned()]],
        "the replication session is encrypted"
    );

    // Without TLS: the server refuses.
    create(
        &worker,
        "plain",
        cdc_config(
            pg.port,
            &unique("cdc-plain"),
            "plain_slot",
            "secured",
            &[("database.sslmode", "disable")],
        ),
    );
    let trace = failure(&worker, "plain");
    assert!(trace.contains("no encryption"), "{trace}");

    // A CA that did not sign the server's certificate.
    create(
        &worker,
        "unknown-ca",
        cdc_config(
            pg.port,
            &unique("cdc-unknown-ca"),
            "unknown_ca_slot",
            "secured",
            &[
                ("database.sslmode", "verify-ca"),
                ("database.sslrootcert", "/etc/ssl/certs/ca-certificates.crt"),
            ],
        ),
    );
    let trace = failure(&worker, "unknown-ca");
    assert!(trace.to_lowercase().contains("certificate"), "{trace}");
    worker.terminate();
}
