//! `errors.tolerance`, the dead letter queue and its context headers, on a
//! sink fed a mix of good and malformed records through a real broker.

use std::time::Duration;

use ferry_tests::*;
use serde_json::json;

const GOOD: usize = 300;
const BAD_EVERY: usize = 7;

/// Good JSON records, with a malformed one after every `BAD_EVERY` good ones.
fn mixed_input(topic: &str) -> (Vec<String>, usize) {
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut good = Vec::new();
    let mut bad = 0;
    for i in 0..GOOD {
        let v = format!("\"good record {i}\"");
        good.push(format!("good record {i}"));
        values.push(v.into_bytes());
        if i % BAD_EVERY == BAD_EVERY - 1 {
            values.push(format!("{{not json {i}").into_bytes());
            bad += 1;
        }
    }
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    create_topic(topic, 1);
    produce(topic, &refs);
    (good, bad)
}

fn sink_config(topic: &str, file: &str, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut config = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": file,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
    });
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

#[test]
fn tolerance_all_delivers_good_records_and_dead_letters_bad_ones() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("mixed");
    let dlq = unique("mixed-dlq");
    let (good, bad) = mixed_input(&topic);
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let out = dir.path().join("out.txt");
    let config = sink_config(
        &topic,
        out.to_str().expect("utf-8 path"),
        &[
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", &dlq),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "tolerant", "config": config})),
    );
    assert_eq!(code, 201, "{body}");

    wait_for(
        "every good record in the file",
        Duration::from_secs(60),
        || (read_lines(&out).len() >= good.len()).then_some(()),
    );
    assert_eq!(read_lines(&out), good, "good records complete and in order");

    let dead = consume_records(&dlq, bad, Duration::from_secs(60));
    assert_eq!(
        dead.len(),
        bad,
        "every malformed record is in the dead letter queue"
    );
    for d in &dead {
        let value = String::from_utf8_lossy(d.value.as_deref().unwrap_or_default()).into_owned();
        assert!(
            value.starts_with("{not json"),
            "original bytes kept: {value}"
        );
        assert_eq!(
            d.header("__connect.errors.topic").as_deref(),
            Some(topic.as_str())
        );
        assert_eq!(
            d.header("__connect.errors.stage").as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(
            d.header("__connect.errors.connector.name").as_deref(),
            Some("tolerant")
        );
        assert_eq!(d.header("__connect.errors.task.id").as_deref(), Some("0"));
        assert_eq!(
            d.header("__connect.errors.class.name").as_deref(),
            Some("org.apache.kafka.connect.json.JsonConverter")
        );
        assert_eq!(
            d.header("__connect.errors.exception.class.name").as_deref(),
            Some("org.apache.kafka.connect.errors.DataException")
        );
        assert!(d.header("__connect.errors.offset").is_some());
        assert!(d
            .header("__connect.errors.exception.message")
            .is_some_and(|m| !m.is_empty()));
    }
    let (_, status) = call("GET", &worker.url("/connectors/tolerant/status"), None);
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    worker.terminate();
}

#[test]
fn tolerance_none_fails_the_task_and_commits_nothing_past_the_bad_record() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("strict");
    mixed_input(&topic);
    // The first malformed record follows the first BAD_EVERY good ones.
    let bad_offset = BAD_EVERY as i64;
    let mut worker = Worker::new(dir.path(), &[("offset.flush.interval.ms", "100")]);
    worker.start(&[]);
    let out = dir.path().join("out.txt");
    let config = sink_config(&topic, out.to_str().expect("utf-8 path"), &[]);
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "strict", "config": config})),
    );
    assert_eq!(code, 201, "{body}");

    let status = wait_for("the task to fail", Duration::from_secs(60), || {
        let (_, s) = call("GET", &worker.url("/connectors/strict/status"), None);
        (s["tasks"][0]["state"] == "FAILED").then_some(s)
    });
    let trace = status["tasks"][0]["trace"].as_str().expect("a trace");
    assert!(trace.contains("Tolerance exceeded"), "{trace}");
    assert!(
        trace.contains("DataException"),
        "the cause is named: {trace}"
    );
    assert!(
        trace.contains("VALUE_CONVERTER"),
        "the stage is named: {trace}"
    );
    assert!(
        read_lines(&out).len() < BAD_EVERY + 1,
        "nothing after the bad record was written"
    );

    // Stop it and read the committed position of the group.
    let (code, _) = call("PUT", &worker.url("/connectors/strict/stop"), None);
    assert_eq!(code, 204);
    let (code, offsets) = call("GET", &worker.url("/connectors/strict/offsets"), None);
    assert_eq!(code, 200);
    for o in offsets["offsets"].as_array().expect("offsets") {
        let committed = o["offset"]["kafka_offset"].as_i64().expect("offset");
        assert!(
            committed <= bad_offset,
            "committed {committed} past the bad record at {bad_offset}"
        );
    }
    worker.terminate();
}

#[test]
fn source_failures_go_to_the_dead_letter_queue_and_are_committed() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("numbers.txt");
    std::fs::write(&input, "1\n2\nthree\n4\nfive\n").expect("input");
    let topic = unique("numbers");
    let dlq = unique("numbers-dlq");
    let mut worker = Worker::new(dir.path(), &[("offset.flush.interval.ms", "200")]);
    worker.start(&[]);
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.to_str().expect("utf-8 path"),
        "topic": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "toInt",
        "transforms.toInt.type": "org.apache.kafka.connect.transforms.Cast$Value",
        "transforms.toInt.spec": "int32",
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "numbers", "config": config})),
    );
    assert_eq!(code, 201, "{body}");

    let good: Vec<String> = consume_values(&topic, 3, Duration::from_secs(60))
        .into_iter()
        .map(|v| String::from_utf8(v.unwrap_or_default()).expect("utf-8"))
        .collect();
    assert_eq!(good, ["1", "2", "4"]);
    let dead = consume_records(&dlq, 2, Duration::from_secs(60));
    let dead_values: Vec<String> = dead
        .iter()
        .map(|d| String::from_utf8_lossy(d.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    assert_eq!(
        dead_values,
        ["\"three\"", "\"five\""],
        "the original records, as the converter writes them"
    );
    for d in &dead {
        assert_eq!(
            d.header("__connect.errors.stage").as_deref(),
            Some("TRANSFORMATION")
        );
        assert_eq!(
            d.header("__connect.errors.topic").as_deref(),
            Some(topic.as_str())
        );
        assert!(d
            .header("__connect.errors.source.offset")
            .is_some_and(|o| o.contains("position")));
    }
    // The skipped lines count as done: the committed position is the end of the file.
    wait_for(
        "the whole file to be committed",
        Duration::from_secs(60),
        || {
            let (_, o) = call("GET", &worker.url("/connectors/numbers/offsets"), None);
            (o["offsets"][0]["offset"]["position"] == 17).then_some(())
        },
    );
    worker.terminate();
}
