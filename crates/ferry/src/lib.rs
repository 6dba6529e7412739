//! Ferry's worker as a library: the `ferry` binary is [`Build::run`] on
//! the built-in plugins, and a team can build its own binary the same way
//! with its own connectors, converters and transformations compiled in.
//!
//! ```no_run
//! fn main() -> anyhow::Result<()> {
//!     // The built-in plugins this build enables (Cargo features `file`,
//!     // `datagen`, `jdbc`, `postgres-cdc`, `s3`), plus one's own, e.g.
//!     // `my_connectors::plugins()`.
//!     let extra: Vec<ferry_api::Plugin> = Vec::new();
//!     ferry::Build::with_built_ins().plugins(extra).run()
//! }
//! ```
//!
//! The command line is the `ferry` binary's: `standalone worker.properties
//! [connector.properties|json …]` runs like `connect-standalone`,
//! `distributed worker.properties` like `connect-distributed`. Native
//! plugins under `plugin.path` load as in the `ferry` binary.

mod cli_config;
mod distributed;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use ferry_api::{Plugin, PluginDescriptor};
use ferry_kafka::ProducerPool;
use ferry_runtime::offsets::FileOffsetStore;
use ferry_runtime::plugins::{Origin, Plugins};
use ferry_runtime::standalone::StandaloneHerder;
use ferry_runtime::status::StatusStore;
use ferry_runtime::worker::Worker;
use ferry_runtime::worker_config::WorkerConfig;
use ferry_runtime::Herder;
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(name = "ferry", version, about = "A Kafka Connect compatible worker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a standalone worker, like connect-standalone.
    Standalone {
        /// Worker properties file.
        worker_properties: PathBuf,
        /// Connector configs (.properties or .json) to start.
        connector_configs: Vec<PathBuf>,
    },
    /// Run a worker of a distributed cluster, like connect-distributed.
    Distributed {
        /// Worker properties file.
        worker_properties: PathBuf,
    },
}

/// A worker build: the plugins compiled into it. Native plugins under
/// `plugin.path` are loaded at start on top of these.
#[derive(Default)]
pub struct Build {
    plugins: Vec<Plugin>,
}

impl Build {
    /// No plugins beyond Ferry's converters, transformations and
    /// predicates, which every worker has.
    pub fn new() -> Self {
        Self::default()
    }

    /// The connectors this build of the `ferry` crate enables (Cargo
    /// features `file`, `datagen`, `jdbc`, `postgres-cdc` and `s3`, all on by
    /// default).
    pub fn with_built_ins() -> Self {
        Build {
            plugins: built_in_connectors()
                .into_iter()
                .map(Plugin::connector)
                .collect(),
        }
    }

    /// Adds plugins of any kind (connectors, converters, header converters,
    /// transformations, predicates).
    pub fn plugins(mut self, plugins: impl IntoIterator<Item = Plugin>) -> Self {
        self.plugins.extend(plugins);
        self
    }

    /// Parses the command line as the `ferry` binary does, runs the worker
    /// until SIGTERM or SIGINT, and returns once it has stopped.
    pub fn run(self) -> Result<()> {
        let cli = Cli::parse();
        let loggers = ferry_rest::logging::init_tracing();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ferry-worker")
            .build()
            .context("starting the async runtime")?;
        let plugins = self.plugins;
        let result = runtime.block_on(async {
            match cli.command {
                Command::Standalone {
                    worker_properties,
                    connector_configs,
                } => run_standalone(worker_properties, connector_configs, plugins, loggers).await,
                Command::Distributed { worker_properties } => {
                    distributed::run(worker_properties, plugins, loggers).await
                }
            }
        });
        if let Err(e) = &result {
            error!("{e:#}");
        }
        result
    }
}

/// The connectors of the enabled Cargo features.
fn built_in_connectors() -> Vec<PluginDescriptor> {
    #[allow(unused_mut)]
    let mut connectors = Vec::new();
    #[cfg(feature = "file")]
    connectors.extend(ferry_connector_file::plugins());
    #[cfg(feature = "datagen")]
    connectors.extend(ferry_connector_datagen::plugins());
    #[cfg(feature = "jdbc")]
    connectors.extend(ferry_connector_jdbc::plugins());
    #[cfg(feature = "postgres-cdc")]
    connectors.extend(ferry_connector_postgres_cdc::plugins());
    #[cfg(feature = "s3")]
    connectors.extend(ferry_connector_s3::plugins());
    connectors
}

/// The REST API's authentication: Kafka Connect's basic authentication
/// extension when `rest.extension.classes` names it (its JAAS file from
/// `java.security.auth.login.config`, else from `KAFKA_OPTS` as a Java
/// worker is given it); otherwise none, said loudly.
pub(crate) fn rest_auth(config: &WorkerConfig) -> Result<Option<Arc<ferry_rest::BasicAuth>>> {
    if !config.common.rest_basic_auth {
        warn!(
            "the REST API asks for no authentication: anyone who can reach {} can create, change and delete connectors; set rest.extension.classes={} with a JAAS file to require users",
            config.listeners(),
            ferry_rest::BASIC_AUTH_EXTENSION
        );
        return Ok(None);
    }
    let jaas = config
        .common
        .jaas_config
        .clone()
        .or_else(jaas_from_kafka_opts)
        .with_context(|| {
            format!(
                "rest.extension.classes names {} but no JAAS file is given: set java.security.auth.login.config (or -Djava.security.auth.login.config=… in KAFKA_OPTS)",
                ferry_rest::BASIC_AUTH_EXTENSION
            )
        })?;
    let auth = ferry_rest::BasicAuth::from_jaas_file(
        std::path::Path::new(&jaas),
        config.common.rest_read_only_users.clone(),
    )?;
    info!(jaas = %jaas, read_only_users = ?config.common.rest_read_only_users, "the REST API requires HTTP Basic credentials");
    Ok(Some(Arc::new(auth)))
}

/// `-Djava.security.auth.login.config=PATH` from `KAFKA_OPTS`.
fn jaas_from_kafka_opts() -> Option<String> {
    let opts = std::env::var("KAFKA_OPTS").ok()?;
    opts.split_whitespace()
        .find_map(|o| o.strip_prefix("-Djava.security.auth.login.config="))
        .map(|p| p.trim_matches(|c| c == '"' || c == '\'').to_owned())
}

/// The REST servers a worker runs: the main listener's and, with
/// `admin.listeners`, the admin endpoints' own.
pub(crate) struct RestServers {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RestServers {
    /// Stops accepting and lets requests in progress finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Serves `server` on `main`; with `admin.listeners` set, the admin
/// endpoints move to its first listener (or, empty, are served nowhere),
/// as in Kafka Connect.
pub(crate) async fn serve_rest(
    config: &WorkerConfig,
    server: ferry_rest::RestServer,
    main: RestListener,
    limits: ferry_rest::ConnectionLimits,
) -> Result<RestServers> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut handles = Vec::new();
    let server = match &config.common.admin_listeners {
        None => server,
        Some(list) => {
            let server = server.without_admin();
            let listeners = ferry_rest::parse_listener_urls(&list.join(","));
            match (list.is_empty(), listeners) {
                (true, _) => info!("admin.listeners is empty: /admin/loggers is served nowhere"),
                (false, Err(e)) => bail!("invalid `admin.listeners`: {e}"),
                (false, Ok(listeners)) => {
                    let Some(first) = listeners.first().copied() else {
                        bail!("`admin.listeners` names no address");
                    };
                    let tls = if first.https {
                        Some(
                            config
                                .admin_server_tls()
                                .context("cannot set up the https admin listener")?,
                        )
                    } else {
                        None
                    };
                    let listener = tokio::net::TcpListener::bind(first.addr)
                        .await
                        .with_context(|| {
                            format!("cannot listen on {} (admin.listeners)", first.addr)
                        })?;
                    let bound = listener.local_addr()?;
                    let admin = RestListener {
                        listener,
                        bound,
                        tls,
                    };
                    info!(listener = %bound, "admin REST endpoints listening");
                    handles.push(admin.serve(
                        server.admin_router(),
                        limits,
                        until_stopped(stopped.clone()),
                    ));
                }
            }
            server
        }
    };
    handles.push(main.serve(server.router(), limits, until_stopped(stopped)));
    Ok(RestServers { stop, handles })
}

/// The REST API's bound listener, and its TLS when it is `https`.
pub(crate) struct RestListener {
    listener: tokio::net::TcpListener,
    pub bound: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl RestListener {
    /// Serves `router` until `shutdown` completes.
    pub fn serve(
        self,
        router: axum::Router,
        limits: ferry_rest::ConnectionLimits,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<std::io::Result<()>> {
        match self.tls {
            Some(tls) => tokio::spawn(ferry_rest::serve_tls(
                self.listener,
                router,
                limits,
                tls,
                shutdown,
            )),
            None => tokio::spawn(ferry_rest::serve(self.listener, router, limits, shutdown)),
        }
    }
}

/// Binds the REST API's first `listeners` address; an `https` one with the
/// key store (and for `ssl.client.auth`, the trust store) of
/// `listeners.https.ssl.*`, else of `ssl.*`.
pub(crate) async fn bind_rest_listener(config: &WorkerConfig) -> Result<RestListener> {
    let listeners =
        ferry_rest::parse_listener_urls(&config.listeners()).context("invalid `listeners`")?;
    let Some(first) = listeners.first().copied() else {
        bail!("`listeners` names no address");
    };
    let tls = if first.https {
        Some(
            config
                .rest_server_tls()
                .context("cannot set up the https listener")?,
        )
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(first.addr)
        .await
        .with_context(|| format!("cannot listen on {}", first.addr))?;
    let bound = listener.local_addr()?;
    Ok(RestListener {
        listener,
        bound,
        tls,
    })
}

/// The REST listener's connection limits from the worker properties.
pub(crate) fn rest_limits(config: &WorkerConfig) -> ferry_rest::ConnectionLimits {
    ferry_rest::ConnectionLimits {
        max_connections: config.common.rest_connections_max,
        header_read_timeout: config.common.rest_header_read_timeout,
        idle_timeout: config.common.rest_idle_timeout,
    }
}

/// The plugin registry of this worker: Ferry's converters, transformations
/// and predicates, the build's `plugins`, and the native plugins under
/// `plugin.path`; `config`'s `header.converter` must name one of them.
pub(crate) fn all_plugins(
    config: &WorkerConfig,
    worker_properties: &Path,
    build: Vec<Plugin>,
) -> Result<Arc<Plugins>> {
    let mut plugins = Plugins::with_built_ins(Vec::new())?;
    for plugin in build {
        plugins.register(Origin::BuiltIn, plugin)?;
    }
    ferry_runtime::native_plugins::load_plugin_path(&config.plugin_path(), &mut plugins)?;
    plugins.check_worker_config(config).map_err(|e| {
        anyhow::anyhow!(
            "invalid worker configuration in {}: {e}",
            worker_properties.display()
        )
    })?;
    Ok(Arc::new(plugins))
}

/// The advertised `host:port` that identifies this worker in statuses.
pub(crate) fn worker_id(config: &WorkerConfig, bound: SocketAddr) -> String {
    let host = config
        .advertised_host()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            if bound.ip().is_unspecified() {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".into())
            } else {
                bound.ip().to_string()
            }
        });
    let port = config.advertised_port().unwrap_or(bound.port());
    format!("{host}:{port}")
}

async fn run_standalone(
    worker_properties: PathBuf,
    connector_configs: Vec<PathBuf>,
    build: Vec<Plugin>,
    loggers: Arc<dyn ferry_rest::LoggerControl>,
) -> Result<()> {
    let props = cli_config::worker_properties(&worker_properties)?;
    let config = WorkerConfig::new(props, true).map_err(|e| {
        anyhow::anyhow!(
            "invalid worker configuration in {}: {e}",
            worker_properties.display()
        )
    })?;
    let plugins = all_plugins(&config, &worker_properties, build)?;
    // Read every connector file before touching Kafka, so typos fail fast.
    let connectors = connector_configs
        .iter()
        .map(|p| cli_config::connector_config(p))
        .collect::<Result<Vec<_>>>()?;
    let auth = rest_auth(&config)?;
    // The worker owns the configuration from here; the REST servers read it
    // once more when they start.
    let config_for_rest = config.clone();

    let rest = bind_rest_listener(&config).await?;
    let bound = rest.bound;
    let limits = rest_limits(&config);

    let offset_file = config
        .offset_file()
        .context("a standalone worker configuration")?
        .to_owned();
    let offsets = Arc::new(FileOffsetStore::open(&offset_file)?);
    let status = Arc::new(StatusStore::new(worker_id(&config, bound)));
    let worker = Arc::new(Worker {
        config,
        plugins,
        offsets,
        status,
        producers: ProducerPool::new(),
    });
    let herder = StandaloneHerder::start(worker, env!("FERRY_COMMIT"))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;

    let server =
        ferry_rest::RestServer::new(herder.clone() as Arc<dyn Herder>, loggers).basic_auth(auth);
    let servers = serve_rest(&config_for_rest, server, rest, limits).await?;
    info!(listener = %bound, "REST API listening");

    for c in connectors {
        let name = c.get("name").cloned().unwrap_or_default();
        herder
            .add_connector(c)
            .await
            .map_err(|e| anyhow::anyhow!("failed to create connector {name}: {e}"))?;
        info!(connector = %name, "created connector");
    }

    wait_for_signal().await;
    info!("shutting down: stopping connectors and flushing offsets");
    herder.shutdown().await;
    servers.stop().await;
    info!("ferry stopped");
    Ok(())
}

pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the worker can only be killed; run on.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
