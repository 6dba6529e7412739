//! Schemas in Kafka Connect's JSON envelope: `asJsonSchema` (written
//! directly as bytes, cached per schema) and `asConnectSchema` (read from a
//! parsed tree, cached per distinct schema JSON).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use ferry_api::{Schema, SchemaBuilder, SchemaType};

use super::deserialize::{int_value, to_value};
use super::parse::{Node, Number};
use super::serialize::write_value;
use super::{schema_identity, Settings};
use crate::json::write;
use crate::ConvertError;

fn err(msg: impl Into<String>) -> ConvertError {
    ConvertError::Data(msg.into())
}

/// The `type` names of the JSON schema format (`float32` is `float`,
/// `float64` is `double`).
fn type_name(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Float32 => "float",
        SchemaType::Float64 => "double",
        other => other.name(),
    }
}

/// Writes `asJsonSchema(schema)`: `type`, the type's member schemas,
/// `optional`, then `name`, `version`, `doc`, `parameters` and `default`
/// when set. Struct fields carry their name last, as `field`.
pub(crate) fn write_schema(
    out: &mut Vec<u8>,
    schema: &Schema,
    settings: &Settings,
) -> Result<(), ConvertError> {
    write_schema_object(out, schema, settings, None)
}

fn write_schema_object(
    out: &mut Vec<u8>,
    schema: &Schema,
    settings: &Settings,
    field_name: Option<&str>,
) -> Result<(), ConvertError> {
    let write_member = |out: &mut Vec<u8>, name: &str, member: Option<&Schema>| {
        out.push(b',');
        write::key(out, name);
        match member {
            Some(m) => write_schema_object(out, m, settings, None),
            // Java sets a Java null, which Jackson writes as `null`.
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
        }
    };
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(type_name(schema.schema_type()).as_bytes());
    out.push(b'"');
    match schema.schema_type() {
        SchemaType::Array => write_member(out, "items", schema.value_schema())?,
        SchemaType::Map => {
            write_member(out, "keys", schema.key_schema())?;
            write_member(out, "values", schema.value_schema())?;
        }
        SchemaType::Struct => {
            out.extend_from_slice(b",\"fields\":[");
            for (i, f) in schema.fields().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_schema_object(out, &f.schema, settings, Some(&f.name))?;
            }
            out.push(b']');
        }
        _ => {}
    }
    out.extend_from_slice(if schema.is_optional() {
        b",\"optional\":true"
    } else {
        b",\"optional\":false"
    });
    if let Some(name) = schema.name() {
        out.push(b',');
        write::key(out, "name");
        write::string(out, name);
    }
    if let Some(version) = schema.version() {
        out.extend_from_slice(b",\"version\":");
        write::int(out, i64::from(version));
    }
    if let Some(doc) = schema.doc() {
        out.push(b',');
        write::key(out, "doc");
        write::string(out, doc);
    }
    if let Some(params) = schema.parameters() {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write::key(out, k);
            write::string(out, v);
        }
        out.push(b'}');
    }
    if let Some(default) = schema.default_value().filter(|d| !d.is_null()) {
        out.extend_from_slice(b",\"default\":");
        write_value(out, Some(schema), default, settings)?;
    }
    if let Some(name) = field_name {
        out.push(b',');
        write::key(out, "field");
        write::string(out, name);
    }
    out.push(b'}');
    Ok(())
}

/// A small least-recently-used map behind a mutex, sized by
/// `schemas.cache.size` as Kafka Connect's `LRUCache`.
pub(crate) struct Lru<K, V> {
    inner: Mutex<LruInner<K, V>>,
}

struct LruInner<K, V> {
    capacity: usize,
    clock: u64,
    map: HashMap<K, (V, u64)>,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            inner: Mutex::new(LruInner {
                capacity,
                clock: 0,
                map: HashMap::new(),
            }),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.lock().capacity
    }

    fn lock(&self) -> MutexGuard<'_, LruInner<K, V>> {
        ferry_api::lock(&self.inner)
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with(key, V::clone)
    }

    /// Applies `f` to the entry for `key`, under the lock (to copy out of
    /// it without cloning the value).
    pub(crate) fn with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut g = self.lock();
        g.clock += 1;
        let now = g.clock;
        let (v, used) = g.map.get_mut(key)?;
        *used = now;
        Some(f(v))
    }

    pub(crate) fn put(&self, key: K, value: V) {
        let mut g = self.lock();
        if g.capacity == 0 {
            return;
        }
        if g.map.len() >= g.capacity && !g.map.contains_key(&key) {
            // Eviction scans the map; it only happens when the working set
            // exceeds the cache, which the cache size should prevent.
            let oldest = g
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                g.map.remove(&k);
            }
        }
        g.clock += 1;
        let now = g.clock;
        g.map.insert(key, (value, now));
    }
}

/// The JSON of schemas already written, keyed by schema identity. Entries
/// hold a clone of their schema, so an identity is never reused while its
/// entry exists.
pub(crate) struct SchemaJsonCache {
    lru: Lru<usize, (Schema, Box<[u8]>)>,
}

impl SchemaJsonCache {
    pub(crate) fn new(capacity: usize) -> Self {
        SchemaJsonCache {
            lru: Lru::new(capacity),
        }
    }

    /// Appends the schema's JSON, from the cache when possible.
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        schema: &Schema,
        settings: &Settings,
    ) -> Result<(), ConvertError> {
        // Primitive schemas have no stable identity, and are short anyway.
        let Some(id) = schema_identity(schema) else {
            return write_schema(out, schema, settings);
        };
        if self
            .lru
            .with(&id, |(_, json)| out.extend_from_slice(json))
            .is_some()
        {
            return Ok(());
        }
        let start = out.len();
        write_schema(out, schema, settings)?;
        if self.lru.capacity() > 0 {
            self.lru.put(id, (schema.clone(), out[start..].into()));
        }
        Ok(())
    }
}

/// `asConnectSchema`: a schema from its JSON form; `None` for JSON null.
pub(crate) fn read_schema(
    node: &Node,
    settings: &Settings,
) -> Result<Option<Schema>, ConvertError> {
    if let Node::Null = node {
        return Ok(None);
    }
    let Some(Node::Text(type_name)) = node.get("type") else {
        return Err(err("Schema must contain 'type' field"));
    };
    let required = |s: Option<Schema>, msg: &str| s.ok_or_else(|| err(msg));
    let mut builder = match type_name.as_str() {
        "boolean" => SchemaBuilder::new(SchemaType::Boolean),
        "int8" => SchemaBuilder::new(SchemaType::Int8),
        "int16" => SchemaBuilder::new(SchemaType::Int16),
        "int32" => SchemaBuilder::new(SchemaType::Int32),
        "int64" => SchemaBuilder::new(SchemaType::Int64),
        "float" => SchemaBuilder::new(SchemaType::Float32),
        "double" => SchemaBuilder::new(SchemaType::Float64),
        "bytes" => SchemaBuilder::new(SchemaType::Bytes),
        "string" => SchemaBuilder::new(SchemaType::String),
        "array" => {
            let items = match node.get("items") {
                None | Some(Node::Null) => {
                    return Err(err("Array schema did not specify the element type"))
                }
                Some(items) => read_schema(items, settings)?,
            };
            SchemaBuilder::array(required(items, "valueSchema cannot be null.")?)
        }
        "map" => {
            let keys = node
                .get("keys")
                .ok_or_else(|| err("Map schema did not specify the key type"))?;
            let values = node
                .get("values")
                .ok_or_else(|| err("Map schema did not specify the value type"))?;
            let keys = read_schema(keys, settings)?;
            let values = read_schema(values, settings)?;
            SchemaBuilder::map(
                required(keys, "keySchema cannot be null.")?,
                required(values, "valueSchema cannot be null.")?,
            )
        }
        "struct" => {
            let Some(Node::Array(fields)) = node.get("fields") else {
                return Err(err("Struct schema's \"fields\" argument is not an array."));
            };
            let mut b = SchemaBuilder::struct_();
            let mut names: Vec<&str> = Vec::with_capacity(fields.len());
            for field in fields {
                let Some(Node::Text(name)) = field.get("field") else {
                    return Err(err("Struct schema's field name not specified properly"));
                };
                let field_schema = read_schema(field, settings)?;
                if name.is_empty() {
                    return Err(err("fieldName cannot be null."));
                }
                let field_schema = field_schema
                    .ok_or_else(|| err(format!("fieldSchema for field {name} cannot be null.")))?;
                if names.contains(&name.as_str()) {
                    return Err(err(format!(
                        "Cannot create field because of field name duplication {name}"
                    )));
                }
                names.push(name);
                b = b.field(name.as_str(), field_schema);
            }
            b
        }
        other => return Err(err(format!("Unknown schema type: {other}"))),
    };

    if let Some(Node::Bool(true)) = node.get("optional") {
        builder = builder.optional();
    }
    if let Some(Node::Text(name)) = node.get("name") {
        builder = builder.name(name.as_str());
    }
    if let Some(v @ Node::Number(Number::Int(_) | Number::Long(_) | Number::BigInt(_))) =
        node.get("version")
    {
        builder = builder.version(int_value(v));
    }
    if let Some(Node::Text(doc)) = node.get("doc") {
        builder = builder.doc(doc.as_str());
    }
    if let Some(Node::Object(params)) = node.get("parameters") {
        for (k, v) in params {
            let Node::Text(v) = v else {
                return Err(err("Schema parameters must have string values."));
            };
            builder = builder.parameter(k.as_str(), v.as_str());
        }
    }
    let schema = builder.build();
    let Some(default_node) = node.get("default") else {
        return Ok(Some(schema));
    };
    // The default is read against the schema built so far, as Java reads it
    // against the builder.
    let default = to_value(Some(&schema), Some(default_node.clone()), settings)?;
    if default.is_null() {
        return Ok(Some(schema));
    }
    if schema.schema_type() == SchemaType::Struct {
        // Java validates a struct default against the builder, which never
        // equals the struct's (built) schema, so it always fails.
        return Err(err("Invalid default value"));
    }
    Ok(Some(schema.to_builder().default_value(default).build()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::parse;
    use ferry_api::Value;

    fn settings() -> Settings {
        Settings::default()
    }

    fn json(schema: &Schema) -> String {
        let mut out = Vec::new();
        write_schema(&mut out, schema, &settings()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn spec_example_schema() {
        let schema = SchemaBuilder::struct_()
            .name("com.example.Row")
            .field("id", Schema::int32())
            .field("name", Schema::optional_string())
            .field("price", SchemaBuilder::decimal(2).build())
            .field("ts", SchemaBuilder::timestamp().optional().build())
            .build();
        assert_eq!(
            json(&schema),
            r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"},{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"}],"optional":false,"name":"com.example.Row"}"#
        );
        let back = read_schema(
            &parse(json(&schema).as_bytes()).unwrap().unwrap(),
            &settings(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(back, schema);
    }

    #[test]
    fn defaults_and_errors() {
        let s = SchemaBuilder::new(SchemaType::Int32)
            .default_value(Value::Int32(5))
            .build();
        assert_eq!(json(&s), r#"{"type":"int32","optional":false,"default":5}"#);
        let read = |t: &str| read_schema(&parse(t.as_bytes()).unwrap().unwrap(), &settings());
        assert_eq!(read(r#"{"type":"int32","default":5}"#).unwrap().unwrap(), s);
        assert_eq!(
            read(r#"{"type":"x"}"#).unwrap_err().to_string(),
            "Unknown schema type: x"
        );
        assert_eq!(
            read(r#"{}"#).unwrap_err().to_string(),
            "Schema must contain 'type' field"
        );
        assert_eq!(read("null").unwrap(), None);
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let lru: Lru<u32, u32> = Lru::new(2);
        lru.put(1, 1);
        lru.put(2, 2);
        assert_eq!(lru.get(&1), Some(1));
        lru.put(3, 3);
        assert_eq!(lru.get(&2), None);
        assert_eq!(lru.get(&1), Some(1));
        assert_eq!(lru.get(&3), Some(3));
    }
}
