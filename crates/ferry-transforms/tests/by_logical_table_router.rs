//! Debezium's `ByLogicalTableRouter` in the settings the golden CDC test
//! (`tests/tests/postgres_cdc_golden.rs`, which compares with Debezium
//! itself with the default key field) does not run: two shards into one
//! topic with `key.field.regex`, uniqueness off, Avro name adjustment,
//! topics the regex does not match, tombstones and records without a key,
//! and the settings refused.

use ferry_api::{Props, Schema, SchemaBuilder, SinkRecord, Struct, Value};
use ferry_runtime::plugins::Plugins;
use ferry_transforms::TransformationChain;

fn props(pairs: &[(&str, &str)]) -> Props {
    let mut props: Props = [
        ("transforms", "route"),
        (
            "transforms.route.type",
            "io.debezium.transforms.ByLogicalTableRouter",
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in pairs {
        props.insert(format!("transforms.route.{k}"), (*v).to_owned());
    }
    props
}

fn chain(pairs: &[(&str, &str)]) -> TransformationChain<SinkRecord> {
    let registry = Plugins::with_built_ins(Vec::new()).expect("built-in plugins");
    TransformationChain::from_connector_config(&registry, &props(pairs)).expect("a valid chain")
}

fn key_schema(topic: &str) -> Schema {
    SchemaBuilder::struct_()
        .name(format!("{topic}.Key"))
        .field("id", Schema::int32())
        .build()
}

fn row_schema(topic: &str) -> Schema {
    SchemaBuilder::struct_()
        .name(format!("{topic}.Value"))
        .optional()
        .field("id", Schema::int32())
        .field("note", Schema::optional_string())
        .build()
}

fn envelope_schema(topic: &str) -> Schema {
    SchemaBuilder::struct_()
        .name(format!("{topic}.Envelope"))
        .version(2)
        .field("before", row_schema(topic))
        .field("after", row_schema(topic))
        .field("op", Schema::string())
        .build()
}

/// A create event of `topic` for row `id`.
fn event(topic: &str, id: i32) -> SinkRecord {
    let key = Struct::new(key_schema(topic))
        .and_then(|s| s.put("id", Value::Int32(id)))
        .expect("a key");
    let row = Struct::new(row_schema(topic))
        .and_then(|s| s.put("id", Value::Int32(id)))
        .and_then(|s| s.put("note", "n"))
        .expect("a row");
    let envelope = Struct::new(envelope_schema(topic))
        .and_then(|s| s.put("after", Value::Struct(row)))
        .and_then(|s| s.put("op", "c"))
        .expect("an envelope");
    SinkRecord {
        topic: topic.into(),
        key_schema: Some(key_schema(topic)),
        key: Value::Struct(key),
        value_schema: Some(envelope_schema(topic)),
        value: Value::Struct(envelope),
        ..Default::default()
    }
}

fn run(chain: &mut TransformationChain<SinkRecord>, r: SinkRecord) -> SinkRecord {
    chain.apply(r).expect("applied").expect("kept")
}

fn key_field(r: &SinkRecord, name: &str) -> Option<Value> {
    match &r.key {
        Value::Struct(s) => s.get(name).cloned(),
        _ => None,
    }
}

const SHARDS: &[(&str, &str)] = &[
    ("topic.regex", "(.*)\\.shard_(\\d+)\\.orders"),
    ("topic.replacement", "$1.all.orders"),
];

#[test]
fn two_shards_share_a_topic_their_keys_kept_apart() {
    let mut c = chain(
        &[
            SHARDS,
            &[
                ("key.field.regex", "(.*)\\.shard_(\\d+)\\.orders"),
                ("key.field.replacement", "shard $2"),
                ("key.field.name", "shard"),
            ],
        ]
        .concat(),
    );
    let one = run(&mut c, event("db.shard_1.orders", 7));
    let two = run(&mut c, event("db.shard_2.orders", 7));
    for (r, shard) in [(&one, "shard 1"), (&two, "shard 2")] {
        assert_eq!(r.topic, "db.all.orders");
        assert_eq!(key_field(r, "id"), Some(Value::Int32(7)));
        assert_eq!(key_field(r, "shard"), Some(Value::from(shard)));
        let key = r.key_schema.as_ref().expect("a key schema");
        assert_eq!(key.name(), Some("db.all.orders.Key"));
        let envelope = r.value_schema.as_ref().expect("a value schema");
        assert_eq!(envelope.name(), Some("db.all.orders.Envelope"));
        assert_eq!(envelope.version(), Some(2));
        let after = &envelope.field("after").expect("after").schema;
        assert_eq!(after.name(), Some("db.all.orders.Value"));
        assert!(after.is_optional());
    }
    // Both shards' events now have the same schemas.
    assert_eq!(one.key_schema, two.key_schema);
    assert_eq!(one.value_schema, two.value_schema);
    let Value::Struct(envelope) = &one.value else {
        panic!("an envelope")
    };
    let Some(Value::Struct(after)) = envelope.get("after") else {
        panic!("a row")
    };
    assert_eq!(after.get("note"), Some(&Value::from("n")));
    assert_eq!(envelope.get("before"), Some(&Value::Null));
}

#[test]
fn the_key_keeps_its_fields_only_without_uniqueness() {
    let mut c = chain(&[SHARDS, &[("key.enforce.uniqueness", "false")]].concat());
    let r = run(&mut c, event("db.shard_1.orders", 7));
    let key = r.key_schema.as_ref().expect("a key schema");
    assert_eq!(key.fields().len(), 1);
    assert_eq!(key.name(), Some("db.all.orders.Key"));
}

#[test]
fn the_default_key_field_names_the_old_topic() {
    let mut c = chain(SHARDS);
    let r = run(&mut c, event("db.shard_3.orders", 1));
    assert_eq!(
        key_field(&r, "__dbz__physicalTableIdentifier"),
        Some(Value::from("db.shard_3.orders"))
    );
}

#[test]
fn names_are_made_avro_names_when_asked() {
    let mut c = chain(
        &[
            ("topic.regex", "(.*)\\.orders"),
            ("topic.replacement", "$1-all.orders"),
            ("schema.name.adjustment.mode", "avro"),
        ][..],
    );
    let r = run(&mut c, event("db.orders", 1));
    assert_eq!(r.topic, "db-all.orders");
    assert_eq!(
        r.key_schema.as_ref().and_then(|s| s.name()),
        Some("db_all.orders.Key")
    );
}

#[test]
fn other_topics_tombstones_and_keyless_records() {
    let mut c = chain(SHARDS);
    // Not matched: unchanged.
    let other = run(&mut c, event("db.public.customers", 1));
    assert_eq!(other.topic, "db.public.customers");
    assert_eq!(
        other.key_schema.as_ref().and_then(|s| s.name()),
        Some("db.public.customers.Key")
    );
    // A tombstone: routed, its key rewritten, its value still null.
    let mut tombstone = event("db.shard_1.orders", 4);
    tombstone.value_schema = None;
    tombstone.value = Value::Null;
    let t = run(&mut c, tombstone);
    assert_eq!(t.topic, "db.all.orders");
    assert_eq!(t.value, Value::Null);
    assert_eq!(
        key_field(&t, "__dbz__physicalTableIdentifier"),
        Some(Value::from("db.shard_1.orders"))
    );
    // A table without a primary key: no key to rewrite.
    let mut keyless = event("db.shard_1.orders", 5);
    keyless.key_schema = None;
    keyless.key = Value::Null;
    let k = run(&mut c, keyless);
    assert_eq!(k.topic, "db.all.orders");
    assert_eq!(k.key, Value::Null);
}

#[test]
fn settings_are_refused_naming_the_key() {
    let registry = Plugins::with_built_ins(Vec::new()).expect("built-in plugins");
    let refused = |pairs: &[(&str, &str)]| {
        TransformationChain::<SinkRecord>::from_connector_config(&registry, &props(pairs))
            .err()
            .map(|e| e.to_string())
            .expect("refused")
    };
    let e = refused(&[("topic.replacement", "x")]);
    assert!(e.contains("topic.regex"), "{e}");
    let e = refused(&[SHARDS[0], SHARDS[1], ("key.field.regex", "(.*)")]);
    assert!(
        e.contains("key.field.replacement must be non-empty if key.field.regex is set."),
        "{e}"
    );
    let e = refused(&[("topic.regex", "("), ("topic.replacement", "x")]);
    assert!(e.contains("topic.regex"), "{e}");
}
