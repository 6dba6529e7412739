//! The broker restarts in the middle of a transfer through a Ferry cluster:
//! the workers reconnect (group, internal topics, tasks) and nothing is lost.
//!
//! In a file of its own because it stops the shared broker: test binaries
//! run one after another, so no other test sees the outage.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_tests::cluster::{append_lines, Cluster, Transfer};

fn kafka_sh(command: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(root.join("deploy/local/kafka.sh"))
        .arg(command)
        .output()
        .expect("run deploy/local/kafka.sh");
    assert!(
        out.status.success(),
        "kafka.sh {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn broker_restart_during_a_transfer_loses_nothing() {
    const BEFORE: usize = 300_000;
    const AFTER: usize = 100_000;
    let cluster = Cluster::start(2, &[]);
    let t = Transfer::start(&cluster, 0, BEFORE);
    cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    ferry_tests::wait_for("the transfer under way", Duration::from_secs(120), || {
        (t.output_lines() >= BEFORE / 10).then_some(())
    });

    kafka_sh("stop");
    // Input keeps arriving while the broker is down.
    append_lines(&t.input, BEFORE..BEFORE + AFTER / 2);
    kafka_sh("start");
    append_lines(&t.input, BEFORE + AFTER / 2..BEFORE + AFTER);

    let duplicates = t.wait_complete(BEFORE + AFTER, Duration::from_secs(600));
    cluster.wait_running(&t.source, 1, Duration::from_secs(120));
    cluster.wait_running(&t.sink, 1, Duration::from_secs(120));
    println!(
        "broker restart during {} records: all delivered, {duplicates} duplicate(s)",
        BEFORE + AFTER
    );
}
