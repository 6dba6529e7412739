//! `ConfigDef`: typed configuration keys with defaults, validators and docs,
//! parsed and validated the way Kafka Connect's `ConfigDef` does, producing
//! the `/connector-plugins/{p}/config/validate` shapes.
//!
//! A connector declares each of its keys once: a [`Key`] constant carries the
//! name and the Rust type, and [`ConfigDef::define_key`] adds the default,
//! validator and documentation. The parsed configuration is then read with
//! [`ParsedConfig::get`], which returns the user's value or the declared
//! default, typed:
//!
//! ```
//! use ferry_api::config::{ConfigDef, Importance, Key, Validator};
//! use ferry_api::Props;
//!
//! const TOPIC: Key<String> = Key::new("topic");
//! const BATCH_SIZE: Key<i32> = Key::new("batch.size");
//! const FILE: Key<Option<String>> = Key::new("file");
//!
//! fn config_def() -> ConfigDef {
//!     let mut d = ConfigDef::new();
//!     d.define_key(TOPIC)
//!         .validator(Validator::NonEmptyString)
//!         .importance(Importance::High)
//!         .doc("The topic to publish data to");
//!     d.define_key(BATCH_SIZE)
//!         .default(2000)
//!         .importance(Importance::Low)
//!         .doc("Most records per poll");
//!     d.define_key(FILE).doc("Source file; unset reads standard input");
//!     d
//! }
//!
//! let props: Props = [("topic", "lines"), ("other.key", "ignored")]
//!     .into_iter()
//!     .map(|(k, v)| (k.to_owned(), v.to_owned()))
//!     .collect();
//! let cfg = config_def().parse(&props).unwrap();
//! assert_eq!(cfg.get(TOPIC), "lines");
//! assert_eq!(cfg.get(BATCH_SIZE), 2000); // the declared default
//! assert_eq!(cfg.get(FILE), None);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

/// The type of a configuration key (Kafka Connect's `ConfigDef.Type`):
/// how its string value is parsed. With a [`Key`] constant the type follows
/// from the Rust type the key is read as (see [`KeyType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false`, in any case.
    Boolean,
    /// Text, trimmed.
    String,
    /// A 32-bit integer.
    Int,
    /// A 16-bit integer.
    Short,
    /// A 64-bit integer.
    Long,
    /// A 64-bit floating point number.
    Double,
    /// A comma-separated list; whitespace around the commas is dropped.
    List,
    /// A class name (of a plugin), as text.
    Class,
    /// Text shown as `[hidden]` wherever the configuration is shown (REST
    /// answers, logs, failure traces).
    Password,
}

impl ConfigType {
    /// The upper-case name the REST API uses, e.g. `"INT"`.
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How important a key is to set (Kafka Connect's `ConfigDef.Importance`);
/// informational, listed by `/connector-plugins/{plugin}/config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// Most users need to look at it.
    High,
    /// The default for a new key.
    Medium,
    /// A tuning knob.
    Low,
}

impl Importance {
    /// The upper-case name the REST API uses, e.g. `"HIGH"`.
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// How wide a UI should show a key's value (Kafka Connect's
/// `ConfigDef.Width`); informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// No preference; the default.
    None,
    /// A few characters.
    Short,
    /// Tens of characters.
    Medium,
    /// A long value, e.g. a list or a query.
    Long,
}

impl Width {
    /// The upper-case name the REST API uses, e.g. `"NONE"`.
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// A parsed configuration value, untyped: one variant per [`ConfigType`],
/// plus `Null` for a key without value. Connectors read values typed,
/// through [`ParsedConfig::get`], rather than through this.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// No value: an optional key the user did not set.
    Null,
    /// A [`ConfigType::Boolean`] value.
    Boolean(bool),
    /// A [`ConfigType::Int`] value.
    Int(i32),
    /// A [`ConfigType::Short`] value.
    Short(i16),
    /// A [`ConfigType::Long`] value.
    Long(i64),
    /// A [`ConfigType::Double`] value.
    Double(f64),
    /// A [`ConfigType::String`] value.
    String(String),
    /// A [`ConfigType::List`] value.
    List(Vec<String>),
    /// A [`ConfigType::Class`] value.
    Class(String),
    /// A [`ConfigType::Password`] value, in clear; see [`Password`].
    Password(String),
}

impl ConfigValue {
    /// Kafka Connect's `ConfigDef.convertToString`: lists joined with commas,
    /// passwords hidden.
    pub fn to_config_string(&self) -> Option<String> {
        Some(match self {
            ConfigValue::Null => return None,
            ConfigValue::Boolean(b) => b.to_string(),
            ConfigValue::Int(v) => v.to_string(),
            ConfigValue::Short(v) => v.to_string(),
            ConfigValue::Long(v) => v.to_string(),
            ConfigValue::Double(v) => java_double_string(*v),
            ConfigValue::String(s) | ConfigValue::Class(s) => s.clone(),
            ConfigValue::List(l) => l.join(","),
            ConfigValue::Password(_) => "[hidden]".to_owned(),
        })
    }
}

/// `Double.toString` for the values configs use.
fn java_double_string(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// A validation failure: Kafka Connect's `ConfigException` message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The key at fault.
    pub key: String,
    /// Kafka Connect's message, naming the key, e.g. `Missing required
    /// configuration "topic" which has no default value.`
    pub message: String,
}

impl ConfigError {
    /// `new ConfigException(name, value, reason)`.
    pub fn invalid(key: &str, value: impl fmt::Display, reason: &str) -> Self {
        ConfigError {
            key: key.to_owned(),
            message: format!("Invalid value {value} for configuration {key}: {reason}"),
        }
    }
    /// A required key without value: `Missing required configuration …`.
    pub fn missing(key: &str) -> Self {
        ConfigError {
            key: key.to_owned(),
            message: format!(
                "Missing required configuration \"{key}\" which has no default value."
            ),
        }
    }
}

type CustomCheck = fn(&str, &ConfigValue) -> Result<(), String>;

/// Checks on a key's value (Kafka Connect's `ConfigDef.Validator`s), with
/// Kafka Connect's messages. They apply to the user's value and to the
/// default alike, when the configuration is validated and when it is
/// parsed.
#[derive(Clone)]
pub enum Validator {
    /// `ConfigDef.Range`: inclusive bounds on a number (see
    /// [`at_least`](Self::at_least), [`between`](Self::between)).
    Range {
        /// The smallest value allowed, if any.
        min: Option<f64>,
        /// The largest value allowed, if any.
        max: Option<f64>,
    },
    /// `ConfigDef.ValidString.in(...)`.
    OneOf(Vec<&'static str>),
    /// `ConfigDef.CaseInsensitiveValidString.in(...)`.
    OneOfIgnoreCase(Vec<&'static str>),
    /// `ConfigDef.NonEmptyString`.
    NonEmptyString,
    /// `ConfigDef.NonNullValidator`.
    NonNull,
    /// Any other check: a function of the key's name and its parsed value,
    /// whose error text is the reason in `Invalid value … for
    /// configuration …: <reason>`.
    Custom(CustomCheck),
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::OneOfIgnoreCase(v) => write!(f, "OneOfIgnoreCase({v:?})"),
            Validator::NonEmptyString => f.write_str("NonEmptyString"),
            Validator::NonNull => f.write_str("NonNull"),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Validator {
    /// `ConfigDef.Range.atLeast(min)`.
    pub fn at_least(min: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: None,
        }
    }
    /// `ConfigDef.Range.between(min, max)`, both inclusive.
    pub fn between(min: f64, max: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: Some(max),
        }
    }

    /// `ensureValid(name, value)`: checks the parsed `value` of `key`.
    pub fn ensure_valid(&self, key: &str, value: &ConfigValue) -> Result<(), ConfigError> {
        let shown = value.to_config_string().unwrap_or_else(|| "null".into());
        let fail = |reason: String| Err(ConfigError::invalid(key, &shown, &reason));
        match self {
            Validator::Range { min, max } => {
                let n = match value {
                    ConfigValue::Int(v) => *v as f64,
                    ConfigValue::Short(v) => *v as f64,
                    ConfigValue::Long(v) => *v as f64,
                    ConfigValue::Double(v) => *v,
                    ConfigValue::Null => return fail("Value must be non-null".into()),
                    _ => return Ok(()),
                };
                if let Some(m) = min {
                    if n < *m {
                        return fail(format!("Value must be at least {}", bound(*m)));
                    }
                }
                if let Some(m) = max {
                    if n > *m {
                        return fail(format!("Value must be no more than {}", bound(*m)));
                    }
                }
                Ok(())
            }
            Validator::OneOf(options) => match value {
                ConfigValue::String(s) if options.contains(&s.as_str()) => Ok(()),
                _ => fail(format!("String must be one of: {}", options.join(", "))),
            },
            Validator::OneOfIgnoreCase(options) => match value {
                ConfigValue::String(s) if options.iter().any(|o| o.eq_ignore_ascii_case(s)) => {
                    Ok(())
                }
                _ => fail(format!(
                    "String must be one of (case insensitive): {}",
                    options.join(", ")
                )),
            },
            Validator::NonEmptyString => match value {
                ConfigValue::String(s) if !s.is_empty() => Ok(()),
                _ => fail("String must be non-empty".into()),
            },
            Validator::NonNull => match value {
                ConfigValue::Null => fail("entry must be non null".into()),
                _ => Ok(()),
            },
            Validator::Custom(check) => check(key, value).or_else(fail),
        }
    }
}

fn bound(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// The default of a key: required keys have none; a `Null` default makes the
/// key optional with no value.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// No default: the user must set the key (`ConfigDef.NO_DEFAULT_VALUE`).
    Required,
    /// The value used when the user sets none.
    Value(ConfigValue),
}

/// One key's definition (Kafka Connect's `ConfigDef.ConfigKey`), as
/// [`ConfigDef::define`] and [`ConfigDef::define_key`] build it.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key's name, e.g. `batch.size`.
    pub name: String,
    /// How its value is parsed.
    pub config_type: ConfigType,
    /// Its default, or none (required).
    pub default: DefaultValue,
    /// The check its value must pass, if any.
    pub validator: Option<Validator>,
    /// How important it is (default [`Importance::Medium`]).
    pub importance: Importance,
    /// Its documentation (default empty).
    pub documentation: String,
    /// The group it is listed in, if any.
    pub group: Option<String>,
    /// Its position in its group, from 1; -1 outside a group.
    pub order_in_group: i32,
    /// How wide a UI shows it (default [`Width::None`]).
    pub width: Width,
    /// Its name in a UI (default: its name).
    pub display_name: String,
    /// Keys whose validity depends on this one.
    pub dependents: Vec<String>,
}

impl ConfigKey {
    /// Whether the key has a default (is not required).
    pub fn has_default(&self) -> bool {
        !matches!(self.default, DefaultValue::Required)
    }

    /// The `/connector-plugins/{p}/config` entry for this key.
    pub fn info(&self) -> ConfigKeyInfo {
        ConfigKeyInfo {
            name: self.name.clone(),
            config_type: self.config_type.name().to_owned(),
            required: !self.has_default(),
            default_value: match &self.default {
                DefaultValue::Required => None,
                DefaultValue::Value(v) => v.to_config_string(),
            },
            importance: self.importance.name().to_owned(),
            documentation: self.documentation.clone(),
            group: self.group.clone(),
            order: self.order_in_group,
            width: self.width.name().to_owned(),
            display_name: self.display_name.clone(),
            dependents: self.dependents.clone(),
        }
    }
}

/// Parses one raw value as `ConfigDef.parseType` does (trimming strings).
pub fn parse_type(key: &str, raw: &str, t: ConfigType) -> Result<ConfigValue, ConfigError> {
    let trimmed = raw.trim();
    let number_err =
        |name: &str| ConfigError::invalid(key, raw, &format!("Not a number of type {name}"));
    Ok(match t {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                ConfigValue::Boolean(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                ConfigValue::Boolean(false)
            } else {
                return Err(ConfigError::invalid(
                    key,
                    raw,
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::String => ConfigValue::String(trimmed.to_owned()),
        ConfigType::Password => ConfigValue::Password(trimmed.to_owned()),
        ConfigType::Int => ConfigValue::Int(trimmed.parse().map_err(|_| number_err("INT"))?),
        ConfigType::Short => ConfigValue::Short(trimmed.parse().map_err(|_| number_err("SHORT"))?),
        ConfigType::Long => ConfigValue::Long(trimmed.parse().map_err(|_| number_err("LONG"))?),
        ConfigType::Double => {
            ConfigValue::Double(trimmed.parse().map_err(|_| number_err("DOUBLE"))?)
        }
        ConfigType::List => ConfigValue::List(parse_list(trimmed)),
        ConfigType::Class => ConfigValue::Class(trimmed.to_owned()),
    })
}

/// A comma-separated list with whitespace around commas ignored.
pub fn parse_list(raw: &str) -> Vec<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Vec::new();
    }
    t.split(',').map(|s| s.trim().to_owned()).collect()
}

/// A password: shown as `[hidden]` by `Debug` and `Display`, as Kafka's
/// `Password` is, so that logging a configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password with this value.
    pub fn new(value: impl Into<String>) -> Self {
        Password(value.into())
    }
    /// The password itself.
    pub fn value(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type a configuration key is read as; it fixes the key's
/// [`ConfigType`]: `bool` (BOOLEAN), `i16` (SHORT), `i32` (INT), `i64`
/// (LONG), `f64` (DOUBLE), `String` (STRING), `Vec<String>` (LIST),
/// [`Password`] (PASSWORD), and `Option` of any of them for a key whose
/// default is null (no value unless the user gives one). CLASS keys are
/// declared with [`ConfigDef::define`] and read with
/// [`ParsedConfig::string`].
pub trait KeyType: sealed::Sealed + Sized {
    /// The type the key is declared with.
    const CONFIG_TYPE: ConfigType;
    /// Whether the key may be without a value (`Option<T>`).
    const OPTIONAL: bool = false;
    /// The parsed value as this type; `None` when it is of another type.
    fn from_config(value: &ConfigValue) -> Option<Self>;
    /// This value as a parsed value (for defaults).
    fn into_config(self) -> ConfigValue;
}

macro_rules! key_type {
    ($t:ty, $ct:ident, $variant:ident) => {
        impl sealed::Sealed for $t {}
        impl KeyType for $t {
            const CONFIG_TYPE: ConfigType = ConfigType::$ct;
            fn from_config(value: &ConfigValue) -> Option<Self> {
                match value {
                    ConfigValue::$variant(v) => Some(v.clone()),
                    _ => None,
                }
            }
            fn into_config(self) -> ConfigValue {
                ConfigValue::$variant(self)
            }
        }
    };
}

key_type!(bool, Boolean, Boolean);
key_type!(i16, Short, Short);
key_type!(i32, Int, Int);
key_type!(i64, Long, Long);
key_type!(f64, Double, Double);
key_type!(String, String, String);
key_type!(Vec<String>, List, List);

impl sealed::Sealed for Password {}
impl KeyType for Password {
    const CONFIG_TYPE: ConfigType = ConfigType::Password;
    fn from_config(value: &ConfigValue) -> Option<Self> {
        match value {
            ConfigValue::Password(v) => Some(Password(v.clone())),
            _ => None,
        }
    }
    fn into_config(self) -> ConfigValue {
        ConfigValue::Password(self.0)
    }
}

impl<T: KeyType> sealed::Sealed for Option<T> {}
impl<T: KeyType> KeyType for Option<T> {
    const CONFIG_TYPE: ConfigType = T::CONFIG_TYPE;
    const OPTIONAL: bool = true;
    fn from_config(value: &ConfigValue) -> Option<Self> {
        match value {
            ConfigValue::Null => Some(None),
            v => T::from_config(v).map(Some),
        }
    }
    fn into_config(self) -> ConfigValue {
        self.map_or(ConfigValue::Null, T::into_config)
    }
}

/// A configuration key: its name and the Rust type it is read as. Declare
/// one constant per key and use it both to define the key
/// ([`ConfigDef::define_key`]) and to read it ([`ParsedConfig::get`]), so
/// that the name is spelled once and a read cannot disagree with the
/// definition about the type.
///
/// ```
/// use ferry_api::config::Key;
/// const POLL_INTERVAL_MS: Key<i64> = Key::new("poll.interval.ms");
/// const SCHEMA_PATTERN: Key<Option<String>> = Key::new("schema.pattern");
/// assert_eq!(POLL_INTERVAL_MS.name(), "poll.interval.ms");
/// ```
pub struct Key<T> {
    name: &'static str,
    // `fn() -> T`: a key holds no `T`, so it is `Copy`, `Send` and `Sync`
    // whatever `T` is.
    read_as: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// The key named `name`, read as `T`.
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            read_as: PhantomData,
        }
    }
    /// The name users write in their configuration.
    pub const fn name(self) -> &'static str {
        self.name
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Key<T> {}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.name)
    }
}

impl<T> fmt::Display for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// A set of configuration keys, in definition order (Kafka Connect's
/// `ConfigDef`): what a plugin's `config_def()` returns, what
/// `/connector-plugins/{plugin}/config` lists, and what configurations are
/// validated and parsed against. See the [module documentation](self) for
/// an example.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

/// Builder-style key definition: `def.define("file", ConfigType::String).default_null().doc("…")`.
pub struct KeyBuilder<'a> {
    def: &'a mut ConfigDef,
    index: usize,
}

impl KeyBuilder<'_> {
    fn key(&mut self) -> &mut ConfigKey {
        &mut self.def.keys[self.index]
    }
    /// The value used when the user gives none, already parsed.
    pub fn default_value(mut self, v: ConfigValue) -> Self {
        self.key().default = DefaultValue::Value(v);
        self
    }
    /// Makes the key optional with no value by default (Kafka Connect's
    /// `null` default).
    pub fn default_null(self) -> Self {
        self.default_value(ConfigValue::Null)
    }
    /// The default, as the user would write it (`"2000"`, `"a,b"`); parsed
    /// by the key's type (kept as a string if it does not parse).
    pub fn default_str(self, v: &str) -> Self {
        let t = self.def.keys[self.index].config_type;
        let name = self.def.keys[self.index].name.clone();
        let parsed = parse_type(&name, v, t).unwrap_or(ConfigValue::String(v.to_owned()));
        self.default_value(parsed)
    }
    /// A check the value (the user's or the default) must pass.
    pub fn validator(mut self, v: Validator) -> Self {
        self.key().validator = Some(v);
        self
    }
    /// How important the key is (default MEDIUM).
    pub fn importance(mut self, i: Importance) -> Self {
        self.key().importance = i;
        self
    }
    /// The key's documentation, as `/connector-plugins/{plugin}/config`
    /// lists it.
    pub fn doc(mut self, d: &str) -> Self {
        self.key().documentation = d.to_owned();
        self
    }
    /// Places the key in a group; its order is its position among the
    /// group's keys, counting from 1.
    pub fn group(mut self, g: &str) -> Self {
        let order = self
            .def
            .keys
            .iter()
            .filter(|k| k.group.as_deref() == Some(g))
            .count() as i32
            + 1;
        let k = self.key();
        k.group = Some(g.to_owned());
        k.order_in_group = order;
        self
    }
    /// The width of the key's value in a UI.
    pub fn width(mut self, w: Width) -> Self {
        self.key().width = w;
        self
    }
    /// The key's name in a UI (default: the key's name).
    pub fn display_name(mut self, n: &str) -> Self {
        self.key().display_name = n.to_owned();
        self
    }
    /// Keys whose validity depends on this one.
    pub fn dependents(mut self, d: &[&str]) -> Self {
        self.key().dependents = d.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// Defines a key declared by a [`Key`] constant: its type comes from the
/// constant, and its default, if any, is a value of that type
/// (`def.define_key(BATCH_SIZE).default(2000).doc("…")`). Without
/// `default` the key is required, except an `Option` key, whose default is
/// null.
pub struct TypedKeyBuilder<'a, T> {
    inner: KeyBuilder<'a>,
    read_as: PhantomData<fn() -> T>,
}

impl<T: KeyType> TypedKeyBuilder<'_, T> {
    /// The value used when the user gives none.
    pub fn default(self, value: impl Into<T>) -> Self {
        self.map(|b| b.default_value(value.into().into_config()))
    }
    /// Checks a value (the user's or the default) must pass.
    pub fn validator(self, v: Validator) -> Self {
        self.map(|b| b.validator(v))
    }
    /// How important the key is, as `/config` lists it (default MEDIUM).
    pub fn importance(self, i: Importance) -> Self {
        self.map(|b| b.importance(i))
    }
    /// The key's documentation, as `/config` lists it.
    pub fn doc(self, d: &str) -> Self {
        self.map(|b| b.doc(d))
    }
    /// Places the key in a group; see [`KeyBuilder::group`].
    pub fn group(self, g: &str) -> Self {
        self.map(|b| b.group(g))
    }
    /// The width of the key's value in a UI (`ConfigDef.Width`).
    pub fn width(self, w: Width) -> Self {
        self.map(|b| b.width(w))
    }
    /// The key's name in a UI (default: the key's name).
    pub fn display_name(self, n: &str) -> Self {
        self.map(|b| b.display_name(n))
    }
    /// Keys whose validity depends on this one.
    pub fn dependents(self, d: &[&str]) -> Self {
        self.map(|b| b.dependents(d))
    }

    fn map(self, f: impl FnOnce(KeyBuilder<'_>) -> KeyBuilder<'_>) -> Self {
        let TypedKeyBuilder { inner, read_as } = self;
        TypedKeyBuilder {
            inner: f(inner),
            read_as,
        }
    }
}

impl ConfigDef {
    /// A definition without keys.
    pub fn new() -> Self {
        ConfigDef::default()
    }

    /// Defines a required key (no default) of `config_type`; chain the
    /// builder to set a default, docs and validation. Redefining a name
    /// replaces the earlier definition.
    pub fn define(&mut self, name: &str, config_type: ConfigType) -> KeyBuilder<'_> {
        let key = ConfigKey {
            name: name.to_owned(),
            config_type,
            default: DefaultValue::Required,
            validator: None,
            importance: Importance::Medium,
            documentation: String::new(),
            group: None,
            order_in_group: -1,
            width: Width::None,
            display_name: name.to_owned(),
            dependents: Vec::new(),
        };
        let index = match self.keys.iter().position(|k| k.name == name) {
            Some(i) => {
                self.keys[i] = key;
                i
            }
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        };
        KeyBuilder { def: self, index }
    }

    /// Defines the key `key` declares, typed: see [`TypedKeyBuilder`].
    /// Redefining a name replaces the earlier definition.
    pub fn define_key<T: KeyType>(&mut self, key: Key<T>) -> TypedKeyBuilder<'_, T> {
        let builder = self.define(key.name, T::CONFIG_TYPE);
        TypedKeyBuilder {
            inner: if T::OPTIONAL {
                builder.default_null()
            } else {
                builder
            },
            read_as: PhantomData,
        }
    }

    /// Adds a key, replacing any earlier definition of the same name.
    pub fn add_key(&mut self, key: ConfigKey) {
        match self.keys.iter_mut().find(|k| k.name == key.name) {
            Some(slot) => *slot = key,
            None => self.keys.push(key),
        }
    }

    /// Adds `other`'s keys whose names are not defined here yet.
    pub fn merge(&mut self, other: &ConfigDef) {
        for k in &other.keys {
            if self.key(&k.name).is_none() {
                self.keys.push(k.clone());
            }
        }
    }

    /// The keys, in definition order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The definition of the key named `name`.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Group names in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for k in &self.keys {
            if let Some(g) = &k.group {
                if !out.contains(g) {
                    out.push(g.clone());
                }
            }
        }
        out
    }

    /// Parses `props`, failing on the first invalid or missing key, as
    /// `ConfigDef.parse` (used when a connector or task starts).
    pub fn parse(&self, props: &BTreeMap<String, String>) -> Result<ParsedConfig, ConfigError> {
        let mut values = HashMap::with_capacity(self.keys.len());
        for k in &self.keys {
            let v = self.parse_key(k, props)?;
            values.insert(k.name.clone(), v);
        }
        Ok(ParsedConfig {
            values,
            originals: props.clone(),
        })
    }

    fn parse_key(
        &self,
        k: &ConfigKey,
        props: &BTreeMap<String, String>,
    ) -> Result<ConfigValue, ConfigError> {
        let v = match (props.get(&k.name), &k.default) {
            (Some(raw), _) => parse_type(&k.name, raw, k.config_type)?,
            (None, DefaultValue::Value(d)) => d.clone(),
            (None, DefaultValue::Required) => return Err(ConfigError::missing(&k.name)),
        };
        if let Some(val) = &k.validator {
            val.ensure_valid(&k.name, &v)?;
        }
        Ok(v)
    }

    /// Validates every key, collecting all errors (`ConfigDef.validateAll`).
    pub fn validate(&self, props: &BTreeMap<String, String>) -> Vec<ValidatedValue> {
        self.keys
            .iter()
            .map(|k| {
                let mut out = ValidatedValue {
                    name: k.name.clone(),
                    value: ConfigValue::Null,
                    errors: Vec::new(),
                    visible: true,
                    recommended: Vec::new(),
                };
                match self.parse_key(k, props) {
                    Ok(v) => out.value = v,
                    Err(e) => {
                        // A present but invalid value is still reported as typed.
                        if let Some(raw) = props.get(&k.name) {
                            if let Ok(v) = parse_type(&k.name, raw, k.config_type) {
                                out.value = v;
                            }
                        }
                        out.errors.push(e.message)
                    }
                }
                out
            })
            .collect()
    }

    /// [`validate`](Self::validate), then the checks between keys, once
    /// every key is valid on its own: `cross_checks` returns `(key,
    /// message)` pairs, each message added to that key's errors (as a
    /// connector's `validate` reports them in Kafka Connect).
    pub fn validate_with(
        &self,
        props: &BTreeMap<String, String>,
        cross_checks: impl Fn(&ParsedConfig) -> Vec<(String, String)>,
    ) -> Vec<ValidatedValue> {
        let mut values = self.validate(props);
        if values.iter().any(|v| !v.errors.is_empty()) {
            return values;
        }
        let Ok(parsed) = self.parse(props) else {
            return values;
        };
        for (key, message) in cross_checks(&parsed) {
            if let Some(v) = values.iter_mut().find(|v| v.name == key) {
                v.errors.push(message);
            }
        }
        values
    }
}

/// One key's validation outcome (Kafka Connect's `ConfigValue`), as
/// [`ConfigDef::validate`] and [`Connector::validate`](crate::Connector::validate)
/// return it. A connector's own checks add messages to `errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedValue {
    /// The key's name.
    pub name: String,
    /// The parsed value (`Null` when missing or unparsable).
    pub value: ConfigValue,
    /// What is wrong with it; empty when valid.
    pub errors: Vec<String>,
    /// Whether a UI should show the key (default true).
    pub visible: bool,
    /// Values a UI may offer (default none).
    pub recommended: Vec<String>,
}

impl ValidatedValue {
    /// The `value` part of the key's entry in the `/config/validate`
    /// response.
    pub fn info(&self) -> ConfigValueInfo {
        ConfigValueInfo {
            name: self.name.clone(),
            value: self.value.to_config_string(),
            recommended_values: self.recommended.clone(),
            errors: self.errors.clone(),
            visible: self.visible,
        }
    }
}

/// A configuration parsed against a [`ConfigDef`]: a value for every key the
/// definition declares (the user's, else the default), and the user's
/// properties as given. Properties the definition does not declare are kept
/// in [`originals`](Self::originals) and otherwise ignored, as Kafka
/// Connect's `AbstractConfig` ignores them: a connector config also holds
/// the runtime's keys (`name`, `tasks.max`, `transforms`, …).
///
/// Read keys with [`get`](Self::get) and a [`Key`] constant.
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: HashMap<String, ConfigValue>,
    originals: BTreeMap<String, String>,
}

/// How a parsed value's type is named in errors.
fn value_type(v: &ConfigValue) -> &'static str {
    match v {
        ConfigValue::Null => "null",
        ConfigValue::Boolean(_) => ConfigType::Boolean.name(),
        ConfigValue::Int(_) => ConfigType::Int.name(),
        ConfigValue::Short(_) => ConfigType::Short.name(),
        ConfigValue::Long(_) => ConfigType::Long.name(),
        ConfigValue::Double(_) => ConfigType::Double.name(),
        ConfigValue::String(_) => ConfigType::String.name(),
        ConfigValue::List(_) => ConfigType::List.name(),
        ConfigValue::Class(_) => ConfigType::Class.name(),
        ConfigValue::Password(_) => ConfigType::Password.name(),
    }
}

impl ParsedConfig {
    /// The value of `key`: the user's, else the definition's default. A key
    /// with a default (or a required one, which parsing has checked is
    /// there) reads as its value; only an `Option` key can be `None`.
    ///
    /// # Panics
    ///
    /// When the definition this configuration was parsed from does not
    /// declare `key`, or declares it with another type. That is a bug in
    /// the code reading the key, never a property of the user's input:
    /// parsing has already checked every declared key of the input, and
    /// undeclared input keys are ignored. Kafka Connect's `AbstractConfig`
    /// throws `ConfigException("Unknown configuration '…'")` for the same
    /// read; panicking with that message makes the bug fail the first test
    /// that reads the key (and the runtime reports a task that panics as
    /// FAILED with it), where returning an `Option` or `Result` would make
    /// every read handle a case correct code never meets, and a silent
    /// fallback would hide a misspelt key. Use [`try_get`](Self::try_get)
    /// to get that error as a value instead.
    #[track_caller]
    pub fn get<T: KeyType>(&self, key: Key<T>) -> T {
        match self.try_get(key) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`get`](Self::get), returning an error naming the key when the
    /// definition does not declare it or declares it with another type.
    pub fn try_get<T: KeyType>(&self, key: Key<T>) -> Result<T, ConfigError> {
        let value = self.declared(key.name)?;
        T::from_config(value).ok_or_else(|| ConfigError {
            key: key.name.to_owned(),
            message: format!(
                "Configuration '{}' is read as {}{} but its value is {}",
                key.name,
                if T::OPTIONAL { "optional " } else { "" },
                T::CONFIG_TYPE.name(),
                value_type(value)
            ),
        })
    }

    /// Whether the user's properties set `key` (rather than leaving it to
    /// its default). Panics as [`get`](Self::get) does for an undeclared
    /// key.
    #[track_caller]
    pub fn is_set<T>(&self, key: Key<T>) -> bool {
        if let Err(e) = self.declared(key.name) {
            panic!("{e}");
        }
        self.originals.contains_key(key.name)
    }

    fn declared(&self, name: &str) -> Result<&ConfigValue, ConfigError> {
        self.values.get(name).ok_or_else(|| ConfigError {
            key: name.to_owned(),
            message: format!("Unknown configuration '{name}'"),
        })
    }

    /// The parsed value of the key named `key`, untyped; `Null` for a key
    /// the definition does not declare (a debug build asserts it does).
    /// Prefer [`get`](Self::get).
    pub fn value(&self, key: &str) -> &ConfigValue {
        debug_assert!(
            self.values.contains_key(key),
            "Unknown configuration '{key}'"
        );
        self.values.get(key).unwrap_or(&ConfigValue::Null)
    }
    /// Untyped read of a STRING, CLASS or PASSWORD key; prefer
    /// [`get`](Self::get).
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.value(key) {
            ConfigValue::String(s) | ConfigValue::Class(s) | ConfigValue::Password(s) => Some(s),
            _ => None,
        }
    }
    /// Untyped read of an INT or SHORT key; prefer [`get`](Self::get).
    pub fn int(&self, key: &str) -> Option<i32> {
        match self.value(key) {
            ConfigValue::Int(v) => Some(*v),
            ConfigValue::Short(v) => Some(*v as i32),
            _ => None,
        }
    }
    /// Untyped read of a LONG or INT key; prefer [`get`](Self::get).
    pub fn long(&self, key: &str) -> Option<i64> {
        match self.value(key) {
            ConfigValue::Long(v) => Some(*v),
            ConfigValue::Int(v) => Some(*v as i64),
            _ => None,
        }
    }
    /// Untyped read of a DOUBLE key; prefer [`get`](Self::get).
    pub fn double(&self, key: &str) -> Option<f64> {
        match self.value(key) {
            ConfigValue::Double(v) => Some(*v),
            _ => None,
        }
    }
    /// Untyped read of a BOOLEAN key; prefer [`get`](Self::get).
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.value(key) {
            ConfigValue::Boolean(v) => Some(*v),
            _ => None,
        }
    }
    /// Untyped read of a LIST key; prefer [`get`](Self::get).
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            ConfigValue::List(v) => v.clone(),
            _ => Vec::new(),
        }
    }
    /// The raw properties this was parsed from, including undefined keys.
    pub fn originals(&self) -> &BTreeMap<String, String> {
        &self.originals
    }
    /// Raw properties under `prefix`, with the prefix stripped
    /// (`originalsWithPrefix`).
    pub fn originals_with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        originals_with_prefix(&self.originals, prefix)
    }
}

/// Properties under `prefix`, with the prefix stripped.
pub fn originals_with_prefix(
    props: &BTreeMap<String, String>,
    prefix: &str,
) -> BTreeMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .map(|rest| (rest.to_owned(), v.clone()))
        })
        .collect()
}

/// `ConfigKeyInfo`, as `/connector-plugins/{p}/config` and validate return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigKeyInfo {
    /// The key's name.
    pub name: String,
    /// Its [`ConfigType::name`].
    #[serde(rename = "type")]
    pub config_type: String,
    /// Whether it has no default.
    pub required: bool,
    /// Its default as a string, if it has a non-null one.
    pub default_value: Option<String>,
    /// Its [`Importance::name`].
    pub importance: String,
    /// Its documentation.
    pub documentation: String,
    /// Its group, if any.
    pub group: Option<String>,
    /// Its position in its group. Kafka Connect 4.x writes this key as
    /// `order_in_group`.
    #[serde(rename = "order_in_group")]
    pub order: i32,
    /// Its [`Width::name`].
    pub width: String,
    /// Its name in a UI.
    pub display_name: String,
    /// Keys whose validity depends on it.
    pub dependents: Vec<String>,
}

/// Kafka Connect's `ConfigValueInfo`: one key's value and errors in the
/// `/config/validate` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigValueInfo {
    /// The key's name.
    pub name: String,
    /// The value as a string (passwords hidden), if it has one.
    pub value: Option<String>,
    /// Values a UI may offer.
    pub recommended_values: Vec<String>,
    /// What is wrong with the value; empty when valid.
    pub errors: Vec<String>,
    /// Whether a UI should show the key.
    pub visible: bool,
}

/// Kafka Connect's `ConfigInfo`: one key's definition and value in the
/// `/config/validate` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// The key's definition; `None` for a key no definition declares.
    pub definition: Option<ConfigKeyInfo>,
    /// The value given and its errors.
    pub value: Option<ConfigValueInfo>,
}

/// The `/config/validate` response (Kafka Connect's `ConfigInfos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfos {
    /// The connector class, as the configuration names it.
    pub name: String,
    /// How many errors there are over all keys.
    pub error_count: usize,
    /// The groups, in order of first appearance.
    pub groups: Vec<String>,
    /// One entry per key.
    pub configs: Vec<ConfigInfo>,
}

impl ConfigInfos {
    /// Builds the response from a definition and its validation results;
    /// results without a definition (undefined keys with errors) keep a
    /// `null` definition.
    pub fn new(name: &str, def: &ConfigDef, values: &[ValidatedValue]) -> Self {
        let configs: Vec<ConfigInfo> = values
            .iter()
            .map(|v| ConfigInfo {
                definition: def.key(&v.name).map(ConfigKey::info),
                value: Some(v.info()),
            })
            .collect();
        ConfigInfos {
            name: name.to_owned(),
            error_count: values.iter().map(|v| v.errors.len()).sum(),
            groups: def.groups(),
            configs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_reports_kafka_connect_messages() {
        let mut def = ConfigDef::new();
        def.define("file", ConfigType::String).doc("the file");
        def.define("tasks.max", ConfigType::Int)
            .default_str("1")
            .validator(Validator::at_least(1.0));
        let err = def.parse(&props(&[])).unwrap_err();
        assert_eq!(
            err.message,
            "Missing required configuration \"file\" which has no default value."
        );
        let err = def
            .parse(&props(&[("file", "x"), ("tasks.max", "abc")]))
            .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value abc for configuration tasks.max: Not a number of type INT"
        );
        let err = def
            .parse(&props(&[("file", "x"), ("tasks.max", "0")]))
            .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value 0 for configuration tasks.max: Value must be at least 1"
        );
        let ok = def.parse(&props(&[("file", " x ")])).unwrap();
        assert_eq!(ok.string("file"), Some("x"));
        assert_eq!(ok.int("tasks.max"), Some(1));
    }

    #[test]
    fn validate_collects_every_error() {
        let mut def = ConfigDef::new();
        def.define("a", ConfigType::Boolean).group("G");
        def.define("b", ConfigType::List)
            .default_str("x, y")
            .group("G");
        let infos = ConfigInfos::new("C", &def, &def.validate(&props(&[("a", "maybe")])));
        assert_eq!(infos.error_count, 1);
        assert_eq!(infos.groups, vec!["G"]);
        let b = infos.configs[1].definition.as_ref().unwrap();
        assert_eq!(b.default_value.as_deref(), Some("x,y"));
        assert_eq!(b.order, 2);
        assert!(!b.required);
    }

    const TOPIC: Key<String> = Key::new("topic");
    const BATCH: Key<i32> = Key::new("batch.size");
    const FILE: Key<Option<String>> = Key::new("file");
    const LIMIT: Key<Option<i64>> = Key::new("limit");
    const TYPES: Key<Vec<String>> = Key::new("table.types");
    const SECRET: Key<Option<Password>> = Key::new("secret");
    const RATIO: Key<f64> = Key::new("ratio");
    const ENABLED: Key<bool> = Key::new("enabled");
    const SHORT: Key<i16> = Key::new("short");

    fn typed_def() -> ConfigDef {
        let mut d = ConfigDef::new();
        d.define_key(TOPIC)
            .validator(Validator::NonEmptyString)
            .doc("topic");
        d.define_key(BATCH)
            .default(2000)
            .validator(Validator::at_least(1.0));
        d.define_key(FILE);
        d.define_key(LIMIT);
        d.define_key(TYPES).default(vec!["TABLE".to_owned()]);
        d.define_key(SECRET);
        d.define_key(RATIO).default(0.5);
        d.define_key(ENABLED).default(true);
        d.define_key(SHORT).default(3i16);
        d
    }

    #[test]
    fn typed_keys_read_values_and_declared_defaults() {
        let cfg = typed_def()
            .parse(&props(&[
                ("topic", " t "),
                ("limit", "7"),
                ("secret", "s3cret"),
                ("enabled", "FALSE"),
                ("unrelated.key", "is ignored"),
            ]))
            .unwrap();
        assert_eq!(cfg.get(TOPIC), "t");
        assert_eq!(cfg.get(BATCH), 2000);
        assert_eq!(cfg.get(FILE), None);
        assert_eq!(cfg.get(LIMIT), Some(7));
        assert_eq!(cfg.get(TYPES), vec!["TABLE"]);
        assert_eq!(
            cfg.get(SECRET).as_ref().map(Password::value),
            Some("s3cret")
        );
        assert_eq!(cfg.get(RATIO), 0.5);
        assert!(!cfg.get(ENABLED));
        assert_eq!(cfg.get(SHORT), 3);
        assert!(cfg.is_set(LIMIT));
        assert!(!cfg.is_set(BATCH));
        assert_eq!(
            cfg.originals().get("unrelated.key").map(String::as_str),
            Some("is ignored")
        );
    }

    #[test]
    fn typed_definitions_show_their_types_and_defaults() {
        let def = typed_def();
        let info = |name: &str| def.key(name).unwrap().info();
        assert_eq!(info("batch.size").config_type, "INT");
        assert_eq!(info("batch.size").default_value.as_deref(), Some("2000"));
        assert!(info("topic").required);
        assert!(!info("file").required);
        assert_eq!(info("file").default_value, None);
        assert_eq!(info("table.types").config_type, "LIST");
        assert_eq!(info("table.types").default_value.as_deref(), Some("TABLE"));
        assert_eq!(info("secret").config_type, "PASSWORD");
        assert_eq!(info("ratio").default_value.as_deref(), Some("0.5"));
        assert_eq!(info("short").config_type, "SHORT");
        // A typed default parses the same as the string form of it.
        let mut untyped = ConfigDef::new();
        untyped
            .define("batch.size", ConfigType::Int)
            .default_str("2000");
        assert_eq!(
            untyped.key("batch.size").unwrap().default,
            def.key("batch.size").unwrap().default
        );
    }

    #[test]
    fn typed_keys_are_validated_like_any_other() {
        let err = typed_def()
            .parse(&props(&[("topic", "t"), ("batch.size", "0")]))
            .unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value 0 for configuration batch.size: Value must be at least 1"
        );
        let err = typed_def().parse(&props(&[])).unwrap_err();
        assert_eq!(err.key, "topic");
    }

    #[test]
    fn reading_an_undeclared_key_is_an_error_naming_it() {
        let cfg = typed_def().parse(&props(&[("topic", "t")])).unwrap();
        const MISSPELT: Key<i32> = Key::new("batch.sise");
        let err = cfg.try_get(MISSPELT).unwrap_err();
        assert_eq!(err.key, "batch.sise");
        assert_eq!(err.message, "Unknown configuration 'batch.sise'");
        // Declared, but read with another type than its definition's.
        const AS_LONG: Key<i64> = Key::new("batch.size");
        assert_eq!(
            cfg.try_get(AS_LONG).unwrap_err().message,
            "Configuration 'batch.size' is read as LONG but its value is INT"
        );
        const NULLABLE_AS_VALUE: Key<String> = Key::new("file");
        assert_eq!(
            cfg.try_get(NULLABLE_AS_VALUE).unwrap_err().message,
            "Configuration 'file' is read as STRING but its value is null"
        );
    }

    #[test]
    #[should_panic(expected = "Unknown configuration 'nope'")]
    fn get_panics_on_an_undeclared_key() {
        let cfg = typed_def().parse(&props(&[("topic", "t")])).unwrap();
        cfg.get(Key::<bool>::new("nope"));
    }

    #[test]
    #[should_panic(expected = "Unknown configuration 'nope'")]
    fn is_set_panics_on_an_undeclared_key() {
        let cfg = typed_def().parse(&props(&[("topic", "t")])).unwrap();
        cfg.is_set(Key::<bool>::new("nope"));
    }

    #[test]
    fn passwords_are_hidden_when_printed() {
        let p = Password::new("s3cret");
        assert_eq!(format!("{p:?} {p}"), "[hidden] [hidden]");
        assert_eq!(p.value(), "s3cret");
    }
}
