//! Golden tests: Ferry's transforms, predicates, chains and validation
//! against the output of the real Kafka Connect 4.3.1 jars.
//!
//! `golden/cases.json` defines every case once, in a small DSL;
//! `golden/Generator.java` ran them through Kafka Connect and recorded the
//! results in `golden/expected.json` (regenerate with `golden/generate.sh`).
//! This test builds the same records with ferry-api, runs them through
//! Ferry and demands the same records, the same errors and the same
//! validation output. Java is not needed to run it. See golden/README.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use ferry_api::config::{ConfigKey, ValidatedValue};
use ferry_api::{
    ConnectRecord, Decimal, Headers, PluginFactory, PluginType, Predicate, Props, Schema,
    SchemaBuilder, SchemaType, SinkRecord, SourceRecord, Struct, TimestampType, Transformation,
    Value,
};
use ferry_java::float;
use ferry_runtime::plugins::Plugins;
use ferry_transforms::TransformationChain;
use serde_json::{json, Value as J};

/// The worker's plugin registry with the built-in plugins, where chains
/// and these tests find classes.
fn registry() -> &'static Plugins {
    static REGISTRY: OnceLock<Plugins> = OnceLock::new();
    REGISTRY.get_or_init(|| Plugins::with_built_ins(Vec::new()).expect("built-in plugins"))
}

fn new_transformation<R: ConnectRecord>(class: &str) -> Option<Box<dyn Transformation<R>>> {
    match registry()
        .find(PluginType::Transformation, class)?
        .plugin
        .factory()
    {
        PluginFactory::Transformation(f) => Some(f.create()),
        _ => None,
    }
}

fn new_predicate<R: ConnectRecord>(class: &str) -> Option<Box<dyn Predicate<R>>> {
    match registry()
        .find(PluginType::Predicate, class)?
        .plugin
        .factory()
    {
        PluginFactory::Predicate(f) => Some(f.create()),
        _ => None,
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn load(name: &str) -> J {
    let path = golden_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------------------------ DSL

struct Dsl<'a> {
    spec: &'a J,
}

impl Dsl<'_> {
    fn schema(&self, d: &J) -> Option<Schema> {
        if d.is_null() {
            return None;
        }
        if let Some(r) = d["ref"].as_str() {
            let named = &self.spec["schemas"][r];
            assert!(!named.is_null(), "unknown schema {r}");
            return self.schema(named);
        }
        let t = d["type"].as_str().expect("schema type");
        let child = |k: &str| {
            self.schema(&d[k])
                .unwrap_or_else(|| panic!("{t} schema needs {k}"))
        };
        let mut b = match t {
            "boolean" => SchemaBuilder::new(SchemaType::Boolean),
            "int8" => SchemaBuilder::new(SchemaType::Int8),
            "int16" => SchemaBuilder::new(SchemaType::Int16),
            "int32" => SchemaBuilder::new(SchemaType::Int32),
            "int64" => SchemaBuilder::new(SchemaType::Int64),
            "float32" => SchemaBuilder::new(SchemaType::Float32),
            "float64" => SchemaBuilder::new(SchemaType::Float64),
            "string" => SchemaBuilder::new(SchemaType::String),
            "bytes" => SchemaBuilder::new(SchemaType::Bytes),
            "decimal" => SchemaBuilder::decimal(d["scale"].as_i64().expect("scale") as i32),
            "date" => SchemaBuilder::date(),
            "time" => SchemaBuilder::time(),
            "timestamp" => SchemaBuilder::timestamp(),
            "array" => SchemaBuilder::array(child("items")),
            "map" => SchemaBuilder::map(child("keys"), child("values")),
            "struct" => {
                let mut s = SchemaBuilder::struct_();
                for f in d["fields"].as_array().expect("fields") {
                    s = s.field(
                        f[0].as_str().expect("field name"),
                        self.schema(&f[1]).expect("field schema"),
                    );
                }
                s
            }
            other => panic!("unknown schema type {other}"),
        };
        if d["optional"].as_bool() == Some(true) {
            b = b.optional();
        }
        if let Some(n) = d["name"].as_str() {
            b = b.name(n);
        }
        if let Some(v) = d["version"].as_i64() {
            b = b.version(v as i32);
        }
        if let Some(doc) = d["doc"].as_str() {
            b = b.doc(doc);
        }
        if let Some(params) = d["params"].as_object() {
            for (k, v) in params {
                b = b.parameter(k.as_str(), v.as_str().expect("parameter value"));
            }
        }
        let schema = b.build();
        match d.get("default") {
            Some(dv) => {
                let v = self.value(Some(&schema), dv);
                Some(schema.to_builder().default_value(v).build())
            }
            None => Some(schema),
        }
    }

    fn value(&self, schema: Option<&Schema>, d: &J) -> Value {
        if d.is_null() {
            return Value::Null;
        }
        let (kind, v) = d.as_object().and_then(|o| o.iter().next()).expect("value");
        let text = || v.as_str().expect("text");
        let int = || v.as_i64().expect("integer");
        match kind.as_str() {
            "boolean" => Value::Boolean(v.as_bool().expect("bool")),
            "int8" => Value::Int8(int() as i8),
            "int16" => Value::Int16(int() as i16),
            "int32" => Value::Int32(int() as i32),
            "int64" => Value::Int64(int()),
            "float32" => Value::Float32(text().parse().expect("float32")),
            "float64" => Value::Float64(text().parse().expect("float64")),
            "string" => Value::String(text().to_owned()),
            "bytes" => Value::Bytes(hex(text())),
            "decimal" => Value::Decimal(Decimal::parse(text()).expect("decimal")),
            "date" => Value::Date(int() as i32),
            "time" => Value::Time(int() as i32),
            "timestamp" => Value::Timestamp(int()),
            "array" => Value::Array(
                v.as_array()
                    .expect("array")
                    .iter()
                    .map(|item| self.value(schema.and_then(Schema::value_schema), item))
                    .collect(),
            ),
            "map" => Value::Map(
                v.as_array()
                    .expect("map")
                    .iter()
                    .map(|pair| {
                        (
                            self.value(schema.and_then(Schema::key_schema), &pair[0]),
                            self.value(schema.and_then(Schema::value_schema), &pair[1]),
                        )
                    })
                    .collect(),
            ),
            "struct" => {
                let own = d.get("schema").and_then(|s| self.schema(s));
                let schema = own
                    .as_ref()
                    .or(schema)
                    .expect("struct value needs a schema")
                    .clone();
                let mut s = Struct::new(schema.clone()).expect("struct schema");
                for (name, fv) in v.as_object().expect("struct fields") {
                    let field = schema
                        .field(name)
                        .unwrap_or_else(|| panic!("no field {name}"));
                    s.set(name, self.value(Some(&field.schema), fv))
                        .expect("field value");
                }
                Value::Struct(s)
            }
            other => panic!("unknown value kind {other}"),
        }
    }

    fn headers(&self, d: &J) -> Headers {
        let mut h = Headers::new();
        for e in d.as_array().into_iter().flatten() {
            let schema = self.schema(&e[1]);
            let v = self.value(schema.as_ref(), &e[2]);
            h.add(e[0].as_str().expect("header key"), schema, v);
        }
        h
    }

    fn record_def(&self, name: &str) -> &J {
        let d = &self.spec["records"][name];
        assert!(!d.is_null(), "unknown record {name}");
        d
    }

    fn is_source(&self, name: &str) -> bool {
        self.record_def(name)["kind"].as_str() == Some("source")
    }

    fn sink(&self, name: &str) -> SinkRecord {
        let d = self.record_def(name);
        let key_schema = self.schema(&d["key_schema"]);
        let value_schema = self.schema(&d["value_schema"]);
        let timestamp = d["timestamp"].as_i64();
        SinkRecord {
            topic: d["topic"].as_str().unwrap_or("golden").to_owned(),
            kafka_partition: d["partition"].as_i64().unwrap_or(0) as i32,
            kafka_offset: d["offset"].as_i64().unwrap_or(0),
            key: self.value(key_schema.as_ref(), &d["key"]),
            key_schema,
            value: self.value(value_schema.as_ref(), &d["value"]),
            value_schema,
            timestamp,
            timestamp_type: if timestamp.is_some() {
                TimestampType::CreateTime
            } else {
                TimestampType::NoTimestampType
            },
            headers: self.headers(&d["headers"]),
            original: None,
        }
    }

    fn source(&self, name: &str) -> SourceRecord {
        let d = self.record_def(name);
        let key_schema = self.schema(&d["key_schema"]);
        let value_schema = self.schema(&d["value_schema"]);
        let mut partition = serde_json::Map::new();
        partition.insert("file".into(), json!("golden"));
        let mut offset = serde_json::Map::new();
        offset.insert("position".into(), json!(7));
        SourceRecord {
            source_partition: std::sync::Arc::new(partition),
            source_offset: offset,
            topic: d["topic"].as_str().unwrap_or("golden").to_owned(),
            kafka_partition: d["partition"].as_i64().map(|p| p as i32),
            key: self.value(key_schema.as_ref(), &d["key"]),
            key_schema,
            value: self.value(value_schema.as_ref(), &d["value"]),
            value_schema,
            timestamp: d["timestamp"].as_i64(),
            headers: self.headers(&d["headers"]),
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ------------------------------------------------------------------ describe

fn describe_schema(s: Option<&Schema>) -> J {
    let Some(s) = s else {
        return J::Null;
    };
    let mut n = serde_json::Map::new();
    n.insert("type".into(), json!(s.schema_type().name()));
    n.insert("optional".into(), json!(s.is_optional()));
    if let Some(v) = s.name() {
        n.insert("name".into(), json!(v));
    }
    if let Some(v) = s.version() {
        n.insert("version".into(), json!(v));
    }
    if let Some(v) = s.doc() {
        n.insert("doc".into(), json!(v));
    }
    if let Some(p) = s.parameters() {
        let m: serde_json::Map<String, J> = p.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        n.insert("params".into(), J::Object(m));
    }
    if let Some(d) = s.default_value() {
        n.insert("default".into(), describe(Some(s), d));
    }
    match s.schema_type() {
        SchemaType::Array => {
            n.insert("items".into(), describe_schema(s.value_schema()));
        }
        SchemaType::Map => {
            n.insert("keys".into(), describe_schema(s.key_schema()));
            n.insert("values".into(), describe_schema(s.value_schema()));
        }
        SchemaType::Struct => {
            let fields: Vec<J> = s
                .fields()
                .iter()
                .map(|f| json!([f.name, describe_schema(Some(&f.schema))]))
                .collect();
            n.insert("fields".into(), J::Array(fields));
        }
        _ => {}
    }
    J::Object(n)
}

/// A value in the DSL. Without a schema Java cannot tell the three kinds
/// of `java.util.Date` apart, so they all describe as timestamps.
fn describe(schema: Option<&Schema>, v: &Value) -> J {
    let millis = |m: i64| json!({ "timestamp": m });
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => json!({ "boolean": b }),
        Value::Int8(x) => json!({ "int8": x }),
        Value::Int16(x) => json!({ "int16": x }),
        Value::Int32(x) => json!({ "int32": x }),
        Value::Int64(x) => json!({ "int64": x }),
        Value::Float32(x) => json!({ "float32": float::f32_to_string(*x) }),
        Value::Float64(x) => json!({ "float64": float::f64_to_string(*x) }),
        Value::String(s) => json!({ "string": s }),
        Value::Bytes(b) => json!({ "bytes": to_hex(b) }),
        Value::Decimal(d) => json!({ "decimal": d.to_string() }),
        Value::Date(x) if schema.is_some() => json!({ "date": x }),
        Value::Time(x) if schema.is_some() => json!({ "time": x }),
        Value::Timestamp(x) if schema.is_some() => json!({ "timestamp": x }),
        Value::Date(x) => millis(i64::from(*x) * 86_400_000),
        Value::Time(x) => millis(i64::from(*x)),
        Value::Timestamp(x) => millis(*x),
        Value::Array(items) => json!({
            "array": items.iter().map(|i| describe(schema.and_then(Schema::value_schema), i)).collect::<Vec<_>>()
        }),
        Value::Map(entries) => json!({
            "map": entries
                .iter()
                .map(|(k, v)| json!([
                    describe(schema.and_then(Schema::key_schema), k),
                    describe(schema.and_then(Schema::value_schema), v)
                ]))
                .collect::<Vec<_>>()
        }),
        Value::Struct(s) => {
            let mut fields = serde_json::Map::new();
            for (f, v) in s.schema().fields().iter().zip(s.values()) {
                fields.insert(f.name.clone(), describe(Some(&f.schema), v));
            }
            json!({ "struct": fields })
        }
    }
}

trait Describe {
    fn describe(&self) -> J;
}

fn describe_common<R: ConnectRecord>(r: &R) -> serde_json::Map<String, J> {
    let mut n = serde_json::Map::new();
    n.insert("topic".into(), json!(r.topic()));
    n.insert("partition".into(), json!(r.kafka_partition()));
    n.insert("timestamp".into(), json!(r.timestamp()));
    if let Some(o) = r.kafka_offset() {
        n.insert("offset".into(), json!(o));
    }
    n.insert("key_schema".into(), describe_schema(r.key_schema()));
    n.insert("key".into(), describe(r.key_schema(), r.key()));
    n.insert("value_schema".into(), describe_schema(r.value_schema()));
    n.insert("value".into(), describe(r.value_schema(), r.value()));
    let headers: Vec<J> = r
        .headers()
        .iter()
        .map(|h| {
            json!([
                h.key,
                describe_schema(h.schema.as_ref()),
                describe(h.schema.as_ref(), &h.value)
            ])
        })
        .collect();
    n.insert("headers".into(), J::Array(headers));
    n
}

impl Describe for SinkRecord {
    fn describe(&self) -> J {
        J::Object(describe_common(self))
    }
}

impl Describe for SourceRecord {
    fn describe(&self) -> J {
        J::Object(describe_common(self))
    }
}

/// Structural equality where map entries may come in any order (Java's
/// `HashMap`s iterate in hash order).
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            if let (Some(J::Array(ea)), Some(J::Array(eb)), 1, 1) =
                (x.get("map"), y.get("map"), x.len(), y.len())
            {
                if ea.len() != eb.len() {
                    return false;
                }
                let mut used = vec![false; eb.len()];
                return ea.iter().all(|e| {
                    let hit = eb
                        .iter()
                        .enumerate()
                        .position(|(i, f)| !used[i] && same(e, f));
                    hit.map(|i| used[i] = true).is_some()
                });
            }
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

// ------------------------------------------------------------------ checks

const TRANSFORMS: &str = "org.apache.kafka.connect.transforms.";
const PREDICATES: &str = "org.apache.kafka.connect.transforms.predicates.";

fn full_class(name: &str, package: &str) -> String {
    if name.contains('.') {
        name.to_owned()
    } else {
        format!("{package}{name}")
    }
}

fn props_of(d: &J) -> Props {
    d.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn connector_props(extra: &J) -> Props {
    let mut p: Props = BTreeMap::new();
    p.insert("name".into(), "golden".into());
    p.insert(
        "connector.class".into(),
        "org.apache.kafka.connect.file.FileStreamSinkConnector".into(),
    );
    p.insert("topics".into(), "golden".into());
    p.extend(props_of(extra));
    p
}

/// How a case's messages are compared.
struct Rules<'a> {
    prefix: Option<&'a str>,
}

impl Rules<'_> {
    fn of(case: &J) -> Rules<'_> {
        Rules {
            prefix: case["compare"]["prefix"].as_str(),
        }
    }

    fn messages_match(&self, java: &str, ferry: &str) -> bool {
        match self.prefix {
            Some(p) => java.starts_with(p) && ferry.starts_with(p),
            None => java == ferry,
        }
    }
}

fn check_error(
    what: &str,
    rules: &Rules,
    java: &J,
    message: &str,
    class: &str,
) -> Result<(), String> {
    let want = java["error"].as_str().unwrap_or_default();
    let want_class = java["class"].as_str().unwrap_or_default();
    if !rules.messages_match(want, message) {
        return Err(format!(
            "{what}: message\n      Java  {want:?}\n      Ferry {message:?}"
        ));
    }
    if want_class != class {
        return Err(format!("{what}: Java threw {want_class}, Ferry {class}"));
    }
    Ok(())
}

/// One record through a transform or chain, against Java's result.
fn check_outcome(
    what: &str,
    rules: &Rules,
    java: &J,
    ferry: Result<Option<J>, ferry_api::TransformError>,
) -> Result<(), String> {
    match (java.get("error"), ferry) {
        (Some(e), Err(err)) => {
            check_error(what, rules, e, err.message(), err.exception_class())?;
            if let Some(stage) = java["stage"].as_str() {
                let got = err.stage().map(|s| s.alias.as_str());
                if got != Some(stage) {
                    return Err(format!("{what}: failing stage {stage}, Ferry says {got:?}"));
                }
            }
            Ok(())
        }
        (Some(e), Ok(out)) => Err(format!("{what}: Java failed with {e}, Ferry gave {out:?}")),
        (None, Err(err)) => Err(format!(
            "{what}: Java gave {}, Ferry failed with {} ({})",
            java.get("out").unwrap_or(&J::Null),
            err.message(),
            err.exception_class()
        )),
        (None, Ok(None)) if java["dropped"] == json!(true) => Ok(()),
        (None, Ok(None)) => Err(format!("{what}: Ferry dropped the record, Java kept it")),
        (None, Ok(Some(out))) => {
            let want = java
                .get("out")
                .ok_or_else(|| format!("{what}: Java dropped the record"))?;
            if same(want, &out) {
                Ok(())
            } else {
                Err(format!(
                    "{what}:\n      Java  {}\n      Ferry {}",
                    want, out
                ))
            }
        }
    }
}

/// A transform instance per record class, configured alike.
struct Pair<R: ConnectRecord> {
    t: Box<dyn Transformation<R>>,
}

fn run_transform(dsl: &Dsl, case: &J, java: &J) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    let class = full_class(case["transform"].as_str().unwrap_or_default(), TRANSFORMS);
    let rules = Rules::of(case);
    let props = props_of(&case["config"]);
    let mut sink: Pair<SinkRecord> = Pair {
        t: new_transformation(&class).ok_or_else(|| format!("{name}: no transform {class}"))?,
    };
    let mut source: Pair<SourceRecord> = Pair {
        t: new_transformation(&class).ok_or_else(|| format!("{name}: no transform {class}"))?,
    };
    let configured = sink.t.configure(&props);
    let _ = source.t.configure(&props);
    match (java.get("config_error"), configured) {
        (Some(e), Err(err)) => {
            return check_error(
                &format!("{name}: configure"),
                &rules,
                e,
                &err.message,
                "org.apache.kafka.common.config.ConfigException",
            )
        }
        (Some(e), Ok(())) => return Err(format!("{name}: Java failed to configure: {e}")),
        (None, Err(err)) => {
            return Err(format!(
                "{name}: Ferry failed to configure: {}",
                err.message
            ))
        }
        (None, Ok(())) => {}
    }
    let records = case["records"].as_array().cloned().unwrap_or_default();
    let results = java["results"].as_array().cloned().unwrap_or_default();
    if records.len() != results.len() {
        return Err(format!("{name}: expected.json is stale (regenerate)"));
    }
    let mut failures = Vec::new();
    for (rec, want) in records.iter().zip(&results) {
        let rec = rec.as_str().unwrap_or_default();
        let what = format!("{name} / {rec}");
        let outcome = if dsl.is_source(rec) {
            source
                .t
                .apply(dsl.source(rec))
                .map(|o| o.map(|r| r.describe()))
        } else {
            sink.t.apply(dsl.sink(rec)).map(|o| o.map(|r| r.describe()))
        };
        if let Err(e) = check_outcome(&what, &rules, want, outcome) {
            failures.push(e);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn run_predicate(dsl: &Dsl, case: &J, java: &J) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    let class = full_class(case["predicate"].as_str().unwrap_or_default(), PREDICATES);
    let rules = Rules::of(case);
    let props = props_of(&case["config"]);
    let mut sink: Box<dyn Predicate<SinkRecord>> =
        new_predicate(&class).ok_or_else(|| format!("{name}: no predicate {class}"))?;
    let mut source: Box<dyn Predicate<SourceRecord>> =
        new_predicate(&class).ok_or_else(|| format!("{name}: no predicate {class}"))?;
    let configured = sink.configure(&props);
    let _ = source.configure(&props);
    match (java.get("config_error"), configured) {
        (Some(e), Err(err)) => {
            return check_error(
                &format!("{name}: configure"),
                &rules,
                e,
                &err.message,
                "org.apache.kafka.common.config.ConfigException",
            )
        }
        (Some(e), Ok(())) => return Err(format!("{name}: Java failed to configure: {e}")),
        (None, Err(err)) => {
            return Err(format!(
                "{name}: Ferry failed to configure: {}",
                err.message
            ))
        }
        (None, Ok(())) => {}
    }
    let records = case["records"].as_array().cloned().unwrap_or_default();
    let results = java["results"].as_array().cloned().unwrap_or_default();
    for (rec, want) in records.iter().zip(&results) {
        let rec = rec.as_str().unwrap_or_default();
        let got = if dsl.is_source(rec) {
            source.test(&dsl.source(rec))
        } else {
            sink.test(&dsl.sink(rec))
        };
        if want["test"].as_bool() != Some(got) {
            return Err(format!(
                "{name} / {rec}: Java {}, Ferry {got}",
                want["test"]
            ));
        }
    }
    Ok(())
}

fn run_chain(dsl: &Dsl, case: &J, java: &J) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    let rules = Rules::of(case);
    let props = connector_props(&case["chain"]);
    let sink = TransformationChain::<SinkRecord>::from_connector_config(registry(), &props);
    let source = TransformationChain::<SourceRecord>::from_connector_config(registry(), &props);
    let (mut sink, mut source) = match (java.get("chain_error"), sink, source) {
        (Some(e), Err(err), _) => {
            // Java wraps the cause in ConnectExceptions; Ferry's message
            // must carry the cause's text.
            let root = e["root"]
                .as_str()
                .or(e["error"].as_str())
                .unwrap_or_default();
            let ok = match rules.prefix {
                Some(p) => root.starts_with(p) && err.message.contains(p),
                None => err.message.contains(root),
            };
            return if ok {
                Ok(())
            } else {
                Err(format!(
                    "{name}: chain error\n      Java  {root:?}\n      Ferry {:?}",
                    err.message
                ))
            };
        }
        (Some(e), Ok(_), _) => return Err(format!("{name}: Java failed to build the chain: {e}")),
        (None, Err(err), _) | (None, _, Err(err)) => {
            return Err(format!("{name}: Ferry failed to build the chain: {err}"))
        }
        (None, Ok(a), Ok(b)) => (a, b),
    };
    let records = case["records"].as_array().cloned().unwrap_or_default();
    let results = java["results"].as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    for (rec, want) in records.iter().zip(&results) {
        let rec = rec.as_str().unwrap_or_default();
        let what = format!("{name} / {rec}");
        let outcome = if dsl.is_source(rec) {
            source
                .apply(dsl.source(rec))
                .map(|o| o.map(|r| r.describe()))
        } else {
            sink.apply(dsl.sink(rec)).map(|o| o.map(|r| r.describe()))
        };
        if let Err(e) = check_outcome(&what, &rules, want, outcome) {
            failures.push(e);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn key_json(k: &ConfigKey) -> J {
    let info = k.info();
    json!({
        "name": info.name,
        "type": info.config_type,
        "required": info.required,
        "default_value": info.default_value,
        "importance": info.importance,
        "documentation": info.documentation,
        "group": info.group,
        "order_in_group": info.order,
        "width": info.width,
        "display_name": info.display_name,
        "dependents": info.dependents,
    })
}

fn value_json(v: &ValidatedValue) -> J {
    let info = v.info();
    // The generator's Kafka Connect has no Debezium plugins; a worker that
    // has them (as Ferry has Debezium's transform built in) recommends
    // them too.
    let recommended: Vec<&String> = info
        .recommended_values
        .iter()
        .filter(|c| !c.starts_with("io.debezium."))
        .collect();
    json!({
        "name": info.name,
        "value": info.value,
        "recommended_values": recommended,
        "errors": info.errors,
        "visible": info.visible,
    })
}

fn run_validate(case: &J, java: &J) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    let rules = Rules::of(case);
    let props = connector_props(&case["validate"]);
    let v = ferry_transforms::validation(registry(), &props);
    let want = java["configs"].as_array().cloned().unwrap_or_default();
    let extra = &case["ferry_extra_errors"];
    let mut failures = Vec::new();
    if want.len() != v.keys.len() {
        let names = |it: Vec<String>| it.join(", ");
        failures.push(format!(
            "{name}: keys\n      Java  {}\n      Ferry {}",
            names(
                want.iter()
                    .map(|w| w["definition"]["name"].to_string())
                    .collect()
            ),
            names(v.keys.iter().map(|k| k.name.clone()).collect())
        ));
    }
    for (w, (k, val)) in want.iter().zip(v.keys.iter().zip(&v.values)) {
        let key = key_json(k);
        if !same(&w["definition"], &key) {
            failures.push(format!(
                "{name}: definition\n      Java  {}\n      Ferry {key}",
                w["definition"]
            ));
        }
        let mut java_value = w["value"].clone();
        if let Some(more) = extra[&k.name].as_array() {
            // Ferry's documented additions to Kafka Connect's checks.
            if let Some(errs) = java_value["errors"].as_array_mut() {
                errs.extend(more.iter().cloned());
            }
        }
        let mut ferry_value = value_json(val);
        if rules.prefix.is_some() {
            for doc in [&mut java_value, &mut ferry_value] {
                if let Some(errs) = doc["errors"].as_array_mut() {
                    for e in errs.iter_mut() {
                        if let (Some(p), Some(s)) = (rules.prefix, e.as_str()) {
                            if s.starts_with(p) {
                                *e = json!(p);
                            }
                        }
                    }
                }
            }
        }
        if !same(&java_value, &ferry_value) {
            failures.push(format!(
                "{name}: value of {}\n      Java  {java_value}\n      Ferry {ferry_value}",
                k.name
            ));
        }
    }
    let groups = json!(v.groups);
    if java["groups"] != groups {
        failures.push(format!(
            "{name}: groups\n      Java  {}\n      Ferry {groups}",
            java["groups"]
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn check_plugins(java: &J) -> Result<(), String> {
    let ours = ferry_transforms::plugins();
    let want = java.as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    let java_list: Vec<(String, String, String)> = want
        .iter()
        .map(|p| {
            (
                p["class"].as_str().unwrap_or_default().to_owned(),
                p["type"].as_str().unwrap_or_default().to_owned(),
                p["version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Kafka Connect's own plugins (Debezium's transform is checked by the
    // CDC golden test against Debezium).
    let ferry_list: Vec<(String, String, String)> = ours
        .iter()
        .filter(|p| p.class().starts_with("org.apache.kafka."))
        .map(|p| {
            (
                p.class().to_owned(),
                p.plugin_type().name().to_owned(),
                p.version().to_owned(),
            )
        })
        .collect();
    if java_list != ferry_list {
        failures.push(format!(
            "plugins:\n      Java  {java_list:?}\n      Ferry {ferry_list:?}"
        ));
    }
    for p in &want {
        let class = p["class"].as_str().unwrap_or_default();
        let def = registry()
            .config_def(PluginType::Transformation, class)
            .or_else(|| registry().config_def(PluginType::Predicate, class));
        let Some(def) = def else {
            failures.push(format!("{class}: no config definition"));
            continue;
        };
        let ferry: Vec<J> = def.keys().iter().map(key_json).collect();
        let ferry = J::Array(ferry);
        if !same(&p["config"], &ferry) {
            failures.push(format!(
                "{class}: config\n      Java  {}\n      Ferry {ferry}",
                p["config"]
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[test]
fn golden_cases_match_kafka_connect() {
    let spec = load("cases.json");
    let expected = load("expected.json");
    let dsl = Dsl { spec: &spec };
    let by_case: BTreeMap<&str, &J> = expected["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["case"].as_str().unwrap_or_default(), r))
        .collect();
    let mut failures = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let cases = spec["cases"].as_array().expect("cases");
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        assert!(seen.insert(name), "duplicate case name {name}");
        // A documented deviation: Ferry must do what Java did for another
        // case (for instance an alias Kafka Connect does not accept).
        let java_name = case["ferry_same_as"].as_str().unwrap_or(name);
        let Some(java) = by_case.get(java_name) else {
            failures.push(format!(
                "{name}: missing from expected.json (run golden/generate.sh)"
            ));
            continue;
        };
        let result = if case.get("transform").is_some() {
            run_transform(&dsl, case, java)
        } else if case.get("predicate").is_some() {
            run_predicate(&dsl, case, java)
        } else if case.get("chain").is_some() {
            run_chain(&dsl, case, java)
        } else if case.get("validate").is_some() {
            run_validate(case, java)
        } else {
            Err(format!("{name}: unknown case kind"))
        };
        if let Err(e) = result {
            failures.push(e);
        }
    }
    if let Err(e) = check_plugins(&expected["plugins"]) {
        failures.push(e);
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases differ from Kafka Connect 4.3.1:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
