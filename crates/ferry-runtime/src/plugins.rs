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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_trait::async_trait;
    use ferry_api::config::{ConfigType, Importance, Validator};
    use ferry_api::{
        ConnectError, ConnectRecord, Connector, ConnectorContext, ConnectorKind, Predicate, Schema,
        SinkRecord, SourceRecord, TransformError, Transformation, Value,
    };
    use ferry_transforms::TransformationChain;

    use super::*;
    use crate::connector_config::validate_connector_config;
    use crate::headers::HeaderConverter as TaskHeaderConverter;
    use crate::task::Converters;
    use crate::test_props;

    const UPPER: &str = "com.example.UpperConverter";
    const TAGGING: &str = "com.example.TaggingHeaderConverter";
    const SHOUT: &str = "com.example.ShoutTransformation";
    const LONG_TOPIC: &str = "com.example.LongTopicPredicate";
    const SINK: &str = "com.example.NullSinkConnector";

    fn file() -> Origin {
        Origin::File("/plugins/libexample.so".into())
    }

    /// Writes strings upper-cased after its `prefix` setting.
    #[derive(Default)]
    struct Upper {
        prefix: String,
    }

    impl Converter for Upper {
        fn configure(&mut self, props: &Props, _is_key: bool) -> Result<(), ConvertError> {
            self.prefix = props.get("prefix").cloned().unwrap_or_default();
            Ok(())
        }
        fn config_def(&self) -> ConfigDef {
            let mut def = ConfigDef::new();
            def.define("prefix", ConfigType::String).default_str("");
            def.define("secret", ConfigType::Password).default_null();
            def
        }
        fn from_connect(
            &self,
            _topic: &str,
            _schema: Option<&Schema>,
            value: &Value,
            out: &mut Vec<u8>,
        ) -> Result<bool, ConvertError> {
            out.clear();
            match value {
                Value::String(s) => {
                    out.extend(format!("{}{}", self.prefix, s.to_uppercase()).bytes());
                    Ok(true)
                }
                Value::Null => Ok(false),
                _ => Err(ConvertError::Data("strings only".into())),
            }
        }
        fn to_connect(
            &self,
            _topic: &str,
            data: Option<&[u8]>,
        ) -> Result<(Option<Schema>, Value), ConvertError> {
            Ok((
                None,
                data.map_or(Value::Null, |b| {
                    Value::String(String::from_utf8_lossy(b).to_lowercase())
                }),
            ))
        }
    }

    /// Writes header values as `<header name>=<text>`.
    #[derive(Default)]
    struct Tagging;

    impl HeaderConverter for Tagging {
        fn configure(&mut self, _props: &Props) -> Result<(), ConvertError> {
            Ok(())
        }
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        fn from_connect_header(
            &self,
            _topic: &str,
            header_key: &str,
            _schema: Option<&Schema>,
            value: &Value,
        ) -> Result<Option<Vec<u8>>, ConvertError> {
            Ok(Some(format!("{header_key}={value:?}").into_bytes()))
        }
        fn to_connect_header(
            &self,
            _topic: &str,
            header_key: &str,
            data: Option<&[u8]>,
        ) -> Result<(Option<Schema>, Value), ConvertError> {
            let text = String::from_utf8_lossy(data.unwrap_or_default()).into_owned();
            Ok((None, Value::String(format!("{header_key}:{text}"))))
        }
    }

    /// Appends its required `suffix` to string values.
    #[derive(Default)]
    struct Shout {
        suffix: String,
    }

    impl<R: ConnectRecord> Transformation<R> for Shout {
        fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
            let parsed = Transformation::<R>::config_def(self).parse(props)?;
            self.suffix = parsed.string("suffix").unwrap_or_default().to_owned();
            Ok(())
        }
        fn config_def(&self) -> ConfigDef {
            let mut def = ConfigDef::new();
            def.define("suffix", ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("What to append.");
            def.define("token", ConfigType::Password)
                .default_null()
                .importance(Importance::Low);
            def
        }
        fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
            let (schema, value) = record.take_value();
            let value = match value {
                Value::String(s) => Value::String(s + &self.suffix),
                other => other,
            };
            record.set_value(schema, value);
            Ok(Some(record))
        }
    }

    /// Matches topics of at least `min.length` characters.
    #[derive(Default)]
    struct LongTopic {
        min: usize,
    }

    impl<R: ConnectRecord> Predicate<R> for LongTopic {
        fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
            let parsed = Predicate::<R>::config_def(self).parse(props)?;
            self.min = usize::try_from(parsed.int("min.length").unwrap_or(0)).unwrap_or(0);
            Ok(())
        }
        fn config_def(&self) -> ConfigDef {
            let mut def = ConfigDef::new();
            def.define("min.length", ConfigType::Int).default_str("3");
            def
        }
        fn test(&self, record: &R) -> bool {
            record.topic().len() >= self.min
        }
    }

    #[derive(Default)]
    struct NullSink;

    #[async_trait]
    impl Connector for NullSink {
        fn version(&self) -> String {
            "1.0".into()
        }
        fn config_def(&self) -> ConfigDef {
            ConfigDef::new()
        }
        async fn start(
            &mut self,
            _props: Props,
            _context: Arc<dyn ConnectorContext>,
        ) -> Result<(), ConnectError> {
            Ok(())
        }
        fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
            Ok(Vec::new())
        }
        async fn stop(&mut self) -> Result<(), ConnectError> {
            Ok(())
        }
    }

    fn null_sink() -> PluginDescriptor {
        PluginDescriptor {
            class: SINK,
            aliases: &[],
            kind: ConnectorKind::Sink,
            version: "1.0",
            new_connector: || Box::new(NullSink),
            new_source_task: None,
            new_sink_task: None,
            local_file_keys: &[],
        }
    }

    /// The built-ins, a test sink connector, and one plugin of each other
    /// kind registered from a file.
    fn registry() -> Plugins {
        let mut plugins = Plugins::with_built_ins(vec![null_sink()]).expect("built-ins");
        for plugin in [
            Plugin::converter(UPPER, "2.0", Upper::default),
            Plugin::header_converter(TAGGING, "2.0", Tagging::default),
            Plugin::transformation(SHOUT, "2.0", Shout::default),
            Plugin::predicate(LONG_TOPIC, "2.0", LongTopic::default),
        ] {
            plugins.register(file(), plugin).expect("a new class");
        }
        plugins
    }

    #[test]
    fn built_ins_answer_to_kafka_connect_aliases() {
        let plugins = registry();
        let class = |t: PluginType, name: &str| plugins.find(t, name).map(|e| e.plugin.class());
        let json = Some("org.apache.kafka.connect.json.JsonConverter");
        for name in ["JsonConverter", "Json", " Json "] {
            assert_eq!(class(PluginType::Converter, name), json, "{name}");
        }
        assert_eq!(class(PluginType::HeaderConverter, "JsonConverter"), json);
        assert_eq!(
            class(PluginType::HeaderConverter, "Simple"),
            Some("org.apache.kafka.connect.storage.SimpleHeaderConverter")
        );
        assert_eq!(
            class(PluginType::Transformation, "Cast$Value"),
            Some("org.apache.kafka.connect.transforms.Cast$Value")
        );
        assert_eq!(plugins.connector("NullSink").map(|p| p.class), Some(SINK));
        assert_eq!(
            plugins.connector("NullSinkConnector").map(|p| p.class),
            Some(SINK)
        );
        // A class of another kind is not found as this one.
        assert!(plugins.connector("JsonConverter").is_none());
        assert!(class(PluginType::HeaderConverter, "RegexRouter").is_none());
        // `Cast$Value`'s Java simple name `Value` is every `$Value`'s.
        assert!(class(PluginType::Transformation, "Value").is_none());
    }

    #[test]
    fn a_registered_plugin_is_usable_wherever_a_built_in_one_is() {
        let plugins = registry();

        // Converters, by class name and by alias.
        for name in [UPPER, "UpperConverter", "Upper"] {
            let props = test_props(&[("prefix", ">")]);
            let c = plugins.new_converter(name, false, &props).expect(name);
            let mut out = Vec::new();
            assert!(c
                .from_connect("t", None, &Value::from("hi"), &mut out)
                .unwrap());
            assert_eq!(out, b">HI", "{name}");
        }
        let worker = WorkerConfig::new(
            test_props(&[
                ("offset.storage.file.filename", "/tmp/offsets"),
                ("header.converter", "Tagging"),
            ]),
            true,
        )
        .expect("worker config");
        assert!(plugins.check_worker_config(&worker).is_ok());
        let connector = test_props(&[
            ("key.converter", "Upper"),
            ("value.converter", UPPER),
            ("value.converter.prefix", "v:"),
        ]);
        let converters = Converters::for_connector(&plugins, &worker, &connector).unwrap();
        let mut out = Vec::new();
        converters
            .value
            .from_connect("t", None, &Value::from("x"), &mut out)
            .unwrap();
        assert_eq!(out, b"v:X");
        assert_eq!(converters.header.class(), TAGGING);
        assert_eq!(
            converters
                .header
                .from_connect("t", "h", None, &Value::from("x"))
                .unwrap(),
            Some(br#"h=String("x")"#.to_vec())
        );
        assert_eq!(
            TaskHeaderConverter::new(&plugins, "TaggingHeaderConverter", &Props::new())
                .unwrap()
                .to_connect("t", "h", Some(b"v"))
                .unwrap()
                .1,
            Value::from("h:v")
        );

        // A transformation guarded by a predicate, in chains of both
        // record types.
        let config = test_props(&[
            ("transforms", "shout"),
            ("transforms.shout.type", "Shout"),
            ("transforms.shout.suffix", "!"),
            ("transforms.shout.predicate", "long"),
            ("predicates", "long"),
            ("predicates.long.type", LONG_TOPIC),
            ("predicates.long.min.length", "4"),
        ]);
        let mut chain =
            TransformationChain::<SinkRecord>::from_connector_config(&plugins, &config).unwrap();
        let record = |topic: &str| SinkRecord {
            topic: topic.into(),
            value: Value::from("hey"),
            ..Default::default()
        };
        assert_eq!(
            chain.apply(record("long")).unwrap().unwrap().value,
            "hey!".into()
        );
        assert_eq!(
            chain.apply(record("abc")).unwrap().unwrap().value,
            "hey".into()
        );
        assert_eq!(chain.stages().collect::<Vec<_>>(), [("shout", SHOUT)]);
        let mut chain =
            TransformationChain::<SourceRecord>::from_connector_config(&plugins, &config).unwrap();
        let source = SourceRecord {
            topic: "orders".into(),
            value: Value::from("go"),
            ..Default::default()
        };
        assert_eq!(chain.apply(source).unwrap().unwrap().value, "go!".into());

        // Connector validation: the header converter, and the
        // transformation's keys as its ConfigDef declares them.
        let mut config = config;
        config.extend(test_props(&[
            ("name", "s"),
            ("connector.class", "NullSink"),
            ("topics", "t"),
            ("header.converter", "Tagging"),
        ]));
        let infos = validate_connector_config(&plugins, &null_sink(), &config);
        assert_eq!(infos.error_count, 0, "{infos:?}");
        let key = infos
            .configs
            .iter()
            .find_map(|c| {
                c.definition
                    .as_ref()
                    .filter(|d| d.name == "transforms.shout.suffix")
            })
            .expect("the transformation's key");
        assert_eq!(
            (key.group.as_deref(), key.display_name.as_str()),
            (Some("Transforms: shout"), "suffix")
        );
        config.remove("transforms.shout.suffix");
        config.insert("transforms.shout.type".into(), SHOUT.into());
        let errors = |config: &Props| -> Vec<String> {
            validate_connector_config(&plugins, &null_sink(), config)
                .configs
                .iter()
                .filter_map(|c| c.value.as_ref())
                .flat_map(|v| v.errors.iter().cloned())
                .collect()
        };
        // An embedded key's validator sees its bare name, as in Kafka.
        assert_eq!(
            errors(&config),
            [
                "Missing required configuration \"transforms.shout.suffix\" which has no default value.",
                "Invalid value null for configuration suffix: String must be non-empty",
            ]
        );
        // The version asked for is checked against the plugin's own.
        config.insert("transforms.shout.plugin.version".into(), "[3.0,)".into());
        let version = "Plugin com.example.ShoutTransformation not found that matches the version range [3.0,), available versions: [2.0]";
        assert_eq!(errors(&config), [version, version]);

        // Listing, descriptions, passwords.
        let listed: Vec<(String, String, Option<String>)> = plugins
            .list(&PluginType::ALL)
            .into_iter()
            .filter(|p| p.class_name.starts_with("com.example."))
            .map(|p| (p.class_name, p.plugin_type, p.version))
            .collect();
        let row = |c: &str, t: &str, v: &str| (c.to_owned(), t.to_owned(), Some(v.to_owned()));
        assert_eq!(
            listed,
            [
                row(SINK, "sink", "1.0"),
                row(SHOUT, "transformation", "2.0"),
                row(LONG_TOPIC, "predicate", "2.0"),
                row(UPPER, "converter", "2.0"),
                row(TAGGING, "header_converter", "2.0"),
            ]
        );
        let keys = crate::connector_ops::plugin_config(&plugins, "Shout").unwrap();
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["suffix", "token"]);
        let config = test_props(&[
            ("connector.class", "NullSink"),
            ("value.converter", "Upper"),
            ("value.converter.secret", "s3cret"),
            ("transforms", "shout"),
            ("transforms.shout.type", "Shout"),
            ("transforms.shout.token", "t0ken"),
        ]);
        let masked = crate::redact::masked(&plugins, &config);
        assert_eq!(masked["value.converter.secret"], crate::redact::HIDDEN);
        assert_eq!(masked["transforms.shout.token"], crate::redact::HIDDEN);
    }

    #[test]
    fn a_class_is_registered_once() {
        let mut plugins = registry();
        let json = "org.apache.kafka.connect.json.JsonConverter";
        let e = plugins
            .register(file(), Plugin::converter(json, "9", Upper::default))
            .unwrap_err();
        assert_eq!(
            e,
            RegisterError::DuplicateClass {
                class: json.into(),
                plugin_type: PluginType::Converter,
                origin: file(),
                existing: Origin::BuiltIn,
            }
        );
        assert_eq!(
            e.to_string(),
            "cannot register converter plugin org.apache.kafka.connect.json.JsonConverter \
             from /plugins/libexample.so: class org.apache.kafka.connect.json.JsonConverter \
             is already registered from built-in"
        );
        // Another kind from another origin is refused too; the same kind
        // from the same origin as well.
        let other = Origin::File("/plugins/other.so".into());
        assert!(plugins
            .register(
                other.clone(),
                Plugin::header_converter(UPPER, "1", Tagging::default)
            )
            .is_err());
        assert!(plugins
            .register(file(), Plugin::converter(UPPER, "2.1", Upper::default))
            .is_err());
        // One origin may register a class as several kinds.
        plugins
            .register(
                file(),
                Plugin::header_converter(UPPER, "2.0", Tagging::default),
            )
            .expect("a second kind of the same class");
        assert!(plugins.find(PluginType::HeaderConverter, "Upper").is_some());
        // The refused registrations left nothing behind.
        assert_eq!(
            plugins
                .find(PluginType::Converter, UPPER)
                .map(|e| e.plugin.version()),
            Some("2.0")
        );
        assert_eq!(
            plugins.find(PluginType::Converter, json).map(|e| &e.origin),
            Some(&Origin::BuiltIn)
        );
    }

    #[test]
    fn an_ambiguous_alias_designates_nothing() {
        let mut plugins = registry();
        let other = Origin::File("/plugins/other.so".into());
        plugins
            .register(
                other.clone(),
                Plugin::converter("org.other.UpperConverter", "1", Upper::default),
            )
            .unwrap();
        // Both simple and pruned names now name two classes.
        for alias in ["UpperConverter", "Upper"] {
            assert_eq!(
                plugins.new_converter(alias, false, &Props::new()).err(),
                Some(ConvertError::UnknownClass(alias.into()))
            );
        }
        assert!(plugins.new_converter(UPPER, false, &Props::new()).is_ok());
        assert!(plugins
            .new_converter("org.other.UpperConverter", false, &Props::new())
            .is_ok());

        // Aliases are shared by all kinds, as in Kafka Connect: a predicate
        // whose simple name is `Json` takes that alias from JsonConverter.
        assert!(plugins.find(PluginType::Converter, "Json").is_some());
        plugins
            .register(
                other,
                Plugin::predicate("org.other.Json", "1", LongTopic::default),
            )
            .unwrap();
        assert!(plugins.find(PluginType::Converter, "Json").is_none());
        assert!(plugins.find(PluginType::Predicate, "Json").is_none());
        assert!(plugins
            .find(PluginType::Converter, "JsonConverter")
            .is_some());
        assert!(plugins
            .find(PluginType::Predicate, "org.other.Json")
            .is_some());
        let infos = validate_connector_config(
            &plugins,
            &null_sink(),
            &test_props(&[
                ("name", "s"),
                ("connector.class", "NullSink"),
                ("topics", "t"),
                ("predicates", "p"),
                ("predicates.p.type", "Json"),
            ]),
        );
        let error = infos
            .configs
            .iter()
            .filter_map(|c| c.value.as_ref())
            .find(|v| v.name == "predicates.p.type")
            .map(|v| v.errors.clone());
        assert_eq!(
            error,
            Some(vec![
                "Invalid value Json for configuration predicates.p.type: Class Json could not be found."
                    .to_owned()
            ])
        );
        // So does the header converter check.
        assert_eq!(plugins.check_header_converter("Tagging"), Ok(()));
        assert_eq!(
            plugins.check_header_converter("Upper"),
            Err("Class Upper could not be found.".into())
        );
    }
}
