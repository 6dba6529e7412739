//! Ferry's REST API: Kafka Connect's endpoints, status codes and error bodies
//! on axum, over the runtime's [`Herder`].
//!
//! Every error answer is `{"error_code": <status>, "message": "…"}`,
//! including unknown paths (404) and wrong methods (405). Paths accept one
//! trailing slash; path parameters are percent-decoded (`%2F` included).
//! Herder operations time out after 90 s (`/health` after 10 s).
//!
//! Where Kafka Connect 4.3 answers a client mistake with a 500 (from a
//! `NullPointerException`, or a wrapped `BadRequestException`), Ferry
//! answers 400 with a message naming the problem: an empty body where an
//! object is required, a create request without `config`, a validate
//! request without `connector.class`. Other
//! differences: `%2F` in a connector name is accepted (Jetty refuses it),
//! `Location` escapes `/` and `;` in the name, `OPTIONS` is a 405, and the
//! removed `GET /connectors/{c}/tasks-config` is still served.

pub mod auth;
mod compat;
mod error;
mod extract;
mod listeners;
pub mod logging;
mod middleware;
mod routes;
mod server;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ferry_runtime::Herder;

pub use auth::{AuthError, BasicAuth, BASIC_AUTH_EXTENSION};
pub use compat::{connector_type_matches, query_bool, validate_connector_name};
pub use error::ApiError;
pub use listeners::{parse_listener_urls, parse_listeners, Listener, ListenerError};
pub use logging::{LogLevel, LoggerControl, LoggerError, TracingLoggers, ROOT_LOGGER};
pub use server::{serve, serve_tls, ConnectionLimits};

/// Kafka Connect's `ConnectorsResource.REQUEST_TIMEOUT_MS`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a forwarded request may take (the other worker applies its
/// own request timeout within it).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);
/// Kafka Connect's health check timeout.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// The REST server's configuration; [`RestServer::router`] builds the app.
#[derive(Clone)]
pub struct RestServer {
    herder: Arc<dyn Herder>,
    loggers: Arc<dyn LoggerControl>,
    admin_on_main: bool,
    request_timeout: Duration,
    health_timeout: Duration,
    auth: Option<Arc<BasicAuth>>,
    forwarding_tls: Option<Arc<rustls::ClientConfig>>,
}

impl RestServer {
    pub fn new(herder: Arc<dyn Herder>, loggers: Arc<dyn LoggerControl>) -> Self {
        RestServer {
            herder,
            loggers,
            admin_on_main: true,
            auth: None,
            forwarding_tls: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            health_timeout: DEFAULT_HEALTH_TIMEOUT,
        }
    }

    /// Leaves `/admin/loggers` off the main router: `admin.listeners` is set
    /// (serve [`RestServer::admin_router`] there) or empty (served nowhere).
    pub fn without_admin(mut self) -> Self {
        self.admin_on_main = false;
        self
    }

    /// Requires HTTP Basic credentials of `auth`'s users on every request
    /// but the workers' internal ones.
    pub fn basic_auth(mut self, auth: Option<Arc<BasicAuth>>) -> Self {
        self.auth = auth;
        self
    }

    /// Forwards requests to other workers over `https` with `tls`.
    pub fn forwarding_tls(mut self, tls: Option<Arc<rustls::ClientConfig>>) -> Self {
        self.forwarding_tls = tls;
        self
    }

    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    fn state(&self) -> routes::AppState {
        routes::AppState {
            herder: Arc::clone(&self.herder),
            loggers: Arc::clone(&self.loggers),
            request_timeout: self.request_timeout,
            health_timeout: self.health_timeout,
            forward_client: ferry_runtime::rest_client(
                FORWARD_TIMEOUT,
                self.forwarding_tls.as_ref(),
            ),
        }
    }

    /// The main listener's app.
    pub fn router(&self) -> Router {
        routes::build(self.state(), true, self.admin_on_main, self.auth.clone())
    }

    /// `/admin/loggers` alone, for `admin.listeners`.
    pub fn admin_router(&self) -> Router {
        routes::build(self.state(), false, true, self.auth.clone())
    }
}

/// The main listener's app with the defaults (admin endpoints included).
pub fn router(herder: Arc<dyn Herder>, loggers: Arc<dyn LoggerControl>) -> Router {
    RestServer::new(herder, loggers).router()
}
