//! What connector configs and worker properties may ask of a worker, end to
//! end against the real broker, standalone and distributed:
//!
//! - client overrides follow Kafka Connect's policies (`All`, `None`,
//!   `Principal`, `Allowlist`, by alias or class name), and the librdkafka
//!   properties that load code, run commands or read files are refused
//!   from every connector config whatever the policy — a real shared
//!   library named in one is never loaded, while the worker's own
//!   properties still load it;
//! - `tasks.max.limit` bounds `tasks.max`;
//! - `file.connectors.allowed.paths` confines the file connectors, at
//!   create and validate, and at start for a config stored before it;
//! - Kafka Connect worker keys Ferry does not implement stop the worker.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_tests::cluster::Cluster;
use ferry_tests::*;
use serde_json::{json, Value};

const POLICY: &str = "connector.client.config.override.policy";
const ALLOWLIST: &str = "connector.client.config.override.allowlist";
const TASKS_MAX_LIMIT: &str = "tasks.max.limit";
const ALLOWED_PATHS: &str = "file.connectors.allowed.paths";

const WAIT: Duration = Duration::from_secs(60);

/// A worker's REST API: a standalone worker, or a cluster through its first
/// worker (retrying while it rebalances, as clients of Kafka Connect do).
enum Api<'a> {
    Standalone(&'a Worker),
    Distributed(&'a Cluster),
}

impl Api<'_> {
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        match self {
            Api::Standalone(w) => call(method, &w.url(path), body),
            Api::Distributed(c) => c.request(0, method, path, body),
        }
    }

    fn create(&self, name: &str, config: &Value) -> (u16, Value) {
        self.request(
            "POST",
            "/connectors",
            Some(&json!({"name": name, "config": config})),
        )
    }

    fn create_ok(&self, name: &str, config: &Value) {
        let (code, body) = self.create(name, config);
        assert_eq!(code, 201, "creating {name} with {config}: {body}");
    }

    /// `PUT /connector-plugins/{class}/config/validate`.
    fn validate(&self, config: &Value) -> Value {
        let class = config["connector.class"].as_str().expect("a class");
        let (code, body) = self.request(
            "PUT",
            &format!("/connector-plugins/{class}/config/validate"),
            Some(config),
        );
        assert_eq!(code, 200, "validating {config}: {body}");
        body
    }

    /// Waits until the connector and its `tasks` tasks are all in `state`.
    fn wait_state(&self, name: &str, state: &str, tasks: usize) -> Value {
        wait_for(&format!("{name} and {tasks} task(s) {state}"), WAIT, || {
            let (code, s) = self.request("GET", &format!("/connectors/{name}/status"), None);
            let t = s["tasks"].as_array()?;
            (code == 200
                && s["connector"]["state"] == state
                && t.len() == tasks
                && t.iter().all(|t| t["state"] == state))
            .then_some(s)
        })
    }

    /// Asserts that `config` is refused at create, at update of an existing
    /// connector `existing` (left as it was) and by validate, each time
    /// with an error on `key` containing `reason`; nothing is created.
    fn assert_refused(&self, existing: &str, config: &Value, key: &str, reason: &str) {
        let name = unique("refused");
        let (code, body) = self.create(&name, config);
        assert_eq!(code, 400, "creating with {key}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(reason),
            "creating with {key}: {message:?} lacks {reason:?}"
        );
        let (code, _) = self.request("GET", &format!("/connectors/{name}"), None);
        assert_eq!(code, 404, "{name} was created despite {key}");

        let before = self.request("GET", &format!("/connectors/{existing}/config"), None);
        let (code, body) = self.request(
            "PUT",
            &format!("/connectors/{existing}/config"),
            Some(config),
        );
        assert_eq!(code, 400, "updating with {key}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(reason),
            "updating with {key}: {body}"
        );
        let after = self.request("GET", &format!("/connectors/{existing}/config"), None);
        assert_eq!(before, after, "{existing} changed by a refused update");

        let infos = self.validate(config);
        let errors = errors_on(&infos, key);
        assert!(
            errors.iter().any(|e| e.contains(reason)),
            "validate reports {errors:?} on {key}, not {reason:?}: {infos}"
        );
        assert!(infos["error_count"].as_u64() > Some(0), "{infos}");
    }
}

/// The validation errors reported on `key`.
fn errors_on(infos: &Value, key: &str) -> Vec<String> {
    infos["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter(|c| c["value"]["name"] == key)
        .flat_map(|c| c["value"]["errors"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_owned))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn source(file: &Path, topic: &str) -> Value {
    json!({"connector.class": "FileStreamSource", "file": path_str(file), "topic": topic})
}

fn sink(file: &Path, topic: &str) -> Value {
    json!({"connector.class": "FileStreamSink", "file": path_str(file), "topics": topic})
}

fn with(config: &Value, key: &str, value: &str) -> Value {
    let mut c = config.clone();
    c[key] = json!(value);
    c
}

/// Builds, with the system's C compiler, a shared library whose constructor
/// creates `marker` as soon as anything loads it; it is also a valid, inert
/// librdkafka plugin. Returns the library and the marker path.
fn marker_library(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("library-was-loaded");
    let source = dir.join("marker.c");
    std::fs::write(
        &source,
        format!(
            r#"#include <stdio.h>
#include <stddef.h>

__attribute__((constructor)) static void ferry_test_marker(void) {{
    FILE *f = fopen({marker:?}, "w");
    if (f) {{
        fputs("loaded\n", f);
        fclose(f);
    }}
}}

/* librdkafka's plugin entry point: configures nothing. */
int conf_init(void *conf, void **plug_opaquep, char *errstr, size_t errstr_size) {{
    (void)conf;
    (void)plug_opaquep;
    (void)errstr;
    (void)errstr_size;
    return 0;
}}
"#
        ),
    )
    .expect("write the library's source");
    let library = dir.join("libferrymarker.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!marker.exists());
    (library, marker)
}

/// One worker's override policy: the value given, the name Kafka Connect's
/// messages use, and which of `linger.ms` and `security.protocol` it lets a
/// connector override.
struct Policy {
    setting: &'static str,
    name: &'static str,
    allows_linger: bool,
    allows_security_protocol: bool,
}

fn policies(class_names_for: &[&str]) -> Vec<Policy> {
    let setting = |alias: &'static str, class: &'static str| {
        if class_names_for.contains(&alias) {
            class
        } else {
            alias
        }
    };
    vec![
        Policy {
            setting: setting("All", "AllConnectorClientConfigOverridePolicy"),
            name: "All",
            allows_linger: true,
            allows_security_protocol: true,
        },
        Policy {
            setting: setting("None", "NoneConnectorClientConfigOverridePolicy"),
            name: "None",
            allows_linger: false,
            allows_security_protocol: false,
        },
        Policy {
            setting: setting(
                "Principal",
                "org.apache.kafka.connect.connector.policy.PrincipalConnectorClientConfigOverridePolicy",
            ),
            name: "Principal",
            allows_linger: false,
            allows_security_protocol: true,
        },
        // Started with `connector.client.config.override.allowlist=linger.ms`.
        Policy {
            setting: setting(
                "Allowlist",
                "org.apache.kafka.connect.connector.policy.AllowlistConnectorClientConfigOverridePolicy",
            ),
            name: "Allowlist",
            allows_linger: true,
            allows_security_protocol: false,
        },
    ]
}

/// The worker properties of a worker with `policy`.
fn policy_props(policy: &Policy) -> Vec<(&'static str, &'static str)> {
    vec![(POLICY, policy.setting), (ALLOWLIST, "linger.ms")]
}

/// Everything a worker with `policy` must do with client overrides:
/// librdkafka's worker-only keys refused under every prefix (and the
/// marker library never loaded, even by a running connector restarted
/// after a refused update), the policy's own verdicts, and overrides of
/// clients a connector does not use left alone, as Kafka Connect does.
fn check_overrides(api: &Api, dir: &Path, policy: &Policy, library: &Path, marker: &Path) {
    let topic = unique("overrides");
    let src = source(&dir.join(format!("{topic}.in")), &topic);
    let snk = sink(&dir.join(format!("{topic}.out")), &topic);

    // A running connector, whose update with a worker-only key is refused.
    let running = unique("running");
    api.create_ok(&running, &src);
    api.wait_state(&running, "RUNNING", 1);

    let lib = path_str(library);
    let dir_str = path_str(dir);
    for (base, key, value) in [
        (&src, "producer.override.plugin.library.paths", lib),
        (&snk, "consumer.override.plugin.library.paths", lib),
        (&src, "admin.override.plugin.library.paths", lib),
        (&snk, "producer.override.plugin.library.paths", lib),
        (&src, "producer.override.ssl.engine.location", lib),
        (
            &snk,
            "consumer.override.sasl.kerberos.kinit.cmd",
            "touch /tmp/x",
        ),
        (&src, "producer.override.ssl.ca.location", "/etc/shadow"),
        (&src, "producer.override.ut_handle_ProduceResponse", "x"),
        (&snk, "consumer.override.topic.offset.store.path", dir_str),
    ] {
        let name = key.split_once(".override.").map_or(key, |(_, n)| n);
        api.assert_refused(
            &running,
            &with(base, key, value),
            key,
            &format!("The worker does not allow '{name}' to be overridden in the connector configuration, whatever its {POLICY}"),
        );
    }
    // PATCH, which merges into the stored config, is refused the same way.
    let (code, body) = api.request(
        "PATCH",
        &format!("/connectors/{running}/config"),
        Some(&json!({"producer.override.plugin.library.paths": lib})),
    );
    assert_eq!(code, 400, "patching in plugin.library.paths: {body}");
    // The running connector rebuilds its clients from its (unchanged)
    // config.
    let (code, body) = api.request(
        "POST",
        &format!("/connectors/{running}/restart?includeTasks=true"),
        None,
    );
    assert!(code == 202 || code == 204, "restart: {body}");
    api.wait_state(&running, "RUNNING", 1);

    // The policy's own verdicts, with Kafka Connect's message.
    let refusal = |key: &str| {
        format!(
            "The '{}' policy does not allow '{key}' to be overridden in the connector configuration.",
            policy.name
        )
    };
    for (key, value, allowed) in [
        ("linger.ms", "7", policy.allows_linger),
        (
            "security.protocol",
            "PLAINTEXT",
            policy.allows_security_protocol,
        ),
    ] {
        let override_key = format!("producer.override.{key}");
        let config = with(&src, &override_key, value);
        if allowed {
            let name = unique("allowed");
            api.create_ok(&name, &config);
            api.wait_state(&name, "RUNNING", 1);
            assert_eq!(
                errors_on(&api.validate(&config), &override_key),
                Vec::<String>::new()
            );
        } else {
            api.assert_refused(&running, &config, &override_key, &refusal(key));
        }
    }
    let consumer_key = "consumer.override.max.poll.records";
    let consumer_override = with(&snk, consumer_key, "100");
    if policy.name == "All" {
        let name = unique("sink");
        api.create_ok(&name, &consumer_override);
        api.wait_state(&name, "RUNNING", 1);
    } else {
        api.assert_refused(
            &running,
            &consumer_override,
            consumer_key,
            &refusal("max.poll.records"),
        );
    }
    // A sink without a dead letter queue builds no producer: Kafka Connect
    // does not check its producer overrides, and neither does Ferry.
    let name = unique("sink");
    api.create_ok(&name, &with(&snk, "producer.override.linger.ms", "7"));
    api.wait_state(&name, "RUNNING", 1);

    assert!(
        !marker.exists(),
        "the library named in connector configs was loaded ({})",
        policy.setting
    );
}

#[test]
fn standalone_client_overrides_follow_the_policy_and_never_take_librdkafka_worker_keys() {
    require_kafka();
    let root = tempfile::tempdir().expect("tempdir");
    let (library, marker) = marker_library(root.path());
    for policy in policies(&["None", "Allowlist"]) {
        let dir = root.path().join(policy.name);
        std::fs::create_dir_all(&dir).expect("worker dir");
        let mut worker = Worker::new(&dir, &policy_props(&policy));
        worker.start(&[]);
        check_overrides(&Api::Standalone(&worker), &dir, &policy, &library, &marker);
    }
}

#[test]
fn distributed_client_overrides_follow_the_policy_and_never_take_librdkafka_worker_keys() {
    let root = tempfile::tempdir().expect("tempdir");
    let (library, marker) = marker_library(root.path());
    for policy in policies(&["All", "Principal"]) {
        let cluster = Cluster::start(1, &policy_props(&policy));
        let dir = cluster.dir.path().to_owned();
        check_overrides(
            &Api::Distributed(&cluster),
            &dir,
            &policy,
            &library,
            &marker,
        );
    }
}

/// The marker library is loaded as soon as a worker's own properties name
/// it for the clients it builds: what the tests above check the absence of
/// would be seen.
#[test]
fn the_worker_properties_still_load_a_plugin_library() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let (library, marker) = marker_library(dir.path());
    let mut worker = Worker::new(
        dir.path(),
        &[("producer.plugin.library.paths", path_str(&library))],
    );
    worker.start(&[]);
    let api = Api::Standalone(&worker);
    let topic = unique("plugin");
    let name = unique("source");
    api.create_ok(&name, &source(&dir.path().join("in.txt"), &topic));
    api.wait_state(&name, "RUNNING", 1);
    wait_for("the worker to load its plugin library", WAIT, || {
        marker.exists().then_some(())
    });
}

fn check_tasks_max(api: &Api, dir: &Path, limit: u32) {
    let topic = unique("tasks");
    let src = source(&dir.join(format!("{topic}.in")), &topic);
    let existing = unique("bounded");
    api.create_ok(&existing, &with(&src, "tasks.max", &limit.to_string()));
    api.wait_state(&existing, "RUNNING", 1);
    let over = limit + 1;
    api.assert_refused(
        &existing,
        &with(&src, "tasks.max", &over.to_string()),
        "tasks.max",
        &format!(
            "Invalid value {over} for configuration tasks.max: this worker runs at most {limit} tasks per connector ({TASKS_MAX_LIMIT}={limit})"
        ),
    );
    api.assert_refused(
        &existing,
        &with(&src, "tasks.max", "2147483647"),
        "tasks.max",
        &format!("({TASKS_MAX_LIMIT}={limit})"),
    );
}

#[test]
fn tasks_max_above_the_workers_limit_is_refused() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bounded = Worker::new(dir.path(), &[(TASKS_MAX_LIMIT, "4")]);
    bounded.start(&[]);
    check_tasks_max(&Api::Standalone(&bounded), dir.path(), 4);
    drop(bounded);

    // The default bound.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut default = Worker::new(dir.path(), &[]);
    default.start(&[]);
    check_tasks_max(&Api::Standalone(&default), dir.path(), 1000);
}

#[test]
fn distributed_tasks_max_above_the_workers_limit_is_refused() {
    let cluster = Cluster::start(1, &[(TASKS_MAX_LIMIT, "3")]);
    let dir = cluster.dir.path().to_owned();
    check_tasks_max(&Api::Distributed(&cluster), &dir, 3);
}

/// Worker properties a test worker needs in `mode`, besides the key tried.
fn minimal_props(dir: &Path, mode: &str) -> Vec<(&'static str, String)> {
    let mut props = vec![
        ("bootstrap.servers", bootstrap()),
        ("listeners", format!("http://127.0.0.1:{}", free_port())),
    ];
    if mode == "standalone" {
        props.push((
            "offset.storage.file.filename",
            dir.join("offsets").display().to_string(),
        ));
    } else {
        let cluster = unique("refused");
        props.push(("group.id", cluster.clone()));
        for (key, suffix) in [
            ("config.storage.topic", "configs"),
            ("offset.storage.topic", "offsets"),
            ("status.storage.topic", "status"),
        ] {
            props.push((key, format!("{cluster}-{suffix}")));
        }
    }
    props
}

#[test]
fn kafka_connect_worker_keys_ferry_does_not_implement_stop_the_worker() {
    let root = tempfile::tempdir().expect("tempdir");
    let both: &[&str] = &["standalone", "distributed"];
    let distributed: &[&str] = &["distributed"];
    for (key, value, modes) in [
        (
            "rest.extension.classes",
            "io.confluent.connect.security.ConnectSecurityExtension",
            both,
        ),
        (
            "response.http.headers.config",
            "add X-Frame-Options: DENY",
            both,
        ),
        (
            "metric.reporters",
            "io.confluent.metrics.reporter.ConfluentMetricsReporter",
            both,
        ),
        ("exactly.once.source.support", "enabled", distributed),
        ("inter.worker.key.size", "512", distributed),
    ] {
        for mode in modes {
            let dir = root.path().join(unique("worker"));
            std::fs::create_dir_all(&dir).expect("dir");
            let base = minimal_props(&dir, mode);
            let mut lines: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
            lines.push((key, value));
            let (status, stderr) = run_to_exit(&dir, mode, &lines, &[], Duration::from_secs(5));
            assert!(
                !status.success(),
                "{mode} with {key}={value} exited with {status}; stderr:\n{stderr}"
            );
            assert!(
                stderr.contains(&format!("Invalid value {value} for configuration {key}:")),
                "{mode} with {key}={value}; stderr:\n{stderr}"
            );
            assert!(
                stderr.contains("not implemented"),
                "{mode} with {key}={value}; stderr:\n{stderr}"
            );
        }
    }
}

/// A config provider Ferry does not have stops the worker, naming it:
/// placeholders would otherwise reach connectors as literal text.
#[test]
fn an_unknown_config_provider_class_stops_the_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = minimal_props(dir.path(), "standalone");
    let mut lines: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lines.push(("config.providers", "vault"));
    lines.push((
        "config.providers.vault.class",
        "io.confluent.csid.config.provider.vault.VaultConfigProvider",
    ));
    let (status, stderr) = run_to_exit(
        dir.path(),
        "standalone",
        &lines,
        &[],
        Duration::from_secs(5),
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("config.providers.vault.class")
            && stderr.contains("VaultConfigProvider")
            && stderr.contains("FileConfigProvider"),
        "{stderr}"
    );
}

#[test]
fn worker_keys_ferry_ignores_harmlessly_are_accepted_with_a_note() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(
        dir.path(),
        &[
            ("plugin.discovery", "service_load"),
            ("metrics.recording.level", "DEBUG"),
            (
                "metric.reporters",
                "org.apache.kafka.common.metrics.JmxReporter",
            ),
        ],
    );
    worker.start(&[]);
    let log = worker.log_text();
    assert!(log.contains("plugin.discovery is ignored"), "log:\n{log}");
    assert!(
        log.contains("metrics.recording.level is ignored"),
        "log:\n{log}"
    );
}

/// The directories of a file-connector test: `allowed` (given to the
/// worker), `outside` with a file in it, and links from inside to outside.
struct Files {
    _root: tempfile::TempDir,
    allowed: PathBuf,
    outside: PathBuf,
    secret: PathBuf,
}

impl Files {
    fn new() -> Files {
        let root = tempfile::tempdir().expect("tempdir");
        let allowed = root.path().join("allowed");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&allowed).expect("allowed dir");
        std::fs::create_dir_all(&outside).expect("outside dir");
        let secret = outside.join("secret.txt");
        std::fs::write(&secret, "not for connectors\n").expect("secret");
        std::os::unix::fs::symlink(&secret, allowed.join("link.txt")).expect("symlink");
        std::os::unix::fs::symlink(&outside, allowed.join("linked-dir")).expect("symlink");
        Files {
            allowed: allowed.canonicalize().expect("canonical"),
            outside,
            secret,
            _root: root,
        }
    }

    fn reason(&self, file: &str) -> String {
        format!(
            "Invalid value {file} for configuration file: it is not under the directories this worker lets connectors read and write ({ALLOWED_PATHS}={})",
            self.allowed.display()
        )
    }
}

/// Refusals of files outside the allowed directory, for both connectors.
fn check_files_refused(api: &Api, files: &Files, existing: &str) {
    let topic = unique("files");
    let escape = files.allowed.join("../outside/secret.txt");
    for file in [
        files.secret.clone(),
        escape,
        files.allowed.join("link.txt"),
        files.allowed.join("linked-dir/new.txt"),
        PathBuf::from("/etc/passwd"),
    ] {
        let f = path_str(&file);
        api.assert_refused(existing, &source(&file, &topic), "file", &files.reason(f));
        api.assert_refused(existing, &sink(&file, &topic), "file", &files.reason(f));
    }
    // Standard input and output are not files under the directory.
    let mut stdin = source(&files.secret, &topic);
    stdin.as_object_mut().expect("object").remove("file");
    api.assert_refused(
        existing,
        &stdin,
        "file",
        "standard input and output are refused",
    );
}

#[test]
fn file_connectors_stay_inside_the_allowed_directories() {
    require_kafka();
    let files = Files::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[(ALLOWED_PATHS, path_str(&files.allowed))]);
    worker.start(&[]);
    let api = Api::Standalone(&worker);

    // Inside: accepted, and records flow from one file to the other.
    let topic = unique("inside");
    let input = files.allowed.join("in.txt");
    let output = files.allowed.join("sub").join("out.txt");
    std::fs::create_dir_all(files.allowed.join("sub")).expect("sub dir");
    std::fs::write(&input, "one\ntwo\n").expect("input");
    let sink_name = unique("sink");
    api.create_ok(&sink_name, &sink(&output, &topic));
    let source_name = unique("source");
    api.create_ok(&source_name, &source(&input, &topic));
    api.wait_state(&source_name, "RUNNING", 1);
    wait_for("both lines in the output", WAIT, || {
        (read_lines(&output) == ["one", "two"]).then_some(())
    });

    check_files_refused(&api, &files, &source_name);
    drop(worker);

    // A connector file given on the command line is refused the same way,
    // and the worker does not start.
    let cli = tempfile::tempdir().expect("tempdir");
    let connector = write_connector(
        cli.path(),
        "outside",
        &[
            ("connector.class", "FileStreamSource"),
            ("file", path_str(&files.secret)),
            ("topic", &topic),
        ],
    );
    let base = minimal_props(cli.path(), "standalone");
    let mut lines: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lines.push((ALLOWED_PATHS, path_str(&files.allowed)));
    let (status, stderr) = run_to_exit(cli.path(), "standalone", &lines, &[connector], WAIT);
    assert!(!status.success(), "exited with {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains(&files.reason(path_str(&files.secret))),
        "stderr:\n{stderr}"
    );
}

#[test]
fn distributed_file_connectors_stay_inside_the_allowed_directories() {
    let files = Files::new();
    let name = unique("files-cluster");

    // Stored before the setting: a pipeline reading and writing outside.
    let before = Cluster::start_named(&name, 1, &[]);
    let api = Api::Distributed(&before);
    let topic = unique("stored");
    let input = files.outside.join("in.txt");
    let output = files.outside.join("out.txt");
    std::fs::write(&input, "before\n").expect("input");
    let sink_name = unique("sink");
    let source_name = unique("source");
    api.create_ok(&sink_name, &sink(&output, &topic));
    api.create_ok(&source_name, &source(&input, &topic));
    api.wait_state(&source_name, "RUNNING", 1);
    api.wait_state(&sink_name, "RUNNING", 1);
    wait_for("the line in the output", WAIT, || {
        (read_lines(&output) == ["before"]).then_some(())
    });
    let mut before = before;
    let status = before.workers[0].terminate();
    assert!(status.success(), "worker exited with {status}");

    // The same cluster with the setting: the stored connectors and their
    // tasks fail at start, naming the key and the directory.
    let after = Cluster::start_named(&name, 1, &[(ALLOWED_PATHS, path_str(&files.allowed))]);
    let api = Api::Distributed(&after);
    for (connector, file) in [(&source_name, &input), (&sink_name, &output)] {
        let status = api.wait_state(connector, "FAILED", 1);
        let reason = files.reason(path_str(file));
        let connector_trace = status["connector"]["trace"].as_str().unwrap_or_default();
        assert!(connector_trace.contains(&reason), "{status}");
        let task_trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
        assert!(task_trace.contains(&reason), "{status}");
    }

    // New configs are refused at create, update and validate.
    let inside = unique("inside");
    api.create_ok(
        &inside,
        &source(&files.allowed.join("in.txt"), &unique("inside")),
    );
    api.wait_state(&inside, "RUNNING", 1);
    check_files_refused(&api, &files, &inside);
}
