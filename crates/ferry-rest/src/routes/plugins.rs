//! `/connector-plugins`.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api::config::ConfigType;
use ferry_runtime::{redact, PluginType};

use super::{ApiResult, AppState};
use crate::compat;
use crate::error::ApiError;
use crate::extract::{self, JsonBody, PathParams, QueryParams};

/// Kafka Connect's listing order.
const ALL_TYPES: [PluginType; 6] = [
    PluginType::Sink,
    PluginType::Source,
    PluginType::Transformation,
    PluginType::Predicate,
    PluginType::Converter,
    PluginType::HeaderConverter,
];

pub(crate) async fn list(State(s): State<AppState>, query: QueryParams) -> Response {
    let types: &[PluginType] = if query.bool("connectorsOnly", true) {
        &ALL_TYPES[..2]
    } else {
        &ALL_TYPES
    };
    Json(s.herder.plugins(types)).into_response()
}

pub(crate) async fn config(
    State(s): State<AppState>,
    PathParams(plugin): PathParams<String>,
) -> ApiResult {
    Ok(Json(s.herder.plugin_config(&plugin)?).into_response())
}

/// Validation errors are part of a 200 answer; only a missing or mismatched
/// `connector.class` is refused here.
pub(crate) async fn validate(
    State(s): State<AppState>,
    PathParams(plugin): PathParams<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let pairs = extract::string_pairs(body, "the connector configuration")?
        .ok_or_else(|| extract::missing_body("a JSON object with the connector configuration"))?;
    let class = pairs
        .iter()
        .find(|(k, _)| k == "connector.class")
        .and_then(|(_, v)| v.as_deref());
    match class {
        None => {
            // Kafka Connect echoes the config here, passwords included;
            // Ferry hides them.
            let shown = hide_passwords(&s, pairs);
            return Err(ApiError::bad_request(format!(
                "Connector config {} contains no connector type",
                compat::java_map_to_string(&shown)
            )));
        }
        Some(class) if !compat::connector_type_matches(class, &plugin) => {
            return Err(ApiError::bad_request(format!(
                "Included connector type {class} does not match request type {plugin}"
            )))
        }
        Some(_) => {}
    }
    let config = extract::props_from_pairs(pairs);
    Ok(Json(s.call(s.herder.validate_connector_config(config)).await?).into_response())
}

/// `pairs` with the values of password keys replaced by `[hidden]`: keys of
/// type PASSWORD in any connector plugin (the config names none), and
/// Kafka client passwords under the override prefixes.
fn hide_passwords(
    s: &AppState,
    pairs: Vec<(String, Option<String>)>,
) -> Vec<(String, Option<String>)> {
    let connectors = s.herder.plugins(&[PluginType::Source, PluginType::Sink]);
    let passwords: BTreeSet<String> = connectors
        .iter()
        .filter_map(|p| s.herder.plugin_config(&p.class_name).ok())
        .flatten()
        .filter(|k| k.config_type == ConfigType::Password.name())
        .map(|k| k.name)
        .collect();
    pairs
        .into_iter()
        .map(|(k, v)| {
            if passwords.contains(&k) || redact::is_client_password_key(&k) {
                (k, v.map(|_| redact::HIDDEN.to_owned()))
            } else {
                (k, v)
            }
        })
        .collect()
}
