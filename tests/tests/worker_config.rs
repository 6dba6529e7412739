//! Worker properties are parsed once at start: a malformed value of a key
//! Kafka Connect declares, or a missing required key, stops the worker at
//! once with the key and the reason; keys the worker does not declare pass
//! through.

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use ferry_tests::*;

/// How long a worker may take to refuse its configuration.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(5);

/// Runs `ferry <mode> worker.properties` with `lines` as its properties and
/// returns its exit status and stderr, failing the test if it is still
/// running after [`REFUSAL_DEADLINE`].
fn refused(dir: &Path, mode: &str, lines: &[(&str, &str)]) -> (ExitStatus, String) {
    run_to_exit(dir, mode, lines, &[], REFUSAL_DEADLINE)
}

fn standalone_props(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("bootstrap.servers", bootstrap()),
        ("listeners", format!("http://127.0.0.1:{}", free_port())),
        (
            "offset.storage.file.filename",
            dir.join("offsets").display().to_string(),
        ),
    ]
}

fn with<'a>(
    base: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    base.iter()
        .map(|(k, v)| (*k, v.as_str()))
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .chain(extra.iter().copied())
        .collect()
}

#[test]
fn malformed_number_is_refused_with_the_key_and_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = standalone_props(dir.path());
    let (status, stderr) = refused(
        dir.path(),
        "standalone",
        &with(&base, &[("offset.flush.interval.ms", "abc")]),
    );
    assert!(!status.success(), "exited with {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains(
            "Invalid value abc for configuration offset.flush.interval.ms: Not a number of type LONG"
        ),
        "stderr:\n{stderr}"
    );
}

#[test]
fn listener_protocol_other_than_http_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = standalone_props(dir.path());
    let (status, stderr) = refused(
        dir.path(),
        "standalone",
        &with(&base, &[("listeners", "ftp://x")]),
    );
    assert!(!status.success(), "exited with {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains("Invalid value ftp://x for configuration listeners"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(r#"Listener protocol must be either "http" or "https""#),
        "stderr:\n{stderr}"
    );
}

#[test]
fn distributed_worker_without_group_id_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = unique("no-group");
    let listener = format!("http://127.0.0.1:{}", free_port());
    let (config_topic, offsets_topic, status_topic) = (
        format!("{cluster}-configs"),
        format!("{cluster}-offsets"),
        format!("{cluster}-status"),
    );
    let (status, stderr) = refused(
        dir.path(),
        "distributed",
        &[
            ("bootstrap.servers", &bootstrap()),
            ("listeners", &listener),
            ("config.storage.topic", &config_topic),
            ("offset.storage.topic", &offsets_topic),
            ("status.storage.topic", &status_topic),
        ],
    );
    assert!(!status.success(), "exited with {status}; stderr:\n{stderr}");
    assert!(
        stderr.contains(r#"Missing required configuration "group.id" which has no default value."#),
        "stderr:\n{stderr}"
    );
}

#[test]
fn undeclared_keys_pass_through() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(
        dir.path(),
        &[
            ("some.plugin.setting", "anything"),
            ("producer.linger.ms", "5"),
        ],
    );
    worker.start(&[]);
    let (code, _) = http_get(&worker.url("/")).expect("REST API answers");
    assert_eq!(code, 200);
}
