//! Converter classes by Kafka Connect name: the factory the runtime uses
//! for `key.converter`, `value.converter` and `header.converter`, and the
//! entries `GET /connector-plugins?connectorsOnly=false` lists.

use ferry_api::{ConfigDef, Props};

use crate::{
    ByteArrayConverter, ConvertError, Converter, ConverterRole, JsonConverter, StringConverter,
};

/// The Kafka Connect release whose converters these reproduce; reported as
/// the plugins' version.
pub const KAFKA_CONNECT_VERSION: &str = "4.3.1";

const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
const BYTE_ARRAY: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

/// One row of the REST plugin listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConverterPlugin {
    /// The Kafka Connect class name.
    pub class: &'static str,
    /// `converter` or `header_converter`: each of these classes implements
    /// both interfaces, and Kafka Connect lists it once under each.
    pub type_name: &'static str,
    pub version: &'static str,
}

const PLUGINS: [ConverterPlugin; 6] = [
    plugin(BYTE_ARRAY, "converter"),
    plugin(JSON, "converter"),
    plugin(STRING, "converter"),
    plugin(BYTE_ARRAY, "header_converter"),
    plugin(JSON, "header_converter"),
    plugin(STRING, "header_converter"),
];

const fn plugin(class: &'static str, type_name: &'static str) -> ConverterPlugin {
    ConverterPlugin {
        class,
        type_name,
        version: KAFKA_CONNECT_VERSION,
    }
}

/// The built-in converters, first as `converter`, then as
/// `header_converter` (filter on `type_name` for one kind).
pub fn converter_plugins() -> &'static [ConverterPlugin] {
    &PLUGINS
}

/// The canonical class for a name: the class name itself, the simple class
/// name, or the simple name without `Converter` (Kafka Connect's aliases).
fn canonical(name: &str) -> Option<&'static str> {
    let name = name.trim();
    [JSON, STRING, BYTE_ARRAY].into_iter().find(|class| {
        let simple = class.rsplit('.').next().unwrap_or(class);
        name == *class || name == simple || simple.strip_suffix("Converter") == Some(name)
    })
}

/// Creates and configures a converter. `props` are its own settings, with
/// the `key.converter.` / `value.converter.` / `header.converter.` prefix
/// already stripped.
pub fn new_converter(
    class: &str,
    role: ConverterRole,
    props: &Props,
) -> Result<Box<dyn Converter>, ConvertError> {
    Ok(match canonical(class) {
        Some(JSON) => Box::new(JsonConverter::new(role, props)?),
        Some(STRING) => Box::new(StringConverter::new(role, props)?),
        Some(BYTE_ARRAY) => Box::new(ByteArrayConverter::new(role, props)?),
        _ => return Err(ConvertError::UnknownClass(class.to_owned())),
    })
}

/// The `ConfigDef` a converter class validates its settings with
/// (`GET /connector-plugins/{class}/config`).
pub fn converter_config_def_for(class: &str) -> Option<ConfigDef> {
    Some(match canonical(class)? {
        JSON => JsonConverter::config_def(),
        STRING => StringConverter::config_def(),
        _ => ByteArrayConverter::config_def(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Schema, Value};

    #[test]
    fn accepts_class_names_and_aliases() {
        for name in [
            JSON,
            "JsonConverter",
            "Json",
            STRING,
            "StringConverter",
            "String",
            BYTE_ARRAY,
            "ByteArray",
        ] {
            assert!(
                new_converter(name, ConverterRole::Value, &Props::new()).is_ok(),
                "{name}"
            );
        }
        let e = new_converter("com.example.Nope", ConverterRole::Key, &Props::new())
            .err()
            .unwrap();
        assert_eq!(e, ConvertError::UnknownClass("com.example.Nope".into()));
    }

    #[test]
    fn passes_settings_through() {
        let props: Props = [("schemas.enable".to_owned(), "false".to_owned())].into();
        let c = new_converter(JSON, ConverterRole::Value, &props).unwrap();
        let mut out = Vec::new();
        c.from_connect("t", Some(&Schema::int32()), &Value::Int32(3), &mut out)
            .unwrap();
        assert_eq!(out, b"3");
        let props: Props = [("decimal.format".to_owned(), "octal".to_owned())].into();
        let e = new_converter(JSON, ConverterRole::Value, &props)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "Invalid converter configuration: Invalid value octal for configuration decimal.format: \
             String must be one of (case insensitive): NUMERIC, BASE64"
        );
    }

    #[test]
    fn lists_each_class_as_converter_and_header_converter() {
        let plugins = converter_plugins();
        assert_eq!(plugins.len(), 6);
        assert!(plugins.iter().all(|p| p.version == "4.3.1"));
        assert_eq!(
            plugins
                .iter()
                .filter(|p| p.type_name == "converter")
                .count(),
            3
        );
        assert!(converter_config_def_for("JsonConverter")
            .unwrap()
            .key("schemas.enable")
            .is_some());
        assert!(converter_config_def_for("StringConverter")
            .unwrap()
            .key("converter.encoding")
            .is_some());
        assert!(converter_config_def_for("x").is_none());
    }
}
