//! Ferry's Kafka connections on secured listeners of the local broker
//! (`deploy/local/kafka.sh`): SASL_SSL with SCRAM-SHA-512 (9096) and SSL
//! that requires a client certificate (9097), configured exactly as a Java
//! worker's properties configure them — `sasl.jaas.config`, JKS and PKCS12
//! stores, and the `producer.` / `consumer.` copies Kafka Connect needs for
//! its connectors' clients. The worker talks to no other listener, so every
//! client (producers, consumers, admin, the internal topics' readers and
//! the group member) goes through the secured one.

mod jdbc_support;

use std::time::Duration;

use ferry_tests::cluster::{Cluster, Transfer};
use ferry_tests::*;
use jdbc_support::*;

const SCRAM_JAAS: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"ferry\" password=\"ferry-secret\";";
const STORE_PASSWORD: &str = "ferry-store";
/// By host name, so the broker certificate's name is checked as well.
const SASL_SSL_BOOTSTRAP: &str = "localhost:9096";
const MTLS_BOOTSTRAP: &str = "localhost:9097";

/// `settings` at worker level and again under each client prefix, as a
/// Kafka Connect worker needs them.
fn everywhere(bootstrap: &str, settings: &[(&str, String)]) -> Vec<(String, String)> {
    let mut out = vec![("bootstrap.servers".to_string(), bootstrap.to_string())];
    for prefix in ["", "producer.", "consumer.", "admin."] {
        for (k, v) in settings {
            out.push((format!("{prefix}{k}"), v.clone()));
        }
    }
    out
}

/// SASL_SSL with SCRAM-SHA-512 and a JKS trust store.
fn sasl_ssl_scram_jks() -> Vec<(String, String)> {
    everywhere(
        SASL_SSL_BOOTSTRAP,
        &[
            ("security.protocol", "SASL_SSL".into()),
            ("sasl.mechanism", "SCRAM-SHA-512".into()),
            ("sasl.jaas.config", SCRAM_JAAS.into()),
            ("ssl.truststore.location", tls_file("truststore.jks")),
            ("ssl.truststore.password", STORE_PASSWORD.into()),
        ],
    )
}

/// SSL with a client certificate from a PKCS12 key store, and a PKCS12
/// trust store.
fn ssl_pkcs12_client_certificate() -> Vec<(String, String)> {
    everywhere(
        MTLS_BOOTSTRAP,
        &[
            ("security.protocol", "SSL".into()),
            ("ssl.truststore.type", "PKCS12".into()),
            ("ssl.truststore.location", tls_file("truststore.p12")),
            ("ssl.truststore.password", STORE_PASSWORD.into()),
            ("ssl.keystore.type", "PKCS12".into()),
            ("ssl.keystore.location", tls_file("client.p12")),
            ("ssl.keystore.password", STORE_PASSWORD.into()),
        ],
    )
}

fn pairs(props: &[(String, String)]) -> Vec<(&str, &str)> {
    props
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// File → topic → file on one standalone worker with `security`.
fn standalone_round_trip(security: &[(String, String)]) {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("secure-roundtrip");
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    let lines: Vec<String> = (0..2000).map(|i| format!("secure line {i:05}")).collect();
    std::fs::write(&input, lines.join("\n") + "\n").expect("input");
    let connectors = vec![
        write_connector(
            dir.path(),
            "secure-in",
            &[
                ("connector.class", "FileStreamSource"),
                ("file", input.to_str().expect("utf-8 path")),
                ("topic", &topic),
            ],
        ),
        write_connector(
            dir.path(),
            "secure-out",
            &[
                ("connector.class", "FileStreamSink"),
                ("file", output.to_str().expect("utf-8 path")),
                ("topics", &topic),
            ],
        ),
    ];
    let mut worker = Worker::new(dir.path(), &pairs(security));
    worker.start(&connectors);
    wait_for(
        "every line in the output file",
        Duration::from_secs(90),
        || (read_lines(&output).len() >= lines.len()).then_some(()),
    );
    assert_eq!(read_lines(&output), lines);
    // The records are in the topic the plaintext listener sees too.
    assert_eq!(record_count(&topic), lines.len() as i64);
    worker.terminate();
}

#[test]
fn a_standalone_round_trip_over_sasl_ssl_with_scram_and_a_jks_trust_store() {
    standalone_round_trip(&sasl_ssl_scram_jks());
}

#[test]
fn a_standalone_round_trip_over_ssl_with_a_pkcs12_client_certificate() {
    standalone_round_trip(&ssl_pkcs12_client_certificate());
}

#[test]
fn a_three_worker_cluster_over_sasl_ssl_moves_every_line() {
    let security = sasl_ssl_scram_jks();
    let cluster = Cluster::start(3, &pairs(&security));
    let transfer = Transfer::start(&cluster, 1, 3000);
    let duplicates = transfer.wait_complete(3000, Duration::from_secs(120));
    assert_eq!(duplicates, 0, "no failure, so no duplicates");
    // All three are members of one group (the group member's own
    // connections are secured too) and the tasks spread over them.
    let status = cluster.wait_running(&transfer.source, 1, Duration::from_secs(60));
    assert!(status["tasks"][0]["worker_id"].is_string(), "{status}");
    let leaders: Vec<String> = (0..3)
        .map(|i| {
            let (_, body) = call("GET", &cluster.workers[i].url("/connectors"), None);
            body.to_string()
        })
        .collect();
    for l in &leaders {
        assert!(
            l.contains(&transfer.source) && l.contains(&transfer.sink),
            "{l}"
        );
    }
}

#[test]
fn the_jdbc_sink_writes_rows_read_over_sasl_ssl() {
    let db = Db::postgres_sink();
    let topic = unique("secure-jdbc");
    let table = unique("secure_rows").replace('-', "_");
    create_topic(&topic, 2);
    let values: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"schema":{{"type":"struct","optional":false,"fields":[{{"field":"id","type":"int32","optional":false}},{{"field":"name","type":"string","optional":true}}]}},"payload":{{"id":{i},"name":"row {i}"}}}}"#
            )
        })
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    produce(&topic, &refs);
    let security = sasl_ssl_scram_jks();
    let pipeline = Pipeline::start_with(
        &pairs(&security),
        &[(
            &unique("secure-jdbc-sink"),
            sink_props(&pg_sink_url(), &topic, &table),
        )],
    );
    wait_for("200 rows in the sink table", TIMEOUT, || {
        (db.count(&table)? == 200).then_some(())
    });
    let rows = db.query_text(&format!(
        "SELECT id::text, name FROM \"{table}\" WHERE id IN (0, 199) ORDER BY id"
    ));
    assert_eq!(
        rows,
        vec![
            vec!["0".to_string(), "row 0".to_string()],
            vec!["199".to_string(), "row 199".to_string()]
        ]
    );
    drop(pipeline);
    db.exec(&format!("DROP TABLE \"{table}\""));
}

/// A wrong password, an untrusted CA and a typo in the JAAS text: the
/// worker stops at start with the key or the cause named, never hangs.
#[test]
fn bad_security_settings_are_clear_errors_at_start() {
    require_kafka();
    // What is wrong, the worker's settings, and what its error names.
    type Case = (&'static str, Vec<(String, String)>, &'static [&'static str]);
    let cases: Vec<Case> = vec![
        (
            "typo in the login module",
            sasl_ssl_scram_jks()
                .into_iter()
                .map(|(k, v)| (k, v.replace("ScramLoginModule", "ScramLoginModul")))
                .collect(),
            &["sasl.jaas.config", "ScramLoginModul "],
        ),
        (
            "missing trust store",
            sasl_ssl_scram_jks()
                .into_iter()
                .map(|(k, v)| (k, v.replace("truststore.jks", "no-such-store.jks")))
                .collect(),
            &["ssl.truststore.location", "no-such-store.jks"],
        ),
        (
            "wrong trust store password",
            sasl_ssl_scram_jks()
                .into_iter()
                .map(|(k, v)| (k, v.replace(STORE_PASSWORD, "not-the-password")))
                .collect(),
            &["ssl.truststore.location", "password"],
        ),
        (
            "wrong SASL password",
            sasl_ssl_scram_jks()
                .into_iter()
                .map(|(k, v)| (k, v.replace("ferry-secret", "not-the-secret")))
                .collect(),
            &["Authentication failed"],
        ),
        (
            "a CA that did not sign the broker's certificate",
            sasl_ssl_scram_jks()
                .into_iter()
                .map(|(k, v)| {
                    // A certificate that did not sign the broker's.
                    if k.ends_with("ssl.truststore.location") {
                        (k, tls_file("client.pem"))
                    } else if k.ends_with("ssl.truststore.password") {
                        (k.replace("password", "type"), "PEM".to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            &["certificate verify failed"],
        ),
    ];
    for (what, security, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let offsets = dir.path().join("offsets");
        let listener = format!("http://127.0.0.1:{}", free_port());
        let mut lines = pairs(&security);
        lines.push((
            "offset.storage.file.filename",
            offsets.to_str().expect("utf-8"),
        ));
        lines.push(("listeners", &listener));
        let (status, log) = run_to_exit(
            dir.path(),
            "standalone",
            &lines,
            &[],
            Duration::from_secs(40),
        );
        assert!(
            !status.success(),
            "{what}: the worker must not start\n{log}"
        );
        for e in expected {
            assert!(log.contains(e), "{what}: the log names {e:?}:\n{log}");
        }
        assert!(
            !log.contains("not-the-password") && !log.contains("not-the-secret"),
            "{what}: no password in the log:\n{log}"
        );
    }
}
