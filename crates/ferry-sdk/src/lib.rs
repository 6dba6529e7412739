//! Ferry's SDK for native plugins: everything of [`ferry_api`] (the traits
//! a plugin implements), plus [`export_plugin!`], which turns a list of
//! ordinary [`Plugin`]s into the one entry point a shared library exports
//! for Ferry's `plugin.path`.
//!
//! ```ignore
//! ferry_sdk::export_plugin!(vec![
//!     ferry_sdk::Plugin::connector(my_source_descriptor()),
//!     ferry_sdk::Plugin::transformation("com.example.Upper", "1.0", Upper::default),
//! ]);
//! ```
//!
//! Build the crate as a `cdylib` and put the `.so` in a directory listed
//! in the worker's `plugin.path`. The ABI is described in
//! [`ferry_plugin_abi`] and docs/design.md; [`codec`] is the record
//! encoding both sides share.

pub use ferry_api::*;
pub use ferry_plugin_abi as abi;

pub use async_trait::async_trait;

pub mod codec;
pub mod config_json;
pub mod failure;
pub mod guest;

/// Exports the plugin entry point of a shared library: `$plugins`, an
/// expression of type `Vec<Plugin>`, is evaluated once, when the worker
/// first reads the library's manifest.
#[macro_export]
macro_rules! export_plugin {
    ($plugins:expr $(,)?) => {
        /// The entry point Ferry's worker reads (ABI version first).
        #[unsafe(no_mangle)]
        #[allow(non_upper_case_globals)]
        pub static ferry_plugin_entry: $crate::abi::FerryPluginEntry =
            $crate::abi::FerryPluginEntry {
                abi_version: $crate::abi::ABI_VERSION,
                manifest: __ferry_plugin_manifest,
            };

        extern "C" fn __ferry_plugin_manifest(
            out: *mut *const $crate::abi::FerryManifest,
            err: *mut $crate::abi::FerryError,
        ) -> i32 {
            // SAFETY: the host passes the pointers the ABI describes.
            unsafe { $crate::guest::manifest(out, err, || $plugins) }
        }
    };
}
