//! How Kafka Connect (Java) names and prints things in its messages: value
//! classes (`found: java.util.HashMap`), `Object.toString()` of values,
//! schemas and headers.

use std::fmt::Write as _;

use ferry_api::{Header, Headers, Schema, Value};

use super::float;

/// `value.getClass().getName()`: the Java class each value variant stands
/// for. Maps are `HashMap`s and arrays `ArrayList`s, as the JsonConverter
/// produces them.
pub fn class_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
        Value::Decimal(_) => "java.math.BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "java.util.Date",
    }
}

/// `value.getClass()` printed by string concatenation: `class java.lang.Integer`.
pub fn class_display(value: &Value) -> String {
    format!("class {}", class_name(value))
}

/// `String.valueOf(value)`.
///
/// Deliberate differences: bytes print as their (lossy UTF-8) content where
/// Java prints an identity hash such as `[B@1b6d3586`, and maps print in
/// insertion order where a Java `HashMap` prints in hash order.
/// `java.util.Date` prints in UTC.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int8(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int16(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int32(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int64(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Float32(v) => out.push_str(&float::f32_to_string(*v)),
        Value::Float64(v) => out.push_str(&float::f64_to_string(*v)),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Date(days) => out.push_str(&super::date::date_to_string(
            i64::from(*days) * super::date::MILLIS_PER_DAY,
        )),
        Value::Time(ms) => out.push_str(&super::date::date_to_string(i64::from(*ms))),
        Value::Timestamp(ms) => out.push_str(&super::date::date_to_string(*ms)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            // `Struct.toString()`: set fields only, comma without space.
            out.push_str("Struct{");
            let mut first = true;
            for (field, v) in s.schema().fields().iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&field.name);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// `ConnectSchema.toString()`: `Schema{STRING}` or `Schema{name:TYPE}`.
pub fn schema_to_string(schema: &Schema) -> String {
    match schema.name() {
        Some(n) => format!("Schema{{{n}:{}}}", schema.schema_type()),
        None => format!("Schema{{{}}}", schema.schema_type()),
    }
}

/// `String.valueOf(schema)` for an optional schema.
pub fn opt_schema_to_string(schema: Option<&Schema>) -> String {
    schema.map_or_else(|| "null".to_owned(), schema_to_string)
}

/// `ConnectHeader.toString()`.
pub fn header_to_string(h: &Header) -> String {
    format!(
        "ConnectHeader(key={}, value={}, schema={})",
        h.key,
        to_string(&h.value),
        opt_schema_to_string(h.schema.as_ref())
    )
}

/// `ConnectHeaders.toString()`: an empty header set prints as
/// `ConnectHeaders(headers=)`, as Java's lazily created list does.
pub fn headers_to_string(headers: &Headers) -> String {
    if headers.is_empty() {
        return "ConnectHeaders(headers=)".to_owned();
    }
    let items: Vec<String> = headers.iter().map(header_to_string).collect();
    format!("ConnectHeaders(headers=[{}])", items.join(", "))
}

/// `Map.toString()` of a source partition or offset.
pub fn json_map_to_string(map: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        write_json(&mut out, v);
    }
    out.push('}');
    out
}

fn write_json(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(f)) => out.push_str(&float::f64_to_string(f)),
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        serde_json::Value::String(s) => out.push_str(s),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, item);
            }
            out.push(']');
        }
        serde_json::Value::Object(m) => out.push_str(&json_map_to_string(m)),
    }
}
