//! `Flatten$Key` / `Flatten$Value`: flattens nested structs (or maps) into
//! one level, joining field names with a delimiter.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, SchemaType, Struct, Value};
use ferry_java::text;

use crate::config::{key, Def, Default};
use crate::error::{ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.Flatten$Value";
const PURPOSE: &str = "flattening";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![key(
            "delimiter",
            ConfigType::String,
            Default::Str("."),
            None,
            Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the output record",
        )],
    }
}

pub struct Flatten {
    side: Side,
    delimiter: Option<String>,
    cache: SchemaCache,
}

impl Flatten {
    pub fn new(side: Side) -> Self {
        Flatten {
            side,
            delimiter: None,
            cache: SchemaCache::default(),
        }
    }
}

fn field_name(prefix: &str, delimiter: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}{delimiter}{name}")
    }
}

impl<R: ConnectRecord> Transformation<R> for Flatten {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.delimiter = Some(parsed.string("delimiter").unwrap_or_default().to_owned());
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
        let delimiter = self
            .delimiter
            .as_deref()
            .ok_or_else(|| util::not_configured(class))?;
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let map = util::require_map(value, PURPOSE)?;
                let mut out = Vec::with_capacity(map.len());
                flatten_schemaless(map, "", delimiter, &mut out)?;
                self.side.set(&mut record, None, Value::Map(out));
            }
            Some(schema) => {
                let value = util::require_struct(value, PURPOSE)?;
                let updated = self.cache.get_or_try_insert(&schema, || {
                    if schema.schema_type() != SchemaType::Struct {
                        return Err(TransformError::data(
                            "Cannot list fields on non-struct type",
                        ));
                    }
                    let mut b = StructBuilder::copying(&schema);
                    let default = match schema.default_value() {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    build_schema(
                        &schema,
                        "",
                        delimiter,
                        &mut b,
                        schema.is_optional(),
                        default,
                    )?;
                    Ok(b.build())
                })?;
                let mut out = util::new_struct(&updated)?;
                flatten_struct(&value, "", delimiter, &mut out)?;
                self.side
                    .set(&mut record, Some(updated), Value::Struct(out));
            }
        }
        Ok(Some(record))
    }
}

fn flatten_schemaless(
    map: Vec<(Value, Value)>,
    prefix: &str,
    delimiter: &str,
    out: &mut Vec<(Value, Value)>,
) -> Result<(), TransformError> {
    for (k, v) in map {
        let key = match &k {
            Value::String(s) => s.clone(),
            other => text::to_string(other),
        };
        let name = field_name(prefix, delimiter, &key);
        match v {
            Value::Map(inner) => flatten_schemaless(inner, &name, delimiter, out)?,
            Value::Null
            | Value::Int8(_)
            | Value::Int16(_)
            | Value::Int32(_)
            | Value::Int64(_)
            | Value::Float32(_)
            | Value::Float64(_)
            | Value::Boolean(_)
            | Value::String(_)
            | Value::Bytes(_)
            | Value::Array(_) => util::map_put(out, &name, v),
            Value::Struct(_) => {
                return Err(TransformError::data(format!(
                    "Flatten transformation does not support {} for record without schemas (for field {name}).",
                    text::class_display(&v)
                )))
            }
            other => {
                return Err(TransformError::data(format!(
                    "Flatten transformation was passed a value of type {} which is not supported by Connect's data API",
                    text::class_display(&other)
                )))
            }
        }
    }
    Ok(())
}

/// `buildUpdatedSchema`: optionality and defaults of ancestors carry down
/// to the flattened fields.
fn build_schema(
    schema: &Schema,
    prefix: &str,
    delimiter: &str,
    b: &mut StructBuilder,
    optional: bool,
    default_from_parent: Option<&Struct>,
) -> Result<(), TransformError> {
    for f in schema.fields() {
        let name = field_name(prefix, delimiter, &f.name);
        let field_optional = optional || f.schema.is_optional();
        let field_default = match f.schema.default_value() {
            Some(d) => Some(d.clone()),
            None => default_from_parent
                .map(|p| p.get_at(f.index).clone())
                .filter(|v| !v.is_null()),
        };
        match f.schema.schema_type() {
            SchemaType::Struct => {
                let parent = match &field_default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                build_schema(&f.schema, &name, delimiter, b, field_optional, parent)?;
            }
            SchemaType::Map => {
                return Err(TransformError::data(format!(
                    "Flatten transformation does not support MAP for record with schemas (for field {name})."
                )))
            }
            _ => {
                let mut fb = util::copy_schema_basics_of(&f.schema);
                if field_optional {
                    fb = fb.optional();
                }
                if let Some(d) = field_default {
                    fb = util::with_default(fb, d)?;
                }
                b.field(&name, fb.build())?;
            }
        }
    }
    Ok(())
}

fn flatten_struct(
    s: &Struct,
    prefix: &str,
    delimiter: &str,
    out: &mut Struct,
) -> Result<(), TransformError> {
    for f in s.schema().fields() {
        let name = field_name(prefix, delimiter, &f.name);
        match f.schema.schema_type() {
            // `Struct.getStruct` reads the raw value: a struct default does
            // not flow into the flattened values (only into the schema).
            SchemaType::Struct => match &s.values()[f.index] {
                Value::Struct(inner) => flatten_struct(inner, &name, delimiter, out)?,
                Value::Null => {}
                other => {
                    return Err(TransformError::data(format!(
                        "class {} cannot be cast to class org.apache.kafka.connect.data.Struct",
                        text::class_name(other)
                    )))
                }
            },
            SchemaType::Map => {
                return Err(TransformError::data(format!(
                    "Flatten transformation does not support MAP for record with schemas (for field {name})."
                )))
            }
            _ => util::put(out, &name, s.get_at(f.index).clone())?,
        }
    }
    Ok(())
}
