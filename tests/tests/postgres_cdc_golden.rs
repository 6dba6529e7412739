//! Golden parity with Debezium: the SQL of
//! `connectors/postgres-cdc/golden/` (every supported column type, a
//! snapshot, inserts, updates with and without `REPLICA IDENTITY FULL`,
//! deletes, an unchanged TOASTed value, a primary-key change, a
//! transaction, `ALTER TABLE`, a truncate) ran once under Debezium 3.6.1
//! on Kafka Connect 4.3.1, for two connectors side by side (the events as
//! they are, and through `ExtractNewRecordState`), which wrote
//! `golden/expected.json` (the ignored
//! test `generate_with_debezium`, run by `golden/generate.sh`), and runs
//! here under Ferry: keys, values and headers must be the same bytes, with
//! JsonConverter (schemas on), once timestamps, LSNs, transaction ids and
//! the run id are reduced to their shape.

#[path = "jdbc_support/mod.rs"]
mod jdbc_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferry_tests::kafka_connect::KafkaConnect;
use ferry_tests::*;
use jdbc_support::*;
use regex::Regex;
use serde_json::{json, Value as Json};

/// The tables of the scenario, each a topic `<prefix>.golden.<table>`.
const TABLES: &[&str] = &[
    "types",
    "orders",
    "full_identity",
    "toasted",
    "no_key",
    "zz_done",
];
const WAIT: Duration = Duration::from_secs(90);

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../connectors/postgres-cdc/golden")
}

/// Runs a SQL file with psql, statement by statement in one session.
fn run_sql(file: &str) {
    let path = golden_dir().join(file);
    let out = Command::new(deploy_script("postgres.sh"))
        .args(["psql", "-v", "ON_ERROR_STOP=1", "-q", "-f"])
        .arg(&path)
        .output()
        .expect("run postgres.sh psql");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The connectors of a run: the events as they are; the same events
/// through `ExtractNewRecordState` (deletes rewritten with `__deleted`,
/// envelope fields added to the rows and the headers); and with
/// `provide.transaction.metadata` (the envelopes' `transaction` blocks and
/// the `<prefix>.transaction` topic); and through `ByLogicalTableRouter`
/// (each table's events routed to `<prefix>.routed.<table>`, the key
/// naming the physical table).
const VARIANTS: &[&str] = &["raw", "unwrapped", "transactions", "routed"];

/// The topic a variant writes a table's events to.
fn table_topic(variant: &str, prefix: &str, table: &str) -> String {
    let schema = if variant == "routed" {
        "routed"
    } else {
        "golden"
    };
    format!("{prefix}.{schema}.{table}")
}

/// The topics a variant's records are compared on: its tables', and the
/// transaction topic when it writes one.
fn topics(variant: &str) -> Vec<&'static str> {
    let mut topics = TABLES.to_vec();
    if variant == "transactions" {
        topics.push(TRANSACTION_TOPIC);
    }
    topics
}

/// `topic.transaction`'s default, after the prefix.
const TRANSACTION_TOPIC: &str = "transaction";

/// One connector of a run: its unique names.
struct Names {
    name: String,
    prefix: String,
    slot: String,
    publication: String,
}

/// Unique names of one run's connectors; a prefix is replaced by `golden`
/// when records are compared.
fn names(tag: &str) -> Vec<Names> {
    let id = unique(tag).replace('-', "_");
    VARIANTS
        .iter()
        .map(|v| Names {
            name: format!("{id}-{v}"),
            prefix: format!("{id}{}", &v[..2]),
            slot: format!("{id}_{v}_slot"),
            publication: format!("{id}_{v}_pub"),
        })
        .collect()
}

/// A connector's configuration, the same under Debezium and Ferry.
fn connector(n: &Names, variant: &str) -> Vec<(String, String)> {
    let base = CdcSettings::new(&n.prefix, &n.slot, &n.publication, "golden\\..*");
    let mut props: Vec<(&str, &str)> = vec![("name", &n.name)];
    props.extend(base.pairs());
    if variant == "transactions" {
        props.push(("provide.transaction.metadata", "true"));
    }
    if variant == "routed" {
        props.extend([
            ("transforms", "route"),
            (
                "transforms.route.type",
                "io.debezium.transforms.ByLogicalTableRouter",
            ),
            ("transforms.route.topic.regex", "(.*)\\.golden\\.(.*)"),
            ("transforms.route.topic.replacement", "$1.routed.$2"),
        ]);
    }
    if variant == "unwrapped" {
        props.extend([
            ("transforms", "unwrap"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            (
                "transforms.unwrap.delete.tombstone.handling.mode",
                "rewrite",
            ),
            (
                "transforms.unwrap.add.fields",
                "op,table,source.ts_ms,lsn,txId:tx",
            ),
            ("transforms.unwrap.add.headers", "db,op"),
        ]);
    }
    props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn write_props(path: &Path, props: &[(String, String)]) {
    let text: String = props
        .iter()
        .map(|(k, v)| format!("{k}={}\n", v.replace('\\', "\\\\")))
        .collect();
    std::fs::write(path, text).expect("write properties");
}

/// Reduces what differs from run to run to its shape: the unique topic
/// prefix, timestamps, LSNs, transaction ids (numbers become 0, and
/// `<txId>:<lsn>` becomes `0:0`), the `sequence` LSN pairs (digits become
/// 0) and the run id header.
struct Normalizer {
    prefix: String,
    numbers: Regex,
    sequence: Regex,
    digits: Regex,
    /// `"id":"<txId>:<lsn>"` of the transaction topic and blocks.
    transaction_id: Regex,
}

impl Normalizer {
    fn new(prefix: &str) -> Self {
        Normalizer {
            prefix: prefix.to_owned(),
            numbers: Regex::new(
                r#""((?:__(?:source_)?)?(?:ts_ms|ts_us|ts_ns|lsn|txId|xmin)|__tx)":-?[0-9]+"#,
            )
            .expect("regex"),
            sequence: Regex::new(r#""sequence":"(?:[^"\\]|\\.)*""#).expect("regex"),
            digits: Regex::new("[0-9]+").expect("regex"),
            transaction_id: Regex::new(r#""id":"[0-9]+:[0-9]+""#).expect("regex"),
        }
    }

    fn text(&self, bytes: Option<&[u8]>) -> Json {
        let Some(bytes) = bytes else {
            return Json::Null;
        };
        let text = String::from_utf8_lossy(bytes).replace(&self.prefix, "golden");
        let text = self.numbers.replace_all(&text, r#""$1":0"#);
        let text = self.transaction_id.replace_all(&text, r#""id":"0:0""#);
        let text = self.sequence.replace_all(&text, |c: &regex::Captures<'_>| {
            self.digits.replace_all(&c[0], "0").into_owned()
        });
        Json::String(text.into_owned())
    }

    fn record(&self, r: &Consumed) -> Json {
        let headers: Vec<Json> = r
            .headers
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v);
                let v = if k == "__debezium.context.runId" {
                    "<uuid>".to_owned()
                } else {
                    v.replace(&self.prefix, "golden")
                };
                json!([k, v])
            })
            .collect();
        json!({
            "key": self.text(r.key.as_deref()),
            "value": self.text(r.value.as_deref()),
            "headers": headers,
        })
    }
}

/// Everything the connector wrote, per table, once the end marker came.
fn capture(
    variant: &str,
    prefix: &str,
    expected: Option<&BTreeMap<String, Vec<Json>>>,
) -> BTreeMap<String, Vec<Json>> {
    let done = table_topic(variant, prefix, "zz_done");
    wait_for("the end marker", WAIT, || {
        (!consume_records(&done, 1, Duration::from_secs(5)).is_empty()).then_some(())
    });
    let n = Normalizer::new(prefix);
    topics(variant)
        .into_iter()
        .map(|t| {
            let topic = if t == TRANSACTION_TOPIC {
                format!("{prefix}.{t}")
            } else {
                table_topic(variant, prefix, t)
            };
            // Known counts are read with a short wait for anything extra.
            let want = expected
                .and_then(|e| e.get(t))
                .map_or(usize::MAX, |r| r.len() + 1);
            let records = consume_records(&topic, want, Duration::from_secs(5));
            (t.to_owned(), records.iter().map(|r| n.record(r)).collect())
        })
        .collect()
}

fn cleanup(db: &Db, slot: &str, publication: &str) {
    wait_for("the slot to be released", WAIT, || {
        let active = db.query_text(&format!(
            "SELECT active::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ));
        (active.first().map(|r| r[0].as_str()) != Some("true")).then_some(())
    });
    let _ = db.try_exec(&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ));
    let _ = db.try_exec(&format!("DROP PUBLICATION IF EXISTS {publication}"));
}

/// Runs the scenario with the run's connectors started by `start`, and
/// returns what each wrote, per variant and table.
fn run_scenario(
    runs: &[Names],
    expected: Option<&BTreeMap<String, BTreeMap<String, Vec<Json>>>>,
    alive: &mut dyn FnMut(),
) -> BTreeMap<String, BTreeMap<String, Vec<Json>>> {
    for (v, n) in VARIANTS.iter().zip(runs) {
        let types = table_topic(v, &n.prefix, "types");
        wait_for("the snapshot", WAIT, || {
            alive();
            (consume_records(&types, 2, Duration::from_secs(5)).len() == 2).then_some(())
        });
    }
    run_sql("changes.sql");
    VARIANTS
        .iter()
        .zip(runs)
        .map(|(v, n)| {
            (
                (*v).to_owned(),
                capture(v, &n.prefix, expected.and_then(|e| e.get(*v))),
            )
        })
        .collect()
}

#[test]
#[ignore = "regenerates golden/expected.json with Debezium on Kafka Connect: golden/generate.sh"]
fn generate_with_debezium() {
    require_kafka();
    let plugin = Command::new(deploy_script("connect-plugin.sh"))
        .arg("io.debezium:debezium-connector-postgres:3.6.1.Final")
        .output()
        .expect("run connect-plugin.sh");
    assert!(
        plugin.status.success(),
        "{}",
        String::from_utf8_lossy(&plugin.stderr)
    );
    let plugin = String::from_utf8_lossy(&plugin.stdout).trim().to_owned();
    let db = Db::postgres();
    let runs = names("dbz_golden");
    run_sql("setup.sql");
    let dir = tempfile::tempdir().expect("a directory");
    let port = free_port();
    let worker = dir.path().join("worker.properties");
    write_props(
        &worker,
        &[
            ("bootstrap.servers".to_owned(), bootstrap()),
            ("listeners".to_owned(), format!("http://127.0.0.1:{port}")),
            ("plugin.path".to_owned(), plugin),
            (
                "offset.storage.file.filename".to_owned(),
                dir.path().join("offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms".to_owned(), "1000".to_owned()),
            (
                "key.converter".to_owned(),
                "org.apache.kafka.connect.json.JsonConverter".to_owned(),
            ),
            (
                "value.converter".to_owned(),
                "org.apache.kafka.connect.json.JsonConverter".to_owned(),
            ),
        ],
    );
    let files: Vec<PathBuf> = VARIANTS
        .iter()
        .zip(&runs)
        .map(|(v, n)| {
            let f = dir.path().join(format!("{v}.properties"));
            write_props(&f, &connector(n, v));
            f
        })
        .collect();
    let mut connect = KafkaConnect::new(worker, port);
    connect.start(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    let captured = run_scenario(&runs, None, &mut || {});
    connect.stop();
    for n in &runs {
        cleanup(&db, &n.slot, &n.publication);
    }
    let golden = json!({
        "reference": "Debezium 3.6.1.Final (io.debezium:debezium-connector-postgres) on Apache Kafka Connect 4.3.1, JsonConverter with schemas",
        "variants": captured,
    });
    let text = serde_json::to_string_pretty(&golden).expect("JSON") + "\n";
    std::fs::write(golden_dir().join("expected.json"), text).expect("write expected.json");
}

#[test]
fn ferry_writes_what_debezium_wrote() {
    require_kafka();
    let expected_text =
        std::fs::read_to_string(golden_dir().join("expected.json")).expect("golden/expected.json");
    let expected: Json = serde_json::from_str(&expected_text).expect("JSON");
    let expected: BTreeMap<String, BTreeMap<String, Vec<Json>>> =
        serde_json::from_value(expected["variants"].clone()).expect("variants");
    let db = Db::postgres();
    let runs = names("ferry_golden");
    run_sql("setup.sql");
    let dir = tempfile::tempdir().expect("a directory");
    let files: Vec<PathBuf> = VARIANTS
        .iter()
        .zip(&runs)
        .map(|(v, n)| {
            let props = connector(n, v);
            let pairs: Vec<(&str, &str)> = props
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            write_connector(dir.path(), v, &pairs)
        })
        .collect();
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&files);
    let mut checks = 0;
    let got = {
        let worker = &worker;
        run_scenario(&runs, Some(&expected), &mut || {
            checks += 1;
            assert!(
                worker.is_running() && checks < 15,
                "the snapshot; worker log:\n{}",
                worker.log_text()
            );
        })
    };
    let log = worker.log_text();
    worker.terminate();
    for n in &runs {
        cleanup(&db, &n.slot, &n.publication);
    }
    // Everything Ferry wrote, normalized, for a diff with the golden file.
    let actual = std::env::temp_dir().join("postgres-cdc-golden-ferry.json");
    let _ = std::fs::write(
        &actual,
        serde_json::to_string_pretty(&json!({ "variants": got })).unwrap_or_default(),
    );
    for variant in VARIANTS {
        for table in topics(variant) {
            let (want, have) = (&expected[*variant][table], &got[*variant][table]);
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                for part in ["key", "value", "headers"] {
                    let (w, h) = (w[part].to_string(), h[part].to_string());
                    let differs = w.bytes().zip(h.bytes()).position(|(a, b)| a != b);
                    let Some(at) = differs.or((w.len() != h.len()).then(|| w.len().min(h.len())))
                    else {
                        continue;
                    };
                    let around = |t: &str| {
                        let from = t.floor_char_boundary(at.saturating_sub(150));
                        let to = t.floor_char_boundary((at + 150).min(t.len()));
                        t[from..to].to_owned()
                    };
                    panic!(
                        "{variant} golden.{table} record {i}, {part}, byte {at}:\n Debezium: …{}…\n Ferry:    …{}…\n(Ferry's records: {})",
                        around(&w),
                        around(&h),
                        actual.display()
                    );
                }
            }
            assert_eq!(
                have.len(),
                want.len(),
                "{variant} golden.{table}: Ferry wrote {} records, Debezium {}; worker log:\n{log}",
                have.len(),
                want.len()
            );
        }
    }
}
