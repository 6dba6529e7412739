//! The REST layer against an in-memory herder: status codes, bodies and
//! headers, without a worker or Kafka.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use ferry_api::config::{ConfigInfo, ConfigInfos, ConfigKeyInfo, ConfigValueInfo};
use ferry_rest::{LogLevel, LoggerControl, LoggerError, RestServer};
use ferry_runtime::entities::{
    ActiveTopicsInfo, ConnectorInfo, ConnectorOffsets, ConnectorState, ConnectorStateInfo,
    LoggerLevel, Message, PluginInfo, RestartPlan, ServerInfo, State, TargetState, TaskId,
    TaskInfo, TaskState,
};
use ferry_runtime::{Created, Herder, HerderError, HerderResult, PluginType, Props};
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Default)]
struct FakeHerder {
    connectors: Mutex<BTreeMap<String, Props>>,
    calls: Mutex<Vec<String>>,
    /// Makes every connector operation sleep this long.
    delay: Option<Duration>,
    health: Option<HerderError>,
    panic_on_status: bool,
    /// Sends deletions to the worker at this URL, as a follower does.
    leader: Option<String>,
}

impl FakeHerder {
    fn with(names: &[&str]) -> Self {
        let herder = FakeHerder::default();
        for name in names {
            herder.connectors.lock().expect("lock").insert(
                (*name).to_owned(),
                Props::from([
                    ("name".to_owned(), (*name).to_owned()),
                    ("connector.class".to_owned(), "FileStreamSource".to_owned()),
                ]),
            );
        }
        herder
    }

    fn log(&self, call: String) {
        self.calls.lock().expect("lock").push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }

    async fn pause(&self) {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
    }

    fn get(&self, name: &str) -> HerderResult<Props> {
        self.connectors
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))
    }

    fn info_of(name: &str, config: Props) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config,
            tasks: vec![TaskId {
                connector: name.to_owned(),
                task: 0,
            }],
            connector_type: "source".to_owned(),
        }
    }

    fn state_of(name: &str, state: State) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: name.to_owned(),
            connector: ConnectorState {
                state,
                worker_id: "127.0.0.1:8083".to_owned(),
                version: None,
                trace: None,
            },
            tasks: vec![TaskState {
                id: 0,
                state,
                worker_id: "127.0.0.1:8083".to_owned(),
                version: None,
                trace: None,
            }],
            connector_type: "source".to_owned(),
        }
    }
}

#[async_trait]
impl Herder for FakeHerder {
    async fn server_info(&self) -> HerderResult<ServerInfo> {
        Ok(ServerInfo {
            version: "4.3.1".to_owned(),
            commit: "0123456789abcdef".to_owned(),
            kafka_cluster_id: "cluster".to_owned(),
        })
    }

    async fn health(&self) -> HerderResult<String> {
        match &self.health {
            Some(e) => Err(e.clone()),
            None => Ok("healthy".to_owned()),
        }
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect()
    }

    async fn connector_info(&self, name: &str) -> HerderResult<ConnectorInfo> {
        self.pause().await;
        Ok(Self::info_of(name, self.get(name)?))
    }

    async fn connector_config(&self, name: &str) -> HerderResult<Props> {
        self.get(name)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> HerderResult<Created<ConnectorInfo>> {
        self.log(format!(
            "put {name} replace={allow_replace} state={initial_state:?}"
        ));
        let mut connectors = self.connectors.lock().expect("lock");
        let exists = connectors.contains_key(name);
        if exists && !allow_replace {
            return Err(HerderError::Conflict(format!(
                "Connector {name} already exists"
            )));
        }
        connectors.insert(name.to_owned(), config.clone());
        Ok(Created {
            created: !exists,
            value: Self::info_of(name, config),
        })
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> HerderResult<ConnectorInfo> {
        self.log(format!("patch {name} {patch:?}"));
        let mut config = self.get(name)?;
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        self.connectors
            .lock()
            .expect("lock")
            .insert(name.to_owned(), config.clone());
        Ok(Self::info_of(name, config))
    }

    async fn delete_connector(&self, name: &str) -> HerderResult<()> {
        if let Some(url) = &self.leader {
            return Err(HerderError::RequestTarget { url: url.clone() });
        }
        self.connectors
            .lock()
            .expect("lock")
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))
    }

    async fn connector_status(&self, name: &str) -> HerderResult<ConnectorStateInfo> {
        if self.panic_on_status {
            panic!("status exploded");
        }
        self.get(name)
            .map_err(|_| HerderError::NotFound(format!("No status found for connector {name}")))?;
        Ok(Self::state_of(name, State::Running))
    }

    async fn task_status(&self, id: &TaskId) -> HerderResult<TaskState> {
        self.log(format!("task_status {id}"));
        if id.task != 0 || self.get(&id.connector).is_err() {
            return Err(HerderError::NotFound(format!(
                "No status found for task {id}"
            )));
        }
        Ok(Self::state_of(&id.connector, State::Running)
            .tasks
            .remove(0))
    }

    async fn task_configs(&self, name: &str) -> HerderResult<Vec<TaskInfo>> {
        let config = self.get(name)?;
        Ok((0..2)
            .map(|task| TaskInfo {
                id: TaskId {
                    connector: name.to_owned(),
                    task,
                },
                config: config.clone(),
            })
            .collect())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> HerderResult<Option<RestartPlan>> {
        self.log(format!(
            "restart {name} tasks={include_tasks} failed={only_failed}"
        ));
        self.get(name)
            .map_err(|_| HerderError::NotFound(format!("Unknown connector: {name}")))?;
        if include_tasks || only_failed {
            Ok(Some(Self::state_of(name, State::Restarting)))
        } else {
            Ok(None)
        }
    }

    async fn restart_task(&self, id: &TaskId) -> HerderResult<()> {
        self.log(format!("restart_task {id}"));
        Ok(())
    }

    async fn pause_connector(&self, name: &str) -> HerderResult<()> {
        self.pause().await;
        self.get(name)
            .map(|_| ())
            .map_err(|_| HerderError::NotFound(format!("Unknown connector {name}")))
    }

    async fn resume_connector(&self, name: &str) -> HerderResult<()> {
        self.get(name).map(|_| ())
    }

    async fn stop_connector(&self, name: &str) -> HerderResult<()> {
        self.log(format!("stop {name}"));
        self.get(name).map(|_| ())
    }

    async fn connector_offsets(&self, name: &str) -> HerderResult<ConnectorOffsets> {
        self.get(name)?;
        Ok(ConnectorOffsets::default())
    }

    async fn alter_connector_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> HerderResult<Message> {
        self.log(format!("alter {name} {}", offsets.offsets.len()));
        Ok(Message {
            message: "The offsets for this connector have been altered successfully".to_owned(),
        })
    }

    async fn reset_connector_offsets(&self, _name: &str) -> HerderResult<Message> {
        Ok(Message {
            message: "The offsets for this connector have been reset successfully".to_owned(),
        })
    }

    async fn active_topics(&self, name: &str) -> HerderResult<ActiveTopicsInfo> {
        Err(HerderError::Forbidden(format!(
            "Topic tracking is disabled. ({name})"
        )))
    }

    async fn reset_active_topics(&self, _name: &str) -> HerderResult<()> {
        Ok(())
    }

    async fn validate_connector_config(&self, config: Props) -> HerderResult<ConfigInfos> {
        self.log(format!("validate {}", config.len()));
        let mut configs = Vec::new();
        if !config.contains_key("topic") {
            configs.push(ConfigInfo {
                definition: None,
                value: Some(ConfigValueInfo {
                    name: "topic".to_owned(),
                    value: None,
                    recommended_values: vec![],
                    errors: vec![
                        "Missing required configuration \"topic\" which has no default value."
                            .to_owned(),
                    ],
                    visible: true,
                }),
            });
        }
        Ok(ConfigInfos {
            name: config.get("connector.class").cloned().unwrap_or_default(),
            error_count: configs.len(),
            groups: vec!["Common".to_owned()],
            configs,
        })
    }

    fn plugins(&self, types: &[PluginType]) -> Vec<PluginInfo> {
        types
            .iter()
            .map(|t| PluginInfo {
                class_name: format!("org.example.{}", t.name()),
                plugin_type: t.name().to_owned(),
                version: None,
            })
            .collect()
    }

    fn plugin_config(&self, plugin: &str) -> HerderResult<Vec<ConfigKeyInfo>> {
        Err(HerderError::NotFound(format!("Unknown plugin {plugin}.")))
    }
}

#[derive(Default)]
struct FakeLoggers {
    levels: Mutex<BTreeMap<String, LoggerLevel>>,
}

impl LoggerControl for FakeLoggers {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut all = self.levels.lock().expect("lock").clone();
        all.insert(
            "root".to_owned(),
            LoggerLevel {
                level: "INFO".to_owned(),
                last_modified: None,
            },
        );
        all
    }

    fn level(&self, name: &str) -> Option<LoggerLevel> {
        self.levels().get(name).cloned()
    }

    fn set_level(&self, name: &str, level: LogLevel) -> Result<Vec<String>, LoggerError> {
        self.levels.lock().expect("lock").insert(
            name.to_owned(),
            LoggerLevel {
                level: level.name().to_owned(),
                last_modified: Some(1),
            },
        );
        Ok(vec![name.to_owned()])
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a Kafka Connect error body.
    fn assert_error(&self, status: u16, message: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.json(),
            json!({"error_code": status, "message": message})
        );
        assert_eq!(self.header(header::CONTENT_TYPE), Some("application/json"));
    }
}

async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "worker:8083");
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(
            body.map(|b| Body::from(b.to_owned()))
                .unwrap_or_else(Body::empty),
        )
        .expect("request");
    let response = app.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Method::GET, uri, None, &[]).await
}

fn app_with(herder: FakeHerder) -> (Router, Arc<FakeHerder>) {
    let herder = Arc::new(herder);
    let app = RestServer::new(herder.clone(), Arc::new(FakeLoggers::default())).router();
    (app, herder)
}

fn app(names: &[&str]) -> (Router, Arc<FakeHerder>) {
    app_with(FakeHerder::with(names))
}

#[tokio::test]
async fn root_and_health() {
    let (app, _) = app(&[]);
    let r = get(&app, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["version"], "4.3.1");
    let r = get(&app, "/health").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
    );

    let (app, _) = app_with(FakeHerder {
        health: Some(HerderError::Unavailable(String::new())),
        ..FakeHerder::default()
    });
    let r = get(&app, "/health").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json(),
        json!({"status": "starting", "message": "Worker is still starting up."})
    );
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let (app, _) = app(&["c1"]);
    get(&app, "/nope")
        .await
        .assert_error(404, "HTTP 404 Not Found");
    get(&app, "/connectors/c1/nope")
        .await
        .assert_error(404, "HTTP 404 Not Found");
    send(&app, Method::DELETE, "/connectors", None, &[])
        .await
        .assert_error(405, "HTTP 405 Method Not Allowed");
    send(&app, Method::POST, "/connectors/c1", None, &[])
        .await
        .assert_error(405, "HTTP 405 Method Not Allowed");
    // A wrong method wins over a wrong media type, as in Jersey.
    send(
        &app,
        Method::DELETE,
        "/connectors",
        None,
        &[("content-type", "text/plain")],
    )
    .await
    .assert_error(405, "HTTP 405 Method Not Allowed");
}

#[tokio::test]
async fn trailing_slashes_and_encoded_names() {
    let (app, _) = app(&["c1", "a/b c"]);
    let r = get(&app, "/connectors/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!(["a/b c", "c1"]));
    let r = get(&app, "/connectors/a%2Fb%20c/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["name"], "a/b c");
    let r = get(&app, "/connectors/c1/status/").await;
    assert_eq!(r.json()["connector"]["state"], "RUNNING");
}

#[tokio::test]
async fn list_with_expansions() {
    let (app, _) = app(&["c1"]);
    let r = get(&app, "/connectors?expand=status&expand=info&expand=bogus").await;
    let body = r.json();
    assert_eq!(body["c1"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(body["c1"]["info"]["type"], "source");
    let r = get(&app, "/connectors?expand=bogus").await;
    assert_eq!(r.json(), json!({"c1": {}}));
}

#[tokio::test]
async fn create_connector() {
    let (app, herder) = app(&["c1"]);
    let body = r#"{"name":" my conn/x ","config":{"connector.class":"FileStreamSource","topic":"t","tasks.max":1},"initial_state":"paused"}"#;
    let r = send(&app, Method::POST, "/connectors", Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.header(header::LOCATION),
        Some("http://worker:8083/connectors/my%20conn%2Fx")
    );
    let info = r.json();
    assert_eq!(info["name"], "my conn/x");
    assert_eq!(info["config"]["name"], "my conn/x");
    assert_eq!(info["config"]["tasks.max"], "1");
    assert!(herder
        .calls()
        .contains(&"put my conn/x replace=false state=Some(Paused)".to_owned()));

    let r = send(
        &app,
        Method::POST,
        "/connectors",
        Some(r#"{"name":"c1","config":{"topic":"t"}}"#),
        &[],
    )
    .await;
    r.assert_error(409, "Connector c1 already exists");
}

#[tokio::test]
async fn create_connector_errors() {
    let (app, _) = app(&[]);
    let post = |body: &'static str| {
        let app = app.clone();
        async move { send(&app, Method::POST, "/connectors", Some(body), &[]).await }
    };
    post(r#"{"name":"x","config":{"name":"y"}}"#)
        .await
        .assert_error(
            400,
            "Connector name configuration (y) doesn't match connector name in the URL (x)",
        );
    let r = post(r#"{"name":"x"}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or("")
        .contains("\"config\""));
    post(r#"{"name":"","config":{"connector.class":"FileStreamSource"}}"#)
        .await
        .assert_error(
            400,
            "Connector configuration is invalid and contains the following 2 error(s):\n\
             Invalid value  for configuration name: String may not be empty\n\
             Missing required configuration \"topic\" which has no default value.\n\
             You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
        );
    let r = post(r#"{"name":"x","config":{}"#).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["error_code"], 500);
    let r = post(r#"{"name":"x","config":{},"foo":1}"#).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let r = post(r#"{"name":"x","config":{"a":{}}}"#).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let r = post(r#"{"name":"x","config":{},"initial_state":"foo"}"#).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);

    send(
        &app,
        Method::POST,
        "/connectors",
        Some("{}"),
        &[("content-type", "text/plain")],
    )
    .await
    .assert_error(415, "HTTP 415 Unsupported Media Type");
    send(
        &app,
        Method::GET,
        "/connectors",
        None,
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
    .assert_error(415, "HTTP 415 Unsupported Media Type");
    send(
        &app,
        Method::GET,
        "/connectors",
        None,
        &[("accept", "text/html")],
    )
    .await
    .assert_error(406, "HTTP 406 Not Acceptable");
}

#[tokio::test]
async fn put_and_patch_config() {
    let (app, herder) = app(&[]);
    let body = r#"{"connector.class":"FileStreamSource","topic":"t"}"#;
    let r = send(
        &app,
        Method::PUT,
        "/connectors/p%20q/config",
        Some(body),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        r.header(header::LOCATION),
        Some("http://worker:8083/connectors/p%20q")
    );
    let r = send(
        &app,
        Method::PUT,
        "/connectors/p%20q/config",
        Some(body),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header(header::LOCATION).is_none());
    send(
        &app,
        Method::PUT,
        "/connectors/p%20q/config",
        Some(r#"{"name":"o"}"#),
        &[],
    )
    .await
    .assert_error(
        400,
        "Connector name configuration (o) doesn't match connector name in the URL (p q)",
    );

    let r = send(
        &app,
        Method::PATCH,
        "/connectors/p%20q/config",
        Some(r#"{"topic":null,"x":2}"#),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["config"]["x"], "2");
    assert!(r.json()["config"].get("topic").is_none());
    assert!(herder
        .calls()
        .contains(&r#"patch p q {"topic": None, "x": Some("2")}"#.to_owned()));
    let r = send(
        &app,
        Method::PATCH,
        "/connectors/nope/config",
        Some("{}"),
        &[],
    )
    .await;
    r.assert_error(404, "Connector nope not found");
}

#[tokio::test]
async fn lifecycle_endpoints() {
    let (app, herder) = app(&["c1"]);
    let r = send(&app, Method::POST, "/connectors/c1/restart", None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    let r = send(
        &app,
        Method::POST,
        "/connectors/c1/restart?includeTasks=TRUE&onlyFailed=yes",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json()["connector"]["state"], "RESTARTING");
    assert!(herder
        .calls()
        .contains(&"restart c1 tasks=true failed=false".to_owned()));
    send(
        &app,
        Method::POST,
        "/connectors/nope/restart?onlyFailed=true",
        None,
        &[],
    )
    .await
    .assert_error(404, "Unknown connector: nope");

    let r = send(&app, Method::PUT, "/connectors/c1/pause", None, &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.body.is_empty());
    assert!(r.header(header::CONTENT_TYPE).is_none());
    send(&app, Method::PUT, "/connectors/nope/pause", None, &[])
        .await
        .assert_error(404, "Unknown connector nope");
    assert_eq!(
        send(&app, Method::PUT, "/connectors/c1/resume", None, &[])
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&app, Method::PUT, "/connectors/c1/stop", None, &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&app, Method::DELETE, "/connectors/c1", None, &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    get(&app, "/connectors/c1")
        .await
        .assert_error(404, "Connector c1 not found");
}

#[tokio::test]
async fn tasks() {
    let (app, herder) = app(&["c1"]);
    let r = get(&app, "/connectors/c1/tasks").await;
    assert_eq!(r.json()[1]["id"], json!({"connector": "c1", "task": 1}));
    let r = get(&app, "/connectors/c1/tasks-config").await;
    let body = r.json();
    let keys: Vec<&String> = body
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["c1-0", "c1-1"]);
    assert_eq!(
        get(&app, "/connectors/c1/tasks/0/status").await.json()["state"],
        "RUNNING"
    );
    get(&app, "/connectors/c1/tasks/abc/status")
        .await
        .assert_error(404, "HTTP 404 Not Found");
    get(&app, "/connectors/c1/tasks/-1/status")
        .await
        .assert_error(404, "HTTP 404 Not Found");
    get(&app, "/connectors/c1/tasks/3/status")
        .await
        .assert_error(404, "No status found for task c1-3");
    let r = send(
        &app,
        Method::POST,
        "/connectors/c1/tasks/+1/restart",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(herder.calls().contains(&"restart_task c1-1".to_owned()));
}

#[tokio::test]
async fn offsets_and_topics() {
    let (app, herder) = app(&["c1"]);
    assert_eq!(
        get(&app, "/connectors/c1/offsets").await.json(),
        json!({"offsets": []})
    );
    let missing = "Partitions / offsets need to be provided for an alter offsets request";
    send(
        &app,
        Method::PATCH,
        "/connectors/c1/offsets",
        Some(r#"{"offsets":[]}"#),
        &[],
    )
    .await
    .assert_error(400, missing);
    send(
        &app,
        Method::PATCH,
        "/connectors/c1/offsets",
        Some("{}"),
        &[],
    )
    .await
    .assert_error(400, missing);
    let body = r#"{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":0},"offset":{"kafka_offset":"1"}}]}"#;
    let r = send(
        &app,
        Method::PATCH,
        "/connectors/c1/offsets",
        Some(body),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(herder.calls().contains(&"alter c1 1".to_owned()));
    let r = send(&app, Method::DELETE, "/connectors/c1/offsets", None, &[]).await;
    assert_eq!(
        r.json()["message"],
        "The offsets for this connector have been reset successfully"
    );
    get(&app, "/connectors/c1/topics")
        .await
        .assert_error(403, "Topic tracking is disabled. (c1)");
    let r = send(&app, Method::PUT, "/connectors/c1/topics/reset", None, &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn plugins() {
    let (app, _) = app(&[]);
    let r = get(&app, "/connector-plugins").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    let r = get(&app, "/connector-plugins?connectorsOnly=False").await;
    let types: Vec<Value> = r
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            "sink",
            "source",
            "transformation",
            "predicate",
            "converter",
            "header_converter"
        ]
    );
    let r = get(&app, "/connector-plugins?connectorsOnly=").await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
    get(&app, "/connector-plugins/Nope/config")
        .await
        .assert_error(404, "Unknown plugin Nope.");
}

#[tokio::test]
async fn validate() {
    let (app, _) = app(&[]);
    let url = "/connector-plugins/FileStreamSink/config/validate";
    send(
        &app,
        Method::PUT,
        url,
        Some(r#"{"zz":"1","b":null,"a":2}"#),
        &[],
    )
    .await
    .assert_error(
        400,
        "Connector config {zz=1, b=null, a=2} contains no connector type",
    );
    send(
        &app,
        Method::PUT,
        url,
        Some(r#"{"connector.class":"FileStreamSource"}"#),
        &[],
    )
    .await
    .assert_error(
        400,
        "Included connector type FileStreamSource does not match request type FileStreamSink",
    );
    let body = r#"{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","topic":"t"}"#;
    let r = send(&app, Method::PUT, url, Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["error_count"], 0);
    // Validation errors are still a 200.
    let r = send(
        &app,
        Method::PUT,
        url,
        Some(r#"{"connector.class":"FileStreamSink"}"#),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["error_count"], 1);
    let r = send(&app, Method::PUT, url, Some("[]"), &[]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn loggers() {
    let (app, _) = app(&[]);
    let r = get(&app, "/admin/loggers/").await;
    assert_eq!(
        r.json(),
        json!({"root": {"level": "INFO", "last_modified": null}})
    );
    get(&app, "/admin/loggers/org.nope")
        .await
        .assert_error(404, "Logger org.nope not found.");
    let url = "/admin/loggers/ferry_runtime";
    send(&app, Method::PUT, url, Some(r#"{"level":"bogus"}"#), &[])
        .await
        .assert_error(404, "invalid log level 'bogus'.");
    let missing = "Desired 'level' parameter was not specified in request.";
    send(&app, Method::PUT, url, Some("{}"), &[])
        .await
        .assert_error(400, missing);
    send(&app, Method::PUT, url, None, &[])
        .await
        .assert_error(400, missing);
    let r = send(&app, Method::PUT, url, Some(r#"{"level":"debug"}"#), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!(["ferry_runtime"]));
    assert_eq!(
        get(&app, url).await.json(),
        json!({"level": "DEBUG", "last_modified": 1})
    );
    let r = send(
        &app,
        Method::PUT,
        "/admin/loggers/x?scope=Cluster",
        Some(r#"{"level":"fatal"}"#),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, "/admin/loggers/x").await.json()["level"], "FATAL");
    let r = send(
        &app,
        Method::PUT,
        "/admin/loggers/y?scope=other",
        Some(r#"{"level":"warn"}"#),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_endpoints_can_move_off_the_main_listener() {
    let herder = Arc::new(FakeHerder::default());
    let server = RestServer::new(herder, Arc::new(FakeLoggers::default())).without_admin();
    let main = server.router();
    get(&main, "/admin/loggers")
        .await
        .assert_error(404, "HTTP 404 Not Found");
    let admin = server.admin_router();
    assert_eq!(get(&admin, "/admin/loggers").await.status, StatusCode::OK);
    get(&admin, "/connectors")
        .await
        .assert_error(404, "HTTP 404 Not Found");
}

#[tokio::test]
async fn slow_herder_times_out() {
    let herder = Arc::new(FakeHerder {
        delay: Some(Duration::from_secs(5)),
        ..FakeHerder::with(&["c1"])
    });
    let app = RestServer::new(herder, Arc::new(FakeLoggers::default()))
        .request_timeout(Duration::from_millis(50))
        .router();
    get(&app, "/connectors/c1")
        .await
        .assert_error(500, "Request timed out");
}

#[tokio::test]
async fn herder_panics_become_500() {
    let (app, _) = app_with(FakeHerder {
        panic_on_status: true,
        ..FakeHerder::with(&["c1"])
    });
    get(&app, "/connectors/c1/status")
        .await
        .assert_error(500, "status exploded");
    // The server keeps answering.
    assert_eq!(get(&app, "/connectors").await.status, StatusCode::OK);
}

#[tokio::test]
async fn serves_over_tcp() {
    let (app, _) = app(&["c1"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ferry_rest::serve(
        listener,
        app,
        ferry_rest::ConnectionLimits::DEFAULT,
        async {
            let _ = stopped.await;
        },
    ));
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /connectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("[\"c1\"]"), "{answer}");
    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}

#[tokio::test]
async fn writes_for_another_worker_are_forwarded_there() {
    // The "leader": a real HTTP server.
    let (leader_app, leader) = app(&["c1", "c2"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, leader_app).await;
    });

    let (follower, _) = app_with(FakeHerder {
        leader: Some(url),
        ..FakeHerder::with(&["c1", "c2"])
    });
    let r = send(&follower, Method::DELETE, "/connectors/c1", None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(!leader.connectors.lock().expect("lock").contains_key("c1"));

    // The leader's answer comes back as it is, errors included.
    let r = send(&follower, Method::DELETE, "/connectors/nope", None, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["message"], "Connector nope not found");

    // A request that was already forwarded twice is not forwarded again.
    let r = send(
        &follower,
        Method::DELETE,
        "/connectors/c2?forward=false",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["message"],
        "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
    );
    assert!(leader.connectors.lock().expect("lock").contains_key("c2"));
}
