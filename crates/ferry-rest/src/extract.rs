//! Request extractors and the decoding of request bodies into the shapes
//! Kafka Connect's resources take.
//!
//! Kafka Connect reads bodies with a plain Jackson provider: a malformed or
//! mistyped body is an unmapped exception, hence a 500 carrying Jackson's
//! message. The same statuses are kept here, with messages of our own.
//! Scalars are accepted where strings are expected (Jackson coerces them).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use ferry_runtime::entities::{ConnectorOffset, ConnectorOffsets, TargetState};
use ferry_runtime::Props;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::compat;
use crate::error::ApiError;

/// A JSON object's members in request order; `None` for a `null` value.
pub(crate) type Pairs = Vec<(String, Option<String>)>;

/// A JSON request body; `Value::Null` when the body is empty, as Jackson
/// hands a resource `null` for one.
pub(crate) struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // A wrong Content-Type was refused before the handler; a missing one
        // makes Jersey read the body as octet-stream, which no JSON resource
        // accepts.
        let has_content_type = req.headers().contains_key(header::CONTENT_TYPE);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            ApiError::new(status, rejection.body_text())
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Value::Null));
        }
        if !has_content_type {
            return Err(ApiError::http_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::internal(format!("Cannot parse the request body as JSON: {e}")))
    }
}

/// Percent-decoded path parameters; a parameter that does not decode is a
/// 404, as JAX-RS answers for a path parameter it cannot convert.
pub(crate) struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| PathParams(v))
            .map_err(|_| ApiError::http_status(StatusCode::NOT_FOUND))
    }
}

/// The decoded query parameters, in order, repeats kept.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// The first value, as JAX-RS `@QueryParam` takes it.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    pub fn bool(&self, name: &str, default: bool) -> bool {
        compat::query_bool(self.first(name), default)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| QueryParams(pairs))
            .map_err(|e| ApiError::bad_request(format!("Invalid query string: {}", e.body_text())))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shape_error(what: &str, expected: &str, found: &Value) -> ApiError {
    ApiError::internal(format!(
        "Cannot deserialize {what}: expected {expected}, found {}",
        kind(found)
    ))
}

/// A string where Jackson would take one: strings, numbers and booleans as
/// their text, `null` as absent.
fn scalar_string(v: Value, what: &str) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(shape_error(what, "a string", &other)),
    }
}

/// The error for a request whose required body is empty or `null`.
pub(crate) fn missing_body(expected: &str) -> ApiError {
    ApiError::bad_request(format!("The request body is missing; expected {expected}"))
}

/// A JSON object of strings (`Map<String, String>`), in request order;
/// `null` values stay as `None`. `Ok(None)` for an empty or `null` body.
pub(crate) fn string_pairs(body: Value, what: &str) -> Result<Option<Pairs>, ApiError> {
    match body {
        Value::Null => Ok(None),
        Value::Object(map) => object_pairs(map, what).map(Some),
        other => Err(shape_error(what, "a JSON object of strings", &other)),
    }
}

fn object_pairs(map: Map<String, Value>, what: &str) -> Result<Pairs, ApiError> {
    map.into_iter()
        .map(|(k, v)| {
            let value = scalar_string(v, &format!("the value of \"{k}\" in {what}"))?;
            Ok((k, value))
        })
        .collect()
}

/// Keys with a `null` value are left out: a config cannot hold a null.
pub(crate) fn props_from_pairs(pairs: Pairs) -> Props {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// `CreateConnectorRequest`.
#[derive(Debug, Default)]
pub(crate) struct CreateRequest {
    pub name: Option<String>,
    pub config: Option<Props>,
    pub initial_state: Option<TargetState>,
}

const CREATE_FIELDS: &str = "\"name\", \"config\", \"initial_state\"";

pub(crate) fn create_request(body: Value) -> Result<CreateRequest, ApiError> {
    let map = match body {
        Value::Null => return Ok(CreateRequest::default()),
        Value::Object(map) => map,
        other => {
            return Err(shape_error(
                "the create connector request",
                "a JSON object",
                &other,
            ))
        }
    };
    let mut req = CreateRequest::default();
    for (key, value) in map {
        match key.as_str() {
            "name" => req.name = scalar_string(value, "\"name\"")?,
            "config" => {
                req.config = match value {
                    Value::Null => None,
                    Value::Object(map) => Some(props_from_pairs(object_pairs(map, "\"config\"")?)),
                    other => return Err(shape_error("\"config\"", "a JSON object of strings", &other)),
                }
            }
            "initial_state" => {
                req.initial_state = match scalar_string(value, "\"initial_state\"")? {
                    None => None,
                    Some(s) => Some(TargetState::parse_initial(&s).ok_or_else(|| {
                        ApiError::internal(format!(
                            "Cannot deserialize \"initial_state\": \"{s}\" is not one of RUNNING, PAUSED, STOPPED"
                        ))
                    })?),
                }
            }
            other => {
                return Err(ApiError::internal(format!(
                    "Unrecognized field \"{other}\" in the create connector request (known fields: {CREATE_FIELDS})"
                )))
            }
        }
    }
    Ok(req)
}

/// A config patch: `null` deletes the key.
pub(crate) fn config_patch(
    body: Value,
) -> Result<Option<BTreeMap<String, Option<String>>>, ApiError> {
    Ok(string_pairs(body, "the connector configuration patch")?
        .map(|pairs| pairs.into_iter().collect()))
}

/// `ConnectorOffsets`; `Ok(None)` when the list is absent or empty, which
/// Kafka Connect answers with the same 400.
pub(crate) fn connector_offsets(body: Value) -> Result<Option<ConnectorOffsets>, ApiError> {
    let map = match body {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        other => return Err(shape_error("the offsets request", "a JSON object", &other)),
    };
    let mut list = None;
    for (key, value) in map {
        match key.as_str() {
            "offsets" => list = Some(value),
            other => {
                return Err(ApiError::internal(format!(
                "Unrecognized field \"{other}\" in the offsets request (known field: \"offsets\")"
            )))
            }
        }
    }
    let items = match list {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(shape_error("\"offsets\"", "an array", &other)),
    };
    if items.is_empty() {
        return Ok(None);
    }
    let offsets = items
        .into_iter()
        .map(connector_offset)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ConnectorOffsets { offsets }))
}

fn connector_offset(item: Value) -> Result<ConnectorOffset, ApiError> {
    let map = match item {
        Value::Object(map) => map,
        other => {
            return Err(shape_error(
                "an entry of \"offsets\"",
                "a JSON object",
                &other,
            ))
        }
    };
    let mut partition = None;
    let mut offset = None;
    for (key, value) in map {
        let slot = match key.as_str() {
            "partition" => &mut partition,
            "offset" => &mut offset,
            other => {
                return Err(ApiError::internal(format!(
                    "Unrecognized field \"{other}\" in an offset entry (known fields: \"partition\", \"offset\")"
                )))
            }
        };
        *slot = match value {
            Value::Null => None,
            Value::Object(m) => Some(m),
            other => return Err(shape_error(&format!("\"{key}\""), "a JSON object", &other)),
        };
    }
    // The entity has no room for a missing partition; the sink check that
    // Kafka Connect runs later would refuse it with this 400 anyway.
    let partition = partition.ok_or_else(|| {
        ApiError::bad_request("The partition for a connector offset cannot be null or missing")
    })?;
    Ok(ConnectorOffset { partition, offset })
}

/// The `level` of a logger update; `Ok(None)` when absent or `null`.
pub(crate) fn logger_level(body: Value) -> Result<Option<String>, ApiError> {
    let pairs = string_pairs(body, "the logger level request")?.unwrap_or_default();
    Ok(pairs
        .into_iter()
        .find(|(k, _)| k == "level")
        .and_then(|(_, v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_maps_coerce_scalars() {
        let pairs = string_pairs(json!({"b": 1, "a": true, "c": null, "d": "x"}), "config")
            .expect("valid")
            .expect("present");
        assert_eq!(
            pairs,
            vec![
                ("b".to_owned(), Some("1".to_owned())),
                ("a".to_owned(), Some("true".to_owned())),
                ("c".to_owned(), None),
                ("d".to_owned(), Some("x".to_owned())),
            ]
        );
        let err = string_pairs(json!({"a": {}}), "config").expect_err("nested object");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(err.message().contains("\"a\""), "{}", err.message());
        assert!(string_pairs(json!([]), "config").is_err());
        assert!(matches!(string_pairs(Value::Null, "config"), Ok(None)));
    }

    #[test]
    fn create_requests() {
        let req = create_request(
            json!({"name": 5, "config": {"a": 1, "n": null}, "initial_state": "stopped"}),
        )
        .expect("valid");
        assert_eq!(req.name.as_deref(), Some("5"));
        assert_eq!(
            req.config,
            Some(Props::from([("a".to_owned(), "1".to_owned())]))
        );
        assert_eq!(req.initial_state, Some(TargetState::Stopped));
        let err = create_request(json!({"name": "x", "config": {}, "foo": 1}))
            .expect_err("unknown field");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(err.message().contains("\"foo\""));
        let err =
            create_request(json!({"name": "x", "initial_state": "foo"})).expect_err("bad state");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let req = create_request(json!({"name": "x", "initial_state": null})).expect("null state");
        assert_eq!(req.initial_state, None);
        assert!(req.config.is_none());
    }

    #[test]
    fn offsets_requests() {
        assert!(matches!(connector_offsets(json!({})), Ok(None)));
        assert!(matches!(
            connector_offsets(json!({"offsets": []})),
            Ok(None)
        ));
        assert!(matches!(connector_offsets(Value::Null), Ok(None)));
        let offsets = connector_offsets(json!({"offsets": [
            {"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 5}},
            {"partition": {"file": "a"}, "offset": null},
            {"partition": {"file": "b"}}
        ]}))
        .expect("valid")
        .expect("present");
        assert_eq!(offsets.offsets.len(), 3);
        assert!(offsets.offsets[1].offset.is_none());
        assert!(offsets.offsets[2].offset.is_none());
        let err =
            connector_offsets(json!({"offsets": [{"offset": {}}]})).expect_err("no partition");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        let err = connector_offsets(json!({"offsets": [], "x": 1})).expect_err("unknown field");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn logger_levels() {
        assert_eq!(
            logger_level(json!({"level": "debug"}))
                .expect("ok")
                .as_deref(),
            Some("debug")
        );
        assert_eq!(
            logger_level(json!({"level": 5})).expect("ok").as_deref(),
            Some("5")
        );
        assert_eq!(logger_level(json!({})).expect("ok"), None);
        assert_eq!(logger_level(json!({"level": null})).expect("ok"), None);
        assert_eq!(logger_level(Value::Null).expect("ok"), None);
        assert!(logger_level(json!({"level": ["x"]})).is_err());
    }
}
