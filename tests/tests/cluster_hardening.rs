//! Whatever the config topic holds, a distributed cluster keeps working:
//! a connector the workers cannot handle fails alone, visibly, and can be
//! deleted through the REST API.

use std::time::Duration;

use ferry_tests::cluster::Cluster;
use ferry_tests::{call, produce_keyed, unique, wait_for};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_secs(60);

fn file_source(cluster: &Cluster, file: &str, topic: &str) -> Value {
    let path = cluster.path(file);
    std::fs::write(&path, "a line\n").expect("input file");
    json!({
        "connector.class": "FileStreamSource",
        "file": path.to_string_lossy(),
        "topic": topic,
    })
}

fn connectors(cluster: &Cluster, via: usize) -> Vec<String> {
    let (code, body) = call("GET", &cluster.workers[via].url("/connectors"), None);
    assert_eq!(code, 200, "{body}");
    serde_json::from_value(body).expect("a list of names")
}

#[test]
fn config_records_no_worker_can_run_fail_only_their_connector() {
    let mut cluster = Cluster::start(2, &[]);
    let topic = unique("hardening");
    cluster.create(0, "before", file_source(&cluster, "before.txt", &topic));
    cluster.wait_running("before", 1, TIMEOUT);

    // Refused at create, with the limit named and the name not echoed whole.
    let (code, body) = call(
        "POST",
        &cluster.workers[1].url("/connectors"),
        Some(
            &json!({"name": "n".repeat(40_000), "config": file_source(&cluster, "x.txt", &topic)}),
        ),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("at most 2048 bytes"), "{message}");
    assert!(message.len() < 1_000, "{message}");

    // Records written straight into the config topic by another writer: a
    // name the group protocol cannot carry, and a value that is not a
    // config at all.
    let too_long = format!("{}-{}", unique("long"), "x".repeat(33_000));
    let garbage = unique("garbage");
    let config = json!({"properties": {
        "connector.class": "FileStreamSource",
        "file": cluster.path("long.txt").to_string_lossy(),
        "topic": topic,
        "name": too_long,
    }})
    .to_string();
    produce_keyed(
        &format!("{}-configs", cluster.name),
        &[
            (format!("connector-{too_long}"), Some(config.as_str())),
            (format!("connector-{garbage}"), Some("{not a config")),
        ],
    );

    // The long-named connector shows why it never runs.
    let status_path = format!("/connectors/{too_long}/status");
    let status = wait_for("the long-named connector to be FAILED", TIMEOUT, || {
        let (code, body) = call("GET", &cluster.workers[1].url(&status_path), None);
        (code == 200 && body["connector"]["state"] == "FAILED").then_some(body)
    });
    let trace = status["connector"]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("33") && trace.contains("bytes"), "{trace}");
    assert!(!connectors(&cluster, 0).contains(&garbage));

    // The rest of the cluster keeps rebalancing: a new connector runs, and
    // both survive a worker restart.
    cluster.create(1, "after", file_source(&cluster, "after.txt", &topic));
    cluster.wait_running("after", 1, TIMEOUT);
    cluster.workers[0].terminate();
    cluster.workers[0].start(&[]);
    cluster.wait_healthy(0);
    cluster.wait_running("before", 1, TIMEOUT);
    cluster.wait_running("after", 1, TIMEOUT);

    // And the connector no worker can run is deleted like any other.
    let (code, body) = cluster.request(0, "DELETE", &format!("/connectors/{too_long}"), None);
    assert_eq!(code, 204, "{body}");
    wait_for("the long-named connector to be gone", TIMEOUT, || {
        (!connectors(&cluster, 1).contains(&too_long)).then_some(())
    });
    cluster.wait_running("before", 1, TIMEOUT);
}
