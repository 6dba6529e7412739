//! `ValueToKey`: replaces the key with a struct (or map) of value fields.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, SchemaBuilder, Value};

use crate::config::{self, key, Def, Default, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::util::{self, SchemaCache};
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.ValueToKey";
const PURPOSE: &str = "copying fields from value to key";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "fields",
                ConfigType::List,
                Default::Required,
                Some(Validator::ValidList {
                    empty_allowed: false,
                    null_allowed: false,
                }),
                Importance::High,
                "Field names on the record value to extract as the record key.",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

struct Config {
    fields: Vec<String>,
    replace_null_with_default: bool,
}

#[derive(Default)]
pub struct ValueToKey {
    cfg: Option<Config>,
    cache: SchemaCache,
}

impl ValueToKey {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Transformation<R> for ValueToKey {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.cfg = Some(Config {
            fields: parsed.list("fields").to_vec(),
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.cache = SchemaCache::default();
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
        if record.value_schema().is_none() {
            let value = util::require_map_ref(record.value(), PURPOSE)?;
            let key: Vec<(Value, Value)> = cfg
                .fields
                .iter()
                .map(|f| {
                    (
                        Value::String(f.clone()),
                        util::map_get(value, f).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            record.set_key(None, Value::Map(key));
            return Ok(Some(record));
        }
        let value = util::require_struct_ref(record.value(), PURPOSE)?;
        let value_schema = value.schema().clone();
        let key_schema = self.cache.get_or_try_insert(&value_schema, || {
            let mut b = SchemaBuilder::struct_();
            for f in &cfg.fields {
                let Some(field) = value_schema.field(f) else {
                    return Err(TransformError::data(format!("Field does not exist: {f}")));
                };
                b = b.field(f.as_str(), field.schema.clone());
            }
            Ok(b.build())
        })?;
        let mut key = util::new_struct(&key_schema)?;
        for f in &cfg.fields {
            let v = match value_schema.field(f) {
                Some(field) => {
                    util::field_value(value, field.index, cfg.replace_null_with_default).clone()
                }
                None => Value::Null,
            };
            util::put(&mut key, f, v)?;
        }
        // The value schema becomes the struct's own, as in Kafka Connect.
        let (_, value) = record.take_value();
        record.set_value(Some(value_schema), value);
        record.set_key(Some(key_schema), Value::Struct(key));
        Ok(Some(record))
    }
}
