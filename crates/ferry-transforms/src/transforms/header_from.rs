//! `HeaderFrom$Key` / `HeaderFrom$Value`: moves or copies fields into
//! headers.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, SchemaType, Value};
use ferry_java::text;

use crate::config::{self, key, Def, Default, Validator};
use crate::error::{config_error, ConfigError, ExceptionKind, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.HeaderFrom$Value";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "fields",
                ConfigType::List,
                Default::Required,
                Some(Validator::NonEmptyList),
                Importance::High,
                "Field names in the record whose values are to be copied or moved to headers.",
            ),
            key(
                "headers",
                ConfigType::List,
                Default::Required,
                Some(Validator::NonEmptyList),
                Importance::High,
                "Header names, in the same order as the field names listed in the fields configuration property.",
            ),
            key(
                "operation",
                ConfigType::String,
                Default::Required,
                Some(Validator::ValidString(&["move", "copy"])),
                Importance::High,
                "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

struct Config {
    /// For each field listed twice, the position of its first mention.
    first_mention: Vec<Option<usize>>,
    fields: Vec<String>,
    headers: Vec<String>,
    move_fields: bool,
    replace_null_with_default: bool,
}

pub struct HeaderFrom {
    side: Side,
    cfg: Option<Config>,
    move_cache: SchemaCache,
}

impl HeaderFrom {
    pub fn new(side: Side) -> Self {
        HeaderFrom {
            side,
            cfg: None,
            move_cache: SchemaCache::default(),
        }
    }
}

/// `ConnectHeaders.add(key, value, schema)`: a schema's header value must fit.
fn check_header(schema: Option<&Schema>, value: &Value) -> Result<(), TransformError> {
    let Some(schema) = schema else {
        return Ok(());
    };
    if value.is_null() {
        if !schema.is_optional() {
            return Err(TransformError::data(format!(
                "A null value requires an optional schema but was {}",
                text::schema_to_string(schema)
            )));
        }
        return Ok(());
    }
    // The same class check as for struct fields.
    util::check_class(schema, value, util::Location::Value)
}

impl<R: ConnectRecord> Transformation<R> for HeaderFrom {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let fields = parsed.list("fields").to_vec();
        let headers = parsed.list("headers").to_vec();
        if fields.len() != headers.len() {
            return Err(config_error(
                "headers",
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        let first_mention = fields
            .iter()
            .enumerate()
            .map(|(i, f)| fields[..i].iter().position(|g| g == f))
            .collect();
        self.cfg = Some(Config {
            first_mention,
            fields,
            headers,
            move_fields: parsed.string("operation") == Some("move"),
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.move_cache = SchemaCache::default();
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
        let purpose = if cfg.move_fields {
            "header move"
        } else {
            "header copy"
        };
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let mut map = util::require_map(value, purpose)?;
                let base = record.headers().len();
                for (i, (field, header)) in cfg.fields.iter().zip(&cfg.headers).enumerate() {
                    let v = match (cfg.move_fields, cfg.first_mention[i]) {
                        // Moved already: Java reads the original map again.
                        (true, Some(j)) => record
                            .headers()
                            .iter()
                            .nth(base + j)
                            .map(|h| h.value.clone())
                            .unwrap_or_default(),
                        (true, None) => util::map_remove(&mut map, field).unwrap_or_default(),
                        (false, _) => util::map_get(&map, field).cloned().unwrap_or_default(),
                    };
                    record.headers_mut().add(header.as_str(), None, v);
                }
                self.side.set(&mut record, None, Value::Map(map));
            }
            Some(schema) => {
                let value = util::require_struct(value, purpose)?;
                let (out_schema, out_value) = if cfg.move_fields {
                    let moved = self.move_cache.get_or_try_insert(&schema, || {
                        if schema.schema_type() != SchemaType::Struct {
                            return Err(TransformError::data(
                                "Cannot list fields on non-struct type",
                            ));
                        }
                        let mut b = StructBuilder::copying(&schema);
                        for f in schema.fields() {
                            if !cfg.fields.contains(&f.name) {
                                b.field(&f.name, f.schema.clone())?;
                            }
                        }
                        Ok(b.build())
                    })?;
                    let mut s = util::new_struct(&moved)?;
                    for f in moved.fields() {
                        let v = match value.schema().field(&f.name) {
                            Some(src) => {
                                util::field_value(&value, src.index, cfg.replace_null_with_default)
                                    .clone()
                            }
                            None => {
                                return Err(TransformError::data(format!(
                                    "{} is not a valid field name",
                                    f.name
                                )))
                            }
                        };
                        util::put(&mut s, &f.name, v)?;
                    }
                    (moved, Some(s))
                } else {
                    (schema.clone(), None)
                };
                for (field, header) in cfg.fields.iter().zip(&cfg.headers) {
                    let v = match value.schema().field(field) {
                        Some(f) => {
                            util::field_value(&value, f.index, cfg.replace_null_with_default)
                                .clone()
                        }
                        None => Value::Null,
                    };
                    let field_schema = match crate::transforms::extract_field::lookup_field(&schema, field)? {
                        Some(f) => f.schema.clone(),
                        None => {
                            return Err(TransformError::new(
                                ExceptionKind::NullPointer,
                                "Cannot invoke \"org.apache.kafka.connect.data.Field.schema()\" because the return value of \"org.apache.kafka.connect.data.Schema.field(String)\" is null",
                            ))
                        }
                    };
                    check_header(Some(&field_schema), &v)?;
                    record
                        .headers_mut()
                        .add(header.as_str(), Some(field_schema), v);
                }
                let out_value = match out_value {
                    Some(s) => Value::Struct(s),
                    None => Value::Struct(value),
                };
                self.side.set(&mut record, Some(out_schema), out_value);
            }
        }
        Ok(Some(record))
    }
}
