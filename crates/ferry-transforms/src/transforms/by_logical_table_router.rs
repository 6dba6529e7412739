//! Debezium's `io.debezium.transforms.ByLogicalTableRouter` (3.6.1): the
//! change events of several physical tables (shards) routed to one topic,
//! named by `topic.regex` and `topic.replacement`. The key and envelope
//! schemas are renamed after the new topic (`<topic>.Key`,
//! `<topic>.Value`, `<topic>.Envelope`), and the key gains a field naming
//! the physical table, so that equal keys of different shards stay apart.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, SchemaBuilder, Struct, Value};
use ferry_java::regex::JavaRegex;

use crate::config::{key, Def, Default, Validator};
use crate::error::{config_error, ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::util::{self, SchemaCache};
use crate::Transformation;

pub const CLASS: &str = "io.debezium.transforms.ByLogicalTableRouter";

const DEFAULT_KEY_FIELD_NAME: &str = "__dbz__physicalTableIdentifier";

/// The keys Debezium's `config()` lists. `key.field.name` and
/// `schema.name.adjustment.mode` are read too, though it lists neither.
pub(crate) fn def() -> Def {
    let string = |name, default, validator, doc| {
        key(
            name,
            ConfigType::String,
            default,
            validator,
            Importance::Low,
            doc,
        )
    };
    Def {
        keys: vec![
            string(
                "topic.regex",
                Default::Required,
                Some(Validator::Regex),
                "The regex used for extracting the name of the logical table from the original topic name.",
            ),
            string(
                "topic.replacement",
                Default::Required,
                None,
                "The replacement string used in conjunction with topic.regex. This will be used to create the new topic name.",
            ),
            key(
                "key.enforce.uniqueness",
                ConfigType::Boolean,
                Default::Bool(true),
                None,
                Importance::Low,
                "Augment each record's key with a field denoting the source topic. This field distinguishes records coming from different physical tables which may otherwise have primary/unique key conflicts. If the source tables are guaranteed to have globally unique keys then this may be set to false to disable key rewriting.",
            ),
            // Debezium's isRegex passes null; a value is compiled in
            // configure.
            string(
                "key.field.regex",
                Default::Null,
                None,
                "The regex used for extracting the physical table identifier from the original topic name.",
            ),
            string(
                "key.field.replacement",
                Default::Null,
                None,
                "The replacement string used in conjunction with key.field.regex. This will be used to create the physical table identifier in the record's key.",
            ),
            key(
                "logical.table.cache.size",
                ConfigType::Int,
                Default::Int(16),
                None,
                Importance::Low,
                "The size used for holding the max entries in LRUCache. The cache will keep the old/new schema for logical table key and value, also cache the derived key and topic regex result for improving the source record transformation.",
            ),
        ],
    }
}

/// `schema.name.adjustment.mode`: how names made from the topic are made
/// valid Avro names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameAdjustment {
    None,
    /// Invalid characters become `_`.
    Avro,
    /// Invalid characters become `_u` and their hex code.
    AvroUnicode,
}

impl NameAdjustment {
    fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None => Ok(NameAdjustment::None),
            Some(v) if v.eq_ignore_ascii_case("none") => Ok(NameAdjustment::None),
            Some(v) if v.eq_ignore_ascii_case("avro") => Ok(NameAdjustment::Avro),
            Some(v) if v.eq_ignore_ascii_case("avro_unicode") => Ok(NameAdjustment::AvroUnicode),
            Some(v) => Err(config_error(
                "schema.name.adjustment.mode",
                format!("Invalid value {v} for configuration schema.name.adjustment.mode: must be one of none, avro, avro_unicode"),
            )),
        }
    }

    /// Debezium's `SchemaNameAdjuster.validFullname`.
    fn adjust(self, name: &str) -> String {
        if self == NameAdjustment::None {
            return name.to_owned();
        }
        let first_ok = |c: char| c.is_ascii_alphabetic() || c == '_';
        let other_ok = |c: char| first_ok(c) || c == '.' || c.is_ascii_digit();
        let replace = |c: char, out: &mut String| match self {
            NameAdjustment::AvroUnicode => {
                // Java's Integer.toHexString of the UTF-16 unit, padded
                // only when it has two digits or fewer.
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let hex = format!("{:x}", unit);
                    out.push_str("_u");
                    if hex.len() <= 2 {
                        out.push_str("00");
                    }
                    out.push_str(&hex);
                }
            }
            _ => out.push('_'),
        };
        let mut out = String::with_capacity(name.len());
        for (i, c) in name.chars().enumerate() {
            if i == 0 {
                if first_ok(c) {
                    out.push(c);
                } else {
                    replace(c, &mut out);
                    // "1x" becomes "_1x", not "_x".
                    if c.is_ascii_digit() && self == NameAdjustment::Avro {
                        out.push(c);
                    }
                }
            } else if other_ok(c) {
                out.push(c);
            } else {
                replace(c, &mut out);
            }
        }
        out
    }
}

struct Config {
    topic_regex: JavaRegex,
    topic_replacement: String,
    key_enforce_uniqueness: bool,
    key_field: Option<(JavaRegex, String)>,
    key_field_name: String,
    names: NameAdjustment,
}

/// The transformation, with Debezium's caches of derived schemas.
#[derive(Default)]
pub struct ByLogicalTableRouter {
    cfg: Option<Config>,
    key_schemas: SchemaCache,
    envelope_schemas: SchemaCache,
}

impl ByLogicalTableRouter {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Debezium's `copySchemaExcludingName`: version, doc, parameters,
/// optionality and (when `fields`) the fields.
fn copy_excluding_name(source: &Schema, fields: bool) -> SchemaBuilder {
    let mut b = SchemaBuilder::struct_();
    if let Some(v) = source.version() {
        b = b.version(v);
    }
    if let Some(d) = source.doc() {
        b = b.doc(d);
    }
    for (k, v) in source.parameters().unwrap_or_default() {
        b = b.parameter(k.as_str(), v.as_str());
    }
    if source.is_optional() {
        b = b.optional();
    }
    if fields {
        for f in source.fields() {
            b = b.field(f.name.as_str(), f.schema.clone());
        }
    }
    b
}

/// A struct of `schema` with `old`'s values by field name, defaults not
/// applied (`getWithoutDefault`).
fn copy_values(schema: &Schema, old: &Struct) -> Result<Struct, TransformError> {
    let mut s = util::new_struct(schema)?;
    for (f, v) in old.schema().fields().iter().zip(old.values()) {
        util::put(&mut s, &f.name, v.clone())?;
    }
    Ok(s)
}

/// Debezium's envelope check: a value schema named `….Envelope`.
fn is_envelope(schema: Option<&Schema>) -> bool {
    schema
        .and_then(Schema::name)
        .is_some_and(|n| n.ends_with(".Envelope"))
}

impl Config {
    fn new_topic(&self, old: &str) -> Result<Option<String>, TransformError> {
        if !self.topic_regex.matches(old) {
            return Ok(None);
        }
        self.topic_regex
            .replace_first(old, &self.topic_replacement)
            .map(Some)
            .map_err(crate::error::regex_error)
    }

    /// What the key names the physical table by: the old topic, or what
    /// `key.field.regex` makes of it.
    fn physical_table(&self, old_topic: &str) -> Result<String, TransformError> {
        match &self.key_field {
            Some((regex, replacement)) if regex.matches(old_topic) => regex
                .replace_first(old_topic, replacement)
                .map_err(crate::error::regex_error),
            _ => Ok(old_topic.to_owned()),
        }
    }
}

impl<R: ConnectRecord> Transformation<R> for ByLogicalTableRouter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let regex = |name: &str| {
            JavaRegex::compile(parsed.string(name).unwrap_or_default())
                .map_err(|e| config_error(name, e.to_string()))
        };
        let key_field_regex = parsed
            .string("key.field.regex")
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let key_field = match key_field_regex {
            None => None,
            Some(_) => {
                let replacement = parsed
                    .string("key.field.replacement")
                    .map(str::trim)
                    .unwrap_or_default();
                if replacement.is_empty() {
                    return Err(config_error(
                        "key.field.replacement",
                        "key.field.replacement must be non-empty if key.field.regex is set.",
                    ));
                }
                Some((
                    regex("key.field.regex")?,
                    parsed
                        .string("key.field.replacement")
                        .unwrap_or_default()
                        .to_owned(),
                ))
            }
        };
        self.cfg = Some(Config {
            topic_regex: regex("topic.regex")?,
            topic_replacement: parsed
                .string("topic.replacement")
                .unwrap_or_default()
                .to_owned(),
            key_enforce_uniqueness: parsed.boolean("key.enforce.uniqueness"),
            key_field,
            key_field_name: props
                .get("key.field.name")
                .cloned()
                .unwrap_or_else(|| DEFAULT_KEY_FIELD_NAME.to_owned()),
            names: NameAdjustment::parse(
                props.get("schema.name.adjustment.mode").map(String::as_str),
            )?,
        });
        self.key_schemas = SchemaCache::default();
        self.envelope_schemas = SchemaCache::default();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(CLASS))?;
        let old_topic = record.topic().to_owned();
        let Some(new_topic) = cfg.new_topic(&old_topic)? else {
            return Ok(Some(record));
        };
        // Debezium warns and propagates the record as it is.
        if new_topic.is_empty() {
            return Ok(Some(record));
        }
        // A table without a primary key has no key.
        if !record.key().is_null() {
            let (_, key) = record.take_key();
            let old_key = util::require_struct(key, "Updating schema")?;
            let schema = self.key_schemas.get_or_try_insert(old_key.schema(), || {
                let mut b = copy_excluding_name(old_key.schema(), true)
                    .name(cfg.names.adjust(&format!("{new_topic}.Key")));
                if cfg.key_enforce_uniqueness {
                    b = b.field(cfg.key_field_name.as_str(), Schema::string());
                }
                Ok(b.build())
            })?;
            let mut key = copy_values(&schema, &old_key)?;
            if cfg.key_enforce_uniqueness {
                util::put(
                    &mut key,
                    &cfg.key_field_name,
                    Value::String(cfg.physical_table(&old_topic)?),
                )?;
            }
            record.set_key(Some(schema), Value::Struct(key));
        }
        // Tombstones, heartbeats and other non-envelopes keep their value.
        if !record.value().is_null() && is_envelope(record.value_schema()) {
            let (_, value) = record.take_value();
            let old = util::require_struct(value, "Updating schema")?;
            let schema = self.envelope_schemas.get_or_try_insert(old.schema(), || {
                let row = old
                    .schema()
                    .field("before")
                    .map(|f| &f.schema)
                    .ok_or_else(|| TransformError::data("before is not a valid field name"))?;
                let row = copy_excluding_name(row, true)
                    .name(cfg.names.adjust(&format!("{new_topic}.Value")))
                    .build();
                let mut b = copy_excluding_name(old.schema(), false);
                for f in old.schema().fields() {
                    let field_schema = match f.name.as_str() {
                        "before" | "after" => row.clone(),
                        _ => f.schema.clone(),
                    };
                    b = b.field(f.name.as_str(), field_schema);
                }
                Ok(b.name(cfg.names.adjust(&format!("{new_topic}.Envelope")))
                    .build())
            })?;
            let row_schema = schema
                .field("before")
                .map(|f| f.schema.clone())
                .ok_or_else(|| TransformError::data("before is not a valid field name"))?;
            let mut envelope = util::new_struct(&schema)?;
            for (f, v) in old.schema().fields().iter().zip(old.values()) {
                let v = match (f.name.as_str(), v) {
                    ("before" | "after", Value::Struct(row)) => {
                        Value::Struct(copy_values(&row_schema, row)?)
                    }
                    _ => v.clone(),
                };
                util::put(&mut envelope, &f.name, v)?;
            }
            record.set_value(Some(schema), Value::Struct(envelope));
        }
        record.set_topic(new_topic);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_adjusted_as_debeziums_adjusters_do() {
        assert_eq!(NameAdjustment::None.adjust("a-b.1"), "a-b.1");
        assert_eq!(
            NameAdjustment::Avro.adjust("shop-1.public.orders.Key"),
            "shop_1.public.orders.Key"
        );
        assert_eq!(NameAdjustment::Avro.adjust("1shop.x"), "_1shop.x");
        assert_eq!(
            NameAdjustment::AvroUnicode.adjust("shop-1.x"),
            "shop_u002d1.x"
        );
    }
}
