//! What a connector config may change in the Kafka clients the worker builds
//! for it: `producer.override.*`, `consumer.override.*`, `admin.override.*`.
//!
//! Two rules apply, in this order:
//!
//! 1. [`worker_only_reason`]: librdkafka properties that load code, run
//!    commands, read or write files named by the value, use the machine's
//!    identity, or change process-wide state are never taken from a connector
//!    config, whatever the policy; the worker's own properties
//!    (`producer.*`, `consumer.*`, `admin.*`) may still set them.
//! 2. [`OverridePolicy`]: Kafka Connect's `connector.client.config.override.policy`
//!    (`All`, `None`, `Principal`, `Allowlist`), with its messages.
//!
//! Both are checked when a config is validated (create, update,
//! `/config/validate`) and again when a task builds its clients, so a config
//! stored before a rule applied cannot slip through.

use std::fmt;

use ferry_api::config::{ConfigValue, ValidatedValue};
use ferry_api::ConnectorKind;
use thiserror::Error;

use crate::connector_config::DLQ_TOPIC;
use crate::Props;

/// The Kafka clients a connector's tasks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Producer,
    Consumer,
    Admin,
}

impl ClientKind {
    pub const ALL: [ClientKind; 3] = [
        ClientKind::Producer,
        ClientKind::Consumer,
        ClientKind::Admin,
    ];

    /// The prefix of the worker's settings for this client (`producer`).
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Producer => "producer",
            ClientKind::Consumer => "consumer",
            ClientKind::Admin => "admin",
        }
    }

    /// The prefix of a connector's overrides (`producer.override.`).
    pub fn override_prefix(self) -> &'static str {
        match self {
            ClientKind::Producer => "producer.override.",
            ClientKind::Consumer => "consumer.override.",
            ClientKind::Admin => "admin.override.",
        }
    }

    /// Whether Kafka Connect checks this client's overrides for a connector
    /// of `kind` with `config` (`AbstractHerder.connectorUses*`): sources
    /// produce, and use an admin client to create topics; sinks consume,
    /// and produce to (and create) a dead letter queue.
    pub fn used_by(self, kind: ConnectorKind, config: &Props) -> bool {
        let dlq = config.get(DLQ_TOPIC).is_some_and(|t| !t.trim().is_empty());
        match (self, kind) {
            (ClientKind::Producer, ConnectorKind::Source) => true,
            (ClientKind::Producer, ConnectorKind::Sink) => dlq,
            (ClientKind::Consumer, ConnectorKind::Source) => false,
            (ClientKind::Consumer, ConnectorKind::Sink) => true,
            (ClientKind::Admin, ConnectorKind::Source) => crate::topic_creation::requested(config),
            (ClientKind::Admin, ConnectorKind::Sink) => dlq,
        }
    }
}

/// Kafka Connect's package of the policy classes.
const POLICY_PACKAGE: &str = "org.apache.kafka.connect.connector.policy";
const POLICY_SUFFIX: &str = "ConnectorClientConfigOverridePolicy";

/// `PrincipalConnectorClientConfigOverridePolicy.ALLOWED_CONFIG`.
const PRINCIPAL_KEYS: [&str; 3] = ["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

/// `connector.client.config.override.policy`: which client settings a
/// connector config may override, as Kafka Connect's policies decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverridePolicy {
    /// Every setting (Kafka Connect's default).
    All,
    /// No setting.
    None,
    /// `sasl.jaas.config`, `sasl.mechanism`, `security.protocol` only
    /// (deprecated in Kafka Connect 4.2).
    Principal,
    /// The settings `connector.client.config.override.allowlist` lists,
    /// exactly as written (none when it is empty).
    Allowlist(Vec<String>),
}

impl OverridePolicy {
    /// The policy named by an alias (`None`), a simple class name
    /// (`NoneConnectorClientConfigOverridePolicy`) or a class name
    /// (`org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy`),
    /// as Kafka Connect resolves plugin names; the allowlist is used by
    /// `Allowlist` only.
    pub fn from_name(name: &str, allowlist: Vec<String>) -> Option<Self> {
        let name = name.trim();
        let simple = name
            .strip_prefix(POLICY_PACKAGE)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(name);
        let alias = simple.strip_suffix(POLICY_SUFFIX).unwrap_or(simple);
        // With its package, only the whole class name is accepted.
        if simple != name && alias == simple {
            return None;
        }
        match alias {
            "All" => Some(OverridePolicy::All),
            "None" => Some(OverridePolicy::None),
            "Principal" => Some(OverridePolicy::Principal),
            "Allowlist" => Some(OverridePolicy::Allowlist(allowlist)),
            _ => None,
        }
    }

    /// Whether `name` is a policy [`OverridePolicy::from_name`] accepts.
    pub fn is_known(name: &str) -> bool {
        Self::from_name(name, Vec::new()).is_some()
    }

    /// The name Kafka Connect's messages use (`policyName()`).
    pub fn name(&self) -> &'static str {
        match self {
            OverridePolicy::All => "All",
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
            OverridePolicy::Allowlist(_) => "Allowlist",
        }
    }

    /// `isAllowed`: whether a connector may override the client setting
    /// `key` (the name without its `*.override.` prefix).
    pub fn allows(&self, key: &str) -> bool {
        match self {
            OverridePolicy::All => true,
            OverridePolicy::None => false,
            OverridePolicy::Principal => PRINCIPAL_KEYS.contains(&key),
            OverridePolicy::Allowlist(list) => list.iter().any(|k| k == key),
        }
    }
}

impl fmt::Display for OverridePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a connector may never set a librdkafka property, whatever the
/// policy; see docs/design.md ("Connector client overrides") for the audit
/// of librdkafka's CONFIGURATION.md behind this list.
const LOADS_CODE: &str =
    "librdkafka or OpenSSL would load the shared library it names or selects into the worker process";
const RUNS_COMMAND: &str = "it is, or is substituted into, a shell command the client runs";
const READS_FILE: &str = "it names a file on the worker's machine for the client to read, so a connector could use any key or certificate the worker can read";
const WRITES_FILE: &str = "it makes the client write files on the worker's machine";
const WORKER_IDENTITY: &str = "it makes the client fetch tokens over HTTP, sending the worker's client credentials or using the machine's identity";
const PROCESS_STATE: &str =
    "it changes the whole worker process (a signal handler, mock brokers listening inside it)";
const C_API_ONLY: &str = "it is a pointer librdkafka takes from its C API only; set from a string it is meaningless or crashes the worker";

/// librdkafka properties a connector config never sets, with the reason.
/// Matched on the name as librdkafka reads it: trimmed, with a `topic.`
/// prefix (librdkafka's topic-level spelling) removed.
const WORKER_ONLY: &[(&str, &str)] = &[
    // dlopen(3) of the named libraries, constructors run at once.
    ("plugin.library.paths", LOADS_CODE),
    // Interceptors come from plugins; their settings are the plugins'.
    ("interceptors", LOADS_CODE),
    // OpenSSL engines and providers are shared libraries.
    ("ssl.engine.location", LOADS_CODE),
    ("ssl.engine.id", LOADS_CODE),
    ("ssl.providers", LOADS_CODE),
    // `kinit -t "%{sasl.kerberos.keytab}" -k %{sasl.kerberos.principal}`:
    // the command, and the values substituted into it.
    ("sasl.kerberos.kinit.cmd", RUNS_COMMAND),
    ("sasl.kerberos.keytab", RUNS_COMMAND),
    ("sasl.kerberos.principal", RUNS_COMMAND),
    ("ssl.key.location", READS_FILE),
    ("ssl.certificate.location", READS_FILE),
    ("ssl.ca.location", READS_FILE),
    ("ssl.crl.location", READS_FILE),
    ("https.ca.location", READS_FILE),
    ("sasl.oauthbearer.assertion.private.key.file", READS_FILE),
    ("sasl.oauthbearer.assertion.file", READS_FILE),
    ("sasl.oauthbearer.assertion.jwt.template.file", READS_FILE),
    // The deprecated file offset store.
    ("offset.store.path", WRITES_FILE),
    ("offset.store.method", WRITES_FILE),
    // OIDC token requests carry the client secret to the endpoint; Kafka
    // 4.x refuses endpoints the JVM's
    // `org.apache.kafka.sasl.oauthbearer.allowed.urls` does not list.
    ("sasl.oauthbearer.method", WORKER_IDENTITY),
    ("sasl.oauthbearer.token.endpoint.url", WORKER_IDENTITY),
    (
        "sasl.oauthbearer.metadata.authentication.type",
        WORKER_IDENTITY,
    ),
    // A signal handler for the whole process.
    ("internal.termination.signal", PROCESS_STATE),
    // Mock brokers listening inside the worker instead of the cluster.
    ("test.mock.num.brokers", PROCESS_STATE),
    ("test.mock.broker.rtt", PROCESS_STATE),
    // A hidden unit-test hook librdkafka accepts from a string and calls.
    ("ut_handle_ProduceResponse", C_API_ONLY),
    ("error_cb", C_API_ONLY),
    ("throttle_cb", C_API_ONLY),
    ("stats_cb", C_API_ONLY),
    ("log_cb", C_API_ONLY),
    ("background_event_cb", C_API_ONLY),
    ("socket_cb", C_API_ONLY),
    ("connect_cb", C_API_ONLY),
    ("closesocket_cb", C_API_ONLY),
    ("open_cb", C_API_ONLY),
    ("resolve_cb", C_API_ONLY),
    ("opaque", C_API_ONLY),
    ("default_topic_conf", C_API_ONLY),
    ("ssl_key", C_API_ONLY),
    ("ssl_certificate", C_API_ONLY),
    ("ssl_ca", C_API_ONLY),
    ("ssl_engine_callback_data", C_API_ONLY),
    ("ssl.certificate.verify_cb", C_API_ONLY),
    ("oauthbearer_token_refresh_cb", C_API_ONLY),
    ("consume_cb", C_API_ONLY),
    ("rebalance_cb", C_API_ONLY),
    ("offset_commit_cb", C_API_ONLY),
    ("dr_cb", C_API_ONLY),
    ("dr_msg_cb", C_API_ONLY),
    ("partitioner_cb", C_API_ONLY),
    ("msg_order_cmp", C_API_ONLY),
];

/// The reason a connector may never override the client property `key`
/// (without its `*.override.` prefix), or `None` if the policy decides.
pub fn worker_only_reason(key: &str) -> Option<&'static str> {
    let key = key.trim();
    let key = key.strip_prefix("topic.").unwrap_or(key);
    WORKER_ONLY
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, why)| *why)
}

/// The librdkafka properties connectors never set, for documentation and
/// tests.
pub fn worker_only_keys() -> impl Iterator<Item = &'static str> {
    WORKER_ONLY.iter().map(|(k, _)| *k)
}

/// One override a connector config may not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The key as written, prefix included (`producer.override.linger.ms`).
    pub key: String,
    pub value: String,
    /// Kafka Connect's message for a policy refusal, or why the key is
    /// the worker's alone.
    pub message: String,
}

impl Refusal {
    /// The refusal as a validation result on its key, as Kafka Connect
    /// reports a policy's verdict (`AbstractHerder.prefixedConfigInfos`).
    pub fn validated(&self) -> ValidatedValue {
        ValidatedValue {
            name: self.key.clone(),
            value: ConfigValue::String(self.value.clone()),
            errors: vec![self.message.clone()],
            visible: true,
            recommended: Vec::new(),
        }
    }
}

/// The overrides of `client` in `connector` that may not be made: those
/// only the worker may set, then those `policy` does not allow.
pub fn refused_overrides(
    policy: &OverridePolicy,
    client: ClientKind,
    connector: &Props,
) -> Vec<Refusal> {
    let prefix = client.override_prefix();
    connector
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix(prefix)?;
            let message = if let Some(why) = worker_only_reason(name) {
                format!(
                    "The worker does not allow '{name}' to be overridden in the connector configuration, whatever its connector.client.config.override.policy: {why}. Only the worker properties may set it ({}.{name}).",
                    client.name()
                )
            } else if !policy.allows(name) {
                format!(
                    "The '{}' policy does not allow '{name}' to be overridden in the connector configuration.",
                    policy.name()
                )
            } else {
                return None;
            };
            Some(Refusal {
                key: key.clone(),
                value: value.clone(),
                message,
            })
        })
        .collect()
}

/// What a connector config may not override, for the clients it uses:
/// worker-only librdkafka properties under every prefix, and what the
/// policy refuses for the clients Kafka Connect checks
/// ([`ClientKind::used_by`]).
pub fn validate_overrides(
    policy: &OverridePolicy,
    kind: ConnectorKind,
    connector: &Props,
) -> Vec<Refusal> {
    ClientKind::ALL
        .into_iter()
        .flat_map(|client| {
            let used = client.used_by(kind, connector);
            refused_overrides(policy, client, connector)
                .into_iter()
                .filter(move |r| {
                    used || r
                        .key
                        .strip_prefix(client.override_prefix())
                        .is_some_and(|k| worker_only_reason(k).is_some())
                })
        })
        .collect()
}

/// A task's client could not be built: its connector config overrides
/// settings it may not (a config stored before the rule applied, or
/// written to the config topic directly).
#[derive(Debug, Clone, Error)]
#[error("Client Config Overrides not allowed: {}", .refusals.iter().map(|r| format!("{}: {}", r.key, r.message)).collect::<Vec<_>>().join("; "))]
pub struct OverridesRefused {
    pub refusals: Vec<Refusal>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_props as props;

    #[test]
    fn policies_are_found_by_alias_and_class_name() {
        for (name, expected) in [
            ("All", "All"),
            ("None", "None"),
            ("Principal", "Principal"),
            ("Allowlist", "Allowlist"),
            ("NoneConnectorClientConfigOverridePolicy", "None"),
            (
                "org.apache.kafka.connect.connector.policy.AllowlistConnectorClientConfigOverridePolicy",
                "Allowlist",
            ),
            (
                "org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy",
                "All",
            ),
        ] {
            let p = OverridePolicy::from_name(name, Vec::new()).expect(name);
            assert_eq!(p.name(), expected, "{name}");
        }
        for name in [
            "all",
            "Some",
            "",
            "org.apache.kafka.connect.connector.policy.None",
            "com.example.NoneConnectorClientConfigOverridePolicy",
        ] {
            assert!(
                OverridePolicy::from_name(name, Vec::new()).is_none(),
                "{name}"
            );
        }
    }

    #[test]
    fn each_policy_allows_what_kafka_connect_allows() {
        assert!(OverridePolicy::All.allows("linger.ms"));
        assert!(!OverridePolicy::None.allows("sasl.jaas.config"));
        assert!(OverridePolicy::Principal.allows("sasl.jaas.config"));
        assert!(OverridePolicy::Principal.allows("security.protocol"));
        assert!(!OverridePolicy::Principal.allows("linger.ms"));
        let allow = OverridePolicy::Allowlist(vec!["linger.ms".into()]);
        assert!(allow.allows("linger.ms"));
        assert!(!allow.allows("batch.size"));
        assert!(!OverridePolicy::Allowlist(Vec::new()).allows("linger.ms"));
    }

    #[test]
    fn worker_only_keys_are_refused_under_every_policy_and_prefix() {
        let config = props(&[
            ("producer.override.plugin.library.paths", "/tmp/x.so"),
            ("consumer.override.ssl.engine.location", "/tmp/e.so"),
            ("admin.override.sasl.kerberos.kinit.cmd", "touch /tmp/pwn"),
            ("producer.override.topic.offset.store.path", "/tmp"),
            ("producer.override. SSL.CA.LOCATION", "/etc/shadow"),
            ("producer.override.linger.ms", "5"),
        ]);
        for policy in [
            OverridePolicy::All,
            OverridePolicy::None,
            OverridePolicy::Principal,
            OverridePolicy::Allowlist(vec!["plugin.library.paths".into()]),
        ] {
            let refused = validate_overrides(&policy, ConnectorKind::Source, &config);
            let keys: Vec<&str> = refused.iter().map(|r| r.key.as_str()).collect();
            for k in [
                "producer.override.plugin.library.paths",
                "consumer.override.ssl.engine.location",
                "admin.override.sasl.kerberos.kinit.cmd",
                "producer.override.topic.offset.store.path",
                "producer.override. SSL.CA.LOCATION",
            ] {
                assert!(keys.contains(&k), "{policy}: {k} not refused: {keys:?}");
            }
            let linger = keys.contains(&"producer.override.linger.ms");
            assert_eq!(linger, !policy.allows("linger.ms"), "{policy}");
        }
        let r = &refused_overrides(
            &OverridePolicy::All,
            ClientKind::Producer,
            &props(&[("producer.override.plugin.library.paths", "/x.so")]),
        )[0];
        assert!(
            r.message.contains("'plugin.library.paths'"),
            "{}",
            r.message
        );
        assert!(r.message.contains("shared library"), "{}", r.message);
        assert!(
            r.message.contains("producer.plugin.library.paths"),
            "{}",
            r.message
        );
        assert!(worker_only_reason("debug").is_none());
        assert!(worker_only_reason("ssl.keystore.location").is_none());
    }

    #[test]
    fn policy_refusals_have_kafka_connects_message_for_the_clients_used() {
        let config = props(&[
            ("producer.override.linger.ms", "5"),
            ("consumer.override.max.poll.records", "10"),
        ]);
        let source = validate_overrides(&OverridePolicy::None, ConnectorKind::Source, &config);
        assert_eq!(source.len(), 1, "{source:?}");
        assert_eq!(source[0].key, "producer.override.linger.ms");
        assert_eq!(
            source[0].message,
            "The 'None' policy does not allow 'linger.ms' to be overridden in the connector configuration."
        );
        let sink = validate_overrides(&OverridePolicy::None, ConnectorKind::Sink, &config);
        assert_eq!(sink.len(), 1, "{sink:?}");
        assert_eq!(sink[0].key, "consumer.override.max.poll.records");
        // A sink with a dead letter queue produces too.
        let mut with_dlq = config.clone();
        with_dlq.insert(DLQ_TOPIC.into(), "dlq".into());
        assert_eq!(
            validate_overrides(&OverridePolicy::None, ConnectorKind::Sink, &with_dlq).len(),
            2
        );
        let v = source[0].validated();
        assert_eq!(v.name, "producer.override.linger.ms");
        assert_eq!(v.errors.len(), 1);
    }
}
