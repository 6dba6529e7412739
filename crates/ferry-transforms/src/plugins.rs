//! The transformation and predicate plugins: class names, aliases,
//! factories and configuration definitions.

use ferry_api::ConfigDef;

use crate::config::Def;
use crate::predicates::{self, HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use crate::record::{ConnectRecord, Side};
use crate::transforms::{
    cast, drop_headers, extract_field, filter, flatten, header_from, hoist_field, insert_field,
    insert_header, mask_field, regex_router, replace_field, set_schema_metadata,
    timestamp_converter, timestamp_router, value_to_key, Cast, DropHeaders, ExtractField, Filter,
    Flatten, HeaderFrom, HoistField, InsertField, InsertHeader, MaskField, RegexRouter,
    ReplaceField, SetSchemaMetadata, TimestampConverter, TimestampRouter, ValueToKey,
};
use crate::{Predicate, Transformation};

/// The Kafka Connect version these plugins reproduce, reported as their
/// version (Kafka's built-in plugins report the Kafka version).
pub const KAFKA_VERSION: &str = "4.3.1";

/// The plugin types this crate provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    Transformation,
    Predicate,
}

impl PluginKind {
    /// The `type` in `/connector-plugins` listings.
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Transformation => "transformation",
            PluginKind::Predicate => "predicate",
        }
    }

    /// The Java interface's simple name, used in messages.
    pub(crate) fn interface(self) -> &'static str {
        match self {
            PluginKind::Transformation => "Transformation",
            PluginKind::Predicate => "Predicate",
        }
    }
}

/// A plugin as `/connector-plugins?connectorsOnly=false` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub class: &'static str,
    pub kind: PluginKind,
    pub version: &'static str,
}

struct Entry {
    class: &'static str,
    kind: PluginKind,
    def: fn() -> Def,
}

const T: PluginKind = PluginKind::Transformation;
const P: PluginKind = PluginKind::Predicate;

const fn entry(class: &'static str, kind: PluginKind, def: fn() -> Def) -> Entry {
    Entry { class, kind, def }
}

/// In the order Kafka Connect lists them (sorted by class name).
const ENTRIES: &[Entry] = &[
    entry(cast::KEY_CLASS, T, cast::def),
    entry(cast::VALUE_CLASS, T, cast::def),
    entry(drop_headers::CLASS, T, drop_headers::def),
    entry(extract_field::KEY_CLASS, T, extract_field::def),
    entry(extract_field::VALUE_CLASS, T, extract_field::def),
    entry(filter::CLASS, T, filter::def),
    entry(flatten::KEY_CLASS, T, flatten::def),
    entry(flatten::VALUE_CLASS, T, flatten::def),
    entry(header_from::KEY_CLASS, T, header_from::def),
    entry(header_from::VALUE_CLASS, T, header_from::def),
    entry(hoist_field::KEY_CLASS, T, hoist_field::def),
    entry(hoist_field::VALUE_CLASS, T, hoist_field::def),
    entry(insert_field::KEY_CLASS, T, insert_field::def),
    entry(insert_field::VALUE_CLASS, T, insert_field::def),
    entry(insert_header::CLASS, T, insert_header::def),
    entry(mask_field::KEY_CLASS, T, mask_field::def),
    entry(mask_field::VALUE_CLASS, T, mask_field::def),
    entry(regex_router::CLASS, T, regex_router::def),
    entry(replace_field::KEY_CLASS, T, replace_field::def),
    entry(replace_field::VALUE_CLASS, T, replace_field::def),
    entry(set_schema_metadata::KEY_CLASS, T, set_schema_metadata::def),
    entry(
        set_schema_metadata::VALUE_CLASS,
        T,
        set_schema_metadata::def,
    ),
    entry(timestamp_converter::KEY_CLASS, T, timestamp_converter::def),
    entry(
        timestamp_converter::VALUE_CLASS,
        T,
        timestamp_converter::def,
    ),
    entry(timestamp_router::CLASS, T, timestamp_router::def),
    entry(value_to_key::CLASS, T, value_to_key::def),
    entry(
        predicates::HAS_HEADER_KEY,
        P,
        predicates::has_header_key_def,
    ),
    entry(
        predicates::RECORD_IS_TOMBSTONE,
        P,
        predicates::record_is_tombstone_def,
    ),
    entry(
        predicates::TOPIC_NAME_MATCHES,
        P,
        predicates::topic_name_matches_def,
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

/// Every plugin, transformations first, each sorted by class name.
pub fn plugins() -> Vec<PluginInfo> {
    ENTRIES
        .iter()
        .map(|e| PluginInfo {
            class: e.class,
            kind: e.kind,
            version: KAFKA_VERSION,
        })
        .collect()
}

/// The class names of one kind, as Kafka Connect recommends them for a
/// `transforms.<alias>.type` key.
pub(crate) fn classes_of(kind: PluginKind) -> impl Iterator<Item = &'static str> {
    ENTRIES
        .iter()
        .filter(move |e| e.kind == kind)
        .map(|e| e.class)
}

/// What a class name or alias refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    Plugin(&'static str, PluginKind),
    Abstract(&'static str),
}

impl Resolved {
    pub(crate) fn class(self) -> &'static str {
        match self {
            Resolved::Plugin(c, _) | Resolved::Abstract(c) => c,
        }
    }
}

fn simple_name(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

pub(crate) fn resolve(name: &str) -> Option<Resolved> {
    if let Some(e) = ENTRIES.iter().find(|e| e.class == name) {
        return Some(Resolved::Plugin(e.class, e.kind));
    }
    if let Some(a) = ABSTRACT.iter().find(|a| **a == name) {
        return Some(Resolved::Abstract(a));
    }
    // Kafka Connect's aliases: the simple name of a top-level plugin class
    // (`RegexRouter`, `TopicNameMatches`), and Ferry's addition, the
    // simple name of a nested one (`Cast$Value`), which Kafka Connect does
    // not accept (its simple name `Value` is ambiguous).
    ENTRIES
        .iter()
        .find(|e| simple_name(e.class) == name)
        .map(|e| Resolved::Plugin(e.class, e.kind))
}

/// The full class name of a transformation or predicate class or alias.
pub fn resolve_class(name: &str) -> Option<&'static str> {
    match resolve(name)? {
        Resolved::Plugin(c, _) => Some(c),
        Resolved::Abstract(_) => None,
    }
}

pub(crate) fn def_for(class: &str) -> Option<Def> {
    ENTRIES.iter().find(|e| e.class == class).map(|e| (e.def)())
}

/// The configuration definition of a transformation or predicate, for
/// `/connector-plugins/{plugin}/config` (class name or alias).
pub fn config_def_for(class: &str) -> Option<ConfigDef> {
    let class = resolve_class(class)?;
    def_for(class).map(|d| d.to_config_def())
}

/// A new, unconfigured transformation by class name or alias.
pub fn new_transformation<R: ConnectRecord>(class: &str) -> Option<Box<dyn Transformation<R>>> {
    let class = resolve_class(class)?;
    let side = |c: &str, key: &str| if c == key { Side::Key } else { Side::Value };
    Some(match class {
        c if c == cast::KEY_CLASS || c == cast::VALUE_CLASS => {
            Box::new(Cast::new(side(c, cast::KEY_CLASS)))
        }
        drop_headers::CLASS => Box::new(DropHeaders::new()),
        c if c == extract_field::KEY_CLASS || c == extract_field::VALUE_CLASS => {
            Box::new(ExtractField::new(side(c, extract_field::KEY_CLASS)))
        }
        filter::CLASS => Box::new(Filter::new()),
        c if c == flatten::KEY_CLASS || c == flatten::VALUE_CLASS => {
            Box::new(Flatten::new(side(c, flatten::KEY_CLASS)))
        }
        c if c == header_from::KEY_CLASS || c == header_from::VALUE_CLASS => {
            Box::new(HeaderFrom::new(side(c, header_from::KEY_CLASS)))
        }
        c if c == hoist_field::KEY_CLASS || c == hoist_field::VALUE_CLASS => {
            Box::new(HoistField::new(side(c, hoist_field::KEY_CLASS)))
        }
        c if c == insert_field::KEY_CLASS || c == insert_field::VALUE_CLASS => {
            Box::new(InsertField::new(side(c, insert_field::KEY_CLASS)))
        }
        insert_header::CLASS => Box::new(InsertHeader::new()),
        c if c == mask_field::KEY_CLASS || c == mask_field::VALUE_CLASS => {
            Box::new(MaskField::new(side(c, mask_field::KEY_CLASS)))
        }
        regex_router::CLASS => Box::new(RegexRouter::new()),
        c if c == replace_field::KEY_CLASS || c == replace_field::VALUE_CLASS => {
            Box::new(ReplaceField::new(side(c, replace_field::KEY_CLASS)))
        }
        c if c == set_schema_metadata::KEY_CLASS || c == set_schema_metadata::VALUE_CLASS => {
            Box::new(SetSchemaMetadata::new(side(
                c,
                set_schema_metadata::KEY_CLASS,
            )))
        }
        c if c == timestamp_converter::KEY_CLASS || c == timestamp_converter::VALUE_CLASS => {
            Box::new(TimestampConverter::new(side(
                c,
                timestamp_converter::KEY_CLASS,
            )))
        }
        timestamp_router::CLASS => Box::new(TimestampRouter::new()),
        value_to_key::CLASS => Box::new(ValueToKey::new()),
        _ => return None,
    })
}

/// A new, unconfigured predicate by class name or alias.
pub fn new_predicate<R: ConnectRecord>(class: &str) -> Option<Box<dyn Predicate<R>>> {
    Some(match resolve_class(class)? {
        predicates::HAS_HEADER_KEY => Box::new(HasHeaderKey::new()),
        predicates::RECORD_IS_TOMBSTONE => Box::new(RecordIsTombstone::new()),
        predicates::TOPIC_NAME_MATCHES => Box::new(TopicNameMatches::new()),
        _ => return None,
    })
}

/// `Utils.ensureConcreteSubclass`: why `resolved` cannot be a plugin of
/// `kind`, if it cannot.
pub(crate) fn concrete_subclass_error(resolved: Resolved, kind: PluginKind) -> Option<String> {
    match resolved {
        Resolved::Plugin(_, k) if k == kind => None,
        Resolved::Plugin(c, _) => Some(format!(
            "Class class {c} does not implement the {} interface",
            kind.interface()
        )),
        Resolved::Abstract(c) => {
            if kind != PluginKind::Transformation {
                return Some(format!(
                    "Class class {c} does not implement the {} interface",
                    kind.interface()
                ));
            }
            let subclasses = [format!("{c}$Key"), format!("{c}$Value")];
            Some(format!(
                "This class is abstract and cannot be created. Did you mean {}?",
                subclasses.join(", ")
            ))
        }
    }
}
