//! Column types → Connect schemas, and row values → Connect values, per
//! database. The mapping follows Confluent's dialects: exact numerics become
//! the Decimal logical type with the column's scale (or integers / doubles
//! under `numeric.mapping`), dates and times the Date / Time / Timestamp
//! logical types, json and uuid strings, arrays Connect arrays, binary
//! columns bytes, and nullable columns optional fields.

use bigdecimal::{BigDecimal, ToPrimitive};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use ferry_api::{Decimal, Schema, SchemaBuilder, SchemaType, Value};
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use crate::dialect::Dialect;
use crate::error::{JdbcError, Result};

/// `numeric.mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericMapping {
    #[default]
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

impl NumericMapping {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => NumericMapping::None,
            "precision_only" => NumericMapping::PrecisionOnly,
            "best_fit" => NumericMapping::BestFit,
            "best_fit_eager_double" => NumericMapping::BestFitEagerDouble,
            _ => return None,
        })
    }
}

/// Scale used for numerics declared without one (Postgres `numeric`):
/// Confluent uses 127, beyond what a 128-bit unscaled value can carry, so
/// Ferry keeps the most fractional digits that still leave 20 integer digits.
pub const UNCONSTRAINED_SCALE: i32 = 18;

/// How a column is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    /// MySQL unsigned integers, read widened.
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    Decimal {
        precision: i64,
        scale: i32,
    },
    Text,
    Json,
    Uuid,
    Bytes,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Array(Box<Kind>),
    /// Not mapped (Confluent skips such columns too, with a warning).
    Unsupported(String),
}

impl Kind {
    /// Classifies a database type name (catalog spelling or the driver's),
    /// with precision and scale for exact numerics when known.
    pub fn classify(
        dialect: Dialect,
        type_name: &str,
        precision: Option<i64>,
        scale: Option<i64>,
    ) -> Kind {
        let t = type_name.trim().to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or(&t).trim().to_owned();
        let unsigned = t.contains("unsigned");
        let decimal = || {
            let (p, s) = match (precision, scale) {
                (Some(p), Some(s)) if p > 0 => (p, s as i32),
                (Some(p), None) if p > 0 => (p, 0),
                _ => {
                    let (dp, ds) = crate::db::precision_scale(&t);
                    match dp {
                        Some(p) => (p, ds.unwrap_or(0) as i32),
                        None => (0, UNCONSTRAINED_SCALE),
                    }
                }
            };
            Kind::Decimal {
                precision: p,
                scale: s,
            }
        };
        if let Some(elem) = base.strip_prefix('_').or_else(|| base.strip_suffix("[]")) {
            if dialect == Dialect::Postgres {
                return Kind::Array(Box::new(Kind::classify(dialect, elem, None, None)));
            }
        }
        match dialect {
            Dialect::MySql => match base.split_whitespace().next().unwrap_or_default() {
                "tinyint" if t.starts_with("tinyint(1)") && !unsigned => Kind::Bool,
                "boolean" | "bool" => Kind::Bool,
                "tinyint" if unsigned => Kind::UInt8,
                "tinyint" => Kind::Int8,
                "smallint" if unsigned => Kind::UInt16,
                "smallint" | "year" => Kind::Int16,
                "mediumint" | "int" | "integer" if unsigned => Kind::UInt32,
                "mediumint" | "int" | "integer" => Kind::Int32,
                "bigint" if unsigned => Kind::UInt64,
                "bigint" => Kind::Int64,
                "float" => Kind::Float32,
                "double" | "real" => Kind::Float64,
                "decimal" | "numeric" => decimal(),
                "char" | "varchar" | "text" | "tinytext" | "mediumtext" | "longtext" | "enum"
                | "set" => Kind::Text,
                "json" => Kind::Json,
                "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob"
                | "bit" => Kind::Bytes,
                "date" => Kind::Date,
                "time" => Kind::Time,
                "datetime" => Kind::Timestamp,
                "timestamp" => Kind::TimestampTz,
                _ => Kind::Unsupported(t),
            },
            Dialect::Postgres => match base.as_str() {
                "bool" | "boolean" => Kind::Bool,
                "int2" | "smallint" | "smallserial" => Kind::Int16,
                "int4" | "integer" | "int" | "serial" => Kind::Int32,
                "int8" | "bigint" | "bigserial" | "oid" => Kind::Int64,
                "float4" | "real" => Kind::Float32,
                "float8" | "double precision" => Kind::Float64,
                "numeric" | "decimal" => decimal(),
                "text" | "varchar" | "character varying" | "bpchar" | "character" | "char"
                | "name" | "citext" => Kind::Text,
                "json" | "jsonb" => Kind::Json,
                "uuid" => Kind::Uuid,
                "bytea" => Kind::Bytes,
                "date" => Kind::Date,
                "time" | "time without time zone" => Kind::Time,
                "timestamp" | "timestamp without time zone" => Kind::Timestamp,
                "timestamptz" | "timestamp with time zone" => Kind::TimestampTz,
                _ => Kind::Unsupported(t),
            },
            // SQLite: type affinity rules on the declared type, with the
            // date/time/boolean/decimal names applications declare.
            Dialect::Sqlite => {
                if base.is_empty() {
                    Kind::Bytes
                } else if base == "boolean" || base == "bool" {
                    Kind::Bool
                } else if base == "date" {
                    Kind::Date
                } else if base == "time" {
                    Kind::Time
                } else if base == "datetime" || base.starts_with("timestamp") {
                    Kind::Timestamp
                } else if base == "decimal" || base == "numeric" {
                    decimal()
                } else if base.contains("int") {
                    Kind::Int64
                } else if base.contains("char") || base.contains("clob") || base.contains("text") {
                    Kind::Text
                } else if base.contains("json") {
                    Kind::Json
                } else if base.contains("blob") {
                    Kind::Bytes
                } else if base.contains("real") || base.contains("floa") || base.contains("doub") {
                    Kind::Float64
                } else {
                    decimal()
                }
            }
        }
    }

    /// The Connect schema of a column of this kind.
    pub fn schema(&self, optional: bool, mapping: NumericMapping) -> Option<Schema> {
        let b = match self {
            Kind::Bool => SchemaBuilder::new(SchemaType::Boolean),
            Kind::Int8 => SchemaBuilder::new(SchemaType::Int8),
            Kind::Int16 | Kind::UInt8 => SchemaBuilder::new(SchemaType::Int16),
            Kind::Int32 | Kind::UInt16 => SchemaBuilder::new(SchemaType::Int32),
            Kind::Int64 | Kind::UInt32 => SchemaBuilder::new(SchemaType::Int64),
            Kind::UInt64 => SchemaBuilder::decimal(0),
            Kind::Float32 => SchemaBuilder::new(SchemaType::Float32),
            Kind::Float64 => SchemaBuilder::new(SchemaType::Float64),
            Kind::Decimal { precision, scale } => match numeric_target(*precision, *scale, mapping)
            {
                NumericTarget::Int(t) => SchemaBuilder::new(t),
                NumericTarget::Double => SchemaBuilder::new(SchemaType::Float64),
                NumericTarget::Decimal => SchemaBuilder::decimal(*scale),
            },
            Kind::Text | Kind::Json | Kind::Uuid => SchemaBuilder::new(SchemaType::String),
            Kind::Bytes => SchemaBuilder::new(SchemaType::Bytes),
            Kind::Date => SchemaBuilder::date(),
            Kind::Time => SchemaBuilder::time(),
            Kind::Timestamp | Kind::TimestampTz => SchemaBuilder::timestamp(),
            Kind::Array(elem) => SchemaBuilder::array(elem.schema(true, mapping)?),
            Kind::Unsupported(_) => return None,
        };
        Some(b.optional_if(optional).build())
    }
}

enum NumericTarget {
    Int(SchemaType),
    Double,
    Decimal,
}

/// Confluent's `numeric.mapping` decision for a NUMERIC(precision, scale).
fn numeric_target(precision: i64, scale: i32, mapping: NumericMapping) -> NumericTarget {
    let int_for = |p: i64| {
        NumericTarget::Int(if p > 9 {
            SchemaType::Int64
        } else if p > 4 {
            SchemaType::Int32
        } else if p > 2 {
            SchemaType::Int16
        } else {
            SchemaType::Int8
        })
    };
    let known = precision > 0;
    match mapping {
        NumericMapping::None => NumericTarget::Decimal,
        NumericMapping::PrecisionOnly => {
            if known && scale == 0 && precision < 19 {
                int_for(precision)
            } else {
                NumericTarget::Decimal
            }
        }
        NumericMapping::BestFit => {
            if known && precision < 19 && scale == 0 {
                int_for(precision)
            } else if known && precision < 19 && scale > 0 {
                NumericTarget::Double
            } else {
                NumericTarget::Decimal
            }
        }
        NumericMapping::BestFitEagerDouble => {
            if known && precision < 19 && scale == 0 {
                int_for(precision)
            } else if scale > 0 {
                NumericTarget::Double
            } else {
                NumericTarget::Decimal
            }
        }
    }
}

fn data_err(column: &str, e: impl std::fmt::Display) -> JdbcError {
    JdbcError::Data(format!("cannot read column {column}: {e}"))
}

pub fn date_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

pub fn time_millis(t: NaiveTime) -> i32 {
    (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32
}

pub fn timestamp_millis(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

/// A decimal read from the database, brought to the schema's form.
fn decimal_value(
    column: &str,
    d: BigDecimal,
    precision: i64,
    scale: i32,
    mapping: NumericMapping,
) -> Result<Value> {
    match numeric_target(precision, scale, mapping) {
        NumericTarget::Double => Ok(Value::Float64(d.to_f64().unwrap_or(f64::NAN))),
        NumericTarget::Int(t) => {
            let v = d
                .to_i64()
                .ok_or_else(|| data_err(column, format!("{d} is not an integer")))?;
            Ok(match t {
                SchemaType::Int8 => Value::Int8(v as i8),
                SchemaType::Int16 => Value::Int16(v as i16),
                SchemaType::Int32 => Value::Int32(v as i32),
                _ => Value::Int64(v),
            })
        }
        NumericTarget::Decimal => Ok(Value::Decimal(to_decimal(column, &d, scale)?)),
    }
}

/// Rounds half-up to `scale` (Confluent sets the column's scale the same way).
pub fn to_decimal(column: &str, d: &BigDecimal, scale: i32) -> Result<Decimal> {
    let scaled = d.with_scale_round(scale as i64, bigdecimal::RoundingMode::HalfUp);
    let (int, _) = scaled.as_bigint_and_exponent();
    let unscaled = int
        .to_i128()
        .ok_or_else(|| data_err(column, format!("{d} exceeds 38 digits")))?;
    Ok(Decimal::new(unscaled, scale))
}

/// The inverse, for binding.
pub fn from_decimal(d: &Decimal) -> BigDecimal {
    BigDecimal::new(
        bigdecimal::num_bigint::BigInt::from(d.unscaled),
        d.scale as i64,
    )
}

macro_rules! opt {
    ($row:expr, $i:expr, $t:ty, $name:expr) => {
        $row.try_get::<Option<$t>, _>($i)
            .map_err(|e| data_err($name, e))?
    };
}

macro_rules! array {
    ($row:expr, $i:expr, $t:ty, $name:expr, $f:expr) => {
        opt!($row, $i, Vec<Option<$t>>, $name).map(|v| {
            Value::Array(
                v.into_iter()
                    .map(|x| x.map($f).unwrap_or(Value::Null))
                    .collect(),
            )
        })
    };
}

/// Reads column `i` of a Postgres row.
pub fn pg_value(
    row: &PgRow,
    i: usize,
    name: &str,
    kind: &Kind,
    mapping: NumericMapping,
) -> Result<Value> {
    let v: Option<Value> = match kind {
        Kind::Bool => opt!(row, i, bool, name).map(Value::Boolean),
        Kind::Int8 | Kind::Int16 => opt!(row, i, i16, name).map(Value::Int16),
        Kind::Int32 => opt!(row, i, i32, name).map(Value::Int32),
        Kind::Int64 => opt!(row, i, i64, name).map(Value::Int64),
        Kind::Float32 => opt!(row, i, f32, name).map(Value::Float32),
        Kind::Float64 => opt!(row, i, f64, name).map(Value::Float64),
        Kind::Decimal { precision, scale } => match opt!(row, i, BigDecimal, name) {
            Some(d) => Some(decimal_value(name, d, *precision, *scale, mapping)?),
            None => None,
        },
        Kind::Text => opt!(row, i, String, name).map(Value::String),
        Kind::Json => opt!(row, i, serde_json::Value, name).map(|j| Value::String(j.to_string())),
        Kind::Uuid => opt!(row, i, uuid::Uuid, name).map(|u| Value::String(u.to_string())),
        Kind::Bytes => opt!(row, i, Vec<u8>, name).map(Value::Bytes),
        Kind::Date => opt!(row, i, NaiveDate, name).map(|d| Value::Date(date_days(d))),
        Kind::Time => opt!(row, i, NaiveTime, name).map(|t| Value::Time(time_millis(t))),
        Kind::Timestamp => {
            opt!(row, i, NaiveDateTime, name).map(|t| Value::Timestamp(timestamp_millis(t)))
        }
        Kind::TimestampTz => {
            opt!(row, i, DateTime<Utc>, name).map(|t| Value::Timestamp(t.timestamp_millis()))
        }
        Kind::Array(elem) => match elem.as_ref() {
            Kind::Bool => array!(row, i, bool, name, Value::Boolean),
            Kind::Int8 | Kind::Int16 => array!(row, i, i16, name, Value::Int16),
            Kind::Int32 => array!(row, i, i32, name, Value::Int32),
            Kind::Int64 => array!(row, i, i64, name, Value::Int64),
            Kind::Float32 => array!(row, i, f32, name, Value::Float32),
            Kind::Float64 => array!(row, i, f64, name, Value::Float64),
            Kind::Text => array!(row, i, String, name, Value::String),
            Kind::Uuid => array!(row, i, uuid::Uuid, name, |u: uuid::Uuid| Value::String(
                u.to_string()
            )),
            Kind::Date => array!(row, i, NaiveDate, name, |d| Value::Date(date_days(d))),
            Kind::Timestamp => array!(row, i, NaiveDateTime, name, |t| Value::Timestamp(
                timestamp_millis(t)
            )),
            Kind::TimestampTz => {
                array!(row, i, DateTime<Utc>, name, |t: DateTime<Utc>| {
                    Value::Timestamp(t.timestamp_millis())
                })
            }
            Kind::Decimal { scale, .. } => {
                let scale = *scale;
                match opt!(row, i, Vec<Option<BigDecimal>>, name) {
                    Some(v) => {
                        let mut out = Vec::with_capacity(v.len());
                        for x in v {
                            out.push(match x {
                                Some(d) => Value::Decimal(to_decimal(name, &d, scale)?),
                                None => Value::Null,
                            });
                        }
                        Some(Value::Array(out))
                    }
                    None => None,
                }
            }
            other => {
                return Err(data_err(
                    name,
                    format!("arrays of {other:?} are not supported"),
                ))
            }
        },
        Kind::UInt8 | Kind::UInt16 | Kind::UInt32 | Kind::UInt64 | Kind::Unsupported(_) => {
            return Err(data_err(name, format!("unsupported type {kind:?}")))
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

/// Reads column `i` of a MySQL / MariaDB row.
pub fn mysql_value(
    row: &MySqlRow,
    i: usize,
    name: &str,
    kind: &Kind,
    mapping: NumericMapping,
) -> Result<Value> {
    let v: Option<Value> = match kind {
        Kind::Bool => opt!(row, i, bool, name).map(Value::Boolean),
        Kind::Int8 => opt!(row, i, i8, name).map(Value::Int8),
        Kind::Int16 => opt!(row, i, i16, name).map(Value::Int16),
        Kind::Int32 => opt!(row, i, i32, name).map(Value::Int32),
        Kind::Int64 => opt!(row, i, i64, name).map(Value::Int64),
        Kind::UInt8 => opt!(row, i, u8, name).map(|v| Value::Int16(v as i16)),
        Kind::UInt16 => opt!(row, i, u16, name).map(|v| Value::Int32(v as i32)),
        Kind::UInt32 => opt!(row, i, u32, name).map(|v| Value::Int64(v as i64)),
        Kind::UInt64 => opt!(row, i, u64, name).map(|v| Value::Decimal(Decimal::new(v as i128, 0))),
        Kind::Float32 => opt!(row, i, f32, name).map(Value::Float32),
        Kind::Float64 => opt!(row, i, f64, name).map(Value::Float64),
        Kind::Decimal { precision, scale } => match opt!(row, i, BigDecimal, name) {
            Some(d) => Some(decimal_value(name, d, *precision, *scale, mapping)?),
            None => None,
        },
        Kind::Text => opt!(row, i, String, name).map(Value::String),
        Kind::Json => opt!(row, i, serde_json::Value, name).map(|j| Value::String(j.to_string())),
        Kind::Uuid => opt!(row, i, String, name).map(Value::String),
        Kind::Bytes => opt!(row, i, Vec<u8>, name).map(Value::Bytes),
        Kind::Date => opt!(row, i, NaiveDate, name).map(|d| Value::Date(date_days(d))),
        Kind::Time => opt!(row, i, NaiveTime, name).map(|t| Value::Time(time_millis(t))),
        Kind::Timestamp => {
            opt!(row, i, NaiveDateTime, name).map(|t| Value::Timestamp(timestamp_millis(t)))
        }
        Kind::TimestampTz => {
            opt!(row, i, DateTime<Utc>, name).map(|t| Value::Timestamp(t.timestamp_millis()))
        }
        Kind::Array(_) | Kind::Unsupported(_) => {
            return Err(data_err(name, format!("unsupported type {kind:?}")))
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

/// Reads column `i` of a SQLite row. SQLite stores any value in any
/// column, so the stored class decides how a declared type is read.
pub fn sqlite_value(
    row: &SqliteRow,
    i: usize,
    name: &str,
    kind: &Kind,
    mapping: NumericMapping,
) -> Result<Value> {
    let raw = row.try_get_raw(i).map_err(|e| data_err(name, e))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let stored = raw.type_info().name().to_ascii_uppercase();
    let v = match kind {
        Kind::Bool => Value::Boolean(opt!(row, i, i64, name).unwrap_or(0) != 0),
        Kind::Int8
        | Kind::Int16
        | Kind::Int32
        | Kind::Int64
        | Kind::UInt8
        | Kind::UInt16
        | Kind::UInt32 => Value::Int64(opt!(row, i, i64, name).unwrap_or(0)),
        Kind::Float32 | Kind::Float64 => Value::Float64(opt!(row, i, f64, name).unwrap_or(0.0)),
        Kind::Decimal { .. } | Kind::UInt64 => {
            let (precision, scale) = match kind {
                Kind::Decimal { precision, scale } => (*precision, *scale),
                _ => (20, 0),
            };
            let d = match stored.as_str() {
                "INTEGER" => BigDecimal::from(opt!(row, i, i64, name).unwrap_or(0)),
                "REAL" => {
                    let f = opt!(row, i, f64, name).unwrap_or(0.0);
                    // Through the shortest text form: 12.1 stays 12.1.
                    f.to_string()
                        .parse::<BigDecimal>()
                        .map_err(|e| data_err(name, e))?
                }
                _ => {
                    let s = opt!(row, i, String, name).unwrap_or_default();
                    s.trim()
                        .parse::<BigDecimal>()
                        .map_err(|e| data_err(name, e))?
                }
            };
            decimal_value(name, d, precision, scale, mapping)?
        }
        Kind::Text | Kind::Json | Kind::Uuid => match stored.as_str() {
            "INTEGER" => Value::String(opt!(row, i, i64, name).unwrap_or(0).to_string()),
            "REAL" => Value::String(opt!(row, i, f64, name).unwrap_or(0.0).to_string()),
            "BLOB" => Value::String(
                String::from_utf8_lossy(&opt!(row, i, Vec<u8>, name).unwrap_or_default())
                    .into_owned(),
            ),
            _ => Value::String(opt!(row, i, String, name).unwrap_or_default()),
        },
        Kind::Bytes => match stored.as_str() {
            "TEXT" => Value::Bytes(opt!(row, i, String, name).unwrap_or_default().into_bytes()),
            "INTEGER" => Value::Bytes(
                opt!(row, i, i64, name)
                    .unwrap_or(0)
                    .to_string()
                    .into_bytes(),
            ),
            "REAL" => Value::Bytes(
                opt!(row, i, f64, name)
                    .unwrap_or(0.0)
                    .to_string()
                    .into_bytes(),
            ),
            _ => Value::Bytes(opt!(row, i, Vec<u8>, name).unwrap_or_default()),
        },
        Kind::Date => match sqlite_datetime(row, i, name, &stored)? {
            Some(t) => Value::Date(date_days(t.date())),
            None => Value::Date(date_days(opt!(row, i, NaiveDate, name).unwrap_or_default())),
        },
        Kind::Time => Value::Time(time_millis(
            opt!(row, i, NaiveTime, name).unwrap_or_default(),
        )),
        Kind::Timestamp | Kind::TimestampTz => match sqlite_datetime(row, i, name, &stored)? {
            Some(t) => Value::Timestamp(timestamp_millis(t)),
            None => return Err(data_err(name, "not a timestamp")),
        },
        _ => return Err(data_err(name, format!("unsupported type {kind:?}"))),
    };
    Ok(v)
}

/// A SQLite timestamp: text in the usual formats, or epoch milliseconds
/// (how Ferry's sink stores Connect timestamps in NUMERIC columns).
pub fn sqlite_datetime(
    row: &SqliteRow,
    i: usize,
    name: &str,
    stored: &str,
) -> Result<Option<NaiveDateTime>> {
    match stored {
        "INTEGER" => {
            let ms = opt!(row, i, i64, name).unwrap_or(0);
            Ok(DateTime::from_timestamp_millis(ms).map(|t| t.naive_utc()))
        }
        "REAL" => {
            let ms = opt!(row, i, f64, name).unwrap_or(0.0) as i64;
            Ok(DateTime::from_timestamp_millis(ms).map(|t| t.naive_utc()))
        }
        _ => {
            let s = opt!(row, i, String, name).unwrap_or_default();
            Ok(parse_text_timestamp(&s))
        }
    }
}

pub fn parse_text_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// A timestamp column at full precision, for the source offset.
pub fn pg_timestamp(
    row: &PgRow,
    i: usize,
    name: &str,
    kind: &Kind,
) -> Result<Option<NaiveDateTime>> {
    Ok(match kind {
        Kind::TimestampTz => opt!(row, i, DateTime<Utc>, name).map(|t| t.naive_utc()),
        Kind::Date => opt!(row, i, NaiveDate, name).and_then(|d| d.and_hms_opt(0, 0, 0)),
        _ => opt!(row, i, NaiveDateTime, name),
    })
}

pub fn mysql_timestamp(
    row: &MySqlRow,
    i: usize,
    name: &str,
    kind: &Kind,
) -> Result<Option<NaiveDateTime>> {
    Ok(match kind {
        Kind::TimestampTz => opt!(row, i, DateTime<Utc>, name).map(|t| t.naive_utc()),
        Kind::Date => opt!(row, i, NaiveDate, name).and_then(|d| d.and_hms_opt(0, 0, 0)),
        _ => opt!(row, i, NaiveDateTime, name),
    })
}

pub fn sqlite_timestamp(row: &SqliteRow, i: usize, name: &str) -> Result<Option<NaiveDateTime>> {
    let raw = row.try_get_raw(i).map_err(|e| data_err(name, e))?;
    if raw.is_null() {
        return Ok(None);
    }
    let stored = raw.type_info().name().to_ascii_uppercase();
    sqlite_datetime(row, i, name, &stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::data::logical;

    #[test]
    fn postgres_types_map_like_confluent() {
        let d = Dialect::Postgres;
        let dec = Kind::classify(d, "numeric", Some(10), Some(2));
        assert_eq!(
            dec,
            Kind::Decimal {
                precision: 10,
                scale: 2
            }
        );
        let s = dec.schema(false, NumericMapping::None).unwrap();
        assert_eq!(s.name(), Some(logical::DECIMAL));
        assert_eq!(s.parameter("scale"), Some("2"));
        assert!(!s.is_optional());
        assert_eq!(
            dec.schema(true, NumericMapping::BestFit)
                .unwrap()
                .schema_type(),
            SchemaType::Float64
        );
        let int = Kind::classify(d, "numeric", Some(9), Some(0));
        assert_eq!(
            int.schema(true, NumericMapping::PrecisionOnly)
                .unwrap()
                .schema_type(),
            SchemaType::Int32
        );
        assert_eq!(
            int.schema(true, NumericMapping::None).unwrap().name(),
            Some(logical::DECIMAL)
        );
        assert_eq!(
            Kind::classify(d, "timestamp without time zone", None, None)
                .schema(true, NumericMapping::None)
                .unwrap()
                .name(),
            Some(logical::TIMESTAMP)
        );
        assert_eq!(Kind::classify(d, "jsonb", None, None), Kind::Json);
        assert_eq!(
            Kind::classify(d, "_int4", None, None),
            Kind::Array(Box::new(Kind::Int32))
        );
        assert_eq!(
            Kind::classify(d, "INT4[]", None, None),
            Kind::Array(Box::new(Kind::Int32))
        );
        assert_eq!(
            Kind::classify(d, "numeric", None, None),
            Kind::Decimal {
                precision: 0,
                scale: UNCONSTRAINED_SCALE
            }
        );
        let arr = Kind::classify(d, "_text", None, None)
            .schema(false, NumericMapping::None)
            .unwrap();
        assert_eq!(arr.schema_type(), SchemaType::Array);
        assert!(arr.value_schema().unwrap().is_optional());
    }

    #[test]
    fn mysql_and_sqlite_types() {
        assert_eq!(
            Kind::classify(Dialect::MySql, "tinyint(1)", None, None),
            Kind::Bool
        );
        assert_eq!(
            Kind::classify(Dialect::MySql, "int(10) unsigned", None, None),
            Kind::UInt32
        );
        assert_eq!(
            Kind::classify(Dialect::MySql, "decimal(12,3)", Some(12), Some(3)),
            Kind::Decimal {
                precision: 12,
                scale: 3
            }
        );
        assert_eq!(
            Kind::classify(Dialect::MySql, "datetime(6)", None, None),
            Kind::Timestamp
        );
        assert_eq!(
            Kind::classify(Dialect::Sqlite, "numeric(10,2)", Some(10), Some(2)),
            Kind::Decimal {
                precision: 10,
                scale: 2
            }
        );
        assert_eq!(
            Kind::classify(Dialect::Sqlite, "varchar(20)", Some(20), None),
            Kind::Text
        );
        assert_eq!(
            Kind::classify(Dialect::Sqlite, "bigint", None, None),
            Kind::Int64
        );
        assert_eq!(
            Kind::classify(Dialect::Sqlite, "timestamp", None, None),
            Kind::Timestamp
        );
    }

    #[test]
    fn decimals_round_half_up_to_the_column_scale() {
        let d: BigDecimal = "12.345".parse().unwrap();
        assert_eq!(to_decimal("c", &d, 2).unwrap(), Decimal::new(1235, 2));
        assert_eq!(from_decimal(&Decimal::new(-1250, 2)).to_string(), "-12.50");
        assert_eq!(date_days(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), 1);
        assert_eq!(
            time_millis(NaiveTime::from_hms_milli_opt(0, 0, 1, 5).unwrap()),
            1005
        );
    }
}
