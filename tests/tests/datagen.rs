//! The datagen source connector: quickstart records with their schema, and
//! `iterations` honoured across a worker restart through committed offsets.

use std::time::Duration;

use ferry_tests::*;
use serde_json::json;

const ITERATIONS: usize = 1000;

fn create_connector(worker: &Worker, topic: &str) {
    let config = json!({
        "connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector",
        "kafka.topic": topic,
        "quickstart": "users",
        "iterations": ITERATIONS.to_string(),
        "max.interval": "0",
        "random.seed": "42",
        "tasks.max": "1",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "users-gen", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
}

#[test]
fn datagen_users_stops_at_iterations_across_a_restart() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("datagen-users");
    create_topic(&topic, 1);
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    create_connector(&worker, &topic);

    let values = consume_values(&topic, ITERATIONS, Duration::from_secs(60));
    assert_eq!(values.len(), ITERATIONS);
    for v in &values {
        let v: serde_json::Value =
            serde_json::from_slice(v.as_deref().expect("a value")).expect("JSON");
        let obj = v.as_object().expect("an object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["registertime", "userid", "regionid", "gender"],
            "{v}"
        );
        assert!(v["registertime"].is_i64(), "{v}");
        assert!(
            v["userid"].as_str().is_some_and(|s| s.starts_with("User_")),
            "{v}"
        );
        assert!(
            v["regionid"]
                .as_str()
                .is_some_and(|s| s.starts_with("Region_")),
            "{v}"
        );
        assert!(v["gender"].is_string(), "{v}");
    }

    // Every record generated is committed before the restart.
    wait_for(
        "the last iteration to be committed",
        Duration::from_secs(60),
        || {
            let (_, o) = call("GET", &worker.url("/connectors/users-gen/offsets"), None);
            (o["offsets"][0]["offset"]["iteration"] == ITERATIONS).then_some(())
        },
    );
    let (_, o) = call("GET", &worker.url("/connectors/users-gen/offsets"), None);
    assert_eq!(o["offsets"][0]["partition"], json!({"task": 0}), "{o}");
    let status = worker.terminate();
    assert!(status.success(), "clean exit on SIGTERM, got {status}");

    worker.start(&[]);
    create_connector(&worker, &topic);
    wait_for("the task to run again", Duration::from_secs(60), || {
        let (_, s) = call("GET", &worker.url("/connectors/users-gen/status"), None);
        (s["tasks"][0]["state"] == "RUNNING").then_some(())
    });
    // The restarted task reaches its limit: a second "all iterations
    // generated" in the log (the first run wrote the other).
    wait_for(
        "the restarted task to reach its limit",
        Duration::from_secs(60),
        || {
            (worker
                .log_text()
                .matches("all iterations generated")
                .count()
                >= 2)
                .then_some(())
        },
    );
    // Anything past the limit would now be on its way: read with a window.
    let all = consume_values(&topic, ITERATIONS + 1, Duration::from_secs(10));
    assert_eq!(
        all.len(),
        ITERATIONS,
        "no records past iterations after the restart"
    );
    assert!(
        worker.log_text().contains("resuming from committed offset"),
        "the restarted task read its offset"
    );
    worker.terminate();
}
