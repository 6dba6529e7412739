//! Configuration definitions of transforms and predicates, parsed and
//! validated exactly as Kafka's `ConfigDef` does.
//!
//! `ferry_api::ConfigDef` describes keys for the REST API; this module adds
//! the parts of Java's `ConfigDef` whose results users see and that the
//! transforms rely on:
//!
//! * `parse` (what `configure` runs) fails on the first bad key in
//!   definition order, and silently drops duplicate list entries of keys
//!   with a `ValidList` validator;
//! * `validate` (what `/config/validate` runs) collects every error, runs the
//!   validator even after a parse error or a missing value (on `null`, as
//!   Java does), and reports duplicates instead of dropping them;
//! * the validators (`ValidList`, `ValidString`, `NonEmptyString`,
//!   lambdas, ...) with Kafka's messages.

use ferry_api::config::{ConfigType, ConfigValue, Importance, ValidatedValue};
use ferry_api::{ConfigDef, Props};
use ferry_java::regex::JavaRegex;

use crate::error::{config_error, ConfigError};

/// A parsed configuration value, as Java holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JValue {
    Null,
    Boolean(bool),
    Int(i32),
    String(String),
    List(Vec<String>),
    /// A class name (already resolved to the full name).
    Class(String),
}

impl JValue {
    /// `String.valueOf(value)` in `ConfigException` messages.
    pub(crate) fn java_string(&self) -> String {
        match self {
            JValue::Null => "null".to_owned(),
            JValue::Boolean(b) => b.to_string(),
            JValue::Int(i) => i.to_string(),
            JValue::String(s) => s.clone(),
            JValue::List(l) => format!("[{}]", l.join(", ")),
            JValue::Class(c) => format!("class {c}"),
        }
    }

    fn to_config_value(&self) -> ConfigValue {
        match self {
            JValue::Null => ConfigValue::Null,
            JValue::Boolean(b) => ConfigValue::Boolean(*b),
            JValue::Int(i) => ConfigValue::Int(*i),
            JValue::String(s) => ConfigValue::String(s.clone()),
            JValue::List(l) => ConfigValue::List(l.clone()),
            JValue::Class(c) => ConfigValue::Class(c.clone()),
        }
    }
}

/// `new ConfigException(name, value, message)`.
pub(crate) fn invalid(name: &str, value: &JValue, message: &str) -> ConfigError {
    config_error(
        name,
        format!(
            "Invalid value {} for configuration {name}: {message}",
            value.java_string()
        ),
    )
}

/// A check run on a parsed value; the error is the complete message.
pub(crate) type Check = fn(&str, &JValue) -> Result<(), ConfigError>;

#[derive(Clone)]
pub(crate) enum Validator {
    /// `ConfigDef.ValidList.anyNonDuplicateValues(emptyAllowed, nullAllowed)`.
    ValidList {
        empty_allowed: bool,
        null_allowed: bool,
    },
    /// `ConfigDef.ValidString.in(...)`.
    ValidString(&'static [&'static str]),
    /// `ConfigDef.CaseInsensitiveValidString.in(...)`.
    CaseInsensitiveValidString(&'static [&'static str]),
    /// `ConfigDef.NonNullValidator`.
    NonNull,
    /// `ConfigDef.NonEmptyString`.
    NonEmptyString,
    /// The transforms' `NonEmptyListValidator`.
    NonEmptyList,
    /// The transforms' `RegexValidator`.
    Regex,
    /// `ConfigDef.CompositeValidator`.
    Composite(&'static [Validator]),
    /// A `LambdaValidator`.
    Lambda(Check),
}

impl Validator {
    pub(crate) fn ensure_valid(&self, name: &str, value: &JValue) -> Result<(), ConfigError> {
        match self {
            Validator::ValidList {
                empty_allowed,
                null_allowed,
            } => {
                let items = match value {
                    JValue::Null if *null_allowed => return Ok(()),
                    JValue::Null => {
                        return Err(config_error(
                            name,
                            format!("Configuration '{name}' values must not be null."),
                        ))
                    }
                    JValue::List(items) => items,
                    _ => return Ok(()),
                };
                if !empty_allowed && items.is_empty() {
                    return Err(config_error(
                        name,
                        format!(
                            "Configuration '{name}' must not be empty. Valid values include: any non-empty value"
                        ),
                    ));
                }
                let mut seen = std::collections::HashSet::with_capacity(items.len());
                if !items.iter().all(|i| seen.insert(i)) {
                    return Err(config_error(
                        name,
                        format!("Configuration '{name}' values must not be duplicated."),
                    ));
                }
                if items.iter().any(String::is_empty) {
                    return Err(config_error(
                        name,
                        format!("Configuration '{name}' values must not be empty."),
                    ));
                }
                Ok(())
            }
            Validator::ValidString(options) => match value {
                JValue::String(s) if options.contains(&s.as_str()) => Ok(()),
                _ => Err(invalid(
                    name,
                    value,
                    &format!("String must be one of: {}", options.join(", ")),
                )),
            },
            Validator::CaseInsensitiveValidString(options) => match value {
                JValue::String(s) if options.iter().any(|o| o.eq_ignore_ascii_case(s)) => Ok(()),
                _ => Err(invalid(
                    name,
                    value,
                    &format!(
                        "String must be one of (case insensitive): {}",
                        options
                            .iter()
                            .map(|o| o.to_ascii_uppercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            },
            Validator::NonNull => match value {
                JValue::Null => Err(invalid(name, value, "entry must be non null")),
                _ => Ok(()),
            },
            Validator::NonEmptyString => match value {
                JValue::String(s) if s.is_empty() => {
                    Err(invalid(name, value, "String must be non-empty"))
                }
                _ => Ok(()),
            },
            Validator::NonEmptyList => match value {
                JValue::List(l) if !l.is_empty() => Ok(()),
                _ => Err(invalid(name, value, "Empty list")),
            },
            Validator::Regex => {
                let result = match value {
                    JValue::String(s) => {
                        JavaRegex::compile(s).map(|_| ()).map_err(|e| e.to_string())
                    }
                    JValue::Null => Err(
                        "Cannot invoke \"String.isEmpty()\" because \"this.pattern\" is null"
                            .to_owned(),
                    ),
                    _ => Ok(()),
                };
                result.map_err(|e| invalid(name, value, &format!("Invalid regex: {e}")))
            }
            Validator::Composite(vs) => {
                for v in *vs {
                    v.ensure_valid(name, value)?;
                }
                Ok(())
            }
            Validator::Lambda(check) => check(name, value),
        }
    }
}

/// The default of a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Default {
    Required,
    Null,
    Str(&'static str),
    Bool(bool),
    Int(i32),
    EmptyList,
}

#[derive(Clone)]
pub(crate) struct KeyDef {
    pub name: &'static str,
    pub ty: ConfigType,
    pub default: Default,
    pub validator: Option<Validator>,
    pub importance: Importance,
    pub doc: &'static str,
}

impl KeyDef {
    fn default_value(&self) -> Option<JValue> {
        match self.default {
            Default::Required => None,
            Default::Null => Some(JValue::Null),
            Default::Str(s) => Some(JValue::String(s.to_owned())),
            Default::Bool(b) => Some(JValue::Boolean(b)),
            Default::Int(i) => Some(JValue::Int(i)),
            Default::EmptyList => Some(JValue::List(Vec::new())),
        }
    }

    pub(crate) fn has_default(&self) -> bool {
        self.default != Default::Required
    }
}

/// `ConfigDef.parseType` for the types transforms use. `resolve_class`
/// maps a class name or alias to the full name, or fails.
pub(crate) fn parse_type(
    name: &str,
    raw: &str,
    ty: ConfigType,
    resolve_class: &dyn Fn(&str) -> Option<String>,
) -> Result<JValue, ConfigError> {
    let trimmed = raw.trim_matches(|c: char| c <= ' ');
    let raw_value = JValue::String(raw.to_owned());
    Ok(match ty {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                JValue::Boolean(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                JValue::Boolean(false)
            } else {
                return Err(invalid(
                    name,
                    &raw_value,
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::Int => match ferry_java::number::parse_int(trimmed) {
            Some(v) => JValue::Int(v),
            None => return Err(invalid(name, &raw_value, "Not a number of type INT")),
        },
        ConfigType::List => {
            if trimmed.is_empty() {
                JValue::List(Vec::new())
            } else {
                // `COMMA_WITH_WHITESPACE.split(trimmed, -1)`.
                JValue::List(
                    trimmed
                        .split(',')
                        .map(|s| {
                            s.trim_matches([' ', '\t', '\n', '\r', '\x0B', '\x0C'])
                                .to_owned()
                        })
                        .collect(),
                )
            }
        }
        ConfigType::Class => match resolve_class(trimmed) {
            Some(c) => JValue::Class(c),
            None => {
                return Err(invalid(
                    name,
                    &raw_value,
                    &format!("Class {raw} could not be found."),
                ))
            }
        },
        // STRING (and the types transforms do not use) keep the text.
        _ => JValue::String(trimmed.to_owned()),
    })
}

fn no_class(_: &str) -> Option<String> {
    None
}

/// A transform's or predicate's configuration keys.
#[derive(Clone)]
pub(crate) struct Def {
    pub keys: Vec<KeyDef>,
}

/// The parsed configuration handed to `configure`.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    values: Vec<(&'static str, JValue)>,
}

impl Parsed {
    fn get(&self, name: &str) -> &JValue {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&JValue::Null, |(_, v)| v)
    }
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            JValue::String(s) => Some(s),
            _ => None,
        }
    }
    pub(crate) fn boolean(&self, name: &str) -> bool {
        matches!(self.get(name), JValue::Boolean(true))
    }
    pub(crate) fn int(&self, name: &str) -> Option<i32> {
        match self.get(name) {
            JValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub(crate) fn list(&self, name: &str) -> &[String] {
        match self.get(name) {
            JValue::List(l) => l,
            _ => &[],
        }
    }
}

impl Def {
    /// `new SimpleConfig(CONFIG_DEF, props)`: `ConfigDef.parse`.
    pub(crate) fn parse(&self, props: &Props) -> Result<Parsed, ConfigError> {
        let mut values = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let mut v = match props.get(k.name) {
                Some(raw) => parse_type(k.name, raw, k.ty, &no_class)?,
                None => match k.default_value() {
                    Some(d) => d,
                    None => {
                        return Err(config_error(
                            k.name,
                            format!(
                                "Missing required configuration \"{}\" which has no default value.",
                                k.name
                            ),
                        ))
                    }
                },
            };
            if let (Some(Validator::ValidList { .. }), JValue::List(items)) = (&k.validator, &mut v)
            {
                // `parseValue` removes duplicates (with a warning) before
                // validating, so they never fail `configure`.
                let mut seen = std::collections::HashSet::new();
                items.retain(|i| seen.insert(i.clone()));
            }
            if let Some(val) = &k.validator {
                val.ensure_valid(k.name, &v)?;
            }
            values.push((k.name, v));
        }
        Ok(Parsed { values })
    }

    /// The definition for `/connector-plugins/{p}/config`.
    pub(crate) fn to_config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        for k in &self.keys {
            let b = def.define(k.name, k.ty).importance(k.importance).doc(k.doc);
            match k.default {
                Default::Required => {}
                Default::Null => {
                    b.default_null();
                }
                Default::Str(s) => {
                    b.default_value(ConfigValue::String(s.to_owned()));
                }
                Default::Bool(v) => {
                    b.default_value(ConfigValue::Boolean(v));
                }
                Default::Int(v) => {
                    b.default_value(ConfigValue::Int(v));
                }
                Default::EmptyList => {
                    b.default_value(ConfigValue::List(Vec::new()));
                }
            }
        }
        def
    }
}

/// Kafka's `Importance` order: high first.
pub(crate) fn importance_rank(i: Importance) -> u8 {
    match i {
        Importance::High => 0,
        Importance::Medium => 1,
        Importance::Low => 2,
    }
}

/// One key of `ConfigDef.validateAll`, or with `parse` set, of
/// `ConfigDef.parse` (the first error only). Keys embedded under a
/// `transforms.<alias>.` prefix lose their `ValidList` identity in Java
/// (their validator is wrapped), so duplicates are an error here even when
/// parsing, unlike in a transform's own `configure`.
pub(crate) fn check_key(
    full_name: &str,
    validator_name: &str,
    k: &KeyDef,
    props: &Props,
    resolve_class: &dyn Fn(&str) -> Option<String>,
    parse: bool,
) -> ValidatedValue {
    let mut errors = Vec::new();
    let value = match props.get(full_name) {
        Some(raw) => match parse_type(full_name, raw, k.ty, resolve_class) {
            Ok(v) => v,
            Err(e) => {
                errors.push(e.message);
                JValue::Null
            }
        },
        None => match k.default_value() {
            Some(d) => d,
            None => {
                errors.push(format!(
                    "Missing required configuration \"{full_name}\" which has no default value."
                ));
                JValue::Null
            }
        },
    };
    // Parsing stops at the first error; validation runs the validator anyway.
    if !parse || errors.is_empty() {
        if let Some(v) = &k.validator {
            if let Err(e) = v.ensure_valid(validator_name, &value) {
                errors.push(e.message);
            }
        }
    }
    ValidatedValue {
        name: full_name.to_owned(),
        value: value.to_config_value(),
        errors,
        visible: true,
        recommended: Vec::new(),
    }
}

/// Shorthand for key definitions.
pub(crate) const fn key(
    name: &'static str,
    ty: ConfigType,
    default: Default,
    validator: Option<Validator>,
    importance: Importance,
    doc: &'static str,
) -> KeyDef {
    KeyDef {
        name,
        ty,
        default,
        validator,
        importance,
        doc,
    }
}

/// `replace.null.with.default`, shared by most transforms.
pub(crate) const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";

pub(crate) fn replace_null_with_default_key() -> KeyDef {
    key(
        REPLACE_NULL_WITH_DEFAULT,
        ConfigType::Boolean,
        Default::Bool(true),
        None,
        Importance::Medium,
        "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.",
    )
}
