//! The `connect` group member against a real Kafka broker
//! (`deploy/local/up.sh`; `FERRY_TEST_BOOTSTRAP` overrides 127.0.0.1:9092).
//!
//! Each test runs a few members in one group of its own. Every member runs
//! in a task that behaves like the distributed herder: join, then rejoin
//! when the heartbeat reports a rebalance, right away after revocations, or
//! after the assignment's delay. The tests watch the join results.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_group::{
    ConfigSnapshot, ConnectAssignor, ConnectProtocol, ConnectorTaskId, GroupConfig, GroupMember,
    GroupSettings, JoinResult, RebalanceReason, SecurityConfig,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(60);

fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn unique_group(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "ferry-group-test-{name}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

fn config(group: &str, protocol: ConnectProtocol) -> GroupConfig {
    let settings = GroupSettings {
        bootstrap_servers: vec![bootstrap()],
        group_id: group.into(),
        client_id: None,
        protocol,
        // Fast heartbeats so rebalances are noticed quickly; the session
        // timeout stays within the broker's default bounds (6 s .. 30 min).
        heartbeat_interval: Duration::from_millis(250),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(40),
        connect_timeout: Duration::from_secs(10),
        retry_backoff: Duration::from_millis(100),
    };
    let mut c = GroupConfig::new(settings, SecurityConfig::default()).expect("valid settings");
    c.join_timeout = Duration::from_secs(45);
    c
}

fn snapshot(offset: i64, connectors: &[(&str, u32)]) -> ConfigSnapshot {
    connectors
        .iter()
        .fold(ConfigSnapshot::new(offset), |s, (name, tasks)| {
            s.with_connector(*name, *tasks)
        })
}

/// What a worker task saw.
#[derive(Debug, Default)]
struct Observed {
    results: Vec<JoinResult>,
    /// Why each join in `results` happened (None: first join or scheduled).
    reasons: Vec<Option<RebalanceReason>>,
    errors: Vec<String>,
    left: bool,
}

enum Command {
    Leave,
}

struct Worker {
    name: String,
    url: String,
    observed: Arc<Mutex<Observed>>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl Worker {
    fn spawn(
        name: &str,
        group: &str,
        protocol: ConnectProtocol,
        snapshot: ConfigSnapshot,
        max_delay_ms: i32,
    ) -> Self {
        let url = format!("http://{name}.test:8083/");
        let observed = Arc::new(Mutex::new(Observed::default()));
        let (commands, rx) = mpsc::unbounded_channel();
        let offset = snapshot.offset;
        let assignor = ConnectAssignor::new(max_delay_ms, move || snapshot.clone());
        let mut cfg = config(group, protocol);
        cfg.client_id = format!("{group}-{name}");
        let member = GroupMember::new(cfg);
        let task = tokio::spawn(run_worker(
            member,
            assignor,
            url.clone(),
            offset,
            Arc::clone(&observed),
            rx,
        ));
        Worker {
            name: name.to_string(),
            url,
            observed,
            commands,
            task,
        }
    }

    fn latest(&self) -> Option<JoinResult> {
        self.observed
            .lock()
            .expect("observed")
            .results
            .last()
            .cloned()
    }

    fn results(&self) -> Vec<JoinResult> {
        self.observed.lock().expect("observed").results.clone()
    }

    fn has_left(&self) -> bool {
        self.observed.lock().expect("observed").left
    }

    fn leave(&self) {
        // The task may already be gone if it failed; the test then fails on
        // its own checks with the recorded errors.
        let _ = self.commands.send(Command::Leave);
    }

    async fn stop(self) {
        self.leave();
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
    }

    fn describe(&self) -> String {
        let o = self.observed.lock().expect("observed");
        let last = o.results.last().map(|r| {
            format!(
                "gen {} leader={} protocol={} delay={} revoked={} current={:?}/{:?}",
                r.generation_id,
                r.is_leader,
                r.protocol.name(),
                r.assignment.delay_ms,
                r.assignment.has_revocations(),
                r.current.connectors,
                r.current.tasks
            )
        });
        format!(
            "{}: {} joins, last {:?}, errors {:?}",
            self.name,
            o.results.len(),
            last,
            o.errors
        )
    }
}

/// The herder's loop around the member, as far as the group is concerned.
async fn run_worker(
    mut member: GroupMember,
    assignor: ConnectAssignor,
    url: String,
    offset: i64,
    observed: Arc<Mutex<Observed>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut reason: Option<RebalanceReason> = None;
    loop {
        let metadata = member.metadata(url.clone(), offset);
        let result = match member.join(metadata, &assignor).await {
            Ok(r) => r,
            Err(e) => {
                let retriable = e.is_retriable();
                observed
                    .lock()
                    .expect("observed")
                    .errors
                    .push(e.to_string());
                if retriable {
                    continue;
                }
                return;
            }
        };
        // §3.5: revocations (or a failed assignment) mean rejoin at once; a
        // delay means rejoin when it expires.
        let rejoin_now = result.assignment.failed()
            || (result.protocol.is_incremental() && result.assignment.has_revocations());
        let delay = Duration::from_millis(u64::try_from(result.assignment.delay_ms).unwrap_or(0));
        {
            let mut o = observed.lock().expect("observed");
            o.results.push(result);
            o.reasons.push(reason.take());
        }
        if rejoin_now {
            continue;
        }
        let scheduled = async {
            if delay.is_zero() {
                std::future::pending::<()>().await;
            } else {
                tokio::time::sleep(delay).await;
            }
        };
        let leave = tokio::select! {
            _ = member.rebalance_needed_notified() => false,
            _ = scheduled => false,
            _ = commands.recv() => true,
        };
        if leave {
            member.leave().await;
            observed.lock().expect("observed").left = true;
            return;
        }
        reason = member.rebalance_reason();
    }
}

/// Polls `check` until it returns `Some`, failing with the workers' state
/// after `timeout`.
async fn wait_until<T>(
    what: &str,
    workers: &[&Worker],
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() >= deadline {
            let state: Vec<String> = workers.iter().map(|w| w.describe()).collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}:\n{}",
                state.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The workers' latest results if they completed the same generation with
/// all of them in it, every configured connector and task runs exactly once,
/// and nobody is about to rejoin.
fn stable(workers: &[&Worker], snapshot: &ConfigSnapshot) -> Option<Vec<JoinResult>> {
    let latest: Vec<JoinResult> = workers.iter().map(|w| w.latest()).collect::<Option<_>>()?;
    let generation = latest[0].generation_id;
    if latest.iter().any(|r| r.generation_id != generation) {
        return None;
    }
    let leader = latest.iter().find(|r| r.is_leader)?;
    if leader.members.len() != workers.len() {
        return None;
    }
    if latest.iter().any(|r| {
        r.assignment.failed() || r.assignment.has_revocations() || r.assignment.delay_ms > 0
    }) {
        return None;
    }
    let mut connectors: Vec<String> = latest
        .iter()
        .flat_map(|r| r.current.connectors.clone())
        .collect();
    let mut tasks: Vec<ConnectorTaskId> = latest
        .iter()
        .flat_map(|r| r.current.tasks.clone())
        .collect();
    connectors.sort();
    tasks.sort();
    let expected_connectors: Vec<String> = snapshot.connectors.keys().cloned().collect();
    let expected_tasks: Vec<ConnectorTaskId> = snapshot.task_ids().into_iter().collect();
    (connectors == expected_connectors && tasks == expected_tasks).then_some(latest)
}

fn assert_balanced(results: &[JoinResult]) {
    let c: Vec<usize> = results.iter().map(|r| r.current.connectors.len()).collect();
    let t: Vec<usize> = results.iter().map(|r| r.current.tasks.len()).collect();
    let spread = |v: &[usize]| v.iter().max().unwrap_or(&0) - v.iter().min().unwrap_or(&0);
    assert!(spread(&c) <= 1, "connector loads {c:?}");
    assert!(spread(&t) <= 1, "task loads {t:?}");
}

/// Exactly one leader, everyone agrees on it, and the leader saw every
/// member's metadata.
fn assert_one_leader(workers: &[&Worker], results: &[JoinResult], offset: i64) {
    let leaders: Vec<&JoinResult> = results.iter().filter(|r| r.is_leader).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader");
    let leader = leaders[0];
    assert_eq!(leader.leader_id, leader.member_id);
    let member_ids: BTreeSet<&String> = results.iter().map(|r| &r.member_id).collect();
    assert_eq!(member_ids.len(), results.len(), "distinct member ids");
    let leader_url = &leader.members[&leader.member_id].url;
    for (w, r) in workers.iter().zip(results) {
        assert_eq!(
            r.leader_id, leader.member_id,
            "{} agrees on the leader",
            w.name
        );
        let seen = leader
            .members
            .get(&r.member_id)
            .expect("leader saw every member");
        assert_eq!(seen.url, w.url);
        assert_eq!(seen.config_offset, offset);
        assert_eq!(&r.assignment.leader_url, leader_url);
        assert_eq!(r.assignment.leader, leader.member_id);
        assert_eq!(r.assignment.config_offset, offset);
        assert!(
            r.members.is_empty() || r.is_leader,
            "only the leader gets member metadata"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_with_one_leader_and_share_the_work() {
    let group = unique_group("two");
    let snap = snapshot(7, &[("alpha", 3), ("beta", 3)]);
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let b = Worker::spawn(
        "b",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let workers = [&a, &b];
    let results = wait_until("a stable two-member generation", &workers, WAIT, || {
        stable(&workers, &snap)
    })
    .await;

    assert!(results
        .iter()
        .all(|r| r.protocol == ConnectProtocol::Sessioned));
    assert!(results.iter().all(|r| r.assignment.version == 2));
    assert_one_leader(&workers, &results, 7);
    assert_balanced(&results);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_join_concurrently() {
    let group = unique_group("three");
    let snap = snapshot(12, &[("c1", 4), ("c2", 2), ("c3", 1)]);
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let b = Worker::spawn(
        "b",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let c = Worker::spawn(
        "c",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let workers = [&a, &b, &c];
    let results = wait_until("a stable three-member generation", &workers, WAIT, || {
        stable(&workers, &snap)
    })
    .await;

    assert_one_leader(&workers, &results, 12);
    assert_balanced(&results);
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_member_gets_a_share_through_revocation_and_a_second_round() {
    let group = unique_group("grow");
    let snap = snapshot(3, &[("x", 4), ("y", 4)]);
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let alone = wait_until("the first member alone", &[&a], WAIT, || {
        stable(&[&a], &snap)
    })
    .await;
    assert_eq!(
        alone[0].current.connectors.len() + alone[0].current.tasks.len(),
        10
    );

    let b = Worker::spawn(
        "b",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let workers = [&a, &b];
    let results = wait_until("the work shared by two members", &workers, WAIT, || {
        stable(&workers, &snap)
    })
    .await;
    assert_balanced(&results);
    assert_one_leader(&workers, &results, 3);
    // The first member gave work up through an explicit revocation...
    let revoked = a
        .results()
        .into_iter()
        .find(|r| r.assignment.has_revocations());
    let revoked = revoked.expect("the first member saw revocations");
    assert_eq!(revoked.assignment.revoked_connectors.len(), 1);
    assert_eq!(revoked.assignment.revoked_tasks.len(), 4);
    // The leader saw the first member's running work as its allocation
    // (v2 metadata), which is what the incremental assignor works from.
    let leader = results.iter().find(|r| r.is_leader).expect("leader");
    let a_id = &results[0].member_id;
    let seen = leader.members[a_id]
        .allocation
        .as_ref()
        .expect("allocation of the first member");
    assert_eq!(seen.connectors.len() + seen.tasks.len(), 5);
    // ...and noticed the newcomer through its heartbeat.
    let reasons = a.observed.lock().expect("observed").reasons.clone();
    assert!(
        reasons.contains(&Some(RebalanceReason::RebalanceInProgress)),
        "{reasons:?}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_member_triggers_a_rebalance_and_its_work_moves() {
    let group = unique_group("leave");
    let snap = snapshot(5, &[("p", 3), ("q", 3)]);
    // No scheduled delay: lost work is reassigned in the next round.
    let a = Worker::spawn("a", &group, ConnectProtocol::Sessioned, snap.clone(), 0);
    let b = Worker::spawn("b", &group, ConnectProtocol::Sessioned, snap.clone(), 0);
    let c = Worker::spawn("c", &group, ConnectProtocol::Sessioned, snap.clone(), 0);
    let all = [&a, &b, &c];
    let before = wait_until("three members", &all, WAIT, || stable(&all, &snap)).await;
    let generation = before[0].generation_id;

    // A follower leaves, so the leader's memory sees its work as lost.
    let (leaver, stay): (&Worker, Vec<&Worker>) = {
        let idx = before
            .iter()
            .position(|r| !r.is_leader)
            .expect("a follower");
        let rest = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .map(|(_, w)| *w)
            .collect();
        (all[idx], rest)
    };
    leaver.leave();
    wait_until("the member to leave", &all, WAIT, || {
        leaver.has_left().then_some(())
    })
    .await;
    let after = wait_until(
        "the two remaining members to take over",
        &stay,
        WAIT,
        || stable(&stay, &snap).filter(|r| r[0].generation_id > generation),
    )
    .await;
    assert_balanced(&after);
    assert_one_leader(&stay, &after, 5);
    for w in &stay {
        let o = w.observed.lock().expect("observed");
        let rejoined_on_heartbeat = o.results.iter().zip(&o.reasons).any(|(r, why)| {
            r.generation_id > generation && why == &Some(RebalanceReason::RebalanceInProgress)
        });
        assert!(
            rejoined_on_heartbeat,
            "{} noticed the rebalance via heartbeat",
            w.name
        );
    }
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_work_is_held_for_the_scheduled_delay_then_reassigned() {
    let group = unique_group("delay");
    let snap = snapshot(9, &[("m", 2), ("n", 2)]);
    let delay_ms = 3_000;
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        delay_ms,
    );
    let b = Worker::spawn(
        "b",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        delay_ms,
    );
    let both = [&a, &b];
    let before = wait_until("two members", &both, WAIT, || stable(&both, &snap)).await;
    let (leader, follower) = if before[0].is_leader {
        (&a, &b)
    } else {
        (&b, &a)
    };

    follower.leave();
    // The leader rejoins alone and is told to come back after the delay,
    // without getting the departed member's work yet.
    let held = wait_until("a delayed assignment", &both, WAIT, || {
        leader.latest().filter(|r| r.assignment.delay_ms > 0)
    })
    .await;
    let held_at = Instant::now();
    assert!(held.assignment.delay_ms <= delay_ms);
    let running = held.current.connectors.len() + held.current.tasks.len();
    assert!(
        running < 6,
        "lost work not reassigned during the delay ({running} running)"
    );

    let after = wait_until("the lost work after the delay", &[leader], WAIT, || {
        stable(&[leader], &snap)
    })
    .await;
    assert!(
        held_at.elapsed()
            >= Duration::from_millis(u64::try_from(held.assignment.delay_ms).unwrap_or(0)) / 2,
        "reassigned only once the delay ran out"
    );
    assert_eq!(
        after[0].current.connectors.len() + after[0].current.tasks.len(),
        6
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_is_compatible_when_one_member_does_not_offer_sessioned() {
    let group = unique_group("compat");
    let snap = snapshot(2, &[("k", 2)]);
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let b = Worker::spawn(
        "b",
        &group,
        ConnectProtocol::Compatible,
        snap.clone(),
        300_000,
    );
    let workers = [&a, &b];
    let results = wait_until("a compatible generation", &workers, WAIT, || {
        stable(&workers, &snap)
            .filter(|r| r.iter().all(|x| x.protocol == ConnectProtocol::Compatible))
    })
    .await;
    assert!(results.iter().all(|r| r.assignment.version == 1));
    assert!(!results[0].protocol.signs_requests());
    assert_one_leader(&workers, &results, 2);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_is_default_with_an_eager_member_and_assignments_are_complete() {
    let group = unique_group("eager");
    let snap = snapshot(4, &[("e1", 2), ("e2", 1)]);
    let a = Worker::spawn(
        "a",
        &group,
        ConnectProtocol::Sessioned,
        snap.clone(),
        300_000,
    );
    let b = Worker::spawn("b", &group, ConnectProtocol::Eager, snap.clone(), 300_000);
    let workers = [&a, &b];
    let results = wait_until("an eager generation", &workers, WAIT, || {
        stable(&workers, &snap).filter(|r| r.iter().all(|x| x.protocol == ConnectProtocol::Eager))
    })
    .await;
    for r in &results {
        assert_eq!(r.assignment.version, 0);
        // Eager assignments are complete, not incremental.
        assert_eq!(r.current, r.assignment);
    }
    assert_one_leader(&workers, &results, 4);
    assert_balanced(&results);
    a.stop().await;
    b.stop().await;
}

// ---------------------------------------------------------------------------
// Mixed group with the reference Java worker.

/// Runs `deploy/local/connect.sh ARGS...` and fails the test if it fails.
fn connect_sh(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/local/connect.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .status()
        .expect("run deploy/local/connect.sh");
    assert!(status.success(), "connect.sh {args:?} failed");
}

fn http_get(url: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "3", url])
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The items (`-1` = the connector, else task ids) that the status API shows
/// RUNNING on `worker_id`. Minimal JSON reading: the status body is flat
/// objects without nested braces unless a trace is present.
fn running_on(status: &str, worker_id: &str) -> BTreeSet<i32> {
    let mut items = BTreeSet::new();
    let running = "\"state\":\"RUNNING\"";
    let worker = format!("\"worker_id\":\"{worker_id}\"");
    if let Some(start) = status.find("\"connector\":{") {
        let obj = &status[start..];
        let obj = &obj[..obj.find('}').unwrap_or(obj.len())];
        if obj.contains(running) && obj.contains(&worker) {
            items.insert(-1);
        }
    }
    if let Some(start) = status.find("\"tasks\":[") {
        for obj in status[start..].split('{').skip(1) {
            let obj = &obj[..obj.find('}').unwrap_or(obj.len())];
            let id = obj
                .split("\"id\":")
                .nth(1)
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|s| s.parse::<i32>().ok());
            if let (Some(id), true) = (id, obj.contains(running) && obj.contains(&worker)) {
                items.insert(id);
            }
        }
    }
    items
}

fn config_topic_end(topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("consumer");
    let (_, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("config topic watermarks");
    high
}

/// A Java Kafka Connect worker and a Ferry member in one group: Ferry applies
/// the Java leader's assignment, and the Java worker runs what the Ferry
/// leader assigns it. Needs a JVM and the Kafka jars of deploy/local.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_worker_and_ferry_member_share_a_group() {
    let group = unique_group("java");
    let dir = std::env::temp_dir().join(&group);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let worker_props = dir.join("worker.properties");
    let configs = format!("{group}-configs");
    std::fs::write(
        &worker_props,
        format!(
            "bootstrap.servers={}\ngroup.id={group}\nconfig.storage.topic={configs}\n\
             offset.storage.topic={group}-offsets\nstatus.storage.topic={group}-status\n\
             config.storage.replication.factor=1\noffset.storage.replication.factor=1\n\
             status.storage.replication.factor=1\n\
             key.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             listeners=http://127.0.0.1:{port}\nheartbeat.interval.ms=500\n\
             scheduled.rebalance.max.delay.ms=0\n",
            bootstrap()
        ),
    )
    .expect("worker props");
    let connector = format!("{group}-sink");
    let connector_props = dir.join("sink.properties");
    std::fs::write(
        &connector_props,
        format!(
            "name={connector}\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n\
             tasks.max=2\ntopics={group}-in\nfile={}\n",
            dir.join("sink.txt").display()
        ),
    )
    .expect("connector props");
    let props = worker_props.to_str().expect("utf-8 path");
    let java_worker = format!("127.0.0.1:{port}");
    let status_url = format!("http://127.0.0.1:{port}/connectors/{connector}/status");

    // 1. Java alone runs the connector and both tasks.
    connect_sh(&[
        "start",
        props,
        connector_props.to_str().expect("utf-8 path"),
    ]);
    let offset = config_topic_end(&configs);
    let snap = ConfigSnapshot::new(offset).with_connector(connector.clone(), 2);

    // 2. Ferry joins; the Java leader hands it a share.
    let ferry = Worker::spawn("ferry", &group, ConnectProtocol::Sessioned, snap.clone(), 0);
    let got = wait_until("work from the Java leader", &[&ferry], WAIT, || {
        ferry.latest().filter(|r| {
            !r.is_leader
                && !r.current.tasks.is_empty()
                && !r.assignment.has_revocations()
                && r.assignment.delay_ms == 0
        })
    })
    .await;
    assert_eq!(got.protocol, ConnectProtocol::Sessioned);
    assert_eq!(
        got.assignment.leader_url,
        format!("http://127.0.0.1:{port}/")
    );
    assert_eq!(got.assignment.config_offset, offset);
    assert_eq!(got.current.connectors.len() + got.current.tasks.len(), 1);

    // 3. Java stops; Ferry leads alone and takes everything.
    connect_sh(&["stop", props]);
    wait_until("Ferry leading alone", &[&ferry], WAIT, || {
        stable(&[&ferry], &snap).filter(|r| r[0].is_leader)
    })
    .await;

    // 4. Java comes back as a follower and runs what the Ferry leader gives it.
    connect_sh(&["start", props]);
    let all: BTreeSet<i32> = [-1, 0, 1].into_iter().collect();
    wait_until(
        "the Java worker running its share",
        &[&ferry],
        Duration::from_secs(120),
        || {
            let r = ferry
                .latest()
                .filter(|r| r.is_leader && !r.assignment.has_revocations())?;
            let mine: BTreeSet<i32> = r
                .current
                .connectors
                .iter()
                .map(|_| -1)
                .chain(r.current.tasks.iter().map(|t| t.task))
                .collect();
            let java = running_on(&http_get(&status_url), &java_worker);
            let disjoint_cover =
                !java.is_empty() && mine.is_disjoint(&java) && &mine | &java == all;
            disjoint_cover.then_some(())
        },
    )
    .await;

    connect_sh(&["stop", props]);
    ferry.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
