//! The guest side of the ABI: the function tables [`export_plugin!`]
//! exports, implemented over ordinary [`Plugin`]s.
//!
//! Every exported function runs its work under `catch_unwind`: a panic in
//! a plugin becomes a `PANIC` status carrying the panic message, which the
//! worker turns into a failure of that one task. Async trait methods run
//! to completion on a current-thread Tokio runtime owned by the instance
//! (the worker's runtime is another copy of Tokio, out of reach from a
//! shared library); the worker calls them from a thread where blocking is
//! allowed.
//!
//! [`export_plugin!`]: crate::export_plugin

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use ferry_api::{
    ConnectError, ConnectRecord, Connector, ConnectorContext, Converter, ErrantRecordReporter,
    HeaderConverter, OffsetMap, OffsetStorageReader, Plugin, PluginFactory, PluginType, Predicate,
    RecordMetadata, Schema, SinkRecord, SinkTask, SinkTaskContext, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal, Transformation, Value,
};
use ferry_plugin_abi::wire::{Reader, Writer};
use ferry_plugin_abi::{
    kind, status, FerryBuf, FerryConnectorContext, FerryConnectorVTable, FerryConverterVTable,
    FerryError, FerryHeaderConverterVTable, FerryManifest, FerryPluginDesc, FerryPredicateVTable,
    FerryRecordMetadata, FerrySinkTaskContext, FerrySinkTaskVTable, FerrySourceTaskContext,
    FerrySourceTaskVTable, FerryStr, FerryTransformationVTable,
};

use crate::codec::{self, WireRecord};
use crate::config_json;
use crate::failure::Failure;

type Outcome = Result<(), Failure>;

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Runs `f`, turning a panic into a `PANIC` failure with its message.
fn caught<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            // Dropping a payload runs foreign code too.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            Err(Failure::new(status::PANIC, message))
        }
    }
}

/// Runs `f`, turning its error or panic into a status and message.
fn guard(err: *mut FerryError, f: impl FnOnce() -> Outcome) -> i32 {
    let failure = match caught(f) {
        Ok(()) => return status::OK,
        Err(failure) => failure,
    };
    if !err.is_null() {
        // SAFETY: the host passes a valid, writable FerryError.
        unsafe { (*err).message = FerryBuf::from_vec(failure.message.into_bytes()) };
    }
    failure.status
}

/// Hands `bytes` to the host in `*out`.
fn give(out: *mut FerryBuf, bytes: Vec<u8>) -> Outcome {
    if out.is_null() {
        return Err(Failure::error("a null output buffer"));
    }
    // SAFETY: checked non-null; the host passes a writable FerryBuf.
    unsafe { *out = FerryBuf::from_vec(bytes) };
    Ok(())
}

/// The bytes of a borrowed argument.
fn arg<'a>(s: FerryStr) -> &'a [u8] {
    // SAFETY: arguments are valid for the call, which outlives every use.
    unsafe { s.as_bytes() }
}

fn text<'a>(s: FerryStr) -> Result<&'a str, Failure> {
    std::str::from_utf8(arg(s)).map_err(|e| Failure::error(format!("text is not UTF-8: {e}")))
}

/// The instance behind `this`.
fn inst<'a, T>(this: *mut c_void) -> Result<&'a mut T, Failure> {
    // SAFETY: `this` is what `create` returned for this table, used by one
    // thread at a time (converters: `&self` methods only, see callers).
    unsafe { (this as *mut T).as_mut() }.ok_or_else(|| Failure::error("a null instance"))
}

/// A task instance: its state, used by one call at a time, beside the stop
/// signal that `request_stop` fires from any thread, during a call too.
/// Only shared references to the cell exist, so the two never alias.
struct TaskCell<T> {
    stop: StopSignal,
    state: UnsafeCell<T>,
}

impl<T> TaskCell<T> {
    fn new(state: T) -> Self {
        TaskCell {
            stop: StopSignal::new(),
            state: UnsafeCell::new(state),
        }
    }
}

/// The state of the task instance behind `this`, and its stop signal.
fn task_with_stop<'a, T>(this: *mut c_void) -> Result<(&'a mut T, &'a StopSignal), Failure> {
    // SAFETY: `this` is the TaskCell<T> `create` returned for this table.
    let cell = unsafe { (this as *const TaskCell<T>).as_ref() }
        .ok_or_else(|| Failure::error("a null instance"))?;
    // SAFETY: calls other than `request_stop` come one at a time (ABI
    // rule), and `request_stop` reads `stop` only.
    Ok((unsafe { &mut *cell.state.get() }, &cell.stop))
}

/// The state of the task instance behind `this`.
fn task<'a, T>(this: *mut c_void) -> Result<&'a mut T, Failure> {
    task_with_stop(this).map(|(state, _)| state)
}

extern "C" fn task_request_stop<T>(this: *mut c_void) {
    // SAFETY: as in `task`; only the signal is touched.
    if let Some(cell) = unsafe { (this as *const TaskCell<T>).as_ref() } {
        // Wakers run here: a panic in one must not unwind into the host.
        let _ = catch_unwind(AssertUnwindSafe(|| cell.stop.stop()));
    }
}

fn create_instance<T>(
    out: *mut *mut c_void,
    err: *mut FerryError,
    new: impl FnOnce() -> Result<T, Failure>,
) -> i32 {
    guard(err, || {
        if out.is_null() {
            return Err(Failure::error("a null output pointer"));
        }
        let instance = Box::into_raw(Box::new(new()?));
        // SAFETY: checked non-null.
        unsafe { *out = instance.cast() };
        Ok(())
    })
}

fn destroy_instance<T>(this: *mut c_void) {
    if this.is_null() {
        return;
    }
    // SAFETY: `this` came from Box::into_raw in create_instance::<T>.
    let boxed = unsafe { Box::from_raw(this as *mut T) };
    // A panicking destructor must not unwind into the host.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

fn plugin<'a>(factory: *const c_void) -> Result<&'a Plugin, Failure> {
    // SAFETY: the factory pointer is a leaked `Plugin` of the manifest.
    unsafe { (factory as *const Plugin).as_ref() }.ok_or_else(|| Failure::error("a null factory"))
}

/// A current-thread runtime that drives an instance's async methods.
struct Driver(Option<tokio::runtime::Runtime>);

impl Driver {
    fn new() -> Self {
        Driver(None)
    }

    fn block_on<F: std::future::Future>(&mut self, f: F) -> Result<F::Output, Failure> {
        if self.0.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::error(format!("cannot start the plugin's runtime: {e}")))?;
            self.0 = Some(rt);
        }
        match &self.0 {
            Some(rt) => Ok(rt.block_on(f)),
            None => Err(Failure::error("no runtime")),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Never block (or panic) in a destructor the host may run on an
        // async thread of its own.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

// ---- manifest -----------------------------------------------------------

struct Manifest {
    manifest: FerryManifest,
}

// SAFETY: immutable after construction; points into leaked data.
unsafe impl Send for Manifest {}
unsafe impl Sync for Manifest {}

fn leak_str(s: String) -> FerryStr {
    let s: &'static str = Box::leak(s.into_boxed_str());
    FerryStr::new(s.as_bytes())
}

extern "C" fn free_buf(buf: FerryBuf) {
    // SAFETY: every buffer this library hands out comes from from_vec.
    drop(unsafe { buf.into_vec() });
}

fn describe(p: &'static Plugin) -> FerryPluginDesc {
    let (k, vtable): (u32, *const c_void) = match p.factory() {
        PluginFactory::Connector(d) => match d.kind {
            ferry_api::ConnectorKind::Source => (
                kind::SOURCE,
                (&SOURCE_CONNECTOR as *const FerryConnectorVTable).cast(),
            ),
            ferry_api::ConnectorKind::Sink => (
                kind::SINK,
                (&SINK_CONNECTOR as *const FerryConnectorVTable).cast(),
            ),
        },
        PluginFactory::Converter(_) => (
            kind::CONVERTER,
            (&CONVERTER as *const FerryConverterVTable).cast(),
        ),
        PluginFactory::HeaderConverter(_) => (
            kind::HEADER_CONVERTER,
            (&HEADER_CONVERTER as *const FerryHeaderConverterVTable).cast(),
        ),
        PluginFactory::Transformation(_) => (
            kind::TRANSFORMATION,
            (&TRANSFORMATION as *const FerryTransformationVTable).cast(),
        ),
        PluginFactory::Predicate(_) => (
            kind::PREDICATE,
            (&PREDICATE as *const FerryPredicateVTable).cast(),
        ),
    };
    let aliases: &'static [FerryStr] = Vec::leak(
        p.aliases()
            .iter()
            .map(|a| FerryStr::new(a.as_bytes()))
            .collect(),
    );
    let file_keys: &'static [FerryStr] = match p.factory() {
        PluginFactory::Connector(d) => Vec::leak(
            d.local_file_keys
                .iter()
                .map(|k| FerryStr::new(k.as_bytes()))
                .collect(),
        ),
        _ => &[],
    };
    FerryPluginDesc {
        kind: k,
        class_name: FerryStr::new(p.class().as_bytes()),
        version: FerryStr::new(p.version().as_bytes()),
        aliases: aliases.as_ptr(),
        alias_count: aliases.len(),
        config_def: leak_str(config_json::config_def_to_json(p.config_def())),
        factory: (p as *const Plugin).cast(),
        vtable,
        local_file_keys: file_keys.as_ptr(),
        local_file_key_count: file_keys.len(),
    }
}

/// The manifest function [`export_plugin!`](crate::export_plugin)
/// exports: describes the plugins `build` returns, once.
///
/// # Safety
/// `out` must be null or writable, and `err` null or a valid
/// `FerryError`, as the host passes them.
pub unsafe fn manifest(
    out: *mut *const FerryManifest,
    err: *mut FerryError,
    build: impl FnOnce() -> Vec<Plugin>,
) -> i32 {
    static MANIFEST: OnceLock<Manifest> = OnceLock::new();
    guard(err, || {
        if out.is_null() {
            return Err(Failure::error("a null output pointer"));
        }
        let m = match MANIFEST.get() {
            Some(m) => m,
            None => {
                // Leaked: the library is never unloaded, and the host keeps
                // pointers into these for its lifetime.
                let plugins: &'static [Plugin] = Vec::leak(build());
                let descs: &'static [FerryPluginDesc] =
                    Vec::leak(plugins.iter().map(describe).collect());
                MANIFEST.get_or_init(|| Manifest {
                    manifest: FerryManifest {
                        plugins: descs.as_ptr(),
                        plugin_count: descs.len(),
                        free_buf,
                    },
                })
            }
        };
        // SAFETY: checked non-null.
        unsafe { *out = &m.manifest };
        Ok(())
    })
}

// ---- connectors ---------------------------------------------------------

struct ConnectorInstance {
    connector: Box<dyn Connector>,
    driver: Driver,
}

struct HostConnectorContext(*const FerryConnectorContext);

// SAFETY: the host's context is callable from any thread and outlives the
// instance (ABI rule).
unsafe impl Send for HostConnectorContext {}
unsafe impl Sync for HostConnectorContext {}

impl ConnectorContext for HostConnectorContext {
    fn request_task_reconfiguration(&self) {
        // SAFETY: see the Send impl.
        let c = unsafe { &*self.0 };
        (c.request_task_reconfiguration)(c.host);
    }
    fn raise_error(&self, error: ConnectError) {
        // SAFETY: see the Send impl.
        let c = unsafe { &*self.0 };
        let f = Failure::from(error);
        (c.raise_error)(c.host, f.status, FerryStr::new(f.message.as_bytes()));
    }
}

extern "C" fn connector_create(
    factory: *const c_void,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Connector(d) => Ok(ConnectorInstance {
            connector: (d.new_connector)(),
            driver: Driver::new(),
        }),
        _ => Err(Failure::error("not a connector")),
    })
}

extern "C" fn connector_destroy(this: *mut c_void) {
    destroy_instance::<ConnectorInstance>(this)
}

extern "C" fn connector_validate(
    this: *mut c_void,
    props: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = inst::<ConnectorInstance>(this)?;
        let props = codec::decode_props(arg(props))?;
        let results = c.connector.validate(&props);
        give(out, config_json::validated_to_json(&results).into_bytes())
    })
}

extern "C" fn connector_start(
    this: *mut c_void,
    props: FerryStr,
    context: *const FerryConnectorContext,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = inst::<ConnectorInstance>(this)?;
        let props = codec::decode_props(arg(props))?;
        if context.is_null() {
            return Err(Failure::error("a null connector context"));
        }
        let ctx: Arc<dyn ConnectorContext> = Arc::new(HostConnectorContext(context));
        c.driver.block_on(c.connector.start(props, ctx))??;
        Ok(())
    })
}

extern "C" fn connector_task_configs(
    this: *mut c_void,
    max_tasks: u32,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = inst::<ConnectorInstance>(this)?;
        let configs = c.connector.task_configs(max_tasks as usize)?;
        let mut w = Writer::new();
        codec::encode_task_configs(&configs, &mut w);
        give(out, w.into_vec())
    })
}

extern "C" fn connector_stop(this: *mut c_void, err: *mut FerryError) -> i32 {
    guard(err, || {
        let c = inst::<ConnectorInstance>(this)?;
        c.driver.block_on(c.connector.stop())??;
        Ok(())
    })
}

static SOURCE_CONNECTOR: FerryConnectorVTable = FerryConnectorVTable {
    create: connector_create,
    destroy: connector_destroy,
    validate: connector_validate,
    start: connector_start,
    task_configs: connector_task_configs,
    stop: connector_stop,
    source_task: &SOURCE_TASK,
    sink_task: std::ptr::null(),
};

static SINK_CONNECTOR: FerryConnectorVTable = FerryConnectorVTable {
    create: connector_create,
    destroy: connector_destroy,
    validate: connector_validate,
    start: connector_start,
    task_configs: connector_task_configs,
    stop: connector_stop,
    source_task: std::ptr::null(),
    sink_task: &SINK_TASK,
};

// ---- source tasks -------------------------------------------------------

struct SourceTaskInstance {
    task: Box<dyn SourceTask>,
    driver: Driver,
    encoder: codec::BatchEncoder,
    /// The size of the last encoded batch: the next one's buffer starts
    /// that large rather than doubling its way up, copying as it goes.
    last_batch_bytes: usize,
}

struct HostOffsets(*const FerrySourceTaskContext);

// SAFETY: the host's context is callable from any thread and outlives the
// instance (ABI rule).
unsafe impl Send for HostOffsets {}
unsafe impl Sync for HostOffsets {}

impl OffsetStorageReader for HostOffsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        // SAFETY: see the Send impl.
        let c = unsafe { &*self.0 };
        let mut w = Writer::new();
        codec::write_offset_map(&mut w, partition);
        let mut out = FerryBuf::EMPTY;
        if (c.offset)(c.host, FerryStr::new(w.as_slice()), &mut out) != 1 {
            return None;
        }
        // SAFETY: the host filled `out`; it is freed below with its free.
        let decoded = codec::read_offset_map(&mut Reader::new(unsafe { out.as_bytes() }));
        (c.free_buf)(out);
        decoded.ok()
    }
}

extern "C" fn source_task_create(
    factory: *const c_void,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Connector(d) => match d.new_source_task {
            Some(new) => Ok(TaskCell::new(SourceTaskInstance {
                task: new(),
                driver: Driver::new(),
                encoder: codec::BatchEncoder::default(),
                last_batch_bytes: 0,
            })),
            None => Err(Failure::error("the connector has no source task")),
        },
        _ => Err(Failure::error("not a connector")),
    })
}

extern "C" fn source_task_destroy(this: *mut c_void) {
    destroy_instance::<TaskCell<SourceTaskInstance>>(this)
}

extern "C" fn source_task_start(
    this: *mut c_void,
    props: FerryStr,
    context: *const FerrySourceTaskContext,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let (t, stop) = task_with_stop::<SourceTaskInstance>(this)?;
        let props = codec::decode_props(arg(props))?;
        // SAFETY: the host passes a context that outlives the instance.
        let c = unsafe { context.as_ref() }.ok_or_else(|| Failure::error("a null task context"))?;
        let ctx = SourceTaskContext::new(
            text(c.connector_name)?,
            c.task_number,
            Arc::new(HostOffsets(context)),
        )
        .with_stop_signal(stop.clone());
        t.driver.block_on(t.task.start(props, ctx))??;
        Ok(())
    })
}

extern "C" fn source_task_poll(this: *mut c_void, out: *mut FerryBuf, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SourceTaskInstance>(this)?;
        let records = t.driver.block_on(t.task.poll())??;
        let mut w = Writer::with_capacity(t.last_batch_bytes);
        t.encoder.encode_batch(&records, &mut w);
        t.last_batch_bytes = w.len();
        give(out, w.into_vec())
    })
}

extern "C" fn source_task_commit(this: *mut c_void, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SourceTaskInstance>(this)?;
        t.driver.block_on(t.task.commit())??;
        Ok(())
    })
}

extern "C" fn source_task_stop(this: *mut c_void, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SourceTaskInstance>(this)?;
        t.driver.block_on(t.task.stop())??;
        Ok(())
    })
}

extern "C" fn source_task_commit_records(
    this: *mut c_void,
    records: FerryStr,
    metadata: *const FerryRecordMetadata,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let t = task::<SourceTaskInstance>(this)?;
        let records: Vec<SourceRecord> = codec::decode_batch(arg(records))?;
        let metadata: &[FerryRecordMetadata] = match records.len() {
            0 => &[],
            _ if metadata.is_null() => return Err(Failure::error("null record metadata")),
            // SAFETY: the host passes one entry per record, valid for the call.
            n => unsafe { std::slice::from_raw_parts(metadata, n) },
        };
        let mut batch = Vec::with_capacity(records.len());
        for (record, m) in records.into_iter().zip(metadata) {
            let written = (m.written != 0)
                .then(|| -> Result<RecordMetadata, Failure> {
                    Ok(RecordMetadata {
                        topic: text(m.topic)?.to_owned(),
                        partition: m.partition,
                        offset: m.offset,
                        timestamp: (m.timestamp >= 0).then_some(m.timestamp),
                    })
                })
                .transpose()?;
            batch.push((record, written));
        }
        t.driver.block_on(t.task.commit_records(&batch))??;
        Ok(())
    })
}

extern "C" fn source_task_wants_commit_records(this: *mut c_void) -> u8 {
    let mut wants = 1;
    // A panic here counts as "wants": records are then kept, never lost.
    let _ = guard(std::ptr::null_mut(), || {
        wants = u8::from(task::<SourceTaskInstance>(this)?.task.wants_commit_record());
        Ok(())
    });
    wants
}

static SOURCE_TASK: FerrySourceTaskVTable = FerrySourceTaskVTable {
    create: source_task_create,
    destroy: source_task_destroy,
    start: source_task_start,
    poll: source_task_poll,
    commit: source_task_commit,
    commit_records: Some(source_task_commit_records),
    stop: source_task_stop,
    request_stop: Some(task_request_stop::<SourceTaskInstance>),
    wants_commit_records: Some(source_task_wants_commit_records),
};

// ---- sink tasks ---------------------------------------------------------

struct SinkTaskInstance {
    task: Box<dyn SinkTask>,
    driver: Driver,
    context: Option<Arc<SinkTaskContext>>,
    host: *const FerrySinkTaskContext,
}

struct HostReporter(*const FerrySinkTaskContext);

// SAFETY: the host's context is callable from any thread and outlives the
// instance (ABI rule).
unsafe impl Send for HostReporter {}
unsafe impl Sync for HostReporter {}

#[async_trait]
impl ErrantRecordReporter for HostReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> Result<(), ConnectError> {
        // SAFETY: see the Send impl.
        let c = unsafe { &*self.0 };
        let Some(report) = c.report_errant else {
            return Err(ConnectError::other("no errant record reporter"));
        };
        let mut w = Writer::new();
        codec::encode_batch([record], &mut w);
        let f = Failure::from(error);
        let mut err = FerryError::new();
        let s = report(
            c.host,
            FerryStr::new(w.as_slice()),
            f.status,
            FerryStr::new(f.message.as_bytes()),
            &mut err,
        );
        // SAFETY: the host filled the message (or left it empty).
        let message = String::from_utf8_lossy(unsafe { err.message.as_bytes() }).into_owned();
        (c.free_buf)(err.message);
        if s == status::OK {
            Ok(())
        } else {
            Err(Failure::new(s, message).into())
        }
    }
}

impl SinkTaskInstance {
    /// Hands the requests the task made of its context to the host.
    fn forward_requests(&self) {
        // SAFETY: `host` is null or the context `start` got, which
        // outlives the instance.
        let (Some(ctx), Some(c)) = (&self.context, unsafe { self.host.as_ref() }) else {
            return;
        };
        for (tp, offset) in ctx.take_offset_resets() {
            (c.reset_offset)(
                c.host,
                FerryStr::new(tp.topic.as_bytes()),
                tp.partition,
                offset,
            );
        }
        let (pause, resume) = ctx.take_pause_requests();
        for tp in pause {
            (c.pause_resume)(c.host, FerryStr::new(tp.topic.as_bytes()), tp.partition, 0);
        }
        for tp in resume {
            (c.pause_resume)(c.host, FerryStr::new(tp.topic.as_bytes()), tp.partition, 1);
        }
        if ctx.take_commit_request() {
            (c.request_commit)(c.host);
        }
    }

    fn run<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Failure>) -> Result<T, Failure> {
        let out = f(self);
        self.forward_requests();
        out
    }
}

extern "C" fn sink_task_create(
    factory: *const c_void,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Connector(d) => match d.new_sink_task {
            Some(new) => Ok(TaskCell::new(SinkTaskInstance {
                task: new(),
                driver: Driver::new(),
                context: None,
                host: std::ptr::null(),
            })),
            None => Err(Failure::error("the connector has no sink task")),
        },
        _ => Err(Failure::error("not a connector")),
    })
}

extern "C" fn sink_task_destroy(this: *mut c_void) {
    destroy_instance::<TaskCell<SinkTaskInstance>>(this)
}

extern "C" fn sink_task_start(
    this: *mut c_void,
    props: FerryStr,
    context: *const FerrySinkTaskContext,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let (t, stop) = task_with_stop::<SinkTaskInstance>(this)?;
        let props = codec::decode_props(arg(props))?;
        // SAFETY: the host passes a context that outlives the instance.
        let c = unsafe { context.as_ref() }.ok_or_else(|| Failure::error("a null task context"))?;
        let reporter = c
            .report_errant
            .map(|_| Arc::new(HostReporter(context)) as Arc<dyn ErrantRecordReporter>);
        let ctx = SinkTaskContext::with_stop_signal(reporter, stop.clone());
        t.host = context;
        t.context = Some(Arc::clone(&ctx));
        t.run(|t| {
            t.driver
                .block_on(t.task.start(props, ctx))?
                .map_err(Failure::from)
        })
    })
}

fn change_assignment(t: &SinkTaskInstance, partitions: &[ferry_api::TopicPartition], add: bool) {
    if let Some(ctx) = &t.context {
        let mut now = ctx.assignment();
        for tp in partitions {
            if add {
                now.insert(tp.clone());
            } else {
                now.remove(tp);
            }
        }
        ctx.set_assignment(now);
    }
}

extern "C" fn sink_task_open(this: *mut c_void, partitions: FerryStr, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        let partitions = codec::decode_partitions(arg(partitions))?;
        change_assignment(t, &partitions, true);
        t.run(|t| {
            t.driver
                .block_on(t.task.open(&partitions))?
                .map_err(Failure::from)
        })
    })
}

extern "C" fn sink_task_put(this: *mut c_void, batch: FerryStr, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        let records: Vec<SinkRecord> = codec::decode_batch(arg(batch))?;
        t.run(|t| {
            t.driver
                .block_on(t.task.put(records))?
                .map_err(Failure::from)
        })
    })
}

extern "C" fn sink_task_flush(this: *mut c_void, offsets: FerryStr, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        let offsets = codec::decode_offsets(arg(offsets))?;
        t.run(|t| {
            t.driver
                .block_on(t.task.flush(&offsets))?
                .map_err(Failure::from)
        })
    })
}

extern "C" fn sink_task_pre_commit(
    this: *mut c_void,
    offsets: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        let offsets: BTreeMap<_, _> = codec::decode_offsets(arg(offsets))?;
        let safe = t.run(|t| {
            t.driver
                .block_on(t.task.pre_commit(offsets))?
                .map_err(Failure::from)
        })?;
        let mut w = Writer::new();
        codec::encode_offsets(&safe, &mut w);
        give(out, w.into_vec())
    })
}

extern "C" fn sink_task_close(
    this: *mut c_void,
    partitions: FerryStr,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        let partitions = codec::decode_partitions(arg(partitions))?;
        let out = t.run(|t| {
            t.driver
                .block_on(t.task.close(&partitions))?
                .map_err(Failure::from)
        });
        change_assignment(t, &partitions, false);
        out
    })
}

extern "C" fn sink_task_stop(this: *mut c_void, err: *mut FerryError) -> i32 {
    guard(err, || {
        let t = task::<SinkTaskInstance>(this)?;
        t.run(|t| t.driver.block_on(t.task.stop())?.map_err(Failure::from))
    })
}

static SINK_TASK: FerrySinkTaskVTable = FerrySinkTaskVTable {
    create: sink_task_create,
    destroy: sink_task_destroy,
    start: sink_task_start,
    open: sink_task_open,
    put: sink_task_put,
    flush: sink_task_flush,
    pre_commit: sink_task_pre_commit,
    close: sink_task_close,
    stop: sink_task_stop,
    request_stop: Some(task_request_stop::<SinkTaskInstance>),
};

// ---- converters ---------------------------------------------------------

extern "C" fn converter_create(
    factory: *const c_void,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Converter(new) => Ok(new()),
        _ => Err(Failure::error("not a converter")),
    })
}

extern "C" fn converter_destroy(this: *mut c_void) {
    destroy_instance::<Box<dyn Converter>>(this)
}

extern "C" fn converter_configure(
    this: *mut c_void,
    props: FerryStr,
    is_key: u8,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = inst::<Box<dyn Converter>>(this)?;
        let props = codec::decode_props(arg(props))?;
        Ok(c.configure(&props, is_key != 0)?)
    })
}

/// A shared reference: conversions may run on several threads at once.
fn shared<'a, T>(this: *mut c_void) -> Result<&'a T, Failure> {
    // SAFETY: as `inst`, but only `&self` methods are called through it.
    unsafe { (this as *const T).as_ref() }.ok_or_else(|| Failure::error("a null instance"))
}

fn set_present(present: *mut u8, v: bool) {
    if !present.is_null() {
        // SAFETY: checked non-null; the host passes a writable byte.
        unsafe { *present = u8::from(v) };
    }
}

extern "C" fn converter_from_connect(
    this: *mut c_void,
    topic: FerryStr,
    data: FerryStr,
    out: *mut FerryBuf,
    present: *mut u8,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn Converter>>(this)?;
        let (schema, value) = codec::decode_data(arg(data))?;
        let mut bytes = Vec::new();
        let some = c.from_connect(text(topic)?, schema.as_ref(), &value, &mut bytes)?;
        set_present(present, some);
        give(out, bytes)
    })
}

extern "C" fn converter_to_connect(
    this: *mut c_void,
    topic: FerryStr,
    payload: FerryStr,
    present: u8,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn Converter>>(this)?;
        let payload = (present != 0).then(|| arg(payload));
        let (schema, value) = c.to_connect(text(topic)?, payload)?;
        let mut w = Writer::new();
        codec::encode_data(schema.as_ref(), &value, &mut w);
        give(out, w.into_vec())
    })
}

extern "C" fn converter_close(this: *mut c_void) {
    let _ = guard(std::ptr::null_mut(), || {
        shared::<Box<dyn Converter>>(this)?.close();
        Ok(())
    });
}

/// Converts each item in turn, stopping at the first that fails (or
/// panics): the results before it, and that failure.
fn convert_all<I, T>(
    items: impl IntoIterator<Item = I>,
    mut convert: impl FnMut(I) -> Result<T, Failure>,
) -> (Vec<T>, Option<Failure>) {
    let mut results = Vec::new();
    for item in items {
        match caught(|| convert(item)) {
            Ok(r) => results.push(r),
            Err(f) => return (results, Some(f)),
        }
    }
    (results, None)
}

/// Hands the encoded results to the host, on a failure too (the host
/// keeps the results before it), then reports the failure.
fn give_results(out: *mut FerryBuf, w: Writer, failure: Option<Failure>) -> Outcome {
    give(out, w.into_vec())?;
    failure.map_or(Ok(()), Err)
}

/// A to-bytes batch call: each item through `convert`, the results (those
/// before a failure, on a failure) handed to the host.
fn to_bytes_all(
    items: FerryStr,
    out: *mut FerryBuf,
    mut convert: impl FnMut(&str, &str, Option<&Schema>, &Value) -> Result<Option<Vec<u8>>, Failure>,
) -> Outcome {
    let items = codec::decode_to_bytes_items(arg(items))?;
    let (results, failure) = convert_all(&items, |(topic, key, schema, value)| {
        convert(topic, key, schema.as_ref(), value)
    });
    let mut w = Writer::new();
    codec::encode_to_bytes_results(&results, &mut w);
    give_results(out, w, failure)
}

/// A from-bytes batch call, as [`to_bytes_all`].
fn from_bytes_all(
    items: FerryStr,
    out: *mut FerryBuf,
    mut convert: impl FnMut(&str, &str, Option<&[u8]>) -> Result<(Option<Schema>, Value), Failure>,
) -> Outcome {
    let items = codec::decode_from_bytes_items(arg(items))?;
    let (results, failure) = convert_all(&items, |(topic, key, payload)| {
        convert(topic, key, *payload)
    });
    let mut w = Writer::new();
    codec::encode_from_bytes_results(&results, &mut w);
    give_results(out, w, failure)
}

extern "C" fn converter_from_connect_batch(
    this: *mut c_void,
    items: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn Converter>>(this)?;
        to_bytes_all(items, out, |topic, _, schema, value| {
            let mut bytes = Vec::new();
            let present = c.from_connect(topic, schema, value, &mut bytes)?;
            Ok(present.then_some(bytes))
        })
    })
}

extern "C" fn converter_to_connect_batch(
    this: *mut c_void,
    items: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn Converter>>(this)?;
        from_bytes_all(items, out, |topic, _, payload| {
            Ok(c.to_connect(topic, payload)?)
        })
    })
}

static CONVERTER: FerryConverterVTable = FerryConverterVTable {
    create: converter_create,
    destroy: converter_destroy,
    configure: converter_configure,
    from_connect: converter_from_connect,
    to_connect: converter_to_connect,
    close: converter_close,
    from_connect_batch: Some(converter_from_connect_batch),
    to_connect_batch: Some(converter_to_connect_batch),
};

extern "C" fn header_converter_create(
    factory: *const c_void,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::HeaderConverter(new) => Ok(new()),
        _ => Err(Failure::error("not a header converter")),
    })
}

extern "C" fn header_converter_destroy(this: *mut c_void) {
    destroy_instance::<Box<dyn HeaderConverter>>(this)
}

extern "C" fn header_converter_configure(
    this: *mut c_void,
    props: FerryStr,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = inst::<Box<dyn HeaderConverter>>(this)?;
        let props = codec::decode_props(arg(props))?;
        Ok(c.configure(&props)?)
    })
}

extern "C" fn header_converter_from_connect(
    this: *mut c_void,
    topic: FerryStr,
    key: FerryStr,
    data: FerryStr,
    out: *mut FerryBuf,
    present: *mut u8,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn HeaderConverter>>(this)?;
        let (schema, value) = codec::decode_data(arg(data))?;
        let bytes = c.from_connect_header(text(topic)?, text(key)?, schema.as_ref(), &value)?;
        set_present(present, bytes.is_some());
        give(out, bytes.unwrap_or_default())
    })
}

extern "C" fn header_converter_to_connect(
    this: *mut c_void,
    topic: FerryStr,
    key: FerryStr,
    payload: FerryStr,
    present: u8,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn HeaderConverter>>(this)?;
        let payload = (present != 0).then(|| arg(payload));
        let (schema, value) = c.to_connect_header(text(topic)?, text(key)?, payload)?;
        let mut w = Writer::new();
        codec::encode_data(schema.as_ref(), &value, &mut w);
        give(out, w.into_vec())
    })
}

extern "C" fn header_converter_close(this: *mut c_void) {
    let _ = guard(std::ptr::null_mut(), || {
        shared::<Box<dyn HeaderConverter>>(this)?.close();
        Ok(())
    });
}

extern "C" fn header_converter_from_connect_batch(
    this: *mut c_void,
    items: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn HeaderConverter>>(this)?;
        to_bytes_all(items, out, |topic, key, schema, value| {
            Ok(c.from_connect_header(topic, key, schema, value)?)
        })
    })
}

extern "C" fn header_converter_to_connect_batch(
    this: *mut c_void,
    items: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let c = shared::<Box<dyn HeaderConverter>>(this)?;
        from_bytes_all(items, out, |topic, key, payload| {
            Ok(c.to_connect_header(topic, key, payload)?)
        })
    })
}

static HEADER_CONVERTER: FerryHeaderConverterVTable = FerryHeaderConverterVTable {
    create: header_converter_create,
    destroy: header_converter_destroy,
    configure: header_converter_configure,
    from_connect: header_converter_from_connect,
    to_connect: header_converter_to_connect,
    close: header_converter_close,
    from_connect_batch: Some(header_converter_from_connect_batch),
    to_connect_batch: Some(header_converter_to_connect_batch),
};

// ---- transformations and predicates -------------------------------------

enum TransformInstance {
    Source(Box<dyn Transformation<SourceRecord>>),
    Sink(Box<dyn Transformation<SinkRecord>>),
}

/// Applies `t` to each record of the batch, stopping at the first that
/// fails (or panics): the results before it, encoded, and that failure.
fn apply_all<R: ConnectRecord + WireRecord>(
    t: &mut dyn Transformation<R>,
    batch: &[u8],
) -> Result<(Vec<u8>, Option<Failure>), Failure> {
    let records: Vec<R> = codec::decode_batch(batch)?;
    let (results, failure) = convert_all(records, |r| Ok(t.apply(r)?));
    let mut w = Writer::new();
    codec::encode_results(results.iter().map(Option::as_ref), &mut w);
    Ok((w.into_vec(), failure))
}

extern "C" fn transformation_create(
    factory: *const c_void,
    for_sink: u8,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Transformation(f) if for_sink != 0 => {
            Ok(TransformInstance::Sink(f.create()))
        }
        PluginFactory::Transformation(f) => Ok(TransformInstance::Source(f.create())),
        _ => Err(Failure::error("not a transformation")),
    })
}

extern "C" fn transformation_destroy(this: *mut c_void) {
    destroy_instance::<TransformInstance>(this)
}

extern "C" fn transformation_configure(
    this: *mut c_void,
    props: FerryStr,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let props = codec::decode_props(arg(props))?;
        match inst::<TransformInstance>(this)? {
            TransformInstance::Source(t) => t.configure(&props)?,
            TransformInstance::Sink(t) => t.configure(&props)?,
        }
        Ok(())
    })
}

extern "C" fn transformation_apply(
    this: *mut c_void,
    batch: FerryStr,
    out: *mut FerryBuf,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        let (bytes, failure) = match inst::<TransformInstance>(this)? {
            TransformInstance::Source(t) => apply_all(t.as_mut(), arg(batch))?,
            TransformInstance::Sink(t) => apply_all(t.as_mut(), arg(batch))?,
        };
        // On a failure too: the host keeps the results before it.
        give(out, bytes)?;
        failure.map_or(Ok(()), Err)
    })
}

extern "C" fn transformation_close(this: *mut c_void) {
    let _ = guard(std::ptr::null_mut(), || {
        match inst::<TransformInstance>(this)? {
            TransformInstance::Source(t) => t.close(),
            TransformInstance::Sink(t) => t.close(),
        }
        Ok(())
    });
}

static TRANSFORMATION: FerryTransformationVTable = FerryTransformationVTable {
    create: transformation_create,
    destroy: transformation_destroy,
    configure: transformation_configure,
    apply: transformation_apply,
    close: transformation_close,
};

enum PredicateInstance {
    Source(Box<dyn Predicate<SourceRecord>>),
    Sink(Box<dyn Predicate<SinkRecord>>),
}

fn test_all<R: ConnectRecord + WireRecord>(
    p: &dyn Predicate<R>,
    batch: &[u8],
    results: &mut [u8],
) -> Outcome {
    let records: Vec<R> = codec::decode_batch(batch)?;
    if records.len() != results.len() {
        return Err(Failure::error(format!(
            "{} records but room for {} results",
            records.len(),
            results.len()
        )));
    }
    for (r, slot) in records.iter().zip(results.iter_mut()) {
        *slot = u8::from(p.test(r));
    }
    Ok(())
}

extern "C" fn predicate_create(
    factory: *const c_void,
    for_sink: u8,
    out: *mut *mut c_void,
    err: *mut FerryError,
) -> i32 {
    create_instance(out, err, || match plugin(factory)?.factory() {
        PluginFactory::Predicate(f) if for_sink != 0 => Ok(PredicateInstance::Sink(f.create())),
        PluginFactory::Predicate(f) => Ok(PredicateInstance::Source(f.create())),
        _ => Err(Failure::error("not a predicate")),
    })
}

extern "C" fn predicate_destroy(this: *mut c_void) {
    destroy_instance::<PredicateInstance>(this)
}

extern "C" fn predicate_configure(this: *mut c_void, props: FerryStr, err: *mut FerryError) -> i32 {
    guard(err, || {
        let props = codec::decode_props(arg(props))?;
        match inst::<PredicateInstance>(this)? {
            PredicateInstance::Source(p) => p.configure(&props)?,
            PredicateInstance::Sink(p) => p.configure(&props)?,
        }
        Ok(())
    })
}

extern "C" fn predicate_test(
    this: *mut c_void,
    batch: FerryStr,
    results: *mut u8,
    result_len: usize,
    err: *mut FerryError,
) -> i32 {
    guard(err, || {
        if results.is_null() && result_len > 0 {
            return Err(Failure::error("a null result array"));
        }
        let results: &mut [u8] = if result_len == 0 {
            &mut []
        } else {
            // SAFETY: the host passes `result_len` writable bytes.
            unsafe { std::slice::from_raw_parts_mut(results, result_len) }
        };
        match inst::<PredicateInstance>(this)? {
            PredicateInstance::Source(p) => test_all(p.as_ref(), arg(batch), results),
            PredicateInstance::Sink(p) => test_all(p.as_ref(), arg(batch), results),
        }
    })
}

extern "C" fn predicate_close(this: *mut c_void) {
    let _ = guard(std::ptr::null_mut(), || {
        match inst::<PredicateInstance>(this)? {
            PredicateInstance::Source(p) => p.close(),
            PredicateInstance::Sink(p) => p.close(),
        }
        Ok(())
    });
}

static PREDICATE: FerryPredicateVTable = FerryPredicateVTable {
    create: predicate_create,
    destroy: predicate_destroy,
    configure: predicate_configure,
    test: predicate_test,
    close: predicate_close,
};

/// The kind a manifest entry has for a plugin (for tests and tools).
pub fn kind_of(plugin_type: PluginType) -> u32 {
    match plugin_type {
        PluginType::Source => kind::SOURCE,
        PluginType::Sink => kind::SINK,
        PluginType::Converter => kind::CONVERTER,
        PluginType::HeaderConverter => kind::HEADER_CONVERTER,
        PluginType::Transformation => kind::TRANSFORMATION,
        PluginType::Predicate => kind::PREDICATE,
    }
}
