//! Kafka Connect's `org.apache.kafka.connect.converters.ByteArrayConverter`:
//! bytes pass through unchanged.

use ferry_api::{ConfigDef, ConvertError, Converter, Props, Schema, SchemaType, Value};
use ferry_java::text::class_display;

use crate::{parse_config, ConverterRole};

#[derive(Debug, Clone)]
pub struct ByteArrayConverter {
    /// `Schema.OPTIONAL_BYTES_SCHEMA`, shared by every record read.
    schema: Schema,
}

impl Default for ByteArrayConverter {
    /// The converter before `configure`, which changes nothing.
    fn default() -> Self {
        ByteArrayConverter {
            schema: Schema::optional_bytes(),
        }
    }
}

impl ByteArrayConverter {
    /// Only `converter.type`, like Java's.
    pub fn config_def() -> ConfigDef {
        crate::converter_config_def()
    }

    /// Java's `configure` ignores its settings entirely.
    pub fn new(role: ConverterRole, props: &Props) -> Result<Self, ConvertError> {
        parse_config(&Self::config_def(), role, props)?;
        Ok(Self::default())
    }
}

impl Converter for ByteArrayConverter {
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
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        if let Some(s) = schema {
            if s.schema_type() != SchemaType::Bytes {
                return Err(ConvertError::Data(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.schema_type()
                )));
            }
        }
        match value {
            Value::Null => Ok(false),
            Value::Bytes(b) => {
                out.extend_from_slice(b);
                Ok(true)
            }
            other => Err(ConvertError::Data(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                class_display(other)
            ))),
        }
    }

    fn to_connect(
        &self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        let value = data.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        Ok((Some(self.schema.clone()), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Decimal, SchemaBuilder};

    fn conv() -> ByteArrayConverter {
        ByteArrayConverter::new(ConverterRole::Value, &Props::new()).unwrap()
    }

    #[test]
    fn passes_bytes_through() {
        let mut out = vec![9];
        assert!(conv()
            .from_connect(
                "t",
                Some(&Schema::bytes()),
                &Value::Bytes(vec![0, 255]),
                &mut out
            )
            .unwrap());
        assert_eq!(out, vec![0, 255]);
        assert!(conv()
            .from_connect("t", None, &Value::Bytes(vec![]), &mut out)
            .unwrap());
        assert!(out.is_empty());
        assert!(!conv()
            .from_connect("t", Some(&Schema::optional_bytes()), &Value::Null, &mut out)
            .unwrap());
    }

    #[test]
    fn rejects_other_schemas_and_values_with_kafka_connect_messages() {
        let mut out = Vec::new();
        let e = conv()
            .from_connect("t", Some(&Schema::string()), &"x".into(), &mut out)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid schema type for ByteArrayConverter: STRING"
        );
        // The schema is checked even for a null value.
        let e = conv()
            .from_connect("t", Some(&Schema::int32()), &Value::Null, &mut out)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid schema type for ByteArrayConverter: INT32"
        );
        let e = conv()
            .from_connect("t", None, &"x".into(), &mut out)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ByteArrayConverter is not compatible with objects of type class java.lang.String"
        );
        // A Decimal schema is BYTES, but its value is a BigDecimal.
        let e = conv()
            .from_connect(
                "t",
                Some(&SchemaBuilder::decimal(2).build()),
                &Value::Decimal(Decimal::new(1, 2)),
                &mut out,
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ByteArrayConverter is not compatible with objects of type class java.math.BigDecimal"
        );
    }

    #[test]
    fn reads_optional_bytes() {
        let (schema, v) = conv().to_connect("t", Some(&[1, 2])).unwrap();
        assert_eq!(schema, Some(Schema::optional_bytes()));
        assert_eq!(v, Value::Bytes(vec![1, 2]));
        let (schema, v) = conv().to_connect("t", None).unwrap();
        assert_eq!(schema, Some(Schema::optional_bytes()));
        assert_eq!(v, Value::Null);
    }
}
