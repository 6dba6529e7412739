//! `MaskField$Key` / `MaskField$Value`: replaces field values with an
//! empty value of their type, or with a configured replacement.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Decimal, Props, Value};
use ferry_java::{number, text, values};

use crate::config::{self, key, Def, Default, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util;
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
const PURPOSE: &str = "mask fields";

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
                "Names of fields to mask.",
            ),
            key(
                "replacement",
                ConfigType::String,
                Default::Null,
                Some(Validator::NonEmptyString),
                Importance::Low,
                "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).",
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

struct Config {
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

pub struct MaskField {
    side: Side,
    cfg: Option<Config>,
}

impl MaskField {
    pub fn new(side: Side) -> Self {
        MaskField { side, cfg: None }
    }
}

impl<R: ConnectRecord> Transformation<R> for MaskField {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.cfg = Some(Config {
            fields: parsed.list("fields").to_vec(),
            replacement: parsed.string("replacement").map(str::to_owned),
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
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
        let (schema, value) = self.side.take(&mut record);
        let value = match &schema {
            None => {
                let mut map = util::require_map(value, PURPOSE)?;
                for field in &cfg.fields {
                    match map
                        .iter_mut()
                        .find(|(k, _)| k.as_str() == Some(field.as_str()))
                    {
                        Some(slot) => slot.1 = masked(cfg, std::mem::take(&mut slot.1))?,
                        // `HashMap.put(field, masked(null))`.
                        None => map.push((Value::String(field.clone()), Value::Null)),
                    }
                }
                Value::Map(map)
            }
            Some(_) => {
                // The schema stays, so the struct is rewritten in place.
                let mut s = util::require_struct(value, PURPOSE)?;
                let struct_schema = s.schema().clone();
                for f in struct_schema.fields() {
                    let raw_null = s.values()[f.index].is_null();
                    let current = util::field_value(&s, f.index, cfg.replace_null_with_default);
                    let is_masked = cfg.fields.contains(&f.name);
                    // Java copies every field into a new struct; only the
                    // copies that change something (or fail) need doing.
                    let unchanged = current.is_null() == raw_null;
                    let fails = current.is_null() && !f.schema.is_optional();
                    if !is_masked && unchanged && !fails {
                        continue;
                    }
                    let current = current.clone();
                    let v = if is_masked {
                        masked(cfg, current)?
                    } else {
                        current
                    };
                    util::put(&mut s, &f.name, v)?;
                }
                Value::Struct(s)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}

fn masked(cfg: &Config, value: Value) -> Result<Value, TransformError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match &cfg.replacement {
        None => mask_with_null_value(value),
        Some(r) => mask_with_replacement(value, r),
    }
}

/// The empty value of the field's type (`PRIMITIVE_VALUE_MAPPING`).
fn mask_with_null_value(value: Value) -> Result<Value, TransformError> {
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::Decimal(_) => Value::Decimal(Decimal::new(0, 0)),
        // `new Date(0)`, in whichever logical type the value had.
        Value::Date(_) => Value::Date(0),
        Value::Time(_) => Value::Time(0),
        Value::Timestamp(_) => Value::Timestamp(0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(TransformError::data(format!(
                "Cannot mask value of type: {}",
                text::class_display(&other)
            )))
        }
    })
}

/// `maskWithCustomReplacement`: the replacement converted to the value's
/// type.
fn mask_with_replacement(value: Value, replacement: &str) -> Result<Value, TransformError> {
    let text_value = Value::String(replacement.to_owned());
    let convert = |v: &Value| values::as_long(v).map_err(TransformError::data);
    let not_number = || {
        TransformError::data(format!(
            "Unable to convert {replacement} (class java.lang.String) to number"
        ))
    };
    Ok(match value {
        Value::Int8(_) => Value::Int8(convert(&text_value)? as i8),
        Value::Int16(_) => Value::Int16(convert(&text_value)? as i16),
        Value::Int32(_) => Value::Int32(convert(&text_value)? as i32),
        Value::Int64(_) => Value::Int64(convert(&text_value)?),
        Value::Float32(_) => {
            Value::Float32(values::as_double(&text_value).map_err(TransformError::data)? as f32)
        }
        Value::Float64(_) => {
            Value::Float64(values::as_double(&text_value).map_err(TransformError::data)?)
        }
        Value::String(_) => text_value,
        Value::Decimal(_) => {
            Value::Decimal(number::parse_big_decimal(replacement).ok_or_else(not_number)?)
        }
        other => {
            return Err(TransformError::data(format!(
                "Cannot mask value of type {} with custom replacement.",
                text::class_display(&other)
            )))
        }
    })
}
