//! The C ABI between a Ferry worker (the host) and a native plugin library
//! (the guest), version [`ABI_VERSION`].
//!
//! A plugin library exports one data symbol, [`ENTRY_SYMBOL`], of type
//! [`FerryPluginEntry`]. Its first field, a `u32`, is the ABI version; the
//! host reads it before anything else and refuses the library when it is
//! not the version the host speaks, because every other layout may differ
//! between versions. Then the host calls `manifest`, which describes every
//! plugin the library provides: kind, class name, version, aliases, its
//! `ConfigDef` as JSON, and a function table ("vtable") per kind.
//!
//! Records and Connect data cross the boundary as bytes in the encoding of
//! [`wire`] (documented in docs/design.md and in
//! `examples/plugin-c/ferry_plugin.h`), a whole batch per call.
//!
//! Ownership: a [`FerryBuf`] is freed by whoever allocated it. Buffers the
//! guest hands to the host (poll results, error messages, converted bytes)
//! are returned through the manifest's `free_buf`; buffers the host hands
//! to the guest (offset lookups) through the context's `free_buf`.
//! [`FerryStr`] is borrowed, valid for the duration of the call only.
//!
//! Every function returns a status ([`status`]); on a failure the guest
//! fills the `FerryError` out-parameter with a UTF-8 message.
//!
//! This crate has no dependencies, so a plugin and a worker agree on
//! nothing but what is written here.

use std::ffi::c_void;

pub mod wire;

/// The ABI version this crate describes. Bumped on any incompatible change
/// of a layout, a function signature or the record encoding.
pub const ABI_VERSION: u32 = 3;

/// The name of the entry-point symbol, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"ferry_plugin_entry\0";

/// The entry-point symbol's name as text.
pub const ENTRY_SYMBOL_NAME: &str = "ferry_plugin_entry";

/// Call statuses: `FERRY_OK` or the kind of failure. The failure kinds map
/// onto Kafka Connect's exceptions, so that a retriable error stays
/// retriable and a transformation's exception class survives.
pub mod status {
    /// Success.
    pub const OK: i32 = 0;
    /// `ConnectException`: a failure the runtime does not retry.
    pub const ERROR: i32 = 1;
    /// `RetriableException`: the runtime may try again.
    pub const RETRIABLE: i32 = 2;
    /// `ConfigException`.
    pub const CONFIG: i32 = 3;
    /// `DataException`.
    pub const DATA: i32 = 4;
    /// `IllegalArgumentException`.
    pub const ILLEGAL_ARGUMENT: i32 = 5;
    /// `IndexOutOfBoundsException`.
    pub const INDEX_OUT_OF_BOUNDS: i32 = 6;
    /// `SchemaBuilderException`.
    pub const SCHEMA_BUILDER: i32 = 7;
    /// `NullPointerException`.
    pub const NULL_POINTER: i32 = 8;
    /// The guest panicked (or otherwise failed unexpectedly); the message
    /// holds the panic message. Never retried.
    pub const PANIC: i32 = 9;
}

/// Plugin kinds, as in `FerryPluginDesc::kind`.
pub mod kind {
    /// A source connector; its vtable is a `FerryConnectorVTable` with a
    /// source task table.
    pub const SOURCE: u32 = 1;
    /// A sink connector; its vtable is a `FerryConnectorVTable` with a sink
    /// task table.
    pub const SINK: u32 = 2;
    /// A converter (`FerryConverterVTable`).
    pub const CONVERTER: u32 = 3;
    /// A header converter (`FerryHeaderConverterVTable`).
    pub const HEADER_CONVERTER: u32 = 4;
    /// A transformation (`FerryTransformationVTable`).
    pub const TRANSFORMATION: u32 = 5;
    /// A predicate (`FerryPredicateVTable`).
    pub const PREDICATE: u32 = 6;
}

/// Borrowed bytes (UTF-8 where the field says text), valid for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryStr {
    /// The first byte; may be dangling (but not null) when `len` is 0.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl FerryStr {
    /// Borrows `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        FerryStr {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: the caller vouches for ptr and len.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// An owned buffer, freed by the side that allocated it (see the crate
/// docs). `cap` is the allocator's business; the other side never reads it.
#[repr(C)]
#[derive(Debug)]
pub struct FerryBuf {
    /// The bytes; null for an empty buffer that owns nothing.
    pub ptr: *mut u8,
    /// Length in bytes.
    pub len: usize,
    /// Allocation size, for the owner.
    pub cap: usize,
}

impl FerryBuf {
    /// An empty buffer that owns nothing (freeing it is a no-op).
    pub const EMPTY: FerryBuf = FerryBuf {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };

    /// Hands a `Vec`'s allocation over; free it with [`FerryBuf::into_vec`]
    /// on the same side.
    pub fn from_vec(v: Vec<u8>) -> Self {
        let mut v = std::mem::ManuallyDrop::new(v);
        FerryBuf {
            ptr: v.as_mut_ptr(),
            len: v.len(),
            cap: v.capacity(),
        }
    }

    /// Takes back an allocation made by [`FerryBuf::from_vec`].
    ///
    /// # Safety
    /// The buffer must come from `from_vec` in this same binary (the same
    /// allocator), and must not be used afterwards.
    pub unsafe fn into_vec(self) -> Vec<u8> {
        if self.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the caller vouches that the parts came from a Vec here.
        unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) }
    }

    /// The bytes.
    ///
    /// # Safety
    /// The buffer must be live (not freed).
    pub unsafe fn as_bytes(&self) -> &[u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: a live buffer holds len bytes at ptr.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// A failure's message, filled by the callee when it returns a status
/// other than `OK` (it may leave it empty). Freed by the caller through the
/// callee's `free_buf`.
#[repr(C)]
#[derive(Debug)]
pub struct FerryError {
    /// UTF-8 text, allocated by the callee.
    pub message: FerryBuf,
}

impl FerryError {
    /// No message yet.
    pub const fn new() -> Self {
        FerryError {
            message: FerryBuf::EMPTY,
        }
    }
}

impl Default for FerryError {
    fn default() -> Self {
        Self::new()
    }
}

/// The exported entry point. `abi_version` must stay the first field in
/// every version of the ABI.
#[repr(C)]
pub struct FerryPluginEntry {
    /// [`ABI_VERSION`] of the ABI the library was built against.
    pub abi_version: u32,
    /// Describes the library's plugins. Called once, after the version
    /// check. `*out` is owned by the library and lives as long as it is
    /// loaded (libraries are never unloaded).
    pub manifest: extern "C" fn(out: *mut *const FerryManifest, err: *mut FerryError) -> i32,
}

/// What a library provides.
#[repr(C)]
pub struct FerryManifest {
    /// The plugins, `plugin_count` of them.
    pub plugins: *const FerryPluginDesc,
    /// Number of plugins.
    pub plugin_count: usize,
    /// Frees a buffer the library handed to the host (results and error
    /// messages of every function of this library).
    pub free_buf: extern "C" fn(buf: FerryBuf),
}

/// One plugin of a library.
#[repr(C)]
pub struct FerryPluginDesc {
    /// One of [`kind`].
    pub kind: u32,
    /// The class name users write in configurations (UTF-8).
    pub class_name: FerryStr,
    /// The version `/connector-plugins` reports (UTF-8).
    pub version: FerryStr,
    /// Further aliases, `alias_count` of them.
    pub aliases: *const FerryStr,
    /// Number of aliases.
    pub alias_count: usize,
    /// The plugin's configuration keys as JSON (see docs/design.md).
    pub config_def: FerryStr,
    /// Passed back to the vtable's `create`; the library's business (may be
    /// null).
    pub factory: *const c_void,
    /// The kind's function table.
    pub vtable: *const c_void,
    /// A connector's configuration keys that name files on the worker's
    /// machine (UTF-8), `local_file_key_count` of them: the worker's
    /// `file.connectors.allowed.paths` bounds their values. Null and 0 for
    /// none, and for other kinds.
    pub local_file_keys: *const FerryStr,
    /// Number of local file keys.
    pub local_file_key_count: usize,
}

// SAFETY: manifests and function tables are immutable data a library
// keeps for its lifetime (libraries are never unloaded), so any thread may
// read them.
unsafe impl Sync for FerryManifest {}
unsafe impl Send for FerryManifest {}
unsafe impl Sync for FerryPluginDesc {}
unsafe impl Send for FerryPluginDesc {}
unsafe impl Sync for FerryConnectorVTable {}
unsafe impl Send for FerryConnectorVTable {}

/// What a connector may ask of the host. Valid until the connector
/// instance is destroyed; callable from any thread.
#[repr(C)]
pub struct FerryConnectorContext {
    /// The host's state; passed back to every callback.
    pub host: *const c_void,
    /// The connector's task configs changed.
    pub request_task_reconfiguration: extern "C" fn(host: *const c_void),
    /// The connector failed in the background (`status` and UTF-8 message).
    pub raise_error: extern "C" fn(host: *const c_void, status: i32, message: FerryStr),
}

/// A source or sink connector.
#[repr(C)]
pub struct FerryConnectorVTable {
    /// A new connector instance in `*out`.
    pub create:
        extern "C" fn(factory: *const c_void, out: *mut *mut c_void, err: *mut FerryError) -> i32,
    /// Releases an instance (after `stop`, or unstarted).
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Validates `props` (a props encoding); `*out` receives the per-key
    /// results as JSON (see docs/design.md).
    pub validate: extern "C" fn(
        this: *mut c_void,
        props: FerryStr,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// Starts the connector with `props`; `context` lives until `destroy`.
    pub start: extern "C" fn(
        this: *mut c_void,
        props: FerryStr,
        context: *const FerryConnectorContext,
        err: *mut FerryError,
    ) -> i32,
    /// Up to `max_tasks` task configs, as a task-configs encoding in `*out`.
    pub task_configs: extern "C" fn(
        this: *mut c_void,
        max_tasks: u32,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// Stops the connector.
    pub stop: extern "C" fn(this: *mut c_void, err: *mut FerryError) -> i32,
    /// The task table of a source connector; null for a sink connector.
    pub source_task: *const FerrySourceTaskVTable,
    /// The task table of a sink connector; null for a source connector.
    pub sink_task: *const FerrySinkTaskVTable,
}

/// What a source task may ask of the host. Valid until the task instance
/// is destroyed.
#[repr(C)]
pub struct FerrySourceTaskContext {
    /// The host's state; passed back to every callback.
    pub host: *const c_void,
    /// The connector's name (UTF-8).
    pub connector_name: FerryStr,
    /// The task's number.
    pub task_number: u32,
    /// The committed offset of `partition` (a map value encoding): returns
    /// 1 and sets `*out` (a map value encoding, host-allocated) when there
    /// is one, 0 when there is none.
    pub offset: extern "C" fn(host: *const c_void, partition: FerryStr, out: *mut FerryBuf) -> i32,
    /// Frees a buffer the host allocated.
    pub free_buf: extern "C" fn(buf: FerryBuf),
}

/// A source task.
#[repr(C)]
pub struct FerrySourceTaskVTable {
    /// A new task instance in `*out`.
    pub create:
        extern "C" fn(factory: *const c_void, out: *mut *mut c_void, err: *mut FerryError) -> i32,
    /// Releases an instance.
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Starts the task; `context` lives until `destroy`.
    pub start: extern "C" fn(
        this: *mut c_void,
        props: FerryStr,
        context: *const FerrySourceTaskContext,
        err: *mut FerryError,
    ) -> i32,
    /// The next batch, a source batch encoding in `*out` (zero records
    /// when nothing arrived for about a second).
    pub poll: extern "C" fn(this: *mut c_void, out: *mut FerryBuf, err: *mut FerryError) -> i32,
    /// Offsets up to the records acknowledged so far were committed.
    pub commit: extern "C" fn(this: *mut c_void, err: *mut FerryError) -> i32,
    /// Kafka Connect's `commitRecord`, for a batch of records the host is
    /// done with (a source batch encoding of the records as `poll`
    /// returned them, in that order) and where each was written: one
    /// `FerryRecordMetadata` per record, `written` = 0 for a record that
    /// was not (dropped by a transformation, or skipped after a failure).
    /// Called between polls, before the `commit` that covers the records.
    /// Nullable: null when no task of the connector cares, and then the
    /// host does not keep records for it (see also `wants_commit_records`).
    pub commit_records: Option<
        extern "C" fn(
            this: *mut c_void,
            records: FerryStr,
            metadata: *const FerryRecordMetadata,
            err: *mut FerryError,
        ) -> i32,
    >,
    /// Stops the task.
    pub stop: extern "C" fn(this: *mut c_void, err: *mut FerryError) -> i32,
    /// The task is to stop: a `poll` that waits for data should return
    /// soon (with an empty batch). Called once, from any thread, possibly
    /// while another call on the instance runs; never after `destroy`.
    /// Nullable: a task whose polls return within about a second anyway
    /// need not care.
    pub request_stop: Option<extern "C" fn(this: *mut c_void)>,
    /// Whether this instance, once started, wants `commit_records` (1) or
    /// not (0). Nullable: null means it does when `commit_records` is set.
    pub wants_commit_records: Option<extern "C" fn(this: *mut c_void) -> u8>,
}

/// Where a source record was written (Kafka's `RecordMetadata`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryRecordMetadata {
    /// 0 when the record was not written (dropped by a transformation or
    /// skipped after a failure; the other fields are then empty), 1
    /// otherwise.
    pub written: u8,
    /// The partition written to.
    pub partition: i32,
    /// The offset written at.
    pub offset: i64,
    /// The record's timestamp in the topic, milliseconds since the epoch;
    /// -1 when unknown.
    pub timestamp: i64,
    /// The topic written to (the record's after transformations), UTF-8,
    /// valid for the call.
    pub topic: FerryStr,
}

/// What a sink task may ask of the host; the requests are read by the host
/// between calls, as Kafka Connect's `SinkTaskContext`. Valid until the
/// task instance is destroyed.
#[repr(C)]
pub struct FerrySinkTaskContext {
    /// The host's state; passed back to every callback.
    pub host: *const c_void,
    /// The connector's name (UTF-8).
    pub connector_name: FerryStr,
    /// The task's number.
    pub task_number: u32,
    /// Consume `topic`/`partition` from `offset` next.
    pub reset_offset:
        extern "C" fn(host: *const c_void, topic: FerryStr, partition: i32, offset: i64),
    /// Pause (`resume` = 0) or resume (`resume` = 1) a partition.
    pub pause_resume:
        extern "C" fn(host: *const c_void, topic: FerryStr, partition: i32, resume: u8),
    /// Asks for an offset commit as soon as possible.
    pub request_commit: extern "C" fn(host: *const c_void),
    /// Reports a record the task could not write (a sink batch encoding of
    /// one record) with the failure's status and message; returns once the
    /// report is durable, with a status. Null when the connector's
    /// `errors.*` settings configure no reporter.
    pub report_errant: Option<
        extern "C" fn(
            host: *const c_void,
            record: FerryStr,
            status: i32,
            message: FerryStr,
            err: *mut FerryError,
        ) -> i32,
    >,
    /// Frees a buffer (an error message) the host allocated.
    pub free_buf: extern "C" fn(buf: FerryBuf),
}

/// A sink task.
#[repr(C)]
pub struct FerrySinkTaskVTable {
    /// A new task instance in `*out`.
    pub create:
        extern "C" fn(factory: *const c_void, out: *mut *mut c_void, err: *mut FerryError) -> i32,
    /// Releases an instance.
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Starts the task; `context` lives until `destroy`.
    pub start: extern "C" fn(
        this: *mut c_void,
        props: FerryStr,
        context: *const FerrySinkTaskContext,
        err: *mut FerryError,
    ) -> i32,
    /// Newly assigned partitions (a topic-partitions encoding).
    pub open: extern "C" fn(this: *mut c_void, partitions: FerryStr, err: *mut FerryError) -> i32,
    /// A batch of records (a sink batch encoding), borrowed for the call.
    pub put: extern "C" fn(this: *mut c_void, batch: FerryStr, err: *mut FerryError) -> i32,
    /// Makes everything put so far durable (`offsets`: a topic-partition
    /// offsets encoding).
    pub flush: extern "C" fn(this: *mut c_void, offsets: FerryStr, err: *mut FerryError) -> i32,
    /// The offsets safe to commit (`*out`, a topic-partition offsets
    /// encoding) given the consumed `offsets`.
    pub pre_commit: extern "C" fn(
        this: *mut c_void,
        offsets: FerryStr,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// Partitions taken away (a topic-partitions encoding).
    pub close: extern "C" fn(this: *mut c_void, partitions: FerryStr, err: *mut FerryError) -> i32,
    /// Stops the task.
    pub stop: extern "C" fn(this: *mut c_void, err: *mut FerryError) -> i32,
    /// The task is to stop: a `put` or `flush` that waits (for a slow
    /// destination, a retry backoff) may give up early with a failure.
    /// Rules as for the source task's `request_stop`; nullable.
    pub request_stop: Option<extern "C" fn(this: *mut c_void)>,
}

/// A converter. Its conversion functions may be called from several
/// threads at once once it is configured.
#[repr(C)]
pub struct FerryConverterVTable {
    /// A new, unconfigured instance in `*out`.
    pub create:
        extern "C" fn(factory: *const c_void, out: *mut *mut c_void, err: *mut FerryError) -> i32,
    /// Releases an instance (after `close`, or unconfigured).
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Applies the converter's settings (a props encoding); `is_key` is 1
    /// for a key converter.
    pub configure:
        extern "C" fn(this: *mut c_void, props: FerryStr, is_key: u8, err: *mut FerryError) -> i32,
    /// Serializes `data` (a data encoding: schemas, schema ref, value) for
    /// `topic` into `*out`; `*present` = 0 for a null payload.
    pub from_connect: extern "C" fn(
        this: *mut c_void,
        topic: FerryStr,
        data: FerryStr,
        out: *mut FerryBuf,
        present: *mut u8,
        err: *mut FerryError,
    ) -> i32,
    /// Deserializes `payload` (null when `present` is 0) into a data
    /// encoding in `*out`.
    pub to_connect: extern "C" fn(
        this: *mut c_void,
        topic: FerryStr,
        payload: FerryStr,
        present: u8,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// The owning task stopped.
    pub close: extern "C" fn(this: *mut c_void),
    /// Serializes a batch: `items` is a to-bytes item encoding, `*out`
    /// gets a to-bytes result encoding, one per item. On a failure the
    /// items before the failing one stay converted: `*out` holds their
    /// results only and the host calls again for the rest. Null: the host
    /// calls `from_connect` per item.
    pub from_connect_batch: Option<
        extern "C" fn(
            this: *mut c_void,
            items: FerryStr,
            out: *mut FerryBuf,
            err: *mut FerryError,
        ) -> i32,
    >,
    /// Deserializes a batch: `items` is a from-bytes item encoding, `*out`
    /// gets a from-bytes result encoding; failures and null as for
    /// `from_connect_batch`.
    pub to_connect_batch: Option<
        extern "C" fn(
            this: *mut c_void,
            items: FerryStr,
            out: *mut FerryBuf,
            err: *mut FerryError,
        ) -> i32,
    >,
}

/// A header converter; thread rules as for converters.
#[repr(C)]
pub struct FerryHeaderConverterVTable {
    /// A new, unconfigured instance in `*out`.
    pub create:
        extern "C" fn(factory: *const c_void, out: *mut *mut c_void, err: *mut FerryError) -> i32,
    /// Releases an instance.
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Applies the converter's settings (a props encoding).
    pub configure: extern "C" fn(this: *mut c_void, props: FerryStr, err: *mut FerryError) -> i32,
    /// Serializes header `key`'s `data` (a data encoding) into `*out`;
    /// `*present` = 0 for null.
    pub from_connect: extern "C" fn(
        this: *mut c_void,
        topic: FerryStr,
        key: FerryStr,
        data: FerryStr,
        out: *mut FerryBuf,
        present: *mut u8,
        err: *mut FerryError,
    ) -> i32,
    /// Deserializes header `key`'s `payload` into a data encoding in `*out`.
    pub to_connect: extern "C" fn(
        this: *mut c_void,
        topic: FerryStr,
        key: FerryStr,
        payload: FerryStr,
        present: u8,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// The owning task stopped.
    pub close: extern "C" fn(this: *mut c_void),
    /// Serializes a batch: `items` is a to-bytes item encoding, `*out`
    /// gets a to-bytes result encoding, one per item. On a failure the
    /// items before the failing one stay converted: `*out` holds their
    /// results only and the host calls again for the rest. Null: the host
    /// calls `from_connect` per header.
    pub from_connect_batch: Option<
        extern "C" fn(
            this: *mut c_void,
            items: FerryStr,
            out: *mut FerryBuf,
            err: *mut FerryError,
        ) -> i32,
    >,
    /// Deserializes a batch: `items` is a from-bytes item encoding, `*out`
    /// gets a from-bytes result encoding; failures and null as for
    /// `from_connect_batch`.
    pub to_connect_batch: Option<
        extern "C" fn(
            this: *mut c_void,
            items: FerryStr,
            out: *mut FerryBuf,
            err: *mut FerryError,
        ) -> i32,
    >,
}

/// A transformation, of source records or of sink records (fixed at
/// `create`). Used by one thread at a time.
#[repr(C)]
pub struct FerryTransformationVTable {
    /// A new, unconfigured instance for sink records (`for_sink` = 1) or
    /// source records (0).
    pub create: extern "C" fn(
        factory: *const c_void,
        for_sink: u8,
        out: *mut *mut c_void,
        err: *mut FerryError,
    ) -> i32,
    /// Releases an instance.
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Applies the settings (a props encoding).
    pub configure: extern "C" fn(this: *mut c_void, props: FerryStr, err: *mut FerryError) -> i32,
    /// Transforms a batch (a source or sink batch encoding, as created);
    /// `*out` holds a transform-result encoding: per input record, in
    /// order, the record or a dropped mark. On a failure the records
    /// before the failing one stay applied: `*out` then holds their
    /// results only (fewer than the batch; none if left empty), the error
    /// is the failing record's, and the host calls again for the rest.
    pub apply: extern "C" fn(
        this: *mut c_void,
        batch: FerryStr,
        out: *mut FerryBuf,
        err: *mut FerryError,
    ) -> i32,
    /// Releases resources; the instance is destroyed next.
    pub close: extern "C" fn(this: *mut c_void),
}

/// A predicate, of source or sink records (fixed at `create`).
#[repr(C)]
pub struct FerryPredicateVTable {
    /// A new, unconfigured instance for sink records (`for_sink` = 1) or
    /// source records (0).
    pub create: extern "C" fn(
        factory: *const c_void,
        for_sink: u8,
        out: *mut *mut c_void,
        err: *mut FerryError,
    ) -> i32,
    /// Releases an instance.
    pub destroy: extern "C" fn(this: *mut c_void),
    /// Applies the settings (a props encoding).
    pub configure: extern "C" fn(this: *mut c_void, props: FerryStr, err: *mut FerryError) -> i32,
    /// Tests each record of a batch; writes one byte (0 or 1) per record
    /// into `results`, a host-allocated array of `result_len` bytes.
    pub test: extern "C" fn(
        this: *mut c_void,
        batch: FerryStr,
        results: *mut u8,
        result_len: usize,
        err: *mut FerryError,
    ) -> i32,
    /// Releases resources; the instance is destroyed next.
    pub close: extern "C" fn(this: *mut c_void),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_first_field() {
        assert_eq!(std::mem::offset_of!(FerryPluginEntry, abi_version), 0);
        assert_eq!(
            std::mem::size_of::<FerryStr>(),
            2 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn buffers_round_trip() {
        let buf = FerryBuf::from_vec(b"abc".to_vec());
        // SAFETY: made by from_vec just above.
        assert_eq!(unsafe { buf.as_bytes() }, b"abc");
        // SAFETY: as above, and not used afterwards.
        assert_eq!(unsafe { buf.into_vec() }, b"abc");
        // SAFETY: EMPTY owns nothing.
        assert!(unsafe { FerryBuf::EMPTY.into_vec() }.is_empty());
    }
}
