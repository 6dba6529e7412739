//! Ferry's types in the plugin ABI's encoding ([`ferry_plugin_abi::wire`]):
//! schemas, values, source and sink batches, props, topic partitions.
//! Used by both sides: the worker encodes what it hands to a plugin and
//! decodes what it gets back, the SDK the other way round.
//!
//! A batch starts with a table of the schemas its records use, each once,
//! so that a thousand records of one schema cost one schema on the wire and
//! one `Schema` after decoding; source batches also carry a table of
//! source partitions, shared by their records as `Arc`s.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_api::{
    Decimal, Headers, OffsetMap, OriginalPosition, Props, Schema, SchemaBuilder, SchemaType,
    SinkRecord, SourceRecord, Struct, TimestampType, TopicPartition, Value,
};
use ferry_plugin_abi::wire::{
    schema_flag, schema_type, timestamp_type, value_tag, Reader, WireError, Writer, ANY_PARTITION,
    NO_PARTITION, NO_SCHEMA,
};

/// Collects the schemas a batch uses, each once, and gives their refs.
#[derive(Default)]
pub struct SchemaTable {
    schemas: Vec<Schema>,
}

/// Whether `a` and `b` are the same schema: records of a batch usually
/// share one, which spares comparing whole schemas for every record.
fn same_schema(a: &Schema, b: &Schema) -> bool {
    a.same_instance(b) || a == b
}

impl SchemaTable {
    /// The ref of `schema` (1-based), adding it when new.
    pub fn add(&mut self, schema: &Schema) -> u32 {
        let index = match self.schemas.iter().position(|s| same_schema(s, schema)) {
            Some(i) => i,
            None => {
                self.schemas.push(schema.clone());
                self.schemas.len() - 1
            }
        };
        (index + 1) as u32
    }

    /// The ref of an optional schema ([`NO_SCHEMA`] for none).
    pub fn add_opt(&mut self, schema: Option<&Schema>) -> u32 {
        schema.map_or(NO_SCHEMA, |s| self.add(s))
    }

    /// `schemas := u32 count, schema*`. Struct values inside defaults are
    /// not carried (a struct default would need the table it is part of).
    pub fn write(&self, w: &mut Writer) {
        w.len_u32(self.schemas.len());
        for s in &self.schemas {
            write_schema(w, s);
        }
    }
}

fn schema_type_code(t: SchemaType) -> u8 {
    match t {
        SchemaType::Int8 => schema_type::INT8,
        SchemaType::Int16 => schema_type::INT16,
        SchemaType::Int32 => schema_type::INT32,
        SchemaType::Int64 => schema_type::INT64,
        SchemaType::Float32 => schema_type::FLOAT32,
        SchemaType::Float64 => schema_type::FLOAT64,
        SchemaType::Boolean => schema_type::BOOLEAN,
        SchemaType::String => schema_type::STRING,
        SchemaType::Bytes => schema_type::BYTES,
        SchemaType::Array => schema_type::ARRAY,
        SchemaType::Map => schema_type::MAP,
        SchemaType::Struct => schema_type::STRUCT,
    }
}

fn has_struct(v: &Value) -> bool {
    match v {
        Value::Struct(_) => true,
        Value::Array(items) => items.iter().any(has_struct),
        Value::Map(entries) => entries.iter().any(|(k, v)| has_struct(k) || has_struct(v)),
        _ => false,
    }
}

fn write_schema(w: &mut Writer, s: &Schema) {
    let default = s.default_value().filter(|d| !has_struct(d));
    let mut flags = 0u8;
    if s.is_optional() {
        flags |= schema_flag::OPTIONAL;
    }
    if s.name().is_some() {
        flags |= schema_flag::NAME;
    }
    if s.version().is_some() {
        flags |= schema_flag::VERSION;
    }
    if s.doc().is_some() {
        flags |= schema_flag::DOC;
    }
    if s.parameters().is_some() {
        flags |= schema_flag::PARAMETERS;
    }
    if default.is_some() {
        flags |= schema_flag::DEFAULT;
    }
    w.u8(schema_type_code(s.schema_type()));
    w.u8(flags);
    if let Some(n) = s.name() {
        w.str(n);
    }
    if let Some(v) = s.version() {
        w.i32(v);
    }
    if let Some(d) = s.doc() {
        w.str(d);
    }
    if let Some(params) = s.parameters() {
        w.len_u32(params.len());
        for (k, v) in params {
            w.str(k);
            w.str(v);
        }
    }
    match s.schema_type() {
        SchemaType::Struct => {
            w.len_u32(s.fields().len());
            for f in s.fields() {
                w.str(&f.name);
                write_schema(w, &f.schema);
            }
        }
        SchemaType::Array => write_child(w, s.value_schema()),
        SchemaType::Map => {
            write_child(w, s.key_schema());
            write_child(w, s.value_schema());
        }
        _ => {}
    }
    if let Some(d) = default {
        // No struct inside, so no table is needed.
        write_value(w, &mut SchemaTable::default(), d);
    }
}

/// An array's or map's child schema; Ferry's builders always set them, an
/// absent one is written as an optional string schema would be read back.
fn write_child(w: &mut Writer, s: Option<&Schema>) {
    match s {
        Some(s) => write_schema(w, s),
        None => write_schema(w, &Schema::optional_string()),
    }
}

/// The schemas of a table, decoded.
pub struct Schemas(Vec<Schema>);

impl Schemas {
    /// `schemas := u32 count, schema*`.
    pub fn read(r: &mut Reader<'_>) -> Result<Schemas, WireError> {
        let n = r.count(2)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(read_schema(r, 0)?);
        }
        Ok(Schemas(out))
    }

    /// The schema a ref names.
    #[inline]
    pub fn get(&self, r: &Reader<'_>, schema_ref: u32) -> Result<Option<Schema>, WireError> {
        if schema_ref == NO_SCHEMA {
            return Ok(None);
        }
        self.0
            .get(schema_ref as usize - 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| r.error(format!("schema ref {schema_ref} is not in the table")))
    }

    #[inline(always)]
    fn read_ref(&self, r: &mut Reader<'_>) -> Result<Option<Schema>, WireError> {
        let at = r.u32()?;
        self.get(r, at)
    }
}

/// How deep schemas and values may nest: deeper input is refused rather
/// than allowed to exhaust the stack.
const MAX_DEPTH: usize = 64;

fn read_schema(r: &mut Reader<'_>, depth: usize) -> Result<Schema, WireError> {
    if depth > MAX_DEPTH {
        return Err(r.error("schemas nest too deeply"));
    }
    let t = r.u8()?;
    let flags = r.u8()?;
    let name = if flags & schema_flag::NAME != 0 {
        Some(r.str()?.to_owned())
    } else {
        None
    };
    let version = if flags & schema_flag::VERSION != 0 {
        Some(r.i32()?)
    } else {
        None
    };
    let doc = if flags & schema_flag::DOC != 0 {
        Some(r.str()?.to_owned())
    } else {
        None
    };
    let mut params = Vec::new();
    if flags & schema_flag::PARAMETERS != 0 {
        let n = r.count(8)?;
        for _ in 0..n {
            params.push((r.str()?.to_owned(), r.str()?.to_owned()));
        }
    }
    let mut b = match t {
        schema_type::INT8 => SchemaBuilder::new(SchemaType::Int8),
        schema_type::INT16 => SchemaBuilder::new(SchemaType::Int16),
        schema_type::INT32 => SchemaBuilder::new(SchemaType::Int32),
        schema_type::INT64 => SchemaBuilder::new(SchemaType::Int64),
        schema_type::FLOAT32 => SchemaBuilder::new(SchemaType::Float32),
        schema_type::FLOAT64 => SchemaBuilder::new(SchemaType::Float64),
        schema_type::BOOLEAN => SchemaBuilder::new(SchemaType::Boolean),
        schema_type::STRING => SchemaBuilder::new(SchemaType::String),
        schema_type::BYTES => SchemaBuilder::new(SchemaType::Bytes),
        schema_type::STRUCT => {
            let n = r.count(6)?;
            let mut b = SchemaBuilder::struct_();
            for _ in 0..n {
                let name = r.str()?.to_owned();
                b = b.field(name, read_schema(r, depth + 1)?);
            }
            b
        }
        schema_type::ARRAY => SchemaBuilder::array(read_schema(r, depth + 1)?),
        schema_type::MAP => {
            let k = read_schema(r, depth + 1)?;
            SchemaBuilder::map(k, read_schema(r, depth + 1)?)
        }
        other => return Err(r.error(format!("unknown schema type {other}"))),
    };
    b = b.optional_if(flags & schema_flag::OPTIONAL != 0);
    if let Some(n) = name {
        b = b.name(n);
    }
    if let Some(v) = version {
        b = b.version(v);
    }
    if let Some(d) = doc {
        b = b.doc(d);
    }
    for (k, v) in params {
        b = b.parameter(k, v);
    }
    if flags & schema_flag::DEFAULT != 0 {
        b = b.default_value(read_value_at(r, &Schemas(Vec::new()), depth + 1)?);
    }
    Ok(b.build())
}

/// `value := u8 tag, payload`; struct values add their schema to `table`.
pub fn write_value(w: &mut Writer, table: &mut SchemaTable, v: &Value) {
    match v {
        Value::Null => w.u8(value_tag::NULL),
        Value::Boolean(b) => {
            w.u8(value_tag::BOOLEAN);
            w.u8(u8::from(*b));
        }
        Value::Int8(x) => {
            w.u8(value_tag::INT8);
            w.i8(*x);
        }
        Value::Int16(x) => {
            w.u8(value_tag::INT16);
            w.i16(*x);
        }
        Value::Int32(x) => {
            w.u8(value_tag::INT32);
            w.i32(*x);
        }
        Value::Int64(x) => {
            w.u8(value_tag::INT64);
            w.i64(*x);
        }
        Value::Float32(x) => {
            w.u8(value_tag::FLOAT32);
            w.f32(*x);
        }
        Value::Float64(x) => {
            w.u8(value_tag::FLOAT64);
            w.f64(*x);
        }
        Value::String(s) => {
            w.u8(value_tag::STRING);
            w.str(s);
        }
        Value::Bytes(b) => {
            w.u8(value_tag::BYTES);
            w.bytes(b);
        }
        Value::Array(items) => {
            w.u8(value_tag::ARRAY);
            w.len_u32(items.len());
            for i in items {
                write_value(w, table, i);
            }
        }
        Value::Map(entries) => {
            w.u8(value_tag::MAP);
            w.len_u32(entries.len());
            for (k, v) in entries {
                write_value(w, table, k);
                write_value(w, table, v);
            }
        }
        Value::Struct(s) => {
            w.u8(value_tag::STRUCT);
            w.u32(table.add(s.schema()));
            for v in s.values() {
                write_value(w, table, v);
            }
        }
        Value::Decimal(d) => {
            w.u8(value_tag::DECIMAL);
            w.i32(d.scale);
            w.bytes(&d.unscaled_bytes());
        }
        Value::Date(d) => {
            w.u8(value_tag::DATE);
            w.i32(*d);
        }
        Value::Time(t) => {
            w.u8(value_tag::TIME);
            w.i32(*t);
        }
        Value::Timestamp(t) => {
            w.u8(value_tag::TIMESTAMP);
            w.i64(*t);
        }
    }
}

/// Reads a value; struct refs resolve in `schemas`.
#[inline(always)]
pub fn read_value(r: &mut Reader<'_>, schemas: &Schemas) -> Result<Value, WireError> {
    // A record's key or value is mostly text, bytes or nothing: read in
    // place, without the call and the copies of its result the general
    // path costs.
    match r.peek_u8() {
        Some(value_tag::NULL) => {
            r.u8()?;
            Ok(Value::Null)
        }
        Some(value_tag::STRING) => {
            r.u8()?;
            Ok(Value::String(r.str()?.to_owned()))
        }
        Some(value_tag::BYTES) => {
            r.u8()?;
            Ok(Value::Bytes(r.bytes()?.to_vec()))
        }
        _ => read_value_at(r, schemas, 0),
    }
}

fn read_value_at(r: &mut Reader<'_>, schemas: &Schemas, depth: usize) -> Result<Value, WireError> {
    if depth > MAX_DEPTH {
        return Err(r.error("values nest too deeply"));
    }
    let at = r.position();
    Ok(match r.u8()? {
        value_tag::NULL => Value::Null,
        value_tag::BOOLEAN => Value::Boolean(r.u8()? != 0),
        value_tag::INT8 => Value::Int8(r.i8()?),
        value_tag::INT16 => Value::Int16(r.i16()?),
        value_tag::INT32 => Value::Int32(r.i32()?),
        value_tag::INT64 => Value::Int64(r.i64()?),
        value_tag::FLOAT32 => Value::Float32(r.f32()?),
        value_tag::FLOAT64 => Value::Float64(r.f64()?),
        value_tag::STRING => Value::String(r.str()?.to_owned()),
        value_tag::BYTES => Value::Bytes(r.bytes()?.to_vec()),
        value_tag::ARRAY => {
            let n = r.count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_value_at(r, schemas, depth + 1)?);
            }
            Value::Array(items)
        }
        value_tag::MAP => {
            let n = r.count(2)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let k = read_value_at(r, schemas, depth + 1)?;
                entries.push((k, read_value_at(r, schemas, depth + 1)?));
            }
            Value::Map(entries)
        }
        value_tag::STRUCT => {
            let schema = schemas
                .read_ref(r)?
                .filter(|s| s.schema_type() == SchemaType::Struct)
                .ok_or_else(|| r.error("a struct value names no struct schema"))?;
            let mut s = Struct::new(schema.clone()).map_err(|e| r.error(e.to_string()))?;
            for f in schema.fields() {
                let v = read_value_at(r, schemas, depth + 1)?;
                // An unset field stays unset (its default applies), as
                // the sender had it.
                if !v.is_null() {
                    s.set(&f.name, v).map_err(|e| r.error(e.to_string()))?;
                }
            }
            Value::Struct(s)
        }
        value_tag::DECIMAL => {
            let scale = r.i32()?;
            let bytes = r.bytes()?;
            Value::Decimal(
                Decimal::from_unscaled_bytes(bytes, scale).map_err(|e| r.error(e.to_string()))?,
            )
        }
        value_tag::DATE => Value::Date(r.i32()?),
        value_tag::TIME => Value::Time(r.i32()?),
        value_tag::TIMESTAMP => Value::Timestamp(r.i64()?),
        other => {
            return Err(WireError {
                message: format!("unknown value tag {other}"),
                at,
            })
        }
    })
}

/// An offset or partition map as a map value (string keys; values null,
/// boolean, int64, float64, string, or nested lists and maps).
pub fn write_offset_map(w: &mut Writer, m: &OffsetMap) {
    w.u8(value_tag::MAP);
    w.len_u32(m.len());
    for (k, v) in m {
        w.u8(value_tag::STRING);
        w.str(k);
        write_json(w, v);
    }
}

fn write_json(w: &mut Writer, v: &serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::Null => w.u8(value_tag::NULL),
        J::Bool(b) => {
            w.u8(value_tag::BOOLEAN);
            w.u8(u8::from(*b));
        }
        J::Number(n) => match n.as_i64() {
            Some(i) => {
                w.u8(value_tag::INT64);
                w.i64(i);
            }
            None => {
                w.u8(value_tag::FLOAT64);
                w.f64(n.as_f64().unwrap_or(f64::NAN));
            }
        },
        J::String(s) => {
            w.u8(value_tag::STRING);
            w.str(s);
        }
        J::Array(items) => {
            w.u8(value_tag::ARRAY);
            w.len_u32(items.len());
            for i in items {
                write_json(w, i);
            }
        }
        J::Object(m) => write_offset_map(w, m),
    }
}

/// Reads an offset or partition map (a null reads as an empty map),
/// straight into JSON: offsets cross with every source record.
pub fn read_offset_map(r: &mut Reader<'_>) -> Result<OffsetMap, WireError> {
    match r.u8()? {
        value_tag::NULL => Ok(OffsetMap::new()),
        value_tag::MAP => read_json_entries(r, 0),
        _ => Err(r.error("an offset map is not a map")),
    }
}

/// The entries of a map value whose keys are strings, as a JSON object.
fn read_json_entries(r: &mut Reader<'_>, depth: usize) -> Result<OffsetMap, WireError> {
    let n = r.count(2)?;
    let mut m = OffsetMap::with_capacity(n);
    for _ in 0..n {
        if r.u8()? != value_tag::STRING {
            return Err(r.error("an offset map key is not a string"));
        }
        let key = r.str()?.to_owned();
        m.insert(key, read_json(r, depth + 1)?);
    }
    Ok(m)
}

/// A value inside an offset map, as JSON.
fn read_json(r: &mut Reader<'_>, depth: usize) -> Result<serde_json::Value, WireError> {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return Err(r.error("values nest too deeply"));
    }
    let at = r.position();
    Ok(match r.u8()? {
        value_tag::NULL => J::Null,
        value_tag::BOOLEAN => J::Bool(r.u8()? != 0),
        value_tag::INT8 => J::from(r.i8()?),
        value_tag::INT16 => J::from(r.i16()?),
        value_tag::INT32 | value_tag::DATE | value_tag::TIME => J::from(r.i32()?),
        value_tag::INT64 | value_tag::TIMESTAMP => J::from(r.i64()?),
        value_tag::FLOAT32 => J::from(f64::from(r.f32()?)),
        value_tag::FLOAT64 => J::from(r.f64()?),
        value_tag::STRING => J::String(r.str()?.to_owned()),
        value_tag::ARRAY => {
            let n = r.count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(read_json(r, depth + 1)?);
            }
            J::Array(items)
        }
        value_tag::MAP => J::Object(read_json_entries(r, depth)?),
        tag => {
            let kind = match tag {
                value_tag::BYTES => "bytes value",
                value_tag::STRUCT => "struct",
                value_tag::DECIMAL => "decimal",
                _ => "value of an unknown tag",
            };
            return Err(WireError {
                message: format!("an offset map holds a {kind}, not a primitive"),
                at,
            });
        }
    })
}

fn write_headers(w: &mut Writer, table: &mut SchemaTable, headers: &Headers) {
    w.len_u32(headers.len());
    for h in headers {
        w.str(&h.key);
        w.u32(table.add_opt(h.schema.as_ref()));
        write_value(w, table, &h.value);
    }
}

fn read_headers(r: &mut Reader<'_>, schemas: &Schemas) -> Result<Headers, WireError> {
    let n = r.count(9)?;
    let mut headers = Headers::new();
    for _ in 0..n {
        let key = r.str()?.to_owned();
        let schema = schemas.read_ref(r)?;
        headers.add(key, schema, read_value(r, schemas)?);
    }
    Ok(headers)
}

fn write_timestamp(w: &mut Writer, t: Option<i64>) {
    w.u8(u8::from(t.is_some()));
    w.i64(t.unwrap_or(0));
}

fn read_timestamp(r: &mut Reader<'_>) -> Result<Option<i64>, WireError> {
    let present = r.u8()? != 0;
    let t = r.i64()?;
    Ok(present.then_some(t))
}

/// A record type that crosses the boundary in batches.
pub trait WireRecord: Sized {
    /// Writes the part of the batch that precedes the record count (after
    /// the schema table): nothing for sink records, the source partition
    /// table for source records.
    fn write_prelude(ctx: &mut Self::Encoder, w: &mut Writer);
    /// Per-batch state of the encoder (the partition table).
    type Encoder: Default;
    /// Per-batch state of the decoder.
    type Decoder;
    /// Writes one record into the body.
    fn write(&self, ctx: &mut Self::Encoder, table: &mut SchemaTable, w: &mut Writer);
    /// Reads the prelude.
    fn read_prelude(r: &mut Reader<'_>) -> Result<Self::Decoder, WireError>;
    /// Reads one record.
    fn read(r: &mut Reader<'_>, ctx: &Self::Decoder, schemas: &Schemas) -> Result<Self, WireError>;
}

/// A source batch's table of source partitions.
#[derive(Default)]
pub struct PartitionTable {
    partitions: Vec<Arc<OffsetMap>>,
}

impl WireRecord for SourceRecord {
    type Encoder = PartitionTable;
    type Decoder = Vec<Arc<OffsetMap>>;

    fn write_prelude(ctx: &mut PartitionTable, w: &mut Writer) {
        w.len_u32(ctx.partitions.len());
        for p in &ctx.partitions {
            write_offset_map(w, p);
        }
    }

    fn write(&self, ctx: &mut PartitionTable, table: &mut SchemaTable, w: &mut Writer) {
        let partition = if self.source_partition.is_empty() {
            NO_PARTITION
        } else {
            let found = ctx.partitions.iter().position(|p| {
                Arc::ptr_eq(p, &self.source_partition) || **p == *self.source_partition
            });
            let i = found.unwrap_or_else(|| {
                ctx.partitions.push(Arc::clone(&self.source_partition));
                ctx.partitions.len() - 1
            });
            i as u32
        };
        w.u32(partition);
        write_offset_map(w, &self.source_offset);
        w.str(&self.topic);
        w.i32(self.kafka_partition.unwrap_or(ANY_PARTITION));
        w.u32(table.add_opt(self.key_schema.as_ref()));
        write_value(w, table, &self.key);
        w.u32(table.add_opt(self.value_schema.as_ref()));
        write_value(w, table, &self.value);
        write_timestamp(w, self.timestamp);
        write_headers(w, table, &self.headers);
    }

    fn read_prelude(r: &mut Reader<'_>) -> Result<Vec<Arc<OffsetMap>>, WireError> {
        let n = r.count(5)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(Arc::new(read_offset_map(r)?));
        }
        Ok(out)
    }

    fn read(
        r: &mut Reader<'_>,
        partitions: &Vec<Arc<OffsetMap>>,
        schemas: &Schemas,
    ) -> Result<Self, WireError> {
        let p = r.u32()?;
        let source_partition = if p == NO_PARTITION {
            Arc::new(OffsetMap::new())
        } else {
            partitions
                .get(p as usize)
                .cloned()
                .ok_or_else(|| r.error(format!("partition index {p} is not in the table")))?
        };
        let source_offset = read_offset_map(r)?;
        let topic = r.str()?.to_owned();
        let kafka_partition = Some(r.i32()?).filter(|p| *p >= 0);
        let key_schema = schemas.read_ref(r)?;
        let key = read_value(r, schemas)?;
        let value_schema = schemas.read_ref(r)?;
        let value = read_value(r, schemas)?;
        let timestamp = read_timestamp(r)?;
        let headers = read_headers(r, schemas)?;
        Ok(SourceRecord {
            source_partition,
            source_offset,
            topic,
            kafka_partition,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            headers,
        })
    }
}

impl WireRecord for SinkRecord {
    type Encoder = ();
    type Decoder = ();

    fn write_prelude(_: &mut (), _: &mut Writer) {}

    fn write(&self, _: &mut (), table: &mut SchemaTable, w: &mut Writer) {
        w.str(&self.topic);
        w.i32(self.kafka_partition);
        w.i64(self.kafka_offset);
        w.u32(table.add_opt(self.key_schema.as_ref()));
        write_value(w, table, &self.key);
        w.u32(table.add_opt(self.value_schema.as_ref()));
        write_value(w, table, &self.value);
        write_timestamp(w, self.timestamp);
        w.u8(match self.timestamp_type {
            TimestampType::NoTimestampType => timestamp_type::NONE,
            TimestampType::CreateTime => timestamp_type::CREATE_TIME,
            TimestampType::LogAppendTime => timestamp_type::LOG_APPEND_TIME,
        });
        write_headers(w, table, &self.headers);
        // The original topic, partition and offset (Kafka Connect's
        // `originalTopic()` …), the current ones when no transformation
        // moved the record.
        w.str(self.original_topic());
        w.i32(self.original_kafka_partition());
        w.i64(self.original_kafka_offset());
    }

    fn read_prelude(_: &mut Reader<'_>) -> Result<(), WireError> {
        Ok(())
    }

    fn read(r: &mut Reader<'_>, _: &(), schemas: &Schemas) -> Result<Self, WireError> {
        let topic = r.str()?.to_owned();
        let kafka_partition = r.i32()?;
        let kafka_offset = r.i64()?;
        let key_schema = schemas.read_ref(r)?;
        let key = read_value(r, schemas)?;
        let value_schema = schemas.read_ref(r)?;
        let value = read_value(r, schemas)?;
        let timestamp = read_timestamp(r)?;
        let timestamp_type = match r.u8()? {
            timestamp_type::CREATE_TIME => TimestampType::CreateTime,
            timestamp_type::LOG_APPEND_TIME => TimestampType::LogAppendTime,
            _ => TimestampType::NoTimestampType,
        };
        let headers = read_headers(r, schemas)?;
        // Originals: see `write`; kept only when they differ, as the
        // runtime does.
        let original_topic = r.str()?;
        let original_partition = r.i32()?;
        let original_offset = r.i64()?;
        let original = (original_topic != topic
            || original_partition != kafka_partition
            || original_offset != kafka_offset)
            .then(|| OriginalPosition {
                topic: original_topic.to_owned(),
                partition: original_partition,
                offset: original_offset,
            });
        Ok(SinkRecord {
            original,
            topic,
            kafka_partition,
            kafka_offset,
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            timestamp_type,
            headers,
        })
    }
}

/// Encodes batches, keeping its scratch space from one batch to the next
/// (a task encodes a batch about the size of the last one, every call).
#[derive(Debug, Default)]
pub struct BatchEncoder {
    body: Vec<u8>,
    head: Vec<u8>,
    /// Room left before the body by [`encode_batch_framed`](Self::encode_batch_framed)
    /// for what precedes it; grows to the largest head seen.
    headroom: usize,
    /// Where the last framed batch starts in `body`.
    framed_start: usize,
}

/// The head room a first framed batch gets: the tables of a batch of one
/// or two simple schemas, the prelude and the count.
const MIN_HEADROOM: usize = 256;

impl BatchEncoder {
    /// `batch := schemas, prelude, u32 count, record*`, appended to `out`.
    pub fn encode_batch<'a, R: WireRecord + 'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a R>,
        out: &mut Writer,
    ) {
        self.encode_items(records.into_iter().map(Some), false, out);
    }

    /// The batch [`encode_batch`](Self::encode_batch) writes, built in the
    /// encoder's own buffer and borrowed from it. The records are written
    /// once: the body goes after room left for the tables and the count,
    /// which are then put right before it (the body's bytes are most of a
    /// batch, and copying them again cost a sink plugin a tenth of its
    /// encoding).
    pub fn encode_batch_framed<'a, R: WireRecord + 'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a R>,
    ) -> &[u8] {
        let headroom = self.headroom.max(MIN_HEADROOM);
        let mut body = Writer::reusing(std::mem::take(&mut self.body));
        body.zeros(headroom);
        let (table, mut ctx, n) = write_body(records.into_iter().map(Some), false, &mut body);
        let mut head = Writer::reusing(std::mem::take(&mut self.head));
        write_head::<R>(&table, &mut ctx, n, &mut head);
        let mut body = body.into_vec();
        let start = if head.len() <= headroom {
            let start = headroom - head.len();
            body[start..headroom].copy_from_slice(head.as_slice());
            self.head = head.into_vec();
            start
        } else {
            // Larger tables than before: this batch is copied once, the
            // next ones get the room.
            self.headroom = head.len().next_power_of_two();
            let mut whole = head;
            whole.append(&body[headroom..]);
            self.head = std::mem::replace(&mut body, whole.into_vec());
            0
        };
        self.body = body;
        self.framed_start = start;
        &self.body[start..]
    }

    /// The batch the last [`encode_batch_framed`](Self::encode_batch_framed)
    /// wrote, for a caller that hands the encoder to another thread.
    pub fn last_framed(&self) -> &[u8] {
        self.body.get(self.framed_start..).unwrap_or_default()
    }

    /// A transform result: `schemas, prelude, u32 count, (u8 kept, record
    /// if kept)*`.
    pub fn encode_results<'a, R: WireRecord + 'a>(
        &mut self,
        records: impl IntoIterator<Item = Option<&'a R>>,
        out: &mut Writer,
    ) {
        self.encode_items(records, true, out);
    }

    fn encode_items<'a, R: WireRecord + 'a>(
        &mut self,
        records: impl IntoIterator<Item = Option<&'a R>>,
        marked: bool,
        out: &mut Writer,
    ) {
        // The body is written first, the tables it fills precede it.
        let mut body = Writer::reusing(std::mem::take(&mut self.body));
        let (table, mut ctx, n) = write_body(records, marked, &mut body);
        write_head::<R>(&table, &mut ctx, n, out);
        out.append(body.as_slice());
        self.body = body.into_vec();
    }
}

/// Writes the records (each after a kept mark when `marked`), filling the
/// schema table and the record type's encoder state; returns them with the
/// record count.
fn write_body<'a, R: WireRecord + 'a>(
    records: impl IntoIterator<Item = Option<&'a R>>,
    marked: bool,
    body: &mut Writer,
) -> (SchemaTable, R::Encoder, u32) {
    let mut table = SchemaTable::default();
    let mut ctx = R::Encoder::default();
    let mut n = 0u32;
    for r in records {
        n += 1;
        if marked {
            body.u8(u8::from(r.is_some()));
        }
        if let Some(r) = r {
            r.write(&mut ctx, &mut table, body);
        }
    }
    (table, ctx, n)
}

/// `schemas, prelude, u32 count`: what precedes a batch's records.
fn write_head<R: WireRecord>(table: &SchemaTable, ctx: &mut R::Encoder, n: u32, out: &mut Writer) {
    table.write(out);
    R::write_prelude(ctx, out);
    out.u32(n);
}

/// `batch := schemas, prelude, u32 count, record*`, appended to `out`.
pub fn encode_batch<'a, R: WireRecord + 'a>(
    records: impl IntoIterator<Item = &'a R>,
    out: &mut Writer,
) {
    BatchEncoder::default().encode_batch(records, out);
}

/// A transform result: `schemas, prelude, u32 count, (u8 kept, record if
/// kept)*`.
pub fn encode_results<'a, R: WireRecord + 'a>(
    records: impl IntoIterator<Item = Option<&'a R>>,
    out: &mut Writer,
) {
    BatchEncoder::default().encode_results(records, out);
}

/// Reads a batch written by [`encode_batch`].
pub fn decode_batch<R: WireRecord>(bytes: &[u8]) -> Result<Vec<R>, WireError> {
    let mut r = Reader::new(bytes);
    let (ctx, schemas, n) = read_batch_head::<R>(&mut r)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(R::read(&mut r, &ctx, &schemas)?);
    }
    r.finish()?;
    Ok(out)
}

/// Reads a transform result written by [`encode_results`].
pub fn decode_results<R: WireRecord>(bytes: &[u8]) -> Result<Vec<Option<R>>, WireError> {
    let mut r = Reader::new(bytes);
    let (ctx, schemas, n) = read_batch_head::<R>(&mut r)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kept = r.u8()? != 0;
        out.push(if kept {
            Some(R::read(&mut r, &ctx, &schemas)?)
        } else {
            None
        });
    }
    r.finish()?;
    Ok(out)
}

/// The schema table, the prelude and the record count of a batch.
fn read_batch_head<R: WireRecord>(
    r: &mut Reader<'_>,
) -> Result<(R::Decoder, Schemas, usize), WireError> {
    let schemas = Schemas::read(r)?;
    let ctx = R::read_prelude(r)?;
    let n = r.count(1)?;
    Ok((ctx, schemas, n))
}

/// `data := schemas, u32 schema ref, value`: one schema and value, as a
/// converter takes and returns them.
pub fn encode_data(schema: Option<&Schema>, value: &Value, out: &mut Writer) {
    let mut table = SchemaTable::default();
    let mut body = Writer::new();
    body.u32(table.add_opt(schema));
    write_value(&mut body, &mut table, value);
    table.write(out);
    out.append(body.as_slice());
}

/// Reads what [`encode_data`] wrote.
pub fn decode_data(bytes: &[u8]) -> Result<(Option<Schema>, Value), WireError> {
    let mut r = Reader::new(bytes);
    let schemas = Schemas::read(&mut r)?;
    let schema = schemas.read_ref(&mut r)?;
    let value = read_value(&mut r, &schemas)?;
    r.finish()?;
    Ok((schema, value))
}

/// One item a converter turns into bytes: topic, header key (`""` but
/// for header converters), schema and value.
pub type ToBytesItem<'a> = (&'a str, &'a str, Option<&'a Schema>, &'a Value);

/// One payload a converter turns into Connect data: topic, header key
/// (`""` but for header converters) and the bytes (`None` = null).
pub type FromBytesItem<'a> = (&'a str, &'a str, Option<&'a [u8]>);

/// `to-bytes items := schemas, u32 n, (str topic, str header key,
/// u32 schema ref, value)*`.
pub fn encode_to_bytes_items<'a>(items: &[ToBytesItem<'a>], out: &mut Writer) {
    let mut table = SchemaTable::default();
    let mut body = Writer::new();
    body.len_u32(items.len());
    for (topic, key, schema, value) in items {
        body.str(topic);
        body.str(key);
        body.u32(table.add_opt(*schema));
        write_value(&mut body, &mut table, value);
    }
    table.write(out);
    out.append(body.as_slice());
}

/// Reads what [`encode_to_bytes_items`] wrote; the texts borrow `bytes`.
#[allow(clippy::type_complexity)]
pub fn decode_to_bytes_items(
    bytes: &[u8],
) -> Result<Vec<(&str, &str, Option<Schema>, Value)>, WireError> {
    let mut r = Reader::new(bytes);
    let schemas = Schemas::read(&mut r)?;
    let n = r.count(10)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let topic = r.str()?;
        let key = r.str()?;
        let schema = schemas.read_ref(&mut r)?;
        let value = read_value(&mut r, &schemas)?;
        out.push((topic, key, schema, value));
    }
    r.finish()?;
    Ok(out)
}

/// `to-bytes results := u32 n, (u8 present, bytes payload)*`.
pub fn encode_to_bytes_results(results: &[Option<Vec<u8>>], out: &mut Writer) {
    out.len_u32(results.len());
    for r in results {
        out.u8(u8::from(r.is_some()));
        out.bytes(r.as_deref().unwrap_or_default());
    }
}

/// Reads what [`encode_to_bytes_results`] wrote.
pub fn decode_to_bytes_results(bytes: &[u8]) -> Result<Vec<Option<Vec<u8>>>, WireError> {
    let mut r = Reader::new(bytes);
    let n = r.count(5)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let present = r.u8()? != 0;
        let payload = r.bytes()?;
        out.push(present.then(|| payload.to_vec()));
    }
    r.finish()?;
    Ok(out)
}

/// `from-bytes items := u32 n, (str topic, str header key, u8 present,
/// bytes payload)*`.
pub fn encode_from_bytes_items(items: &[FromBytesItem<'_>], out: &mut Writer) {
    out.len_u32(items.len());
    for (topic, key, payload) in items {
        out.str(topic);
        out.str(key);
        out.u8(u8::from(payload.is_some()));
        out.bytes(payload.unwrap_or_default());
    }
}

/// Reads what [`encode_from_bytes_items`] wrote, borrowing `bytes`.
pub fn decode_from_bytes_items(bytes: &[u8]) -> Result<Vec<FromBytesItem<'_>>, WireError> {
    let mut r = Reader::new(bytes);
    let n = r.count(13)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let topic = r.str()?;
        let key = r.str()?;
        let present = r.u8()? != 0;
        let payload = r.bytes()?;
        out.push((topic, key, present.then_some(payload)));
    }
    r.finish()?;
    Ok(out)
}

/// `from-bytes results := schemas, u32 n, (u32 schema ref, value)*`.
pub fn encode_from_bytes_results(results: &[(Option<Schema>, Value)], out: &mut Writer) {
    let mut table = SchemaTable::default();
    let mut body = Writer::new();
    body.len_u32(results.len());
    for (schema, value) in results {
        body.u32(table.add_opt(schema.as_ref()));
        write_value(&mut body, &mut table, value);
    }
    table.write(out);
    out.append(body.as_slice());
}

/// Reads what [`encode_from_bytes_results`] wrote.
pub fn decode_from_bytes_results(bytes: &[u8]) -> Result<Vec<(Option<Schema>, Value)>, WireError> {
    let mut r = Reader::new(bytes);
    let schemas = Schemas::read(&mut r)?;
    let n = r.count(5)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let schema = schemas.read_ref(&mut r)?;
        let value = read_value(&mut r, &schemas)?;
        out.push((schema, value));
    }
    r.finish()?;
    Ok(out)
}

/// `props := u32 count, (str key, str value)*`.
pub fn encode_props(props: &Props, out: &mut Writer) {
    out.len_u32(props.len());
    for (k, v) in props {
        out.str(k);
        out.str(v);
    }
}

fn read_props(r: &mut Reader<'_>) -> Result<Props, WireError> {
    let n = r.count(8)?;
    let mut props = Props::new();
    for _ in 0..n {
        let k = r.str()?.to_owned();
        props.insert(k, r.str()?.to_owned());
    }
    Ok(props)
}

/// Reads what [`encode_props`] wrote.
pub fn decode_props(bytes: &[u8]) -> Result<Props, WireError> {
    let mut r = Reader::new(bytes);
    let props = read_props(&mut r)?;
    r.finish()?;
    Ok(props)
}

/// `task_configs := u32 count, props*`.
pub fn encode_task_configs(configs: &[Props], out: &mut Writer) {
    out.len_u32(configs.len());
    for c in configs {
        encode_props(c, out);
    }
}

/// Reads what [`encode_task_configs`] wrote.
pub fn decode_task_configs(bytes: &[u8]) -> Result<Vec<Props>, WireError> {
    let mut r = Reader::new(bytes);
    let n = r.count(4)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(read_props(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// `partitions := u32 count, (str topic, i32 partition)*`.
pub fn encode_partitions(partitions: &[TopicPartition], out: &mut Writer) {
    out.len_u32(partitions.len());
    for tp in partitions {
        out.str(&tp.topic);
        out.i32(tp.partition);
    }
}

/// Reads what [`encode_partitions`] wrote.
pub fn decode_partitions(bytes: &[u8]) -> Result<Vec<TopicPartition>, WireError> {
    let mut r = Reader::new(bytes);
    let n = r.count(8)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let topic = r.str()?;
        out.push(TopicPartition::new(topic, r.i32()?));
    }
    r.finish()?;
    Ok(out)
}

/// `offsets := u32 count, (str topic, i32 partition, i64 offset)*`.
pub fn encode_offsets(offsets: &BTreeMap<TopicPartition, i64>, out: &mut Writer) {
    out.len_u32(offsets.len());
    for (tp, offset) in offsets {
        out.str(&tp.topic);
        out.i32(tp.partition);
        out.i64(*offset);
    }
}

/// Reads what [`encode_offsets`] wrote.
pub fn decode_offsets(bytes: &[u8]) -> Result<BTreeMap<TopicPartition, i64>, WireError> {
    let mut r = Reader::new(bytes);
    let n = r.count(16)?;
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let topic = r.str()?;
        let partition = r.i32()?;
        out.insert(TopicPartition::new(topic, partition), r.i64()?);
    }
    r.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    fn person() -> Schema {
        SchemaBuilder::struct_()
            .name("com.example.Person")
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .field(
                "tags",
                SchemaBuilder::array(Schema::string()).optional().build(),
            )
            .field("price", SchemaBuilder::decimal(2).optional().build())
            .build()
    }

    #[test]
    fn source_batches_round_trip_sharing_schemas_and_partitions() {
        let schema = person();
        let partition = Arc::new(OffsetMap::from_iter([(
            "file".to_string(),
            serde_json::json!("/tmp/in.txt"),
        )]));
        let records: Vec<SourceRecord> = (0..3)
            .map(|i| {
                let value = Struct::new(schema.clone())
                    .and_then(|s| s.put("id", i))
                    .and_then(|s| s.put("price", Value::Decimal(Decimal::new(1234, 2))))
                    .expect("a valid struct");
                let mut headers = Headers::new();
                headers.add("h", Some(Schema::string()), Value::from("v"));
                SourceRecord {
                    source_partition: Arc::clone(&partition),
                    source_offset: OffsetMap::from_iter([(
                        "position".to_string(),
                        serde_json::json!(i * 10),
                    )]),
                    topic: "t".into(),
                    kafka_partition: (i == 1).then_some(2),
                    key: Value::Bytes(vec![1, 2]),
                    value_schema: Some(schema.clone()),
                    value: Value::Struct(value),
                    timestamp: Some(1_700_000_000_000),
                    headers,
                    ..Default::default()
                }
            })
            .collect();
        let mut w = Writer::new();
        encode_batch(&records, &mut w);
        let bytes = w.into_vec();
        let back: Vec<SourceRecord> = decode_batch(&bytes).expect("decodes");
        assert_eq!(back, records);
        assert!(Arc::ptr_eq(
            &back[0].source_partition,
            &back[2].source_partition
        ));
        // One struct schema in the table however many records use it.
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u32(), Ok(2), "the struct schema and the header's");
    }

    #[test]
    fn converter_batches_round_trip() {
        let schema = person();
        let value = Value::Struct(
            Struct::new(schema.clone())
                .and_then(|s| s.put("id", 7))
                .expect("a valid struct"),
        );
        let null = Value::Null;
        let items: Vec<ToBytesItem<'_>> = vec![
            ("t", "", Some(&schema), &value),
            ("t", "h", None, &null),
            ("u", "", Some(&schema), &value),
        ];
        let mut w = Writer::new();
        encode_to_bytes_items(&items, &mut w);
        let bytes = w.into_vec();
        let back = decode_to_bytes_items(&bytes).expect("decodes");
        assert_eq!(back.len(), 3);
        assert_eq!(
            (back[1].0, back[1].1, &back[1].2, &back[1].3),
            ("t", "h", &None, &null)
        );
        assert_eq!(back[2].2.as_ref(), Some(&schema));
        assert_eq!(back[2].3, value);
        // One schema in the table for both records that use it.
        assert_eq!(Reader::new(&bytes).u32(), Ok(1));

        let results = vec![Some(b"abc".to_vec()), None, Some(Vec::new())];
        let mut w = Writer::new();
        encode_to_bytes_results(&results, &mut w);
        assert_eq!(decode_to_bytes_results(w.as_slice()), Ok(results));

        let payloads: Vec<FromBytesItem<'_>> = vec![("t", "", Some(b"x")), ("t", "k", None)];
        let mut w = Writer::new();
        encode_from_bytes_items(&payloads, &mut w);
        assert_eq!(decode_from_bytes_items(w.as_slice()), Ok(payloads));

        let data = vec![(Some(schema.clone()), value.clone()), (None, Value::Null)];
        let mut w = Writer::new();
        encode_from_bytes_results(&data, &mut w);
        assert_eq!(decode_from_bytes_results(w.as_slice()), Ok(data));
        // Truncated input is an error, not a panic.
        let bytes = w.into_vec();
        assert!(decode_from_bytes_results(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn sink_batches_and_results_round_trip() {
        let records = vec![
            SinkRecord {
                topic: "in".into(),
                kafka_partition: 3,
                kafka_offset: 99,
                key_schema: Some(Schema::optional_string()),
                key: Value::Null,
                value: Value::Map(vec![(Value::from("a"), Value::Float64(1.5))]),
                timestamp: Some(5),
                timestamp_type: TimestampType::LogAppendTime,
                ..Default::default()
            },
            SinkRecord::default(),
        ];
        let mut w = Writer::new();
        encode_batch(&records, &mut w);
        assert_eq!(
            decode_batch::<SinkRecord>(w.as_slice()),
            Ok(records.clone())
        );
        let mut w = Writer::new();
        encode_results([None, Some(&records[1])], &mut w);
        assert_eq!(
            decode_results::<SinkRecord>(w.as_slice()),
            Ok(vec![None, Some(records[1].clone())])
        );
    }

    #[test]
    fn framed_batches_are_the_batches_whatever_their_tables() {
        let record = |i: i64, schema: Option<Schema>| SinkRecord {
            topic: "in".into(),
            kafka_offset: i,
            value_schema: schema,
            value: Value::from(format!("v{i}")),
            ..Default::default()
        };
        let small: Vec<SinkRecord> = (0..3).map(|i| record(i, Some(Schema::string()))).collect();
        // Tables larger than the first head room: many distinct schemas.
        let large: Vec<SinkRecord> = (0..40)
            .map(|i| {
                let schema = SchemaBuilder::struct_()
                    .name(format!("com.example.Record{i}"))
                    .field("a_rather_long_field_name", Schema::optional_string())
                    .build();
                SinkRecord {
                    value: Value::Null,
                    ..record(i, Some(schema))
                }
            })
            .collect();
        let mut encoder = BatchEncoder::default();
        // Small, then a larger head than there is room for (copied once),
        // then large and small again with the room grown.
        for batch in [&small, &large, &large, &small, &Vec::new()] {
            let mut w = Writer::new();
            encode_batch(batch.iter(), &mut w);
            let framed = encoder.encode_batch_framed(batch.iter());
            assert_eq!(framed, w.as_slice());
            assert_eq!(decode_batch::<SinkRecord>(framed).as_ref(), Ok(batch));
        }
    }

    #[test]
    fn small_things_round_trip() {
        let mut w = Writer::new();
        let schema = SchemaBuilder::timestamp().optional().build();
        encode_data(Some(&schema), &Value::Timestamp(7), &mut w);
        assert_eq!(
            decode_data(w.as_slice()),
            Ok((Some(schema), Value::Timestamp(7)))
        );
        let props = Props::from([("a".into(), "1".into()), ("b".into(), String::new())]);
        let mut w = Writer::new();
        encode_task_configs(&[props.clone(), Props::new()], &mut w);
        assert_eq!(
            decode_task_configs(w.as_slice()),
            Ok(vec![props, Props::new()])
        );
        let offsets = BTreeMap::from([(TopicPartition::new("t", 1), 5i64)]);
        let mut w = Writer::new();
        encode_offsets(&offsets, &mut w);
        assert_eq!(decode_offsets(w.as_slice()), Ok(offsets));
    }

    #[test]
    fn garbage_is_refused_not_trusted() {
        assert!(decode_batch::<SinkRecord>(&[1, 0, 0, 0, 99]).is_err());
        assert!(decode_batch::<SourceRecord>(&[0, 0, 0, 0, 0, 0, 0, 0, 1]).is_err());
        // A struct value naming a schema ref that is not there.
        let mut w = Writer::new();
        w.u32(0);
        w.u32(0);
        w.u8(value_tag::STRUCT);
        w.u32(1);
        assert!(decode_data(w.as_slice()).is_err());
    }
}
