//! Kafka Connect's `Values`: `parseString` (InsertHeader's literal values)
//! and the scalar conversions MaskField uses for replacements.
//!
//! `parseString` infers a schema from text: booleans, integers in the
//! smallest type that holds them, decimals as `float32` (sic) when they have
//! a fraction, ISO dates, times and timestamps, and `[...]` / `{...}`
//! containers with a common element schema. Anything else is a string. The
//! tokenizer, the retry-as-string rules and the schema merging below follow
//! `Values.ValueParser` step by step, because the inferred header schema is
//! visible to sink connectors and header converters.

use ferry_api::data::logical;
use ferry_api::{Decimal, Schema, SchemaBuilder, SchemaType, Value};

use crate::date::{self, SimpleDateFormat, MILLIS_PER_DAY};
use crate::number;
use crate::text;

/// A schema and a value, either of which may be absent (null).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<Schema>,
    pub value: Value,
}

impl SchemaAndValue {
    fn of(schema: Schema, value: Value) -> Self {
        SchemaAndValue {
            schema: Some(schema),
            value,
        }
    }
}

/// `Values.parseString`.
pub fn parse_string(s: &str) -> SchemaAndValue {
    if s.is_empty() {
        return SchemaAndValue::of(Schema::string(), Value::String(String::new()));
    }
    let mut p = ValueParser {
        parser: Parser::new(s),
    };
    match p.parse(false) {
        Ok(Some(sv)) => sv,
        // A top-level null literal, or an error that escaped (Java would
        // propagate it; the parser only raises errors for embedded values).
        Ok(None) => SchemaAndValue {
            schema: None,
            value: Value::Null,
        },
        Err(_) => SchemaAndValue::of(Schema::string(), Value::String(s.to_owned())),
    }
}

/// `Utils.isBlank`.
fn is_blank(s: &str) -> bool {
    text::trim(s).is_empty()
}

struct Parser {
    chars: Vec<char>,
    original: String,
    idx: usize,
    next_token: Option<String>,
}

impl Parser {
    fn new(s: &str) -> Self {
        Parser {
            chars: s.chars().collect(),
            original: s.to_owned(),
            idx: 0,
            next_token: None,
        }
    }

    fn position(&self) -> usize {
        self.idx
    }

    fn mark(&self) -> usize {
        self.idx - self.next_token.as_ref().map_or(0, |t| t.chars().count())
    }

    fn rewind_to(&mut self, position: usize) {
        self.idx = position;
        self.next_token = None;
    }

    fn has_next(&self) -> bool {
        self.next_token.is_some() || self.can_consume_next_token()
    }

    fn can_consume_next_token(&self) -> bool {
        self.idx < self.chars.len()
    }

    fn substring(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    fn next(&mut self) -> String {
        match self.next_token.take() {
            Some(t) => t,
            None => self.consume_next_token(),
        }
    }

    fn next_n(&mut self, n: usize) -> Option<String> {
        let current = self.mark();
        let start = self.mark();
        for _ in 0..n {
            if !self.has_next() {
                self.rewind_to(start);
                return None;
            }
            self.next();
        }
        Some(self.substring(current, self.position()))
    }

    fn consume_next_token(&mut self) -> String {
        let mut escaped = false;
        let start = self.idx;
        while self.idx < self.chars.len() {
            match self.chars[self.idx] {
                '\\' => escaped = !escaped,
                ':' | ',' | '{' | '}' | '[' | ']' | '"' => {
                    if !escaped {
                        if start < self.idx {
                            return self.substring(start, self.idx);
                        }
                        self.idx += 1;
                        return self.substring(start, start + 1);
                    }
                    escaped = false;
                }
                _ => escaped = false,
            }
            self.idx += 1;
        }
        self.substring(start, self.idx)
    }

    fn can_consume(&mut self, expected: &str) -> bool {
        if self.is_next(expected) {
            self.next_token = None;
            return true;
        }
        false
    }

    fn is_next(&mut self, expected: &str) -> bool {
        if self.next_token.is_none() {
            if !self.has_next() {
                return false;
            }
            self.next_token = Some(self.consume_next_token());
        }
        while self.next_token.as_deref().is_some_and(is_blank) && self.can_consume_next_token() {
            self.next_token = Some(self.consume_next_token());
        }
        self.next_token
            .as_deref()
            .is_some_and(|t| text::trim(t) == expected)
    }
}

/// A failure inside the parser (Java's `DataException`), which makes an
/// enclosing array or map fall back to a plain string.
struct ParseFailure;

struct ValueParser {
    parser: Parser,
}

type Parsed = Result<Option<SchemaAndValue>, ParseFailure>;

impl ValueParser {
    fn can_parse_single_token_literal(&mut self, embedded: bool, literal: &str) -> bool {
        let start = self.parser.mark();
        if self.parser.can_consume(literal) && (embedded || !self.parser.has_next()) {
            return true;
        }
        self.parser.rewind_to(start);
        false
    }

    fn parse(&mut self, embedded: bool) -> Parsed {
        if !self.parser.has_next() {
            return Ok(None);
        }
        if embedded && self.parser.can_consume("\"") {
            return Ok(Some(self.parse_quoted_string()));
        }
        if self.can_parse_single_token_literal(embedded, "null") {
            return Ok(None);
        }
        if self.can_parse_single_token_literal(embedded, "true") {
            return Ok(Some(SchemaAndValue::of(
                Schema::boolean(),
                Value::Boolean(true),
            )));
        }
        if self.can_parse_single_token_literal(embedded, "false") {
            return Ok(Some(SchemaAndValue::of(
                Schema::boolean(),
                Value::Boolean(false),
            )));
        }
        let start = self.parser.mark();
        let container = if self.parser.can_consume("[") {
            Some(self.parse_array())
        } else if self.parser.can_consume("{") {
            Some(self.parse_map())
        } else {
            None
        };
        match container {
            Some(Ok(v)) => return Ok(Some(v)),
            // Not an array or map after all: read it as text.
            Some(Err(ParseFailure)) => self.parser.rewind_to(start),
            None => {}
        }
        let token = self.parser.next();
        if is_blank(&token) {
            return Ok(Some(SchemaAndValue::of(
                Schema::string(),
                Value::String(token),
            )));
        }
        self.parse_next_token(embedded, text::trim(&token))
    }

    fn parse_next_token(&mut self, embedded: bool, token: &str) -> Parsed {
        let first = token.chars().next().unwrap_or(' ');
        let first_is_digit = first.is_ascii_digit();
        if first_is_digit {
            if let Some(t) = self.parse_multiple_tokens_as_temporal(token) {
                return Ok(Some(t));
            }
        }
        if first_is_digit || first == '+' || first == '-' {
            if let Some(n) = parse_as_number(token) {
                return Ok(Some(n));
            }
        }
        if embedded {
            return Err(ParseFailure);
        }
        Ok(Some(SchemaAndValue::of(
            Schema::string(),
            Value::String(self.parser.original.clone()),
        )))
    }

    fn parse_quoted_string(&mut self) -> SchemaAndValue {
        let mut content = String::new();
        while self.parser.has_next() {
            if self.parser.can_consume("\"") {
                break;
            }
            content.push_str(&self.parser.next());
        }
        if let Some(t) = parse_as_temporal(&content) {
            return t;
        }
        SchemaAndValue::of(Schema::string(), Value::String(content))
    }

    fn parse_array(&mut self) -> Result<SchemaAndValue, ParseFailure> {
        let mut result: Vec<Value> = Vec::new();
        let mut merger = SchemaMerger::default();
        while self.parser.has_next() {
            if self.parser.can_consume("]") {
                return match merger.common {
                    Some(common) => {
                        let schema = SchemaBuilder::array(common.clone()).build();
                        let mut aligned = Vec::with_capacity(result.len());
                        for v in result {
                            aligned.push(convert_to(&common, v)?);
                        }
                        Ok(SchemaAndValue::of(schema, Value::Array(aligned)))
                    }
                    // Every element is null: `SchemaBuilder.arrayOfNull()`.
                    None => Ok(SchemaAndValue::of(
                        SchemaBuilder::new(SchemaType::Array).build(),
                        Value::Array(result),
                    )),
                };
            }
            if self.parser.can_consume(",") {
                return Err(ParseFailure);
            }
            let element = self.parse(true)?;
            merger.merge(element.as_ref());
            result.push(element.map_or(Value::Null, |e| e.value));
            let current = self.parser.mark();
            if self.parser.can_consume("]") {
                self.parser.rewind_to(current);
            } else if !self.parser.can_consume(",") {
                return Err(ParseFailure);
            }
        }
        Err(ParseFailure)
    }

    fn parse_map(&mut self) -> Result<SchemaAndValue, ParseFailure> {
        let mut result: Vec<(Value, Value)> = Vec::new();
        let mut keys = SchemaMerger::default();
        let mut values = SchemaMerger::default();
        while self.parser.has_next() {
            if self.parser.can_consume("}") {
                return match (keys.common.clone(), values.common.clone()) {
                    (Some(k), Some(v)) => {
                        let schema = SchemaBuilder::map(k.clone(), v.clone()).build();
                        let mut aligned = Vec::with_capacity(result.len());
                        for (mk, mv) in result {
                            put(&mut aligned, convert_to(&k, mk)?, convert_to(&v, mv)?);
                        }
                        Ok(SchemaAndValue::of(schema, Value::Map(aligned)))
                    }
                    (Some(k), None) => {
                        // `SchemaBuilder.mapWithNullValues(keySchema)`.
                        let schema = map_schema(Some(k.clone()), None);
                        let mut aligned = Vec::with_capacity(result.len());
                        for (mk, mv) in result {
                            put(&mut aligned, convert_to(&k, mk)?, mv);
                        }
                        Ok(SchemaAndValue::of(schema, Value::Map(aligned)))
                    }
                    _ => Ok(SchemaAndValue::of(
                        map_schema(None, None),
                        Value::Map(result),
                    )),
                };
            }
            if self.parser.can_consume(",") {
                return Err(ParseFailure);
            }
            let key = self.parse(true)?;
            let Some(key) = key.filter(|k| !k.value.is_null()) else {
                return Err(ParseFailure);
            };
            if !self.parser.can_consume(":") {
                return Err(ParseFailure);
            }
            let value = self.parse(true)?;
            keys.merge(Some(&key));
            values.merge(value.as_ref());
            put(
                &mut result,
                key.value,
                value.map_or(Value::Null, |v| v.value),
            );
            self.parser.can_consume(",");
        }
        Err(ParseFailure)
    }

    fn parse_multiple_tokens_as_temporal(&mut self, token: &str) -> Option<SchemaAndValue> {
        // Times and timestamps arrive split at their colons into 5 tokens.
        let position = self.parser.mark();
        if let Some(rest) = self.parser.next_n(4) {
            if let Some(t) = parse_as_temporal(&format!("{token}{rest}")) {
                return Some(t);
            }
        }
        self.parser.rewind_to(position);
        parse_as_temporal(token)
    }
}

/// `LinkedHashMap.put`: replaces an equal key in place.
fn put(entries: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    match entries.iter_mut().find(|(ek, _)| *ek == k) {
        Some(slot) => slot.1 = v,
        None => entries.push((k, v)),
    }
}

/// A map schema whose key or value schema may be missing (Java's
/// `mapWithNullValues` / `mapOfNull`).
fn map_schema(k: Option<Schema>, v: Option<Schema>) -> Schema {
    match (k, v) {
        (Some(k), Some(v)) => SchemaBuilder::map(k, v).build(),
        _ => SchemaBuilder::new(SchemaType::Map).build(),
    }
}

/// `parseAsNumber`.
fn parse_as_number(token: &str) -> Option<SchemaAndValue> {
    let d = number::parse_big_decimal(token)?;
    if let Some(exact) = parse_as_exact_decimal(&d) {
        return Some(exact);
    }
    let f = number::decimal_float_value(&d);
    if f.is_finite() && d.scale != 0 {
        return Some(SchemaAndValue::of(Schema::float32(), Value::Float32(f)));
    }
    let x = number::decimal_double_value(&d);
    if x.is_finite() && d.scale != 0 {
        return Some(SchemaAndValue::of(Schema::float64(), Value::Float64(x)));
    }
    Some(SchemaAndValue::of(
        SchemaBuilder::decimal(d.scale).build(),
        Value::Decimal(d),
    ))
}

/// `parseAsExactDecimal`: whole numbers up to 1e19 in the smallest type.
fn parse_as_exact_decimal(d: &Decimal) -> Option<SchemaAndValue> {
    let abs = d.unscaled.unsigned_abs();
    if d.unscaled == 0 {
        return Some(SchemaAndValue::of(Schema::int8(), Value::Int8(0)));
    }
    // |d| > 1e19 or |d| < 1: not exact.
    let int_part = integer_part(d)?;
    let frac_zero = fraction_is_zero(d);
    if int_part.unsigned_abs() > 10_000_000_000_000_000_000u128
        || (int_part == 0 && abs != 0)
        || !frac_zero
    {
        // 1e19 < |d| covers the first test exactly only for whole numbers,
        // which is what the rest requires anyway.
        return None;
    }
    let integral = i64::try_from(int_part).ok()?;
    Some(if let Ok(v) = i8::try_from(integral) {
        SchemaAndValue::of(Schema::int8(), Value::Int8(v))
    } else if let Ok(v) = i16::try_from(integral) {
        SchemaAndValue::of(Schema::int16(), Value::Int16(v))
    } else if let Ok(v) = i32::try_from(integral) {
        SchemaAndValue::of(Schema::int32(), Value::Int32(v))
    } else {
        SchemaAndValue::of(Schema::int64(), Value::Int64(integral))
    })
}

/// The integer part of a decimal, or `None` when it exceeds 128 bits.
fn integer_part(d: &Decimal) -> Option<i128> {
    if d.scale >= 0 {
        Some(match 10i128.checked_pow(d.scale as u32) {
            Some(f) => d.unscaled / f,
            None => 0,
        })
    } else {
        let f = 10i128.checked_pow((-(d.scale as i64)) as u32)?;
        d.unscaled.checked_mul(f)
    }
}

fn fraction_is_zero(d: &Decimal) -> bool {
    if d.scale <= 0 {
        return true;
    }
    match 10i128.checked_pow(d.scale as u32) {
        Some(f) => d.unscaled % f == 0,
        None => d.unscaled == 0,
    }
}

/// `parseAsTemporal`: by length, an ISO time (13), timestamp (24) or
/// date (10), parsed leniently.
pub fn parse_as_temporal(token: &str) -> Option<SchemaAndValue> {
    let token = token.replace("\\:", ":");
    let (pattern, schema) = match token.chars().count() {
        13 => ("HH:mm:ss.SSS'Z'", SchemaBuilder::time().build()),
        24 => (
            "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
            SchemaBuilder::timestamp().build(),
        ),
        10 => ("yyyy-MM-dd", SchemaBuilder::date().build()),
        _ => return None,
    };
    let fmt = SimpleDateFormat::new(pattern).ok()?;
    let (millis, _) = fmt.parse_prefix(&token)?;
    let value = match schema.name() {
        Some(logical::TIME) => Value::Time(millis as i32),
        Some(logical::DATE) => Value::Date(millis.div_euclid(MILLIS_PER_DAY) as i32),
        _ => Value::Timestamp(millis),
    };
    Some(SchemaAndValue::of(schema, value))
}

/// `SchemaMerger`: the common schema of parsed elements, if any.
#[derive(Default)]
struct SchemaMerger {
    common: Option<Schema>,
    incompatible: bool,
}

impl SchemaMerger {
    fn merge(&mut self, latest: Option<&SchemaAndValue>) {
        let Some(schema) = latest.and_then(|l| l.schema.as_ref()) else {
            return;
        };
        if self.incompatible {
            return;
        }
        match &self.common {
            None => self.common = Some(schema.clone()),
            Some(prev) => {
                self.common = merge_schemas(prev, schema);
                self.incompatible = self.common.is_none();
            }
        }
    }
}

fn merge_schemas(previous: &Schema, new: &Schema) -> Option<Schema> {
    use SchemaType::*;
    let (pt, nt) = (previous.schema_type(), new.schema_type());
    if pt != nt {
        let widen_to_new = |allowed: &[SchemaType]| allowed.contains(&nt);
        return match pt {
            Int8 => widen_to_new(&[Int16, Int32, Int64, Float32, Float64]).then(|| new.clone()),
            Int16 => {
                if nt == Int8 {
                    Some(previous.clone())
                } else {
                    widen_to_new(&[Int32, Int64, Float32, Float64]).then(|| new.clone())
                }
            }
            Int32 => {
                if matches!(nt, Int8 | Int16) {
                    Some(previous.clone())
                } else {
                    widen_to_new(&[Int64, Float32, Float64]).then(|| new.clone())
                }
            }
            Int64 => {
                if matches!(nt, Int8 | Int16 | Int32) {
                    Some(previous.clone())
                } else {
                    widen_to_new(&[Float32, Float64]).then(|| new.clone())
                }
            }
            Float32 => {
                if matches!(nt, Int8 | Int16 | Int32 | Int64) {
                    Some(previous.clone())
                } else {
                    (nt == Float64).then(|| new.clone())
                }
            }
            Float64 => {
                matches!(nt, Int8 | Int16 | Int32 | Int64 | Float32).then(|| previous.clone())
            }
            _ => None,
        };
    }
    if previous.is_optional() == new.is_optional() {
        return Some(if previous.is_optional() {
            previous.clone()
        } else {
            new.clone()
        });
    }
    (previous == new).then(|| previous.clone())
}

/// `Values.convertTo(toSchema, null, value)` for the values the parser
/// produces.
fn convert_to(to: &Schema, value: Value) -> Result<Value, ParseFailure> {
    if value.is_null() {
        return if to.is_optional() {
            Ok(Value::Null)
        } else {
            Err(ParseFailure)
        };
    }
    let name = to.name();
    Ok(match to.schema_type() {
        // A decimal target always fails in Kafka Connect 4.3.1 (its
        // `convertMaybeLogicalBytes` rejects every value).
        SchemaType::Bytes => return Err(ParseFailure),
        SchemaType::String => Value::String(convert_to_string(&value)),
        SchemaType::Boolean => match value {
            Value::Boolean(b) => Value::Boolean(b),
            other => Value::Boolean(as_long(&other).map_err(|_| ParseFailure)? != 0),
        },
        SchemaType::Int8 => match value {
            Value::Int8(v) => Value::Int8(v),
            other => Value::Int8(as_long(&other).map_err(|_| ParseFailure)? as i8),
        },
        SchemaType::Int16 => match value {
            Value::Int16(v) => Value::Int16(v),
            other => Value::Int16(as_long(&other).map_err(|_| ParseFailure)? as i16),
        },
        SchemaType::Int32 => match name {
            Some(logical::DATE) => match value {
                Value::Date(d) => Value::Date(d),
                Value::Time(ms) => Value::Date(ms.div_euclid(86_400_000)),
                Value::Timestamp(ms) => Value::Date(ms.div_euclid(MILLIS_PER_DAY) as i32),
                other => Value::Date(as_long(&other).map_err(|_| ParseFailure)? as i32),
            },
            Some(logical::TIME) => match value {
                Value::Time(t) => Value::Time(t),
                Value::Date(d) => Value::Time(d.wrapping_mul(86_400_000)),
                Value::Timestamp(ms) => Value::Time(ms as i32),
                other => Value::Time(as_long(&other).map_err(|_| ParseFailure)? as i32),
            },
            _ => match value {
                Value::Int32(v) => Value::Int32(v),
                other => Value::Int32(as_long(&other).map_err(|_| ParseFailure)? as i32),
            },
        },
        SchemaType::Int64 => match name {
            Some(logical::TIMESTAMP) => match value {
                Value::Timestamp(t) => Value::Timestamp(t),
                Value::Date(d) => Value::Timestamp(i64::from(d) * MILLIS_PER_DAY),
                Value::Time(ms) => Value::Timestamp(i64::from(ms)),
                other => Value::Timestamp(as_long(&other).map_err(|_| ParseFailure)?),
            },
            _ => match value {
                Value::Int64(v) => Value::Int64(v),
                other => Value::Int64(as_long(&other).map_err(|_| ParseFailure)?),
            },
        },
        SchemaType::Float32 => match value {
            Value::Float32(v) => Value::Float32(v),
            other => Value::Float32(as_double(&other).map_err(|_| ParseFailure)? as f32),
        },
        SchemaType::Float64 => match value {
            Value::Float64(v) => Value::Float64(v),
            other => Value::Float64(as_double(&other).map_err(|_| ParseFailure)?),
        },
        SchemaType::Array => match value {
            Value::Array(a) => Value::Array(a),
            _ => return Err(ParseFailure),
        },
        SchemaType::Map => match value {
            Value::Map(m) => Value::Map(m),
            _ => return Err(ParseFailure),
        },
        SchemaType::Struct => return Err(ParseFailure),
    })
}

/// `Values.convertToString` (`Values.append` at the top level).
pub fn convert_to_string(value: &Value) -> String {
    let mut out = String::new();
    append(&mut out, value, false);
    out
}

fn append(out: &mut String, value: &Value, embedded: bool) {
    use base64::Engine as _;
    match value {
        Value::Null => out.push_str("null"),
        Value::String(s) => {
            if embedded {
                out.push('"');
                out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Bytes(b) => {
            let enc = base64::engine::general_purpose::STANDARD.encode(b);
            if embedded {
                out.push('"');
                out.push_str(&enc);
                out.push('"');
            } else {
                out.push_str(&enc);
            }
        }
        Value::Array(items) => {
            text::write_seq(out, ["[", ",", "]"], items, |out, item| {
                append(out, item, true)
            });
        }
        Value::Map(entries) => text::write_seq(out, ["{", ",", "}"], entries, |out, (k, v)| {
            append(out, k, true);
            out.push(':');
            append(out, v, true);
        }),
        Value::Struct(s) => text::write_seq(out, ["{", ",", "}"], s.schema().fields(), |out, f| {
            append(out, &Value::String(f.name.clone()), true);
            out.push(':');
            append(out, s.get_at(f.index), true);
        }),
        Value::Date(d) => out.push_str(&date::iso_format(i64::from(*d) * MILLIS_PER_DAY)),
        Value::Time(t) => out.push_str(&date::iso_format(i64::from(*t))),
        Value::Timestamp(t) => out.push_str(&date::iso_format(*t)),
        other => text::write_value(out, other),
    }
}

/// `Values.asLong(value, null, null)`; the error is the DataException
/// message.
pub fn as_long(value: &Value) -> Result<i64, String> {
    match value {
        Value::Int8(v) => Ok(i64::from(*v)),
        Value::Int16(v) => Ok(i64::from(*v)),
        Value::Int32(v) => Ok(i64::from(*v)),
        Value::Int64(v) => Ok(*v),
        // `(long) float` saturates, as Rust's `as` does.
        Value::Float32(v) => Ok(*v as i64),
        Value::Float64(v) => Ok(*v as i64),
        Value::Decimal(d) => Ok(number::decimal_long_value(d)),
        Value::String(s) => number::parse_big_decimal(s)
            .map(|d| number::decimal_long_value(&d))
            .ok_or_else(|| unable_to_convert(value)),
        other => Err(unable_to_convert(other)),
    }
}

/// `Values.asDouble(value, null, null)`.
pub fn as_double(value: &Value) -> Result<f64, String> {
    match value {
        Value::Int8(v) => Ok(f64::from(*v)),
        Value::Int16(v) => Ok(f64::from(*v)),
        Value::Int32(v) => Ok(f64::from(*v)),
        Value::Int64(v) => Ok(*v as f64),
        Value::Float32(v) => Ok(f64::from(*v)),
        Value::Float64(v) => Ok(*v),
        Value::Decimal(d) => Ok(number::decimal_double_value(d)),
        Value::String(s) => number::parse_big_decimal(s)
            .map(|d| number::decimal_double_value(&d))
            .ok_or_else(|| unable_to_convert(value)),
        other => as_long(other).map(|v| v as f64),
    }
}

fn unable_to_convert(value: &Value) -> String {
    format!(
        "Unable to convert {} ({}) to a number",
        text::to_string(value),
        text::class_display(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> (Option<String>, Value) {
        let sv = parse_string(s);
        (
            sv.schema.map(|s| format!("{:?}", s.schema_type())),
            sv.value,
        )
    }

    #[test]
    fn infers_primitive_types() {
        assert_eq!(parsed("42").1, Value::Int8(42));
        assert_eq!(parsed("300").1, Value::Int16(300));
        assert_eq!(parsed("1.5").1, Value::Float32(1.5));
        assert_eq!(parsed("1.0").1, Value::Int8(1));
        assert_eq!(parsed("true").1, Value::Boolean(true));
        assert_eq!(parsed("true}").1, Value::String("true}".into()));
        assert_eq!(parsed("hello world").1, Value::String("hello world".into()));
        assert_eq!(parsed("null").1, Value::Null);
        assert_eq!(parsed("2024-01-15").1, Value::Date(19_737));
        assert_eq!(parsed("12:34:56.789Z").1, Value::Time(45_296_789));
    }

    #[test]
    fn infers_containers() {
        assert_eq!(
            parsed("[1, 2.5]").1,
            Value::Array(vec![Value::Float32(1.0), Value::Float32(2.5)])
        );
        assert_eq!(
            parsed("{\"a\":1}").1,
            Value::Map(vec![(Value::String("a".into()), Value::Int8(1))])
        );
        // An array that fails to parse is a string.
        assert_eq!(parsed("[1,,2]").1, Value::String("[1,,2]".into()));
    }

    #[test]
    fn converts_containers_to_string() {
        let list = Value::Array(vec!["a\"b".into(), Value::Int32(1), Value::Null]);
        assert_eq!(convert_to_string(&list), r#"["a\"b",1,null]"#);
        let map = Value::Map(vec![("k".into(), list), ("e".into(), Value::Array(vec![]))]);
        assert_eq!(convert_to_string(&map), r#"{"k":["a\"b",1,null],"e":[]}"#);
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .build();
        let s = ferry_api::Struct::new(schema).unwrap().put("a", 7).unwrap();
        assert_eq!(convert_to_string(&Value::Struct(s)), r#"{"a":7,"b":null}"#);
        assert_eq!(convert_to_string(&"top".into()), "top");
    }
}
