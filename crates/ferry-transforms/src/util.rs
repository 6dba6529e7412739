//! Helpers shared by the transforms: Kafka Connect's `Requirements`,
//! `SchemaUtil`, `Struct.put` with its messages, and the schema cache.

use ferry_api::data::logical;
use ferry_api::{Schema, SchemaBuilder, SchemaType, Struct, Value};
use ferry_java::text;

use crate::error::{ExceptionKind, TransformError};

/// `Requirements.requireMap`: the schemaless value must be a map.
pub(crate) fn require_map(
    value: Value,
    purpose: &str,
) -> Result<Vec<(Value, Value)>, TransformError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            text::class_name(&other)
        ))),
    }
}

/// `Requirements.requireMap` without taking the value.
pub(crate) fn require_map_ref<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a [(Value, Value)], TransformError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(TransformError::data(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            text::class_name(other)
        ))),
    }
}

/// `Requirements.requireStruct`.
pub(crate) fn require_struct(value: Value, purpose: &str) -> Result<Struct, TransformError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            text::class_name(&other)
        ))),
    }
}

/// `Requirements.requireStruct` without taking the value.
pub(crate) fn require_struct_ref<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a Struct, TransformError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(TransformError::data(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            text::class_name(other)
        ))),
    }
}

/// `Requirements.requireSchema`.
pub(crate) fn require_schema<'a>(
    schema: Option<&'a Schema>,
    purpose: &str,
) -> Result<&'a Schema, TransformError> {
    schema.ok_or_else(|| TransformError::data(format!("Schema required for [{purpose}]")))
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and
/// parameters.
pub(crate) fn copy_schema_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    if let Some(n) = source.name() {
        builder = builder.name(n);
    }
    if let Some(v) = source.version() {
        builder = builder.version(v);
    }
    if let Some(d) = source.doc() {
        builder = builder.doc(d);
    }
    if let Some(params) = source.parameters() {
        for (k, v) in params {
            builder = builder.parameter(k.as_str(), v.as_str());
        }
    }
    builder
}

/// `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (and
/// element schema for arrays) with the basics copied.
pub(crate) fn copy_schema_basics_of(source: &Schema) -> SchemaBuilder {
    let builder = match (source.schema_type(), source.value_schema()) {
        (SchemaType::Array, Some(items)) => SchemaBuilder::array(items.clone()),
        (t, _) => SchemaBuilder::new(t),
    };
    copy_schema_basics(source, builder)
}

/// `new Struct(schema)`.
pub(crate) fn new_struct(schema: &Schema) -> Result<Struct, TransformError> {
    Struct::new(schema.clone()).map_err(|_| {
        TransformError::data(format!(
            "Not a struct schema: {}",
            text::schema_to_string(schema)
        ))
    })
}

/// `struct.get(field)` (default applied) or `getWithoutDefault`.
pub(crate) fn field_value(s: &Struct, index: usize, with_default: bool) -> &Value {
    if with_default {
        s.get_at(index)
    } else {
        &s.values()[index]
    }
}

/// `Struct.put(fieldName, value)` with Kafka Connect's checks and messages.
///
/// The top-level check is Java's (`ConnectSchema.validateValue`: a null for
/// a required field fails even when the field has a default); nested
/// contents are checked by `ferry-api`, whose messages for them are its own.
pub(crate) fn put(s: &mut Struct, name: &str, value: Value) -> Result<(), TransformError> {
    let Some(field) = s.schema().field(name) else {
        return Err(TransformError::data(format!(
            "{name} is not a valid field name"
        )));
    };
    let value = check_value(&field.schema, value, Location::Field(name))?;
    s.set(name, value)
        .map_err(|e| TransformError::data(e.to_string()))
}

/// Where a checked value sits, for messages (built only on failure).
#[derive(Clone, Copy)]
pub(crate) enum Location<'a> {
    Field(&'a str),
    Value,
}

impl std::fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Field(name) => write!(f, "field: \"{name}\""),
            Location::Value => f.write_str("value"),
        }
    }
}

/// The class check of `ConnectSchema.validateValue` at the top level, with
/// Java's messages, and the value re-expressed in the temporal variant its
/// schema names: Java represents Date, Time and Timestamp values as one
/// `java.util.Date`, so it accepts any of them for any of the schemas.
pub(crate) fn check_value(
    schema: &Schema,
    value: Value,
    location: Location<'_>,
) -> Result<Value, TransformError> {
    check_class(schema, &value, location)?;
    Ok(match value {
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => {
            retype_temporal(schema.name(), value)
        }
        other => other,
    })
}

/// The class check alone.
pub(crate) fn check_class(
    schema: &Schema,
    value: &Value,
    location: Location<'_>,
) -> Result<(), TransformError> {
    if value.is_null() {
        if !schema.is_optional() {
            return Err(TransformError::data(format!(
                "Invalid value: null used for required {location}, schema type: {}",
                schema.schema_type()
            )));
        }
        return Ok(());
    }
    let name = schema.name();
    let temporal = matches!(value, Value::Date(_) | Value::Time(_) | Value::Timestamp(_));
    let ok = match name {
        Some(logical::DECIMAL) => matches!(value, Value::Decimal(_)),
        Some(logical::DATE | logical::TIME | logical::TIMESTAMP) => temporal,
        _ => matches!(
            (schema.schema_type(), value),
            (SchemaType::Int8, Value::Int8(_))
                | (SchemaType::Int16, Value::Int16(_))
                | (SchemaType::Int32, Value::Int32(_))
                | (SchemaType::Int64, Value::Int64(_))
                | (SchemaType::Float32, Value::Float32(_))
                | (SchemaType::Float64, Value::Float64(_))
                | (SchemaType::Boolean, Value::Boolean(_))
                | (SchemaType::String, Value::String(_))
                | (SchemaType::Bytes, Value::Bytes(_))
                | (SchemaType::Array, Value::Array(_))
                | (SchemaType::Map, Value::Map(_))
                | (SchemaType::Struct, Value::Struct(_))
        ),
    };
    if ok {
        return Ok(());
    }
    let mut msg = String::from("Invalid Java object for schema");
    if let Some(n) = name {
        msg.push_str(&format!(" \"{n}\""));
    }
    msg.push_str(&format!(
        " with type {}: {} for {location}",
        schema.schema_type(),
        text::class_display(value)
    ));
    Err(TransformError::data(msg))
}

/// A temporal value in the variant a logical schema name calls for.
pub(crate) fn retype_temporal(name: Option<&str>, value: Value) -> Value {
    let millis = match value {
        Value::Date(d) => i64::from(d) * ferry_java::date::MILLIS_PER_DAY,
        Value::Time(t) => i64::from(t),
        Value::Timestamp(t) => t,
        other => return other,
    };
    match name {
        Some(logical::DATE) => {
            Value::Date(millis.div_euclid(ferry_java::date::MILLIS_PER_DAY) as i32)
        }
        Some(logical::TIME) => Value::Time(millis as i32),
        _ => Value::Timestamp(millis),
    }
}

/// `SchemaBuilder.defaultValue(value)`: the default must fit the schema.
pub(crate) fn with_default(
    builder: SchemaBuilder,
    value: Value,
) -> Result<SchemaBuilder, TransformError> {
    let probe = builder.build();
    // Java's message is just this; the reason is the exception's cause.
    let checked = check_value(&probe, value, Location::Value)
        .map_err(|_| TransformError::new(ExceptionKind::SchemaBuilder, "Invalid default value"))?;
    Ok(probe.to_builder().default_value(checked))
}

/// Kafka Connect's `LRUCache<Schema, Schema>` of 16 entries: derived
/// schemas keyed by the input schema, compared by value. The most recently
/// used entries are checked first, so a stream of records with one schema
/// costs one comparison per record.
#[derive(Debug, Default, Clone)]
pub(crate) struct SchemaCache {
    /// Least recently used first.
    entries: Vec<(Schema, Schema)>,
}

const SCHEMA_CACHE_SIZE: usize = 16;

impl SchemaCache {
    pub(crate) fn get(&mut self, key: &Schema) -> Option<Schema> {
        let pos = self.entries.iter().rposition(|(k, _)| k == key)?;
        let last = self.entries.len() - 1;
        if pos != last {
            let e = self.entries.remove(pos);
            self.entries.push(e);
        }
        self.entries.last().map(|(_, v)| v.clone())
    }

    pub(crate) fn put(&mut self, key: Schema, value: Schema) {
        if let Some(pos) = self.entries.iter().position(|(k, _)| *k == key) {
            self.entries.remove(pos);
        }
        self.entries.push((key, value));
        if self.entries.len() > SCHEMA_CACHE_SIZE {
            self.entries.remove(0);
        }
    }

    /// The cached schema for `key`, building and caching it on a miss.
    pub(crate) fn get_or_try_insert(
        &mut self,
        key: &Schema,
        build: impl FnOnce() -> Result<Schema, TransformError>,
    ) -> Result<Schema, TransformError> {
        if let Some(s) = self.get(key) {
            return Ok(s);
        }
        let s = build()?;
        self.put(key.clone(), s.clone());
        Ok(s)
    }
}

/// Looks up a string key in a schemaless map (`Map.get`).
pub(crate) fn map_get<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// `Map.put` with a string key: replaces the entry in place or appends.
pub(crate) fn map_put(m: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match m.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(slot) => slot.1 = value,
        None => m.push((Value::String(key.to_owned()), value)),
    }
}

/// `Map.remove` with a string key.
pub(crate) fn map_remove(m: &mut Vec<(Value, Value)>, key: &str) -> Option<Value> {
    let pos = m.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(m.remove(pos).1)
}

/// The error for a transform used before `configure`.
pub(crate) fn not_configured(class: &str) -> TransformError {
    TransformError::new(
        ExceptionKind::Connect,
        format!("{class} was applied before it was configured"),
    )
}

/// A struct schema under construction that rejects duplicate field names
/// as Java's `SchemaBuilder.field` does.
pub(crate) struct StructBuilder {
    builder: SchemaBuilder,
    names: std::collections::HashSet<String>,
}

impl StructBuilder {
    /// A struct builder with `source`'s name, version, doc and parameters.
    pub(crate) fn copying(source: &Schema) -> Self {
        StructBuilder {
            builder: copy_schema_basics(source, SchemaBuilder::struct_()),
            names: std::collections::HashSet::new(),
        }
    }

    pub(crate) fn field(&mut self, name: &str, schema: Schema) -> Result<(), TransformError> {
        if !self.names.insert(name.to_owned()) {
            return Err(TransformError::new(
                ExceptionKind::SchemaBuilder,
                format!("Cannot create field because of field name duplication {name}"),
            ));
        }
        let b = std::mem::replace(&mut self.builder, SchemaBuilder::struct_());
        self.builder = b.field(name, schema);
        Ok(())
    }

    pub(crate) fn optional(&mut self) {
        let b = std::mem::replace(&mut self.builder, SchemaBuilder::struct_());
        self.builder = b.optional();
    }

    pub(crate) fn build(self) -> Schema {
        self.builder.build()
    }
}
