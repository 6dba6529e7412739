//! The REST API over HTTPS: an `https` listener with Kafka Connect's
//! `listeners.https.ssl.*` keys (and the unprefixed `ssl.*` fallback), a
//! client certificate required by `ssl.client.auth`, and a cluster whose
//! workers forward to each other over HTTPS, behind basic authentication.
//! Certificates are the test CA's from `deploy/local/kafka.sh` (the
//! broker's, for 127.0.0.1 and localhost, serves as the worker's).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_security::TlsConfig;
use ferry_tests::cluster::workers_running;
use ferry_tests::*;
use serde_json::{json, Value};

const STORE_PASSWORD: &str = "ferry-store";

/// A client that trusts the test CA, with the client certificate of
/// `client.p12` when `with_certificate`.
fn client(with_certificate: bool) -> reqwest::blocking::Client {
    let truststore = tls_file("truststore.jks");
    let keystore = tls_file("client.p12");
    let mut props: HashMap<String, String> = [
        ("ssl.truststore.location", truststore.as_str()),
        ("ssl.truststore.password", STORE_PASSWORD),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if with_certificate {
        for (k, v) in [
            ("ssl.keystore.location", keystore.as_str()),
            ("ssl.keystore.password", STORE_PASSWORD),
        ] {
            props.insert(k.into(), v.into());
        }
    }
    let tls = TlsConfig::from_props(&props)
        .and_then(|t| t.client_config())
        .expect("client TLS");
    reqwest::blocking::Client::builder()
        .use_preconfigured_tls(Arc::unwrap_or_clone(tls))
        .timeout(Duration::from_secs(100))
        .build()
        .expect("client")
}

fn get(client: &reqwest::blocking::Client, url: &str) -> Result<(u16, Value), String> {
    let resp = client.get(url).send().map_err(|e| format!("{e:?}"))?;
    let code = resp.status().as_u16();
    Ok((code, resp.json().unwrap_or(Value::Null)))
}

#[test]
fn an_https_listener_requires_the_client_certificate_it_is_told_to() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let keystore = tls_file("broker-keystore.pem");
    let truststore = tls_file("truststore.jks");
    let mut worker = Worker::new(
        dir.path(),
        &[
            ("listeners.https.ssl.keystore.type", "PEM"),
            ("listeners.https.ssl.keystore.location", &keystore),
            ("listeners.https.ssl.truststore.location", &truststore),
            ("listeners.https.ssl.truststore.password", STORE_PASSWORD),
            ("listeners.https.ssl.client.auth", "required"),
        ],
    );
    worker.https().start(&[]);
    let url = worker.url("/");
    assert!(url.starts_with("https://"), "{url}");
    let (code, info) = get(&client(true), &url).expect("with a client certificate");
    assert_eq!(code, 200, "{info}");
    assert!(info["version"].is_string(), "{info}");
    get(&client(false), &url).expect_err("no client certificate");
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert_eq!(
        http_get(&format!("http://127.0.0.1:{}/", worker.port)),
        None
    );
}

#[test]
fn a_cluster_over_https_forwards_and_sends_task_configs_between_workers() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let keystore = tls_file("broker-keystore.pem");
    let truststore = tls_file("truststore.p12");
    // The unprefixed ssl.* keys: Kafka Connect's fallback.
    let mut props = vec![
        ("ssl.keystore.type".to_string(), "PEM".to_string()),
        ("ssl.keystore.location".to_string(), keystore),
        ("ssl.truststore.location".to_string(), truststore),
        (
            "ssl.truststore.password".to_string(),
            STORE_PASSWORD.to_string(),
        ),
    ];
    props.extend(basic_auth_properties(dir.path(), "admin: admin-secret\n"));
    let pairs: Vec<(&str, &str)> = props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let cluster = unique("https-cluster");
    let mut workers: Vec<Worker> = (0..2)
        .map(|i| Worker::distributed(&dir.path().join(format!("w{i}")), &cluster, &pairs))
        .collect();
    for w in &mut workers {
        w.https().start(&[]);
    }
    let client = client(false);
    let send = |method: reqwest::Method, url: &str, body: Option<&Value>| {
        let mut req = client
            .request(method, url)
            .basic_auth("admin", Some("admin-secret"));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().unwrap_or_else(|e| panic!("{url}: {e:?}"));
        let code = resp.status().as_u16();
        (code, resp.json::<Value>().unwrap_or(Value::Null))
    };
    for w in &workers {
        wait_for(
            "a healthy worker over https",
            Duration::from_secs(60),
            || {
                let (code, _) = send(reqwest::Method::GET, &w.url("/health"), None);
                (code == 200).then_some(())
            },
        );
    }
    let mut names = Vec::new();
    for i in 0..4 {
        let name = unique("https-source");
        let input = dir.path().join(format!("{name}.txt"));
        std::fs::write(&input, "a\nb\n").expect("input");
        let create = json!({"name": name, "config": {
            "connector.class": "FileStreamSource",
            "file": input.to_str().expect("utf-8"),
            "topic": unique("https-topic"),
        }});
        let (code, body) = send(
            reqwest::Method::POST,
            &workers[i % 2].url("/connectors"),
            Some(&create),
        );
        assert_eq!(code, 201, "through worker {}: {body}", i % 2);
        names.push(name);
    }
    let placed = workers_running(&names, |name| {
        let url = workers[1].url(&format!("/connectors/{name}/status"));
        let (code, s) = send(reqwest::Method::GET, &url, None);
        (code == 200).then_some(s)
    });
    assert_eq!(placed.len(), 2, "connectors on both workers: {placed:?}");
}

/// `admin.listeners`: the admin endpoints move to their own listener (here
/// https, with `admin.listeners.https.*`), or with an empty value are
/// served nowhere; the main listener keeps the rest.
#[test]
fn admin_endpoints_move_to_admin_listeners() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let admin_port = free_port();
    let admin_listener = format!("https://127.0.0.1:{admin_port}");
    let keystore = tls_file("broker-keystore.pem");
    let mut worker = Worker::new(
        dir.path(),
        &[
            ("admin.listeners", &admin_listener),
            ("admin.listeners.https.ssl.keystore.type", "PEM"),
            ("admin.listeners.https.ssl.keystore.location", &keystore),
        ],
    );
    worker.start(&[]);
    let (code, _) = http_get(&worker.url("/admin/loggers")).expect("main listener");
    assert_eq!(code, 404, "not on the main listener");
    let (code, _) = http_get(&worker.url("/connectors")).expect("main listener");
    assert_eq!(code, 200);
    let (code, loggers) = wait_for("the admin listener", Duration::from_secs(30), || {
        get(&client(false), &format!("{admin_listener}/admin/loggers")).ok()
    });
    assert_eq!(code, 200, "{loggers}");
    assert!(loggers["root"]["level"].is_string(), "{loggers}");
    let (code, _) = get(&client(false), &format!("{admin_listener}/connectors")).expect("admin");
    assert_eq!(code, 404, "only the admin endpoints there");
    drop(worker);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut worker = Worker::new(dir.path(), &[("admin.listeners", "")]);
    worker.start(&[]);
    let (code, _) = http_get(&worker.url("/admin/loggers")).expect("main listener");
    assert_eq!(code, 404, "served nowhere");
}
