//! Kafka Connect's `org.apache.kafka.connect.storage.StringConverter`.
//!
//! Writes `value.toString()` (whatever the schema) and reads every payload
//! as an optional string. Java resolves the character set from
//! `converter.encoding`, overridden by `{key|value}.{serializer|deserializer}.encoding`;
//! Ferry implements UTF-8 only and rejects any other encoding when the
//! converter is created.

use ferry_api::{
    ConfigDef, ConfigType, ConvertError, Converter, Importance, Props, Schema, Value, Width,
};
use ferry_java::text;

use crate::{parse_config, ConverterRole};

pub const ENCODING_CONFIG: &str = "converter.encoding";

#[derive(Debug, Clone)]
pub struct StringConverter {
    /// `Schema.OPTIONAL_STRING_SCHEMA`, shared by every record read.
    schema: Schema,
}

impl Default for StringConverter {
    /// The converter before `configure`: UTF-8, which is all it supports.
    fn default() -> Self {
        StringConverter {
            schema: Schema::optional_string(),
        }
    }
}

impl StringConverter {
    /// `StringConverterConfig.configDef()`.
    pub fn config_def() -> ConfigDef {
        let mut def = crate::converter_config_def();
        def.define(ENCODING_CONFIG, ConfigType::String)
            .default_str("UTF-8")
            .importance(Importance::High)
            .doc("The name of the Java character set to use for encoding strings as byte arrays.")
            .width(Width::Medium)
            .display_name("Encoding");
        def
    }

    pub fn new(role: ConverterRole, props: &Props) -> Result<Self, ConvertError> {
        let parsed = parse_config(&Self::config_def(), role, props)?;
        let encoding = parsed.string(ENCODING_CONFIG).unwrap_or("UTF-8");
        // The serializer and deserializer each look for a role-specific
        // override first, as Kafka's String(De)Serializer do.
        let prefix = if role == ConverterRole::Key {
            "key"
        } else {
            "value"
        };
        for side in ["serializer", "deserializer"] {
            let name = props
                .get(&format!("{prefix}.{side}.encoding"))
                .map(String::as_str)
                .unwrap_or(encoding);
            check_encoding(name)?;
        }
        Ok(Self::default())
    }
}

/// Java's names for UTF-8 (`Charset.forName` is case-insensitive).
fn check_encoding(name: &str) -> Result<(), ConvertError> {
    const UTF8: [&str; 3] = ["UTF-8", "UTF8", "unicode-1-1-utf-8"];
    if UTF8.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        Ok(())
    } else {
        Err(ConvertError::Config(format!(
            "Unsupported encoding {name} (Ferry's StringConverter supports UTF-8 only)"
        )))
    }
}

impl Converter for StringConverter {
    fn configure(&mut self, props: &Props, is_key: bool) -> Result<(), ConvertError> {
        *self = Self::new(ConverterRole::of_key(is_key), props)?;
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        Self::config_def()
    }

    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        if value.is_null() {
            return Ok(false);
        }
        // `value.toString()`, written into `out`'s own allocation: the
        // buffer is empty, so it is valid UTF-8 as it stands.
        let mut s = String::from_utf8(std::mem::take(out)).unwrap_or_default();
        text::write_value(&mut s, value);
        *out = s.into_bytes();
        Ok(true)
    }

    fn to_connect(
        &self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        // `new String(bytes, UTF_8)` replaces malformed input with U+FFFD.
        let value = match data {
            // Validating first is much faster than the lossy decoder, which
            // only invalid input needs.
            Some(b) => Value::String(match std::str::from_utf8(b) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(b).into_owned(),
            }),
            None => Value::Null,
        };
        Ok((Some(self.schema.clone()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Decimal, SchemaBuilder, Struct};

    fn conv(props: &[(&str, &str)]) -> Result<StringConverter, ConvertError> {
        let props: Props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        StringConverter::new(ConverterRole::Value, &props)
    }

    fn to_bytes(v: &Value) -> (bool, String) {
        let mut out = vec![1, 2, 3];
        let present = conv(&[])
            .unwrap()
            .from_connect("t", None, v, &mut out)
            .unwrap();
        (present, String::from_utf8(out).unwrap())
    }

    #[test]
    fn writes_java_to_string() {
        assert_eq!(to_bytes(&"héllo".into()), (true, "héllo".into()));
        assert_eq!(to_bytes(&Value::Int32(-5)), (true, "-5".into()));
        assert_eq!(to_bytes(&Value::Float64(1e10)), (true, "1.0E10".into()));
        assert_eq!(to_bytes(&Value::Float32(0.1)), (true, "0.1".into()));
        assert_eq!(to_bytes(&Value::Boolean(true)), (true, "true".into()));
        assert_eq!(
            to_bytes(&Value::Decimal(Decimal::new(1, -3))),
            (true, "1E+3".into())
        );
        assert_eq!(to_bytes(&"".into()), (true, "".into()));
        let schema = SchemaBuilder::struct_().field("a", Schema::int32()).build();
        let s = Struct::new(schema).unwrap().put("a", 1).unwrap();
        assert_eq!(to_bytes(&Value::Struct(s)), (true, "Struct{a=1}".into()));
    }

    #[test]
    fn null_is_a_tombstone_whatever_the_schema() {
        let c = conv(&[]).unwrap();
        let mut out = vec![1];
        assert!(!c
            .from_connect("t", Some(&Schema::string()), &Value::Null, &mut out)
            .unwrap());
        assert!(out.is_empty());
    }

    #[test]
    fn reads_optional_strings() {
        let c = conv(&[]).unwrap();
        let (schema, v) = c.to_connect("t", Some("abc".as_bytes())).unwrap();
        assert_eq!(schema, Some(Schema::optional_string()));
        assert_eq!(v, Value::String("abc".into()));
        let (schema, v) = c.to_connect("t", None).unwrap();
        assert_eq!(schema, Some(Schema::optional_string()));
        assert_eq!(v, Value::Null);
        let (_, v) = c.to_connect("t", Some(&[b'a', 0xFF, b'b'])).unwrap();
        assert_eq!(v, Value::String("a\u{FFFD}b".into()));
    }

    #[test]
    fn only_utf8_is_accepted() {
        assert!(conv(&[("converter.encoding", "utf8")]).is_ok());
        assert!(conv(&[("converter.encoding", "UTF-8")]).is_ok());
        let e = conv(&[("converter.encoding", "ISO-8859-1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid converter configuration: Unsupported encoding ISO-8859-1 (Ferry's StringConverter supports UTF-8 only)"
        );
        assert!(conv(&[("value.deserializer.encoding", "UTF-16")]).is_err());
        // A key-side override does not concern a value converter.
        assert!(conv(&[("key.serializer.encoding", "UTF-16")]).is_ok());
    }
}
