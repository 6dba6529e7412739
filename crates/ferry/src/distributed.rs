//! `ferry distributed worker.properties`: a worker of a cluster coordinated
//! through Kafka, like `connect-distributed`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ferry_group::{GroupConfig, GroupMember};
use ferry_kafka::{Admin, NewTopicSpec};
use ferry_runtime::distributed::herder::{
    DistributedHerder, DistributedParts, DistributedSettings,
};
use ferry_runtime::distributed::stores::{
    create_internal_topics, ConfigStore, InternalTopics, KafkaOffsetStore, KafkaStatusLog,
};
use ferry_runtime::entities::ServerInfo;
use ferry_runtime::plugins::CONNECT_VERSION;
use ferry_runtime::status::StatusStore;
use ferry_runtime::worker::Worker;
use ferry_runtime::worker_config::{
    WorkerConfig, CONFIG_TOPIC, GROUP_ID, OFFSETS_TOPIC, STATUS_TOPIC,
};
use ferry_runtime::Herder;
use tracing::{info, warn};

use crate::{all_plugins, bind_rest_listener, cli_config, wait_for_signal, worker_id};

/// How long reading an internal topic to its end may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) async fn run(
    worker_properties: PathBuf,
    loggers: Arc<dyn ferry_rest::LoggerControl>,
) -> Result<()> {
    let props = cli_config::worker_properties(&worker_properties)?;
    let config = WorkerConfig::new(props.clone(), false).map_err(|e| {
        anyhow::anyhow!(
            "invalid worker configuration in {}: {e}",
            worker_properties.display()
        )
    })?;
    let required = |key: &str| -> Result<String> {
        config
            .get(key)
            .map(str::to_owned)
            .with_context(|| format!("{key} is required in distributed mode"))
    };
    let group_id = required(GROUP_ID)?;
    let config_topic = required(CONFIG_TOPIC)?;
    let offsets_topic = required(OFFSETS_TOPIC)?;
    let status_topic = required(STATUS_TOPIC)?;

    let (listener, bound) = bind_rest_listener(&config).await?;
    let id = worker_id(&config, bound);
    let scheme = config
        .get("rest.advertised.listener")
        .unwrap_or("http")
        .to_owned();
    let url = format!("{scheme}://{id}/");

    let admin = Admin::new(&config.admin_props())?;
    let cluster_id = admin
        .cluster_id()
        .await
        .with_context(|| format!("cannot reach Kafka at {}", config.bootstrap_servers()))?;
    info!(kafka_cluster_id = %cluster_id, group = %group_id, "connected to Kafka");
    let factor = |key: &str| config.int_or(key, 3) as i32;
    let topics = InternalTopics {
        config: NewTopicSpec::compacted(
            &config_topic,
            1,
            factor("config.storage.replication.factor"),
        ),
        offsets: NewTopicSpec::compacted(
            &offsets_topic,
            config.int_or("offset.storage.partitions", 25) as i32,
            factor("offset.storage.replication.factor"),
        ),
        status: NewTopicSpec::compacted(
            &status_topic,
            config.int_or("status.storage.partitions", 5) as i32,
            factor("status.storage.replication.factor"),
        ),
    };
    // A broker that is still starting (or a controller change) refuses for
    // a moment; give it the time Kafka Connect's admin client would.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match create_internal_topics(&admin, &topics).await {
            Ok(()) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                warn!(error = %e, "cannot create the internal topics yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }

    let client_props = config.admin_props();
    let client_id = config
        .get("client.id")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{group_id}-{id}"));
    let status = Arc::new(StatusStore::new(id.clone()));
    let (config_store, config_events) = ConfigStore::start(
        &client_props,
        &config_topic,
        &format!("{client_id}-configs"),
        READ_TIMEOUT,
    )?;
    let offsets = Arc::new(KafkaOffsetStore::start(
        &client_props,
        &offsets_topic,
        &format!("{client_id}-offsets"),
        READ_TIMEOUT,
        config.offset_flush_timeout(),
    )?);
    let status_log = KafkaStatusLog::start(
        &client_props,
        &status_topic,
        &format!("{client_id}-statuses"),
        status.clone(),
        READ_TIMEOUT,
    )?;

    let group_props: HashMap<String, String> = props.into_iter().collect();
    let group = GroupConfig::from_worker_props(&group_props)?;
    let settings = DistributedSettings {
        url,
        scheduled_rebalance_max_delay_ms: config.int_or("scheduled.rebalance.max.delay.ms", 300_000)
            as i32,
        worker_sync_timeout: Duration::from_millis(
            config.int_or("worker.sync.timeout.ms", 3_000) as u64
        ),
        key_ttl: Duration::from_millis(config.int_or("inter.worker.key.ttl.ms", 3_600_000) as u64),
        signature_algorithm: config
            .get("inter.worker.signature.algorithm")
            .unwrap_or("HmacSHA256")
            .to_owned(),
        verification_algorithms: config.list("inter.worker.verification.algorithms"),
        read_timeout: READ_TIMEOUT,
    };
    let worker = Arc::new(Worker {
        config,
        offsets: offsets.clone(),
        status,
    });
    let herder = DistributedHerder::start(DistributedParts {
        worker,
        plugins: all_plugins(),
        admin,
        server_info: ServerInfo {
            version: CONNECT_VERSION.to_owned(),
            commit: env!("FERRY_COMMIT").to_owned(),
            kafka_cluster_id: cluster_id,
        },
        settings,
        config: config_store,
        config_events,
        offsets,
        status_log,
        member: GroupMember::new(group),
    });

    let router = ferry_rest::router(herder.clone() as Arc<dyn Herder>, loggers);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ferry_rest::serve(listener, router, async {
        let _ = stop_rx.await;
    }));
    info!(listener = %bound, worker_id = %id, "REST API listening");

    wait_for_signal().await;
    info!("shutting down: stopping work and leaving the group");
    herder.shutdown().await;
    let _ = stop_tx.send(());
    let _ = server.await;
    info!("ferry stopped");
    Ok(())
}
