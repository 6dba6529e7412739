//! PostgreSQL restarted while rows stream from a source table through
//! Kafka into a sink table: both connectors retry and continue, and the
//! sink ends up with exactly the source's rows. Its own test binary, so no
//! other test shares the database while it restarts.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::process::Command;
use std::time::Duration;

use ferry_tests::*;
use jdbc_support::*;

fn postgres(cmd: &str) {
    let status = Command::new(deploy_script("postgres.sh"))
        .arg(cmd)
        .status()
        .expect("run postgres.sh");
    assert!(status.success(), "postgres.sh {cmd} failed");
}

#[test]
fn database_restart_mid_stream_loses_nothing() {
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    let src = unique("rs_src").replace('-', "_");
    let sink = unique("rs_sink").replace('-', "_");
    let prefix = format!("{}-", unique("rs"));
    src_db.exec(&format!(
        "CREATE TABLE \"{src}\" (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, amount NUMERIC(12,3) NOT NULL)"
    ));
    src_db.exec(&format!(
        "INSERT INTO \"{src}\" (payload, amount) SELECT 'row ' || g, g * 1.125 FROM generate_series(1, 5000) g"
    ));
    let mut source = source_props(PG_URL, "incrementing", &src, &prefix);
    source.retain(|(k, _)| *k != "batch.max.rows");
    source.push(("batch.max.rows", "500".into()));
    let mut sink_cfg = sink_props(&pg_sink_url(), &format!("{prefix}{src}"), &sink);
    sink_cfg.push(("max.retries", "60".into()));
    sink_cfg.push(("retry.backoff.ms", "500".into()));
    sink_cfg.push(("batch.size", "500".into()));
    sink_cfg.push(("consumer.override.max.poll.records", "500".into()));
    let p = Pipeline::start(&[
        (&unique("rs-source"), source),
        (&unique("rs-sink"), sink_cfg),
    ]);

    // Rows keep arriving upstream for the whole test, through the restart:
    // 40 batches of 250, each written once the sink holds every row before
    // it (so the stream spans the restart) and retried until the database
    // takes it.
    let writer_table = src.clone();
    let writer_sink = sink.clone();
    let writer = std::thread::spawn(move || {
        let db = Db::postgres();
        let sink_db = Db::postgres_sink();
        for batch in 0..40 {
            let from = 5_001 + batch * 250;
            wait_for(
                &format!(
                    "the sink to hold the {} rows before batch {batch}",
                    from - 1
                ),
                Duration::from_secs(150),
                || sink_db.count(&writer_sink).filter(|c| *c >= from - 1),
            );
            let sql = format!(
                "INSERT INTO \"{writer_table}\" (payload, amount) SELECT 'row ' || g, g * 1.125 FROM generate_series({from}, {}) g",
                from + 249
            );
            wait_for(
                &format!("the database to take batch {batch}"),
                Duration::from_secs(150),
                || db.try_exec(&sql).ok(),
            );
        }
    });
    let part_way = wait_for("the sink to be part way", TIMEOUT, || {
        sink_db.count(&sink).filter(|c| *c > 0)
    });
    drop(sink_db);
    drop(src_db);
    postgres("stop");
    // Down until the connectors have noticed and are retrying.
    wait_for("the source to retry", TIMEOUT, || {
        p.worker
            .log_text()
            .contains("database unreachable; will retry")
            .then_some(())
    });
    postgres("start");
    writer.join().expect("writer thread");
    let src_db = Db::postgres();
    let sink_db = Db::postgres_sink();
    assert_eq!(src_db.count(&src), Some(15_000));

    let canonical = |db: &Db, t: &str| {
        db.try_query_text(&format!(
            "SELECT count(*)::text, sum(id)::text, sum(amount)::text, count(DISTINCT payload)::text FROM \"{t}\""
        ))
        .ok()
    };
    wait_same(
        "the sink to hold every source row after the restart",
        Duration::from_secs(180),
        || canonical(&src_db, &src).expect("source"),
        || canonical(&sink_db, &sink),
    );
    // The stream was really under way when the database went down.
    assert!(
        part_way < 15_000,
        "the sink had {part_way} rows before the restart"
    );
    drop(p);
}
