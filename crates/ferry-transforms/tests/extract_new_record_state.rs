//! Debezium's `ExtractNewRecordState` in the modes the golden CDC test
//! (`tests/tests/postgres_cdc_golden.rs`, which compares with Debezium
//! itself in `rewrite` mode) does not run: each delete handling mode on a
//! delete, its tombstone and an update; routing by a field; headers on a
//! tombstone; events that are not change events passing unchanged.

use ferry_api::{Props, Schema, SchemaBuilder, SinkRecord, Struct, Value};
use ferry_runtime::plugins::Plugins;
use ferry_transforms::TransformationChain;

fn chain(pairs: &[(&str, &str)]) -> TransformationChain<SinkRecord> {
    let mut props: Props = [
        ("transforms", "unwrap"),
        (
            "transforms.unwrap.type",
            "io.debezium.transforms.ExtractNewRecordState",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        props.insert(format!("transforms.unwrap.{k}"), (*v).to_owned());
    }
    let registry = Plugins::with_built_ins(Vec::new()).expect("built-in plugins");
    TransformationChain::from_connector_config(&registry, &props).expect("a valid chain")
}

fn row_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("db.public.t.Value")
        .optional()
        .field("id", Schema::int32())
        .field("topic", Schema::optional_string())
        .build()
}

fn envelope_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("db.public.t.Envelope")
        .version(2)
        .field("before", row_schema())
        .field("after", row_schema())
        .field(
            "source",
            SchemaBuilder::struct_()
                .name("io.debezium.connector.postgresql.Source")
                .field("table", Schema::string())
                .field(
                    "lsn",
                    SchemaBuilder::new(ferry_api::SchemaType::Int64)
                        .optional()
                        .build(),
                )
                .build(),
        )
        .field("op", Schema::string())
        .build()
}

fn row(id: i32, topic: Option<&str>) -> Value {
    let s = Struct::new(row_schema())
        .and_then(|s| s.put("id", Value::Int32(id)))
        .and_then(|s| s.put("topic", topic.map_or(Value::Null, Value::from)))
        .expect("a row");
    Value::Struct(s)
}

fn event(op: &str, before: Option<Value>, after: Option<Value>) -> SinkRecord {
    let source = Struct::new(
        envelope_schema()
            .field("source")
            .expect("source")
            .schema
            .clone(),
    )
    .and_then(|s| s.put("table", "t"))
    .and_then(|s| s.put("lsn", Value::Int64(42)))
    .expect("a source block");
    let mut e = Struct::new(envelope_schema()).expect("an envelope");
    if let Some(b) = before {
        e.set("before", b).expect("before");
    }
    if let Some(a) = after {
        e.set("after", a).expect("after");
    }
    e.set("source", Value::Struct(source)).expect("source");
    e.set("op", Value::from(op)).expect("op");
    SinkRecord {
        topic: "db.public.t".into(),
        value_schema: Some(envelope_schema()),
        value: Value::Struct(e),
        ..Default::default()
    }
}

fn tombstone() -> SinkRecord {
    SinkRecord {
        topic: "db.public.t".into(),
        ..Default::default()
    }
}

fn run(chain: &mut TransformationChain<SinkRecord>, r: SinkRecord) -> Option<SinkRecord> {
    chain.apply(r).expect("applied")
}

fn field(r: &SinkRecord, name: &str) -> Option<Value> {
    match &r.value {
        Value::Struct(s) => s.get(name).cloned(),
        _ => None,
    }
}

#[test]
fn each_delete_handling_mode() {
    let delete = || event("d", Some(row(1, None)), None);
    let update = || event("u", Some(row(1, None)), Some(row(1, Some("x"))));

    // tombstone (the default): the delete's value becomes null, its
    // tombstone is dropped.
    let mut c = chain(&[]);
    let d = run(&mut c, delete()).expect("kept");
    assert_eq!(d.value, Value::Null);
    assert!(run(&mut c, tombstone()).is_none());
    assert_eq!(
        field(&run(&mut c, update()).expect("kept"), "topic"),
        Some(Value::from("x"))
    );

    // drop: both gone.
    let mut c = chain(&[("delete.tombstone.handling.mode", "drop")]);
    assert!(run(&mut c, delete()).is_none());
    assert!(run(&mut c, tombstone()).is_none());

    // delete-to-tombstone: the delete becomes the tombstone.
    let mut c = chain(&[("delete.tombstone.handling.mode", "delete-to-tombstone")]);
    let d = run(&mut c, delete()).expect("kept");
    assert_eq!((d.value_schema, d.value), (None, Value::Null));
    assert!(run(&mut c, tombstone()).is_none());

    // rewrite-with-tombstone: the old row with __deleted=true, and the
    // tombstone kept.
    let mut c = chain(&[("delete.tombstone.handling.mode", "rewrite-with-tombstone")]);
    let d = run(&mut c, delete()).expect("kept");
    assert_eq!(field(&d, "id"), Some(Value::Int32(1)));
    assert_eq!(field(&d, "__deleted"), Some(Value::from("true")));
    assert!(run(&mut c, tombstone()).is_some());
    let u = run(&mut c, update()).expect("kept");
    assert_eq!(field(&u, "__deleted"), Some(Value::from("false")));

    // Debezium 3 removed drop.tombstones and delete.handling.mode: they
    // are ignored, the default mode applies.
    let mut c = chain(&[
        ("drop.tombstones", "false"),
        ("delete.handling.mode", "rewrite"),
    ]);
    assert_eq!(run(&mut c, delete()).expect("kept").value, Value::Null);
    assert!(run(&mut c, tombstone()).is_none());

    // A truncate (no before, no after) is dropped in every mode.
    let mut c = chain(&[("delete.tombstone.handling.mode", "rewrite-with-tombstone")]);
    assert!(run(&mut c, event("t", None, None)).is_none());
}

#[test]
fn routes_adds_fields_and_headers_and_passes_other_records() {
    let mut c = chain(&[
        ("route.by.field", "topic"),
        ("add.fields", "op,source.lsn:position"),
        ("add.fields.prefix", "_"),
        ("add.headers", "op,table"),
    ]);
    let r = run(&mut c, event("c", None, Some(row(7, Some("elsewhere"))))).expect("kept");
    assert_eq!(r.topic, "elsewhere");
    assert_eq!(field(&r, "_op"), Some(Value::from("c")));
    assert_eq!(field(&r, "_position"), Some(Value::Int64(42)));
    let headers: Vec<(&str, &Value)> = r
        .headers
        .iter()
        .map(|h| (h.key.as_str(), &h.value))
        .collect();
    assert_eq!(
        headers,
        vec![("__op", &Value::from("c")), ("__table", &Value::from("t"))]
    );
    // A blank routing value keeps the topic.
    let r = run(&mut c, event("c", None, Some(row(8, None)))).expect("kept");
    assert_eq!(r.topic, "db.public.t");

    // A tombstone gets an `op` header of "d" (and nothing else), then is
    // dropped unless kept by the mode.
    let mut c = chain(&[
        ("add.headers", "op,table"),
        ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
    ]);
    let t = run(&mut c, tombstone()).expect("kept");
    let headers: Vec<&str> = t.headers.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(headers, vec!["__op"]);

    // Not a change event: unchanged.
    let plain = SinkRecord {
        topic: "other".into(),
        value_schema: Some(Schema::string()),
        value: Value::from("text"),
        ..Default::default()
    };
    assert_eq!(run(&mut c, plain.clone()), Some(plain));
}
