//! The REST API behind Kafka Connect's basic authentication extension:
//! `rest.extension.classes=…BasicAuthSecurityRestExtension` with its JAAS
//! file (`PropertyFileLoginModule`, `file=` of `user: password` lines),
//! plus Ferry's bcrypt passwords and read-only users; and in a cluster,
//! requests forwarded to the leader with the caller's credentials while the
//! workers' own task-config requests need none.

use std::path::Path;
use std::time::Duration;

use ferry_tests::cluster::workers_running;
use ferry_tests::*;
use serde_json::{json, Value};

const ADMIN: (&str, &str) = ("admin", "admin-secret");
const VIEWER: (&str, &str) = ("viewer", "viewer-secret");

/// The worker properties that turn the extension on, with users `admin`
/// (a plain password) and `viewer` (a bcrypt one, read-only).
fn auth_properties(dir: &Path) -> Vec<(String, String)> {
    let hash = bcrypt::hash(VIEWER.1, 4).expect("bcrypt");
    let mut props = basic_auth_properties(
        dir,
        &format!("{}: {}\n{}: {hash}\n", ADMIN.0, ADMIN.1, VIEWER.0),
    );
    props.push(("rest.basic.auth.read.only.users".into(), VIEWER.0.into()));
    props
}

fn pairs(props: &[(String, String)]) -> Vec<(&str, &str)> {
    props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// One request with (or without) credentials: status, `WWW-Authenticate`,
/// and the body as JSON.
fn request(
    method: &str,
    url: &str,
    user: Option<(&str, &str)>,
    body: Option<&Value>,
) -> (u16, Option<String>, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(100))
        .build()
        .expect("client");
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        url,
    );
    if let Some((u, p)) = user {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, challenge, json)
}

fn file_source(dir: &Path, topic: &str) -> Value {
    let input = dir.join(format!("{topic}.txt"));
    std::fs::write(&input, "one\ntwo\n").expect("input");
    json!({
        "connector.class": "FileStreamSource",
        "file": input.to_str().expect("utf-8"),
        "topic": topic,
    })
}

#[test]
fn users_need_credentials_and_read_only_users_only_read() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let props = auth_properties(dir.path());
    let mut worker = Worker::new(dir.path(), &pairs(&props));
    worker.start(&[]);
    let url = |p: &str| worker.url(p);

    for user in [None, Some(("admin", "wrong")), Some(("nobody", ADMIN.1))] {
        let (code, challenge, body) = request("GET", &url("/connectors"), user, None);
        assert_eq!(code, 401, "{user:?}: {body}");
        assert_eq!(body["error_code"], 401, "{body}");
        assert_eq!(body["message"], "User cannot access the resource.");
        assert!(challenge.is_some_and(|c| c.starts_with("Basic")));
    }
    let (code, _, _) = request("GET", &url("/"), None, None);
    assert_eq!(code, 401, "the root resource is protected too");

    let name = unique("auth-source");
    let config = file_source(dir.path(), &unique("auth-topic"));
    let create = json!({"name": name, "config": config});
    let (code, _, body) = request("POST", &url("/connectors"), Some(VIEWER), Some(&create));
    assert_eq!(code, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("viewer")),
        "{body}"
    );
    let (code, _, body) = request("POST", &url("/connectors"), Some(ADMIN), Some(&create));
    assert_eq!(code, 201, "{body}");

    // The viewer (a bcrypt password) reads everything, twice (the second
    // check comes from the cache of verified hashes) ...
    for _ in 0..2 {
        let (code, _, body) = request("GET", &url("/connectors"), Some(VIEWER), None);
        assert_eq!(code, 200, "{body}");
        assert!(
            body.as_array()
                .is_some_and(|a| a.iter().any(|n| n == name.as_str())),
            "{body}"
        );
    }
    wait_for("the connector to run", Duration::from_secs(30), || {
        let (code, _, s) = request(
            "GET",
            &url(&format!("/connectors/{name}/status")),
            Some(VIEWER),
            None,
        );
        (code == 200 && s["connector"]["state"] == "RUNNING").then_some(())
    });
    // ... and changes nothing.
    for (method, path, body) in [
        ("PUT", format!("/connectors/{name}/config"), Some(&config)),
        ("PUT", format!("/connectors/{name}/pause"), None),
        ("POST", format!("/connectors/{name}/restart"), None),
        ("DELETE", format!("/connectors/{name}"), None),
        (
            "PUT",
            "/admin/loggers/root".to_string(),
            Some(&json!({"level": "DEBUG"})),
        ),
    ] {
        let (code, _, answer) = request(method, &url(&path), Some(VIEWER), body);
        assert_eq!(code, 403, "{method} {path}: {answer}");
    }
    let (code, _, _) = request(
        "DELETE",
        &url(&format!("/connectors/{name}")),
        Some(ADMIN),
        None,
    );
    assert_eq!(code, 204);
    let log = worker.log_text();
    assert!(
        !log.contains(ADMIN.1) && !log.contains(VIEWER.1),
        "no password in the log"
    );
}

/// Another REST extension stops the worker (it would run without what the
/// extension adds); a worker without authentication says so loudly. (That
/// it then listens on loopback unless `listeners` says otherwise is a unit
/// test of the worker configuration.)
#[test]
fn other_extensions_are_refused_and_no_authentication_is_said_loudly() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let offsets = dir.path().join("offsets");
    let (status, log) = run_to_exit(
        dir.path(),
        "standalone",
        &[
            ("bootstrap.servers", &bootstrap()),
            (
                "offset.storage.file.filename",
                offsets.to_str().expect("utf-8"),
            ),
            ("rest.extension.classes", "com.example.OtherExtension"),
        ],
        &[],
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(
        log.contains("rest.extension.classes") && log.contains("com.example.OtherExtension"),
        "{log}"
    );

    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&[]);
    let log = worker.log_text();
    assert!(
        log.contains("the REST API asks for no authentication"),
        "a loud warning: {log}"
    );
}

#[test]
fn a_cluster_forwards_with_the_callers_credentials_and_signs_its_own_requests() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let props = auth_properties(dir.path());
    let cluster = unique("auth-cluster");
    let mut workers: Vec<Worker> = (0..2)
        .map(|i| Worker::distributed(&dir.path().join(format!("w{i}")), &cluster, &pairs(&props)))
        .collect();
    for w in &mut workers {
        w.start(&[]);
    }
    for w in &workers {
        wait_for("a healthy worker", Duration::from_secs(60), || {
            let (code, _, _) = request("GET", &w.url("/health"), Some(ADMIN), None);
            (code == 200).then_some(())
        });
    }
    // Created through each worker: one of them forwards to the leader,
    // with the caller's credentials; without them, nothing is forwarded.
    let mut names = Vec::new();
    for i in 0..4 {
        let via = &workers[i % 2];
        let name = unique("auth-forwarded");
        let create =
            json!({"name": name, "config": file_source(dir.path(), &unique("auth-topic"))});
        let (code, _, body) = request("POST", &via.url("/connectors"), None, Some(&create));
        assert_eq!(code, 401, "{body}");
        let (code, _, body) = request("POST", &via.url("/connectors"), Some(ADMIN), Some(&create));
        assert_eq!(code, 201, "through worker {}: {body}", i % 2);
        names.push(name);
    }
    // Their tasks run on both workers: a connector on the follower sends
    // its task configs to the leader signed, with no user.
    let placed = workers_running(&names, |name| {
        let url = workers[0].url(&format!("/connectors/{name}/status"));
        let (code, _, s) = request("GET", &url, Some(VIEWER), None);
        (code == 200).then_some(s)
    });
    assert_eq!(placed.len(), 2, "connectors on both workers: {placed:?}");
    // The exemption is the signature's: an unsigned task-config request
    // from anyone else is refused.
    let path = format!("/connectors/{}/tasks", names[0]);
    for w in &workers {
        let (code, _, body) = request(
            "POST",
            &w.url(&path),
            None,
            Some(&json!([{"task.class": "x"}])),
        );
        assert!(
            matches!(code, 400 | 403),
            "unsigned task configs: {code} {body}"
        );
    }
}
