//! Configuration keys, defaults and cross-key checks of the source and sink
//! connectors: Confluent's `JdbcSourceConnectorConfig` / `JdbcSinkConfig`.

use std::time::Duration;

use ferry_api::config::{ConfigDef, ConfigValue, Importance, Key, Password, Validator};
use ferry_api::{ParsedConfig, Props};

use crate::dialect::TableId;
use crate::error::{JdbcError, Result};
use crate::types::NumericMapping;
use crate::url::{self, ConnectionSpec};

pub const CONNECTION_URL: Key<String> = Key::new("connection.url");
pub const CONNECTION_USER: Key<Option<String>> = Key::new("connection.user");
pub const CONNECTION_PASSWORD: Key<Option<Password>> = Key::new("connection.password");
pub const CONNECTION_ATTEMPTS: Key<i32> = Key::new("connection.attempts");
pub const CONNECTION_BACKOFF_MS: Key<i64> = Key::new("connection.backoff.ms");
pub const QUOTE_SQL_IDENTIFIERS: Key<String> = Key::new("quote.sql.identifiers");
pub const TABLE_TYPES: Key<Vec<String>> = Key::new("table.types");

pub const MODE: Key<String> = Key::new("mode");
pub const INCREMENTING_COLUMN: Key<String> = Key::new("incrementing.column.name");
pub const TIMESTAMP_COLUMN: Key<Vec<String>> = Key::new("timestamp.column.name");
pub const TIMESTAMP_INITIAL: Key<Option<i64>> = Key::new("timestamp.initial");
pub const VALIDATE_NON_NULL: Key<bool> = Key::new("validate.non.null");
pub const QUERY: Key<String> = Key::new("query");
pub const TABLE_WHITELIST: Key<Vec<String>> = Key::new("table.whitelist");
pub const TABLE_BLACKLIST: Key<Vec<String>> = Key::new("table.blacklist");
pub const TABLE_INCLUDE_LIST: Key<Vec<String>> = Key::new("table.include.list");
pub const TABLE_EXCLUDE_LIST: Key<Vec<String>> = Key::new("table.exclude.list");
pub const TOPIC_PREFIX: Key<String> = Key::new("topic.prefix");
pub const POLL_INTERVAL_MS: Key<i32> = Key::new("poll.interval.ms");
pub const BATCH_MAX_ROWS: Key<i32> = Key::new("batch.max.rows");
pub const TABLE_POLL_INTERVAL_MS: Key<i64> = Key::new("table.poll.interval.ms");
pub const TIMESTAMP_DELAY_MS: Key<i64> = Key::new("timestamp.delay.interval.ms");
pub const NUMERIC_MAPPING: Key<Option<String>> = Key::new("numeric.mapping");
pub const NUMERIC_PRECISION_MAPPING: Key<bool> = Key::new("numeric.precision.mapping");
pub const DB_TIMEZONE: Key<String> = Key::new("db.timezone");
pub const SCHEMA_PATTERN: Key<Option<String>> = Key::new("schema.pattern");
pub const CATALOG_PATTERN: Key<Option<String>> = Key::new("catalog.pattern");
/// Set by the connector in each task config: the tables of that task.
pub const TASK_TABLES: Key<Vec<String>> = Key::new("tables");

pub const INSERT_MODE: Key<String> = Key::new("insert.mode");
pub const BATCH_SIZE: Key<i32> = Key::new("batch.size");
pub const DELETE_ENABLED: Key<bool> = Key::new("delete.enabled");
pub const TABLE_NAME_FORMAT: Key<String> = Key::new("table.name.format");
pub const PK_MODE: Key<String> = Key::new("pk.mode");
pub const PK_FIELDS: Key<Vec<String>> = Key::new("pk.fields");
pub const FIELDS_WHITELIST: Key<Vec<String>> = Key::new("fields.whitelist");
pub const AUTO_CREATE: Key<bool> = Key::new("auto.create");
pub const AUTO_EVOLVE: Key<bool> = Key::new("auto.evolve");
pub const MAX_RETRIES: Key<i32> = Key::new("max.retries");
pub const RETRY_BACKOFF_MS: Key<i32> = Key::new("retry.backoff.ms");

const MODES: &[&str] = &[
    "bulk",
    "timestamp",
    "incrementing",
    "timestamp+incrementing",
];

fn check_mode(_k: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) if MODES.contains(&s.as_str()) => Ok(()),
        _ => Err(format!("String must be one of: {}", MODES.join(", "))),
    }
}

fn check_url(_k: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) => url::parse(s, None, None)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    }
}

fn check_numeric_mapping(_k: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) if NumericMapping::parse(s).is_none() => Err(
            "String must be one of: none, precision_only, best_fit, best_fit_eager_double".into(),
        ),
        _ => Ok(()),
    }
}

fn connection_keys(d: &mut ConfigDef) {
    d.define_key(CONNECTION_URL)
        .validator(Validator::Custom(check_url))
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection URL: jdbc:postgresql://host:port/db, jdbc:mysql://…, jdbc:mariadb://…, jdbc:sqlite:path, or postgresql://, mysql://, sqlite: URLs");
    d.define_key(CONNECTION_USER)
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection user.");
    d.define_key(CONNECTION_PASSWORD)
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection password.");
    d.define_key(CONNECTION_ATTEMPTS)
        .default(3)
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .group("Database")
        .doc("Maximum number of attempts to retrieve a valid JDBC connection.");
    d.define_key(CONNECTION_BACKOFF_MS)
        .default(10_000)
        .importance(Importance::Low)
        .group("Database")
        .doc("Backoff time in milliseconds between connection attempts.");
    d.define_key(QUOTE_SQL_IDENTIFIERS)
        .default("always")
        .validator(Validator::OneOfIgnoreCase(vec!["always", "never"]))
        .importance(Importance::Medium)
        .group("Database")
        .doc("When to quote table names, column names, and other identifiers in SQL statements.");
    d.define_key(TABLE_TYPES)
        .default(vec!["TABLE".to_owned()])
        .importance(Importance::Low)
        .group("Database")
        .doc("Table types to use: TABLE, VIEW.");
    d.define_key(DB_TIMEZONE)
        .default("UTC")
        .importance(Importance::Medium)
        .group("Database")
        .doc("Time zone of timestamps without zone; only UTC is supported.");
}

pub fn source_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    connection_keys(&mut d);
    for key in [
        TABLE_WHITELIST,
        TABLE_BLACKLIST,
        TABLE_INCLUDE_LIST,
        TABLE_EXCLUDE_LIST,
    ] {
        d.define_key(key)
            .default(Vec::new())
            .importance(Importance::Medium)
            .group("Database")
            .doc("Tables to include (whitelist / include.list) or exclude (blacklist / exclude.list); names may be qualified. Use one of them at most.");
    }
    d.define_key(SCHEMA_PATTERN)
        .importance(Importance::Medium)
        .group("Database")
        .doc("Schema of the tables to read; null reads all schemas.");
    d.define_key(CATALOG_PATTERN)
        .importance(Importance::Medium)
        .group("Database")
        .doc("Catalog of the tables to read (accepted; the connection's database is used).");
    d.define_key(NUMERIC_PRECISION_MAPPING)
        .default(false)
        .importance(Importance::Low)
        .group("Database")
        .doc("Deprecated: numeric.mapping=precision_only.");
    d.define_key(NUMERIC_MAPPING)
        .validator(Validator::Custom(check_numeric_mapping))
        .importance(Importance::Low)
        .group("Database")
        .doc("Map NUMERIC values by precision and optionally scale to integral or decimal types: none, precision_only, best_fit, best_fit_eager_double.");
    d.define_key(MODE)
        .default("")
        .validator(Validator::Custom(check_mode))
        .importance(Importance::High)
        .group("Mode")
        .doc("The mode for updating a table each time it is polled: bulk, incrementing, timestamp, timestamp+incrementing.");
    d.define_key(INCREMENTING_COLUMN)
        .default("")
        .importance(Importance::Medium)
        .group("Mode")
        .doc("The name of the strictly incrementing column used to detect new rows; empty finds an auto-increment column.");
    d.define_key(TIMESTAMP_COLUMN)
        .default(Vec::new())
        .importance(Importance::Medium)
        .group("Mode")
        .doc("Timestamp columns used to detect new or modified rows, coalesced in order.");
    d.define_key(TIMESTAMP_INITIAL)
        .importance(Importance::Low)
        .group("Mode")
        .doc("Epoch milliseconds to start timestamp mode from; -1 for the current time; unset reads from the beginning.");
    d.define_key(VALIDATE_NON_NULL)
        .default(true)
        .importance(Importance::Low)
        .group("Mode")
        .doc("Fail when the incrementing or timestamp columns are nullable.");
    d.define_key(QUERY)
        .default("")
        .importance(Importance::Medium)
        .group("Mode")
        .doc("A custom query instead of whole tables; the mode's WHERE clause is appended.");
    d.define_key(POLL_INTERVAL_MS)
        .default(5000)
        .importance(Importance::High)
        .group("Connector")
        .doc("Frequency in ms to poll for new data in each table.");
    d.define_key(BATCH_MAX_ROWS)
        .default(100)
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .group("Connector")
        .doc("Maximum number of rows to include in a single batch when polling for new data.");
    d.define_key(TABLE_POLL_INTERVAL_MS)
        .default(60_000)
        .importance(Importance::Low)
        .group("Connector")
        .doc("Frequency in ms to poll for new or removed tables.");
    d.define_key(TOPIC_PREFIX)
        .importance(Importance::High)
        .group("Connector")
        .doc(
            "Prefix prepended to table names to generate the topic names; the topic in query mode.",
        );
    d.define_key(TIMESTAMP_DELAY_MS)
        .default(0)
        .importance(Importance::High)
        .group("Connector")
        .doc("How long to wait after a row with a certain timestamp appears before including it.");
    d
}

pub fn sink_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    connection_keys(&mut d);
    d.define_key(INSERT_MODE)
        .default("insert")
        .validator(Validator::OneOfIgnoreCase(vec![
            "insert", "upsert", "update",
        ]))
        .importance(Importance::High)
        .group("Writes")
        .doc("The insertion mode: insert, upsert or update.");
    d.define_key(BATCH_SIZE)
        .default(3000)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group("Writes")
        .doc("How many records to batch together for insertion into the destination table.");
    d.define_key(DELETE_ENABLED)
        .default(false)
        .importance(Importance::Medium)
        .group("Writes")
        .doc("Whether to treat null record values as deletes. Requires pk.mode to be record_key.");
    d.define_key(TABLE_NAME_FORMAT)
        .default("${topic}")
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("A format string for the destination table name, which may contain '${topic}'.");
    d.define_key(PK_MODE)
        .default("none")
        .validator(Validator::OneOfIgnoreCase(vec![
            "none",
            "kafka",
            "record_key",
            "record_value",
        ]))
        .importance(Importance::High)
        .group("Data Mapping")
        .doc("The primary key mode: none, kafka, record_key, record_value.");
    d.define_key(PK_FIELDS)
        .default(Vec::new())
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("List of comma-separated primary key field names; meaning depends on pk.mode.");
    d.define_key(FIELDS_WHITELIST)
        .default(Vec::new())
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("List of comma-separated record value field names; empty uses all fields.");
    d.define_key(AUTO_CREATE)
        .default(false)
        .importance(Importance::Medium)
        .group("DDL Support")
        .doc("Whether to automatically create the destination table based on record schema.");
    d.define_key(AUTO_EVOLVE)
        .default(false)
        .importance(Importance::Medium)
        .group("DDL Support")
        .doc("Whether to automatically add columns in the table schema when found to be missing.");
    d.define_key(MAX_RETRIES)
        .default(10)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group("Retries")
        .doc("The maximum number of times to retry on errors before failing the task.");
    d.define_key(RETRY_BACKOFF_MS)
        .default(3000)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group("Retries")
        .doc("The time in milliseconds to wait following an error before a retry attempt is made.");
    d
}

fn cfg_err(e: ferry_api::config::ConfigError) -> JdbcError {
    JdbcError::Config(e.message)
}

/// The connection settings shared by both connectors.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub spec: ConnectionSpec,
    pub quote: bool,
    pub table_types: Vec<String>,
    pub attempts: u32,
    pub backoff: Duration,
}

impl ConnectionConfig {
    fn from_parsed(p: &ParsedConfig) -> Result<Self> {
        let password = p.get(CONNECTION_PASSWORD);
        let spec = url::parse(
            &p.get(CONNECTION_URL),
            p.get(CONNECTION_USER).as_deref(),
            password.as_ref().map(Password::value),
        )?;
        Ok(ConnectionConfig {
            spec,
            quote: !p.get(QUOTE_SQL_IDENTIFIERS).eq_ignore_ascii_case("never"),
            table_types: p.get(TABLE_TYPES),
            attempts: p.get(CONNECTION_ATTEMPTS).max(1) as u32,
            backoff: millis(p.get(CONNECTION_BACKOFF_MS)),
        })
    }
}

/// A duration in milliseconds; negative values count as zero.
fn millis(ms: impl Into<i64>) -> Duration {
    Duration::from_millis(u64::try_from(ms.into()).unwrap_or(0))
}

/// A list's entries without the empty ones (`a,,b` or a trailing comma).
fn names(list: Vec<String>) -> Vec<String> {
    list.into_iter().filter(|n| !n.is_empty()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub connection: ConnectionConfig,
    pub mode: Mode,
    pub incrementing_column: String,
    pub timestamp_columns: Vec<String>,
    pub timestamp_initial: Option<i64>,
    pub validate_non_null: bool,
    pub query: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub schema_pattern: Option<String>,
    pub topic_prefix: String,
    pub poll_interval: Duration,
    pub batch_max_rows: usize,
    pub table_poll_interval: Duration,
    pub timestamp_delay: Duration,
    pub numeric_mapping: NumericMapping,
    /// Tables of this task (task configs only).
    pub tables: Vec<TableId>,
}

/// The source connector's keys and the one the connector adds to each
/// task config.
pub fn source_task_config_def() -> ConfigDef {
    let mut d = source_config_def();
    d.define_key(TASK_TABLES)
        .default(Vec::new())
        .importance(Importance::Low)
        .doc("The tables of this task, set by the connector.");
    d
}

impl SourceConfig {
    /// Parses and checks a connector or task config.
    pub fn parse(props: &Props) -> Result<Self> {
        let p = source_task_config_def().parse(props).map_err(cfg_err)?;
        if let Some((_, message)) = source_cross_checks(&p).into_iter().next() {
            return Err(JdbcError::Config(message));
        }
        let mode = match p.get(MODE).as_str() {
            "bulk" => Mode::Bulk,
            "incrementing" => Mode::Incrementing,
            "timestamp" => Mode::Timestamp,
            _ => Mode::TimestampIncrementing,
        };
        let numeric_mapping = match p.get(NUMERIC_MAPPING) {
            Some(s) => NumericMapping::parse(&s).unwrap_or_default(),
            None if p.get(NUMERIC_PRECISION_MAPPING) => NumericMapping::PrecisionOnly,
            None => NumericMapping::None,
        };
        let mut include = p.get(TABLE_WHITELIST);
        include.extend(p.get(TABLE_INCLUDE_LIST));
        let mut exclude = p.get(TABLE_BLACKLIST);
        exclude.extend(p.get(TABLE_EXCLUDE_LIST));
        let query = Some(p.get(QUERY)).filter(|q| !q.is_empty());
        Ok(SourceConfig {
            connection: ConnectionConfig::from_parsed(&p)?,
            mode,
            incrementing_column: p.get(INCREMENTING_COLUMN),
            timestamp_columns: names(p.get(TIMESTAMP_COLUMN)),
            timestamp_initial: p.get(TIMESTAMP_INITIAL),
            validate_non_null: p.get(VALIDATE_NON_NULL),
            query,
            include,
            exclude,
            schema_pattern: p.get(SCHEMA_PATTERN),
            topic_prefix: p.get(TOPIC_PREFIX),
            poll_interval: millis(p.get(POLL_INTERVAL_MS)),
            batch_max_rows: p.get(BATCH_MAX_ROWS).max(1) as usize,
            table_poll_interval: millis(p.get(TABLE_POLL_INTERVAL_MS).max(100)),
            timestamp_delay: millis(p.get(TIMESTAMP_DELAY_MS)),
            numeric_mapping,
            tables: names(p.get(TASK_TABLES))
                .iter()
                .map(|n| TableId::parse(n))
                .collect(),
        })
    }

    /// Whether the table passes the include / exclude lists; names match
    /// either qualified (`schema.table`, `db.schema.table`) or bare.
    pub fn selects(&self, id: &TableId) -> bool {
        let names = [
            id.unquoted(),
            TableId::new(None, id.schema.clone(), id.table.clone()).unquoted(),
            id.table.clone(),
        ];
        let listed = |list: &[String]| list.iter().any(|l| names.iter().any(|n| n == l));
        if let Some(s) = &self.schema_pattern {
            if id.schema.as_deref().is_some_and(|x| x != s) {
                return false;
            }
        }
        if !self.include.is_empty() {
            return listed(&self.include);
        }
        !listed(&self.exclude)
    }
}

/// Checks between keys, as Confluent's validators report them: (key, message).
pub fn source_cross_checks(p: &ParsedConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let listed = |a, b| !names(p.get(a)).is_empty() || !names(p.get(b)).is_empty();
    let whitelist = listed(TABLE_WHITELIST, TABLE_INCLUDE_LIST);
    let blacklist = listed(TABLE_BLACKLIST, TABLE_EXCLUDE_LIST);
    if whitelist && blacklist {
        let msg = "Included Tables and Excluded Tables can't be used together. Only one of them can be used at a time.".to_owned();
        out.push((TABLE_WHITELIST.name().to_owned(), msg.clone()));
        out.push((TABLE_BLACKLIST.name().to_owned(), msg));
    }
    let query = !p.get(QUERY).is_empty();
    if query && (whitelist || blacklist) {
        out.push((
            QUERY.name().to_owned(),
            "Do not specify table filtering (whitelist or blacklist) when using a query".to_owned(),
        ));
    }
    match p.get(MODE).as_str() {
        "incrementing" | "timestamp+incrementing"
            if p.get(INCREMENTING_COLUMN).is_empty() && query =>
        {
            out.push((
                INCREMENTING_COLUMN.name().to_owned(),
                "Query mode must be specified with incrementing.column.name for incrementing modes"
                    .to_owned(),
            ));
        }
        "timestamp" | "timestamp+incrementing" if names(p.get(TIMESTAMP_COLUMN)).is_empty() => {
            out.push((
                TIMESTAMP_COLUMN.name().to_owned(),
                "Timestamp column name must be specified for timestamp modes".to_owned(),
            ));
        }
        _ => {}
    }
    out.extend(utc_only(p));
    out
}

/// Only UTC is supported as `db.timezone`.
fn utc_only(p: &ParsedConfig) -> Option<(String, String)> {
    (!p.get(DB_TIMEZONE).eq_ignore_ascii_case("UTC")).then(|| {
        (
            DB_TIMEZONE.name().to_owned(),
            "Only UTC is supported".to_owned(),
        )
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub connection: ConnectionConfig,
    pub insert_mode: InsertMode,
    pub batch_size: usize,
    pub delete_enabled: bool,
    pub table_name_format: String,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub max_retries: u32,
    pub retry_backoff: Duration,
}

impl SinkConfig {
    pub fn parse(props: &Props) -> Result<Self> {
        let p = sink_config_def().parse(props).map_err(cfg_err)?;
        if let Some((_, message)) = sink_cross_checks(&p).into_iter().next() {
            return Err(JdbcError::Config(message));
        }
        // Both validated case-insensitively against their options.
        let insert_mode = match p.get(INSERT_MODE).to_ascii_lowercase().as_str() {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match p.get(PK_MODE).to_ascii_lowercase().as_str() {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        Ok(SinkConfig {
            connection: ConnectionConfig::from_parsed(&p)?,
            insert_mode,
            batch_size: p.get(BATCH_SIZE).max(1) as usize,
            delete_enabled: p.get(DELETE_ENABLED),
            table_name_format: p.get(TABLE_NAME_FORMAT),
            pk_mode,
            pk_fields: names(p.get(PK_FIELDS)),
            fields_whitelist: names(p.get(FIELDS_WHITELIST)),
            auto_create: p.get(AUTO_CREATE),
            auto_evolve: p.get(AUTO_EVOLVE),
            max_retries: p.get(MAX_RETRIES).max(0) as u32,
            retry_backoff: millis(p.get(RETRY_BACKOFF_MS)),
        })
    }

    /// `table.name.format` applied to a topic.
    pub fn table_for(&self, topic: &str) -> String {
        self.table_name_format.replace("${topic}", topic)
    }
}

/// Confluent's sink checks: deletes need record keys as primary keys.
pub fn sink_cross_checks(p: &ParsedConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let pk_mode = p.get(PK_MODE).to_ascii_lowercase();
    if p.get(DELETE_ENABLED) && pk_mode != "record_key" {
        out.push((
            DELETE_ENABLED.name().to_owned(),
            "Deletes are only supported for pk.mode record_key".to_owned(),
        ));
    }
    let insert = p.get(INSERT_MODE).to_ascii_lowercase();
    if (insert == "upsert" || insert == "update") && pk_mode == "none" {
        out.push((
            PK_MODE.name().to_owned(),
            format!("Primary key mode must not be none when insert.mode is {insert}"),
        ));
    }
    out.extend(utc_only(p));
    out
}

#[cfg(test)]
mod tests {
    use ferry_api::testkit::props;

    use super::*;

    #[test]
    fn source_defaults_and_lists() {
        let c = SourceConfig::parse(&props(&[
            (
                CONNECTION_URL.name(),
                "jdbc:postgresql://127.0.0.1:55432/postgres?user=postgres",
            ),
            (MODE.name(), "timestamp+incrementing"),
            (INCREMENTING_COLUMN.name(), "id"),
            (TIMESTAMP_COLUMN.name(), "updated_at, created_at"),
            (TOPIC_PREFIX.name(), "pg-"),
            (TABLE_INCLUDE_LIST.name(), "public.a,b"),
        ]))
        .unwrap();
        assert_eq!(c.mode, Mode::TimestampIncrementing);
        assert_eq!(c.timestamp_columns, vec!["updated_at", "created_at"]);
        assert_eq!(c.batch_max_rows, 100);
        assert_eq!(c.poll_interval, Duration::from_secs(5));
        assert!(c.selects(&TableId::new(Some("db".into()), Some("public".into()), "a")));
        assert!(c.selects(&TableId::new(Some("db".into()), Some("other".into()), "b")));
        assert!(!c.selects(&TableId::new(Some("db".into()), Some("public".into()), "c")));
    }

    #[test]
    fn source_rejects_bad_modes_and_combinations() {
        let base = [
            (CONNECTION_URL.name(), "sqlite::memory:"),
            (TOPIC_PREFIX.name(), "t"),
        ];
        let mut p = props(&base);
        p.insert(MODE.name().into(), "sometimes".into());
        let e = SourceConfig::parse(&p).unwrap_err().to_string();
        assert!(
            e.contains("Invalid value sometimes for configuration mode"),
            "{e}"
        );
        let mut p = props(&base);
        p.insert(MODE.name().into(), "timestamp".into());
        let e = SourceConfig::parse(&p).unwrap_err().to_string();
        assert!(e.contains("Timestamp column name must be specified"), "{e}");
        let mut p = props(&base);
        p.insert(MODE.name().into(), "bulk".into());
        p.insert(TABLE_WHITELIST.name().into(), "a".into());
        p.insert(TABLE_BLACKLIST.name().into(), "b".into());
        assert!(SourceConfig::parse(&p).is_err());
    }

    #[test]
    fn sink_checks_deletes_need_record_keys() {
        let p = props(&[
            (CONNECTION_URL.name(), "sqlite::memory:"),
            (DELETE_ENABLED.name(), "true"),
            (PK_MODE.name(), "record_value"),
        ]);
        let e = SinkConfig::parse(&p).unwrap_err().to_string();
        assert!(
            e.contains("Deletes are only supported for pk.mode record_key"),
            "{e}"
        );
        let p = props(&[
            (CONNECTION_URL.name(), "sqlite::memory:"),
            (TABLE_NAME_FORMAT.name(), "kafka_${topic}"),
        ]);
        let c = SinkConfig::parse(&p).unwrap();
        assert_eq!(c.table_for("orders"), "kafka_orders");
        assert_eq!(c.batch_size, 3000);
        assert_eq!(c.max_retries, 10);
    }

    fn errors(values: Vec<ferry_api::config::ValidatedValue>) -> Vec<(String, String)> {
        values
            .into_iter()
            .flat_map(|v| v.errors.into_iter().map(move |e| (v.name.clone(), e)))
            .collect()
    }

    #[test]
    fn validation_puts_cross_key_errors_on_their_keys() {
        let p = props(&[
            (CONNECTION_URL.name(), "sqlite::memory:"),
            (DELETE_ENABLED.name(), "true"),
            (INSERT_MODE.name(), "upsert"),
        ]);
        assert_eq!(
            errors(sink_config_def().validate_with(&p, sink_cross_checks)),
            [
                (
                    "delete.enabled".to_owned(),
                    "Deletes are only supported for pk.mode record_key".to_owned()
                ),
                (
                    "pk.mode".to_owned(),
                    "Primary key mode must not be none when insert.mode is upsert".to_owned()
                ),
            ]
        );
        // Checks between keys wait until each key is valid on its own.
        let mut p = p;
        p.insert(BATCH_SIZE.name().into(), "many".into());
        assert_eq!(
            errors(sink_config_def().validate_with(&p, sink_cross_checks)),
            [(
                "batch.size".to_owned(),
                "Invalid value many for configuration batch.size: Not a number of type INT"
                    .to_owned()
            )]
        );
    }
}
