//! The crate's API as the runtime uses it: plugin listing, chains on source
//! and sink records, errors that name the stage, validation results.

use std::sync::Arc;

use ferry_api::{
    ExceptionKind, PluginType, Props, Schema, SchemaBuilder, SinkRecord, SourceRecord, Struct,
    Value,
};
use ferry_runtime::plugins::Plugins;
use ferry_transforms::{plugins, ChainError, TransformPlugins, TransformationChain, Validation};

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The worker's registry with the built-in plugins.
fn registry() -> Plugins {
    Plugins::with_built_ins(Vec::new()).expect("built-in plugins")
}

fn chain<R: ferry_api::ConnectRecord>(
    pairs: &[(&str, &str)],
) -> Result<TransformationChain<R>, ChainError> {
    TransformationChain::from_connector_config(&registry(), &props(pairs))
}

fn validation(pairs: &[(&str, &str)]) -> Validation {
    ferry_transforms::validation(&registry(), &props(pairs))
}

#[test]
fn lists_every_kafka_connect_plugin() {
    let all = plugins();
    let count = |t: PluginType| all.iter().filter(|p| p.plugin_type() == t).count();
    assert_eq!(
        (
            count(PluginType::Transformation),
            count(PluginType::Predicate)
        ),
        (28, 3)
    );
    // Kafka's report Kafka's version, Debezium's Debezium's.
    assert!(all.iter().all(|p| p.version()
        == if p.class().starts_with("io.debezium.") {
            "3.6.1.Final"
        } else {
            "4.3.1"
        }));
    // Transformations first, each kind sorted by class name.
    let classes: Vec<&str> = all.iter().map(|p| p.class()).collect();
    let mut sorted = classes.clone();
    sorted.sort_by_key(|c| (c.contains(".predicates."), *c));
    assert_eq!(classes, sorted);
}

#[test]
fn resolves_class_names_and_aliases() {
    let registry = registry();
    let rr = "org.apache.kafka.connect.transforms.RegexRouter";
    assert_eq!(registry.resolve(rr), Some(rr));
    assert_eq!(registry.resolve("RegexRouter"), Some(rr));
    assert_eq!(
        registry.resolve("Cast$Value"),
        Some("org.apache.kafka.connect.transforms.Cast$Value")
    );
    assert_eq!(
        registry.resolve("TopicNameMatches"),
        Some("org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
    );
    // Abstract bases, ambiguous aliases and other kinds are not
    // transformations or predicates.
    assert_eq!(
        registry.resolve("org.apache.kafka.connect.transforms.Cast"),
        None
    );
    assert_eq!(registry.resolve("Value"), None);
    assert_eq!(registry.resolve("JsonConverter"), None);
    let insert_header = registry
        .get(
            PluginType::Transformation,
            "org.apache.kafka.connect.transforms.InsertHeader",
        )
        .expect("InsertHeader");
    assert!(insert_header.built_in);
    assert_eq!(insert_header.plugin.config_def().keys().len(), 2);
}

fn source_record() -> SourceRecord {
    let mut partition = serde_json::Map::new();
    partition.insert("file".into(), serde_json::json!("a.txt"));
    let mut offset = serde_json::Map::new();
    offset.insert("position".into(), serde_json::json!(12));
    SourceRecord {
        source_partition: Arc::new(partition),
        source_offset: offset,
        topic: "orders".into(),
        value: Value::Map(vec![("id".into(), Value::Int32(1))]),
        timestamp: Some(1_700_000_000_000),
        ..Default::default()
    }
}

#[test]
fn source_chain_keeps_what_transforms_do_not_touch() {
    let mut chain = chain::<SourceRecord>(&[
        ("transforms", "insert,route"),
        ("transforms.insert.type", "InsertField$Value"),
        ("transforms.insert.topic.field", "topic"),
        ("transforms.route.type", "TimestampRouter"),
    ])
    .unwrap();
    let input = source_record();
    let out = chain.apply(input.clone()).unwrap().unwrap();
    assert_eq!(out.topic, "orders-20231114");
    assert_eq!(out.source_partition, input.source_partition);
    assert_eq!(out.source_offset, input.source_offset);
    assert_eq!(
        out.value,
        Value::Map(vec![
            ("id".into(), Value::Int32(1)),
            ("topic".into(), Value::from("orders")),
        ])
    );
    let stages: Vec<_> = chain.stages().map(|(alias, _)| alias.to_owned()).collect();
    assert_eq!(stages, ["insert", "route"]);
}

#[test]
fn failures_name_the_stage() {
    let mut chain = chain::<SinkRecord>(&[
        ("transforms", "cast"),
        (
            "transforms.cast.type",
            "org.apache.kafka.connect.transforms.Cast$Value",
        ),
        ("transforms.cast.spec", "int32"),
    ])
    .unwrap();
    let record = SinkRecord {
        topic: "t".into(),
        value_schema: Some(Schema::string()),
        value: Value::from("not a number"),
        ..Default::default()
    };
    let err = chain.apply(record).unwrap_err();
    assert_eq!(err.kind(), ExceptionKind::Data);
    assert_eq!(
        err.exception_class(),
        "org.apache.kafka.connect.errors.DataException"
    );
    assert_eq!(
        err.message(),
        "Value (not a number) was out of range for requested data type"
    );
    let stage = err.stage().unwrap();
    assert_eq!(stage.alias, "cast");
    assert_eq!(
        err.to_string(),
        "transformation 'cast' (org.apache.kafka.connect.transforms.Cast$Value) failed: Value (not a number) was out of range for requested data type"
    );
}

#[test]
fn chain_errors_name_the_key() {
    let err = chain::<SinkRecord>(&[
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", ".*"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "transforms.route.replacement");
    let err = chain::<SinkRecord>(&[
        ("transforms", "i"),
        ("transforms.i.type", "InsertField$Key"),
    ])
    .unwrap_err();
    assert_eq!(err.key, "transforms.i.type");
    assert!(err.message.contains("No field insertion configured"));
}

#[test]
fn filtered_records_leave_the_chain() {
    let mut chain = chain::<SinkRecord>(&[
        ("transforms", "drop,route"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "tomb"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-live"),
        ("predicates", "tomb"),
        ("predicates.tomb.type", "RecordIsTombstone"),
    ])
    .unwrap();
    let tombstone = SinkRecord {
        topic: "t".into(),
        ..Default::default()
    };
    assert!(chain.apply(tombstone).unwrap().is_none());
    let live = SinkRecord {
        topic: "t".into(),
        value: Value::from("v"),
        ..Default::default()
    };
    assert_eq!(chain.apply(live).unwrap().unwrap().topic, "t-live");
    assert!(
        TransformationChain::<SinkRecord>::from_connector_config(&registry(), &Props::new())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn validation_reports_keys_and_errors() {
    let v = validation(&[
        ("transforms", "mask"),
        ("transforms.mask.type", "MaskField$Value"),
        ("transforms.mask.predicate", "missing"),
    ]);
    assert_eq!(v.keys.len(), v.values.len());
    assert_eq!(v.groups, ["Transforms", "Predicates", "Transforms: mask"]);
    let errors: Vec<(&str, &str)> = v
        .values
        .iter()
        .flat_map(|val| {
            val.errors
                .iter()
                .map(move |e| (val.name.as_str(), e.as_str()))
        })
        .collect();
    assert_eq!(
        errors,
        [
            (
                "transforms.mask.fields",
                "Missing required configuration \"transforms.mask.fields\" which has no default value."
            ),
            ("transforms.mask.fields", "Configuration 'fields' values must not be null."),
            (
                "transforms.mask.predicate",
                "Invalid value missing for configuration transforms.mask.predicate: Predicate 'missing' is not defined in 'predicates'"
            ),
        ]
    );
    assert_eq!(v.error_count(), 3);
    assert_eq!(v.config_infos().len(), v.keys.len());
}

#[test]
fn schema_changes_are_cached_per_input_schema() {
    let schema = SchemaBuilder::struct_()
        .field("a", Schema::int32())
        .field("b", Schema::optional_string())
        .build();
    let mut chain = chain::<SinkRecord>(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.renames", "a:x"),
    ])
    .unwrap();
    let record = |v: i32| SinkRecord {
        topic: "t".into(),
        value_schema: Some(schema.clone()),
        value: Value::Struct(Struct::new(schema.clone()).unwrap().put("a", v).unwrap()),
        ..Default::default()
    };
    let first = chain.apply(record(1)).unwrap().unwrap();
    let second = chain.apply(record(2)).unwrap().unwrap();
    assert_eq!(first.value_schema, second.value_schema);
    assert_eq!(
        first.value_schema.unwrap().fields()[0].name,
        "x",
        "renamed field"
    );
}

/// A batch through the chain gives, record by record, what `apply` gives:
/// failures at the stage that failed, drops, predicates per record.
#[test]
fn a_batch_gives_what_each_record_would_alone() {
    let pairs = [
        ("transforms", "drop,cast,route"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "tomb"),
        (
            "transforms.cast.type",
            "org.apache.kafka.connect.transforms.Cast$Value",
        ),
        ("transforms.cast.spec", "int32"),
        ("transforms.cast.predicate", "numbers"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-out"),
        ("predicates", "tomb,numbers"),
        ("predicates.tomb.type", "RecordIsTombstone"),
        ("predicates.numbers.type", "TopicNameMatches"),
        ("predicates.numbers.pattern", "numbers"),
    ];
    let record = |topic: &str, value: Option<&str>| SinkRecord {
        topic: topic.into(),
        value_schema: value.map(|_| Schema::string()),
        value: value.map_or(Value::Null, Value::from),
        ..Default::default()
    };
    let batch = vec![
        record("numbers", Some("1")),
        record("numbers", None),
        record("numbers", Some("not a number")),
        record("words", Some("not a number")),
        record("numbers", Some("42")),
    ];
    let mut one_by_one = chain::<SinkRecord>(&pairs).unwrap();
    let expected: Vec<_> = batch
        .iter()
        .map(|r| one_by_one.apply(r.clone()).map_err(|e| e.to_string()))
        .collect();
    let mut batched = chain::<SinkRecord>(&pairs).unwrap();
    let got: Vec<_> = batched
        .apply_batch(batch)
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect();
    assert_eq!(got, expected);
    // The cases are all there: converted, dropped, failed, skipped by the
    // predicate.
    assert_eq!(
        got[0].as_ref().unwrap().as_ref().unwrap().value,
        Value::Int32(1)
    );
    assert!(got[1].as_ref().unwrap().is_none());
    assert!(got[2].as_ref().unwrap_err().contains("'cast'"));
    assert_eq!(
        got[3].as_ref().unwrap().as_ref().unwrap().topic,
        "words-out"
    );
    assert_eq!(
        got[4].as_ref().unwrap().as_ref().unwrap().value,
        Value::Int32(42)
    );
}
