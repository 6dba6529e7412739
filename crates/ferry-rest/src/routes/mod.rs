//! The route table and the state the handlers share.

mod admin;
mod connectors;
mod plugins;
mod root;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::routing::{get, put, MethodRouter};
use axum::{middleware as mw, Router};
use ferry_runtime::{Herder, HerderResult, Props};
use serde::Serialize;
use tower::Layer;

use crate::auth::BasicAuth;
use crate::compat;
use crate::error::ApiError;
use crate::logging::LoggerControl;
use crate::middleware;

#[derive(Clone)]
pub(crate) struct AppState {
    pub herder: Arc<dyn Herder>,
    pub loggers: Arc<dyn LoggerControl>,
    pub request_timeout: Duration,
    pub health_timeout: Duration,
    /// Forwards requests to other workers (over `https` with the worker's
    /// trust and key stores when the cluster speaks it).
    pub forward_client: reqwest::Client,
}

pub(crate) type ApiResult<T = axum::response::Response> = Result<T, ApiError>;

impl AppState {
    /// Runs a herder operation under the request timeout. Kafka Connect adds
    /// the herder's current stage to this message when it knows one.
    pub async fn call<T>(&self, op: impl Future<Output = HerderResult<T>>) -> ApiResult<T> {
        self.call_infallible(op).await?.map_err(ApiError::from)
    }

    pub async fn call_infallible<T>(&self, op: impl Future<Output = T>) -> ApiResult<T> {
        tokio::time::timeout(self.request_timeout, op)
            .await
            .map_err(|_| ApiError::internal("Request timed out"))
    }

    /// Refuses an invalid connector name before a create or update, with the
    /// answer Kafka Connect's validation gives: the name error first, then
    /// whatever else the herder finds in the same config.
    pub async fn reject_invalid_name(&self, name: &str, config: &Props) -> ApiResult<()> {
        let Err(name_error) = compat::validate_connector_name(name) else {
            return Ok(());
        };
        let infos = self
            .call(self.herder.validate_connector_config(config.clone()))
            .await?;
        let mut errors = vec![name_error];
        errors.extend(
            infos
                .configs
                .iter()
                .filter_map(|c| c.value.as_ref())
                .filter(|v| v.name != "name")
                .flat_map(|v| v.errors.iter().cloned()),
        );
        Err(ApiError::bad_request(compat::invalid_config_message(
            &errors,
        )))
    }
}

/// Serializes an entity into a JSON value (for composite answers).
pub(crate) fn to_json<T: Serialize>(value: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| ApiError::internal(format!("Cannot serialize the response: {e}")))
}

/// The `Location` of a created connector. JAX-RS makes it absolute against
/// the request's base URI; without a usable host it stays relative.
pub(crate) fn connector_location(
    uri: &Uri,
    headers: &HeaderMap,
    name: &str,
) -> Option<HeaderValue> {
    let path = format!("/connectors/{}", compat::encode_path_segment(name));
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h.parse::<axum::http::uri::Authority>().is_ok())
            .map(str::to_owned)
    });
    let location = match host {
        Some(host) => format!("http://{host}{path}"),
        None => path,
    };
    HeaderValue::from_str(&location).ok()
}

/// Resources that consume and produce JSON (`/connectors`, plugins, admin).
fn json(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(mw::from_fn(middleware::consumes_json))
}

/// Resources that only produce JSON (`/`, `/health`).
fn produces(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(mw::from_fn(middleware::produces_json))
}

fn api_routes() -> Router<AppState> {
    use connectors as c;
    Router::new()
        .route("/", produces(get(root::server_info)))
        .route("/health", produces(get(root::health)))
        .route("/connectors", json(get(c::list).post(c::create)))
        .route(
            "/connectors/{connector}",
            json(get(c::info).delete(c::delete)),
        )
        .route(
            "/connectors/{connector}/config",
            json(get(c::config).put(c::put_config).patch(c::patch_config)),
        )
        .route("/connectors/{connector}/status", json(get(c::status)))
        .route(
            "/connectors/{connector}/restart",
            json(axum::routing::post(c::restart)),
        )
        .route("/connectors/{connector}/pause", json(put(c::pause)))
        .route("/connectors/{connector}/resume", json(put(c::resume)))
        .route("/connectors/{connector}/stop", json(put(c::stop)))
        .route(
            "/connectors/{connector}/tasks",
            json(get(c::tasks).post(c::put_task_configs)),
        )
        .route(
            "/connectors/{connector}/tasks-config",
            json(get(c::tasks_config)),
        )
        .route(
            "/connectors/{connector}/tasks/{task}/status",
            json(get(c::task_status)),
        )
        .route(
            "/connectors/{connector}/tasks/{task}/restart",
            json(axum::routing::post(c::restart_task)),
        )
        .route("/connectors/{connector}/topics", json(get(c::topics)))
        .route(
            "/connectors/{connector}/topics/reset",
            json(put(c::reset_topics)),
        )
        .route(
            "/connectors/{connector}/offsets",
            json(
                get(c::offsets)
                    .patch(c::alter_offsets)
                    .delete(c::reset_offsets),
            ),
        )
        .route("/connector-plugins", json(get(plugins::list)))
        .route(
            "/connector-plugins/{plugin}/config",
            json(get(plugins::config)),
        )
        .route(
            "/connector-plugins/{plugin}/config/validate",
            json(put(plugins::validate)),
        )
}

fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/loggers", json(get(admin::list)))
        .route(
            "/admin/loggers/{logger}",
            json(get(admin::get_level).put(admin::set_level)),
        )
}

/// Adds the 404/405 answers and the middleware, and makes the router accept
/// one trailing slash on every path.
fn finish(routes: Router<AppState>, state: AppState, auth: Option<Arc<BasicAuth>>) -> Router {
    let mut inner: Router<AppState> = routes
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(mw::from_fn(middleware::json_errors))
        .layer(mw::from_fn_with_state(
            state.forward_client.clone(),
            middleware::forward_to_target,
        ))
        .layer(mw::from_fn(middleware::catch_panics));
    // Before anything is forwarded or run; traced, so refusals show.
    if let Some(auth) = auth {
        inner = inner.layer(mw::from_fn_with_state(auth, crate::auth::authenticate));
    }
    let inner: Router = inner
        .layer(mw::from_fn(middleware::trace_request))
        .with_state(state);
    // Rewriting the path has to happen before routing, so it wraps the
    // finished router instead of being one of its layers.
    let service = mw::map_request(middleware::strip_trailing_slash).layer(inner);
    Router::new().fallback_service(service)
}

pub(crate) fn build(
    state: AppState,
    api: bool,
    admin: bool,
    auth: Option<Arc<BasicAuth>>,
) -> Router {
    let mut routes = Router::new();
    if api {
        routes = routes.merge(api_routes());
    }
    if admin {
        routes = routes.merge(admin_routes());
    }
    finish(routes, state, auth)
}
