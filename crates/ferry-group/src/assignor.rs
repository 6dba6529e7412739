//! The leader's assignors: Kafka Connect's incremental cooperative assignor
//! (KIP-415, subprotocols `compatible` and `sessioned`) and its eager
//! round-robin assignor (`default`).
//!
//! Both are plain state machines: the caller passes the members' decoded
//! metadata, the leader's config snapshot and the current time, and gets the
//! per-member [`Assignment`]s back. Nothing here does I/O, so every decision
//! (delays, revocations, who gets what) is unit-testable with a fake clock.
//!
//! Iteration orders are deterministic (members by id, connectors by name,
//! tasks by connector then number). Java iterates some hash maps instead, so
//! the choice among equally loaded workers may differ from a Java leader's,
//! never the balance or the rules.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::protocol::{
    Assignment, ConnectProtocol, ConnectorTaskId, WorkerMetadata, CONFIG_MISMATCH, NO_ERROR,
};

/// What the leader knows about the configured connectors: the config topic
/// offset it has read up to and, per connector, its number of tasks (task ids
/// `0..n`). A connector whose task configs are inconsistent must be given
/// 0 tasks, as Java's `ClusterConfigState::tasks` returns none for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSnapshot {
    pub offset: i64,
    pub connectors: BTreeMap<String, u32>,
    /// Work whose worker stopped it cleanly on its way out of the group
    /// (its last status is UNASSIGNED). Lost work in this set is handed out
    /// at once instead of being held for `scheduled.rebalance.max.delay.ms`,
    /// which is for workers that crashed and may come back.
    pub released: ConnectorsAndTasks,
}

impl ConfigSnapshot {
    pub fn new(offset: i64) -> Self {
        ConfigSnapshot {
            offset,
            connectors: BTreeMap::new(),
            released: ConnectorsAndTasks::default(),
        }
    }

    /// Adds (or replaces) a connector with `tasks` tasks.
    pub fn with_connector(mut self, name: impl Into<String>, tasks: u32) -> Self {
        self.connectors.insert(name.into(), tasks);
        self
    }

    /// All task ids of all connectors, sorted.
    pub fn task_ids(&self) -> BTreeSet<ConnectorTaskId> {
        self.connectors
            .iter()
            .flat_map(|(name, &count)| {
                (0..count).map(move |t| ConnectorTaskId::new(name.clone(), t as i32))
            })
            .collect()
    }
}

/// A set of connectors and tasks, in a meaningful order (the order a member
/// reported them or the order they were assigned in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorsAndTasks {
    pub connectors: Vec<String>,
    pub tasks: Vec<ConnectorTaskId>,
}

impl ConnectorsAndTasks {
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }

    /// The connectors and tasks of an assignment (the revocations ignored).
    pub fn from_assignment(a: &Assignment) -> Self {
        ConnectorsAndTasks {
            connectors: a.connectors.clone(),
            tasks: a.tasks.clone(),
        }
    }
}

/// Everything the leader is handed for one assignment round.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentInput<'a> {
    /// Member id of the leader (this member).
    pub leader_id: &'a str,
    /// The subprotocol the coordinator chose for this generation.
    pub protocol: ConnectProtocol,
    /// The generation being assigned.
    pub generation_id: i32,
    /// The generation of this member's last completed rebalance (-1 if none).
    pub last_completed_generation_id: i32,
    /// Every member's decoded JoinGroup metadata, by member id.
    pub members: &'a BTreeMap<String, WorkerMetadata>,
}

/// The outcome of one assignment round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAssignment {
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// The config offset the assignment was computed from.
    pub config_offset: i64,
    /// What to send to each member in SyncGroup.
    pub assignments: BTreeMap<String, Assignment>,
    /// Each member's complete work once it applied its assignment: the
    /// leader's view for routing requests to the owner of a connector or task.
    pub owners: BTreeMap<String, ConnectorsAndTasks>,
}

impl GroupAssignment {
    /// The member that runs `connector` after this round.
    pub fn connector_owner(&self, connector: &str) -> Option<&str> {
        self.owners
            .iter()
            .find(|(_, w)| w.connectors.iter().any(|c| c == connector))
            .map(|(m, _)| m.as_str())
    }

    /// The member that runs `task` after this round.
    pub fn task_owner(&self, task: &ConnectorTaskId) -> Option<&str> {
        self.owners
            .iter()
            .find(|(_, w)| w.tasks.contains(task))
            .map(|(m, _)| m.as_str())
    }
}

/// Per-member result of the incremental algorithm, before it is wrapped into
/// protocol [`Assignment`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterAssignment {
    pub newly_assigned: BTreeMap<String, ConnectorsAndTasks>,
    pub newly_revoked: BTreeMap<String, ConnectorsAndTasks>,
    pub all_assigned: BTreeMap<String, ConnectorsAndTasks>,
}

// ---------------------------------------------------------------------------
// Set helpers

/// An unordered set of connectors and tasks for the derived sets of KIP-415
/// (sorted, like the Java `TreeSet`s they come from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct WorkSet {
    connectors: BTreeSet<String>,
    tasks: BTreeSet<ConnectorTaskId>,
}

impl WorkSet {
    fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    fn minus(&self, other: &WorkSet) -> WorkSet {
        WorkSet {
            connectors: self
                .connectors
                .difference(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }

    fn add(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.extend(other.connectors.iter().cloned());
        self.tasks.extend(other.tasks.iter().cloned());
    }

    fn remove(&mut self, other: &ConnectorsAndTasks) {
        for c in &other.connectors {
            self.connectors.remove(c);
        }
        for t in &other.tasks {
            self.tasks.remove(t);
        }
    }

    fn union<'a>(all: impl IntoIterator<Item = &'a ConnectorsAndTasks>) -> WorkSet {
        let mut set = WorkSet::default();
        for w in all {
            set.add(w);
        }
        set
    }

    fn intersects(&self, other: &WorkSet) -> bool {
        self.connectors.iter().any(|c| other.connectors.contains(c))
            || self.tasks.iter().any(|t| other.tasks.contains(t))
    }
}

/// A worker's load while the round is computed.
#[derive(Debug, Clone)]
struct WorkerLoad {
    worker: String,
    connectors: Vec<String>,
    tasks: Vec<ConnectorTaskId>,
}

impl WorkerLoad {
    fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }

    fn remove(&mut self, other: &ConnectorsAndTasks) {
        self.connectors.retain(|c| !other.connectors.contains(c));
        self.tasks.retain(|t| !other.tasks.contains(t));
    }
}

fn worker_loads(members: &BTreeMap<String, ConnectorsAndTasks>) -> Vec<WorkerLoad> {
    members
        .iter()
        .map(|(worker, w)| WorkerLoad {
            worker: worker.clone(),
            connectors: w.connectors.clone(),
            tasks: w.tasks.clone(),
        })
        .collect()
}

/// Per worker, the part of its work that is in `set`.
fn intersection(
    set: &WorkSet,
    members: &BTreeMap<String, ConnectorsAndTasks>,
) -> BTreeMap<String, ConnectorsAndTasks> {
    members
        .iter()
        .map(|(worker, w)| {
            (
                worker.clone(),
                ConnectorsAndTasks {
                    connectors: w
                        .connectors
                        .iter()
                        .filter(|c| set.connectors.contains(*c))
                        .cloned()
                        .collect(),
                    tasks: w
                        .tasks
                        .iter()
                        .filter(|t| set.tasks.contains(*t))
                        .cloned()
                        .collect(),
                },
            )
        })
        .collect()
}

fn add_all(
    base: &mut BTreeMap<String, ConnectorsAndTasks>,
    add: &BTreeMap<String, ConnectorsAndTasks>,
) {
    for (worker, w) in add {
        let entry = base.entry(worker.clone()).or_default();
        for c in &w.connectors {
            if !entry.connectors.contains(c) {
                entry.connectors.push(c.clone());
            }
        }
        for t in &w.tasks {
            if !entry.tasks.contains(t) {
                entry.tasks.push(t.clone());
            }
        }
    }
}

fn remove_all(loads: &mut [WorkerLoad], remove: &BTreeMap<String, ConnectorsAndTasks>) {
    for load in loads {
        if let Some(r) = remove.get(&load.worker) {
            load.remove(r);
        }
    }
}

/// Connectors and tasks that more than one member reports running.
fn duplicated(members: &BTreeMap<String, ConnectorsAndTasks>) -> WorkSet {
    let mut connector_counts: BTreeMap<&String, usize> = BTreeMap::new();
    let mut task_counts: BTreeMap<&ConnectorTaskId, usize> = BTreeMap::new();
    for w in members.values() {
        for c in &w.connectors {
            *connector_counts.entry(c).or_default() += 1;
        }
        for t in &w.tasks {
            *task_counts.entry(t).or_default() += 1;
        }
    }
    WorkSet {
        connectors: connector_counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(c, _)| c.clone())
            .collect(),
        tasks: task_counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(t, _)| t.clone())
            .collect(),
    }
}

/// Hands `items` out round-robin, always to the least loaded workers first
/// (ties broken by member id). Workers are sorted once; the fill then widens
/// level by level, which keeps the loads within one of each other.
fn assign_round_robin<T: Clone>(
    loads: &mut [WorkerLoad],
    items: &[T],
    size: fn(&WorkerLoad) -> usize,
    push: fn(&mut WorkerLoad, T),
) {
    if items.is_empty() || loads.is_empty() {
        return;
    }
    loads.sort_by(|a, b| size(a).cmp(&size(b)).then_with(|| a.worker.cmp(&b.worker)));
    let mut it = items.iter().peekable();
    while it.peek().is_some() {
        let first_load = size(&loads[0]);
        let up_to = loads
            .iter()
            .position(|w| size(w) > first_load)
            .unwrap_or(loads.len());
        for load in loads[..up_to].iter_mut() {
            match it.next() {
                Some(item) => push(load, item.clone()),
                None => break,
            }
        }
    }
}

fn connector_count(w: &WorkerLoad) -> usize {
    w.connectors.len()
}

fn task_count(w: &WorkerLoad) -> usize {
    w.tasks.len()
}

fn push_connector(w: &mut WorkerLoad, c: String) {
    w.connectors.push(c);
}

fn push_task(w: &mut WorkerLoad, t: ConnectorTaskId) {
    w.tasks.push(t);
}

/// Which of one kind of resource (connectors or tasks) to take away from
/// over-loaded workers so that none holds more than its fair share:
/// floor(total / workers), with the remainder spread as one extra each.
fn balancing_revocations<T: Clone>(
    total: usize,
    loads: &[WorkerLoad],
    items: fn(&WorkerLoad) -> &Vec<T>,
) -> BTreeMap<String, Vec<T>> {
    let mut result = BTreeMap::new();
    let workers = loads.len();
    if workers == 0 {
        return result;
    }
    let min_per_worker = total / workers;
    let workers_with_extra = total % workers;
    let at_min = loads
        .iter()
        .filter(|w| items(w).len() == min_per_worker)
        .count();
    let at_extra = loads
        .iter()
        .filter(|w| items(w).len() == min_per_worker + 1)
        .count();
    if at_extra == workers_with_extra && at_min + at_extra == workers {
        // Already balanced; new work (if any) goes to the least loaded.
        return result;
    }
    let mut extras_given = 0;
    for w in loads {
        let size = items(w).len();
        if size <= min_per_worker {
            continue;
        }
        let max_for_worker = if extras_given < workers_with_extra {
            extras_given += 1;
            if size == min_per_worker + 1 {
                continue;
            }
            min_per_worker + 1
        } else {
            min_per_worker
        };
        let revoked: Vec<T> = items(w)
            .iter()
            .take(size - max_for_worker)
            .cloned()
            .collect();
        result.insert(w.worker.clone(), revoked);
    }
    result
}

/// Delay before the n-th consecutive revoking rebalance may revoke again:
/// `min(40^n, max_delay)` ms, and 0 when delays are disabled. This is Kafka's
/// `ExponentialBackoff(1, 40, max_delay, 0)`, including its float arithmetic.
pub fn revoking_rebalance_backoff(max_delay_ms: i32, attempts: u32) -> i32 {
    if max_delay_ms <= 0 {
        return 0;
    }
    let initial = 1.0_f64;
    let max = f64::from(max_delay_ms);
    let exp_max = if max_delay_ms > 1 {
        (max / initial).ln() / 40_f64.ln()
    } else {
        0.0
    };
    if exp_max == 0.0 {
        return 1;
    }
    let exp = f64::from(attempts).min(exp_max);
    let term = initial * 40_f64.powf(exp);
    // `as` saturates; the value is in 1..=max anyway.
    (term as i64).min(i64::from(max_delay_ms)) as i32
}

// ---------------------------------------------------------------------------
// Incremental cooperative assignor

/// Kafka Connect's incremental cooperative assignor (KIP-415).
///
/// It remembers what it assigned in the previous round (and for which
/// generation) so that it can tell work that was deleted, duplicated, lost
/// with a departed worker, or newly created. Lost work is held back for
/// `scheduled.rebalance.max.delay.ms` so a bouncing worker gets it back;
/// load-balancing revocations are spaced out by a 40^n ms backoff when they
/// happen in consecutive rounds.
///
/// Keep one instance per worker for the worker's lifetime: a member that
/// becomes leader again uses the memory only if no other leader assigned in
/// between (the generation check).
#[derive(Debug, Clone)]
pub struct IncrementalCooperativeAssignor {
    max_delay_ms: i32,
    previous_assignment: WorkSet,
    previous_revocation: WorkSet,
    revoked_in_previous: bool,
    candidate_workers: Vec<String>,
    scheduled_rebalance_ms: i64,
    delay_ms: i32,
    previous_generation_id: i32,
    previous_members: BTreeSet<String>,
    successive_revoking_rebalances: u32,
}

impl IncrementalCooperativeAssignor {
    /// `max_delay_ms` is `scheduled.rebalance.max.delay.ms` (default 300000).
    pub fn new(max_delay_ms: i32) -> Self {
        IncrementalCooperativeAssignor {
            max_delay_ms: max_delay_ms.max(0),
            previous_assignment: WorkSet::default(),
            previous_revocation: WorkSet::default(),
            revoked_in_previous: false,
            candidate_workers: Vec::new(),
            scheduled_rebalance_ms: 0,
            delay_ms: 0,
            previous_generation_id: -1,
            previous_members: BTreeSet::new(),
            successive_revoking_rebalances: 0,
        }
    }

    /// The delay handed to members in the last round (0 if none).
    pub fn delay_ms(&self) -> i32 {
        self.delay_ms
    }

    /// When the scheduled rebalance is due (same clock as `now_ms`), 0 if none.
    pub fn scheduled_rebalance_ms(&self) -> i64 {
        self.scheduled_rebalance_ms
    }

    /// Members that were empty while lost work was held back; they get that
    /// work when the delay expires.
    pub fn candidate_workers(&self) -> &[String] {
        &self.candidate_workers
    }

    /// Computes a round: the protocol checks (config offsets) around
    /// [`compute`](Self::compute). `snapshot` should be the leader's freshest
    /// view of the config topic; if it is behind what a member has read, every
    /// member gets [`CONFIG_MISMATCH`] and the group tries again after the
    /// leader caught up. `now_ms` is any millisecond clock, used consistently.
    pub fn perform_assignment(
        &mut self,
        input: &AssignmentInput<'_>,
        snapshot: &ConfigSnapshot,
        now_ms: i64,
    ) -> GroupAssignment {
        let version = input.protocol.version();
        let leader_url = leader_url(input);
        let Some(max_offset) = input.members.values().map(|m| m.config_offset).max() else {
            return GroupAssignment {
                error: NO_ERROR,
                config_offset: snapshot.offset,
                assignments: BTreeMap::new(),
                owners: BTreeMap::new(),
            };
        };
        if snapshot.offset < max_offset {
            tracing::info!(
                leader_offset = snapshot.offset,
                max_offset,
                "leader is behind the config topic; answering CONFIG_MISMATCH so members re-sync"
            );
            return config_mismatch(input, version, &leader_url, max_offset);
        }
        let member_assignments: BTreeMap<String, ConnectorsAndTasks> = input
            .members
            .iter()
            .map(|(id, m)| {
                let w = m
                    .allocation
                    .as_ref()
                    .map(ConnectorsAndTasks::from_assignment)
                    .unwrap_or_default();
                (id.clone(), w)
            })
            .collect();
        let cluster = self.compute(
            snapshot,
            input.last_completed_generation_id,
            input.generation_id,
            &member_assignments,
            now_ms,
        );
        let assignments = input
            .members
            .keys()
            .map(|member| {
                let added = cluster
                    .newly_assigned
                    .get(member)
                    .cloned()
                    .unwrap_or_default();
                let revoked = cluster
                    .newly_revoked
                    .get(member)
                    .cloned()
                    .unwrap_or_default();
                let a = Assignment {
                    version,
                    error: NO_ERROR,
                    leader: input.leader_id.to_string(),
                    leader_url: leader_url.clone(),
                    config_offset: snapshot.offset,
                    connectors: added.connectors,
                    tasks: added.tasks,
                    revoked_connectors: revoked.connectors,
                    revoked_tasks: revoked.tasks,
                    delay_ms: self.delay_ms,
                };
                (member.clone(), a)
            })
            .collect();
        GroupAssignment {
            error: NO_ERROR,
            config_offset: snapshot.offset,
            assignments,
            owners: cluster.all_assigned,
        }
    }

    /// The KIP-415 algorithm proper, on the members' current work.
    pub fn compute(
        &mut self,
        snapshot: &ConfigSnapshot,
        last_completed_generation_id: i32,
        generation_id: i32,
        members: &BTreeMap<String, ConnectorsAndTasks>,
        now_ms: i64,
    ) -> ClusterAssignment {
        // The memory is only valid if this leader also computed the last
        // completed generation; otherwise another leader (or a failed sync)
        // intervened and it may be stale.
        if self.previous_generation_id != last_completed_generation_id {
            tracing::debug!(
                previous = self.previous_generation_id,
                last_completed = last_completed_generation_id,
                "clearing the previous assignment after a generation mismatch"
            );
            self.previous_assignment = WorkSet::default();
        }

        let configured = WorkSet {
            connectors: snapshot.connectors.keys().cloned().collect(),
            tasks: snapshot.task_ids(),
        };
        let active = WorkSet::union(members.values());

        // A revocation that did not take effect (the work is still reported):
        // start from what is really running and revoke again if still needed.
        if !self.previous_revocation.is_empty() {
            if self.previous_revocation.intersects(&active) {
                self.previous_assignment = active.clone();
            }
            self.previous_revocation = WorkSet::default();
        }

        let deleted = self.previous_assignment.minus(&configured);
        let duplicated = duplicated(members);
        let lost = self.previous_assignment.minus(&active).minus(&deleted);
        let mut released = WorkSet::default();
        released.add(&snapshot.released);
        let released_lost = lost.minus(&lost.minus(&released));
        let lost = lost.minus(&released_lost);
        let created = configured.minus(&self.previous_assignment).minus(&active);
        tracing::debug!(
            ?deleted,
            ?duplicated,
            ?lost,
            ?created,
            "incremental assignment inputs"
        );

        // The base for the incremental diff: what members run, minus deletions.
        let current: BTreeMap<String, ConnectorsAndTasks> = members
            .iter()
            .map(|(worker, w)| {
                (
                    worker.clone(),
                    ConnectorsAndTasks {
                        connectors: w
                            .connectors
                            .iter()
                            .filter(|c| !deleted.connectors.contains(*c))
                            .cloned()
                            .collect(),
                        tasks: w
                            .tasks
                            .iter()
                            .filter(|t| !deleted.tasks.contains(*t))
                            .cloned()
                            .collect(),
                    },
                )
            })
            .collect();

        let mut to_revoke: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
        let deleted_to_revoke = intersection(&deleted, members);
        let duplicated_to_revoke = intersection(&duplicated, members);
        add_all(&mut to_revoke, &deleted_to_revoke);
        add_all(&mut to_revoke, &duplicated_to_revoke);

        let mut next = worker_loads(members);
        remove_all(&mut next, &deleted_to_revoke);
        remove_all(&mut next, &duplicated_to_revoke);

        let mut lost_to_reassign = self.handle_lost_assignments(&lost, &mut next, now_ms);
        lost_to_reassign
            .connectors
            .extend(released_lost.connectors.iter().cloned());
        lost_to_reassign
            .tasks
            .extend(released_lost.tasks.iter().cloned());

        // No load-balancing revocations while a scheduled rebalance is pending.
        if self.delay_ms == 0 {
            let balancing = self.load_balancing_revocations(&configured, &next);
            if self.revoked_in_previous && !balancing.is_empty() {
                // Consecutive revoking rounds (e.g. workers joining one by
                // one): wait 40^n ms before revoking again so the group does
                // not churn on every join.
                self.successive_revoking_rebalances += 1;
                self.delay_ms = revoking_rebalance_backoff(
                    self.max_delay_ms,
                    self.successive_revoking_rebalances,
                );
                if self.delay_ms != 0 {
                    self.scheduled_rebalance_ms = now_ms + i64::from(self.delay_ms);
                    tracing::debug!(
                        delay_ms = self.delay_ms,
                        "deferring consecutive load-balancing revocations"
                    );
                } else {
                    add_all(&mut to_revoke, &balancing);
                    remove_all(&mut next, &balancing);
                }
            } else if !balancing.is_empty() {
                add_all(&mut to_revoke, &balancing);
                remove_all(&mut next, &balancing);
                self.revoked_in_previous = true;
            } else if self.revoked_in_previous {
                // Balanced again: restart the backoff sequence.
                self.revoked_in_previous = false;
                self.successive_revoking_rebalances = 0;
            }
        } else {
            self.revoked_in_previous = false;
        }

        // Created work first, then lost work that is due, connectors before tasks.
        let connectors: Vec<String> = created
            .connectors
            .iter()
            .chain(lost_to_reassign.connectors.iter())
            .cloned()
            .collect();
        let tasks: Vec<ConnectorTaskId> = created
            .tasks
            .iter()
            .chain(lost_to_reassign.tasks.iter())
            .cloned()
            .collect();
        assign_round_robin(&mut next, &connectors, connector_count, push_connector);
        assign_round_robin(&mut next, &tasks, task_count, push_task);

        let mut newly_assigned = BTreeMap::new();
        let mut all_assigned = BTreeMap::new();
        let mut next_union = WorkSet::default();
        for load in &next {
            let base = current.get(&load.worker);
            let added = ConnectorsAndTasks {
                connectors: load
                    .connectors
                    .iter()
                    .filter(|c| !base.is_some_and(|b| b.connectors.contains(*c)))
                    .cloned()
                    .collect(),
                tasks: load
                    .tasks
                    .iter()
                    .filter(|t| !base.is_some_and(|b| b.tasks.contains(*t)))
                    .cloned()
                    .collect(),
            };
            newly_assigned.insert(load.worker.clone(), added);
            let revoked = to_revoke.get(&load.worker);
            let all = ConnectorsAndTasks {
                connectors: load
                    .connectors
                    .iter()
                    .filter(|c| !revoked.is_some_and(|r| r.connectors.contains(*c)))
                    .cloned()
                    .collect(),
                tasks: load
                    .tasks
                    .iter()
                    .filter(|t| !revoked.is_some_and(|r| r.tasks.contains(*t)))
                    .cloned()
                    .collect(),
            };
            all_assigned.insert(load.worker.clone(), all);
            next_union.add(&ConnectorsAndTasks {
                connectors: load.connectors.clone(),
                tasks: load.tasks.clone(),
            });
        }

        // Remember this round: everything placed, minus what is being
        // revoked, plus lost work still held back for its owner.
        for revoked in to_revoke.values() {
            next_union.remove(revoked);
            self.previous_revocation.add(revoked);
        }
        next_union
            .connectors
            .extend(lost.connectors.iter().cloned());
        next_union.tasks.extend(lost.tasks.iter().cloned());
        self.previous_assignment = next_union;
        self.previous_generation_id = generation_id;
        self.previous_members = members.keys().cloned().collect();

        to_revoke.retain(|_, w| !w.is_empty());
        ClusterAssignment {
            newly_assigned,
            newly_revoked: to_revoke,
            all_assigned,
        }
    }

    /// Decides what happens to lost work (its worker is gone): reassign now,
    /// hold it until the scheduled rebalance, or hand it to the candidate
    /// workers once the delay has expired. Returns the work to treat as new.
    fn handle_lost_assignments(
        &mut self,
        lost: &WorkSet,
        next: &mut [WorkerLoad],
        now_ms: i64,
    ) -> WorkSet {
        if lost.is_empty() && !self.revoked_in_previous {
            self.reset_delay();
            return WorkSet::default();
        }
        let active_members: BTreeSet<&String> = next.iter().map(|w| &w.worker).collect();
        if self.scheduled_rebalance_ms <= 0
            && self
                .previous_members
                .iter()
                .all(|m| active_members.contains(m))
        {
            // Nobody left: the work went missing because some member did not
            // get the last assignment. Give it out again right away.
            return lost.clone();
        }
        if self.max_delay_ms == 0 {
            return lost.clone();
        }
        if self.scheduled_rebalance_ms > 0 && now_ms >= self.scheduled_rebalance_ms {
            // The delay is over: the departed worker did not come back.
            let candidates: Vec<usize> = self
                .candidate_workers
                .iter()
                .filter_map(|c| next.iter().position(|w| &w.worker == c))
                .collect();
            let mut reassign = WorkSet::default();
            if candidates.is_empty() {
                reassign = lost.clone();
            } else {
                for (i, c) in lost.connectors.iter().enumerate() {
                    next[candidates[i % candidates.len()]]
                        .connectors
                        .push(c.clone());
                }
                for (i, t) in lost.tasks.iter().enumerate() {
                    next[candidates[i % candidates.len()]].tasks.push(t.clone());
                }
            }
            self.reset_delay();
            self.revoked_in_previous = false;
            reassign
        } else {
            // Hold the work back; remember the members that are empty now
            // (typically the departed worker coming back under a new id).
            for w in next.iter().filter(|w| w.is_empty()) {
                if !self.candidate_workers.contains(&w.worker) {
                    self.candidate_workers.push(w.worker.clone());
                }
            }
            if now_ms < self.scheduled_rebalance_ms {
                let remaining = self.scheduled_rebalance_ms - now_ms;
                self.delay_ms = i32::try_from(remaining.min(i64::from(self.max_delay_ms)))
                    .unwrap_or(self.max_delay_ms);
            } else {
                self.delay_ms = self.max_delay_ms;
            }
            self.scheduled_rebalance_ms = now_ms + i64::from(self.delay_ms);
            WorkSet::default()
        }
    }

    fn reset_delay(&mut self) {
        self.candidate_workers.clear();
        self.scheduled_rebalance_ms = 0;
        self.delay_ms = 0;
    }

    fn load_balancing_revocations(
        &self,
        configured: &WorkSet,
        next: &[WorkerLoad],
    ) -> BTreeMap<String, ConnectorsAndTasks> {
        let mut result: BTreeMap<String, ConnectorsAndTasks> = BTreeMap::new();
        if next.iter().all(WorkerLoad::is_empty) || configured.is_empty() {
            return result;
        }
        let connectors =
            balancing_revocations(configured.connectors.len(), next, |w| &w.connectors);
        let tasks = balancing_revocations(configured.tasks.len(), next, |w| &w.tasks);
        for (worker, c) in connectors {
            result.entry(worker).or_default().connectors = c;
        }
        for (worker, t) in tasks {
            result.entry(worker).or_default().tasks = t;
        }
        result
    }
}

fn leader_url(input: &AssignmentInput<'_>) -> String {
    input
        .members
        .get(input.leader_id)
        .map(|m| m.url.clone())
        .unwrap_or_default()
}

fn config_mismatch(
    input: &AssignmentInput<'_>,
    version: i16,
    leader_url: &str,
    max_offset: i64,
) -> GroupAssignment {
    let assignments = input
        .members
        .keys()
        .map(|member| {
            let mut a = Assignment::empty(version, input.leader_id, leader_url, max_offset);
            a.error = CONFIG_MISMATCH;
            (member.clone(), a)
        })
        .collect();
    GroupAssignment {
        error: CONFIG_MISMATCH,
        config_offset: max_offset,
        assignments,
        owners: BTreeMap::new(),
    }
}

// ---------------------------------------------------------------------------
// Eager assignor

/// The eager (v0, `default`) assignor: members and connectors sorted, the
/// connectors dealt round-robin, then each connector's tasks continuing the
/// same rotation. Every member receives its complete assignment. Stateless.
pub fn eager_assignment(input: &AssignmentInput<'_>, snapshot: &ConfigSnapshot) -> GroupAssignment {
    let leader_url = leader_url(input);
    let Some(max_offset) = input.members.values().map(|m| m.config_offset).max() else {
        return GroupAssignment {
            error: NO_ERROR,
            config_offset: snapshot.offset,
            assignments: BTreeMap::new(),
            owners: BTreeMap::new(),
        };
    };
    if snapshot.offset < max_offset {
        return config_mismatch(input, 0, &leader_url, max_offset);
    }
    // BTreeMap keys are already sorted.
    let members: Vec<&String> = input.members.keys().collect();
    let mut owners: BTreeMap<String, ConnectorsAndTasks> = members
        .iter()
        .map(|m| ((*m).clone(), ConnectorsAndTasks::default()))
        .collect();
    let mut rotation = members.iter().cycle();
    for connector in snapshot.connectors.keys() {
        if let Some(m) = rotation.next() {
            if let Some(w) = owners.get_mut(*m) {
                w.connectors.push(connector.clone());
            }
        }
    }
    for (connector, &count) in &snapshot.connectors {
        for task in 0..count {
            if let Some(m) = rotation.next() {
                if let Some(w) = owners.get_mut(*m) {
                    w.tasks
                        .push(ConnectorTaskId::new(connector.clone(), task as i32));
                }
            }
        }
    }
    let assignments = owners
        .iter()
        .map(|(member, w)| {
            let a = Assignment {
                connectors: w.connectors.clone(),
                tasks: w.tasks.clone(),
                ..Assignment::empty(0, input.leader_id, leader_url.clone(), snapshot.offset)
            };
            (member.clone(), a)
        })
        .collect();
    GroupAssignment {
        error: NO_ERROR,
        config_offset: snapshot.offset,
        assignments,
        owners,
    }
}

// ---------------------------------------------------------------------------
// Ready-made leader

/// The leader side as the Java worker has it: the eager assignor for
/// `default`, the incremental one (with its memory) otherwise, and the
/// config snapshot taken from the herder each round.
///
/// Implements [`AssignmentProvider`](crate::member::AssignmentProvider) so it
/// can be passed straight to [`GroupMember::join`](crate::member::GroupMember::join).
pub struct ConnectAssignor {
    incremental: Mutex<IncrementalCooperativeAssignor>,
    snapshot: Box<dyn Fn() -> ConfigSnapshot + Send + Sync>,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
    last: Mutex<Option<GroupAssignment>>,
}

impl std::fmt::Debug for ConnectAssignor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectAssignor").finish_non_exhaustive()
    }
}

impl ConnectAssignor {
    /// `snapshot` returns the herder's current view of the config topic
    /// (called once per round, only on the leader); time is the wall clock.
    pub fn new(
        max_delay_ms: i32,
        snapshot: impl Fn() -> ConfigSnapshot + Send + Sync + 'static,
    ) -> Self {
        Self::with_clock(max_delay_ms, snapshot, wall_clock_ms)
    }

    /// As [`new`](Self::new) with an explicit millisecond clock.
    pub fn with_clock(
        max_delay_ms: i32,
        snapshot: impl Fn() -> ConfigSnapshot + Send + Sync + 'static,
        clock: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Self {
        ConnectAssignor {
            incremental: Mutex::new(IncrementalCooperativeAssignor::new(max_delay_ms)),
            snapshot: Box::new(snapshot),
            clock: Box::new(clock),
            last: Mutex::new(None),
        }
    }

    /// Runs one round for the chosen protocol.
    pub fn assign(&self, input: &AssignmentInput<'_>) -> GroupAssignment {
        let snapshot = (self.snapshot)();
        let result = if input.protocol == ConnectProtocol::Eager {
            eager_assignment(input, &snapshot)
        } else {
            // A panic elsewhere while holding the lock leaves plain data
            // behind; keep going with it rather than failing every rebalance.
            let mut assignor = self.incremental.lock().unwrap_or_else(|e| e.into_inner());
            assignor.perform_assignment(input, &snapshot, (self.clock)())
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(result.clone());
        result
    }

    /// The last round this member computed as leader (owners for routing).
    pub fn last_assignment(&self) -> Option<GroupAssignment> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_DELAY: i32 = 300_000;

    fn t(c: &str, n: i32) -> ConnectorTaskId {
        ConnectorTaskId::new(c, n)
    }

    /// A simulated group: each member's complete current assignment, applied
    /// exactly as a member applies SyncGroup results.
    #[derive(Debug, Clone, Default)]
    struct Group {
        members: BTreeMap<String, Option<Assignment>>,
        generation: i32,
        last_completed: i32,
    }

    impl Group {
        fn with_members(ids: &[&str]) -> Self {
            Group {
                members: ids.iter().map(|id| (id.to_string(), None)).collect(),
                generation: 0,
                last_completed: -1,
            }
        }

        fn join(&mut self, id: &str) {
            self.members.insert(id.to_string(), None);
        }

        fn leave(&mut self, id: &str) {
            self.members.remove(id);
        }

        fn metadata(&self, offset: i64) -> BTreeMap<String, WorkerMetadata> {
            self.members
                .iter()
                .map(|(id, a)| {
                    let m = WorkerMetadata {
                        url: format!("http://{id}:8083/"),
                        config_offset: offset,
                        allocation: a.clone(),
                    };
                    (id.clone(), m)
                })
                .collect()
        }

        /// One rebalance with the first member as leader; applies the result.
        fn round(
            &mut self,
            assignor: &mut IncrementalCooperativeAssignor,
            snapshot: &ConfigSnapshot,
            now: i64,
        ) -> GroupAssignment {
            self.generation += 1;
            let members = self.metadata(snapshot.offset);
            let leader = members.keys().next().cloned().expect("group has members");
            let input = AssignmentInput {
                leader_id: &leader,
                protocol: ConnectProtocol::Sessioned,
                generation_id: self.generation,
                last_completed_generation_id: self.last_completed,
                members: &members,
            };
            let result = assignor.perform_assignment(&input, snapshot, now);
            for (id, a) in &result.assignments {
                let current = self.members.get(id).cloned().flatten();
                let merged = match current {
                    Some(cur) => cur.apply_incremental(a),
                    None => a.clone(),
                };
                self.members.insert(id.clone(), Some(merged));
            }
            self.last_completed = self.generation;
            result
        }

        fn work(&self, id: &str) -> ConnectorsAndTasks {
            self.members
                .get(id)
                .cloned()
                .flatten()
                .map(|a| ConnectorsAndTasks::from_assignment(&a))
                .unwrap_or_default()
        }

        /// Every configured item runs exactly once, and loads differ by ≤ 1.
        fn assert_balanced(&self, snapshot: &ConfigSnapshot) {
            let mut connectors: Vec<String> = Vec::new();
            let mut tasks: Vec<ConnectorTaskId> = Vec::new();
            for id in self.members.keys() {
                let w = self.work(id);
                connectors.extend(w.connectors);
                tasks.extend(w.tasks);
            }
            connectors.sort();
            tasks.sort();
            assert_eq!(
                connectors,
                snapshot.connectors.keys().cloned().collect::<Vec<_>>(),
                "connectors run once"
            );
            assert_eq!(
                tasks,
                snapshot.task_ids().into_iter().collect::<Vec<_>>(),
                "tasks run once"
            );
            let c: Vec<usize> = self
                .members
                .keys()
                .map(|id| self.work(id).connectors.len())
                .collect();
            let k: Vec<usize> = self
                .members
                .keys()
                .map(|id| self.work(id).tasks.len())
                .collect();
            assert!(
                c.iter().max().unwrap() - c.iter().min().unwrap() <= 1,
                "connector loads {c:?}"
            );
            assert!(
                k.iter().max().unwrap() - k.iter().min().unwrap() <= 1,
                "task loads {k:?}"
            );
        }
    }

    fn snapshot_2x4() -> ConfigSnapshot {
        ConfigSnapshot::new(10)
            .with_connector("c1", 4)
            .with_connector("c2", 4)
    }

    #[test]
    fn first_round_spreads_connectors_then_tasks_round_robin() {
        let snapshot = snapshot_2x4();
        let mut group = Group::with_members(&["w1", "w2"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        let result = group.round(&mut assignor, &snapshot, 0);
        assert_eq!(result.error, NO_ERROR);
        let a1 = &result.assignments["w1"];
        let a2 = &result.assignments["w2"];
        assert_eq!(a1.version, 2);
        assert_eq!(a1.leader, "w1");
        assert_eq!(a1.leader_url, "http://w1:8083/");
        assert_eq!(a1.config_offset, 10);
        assert_eq!(a1.connectors, vec!["c1".to_string()]);
        assert_eq!(a2.connectors, vec!["c2".to_string()]);
        assert_eq!(
            a1.tasks,
            vec![t("c1", 0), t("c1", 2), t("c2", 0), t("c2", 2)]
        );
        assert_eq!(
            a2.tasks,
            vec![t("c1", 1), t("c1", 3), t("c2", 1), t("c2", 3)]
        );
        assert!(!a1.has_revocations() && a1.delay_ms == 0);
        assert_eq!(result.connector_owner("c2"), Some("w2"));
        assert_eq!(result.task_owner(&t("c1", 3)), Some("w2"));
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn new_worker_gets_a_share_through_revocation_then_reassignment() {
        let snapshot = snapshot_2x4();
        let mut group = Group::with_members(&["w1"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        assert_eq!(group.work("w1").len(), 10);

        // w2 joins: w1 gives up its excess, nothing is handed out yet.
        group.join("w2");
        let r = group.round(&mut assignor, &snapshot, 1_000);
        let revoked = &r.assignments["w1"];
        assert_eq!(revoked.revoked_connectors.len(), 1);
        assert_eq!(revoked.revoked_tasks.len(), 4);
        assert!(revoked.connectors.is_empty() && revoked.tasks.is_empty());
        assert!(r.assignments["w2"].connectors.is_empty() && r.assignments["w2"].tasks.is_empty());
        assert_eq!(r.assignments["w2"].delay_ms, 0);
        assert_eq!(group.work("w1").len(), 5);

        // The follow-up round (w1 rejoins because it had revocations) gives
        // the freed work to w2 and revokes nothing.
        let r = group.round(&mut assignor, &snapshot, 1_100);
        assert!(!r.assignments["w1"].has_revocations());
        assert_eq!(r.assignments["w2"].connectors.len(), 1);
        assert_eq!(r.assignments["w2"].tasks.len(), 4);
        group.assert_balanced(&snapshot);

        // Nothing changes in a further round.
        let r = group.round(&mut assignor, &snapshot, 1_200);
        assert!(r
            .assignments
            .values()
            .all(|a| a.connectors.is_empty() && a.tasks.is_empty() && !a.has_revocations()));
    }

    #[test]
    fn work_released_by_a_clean_shutdown_moves_at_once() {
        let mut snapshot = ConfigSnapshot::new(3)
            .with_connector("a", 2)
            .with_connector("b", 2)
            .with_connector("c", 2);
        let mut group = Group::with_members(&["w1", "w2", "w3"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        let released = group.work("w3");
        snapshot.released = released.clone();

        group.leave("w3");
        let r = group.round(&mut assignor, &snapshot, 10_000);
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        let handed: usize = r
            .assignments
            .values()
            .map(|a| a.connectors.len() + a.tasks.len())
            .sum();
        assert_eq!(handed, released.len());
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn lost_worker_is_held_for_the_delay_then_reassigned() {
        let snapshot = ConfigSnapshot::new(3)
            .with_connector("a", 2)
            .with_connector("b", 2)
            .with_connector("c", 2);
        let mut group = Group::with_members(&["w1", "w2", "w3"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        group.assert_balanced(&snapshot);
        let lost = group.work("w3");

        group.leave("w3");
        let r = group.round(&mut assignor, &snapshot, 10_000);
        for a in r.assignments.values() {
            assert_eq!(
                a.delay_ms, MAX_DELAY,
                "members told to rejoin after the max delay"
            );
            assert!(a.connectors.is_empty() && a.tasks.is_empty() && !a.has_revocations());
        }
        assert_eq!(
            assignor.scheduled_rebalance_ms(),
            10_000 + i64::from(MAX_DELAY)
        );

        // An early rejoin keeps holding the work, with the remaining delay.
        let r = group.round(&mut assignor, &snapshot, 110_000);
        assert_eq!(r.assignments["w1"].delay_ms, 200_000);
        assert!(r.assignments.values().all(|a| a.tasks.is_empty()));

        // When the delay is over the lost work goes to the survivors.
        let r = group.round(&mut assignor, &snapshot, 310_000);
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        let handed: usize = r
            .assignments
            .values()
            .map(|a| a.connectors.len() + a.tasks.len())
            .sum();
        assert_eq!(handed, lost.len());
        group.assert_balanced(&snapshot);
        assert_eq!(assignor.scheduled_rebalance_ms(), 0);
    }

    #[test]
    fn returning_worker_is_a_candidate_and_gets_the_lost_work_back() {
        let snapshot = ConfigSnapshot::new(3)
            .with_connector("a", 2)
            .with_connector("b", 2);
        let mut group = Group::with_members(&["w1", "w2"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        let lost = group.work("w2");

        group.leave("w2");
        group.round(&mut assignor, &snapshot, 1_000);
        // It comes back under a new member id, empty: a candidate.
        group.join("w2-bis");
        let r = group.round(&mut assignor, &snapshot, 2_000);
        assert_eq!(assignor.candidate_workers(), ["w2-bis".to_string()]);
        assert!(r.assignments["w2-bis"].tasks.is_empty(), "still held back");

        let r = group.round(&mut assignor, &snapshot, 1_000 + i64::from(MAX_DELAY));
        let back = &r.assignments["w2-bis"];
        assert_eq!(back.connectors, lost.connectors);
        assert_eq!(back.tasks, lost.tasks);
        assert!(r.assignments["w1"].tasks.is_empty());
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn zero_max_delay_reassigns_lost_work_immediately() {
        let snapshot = ConfigSnapshot::new(3)
            .with_connector("a", 3)
            .with_connector("b", 3);
        let mut group = Group::with_members(&["w1", "w2", "w3"]);
        let mut assignor = IncrementalCooperativeAssignor::new(0);
        group.round(&mut assignor, &snapshot, 0);
        group.leave("w2");
        let r = group.round(&mut assignor, &snapshot, 5);
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn config_mismatch_when_a_member_is_ahead_of_the_leader() {
        let members: BTreeMap<String, WorkerMetadata> = [
            ("a".to_string(), WorkerMetadata::new("http://a/", 5)),
            ("b".to_string(), WorkerMetadata::new("http://b/", 9)),
        ]
        .into_iter()
        .collect();
        let input = AssignmentInput {
            leader_id: "a",
            protocol: ConnectProtocol::Compatible,
            generation_id: 1,
            last_completed_generation_id: -1,
            members: &members,
        };
        let snapshot = ConfigSnapshot::new(5).with_connector("x", 1);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        let r = assignor.perform_assignment(&input, &snapshot, 0);
        assert_eq!(r.error, CONFIG_MISMATCH);
        for a in r.assignments.values() {
            assert_eq!(a.error, CONFIG_MISMATCH);
            assert_eq!(a.version, 1);
            assert_eq!(a.config_offset, 9);
            assert_eq!(a.leader_url, "http://a/");
            assert!(a.connectors.is_empty() && a.tasks.is_empty());
        }
        // Eager answers the same way, with v0 assignments.
        let input = AssignmentInput {
            protocol: ConnectProtocol::Eager,
            ..input
        };
        let r = eager_assignment(&input, &snapshot);
        assert_eq!(r.error, CONFIG_MISMATCH);
        assert!(r.assignments.values().all(|a| a.failed() && a.version == 0));
        // A leader that caught up past everyone assigns with its own offset.
        let r =
            assignor.perform_assignment(&input, &ConfigSnapshot::new(12).with_connector("x", 1), 0);
        assert_eq!(r.error, NO_ERROR);
        assert_eq!(r.config_offset, 12);
    }

    #[test]
    fn deleted_connector_is_revoked_from_its_owner() {
        let mut snapshot = ConfigSnapshot::new(1)
            .with_connector("keep", 2)
            .with_connector("gone", 2);
        let mut group = Group::with_members(&["w1", "w2"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);

        snapshot.connectors.remove("gone");
        snapshot.offset = 2;
        let r = group.round(&mut assignor, &snapshot, 10);
        let revoked_connectors: Vec<&String> = r
            .assignments
            .values()
            .flat_map(|a| &a.revoked_connectors)
            .collect();
        let mut revoked_tasks: Vec<&ConnectorTaskId> = r
            .assignments
            .values()
            .flat_map(|a| &a.revoked_tasks)
            .collect();
        revoked_tasks.sort();
        assert_eq!(revoked_connectors, vec!["gone"]);
        assert_eq!(revoked_tasks, vec![&t("gone", 0), &t("gone", 1)]);
        assert!(r
            .owners
            .values()
            .all(|w| !w.connectors.contains(&"gone".to_string())));
        // No delay: deletions are not lost work.
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
    }

    #[test]
    fn duplicated_work_is_revoked_everywhere_then_reassigned_once() {
        let snapshot = ConfigSnapshot::new(1).with_connector("c", 2);
        let both = Assignment {
            connectors: vec!["c".into()],
            tasks: vec![t("c", 0)],
            ..Assignment::empty(1, "w1", "http://w1/", 1)
        };
        let mut group = Group::with_members(&["w1", "w2"]);
        group.members.insert("w1".into(), Some(both.clone()));
        group.members.insert(
            "w2".into(),
            Some(Assignment {
                tasks: vec![t("c", 0), t("c", 1)],
                ..both
            }),
        );
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        let r = group.round(&mut assignor, &snapshot, 0);
        assert_eq!(
            r.assignments["w1"].revoked_connectors,
            vec!["c".to_string()]
        );
        assert_eq!(r.assignments["w1"].revoked_tasks, vec![t("c", 0)]);
        assert_eq!(
            r.assignments["w2"].revoked_connectors,
            vec!["c".to_string()]
        );
        assert_eq!(r.assignments["w2"].revoked_tasks, vec![t("c", 0)]);
        // Next round hands each duplicate to exactly one member.
        group.round(&mut assignor, &snapshot, 1);
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn consecutive_revoking_rounds_back_off_by_forty_to_the_n() {
        let snapshot = ConfigSnapshot::new(1).with_connector("c", 12);
        let mut group = Group::with_members(&["w1"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);

        // w2 joins: revocations right away.
        group.join("w2");
        let r = group.round(&mut assignor, &snapshot, 100);
        assert!(r.assignments["w1"].has_revocations());
        // w3 joins before things settled: another revoking round would be
        // needed, but it is deferred by 40 ms.
        group.join("w3");
        let r = group.round(&mut assignor, &snapshot, 200);
        assert!(r.assignments.values().all(|a| !a.has_revocations()));
        assert!(r.assignments.values().all(|a| a.delay_ms == 40));
        // The freed work still went out (to the least loaded).
        assert_eq!(
            group.work("w1").len() + group.work("w2").len() + group.work("w3").len(),
            13
        );

        // After the delay, revocations are allowed again and the group settles.
        let r = group.round(&mut assignor, &snapshot, 240);
        assert!(r.assignments.values().any(|a| a.has_revocations()));
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        group.round(&mut assignor, &snapshot, 250);
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn zero_max_delay_revokes_in_consecutive_rounds_at_once() {
        let snapshot = ConfigSnapshot::new(1).with_connector("c", 12);
        let mut group = Group::with_members(&["w1"]);
        let mut assignor = IncrementalCooperativeAssignor::new(0);
        group.round(&mut assignor, &snapshot, 0);
        group.join("w2");
        group.round(&mut assignor, &snapshot, 1);
        group.join("w3");
        let r = group.round(&mut assignor, &snapshot, 2);
        assert!(r.assignments.values().any(|a| a.has_revocations()));
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        group.round(&mut assignor, &snapshot, 3);
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn backoff_sequence_matches_kafka() {
        // Values printed by Kafka 4.3.1's ExponentialBackoff(1, 40, max, 0),
        // float truncation included.
        let seq = |max: i32| {
            (1..=5)
                .map(|n| revoking_rebalance_backoff(max, n))
                .collect::<Vec<_>>()
        };
        assert_eq!(seq(MAX_DELAY), [40, 1_600, 64_000, 300_000, 300_000]);
        assert_eq!(seq(1_000), [40, 999, 999, 999, 999]);
        assert_eq!(seq(50), [40, 49, 49, 49, 49]);
        assert_eq!(seq(1), [1, 1, 1, 1, 1]);
        assert_eq!(seq(0), [0, 0, 0, 0, 0]);
    }

    #[test]
    fn generation_mismatch_clears_the_memory() {
        let snapshot = ConfigSnapshot::new(1)
            .with_connector("a", 2)
            .with_connector("b", 2);
        let mut group = Group::with_members(&["w1", "w2"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        group.leave("w2");
        // Another leader completed a generation in between: the memory is
        // not trusted, w2's work is not "lost" but simply unassigned.
        group.last_completed += 5;
        group.generation += 5;
        let r = group.round(&mut assignor, &snapshot, 10);
        assert!(r.assignments.values().all(|a| a.delay_ms == 0));
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn revocation_that_did_not_take_effect_is_applied_again() {
        let snapshot = ConfigSnapshot::new(1).with_connector("c", 4);
        let mut group = Group::with_members(&["w1"]);
        let mut assignor = IncrementalCooperativeAssignor::new(MAX_DELAY);
        group.round(&mut assignor, &snapshot, 0);
        group.join("w2");
        let before = group.members.clone();
        let r = group.round(&mut assignor, &snapshot, 1);
        assert!(r.assignments["w1"].has_revocations());
        // w1 never applied it (e.g. it missed the SyncGroup): it still
        // reports everything. The leader revokes again instead of assigning
        // the same work twice.
        group.members = before;
        group.members.insert("w2".into(), None);
        let r = group.round(&mut assignor, &snapshot, 2);
        assert!(r.assignments["w2"].tasks.is_empty() && r.assignments["w2"].connectors.is_empty());
        let owned: usize = group.members.keys().map(|m| group.work(m).len()).sum();
        assert_eq!(owned, 5, "nothing assigned twice");
        // This is a second revoking round in a row, so it waits 40 ms; after
        // that the revocation is applied again and the group settles.
        assert_eq!(r.assignments["w1"].delay_ms, 40);
        let r = group.round(&mut assignor, &snapshot, 42);
        assert_eq!(r.assignments["w1"].revoked_tasks.len(), 2);
        group.round(&mut assignor, &snapshot, 43);
        group.assert_balanced(&snapshot);
    }

    #[test]
    fn many_joins_and_leaves_converge_to_a_balanced_group() {
        let snapshot = ConfigSnapshot::new(7)
            .with_connector("a", 5)
            .with_connector("b", 3)
            .with_connector("c", 1)
            .with_connector("d", 0);
        let mut group = Group::with_members(&["w1"]);
        let mut assignor = IncrementalCooperativeAssignor::new(0);
        let mut now = 0;
        let mut settle = |group: &mut Group, assignor: &mut IncrementalCooperativeAssignor| {
            for _ in 0..5 {
                now += 1;
                group.round(assignor, &snapshot, now);
            }
            group.assert_balanced(&snapshot);
        };
        settle(&mut group, &mut assignor);
        for w in ["w2", "w3", "w4"] {
            group.join(w);
            settle(&mut group, &mut assignor);
        }
        group.leave("w1");
        settle(&mut group, &mut assignor);
        group.leave("w3");
        group.join("w5");
        settle(&mut group, &mut assignor);
    }

    #[test]
    fn eager_deals_connectors_then_tasks_round_robin() {
        let members: BTreeMap<String, WorkerMetadata> = ["m2", "m1", "m3"]
            .into_iter()
            .map(|m| {
                (
                    m.to_string(),
                    WorkerMetadata::new(format!("http://{m}/"), 4),
                )
            })
            .collect();
        let input = AssignmentInput {
            leader_id: "m2",
            protocol: ConnectProtocol::Eager,
            generation_id: 3,
            last_completed_generation_id: 2,
            members: &members,
        };
        let snapshot = ConfigSnapshot::new(4)
            .with_connector("b", 2)
            .with_connector("a", 3);
        let r = eager_assignment(&input, &snapshot);
        let m1 = &r.assignments["m1"];
        let m2 = &r.assignments["m2"];
        let m3 = &r.assignments["m3"];
        // Connectors a, b to m1, m2; the rotation goes on with a-0.. at m3.
        assert_eq!(m1.connectors, vec!["a".to_string()]);
        assert_eq!(m2.connectors, vec!["b".to_string()]);
        assert!(m3.connectors.is_empty());
        assert_eq!(m3.tasks, vec![t("a", 0), t("b", 0)]);
        assert_eq!(m1.tasks, vec![t("a", 1), t("b", 1)]);
        assert_eq!(m2.tasks, vec![t("a", 2)]);
        assert!(r
            .assignments
            .values()
            .all(|a| a.version == 0 && a.leader == "m2" && a.leader_url == "http://m2/"));
        assert_eq!(r.task_owner(&t("b", 1)), Some("m1"));
    }

    #[test]
    fn connect_assignor_dispatches_on_protocol_and_remembers_the_last_round() {
        let leader = ConnectAssignor::with_clock(
            MAX_DELAY,
            || ConfigSnapshot::new(0).with_connector("c", 2),
            || 0,
        );
        let members: BTreeMap<String, WorkerMetadata> =
            [("m".to_string(), WorkerMetadata::new("http://m/", 0))]
                .into_iter()
                .collect();
        let mut input = AssignmentInput {
            leader_id: "m",
            protocol: ConnectProtocol::Sessioned,
            generation_id: 1,
            last_completed_generation_id: -1,
            members: &members,
        };
        let r = leader.assign(&input);
        assert_eq!(r.assignments["m"].version, 2);
        assert_eq!(r.assignments["m"].tasks.len(), 2);
        input.protocol = ConnectProtocol::Eager;
        let r = leader.assign(&input);
        assert_eq!(r.assignments["m"].version, 0);
        assert_eq!(leader.last_assignment(), Some(r));
    }

    /// Round-by-round summaries (per member: +added connectors/tasks,
    /// -revoked connectors/tasks, =running connectors/tasks) printed by Kafka
    /// 4.3.1's `IncrementalCooperativeAssignor` driven through the same
    /// scenarios with a fake clock. S1: workers join one by one (consecutive
    /// revocations, 40 ms backoff); S2: a worker is lost (held for the max
    /// delay); S3: a revocation is not applied by its member; S4: the lost
    /// worker comes back as a candidate; S5: joins and leaves with delay 0.
    const KAFKA_ROUNDS: &str = "\
S1.1 delay=0: w1[+1/12 -0/0 =1/12]\n\
S1.2 delay=0: w1[+0/0 -0/6 =1/6] w2[+0/0 -0/0 =0/0]\n\
S1.3 delay=40: w1[+0/0 -0/0 =1/6] w2[+0/3 -0/0 =0/3] w3[+0/3 -0/0 =0/3]\n\
S1.4 delay=0: w1[+0/0 -0/2 =1/4] w2[+0/0 -0/0 =0/3] w3[+0/0 -0/0 =0/3]\n\
S1.5 delay=0: w1[+0/0 -0/0 =1/4] w2[+0/1 -0/0 =0/4] w3[+0/1 -0/0 =0/4]\n\
S2.1 delay=0: w1[+1/2 -0/0 =1/2] w2[+1/2 -0/0 =1/2] w3[+1/2 -0/0 =1/2]\n\
S2.2 delay=300000: w1[+0/0 -0/0 =1/2] w2[+0/0 -0/0 =1/2]\n\
S2.3 delay=200000: w1[+0/0 -0/0 =1/2] w2[+0/0 -0/0 =1/2]\n\
S2.4 delay=0: w1[+1/1 -0/0 =2/3] w2[+0/1 -0/0 =1/3]\n\
S3.1 delay=0: w1[+1/4 -0/0 =1/4]\n\
S3.2 delay=0: w1[+0/0 -0/2 =1/2] w2[+0/0 -0/0 =0/0]\n\
S3.3 delay=40: w1[+0/0 -0/0 =1/4] w2[+0/0 -0/0 =0/0]\n\
S3.4 delay=0: w1[+0/0 -0/2 =1/2] w2[+0/0 -0/0 =0/0]\n\
S3.5 delay=0: w1[+0/0 -0/0 =1/2] w2[+0/2 -0/0 =0/2]\n\
S4.1 delay=0: w1[+1/2 -0/0 =1/2] w2[+1/2 -0/0 =1/2]\n\
S4.2 delay=300000: w1[+0/0 -0/0 =1/2]\n\
S4.3 delay=299000: w1[+0/0 -0/0 =1/2] w2-bis[+0/0 -0/0 =0/0]\n\
S4.4 delay=0: w1[+0/0 -0/0 =1/2] w2-bis[+1/2 -0/0 =1/2]\n\
S5.1 delay=0: w1[+4/9 -0/0 =4/9]\n\
S5.2 delay=0: w1[+0/0 -2/6 =2/3] w2[+0/0 -0/0 =0/0] w3[+0/0 -0/0 =0/0]\n\
S5.3 delay=0: w1[+0/0 -0/0 =2/3] w2[+1/3 -0/0 =1/3] w3[+1/3 -0/0 =1/3]\n\
S5.4 delay=0: w1[+0/0 -1/0 =1/3] w2[+0/0 -0/1 =1/2] w3[+0/0 -0/1 =1/2] w4[+0/0 -0/0 =0/0]\n\
S5.5 delay=0: w1[+0/0 -0/0 =1/3] w2[+0/0 -0/0 =1/2] w3[+0/0 -0/0 =1/2] w4[+1/2 -0/0 =1/2]\n\
S5.6 delay=0: w1[+0/0 -0/0 =1/3] w2[+0/0 -0/0 =1/2] w3[+0/0 -0/0 =1/2] w4[+0/0 -0/0 =1/2]\n\
S5.7 delay=0: w2[+1/1 -0/0 =2/3] w3[+0/1 -0/0 =1/3] w4[+0/1 -0/0 =1/3]\n\
S5.8 delay=0: w2[+0/0 -0/0 =2/3] w3[+0/0 -0/0 =1/3] w4[+0/0 -0/0 =1/3]\n\
";

    #[test]
    fn matches_kafka_assignor_round_by_round() {
        use std::fmt::Write as _;
        struct H {
            members: BTreeMap<String, ConnectorsAndTasks>,
            gen: i32,
            last: i32,
            out: String,
        }
        impl H {
            fn round(
                &mut self,
                a: &mut IncrementalCooperativeAssignor,
                s: &ConfigSnapshot,
                t: i64,
                label: &str,
            ) {
                self.gen += 1;
                let r = a.compute(s, self.last, self.gen, &self.members, t);
                let mut line = format!("{label} delay={}:", a.delay_ms());
                let keys: Vec<String> = self.members.keys().cloned().collect();
                for w in keys {
                    let add = r.newly_assigned.get(&w).cloned().unwrap_or_default();
                    let rev = r.newly_revoked.get(&w).cloned().unwrap_or_default();
                    let cur = self.members.get(&w).cloned().unwrap_or_default();
                    let mut cs: Vec<String> = cur
                        .connectors
                        .iter()
                        .filter(|c| !rev.connectors.contains(c))
                        .cloned()
                        .collect();
                    for c in &add.connectors {
                        if !cs.contains(c) {
                            cs.push(c.clone());
                        }
                    }
                    let mut ts: Vec<ConnectorTaskId> = cur
                        .tasks
                        .iter()
                        .filter(|c| !rev.tasks.contains(c))
                        .cloned()
                        .collect();
                    for c in &add.tasks {
                        if !ts.contains(c) {
                            ts.push(c.clone());
                        }
                    }
                    let _ = write!(
                        line,
                        " {w}[+{}/{} -{}/{} ={}/{}]",
                        add.connectors.len(),
                        add.tasks.len(),
                        rev.connectors.len(),
                        rev.tasks.len(),
                        cs.len(),
                        ts.len()
                    );
                    self.members.insert(
                        w,
                        ConnectorsAndTasks {
                            connectors: cs,
                            tasks: ts,
                        },
                    );
                }
                self.last = self.gen;
                self.out.push_str(&line);
                self.out.push('\n');
            }
            fn reset(&mut self) {
                self.members.clear();
                self.gen = 0;
                self.last = -1;
            }
            fn add(&mut self, w: &str) {
                self.members.insert(w.into(), ConnectorsAndTasks::default());
            }
        }
        let mut h = H {
            members: BTreeMap::new(),
            gen: 0,
            last: -1,
            out: String::new(),
        };
        let mut a = IncrementalCooperativeAssignor::new(300000);
        let s = ConfigSnapshot::new(1).with_connector("c", 12);
        h.reset();
        h.add("w1");
        h.round(&mut a, &s, 0, "S1.1");
        h.add("w2");
        h.round(&mut a, &s, 100, "S1.2");
        h.add("w3");
        h.round(&mut a, &s, 200, "S1.3");
        h.round(&mut a, &s, 240, "S1.4");
        h.round(&mut a, &s, 250, "S1.5");
        let mut a = IncrementalCooperativeAssignor::new(300000);
        let s = ConfigSnapshot::new(3)
            .with_connector("a", 2)
            .with_connector("b", 2)
            .with_connector("c", 2);
        h.reset();
        h.add("w1");
        h.add("w2");
        h.add("w3");
        h.round(&mut a, &s, 0, "S2.1");
        h.members.remove("w3");
        h.round(&mut a, &s, 10000, "S2.2");
        h.round(&mut a, &s, 110000, "S2.3");
        h.round(&mut a, &s, 310000, "S2.4");
        let mut a = IncrementalCooperativeAssignor::new(300000);
        let s = ConfigSnapshot::new(1).with_connector("c", 4);
        h.reset();
        h.add("w1");
        h.round(&mut a, &s, 0, "S3.1");
        let before = h.members.clone();
        h.add("w2");
        h.round(&mut a, &s, 1, "S3.2");
        h.members = before;
        h.add("w2");
        h.round(&mut a, &s, 2, "S3.3");
        h.round(&mut a, &s, 42, "S3.4");
        h.round(&mut a, &s, 43, "S3.5");
        let mut a = IncrementalCooperativeAssignor::new(300000);
        let s = ConfigSnapshot::new(3)
            .with_connector("a", 2)
            .with_connector("b", 2);
        h.reset();
        h.add("w1");
        h.add("w2");
        h.round(&mut a, &s, 0, "S4.1");
        h.members.remove("w2");
        h.round(&mut a, &s, 1000, "S4.2");
        h.add("w2-bis");
        h.round(&mut a, &s, 2000, "S4.3");
        h.round(&mut a, &s, 301000, "S4.4");
        let mut a = IncrementalCooperativeAssignor::new(0);
        let s = ConfigSnapshot::new(7)
            .with_connector("a", 5)
            .with_connector("b", 3)
            .with_connector("c", 1)
            .with_connector("d", 0);
        h.reset();
        h.add("w1");
        h.round(&mut a, &s, 1, "S5.1");
        h.add("w2");
        h.add("w3");
        h.round(&mut a, &s, 2, "S5.2");
        h.round(&mut a, &s, 3, "S5.3");
        h.add("w4");
        h.round(&mut a, &s, 4, "S5.4");
        h.round(&mut a, &s, 5, "S5.5");
        h.round(&mut a, &s, 6, "S5.6");
        h.members.remove("w1");
        h.round(&mut a, &s, 7, "S5.7");
        h.round(&mut a, &s, 8, "S5.8");
        assert_eq!(h.out, KAFKA_ROUNDS);
    }
}
