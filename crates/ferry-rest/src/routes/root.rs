//! `GET /` and `GET /health`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_runtime::HerderError;
use serde::Serialize;

use super::{ApiResult, AppState};

pub(crate) async fn server_info(State(s): State<AppState>) -> ApiResult {
    let info = s.call(s.herder.server_info()).await?;
    Ok(Json(info).into_response())
}

/// `WorkerStatus` (KIP-1017).
#[derive(Serialize)]
struct WorkerStatus {
    status: &'static str,
    message: String,
}

const HEALTHY: &str = "Worker has completed startup and is ready to handle requests.";
const STARTING: &str = "Worker is still starting up.";
const UNHEALTHY: &str =
    "Worker was unable to handle this request and may be unable to handle other requests.";

/// Kafka Connect's fixed text, followed by the herder's details unless the
/// herder already wrote the whole message.
fn with_details(fixed: &str, details: &str) -> String {
    let details = details.trim();
    if details.is_empty() {
        fixed.to_owned()
    } else if details.starts_with(fixed) {
        details.to_owned()
    } else {
        format!("{fixed} {details}")
    }
}

pub(crate) async fn health(State(s): State<AppState>) -> Response {
    let outcome = tokio::time::timeout(s.health_timeout, s.herder.health()).await;
    let (status, body) = match outcome {
        Ok(Ok(_)) => (
            StatusCode::OK,
            WorkerStatus {
                status: "healthy",
                message: HEALTHY.to_owned(),
            },
        ),
        Ok(Err(HerderError::Unavailable(details))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            WorkerStatus {
                status: "starting",
                message: with_details(STARTING, &details),
            },
        ),
        Ok(Err(other)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            WorkerStatus {
                status: "unhealthy",
                message: with_details(UNHEALTHY, &other.to_string()),
            },
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            WorkerStatus {
                status: "unhealthy",
                message: UNHEALTHY.to_owned(),
            },
        ),
    };
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_messages() {
        assert_eq!(with_details(STARTING, ""), STARTING);
        assert_eq!(
            with_details(STARTING, "The worker is currently reading the config topic"),
            "Worker is still starting up. The worker is currently reading the config topic"
        );
        assert_eq!(with_details(STARTING, STARTING), STARTING);
    }
}
