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

// No global allocator of its own: the C library's malloc keeps the memory
// a poll frees for the next one. mimalloc with the worker's setting (return
// freed memory at once) faulted every batch back in, a third of the
// source's CPU, for more peak RSS too (bench/README.md, "Plugins").

fn plugins() -> Vec<Plugin> {
    ferry_connector_file::plugins()
        .into_iter()
        .map(Plugin::connector)
        .collect()
}

ferry_sdk::export_plugin!(plugins());
