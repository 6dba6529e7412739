//! Passwords out of error messages and logs: the values of a connector
//! config's PASSWORD-typed keys are shown as `[hidden]`, as Kafka Connect's
//! `Password.toString()` shows them. The stored config itself keeps them.

use std::collections::BTreeSet;

use ferry_api::config::{ConfigDef, ConfigInfos, ConfigType};
use ferry_api::{PluginDescriptor, PluginType};

use crate::connector_config::{framework_config_def, CONNECTOR_CLASS};
use crate::plugins::Plugins;
use crate::Props;

pub const HIDDEN: &str = "[hidden]";

/// Kafka client settings of type PASSWORD (`SslConfigs`, `SaslConfigs`),
/// which a connector sets under the client override prefixes.
const CLIENT_PASSWORD_KEYS: &[&str] = &[
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
    "sasl.jaas.config",
    "sasl.oauthbearer.client.credentials.client.secret",
];

const CLIENT_OVERRIDE_PREFIXES: &[&str] = &[
    "producer.override.",
    "consumer.override.",
    "admin.override.",
];

const CONVERTER_PREFIXES: &[(&str, PluginType)] = &[
    ("key.converter", PluginType::Converter),
    ("value.converter", PluginType::Converter),
    ("header.converter", PluginType::HeaderConverter),
];

/// Secrets shorter than this are not searched for inside free text, where
/// they would hide unrelated words; keys are masked whatever their length.
const MIN_SCRUBBED_LEN: usize = 4;

/// Whether `key` is a Kafka client password setting under a connector's
/// client override prefixes (`producer.override.ssl.key.password` …).
pub fn is_client_password_key(key: &str) -> bool {
    CLIENT_OVERRIDE_PREFIXES.iter().any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| CLIENT_PASSWORD_KEYS.contains(&rest))
    })
}

fn password_keys_of(def: &ConfigDef, prefix: &str, out: &mut BTreeSet<String>) {
    out.extend(
        def.keys()
            .iter()
            .filter(|k| k.config_type == ConfigType::Password)
            .map(|k| format!("{prefix}{}", k.name)),
    );
}

/// The keys of `config` whose values are passwords: PASSWORD-typed keys of
/// its connector (of every connector this worker has when the config names
/// none it knows), of its converters and transformations, and the Kafka
/// client password settings under the override prefixes.
pub fn password_keys(plugins: &Plugins, config: &Props) -> BTreeSet<String> {
    let class = config.get(CONNECTOR_CLASS).map(|c| c.trim()).unwrap_or("");
    match plugins.connector(class) {
        Some(p) => keys_for(plugins, [p], config),
        None => keys_for(plugins, plugins.connectors(), config),
    }
}

fn keys_for<'a>(
    plugins: &Plugins,
    connectors: impl IntoIterator<Item = &'a PluginDescriptor>,
    config: &Props,
) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for p in connectors {
        password_keys_of(&(p.new_connector)().config_def(), "", &mut keys);
        password_keys_of(&framework_config_def(p.kind), "", &mut keys);
    }
    for (role, plugin_type) in CONVERTER_PREFIXES {
        if let Some(def) = config
            .get(*role)
            .and_then(|c| plugins.config_def(*plugin_type, c))
        {
            password_keys_of(def, &format!("{role}."), &mut keys);
        }
    }
    for alias in config
        .get("transforms")
        .map(|t| ferry_api::config::parse_list(t))
        .unwrap_or_default()
    {
        let prefix = format!("transforms.{alias}.");
        if let Some(def) = config.get(&format!("{prefix}type")).and_then(|c| {
            plugins
                .config_def(PluginType::Transformation, c)
                .or_else(|| plugins.config_def(PluginType::Predicate, c))
        }) {
            password_keys_of(def, &prefix, &mut keys);
        }
    }
    keys.extend(config.keys().filter(|k| is_client_password_key(k)).cloned());
    keys.retain(|k| config.contains_key(k));
    keys
}

/// `config` with its password values replaced by `[hidden]`.
pub fn masked(plugins: &Plugins, config: &Props) -> Props {
    let keys = password_keys(plugins, config);
    config
        .iter()
        .map(|(k, v)| {
            let v = if keys.contains(k) {
                HIDDEN.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect()
}

/// The password values of a config, to hide wherever they turn up in text.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The secrets of a config stored for one of `plugins`.
    pub fn of(plugins: &Plugins, config: &Props) -> Secrets {
        Self::from_keys(&password_keys(plugins, config), config)
    }

    /// The secrets of a config of the connector `plugin`, whose converters
    /// and transformations are found in `plugins`.
    pub fn for_plugin(plugins: &Plugins, plugin: &PluginDescriptor, config: &Props) -> Secrets {
        Self::from_keys(&keys_for(plugins, [plugin], config), config)
    }

    fn from_keys(keys: &BTreeSet<String>, config: &Props) -> Secrets {
        let mut values: Vec<String> = keys
            .iter()
            .filter_map(|k| config.get(k))
            .flat_map(|v| [v.clone(), v.trim().to_owned()])
            .filter(|v| v.chars().count() >= MIN_SCRUBBED_LEN)
            .collect();
        // Longest first, so that a secret containing another is hidden whole.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Secrets(values)
    }

    /// These secrets and `values` (what config providers put in place of
    /// placeholders).
    pub fn with_values(mut self, values: &[String]) -> Secrets {
        self.0.extend(
            values
                .iter()
                .flat_map(|v| [v.clone(), v.trim().to_owned()])
                .filter(|v| v.chars().count() >= MIN_SCRUBBED_LEN),
        );
        self.0
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.0.dedup();
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by `[hidden]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), HIDDEN);
            }
        }
        out
    }

    /// Hides the secrets in every error message of a validation result.
    pub fn scrub_infos(&self, infos: &mut ConfigInfos) {
        if self.is_empty() {
            return;
        }
        for config in &mut infos.configs {
            if let Some(value) = &mut config.value {
                for e in &mut value.errors {
                    *e = self.scrub(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_passwords_and_scrubbing() {
        let plugins = Plugins::new();
        let config: Props = [
            ("producer.override.ssl.key.password", "key-secret"),
            ("producer.override.linger.ms", "5"),
            ("consumer.override.sasl.jaas.config", " jaas secret "),
            ("admin.override.ssl.truststore.password", "abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let keys = password_keys(&plugins, &config);
        assert_eq!(keys.len(), 3);
        assert!(!keys.contains("producer.override.linger.ms"));
        let m = masked(&plugins, &config);
        assert_eq!(m["producer.override.ssl.key.password"], HIDDEN);
        assert_eq!(m["admin.override.ssl.truststore.password"], HIDDEN);
        assert_eq!(m["producer.override.linger.ms"], "5");
        let secrets = Secrets::of(&plugins, &config);
        assert_eq!(
            secrets.scrub("bad key-secret and ' jaas secret ' and abc"),
            "bad [hidden] and '[hidden]' and abc"
        );
    }
}
