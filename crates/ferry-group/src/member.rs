//! A member of the worker group: the classic JoinGroup/SyncGroup/Heartbeat/
//! LeaveGroup state machine with protocol type `connect`, over plain TCP or
//! TLS, with SASL authentication as the worker's `security.protocol` says.
//!
//! The owner (the distributed herder) drives it:
//!
//! 1. [`GroupMember::join`] discovers the coordinator, joins with the
//!    subprotocols of `connect.protocol` in preference order, and — when the
//!    coordinator makes this member leader — asks the [`AssignmentProvider`]
//!    for everyone's assignment and sends it with SyncGroup. It returns this
//!    member's assignment and starts heartbeating in the background.
//! 2. The heartbeat task raises [`GroupMember::rebalance_needed`] when the
//!    coordinator reports a rebalance (REBALANCE_IN_PROGRESS) or that this
//!    member's membership is gone (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION);
//!    the owner then calls `join` again. Coordinator moves are handled by
//!    rediscovering the coordinator, without a rejoin.
//! 3. [`GroupMember::leave`] sends LeaveGroup on shutdown so the others
//!    rebalance at once instead of after the session timeout.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::assignor::{AssignmentInput, ConnectAssignor};
use crate::connection::BrokerConnection;
use crate::error::{GroupError, ResponseError};
use crate::protocol::{
    decode_assignment, decode_metadata, encode_assignment, encode_metadata, Assignment,
    ConnectProtocol, ConnectorTaskId, WorkerMetadata, PROTOCOL_TYPE,
};
use crate::security::SecurityConfig;

/// Extra time on top of the rebalance timeout for a JoinGroup answer: the
/// coordinator may hold the request for the whole rebalance timeout.
const JOIN_GROUP_TIMEOUT_LAPSE: Duration = Duration::from_secs(5);

/// FindCoordinator key type of a group.
const COORDINATOR_KEY_TYPE_GROUP: i8 = 0;

/// Settings of a group member, built by [`GroupConfig::new`] from the
/// worker's parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `host:port` of the bootstrap brokers, tried in order.
    pub bootstrap_servers: Vec<String>,
    pub group_id: String,
    pub client_id: String,
    /// `connect.protocol`: which subprotocols to offer.
    pub protocol: ConnectProtocol,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    /// Timeout of a single request other than JoinGroup.
    pub request_timeout: Duration,
    /// Timeout to open a TCP connection.
    pub connect_timeout: Duration,
    /// Pause before retrying after a retriable failure.
    pub retry_backoff: Duration,
    /// How long [`GroupMember::join`] keeps retrying before giving up.
    pub join_timeout: Duration,
    /// TLS and SASL settings of every broker connection (bootstrap and
    /// coordinator alike).
    pub security: SecurityConfig,
}

/// The worker settings a group member takes, already parsed: the worker's
/// configuration (`ferry-runtime`'s `WorkerConfig`) declares the keys and
/// their defaults; nothing here restates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettings {
    /// `bootstrap.servers`; `PLAINTEXT://host:port` is taken as `host:port`.
    pub bootstrap_servers: Vec<String>,
    /// `group.id`.
    pub group_id: String,
    /// `client.id`; `None` names the member `connect-<n>` as Kafka Connect
    /// does.
    pub client_id: Option<String>,
    /// `connect.protocol`.
    pub protocol: ConnectProtocol,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`; joining gives up after twice this.
    pub rebalance_timeout: Duration,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`.
    pub connect_timeout: Duration,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
}

impl GroupConfig {
    /// Checks what the member relies on (at least one bootstrap server, a
    /// group id, a heartbeat shorter than the session, readable security
    /// files: [`SecurityConfig::validate`]) and builds the member's settings.
    pub fn new(settings: GroupSettings, security: SecurityConfig) -> Result<Self, GroupError> {
        let bootstrap_servers = parse_bootstrap(&settings.bootstrap_servers);
        if bootstrap_servers.is_empty() {
            return Err(GroupError::Config(
                "bootstrap.servers lists no server".into(),
            ));
        }
        let group_id = settings.group_id.trim();
        if group_id.is_empty() {
            return Err(GroupError::Config("group.id is required".into()));
        }
        if settings.heartbeat_interval >= settings.session_timeout {
            return Err(GroupError::Config(
                "heartbeat.interval.ms must be lower than session.timeout.ms".into(),
            ));
        }
        security.validate()?;
        Ok(GroupConfig {
            bootstrap_servers,
            group_id: group_id.to_owned(),
            client_id: settings
                .client_id
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
                .unwrap_or_else(next_client_id),
            protocol: settings.protocol,
            session_timeout: settings.session_timeout,
            heartbeat_interval: settings.heartbeat_interval,
            rebalance_timeout: settings.rebalance_timeout,
            request_timeout: settings.request_timeout,
            connect_timeout: settings.connect_timeout,
            retry_backoff: settings.retry_backoff,
            join_timeout: settings.rebalance_timeout * 2,
            security,
        })
    }
}

fn parse_bootstrap(servers: &[String]) -> Vec<String> {
    servers
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        // Accept `PLAINTEXT://host:port` as some tools write it.
        .map(|s| s.rsplit("://").next().unwrap_or(s).to_string())
        .collect()
}

/// `connect-<n>`, as Kafka Connect names its group member when `client.id`
/// is not set.
fn next_client_id() -> String {
    static SEQUENCE: AtomicU32 = AtomicU32::new(1);
    format!("connect-{}", SEQUENCE.fetch_add(1, Ordering::Relaxed))
}

/// Computes the assignments when this member is elected leader. The herder
/// supplies it; [`ConnectAssignor`] is the standard implementation.
pub trait AssignmentProvider: Send + Sync {
    /// Returns the assignment of every member in `input.members`.
    fn perform_assignment(
        &self,
        input: &AssignmentInput<'_>,
    ) -> Result<BTreeMap<String, Assignment>, String>;
}

impl AssignmentProvider for ConnectAssignor {
    fn perform_assignment(
        &self,
        input: &AssignmentInput<'_>,
    ) -> Result<BTreeMap<String, Assignment>, String> {
        Ok(self.assign(input).assignments)
    }
}

/// The outcome of a successful join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    pub generation_id: i32,
    pub member_id: String,
    pub leader_id: String,
    pub is_leader: bool,
    /// The subprotocol the coordinator chose for this generation.
    pub protocol: ConnectProtocol,
    /// The assignment as received: incremental for `compatible`/`sessioned`,
    /// complete for `default`.
    pub assignment: Assignment,
    /// This member's complete work after applying `assignment` (what it
    /// should run, and report as `allocation` when it joins again).
    pub current: Assignment,
    /// Every member's metadata, by member id. Only the leader receives it
    /// from the coordinator; empty on followers.
    pub members: BTreeMap<String, WorkerMetadata>,
}

/// Why the background heartbeat asks for a rejoin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceReason {
    /// The coordinator started a rebalance (a member joined or left).
    RebalanceInProgress,
    /// The coordinator forgot this member (e.g. its session expired); it
    /// rejoins with a new member id.
    UnknownMemberId,
    /// This member's generation is outdated.
    IllegalGeneration,
    /// No heartbeat succeeded for longer than the session timeout.
    SessionTimedOut,
    /// The owner asked for it ([`GroupMember::request_rejoin`]).
    Requested,
    /// Heartbeats failed with an unexpected error.
    HeartbeatFailed(String),
}

/// State shared with the heartbeat task.
#[derive(Debug, Default)]
struct Shared {
    rebalance_needed: AtomicBool,
    reason: Mutex<Option<RebalanceReason>>,
    notify: Notify,
    /// The coordinator no longer knows our member id.
    reset_member_id: AtomicBool,
    /// Our generation is no longer valid.
    reset_generation: AtomicBool,
}

impl Shared {
    fn request_rebalance(&self, reason: RebalanceReason) {
        let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            tracing::info!(?reason, "group rebalance needed");
            *slot = Some(reason);
        }
        drop(slot);
        self.rebalance_needed.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn clear(&self) {
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.rebalance_needed.store(false, Ordering::SeqCst);
    }
}

/// A member of a Kafka Connect worker group.
#[derive(Debug)]
pub struct GroupMember {
    config: GroupConfig,
    shared: Arc<Shared>,
    coordinator: Option<BrokerConnection>,
    heartbeat: Option<JoinHandle<()>>,
    member_id: String,
    generation_id: i32,
    last_completed_generation_id: i32,
    leader_id: Option<String>,
    protocol: Option<ConnectProtocol>,
    current: Option<Assignment>,
}

/// One JoinGroup/SyncGroup round that did not complete.
enum Retry {
    /// Try again at once (e.g. the coordinator handed out a member id).
    Now(GroupError),
    /// Try again after `retry.backoff.ms`.
    AfterBackoff(GroupError),
}

impl GroupMember {
    pub fn new(config: GroupConfig) -> Self {
        GroupMember {
            config,
            shared: Arc::new(Shared::default()),
            coordinator: None,
            heartbeat: None,
            member_id: String::new(),
            generation_id: -1,
            last_completed_generation_id: -1,
            leader_id: None,
            protocol: None,
            current: None,
        }
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// The member id the coordinator gave us ("" before the first join).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation of the last successful join (-1 if none or reset).
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// The generation of the last completed rebalance, which the leader's
    /// assignor checks its memory against.
    pub fn last_completed_generation_id(&self) -> i32 {
        self.last_completed_generation_id
    }

    /// The leader's member id in the current generation.
    pub fn leader_id(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }

    /// The subprotocol in use since the last join.
    pub fn protocol(&self) -> Option<ConnectProtocol> {
        self.protocol
    }

    /// This member's complete current assignment (None before the first).
    pub fn current_assignment(&self) -> Option<&Assignment> {
        self.current.as_ref()
    }

    /// Forgets the current assignment, e.g. after the owner stopped all its
    /// work; the next join then reports no allocation.
    pub fn reset_assignment(&mut self) {
        self.current = None;
    }

    /// Drops work this member stopped on its own (e.g. tasks whose configs
    /// changed) from its current assignment, so that its next JoinGroup
    /// reports it as free and the leader hands it out again.
    pub fn release(&mut self, connectors: &[String], tasks: &[ConnectorTaskId]) {
        if let Some(current) = self.current.as_mut() {
            current.connectors.retain(|c| !connectors.contains(c));
            current.tasks.retain(|t| !tasks.contains(t));
        }
    }

    /// JoinGroup metadata for this member: the given URL and config offset
    /// plus its current assignment as `allocation`.
    pub fn metadata(&self, url: impl Into<String>, config_offset: i64) -> WorkerMetadata {
        WorkerMetadata {
            url: url.into(),
            config_offset,
            allocation: self.current.clone(),
        }
    }

    /// True once the heartbeat (or the owner) found that this member must
    /// rejoin; cleared by the next [`join`](Self::join).
    pub fn rebalance_needed(&self) -> bool {
        self.shared.rebalance_needed.load(Ordering::SeqCst)
    }

    /// Why a rebalance is needed, if it is.
    pub fn rebalance_reason(&self) -> Option<RebalanceReason> {
        self.shared
            .reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves once a rebalance is needed (at once if it already is).
    pub async fn rebalance_needed_notified(&self) {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            // Register before checking so a notification in between is kept.
            notified.as_mut().enable();
            if self.rebalance_needed() {
                return;
            }
            notified.await;
        }
    }

    /// Marks that this member should rejoin (e.g. the config changed or work
    /// was revoked); [`rebalance_needed`](Self::rebalance_needed) turns true.
    pub fn request_rejoin(&self) {
        self.shared.request_rebalance(RebalanceReason::Requested);
    }

    /// Joins (or rejoins) the group and returns this member's assignment.
    ///
    /// Retriable failures (coordinator moved or loading, rebalance restarted,
    /// member id required or unknown, network errors) are retried until
    /// `join_timeout`. The leader's assignments come from `leader`. The
    /// background heartbeat is paused during the join and resumes after it.
    pub async fn join(
        &mut self,
        metadata: WorkerMetadata,
        leader: &dyn AssignmentProvider,
    ) -> Result<JoinResult, GroupError> {
        self.stop_heartbeat().await;
        if self.shared.reset_member_id.swap(false, Ordering::SeqCst) {
            self.member_id.clear();
            self.generation_id = -1;
        }
        if self.shared.reset_generation.swap(false, Ordering::SeqCst) {
            self.generation_id = -1;
        }
        // Any pending reason is answered by this join; tell the coordinator
        // (JoinGroup v8+ logs it).
        let reason = match self.rebalance_reason() {
            Some(r) => format!("rejoining: {r:?}"),
            None if self.generation_id < 0 => "joining the group".to_string(),
            None => "rejoining".to_string(),
        };
        self.shared.clear();

        let protocols = self
            .config
            .protocol
            .offered()
            .iter()
            .map(|p| Ok((*p, Bytes::from(encode_metadata(&metadata, *p)?))))
            .collect::<Result<Vec<_>, GroupError>>()?;

        let deadline = Instant::now() + self.config.join_timeout;
        loop {
            let (error, backoff) = match self.join_once(&protocols, &reason, leader, deadline).await
            {
                Ok(result) => {
                    self.start_heartbeat();
                    return Ok(result);
                }
                Err(Retry::Now(e)) => (e, false),
                Err(Retry::AfterBackoff(e)) => (e, true),
            };
            if !error.is_retriable() {
                return Err(error);
            }
            if Instant::now() >= deadline {
                return Err(GroupError::JoinTimeout {
                    group: self.config.group_id.clone(),
                    timeout: self.config.join_timeout,
                    last: error.to_string(),
                });
            }
            tracing::debug!(group = %self.config.group_id, %error, "join attempt failed; retrying");
            if backoff {
                let remaining = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(self.config.retry_backoff.min(remaining)).await;
            }
        }
    }

    /// One JoinGroup + SyncGroup exchange. Fatal errors come back as
    /// `Retry::Now` with a non-retriable error, which `join` returns.
    async fn join_once(
        &mut self,
        protocols: &[(ConnectProtocol, Bytes)],
        reason: &str,
        leader: &dyn AssignmentProvider,
        deadline: Instant,
    ) -> Result<JoinResult, Retry> {
        let group = self.config.group_id.clone();
        let broker = |api: &'static str, error: ResponseError| GroupError::Broker {
            api,
            group: group.clone(),
            error,
        };
        self.ensure_coordinator(deadline)
            .await
            .map_err(Retry::AfterBackoff)?;

        // JoinGroup.
        let mut request = JoinGroupRequest::default();
        request.group_id = GroupId(StrBytes::from_string(group.clone()));
        request.session_timeout_ms = millis_i32(self.config.session_timeout);
        request.rebalance_timeout_ms = millis_i32(self.config.rebalance_timeout);
        request.member_id = StrBytes::from_string(self.member_id.clone());
        request.protocol_type = StrBytes::from_static_str(PROTOCOL_TYPE);
        request.protocols = protocols
            .iter()
            .map(|(p, metadata)| {
                let mut jp = JoinGroupRequestProtocol::default();
                jp.name = StrBytes::from_static_str(p.name());
                jp.metadata = metadata.clone();
                jp
            })
            .collect();
        request.reason = Some(StrBytes::from_string(reason.to_string()));
        let join_timeout = self
            .config
            .request_timeout
            .max(self.config.rebalance_timeout + JOIN_GROUP_TIMEOUT_LAPSE);
        let response: JoinGroupResponse = self
            .coordinator_request(
                ApiKey::JoinGroup,
                "JoinGroup",
                &request,
                join_timeout,
                deadline,
            )
            .await?;

        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            return Err(match error {
                ResponseError::MemberIdRequired => {
                    // v4+: the coordinator hands out our id; rejoin with it at once.
                    self.member_id = response.member_id.to_string();
                    Retry::Now(broker("JoinGroup", error))
                }
                ResponseError::UnknownMemberId => {
                    self.member_id.clear();
                    self.generation_id = -1;
                    Retry::Now(broker("JoinGroup", error))
                }
                ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable => {
                    self.coordinator = None;
                    Retry::AfterBackoff(broker("JoinGroup", error))
                }
                ResponseError::CoordinatorLoadInProgress | ResponseError::RebalanceInProgress => {
                    Retry::AfterBackoff(broker("JoinGroup", error))
                }
                // INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT,
                // GROUP_AUTHORIZATION_FAILED, GROUP_MAX_SIZE_REACHED, ...
                other => Retry::Now(broker("JoinGroup", other)),
            });
        }
        if let Some(pt) = &response.protocol_type {
            if pt.as_str() != PROTOCOL_TYPE {
                return Err(Retry::Now(broker(
                    "JoinGroup",
                    ResponseError::InconsistentGroupProtocol,
                )));
            }
        }
        let protocol_name = response
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let protocol = ConnectProtocol::from_protocol_name(&protocol_name)
            .ok_or_else(|| Retry::Now(GroupError::UnknownProtocol(protocol_name.clone())))?;
        self.member_id = response.member_id.to_string();
        self.generation_id = response.generation_id;
        let leader_id = response.leader.to_string();
        let is_leader = leader_id == self.member_id;
        tracing::info!(
            group = %group,
            generation = response.generation_id,
            member = %self.member_id,
            leader = %leader_id,
            protocol = protocol.name(),
            "joined group"
        );

        // Leader: compute everyone's assignment.
        let mut members = BTreeMap::new();
        let mut assignments = Vec::new();
        if is_leader {
            for m in &response.members {
                let metadata = decode_metadata(&m.metadata)
                    .map_err(|e| Retry::Now(GroupError::Protocol(e)))?;
                members.insert(m.member_id.to_string(), metadata);
            }
            let input = AssignmentInput {
                leader_id: &leader_id,
                protocol,
                generation_id: response.generation_id,
                last_completed_generation_id: self.last_completed_generation_id,
                members: &members,
            };
            let computed = leader
                .perform_assignment(&input)
                .map_err(|e| Retry::Now(GroupError::Assignment(e)))?;
            for (member_id, assignment) in &computed {
                let bytes = encode_assignment(assignment)
                    .map_err(|e| Retry::Now(GroupError::Protocol(e)))?;
                let mut sa = SyncGroupRequestAssignment::default();
                sa.member_id = StrBytes::from_string(member_id.clone());
                sa.assignment = Bytes::from(bytes);
                assignments.push(sa);
            }
        }

        // SyncGroup: the leader sends everyone's assignment, followers none.
        let mut request = SyncGroupRequest::default();
        request.group_id = GroupId(StrBytes::from_string(group.clone()));
        request.generation_id = response.generation_id;
        request.member_id = StrBytes::from_string(self.member_id.clone());
        request.protocol_type = Some(StrBytes::from_static_str(PROTOCOL_TYPE));
        request.protocol_name = Some(StrBytes::from_static_str(protocol.name()));
        request.assignments = assignments;
        let sync_timeout = self.config.request_timeout;
        let sync: SyncGroupResponse = self
            .coordinator_request(
                ApiKey::SyncGroup,
                "SyncGroup",
                &request,
                sync_timeout,
                deadline,
            )
            .await?;
        if let Some(error) = ResponseError::try_from_code(sync.error_code) {
            return Err(match error {
                ResponseError::RebalanceInProgress => Retry::Now(broker("SyncGroup", error)),
                ResponseError::UnknownMemberId => {
                    self.member_id.clear();
                    self.generation_id = -1;
                    Retry::Now(broker("SyncGroup", error))
                }
                ResponseError::IllegalGeneration => {
                    // The member id may still be valid; keep it.
                    self.generation_id = -1;
                    Retry::Now(broker("SyncGroup", error))
                }
                ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable => {
                    self.coordinator = None;
                    Retry::AfterBackoff(broker("SyncGroup", error))
                }
                other => Retry::Now(broker("SyncGroup", other)),
            });
        }
        if let Some(name) = &sync.protocol_name {
            if name.as_str() != protocol.name() {
                return Err(Retry::Now(broker(
                    "SyncGroup",
                    ResponseError::InconsistentGroupProtocol,
                )));
            }
        }
        // Every receiver parses with the tolerant v1 reader.
        let assignment =
            decode_assignment(&sync.assignment).map_err(|e| Retry::Now(GroupError::Protocol(e)))?;
        let current = match (&self.current, protocol.is_incremental()) {
            (Some(cur), true) => cur.apply_incremental(&assignment),
            _ => assignment.clone(),
        };
        self.current = Some(current.clone());
        self.last_completed_generation_id = response.generation_id;
        self.leader_id = Some(leader_id.clone());
        self.protocol = Some(protocol);
        Ok(JoinResult {
            generation_id: response.generation_id,
            member_id: self.member_id.clone(),
            leader_id,
            is_leader,
            protocol,
            assignment,
            current,
            members,
        })
    }

    /// Sends a request to the coordinator; a transport failure drops the
    /// connection so the next attempt rediscovers the coordinator.
    async fn coordinator_request<Req, Resp>(
        &mut self,
        api: ApiKey,
        name: &'static str,
        request: &Req,
        timeout: Duration,
        deadline: Instant,
    ) -> Result<Resp, Retry>
    where
        Req: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion,
        Resp: kafka_protocol::protocol::Decodable + kafka_protocol::protocol::HeaderVersion,
    {
        let Some(conn) = self.coordinator.as_mut() else {
            return Err(Retry::AfterBackoff(GroupError::Broker {
                api: name,
                group: self.config.group_id.clone(),
                error: ResponseError::CoordinatorNotAvailable,
            }));
        };
        let version = conn.version_for(api, name).map_err(Retry::Now)?;
        let timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
        match conn.send(api, version, request, timeout).await {
            Ok(response) => Ok(response),
            Err(e) => {
                self.coordinator = None;
                Err(Retry::AfterBackoff(e))
            }
        }
    }

    async fn ensure_coordinator(&mut self, deadline: Instant) -> Result<(), GroupError> {
        if self
            .coordinator
            .as_ref()
            .is_some_and(BrokerConnection::is_usable)
        {
            return Ok(());
        }
        self.coordinator = None;
        let addr = find_coordinator(&self.config, deadline).await?;
        let timeout = self
            .config
            .connect_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let conn = BrokerConnection::connect(
            &addr,
            &self.config.client_id,
            &self.config.security,
            timeout,
        )
        .await?;
        tracing::debug!(group = %self.config.group_id, coordinator = %addr, "connected to group coordinator");
        self.coordinator = Some(conn);
        Ok(())
    }

    fn start_heartbeat(&mut self) {
        let coordinator = self.coordinator.as_ref().map(|c| c.addr().to_string());
        let task = heartbeat_loop(
            self.config.clone(),
            coordinator,
            self.generation_id,
            self.member_id.clone(),
            Arc::clone(&self.shared),
        );
        self.heartbeat = Some(tokio::spawn(task));
    }

    async fn stop_heartbeat(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
            // Wait until it is gone so it cannot race the next request.
            let _ = task.await;
        }
    }

    /// Leaves the group (LeaveGroup), so the others rebalance at once. Best
    /// effort, like Kafka's client: failures are logged, not returned. The
    /// member can join again afterwards as a new member.
    pub async fn leave(&mut self) {
        self.stop_heartbeat().await;
        if self.member_id.is_empty() {
            return;
        }
        let deadline = Instant::now() + self.config.request_timeout;
        if let Err(e) = self.send_leave(deadline).await {
            tracing::warn!(group = %self.config.group_id, member = %self.member_id, error = %e, "LeaveGroup failed");
        } else {
            tracing::info!(group = %self.config.group_id, member = %self.member_id, "left group");
        }
        self.member_id.clear();
        self.generation_id = -1;
        self.leader_id = None;
        self.shared.clear();
    }

    async fn send_leave(&mut self, deadline: Instant) -> Result<(), GroupError> {
        self.ensure_coordinator(deadline).await?;
        let mut request = LeaveGroupRequest::default();
        request.group_id = GroupId(StrBytes::from_string(self.config.group_id.clone()));
        let Some(conn) = self.coordinator.as_mut() else {
            return Ok(());
        };
        let version = conn.version_for(ApiKey::LeaveGroup, "LeaveGroup")?;
        if version >= 3 {
            let mut identity = MemberIdentity::default();
            identity.member_id = StrBytes::from_string(self.member_id.clone());
            if version >= 5 {
                identity.reason = Some(StrBytes::from_static_str("the worker is shutting down"));
            }
            request.members = vec![identity];
        } else {
            request.member_id = StrBytes::from_string(self.member_id.clone());
        }
        let timeout = self
            .config
            .request_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let response: LeaveGroupResponse = match conn
            .send(ApiKey::LeaveGroup, version, &request, timeout)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.coordinator = None;
                return Err(e);
            }
        };
        let member_error = response.members.first().map(|m| m.error_code).unwrap_or(0);
        for code in [response.error_code, member_error] {
            match ResponseError::try_from_code(code) {
                // Already gone from the group: the goal is reached.
                None | Some(ResponseError::UnknownMemberId) => {}
                Some(error) => {
                    return Err(GroupError::Broker {
                        api: "LeaveGroup",
                        group: self.config.group_id.clone(),
                        error,
                    })
                }
            }
        }
        Ok(())
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        // Without a LeaveGroup the coordinator notices after the session timeout.
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}

fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Asks the bootstrap brokers, in order, which broker coordinates the group.
async fn find_coordinator(config: &GroupConfig, deadline: Instant) -> Result<String, GroupError> {
    let mut last: Option<GroupError> = None;
    for server in &config.bootstrap_servers {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        let mut conn = match BrokerConnection::connect(
            server,
            &config.client_id,
            &config.security,
            config.connect_timeout.min(remaining),
        )
        .await
        {
            Ok(c) => c,
            // Refused credentials or certificates, or unusable settings: the
            // other bootstrap servers would say the same.
            Err(e) if !e.is_retriable() => return Err(e),
            Err(e) => {
                tracing::debug!(server = %server, error = %e, "bootstrap server unreachable");
                last = Some(e);
                continue;
            }
        };
        let version = conn.version_for(ApiKey::FindCoordinator, "FindCoordinator")?;
        let mut request = FindCoordinatorRequest::default();
        if version >= 4 {
            request.coordinator_keys = vec![StrBytes::from_string(config.group_id.clone())];
        } else {
            request.key = StrBytes::from_string(config.group_id.clone());
        }
        if version >= 1 {
            request.key_type = COORDINATOR_KEY_TYPE_GROUP;
        }
        let timeout = config
            .request_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let response: FindCoordinatorResponse = match conn
            .send(ApiKey::FindCoordinator, version, &request, timeout)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let (code, host, port) = if version >= 4 {
            match response.coordinators.first() {
                Some(c) => (c.error_code, c.host.to_string(), c.port),
                None => (
                    ResponseError::CoordinatorNotAvailable.code(),
                    String::new(),
                    0,
                ),
            }
        } else {
            (
                response.error_code,
                response.host.to_string(),
                response.port,
            )
        };
        if let Some(error) = ResponseError::try_from_code(code) {
            // Retriable ones (coordinator not available / loading) are retried
            // by the caller after a backoff; authorization is fatal.
            return Err(GroupError::Broker {
                api: "FindCoordinator",
                group: config.group_id.clone(),
                error,
            });
        }
        return Ok(host_port(&host, port));
    }
    Err(GroupError::NoBrokerAvailable {
        servers: config.bootstrap_servers.join(","),
        last: last
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no attempt before the deadline".into()),
    })
}

/// Heartbeats every `heartbeat.interval.ms` until stopped or until the
/// membership is gone. Runs on its own connection so it never waits behind
/// the owner's requests.
async fn heartbeat_loop(
    config: GroupConfig,
    coordinator: Option<String>,
    generation_id: i32,
    member_id: String,
    shared: Arc<Shared>,
) {
    let mut coordinator = coordinator;
    let mut conn: Option<BrokerConnection> = None;
    let mut last_success = Instant::now();
    let mut wait = config.heartbeat_interval;
    loop {
        tokio::time::sleep(wait).await;
        wait = config.retry_backoff.max(Duration::from_millis(50));

        if last_success.elapsed() > config.session_timeout
            && !shared.rebalance_needed.load(Ordering::SeqCst)
        {
            // The coordinator has most likely expired this member already.
            shared.request_rebalance(RebalanceReason::SessionTimedOut);
        }

        if !conn.as_ref().is_some_and(BrokerConnection::is_usable) {
            conn = None;
            let deadline = Instant::now() + config.request_timeout;
            let addr = match coordinator.clone() {
                Some(a) => a,
                None => match find_coordinator(&config, deadline).await {
                    Ok(a) => a,
                    Err(e) if e.is_retriable() => {
                        tracing::debug!(error = %e, "heartbeat: coordinator lookup failed");
                        continue;
                    }
                    Err(e) => {
                        // E.g. authorization: heartbeats cannot go on.
                        shared.request_rebalance(RebalanceReason::HeartbeatFailed(e.to_string()));
                        return;
                    }
                },
            };
            match BrokerConnection::connect(
                &addr,
                &config.client_id,
                &config.security,
                config.connect_timeout,
            )
            .await
            {
                Ok(c) => {
                    coordinator = Some(addr);
                    conn = Some(c);
                }
                Err(e) if e.is_retriable() => {
                    tracing::debug!(error = %e, coordinator = %addr, "heartbeat: cannot reach coordinator");
                    coordinator = None;
                    continue;
                }
                Err(e) => {
                    // Refused credentials or certificate: the owner's next
                    // join reports it.
                    shared.request_rebalance(RebalanceReason::HeartbeatFailed(e.to_string()));
                    return;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };

        let mut request = HeartbeatRequest::default();
        request.group_id = GroupId(StrBytes::from_string(config.group_id.clone()));
        request.generation_id = generation_id;
        request.member_id = StrBytes::from_string(member_id.clone());
        let version = match c.version_for(ApiKey::Heartbeat, "Heartbeat") {
            Ok(v) => v,
            Err(e) => {
                shared.request_rebalance(RebalanceReason::HeartbeatFailed(e.to_string()));
                return;
            }
        };
        let timeout = config.request_timeout.min(config.session_timeout);
        let response: HeartbeatResponse =
            match c.send(ApiKey::Heartbeat, version, &request, timeout).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "heartbeat failed; reconnecting");
                    conn = None;
                    coordinator = None;
                    continue;
                }
            };
        match ResponseError::try_from_code(response.error_code) {
            None => {
                last_success = Instant::now();
                wait = config.heartbeat_interval;
            }
            Some(ResponseError::RebalanceInProgress) => {
                // Still a member: keep the session alive until the owner rejoins.
                last_success = Instant::now();
                wait = config.heartbeat_interval;
                shared.request_rebalance(RebalanceReason::RebalanceInProgress);
            }
            Some(ResponseError::UnknownMemberId) | Some(ResponseError::FencedInstanceId) => {
                shared.reset_member_id.store(true, Ordering::SeqCst);
                shared.request_rebalance(RebalanceReason::UnknownMemberId);
                return;
            }
            Some(ResponseError::IllegalGeneration) => {
                shared.reset_generation.store(true, Ordering::SeqCst);
                shared.request_rebalance(RebalanceReason::IllegalGeneration);
                return;
            }
            Some(ResponseError::NotCoordinator) | Some(ResponseError::CoordinatorNotAvailable) => {
                // The coordinator moved: find the new one, no rejoin needed.
                tracing::info!(group = %config.group_id, "group coordinator moved; rediscovering");
                conn = None;
                coordinator = None;
            }
            Some(ResponseError::CoordinatorLoadInProgress) => {}
            Some(other) => {
                shared.request_rebalance(RebalanceReason::HeartbeatFailed(other.to_string()));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn settings(bootstrap: &[&str], group: &str) -> GroupSettings {
        GroupSettings {
            bootstrap_servers: bootstrap.iter().map(|s| s.to_string()).collect(),
            group_id: group.into(),
            client_id: None,
            protocol: ConnectProtocol::Sessioned,
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(3),
            rebalance_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(40),
            connect_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
        }
    }

    fn unreachable_config() -> GroupConfig {
        // Port 1 on loopback refuses connections.
        GroupConfig::new(settings(&["127.0.0.1:1"], "g"), SecurityConfig::default())
            .expect("valid settings")
    }

    #[test]
    fn settings_become_the_member_config() {
        let c = GroupConfig::new(settings(&["a:1", " b:2"], " g "), SecurityConfig::default())
            .expect("valid settings");
        assert_eq!(
            c.bootstrap_servers,
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert_eq!(c.group_id, "g");
        assert_eq!(c.join_timeout, Duration::from_secs(120));
        assert!(c.client_id.starts_with("connect-"));

        let mut s = settings(&["PLAINTEXT://h:9092"], "g");
        s.client_id = Some("w1".into());
        let c = GroupConfig::new(s, SecurityConfig::default()).expect("valid settings");
        assert_eq!(c.bootstrap_servers, vec!["h:9092".to_string()]);
        assert_eq!(c.client_id, "w1");
    }

    #[test]
    fn settings_errors() {
        let e = GroupConfig::new(settings(&[], "g"), SecurityConfig::default())
            .expect_err("no servers");
        assert!(e.to_string().contains("bootstrap.servers"), "{e}");
        let e = GroupConfig::new(settings(&["h:1"], " "), SecurityConfig::default())
            .expect_err("no group");
        assert!(e.to_string().contains("group.id"), "{e}");
        let mut s = settings(&["h:1"], "g");
        s.heartbeat_interval = Duration::from_secs(20);
        let e = GroupConfig::new(s, SecurityConfig::default()).expect_err("slow heartbeat");
        assert!(e.to_string().contains("heartbeat.interval.ms"), "{e}");
        let security =
            SecurityConfig::from_worker_props(&props(&[("security.protocol", "SASL_SSL")]));
        assert!(security.is_err());
    }

    #[test]
    fn security_settings() {
        let security = |pairs: &[(&str, &str)]| -> Result<GroupConfig, GroupError> {
            let security = SecurityConfig::from_worker_props(&props(pairs))?;
            GroupConfig::new(settings(&["h:1"], "g"), security)
        };
        let c = security(&[]).expect("valid");
        assert_eq!(c.security, SecurityConfig::default());

        let c = security(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ])
        .expect("valid");
        assert_eq!(
            c.security.protocol,
            crate::security::SecurityProtocol::SaslPlaintext
        );
        assert_eq!(
            c.security.sasl.as_ref().map(|s| s.mechanism),
            Some(crate::security::SaslMechanism::ScramSha256)
        );

        let e = security(&[("security.protocol", "TLS")]).expect_err("unknown protocol");
        assert!(matches!(e, GroupError::Security(_)), "{e:?}");
        assert!(!e.is_retriable());
        assert!(e.to_string().contains("security.protocol=TLS"), "{e}");

        let e = security(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "OAUTHBEARER"),
        ])
        .expect_err("unsupported mechanism");
        assert!(e.to_string().contains("sasl.mechanism=OAUTHBEARER"), "{e}");

        // Certificate files are read when the member's settings are built.
        let e = security(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/nonexistent/ca.pem"),
        ])
        .expect_err("missing trust store");
        assert!(e.to_string().contains("ssl.truststore.location"), "{e}");
    }

    #[test]
    fn retriable_classification() {
        let broker = |error| GroupError::Broker {
            api: "JoinGroup",
            group: "g".into(),
            error,
        };
        assert!(broker(ResponseError::RebalanceInProgress).is_retriable());
        assert!(broker(ResponseError::NotCoordinator).is_retriable());
        assert!(broker(ResponseError::MemberIdRequired).is_retriable());
        assert!(!broker(ResponseError::InconsistentGroupProtocol).is_retriable());
        assert!(!broker(ResponseError::GroupAuthorizationFailed).is_retriable());
        assert!(!GroupError::Assignment("x".into()).is_retriable());
    }

    #[test]
    fn host_port_brackets_ipv6() {
        assert_eq!(host_port("::1", 9092), "[::1]:9092");
        assert_eq!(host_port("broker", 9092), "broker:9092");
    }

    #[tokio::test]
    async fn unreachable_bootstrap_fails_with_a_typed_error() {
        let mut config = unreachable_config();
        config.join_timeout = Duration::from_millis(300);
        config.retry_backoff = Duration::from_millis(50);
        let mut member = GroupMember::new(config);
        let leader = ConnectAssignor::new(0, || crate::assignor::ConfigSnapshot::new(-1));
        let err = member
            .join(WorkerMetadata::new("http://x/", -1), &leader)
            .await
            .expect_err("nothing listens there");
        assert!(matches!(err, GroupError::JoinTimeout { .. }), "{err}");
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    }

    #[tokio::test]
    async fn rebalance_notification_wakes_waiters() {
        let member = GroupMember::new(unreachable_config());
        assert!(!member.rebalance_needed());
        let shared = Arc::clone(&member.shared);
        let waiter = async {
            tokio::time::timeout(Duration::from_secs(5), member.rebalance_needed_notified())
                .await
                .expect("notified")
        };
        let trigger = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            shared.request_rebalance(RebalanceReason::RebalanceInProgress);
        };
        tokio::join!(waiter, trigger);
        assert!(member.rebalance_needed());
        assert_eq!(
            member.rebalance_reason(),
            Some(RebalanceReason::RebalanceInProgress)
        );
    }
}
