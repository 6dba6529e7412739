//! Transforms and predicates in running pipelines, and invalid transform
//! configs refused at creation with the key named.

use std::time::Duration;

use ferry_tests::*;
use serde_json::json;

#[test]
fn source_transforms_shape_and_route_records() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "alpha\nbeta\ngamma\n").expect("input");
    let topic = unique("raw");
    let routed = format!("{topic}-routed");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.to_str().expect("utf-8 path"),
        "topic": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "hoist,origin,tag,route",
        "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.tag.header": "pipeline",
        "transforms.tag.value.literal": "7",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "line",
        "transforms.origin.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.origin.static.field": "origin",
        "transforms.origin.static.value": "file",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "(.*)",
        "transforms.route.replacement": "$1-routed",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "shaped", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    let records = consume_records(&routed, 3, Duration::from_secs(60));
    for r in &records {
        // SimpleHeaderConverter writes the int8 the literal parsed to as text.
        assert_eq!(r.header("pipeline").as_deref(), Some("7"));
    }
    let got: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::from_slice(r.value.as_deref().expect("a value")).expect("JSON"))
        .collect();
    assert_eq!(
        got,
        vec![
            json!({"line": "alpha", "origin": "file"}),
            json!({"line": "beta", "origin": "file"}),
            json!({"line": "gamma", "origin": "file"}),
        ]
    );
    worker.terminate();
}

#[test]
fn sink_filter_with_predicate_drops_tombstones() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("with-tombstones");
    create_topic(&topic, 1);
    produce_with_tombstones(
        &topic,
        &[
            Some("\"one\""),
            None,
            Some("\"two\""),
            None,
            Some("\"three\""),
        ],
    );
    let out = dir.path().join("out.txt");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let config = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": out.to_str().expect("utf-8 path"),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "dropTombstones",
        "transforms.dropTombstones.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.dropTombstones.predicate": "isTombstone",
        "predicates": "isTombstone",
        "predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "filtered", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    wait_for("the three values", Duration::from_secs(60), || {
        (read_lines(&out).len() >= 3).then_some(())
    });
    // Committed offsets cover the dropped records too: nothing is left behind.
    wait_for(
        "the last offset to be committed",
        Duration::from_secs(60),
        || {
            let (_, o) = call("GET", &worker.url("/connectors/filtered/offsets"), None);
            (o["offsets"][0]["offset"]["kafka_offset"] == 5).then_some(())
        },
    );
    assert_eq!(read_lines(&out), ["one", "two", "three"]);
    worker.terminate();
}

#[test]
fn invalid_transform_configs_are_refused_naming_the_key() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let config = json!({
        "connector.class": "FileStreamSink",
        "topics": "t",
        "transforms": "route",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
    });
    let (code, body) = call(
        "POST",
        &worker.url("/connectors"),
        Some(&json!({"name": "bad", "config": config.clone()})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("transforms.route.regex"), "{message}");

    let (code, infos) = call(
        "PUT",
        &worker.url("/connector-plugins/FileStreamSink/config/validate"),
        Some(
            &json!({"connector.class": "FileStreamSink", "name": "bad", "topics": "t",
                     "transforms": "x", "transforms.x.type": "NoSuchTransform"}),
        ),
    );
    assert_eq!(code, 200);
    assert!(infos["error_count"].as_u64() >= Some(1), "{infos}");
    let errored: Vec<&str> = infos["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter(|c| !c["value"]["errors"].as_array().is_none_or(|e| e.is_empty()))
        .filter_map(|c| c["value"]["name"].as_str())
        .collect();
    assert!(errored.contains(&"transforms.x.type"), "{errored:?}");
    let (code, _) = call("GET", &worker.url("/connectors/bad"), None);
    assert_eq!(code, 404, "nothing was created");
    worker.terminate();
}
