//! The distributed herder: Kafka Connect's `DistributedHerder`. Workers with
//! the same `group.id` form a group through the Kafka coordinator; the
//! leader assigns connectors and tasks; configs, offsets and statuses live in
//! the internal topics, so any worker can take over any work.
//!
//! One loop per worker owns the group membership: it rejoins when the group
//! or the config topic asks for it, stops revoked work, starts assigned work
//! and reacts to config changes. REST calls read the shared state directly;
//! writes that only the leader may make come back as
//! [`HerderError::RequestTarget`], which the REST layer forwards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ferry_api::PluginDescriptor;
use ferry_group::{ConfigSnapshot, ConnectAssignor, ConnectProtocol, ConnectorTaskId, GroupMember};
use ferry_kafka::Admin;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, watch, Mutex, Notify};
use tracing::{debug, error, info, warn};

use super::records::{to_props, RestartRequest, SessionKey, TargetState as StoredTarget};
use super::stores::{ConfigEvent, ConfigStore, KafkaOffsetStore, KafkaStatusLog};
use crate::connector::{ConnectorEvent, ConnectorSpec, EventSink, WorkerConnector};
use crate::connector_ops::{self, not_found};
use crate::connector_rules::ConnectorRules;
use crate::entities::{
    ActiveTopicsInfo, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, Message, PluginInfo,
    RestartPlan, ServerInfo, State, TargetState, TaskId, TaskInfo, TaskState,
};
use crate::herder::{Created, Herder, HerderError, HerderResult, PluginType, RequestSignature};
use crate::offsets::OffsetStore;
use crate::redact::Secrets;
use crate::worker::{TaskHandle, Worker};
use crate::worker_config::{DistributedConfig, HMAC_SHA256};
use crate::Props;

mod api;

type HmacSha256 = Hmac<Sha256>;

/// Kafka Connect's answer to writes during a rebalance.
const STALE_CONFIG: &str = "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)";

/// Settings of the distributed herder, from the worker's parsed
/// configuration.
#[derive(Debug, Clone)]
pub struct DistributedSettings {
    /// This worker's advertised REST URL, with a trailing slash.
    pub url: String,
    pub scheduled_rebalance_max_delay_ms: i32,
    pub worker_sync_timeout: Duration,
    pub key_ttl: Duration,
    pub signature_algorithm: String,
    pub verification_algorithms: Vec<String>,
    /// How long a read of an internal topic to its end may take.
    pub read_timeout: Duration,
    /// How long a write waits for a rebalance under way to complete
    /// (`rebalance.timeout.ms`: no rebalance may take longer) before it
    /// is answered 409.
    pub rebalance_timeout: Duration,
    /// TLS to other workers' `https` REST APIs.
    pub rest_client_tls: Option<Arc<rustls::ClientConfig>>,
}

impl DistributedSettings {
    /// How long reading an internal topic to its end may take. Not a worker
    /// property: Kafka Connect has no setting for it either.
    pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

    /// The herder's settings for the worker advertised at `url`.
    pub fn new(url: String, config: &DistributedConfig) -> Self {
        DistributedSettings {
            url,
            // Validated to lie within 0..=i32::MAX.
            scheduled_rebalance_max_delay_ms: i32::try_from(
                config.scheduled_rebalance_max_delay.as_millis(),
            )
            .unwrap_or(i32::MAX),
            worker_sync_timeout: config.worker_sync_timeout,
            key_ttl: config.inter_worker_key_ttl,
            signature_algorithm: config.inter_worker_signature_algorithm.clone(),
            verification_algorithms: config.inter_worker_verification_algorithms.clone(),
            read_timeout: Self::READ_TIMEOUT,
            rebalance_timeout: config.rebalance_timeout,
            rest_client_tls: None,
        }
    }
}

/// What REST calls need to know about the group.
#[derive(Debug, Clone, Default)]
struct Membership {
    /// The first rebalance completed.
    ready: bool,
    rebalancing: bool,
    generation: i32,
    /// The config offset the leader assigned work at in the last
    /// completed rebalance.
    assigned_offset: i64,
    is_leader: bool,
    leader_url: Option<String>,
    protocol: Option<ConnectProtocol>,
    /// On the leader: each member's URL and current work.
    member_urls: BTreeMap<String, String>,
    connector_owners: BTreeMap<String, String>,
    task_owners: BTreeMap<ConnectorTaskId, String>,
}

struct LocalConnector {
    plugin: PluginDescriptor,
    config: Props,
    target: StoredTarget,
    /// Absent when its class is unknown here (recorded as FAILED).
    lifecycle: Option<WorkerConnector>,
    /// The sequence of the latest task configs its lifecycle generated, so
    /// that a retried older event does not overwrite newer configs.
    latest_sequence: u64,
}

struct LocalTask {
    handle: TaskHandle,
    /// The task config it runs with, to tell whether a new commit changed it.
    config: Props,
}

/// The work running on this worker.
#[derive(Default)]
struct LocalWork {
    connectors: BTreeMap<String, LocalConnector>,
    tasks: BTreeMap<(String, u32), LocalTask>,
}

/// Whether a config change needs a rebalance.
enum Rejoin {
    No,
    Yes,
    /// Unless the last rebalance assigned work with this change read.
    UnlessAssigned,
}

/// Requests to the herder loop.
enum Request {
    /// A connector running here generated task configs.
    Connector(ConnectorEvent),
}

pub struct DistributedHerder {
    /// The worker, whose plugin registry the herder finds connectors in.
    worker: Arc<Worker>,
    /// The worker's rules for connector configs, built once.
    rules: Arc<ConnectorRules>,
    admin: Admin,
    server_info: ServerInfo,
    settings: DistributedSettings,
    config: Arc<ConfigStore>,
    offsets: Arc<KafkaOffsetStore>,
    status_log: KafkaStatusLog,
    membership: RwLock<Membership>,
    /// Bumped whenever `membership` changes, for writes waiting for a
    /// rebalance to complete.
    membership_changes: watch::Sender<u64>,
    /// Held while task configs are sent to the leader, so that they arrive
    /// in the order they were generated.
    forwarding: Mutex<()>,
    /// Held across each write of a connector's task configs together with
    /// the target-state check before it, and across a stop's two writes:
    /// task configs a connector generated just before its stop must not
    /// land after the stop (Kafka Connect makes these writes on one thread).
    task_config_writes: Mutex<()>,
    work: Mutex<LocalWork>,
    requests: mpsc::UnboundedSender<Request>,
    events: EventSink,
    shutdown: Notify,
    stopped: Notify,
    http: reqwest::Client,
}

/// The parts the herder is built from; [`DistributedHerder::start`] starts
/// its loop.
pub struct DistributedParts {
    pub worker: Arc<Worker>,
    pub admin: Admin,
    pub server_info: ServerInfo,
    pub settings: DistributedSettings,
    pub config: ConfigStore,
    pub config_events: mpsc::UnboundedReceiver<ConfigEvent>,
    pub offsets: Arc<KafkaOffsetStore>,
    pub status_log: KafkaStatusLog,
    pub member: GroupMember,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn internal(e: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(e.to_string())
}

fn to_entity_target(t: StoredTarget) -> TargetState {
    match t {
        StoredTarget::Started => TargetState::Started,
        StoredTarget::Paused => TargetState::Paused,
        StoredTarget::Stopped => TargetState::Stopped,
    }
}

fn from_entity_target(t: TargetState) -> StoredTarget {
    match t {
        TargetState::Started => StoredTarget::Started,
        TargetState::Paused => StoredTarget::Paused,
        TargetState::Stopped => StoredTarget::Stopped,
    }
}

fn task_u32(t: &ConnectorTaskId) -> Option<(String, u32)> {
    u32::try_from(t.task)
        .ok()
        .map(|id| (t.connector.clone(), id))
}

/// Base64 HMAC of `body` under `key` (base64 text, as stored).
fn sign(key: &str, body: &[u8]) -> Option<String> {
    let raw = base64::engine::general_purpose::STANDARD.decode(key).ok()?;
    let mut mac = HmacSha256::new_from_slice(&raw).ok()?;
    mac.update(body);
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

fn random_key() -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

impl DistributedHerder {
    /// Reads the internal topics and starts the group loop. The REST API
    /// may serve at once: until the first rebalance completes, `/health`
    /// answers that the worker is starting.
    pub fn start(parts: DistributedParts) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        let events_tx = tx.clone();
        let settings_tls = parts.settings.rest_client_tls.clone();
        let herder = Arc::new(DistributedHerder {
            rules: Arc::new(ConnectorRules::new(&parts.worker.config)),
            worker: parts.worker,
            admin: parts.admin,
            server_info: parts.server_info,
            settings: parts.settings,
            config: Arc::new(parts.config),
            offsets: parts.offsets,
            status_log: parts.status_log,
            membership: RwLock::new(Membership::default()),
            membership_changes: watch::Sender::new(0),
            forwarding: Mutex::new(()),
            task_config_writes: Mutex::new(()),
            work: Mutex::new(LocalWork::default()),
            requests: tx,
            events: Arc::new(move |e| {
                let _ = events_tx.send(Request::Connector(e));
            }),
            shutdown: Notify::new(),
            stopped: Notify::new(),
            http: crate::rest_client(Duration::from_secs(30), settings_tls.as_ref()),
        });
        let h = herder.clone();
        tokio::spawn(async move {
            h.run(parts.member, parts.config_events, rx).await;
            h.stopped.notify_waiters();
        });
        herder
    }

    /// Stops all work, leaves the group (so the work moves at once) and
    /// returns when done.
    pub async fn shutdown(&self) {
        let stopped = self.stopped.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        self.shutdown.notify_one();
        stopped.await;
    }

    fn membership(&self) -> Membership {
        self.membership
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update_membership(&self, f: impl FnOnce(&mut Membership)) {
        f(&mut self
            .membership
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        self.membership_changes.send_modify(|v| *v += 1);
    }

    /// The membership once the worker is in the group and no rebalance is
    /// under way, as Kafka Connect runs a request queued on its herder only
    /// once its view is current; a write arriving mid-rebalance waits
    /// instead of failing. 409 only if no rebalance completes within
    /// `rebalance.timeout.ms`.
    async fn stable_membership(&self) -> HerderResult<Membership> {
        let deadline = tokio::time::Instant::now() + self.settings.rebalance_timeout;
        let mut changes = self.membership_changes.subscribe();
        loop {
            let m = self.membership();
            if m.ready && !m.rebalancing {
                return Ok(m);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(HerderError::Conflict(STALE_CONFIG.into())),
            }
        }
    }

    // ---------------------------------------------------------------------
    // The group loop

    async fn run(
        self: &Arc<Self>,
        mut member: GroupMember,
        mut events: mpsc::UnboundedReceiver<ConfigEvent>,
        mut requests: mpsc::UnboundedReceiver<Request>,
    ) {
        if let Err(e) = self.read_all_to_end().await {
            error!(error = %e, "cannot read the internal topics; retrying while joining");
        }
        self.config.set_live();
        // What the start-up read found is the starting point, not news.
        while events.try_recv().is_ok() {}
        let cfg = self.config.clone();
        let status = self.worker.status.clone();
        let assignor =
            ConnectAssignor::new(self.settings.scheduled_rebalance_max_delay_ms, move || {
                cfg.with_state(|s| {
                    let mut snap = ConfigSnapshot::new(s.offset());
                    for c in s.connectors() {
                        if !ferry_group::protocol::can_assign(c) {
                            // Failed by the leader (`fail_unassignable`).
                            continue;
                        }
                        let tasks = if s.is_inconsistent(c) {
                            0
                        } else {
                            s.task_count(c).unwrap_or(0)
                        };
                        snap.connectors.insert(c.to_owned(), tasks);
                        // Stopped cleanly by a worker on its way out: no need to
                        // wait for that worker to come back.
                        let unassigned = |st: Option<crate::status::Status>| {
                            st.is_some_and(|st| st.state == State::Unassigned)
                        };
                        if unassigned(status.connector(c)) {
                            snap.released.connectors.push(c.to_owned());
                        }
                        for t in 0..tasks {
                            if unassigned(status.task(c, t)) {
                                snap.released.tasks.push(ConnectorTaskId::new(c, t as i32));
                            }
                        }
                    }
                    snap
                })
            });
        let mut need_rejoin = true;
        let mut rejoin_at: Option<Instant> = None;
        let mut backoff = Duration::from_millis(100);
        loop {
            if need_rejoin || member.rebalance_needed() {
                match self.rebalance(&mut member, &assignor).await {
                    Ok(outcome) => {
                        backoff = Duration::from_millis(100);
                        need_rejoin = outcome.rejoin;
                        if let Some(d) = outcome.delay {
                            rejoin_at = Some(Instant::now() + d);
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "rebalance failed; retrying");
                        need_rejoin = true;
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = self.shutdown.notified() => break,
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
                if need_rejoin {
                    continue;
                }
            }
            self.process_restart_requests().await;
            if self.membership().is_leader {
                self.rotate_session_key_if_needed().await;
            }
            let key_check = Duration::from_secs(60);
            let wake = rejoin_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(key_check)
                .min(key_check);
            enum Action {
                Group,
                Event(ConfigEvent),
                Request(Request),
                Timer,
                Shutdown,
            }
            let action = tokio::select! {
                _ = member.rebalance_needed_notified() => Action::Group,
                Some(e) = events.recv() => Action::Event(e),
                Some(r) = requests.recv() => Action::Request(r),
                _ = tokio::time::sleep(wake) => Action::Timer,
                _ = self.shutdown.notified() => Action::Shutdown,
            };
            match action {
                Action::Group => debug!("the group asks for a rebalance"),
                Action::Event(e) => {
                    // Named for the debug log only when it is on.
                    let what = tracing::enabled!(tracing::Level::DEBUG)
                        .then(|| format!("{e:?}"))
                        .unwrap_or_default();
                    let rejoin = match self.handle_config_event(e, &mut member).await {
                        Rejoin::No => false,
                        Rejoin::Yes => true,
                        // Each worker reads the change and asks for a
                        // rebalance; one that reads it only after a rebalance
                        // whose assignment already covered it would cost the
                        // group another, which the others learn of only at
                        // their next heartbeat.
                        Rejoin::UnlessAssigned => {
                            self.config.with_state(|s| s.offset())
                                > self.membership().assigned_offset
                        }
                    };
                    debug!(event = %what, rejoin, "config change handled");
                    if rejoin {
                        need_rejoin = true;
                    }
                }
                Action::Request(Request::Connector(event)) => {
                    let storing = Instant::now();
                    self.store_task_configs(event).await;
                    debug!(
                        elapsed_ms = storing.elapsed().as_millis() as u64,
                        "task configs handled"
                    );
                }
                Action::Timer => {
                    if rejoin_at.is_some_and(|at| at <= Instant::now()) {
                        rejoin_at = None;
                        need_rejoin = true;
                    }
                }
                Action::Shutdown => break,
            }
        }
        info!("stopping: work stops, then the worker leaves the group");
        self.stop_all_work().await;
        self.status_log.flush();
        member.leave().await;
    }

    async fn read_all_to_end(&self) -> Result<(), super::stores::StoreError> {
        self.config.read_to_end().await?;
        self.status_log.read_to_end().await?;
        self.offsets.read_to_end().await
    }

    async fn rebalance(
        self: &Arc<Self>,
        member: &mut GroupMember,
        assignor: &ConnectAssignor,
    ) -> Result<RebalanceOutcome, String> {
        self.update_membership(|m| m.rebalancing = true);
        self.config.read_to_end().await.map_err(|e| e.to_string())?;
        // The statuses of workers that just left tell the leader what they
        // released.
        if let Err(e) = self.status_log.read_to_end().await {
            warn!(error = %e, "cannot read the status topic to its end");
        }
        let offset = self.config.with_state(|s| s.offset());
        let metadata = member.metadata(self.settings.url.clone(), offset);
        let joined = member
            .join(metadata, assignor)
            .await
            .map_err(|e| e.to_string())?;
        let a = &joined.assignment;
        info!(
            generation = joined.generation_id,
            leader = %a.leader,
            leader_url = %a.leader_url,
            is_leader = joined.is_leader,
            protocol = ?joined.protocol,
            assigned_connectors = ?a.connectors,
            assigned_tasks = a.tasks.len(),
            revoked_connectors = ?a.revoked_connectors,
            revoked_tasks = a.revoked_tasks.len(),
            delay_ms = a.delay_ms,
            "joined the worker group"
        );
        self.worker.status.set_generation(joined.generation_id);
        let last = assignor.last_assignment();
        self.update_membership(|m| {
            m.generation = joined.generation_id;
            m.is_leader = joined.is_leader;
            m.leader_url = Some(a.leader_url.clone());
            m.protocol = Some(joined.protocol);
            if joined.is_leader {
                m.member_urls = joined
                    .members
                    .iter()
                    .map(|(id, md)| (id.clone(), md.url.clone()))
                    .collect();
                m.connector_owners.clear();
                m.task_owners.clear();
                if let Some(last) = &last {
                    for (member_id, work) in &last.owners {
                        for c in &work.connectors {
                            m.connector_owners.insert(c.clone(), member_id.clone());
                        }
                        for t in &work.tasks {
                            m.task_owners.insert(t.clone(), member_id.clone());
                        }
                    }
                }
            }
        });
        if a.error != 0 {
            warn!("the leader's config is out of date; rejoining");
            let _ = self.config.read_to_end().await;
            return Ok(RebalanceOutcome::rejoin());
        }
        let local = self.config.with_state(|s| s.offset());
        if local < a.config_offset {
            let caught_up =
                tokio::time::timeout(self.settings.worker_sync_timeout, self.config.read_to_end())
                    .await;
            if !matches!(caught_up, Ok(Ok(()))) {
                warn!("cannot catch up with the leader's config offset; rejoining");
                return Ok(RebalanceOutcome::rejoin());
            }
        } else if local > a.config_offset {
            info!("this worker has newer configs than the leader; rejoining");
            return Ok(RebalanceOutcome::rejoin());
        }

        let applying = Instant::now();
        self.apply_assignment(&joined.current).await;
        debug!(
            elapsed_ms = applying.elapsed().as_millis() as u64,
            "assignment applied"
        );
        if joined.is_leader {
            self.rotate_session_key_if_needed().await;
            self.fail_unassignable();
        }
        self.update_membership(|m| {
            m.rebalancing = false;
            m.ready = true;
            m.assigned_offset = a.config_offset;
        });
        let revoked = !a.revoked_connectors.is_empty() || !a.revoked_tasks.is_empty();
        Ok(RebalanceOutcome {
            // The follow-up round hands out what was just freed.
            rejoin: revoked,
            delay: (a.delay_ms > 0).then(|| Duration::from_millis(a.delay_ms as u64)),
        })
    }

    /// Marks FAILED, on the leader, the connectors that no assignment can
    /// name, so that they show why they never run while the rest of the
    /// cluster goes on; they can still be deleted.
    fn fail_unassignable(&self) {
        let names: Vec<String> = self.config.with_state(|s| {
            s.connectors()
                .filter(|c| !ferry_group::protocol::can_assign(c))
                .map(str::to_owned)
                .collect()
        });
        let mut failed = false;
        for name in names {
            let trace = format!(
                "org.apache.kafka.connect.errors.ConnectException: The connector name is {} bytes long; \
                 the worker group protocol names connectors in at most {} bytes, so no worker can run it. \
                 Delete it and create it under a shorter name.",
                name.len(),
                ferry_group::protocol::MAX_NAME_BYTES
            );
            let status = &self.worker.status;
            if status
                .connector(&name)
                .is_some_and(|s| s.state == State::Failed && s.trace.as_deref() == Some(&*trace))
            {
                continue;
            }
            error!(
                connector_name_bytes = name.len(),
                "a connector's name is too long to assign; marking it FAILED"
            );
            status.set_connector(&name, State::Failed, Some(trace));
            failed = true;
        }
        if failed {
            self.status_log.flush();
        }
    }

    /// Stops what is no longer ours, then starts what is newly ours.
    async fn apply_assignment(self: &Arc<Self>, current: &ferry_group::Assignment) {
        let want_connectors: BTreeSet<String> = current.connectors.iter().cloned().collect();
        let want_tasks: BTreeSet<(String, u32)> =
            current.tasks.iter().filter_map(task_u32).collect();
        let mut work = self.work.lock().await;

        let stop_tasks: Vec<(String, u32)> = work
            .tasks
            .keys()
            .filter(|k| !want_tasks.contains(*k))
            .cloned()
            .collect();
        self.stop_tasks(&mut work, &stop_tasks).await;
        let stop_connectors: Vec<String> = work
            .connectors
            .keys()
            .filter(|c| !want_connectors.contains(*c))
            .cloned()
            .collect();
        for name in stop_connectors {
            if let Some(mut c) = work.connectors.remove(&name) {
                self.stop_lifecycle(&mut c).await;
                if self.config.with_state(|s| s.contains(&name)) {
                    self.worker
                        .status
                        .set_connector(&name, State::Unassigned, None);
                } else {
                    self.worker.status.remove_connector(&name);
                }
            }
        }
        self.status_log.flush();

        let new_connectors: Vec<String> = want_connectors
            .iter()
            .filter(|c| !work.connectors.contains_key(*c))
            .cloned()
            .collect();
        for name in &new_connectors {
            self.start_connector(&mut work, name);
        }
        let new_tasks: Vec<(String, u32)> = want_tasks
            .iter()
            .filter(|t| !work.tasks.contains_key(*t))
            .cloned()
            .collect();
        if !new_tasks.is_empty() {
            // A task moving here resumes from the offsets its last owner
            // committed.
            if let Err(e) = self.offsets.read_to_end().await {
                warn!(error = %e, "cannot read the offsets topic to its end");
            }
        }
        for (name, id) in new_tasks {
            self.start_task(&mut work, &name, id);
        }
    }

    async fn stop_tasks(&self, work: &mut LocalWork, ids: &[(String, u32)]) {
        let mut by_connector: BTreeMap<String, Vec<(u32, TaskHandle)>> = BTreeMap::new();
        for id in ids {
            if let Some(t) = work.tasks.remove(id) {
                by_connector
                    .entry(id.0.clone())
                    .or_default()
                    .push((id.1, t.handle));
            }
        }
        let stops = by_connector.into_iter().map(|(c, tasks)| async move {
            let ids: Vec<u32> = tasks.iter().map(|(i, _)| *i).collect();
            self.worker.stop_tasks(&c, tasks).await;
            (c, ids)
        });
        for (c, ids) in futures::future::join_all(stops).await {
            let exists = self.config.with_state(|s| s.contains(&c));
            for id in ids {
                let failed = self
                    .worker
                    .status
                    .task(&c, id)
                    .is_some_and(|s| s.state == State::Failed);
                if exists && !failed {
                    self.worker.status.set_task(&c, id, State::Unassigned, None);
                }
            }
        }
    }

    async fn stop_all_work(&self) {
        let mut work = self.work.lock().await;
        let ids: Vec<(String, u32)> = work.tasks.keys().cloned().collect();
        self.stop_tasks(&mut work, &ids).await;
        let names: Vec<String> = work.connectors.keys().cloned().collect();
        for name in names {
            if let Some(mut c) = work.connectors.remove(&name) {
                self.stop_lifecycle(&mut c).await;
                self.worker
                    .status
                    .set_connector(&name, State::Unassigned, None);
            }
        }
    }

    /// Stops the connector running here and starts it again.
    async fn restart_lifecycle(&self, work: &mut LocalWork, name: &str) {
        let Some(local) = work.connectors.get_mut(name) else {
            return;
        };
        self.worker
            .status
            .set_connector(name, State::Restarting, None);
        self.stop_lifecycle(local).await;
        self.spawn_lifecycle(name, local);
    }

    async fn stop_lifecycle(&self, local: &mut LocalConnector) {
        if let Some(lifecycle) = local.lifecycle.take() {
            lifecycle.stop(self.worker.config.shutdown_timeout()).await;
        }
    }

    /// Starts a connector this worker was assigned, per its target state;
    /// returns at once (its task configs arrive as an event).
    fn start_connector(&self, work: &mut LocalWork, name: &str) {
        let status = &self.worker.status;
        let Some((config, target)) = self.config.with_state(|s| {
            s.connector_config(name).map(|c| {
                (
                    to_props(c),
                    s.target_state(name).unwrap_or(StoredTarget::Started),
                )
            })
        }) else {
            return;
        };
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let Some(plugin) = self.worker.plugins.connector(&class).cloned() else {
            status.set_connector(
                name,
                State::Failed,
                Some(format!(
                    "org.apache.kafka.connect.errors.ConnectException: {}",
                    self.worker.plugins.unknown_connector_message(&class)
                )),
            );
            return;
        };
        let mut local = LocalConnector {
            plugin,
            config,
            target,
            lifecycle: None,
            latest_sequence: 0,
        };
        self.spawn_lifecycle(name, &mut local);
        work.connectors.insert(name.to_owned(), local);
    }

    fn spawn_lifecycle(&self, name: &str, local: &mut LocalConnector) {
        local.latest_sequence = 0;
        let spec = ConnectorSpec {
            name: name.to_owned(),
            plugin: local.plugin.clone(),
            config: local.config.clone(),
            target: to_entity_target(local.target),
            secrets: Secrets::for_plugin(&self.worker.plugins, &local.plugin, &local.config),
        };
        local.lifecycle = Some(WorkerConnector::spawn(
            spec,
            self.rules.clone(),
            self.worker.status.clone(),
            self.events.clone(),
        ));
    }

    fn start_task(&self, work: &mut LocalWork, name: &str, id: u32) {
        let found = self.config.with_state(|s| {
            let config = s.connector_config(name).map(to_props)?;
            let task = s.task_config(name, id).map(to_props)?;
            let target = s.target_state(name).unwrap_or(StoredTarget::Started);
            Some((config, task, target))
        });
        let Some((config, task_config, target)) = found else {
            warn!(
                connector = name,
                task = id,
                "assigned a task without a config"
            );
            return;
        };
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let Some(plugin) = self.worker.plugins.connector(&class).cloned() else {
            self.worker.status.set_task(
                name,
                id,
                State::Failed,
                Some(self.worker.plugins.unknown_connector_message(&class)),
            );
            return;
        };
        if let Some(handle) = self.worker.start_task(
            &plugin,
            name,
            id,
            &config,
            task_config.clone(),
            to_entity_target(target),
        ) {
            work.tasks.insert(
                (name.to_owned(), id),
                LocalTask {
                    handle,
                    config: task_config,
                },
            );
        }
    }

    /// Has the leader store the task configs a connector running here
    /// generated, when they changed.
    async fn store_task_configs(self: &Arc<Self>, event: ConnectorEvent) {
        let ConnectorEvent::TaskConfigs {
            connector: name,
            generation,
            sequence,
            configs,
        } = event;
        let current = {
            let mut work = self.work.lock().await;
            match work.connectors.get_mut(&name) {
                Some(local)
                    if local
                        .lifecycle
                        .as_ref()
                        .is_some_and(|l| l.generation() == generation)
                        && sequence >= local.latest_sequence =>
                {
                    local.latest_sequence = sequence;
                    true
                }
                _ => false,
            }
        };
        if !current {
            return;
        }
        let unchanged = self.config.with_state(|s| {
            !s.is_inconsistent(&name)
                && s.task_configs(&name).is_some_and(|stored| {
                    stored.len() == configs.len()
                        && stored.iter().zip(&configs).all(|(a, b)| to_props(a) == *b)
                })
        });
        if unchanged {
            return;
        }
        if self.membership().is_leader {
            let _writes = self.task_config_writes.lock().await;
            if self
                .config
                .with_state(|s| s.target_state(&name) == Some(StoredTarget::Stopped))
            {
                // Stopped meanwhile: a stopped connector has no tasks.
                return;
            }
            let result = self
                .config
                .put_task_configs(&name, &configs)
                .await
                .map_err(|e| e.to_string());
            self.task_configs_stored(name, generation, sequence, configs, result);
            return;
        }
        // Off the herder loop: the leader answers only once a rebalance under
        // way completes, and this worker's loop must be free to rejoin.
        let herder = self.clone();
        tokio::spawn(async move {
            let result = {
                let _in_order = herder.forwarding.lock().await;
                let newest = herder
                    .work
                    .lock()
                    .await
                    .connectors
                    .get(&name)
                    .is_some_and(|l| {
                        l.lifecycle
                            .as_ref()
                            .is_some_and(|l| l.generation() == generation)
                            && l.latest_sequence == sequence
                    });
                if !newest {
                    return;
                }
                herder.forward_task_configs(&name, &configs).await
            };
            herder.task_configs_stored(name, generation, sequence, configs, result);
        });
    }

    /// Logs stored task configs, or sends them again shortly.
    fn task_configs_stored(
        &self,
        name: String,
        generation: u64,
        sequence: u64,
        configs: Vec<Props>,
        result: Result<(), String>,
    ) {
        match result {
            Ok(()) => info!(
                connector = %name,
                tasks = configs.len(),
                "task configs stored"
            ),
            Err(e) => {
                warn!(connector = %name, error = %e, "cannot store task configs; retrying");
                let requests = self.requests.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let _ = requests.send(Request::Connector(ConnectorEvent::TaskConfigs {
                        connector: name,
                        generation,
                        sequence,
                        configs,
                    }));
                });
            }
        }
    }

    /// Sends task configs to the leader, signed with the session key.
    async fn forward_task_configs(&self, name: &str, configs: &[Props]) -> Result<(), String> {
        let leader = self
            .membership()
            .leader_url
            .ok_or_else(|| "no leader known".to_owned())?;
        let body = serde_json::to_vec(configs).map_err(|e| e.to_string())?;
        let mut url = url::Url::parse(&leader).map_err(|e| format!("leader URL {leader}: {e}"))?;
        url.path_segments_mut()
            .map_err(|()| format!("leader URL {leader} cannot have a path"))?
            .pop_if_empty()
            .extend(["connectors", name, "tasks"]);
        let mut req = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json");
        if self.membership().protocol == Some(ConnectProtocol::Sessioned) {
            let key = self
                .config
                .with_state(|s| s.session_key().cloned())
                .ok_or_else(|| "no session key yet".to_owned())?;
            let mac = sign(&key.key, &body).ok_or_else(|| "bad session key".to_owned())?;
            req = req.header("X-Connect-Authorization", mac).header(
                "X-Connect-Request-Signature-Algorithm",
                self.settings.signature_algorithm.clone(),
            );
        }
        let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            Err(format!("leader answered {status}: {text}"))
        }
    }

    /// The leader creates a session key when none exists or it expired.
    async fn rotate_session_key_if_needed(&self) {
        let ttl = self.settings.key_ttl.as_millis() as i64;
        let expired = self.config.with_state(|s| match s.session_key() {
            None => true,
            Some(k) => {
                k.creation_timestamp.saturating_add(ttl) <= now_ms() || k.algorithm != HMAC_SHA256
            }
        });
        if !expired {
            return;
        }
        let key = match random_key() {
            Ok(k) => k,
            Err(e) => {
                error!(error = %e, "cannot generate a session key");
                return;
            }
        };
        let key = SessionKey {
            key: base64::engine::general_purpose::STANDARD.encode(key),
            algorithm: HMAC_SHA256.to_owned(),
            creation_timestamp: now_ms(),
        };
        match self.config.put_session_key(key).await {
            Ok(()) => info!("wrote a new session key"),
            Err(e) => warn!(error = %e, "cannot write the session key"),
        }
    }

    /// Reacts to a config topic change; returns whether to rejoin the group.
    async fn handle_config_event(&self, event: ConfigEvent, member: &mut GroupMember) -> Rejoin {
        match event {
            ConfigEvent::ConnectorConfig { name, created } => {
                let mut work = self.work.lock().await;
                let Some(local) = work.connectors.get_mut(&name) else {
                    // New to the group: the leader assigns it. An update of
                    // one another worker runs is that worker's to apply, as
                    // in Kafka Connect; no rebalance.
                    return if created {
                        Rejoin::UnlessAssigned
                    } else {
                        Rejoin::No
                    };
                };
                let Some(config) = self
                    .config
                    .with_state(|s| s.connector_config(&name).map(to_props))
                else {
                    return Rejoin::UnlessAssigned;
                };
                if config == local.config {
                    return Rejoin::No;
                }
                info!(connector = %name, "connector config changed; restarting it");
                let mut local = std::mem::replace(
                    local,
                    LocalConnector {
                        plugin: local.plugin.clone(),
                        config,
                        target: local.target,
                        lifecycle: None,
                        latest_sequence: 0,
                    },
                );
                self.stop_lifecycle(&mut local).await;
                if let Some(local) = work.connectors.get_mut(&name) {
                    if let Some(class) = local.config.get("connector.class") {
                        if let Some(p) = self.worker.plugins.connector(class) {
                            local.plugin = p.clone();
                        }
                    }
                    self.spawn_lifecycle(&name, local);
                }
                Rejoin::No
            }
            ConfigEvent::ConnectorRemoved(name) => {
                if self.membership().is_leader {
                    let tasks = self.worker.status.tasks(&name).len() as u32;
                    self.worker.status.delete_connector(&name, tasks);
                }
                Rejoin::UnlessAssigned
            }
            ConfigEvent::TasksCommitted(name) => {
                // Tasks whose config changed (or that no longer exist) stop;
                // the leader hands them out again with the new configs.
                let mut work = self.work.lock().await;
                let ids: Vec<(String, u32)> = work
                    .tasks
                    .iter()
                    .filter(|((c, id), t)| {
                        *c == name
                            && self.config.with_state(|s| {
                                s.task_config(c, *id).map(to_props).as_ref() != Some(&t.config)
                            })
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                self.stop_tasks(&mut work, &ids).await;
                let released: Vec<ConnectorTaskId> = ids
                    .iter()
                    .map(|(c, id)| ConnectorTaskId::new(c.clone(), *id as i32))
                    .collect();
                if released.is_empty() {
                    return Rejoin::UnlessAssigned;
                }
                member.release(&[], &released);
                Rejoin::Yes
            }
            ConfigEvent::TargetState(name) => {
                self.apply_target_state(&name).await;
                Rejoin::No
            }
            ConfigEvent::Restart(_) | ConfigEvent::SessionKey => Rejoin::No,
        }
    }

    async fn apply_target_state(&self, name: &str) {
        let Some(target) = self.config.with_state(|s| s.target_state(name)) else {
            return;
        };
        let mut work = self.work.lock().await;
        for ((c, _), t) in work.tasks.iter() {
            if c == name && target != StoredTarget::Stopped {
                t.handle.set_target(to_entity_target(target));
            }
        }
        let Some(local) = work.connectors.get_mut(name) else {
            return;
        };
        local.target = target;
        if let Some(lifecycle) = &local.lifecycle {
            lifecycle.set_target(to_entity_target(target));
        }
    }

    /// Restarts what this worker owns of each pending restart request.
    async fn process_restart_requests(&self) {
        let requests = self.config.take_restart_requests();
        for (name, req) in requests {
            self.restart_owned(&name, req).await;
        }
    }

    async fn restart_owned(&self, name: &str, req: RestartRequest) {
        let status = &self.worker.status;
        let mut work = self.work.lock().await;
        let connector_failed = status
            .connector(name)
            .is_some_and(|s| s.state == State::Failed);
        if work.connectors.contains_key(name) && (!req.only_failed || connector_failed) {
            self.restart_lifecycle(&mut work, name).await;
        }
        if req.include_tasks {
            let ids: Vec<(String, u32)> = work
                .tasks
                .keys()
                .filter(|(c, id)| {
                    c == name
                        && (!req.only_failed
                            || status
                                .task(c, *id)
                                .is_some_and(|s| s.state == State::Failed))
                })
                .cloned()
                .collect();
            let handles: Vec<(u32, TaskHandle)> = ids
                .iter()
                .filter_map(|k| work.tasks.remove(k).map(|t| (k.1, t.handle)))
                .collect();
            for (id, _) in &handles {
                status.set_task(name, *id, State::Restarting, None);
            }
            self.worker.stop_tasks(name, handles).await;
            for (c, id) in ids {
                self.start_task(&mut work, &c, id);
            }
        }
    }

    // ---------------------------------------------------------------------
    // Helpers for the REST side

    /// Waits out a rebalance under way (see `stable_membership`), then
    /// sends writes that only the leader may make there.
    async fn require_leader(&self) -> HerderResult<Membership> {
        let m = self.stable_membership().await?;
        if m.is_leader {
            return Ok(m);
        }
        match m.leader_url {
            Some(url) => Err(HerderError::RequestTarget { url }),
            None => Err(HerderError::Conflict(STALE_CONFIG.into())),
        }
    }

    /// Pauses or resumes a connector through the config topic.
    async fn put_target_state(&self, name: &str, target: StoredTarget) -> HerderResult<()> {
        self.written_config(name)
            .await
            .map_err(|_| HerderError::NotFound(format!("Unknown connector {name}")))?;
        self.config
            .put_target_state(name, target)
            .await
            .map_err(internal)
    }

    /// The connector's config, for a write about it. A connector created a
    /// moment ago through another worker may not have been read here yet:
    /// an unknown name costs a read of the config topic to its end before
    /// the answer is 404. (Reads answer from what this worker has read.)
    async fn written_config(&self, name: &str) -> HerderResult<Props> {
        if let Ok(config) = self.stored_config(name) {
            return Ok(config);
        }
        self.config.read_to_end().await.map_err(internal)?;
        self.stored_config(name)
    }

    fn stored_config(&self, name: &str) -> HerderResult<Props> {
        self.config
            .with_state(|s| s.connector_config(name).map(to_props))
            .ok_or_else(|| not_found(name))
    }

    fn plugin_of(&self, config: &Props) -> Option<PluginDescriptor> {
        config
            .get("connector.class")
            .and_then(|c| self.worker.plugins.connector(c))
            .cloned()
    }

    fn connector_type(&self, config: &Props) -> String {
        self.plugin_of(config)
            .map(|p| p.kind.name().to_owned())
            .unwrap_or_else(|| "unknown".into())
    }

    fn info_of(&self, name: &str, config: Props) -> ConnectorInfo {
        let tasks = self.config.with_state(|s| s.task_count(name).unwrap_or(0));
        ConnectorInfo {
            name: name.to_owned(),
            connector_type: self.connector_type(&config),
            config,
            tasks: (0..tasks)
                .map(|task| TaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
        }
    }

    fn status_of(&self, name: &str, config: &Props) -> ConnectorStateInfo {
        let task_count = self.config.with_state(|s| s.task_count(name).unwrap_or(0));
        connector_ops::state_info(
            &self.worker.status,
            name,
            &self.connector_type(config),
            self.plugin_of(config).map(|p| p.version.to_owned()),
            task_count,
            "",
        )
    }

    fn owner_url(&self, owner: Option<&String>) -> Option<String> {
        let m = self.membership();
        owner.and_then(|id| m.member_urls.get(id).cloned())
    }
}

struct RebalanceOutcome {
    rejoin: bool,
    delay: Option<Duration>,
}

impl RebalanceOutcome {
    fn rejoin() -> Self {
        RebalanceOutcome {
            rejoin: true,
            delay: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_base64_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe".
        let key = base64::engine::general_purpose::STANDARD.encode(b"Jefe");
        let mac = sign(&key, b"what do ya want for nothing?").expect("a MAC");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(mac)
            .expect("base64");
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(sign("not base64!", b"x"), None);
    }
}
