//! Apache Kafka Connect 4.3 workers, from the same Maven jars as the local
//! broker and run by `deploy/local/connect.sh`: the reference the tests
//! compare Ferry with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{distributed_properties, free_port, http_get, unique, wait_for};

fn connect_sh_command(args: &[&Path]) -> Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut c = Command::new(root.join("deploy/local/connect.sh"));
    c.args(args);
    c
}

/// Runs `deploy/local/connect.sh ARGS…` and fails the test if it fails.
pub fn connect_sh(args: &[&Path]) {
    let out = connect_sh_command(args)
        .output()
        .expect("run deploy/local/connect.sh");
    assert!(
        out.status.success(),
        "connect.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One Kafka Connect worker, stopped even when the test fails.
pub struct KafkaConnect {
    /// Its worker properties (`listeners` names `port`).
    pub props: PathBuf,
    pub port: u16,
    running: bool,
}

impl KafkaConnect {
    /// A worker for the properties at `props`, which listen on `port`; not
    /// started yet.
    pub fn new(props: PathBuf, port: u16) -> KafkaConnect {
        KafkaConnect {
            props,
            port,
            running: false,
        }
    }

    /// Starts the worker and waits until its REST API answers and the
    /// given connectors run (see connect.sh).
    pub fn start(&mut self, connectors: &[&Path]) {
        // Marked first, so that a start that fails half-way is still stopped.
        self.running = true;
        let mut args = vec![Path::new("start"), self.props.as_path()];
        args.extend_from_slice(connectors);
        connect_sh(&args);
    }

    pub fn stop(&mut self) {
        if self.running {
            connect_sh(&[Path::new("stop"), &self.props]);
            self.running = false;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Where connect.sh sends the worker's log.
    pub fn log_path(&self) -> PathBuf {
        let state = std::env::var_os("FERRY_STATE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/ferry/state")))
            .unwrap_or_default();
        state.join(format!("connect/{}/connect.log", self.port))
    }
}

impl Drop for KafkaConnect {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of {}:", self.log_path().display());
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
        let _ = connect_sh_command(&[Path::new("stop"), &self.props]).output();
    }
}

/// A distributed Kafka Connect cluster on loopback, with the worker
/// properties Ferry's test clusters use ([`distributed_properties`]).
pub struct KafkaConnectCluster {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub workers: Vec<KafkaConnect>,
}

impl KafkaConnectCluster {
    /// Starts `n` workers of a new cluster at once and waits until every
    /// one has joined the group (`GET /health` answers 200).
    pub fn start(n: usize, extra: &[(&str, &str)]) -> KafkaConnectCluster {
        crate::require_kafka();
        let name = unique("connect-cluster");
        let dir = tempfile::tempdir().expect("tempdir");
        let workers = (0..n)
            .map(|i| {
                let port = free_port();
                let props = dir.path().join(format!("w{i}.properties"));
                std::fs::write(&props, distributed_properties(port, &name, extra))
                    .expect("write worker properties");
                KafkaConnect::new(props, port)
            })
            .collect();
        let mut cluster = KafkaConnectCluster { name, dir, workers };
        std::thread::scope(|s| {
            for w in &mut cluster.workers {
                s.spawn(move || w.start(&[]));
            }
        });
        for w in &cluster.workers {
            let url = w.url("/health");
            wait_for(
                &format!("Kafka Connect worker on port {} to join", w.port),
                Duration::from_secs(120),
                || http_get(&url).filter(|(c, _)| *c == 200).map(|_| ()),
            );
        }
        cluster
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Stops every worker at once.
    pub fn stop(&mut self) {
        std::thread::scope(|s| {
            for w in &mut self.workers {
                s.spawn(move || w.stop());
            }
        });
    }
}
