//! `ferry distributed worker.properties`: a worker of a cluster coordinated
//! through Kafka, like `connect-distributed`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ferry_group::GroupMember;
use ferry_kafka::{Admin, NewTopicSpec, ProducerPool};
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
use ferry_runtime::worker_config::{InternalTopicConfig, WorkerConfig};
use ferry_runtime::Herder;
use tracing::{info, warn};

use ferry_api::Plugin;

use crate::{all_plugins, bind_rest_listener, cli_config, rest_limits, wait_for_signal, worker_id};

pub(crate) async fn run(
    worker_properties: PathBuf,
    build: Vec<Plugin>,
    loggers: Arc<dyn ferry_rest::LoggerControl>,
) -> Result<()> {
    let props = cli_config::worker_properties(&worker_properties)?;
    let config = WorkerConfig::new(props, false).map_err(|e| {
        anyhow::anyhow!(
            "invalid worker configuration in {}: {e}",
            worker_properties.display()
        )
    })?;
    let plugins = all_plugins(&config, &worker_properties, build)?;
    let distributed = config
        .distributed_config()
        .context("a distributed worker configuration")?
        .clone();
    // The group member's settings (and its certificate files) are checked
    // before anything touches Kafka.
    let group = config.group_config().with_context(|| {
        format!(
            "invalid worker configuration in {}",
            worker_properties.display()
        )
    })?;
    let auth = crate::rest_auth(&config)?;
    let config_for_rest = config.clone();

    let client_tls = config
        .rest_client_tls()
        .context("cannot set up TLS to the other workers' REST APIs")?;
    let rest = bind_rest_listener(&config).await?;
    let bound = rest.bound;
    let limits = rest_limits(&config);
    let id = worker_id(&config, bound);
    let url = format!("{}://{id}/", config.advertised_scheme());
    let mut settings = DistributedSettings::new(url, &distributed);
    settings.rest_client_tls = client_tls.clone();

    let admin = Admin::new(&config.admin_props())?;
    let cluster_id = admin
        .cluster_id()
        .await
        .with_context(|| format!("cannot reach Kafka at {}", config.bootstrap_servers()))?;
    info!(kafka_cluster_id = %cluster_id, group = %distributed.group_id, "connected to Kafka");
    let spec = |t: &InternalTopicConfig| {
        NewTopicSpec::compacted(&t.name, t.partitions, i32::from(t.replication_factor))
    };
    let topics = InternalTopics {
        config: spec(&distributed.config_topic),
        offsets: spec(&distributed.offsets_topic),
        status: spec(&distributed.status_topic),
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
    let client_id = distributed
        .client_id
        .clone()
        .unwrap_or_else(|| format!("{}-{id}", distributed.group_id));
    let status = Arc::new(StatusStore::new(id.clone()));
    let (config_store, config_events) = ConfigStore::start(
        &client_props,
        &distributed.config_topic.name,
        &format!("{client_id}-configs"),
        settings.read_timeout,
    )?;
    let offsets = Arc::new(KafkaOffsetStore::start(
        &client_props,
        &distributed.offsets_topic.name,
        &format!("{client_id}-offsets"),
        settings.read_timeout,
        config.offset_flush_timeout(),
    )?);
    let status_log = KafkaStatusLog::start(
        &client_props,
        &distributed.status_topic.name,
        &format!("{client_id}-statuses"),
        status.clone(),
        settings.read_timeout,
    )?;

    let worker = Arc::new(Worker {
        config,
        plugins,
        offsets: offsets.clone(),
        status,
        producers: ProducerPool::new(),
    });
    let herder = DistributedHerder::start(DistributedParts {
        worker,
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

    let server = ferry_rest::RestServer::new(herder.clone() as Arc<dyn Herder>, loggers)
        .basic_auth(auth)
        .forwarding_tls(client_tls.clone());
    let servers = crate::serve_rest(&config_for_rest, server, rest, limits).await?;
    info!(listener = %bound, worker_id = %id, "REST API listening");

    wait_for_signal().await;
    info!("shutting down: stopping work and leaving the group");
    herder.shutdown().await;
    servers.stop().await;
    info!("ferry stopped");
    Ok(())
}
