//! Helpers for Ferry's end-to-end tests: a real Kafka broker (started by
//! `deploy/local/up.sh`), the `ferry` binary run as a child process, and
//! polling with deadlines.

pub mod cluster;
pub mod kafka_connect;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Message};

/// The broker the tests use.
pub fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming
/// what was awaited.
pub fn wait_for<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll_until(timeout, Duration::from_millis(50), check)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// Polls `check` every `every` until it returns `Some`; `None` once
/// `timeout` passed (for callers that measure or report rather than fail).
pub fn poll_until<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

/// The `ferry` binary built alongside the tests (`FERRY_BIN` overrides).
pub fn ferry_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FERRY_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test> → target/<profile>/ferry
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let bin = profile_dir.join("ferry");
    assert!(
        bin.exists(),
        "{} does not exist: build it first with `cargo build -p ferry` (tests/run.sh does)",
        bin.display()
    );
    bin
}

/// A file of the test CA and client certificates `deploy/local/kafka.sh`
/// makes (`FERRY_TEST_TLS_DIR`, else `$FERRY_CACHE/tls`, else
/// `~/.cache/ferry/tls`).
pub fn tls_file(name: &str) -> String {
    let dir = std::env::var("FERRY_TEST_TLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::var("FERRY_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/ferry")
                })
                .join("tls")
        });
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: start the broker with deploy/local/up.sh",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The user every helper request carries when `FERRY_TEST_REST_AUTH` is set.
pub const REST_USER: (&str, &str) = ("suite-admin", "suite-secret-4k9");

/// `FERRY_TEST_REST_AUTH` set: every worker the helpers start requires HTTP
/// Basic credentials (Kafka Connect's basic authentication extension), and
/// every request the helpers send carries [`REST_USER`]'s, so a REST suite
/// runs once more behind authentication.
pub fn rest_auth_on() -> bool {
    std::env::var_os("FERRY_TEST_REST_AUTH").is_some_and(|v| !v.is_empty())
}

/// Worker properties that require [`REST_USER`], with the JAAS and users
/// files written in `dir`.
pub fn rest_auth_properties(dir: &Path) -> Vec<(String, String)> {
    basic_auth_properties(dir, &format!("{}: {}\n", REST_USER.0, REST_USER.1))
}

/// Worker properties that turn on Kafka Connect's basic authentication
/// extension, with a JAAS file and a users file of `users` (`user:
/// password` lines) written in `dir`.
pub fn basic_auth_properties(dir: &Path, users: &str) -> Vec<(String, String)> {
    std::fs::create_dir_all(dir).expect("worker directory");
    let users_file = dir.join("rest-users.properties");
    std::fs::write(&users_file, users).expect("users file");
    let users = users_file;
    let jaas = dir.join("rest-jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            users.display()
        ),
    )
    .expect("jaas file");
    vec![
        (
            "rest.extension.classes".into(),
            "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
                .into(),
        ),
        (
            "java.security.auth.login.config".into(),
            jaas.to_string_lossy().into_owned(),
        ),
    ]
}

/// `req` with [`REST_USER`]'s credentials when [`rest_auth_on`].
pub fn with_rest_auth(req: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
    if rest_auth_on() {
        req.basic_auth(REST_USER.0, Some(REST_USER.1))
    } else {
        req
    }
}

/// Fails fast, with the fix, when no broker is running.
pub fn require_kafka() {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    if admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .is_err()
    {
        panic!(
            "no Kafka broker at {}: start one with deploy/local/up.sh",
            bootstrap()
        );
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Worker properties of a member of the distributed cluster `cluster` (its
/// group id and the prefix of its internal topics) listening on `port`,
/// with short timeouts for tests and `extra` lines appended. Ferry's test
/// workers and the Kafka Connect workers the tests compare them with use
/// the same ones.
pub fn distributed_properties(port: u16, cluster: &str, extra: &[(&str, &str)]) -> String {
    let mut text = format!(
        "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\ngroup.id={cluster}\n\
         config.storage.topic={cluster}-configs\noffset.storage.topic={cluster}-offsets\n\
         status.storage.topic={cluster}-status\nconfig.storage.replication.factor=1\n\
         offset.storage.replication.factor=1\nstatus.storage.replication.factor=1\n\
         offset.storage.partitions=5\nstatus.storage.partitions=3\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.flush.interval.ms=1000\nsession.timeout.ms=6000\nheartbeat.interval.ms=1000\n\
         scheduled.rebalance.max.delay.ms=3000\n",
        bootstrap(),
    );
    for (k, v) in extra {
        text.push_str(&format!("{k}={v}\n"));
    }
    text
}

/// A `ferry standalone` (or `ferry distributed`) process with its own
/// directory, port and offsets file.
pub struct Worker {
    pub dir: PathBuf,
    pub port: u16,
    pub worker_props: PathBuf,
    /// `standalone` or `distributed`.
    mode: &'static str,
    child: Option<Child>,
    log: PathBuf,
    /// RLIMIT_NOFILE (soft and hard) for the process, when set.
    open_file_limit: Option<u64>,
    /// `https` once [`Worker::https`] made the listener so.
    scheme: &'static str,
}

impl Worker {
    /// Writes worker.properties with `extra` lines appended.
    pub fn new(dir: &Path, extra: &[(&str, &str)]) -> Worker {
        let port = free_port();
        let worker_props = dir.join("worker.properties");
        let mut text = format!(
            "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\noffset.storage.file.filename={}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.flush.interval.ms=1000\n",
            bootstrap(),
            dir.join("offsets").display()
        );
        if rest_auth_on() {
            for (k, v) in rest_auth_properties(dir) {
                text.push_str(&format!("{k}={v}\n"));
            }
        }
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(&worker_props, text).expect("write worker.properties");
        Worker {
            dir: dir.to_owned(),
            port,
            worker_props,
            mode: "standalone",
            child: None,
            log: dir.join("ferry.log"),
            open_file_limit: None,
            scheme: "http",
        }
    }

    /// A member of the distributed cluster `cluster` (its group id and the
    /// prefix of its internal topics), with short timeouts for tests;
    /// `extra` lines are appended.
    pub fn distributed(dir: &Path, cluster: &str, extra: &[(&str, &str)]) -> Worker {
        std::fs::create_dir_all(dir).expect("worker directory");
        let port = free_port();
        let worker_props = dir.join("worker.properties");
        let mut text = distributed_properties(port, cluster, extra);
        if rest_auth_on() {
            for (k, v) in rest_auth_properties(dir) {
                text.push_str(&format!("{k}={v}\n"));
            }
        }
        std::fs::write(&worker_props, text).expect("write worker.properties");
        Worker {
            dir: dir.to_owned(),
            port,
            worker_props,
            mode: "distributed",
            child: None,
            log: dir.join("ferry.log"),
            open_file_limit: None,
            scheme: "http",
        }
    }

    /// Starts the process with at most `limit` open files (soft and hard).
    pub fn open_file_limit(&mut self, limit: u64) -> &mut Worker {
        self.open_file_limit = Some(limit);
        self
    }

    /// `host:port` as this worker reports itself in statuses.
    pub fn worker_id(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://127.0.0.1:{}{path}", self.scheme, self.port)
    }

    /// Makes the worker's listener `https` (before it starts): its TLS
    /// settings are among the properties it was given.
    pub fn https(&mut self) -> &mut Worker {
        let props = std::fs::read_to_string(&self.worker_props).expect("worker properties");
        let props = props.replace(
            &format!("listeners=http://127.0.0.1:{}", self.port),
            &format!("listeners=https://127.0.0.1:{}", self.port),
        );
        std::fs::write(&self.worker_props, props).expect("worker properties");
        self.scheme = "https";
        self
    }

    /// Starts the process with connector config files and waits for the
    /// REST API to answer.
    pub fn start(&mut self, connector_files: &[PathBuf]) {
        assert!(self.child.is_none(), "worker already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut command = Command::new(ferry_bin());
        if let Some(limit) = self.open_file_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit(2) is async-signal-safe and touches no memory
            // of the parent.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = command
            .arg(self.mode)
            .arg(&self.worker_props)
            .args(connector_files)
            .env(
                "RUST_LOG",
                std::env::var("FERRY_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn ferry");
        self.child = Some(child);
        let url = self.url("/");
        wait_for("the REST API to answer", Duration::from_secs(60), || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "ferry exited with {status} during startup; log:\n{}",
                    self.log_text()
                );
            }
            if url.starts_with("https") {
                // The tests' own TLS clients check it; here, that it listens.
                return std::net::TcpStream::connect(("127.0.0.1", self.port))
                    .ok()
                    .map(|_| ());
            }
            // 401: the API answers, and asks for credentials.
            http_get(&url)
                .filter(|(code, _)| *code == 200 || *code == 401)
                .map(|_| ())
        });
    }

    /// A field of the process's `/proc/<pid>/status` in kB (`VmHWM`,
    /// `VmRSS`), or its `Threads`; `None` when it is not running.
    pub fn proc_status(&self, field: &str) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown work at all, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("worker not running");
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        wait_for(
            "ferry to exit after SIGTERM",
            Duration::from_secs(60),
            || c.try_wait().ok().flatten(),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of {}:", self.log.display());
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A blocking GET; `None` when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    http("GET", url, None)
}

/// A blocking request with an optional JSON body; `None` when nothing answers.
pub fn http(method: &str, url: &str, body: Option<&serde_json::Value>) -> Option<(u16, String)> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .ok()?;
    let method = reqwest::Method::from_bytes(method.as_bytes()).ok()?;
    let mut req = with_rest_auth(client.request(method, url));
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().ok()?;
    let code = resp.status().as_u16();
    Some((code, resp.text().unwrap_or_default()))
}

/// Like `http`, but panics when nothing answers and parses the body as JSON
/// (`Null` for an empty body).
pub fn call(method: &str, url: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
    let (code, text) =
        http(method, url, body).unwrap_or_else(|| panic!("{method} {url}: no answer"));
    let json = if text.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {url}: body is not JSON ({e}): {text}"))
    };
    (code, json)
}

pub fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let res = rt
        .block_on(admin.create_topics([&topic], &AdminOptions::new()))
        .expect("create topic");
    for r in res {
        if let Err((t, e)) = r {
            if e != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                panic!("creating topic {t}: {e}");
            }
        }
    }
}

/// A producer for test input, batching briefly.
fn test_producer() -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Queues a record, waiting for room while librdkafka's queue is full.
fn send_when_room<K, P>(p: &ThreadedProducer<DefaultProducerContext>, mut rec: BaseRecord<'_, K, P>)
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((_, r)) => {
                rec = r;
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

/// Produces values (no keys) and waits until all are acknowledged.
pub fn produce(topic: &str, values: &[&[u8]]) {
    let p = test_producer();
    for v in values {
        send_when_room(&p, BaseRecord::<[u8], [u8]>::to(topic).payload(*v));
    }
    p.flush(Duration::from_secs(60)).expect("flush");
}

/// A record to produce with [`produce_records`]: no partition lets the
/// producer's partitioner choose; no value is a tombstone.
#[derive(Clone, Copy, Default)]
pub struct Outgoing<'a> {
    pub partition: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub timestamp: Option<i64>,
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// Produces records in order and waits until all are acknowledged.
pub fn produce_records(topic: &str, records: &[Outgoing<'_>]) {
    use rdkafka::message::{Header, OwnedHeaders};
    let p = test_producer();
    for r in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        rec.partition = r.partition;
        rec.key = r.key;
        rec.payload = r.value;
        rec.timestamp = r.timestamp;
        if !r.headers.is_empty() {
            let mut h = OwnedHeaders::new();
            for (key, value) in r.headers {
                h = h.insert(Header {
                    key,
                    value: Some(*value),
                });
            }
            rec = rec.headers(h);
        }
        send_when_room(&p, rec);
    }
    p.flush(Duration::from_secs(60)).expect("flush");
}

/// A consumed record: key, value and headers.
pub struct Consumed {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Consumed {
    pub fn header(&self, key: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Deletes `topic` and creates it again, empty, with `partitions`: the
/// creation is retried until the broker has finished deleting it.
pub fn recreate_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(admin.delete_topics(&[topic], &AdminOptions::new()))
        .expect("delete topic");
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    wait_for(
        "the topic to be created again",
        Duration::from_secs(60),
        || {
            let res = rt
                .block_on(admin.create_topics([&new], &AdminOptions::new()))
                .expect("create topic");
            res.into_iter().all(|r| r.is_ok()).then_some(())
        },
    );
}

/// Partition count of `topic` (0 if it does not exist) and the value of its
/// topic config `config`.
pub fn describe_topic(topic: &str, config: &str) -> (usize, Option<String>) {
    use rdkafka::admin::{AdminClient, ResourceSpecifier};
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let md = admin
        .inner()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| t.partitions().len())
        .sum();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let policy = rt
        .block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new()))
        .ok()
        .and_then(|mut r| r.pop())
        .and_then(|r| r.ok())
        .and_then(|c| c.get(config).and_then(|e| e.value.clone()));
    (partitions, policy)
}

/// Produces values in order, `None` as a tombstone (null value).
pub fn produce_with_tombstones(topic: &str, values: &[Option<&str>]) {
    let records: Vec<(String, Option<&str>)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("k{i}"), *v))
        .collect();
    produce_keyed(topic, &records);
}

/// Produces keyed records in order, a `None` value as a tombstone, and
/// waits until all are acknowledged.
pub fn produce_keyed<K: AsRef<str>, V: AsRef<str>>(topic: &str, records: &[(K, Option<V>)]) {
    let p = test_producer();
    for (key, value) in records {
        let mut rec: BaseRecord<'_, str, str> = BaseRecord::to(topic).key(key.as_ref());
        if let Some(v) = value {
            rec = rec.payload(v.as_ref());
        }
        send_when_room(&p, rec);
    }
    p.flush(Duration::from_secs(60)).expect("flush");
}

/// How many records `topic` holds: the sum of its partitions' high
/// watermarks (0 while it does not exist).
pub fn record_count(topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("consumer");
    let timeout = Duration::from_secs(10);
    let Ok(metadata) = c.fetch_metadata(Some(topic), timeout) else {
        return 0;
    };
    let partitions = metadata
        .topics()
        .first()
        .map_or(0, |t| t.partitions().len());
    (0..partitions)
        .filter_map(|p| {
            c.fetch_watermarks(topic, i32::try_from(p).ok()?, timeout)
                .ok()
                .map(|(_, high)| high)
        })
        .sum()
}

/// Reads every record of `topic` from the beginning until `expected` arrived
/// or `timeout` passed.
pub fn consume_records(topic: &str, expected: usize, timeout: Duration) -> Vec<Consumed> {
    use rdkafka::message::Headers as _;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("test-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The topic may be created while we wait for it.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Consumed {
                partition: m.partition(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers,
            });
        }
    }
    out
}

/// Reads every record of `topic` from the beginning until `expected` arrived
/// or `timeout` passed; returns the values in partition order.
pub fn consume_values(topic: &str, expected: usize, timeout: Duration) -> Vec<Option<Vec<u8>>> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("test-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The topic may be created while we wait for it.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push(m.payload().map(<[u8]>::to_vec));
        }
    }
    out
}

/// Runs `ferry <mode> worker.properties [connector files…]` with `lines` as
/// its worker properties, for a worker expected to exit (refusing its
/// configuration) within `deadline`; returns its exit status and stderr.
/// Fails the test, killing the worker, if it is still running by then.
pub fn run_to_exit(
    dir: &Path,
    mode: &str,
    lines: &[(&str, &str)],
    connector_files: &[PathBuf],
    deadline: Duration,
) -> (std::process::ExitStatus, String) {
    let props = dir.join(format!("{mode}.properties"));
    let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&props, text).expect("write worker properties");
    let stderr_path = dir.join(format!("{mode}.stderr"));
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    let mut child = Command::new(ferry_bin())
        .arg(mode)
        .arg(&props)
        .args(connector_files)
        .env("RUST_LOG", "info")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn ferry");
    let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("ferry to refuse its configuration", deadline, || {
            child.try_wait().expect("poll ferry")
        })
    }))
    .unwrap_or_else(|panic| {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!(
            "stderr:\n{}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
        std::panic::resume_unwind(panic)
    });
    let stderr = std::fs::read_to_string(&stderr_path).expect("read stderr");
    (status, stderr)
}

/// Writes a connector config file and returns its path.
pub fn write_connector(dir: &Path, name: &str, props: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(format!("{name}.properties"));
    let mut f = std::fs::File::create(&path).expect("connector file");
    writeln!(f, "name={name}").expect("write");
    for (k, v) in props {
        writeln!(f, "{k}={v}").expect("write");
    }
    path
}

/// Lines of a file, empty if it does not exist yet.
pub fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}
