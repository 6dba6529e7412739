//! Config providers (KIP-297, KIP-421, KIP-887): `${provider:path:key}`
//! placeholders in worker and connector configs, replaced by values the
//! worker's `config.providers` read from files, directories or the
//! environment.
//!
//! Connector configs are stored and shown with their placeholders; they are
//! resolved only when a connector or task starts (and for validation), so a
//! secret never reaches the config topic, the offsets, the logs or a REST
//! answer. Task configs a connector generates from its resolved config get
//! the placeholders back, as Kafka Connect's `reverseTransform` does.
//!
//! The three providers of Apache Kafka are built in, under their Java class
//! names: `FileConfigProvider` (a key of a properties file),
//! `DirectoryConfigProvider` (a file's contents, named by the file) and
//! `EnvVarConfigProvider` (an environment variable), with their
//! `allowed.paths` and `allowlist.pattern` parameters.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;
use thiserror::Error;
use tracing::warn;

use crate::connector_rules::AllowedPaths;
use crate::Props;

pub const CONFIG_PROVIDERS: &str = "config.providers";
const FILE: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIRECTORY: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV_VAR: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// Why a provider cannot be configured or a placeholder cannot be resolved.
/// Messages name the provider, the path or the variable, never a value.
#[derive(Debug, Error)]
pub enum ProviderError {
    #[error("config.providers.{alias}.class is not set: each provider listed in config.providers needs its class")]
    MissingClass { alias: String },

    #[error("config.providers.{alias}.class={class} is not available in Ferry: use {FILE}, {DIRECTORY} or {ENV_VAR}")]
    UnknownClass { alias: String, class: String },

    #[error("config.providers.{alias}.param.{param}: {reason}")]
    BadParam {
        alias: String,
        param: &'static str,
        reason: String,
    },

    #[error("config provider {alias}: {path} is not under its allowed.paths ({reason})")]
    NotAllowed {
        alias: String,
        path: String,
        reason: String,
    },

    #[error("config provider {alias}: cannot read {path}: {source}")]
    Read {
        alias: String,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "config provider {alias} ({ENV_VAR}) takes no path, but ${{{alias}:{path}:…}} gives one"
    )]
    EnvPath { alias: String, path: String },
}

enum Kind {
    File,
    Directory,
    EnvVar { allowlist: Regex },
}

struct Provider {
    kind: Kind,
    /// `allowed.paths`: where the file and directory providers may read.
    allowed: AllowedPaths,
}

/// One `${provider:path:key}` (or `${provider:key}`) in a value.
#[derive(Debug, PartialEq, Eq)]
struct Placeholder<'a> {
    /// Byte range of the whole `${…}` in the value.
    start: usize,
    end: usize,
    provider: &'a str,
    path: Option<&'a str>,
    key: &'a str,
}

/// Finds the placeholders of `value` as Kafka's `ConfigTransformer`
/// pattern `\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}` matches them: the provider
/// ends at the first colon, the path (when there is a second colon) at the
/// next one, the key runs to the closing brace.
fn placeholders(value: &str) -> Vec<Placeholder<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = value[from..].find("${") {
        let start = from + rel;
        let inner_start = start + 2;
        let Some(close) = value[inner_start..].find('}') else {
            break;
        };
        let inner = &value[inner_start..inner_start + close];
        let end = inner_start + close + 1;
        match inner.split_once(':') {
            Some((provider, rest)) => {
                let (path, key) = match rest.split_once(':') {
                    Some((path, key)) => (Some(path), key),
                    None => (None, rest),
                };
                out.push(Placeholder {
                    start,
                    end,
                    provider,
                    path,
                    key,
                });
                from = end;
            }
            // `${…}` without a colon is no placeholder; look past its `$`.
            None => from = start + 1,
        }
    }
    out
}

/// True when `value` holds a placeholder of any provider.
pub fn has_placeholder(value: &str) -> bool {
    !placeholders(value).is_empty()
}

/// The worker's config providers.
#[derive(Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

impl std::fmt::Debug for ConfigProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.providers.keys()).finish()
    }
}

/// A config with its placeholders replaced, and the values that replaced
/// them (to hide wherever they might show).
#[derive(Debug, Default)]
pub struct Resolved {
    pub config: Props,
    pub values: Vec<String>,
}

impl ConfigProviders {
    /// Reads `config.providers` and each provider's `class` and `param.*`
    /// from the worker's properties.
    pub fn from_worker_props(props: &Props) -> Result<Self, ProviderError> {
        let mut providers = BTreeMap::new();
        let aliases = props
            .get(CONFIG_PROVIDERS)
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for alias in aliases {
            let prefix = format!("{CONFIG_PROVIDERS}.{alias}.");
            let param = |name: &str| {
                props
                    .get(&format!("{prefix}param.{name}"))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
            };
            let class = props
                .get(&format!("{prefix}class"))
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ProviderError::MissingClass {
                    alias: alias.clone(),
                })?;
            let kind = match class {
                FILE | "FileConfigProvider" => Kind::File,
                DIRECTORY | "DirectoryConfigProvider" => Kind::Directory,
                ENV_VAR | "EnvVarConfigProvider" => {
                    let pattern = param("allowlist.pattern").unwrap_or(".*");
                    let allowlist = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                        ProviderError::BadParam {
                            alias: alias.clone(),
                            param: "allowlist.pattern",
                            reason: e.to_string(),
                        }
                    })?;
                    Kind::EnvVar { allowlist }
                }
                other => {
                    return Err(ProviderError::UnknownClass {
                        alias: alias.clone(),
                        class: other.to_owned(),
                    })
                }
            };
            let dirs: Vec<String> = param("allowed.paths")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if let Some(relative) = dirs.iter().find(|d| !Path::new(d).is_absolute()) {
                return Err(ProviderError::BadParam {
                    alias: alias.clone(),
                    param: "allowed.paths",
                    reason: format!("{relative} is not an absolute path"),
                });
            }
            let allowed = AllowedPaths::new(&dirs).map_err(|e| ProviderError::BadParam {
                alias: alias.clone(),
                param: "allowed.paths",
                reason: e.to_string(),
            })?;
            providers.insert(alias, Provider { kind, allowed });
        }
        Ok(ConfigProviders { providers })
    }

    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// `config` with every placeholder of a configured provider replaced.
    /// A placeholder of an unknown provider, or of a key the provider does
    /// not have, is left as it is (as Kafka Connect leaves it) and logged
    /// by its name; an unreadable file or a path outside `allowed.paths`
    /// is an error.
    pub fn resolve(&self, config: &Props) -> Result<Resolved, ProviderError> {
        let mut resolved = Resolved::default();
        if self.is_empty() {
            resolved.config = config.clone();
            return Ok(resolved);
        }
        // Each properties file is read once per config.
        let mut files = FileCache::new();
        for (key, value) in config {
            let found = placeholders(value);
            if found.is_empty() {
                resolved.config.insert(key.clone(), value.clone());
                continue;
            }
            let mut out = String::with_capacity(value.len());
            let mut last = 0;
            for p in found {
                out.push_str(&value[last..p.start]);
                last = p.end;
                let Some(provider) = self.providers.get(p.provider) else {
                    out.push_str(&value[p.start..p.end]);
                    continue;
                };
                match provider.value(p.provider, p.path, p.key, &mut files)? {
                    Some(v) => {
                        out.push_str(&v);
                        resolved.values.push(v);
                    }
                    None => {
                        warn!(config_key = %key, placeholder = %&value[p.start..p.end],
                            "config provider {} has no value for this placeholder; it is left as it is", p.provider);
                        out.push_str(&value[p.start..p.end]);
                    }
                }
            }
            out.push_str(&value[last..]);
            resolved.config.insert(key.clone(), out);
        }
        Ok(resolved)
    }
}

/// Properties files read so far, by path.
type FileCache = BTreeMap<String, BTreeMap<String, String>>;

impl Provider {
    /// The value of `key` under `path`: a properties file's key, the
    /// contents of the file `key` in a directory, or the environment
    /// variable `key`.
    fn value(
        &self,
        alias: &str,
        path: Option<&str>,
        key: &str,
        files: &mut FileCache,
    ) -> Result<Option<String>, ProviderError> {
        let path = path.filter(|p| !p.is_empty());
        if let Kind::EnvVar { allowlist } = &self.kind {
            if let Some(path) = path {
                return Err(ProviderError::EnvPath {
                    alias: alias.to_owned(),
                    path: path.to_owned(),
                });
            }
            return Ok(allowlist
                .is_match(key)
                .then(|| std::env::var(key).ok())
                .flatten());
        }
        let Some(path) = path else {
            return Ok(None);
        };
        self.allowed
            .check_key(&format!("config.providers.{alias}"), Some(path))
            .map_err(|e| ProviderError::NotAllowed {
                alias: alias.to_owned(),
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let io = |source| ProviderError::Read {
            alias: alias.to_owned(),
            path: path.to_owned(),
            source,
        };
        match self.kind {
            Kind::File => {
                if !files.contains_key(path) {
                    let text = std::fs::read_to_string(path).map_err(io)?;
                    files.insert(path.to_owned(), crate::properties::parse_properties(&text));
                }
                Ok(files.get(path).and_then(|data| data.get(key)).cloned())
            }
            Kind::Directory => {
                // Only a file directly in the directory, as Kafka lists it;
                // symbolic links followed (Kubernetes mounts secrets so).
                if key.is_empty() || key.contains('/') || key == "." || key == ".." {
                    return Ok(None);
                }
                if !std::fs::metadata(path).map_err(io)?.is_dir() {
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not a directory",
                    )));
                }
                let file = Path::new(path).join(key);
                match std::fs::metadata(&file) {
                    Ok(m) if m.is_file() => {
                        let bytes = std::fs::read(&file).map_err(io)?;
                        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                    }
                    _ => Ok(None),
                }
            }
            Kind::EnvVar { .. } => Ok(None),
        }
    }
}

/// Task configs a connector generated from its resolved config, with the
/// placeholders of its raw config back in every key the raw config gave
/// one (Kafka Connect's `AbstractHerder.reverseTransform`), so a task
/// config is stored without the secrets.
pub fn reverse_transform(raw: &Props, task_configs: &mut [Props]) {
    let with_placeholders: BTreeSet<&String> = raw
        .iter()
        .filter(|(_, v)| has_placeholder(v))
        .map(|(k, _)| k)
        .collect();
    if with_placeholders.is_empty() {
        return;
    }
    for config in task_configs {
        for key in &with_placeholders {
            if let Some(v) = config.get_mut(*key) {
                v.clone_from(&raw[*key]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_split_as_kafkas_pattern_does() {
        let p = placeholders(
            "a ${file:/etc/x.properties:db.password} b ${env:HOME}${x} ${vault:a/b:c:d}",
        );
        let parts: Vec<(&str, Option<&str>, &str)> =
            p.iter().map(|p| (p.provider, p.path, p.key)).collect();
        assert_eq!(
            parts,
            vec![
                ("file", Some("/etc/x.properties"), "db.password"),
                ("env", None, "HOME"),
                ("vault", Some("a/b"), "c:d"),
            ]
        );
        assert!(!has_placeholder("${no colon} and $ {file:a:b}"));
    }

    #[test]
    fn file_directory_and_environment_values_are_resolved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("db.properties");
        std::fs::write(&file, "user=ferry\npassword=s3cr3t-value\n").expect("file");
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).expect("dir");
        std::fs::write(secrets.join("..data-token"), "tok-123").expect("token");
        // Kubernetes mounts each secret as a link into a hidden directory.
        std::os::unix::fs::symlink(secrets.join("..data-token"), secrets.join("token"))
            .expect("link");
        std::env::set_var("FERRY_PROVIDER_TEST_VAR", "from-env");
        let allowed = dir.path().to_str().expect("utf-8");
        let providers = ConfigProviders::from_worker_props(&props(&[
            ("config.providers", "file,dir,env"),
            ("config.providers.file.class", FILE),
            ("config.providers.file.param.allowed.paths", allowed),
            ("config.providers.dir.class", DIRECTORY),
            ("config.providers.env.class", ENV_VAR),
            (
                "config.providers.env.param.allowlist.pattern",
                "FERRY_PROVIDER_.*",
            ),
        ]))
        .expect("providers");
        let f = file.to_str().expect("utf-8");
        let d = secrets.to_str().expect("utf-8");
        let raw = props(&[
            ("connection.user", &format!("${{file:{f}:user}}")),
            ("connection.password", &format!("${{file:{f}:password}}")),
            ("token", &format!("Bearer ${{dir:{d}:token}}")),
            ("env", "${env:FERRY_PROVIDER_TEST_VAR}"),
            ("not.allowed.env", "${env:HOME}"),
            ("unknown", "${vault:x:y}"),
            ("missing", &format!("${{file:{f}:nope}}")),
            ("plain", "42"),
        ]);
        let r = providers.resolve(&raw).expect("resolved");
        assert_eq!(r.config["connection.user"], "ferry");
        assert_eq!(r.config["connection.password"], "s3cr3t-value");
        assert_eq!(r.config["token"], "Bearer tok-123");
        assert_eq!(r.config["env"], "from-env");
        assert_eq!(r.config["not.allowed.env"], "${env:HOME}");
        assert_eq!(r.config["unknown"], "${vault:x:y}");
        assert_eq!(r.config["missing"], raw["missing"]);
        assert_eq!(r.config["plain"], "42");
        assert!(r.values.contains(&"s3cr3t-value".to_string()));

        // Task configs get the placeholders back.
        let mut tasks = vec![r.config.clone()];
        reverse_transform(&raw, &mut tasks);
        assert_eq!(tasks[0], raw);

        // Outside allowed.paths, and unreadable, are errors naming the path.
        let outside = props(&[("x", "${file:/etc/hostname:k}")]);
        let e = providers.resolve(&outside).expect_err("outside");
        assert!(e.to_string().contains("/etc/hostname"), "{e}");
        let gone = dir.path().join("gone.properties");
        let missing = props(&[("x", &format!("${{file:{}:k}}", gone.display()))]);
        let e = providers.resolve(&missing).expect_err("missing file");
        assert!(matches!(e, ProviderError::Read { .. }), "{e}");
    }

    #[test]
    fn provider_settings_are_checked() {
        let e = ConfigProviders::from_worker_props(&props(&[("config.providers", "vault")]))
            .expect_err("no class");
        assert!(
            e.to_string().contains("config.providers.vault.class"),
            "{e}"
        );
        let e = ConfigProviders::from_worker_props(&props(&[
            ("config.providers", "vault"),
            (
                "config.providers.vault.class",
                "com.example.VaultConfigProvider",
            ),
        ]))
        .expect_err("unknown class");
        assert!(
            e.to_string().contains("com.example.VaultConfigProvider"),
            "{e}"
        );
        let e = ConfigProviders::from_worker_props(&props(&[
            ("config.providers", "file"),
            ("config.providers.file.class", FILE),
            ("config.providers.file.param.allowed.paths", "relative/dir"),
        ]))
        .expect_err("relative");
        assert!(e.to_string().contains("not an absolute path"), "{e}");
        assert!(ConfigProviders::from_worker_props(&props(&[]))
            .expect("none")
            .is_empty());
    }
}
