//! Connect data to JSON bytes: `JsonConverter.convertToJson`, written
//! straight into the output buffer instead of through a Jackson tree.
//!
//! The checks and their order follow Java so that the same bad input fails
//! with the same message: null handling first, then the logical type (by
//! schema name), then the schema type (or, without a schema, the type the
//! value's Java class implies).

use ferry_api::data::logical;
use ferry_api::{Schema, SchemaType, Struct, Value};
use ferry_java::date::MILLIS_PER_DAY;
use ferry_java::text::class_display;

use super::{same_schema, DecimalFormat, Settings};
use crate::json::write;
use crate::ConvertError;

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::Data(msg.into())
}

/// `ClassCastException` inside `convertToJson`, as Java reports it.
fn wrong_type(schema: &Schema, value: &Value) -> ConvertError {
    err(format!(
        "Invalid type for {}: {}",
        schema.schema_type(),
        class_display(value)
    ))
}

/// Writes `value` (described by `schema`, if any) as JSON.
pub(crate) fn write_value(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    settings: &Settings,
) -> Result<(), ConvertError> {
    if value.is_null() {
        let Some(schema) = schema else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        if let Some(default) = schema.default_value().filter(|d| !d.is_null()) {
            if settings.replace_null_with_default {
                return write_value(out, Some(schema), default, settings);
            }
        }
        if schema.is_optional() {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        return Err(err(
            "Conversion error: null value for field that is required and has no default value",
        ));
    }

    let Some(schema) = schema else {
        return write_schemaless(out, value, settings);
    };

    if let Some(name) = schema.name() {
        if write_logical(out, schema, name, value, settings)? {
            return Ok(());
        }
    }

    match (schema.schema_type(), value) {
        (SchemaType::Int8, Value::Int8(v)) => write::int(out, i64::from(*v)),
        (SchemaType::Int16, Value::Int16(v)) => write::int(out, i64::from(*v)),
        (SchemaType::Int32, Value::Int32(v)) => write::int(out, i64::from(*v)),
        (SchemaType::Int64, Value::Int64(v)) => write::int(out, *v),
        (SchemaType::Float32, Value::Float32(v)) => write::float(out, *v),
        (SchemaType::Float64, Value::Float64(v)) => write::double(out, *v),
        (SchemaType::Boolean, Value::Boolean(v)) => boolean(out, *v),
        (SchemaType::String, Value::String(s)) => write::string(out, s),
        (SchemaType::Bytes, Value::Bytes(b)) => write::base64(out, b),
        (SchemaType::Bytes, other) => {
            return Err(err(format!(
                "Invalid type for bytes type: {}",
                class_display(other)
            )))
        }
        (SchemaType::Array, Value::Array(items)) => {
            write_array(out, schema.value_schema(), items, settings)?
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let key_schema = schema.key_schema();
            let object_mode = match key_schema {
                Some(k) => k.schema_type() == SchemaType::String,
                // A map schema always has a key schema; Java would fail
                // with a NullPointerException here.
                None => return Err(err("Map schema has no key schema")),
            };
            write_map(
                out,
                key_schema,
                schema.value_schema(),
                entries,
                object_mode,
                settings,
            )?
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if !same_schema(s.schema(), schema) {
                return Err(err("Mismatching schema."));
            }
            write_struct(out, s, settings)?
        }
        _ => return Err(wrong_type(schema, value)),
    }
    Ok(())
}

fn boolean(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Without a schema Java picks the type from the value's class
/// (`ConnectSchema.schemaType`); logical values have no such type.
fn write_schemaless(
    out: &mut Vec<u8>,
    value: &Value,
    settings: &Settings,
) -> Result<(), ConvertError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(v) => boolean(out, *v),
        Value::Int8(v) => write::int(out, i64::from(*v)),
        Value::Int16(v) => write::int(out, i64::from(*v)),
        Value::Int32(v) => write::int(out, i64::from(*v)),
        Value::Int64(v) => write::int(out, *v),
        Value::Float32(v) => write::float(out, *v),
        Value::Float64(v) => write::double(out, *v),
        Value::String(s) => write::string(out, s),
        Value::Bytes(b) => write::base64(out, b),
        Value::Array(items) => write_array(out, None, items, settings)?,
        Value::Map(entries) => {
            let object_mode = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            write_map(out, None, None, entries, object_mode, settings)?
        }
        // `struct.schema().equals(null)` is false.
        Value::Struct(_) => return Err(err("Mismatching schema.")),
        Value::Decimal(_) | Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            return Err(err(format!(
                "Java class {} does not have corresponding schema type.",
                class_display(value)
            )))
        }
    }
    Ok(())
}

/// Logical types are looked up by schema name, whatever the schema type.
/// Returns `false` when `name` is not a logical type.
fn write_logical(
    out: &mut Vec<u8>,
    schema: &Schema,
    name: &str,
    value: &Value,
    settings: &Settings,
) -> Result<bool, ConvertError> {
    match name {
        logical::DECIMAL => {
            let Value::Decimal(d) = value else {
                return Err(err(format!(
                    "Invalid type for Decimal, expected BigDecimal but was {}",
                    class_display(value)
                )));
            };
            match settings.decimal_format {
                DecimalFormat::Numeric => write::big_decimal(out, d),
                DecimalFormat::Base64 => {
                    let scale = decimal_scale(schema)?;
                    if d.scale != scale {
                        return Err(err(format!(
                            "Decimal value has mismatching scale for given Decimal schema. \
                             Schema has scale {scale}, value has scale {}.",
                            d.scale
                        )));
                    }
                    let mut buf = [0u8; 16];
                    write::base64(out, write::twos_complement(d.unscaled, &mut buf));
                }
            }
        }
        logical::DATE => {
            let millis = date_millis(value, "Date")?;
            if millis.rem_euclid(MILLIS_PER_DAY) != 0 {
                return Err(err(
                    "Kafka Connect Date type should not have any time fields set to non-zero values.",
                ));
            }
            write::int(out, i64::from((millis / MILLIS_PER_DAY) as i32));
        }
        logical::TIME => {
            let millis = date_millis(value, "Time")?;
            if !(0..=MILLIS_PER_DAY).contains(&millis) {
                return Err(err(
                    "Kafka Connect Time type should not have any date fields set to non-zero values.",
                ));
            }
            write::int(out, millis);
        }
        logical::TIMESTAMP => write::int(out, date_millis(value, "Timestamp")?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// The epoch milliseconds of a `java.util.Date`-backed value. Java accepts
/// any `Date` for all three logical types and checks the range afterwards.
fn date_millis(value: &Value, logical_name: &str) -> Result<i64, ConvertError> {
    match value {
        Value::Date(days) => Ok(i64::from(*days) * MILLIS_PER_DAY),
        Value::Time(ms) => Ok(i64::from(*ms)),
        Value::Timestamp(ms) => Ok(*ms),
        other => Err(err(format!(
            "Invalid type for {logical_name}, expected Date but was {}",
            class_display(other)
        ))),
    }
}

/// `Decimal.scale(schema)`: the `scale` parameter, which must be an int.
pub(crate) fn decimal_scale(schema: &Schema) -> Result<i32, ConvertError> {
    let text = schema
        .parameter(logical::DECIMAL_SCALE)
        .ok_or_else(|| err("Invalid Decimal schema: scale parameter not found."))?;
    text.parse::<i32>()
        .map_err(|_| err("Invalid scale parameter found in Decimal schema: "))
}

fn write_array(
    out: &mut Vec<u8>,
    item_schema: Option<&Schema>,
    items: &[Value],
    settings: &Settings,
) -> Result<(), ConvertError> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, item_schema, item, settings)?;
    }
    out.push(b']');
    Ok(())
}

/// Maps with string keys (by key schema, or without a schema when every
/// key is a string) are objects; all others are arrays of `[key, value]`.
fn write_map(
    out: &mut Vec<u8>,
    key_schema: Option<&Schema>,
    value_schema: Option<&Schema>,
    entries: &[(Value, Value)],
    object_mode: bool,
    settings: &Settings,
) -> Result<(), ConvertError> {
    out.push(if object_mode { b'{' } else { b'[' });
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if object_mode {
            write::key(out, object_key(key_schema, k, settings)?);
            write_value(out, value_schema, v, settings)?;
        } else {
            out.push(b'[');
            write_value(out, key_schema, k, settings)?;
            out.push(b',');
            write_value(out, value_schema, v, settings)?;
            out.push(b']');
        }
    }
    out.push(if object_mode { b'}' } else { b']' });
    Ok(())
}

/// `convertToJson(keySchema, key).asText()` for a string-keyed map.
fn object_key<'a>(
    key_schema: Option<&'a Schema>,
    key: &'a Value,
    settings: &Settings,
) -> Result<&'a str, ConvertError> {
    match (key, key_schema) {
        (Value::String(s), _) => Ok(s),
        (Value::Null, Some(ks)) => {
            match ks.default_value() {
                Some(Value::String(d)) if settings.replace_null_with_default => return Ok(d),
                _ => {}
            }
            if ks.is_optional() {
                // A JSON null's `asText()`.
                Ok("null")
            } else {
                Err(err(
                    "Conversion error: null value for field that is required and has no default value",
                ))
            }
        }
        (other, Some(ks)) => Err(wrong_type(ks, other)),
        (other, None) => Err(err(format!("Invalid map key: {}", class_display(other)))),
    }
}

fn write_struct(out: &mut Vec<u8>, s: &Struct, settings: &Settings) -> Result<(), ConvertError> {
    out.push(b'{');
    for (i, (field, v)) in s.schema().fields().iter().zip(s.values()).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write::key(out, &field.name);
        write_value(out, Some(&field.schema), v, settings)?;
    }
    out.push(b'}');
    Ok(())
}
