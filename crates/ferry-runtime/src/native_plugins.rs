//! Native plugins: shared libraries found under `plugin.path`, loaded
//! through the C ABI of `ferry-plugin-abi` and registered in the worker's
//! [`Plugins`] registry exactly as built-ins are.
//!
//! Each `.so` directly in a `plugin.path` directory, or in a subdirectory
//! of one, is a plugin library (an entry may also name a library itself).
//! The ABI version is read first; a library of another version, a file
//! that is not a plugin library, or one that cannot be loaded is logged
//! with its path and skipped. Two plugins of one class name refuse the
//! start, naming both files. Libraries are never unloaded.
//!
//! Adapters implement Ferry's plugin traits over a library's function
//! tables. Connector and task methods run on a blocking thread (the guest
//! drives its own async code to completion); one call at a time per
//! instance. A panic inside a plugin comes back as a `PANIC` status and
//! fails the task (or the record) that made the call, never the worker.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ConfigError, ValidatedValue};
use ferry_api::sync::lock;
use ferry_api::{
    ConnectError, ConnectRecord, Connector, ConnectorContext, ConnectorKind, ConvertError,
    Converter, HeaderConverter, Plugin, PluginDescriptor, Predicate, RecordMetadata, Schema,
    SinkRecord, SinkTask, SinkTaskContext, SourceRecord, SourceTask, SourceTaskContext, StopSignal,
    TopicPartition, TransformError, Transformation, Value,
};
use ferry_plugin_abi::wire::{Reader, WireError, Writer};
use ferry_plugin_abi::{
    kind, status, FerryBuf, FerryConnectorContext, FerryConnectorVTable, FerryConverterVTable,
    FerryError, FerryHeaderConverterVTable, FerryManifest, FerryPluginDesc, FerryPredicateVTable,
    FerryRecordMetadata, FerrySinkTaskContext, FerrySinkTaskVTable, FerrySourceTaskContext,
    FerrySourceTaskVTable, FerryStr, FerryTransformationVTable, ABI_VERSION, ENTRY_SYMBOL,
    ENTRY_SYMBOL_NAME,
};
use ferry_sdk::codec::{self, WireRecord};
use ferry_sdk::config_json;
use ferry_sdk::failure::Failure;
use tracing::{error, info, warn};

use crate::plugins::{Origin, Plugins, RegisterError};
use crate::Props;

/// Why a library was skipped. Logged; the worker runs without it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The dynamic loader refused the file (not a shared library, a
    /// truncated file, a missing dependency).
    #[error("cannot load plugin library {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    /// An ELF file shorter than its own headers say: the dynamic loader
    /// would map the missing part and crash the worker on first touch, so
    /// it is refused before loading.
    #[error("cannot load plugin library {}: the file is truncated ({reason})", path.display())]
    Truncated { path: PathBuf, reason: String },
    /// A shared library without the entry point.
    #[error("{} is not a Ferry plugin library: it exports no `{ENTRY_SYMBOL_NAME}` symbol ({source})", path.display())]
    NotAPlugin {
        path: PathBuf,
        #[source]
        source: libloading::Error,
    },
    /// Built against another version of the ABI.
    #[error("plugin library {} was built for plugin ABI version {found}, but this worker supports version {expected} only; rebuild it against this worker's ferry-sdk", path.display())]
    AbiVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    /// The library's manifest function failed or returned nonsense.
    #[error("plugin library {} could not describe its plugins: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    /// More connector plugins than this worker has room for.
    #[error("plugin library {}: connector {class} exceeds this worker's limit of {MAX_CONNECTORS} native connector plugins", path.display())]
    TooManyConnectors { path: PathBuf, class: String },
}

/// Why the worker cannot start with its `plugin.path`.
#[derive(Debug, thiserror::Error)]
pub enum NativePluginError {
    /// Two plugins claim one class name (in two libraries, or a library
    /// and a built-in): which one a configuration means would be a guess.
    #[error("ambiguous plugin class in plugin.path: {0}")]
    Duplicate(#[from] RegisterError),
}

/// The plugin libraries under `plugin.path`: `.so` files directly in each
/// directory or in its subdirectories (an entry may also name a library),
/// each once, in name order per directory.
pub fn scan(plugin_path: &[String]) -> Vec<PathBuf> {
    fn is_library(p: &Path) -> bool {
        p.is_file()
            && p.extension()
                .is_some_and(|e| e == "so" || e == std::env::consts::DLL_EXTENSION)
    }
    fn entries(dir: &Path) -> Vec<PathBuf> {
        match std::fs::read_dir(dir) {
            Ok(rd) => {
                let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                v.sort();
                v
            }
            Err(e) => {
                warn!(path = %dir.display(), "cannot read plugin.path directory {}: {e}", dir.display());
                Vec::new()
            }
        }
    }
    let mut found: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        let canonical = p.canonicalize().unwrap_or_else(|_| p.clone());
        if !found
            .iter()
            .any(|f| f.canonicalize().is_ok_and(|c| c == canonical))
        {
            found.push(p);
        }
    };
    for entry in plugin_path {
        let root = Path::new(entry.trim());
        if is_library(root) {
            push(root.to_owned());
            continue;
        }
        if !root.is_dir() {
            warn!(path = %root.display(), "plugin.path entry {} is not a directory; skipped", root.display());
            continue;
        }
        for p in entries(root) {
            if is_library(&p) {
                push(p);
            } else if p.is_dir() {
                for q in entries(&p) {
                    if is_library(&q) {
                        push(q);
                    }
                }
            }
        }
    }
    found
}

/// Loads every plugin library under `plugin_path` into `plugins`. Broken
/// libraries are logged and skipped; a class claimed twice is an error.
pub fn load_plugin_path(
    plugin_path: &[String],
    plugins: &mut Plugins,
) -> Result<(), NativePluginError> {
    for path in scan(plugin_path) {
        let loaded = match load_library(&path) {
            Ok(loaded) => loaded,
            Err(e) => {
                error!(path = %path.display(), "{e}; the library is skipped");
                continue;
            }
        };
        for plugin in loaded {
            info!(path = %path.display(), class = plugin.class(), version = plugin.version(),
                "loaded {} plugin {} from {}", plugin.plugin_type().name(), plugin.class(), path.display());
            plugins.register(Origin::File(path.clone()), plugin)?;
        }
    }
    Ok(())
}

/// A loaded library: its path and how to free what it hands over.
struct Library {
    path: PathBuf,
    free_buf: extern "C" fn(FerryBuf),
}

/// One plugin of a library, as the adapters use it.
struct Desc {
    lib: &'static Library,
    class: String,
    version: String,
    config_def: ConfigDef,
    factory: *const c_void,
    vtable: *const c_void,
}

// SAFETY: the factory and table pointers point at immutable data of a
// library that is never unloaded.
unsafe impl Send for Desc {}
unsafe impl Sync for Desc {}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

fn ferry_text(s: FerryStr, what: &str) -> Result<String, String> {
    // SAFETY: manifest strings live as long as the library.
    let bytes = unsafe { s.as_bytes() };
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// The texts of a manifest array.
///
/// # Safety
/// `ptr` points at `count` strings that live as long as the library
/// (or `count` is 0).
unsafe fn ferry_texts(
    ptr: *const FerryStr,
    count: usize,
    what: &str,
) -> Result<Vec<String>, String> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the caller's promise.
    unsafe { std::slice::from_raw_parts(ptr, count) }
        .iter()
        .map(|s| ferry_text(*s, what))
        .collect()
}

/// Loads one library and describes its plugins as registrable [`Plugin`]s.
fn load_library(path: &Path) -> Result<Vec<Plugin>, LoadError> {
    if let Some((head, len)) = file_head(path) {
        check_elf_extent(&head, len).map_err(|reason| LoadError::Truncated {
            path: path.to_owned(),
            reason,
        })?;
    }
    // SAFETY: loading runs the library's initializers; plugin.path is
    // trusted configuration, as Kafka Connect trusts the jars it names.
    let library = unsafe { libloading::Library::new(path) }.map_err(|source| LoadError::Open {
        path: path.to_owned(),
        source,
    })?;
    // SAFETY: a data symbol; only its address is taken here.
    let entry: *const u32 = match unsafe { library.get::<*const u32>(ENTRY_SYMBOL) } {
        Ok(sym) => *sym,
        Err(source) => {
            return Err(LoadError::NotAPlugin {
                path: path.to_owned(),
                source,
            })
        }
    };
    if entry.is_null() {
        return Err(LoadError::Manifest {
            path: path.to_owned(),
            message: "the entry point is null".into(),
        });
    }
    // The version first, alone: every other layout depends on it.
    // SAFETY: the symbol's first field is a u32 in every ABI version.
    let found = unsafe { std::ptr::read_unaligned(entry) };
    if found != ABI_VERSION {
        return Err(LoadError::AbiVersion {
            path: path.to_owned(),
            found,
            expected: ABI_VERSION,
        });
    }
    // Never unloaded: plugin code and data stay referenced for the life
    // of the worker.
    std::mem::forget(library);
    // SAFETY: version 1's entry point layout.
    let entry = unsafe { &*(entry as *const ferry_plugin_abi::FerryPluginEntry) };
    let manifest_error = |message: String| LoadError::Manifest {
        path: path.to_owned(),
        message,
    };
    let mut out: *const FerryManifest = std::ptr::null();
    let mut err = FerryError::new();
    let s = catch_unwind(AssertUnwindSafe(|| (entry.manifest)(&mut out, &mut err)))
        .unwrap_or(status::PANIC);
    if s != status::OK {
        // The library's free function is unknown without a manifest; the
        // message is leaked, once per broken library.
        // SAFETY: the message buffer was filled by the library.
        let message = String::from_utf8_lossy(unsafe { err.message.as_bytes() }).into_owned();
        return Err(manifest_error(message));
    }
    // SAFETY: on OK the library set `out` to its manifest.
    let manifest = unsafe { out.as_ref() }.ok_or_else(|| manifest_error("no manifest".into()))?;
    let lib = leak(Library {
        path: path.to_owned(),
        free_buf: manifest.free_buf,
    });
    let descs: &[FerryPluginDesc] = if manifest.plugin_count == 0 {
        &[]
    } else {
        // SAFETY: the manifest holds plugin_count descriptions.
        unsafe { std::slice::from_raw_parts(manifest.plugins, manifest.plugin_count) }
    };
    let mut out = Vec::with_capacity(descs.len());
    for d in descs {
        let class = ferry_text(d.class_name, "a class name").map_err(manifest_error)?;
        let version = ferry_text(d.version, "a version").map_err(manifest_error)?;
        // SAFETY: the description holds alias_count aliases.
        let aliases =
            unsafe { ferry_texts(d.aliases, d.alias_count, "an alias") }.map_err(manifest_error)?;
        // SAFETY: the description holds local_file_key_count keys.
        let local_file_keys = unsafe {
            ferry_texts(
                d.local_file_keys,
                d.local_file_key_count,
                "a local file key",
            )
        }
        .map_err(manifest_error)?;
        let def_json = ferry_text(d.config_def, "a config definition").map_err(manifest_error)?;
        let config_def = config_json::config_def_from_json(&def_json)
            .map_err(|e| manifest_error(format!("plugin {class}: {e}")))?;
        if d.vtable.is_null() {
            return Err(manifest_error(format!(
                "plugin {class} has no function table"
            )));
        }
        let desc = leak(Desc {
            lib,
            class,
            version,
            config_def,
            factory: d.factory,
            vtable: d.vtable,
        });
        let plugin = match d.kind {
            kind::SOURCE | kind::SINK => {
                let connector_kind = if d.kind == kind::SOURCE {
                    ConnectorKind::Source
                } else {
                    ConnectorKind::Sink
                };
                connector_plugin(desc, connector_kind, &aliases, &local_file_keys).ok_or_else(
                    || LoadError::TooManyConnectors {
                        path: path.to_owned(),
                        class: desc.class.clone(),
                    },
                )?
            }
            kind::CONVERTER => {
                Plugin::converter(desc.class.clone(), desc.version.clone(), move || {
                    NativeConverter::new(desc)
                })
            }
            kind::HEADER_CONVERTER => {
                Plugin::header_converter(desc.class.clone(), desc.version.clone(), move || {
                    NativeHeaderConverter::new(desc)
                })
            }
            kind::TRANSFORMATION => {
                Plugin::transformation(desc.class.clone(), desc.version.clone(), move || {
                    NativeTransformation::new(desc)
                })
            }
            kind::PREDICATE => {
                Plugin::predicate(desc.class.clone(), desc.version.clone(), move || {
                    NativePredicate::new(desc)
                })
            }
            other => {
                return Err(manifest_error(format!(
                    "plugin {} has unknown kind {other}",
                    desc.class
                )))
            }
        };
        out.push(plugin.with_aliases(aliases));
    }
    Ok(out)
}

/// The first 64 KiB of a file (where ELF program headers live) and its
/// length; `None` when it cannot be read (the loader then says why).
fn file_head(path: &Path) -> Option<(Vec<u8>, u64)> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut head = Vec::new();
    f.take(64 * 1024).read_to_end(&mut head).ok()?;
    Some((head, len))
}

/// Checks that an ELF file holds everything its headers point at: the
/// program headers, each loadable segment, the section headers. Other
/// files pass (the loader refuses them with its own message).
fn check_elf_extent(b: &[u8], len: u64) -> Result<(), String> {
    if b.len() < 6 || &b[..4] != b"\x7fELF" {
        return Ok(());
    }
    let is64 = b[4] == 2;
    let little = b[5] == 1;
    let int = |at: usize, size: usize| -> Result<u64, String> {
        let s = b
            .get(at..at + size)
            .ok_or_else(|| format!("{len} bytes end inside the ELF headers"))?;
        let mut v = 0u64;
        for (i, byte) in s.iter().enumerate() {
            let shift = if little { 8 * i } else { 8 * (size - 1 - i) };
            v |= u64::from(*byte) << shift;
        }
        Ok(v)
    };
    let (phoff, shoff, phentsize, phnum, shentsize, shnum) = if is64 {
        (
            int(32, 8)?,
            int(40, 8)?,
            int(54, 2)?,
            int(56, 2)?,
            int(58, 2)?,
            int(60, 2)?,
        )
    } else {
        (
            int(28, 4)?,
            int(32, 4)?,
            int(42, 2)?,
            int(44, 2)?,
            int(46, 2)?,
            int(48, 2)?,
        )
    };
    let end = |off: u64, size: u64, what: &str| -> Result<(), String> {
        match off.checked_add(size) {
            Some(e) if e <= len => Ok(()),
            _ => Err(format!("{what} ends past its {len} bytes")),
        }
    };
    end(phoff, phentsize * phnum, "the program header table")?;
    end(shoff, shentsize * shnum, "the section header table")?;
    for i in 0..phnum {
        let h = usize::try_from(phoff + i * phentsize).map_err(|e| e.to_string())?;
        const PT_LOAD: u64 = 1;
        if int(h, 4)? != PT_LOAD {
            continue;
        }
        let (offset, filesz) = if is64 {
            (int(h + 8, 8)?, int(h + 32, 8)?)
        } else {
            (int(h + 4, 4)?, int(h + 16, 4)?)
        };
        end(offset, filesz, "a loadable segment")?;
    }
    Ok(())
}

// ---- calls --------------------------------------------------------------

impl Desc {
    /// Calls into the plugin; a failure's message is taken over (and the
    /// plugin's buffer freed). A panic is named as one, with the plugin,
    /// its library and the method.
    fn call(&self, method: &str, f: impl FnOnce(*mut FerryError) -> i32) -> Result<(), Failure> {
        let mut err = FerryError::new();
        // A guest built with the SDK never unwinds; one that does anyway
        // is stopped here rather than in the worker.
        let s = catch_unwind(AssertUnwindSafe(|| f(&mut err))).unwrap_or(status::PANIC);
        if s == status::OK {
            (self.lib.free_buf)(err.message);
            return Ok(());
        }
        // SAFETY: the plugin filled the message buffer (or left it empty).
        let message = String::from_utf8_lossy(unsafe { err.message.as_bytes() }).into_owned();
        (self.lib.free_buf)(err.message);
        let message = if s == status::PANIC {
            format!(
                "plugin {} ({}) panicked in {method}: {message}",
                self.class,
                self.lib.path.display()
            )
        } else {
            message
        };
        Err(Failure::new(s, message))
    }

    /// Reads a buffer the plugin returned, then frees it.
    fn take<T>(&self, buf: FerryBuf, read: impl FnOnce(&[u8]) -> T) -> T {
        // SAFETY: a buffer the plugin returned, live until freed below.
        let out = read(unsafe { buf.as_bytes() });
        (self.lib.free_buf)(buf);
        out
    }

    /// Calls a batch entry point over `n` items: `encode(start, w)` encodes
    /// the items from `start` on, `call` makes the call with them and
    /// `decode` reads its results. When an item fails, the plugin returns
    /// the results before it and is called again for the items after it,
    /// so there is one result per item, in order.
    fn batch_call<T>(
        &self,
        method: &str,
        n: usize,
        mut encode: impl FnMut(usize, &mut Writer),
        mut call: impl FnMut(FerryStr, &mut FerryBuf, *mut FerryError) -> i32,
        decode: impl Fn(&[u8]) -> Result<Vec<T>, WireError>,
    ) -> Vec<Result<T, Failure>> {
        let mut out = Vec::with_capacity(n);
        let mut w = Writer::new();
        let mut start = 0;
        while start < n {
            let left = n - start;
            w = Writer::reusing(w.into_vec());
            encode(start, &mut w);
            let mut buf = FerryBuf::EMPTY;
            let called = self.call(method, |err| {
                call(FerryStr::new(w.as_slice()), &mut buf, err)
            });
            // A failing plugin may leave the buffer empty.
            let results = self.take(buf, |b| match b {
                [] => Ok(Vec::new()),
                b => decode(b),
            });
            match (called, results) {
                (Ok(()), Ok(results)) if results.len() == left => {
                    out.extend(results.into_iter().map(Ok));
                    break;
                }
                (Err(failure), Ok(done)) if done.len() < left => {
                    start += done.len() + 1;
                    out.extend(done.into_iter().map(Ok));
                    out.push(Err(failure));
                }
                (called, results) => {
                    // Results that cannot be matched to items: every item
                    // left fails with what went wrong.
                    let failure = match (called, results) {
                        (Err(f), _) => f,
                        (Ok(()), Err(e)) => {
                            Failure::error(format!("plugin {} returned {e}", self.class))
                        }
                        (Ok(()), Ok(r)) => Failure::error(format!(
                            "plugin {} returned {} results for {left} items",
                            self.class,
                            r.len()
                        )),
                    };
                    out.extend((0..left).map(|_| Err(failure.clone())));
                    break;
                }
            }
        }
        out
    }

    /// A new instance from a table whose `create` takes the factory only.
    fn create(
        &'static self,
        method: &str,
        create: extern "C" fn(*const c_void, *mut *mut c_void, *mut FerryError) -> i32,
        destroy: extern "C" fn(*mut c_void),
    ) -> Result<Instance, Failure> {
        let mut ptr: *mut c_void = std::ptr::null_mut();
        self.call(method, |err| create(self.factory, &mut ptr, err))?;
        Ok(Instance::new(ptr, destroy))
    }
}

/// An instance inside a plugin, destroyed when dropped; the host context
/// it was given lives as long.
struct Instance {
    ptr: *mut c_void,
    destroy: extern "C" fn(*mut c_void),
    context: Option<Box<dyn std::any::Any + Send>>,
}

impl Instance {
    fn new(ptr: *mut c_void, destroy: extern "C" fn(*mut c_void)) -> Self {
        Instance {
            ptr,
            destroy,
            context: None,
        }
    }
}

// SAFETY: plugin instances may be called from any thread, one call at a
// time (ABI rule; converters: any number of conversions at once).
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

impl Drop for Instance {
    fn drop(&mut self) {
        let (destroy, ptr) = (self.destroy, self.ptr);
        let _ = catch_unwind(AssertUnwindSafe(|| destroy(ptr)));
        // `context` drops after the instance that used it.
    }
}

fn props_bytes(props: &Props) -> Vec<u8> {
    let mut w = Writer::new();
    codec::encode_props(props, &mut w);
    w.into_vec()
}

fn create_failure(desc: &Desc, f: &Failure) -> ConnectError {
    ConnectError::other(format!(
        "cannot create an instance of plugin {}: {}",
        desc.class, f.message
    ))
}

/// Runs `f` with the instance where blocking is allowed: the guest blocks
/// while it drives its own async code (see [`blocking_with`]).
async fn blocking<T: Send + 'static>(
    instance: &Arc<Mutex<Instance>>,
    f: impl FnOnce(*mut c_void) -> T + Send + 'static,
) -> Result<T, ConnectError> {
    blocking_with(instance, move |i| f(i.ptr)).await
}

/// As [`blocking`], with the whole instance (its buffers too).
///
/// On the worker's multi-threaded runtime the call runs right here, the
/// runtime told to move its other tasks to another thread meanwhile: a
/// batch goes through a plugin without waiting for a thread to wake up at
/// either end, which is most of what a hop to a blocking thread costs.
async fn blocking_with<T: Send + 'static>(
    instance: &Arc<Mutex<Instance>>,
    f: impl FnOnce(&mut Instance) -> T + Send + 'static,
) -> Result<T, ConnectError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        let mut guard = lock(instance);
        return Ok(tokio::task::block_in_place(|| f(&mut guard)));
    }
    // Elsewhere (a current-thread runtime), a blocking thread; the
    // instance is shared with it so that a cancelled caller cannot destroy
    // it mid-call.
    let instance = Arc::clone(instance);
    tokio::task::spawn_blocking(move || f(&mut lock(&instance)))
        .await
        .map_err(|e| ConnectError::caused_by("a plugin call did not complete", e))
}

/// A self-referencing host context: the ABI struct points at `state`,
/// both boxed together so that the address stays put.
struct HostContext<S, C> {
    state: S,
    abi: C,
}

// SAFETY: the ABI struct holds pointers into `state` only.
unsafe impl<S: Send, C> Send for HostContext<S, C> {}

/// Runs a host callback without letting a panic unwind into the plugin.
fn host_callback<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// The state behind a callback's `host` pointer.
///
/// # Safety
/// `host` must be the `state` of a live `HostContext<S, _>`.
unsafe fn state<'a, S>(host: *const c_void) -> &'a S {
    // SAFETY: per the contract.
    unsafe { &*(host as *const S) }
}

extern "C" fn host_free_buf(buf: FerryBuf) {
    // SAFETY: host buffers come from FerryBuf::from_vec in this binary.
    drop(unsafe { buf.into_vec() });
}

// ---- connectors ---------------------------------------------------------

/// Room for native connector plugins: a `PluginDescriptor` builds
/// instances through plain `fn()` pointers, so each native connector gets
/// one of these monomorphized constructors, which finds its description
/// by slot.
pub const MAX_CONNECTORS: usize = 64;

static SLOTS: RwLock<Vec<&'static Desc>> = RwLock::new(Vec::new());

fn slot(n: usize) -> Option<&'static Desc> {
    SLOTS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(n)
        .copied()
}

fn new_connector_at<const N: usize>() -> Box<dyn Connector> {
    Box::new(NativeConnector::new(slot(N)))
}

fn new_source_task_at<const N: usize>() -> Box<dyn SourceTask> {
    Box::new(NativeSourceTask::new(slot(N)))
}

fn new_sink_task_at<const N: usize>() -> Box<dyn SinkTask> {
    Box::new(NativeSinkTask::new(slot(N)))
}

macro_rules! slot_fns {
    ($f:ident, $t:ty; $($n:literal)*) => {
        [$($f::<$n> as fn() -> Box<$t>),*]
    };
}

macro_rules! all_slots {
    ($f:ident, $t:ty) => {
        slot_fns!($f, $t; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63)
    };
}

fn connector_plugin(
    desc: &'static Desc,
    kind: ConnectorKind,
    aliases: &[String],
    local_file_keys: &[String],
) -> Option<Plugin> {
    let connectors: [fn() -> Box<dyn Connector>; MAX_CONNECTORS] =
        all_slots!(new_connector_at, dyn Connector);
    let sources: [fn() -> Box<dyn SourceTask>; MAX_CONNECTORS] =
        all_slots!(new_source_task_at, dyn SourceTask);
    let sinks: [fn() -> Box<dyn SinkTask>; MAX_CONNECTORS] =
        all_slots!(new_sink_task_at, dyn SinkTask);
    let n = {
        let mut slots = SLOTS
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= MAX_CONNECTORS {
            return None;
        }
        slots.push(desc);
        slots.len() - 1
    };
    let leak_all = |texts: &[String]| -> &'static [&'static str] {
        Vec::leak(
            texts
                .iter()
                .map(|t| &*Box::leak(t.clone().into_boxed_str()))
                .collect(),
        )
    };
    let descriptor = PluginDescriptor {
        class: Box::leak(desc.class.clone().into_boxed_str()),
        aliases: leak_all(aliases),
        kind,
        version: Box::leak(desc.version.clone().into_boxed_str()),
        new_connector: connectors[n],
        new_source_task: (kind == ConnectorKind::Source).then_some(sources[n]),
        new_sink_task: (kind == ConnectorKind::Sink).then_some(sinks[n]),
        local_file_keys: leak_all(local_file_keys),
    };
    Some(Plugin::connector(descriptor))
}

struct NativeConnector {
    desc: Option<&'static Desc>,
    instance: Result<Arc<Mutex<Instance>>, ConnectError>,
}

impl NativeConnector {
    fn vtable(desc: &Desc) -> &'static FerryConnectorVTable {
        // SAFETY: a connector's table, by its kind in the manifest.
        unsafe { &*(desc.vtable as *const FerryConnectorVTable) }
    }

    fn new(desc: Option<&'static Desc>) -> Self {
        let instance = match desc {
            None => Err(ConnectError::other("no such native connector plugin")),
            Some(d) => {
                let vt = Self::vtable(d);
                d.create("create", vt.create, vt.destroy)
                    .map(|i| Arc::new(Mutex::new(i)))
                    .map_err(|f| create_failure(d, &f))
            }
        };
        NativeConnector { desc, instance }
    }

    fn parts(&self) -> Result<(&'static Desc, &Arc<Mutex<Instance>>), ConnectError> {
        match (self.desc, &self.instance) {
            (Some(d), Ok(i)) => Ok((d, i)),
            (_, Err(e)) => Err(ConnectError::other(e.to_string())),
            (None, _) => Err(ConnectError::other("no such native connector plugin")),
        }
    }
}

struct ConnectorState {
    context: Arc<dyn ConnectorContext>,
}

extern "C" fn host_request_task_reconfiguration(host: *const c_void) {
    host_callback((), || {
        // SAFETY: `host` is the state of the connector's live context.
        unsafe { state::<ConnectorState>(host) }
            .context
            .request_task_reconfiguration()
    })
}

extern "C" fn host_raise_error(host: *const c_void, s: i32, message: FerryStr) {
    host_callback((), || {
        // SAFETY: the message is valid for the call.
        let message = String::from_utf8_lossy(unsafe { message.as_bytes() }).into_owned();
        // SAFETY: `host` is the state of the connector's live context.
        unsafe { state::<ConnectorState>(host) }
            .context
            .raise_error(Failure::new(s, message).into())
    })
}

#[async_trait]
impl Connector for NativeConnector {
    fn version(&self) -> String {
        self.desc.map(|d| d.version.clone()).unwrap_or_default()
    }

    fn config_def(&self) -> ConfigDef {
        self.desc.map(|d| d.config_def.clone()).unwrap_or_default()
    }

    async fn start(
        &mut self,
        props: Props,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        let (desc, instance) = self.parts()?;
        let vt = Self::vtable(desc);
        let mut ctx = Box::new(HostContext {
            state: ConnectorState { context },
            abi: FerryConnectorContext {
                host: std::ptr::null(),
                request_task_reconfiguration: host_request_task_reconfiguration,
                raise_error: host_raise_error,
            },
        });
        ctx.abi.host = (&ctx.state as *const ConnectorState).cast();
        let abi: *const FerryConnectorContext = &ctx.abi;
        let abi = abi as usize;
        lock(instance).context = Some(ctx);
        let props = props_bytes(&props);
        blocking(instance, move |this| {
            desc.call("start", |err| {
                (vt.start)(
                    this,
                    FerryStr::new(&props),
                    abi as *const FerryConnectorContext,
                    err,
                )
            })
        })
        .await?
        .map_err(ConnectError::from)
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        let (desc, instance) = self.parts()?;
        let vt = Self::vtable(desc);
        let this = lock(instance).ptr;
        let mut out = FerryBuf::EMPTY;
        let max = u32::try_from(max_tasks).unwrap_or(u32::MAX);
        desc.call("taskConfigs", |err| {
            (vt.task_configs)(this, max, &mut out, err)
        })?;
        desc.take(out, codec::decode_task_configs)
            .map_err(|e| ConnectError::other(format!("plugin {}: {e}", desc.class)))
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        let (desc, instance) = self.parts()?;
        let vt = Self::vtable(desc);
        blocking(instance, move |this| {
            desc.call("stop", |err| (vt.stop)(this, err))
        })
        .await?
        .map_err(ConnectError::from)
    }

    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        let Ok((desc, instance)) = self.parts() else {
            return self.config_def().validate(props);
        };
        let vt = Self::vtable(desc);
        let this = lock(instance).ptr;
        let mut out = FerryBuf::EMPTY;
        let bytes = props_bytes(props);
        let result = desc
            .call("validate", |err| {
                (vt.validate)(this, FerryStr::new(&bytes), &mut out, err)
            })
            .and_then(|()| {
                desc.take(out, |b| {
                    let text = String::from_utf8_lossy(b);
                    config_json::validated_from_json(&text, &desc.config_def)
                        .map_err(|e| Failure::error(e.to_string()))
                })
            });
        match result {
            // The definition's own checks, with the plugin's results in
            // place of (or beside) them: a plugin in C may return only what
            // it checks itself.
            Ok(from_plugin) => {
                let mut values = desc.config_def.validate(props);
                for v in from_plugin {
                    match values.iter_mut().find(|o| o.name == v.name) {
                        Some(slot) => *slot = v,
                        None => values.push(v),
                    }
                }
                values
            }
            Err(f) => {
                // Reported as an error on the connector class, as Kafka
                // Connect reports a validate() that throws.
                let mut values = desc.config_def.validate(props);
                values.push(ValidatedValue {
                    name: "connector.class".into(),
                    value: ferry_api::config::ConfigValue::String(desc.class.clone()),
                    errors: vec![f.message],
                    visible: true,
                    recommended: Vec::new(),
                });
                values
            }
        }
    }
}

/// Hands the runtime's stop signal to a task instance's `request_stop`:
/// a `poll` or `put` waiting inside the plugin hears of the stop at once.
/// The watch ends when the returned sender is dropped (with the task).
fn forward_stop(
    stop: &StopSignal,
    instance: &Arc<Mutex<Instance>>,
    request_stop: Option<extern "C" fn(*mut c_void)>,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    let request_stop = request_stop?;
    // Read now: later a running call holds the lock. The address stays
    // valid as long as the instance is alive.
    let ptr = lock(instance).ptr as usize;
    let weak = Arc::downgrade(instance);
    let stopped = stop.stopped();
    let (gone, task_gone) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            () = stopped => {
                // Holding the instance keeps `destroy` from running meanwhile.
                if let Some(_alive) = weak.upgrade() {
                    let _ = catch_unwind(AssertUnwindSafe(|| request_stop(ptr as *mut c_void)));
                }
            }
            _ = task_gone => {}
        }
    });
    Some(gone)
}

// ---- source tasks -------------------------------------------------------

struct NativeSourceTask {
    desc: Option<&'static Desc>,
    instance: Result<Arc<Mutex<Instance>>, ConnectError>,
    _stop_watch: Option<tokio::sync::oneshot::Sender<()>>,
    /// The next batch, polled and decoded on a blocking thread while the
    /// worker converts and sends the last one.
    next: Option<tokio::task::JoinHandle<Result<Vec<SourceRecord>, Failure>>>,
}

/// One `poll` call, its batch decoded.
fn poll_once(
    desc: &Desc,
    vt: &FerrySourceTaskVTable,
    this: *mut c_void,
) -> Result<Vec<SourceRecord>, Failure> {
    let mut out = FerryBuf::EMPTY;
    desc.call("poll", |err| (vt.poll)(this, &mut out, err))?;
    desc.take(out, codec::decode_batch::<SourceRecord>)
        .map_err(|e| Failure::error(format!("plugin {} returned {e}", desc.class)))
}

struct SourceState {
    connector: String,
    offsets: SourceTaskContext,
}

extern "C" fn host_offset(host: *const c_void, partition: FerryStr, out: *mut FerryBuf) -> i32 {
    host_callback(0, || {
        // SAFETY: `host` is the state of the task's live context.
        let st = unsafe { state::<SourceState>(host) };
        // SAFETY: the argument is valid for the call.
        let Ok(partition) =
            codec::read_offset_map(&mut Reader::new(unsafe { partition.as_bytes() }))
        else {
            return 0;
        };
        match st.offsets.offset_storage_reader().offset(&partition) {
            Some(offset) if !out.is_null() => {
                let mut w = Writer::new();
                codec::write_offset_map(&mut w, &offset);
                // SAFETY: checked non-null; the plugin passes a writable buffer.
                unsafe { *out = FerryBuf::from_vec(w.into_vec()) };
                1
            }
            _ => 0,
        }
    })
}

impl NativeSourceTask {
    fn vtable(desc: &Desc) -> Option<&'static FerrySourceTaskVTable> {
        // SAFETY: a source connector's table holds a source task table.
        unsafe { NativeConnector::vtable(desc).source_task.as_ref() }
    }

    fn new(desc: Option<&'static Desc>) -> Self {
        let instance = match desc.and_then(|d| Some((d, Self::vtable(d)?))) {
            None => Err(ConnectError::other(
                "the native connector plugin has no source task",
            )),
            Some((d, vt)) => d
                .create("task create", vt.create, vt.destroy)
                .map(|i| Arc::new(Mutex::new(i)))
                .map_err(|f| create_failure(d, &f)),
        };
        NativeSourceTask {
            desc,
            instance,
            _stop_watch: None,
            next: None,
        }
    }

    fn parts(
        &self,
    ) -> Result<
        (
            &'static Desc,
            &'static FerrySourceTaskVTable,
            &Arc<Mutex<Instance>>,
        ),
        ConnectError,
    > {
        match (
            self.desc.and_then(|d| Some((d, Self::vtable(d)?))),
            &self.instance,
        ) {
            (Some((d, vt)), Ok(i)) => Ok((d, vt, i)),
            (_, Err(e)) => Err(ConnectError::other(e.to_string())),
            (None, _) => Err(ConnectError::other("no such native source task")),
        }
    }
}

#[async_trait]
impl SourceTask for NativeSourceTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let (desc, vt, instance) = self.parts()?;
        let mut ctx = Box::new(HostContext {
            state: SourceState {
                connector: context.connector_name().to_owned(),
                offsets: context.clone(),
            },
            abi: FerrySourceTaskContext {
                host: std::ptr::null(),
                connector_name: FerryStr::new(&[]),
                task_number: context.task_number(),
                offset: host_offset,
                free_buf: host_free_buf,
            },
        });
        ctx.abi.host = (&ctx.state as *const SourceState).cast();
        ctx.abi.connector_name = FerryStr::new(ctx.state.connector.as_bytes());
        let abi = (&ctx.abi as *const FerrySourceTaskContext) as usize;
        lock(instance).context = Some(ctx);
        let watch = forward_stop(context.stop_signal(), instance, vt.request_stop);
        let props = props_bytes(&props);
        let started = blocking(instance, move |this| {
            desc.call("start", |err| {
                (vt.start)(
                    this,
                    FerryStr::new(&props),
                    abi as *const FerrySourceTaskContext,
                    err,
                )
            })
        })
        .await?
        .map_err(ConnectError::from);
        self._stop_watch = watch;
        started
    }

    /// Returns the batch polled ahead, if any, and starts polling the next
    /// one on a blocking thread: the library reads and encodes, and the
    /// worker decodes, while this batch is converted and sent. A batch
    /// polled ahead when the task stops is dropped unsent, as Kafka
    /// Connect drops the records it has not sent yet: their offsets were
    /// never committed. Calls stay one at a time (the instance's mutex).
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let next = self.next.take();
        let (desc, vt, instance) = self.parts()?;
        let batch = match next {
            Some(next) => next
                .await
                .map_err(|e| ConnectError::caused_by("a plugin call did not complete", e))?,
            None => blocking(instance, move |this| poll_once(desc, vt, this)).await?,
        };
        if batch.is_ok() {
            let instance = Arc::clone(instance);
            let next =
                tokio::task::spawn_blocking(move || poll_once(desc, vt, lock(&instance).ptr));
            self.next = Some(next);
        }
        batch.map_err(ConnectError::from)
    }

    async fn commit(&mut self) -> Result<(), ConnectError> {
        let (desc, vt, instance) = self.parts()?;
        blocking(instance, move |this| {
            desc.call("commit", |err| (vt.commit)(this, err))
        })
        .await?
        .map_err(ConnectError::from)
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        // No poll after `stop`: one polled ahead is called off if it has
        // not begun, waited for if it has (the stop signal has ended its
        // wait already), and its batch dropped.
        if let Some(next) = self.next.take() {
            next.abort();
            let _ = next.await;
        }
        let (desc, vt, instance) = self.parts()?;
        blocking(instance, move |this| {
            desc.call("stop", |err| (vt.stop)(this, err))
        })
        .await?
        .map_err(ConnectError::from)
    }

    async fn commit_records(
        &mut self,
        records: &[(SourceRecord, Option<RecordMetadata>)],
    ) -> Result<(), ConnectError> {
        let (desc, vt, instance) = self.parts()?;
        let Some(commit_records) = vt.commit_records else {
            return Ok(());
        };
        // The borrowed records are encoded here; the call gets bytes.
        let mut w = Writer::new();
        codec::encode_batch(records.iter().map(|(r, _)| r), &mut w);
        // Positions, and every topic in one buffer: nothing allocated per
        // record.
        let mut topics = Vec::new();
        let positions: Vec<(u8, i32, i64, i64, usize)> = records
            .iter()
            .map(|(_, m)| match m {
                Some(m) => {
                    topics.extend_from_slice(m.topic.as_bytes());
                    let t = m.timestamp.unwrap_or(-1);
                    (1, m.partition, m.offset, t, m.topic.len())
                }
                None => (0, -1, -1, -1, 0),
            })
            .collect();
        let bytes = w.into_vec();
        blocking(instance, move |this| {
            let mut at = 0;
            let metadata: Vec<FerryRecordMetadata> = positions
                .iter()
                .map(|&(written, partition, offset, timestamp, len)| {
                    let topic = FerryStr::new(&topics[at..at + len]);
                    at += len;
                    FerryRecordMetadata {
                        written,
                        partition,
                        offset,
                        timestamp,
                        topic,
                    }
                })
                .collect();
            desc.call("commitRecord", |err| {
                commit_records(this, FerryStr::new(&bytes), metadata.as_ptr(), err)
            })
        })
        .await?
        .map_err(ConnectError::from)
    }

    /// Records are kept until Kafka acknowledges them only for a task
    /// that takes `commit_records`.
    fn wants_commit_record(&self) -> bool {
        let Ok((desc, vt, instance)) = self.parts() else {
            return false;
        };
        if vt.commit_records.is_none() {
            return false;
        }
        let Some(wants) = vt.wants_commit_records else {
            return true;
        };
        let this = lock(instance).ptr;
        // A panic counts as "wants": records are then kept, never lost.
        catch_unwind(AssertUnwindSafe(|| wants(this) != 0)).unwrap_or_else(|_| {
            warn!(plugin = %desc.class, "wants_commit_records panicked");
            true
        })
    }
}

// ---- sink tasks ---------------------------------------------------------

struct NativeSinkTask {
    desc: Option<&'static Desc>,
    instance: Result<Arc<Mutex<Instance>>, ConnectError>,
    _stop_watch: Option<tokio::sync::oneshot::Sender<()>>,
    /// The task's context, for rewinding a batch that failed in the
    /// background.
    context: Option<Arc<SinkTaskContext>>,
    /// The last batch's `put`, running on a blocking thread while the
    /// worker fetches and converts the next one; see [`NativeSinkTask::settle`].
    in_flight: Option<tokio::task::JoinHandle<(codec::BatchEncoder, Result<(), FailedPut>)>>,
    /// Sink batches are encoded with this, kept from one call to the
    /// next; lent to the batch in flight.
    encoder: codec::BatchEncoder,
}

/// A `put` that failed in the background, with the first offset of each
/// partition in its batch (positions consumed from, before
/// transformations), to rewind to when the failure is retriable.
struct FailedPut {
    failure: Failure,
    firsts: Vec<(TopicPartition, i64)>,
}

/// Each consumed partition's first offset in `records`. Records come in
/// runs of one partition, so this compares with the last run mostly.
fn first_offsets(records: &[SinkRecord]) -> Vec<(TopicPartition, i64)> {
    let mut firsts: Vec<(TopicPartition, i64)> = Vec::new();
    for r in records {
        let (topic, partition) = (r.original_topic(), r.original_kafka_partition());
        let seen = |(tp, _): &(TopicPartition, i64)| tp.partition == partition && tp.topic == topic;
        if firsts.last().is_some_and(seen) || firsts.iter().any(seen) {
            continue;
        }
        firsts.push((
            TopicPartition::new(topic, partition),
            r.original_kafka_offset(),
        ));
    }
    firsts
}

struct SinkState {
    connector: String,
    context: Arc<SinkTaskContext>,
    runtime: tokio::runtime::Handle,
}

fn host_str(s: FerryStr) -> String {
    // SAFETY: arguments are valid for the call.
    String::from_utf8_lossy(unsafe { s.as_bytes() }).into_owned()
}

extern "C" fn host_reset_offset(host: *const c_void, topic: FerryStr, partition: i32, offset: i64) {
    host_callback((), || {
        // SAFETY: `host` is the state of the task's live context.
        let st = unsafe { state::<SinkState>(host) };
        st.context
            .reset_offset(TopicPartition::new(host_str(topic), partition), offset)
    })
}

extern "C" fn host_pause_resume(host: *const c_void, topic: FerryStr, partition: i32, resume: u8) {
    host_callback((), || {
        // SAFETY: `host` is the state of the task's live context.
        let st = unsafe { state::<SinkState>(host) };
        let tp = [TopicPartition::new(host_str(topic), partition)];
        if resume != 0 {
            st.context.resume(&tp);
        } else {
            st.context.pause(&tp);
        }
    })
}

extern "C" fn host_request_commit(host: *const c_void) {
    host_callback((), || {
        // SAFETY: `host` is the state of the task's live context.
        unsafe { state::<SinkState>(host) }.context.request_commit()
    })
}

extern "C" fn host_report_errant(
    host: *const c_void,
    record: FerryStr,
    s: i32,
    message: FerryStr,
    err: *mut FerryError,
) -> i32 {
    let fail = |text: String| {
        if !err.is_null() {
            // SAFETY: checked non-null; the plugin passes a writable error.
            unsafe { (*err).message = FerryBuf::from_vec(text.into_bytes()) };
        }
        status::ERROR
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), ConnectError> {
        // SAFETY: `host` is the state of the task's live context.
        let st = unsafe { state::<SinkState>(host) };
        let Some(reporter) = st.context.errant_record_reporter() else {
            return Err(ConnectError::other(
                "no errant record reporter is configured",
            ));
        };
        // SAFETY: the argument is valid for the call.
        let records: Vec<SinkRecord> = codec::decode_batch(unsafe { record.as_bytes() })
            .map_err(|e| ConnectError::other(e.to_string()))?;
        let error: ConnectError = Failure::new(s, host_str(message)).into();
        // The plugin calls from the blocking thread its call runs on,
        // where waiting on the worker's runtime is allowed.
        for r in &records {
            st.runtime.block_on(reporter.report(r, &error))?;
        }
        Ok(())
    }));
    match outcome {
        Ok(Ok(())) => status::OK,
        Ok(Err(e)) => {
            let f = Failure::from(&e);
            fail(f.message);
            f.status
        }
        Err(_) => fail("the errant record reporter panicked".into()),
    }
}

impl NativeSinkTask {
    fn vtable(desc: &Desc) -> Option<&'static FerrySinkTaskVTable> {
        // SAFETY: a sink connector's table holds a sink task table.
        unsafe { NativeConnector::vtable(desc).sink_task.as_ref() }
    }

    fn new(desc: Option<&'static Desc>) -> Self {
        let instance = match desc.and_then(|d| Some((d, Self::vtable(d)?))) {
            None => Err(ConnectError::other(
                "the native connector plugin has no sink task",
            )),
            Some((d, vt)) => d
                .create("task create", vt.create, vt.destroy)
                .map(|i| Arc::new(Mutex::new(i)))
                .map_err(|f| create_failure(d, &f)),
        };
        NativeSinkTask {
            desc,
            instance,
            _stop_watch: None,
            context: None,
            in_flight: None,
            encoder: codec::BatchEncoder::default(),
        }
    }

    /// Waits for the batch put in the background, if any. Its failure is
    /// this call's: the worker learns of it one call late, before anything
    /// that depends on it (the next `put`, `flush`, `preCommit`, `close`,
    /// `stop`), so no offset past a failed batch is ever committed. A
    /// retriable failure also rewinds the failed batch's partitions to its
    /// first records, through the task context: the worker rewinds the
    /// batch it was handing over when it gets the error and then applies
    /// the context's rewinds, so the failed batch is delivered again first.
    async fn settle(&mut self) -> Result<(), ConnectError> {
        let Some(put) = self.in_flight.take() else {
            return Ok(());
        };
        let failed = match put.await {
            Ok((encoder, result)) => {
                self.encoder = encoder;
                match result {
                    Ok(()) => return Ok(()),
                    Err(failed) => failed,
                }
            }
            Err(e) => return Err(ConnectError::caused_by("a plugin call did not complete", e)),
        };
        let e = ConnectError::from(failed.failure);
        if e.is_retriable() {
            if let Some(context) = &self.context {
                for (tp, offset) in failed.firsts {
                    context.reset_offset(tp, offset);
                }
            }
        }
        Err(e)
    }

    /// [`settle`](Self::settle) before `open` or `close`, which a retriable
    /// failure must not fail: the rewind it asked for is all it takes.
    async fn settle_between_batches(&mut self) -> Result<(), ConnectError> {
        match self.settle().await {
            Err(e) if e.is_retriable() => {
                let plugin = self.desc.map_or("", |d| d.class.as_str());
                warn!(%plugin, error = %e, "retriable put failure; redelivering");
                Ok(())
            }
            settled => settled,
        }
    }

    fn parts(
        &self,
    ) -> Result<
        (
            &'static Desc,
            &'static FerrySinkTaskVTable,
            &Arc<Mutex<Instance>>,
        ),
        ConnectError,
    > {
        match (
            self.desc.and_then(|d| Some((d, Self::vtable(d)?))),
            &self.instance,
        ) {
            (Some((d, vt)), Ok(i)) => Ok((d, vt, i)),
            (_, Err(e)) => Err(ConnectError::other(e.to_string())),
            (None, _) => Err(ConnectError::other("no such native sink task")),
        }
    }

    async fn with_bytes(
        &self,
        method: &'static str,
        bytes: Vec<u8>,
        f: fn(
            &'static FerrySinkTaskVTable,
        ) -> extern "C" fn(*mut c_void, FerryStr, *mut FerryError) -> i32,
    ) -> Result<(), ConnectError> {
        let (desc, vt, instance) = self.parts()?;
        let call = f(vt);
        blocking(instance, move |this| {
            desc.call(method, |err| call(this, FerryStr::new(&bytes), err))
        })
        .await?
        .map_err(ConnectError::from)
    }
}

fn partitions_bytes(partitions: &[TopicPartition]) -> Vec<u8> {
    let mut w = Writer::new();
    codec::encode_partitions(partitions, &mut w);
    w.into_vec()
}

fn offsets_bytes(offsets: &BTreeMap<TopicPartition, i64>) -> Vec<u8> {
    let mut w = Writer::new();
    codec::encode_offsets(offsets, &mut w);
    w.into_vec()
}

#[async_trait]
impl SinkTask for NativeSinkTask {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        let (desc, vt, instance) = self.parts()?;
        let has_reporter = context.errant_record_reporter().is_some();
        let mut ctx = Box::new(HostContext {
            state: SinkState {
                connector: String::new(),
                context,
                runtime: tokio::runtime::Handle::current(),
            },
            abi: FerrySinkTaskContext {
                host: std::ptr::null(),
                connector_name: FerryStr::new(&[]),
                task_number: 0,
                reset_offset: host_reset_offset,
                pause_resume: host_pause_resume,
                request_commit: host_request_commit,
                report_errant: has_reporter.then_some(host_report_errant as _),
                free_buf: host_free_buf,
            },
        });
        let context = Arc::clone(&ctx.state.context);
        let watch = forward_stop(ctx.state.context.stop_signal(), instance, vt.request_stop);
        ctx.abi.host = (&ctx.state as *const SinkState).cast();
        ctx.abi.connector_name = FerryStr::new(ctx.state.connector.as_bytes());
        let abi = (&ctx.abi as *const FerrySinkTaskContext) as usize;
        lock(instance).context = Some(ctx);
        let props = props_bytes(&props);
        let started = blocking(instance, move |this| {
            desc.call("start", |err| {
                (vt.start)(
                    this,
                    FerryStr::new(&props),
                    abi as *const FerrySinkTaskContext,
                    err,
                )
            })
        })
        .await?
        .map_err(ConnectError::from);
        self._stop_watch = watch;
        self.context = Some(context);
        started
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        self.settle_between_batches().await?;
        self.with_bytes("open", partitions_bytes(partitions), |vt| vt.open)
            .await
    }

    /// Hands the batch to the library on a blocking thread and returns:
    /// the library decodes and writes it while the worker fetches and
    /// converts the next batch. Calls stay one at a time and in order (the
    /// previous batch is settled first); see [`NativeSinkTask::settle`]
    /// for how a failure is reported.
    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        self.settle().await?;
        let (desc, vt, instance) = self.parts()?;
        let instance = Arc::clone(instance);
        // Encoded and dropped here, where the records were made and are
        // still in cache: freed on another thread, each would go through
        // the allocator's cross-thread free list.
        let firsts = first_offsets(&records);
        let mut encoder = std::mem::take(&mut self.encoder);
        encoder.encode_batch_framed(&records);
        drop(records);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let guard = lock(&instance);
            let batch = encoder.last_framed();
            let put = desc.call("put", |err| (vt.put)(guard.ptr, FerryStr::new(batch), err));
            drop(guard);
            (
                encoder,
                put.map_err(|failure| FailedPut { failure, firsts }),
            )
        }));
        Ok(())
    }

    async fn flush(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<(), ConnectError> {
        self.settle().await?;
        self.with_bytes("flush", offsets_bytes(offsets), |vt| vt.flush)
            .await
    }

    async fn pre_commit(
        &mut self,
        offsets: BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>, ConnectError> {
        self.settle().await?;
        let (desc, vt, instance) = self.parts()?;
        let bytes = offsets_bytes(&offsets);
        blocking(instance, move |this| {
            let mut out = FerryBuf::EMPTY;
            desc.call("preCommit", |err| {
                (vt.pre_commit)(this, FerryStr::new(&bytes), &mut out, err)
            })?;
            desc.take(out, codec::decode_offsets)
                .map_err(|e| Failure::error(format!("plugin {} returned {e}", desc.class)))
        })
        .await?
        .map_err(ConnectError::from)
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        self.settle_between_batches().await?;
        self.with_bytes("close", partitions_bytes(partitions), |vt| vt.close)
            .await
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        // The library is stopped even after a failed last batch; the
        // failure is reported first.
        let settled = self.settle().await;
        let (desc, vt, instance) = self.parts()?;
        let stopped = blocking(instance, move |this| {
            desc.call("stop", |err| (vt.stop)(this, err))
        })
        .await?
        .map_err(ConnectError::from);
        settled.and(stopped)
    }
}

// ---- converters ---------------------------------------------------------

fn data_bytes(schema: Option<&Schema>, value: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    codec::encode_data(schema, value, &mut w);
    w.into_vec()
}

/// A converter table's optional batch entry.
type ConvertBatchFn = extern "C" fn(*mut c_void, FerryStr, *mut FerryBuf, *mut FerryError) -> i32;

/// Serializes `items` through a converter's batch entry, one result per item.
fn to_bytes_batch(
    desc: &Desc,
    method: &str,
    (this, batch): (*mut c_void, ConvertBatchFn),
    items: &[codec::ToBytesItem<'_>],
) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
    desc.batch_call(
        method,
        items.len(),
        |start, w| codec::encode_to_bytes_items(&items[start..], w),
        |items, out, err| batch(this, items, out, err),
        codec::decode_to_bytes_results,
    )
    .into_iter()
    .map(|r| r.map_err(ConvertError::from))
    .collect()
}

/// Deserializes `items` through a converter's batch entry, one result per
/// item.
fn from_bytes_batch(
    desc: &Desc,
    method: &str,
    (this, batch): (*mut c_void, ConvertBatchFn),
    items: &[codec::FromBytesItem<'_>],
) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
    desc.batch_call(
        method,
        items.len(),
        |start, w| codec::encode_from_bytes_items(&items[start..], w),
        |items, out, err| batch(this, items, out, err),
        codec::decode_from_bytes_results,
    )
    .into_iter()
    .map(|r| r.map_err(ConvertError::from))
    .collect()
}

struct NativeConverter {
    desc: &'static Desc,
    instance: Result<Instance, Failure>,
}

impl NativeConverter {
    fn new(desc: &'static Desc) -> Self {
        let vt = Self::vtable(desc);
        NativeConverter {
            desc,
            instance: desc.create("create", vt.create, vt.destroy),
        }
    }

    fn vtable(desc: &Desc) -> &'static FerryConverterVTable {
        // SAFETY: a converter's table, by its kind in the manifest.
        unsafe { &*(desc.vtable as *const FerryConverterVTable) }
    }

    fn this(&self) -> Result<*mut c_void, ConvertError> {
        match &self.instance {
            Ok(i) => Ok(i.ptr),
            Err(f) => Err(ConvertError::from(f.clone())),
        }
    }
}

impl Converter for NativeConverter {
    fn configure(&mut self, props: &Props, is_key: bool) -> Result<(), ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let bytes = props_bytes(props);
        self.desc
            .call("configure", |err| {
                (vt.configure)(this, FerryStr::new(&bytes), u8::from(is_key), err)
            })
            .map_err(ConvertError::from)
    }

    fn config_def(&self) -> ConfigDef {
        self.desc.config_def.clone()
    }

    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let data = data_bytes(schema, value);
        let mut buf = FerryBuf::EMPTY;
        let mut present = 0u8;
        self.desc.call("fromConnectData", |err| {
            (vt.from_connect)(
                this,
                FerryStr::new(topic.as_bytes()),
                FerryStr::new(&data),
                &mut buf,
                &mut present,
                err,
            )
        })?;
        out.clear();
        self.desc.take(buf, |b| out.extend_from_slice(b));
        Ok(present != 0)
    }

    fn to_connect(
        &self,
        topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let mut buf = FerryBuf::EMPTY;
        self.desc.call("toConnectData", |err| {
            (vt.to_connect)(
                this,
                FerryStr::new(topic.as_bytes()),
                FerryStr::new(data.unwrap_or_default()),
                u8::from(data.is_some()),
                &mut buf,
                err,
            )
        })?;
        self.desc
            .take(buf, codec::decode_data)
            .map_err(|e| ConvertError::Data(format!("plugin {} returned {e}", self.desc.class)))
    }

    fn prefers_batches(&self) -> bool {
        let vt = Self::vtable(self.desc);
        vt.from_connect_batch.is_some() && vt.to_connect_batch.is_some()
    }

    fn from_connect_batch(
        &self,
        items: &[(&str, Option<&Schema>, &Value)],
    ) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
        let (Ok(this), Some(batch)) = (self.this(), Self::vtable(self.desc).from_connect_batch)
        else {
            return items
                .iter()
                .map(|(topic, schema, value)| {
                    let mut out = Vec::new();
                    self.from_connect(topic, *schema, value, &mut out)
                        .map(|present| present.then_some(out))
                })
                .collect();
        };
        let items: Vec<codec::ToBytesItem<'_>> =
            items.iter().map(|(t, s, v)| (*t, "", *s, *v)).collect();
        to_bytes_batch(self.desc, "fromConnectData", (this, batch), &items)
    }

    fn to_connect_batch(
        &self,
        items: &[(&str, Option<&[u8]>)],
    ) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
        let (Ok(this), Some(batch)) = (self.this(), Self::vtable(self.desc).to_connect_batch)
        else {
            return items
                .iter()
                .map(|(topic, data)| self.to_connect(topic, *data))
                .collect();
        };
        let items: Vec<codec::FromBytesItem<'_>> =
            items.iter().map(|(t, d)| (*t, "", *d)).collect();
        from_bytes_batch(self.desc, "toConnectData", (this, batch), &items)
    }

    fn close(&self) {
        if let Ok(this) = self.this() {
            let vt = Self::vtable(self.desc);
            let _ = catch_unwind(AssertUnwindSafe(|| (vt.close)(this)));
        }
    }
}

struct NativeHeaderConverter {
    desc: &'static Desc,
    instance: Result<Instance, Failure>,
}

impl NativeHeaderConverter {
    fn new(desc: &'static Desc) -> Self {
        let vt = Self::vtable(desc);
        NativeHeaderConverter {
            desc,
            instance: desc.create("create", vt.create, vt.destroy),
        }
    }

    fn vtable(desc: &Desc) -> &'static FerryHeaderConverterVTable {
        // SAFETY: a header converter's table, by its kind in the manifest.
        unsafe { &*(desc.vtable as *const FerryHeaderConverterVTable) }
    }

    fn this(&self) -> Result<*mut c_void, ConvertError> {
        match &self.instance {
            Ok(i) => Ok(i.ptr),
            Err(f) => Err(ConvertError::from(f.clone())),
        }
    }
}

impl HeaderConverter for NativeHeaderConverter {
    fn configure(&mut self, props: &Props) -> Result<(), ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let bytes = props_bytes(props);
        self.desc
            .call("configure", |err| {
                (vt.configure)(this, FerryStr::new(&bytes), err)
            })
            .map_err(ConvertError::from)
    }

    fn config_def(&self) -> ConfigDef {
        self.desc.config_def.clone()
    }

    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let data = data_bytes(schema, value);
        let mut buf = FerryBuf::EMPTY;
        let mut present = 0u8;
        self.desc.call("fromConnectHeader", |err| {
            (vt.from_connect)(
                this,
                FerryStr::new(topic.as_bytes()),
                FerryStr::new(header_key.as_bytes()),
                FerryStr::new(&data),
                &mut buf,
                &mut present,
                err,
            )
        })?;
        let bytes = self.desc.take(buf, <[u8]>::to_vec);
        Ok((present != 0).then_some(bytes))
    }

    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        let this = self.this()?;
        let vt = Self::vtable(self.desc);
        let mut buf = FerryBuf::EMPTY;
        self.desc.call("toConnectHeader", |err| {
            (vt.to_connect)(
                this,
                FerryStr::new(topic.as_bytes()),
                FerryStr::new(header_key.as_bytes()),
                FerryStr::new(data.unwrap_or_default()),
                u8::from(data.is_some()),
                &mut buf,
                err,
            )
        })?;
        self.desc
            .take(buf, codec::decode_data)
            .map_err(|e| ConvertError::Data(format!("plugin {} returned {e}", self.desc.class)))
    }

    fn prefers_batches(&self) -> bool {
        let vt = Self::vtable(self.desc);
        vt.from_connect_batch.is_some() && vt.to_connect_batch.is_some()
    }

    fn from_connect_header_batch(
        &self,
        items: &[(&str, &str, Option<&Schema>, &Value)],
    ) -> Vec<Result<Option<Vec<u8>>, ConvertError>> {
        let (Ok(this), Some(batch)) = (self.this(), Self::vtable(self.desc).from_connect_batch)
        else {
            return items
                .iter()
                .map(|(topic, key, schema, value)| {
                    self.from_connect_header(topic, key, *schema, value)
                })
                .collect();
        };
        to_bytes_batch(self.desc, "fromConnectHeader", (this, batch), items)
    }

    fn to_connect_header_batch(
        &self,
        items: &[(&str, &str, Option<&[u8]>)],
    ) -> Vec<Result<(Option<Schema>, Value), ConvertError>> {
        let (Ok(this), Some(batch)) = (self.this(), Self::vtable(self.desc).to_connect_batch)
        else {
            return items
                .iter()
                .map(|(topic, key, data)| self.to_connect_header(topic, key, *data))
                .collect();
        };
        from_bytes_batch(self.desc, "toConnectHeader", (this, batch), items)
    }

    fn close(&self) {
        if let Ok(this) = self.this() {
            let vt = Self::vtable(self.desc);
            let _ = catch_unwind(AssertUnwindSafe(|| (vt.close)(this)));
        }
    }
}

// ---- transformations and predicates -------------------------------------

/// The two record types, with the flag `create` takes for each.
trait NativeRecord: ConnectRecord + WireRecord {
    const FOR_SINK: u8;
}

impl NativeRecord for SourceRecord {
    const FOR_SINK: u8 = 0;
}

impl NativeRecord for SinkRecord {
    const FOR_SINK: u8 = 1;
}

struct NativeTransformation {
    desc: &'static Desc,
    instance: Option<Instance>,
}

impl NativeTransformation {
    fn new(desc: &'static Desc) -> Self {
        NativeTransformation {
            desc,
            instance: None,
        }
    }

    fn vtable(&self) -> &'static FerryTransformationVTable {
        // SAFETY: a transformation's table, by its kind in the manifest.
        unsafe { &*(self.desc.vtable as *const FerryTransformationVTable) }
    }
}

impl<R: NativeRecord> Transformation<R> for NativeTransformation {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let vt = self.vtable();
        let desc = self.desc;
        if self.instance.is_none() {
            let mut ptr: *mut c_void = std::ptr::null_mut();
            desc.call("create", |err| {
                (vt.create)(desc.factory, R::FOR_SINK, &mut ptr, err)
            })?;
            self.instance = Some(Instance::new(ptr, vt.destroy));
        }
        let this = self
            .instance
            .as_ref()
            .map_or(std::ptr::null_mut(), |i| i.ptr);
        let bytes = props_bytes(props);
        Ok(desc.call("configure", |err| {
            (vt.configure)(this, FerryStr::new(&bytes), err)
        })?)
    }

    fn config_def(&self) -> ConfigDef {
        self.desc.config_def.clone()
    }

    fn apply(&mut self, record: R) -> Result<Option<R>, TransformError> {
        let mut results = self.apply_batch(vec![record]);
        match results.pop() {
            Some(r) if results.is_empty() => r,
            _ => Err(TransformError::data(format!(
                "plugin {} returned a result count other than one",
                self.desc.class
            ))),
        }
    }

    fn prefers_batches(&self) -> bool {
        true
    }

    /// One call per batch; when a record fails, the plugin has applied the
    /// records before it (their results come back) and is called again for
    /// the records after it.
    fn apply_batch(&mut self, records: Vec<R>) -> Vec<Result<Option<R>, TransformError>> {
        let vt = self.vtable();
        let desc = self.desc;
        let Some(instance) = &self.instance else {
            let unconfigured = || {
                Err(TransformError::new(
                    ferry_api::ExceptionKind::Connect,
                    format!("transformation {} was not configured", desc.class),
                ))
            };
            return records.iter().map(|_| unconfigured()).collect();
        };
        desc.batch_call(
            "apply",
            records.len(),
            |start, w| codec::encode_batch(&records[start..], w),
            |batch, out, err| (vt.apply)(instance.ptr, batch, out, err),
            codec::decode_results::<R>,
        )
        .into_iter()
        .map(|r| r.map_err(TransformError::from))
        .collect()
    }

    fn close(&mut self) {
        if let Some(i) = &self.instance {
            let vt = self.vtable();
            let _ = catch_unwind(AssertUnwindSafe(|| (vt.close)(i.ptr)));
        }
    }
}

struct NativePredicate {
    desc: &'static Desc,
    instance: Option<Instance>,
}

impl NativePredicate {
    fn new(desc: &'static Desc) -> Self {
        NativePredicate {
            desc,
            instance: None,
        }
    }

    fn vtable(&self) -> &'static FerryPredicateVTable {
        // SAFETY: a predicate's table, by its kind in the manifest.
        unsafe { &*(self.desc.vtable as *const FerryPredicateVTable) }
    }
}

impl<R: NativeRecord> Predicate<R> for NativePredicate {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let vt = self.vtable();
        let desc = self.desc;
        if self.instance.is_none() {
            let mut ptr: *mut c_void = std::ptr::null_mut();
            desc.call("create", |err| {
                (vt.create)(desc.factory, R::FOR_SINK, &mut ptr, err)
            })?;
            self.instance = Some(Instance::new(ptr, vt.destroy));
        }
        let this = self
            .instance
            .as_ref()
            .map_or(std::ptr::null_mut(), |i| i.ptr);
        let bytes = props_bytes(props);
        Ok(desc.call("configure", |err| {
            (vt.configure)(this, FerryStr::new(&bytes), err)
        })?)
    }

    fn config_def(&self) -> ConfigDef {
        self.desc.config_def.clone()
    }

    /// `test` cannot fail in Kafka Connect's API: a failing plugin is
    /// logged and its records count as not matching.
    fn test(&self, record: &R) -> bool {
        self.test_batch(&[record]).first().copied().unwrap_or(false)
    }

    fn prefers_batches(&self) -> bool {
        true
    }

    fn test_batch(&self, records: &[&R]) -> Vec<bool> {
        let vt = self.vtable();
        let Some(instance) = &self.instance else {
            return vec![false; records.len()];
        };
        let mut w = Writer::new();
        codec::encode_batch(records.iter().copied(), &mut w);
        let mut results = vec![0u8; records.len()];
        match self.desc.call("test", |err| {
            (vt.test)(
                instance.ptr,
                FerryStr::new(w.as_slice()),
                results.as_mut_ptr(),
                results.len(),
                err,
            )
        }) {
            Ok(()) => results.into_iter().map(|r| r != 0).collect(),
            Err(f) => {
                error!(class = %self.desc.class, records = records.len(), "predicate failed; its records count as not matching: {}", f.message);
                vec![false; records.len()]
            }
        }
    }

    fn close(&mut self) {
        if let Some(i) = &self.instance {
            let vt = self.vtable();
            let _ = catch_unwind(AssertUnwindSafe(|| (vt.close)(i.ptr)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_elf_files_are_caught_before_loading() {
        let exe = std::env::current_exe().expect("the test binary");
        let (head, len) = file_head(&exe).expect("readable");
        assert_eq!(check_elf_extent(&head, len), Ok(()));
        let e = check_elf_extent(&head[..4096.min(head.len())], 4096).expect_err("truncated");
        assert!(e.contains("past its 4096 bytes"), "{e}");
        assert_eq!(check_elf_extent(b"not an ELF file", 15), Ok(()));
    }

    #[test]
    fn scan_finds_libraries_in_directories_and_their_subdirectories() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/deeper")).expect("dirs");
        for f in [
            "top.so",
            "a/inner.so",
            "a/deeper/too-deep.so",
            "a/notes.txt",
        ] {
            std::fs::write(root.join(f), b"x").expect("file");
        }
        let found = scan(&[
            root.to_string_lossy().into_owned(),
            root.join("missing").to_string_lossy().into_owned(),
            // Listed twice: found once.
            root.join("top.so").to_string_lossy().into_owned(),
        ]);
        assert_eq!(found, vec![root.join("a/inner.so"), root.join("top.so")]);
    }
}
