//! Golden tests: Ferry's converters against the output of the real Kafka
//! Connect jars.
//!
//! `golden/cases.json` defines every case once, in a small DSL;
//! `golden/Generator.java` ran them through Kafka Connect and recorded the
//! results in `golden/expected.json` (regenerate with `golden/generate.sh`).
//! This test builds the same schemas and values with ferry-api, runs them
//! through Ferry's converters and demands the same bytes, the same decoded
//! data and the same errors. Java is not needed to run it.

use std::collections::HashMap;
use std::path::PathBuf;

use ferry_api::{
    ConvertError, Converter, Decimal, Props, Schema, SchemaBuilder, SchemaType, Struct, Value,
};
use ferry_convert::{ByteArrayConverter, ConverterRole, JsonConverter, StringConverter};
use ferry_java::float as java_float;
use serde_json::{json, Value as J};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn load(name: &str) -> J {
    let path = golden_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------------------------ DSL

fn build_schema(d: &J) -> Option<Schema> {
    if d.is_null() {
        return None;
    }
    let t = d["type"].as_str().expect("schema type");
    let child = |k: &str| build_schema(&d[k]).unwrap_or_else(|| panic!("{t} schema needs {k}"));
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
                    build_schema(&f[1]).expect("field schema"),
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
            let v = build_value(Some(&schema), dv);
            Some(schema.to_builder().default_value(v).build())
        }
        None => Some(schema),
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

fn build_value(schema: Option<&Schema>, d: &J) -> Value {
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
                .map(|item| build_value(schema.and_then(Schema::value_schema), item))
                .collect(),
        ),
        "map" => Value::Map(
            v.as_array()
                .expect("map")
                .iter()
                .map(|pair| {
                    (
                        build_value(schema.and_then(Schema::key_schema), &pair[0]),
                        build_value(schema.and_then(Schema::value_schema), &pair[1]),
                    )
                })
                .collect(),
        ),
        "struct" => {
            let own = d.get("schema").and_then(build_schema);
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
                s.set(name, build_value(Some(&field.schema), fv))
                    .expect("field value");
            }
            Value::Struct(s)
        }
        other => panic!("unknown value kind {other}"),
    }
}

/// A Connect value in the DSL, as Generator.java describes Java's values.
fn describe(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => json!({ "boolean": b }),
        Value::Int8(x) => json!({ "int8": x }),
        Value::Int16(x) => json!({ "int16": x }),
        Value::Int32(x) => json!({ "int32": x }),
        Value::Int64(x) => json!({ "int64": x }),
        Value::Float32(x) => json!({ "float32": java_float::f32_to_string(*x) }),
        Value::Float64(x) => json!({ "float64": java_float::f64_to_string(*x) }),
        Value::String(s) => json!({ "string": s }),
        Value::Bytes(b) => json!({ "bytes": to_hex(b) }),
        Value::Decimal(d) => json!({ "decimal": d.to_string() }),
        Value::Date(x) => json!({ "date": x }),
        Value::Time(x) => json!({ "time": x }),
        Value::Timestamp(x) => json!({ "timestamp": x }),
        Value::Array(items) => json!({ "array": items.iter().map(describe).collect::<Vec<_>>() }),
        Value::Map(entries) => json!({
            "map": entries.iter().map(|(k, v)| json!([describe(k), describe(v)])).collect::<Vec<_>>()
        }),
        Value::Struct(s) => {
            let mut fields = serde_json::Map::new();
            for (f, v) in s.schema().fields().iter().zip(s.values()) {
                fields.insert(f.name.clone(), describe(v));
            }
            json!({ "struct": fields })
        }
    }
}

/// Structural equality of two descriptions, where map entries may come in
/// any order (Java decodes maps into `HashMap`s).
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

const CLASSES: [(&str, &str); 3] = [
    ("json", "org.apache.kafka.connect.json.JsonConverter"),
    ("string", "org.apache.kafka.connect.storage.StringConverter"),
    (
        "bytes",
        "org.apache.kafka.connect.converters.ByteArrayConverter",
    ),
];

/// The converter of `class`, configured for `role` as Kafka Connect's
/// `configure` (or, for headers, `Plugins.newHeaderConverter`) does.
fn new_converter(
    class: &str,
    role: ConverterRole,
    props: &Props,
) -> Result<Box<dyn Converter>, ConvertError> {
    Ok(match class {
        "org.apache.kafka.connect.json.JsonConverter" => Box::new(JsonConverter::new(role, props)?),
        "org.apache.kafka.connect.storage.StringConverter" => {
            Box::new(StringConverter::new(role, props)?)
        }
        _ => Box::new(ByteArrayConverter::new(role, props)?),
    })
}

fn role(case: &J) -> ConverterRole {
    match case["role"].as_str().unwrap_or("value") {
        "key" => ConverterRole::Key,
        "header" => ConverterRole::Header,
        _ => ConverterRole::Value,
    }
}

/// Java's message must be Ferry's, or a prefix of it when Java chained a
/// cause (Ferry appends the cause's text instead).
fn check_error(what: &str, java: &J, ferry: &ConvertError) -> Result<(), String> {
    let want = java["error"].as_str().unwrap_or_default();
    let got = match ferry {
        ConvertError::Config(m) | ConvertError::Data(m) => m.clone(),
        other => other.to_string(),
    };
    let ok = if java.get("cause").is_some() {
        got.starts_with(want)
    } else {
        got == want
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}: Java failed with {want:?}, Ferry with {got:?}"
        ))
    }
}

fn expected_bytes(r: &J) -> Option<Vec<u8>> {
    if let Some(s) = r["out"].as_str() {
        Some(s.as_bytes().to_vec())
    } else {
        r["out_hex"].as_str().map(hex)
    }
}

fn show(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("hex {}", to_hex(b)),
    }
}

/// Compares an encoding result with what Java produced.
fn check_encoded(
    what: &str,
    java: &J,
    ferry: Result<(bool, Vec<u8>), ConvertError>,
) -> Result<(), String> {
    match (java.get("error"), ferry) {
        (Some(_), Err(e)) => check_error(what, java, &e),
        (Some(e), Ok((_, out))) => Err(format!(
            "{what}: Java failed with {e}, Ferry wrote {}",
            show(&out)
        )),
        (None, Err(e)) => Err(format!("{what}: Java succeeded, Ferry failed with {e:?}")),
        (None, Ok((present, out))) => {
            if java["tombstone"].as_bool() == Some(true) {
                return if present {
                    Err(format!(
                        "{what}: Java wrote a tombstone, Ferry {}",
                        show(&out)
                    ))
                } else {
                    Ok(())
                };
            }
            let want = expected_bytes(java)
                .ok_or_else(|| format!("{what}: malformed expectation {java}"))?;
            if !present {
                return Err(format!(
                    "{what}: Java wrote {}, Ferry a tombstone",
                    show(&want)
                ));
            }
            if out == want {
                Ok(())
            } else {
                Err(format!(
                    "{what}:\n      Java  {}\n      Ferry {}",
                    show(&want),
                    show(&out)
                ))
            }
        }
    }
}

fn encode(
    conv: &dyn Converter,
    schema: Option<&Schema>,
    value: &Value,
) -> Result<(bool, Vec<u8>), ConvertError> {
    let mut out = Vec::new();
    conv.from_connect("golden", schema, value, &mut out)
        .map(|present| (present, out))
}

struct Env {
    describer: JsonConverter,
    config_sets: J,
}

fn check_result(env: &Env, case: &J, result: &J) -> Result<(), String> {
    let kind = case["converter"].as_str().unwrap_or("json");
    let class = CLASSES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, c)| *c)
        .expect("converter kind");
    let config = result["config"].as_str().expect("config");
    let props: Props = env.config_sets[config]
        .as_object()
        .expect("config set")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("config value").to_owned()))
        .collect();

    let conv = match (
        new_converter(class, role(case), &props),
        result.get("config_error"),
    ) {
        (Ok(c), None) => c,
        (Err(e), Some(java)) => return check_error("configure", java, &e),
        (Ok(_), Some(java)) => {
            return Err(format!(
                "configure: Java failed with {}, Ferry accepted",
                java["error"]
            ))
        }
        (Err(e), None) => return Err(format!("configure: Java accepted, Ferry failed with {e:?}")),
    };

    let input: Option<Vec<u8>> = if case.get("value").is_some() {
        let schema = build_schema(&case["schema"]);
        let value = build_value(schema.as_ref(), &case["value"]);
        let java = &result["encode"];
        check_encoded(
            "encode",
            java,
            encode(conv.as_ref(), schema.as_ref(), &value),
        )?;
        if java.get("error").is_some() || java["tombstone"].as_bool() == Some(true) {
            return Ok(());
        }
        expected_bytes(java)
    } else if let Some(t) = case["decode"].as_str() {
        Some(t.as_bytes().to_vec())
    } else {
        // `decode_hex`, or `decode_null` (a null payload).
        case["decode_hex"].as_str().map(hex)
    };

    // Decode Java's bytes, compare the data, re-encode it.
    let java = &result["decode"];
    let (schema, value) = match (
        conv.to_connect("golden", input.as_deref()),
        java.get("error"),
    ) {
        (Ok(sv), None) => sv,
        (Err(e), Some(_)) => return check_error("decode", java, &e),
        (Ok((_, v)), Some(e)) => {
            return Err(format!(
                "decode: Java failed with {e}, Ferry read {}",
                describe(&v)
            ))
        }
        (Err(e), None) => return Err(format!("decode: Java succeeded, Ferry failed with {e:?}")),
    };
    let schema_json = match &schema {
        Some(s) => {
            let mut out = Vec::new();
            env.describer
                .schema_to_json(s, &mut out)
                .map_err(|e| format!("describe schema: {e}"))?;
            J::String(String::from_utf8(out).expect("UTF-8"))
        }
        None => J::Null,
    };
    if schema_json != java["schema"] {
        return Err(format!(
            "decoded schema:\n      Java  {}\n      Ferry {}",
            java["schema"], schema_json
        ));
    }
    let described = describe(&value);
    if !same(&described, &java["value"]) {
        return Err(format!(
            "decoded value:\n      Java  {}\n      Ferry {}",
            java["value"], described
        ));
    }
    let reencoded = encode(conv.as_ref(), schema.as_ref(), &value);
    let exact = check_encoded("re-encode", &java["reencode"], reencoded.clone());
    if exact.is_err() && has_unordered_map(&value) {
        // Java decoded the map into a HashMap and re-encodes it in hash
        // order, where Ferry keeps the document order: compare the data.
        if let (Ok((true, ours)), Some(theirs)) = (reencoded, expected_bytes(&java["reencode"])) {
            let a = conv
                .to_connect("golden", Some(&ours))
                .map_err(|e| e.to_string())?;
            let b = conv
                .to_connect("golden", Some(&theirs))
                .map_err(|e| e.to_string())?;
            if a.0 == b.0 && same(&describe(&a.1), &describe(&b.1)) {
                return Ok(());
            }
        }
    }
    exact
}

/// Whether `v` holds a map whose entry order Java's `HashMap` may change.
fn has_unordered_map(v: &Value) -> bool {
    match v {
        Value::Map(entries) => {
            entries.len() > 1
                || entries
                    .iter()
                    .any(|(k, v)| has_unordered_map(k) || has_unordered_map(v))
        }
        Value::Array(items) => items.iter().any(has_unordered_map),
        Value::Struct(s) => s.values().iter().any(has_unordered_map),
        _ => false,
    }
}

#[test]
fn converters_match_kafka_connect() {
    let spec = load("cases.json");
    let expected = load("expected.json");
    let env = Env {
        describer: JsonConverter::new(ConverterRole::Value, &Props::new()).expect("describer"),
        config_sets: spec["config_sets"].clone(),
    };
    let cases: HashMap<&str, &J> = spec["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| (c["name"].as_str().expect("case name"), c))
        .collect();

    let mut failures = Vec::new();
    let results = expected["results"].as_array().expect("results");
    for r in results {
        let name = r["case"].as_str().expect("case");
        let config = r["config"].as_str().expect("config");
        let Some(case) = cases.get(name) else {
            failures.push(format!(
                "{name}@{config}: in expected.json but not in cases.json (run golden/generate.sh)"
            ));
            continue;
        };
        if let Err(msg) = check_result(&env, case, r) {
            failures.push(format!("{name}@{config}: {msg}"));
        }
    }

    // Every case and configuration must have been generated.
    let generated: std::collections::HashSet<(String, String)> = results
        .iter()
        .map(|r| {
            (
                r["case"].as_str().unwrap_or_default().to_owned(),
                r["config"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for case in spec["cases"].as_array().expect("cases") {
        let kind = case["converter"].as_str().unwrap_or("json");
        let configs = case
            .get("configs")
            .unwrap_or(&spec["default_configs"][kind]);
        for config in configs.as_array().expect("configs") {
            let key = (
                case["name"].as_str().unwrap_or_default().to_owned(),
                config.as_str().unwrap_or_default().to_owned(),
            );
            if !generated.contains(&key) {
                failures.push(format!(
                    "{}@{}: missing from expected.json (run golden/generate.sh)",
                    key.0, key.1
                ));
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} golden results differ from Kafka Connect {}:\n  {}",
        failures.len(),
        results.len(),
        expected["kafka"],
        failures.join("\n  ")
    );
}

#[test]
fn float_formatting_matches_java() {
    let text = std::fs::read_to_string(golden_dir().join("floats.txt")).expect("floats.txt");
    let mut failures = Vec::new();
    let mut n = 0;
    for line in text.lines() {
        let mut it = line.splitn(3, ' ');
        let (kind, bits, want) = (it.next(), it.next(), it.next());
        let got = match (kind, bits) {
            (Some("d"), Some(b)) => {
                java_float::f64_to_string(f64::from_bits(u64::from_str_radix(b, 16).expect("bits")))
            }
            (Some("f"), Some(b)) => {
                java_float::f32_to_string(f32::from_bits(u32::from_str_radix(b, 16).expect("bits")))
            }
            _ => panic!("malformed line {line:?}"),
        };
        n += 1;
        if Some(got.as_str()) != want {
            failures.push(format!("{line} -> {got}"));
        }
    }
    assert!(n > 1000, "floats.txt has only {n} values");
    assert!(
        failures.is_empty(),
        "{} of {n} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
