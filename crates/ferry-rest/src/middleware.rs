//! Cross-cutting request handling: trailing slashes, request tracing, panics,
//! media types, and JSON bodies for every error.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tracing::Instrument;

use crate::error::{ApiError, ForwardTo, CANNOT_FORWARD};

/// Jersey matches `/connectors/` like `/connectors`; axum does not, so one
/// trailing slash is removed before routing.
pub(crate) async fn strip_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = &path[..path.len() - 1];
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = rebuilt.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// One debug span per request, and one debug line with its outcome.
pub(crate) async fn trace_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let span = tracing::debug_span!("rest", method = %method, path = %uri.path());
    async move {
        let start = Instant::now();
        let response = next.run(req).await;
        let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_ms,
            "{method} {uri}"
        );
        response
    }
    .instrument(span)
    .await
}

/// A panic in a handler (or in herder code it awaits) becomes a 500, as any
/// uncaught exception does in Kafka Connect, instead of a dropped connection.
pub(crate) async fn catch_panics(req: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            tracing::error!("REST request handler panicked: {message}");
            ApiError::internal(message).into_response()
        }
    }
}

fn is_json(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether an `Accept` header lets us answer JSON. Jersey ignores the
/// quality values here, so only the ranges count.
fn accepts_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|range| range.split(';').next())
        .map(|range| range.trim().to_ascii_lowercase())
        .any(|range| range == "*/*" || range == "application/*" || range == "application/json")
}

/// `@Produces(application/json)`: an `Accept` header without a JSON-capable
/// range is a 406. Applied per route, so unknown paths and methods still
/// get their 404 and 405.
pub(crate) async fn produces_json(req: Request, next: Next) -> Response {
    if !accepts_json(req.headers()) {
        return ApiError::http_status(StatusCode::NOT_ACCEPTABLE).into_response();
    }
    next.run(req).await
}

/// `@Consumes(application/json)` plus `@Produces(application/json)`: any
/// `Content-Type` other than JSON is a 415, even on a GET.
pub(crate) async fn consumes_json(req: Request, next: Next) -> Response {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        if !is_json(ct) {
            return ApiError::http_status(StatusCode::UNSUPPORTED_MEDIA_TYPE).into_response();
        }
    }
    produces_json(req, next).await
}

/// Some errors come from axum itself with a plain-text body; every error
/// answer must carry the `{"error_code", "message"}` body.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let has_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(is_json);
    if !is_error || has_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    match body {
        Some(message) => ApiError::new(status, message).into_response(),
        None => ApiError::http_status(status).into_response(),
    }
}

/// Largest request body a worker forwards to another.
const MAX_FORWARDED_BODY: usize = 16 * 1024 * 1024;

/// Sends a request the herder says another worker must serve to that
/// worker, as Kafka Connect's `HerderRequestHandler` does: a user's request
/// may be forwarded twice (`forward=true` on the first hop, `forward=false`
/// on the second); a third hop is a 409.
pub(crate) async fn forward_to_target(
    State(client): State<reqwest::Client>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORWARDED_BODY).await else {
        return ApiError::http_status(StatusCode::PAYLOAD_TOO_LARGE).into_response();
    };
    let response = next
        .run(Request::from_parts(
            parts.clone(),
            Body::from(bytes.clone()),
        ))
        .await;
    let Some(ForwardTo(target)) = response.extensions().get::<ForwardTo>().cloned() else {
        return response;
    };
    let mut query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let forward = query
        .iter()
        .find(|(k, _)| k == "forward")
        .map(|(_, v)| v.eq_ignore_ascii_case("true"));
    if forward == Some(false) {
        return ApiError::new(StatusCode::CONFLICT, CANNOT_FORWARD).into_response();
    }
    query.retain(|(k, _)| k != "forward");
    query.push(("forward".into(), forward.is_none().to_string()));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let url = format!(
        "{}{}?{query}",
        target.trim_end_matches('/'),
        parts.uri.path()
    );
    tracing::debug!(%url, method = %parts.method, "forwarding request");
    let mut outgoing = client.request(parts.method.clone(), &url);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.body(bytes).send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
            let location = answer.headers().get(header::LOCATION).cloned();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            if let Some(ct) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            if let Some(l) = location {
                response.headers_mut().insert(header::LOCATION, l);
            }
            response
        }
        Err(e) => ApiError::internal(format!("IO Error trying to forward REST request: {e}"))
            .into_response(),
    }
}

/// 404 for paths no resource serves.
pub(crate) async fn not_found() -> ApiError {
    ApiError::http_status(StatusCode::NOT_FOUND)
}

/// 405 for a known path with a method it does not serve.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::http_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// A bodiless answer (202, 204) with no content type.
pub(crate) fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn accept_ranges() {
        assert!(accepts_json(&HeaderMap::new()));
        assert!(accepts_json(&accept("application/json")));
        assert!(accepts_json(&accept("text/html, application/*")));
        assert!(accepts_json(&accept("text/html;q=0.5, */*;q=0")));
        assert!(accepts_json(&accept("application/json;q=0")));
        assert!(!accepts_json(&accept("text/html")));
        assert!(!accepts_json(&accept("garbage")));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(&HeaderValue::from_static("application/json")));
        assert!(is_json(&HeaderValue::from_static(
            "application/JSON; charset=UTF-8"
        )));
        assert!(!is_json(&HeaderValue::from_static("application/*")));
        assert!(!is_json(&HeaderValue::from_static("*/*")));
        assert!(!is_json(&HeaderValue::from_static(
            "application/vnd.x+json"
        )));
        assert!(!is_json(&HeaderValue::from_static("text/plain")));
    }

    #[tokio::test]
    async fn trailing_slashes_are_removed_once() {
        async fn path_of(uri: &str) -> String {
            let req = Request::builder()
                .uri(uri)
                .body(Body::empty())
                .expect("request");
            strip_trailing_slash(req).await.uri().to_string()
        }
        assert_eq!(path_of("/connectors/").await, "/connectors");
        assert_eq!(
            path_of("/connectors/c1/status/?x=1").await,
            "/connectors/c1/status?x=1"
        );
        assert_eq!(path_of("/").await, "/");
        assert_eq!(path_of("/connectors").await, "/connectors");
    }
}
