//! Transformation chains built from a connector configuration, and the
//! validation of the `transforms.*` / `predicates.*` keys, as Kafka
//! Connect's `ConnectorConfig` does both.
//!
//! Kafka Connect adds, for every alias in `transforms` (then in
//! `predicates`), the keys `<prefix>type` and `<prefix>plugin.version`,
//! then (when the type names a usable class) `predicate` and `negate` and
//! the plugin's own keys, sorted as `ConfigDef.embed` sorts them. The same
//! definition is validated for `/config/validate` (every error collected)
//! and parsed when a task starts (the first error fails it), and the
//! transforms are then configured with their prefixed settings.
//!
//! Classes are looked up through [`TransformPlugins`], the worker's plugin
//! registry. The keys of this crate's own plugins are checked with their
//! exact definitions (Kafka's validators); those of any other plugin with
//! the `ConfigDef` it declares, embedded as Kafka's `ConfigDef.embed` does.

use std::collections::HashMap;

use ferry_api::config::{
    ConfigInfo, ConfigKey, ConfigType, ConfigValue, DefaultValue, Importance, ValidatedValue, Width,
};
use ferry_api::{Plugin, PluginFactory, PluginType, Props};

use crate::config::{self, JValue, KeyDef};
use crate::error::{ChainError, TransformError};
use crate::plugins;
use crate::record::ConnectRecord;
use crate::{Predicate, Transformation};

const PLUGIN_VERSION: &str = "plugin.version";

/// Where a chain finds the transformation and predicate classes a
/// connector configuration names: the worker's plugin registry.
pub trait TransformPlugins {
    /// The class `name` designates (`name` itself, or the class of the
    /// usable alias `name`) when a transformation or predicate of that
    /// class is registered.
    fn resolve(&self, name: &str) -> Option<&str>;

    /// The plugin of class `class` registered as `plugin_type` (a
    /// transformation or a predicate).
    fn get(&self, plugin_type: PluginType, class: &str) -> Option<TransformPlugin<'_>>;

    /// The classes registered as `plugin_type`, sorted by name.
    fn classes(&self, plugin_type: PluginType) -> Vec<&str>;
}

/// A registered transformation or predicate.
#[derive(Debug, Clone, Copy)]
pub struct TransformPlugin<'a> {
    /// The registration.
    pub plugin: &'a Plugin,
    /// Whether it is one of this crate's own plugins (registered as built
    /// in), whose settings are checked with their exact definitions.
    pub built_in: bool,
}

/// The kinds of alias lists, in the order Kafka Connect enriches them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AliasKind {
    Transforms,
    Predicates,
}

impl AliasKind {
    fn key(self) -> &'static str {
        match self {
            AliasKind::Transforms => "transforms",
            AliasKind::Predicates => "predicates",
        }
    }
    fn group(self) -> &'static str {
        match self {
            AliasKind::Transforms => "Transforms",
            AliasKind::Predicates => "Predicates",
        }
    }
    fn plugin(self) -> PluginType {
        match self {
            AliasKind::Transforms => PluginType::Transformation,
            AliasKind::Predicates => PluginType::Predicate,
        }
    }
    fn noun(self) -> &'static str {
        match self {
            AliasKind::Transforms => "transformation",
            AliasKind::Predicates => "predicate",
        }
    }
}

/// `ConfigDef.parseType(LIST)` of an alias list, duplicates removed.
fn aliases(props: &Props, kind: AliasKind) -> Vec<String> {
    let Some(raw) = props.get(kind.key()) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    if let Ok(JValue::List(items)) =
        config::parse_type(kind.key(), raw, ConfigType::List, &|_| None)
    {
        for a in items {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// The outcome of validating the transform and predicate keys of a
/// connector configuration.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Key definitions in Kafka Connect's order: `transforms`,
    /// `predicates`, then each alias's keys.
    pub keys: Vec<ConfigKey>,
    /// The validation result of each key in `keys`, same order.
    pub values: Vec<ValidatedValue>,
    /// The groups the keys introduce (`Transforms: route`, ...).
    pub groups: Vec<String>,
}

impl Validation {
    pub fn error_count(&self) -> usize {
        self.values.iter().map(|v| v.errors.len()).sum()
    }

    /// The `configs` entries of a `/config/validate` response.
    pub fn config_infos(&self) -> Vec<ConfigInfo> {
        self.keys
            .iter()
            .zip(&self.values)
            .map(|(k, v)| ConfigInfo {
                definition: Some(k.info()),
                value: Some(v.info()),
            })
            .collect()
    }

    fn push(&mut self, key: ConfigKey, value: ValidatedValue) {
        if let Some(g) = &key.group {
            if !self.groups.contains(g) {
                self.groups.push(g.clone());
            }
        }
        self.keys.push(key);
        self.values.push(value);
    }
}

/// Validates the `transforms` and `predicates` keys and every key under
/// their aliases, as `/connector-plugins/{type}/config/validate` does,
/// finding classes in `plugins`.
///
/// The runtime can merge these into its own results; its definitions of
/// `transforms` and `predicates` are superseded by the ones here, which
/// carry Kafka Connect's duplicate-alias message.
pub fn validation(plugins: &dyn TransformPlugins, props: &Props) -> Validation {
    enrich(plugins, props, Mode::Validate).validation
}

/// Just the values of [`validation`].
pub fn validate(plugins: &dyn TransformPlugins, props: &Props) -> Vec<ValidatedValue> {
    validation(plugins, props).values
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `ConfigDef.validateAll`: collect every error.
    Validate,
    /// `ConfigDef.parse`: what a starting task does.
    Parse,
}

struct Enriched {
    validation: Validation,
    /// Failures of `populateConfigDef` (a type that is missing or unusable),
    /// which stop a task before any key is parsed.
    populate_errors: Vec<ChainError>,
}

fn list_key(kind: AliasKind) -> ConfigKey {
    let (doc, order) = match kind {
        AliasKind::Transforms => (
            "Aliases for the transformations to be applied to records.",
            12,
        ),
        AliasKind::Predicates => ("Aliases for the predicates used by transformations.", 13),
    };
    ConfigKey {
        name: kind.key().to_owned(),
        config_type: ConfigType::List,
        default: DefaultValue::Value(ConfigValue::List(Vec::new())),
        validator: None,
        importance: Importance::Low,
        documentation: doc.to_owned(),
        group: Some(kind.group().to_owned()),
        order_in_group: order,
        width: Width::Long,
        display_name: kind.group().to_owned(),
        dependents: Vec::new(),
    }
}

/// `aliasValidator`: the list key's validation.
fn validate_list(props: &Props, kind: AliasKind) -> ValidatedValue {
    let name = kind.key();
    let mut errors = Vec::new();
    let value = match props.get(name) {
        Some(raw) => match config::parse_type(name, raw, ConfigType::List, &|_| None) {
            Ok(v) => v,
            Err(e) => {
                errors.push(e.message);
                JValue::Null
            }
        },
        None => JValue::List(Vec::new()),
    };
    match &value {
        JValue::List(items) => {
            let mut seen = std::collections::HashSet::new();
            if !items.iter().all(|i| seen.insert(i)) {
                errors.push(config::invalid(name, &value, "Duplicate alias provided.").message);
            }
        }
        _ => errors.push(config::invalid(name, &JValue::Null, "entry must be non null").message),
    }
    ValidatedValue {
        name: name.to_owned(),
        value: match value {
            JValue::List(l) => ConfigValue::List(l),
            _ => ConfigValue::Null,
        },
        errors,
        visible: true,
        recommended: Vec::new(),
    }
}

/// What a class name or alias refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolved<'a> {
    /// A registered transformation or predicate class.
    Plugin(&'a str),
    /// One of the abstract bases of the `$Key` / `$Value` pairs.
    Abstract(&'static str),
}

impl<'a> Resolved<'a> {
    fn class(self) -> &'a str {
        match self {
            Resolved::Plugin(c) | Resolved::Abstract(c) => c,
        }
    }
}

fn resolve<'a>(plugins: &'a dyn TransformPlugins, name: &str) -> Option<Resolved<'a>> {
    plugins
        .resolve(name)
        .map(Resolved::Plugin)
        .or_else(|| plugins::abstract_class(name).map(Resolved::Abstract))
}

/// `Utils.ensureConcreteSubclass`: why `resolved` cannot be a plugin of
/// `plugin_type`, if it cannot; else the plugin.
fn concrete<'a>(
    plugins: &'a dyn TransformPlugins,
    resolved: Resolved<'_>,
    plugin_type: PluginType,
) -> Result<TransformPlugin<'a>, String> {
    match resolved {
        Resolved::Plugin(c) => plugins
            .get(plugin_type, c)
            .ok_or_else(|| plugins::not_implementing(c, plugin_type)),
        Resolved::Abstract(c) => Err(plugins::abstract_class_error(c, plugin_type)),
    }
}

/// The `predicate` and `negate` keys every transformation gets.
fn implicit_transform_keys() -> Vec<KeyDef> {
    vec![
        config::key(
            "predicate",
            ConfigType::String,
            config::Default::Null,
            None,
            Importance::Medium,
            "The alias of a predicate used to determine whether to apply this transformation.",
        ),
        config::key(
            "negate",
            ConfigType::Boolean,
            config::Default::Bool(false),
            None,
            Importance::Medium,
            "Whether the configured predicate should be negated.",
        ),
    ]
}

fn key_info(k: &KeyDef, full: &str, group: &str, order: i32) -> ConfigKey {
    let default = match k.default {
        config::Default::Required => DefaultValue::Required,
        config::Default::Null => DefaultValue::Value(ConfigValue::Null),
        config::Default::Str(s) => DefaultValue::Value(ConfigValue::String(s.to_owned())),
        config::Default::Bool(b) => DefaultValue::Value(ConfigValue::Boolean(b)),
        config::Default::Int(i) => DefaultValue::Value(ConfigValue::Int(i)),
        config::Default::EmptyList => DefaultValue::Value(ConfigValue::List(Vec::new())),
    };
    ConfigKey {
        name: full.to_owned(),
        config_type: k.ty,
        default,
        validator: None,
        importance: k.importance,
        documentation: k.doc.to_owned(),
        group: Some(group.to_owned()),
        order_in_group: order,
        width: Width::None,
        // `embed` keeps each key's display name, which is its bare name.
        display_name: k.name.to_owned(),
        dependents: Vec::new(),
    }
}

/// Checks a `plugin.version` requirement (Maven version range syntax, a
/// bare version meaning exactly that version) against the one version a
/// registered plugin has, `available`; the error is Kafka Connect's.
fn version_error(class: &str, available: &str, spec: Option<&str>) -> Option<String> {
    let spec = spec?;
    if spec == "latest" {
        return None;
    }
    let spec = spec.trim();
    let ranged = if spec.starts_with(['[', '(']) {
        spec.to_owned()
    } else {
        format!("[{spec}]")
    };
    let restrictions = match parse_range(&ranged) {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let v = version_parts(available);
    if restrictions.iter().any(|r| r.contains(&v)) {
        return None;
    }
    let printed: Vec<String> = restrictions.iter().map(Restriction::to_string).collect();
    Some(format!(
        "Plugin {class} not found that matches the version range {}, available versions: [{available}]",
        printed.join(",")
    ))
}

/// One interval of a Maven `VersionRange`.
struct Restriction {
    lower: Option<String>,
    lower_inclusive: bool,
    upper: Option<String>,
    upper_inclusive: bool,
}

impl Restriction {
    fn contains(&self, v: &[u64]) -> bool {
        let lo_ok = self.lower.as_deref().is_none_or(|lo| {
            let c = v.cmp(&version_parts(lo));
            c.is_gt() || (self.lower_inclusive && c.is_eq())
        });
        let hi_ok = self.upper.as_deref().is_none_or(|hi| {
            let c = v.cmp(&version_parts(hi));
            c.is_lt() || (self.upper_inclusive && c.is_eq())
        });
        lo_ok && hi_ok
    }
}

impl std::fmt::Display for Restriction {
    /// `Restriction.toString()`: `[1.0,1.0]`, `[4.0,5.0)`, `(,2]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{},{}{}",
            if self.lower_inclusive { '[' } else { '(' },
            self.lower.as_deref().unwrap_or(""),
            self.upper.as_deref().unwrap_or(""),
            if self.upper_inclusive { ']' } else { ')' }
        )
    }
}

/// `VersionRange.createFromVersionSpec` for bracketed specs.
fn parse_range(spec: &str) -> Result<Vec<Restriction>, String> {
    let mut out = Vec::new();
    let mut rest = spec;
    while !rest.is_empty() {
        let lower_inclusive = match rest.as_bytes()[0] {
            b'[' => true,
            b'(' => false,
            _ => {
                return Err(format!(
                    "Only fully-qualified sets allowed in multiple set scenario: {spec}"
                ))
            }
        };
        let Some(end) = rest.find([']', ')']) else {
            return Err(format!("Unbounded range: {spec}"));
        };
        let upper_inclusive = rest.as_bytes()[end] == b']';
        let body = &rest[1..end];
        let r = match body.split_once(',') {
            None => {
                if !lower_inclusive || !upper_inclusive {
                    return Err(format!("Single version must be surrounded by []: {spec}"));
                }
                let v = body.trim().to_owned();
                Restriction {
                    lower: Some(v.clone()),
                    lower_inclusive: true,
                    upper: Some(v),
                    upper_inclusive: true,
                }
            }
            Some((lo, hi)) => {
                let (lo, hi) = (lo.trim(), hi.trim());
                Restriction {
                    lower: (!lo.is_empty()).then(|| lo.to_owned()),
                    lower_inclusive,
                    upper: (!hi.is_empty()).then(|| hi.to_owned()),
                    upper_inclusive,
                }
            }
        };
        out.push(r);
        rest = rest[end + 1..].trim_start_matches(',');
    }
    Ok(out)
}

fn version_parts(v: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = v
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    while parts.last() == Some(&0) {
        parts.pop();
    }
    parts
}

fn enrich(plugins: &dyn TransformPlugins, props: &Props, mode: Mode) -> Enriched {
    let mut validation = Validation::default();
    let mut populate_errors = Vec::new();
    for kind in [AliasKind::Transforms, AliasKind::Predicates] {
        validation.push(list_key(kind), validate_list(props, kind));
    }
    let predicate_aliases = aliases(props, AliasKind::Predicates);
    for kind in [AliasKind::Transforms, AliasKind::Predicates] {
        for alias in aliases(props, kind) {
            enrich_alias(
                plugins,
                props,
                kind,
                &alias,
                mode,
                &predicate_aliases,
                &mut validation,
                &mut populate_errors,
            );
        }
    }
    Enriched {
        validation,
        populate_errors,
    }
}

#[allow(clippy::too_many_arguments)]
fn enrich_alias(
    plugins: &dyn TransformPlugins,
    props: &Props,
    kind: AliasKind,
    alias: &str,
    mode: Mode,
    predicate_aliases: &[String],
    out: &mut Validation,
    populate_errors: &mut Vec<ChainError>,
) {
    let prefix = format!("{}.{alias}.", kind.key());
    let group = format!("{}: {alias}", kind.group());
    let type_key = format!("{prefix}type");
    let version_key = format!("{prefix}{PLUGIN_VERSION}");
    let raw_type = props.get(&type_key).map(String::as_str);
    let props_version = props.get(&version_key).map(String::as_str);
    let resolved = raw_type.and_then(|t| resolve(plugins, t.trim_matches(|c: char| c <= ' ')));
    let usable = resolved.and_then(|r| concrete(plugins, r, kind.plugin()).ok());
    // `fetchPluginVersion`: only a plugin of the right type has a version.
    let default_version = raw_type
        .and_then(|t| plugins.resolve(t))
        .and_then(|c| plugins.get(kind.plugin(), c))
        .map(|p| p.plugin.version());
    let resolve_any = |name: &str| resolve(plugins, name).map(|r| r.class().to_owned());

    // `<prefix>type`.
    let type_def = config::key(
        "type",
        ConfigType::Class,
        config::Default::Required,
        None,
        Importance::High,
        "",
    );
    let mut type_value = config::check_key(
        &type_key,
        &type_key,
        &type_def,
        props,
        &resolve_any,
        mode == Mode::Parse,
    );
    if kind == AliasKind::Transforms {
        let negate = format!("{prefix}negate");
        let predicate = format!("{prefix}predicate");
        if props.contains_key(&negate) && !props.contains_key(&predicate) {
            type_value.errors.push(format!(
                "Config '{negate}' was provided but there is no config '{predicate}' defining a predicate to be negated."
            ));
        }
    }
    if let Some(r) = resolved.filter(|_| matches!(type_value.value, ConfigValue::Class(_))) {
        match concrete(plugins, r, kind.plugin()) {
            Err(e) => type_value.errors.push(e),
            Ok(p) => {
                let spec = props_version.or(default_version);
                if let Some(e) = version_error(r.class(), p.plugin.version(), spec) {
                    type_value.errors.push(e);
                }
            }
        }
    }
    type_value.recommended = plugins
        .classes(kind.plugin())
        .into_iter()
        .map(str::to_owned)
        .collect();
    let type_info = ConfigKey {
        name: type_key.clone(),
        config_type: ConfigType::Class,
        default: DefaultValue::Required,
        validator: None,
        importance: Importance::High,
        documentation: format!("Class for the '{alias}' {}.", kind.noun()),
        group: Some(group.clone()),
        order_in_group: 0,
        width: Width::Long,
        display_name: format!("{} type for {alias}", kind.plugin().interface()),
        dependents: Vec::new(),
    };
    out.push(type_info, type_value);

    // `<prefix>plugin.version`.
    let version_value = {
        let raw = props.get(&version_key);
        let value = raw
            .map(|r| r.trim_matches(|c: char| c <= ' ').to_owned())
            .or(default_version.map(str::to_owned));
        let mut errors = Vec::new();
        if let (Some(v), Some(p)) = (&value, usable) {
            if let Some(e) = version_error(p.plugin.class(), p.plugin.version(), Some(v)) {
                errors.push(e);
            }
        }
        ValidatedValue {
            name: version_key.clone(),
            value: value.map_or(ConfigValue::Null, ConfigValue::String),
            errors,
            visible: true,
            recommended: usable
                .map(|p| vec![p.plugin.version().to_owned()])
                .unwrap_or_default(),
        }
    };
    let version_info = ConfigKey {
        name: version_key.clone(),
        config_type: ConfigType::String,
        default: default_version.map_or(DefaultValue::Value(ConfigValue::Null), |v| {
            DefaultValue::Value(ConfigValue::String(v.to_owned()))
        }),
        validator: None,
        importance: Importance::High,
        documentation: format!("Version of the '{alias}' {}.", kind.noun()),
        group: Some(group.clone()),
        order_in_group: 1,
        width: Width::Long,
        display_name: format!("{} version for {alias}", kind.plugin().interface()),
        dependents: Vec::new(),
    };
    out.push(version_info, version_value);

    // `populateConfigDef`: the plugin's keys, when its type is usable.
    let plugin_def = match (raw_type, resolved) {
        (None, _) => {
            populate_errors.push(ChainError::new(
                &type_key,
                format!(
                    "Invalid value null for configuration {type_key}: Not a {}",
                    kind.plugin().interface()
                ),
            ));
            return;
        }
        (Some(raw), None) => {
            populate_errors.push(ChainError::new(
                &type_key,
                format!("Invalid value {raw} for configuration {type_key}: Class {raw} could not be found."),
            ));
            return;
        }
        (Some(_), Some(r)) => {
            let plugin = match concrete(plugins, r, kind.plugin()) {
                Ok(p) => p,
                Err(e) => {
                    populate_errors.push(ChainError::new(&type_key, e));
                    return;
                }
            };
            if let Some(e) = version_error(r.class(), plugin.plugin.version(), props_version) {
                populate_errors.push(ChainError::new(&version_key, e));
                return;
            }
            plugin
        }
    };
    let mut keys: Vec<Embedded<'_>> = if kind == AliasKind::Transforms {
        implicit_transform_keys()
            .into_iter()
            .map(Embedded::Exact)
            .collect()
    } else {
        Vec::new()
    };
    let is_implicit =
        |name: &str| kind == AliasKind::Transforms && (name == "predicate" || name == "negate");
    match plugins::def_for(plugin_def.plugin.class()).filter(|_| plugin_def.built_in) {
        Some(def) => keys.extend(
            def.keys
                .into_iter()
                .filter(|k| !is_implicit(k.name))
                .map(Embedded::Exact),
        ),
        None => {
            let def = plugin_def.plugin.config_def();
            let groups: HashMap<String, usize> = def
                .groups()
                .into_iter()
                .enumerate()
                .map(|(i, g)| (g, i))
                .collect();
            keys.extend(
                def.keys()
                    .iter()
                    .filter(|k| !is_implicit(&k.name))
                    .map(|k| {
                        Embedded::Declared(k, k.group.as_ref().and_then(|g| groups.get(g).copied()))
                    }),
            );
        }
    }
    keys.sort_by(Embedded::embed_order);
    for (i, k) in keys.iter().enumerate() {
        let full = format!("{prefix}{}", k.name());
        let mut value = k.check(&full, props, mode == Mode::Parse);
        if mode == Mode::Validate && kind == AliasKind::Transforms && k.name() == "predicate" {
            // Ferry's addition: Kafka Connect accepts a reference to an
            // undefined predicate here and only fails when a task starts.
            if let ConfigValue::String(p) = &value.value {
                if !predicate_aliases.contains(p) {
                    value.errors.push(format!(
                        "Invalid value {p} for configuration {full}: Predicate '{p}' is not defined in 'predicates'"
                    ));
                }
            }
        }
        out.push(k.info(&full, &group, &prefix, i as i32 + 2), value);
    }
}

/// A key embedded under an alias's prefix, as `ConfigDef.embed` embeds it:
/// one of this crate's exact definitions, or a key of another plugin's
/// `ConfigDef` (with the position of its group among the def's groups).
enum Embedded<'a> {
    Exact(KeyDef),
    Declared(&'a ConfigKey, Option<usize>),
}

impl Embedded<'_> {
    fn name(&self) -> &str {
        match self {
            Embedded::Exact(k) => k.name,
            Embedded::Declared(k, _) => &k.name,
        }
    }

    /// `ConfigDef.sortedConfigs()`: keys without a group first, then by
    /// group, order in group, required before defaulted, importance, name.
    fn embed_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        let rank = |k: &Self| {
            let (group, order, has_default, importance) = match k {
                Embedded::Exact(k) => (None, -1, k.has_default(), k.importance),
                Embedded::Declared(k, group) => {
                    (*group, k.order_in_group, k.has_default(), k.importance)
                }
            };
            (
                group,
                order,
                has_default,
                config::importance_rank(importance),
            )
        };
        rank(a).cmp(&rank(b)).then_with(|| a.name().cmp(b.name()))
    }

    /// The key's value and errors under its full name: what
    /// `ConfigDef.validateAll` reports, or with `parse`, what
    /// `ConfigDef.parse` does (the first error only). An embedded key's
    /// validator sees the bare name, as Kafka's `embeddedValidator` passes
    /// it.
    fn check(&self, full: &str, props: &Props, parse: bool) -> ValidatedValue {
        let k = match self {
            Embedded::Exact(k) => {
                return config::check_key(full, k.name, k, props, &|_| None, parse)
            }
            Embedded::Declared(k, _) => k,
        };
        let mut errors = Vec::new();
        let value = match (props.get(full), &k.default) {
            (Some(raw), _) => ferry_api::config::parse_type(full, raw, k.config_type)
                .unwrap_or_else(|e| {
                    errors.push(e.message);
                    ConfigValue::Null
                }),
            (None, DefaultValue::Value(d)) => d.clone(),
            (None, DefaultValue::Required) => {
                errors.push(ferry_api::config::ConfigError::missing(full).message);
                ConfigValue::Null
            }
        };
        // Parsing stops at the first error; validation runs the validator
        // anyway.
        if !parse || errors.is_empty() {
            if let Some(v) = &k.validator {
                if let Err(e) = v.ensure_valid(&k.name, &value) {
                    errors.push(e.message);
                }
            }
        }
        ValidatedValue {
            name: full.to_owned(),
            value,
            errors,
            visible: true,
            recommended: Vec::new(),
        }
    }

    /// The definition `/config/validate` reports for the key under `full`.
    fn info(&self, full: &str, group: &str, prefix: &str, order: i32) -> ConfigKey {
        match self {
            Embedded::Exact(k) => key_info(k, full, group, order),
            Embedded::Declared(k, _) => ConfigKey {
                name: full.to_owned(),
                validator: None,
                group: Some(match &k.group {
                    Some(g) => format!("{group}: {g}"),
                    None => group.to_owned(),
                }),
                order_in_group: order,
                dependents: k
                    .dependents
                    .iter()
                    .map(|d| format!("{prefix}{d}"))
                    .collect(),
                ..(*k).clone()
            },
        }
    }
}

/// One transformation of a chain, with its optional predicate.
struct Stage<R: ConnectRecord> {
    alias: String,
    class: String,
    transform: Box<dyn Transformation<R>>,
    predicate: Option<(Box<dyn Predicate<R>>, bool)>,
}

/// Kafka Connect's `TransformationChain`: the connector's transforms in
/// order, each guarded by its predicate.
pub struct TransformationChain<R: ConnectRecord> {
    stages: Vec<Stage<R>>,
}

impl<R: ConnectRecord> Default for TransformationChain<R> {
    fn default() -> Self {
        TransformationChain { stages: Vec::new() }
    }
}

impl<R: ConnectRecord> std::fmt::Debug for TransformationChain<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| (&s.alias, &s.class)))
            .finish()
    }
}

/// `originalsWithPrefix`: the raw settings under `prefix`, prefix stripped.
fn with_prefix(props: &Props, prefix: &str) -> Props {
    props
        .range(prefix.to_owned()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone()))
        .collect()
}

impl<R: ConnectRecord> TransformationChain<R> {
    /// A chain that passes records through unchanged.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds and configures the chain of a connector configuration with
    /// the classes `plugins` has, failing as a starting Kafka Connect task
    /// would (the error names the key).
    pub fn from_connector_config(
        plugins: &dyn TransformPlugins,
        props: &Props,
    ) -> Result<Self, ChainError> {
        let enriched = enrich(plugins, props, Mode::Parse);
        if let Some(e) = enriched.populate_errors.into_iter().next() {
            return Err(e);
        }
        let v = &enriched.validation;
        for (key, value) in v.keys.iter().zip(&v.values) {
            if let Some(e) = value.errors.first() {
                return Err(ChainError::new(&key.name, e.clone()));
            }
        }
        let predicate_aliases = aliases(props, AliasKind::Predicates);
        let mut stages = Vec::new();
        for alias in aliases(props, AliasKind::Transforms) {
            let prefix = format!("transforms.{alias}.");
            let type_key = format!("{prefix}type");
            let class = props
                .get(&type_key)
                .and_then(|t| plugins.resolve(t.trim_matches(|c: char| c <= ' ')))
                .ok_or_else(|| {
                    ChainError::new(
                        &type_key,
                        format!("Unknown transformation class for {type_key}"),
                    )
                })?;
            let mut transform = plugins
                .get(PluginType::Transformation, class)
                .and_then(|p| match p.plugin.factory() {
                    PluginFactory::Transformation(f) => Some(f.create::<R>()),
                    _ => None,
                })
                .ok_or_else(|| {
                    ChainError::new(&type_key, format!("{class} is not a transformation"))
                })?;
            let mut settings = with_prefix(props, &prefix);
            let predicate_alias = settings.remove("predicate");
            let negate = settings.remove("negate");
            transform.configure(&settings).map_err(|e| {
                ChainError::new(
                    if e.key.is_empty() {
                        type_key.clone()
                    } else {
                        format!("{prefix}{}", e.key)
                    },
                    format!(
                        "Transformation '{alias}' ({class}) could not be configured: {}",
                        e.message
                    ),
                )
            })?;
            let predicate = match predicate_alias {
                None => None,
                Some(p) => {
                    let p_prefix = format!("predicates.{p}.");
                    let p_type_key = format!("{p_prefix}type");
                    let p_class = props
                        .get(&p_type_key)
                        .filter(|_| predicate_aliases.contains(&p))
                        .and_then(|t| plugins.resolve(t.trim_matches(|c: char| c <= ' ')))
                        .ok_or_else(|| {
                            // Kafka Connect fails on the first key it looks
                            // up for an undefined alias, the version.
                            ChainError::new(
                                format!("{prefix}predicate"),
                                format!(
                                    "Transformation '{alias}' refers to predicate '{p}', which is not defined in 'predicates': Unknown configuration 'predicates.{p}.plugin.version'"
                                ),
                            )
                        })?;
                    let mut predicate = plugins
                        .get(PluginType::Predicate, p_class)
                        .and_then(|p| match p.plugin.factory() {
                            PluginFactory::Predicate(f) => Some(f.create::<R>()),
                            _ => None,
                        })
                        .ok_or_else(|| {
                            ChainError::new(&p_type_key, format!("{p_class} is not a predicate"))
                        })?;
                    predicate
                        .configure(&with_prefix(props, &p_prefix))
                        .map_err(|e| {
                            ChainError::new(
                                if e.key.is_empty() {
                                    p_type_key.clone()
                                } else {
                                    format!("{p_prefix}{}", e.key)
                                },
                                format!(
                                    "Predicate '{p}' ({p_class}) could not be configured: {}",
                                    e.message
                                ),
                            )
                        })?;
                    // `Boolean.parseBoolean` of the raw setting.
                    let negate = negate.is_some_and(|n| n.eq_ignore_ascii_case("true"));
                    Some((predicate, negate))
                }
            };
            stages.push(Stage {
                alias,
                class: class.to_owned(),
                transform,
                predicate,
            });
        }
        Ok(TransformationChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Whether a stage or its predicate prefers batches
    /// ([`Transformation::prefers_batches`]).
    pub fn prefers_batches(&self) -> bool {
        self.stages.iter().any(|s| {
            s.transform.prefers_batches()
                || s.predicate
                    .as_ref()
                    .is_some_and(|(p, _)| p.prefers_batches())
        })
    }

    /// The aliases and classes of the stages, in order.
    pub fn stages(&self) -> impl Iterator<Item = (&str, &str)> {
        self.stages
            .iter()
            .map(|s| (s.alias.as_str(), s.class.as_str()))
    }

    /// Runs `record` through the chain; `None` when a stage dropped it.
    /// A failure names the stage's alias and class.
    pub fn apply(&mut self, record: R) -> Result<Option<R>, TransformError> {
        let mut record = record;
        for stage in &mut self.stages {
            let run = match &stage.predicate {
                None => true,
                Some((p, negate)) => negate ^ p.test(&record),
            };
            if !run {
                continue;
            }
            match stage.transform.apply(record) {
                Ok(Some(r)) => record = r,
                Ok(None) => return Ok(None),
                Err(e) => return Err(e.at_stage(&stage.alias, &stage.class)),
            }
        }
        Ok(Some(record))
    }

    /// Runs a batch through the chain, stage by stage, so that each stage
    /// (and each predicate) is called once per batch: one result per
    /// record, in order, as [`apply`](Self::apply) would give it. A record
    /// leaves the batch at the stage that drops it or fails on it.
    pub fn apply_batch(&mut self, records: Vec<R>) -> Vec<Result<Option<R>, TransformError>> {
        let mut slots: Vec<Result<Option<R>, TransformError>> =
            records.into_iter().map(|r| Ok(Some(r))).collect();
        let mut selected: Vec<usize> = Vec::with_capacity(slots.len());
        for stage in &mut self.stages {
            selected.clear();
            selected.extend((0..slots.len()).filter(|&i| matches!(slots[i], Ok(Some(_)))));
            if let Some((p, negate)) = &stage.predicate {
                let live: Vec<&R> = selected
                    .iter()
                    .filter_map(|&i| slots[i].as_ref().ok().and_then(Option::as_ref))
                    .collect();
                let hits = p.test_batch(&live);
                // A missing answer counts as not matching, as a failing test does.
                let mut hits = hits.into_iter();
                selected.retain(|_| *negate ^ hits.next().unwrap_or(false));
            }
            if selected.is_empty() {
                continue;
            }
            let input: Vec<R> = selected
                .iter()
                .filter_map(|&i| std::mem::replace(&mut slots[i], Ok(None)).ok().flatten())
                .collect();
            let mut results = stage.transform.apply_batch(input).into_iter();
            for &i in &selected {
                slots[i] = match results.next() {
                    Some(Ok(r)) => Ok(r),
                    Some(Err(e)) => Err(e.at_stage(&stage.alias, &stage.class)),
                    None => Err(TransformError::data(format!(
                        "transformation {} returned fewer results than records",
                        stage.class
                    ))
                    .at_stage(&stage.alias, &stage.class)),
                };
            }
        }
        slots
    }

    /// Closes every transform and predicate.
    pub fn close(&mut self) {
        for stage in &mut self.stages {
            stage.transform.close();
            if let Some((p, _)) = &mut stage.predicate {
                p.close();
            }
        }
    }
}
