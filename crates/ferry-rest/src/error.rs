//! The one error type of the REST layer and its JSON body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_runtime::HerderError;
use serde::Serialize;

/// An error answer: `{"error_code": <status>, "message": "…"}`, as Kafka
/// Connect's `ConnectExceptionMapper` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Another worker must serve the request (see [`ForwardTo`]).
    forward_to: Option<String>,
}

/// Marks a response whose request another worker must serve: the
/// forwarding middleware sends the request there (Kafka Connect's
/// `RequestTargetException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForwardTo(pub String);

/// Kafka Connect's answer when a request cannot be forwarded once more.
pub(crate) const CANNOT_FORWARD: &str =
    "Cannot complete request because of a conflicting operation (e.g. worker rebalance)";

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            forward_to: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The error JAX-RS raises by itself (unknown path, wrong method, media
    /// type), whose message is `HTTP <code> <reason>`.
    pub fn http_status(status: StatusCode) -> Self {
        Self::new(
            status,
            format!("HTTP {} {}", status.as_u16(), jaxrs_reason(status)),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// JAX-RS's reason phrases where they differ from today's RFC wording.
fn jaxrs_reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        _ => status.canonical_reason().unwrap_or("Unknown"),
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        if let HerderError::RequestTarget { url } = e {
            return ApiError {
                status: StatusCode::CONFLICT,
                message: CANNOT_FORWARD.into(),
                forward_to: Some(url),
            };
        }
        let status =
            StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.status.as_u16(),
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(url) = self.forward_to {
            response.extensions_mut().insert(ForwardTo(url));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn herder_errors_keep_their_status_and_message() {
        let e = ApiError::from(HerderError::Conflict("Connector c1 already exists".into()));
        assert_eq!(e.status(), StatusCode::CONFLICT);
        assert_eq!(e.message(), "Connector c1 already exists");
        let e = ApiError::from(HerderError::Unavailable("starting".into()));
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn jaxrs_messages() {
        assert_eq!(
            ApiError::http_status(StatusCode::NOT_FOUND).message(),
            "HTTP 404 Not Found"
        );
        assert_eq!(
            ApiError::http_status(StatusCode::METHOD_NOT_ALLOWED).message(),
            "HTTP 405 Method Not Allowed"
        );
        assert_eq!(
            ApiError::http_status(StatusCode::UNSUPPORTED_MEDIA_TYPE).message(),
            "HTTP 415 Unsupported Media Type"
        );
    }
}
