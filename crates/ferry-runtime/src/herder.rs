//! The herder's interface: everything the REST API can ask of a worker.
//! Standalone and distributed herders implement it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use ferry_api::config::ConfigInfos;
use thiserror::Error;

use crate::entities::{
    ActiveTopicsInfo, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, Message, PluginInfo,
    RestartPlan, ServerInfo, TargetState, TaskId, TaskInfo, TaskState,
};
use crate::Props;

/// Failures with the HTTP status Kafka Connect answers them with.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum HerderError {
    /// 400
    #[error("{0}")]
    BadRequest(String),
    /// 403
    #[error("{0}")]
    Forbidden(String),
    /// 404
    #[error("{0}")]
    NotFound(String),
    /// 409
    #[error("{0}")]
    Conflict(String),
    /// 500
    #[error("{0}")]
    Internal(String),
    /// 503
    #[error("{0}")]
    Unavailable(String),
    /// The request must be served by another worker (the leader, or the
    /// owner of a connector or task): the REST layer forwards it to `url`,
    /// that worker's advertised REST URL.
    #[error("request must be served by the worker at {url}")]
    RequestTarget { url: String },
}

impl HerderError {
    pub fn status_code(&self) -> u16 {
        match self {
            HerderError::BadRequest(_) => 400,
            HerderError::Forbidden(_) => 403,
            HerderError::NotFound(_) => 404,
            HerderError::Conflict(_) => 409,
            HerderError::Internal(_) => 500,
            HerderError::Unavailable(_) => 503,
            // Answered only when the request cannot be forwarded again.
            HerderError::RequestTarget { .. } => 409,
        }
    }
}

pub type HerderResult<T> = Result<T, HerderError>;

/// Whether a config write created the connector or replaced its config.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub created: bool,
    pub value: T,
}

/// The type of a plugin listed by `/connector-plugins`.
pub use ferry_api::PluginType;

#[async_trait]
pub trait Herder: Send + Sync {
    async fn server_info(&self) -> HerderResult<ServerInfo>;
    /// `starting` until the herder is ready; `Ok` when healthy.
    async fn health(&self) -> HerderResult<String>;

    async fn connectors(&self) -> Vec<String>;
    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo>;
    async fn connector_config(&self, name: &str) -> HerderResult<Props>;
    /// Creates (when `allow_replace` is false, a clash is a 409) or replaces
    /// a connector's config, validating it first.
    async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>>;
    /// Applies a partial config; `None` values delete keys.
    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        let mut config = self.connector_config(name).await?;
        crate::connector_ops::apply_patch(&mut config, patch);
        Ok(self
            .put_connector_config(name, config, true, None)
            .await?
            .value)
    }
    async fn delete_connector(&self, name: &str) -> HerderResult<()>;

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo>;
    async fn task_status(&self, id: &TaskId) -> HerderResult<TaskState>;
    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>>;

    /// `None`: the connector alone was restarted (204); `Some(plan)`: the
    /// restart plan (202).
    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HerderResult<Option<RestartPlan>>;
    async fn restart_task(&self, id: &TaskId) -> HerderResult<()>;
    async fn pause_connector(&self, name: &str) -> HerderResult<()>;
    async fn resume_connector(&self, name: &str) -> HerderResult<()>;
    async fn stop_connector(&self, name: &str) -> HerderResult<()>;

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets>;
    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message>;
    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message>;

    async fn active_topics(&self, name: &str) -> HerderResult<ActiveTopicsInfo>;
    async fn reset_active_topics(&self, name: &str) -> HerderResult<()>;

    /// Validates a connector config (`PUT /connector-plugins/{p}/config/validate`).
    async fn validate_connector_config(&self, config: Props) -> HerderResult<ConfigInfos>;
    /// Plugins of the given types, in Kafka Connect's listing order.
    fn plugins(&self, types: &[PluginType]) -> Vec<PluginInfo>;
    /// The config keys of a plugin: its own first, then the framework's.
    fn plugin_config(&self, plugin: &str) -> HerderResult<Vec<ferry_api::config::ConfigKeyInfo>>;

    /// `POST /connectors/{c}/tasks`: task configs a worker running the
    /// connector sends to the leader, as the raw JSON body and its KIP-507
    /// signature headers (`X-Connect-Authorization`,
    /// `X-Connect-Request-Signature-Algorithm`).
    async fn put_task_configs(
        &self,
        name: &str,
        _body: &[u8],
        _signature: Option<RequestSignature>,
    ) -> HerderResult<()> {
        Err(HerderError::NotFound(format!(
            "Task configs of {name} are written by the leader of a distributed cluster; this worker runs standalone"
        )))
    }
}

/// The signature headers of an internal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// `X-Connect-Request-Signature-Algorithm`, e.g. `HmacSHA256`.
    pub algorithm: String,
    /// `X-Connect-Authorization`: the base64 MAC of the body.
    pub mac: String,
}
