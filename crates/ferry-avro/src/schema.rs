//! Connect schema → Avro schema, as Confluent's `AvroData.fromConnectSchema`
//! makes it (with `connect.meta.data` and `enhanced.avro.schema.support`
//! on, as the storage connectors configure it), written as Avro 1.11's
//! `Schema.toString()` writes it, property order included.

use ferry_api::data::logical;
use ferry_api::{Schema, SchemaType, Value};
use serde_json::{Map, Value as Json};

use crate::AvroError;

/// Confluent's namespace for records that have no name of their own.
pub const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_NAME: &str = "ConnectDefault";
const MAP_ENTRY: &str = "MapEntry";
const PRECISION_PARAM: &str = "connect.decimal.precision";
const FIELD_DEFAULT_PARAM: &str = "io.confluent.connect.avro.field.default";
const RECORD_DOC_PARAM: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const ENUM_PARAM: &str = "io.confluent.connect.avro.Enum";
const DEFAULT_PRECISION: i64 = 64;

/// An Avro schema: its JSON, and the shape the encoder walks.
#[derive(Clone, Debug, PartialEq)]
pub enum AvroSchema {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    /// A Connect decimal: bytes of the unscaled value at this scale.
    Decimal {
        scale: i32,
    },
    String,
    /// A string written as an enum's symbol index.
    Enum(Vec<String>),
    Fixed(usize),
    Array(Box<AvroSchema>),
    /// String keys.
    Map(Box<AvroSchema>),
    /// A map with other keys: an array of `{key, value}` records.
    EntryArray(Box<AvroSchema>, Box<AvroSchema>),
    Record(Vec<AvroSchema>),
    /// `["null", T]` (`null_first`) or `[T, "null"]`.
    Optional {
        inner: Box<AvroSchema>,
        null_first: bool,
    },
}

/// The result of a conversion: the Avro schema's JSON text and its shape.
#[derive(Clone, Debug)]
pub struct Converted {
    pub json: String,
    pub shape: AvroSchema,
}

/// `fromConnectSchema(schema)`; `None` (schemaless data) is refused by the
/// callers that need a schema.
pub fn from_connect(schema: &Schema) -> Result<Converted, AvroError> {
    let mut cx = Context::default();
    let (json, shape) = cx.convert(schema, true);
    let mut writer = Writer::default();
    let mut text = String::new();
    writer.write(&json, None, &mut text);
    if let Some(name) = writer.clash {
        // Two different types of one name: Avro's "Can't redefine".
        return Err(AvroError::Value(format!(
            "the schema defines the Avro type {name} twice, differently (two maps with keys other than strings, or two different structs of one name)"
        )));
    }
    Ok(Converted { json: text, shape })
}

#[derive(Default)]
struct Context {
    /// Unnamed records, fixed and enums so far (`ConnectDefault`, `2`, …).
    unnamed: usize,
    /// Non-optional schemas converted so far, reused when equal (Avro then
    /// writes the second as a reference to the first's name).
    memo: Vec<(Schema, Json, AvroSchema)>,
}

impl Context {
    fn convert(&mut self, schema: &Schema, top: bool) -> (Json, AvroSchema) {
        if !schema.is_optional() {
            if let Some((_, j, s)) = self.memo.iter().find(|(k, _, _)| k == schema) {
                return (j.clone(), s.clone());
            }
        }
        let converted = self.convert_uncached(schema, top);
        if !schema.is_optional() {
            self.memo
                .push((schema.clone(), converted.0.clone(), converted.1.clone()));
        }
        converted
    }

    fn convert_uncached(&mut self, schema: &Schema, top: bool) -> (Json, AvroSchema) {
        let _ = top;
        let name = schema.name();
        let (base, shape): (Map<String, Json>, AvroSchema) = match schema.schema_type() {
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => {
                (typed("int"), AvroSchema::Int)
            }
            SchemaType::Int64 => (typed("long"), AvroSchema::Long),
            SchemaType::Float32 => (typed("float"), AvroSchema::Float),
            SchemaType::Float64 => (typed("double"), AvroSchema::Double),
            SchemaType::Boolean => (typed("boolean"), AvroSchema::Boolean),
            SchemaType::String => {
                let symbols: Vec<String> = schema
                    .parameters()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|(k, _)| {
                        k.strip_prefix(&format!("{ENUM_PARAM}.")).map(str::to_owned)
                    })
                    .collect();
                if schema.parameter(ENUM_PARAM).is_some() && !symbols.is_empty() {
                    let full = schema.parameter(ENUM_PARAM).unwrap_or_default().to_owned();
                    let mut m = typed("enum");
                    let (ns, n) = self.split_name(Some(&full));
                    m.insert("name".into(), Json::String(n));
                    m.insert("namespace".into(), Json::String(ns));
                    m.insert(
                        "symbols".into(),
                        Json::Array(symbols.iter().cloned().map(Json::String).collect()),
                    );
                    (m, AvroSchema::Enum(symbols))
                } else {
                    (typed("string"), AvroSchema::String)
                }
            }
            SchemaType::Bytes => {
                let size = schema
                    .parameter("connect.fixed.size")
                    .and_then(|s| s.parse::<usize>().ok());
                match (name, size) {
                    (Some(_), Some(size)) if name != Some(logical::DECIMAL) => {
                        let mut m = typed("fixed");
                        let (ns, n) = self.split_name(name);
                        m.insert("name".into(), Json::String(n));
                        m.insert("namespace".into(), Json::String(ns));
                        m.insert("size".into(), Json::from(size));
                        (m, AvroSchema::Fixed(size))
                    }
                    _ => {
                        let mut m = typed("bytes");
                        if name == Some(logical::DECIMAL) {
                            let scale = schema
                                .parameter(logical::DECIMAL_SCALE)
                                .and_then(|s| s.parse::<i64>().ok())
                                .unwrap_or(0);
                            let precision = schema
                                .parameter(PRECISION_PARAM)
                                .and_then(|s| s.parse::<i64>().ok())
                                .unwrap_or(DEFAULT_PRECISION);
                            m.insert("scale".into(), Json::from(scale));
                            m.insert("precision".into(), Json::from(precision));
                            let scale = i32::try_from(scale).unwrap_or(0);
                            return self.finish(schema, m, AvroSchema::Decimal { scale });
                        }
                        (m, AvroSchema::Bytes)
                    }
                }
            }
            SchemaType::Array => {
                let items = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                let (j, s) = self.convert(&items, false);
                let mut m = typed("array");
                m.insert("items".into(), j);
                (m, AvroSchema::Array(Box::new(s)))
            }
            SchemaType::Map => {
                let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
                let value = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                if key.schema_type() == SchemaType::String && !key.is_optional() {
                    let (j, s) = self.convert(&value, false);
                    let mut m = typed("map");
                    m.insert("values".into(), j);
                    (m, AvroSchema::Map(Box::new(s)))
                } else {
                    let (kj, ks) = self.convert(&key, false);
                    let (vj, vs) = self.convert(&value, false);
                    let mut entry = typed("record");
                    let (ns, n) = match name {
                        Some(full) => split(full),
                        None => (NAMESPACE.to_owned(), MAP_ENTRY.to_owned()),
                    };
                    entry.insert("name".into(), Json::String(n));
                    entry.insert("namespace".into(), Json::String(ns));
                    entry.insert(
                        "fields".into(),
                        Json::Array(vec![
                            field("key", kj, None, None),
                            field("value", vj, None, None),
                        ]),
                    );
                    if name.is_some() {
                        entry.insert(
                            "connect.internal.type".into(),
                            Json::String(MAP_ENTRY.into()),
                        );
                    }
                    let mut m = typed("array");
                    m.insert("items".into(), Json::Object(entry));
                    (m, AvroSchema::EntryArray(Box::new(ks), Box::new(vs)))
                }
            }
            SchemaType::Struct => {
                if schema.is_optional() {
                    // ["null", record]: the record carries the metadata.
                    let required = schema.to_builder().optional_if(false).build();
                    let (j, s) = self.convert(&required, false);
                    return (
                        Json::Array(vec![Json::String("null".into()), j]),
                        AvroSchema::Optional {
                            inner: Box::new(s),
                            null_first: true,
                        },
                    );
                }
                let mut m = typed("record");
                let (ns, n) = self.split_name(name);
                m.insert("name".into(), Json::String(n));
                m.insert("namespace".into(), Json::String(ns));
                if let Some(doc) = schema.parameter(RECORD_DOC_PARAM) {
                    m.insert("doc".into(), Json::String(doc.to_owned()));
                }
                let mut fields = Vec::new();
                let mut shapes = Vec::new();
                for f in schema.fields() {
                    let (fj, fs) = self.convert(&f.schema, false);
                    let doc = schema
                        .parameter(&format!("{FIELD_DOC_PREFIX}{}", f.name))
                        .map(str::to_owned);
                    let default = match f.schema.default_value() {
                        Some(v) => Some(default_json(&f.schema, v)),
                        None if f.schema.is_optional() => Some(Json::Null),
                        None => None,
                    };
                    // Avro refuses a default that does not match the
                    // union's first branch; AvroData then drops it.
                    let default = default.filter(|d| default_fits(&fs, d));
                    fields.push(field(&f.name, fj, doc, default));
                    shapes.push(fs);
                }
                m.insert("fields".into(), Json::Array(fields));
                (m, AvroSchema::Record(shapes))
            }
        };
        self.finish(schema, base, shape)
    }

    /// Adds the `connect.*` and logical-type properties, and the
    /// optional union.
    fn finish(
        &mut self,
        schema: &Schema,
        mut base: Map<String, Json>,
        shape: AvroSchema,
    ) -> (Json, AvroSchema) {
        let name = schema.name();
        // Metadata, in AvroData's order.
        if let Some(doc) = schema.doc() {
            base.insert("connect.doc".into(), Json::String(doc.to_owned()));
        }
        if let Some(v) = schema.version() {
            base.insert("connect.version".into(), Json::from(v));
        }
        if let Some(params) = schema.parameters().filter(|p| !p.is_empty()) {
            let obj: Map<String, Json> = params
                .iter()
                .filter(|(k, _)| k != FIELD_DEFAULT_PARAM)
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect();
            base.insert("connect.parameters".into(), Json::Object(obj));
        }
        if let Some(d) = schema.default_value() {
            if schema.parameter(FIELD_DEFAULT_PARAM).is_none() {
                base.insert("connect.default".into(), default_json(schema, d));
            }
        }
        if let Some(n) = name {
            base.insert("connect.name".into(), Json::String(n.to_owned()));
        }
        match schema.schema_type() {
            SchemaType::Int8 => {
                base.insert("connect.type".into(), Json::String("int8".into()));
            }
            SchemaType::Int16 => {
                base.insert("connect.type".into(), Json::String("int16".into()));
            }
            _ => {}
        }
        match name {
            Some(logical::DECIMAL) => {
                // A valid decimal gets Avro's logical type; one whose scale
                // does not fit its precision the legacy property of the
                // same text, so the JSON is the same either way.
                base.insert("logicalType".into(), Json::String("decimal".into()));
            }
            Some(logical::DATE) if schema.schema_type() == SchemaType::Int32 => {
                base.insert("logicalType".into(), Json::String("date".into()));
            }
            Some(logical::TIME) if schema.schema_type() == SchemaType::Int32 => {
                base.insert("logicalType".into(), Json::String("time-millis".into()));
            }
            Some(logical::TIMESTAMP) if schema.schema_type() == SchemaType::Int64 => {
                base.insert(
                    "logicalType".into(),
                    Json::String("timestamp-millis".into()),
                );
            }
            _ => {}
        }
        for (k, v) in schema.parameters().unwrap_or_default() {
            if k.starts_with("avro") && !base.contains_key(k) {
                base.insert(k.clone(), Json::String(v.clone()));
            }
        }
        let json = Json::Object(base);
        if schema.is_optional() {
            // Optional: ["null", T], or [T, "null"] when it has a default.
            let has_default = schema.default_value().is_some();
            let (arr, null_first) = if has_default {
                (vec![json, Json::String("null".into())], false)
            } else {
                (vec![Json::String("null".into()), json], true)
            };
            return (
                Json::Array(arr),
                AvroSchema::Optional {
                    inner: Box::new(shape),
                    null_first,
                },
            );
        }
        (json, shape)
    }

    fn split_name(&mut self, name: Option<&str>) -> (String, String) {
        match name {
            Some(full) => split(full),
            None => {
                self.unnamed += 1;
                let n = if self.unnamed > 1 {
                    format!("{DEFAULT_NAME}{}", self.unnamed)
                } else {
                    DEFAULT_NAME.to_owned()
                };
                (NAMESPACE.to_owned(), n)
            }
        }
    }
}

fn typed(t: &str) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("type".into(), Json::String(t.into()));
    m
}

fn field(name: &str, schema: Json, doc: Option<String>, default: Option<Json>) -> Json {
    let mut m = Map::new();
    m.insert("name".into(), Json::String(name.into()));
    m.insert("type".into(), schema);
    if let Some(d) = doc {
        m.insert("doc".into(), Json::String(d));
    }
    if let Some(d) = default {
        m.insert("default".into(), d);
    }
    Json::Object(m)
}

fn split(full: &str) -> (String, String) {
    match full.rsplit_once('.') {
        Some((ns, n)) => (ns.to_owned(), n.to_owned()),
        None => (String::new(), full.to_owned()),
    }
}

fn default_fits(shape: &AvroSchema, d: &Json) -> bool {
    match shape {
        AvroSchema::Optional {
            null_first: true, ..
        } => d.is_null(),
        AvroSchema::Optional {
            null_first: false, ..
        } => !d.is_null(),
        _ => !d.is_null(),
    }
}

/// `defaultValueFromConnect`: a Connect default as Avro's JSON default.
fn default_json(schema: &Schema, v: &Value) -> Json {
    fn latin1(bytes: &[u8]) -> Json {
        Json::String(bytes.iter().map(|&b| char::from(b)).collect())
    }
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(n) => Json::from(*n),
        Value::Int16(n) => Json::from(*n),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => Json::from(*n),
        Value::Int64(n) | Value::Timestamp(n) => Json::from(*n),
        Value::Float32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        Value::Float64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => latin1(b),
        Value::Decimal(d) => latin1(&d.unscaled_bytes()),
        Value::Array(items) => {
            let item = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            Json::Array(items.iter().map(|x| default_json(&item, x)).collect())
        }
        Value::Map(entries) => {
            let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
            let value = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            if key.schema_type() == SchemaType::String {
                Json::Object(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().unwrap_or_default().to_owned(),
                                default_json(&value, v),
                            )
                        })
                        .collect(),
                )
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Json::Array(vec![default_json(&key, k), default_json(&value, v)])
                        })
                        .collect(),
                )
            }
        }
        Value::Struct(s) => Json::Object(
            s.schema()
                .fields()
                .iter()
                .map(|f| (f.name.clone(), default_json(&f.schema, s.get_at(f.index))))
                .collect(),
        ),
    }
}

/// Avro's `Schema.toString()`: compact JSON; a named type written once,
/// then referred to by name; namespaces written only where they change.
#[derive(Default)]
struct Writer {
    /// Named types written so far, with their definitions.
    defined: Vec<(String, Json)>,
    /// A name defined twice, differently (Avro refuses such a schema).
    clash: Option<String>,
}

impl Writer {
    fn write(&mut self, j: &Json, space: Option<&str>, out: &mut String) {
        match j {
            Json::Object(m) => {
                let t = m.get("type").and_then(Json::as_str).unwrap_or_default();
                if matches!(t, "record" | "enum" | "fixed") {
                    let ns = m
                        .get("namespace")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    let name = m.get("name").and_then(Json::as_str).unwrap_or_default();
                    let full = if ns.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{ns}.{name}")
                    };
                    if let Some((_, first)) = self.defined.iter().find(|(n, _)| *n == full) {
                        if first != j {
                            self.clash.get_or_insert(full.clone());
                        }
                        let short = if space.unwrap_or_default() == ns {
                            name.to_owned()
                        } else {
                            full
                        };
                        push_json(&Json::String(short), out);
                        return;
                    }
                    self.defined.push((full, j.clone()));
                    out.push('{');
                    out.push_str("\"type\":");
                    push_json(&Json::String(t.into()), out);
                    out.push_str(",\"name\":");
                    push_json(&Json::String(name.into()), out);
                    if !ns.is_empty() && Some(ns) != space {
                        out.push_str(",\"namespace\":");
                        push_json(&Json::String(ns.into()), out);
                    }
                    for (k, v) in m {
                        if matches!(k.as_str(), "type" | "name" | "namespace") {
                            continue;
                        }
                        out.push(',');
                        push_json(&Json::String(k.clone()), out);
                        out.push(':');
                        if k == "fields" {
                            out.push('[');
                            for (i, f) in v.as_array().into_iter().flatten().enumerate() {
                                if i > 0 {
                                    out.push(',');
                                }
                                self.write_field(f, Some(ns), out);
                            }
                            out.push(']');
                        } else {
                            push_json(v, out);
                        }
                    }
                    out.push('}');
                    return;
                }
                if m.len() == 1 {
                    push_json(&Json::String(t.into()), out);
                    return;
                }
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_json(&Json::String(k.clone()), out);
                    out.push(':');
                    if k == "items" || k == "values" {
                        self.write(v, space, out);
                    } else {
                        push_json(v, out);
                    }
                }
                out.push('}');
            }
            Json::Array(branches) => {
                out.push('[');
                for (i, b) in branches.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(b, space, out);
                }
                out.push(']');
            }
            other => push_json(other, out),
        }
    }

    fn write_field(&mut self, f: &Json, space: Option<&str>, out: &mut String) {
        out.push('{');
        let Some(m) = f.as_object() else { return };
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json(&Json::String(k.clone()), out);
            out.push(':');
            if k == "type" {
                self.write(v, space, out);
            } else {
                push_json(v, out);
            }
        }
        out.push('}');
    }
}

fn push_json(j: &Json, out: &mut String) {
    out.push_str(&serde_json::to_string(j).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    /// The worked example of Confluent's AvroData, byte for byte.
    #[test]
    fn confluents_layout() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .field("amt", SchemaBuilder::decimal(2).build())
            .field("ts", SchemaBuilder::timestamp().optional().build())
            .field("t", Schema::int8())
            .field(
                "d",
                SchemaBuilder::new(SchemaType::Int32)
                    .default_value(Value::Int32(5))
                    .build(),
            )
            .field(
                "m",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .build();
        let c = from_connect(&schema).unwrap();
        let want = concat!(
            r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":["#,
            r#"{"name":"id","type":"int"},"#,
            r#"{"name":"name","type":["null","string"],"default":null},"#,
            r#"{"name":"amt","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
            r#"{"name":"ts","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null},"#,
            r#"{"name":"t","type":{"type":"int","connect.type":"int8"}},"#,
            r#"{"name":"d","type":{"type":"int","connect.default":5},"default":5},"#,
            r#"{"name":"m","type":{"type":"array","items":{"type":"record","name":"MapEntry","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}}]}"#
        );
        assert_eq!(c.json, want);
    }

    #[test]
    fn named_and_repeated_records() {
        let inner = SchemaBuilder::struct_().field("x", Schema::int32()).build();
        let schema = SchemaBuilder::struct_()
            .name("com.acme.User")
            .version(3)
            .field("a", inner.clone())
            .field("b", inner)
            .build();
        let c = from_connect(&schema).unwrap();
        assert_eq!(
            c.json,
            concat!(
                r#"{"type":"record","name":"User","namespace":"com.acme","fields":["#,
                r#"{"name":"a","type":{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"x","type":"int"}]}},"#,
                r#"{"name":"b","type":"io.confluent.connect.avro.ConnectDefault"}],"connect.version":3,"connect.name":"com.acme.User"}"#
            )
        );
    }
}

#[cfg(test)]
mod clash_tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    #[test]
    fn two_different_types_of_one_name_are_refused() {
        let schema = SchemaBuilder::struct_()
            .field(
                "a",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .field(
                "b",
                SchemaBuilder::map(Schema::int32(), Schema::int64()).build(),
            )
            .build();
        assert!(from_connect(&schema).is_err());
    }
}
