//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts
//! timestamps between Unix numbers, formatted strings and Connect's Date,
//! Time and Timestamp types.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::data::logical;
use ferry_api::{ConfigDef, Props, Schema, SchemaBuilder, SchemaType, Struct, Value};
use ferry_java::date::{SimpleDateFormat, MILLIS_PER_DAY};
use ferry_java::text;

use crate::config::{self, key, Def, Default, Validator};
use crate::error::{config_error, ConfigError, ExceptionKind, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Value";
const PURPOSE: &str = "converting timestamp formats";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "field",
                ConfigType::String,
                Default::Str(""),
                None,
                Importance::High,
                "The field containing the timestamp, or empty if the entire value is a timestamp",
            ),
            key(
                "target.type",
                ConfigType::String,
                Default::Required,
                Some(Validator::ValidString(&["string", "unix", "Date", "Time", "Timestamp"])),
                Importance::High,
                "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
            ),
            key(
                "format",
                ConfigType::String,
                Default::Str(""),
                None,
                Importance::Medium,
                "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.",
            ),
            key(
                "unix.precision",
                ConfigType::String,
                Default::Str("milliseconds"),
                Some(Validator::ValidString(&[
                    "nanoseconds",
                    "microseconds",
                    "milliseconds",
                    "seconds",
                ])),
                Importance::Low,
                "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components.",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

/// A timestamp representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            _ => return None,
        })
    }

    /// `TimestampTranslator.typeSchema`.
    fn schema(self, optional: bool) -> Schema {
        let b = match self {
            Kind::String => SchemaBuilder::new(SchemaType::String),
            Kind::Unix => SchemaBuilder::new(SchemaType::Int64),
            Kind::Date => SchemaBuilder::date(),
            Kind::Time => SchemaBuilder::time(),
            Kind::Timestamp => SchemaBuilder::timestamp(),
        };
        b.optional_if(optional).build()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

struct Config {
    field: String,
    target: Kind,
    format: Option<SimpleDateFormat>,
    precision: Precision,
    replace_null_with_default: bool,
}

pub struct TimestampConverter {
    side: Side,
    cfg: Option<Config>,
    cache: SchemaCache,
}

impl TimestampConverter {
    pub fn new(side: Side) -> Self {
        TimestampConverter {
            side,
            cfg: None,
            cache: SchemaCache::default(),
        }
    }
}

/// `Utils.isBlank`.
fn is_blank(s: &str) -> bool {
    s.trim_matches(|c: char| c <= ' ').is_empty()
}

impl<R: ConnectRecord> Transformation<R> for TimestampConverter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let target = parsed
            .string("target.type")
            .and_then(Kind::parse)
            .unwrap_or(Kind::Timestamp);
        let pattern = parsed.string("format").unwrap_or_default();
        if target == Kind::String && is_blank(pattern) {
            return Err(config_error(
                "format",
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        let format = if is_blank(pattern) {
            None
        } else {
            // `new ConfigException(message, cause)` is the (name, value)
            // constructor, hence the shape of this message.
            Some(SimpleDateFormat::new(pattern).map_err(|e| {
                config_error(
                    "format",
                    format!(
                        "Invalid value java.lang.IllegalArgumentException: {e} for configuration TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"
                    ),
                )
            })?)
        };
        let precision = match parsed.string("unix.precision") {
            Some("seconds") => Precision::Seconds,
            Some("microseconds") => Precision::Micros,
            Some("nanoseconds") => Precision::Nanos,
            _ => Precision::Millis,
        };
        self.cfg = Some(Config {
            field: parsed.string("field").unwrap_or_default().to_owned(),
            target,
            format,
            precision,
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.cache = SchemaCache::default();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let class = match self.side {
            Side::Key => KEY_CLASS,
            Side::Value => VALUE_CLASS,
        };
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(class))?;
        let (schema, value) = self.side.take(&mut record);
        let (schema, value) = match schema {
            None => {
                if value.is_null() || cfg.field.is_empty() {
                    (None, convert(cfg, value, None)?)
                } else {
                    let mut map = util::require_map(value, PURPOSE)?;
                    match map
                        .iter_mut()
                        .find(|(k, _)| k.as_str() == Some(cfg.field.as_str()))
                    {
                        Some(slot) => slot.1 = convert(cfg, std::mem::take(&mut slot.1), None)?,
                        None => map.push((Value::String(cfg.field.clone()), Value::Null)),
                    }
                    (None, Value::Map(map))
                }
            }
            Some(schema) if cfg.field.is_empty() => {
                let updated = cfg.target.schema(schema.is_optional());
                let kind = kind_of_schema(&schema)?;
                (Some(updated), convert(cfg, value, Some(kind))?)
            }
            Some(schema) => {
                let value = match value {
                    Value::Null => None,
                    other => Some(util::require_struct(other, PURPOSE)?),
                };
                let updated = self
                    .cache
                    .get_or_try_insert(&schema, || updated_schema(cfg, &schema))?;
                let value = match value {
                    None => Value::Null,
                    Some(s) => Value::Struct(convert_struct(cfg, &s, &updated)?),
                };
                (Some(updated), value)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

fn updated_schema(cfg: &Config, schema: &Schema) -> Result<Schema, TransformError> {
    if schema.schema_type() != SchemaType::Struct {
        return Err(TransformError::data(
            "Cannot list fields on non-struct type",
        ));
    }
    let mut b = StructBuilder::copying(schema);
    for f in schema.fields() {
        if f.name == cfg.field {
            b.field(&f.name, cfg.target.schema(f.schema.is_optional()))?;
        } else {
            b.field(&f.name, f.schema.clone())?;
        }
    }
    if schema.is_optional() {
        b.optional();
    }
    let without_default = b.build();
    match schema.default_value() {
        Some(Value::Struct(d)) => {
            let converted = convert_struct(cfg, d, &without_default)?;
            let b = without_default.to_builder();
            Ok(util::with_default(b, Value::Struct(converted))?.build())
        }
        _ => Ok(without_default),
    }
}

fn convert_struct(
    cfg: &Config,
    value: &Struct,
    updated: &Schema,
) -> Result<Struct, TransformError> {
    let mut out = util::new_struct(updated)?;
    for f in value.schema().fields() {
        let v = util::field_value(value, f.index, cfg.replace_null_with_default).clone();
        let v = if f.name == cfg.field {
            let kind = kind_of_schema(&f.schema)?;
            convert(cfg, v, Some(kind))?
        } else {
            v
        };
        util::put(&mut out, &f.name, v)?;
    }
    Ok(out)
}

/// `timestampTypeFromSchema`.
fn kind_of_schema(schema: &Schema) -> Result<Kind, TransformError> {
    Ok(match (schema.name(), schema.schema_type()) {
        (Some(logical::TIMESTAMP), _) => Kind::Timestamp,
        (Some(logical::DATE), _) => Kind::Date,
        (Some(logical::TIME), _) => Kind::Time,
        (_, SchemaType::String) => Kind::String,
        (_, SchemaType::Int64) => Kind::Unix,
        _ => {
            return Err(TransformError::new(
                ExceptionKind::Connect,
                format!(
                    "Schema {} does not correspond to a known timestamp type format",
                    text::schema_to_string(schema)
                ),
            ))
        }
    })
}

/// `convertTimestamp`: to milliseconds since the epoch, then to the target.
fn convert(cfg: &Config, value: Value, kind: Option<Kind>) -> Result<Value, TransformError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let kind = match kind {
        Some(k) => k,
        None => match value {
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => Kind::Timestamp,
            Value::Int64(_) => Kind::Unix,
            Value::String(_) => Kind::String,
            ref other => {
                return Err(TransformError::data(format!(
                    "TimestampConverter does not support {} objects as timestamps",
                    text::class_display(other)
                )))
            }
        },
    };
    let millis = to_raw(cfg, kind, &value)?;
    Ok(match cfg.target {
        Kind::String => match &cfg.format {
            Some(f) => Value::String(f.format(millis)),
            None => return Err(missing_format("format")),
        },
        Kind::Unix => Value::Int64(match cfg.precision {
            Precision::Seconds => millis / 1000,
            Precision::Millis => millis,
            Precision::Micros => millis.saturating_mul(1000),
            Precision::Nanos => millis.saturating_mul(1_000_000),
        }),
        Kind::Date => Value::Date(millis.div_euclid(MILLIS_PER_DAY) as i32),
        Kind::Time => Value::Time(millis.rem_euclid(MILLIS_PER_DAY) as i32),
        Kind::Timestamp => Value::Timestamp(millis),
    })
}

/// The NullPointerException Java throws when a string timestamp meets a
/// converter configured without a format.
fn missing_format(method: &str) -> TransformError {
    TransformError::new(
        ExceptionKind::NullPointer,
        format!(
            "Cannot invoke \"java.text.SimpleDateFormat.{method}\" because \"config.format\" is null"
        ),
    )
}

/// `TimestampTranslator.toRaw`.
fn to_raw(cfg: &Config, kind: Kind, value: &Value) -> Result<i64, TransformError> {
    let found = || text::class_display(value);
    match kind {
        Kind::String => {
            let Value::String(s) = value else {
                return Err(TransformError::data(format!(
                    "Expected string timestamp to be a String, but found {}",
                    found()
                )));
            };
            let Some(format) = &cfg.format else {
                return Err(missing_format("parse(String)"));
            };
            // `DateFormat.parse(String)` fails unless some text was used.
            format
                .parse_prefix(s)
                .filter(|(_, used)| *used > 0)
                .map(|(m, _)| m)
                .ok_or_else(|| {
                    TransformError::data(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
        }
        Kind::Unix => {
            let Value::Int64(v) = value else {
                return Err(TransformError::data(format!(
                    "Expected Unix timestamp to be a Long, but found {}",
                    found()
                )));
            };
            // `TimeUnit` conversions: truncating division, saturating
            // multiplication.
            Ok(match cfg.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Millis => *v,
                Precision::Micros => v / 1000,
                Precision::Nanos => v / 1_000_000,
            })
        }
        Kind::Date | Kind::Time | Kind::Timestamp => match value {
            Value::Date(d) => Ok(i64::from(*d) * MILLIS_PER_DAY),
            Value::Time(t) => Ok(i64::from(*t)),
            Value::Timestamp(t) => Ok(*t),
            _ => {
                let what = match kind {
                    Kind::Date => "Date",
                    Kind::Time => "Time",
                    _ => "Timestamp",
                };
                Err(TransformError::data(format!(
                    "Expected {what} to be a java.util.Date, but found {}",
                    found()
                )))
            }
        },
    }
}
