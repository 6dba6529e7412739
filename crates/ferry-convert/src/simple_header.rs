//! Kafka Connect's `org.apache.kafka.connect.storage.SimpleHeaderConverter`,
//! the default `header.converter`: a header value is written as the text
//! `Values.convertToString` gives (UTF-8), and read back with
//! `Values.parseString`'s type inference, so `"42"` arrives as an int8 and
//! `"true"` as a boolean, as in Kafka Connect.

use ferry_api::{ConfigDef, ConvertError, HeaderConverter, Props, Schema, Value};
use ferry_java::values::{convert_to_string, parse_string};

/// The class name.
pub(crate) const CLASS: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    /// Java's takes no settings and ignores whatever it is given.
    fn configure(&mut self, _props: &Props) -> Result<(), ConvertError> {
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }

    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        _schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        Ok(match value {
            Value::Null => None,
            // The common case needs no detour through the generic printer.
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(convert_to_string(other).into_bytes()),
        })
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        let Some(b) = data else {
            return Ok((None, Value::Null));
        };
        Ok(match std::str::from_utf8(b) {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_simple_header_converter() {
        let c = SimpleHeaderConverter;
        assert_eq!(
            c.from_connect_header("t", "h", None, &Value::Int32(42))
                .unwrap(),
            Some(b"42".to_vec())
        );
        assert_eq!(
            c.from_connect_header("t", "h", None, &Value::Null).unwrap(),
            None
        );
        let (schema, value) = c.to_connect_header("t", "h", Some(b"42")).unwrap();
        assert_eq!(value, Value::Int8(42));
        assert!(schema.is_some());
        assert_eq!(
            c.to_connect_header("t", "h", Some(b"true")).unwrap().1,
            Value::Boolean(true)
        );
        assert_eq!(
            c.to_connect_header("t", "h", Some(b"plain text"))
                .unwrap()
                .1,
            Value::String("plain text".into())
        );
        assert_eq!(
            c.to_connect_header("t", "h", None).unwrap(),
            (None, Value::Null)
        );
    }
}
