//! The three internal topics as stores: Kafka Connect's
//! `KafkaConfigBackingStore`, `KafkaOffsetBackingStore` and
//! `KafkaStatusBackingStore`, on [`KafkaLog`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_api::{lock, OffsetMap};
use ferry_kafka::{Admin, ClientProps, KafkaClientError, KafkaLog, NewTopicSpec};
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::config_state::ConfigState;
use super::records::{
    from_props, ConfigKey, ConfigRecord, ConfigValue, RestartRequest, SessionKey, StatusRecord,
    TargetState,
};
use crate::offsets::{OffsetCache, OffsetStore, OffsetStoreError};
use crate::status::{StatusBackend, StatusStore};
use crate::Props;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{what}: {source}")]
    Kafka {
        what: String,
        source: KafkaClientError,
    },
}

fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaClientError) -> StoreError {
    let what = what.into();
    move |source| StoreError::Kafka { what, source }
}

/// Names and shapes of the internal topics, from the worker properties.
#[derive(Debug, Clone)]
pub struct InternalTopics {
    pub config: NewTopicSpec,
    pub offsets: NewTopicSpec,
    pub status: NewTopicSpec,
}

/// Creates the internal topics that do not exist, compacted, as Kafka
/// Connect does at start-up (`config.storage.partitions` is always 1).
pub async fn create_internal_topics(
    admin: &Admin,
    topics: &InternalTopics,
) -> Result<(), StoreError> {
    let created = admin
        .create_topics(&[
            topics.config.clone(),
            topics.offsets.clone(),
            topics.status.clone(),
        ])
        .await
        .map_err(kafka("creating the internal topics"))?;
    if !created.is_empty() {
        info!(topics = ?created, "created internal topics");
    }
    Ok(())
}

/// A change read from the config topic, for the herder to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEvent {
    /// A connector's config; `created` when the connector did not exist
    /// before this record (a new connector needs a rebalance, an update
    /// only a restart by the worker running it).
    ConnectorConfig {
        name: String,
        created: bool,
    },
    ConnectorRemoved(String),
    TasksCommitted(String),
    TargetState(String),
    Restart(String),
    SessionKey,
}

/// The config topic: a [`ConfigState`] kept up to date by the log reader,
/// the writes the herder makes, and a stream of [`ConfigEvent`]s.
pub struct ConfigStore {
    log: KafkaLog,
    state: Arc<Mutex<ConfigState>>,
    timeout: Duration,
}

impl ConfigStore {
    pub fn start(
        props: &ClientProps,
        topic: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<(Self, mpsc::UnboundedReceiver<ConfigEvent>), StoreError> {
        let state = Arc::new(Mutex::new(ConfigState::new()));
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = state.clone();
        let log = KafkaLog::start(props, topic, client_id, move |r| {
            let Some(key) = r.key.and_then(|k| std::str::from_utf8(k).ok()) else {
                warn!(offset = r.offset, "config record without a string key");
                return;
            };
            let record = match ConfigRecord::decode(key, r.value) {
                Ok(record) => record,
                Err(e) => {
                    warn!(key, offset = r.offset, error = %e, "undecodable config record");
                    // The config offset still advances past it.
                    let _ = lock(&shared).apply_raw(r.offset, key, r.value);
                    return;
                }
            };
            let mut state = lock(&shared);
            let event = match (&record.key, &record.value) {
                (ConfigKey::Connector(n), Some(_)) => Some(ConfigEvent::ConnectorConfig {
                    name: n.clone(),
                    created: !state.contains(n),
                }),
                (ConfigKey::Connector(n), None) => Some(ConfigEvent::ConnectorRemoved(n.clone())),
                (ConfigKey::Commit(n), Some(_)) => Some(ConfigEvent::TasksCommitted(n.clone())),
                (ConfigKey::TargetState(n), _) => Some(ConfigEvent::TargetState(n.clone())),
                (ConfigKey::RestartConnector(n), Some(_)) => Some(ConfigEvent::Restart(n.clone())),
                (ConfigKey::SessionKey, Some(_)) => Some(ConfigEvent::SessionKey),
                _ => None,
            };
            state.apply(r.offset, record);
            drop(state);
            if let Some(e) = event {
                let _ = tx.send(e);
            }
        })
        .map_err(kafka(format!("following config topic {topic}")))?;
        Ok((
            ConfigStore {
                log,
                state,
                timeout,
            },
            rx,
        ))
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> ConfigState {
        lock(&self.state).clone()
    }

    /// Runs `f` on the current state without copying it.
    pub fn with_state<T>(&self, f: impl FnOnce(&ConfigState) -> T) -> T {
        f(&lock(&self.state))
    }

    /// Marks the end of the start-up read (restart requests act from now on).
    pub fn set_live(&self) {
        lock(&self.state).set_live();
    }

    /// Takes the pending restart requests.
    pub fn take_restart_requests(&self) -> std::collections::BTreeMap<String, RestartRequest> {
        lock(&self.state).take_restart_requests()
    }

    pub async fn read_to_end(&self) -> Result<(), StoreError> {
        self.log
            .read_to_end(self.timeout)
            .await
            .map_err(kafka("reading the config topic"))
    }

    async fn write(&self, key: ConfigKey, value: Option<ConfigValue>) -> Result<(), StoreError> {
        let (key, value) = ConfigRecord { key, value }.encode();
        self.log
            .send(key.as_bytes(), value.as_deref(), Some(0))
            .await
            .map_err(kafka(format!("writing {key} to the config topic")))
    }

    /// Writes a connector config (after its initial target state, if any)
    /// and reads it back.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: &Props,
        initial: Option<TargetState>,
    ) -> Result<(), StoreError> {
        if let Some(state) = initial {
            self.write(
                ConfigKey::TargetState(name.to_owned()),
                Some(ConfigValue::TargetState(state)),
            )
            .await?;
        }
        self.write(
            ConfigKey::Connector(name.to_owned()),
            Some(ConfigValue::Properties(from_props(config))),
        )
        .await?;
        self.read_to_end().await
    }

    /// Tombstones the connector and its target state.
    pub async fn remove_connector(&self, name: &str) -> Result<(), StoreError> {
        self.write(ConfigKey::Connector(name.to_owned()), None)
            .await?;
        self.write(ConfigKey::TargetState(name.to_owned()), None)
            .await?;
        self.read_to_end().await
    }

    /// Writes task configs then the commit record, as the leader does.
    pub async fn put_task_configs(&self, name: &str, configs: &[Props]) -> Result<(), StoreError> {
        self.read_to_end().await?;
        for (i, c) in configs.iter().enumerate() {
            self.write(
                ConfigKey::Task {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                Some(ConfigValue::Properties(from_props(c))),
            )
            .await?;
        }
        if !configs.is_empty() {
            self.read_to_end().await?;
        }
        self.write(
            ConfigKey::Commit(name.to_owned()),
            Some(ConfigValue::Commit {
                tasks: configs.len() as i32,
            }),
        )
        .await?;
        self.read_to_end().await
    }

    pub async fn put_target_state(&self, name: &str, state: TargetState) -> Result<(), StoreError> {
        self.write(
            ConfigKey::TargetState(name.to_owned()),
            Some(ConfigValue::TargetState(state)),
        )
        .await?;
        self.read_to_end().await
    }

    pub async fn put_restart_request(
        &self,
        name: &str,
        request: RestartRequest,
    ) -> Result<(), StoreError> {
        self.write(
            ConfigKey::RestartConnector(name.to_owned()),
            Some(ConfigValue::RestartConnector(request)),
        )
        .await?;
        self.read_to_end().await
    }

    pub async fn put_session_key(&self, key: SessionKey) -> Result<(), StoreError> {
        self.write(ConfigKey::SessionKey, Some(ConfigValue::SessionKey(key)))
            .await?;
        self.read_to_end().await
    }
}

/// The offsets topic as the worker's [`OffsetStore`].
pub struct KafkaOffsetStore {
    log: KafkaLog,
    cache: Arc<Mutex<OffsetCache>>,
    timeout: Duration,
    /// `offset.flush.timeout.ms`: how long a commit waits for the broker.
    write_timeout: Duration,
}

impl KafkaOffsetStore {
    pub fn start(
        props: &ClientProps,
        topic: &str,
        client_id: &str,
        timeout: Duration,
        write_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let cache = Arc::new(Mutex::new(OffsetCache::default()));
        let shared = cache.clone();
        let log = KafkaLog::start(props, topic, client_id, move |r| {
            if let Some(key) = r.key {
                lock(&shared).apply_raw(key, r.value);
            }
        })
        .map_err(kafka(format!("following offsets topic {topic}")))?;
        Ok(KafkaOffsetStore {
            log,
            cache,
            timeout,
            write_timeout,
        })
    }

    /// Applies every offset written so far, by any worker.
    pub async fn read_to_end(&self) -> Result<(), StoreError> {
        self.log
            .read_to_end(self.timeout)
            .await
            .map_err(kafka("reading the offsets topic"))
    }
}

#[async_trait::async_trait]
impl OffsetStore for KafkaOffsetStore {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        lock(&self.cache).get(connector, partition)
    }

    async fn put(
        &self,
        connector: &str,
        offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), OffsetStoreError> {
        let records = lock(&self.cache).update(connector, offsets);
        self.log
            .send_all(&records, self.write_timeout)
            .await
            .map_err(|source| OffsetStoreError::Topic {
                topic: self.log.topic().to_owned(),
                source,
            })
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        lock(&self.cache).connector_offsets(connector)
    }
}

/// The status topic: publishes this worker's statuses and applies
/// everyone's to the worker's [`StatusStore`].
pub struct KafkaStatusLog {
    log: Arc<KafkaLog>,
    timeout: Duration,
}

struct StatusWriter {
    log: std::sync::Weak<KafkaLog>,
}

impl StatusBackend for StatusWriter {
    fn write(&self, key: String, value: Option<Vec<u8>>) {
        let Some(log) = self.log.upgrade() else {
            return;
        };
        // Enqueued in call order; the idempotent producer keeps that order.
        if let Err(e) = log.enqueue(key.as_bytes(), value.as_deref()) {
            warn!(key, error = %e, "cannot write status");
        }
    }
}

impl KafkaStatusLog {
    pub fn start(
        props: &ClientProps,
        topic: &str,
        client_id: &str,
        status: Arc<StatusStore>,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let reader = status.clone();
        let log = Arc::new(
            KafkaLog::start(props, topic, client_id, move |r| {
                let Some(key) = r.key.and_then(|k| std::str::from_utf8(k).ok()) else {
                    return;
                };
                match StatusRecord::decode(key, r.value) {
                    Ok(record) => reader.apply_record(record),
                    Err(e) => warn!(key, error = %e, "undecodable status record"),
                }
            })
            .map_err(kafka(format!("following status topic {topic}")))?,
        );
        status.set_backend(Arc::new(StatusWriter {
            log: Arc::downgrade(&log),
        }));
        Ok(KafkaStatusLog { log, timeout })
    }

    pub async fn read_to_end(&self) -> Result<(), StoreError> {
        self.log
            .read_to_end(self.timeout)
            .await
            .map_err(kafka("reading the status topic"))
    }

    /// Waits until the statuses written so far are acknowledged. The wait
    /// blocks this thread (librdkafka's flush), so the runtime's other work,
    /// REST requests included, moves to another worker meanwhile.
    pub fn flush(&self) {
        if let Err(e) = tokio::task::block_in_place(|| self.log.flush(self.timeout)) {
            warn!(error = %e, "status writes not acknowledged");
        }
    }
}
