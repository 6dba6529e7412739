//! `header.converter` at worker and connector level: a header a source
//! transformation adds is written as the selected Kafka Connect header
//! converter writes it, and a sink with the same converter reads it back;
//! the plugin listing names every header converter and unknown classes are
//! refused with Kafka Connect's message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_tests::*;
use serde_json::{json, Value};

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";

/// Runs file → topic with a header `h=hello` added by a transformation, on
/// `worker` with the connector-level `header` settings; returns the topic
/// and the header's bytes in Kafka.
fn source(worker: &Worker, dir: &Path, label: &str, header: &[(&str, &str)]) -> (String, String) {
    let input = dir.join(format!("{label}-in.txt"));
    std::fs::write(&input, "alpha\n").expect("input");
    let topic = unique(&format!("headers-{label}"));
    let mut config = json!({
        "connector.class": "FileStreamSource",
        "file": input.to_str().expect("utf-8 path"),
        "topic": topic,
        "value.converter": JSON,
        "value.converter.schemas.enable": "false",
        "transforms": "hoist,tag",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.tag.header": "h",
        "transforms.tag.value.literal": "hello",
    });
    for (k, v) in header {
        config[*k] = json!(v);
    }
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": format!("{label}-source"), "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    let records = consume_records(&topic, 1, Duration::from_secs(60));
    (topic, records[0].header("h").expect("header h"))
}

/// Runs topic → file with the connector-level `settings`; returns the
/// file the sink writes to.
fn sink(
    worker: &Worker,
    dir: &Path,
    label: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> PathBuf {
    let output = dir.join(format!("{label}-out.txt"));
    let mut config = json!({
        "connector.class": "FileStreamSink",
        "file": output.to_str().expect("utf-8 path"),
        "topics": topic,
        "value.converter": JSON,
        "value.converter.schemas.enable": "false",
    });
    for (k, v) in settings {
        config[*k] = json!(v);
    }
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": format!("{label}-sink"), "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    output
}

/// Writes with `header` settings, checks the bytes, and reads the topic back
/// with a sink using the same settings.
fn round_trip(worker: &Worker, dir: &Path, label: &str, header: &[(&str, &str)], expected: &str) {
    let (topic, written) = source(worker, dir, label, header);
    assert_eq!(written, expected, "{label}");
    let output = sink(worker, dir, label, &topic, header);
    let line = wait_for("the sink's line", Duration::from_secs(60), || {
        read_lines(&output).into_iter().next()
    });
    assert_eq!(line, "{line=alpha}", "{label}");
}

#[test]
fn each_header_converter_writes_kafka_connects_bytes_and_reads_them_back() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    // SimpleHeaderConverter by default.
    round_trip(&worker, dir.path(), "simple", &[], "hello");
    round_trip(
        &worker,
        dir.path(),
        "string",
        &[("header.converter", STRING)],
        "hello",
    );
    round_trip(
        &worker,
        dir.path(),
        "json-plain",
        &[
            ("header.converter", "JsonConverter"),
            ("header.converter.schemas.enable", "false"),
        ],
        "\"hello\"",
    );
    worker.terminate();

    // Chosen for every connector in the worker properties.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[("header.converter", JSON)]);
    worker.start(&[]);
    round_trip(
        &worker,
        dir.path(),
        "json-envelope",
        &[],
        r#"{"schema":{"type":"string","optional":false},"payload":"hello"}"#,
    );
    worker.terminate();
}

#[test]
fn a_header_the_sink_converter_cannot_read_follows_errors_tolerance() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    // "hello" is not a JsonConverter envelope.
    let (topic, _) = source(&worker, dir.path(), "plain-text", &[]);
    let dlq = unique("headers-dlq");
    let output = sink(
        &worker,
        dir.path(),
        "json-reader",
        &topic,
        &[
            ("header.converter", JSON),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let dead = consume_records(&dlq, 1, Duration::from_secs(60));
    assert_eq!(dead[0].header("h").as_deref(), Some("hello"));
    assert_eq!(
        dead[0].header("__connect.errors.stage").as_deref(),
        Some("HEADER_CONVERTER")
    );
    assert_eq!(
        dead[0].header("__connect.errors.class.name").as_deref(),
        Some(JSON)
    );
    assert!(read_lines(&output).is_empty());
    worker.terminate();
}

#[test]
fn header_converters_are_listed_and_unknown_ones_refused() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let (code, plugins) = call(
        "GET",
        &worker.url("/connector-plugins?connectorsOnly=false"),
        None,
    );
    assert_eq!(code, 200);
    let header_converters: Vec<&str> = plugins
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["type"] == "header_converter")
        .filter_map(|p| p["class"].as_str())
        .collect();
    assert_eq!(
        header_converters,
        [
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            JSON,
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            STRING,
        ]
    );

    let config = json!({
        "name": "nope",
        "connector.class": "FileStreamSink",
        "topics": "t",
        "header.converter": "com.example.NopeConverter",
    });
    let (code, result) = call(
        "PUT",
        &worker.url("/connector-plugins/FileStreamSink/config/validate"),
        Some(&config),
    );
    assert_eq!(code, 200, "{result}");
    assert_eq!(result["error_count"], 1, "{result}");
    let errors: Vec<Value> = result["configs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["value"]["name"] == "header.converter")
        .map(|c| c["value"]["errors"].clone())
        .collect();
    assert_eq!(
        errors,
        [json!([
            "Invalid value com.example.NopeConverter for configuration header.converter: Class com.example.NopeConverter could not be found."
        ])]
    );
    let (code, _) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "nope", "config": config})),
    );
    assert_eq!(code, 400);
    for class in [
        "org.apache.kafka.connect.converters.ByteArrayConverter",
        "SimpleHeaderConverter",
        "StringConverter",
    ] {
        let (_, result) = call(
            "PUT",
            &worker.url("/connector-plugins/FileStreamSink/config/validate"),
            Some(
                &json!({"name": "ok", "connector.class": "FileStreamSink", "topics": "t", "header.converter": class}),
            ),
        );
        assert_eq!(result["error_count"], 0, "{class}: {result}");
    }
    worker.terminate();
}
