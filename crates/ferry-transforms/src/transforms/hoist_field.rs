//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a
//! struct (or map) with a single field.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, SchemaBuilder, Value};

use crate::config::{key, Def, Default};
use crate::error::{ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.HoistField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.HoistField$Value";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![key(
            "field",
            ConfigType::String,
            Default::Required,
            None,
            Importance::Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.",
        )],
    }
}

pub struct HoistField {
    side: Side,
    field: Option<String>,
    cache: SchemaCache,
}

impl HoistField {
    pub fn new(side: Side) -> Self {
        HoistField {
            side,
            field: None,
            cache: SchemaCache::default(),
        }
    }
}

impl<R: ConnectRecord> Transformation<R> for HoistField {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.field = Some(parsed.string("field").unwrap_or_default().to_owned());
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
        let field = self
            .field
            .as_ref()
            .ok_or_else(|| util::not_configured(class))?;
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let map = vec![(Value::String(field.clone()), value)];
                self.side.set(&mut record, None, Value::Map(map));
            }
            Some(schema) => {
                let updated = self.cache.get_or_try_insert(&schema, || {
                    Ok(SchemaBuilder::struct_()
                        .field(field.as_str(), schema.clone())
                        .build())
                })?;
                let mut s = util::new_struct(&updated)?;
                util::put(&mut s, field, value)?;
                self.side.set(&mut record, Some(updated), Value::Struct(s));
            }
        }
        Ok(Some(record))
    }
}
