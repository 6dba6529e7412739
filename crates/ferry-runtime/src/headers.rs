//! `header.converter`: how header values are written to and read from Kafka.
//!
//! The default is Kafka Connect's `SimpleHeaderConverter`; any header
//! converter in the plugin registry may be named instead (Kafka Connect's
//! `StringConverter`, `JsonConverter` and `ByteArrayConverter` are header
//! converters too).

use ferry_api::{ConvertError, PluginType, Schema, Value};
use ferry_convert::SimpleHeaderConverter;

use crate::plugins::Plugins;
use crate::worker_config::{WorkerConfig, HEADER_CONVERTER, SIMPLE_HEADER_CONVERTER};
use crate::Props;

/// A task's configured header converter, with the class it was built from.
pub struct HeaderConverter {
    converter: Box<dyn ferry_api::HeaderConverter>,
    /// The full class name (an alias resolved), named in error reports as
    /// Kafka Connect names the converter's class.
    class: String,
}

impl std::fmt::Debug for HeaderConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HeaderConverter").field(&self.class).finish()
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
            converter: Box::new(SimpleHeaderConverter),
            class: SIMPLE_HEADER_CONVERTER.to_owned(),
        }
    }

    /// The class name, for error reports (`__connect.errors.class.name`).
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The header converter `class` of `plugins`, configured with its
    /// settings (`header.converter.` prefix already stripped).
    pub fn new(plugins: &Plugins, class: &str, props: &Props) -> Result<Self, ConvertError> {
        let converter = plugins.new_header_converter(class, props)?;
        let class = plugins
            .find(PluginType::HeaderConverter, class)
            .map_or(class.trim(), |e| e.plugin.class());
        Ok(HeaderConverter {
            converter,
            class: class.to_owned(),
        })
    }

    /// The connector's `header.converter`, or the worker's when it names none.
    pub fn for_connector(
        plugins: &Plugins,
        worker: &WorkerConfig,
        connector: &Props,
    ) -> Result<Self, ConvertError> {
        let (class, props) = worker.converter_for(HEADER_CONVERTER, connector);
        Self::new(plugins, &class, &props)
    }

    /// `fromConnectHeader`: the bytes of the value of header `key` (`None` =
    /// null).
    // Named after Kafka Connect's `fromConnectHeader`.
    #[allow(clippy::wrong_self_convention)]
    pub fn from_connect(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.converter
            .from_connect_header(topic, key, schema, value)
    }

    /// `toConnectHeader`: schema and value of the bytes of header `key`.
    pub fn to_connect(
        &self,
        topic: &str,
        key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        self.converter.to_connect_header(topic, key, bytes)
    }

    /// Whether the converter prefers batches (a plugin's does).
    pub fn prefers_batches(&self) -> bool {
        self.converter.prefers_batches()
    }

    /// [`from_connect`](Self::from_connect) for each `(topic, key, schema,
    /// value)` of a batch, one result per item.
    #[allow(clippy::wrong_self_convention, clippy::type_complexity)]
    pub fn from_connect_batch(
        &self,
        items: &[(&str, &str, Option<&Schema>, &Value)],
    ) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
        self.converter.from_connect_header_batch(items)
    }

    /// [`to_connect`](Self::to_connect) for each `(topic, key, bytes)` of
    /// a batch, one result per item.
    #[allow(clippy::type_complexity)]
    pub fn to_connect_batch(
        &self,
        items: &[(&str, &str, Option<&[u8]>)],
    ) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
        self.converter.to_connect_header_batch(items)
    }

    /// Closes the converter when its task stops.
    pub fn close(&self) {
        self.converter.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugins() -> Plugins {
        Plugins::with_built_ins(Vec::new()).expect("built-in plugins")
    }

    #[test]
    fn simple_header_converter_is_the_default() {
        let c = HeaderConverter::default();
        assert_eq!(c.class(), SIMPLE_HEADER_CONVERTER);
        assert_eq!(
            c.from_connect("t", "h", None, &Value::Int32(42)).unwrap(),
            Some(b"42".to_vec())
        );
        assert_eq!(
            c.to_connect("t", "h", Some(b"42")).unwrap().1,
            Value::Int8(42)
        );
        let named =
            HeaderConverter::new(&plugins(), " SimpleHeaderConverter ", &Props::new()).unwrap();
        assert_eq!(named.class(), SIMPLE_HEADER_CONVERTER);
    }

    #[test]
    fn record_converters_serve_as_header_converters() {
        let plugins = plugins();
        let string = HeaderConverter::new(
            &plugins,
            "org.apache.kafka.connect.storage.StringConverter",
            &Props::new(),
        )
        .unwrap();
        assert_eq!(
            string
                .from_connect("t", "h", None, &Value::Int32(7))
                .unwrap(),
            Some(b"7".to_vec())
        );
        // No type inference: the text stays a string.
        assert_eq!(
            string.to_connect("t", "h", Some(b"42")).unwrap(),
            (Some(Schema::optional_string()), Value::String("42".into()))
        );

        let json = HeaderConverter::new(
            &plugins,
            "org.apache.kafka.connect.json.JsonConverter",
            &Props::new(),
        )
        .unwrap();
        assert_eq!(
            json.from_connect("t", "h", Some(&Schema::int32()), &Value::Int32(7))
                .unwrap(),
            Some(br#"{"schema":{"type":"int32","optional":false},"payload":7}"#.to_vec())
        );
        let plain: Props = [("schemas.enable".to_owned(), "false".to_owned())].into();
        let json = HeaderConverter::new(&plugins, "JsonConverter", &plain).unwrap();
        assert_eq!(
            json.to_connect("t", "h", Some(b"[1,2]")).unwrap().1,
            Value::Array(vec![Value::Int64(1), Value::Int64(2)])
        );
        assert!(json.to_connect("t", "h", Some(b"{nope")).is_err());

        let bytes = HeaderConverter::new(
            &plugins,
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            &Props::new(),
        )
        .unwrap();
        assert_eq!(
            bytes
                .from_connect("t", "h", None, &Value::Bytes(vec![0, 255]))
                .unwrap(),
            Some(vec![0, 255])
        );
        assert!(bytes
            .from_connect("t", "h", None, &Value::Int32(1))
            .is_err());
    }

    #[test]
    fn unknown_classes_are_refused_as_kafka_connect_does() {
        let plugins = plugins();
        for class in [
            "org.apache.kafka.connect.converters.ByteArrayConverter",
            "org.apache.kafka.connect.json.JsonConverter",
            SIMPLE_HEADER_CONVERTER,
            "org.apache.kafka.connect.storage.StringConverter",
            "SimpleHeaderConverter",
        ] {
            assert_eq!(plugins.check_header_converter(class), Ok(()), "{class}");
        }
        assert_eq!(
            plugins.check_header_converter("com.example.Nope"),
            Err("Class com.example.Nope could not be found.".into())
        );
        assert!(HeaderConverter::new(&plugins, "com.example.Nope", &Props::new()).is_err());
        let worker = |class: &str| {
            let props = crate::test_props(&[
                ("offset.storage.file.filename", "/tmp/offsets"),
                ("header.converter", class),
            ]);
            let config = WorkerConfig::new(props, true).expect("worker config");
            plugins.check_worker_config(&config)
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
