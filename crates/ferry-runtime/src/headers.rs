//! Header values ↔ bytes in the manner of Kafka Connect's
//! `SimpleHeaderConverter`: strings as UTF-8, bytes as they are, other
//! primitives as their text; on the way in, UTF-8 headers become strings.

use ferry_api::{Schema, Value};

#[derive(Debug, Clone, Default)]
pub struct HeaderConverter;

impl HeaderConverter {
    pub fn from_connect(&self, value: &Value) -> Result<Option<Vec<u8>>, String> {
        Ok(Some(match value {
            Value::Null => return Ok(None),
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Bytes(b) => b.clone(),
            Value::Boolean(b) => b.to_string().into_bytes(),
            Value::Int8(v) => v.to_string().into_bytes(),
            Value::Int16(v) => v.to_string().into_bytes(),
            Value::Int32(v) | Value::Date(v) | Value::Time(v) => v.to_string().into_bytes(),
            Value::Int64(v) | Value::Timestamp(v) => v.to_string().into_bytes(),
            Value::Float32(v) => v.to_string().into_bytes(),
            Value::Float64(v) => v.to_string().into_bytes(),
            Value::Decimal(d) => d.to_string().into_bytes(),
            other => {
                return Err(format!(
                    "header values of type {} are not supported yet",
                    other.kind_name()
                ))
            }
        }))
    }

    pub fn to_connect(&self, bytes: Option<&[u8]>) -> (Option<Schema>, Value) {
        match bytes {
            None => (None, Value::Null),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => (Some(Schema::string()), Value::String(s.to_owned())),
                Err(_) => (Some(Schema::bytes()), Value::Bytes(b.to_vec())),
            },
        }
    }
}
