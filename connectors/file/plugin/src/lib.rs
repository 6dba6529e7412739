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

fn plugins() -> Vec<Plugin> {
    ferry_connector_file::plugins()
        .into_iter()
        .map(Plugin::connector)
        .collect()
}

ferry_sdk::export_plugin!(plugins());
