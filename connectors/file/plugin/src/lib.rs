//! The file connectors as a native plugin library: the very
//! `ferry-connector-file` crate the `ferry` binary compiles in, exported
//! through the plugin ABI. A worker built without the `file` feature loads
//! it from `plugin.path` (two plugins may not share a class name, so a
//! worker with the built-in file connectors refuses it).
//!
//! ```text
//! cargo build --release -p ferry-connector-file-plugin
//! cp $CARGO_TARGET_DIR/release/libferry_connector_file_plugin.so <a plugin.path directory>/
//! ```

use ferry_sdk::Plugin;

// The allocator the `ferry` binary uses: a library has its own (it cannot
// share the worker's), and records are allocated per batch on this side too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    fn getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
}

/// The `ferry` binary's mimalloc setting (see its main.rs), applied before
/// the library's first allocation (so the environment is read with
/// `getenv`, which allocates nothing): freed memory is returned at once.
fn purge_memory_eagerly() {
    // SAFETY: a NUL-terminated name; the result is only tested for null.
    if unsafe { getenv(c"MIMALLOC_PURGE_DELAY".as_ptr()) }.is_null() {
        // SAFETY: a plain setter of mimalloc's option table
        // (`mi_option_purge_delay`).
        unsafe { libmimalloc_sys::mi_option_set(15, 0) };
    }
}

fn plugins() -> Vec<Plugin> {
    // The host calls this first, before anything here allocates.
    purge_memory_eagerly();
    ferry_connector_file::plugins()
        .into_iter()
        .map(Plugin::connector)
        .collect()
}

ferry_sdk::export_plugin!(plugins());
