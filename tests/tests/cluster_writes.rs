//! Two hundred writes back to back through random workers of a three-worker
//! cluster, each a single request with no retry on the client's side:
//! create, config update, pause, resume, restart with and without its
//! tasks, task restart, delete. On Ferry every one must succeed, with the
//! answer Kafka Connect gives. The same sequence (seeded; `FERRY_TEST_SEED`
//! plays another) then runs against three Apache Kafka Connect 4.3.1
//! workers, the reference, and both are printed side by side.
//!
//! Afterwards every remaining connector must show its state through every
//! worker, and a task turning FAILED, then restarted, must show so on every
//! worker within a second or two.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_tests::cluster::Cluster;
use ferry_tests::kafka_connect::KafkaConnectCluster;
use ferry_tests::*;
use serde_json::{json, Value};

const WORKERS: usize = 3;
const WRITES: usize = 200;
const SEED: u64 = 20_240_611;
/// Creates stop at this many connectors; below the minimum only creates.
const MAX_LIVE: usize = 12;
const MIN_LIVE: usize = 3;
const SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const SINK: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
/// How long a restart may wait for its connector or task to have started
/// (a restart of work that does not exist yet is not a valid request).
const STARTED: Duration = Duration::from_secs(60);
/// How long the cluster may take to show the final states everywhere, and
/// how long Ferry may take.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
const FERRY_SETTLES_IN: Duration = Duration::from_secs(10);
/// Writes slower than this are listed (the slowest few).
const SLOW: Duration = Duration::from_secs(1);
/// A task's state changes show through every worker's REST API this fast.
const VISIBLE: Duration = Duration::from_secs(2);

/// splitmix64: the same sequence on every machine, in a few lines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick(&mut self, from: &[usize]) -> Option<usize> {
        (!from.is_empty()).then(|| from[self.below(from.len())])
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Source,
    Sink,
}

/// A connector's config, as far as the sequence varies it.
#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    tasks: usize,
    batch: usize,
}

impl Spec {
    fn random(rng: &mut Rng, kind: Kind) -> Spec {
        Spec {
            kind,
            // FileStreamSource makes one task whatever tasks.max says.
            tasks: match kind {
                Kind::Source => 1,
                Kind::Sink => 1 + rng.below(3),
            },
            batch: [100, 500, 1000, 2000][rng.below(4)],
        }
    }

    fn config(&self, dir: &Path, name: &str, topic: &str) -> Value {
        match self.kind {
            Kind::Source => json!({
                "connector.class": SOURCE,
                "tasks.max": "1",
                "file": dir.join(format!("{name}.in")).to_string_lossy(),
                "topic": topic,
                "batch.size": self.batch.to_string(),
            }),
            Kind::Sink => json!({
                "connector.class": SINK,
                "tasks.max": self.tasks.to_string(),
                "file": dir.join(format!("{name}.out")).to_string_lossy(),
                "topics": topic,
            }),
        }
    }
}

#[derive(Clone, Debug)]
enum Action {
    Create(Spec),
    Update(Spec),
    Pause,
    Resume,
    Restart { with_tasks: bool },
    RestartTask(usize),
    Delete,
}

impl Action {
    fn label(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Update(_) => "config update",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Restart { with_tasks: false } => "restart",
            Action::Restart { with_tasks: true } => "restart with tasks",
            Action::RestartTask(_) => "task restart",
            Action::Delete => "delete",
        }
    }

    /// Kafka Connect's answer.
    fn expected_code(&self) -> u16 {
        match self {
            Action::Create(_) => 201,
            Action::Update(_) => 200,
            Action::Pause | Action::Resume | Action::Restart { with_tasks: true } => 202,
            Action::Restart { with_tasks: false } | Action::RestartTask(_) | Action::Delete => 204,
        }
    }
}

const LABELS: [&str; 8] = [
    "create",
    "config update",
    "pause",
    "resume",
    "restart",
    "restart with tasks",
    "task restart",
    "delete",
];

struct Write {
    via: usize,
    connector: usize,
    action: Action,
}

/// What the cluster should show for a connector after the writes so far.
#[derive(Clone, Debug)]
struct Expected {
    spec: Spec,
    paused: bool,
}

impl Expected {
    fn state(&self) -> &'static str {
        if self.paused {
            "PAUSED"
        } else {
            "RUNNING"
        }
    }
}

/// The writes for `seed`, each valid given the ones before it, and the
/// connectors they leave.
fn plan(seed: u64) -> (Vec<Write>, BTreeMap<usize, Expected>) {
    let mut rng = Rng(seed);
    let mut live: BTreeMap<usize, Expected> = BTreeMap::new();
    let mut writes = Vec::with_capacity(WRITES);
    let mut next_id = 0;
    while writes.len() < WRITES {
        let via = rng.below(WORKERS);
        let roll = rng.below(100);
        let all: Vec<usize> = live.keys().copied().collect();
        let with = |paused: bool| -> Vec<usize> {
            all.iter()
                .copied()
                .filter(|c| live[c].paused == paused)
                .collect()
        };
        let (running, paused) = (with(false), with(true));
        let chosen = if live.len() < MIN_LIVE || (roll < 20 && live.len() < MAX_LIVE) {
            let kind = if rng.below(5) < 3 {
                Kind::Source
            } else {
                Kind::Sink
            };
            next_id += 1;
            Some((next_id - 1, Action::Create(Spec::random(&mut rng, kind))))
        } else {
            match roll {
                0..=34 => rng.pick(&all).map(|c| {
                    let spec = Spec::random(&mut rng, live[&c].spec.kind);
                    (c, Action::Update(spec))
                }),
                35..=46 => rng.pick(&running).map(|c| (c, Action::Pause)),
                47..=56 => rng.pick(&paused).map(|c| (c, Action::Resume)),
                57..=64 => rng
                    .pick(&all)
                    .map(|c| (c, Action::Restart { with_tasks: false })),
                65..=72 => rng
                    .pick(&all)
                    .map(|c| (c, Action::Restart { with_tasks: true })),
                73..=88 => rng.pick(&all).map(|c| {
                    let task = rng.below(live[&c].spec.tasks);
                    (c, Action::RestartTask(task))
                }),
                _ => (live.len() > MIN_LIVE)
                    .then(|| rng.pick(&all))
                    .flatten()
                    .map(|c| (c, Action::Delete)),
            }
        };
        let Some((connector, action)) = chosen else {
            continue;
        };
        match &action {
            Action::Create(spec) => {
                live.insert(
                    connector,
                    Expected {
                        spec: spec.clone(),
                        paused: false,
                    },
                );
            }
            Action::Update(spec) => {
                if let Some(e) = live.get_mut(&connector) {
                    e.spec = spec.clone();
                }
            }
            Action::Pause | Action::Resume => {
                if let Some(e) = live.get_mut(&connector) {
                    e.paused = matches!(action, Action::Pause);
                }
            }
            Action::Delete => {
                live.remove(&connector);
            }
            Action::Restart { .. } | Action::RestartTask(_) => {}
        }
        writes.push(Write {
            via,
            connector,
            action,
        });
    }
    (writes, live)
}

/// One HTTP client (kept-alive connections) over a cluster's workers.
struct Api {
    client: reqwest::blocking::Client,
    urls: Vec<String>,
}

impl Api {
    fn new(urls: Vec<String>) -> Api {
        Api {
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("http client"),
            urls,
        }
    }

    /// One request; `None` when nothing answered.
    fn send(
        &self,
        via: usize,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<(u16, String)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).ok()?;
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.urls[via]));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().ok()?;
        let code = resp.status().as_u16();
        Some((code, resp.text().unwrap_or_default()))
    }

    /// A 200 answer's JSON body.
    fn get(&self, via: usize, path: &str) -> Option<Value> {
        let (code, text) = self.send(via, "GET", path, None)?;
        (code == 200)
            .then(|| serde_json::from_str(&text).ok())
            .flatten()
    }
}

fn started(state: &Value) -> bool {
    state == "RUNNING" || state == "PAUSED"
}

struct Answer {
    index: usize,
    /// When it was sent, to find it in the workers' logs.
    at: SystemTime,
    via: usize,
    label: &'static str,
    request: String,
    expected: u16,
    code: Option<u16>,
    body: String,
    took: Duration,
}

impl Answer {
    fn ok(&self) -> bool {
        self.code == Some(self.expected)
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self
            .code
            .map_or_else(|| "no answer".to_owned(), |c| c.to_string());
        let body: String = self.body.chars().take(300).collect();
        write!(
            f,
            "#{} at {} via worker {}: {} -> {code} (expected {}) after {:?}: {body}",
            self.index,
            utc(self.at),
            self.via,
            self.request,
            self.expected,
            self.took
        )
    }
}

/// What one system did with the sequence.
struct Run {
    system: &'static str,
    answers: Vec<Answer>,
    /// Restarts whose connector or task never showed as started.
    not_started: Vec<String>,
    total: Duration,
    settled: Result<Duration, String>,
    /// From the first worker showing a task FAILED to all showing it.
    failed_everywhere: Result<Duration, String>,
    /// From a task restart's request to every worker showing it RUNNING.
    restart_everywhere: Result<Duration, String>,
}

impl Run {
    fn conflicts(&self) -> usize {
        self.answers.iter().filter(|a| a.code == Some(409)).count()
    }

    fn non_2xx(&self) -> Vec<&Answer> {
        self.answers
            .iter()
            .filter(|a| !a.code.is_some_and(|c| (200..300).contains(&c)))
            .collect()
    }

    fn unexpected(&self) -> Vec<&Answer> {
        self.answers.iter().filter(|a| !a.ok()).collect()
    }

    fn latencies(&self, label: Option<&str>) -> Vec<Duration> {
        let mut l: Vec<Duration> = self
            .answers
            .iter()
            .filter(|a| label.is_none_or(|l| a.label == l))
            .map(|a| a.took)
            .collect();
        l.sort();
        l
    }
}

/// Nearest-rank percentile of sorted durations, in milliseconds.
fn pct(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// Plays the writes against the cluster behind `api`; files live in `dir`,
/// records go to `topic`.
fn play(system: &'static str, api: &Api, dir: &Path, topic: &str, writes: &[Write]) -> Run {
    let prefix = unique("cw");
    let name = |c: usize| format!("{prefix}-{c}");
    let mut answers = Vec::with_capacity(writes.len());
    let mut not_started = Vec::new();
    let mut live: BTreeMap<usize, Expected> = BTreeMap::new();
    let begun = Instant::now();
    for (index, w) in writes.iter().enumerate() {
        let c = name(w.connector);
        let (method, path, body) = match &w.action {
            Action::Create(spec) => {
                if spec.kind == Kind::Source {
                    std::fs::write(dir.join(format!("{c}.in")), "one\ntwo\nthree\n")
                        .expect("source input file");
                }
                let config = spec.config(dir, &c, topic);
                (
                    "POST",
                    "/connectors".to_owned(),
                    Some(json!({"name": c, "config": config})),
                )
            }
            Action::Update(spec) => (
                "PUT",
                format!("/connectors/{c}/config"),
                Some(spec.config(dir, &c, topic)),
            ),
            Action::Pause => ("PUT", format!("/connectors/{c}/pause"), None),
            Action::Resume => ("PUT", format!("/connectors/{c}/resume"), None),
            Action::Restart { with_tasks: false } => {
                ("POST", format!("/connectors/{c}/restart"), None)
            }
            Action::Restart { with_tasks: true } => (
                "POST",
                format!("/connectors/{c}/restart?includeTasks=true&onlyFailed=false"),
                None,
            ),
            Action::RestartTask(t) => ("POST", format!("/connectors/{c}/tasks/{t}/restart"), None),
            Action::Delete => ("DELETE", format!("/connectors/{c}"), None),
        };
        // A restart is of work that has started: wait (reads only) until the
        // worker the request goes to shows it.
        let task = match &w.action {
            Action::RestartTask(t) => Some(*t),
            _ => None,
        };
        if matches!(w.action, Action::Restart { .. } | Action::RestartTask(_)) {
            let shown = poll_until(STARTED, Duration::from_millis(20), || {
                let s = api.get(w.via, &format!("/connectors/{c}/status"))?;
                let task_started = task.is_none_or(|t| {
                    s["tasks"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|x| x["id"] == json!(t) && started(&x["state"]))
                });
                (started(&s["connector"]["state"]) && task_started).then_some(())
            });
            if shown.is_none() {
                not_started.push(format!(
                    "#{index} {} {path}: not shown started within {STARTED:?}: {}",
                    w.action.label(),
                    api.get(w.via, &format!("/connectors/{c}/status"))
                        .unwrap_or_default()
                ));
            }
        }
        let at = SystemTime::now();
        let sent = Instant::now();
        let answer = api.send(w.via, method, &path, body.as_ref());
        let took = sent.elapsed();
        let (code, body) = match answer {
            Some((code, body)) => (Some(code), body),
            None => (None, String::new()),
        };
        answers.push(Answer {
            index,
            at,
            via: w.via,
            label: w.action.label(),
            request: format!("{method} {path}"),
            expected: w.action.expected_code(),
            code,
            body,
            took,
        });
        match &w.action {
            Action::Create(spec) => {
                live.insert(
                    w.connector,
                    Expected {
                        spec: spec.clone(),
                        paused: false,
                    },
                );
            }
            Action::Update(spec) => {
                if let Some(e) = live.get_mut(&w.connector) {
                    e.spec = spec.clone();
                }
            }
            Action::Pause | Action::Resume => {
                if let Some(e) = live.get_mut(&w.connector) {
                    e.paused = matches!(w.action, Action::Pause);
                }
            }
            Action::Delete => {
                live.remove(&w.connector);
            }
            Action::Restart { .. } | Action::RestartTask(_) => {}
        }
    }
    let total = begun.elapsed();
    let expected: BTreeMap<String, Expected> =
        live.into_iter().map(|(c, e)| (name(c), e)).collect();
    let settled = settle(api, &expected);
    let (failed_everywhere, restart_everywhere) = visibility(api, dir, topic, &prefix);
    Run {
        system,
        answers,
        not_started,
        total,
        settled,
        failed_everywhere,
        restart_everywhere,
    }
}

/// What differs between the expected connectors and what worker `via`
/// shows, if anything.
fn mismatch(api: &Api, via: usize, expected: &BTreeMap<String, Expected>) -> Option<String> {
    let listed: Option<Vec<String>> = api
        .get(via, "/connectors")
        .and_then(|v| serde_json::from_value(v).ok());
    let mut listed = listed.unwrap_or_default();
    listed.sort();
    let want: Vec<&String> = expected.keys().collect();
    if listed.iter().collect::<Vec<_>>() != want {
        return Some(format!("worker {via} lists {listed:?}, expected {want:?}"));
    }
    for (name, e) in expected {
        let Some(s) = api.get(via, &format!("/connectors/{name}/status")) else {
            return Some(format!("worker {via}: no status for {name}"));
        };
        let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
        let ok = s["connector"]["state"] == e.state()
            && tasks.len() == e.spec.tasks
            && tasks.iter().all(|t| t["state"] == e.state());
        if !ok {
            return Some(format!(
                "worker {via}: {name} should be {} with {} task(s): {s}",
                e.state(),
                e.spec.tasks
            ));
        }
    }
    None
}

/// How long after the last write every worker shows every connector in
/// its expected state, with its tasks.
fn settle(api: &Api, expected: &BTreeMap<String, Expected>) -> Result<Duration, String> {
    let begun = Instant::now();
    let mut last = String::new();
    poll_until(SETTLE_LIMIT, Duration::from_millis(100), || {
        match (0..api.urls.len()).find_map(|via| mismatch(api, via, expected)) {
            Some(m) => {
                last = m;
                None
            }
            None => Some(begun.elapsed()),
        }
    })
    .ok_or_else(|| format!("not settled after {SETTLE_LIMIT:?}: {last}"))
}

/// A sink task that fails at start (its file's directory is missing): how
/// long from the first worker showing it FAILED to every worker showing
/// it; then, with the directory there, how long from the task restart's
/// request to every worker showing it RUNNING.
fn visibility(
    api: &Api,
    dir: &Path,
    topic: &str,
    prefix: &str,
) -> (Result<Duration, String>, Result<Duration, String>) {
    let name = format!("{prefix}-failing");
    let missing = dir.join(format!("{prefix}-missing"));
    let config = json!({
        "connector.class": SINK,
        "tasks.max": "1",
        "file": missing.join("out.txt").to_string_lossy(),
        "topics": topic,
    });
    let created = api.send(
        0,
        "POST",
        "/connectors",
        Some(&json!({"name": name, "config": config})),
    );
    if created.as_ref().map(|(c, _)| *c) != Some(201) {
        let e = format!("creating {name}: {created:?}");
        return (Err(e.clone()), Err(e));
    }
    let task_path = format!("/connectors/{name}/tasks/0/status");
    let everywhere = |state: &str| {
        let mut seen: Vec<Option<Instant>> = vec![None; api.urls.len()];
        poll_until(Duration::from_secs(60), Duration::from_millis(5), || {
            for (via, s) in seen.iter_mut().enumerate() {
                if s.is_none()
                    && api
                        .get(via, &task_path)
                        .is_some_and(|t| t["state"] == state)
                {
                    *s = Some(Instant::now());
                }
            }
            let at: Option<Vec<Instant>> = seen.iter().copied().collect();
            at.map(|at| {
                (
                    *at.iter().min().expect("workers"),
                    *at.iter().max().expect("workers"),
                )
            })
        })
        .ok_or_else(|| format!("{name} task 0 not {state} on every worker within 60 s"))
    };
    let failed = everywhere("FAILED").map(|(first, last)| last - first);
    if failed.is_err() {
        return (failed.clone(), failed);
    }
    std::fs::create_dir_all(&missing).expect("sink directory");
    let sent = Instant::now();
    let restarted = api.send(
        1,
        "POST",
        &format!("/connectors/{name}/tasks/0/restart"),
        None,
    );
    let restart = if restarted.as_ref().map(|(c, _)| *c) == Some(204) {
        everywhere("RUNNING").map(|(_, last)| last - sent)
    } else {
        Err(format!("restarting {name} task 0: {restarted:?}"))
    };
    (failed, restart)
}

/// Time of day in UTC, as the workers' logs print it.
fn utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

fn ms(d: &Result<Duration, String>) -> String {
    d.as_ref().map_or_else(
        |_| "failed".to_owned(),
        |d| format!("{:.0}", d.as_secs_f64() * 1000.0),
    )
}

fn report(seed: u64, ferry: &Run, connect: &Run) {
    println!(
        "{WRITES} writes back to back through random workers of {WORKERS}, no retry, seed {seed}"
    );
    println!(
        "409 answers: {} {}, {} {}",
        ferry.system,
        ferry.conflicts(),
        connect.system,
        connect.conflicts()
    );
    let (fl, cl) = (ferry.latencies(None), connect.latencies(None));
    println!(
        "write latency p50/p99/max, ms: {} {:.0}/{:.0}/{:.0}, {} {:.0}/{:.0}/{:.0}",
        ferry.system,
        pct(&fl, 50),
        pct(&fl, 99),
        pct(&fl, 100),
        connect.system,
        pct(&cl, 50),
        pct(&cl, 99),
        pct(&cl, 100),
    );
    let w = 30;
    println!("{:<w$}{:>16}{:>16}", "", ferry.system, connect.system);
    let row = |label: &str, f: String, c: String| println!("{label:<w$}{f:>16}{c:>16}");
    row(
        "409 answers",
        ferry.conflicts().to_string(),
        connect.conflicts().to_string(),
    );
    row(
        "non-2xx answers",
        ferry.non_2xx().len().to_string(),
        connect.non_2xx().len().to_string(),
    );
    row(
        "not the expected answer",
        ferry.unexpected().len().to_string(),
        connect.unexpected().len().to_string(),
    );
    row(
        "restarts of work not started",
        ferry.not_started.len().to_string(),
        connect.not_started.len().to_string(),
    );
    for p in [50, 99] {
        row(
            &format!("write latency p{p}, ms"),
            format!("{:.0}", pct(&fl, p)),
            format!("{:.0}", pct(&cl, p)),
        );
    }
    row(
        "write latency max, ms",
        format!("{:.0}", pct(&fl, 100)),
        format!("{:.0}", pct(&cl, 100)),
    );
    row(
        "all writes (with restarts' waits), s",
        format!("{:.1}", ferry.total.as_secs_f64()),
        format!("{:.1}", connect.total.as_secs_f64()),
    );
    row(
        "final states on every worker, ms",
        ms(&ferry.settled),
        ms(&connect.settled),
    );
    row(
        "FAILED first -> every worker, ms",
        ms(&ferry.failed_everywhere),
        ms(&connect.failed_everywhere),
    );
    row(
        "task restart -> RUNNING everywhere, ms",
        ms(&ferry.restart_everywhere),
        ms(&connect.restart_everywhere),
    );
    println!("per write, count and p50/max ms (non-2xx):");
    for label in LABELS {
        let (f, c) = (ferry.latencies(Some(label)), connect.latencies(Some(label)));
        let bad = |r: &Run| r.non_2xx().iter().filter(|a| a.label == label).count();
        row(
            &format!("  {label} ({})", f.len()),
            format!("{:.0}/{:.0} ({})", pct(&f, 50), pct(&f, 100), bad(ferry)),
            format!("{:.0}/{:.0} ({})", pct(&c, 50), pct(&c, 100), bad(connect)),
        );
    }
    for r in [ferry, connect] {
        let mut slow: Vec<&Answer> = r.answers.iter().filter(|a| a.took > SLOW).collect();
        slow.sort_by_key(|a| std::cmp::Reverse(a.took));
        for a in slow.iter().take(5) {
            println!("{} slow write: {a}", r.system);
        }
        for a in r.unexpected() {
            println!("{}: {a}", r.system);
        }
        for n in &r.not_started {
            println!("{}: {n}", r.system);
        }
        for (what, e) in [
            ("final states", &r.settled),
            ("FAILED visibility", &r.failed_everywhere),
            ("restart visibility", &r.restart_everywhere),
        ] {
            if let Err(e) = e {
                println!("{}: {what}: {e}", r.system);
            }
        }
    }
}

#[test]
fn two_hundred_writes_through_random_workers_need_no_retry() {
    let seed = std::env::var("FERRY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let (writes, remaining) = plan(seed);
    println!(
        "seed {seed}: {} writes leave {} connector(s)",
        writes.len(),
        remaining.len()
    );

    let mut ferry_cluster = Cluster::start(WORKERS, &[]);
    let topic = unique("cluster-writes");
    create_topic(&topic, 3);
    let api = Api::new(ferry_cluster.workers.iter().map(|w| w.url("")).collect());
    let ferry = play("ferry", &api, ferry_cluster.dir.path(), &topic, &writes);
    // Stopped, not dropped: its logs stay until the end, for a failure.
    for w in &mut ferry_cluster.workers {
        w.kill();
    }

    let mut connect_cluster = KafkaConnectCluster::start(WORKERS, &[]);
    let topic = unique("cluster-writes-kc");
    create_topic(&topic, 3);
    let api = Api::new(connect_cluster.workers.iter().map(|w| w.url("")).collect());
    let connect = play(
        "kafka connect",
        &api,
        connect_cluster.dir.path(),
        &topic,
        &writes,
    );
    connect_cluster.stop();

    report(seed, &ferry, &connect);
    let bad: Vec<String> = ferry.unexpected().iter().map(|a| a.to_string()).collect();
    assert!(
        bad.is_empty(),
        "{} of {WRITES} writes to Ferry did not get Kafka Connect's answer:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(
        ferry.not_started.is_empty(),
        "{}",
        ferry.not_started.join("\n")
    );
    let settled = ferry.settled.as_ref().expect("Ferry's final states");
    assert!(
        *settled <= FERRY_SETTLES_IN,
        "final states showed on every worker only after {settled:?}"
    );
    for (what, took) in [
        ("a FAILED task", &ferry.failed_everywhere),
        ("a restarted task", &ferry.restart_everywhere),
    ] {
        let took = took.as_ref().expect(what);
        assert!(
            *took < VISIBLE,
            "{what} showed on every worker only after {took:?}"
        );
    }
}
