//! JSON tree to Connect data: `JsonConverter.convertToConnect`.
//!
//! Java reads values through Jackson's lenient `JsonNode` accessors, so a
//! mismatched JSON type does not fail by itself: `intValue()` of a string is
//! 0, `textValue()` of a number is null, a float truncates towards zero when
//! read as an int and wraps like a Java cast. The accessors below reproduce
//! those rules; the errors are those Kafka Connect raises.

use ferry_api::data::logical;
use ferry_api::{Decimal, Schema, SchemaType, Struct, Value};
use ferry_java::date::MILLIS_PER_DAY;

use super::parse::{Node, Number};
use super::serialize::decimal_scale;
use super::Settings;
use crate::ConvertError;

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::Data(msg.into())
}

/// Converts `node` (absent = JSON `MissingNode`) to a value of `schema`, or
/// infers the type when there is no schema. Consumes the tree so strings
/// move into the value instead of being copied.
pub(crate) fn to_value(
    schema: Option<&Schema>,
    node: Option<Node>,
    settings: &Settings,
) -> Result<Value, ConvertError> {
    let node = match (schema, node) {
        (Some(s), None | Some(Node::Null)) => {
            if let Some(d) = s.default_value().filter(|d| !d.is_null()) {
                if settings.replace_null_with_default {
                    return Ok(d.clone());
                }
            }
            if s.is_optional() {
                return Ok(Value::Null);
            }
            return Err(err(format!(
                "Invalid null value for required {} field",
                s.schema_type()
            )));
        }
        (None, None | Some(Node::Null)) => return Ok(Value::Null),
        (_, Some(n)) => n,
    };
    let Some(schema) = schema else {
        return schemaless(node, settings);
    };
    if let Some(name) = schema.name() {
        if let Some(v) = logical_value(schema, name, &node)? {
            return Ok(v);
        }
    }
    Ok(match schema.schema_type() {
        SchemaType::Boolean => Value::Boolean(matches!(node, Node::Bool(true))),
        SchemaType::Int8 => Value::Int8(int_value(&node) as i8),
        SchemaType::Int16 => Value::Int16(int_value(&node) as i16),
        SchemaType::Int32 => Value::Int32(int_value(&node)),
        SchemaType::Int64 => Value::Int64(long_value(&node)),
        SchemaType::Float32 => Value::Float32(float_value(&node)),
        SchemaType::Float64 => Value::Float64(double_value(&node)),
        SchemaType::String => match node {
            Node::Text(s) => Value::String(s),
            _ => Value::Null,
        },
        SchemaType::Bytes => match binary_value(&node) {
            Ok(Some(b)) => Value::Bytes(b),
            Ok(None) => Value::Null,
            Err(e) => return Err(err(format!("Invalid bytes field: {e}"))),
        },
        SchemaType::Array => array(schema.value_schema(), node, settings)?,
        SchemaType::Map => map(Some(schema), node, settings)?,
        SchemaType::Struct => structure(schema, node, settings)?,
    })
}

/// Without a schema the JSON type decides: integers are int64, other
/// numbers float64, objects string-keyed maps.
fn schemaless(node: Node, settings: &Settings) -> Result<Value, ConvertError> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Boolean(b),
        n @ Node::Number(Number::Decimal(_)) => Value::Float64(double_value(&n)),
        n @ Node::Number(_) => Value::Int64(long_value(&n)),
        Node::Text(s) => Value::String(s),
        n @ Node::Array(_) => array(None, n, settings)?,
        n @ Node::Object(_) => map(None, n, settings)?,
    })
}

/// Iterating a Jackson node: an array's items, an object's values, nothing
/// for a scalar.
fn elements(node: Node) -> Vec<Node> {
    match node {
        Node::Array(items) => items,
        Node::Object(members) => members.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

fn array(
    item_schema: Option<&Schema>,
    node: Node,
    settings: &Settings,
) -> Result<Value, ConvertError> {
    let items = elements(node)
        .into_iter()
        .map(|n| to_value(item_schema, Some(n), settings))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(items))
}

fn map(schema: Option<&Schema>, node: Node, settings: &Settings) -> Result<Value, ConvertError> {
    let key_schema = schema.and_then(Schema::key_schema);
    let value_schema = schema.and_then(Schema::value_schema);
    let string_keys = match schema {
        None => true,
        Some(_) => key_schema.map(Schema::schema_type) == Some(SchemaType::String),
    };
    let mut entries = Vec::new();
    if string_keys {
        let Node::Object(members) = node else {
            return Err(err(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node.type_name()
            )));
        };
        entries.reserve(members.len());
        for (k, v) in members {
            entries.push((Value::String(k), to_value(value_schema, Some(v), settings)?));
        }
    } else {
        let Node::Array(items) = node else {
            return Err(err(format!(
                "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                node.type_name()
            )));
        };
        entries.reserve(items.len());
        for entry in items {
            let Node::Array(pair) = entry else {
                return Err(err(format!(
                    "Found invalid map entry instead of array tuple: {}",
                    entry.type_name()
                )));
            };
            let [k, v] = <[Node; 2]>::try_from(pair).map_err(|pair| {
                err(format!(
                    "Found invalid map entry, expected length 2 but found :{}",
                    pair.len()
                ))
            })?;
            entries.push((
                to_value(key_schema, Some(k), settings)?,
                to_value(value_schema, Some(v), settings)?,
            ));
        }
    }
    Ok(Value::Map(entries))
}

fn structure(schema: &Schema, node: Node, settings: &Settings) -> Result<Value, ConvertError> {
    let Node::Object(mut members) = node else {
        return Err(err(format!(
            "Structs should be encoded as JSON objects, but found {}",
            node.type_name()
        )));
    };
    let mut s = Struct::new(schema.clone()).map_err(|e| err(e.to_string()))?;
    for (i, field) in schema.fields().iter().enumerate() {
        // Writers emit fields in schema order, so try that position first.
        let index = match members.get(i) {
            Some((k, _)) if *k == field.name => Some(i),
            _ => members.iter().position(|(k, _)| *k == field.name),
        };
        let member = index.map(|i| std::mem::take(&mut members[i].1));
        let v = to_value(Some(&field.schema), member, settings)?;
        if v.is_null() {
            // `Struct.put` rejects null for a required field even when the
            // field has a default (the default was applied above if wanted).
            if !field.schema.is_optional() {
                return Err(err(format!(
                    "Invalid value: null used for required field: \"{}\", schema type: {}",
                    field.name,
                    field.schema.schema_type()
                )));
            }
            continue;
        }
        s.set(&field.name, v).map_err(|e| err(e.to_string()))?;
    }
    Ok(Value::Struct(s))
}

/// Logical types, by schema name. `None` when `name` is not one.
fn logical_value(schema: &Schema, name: &str, node: &Node) -> Result<Option<Value>, ConvertError> {
    Ok(Some(match name {
        logical::DECIMAL => match node {
            Node::Number(n) => Value::Decimal(decimal_value(n)?),
            Node::Text(_) => {
                let decoded = binary_value(node)
                    .ok()
                    .flatten()
                    .ok_or_else(|| err("Invalid bytes for Decimal field"))
                    .and_then(|bytes| {
                        let scale = decimal_scale(schema)
                            .map_err(|_| err("Invalid bytes for Decimal field"))?;
                        Decimal::from_unscaled_bytes(&bytes, scale)
                            .map_err(|_| err("Invalid bytes for Decimal field"))
                    })?;
                Value::Decimal(decoded)
            }
            other => {
                return Err(err(format!(
                    "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                    other.type_name()
                )))
            }
        },
        logical::DATE => match node {
            Node::Number(Number::Int(days)) => Value::Date(*days),
            other => {
                return Err(err(format!(
                    "Invalid type for Date, underlying representation should be integer but was {}",
                    other.type_name()
                )))
            }
        },
        logical::TIME => match node {
            Node::Number(Number::Int(ms)) => {
                if *ms < 0 || i64::from(*ms) > MILLIS_PER_DAY {
                    return Err(err(
                        "Time values must use number of milliseconds greater than 0 and less than 86400000",
                    ));
                }
                Value::Time(*ms)
            }
            other => {
                return Err(err(format!(
                    "Invalid type for Time, underlying representation should be integer but was {}",
                    other.type_name()
                )))
            }
        },
        logical::TIMESTAMP => match node {
            Node::Number(Number::Int(_) | Number::Long(_) | Number::BigInt(_)) => {
                Value::Timestamp(long_value(node))
            }
            other => {
                return Err(err(format!(
                    "Invalid type for Timestamp, underlying representation should be integral but was {}",
                    other.type_name()
                )))
            }
        },
        _ => return Ok(None),
    }))
}

/// A decimal number's parts: sign, significant digits (ASCII, may have
/// leading zeros) and the power of ten they are scaled by.
struct DecimalParts<'a> {
    negative: bool,
    digits: [&'a [u8]; 2],
    /// value = digits * 10^exponent
    exponent: i64,
}

impl<'a> DecimalParts<'a> {
    fn of(text: &'a str) -> DecimalParts<'a> {
        let b = text.as_bytes();
        let (negative, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            _ => (false, b),
        };
        let (mantissa, exp) = match b.iter().position(|c| matches!(c, b'e' | b'E')) {
            Some(i) => (&b[..i], parse_exponent(&b[i + 1..])),
            None => (b, 0),
        };
        let (int_part, frac) = match mantissa.iter().position(|&c| c == b'.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, &mantissa[mantissa.len()..]),
        };
        DecimalParts {
            negative,
            digits: [int_part, frac],
            exponent: exp - frac.len() as i64,
        }
    }

    fn digit_iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.digits.iter().flat_map(|d| d.iter().map(|c| c - b'0'))
    }

    /// The value truncated towards zero, modulo 2^64 (`BigDecimal.longValue`).
    fn truncated_bits(&self) -> u64 {
        let n = self.digit_iter().count() as i64;
        // Digits that survive truncation, then the trailing zeros to add.
        let keep = (n + self.exponent.min(0)).max(0) as usize;
        let mut v = 0u64;
        for d in self.digit_iter().take(keep) {
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        if self.exponent > 0 {
            // 10^k is 0 modulo 2^64 from k = 64 on.
            v = if self.exponent >= 64 {
                0
            } else {
                v.wrapping_mul(10u64.wrapping_pow(self.exponent as u32))
            };
        }
        if self.negative {
            v.wrapping_neg()
        } else {
            v
        }
    }

    fn is_zero(&self) -> bool {
        self.digit_iter().all(|d| d == 0)
    }
}

/// A decimal exponent, saturated: anything beyond ±10^15 behaves as
/// infinity for every conversion done here.
fn parse_exponent(b: &[u8]) -> i64 {
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mut v: i64 = 0;
    for &c in digits {
        v = (v * 10 + i64::from(c - b'0')).min(1_000_000_000_000_000);
    }
    if negative {
        -v
    } else {
        v
    }
}

/// `JsonNode.longValue()`.
fn long_value(node: &Node) -> i64 {
    match node {
        Node::Number(Number::Int(v)) => i64::from(*v),
        Node::Number(Number::Long(v)) => *v,
        Node::Number(Number::BigInt(t) | Number::Decimal(t)) => {
            DecimalParts::of(t).truncated_bits() as i64
        }
        _ => 0,
    }
}

/// `JsonNode.intValue()`: the low 32 bits of the truncated value.
pub(crate) fn int_value(node: &Node) -> i32 {
    long_value(node) as i32
}

/// `JsonNode.doubleValue()`. Java converts the exact decimal with correct
/// rounding; `BigDecimal` has no negative zero, so zero is always `+0.0`.
fn double_value(node: &Node) -> f64 {
    match node {
        Node::Number(Number::Int(v)) => f64::from(*v),
        Node::Number(Number::Long(v)) => *v as f64,
        Node::Number(Number::BigInt(t) | Number::Decimal(t)) => {
            if DecimalParts::of(t).is_zero() {
                0.0
            } else {
                t.parse().unwrap_or(0.0)
            }
        }
        _ => 0.0,
    }
}

/// `JsonNode.floatValue()`, rounded once from the exact decimal (never via
/// a double, which could round twice).
fn float_value(node: &Node) -> f32 {
    match node {
        Node::Number(Number::Int(v)) => *v as f32,
        Node::Number(Number::Long(v)) => *v as f32,
        Node::Number(Number::BigInt(t) | Number::Decimal(t)) => {
            if DecimalParts::of(t).is_zero() {
                0.0
            } else {
                t.parse().unwrap_or(0.0)
            }
        }
        _ => 0.0,
    }
}

/// `JsonNode.decimalValue()` of a number: the exact value with the scale
/// its text implies. Ferry's decimals hold 128-bit unscaled values.
fn decimal_value(n: &Number) -> Result<Decimal, ConvertError> {
    let text = match n {
        Number::Int(v) => return Ok(Decimal::new(i128::from(*v), 0)),
        Number::Long(v) => return Ok(Decimal::new(i128::from(*v), 0)),
        Number::BigInt(t) | Number::Decimal(t) => t,
    };
    let parts = DecimalParts::of(text);
    let too_big = || {
        err(format!(
            "Decimal value {text} exceeds the supported precision of 38 digits"
        ))
    };
    let mut unscaled: i128 = 0;
    for d in parts.digit_iter() {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or_else(too_big)?;
    }
    if parts.negative {
        unscaled = -unscaled;
    }
    let scale = i32::try_from(-parts.exponent)
        .map_err(|_| err(format!("Decimal value {text} has a scale out of range")))?;
    Ok(Decimal::new(unscaled, scale))
}

/// `JsonNode.binaryValue()`: base64 text decoded with Jackson's default
/// variant; `None` for nodes that are not text.
fn binary_value(node: &Node) -> Result<Option<Vec<u8>>, String> {
    match node {
        Node::Text(s) => jackson_base64(s.trim_matches(|c: char| c <= ' ')).map(Some),
        _ => Ok(None),
    }
}

/// Jackson's `Base64Variant.decode` for `MIME-NO-LINEFEEDS`: standard
/// alphabet, padding required, white space allowed between quanta, unused
/// low bits ignored.
fn jackson_base64(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let mut i = 0;
    let invalid = |c: u8| format!("Illegal character (code 0x{c:x}) in base64 content");
    let eof = || {
        "Unexpected end of base64-encoded String: base64 variant 'MIME-NO-LINEFEEDS' expects padding (one or more '=' characters) at the end".to_string()
    };
    loop {
        while i < b.len() && b[i] <= b' ' {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let c0 = b[i];
        let mut data = val(c0).ok_or_else(|| invalid(c0))?;
        i += 1;
        let c1 = *b.get(i).ok_or_else(eof)?;
        data = (data << 6) | val(c1).ok_or_else(|| invalid(c1))?;
        i += 1;
        let c2 = *b.get(i).ok_or_else(eof)?;
        i += 1;
        match val(c2) {
            None if c2 == b'=' => {
                let c3 = *b.get(i).ok_or_else(eof)?;
                if c3 != b'=' {
                    return Err(format!("{}: expected padding character '='", invalid(c3)));
                }
                i += 1;
                out.push((data >> 4) as u8);
                continue;
            }
            None => return Err(invalid(c2)),
            Some(v) => data = (data << 6) | v,
        }
        let c3 = *b.get(i).ok_or_else(eof)?;
        i += 1;
        match val(c3) {
            None if c3 == b'=' => {
                let two = data >> 2;
                out.push((two >> 8) as u8);
                out.push(two as u8);
            }
            None => return Err(invalid(c3)),
            Some(v) => {
                data = (data << 6) | v;
                out.push((data >> 16) as u8);
                out.push((data >> 8) as u8);
                out.push(data as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(t: &str) -> Node {
        super::super::parse::parse(t.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn integer_accessors_truncate_and_wrap_like_java() {
        assert_eq!(long_value(&num("1.9")), 1);
        assert_eq!(long_value(&num("-1.9")), -1);
        assert_eq!(long_value(&num("1e3")), 1000);
        assert_eq!(long_value(&num("12345e-2")), 123);
        assert_eq!(long_value(&num("18446744073709551617")), 1);
        assert_eq!(long_value(&num("1e100")), 0);
        assert_eq!(int_value(&num("4294967297")), 1);
        assert_eq!(int_value(&num("300")) as i8, 44);
        assert_eq!(long_value(&Node::Text("5".into())), 0);
    }

    #[test]
    fn float_accessors_round_once_and_have_no_negative_zero() {
        assert_eq!(double_value(&num("-0.0")).to_bits(), 0.0f64.to_bits());
        assert_eq!(double_value(&num("-1e-400")).to_bits(), (-0.0f64).to_bits());
        assert_eq!(double_value(&num("1e400")), f64::INFINITY);
        assert_eq!(float_value(&num("0.1")), 0.1f32);
        // Double rounding through f64 would give a different float here.
        assert_eq!(
            float_value(&num("1.00000005960464477539062500001")),
            1.0000001f32
        );
    }

    #[test]
    fn decimals_keep_their_text_scale() {
        let d = |t: &str| match num(t) {
            Node::Number(n) => decimal_value(&n).unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(d("2.310"), Decimal::new(2310, 3));
        assert_eq!(d("1E+3"), Decimal::new(1, -3));
        assert_eq!(d("-0.005"), Decimal::new(-5, 3));
        assert_eq!(d("12"), Decimal::new(12, 0));
    }

    #[test]
    fn base64_like_jackson() {
        assert_eq!(jackson_base64("AOc=").unwrap(), vec![0x00, 0xE7]);
        assert_eq!(jackson_base64("AA==").unwrap(), vec![0]);
        assert_eq!(jackson_base64("AAAA AAAA").unwrap(), vec![0; 6]);
        assert!(jackson_base64("AOc").is_err());
        assert!(jackson_base64("A===").is_err());
        assert!(jackson_base64("A*==").is_err());
    }
}
