//! HTTP Basic authentication of the REST API, as Kafka Connect's
//! `BasicAuthSecurityRestExtension` does it: the JAAS file's `KafkaConnect`
//! entry names `PropertyFileLoginModule` and its `file=` of `user: password`
//! lines, every request needs `Authorization: Basic …` of one of them, and
//! the workers' internal requests (task configs and fencing, which carry
//! their own signature) need none.
//!
//! Ferry adds what the extension lacks: a password may be a bcrypt hash
//! (`$2b$…`, as `htpasswd -B` writes it), and users named in
//! `rest.basic.auth.read.only.users` may only read (`GET`, `HEAD`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ferry_security::JaasModule;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::error::ApiError;

pub use ferry_runtime::worker_config::BASIC_AUTH_EXTENSION;
const LOGIN_MODULE: &str =
    "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule";
/// The JAAS entry Kafka Connect's extension logs in with.
const JAAS_ENTRY: &str = "KafkaConnect";
/// Kafka Connect's answer to a request without valid credentials.
const UNAUTHORIZED: &str = "User cannot access the resource.";

/// Why the authentication settings cannot be used.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("cannot read the JAAS file {path}: {source}")]
    JaasFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the JAAS file {path} has no {JAAS_ENTRY} {{ … }}; entry")]
    NoEntry { path: PathBuf },
    #[error("the {JAAS_ENTRY} entry of {path}: {reason}")]
    Entry { path: PathBuf, reason: String },
    #[error("cannot read the credentials file {path}: {source}")]
    Credentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the credentials file {path} has no user")]
    NoUsers { path: PathBuf },
    #[error("rest.basic.auth.read.only.users names {user}, who is not in {path}")]
    UnknownReadOnlyUser { user: String, path: PathBuf },
}

enum Password {
    Plain(String),
    Bcrypt(String),
}

/// The users and what they may do.
pub struct BasicAuth {
    users: HashMap<String, Password>,
    read_only: BTreeSet<String>,
    /// SHA-256 of user, password and hash for credentials a bcrypt check
    /// accepted: the check costs tens of milliseconds, each request would
    /// pay it.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// A bcrypt hash of the file's cost, checked for unknown users.
    unknown_user_hash: Option<String>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("users", &self.users.len())
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl BasicAuth {
    /// Reads the JAAS file's `KafkaConnect` entry and its credentials file.
    pub fn from_jaas_file(
        jaas: &Path,
        read_only: impl IntoIterator<Item = String>,
    ) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(jaas).map_err(|source| AuthError::JaasFile {
            path: jaas.to_owned(),
            source,
        })?;
        let text = strip_comments(&text);
        let body = jaas_entry(&text, JAAS_ENTRY).ok_or_else(|| AuthError::NoEntry {
            path: jaas.to_owned(),
        })?;
        let entry_error = |reason: String| AuthError::Entry {
            path: jaas.to_owned(),
            reason,
        };
        let module = JaasModule::parse(body).map_err(|e| entry_error(e.to_string()))?;
        if module.class != LOGIN_MODULE {
            return Err(entry_error(format!(
                "the login module is {}; Ferry reads {LOGIN_MODULE}",
                module.class
            )));
        }
        let file = module
            .option("file")
            .ok_or_else(|| entry_error(format!("{LOGIN_MODULE} needs file=\"…\"")))?;
        let file = PathBuf::from(file);
        let credentials =
            std::fs::read_to_string(&file).map_err(|source| AuthError::Credentials {
                path: file.clone(),
                source,
            })?;
        let users: HashMap<String, Password> =
            ferry_runtime::properties::parse_properties(&credentials)
                .into_iter()
                .map(|(user, password)| {
                    let password = if ["$2a$", "$2b$", "$2y$"]
                        .iter()
                        .any(|p| password.starts_with(p))
                    {
                        Password::Bcrypt(password)
                    } else {
                        Password::Plain(password)
                    };
                    (user, password)
                })
                .collect();
        if users.is_empty() {
            return Err(AuthError::NoUsers { path: file });
        }
        let read_only: BTreeSet<String> = read_only.into_iter().collect();
        if let Some(user) = read_only.iter().find(|u| !users.contains_key(*u)) {
            return Err(AuthError::UnknownReadOnlyUser {
                user: user.clone(),
                path: file,
            });
        }
        // An unknown user costs what a user with a bcrypt password does,
        // so answer times do not tell which names exist.
        let unknown_user_hash = users
            .values()
            .find_map(|p| match p {
                Password::Bcrypt(h) => h.get(4..6).and_then(|c| c.parse::<u32>().ok()),
                Password::Plain(_) => None,
            })
            .and_then(|cost| bcrypt::hash("not a password", cost).ok());
        Ok(BasicAuth {
            users,
            read_only,
            verified: Mutex::new(HashSet::new()),
            unknown_user_hash,
        })
    }

    /// The user of a request's `Authorization` header, if its password is
    /// right.
    fn user(&self, authorization: Option<&HeaderValue>) -> Option<String> {
        let value = authorization?.to_str().ok()?;
        let (scheme, encoded) = value.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = BASE64.decode(encoded.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        let Some(known) = self.users.get(user) else {
            if let Some(hash) = &self.unknown_user_hash {
                let _ = bcrypt::verify(password, hash);
            }
            return None;
        };
        let ok = match known {
            Password::Plain(expected) => constant_time_eq(expected.as_bytes(), password.as_bytes()),
            Password::Bcrypt(hash) => {
                let key: [u8; 32] = Sha256::new()
                    .chain_update(user)
                    .chain_update([0])
                    .chain_update(password)
                    .chain_update([0])
                    .chain_update(hash)
                    .finalize()
                    .into();
                let known = self.verified.lock().is_ok_and(|v| v.contains(&key));
                known || {
                    let ok = bcrypt::verify(password, hash).unwrap_or(false);
                    if ok {
                        if let Ok(mut v) = self.verified.lock() {
                            v.insert(key);
                        }
                    }
                    ok
                }
            }
        };
        ok.then(|| user.to_owned())
    }
}

/// `text` without `//` and `/* */` comments (outside quoted values), as
/// Java's JAAS configuration parser reads it.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) => {
                out.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '/') if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            (None, '/') if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for n in chars.by_ref() {
                    if last == '*' && n == '/' {
                        break;
                    }
                    last = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The body of `name { … };` in a JAAS configuration file.
fn jaas_entry<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = text;
    loop {
        let at = rest.find(name)?;
        let before_ok = at == 0
            || rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || c == ';' || c == '}');
        let after = rest[at + name.len()..].trim_start();
        if before_ok && after.starts_with('{') {
            let open = rest.len() - after.len();
            let close = rest[open..].find('}')? + open;
            return Some(rest[open + 1..close].trim());
        }
        rest = &rest[at + name.len()..];
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The workers' internal requests, which prove themselves with the
/// session key's signature (checked by the herder) instead of a user.
fn is_internal(method: &Method, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        (method, segments.as_slice()),
        (&Method::POST, ["connectors", _, "tasks"]) | (&Method::PUT, ["connectors", _, "fence"])
    )
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = ApiError::new(status, message).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Kafka Connect\""),
        );
    }
    response
}

/// Lets through requests of known users (reads only, for read-only users)
/// and the workers' internal requests; answers 401 or 403 otherwise.
pub(crate) async fn authenticate(
    State(auth): State<Arc<BasicAuth>>,
    req: Request,
    next: Next,
) -> Response {
    if is_internal(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let Some(user) = auth.user(req.headers().get(header::AUTHORIZATION)) else {
        return refuse(StatusCode::UNAUTHORIZED, UNAUTHORIZED);
    };
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    if !reads && auth.read_only.contains(&user) {
        return refuse(
            StatusCode::FORBIDDEN,
            &format!("User {user} may only read (rest.basic.auth.read.only.users)"),
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jaas_entry_and_the_credentials_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let users = dir.path().join("users.properties");
        let hash = bcrypt::hash("viewer-secret", 4).expect("hash");
        std::fs::write(&users, format!("admin: admin-secret\nviewer={hash}\n")).expect("users");
        let jaas = dir.path().join("jaas.conf");
        std::fs::write(
            &jaas,
            format!(
                "// Kafka Connect's basic authentication\n/* KafkaConnect {{ {LOGIN_MODULE} required file=\"/old/users\"; }}; */\nKafkaClient {{ x required; }};\nKafkaConnect {{\n  {LOGIN_MODULE} required // the users\n  file=\"{}\";\n}};\n",
                users.display()
            ),
        )
        .expect("jaas");
        let auth = BasicAuth::from_jaas_file(&jaas, ["viewer".to_string()]).expect("valid");
        let basic = |u: &str, p: &str| {
            HeaderValue::from_str(&format!("Basic {}", BASE64.encode(format!("{u}:{p}"))))
                .expect("header")
        };
        assert_eq!(
            auth.user(Some(&basic("admin", "admin-secret"))).as_deref(),
            Some("admin")
        );
        assert_eq!(auth.user(Some(&basic("admin", "admin-secreT"))), None);
        assert_eq!(
            auth.user(Some(&basic("viewer", "viewer-secret")))
                .as_deref(),
            Some("viewer")
        );
        // Again, from the cache of checked hashes.
        assert_eq!(
            auth.user(Some(&basic("viewer", "viewer-secret")))
                .as_deref(),
            Some("viewer")
        );
        assert_eq!(auth.user(Some(&basic("viewer", "wrong"))), None);
        assert_eq!(auth.user(Some(&basic("nobody", "admin-secret"))), None);
        assert_eq!(auth.user(None), None);
        assert_eq!(
            auth.user(Some(&HeaderValue::from_static("Bearer abc"))),
            None
        );
        let e = BasicAuth::from_jaas_file(&jaas, ["ghost".to_string()]).expect_err("unknown");
        assert!(e.to_string().contains("ghost"), "{e}");
        let bad = dir.path().join("bad.conf");
        std::fs::write(&bad, "KafkaConnect { com.example.Login required; };").expect("bad");
        let e = BasicAuth::from_jaas_file(&bad, []).expect_err("other module");
        assert!(e.to_string().contains("com.example.Login"), "{e}");
    }

    #[test]
    fn internal_requests_are_told_apart() {
        assert!(is_internal(&Method::POST, "/connectors/a/tasks"));
        assert!(is_internal(&Method::PUT, "/connectors/a/fence"));
        assert!(!is_internal(&Method::GET, "/connectors/a/tasks"));
        assert!(!is_internal(&Method::POST, "/connectors"));
        assert!(!is_internal(&Method::POST, "/connectors/a/tasks/0/restart"));
    }
}
