//! Configuration keys (those of Confluent's datagen connector, plus `fields`
//! for a flat schema) and their cross-key checks.

use std::time::Duration;

use ferry_api::config::{
    ConfigDef, ConfigType, ConfigValue, Importance, ValidatedValue, Validator,
};
use ferry_api::Props;

pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QUICKSTART: &str = "quickstart";
pub const MAX_INTERVAL: &str = "max.interval";
pub const ITERATIONS: &str = "iterations";
pub const MAX_RECORDS: &str = "max.records";
pub const RANDOM_SEED: &str = "random.seed";
pub const SCHEMA_KEYFIELD: &str = "schema.keyfield";
pub const FIELDS: &str = "fields";
/// Set by the connector in each task config.
pub const TASK_ID: &str = "task.id";

/// The keys a task needs, copied from the connector config.
pub const TASK_KEYS: &[&str] = &[
    KAFKA_TOPIC,
    QUICKSTART,
    MAX_INTERVAL,
    ITERATIONS,
    MAX_RECORDS,
    RANDOM_SEED,
    SCHEMA_KEYFIELD,
    FIELDS,
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
    d.define(KAFKA_TOPIC, ConfigType::String)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("Topic to write to");
    d.define(QUICKSTART, ConfigType::String)
        .default_str("")
        .validator(Validator::Custom(check_quickstart))
        .importance(Importance::High)
        .doc("Name of a built-in schema: users, orders or pageviews. Empty or none: the flat schema of `fields`");
    d.define(FIELDS, ConfigType::String)
        .default_str("")
        .validator(Validator::Custom(check_fields))
        .importance(Importance::High)
        .doc("Flat schema when no quickstart is set: comma-separated name:type pairs, types int8, int16, int32, int64, float32, float64, boolean, string, bytes (e.g. id:int64,name:string,score:float64,active:boolean)");
    d.define(SCHEMA_KEYFIELD, ConfigType::String)
        .default_str("")
        .importance(Importance::Medium)
        .doc("Field whose value, as a string, is the record key. Empty: the quickstart's key field (userid, orderid, viewtime), or no key for the flat schema");
    d.define(MAX_INTERVAL, ConfigType::Long)
        .default_str("500")
        .validator(Validator::at_least(0.0))
        .importance(Importance::High)
        .doc("Milliseconds between records of a task; 0 generates as fast as possible");
    d.define(ITERATIONS, ConfigType::Long)
        .default_str("-1")
        .importance(Importance::High)
        .doc("Records per task; -1 (any value below 1) for unlimited");
    d.define(MAX_RECORDS, ConfigType::Long)
        .default_null()
        .importance(Importance::Low)
        .doc("Alias of iterations");
    d.define(RANDOM_SEED, ConfigType::Long)
        .default_null()
        .importance(Importance::Low)
        .doc("Seed of the generator; the same seed and task produce the same records. Unset: derived from the connector name");
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
}

/// A configuration error and the key it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    pub key: &'static str,
    pub message: String,
}

impl KeyError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        KeyError {
            key,
            message: message.into(),
        }
    }
}

impl DatagenConfig {
    /// Parses and checks `props`, as the connector and tasks do at start.
    pub fn parse(props: &Props) -> Result<DatagenConfig, KeyError> {
        let cfg = config_def().parse(props).map_err(|e| KeyError {
            key: TASK_KEYS
                .iter()
                .copied()
                .find(|k| *k == e.key)
                .unwrap_or(KAFKA_TOPIC),
            message: e.message,
        })?;
        let quickstart = Quickstart::parse(cfg.string(QUICKSTART).unwrap_or(""))
            .map_err(|e| KeyError::new(QUICKSTART, e))?;
        let fields =
            parse_fields(cfg.string(FIELDS).unwrap_or("")).map_err(|e| KeyError::new(FIELDS, e))?;
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
        let key_field = cfg
            .string(SCHEMA_KEYFIELD)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(k) = &key_field {
            check_key_field(&schema, k).map_err(|e| KeyError::new(SCHEMA_KEYFIELD, e))?;
        }
        let iterations = cfg.long(ITERATIONS).unwrap_or(-1);
        let iterations = match (props.contains_key(ITERATIONS), cfg.long(MAX_RECORDS)) {
            (true, Some(m)) if m != iterations => {
                return Err(KeyError::new(
                    MAX_RECORDS,
                    format!("max.records ({m}) disagrees with iterations ({iterations}); set one"),
                ))
            }
            (false, Some(m)) => m,
            _ => iterations,
        };
        let max_interval = cfg.long(MAX_INTERVAL).unwrap_or(500).max(0) as u64;
        Ok(DatagenConfig {
            topic: cfg.string(KAFKA_TOPIC).unwrap_or_default().to_owned(),
            schema,
            key_field,
            max_interval: Duration::from_millis(max_interval),
            iterations: u64::try_from(iterations).ok().filter(|n| *n > 0),
            seed: cfg.long(RANDOM_SEED).map(|s| s as u64),
        })
    }

    /// `ConfigDef` validation plus the cross-key checks, each error on its key.
    pub fn validate(props: &Props) -> Vec<ValidatedValue> {
        let mut values = config_def().validate(props);
        if values.iter().all(|v| v.errors.is_empty()) {
            if let Err(e) = DatagenConfig::parse(props) {
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
