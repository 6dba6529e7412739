//! Worker properties: Kafka Connect's keys with their types, defaults,
//! validators and documentation, parsed once into a typed [`WorkerConfig`],
//! and the client properties derived from it.
//!
//! Every default is written once, next to its key in [`worker_config_def`];
//! the typed fields are read from the parsed values, so no caller restates a
//! default. Keys not declared here (client settings, converter settings)
//! pass through untouched in [`WorkerConfig::props`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ferry_api::config::{
    originals_with_prefix, ConfigDef, ConfigError, ConfigType, ConfigValue, Importance,
    ParsedConfig, Validator,
};
use ferry_group::{ConnectProtocol, GroupConfig, GroupError, GroupSettings, SecurityConfig};

use crate::client_overrides::{worker_only_reason, ClientKind, OverridePolicy, OverridesRefused};
use crate::config_providers::{ConfigProviders, CONFIG_PROVIDERS};
use crate::connector_rules::AllowedPaths;
use crate::Props;
use ferry_security::{ClientAuth, TlsConfig};

pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
pub const KEY_CONVERTER: &str = "key.converter";
pub const VALUE_CONVERTER: &str = "value.converter";
pub const HEADER_CONVERTER: &str = "header.converter";
pub const OFFSET_FILE: &str = "offset.storage.file.filename";
pub const OFFSET_FLUSH_INTERVAL: &str = "offset.flush.interval.ms";
pub const OFFSET_FLUSH_TIMEOUT: &str = "offset.flush.timeout.ms";
pub const SHUTDOWN_TIMEOUT: &str = "task.shutdown.graceful.timeout.ms";
pub const LISTENERS: &str = "listeners";
/// `listeners` of a worker whose REST API asks for no authentication and
/// whose properties name no listener: loopback only.
pub const UNAUTHENTICATED_LISTENERS: &str = "http://127.0.0.1:8083";
pub const REST_EXTENSIONS: &str = "rest.extension.classes";
pub const ADMIN_LISTENERS: &str = "admin.listeners";
/// Kafka Connect's HTTP Basic authentication extension, the one
/// `rest.extension.classes` may name.
pub const BASIC_AUTH_EXTENSION: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension";
/// The JVM system property that names the JAAS file, as a worker property.
pub const JAAS_CONFIG: &str = "java.security.auth.login.config";
pub const READ_ONLY_USERS: &str = "rest.basic.auth.read.only.users";
pub const ADVERTISED_HOST: &str = "rest.advertised.host.name";
pub const ADVERTISED_PORT: &str = "rest.advertised.port";
pub const ADVERTISED_LISTENER: &str = "rest.advertised.listener";
pub const REST_CONNECTIONS_MAX: &str = "rest.connections.max";
pub const REST_HEADER_READ_TIMEOUT: &str = "rest.header.read.timeout.ms";
pub const REST_IDLE_TIMEOUT: &str = "rest.idle.timeout.ms";
pub const TOPIC_TRACKING: &str = "topic.tracking.enable";
pub const TOPIC_TRACKING_RESET: &str = "topic.tracking.allow.reset";
pub const TOPIC_CREATION: &str = "topic.creation.enable";
pub const OVERRIDE_POLICY: &str = "connector.client.config.override.policy";
pub const OVERRIDE_ALLOWLIST: &str = "connector.client.config.override.allowlist";
pub const TASKS_MAX_LIMIT: &str = "tasks.max.limit";
pub const FILE_ALLOWED_PATHS: &str = "file.connectors.allowed.paths";
pub const PLUGIN_PATH: &str = "plugin.path";

pub const GROUP_ID: &str = "group.id";
pub const CONFIG_TOPIC: &str = "config.storage.topic";
pub const CONFIG_REPLICATION_FACTOR: &str = "config.storage.replication.factor";
pub const OFFSETS_TOPIC: &str = "offset.storage.topic";
pub const OFFSETS_PARTITIONS: &str = "offset.storage.partitions";
pub const OFFSETS_REPLICATION_FACTOR: &str = "offset.storage.replication.factor";
pub const STATUS_TOPIC: &str = "status.storage.topic";
pub const STATUS_PARTITIONS: &str = "status.storage.partitions";
pub const STATUS_REPLICATION_FACTOR: &str = "status.storage.replication.factor";
pub const SESSION_TIMEOUT: &str = "session.timeout.ms";
pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval.ms";
pub const REBALANCE_TIMEOUT: &str = "rebalance.timeout.ms";
pub const SCHEDULED_REBALANCE_MAX_DELAY: &str = "scheduled.rebalance.max.delay.ms";
pub const WORKER_SYNC_TIMEOUT: &str = "worker.sync.timeout.ms";
pub const WORKER_UNSYNC_BACKOFF: &str = "worker.unsync.backoff.ms";
pub const CONNECT_PROTOCOL: &str = "connect.protocol";
pub const KEY_GENERATION_ALGORITHM: &str = "inter.worker.key.generation.algorithm";
pub const KEY_TTL: &str = "inter.worker.key.ttl.ms";
pub const SIGNATURE_ALGORITHM: &str = "inter.worker.signature.algorithm";
pub const VERIFICATION_ALGORITHMS: &str = "inter.worker.verification.algorithms";
pub const EXACTLY_ONCE_SOURCE_SUPPORT: &str = "exactly.once.source.support";
pub const CLIENT_ID: &str = "client.id";
pub const REQUEST_TIMEOUT: &str = "request.timeout.ms";
pub const CONNECTION_SETUP_TIMEOUT: &str = "socket.connection.setup.timeout.ms";
pub const RETRY_BACKOFF: &str = "retry.backoff.ms";

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// The MAC algorithm Ferry signs and verifies internal requests with (and
/// generates session keys for).
pub const HMAC_SHA256: &str = "HmacSHA256";

/// The worker keys Ferry knows, with Kafka Connect's types, defaults and
/// documentation (`WorkerConfig`, `RestServerConfig`, `StandaloneConfig`,
/// `DistributedConfig` of Kafka Connect 4.3). Ferry differs in three
/// defaults: `bootstrap.servers` is `localhost:9092` and `key.converter` /
/// `value.converter` are the `JsonConverter`, where Kafka Connect requires
/// them. Ferry's own keys (`tasks.max.limit`,
/// `file.connectors.allowed.paths`) bound what connector configs may ask of
/// the worker; Kafka Connect keys Ferry does not implement are in
/// [`UNIMPLEMENTED`].
pub fn worker_config_def(standalone: bool) -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(BOOTSTRAP_SERVERS, ConfigType::List)
        .default_str("localhost:9092")
        .validator(Validator::Custom(non_empty_list))
        .importance(Importance::High)
        .doc("A list of host/port pairs used to establish the initial connection to the Kafka cluster. Clients use this list to bootstrap and discover the full set of Kafka brokers. While the order of servers in the list does not matter, we recommend including more than one server to ensure resilience if any servers are down. This list does not need to contain the entire set of brokers, as Kafka clients automatically manage and update connections to the cluster efficiently. This list must be in the form <code>host1:port1,host2:port2,...</code>.");
    d.define(KEY_CONVERTER, ConfigType::Class)
        .default_str(JSON_CONVERTER)
        .importance(Importance::High)
        .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the keys in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.");
    d.define(VALUE_CONVERTER, ConfigType::Class)
        .default_str(JSON_CONVERTER)
        .importance(Importance::High)
        .doc("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.");
    d.define(HEADER_CONVERTER, ConfigType::Class)
        .default_str(SIMPLE_HEADER_CONVERTER)
        // A registered header converter: checked with the plugin registry
        // (`Plugins::check_worker_config`) once it is built.
        .importance(Importance::Low)
        .doc("HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the header values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro. By default, the SimpleHeaderConverter is used to serialize header values to strings and deserialize them by inferring the schemas.");
    if standalone {
        d.define(OFFSET_FILE, ConfigType::String)
            .validator(Validator::NonEmptyString)
            .importance(Importance::High)
            .doc("File to store source connector offsets");
    }
    d.define(SHUTDOWN_TIMEOUT, ConfigType::Long)
        .default_str("5000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("Amount of time to wait for tasks to shutdown gracefully. This is the total amount of time, not per task. All task have shutdown triggered, then they are waited on sequentially.");
    d.define(OFFSET_FLUSH_INTERVAL, ConfigType::Long)
        .default_str("60000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("Interval at which to try committing offsets for tasks.");
    d.define(OFFSET_FLUSH_TIMEOUT, ConfigType::Long)
        .default_str("5000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("Maximum number of milliseconds to wait for records to flush and partition offset data to be committed to offset storage before cancelling the process and restoring the offset data to be committed in a future attempt. This property has no effect for source connectors running with exactly-once support.");
    d.define(PLUGIN_PATH, ConfigType::List)
        .default_null()
        .importance(Importance::Low)
        .doc("List of paths separated by commas (,) that contain plugins (connectors, converters, transformations). The list should consist of top level directories that include any combination of: \na) directories immediately containing jars with plugins and their dependencies\nb) uber-jars with plugins and their dependencies\nc) directories immediately containing the package directory structure of classes of plugins and their dependencies\nNote: symlinks will be followed to discover dependencies or plugins.\nExamples: plugin.path=/usr/local/share/java,/usr/local/share/kafka/plugins,/opt/connectors\nDo not use config provider variables in this property, since the raw path is used by the worker's scanner before config providers are initialized and used to replace variables.");
    d.define(OVERRIDE_POLICY, ConfigType::String)
        .default_str("All")
        .validator(Validator::Custom(override_policy))
        .importance(Importance::Medium)
        .doc("Class name or alias of implementation of <code>ConnectorClientConfigOverridePolicy</code>. Defines what client configurations can be overridden by the connector. The default policy is <code>All</code>, meaning connector configurations can override all client properties. The other possible policies in the framework include <code>Allowlist</code> to specify allowed configurations via <code>connector.client.config.override.allowlist</code>, <code>None</code> to disallow connectors from overriding client properties, and <code>Principal</code> (now deprecated) to allow connectors to override only client principals.");
    d.define(OVERRIDE_ALLOWLIST, ConfigType::List)
        .default_str("")
        .validator(Validator::Custom(override_allowlist))
        .importance(Importance::Medium)
        .doc("List of client configurations that can be overridden by connectors. If empty, connectors can't override any client configurations.");
    // Ferry's own: Kafka Connect has no bound, and a connector asked for
    // tasks.max=2147483647 builds that many task configs (and clients).
    // 1000 is above any useful parallelism (a sink's tasks share its
    // topics' partitions; few topics have more than 1000) and far below
    // what makes one request exhaust a worker.
    d.define(TASKS_MAX_LIMIT, ConfigType::Int)
        .default_str("1000")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Medium)
        .doc("The largest <code>tasks.max</code> a connector may have on this worker. A connector config asking for more is refused when it is created, updated or validated.");
    d.define(FILE_ALLOWED_PATHS, ConfigType::List)
        .default_str("")
        .importance(Importance::Medium)
        .doc("Directories whose files connectors may read and write (the <code>file</code> of FileStreamSource and FileStreamSink). Paths are resolved (symbolic links and <code>..</code>) before checking, relative ones against the worker's working directory; each directory must exist when the worker starts. Standard input and output are refused while this is set. Empty (the default) allows any path the worker can open, as Kafka Connect does.");
    d.define(TOPIC_CREATION, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("Whether to allow automatic creation of topics used by source connectors, when source connectors are configured with <code>topic.creation.</code> properties. Each task will use an admin client to create its topics and will not depend on the Kafka brokers to create topics automatically.");
    d.define(TOPIC_TRACKING, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("Enable tracking the set of active topics per connector during runtime.");
    d.define(TOPIC_TRACKING_RESET, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .doc("If set to true, it allows user requests to reset the set of active topics per connector.");
    d.define(LISTENERS, ConfigType::List)
        .default_str("http://:8083")
        .validator(Validator::Custom(validate_listeners))
        .importance(Importance::Low)
        .doc("List of comma-separated URIs the REST API will listen on. The supported protocols are HTTP and HTTPS.\n Specify hostname as 0.0.0.0 to bind to all interfaces.\n Leave hostname empty to bind to default interface.\n Examples of legal listener lists: HTTP://myhost:8083,HTTPS://myhost:8084");
    d.define(ADMIN_LISTENERS, ConfigType::List)
        .default_str("")
        .validator(Validator::Custom(validate_admin_listeners))
        .importance(Importance::Low)
        .doc("List of comma-separated URIs the Admin REST API will listen on. The supported protocols are HTTP and HTTPS. An empty or blank string will disable this feature. The default behavior is to use the regular listener (specified by the 'listeners' property).");
    d.define(REST_EXTENSIONS, ConfigType::List)
        .default_str("")
        .importance(Importance::Low)
        .doc("Comma-separated names of ConnectRestExtension classes. Ferry has one: org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension (HTTP Basic authentication from a JAAS file).");
    d.define(JAAS_CONFIG, ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("The JAAS file whose KafkaConnect entry the basic authentication extension reads (Java's -Djava.security.auth.login.config; also read from KAFKA_OPTS).");
    d.define(READ_ONLY_USERS, ConfigType::List)
        .default_str("")
        .importance(Importance::Low)
        .doc("Users of the basic authentication extension who may only read (GET and HEAD requests).");
    d.define(ADVERTISED_HOST, ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("If this is set, this is the hostname that will be given out to other workers to connect to.");
    d.define(ADVERTISED_PORT, ConfigType::Int)
        .default_null()
        .validator(Validator::Custom(port_or_null))
        .importance(Importance::Low)
        .doc("If this is set, this is the port that will be given out to other workers to connect to.");
    d.define(ADVERTISED_LISTENER, ConfigType::String)
        .default_null()
        .importance(Importance::Low)
        .doc("Sets the advertised listener (HTTP or HTTPS) which will be given to other workers to use.");
    define_rest_connections(&mut d);
    if !standalone {
        define_distributed(&mut d);
    }
    d
}

/// Ferry's own keys bounding the REST listener's connections (Kafka Connect
/// leaves this to Jetty's defaults). They keep clients that connect and send
/// nothing, or half a request, from holding the worker's file descriptors.
fn define_rest_connections(d: &mut ConfigDef) {
    d.define(REST_CONNECTIONS_MAX, ConfigType::Int)
        .default_str("256")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .doc("The most connections the REST listener keeps open at once. At the limit, a new connection closes the connection that has been idle longest (no request in progress); when every connection has a request in progress, the new connection is refused. Keep it well below the worker's open-file limit.");
    d.define(REST_HEADER_READ_TIMEOUT, ConfigType::Long)
        .default_str("10000")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .doc("The most time, in milliseconds, a REST client may take to send a request line and its headers, counted from the request's first byte. A connection that takes longer is closed.");
    d.define(REST_IDLE_TIMEOUT, ConfigType::Long)
        .default_str("30000")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .doc("The most time, in milliseconds, a REST connection may stay open with no request in progress, after it is opened or after its last response. An idle connection that reaches it is closed.");
}

/// The keys of a distributed worker (`DistributedConfig`).
fn define_distributed(d: &mut ConfigDef) {
    d.define(GROUP_ID, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("A unique string that identifies the Connect cluster group this worker belongs to.");
    d.define(SESSION_TIMEOUT, ConfigType::Int)
        .default_str("10000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::High)
        .doc("The timeout used to detect worker failures. The worker sends periodic heartbeats to indicate its liveness to the broker. If no heartbeats are received by the broker before the expiration of this session timeout, then the broker will remove the worker from the group and initiate a rebalance. Note that the value must be in the allowable range as configured in the broker configuration by <code>group.min.session.timeout.ms</code> and <code>group.max.session.timeout.ms</code>.");
    d.define(REBALANCE_TIMEOUT, ConfigType::Int)
        .default_str("60000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::High)
        .doc("The maximum allowed time for each worker to join the group once a rebalance has begun. This is basically a limit on the amount of time needed for all tasks to flush any pending data and commit offsets. If the timeout is exceeded, then the worker will be removed from the group, which will cause offset commit failures.");
    d.define(HEARTBEAT_INTERVAL, ConfigType::Int)
        .default_str("3000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::High)
        .doc("The expected time between heartbeats to the group coordinator when using Kafka's group management facilities. Heartbeats are used to ensure that the worker's session stays active and to facilitate rebalancing when new members join or leave the group. The value must be set lower than <code>session.timeout.ms</code>, but typically should be set no higher than 1/3 of that value. It can be adjusted even lower to control the expected time for normal rebalances.");
    d.define(EXACTLY_ONCE_SOURCE_SUPPORT, ConfigType::String)
        .default_str("disabled")
        .validator(Validator::Custom(exactly_once_source_support))
        .importance(Importance::High)
        .doc("Whether to enable exactly-once support for source connectors in the cluster by using transactions to write source records and their source offsets, and by proactively fencing out old task generations before bringing up new ones.\nTo enable exactly-once source support on a new cluster, set this property to 'enabled'. To enable support on an existing cluster, first set to 'preparing' on every worker in the cluster, then set to 'enabled'. A rolling upgrade may be used for both changes. For more information on this feature, see the <a href=\"https://kafka.apache.org/documentation.html#connect_exactlyoncesource\">exactly-once source support documentation</a>.");
    d.define(CLIENT_ID, ConfigType::String)
        .default_str("")
        .importance(Importance::Low)
        .doc("An id string to pass to the server when making requests. The purpose of this is to be able to track the source of requests beyond just ip/port by allowing a logical application name to be included in server-side request logging.");
    d.define(CONNECTION_SETUP_TIMEOUT, ConfigType::Long)
        .default_str("10000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .doc("The amount of time the client will wait for the socket connection to be established. If the connection is not built before the timeout elapses, clients will close the socket channel. This value is the initial backoff value and will increase exponentially for each consecutive connection failure, up to the <code>socket.connection.setup.timeout.max.ms</code> value.");
    d.define(RETRY_BACKOFF, ConfigType::Long)
        .default_str("100")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .doc("The amount of time to wait before attempting to retry a failed request to a given topic partition. This avoids repeatedly sending requests in a tight loop under some failure scenarios. This value is the initial backoff value and will increase exponentially for each failed request, up to the <code>retry.backoff.max.ms</code> value.");
    d.define(REQUEST_TIMEOUT, ConfigType::Int)
        .default_str("40000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .doc("The configuration controls the maximum amount of time the client will wait for the response of a request. If the response is not received before the timeout elapses the client will resend the request if necessary or fail the request if retries are exhausted.");
    d.define(WORKER_SYNC_TIMEOUT, ConfigType::Int)
        .default_str("3000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .doc("When the worker is out of sync with other workers and needs to resynchronize configurations, wait up to this amount of time before giving up, leaving the group, and waiting a backoff period before rejoining.");
    d.define(WORKER_UNSYNC_BACKOFF, ConfigType::Int)
        .default_str("300000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .doc("When the worker is out of sync with other workers and  fails to catch up within the <code>worker.sync.timeout.ms</code>, leave the Connect cluster for this long before rejoining.");
    d.define(OFFSETS_TOPIC, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("The name of the Kafka topic where source connector offsets are stored");
    d.define(OFFSETS_PARTITIONS, ConfigType::Int)
        .default_str("25")
        .validator(Validator::Custom(partitions))
        .importance(Importance::Low)
        .doc("The number of partitions used when creating the offset storage topic");
    d.define(OFFSETS_REPLICATION_FACTOR, ConfigType::Short)
        .default_str("3")
        .validator(Validator::Custom(replication_factor))
        .importance(Importance::Low)
        .doc("Replication factor used when creating the offset storage topic");
    d.define(CONFIG_TOPIC, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("The name of the Kafka topic where connector configurations are stored");
    d.define(CONFIG_REPLICATION_FACTOR, ConfigType::Short)
        .default_str("3")
        .validator(Validator::Custom(replication_factor))
        .importance(Importance::Low)
        .doc("Replication factor used when creating the configuration storage topic");
    d.define(STATUS_TOPIC, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("The name of the Kafka topic where connector and task status are stored");
    d.define(STATUS_PARTITIONS, ConfigType::Int)
        .default_str("5")
        .validator(Validator::Custom(partitions))
        .importance(Importance::Low)
        .doc("The number of partitions used when creating the status storage topic");
    d.define(STATUS_REPLICATION_FACTOR, ConfigType::Short)
        .default_str("3")
        .validator(Validator::Custom(replication_factor))
        .importance(Importance::Low)
        .doc("Replication factor used when creating the status storage topic");
    d.define(CONNECT_PROTOCOL, ConfigType::String)
        .default_str("sessioned")
        .validator(Validator::Custom(connect_protocol))
        .importance(Importance::Low)
        .doc("Compatibility mode for Kafka Connect Protocol");
    d.define(SCHEDULED_REBALANCE_MAX_DELAY, ConfigType::Int)
        .default_str("300000")
        .validator(Validator::between(0.0, i32::MAX as f64))
        .importance(Importance::Low)
        .doc("The maximum delay that is scheduled in order to wait for the return of one or more departed workers before rebalancing and reassigning their connectors and tasks to the group. During this period the connectors and tasks of the departed workers remain unassigned");
    d.define(KEY_TTL, ConfigType::Int)
        .default_str("3600000")
        .validator(Validator::between(0.0, i32::MAX as f64))
        .importance(Importance::Low)
        .doc("The TTL of generated session keys used for internal request validation (in milliseconds)");
    d.define(KEY_GENERATION_ALGORITHM, ConfigType::String)
        .default_str(HMAC_SHA256)
        .validator(Validator::Custom(supported_algorithm))
        .importance(Importance::Low)
        .doc("The algorithm to use for generating internal request keys. The algorithm 'HmacSHA256' will be used as a default on JVMs that support it; on other JVMs, no default is used and a value for this property must be manually specified in the worker config.");
    d.define(SIGNATURE_ALGORITHM, ConfigType::String)
        .default_str(HMAC_SHA256)
        .validator(Validator::Custom(supported_algorithm))
        .importance(Importance::Low)
        .doc("The algorithm used to sign internal requests. The algorithm 'HmacSHA256' will be used as a default on JVMs that support it; on other JVMs, no default is used and a value for this property must be manually specified in the worker config.");
    d.define(VERIFICATION_ALGORITHMS, ConfigType::List)
        .default_str(HMAC_SHA256)
        .validator(Validator::Custom(verification_algorithms))
        .importance(Importance::Low)
        .doc("A list of permitted algorithms for verifying internal requests, which must include the algorithm used for the inter.worker.signature.algorithm property. The algorithm(s) '[HmacSHA256]' will be used as a default on JVMs that provide them; on other JVMs, no default is used and a value for this property must be manually specified in the worker config.");
}

/// `ListenersValidator`, plus the protocol check Kafka Connect makes when
/// its REST server starts: only `http` and `https` URLs are served.
fn validate_listeners(_key: &str, value: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(items) = value else {
        return Err("Invalid value type for listeners (expected list of URLs , ex: http://localhost:8080,https://localhost:8443).".into());
    };
    if items.is_empty() {
        return Err("Invalid value for listeners, at least one URL is expected, ex: http://localhost:8080,https://localhost:8443.".into());
    }
    validate_listener_urls(items)
}

/// `admin.listeners`: like `listeners`, but empty is allowed (no admin
/// endpoints at all).
fn validate_admin_listeners(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::List(items) => {
            let items: Vec<String> = items
                .iter()
                .filter(|i| !i.trim().is_empty())
                .cloned()
                .collect();
            validate_listener_urls(&items)
        }
        _ => Err("Invalid value type for admin.listeners (expected list of URLs).".into()),
    }
}

fn validate_listener_urls(items: &[String]) -> Result<(), String> {
    for item in items {
        if item.trim().is_empty() {
            return Err("Empty URL found when parsing listeners list.".into());
        }
        let Some((protocol, _)) = item.rsplit_once("://") else {
            return Err(format!(
                "Listener doesn't have the right format (protocol://hostname:port): {item}"
            ));
        };
        if !protocol.eq_ignore_ascii_case("http") && !protocol.eq_ignore_ascii_case("https") {
            return Err(format!(
                "Listener protocol must be either \"http\" or \"https\": {item}"
            ));
        }
    }
    Ok(())
}

/// Any name Kafka Connect resolves to one of its policies.
fn override_policy(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::String(s) if OverridePolicy::is_known(s) => Ok(()),
        _ => Err("Failed to find any class that implements ConnectorClientConfigOverridePolicy and which name matches it; the policies are All, None, Principal and Allowlist, by alias or class name".into()),
    }
}

/// The allowlist cannot open the keys only the worker may set.
fn override_allowlist(_key: &str, value: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(keys) = value else {
        return Ok(());
    };
    match keys
        .iter()
        .find_map(|k| worker_only_reason(k).map(|why| (k, why)))
    {
        Some((k, why)) => Err(format!(
            "connectors may never override '{k}', whatever the policy: {why}"
        )),
        None => Ok(()),
    }
}

fn exactly_once_source_support(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::String(s) if s == "disabled" => Ok(()),
        _ => Err("exactly-once source support is not implemented by Ferry yet; the only accepted value is disabled".into()),
    }
}

fn non_empty_list(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::List(items) if items.iter().all(|i| i.is_empty()) => {
            Err("Configuration must not be empty".into())
        }
        _ => Ok(()),
    }
}

fn port_or_null(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::Int(p) if u16::try_from(*p).is_err() => {
            Err("Value must be a port number between 0 and 65535".into())
        }
        _ => Ok(()),
    }
}

/// `TopicCreationConfig.PARTITIONS_VALIDATOR`.
fn partitions(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::Int(n) if *n != -1 && *n < 1 => {
            Err("Number of partitions must be positive, or -1 to use the broker's default".into())
        }
        _ => Ok(()),
    }
}

/// `TopicCreationConfig.REPLICATION_FACTOR_VALIDATOR`.
fn replication_factor(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::Short(n) if *n != -1 && *n < 1 => Err(
            "Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default".into(),
        ),
        _ => Ok(()),
    }
}

const INVALID_PROTOCOL: &str = "Invalid Connect protocol compatibility";

fn connect_protocol(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::String(s) if s.parse::<ConnectProtocol>().is_ok() => Ok(()),
        _ => Err(INVALID_PROTOCOL.into()),
    }
}

fn unsupported_algorithm() -> String {
    format!(
        "the algorithm is not supported by this worker; the supported algorithms are: [{HMAC_SHA256}]"
    )
}

fn supported_algorithm(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::String(s) if s == HMAC_SHA256 => Ok(()),
        _ => Err(unsupported_algorithm()),
    }
}

fn verification_algorithms(_key: &str, value: &ConfigValue) -> Result<(), String> {
    match value {
        ConfigValue::List(l) if l.is_empty() => {
            Err("At least one signature verification algorithm must be provided".into())
        }
        _ => Ok(()),
    }
}

/// What a worker does with a Kafka Connect worker key Ferry does not
/// implement (docs/design.md, "Kafka Connect worker keys Ferry does not
/// implement", gives the reasons key by key).
pub enum Handling {
    /// Stops the worker at start, naming the key, unless the value asks for
    /// nothing (`inert`): ignoring it would leave the worker less protected,
    /// or doing less, than its properties say.
    Refused {
        inert: fn(&str) -> bool,
        why: &'static str,
    },
    /// Accepted with a logged note: it only tunes something Ferry does not
    /// have, and ignoring it changes nothing a user relies on.
    Ignored { why: &'static str },
}

/// A Kafka Connect 4.3 worker key (`WorkerConfig`, `RestServerConfig`,
/// `DistributedConfig`) Ferry does not implement.
pub struct Unimplemented {
    /// The key, or every key under it when it ends with `.`.
    pub key: &'static str,
    /// Kafka Connect reads it in distributed mode only.
    pub distributed_only: bool,
    pub handling: Handling,
}

impl Unimplemented {
    fn matches(&self, key: &str) -> bool {
        if self.key.ends_with('.') {
            key.starts_with(self.key)
        } else {
            key == self.key
        }
    }
}

fn blank(v: &str) -> bool {
    v.trim().is_empty()
}
/// A `listeners` URL of the `https` protocol.
fn is_https(listener: &str) -> bool {
    listener
        .trim()
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

fn basic_auth_only(v: &str) -> bool {
    v.split(',')
        .map(str::trim)
        .all(|c| c.is_empty() || c == BASIC_AUTH_EXTENSION)
}
/// Kafka Connect's default reporter: there is no JMX outside a JVM, and
/// leaving it in a configuration asks for nothing a user would miss.
fn jmx_only(v: &str) -> bool {
    v.split(',')
        .map(str::trim)
        .all(|r| r.is_empty() || r == "org.apache.kafka.common.metrics.JmxReporter")
}
fn key_size_of_ferry(v: &str) -> bool {
    v.trim() == "256"
}

const NO_METRICS: &str = "Ferry keeps no Kafka metrics yet";
const NO_CORS: &str =
    "Ferry sends no CORS headers yet, so browsers on other origins cannot call the REST API";
const ONE_CONVERTER_VERSION: &str = "each converter is built into Ferry in one version";

/// Kafka Connect worker keys Ferry does not implement. Client settings
/// (`producer.*`, `consumer.*`, `admin.*` and the top-level client keys)
/// are not listed: they pass through to the clients as before.
pub const UNIMPLEMENTED: &[Unimplemented] = &[
    Unimplemented {
        key: "rest.extension.classes",
        distributed_only: false,
        handling: Handling::Refused {
            inert: basic_auth_only,
            why: "REST extensions other than org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension are not implemented by Ferry yet: the REST API would run without the authentication, filters or resources they add",
        },
    },
    Unimplemented {
        key: "response.http.headers.config",
        distributed_only: false,
        handling: Handling::Refused {
            inert: blank,
            why: "REST response headers are not implemented by Ferry yet: the REST API would answer without the headers listed",
        },
    },
    Unimplemented {
        key: "metric.reporters",
        distributed_only: false,
        handling: Handling::Refused {
            inert: jmx_only,
            why: "metrics reporters are not implemented by Ferry yet: nothing would be reported",
        },
    },
    Unimplemented {
        key: "inter.worker.key.size",
        distributed_only: true,
        handling: Handling::Refused {
            inert: key_size_of_ferry,
            why: "session keys of other sizes are not implemented by Ferry, which generates 256-bit keys",
        },
    },
    Unimplemented {
        key: "plugin.discovery",
        distributed_only: false,
        handling: Handling::Ignored {
            why: "Ferry loads native plugin libraries by scanning plugin.path whatever the mode; there is no service loader to choose",
        },
    },
    Unimplemented {
        key: "metrics.sample.window.ms",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_METRICS },
    },
    Unimplemented {
        key: "metrics.num.samples",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_METRICS },
    },
    Unimplemented {
        key: "metrics.recording.level",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_METRICS },
    },
    Unimplemented {
        key: "metrics.context.",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_METRICS },
    },
    Unimplemented {
        key: "access.control.allow.origin",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_CORS },
    },
    Unimplemented {
        key: "access.control.allow.methods",
        distributed_only: false,
        handling: Handling::Ignored { why: NO_CORS },
    },
    Unimplemented {
        key: "key.converter.plugin.version",
        distributed_only: false,
        handling: Handling::Ignored {
            why: ONE_CONVERTER_VERSION,
        },
    },
    Unimplemented {
        key: "value.converter.plugin.version",
        distributed_only: false,
        handling: Handling::Ignored {
            why: ONE_CONVERTER_VERSION,
        },
    },
    Unimplemented {
        key: "header.converter.plugin.version",
        distributed_only: false,
        handling: Handling::Ignored {
            why: ONE_CONVERTER_VERSION,
        },
    },
];

/// Refuses the unimplemented keys whose values ask for something, naming
/// each; returns the notes to log for the ignored ones.
fn check_unimplemented(props: &Props, standalone: bool) -> Result<Vec<String>, ConfigError> {
    let mut refused: Vec<ConfigError> = Vec::new();
    let mut notes = Vec::new();
    for (key, value) in props {
        let Some(entry) = UNIMPLEMENTED
            .iter()
            .find(|u| u.matches(key) && !(standalone && u.distributed_only))
        else {
            continue;
        };
        match entry.handling {
            Handling::Refused { inert, why } if !inert(value) => {
                refused.push(ConfigError::invalid(key, value, why));
            }
            Handling::Ignored { why } if !blank(value) => {
                notes.push(format!("{key} is ignored: {why}"));
            }
            _ => {}
        }
    }
    match refused.len() {
        0 => Ok(notes),
        1 => Err(refused.remove(0)),
        _ => Err(ConfigError {
            key: refused[0].key.clone(),
            message: refused
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        }),
    }
}

/// Settings every worker has (`WorkerConfig`, `RestServerConfig`).
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub bootstrap_servers: Vec<String>,
    pub key_converter: String,
    pub value_converter: String,
    pub header_converter: String,
    pub task_shutdown_graceful_timeout: Duration,
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
    /// `plugin.path`, blank entries dropped.
    pub plugin_path: Vec<String>,
    /// `connector.client.config.override.policy`, with
    /// `connector.client.config.override.allowlist` for `Allowlist`.
    pub client_config_override_policy: OverridePolicy,
    /// `tasks.max.limit`.
    pub tasks_max_limit: u32,
    /// `file.connectors.allowed.paths`, canonical.
    pub file_connectors_allowed_paths: AllowedPaths,
    pub topic_creation_enable: bool,
    pub topic_tracking_enable: bool,
    pub topic_tracking_allow_reset: bool,
    pub listeners: Vec<String>,
    pub rest_advertised_host_name: Option<String>,
    pub rest_advertised_port: Option<u16>,
    pub rest_advertised_listener: Option<String>,
    /// `rest.connections.max`.
    pub rest_connections_max: usize,
    /// `rest.header.read.timeout.ms`.
    pub rest_header_read_timeout: Duration,
    /// `rest.idle.timeout.ms`.
    pub rest_idle_timeout: Duration,
    /// `rest.extension.classes` names the basic authentication extension.
    pub rest_basic_auth: bool,
    /// `java.security.auth.login.config`.
    pub jaas_config: Option<String>,
    /// `rest.basic.auth.read.only.users`.
    pub rest_read_only_users: Vec<String>,
    /// `admin.listeners`: unset, the admin endpoints are on the main
    /// listener; empty, they are served nowhere; else on these listeners.
    pub admin_listeners: Option<Vec<String>>,
}

/// Settings of a standalone worker (`StandaloneConfig`).
#[derive(Debug, Clone)]
pub struct StandaloneConfig {
    pub offset_storage_file: String,
}

/// An internal topic of a distributed worker and how to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopicConfig {
    pub name: String,
    /// `-1` for the broker's default.
    pub partitions: i32,
    /// `-1` for the broker's default.
    pub replication_factor: i16,
}

/// Settings of a distributed worker (`DistributedConfig`), group
/// membership included.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    pub group_id: String,
    /// `client.id`; `None` when unset or empty.
    pub client_id: Option<String>,
    /// The config topic always has one partition.
    pub config_topic: InternalTopicConfig,
    pub offsets_topic: InternalTopicConfig,
    pub status_topic: InternalTopicConfig,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    pub request_timeout: Duration,
    pub connection_setup_timeout: Duration,
    pub retry_backoff: Duration,
    pub scheduled_rebalance_max_delay: Duration,
    pub worker_sync_timeout: Duration,
    pub worker_unsync_backoff: Duration,
    pub connect_protocol: ConnectProtocol,
    pub inter_worker_key_generation_algorithm: String,
    pub inter_worker_key_ttl: Duration,
    pub inter_worker_signature_algorithm: String,
    pub inter_worker_verification_algorithms: Vec<String>,
    pub exactly_once_source_support: String,
}

/// The mode-specific part of a worker's configuration.
#[derive(Debug, Clone)]
pub enum ModeConfig {
    Standalone(StandaloneConfig),
    Distributed(Box<DistributedConfig>),
}

/// Worker properties, parsed once against [`worker_config_def`].
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The properties with their config-provider placeholders resolved.
    originals: Props,
    pub common: CommonConfig,
    pub mode: ModeConfig,
    /// `config.providers`: what resolves placeholders in connector configs
    /// when connectors and tasks start.
    pub providers: Arc<ConfigProviders>,
}

/// Typed reads of keys [`worker_config_def`] declares with a default (or
/// as required), so a parsed value is always there.
struct Values<'a>(&'a ParsedConfig);

impl Values<'_> {
    fn missing(key: &str) -> ! {
        panic!("{key} is declared in worker_config_def with a default")
    }
    fn string(&self, key: &str) -> String {
        self.0
            .string(key)
            .map(str::to_owned)
            .unwrap_or_else(|| Self::missing(key))
    }
    fn optional_string(&self, key: &str) -> Option<String> {
        self.0
            .string(key)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
    fn int(&self, key: &str) -> i32 {
        self.0.int(key).unwrap_or_else(|| Self::missing(key))
    }
    fn short(&self, key: &str) -> i16 {
        match self.0.value(key) {
            ConfigValue::Short(v) => *v,
            _ => Self::missing(key),
        }
    }
    fn boolean(&self, key: &str) -> bool {
        self.0.boolean(key).unwrap_or_else(|| Self::missing(key))
    }
    fn list(&self, key: &str) -> Vec<String> {
        self.0
            .list(key)
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect()
    }
    /// A non-negative (validated) number of milliseconds.
    fn millis(&self, key: &str) -> Duration {
        let ms = self.0.long(key).unwrap_or_else(|| Self::missing(key));
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }
}

impl WorkerConfig {
    /// Parses and validates worker properties once: a malformed value of a
    /// declared key, a missing required key, or a Kafka Connect key Ferry
    /// does not implement ([`UNIMPLEMENTED`]) is an error naming the key
    /// (Kafka Connect's `ConfigException` text). Other undeclared keys pass
    /// through. The keys Ferry ignores are logged.
    pub fn new(props: Props, standalone: bool) -> Result<Self, ConfigError> {
        // The worker's own placeholders are resolved first, as Kafka
        // Connect's worker config resolves them; the providers' settings
        // are taken as written.
        let providers = ConfigProviders::from_worker_props(&props).map_err(|e| ConfigError {
            key: CONFIG_PROVIDERS.to_owned(),
            message: e.to_string(),
        })?;
        let props = if providers.is_empty() {
            props
        } else {
            let (provider_keys, rest): (Props, Props) = props
                .into_iter()
                .partition(|(k, _)| k.starts_with(CONFIG_PROVIDERS));
            let mut resolved = providers
                .resolve(&rest)
                .map_err(|e| ConfigError {
                    key: CONFIG_PROVIDERS.to_owned(),
                    message: format!("cannot resolve a config provider placeholder of the worker properties: {e}"),
                })?
                .config;
            resolved.extend(provider_keys);
            resolved
        };
        let parsed = worker_config_def(standalone).parse(&props)?;
        let notes = check_unimplemented(&props, standalone)?;
        let v = Values(&parsed);
        let policy_name = v.string(OVERRIDE_POLICY);
        let client_config_override_policy =
            OverridePolicy::from_name(&policy_name, v.list(OVERRIDE_ALLOWLIST)).ok_or_else(
                || ConfigError::invalid(OVERRIDE_POLICY, &policy_name, "unknown policy"),
            )?;
        let dirs = v.list(FILE_ALLOWED_PATHS);
        let file_connectors_allowed_paths = AllowedPaths::new(&dirs).map_err(|e| {
            ConfigError::invalid(
                FILE_ALLOWED_PATHS,
                dirs.join(","),
                &format!("each directory must exist: {e}"),
            )
        })?;
        let mut common = CommonConfig {
            bootstrap_servers: v.list(BOOTSTRAP_SERVERS),
            key_converter: v.string(KEY_CONVERTER),
            value_converter: v.string(VALUE_CONVERTER),
            header_converter: v.string(HEADER_CONVERTER),
            task_shutdown_graceful_timeout: v.millis(SHUTDOWN_TIMEOUT),
            offset_flush_interval: v.millis(OFFSET_FLUSH_INTERVAL),
            offset_flush_timeout: v.millis(OFFSET_FLUSH_TIMEOUT),
            plugin_path: v.list(PLUGIN_PATH),
            client_config_override_policy,
            tasks_max_limit: u32::try_from(v.int(TASKS_MAX_LIMIT)).unwrap_or(1),
            file_connectors_allowed_paths,
            topic_creation_enable: v.boolean(TOPIC_CREATION),
            topic_tracking_enable: v.boolean(TOPIC_TRACKING),
            topic_tracking_allow_reset: v.boolean(TOPIC_TRACKING_RESET),
            listeners: v.list(LISTENERS),
            rest_advertised_host_name: v.optional_string(ADVERTISED_HOST),
            rest_advertised_port: parsed
                .int(ADVERTISED_PORT)
                .and_then(|p| u16::try_from(p).ok()),
            rest_advertised_listener: v.optional_string(ADVERTISED_LISTENER),
            rest_connections_max: usize::try_from(v.int(REST_CONNECTIONS_MAX)).unwrap_or(1),
            rest_header_read_timeout: v.millis(REST_HEADER_READ_TIMEOUT),
            rest_idle_timeout: v.millis(REST_IDLE_TIMEOUT),
            rest_basic_auth: v
                .list(REST_EXTENSIONS)
                .iter()
                .any(|c| c == BASIC_AUTH_EXTENSION),
            jaas_config: v.optional_string(JAAS_CONFIG),
            rest_read_only_users: v.list(READ_ONLY_USERS),
            admin_listeners: props
                .contains_key(ADMIN_LISTENERS)
                .then(|| v.list(ADMIN_LISTENERS)),
        };
        // Safer than Kafka Connect by default: a standalone worker without
        // authentication and without listeners of its own choosing is not
        // reachable from other hosts. (A distributed worker must be
        // reachable by the others at an address of its own.)
        if standalone && !common.rest_basic_auth && !props.contains_key(LISTENERS) {
            common.listeners = vec![UNAUTHENTICATED_LISTENERS.to_owned()];
        }
        let mode = if standalone {
            ModeConfig::Standalone(StandaloneConfig {
                offset_storage_file: v.string(OFFSET_FILE),
            })
        } else {
            ModeConfig::Distributed(Box::new(Self::distributed(&v)?))
        };
        let config = WorkerConfig {
            originals: props,
            common,
            mode,
            providers: Arc::new(providers),
        };
        for note in notes {
            tracing::warn!("{note}");
        }
        if config.common.client_config_override_policy == OverridePolicy::Principal {
            tracing::warn!("{OVERRIDE_POLICY}=Principal is deprecated in Kafka Connect 4.2 and removed in 5.0; Allowlist with {OVERRIDE_ALLOWLIST} replaces it");
        }
        Ok(config)
    }

    fn distributed(v: &Values<'_>) -> Result<DistributedConfig, ConfigError> {
        let topic = |name: &str, partitions: Option<&str>, factor: &str| InternalTopicConfig {
            name: v.string(name),
            partitions: partitions.map_or(1, |key| v.int(key)),
            replication_factor: v.short(factor),
        };
        let signature = v.string(SIGNATURE_ALGORITHM);
        let verification = v.list(VERIFICATION_ALGORITHMS);
        if !verification.contains(&signature) {
            return Err(ConfigError::invalid(
                SIGNATURE_ALGORITHM,
                &signature,
                &format!("Signature algorithm must be present in {VERIFICATION_ALGORITHMS} list"),
            ));
        }
        let connect_protocol = v.string(CONNECT_PROTOCOL).parse().map_err(|_| {
            ConfigError::invalid(
                CONNECT_PROTOCOL,
                v.string(CONNECT_PROTOCOL),
                INVALID_PROTOCOL,
            )
        })?;
        Ok(DistributedConfig {
            group_id: v.string(GROUP_ID),
            client_id: v.optional_string(CLIENT_ID),
            config_topic: topic(CONFIG_TOPIC, None, CONFIG_REPLICATION_FACTOR),
            offsets_topic: topic(
                OFFSETS_TOPIC,
                Some(OFFSETS_PARTITIONS),
                OFFSETS_REPLICATION_FACTOR,
            ),
            status_topic: topic(
                STATUS_TOPIC,
                Some(STATUS_PARTITIONS),
                STATUS_REPLICATION_FACTOR,
            ),
            session_timeout: v.millis(SESSION_TIMEOUT),
            heartbeat_interval: v.millis(HEARTBEAT_INTERVAL),
            rebalance_timeout: v.millis(REBALANCE_TIMEOUT),
            request_timeout: v.millis(REQUEST_TIMEOUT),
            connection_setup_timeout: v.millis(CONNECTION_SETUP_TIMEOUT),
            retry_backoff: v.millis(RETRY_BACKOFF),
            scheduled_rebalance_max_delay: v.millis(SCHEDULED_REBALANCE_MAX_DELAY),
            worker_sync_timeout: v.millis(WORKER_SYNC_TIMEOUT),
            worker_unsync_backoff: v.millis(WORKER_UNSYNC_BACKOFF),
            connect_protocol,
            inter_worker_key_generation_algorithm: v.string(KEY_GENERATION_ALGORITHM),
            inter_worker_key_ttl: v.millis(KEY_TTL),
            inter_worker_signature_algorithm: signature,
            inter_worker_verification_algorithms: verification,
            exactly_once_source_support: v.string(EXACTLY_ONCE_SOURCE_SUPPORT),
        })
    }

    /// The standalone settings; `None` for a distributed worker.
    pub fn standalone(&self) -> Option<&StandaloneConfig> {
        match &self.mode {
            ModeConfig::Standalone(s) => Some(s),
            ModeConfig::Distributed(_) => None,
        }
    }

    /// The distributed settings; `None` for a standalone worker.
    pub fn distributed_config(&self) -> Option<&DistributedConfig> {
        match &self.mode {
            ModeConfig::Distributed(d) => Some(d),
            ModeConfig::Standalone(_) => None,
        }
    }

    /// The group member's settings, from the typed distributed settings and
    /// the security settings (`security.protocol`, `ssl.*`, `sasl.*`, read
    /// from the properties by [`SecurityConfig::from_worker_props`], which
    /// also reads the certificate files once).
    pub fn group_config(&self) -> Result<GroupConfig, GroupError> {
        let d = self.distributed_config().ok_or_else(|| {
            GroupError::Config("a standalone worker does not join a group".into())
        })?;
        let raw: HashMap<String, String> = self
            .originals
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let security = SecurityConfig::from_worker_props(&raw)?;
        GroupConfig::new(
            GroupSettings {
                bootstrap_servers: self.common.bootstrap_servers.clone(),
                group_id: d.group_id.clone(),
                client_id: d.client_id.clone(),
                protocol: d.connect_protocol,
                session_timeout: d.session_timeout,
                heartbeat_interval: d.heartbeat_interval,
                rebalance_timeout: d.rebalance_timeout,
                request_timeout: d.request_timeout,
                connect_timeout: d.connection_setup_timeout,
                retry_backoff: d.retry_backoff,
            },
            security,
        )
    }

    /// The directories listed in `plugin.path`.
    pub fn plugin_path(&self) -> Vec<String> {
        self.common.plugin_path.clone()
    }

    /// The properties as given, undeclared keys included.
    pub fn props(&self) -> &Props {
        &self.originals
    }
    pub fn bootstrap_servers(&self) -> String {
        self.common.bootstrap_servers.join(",")
    }
    pub fn offset_file(&self) -> Option<&str> {
        self.standalone().map(|s| s.offset_storage_file.as_str())
    }
    pub fn offset_flush_interval(&self) -> Duration {
        self.common.offset_flush_interval
    }
    pub fn offset_flush_timeout(&self) -> Duration {
        self.common.offset_flush_timeout
    }
    pub fn shutdown_timeout(&self) -> Duration {
        self.common.task_shutdown_graceful_timeout
    }
    pub fn listeners(&self) -> String {
        self.common.listeners.join(",")
    }
    pub fn topic_tracking(&self) -> bool {
        self.common.topic_tracking_enable
    }
    pub fn topic_tracking_reset(&self) -> bool {
        self.common.topic_tracking_allow_reset
    }
    pub fn advertised_host(&self) -> Option<&str> {
        self.common.rest_advertised_host_name.as_deref()
    }
    pub fn advertised_port(&self) -> Option<u16> {
        self.common.rest_advertised_port
    }
    /// The scheme given to other workers: `rest.advertised.listener`, else
    /// the first listener's, the one Ferry serves.
    pub fn advertised_scheme(&self) -> &str {
        if let Some(scheme) = self.common.rest_advertised_listener.as_deref() {
            return scheme;
        }
        if self.common.listeners.first().is_some_and(|l| is_https(l)) {
            "https"
        } else {
            "http"
        }
    }
    pub fn topic_creation(&self) -> bool {
        self.common.topic_creation_enable
    }
    /// The worker's converter class for `role_prefix` (`key.converter`,
    /// `value.converter`, `header.converter`).
    fn converter_class(&self, role_prefix: &str) -> &str {
        match role_prefix {
            KEY_CONVERTER => &self.common.key_converter,
            VALUE_CONVERTER => &self.common.value_converter,
            HEADER_CONVERTER => &self.common.header_converter,
            _ => JSON_CONVERTER,
        }
    }

    /// The converter class and its settings for `role_prefix` (`key.converter`
    /// …): the connector's choice if it names a class, else the worker's.
    pub fn converter_for(&self, role_prefix: &str, connector: &Props) -> (String, Props) {
        let prefix = format!("{role_prefix}.");
        match connector.get(role_prefix) {
            Some(class) => (
                class.trim().to_owned(),
                originals_with_prefix(connector, &prefix),
            ),
            None => (
                self.converter_class(role_prefix).to_owned(),
                originals_with_prefix(self.props(), &prefix),
            ),
        }
    }

    /// Client properties for a connector's clients: bootstrap servers, the
    /// worker's `<kind>.*` settings, then the connector's `<kind>.override.*`.
    /// Overrides the policy does not allow, or that only the worker may set,
    /// are an error, as Kafka Connect's worker refuses them when it builds
    /// the clients (validation refused them already, unless the config was
    /// stored before the rule applied).
    pub fn client_props(
        &self,
        kind: ClientKind,
        connector: &Props,
        defaults: BTreeMap<String, String>,
    ) -> Result<Props, OverridesRefused> {
        let refusals = crate::client_overrides::refused_overrides(
            &self.common.client_config_override_policy,
            kind,
            connector,
        );
        if !refusals.is_empty() {
            return Err(OverridesRefused { refusals });
        }
        let mut props = defaults;
        props.insert(BOOTSTRAP_SERVERS.into(), self.bootstrap_servers());
        props.extend(originals_with_prefix(
            self.props(),
            &format!("{}.", kind.name()),
        ));
        props.extend(originals_with_prefix(connector, kind.override_prefix()));
        Ok(props)
    }

    /// Properties for a connector's admin client (topic creation, the dead
    /// letter queue): the worker's own admin settings, then the connector's
    /// `admin.override.*` as the override policy allows them, as Kafka
    /// Connect builds it.
    pub fn connector_admin_props(&self, connector: &Props) -> Result<Props, OverridesRefused> {
        let refusals = crate::client_overrides::refused_overrides(
            &self.common.client_config_override_policy,
            ClientKind::Admin,
            connector,
        );
        if !refusals.is_empty() {
            return Err(OverridesRefused { refusals });
        }
        let mut props = self.admin_props();
        props.extend(originals_with_prefix(
            connector,
            ClientKind::Admin.override_prefix(),
        ));
        Ok(props)
    }

    /// The TLS settings of a REST listener, as Kafka Connect's
    /// `RestServerConfig` takes them: the keys under `prefix`
    /// (`listeners.https.`, or `admin.listeners.https.`), without it, when
    /// there is any, else the worker's `ssl.*`.
    fn rest_tls_props(&self, prefix: &str) -> HashMap<String, String> {
        let prefixed: HashMap<String, String> = self
            .originals
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect();
        if !prefixed.is_empty() {
            return prefixed;
        }
        self.originals
            .iter()
            .filter(|(k, _)| k.starts_with("ssl."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn rest_uses_https(&self) -> bool {
        self.common.listeners.iter().any(|l| is_https(l))
            || self.advertised_scheme().eq_ignore_ascii_case("https")
    }

    /// The TLS configuration of an `https` listener (key store, and the
    /// trust store for `ssl.client.auth`).
    pub fn rest_server_tls(
        &self,
    ) -> Result<Arc<rustls::ServerConfig>, ferry_security::SecurityError> {
        self.server_tls("listeners.https.")
    }

    /// The TLS configuration of an `https` admin listener
    /// (`admin.listeners.https.*`, else `ssl.*`).
    pub fn admin_server_tls(
        &self,
    ) -> Result<Arc<rustls::ServerConfig>, ferry_security::SecurityError> {
        self.server_tls("admin.listeners.https.")
    }

    fn server_tls(
        &self,
        prefix: &str,
    ) -> Result<Arc<rustls::ServerConfig>, ferry_security::SecurityError> {
        let props = self.rest_tls_props(prefix);
        let client_auth: ClientAuth = props
            .get("ssl.client.auth")
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or_default();
        TlsConfig::from_props(&props)?.server_config(client_auth)
    }

    /// How this worker calls other workers' `https` REST APIs (forwarded
    /// requests, task configs): the same trust and key stores, as Kafka
    /// Connect's `RestClient` uses; `None` when the cluster speaks HTTP.
    pub fn rest_client_tls(
        &self,
    ) -> Result<Option<Arc<rustls::ClientConfig>>, ferry_security::SecurityError> {
        if !self.rest_uses_https() {
            return Ok(None);
        }
        TlsConfig::from_props(&self.rest_tls_props("listeners.https."))?
            .client_config()
            .map(Some)
    }

    /// Properties for the worker's own admin client.
    pub fn admin_props(&self) -> Props {
        let mut props = Props::new();
        props.insert(BOOTSTRAP_SERVERS.into(), self.bootstrap_servers());
        for (k, v) in self.props() {
            if k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl.") {
                props.insert(k.clone(), v.clone());
            }
        }
        // `admin.listeners*` are the REST API's, not the admin client's.
        props.extend(
            originals_with_prefix(self.props(), "admin.")
                .into_iter()
                .filter(|(k, _)| k != "listeners" && !k.starts_with("listeners.")),
        );
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> WorkerConfig {
        let mut props: Props = [("offset.storage.file.filename", "/tmp/offsets")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        props.insert(BOOTSTRAP_SERVERS.into(), "localhost:9092".into());
        WorkerConfig::new(props, true).expect("valid worker properties")
    }

    fn distributed(pairs: &[(&str, &str)]) -> Result<WorkerConfig, ConfigError> {
        let props: Props = [
            (GROUP_ID, "g"),
            (CONFIG_TOPIC, "c"),
            (OFFSETS_TOPIC, "o"),
            (STATUS_TOPIC, "s"),
        ]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        WorkerConfig::new(props, false)
    }

    fn error(result: Result<WorkerConfig, ConfigError>) -> String {
        result.expect_err("refused").message
    }

    #[test]
    fn defaults_come_from_the_definition() {
        let c = config(&[]);
        assert_eq!(c.offset_flush_interval(), Duration::from_secs(60));
        assert_eq!(c.offset_flush_timeout(), Duration::from_secs(5));
        assert_eq!(c.shutdown_timeout(), Duration::from_secs(5));
        // No authentication and no listeners given: loopback only.
        assert_eq!(c.listeners(), "http://127.0.0.1:8083");
        // A distributed worker keeps Kafka Connect's default: the others
        // must reach it.
        let d = distributed(&[]).expect("valid");
        assert_eq!(d.listeners(), "http://:8083");
        assert_eq!(c.offset_file(), Some("/tmp/offsets"));
        assert!(c.distributed_config().is_none());
        assert!(c.topic_tracking() && c.topic_tracking_reset() && c.topic_creation());
        assert_eq!(c.advertised_scheme(), "http");
        assert_eq!(c.common.rest_connections_max, 256);
        assert_eq!(c.common.rest_header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.common.rest_idle_timeout, Duration::from_secs(30));

        let c = distributed(&[]).expect("valid");
        let d = c.distributed_config().expect("distributed");
        assert_eq!(d.group_id, "g");
        assert_eq!(d.client_id, None);
        assert_eq!(
            d.config_topic,
            InternalTopicConfig {
                name: "c".into(),
                partitions: 1,
                replication_factor: 3
            }
        );
        assert_eq!(d.offsets_topic.partitions, 25);
        assert_eq!(d.status_topic.partitions, 5);
        assert_eq!(d.session_timeout, Duration::from_secs(10));
        assert_eq!(d.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(d.rebalance_timeout, Duration::from_secs(60));
        assert_eq!(d.scheduled_rebalance_max_delay, Duration::from_secs(300));
        assert_eq!(d.worker_sync_timeout, Duration::from_secs(3));
        assert_eq!(d.worker_unsync_backoff, Duration::from_secs(300));
        assert_eq!(d.inter_worker_key_ttl, Duration::from_secs(3600));
        assert_eq!(d.connect_protocol, ConnectProtocol::Sessioned);
        assert_eq!(d.inter_worker_signature_algorithm, HMAC_SHA256);
        assert_eq!(d.inter_worker_verification_algorithms, vec![HMAC_SHA256]);
        assert!(c.offset_file().is_none());

        let group = c.group_config().expect("group settings");
        assert_eq!(group.bootstrap_servers, vec!["localhost:9092".to_string()]);
        assert_eq!(group.group_id, "g");
        assert_eq!(group.session_timeout, Duration::from_secs(10));
        assert_eq!(group.request_timeout, Duration::from_secs(40));
        assert_eq!(group.connect_timeout, Duration::from_secs(10));
        assert_eq!(group.retry_backoff, Duration::from_millis(100));
    }

    #[test]
    fn values_given_are_typed() {
        let c = distributed(&[
            (OFFSETS_PARTITIONS, "-1"),
            (STATUS_REPLICATION_FACTOR, "1"),
            (CONNECT_PROTOCOL, "Compatible"),
            (HEARTBEAT_INTERVAL, "500"),
            (CLIENT_ID, "w1"),
            (ADVERTISED_PORT, "9000"),
            (ADVERTISED_LISTENER, "https"),
        ])
        .expect("valid");
        let d = c.distributed_config().expect("distributed");
        assert_eq!(d.offsets_topic.partitions, -1);
        assert_eq!(d.status_topic.replication_factor, 1);
        assert_eq!(d.connect_protocol, ConnectProtocol::Compatible);
        assert_eq!(d.client_id.as_deref(), Some("w1"));
        assert_eq!(c.advertised_port(), Some(9000));
        assert_eq!(c.advertised_scheme(), "https");
        let group = c.group_config().expect("group settings");
        assert_eq!(group.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(group.client_id, "w1");
        assert_eq!(group.protocol, ConnectProtocol::Compatible);
    }

    #[test]
    fn malformed_values_are_refused_naming_the_key() {
        let standalone = |k: &str, v: &str| {
            let mut props: Props = [(OFFSET_FILE.to_string(), "/tmp/o".to_string())].into();
            props.insert(k.into(), v.into());
            WorkerConfig::new(props, true)
        };
        assert_eq!(
            error(standalone(OFFSET_FLUSH_INTERVAL, "abc")),
            "Invalid value abc for configuration offset.flush.interval.ms: Not a number of type LONG"
        );
        assert_eq!(
            error(standalone(TOPIC_TRACKING, "yes")),
            "Invalid value yes for configuration topic.tracking.enable: Expected value to be either true or false"
        );
        assert_eq!(
            error(standalone(LISTENERS, "ftp://x")),
            "Invalid value ftp://x for configuration listeners: Listener protocol must be either \"http\" or \"https\": ftp://x"
        );
        assert!(error(standalone(LISTENERS, "localhost:8083")).contains("right format"));
        assert!(error(standalone(LISTENERS, "")).contains("at least one URL"));
        assert!(standalone(LISTENERS, "HTTP://127.0.0.1:0").is_ok());
        assert!(error(standalone(ADVERTISED_PORT, "70000")).contains("rest.advertised.port"));
        assert_eq!(
            error(standalone(REST_CONNECTIONS_MAX, "0")),
            "Invalid value 0 for configuration rest.connections.max: Value must be at least 1"
        );
        assert!(error(standalone(REST_IDLE_TIMEOUT, "soon")).contains("rest.idle.timeout.ms"));
        let c = standalone(REST_HEADER_READ_TIMEOUT, "2500").expect("valid");
        assert_eq!(
            c.common.rest_header_read_timeout,
            Duration::from_millis(2500)
        );
        assert_eq!(
            error(WorkerConfig::new(Props::new(), true)),
            "Missing required configuration \"offset.storage.file.filename\" which has no default value."
        );
        // Undeclared keys pass through.
        let c = standalone("producer.linger.ms", "not checked here").expect("valid");
        assert_eq!(c.props()["producer.linger.ms"], "not checked here");

        assert_eq!(
            error(WorkerConfig::new(
                [(CONFIG_TOPIC.to_string(), "c".to_string())].into(),
                false
            )),
            "Missing required configuration \"group.id\" which has no default value."
        );
        assert_eq!(
            error(distributed(&[(OFFSETS_PARTITIONS, "0")])),
            "Invalid value 0 for configuration offset.storage.partitions: Number of partitions must be positive, or -1 to use the broker's default"
        );
        assert!(error(distributed(&[(CONFIG_REPLICATION_FACTOR, "0")]))
            .starts_with("Invalid value 0 for configuration config.storage.replication.factor: Replication factor must be positive"));
        assert_eq!(
            error(distributed(&[(CONNECT_PROTOCOL, "v2")])),
            "Invalid value v2 for configuration connect.protocol: Invalid Connect protocol compatibility"
        );
        assert_eq!(
            error(distributed(&[(SESSION_TIMEOUT, "soon")])),
            "Invalid value soon for configuration session.timeout.ms: Not a number of type INT"
        );
        assert!(error(distributed(&[(SIGNATURE_ALGORITHM, "HmacSHA512")]))
            .contains("inter.worker.signature.algorithm: the algorithm is not supported"));
        assert_eq!(
            error(distributed(&[(VERIFICATION_ALGORITHMS, "HmacSHA512")])),
            "Invalid value HmacSHA256 for configuration inter.worker.signature.algorithm: Signature algorithm must be present in inter.worker.verification.algorithms list"
        );
        assert!(error(distributed(&[(VERIFICATION_ALGORITHMS, "")]))
            .contains("At least one signature verification algorithm must be provided"));
        assert!(
            error(distributed(&[(EXACTLY_ONCE_SOURCE_SUPPORT, "enabled")]))
                .contains("exactly.once.source.support")
        );

        // Settings of the group member that only it can check.
        let e = distributed(&[(HEARTBEAT_INTERVAL, "20000")])
            .expect("parses")
            .group_config()
            .expect_err("heartbeat above the session timeout");
        assert!(e.to_string().contains("heartbeat.interval.ms"), "{e}");
        let e = distributed(&[("security.protocol", "TLS")])
            .expect("parses")
            .group_config()
            .expect_err("unknown security protocol");
        assert!(e.to_string().contains("security.protocol=TLS"), "{e}");
    }

    #[test]
    fn shipped_example_configs_parse() {
        let standalone = crate::properties::parse_properties(include_str!(
            "../../../configs/connect-standalone.properties"
        ));
        WorkerConfig::new(standalone, true).expect("configs/connect-standalone.properties");
        let distributed = crate::properties::parse_properties(include_str!(
            "../../../configs/connect-distributed.properties"
        ));
        let c =
            WorkerConfig::new(distributed, false).expect("configs/connect-distributed.properties");
        c.group_config().expect("group settings");
    }

    #[test]
    fn connector_rules_are_typed() {
        let c = config(&[]);
        assert_eq!(c.common.client_config_override_policy, OverridePolicy::All);
        assert_eq!(c.common.tasks_max_limit, 1000);
        assert!(!c.common.file_connectors_allowed_paths.is_restricted());

        let dir = tempfile::tempdir().expect("tempdir");
        let c = config(&[
            (
                OVERRIDE_POLICY,
                "org.apache.kafka.connect.connector.policy.AllowlistConnectorClientConfigOverridePolicy",
            ),
            (OVERRIDE_ALLOWLIST, "linger.ms, batch.size"),
            (TASKS_MAX_LIMIT, "8"),
            (FILE_ALLOWED_PATHS, dir.path().to_str().expect("utf-8")),
        ]);
        assert_eq!(
            c.common.client_config_override_policy,
            OverridePolicy::Allowlist(vec!["linger.ms".into(), "batch.size".into()])
        );
        assert_eq!(c.common.tasks_max_limit, 8);
        assert_eq!(
            c.common.file_connectors_allowed_paths.dirs(),
            [dir.path().canonicalize().expect("canonical")]
        );
        let rules = crate::connector_rules::ConnectorRules::new(&c);
        assert_eq!(rules.max_tasks, 8);

        let standalone = |k: &str, v: &str| {
            let mut props: Props = [(OFFSET_FILE.to_string(), "/tmp/o".to_string())].into();
            props.insert(k.into(), v.into());
            WorkerConfig::new(props, true)
        };
        assert!(error(standalone(OVERRIDE_POLICY, "Some")).starts_with(
            "Invalid value Some for configuration connector.client.config.override.policy:"
        ));
        let e = error(standalone(
            OVERRIDE_ALLOWLIST,
            "linger.ms,plugin.library.paths",
        ));
        assert!(
            e.contains("connector.client.config.override.allowlist")
                && e.contains("'plugin.library.paths'"),
            "{e}"
        );
        assert!(error(standalone(TASKS_MAX_LIMIT, "0")).contains("tasks.max.limit"));
        let missing = dir.path().join("missing");
        let e = error(standalone(
            FILE_ALLOWED_PATHS,
            missing.to_str().expect("utf-8"),
        ));
        assert!(
            e.contains("file.connectors.allowed.paths") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn the_workers_own_placeholders_are_resolved_and_bad_providers_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("worker-secrets.properties");
        std::fs::write(&file, "jaas=secret-jaas-text\n").expect("write");
        let placeholder = format!("${{file:{}:jaas}}", file.display());
        let c = config(&[
            ("config.providers", "file"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            ("sasl.jaas.config", &placeholder),
        ]);
        assert_eq!(c.props()["sasl.jaas.config"], "secret-jaas-text");
        assert!(!c.providers.is_empty());
        let mut props: Props = [(OFFSET_FILE.to_string(), "/tmp/o".to_string())].into();
        props.insert("config.providers".into(), "vault".into());
        props.insert(
            "config.providers.vault.class".into(),
            "com.example.VaultConfigProvider".into(),
        );
        let e = error(WorkerConfig::new(props, true));
        assert!(e.contains("com.example.VaultConfigProvider"), "{e}");
    }

    #[test]
    fn unimplemented_kafka_connect_keys_are_refused_or_noted() {
        let standalone = |pairs: &[(&str, &str)]| {
            let mut props: Props = [(OFFSET_FILE.to_string(), "/tmp/o".to_string())].into();
            for (k, v) in pairs {
                props.insert((*k).into(), (*v).into());
            }
            WorkerConfig::new(props, true)
        };
        for (key, value) in [
            ("rest.extension.classes", "com.example.BasicAuth"),
            ("response.http.headers.config", "add X-Frame-Options: DENY"),
            ("metric.reporters", "com.example.Reporter"),
        ] {
            let e = error(standalone(&[(key, value)]));
            assert!(
                e.starts_with(&format!("Invalid value {value} for configuration {key}:")),
                "{key}: {e}"
            );
            assert!(e.contains("not implemented"), "{key}: {e}");
        }
        // Values that ask for nothing.
        for (key, value) in [
            ("rest.extension.classes", ""),
            ("config.providers", " "),
            (
                "metric.reporters",
                "org.apache.kafka.common.metrics.JmxReporter",
            ),
            ("plugin.discovery", "hybrid_warn"),
            ("metrics.recording.level", "DEBUG"),
            ("access.control.allow.origin", "*"),
            ("listeners.https.ssl.keystore.location", "/k.jks"),
            // A distributed worker's key, in standalone mode, as Kafka
            // Connect ignores it there.
            ("inter.worker.key.size", "512"),
        ] {
            standalone(&[(key, value)]).unwrap_or_else(|e| panic!("{key}={value}: {e}"));
        }
        let notes = check_unimplemented(
            &[
                ("plugin.discovery".to_string(), "service_load".to_string()),
                ("access.control.allow.origin".to_string(), String::new()),
            ]
            .into(),
            true,
        )
        .expect("accepted");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("plugin.discovery is ignored"),
            "{notes:?}"
        );
        // Every refusal is reported at once.
        let e = error(standalone(&[
            ("rest.extension.classes", "x.Y"),
            ("metric.reporters", "com.example.Reporter"),
        ]));
        assert!(
            e.contains("rest.extension.classes") && e.contains("metric.reporters"),
            "{e}"
        );
        assert!(error(distributed(&[("inter.worker.key.size", "128")]))
            .contains("inter.worker.key.size"));
        distributed(&[("inter.worker.key.size", "256")]).expect("Ferry's key size");
    }

    #[test]
    fn client_props_refuse_what_the_connector_may_not_override() {
        let props = |pairs: &[(&str, &str)]| -> Props {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let connector = props(&[("producer.override.linger.ms", "7")]);
        let all = config(&[("producer.batch.size", "10")]);
        let p = all
            .client_props(ClientKind::Producer, &connector, BTreeMap::new())
            .expect("All allows it");
        assert_eq!(p["linger.ms"], "7");
        assert_eq!(p["batch.size"], "10");
        let none = config(&[(OVERRIDE_POLICY, "None")]);
        let e = none
            .client_props(ClientKind::Producer, &connector, BTreeMap::new())
            .expect_err("None refuses it");
        assert!(e.to_string().contains("'None' policy"), "{e}");
        // The consumer's settings are not the producer's overrides.
        assert!(none
            .client_props(ClientKind::Consumer, &connector, BTreeMap::new())
            .is_ok());
        let lib = props(&[("producer.override.plugin.library.paths", "/x.so")]);
        let e = all
            .client_props(ClientKind::Producer, &lib, BTreeMap::new())
            .expect_err("never from a connector");
        assert!(e.to_string().contains("plugin.library.paths"), "{e}");
        // The worker's own properties may still set it.
        let worker = config(&[("producer.plugin.library.paths", "/x.so")]);
        let p = worker
            .client_props(ClientKind::Producer, &Props::new(), BTreeMap::new())
            .expect("worker's own setting");
        assert_eq!(p["plugin.library.paths"], "/x.so");
    }

    #[test]
    fn plugin_path_lists_directories() {
        assert!(config(&[]).plugin_path().is_empty());
        assert!(config(&[(PLUGIN_PATH, "")]).plugin_path().is_empty());
        let c = config(&[(PLUGIN_PATH, "/opt/connectors, /usr/share/java")]);
        assert_eq!(c.plugin_path(), vec!["/opt/connectors", "/usr/share/java"]);
    }
}
