//! Config providers: a JDBC sink whose MariaDB URL, user and password come
//! from `${file:…}`, `${dir:…}` and `${env:…}` placeholders logs in (the
//! database checks the password) and writes its rows, while the secrets
//! appear nowhere in the config topic, the worker's log or any REST answer.

mod jdbc_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_tests::cluster::Cluster;
use ferry_tests::*;
use jdbc_support::*;
use serde_json::json;

const PASSWORD_VAR: &str = "FERRY_TEST_PROVIDER_DB_PASSWORD";

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[test]
fn secrets_from_files_and_the_environment_reach_the_connector_and_nowhere_else() {
    let db = Db::mariadb();
    let n = nanos() % 1_000_000_000_000;
    let user = format!("prov_{n}");
    let password = format!("Pw-{n}-zQ7");
    db.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"
    ));
    db.exec(&format!("GRANT ALL ON ferry.* TO '{user}'@'%'"));

    let secrets = tempfile::tempdir().expect("tempdir");
    let file = secrets.path().join("db.properties");
    std::fs::write(&file, "url=mysql://127.0.0.1:53306/ferry\n").expect("file");
    let dir = secrets.path().join("creds");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::write(dir.join("user"), &user).expect("user file");
    // The workers inherit this process's environment.
    std::env::set_var(PASSWORD_VAR, &password);
    let allowed = secrets.path().to_str().expect("utf-8").to_owned();
    let cluster = Cluster::start(
        1,
        &[
            ("config.providers", "file,dir,env"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            ("config.providers.file.param.allowed.paths", &allowed),
            (
                "config.providers.dir.class",
                "org.apache.kafka.common.config.provider.DirectoryConfigProvider",
            ),
            ("config.providers.dir.param.allowed.paths", &allowed),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            (
                "config.providers.env.param.allowlist.pattern",
                "FERRY_TEST_.*",
            ),
        ],
    );

    let topic = unique("provider-rows");
    let table = unique("provider_rows").replace('-', "_");
    create_topic(&topic, 1);
    let values: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"schema":{{"type":"struct","optional":false,"fields":[{{"field":"id","type":"int32","optional":false}}]}},"payload":{{"id":{i}}}}}"#
            )
        })
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    produce(&topic, &refs);

    let name = unique("provider-sink");
    let mut config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": format!("${{file:{}:url}}", file.display()),
        "connection.user": format!("${{dir:{}:user}}", dir.display()),
        "connection.password": format!("${{env:{PASSWORD_VAR}}}"),
        "topics": topic,
        "table.name.format": table,
        "insert.mode": "upsert",
        "pk.mode": "record_value",
        "pk.fields": "id",
        "auto.create": "true",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "consumer.override.auto.offset.reset": "earliest",
    });
    // Validation resolves the placeholders (a wrong one would be named)
    // and answers with them as given.
    let mut named = config.clone();
    named["name"] = json!(name);
    let (code, validated) = cluster.request(
        0,
        "PUT",
        "/connector-plugins/JdbcSinkConnector/config/validate",
        Some(&named),
    );
    assert_eq!(code, 200, "{validated}");
    assert_eq!(validated["error_count"], 0, "{validated}");
    cluster.create(0, &name, config.clone());
    cluster.wait_running(&name, 1, Duration::from_secs(60));
    wait_for("50 rows written with the provided login", TIMEOUT, || {
        (db.count(&table)? == 50).then_some(())
    });

    // Everything the worker shows or stores has the placeholders.
    let mut shown = vec![validated.to_string()];
    for path in [
        format!("/connectors/{name}"),
        format!("/connectors/{name}/config"),
        format!("/connectors/{name}/tasks"),
        format!("/connectors/{name}/status"),
        "/connectors?expand=info&expand=status".to_string(),
    ] {
        let (code, body) = cluster.request(0, "GET", &path, None);
        assert_eq!(code, 200, "{path}: {body}");
        shown.push(body.to_string());
    }
    let (_, stored) = cluster.request(0, "GET", &format!("/connectors/{name}/config"), None);
    assert_eq!(
        stored["connection.password"],
        format!("${{env:{PASSWORD_VAR}}}")
    );
    let (_, tasks) = cluster.request(0, "GET", &format!("/connectors/{name}/tasks"), None);
    assert_eq!(
        tasks[0]["config"]["connection.user"],
        format!("${{dir:{}:user}}", dir.display()),
        "task configs keep the placeholders: {tasks}"
    );
    // The connector's config, its task config and their commit records.
    let config_topic = format!("{}-configs", cluster.name);
    let stored_records = record_count(&config_topic);
    assert!(stored_records >= 3, "{stored_records} config records");
    let records = consume_records(
        &config_topic,
        stored_records as usize,
        Duration::from_secs(30),
    );
    let task_config = records
        .iter()
        .filter_map(|r| r.value.as_deref())
        .map(String::from_utf8_lossy)
        .find(|v| v.contains("connection.user") && v.contains("task.class"));
    assert!(
        task_config.is_some_and(|v| v.contains("${dir:")),
        "the stored task config has the placeholder"
    );
    for record in records {
        if let Some(v) = record.value {
            shown.push(String::from_utf8_lossy(&v).into_owned());
        }
    }
    shown.push(cluster.workers[0].log_text());
    for text in &shown {
        assert!(
            !text.contains(&password) && !text.contains(&user),
            "a resolved secret is shown or stored:\n{text}"
        );
    }

    // A placeholder that cannot be resolved fails the connector, naming
    // the file, not hanging.
    let broken = unique("provider-broken");
    config["connection.url"] = json!(format!("${{file:{allowed}/missing.properties:url}}"));
    let (code, body) = cluster.request(
        0,
        "POST",
        "/connectors",
        Some(&json!({"name": broken, "config": config})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.to_string().contains("missing.properties"),
        "the error names the file: {body}"
    );

    db.exec(&format!("DROP TABLE IF EXISTS `{table}`"));
    db.exec(&format!("DROP USER '{user}'@'%'"));
}
