//! `Cast$Key` / `Cast$Value`: casts fields, or the whole key or value, to
//! another primitive type.

use base64::Engine as _;
use ferry_api::config::{ConfigType, Importance};
use ferry_api::data::logical;
use ferry_api::{ConfigDef, Props, Schema, SchemaBuilder, SchemaType, Value};
use ferry_java::{date, float, number, text};

use crate::config::{self, key, Def, Default, JValue, Validator};
use crate::error::{config_error, ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Cast$Value";

const SPEC: &str = "spec";
const PURPOSE: &str = "cast types";

const INPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
const OUTPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                SPEC,
                ConfigType::List,
                Default::Required,
                Some(Validator::Lambda(check_spec)),
                Importance::High,
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

fn check_spec(_name: &str, value: &JValue) -> Result<(), ConfigError> {
    match value {
        JValue::List(l) if !l.is_empty() => parse_field_types(l).map(|_| ()),
        _ => Err(config_error(
            SPEC,
            "Must specify at least one field to cast.",
        )),
    }
}

/// `String.split(":")`: trailing empty parts are dropped.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.is_empty() && s.is_empty() {
        parts.push("");
    }
    parts
}

/// `Schema.Type.valueOf(name.toUpperCase())` restricted to cast outputs.
fn output_type(name: &str) -> Result<SchemaType, ConfigError> {
    let t = match name.to_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => {
            // Kafka Connect builds this with `new ConfigException(message,
            // cause)`, the (name, value) constructor, hence the odd shape.
            return Err(config_error(
                SPEC,
                format!(
                    "Invalid value java.lang.IllegalArgumentException: No enum constant org.apache.kafka.connect.data.Schema.Type.{} for configuration Invalid type found in casting spec: {name}",
                    name.to_uppercase()
                ),
            ));
        }
    };
    if matches!(
        t,
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(config_error(
            SPEC,
            format!(
                "Cast transformation does not support casting to {t}; supported types are {OUTPUT_TYPES}"
            ),
        ));
    }
    Ok(t)
}

/// The parsed spec: `None` as a field name casts the whole value.
type Casts = Vec<(Option<String>, SchemaType)>;

/// `Cast.parseFieldTypes`.
fn parse_field_types(mappings: &[String]) -> Result<Casts, ConfigError> {
    let mut casts: Casts = Vec::new();
    let mut whole = false;
    let shown = JValue::List(mappings.to_vec());
    for mapping in mappings {
        let parts = java_split(mapping, ':');
        let (field, ty) = match parts.len() {
            // Kafka Connect names `renames` here (a copy from ReplaceField).
            n if n > 2 => {
                return Err(config::invalid(
                    "renames",
                    &shown,
                    &format!("Invalid rename mapping: {mapping}"),
                ))
            }
            1 => {
                whole = true;
                (None, output_type(parts[0].trim())?)
            }
            2 => (
                Some(parts[0].trim().to_owned()),
                output_type(parts[1].trim())?,
            ),
            _ => {
                return Err(config_error(
                    SPEC,
                    "Index 1 out of bounds for length 0".to_owned(),
                ))
            }
        };
        match casts.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = ty,
            None => casts.push((field, ty)),
        }
    }
    if whole && mappings.len() > 1 {
        return Err(config_error(
            SPEC,
            "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec",
        ));
    }
    Ok(casts)
}

struct Config {
    casts: Casts,
    whole: Option<SchemaType>,
    replace_null_with_default: bool,
}

impl Config {
    fn cast_for(&self, field: &str) -> Option<SchemaType> {
        self.casts
            .iter()
            .find(|(f, _)| f.as_deref() == Some(field))
            .map(|(_, t)| *t)
    }
}

pub struct Cast {
    side: Side,
    cfg: Option<Config>,
    cache: SchemaCache,
}

impl Cast {
    pub fn new(side: Side) -> Self {
        Cast {
            side,
            cfg: None,
            cache: SchemaCache::default(),
        }
    }

    fn class(&self) -> &'static str {
        match self.side {
            Side::Key => KEY_CLASS,
            Side::Value => VALUE_CLASS,
        }
    }
}

impl<R: ConnectRecord> Transformation<R> for Cast {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let casts = parse_field_types(parsed.list(SPEC))?;
        let whole = casts.iter().find(|(f, _)| f.is_none()).map(|(_, t)| *t);
        self.cfg = Some(Config {
            casts,
            whole,
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.cache = SchemaCache::default();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let class = self.class();
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(class))?;
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        let (schema, value) = match schema {
            None => (None, apply_schemaless(cfg, value)?),
            Some(schema) => {
                let updated = self
                    .cache
                    .get_or_try_insert(&schema, || build_schema(cfg, &schema))?;
                let v = match cfg.whole {
                    Some(t) => cast_value(Some(&schema), value, t)?,
                    None => cast_struct(cfg, &updated, value)?,
                };
                (Some(updated), v)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

fn apply_schemaless(cfg: &Config, value: Value) -> Result<Value, TransformError> {
    if let Some(t) = cfg.whole {
        return cast_value(None, value, t);
    }
    let mut map = util::require_map(value, PURPOSE)?;
    for (field, t) in &cfg.casts {
        let Some(field) = field else { continue };
        // `HashMap.put` of every spec field, present or not; an existing
        // entry keeps its place.
        match map
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(field.as_str()))
        {
            Some(slot) => slot.1 = cast_value(None, std::mem::take(&mut slot.1), *t)?,
            None => map.push((Value::String(field.clone()), Value::Null)),
        }
    }
    Ok(Value::Map(map))
}

fn cast_struct(cfg: &Config, updated: &Schema, value: Value) -> Result<Value, TransformError> {
    let value = util::require_struct(value, PURPOSE)?;
    let mut out = util::new_struct(updated)?;
    for f in value.schema().fields() {
        let orig = util::field_value(&value, f.index, cfg.replace_null_with_default).clone();
        let v = match cfg.cast_for(&f.name) {
            Some(t) => cast_value(Some(&f.schema), orig, t)?,
            None => orig,
        };
        util::put(&mut out, &f.name, v)?;
    }
    Ok(Value::Struct(out))
}

/// `SchemaBuilder.int8()` and friends.
fn builder_for(t: SchemaType) -> SchemaBuilder {
    SchemaBuilder::new(t)
}

/// `Cast.getOrBuildSchema` (without the cache).
fn build_schema(cfg: &Config, schema: &Schema) -> Result<Schema, TransformError> {
    let mut builder = match cfg.whole {
        Some(t) => util::copy_schema_basics(schema, builder_for(t)),
        None => {
            if schema.schema_type() != SchemaType::Struct {
                return Err(TransformError::data(
                    "Cannot list fields on non-struct type",
                ));
            }
            let mut b = util::copy_schema_basics(schema, SchemaBuilder::struct_());
            for f in schema.fields() {
                match cfg.cast_for(&f.name) {
                    Some(t) => {
                        let mut fb = builder_for(t);
                        if f.schema.is_optional() {
                            fb = fb.optional();
                        }
                        if let Some(d) = f.schema.default_value() {
                            let cast = cast_value(Some(&f.schema), d.clone(), t)?;
                            fb = util::with_default(fb, cast)?;
                        }
                        b = b.field(f.name.as_str(), fb.build());
                    }
                    None => b = b.field(f.name.as_str(), f.schema.clone()),
                }
            }
            b
        }
    };
    if schema.is_optional() {
        builder = builder.optional();
    }
    if let Some(d) = schema.default_value() {
        let target = match cfg.whole {
            Some(t) => t,
            None => SchemaType::Struct,
        };
        let cast = cast_value(Some(schema), d.clone(), target)?;
        builder = util::with_default(builder, cast)?;
    }
    Ok(builder.build())
}

/// The Connect type of a schemaless value (`ConnectSchema.schemaType`).
fn inferred_type(value: &Value) -> Option<SchemaType> {
    Some(match value {
        Value::Int8(_) => SchemaType::Int8,
        Value::Int16(_) => SchemaType::Int16,
        Value::Int32(_) => SchemaType::Int32,
        Value::Int64(_) => SchemaType::Int64,
        Value::Float32(_) => SchemaType::Float32,
        Value::Float64(_) => SchemaType::Float64,
        Value::Boolean(_) => SchemaType::Boolean,
        Value::String(_) => SchemaType::String,
        Value::Bytes(_) => SchemaType::Bytes,
        Value::Array(_) => SchemaType::Array,
        Value::Map(_) => SchemaType::Map,
        Value::Struct(_) => SchemaType::Struct,
        _ => return None,
    })
}

/// `Cast.castValueToType`.
fn cast_value(
    schema: Option<&Schema>,
    value: Value,
    target: SchemaType,
) -> Result<Value, TransformError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.schema_type(),
        None => inferred_type(&value).ok_or_else(|| {
            TransformError::data(format!(
                "Cast transformation was passed a value of type {} which is not supported by Connect's data API",
                text::class_display(&value)
            ))
        })?,
    };
    if matches!(
        inferred,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(TransformError::data(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {INPUT_TYPES}"
        )));
    }
    // Logical values become their internal numbers unless cast to string.
    let value = match (schema.and_then(Schema::name), target) {
        (Some(_), SchemaType::String) | (None, _) => value,
        (Some(name), _) => encode_logical(name, value)?,
    };
    let out_of_range = |v: &Value| {
        TransformError::data(format!(
            "Value ({}) was out of range for requested data type",
            text::to_string(v)
        ))
    };
    let unexpected = |v: &Value| {
        TransformError::data(format!(
            "Unexpected type in Cast transformation: {}",
            text::class_display(v)
        ))
    };
    Ok(match target {
        SchemaType::Int8 => Value::Int8(match &value {
            Value::Boolean(b) => i8::from(*b),
            Value::String(s) => number::parse_byte(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.int() as i8,
        }),
        SchemaType::Int16 => Value::Int16(match &value {
            Value::Boolean(b) => i16::from(*b),
            Value::String(s) => number::parse_short(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.int() as i16,
        }),
        SchemaType::Int32 => Value::Int32(match &value {
            Value::Boolean(b) => i32::from(*b),
            Value::String(s) => number::parse_int(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.int(),
        }),
        SchemaType::Int64 => Value::Int64(match &value {
            Value::Boolean(b) => i64::from(*b),
            Value::String(s) => number::parse_long(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.long(),
        }),
        SchemaType::Float32 => Value::Float32(match &value {
            Value::Boolean(b) => f32::from(u8::from(*b)),
            Value::String(s) => number::parse_float(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.float(),
        }),
        SchemaType::Float64 => Value::Float64(match &value {
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => number::parse_double(s).ok_or_else(|| out_of_range(&value))?,
            v => num(v).ok_or_else(|| unexpected(v))?.double(),
        }),
        SchemaType::Boolean => Value::Boolean(match &value {
            Value::Boolean(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            v => num(v).ok_or_else(|| unexpected(v))?.long() != 0,
        }),
        SchemaType::String => Value::String(match value {
            Value::String(s) => s,
            Value::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
            Value::Date(d) => date::iso_format(i64::from(d) * date::MILLIS_PER_DAY),
            Value::Time(t) => date::iso_format(i64::from(t)),
            Value::Timestamp(t) => date::iso_format(t),
            Value::Float32(f) => float::f32_to_string(f),
            Value::Float64(f) => float::f64_to_string(f),
            other => text::to_string(&other),
        }),
        other => {
            return Err(TransformError::data(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    })
}

/// `Cast.encodeLogicalType`: Date, Time and Timestamp values as numbers.
fn encode_logical(name: &str, value: Value) -> Result<Value, TransformError> {
    Ok(match (name, value) {
        (logical::DATE, Value::Date(d)) => Value::Int32(d),
        (logical::DATE, Value::Time(t)) => encode_date(i64::from(t))?,
        (logical::DATE, Value::Timestamp(t)) => encode_date(t)?,
        (logical::TIME, Value::Time(t)) => Value::Int32(t),
        (logical::TIME, Value::Date(d)) => encode_time(i64::from(d) * date::MILLIS_PER_DAY)?,
        (logical::TIME, Value::Timestamp(t)) => encode_time(t)?,
        (logical::TIMESTAMP, Value::Timestamp(t)) => Value::Int64(t),
        (logical::TIMESTAMP, Value::Date(d)) => Value::Int64(i64::from(d) * date::MILLIS_PER_DAY),
        (logical::TIMESTAMP, Value::Time(t)) => Value::Int64(i64::from(t)),
        (_, v) => v,
    })
}

/// `Date.fromLogical` of an instant.
fn encode_date(millis: i64) -> Result<Value, TransformError> {
    if millis.rem_euclid(date::MILLIS_PER_DAY) != 0 {
        return Err(TransformError::data(
            "Kafka Connect Date type should not have any time fields set to non-zero values.",
        ));
    }
    Ok(Value::Int32((millis / date::MILLIS_PER_DAY) as i32))
}

/// `Time.fromLogical` of an instant.
fn encode_time(millis: i64) -> Result<Value, TransformError> {
    if !(0..=date::MILLIS_PER_DAY).contains(&millis) {
        return Err(TransformError::data(
            "Kafka Connect Time type should not have any date fields set to non-zero values.",
        ));
    }
    Ok(Value::Int32(millis as i32))
}

/// A Java `Number` and its narrowing conversions.
enum Num {
    I(i64),
    F(f32),
    D(f64),
    Dec(ferry_api::Decimal),
}

fn num(v: &Value) -> Option<Num> {
    Some(match v {
        Value::Int8(x) => Num::I(i64::from(*x)),
        Value::Int16(x) => Num::I(i64::from(*x)),
        Value::Int32(x) => Num::I(i64::from(*x)),
        Value::Int64(x) => Num::I(*x),
        Value::Float32(x) => Num::F(*x),
        Value::Float64(x) => Num::D(*x),
        Value::Decimal(d) => Num::Dec(*d),
        _ => return None,
    })
}

impl Num {
    /// `intValue()` (byte and short values narrow from it).
    fn int(&self) -> i32 {
        match self {
            Num::I(v) => *v as i32,
            Num::F(v) => *v as i32,
            Num::D(v) => *v as i32,
            Num::Dec(d) => number::decimal_long_value(d) as i32,
        }
    }
    fn long(&self) -> i64 {
        match self {
            Num::I(v) => *v,
            Num::F(v) => *v as i64,
            Num::D(v) => *v as i64,
            Num::Dec(d) => number::decimal_long_value(d),
        }
    }
    fn float(&self) -> f32 {
        match self {
            Num::I(v) => *v as f32,
            Num::F(v) => *v,
            Num::D(v) => *v as f32,
            Num::Dec(d) => number::decimal_float_value(d),
        }
    }
    fn double(&self) -> f64 {
        match self {
            Num::I(v) => *v as f64,
            Num::F(v) => f64::from(*v),
            Num::D(v) => *v,
            Num::Dec(d) => number::decimal_double_value(d),
        }
    }
}
