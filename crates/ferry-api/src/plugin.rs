//! Plugins as a worker registers them: the six kinds Kafka Connect knows
//! (source and sink connectors, converters, header converters,
//! transformations, predicates), each described by a [`Plugin`] (class
//! name, aliases, version, configuration keys) with a factory that builds
//! instances.
//!
//! Built-in plugins and plugins loaded at run time are registered the same
//! way: the worker's registry takes a `Plugin` and makes it usable
//! everywhere a configuration can name a class.
#![warn(missing_docs)]

use std::fmt;
use std::sync::Arc;

use crate::config::ConfigDef;
use crate::connector::{ConnectorKind, PluginDescriptor};
use crate::convert::{Converter, HeaderConverter};
use crate::record::{ConnectRecord, SinkRecord, SourceRecord};
use crate::transform::{Predicate, Transformation};

/// The kinds of plugins (Kafka Connect's `PluginType`), in the order
/// `/connector-plugins` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginType {
    /// A sink connector.
    Sink,
    /// A source connector.
    Source,
    /// A single message transform.
    Transformation,
    /// A condition guarding a transformation.
    Predicate,
    /// A key or value converter.
    Converter,
    /// A header converter.
    HeaderConverter,
}

impl PluginType {
    /// Every kind, in listing order.
    pub const ALL: [PluginType; 6] = [
        PluginType::Sink,
        PluginType::Source,
        PluginType::Transformation,
        PluginType::Predicate,
        PluginType::Converter,
        PluginType::HeaderConverter,
    ];

    /// The `type` in `/connector-plugins` listings.
    pub fn name(self) -> &'static str {
        match self {
            PluginType::Sink => "sink",
            PluginType::Source => "source",
            PluginType::Converter => "converter",
            PluginType::HeaderConverter => "header_converter",
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
        }
    }

    /// The simple name of the Java interface or class a plugin of this kind
    /// implements, as Kafka Connect's messages name it.
    pub fn interface(self) -> &'static str {
        match self {
            PluginType::Sink => "SinkConnector",
            PluginType::Source => "SourceConnector",
            PluginType::Converter => "Converter",
            PluginType::HeaderConverter => "HeaderConverter",
            PluginType::Transformation => "Transformation",
            PluginType::Predicate => "Predicate",
        }
    }

    /// The suffix Kafka Connect strips from a class's simple name to make
    /// its short alias: `Connector` for connectors, else the interface.
    fn alias_suffix(self) -> &'static str {
        match self {
            PluginType::Sink | PluginType::Source => "Connector",
            other => other.interface(),
        }
    }
}

impl From<ConnectorKind> for PluginType {
    fn from(kind: ConnectorKind) -> Self {
        match kind {
            ConnectorKind::Source => PluginType::Source,
            ConnectorKind::Sink => PluginType::Sink,
        }
    }
}

/// Builds unconfigured converters.
pub type ConverterFactory = Arc<dyn Fn() -> Box<dyn Converter> + Send + Sync>;

/// Builds unconfigured header converters.
pub type HeaderConverterFactory = Arc<dyn Fn() -> Box<dyn HeaderConverter> + Send + Sync>;

/// Builds unconfigured transformations, for source or sink records.
#[derive(Clone)]
pub struct TransformationFactory {
    source: Arc<dyn Fn() -> Box<dyn Transformation<SourceRecord>> + Send + Sync>,
    sink: Arc<dyn Fn() -> Box<dyn Transformation<SinkRecord>> + Send + Sync>,
}

impl TransformationFactory {
    /// A factory of the transformations `new` returns, which work on both
    /// record types.
    pub fn new<T, F>(new: F) -> Self
    where
        T: Transformation<SourceRecord> + Transformation<SinkRecord> + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        let new = Arc::new(new);
        let for_sink = Arc::clone(&new);
        TransformationFactory {
            source: Arc::new(move || Box::new(new())),
            sink: Arc::new(move || Box::new(for_sink())),
        }
    }

    /// A new, unconfigured transformation for records of type `R`.
    pub fn create<R: ConnectRecord>(&self) -> Box<dyn Transformation<R>> {
        R::new_transformation(self)
    }

    pub(crate) fn for_source(&self) -> Box<dyn Transformation<SourceRecord>> {
        (self.source)()
    }

    pub(crate) fn for_sink(&self) -> Box<dyn Transformation<SinkRecord>> {
        (self.sink)()
    }
}

/// Builds unconfigured predicates, for source or sink records.
#[derive(Clone)]
pub struct PredicateFactory {
    source: Arc<dyn Fn() -> Box<dyn Predicate<SourceRecord>> + Send + Sync>,
    sink: Arc<dyn Fn() -> Box<dyn Predicate<SinkRecord>> + Send + Sync>,
}

impl PredicateFactory {
    /// A factory of the predicates `new` returns, which work on both record
    /// types.
    pub fn new<P, F>(new: F) -> Self
    where
        P: Predicate<SourceRecord> + Predicate<SinkRecord> + 'static,
        F: Fn() -> P + Send + Sync + 'static,
    {
        let new = Arc::new(new);
        let for_sink = Arc::clone(&new);
        PredicateFactory {
            source: Arc::new(move || Box::new(new())),
            sink: Arc::new(move || Box::new(for_sink())),
        }
    }

    /// A new, unconfigured predicate for records of type `R`.
    pub fn create<R: ConnectRecord>(&self) -> Box<dyn Predicate<R>> {
        R::new_predicate(self)
    }

    pub(crate) fn for_source(&self) -> Box<dyn Predicate<SourceRecord>> {
        (self.source)()
    }

    pub(crate) fn for_sink(&self) -> Box<dyn Predicate<SinkRecord>> {
        (self.sink)()
    }
}

/// How a plugin's instances are built; the variant is the plugin's kind.
#[derive(Clone)]
pub enum PluginFactory {
    /// A source or sink connector (its descriptor says which) and its
    /// tasks.
    Connector(PluginDescriptor),
    /// A converter.
    Converter(ConverterFactory),
    /// A header converter.
    HeaderConverter(HeaderConverterFactory),
    /// A transformation.
    Transformation(TransformationFactory),
    /// A predicate.
    Predicate(PredicateFactory),
}

/// One plugin as a worker registers it: its class name, the aliases it
/// asks for, its version, its configuration keys and its factory.
///
/// A class that implements two interfaces (as `JsonConverter` is both a
/// converter and a header converter) is registered once per kind.
#[derive(Clone)]
pub struct Plugin {
    class: String,
    aliases: Vec<String>,
    version: String,
    config_def: ConfigDef,
    factory: PluginFactory,
}

impl Plugin {
    /// A source or sink connector; its class, aliases and version are the
    /// descriptor's, its keys those of `config_def()`.
    pub fn connector(descriptor: PluginDescriptor) -> Self {
        Plugin {
            class: descriptor.class.to_owned(),
            aliases: descriptor.aliases.iter().map(|a| (*a).to_owned()).collect(),
            version: descriptor.version.to_owned(),
            config_def: (descriptor.new_connector)().config_def(),
            factory: PluginFactory::Connector(descriptor),
        }
    }

    /// A converter of class `class`, built by `new`.
    pub fn converter<C, F>(class: impl Into<String>, version: impl Into<String>, new: F) -> Self
    where
        C: Converter + 'static,
        F: Fn() -> C + Send + Sync + 'static,
    {
        let config_def = new().config_def();
        Self::with_factory(
            class,
            version,
            config_def,
            PluginFactory::Converter(Arc::new(move || Box::new(new()))),
        )
    }

    /// A header converter of class `class`, built by `new`.
    pub fn header_converter<H, F>(
        class: impl Into<String>,
        version: impl Into<String>,
        new: F,
    ) -> Self
    where
        H: HeaderConverter + 'static,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let config_def = new().config_def();
        Self::with_factory(
            class,
            version,
            config_def,
            PluginFactory::HeaderConverter(Arc::new(move || Box::new(new()))),
        )
    }

    /// A transformation of class `class`, built by `new`.
    pub fn transformation<T, F>(
        class: impl Into<String>,
        version: impl Into<String>,
        new: F,
    ) -> Self
    where
        T: Transformation<SourceRecord> + Transformation<SinkRecord> + 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        let config_def = Transformation::<SourceRecord>::config_def(&new());
        Self::with_factory(
            class,
            version,
            config_def,
            PluginFactory::Transformation(TransformationFactory::new(new)),
        )
    }

    /// A predicate of class `class`, built by `new`.
    pub fn predicate<P, F>(class: impl Into<String>, version: impl Into<String>, new: F) -> Self
    where
        P: Predicate<SourceRecord> + Predicate<SinkRecord> + 'static,
        F: Fn() -> P + Send + Sync + 'static,
    {
        let config_def = Predicate::<SourceRecord>::config_def(&new());
        Self::with_factory(
            class,
            version,
            config_def,
            PluginFactory::Predicate(PredicateFactory::new(new)),
        )
    }

    fn with_factory(
        class: impl Into<String>,
        version: impl Into<String>,
        config_def: ConfigDef,
        factory: PluginFactory,
    ) -> Self {
        Plugin {
            class: class.into(),
            aliases: Vec::new(),
            version: version.into(),
            config_def,
            factory,
        }
    }

    /// The same plugin asking for further aliases (beyond the ones every
    /// plugin gets, see [`Plugin::alias_candidates`]).
    pub fn with_aliases<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases.extend(aliases.into_iter().map(Into::into));
        self
    }

    /// The class name, e.g. `org.apache.kafka.connect.json.JsonConverter`.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The aliases the plugin asked for.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// The plugin's version, as `/connector-plugins` reports it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The plugin's kind.
    pub fn plugin_type(&self) -> PluginType {
        match &self.factory {
            PluginFactory::Connector(d) => d.kind.into(),
            PluginFactory::Converter(_) => PluginType::Converter,
            PluginFactory::HeaderConverter(_) => PluginType::HeaderConverter,
            PluginFactory::Transformation(_) => PluginType::Transformation,
            PluginFactory::Predicate(_) => PluginType::Predicate,
        }
    }

    /// The plugin's own configuration keys (`config()` in Kafka Connect).
    pub fn config_def(&self) -> &ConfigDef {
        &self.config_def
    }

    /// How instances are built.
    pub fn factory(&self) -> &PluginFactory {
        &self.factory
    }

    /// The names that designate this plugin besides its class name, unless
    /// another plugin's class claims the same name (then the name is
    /// ambiguous and designates none; the registry decides): the aliases it
    /// asked for, and Kafka Connect's aliases, its simple class name
    /// (`JsonConverter`) and that name without the kind's suffix (`Json`,
    /// `FileStreamSource`). For a nested class Kafka Connect's simple name
    /// is the inner name alone (`Cast$Value` gives `Value`); Ferry also
    /// accepts the outer and inner names together (`Cast$Value`).
    pub fn alias_candidates(&self) -> Vec<String> {
        let simple = self.class.rsplit('.').next().unwrap_or(&self.class);
        let java_simple = simple.rsplit('$').next().unwrap_or(simple);
        let suffix = self.plugin_type().alias_suffix();
        // `PluginUtils.prunePluginName`: cut at the last occurrence of the
        // suffix, unless that is the whole name.
        let pruned = match java_simple.rfind(suffix) {
            Some(pos) if pos > 0 => &java_simple[..pos],
            _ => java_simple,
        };
        let mut out: Vec<String> = Vec::new();
        for name in self
            .aliases
            .iter()
            .map(String::as_str)
            .chain([simple, java_simple, pruned])
        {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
        out
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("class", &self.class)
            .field("type", &self.plugin_type())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::transform::TransformError;
    use crate::Props;

    struct Noop;

    impl<R: ConnectRecord> Transformation<R> for Noop {
        fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
            Ok(())
        }
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        fn apply(&mut self, record: R) -> Result<Option<R>, TransformError> {
            Ok(Some(record))
        }
    }

    fn names(p: &Plugin) -> Vec<String> {
        p.alias_candidates()
    }

    #[test]
    fn aliases_follow_kafka_connect() {
        let t = Plugin::transformation("com.example.Cast$Value", "1", || Noop);
        assert_eq!(names(&t), ["Cast$Value", "Value"]);
        let t = Plugin::transformation("com.example.UpperTransformation", "1", || Noop)
            .with_aliases(["upper"]);
        assert_eq!(
            names(&t),
            ["upper", "UpperTransformation", "Upper"],
            "asked-for aliases first, then simple and pruned names"
        );
        // The suffix is cut at its last occurrence, never to nothing.
        let t = Plugin::transformation("Transformation", "1", || Noop);
        assert_eq!(names(&t), ["Transformation"]);
        assert_eq!(t.plugin_type(), PluginType::Transformation);
    }

    #[test]
    fn factories_build_for_either_record_type() {
        let t = Plugin::transformation("com.example.Noop", "1", || Noop);
        let PluginFactory::Transformation(f) = t.factory() else {
            panic!("a transformation factory");
        };
        let record = SinkRecord {
            topic: "t".into(),
            ..Default::default()
        };
        let out = f.create::<SinkRecord>().apply(record.clone());
        assert_eq!(out, Ok(Some(record)));
        let source = SourceRecord::default();
        assert!(f.create::<SourceRecord>().apply(source).is_ok());
    }
}
