//! `header.converter`: how header values are written to and read from Kafka.
//!
//! The default is Kafka Connect's `SimpleHeaderConverter`: a header value is
//! written as the text `Values.convertToString` gives (UTF-8), and read back
//! with `Values.parseString`'s type inference, so `"42"` arrives as an int8
//! and `"true"` as a boolean, as in Kafka Connect.
//!
//! `StringConverter`, `JsonConverter` and `ByteArrayConverter` are header
//! converters too: in Kafka Connect their `fromConnectHeader` /
//! `toConnectHeader` are their `fromConnectData` / `toConnectData`, configured
//! with `converter.type=header`, so the `ferry-convert` converters built for
//! `ConverterRole::Header` are used as they are.

use ferry_api::{Schema, Value};
use ferry_convert::{new_converter, ConvertError, Converter, ConverterRole};
use ferry_java::values::{convert_to_string, parse_string};

use crate::worker_config::{WorkerConfig, HEADER_CONVERTER, SIMPLE_HEADER_CONVERTER};
use crate::Props;

/// The `header.converter` classes Ferry implements, as Kafka Connect names
/// them (listed by `GET /connector-plugins?connectorsOnly=false`).
pub const HEADER_CONVERTER_CLASSES: [&str; 4] = [
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    SIMPLE_HEADER_CONVERTER,
    "org.apache.kafka.connect.storage.StringConverter",
];

/// Whether `class` names the default converter: its class name or its
/// simple name (Kafka Connect's plugin alias).
fn is_simple(class: &str) -> bool {
    let class = class.trim();
    class == SIMPLE_HEADER_CONVERTER || class == "SimpleHeaderConverter"
}

/// Whether `header.converter` may name `class`: one of
/// [`HEADER_CONVERTER_CLASSES`] or an alias of one.
pub fn is_header_converter(class: &str) -> bool {
    is_simple(class) || ferry_convert::converter_config_def_for(class).is_some()
}

/// The `header.converter` validator of worker and connector configs, with
/// Kafka Connect's message for a class it cannot load.
pub fn validate_class(_key: &str, value: &ferry_api::config::ConfigValue) -> Result<(), String> {
    match value {
        ferry_api::config::ConfigValue::Class(c) | ferry_api::config::ConfigValue::String(c)
            if !is_header_converter(c) =>
        {
            Err(format!("Class {c} could not be found."))
        }
        _ => Ok(()),
    }
}

enum Kind {
    Simple,
    /// One of the record converters, configured with `converter.type=header`.
    Converter(Box<dyn Converter>),
}

/// A task's header converter.
pub struct HeaderConverter {
    kind: Kind,
    /// The class as configured, named in error reports.
    class: String,
}

impl std::fmt::Debug for HeaderConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Simple => "SimpleHeaderConverter",
            Kind::Converter(_) => "HeaderConverter(converter)",
        })
    }
}

impl Default for HeaderConverter {
    fn default() -> Self {
        Self::simple()
    }
}

impl HeaderConverter {
    /// `SimpleHeaderConverter`, the default.
    pub fn simple() -> Self {
        HeaderConverter {
            kind: Kind::Simple,
            class: SIMPLE_HEADER_CONVERTER.to_owned(),
        }
    }

    /// The class name, for error reports (`__connect.errors.class.name`).
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The converter `class` with its settings (`header.converter.` prefix
    /// already stripped).
    pub fn new(class: &str, props: &Props) -> Result<Self, ConvertError> {
        if is_simple(class) {
            return Ok(Self::simple());
        }
        Ok(HeaderConverter {
            kind: Kind::Converter(new_converter(class, ConverterRole::Header, props)?),
            class: class.trim().to_owned(),
        })
    }

    /// The connector's `header.converter`, or the worker's when it names none.
    pub fn for_connector(worker: &WorkerConfig, connector: &Props) -> Result<Self, ConvertError> {
        let (class, props) = worker.converter_for(HEADER_CONVERTER, connector);
        Self::new(&class, &props)
    }

    /// `fromConnectHeader`: the bytes of one header value (`None` = null).
    // Named after Kafka Connect's `fromConnectHeader`.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        match &self.kind {
            Kind::Simple => Ok(match value {
                Value::Null => None,
                // The common case needs no detour through the generic printer.
                Value::String(s) => Some(s.as_bytes().to_vec()),
                other => Some(convert_to_string(other).into_bytes()),
            }),
            Kind::Converter(c) => {
                let mut out = Vec::new();
                Ok(c.from_connect(topic, schema, value, &mut out)?
                    .then_some(out))
            }
        }
    }

    /// `toConnectHeader`: schema and value of one header's bytes.
    pub fn to_connect(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        match &self.kind {
            Kind::Simple => Ok(simple_to_connect(bytes)),
            Kind::Converter(c) => c.to_connect(topic, bytes),
        }
    }
}

fn simple_to_connect(bytes: Option<&[u8]>) -> (Option<Schema>, Value) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_like_simple_header_converter() {
        let c = HeaderConverter::simple();
        assert_eq!(
            c.from_connect("t", None, &Value::Int32(42)).unwrap(),
            Some(b"42".to_vec())
        );
        assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
        let (schema, value) = c.to_connect("t", Some(b"42")).unwrap();
        assert_eq!(value, Value::Int8(42));
        assert!(schema.is_some());
        assert_eq!(
            c.to_connect("t", Some(b"true")).unwrap().1,
            Value::Boolean(true)
        );
        assert_eq!(
            c.to_connect("t", Some(b"plain text")).unwrap().1,
            Value::String("plain text".into())
        );
        assert_eq!(c.to_connect("t", None).unwrap(), (None, Value::Null));
    }

    #[test]
    fn record_converters_serve_as_header_converters() {
        let string = HeaderConverter::new(
            "org.apache.kafka.connect.storage.StringConverter",
            &Props::new(),
        )
        .unwrap();
        assert_eq!(
            string.from_connect("t", None, &Value::Int32(7)).unwrap(),
            Some(b"7".to_vec())
        );
        // No type inference: the text stays a string.
        assert_eq!(
            string.to_connect("t", Some(b"42")).unwrap(),
            (Some(Schema::optional_string()), Value::String("42".into()))
        );

        let json =
            HeaderConverter::new("org.apache.kafka.connect.json.JsonConverter", &Props::new())
                .unwrap();
        assert_eq!(
            json.from_connect("t", Some(&Schema::int32()), &Value::Int32(7))
                .unwrap(),
            Some(br#"{"schema":{"type":"int32","optional":false},"payload":7}"#.to_vec())
        );
        let plain: Props = [("schemas.enable".to_owned(), "false".to_owned())].into();
        let json = HeaderConverter::new("JsonConverter", &plain).unwrap();
        assert_eq!(
            json.to_connect("t", Some(b"[1,2]")).unwrap().1,
            Value::Array(vec![Value::Int64(1), Value::Int64(2)])
        );
        assert!(json.to_connect("t", Some(b"{nope")).is_err());

        let bytes = HeaderConverter::new(
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            &Props::new(),
        )
        .unwrap();
        assert_eq!(
            bytes
                .from_connect("t", None, &Value::Bytes(vec![0, 255]))
                .unwrap(),
            Some(vec![0, 255])
        );
        assert!(bytes.from_connect("t", None, &Value::Int32(1)).is_err());
    }

    #[test]
    fn unknown_classes_are_refused_as_kafka_connect_does() {
        for class in HEADER_CONVERTER_CLASSES {
            assert!(is_header_converter(class), "{class}");
        }
        assert!(is_header_converter("SimpleHeaderConverter"));
        assert_eq!(
            validate_class(
                "header.converter",
                &ferry_api::config::ConfigValue::Class("com.example.Nope".into())
            ),
            Err("Class com.example.Nope could not be found.".into())
        );
        assert!(HeaderConverter::new("com.example.Nope", &Props::new()).is_err());
        let worker = |class: &str| {
            let props: Props = [
                ("offset.storage.file.filename", "/tmp/offsets"),
                ("header.converter", class),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            WorkerConfig::new(props, true)
        };
        assert_eq!(
            worker("com.example.Nope").err().map(|e| e.message),
            Some(
                "Invalid value com.example.Nope for configuration header.converter: \
                 Class com.example.Nope could not be found."
                    .to_owned()
            )
        );
        assert!(worker("org.apache.kafka.connect.json.JsonConverter").is_ok());
    }
}
