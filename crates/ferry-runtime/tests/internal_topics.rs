//! Reads the internal topics written by a real Kafka Connect worker in
//! distributed mode (`deploy/local/connect.sh`) and checks that every record
//! decodes with `ferry_runtime::distributed::records`, re-encodes to the same
//! bytes, and that `ConfigState` rebuilds the connector and its task.
//!
//! Needs the local broker (`deploy/local/up.sh`; `FERRY_TEST_BOOTSTRAP`
//! overrides 127.0.0.1:9092) and Java; fails with the fix when either is
//! missing.

use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_runtime::distributed::config_state::ConfigState;
use ferry_runtime::distributed::records::{
    decode_offset_value, encode_offset_value, to_props, ConfigKey, ConfigRecord, ConfigValue,
    OffsetKey, StatusKey, StatusRecord, StatusRecordValue, TargetState,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;

fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn prerequisites_missing() -> Option<String> {
    let reachable = bootstrap()
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    if !reachable {
        return Some(format!("no broker at {}", bootstrap()));
    }
    let java = std::env::var("JAVA").unwrap_or_else(|_| "java".into());
    if Command::new(java).arg("-version").output().is_err() {
        return Some("no java".into());
    }
    None
}

fn connect_sh(args: &[&Path]) -> std::process::Output {
    let mut cmd = Command::new(repo_root().join("deploy/local/connect.sh"));
    cmd.args(args);
    cmd.output().expect("run connect.sh")
}

/// Stops the worker when dropped, so a failing test does not leave it behind.
struct Worker {
    props: PathBuf,
    stopped: bool,
}

impl Worker {
    fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let out = connect_sh(&[Path::new("stop"), &self.props]);
            assert!(
                out.status.success(),
                "connect.sh stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let _ = connect_sh(&[Path::new("stop"), &self.props]);
        }
    }
}

/// Polls `check` until it returns true, or fails naming `what`.
fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

/// The connector's and its tasks' states as the worker's REST API reports them.
fn states(rest: &str) -> Option<(String, Vec<String>)> {
    let out = Command::new("curl")
        .args(["-s", &format!("{rest}/status")])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let connector = v["connector"]["state"].as_str()?.to_owned();
    let tasks = v["tasks"]
        .as_array()?
        .iter()
        .filter_map(|t| t["state"].as_str().map(str::to_owned))
        .collect();
    Some((connector, tasks))
}

/// Every record of `topic` from the beginning to the current end:
/// (partition, offset, key, value).
type Raw = (i32, i64, Option<Vec<u8>>, Option<Vec<u8>>);

fn read_topic(topic: &str) -> Vec<Raw> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", "ferry-internal-topics-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let timeout = Duration::from_secs(10);
    let md = consumer
        .fetch_metadata(Some(topic), timeout)
        .expect("metadata");
    let partitions: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    assert!(!partitions.is_empty(), "topic {topic} has no partitions");
    let mut tpl = TopicPartitionList::new();
    let mut ends = std::collections::BTreeMap::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .expect("watermarks");
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return out;
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = std::collections::BTreeSet::new();
    while done.len() < ends.len() {
        assert!(Instant::now() < deadline, "timed out reading {topic}");
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let msg = msg.expect("consume");
        out.push((
            msg.partition(),
            msg.offset(),
            msg.key().map(<[u8]>::to_vec),
            msg.payload().map(<[u8]>::to_vec),
        ));
        if msg.offset() + 1 >= ends[&msg.partition()] {
            done.insert(msg.partition());
        }
    }
    out
}

#[test]
fn decodes_internal_topics_written_by_kafka_connect() {
    if let Some(why) = prerequisites_missing() {
        panic!("{why}: start the local services with deploy/local/up.sh");
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("{}-{}", std::process::id(), nanos % 1_000_000_000);
    let configs = format!("ferry-it-configs-{id}");
    let offsets = format!("ferry-it-offsets-{id}");
    let statuses = format!("ferry-it-status-{id}");
    // A name with dashes exercises the key parsing.
    let name = format!("file-src-{id}");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();

    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let input_str = input.to_str().unwrap().to_owned();
    let worker_props = dir.path().join("worker.properties");
    std::fs::write(
        &worker_props,
        format!(
            "bootstrap.servers={bootstrap}\n\
             group.id=ferry-it-{id}\n\
             config.storage.topic={configs}\n\
             offset.storage.topic={offsets}\n\
             status.storage.topic={statuses}\n\
             config.storage.replication.factor=1\n\
             offset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             offset.storage.partitions=3\n\
             status.storage.partitions=2\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             key.converter.schemas.enable=false\n\
             value.converter.schemas.enable=false\n\
             offset.flush.interval.ms=500\n\
             listeners=http://127.0.0.1:{port}\n",
            bootstrap = bootstrap()
        ),
    )
    .unwrap();
    let connector_props = dir.path().join("source.properties");
    std::fs::write(
        &connector_props,
        format!(
            "name={name}\n\
             connector.class=FileStreamSource\n\
             tasks.max=1\n\
             file={input_str}\n\
             topic=ferry-it-out-{id}\n"
        ),
    )
    .unwrap();

    let mut worker = Worker {
        props: worker_props.clone(),
        stopped: false,
    };
    let out = connect_sh(&[Path::new("start"), &worker_props, &connector_props]);
    assert!(
        out.status.success(),
        "connect.sh start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The task read the whole file (14 bytes) and flushed its offset.
    wait_until(
        "the source offset to be flushed",
        Duration::from_secs(60),
        || {
            read_topic(&offsets)
                .iter()
                .any(|(_, _, _, v)| v.as_deref().is_some_and(|v| v == br#"{"position":14}"#))
        },
    );
    // Target-state and restart records: pause, resume, stop, resume, restart,
    // each awaited until the worker reports the state it leads to.
    let rest = format!("http://127.0.0.1:{port}/connectors/{name}");
    for (method, path, expected) in [
        ("PUT", "pause", "PAUSED"),
        ("PUT", "resume", "RUNNING"),
        ("PUT", "stop", "STOPPED"),
        ("PUT", "resume", "RUNNING"),
        (
            "POST",
            "restart?includeTasks=true&onlyFailed=false",
            "RUNNING",
        ),
    ] {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method])
            .arg(format!("{rest}/{path}"))
            .output()
            .expect("curl");
        let code = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(code.starts_with('2'), "{method} {path} answered {code}");
        wait_until(
            &format!("{expected} after {path}"),
            Duration::from_secs(60),
            || {
                states(&rest).is_some_and(|(c, tasks)| {
                    c == expected
                        && (expected == "STOPPED"
                            || (!tasks.is_empty() && tasks.iter().all(|t| t == expected)))
                })
            },
        );
    }
    let out = connect_sh(&[Path::new("wait"), &worker_props, &connector_props]);
    assert!(
        out.status.success(),
        "connect.sh wait failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("a task status record", Duration::from_secs(60), || {
        read_topic(&statuses).iter().any(|(_, _, k, _)| {
            k.as_deref()
                .is_some_and(|k| k.starts_with(format!("status-task-{name}-").as_bytes()))
        })
    });
    worker.stop();

    // Config topic: every record decodes and re-encodes byte for byte.
    let config_records = read_topic(&configs);
    assert!(!config_records.is_empty());
    let mut state = ConfigState::new();
    let mut last = -1;
    let mut saw_session_key = false;
    let mut target_states = Vec::new();
    let mut commits = Vec::new();
    let mut saw_restart = false;
    for (partition, offset, key, value) in &config_records {
        assert_eq!(*partition, 0);
        let key = String::from_utf8(key.clone().expect("config key")).unwrap();
        let rec = ConfigRecord::decode(&key, value.as_deref())
            .unwrap_or_else(|e| panic!("config record {key}: {e}"));
        assert!(
            !matches!(rec.key, ConfigKey::Unknown(_)),
            "unknown config key {key}"
        );
        saw_session_key |= rec.key == ConfigKey::SessionKey;
        saw_restart |= rec.key == ConfigKey::RestartConnector(name.clone());
        match (&rec.key, &rec.value) {
            (ConfigKey::TargetState(c), Some(ConfigValue::TargetState(t))) if *c == name => {
                target_states.push(*t)
            }
            (ConfigKey::Commit(c), Some(ConfigValue::Commit { tasks })) if *c == name => {
                commits.push(*tasks)
            }
            _ => {}
        }
        assert_eq!(
            rec.encode(),
            (key.clone(), value.clone()),
            "re-encoding {key}"
        );
        state.apply(*offset, rec);
        last = *offset;
    }
    assert!(saw_session_key, "no session-key record");
    assert!(saw_restart, "no restart-connector record");
    assert_eq!(
        target_states,
        [
            TargetState::Paused,
            TargetState::Started,
            TargetState::Stopped,
            TargetState::Started
        ]
    );
    assert_eq!(commits, [1, 0, 1]);
    // Restart requests read during startup are not acted upon.
    assert!(state.take_restart_requests().is_empty());
    assert_eq!(state.offset(), last + 1);
    assert!(state.contains(&name));
    let config = to_props(state.connector_config(&name).unwrap());
    assert_eq!(config.get("file"), Some(&input_str));
    assert_eq!(state.target_state(&name), Some(TargetState::Started));
    assert_eq!(state.task_count(&name), Some(1));
    assert!(!state.is_inconsistent(&name));
    let tasks = state.task_configs(&name).expect("task configs");
    let task = to_props(tasks[0]);
    assert_eq!(
        task.get("task.class").map(String::as_str),
        Some("org.apache.kafka.connect.file.FileStreamSourceTask")
    );
    assert_eq!(task.get("file"), Some(&input_str));

    // Status topic.
    let status_records = read_topic(&statuses);
    let mut saw_connector = false;
    let mut saw_task = false;
    for (_, _, key, value) in &status_records {
        let key = String::from_utf8(key.clone().expect("status key")).unwrap();
        let rec = StatusRecord::decode(&key, value.as_deref())
            .unwrap_or_else(|e| panic!("status record {key}: {e}"));
        assert_eq!(
            rec.encode(),
            (key.clone(), value.clone()),
            "re-encoding {key}"
        );
        match &rec.key {
            StatusKey::Connector(c) if *c == name => saw_connector = true,
            StatusKey::Task { connector, task } if *connector == name => {
                assert_eq!(*task, 0);
                saw_task = true;
            }
            StatusKey::Topic { .. } => {}
            other => panic!("unexpected status key {other:?}"),
        }
        if let Some(v) = &rec.value {
            assert!(matches!(
                v,
                StatusRecordValue::Status(_) | StatusRecordValue::Topic(_)
            ));
        }
    }
    assert!(
        saw_connector && saw_task,
        "missing connector or task status"
    );

    // Offsets topic.
    let offset_records = read_topic(&offsets);
    let mut position = None;
    for (_, _, key, value) in &offset_records {
        let key_bytes = key.clone().expect("offset key");
        let k = OffsetKey::decode(&key_bytes)
            .expect("offset key JSON")
            .expect("offset key shape");
        assert_eq!(k.encode(), key_bytes);
        assert_eq!(k.connector, name);
        assert_eq!(
            serde_json::Value::Object(k.partition.clone()),
            json!({ "filename": input_str })
        );
        let v = decode_offset_value(value.as_deref()).expect("offset value");
        assert_eq!(encode_offset_value(v.as_ref()), *value);
        position = v.and_then(|m| m.get("position").and_then(serde_json::Value::as_i64));
    }
    assert_eq!(position, Some("one\ntwo\nthree\n".len() as i64));
}
