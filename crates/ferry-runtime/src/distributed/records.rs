//! Typed encoding and decoding of the records in the three internal topics
//! (config, offsets and status), byte-compatible with Kafka Connect's
//! schemaless `JsonConverter` output: compact JSON, struct fields in schema
//! order and explicit `null` for absent optional fields. Struct shapes follow
//! the schemas of Kafka Connect 4.3.1.

use serde_json::{Map, Value};

/// Errors raised when a record value does not have the expected shape.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("invalid JSON in record value: {0}")]
    Json(String),
    #[error("record value is not a JSON object")]
    NotAnObject,
    #[error("missing or invalid field '{0}'")]
    Field(&'static str),
    #[error("invalid state '{0}'")]
    State(String),
}

/// A connector or task configuration as stored on the topic: a map of string
/// keys to optional string values, in the order they appear on the topic.
pub type RecordProps = Vec<(String, Option<String>)>;

/// Converts stored properties into a plain `Props` map, dropping null values.
pub fn to_props(props: &RecordProps) -> crate::Props {
    props
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
        .collect()
}

/// Converts a `Props` map into stored properties.
pub fn from_props(props: &crate::Props) -> RecordProps {
    props
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect()
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, RecordError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(RecordError::NotAnObject),
        Err(e) => Err(RecordError::Json(e.to_string())),
    }
}

/// Compact JSON like Jackson writes it: identical to serde_json's compact
/// output except that control characters without a short escape are written
/// as `\u00XX` with upper-case hex digits.
struct JacksonFormatter;

impl serde_json::ser::Formatter for JacksonFormatter {
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        match char_escape {
            serde_json::ser::CharEscape::AsciiControl(b) => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                writer.write_all(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ])
            }
            other => serde_json::ser::CompactFormatter.write_char_escape(writer, other),
        }
    }
}

/// Serializes a JSON value as Kafka Connect's JsonConverter does.
pub fn to_json_bytes(value: &Value) -> Vec<u8> {
    use serde::Serialize;
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JacksonFormatter);
    value
        .serialize(&mut ser)
        .expect("JSON values always serialize");
    out
}

fn to_bytes(map: Map<String, Value>) -> Vec<u8> {
    to_json_bytes(&Value::Object(map))
}

fn get_str(m: &Map<String, Value>, field: &'static str) -> Result<String, RecordError> {
    m.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(RecordError::Field(field))
}

fn get_opt_str(m: &Map<String, Value>, field: &'static str) -> Result<Option<String>, RecordError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RecordError::Field(field)),
    }
}

fn get_i64(m: &Map<String, Value>, field: &'static str) -> Result<i64, RecordError> {
    m.get(field)
        .and_then(Value::as_i64)
        .ok_or(RecordError::Field(field))
}

fn get_i32(m: &Map<String, Value>, field: &'static str) -> Result<i32, RecordError> {
    i32::try_from(get_i64(m, field)?).map_err(|_| RecordError::Field(field))
}

fn get_bool(m: &Map<String, Value>, field: &'static str) -> Result<bool, RecordError> {
    m.get(field)
        .and_then(Value::as_bool)
        .ok_or(RecordError::Field(field))
}

// ---------------------------------------------------------------------------
// Config topic
// ---------------------------------------------------------------------------

/// A parsed config topic key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConfigKey {
    Connector(String),
    Task {
        connector: String,
        task: u32,
    },
    Commit(String),
    TargetState(String),
    TasksFencing(String),
    SessionKey,
    RestartConnector(String),
    LoggerCluster(String),
    /// A key with an unknown prefix (or an unparsable task id).
    Unknown(String),
}

impl ConfigKey {
    /// Parses a config topic key.
    pub fn parse(key: &str) -> ConfigKey {
        if key == "session-key" {
            ConfigKey::SessionKey
        } else if let Some(n) = key.strip_prefix("connector-") {
            ConfigKey::Connector(n.to_owned())
        } else if let Some(rest) = key.strip_prefix("task-") {
            match rest.rsplit_once('-') {
                Some((c, id)) if !c.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    match id.parse::<u32>() {
                        Ok(task) => ConfigKey::Task {
                            connector: c.to_owned(),
                            task,
                        },
                        Err(_) => ConfigKey::Unknown(key.to_owned()),
                    }
                }
                _ => ConfigKey::Unknown(key.to_owned()),
            }
        } else if let Some(n) = key.strip_prefix("commit-") {
            ConfigKey::Commit(n.to_owned())
        } else if let Some(n) = key.strip_prefix("target-state-") {
            ConfigKey::TargetState(n.to_owned())
        } else if let Some(n) = key.strip_prefix("tasks-fencing-") {
            ConfigKey::TasksFencing(n.to_owned())
        } else if let Some(n) = key.strip_prefix("restart-connector-") {
            ConfigKey::RestartConnector(n.to_owned())
        } else if let Some(n) = key.strip_prefix("logger-cluster-") {
            ConfigKey::LoggerCluster(n.to_owned())
        } else {
            ConfigKey::Unknown(key.to_owned())
        }
    }

    /// The key string as written on the topic.
    pub fn to_key_string(&self) -> String {
        match self {
            ConfigKey::Connector(n) => format!("connector-{n}"),
            ConfigKey::Task { connector, task } => format!("task-{connector}-{task}"),
            ConfigKey::Commit(n) => format!("commit-{n}"),
            ConfigKey::TargetState(n) => format!("target-state-{n}"),
            ConfigKey::TasksFencing(n) => format!("tasks-fencing-{n}"),
            ConfigKey::SessionKey => "session-key".to_owned(),
            ConfigKey::RestartConnector(n) => format!("restart-connector-{n}"),
            ConfigKey::LoggerCluster(n) => format!("logger-cluster-{n}"),
            ConfigKey::Unknown(k) => k.clone(),
        }
    }
}

/// A connector target state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Result<TargetState, RecordError> {
        match s {
            "STARTED" => Ok(TargetState::Started),
            "PAUSED" => Ok(TargetState::Paused),
            "STOPPED" => Ok(TargetState::Stopped),
            other => Err(RecordError::State(other.to_owned())),
        }
    }
}

/// The value of a `session-key` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// Base64 text of the raw key bytes, as stored.
    pub key: String,
    pub algorithm: String,
    pub creation_timestamp: i64,
}

/// The value of a `restart-connector-<name>` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartRequest {
    pub include_tasks: bool,
    pub only_failed: bool,
}

/// A decoded config topic value. Tombstones are represented by `None` in
/// [`ConfigRecord::value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// `connector-<n>` and `task-<n>-<i>`: `{"properties":{...}}`.
    Properties(RecordProps),
    /// `commit-<n>`: `{"tasks":N}`.
    Commit {
        tasks: i32,
    },
    /// `target-state-<n>`: the state readers should use (`state.v2`, falling
    /// back to `state`).
    TargetState(TargetState),
    /// `tasks-fencing-<n>`: `{"task-count":N}`.
    TasksFencing {
        task_count: i32,
    },
    SessionKey(SessionKey),
    RestartConnector(RestartRequest),
    LoggerCluster {
        level: String,
    },
    /// Value of a record with an unknown key, kept as raw bytes.
    Unknown(Vec<u8>),
}

/// A config topic record: parsed key plus decoded value (`None` = tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRecord {
    pub key: ConfigKey,
    pub value: Option<ConfigValue>,
}

impl ConfigRecord {
    /// Decodes a config record from its key string and optional value bytes.
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<ConfigRecord, RecordError> {
        let key = ConfigKey::parse(key);
        let value = match value {
            None => None,
            Some(bytes) => Some(decode_config_value(&key, bytes)?),
        };
        Ok(ConfigRecord { key, value })
    }

    /// Encodes the record into (key string, value bytes or `None` for a tombstone).
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        (
            self.key.to_key_string(),
            self.value.as_ref().map(encode_config_value),
        )
    }
}

/// Decodes the value bytes of a config record with the given key.
pub fn decode_config_value(key: &ConfigKey, bytes: &[u8]) -> Result<ConfigValue, RecordError> {
    if let ConfigKey::Unknown(_) = key {
        return Ok(ConfigValue::Unknown(bytes.to_vec()));
    }
    let m = parse_object(bytes)?;
    Ok(match key {
        ConfigKey::Connector(_) | ConfigKey::Task { .. } => {
            let props = match m.get("properties") {
                Some(Value::Object(p)) => p,
                _ => return Err(RecordError::Field("properties")),
            };
            let mut out = Vec::with_capacity(props.len());
            for (k, v) in props {
                let v = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(RecordError::Field("properties")),
                };
                out.push((k.clone(), v));
            }
            ConfigValue::Properties(out)
        }
        ConfigKey::Commit(_) => ConfigValue::Commit {
            tasks: get_i32(&m, "tasks")?,
        },
        ConfigKey::TargetState(_) => {
            let state = match get_opt_str(&m, "state.v2")? {
                Some(v2) => v2,
                None => get_str(&m, "state")?,
            };
            ConfigValue::TargetState(TargetState::parse(&state)?)
        }
        ConfigKey::TasksFencing(_) => ConfigValue::TasksFencing {
            task_count: get_i32(&m, "task-count")?,
        },
        ConfigKey::SessionKey => ConfigValue::SessionKey(SessionKey {
            key: get_str(&m, "key")?,
            algorithm: get_str(&m, "algorithm")?,
            creation_timestamp: get_i64(&m, "creation-timestamp")?,
        }),
        ConfigKey::RestartConnector(_) => ConfigValue::RestartConnector(RestartRequest {
            include_tasks: get_bool(&m, "include-tasks")?,
            only_failed: get_bool(&m, "only-failed")?,
        }),
        ConfigKey::LoggerCluster(_) => ConfigValue::LoggerCluster {
            level: get_str(&m, "level")?,
        },
        ConfigKey::Unknown(_) => unreachable!("handled above"),
    })
}

/// Encodes a config value as Kafka Connect writes it.
pub fn encode_config_value(value: &ConfigValue) -> Vec<u8> {
    let mut m = Map::new();
    match value {
        ConfigValue::Properties(props) => {
            let mut p = Map::new();
            for (k, v) in props {
                p.insert(
                    k.clone(),
                    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone())),
                );
            }
            m.insert("properties".into(), Value::Object(p));
        }
        ConfigValue::Commit { tasks } => {
            m.insert("tasks".into(), (*tasks).into());
        }
        ConfigValue::TargetState(state) => {
            // Older workers only know STARTED and PAUSED.
            let legacy = match state {
                TargetState::Stopped => TargetState::Paused,
                s => *s,
            };
            m.insert("state".into(), legacy.as_str().into());
            m.insert("state.v2".into(), state.as_str().into());
        }
        ConfigValue::TasksFencing { task_count } => {
            m.insert("task-count".into(), (*task_count).into());
        }
        ConfigValue::SessionKey(k) => {
            m.insert("key".into(), k.key.clone().into());
            m.insert("algorithm".into(), k.algorithm.clone().into());
            m.insert("creation-timestamp".into(), k.creation_timestamp.into());
        }
        ConfigValue::RestartConnector(r) => {
            m.insert("include-tasks".into(), r.include_tasks.into());
            m.insert("only-failed".into(), r.only_failed.into());
        }
        ConfigValue::LoggerCluster { level } => {
            m.insert("level".into(), level.clone().into());
        }
        ConfigValue::Unknown(bytes) => return bytes.clone(),
    }
    to_bytes(m)
}

// ---------------------------------------------------------------------------
// Status topic
// ---------------------------------------------------------------------------

/// A parsed status topic key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatusKey {
    Connector(String),
    Task { connector: String, task: u32 },
    Topic { topic: String, connector: String },
    Unknown(String),
}

impl StatusKey {
    pub fn parse(key: &str) -> StatusKey {
        if let Some(n) = key.strip_prefix("status-connector-") {
            StatusKey::Connector(n.to_owned())
        } else if let Some(rest) = key.strip_prefix("status-task-") {
            match rest.rsplit_once('-') {
                Some((c, id)) if !c.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    match id.parse::<u32>() {
                        Ok(task) => StatusKey::Task {
                            connector: c.to_owned(),
                            task,
                        },
                        Err(_) => StatusKey::Unknown(key.to_owned()),
                    }
                }
                _ => StatusKey::Unknown(key.to_owned()),
            }
        } else if let Some(rest) = key.strip_prefix("status-topic-") {
            // Topic names cannot contain ':', so the first separator is the one.
            match rest.split_once(":connector-") {
                Some((t, c)) if !t.is_empty() => StatusKey::Topic {
                    topic: t.to_owned(),
                    connector: c.to_owned(),
                },
                _ => StatusKey::Unknown(key.to_owned()),
            }
        } else {
            StatusKey::Unknown(key.to_owned())
        }
    }

    pub fn to_key_string(&self) -> String {
        match self {
            StatusKey::Connector(n) => format!("status-connector-{n}"),
            StatusKey::Task { connector, task } => format!("status-task-{connector}-{task}"),
            StatusKey::Topic { topic, connector } => {
                format!("status-topic-{topic}:connector-{connector}")
            }
            StatusKey::Unknown(k) => k.clone(),
        }
    }
}

/// A connector or task state as written to the status topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Unassigned => "UNASSIGNED",
            StatusState::Running => "RUNNING",
            StatusState::Paused => "PAUSED",
            StatusState::Failed => "FAILED",
            StatusState::Restarting => "RESTARTING",
            StatusState::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Result<StatusState, RecordError> {
        Ok(match s {
            "UNASSIGNED" => StatusState::Unassigned,
            "RUNNING" => StatusState::Running,
            "PAUSED" => StatusState::Paused,
            "FAILED" => StatusState::Failed,
            "RESTARTING" => StatusState::Restarting,
            "STOPPED" => StatusState::Stopped,
            other => return Err(RecordError::State(other.to_owned())),
        })
    }
}

/// The value of a `status-connector-*` or `status-task-*` record.
///
/// Kafka Connect 4.x appends an optional `version` field (the plugin
/// version) to the struct, so it is always written, as `null` when absent.
/// Records from older workers lack it and decode with `version: None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusValue {
    pub state: StatusState,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
    pub version: Option<String>,
}

/// The value of a `status-topic-*` record (KIP-558).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatusValue {
    pub name: String,
    pub connector: String,
    pub task: i32,
    pub discover_timestamp: i64,
}

/// A decoded status topic value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRecordValue {
    Status(StatusValue),
    Topic(TopicStatusValue),
    Unknown(Vec<u8>),
}

/// A status topic record: parsed key plus decoded value (`None` = tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub key: StatusKey,
    pub value: Option<StatusRecordValue>,
}

impl StatusRecord {
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<StatusRecord, RecordError> {
        let key = StatusKey::parse(key);
        let value = match value {
            None => None,
            Some(bytes) => Some(match key {
                StatusKey::Connector(_) | StatusKey::Task { .. } => {
                    StatusRecordValue::Status(decode_status_value(bytes)?)
                }
                StatusKey::Topic { .. } => {
                    StatusRecordValue::Topic(decode_topic_status_value(bytes)?)
                }
                StatusKey::Unknown(_) => StatusRecordValue::Unknown(bytes.to_vec()),
            }),
        };
        Ok(StatusRecord { key, value })
    }

    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let value = self.value.as_ref().map(|v| match v {
            StatusRecordValue::Status(s) => encode_status_value(s),
            StatusRecordValue::Topic(t) => encode_topic_status_value(t),
            StatusRecordValue::Unknown(b) => b.clone(),
        });
        (self.key.to_key_string(), value)
    }
}

pub fn decode_status_value(bytes: &[u8]) -> Result<StatusValue, RecordError> {
    let m = parse_object(bytes)?;
    Ok(StatusValue {
        state: StatusState::parse(&get_str(&m, "state")?)?,
        trace: get_opt_str(&m, "trace")?,
        worker_id: get_str(&m, "worker_id")?,
        generation: get_i32(&m, "generation")?,
        version: get_opt_str(&m, "version")?,
    })
}

pub fn encode_status_value(s: &StatusValue) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("state".into(), s.state.as_str().into());
    m.insert(
        "trace".into(),
        s.trace
            .as_ref()
            .map_or(Value::Null, |t| Value::String(t.clone())),
    );
    m.insert("worker_id".into(), s.worker_id.clone().into());
    m.insert("generation".into(), s.generation.into());
    m.insert(
        "version".into(),
        s.version
            .as_ref()
            .map_or(Value::Null, |v| Value::String(v.clone())),
    );
    to_bytes(m)
}

pub fn decode_topic_status_value(bytes: &[u8]) -> Result<TopicStatusValue, RecordError> {
    let m = parse_object(bytes)?;
    let t = match m.get("topic") {
        Some(Value::Object(t)) => t,
        _ => return Err(RecordError::Field("topic")),
    };
    Ok(TopicStatusValue {
        name: get_str(t, "name")?,
        connector: get_str(t, "connector")?,
        task: get_i32(t, "task")?,
        discover_timestamp: get_i64(t, "discoverTimestamp")?,
    })
}

pub fn encode_topic_status_value(t: &TopicStatusValue) -> Vec<u8> {
    let mut inner = Map::new();
    inner.insert("name".into(), t.name.clone().into());
    inner.insert("connector".into(), t.connector.clone().into());
    inner.insert("task".into(), t.task.into());
    inner.insert("discoverTimestamp".into(), t.discover_timestamp.into());
    let mut m = Map::new();
    m.insert("topic".into(), Value::Object(inner));
    to_bytes(m)
}

// ---------------------------------------------------------------------------
// Offsets topic
// ---------------------------------------------------------------------------

/// A parsed offsets topic key: `["<connector>",{partition}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetKey {
    pub connector: String,
    /// The source partition, in the order it appeared on the topic.
    pub partition: Map<String, Value>,
}

impl OffsetKey {
    /// Decodes an offsets topic key. Returns `Ok(None)` for keys readers
    /// must skip: anything that is not a 2-element `[string, object]` list
    /// (a null partition is skipped too).
    pub fn decode(bytes: &[u8]) -> Result<Option<OffsetKey>, RecordError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Json(e.to_string()))?;
        let Value::Array(items) = v else {
            return Ok(None);
        };
        match <[Value; 2]>::try_from(items) {
            Ok([Value::String(connector), Value::Object(partition)]) => Ok(Some(OffsetKey {
                connector,
                partition,
            })),
            _ => Ok(None),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        to_json_bytes(&Value::Array(vec![
            Value::String(self.connector.clone()),
            Value::Object(self.partition.clone()),
        ]))
    }
}

/// Decodes an offsets topic value: `None` for a tombstone, else the offset map.
pub fn decode_offset_value(
    bytes: Option<&[u8]>,
) -> Result<Option<Map<String, Value>>, RecordError> {
    match bytes {
        None => Ok(None),
        Some(b) => match serde_json::from_slice::<Value>(b) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(None),
            Ok(_) => Err(RecordError::NotAnObject),
            Err(e) => Err(RecordError::Json(e.to_string())),
        },
    }
}

/// Encodes an offsets topic value (`None` = tombstone).
pub fn encode_offset_value(offset: Option<&Map<String, Value>>) -> Option<Vec<u8>> {
    offset.map(|m| to_bytes(m.clone()))
}
