//! The `connect` group member over SASL and TLS against a real Kafka broker:
//! the SASL_PLAINTEXT (9094), SSL (9095) and SASL_SSL (9096) listeners of
//! `deploy/local/kafka.sh` (and MTLS, 9097, which requires a client
//! certificate), whose user `ferry` / `ferry-secret` has PLAIN and
//! SCRAM credentials and whose certificates are in `~/.cache/ferry/tls`.
//! `FERRY_TEST_SASL_BOOTSTRAP`, `FERRY_TEST_SSL_BOOTSTRAP`,
//! `FERRY_TEST_SASL_SSL_BOOTSTRAP` and `FERRY_TEST_TLS_DIR` override them.
//!
//! Every member is configured from worker properties, as the worker does.
//! A test joins one member, then a second: the first learns of the
//! rebalance through its heartbeat connection, rejoins, and both end in the
//! same generation with one leader. So bootstrap (FindCoordinator),
//! coordinator and heartbeat connections all use the secure transport.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_group::{
    AuthenticationError, ConfigSnapshot, ConnectAssignor, ConnectProtocol, GroupConfig, GroupError,
    GroupMember, GroupSettings, JoinResult, SecurityConfig,
};

const WAIT: Duration = Duration::from_secs(60);
const USER: &str = "ferry";
const PASSWORD: &str = "ferry-secret";

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn sasl_bootstrap() -> String {
    env_or("FERRY_TEST_SASL_BOOTSTRAP", "127.0.0.1:9094")
}

fn ssl_bootstrap() -> String {
    env_or("FERRY_TEST_SSL_BOOTSTRAP", "127.0.0.1:9095")
}

/// By host name, so the certificate's DNS name is checked too.
fn sasl_ssl_bootstrap() -> String {
    env_or("FERRY_TEST_SASL_SSL_BOOTSTRAP", "localhost:9096")
}

fn tls_file(name: &str) -> String {
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
    dir.join(name).to_string_lossy().into_owned()
}

fn unique_group(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "ferry-secure-test-{name}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

fn jaas(module: &str, password: &str) -> String {
    format!(
        "org.apache.kafka.common.security.{module} required username=\"{USER}\" password=\"{password}\";"
    )
}

fn plain_jaas(password: &str) -> String {
    jaas("plain.PlainLoginModule", password)
}

fn scram_jaas(password: &str) -> String {
    jaas("scram.ScramLoginModule", password)
}

/// A member of `group` on `bootstrap` with short timeouts, its security
/// settings read from the worker properties `extra`.
fn config(bootstrap: &str, group: &str, client: &str, extra: &[(&str, &str)]) -> GroupConfig {
    let props: HashMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let security = SecurityConfig::from_worker_props(&props).expect("valid security settings");
    let settings = GroupSettings {
        bootstrap_servers: vec![bootstrap.to_owned()],
        group_id: group.to_owned(),
        client_id: Some(client.to_owned()),
        protocol: ConnectProtocol::Sessioned,
        heartbeat_interval: Duration::from_millis(250),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(40),
        connect_timeout: Duration::from_secs(10),
        retry_backoff: Duration::from_millis(100),
    };
    GroupConfig::new(settings, security).expect("valid group settings")
}

fn assignor() -> ConnectAssignor {
    ConnectAssignor::new(0, || ConfigSnapshot::new(3).with_connector("conn", 2))
}

async fn join(member: &mut GroupMember, name: &str) -> Result<JoinResult, GroupError> {
    let metadata = member.metadata(format!("http://{name}.test:8083/"), 3);
    match tokio::time::timeout(WAIT, member.join(metadata, &assignor())).await {
        Ok(result) => result,
        Err(_) => panic!("{name} did not join within {WAIT:?}"),
    }
}

/// Two members join one group with the given extra worker properties.
async fn two_members_join(bootstrap: &str, name: &str, extra: &[(&str, &str)]) {
    let group = unique_group(name);
    let mut a = GroupMember::new(config(bootstrap, &group, &format!("{group}-a"), extra));
    let first = join(&mut a, "a").await.expect("a joins");
    assert!(first.is_leader, "a single member leads");
    assert!(first.generation_id >= 1);
    assert_eq!(first.current.connectors, vec!["conn".to_string()]);
    assert_eq!(first.current.tasks.len(), 2);

    let mut b = GroupMember::new(config(bootstrap, &group, &format!("{group}-b"), extra));
    let second = tokio::spawn(async move {
        let result = join(&mut b, "b").await;
        (b, result)
    });
    // a's heartbeat connection tells it b is joining.
    tokio::time::timeout(WAIT, a.rebalance_needed_notified())
        .await
        .expect("a's heartbeat reports the rebalance");
    let a_again = join(&mut a, "a").await.expect("a rejoins");
    let (mut b, b_result) = second.await.expect("b's task");
    let b_result = b_result.expect("b joins");
    assert_eq!(a_again.generation_id, b_result.generation_id);
    assert!(a_again.generation_id > first.generation_id);
    assert_eq!(a_again.leader_id, b_result.leader_id);
    assert!(
        a_again.is_leader != b_result.is_leader,
        "exactly one leader"
    );
    assert_eq!(a_again.members.len() + b_result.members.len(), 2);
    a.leave().await;
    b.leave().await;
}

/// A join that must fail at once with an authentication error.
async fn join_fails_authentication(bootstrap: &str, name: &str, extra: &[(&str, &str)]) -> String {
    let group = unique_group(name);
    let mut member = GroupMember::new(config(bootstrap, &group, &format!("{group}-x"), extra));
    let started = Instant::now();
    let error = join(&mut member, "x")
        .await
        .expect_err("wrong credentials must not join");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "an authentication failure is not retried until the join timeout ({:?})",
        started.elapsed()
    );
    assert!(!error.is_retriable(), "{error}");
    match &error {
        GroupError::Authentication {
            source: AuthenticationError::Rejected { .. },
            ..
        } => {}
        other => panic!("expected an authentication error, got {other:?}"),
    }
    error.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_plain_members_join() {
    let jaas = plain_jaas(PASSWORD);
    two_members_join(
        &sasl_bootstrap(),
        "plain",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", &jaas),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_scram_sha_256_members_join() {
    let jaas = scram_jaas(PASSWORD);
    two_members_join(
        &sasl_bootstrap(),
        "scram256",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.jaas.config", &jaas),
        ],
    )
    .await;
}

/// librdkafka's credential properties instead of a JAAS entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_scram_sha_512_members_join_with_librdkafka_credentials() {
    two_members_join(
        &sasl_bootstrap(),
        "scram512",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", USER),
            ("sasl.password", PASSWORD),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_scram_password_is_an_authentication_error() {
    let jaas = scram_jaas("not-the-password");
    let message = join_fails_authentication(
        &sasl_bootstrap(),
        "badscram",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.jaas.config", &jaas),
        ],
    )
    .await;
    assert!(
        message.contains("SASL SCRAM-SHA-256 authentication with broker"),
        "{message}"
    );
    assert!(message.contains("invalid credentials"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_plain_password_is_an_authentication_error() {
    let jaas = plain_jaas("not-the-password");
    let message = join_fails_authentication(
        &sasl_bootstrap(),
        "badplain",
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", &jaas),
        ],
    )
    .await;
    assert!(
        message.contains("SASL PLAIN authentication with broker"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_members_join_with_a_pem_trust_store() {
    let ca = tls_file("ca.pem");
    two_members_join(
        &ssl_bootstrap(),
        "ssl",
        &[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
        ],
    )
    .await;
}

/// Mutual TLS with a PEM key store (key and chain in one file), and
/// librdkafka's `ssl.ca.location`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_members_join_with_a_client_certificate() {
    let ca = tls_file("ca.pem");
    let keystore = tls_file("client-keystore.pem");
    two_members_join(
        &ssl_bootstrap(),
        "mtls",
        &[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", &ca),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", &keystore),
        ],
    )
    .await;
}

/// Java's stores on the listener that requires a client certificate: a
/// JKS key store whose key has its own password, a PKCS12 trust store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_members_join_with_java_key_stores_where_a_certificate_is_required() {
    let truststore = tls_file("truststore.p12");
    let keystore = tls_file("client.jks");
    two_members_join(
        &env_or("FERRY_TEST_MTLS_BOOTSTRAP", "localhost:9097"),
        "javastores",
        &[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PKCS12"),
            ("ssl.truststore.location", &truststore),
            ("ssl.truststore.password", "ferry-store"),
            ("ssl.keystore.location", &keystore),
            ("ssl.keystore.password", "ferry-store"),
            ("ssl.key.password", "ferry-key"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_scram_members_join() {
    let ca = tls_file("ca.pem");
    let jaas = scram_jaas(PASSWORD);
    two_members_join(
        &sasl_ssl_bootstrap(),
        "saslssl",
        &[
            ("security.protocol", "SASL_SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", &jaas),
        ],
    )
    .await;
}

/// A broker certificate from a CA the member does not trust fails the TLS
/// handshake, once and for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_broker_certificate_is_a_tls_error() {
    // Trusting only the client certificate: it did not sign the broker's.
    let not_the_ca = tls_file("client.pem");
    let group = unique_group("untrusted");
    let mut member = GroupMember::new(config(
        &ssl_bootstrap(),
        &group,
        &format!("{group}-x"),
        &[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &not_the_ca),
        ],
    ));
    let error = join(&mut member, "x").await.expect_err("untrusted broker");
    assert!(matches!(error, GroupError::Tls { .. }), "{error:?}");
    assert!(!error.is_retriable(), "{error}");
    assert!(
        error.to_string().contains("TLS handshake with broker"),
        "{error}"
    );
}

/// A TLS server on the IPv6 loopback presenting the local broker's
/// certificate (issued for localhost and 127.0.0.1, not ::1). It completes
/// handshakes, counts them, and closes the connection.
async fn tls_server_on_ipv6_loopback() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let keystore = tls_file("broker-keystore.pem");
    let certs = CertificateDer::pem_file_iter(&keystore)
        .expect("broker key store")
        .collect::<Result<Vec<_>, _>>()
        .expect("broker certificates");
    let key = PrivateKeyDer::from_pem_file(&keystore).expect("broker key");
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("[::1]:0")
        .await
        .expect("the IPv6 loopback");
    let addr = format!("[::1]:{}", listener.local_addr().expect("address").port());
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&handshakes);
    let server = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if acceptor.accept(tcp).await.is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (addr, handshakes, server)
}

/// The broker's host name is checked by default, and not with an empty
/// `ssl.endpoint.identification.algorithm` (the chain still is).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_host_name_is_checked_unless_disabled() {
    use std::sync::atomic::Ordering;

    let (addr, handshakes, server) = tls_server_on_ipv6_loopback().await;
    let ca = tls_file("ca.pem");
    let group = unique_group("hostname");
    let props = |check: &'static str| {
        vec![
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", ca.as_str()),
            ("ssl.endpoint.identification.algorithm", check),
            // Short joins: the server never answers a Kafka request.
            ("rebalance.timeout.ms", "1500"),
            ("socket.connection.setup.timeout.ms", "1000"),
        ]
    };

    let mut checked = GroupMember::new(config(&addr, &group, "checked", &props("https")));
    let error = join(&mut checked, "checked")
        .await
        .expect_err("::1 is not in the certificate");
    assert!(matches!(error, GroupError::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("not valid for name"), "{error}");
    assert!(!error.is_retriable(), "{error}");
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);

    let mut unchecked = GroupMember::new(config(&addr, &group, "unchecked", &props("")));
    let error = join(&mut unchecked, "unchecked")
        .await
        .expect_err("the server speaks no Kafka");
    assert!(
        !matches!(error, GroupError::Tls { .. }),
        "the handshake passes without the name check: {error:?}"
    );
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    server.abort();
}
