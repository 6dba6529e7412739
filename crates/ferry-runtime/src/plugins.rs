//! The connectors this worker can run, found by Kafka Connect class name
//! or alias.

use ferry_api::{ConnectorKind, PluginDescriptor};

use crate::entities::PluginInfo;
use crate::herder::PluginType;

/// Header converters the runtime applies (`header.converter`): Kafka
/// Connect's `SimpleHeaderConverter` and the record converters, which are
/// header converters too.
pub const HEADER_CONVERTERS: &[&str] = &crate::headers::HEADER_CONVERTER_CLASSES;

/// The Kafka Connect version whose behaviour Ferry reproduces; reported as
/// the version of the plugins that mirror Kafka Connect's own.
pub const CONNECT_VERSION: &str = "4.3.1";

#[derive(Clone, Default)]
pub struct Plugins {
    connectors: Vec<PluginDescriptor>,
}

impl Plugins {
    pub fn new(connectors: Vec<PluginDescriptor>) -> Self {
        Plugins { connectors }
    }

    /// The connector plugin named by `connector.class`.
    pub fn connector(&self, class: &str) -> Option<&PluginDescriptor> {
        let class = class.trim();
        self.connectors.iter().find(|p| p.matches(class))
    }

    pub fn connectors(&self) -> &[PluginDescriptor] {
        &self.connectors
    }

    /// The error for an unknown `connector.class`, listing what exists.
    pub fn unknown_connector_message(&self, class: &str) -> String {
        let mut names: Vec<&str> = self.connectors.iter().map(|p| p.class).collect();
        names.sort_unstable();
        format!(
            "Invalid value {class} for configuration connector.class: Failed to find any class that implements Connector and which name matches {class}, available connectors are: {}",
            names.join(", ")
        )
    }

    /// Plugins of the requested types, sinks first, then sources,
    /// transformations, predicates, converters, header converters.
    pub fn list(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        let mut out = Vec::new();
        let order = [
            PluginType::Sink,
            PluginType::Source,
            PluginType::Transformation,
            PluginType::Predicate,
            PluginType::Converter,
            PluginType::HeaderConverter,
        ];
        for t in order.into_iter().filter(|t| types.contains(t)) {
            let mut infos: Vec<PluginInfo> = match t {
                PluginType::Sink | PluginType::Source => {
                    let kind = if t == PluginType::Sink {
                        ConnectorKind::Sink
                    } else {
                        ConnectorKind::Source
                    };
                    self.connectors
                        .iter()
                        .filter(|p| p.kind == kind)
                        .map(|p| PluginInfo {
                            class_name: p.class.to_owned(),
                            plugin_type: t.name().to_owned(),
                            version: Some(p.version.to_owned()),
                        })
                        .collect()
                }
                PluginType::Converter => ferry_convert::converter_plugins()
                    .iter()
                    .filter(|p| p.type_name == t.name())
                    .map(|p| PluginInfo {
                        class_name: p.class.to_owned(),
                        plugin_type: t.name().to_owned(),
                        version: Some(p.version.to_owned()),
                    })
                    .collect(),
                PluginType::HeaderConverter => named(HEADER_CONVERTERS, t),
                PluginType::Transformation | PluginType::Predicate => ferry_transforms::plugins()
                    .into_iter()
                    .filter(|p| p.kind.name() == t.name())
                    .map(|p| PluginInfo {
                        class_name: p.class.to_owned(),
                        plugin_type: t.name().to_owned(),
                        version: Some(p.version.to_owned()),
                    })
                    .collect(),
            };
            infos.sort_by(|a, b| a.class_name.cmp(&b.class_name));
            out.extend(infos);
        }
        out
    }
}

fn named(classes: &[&str], t: PluginType) -> Vec<PluginInfo> {
    classes
        .iter()
        .map(|c| PluginInfo {
            class_name: (*c).to_owned(),
            plugin_type: t.name().to_owned(),
            version: Some(CONNECT_VERSION.to_owned()),
        })
        .collect()
}
