//! A cluster of `ferry distributed` workers on loopback, and the file
//! transfer the distributed tests run through it.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::{call, http, http_get, unique, wait_for, Worker};

pub struct Cluster {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub workers: Vec<Worker>,
}

impl Cluster {
    /// Starts `n` workers of a new cluster and waits until all are healthy.
    pub fn start(n: usize, extra: &[(&str, &str)]) -> Cluster {
        Cluster::start_named(&unique("ferry-cluster"), n, extra)
    }

    /// Starts `n` workers of cluster `name` (group id and internal topic
    /// prefix, see [`Worker::distributed`]).
    pub fn start_named(name: &str, n: usize, extra: &[(&str, &str)]) -> Cluster {
        crate::require_kafka();
        let name = name.to_owned();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut workers: Vec<Worker> = (0..n)
            .map(|i| Worker::distributed(&dir.path().join(format!("w{i}")), &name, extra))
            .collect();
        for w in &mut workers {
            w.start(&[]);
        }
        let cluster = Cluster { name, dir, workers };
        for i in 0..n {
            cluster.wait_healthy(i);
        }
        cluster
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn wait_healthy(&self, i: usize) {
        let url = self.workers[i].url("/health");
        wait_for(
            &format!("worker {i} to be healthy"),
            Duration::from_secs(60),
            || http_get(&url).filter(|(c, _)| *c == 200).map(|_| ()),
        );
    }

    /// Index of a running worker other than `except`.
    pub fn running(&self, except: Option<usize>) -> usize {
        (0..self.workers.len())
            .find(|i| Some(*i) != except && self.workers[*i].is_running())
            .expect("a running worker")
    }

    /// Sends one request through worker `via`, with no retry: a write
    /// arriving during a rebalance waits for it to complete, so no answer
    /// is transient (Kafka Connect's clients need no retry either).
    pub fn request(
        &self,
        via: usize,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        call(method, &self.workers[via].url(path), body)
    }

    /// Creates a connector through worker `via`.
    pub fn create(&self, via: usize, name: &str, config: Value) {
        let (code, body) = self.request(
            via,
            "POST",
            "/connectors",
            Some(&json!({"name": name, "config": config})),
        );
        assert_eq!(code, 201, "creating {name}: {body}");
    }

    pub fn status(&self, via: usize, name: &str) -> Option<Value> {
        let (code, text) = http_get(&self.workers[via].url(&format!("/connectors/{name}/status")))?;
        (code == 200)
            .then(|| serde_json::from_str(&text).ok())
            .flatten()
    }

    /// Waits until the connector and `tasks` tasks are RUNNING on live
    /// workers; returns the status.
    pub fn wait_running(&self, name: &str, tasks: usize, timeout: Duration) -> Value {
        let live: Vec<String> = self
            .workers
            .iter()
            .filter(|w| w.is_running())
            .map(Worker::worker_id)
            .collect();
        let via = self.running(None);
        wait_for(
            &format!("{name} and {tasks} task(s) RUNNING on live workers"),
            timeout,
            || {
                let s = self.status(via, name)?;
                let on_live = |v: &Value| {
                    v["state"] == "RUNNING"
                        && live.iter().any(|l| v["worker_id"].as_str() == Some(l))
                };
                let t = s["tasks"].as_array()?;
                (on_live(&s["connector"]) && t.len() == tasks && t.iter().all(on_live)).then_some(s)
            },
        )
    }

    /// Index of the worker whose id is `worker_id`.
    pub fn index_of(&self, worker_id: &str) -> usize {
        self.workers
            .iter()
            .position(|w| w.worker_id() == worker_id)
            .unwrap_or_else(|| panic!("no worker {worker_id}"))
    }
}

/// A line of the transfer's input.
pub fn line(i: usize) -> String {
    format!("record {i:09} moving through a ferry cluster, padded out to about 100 bytes......")
}

pub fn append_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("input file"),
    );
    for i in range {
        writeln!(f, "{}", line(i)).expect("write line");
    }
    f.flush().expect("flush input");
}

/// A file → topic → file pipeline running on a cluster.
pub struct Transfer {
    pub source: String,
    pub sink: String,
    pub topic: String,
    pub input: PathBuf,
    pub output: PathBuf,
}

impl Transfer {
    /// Creates the sink, then the source, through worker `via`; the input
    /// file starts with `initial` lines.
    pub fn start(cluster: &Cluster, via: usize, initial: usize) -> Transfer {
        let id = unique("t");
        let t = Transfer {
            source: format!("{id}-src"),
            sink: format!("{id}-sink"),
            topic: format!("{id}-topic"),
            input: cluster.path(&format!("{id}-in.txt")),
            output: cluster.path(&format!("{id}-out.txt")),
        };
        append_lines(&t.input, 0..initial);
        cluster.create(
            via,
            &t.sink,
            json!({
                "connector.class": "FileStreamSink",
                "file": t.output.to_str().expect("utf-8 path"),
                "topics": t.topic,
            }),
        );
        cluster.create(
            via,
            &t.source,
            json!({
                "connector.class": "FileStreamSource",
                "file": t.input.to_str().expect("utf-8 path"),
                "topic": t.topic,
                "batch.size": "5000",
            }),
        );
        t
    }

    /// Lines in the output so far (cheap: counts newlines).
    pub fn output_lines(&self) -> usize {
        std::fs::read(&self.output)
            .map(|b| memchr::memchr_iter(b'\n', &b).count())
            .unwrap_or(0)
    }

    /// Waits until every one of the first `n` input lines is in the output;
    /// returns how many lines arrived more than once.
    pub fn wait_complete(&self, n: usize, timeout: Duration) -> usize {
        wait_for(
            &format!("all {n} lines in {}", self.output.display()),
            timeout,
            || {
                if self.output_lines() < n {
                    return None;
                }
                let text = std::fs::read_to_string(&self.output).ok()?;
                let mut seen: HashMap<&str, u32> = HashMap::with_capacity(n);
                for l in text.lines() {
                    *seen.entry(l).or_default() += 1;
                }
                if (0..n).any(|i| !seen.contains_key(line(i).as_str())) {
                    return None;
                }
                let extra = seen.len() - n;
                assert_eq!(extra, 0, "output has lines that were never written");
                Some(seen.values().map(|c| (*c - 1) as usize).sum())
            },
        )
    }
}

/// GETs `path` from every running worker and returns the bodies.
pub fn from_every_worker(cluster: &Cluster, path: &str) -> Vec<(u16, String)> {
    cluster
        .workers
        .iter()
        .filter(|w| w.is_running())
        .map(|w| http("GET", &w.url(path), None).expect("an answer"))
        .collect()
}

/// Waits until each of `names` and its one task are RUNNING, asking
/// `status` (a connector's status body, or `None` while there is none);
/// returns the ids of the workers the connectors run on.
pub fn workers_running(
    names: &[String],
    status: impl Fn(&str) -> Option<Value>,
) -> std::collections::BTreeSet<String> {
    names
        .iter()
        .map(|name| {
            let s = wait_for(
                &format!("{name} and its task running"),
                Duration::from_secs(60),
                || {
                    let s = status(name)?;
                    let running = s["connector"]["state"] == "RUNNING"
                        && s["tasks"]
                            .as_array()
                            .is_some_and(|t| t.len() == 1 && t[0]["state"] == "RUNNING");
                    running.then_some(s)
                },
            );
            s["connector"]["worker_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}
