//! Kafka Connect's REST API on a real `ferry standalone` worker and a real
//! broker: status codes, bodies, headers and error texts. Expected values
//! were checked against Apache Kafka Connect 4.3.1 where the two agree;
//! comments mark where Ferry deliberately answers differently.

use std::path::Path;
use std::time::Duration;

use ferry_tests::*;
use serde_json::{json, Value};

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts status and the `{"error_code", "message"}` body.
    fn error(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.json(),
            json!({"error_code": status, "message": message})
        );
    }

    /// Asserts status and an error body, whatever its message.
    fn error_code(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.text);
        let body = self.json();
        assert_eq!(body["error_code"], status, "body: {}", self.text);
        body["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {}", self.text))
            .to_owned()
    }
}

/// A request with a raw body (sent as JSON unless `headers` names another
/// Content-Type) and extra headers.
fn send(method: &str, url: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Reply {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = with_rest_auth(client.request(method.clone(), url));
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        req = req.body(b.to_owned());
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().unwrap_or_default();
    Reply {
        status,
        headers,
        text,
    }
}

fn get(url: &str) -> Reply {
    send("GET", url, None, &[])
}

fn send_json(method: &str, url: &str, body: &Value) -> Reply {
    send(method, url, Some(&body.to_string()), &[])
}

fn started_worker(dir: &Path) -> Worker {
    require_kafka();
    let mut worker = Worker::new(dir, &[]);
    worker.start(&[]);
    worker
}

fn source_config(dir: &Path, topic: &str) -> Value {
    let file = dir.join(format!("{}.txt", unique("in")));
    std::fs::write(&file, "one\ntwo\n").expect("input file");
    json!({
        "connector.class": "FileStreamSource",
        "file": file.to_str().expect("utf-8 path"),
        "topic": topic,
    })
}

fn connector_state(w: &Worker, name: &str) -> Value {
    get(&w.url(&format!("/connectors/{name}/status"))).json()
}

/// Waits until the connector and every task report `state` (with at least
/// `min_tasks` tasks).
fn wait_state(w: &Worker, name: &str, state: &str, min_tasks: usize) -> Value {
    wait_for(
        &format!("{name} to be {state}"),
        Duration::from_secs(60),
        || {
            let s = connector_state(w, name);
            let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
            let ok = s["connector"]["state"] == state
                && tasks.len() >= min_tasks
                && tasks.iter().all(|t| t["state"] == state);
            ok.then_some(s)
        },
    )
}

#[test]
fn root_health_and_protocol_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());

    let r = get(&w.url("/"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let info = r.json();
    assert!(info["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(info["commit"].as_str().map(str::len), Some(16));
    assert!(info["kafka_cluster_id"]
        .as_str()
        .is_some_and(|v| !v.is_empty()));

    let r = get(&w.url("/health"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
    );

    // JAX-RS's own errors, with the same body as every other error.
    get(&w.url("/nope")).error(404, "HTTP 404 Not Found");
    get(&w.url("/connectors/x/nope")).error(404, "HTTP 404 Not Found");
    send("DELETE", &w.url("/connectors"), None, &[]).error(405, "HTTP 405 Method Not Allowed");
    send("POST", &w.url("/connectors/x"), None, &[]).error(405, "HTTP 405 Method Not Allowed");
    send("GET", &w.url("/connectors/x/tasks/0/restart"), None, &[])
        .error(405, "HTTP 405 Method Not Allowed");
    send(
        "POST",
        &w.url("/connectors"),
        Some("{}"),
        &[("content-type", "text/plain")],
    )
    .error(415, "HTTP 415 Unsupported Media Type");
    // curl -d without -H sends a form content type: Kafka Connect's classic 415.
    send(
        "POST",
        &w.url("/connectors"),
        Some("{}"),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .error(415, "HTTP 415 Unsupported Media Type");
    send(
        "GET",
        &w.url("/connectors"),
        None,
        &[("accept", "text/html")],
    )
    .error(406, "HTTP 406 Not Acceptable");
    // HEAD works wherever GET does.
    assert_eq!(send("HEAD", &w.url("/connectors"), None, &[]).status, 200);

    // Malformed and mistyped bodies: Kafka Connect answers 500 (Jackson's
    // exception is not mapped); only the status and shape are asserted.
    send("POST", &w.url("/connectors"), Some(r#"{"name": "x","#), &[]).error_code(500);
    send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": "x", "config": {"a": {}}}),
    )
    .error_code(500);
    send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": "x", "config": {}, "foo": 1}),
    )
    .error_code(500);
    send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": "x", "config": {}, "initial_state": "SLEEPING"}),
    )
    .error_code(500);

    // Trailing slashes are accepted everywhere.
    let r = get(&w.url("/connectors/"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    assert_eq!(get(&w.url("/connector-plugins/")).status, 200);
}

#[test]
fn create_read_update_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());
    let topic = unique("rest-crud");
    let config = source_config(dir.path(), &topic);
    let name = unique("crud");

    // Names are trimmed; `config.name` is filled in.
    let r = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": format!("  {name}\t"), "config": config}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{}/connectors/{name}", w.port).as_str())
    );
    let info = r.json();
    assert_eq!(info["name"], name.as_str());
    assert_eq!(info["type"], "source");
    assert_eq!(info["config"]["name"], name.as_str());
    assert_eq!(info["config"]["topic"], topic.as_str());

    send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": name, "config": config}),
    )
    .error(409, &format!("Connector {name} already exists"));

    let listed = get(&w.url("/connectors")).json();
    assert!(
        listed.as_array().is_some_and(|a| a.contains(&json!(name))),
        "{listed}"
    );
    let info = get(&w.url(&format!("/connectors/{name}"))).json();
    assert_eq!(info["config"]["file"], config["file"]);
    let cfg = get(&w.url(&format!("/connectors/{name}/config"))).json();
    assert_eq!(cfg["connector.class"], "FileStreamSource");
    assert_eq!(cfg["name"], name.as_str());

    wait_state(&w, &name, "RUNNING", 1);
    let expanded = get(&w.url("/connectors?expand=status&expand=info")).json();
    assert_eq!(expanded[&name]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(expanded[&name]["info"]["name"], name.as_str());
    let bogus = get(&w.url("/connectors?expand=bogus")).json();
    assert_eq!(bogus[&name], json!({}));

    let tasks = get(&w.url(&format!("/connectors/{name}/tasks"))).json();
    assert_eq!(tasks[0]["id"], json!({"connector": name, "task": 0}));
    let tasks_config = get(&w.url(&format!("/connectors/{name}/tasks-config"))).json();
    assert!(
        tasks_config.get(format!("{name}-0")).is_some(),
        "{tasks_config}"
    );

    // PUT replaces (200, no Location); a new name creates (201 + Location).
    let mut replaced = config.clone();
    replaced["batch.size"] = json!("10");
    let r = send_json(
        "PUT",
        &w.url(&format!("/connectors/{name}/config")),
        &replaced,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("location").is_none());
    assert_eq!(r.json()["config"]["batch.size"], "10");

    let spaced = format!("{} b", unique("put"));
    let encoded = spaced.replace(' ', "%20");
    let r = send_json(
        "PUT",
        &w.url(&format!("/connectors/{encoded}/config")),
        &config,
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{}/connectors/{encoded}", w.port).as_str())
    );
    assert_eq!(r.json()["name"], spaced.as_str());

    // PATCH: values merge, null deletes.
    let r = send_json(
        "PATCH",
        &w.url(&format!("/connectors/{name}/config")),
        &json!({"batch.size": null, "tasks.max": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["config"].get("batch.size").is_none());
    assert_eq!(r.json()["config"]["tasks.max"], "1");
    send_json(
        "PATCH",
        &w.url("/connectors/nope/config"),
        &json!({"a": "b"}),
    )
    .error(404, "Connector nope not found");

    // Request errors.
    let mut other = config.clone();
    other["name"] = json!("other");
    send_json("PUT", &w.url(&format!("/connectors/{name}/config")), &other).error(
        400,
        &format!(
            "Connector name configuration (other) doesn't match connector name in the URL ({name})"
        ),
    );
    send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": "x", "config": other}),
    )
    .error(
        400,
        "Connector name configuration (other) doesn't match connector name in the URL (x)",
    );
    // Kafka Connect answers a missing config with a 500 (NullPointerException).
    send_json("POST", &w.url("/connectors"), &json!({"name": "x"})).error_code(400);
    let message = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": " ", "config": config}),
    )
    .error_code(400);
    assert!(
        message.starts_with("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value  for configuration name: String may not be empty"),
        "{message}"
    );
    let message = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": "a\u{1}b", "config": config}),
    )
    .error_code(400);
    assert!(
        message.contains(
            "String may not contain control sequences but had the following ASCII chars: 1"
        ),
        "{message}"
    );

    // DELETE, then everything about the connector is gone.
    let r = send("DELETE", &w.url(&format!("/connectors/{name}")), None, &[]);
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    get(&w.url(&format!("/connectors/{name}"))).error(404, &format!("Connector {name} not found"));
    send("DELETE", &w.url(&format!("/connectors/{name}")), None, &[])
        .error(404, &format!("Connector {name} not found"));
    get(&w.url(&format!("/connectors/{name}/config"))).error_code(404);
    get(&w.url(&format!("/connectors/{name}/tasks"))).error_code(404);
    wait_for("the status to go away", Duration::from_secs(30), || {
        (get(&w.url(&format!("/connectors/{name}/status"))).status == 404).then_some(())
    });
    get(&w.url(&format!("/connectors/{name}/status")))
        .error(404, &format!("No status found for connector {name}"));
    send(
        "DELETE",
        &w.url(&format!("/connectors/{encoded}")),
        None,
        &[],
    );
}

#[test]
fn lifecycle_operations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());
    let topic = unique("rest-life");
    let name = unique("life");
    let r = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": name, "config": source_config(dir.path(), &topic)}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_state(&w, &name, "RUNNING", 1);

    let r = send(
        "PUT",
        &w.url(&format!("/connectors/{name}/pause")),
        None,
        &[],
    );
    assert_eq!(r.status, 202);
    assert!(r.text.is_empty());
    wait_state(&w, &name, "PAUSED", 1);
    let r = send(
        "PUT",
        &w.url(&format!("/connectors/{name}/resume")),
        None,
        &[],
    );
    assert_eq!(r.status, 202);
    wait_state(&w, &name, "RUNNING", 1);

    // Both flags false: the connector alone, 204 and no body.
    let r = send(
        "POST",
        &w.url(&format!("/connectors/{name}/restart")),
        None,
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    wait_state(&w, &name, "RUNNING", 1);
    // Booleans as Jersey reads them ("TRUE" is true); the plan shows what restarts.
    let r = send(
        "POST",
        &w.url(&format!("/connectors/{name}/restart?includeTasks=TRUE")),
        None,
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    let plan = r.json();
    assert_eq!(plan["name"], name.as_str());
    assert_eq!(plan["connector"]["state"], "RESTARTING");
    assert_eq!(plan["tasks"][0]["state"], "RESTARTING");
    wait_state(&w, &name, "RUNNING", 1);
    let r = send(
        "POST",
        &w.url(&format!(
            "/connectors/{name}/restart?includeTasks=true&onlyFailed=true"
        )),
        None,
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    // Nothing failed, so nothing restarts.
    assert_eq!(r.json()["connector"]["state"], "RUNNING");

    let r = get(&w.url(&format!("/connectors/{name}/tasks/0/status")));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], 0);
    assert_eq!(r.json()["state"], "RUNNING");
    let r = send(
        "POST",
        &w.url(&format!("/connectors/{name}/tasks/0/restart")),
        None,
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text);
    get(&w.url(&format!("/connectors/{name}/tasks/abc/status"))).error(404, "HTTP 404 Not Found");
    get(&w.url(&format!("/connectors/{name}/tasks/7/status")))
        .error(404, &format!("No status found for task {name}-7"));
    send(
        "POST",
        &w.url(&format!("/connectors/{name}/tasks/7/restart")),
        None,
        &[],
    )
    .error_code(404);

    // Unknown connectors.
    send("PUT", &w.url("/connectors/nope/pause"), None, &[]).error(404, "Unknown connector nope");
    send("PUT", &w.url("/connectors/nope/resume"), None, &[]).error_code(404);
    send("PUT", &w.url("/connectors/nope/stop"), None, &[]).error_code(404);
    send(
        "POST",
        &w.url("/connectors/nope/restart?includeTasks=true"),
        None,
        &[],
    )
    .error(404, "Unknown connector: nope");
    send("POST", &w.url("/connectors/nope/restart"), None, &[]).error_code(404);
    get(&w.url("/connectors/nope/tasks/0/status")).error(404, "No status found for task nope-0");

    // Stop: 204, then STOPPED with no tasks.
    let r = send(
        "PUT",
        &w.url(&format!("/connectors/{name}/stop")),
        None,
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text);
    wait_for("STOPPED", Duration::from_secs(60), || {
        let s = connector_state(&w, &name);
        (s["connector"]["state"] == "STOPPED" && s["tasks"] == json!([])).then_some(())
    });

    // initial_state (KIP-980), case-insensitive.
    let stopped = unique("born-stopped");
    let r = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": stopped, "config": source_config(dir.path(), &topic), "initial_state": "stopped"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["tasks"], json!([]));
    wait_for("STOPPED from the start", Duration::from_secs(30), || {
        (connector_state(&w, &stopped)["connector"]["state"] == "STOPPED").then_some(())
    });
}

#[test]
fn offsets_and_topics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());
    let topic = unique("rest-offsets");
    create_topic(&topic, 1);
    let name = unique("offsets");
    let config = source_config(dir.path(), &topic);
    let r = send_json(
        "POST",
        &w.url("/connectors"),
        &json!({"name": name, "config": config}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_state(&w, &name, "RUNNING", 1);
    wait_for("two records", Duration::from_secs(60), || {
        (consume_values(&topic, 2, Duration::from_secs(5)).len() >= 2).then_some(())
    });

    let url = w.url(&format!("/connectors/{name}/offsets"));
    let offsets = wait_for("a committed offset", Duration::from_secs(30), || {
        let o = get(&url).json();
        o["offsets"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
            .then_some(o)
    });
    assert_eq!(
        offsets["offsets"][0]["partition"]["filename"],
        config["file"]
    );

    // KIP-558 topic tracking is on by default.
    let topics = get(&w.url(&format!("/connectors/{name}/topics"))).json();
    assert_eq!(topics, json!({name.clone(): {"topics": [topic]}}));

    let stopped_first = format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    );
    let body = json!({"offsets": [{"partition": offsets["offsets"][0]["partition"], "offset": {"position": 0}}]});
    send_json("PATCH", &url, &body).error(400, &stopped_first);
    send("DELETE", &url, None, &[]).error(400, &stopped_first);

    assert_eq!(
        send(
            "PUT",
            &w.url(&format!("/connectors/{name}/stop")),
            None,
            &[]
        )
        .status,
        204
    );
    wait_for("STOPPED", Duration::from_secs(60), || {
        (connector_state(&w, &name)["connector"]["state"] == "STOPPED").then_some(())
    });
    let missing = "Partitions / offsets need to be provided for an alter offsets request";
    send_json("PATCH", &url, &json!({"offsets": []})).error(400, missing);
    send_json("PATCH", &url, &json!({})).error(400, missing);
    let r = send_json("PATCH", &url, &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("altered successfully")));
    assert_eq!(
        get(&url).json()["offsets"][0]["offset"],
        json!({"position": 0})
    );
    let r = send("DELETE", &url, None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|m| m.contains("reset successfully")));
    assert_eq!(get(&url).json(), json!({"offsets": []}));

    let r = send(
        "PUT",
        &w.url(&format!("/connectors/{name}/topics/reset")),
        None,
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.text.is_empty());
    let topics = get(&w.url(&format!("/connectors/{name}/topics"))).json();
    assert_eq!(topics, json!({name.clone(): {"topics": []}}));
    get(&w.url("/connectors/nope/offsets")).error(404, "Connector nope not found");
}

#[test]
fn plugins_and_validation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());

    let plugins = get(&w.url("/connector-plugins")).json();
    let list = plugins.as_array().cloned().unwrap_or_default();
    assert!(
        list.iter()
            .all(|p| p["type"] == "sink" || p["type"] == "source"),
        "{plugins}"
    );
    assert!(
        list.iter().any(
            |p| p["class"] == "org.apache.kafka.connect.file.FileStreamSinkConnector"
                && p["type"] == "sink"
        ),
        "{plugins}"
    );
    // Sinks first, then sources.
    let first_source = list
        .iter()
        .position(|p| p["type"] == "source")
        .unwrap_or(list.len());
    assert!(
        list[first_source..].iter().all(|p| p["type"] == "source"),
        "{plugins}"
    );
    let all = get(&w.url("/connector-plugins?connectorsOnly=False")).json();
    assert!(all.as_array().map(Vec::len) >= Some(list.len()));
    assert_eq!(
        get(&w.url("/connector-plugins?connectorsOnly=")).json(),
        plugins
    );

    let keys = get(&w.url("/connector-plugins/FileStreamSinkConnector/config")).json();
    let names: Vec<&str> = keys
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert!(
        names.contains(&"file") && names.contains(&"topics"),
        "{keys}"
    );
    get(&w.url("/connector-plugins/Nope/config")).error(404, "Unknown plugin Nope.");

    let url = w.url("/connector-plugins/FileStreamSinkConnector/config/validate");
    let r = send_json(
        "PUT",
        &url,
        &json!({"connector.class": "FileStreamSink", "tasks.max": "zero"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let result = r.json();
    assert_eq!(result["name"], "FileStreamSink");
    assert!(result["error_count"].as_u64() >= Some(2), "{result}");
    assert!(result["groups"]
        .as_array()
        .is_some_and(|g| g.contains(&json!("Common"))));
    let r = send_json(
        "PUT",
        &url,
        &json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "t", "name": "v"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["error_count"], 0);
    send("PUT", &url, Some(r#"{"topics":"x","a":1}"#), &[]).error(
        400,
        "Connector config {topics=x, a=1} contains no connector type",
    );
    send_json("PUT", &url, &json!({"connector.class": "FileStreamSource"})).error(
        400,
        "Included connector type FileStreamSource does not match request type FileStreamSinkConnector",
    );
}

#[test]
fn admin_loggers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = started_worker(dir.path());

    let all = get(&w.url("/admin/loggers")).json();
    assert!(all["root"]["level"].is_string(), "{all}");
    get(&w.url("/admin/loggers/org.nope")).error(404, "Logger org.nope not found.");

    let url = w.url("/admin/loggers/ferry_runtime");
    send_json("PUT", &url, &json!({"level": "bogus"})).error(404, "invalid log level 'bogus'.");
    send_json("PUT", &url, &json!({})).error(
        400,
        "Desired 'level' parameter was not specified in request.",
    );
    let r = send_json("PUT", &url, &json!({"level": "debug"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .json()
        .as_array()
        .is_some_and(|a| a.contains(&json!("ferry_runtime"))));
    let level = get(&url).json();
    assert_eq!(level["level"], "DEBUG");
    assert!(level["last_modified"].is_i64(), "{level}");
    assert_eq!(
        get(&w.url("/admin/loggers")).json()["ferry_runtime"]["level"],
        "DEBUG"
    );
    // Setting the same level again changes nothing.
    assert_eq!(
        send_json("PUT", &url, &json!({"level": "DEBUG"})).json(),
        json!([])
    );
    // A standalone worker is the whole cluster: applied here, 204.
    let r = send_json(
        "PUT",
        &w.url("/admin/loggers/ferry_rest?scope=cluster"),
        &json!({"level": "fatal"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        get(&w.url("/admin/loggers/ferry_rest")).json()["level"],
        "FATAL"
    );
    let r = send_json(
        "PUT",
        &w.url("/admin/loggers/root"),
        &json!({"level": "INFO"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(get(&w.url("/admin/loggers/ROOT")).json()["level"], "INFO");
}
