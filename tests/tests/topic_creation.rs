//! Source connectors create the topics they write to from their
//! `topic.creation.*` groups (KIP-158).

use std::time::Duration;

use ferry_tests::*;
use serde_json::json;

#[test]
fn source_topics_are_created_per_group() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\n").expect("input");
    let plain = unique("created");
    let grouped = format!("state-{}", unique("created"));
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    for (name, topic) in [("plain-src", &plain), ("grouped-src", &grouped)] {
        let config = json!({
            "connector.class": "FileStreamSource",
            "file": input.to_str().expect("utf-8 path"),
            "topic": topic,
            "topic.creation.groups": "state",
            "topic.creation.default.replication.factor": "1",
            "topic.creation.default.partitions": "3",
            "topic.creation.state.include": "state-.*",
            "topic.creation.state.partitions": "2",
            "topic.creation.state.retention.ms": "123456789",
        });
        let (code, body) = call(
            "POST",
            &worker.url("/connectors"),
            Some(&json!({"name": name, "config": config})),
        );
        assert_eq!(code, 201, "{body}");
    }
    assert_eq!(consume_values(&plain, 2, Duration::from_secs(60)).len(), 2);
    assert_eq!(
        consume_values(&grouped, 2, Duration::from_secs(60)).len(),
        2
    );
    let (partitions, retention) = describe_topic(&plain, "retention.ms");
    assert_eq!(partitions, 3, "default group");
    assert_ne!(retention.as_deref(), Some("123456789"));
    let (partitions, retention) = describe_topic(&grouped, "retention.ms");
    assert_eq!(partitions, 2, "the state group wins over default");
    assert_eq!(
        retention.as_deref(),
        Some("123456789"),
        "the group's topic configs apply"
    );

    let bad = json!({
        "connector.class": "FileStreamSource",
        "topic": "x",
        "topic.creation.default.partitions": "3",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "no-rf", "config": bad})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("topic.creation.default.replication.factor")),
        "{body}"
    );
    worker.terminate();
}
