//! `/admin/loggers`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ApiResult, AppState};
use crate::error::ApiError;
use crate::extract::{self, JsonBody, PathParams, QueryParams};
use crate::logging::{LogLevel, LoggerError};
use crate::middleware::empty;

pub(crate) async fn list(State(s): State<AppState>) -> Response {
    Json(s.loggers.levels()).into_response()
}

pub(crate) async fn get_level(
    State(s): State<AppState>,
    PathParams(name): PathParams<String>,
) -> ApiResult {
    let level = s
        .loggers
        .level(&name)
        .ok_or_else(|| ApiError::not_found(format!("Logger {name} not found.")))?;
    Ok(Json(level).into_response())
}

/// `?scope=worker` (the default, and what any unknown scope means) answers
/// the changed logger names. `?scope=cluster` answers 204; a standalone
/// worker is the whole cluster, so the change is applied here.
pub(crate) async fn set_level(
    State(s): State<AppState>,
    PathParams(name): PathParams<String>,
    query: QueryParams,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let raw = extract::logger_level(body)?.ok_or_else(|| {
        ApiError::bad_request("Desired 'level' parameter was not specified in request.")
    })?;
    let level = LogLevel::parse(&raw)
        .ok_or_else(|| ApiError::not_found(format!("invalid log level '{raw}'.")))?;
    let scope = query.first("scope").unwrap_or("worker");
    if !scope.is_empty()
        && !scope.eq_ignore_ascii_case("worker")
        && !scope.eq_ignore_ascii_case("cluster")
    {
        tracing::warn!("Received invalid scope '{scope}' in request to adjust logging level; will default to worker");
    }
    let changed = s.loggers.set_level(&name, level).map_err(|e| match e {
        LoggerError::TooManyLoggers { .. } => ApiError::bad_request(e.to_string()),
        LoggerError::Reload(_) => ApiError::internal(e.to_string()),
    })?;
    if scope.eq_ignore_ascii_case("cluster") {
        Ok(empty(StatusCode::NO_CONTENT))
    } else {
        Ok(Json(changed).into_response())
    }
}
