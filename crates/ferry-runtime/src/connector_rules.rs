//! The worker's rules for connector configs, beyond what each connector
//! validates: which client settings a connector may override
//! ([`crate::client_overrides`]), how many tasks a connector may ask for
//! (`tasks.max.limit`), and where file connectors may read and write
//! (`file.connectors.allowed.paths`).
//!
//! [`ConnectorRules`] is built once from the [`WorkerConfig`] and held by
//! both herders: a config breaking a rule is refused at create, update and
//! `/config/validate` with the key and the reason, and a stored config that
//! breaks one (written before the rule, or by another worker) fails its
//! connector or task when it starts.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_api::config::{ConfigInfo, ConfigInfos, ConfigValue, ValidatedValue};
use ferry_api::PluginDescriptor;
use thiserror::Error;

use crate::client_overrides::{validate_overrides, OverridePolicy};
use crate::config_providers::ConfigProviders;
use crate::connector_config::TASKS_MAX;
use crate::worker_config::{WorkerConfig, FILE_ALLOWED_PATHS, TASKS_MAX_LIMIT};
use crate::Props;

/// Worker-level rules every connector config must follow.
#[derive(Debug, Clone)]
pub struct ConnectorRules {
    /// `connector.client.config.override.policy` (with its allowlist).
    pub override_policy: OverridePolicy,
    /// `tasks.max.limit`: the largest `tasks.max` a connector may have.
    pub max_tasks: u32,
    /// `file.connectors.allowed.paths`: where connectors' local files may be.
    pub files: AllowedPaths,
    /// `config.providers`: resolve placeholders when a connector starts.
    pub providers: Arc<ConfigProviders>,
}

impl ConnectorRules {
    pub fn new(config: &WorkerConfig) -> Self {
        ConnectorRules {
            override_policy: config.common.client_config_override_policy.clone(),
            max_tasks: config.common.tasks_max_limit,
            files: config.common.file_connectors_allowed_paths.clone(),
            providers: config.providers.clone(),
        }
    }

    /// Adds the rules' errors for `config` to its validation results: on
    /// each refused `*.override.*` key, on `tasks.max`, and on each file
    /// key of the plugin outside the allowed directories.
    pub fn check(&self, plugin: &PluginDescriptor, config: &Props, infos: &mut ConfigInfos) {
        for refusal in validate_overrides(&self.override_policy, plugin.kind, config) {
            add_result(infos, refusal.validated());
        }
        if let Some(message) = self.tasks_max_error(config) {
            add_error(infos, TASKS_MAX, config.get(TASKS_MAX), message);
        }
        for key in plugin.local_file_keys {
            if let Err(e) = self
                .files
                .check_key(key, config.get(*key).map(String::as_str))
            {
                add_error(infos, key, config.get(*key), e.to_string());
            }
        }
    }

    /// The error for a `tasks.max` above `tasks.max.limit`; a value that
    /// is not a number is the framework validation's to report.
    pub fn tasks_max_error(&self, config: &Props) -> Option<String> {
        let raw = config.get(TASKS_MAX)?;
        let n: i64 = raw.trim().parse().ok()?;
        (n > i64::from(self.max_tasks)).then(|| {
            format!(
                "Invalid value {} for configuration {TASKS_MAX}: this worker runs at most {} tasks per connector ({TASKS_MAX_LIMIT}={})",
                raw.trim(),
                self.max_tasks,
                self.max_tasks
            )
        })
    }
}

/// Merges `value` into the result for its key, or adds it (with no
/// definition, as Kafka Connect lists client overrides it has no key for).
fn add_result(infos: &mut ConfigInfos, value: ValidatedValue) {
    infos.error_count += value.errors.len();
    let existing = infos
        .configs
        .iter_mut()
        .filter_map(|c| c.value.as_mut())
        .find(|v| v.name == value.name);
    match existing {
        Some(v) => v.errors.extend(value.errors),
        None => infos.configs.push(ConfigInfo {
            definition: None,
            value: Some(value.info()),
        }),
    }
}

fn add_error(infos: &mut ConfigInfos, key: &str, value: Option<&String>, message: String) {
    add_result(
        infos,
        ValidatedValue {
            name: key.to_owned(),
            value: value.map_or(ConfigValue::Null, |v| ConfigValue::String(v.clone())),
            errors: vec![message],
            visible: true,
            recommended: Vec::new(),
        },
    );
}

/// `file.connectors.allowed.paths`: the directories connectors' local
/// files must be in, canonical (symbolic links resolved), or no
/// restriction at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedPaths {
    dirs: Option<Vec<PathBuf>>,
}

/// A directory of `file.connectors.allowed.paths` that cannot be used.
#[derive(Debug, Error)]
#[error("{dir}: {source}")]
pub struct AllowedDirError {
    pub dir: String,
    #[source]
    pub source: io::Error,
}

impl AllowedPaths {
    /// No restriction: Kafka Connect's behaviour.
    pub fn unrestricted() -> Self {
        AllowedPaths::default()
    }

    /// The directories, each resolved to its canonical path now (relative
    /// ones against the working directory); an empty list restricts
    /// nothing. Each must exist and be a directory.
    pub fn new(dirs: &[String]) -> Result<Self, AllowedDirError> {
        if dirs.is_empty() {
            return Ok(AllowedPaths::unrestricted());
        }
        let mut canonical = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let err = |source| AllowedDirError {
                dir: dir.clone(),
                source,
            };
            let path = Path::new(dir).canonicalize().map_err(err)?;
            if !path.is_dir() {
                return Err(err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a directory",
                )));
            }
            canonical.push(path);
        }
        Ok(AllowedPaths {
            dirs: Some(canonical),
        })
    }

    pub fn is_restricted(&self) -> bool {
        self.dirs.is_some()
    }

    /// The canonical directories; empty when unrestricted.
    pub fn dirs(&self) -> &[PathBuf] {
        self.dirs.as_deref().unwrap_or(&[])
    }

    fn listed(&self) -> String {
        self.dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Checks the file `value` of config key `key`; unset or blank is
    /// refused when restricted (the file connectors' standard input or
    /// output is not a file under the directories).
    pub fn check_key(&self, key: &str, value: Option<&str>) -> Result<(), PathRefused> {
        if !self.is_restricted() {
            return Ok(());
        }
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Err(PathRefused::Missing {
                key: key.to_owned(),
                dirs: self.listed(),
            });
        };
        let resolved = resolve(Path::new(value)).map_err(|source| PathRefused::Unresolvable {
            key: key.to_owned(),
            value: value.to_owned(),
            dirs: self.listed(),
            source,
        })?;
        if self.dirs().iter().any(|d| resolved.starts_with(d)) {
            Ok(())
        } else {
            Err(PathRefused::Outside {
                key: key.to_owned(),
                value: value.to_owned(),
                dirs: self.listed(),
            })
        }
    }

    /// Checks every file key of `plugin` in a connector config.
    pub fn check_connector(
        &self,
        plugin: &PluginDescriptor,
        config: &Props,
    ) -> Result<(), PathRefused> {
        for key in plugin.local_file_keys {
            self.check_key(key, config.get(*key).map(String::as_str))?;
        }
        Ok(())
    }

    /// Checks the file keys of `plugin` a task config has (a task config
    /// holds what its connector gave it; the connector config was checked).
    pub fn check_task(&self, plugin: &PluginDescriptor, config: &Props) -> Result<(), PathRefused> {
        for key in plugin.local_file_keys {
            if let Some(v) = config.get(*key) {
                self.check_key(key, Some(v))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for AllowedPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.listed())
    }
}

/// A connector's local file outside `file.connectors.allowed.paths`.
#[derive(Debug, Error)]
pub enum PathRefused {
    #[error("Invalid value {value} for configuration {key}: it is not under the directories this worker lets connectors read and write ({FILE_ALLOWED_PATHS}={dirs}); symbolic links and '..' are resolved before checking")]
    Outside {
        key: String,
        value: String,
        dirs: String,
    },
    #[error("Invalid value {value} for configuration {key}: cannot tell whether it is under the directories this worker lets connectors read and write ({FILE_ALLOWED_PATHS}={dirs})")]
    Unresolvable {
        key: String,
        value: String,
        dirs: String,
        #[source]
        source: io::Error,
    },
    #[error("Invalid value null for configuration {key}: this worker lets connectors read and write only files under {FILE_ALLOWED_PATHS}={dirs}, so standard input and output are refused; name a file there")]
    Missing { key: String, dirs: String },
}

/// The canonical form of `path` as the file it names would be opened or
/// created: the deepest existing ancestor is canonicalized (symbolic links
/// resolved) and the missing components appended. A missing component
/// that is `..`, or a dangling symbolic link (whose target a write would
/// create wherever it points), cannot be resolved.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut resolved) => {
                for name in missing.iter().rev() {
                    resolved.push(name);
                }
                return Ok(resolved);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if existing.symlink_metadata().is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} is a dangling symbolic link", existing.display()),
                    ));
                }
                // `file_name` is `None` for a path ending in `..`.
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        missing.push(name.to_owned());
                        existing = parent;
                    }
                    _ => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "'..' after a directory that does not exist",
                        ))
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn allowed(dir: &Path) -> AllowedPaths {
        AllowedPaths::new(&[dir.display().to_string()]).expect("allowed dir")
    }

    #[test]
    fn unrestricted_allows_everything() {
        let a = AllowedPaths::new(&[]).expect("empty list");
        assert!(!a.is_restricted());
        assert!(a.check_key("file", Some("/etc/shadow")).is_ok());
        assert!(a.check_key("file", None).is_ok());
    }

    #[test]
    fn files_under_the_allowed_directories_only() {
        let root = tempfile::tempdir().expect("tempdir");
        let inside = root.path().join("data");
        let outside = root.path().join("secret");
        std::fs::create_dir_all(inside.join("sub")).expect("dirs");
        std::fs::create_dir_all(&outside).expect("dirs");
        std::fs::write(outside.join("key"), "x").expect("file");
        std::fs::write(inside.join("in.txt"), "x").expect("file");
        symlink(outside.join("key"), inside.join("link")).expect("symlink");
        symlink(&outside, inside.join("dirlink")).expect("symlink");
        symlink(outside.join("not-yet"), inside.join("dangling")).expect("symlink");
        let a = allowed(&inside);

        let ok = |p: PathBuf| {
            a.check_key("file", Some(p.to_str().expect("utf-8")))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        ok(inside.join("in.txt"));
        // Files that do not exist yet, in directories that do not either.
        ok(inside.join("new.txt"));
        ok(inside.join("sub/deeper/new.txt"));
        ok(inside.join("sub/../in.txt"));

        let refused = |p: PathBuf| {
            let e = a
                .check_key("file", Some(p.to_str().expect("utf-8")))
                .expect_err(&p.display().to_string());
            let msg = e.to_string();
            assert!(msg.contains("configuration file"), "{msg}");
            assert!(
                msg.contains(&format!("file.connectors.allowed.paths={}", a)),
                "{msg}"
            );
            e
        };
        assert!(matches!(
            refused(outside.join("key")),
            PathRefused::Outside { .. }
        ));
        assert!(matches!(
            refused(inside.join("../secret/key")),
            PathRefused::Outside { .. }
        ));
        assert!(matches!(
            refused(inside.join("link")),
            PathRefused::Outside { .. }
        ));
        assert!(matches!(
            refused(inside.join("dirlink/key")),
            PathRefused::Outside { .. }
        ));
        assert!(matches!(
            refused(inside.join("dirlink/new")),
            PathRefused::Outside { .. }
        ));
        assert!(matches!(
            refused(inside.join("dangling")),
            PathRefused::Unresolvable { .. }
        ));
        assert!(matches!(
            refused(inside.join("nope/../../secret/key")),
            PathRefused::Unresolvable { .. }
        ));
        assert!(matches!(
            a.check_key("file", Some(" ")),
            Err(PathRefused::Missing { .. })
        ));
        // A sibling whose name starts like the allowed one is not inside.
        let sibling = root.path().join("data2");
        std::fs::create_dir_all(&sibling).expect("dir");
        assert!(matches!(
            refused(sibling.join("f")),
            PathRefused::Outside { .. }
        ));
    }

    #[test]
    fn allowed_directories_must_exist() {
        let root = tempfile::tempdir().expect("tempdir");
        let missing = root.path().join("missing").display().to_string();
        let e = AllowedPaths::new(std::slice::from_ref(&missing)).expect_err("missing dir");
        assert_eq!(e.dir, missing);
        let file = root.path().join("f");
        std::fs::write(&file, "x").expect("file");
        let e = AllowedPaths::new(&[file.display().to_string()]).expect_err("a file");
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
