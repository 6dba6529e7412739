//! The connector's configuration: Debezium's Postgres connector's keys,
//! defaults and checks (Debezium 3.6.1's `PostgresConnectorConfig` and the
//! common and relational configs it extends), declared once.
//!
//! Debezium checks enumerations case-insensitively, ignoring surrounding
//! spaces, and reports `Value must be one of …` with its own (hash-set)
//! order of the values, which the messages here keep.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ferry_api::config::{ConfigDef, ConfigValue, Importance, Key, Password, Validator};
use ferry_api::{ParsedConfig, Props};
use regex::{Regex, RegexBuilder};

use crate::events::ColumnMeta;

/// A configuration that cannot be used: the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The '{key}' value is invalid: {reason}")]
pub struct ConfigProblem {
    pub key: String,
    pub reason: String,
}

/// Declares an enumeration-valued setting: the Rust enum, its values as
/// Debezium spells them, and the check with Debezium's message.
macro_rules! setting_enum {
    ($(#[$doc:meta])* $name:ident, $check:ident, $message:literal, { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// The value as Debezium writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Debezium's parsing: trimmed, any case.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($text) {
                    return Some($name::$variant);
                })+
                None
            }
        }

        fn $check(_key: &str, v: &ConfigValue) -> Result<(), String> {
            match v {
                ConfigValue::String(s) if $name::parse(s).is_none() => Err($message.into()),
                _ => Ok(()),
            }
        }
    };
}

setting_enum!(
    /// `database.sslmode`, as libpq and the JDBC driver take it.
    SslMode, check_ssl_mode,
    "Value must be one of allow, prefer, disable, verify-ca, require, verify-full",
    { Disable = "disable", Allow = "allow", Prefer = "prefer", Require = "require",
      VerifyCa = "verify-ca", VerifyFull = "verify-full" }
);

setting_enum!(
    /// `plugin.name`: the logical decoding plugin.
    LogicalDecoder, check_plugin_name_value,
    "Value must be one of decoderbufs, pgoutput",
    { Decoderbufs = "decoderbufs", Pgoutput = "pgoutput" }
);

setting_enum!(
    /// `publication.autocreate.mode`.
    AutoCreateMode, check_autocreate_mode,
    "Value must be one of no_tables, filtered, disabled, all_tables",
    { Disabled = "disabled", AllTables = "all_tables", Filtered = "filtered", NoTables = "no_tables" }
);

setting_enum!(
    /// `snapshot.mode`.
    SnapshotMode, check_snapshot_mode,
    "Value must be one of always, initial_only, configuration_based, when_needed, initial, custom, no_data",
    { Always = "always", Initial = "initial", NoData = "no_data", InitialOnly = "initial_only",
      WhenNeeded = "when_needed", ConfigurationBased = "configuration_based", Custom = "custom" }
);

setting_enum!(
    /// `decimal.handling.mode`.
    DecimalHandlingMode, check_decimal_mode,
    "Value must be one of string, double, precise",
    { Precise = "precise", String = "string", Double = "double" }
);

setting_enum!(
    /// `time.precision.mode`.
    TimePrecisionMode, check_time_precision_mode,
    "Value must be one of adaptive, adaptive_time_microseconds, isostring, microseconds, nanoseconds, connect",
    { Adaptive = "adaptive", AdaptiveTimeMicroseconds = "adaptive_time_microseconds",
      IsoString = "isostring", Connect = "connect", Microseconds = "microseconds",
      Nanoseconds = "nanoseconds" }
);

setting_enum!(
    /// `binary.handling.mode`.
    BinaryHandlingMode, check_binary_mode,
    "Value must be one of bytes, base64, hex, base64-url-safe",
    { Bytes = "bytes", Base64 = "base64", Base64UrlSafe = "base64-url-safe", Hex = "hex" }
);

setting_enum!(
    /// `interval.handling.mode`.
    IntervalHandlingMode, check_interval_mode,
    "Value must be one of string, numeric",
    { Numeric = "numeric", String = "string" }
);

setting_enum!(
    /// `hstore.handling.mode`.
    HStoreHandlingMode, check_hstore_mode,
    "Value must be one of json, map",
    { Json = "json", Map = "map" }
);

setting_enum!(
    /// `event.processing.failure.handling.mode`.
    FailureHandlingMode, check_failure_mode,
    "Value must be one of warn, fail, ignore, skip",
    { Fail = "fail", Warn = "warn", Skip = "skip", Ignore = "ignore" }
);

setting_enum!(
    /// `lsn.flush.mode`: who confirms LSNs to the slot.
    LsnFlushMode, check_lsn_flush_mode,
    "Value must be one of connector_and_driver, connector, manual",
    { Connector = "connector", Manual = "manual", ConnectorAndDriver = "connector_and_driver" }
);

setting_enum!(
    /// `incremental.snapshot.watermarking.strategy`: how a chunk's window
    /// is closed in the signal table.
    WatermarkingStrategy, check_watermarking_strategy,
    "Value must be one of insert_insert, insert_delete",
    { InsertInsert = "insert_insert", InsertDelete = "insert_delete" }
);

pub const DATABASE_HOSTNAME: Key<String> = Key::new("database.hostname");
pub const DATABASE_PORT: Key<i32> = Key::new("database.port");
pub const DATABASE_USER: Key<String> = Key::new("database.user");
pub const DATABASE_PASSWORD: Key<Option<Password>> = Key::new("database.password");
pub const DATABASE_DBNAME: Key<String> = Key::new("database.dbname");
pub const DATABASE_SSLMODE: Key<String> = Key::new("database.sslmode");
pub const DATABASE_SSLROOTCERT: Key<Option<String>> = Key::new("database.sslrootcert");
pub const DATABASE_SSLCERT: Key<Option<String>> = Key::new("database.sslcert");
pub const DATABASE_SSLKEY: Key<Option<String>> = Key::new("database.sslkey");
pub const DATABASE_SSLPASSWORD: Key<Option<Password>> = Key::new("database.sslpassword");
pub const DATABASE_SSLFACTORY: Key<Option<String>> = Key::new("database.sslfactory");
pub const TOPIC_PREFIX: Key<String> = Key::new("topic.prefix");
pub const PLUGIN_NAME: Key<String> = Key::new("plugin.name");
pub const SLOT_NAME: Key<String> = Key::new("slot.name");
pub const SLOT_DROP_ON_STOP: Key<bool> = Key::new("slot.drop.on.stop");
pub const SLOT_STREAM_PARAMS: Key<Option<String>> = Key::new("slot.stream.params");
pub const SLOT_MAX_RETRIES: Key<i32> = Key::new("slot.max.retries");
pub const SLOT_RETRY_DELAY_MS: Key<i64> = Key::new("slot.retry.delay.ms");
pub const PUBLICATION_NAME: Key<String> = Key::new("publication.name");
pub const PUBLICATION_AUTOCREATE_MODE: Key<String> = Key::new("publication.autocreate.mode");
pub const SCHEMA_INCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("schema.include.list");
pub const SCHEMA_EXCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("schema.exclude.list");
pub const TABLE_INCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("table.include.list");
pub const TABLE_EXCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("table.exclude.list");
pub const COLUMN_INCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("column.include.list");
pub const COLUMN_EXCLUDE_LIST: Key<Option<Vec<String>>> = Key::new("column.exclude.list");
pub const SNAPSHOT_MODE: Key<String> = Key::new("snapshot.mode");
pub const SNAPSHOT_FETCH_SIZE: Key<Option<i32>> = Key::new("snapshot.fetch.size");
pub const SNAPSHOT_MAX_THREADS: Key<i32> = Key::new("snapshot.max.threads");
pub const SNAPSHOT_MAX_THREADS_MULTIPLIER: Key<i32> = Key::new("snapshot.max.threads.multiplier");
pub const LEGACY_SNAPSHOT_MAX_THREADS: Key<bool> = Key::new("legacy.snapshot.max.threads");
pub const SNAPSHOT_SELECT_STATEMENT_OVERRIDES: Key<Option<Vec<String>>> =
    Key::new("snapshot.select.statement.overrides");
pub const MAX_BATCH_SIZE: Key<i32> = Key::new("max.batch.size");
pub const MAX_QUEUE_SIZE: Key<i32> = Key::new("max.queue.size");
pub const MAX_QUEUE_SIZE_IN_BYTES: Key<i64> = Key::new("max.queue.size.in.bytes");
pub const POLL_INTERVAL_MS: Key<i64> = Key::new("poll.interval.ms");
pub const ERRORS_MAX_RETRIES: Key<i32> = Key::new("errors.max.retries");
pub const RETRIABLE_RESTART_WAIT_MS: Key<i64> = Key::new("retriable.restart.connector.wait.ms");
pub const HEARTBEAT_INTERVAL_MS: Key<i32> = Key::new("heartbeat.interval.ms");
pub const HEARTBEAT_ACTION_QUERY: Key<Option<String>> = Key::new("heartbeat.action.query");
pub const HEARTBEAT_TOPICS_PREFIX: Key<String> = Key::new("heartbeat.topics.prefix");
pub const TOPIC_HEARTBEAT_PREFIX: Key<String> = Key::new("topic.heartbeat.prefix");
pub const TOPIC_TRANSACTION: Key<String> = Key::new("topic.transaction");
pub const TOMBSTONES_ON_DELETE: Key<bool> = Key::new("tombstones.on.delete");
pub const DECIMAL_HANDLING_MODE: Key<String> = Key::new("decimal.handling.mode");
pub const TIME_PRECISION_MODE: Key<String> = Key::new("time.precision.mode");
pub const BINARY_HANDLING_MODE: Key<String> = Key::new("binary.handling.mode");
pub const INTERVAL_HANDLING_MODE: Key<String> = Key::new("interval.handling.mode");
pub const HSTORE_HANDLING_MODE: Key<String> = Key::new("hstore.handling.mode");
pub const MESSAGE_KEY_COLUMNS: Key<Option<String>> = Key::new("message.key.columns");
pub const SKIPPED_OPERATIONS: Key<Vec<String>> = Key::new("skipped.operations");
pub const PROVIDE_TRANSACTION_METADATA: Key<bool> = Key::new("provide.transaction.metadata");
pub const SIGNAL_DATA_COLLECTION: Key<Option<Vec<String>>> = Key::new("signal.data.collection");
pub const INCREMENTAL_SNAPSHOT_CHUNK_SIZE: Key<i32> = Key::new("incremental.snapshot.chunk.size");
pub const INCREMENTAL_SNAPSHOT_WATERMARKING_STRATEGY: Key<String> =
    Key::new("incremental.snapshot.watermarking.strategy");
pub const SIGNAL_ENABLED_CHANNELS: Key<Vec<String>> = Key::new("signal.enabled.channels");
pub const SIGNAL_POLL_INTERVAL_MS: Key<i64> = Key::new("signal.poll.interval.ms");
pub const SIGNAL_KAFKA_TOPIC: Key<Option<String>> = Key::new("signal.kafka.topic");
pub const SIGNAL_FILE: Key<String> = Key::new("signal.file");
pub const SIGNAL_KAFKA_BOOTSTRAP_SERVERS: Key<Option<String>> =
    Key::new("signal.kafka.bootstrap.servers");
pub const SIGNAL_KAFKA_GROUP_ID: Key<String> = Key::new("signal.kafka.groupId");
pub const SIGNAL_KAFKA_POLL_TIMEOUT_MS: Key<i32> = Key::new("signal.kafka.poll.timeout.ms");
pub const NOTIFICATION_ENABLED_CHANNELS: Key<Vec<String>> =
    Key::new("notification.enabled.channels");
pub const NOTIFICATION_SINK_TOPIC_NAME: Key<Option<String>> =
    Key::new("notification.sink.topic.name");
/// Kafka consumer settings of the `kafka` signal channel, prefix removed.
pub const SIGNAL_CONSUMER_PREFIX: &str = "signal.consumer.";
pub const EVENT_PROCESSING_FAILURE_HANDLING_MODE: Key<String> =
    Key::new("event.processing.failure.handling.mode");
pub const STATUS_UPDATE_INTERVAL_MS: Key<i32> = Key::new("status.update.interval.ms");
pub const XMIN_FETCH_INTERVAL_MS: Key<i64> = Key::new("xmin.fetch.interval.ms");
pub const INCLUDE_UNKNOWN_DATATYPES: Key<bool> = Key::new("include.unknown.datatypes");
pub const LSN_FLUSH_MODE: Key<Option<String>> = Key::new("lsn.flush.mode");
pub const FLUSH_LSN_SOURCE: Key<Option<bool>> = Key::new("flush.lsn.source");

/// Debezium's effective `snapshot.fetch.size` when none is set.
pub const DEFAULT_SNAPSHOT_FETCH_SIZE: i32 = 10_240;

fn check_hostname(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s)
            if s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            Err(format!("{s} has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)"))
        }
        _ => Ok(()),
    }
}

fn check_topic_prefix(key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) if s.is_empty() => Err("A value is required".into()),
        _ => check_hostname(key, v),
    }
}

fn check_plugin_name(key: &str, v: &ConfigValue) -> Result<(), String> {
    check_plugin_name_value(key, v)?;
    match v {
        ConfigValue::String(s) if LogicalDecoder::parse(s) == Some(LogicalDecoder::Decoderbufs) => {
            Err("decoderbufs (Debezium's default) needs a server extension whose output Ferry does not read; set plugin.name=pgoutput, which PostgreSQL 10 and later have built in".into())
        }
        _ => Ok(()),
    }
}

fn check_slot_name(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s)
            if s.is_empty()
                || s.len() > 63
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Err("Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63".into())
        }
        _ => Ok(()),
    }
}

fn check_regex_list(_key: &str, v: &ConfigValue) -> Result<(), String> {
    if let ConfigValue::List(items) = v {
        for item in items {
            if let Err(e) = anchored(item) {
                return Err(format!(
                    "A comma-separated list of valid regular expressions is expected, but {e}"
                ));
            }
        }
    }
    Ok(())
}

fn check_positive(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::Int(n) if *n <= 0 => {
            Err("A positive, non-zero integer value is expected".into())
        }
        ConfigValue::Long(n) if *n <= 0 || *n > i64::from(i32::MAX) => {
            Err("A positive, non-zero integer value is expected".into())
        }
        _ => Ok(()),
    }
}

fn check_non_negative(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::Int(n) if *n < 0 => Err("An non-negative integer is expected".into()),
        ConfigValue::Long(n) if *n < 0 => Err("A non-negative long value is expected".into()),
        _ => Ok(()),
    }
}

fn check_skipped_operations(_key: &str, v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::List(ops) = v else {
        return Ok(());
    };
    if ops.iter().any(|o| o.trim() == "none") {
        return if ops.len() > 1 {
            Err("'none' cannot be specified with other skipped operation types".into())
        } else {
            Ok(())
        };
    }
    if ops
        .iter()
        .any(|o| !["r", "c", "u", "d", "t"].contains(&o.trim()))
    {
        return Err("Invalid operation".into());
    }
    Ok(())
}

fn check_message_key_columns(_key: &str, v: &ConfigValue) -> Result<(), String> {
    let ConfigValue::String(s) = v else {
        return Ok(());
    };
    if s.trim().is_empty() {
        return Err("Must not be empty".into());
    }
    for part in s.split(';') {
        let valid = part.trim().split_once(':').is_some_and(|(table, columns)| {
            !table.is_empty() && !columns.contains(':') && columns.split(',').all(|c| !c.is_empty())
        });
        if !valid {
            return Err(format!(
                "{part} has an invalid format (expecting '^\\s*([^:]+):([^:,]+(,[^:,]+)*)\\s*$')"
            ));
        }
    }
    Ok(())
}

/// The connector's configuration definition.
pub fn config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define_key(TOPIC_PREFIX)
        .validator(Validator::Custom(check_topic_prefix))
        .importance(Importance::High)
        .group("Connector")
        .doc("Topic prefix that identifies and provides a namespace for the particular database server/cluster that is capturing changes. It is the prefix of every topic the connector writes, and the `server` of its source partition.");
    d.define_key(DATABASE_HOSTNAME)
        .validator(Validator::Custom(check_hostname))
        .importance(Importance::High)
        .group("Connection")
        .doc("Resolvable hostname or IP address of the database server.");
    d.define_key(DATABASE_PORT)
        .default(5432)
        .importance(Importance::High)
        .group("Connection")
        .doc("Port of the database server.");
    d.define_key(DATABASE_USER)
        .importance(Importance::High)
        .group("Connection")
        .doc("Name of the database user to be used when connecting to the database.");
    d.define_key(DATABASE_PASSWORD)
        .importance(Importance::High)
        .group("Connection")
        .doc("Password of the database user to be used when connecting to the database.");
    d.define_key(DATABASE_DBNAME)
        .importance(Importance::High)
        .group("Connection")
        .doc("The name of the database from which the connector should capture changes.");
    d.define_key(DATABASE_SSLMODE)
        .default("prefer")
        .validator(Validator::Custom(check_ssl_mode))
        .importance(Importance::Medium)
        .group("Connection")
        .doc("Whether to use an encrypted connection: disable, allow, prefer (the default), require, verify-ca, verify-full.");
    for (key, doc) in [
        (
            DATABASE_SSLROOTCERT,
            "File of the root certificate(s) against which the server is validated (PEM).",
        ),
        (
            DATABASE_SSLCERT,
            "File of the client's SSL certificate (PEM).",
        ),
        (
            DATABASE_SSLKEY,
            "File of the client's SSL private key (unencrypted PEM).",
        ),
        (
            DATABASE_SSLFACTORY,
            "A JDBC SSL socket factory class; accepted and ignored.",
        ),
    ] {
        d.define_key(key)
            .importance(Importance::Medium)
            .group("Connection")
            .doc(doc);
    }
    d.define_key(DATABASE_SSLPASSWORD)
        .importance(Importance::Medium)
        .group("Connection")
        .doc("Password of the client's SSL private key file.");
    d.define_key(PLUGIN_NAME)
        .default("decoderbufs")
        .validator(Validator::Custom(check_plugin_name))
        .importance(Importance::Medium)
        .group("Replication")
        .doc("The logical decoding plugin on the server. Ferry reads pgoutput; Debezium's default, decoderbufs, is refused.");
    d.define_key(SLOT_NAME)
        .default("debezium")
        .validator(Validator::Custom(check_slot_name))
        .importance(Importance::Medium)
        .group("Replication")
        .doc("The name of the PostgreSQL logical decoding slot created for streaming changes.");
    d.define_key(SLOT_DROP_ON_STOP)
        .default(false)
        .importance(Importance::Medium)
        .group("Replication")
        .doc("Whether to drop the logical replication slot when the connector stops.");
    d.define_key(SLOT_STREAM_PARAMS)
        .importance(Importance::Low)
        .group("Replication")
        .doc("Extra parameters of the logical decoding plugin, `name=value` separated by semicolons.");
    d.define_key(SLOT_MAX_RETRIES)
        .default(6)
        .importance(Importance::Low)
        .group("Replication")
        .doc("How many times to retry connecting to a replication slot in use by another connection.");
    d.define_key(SLOT_RETRY_DELAY_MS)
        .default(10_000_i64)
        .importance(Importance::Low)
        .group("Replication")
        .doc("Milliseconds between those retries.");
    d.define_key(PUBLICATION_NAME)
        .default("dbz_publication")
        .importance(Importance::Low)
        .group("Replication")
        .doc("The name of the PostgreSQL publication streamed from.");
    d.define_key(PUBLICATION_AUTOCREATE_MODE)
        .default("all_tables")
        .validator(Validator::Custom(check_autocreate_mode))
        .importance(Importance::Low)
        .group("Replication")
        .doc("Whether and how the publication is created: all_tables, disabled, filtered (the included tables), no_tables.");
    d.define_key(STATUS_UPDATE_INTERVAL_MS)
        .default(10_000)
        .validator(Validator::Custom(check_positive))
        .importance(Importance::Low)
        .group("Replication")
        .doc("Milliseconds between status updates to the server.");
    d.define_key(XMIN_FETCH_INTERVAL_MS)
        .default(0_i64)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Low)
        .group("Replication")
        .doc("Milliseconds between reads of the slot's xmin; 0 never.");
    d.define_key(LSN_FLUSH_MODE)
        .validator(Validator::Custom(check_lsn_flush_mode))
        .importance(Importance::Low)
        .group("Replication")
        .doc("Who confirms processed LSNs to the slot: connector (the default), manual, connector_and_driver.");
    d.define_key(FLUSH_LSN_SOURCE)
        .importance(Importance::Low)
        .group("Replication")
        .doc("Deprecated, replaced by lsn.flush.mode: true is connector, false manual.");
    for (key, doc) in [
        (SCHEMA_INCLUDE_LIST, "Regular expressions matching the schemas to capture; no other schema is captured."),
        (SCHEMA_EXCLUDE_LIST, "Regular expressions matching schemas not to capture."),
        (TABLE_INCLUDE_LIST, "Regular expressions matching the fully-qualified names (schema.table) of the tables to capture."),
        (TABLE_EXCLUDE_LIST, "Regular expressions matching the fully-qualified names of tables not to capture."),
        (COLUMN_INCLUDE_LIST, "Regular expressions matching the fully-qualified names (schema.table.column) of the columns to include."),
        (COLUMN_EXCLUDE_LIST, "Regular expressions matching the fully-qualified names of columns to leave out."),
    ] {
        d.define_key(key)
            .validator(Validator::Custom(check_regex_list))
            .importance(Importance::Medium)
            .group("Filters")
            .doc(doc);
    }
    d.define_key(MESSAGE_KEY_COLUMNS)
        .validator(Validator::Custom(check_message_key_columns))
        .importance(Importance::Low)
        .group("Events")
        .doc("Columns making the message key of tables, `<table regex>:<column>,<column>` separated by semicolons, instead of the primary key.");
    d.define_key(SNAPSHOT_MODE)
        .default("initial")
        .validator(Validator::Custom(check_snapshot_mode))
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("When to snapshot: initial, always, initial_only, no_data, when_needed.");
    d.define_key(SNAPSHOT_FETCH_SIZE)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Medium)
        .group("Snapshot")
        .doc("Rows fetched at a time while snapshotting a table (10240 when unset).");
    d.define_key(SNAPSHOT_SELECT_STATEMENT_OVERRIDES)
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("Tables (`schema.table`) whose snapshot reads the SELECT statement in `snapshot.select.statement.overrides.<schema>.<table>` instead of the whole table.");
    d.define_key(SNAPSHOT_MAX_THREADS)
        .default(1)
        .validator(Validator::Custom(check_positive))
        .importance(Importance::Medium)
        .group("Snapshot")
        .doc("Connections reading the snapshot at once, each a chunk of a table (a range of its primary key) at a time.");
    d.define_key(SNAPSHOT_MAX_THREADS_MULTIPLIER)
        .default(1)
        .validator(Validator::Custom(check_positive))
        .importance(Importance::Medium)
        .group("Snapshot")
        .doc("Chunks per table: snapshot.max.threads times this.");
    d.define_key(LEGACY_SNAPSHOT_MAX_THREADS)
        .default(false)
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("Whole tables, not chunks, per snapshot connection.");
    d.define_key(INCREMENTAL_SNAPSHOT_CHUNK_SIZE)
        .default(1024)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Medium)
        .group("Snapshot")
        .doc("Rows per chunk of an incremental snapshot.");
    d.define_key(INCREMENTAL_SNAPSHOT_WATERMARKING_STRATEGY)
        .default("insert_insert")
        .validator(Validator::Custom(check_watermarking_strategy))
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("How a chunk's window is marked in the signal table: insert_insert (an open and a close row), insert_delete (the open row deleted).");
    d.define_key(SIGNAL_DATA_COLLECTION)
        .importance(Importance::Medium)
        .group("Snapshot")
        .doc("The signalling table (schema.table), for incremental snapshots on request.");
    d.define_key(SIGNAL_ENABLED_CHANNELS)
        .default(vec!["source".to_owned()])
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("Where signals are read from: source (the signal table), kafka (signal.kafka.topic) and file (signal.file).");
    d.define_key(SIGNAL_POLL_INTERVAL_MS)
        .default(5000)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("How often the kafka signal channel is read, in milliseconds.");
    d.define_key(SIGNAL_FILE)
        .default("file-signals.txt")
        .importance(Importance::High)
        .group("Snapshot")
        .doc("The file the file signal channel reads, a signal per line as JSON; emptied as it is read.");
    d.define_key(SIGNAL_KAFKA_TOPIC)
        .importance(Importance::High)
        .group("Snapshot")
        .doc("The topic the kafka signal channel reads (partition 0); <topic.prefix>-signal when unset.");
    d.define_key(SIGNAL_KAFKA_BOOTSTRAP_SERVERS)
        .importance(Importance::High)
        .group("Snapshot")
        .doc("The brokers of the kafka signal channel's topic; required with the kafka channel.");
    d.define_key(SIGNAL_KAFKA_GROUP_ID)
        .default("kafka-signal")
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("The consumer group whose committed offset the kafka signal channel reads on from.");
    d.define_key(SIGNAL_KAFKA_POLL_TIMEOUT_MS)
        .default(0)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("How long a read of the kafka signal channel waits for a signal, in milliseconds.");
    d.define_key(NOTIFICATION_ENABLED_CHANNELS)
        .default(Vec::new())
        .importance(Importance::Low)
        .group("Snapshot")
        .doc("Where snapshot progress is reported: sink (records on notification.sink.topic.name) and log.");
    d.define_key(NOTIFICATION_SINK_TOPIC_NAME)
        .importance(Importance::High)
        .group("Snapshot")
        .doc("The topic of the sink notification channel; required with that channel.");
    d.define_key(MAX_BATCH_SIZE)
        .default(2048)
        .validator(Validator::Custom(check_positive))
        .importance(Importance::Medium)
        .group("Connector")
        .doc("Largest number of events a poll returns.");
    d.define_key(MAX_QUEUE_SIZE)
        .default(8192)
        .importance(Importance::Medium)
        .group("Connector")
        .doc("Largest number of events held between the database and the poll; larger than max.batch.size.");
    d.define_key(MAX_QUEUE_SIZE_IN_BYTES)
        .default(0_i64)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Medium)
        .group("Connector")
        .doc("Largest size in bytes of the events held; 0 no bound.");
    d.define_key(POLL_INTERVAL_MS)
        .default(500_i64)
        .validator(Validator::Custom(check_positive))
        .importance(Importance::Medium)
        .group("Connector")
        .doc("Milliseconds a poll waits for events to arrive.");
    d.define_key(ERRORS_MAX_RETRIES)
        .default(-1)
        .importance(Importance::Low)
        .group("Connector")
        .doc("Reconnections tried after the connection to PostgreSQL is lost, before the task fails: -1 without limit, 0 none.");
    d.define_key(RETRIABLE_RESTART_WAIT_MS)
        .default(10_000_i64)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Low)
        .group("Connector")
        .doc(
            "Milliseconds to wait before reconnecting after the connection to PostgreSQL is lost.",
        );
    d.define_key(HEARTBEAT_INTERVAL_MS)
        .default(0)
        .validator(Validator::Custom(check_non_negative))
        .importance(Importance::Medium)
        .group("Connector")
        .doc("Milliseconds between heartbeat messages; 0 sends none.");
    d.define_key(HEARTBEAT_ACTION_QUERY)
        .importance(Importance::Low)
        .group("Connector")
        .doc("A statement run on the database at each heartbeat, so that the slot advances on a database with little traffic of its own.");
    d.define_key(TOPIC_TRANSACTION)
        .default("transaction")
        .importance(Importance::Low)
        .group("Connector")
        .doc("The transaction metadata topic's name after `<topic.prefix>.`.");
    d.define_key(TOPIC_HEARTBEAT_PREFIX)
        .default("__debezium-heartbeat")
        .importance(Importance::Low)
        .group("Connector")
        .doc("The prefix of the heartbeat topic, `<prefix>.<topic.prefix>`.");
    d.define_key(HEARTBEAT_TOPICS_PREFIX)
        .default("__debezium-heartbeat")
        .importance(Importance::Low)
        .group("Connector")
        .doc("Older name of topic.heartbeat.prefix; as in Debezium, the heartbeat topic is named from topic.heartbeat.prefix.");
    d.define_key(TOMBSTONES_ON_DELETE)
        .default(true)
        .importance(Importance::Medium)
        .group("Events")
        .doc("Whether a delete is followed by a tombstone (a record with the same key and a null value).");
    d.define_key(SKIPPED_OPERATIONS)
        .default(vec!["t".to_owned()])
        .validator(Validator::Custom(check_skipped_operations))
        .importance(Importance::Low)
        .group("Events")
        .doc("Operations not published: c (inserts), u (updates), d (deletes), t (truncates), r (reads), or none.");
    d.define_key(PROVIDE_TRANSACTION_METADATA)
        .default(false)
        .importance(Importance::Low)
        .group("Events")
        .doc("Whether events carry their transaction and transaction boundaries go to `<topic.prefix>.transaction`.");
    d.define_key(EVENT_PROCESSING_FAILURE_HANDLING_MODE)
        .default("fail")
        .validator(Validator::Custom(check_failure_mode))
        .importance(Importance::Medium)
        .group("Events")
        .doc(
            "What an event that cannot be processed does: fail, warn (log and skip), skip, ignore.",
        );
    d.define_key(INCLUDE_UNKNOWN_DATATYPES)
        .default(false)
        .importance(Importance::Low)
        .group("Events")
        .doc("Whether columns of types the connector does not know are included (as bytes).");
    for (key, default, check, doc) in [
        (DECIMAL_HANDLING_MODE, "precise", check_decimal_mode as fn(&str, &ConfigValue) -> Result<(), String>,
         "How DECIMAL and NUMERIC values are written: precise (Connect decimals), string, double."),
        (TIME_PRECISION_MODE, "adaptive", check_time_precision_mode,
         "How time values are written: adaptive, adaptive_time_microseconds, connect, …"),
        (BINARY_HANDLING_MODE, "bytes", check_binary_mode,
         "How binary values are written: bytes, base64, base64-url-safe, hex."),
        (INTERVAL_HANDLING_MODE, "numeric", check_interval_mode,
         "How INTERVAL values are written: numeric (microseconds), string (ISO 8601)."),
        (HSTORE_HANDLING_MODE, "json", check_hstore_mode,
         "How HSTORE values are written: json, map."),
    ] {
        d.define_key(key)
            .default(default)
            .validator(Validator::Custom(check))
            .importance(Importance::Medium)
            .group("Events")
            .doc(doc);
    }
    d
}

/// `snapshot.select.statement.overrides`: each listed `schema.table` and
/// its SELECT, from `snapshot.select.statement.overrides.<schema>.<table>`;
/// a table listed without one is read whole, with a warning, as Debezium's
/// `getSnapshotSelectOverridesByTable` does.
fn select_overrides(p: &ParsedConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in p
        .get(SNAPSHOT_SELECT_STATEMENT_OVERRIDES)
        .unwrap_or_default()
    {
        let key = format!("{}.{table}", SNAPSHOT_SELECT_STATEMENT_OVERRIDES.name());
        match p.originals().get(&key).map(|s| s.trim()) {
            Some(select) if !select.is_empty() => out.push((table, select.to_owned())),
            _ => tracing::warn!("{table} is listed in snapshot.select.statement.overrides but {key} is not set; it is read whole"),
        }
    }
    out
}

/// Debezium's checks between keys: `(key, message)`.
pub fn cross_checks(p: &ParsedConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (include, exclude) in [
        (SCHEMA_INCLUDE_LIST, SCHEMA_EXCLUDE_LIST),
        (TABLE_INCLUDE_LIST, TABLE_EXCLUDE_LIST),
        (COLUMN_INCLUDE_LIST, COLUMN_EXCLUDE_LIST),
    ] {
        if p.get(include).is_some() && p.get(exclude).is_some() {
            out.push((
                exclude.name().to_owned(),
                format!("\"{}\" is already specified", include.name()),
            ));
        }
    }
    let queue = p.get(MAX_QUEUE_SIZE);
    if queue <= 0 {
        out.push((
            MAX_QUEUE_SIZE.name().to_owned(),
            "A positive queue size is required".into(),
        ));
    } else if queue <= p.get(MAX_BATCH_SIZE) {
        out.push((
            MAX_QUEUE_SIZE.name().to_owned(),
            "Must be larger than the maximum batch size".into(),
        ));
    }
    if p.get(SIGNAL_DATA_COLLECTION).is_some_and(|s| s.len() > 1) {
        out.push((
            SIGNAL_DATA_COLLECTION.name().to_owned(),
            "For single task connector only one signal data collection is permitted.".into(),
        ));
    }
    let channels = p.get(SIGNAL_ENABLED_CHANNELS);
    if let Some(other) = channels
        .iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty() && !matches!(*c, "source" | "kafka" | "file"))
    {
        out.push((
            SIGNAL_ENABLED_CHANNELS.name().to_owned(),
            format!("the {other} signal channel is not supported by Ferry: use source (the signal table), kafka or file"),
        ));
    }
    if channels.iter().any(|c| c.trim() == "kafka")
        && p.get(SIGNAL_KAFKA_BOOTSTRAP_SERVERS)
            .is_none_or(|s| s.trim().is_empty())
    {
        out.push((
            SIGNAL_KAFKA_BOOTSTRAP_SERVERS.name().to_owned(),
            "the kafka signal channel needs the brokers of its topic".into(),
        ));
    }
    let notification_channels = p.get(NOTIFICATION_ENABLED_CHANNELS);
    if let Some(other) = notification_channels
        .iter()
        .map(|c| c.trim())
        .find(|c| !c.is_empty() && *c != "sink" && *c != "log")
    {
        out.push((
            NOTIFICATION_ENABLED_CHANNELS.name().to_owned(),
            format!("the {other} notification channel is not supported by Ferry: use sink or log"),
        ));
    }
    if notification_channels.iter().any(|c| c.trim() == "sink")
        && p.get(NOTIFICATION_SINK_TOPIC_NAME)
            .is_none_or(|t| t.trim().is_empty())
    {
        out.push((
            NOTIFICATION_SINK_TOPIC_NAME.name().to_owned(),
            "Notification topic name must be provided when kafka notification channel is enabled"
                .into(),
        ));
    }
    if p.get(DATABASE_SSLPASSWORD).is_some() {
        out.push((
            DATABASE_SSLPASSWORD.name().to_owned(),
            "An encrypted client key is not supported by Ferry: give database.sslkey as an unencrypted PEM key".into(),
        ));
    }
    // Known to Debezium, but they load Java classes of its own.
    if let Some(mode @ (SnapshotMode::Custom | SnapshotMode::ConfigurationBased)) =
        SnapshotMode::parse(&p.get(SNAPSHOT_MODE))
    {
        out.push((
            SNAPSHOT_MODE.name().to_owned(),
            format!(
                "'{}' is not supported by Ferry: use initial, always, initial_only, no_data or when_needed",
                mode.as_str()
            ),
        ));
    }
    // Debezium's, but not written by Ferry yet.
    let not_yet = |key: Key<String>, values: &[&str]| {
        let v = p.get(key);
        values
            .iter()
            .any(|n| v.trim().eq_ignore_ascii_case(n))
            .then(|| {
                (
                    key.name().to_owned(),
                    format!("'{}' is not supported by Ferry yet", v.trim()),
                )
            })
    };
    out.extend(not_yet(INTERVAL_HANDLING_MODE, &["string"]));
    out.extend(not_yet(HSTORE_HANDLING_MODE, &["map"]));
    out.extend(not_yet(
        TIME_PRECISION_MODE,
        &["isostring", "microseconds", "nanoseconds"],
    ));
    out
}

/// An include or exclude pattern as Debezium applies it: the whole name,
/// any case.
pub(crate) fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{})$", pattern.trim()))
        .case_insensitive(true)
        .build()
}

fn patterns(list: Option<Vec<String>>) -> Result<Option<Vec<Regex>>, regex::Error> {
    list.map(|l| l.iter().map(|p| anchored(p)).collect())
        .transpose()
}

/// Which tables are captured: schema and table include or exclude lists.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    /// The signal table, captured whatever the lists say.
    signal: Option<(String, String)>,
    schema_include: Option<Vec<Regex>>,
    schema_exclude: Option<Vec<Regex>>,
    table_include: Option<Vec<Regex>>,
    table_exclude: Option<Vec<Regex>>,
}

impl TableFilter {
    /// Where `schema.table` comes in a snapshot, as Debezium orders them:
    /// by the first `table.include.list` pattern that matches it (the
    /// signal table after them all), then by name.
    pub fn snapshot_rank(&self, schema: &str, table: &str) -> usize {
        let qualified = format!("{schema}.{table}");
        self.table_include.as_ref().map_or(0, |l| {
            l.iter()
                .position(|r| r.is_match(&qualified))
                .unwrap_or(l.len())
        })
    }

    /// Whether `schema.table` is captured.
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        self.signal
            .as_ref()
            .is_some_and(|(s, t)| s == schema && t == table)
            || self.listed(schema, table)
    }

    /// Whether a snapshot reads `schema.table`'s rows: a captured table the
    /// lists name. The signal table, captured only because it is the
    /// signal table, is not read (Debezium snapshots the collections of
    /// its include lists).
    pub fn snapshots(&self, schema: &str, table: &str) -> bool {
        self.listed(schema, table)
    }

    /// Whether the include and exclude lists capture `schema.table`.
    fn listed(&self, schema: &str, table: &str) -> bool {
        let any = |list: &[Regex], name: &str| list.iter().any(|r| r.is_match(name));
        if let Some(l) = &self.schema_include {
            if !any(l, schema) {
                return false;
            }
        } else if let Some(l) = &self.schema_exclude {
            if any(l, schema) {
                return false;
            }
        }
        let qualified = format!("{schema}.{table}");
        match (&self.table_include, &self.table_exclude) {
            (Some(l), _) => any(l, &qualified),
            (None, Some(l)) => !any(l, &qualified),
            (None, None) => true,
        }
    }
}

/// Which columns' values are captured: `column.include.list` or
/// `column.exclude.list`, matched against `schema.table.column`.
#[derive(Debug, Clone, Default)]
pub struct ColumnFilter {
    include: Option<Vec<Regex>>,
    exclude: Option<Vec<Regex>>,
}

impl ColumnFilter {
    /// Whether the values of `schema.table.column` are captured.
    pub fn includes(&self, schema: &str, table: &str, column: &str) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let name = format!("{schema}.{table}.{column}");
        let any = |list: &[Regex]| list.iter().any(|r| r.is_match(&name));
        match (&self.include, &self.exclude) {
            (Some(l), _) => any(l),
            (None, Some(l)) => !any(l),
            (None, None) => true,
        }
    }
}

/// `message.key.columns`: `table:column,…` entries (regular expressions,
/// `;`-separated) choosing a table's key columns instead of its primary
/// key, as Debezium's `CustomKeyMapper` reads them.
#[derive(Debug, Clone, Default)]
pub struct KeyColumns {
    /// `<table regex>.<column regex>`, one per listed column, in order.
    columns: Vec<Regex>,
}

impl KeyColumns {
    fn parse(config: Option<&str>) -> Result<Self, regex::Error> {
        let mut columns = Vec::new();
        for entry in config.unwrap_or_default().split(';') {
            let Some((table, list)) = entry.trim().split_once(':') else {
                continue;
            };
            for c in list.split(',') {
                columns.push(anchored(&format!("{}.{}", table.trim(), c.trim()))?);
            }
        }
        Ok(KeyColumns { columns })
    }

    /// Renumbers the key of `schema.table`'s columns when entries match
    /// them: the matches, entry by entry (each in the table's column
    /// order), make the key; otherwise the primary key stays.
    pub fn apply(&self, schema: &str, table: &str, columns: &mut [ColumnMeta]) {
        let mut order: Vec<usize> = Vec::new();
        for r in &self.columns {
            for (i, c) in columns.iter().enumerate() {
                if r.is_match(&format!("{schema}.{table}.{}", c.name)) {
                    order.push(i);
                }
            }
        }
        if order.is_empty() {
            return;
        }
        for c in columns.iter_mut() {
            c.key = None;
        }
        for (n, i) in order.into_iter().enumerate() {
            if columns[i].key.is_none() {
                columns[i].key = u16::try_from(n + 1).ok();
            }
        }
    }
}

/// Where snapshot notifications go (`notification.enabled.channels`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notifications {
    /// The `log` channel: one log line each.
    pub log: bool,
    /// The `sink` channel: records on this topic.
    pub sink_topic: Option<String>,
}

impl Notifications {
    pub fn enabled(&self) -> bool {
        self.log || self.sink_topic.is_some()
    }
}

/// The connector's settings, parsed and checked.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    pub notifications: Notifications,
    /// `signal.data.collection`: the signal table's schema and name.
    pub signal_table: Option<(String, String)>,
    pub incremental_chunk_size: usize,
    pub watermarking: WatermarkingStrategy,
    pub hostname: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Password>,
    pub dbname: String,
    pub ssl_mode: SslMode,
    pub ssl_root_cert: Option<String>,
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
    pub topic_prefix: String,
    pub slot_name: String,
    pub slot_drop_on_stop: bool,
    /// Attempts at a slot another session holds, before the task fails.
    pub slot_max_retries: u32,
    pub slot_retry_delay: Duration,
    pub publication_name: String,
    pub publication_autocreate: AutoCreateMode,
    pub tables: TableFilter,
    pub columns: ColumnFilter,
    pub key_columns: KeyColumns,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_fetch_size: usize,
    pub snapshot_max_threads: usize,
    /// Chunks of a table per thread (`snapshot.max.threads.multiplier`);
    /// `None` with `legacy.snapshot.max.threads`: whole tables.
    pub snapshot_chunks_per_thread: Option<usize>,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    pub poll_interval: Duration,
    /// Reconnections tried after a lost connection; `None` without limit.
    pub errors_max_retries: Option<u32>,
    pub retriable_restart_wait: Duration,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_action_query: Option<String>,
    /// `<topic.heartbeat.prefix>.<topic.prefix>`.
    pub heartbeat_topic: String,
    /// `<topic.prefix>.<topic.transaction>`, when
    /// `provide.transaction.metadata` is on.
    pub transaction_topic: Option<String>,
    pub tombstones_on_delete: bool,
    pub decimal_handling: DecimalHandlingMode,
    pub time_precision: TimePrecisionMode,
    pub binary_handling: BinaryHandlingMode,
    pub interval_handling: IntervalHandlingMode,
    pub hstore_handling: HStoreHandlingMode,
    /// Operations not published, by their `op` letter.
    pub skipped_operations: BTreeSet<char>,
    pub status_update_interval: Duration,
    pub failure_handling: FailureHandlingMode,
    pub lsn_flush_mode: LsnFlushMode,
    /// `(schema.table, SELECT)`: what the snapshot reads of a table
    /// instead of all of it.
    pub select_overrides: Vec<(String, String)>,
    /// Whether signals inserted into the signal table are acted on (the
    /// `source` channel; watermarks are read there either way).
    pub signals_from_table: bool,
    /// The `kafka` signal channel, when enabled.
    pub kafka_signals: Option<KafkaSignalChannel>,
    /// The `file` signal channel's file, when enabled.
    pub signal_file: Option<std::path::PathBuf>,
    /// How often the `kafka` and `file` signal channels are read.
    pub signal_poll_interval: Duration,
}

/// Debezium's `KafkaSignalChannel`: signals are records of partition 0 of
/// `topic` whose key is the connector's `topic.prefix`, read every
/// `poll_interval` by a consumer of `consumer` (librdkafka's names).
#[derive(Debug, Clone)]
pub struct KafkaSignalChannel {
    pub topic: String,
    pub poll_interval: Duration,
    pub poll_timeout: Duration,
    pub consumer: BTreeMap<String, String>,
}

impl CdcConfig {
    /// Parses and checks a connector or task configuration; the first
    /// problem found is the error.
    pub fn parse(props: &Props) -> Result<Self, ConfigProblem> {
        let def = config_def();
        let p = def.parse(props).map_err(|e| ConfigProblem {
            key: e.key.clone(),
            reason: e.message.clone(),
        })?;
        if let Some((key, reason)) = cross_checks(&p).into_iter().next() {
            return Err(ConfigProblem { key, reason });
        }
        let invalid = |key: &str, reason: String| ConfigProblem {
            key: key.to_owned(),
            reason,
        };
        // Checked by the validators above.
        let enumerated = |key: Key<String>| p.get(key);
        let filter = |key: Key<Option<Vec<String>>>| {
            patterns(p.get(key)).map_err(|e| invalid(key.name(), e.to_string()))
        };
        let lsn_flush_mode = match p
            .get(LSN_FLUSH_MODE)
            .as_deref()
            .and_then(LsnFlushMode::parse)
        {
            Some(mode) => mode,
            None => match p.get(FLUSH_LSN_SOURCE) {
                Some(false) => LsnFlushMode::Manual,
                _ => LsnFlushMode::Connector,
            },
        };
        let port = u16::try_from(p.get(DATABASE_PORT))
            .map_err(|_| invalid(DATABASE_PORT.name(), "not a port number".into()))?;
        let heartbeat = p.get(HEARTBEAT_INTERVAL_MS);
        let signal_table = p
            .get(SIGNAL_DATA_COLLECTION)
            .and_then(|l| l.into_iter().next())
            .map(|id| signal_table_id(&id))
            .transpose()
            .map_err(|reason| invalid(SIGNAL_DATA_COLLECTION.name(), reason))?;
        let channels: Vec<String> = p
            .get(SIGNAL_ENABLED_CHANNELS)
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
        let kafka_signals = channels.iter().any(|c| c == "kafka").then(|| {
            // Debezium's consumer defaults, under `signal.consumer.` keys'
            // overrides.
            let mut consumer: BTreeMap<String, String> = [
                (
                    "bootstrap.servers",
                    p.get(SIGNAL_KAFKA_BOOTSTRAP_SERVERS).unwrap_or_default(),
                ),
                ("group.id", p.get(SIGNAL_KAFKA_GROUP_ID)),
                ("enable.auto.commit", "true".to_owned()),
                ("auto.offset.reset", "earliest".to_owned()),
                ("session.timeout.ms", "10000".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            consumer.extend(p.originals_with_prefix(SIGNAL_CONSUMER_PREFIX));
            KafkaSignalChannel {
                topic: p
                    .get(SIGNAL_KAFKA_TOPIC)
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| format!("{}-signal", p.get(TOPIC_PREFIX))),
                poll_interval: Duration::from_millis(
                    u64::try_from(p.get(SIGNAL_POLL_INTERVAL_MS)).unwrap_or(0),
                ),
                poll_timeout: Duration::from_millis(
                    u64::try_from(p.get(SIGNAL_KAFKA_POLL_TIMEOUT_MS)).unwrap_or(0),
                ),
                consumer,
            }
        });
        let notification_channels: Vec<String> = p
            .get(NOTIFICATION_ENABLED_CHANNELS)
            .iter()
            .map(|c| c.trim().to_owned())
            .collect();
        let notifications = Notifications {
            log: notification_channels.iter().any(|c| c == "log"),
            sink_topic: notification_channels
                .iter()
                .any(|c| c == "sink")
                .then(|| p.get(NOTIFICATION_SINK_TOPIC_NAME))
                .flatten()
                .map(|t| t.trim().to_owned()),
        };
        Ok(CdcConfig {
            signal_file: channels
                .iter()
                .any(|c| c == "file")
                .then(|| p.get(SIGNAL_FILE).into()),
            signal_poll_interval: Duration::from_millis(
                u64::try_from(p.get(SIGNAL_POLL_INTERVAL_MS)).unwrap_or(0),
            ),
            notifications,
            signals_from_table: channels.iter().any(|c| c == "source"),
            kafka_signals,
            select_overrides: select_overrides(&p),
            signal_table: signal_table.clone(),
            incremental_chunk_size: count(p.get(INCREMENTAL_SNAPSHOT_CHUNK_SIZE)).max(1),
            watermarking: WatermarkingStrategy::parse(&enumerated(
                INCREMENTAL_SNAPSHOT_WATERMARKING_STRATEGY,
            ))
            .unwrap_or(WatermarkingStrategy::InsertInsert),
            hostname: p.get(DATABASE_HOSTNAME),
            port,
            user: p.get(DATABASE_USER),
            password: p.get(DATABASE_PASSWORD),
            dbname: p.get(DATABASE_DBNAME),
            ssl_mode: SslMode::parse(&enumerated(DATABASE_SSLMODE)).unwrap_or(SslMode::Prefer),
            ssl_root_cert: p.get(DATABASE_SSLROOTCERT),
            ssl_cert: p.get(DATABASE_SSLCERT),
            ssl_key: p.get(DATABASE_SSLKEY),
            topic_prefix: p.get(TOPIC_PREFIX),
            slot_name: p.get(SLOT_NAME),
            slot_drop_on_stop: p.get(SLOT_DROP_ON_STOP),
            slot_max_retries: u32::try_from(p.get(SLOT_MAX_RETRIES)).unwrap_or(0),
            slot_retry_delay: millis(p.get(SLOT_RETRY_DELAY_MS)),
            publication_name: p.get(PUBLICATION_NAME),
            publication_autocreate: AutoCreateMode::parse(&enumerated(PUBLICATION_AUTOCREATE_MODE))
                .unwrap_or(AutoCreateMode::AllTables),
            tables: TableFilter {
                signal: signal_table.clone(),
                schema_include: filter(SCHEMA_INCLUDE_LIST)?,
                schema_exclude: filter(SCHEMA_EXCLUDE_LIST)?,
                table_include: filter(TABLE_INCLUDE_LIST)?,
                table_exclude: filter(TABLE_EXCLUDE_LIST)?,
            },
            columns: ColumnFilter {
                include: filter(COLUMN_INCLUDE_LIST)?,
                exclude: filter(COLUMN_EXCLUDE_LIST)?,
            },
            key_columns: KeyColumns::parse(p.get(MESSAGE_KEY_COLUMNS).as_deref())
                .map_err(|e| invalid(MESSAGE_KEY_COLUMNS.name(), e.to_string()))?,
            snapshot_mode: SnapshotMode::parse(&enumerated(SNAPSHOT_MODE))
                .unwrap_or(SnapshotMode::Initial),
            snapshot_fetch_size: count(
                p.get(SNAPSHOT_FETCH_SIZE)
                    .unwrap_or(DEFAULT_SNAPSHOT_FETCH_SIZE),
            ),
            snapshot_max_threads: count(p.get(SNAPSHOT_MAX_THREADS)),
            snapshot_chunks_per_thread: (!p.get(LEGACY_SNAPSHOT_MAX_THREADS))
                .then(|| count(p.get(SNAPSHOT_MAX_THREADS_MULTIPLIER))),
            max_batch_size: count(p.get(MAX_BATCH_SIZE)),
            max_queue_size: count(p.get(MAX_QUEUE_SIZE)),
            poll_interval: millis(p.get(POLL_INTERVAL_MS)),
            errors_max_retries: u32::try_from(p.get(ERRORS_MAX_RETRIES)).ok(),
            retriable_restart_wait: millis(p.get(RETRIABLE_RESTART_WAIT_MS)),
            heartbeat_interval: (heartbeat > 0).then(|| millis(i64::from(heartbeat))),
            heartbeat_action_query: p
                .get(HEARTBEAT_ACTION_QUERY)
                .filter(|q| !q.trim().is_empty()),
            heartbeat_topic: format!("{}.{}", p.get(TOPIC_HEARTBEAT_PREFIX), p.get(TOPIC_PREFIX)),
            transaction_topic: p
                .get(PROVIDE_TRANSACTION_METADATA)
                .then(|| format!("{}.{}", p.get(TOPIC_PREFIX), p.get(TOPIC_TRANSACTION))),
            tombstones_on_delete: p.get(TOMBSTONES_ON_DELETE),
            decimal_handling: DecimalHandlingMode::parse(&enumerated(DECIMAL_HANDLING_MODE))
                .unwrap_or(DecimalHandlingMode::Precise),
            time_precision: TimePrecisionMode::parse(&enumerated(TIME_PRECISION_MODE))
                .unwrap_or(TimePrecisionMode::Adaptive),
            binary_handling: BinaryHandlingMode::parse(&enumerated(BINARY_HANDLING_MODE))
                .unwrap_or(BinaryHandlingMode::Bytes),
            interval_handling: IntervalHandlingMode::parse(&enumerated(INTERVAL_HANDLING_MODE))
                .unwrap_or(IntervalHandlingMode::Numeric),
            hstore_handling: HStoreHandlingMode::parse(&enumerated(HSTORE_HANDLING_MODE))
                .unwrap_or(HStoreHandlingMode::Json),
            skipped_operations: p
                .get(SKIPPED_OPERATIONS)
                .iter()
                .filter_map(|o| match o.trim() {
                    "none" => None,
                    o => o.chars().next(),
                })
                .collect(),
            status_update_interval: millis(i64::from(p.get(STATUS_UPDATE_INTERVAL_MS))),
            failure_handling: FailureHandlingMode::parse(&enumerated(
                EVENT_PROCESSING_FAILURE_HANDLING_MODE,
            ))
            .unwrap_or(FailureHandlingMode::Fail),
            lsn_flush_mode,
        })
    }
}

/// `schema.table` (or `database.schema.table`) as Debezium's `TableId`
/// reads it; double quotes keep dots in a name.
pub fn signal_table_id(id: &str) -> Result<(String, String), String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    for c in id.trim().chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    parts.push(part);
    match parts.as_slice() {
        [.., schema, table] if !schema.is_empty() && !table.is_empty() => {
            Ok((schema.clone(), table.clone()))
        }
        _ => Err(format!("{id} is not a schema.table name")),
    }
}

fn count(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        let mut p: Props = [
            ("topic.prefix", "shop"),
            ("database.hostname", "localhost"),
            ("database.user", "postgres"),
            ("database.dbname", "postgres"),
            ("plugin.name", "pgoutput"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in pairs {
            p.insert((*k).to_owned(), (*v).to_owned());
        }
        p
    }

    #[test]
    fn select_overrides_are_read_per_table_and_a_missing_one_skipped() {
        let c = CdcConfig::parse(&props(&[
            ("snapshot.select.statement.overrides", "public.a,public.b"),
            (
                "snapshot.select.statement.overrides.public.a",
                "SELECT * FROM public.a WHERE id > 1",
            ),
            (
                "snapshot.select.statement.overrides.public.b",
                "SELECT * FROM public.b",
            ),
        ]))
        .expect("valid");
        assert_eq!(
            c.select_overrides,
            [
                (
                    "public.a".to_owned(),
                    "SELECT * FROM public.a WHERE id > 1".to_owned()
                ),
                ("public.b".to_owned(), "SELECT * FROM public.b".to_owned())
            ]
        );
        let p = props(&[("snapshot.select.statement.overrides", "public.a")]);
        let c = CdcConfig::parse(&p).expect("a table without a statement is read whole");
        assert!(c.select_overrides.is_empty());
    }

    #[test]
    fn snapshots_read_tables_in_the_include_list_order() {
        let c = CdcConfig::parse(&props(&[
            ("table.include.list", "public.z.*,public.a.*"),
            ("signal.data.collection", "public.signals"),
        ]))
        .expect("valid");
        let rank = |t: &str| c.tables.snapshot_rank("public", t);
        assert_eq!((rank("zeta"), rank("alpha"), rank("signals")), (0, 1, 2));
        let all = CdcConfig::parse(&props(&[])).expect("valid");
        assert_eq!(all.tables.snapshot_rank("public", "anything"), 0);
    }

    /// Each key's errors from a validation, as the REST API reports them.
    fn errors(p: &Props) -> Vec<(String, Vec<String>)> {
        config_def()
            .validate_with(p, cross_checks)
            .into_iter()
            .filter(|v| !v.errors.is_empty())
            .map(|v| (v.name, v.errors))
            .collect()
    }

    #[test]
    fn debezium_defaults() {
        let c = CdcConfig::parse(&props(&[])).expect("a valid config");
        assert_eq!(c.port, 5432);
        assert_eq!(c.ssl_mode, SslMode::Prefer);
        assert_eq!(c.slot_name, "debezium");
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(c.publication_autocreate, AutoCreateMode::AllTables);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(c.snapshot_fetch_size, 10_240);
        assert_eq!((c.max_batch_size, c.max_queue_size), (2048, 8192));
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.heartbeat_interval, None);
        assert!(c.tombstones_on_delete);
        assert_eq!(c.skipped_operations, BTreeSet::from(['t']));
        assert_eq!(c.decimal_handling, DecimalHandlingMode::Precise);
        assert_eq!(c.time_precision, TimePrecisionMode::Adaptive);
        assert_eq!(c.lsn_flush_mode, LsnFlushMode::Connector);
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat.shop");
    }

    #[test]
    fn enumerations_are_matched_as_debezium_does_and_unknown_values_named() {
        let c = CdcConfig::parse(&props(&[("snapshot.mode", " NO_DATA ")])).expect("valid");
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        let e = CdcConfig::parse(&props(&[("snapshot.mode", "never")]))
            .expect_err("removed in Debezium 3.3");
        assert_eq!(e.key, "snapshot.mode");
        assert!(
            e.reason.contains("Value must be one of always, initial_only, configuration_based, when_needed, initial, custom, no_data"),
            "{e}"
        );
        let bad = errors(&props(&[
            ("decimal.handling.mode", "exact"),
            ("database.sslmode", "verify_ca"),
        ]));
        let keys: Vec<&str> = bad.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["database.sslmode", "decimal.handling.mode"]);
    }

    #[test]
    fn decoderbufs_is_refused_even_as_the_default() {
        let mut p = props(&[]);
        p.remove("plugin.name");
        let e = CdcConfig::parse(&p).expect_err("decoderbufs");
        assert_eq!(e.key, "plugin.name");
        assert!(e.reason.contains("set plugin.name=pgoutput"), "{e}");
    }

    #[test]
    fn checks_between_keys_report_on_debeziums_key() {
        let bad = errors(&props(&[
            ("table.include.list", "public.a"),
            ("table.exclude.list", "public.b"),
            ("max.batch.size", "100"),
            ("max.queue.size", "100"),
        ]));
        assert_eq!(
            bad,
            vec![
                (
                    "table.exclude.list".to_owned(),
                    vec!["\"table.include.list\" is already specified".to_owned()]
                ),
                (
                    "max.queue.size".to_owned(),
                    vec!["Must be larger than the maximum batch size".to_owned()]
                ),
            ]
        );
        let bad = errors(&props(&[
            ("slot.name", "Debezium-1"),
            ("skipped.operations", "t,x"),
        ]));
        let keys: Vec<&str> = bad.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["slot.name", "skipped.operations"]);
        let bad = errors(&props(&[("interval.handling.mode", "STRING")]));
        assert_eq!(bad[0].0, "interval.handling.mode");
        let bad = errors(&props(&[("snapshot.mode", "custom")]));
        assert_eq!(
            bad[0].0, "snapshot.mode",
            "a Java snapshotter, which Ferry cannot load"
        );
        let bad = errors(&props(&[("message.key.columns", "public.t")]));
        assert_eq!(bad[0].0, "message.key.columns");
        let bad = errors(&props(&[("table.include.list", "public.(a")]));
        assert!(bad[0].1[0].starts_with("Invalid value public.(a for configuration table.include.list: A comma-separated list of valid regular expressions is expected"), "{bad:?}");
    }

    #[test]
    fn notification_channels_are_checked() {
        let bad = errors(&props(&[("notification.enabled.channels", "sink,jmx")]));
        assert_eq!(
            bad,
            vec![
                (
                    "notification.enabled.channels".to_owned(),
                    vec!["the jmx notification channel is not supported by Ferry: use sink or log".to_owned()]
                ),
                (
                    "notification.sink.topic.name".to_owned(),
                    vec!["Notification topic name must be provided when kafka notification channel is enabled".to_owned()]
                ),
            ]
        );
        let c = CdcConfig::parse(&props(&[
            ("notification.enabled.channels", " log , sink"),
            ("notification.sink.topic.name", "notes"),
        ]))
        .expect("a valid config");
        assert_eq!(
            c.notifications,
            Notifications {
                log: true,
                sink_topic: Some("notes".into())
            }
        );
        let c = CdcConfig::parse(&props(&[])).expect("a valid config");
        assert!(!c.notifications.enabled(), "off by default");
    }

    #[test]
    fn the_signal_table_is_captured_but_not_snapshotted() {
        let c = CdcConfig::parse(&props(&[
            ("table.include.list", "public.a"),
            ("signal.data.collection", "public.signals"),
        ]))
        .expect("a valid config");
        assert!(c.tables.captures("public", "signals"));
        assert!(!c.tables.snapshots("public", "signals"));
        assert!(c.tables.snapshots("public", "a"));
        let c = CdcConfig::parse(&props(&[
            ("table.include.list", "public.a,public.signals"),
            ("signal.data.collection", "public.signals"),
        ]))
        .expect("a valid config");
        assert!(c.tables.snapshots("public", "signals"), "listed, so read");
    }

    #[test]
    fn table_filters_match_whole_names_in_any_case() {
        let c = CdcConfig::parse(&props(&[(
            "table.include.list",
            "public.orders,inventory\\..*",
        )]))
        .expect("valid");
        assert!(c.tables.captures("public", "orders"));
        assert!(c.tables.captures("PUBLIC", "Orders"));
        assert!(!c.tables.captures("public", "orders_archive"));
        assert!(c.tables.captures("inventory", "items"));
        let c = CdcConfig::parse(&props(&[("schema.exclude.list", "audit")])).expect("valid");
        assert!(!c.tables.captures("audit", "log"));
        assert!(c.tables.captures("public", "log"));
    }
}
