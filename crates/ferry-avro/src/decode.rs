//! Avro back to Connect data, as Confluent's `AvroData.toConnectSchema` /
//! `toConnectData` read it: the `connect.*` properties give back the
//! Connect schema's name, version, doc, parameters and default; int8 and
//! int16 their width; logical types their Connect logical types; arrays
//! of `MapEntry` records their maps.

use std::collections::HashMap;
use std::io::Read;

use ferry_api::data::logical;
use ferry_api::{Decimal, Schema, SchemaBuilder, SchemaType, Struct, Value};
use serde_json::Value as Json;

use crate::schema::{AvroSchema, NAMESPACE};
use crate::AvroError;

/// A parsed Avro schema: what the decoder walks, and the Connect schema.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub shape: AvroSchema,
    pub connect: Schema,
}

fn bad(msg: impl Into<String>) -> AvroError {
    AvroError::Value(msg.into())
}

/// Parses an Avro schema's JSON into its shape and its Connect schema.
pub fn parse_schema(text: &str) -> Result<Parsed, AvroError> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| bad(format!("an Avro schema that is not JSON: {e}")))?;
    let mut names = HashMap::new();
    parse(&json, "", &mut names)
}

fn parse(j: &Json, space: &str, names: &mut HashMap<String, Parsed>) -> Result<Parsed, AvroError> {
    match j {
        Json::String(t) => primitive(t, None, space, names),
        Json::Array(branches) => {
            // Only the unions AvroData writes: null and one other type.
            let non_null: Vec<&Json> = branches
                .iter()
                .filter(|b| b.as_str() != Some("null"))
                .collect();
            if branches.len() != 2 || non_null.len() != 1 {
                return Err(bad("unions other than [\"null\", T] are not supported"));
            }
            let null_first = branches[0].as_str() == Some("null");
            let inner = parse(non_null[0], space, names)?;
            Ok(Parsed {
                shape: AvroSchema::Optional {
                    inner: Box::new(inner.shape),
                    null_first,
                },
                connect: inner.connect.to_builder().optional().build(),
            })
        }
        Json::Object(m) => {
            let t = m
                .get("type")
                .ok_or_else(|| bad("an Avro schema without a type"))?;
            match t {
                Json::String(t) => primitive(t, Some(m), space, names),
                other => parse(other, space, names),
            }
        }
        _ => Err(bad(format!("not an Avro schema: {j}"))),
    }
}

fn full_name(m: &serde_json::Map<String, Json>, space: &str) -> (String, String) {
    let name = m.get("name").and_then(Json::as_str).unwrap_or_default();
    if name.contains('.') {
        let ns = name
            .rsplit_once('.')
            .map(|(n, _)| n)
            .unwrap_or_default()
            .to_owned();
        return (name.to_owned(), ns);
    }
    let ns = m
        .get("namespace")
        .and_then(Json::as_str)
        .map_or_else(|| space.to_owned(), str::to_owned);
    let full = if ns.is_empty() {
        name.to_owned()
    } else {
        format!("{ns}.{name}")
    };
    (full, ns)
}

/// Applies the `connect.*` properties of `m` to `b`.
fn with_meta(mut b: SchemaBuilder, m: Option<&serde_json::Map<String, Json>>) -> SchemaBuilder {
    let Some(m) = m else { return b };
    if let Some(name) = m.get("connect.name").and_then(Json::as_str) {
        b = b.name(name);
    }
    if let Some(v) = m.get("connect.version").and_then(Json::as_i64) {
        b = b.version(i32::try_from(v).unwrap_or(0));
    }
    if let Some(d) = m.get("connect.doc").and_then(Json::as_str) {
        b = b.doc(d);
    }
    if let Some(Json::Object(params)) = m.get("connect.parameters") {
        for (k, v) in params {
            b = b.parameter(k.clone(), v.as_str().unwrap_or_default());
        }
    }
    b
}

fn primitive(
    t: &str,
    m: Option<&serde_json::Map<String, Json>>,
    space: &str,
    names: &mut HashMap<String, Parsed>,
) -> Result<Parsed, AvroError> {
    let prop = |k: &str| m.and_then(|m| m.get(k)).and_then(Json::as_str);
    let logical_type = prop("logicalType");
    let (shape, builder) = match t {
        "null" => return Err(bad("a null schema outside a union")),
        "boolean" => (AvroSchema::Boolean, SchemaBuilder::new(SchemaType::Boolean)),
        "int" => {
            let st = match (prop("connect.type"), logical_type) {
                (Some("int8"), _) => SchemaBuilder::new(SchemaType::Int8),
                (Some("int16"), _) => SchemaBuilder::new(SchemaType::Int16),
                (_, Some("date")) => SchemaBuilder::date(),
                (_, Some("time-millis")) => SchemaBuilder::time(),
                _ => SchemaBuilder::new(SchemaType::Int32),
            };
            (AvroSchema::Int, st)
        }
        "long" => match logical_type {
            Some("timestamp-millis") => (AvroSchema::Long, SchemaBuilder::timestamp()),
            _ => (AvroSchema::Long, SchemaBuilder::new(SchemaType::Int64)),
        },
        "float" => (AvroSchema::Float, SchemaBuilder::new(SchemaType::Float32)),
        "double" => (AvroSchema::Double, SchemaBuilder::new(SchemaType::Float64)),
        "string" => (AvroSchema::String, SchemaBuilder::new(SchemaType::String)),
        "bytes" => match logical_type {
            Some("decimal") => {
                let scale = m
                    .and_then(|m| m.get("scale"))
                    .and_then(Json::as_i64)
                    .unwrap_or(0);
                let scale = i32::try_from(scale).unwrap_or(0);
                (AvroSchema::Decimal { scale }, SchemaBuilder::decimal(scale))
            }
            _ => (AvroSchema::Bytes, SchemaBuilder::new(SchemaType::Bytes)),
        },
        "enum" => {
            let m = m.ok_or_else(|| bad("an enum without symbols"))?;
            let symbols: Vec<String> = m
                .get("symbols")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            let (full, _) = full_name(m, space);
            let parsed = Parsed {
                shape: AvroSchema::Enum(symbols),
                connect: with_meta(SchemaBuilder::new(SchemaType::String), Some(m)).build(),
            };
            names.insert(full, parsed.clone());
            return Ok(parsed);
        }
        "fixed" => {
            let m = m.ok_or_else(|| bad("a fixed without a size"))?;
            let size = m.get("size").and_then(Json::as_u64).unwrap_or(0) as usize;
            let (full, _) = full_name(m, space);
            let parsed = Parsed {
                shape: AvroSchema::Fixed(size),
                connect: with_meta(SchemaBuilder::new(SchemaType::Bytes), Some(m)).build(),
            };
            names.insert(full, parsed.clone());
            return Ok(parsed);
        }
        "array" => {
            let m = m.ok_or_else(|| bad("an array without items"))?;
            let items = parse(
                m.get("items")
                    .ok_or_else(|| bad("an array without items"))?,
                space,
                names,
            )?;
            // AvroData's maps with keys other than strings.
            if let (AvroSchema::Record(fields), SchemaType::Struct) =
                (&items.shape, items.connect.schema_type())
            {
                let entry = &items.connect;
                let is_entry = fields.len() == 2
                    && entry.field("key").is_some()
                    && entry.field("value").is_some()
                    && entry
                        .name()
                        .is_none_or(|n| n == format!("{NAMESPACE}.MapEntry"));
                if is_entry {
                    let key = entry
                        .field("key")
                        .map(|f| f.schema.clone())
                        .unwrap_or_else(Schema::string);
                    let value = entry
                        .field("value")
                        .map(|f| f.schema.clone())
                        .unwrap_or_else(Schema::string);
                    return Ok(Parsed {
                        shape: AvroSchema::EntryArray(
                            Box::new(fields[0].clone()),
                            Box::new(fields[1].clone()),
                        ),
                        connect: with_meta(SchemaBuilder::map(key, value), Some(m)).build(),
                    });
                }
            }
            (
                AvroSchema::Array(Box::new(items.shape)),
                SchemaBuilder::array(items.connect),
            )
        }
        "map" => {
            let m = m.ok_or_else(|| bad("a map without values"))?;
            let values = parse(
                m.get("values").ok_or_else(|| bad("a map without values"))?,
                space,
                names,
            )?;
            (
                AvroSchema::Map(Box::new(values.shape)),
                SchemaBuilder::map(Schema::string(), values.connect),
            )
        }
        "record" => {
            let m = m.ok_or_else(|| bad("a record without fields"))?;
            let (full, ns) = full_name(m, space);
            let mut b = SchemaBuilder::struct_();
            if !full.starts_with(&format!("{NAMESPACE}.ConnectDefault"))
                && !full.starts_with(&format!("{NAMESPACE}.MapEntry"))
            {
                b = b.name(full.clone());
            }
            let mut shapes = Vec::new();
            for f in m
                .get("fields")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let name = f
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("a field without a name"))?;
                let ft = parse(
                    f.get("type").ok_or_else(|| bad("a field without a type"))?,
                    &ns,
                    names,
                )?;
                shapes.push(ft.shape);
                b = b.field(name, ft.connect);
            }
            let parsed = Parsed {
                shape: AvroSchema::Record(shapes),
                connect: with_meta(b, Some(m)).build(),
            };
            names.insert(full, parsed.clone());
            return Ok(parsed);
        }
        other => {
            // A reference to a named type defined earlier.
            let full = if other.contains('.') || space.is_empty() {
                other.to_owned()
            } else {
                format!("{space}.{other}")
            };
            return names
                .get(&full)
                .or_else(|| names.get(other))
                .cloned()
                .ok_or_else(|| bad(format!("unknown Avro type '{other}'")));
        }
    };
    let mut connect = with_meta(builder, m).build();
    if let Some(d) = m.and_then(|m| m.get("connect.default")) {
        if let Ok(v) = json_default(&connect, d) {
            connect = connect.to_builder().default_value(v).build();
        }
    }
    Ok(Parsed { shape, connect })
}

/// A `connect.default` back as a Connect value.
fn json_default(schema: &Schema, j: &Json) -> Result<Value, AvroError> {
    Ok(match (schema.schema_type(), j) {
        (_, Json::Null) => Value::Null,
        (SchemaType::Int8, Json::Number(n)) => Value::Int8(n.as_i64().unwrap_or(0) as i8),
        (SchemaType::Int16, Json::Number(n)) => Value::Int16(n.as_i64().unwrap_or(0) as i16),
        (SchemaType::Int32, Json::Number(n)) => {
            let v = n.as_i64().unwrap_or(0) as i32;
            match schema.name() {
                Some(logical::DATE) => Value::Date(v),
                Some(logical::TIME) => Value::Time(v),
                _ => Value::Int32(v),
            }
        }
        (SchemaType::Int64, Json::Number(n)) => {
            let v = n.as_i64().unwrap_or(0);
            if schema.name() == Some(logical::TIMESTAMP) {
                Value::Timestamp(v)
            } else {
                Value::Int64(v)
            }
        }
        (SchemaType::Float32, Json::Number(n)) => Value::Float32(n.as_f64().unwrap_or(0.0) as f32),
        (SchemaType::Float64, Json::Number(n)) => Value::Float64(n.as_f64().unwrap_or(0.0)),
        (SchemaType::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (SchemaType::String, Json::String(s)) => Value::String(s.clone()),
        (SchemaType::Bytes, Json::String(s)) => {
            let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
            decimal_or_bytes(schema, bytes)?
        }
        _ => return Err(bad("a default of another type")),
    })
}

fn decimal_or_bytes(schema: &Schema, bytes: Vec<u8>) -> Result<Value, AvroError> {
    if schema.name() == Some(logical::DECIMAL) {
        let scale = schema
            .parameter(logical::DECIMAL_SCALE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Decimal::from_unscaled_bytes(&bytes, scale)
            .map(Value::Decimal)
            .map_err(|e| bad(e.to_string()))
    } else {
        Ok(Value::Bytes(bytes))
    }
}

/// Reads Avro's binary encoding.
pub struct Decoder<'a> {
    data: &'a [u8],
}

impl<'a> Decoder<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Decoder { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn long(&mut self) -> Result<i64, AvroError> {
        let mut z: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .data
                .split_first()
                .ok_or_else(|| bad("the data ends inside a number"))?;
            self.data = rest;
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i64 ^ -((z & 1) as i64));
            }
        }
        Err(bad("a number longer than 64 bits"))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], AvroError> {
        if n > self.data.len() {
            return Err(bad("the data ends early"));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], AvroError> {
        let n = usize::try_from(self.long()?).map_err(|_| bad("a negative length"))?;
        self.take(n)
    }

    /// One value of `shape`, as a value of the Connect schema `schema`.
    pub fn value(&mut self, shape: &AvroSchema, schema: &Schema) -> Result<Value, AvroError> {
        Ok(match shape {
            AvroSchema::Null => Value::Null,
            AvroSchema::Optional { inner, null_first } => {
                let branch = self.long()?;
                if (branch == 0) == *null_first {
                    Value::Null
                } else {
                    self.value(inner, schema)?
                }
            }
            AvroSchema::Boolean => Value::Boolean(self.take(1)?[0] != 0),
            AvroSchema::Int => {
                let n = self.long()?;
                let n32 = i32::try_from(n).map_err(|_| bad("an int out of range"))?;
                match (schema.schema_type(), schema.name()) {
                    (SchemaType::Int8, _) => Value::Int8(n32 as i8),
                    (SchemaType::Int16, _) => Value::Int16(n32 as i16),
                    (_, Some(logical::DATE)) => Value::Date(n32),
                    (_, Some(logical::TIME)) => Value::Time(n32),
                    _ => Value::Int32(n32),
                }
            }
            AvroSchema::Long => {
                let n = self.long()?;
                if schema.name() == Some(logical::TIMESTAMP) {
                    Value::Timestamp(n)
                } else {
                    Value::Int64(n)
                }
            }
            AvroSchema::Float => {
                let b = self.take(4)?;
                Value::Float32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            AvroSchema::Double => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Float64(f64::from_le_bytes(a))
            }
            AvroSchema::String => Value::String(
                std::str::from_utf8(self.bytes()?)
                    .map_err(|_| bad("a string that is not UTF-8"))?
                    .to_owned(),
            ),
            AvroSchema::Enum(symbols) => {
                let i = usize::try_from(self.long()?).map_err(|_| bad("a negative enum index"))?;
                Value::String(
                    symbols
                        .get(i)
                        .cloned()
                        .ok_or_else(|| bad("an enum index out of range"))?,
                )
            }
            AvroSchema::Bytes => decimal_or_bytes(schema, self.bytes()?.to_vec())?,
            AvroSchema::Decimal { scale } => Value::Decimal(
                Decimal::from_unscaled_bytes(self.bytes()?, *scale)
                    .map_err(|e| bad(e.to_string()))?,
            ),
            AvroSchema::Fixed(n) => decimal_or_bytes(schema, self.take(*n)?.to_vec())?,
            AvroSchema::Array(item) => {
                let item_schema = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                let mut out = Vec::new();
                self.blocks(|d| {
                    out.push(d.value(item, &item_schema)?);
                    Ok(())
                })?;
                Value::Array(out)
            }
            AvroSchema::Map(value) => {
                let value_schema = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                let mut out = Vec::new();
                self.blocks(|d| {
                    let k = std::str::from_utf8(d.bytes()?)
                        .map_err(|_| bad("a key that is not UTF-8"))?
                        .to_owned();
                    out.push((Value::String(k), d.value(value, &value_schema)?));
                    Ok(())
                })?;
                Value::Map(out)
            }
            AvroSchema::EntryArray(key, value) => {
                let key_schema = schema.key_schema().cloned().unwrap_or_else(Schema::string);
                let value_schema = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                let mut out = Vec::new();
                self.blocks(|d| {
                    let k = d.value(key, &key_schema)?;
                    out.push((k, d.value(value, &value_schema)?));
                    Ok(())
                })?;
                Value::Map(out)
            }
            AvroSchema::Record(fields) => {
                let mut s = Struct::new(schema.clone()).map_err(|e| bad(e.to_string()))?;
                for (shape, f) in fields.iter().zip(schema.fields()) {
                    let v = self.value(shape, &f.schema)?;
                    s.set(&f.name, v).map_err(|e| bad(e.to_string()))?;
                }
                Value::Struct(s)
            }
        })
    }

    fn blocks(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(), AvroError>,
    ) -> Result<(), AvroError> {
        loop {
            let mut n = self.long()?;
            if n == 0 {
                return Ok(());
            }
            if n < 0 {
                // A block with its size in bytes after the count.
                n = n
                    .checked_neg()
                    .ok_or_else(|| bad("a block count out of range"))?;
                self.long()?;
            }
            for _ in 0..n {
                item(self)?;
            }
        }
    }
}

/// Every record of an object container file, with the file's schema.
pub fn read_container(data: &[u8]) -> Result<(Parsed, Vec<Value>), AvroError> {
    let mut d = Decoder::new(data);
    if d.take(4)? != b"Obj\x01" {
        return Err(bad("not an Avro object container file"));
    }
    let mut schema_text = None;
    let mut codec = "null".to_owned();
    d.blocks(|d| {
        let k = d.bytes()?.to_vec();
        let v = d.bytes()?.to_vec();
        match k.as_slice() {
            b"avro.schema" => schema_text = Some(String::from_utf8_lossy(&v).into_owned()),
            b"avro.codec" => codec = String::from_utf8_lossy(&v).into_owned(),
            _ => {}
        }
        Ok(())
    })?;
    let sync = d.take(16)?.to_vec();
    let parsed = parse_schema(
        schema_text
            .as_deref()
            .ok_or_else(|| bad("a container without a schema"))?,
    )?;
    let mut out = Vec::new();
    let mut block = Vec::new();
    while !d.is_empty() {
        let count = d.long()?;
        let size = usize::try_from(d.long()?).map_err(|_| bad("a negative block size"))?;
        let raw = d.take(size)?;
        let data: &[u8] = match codec.as_str() {
            "null" => raw,
            "deflate" => {
                block.clear();
                flate2::read::DeflateDecoder::new(raw).read_to_end(&mut block)?;
                &block
            }
            "snappy" => {
                let body = raw
                    .get(..raw.len().saturating_sub(4))
                    .ok_or_else(|| bad("a short snappy block"))?;
                block = snap::raw::Decoder::new()
                    .decompress_vec(body)
                    .map_err(|e| bad(format!("snappy: {e}")))?;
                &block
            }
            other => return Err(bad(format!("the Avro codec '{other}' is not supported"))),
        };
        let mut records = Decoder::new(data);
        for _ in 0..count {
            out.push(records.value(&parsed.shape, &parsed.connect)?);
        }
        if d.take(16)? != sync.as_slice() {
            return Err(bad("a block's sync marker is not the file's"));
        }
    }
    Ok((parsed, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{Codec, ContainerWriter};

    #[test]
    fn containers_read_back_as_written() {
        let inner = SchemaBuilder::struct_().field("x", Schema::int32()).build();
        let schema = SchemaBuilder::struct_()
            .name("com.acme.Thing")
            .version(2)
            .field("id", Schema::int64())
            .field("tiny", Schema::int8())
            .field("note", Schema::optional_string())
            .field("price", SchemaBuilder::decimal(2).build())
            .field("day", SchemaBuilder::date().build())
            .field(
                "tags",
                SchemaBuilder::map(Schema::string(), Schema::int32()).build(),
            )
            .field(
                "codes",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .field("a", inner.clone())
            .field("b", inner.clone())
            .build();
        let value = |i: i64| {
            let a = Struct::new(inner.clone())
                .unwrap()
                .put("x", Value::Int32(i as i32))
                .unwrap();
            Value::Struct(
                Struct::new(schema.clone())
                    .unwrap()
                    .put("id", Value::Int64(i))
                    .unwrap()
                    .put("tiny", Value::Int8(-3))
                    .unwrap()
                    .put(
                        "note",
                        if i == 1 {
                            Value::Null
                        } else {
                            Value::String(format!("n{i}"))
                        },
                    )
                    .unwrap()
                    .put(
                        "price",
                        Value::Decimal(Decimal::new(1234 + i128::from(i as i32), 2)),
                    )
                    .unwrap()
                    .put("day", Value::Date(19_723))
                    .unwrap()
                    .put(
                        "tags",
                        Value::Map(vec![(Value::String("k".into()), Value::Int32(7))]),
                    )
                    .unwrap()
                    .put(
                        "codes",
                        Value::Map(vec![(Value::Int32(1), Value::String("one".into()))]),
                    )
                    .unwrap()
                    .put("a", Value::Struct(a.clone()))
                    .unwrap()
                    .put("b", Value::Struct(a))
                    .unwrap(),
            )
        };
        let converted = crate::from_connect(&schema).unwrap();
        for codec in [Codec::Null, Codec::Deflate, Codec::Snappy] {
            let mut file = Vec::new();
            let mut w = ContainerWriter::start(&converted.json, codec, [7; 16], &mut file).unwrap();
            for i in 0..3 {
                crate::encode::encode(&converted.shape, &value(i), w.buffer()).unwrap();
                w.appended(&mut file).unwrap();
            }
            w.finish(&mut file).unwrap();
            let (parsed, values) = read_container(&file).unwrap();
            assert_eq!(parsed.connect, schema, "{codec:?}");
            assert_eq!(values, (0..3).map(value).collect::<Vec<_>>(), "{codec:?}");
        }
    }
}
