//! The Ferry worker: herders, connector and task lifecycles, the source and
//! sink task loops, and the offset and status stores.

pub mod client_overrides;
pub mod config_providers;
pub mod connector;
pub mod connector_config;
pub mod connector_ops;
pub mod connector_rules;
pub mod distributed;
pub mod entities;
pub mod error_handling;
pub mod errors;
pub mod headers;
pub mod herder;
pub mod native_plugins;
pub mod offset_file;
pub mod offsets;
pub mod plugins;
pub mod properties;
pub mod redact;
pub mod sink_task;
pub mod source_task;
pub mod standalone;
pub mod status;
pub mod task;
pub mod topic_creation;
pub mod worker;
pub mod worker_config;

pub use ferry_api::Props;

/// Connector or worker properties from pairs, for unit tests.
#[cfg(test)]
pub(crate) fn test_props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
pub use herder::{Created, Herder, HerderError, HerderResult, PluginType};

/// The HTTP client a worker calls other workers' REST APIs with: over
/// `https` with `tls` (the worker's own trust and key stores) when given.
pub fn rest_client(
    timeout: std::time::Duration,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().timeout(timeout);
    if let Some(tls) = tls {
        builder = builder.use_preconfigured_tls((**tls).clone());
    }
    builder.build().unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot build the client for other workers' REST APIs");
        reqwest::Client::default()
    })
}
