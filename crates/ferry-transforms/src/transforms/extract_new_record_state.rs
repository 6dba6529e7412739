//! Debezium's `io.debezium.transforms.ExtractNewRecordState` (3.6.1): a
//! change event's envelope replaced by its row (`after`, or `before` for a
//! rewritten delete), with chosen envelope fields added to the row or to
//! the headers, deletes and tombstones handled as
//! `delete.tombstone.handling.mode` says. Built from Kafka Connect's
//! `ExtractField$Value` and `InsertField$Value` as Debezium builds it.

use std::collections::HashMap;

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, SchemaType, Struct, Value};

use crate::config::{key, Def, Default, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::transforms::{ExtractField, InsertField, ReplaceField};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";
/// The Debezium release whose behaviour this reproduces, its version.
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";
const PURPOSE: &str = "source field insertion";
const DELETED_FIELD: &str = "__deleted";

const MODES: &[&str] = &[
    "drop",
    "tombstone",
    "rewrite",
    "rewrite-with-tombstone",
    "delete-to-tombstone",
];

pub(crate) fn def() -> Def {
    let string = |name, default, doc| {
        key(
            name,
            ConfigType::String,
            default,
            None,
            Importance::Low,
            doc,
        )
    };
    let boolean = |name, default, doc| {
        key(
            name,
            ConfigType::Boolean,
            Default::Bool(default),
            None,
            Importance::Low,
            doc,
        )
    };
    Def {
        keys: vec![
            key(
                "delete.tombstone.handling.mode",
                ConfigType::String,
                Default::Str("tombstone"),
                Some(Validator::ValidString(MODES)),
                Importance::Medium,
                "How to handle delete records: drop, tombstone (default), rewrite (a `__deleted` field), rewrite-with-tombstone, delete-to-tombstone.",
            ),
            string("route.by.field", Default::Str(""), "The column which determines how the events will be routed, the value will replace the topic name."),
            string("add.fields.prefix", Default::Str("__"), "Adds this prefix to each field listed."),
            string("add.fields", Default::Str(""), "Adds each field listed, prefixed with __ (or __<struct>_ if the struct is specified), e.g. op,table,source.ts_ms; name:NEW_NAME renames."),
            string("add.headers.prefix", Default::Str("__"), "Adds this prefix listed to each header."),
            string("add.headers", Default::Str(""), "Adds each field listed to the headers, named as add.fields names them."),
            boolean("replace.null.with.default", true, "When this option is enabled, null field values are replaced by source-defined defaults when rewriting the record."),
            string("drop.fields.header.name", Default::Null, "Specifies the name of a header that contains a list of fields to be removed from the event value."),
            boolean("drop.fields.from.key", false, "Specifies whether to apply the drop fields behavior to the event key as well as the value."),
            boolean("drop.fields.keep.schema.compatible", true, "true: only optional fields are dropped, leaving the schemas compatible; false: dropped fields are removed regardless of optionality."),
        ],
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Drop,
    Tombstone,
    Rewrite,
    RewriteWithTombstone,
    DeleteToTombstone,
}

/// `FieldReference`: an envelope field (`op`, `ts_ms`, or one of the
/// `source` / `transaction` block) and the name it is added under.
#[derive(Clone)]
struct FieldReference {
    /// The block holding the field; `None` for the envelope itself.
    block: Option<String>,
    field: String,
    new_field: String,
}

impl FieldReference {
    fn parse(prefix: &str, spec: &str) -> Result<Self, ConfigError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let splits: Vec<&str> = parts[0].split('.').collect();
        let field = if splits.len() == 1 {
            splits[0]
        } else {
            splits[1]
        }
        .to_owned();
        let block = if splits.len() == 1 {
            match field.as_str() {
                "id" | "data_collection_order" | "total_order" => Some("transaction".to_owned()),
                "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                "updateDescription" => Some("updateDescription".to_owned()),
                _ => Some("source".to_owned()),
            }
        } else {
            Some(splits[0].to_owned())
        };
        let new_field = match parts.len() {
            1 if splits.len() == 1 => format!("{prefix}{field}"),
            1 => format!("{prefix}{}_{field}", splits[0]),
            2 => format!("{prefix}{}", parts[1]),
            _ => {
                return Err(crate::error::config_error(
                    "add.fields",
                    format!("Unexpected field name: {spec}"),
                ))
            }
        };
        Ok(FieldReference {
            block,
            field,
            new_field,
        })
    }

    fn list(prefix: &str, config: &str) -> Result<Vec<Self>, ConfigError> {
        if config.is_empty() {
            return Ok(Vec::new());
        }
        config
            .split(',')
            .map(|f| FieldReference::parse(prefix, f.trim()))
            .collect()
    }

    /// The field in the envelope's schema: in its block, else (added by
    /// another transform) in the envelope itself.
    fn schema_field<'a>(&self, envelope: &'a Schema) -> Option<&'a ferry_api::Field> {
        let parent = match &self.block {
            Some(b) => envelope.field(b).map(|f| &f.schema),
            None => Some(envelope),
        };
        parent
            .and_then(|p| p.field(&self.field))
            .or_else(|| envelope.field(&self.field))
    }

    /// The schema it is added with: the field's, optional, without its
    /// default.
    fn schema(&self, envelope: &Schema) -> Option<Schema> {
        self.schema_field(envelope)
            .map(|f| util::copy_schema_basics_of(&f.schema).optional().build())
    }

    /// Its value in `envelope` (null when its block is absent, as a
    /// snapshot event's transaction block is).
    fn value(&self, envelope: &Struct) -> Value {
        let parent = match &self.block {
            Some(b) => match envelope
                .schema()
                .field(b)
                .map(|f| &envelope.values()[f.index])
            {
                Some(Value::Struct(s)) => Some(s),
                _ => None,
            },
            None => Some(envelope),
        };
        let Some(parent) = parent else {
            return Value::Null;
        };
        let at = |s: &Struct| {
            s.schema()
                .field(&self.field)
                .map(|f| s.values()[f.index].clone())
        };
        at(parent).or_else(|| at(envelope)).unwrap_or(Value::Null)
    }
}

struct Config {
    mode: Mode,
    route_by_field: Option<String>,
    fields: Vec<FieldReference>,
    headers: Vec<FieldReference>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    drop_fields_keep_schema_compatible: bool,
    after: ExtractField,
    before: ExtractField,
    removed: InsertField,
    updated: InsertField,
}

pub struct ExtractNewRecordState {
    cfg: Option<Config>,
    /// Per operation (part of Debezium's cache key): row schema → the row
    /// schema with the added fields.
    caches: HashMap<String, SchemaCache>,
}

impl ExtractNewRecordState {
    pub fn new() -> Self {
        ExtractNewRecordState {
            cfg: None,
            caches: HashMap::new(),
        }
    }
}

impl std::default::Default for ExtractNewRecordState {
    fn default() -> Self {
        Self::new()
    }
}

fn delegate_props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Debezium's envelope check: a value schema named `….Envelope`.
fn is_envelope<R: ConnectRecord>(record: &R) -> bool {
    record
        .value_schema()
        .and_then(Schema::name)
        .is_some_and(|n| n.ends_with(".Envelope"))
}

/// A delegate's result: `ExtractField`, `InsertField` and `ReplaceField`
/// return a record for every record.
fn delegate<R: ConnectRecord>(
    t: &mut dyn Transformation<R>,
    record: R,
) -> Result<R, TransformError> {
    t.apply(record)?
        .ok_or_else(|| TransformError::data(format!("{CLASS}: a delegate dropped the record")))
}

impl<R: ConnectRecord> Transformation<R> for ExtractNewRecordState {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let mode = match parsed.string("delete.tombstone.handling.mode") {
            Some("drop") => Mode::Drop,
            Some("rewrite") => Mode::Rewrite,
            Some("rewrite-with-tombstone") => Mode::RewriteWithTombstone,
            Some("delete-to-tombstone") => Mode::DeleteToTombstone,
            _ => Mode::Tombstone,
        };
        let fields_prefix = parsed.string("add.fields.prefix").unwrap_or("__");
        let headers_prefix = parsed.string("add.headers.prefix").unwrap_or("__");
        let replace_null = parsed.boolean("replace.null.with.default");
        let mut after = ExtractField::new(Side::Value);
        Transformation::<R>::configure(&mut after, &delegate_props(&[("field", "after")]))?;
        let mut before = ExtractField::new(Side::Value);
        Transformation::<R>::configure(&mut before, &delegate_props(&[("field", "before")]))?;
        let insert = |value: &str| -> Result<InsertField, ConfigError> {
            let mut d = InsertField::new(Side::Value);
            Transformation::<R>::configure(
                &mut d,
                &delegate_props(&[
                    ("static.field", DELETED_FIELD),
                    ("static.value", value),
                    (
                        "replace.null.with.default",
                        if replace_null { "true" } else { "false" },
                    ),
                ]),
            )?;
            Ok(d)
        };
        self.cfg = Some(Config {
            mode,
            route_by_field: parsed
                .string("route.by.field")
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
            fields: FieldReference::list(fields_prefix, parsed.string("add.fields").unwrap_or(""))?,
            headers: FieldReference::list(
                headers_prefix,
                parsed.string("add.headers").unwrap_or(""),
            )?,
            drop_fields_header: parsed
                .string("drop.fields.header.name")
                .filter(|h| !h.trim().is_empty())
                .map(str::to_owned),
            drop_fields_from_key: parsed.boolean("drop.fields.from.key"),
            drop_fields_keep_schema_compatible: parsed
                .boolean("drop.fields.keep.schema.compatible"),
            after,
            before,
            removed: insert("true")?,
            updated: insert("false")?,
        });
        self.caches.clear();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let cfg = self
            .cfg
            .as_mut()
            .ok_or_else(|| util::not_configured(CLASS))?;
        let tombstone = record.value().is_null();
        let envelope_ok = is_envelope(&record);
        if (envelope_ok || tombstone) && !cfg.headers.is_empty() {
            let added = headers_from(&cfg.headers, record.value());
            record.headers_mut().extend(added);
        }
        if tombstone {
            return Ok(match cfg.mode {
                Mode::RewriteWithTombstone => Some(record),
                _ => None,
            });
        }
        if !envelope_ok {
            return Ok(Some(record));
        }
        let Value::Struct(envelope) = record.value() else {
            return Ok(Some(record));
        };
        let field_is_null = |name: &str| {
            envelope
                .schema()
                .field(name)
                .is_none_or(|f| envelope.values()[f.index].is_null())
        };
        let (after_null, before_null) = (field_is_null("after"), field_is_null("before"));
        if after_null && before_null {
            // A truncate: dropped.
            return Ok(None);
        }
        let op = match envelope
            .schema()
            .field("op")
            .map(|f| &envelope.values()[f.index])
        {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        // The delegates consume the record: the envelope is copied only
        // when something is read from it afterwards.
        let envelope =
            (!cfg.fields.is_empty() || cfg.route_by_field.is_some()).then(|| envelope.clone());
        let out = if after_null {
            // A delete.
            let out = match cfg.mode {
                Mode::Drop => return Ok(None),
                Mode::Tombstone => delegate(&mut cfg.after, record)?,
                Mode::DeleteToTombstone => {
                    record.set_value(None, Value::Null);
                    record
                }
                Mode::Rewrite | Mode::RewriteWithTombstone => {
                    let old = delegate(&mut cfg.before, record)?;
                    if matches!(old.value(), Value::Struct(_)) {
                        delegate(&mut cfg.removed, old)?
                    } else {
                        old
                    }
                }
            };
            let mut out = out;
            if let (Some(field), Some(env)) = (&cfg.route_by_field, &envelope) {
                if let Some(Value::Struct(before)) =
                    env.schema().field("before").map(|f| &env.values()[f.index])
                {
                    if let Some(topic) = routed_topic(before, field) {
                        out.set_topic(topic);
                    }
                }
            }
            out = drop_fields(cfg, out)?;
            if !out.value().is_null() {
                out = add_fields(
                    self.caches.entry(op.clone()).or_default(),
                    &cfg.fields,
                    envelope.as_ref(),
                    out,
                )?;
            }
            out
        } else {
            let new = delegate(&mut cfg.after, record)?;
            let mut out = match cfg.mode {
                Mode::Rewrite | Mode::RewriteWithTombstone
                    if matches!(new.value(), Value::Struct(_)) =>
                {
                    delegate(&mut cfg.updated, new)?
                }
                _ => new,
            };
            if let Some(field) = &cfg.route_by_field {
                let topic = match out.value() {
                    Value::Struct(row) => routed_topic(row, field),
                    _ => None,
                };
                if let Some(topic) = topic {
                    out.set_topic(topic);
                }
            }
            out = add_fields(
                self.caches.entry(op.clone()).or_default(),
                &cfg.fields,
                envelope.as_ref(),
                out,
            )?;
            drop_fields(cfg, out)?
        };
        Ok(Some(out))
    }
}

/// The `add.headers` of an event (a tombstone gets `op` = `d` only).
fn headers_from(refs: &[FieldReference], value: &Value) -> ferry_api::Headers {
    let mut headers = ferry_api::Headers::new();
    let Value::Struct(envelope) = value else {
        for r in refs {
            if r.field == "op" {
                headers.add(
                    r.new_field.clone(),
                    Some(Schema::string()),
                    Value::from("d"),
                );
            }
        }
        return headers;
    };
    for r in refs {
        if let Some(schema) = r.schema(envelope.schema()) {
            headers.add(r.new_field.clone(), Some(schema), r.value(envelope));
        }
    }
    headers
}

/// `route.by.field`: the row's value of `field` names the topic (unless
/// blank).
fn routed_topic(row: &Struct, field: &str) -> Option<String> {
    match row.schema().field(field).map(|f| &row.values()[f.index]) {
        Some(Value::String(topic)) if !topic.trim().is_empty() => Some(topic.clone()),
        _ => None,
    }
}

/// `add.fields`: the row with the envelope fields appended.
fn add_fields<R: ConnectRecord>(
    cache: &mut SchemaCache,
    refs: &[FieldReference],
    envelope: Option<&Struct>,
    mut record: R,
) -> Result<R, TransformError> {
    let Some(envelope) = envelope.filter(|_| !refs.is_empty()) else {
        // Debezium rebuilds the row even with nothing to add: the same
        // schema and values.
        return Ok(record);
    };
    let (_, value) = record.take_value();
    let row = util::require_struct(value, PURPOSE)?;
    let updated = cache.get_or_try_insert(row.schema(), || {
        let mut b = StructBuilder::copying(row.schema());
        for f in row.schema().fields() {
            b.field(&f.name, f.schema.clone())?;
        }
        for r in refs {
            if let Some(s) = r.schema(envelope.schema()) {
                b.field(&r.new_field, s)?;
            }
        }
        Ok(b.build())
    })?;
    let mut out = util::new_struct(&updated)?;
    for f in row.schema().fields() {
        util::put(&mut out, &f.name, row.values()[f.index].clone())?;
    }
    for r in refs {
        if r.schema(envelope.schema()).is_some() {
            util::put(&mut out, &r.new_field, r.value(envelope))?;
        }
    }
    record.set_value(Some(updated), Value::Struct(out));
    Ok(record)
}

/// `drop.fields.header.name`: the fields the header lists removed from the
/// value (and the key with `drop.fields.from.key`), only optional ones when
/// the schemas are kept compatible.
fn drop_fields<R: ConnectRecord>(cfg: &Config, mut record: R) -> Result<R, TransformError> {
    let Some(header) = &cfg.drop_fields_header else {
        return Ok(record);
    };
    let names: Vec<String> = match record.headers().iter().find(|h| &h.key == header) {
        Some(h) => match &h.value {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => return Ok(record),
        },
        None => return Ok(record),
    };
    if names.is_empty() {
        return Ok(record);
    }
    let to_drop = |schema: Option<&Schema>| -> Vec<String> {
        if !cfg.drop_fields_keep_schema_compatible {
            return names.clone();
        }
        schema
            .filter(|s| s.schema_type() == SchemaType::Struct)
            .map(|s| {
                s.fields()
                    .iter()
                    .filter(|f| f.schema.is_optional() && names.contains(&f.name))
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    if cfg.drop_fields_from_key && !record.key().is_null() {
        let fields = to_drop(record.key_schema());
        if !fields.is_empty() {
            let mut d = ReplaceField::new(Side::Key);
            Transformation::<R>::configure(
                &mut d,
                &delegate_props(&[("exclude", &fields.join(","))]),
            )
            .map_err(|e| TransformError::data(e.to_string()))?;
            record = delegate(&mut d, record)?;
        }
    }
    let fields = to_drop(record.value_schema());
    if !fields.is_empty() {
        let mut d = ReplaceField::new(Side::Value);
        Transformation::<R>::configure(&mut d, &delegate_props(&[("exclude", &fields.join(","))]))
            .map_err(|e| TransformError::data(e.to_string()))?;
        record = delegate(&mut d, record)?;
    }
    Ok(record)
}
