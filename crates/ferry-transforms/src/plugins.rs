//! The transformations and predicates as plugins: what the worker
//! registers, the exact configuration definitions a chain validates their
//! settings with, and the abstract classes Kafka Connect knows but refuses
//! to instantiate.

use ferry_api::{Plugin, PluginType};

use crate::config::Def;
use crate::predicates::{self, HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use crate::record::Side::{Key, Value};
use crate::transforms::ByLogicalTableRouter;
use crate::transforms::{
    by_logical_table_router, cast, drop_headers, extract_field, extract_new_record_state, filter,
    flatten, header_from, hoist_field, insert_field, insert_header, mask_field, regex_router,
    replace_field, set_schema_metadata, timestamp_converter, timestamp_router, value_to_key, Cast,
    DropHeaders, ExtractField, ExtractNewRecordState, Filter, Flatten, HeaderFrom, HoistField,
    InsertField, InsertHeader, MaskField, RegexRouter, ReplaceField, SetSchemaMetadata,
    TimestampConverter, TimestampRouter, ValueToKey,
};

/// The Kafka Connect version these plugins reproduce, reported as their
/// version (Kafka's built-in plugins report the Kafka version).
pub const KAFKA_VERSION: &str = "4.3.1";

/// One plugin of this crate: its class, its exact definition, and its
/// registration.
struct BuiltIn {
    class: &'static str,
    def: fn() -> Def,
    plugin: fn() -> Plugin,
}

macro_rules! built_ins {
    ($($kind:ident($class:expr, $def:expr, $new:expr $(, $version:expr)?),)*) => {
        &[$(BuiltIn {
            class: $class,
            def: $def,
            plugin: || Plugin::$kind($class, built_ins!(@version $($version)?), $new),
        },)*]
    };
    (@version) => { KAFKA_VERSION };
    (@version $version:expr) => { $version };
}

/// In the order Kafka Connect lists them: transformations, then
/// predicates, each sorted by class name.
const BUILT_INS: &[BuiltIn] = built_ins![
    transformation(
        by_logical_table_router::CLASS,
        by_logical_table_router::def,
        ByLogicalTableRouter::new,
        extract_new_record_state::DEBEZIUM_VERSION
    ),
    transformation(
        extract_new_record_state::CLASS,
        extract_new_record_state::def,
        ExtractNewRecordState::new,
        extract_new_record_state::DEBEZIUM_VERSION
    ),
    transformation(cast::KEY_CLASS, cast::def, || Cast::new(Key)),
    transformation(cast::VALUE_CLASS, cast::def, || Cast::new(Value)),
    transformation(drop_headers::CLASS, drop_headers::def, DropHeaders::new),
    transformation(extract_field::KEY_CLASS, extract_field::def, || {
        ExtractField::new(Key)
    }),
    transformation(extract_field::VALUE_CLASS, extract_field::def, || {
        ExtractField::new(Value)
    }),
    transformation(filter::CLASS, filter::def, Filter::new),
    transformation(flatten::KEY_CLASS, flatten::def, || Flatten::new(Key)),
    transformation(flatten::VALUE_CLASS, flatten::def, || Flatten::new(Value)),
    transformation(
        header_from::KEY_CLASS,
        header_from::def,
        || HeaderFrom::new(Key)
    ),
    transformation(header_from::VALUE_CLASS, header_from::def, || {
        HeaderFrom::new(Value)
    }),
    transformation(
        hoist_field::KEY_CLASS,
        hoist_field::def,
        || HoistField::new(Key)
    ),
    transformation(hoist_field::VALUE_CLASS, hoist_field::def, || {
        HoistField::new(Value)
    }),
    transformation(insert_field::KEY_CLASS, insert_field::def, || {
        InsertField::new(Key)
    }),
    transformation(insert_field::VALUE_CLASS, insert_field::def, || {
        InsertField::new(Value)
    }),
    transformation(insert_header::CLASS, insert_header::def, InsertHeader::new),
    transformation(mask_field::KEY_CLASS, mask_field::def, || MaskField::new(
        Key
    )),
    transformation(mask_field::VALUE_CLASS, mask_field::def, || MaskField::new(
        Value
    )),
    transformation(regex_router::CLASS, regex_router::def, RegexRouter::new),
    transformation(replace_field::KEY_CLASS, replace_field::def, || {
        ReplaceField::new(Key)
    }),
    transformation(replace_field::VALUE_CLASS, replace_field::def, || {
        ReplaceField::new(Value)
    }),
    transformation(
        set_schema_metadata::KEY_CLASS,
        set_schema_metadata::def,
        || SetSchemaMetadata::new(Key)
    ),
    transformation(
        set_schema_metadata::VALUE_CLASS,
        set_schema_metadata::def,
        || SetSchemaMetadata::new(Value)
    ),
    transformation(
        timestamp_converter::KEY_CLASS,
        timestamp_converter::def,
        || TimestampConverter::new(Key)
    ),
    transformation(
        timestamp_converter::VALUE_CLASS,
        timestamp_converter::def,
        || TimestampConverter::new(Value)
    ),
    transformation(
        timestamp_router::CLASS,
        timestamp_router::def,
        TimestampRouter::new
    ),
    transformation(value_to_key::CLASS, value_to_key::def, ValueToKey::new),
    predicate(
        predicates::HAS_HEADER_KEY,
        predicates::has_header_key_def,
        HasHeaderKey::new
    ),
    predicate(
        predicates::RECORD_IS_TOMBSTONE,
        predicates::record_is_tombstone_def,
        RecordIsTombstone::new
    ),
    predicate(
        predicates::TOPIC_NAME_MATCHES,
        predicates::topic_name_matches_def,
        TopicNameMatches::new
    ),
];

/// The abstract base classes of the `$Key` / `$Value` pairs, which Kafka
/// Connect finds but refuses to instantiate.
const ABSTRACT: &[&str] = &[
    "org.apache.kafka.connect.transforms.Cast",
    "org.apache.kafka.connect.transforms.ExtractField",
    "org.apache.kafka.connect.transforms.Flatten",
    "org.apache.kafka.connect.transforms.HeaderFrom",
    "org.apache.kafka.connect.transforms.HoistField",
    "org.apache.kafka.connect.transforms.InsertField",
    "org.apache.kafka.connect.transforms.MaskField",
    "org.apache.kafka.connect.transforms.ReplaceField",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata",
    "org.apache.kafka.connect.transforms.TimestampConverter",
];

/// Every transformation and predicate of this crate, transformations first,
/// each sorted by class name (the order Kafka Connect lists them in).
pub fn plugins() -> Vec<Plugin> {
    BUILT_INS.iter().map(|b| (b.plugin)()).collect()
}

/// The exact definition of one of this crate's plugins, which a chain
/// validates its settings with (`Def` keeps Kafka's validators, which a
/// plugin's `ConfigDef` describes for the REST API only).
pub(crate) fn def_for(class: &str) -> Option<Def> {
    BUILT_INS
        .iter()
        .find(|b| b.class == class)
        .map(|b| (b.def)())
}

/// Whether `class` is one of the abstract bases of the `$Key` / `$Value`
/// pairs.
pub(crate) fn abstract_class(class: &str) -> Option<&'static str> {
    ABSTRACT.iter().find(|a| **a == class).copied()
}

/// `Utils.ensureConcreteSubclass` for an abstract base: why it cannot be a
/// plugin of `plugin_type`.
pub(crate) fn abstract_class_error(class: &str, plugin_type: PluginType) -> String {
    if plugin_type != PluginType::Transformation {
        return not_implementing(class, plugin_type);
    }
    format!(
        "This class is abstract and cannot be created. Did you mean {class}$Key, {class}$Value?"
    )
}

/// Kafka Connect's message for a class of another kind.
pub(crate) fn not_implementing(class: &str, plugin_type: PluginType) -> String {
    format!(
        "Class class {class} does not implement the {} interface",
        plugin_type.interface()
    )
}
