//! The converters as plugins: what the worker registers for
//! `key.converter`, `value.converter` and `header.converter`, and lists at
//! `GET /connector-plugins?connectorsOnly=false`.

use ferry_api::Plugin;

use crate::{
    simple_header, ByteArrayConverter, JsonConverter, SimpleHeaderConverter, StringConverter,
};

/// The Kafka Connect release whose converters these reproduce; reported as
/// the plugins' version.
pub const KAFKA_CONNECT_VERSION: &str = "4.3.1";

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const BYTE_ARRAY: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// Every converter of this crate: `JsonConverter`, `StringConverter` and
/// `ByteArrayConverter` as converters and as header converters (each class
/// implements both interfaces, and Kafka Connect lists it under each), and
/// `SimpleHeaderConverter` as a header converter.
pub fn plugins() -> Vec<Plugin> {
    let v = KAFKA_CONNECT_VERSION;
    vec![
        Plugin::converter(JSON, v, JsonConverter::default),
        Plugin::converter(STRING, v, StringConverter::default),
        Plugin::converter(BYTE_ARRAY, v, ByteArrayConverter::default),
        Plugin::header_converter(JSON, v, JsonConverter::default),
        Plugin::header_converter(STRING, v, StringConverter::default),
        Plugin::header_converter(BYTE_ARRAY, v, ByteArrayConverter::default),
        Plugin::header_converter(simple_header::CLASS, v, || SimpleHeaderConverter),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Converter, PluginFactory, PluginType, Props, Schema, Value};

    fn converter(class: &str) -> Box<dyn Converter> {
        let plugin = plugins()
            .into_iter()
            .find(|p| p.class() == class && p.plugin_type() == PluginType::Converter)
            .expect("a converter");
        match plugin.factory() {
            PluginFactory::Converter(new) => new(),
            _ => panic!("{class} is not built as a converter"),
        }
    }

    #[test]
    fn configure_applies_the_settings() {
        let mut c = converter(JSON);
        let props: Props = [("schemas.enable".to_owned(), "false".to_owned())].into();
        c.configure(&props, false).unwrap();
        let mut out = Vec::new();
        c.from_connect("t", Some(&Schema::int32()), &Value::Int32(3), &mut out)
            .unwrap();
        assert_eq!(out, b"3");
        let props: Props = [("decimal.format".to_owned(), "octal".to_owned())].into();
        let e = converter(JSON).configure(&props, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid converter configuration: Invalid value octal for configuration decimal.format: \
             String must be one of (case insensitive): NUMERIC, BASE64"
        );
    }

    #[test]
    fn each_class_is_a_converter_and_a_header_converter() {
        let plugins = plugins();
        assert_eq!(plugins.len(), 7);
        assert!(plugins.iter().all(|p| p.version() == "4.3.1"));
        let of = |t: PluginType| plugins.iter().filter(move |p| p.plugin_type() == t);
        assert_eq!(of(PluginType::Converter).count(), 3);
        assert_eq!(of(PluginType::HeaderConverter).count(), 4);
        let def = |class: &str| {
            of(PluginType::Converter)
                .find(|p| p.class() == class)
                .map(|p| p.config_def().clone())
                .expect("a converter")
        };
        assert!(def(JSON).key("schemas.enable").is_some());
        assert!(def(STRING).key("converter.encoding").is_some());
        assert!(def(BYTE_ARRAY).key("converter.type").is_some());
        // Kafka Connect's SimpleHeaderConverter has no settings.
        assert!(of(PluginType::HeaderConverter)
            .find(|p| p.class() == simple_header::CLASS)
            .is_some_and(|p| p.config_def().keys().is_empty()));
    }
}
