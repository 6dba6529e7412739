//! The crate's API as the runtime uses it: plugin listing, chains on source
//! and sink records, errors that name the stage, validation results.

use std::sync::Arc;

use ferry_api::{Props, Schema, SchemaBuilder, SinkRecord, SourceRecord, Struct, Value};
use ferry_transforms::{
    config_def_for, plugins, resolve_class, validation, ExceptionKind, PluginKind,
    TransformationChain,
};

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn lists_every_kafka_connect_plugin() {
    let all = plugins();
    let transforms = all
        .iter()
        .filter(|p| p.kind == PluginKind::Transformation)
        .count();
    let predicates = all
        .iter()
        .filter(|p| p.kind == PluginKind::Predicate)
        .count();
    assert_eq!((transforms, predicates), (26, 3));
    assert!(all.iter().all(|p| p.version == "4.3.1"));
    assert_eq!(PluginKind::Predicate.name(), "predicate");
}

#[test]
fn resolves_class_names_and_aliases() {
    let rr = "org.apache.kafka.connect.transforms.RegexRouter";
    assert_eq!(resolve_class(rr), Some(rr));
    assert_eq!(resolve_class("RegexRouter"), Some(rr));
    assert_eq!(
        resolve_class("Cast$Value"),
        Some("org.apache.kafka.connect.transforms.Cast$Value")
    );
    assert_eq!(
        resolve_class("TopicNameMatches"),
        Some("org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
    );
    // Abstract bases and unknown names are not plugins.
    assert_eq!(
        resolve_class("org.apache.kafka.connect.transforms.Cast"),
        None
    );
    assert_eq!(resolve_class("Value"), None);
    assert!(config_def_for("InsertHeader").is_some_and(|d| d.keys().len() == 2));
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
    let mut chain = TransformationChain::<SourceRecord>::from_connector_config(&props(&[
        ("transforms", "insert,route"),
        ("transforms.insert.type", "InsertField$Value"),
        ("transforms.insert.topic.field", "topic"),
        ("transforms.route.type", "TimestampRouter"),
    ]))
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
    let mut chain = TransformationChain::<SinkRecord>::from_connector_config(&props(&[
        ("transforms", "cast"),
        (
            "transforms.cast.type",
            "org.apache.kafka.connect.transforms.Cast$Value",
        ),
        ("transforms.cast.spec", "int32"),
    ]))
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
    let err = TransformationChain::<SinkRecord>::from_connector_config(&props(&[
        ("transforms", "route"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", ".*"),
    ]))
    .unwrap_err();
    assert_eq!(err.key, "transforms.route.replacement");
    let err = TransformationChain::<SinkRecord>::from_connector_config(&props(&[
        ("transforms", "i"),
        ("transforms.i.type", "InsertField$Key"),
    ]))
    .unwrap_err();
    assert_eq!(err.key, "transforms.i.type");
    assert!(err.message.contains("No field insertion configured"));
}

#[test]
fn filtered_records_leave_the_chain() {
    let mut chain = TransformationChain::<SinkRecord>::from_connector_config(&props(&[
        ("transforms", "drop,route"),
        ("transforms.drop.type", "Filter"),
        ("transforms.drop.predicate", "tomb"),
        ("transforms.route.type", "RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "$1-live"),
        ("predicates", "tomb"),
        ("predicates.tomb.type", "RecordIsTombstone"),
    ]))
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
        TransformationChain::<SinkRecord>::from_connector_config(&Props::new())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn validation_reports_keys_and_errors() {
    let v = validation(&props(&[
        ("transforms", "mask"),
        ("transforms.mask.type", "MaskField$Value"),
        ("transforms.mask.predicate", "missing"),
    ]));
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
    let mut chain = TransformationChain::<SinkRecord>::from_connector_config(&props(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.renames", "a:x"),
    ]))
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
