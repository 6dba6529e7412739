//! Kafka Connect's `SimpleHeaderConverter`, the default `header.converter`:
//! a header value is written as the text `Values.convertToString` gives
//! (UTF-8), and read back with `Values.parseString`'s type inference, so
//! `"42"` arrives as an int32 and `"true"` as a boolean, as in Kafka Connect.

use ferry_api::{Schema, Value};
use ferry_transforms::java::values::{convert_to_string, parse_string};

#[derive(Debug, Clone, Default)]
pub struct HeaderConverter;

impl HeaderConverter {
    pub fn from_connect(&self, value: &Value) -> Result<Option<Vec<u8>>, String> {
        Ok(match value {
            Value::Null => None,
            // The common case needs no detour through the generic printer.
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(convert_to_string(other).into_bytes()),
        })
    }

    pub fn to_connect(&self, bytes: Option<&[u8]>) -> (Option<Schema>, Value) {
        let Some(b) = bytes else {
            return (None, Value::Null);
        };
        match std::str::from_utf8(b) {
            Ok("") => (Some(Schema::string()), Value::String(String::new())),
            Ok(s) => {
                let parsed = parse_string(s);
                (parsed.schema, parsed.value)
            }
            // Kafka Connect decodes leniently and keeps the text.
            Err(_) => (
                Some(Schema::string()),
                Value::String(String::from_utf8_lossy(b).into_owned()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_simple_header_converter() {
        let c = HeaderConverter;
        assert_eq!(
            c.from_connect(&Value::Int32(42)).unwrap(),
            Some(b"42".to_vec())
        );
        assert_eq!(c.from_connect(&Value::Null).unwrap(), None);
        let (schema, value) = c.to_connect(Some(b"42"));
        assert_eq!(value, Value::Int8(42));
        assert!(schema.is_some());
        assert_eq!(c.to_connect(Some(b"true")).1, Value::Boolean(true));
        assert_eq!(
            c.to_connect(Some(b"plain text")).1,
            Value::String("plain text".into())
        );
        assert_eq!(c.to_connect(None), (None, Value::Null));
    }
}
