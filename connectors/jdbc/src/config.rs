//! Configuration keys, defaults and cross-key checks of the source and sink
//! connectors: Confluent's `JdbcSourceConnectorConfig` / `JdbcSinkConfig`.

use std::time::Duration;

use ferry_api::config::{
    ConfigDef, ConfigType, ConfigValue, Importance, ValidatedValue, Validator,
};
use ferry_api::Props;

use crate::dialect::TableId;
use crate::error::{JdbcError, Result};
use crate::types::NumericMapping;
use crate::url::{self, ConnectionSpec};

pub const CONNECTION_URL: &str = "connection.url";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const CONNECTION_ATTEMPTS: &str = "connection.attempts";
pub const CONNECTION_BACKOFF_MS: &str = "connection.backoff.ms";
pub const QUOTE_SQL_IDENTIFIERS: &str = "quote.sql.identifiers";
pub const TABLE_TYPES: &str = "table.types";

pub const MODE: &str = "mode";
pub const INCREMENTING_COLUMN: &str = "incrementing.column.name";
pub const TIMESTAMP_COLUMN: &str = "timestamp.column.name";
pub const TIMESTAMP_INITIAL: &str = "timestamp.initial";
pub const VALIDATE_NON_NULL: &str = "validate.non.null";
pub const QUERY: &str = "query";
pub const TABLE_WHITELIST: &str = "table.whitelist";
pub const TABLE_BLACKLIST: &str = "table.blacklist";
pub const TABLE_INCLUDE_LIST: &str = "table.include.list";
pub const TABLE_EXCLUDE_LIST: &str = "table.exclude.list";
pub const TOPIC_PREFIX: &str = "topic.prefix";
pub const POLL_INTERVAL_MS: &str = "poll.interval.ms";
pub const BATCH_MAX_ROWS: &str = "batch.max.rows";
pub const TABLE_POLL_INTERVAL_MS: &str = "table.poll.interval.ms";
pub const TIMESTAMP_DELAY_MS: &str = "timestamp.delay.interval.ms";
pub const NUMERIC_MAPPING: &str = "numeric.mapping";
pub const NUMERIC_PRECISION_MAPPING: &str = "numeric.precision.mapping";
pub const DB_TIMEZONE: &str = "db.timezone";
pub const SCHEMA_PATTERN: &str = "schema.pattern";
pub const CATALOG_PATTERN: &str = "catalog.pattern";
/// Set by the connector in each task config: the tables of that task.
pub const TASK_TABLES: &str = "tables";

pub const INSERT_MODE: &str = "insert.mode";
pub const BATCH_SIZE: &str = "batch.size";
pub const DELETE_ENABLED: &str = "delete.enabled";
pub const TABLE_NAME_FORMAT: &str = "table.name.format";
pub const PK_MODE: &str = "pk.mode";
pub const PK_FIELDS: &str = "pk.fields";
pub const FIELDS_WHITELIST: &str = "fields.whitelist";
pub const AUTO_CREATE: &str = "auto.create";
pub const AUTO_EVOLVE: &str = "auto.evolve";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";

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
    d.define(CONNECTION_URL, ConfigType::String)
        .validator(Validator::Custom(check_url))
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection URL: jdbc:postgresql://host:port/db, jdbc:mysql://…, jdbc:mariadb://…, jdbc:sqlite:path, or postgresql://, mysql://, sqlite: URLs");
    d.define(CONNECTION_USER, ConfigType::String)
        .default_null()
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection user.");
    d.define(CONNECTION_PASSWORD, ConfigType::Password)
        .default_null()
        .importance(Importance::High)
        .group("Database")
        .doc("JDBC connection password.");
    d.define(CONNECTION_ATTEMPTS, ConfigType::Int)
        .default_str("3")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .group("Database")
        .doc("Maximum number of attempts to retrieve a valid JDBC connection.");
    d.define(CONNECTION_BACKOFF_MS, ConfigType::Long)
        .default_str("10000")
        .importance(Importance::Low)
        .group("Database")
        .doc("Backoff time in milliseconds between connection attempts.");
    d.define(QUOTE_SQL_IDENTIFIERS, ConfigType::String)
        .default_str("always")
        .validator(Validator::OneOfIgnoreCase(vec!["always", "never"]))
        .importance(Importance::Medium)
        .group("Database")
        .doc("When to quote table names, column names, and other identifiers in SQL statements.");
    d.define(TABLE_TYPES, ConfigType::List)
        .default_str("TABLE")
        .importance(Importance::Low)
        .group("Database")
        .doc("Table types to use: TABLE, VIEW.");
    d.define(DB_TIMEZONE, ConfigType::String)
        .default_str("UTC")
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
        d.define(key, ConfigType::List)
            .default_str("")
            .importance(Importance::Medium)
            .group("Database")
            .doc("Tables to include (whitelist / include.list) or exclude (blacklist / exclude.list); names may be qualified. Use one of them at most.");
    }
    d.define(SCHEMA_PATTERN, ConfigType::String)
        .default_null()
        .importance(Importance::Medium)
        .group("Database")
        .doc("Schema of the tables to read; null reads all schemas.");
    d.define(CATALOG_PATTERN, ConfigType::String)
        .default_null()
        .importance(Importance::Medium)
        .group("Database")
        .doc("Catalog of the tables to read (accepted; the connection's database is used).");
    d.define(NUMERIC_PRECISION_MAPPING, ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Low)
        .group("Database")
        .doc("Deprecated: numeric.mapping=precision_only.");
    d.define(NUMERIC_MAPPING, ConfigType::String)
        .default_null()
        .validator(Validator::Custom(check_numeric_mapping))
        .importance(Importance::Low)
        .group("Database")
        .doc("Map NUMERIC values by precision and optionally scale to integral or decimal types: none, precision_only, best_fit, best_fit_eager_double.");
    d.define(MODE, ConfigType::String)
        .default_str("")
        .validator(Validator::Custom(check_mode))
        .importance(Importance::High)
        .group("Mode")
        .doc("The mode for updating a table each time it is polled: bulk, incrementing, timestamp, timestamp+incrementing.");
    d.define(INCREMENTING_COLUMN, ConfigType::String)
        .default_str("")
        .importance(Importance::Medium)
        .group("Mode")
        .doc("The name of the strictly incrementing column used to detect new rows; empty finds an auto-increment column.");
    d.define(TIMESTAMP_COLUMN, ConfigType::List)
        .default_str("")
        .importance(Importance::Medium)
        .group("Mode")
        .doc("Timestamp columns used to detect new or modified rows, coalesced in order.");
    d.define(TIMESTAMP_INITIAL, ConfigType::Long)
        .default_null()
        .importance(Importance::Low)
        .group("Mode")
        .doc("Epoch milliseconds to start timestamp mode from; -1 for the current time; unset reads from the beginning.");
    d.define(VALIDATE_NON_NULL, ConfigType::Boolean)
        .default_str("true")
        .importance(Importance::Low)
        .group("Mode")
        .doc("Fail when the incrementing or timestamp columns are nullable.");
    d.define(QUERY, ConfigType::String)
        .default_str("")
        .importance(Importance::Medium)
        .group("Mode")
        .doc("A custom query instead of whole tables; the mode's WHERE clause is appended.");
    d.define(POLL_INTERVAL_MS, ConfigType::Int)
        .default_str("5000")
        .importance(Importance::High)
        .group("Connector")
        .doc("Frequency in ms to poll for new data in each table.");
    d.define(BATCH_MAX_ROWS, ConfigType::Int)
        .default_str("100")
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .group("Connector")
        .doc("Maximum number of rows to include in a single batch when polling for new data.");
    d.define(TABLE_POLL_INTERVAL_MS, ConfigType::Long)
        .default_str("60000")
        .importance(Importance::Low)
        .group("Connector")
        .doc("Frequency in ms to poll for new or removed tables.");
    d.define(TOPIC_PREFIX, ConfigType::String)
        .importance(Importance::High)
        .group("Connector")
        .doc(
            "Prefix prepended to table names to generate the topic names; the topic in query mode.",
        );
    d.define(TIMESTAMP_DELAY_MS, ConfigType::Long)
        .default_str("0")
        .importance(Importance::High)
        .group("Connector")
        .doc("How long to wait after a row with a certain timestamp appears before including it.");
    d
}

pub fn sink_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    connection_keys(&mut d);
    d.define(INSERT_MODE, ConfigType::String)
        .default_str("insert")
        .validator(Validator::OneOfIgnoreCase(vec![
            "insert", "upsert", "update",
        ]))
        .importance(Importance::High)
        .group("Writes")
        .doc("The insertion mode: insert, upsert or update.");
    d.define(BATCH_SIZE, ConfigType::Int)
        .default_str("3000")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group("Writes")
        .doc("How many records to batch together for insertion into the destination table.");
    d.define(DELETE_ENABLED, ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .group("Writes")
        .doc("Whether to treat null record values as deletes. Requires pk.mode to be record_key.");
    d.define(TABLE_NAME_FORMAT, ConfigType::String)
        .default_str("${topic}")
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("A format string for the destination table name, which may contain '${topic}'.");
    d.define(PK_MODE, ConfigType::String)
        .default_str("none")
        .validator(Validator::OneOfIgnoreCase(vec![
            "none",
            "kafka",
            "record_key",
            "record_value",
        ]))
        .importance(Importance::High)
        .group("Data Mapping")
        .doc("The primary key mode: none, kafka, record_key, record_value.");
    d.define(PK_FIELDS, ConfigType::List)
        .default_str("")
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("List of comma-separated primary key field names; meaning depends on pk.mode.");
    d.define(FIELDS_WHITELIST, ConfigType::List)
        .default_str("")
        .importance(Importance::Medium)
        .group("Data Mapping")
        .doc("List of comma-separated record value field names; empty uses all fields.");
    d.define(AUTO_CREATE, ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .group("DDL Support")
        .doc("Whether to automatically create the destination table based on record schema.");
    d.define(AUTO_EVOLVE, ConfigType::Boolean)
        .default_str("false")
        .importance(Importance::Medium)
        .group("DDL Support")
        .doc("Whether to automatically add columns in the table schema when found to be missing.");
    d.define(MAX_RETRIES, ConfigType::Int)
        .default_str("10")
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group("Retries")
        .doc("The maximum number of times to retry on errors before failing the task.");
    d.define(RETRY_BACKOFF_MS, ConfigType::Int)
        .default_str("3000")
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
    fn from_parsed(p: &ferry_api::ParsedConfig) -> Result<Self> {
        let url = p.string(CONNECTION_URL).unwrap_or_default();
        let spec = url::parse(
            url,
            p.string(CONNECTION_USER),
            p.string(CONNECTION_PASSWORD),
        )?;
        Ok(ConnectionConfig {
            spec,
            quote: !p
                .string(QUOTE_SQL_IDENTIFIERS)
                .is_some_and(|q| q.eq_ignore_ascii_case("never")),
            table_types: p.list(TABLE_TYPES),
            attempts: p.int(CONNECTION_ATTEMPTS).unwrap_or(3).max(1) as u32,
            backoff: Duration::from_millis(
                p.long(CONNECTION_BACKOFF_MS).unwrap_or(10_000).max(0) as u64
            ),
        })
    }
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

impl SourceConfig {
    pub fn parse(props: &Props) -> Result<Self> {
        let p = source_config_def().parse(props).map_err(cfg_err)?;
        let errors = source_cross_checks(props);
        if let Some(e) = errors.into_iter().next() {
            return Err(JdbcError::Config(e.1));
        }
        let mode = match p.string(MODE).unwrap_or_default() {
            "bulk" => Mode::Bulk,
            "incrementing" => Mode::Incrementing,
            "timestamp" => Mode::Timestamp,
            _ => Mode::TimestampIncrementing,
        };
        let numeric_mapping = match p.string(NUMERIC_MAPPING) {
            Some(s) => NumericMapping::parse(s).unwrap_or_default(),
            None if p.boolean(NUMERIC_PRECISION_MAPPING) == Some(true) => {
                NumericMapping::PrecisionOnly
            }
            None => NumericMapping::None,
        };
        let mut include = p.list(TABLE_WHITELIST);
        include.extend(p.list(TABLE_INCLUDE_LIST));
        let mut exclude = p.list(TABLE_BLACKLIST);
        exclude.extend(p.list(TABLE_EXCLUDE_LIST));
        let query = p.string(QUERY).filter(|q| !q.is_empty()).map(str::to_owned);
        let tables = props
            .get(TASK_TABLES)
            .map(|t| {
                ferry_api::config::parse_list(t)
                    .iter()
                    .map(|n| TableId::parse(n))
                    .collect()
            })
            .unwrap_or_default();
        Ok(SourceConfig {
            connection: ConnectionConfig::from_parsed(&p)?,
            mode,
            incrementing_column: p.string(INCREMENTING_COLUMN).unwrap_or_default().to_owned(),
            timestamp_columns: p
                .list(TIMESTAMP_COLUMN)
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect(),
            timestamp_initial: p.long(TIMESTAMP_INITIAL),
            validate_non_null: p.boolean(VALIDATE_NON_NULL).unwrap_or(true),
            query,
            include,
            exclude,
            schema_pattern: p.string(SCHEMA_PATTERN).map(str::to_owned),
            topic_prefix: p.string(TOPIC_PREFIX).unwrap_or_default().to_owned(),
            poll_interval: Duration::from_millis(
                p.int(POLL_INTERVAL_MS).unwrap_or(5000).max(0) as u64
            ),
            batch_max_rows: p.int(BATCH_MAX_ROWS).unwrap_or(100).max(1) as usize,
            table_poll_interval: Duration::from_millis(
                p.long(TABLE_POLL_INTERVAL_MS).unwrap_or(60_000).max(100) as u64,
            ),
            timestamp_delay: Duration::from_millis(
                p.long(TIMESTAMP_DELAY_MS).unwrap_or(0).max(0) as u64
            ),
            numeric_mapping,
            tables,
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
pub fn source_cross_checks(props: &Props) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let get = |k: &str| props.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let whitelist = get(TABLE_WHITELIST).or(get(TABLE_INCLUDE_LIST));
    let blacklist = get(TABLE_BLACKLIST).or(get(TABLE_EXCLUDE_LIST));
    if whitelist.is_some() && blacklist.is_some() {
        let msg = "Included Tables and Excluded Tables can't be used together. Only one of them can be used at a time.".to_owned();
        out.push((TABLE_WHITELIST.to_owned(), msg.clone()));
        out.push((TABLE_BLACKLIST.to_owned(), msg));
    }
    if get(QUERY).is_some() && (whitelist.is_some() || blacklist.is_some()) {
        out.push((
            QUERY.to_owned(),
            "Do not specify table filtering (whitelist or blacklist) when using a query".to_owned(),
        ));
    }
    match get(MODE) {
        Some("incrementing") | Some("timestamp+incrementing")
            if get(INCREMENTING_COLUMN).is_none() && get(QUERY).is_some() =>
        {
            out.push((
                INCREMENTING_COLUMN.to_owned(),
                "Query mode must be specified with incrementing.column.name for incrementing modes"
                    .to_owned(),
            ));
        }
        Some("timestamp") | Some("timestamp+incrementing") if get(TIMESTAMP_COLUMN).is_none() => {
            out.push((
                TIMESTAMP_COLUMN.to_owned(),
                "Timestamp column name must be specified for timestamp modes".to_owned(),
            ));
        }
        _ => {}
    }
    if get(DB_TIMEZONE).is_some_and(|z| !z.eq_ignore_ascii_case("UTC")) {
        out.push((DB_TIMEZONE.to_owned(), "Only UTC is supported".to_owned()));
    }
    out
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
        if let Some(e) = sink_cross_checks(props).into_iter().next() {
            return Err(JdbcError::Config(e.1));
        }
        let insert_mode = match p
            .string(INSERT_MODE)
            .unwrap_or("insert")
            .to_ascii_lowercase()
            .as_str()
        {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match p
            .string(PK_MODE)
            .unwrap_or("none")
            .to_ascii_lowercase()
            .as_str()
        {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        Ok(SinkConfig {
            connection: ConnectionConfig::from_parsed(&p)?,
            insert_mode,
            batch_size: p.int(BATCH_SIZE).unwrap_or(3000).max(1) as usize,
            delete_enabled: p.boolean(DELETE_ENABLED).unwrap_or(false),
            table_name_format: p.string(TABLE_NAME_FORMAT).unwrap_or("${topic}").to_owned(),
            pk_mode,
            pk_fields: p
                .list(PK_FIELDS)
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
            fields_whitelist: p
                .list(FIELDS_WHITELIST)
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
            auto_create: p.boolean(AUTO_CREATE).unwrap_or(false),
            auto_evolve: p.boolean(AUTO_EVOLVE).unwrap_or(false),
            max_retries: p.int(MAX_RETRIES).unwrap_or(10).max(0) as u32,
            retry_backoff: Duration::from_millis(
                p.int(RETRY_BACKOFF_MS).unwrap_or(3000).max(0) as u64
            ),
        })
    }

    /// `table.name.format` applied to a topic.
    pub fn table_for(&self, topic: &str) -> String {
        self.table_name_format.replace("${topic}", topic)
    }
}

/// Confluent's sink checks: deletes need record keys as primary keys.
pub fn sink_cross_checks(props: &Props) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let delete = props
        .get(DELETE_ENABLED)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let pk_mode = props
        .get(PK_MODE)
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "none".into());
    if delete && pk_mode != "record_key" {
        out.push((
            DELETE_ENABLED.to_owned(),
            "Deletes are only supported for pk.mode record_key".to_owned(),
        ));
    }
    let insert = props
        .get(INSERT_MODE)
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if (insert == "upsert" || insert == "update") && pk_mode == "none" {
        out.push((
            PK_MODE.to_owned(),
            format!("Primary key mode must not be none when insert.mode is {insert}"),
        ));
    }
    if props
        .get(DB_TIMEZONE)
        .is_some_and(|z| !z.trim().eq_ignore_ascii_case("UTC"))
    {
        out.push((DB_TIMEZONE.to_owned(), "Only UTC is supported".to_owned()));
    }
    out
}

/// `ConfigDef` validation plus the cross-key checks, errors attached to keys.
pub fn validate_with(
    def: &ConfigDef,
    props: &Props,
    extra: Vec<(String, String)>,
) -> Vec<ValidatedValue> {
    let mut values = def.validate(props);
    for (key, msg) in extra {
        if let Some(v) = values.iter_mut().find(|v| v.name == key) {
            v.errors.push(msg);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn source_defaults_and_lists() {
        let c = SourceConfig::parse(&props(&[
            (
                CONNECTION_URL,
                "jdbc:postgresql://127.0.0.1:55432/postgres?user=postgres",
            ),
            (MODE, "timestamp+incrementing"),
            (INCREMENTING_COLUMN, "id"),
            (TIMESTAMP_COLUMN, "updated_at, created_at"),
            (TOPIC_PREFIX, "pg-"),
            (TABLE_INCLUDE_LIST, "public.a,b"),
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
        let base = [(CONNECTION_URL, "sqlite::memory:"), (TOPIC_PREFIX, "t")];
        let mut p = props(&base);
        p.insert(MODE.into(), "sometimes".into());
        let e = SourceConfig::parse(&p).unwrap_err().to_string();
        assert!(
            e.contains("Invalid value sometimes for configuration mode"),
            "{e}"
        );
        let mut p = props(&base);
        p.insert(MODE.into(), "timestamp".into());
        let e = SourceConfig::parse(&p).unwrap_err().to_string();
        assert!(e.contains("Timestamp column name must be specified"), "{e}");
        let mut p = props(&base);
        p.insert(MODE.into(), "bulk".into());
        p.insert(TABLE_WHITELIST.into(), "a".into());
        p.insert(TABLE_BLACKLIST.into(), "b".into());
        assert!(SourceConfig::parse(&p).is_err());
    }

    #[test]
    fn sink_checks_deletes_need_record_keys() {
        let p = props(&[
            (CONNECTION_URL, "sqlite::memory:"),
            (DELETE_ENABLED, "true"),
            (PK_MODE, "record_value"),
        ]);
        let e = SinkConfig::parse(&p).unwrap_err().to_string();
        assert!(
            e.contains("Deletes are only supported for pk.mode record_key"),
            "{e}"
        );
        let p = props(&[
            (CONNECTION_URL, "sqlite::memory:"),
            (TABLE_NAME_FORMAT, "kafka_${topic}"),
        ]);
        let c = SinkConfig::parse(&p).unwrap();
        assert_eq!(c.table_for("orders"), "kafka_orders");
        assert_eq!(c.batch_size, 3000);
        assert_eq!(c.max_retries, 10);
    }
}
