//! `/admin/loggers`: the interface the REST layer needs, and an
//! implementation that reloads a `tracing_subscriber` `EnvFilter`.
//!
//! Kafka Connect names Log4j loggers (`org.apache.kafka.connect.runtime`);
//! Ferry logs through `tracing`, whose targets are module paths
//! (`ferry_runtime::worker`). A logger name is used as given for display,
//! and turned into a target for the filter: dots become `::`, dashes become
//! underscores, and a name that already contains `::` is kept as is. `root`
//! (any case) is the default directive.

use std::collections::{BTreeMap, BTreeSet};
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

/// The most loggers the worker remembers a level of its own for (root and
/// the loggers named in the initial directives included). Each one is a
/// filter directive that every later change rebuilds, so an unbounded table
/// would let a client grow the worker's memory and slow every change; Kafka
/// Connect keeps them all, but Log4j's loggers are bounded by the classes
/// that log. Past the cap a new name is refused rather than an old one
/// forgotten, because forgetting would silently undo a level an operator set.
pub const MAX_LOGGERS: usize = 1000;

/// The most logging targets recorded as existing loggers; they come from the
/// code's callsites, so this only guards against a runaway source of them.
const MAX_KNOWN_TARGETS: usize = 10_000;

/// Why a level change was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoggerError {
    #[error("Cannot set the level of logger {name}: this worker already holds {max} loggers with levels set through /admin/loggers, the most it keeps. Set the level of a namespace that contains it, or of a logger set before.")]
    TooManyLoggers { name: String, max: usize },
    #[error("cannot change the log level: {0}")]
    Reload(String),
}

/// What `/admin/loggers` needs from the worker's logging.
pub trait LoggerControl: Send + Sync {
    /// The root logger and every logger with a level of its own, by name.
    fn levels(&self) -> BTreeMap<String, LoggerLevel>;
    /// One logger's level; `None` when no such logger is known.
    fn level(&self, name: &str) -> Option<LoggerLevel>;
    /// Sets the level of `name` and of every known logger below it (all of
    /// them for `root`). Returns the names whose level changed, sorted, as
    /// Kafka Connect's `Loggers.setLevel` does.
    fn set_level(&self, name: &str, level: LogLevel) -> Result<Vec<String>, LoggerError>;
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// The `tracing` target of the name, computed once.
    target: String,
    level: LogLevel,
    last_modified: Option<i64>,
}

fn info(level: LogLevel, last_modified: Option<i64>) -> LoggerLevel {
    LoggerLevel {
        level: level.name().to_owned(),
        last_modified,
    }
}

/// The logger table, independent of any subscriber.
#[derive(Debug, Clone)]
struct LoggerTable {
    root: LogLevel,
    root_modified: Option<i64>,
    /// Loggers with a level of their own, by name as given.
    loggers: BTreeMap<String, Entry>,
    /// When loggers without a level of their own (targets that have
    /// logged) last changed level through a namespace above them.
    inherited_modified: BTreeMap<String, i64>,
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

/// A logger a change touches: one with a level of its own (by its key in
/// the table) or a known target inheriting its level.
enum Member {
    Root,
    Own(String),
    Inherited(String),
}

impl LoggerTable {
    /// Reads `EnvFilter` directives (`info,ferry_runtime=debug`). No bare
    /// level means everything else is off, as in `EnvFilter`.
    fn from_directives(directives: &str) -> Self {
        let mut table = LoggerTable {
            root: LogLevel::Off,
            root_modified: None,
            loggers: BTreeMap::new(),
            inherited_modified: BTreeMap::new(),
            passthrough: Vec::new(),
        };
        for part in directives
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if let Ok(level) = part.parse::<LevelFilter>() {
                table.root = LogLevel::from_filter(level);
                continue;
            }
            let (name, level) = match part.split_once('=') {
                Some((t, l)) => (t.trim(), l.trim().parse::<LevelFilter>().ok()),
                // A bare target enables everything under it.
                None => (part, Some(LevelFilter::TRACE)),
            };
            let target = target_of(name);
            match level {
                Some(level) if is_directive_target(&target) => {
                    table.loggers.insert(
                        name.to_owned(),
                        Entry {
                            target,
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
            .iter()
            .find(|(_, e)| e.target == target)
            .map(|(k, _)| k.clone())
    }

    /// The level of a target: its own, else its closest configured
    /// ancestor's (by target prefix, as the filter matches), else root's.
    fn effective_level(&self, target: &str) -> LogLevel {
        self.loggers
            .values()
            .filter(|e| target.starts_with(e.target.as_str()))
            .max_by_key(|e| e.target.len())
            .map(|e| e.level)
            .unwrap_or(self.root)
    }

    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut out: BTreeMap<String, LoggerLevel> = self
            .loggers
            .iter()
            .map(|(k, e)| (k.clone(), info(e.level, e.last_modified)))
            .collect();
        out.insert(ROOT_LOGGER.to_owned(), info(self.root, self.root_modified));
        out
    }

    /// A logger's level: root, a logger with a level of its own, or a
    /// target that has logged (`known`), at the level it inherits.
    fn level(&self, name: &str, known: &BTreeSet<String>) -> Option<LoggerLevel> {
        if is_root(name) {
            return Some(info(self.root, self.root_modified));
        }
        if let Some(e) = self.key_of(name).and_then(|k| self.loggers.get(&k)) {
            return Some(info(e.level, e.last_modified));
        }
        let target = target_of(name);
        known.contains(&target).then(|| {
            info(
                self.effective_level(&target),
                self.inherited_modified.get(&target).copied(),
            )
        })
    }

    /// The loggers a change of `name` touches, Kafka Connect's
    /// `Loggers.loggers(namespace)`: every known logger whose name starts
    /// with the namespace (all of them for root), the namespace included.
    fn members(&self, name: &str, known: &BTreeSet<String>) -> Vec<(Member, String)> {
        let prefix = if is_root(name) {
            String::new()
        } else {
            target_of(name)
        };
        let mut members: Vec<(Member, String)> = self
            .loggers
            .iter()
            .filter(|(_, e)| e.target.starts_with(&prefix))
            .map(|(k, e)| (Member::Own(k.clone()), e.target.clone()))
            .collect();
        let own: BTreeSet<&str> = self.loggers.values().map(|e| e.target.as_str()).collect();
        members.extend(
            known
                .range(prefix.clone()..)
                .take_while(|t| t.starts_with(&prefix))
                .filter(|t| !own.contains(t.as_str()))
                .map(|t| (Member::Inherited(t.clone()), t.clone())),
        );
        if is_root(name) {
            members.push((Member::Root, String::new()));
        }
        members
    }

    fn level_of(&self, member: &Member, target: &str) -> LogLevel {
        match member {
            Member::Root => self.root,
            Member::Own(key) => self.loggers.get(key).map_or(self.root, |e| e.level),
            Member::Inherited(_) => self.effective_level(target),
        }
    }

    /// Log4j semantics: the logger and every logger below it (by name
    /// prefix) take the level, those with a level of their own directly and
    /// the others through it. Only those whose level changes get a new
    /// `last_modified` and are reported. A logger that did not exist yet is
    /// created even when its level stays the same; past [`MAX_LOGGERS`] a
    /// new one is refused.
    fn set_level(
        &mut self,
        name: &str,
        level: LogLevel,
        now: i64,
        known: &BTreeSet<String>,
    ) -> Result<Vec<String>, LoggerError> {
        if !is_root(name) && self.key_of(name).is_none() {
            // Root counts as one of the loggers kept.
            if self.loggers.len() + 1 >= MAX_LOGGERS {
                return Err(LoggerError::TooManyLoggers {
                    name: name.to_owned(),
                    max: MAX_LOGGERS,
                });
            }
            let target = target_of(name);
            let inherited = self.effective_level(&target);
            self.loggers.insert(
                name.to_owned(),
                Entry {
                    target,
                    level: inherited,
                    last_modified: None,
                },
            );
        }
        let members = self.members(name, known);
        let before: Vec<LogLevel> = members.iter().map(|(m, t)| self.level_of(m, t)).collect();
        if is_root(name) {
            self.root = level;
        }
        let prefix = if is_root(name) {
            String::new()
        } else {
            target_of(name)
        };
        for entry in self.loggers.values_mut() {
            if entry.target.starts_with(&prefix) {
                entry.level = level;
            }
        }
        let mut changed = Vec::new();
        for ((member, target), old) in members.iter().zip(before) {
            if self.level_of(member, target) == old {
                continue;
            }
            match member {
                Member::Root => {
                    self.root_modified = Some(now);
                    changed.push(ROOT_LOGGER.to_owned());
                }
                Member::Own(key) => {
                    if let Some(e) = self.loggers.get_mut(key) {
                        e.last_modified = Some(now);
                    }
                    changed.push(key.clone());
                }
                Member::Inherited(target) => {
                    self.inherited_modified.insert(target.clone(), now);
                    changed.push(target.clone());
                }
            }
        }
        changed.sort();
        Ok(changed)
    }

    /// The filter directives for the current table.
    fn directives(&self) -> String {
        let mut parts = vec![self.root.filter().to_string()];
        for entry in self.loggers.values() {
            if is_directive_target(&entry.target) {
                parts.push(format!("{}={}", entry.target, entry.level.filter()));
            }
        }
        parts.extend(self.passthrough.iter().cloned());
        parts.join(",")
    }
}

/// The targets of the callsites that have been reached: Ferry's loggers
/// that exist, as Log4j's do once their class has logged.
#[derive(Clone, Default)]
pub struct KnownTargets(Arc<Mutex<BTreeSet<String>>>);

impl KnownTargets {
    fn snapshot(&self) -> BTreeSet<String> {
        lock(&self.0).clone()
    }

    fn record(&self, target: &str) {
        let mut targets = lock(&self.0);
        if targets.len() < MAX_KNOWN_TARGETS && !targets.contains(target) {
            targets.insert(target.to_owned());
        }
    }
}

/// A layer that records each callsite's target once, when it registers.
struct TargetRecorder(KnownTargets);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for TargetRecorder {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        self.0.record(metadata.target());
        tracing::subscriber::Interest::always()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent across a panic (each change is
    // applied whole), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// [`LoggerControl`] over a reloadable `EnvFilter`.
pub struct TracingLoggers<S> {
    handle: reload::Handle<EnvFilter, S>,
    table: Mutex<LoggerTable>,
    known: KnownTargets,
}

impl<S: 'static> TracingLoggers<S> {
    /// `directives` must be what the filter behind `handle` was built from,
    /// so that the first change keeps everything else as it was; `known`
    /// collects the targets that have logged.
    pub fn new(
        handle: reload::Handle<EnvFilter, S>,
        directives: &str,
        known: KnownTargets,
    ) -> Self {
        TracingLoggers {
            handle,
            table: Mutex::new(LoggerTable::from_directives(directives)),
            known,
        }
    }

    fn table(&self) -> MutexGuard<'_, LoggerTable> {
        lock(&self.table)
    }
}

impl TracingLoggers<Registry> {
    /// Installs the global subscriber: a reloadable `EnvFilter` built from
    /// `directives` (`EnvFilter` syntax) and the default `fmt` layer.
    pub fn install(directives: &str) -> Result<Arc<Self>, String> {
        let filter = EnvFilter::builder().parse_lossy(directives);
        let (layer, handle) = reload::Layer::new(filter);
        let known = KnownTargets::default();
        tracing_subscriber::registry()
            .with(layer)
            // Colours only on a terminal: logs usually go to a file.
            .with(tracing_subscriber::fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .with(TargetRecorder(known.clone()))
            .try_init()
            .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
        Ok(Arc::new(TracingLoggers::new(handle, directives, known)))
    }
}

impl TracingLoggers<Registry> {
    /// A control whose filter is gone: it lists levels, but changes fail.
    fn detached(directives: &str) -> Self {
        let (_layer, handle) = reload::Layer::new(EnvFilter::builder().parse_lossy(directives));
        TracingLoggers::new(handle, directives, KnownTargets::default())
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
        self.table().level(name, &self.known.snapshot())
    }

    fn set_level(&self, name: &str, level: LogLevel) -> Result<Vec<String>, LoggerError> {
        let known = self.known.snapshot();
        let mut table = self.table();
        let mut updated = table.clone();
        let changed = updated.set_level(name, level, now_millis(), &known)?;
        let filter = EnvFilter::builder().parse_lossy(updated.directives());
        self.handle
            .reload(filter)
            .map_err(|e| LoggerError::Reload(e.to_string()))?;
        *table = updated;
        drop(table);
        tracing::info!(logger = name, level = level.name(), "log level changed");
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

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
        assert_eq!(t.root, LogLevel::Info);
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
        assert_eq!(LoggerTable::from_directives("").root, LogLevel::Off);
    }

    #[test]
    fn set_and_read_levels() {
        let mut t = LoggerTable::from_directives("info,ferry_runtime::worker=warn");
        assert_eq!(
            t.level("ROOT", &none()).map(|l| l.level),
            Some("INFO".to_owned())
        );
        assert_eq!(
            t.level("ferry_runtime.worker", &none()).map(|l| l.level),
            Some("WARN".to_owned())
        );
        assert_eq!(t.level("ferry_runtime", &none()), None);

        // The namespace and the logger below it both change.
        let changed = t
            .set_level("ferry_runtime", LogLevel::Debug, 42, &none())
            .expect("set");
        assert_eq!(
            changed,
            vec![
                "ferry_runtime".to_owned(),
                "ferry_runtime::worker".to_owned()
            ]
        );
        assert_eq!(
            t.level("ferry_runtime", &none()),
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
        assert!(t
            .set_level("ferry_runtime", LogLevel::Debug, 43, &none())
            .expect("set")
            .is_empty());
        assert_eq!(
            t.level("ferry_runtime", &none())
                .and_then(|l| l.last_modified),
            Some(42)
        );

        // A new logger at its inherited level exists afterwards, unchanged.
        assert!(t
            .set_level("my.new.logger", LogLevel::Info, 44, &none())
            .expect("set")
            .is_empty());
        assert_eq!(
            t.level("my.new.logger", &none()),
            Some(LoggerLevel {
                level: "INFO".to_owned(),
                last_modified: None
            })
        );

        // Java-style and Rust-style names reach the same logger.
        let changed = t
            .set_level("ferry_runtime.worker", LogLevel::Fatal, 45, &none())
            .expect("set");
        assert_eq!(changed, vec!["ferry_runtime::worker".to_owned()]);
        assert_eq!(
            t.level("ferry_runtime::worker", &none()).map(|l| l.level),
            Some("FATAL".to_owned())
        );

        // Root takes everything along.
        let changed = t
            .set_level("root", LogLevel::Warn, 46, &none())
            .expect("set");
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
            t.set_level("org.Foo$Bar", LogLevel::Debug, 1, &none())
                .expect("set"),
            vec!["org.Foo$Bar".to_owned()]
        );
        assert_eq!(
            t.level("org.Foo$Bar", &none()).map(|l| l.level),
            Some("DEBUG".to_owned())
        );
        assert_eq!(t.directives(), "info");
    }

    #[test]
    fn loggers_that_have_logged_change_with_their_namespace() {
        let known: BTreeSet<String> = ["ferry_rest::server", "ferry_rest::routes", "other::x"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut t = LoggerTable::from_directives("info");
        // Known targets exist: their level is the one they inherit.
        assert_eq!(
            t.level("ferry_rest.server", &known).map(|l| l.level),
            Some("INFO".to_owned())
        );
        assert_eq!(t.level("ferry_rest", &known), None);
        let changed = t
            .set_level("ferry_rest", LogLevel::Debug, 7, &known)
            .expect("set");
        assert_eq!(
            changed,
            vec!["ferry_rest", "ferry_rest::routes", "ferry_rest::server"]
        );
        assert_eq!(
            t.level("ferry_rest::server", &known),
            Some(LoggerLevel {
                level: "DEBUG".to_owned(),
                last_modified: Some(7)
            })
        );
        // Only the namespace has a level of its own.
        assert_eq!(t.levels().len(), 2);
        let changed = t
            .set_level("ferry_rest::server", LogLevel::Info, 8, &known)
            .expect("set");
        assert_eq!(changed, vec!["ferry_rest::server"]);
        let changed = t
            .set_level("root", LogLevel::Debug, 9, &known)
            .expect("set");
        assert_eq!(changed, vec!["ferry_rest::server", "other::x", "root"]);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = LoggerTable::from_directives("info,a=debug");
        let none = none();
        for i in 0..MAX_LOGGERS - 2 {
            t.set_level(&format!("l{i:04}"), LogLevel::Debug, 1, &none)
                .expect("room");
        }
        assert_eq!(t.levels().len(), MAX_LOGGERS);
        let err = t
            .set_level("one.more", LogLevel::Debug, 2, &none)
            .expect_err("full");
        assert_eq!(
            err,
            LoggerError::TooManyLoggers {
                name: "one.more".to_owned(),
                max: MAX_LOGGERS
            }
        );
        assert!(err.to_string().contains("1000 loggers"), "{err}");
        // Known loggers still change, root included.
        assert_eq!(
            t.set_level("l0003", LogLevel::Warn, 3, &none)
                .expect("known"),
            vec!["l0003"]
        );
        assert!(t.set_level("root", LogLevel::Warn, 4, &none).is_ok());
        assert_eq!(t.levels().len(), MAX_LOGGERS);
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
        let loggers = TracingLoggers::new(handle, "info", KnownTargets::default());
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
