//! MariaDB restarted while rows stream from a MariaDB source table through
//! Kafka into a MariaDB sink table: both connectors retry and continue, and
//! the sink ends up with exactly the source's rows. Its own test binary, so
//! no other test shares the database while it restarts.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::process::Command;
use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;

fn mariadb(cmd: &str) {
    let status = Command::new(deploy_script("mariadb.sh"))
        .arg(cmd)
        .status()
        .expect("run mariadb.sh");
    assert!(status.success(), "mariadb.sh {cmd} failed");
}

fn insert(db: &Db, table: &str, from: i64, n: i64) -> Result<(), sqlx::Error> {
    let rows: Vec<String> = (from..from + n)
        .map(|g| format!("('row {g}', {g} * 1.125)"))
        .collect();
    db.try_exec(&format!(
        "INSERT INTO `{table}` (payload, amount) VALUES {}",
        rows.join(",")
    ))
}

#[test]
fn mariadb_restart_mid_stream_loses_nothing() {
    let db = Db::mariadb();
    let src = unique("mrs_src").replace('-', "_");
    let sink = unique("mrs_sink").replace('-', "_");
    let prefix = format!("{}-", unique("mrs"));
    db.exec(&format!(
        "CREATE TABLE `{src}` (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload VARCHAR(40) NOT NULL, amount DECIMAL(12,3) NOT NULL)"
    ));
    insert(&db, &src, 1, 5000).expect("first rows");
    let mut source = source_props(MARIADB_URL, "incrementing", &src, &prefix);
    source.retain(|(k, _)| *k != "batch.max.rows");
    source.push(("batch.max.rows", "500".into()));
    let mut sink_cfg = sink_props(MARIADB_URL, &format!("{prefix}{src}"), &sink);
    sink_cfg.push(("max.retries", "60".into()));
    sink_cfg.push(("retry.backoff.ms", "500".into()));
    sink_cfg.push(("batch.size", "500".into()));
    sink_cfg.push(("consumer.override.max.poll.records", "500".into()));
    let p = Pipeline::start(&[
        (&unique("mrs-source"), source),
        (&unique("mrs-sink"), sink_cfg),
    ]);

    // Rows keep arriving upstream through the restart: 40 batches of 250,
    // each written once the sink holds every row before it (so the stream
    // spans the restart) and retried until the database takes it.
    let table = src.clone();
    let writer_sink = sink.clone();
    let writer = std::thread::spawn(move || {
        let db = Db::mariadb();
        for batch in 0..40 {
            let from = 5_001 + batch * 250;
            wait_for(
                &format!(
                    "the sink to hold the {} rows before batch {batch}",
                    from - 1
                ),
                Duration::from_secs(150),
                || db.count(&writer_sink).filter(|c| *c >= from - 1),
            );
            wait_for(
                &format!("the database to take batch {batch}"),
                Duration::from_secs(150),
                || insert(&db, &table, from, 250).ok(),
            );
        }
    });
    let part_way = wait_for("the sink to be part way", TIMEOUT, || {
        db.count(&sink).filter(|c| *c > 0)
    });
    drop(db);
    mariadb("stop");
    wait_for("the source to retry", TIMEOUT, || {
        p.worker
            .log_text()
            .contains("database unreachable; will retry")
            .then_some(())
    });
    mariadb("start");
    writer.join().expect("writer thread");
    let db = Db::mariadb();
    assert_eq!(db.count(&src), Some(15_000));
    let canonical = |t: &str| {
        db.try_query_text(&format!(
            "SELECT CAST(count(*) AS CHAR), CAST(sum(id) AS CHAR), CAST(sum(amount) AS CHAR), CAST(count(DISTINCT payload) AS CHAR) FROM `{t}`"
        ))
        .ok()
    };
    wait_same(
        "the sink to hold every source row after the restart",
        Duration::from_secs(180),
        || canonical(&src).expect("source"),
        || canonical(&sink),
    );
    assert!(
        part_way < 15_000,
        "the sink had {part_way} rows before the restart"
    );
    drop(p);
}
