//! How Kafka Connect (Java) names and prints things: value classes in its
//! error messages (`found: java.util.HashMap`, `class java.lang.Integer`),
//! and the `Object.toString()` of values (which `StringConverter` writes and
//! transforms put into messages and fields), schemas, headers and source
//! offsets.

use std::fmt::Write as _;

use ferry_api::{Header, Headers, Schema, Value};

use crate::date::{date_to_string, MILLIS_PER_DAY};
use crate::float;

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
/// Only Java's non-null values have a class; `null` prints as `class null`.
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

/// Appends `String.valueOf(value)` to `out`, with the same differences as
/// [`to_string`].
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
        Value::Float32(v) => float::push_f32(out, *v),
        Value::Float64(v) => float::push_f64(out, *v),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Date(days) => out.push_str(&date_to_string(i64::from(*days) * MILLIS_PER_DAY)),
        Value::Time(ms) => out.push_str(&date_to_string(i64::from(*ms))),
        Value::Timestamp(ms) => out.push_str(&date_to_string(*ms)),
        Value::Array(items) => write_seq(out, ["[", ", ", "]"], items, write_value),
        Value::Map(entries) => write_seq(out, ["{", ", ", "}"], entries, |out, (k, v)| {
            write_value(out, k);
            out.push('=');
            write_value(out, v);
        }),
        Value::Struct(s) => {
            // `Struct.toString()`: set fields only, comma without space.
            let set = s
                .schema()
                .fields()
                .iter()
                .zip(s.values())
                .filter(|(_, v)| !v.is_null());
            write_seq(out, ["Struct{", ",", "}"], set, |out, (field, v)| {
                out.push_str(&field.name);
                out.push('=');
                write_value(out, v);
            });
        }
    }
}

/// Appends `open`, the items as `write` prints them with `sep` between, and
/// `close` (`[open, sep, close]`): the shape of every Java collection's
/// `toString()`, and of `Values.convertToString`'s containers.
pub(crate) fn write_seq<I: IntoIterator>(
    out: &mut String,
    [open, sep, close]: [&str; 3],
    items: I,
    mut write: impl FnMut(&mut String, I::Item),
) {
    out.push_str(open);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        write(out, item);
    }
    out.push_str(close);
}

/// `String.trim()`: strips the characters up to U+0020 (controls included),
/// not Unicode white space as `str::trim` does.
pub fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
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
    let mut out = String::new();
    write_json_map(&mut out, map);
    out
}

fn write_json_map(out: &mut String, map: &serde_json::Map<String, serde_json::Value>) {
    write_seq(out, ["{", ", ", "}"], map, |out, (k, v)| {
        out.push_str(k);
        out.push('=');
        write_json(out, v);
    });
}

fn write_json(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => out.push_str("null"),
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(f)) => float::push_f64(out, f),
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        serde_json::Value::String(s) => out.push_str(s),
        serde_json::Value::Array(items) => write_seq(out, ["[", ", ", "]"], items, write_json),
        serde_json::Value::Object(m) => write_json_map(out, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Decimal, SchemaBuilder, Struct};

    fn s(v: &Value) -> String {
        to_string(v)
    }

    #[test]
    fn dates_print_like_java_util_date() {
        assert_eq!(s(&Value::Timestamp(0)), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(s(&Value::Date(19_723)), "Mon Jan 01 00:00:00 UTC 2024");
        assert_eq!(s(&Value::Time(45_296_789)), "Thu Jan 01 12:34:56 UTC 1970");
        assert_eq!(s(&Value::Timestamp(-1)), "Wed Dec 31 23:59:59 UTC 1969");
        // The Gregorian cut-over: the day before 1582-10-15 is the Julian 10-04.
        assert_eq!(s(&Value::Date(-141_427)), "Fri Oct 15 00:00:00 UTC 1582");
        assert_eq!(s(&Value::Date(-141_428)), "Thu Oct 04 00:00:00 UTC 1582");
    }

    #[test]
    fn numbers_print_like_java() {
        assert_eq!(s(&Value::Int64(i64::MIN)), "-9223372036854775808");
        assert_eq!(s(&Value::Float64(1e10)), "1.0E10");
        assert_eq!(s(&Value::Float32(0.1)), "0.1");
        assert_eq!(s(&Value::Decimal(Decimal::new(1, -3))), "1E+3");
    }

    #[test]
    fn containers_print_like_java_collections() {
        let v = Value::Array(vec![Value::Int32(1), Value::Null, "x".into()]);
        assert_eq!(s(&v), "[1, null, x]");
        let m = Value::Map(vec![
            ("a".into(), Value::Float64(1.0)),
            ("b".into(), Value::Decimal(Decimal::new(5, 1))),
        ]);
        assert_eq!(s(&m), "{a=1.0, b=0.5}");
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .field("c", Schema::boolean())
            .build();
        let st = Struct::new(schema)
            .unwrap()
            .put("a", 1)
            .unwrap()
            .put("c", true)
            .unwrap();
        assert_eq!(s(&Value::Struct(st)), "Struct{a=1,c=true}");
    }

    #[test]
    fn source_offsets_print_like_java_maps() {
        let offset = serde_json::json!({"file": "a.txt", "pos": 1.5, "lines": [1, 2], "x": {}});
        let serde_json::Value::Object(m) = offset else {
            unreachable!()
        };
        assert_eq!(
            json_map_to_string(&m),
            "{file=a.txt, pos=1.5, lines=[1, 2], x={}}"
        );
    }

    #[test]
    fn classes_are_named_like_java() {
        assert_eq!(class_name(&Value::Map(vec![])), "java.util.HashMap");
        assert_eq!(class_display(&Value::Int32(1)), "class java.lang.Integer");
        assert_eq!(class_display(&Value::Bytes(vec![])), "class [B");
    }
}
