//! The JSON shapes of Kafka Connect's REST API, shared by the herders and
//! the REST layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Props;

/// `ConnectorTaskId`: `{"connector":"c1","task":0}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId {
    pub connector: String,
    pub task: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// `ConnectorInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: Props,
    pub tasks: Vec<TaskId>,
    #[serde(rename = "type")]
    pub connector_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
    Restarting,
    Stopped,
}

/// The connector part of a status answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    pub state: State,
    pub worker_id: String,
    /// The plugin version (KIP-891); written as `null` when unknown.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// A task's status (`TaskState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    pub id: u32,
    pub state: State,
    pub worker_id: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// `TaskInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: TaskId,
    pub config: Props,
}

/// `ServerInfo`, the answer of `GET /`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: String,
}

/// `PluginInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    #[serde(rename = "class")]
    pub class_name: String,
    #[serde(rename = "type")]
    pub plugin_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One partition's offset in `ConnectorOffsets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    pub partition: serde_json::Map<String, serde_json::Value>,
    pub offset: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ConnectorOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

/// `{"message": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message: String,
}

/// Topics a connector has used (KIP-558): `{"c1":{"topics":[…]}}`.
pub type ActiveTopicsInfo = BTreeMap<String, ActiveTopics>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveTopics {
    pub topics: Vec<String>,
}

/// What a user asked a connector to be: Kafka Connect's `TargetState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    #[serde(alias = "RUNNING")]
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// Parses `initial_state` of a create request (case-insensitive).
    pub fn parse_initial(s: &str) -> Option<TargetState> {
        match s.to_ascii_uppercase().as_str() {
            "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// The plan answered by a restart with `includeTasks` or `onlyFailed`.
pub type RestartPlan = ConnectorStateInfo;

/// A logger's level, as `/admin/loggers` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggerLevel {
    pub level: String,
    pub last_modified: Option<i64>,
}
