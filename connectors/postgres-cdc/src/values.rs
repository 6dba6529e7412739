//! Column types to Connect schemas, and column values (in PostgreSQL's
//! text form) to Connect values, as Debezium's Postgres connector writes
//! them (`PostgresValueConverter`; see
//! `docs/reference/debezium-postgres-events.md`, "Column type mapping").

use ferry_api::data::{Decimal, Schema, SchemaBuilder, Struct, Value};

use crate::config::{BinaryHandlingMode, DecimalHandlingMode, TimePrecisionMode};
use crate::pgtext::{self, Instant, Numeric};

/// Built-in type OIDs (`pg_type.oid`), fixed across PostgreSQL versions.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
    pub const INT4RANGE: u32 = 3904;
    pub const NUMRANGE: u32 = 3906;
    pub const TSRANGE: u32 = 3908;
    pub const TSTZRANGE: u32 = 3910;
    pub const DATERANGE: u32 = 3912;
    pub const INT8RANGE: u32 = 3926;
}

/// The element type of a built-in array type, if the array is one
/// Debezium writes.
fn array_element(type_oid: u32) -> Option<u32> {
    Some(match type_oid {
        1000 => oid::BOOL,
        1001 => oid::BYTEA,
        1005 => oid::INT2,
        1007 => oid::INT4,
        1009 => oid::TEXT,
        1014 => oid::BPCHAR,
        1015 => oid::VARCHAR,
        1016 => oid::INT8,
        1021 => oid::FLOAT4,
        1022 => oid::FLOAT8,
        1041 => oid::INET,
        651 => oid::CIDR,
        1182 => oid::DATE,
        1183 => oid::TIME,
        1115 => oid::TIMESTAMP,
        1185 => oid::TIMESTAMPTZ,
        1231 => oid::NUMERIC,
        2951 => oid::UUID,
        199 => oid::JSON,
        3807 => oid::JSONB,
        _ => return None,
    })
}

/// How values are written: the `*.handling.mode` and
/// `time.precision.mode` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub decimal: DecimalHandlingMode,
    pub time_precision: TimePrecisionMode,
    pub binary: BinaryHandlingMode,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            decimal: DecimalHandlingMode::Precise,
            time_precision: TimePrecisionMode::Adaptive,
            binary: BinaryHandlingMode::Bytes,
        }
    }
}

/// A column's type, as a Relation message describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnType {
    pub oid: u32,
    /// `atttypmod`: -1 when the type has no modifier.
    pub typmod: i32,
}

impl ColumnType {
    /// `numeric(p, s)`: precision and scale, when declared.
    fn numeric_precision_scale(self) -> Option<(i32, i32)> {
        (self.typmod >= 4).then(|| {
            let t = self.typmod - 4;
            ((t >> 16) & 0xFFFF, t & 0xFFFF)
        })
    }

    /// Fractional digits of a time or timestamp type: 6 when not declared
    /// (as the JDBC driver reports them).
    fn time_precision(self) -> i32 {
        if self.typmod >= 0 {
            self.typmod
        } else {
            6
        }
    }

    /// `bit(n)` / `varbit(n)`: n, when declared.
    fn bit_length(self) -> Option<i32> {
        (self.typmod > 0).then_some(self.typmod)
    }
}

/// A value PostgreSQL sent that does not fit its column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error(transparent)]
    Text(#[from] pgtext::ParseError),
    #[error("the numeric value {0} does not fit the {1}")]
    Numeric(String, &'static str),
    #[error("{0}")]
    Other(String),
}

const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";

fn variable_scale_decimal_schema(optional: bool) -> Schema {
    SchemaBuilder::struct_()
        .name(VARIABLE_SCALE_DECIMAL)
        .version(1)
        .doc("Variable scaled decimal")
        .field("scale", Schema::int32())
        .field("value", Schema::bytes())
        .optional_if(optional)
        .build()
}

fn named(builder: SchemaBuilder, name: &str, optional: bool) -> Schema {
    builder.name(name).version(1).optional_if(optional).build()
}

fn string_named(name: &str, optional: bool) -> Schema {
    named(
        SchemaBuilder::new(ferry_api::data::SchemaType::String),
        name,
        optional,
    )
}

fn plain(t: ferry_api::data::SchemaType, optional: bool) -> Schema {
    SchemaBuilder::new(t).optional_if(optional).build()
}

/// The Connect schema of a column of `column`'s type, or `None` for a
/// type Debezium leaves out (unknown types, and arrays of types it has no
/// array form for).
pub fn column_schema(column: ColumnType, optional: bool, modes: &Modes) -> Option<Schema> {
    use ferry_api::data::SchemaType as T;
    let adaptive = matches!(
        modes.time_precision,
        TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds
    );
    Some(match column.oid {
        oid::BOOL => plain(T::Boolean, optional),
        oid::INT2 => plain(T::Int16, optional),
        oid::INT4 => plain(T::Int32, optional),
        oid::INT8 | oid::OID => plain(T::Int64, optional),
        oid::FLOAT4 => plain(T::Float32, optional),
        oid::FLOAT8 => plain(T::Float64, optional),
        oid::NUMERIC => match modes.decimal {
            DecimalHandlingMode::Precise => match column.numeric_precision_scale() {
                Some((p, s)) => SchemaBuilder::decimal(s)
                    .parameter("connect.decimal.precision", p.to_string())
                    .optional_if(optional)
                    .build(),
                None => variable_scale_decimal_schema(optional),
            },
            DecimalHandlingMode::String => plain(T::String, optional),
            DecimalHandlingMode::Double => plain(T::Float64, optional),
        },
        oid::MONEY => match modes.decimal {
            DecimalHandlingMode::Precise => SchemaBuilder::decimal(2).optional_if(optional).build(),
            DecimalHandlingMode::String => plain(T::String, optional),
            DecimalHandlingMode::Double => plain(T::Float64, optional),
        },
        oid::TEXT
        | oid::VARCHAR
        | oid::BPCHAR
        | oid::CHAR
        | oid::NAME
        | oid::INET
        | oid::CIDR
        | oid::MACADDR
        | oid::MACADDR8
        | oid::INT4RANGE
        | oid::INT8RANGE
        | oid::NUMRANGE
        | oid::TSRANGE
        | oid::TSTZRANGE
        | oid::DATERANGE => plain(T::String, optional),
        oid::BYTEA => match modes.binary {
            BinaryHandlingMode::Bytes => plain(T::Bytes, optional),
            _ => plain(T::String, optional),
        },
        oid::DATE if adaptive => named(
            SchemaBuilder::new(T::Int32),
            "io.debezium.time.Date",
            optional,
        ),
        oid::DATE => SchemaBuilder::date().optional_if(optional).build(),
        oid::TIME => match modes.time_precision {
            TimePrecisionMode::Adaptive if column.time_precision() <= 3 => named(
                SchemaBuilder::new(T::Int32),
                "io.debezium.time.Time",
                optional,
            ),
            TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds => named(
                SchemaBuilder::new(T::Int64),
                "io.debezium.time.MicroTime",
                optional,
            ),
            _ => SchemaBuilder::time().optional_if(optional).build(),
        },
        oid::TIMESTAMP if adaptive => {
            if column.time_precision() <= 3 {
                named(
                    SchemaBuilder::new(T::Int64),
                    "io.debezium.time.Timestamp",
                    optional,
                )
            } else {
                named(
                    SchemaBuilder::new(T::Int64),
                    "io.debezium.time.MicroTimestamp",
                    optional,
                )
            }
        }
        oid::TIMESTAMP => SchemaBuilder::timestamp().optional_if(optional).build(),
        oid::TIMESTAMPTZ => string_named("io.debezium.time.ZonedTimestamp", optional),
        oid::TIMETZ => string_named("io.debezium.time.ZonedTime", optional),
        oid::INTERVAL => named(
            SchemaBuilder::new(T::Int64),
            "io.debezium.time.MicroDuration",
            optional,
        ),
        oid::UUID => string_named("io.debezium.data.Uuid", optional),
        oid::JSON | oid::JSONB => string_named("io.debezium.data.Json", optional),
        oid::XML => string_named("io.debezium.data.Xml", optional),
        oid::BIT | oid::VARBIT => match column.bit_length() {
            Some(1) => plain(T::Boolean, optional),
            n => SchemaBuilder::new(T::Bytes)
                .name("io.debezium.data.Bits")
                .version(1)
                .parameter("length", n.unwrap_or(i32::MAX).to_string())
                .optional_if(optional)
                .build(),
        },
        other => {
            let element = array_element(other)?;
            let element = ColumnType {
                oid: element,
                typmod: column.typmod,
            };
            SchemaBuilder::array(column_schema(element, true, modes)?)
                .optional_if(optional)
                .build()
        }
    })
}

fn number<T: std::str::FromStr>(text: &str, kind: &'static str) -> Result<T, ValueError> {
    text.parse().map_err(|_| {
        ValueError::Text(pgtext::ParseError {
            kind,
            text: text.to_owned(),
        })
    })
}

/// A float as PostgreSQL writes it (`NaN`, `Infinity`, `-Infinity` too).
fn float(text: &str) -> Result<f64, ValueError> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => number(text, "float"),
    }
}

fn decimal(n: &Numeric, text: &str) -> Result<Decimal, ValueError> {
    match n {
        Numeric::Finite {
            negative,
            digits,
            scale,
        } => {
            let unscaled: i128 = digits.parse().map_err(|_| {
                ValueError::Numeric(text.to_owned(), "128 bits Ferry's decimals hold")
            })?;
            let scale = i32::try_from(*scale)
                .map_err(|_| ValueError::Numeric(text.to_owned(), "scale of a decimal"))?;
            Ok(Decimal::new(
                if *negative { -unscaled } else { unscaled },
                scale,
            ))
        }
        // Debezium fails the same way in precise mode.
        _ => Err(ValueError::Numeric(
            text.to_owned(),
            "precise decimal handling; use decimal.handling.mode=string or double",
        )),
    }
}

/// `value` without trailing zeros in its digits, as `BigDecimal.stripTrailingZeros`
/// (a negative scale is then reset to 0 by Debezium).
fn strip_trailing_zeros(d: Decimal) -> Decimal {
    let (mut unscaled, mut scale) = (d.unscaled, d.scale);
    while scale > 0 && unscaled != 0 && unscaled % 10 == 0 {
        unscaled /= 10;
        scale -= 1;
    }
    if unscaled == 0 {
        scale = 0;
    }
    Decimal::new(unscaled, scale)
}

/// The ISO-8601 date part as Java's `ISO_LOCAL_DATE` writes it: four year
/// digits at least, a sign beyond 9999 and before year 0.
fn iso_date(days: i64) -> String {
    let (year, month, day) = pgtext::civil_from_days(days);
    let year = if year > 9999 {
        format!("+{year}")
    } else if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!("{year}-{month:02}-{day:02}")
}

/// `HH:mm:ss` and `width` fraction digits (none for 0).
fn iso_time(micros_of_day: i64, width: usize) -> String {
    let (secs, frac) = (micros_of_day / 1_000_000, micros_of_day % 1_000_000);
    let hms = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if width == 0 {
        return hms;
    }
    let nanos = format!("{:09}", frac * 1000);
    format!("{hms}.{}", &nanos[..width.min(9)])
}

/// Java's `appendFraction(NANO_OF_SECOND, 0, 9, true)`: only the digits
/// needed, none for a whole second.
fn minimal_fraction(micros: i64) -> String {
    if micros == 0 {
        return String::new();
    }
    let nanos = format!("{:09}", micros * 1000);
    format!(".{}", nanos.trim_end_matches('0'))
}

/// `io.debezium.time.ZonedTimestamp`: UTC, exactly `precision` fraction
/// digits (Java's `ISO_OFFSET_DATE_TIME` for precision 0).
fn zoned_timestamp(utc_micros: i64, precision: i32) -> String {
    let days = utc_micros.div_euclid(86_400_000_000);
    let micros = utc_micros.rem_euclid(86_400_000_000);
    if precision <= 0 {
        let fraction = minimal_fraction(micros % 1_000_000);
        return format!("{}T{}{fraction}Z", iso_date(days), iso_time(micros, 0));
    }
    format!(
        "{}T{}Z",
        iso_date(days),
        iso_time(micros, usize::try_from(precision.min(9)).unwrap_or(6))
    )
}

/// `io.debezium.time.MicroDuration`: months of 30.4375 days, computed in
/// doubles in Debezium's order, truncated.
fn micro_duration(i: pgtext::Interval) -> i64 {
    let years = i.months / 12;
    let months = i.months % 12;
    let hours = i.micros / 3_600_000_000;
    let minutes = i.micros / 60_000_000 % 60;
    let micros_of_minute = i.micros % 60_000_000;
    // PGInterval's seconds: whole seconds plus microseconds / 1e6.
    let seconds =
        (micros_of_minute / 1_000_000) as f64 + (micros_of_minute % 1_000_000) as f64 / 1e6;
    let days = f64::from(years * 12 + months) * (365.25 / 12.0) + f64::from(i.days);
    let total_seconds = ((days * 24.0 + hours as f64) * 60.0 + minutes as f64) * 60.0 + seconds;
    (total_seconds * 1e6) as i64
}

/// `io.debezium.data.Bits`: bit 0 is the rightmost character, and the
/// bytes end at the highest bit set (Java's `BitSet.toByteArray`).
fn bits(text: &str) -> Result<Vec<u8>, ValueError> {
    let mut bytes = vec![0u8; text.len().div_ceil(8)];
    for (i, c) in text.bytes().rev().enumerate() {
        match c {
            b'1' => bytes[i / 8] |= 1 << (i % 8),
            b'0' => {}
            _ => return Err(ValueError::Other(format!("not a bit string: {text:?}"))),
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Ok(bytes)
}

fn binary(bytes: Vec<u8>, mode: BinaryHandlingMode) -> Value {
    use base64::Engine;
    match mode {
        BinaryHandlingMode::Bytes => Value::Bytes(bytes),
        BinaryHandlingMode::Base64 => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        BinaryHandlingMode::Base64UrlSafe => {
            Value::String(base64::engine::general_purpose::URL_SAFE.encode(bytes))
        }
        BinaryHandlingMode::Hex => {
            Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
        }
    }
}

/// The Connect value of one column value, given as text, for the schema
/// [`column_schema`] gives the column.
pub fn column_value(column: ColumnType, text: &str, modes: &Modes) -> Result<Value, ValueError> {
    let adaptive = matches!(
        modes.time_precision,
        TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds
    );
    Ok(match column.oid {
        oid::BOOL => Value::Boolean(pgtext::parse_bool(text)?),
        oid::INT2 => Value::Int16(number(text, "smallint")?),
        oid::INT4 => Value::Int32(number(text, "integer")?),
        oid::INT8 | oid::OID => Value::Int64(number(text, "bigint")?),
        oid::FLOAT4 => Value::Float32(float(text)? as f32),
        oid::FLOAT8 => Value::Float64(float(text)?),
        oid::NUMERIC => {
            let n = pgtext::parse_numeric(text)?;
            match modes.decimal {
                DecimalHandlingMode::String => Value::String(text.to_owned()),
                DecimalHandlingMode::Double => Value::Float64(float(text)?),
                DecimalHandlingMode::Precise => match column.numeric_precision_scale() {
                    Some((_, scale)) => Value::Decimal(
                        decimal(&n, text)?
                            .with_scale(scale)
                            .map_err(|e| ValueError::Other(e.to_string()))?,
                    ),
                    None => {
                        let d = strip_trailing_zeros(decimal(&n, text)?);
                        let s = Struct::new(variable_scale_decimal_schema(false))
                            .and_then(|s| s.put("scale", Value::Int32(d.scale)))
                            .and_then(|s| s.put("value", Value::Bytes(d.unscaled_bytes())))
                            .map_err(|e| ValueError::Other(e.to_string()))?;
                        Value::Struct(s)
                    }
                },
            }
        }
        oid::MONEY => {
            // `$1,234.56` in the server's lc_monetary; digits and sign only.
            let plain: String = text
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect();
            match modes.decimal {
                DecimalHandlingMode::String => Value::String(plain),
                DecimalHandlingMode::Double => Value::Float64(float(&plain)?),
                DecimalHandlingMode::Precise => Value::Decimal(
                    decimal(&pgtext::parse_numeric(&plain)?, text)?
                        .with_scale(2)
                        .map_err(|e| ValueError::Other(e.to_string()))?,
                ),
            }
        }
        oid::BYTEA => binary(pgtext::parse_bytea(text)?, modes.binary),
        oid::DATE => match pgtext::parse_date(text)? {
            Instant::Finite(days) => Value::Int32(days),
            // Not yet compared with what Debezium writes: refused rather
            // than guessed.
            _ => {
                return Err(ValueError::Other(format!(
                    "date {text} is not supported yet"
                )))
            }
        },
        oid::TIME => {
            let micros = pgtext::parse_time(text)?;
            match modes.time_precision {
                TimePrecisionMode::Adaptive if column.time_precision() <= 3 => {
                    Value::Int32((micros / 1000) as i32)
                }
                TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds => {
                    Value::Int64(micros)
                }
                _ => Value::Time((micros / 1000) as i32),
            }
        }
        oid::TIMESTAMP => match pgtext::parse_timestamp(text)? {
            Instant::Finite(micros) if adaptive && column.time_precision() > 3 => {
                Value::Int64(micros)
            }
            Instant::Finite(micros) if adaptive => Value::Int64(micros.div_euclid(1000)),
            Instant::Finite(micros) => Value::Timestamp(micros.div_euclid(1000)),
            _ => {
                return Err(ValueError::Other(format!(
                    "timestamp {text} has no epoch value"
                )))
            }
        },
        oid::TIMESTAMPTZ => match pgtext::parse_timestamptz(text)? {
            Instant::Finite(utc) => Value::String(zoned_timestamp(utc, column.time_precision())),
            Instant::Infinity => Value::String("infinity".into()),
            Instant::NegInfinity => Value::String("-infinity".into()),
        },
        oid::TIMETZ => {
            let (local, offset) = pgtext::parse_timetz(text)?;
            let utc = (local - i64::from(offset) * 1_000_000).rem_euclid(86_400_000_000);
            Value::String(format!(
                "{}{}Z",
                iso_time(utc, 0),
                minimal_fraction(utc % 1_000_000)
            ))
        }
        oid::INTERVAL => Value::Int64(micro_duration(pgtext::parse_interval(text)?)),
        oid::BIT | oid::VARBIT => match column.bit_length() {
            Some(1) => Value::Boolean(text == "1"),
            _ => Value::Bytes(bits(text)?),
        },
        other => match array_element(other) {
            Some(element) => {
                let element = ColumnType {
                    oid: element,
                    typmod: column.typmod,
                };
                let items = pgtext::parse_array(text)?
                    .into_iter()
                    .map(|item| match item {
                        None => Ok(Value::Null),
                        Some(t) => column_value(element, &t, modes),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Array(items)
            }
            // Strings: text, varchar, char, uuid, json, xml, network and
            // range types, written as PostgreSQL writes them.
            None => Value::String(text.to_owned()),
        },
    })
}

/// A column's default as Debezium puts it in the schema: a constant
/// `DEFAULT` (`'text'::type`, a number, `true`/`false`) in the column's
/// value form; `None` for an expression the connector cannot evaluate
/// (`nextval(…)`, `now()`, …) or a `NULL` default.
pub fn default_value(column: ColumnType, expression: &str, modes: &Modes) -> Option<Value> {
    let e = expression.trim();
    let literal = if let Some(rest) = e.strip_prefix('\'') {
        // 'text'::type, with '' for a quote inside.
        let mut text = String::new();
        let mut chars = rest.chars().peekable();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    text.push('\'');
                }
                '\'' => break,
                c => text.push(c),
            }
        }
        let after: String = chars.collect();
        if !(after.is_empty() || after.starts_with("::")) {
            return None;
        }
        text
    } else {
        // A number or a boolean, perhaps parenthesised or cast.
        let bare = e
            .trim_start_matches('(')
            .split("::")
            .next()?
            .trim_end_matches(')');
        let is_number = bare.trim_start_matches('-').chars().all(|c| {
            c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
        }) && bare.chars().any(|c| c.is_ascii_digit());
        match bare {
            // In the text form the stream writes.
            "true" => "t".to_owned(),
            "false" => "f".to_owned(),
            _ if is_number => bare.to_owned(),
            _ => return None,
        }
    };
    column_value(column, &literal, modes)
        .ok()
        .filter(|v| *v != Value::Null)
}

/// The value Debezium writes for a null in a column its schema says is
/// required: a delete's old row under `REPLICA IDENTITY DEFAULT` carries
/// only the key, and `JdbcValueConverters.convertValue` then gives the
/// schema's default, else its converter's fallback (zero, `false`, empty).
pub fn fallback(schema: &Schema) -> Value {
    use ferry_api::data::{logical, SchemaType};
    if let Some(v) = schema.default_value() {
        return v.clone();
    }
    match schema.name() {
        Some(logical::DECIMAL) => {
            let scale = schema
                .parameter(logical::DECIMAL_SCALE)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            return Value::Decimal(Decimal::new(0, scale));
        }
        Some(logical::DATE) => return Value::Date(0),
        Some(logical::TIME) => return Value::Time(0),
        Some(logical::TIMESTAMP) => return Value::Timestamp(0),
        Some(VARIABLE_SCALE_DECIMAL) => {
            if let Ok(s) = Struct::new(schema.clone())
                .and_then(|s| s.put("scale", Value::Int32(0)))
                .and_then(|s| s.put("value", Value::Bytes(vec![0])))
            {
                return Value::Struct(s);
            }
        }
        _ => {}
    }
    match schema.schema_type() {
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::Boolean => Value::Boolean(false),
        SchemaType::String => Value::String(String::new()),
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new()),
        SchemaType::Struct => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_defaults_are_read_and_expressions_left_out() {
        let modes = Modes::default();
        let t = |oid| ColumnType { oid, typmod: -1 };
        assert_eq!(
            default_value(t(oid::TEXT), "'it''s new'::text", &modes),
            Some(Value::String("it's new".into()))
        );
        assert_eq!(
            default_value(t(oid::INT4), "42", &modes),
            Some(Value::Int32(42))
        );
        assert_eq!(
            default_value(t(oid::INT4), "'-1'::integer", &modes),
            Some(Value::Int32(-1))
        );
        assert_eq!(
            default_value(t(oid::BOOL), "true", &modes),
            Some(Value::Boolean(true))
        );
        assert_eq!(
            default_value(t(oid::INT4), "nextval('t_id_seq'::regclass)", &modes),
            None
        );
        assert_eq!(default_value(t(oid::TIMESTAMPTZ), "now()", &modes), None);
        assert_eq!(default_value(t(oid::TEXT), "NULL::text", &modes), None);
    }

    #[test]
    fn a_required_column_without_a_value_gets_the_fallback() {
        let modes = Modes::default();
        let schema = |oid, typmod| {
            column_schema(ColumnType { oid, typmod }, false, &modes).expect("a known type")
        };
        assert_eq!(
            fallback(&schema(oid::TEXT, -1)),
            Value::String(String::new())
        );
        assert_eq!(fallback(&schema(oid::INT4, -1)), Value::Int32(0));
        assert_eq!(fallback(&schema(oid::BOOL, -1)), Value::Boolean(false));
        // numeric(10,2): a Decimal of scale 2.
        let numeric = schema(oid::NUMERIC, (10 << 16) + 2 + 4);
        assert_eq!(fallback(&numeric), Value::Decimal(Decimal::new(0, 2)));
    }

    fn value(oid: u32, typmod: i32, text: &str) -> Value {
        column_value(ColumnType { oid, typmod }, text, &Modes::default()).expect(text)
    }

    #[test]
    fn temporal_values_in_debeziums_forms() {
        assert_eq!(value(oid::DATE, -1, "1970-01-02"), Value::Int32(1));
        assert_eq!(value(oid::TIME, -1, "00:00:01.5"), Value::Int64(1_500_000));
        assert_eq!(value(oid::TIME, 3, "00:00:01.5"), Value::Int32(1_500));
        assert_eq!(
            value(oid::TIMESTAMP, -1, "1970-01-01 00:00:00.000001"),
            Value::Int64(1)
        );
        assert_eq!(
            value(oid::TIMESTAMP, 0, "1969-12-31 23:59:59"),
            Value::Int64(-1000)
        );
        assert_eq!(
            value(oid::TIMESTAMPTZ, -1, "2024-01-02 04:04:05.12+01"),
            Value::String("2024-01-02T03:04:05.120000Z".into())
        );
        assert_eq!(
            value(oid::TIMESTAMPTZ, 0, "2024-01-02 03:04:05+00"),
            Value::String("2024-01-02T03:04:05Z".into())
        );
        assert_eq!(
            value(oid::TIMESTAMPTZ, 3, "0044-03-15 12:00:00+00 BC"),
            Value::String("-0043-03-15T12:00:00.000Z".into())
        );
        assert_eq!(
            value(oid::TIMETZ, -1, "10:15:30.123+01:00"),
            Value::String("09:15:30.123Z".into())
        );
        assert_eq!(
            value(oid::TIMETZ, -1, "00:30:00+01"),
            Value::String("23:30:00Z".into())
        );
        // 1 mon 2 days 03:04:05.5 = (30.4375 + 2) days + 11045.5 s.
        assert_eq!(
            value(oid::INTERVAL, -1, "1 mon 2 days 03:04:05.5"),
            Value::Int64(2_813_645_500_000)
        );
    }

    #[test]
    fn numbers_bits_and_arrays() {
        let Value::Decimal(d) = value(oid::NUMERIC, ((10 << 16) | 3) + 4, "1.5") else {
            panic!("a decimal");
        };
        assert_eq!((d.unscaled, d.scale), (1500, 3));
        let Value::Struct(s) = value(oid::NUMERIC, -1, "12.3400") else {
            panic!("a variable scale decimal");
        };
        assert_eq!(s.get("scale"), Some(&Value::Int32(2)));
        assert_eq!(s.get("value"), Some(&Value::Bytes(vec![0x04, 0xD2])));
        assert!(column_value(
            ColumnType {
                oid: oid::NUMERIC,
                typmod: -1
            },
            "NaN",
            &Modes::default()
        )
        .is_err());
        assert_eq!(value(oid::BIT, 1, "1"), Value::Boolean(true));
        assert_eq!(value(oid::BIT, 10, "0000000011"), Value::Bytes(vec![3]));
        assert_eq!(value(oid::BIT, 10, "1000000000"), Value::Bytes(vec![0, 2]));
        assert_eq!(value(oid::VARBIT, 4, "0000"), Value::Bytes(vec![]));
        assert_eq!(
            value(1007, -1, "{1,NULL,3}"),
            Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)])
        );
        let schema = column_schema(
            ColumnType {
                oid: 1009,
                typmod: -1,
            },
            true,
            &Modes::default(),
        )
        .expect("text[] is written");
        assert!(schema.value_schema().is_some_and(|e| e.is_optional()));
        assert_eq!(
            column_schema(
                ColumnType {
                    oid: 1187,
                    typmod: -1
                },
                true,
                &Modes::default()
            ),
            None,
            "interval[] is left out"
        );
    }
}
