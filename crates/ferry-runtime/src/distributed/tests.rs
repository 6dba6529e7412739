use serde_json::{json, Map, Value};

use super::config_state::ConfigState;
use super::records::*;

fn props(pairs: &[(&str, &str)]) -> RecordProps {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Some(v.to_string())))
        .collect()
}

/// Decodes `bytes` under `key`, checks the decoded value, and checks that
/// re-encoding reproduces the exact bytes.
fn config_roundtrip(key: &str, bytes: &str, expected: ConfigValue) {
    let rec = ConfigRecord::decode(key, Some(bytes.as_bytes())).unwrap();
    assert_eq!(rec.value.as_ref(), Some(&expected), "decoding {key}");
    let (k, v) = rec.encode();
    assert_eq!(k, key);
    assert_eq!(String::from_utf8(v.unwrap()).unwrap(), bytes);
}

#[test]
fn config_keys_parse_and_format() {
    let cases = [
        ("connector-c1", ConfigKey::Connector("c1".into())),
        ("connector-my-conn", ConfigKey::Connector("my-conn".into())),
        (
            "task-my-conn-12",
            ConfigKey::Task {
                connector: "my-conn".into(),
                task: 12,
            },
        ),
        ("commit-my-conn", ConfigKey::Commit("my-conn".into())),
        ("target-state-c1", ConfigKey::TargetState("c1".into())),
        ("tasks-fencing-c1", ConfigKey::TasksFencing("c1".into())),
        ("session-key", ConfigKey::SessionKey),
        (
            "restart-connector-c1",
            ConfigKey::RestartConnector("c1".into()),
        ),
        (
            "logger-cluster-org.apache.kafka",
            ConfigKey::LoggerCluster("org.apache.kafka".into()),
        ),
        (
            "something-else",
            ConfigKey::Unknown("something-else".into()),
        ),
    ];
    for (s, k) in cases {
        assert_eq!(ConfigKey::parse(s), k, "{s}");
        assert_eq!(k.to_key_string(), s);
    }
    for bad in ["task-c1", "task-c1-x", "task--1", "task-c1-"] {
        assert!(
            matches!(ConfigKey::parse(bad), ConfigKey::Unknown(_)),
            "{bad}"
        );
    }
}

#[test]
fn connector_and_task_records() {
    config_roundtrip(
        "connector-c1",
        r#"{"properties":{"connector.class":"x","name":"c1"}}"#,
        ConfigValue::Properties(props(&[("connector.class", "x"), ("name", "c1")])),
    );
    // Order on the topic is preserved, nulls are explicit, non-ASCII is raw.
    config_roundtrip(
        "task-c1-0",
        r#"{"properties":{"task.class":"T","z":null,"a":"é\"q"}}"#,
        ConfigValue::Properties(vec![
            ("task.class".into(), Some("T".into())),
            ("z".into(), None),
            ("a".into(), Some("é\"q".into())),
        ]),
    );
    // Control characters: short escapes where JSON has them, else upper-case
    // \u00XX like Jackson.
    config_roundtrip(
        "connector-c1",
        r#"{"properties":{"a":"\n\t\r\b\f\u001B\u0000/"}}"#,
        ConfigValue::Properties(props(&[("a", "\n\t\r\u{8}\u{c}\u{1b}\u{0}/")])),
    );
    let tomb = ConfigRecord::decode("connector-c1", None).unwrap();
    assert_eq!(tomb.value, None);
    assert_eq!(tomb.encode(), ("connector-c1".to_string(), None));
    assert!(ConfigRecord::decode("connector-c1", Some(b"{\"properties\":3}")).is_err());
    assert!(ConfigRecord::decode("connector-c1", Some(b"not json")).is_err());
}

#[test]
fn commit_fencing_session_restart_logger_records() {
    config_roundtrip(
        "commit-c1",
        r#"{"tasks":3}"#,
        ConfigValue::Commit { tasks: 3 },
    );
    config_roundtrip(
        "tasks-fencing-c1",
        r#"{"task-count":3}"#,
        ConfigValue::TasksFencing { task_count: 3 },
    );
    config_roundtrip(
        "session-key",
        r#"{"key":"AAEC","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#,
        ConfigValue::SessionKey(SessionKey {
            key: "AAEC".into(),
            algorithm: "HmacSHA256".into(),
            creation_timestamp: 1_700_000_000_000,
        }),
    );
    config_roundtrip(
        "restart-connector-c1",
        r#"{"include-tasks":true,"only-failed":false}"#,
        ConfigValue::RestartConnector(RestartRequest {
            include_tasks: true,
            only_failed: false,
        }),
    );
    config_roundtrip(
        "logger-cluster-org.foo",
        r#"{"level":"DEBUG"}"#,
        ConfigValue::LoggerCluster {
            level: "DEBUG".into(),
        },
    );
    // Unknown keys keep their raw value bytes.
    config_roundtrip("zzz", "opaque", ConfigValue::Unknown(b"opaque".to_vec()));
}

#[test]
fn target_state_records() {
    config_roundtrip(
        "target-state-c1",
        r#"{"state":"PAUSED","state.v2":"STOPPED"}"#,
        ConfigValue::TargetState(TargetState::Stopped),
    );
    config_roundtrip(
        "target-state-c1",
        r#"{"state":"PAUSED","state.v2":"PAUSED"}"#,
        ConfigValue::TargetState(TargetState::Paused),
    );
    config_roundtrip(
        "target-state-c1",
        r#"{"state":"STARTED","state.v2":"STARTED"}"#,
        ConfigValue::TargetState(TargetState::Started),
    );
    // Older writers: no state.v2, or an explicit null.
    for old in [
        r#"{"state":"PAUSED"}"#,
        r#"{"state":"PAUSED","state.v2":null}"#,
    ] {
        let rec = ConfigRecord::decode("target-state-c1", Some(old.as_bytes())).unwrap();
        assert_eq!(
            rec.value,
            Some(ConfigValue::TargetState(TargetState::Paused))
        );
    }
    assert!(ConfigRecord::decode("target-state-c1", Some(br#"{"state":"NOPE"}"#)).is_err());
}

#[test]
fn status_records() {
    // As written by Kafka Connect 4.x (with the plugin version).
    let bytes = r#"{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":7,"version":"4.3.1"}"#;
    let rec = StatusRecord::decode("status-connector-my-conn", Some(bytes.as_bytes())).unwrap();
    assert_eq!(rec.key, StatusKey::Connector("my-conn".into()));
    assert_eq!(
        rec.value,
        Some(StatusRecordValue::Status(StatusValue {
            state: StatusState::Running,
            trace: None,
            worker_id: "host:8083".into(),
            generation: 7,
            version: Some("4.3.1".into()),
        }))
    );
    let (k, v) = rec.encode();
    assert_eq!(k, "status-connector-my-conn");
    assert_eq!(v.unwrap(), bytes.as_bytes());

    // As written by older workers: no version field; re-encoded with an
    // explicit null like a 4.x worker with an unknown version.
    let old = r#"{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":7}"#;
    let rec = StatusRecord::decode("status-connector-c1", Some(old.as_bytes())).unwrap();
    let Some(StatusRecordValue::Status(status)) = &rec.value else {
        panic!("not a status: {rec:?}");
    };
    assert_eq!(status.version, None);
    assert_eq!(status.generation, 7);
    assert_eq!(
        rec.encode().1.unwrap(),
        br#"{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":7,"version":null}"#
    );

    let failed = r#"{"state":"FAILED","trace":"java.lang.Exception: boom\n\tat X","worker_id":"w:1","generation":2,"version":null}"#;
    let rec = StatusRecord::decode("status-task-my-conn-3", Some(failed.as_bytes())).unwrap();
    assert_eq!(
        rec.key,
        StatusKey::Task {
            connector: "my-conn".into(),
            task: 3
        }
    );
    assert_eq!(rec.encode().1.unwrap(), failed.as_bytes());

    let topic =
        r#"{"topic":{"name":"t1","connector":"c-1","task":0,"discoverTimestamp":1700000000000}}"#;
    let rec =
        StatusRecord::decode("status-topic-t1:connector-c-1", Some(topic.as_bytes())).unwrap();
    assert_eq!(
        rec.key,
        StatusKey::Topic {
            topic: "t1".into(),
            connector: "c-1".into()
        }
    );
    assert_eq!(
        rec.value,
        Some(StatusRecordValue::Topic(TopicStatusValue {
            name: "t1".into(),
            connector: "c-1".into(),
            task: 0,
            discover_timestamp: 1_700_000_000_000,
        }))
    );
    assert_eq!(rec.encode().0, "status-topic-t1:connector-c-1");
    assert_eq!(rec.encode().1.unwrap(), topic.as_bytes());

    // Tombstones (DESTROYED) and unknown keys.
    let tomb = StatusRecord::decode("status-task-c1-0", None).unwrap();
    assert_eq!(tomb.value, None);
    assert_eq!(tomb.encode(), ("status-task-c1-0".to_string(), None));
    assert!(matches!(
        StatusKey::parse("status-task-c1"),
        StatusKey::Unknown(_)
    ));
    assert!(matches!(StatusKey::parse("other"), StatusKey::Unknown(_)));
    assert!(StatusRecord::decode(
        "status-connector-c",
        Some(br#"{"state":"DESTROYED","trace":null,"worker_id":"w","generation":1}"#)
    )
    .is_err());
}

#[test]
fn offset_records() {
    let key = br#"["file-source",{"filename":"/tmp/in.txt"}]"#;
    let k = OffsetKey::decode(key).unwrap().unwrap();
    assert_eq!(k.connector, "file-source");
    assert_eq!(
        Value::Object(k.partition.clone()),
        json!({"filename": "/tmp/in.txt"})
    );
    assert_eq!(k.encode(), key);

    // Partition map key order is preserved.
    let key2 = br#"["c",{"z":1,"a":"x"}]"#;
    assert_eq!(OffsetKey::decode(key2).unwrap().unwrap().encode(), key2);

    let value = br#"{"position":1234}"#;
    let v = decode_offset_value(Some(value)).unwrap().unwrap();
    assert_eq!(v.get("position"), Some(&json!(1234)));
    assert_eq!(encode_offset_value(Some(&v)).unwrap(), value);
    assert_eq!(decode_offset_value(None).unwrap(), None);
    assert_eq!(encode_offset_value(None::<&Map<String, Value>>), None);

    // Keys that readers skip.
    for skip in [
        &br#"["c",null]"#[..],
        br#"["c"]"#,
        br#"[1,{}]"#,
        br#"{"a":1}"#,
        br#"["c",{},3]"#,
    ] {
        assert_eq!(OffsetKey::decode(skip).unwrap(), None);
    }
    assert!(OffsetKey::decode(b"garbage").is_err());
}

fn conn_rec(name: &str) -> (String, Option<Vec<u8>>) {
    (
        format!("connector-{name}"),
        Some(format!(r#"{{"properties":{{"connector.class":"x","name":"{name}"}}}}"#).into_bytes()),
    )
}

fn task_rec(name: &str, id: u32) -> (String, Option<Vec<u8>>) {
    (
        format!("task-{name}-{id}"),
        Some(format!(r#"{{"properties":{{"task.class":"T","id":"{id}"}}}}"#).into_bytes()),
    )
}

fn commit_rec(name: &str, n: u32) -> (String, Option<Vec<u8>>) {
    (
        format!("commit-{name}"),
        Some(format!(r#"{{"tasks":{n}}}"#).into_bytes()),
    )
}

fn apply_all(state: &mut ConfigState, records: &[(String, Option<Vec<u8>>)]) {
    for (k, v) in records {
        let next = state.offset().max(0);
        state.apply_raw(next, k, v.as_deref()).unwrap();
    }
}

#[test]
fn config_state_offsets_and_defaults() {
    let mut s = ConfigState::new();
    assert_eq!(s.offset(), -1);
    apply_all(&mut s, &[conn_rec("my-conn")]);
    assert_eq!(s.offset(), 1);
    assert!(s.contains("my-conn"));
    assert_eq!(s.target_state("my-conn"), Some(TargetState::Started));
    assert_eq!(s.task_count("my-conn"), None);
    assert_eq!(s.task_configs("my-conn"), None);
    // Offsets follow the record offsets, even with gaps (compaction).
    s.apply_raw(41, "unknown-thing", Some(b"x")).unwrap();
    assert_eq!(s.offset(), 42);
    assert_eq!(s.unknown_keys(), ["unknown-thing".to_string()]);
    // A bad value still advances the offset.
    assert!(s.apply_raw(50, "commit-my-conn", Some(b"{}")).is_err());
    assert_eq!(s.offset(), 51);
}

#[test]
fn config_state_task_buffering_and_commit() {
    let mut s = ConfigState::new();
    apply_all(
        &mut s,
        &[
            conn_rec("my-conn"),
            task_rec("my-conn", 0),
            task_rec("my-conn", 1),
        ],
    );
    // Buffered, not yet visible.
    assert_eq!(s.task_config("my-conn", 0), None);
    apply_all(&mut s, &[commit_rec("my-conn", 2)]);
    assert_eq!(s.task_count("my-conn"), Some(2));
    assert!(!s.is_inconsistent("my-conn"));
    let tasks = s.task_configs("my-conn").unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(to_props(tasks[1]).get("id").map(String::as_str), Some("1"));
    assert!(s.pending_fencing("my-conn"));
    assert_eq!(
        s.applied_connector_config("my-conn"),
        s.connector_config("my-conn")
    );
    apply_all(
        &mut s,
        &[(
            "tasks-fencing-my-conn".into(),
            Some(br#"{"task-count":2}"#.to_vec()),
        )],
    );
    assert!(!s.pending_fencing("my-conn"));
    assert_eq!(s.fencing_task_count("my-conn"), Some(2));

    // Extras in the buffer are allowed (compaction leftovers).
    apply_all(
        &mut s,
        &[
            task_rec("my-conn", 0),
            task_rec("my-conn", 5),
            commit_rec("my-conn", 1),
        ],
    );
    assert_eq!(s.task_count("my-conn"), Some(1));
    assert_eq!(s.task_configs("my-conn").unwrap().len(), 1);

    // Zero tasks (stop) is always complete.
    apply_all(&mut s, &[commit_rec("my-conn", 0)]);
    assert_eq!(s.task_count("my-conn"), Some(0));
    assert_eq!(s.task_configs("my-conn").unwrap().len(), 0);
}

#[test]
fn config_state_inconsistent_commit() {
    let mut s = ConfigState::new();
    apply_all(
        &mut s,
        &[conn_rec("c1"), task_rec("c1", 1), commit_rec("c1", 2)],
    );
    assert!(s.is_inconsistent("c1"));
    assert_eq!(s.task_count("c1"), Some(2));
    assert_eq!(s.task_configs("c1"), None);
    assert_eq!(s.inconsistent().collect::<Vec<_>>(), ["c1"]);
    // The buffer was cleared: a later commit needs fresh task records.
    apply_all(&mut s, &[task_rec("c1", 0), commit_rec("c1", 2)]);
    assert!(s.is_inconsistent("c1"));
    apply_all(
        &mut s,
        &[task_rec("c1", 0), task_rec("c1", 1), commit_rec("c1", 2)],
    );
    assert!(!s.is_inconsistent("c1"));
    assert_eq!(s.task_configs("c1").unwrap().len(), 2);
}

#[test]
fn config_state_commit_for_unknown_connector_is_ignored() {
    let mut s = ConfigState::new();
    apply_all(&mut s, &[task_rec("gone", 0), commit_rec("gone", 1)]);
    assert_eq!(s.task_count("gone"), None);
    assert!(!s.is_inconsistent("gone"));
    assert_eq!(s.offset(), 2);
}

#[test]
fn config_state_deletion() {
    let mut s = ConfigState::new();
    apply_all(
        &mut s,
        &[
            conn_rec("c1"),
            task_rec("c1", 0),
            commit_rec("c1", 1),
            task_rec("c1", 0),
            ("connector-c1".into(), None),
        ],
    );
    assert!(!s.contains("c1"));
    assert_eq!(s.task_count("c1"), None);
    assert_eq!(s.task_config("c1", 0), None);
    assert_eq!(s.applied_connector_config("c1"), None);
    // Target state survives the connector tombstone until its own tombstone.
    assert_eq!(s.target_state("c1"), Some(TargetState::Started));
    apply_all(&mut s, &[("target-state-c1".into(), None)]);
    assert_eq!(s.target_state("c1"), None);
    // The pending buffer was dropped: recreating and committing with no new
    // task records is inconsistent.
    apply_all(&mut s, &[conn_rec("c1"), commit_rec("c1", 1)]);
    assert!(s.is_inconsistent("c1"));
}

#[test]
fn config_state_target_states() {
    let mut s = ConfigState::new();
    // Target state before the connector (create with initial_state).
    apply_all(
        &mut s,
        &[
            (
                "target-state-c1".into(),
                Some(br#"{"state":"PAUSED","state.v2":"STOPPED"}"#.to_vec()),
            ),
            conn_rec("c1"),
        ],
    );
    assert_eq!(s.target_state("c1"), Some(TargetState::Stopped));
    apply_all(
        &mut s,
        &[(
            "target-state-c1".into(),
            Some(br#"{"state":"PAUSED"}"#.to_vec()),
        )],
    );
    assert_eq!(s.target_state("c1"), Some(TargetState::Paused));
    // Tombstone with the config still present resets to STARTED.
    apply_all(&mut s, &[("target-state-c1".into(), None)]);
    assert_eq!(s.target_state("c1"), Some(TargetState::Started));
}

#[test]
fn config_state_session_restart_logger() {
    let mut s = ConfigState::new();
    let restart = (
        "restart-connector-c1".to_string(),
        Some(br#"{"include-tasks":true,"only-failed":true}"#.to_vec()),
    );
    let logger = (
        "logger-cluster-org.x".to_string(),
        Some(br#"{"level":"WARN"}"#.to_vec()),
    );
    let session = (
        "session-key".to_string(),
        Some(br#"{"key":"a2V5","algorithm":"HmacSHA256","creation-timestamp":5}"#.to_vec()),
    );
    apply_all(
        &mut s,
        &[conn_rec("c1"), restart.clone(), logger.clone(), session],
    );
    assert_eq!(s.session_key().unwrap().creation_timestamp, 5);
    // Read during startup: ignored.
    assert!(s.take_restart_requests().is_empty());
    assert!(s.take_logger_levels().is_empty());
    s.set_live();
    apply_all(&mut s, &[restart.clone(), restart, logger]);
    let r = s.take_restart_requests();
    assert_eq!(r.len(), 1);
    assert!(r["c1"].only_failed);
    assert_eq!(
        s.take_logger_levels(),
        [("org.x".to_string(), "WARN".to_string())]
    );
}
