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

use ferry_api::config::{
    ConfigInfo, ConfigKey, ConfigType, ConfigValue, DefaultValue, Importance, ValidatedValue, Width,
};
use ferry_api::Props;

use crate::config::{self, Def, JValue, KeyDef};
use crate::error::{ChainError, TransformError};
use crate::record::ConnectRecord;
use crate::registry::{self, PluginKind, Resolved};
use crate::{Predicate, Transformation};

const PLUGIN_VERSION: &str = "plugin.version";

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
    fn plugin(self) -> PluginKind {
        match self {
            AliasKind::Transforms => PluginKind::Transformation,
            AliasKind::Predicates => PluginKind::Predicate,
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
/// their aliases, as `/connector-plugins/{type}/config/validate` does.
///
/// The runtime can merge these into its own results; its definitions of
/// `transforms` and `predicates` are superseded by the ones here, which
/// carry Kafka Connect's duplicate-alias message.
pub fn validation(props: &Props) -> Validation {
    enrich(props, Mode::Validate).validation
}

/// Just the values of [`validation`].
pub fn validate(props: &Props) -> Vec<ValidatedValue> {
    validation(props).values
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

fn resolve_any(name: &str) -> Option<String> {
    registry::resolve(name).map(|r| r.class().to_owned())
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
/// bare version meaning exactly that version) against the one version
/// Ferry's plugins have; the error is Kafka Connect's.
fn version_error(class: &str, spec: Option<&str>) -> Option<String> {
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
    let v = version_parts(registry::KAFKA_VERSION);
    if restrictions.iter().any(|r| r.contains(&v)) {
        return None;
    }
    let printed: Vec<String> = restrictions.iter().map(Restriction::to_string).collect();
    Some(format!(
        "Plugin {class} not found that matches the version range {}, available versions: [{}]",
        printed.join(","),
        registry::KAFKA_VERSION
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

fn enrich(props: &Props, mode: Mode) -> Enriched {
    let mut validation = Validation::default();
    let mut populate_errors = Vec::new();
    for kind in [AliasKind::Transforms, AliasKind::Predicates] {
        validation.push(list_key(kind), validate_list(props, kind));
    }
    let predicate_aliases = aliases(props, AliasKind::Predicates);
    for kind in [AliasKind::Transforms, AliasKind::Predicates] {
        for alias in aliases(props, kind) {
            enrich_alias(
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

fn enrich_alias(
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
    let resolved = raw_type.and_then(|t| registry::resolve(t.trim_matches(|c: char| c <= ' ')));
    let usable =
        resolved.filter(|r| registry::concrete_subclass_error(*r, kind.plugin()).is_none());
    // `fetchPluginVersion`: only a plugin of the right type has a version.
    let default_version = raw_type
        .and_then(registry::resolve)
        .filter(|r| matches!(r, Resolved::Plugin(_, k) if *k == kind.plugin()))
        .map(|_| registry::KAFKA_VERSION);

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
        if let Some(e) = registry::concrete_subclass_error(r, kind.plugin()) {
            type_value.errors.push(e);
        } else {
            if let Some(e) = version_error(r.class(), props_version.or(default_version)) {
                type_value.errors.push(e);
            }
        }
    }
    type_value.recommended = registry::classes_of(kind.plugin())
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
        if let (Some(v), Some(r)) = (&value, usable) {
            if let Some(e) = version_error(r.class(), Some(v)) {
                errors.push(e);
            }
        }
        ValidatedValue {
            name: version_key.clone(),
            value: value.map_or(ConfigValue::Null, ConfigValue::String),
            errors,
            visible: true,
            recommended: usable
                .map(|_| vec![registry::KAFKA_VERSION.to_owned()])
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
            if let Some(e) = registry::concrete_subclass_error(r, kind.plugin()) {
                populate_errors.push(ChainError::new(&type_key, e));
                return;
            }
            if let Some(e) = version_error(r.class(), props_version) {
                populate_errors.push(ChainError::new(&version_key, e));
                return;
            }
            registry::def_for(r.class()).unwrap_or(Def { keys: Vec::new() })
        }
    };
    let mut keys = Def {
        keys: if kind == AliasKind::Transforms {
            implicit_transform_keys()
        } else {
            Vec::new()
        },
    };
    keys.keys.extend(plugin_def.keys.into_iter().filter(|k| {
        kind != AliasKind::Transforms || (k.name != "predicate" && k.name != "negate")
    }));
    let sorted: Vec<KeyDef> = keys.sorted_keys().into_iter().cloned().collect();
    for (i, k) in sorted.iter().enumerate() {
        let full = format!("{prefix}{}", k.name);
        let mut value = config::check_key(&full, k.name, k, props, &|_| None, mode == Mode::Parse);
        if mode == Mode::Validate && kind == AliasKind::Transforms && k.name == "predicate" {
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
        out.push(key_info(k, &full, &group, i as i32 + 2), value);
    }
}

/// One transformation of a chain, with its optional predicate.
struct Stage<R: ConnectRecord> {
    alias: String,
    class: &'static str,
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
            .entries(self.stages.iter().map(|s| (&s.alias, s.class)))
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

    /// Builds and configures the chain of a connector configuration, failing
    /// as a starting Kafka Connect task would (the error names the key).
    pub fn from_connector_config(props: &Props) -> Result<Self, ChainError> {
        let enriched = enrich(props, Mode::Parse);
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
                .and_then(|t| registry::resolve_class(t.trim_matches(|c: char| c <= ' ')))
                .ok_or_else(|| {
                    ChainError::new(
                        &type_key,
                        format!("Unknown transformation class for {type_key}"),
                    )
                })?;
            let mut transform = registry::new_transformation::<R>(class).ok_or_else(|| {
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
                        .and_then(|t| registry::resolve_class(t.trim_matches(|c: char| c <= ' ')))
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
                    let mut predicate = registry::new_predicate::<R>(p_class).ok_or_else(|| {
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
                class,
                transform,
                predicate,
            });
        }
        Ok(TransformationChain { stages })
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The aliases and classes of the stages, in order.
    pub fn stages(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.stages.iter().map(|s| (s.alias.as_str(), s.class))
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
                Err(e) => return Err(e.at_stage(&stage.alias, stage.class)),
            }
        }
        Ok(Some(record))
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
