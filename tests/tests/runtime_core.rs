//! The runtime core as a user meets it: a connector slow to start (a JDBC
//! source retrying a database that is not there) holds up no other request,
//! in standalone and in distributed mode; a failing task's trace ends with
//! the database driver's own message.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::time::{Duration, Instant};

use ferry_tests::*;
use jdbc_support::*;
use serde_json::json;

/// What "answers at once" means here: well under a second, with room for a
/// loaded CI machine.
const PROMPT: Duration = Duration::from_millis(900);

/// A JDBC source whose database port is closed: its `start` retries for
/// minutes.
fn unreachable_jdbc_source(prefix: &str) -> serde_json::Value {
    json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        "connection.url": format!("postgresql://postgres@127.0.0.1:{}/postgres", free_port()),
        "connection.attempts": "1000",
        "connection.backoff.ms": "1000",
        "mode": "bulk",
        "table.whitelist": "t",
        "topic.prefix": prefix,
    })
}

/// Creates a connector that stays starting; returns its name and the answer.
fn create_slow(w: &Worker) -> (String, serde_json::Value) {
    let slow = unique("slow");
    let (code, body) = call(
        "POST",
        &w.url("/connectors"),
        Some(&json!({"name": slow, "config": unreachable_jdbc_source(&unique("p"))})),
    );
    assert_eq!(code, 201, "{body}");
    (slow, body)
}

fn timed(method: &str, url: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
    let started = Instant::now();
    let answer = call(method, url, body);
    let took = started.elapsed();
    assert!(
        took < PROMPT,
        "{method} {url} took {took:?} while a connector was starting"
    );
    answer
}

fn state(w: &Worker, connector: &str) -> Option<String> {
    let (code, body) = http_get(&w.url(&format!("/connectors/{connector}/status")))?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    v["connector"]["state"].as_str().map(str::to_owned)
}

/// Everything a user does next while `slow` is still starting answers at
/// once; a second connector starts and runs; `slow` can be deleted.
fn other_requests_are_not_held_up(w: &Worker, slow: &str, dir: &std::path::Path) {
    let started = Instant::now();
    let (code, list) = timed("GET", &w.url("/connectors"), None);
    assert_eq!(code, 200);
    assert!(
        list.as_array().is_some_and(|l| l.iter().any(|n| n == slow)),
        "{list}"
    );
    let (code, status) = timed("GET", &w.url(&format!("/connectors/{slow}/status")), None);
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["connector"]["state"], "UNASSIGNED", "{status}");
    let (code, _) = timed("GET", &w.url(&format!("/connectors/{slow}")), None);
    assert_eq!(code, 200);

    let input = dir.join("input.txt");
    std::fs::write(&input, "a\nb\n").expect("input file");
    let fast = unique("fast");
    let create = json!({"name": fast, "config": {
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": unique("fast-topic"),
    }});
    // A distributed worker still rebalancing after the first create waits
    // for the rebalance to complete rather than answering 409: one request.
    let (code, body) = timed("POST", &w.url("/connectors"), Some(&create));
    assert_eq!(code, 201, "{body}");
    wait_for("the second connector to run", TIMEOUT, || {
        (state(w, &fast).as_deref() == Some("RUNNING")).then_some(())
    });
    assert_eq!(
        state(w, slow).as_deref(),
        Some("UNASSIGNED"),
        "the slow connector is still starting"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "all of this happened while the slow connector retried"
    );

    // Deleting it abandons its start.
    let (code, body) = timed("DELETE", &w.url(&format!("/connectors/{slow}")), None);
    assert_eq!(code, 204, "{body}");
    wait_for("the slow connector to be gone", TIMEOUT, || {
        let (code, _) = http_get(&w.url(&format!("/connectors/{slow}")))?;
        (code == 404).then_some(())
    });
}

#[test]
fn a_connector_slow_to_start_holds_up_nothing_in_standalone_mode() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = Worker::new(dir.path(), &[]);
    w.start(&[]);
    // The create itself waits a moment for the connector to start, then
    // answers without its tasks.
    let (slow, body) = create_slow(&w);
    assert_eq!(body["tasks"], json!([]), "{body}");
    other_requests_are_not_held_up(&w, &slow, dir.path());
}

#[test]
fn a_connector_slow_to_start_holds_up_nothing_in_distributed_mode() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = Worker::distributed(dir.path(), &unique("slow-cluster"), &[]);
    w.start(&[]);
    wait_for("the worker to join its group", TIMEOUT, || {
        let (code, _) = http_get(&w.url("/health"))?;
        (code == 200).then_some(())
    });
    let (slow, _) = create_slow(&w);
    // Assigned to this worker and starting.
    wait_for("the slow connector to be listed", TIMEOUT, || {
        state(&w, &slow).filter(|s| s == "UNASSIGNED").map(|_| ())
    });
    other_requests_are_not_held_up(&w, &slow, dir.path());
}

#[test]
fn a_failing_jdbc_task_shows_the_database_error_in_its_trace() {
    let sink_db = Db::postgres_sink();
    let topic = unique("dup");
    let table = topic.replace('-', "_");
    sink_db.exec(&format!(
        "CREATE TABLE \"{table}\" (id BIGINT PRIMARY KEY, name TEXT)"
    ));
    sink_db.exec(&format!(
        "INSERT INTO \"{table}\" VALUES (1, 'there first')"
    ));
    create_topic(&topic, 1);
    let value = r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"row"},"payload":{"id":1,"name":"again"}}"#;
    let key = r#"{"schema":{"type":"int64","optional":false},"payload":1}"#;
    produce_keyed(&topic, &[(key.to_owned(), Some(value.to_owned()))]);
    let mut sink = sink_props(&pg_sink_url(), &topic, &table);
    sink.retain(|(k, _)| *k != "insert.mode");
    sink.push(("insert.mode", "insert".into()));
    sink.push(("max.retries", "0".into()));
    let name = unique("dup-sink");
    let p = Pipeline::start(&[(&name, sink)]);
    let (state, trace) = wait_for("the sink task to fail", TIMEOUT, || {
        p.task_state(&name).filter(|(s, _)| s == "FAILED")
    });
    assert_eq!(state, "FAILED");
    println!("task trace:\n{trace}");
    assert!(
        trace.starts_with("org.apache.kafka.connect.errors.ConnectException: "),
        "{trace}"
    );
    // The driver's own words, in the cause chain.
    assert!(
        trace.contains("\nCaused by: ")
            && trace.contains("duplicate key value violates unique constraint"),
        "{trace}"
    );
    // The task endpoint shows the same trace.
    let (code, task) = call(
        "GET",
        &p.worker.url(&format!("/connectors/{name}/tasks/0/status")),
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(task["trace"].as_str(), Some(trace.as_str()));
}
