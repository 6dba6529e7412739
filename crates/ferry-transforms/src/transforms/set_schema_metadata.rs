//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema's
//! name and/or version.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, Value};

use crate::config::{self, key, Def, Default};
use crate::error::{config_error, ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "schema.name",
                ConfigType::String,
                Default::Null,
                None,
                Importance::High,
                "Schema name to set.",
            ),
            key(
                "schema.version",
                ConfigType::Int,
                Default::Null,
                None,
                Importance::High,
                "Schema version to set.",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

struct Config {
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

pub struct SetSchemaMetadata {
    side: Side,
    cfg: Option<Config>,
    /// Kafka Connect rebuilds the schema for every record; the result only
    /// depends on the input schema, so it is cached.
    cache: SchemaCache,
}

impl SetSchemaMetadata {
    pub fn new(side: Side) -> Self {
        SetSchemaMetadata {
            side,
            cfg: None,
            cache: SchemaCache::default(),
        }
    }
}

impl<R: ConnectRecord> Transformation<R> for SetSchemaMetadata {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let name = parsed.string("schema.name").map(str::to_owned);
        let version = parsed.int("schema.version");
        if name.is_none() && version.is_none() {
            return Err(config_error(
                "",
                "Neither schema name nor version configured",
            ));
        }
        self.cfg = Some(Config {
            name,
            version,
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.cache = SchemaCache::default();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let class = match self.side {
            Side::Key => KEY_CLASS,
            Side::Value => VALUE_CLASS,
        };
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(class))?;
        if self.side.value(&record).is_null() && self.side.schema(&record).is_none() {
            return Ok(Some(record));
        }
        let schema =
            util::require_schema(self.side.schema(&record), "updating schema metadata")?.clone();
        // Kafka Connect copies `schema.fields()` into the new schema, which
        // fails for anything but a struct.
        if schema.schema_type() != ferry_api::SchemaType::Struct {
            return Err(TransformError::data(
                "Cannot list fields on non-struct type",
            ));
        }
        let updated = self.cache.get_or_try_insert(&schema, || {
            let mut b = schema.to_builder();
            if let Some(n) = &cfg.name {
                b = b.name(n.as_str());
            }
            if let Some(v) = cfg.version {
                b = b.version(v);
            }
            Ok(b.build())
        })?;
        let (_, value) = self.side.take(&mut record);
        let value = update_schema_in(value, &updated, cfg.replace_null_with_default)?;
        self.side.set(&mut record, Some(updated), value);
        Ok(Some(record))
    }
}

/// `updateSchemaIn`: a struct is copied onto the renamed schema.
fn update_schema_in(
    value: Value,
    updated: &Schema,
    replace_null_with_default: bool,
) -> Result<Value, TransformError> {
    let Value::Struct(orig) = value else {
        return Ok(value);
    };
    let mut s = util::new_struct(updated)?;
    for f in updated.fields() {
        let v = if f.index < orig.values().len() {
            util::field_value(&orig, f.index, replace_null_with_default).clone()
        } else {
            Value::Null
        };
        util::put(&mut s, &f.name, v)?;
    }
    Ok(Value::Struct(s))
}
