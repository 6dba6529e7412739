//! A plugin's `ConfigDef` and its validation results as JSON, the form
//! they take in the manifest and in `validate` (neither is on a hot path,
//! and JSON is what a plugin in C writes most easily). The shapes are
//! documented in docs/design.md.

use ferry_api::config::{
    parse_type, ConfigDef, ConfigKey, ConfigType, ConfigValue, DefaultValue, Importance,
    ValidatedValue, Validator, Width,
};
use serde_json::{json, Map, Value as J};

/// Why plugin-supplied JSON could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// A value as the text a user would write: lists joined with commas,
/// passwords in clear (a default is declared by the plugin, not a secret
/// of the user's), `None` for null.
fn value_text(v: &ConfigValue) -> Option<String> {
    match v {
        ConfigValue::Password(p) => Some(p.clone()),
        other => other.to_config_string(),
    }
}

fn validator_json(v: &Validator) -> J {
    match v {
        Validator::Range { min, max } => json!({"range": {"min": min, "max": max}}),
        Validator::OneOf(options) => json!({ "one_of": options }),
        Validator::OneOfIgnoreCase(options) => json!({ "one_of_ignore_case": options }),
        Validator::NonEmptyString => json!("non_empty_string"),
        Validator::NonNull => json!("non_null"),
        // A function does not cross; the plugin still applies it in its own
        // validation.
        Validator::Custom(_) => J::Null,
    }
}

/// The JSON of `def`.
pub fn config_def_to_json(def: &ConfigDef) -> String {
    let keys: Vec<J> = def
        .keys()
        .iter()
        .map(|k| {
            let mut o = Map::new();
            o.insert("name".into(), json!(k.name));
            o.insert("type".into(), json!(k.config_type.name()));
            match &k.default {
                DefaultValue::Required => {
                    o.insert("required".into(), json!(true));
                }
                DefaultValue::Value(v) => {
                    o.insert("default".into(), json!(value_text(v)));
                }
            }
            o.insert("importance".into(), json!(k.importance.name()));
            o.insert("documentation".into(), json!(k.documentation));
            o.insert("group".into(), json!(k.group));
            o.insert("order_in_group".into(), json!(k.order_in_group));
            o.insert("width".into(), json!(k.width.name()));
            o.insert("display_name".into(), json!(k.display_name));
            o.insert("dependents".into(), json!(k.dependents));
            o.insert(
                "validator".into(),
                k.validator.as_ref().map_or(J::Null, validator_json),
            );
            J::Object(o)
        })
        .collect();
    J::Array(keys).to_string()
}

fn config_type(name: &str) -> Option<ConfigType> {
    Some(match name {
        "BOOLEAN" => ConfigType::Boolean,
        "STRING" => ConfigType::String,
        "INT" => ConfigType::Int,
        "SHORT" => ConfigType::Short,
        "LONG" => ConfigType::Long,
        "DOUBLE" => ConfigType::Double,
        "LIST" => ConfigType::List,
        "CLASS" => ConfigType::Class,
        "PASSWORD" => ConfigType::Password,
        _ => return None,
    })
}

/// Option lists live as long as the worker (validators hold `&'static
/// str`); a library's definitions are read once, when it is loaded.
fn leak_strings(v: &J) -> Vec<&'static str> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(J::as_str)
                .map(|s| &*Box::leak(s.to_owned().into_boxed_str()))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_validator(v: &J) -> Option<Validator> {
    match v {
        J::String(s) if s == "non_empty_string" => Some(Validator::NonEmptyString),
        J::String(s) if s == "non_null" => Some(Validator::NonNull),
        J::Object(o) => {
            if let Some(r) = o.get("range") {
                Some(Validator::Range {
                    min: r.get("min").and_then(J::as_f64),
                    max: r.get("max").and_then(J::as_f64),
                })
            } else if let Some(options) = o.get("one_of") {
                Some(Validator::OneOf(leak_strings(options)))
            } else {
                o.get("one_of_ignore_case")
                    .map(|options| Validator::OneOfIgnoreCase(leak_strings(options)))
            }
        }
        _ => None,
    }
}

/// Reads a `ConfigDef` from the JSON of [`config_def_to_json`] (or a C
/// plugin's hand-written equivalent: only `name` and `type` are required).
pub fn config_def_from_json(text: &str) -> Result<ConfigDef, JsonError> {
    let parsed: J = serde_json::from_str(text)
        .map_err(|e| JsonError(format!("the config definition is not JSON: {e}")))?;
    let keys = parsed
        .as_array()
        .ok_or_else(|| JsonError("the config definition is not a JSON array".into()))?;
    let mut def = ConfigDef::new();
    for k in keys {
        let name = k
            .get("name")
            .and_then(J::as_str)
            .ok_or_else(|| JsonError(format!("a config key without a name: {k}")))?;
        let type_name = k.get("type").and_then(J::as_str).unwrap_or_default();
        let t = config_type(type_name).ok_or_else(|| {
            JsonError(format!("config key {name} has unknown type {type_name:?}"))
        })?;
        let required = k.get("required").and_then(J::as_bool).unwrap_or(false);
        let default =
            if required || k.get("default").is_none() {
                DefaultValue::Required
            } else {
                match k.get("default").and_then(J::as_str) {
                    None => DefaultValue::Value(ConfigValue::Null),
                    Some(raw) => DefaultValue::Value(parse_type(name, raw, t).map_err(|e| {
                        JsonError(format!("config key {name} has a bad default: {e}"))
                    })?),
                }
            };
        let text = |field: &str| k.get(field).and_then(J::as_str).map(str::to_owned);
        def.add_key(ConfigKey {
            name: name.to_owned(),
            config_type: t,
            default,
            validator: k.get("validator").and_then(parse_validator),
            importance: match text("importance").as_deref() {
                Some("HIGH") => Importance::High,
                Some("LOW") => Importance::Low,
                _ => Importance::Medium,
            },
            documentation: text("documentation").unwrap_or_default(),
            group: text("group"),
            order_in_group: k
                .get("order_in_group")
                .and_then(J::as_i64)
                .and_then(|o| i32::try_from(o).ok())
                .unwrap_or(-1),
            width: match text("width").as_deref() {
                Some("SHORT") => Width::Short,
                Some("MEDIUM") => Width::Medium,
                Some("LONG") => Width::Long,
                _ => Width::None,
            },
            display_name: text("display_name").unwrap_or_else(|| name.to_owned()),
            dependents: k
                .get("dependents")
                .and_then(J::as_array)
                .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        });
    }
    Ok(def)
}

/// The JSON of validation results.
pub fn validated_to_json(values: &[ValidatedValue]) -> String {
    let out: Vec<J> = values
        .iter()
        .map(|v| {
            json!({
                "name": v.name,
                "value": v.value.to_config_string(),
                "errors": v.errors,
                "visible": v.visible,
                "recommended": v.recommended,
            })
        })
        .collect();
    J::Array(out).to_string()
}

/// Reads validation results; values are typed by `def` where it defines
/// the key.
pub fn validated_from_json(text: &str, def: &ConfigDef) -> Result<Vec<ValidatedValue>, JsonError> {
    let parsed: J = serde_json::from_str(text)
        .map_err(|e| JsonError(format!("validation results are not JSON: {e}")))?;
    let items = parsed
        .as_array()
        .ok_or_else(|| JsonError("validation results are not a JSON array".into()))?;
    let strings = |v: Option<&J>| -> Vec<String> {
        v.and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    items
        .iter()
        .map(|item| {
            let name = item
                .get("name")
                .and_then(J::as_str)
                .ok_or_else(|| JsonError(format!("a validation result without a name: {item}")))?;
            let value = match item.get("value").and_then(J::as_str) {
                None => ConfigValue::Null,
                Some(raw) => match def.key(name) {
                    Some(k) => parse_type(name, raw, k.config_type)
                        .unwrap_or_else(|_| ConfigValue::String(raw.to_owned())),
                    None => ConfigValue::String(raw.to_owned()),
                },
            };
            Ok(ValidatedValue {
                name: name.to_owned(),
                value,
                errors: strings(item.get("errors")),
                visible: item.get("visible").and_then(J::as_bool).unwrap_or(true),
                recommended: strings(item.get("recommended")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::Props;

    #[test]
    fn definitions_survive_the_trip() {
        let mut def = ConfigDef::new();
        def.define("file", ConfigType::String)
            .importance(Importance::High)
            .doc("The file")
            .group("Input");
        def.define("batch.size", ConfigType::Int)
            .default_str("2000")
            .validator(Validator::at_least(1.0));
        def.define("mode", ConfigType::String)
            .default_str("a")
            .validator(Validator::OneOf(vec!["a", "b"]));
        def.define("topics", ConfigType::List).default_str("x, y");
        def.define("secret", ConfigType::Password).default_null();
        let back = config_def_from_json(&config_def_to_json(&def)).expect("parses");
        let infos = |d: &ConfigDef| d.keys().iter().map(ConfigKey::info).collect::<Vec<_>>();
        assert_eq!(
            serde_json::to_value(infos(&back)).ok(),
            serde_json::to_value(infos(&def)).ok()
        );
        let props = Props::from([
            ("batch.size".to_string(), "0".to_string()),
            ("mode".to_string(), "c".to_string()),
        ]);
        assert_eq!(back.validate(&props), def.validate(&props));
        let results = def.validate(&props);
        assert_eq!(
            validated_from_json(&validated_to_json(&results), &def),
            Ok(results)
        );
    }

    #[test]
    fn a_hand_written_definition_needs_only_name_and_type() {
        let def = config_def_from_json(r#"[{"name":"count","type":"LONG","default":"5"}]"#)
            .expect("parses");
        assert_eq!(
            def.key("count").map(|k| k.default.clone()),
            Some(DefaultValue::Value(ConfigValue::Long(5)))
        );
        assert!(config_def_from_json(r#"[{"name":"x","type":"NOPE"}]"#).is_err());
    }
}
