//! Native plugins from `plugin.path`: the out-of-tree example plugin
//! (examples/plugin) is built with cargo, installed in a temporary
//! `plugin.path`, and runs source → topic → transformation → sink on a real
//! broker, standalone and distributed. A transformation failing on one
//! record of a batch skips that record only. A panic in a plugin fails its
//! task only; libraries of another ABI version, non-plugin and truncated files
//! are skipped; two libraries claiming one class refuse the start.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use ferry_tests::*;
use serde_json::{json, Value};

const SOURCE: &str = "com.example.ferry.LinesSourceConnector";
const SINK: &str = "com.example.ferry.LinesSinkConnector";
const UPPER: &str = "com.example.ferry.Upper";
const CONVERTER: &str = "com.example.ferry.TextConverter";
const LIBRARY: &str = "libferry_example_plugin.so";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_owned()
}

/// The example plugin, built once per test run with cargo, as a plugin
/// author would; its target directory sits beside the worker's.
fn example_plugin() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = ferry_bin()
            .parent()
            .and_then(Path::parent)
            .expect("the target directory")
            .join("example-plugin");
        let manifest = repo_root().join("examples/plugin/Cargo.toml");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo");
        assert!(status.success(), "building {} failed", manifest.display());
        let lib = target.join("debug").join(LIBRARY);
        assert!(lib.is_file(), "{} was not built", lib.display());
        lib
    })
}

/// A `plugin.path` directory holding the example plugin in a subdirectory
/// of its own, as plugins are usually installed.
fn plugin_dir(dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(plugins.join("example")).expect("plugin directory");
    std::fs::copy(example_plugin(), plugins.join("example").join(LIBRARY)).expect("install");
    plugins
}

/// Compiles C source into a shared library at `out`.
fn cc(dir: &Path, source: &str, out: &Path) {
    let c = dir.join("lib.c");
    std::fs::write(&c, source).expect("write C source");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(out)
        .arg(&c)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed");
}

fn create(w: &Worker, name: &str, config: Value) {
    let (code, body) = call(
        "POST",
        &w.url("/connectors"),
        Some(&json!({"name": name, "config": config})),
    );
    assert_eq!(code, 201, "create {name}: {body}");
}

fn status(w: &Worker, name: &str) -> Value {
    call("GET", &w.url(&format!("/connectors/{name}/status")), None).1
}

/// Waits for task 0 of `name` to fail; returns its trace.
fn failed_trace(w: &Worker, name: &str) -> String {
    wait_for(
        &format!("task 0 of {name} to fail"),
        Duration::from_secs(60),
        || {
            let s = status(w, name);
            (s["tasks"][0]["state"] == "FAILED").then(|| {
                s["tasks"][0]["trace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
        },
    )
}

fn wait_running(w: &Worker, name: &str) {
    wait_for(
        &format!("{name} and its task to run"),
        Duration::from_secs(60),
        || {
            let s = status(w, name);
            (s["connector"]["state"] == "RUNNING" && s["tasks"][0]["state"] == "RUNNING")
                .then_some(())
        },
    );
}

/// Writes `lines` to the source file, runs source (with the Upper
/// transformation) → topic → sink, and waits for the sink's file to hold
/// them upper-cased.
fn pipeline(w: &Worker, dir: &Path, prefix: &str) {
    let topic = unique(&format!("{prefix}-lines"));
    create_topic(&topic, 1);
    let input = dir.join(format!("{prefix}-in.txt"));
    let output = dir.join(format!("{prefix}-out.txt"));
    let lines: Vec<String> = (0..200).map(|i| format!("line {i} of {prefix}")).collect();
    std::fs::write(&input, lines.join("\n") + "\n").expect("input");
    create(
        w,
        &format!("{prefix}-source"),
        json!({
            "connector.class": SOURCE,
            "file": input,
            "topic": topic,
            "batch.size": "64",
            "transforms": "up",
            "transforms.up.type": UPPER,
            "transforms.up.suffix": "!",
        }),
    );
    create(
        w,
        &format!("{prefix}-sink"),
        json!({"connector.class": "LinesSink", "file": output, "topics": topic}),
    );
    let expected: Vec<String> = lines.iter().map(|l| l.to_uppercase() + "!").collect();
    wait_for(
        "the sink's file to hold every line",
        Duration::from_secs(60),
        || (read_lines(&output) == expected).then_some(()),
    );
    wait_running(w, &format!("{prefix}-source"));
    wait_running(w, &format!("{prefix}-sink"));
}

fn check_listing(w: &Worker) {
    let (code, list) = call(
        "GET",
        &w.url("/connector-plugins?connectorsOnly=false"),
        None,
    );
    assert_eq!(code, 200);
    let find = |class: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|p| p["class"] == class))
            .cloned()
            .unwrap_or_else(|| panic!("{class} is not listed: {list}"))
    };
    for (class, kind) in [
        (SOURCE, "source"),
        (SINK, "sink"),
        (UPPER, "transformation"),
        ("com.example.ferry.ValueContains", "predicate"),
        (CONVERTER, "converter"),
    ] {
        assert_eq!(
            find(class),
            json!({"class": class, "type": kind, "version": "0.3.0"})
        );
    }
    // Connectors only, by default.
    let (_, list) = call("GET", &w.url("/connector-plugins"), None);
    assert!(
        list.to_string().contains(SOURCE) && !list.to_string().contains(UPPER),
        "{list}"
    );
    let (code, def) = call("GET", &w.url("/connector-plugins/Upper/config"), None);
    assert_eq!(code, 200, "{def}");
    assert!(def.to_string().contains("\"suffix\""), "{def}");

    let (code, v) = call(
        "PUT",
        &w.url("/connector-plugins/LinesSourceConnector/config/validate"),
        Some(
            &json!({"connector.class": SOURCE, "name": "v", "file": "/tmp/x", "topic": "t", "batch.size": "0"}),
        ),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["name"], SOURCE);
    assert_eq!(v["error_count"], 1, "{v}");
    let batch = v["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["value"]["name"] == "batch.size"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        batch["value"]["errors"][0],
        "Invalid value 0 for configuration batch.size: Value must be at least 1",
        "{v}"
    );
}

#[test]
fn example_plugin_runs_in_a_standalone_worker_and_its_panics_fail_one_task_each() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path());
    let mut w = Worker::new(
        dir.path(),
        &[
            ("plugin.path", plugins.to_str().expect("utf-8 path")),
            ("plugin.discovery", "hybrid_warn"),
        ],
    );
    w.start(&[]);
    check_listing(&w);
    pipeline(&w, dir.path(), "sa");

    // Panics: in poll, in put, in a converter, in a transformation.
    let input = dir.path().join("panic-in.txt");
    std::fs::write(&input, "a\nb\n").expect("input");
    let topic = unique("panics");
    create_topic(&topic, 1);
    produce(&topic, &[b"x", b"y"]);
    create(
        &w,
        "poll-panics",
        json!({"connector.class": SOURCE, "file": input, "topic": topic, "panic.on": "poll"}),
    );
    create(
        &w,
        "put-panics",
        json!({"connector.class": SINK, "file": dir.path().join("p.txt"), "topics": topic, "panic.on": "put",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    create(
        &w,
        "converter-panics",
        json!({"connector.class": SOURCE, "file": input, "topic": topic,
        "value.converter": CONVERTER, "value.converter.panic": "true"}),
    );
    create(
        &w,
        "transform-panics",
        json!({"connector.class": SOURCE, "file": input, "topic": topic,
        "transforms": "boom", "transforms.boom.type": UPPER, "transforms.boom.panic": "true"}),
    );
    for (name, message) in [
        (
            "poll-panics",
            "panicked in poll: LinesSource was told to panic in poll",
        ),
        (
            "put-panics",
            "panicked in put: LinesSink was told to panic in put",
        ),
        (
            "converter-panics",
            "panicked in fromConnectData: TextConverter was told to panic in fromConnectData",
        ),
        (
            "transform-panics",
            "panicked in apply: Upper was told to panic in apply",
        ),
    ] {
        let trace = failed_trace(&w, name);
        assert!(trace.contains(message), "{name}: {trace}");
        assert!(
            trace.contains(LIBRARY),
            "the trace names the library: {trace}"
        );
    }
    // The rest of the worker is unharmed: the healthy pipeline still runs
    // and the REST API answers.
    wait_running(&w, "sa-source");
    wait_running(&w, "sa-sink");
    pipeline(&w, dir.path(), "sa2");
    assert!(w.log_text().contains("plugin.discovery is ignored"));
    assert!(w.terminate().success(), "a clean shutdown");
}

/// A standalone worker with the example plugin in its `plugin.path`, and
/// the `extra` worker settings, started.
fn plugin_worker(dir: &Path, extra: &[(&str, &str)]) -> Worker {
    let plugins = plugin_dir(dir);
    let mut props = vec![("plugin.path", plugins.to_str().expect("utf-8 path"))];
    props.extend_from_slice(extra);
    let mut w = Worker::new(dir, &props);
    w.start(&[]);
    w
}

/// The first `n` values of `topic`, as text.
fn topic_texts(topic: &str, n: usize) -> Vec<String> {
    consume_values(topic, n, Duration::from_secs(60))
        .into_iter()
        .map(|v| String::from_utf8(v.unwrap_or_default()).expect("utf-8"))
        .collect()
}

/// Waits for a sink's file to hold `lines`, then for `dead` to be the
/// first record of its dead letter queue.
fn expect_output_and_dead_letter(output: &Path, lines: &[String], dlq: &str, dead: &[u8]) {
    wait_for(
        "the sink's file to hold every good record",
        Duration::from_secs(60),
        || (read_lines(output) == lines).then_some(()),
    );
    let got = consume_values(dlq, 1, Duration::from_secs(60));
    assert_eq!(got, vec![Some(dead.to_vec())], "the dead letter queue");
}

/// A plugin's transformation and predicate are called once per batch;
/// a record that fails in the middle of one is the only one skipped (and
/// dead-lettered), on both sides, the others keep their order.
#[test]
fn a_plugin_transformation_failing_mid_batch_skips_that_record_only() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = plugin_worker(dir.path(), &[]);
    let values: Vec<String> = (0..40)
        .map(|i| match i {
            17 => "bad".to_owned(),
            i if i % 2 == 0 => format!("even {i}"),
            i => format!("odd {i}"),
        })
        .collect();
    // Upper fails on "bad"; it applies to values with a "d" in them only
    // (the example predicate), so the even ones pass unchanged.
    let chain = json!({
        "transforms": "up",
        "transforms.up.type": UPPER,
        "transforms.up.fail.on": "bad",
        "transforms.up.predicate": "hasD",
        "predicates": "hasD",
        "predicates.hasD.type": "com.example.ferry.ValueContains",
        "predicates.hasD.text": "d",
        "errors.tolerance": "all",
    });
    let with_chain = |extra: Value| {
        let mut config = chain.clone();
        if let (Some(c), Value::Object(extra)) = (config.as_object_mut(), extra) {
            c.extend(extra);
        }
        config
    };
    let expected: Vec<String> = values
        .iter()
        .filter(|v| *v != "bad")
        .map(|v| {
            if v.contains('d') {
                v.to_uppercase()
            } else {
                v.clone()
            }
        })
        .collect();

    // Source side: "bad" is skipped, the rest reach the topic in order.
    let input = dir.path().join("mid-batch-in.txt");
    std::fs::write(&input, values.join("\n") + "\n").expect("input");
    let topic = unique("mid-batch-src");
    create_topic(&topic, 1);
    create(
        &w,
        "mid-batch-source",
        with_chain(
            json!({"connector.class": SOURCE, "file": input, "topic": topic,
            "batch.size": "40", "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
        ),
    );
    assert_eq!(
        topic_texts(&topic, expected.len()),
        expected,
        "the source side's records"
    );

    // Sink side (the built-in file sink): "bad" goes to the dead letter
    // queue, the rest to the file in order.
    let raw = unique("mid-batch-raw");
    create_topic(&raw, 1);
    let raw_values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    produce(&raw, &raw_values);
    let dlq = unique("mid-batch-dlq");
    let output = dir.path().join("mid-batch-out.txt");
    create(
        &w,
        "mid-batch-sink",
        with_chain(
            json!({"connector.class": "FileStreamSink", "file": output, "topics": raw,
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.topic.replication.factor": "1"}),
        ),
    );
    expect_output_and_dead_letter(&output, &expected, &dlq, b"bad");
    wait_running(&w, "mid-batch-source");
    wait_running(&w, "mid-batch-sink");
    assert!(w.terminate().success(), "a clean shutdown");
}

/// A plugin sink's `put` runs while the worker fetches the next batch, so
/// the worker hears of a failed batch one call late. A retriable failure
/// must still deliver that batch again, before the ones after it: every
/// record reaches the file once, in order, and the task keeps running.
#[test]
fn a_plugin_sink_failing_retriably_gets_its_batch_again_in_order() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    // Batches of 50, so the failing one sits between others.
    let mut w = plugin_worker(dir.path(), &[("consumer.max.poll.records", "50")]);
    let topic = unique("retry-sink");
    create_topic(&topic, 1);
    let lines: Vec<String> = (0..1000).map(|i| format!("line-{i}")).collect();
    let values: Vec<&[u8]> = lines.iter().map(|v| v.as_bytes()).collect();
    produce(&topic, &values);
    let output = dir.path().join("retry-out.txt");
    create(
        &w,
        "retry-sink",
        json!({"connector.class": SINK, "file": output, "topics": topic,
        "retry.on": "line-537", "retry.times": "3",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    wait_for(
        "the sink's file to hold every record",
        Duration::from_secs(60),
        || (read_lines(&output).len() >= lines.len()).then_some(()),
    );
    assert_eq!(read_lines(&output), lines, "each record once, in order");
    wait_running(&w, "retry-sink");
    assert!(w.terminate().success(), "a clean shutdown");
}

/// A plugin's converter is called once per batch: a record it fails to
/// convert in the middle of one is the only one skipped (and, on the sink
/// side, dead-lettered with its original bytes); the others keep their
/// order.
#[test]
fn a_plugin_converter_failing_mid_batch_skips_that_record_only() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = plugin_worker(dir.path(), &[]);
    let values: Vec<String> = (0..30).map(|i| format!("value {i}")).collect();
    let good: Vec<String> = values
        .iter()
        .filter(|v| *v != "value 11")
        .cloned()
        .collect();

    // Source side: the converter fails to serialize "value 11".
    let input = dir.path().join("conv-in.txt");
    std::fs::write(&input, values.join("\n") + "\n").expect("input");
    let topic = unique("conv-mid-batch");
    create_topic(&topic, 1);
    create(
        &w,
        "conv-source",
        json!({"connector.class": SOURCE, "file": input, "topic": topic, "batch.size": "30",
            "value.converter": CONVERTER, "value.converter.fail.on": "value 11",
            "errors.tolerance": "all"}),
    );
    assert_eq!(
        topic_texts(&topic, good.len()),
        good,
        "the source side's records"
    );

    // Sink side: the converter cannot read the bytes that are not UTF-8.
    let raw = unique("conv-mid-batch-raw");
    create_topic(&raw, 1);
    let mut raw_values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    raw_values[11] = b"\xff\xfe not text";
    produce(&raw, &raw_values);
    let dlq = unique("conv-mid-batch-dlq");
    let output = dir.path().join("conv-out.txt");
    create(
        &w,
        "conv-sink",
        json!({"connector.class": "FileStreamSink", "file": output, "topics": raw,
            "value.converter": CONVERTER, "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.topic.replication.factor": "1"}),
    );
    expect_output_and_dead_letter(&output, &good, &dlq, b"\xff\xfe not text");
    wait_running(&w, "conv-source");
    wait_running(&w, "conv-sink");
    assert!(w.terminate().success(), "a clean shutdown");
}

/// The keys a plugin's connector declares as naming local files are
/// bounded by `file.connectors.allowed.paths`, as the built-in file
/// connectors' `file` is.
#[test]
fn a_plugin_connectors_files_stay_inside_the_allowed_directories() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).expect("allowed dir");
    let allowed = allowed.canonicalize().expect("canonical");
    let mut w = plugin_worker(
        dir.path(),
        &[(
            "file.connectors.allowed.paths",
            allowed.to_str().expect("utf-8 path"),
        )],
    );
    let topic = unique("allowed-files");
    for (class, outside) in [(SOURCE, "/etc/passwd"), (SINK, "/tmp/ferry-outside.txt")] {
        let config =
            json!({"connector.class": class, "file": outside, "topic": topic, "topics": topic});
        let (code, body) = call(
            "POST",
            &w.url("/connectors"),
            Some(&json!({"name": unique("outside"), "config": config})),
        );
        assert_eq!(code, 400, "{class} with {outside}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("file") && message.contains("file.connectors.allowed.paths"),
            "{message}"
        );
    }
    // Inside the directory, the plugin's source runs.
    let input = allowed.join("in.txt");
    std::fs::write(&input, "a\n").expect("input");
    create_topic(&topic, 1);
    create(
        &w,
        "inside-source",
        json!({"connector.class": SOURCE, "file": input, "topic": topic}),
    );
    wait_running(&w, "inside-source");
    assert!(w.terminate().success(), "a clean shutdown");
}

#[test]
fn example_plugin_runs_in_a_distributed_worker() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path());
    let cluster = unique("native-plugins");
    let mut w = Worker::distributed(
        &dir.path().join("worker"),
        &cluster,
        &[("plugin.path", plugins.to_str().expect("utf-8 path"))],
    );
    w.start(&[]);
    check_listing(&w);
    pipeline(&w, dir.path(), "dist");
    assert!(w.terminate().success(), "a clean shutdown");
}

/// `commit_record` reaches the plugin, in batches, with where Kafka wrote
/// each record; a stop reaches a `poll` waiting inside the plugin at once.
#[test]
fn a_plugin_task_gets_commit_record_and_hears_a_stop() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path());
    let mut w = Worker::new(
        dir.path(),
        &[
            ("plugin.path", plugins.to_str().expect("utf-8 path")),
            // Far beyond the test's deadline: only a stop that crosses the
            // ABI ends the wait below in time.
            ("task.shutdown.graceful.timeout.ms", "120000"),
        ],
    );
    w.start(&[]);

    let topic = unique("acks");
    create_topic(&topic, 1);
    let lines = |name: &str| {
        let input = dir.path().join(format!("{name}-in.txt"));
        std::fs::write(&input, "a\nb\nc\nd\ne\n").expect("input");
        input
    };
    // Line n was written at offset n - 1 of partition 0.
    let expected = |topic: &str| -> Vec<String> {
        (1..=5)
            .map(|n| format!("{n} {topic}-0@{}", n - 1))
            .collect()
    };
    let acks = dir.path().join("acks.txt");
    create(
        &w,
        "acks",
        json!({"connector.class": SOURCE, "file": lines("acks"), "topic": topic,
            "batch.size": "2", "acks.file": acks}),
    );
    wait_for(
        "every line to be acknowledged to the plugin",
        Duration::from_secs(60),
        || (read_lines(&acks) == expected(&topic)).then_some(()),
    );

    // A poll that waits ten minutes for more lines; a delete stops it.
    let idle_topic = unique("idle");
    create_topic(&idle_topic, 1);
    let idle_acks = dir.path().join("idle-acks.txt");
    create(
        &w,
        "idle",
        json!({"connector.class": SOURCE, "file": lines("idle"), "topic": idle_topic,
            "acks.file": idle_acks, "poll.idle.ms": "600000"}),
    );
    assert_eq!(
        consume_values(&idle_topic, 5, Duration::from_secs(60)).len(),
        5
    );
    wait_running(&w, "idle");
    let started = std::time::Instant::now();
    let (code, body) = call("DELETE", &w.url("/connectors/idle"), None);
    assert_eq!(code, 204, "{body}");
    wait_for("the plugin's task to stop", Duration::from_secs(20), || {
        w.log_text().contains("task stopped").then_some(())
    });
    assert!(
        !w.log_text().contains("did not stop in time"),
        "stopped by the signal, not cancelled after {:?}",
        started.elapsed()
    );
    // Acknowledgements still due were handed over before the task stopped.
    assert_eq!(read_lines(&idle_acks), expected(&idle_topic));
    assert_eq!(
        read_lines(&acks),
        expected(&topic),
        "nothing acknowledged twice"
    );
    assert!(w.terminate().success(), "a clean shutdown");
}

#[test]
fn broken_libraries_are_skipped_and_the_worker_runs() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path());
    let broken = plugins.join("broken");
    std::fs::create_dir_all(&broken).expect("dir");
    // A library of a future ABI version: only its version may be read.
    let future = broken.join("libfuture.so");
    cc(
        dir.path(),
        "#include <stdint.h>\nconst uint32_t ferry_plugin_entry[2] = {999, 0};\n",
        &future,
    );
    // A shared library that is no plugin.
    let other = broken.join("libother.so");
    cc(dir.path(), "int not_a_plugin(void) { return 1; }\n", &other);
    // A truncated copy of a real plugin, directly in the plugin.path dir.
    let truncated = plugins.join("libtruncated.so");
    let bytes = std::fs::read(example_plugin()).expect("read plugin");
    std::fs::write(&truncated, &bytes[..4096]).expect("truncate");
    // Not a library at all, by name: ignored without a word.
    std::fs::write(plugins.join("README.txt"), "notes").expect("write");

    let mut w = Worker::new(
        dir.path(),
        &[("plugin.path", plugins.to_str().expect("utf-8 path"))],
    );
    w.start(&[]);
    let log = w.log_text();
    assert!(
        log.contains(&format!(
            "plugin library {} was built for plugin ABI version 999, but this worker supports version {}",
            future.display(),
            ferry_plugin_abi::ABI_VERSION
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "{} is not a Ferry plugin library",
            other.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "cannot load plugin library {}",
            truncated.display()
        )),
        "{log}"
    );
    assert!(!log.contains("README"), "{log}");
    // The good library still loads and works.
    check_listing(&w);
    let (code, _) = call("GET", &w.url("/connectors"), None);
    assert_eq!(code, 200);
    assert!(w.terminate().success());
}

/// A source connector written in C against examples/plugin-c's header,
/// compiled with `cc` here: the ABI needs no Rust compiler, let alone the
/// worker's.
#[test]
fn a_source_connector_written_in_c_runs() {
    require_kafka();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin directory");
    let source = repo_root().join("examples/plugin-c/counter_source.c");
    let status = Command::new("cc")
        .args([
            "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-O2", "-o",
        ])
        .arg(plugins.join("libcounter_source.so"))
        .arg(&source)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed");
    let mut w = Worker::new(
        dir.path(),
        &[("plugin.path", plugins.to_str().expect("utf-8 path"))],
    );
    w.start(&[]);
    let (_, list) = call("GET", &w.url("/connector-plugins"), None);
    assert!(
        list.as_array().is_some_and(|a| a.contains(&json!({
            "class": "com.example.c.CounterSourceConnector", "type": "source", "version": "1.0-c"
        }))),
        "{list}"
    );
    // The definition came across as JSON, with its validator.
    let (code, v) = call(
        "PUT",
        &w.url("/connector-plugins/CounterSourceConnector/config/validate"),
        Some(
            &json!({"connector.class": "CounterSource", "name": "c", "topic": "t", "count": "-1"}),
        ),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["error_count"], 1, "{v}");

    let topic = unique("c-counter");
    create_topic(&topic, 1);
    create(
        &w,
        "counter",
        json!({"connector.class": "CounterSource", "topic": topic, "count": "250",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"}),
    );
    let values = consume_values(&topic, 250, Duration::from_secs(60));
    let expected: Vec<Option<Vec<u8>>> = (0..250)
        .map(|i| Some(format!("c-record-{i}").into_bytes()))
        .collect();
    assert_eq!(values, expected);
    wait_running(&w, "counter");
    assert!(w.terminate().success());
}

#[test]
fn two_libraries_claiming_one_class_refuse_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = plugin_dir(dir.path());
    let copy = plugins.join("copy");
    std::fs::create_dir_all(&copy).expect("dir");
    std::fs::copy(example_plugin(), copy.join(LIBRARY)).expect("copy");
    let (status, stderr) = run_to_exit(
        dir.path(),
        "standalone",
        &[
            ("bootstrap.servers", &bootstrap()),
            (
                "offset.storage.file.filename",
                dir.path().join("offsets").to_str().expect("utf-8"),
            ),
            ("listeners", &format!("http://127.0.0.1:{}", free_port())),
            ("plugin.path", plugins.to_str().expect("utf-8 path")),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{stderr}");
    let first = plugins.join("copy").join(LIBRARY);
    let second = plugins.join("example").join(LIBRARY);
    assert!(
        stderr.contains("ambiguous plugin class in plugin.path"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "class com.example.ferry.LinesSourceConnector is already registered from {}",
            first.display()
        )) && stderr.contains(&second.display().to_string()),
        "both files are named: {stderr}"
    );
}
