//! `/admin/loggers`: the interface the REST layer needs, and an
//! implementation that reloads a `tracing_subscriber` `EnvFilter`.
//!
//! Kafka Connect names Log4j loggers (`org.apache.kafka.connect.runtime`);
//! Ferry logs through `tracing`, whose targets are module paths
//! (`ferry_runtime::worker`). A logger name is used as given for display,
//! and turned into a target for the filter: dots become `::`, dashes become
//! underscores, and a name that already contains `::` is kept as is. `root`
//! (any case) is the default directive.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_runtime::entities::LoggerLevel;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The name Kafka Connect gives the root logger.
pub const ROOT_LOGGER: &str = "root";

/// A Log4j level, the vocabulary of `/admin/loggers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Off,
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
    All,
}

impl LogLevel {
    /// Parses a level name as Log4j's `Level.toLevel` does (any case).
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "OFF" => LogLevel::Off,
            "FATAL" => LogLevel::Fatal,
            "ERROR" => LogLevel::Error,
            "WARN" => LogLevel::Warn,
            "INFO" => LogLevel::Info,
            "DEBUG" => LogLevel::Debug,
            "TRACE" => LogLevel::Trace,
            "ALL" => LogLevel::All,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Off => "OFF",
            LogLevel::Fatal => "FATAL",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
            LogLevel::All => "ALL",
        }
    }

    /// The closest `tracing` filter: FATAL has no level of its own and is
    /// error, ALL is trace.
    pub fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Fatal | LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace | LogLevel::All => LevelFilter::TRACE,
        }
    }

    fn from_filter(f: LevelFilter) -> LogLevel {
        match f {
            LevelFilter::OFF => LogLevel::Off,
            LevelFilter::ERROR => LogLevel::Error,
            LevelFilter::WARN => LogLevel::Warn,
            LevelFilter::INFO => LogLevel::Info,
            LevelFilter::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// What `/admin/loggers` needs from the worker's logging.
pub trait LoggerControl: Send + Sync {
    /// The root logger and every logger with a level of its own, by name.
    fn levels(&self) -> BTreeMap<String, LoggerLevel>;
    /// One logger's level; `None` when no such logger is known.
    fn level(&self, name: &str) -> Option<LoggerLevel>;
    /// Sets the level of `name` and of every known logger below it (all of
    /// them for `root`). Returns the names whose level changed, sorted.
    fn set_level(&self, name: &str, level: LogLevel) -> Result<Vec<String>, String>;
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    level: LogLevel,
    last_modified: Option<i64>,
}

impl Entry {
    fn info(&self) -> LoggerLevel {
        LoggerLevel {
            level: self.level.name().to_owned(),
            last_modified: self.last_modified,
        }
    }
}

/// The logger table, independent of any subscriber.
#[derive(Debug, Clone)]
struct LoggerTable {
    root: Entry,
    loggers: BTreeMap<String, Entry>,
    /// Initial directives this table cannot represent (span or field
    /// filters); kept so that a reload does not drop them.
    passthrough: Vec<String>,
}

fn is_root(name: &str) -> bool {
    name.eq_ignore_ascii_case(ROOT_LOGGER)
}

/// The `tracing` target a logger name stands for.
fn target_of(name: &str) -> String {
    if name.contains("::") {
        name.to_owned()
    } else {
        name.replace('.', "::").replace('-', "_")
    }
}

/// Whether a target can appear in a directive; other names cannot match any
/// module path, so they are listed but never reach the filter.
fn is_directive_target(target: &str) -> bool {
    !target.is_empty()
        && target
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl LoggerTable {
    /// Reads `EnvFilter` directives (`info,ferry_runtime=debug`). No bare
    /// level means everything else is off, as in `EnvFilter`.
    fn from_directives(directives: &str) -> Self {
        let mut table = LoggerTable {
            root: Entry {
                level: LogLevel::Off,
                last_modified: None,
            },
            loggers: BTreeMap::new(),
            passthrough: Vec::new(),
        };
        for part in directives
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Ok(level) = part.parse::<LevelFilter>() {
                table.root.level = LogLevel::from_filter(level);
                continue;
            }
            let (target, level) = match part.split_once('=') {
                Some((t, l)) => (t.trim(), l.trim().parse::<LevelFilter>().ok()),
                // A bare target enables everything under it.
                None => (part, Some(LevelFilter::TRACE)),
            };
            match level {
                Some(level) if is_directive_target(&target_of(target)) => {
                    table.loggers.insert(
                        target.to_owned(),
                        Entry {
                            level: LogLevel::from_filter(level),
                            last_modified: None,
                        },
                    );
                }
                _ => table.passthrough.push(part.to_owned()),
            }
        }
        table
    }

    /// The existing key for a name: itself, or a logger with the same target.
    fn key_of(&self, name: &str) -> Option<String> {
        if self.loggers.contains_key(name) {
            return Some(name.to_owned());
        }
        let target = target_of(name);
        self.loggers
            .keys()
            .find(|k| target_of(k) == target)
            .cloned()
    }

    /// The level `name` gets from its closest configured ancestor, or root.
    fn effective_level(&self, name: &str) -> LogLevel {
        let target = target_of(name);
        self.loggers
            .iter()
            .map(|(k, e)| (target_of(k), e))
            .filter(|(t, _)| t.len() < target.len() && target.starts_with(t.as_str()))
            .max_by_key(|(t, _)| t.len())
            .map(|(_, e)| e.level)
            .unwrap_or(self.root.level)
    }

    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut out: BTreeMap<String, LoggerLevel> = self
            .loggers
            .iter()
            .map(|(k, e)| (k.clone(), e.info()))
            .collect();
        out.insert(ROOT_LOGGER.to_owned(), self.root.info());
        out
    }

    fn level(&self, name: &str) -> Option<LoggerLevel> {
        if is_root(name) {
            return Some(self.root.info());
        }
        self.key_of(name)
            .and_then(|k| self.loggers.get(&k))
            .map(Entry::info)
    }

    /// Log4j semantics: the logger and every logger below it (by name
    /// prefix) take the level; only those whose level changes get a new
    /// `last_modified` and are reported. A logger that did not exist yet is
    /// created even when its level stays the same.
    fn set_level(&mut self, name: &str, level: LogLevel, now: i64) -> Vec<String> {
        let mut changed = Vec::new();
        let set = |entry: &mut Entry, key: &str, changed: &mut Vec<String>| {
            if entry.level != level {
                entry.level = level;
                entry.last_modified = Some(now);
                changed.push(key.to_owned());
            }
        };
        if is_root(name) {
            for (key, entry) in self.loggers.iter_mut() {
                set(entry, key, &mut changed);
            }
            set(&mut self.root, ROOT_LOGGER, &mut changed);
        } else {
            let key = match self.key_of(name) {
                Some(key) => key,
                None => {
                    let entry = Entry {
                        level: self.effective_level(name),
                        last_modified: None,
                    };
                    self.loggers.insert(name.to_owned(), entry);
                    name.to_owned()
                }
            };
            let prefix = target_of(&key);
            for (k, entry) in self.loggers.iter_mut() {
                if target_of(k).starts_with(&prefix) {
                    set(entry, k, &mut changed);
                }
            }
        }
        changed.sort();
        changed
    }

    /// The filter directives for the current table.
    fn directives(&self) -> String {
        let mut parts = vec![self.root.level.filter().to_string()];
        for (name, entry) in &self.loggers {
            let target = target_of(name);
            if is_directive_target(&target) {
                parts.push(format!("{target}={}", entry.level.filter()));
            }
        }
        parts.extend(self.passthrough.iter().cloned());
        parts.join(",")
    }
}

/// [`LoggerControl`] over a reloadable `EnvFilter`.
pub struct TracingLoggers<S> {
    handle: reload::Handle<EnvFilter, S>,
    table: Mutex<LoggerTable>,
}

impl<S: 'static> TracingLoggers<S> {
    /// `directives` must be what the filter behind `handle` was built from,
    /// so that the first change keeps everything else as it was.
    pub fn new(handle: reload::Handle<EnvFilter, S>, directives: &str) -> Self {
        TracingLoggers {
            handle,
            table: Mutex::new(LoggerTable::from_directives(directives)),
        }
    }

    fn table(&self) -> MutexGuard<'_, LoggerTable> {
        // The table stays consistent across a panic (each change is applied
        // whole), so a poisoned lock is still usable.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl TracingLoggers<Registry> {
    /// Installs the global subscriber: a reloadable `EnvFilter` built from
    /// `directives` (`EnvFilter` syntax) and the default `fmt` layer.
    pub fn install(directives: &str) -> Result<Arc<Self>, String> {
        let filter = EnvFilter::builder().parse_lossy(directives);
        let (layer, handle) = reload::Layer::new(filter);
        tracing_subscriber::registry()
            .with(layer)
            // Colours only on a terminal: logs usually go to a file.
            .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init()
            .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
        Ok(Arc::new(TracingLoggers::new(handle, directives)))
    }
}

impl TracingLoggers<Registry> {
    /// A control whose filter is gone: it lists levels, but changes fail.
    fn detached(directives: &str) -> Self {
        let (_layer, handle) = reload::Layer::new(EnvFilter::builder().parse_lossy(directives));
        TracingLoggers::new(handle, directives)
    }
}

/// The worker's logging: `RUST_LOG` directives (`info` when unset), written
/// to stdout like Kafka Connect's console appender, with levels adjustable
/// through `/admin/loggers`. If a global subscriber already exists, it is
/// kept and level changes answer an error.
pub fn init_tracing() -> Arc<dyn LoggerControl> {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| "info".to_owned());
    match TracingLoggers::install(&directives) {
        Ok(loggers) => loggers,
        Err(e) => {
            eprintln!("{e}");
            Arc::new(TracingLoggers::detached(&directives))
        }
    }
}

impl<S: 'static> LoggerControl for TracingLoggers<S> {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        self.table().levels()
    }

    fn level(&self, name: &str) -> Option<LoggerLevel> {
        self.table().level(name)
    }

    fn set_level(&self, name: &str, level: LogLevel) -> Result<Vec<String>, String> {
        let mut table = self.table();
        let mut updated = table.clone();
        let changed = updated.set_level(name, level, now_millis());
        let filter = EnvFilter::builder().parse_lossy(updated.directives());
        self.handle
            .reload(filter)
            .map_err(|e| format!("cannot change the log level: {e}"))?;
        *table = updated;
        tracing::info!(logger = name, level = level.name(), "log level changed");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_are_log4j() {
        assert_eq!(LogLevel::parse("debug"), Some(LogLevel::Debug));
        assert_eq!(LogLevel::parse("Warn"), Some(LogLevel::Warn));
        assert_eq!(
            LogLevel::parse("FATAL").map(LogLevel::filter),
            Some(LevelFilter::ERROR)
        );
        assert_eq!(
            LogLevel::parse("off").map(LogLevel::filter),
            Some(LevelFilter::OFF)
        );
        assert_eq!(
            LogLevel::parse("all").map(LogLevel::filter),
            Some(LevelFilter::TRACE)
        );
        assert_eq!(LogLevel::parse("bogus"), None);
        assert_eq!(LogLevel::parse("5"), None);
        assert_eq!(LogLevel::parse("INFO").map(LogLevel::name), Some("INFO"));
    }

    #[test]
    fn names_become_targets() {
        assert_eq!(target_of("ferry_runtime"), "ferry_runtime");
        assert_eq!(target_of("ferry_runtime::worker"), "ferry_runtime::worker");
        assert_eq!(target_of("ferry_runtime.worker"), "ferry_runtime::worker");
        assert_eq!(target_of("ferry-runtime.worker"), "ferry_runtime::worker");
        assert_eq!(
            target_of("org.apache.kafka.connect"),
            "org::apache::kafka::connect"
        );
        assert!(is_directive_target("ferry_runtime::worker"));
        assert!(!is_directive_target("Foo$Bar"));
        assert!(!is_directive_target("a b"));
    }

    #[test]
    fn initial_directives() {
        let t = LoggerTable::from_directives(
            "info, ferry_runtime=debug,rdkafka=WARN,[span{x=1}]=trace,h2",
        );
        assert_eq!(t.root.level, LogLevel::Info);
        assert_eq!(
            t.loggers.get("ferry_runtime").map(|e| e.level),
            Some(LogLevel::Debug)
        );
        assert_eq!(
            t.loggers.get("rdkafka").map(|e| e.level),
            Some(LogLevel::Warn)
        );
        assert_eq!(t.loggers.get("h2").map(|e| e.level), Some(LogLevel::Trace));
        assert_eq!(t.passthrough, vec!["[span{x=1}]=trace".to_owned()]);
        assert_eq!(
            t.directives(),
            "info,ferry_runtime=debug,h2=trace,rdkafka=warn,[span{x=1}]=trace"
        );
        assert_eq!(LoggerTable::from_directives("").root.level, LogLevel::Off);
    }

    #[test]
    fn set_and_read_levels() {
        let mut t = LoggerTable::from_directives("info,ferry_runtime::worker=warn");
        assert_eq!(t.level("ROOT").map(|l| l.level), Some("INFO".to_owned()));
        assert_eq!(
            t.level("ferry_runtime.worker").map(|l| l.level),
            Some("WARN".to_owned())
        );
        assert_eq!(t.level("ferry_runtime"), None);

        // The namespace and the logger below it both change.
        let changed = t.set_level("ferry_runtime", LogLevel::Debug, 42);
        assert_eq!(
            changed,
            vec![
                "ferry_runtime".to_owned(),
                "ferry_runtime::worker".to_owned()
            ]
        );
        assert_eq!(
            t.level("ferry_runtime"),
            Some(LoggerLevel {
                level: "DEBUG".to_owned(),
                last_modified: Some(42)
            })
        );
        assert_eq!(
            t.directives(),
            "info,ferry_runtime=debug,ferry_runtime::worker=debug"
        );

        // Same level again: nothing reported, nothing touched.
        assert!(t.set_level("ferry_runtime", LogLevel::Debug, 43).is_empty());
        assert_eq!(
            t.level("ferry_runtime").and_then(|l| l.last_modified),
            Some(42)
        );

        // A new logger at its inherited level exists afterwards, unchanged.
        assert!(t.set_level("my.new.logger", LogLevel::Info, 44).is_empty());
        assert_eq!(
            t.level("my.new.logger"),
            Some(LoggerLevel {
                level: "INFO".to_owned(),
                last_modified: None
            })
        );

        // Java-style and Rust-style names reach the same logger.
        let changed = t.set_level("ferry_runtime.worker", LogLevel::Fatal, 45);
        assert_eq!(changed, vec!["ferry_runtime::worker".to_owned()]);
        assert_eq!(
            t.level("ferry_runtime::worker").map(|l| l.level),
            Some("FATAL".to_owned())
        );

        // Root takes everything along.
        let changed = t.set_level("root", LogLevel::Warn, 46);
        assert_eq!(
            changed,
            vec![
                "ferry_runtime".to_owned(),
                "ferry_runtime::worker".to_owned(),
                "my.new.logger".to_owned(),
                "root".to_owned()
            ]
        );
        let all = t.levels();
        assert_eq!(all.len(), 4);
        assert!(all.values().all(|l| l.level == "WARN"));
        assert_eq!(
            t.directives(),
            "warn,ferry_runtime=warn,ferry_runtime::worker=warn,my::new::logger=warn"
        );
    }

    #[test]
    fn unrepresentable_names_are_listed_but_not_filtered() {
        let mut t = LoggerTable::from_directives("info");
        assert_eq!(
            t.set_level("org.Foo$Bar", LogLevel::Debug, 1),
            vec!["org.Foo$Bar".to_owned()]
        );
        assert_eq!(
            t.level("org.Foo$Bar").map(|l| l.level),
            Some("DEBUG".to_owned())
        );
        assert_eq!(t.directives(), "info");
    }

    #[test]
    fn detached_control_reports_reload_errors() {
        let loggers = TracingLoggers::detached("info");
        assert!(loggers.set_level("x", LogLevel::Debug).is_err());
        // A failed change leaves the table as it was.
        assert_eq!(loggers.level("x"), None);
    }

    #[test]
    fn reload_changes_the_live_filter() {
        use tracing_subscriber::layer::SubscriberExt;

        let (layer, handle) = reload::Layer::new(EnvFilter::builder().parse_lossy("info"));
        let subscriber = tracing_subscriber::registry().with(layer);
        let loggers = TracingLoggers::new(handle, "info");
        tracing::subscriber::with_default(subscriber, || {
            assert!(!tracing::enabled!(target: "ferry_rest::x", tracing::Level::DEBUG));
            let changed = loggers
                .set_level("ferry_rest", LogLevel::Debug)
                .expect("reload");
            assert_eq!(changed, vec!["ferry_rest".to_owned()]);
            tracing::callsite::rebuild_interest_cache();
            assert!(tracing::enabled!(target: "ferry_rest::x", tracing::Level::DEBUG));
            assert!(!tracing::enabled!(target: "other", tracing::Level::DEBUG));
        });
    }
}
