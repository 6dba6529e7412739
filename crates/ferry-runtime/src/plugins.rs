//! The plugin registry: every plugin this worker can use, of all six kinds
//! (source and sink connectors, converters, header converters,
//! transformations, predicates), found by Kafka Connect class name or
//! alias.
//!
//! Built-in plugins are registered through [`Plugins::register`], as
//! plugins from elsewhere are; each registration names its [`Origin`].
//! Aliases follow Kafka Connect's `PluginUtils.computeAliases`: a plugin's
//! simple class name and that name without its kind's suffix
//! (`FileStreamSource`, `Json`), plus any alias the plugin asks for, each
//! usable only while it designates a single class — an ambiguous alias
//! designates nothing, and the full class names must be used.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use ferry_api::config::{ConfigDef, ConfigError};
use ferry_api::{
    ConvertError, Converter, HeaderConverter, Plugin, PluginDescriptor, PluginFactory, PluginType,
};
use ferry_transforms::{TransformPlugin, TransformPlugins};

use crate::entities::PluginInfo;
use crate::worker_config::{WorkerConfig, HEADER_CONVERTER};
use crate::Props;

/// The Kafka Connect version whose behaviour Ferry reproduces; reported as
/// the version of the plugins that mirror Kafka Connect's own.
pub const CONNECT_VERSION: &str = "4.3.1";

/// Where a registered plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into this worker.
    BuiltIn,
    /// Loaded from a file (a shared library under `plugin.path`).
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Why a plugin could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// A plugin of the same class is registered already: from another
    /// origin, or from the same one as the same kind. (A class may be
    /// registered as several kinds by one origin, as `JsonConverter` is a
    /// converter and a header converter.)
    #[error(
        "cannot register {} plugin {class} from {origin}: class {class} is already registered from {existing}",
        plugin_type.name()
    )]
    DuplicateClass {
        /// The class name both registrations claim.
        class: String,
        /// The kind of the refused registration.
        plugin_type: PluginType,
        /// Where the refused registration comes from.
        origin: Origin,
        /// Where the registration already there comes from.
        existing: Origin,
    },
}

/// A plugin with its origin.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The plugin as it was registered.
    pub plugin: Plugin,
    /// Where it comes from.
    pub origin: Origin,
}

/// The plugin registry.
#[derive(Debug, Default)]
pub struct Plugins {
    entries: Vec<Registered>,
    /// Each usable alias and the class it designates.
    aliases: HashMap<String, String>,
}

impl Plugins {
    /// A registry with nothing in it.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with Ferry's built-in converters, header converters,
    /// transformations and predicates, and the built-in `connectors`.
    pub fn with_built_ins(connectors: Vec<PluginDescriptor>) -> Result<Self, RegisterError> {
        let mut plugins = Plugins::new();
        let built_ins = ferry_convert::plugins()
            .into_iter()
            .chain(ferry_transforms::plugins())
            .chain(connectors.into_iter().map(Plugin::connector));
        for plugin in built_ins {
            plugins.register(Origin::BuiltIn, plugin)?;
        }
        Ok(plugins)
    }

    /// Adds a plugin. Its class must be new to the registry, or registered
    /// from the same origin as other kinds only.
    pub fn register(&mut self, origin: Origin, plugin: Plugin) -> Result<(), RegisterError> {
        let clash = self.entries.iter().find(|e| {
            e.plugin.class() == plugin.class()
                && (e.origin != origin || e.plugin.plugin_type() == plugin.plugin_type())
        });
        if let Some(existing) = clash {
            return Err(RegisterError::DuplicateClass {
                class: plugin.class().to_owned(),
                plugin_type: plugin.plugin_type(),
                origin,
                existing: existing.origin.clone(),
            });
        }
        self.entries.push(Registered { plugin, origin });
        self.aliases = self.compute_aliases();
        Ok(())
    }

    /// `PluginUtils.computeAliases`: every alias candidate of every plugin
    /// that designates a single class.
    fn compute_aliases(&self) -> HashMap<String, String> {
        let mut claims: HashMap<String, BTreeSet<&str>> = HashMap::new();
        for e in &self.entries {
            for alias in e.plugin.alias_candidates() {
                claims.entry(alias).or_default().insert(e.plugin.class());
            }
        }
        claims
            .into_iter()
            .filter_map(|(alias, classes)| match classes.first() {
                Some(class) if classes.len() == 1 => Some((alias, (*class).to_owned())),
                _ => None,
            })
            .collect()
    }

    /// The class `name` designates: a registered class name, or the class
    /// of a usable alias.
    fn class_of(&self, name: &str) -> Option<&str> {
        match self.entries.iter().find(|e| e.plugin.class() == name) {
            Some(e) => Some(e.plugin.class()),
            None => self.aliases.get(name).map(String::as_str),
        }
    }

    /// The plugin of `plugin_type` that `name` (a class name or alias,
    /// surrounding whitespace ignored) designates.
    pub fn find(&self, plugin_type: PluginType, name: &str) -> Option<&Registered> {
        self.find_exact(plugin_type, name.trim())
    }

    fn find_exact(&self, plugin_type: PluginType, name: &str) -> Option<&Registered> {
        let class = self.class_of(name)?;
        self.entries
            .iter()
            .find(|e| e.plugin.class() == class && e.plugin.plugin_type() == plugin_type)
    }

    /// The plugins of `plugin_type`, sorted by class name.
    pub fn of_type(&self, plugin_type: PluginType) -> Vec<&Registered> {
        let mut out: Vec<&Registered> = self
            .entries
            .iter()
            .filter(|e| e.plugin.plugin_type() == plugin_type)
            .collect();
        out.sort_by(|a, b| a.plugin.class().cmp(b.plugin.class()));
        out
    }

    /// The connector plugin named by `connector.class`.
    pub fn connector(&self, name: &str) -> Option<&PluginDescriptor> {
        [PluginType::Sink, PluginType::Source]
            .into_iter()
            .find_map(|t| self.find(t, name))
            .and_then(|e| match e.plugin.factory() {
                PluginFactory::Connector(d) => Some(d),
                _ => None,
            })
    }

    /// Every connector plugin.
    pub fn connectors(&self) -> impl Iterator<Item = &PluginDescriptor> {
        self.entries
            .iter()
            .filter_map(|e| match e.plugin.factory() {
                PluginFactory::Connector(d) => Some(d),
                _ => None,
            })
    }

    /// The error for an unknown `connector.class`, listing what exists.
    pub fn unknown_connector_message(&self, class: &str) -> String {
        let mut names: Vec<&str> = self.connectors().map(|p| p.class).collect();
        names.sort_unstable();
        format!(
            "Invalid value {class} for configuration connector.class: Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
            names.join(", ")
        )
    }

    /// A configured converter of class (or alias) `class`; `props` are its
    /// own settings, with the `key.converter.` / `value.converter.` prefix
    /// already stripped.
    pub fn new_converter(
        &self,
        class: &str,
        is_key: bool,
        props: &Props,
    ) -> Result<Box<dyn Converter>, ConvertError> {
        let new = match self
            .find(PluginType::Converter, class)
            .map(|e| e.plugin.factory())
        {
            Some(PluginFactory::Converter(new)) => new,
            _ => return Err(ConvertError::UnknownClass(class.to_owned())),
        };
        let mut converter = new();
        converter.configure(props, is_key)?;
        Ok(converter)
    }

    /// A configured header converter of class (or alias) `class`; `props`
    /// are its own settings, `header.converter.` prefix stripped.
    pub fn new_header_converter(
        &self,
        class: &str,
        props: &Props,
    ) -> Result<Box<dyn HeaderConverter>, ConvertError> {
        let new = match self
            .find(PluginType::HeaderConverter, class)
            .map(|e| e.plugin.factory())
        {
            Some(PluginFactory::HeaderConverter(new)) => new,
            _ => return Err(ConvertError::UnknownClass(class.to_owned())),
        };
        let mut converter = new();
        converter.configure(props)?;
        Ok(converter)
    }

    /// The `header.converter` check of worker and connector configs, with
    /// Kafka Connect's message for a class it cannot load.
    pub fn check_header_converter(&self, class: &str) -> Result<(), String> {
        match self.find(PluginType::HeaderConverter, class) {
            Some(_) => Ok(()),
            None => Err(format!("Class {class} could not be found.")),
        }
    }

    /// Refuses a worker configuration whose `header.converter` names no
    /// registered header converter, as Kafka Connect's worker does when it
    /// parses its configuration.
    pub fn check_worker_config(&self, config: &WorkerConfig) -> Result<(), ConfigError> {
        let (class, _) = config.converter_for(HEADER_CONVERTER, &Props::new());
        self.check_header_converter(&class)
            .map_err(|reason| ConfigError::invalid(HEADER_CONVERTER, &class, &reason))
    }

    /// The plugin `/connector-plugins/{plugin}/config` describes: the
    /// first kind, in the order Kafka Connect tries them, that has a plugin
    /// of that class or alias.
    pub fn describe(&self, name: &str) -> Option<&Registered> {
        [
            PluginType::Sink,
            PluginType::Source,
            PluginType::Converter,
            PluginType::HeaderConverter,
            PluginType::Transformation,
            PluginType::Predicate,
        ]
        .into_iter()
        .find_map(|t| self.find(t, name))
    }

    /// The own configuration keys of the plugin of `plugin_type` that
    /// `name` designates.
    pub fn config_def(&self, plugin_type: PluginType, name: &str) -> Option<&ConfigDef> {
        self.find(plugin_type, name).map(|e| e.plugin.config_def())
    }

    /// Plugins of the requested types for `/connector-plugins`: sinks
    /// first, then sources, transformations, predicates, converters, header
    /// converters, each sorted by class name.
    pub fn list(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        PluginType::ALL
            .into_iter()
            .filter(|t| types.contains(t))
            .flat_map(|t| {
                self.of_type(t).into_iter().map(move |e| PluginInfo {
                    class_name: e.plugin.class().to_owned(),
                    plugin_type: t.name().to_owned(),
                    version: Some(e.plugin.version().to_owned()),
                })
            })
            .collect()
    }
}

/// What transformation chains look up: transformations and predicates
/// only, names as given (the chain trims them as Kafka Connect does).
impl TransformPlugins for Plugins {
    fn resolve(&self, name: &str) -> Option<&str> {
        let class = self.class_of(name)?;
        self.entries
            .iter()
            .any(|e| {
                e.plugin.class() == class
                    && matches!(
                        e.plugin.plugin_type(),
                        PluginType::Transformation | PluginType::Predicate
                    )
            })
            .then_some(class)
    }

    fn get(&self, plugin_type: PluginType, class: &str) -> Option<TransformPlugin<'_>> {
        self.find_exact(plugin_type, class)
            .map(|e| TransformPlugin {
                plugin: &e.plugin,
                built_in: e.origin == Origin::BuiltIn,
            })
    }

    fn classes(&self, plugin_type: PluginType) -> Vec<&str> {
        self.of_type(plugin_type)
            .into_iter()
            .map(|e| e.plugin.class())
            .collect()
    }
}
