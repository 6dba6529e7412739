//! The REST side of the distributed herder: reads from the shared state,
//! leader-only writes sent to the leader, and verification of signed
//! internal requests.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use ferry_api::config::{ConfigInfos, ConfigKeyInfo};
use ferry_group::{ConnectProtocol, ConnectorTaskId};
use hmac::Mac;
use tracing::info;

use super::*;

#[async_trait]
impl Herder for DistributedHerder {
    async fn server_info(&self) -> HerderResult<ServerInfo> {
        Ok(self.server_info.clone())
    }

    async fn health(&self) -> HerderResult<String> {
        if self.membership().ready {
            Ok("Worker has completed startup and is ready to handle requests.".into())
        } else {
            Err(HerderError::Unavailable(
                "Worker is still starting up.".into(),
            ))
        }
    }

    async fn connectors(&self) -> Vec<String> {
        self.config
            .with_state(|s| s.connectors().map(str::to_owned).collect())
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        let config = self.stored_config(name)?;
        Ok(self.info_of(name, config))
    }

    async fn connector_config(&self, name: &str) -> HerderResult<Props> {
        self.stored_config(name)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        connector_ops::validate_for_put(&self.worker.plugins, &self.rules, name, &mut config)?;
        self.require_leader().await?;
        let exists = self.config.with_state(|s| s.contains(name));
        if exists && !allow_replace {
            return Err(HerderError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        let initial = if exists {
            None
        } else {
            initial_state.map(from_entity_target)
        };
        self.config
            .put_connector_config(name, &config, initial)
            .await
            .map_err(internal)?;
        info!(
            connector = name,
            created = !exists,
            "connector config written"
        );
        Ok(Created {
            created: !exists,
            value: self.info_of(name, config),
        })
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        self.require_leader().await?;
        self.stored_config(name)?;
        self.config.remove_connector(name).await.map_err(internal)?;
        info!(connector = name, "connector deleted");
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        let config = self
            .stored_config(name)
            .map_err(|_| HerderError::NotFound(format!("No status found for connector {name}")))?;
        Ok(self.status_of(name, &config))
    }

    async fn task_status(&self, id: &TaskId) -> HerderResult<TaskState> {
        let missing = || HerderError::NotFound(format!("No status found for task {id}"));
        let config = self.stored_config(&id.connector).map_err(|_| missing())?;
        let count = self
            .config
            .with_state(|s| s.task_count(&id.connector).unwrap_or(0));
        if id.task >= count {
            return Err(missing());
        }
        let s = self
            .worker
            .status
            .task(&id.connector, id.task)
            .ok_or_else(missing)?;
        Ok(TaskState {
            id: id.task,
            state: s.state,
            worker_id: s.worker_id,
            version: self.plugin_of(&config).map(|p| p.version.to_owned()),
            trace: s.trace,
        })
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        self.stored_config(name)?;
        Ok(self.config.with_state(|s| {
            s.task_configs(name)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, c)| TaskInfo {
                    id: TaskId {
                        connector: name.to_owned(),
                        task: i as u32,
                    },
                    config: to_props(c),
                })
                .collect()
        }))
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HerderResult<Option<RestartPlan>> {
        let config = self
            .written_config(name)
            .await
            .map_err(|_| HerderError::NotFound(format!("Unknown connector: {name}")))?;
        let m = self.stable_membership().await?;
        if !include_tasks && !only_failed {
            // A plain restart goes to the worker running the connector.
            let mut work = self.work.lock().await;
            if work.connectors.contains_key(name) {
                self.restart_lifecycle(&mut work, name).await;
                return Ok(None);
            }
            drop(work);
            if m.is_leader {
                return match self.owner_url(m.connector_owners.get(name)) {
                    Some(url) => Err(HerderError::RequestTarget { url }),
                    None => Err(HerderError::Conflict(STALE_CONFIG.into())),
                };
            }
            self.require_leader().await?;
            return Ok(None);
        }
        self.require_leader().await?;
        let status = self.status_of(name, &config);
        let mut plan = status.clone();
        if !only_failed || status.connector.state == State::Failed {
            plan.connector.state = State::Restarting;
        }
        for t in plan.tasks.iter_mut() {
            if include_tasks && (!only_failed || t.state == State::Failed) {
                t.state = State::Restarting;
                t.trace = None;
            }
        }
        self.config
            .put_restart_request(
                name,
                RestartRequest {
                    include_tasks,
                    only_failed,
                },
            )
            .await
            .map_err(internal)?;
        Ok(Some(plan))
    }

    async fn restart_task(&self, id: &TaskId) -> HerderResult<()> {
        self.written_config(&id.connector)
            .await
            .map_err(|_| HerderError::NotFound(format!("Unknown connector: {}", id.connector)))?;
        let count = self
            .config
            .with_state(|s| s.task_count(&id.connector).unwrap_or(0));
        if id.task >= count {
            return Err(HerderError::NotFound(format!("Unknown task: {id}")));
        }
        let m = self.stable_membership().await?;
        let key = (id.connector.clone(), id.task);
        let mut work = self.work.lock().await;
        if let Some(t) = work.tasks.remove(&key) {
            self.worker
                .stop_tasks(&id.connector, vec![(id.task, t.handle)])
                .await;
            self.start_task(&mut work, &id.connector, id.task);
            return Ok(());
        }
        drop(work);
        if m.is_leader {
            let owner = m
                .task_owners
                .get(&ConnectorTaskId::new(id.connector.clone(), id.task as i32));
            return match self.owner_url(owner) {
                Some(url) => Err(HerderError::RequestTarget { url }),
                None => Err(HerderError::Conflict(STALE_CONFIG.into())),
            };
        }
        self.require_leader().await.map(drop)
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        self.put_target_state(name, StoredTarget::Paused).await
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        self.put_target_state(name, StoredTarget::Started).await
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        self.written_config(name)
            .await
            .map_err(|_| HerderError::NotFound(format!("Unknown connector {name}")))?;
        self.require_leader().await?;
        let _writes = self.task_config_writes.lock().await;
        // No tasks first, then the state, so no task outlives the stop.
        self.config
            .put_task_configs(name, &[])
            .await
            .map_err(internal)?;
        self.config
            .put_target_state(name, StoredTarget::Stopped)
            .await
            .map_err(internal)
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        let config = self.stored_config(name)?;
        let plugin = self
            .plugin_of(&config)
            .ok_or_else(|| internal(format!("no plugin for connector {name}")))?;
        self.offsets.read_to_end().await.map_err(internal)?;
        let store: Arc<dyn OffsetStore> = self.offsets.clone();
        connector_ops::read_offsets(&self.admin, &store, name, plugin.kind, &config)
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message> {
        connector_ops::require_offsets(&offsets)?;
        let config = self.stored_config(name)?;
        self.require_leader().await?;
        self.require_stopped(name)?;
        let plugin = self
            .plugin_of(&config)
            .ok_or_else(|| internal(format!("no plugin for connector {name}")))?;
        let store: Arc<dyn OffsetStore> = self.offsets.clone();
        connector_ops::alter_offsets(&self.admin, &store, name, plugin.kind, &config, offsets).await
    }

    async fn reset_connector_offsets(&self, name: &str) -> HerderResult<Message> {
        let config = self.stored_config(name)?;
        self.require_leader().await?;
        self.require_stopped(name)?;
        let plugin = self
            .plugin_of(&config)
            .ok_or_else(|| internal(format!("no plugin for connector {name}")))?;
        self.offsets.read_to_end().await.map_err(internal)?;
        let store: Arc<dyn OffsetStore> = self.offsets.clone();
        connector_ops::reset_offsets(&self.admin, &store, name, plugin.kind, &config).await
    }

    async fn active_topics(&self, name: &str) -> HerderResult<ActiveTopicsInfo> {
        self.stored_config(name)?;
        connector_ops::active_topics(&self.worker.config, &self.worker.status, name)
    }

    async fn reset_active_topics(&self, name: &str) -> HerderResult<()> {
        self.stored_config(name)?;
        connector_ops::reset_active_topics(&self.worker.config, &self.worker.status, name)
    }

    async fn validate_connector_config(&self, config: Props) -> HerderResult<ConfigInfos> {
        Ok(connector_ops::validate(&self.worker.plugins, &self.rules, &config)?.1)
    }

    fn plugins(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        self.worker.plugins.list(types)
    }

    fn plugin_config(&self, plugin: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
        connector_ops::plugin_config(&self.worker.plugins, plugin)
    }

    async fn put_task_configs(
        &self,
        name: &str,
        body: &[u8],
        signature: Option<RequestSignature>,
    ) -> HerderResult<()> {
        self.verify_signature(body, signature.as_ref())?;
        let configs: Vec<Props> = serde_json::from_slice(body)
            .map_err(|e| HerderError::BadRequest(format!("Invalid task configs: {e}")))?;
        self.require_leader().await?;
        let _writes = self.task_config_writes.lock().await;
        let target = self
            .config
            .with_state(|s| s.contains(name).then(|| s.target_state(name)))
            .ok_or_else(|| not_found(name))?;
        if target == Some(StoredTarget::Stopped) && !configs.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Connector {name} is in the STOPPED state and may not have any tasks"
            )));
        }
        self.config
            .put_task_configs(name, &configs)
            .await
            .map_err(internal)
    }
}

impl DistributedHerder {
    fn require_stopped(&self, name: &str) -> HerderResult<()> {
        let stopped = self.config.with_state(|s| {
            s.target_state(name) == Some(StoredTarget::Stopped)
                && s.task_count(name).unwrap_or(0) == 0
        });
        if !stopped {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(())
    }

    /// KIP-507: internal requests are signed with the session key when the
    /// group runs the `sessioned` protocol.
    fn verify_signature(
        &self,
        body: &[u8],
        signature: Option<&RequestSignature>,
    ) -> HerderResult<()> {
        if self.membership().protocol != Some(ConnectProtocol::Sessioned) {
            return Ok(());
        }
        let Some(sig) = signature else {
            return Err(HerderError::BadRequest(
                "Internal request missing required signature".into(),
            ));
        };
        if !self
            .settings
            .verification_algorithms
            .contains(&sig.algorithm)
            || sig.algorithm != HMAC_SHA256
        {
            return Err(HerderError::BadRequest(format!(
                "This worker does not support the '{}' key signing algorithm used by other workers. This worker is currently configured to use: {:?}. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it.",
                sig.algorithm, self.settings.verification_algorithms
            )));
        }
        let Some(key) = self.config.with_state(|s| s.session_key().cloned()) else {
            return Err(HerderError::Unavailable(
                "Internal request signing key not available yet; try again later".into(),
            ));
        };
        let b64 = &base64::engine::general_purpose::STANDARD;
        let valid = match (b64.decode(&key.key), b64.decode(sig.mac.trim())) {
            (Ok(raw), Ok(given)) => HmacSha256::new_from_slice(&raw)
                .map(|mut m| {
                    m.update(body);
                    // verify_slice compares in constant time.
                    m.verify_slice(&given).is_ok()
                })
                .unwrap_or(false),
            _ => false,
        };
        if !valid {
            return Err(HerderError::Forbidden(
                "Internal request contained invalid signature.".into(),
            ));
        }
        Ok(())
    }
}
