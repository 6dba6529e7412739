//! The S3 sink against a real S3 server (s3s-fs, started by
//! `deploy/local/s3.sh`) and a real Kafka: records land under Confluent's
//! object names, and readers no one here wrote (boto3, the JSON parser)
//! read back exactly the records sent; a worker killed mid-transfer and an
//! S3 server restarted leave every record in S3 exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_tests::*;
use serde_json::{json, Value};

/// The local S3 server and a Python with boto3 and the format readers.
struct S3 {
    url: String,
    /// The server's data directory (a bucket is a directory in it).
    data: PathBuf,
    access_key: String,
    secret_key: String,
    python: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `deploy/local/s3.sh CMD`, for the shared server or (`Some((port,
/// state))`) a separate one a test stops and starts.
fn s3_sh(cmd: &str, instance: Option<(u16, &Path)>) -> std::process::Output {
    let mut c = Command::new(root().join("deploy/local/s3.sh"));
    c.arg(cmd);
    if let Some((port, state)) = instance {
        c.env("FERRY_S3_PORT", port.to_string())
            .env("FERRY_STATE", state);
    }
    let out = c.output().expect("deploy/local/s3.sh");
    assert!(
        out.status.success(),
        "deploy/local/s3.sh {cmd} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl S3 {
    fn start() -> S3 {
        S3::start_instance(None)
    }

    fn start_instance(instance: Option<(u16, &Path)>) -> S3 {
        s3_sh("start", instance);
        let out = s3_sh("env", instance);
        let env: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let python = Command::new(root().join("tests/readers/python.sh"))
            .output()
            .expect("tests/readers/python.sh");
        assert!(python.status.success(), "tests/readers/python.sh failed");
        S3 {
            url: env["FERRY_S3_URL"].clone(),
            data: PathBuf::from(&env["FERRY_S3_DATA"]),
            access_key: env["FERRY_S3_ACCESS_KEY"].clone(),
            secret_key: env["FERRY_S3_SECRET_KEY"].clone(),
            python: String::from_utf8_lossy(&python.stdout).trim().to_owned(),
        }
    }

    fn reader(&self, bucket: &str) -> Command {
        let mut c = Command::new(&self.python);
        c.arg(root().join("tests/readers/read_s3.py"))
            .args(["--endpoint", &self.url, "--bucket", bucket])
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key);
        c
    }

    /// A new bucket of its own for a test.
    fn bucket(&self, prefix: &str) -> String {
        // Bucket names: lowercase, digits and dashes, at most 63 characters.
        let name: String = unique(prefix)
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(63)
            .collect();
        let out = self
            .reader(&name)
            .arg("--create")
            .output()
            .expect("create bucket");
        assert!(
            out.status.success(),
            "creating bucket {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }

    /// Every object under the bucket, read back: key → records.
    fn objects(&self, bucket: &str) -> Vec<(String, Vec<Value>)> {
        let out = self.reader(bucket).output().expect("read_s3.py");
        assert!(
            out.status.success(),
            "read_s3.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("read_s3.py output");
        doc["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| {
                (
                    o["key"].as_str().unwrap_or_default().to_owned(),
                    o["records"].as_array().cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn connector(&self, name: &str, bucket: &str, topic: &str, extra: &[(&str, &str)]) -> Value {
        let mut c = json!({
            "name": name,
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "tasks.max": "1",
            "topics": topic,
            "s3.bucket.name": bucket,
            "s3.region": "us-east-1",
            "store.url": self.url,
            "aws.access.key.id": self.access_key,
            "aws.secret.access.key": self.secret_key,
            "storage.class": "io.confluent.connect.s3.storage.S3Storage",
            "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "consumer.override.auto.offset.reset": "earliest",
        });
        for (k, v) in extra {
            c[*k] = json!(v);
        }
        c
    }
}

fn start_worker(dir: &Path) -> Worker {
    let mut w = Worker::new(dir, &[]);
    w.start(&[]);
    w
}

fn create_connector(w: &Worker, config: Value) {
    let name = config["name"].as_str().unwrap_or_default().to_owned();
    let (status, body) = call(
        "PUT",
        &w.url(&format!("/connectors/{name}/config")),
        Some(&config),
    );
    assert!(
        status == 201 || status == 200,
        "create {name}: {status} {body}"
    );
}

fn keys_of(objects: &[(String, Vec<Value>)]) -> Vec<String> {
    objects.iter().map(|(k, _)| k.clone()).collect()
}

#[test]
fn json_files_are_cut_by_flush_size_under_confluents_names() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("json");
    let topic = unique("s3-json");
    create_topic(&topic, 2);
    let values: Vec<String> = (0..7)
        .map(|i| {
            json!({"n": i, "s": format!("ü{i}"), "f": 1.5, "l": [1, 2], "m": {"a": null}})
                .to_string()
        })
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Outgoing {
            partition: Some(if i < 4 { 0 } else { 1 }),
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector("s3-json", &bucket, &topic, &[("flush.size", "2")]),
    );
    // Partition 0 holds 4 records (two files), partition 1 holds 3 (one
    // file; the third record waits in an open file).
    let objects = wait_for("three objects", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (o.len() >= 3).then_some(o)
    });
    assert_eq!(
        keys_of(&objects),
        vec![
            format!("topics/{topic}/partition=0/{topic}+0+0000000000.json"),
            format!("topics/{topic}/partition=0/{topic}+0+0000000002.json"),
            format!("topics/{topic}/partition=1/{topic}+1+0000000000.json"),
        ]
    );
    let sent: Vec<Value> = values
        .iter()
        .map(|v| serde_json::from_str(v).unwrap_or_default())
        .collect();
    assert_eq!(objects[0].1, sent[0..2]);
    assert_eq!(objects[1].1, sent[2..4]);
    assert_eq!(objects[2].1, sent[4..6]);
    let status = wait_for("connector running", Duration::from_secs(30), || {
        let (code, body) = call("GET", &w.url("/connectors/s3-json/status"), None);
        (code == 200 && body["tasks"][0]["state"] == "RUNNING").then_some(body)
    });
    assert_eq!(status["connector"]["state"], "RUNNING");
}

#[test]
fn struct_values_gzip_and_field_partitions() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("field");
    let topic = unique("s3-field");
    create_topic(&topic, 1);
    let schema = json!({"type": "struct", "fields": [
        {"field": "id", "type": "int32", "optional": false},
        {"field": "region", "type": "string", "optional": false},
        {"field": "amount", "type": "bytes", "optional": true,
         "name": "org.apache.kafka.connect.data.Decimal", "parameters": {"scale": "2"}},
        {"field": "ok", "type": "boolean", "optional": false}]});
    let regions = ["eu", "us", "eu", "eu", "us", "ap"];
    let values: Vec<String> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"schema": schema, "payload": {"id": i, "region": r, "amount": "AQA=", "ok": i % 2 == 0}})
                .to_string()
        })
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .map(|v| Outgoing {
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-field",
            &bucket,
            &topic,
            &[
                ("flush.size", "6"),
                ("value.converter.schemas.enable", "true"),
                ("s3.compression.type", "gzip"),
                (
                    "partitioner.class",
                    "io.confluent.connect.storage.partitioner.FieldPartitioner",
                ),
                ("partition.field.name", "region,ok"),
                ("json.decimal.format", "NUMERIC"),
                ("topics.dir", "backup/data"),
            ],
        ),
    );
    // Six records reach flush.size: every open file is committed at once.
    let objects = wait_for("the files of six records", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (o.iter().map(|(_, r)| r.len()).sum::<usize>() >= 6).then_some(o)
    });
    let expect = |dir: &str, first: usize| {
        format!("backup/data/{topic}/{dir}/{topic}+0+{first:010}.json.gz")
    };
    assert_eq!(
        keys_of(&objects),
        vec![
            expect("region=ap/ok=false", 5),
            expect("region=eu/ok=false", 3),
            expect("region=eu/ok=true", 0),
            expect("region=us/ok=false", 1),
            expect("region=us/ok=true", 4),
        ]
    );
    let eu_true = &objects[2].1;
    assert_eq!(
        eu_true,
        &vec![
            json!({"id": 0, "region": "eu", "amount": 2.56, "ok": true}),
            json!({"id": 2, "region": "eu", "amount": 2.56, "ok": true}),
        ]
    );
}

#[test]
fn time_based_partitions_rotate_on_record_time() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("hourly");
    let topic = unique("s3-time");
    create_topic(&topic, 1);
    // 2024-01-05T13:00:00Z, then minutes later; the last in the next hour.
    let base: i64 = 1_704_459_600_000;
    let times = [
        0,
        60_000,
        600_000,
        3_000_000,
        3_600_000 + 1,
        3_600_000 + 2,
        7_300_000,
    ];
    let values: Vec<String> = (0..times.len())
        .map(|i| json!({"i": i}).to_string())
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .zip(times)
        .map(|(v, t)| Outgoing {
            value: Some(v.as_bytes()),
            timestamp: Some(base + t),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-time",
            &bucket,
            &topic,
            &[
                ("flush.size", "1000"),
                (
                    "partitioner.class",
                    "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
                ),
                ("path.format", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"),
                ("partition.duration.ms", "3600000"),
                ("locale", "en-US"),
                ("timezone", "Europe/Paris"),
                ("timestamp.extractor", "Record"),
                ("rotate.interval.ms", "600000"),
            ],
        ),
    );
    // rotate.interval.ms: a record 10 minutes or more after the file's
    // first starts the next; a change of hour too (the partition changed).
    let objects = wait_for("four committed files", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (o.len() >= 4).then_some(o)
    });
    let path = |hour: u32, first: usize| {
        format!("topics/{topic}/year=2024/month=01/day=05/hour={hour}/{topic}+0+{first:010}.json")
    };
    assert_eq!(
        keys_of(&objects),
        vec![path(14, 0), path(14, 2), path(14, 3), path(15, 4)]
    );
    let counts: Vec<usize> = objects.iter().map(|(_, r)| r.len()).collect();
    assert_eq!(counts, vec![2, 1, 1, 2]);
}

#[test]
fn raw_bytes_keys_and_headers_files() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("bytes");
    let topic = unique("s3-bytes");
    create_topic(&topic, 1);
    let payloads: Vec<Vec<u8>> = (0u8..4).map(|i| vec![0, 255, i, b'\n']).collect();
    let keys: Vec<String> = (0..4).map(|i| format!("key-{i}")).collect();
    let records: Vec<Outgoing> = payloads
        .iter()
        .zip(&keys)
        .map(|(p, k)| Outgoing {
            key: Some(k.as_bytes()),
            value: Some(p),
            headers: &[("h", b"v1"), ("n", b"42")],
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-bytes",
            &bucket,
            &topic,
            &[
                ("flush.size", "4"),
                (
                    "format.class",
                    "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
                ),
                (
                    "value.converter",
                    "org.apache.kafka.connect.converters.ByteArrayConverter",
                ),
                ("format.bytearray.separator", "|"),
                ("store.kafka.keys", "true"),
                (
                    "keys.format.class",
                    "io.confluent.connect.s3.format.json.JsonFormat",
                ),
                ("store.kafka.headers", "true"),
                (
                    "headers.format.class",
                    "io.confluent.connect.s3.format.json.JsonFormat",
                ),
            ],
        ),
    );
    let objects = wait_for("three objects", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (o.len() >= 3).then_some(o)
    });
    let base = format!("topics/{topic}/partition=0/{topic}+0+0000000000");
    assert_eq!(
        keys_of(&objects),
        vec![
            format!("{base}.bin"),
            format!("{base}.headers.json"),
            format!("{base}.keys.json"),
        ]
    );
    let mut raw = Vec::new();
    for p in &payloads {
        raw.extend_from_slice(p);
        raw.push(b'|');
    }
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    assert_eq!(objects[0].1, vec![json!({"$bytes": b64})]);
    assert_eq!(
        objects[1].1[0],
        json!({"headers": [{"key": "h", "value": "v1"}, {"key": "n", "value": "42"}]})
    );
    let key_lines: Vec<Value> = keys.iter().map(|k| json!(k)).collect();
    assert_eq!(objects[2].1, key_lines);
}

#[test]
fn a_missing_bucket_or_a_wrong_secret_fails_the_task_with_the_reason() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("auth");
    let topic = unique("s3-auth");
    create_topic(&topic, 1);
    produce_records(
        &topic,
        &[Outgoing {
            value: Some(b"{\"a\":1}"),
            ..Outgoing::default()
        }],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    // A missing bucket fails the task at start; a wrong secret at the first
    // upload (a bucket check refused with 403 is let through, as Confluent
    // lets it through for write-only credentials).
    let cases = [
        (
            "s3-missing",
            unique("no-such").to_ascii_lowercase(),
            s3.secret_key.clone(),
            "does not exist",
        ),
        (
            "s3-secret",
            bucket.clone(),
            "wrong".to_owned(),
            "SignatureDoesNotMatch",
        ),
    ];
    for (name, b, secret, reason) in cases {
        let mut c = s3.connector(name, &b, &topic, &[("flush.size", "1")]);
        c["aws.secret.access.key"] = json!(secret);
        create_connector(&w, c);
        let trace = wait_for("the task to fail", Duration::from_secs(60), || {
            let (code, body) = call("GET", &w.url(&format!("/connectors/{name}/status")), None);
            (code == 200 && body["tasks"][0]["state"] == "FAILED").then(|| {
                body["tasks"][0]["trace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
        });
        assert!(trace.contains(reason), "{name}: {trace}");
    }
    // A malformed config is a 400 naming the key.
    let mut bad = s3.connector("s3-bad", &bucket, &topic, &[("flush.size", "1")]);
    bad["s3.part.size"] = json!("1024");
    let (code, body) = call(
        "PUT",
        &w.url("/connector-plugins/S3SinkConnector/config/validate"),
        Some(&bad),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body["error_count"].as_i64().unwrap_or(0) >= 1, "{body}");
    let errors = body.to_string();
    assert!(errors.contains("s3.part.size"), "{errors}");
}

#[test]
fn avro_files_carry_confluents_schema_and_logical_types() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("avro");
    let topic = unique("s3-avro");
    create_topic(&topic, 1);
    let schema = json!({"type": "struct", "name": "com.acme.Order", "version": 2, "fields": [
        {"field": "id", "type": "int64", "optional": false},
        {"field": "tiny", "type": "int8", "optional": false},
        {"field": "note", "type": "string", "optional": true},
        {"field": "price", "type": "bytes", "optional": false,
         "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}},
        {"field": "day", "type": "int32", "optional": false, "name": "org.apache.kafka.connect.data.Date", "version": 1},
        {"field": "at", "type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
        {"field": "tags", "type": "map", "keys": {"type": "string", "optional": false},
         "values": {"type": "int32", "optional": false}, "optional": false}]});
    let values: Vec<String> = (0..3)
        .map(|i| {
            json!({"schema": schema, "payload": {
                "id": 10_000_000_000i64 + i, "tiny": -3, "note": if i == 1 { Value::Null } else { json!(format!("n{i}")) },
                // 12.34 and 1.00 as BASE64 of the unscaled value
                "price": if i == 0 { "BNI=" } else { "ZA==" },
                "day": 19_727 + i, "at": 1_704_459_600_000i64 + i, "tags": {"a": i}}})
            .to_string()
        })
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .map(|v| Outgoing {
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-avro",
            &bucket,
            &topic,
            &[
                ("flush.size", "3"),
                (
                    "format.class",
                    "io.confluent.connect.s3.format.avro.AvroFormat",
                ),
                ("value.converter.schemas.enable", "true"),
                ("avro.codec", "snappy"),
            ],
        ),
    );
    let objects = wait_for("an Avro file", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (!o.is_empty()).then_some(o)
    });
    assert_eq!(
        keys_of(&objects),
        vec![format!(
            "topics/{topic}/partition=0/{topic}+0+0000000000.avro"
        )]
    );
    assert_eq!(
        objects[0].1,
        vec![
            json!({"id": 10_000_000_000i64, "tiny": -3, "note": "n0", "price": {"$decimal": "12.34"},
                   "day": {"$date": "2024-01-05"}, "at": {"$timestamp": "2024-01-05T13:00:00.000+00:00"}, "tags": {"a": 0}}),
            json!({"id": 10_000_000_001i64, "tiny": -3, "note": null, "price": {"$decimal": "1.00"},
                   "day": {"$date": "2024-01-06"}, "at": {"$timestamp": "2024-01-05T13:00:00.001+00:00"}, "tags": {"a": 1}}),
            json!({"id": 10_000_000_002i64, "tiny": -3, "note": "n2", "price": {"$decimal": "1.00"},
                   "day": {"$date": "2024-01-07"}, "at": {"$timestamp": "2024-01-05T13:00:00.002+00:00"}, "tags": {"a": 2}}),
        ]
    );
    // The schema in the file's header is the one Confluent's AvroData
    // writes for this Connect schema, byte for byte.
    let out = s3.reader(&bucket).output().expect("read_s3.py");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let file_schema = &doc["objects"][0]["schema"];
    assert_eq!(file_schema["codec"], "snappy");
    assert_eq!(
        file_schema["text"],
        concat!(
            r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"id","type":"long"},"#,
            r#"{"name":"tiny","type":{"type":"int","connect.type":"int8"}},{"name":"note","type":["null","string"],"default":null},"#,
            r#"{"name":"price","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
            r#"{"name":"day","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}},"#,
            r#"{"name":"at","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null},"#,
            r#"{"name":"tags","type":{"type":"map","values":"int"}}],"connect.version":2,"connect.name":"com.acme.Order"}"#
        )
    );
    // Apache Avro's own Java reader reads the file, and writes the schema
    // it parsed from the header back exactly as the header holds it.
    let file = s3.data.join(&bucket).join(&objects[0].0);
    let out = Command::new(root().join("tests/readers/avro-java.sh"))
        .arg(&file)
        .output()
        .expect("avro-java.sh");
    assert!(
        out.status.success(),
        "avro-java.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java: Value = serde_json::from_slice(&out.stdout).expect("avro-java.sh output");
    assert_eq!(java["codec"], "snappy");
    assert_eq!(java["reparsed_schema"], java["header_schema"]);
    assert_eq!(java["header_schema"], file_schema["text"]);
    assert_eq!(java["records"].as_array().map(Vec::len), Some(3));
    assert_eq!(java["records"][1]["note"], Value::Null);
    assert_eq!(java["records"][0]["id"], 10_000_000_000i64);
}

/// Connector properties for a standalone worker's command line.
fn properties_file(dir: &Path, config: &Value) -> PathBuf {
    let path = dir.join(format!(
        "{}.properties",
        config["name"].as_str().unwrap_or("c")
    ));
    let text: String = config
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}\n", v.as_str().unwrap_or_default()))
        .collect();
    std::fs::write(&path, text).expect("connector properties");
    path
}

/// Records in complete objects, and the offsets found in two of them.
fn count_records(s3: &S3, bucket: &str) -> (usize, Vec<i64>) {
    let objects = s3.objects(bucket);
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicates = Vec::new();
    for (_, records) in &objects {
        for r in records {
            let i = r["i"].as_i64().unwrap_or(-1);
            if !seen.insert(i) {
                duplicates.push(i);
            }
        }
    }
    (seen.len(), duplicates)
}

/// Complete `.json` objects of a bucket, counted in the server's data
/// directory: a cheap trigger while the transfer runs (the checks read
/// through the S3 API).
fn files_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                files_in(&p)
            } else {
                // Objects only: s3s-fs keeps metadata in dot files beside them.
                let name = e.file_name();
                let name = name.to_string_lossy();
                usize::from(!name.starts_with('.') && name.contains('+') && name.ends_with(".json"))
            }
        })
        .sum()
}

#[test]
fn killed_twice_and_s3_restarted_every_record_lands_once() {
    require_kafka();
    let state = tempfile::tempdir().expect("s3 state");
    let port = free_port();
    let s3 = S3::start_instance(Some((port, state.path())));
    let bucket = s3.bucket("crash");
    let objects_dir = s3.data.join(&bucket);
    let topic = unique("s3-crash");
    const PARTITIONS: usize = 4;
    const N: usize = 1_000_000;
    const FLUSH: usize = 10_000;
    const FILES: usize = N / FLUSH;
    create_topic(&topic, PARTITIONS as i32);
    let values: Vec<String> = (0..N)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{i:040}\"}}"))
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Outgoing {
            partition: Some((i % PARTITIONS) as i32),
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let config = s3.connector(
        "s3-crash",
        &bucket,
        &topic,
        &[
            ("flush.size", &FLUSH.to_string()),
            ("s3.part.size", "5242880"),
        ],
    );
    let props = properties_file(dir.path(), &config);
    let mut w = Worker::new(dir.path(), &[("offset.flush.interval.ms", "200")]);
    // Twice: SIGKILL once some files are complete, then start again.
    for floor in [FILES / 10, FILES / 4] {
        w.start(std::slice::from_ref(&props));
        wait_for("files to be committed", Duration::from_secs(120), || {
            (files_in(&objects_dir) >= floor).then_some(())
        });
        w.kill();
    }
    // The S3 server stopped while the worker writes, and started again
    // once the worker met the outage.
    w.start(std::slice::from_ref(&props));
    wait_for("more files", Duration::from_secs(120), || {
        (files_in(&objects_dir) >= FILES * 3 / 10).then_some(())
    });
    s3_sh("stop", Some((port, state.path())));
    wait_for(
        "the worker to meet the outage",
        Duration::from_secs(60),
        || w.log_text().contains("S3 upload failed").then_some(()),
    );
    s3_sh("start", Some((port, state.path())));
    // 250,000 records per partition, a multiple of flush.size: every
    // record ends in a complete file.
    wait_for("every file", Duration::from_secs(300), || {
        (files_in(&objects_dir) >= FILES).then_some(())
    });
    let (count, duplicates) = count_records(&s3, &bucket);
    assert!(
        duplicates.is_empty(),
        "offsets in two objects: {:?}",
        &duplicates[..duplicates.len().min(10)]
    );
    assert_eq!(count, N);
    // Files start at multiples of flush.size, as a run without crashes cuts them.
    let objects = s3.objects(&bucket);
    assert_eq!(objects.len(), FILES);
    for (key, records) in objects {
        let start: usize = key
            .rsplit('+')
            .next()
            .and_then(|s| s.strip_suffix(".json"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        assert_eq!(start % FLUSH, 0, "{key}");
        assert_eq!(records.len(), FLUSH, "{key}");
    }
    s3_sh("stop", Some((port, state.path())));
}

#[test]
fn parquet_files_read_the_same_in_pyarrow_and_duckdb() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("parquet");
    let topic = unique("s3-parquet");
    create_topic(&topic, 1);
    let schema = json!({"type": "struct", "name": "com.acme.Reading", "fields": [
        {"field": "id", "type": "int64", "optional": false},
        {"field": "small", "type": "int16", "optional": false},
        {"field": "name", "type": "string", "optional": true},
        {"field": "ratio", "type": "double", "optional": false},
        {"field": "ok", "type": "boolean", "optional": false},
        {"field": "raw", "type": "bytes", "optional": true},
        {"field": "price", "type": "bytes", "optional": false,
         "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}},
        {"field": "day", "type": "int32", "optional": false, "name": "org.apache.kafka.connect.data.Date", "version": 1},
        {"field": "at", "type": "int64", "optional": false, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
        {"field": "tags", "type": "array", "items": {"type": "string", "optional": false}, "optional": false},
        {"field": "attrs", "type": "map", "keys": {"type": "string", "optional": false},
         "values": {"type": "int32", "optional": true}, "optional": false},
        {"field": "codes", "type": "map", "keys": {"type": "int32", "optional": false},
         "values": {"type": "string", "optional": false}, "optional": false},
        {"field": "where", "type": "struct", "optional": true, "fields": [
            {"field": "lat", "type": "float", "optional": false},
            {"field": "city", "type": "string", "optional": false}]}]});
    let values: Vec<String> = (0..5)
        .map(|i| {
            json!({"schema": schema, "payload": {
                "id": i, "small": -i, "name": if i == 2 { Value::Null } else { json!(format!("r{i}")) },
                "ratio": i as f64 / 4.0, "ok": i % 2 == 0, "raw": if i == 1 { Value::Null } else { json!("AAH/") },
                "price": "BNI=", "day": 19_723 + i, "at": 1_704_067_200_000i64 + i * 1000,
                "tags": (0..i).map(|t| format!("t{t}")).collect::<Vec<_>>(),
                "attrs": {"a": i, "b": null}, "codes": [[i, "x"]],
                "where": if i == 3 { Value::Null } else { json!({"lat": 1.5, "city": "Oslo"}) }}})
            .to_string()
        })
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .map(|v| Outgoing {
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-parquet",
            &bucket,
            &topic,
            &[
                ("flush.size", "5"),
                (
                    "format.class",
                    "io.confluent.connect.s3.format.parquet.ParquetFormat",
                ),
                ("value.converter.schemas.enable", "true"),
            ],
        ),
    );
    let objects = wait_for("a Parquet file", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (!o.is_empty()).then_some(o)
    });
    assert_eq!(
        keys_of(&objects),
        vec![format!(
            "topics/{topic}/partition=0/{topic}+0+0000000000.snappy.parquet"
        )]
    );
    let rows = &objects[0].1;
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0],
        json!({"id": 0, "small": 0, "name": "r0", "ratio": 0.0, "ok": true, "raw": {"$bytes": "AAH/"},
               "price": {"$decimal": "12.34"}, "day": {"$date": "2024-01-01"},
               "at": {"$timestamp": "2024-01-01T00:00:00.000+00:00"}, "tags": [],
               "attrs": {"a": 0, "b": null}, "codes": [{"key": 0, "value": "x"}],
               "where": {"lat": 1.5, "city": "Oslo"}})
    );
    assert_eq!(rows[1]["raw"], Value::Null);
    assert_eq!(rows[2]["name"], Value::Null);
    assert_eq!(rows[3]["where"], Value::Null);
    assert_eq!(rows[4]["tags"], json!(["t0", "t1", "t2", "t3"]));
    let out = s3.reader(&bucket).output().expect("read_s3.py");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let info = &doc["objects"][0]["schema"];
    assert_eq!(info["codec"], "SNAPPY");
    assert_eq!(info["row_groups"], 1);
    // Avro-model readers find the schema where parquet-avro puts it.
    let avro: Value =
        serde_json::from_str(info["avro"].as_str().unwrap_or("null")).expect("avro schema");
    assert_eq!(avro["name"], "Reading");
    assert_eq!(avro["namespace"], "com.acme");
}

/// Settings that send the records a sink refuses to `dlq`, with the
/// error's context in headers.
fn dead_letter_queue(dlq: &str) -> [(&'static str, &str); 4] {
    [
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", dlq),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]
}

/// A source connector reading `bucket` back.
fn source_connector(
    s3: &S3,
    name: &str,
    bucket: &str,
    format: &str,
    extra: &[(&str, &str)],
) -> Value {
    let mut c = json!({
        "name": name,
        "connector.class": "io.confluent.connect.s3.source.S3SourceConnector",
        "tasks.max": "2",
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": s3.url,
        "aws.access.key.id": s3.access_key,
        "aws.secret.access.key": s3.secret_key,
        "format.class": format,
        "s3.poll.interval.ms": "1000",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    for (k, v) in extra {
        c[*k] = json!(v);
    }
    c
}

/// Records of a topic, per partition in offset order: key, value, headers.
type Consumed3 = BTreeMap<i32, Vec<(Option<Vec<u8>>, Option<Vec<u8>>, Vec<(String, Vec<u8>)>)>>;

fn by_partition(records: Vec<Consumed>) -> Consumed3 {
    let mut out = Consumed3::new();
    for r in records {
        out.entry(r.partition)
            .or_default()
            .push((r.key, r.value, r.headers));
    }
    out
}

#[test]
fn a_topic_backed_up_to_s3_and_restored_is_the_same_topic() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("restore");
    let topic = unique("s3-restore");
    const PARTITIONS: i32 = 3;
    const PER_PARTITION: usize = 100;
    create_topic(&topic, PARTITIONS);
    let rows: Vec<(String, String)> = (0..PER_PARTITION * PARTITIONS as usize)
        .map(|i| {
            (
                format!("key-{i}"),
                json!({"i": i, "name": format!("n{i}"), "tags": [i % 7], "f": 0.5}).to_string(),
            )
        })
        .collect();
    let records: Vec<Outgoing> = rows
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Outgoing {
            partition: Some((i % PARTITIONS as usize) as i32),
            key: Some(k.as_bytes()),
            value: Some(v.as_bytes()),
            headers: &[("origin", b"backup-test"), ("n", b"7")],
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);
    let original = by_partition(consume_records(&topic, rows.len(), Duration::from_secs(60)));

    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-backup",
            &bucket,
            &topic,
            &[
                ("flush.size", "10"),
                (
                    "partitioner.class",
                    "io.confluent.connect.storage.partitioner.HourlyPartitioner",
                ),
                ("locale", "en"),
                ("timezone", "UTC"),
                ("timestamp.extractor", "Record"),
                ("store.kafka.keys", "true"),
                (
                    "keys.format.class",
                    "io.confluent.connect.s3.format.json.JsonFormat",
                ),
                ("store.kafka.headers", "true"),
                (
                    "headers.format.class",
                    "io.confluent.connect.s3.format.json.JsonFormat",
                ),
            ],
        ),
    );
    // Value, keys and headers files.
    let files = 3 * PARTITIONS as usize * PER_PARTITION / 10;
    wait_for("the backup", Duration::from_secs(60), || {
        (files_in(&s3.data.join(&bucket)) >= files).then_some(())
    });
    let (code, _) = call("DELETE", &w.url("/connectors/s3-backup"), None);
    assert_eq!(code, 204);
    recreate_topic(&topic, PARTITIONS);

    let restore = source_connector(
        &s3,
        "s3-restore",
        &bucket,
        "io.confluent.connect.s3.format.json.JsonFormat",
        &[("record.batch.max.size", "7")],
    );
    create_connector(&w, restore.clone());
    // Stopped once part of it is restored: the restart (the connector
    // from a file: a standalone worker keeps no configs) carries on from
    // the stored offsets, without repeating a record.
    wait_for("part of the restore", Duration::from_secs(60), || {
        (record_count(&topic) > 0).then_some(())
    });
    assert!(w.terminate().success());
    w.start(&[properties_file(dir.path(), &restore)]);
    wait_for("the whole topic", Duration::from_secs(60), || {
        (record_count(&topic) >= rows.len() as i64).then_some(())
    });
    let again = by_partition(consume_records(&topic, rows.len(), Duration::from_secs(60)));
    assert_eq!(record_count(&topic), rows.len() as i64, "no record twice");
    assert_eq!(again, original);
}

#[test]
fn avro_and_parquet_backups_restore_their_schemas() {
    require_kafka();
    let s3 = S3::start();
    let schema = json!({"type": "struct", "name": "com.acme.Item", "optional": false, "fields": [
        {"field": "id", "type": "int64", "optional": false},
        {"field": "qty", "type": "int16", "optional": true},
        {"field": "price", "type": "bytes", "optional": false,
         "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}},
        {"field": "at", "type": "int64", "optional": false, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
        {"field": "tags", "type": "map", "keys": {"type": "string", "optional": false},
         "values": {"type": "string", "optional": false}, "optional": false}]});
    let payloads: Vec<Value> = (0..20)
        .map(|i| {
            json!({"id": i, "qty": if i % 3 == 0 { Value::Null } else { json!(i) }, "price": "BNI=",
                        "at": 1_704_067_200_000i64 + i, "tags": {"k": format!("v{i}")}})
        })
        .collect();
    for format in ["avro.AvroFormat", "parquet.ParquetFormat"] {
        let class = format!("io.confluent.connect.s3.format.{format}");
        let bucket = s3.bucket("schemas");
        let topic = unique("s3-schemas");
        create_topic(&topic, 1);
        let values: Vec<String> = payloads
            .iter()
            .map(|p| json!({"schema": schema, "payload": p}).to_string())
            .collect();
        let records: Vec<Outgoing> = values
            .iter()
            .map(|v| Outgoing {
                value: Some(v.as_bytes()),
                ..Outgoing::default()
            })
            .collect();
        produce_records(&topic, &records);
        let dir = tempfile::tempdir().expect("tempdir");
        let w = start_worker(dir.path());
        create_connector(
            &w,
            s3.connector(
                "s3-schemas-sink",
                &bucket,
                &topic,
                &[
                    ("flush.size", "20"),
                    ("format.class", &class),
                    ("value.converter.schemas.enable", "true"),
                ],
            ),
        );
        wait_for("the backup", Duration::from_secs(60), || {
            (!s3.objects(&bucket).is_empty()).then_some(())
        });
        let (code, _) = call("DELETE", &w.url("/connectors/s3-schemas-sink"), None);
        assert_eq!(code, 204);
        let restored = unique("s3-schemas-restored");
        create_topic(&restored, 1);
        // The backup's topic replayed into another one, by a transform.
        create_connector(
            &w,
            source_connector(
                &s3,
                "s3-schemas-source",
                &bucket,
                &class,
                &[
                    ("tasks.max", "1"),
                    ("value.converter.schemas.enable", "true"),
                    ("transforms", "rename"),
                    (
                        "transforms.rename.type",
                        "org.apache.kafka.connect.transforms.RegexRouter",
                    ),
                    ("transforms.rename.regex", ".*"),
                    ("transforms.rename.replacement", &restored),
                ],
            ),
        );
        let got = consume_records(&restored, payloads.len(), Duration::from_secs(60));
        assert_eq!(got.len(), payloads.len(), "{format}");
        for (r, want) in got.iter().zip(&payloads) {
            let v: Value =
                serde_json::from_slice(r.value.as_deref().unwrap_or_default()).expect("json");
            assert_eq!(&v["payload"], want, "{format}");
            assert_eq!(v["schema"]["name"], "com.acme.Item", "{format}");
            let types: Vec<&str> = v["schema"]["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| f["type"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(
                types,
                ["int64", "int16", "bytes", "int64", "map"],
                "{format}"
            );
        }
        let (code, _) = call("DELETE", &w.url("/connectors/s3-schemas-source"), None);
        assert_eq!(code, 204);
    }
}

#[test]
fn records_the_format_cannot_write_go_to_the_dead_letter_queue() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("dlq");
    let topic = unique("s3-dlq");
    let dlq = unique("s3-dlq-dead");
    create_topic(&topic, 1);
    let good = |i: i32| {
        json!({"schema": {"type": "struct", "fields": [{"field": "i", "type": "int32", "optional": false}]},
                               "payload": {"i": i}}).to_string()
    };
    // A string, not a struct: Parquet files hold records.
    let bad = json!({"schema": {"type": "string", "optional": false}, "payload": "not a record"})
        .to_string();
    let values = [good(0), bad.clone(), good(1), bad, good(2)];
    let records: Vec<Outgoing> = values
        .iter()
        .map(|v| Outgoing {
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);
    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-dlq",
            &bucket,
            &topic,
            &[
                ("flush.size", "3"),
                (
                    "format.class",
                    "io.confluent.connect.s3.format.parquet.ParquetFormat",
                ),
                ("value.converter.schemas.enable", "true"),
            ]
            .iter()
            .chain(&dead_letter_queue(&dlq))
            .copied()
            .collect::<Vec<_>>(),
        ),
    );
    let dead = consume_records(&dlq, 2, Duration::from_secs(60));
    assert_eq!(dead.len(), 2);
    for d in &dead {
        assert_eq!(d.value.as_deref(), Some(values[1].as_bytes()));
        let message = d
            .header("__connect.errors.exception.message")
            .unwrap_or_default();
        assert!(message.contains("ParquetFormat"), "{message}");
    }
    // The three records the format can write make one file.
    let objects = wait_for("the good records' file", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (!o.is_empty()).then_some(o)
    });
    assert_eq!(
        objects[0].1,
        vec![json!({"i": 0}), json!({"i": 1}), json!({"i": 2})]
    );
}

/// Every format under every partitioner, in one worker: the names are
/// Confluent's and the readers read back the records sent.
#[test]
fn every_format_under_every_partitioner() {
    require_kafka();
    let s3 = S3::start();
    let topic = unique("s3-matrix");
    create_topic(&topic, 2);
    // 2024-01-05T13:00:00Z: records 0-3 in hour 13, 4-5 in hour 14.
    let base: i64 = 1_704_459_600_000;
    let schema = json!({"type": "struct", "name": "com.acme.Event", "fields": [
        {"field": "id", "type": "int32", "optional": false},
        {"field": "kind", "type": "string", "optional": false},
        {"field": "score", "type": "double", "optional": true}]});
    let rows: Vec<(i32, &str)> = vec![(0, "a"), (1, "b"), (2, "a"), (3, "b"), (4, "a"), (5, "a")];
    let values: Vec<String> = rows
        .iter()
        .map(|(id, kind)| {
            json!({"schema": schema, "payload": {"id": id, "kind": kind, "score": f64::from(*id) / 2.0}})
                .to_string()
        })
        .collect();
    let records: Vec<Outgoing> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Outgoing {
            partition: Some(0),
            value: Some(v.as_bytes()),
            timestamp: Some(
                base + if i < 4 {
                    i as i64 * 60_000
                } else {
                    3_600_000 + i as i64
                },
            ),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);
    let formats = [
        (
            "json",
            "io.confluent.connect.s3.format.json.JsonFormat",
            ".json",
        ),
        (
            "avro",
            "io.confluent.connect.s3.format.avro.AvroFormat",
            ".avro",
        ),
        (
            "parquet",
            "io.confluent.connect.s3.format.parquet.ParquetFormat",
            ".snappy.parquet",
        ),
    ];
    let partitioners: [(&str, &[(&str, &str)]); 3] = [
        ("default", &[]),
        (
            "field",
            &[
                (
                    "partitioner.class",
                    "io.confluent.connect.storage.partitioner.FieldPartitioner",
                ),
                ("partition.field.name", "kind"),
            ],
        ),
        (
            "hourly",
            &[
                (
                    "partitioner.class",
                    "io.confluent.connect.storage.partitioner.HourlyPartitioner",
                ),
                ("locale", "en-US"),
                ("timezone", "UTC"),
                ("timestamp.extractor", "Record"),
            ],
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    let mut cases = Vec::new();
    for (fname, class, ext) in formats {
        for (pname, settings) in partitioners {
            let bucket = s3.bucket(&format!("m-{fname}-{pname}"));
            let mut extra: Vec<(&str, &str)> = vec![
                ("flush.size", "6"),
                ("format.class", class),
                ("value.converter.schemas.enable", "true"),
            ];
            extra.extend_from_slice(settings);
            create_connector(
                &w,
                s3.connector(&format!("m-{fname}-{pname}"), &bucket, &topic, &extra),
            );
            cases.push((fname, pname, ext, bucket));
        }
    }
    let sent: Vec<Value> = rows
        .iter()
        .map(|(id, kind)| json!({"id": id, "kind": kind, "score": f64::from(*id) / 2.0}))
        .collect();
    for (fname, pname, ext, bucket) in cases {
        let objects = wait_for("the files", Duration::from_secs(90), || {
            let o = s3.objects(&bucket);
            (o.iter().map(|(_, r)| r.len()).sum::<usize>() >= 6).then_some(o)
        });
        let name =
            |dir: &str, start: usize| format!("topics/{topic}/{dir}/{topic}+0+{start:010}{ext}");
        let want_keys = match pname {
            "default" => vec![name("partition=0", 0)],
            "field" => vec![name("kind=a", 0), name("kind=b", 1)],
            _ => vec![
                name("year=2024/month=01/day=05/hour=13", 0),
                name("year=2024/month=01/day=05/hour=14", 4),
            ],
        };
        assert_eq!(keys_of(&objects), want_keys, "{fname} × {pname}");
        // Every record once, as sent (in offset order within each file).
        let mut got: Vec<Value> = objects.into_iter().flat_map(|(_, r)| r).collect();
        got.sort_by_key(|v| v["id"].as_i64());
        assert_eq!(got, sent, "{fname} × {pname}");
    }
}

#[test]
fn tombstones_backed_up_with_their_keys_are_restored_as_tombstones() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("tombstones");
    let topic = unique("s3-tombstones");
    create_topic(&topic, 1);
    // Every third record a tombstone: each set of five files holds both.
    let rows: Vec<(String, Option<String>)> = (0..30)
        .map(|i| {
            let value = (i % 3 != 2).then(|| json!({"i": i}).to_string());
            (format!("key-{i}"), value)
        })
        .collect();
    let records: Vec<Outgoing> = rows
        .iter()
        .map(|(k, v)| Outgoing {
            partition: Some(0),
            key: Some(k.as_bytes()),
            value: v.as_deref().map(str::as_bytes),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);

    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-tombstones",
            &bucket,
            &topic,
            &[
                ("flush.size", "5"),
                ("behavior.on.null.values", "write"),
                ("store.kafka.keys", "true"),
                (
                    "keys.format.class",
                    "io.confluent.connect.s3.format.json.JsonFormat",
                ),
            ],
        ),
    );
    // Six sets: a value file, its keys file, and the tombstones' keys file.
    wait_for("the backup", Duration::from_secs(60), || {
        (files_in(&s3.data.join(&bucket)) >= 18).then_some(())
    });
    let tombstone_keys = s3
        .objects(&bucket)
        .into_iter()
        .filter(|(name, _)| name.contains("/tombstone/") && name.ends_with(".keys.json"))
        .count();
    assert_eq!(tombstone_keys, 6, "{:?}", keys_of(&s3.objects(&bucket)));
    let (code, _) = call("DELETE", &w.url("/connectors/s3-tombstones"), None);
    assert_eq!(code, 204);
    recreate_topic(&topic, 1);

    create_connector(
        &w,
        source_connector(
            &s3,
            "s3-tombstones-restore",
            &bucket,
            "io.confluent.connect.s3.format.json.JsonFormat",
            &[],
        ),
    );
    wait_for("the restore", Duration::from_secs(60), || {
        (record_count(&topic) >= rows.len() as i64).then_some(())
    });
    // Each file set comes back in the order of its files' first offsets
    // (the tombstones after the values they were cut with), so compared
    // by key: every record, the tombstones null, none twice.
    let mut restored: Vec<(String, Option<i64>)> =
        consume_records(&topic, rows.len(), Duration::from_secs(60))
            .into_iter()
            .map(|r| {
                let key = String::from_utf8(r.key.expect("a key")).expect("UTF-8");
                let value = r.value.map(|v| {
                    serde_json::from_slice::<Value>(&v).expect("JSON")["i"]
                        .as_i64()
                        .expect("i")
                });
                (key, value)
            })
            .collect();
    restored.sort();
    let mut expected: Vec<(String, Option<i64>)> = (0..30)
        .map(|i| (format!("key-{i}"), (i % 3 != 2).then_some(i)))
        .collect();
    expected.sort();
    assert_eq!(restored, expected);
    assert_eq!(record_count(&topic), 30, "no record twice");
}

#[test]
fn a_key_its_format_cannot_write_sends_the_record_to_the_dead_letter_queue() {
    require_kafka();
    let s3 = S3::start();
    let bucket = s3.bucket("dlq-key");
    let topic = unique("s3-dlq-key");
    let dlq = unique("s3-dlq-key-dead");
    create_topic(&topic, 1);
    // Keys with schemas: bytes for even records, a string (which
    // ByteArrayFormat cannot write) for odd ones.
    let keys: Vec<String> = (0..5)
        .map(|i| {
            if i % 2 == 0 {
                json!({"schema": {"type": "bytes"}, "payload": "AAE="}).to_string()
            } else {
                json!({"schema": {"type": "string"}, "payload": format!("k{i}")}).to_string()
            }
        })
        .collect();
    let values: Vec<String> = (0..5).map(|i| json!({"i": i}).to_string()).collect();
    let records: Vec<Outgoing> = keys
        .iter()
        .zip(&values)
        .map(|(k, v)| Outgoing {
            key: Some(k.as_bytes()),
            value: Some(v.as_bytes()),
            ..Outgoing::default()
        })
        .collect();
    produce_records(&topic, &records);
    let dir = tempfile::tempdir().expect("tempdir");
    let w = start_worker(dir.path());
    create_connector(
        &w,
        s3.connector(
            "s3-dlq-key",
            &bucket,
            &topic,
            &[
                ("flush.size", "3"),
                (
                    "key.converter",
                    "org.apache.kafka.connect.json.JsonConverter",
                ),
                ("key.converter.schemas.enable", "true"),
                ("store.kafka.keys", "true"),
                (
                    "keys.format.class",
                    "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
                ),
            ]
            .iter()
            .chain(&dead_letter_queue(&dlq))
            .copied()
            .collect::<Vec<_>>(),
        ),
    );
    let dead = consume_records(&dlq, 2, Duration::from_secs(60));
    assert_eq!(dead.len(), 2);
    for (d, i) in dead.iter().zip([1, 3]) {
        assert_eq!(d.value.as_deref(), Some(values[i].as_bytes()));
        let message = d
            .header("__connect.errors.exception.message")
            .unwrap_or_default();
        assert!(message.contains("ByteArrayFormat"), "{message}");
    }
    // The value file and the keys file hold the same three records.
    let objects = wait_for("the good records' files", Duration::from_secs(60), || {
        let o = s3.objects(&bucket);
        (o.len() >= 2).then_some(o)
    });
    let value = objects
        .iter()
        .find(|(name, _)| name.ends_with(".json"))
        .expect("a value file");
    assert_eq!(
        value.1,
        vec![json!({"i": 0}), json!({"i": 2}), json!({"i": 4})]
    );
    let keys = objects
        .iter()
        .find(|(name, _)| name.ends_with(".keys.bin"))
        .expect("a keys file");
    // Three keys of two bytes, each followed by the separator.
    assert_eq!(keys.1, vec![json!({"$bytes": "AAEKAAEKAAEK"})]);
}
