//! `/connectors` and everything under it.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_runtime::entities::{ConnectorInfo, TaskId};
use ferry_runtime::herder::RequestSignature;
use serde_json::{Map, Value};

use super::{connector_location, to_json, ApiResult, AppState};
use crate::compat;
use crate::error::ApiError;
use crate::extract::{self, JsonBody, PathParams, QueryParams};
use crate::middleware::empty;

type Name = PathParams<String>;
type NameAndTask = PathParams<(String, String)>;

fn task_id(connector: String, task: &str) -> ApiResult<TaskId> {
    let task =
        compat::parse_task_id(task).ok_or_else(|| ApiError::http_status(StatusCode::NOT_FOUND))?;
    Ok(TaskId { connector, task })
}

/// 201 with the connector's `Location`.
fn created(uri: &Uri, headers: &HeaderMap, name: &str, info: ConnectorInfo) -> Response {
    let mut response = (StatusCode::CREATED, Json(info)).into_response();
    if let Some(location) = connector_location(uri, headers, name) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Names, or with `?expand=status|info` a map of name to the expansions.
/// Connectors that disappear meanwhile are left out; unknown expansions are
/// ignored.
pub(crate) async fn list(State(s): State<AppState>, query: QueryParams) -> ApiResult {
    let names = s.call_infallible(s.herder.connectors()).await?;
    if !query.contains("expand") {
        return Ok(Json(names).into_response());
    }
    let expansions: Vec<&str> = query.all("expand").collect();
    let mut out = Map::new();
    'connectors: for name in names {
        let mut entry = Map::new();
        for &expansion in &expansions {
            let value = match expansion {
                "status" => s
                    .call(s.herder.connector_status(&name))
                    .await
                    .and_then(|v| to_json(&v)),
                "info" => s
                    .call(s.herder.connector_info(&name))
                    .await
                    .and_then(|v| to_json(&v)),
                other => {
                    tracing::debug!("Ignoring unknown expansion type {other}");
                    continue;
                }
            };
            match value {
                Ok(v) => {
                    entry.insert(expansion.to_owned(), v);
                }
                Err(e) if e.status() == StatusCode::NOT_FOUND => continue 'connectors,
                Err(e) => return Err(e),
            }
        }
        out.insert(name, Value::Object(entry));
    }
    Ok(Json(out).into_response())
}

pub(crate) async fn create(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let request = extract::create_request(body)?;
    let name = compat::java_trim(request.name.as_deref().unwrap_or("")).to_owned();
    let mut config = request.config.ok_or_else(|| {
        ApiError::bad_request(
            "The connector configuration is missing: the request must carry a \"config\" object",
        )
    })?;
    compat::check_and_put_name(&name, &mut config)?;
    s.reject_invalid_name(&name, &config).await?;
    let result = s
        .call(
            s.herder
                .put_connector_config(&name, config, false, request.initial_state),
        )
        .await?;
    Ok(created(&uri, &headers, &name, result.value))
}

pub(crate) async fn info(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.connector_info(&name)).await?).into_response())
}

pub(crate) async fn delete(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    s.call(s.herder.delete_connector(&name)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Internal: task configs from the worker running the connector, to the
/// leader; signed with the session key (KIP-507).
pub(crate) async fn put_task_configs(
    State(s): State<AppState>,
    PathParams(name): Name,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let signature = match (
        header("X-Connect-Authorization"),
        header("X-Connect-Request-Signature-Algorithm"),
    ) {
        (Some(mac), Some(algorithm)) => Some(RequestSignature { algorithm, mac }),
        _ => None,
    };
    s.call(s.herder.put_task_configs(&name, &body, signature))
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(crate) async fn config(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.connector_config(&name)).await?).into_response())
}

/// Creates (201) or replaces (200) a connector's config.
pub(crate) async fn put_config(
    State(s): State<AppState>,
    PathParams(name): Name,
    uri: Uri,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let pairs = extract::string_pairs(body, "the connector configuration")?
        .ok_or_else(|| extract::missing_body("a JSON object with the connector configuration"))?;
    let mut config = extract::props_from_pairs(pairs);
    compat::check_and_put_name(&name, &mut config)?;
    s.reject_invalid_name(&name, &config).await?;
    let result = s
        .call(s.herder.put_connector_config(&name, config, true, None))
        .await?;
    if result.created {
        Ok(created(&uri, &headers, &name, result.value))
    } else {
        Ok(Json(result.value).into_response())
    }
}

pub(crate) async fn patch_config(
    State(s): State<AppState>,
    PathParams(name): Name,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let patch = extract::config_patch(body)?
        .ok_or_else(|| extract::missing_body("a JSON object with the configuration changes"))?;
    Ok(Json(
        s.call(s.herder.patch_connector_config(&name, patch))
            .await?,
    )
    .into_response())
}

pub(crate) async fn status(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.connector_status(&name)).await?).into_response())
}

/// Both flags false restarts the connector alone (204); otherwise the herder
/// answers with the restart plan (202).
pub(crate) async fn restart(
    State(s): State<AppState>,
    PathParams(name): Name,
    query: QueryParams,
) -> ApiResult {
    let include_tasks = query.bool("includeTasks", false);
    let only_failed = query.bool("onlyFailed", false);
    let plan = s
        .call(
            s.herder
                .restart_connector(&name, include_tasks, only_failed),
        )
        .await?;
    Ok(match plan {
        Some(plan) => (StatusCode::ACCEPTED, Json(plan)).into_response(),
        None => empty(StatusCode::NO_CONTENT),
    })
}

pub(crate) async fn pause(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    s.call(s.herder.pause_connector(&name)).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub(crate) async fn resume(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    s.call(s.herder.resume_connector(&name)).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub(crate) async fn stop(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    s.call(s.herder.stop_connector(&name)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(crate) async fn tasks(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.task_configs(&name)).await?).into_response())
}

/// Deprecated in 3.7 and gone from Kafka Connect 4.x; kept because it costs
/// nothing and older tools still call it. Keys are `<connector>-<task>`.
pub(crate) async fn tasks_config(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    let tasks = s.call(s.herder.task_configs(&name)).await?;
    let mut out = Map::new();
    for task in tasks {
        out.insert(task.id.to_string(), to_json(&task.config)?);
    }
    Ok(Json(out).into_response())
}

pub(crate) async fn task_status(
    State(s): State<AppState>,
    PathParams((name, task)): NameAndTask,
) -> ApiResult {
    let id = task_id(name, &task)?;
    Ok(Json(s.call(s.herder.task_status(&id)).await?).into_response())
}

pub(crate) async fn restart_task(
    State(s): State<AppState>,
    PathParams((name, task)): NameAndTask,
) -> ApiResult {
    let id = task_id(name, &task)?;
    s.call(s.herder.restart_task(&id)).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Topic tracking being disabled is the herder's 403.
pub(crate) async fn topics(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.active_topics(&name)).await?).into_response())
}

pub(crate) async fn reset_topics(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    s.call(s.herder.reset_active_topics(&name)).await?;
    Ok(empty(StatusCode::ACCEPTED))
}

pub(crate) async fn offsets(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.connector_offsets(&name)).await?).into_response())
}

pub(crate) async fn alter_offsets(
    State(s): State<AppState>,
    PathParams(name): Name,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let offsets = extract::connector_offsets(body)?.ok_or_else(|| {
        ApiError::bad_request(
            "Partitions / offsets need to be provided for an alter offsets request",
        )
    })?;
    Ok(Json(
        s.call(s.herder.alter_connector_offsets(&name, offsets))
            .await?,
    )
    .into_response())
}

pub(crate) async fn reset_offsets(State(s): State<AppState>, PathParams(name): Name) -> ApiResult {
    Ok(Json(s.call(s.herder.reset_connector_offsets(&name)).await?).into_response())
}
