//! The standalone offsets file is Kafka Connect's: a file written by the real
//! `connect-standalone` 4.3.1 (fixtures/generate.sh) reads back, and Ferry
//! writes the same bytes for the same offsets.

use ferry_runtime::offset_file::{decode, encode};
use ferry_runtime::offsets::{FileOffsetStore, OffsetStore};

const FIXTURE: &[u8] = include_bytes!("fixtures/connect-standalone.offsets");
const KEY: &[u8] = br#"["fixture-source",{"filename":"/tmp/ferry-fixture/in.txt"}]"#;
const VALUE: &[u8] = br#"{"position":19}"#;

#[test]
fn reads_a_file_written_by_kafka_connect() {
    let raw = decode(FIXTURE).expect("decode Kafka Connect's offsets file");
    assert_eq!(raw.len(), 1);
    assert_eq!(raw.get(KEY), Some(&Some(VALUE.to_vec())));
}

#[test]
fn writes_the_bytes_kafka_connect_writes() {
    let raw = decode(FIXTURE).expect("decode");
    assert_eq!(encode(&raw), FIXTURE);
}

#[test]
fn the_store_serves_kafka_connect_offsets_to_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("offsets");
    std::fs::write(&path, FIXTURE).expect("copy fixture");
    let store = FileOffsetStore::open(&path).expect("open");
    let partition = serde_json::json!({"filename": "/tmp/ferry-fixture/in.txt"});
    let offset = store.get("fixture-source", partition.as_object().expect("map"));
    assert_eq!(
        offset,
        serde_json::json!({"position": 19}).as_object().cloned()
    );
}
