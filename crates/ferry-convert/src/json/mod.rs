//! Kafka Connect's `org.apache.kafka.connect.json.JsonConverter`.
//!
//! With `schemas.enable=true` every message is the envelope
//! `{"schema":…,"payload":…}`; without, the bare payload. Output is
//! byte-for-byte what Kafka Connect 4.3 (Jackson 2.21 on Java 17) writes;
//! input is read with Jackson's leniencies and Kafka Connect's errors.

mod deserialize;
mod parse;
mod schema;
mod serialize;
pub(crate) mod write;

use ferry_api::config::ConfigValue;
use ferry_api::{
    ConfigDef, ConfigType, ConvertError, Converter, Importance, Props, Schema, SchemaType,
    Validator, Value, Width,
};

use self::parse::Node;
use self::schema::{read_schema, Lru, SchemaJsonCache};
use crate::ConverterRole;

/// `schemas.cache.size`'s default.
const DEFAULT_CACHE_SIZE: usize = 1000;

pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
pub const SCHEMA_CONTENT_CONFIG: &str = "schema.content";
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";

/// `decimal.format`: how Decimal values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled value's two's-complement bytes (the default).
    Base64,
    /// A JSON number in `BigDecimal.toString()` form.
    Numeric,
}

/// The settings that shape individual values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

/// The JSON converter. Cheap to share between threads; schema caches are
/// internally synchronized.
pub struct JsonConverter {
    schemas_enable: bool,
    settings: Settings,
    /// `schema.content`: a fixed schema for every message read.
    schema_content: Option<Schema>,
    schema_json: SchemaJsonCache,
    /// Schemas read from envelopes, keyed by their exact JSON bytes.
    schemas_read: Lru<Box<[u8]>, Schema>,
}

impl std::fmt::Debug for JsonConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonConverter")
            .field("schemas_enable", &self.schemas_enable)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for JsonConverter {
    /// The converter before `configure`: every setting at its default.
    fn default() -> Self {
        Self::with(true, Settings::default(), None, DEFAULT_CACHE_SIZE)
    }
}

impl JsonConverter {
    /// `JsonConverterConfig.configDef()`.
    pub fn config_def() -> ConfigDef {
        let mut def = crate::converter_config_def();
        def.define(SCHEMAS_ENABLE_CONFIG, ConfigType::Boolean)
            .default_value(ConfigValue::Boolean(true))
            .importance(Importance::High)
            .doc("Include schemas within each of the serialized values and keys.")
            .group("Schemas")
            .width(Width::Medium)
            .display_name("Enable Schemas");
        def.define(SCHEMAS_CACHE_SIZE_CONFIG, ConfigType::Int)
            .default_value(ConfigValue::Int(1000))
            .importance(Importance::High)
            .doc("The maximum number of schemas that can be cached in this converter instance.")
            .group("Schemas")
            .width(Width::Medium)
            .display_name("Schema Cache Size");
        def.define(SCHEMA_CONTENT_CONFIG, ConfigType::String)
            .default_null()
            .importance(Importance::High)
            .doc(
                "When set, this is used as the schema for all messages, and the schemas within each of the message will be ignored.\
                 Otherwise, the schema will be included in the content of each message. This configuration applies only 'schemas.enable' is true, and it exclusively affects the sink connector.",
            )
            .group("Schemas")
            .width(Width::Medium)
            .display_name("Schema Content");
        def.define(DECIMAL_FORMAT_CONFIG, ConfigType::String)
            .default_str("BASE64")
            // Java keeps the choices in a HashSet, so its messages list
            // them in hash order.
            .validator(Validator::OneOfIgnoreCase(vec!["NUMERIC", "BASE64"]))
            .importance(Importance::Low)
            .doc(
                "Controls which format this converter will serialize decimals in. \
                 This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
            )
            .group("Serialization")
            .width(Width::Medium)
            .display_name("Decimal Format");
        def.define(REPLACE_NULL_WITH_DEFAULT_CONFIG, ConfigType::Boolean)
            .default_value(ConfigValue::Boolean(true))
            .importance(Importance::Low)
            .doc(
                "Whether to replace fields that have a default value and that are null to the default value. \
                 When set to true, the default value is used, otherwise null is used.",
            )
            .group("Serialization")
            .width(Width::Medium)
            .display_name("Replace null with default");
        def
    }

    /// `configure(props)` for the given role; `props` are the converter's
    /// own settings (prefix already stripped).
    pub fn new(role: ConverterRole, props: &Props) -> Result<Self, ConvertError> {
        let parsed = crate::parse_config(&Self::config_def(), role, props)?;
        let decimal_format = match parsed.string(DECIMAL_FORMAT_CONFIG) {
            Some(s) if s.eq_ignore_ascii_case("NUMERIC") => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        let settings = Settings {
            decimal_format,
            replace_null_with_default: parsed
                .boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG)
                .unwrap_or(true),
        };
        // Java's LRU cache keeps nothing when its size is not positive.
        let cache_size = parsed
            .int(SCHEMAS_CACHE_SIZE_CONFIG)
            .map_or(DEFAULT_CACHE_SIZE, |n| usize::try_from(n).unwrap_or(0));
        let schema_content = match parsed.string(SCHEMA_CONTENT_CONFIG) {
            Some(text) if !text.is_empty() => {
                let node = parse::parse(text.as_bytes()).map_err(|e| {
                    ConvertError::Data(format!(
                        "Failed to parse schema in converter config due to serialization error: {e}"
                    ))
                })?;
                match node {
                    Some(n) => read_schema(&n, &settings)?,
                    None => None,
                }
            }
            _ => None,
        };
        Ok(Self::with(
            parsed.boolean(SCHEMAS_ENABLE_CONFIG).unwrap_or(true),
            settings,
            schema_content,
            cache_size,
        ))
    }

    fn with(
        schemas_enable: bool,
        settings: Settings,
        schema_content: Option<Schema>,
        cache_size: usize,
    ) -> Self {
        JsonConverter {
            schemas_enable,
            settings,
            schema_content,
            schema_json: SchemaJsonCache::new(cache_size),
            schemas_read: Lru::new(cache_size),
        }
    }

    pub fn schemas_enabled(&self) -> bool {
        self.schemas_enable
    }

    /// `asJsonSchema(schema)` as bytes (with this converter's settings,
    /// which shape default values).
    pub fn schema_to_json(&self, schema: &Schema, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        self.schema_json.write(out, schema, &self.settings)
    }

    /// `asConnectSchema(json)`.
    pub fn schema_from_json(&self, json: &[u8]) -> Result<Option<Schema>, ConvertError> {
        match parse::parse(json).map_err(|e| ConvertError::Data(e.to_string()))? {
            Some(node) => read_schema(&node, &self.settings),
            None => Err(ConvertError::Data(
                "Schema must contain 'type' field".into(),
            )),
        }
    }

    /// Reads an envelope, taking its schema from the cache when the exact
    /// bytes were seen before.
    fn read_envelope(&self, bytes: &[u8]) -> Result<(Option<Schema>, Value), ConvertError> {
        let mut cached: Option<Schema> = None;
        let mut known = |raw: &[u8]| match self.schemas_read.get(raw) {
            Some(s) => {
                cached = Some(s);
                true
            }
            None => false,
        };
        let doc = parse::parse_document(bytes, Some(&mut known)).map_err(deserialization_error)?;
        let (schema_node, payload) = match doc.root {
            Some(Node::Object(members)) if members.len() == 2 => {
                let mut schema_node = None;
                let mut payload = None;
                for (k, v) in members {
                    match k.as_str() {
                        "schema" => schema_node = Some(v),
                        "payload" => payload = Some(v),
                        _ => {}
                    }
                }
                match (schema_node, payload) {
                    (Some(s), Some(p)) => (s, p),
                    _ => return Err(not_an_envelope()),
                }
            }
            _ => return Err(not_an_envelope()),
        };
        let schema = if doc.schema_known {
            cached
        } else {
            let schema = read_schema(&schema_node, &self.settings)?;
            if let (Some(s), Some(span)) = (&schema, doc.schema_span) {
                self.schemas_read.put(bytes[span].into(), s.clone());
            }
            schema
        };
        let value = deserialize::to_value(schema.as_ref(), Some(payload), &self.settings)?;
        Ok((schema, value))
    }

    fn write_message(
        &self,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), ConvertError> {
        if !self.schemas_enable {
            return serialize::write_value(out, schema, value, &self.settings);
        }
        out.extend_from_slice(b"{\"schema\":");
        match schema {
            Some(s) => self.schema_json.write(out, s, &self.settings)?,
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"payload\":");
        serialize::write_value(out, schema, value, &self.settings)?;
        out.push(b'}');
        Ok(())
    }
}

impl Converter for JsonConverter {
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
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        if let Err(e) = self.write_message(schema, value, out) {
            out.clear();
            return Err(e);
        }
        Ok(true)
    }

    fn to_connect(
        &self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        let Some(bytes) = data else {
            return Ok((None, Value::Null));
        };
        if self.schemas_enable && self.schema_content.is_none() {
            return self.read_envelope(bytes);
        }
        let root = parse::parse(bytes).map_err(deserialization_error)?;
        let schema = if self.schemas_enable {
            self.schema_content.clone()
        } else {
            None
        };
        // With `schema.content` the whole message is the payload.
        let value = deserialize::to_value(schema.as_ref(), root, &self.settings)?;
        Ok((schema, value))
    }
}

fn deserialization_error(e: parse::ParseError) -> ConvertError {
    ConvertError::Data(format!(
        "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
    ))
}

fn not_an_envelope() -> ConvertError {
    ConvertError::Data(
        "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. \
         If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
            .into(),
    )
}

/// A stable identity for a schema, when it has one reachable through the
/// public API: the address of data owned by its shared (`Arc`) interior.
/// Clones of one schema share it; distinct live schemas never do. Used to
/// skip deep comparisons and to key the schema JSON cache.
pub(crate) fn schema_identity(schema: &Schema) -> Option<usize> {
    match schema.schema_type() {
        SchemaType::Struct => {
            let fields = schema.fields();
            (!fields.is_empty()).then_some(fields.as_ptr() as usize)
        }
        SchemaType::Array | SchemaType::Map => {
            schema.value_schema().map(|v| v as *const Schema as usize)
        }
        _ => None,
    }
}

/// `a.equals(b)`, short-cut when both are the same shared schema.
pub(crate) fn same_schema(a: &Schema, b: &Schema) -> bool {
    match (schema_identity(a), schema_identity(b)) {
        (Some(x), Some(y)) if x == y => true,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{SchemaBuilder, Struct};

    fn converter(props: &[(&str, &str)]) -> JsonConverter {
        let props: Props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        JsonConverter::new(ConverterRole::Value, &props).unwrap()
    }

    fn row() -> (Schema, Value) {
        let schema = SchemaBuilder::struct_()
            .name("com.example.Row")
            .field("id", Schema::int32())
            .field("tags", SchemaBuilder::array(Schema::string()).build())
            .build();
        let s = Struct::new(schema.clone())
            .unwrap()
            .put("id", 1)
            .unwrap()
            .put("tags", Value::Array(vec!["a".into()]))
            .unwrap();
        (schema, Value::Struct(s))
    }

    #[test]
    fn cached_schemas_give_identical_bytes_and_values() {
        let c = converter(&[]);
        let (schema, value) = row();
        let mut first = Vec::new();
        let mut second = Vec::new();
        assert!(c
            .from_connect("t", Some(&schema), &value, &mut first)
            .unwrap());
        // A clone shares the schema's identity, so this one is a cache hit.
        assert!(c
            .from_connect("t", Some(&schema.clone()), &value, &mut second)
            .unwrap());
        assert_eq!(first, second);

        let a = c.to_connect("t", Some(&first)).unwrap();
        let b = c.to_connect("t", Some(&first)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, (Some(schema), value));
    }

    #[test]
    fn equal_but_distinct_schemas_share_output() {
        let c = converter(&[]);
        let (s1, v1) = row();
        let (s2, v2) = row();
        let mut a = Vec::new();
        let mut b = Vec::new();
        c.from_connect("t", Some(&s1), &v1, &mut a).unwrap();
        c.from_connect("t", Some(&s2), &v2, &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_struct_must_carry_the_given_schema() {
        let c = converter(&[]);
        let (_, value) = row();
        let other = SchemaBuilder::struct_()
            .field("id", Schema::int32())
            .build();
        let mut out = vec![1];
        let e = c
            .from_connect("t", Some(&other), &value, &mut out)
            .unwrap_err();
        assert_eq!(e, ConvertError::Data("Mismatching schema.".into()));
        assert!(
            out.is_empty(),
            "a failed conversion leaves no partial output"
        );
    }

    #[test]
    fn null_handling_at_the_top_level() {
        let c = converter(&[("schemas.enable", "false")]);
        let mut out = Vec::new();
        // No schema and no value: a tombstone.
        assert!(!c.from_connect("t", None, &Value::Null, &mut out).unwrap());
        // An optional schema with a null value is a JSON null, not a tombstone.
        assert!(c
            .from_connect(
                "t",
                Some(&Schema::optional_string()),
                &Value::Null,
                &mut out
            )
            .unwrap());
        assert_eq!(out, b"null");
        assert_eq!(c.to_connect("t", None).unwrap(), (None, Value::Null));
    }

    #[test]
    fn envelope_errors_suggest_plain_json() {
        let c = converter(&[]);
        let e = c.to_connect("t", Some(br#"{"a":1}"#)).unwrap_err();
        assert!(e.to_string().contains("set schemas.enable=false"), "{e}");
        let e = c.to_connect("t", Some(b"{")).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "Converting byte[] to Kafka Connect data failed due to serialization error: "
            ),
            "{e}"
        );
    }

    #[test]
    fn settings_are_parsed_like_kafka_connect() {
        let c = converter(&[("schemas.enable", " FALSE "), ("decimal.format", "numeric")]);
        assert!(!c.schemas_enabled());
        assert_eq!(c.settings.decimal_format, DecimalFormat::Numeric);
        let props: Props = [("schemas.cache.size".to_owned(), "x".to_owned())].into();
        let e = JsonConverter::new(ConverterRole::Key, &props).unwrap_err();
        assert_eq!(
            e,
            ConvertError::Config(
                "Invalid value x for configuration schemas.cache.size: Not a number of type INT"
                    .into()
            )
        );
    }
}
