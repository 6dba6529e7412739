//! Kafka Connect's data model: `Schema`, `Value`, `Struct` and the logical
//! types Decimal, Date, Time and Timestamp.
//!
//! Schemas are immutable and shared (`Arc`), so records carrying the same
//! schema cost a pointer copy, as in Kafka Connect.
//!
//! ```
//! use ferry_api::{Schema, SchemaBuilder, Struct, Value};
//!
//! // Build a schema once (per table, say) and share it between records.
//! let schema = SchemaBuilder::struct_()
//!     .name("com.example.User")
//!     .field("id", Schema::int64())
//!     .field("email", Schema::optional_string())
//!     .build();
//! let user = Struct::new(schema.clone())?
//!     .put("id", 42i64)?
//!     .put("email", "a@example.com")?;
//! user.validate()?;
//! assert_eq!(user.get("id"), Some(&Value::Int64(42)));
//! // A value of the wrong type is refused with Kafka Connect's message.
//! assert!(Struct::new(schema)?.put("id", "x").is_err());
//! # Ok::<(), ferry_api::DataError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use crate::error::DataError;

/// Logical type names, as Kafka Connect writes them.
pub mod logical {
    /// `Decimal.LOGICAL_NAME`: BYTES holding a [`Decimal`](super::Decimal)'s
    /// unscaled value, with its scale as the `scale` parameter.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// `Date.LOGICAL_NAME`: INT32 days since the epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `Time.LOGICAL_NAME`: INT32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `Timestamp.LOGICAL_NAME`: INT64 milliseconds since the epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// The parameter holding a Decimal's scale.
    pub const DECIMAL_SCALE: &str = "scale";
}

/// A schema's type (Kafka Connect's `Schema.Type`). Logical types (decimal,
/// date, time, timestamp) are one of these plus a schema name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    /// A signed 8-bit integer.
    Int8,
    /// A signed 16-bit integer.
    Int16,
    /// A signed 32-bit integer.
    Int32,
    /// A signed 64-bit integer.
    Int64,
    /// A 32-bit floating point number.
    Float32,
    /// A 64-bit floating point number.
    Float64,
    /// A boolean.
    Boolean,
    /// UTF-8 text.
    String,
    /// A byte sequence.
    Bytes,
    /// A sequence of values of one schema (the value schema).
    Array,
    /// Pairs of keys and values, each of one schema.
    Map,
    /// Named fields, each with its own schema.
    Struct,
}

impl SchemaType {
    /// The lower-case name used in JSON schemas (`float32` is written `float`
    /// by the JsonConverter; see there).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float32",
            SchemaType::Float64 => "float64",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// Whether values of this type hold no other values (every type but
    /// ARRAY, MAP and STRUCT).
    pub fn is_primitive(self) -> bool {
        !matches!(
            self,
            SchemaType::Array | SchemaType::Map | SchemaType::Struct
        )
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_uppercase())
    }
}

/// A field of a struct schema (Kafka Connect's `Field`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its position among the struct's fields, from 0.
    pub index: usize,
    /// The schema of its values.
    pub schema: Schema,
}

#[derive(Debug, PartialEq)]
struct SchemaInner {
    schema_type: SchemaType,
    optional: bool,
    default: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    /// Insertion-ordered, as Kafka Connect's `LinkedHashMap`.
    parameters: Option<Vec<(String, String)>>,
    fields: Vec<Field>,
    key_schema: Option<Schema>,
    value_schema: Option<Schema>,
}

/// An immutable, cheaply cloned schema (Kafka Connect's `Schema`): a type,
/// whether null is allowed, an optional default, name, version and
/// documentation, and the schemas of what it contains. Build one with
/// [`SchemaBuilder`]; the constructors below give the common primitive
/// ones (Kafka Connect's `Schema.INT32_SCHEMA` and so on).
#[derive(Clone, PartialEq)]
pub struct Schema(Arc<SchemaInner>);

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schema{{{}", self.schema_type())?;
        if let Some(n) = self.name() {
            write!(f, " {n}")?;
        }
        if self.is_optional() {
            f.write_str(" optional")?;
        }
        f.write_str("}")
    }
}

impl Schema {
    /// `type()`.
    pub fn schema_type(&self) -> SchemaType {
        self.0.schema_type
    }
    /// `isOptional()`: whether a value may be null.
    pub fn is_optional(&self) -> bool {
        self.0.optional
    }
    /// `defaultValue()`: the value a null stands for, if any.
    pub fn default_value(&self) -> Option<&Value> {
        self.0.default.as_ref()
    }
    /// `name()`: the schema's name, e.g. a record type's or a logical
    /// type's ([`logical`]).
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// `version()`.
    pub fn version(&self) -> Option<i32> {
        self.0.version
    }
    /// `doc()`.
    pub fn doc(&self) -> Option<&str> {
        self.0.doc.as_deref()
    }
    /// `parameters()`, in insertion order.
    pub fn parameters(&self) -> Option<&[(String, String)]> {
        self.0.parameters.as_deref()
    }
    /// The parameter named `key`.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Whether `self` and `other` are clones of one schema (the same
    /// shared allocation): a cheap test that implies `self == other`.
    pub fn same_instance(&self, other: &Schema) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
    /// `fields()`: a struct schema's fields in order; empty for other
    /// types.
    pub fn fields(&self) -> &[Field] {
        &self.0.fields
    }
    /// `field(name)`: a struct schema's field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.fields.iter().find(|f| f.name == name)
    }
    /// `keySchema()`: a map schema's key schema.
    pub fn key_schema(&self) -> Option<&Schema> {
        self.0.key_schema.as_ref()
    }
    /// `valueSchema()`: a map schema's value schema, or an array schema's
    /// item schema.
    pub fn value_schema(&self) -> Option<&Schema> {
        self.0.value_schema.as_ref()
    }

    /// Builds a new schema starting from this one's settings.
    pub fn to_builder(&self) -> SchemaBuilder {
        let i = &self.0;
        SchemaBuilder {
            inner: SchemaInner {
                schema_type: i.schema_type,
                optional: i.optional,
                default: i.default.clone(),
                name: i.name.clone(),
                version: i.version,
                doc: i.doc.clone(),
                parameters: i.parameters.clone(),
                fields: i.fields.clone(),
                key_schema: i.key_schema.clone(),
                value_schema: i.value_schema.clone(),
            },
        }
    }

    // Primitive schemas, as `Schema.INT32_SCHEMA` etc.

    /// `Schema.INT8_SCHEMA`.
    pub fn int8() -> Schema {
        SchemaBuilder::new(SchemaType::Int8).build()
    }
    /// `Schema.INT16_SCHEMA`.
    pub fn int16() -> Schema {
        SchemaBuilder::new(SchemaType::Int16).build()
    }
    /// `Schema.INT32_SCHEMA`.
    pub fn int32() -> Schema {
        SchemaBuilder::new(SchemaType::Int32).build()
    }
    /// `Schema.INT64_SCHEMA`.
    pub fn int64() -> Schema {
        SchemaBuilder::new(SchemaType::Int64).build()
    }
    /// `Schema.FLOAT32_SCHEMA`.
    pub fn float32() -> Schema {
        SchemaBuilder::new(SchemaType::Float32).build()
    }
    /// `Schema.FLOAT64_SCHEMA`.
    pub fn float64() -> Schema {
        SchemaBuilder::new(SchemaType::Float64).build()
    }
    /// `Schema.BOOLEAN_SCHEMA`.
    pub fn boolean() -> Schema {
        SchemaBuilder::new(SchemaType::Boolean).build()
    }
    /// `Schema.STRING_SCHEMA`.
    pub fn string() -> Schema {
        SchemaBuilder::new(SchemaType::String).build()
    }
    /// `Schema.BYTES_SCHEMA`.
    pub fn bytes() -> Schema {
        SchemaBuilder::new(SchemaType::Bytes).build()
    }
    /// `Schema.OPTIONAL_STRING_SCHEMA`.
    pub fn optional_string() -> Schema {
        SchemaBuilder::new(SchemaType::String).optional().build()
    }
    /// `Schema.OPTIONAL_BYTES_SCHEMA`.
    pub fn optional_bytes() -> Schema {
        SchemaBuilder::new(SchemaType::Bytes).optional().build()
    }

    /// Kafka Connect's `ConnectSchema.validateValue`: checks that `value`
    /// fits this schema.
    pub fn validate_value(&self, value: &Value) -> Result<(), DataError> {
        validate_value(None, self, value)
    }
}

fn validate_value(field: Option<&str>, schema: &Schema, value: &Value) -> Result<(), DataError> {
    if value.is_null() {
        if schema.is_optional() || schema.default_value().is_some() {
            return Ok(());
        }
        return Err(DataError::Invalid(match field {
            Some(f) => format!(
                "Invalid value: null used for required field: \"{f}\", schema type: {}",
                schema.schema_type()
            ),
            None => format!(
                "Invalid value: null used for required field: \"null\", schema type: {}",
                schema.schema_type()
            ),
        }));
    }
    let ok = match (schema.schema_type(), value) {
        (SchemaType::Int8, Value::Int8(_))
        | (SchemaType::Int16, Value::Int16(_))
        | (SchemaType::Float32, Value::Float32(_))
        | (SchemaType::Float64, Value::Float64(_))
        | (SchemaType::Boolean, Value::Boolean(_))
        | (SchemaType::String, Value::String(_)) => true,
        (SchemaType::Int32, Value::Int32(_)) => {
            !matches!(schema.name(), Some(logical::DATE | logical::TIME))
        }
        (SchemaType::Int32, Value::Date(_)) => schema.name() == Some(logical::DATE),
        (SchemaType::Int32, Value::Time(_)) => schema.name() == Some(logical::TIME),
        (SchemaType::Int64, Value::Int64(_)) => schema.name() != Some(logical::TIMESTAMP),
        (SchemaType::Int64, Value::Timestamp(_)) => schema.name() == Some(logical::TIMESTAMP),
        (SchemaType::Bytes, Value::Bytes(_)) => schema.name() != Some(logical::DECIMAL),
        (SchemaType::Bytes, Value::Decimal(_)) => schema.name() == Some(logical::DECIMAL),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema
                .value_schema()
                .ok_or_else(|| DataError::Invalid("array schema without items".into()))?;
            for item in items {
                validate_value(None, item_schema, item)?;
            }
            true
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (ks, vs) = match (schema.key_schema(), schema.value_schema()) {
                (Some(k), Some(v)) => (k, v),
                _ => {
                    return Err(DataError::Invalid(
                        "map schema without key or value schema".into(),
                    ))
                }
            };
            for (k, v) in entries {
                validate_value(None, ks, k)?;
                validate_value(None, vs, v)?;
            }
            true
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            if s.schema() != schema {
                return Err(DataError::Invalid("Struct schemas do not match.".into()));
            }
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DataError::TypeMismatch {
            expected: schema.schema_type().to_string(),
            found: value.kind_name().to_string(),
        })
    }
}

/// Kafka Connect's `SchemaBuilder`: builds a [`Schema`] by chained calls,
/// ending with [`build`](Self::build). A new builder is required, with no
/// default, name, version, doc or parameters.
pub struct SchemaBuilder {
    inner: SchemaInner,
}

impl SchemaBuilder {
    /// `SchemaBuilder.type(t)`: a schema of type `schema_type`. Use
    /// [`array`](Self::array) and [`map`](Self::map) for those types, which
    /// need the schemas of what they contain.
    pub fn new(schema_type: SchemaType) -> Self {
        SchemaBuilder {
            inner: SchemaInner {
                schema_type,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: None,
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }
    /// `SchemaBuilder.struct()`: add fields with [`field`](Self::field).
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }
    /// `SchemaBuilder.array(items)`.
    pub fn array(items: Schema) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.inner.value_schema = Some(items);
        b
    }
    /// `SchemaBuilder.map(keys, values)`.
    pub fn map(keys: Schema, values: Schema) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.inner.key_schema = Some(keys);
        b.inner.value_schema = Some(values);
        b
    }
    /// `Decimal.builder(scale)`.
    pub fn decimal(scale: i32) -> Self {
        Self::new(SchemaType::Bytes)
            .name(logical::DECIMAL)
            .version(1)
            .parameter(logical::DECIMAL_SCALE, scale.to_string())
    }
    /// `Date.builder()`.
    pub fn date() -> Self {
        Self::new(SchemaType::Int32).name(logical::DATE).version(1)
    }
    /// `Time.builder()`.
    pub fn time() -> Self {
        Self::new(SchemaType::Int32).name(logical::TIME).version(1)
    }
    /// `Timestamp.builder()`.
    pub fn timestamp() -> Self {
        Self::new(SchemaType::Int64)
            .name(logical::TIMESTAMP)
            .version(1)
    }
    /// `optional()`: values may be null.
    pub fn optional(mut self) -> Self {
        self.inner.optional = true;
        self
    }
    /// Optional or required as `optional` says.
    pub fn optional_if(mut self, optional: bool) -> Self {
        self.inner.optional = optional;
        self
    }
    /// `defaultValue(v)`: the value a null stands for. It is not checked
    /// against the schema here.
    pub fn default_value(mut self, value: Value) -> Self {
        self.inner.default = Some(value);
        self
    }
    /// `name(n)`: the schema's name, e.g. a record type's full name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = Some(name.into());
        self
    }
    /// `version(v)`.
    pub fn version(mut self, version: i32) -> Self {
        self.inner.version = Some(version);
        self
    }
    /// `doc(d)`.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.inner.doc = Some(doc.into());
        self
    }
    /// `parameter(k, v)`: sets a parameter, replacing one of the same name
    /// in place.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        let params = self.inner.parameters.get_or_insert_with(Vec::new);
        match params.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => params.push((key, value)),
        }
        self
    }
    /// Adds a field to a struct schema. Duplicate names are rejected at `build`.
    pub fn field(mut self, name: impl Into<String>, schema: Schema) -> Self {
        let index = self.inner.fields.len();
        self.inner.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }
    /// `build()`: the schema.
    pub fn build(self) -> Schema {
        Schema(Arc::new(self.inner))
    }
}

/// A decimal number: an unscaled integer and a scale, as Java's `BigDecimal`
/// (the value of Kafka Connect's Decimal logical type).
///
/// Limited to 128 bits of unscaled value (38 decimal digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The digits, as an integer: `2.31` is 231 with scale 2.
    pub unscaled: i128,
    /// How many of the digits are after the decimal point; negative for
    /// trailing zeros (`1E+3` is 1 with scale -3).
    pub scale: i32,
}

impl Decimal {
    /// `unscaled × 10^-scale`.
    pub fn new(unscaled: i128, scale: i32) -> Self {
        Decimal { unscaled, scale }
    }

    /// Big-endian two's-complement bytes of the unscaled value, minimal
    /// length, as Java's `BigInteger.toByteArray`.
    pub fn unscaled_bytes(&self) -> Vec<u8> {
        let full = self.unscaled.to_be_bytes();
        let negative = self.unscaled < 0;
        let mut start = 0;
        while start < full.len() - 1 {
            let (b, next) = (full[start], full[start + 1]);
            let redundant = if negative {
                b == 0xff && next & 0x80 != 0
            } else {
                b == 0 && next & 0x80 == 0
            };
            if !redundant {
                break;
            }
            start += 1;
        }
        full[start..].to_vec()
    }

    /// The decimal whose unscaled value is `bytes`, big-endian two's
    /// complement (as a Decimal's BYTES hold it), and scale `scale`. Fails
    /// on no bytes or more than 16.
    pub fn from_unscaled_bytes(bytes: &[u8], scale: i32) -> Result<Self, DataError> {
        if bytes.is_empty() {
            return Err(DataError::Conversion("empty decimal bytes".into()));
        }
        if bytes.len() > 16 {
            return Err(DataError::Conversion(format!(
                "decimal of {} bytes exceeds the supported 128-bit precision",
                bytes.len()
            )));
        }
        let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
        let mut buf = [fill; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        Ok(Decimal::new(i128::from_be_bytes(buf), scale))
    }

    /// Parses plain or exponent notation (`12.50`, `-1E+3`) keeping the scale
    /// the text implies, as `new BigDecimal(String)`.
    pub fn parse(text: &str) -> Result<Self, DataError> {
        let err = || DataError::Conversion(format!("invalid decimal: {text}"));
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().map_err(|_| err())?),
            None => (text, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let digits = format!("{int_part}{frac_part}");
        if digits.is_empty() || digits == "-" || digits == "+" {
            return Err(err());
        }
        let unscaled: i128 = digits.parse().map_err(|_| err())?;
        Ok(Decimal::new(unscaled, frac_part.len() as i32 - exp))
    }

    /// Rescales to `scale`; fails if digits would be lost.
    pub fn with_scale(&self, scale: i32) -> Result<Self, DataError> {
        if scale == self.scale {
            return Ok(*self);
        }
        let overflow = || DataError::Conversion(format!("cannot rescale {self} to scale {scale}"));
        if scale > self.scale {
            let factor = 10i128
                .checked_pow((scale - self.scale) as u32)
                .ok_or_else(overflow)?;
            Ok(Decimal::new(
                self.unscaled.checked_mul(factor).ok_or_else(overflow)?,
                scale,
            ))
        } else {
            let factor = 10i128
                .checked_pow((self.scale - scale) as u32)
                .ok_or_else(overflow)?;
            if self.unscaled % factor != 0 {
                return Err(overflow());
            }
            Ok(Decimal::new(self.unscaled / factor, scale))
        }
    }

    /// The nearest `f64` (digits beyond its precision are lost).
    pub fn to_f64(&self) -> f64 {
        self.unscaled as f64 / 10f64.powi(self.scale)
    }
}

impl fmt::Display for Decimal {
    /// Java's `BigDecimal.toString()`: plain notation unless the adjusted
    /// exponent is below -6 or the scale is negative.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.unscaled < 0;
        let digits = self.unscaled.unsigned_abs().to_string();
        let sign = if negative { "-" } else { "" };
        let adjusted = -(self.scale as i64) + (digits.len() as i64 - 1);
        if self.scale >= 0 && adjusted >= -6 {
            let scale = self.scale as usize;
            if scale == 0 {
                return write!(f, "{sign}{digits}");
            }
            if digits.len() > scale {
                let (i, d) = digits.split_at(digits.len() - scale);
                write!(f, "{sign}{i}.{d}")
            } else {
                write!(f, "{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
            }
        } else {
            let (first, rest) = digits.split_at(1);
            write!(f, "{sign}{first}")?;
            if !rest.is_empty() {
                write!(f, ".{rest}")?;
            }
            if adjusted >= 0 {
                write!(f, "E+{adjusted}")
            } else {
                write!(f, "E{adjusted}")
            }
        }
    }
}

/// A Kafka Connect value. Logical types have their own variants so that
/// converters and transforms never guess from a bare integer.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No value (Java's `null`): for an optional schema, or without schema.
    #[default]
    Null,
    /// A BOOLEAN value.
    Boolean(bool),
    /// An INT8 value.
    Int8(i8),
    /// An INT16 value.
    Int16(i16),
    /// An INT32 value.
    Int32(i32),
    /// An INT64 value.
    Int64(i64),
    /// A FLOAT32 value.
    Float32(f32),
    /// A FLOAT64 value.
    Float64(f64),
    /// A STRING value.
    String(String),
    /// A BYTES value.
    Bytes(Vec<u8>),
    /// An ARRAY value.
    Array(Vec<Value>),
    /// Entries in insertion order; keys may be any value (Connect allows it).
    Map(Vec<(Value, Value)>),
    /// A STRUCT value.
    Struct(Struct),
    /// A Decimal (BYTES with the [`logical::DECIMAL`] name).
    Decimal(Decimal),
    /// A Date (INT32 with the [`logical::DATE`] name): days since the
    /// epoch.
    Date(i32),
    /// A Time (INT32 with the [`logical::TIME`] name): milliseconds since
    /// midnight.
    Time(i32),
    /// A Timestamp (INT64 with the [`logical::TIMESTAMP`] name):
    /// milliseconds since the epoch.
    Timestamp(i64),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text of a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "Boolean",
            Value::Int8(_) => "Byte",
            Value::Int16(_) => "Short",
            Value::Int32(_) => "Integer",
            Value::Int64(_) => "Long",
            Value::Float32(_) => "Float",
            Value::Float64(_) => "Double",
            Value::String(_) => "String",
            Value::Bytes(_) => "byte[]",
            Value::Array(_) => "ArrayList",
            Value::Map(_) => "HashMap",
            Value::Struct(_) => "Struct",
            Value::Decimal(_) => "BigDecimal",
            Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "Date",
        }
    }

    /// Infers a schema for a schemaless primitive, as `Values.inferSchema`.
    pub fn infer_schema(&self) -> Option<Schema> {
        Some(match self {
            Value::Boolean(_) => Schema::boolean(),
            Value::Int8(_) => Schema::int8(),
            Value::Int16(_) => Schema::int16(),
            Value::Int32(_) => Schema::int32(),
            Value::Int64(_) => Schema::int64(),
            Value::Float32(_) => Schema::float32(),
            Value::Float64(_) => Schema::float64(),
            Value::String(_) => Schema::string(),
            Value::Bytes(_) => Schema::bytes(),
            Value::Decimal(d) => SchemaBuilder::decimal(d.scale).build(),
            Value::Date(_) => SchemaBuilder::date().build(),
            Value::Time(_) => SchemaBuilder::time().build(),
            Value::Timestamp(_) => SchemaBuilder::timestamp().build(),
            _ => return None,
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float64(v)
    }
}

/// A structured value with a struct schema, as Kafka Connect's `Struct`.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: Schema,
    values: Vec<Value>,
}

impl Struct {
    /// `new Struct(schema)`: every field unset (null). Fails when `schema`
    /// is not a struct schema.
    pub fn new(schema: Schema) -> Result<Self, DataError> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(DataError::Invalid(format!(
                "Not a struct schema: {}",
                schema.schema_type()
            )));
        }
        let values = vec![Value::Null; schema.fields().len()];
        Ok(Struct { schema, values })
    }

    /// `schema()`.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Sets a field by name, checking the value against the field's schema.
    pub fn put(mut self, field: &str, value: impl Into<Value>) -> Result<Self, DataError> {
        self.set(field, value.into())?;
        Ok(self)
    }

    /// [`put`](Self::put) in place: sets a field by name, checking the
    /// value against the field's schema.
    pub fn set(&mut self, field: &str, value: Value) -> Result<(), DataError> {
        let f = self
            .schema
            .field(field)
            .ok_or_else(|| DataError::Invalid(format!("{field} is not a valid field name")))?;
        validate_value(Some(field), &f.schema, &value)?;
        self.values[f.index] = value;
        Ok(())
    }

    /// The field's value, or its schema default when unset.
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        Some(self.get_at(f.index))
    }

    /// The value of the field at `index` (see [`Field::index`]), or its
    /// schema default when unset.
    ///
    /// # Panics
    ///
    /// When the schema has no field at `index`.
    pub fn get_at(&self, index: usize) -> &Value {
        let v = &self.values[index];
        if v.is_null() {
            if let Some(d) = self.schema.fields()[index].schema.default_value() {
                return d;
            }
        }
        v
    }

    /// Raw values in field order (unset fields are `Null`, no defaults applied).
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Checks that every required field is set (`Struct.validate`).
    pub fn validate(&self) -> Result<(), DataError> {
        for f in self.schema.fields() {
            validate_value(Some(&f.name), &f.schema, &self.values[f.index])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_match_java_big_integer() {
        assert_eq!(Decimal::new(231, 2).unscaled_bytes(), vec![0x00, 0xE7]);
        assert_eq!(Decimal::new(0, 0).unscaled_bytes(), vec![0]);
        assert_eq!(Decimal::new(-1, 0).unscaled_bytes(), vec![0xff]);
        assert_eq!(Decimal::new(-129, 0).unscaled_bytes(), vec![0xff, 0x7f]);
        assert_eq!(Decimal::new(127, 0).unscaled_bytes(), vec![0x7f]);
        assert_eq!(Decimal::new(128, 0).unscaled_bytes(), vec![0x00, 0x80]);
        for v in [
            0i128,
            1,
            -1,
            231,
            -129,
            1 << 100,
            -(1 << 100),
            i128::MAX,
            i128::MIN,
        ] {
            let d = Decimal::new(v, 3);
            assert_eq!(
                Decimal::from_unscaled_bytes(&d.unscaled_bytes(), 3).unwrap(),
                d
            );
        }
    }

    #[test]
    fn decimal_text_matches_java_big_decimal() {
        assert_eq!(Decimal::new(231, 2).to_string(), "2.31");
        assert_eq!(Decimal::new(-5, 3).to_string(), "-0.005");
        assert_eq!(Decimal::new(1, -3).to_string(), "1E+3");
        assert_eq!(Decimal::new(1, 10).to_string(), "1E-10");
        assert_eq!(Decimal::parse("12.50").unwrap(), Decimal::new(1250, 2));
        assert_eq!(Decimal::parse("1E+3").unwrap(), Decimal::new(1, -3));
        assert_eq!(Decimal::parse("-0.005").unwrap(), Decimal::new(-5, 3));
    }

    #[test]
    fn struct_checks_field_types_and_required_fields() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .build();
        let s = Struct::new(schema.clone()).unwrap();
        assert!(s.validate().is_err());
        let s = s.put("id", 7).unwrap();
        assert!(s.validate().is_ok());
        assert!(Struct::new(schema).unwrap().put("id", "x").is_err());
    }
}
