//! Configuration keys (those of Confluent's datagen connector, plus `fields`
//! for a flat schema) and their cross-key checks.

use std::time::Duration;

use ferry_api::config::{ConfigDef, ConfigValue, Importance, Key, ValidatedValue, Validator};
use ferry_api::{ParsedConfig, Props};

pub const KAFKA_TOPIC: Key<String> = Key::new("kafka.topic");
pub const QUICKSTART: Key<String> = Key::new("quickstart");
pub const MAX_INTERVAL: Key<i64> = Key::new("max.interval");
pub const ITERATIONS: Key<i64> = Key::new("iterations");
pub const MAX_RECORDS: Key<Option<i64>> = Key::new("max.records");
pub const RANDOM_SEED: Key<Option<i64>> = Key::new("random.seed");
pub const SCHEMA_KEYFIELD: Key<String> = Key::new("schema.keyfield");
pub const FIELDS: Key<String> = Key::new("fields");
/// Set by the connector in each task config (task configs only).
pub const TASK_ID: Key<Option<i32>> = Key::new("task.id");

/// The keys a task needs, copied from the connector config.
pub const TASK_KEYS: &[&str] = &[
    KAFKA_TOPIC.name(),
    QUICKSTART.name(),
    MAX_INTERVAL.name(),
    ITERATIONS.name(),
    MAX_RECORDS.name(),
    RANDOM_SEED.name(),
    SCHEMA_KEYFIELD.name(),
    FIELDS.name(),
];

const QUICKSTARTS: &[&str] = &["users", "orders", "pageviews", "none"];

fn check_quickstart(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) if s.is_empty() || Quickstart::parse(s).is_ok() => Ok(()),
        ConfigValue::Null => Ok(()),
        _ => Err(format!("String must be one of: {}", QUICKSTARTS.join(", "))),
    }
}

fn check_fields(_key: &str, v: &ConfigValue) -> Result<(), String> {
    match v {
        ConfigValue::String(s) => parse_fields(s).map(|_| ()),
        _ => Ok(()),
    }
}

pub fn config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define_key(KAFKA_TOPIC)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("Topic to write to");
    d.define_key(QUICKSTART)
        .default("")
        .validator(Validator::Custom(check_quickstart))
        .importance(Importance::High)
        .doc("Name of a built-in schema: users, orders or pageviews. Empty or none: the flat schema of `fields`");
    d.define_key(FIELDS)
        .default("")
        .validator(Validator::Custom(check_fields))
        .importance(Importance::High)
        .doc("Flat schema when no quickstart is set: comma-separated name:type pairs, types int8, int16, int32, int64, float32, float64, boolean, string, bytes (e.g. id:int64,name:string,score:float64,active:boolean)");
    d.define_key(SCHEMA_KEYFIELD)
        .default("")
        .importance(Importance::Medium)
        .doc("Field whose value, as a string, is the record key. Empty: the quickstart's key field (userid, orderid, viewtime), or no key for the flat schema");
    d.define_key(MAX_INTERVAL)
        .default(500)
        .validator(Validator::at_least(0.0))
        .importance(Importance::High)
        .doc("Milliseconds between records of a task; 0 generates as fast as possible");
    d.define_key(ITERATIONS)
        .default(-1)
        .importance(Importance::High)
        .doc("Records per task; -1 (any value below 1) for unlimited");
    d.define_key(MAX_RECORDS)
        .importance(Importance::Low)
        .doc("Alias of iterations");
    d.define_key(RANDOM_SEED)
        .importance(Importance::Low)
        .doc("Seed of the generator; the same seed and task produce the same records. Unset: derived from the connector name");
    d
}

/// The connector's keys and the one the connector adds to each task
/// config.
pub fn task_config_def() -> ConfigDef {
    let mut d = config_def();
    d.define_key(TASK_ID).importance(Importance::Low).doc(
        "The task's number, which selects its record stream. Unset: the runtime's task number",
    );
    d
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    Users,
    Orders,
    Pageviews,
}

impl Quickstart {
    /// `Ok(None)` for `none`.
    pub fn parse(s: &str) -> Result<Option<Quickstart>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "users" => Ok(Some(Quickstart::Users)),
            "orders" => Ok(Some(Quickstart::Orders)),
            "pageviews" => Ok(Some(Quickstart::Pageviews)),
            "none" | "" => Ok(None),
            _ => Err(format!("String must be one of: {}", QUICKSTARTS.join(", "))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
}

impl FieldType {
    fn parse(s: &str) -> Option<FieldType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "int8" => FieldType::Int8,
            "int16" => FieldType::Int16,
            "int32" | "int" => FieldType::Int32,
            "int64" | "long" => FieldType::Int64,
            "float32" | "float" => FieldType::Float32,
            "float64" | "double" => FieldType::Float64,
            "boolean" | "bool" => FieldType::Boolean,
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            _ => return None,
        })
    }
}

/// `name:type,name:type,...`
pub fn parse_fields(spec: &str) -> Result<Vec<(String, FieldType)>, String> {
    let mut out: Vec<(String, FieldType)> = Vec::new();
    if spec.trim().is_empty() {
        return Ok(out);
    }
    for item in spec.split(',') {
        let item = item.trim();
        let Some((name, ty)) = item.split_once(':') else {
            return Err(format!("expected name:type, got '{item}'"));
        };
        let (name, ty) = (name.trim(), ty.trim());
        if name.is_empty() {
            return Err(format!("empty field name in '{item}'"));
        }
        let Some(t) = FieldType::parse(ty) else {
            return Err(format!(
                "unknown type '{ty}' of field {name} (int8, int16, int32, int64, float32, float64, boolean, string, bytes)"
            ));
        };
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate field {name}"));
        }
        out.push((name.to_owned(), t));
    }
    Ok(out)
}

/// What the records look like.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaSpec {
    Quickstart(Quickstart),
    Flat(Vec<(String, FieldType)>),
}

/// A checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DatagenConfig {
    pub topic: String,
    pub schema: SchemaSpec,
    /// `None`: the default of the schema.
    pub key_field: Option<String>,
    pub max_interval: Duration,
    /// `None`: unlimited.
    pub iterations: Option<u64>,
    pub seed: Option<u64>,
    /// The task's number, set in task configs by the connector.
    pub task_id: Option<u32>,
}

/// A configuration error and the key it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    pub key: String,
    pub message: String,
}

impl KeyError {
    fn new<T>(key: Key<T>, message: impl Into<String>) -> Self {
        KeyError {
            key: key.name().to_owned(),
            message: message.into(),
        }
    }
}

impl DatagenConfig {
    /// Parses and checks `props`, as the connector and tasks do at start.
    pub fn parse(props: &Props) -> Result<DatagenConfig, KeyError> {
        let cfg = task_config_def().parse(props).map_err(|e| KeyError {
            key: e.key,
            message: e.message,
        })?;
        let task_id = match cfg.get(TASK_ID) {
            Some(t) => Some(u32::try_from(t).map_err(|_| {
                KeyError::new(
                    TASK_ID,
                    format!(
                        "Invalid value {t} for configuration task.id: Value must be at least 0"
                    ),
                )
            })?),
            None => None,
        };
        Ok(DatagenConfig {
            task_id,
            ..DatagenConfig::from_parsed(&cfg)?
        })
    }

    /// The connector's keys and the checks between them, on a configuration
    /// whose keys each parsed.
    fn from_parsed(cfg: &ParsedConfig) -> Result<DatagenConfig, KeyError> {
        let quickstart =
            Quickstart::parse(&cfg.get(QUICKSTART)).map_err(|e| KeyError::new(QUICKSTART, e))?;
        let fields = parse_fields(&cfg.get(FIELDS)).map_err(|e| KeyError::new(FIELDS, e))?;
        let schema =
            match (quickstart, fields.is_empty()) {
                (Some(q), true) => SchemaSpec::Quickstart(q),
                (Some(_), false) => {
                    return Err(KeyError::new(
                        FIELDS,
                        "fields cannot be combined with a quickstart; set quickstart=none",
                    ))
                }
                (None, false) => SchemaSpec::Flat(fields),
                (None, true) => return Err(KeyError::new(
                    QUICKSTART,
                    "Set a quickstart (users, orders, pageviews) or the fields of a flat schema",
                )),
            };
        let key_field = Some(cfg.get(SCHEMA_KEYFIELD)).filter(|s| !s.is_empty());
        if let Some(k) = &key_field {
            check_key_field(&schema, k).map_err(|e| KeyError::new(SCHEMA_KEYFIELD, e))?;
        }
        let iterations = cfg.get(ITERATIONS);
        let iterations = match (cfg.is_set(ITERATIONS), cfg.get(MAX_RECORDS)) {
            (true, Some(m)) if m != iterations => {
                return Err(KeyError::new(
                    MAX_RECORDS,
                    format!("max.records ({m}) disagrees with iterations ({iterations}); set one"),
                ))
            }
            (false, Some(m)) => m,
            _ => iterations,
        };
        let max_interval = cfg.get(MAX_INTERVAL).max(0) as u64;
        Ok(DatagenConfig {
            topic: cfg.get(KAFKA_TOPIC),
            schema,
            key_field,
            max_interval: Duration::from_millis(max_interval),
            iterations: u64::try_from(iterations).ok().filter(|n| *n > 0),
            seed: cfg.get(RANDOM_SEED).map(|s| s as u64),
            task_id: None,
        })
    }

    /// `ConfigDef` validation plus the cross-key checks, each error on its
    /// key; the cross-key checks run once every key is valid on its own.
    pub fn validate(props: &Props) -> Vec<ValidatedValue> {
        let def = config_def();
        let mut values = def.validate(props);
        if values.iter().all(|v| v.errors.is_empty()) {
            let checked = def
                .parse(props)
                .map_err(|e| KeyError {
                    key: e.key,
                    message: e.message,
                })
                .and_then(|cfg| DatagenConfig::from_parsed(&cfg));
            if let Err(e) = checked {
                if let Some(v) = values.iter_mut().find(|v| v.name == e.key) {
                    v.errors.push(e.message);
                }
            }
        }
        values
    }
}

/// The key field must be a primitive, non-bytes field of the schema.
fn check_key_field(schema: &SchemaSpec, key: &str) -> Result<(), String> {
    let ok = match schema {
        SchemaSpec::Quickstart(q) => crate::generator::quickstart_key_fields(*q).contains(&key),
        SchemaSpec::Flat(fields) => fields
            .iter()
            .any(|(n, t)| n == key && *t != FieldType::Bytes),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key} is not a field of the schema that can be a string key"
        ))
    }
}
