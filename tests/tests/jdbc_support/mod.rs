//! Shared pieces of the JDBC end-to-end tests: real PostgreSQL and MariaDB
//! servers (started by `deploy/local/up.sh`), SQLite files, a pipeline of
//! source and sink connectors on one worker, and comparisons of table
//! contents rendered as text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_tests::*;
use sqlx::{Column, Executor, Row};

pub const PG_URL: &str = "postgresql://postgres@127.0.0.1:55432/postgres";
pub const PG_SINK_DB: &str = "ferry_sink";
pub const MARIADB_URL: &str = "mysql://ferry:ferry@127.0.0.1:53306/ferry";

pub fn pg_sink_url() -> String {
    format!("postgresql://postgres@127.0.0.1:55432/{PG_SINK_DB}")
}

/// The same URL in the `jdbc:` form users paste from Confluent configs.
pub fn jdbc_pg_url(db: &str) -> String {
    format!("jdbc:postgresql://127.0.0.1:55432/{db}?user=postgres")
}

pub fn deploy_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/local")
        .join(name)
}

/// A connection to one database for test setup and checks, with its own
/// runtime so tests stay synchronous.
pub struct Db {
    rt: tokio::runtime::Runtime,
    pool: sqlx::AnyPool,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MariaDb,
    Sqlite,
}

impl Db {
    pub fn connect(kind: Kind, url: &str) -> Db {
        sqlx::any::install_default_drivers();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let pool = rt
            .block_on(
                sqlx::any::AnyPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(20))
                    .connect(url),
            )
            .unwrap_or_else(|e| {
                panic!("cannot connect to {url}: {e}; start the databases with deploy/local/up.sh")
            });
        Db { rt, pool, kind }
    }

    pub fn postgres() -> Db {
        Db::connect(Kind::Postgres, PG_URL)
    }

    /// The second Postgres database sinks write to, created on first use.
    pub fn postgres_sink() -> Db {
        let admin = Db::postgres();
        let exists = admin.query_text(&format!(
            "SELECT count(*)::text FROM pg_database WHERE datname = '{PG_SINK_DB}'"
        ));
        if exists[0][0] == "0" {
            // Parallel tests may race to create it.
            let _ = admin.try_exec(&format!("CREATE DATABASE {PG_SINK_DB}"));
        }
        Db::connect(Kind::Postgres, &pg_sink_url())
    }

    pub fn mariadb() -> Db {
        Db::connect(Kind::MariaDb, MARIADB_URL)
    }

    pub fn sqlite(path: &Path) -> Db {
        let db = Db::connect(
            Kind::Sqlite,
            &format!("sqlite://{}?mode=rwc", path.display()),
        );
        db.exec("PRAGMA journal_mode=WAL");
        db
    }

    /// A CDC test's leftovers: the replication slot, dropped once the
    /// stopped worker's session lets go of it (a moment after it exits),
    /// the publication and `tables` (a comma-separated list).
    pub fn drop_cdc(&self, slot: &str, publication: &str, tables: &str) {
        self.drop_slot(slot, publication);
        self.exec(&format!("DROP TABLE {tables}"));
    }

    /// Drops a CDC connector's slot, once its session has let it go, and
    /// its publication.
    pub fn drop_slot(&self, slot: &str, publication: &str) {
        ferry_tests::wait_for("the slot to be released", Duration::from_secs(90), || {
            let active = self.query_text(&format!(
                "SELECT active::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
            ));
            (active.first().map(|r| r[0].as_str()) != Some("true")).then_some(())
        });
        self.exec(&format!("SELECT pg_drop_replication_slot('{slot}')"));
        self.exec(&format!("DROP PUBLICATION {publication}"));
    }

    pub fn exec(&self, sql: &str) {
        self.try_exec(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub fn try_exec(&self, sql: &str) -> Result<(), sqlx::Error> {
        self.rt.block_on(self.pool.execute(sql)).map(|_| ())
    }

    /// Runs a query whose columns are all text (cast in SQL), rows in order.
    pub fn query_text(&self, sql: &str) -> Vec<Vec<String>> {
        self.try_query_text(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn try_query_text(&self, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
        let rows = self.rt.block_on(sqlx::query(sql).fetch_all(&self.pool))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .unwrap_or_else(|e| {
                                panic!("column {} of {sql} is not text: {e}", r.column(i).name())
                            })
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect()
            })
            .collect())
    }

    pub fn count(&self, table: &str) -> Option<i64> {
        let sql = match self.kind {
            Kind::Postgres => format!("SELECT count(*)::text FROM \"{table}\""),
            Kind::MariaDb => format!("SELECT CAST(count(*) AS CHAR) FROM `{table}`"),
            Kind::Sqlite => format!("SELECT CAST(count(*) AS TEXT) FROM \"{table}\""),
        };
        self.try_query_text(&sql)
            .ok()
            .and_then(|r| r[0][0].parse().ok())
    }

    /// `(column, data type)` of a table, in order.
    pub fn column_types(&self, table: &str) -> Vec<(String, String)> {
        let sql = match self.kind {
            Kind::Postgres => format!(
                "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = '{table}' AND table_schema = 'public' ORDER BY ordinal_position"
            ),
            Kind::MariaDb => format!(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) FROM information_schema.columns WHERE TABLE_NAME = '{table}' AND TABLE_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION"
            ),
            Kind::Sqlite => format!("SELECT name, lower(type) FROM pragma_table_info('{table}') ORDER BY cid"),
        };
        self.query_text(&sql)
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect()
    }
}

/// A worker running a source and a sink connector; the directory holds its
/// offsets and log.
pub struct Pipeline {
    pub worker: Worker,
    pub dir: tempfile::TempDir,
    pub files: Vec<PathBuf>,
}

impl Pipeline {
    pub fn start(connectors: &[(&str, Vec<(&str, String)>)]) -> Pipeline {
        Pipeline::start_with(&[], connectors)
    }

    /// A pipeline whose worker properties end with `worker_extra`.
    pub fn start_with(
        worker_extra: &[(&str, &str)],
        connectors: &[(&str, Vec<(&str, String)>)],
    ) -> Pipeline {
        require_kafka();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut files = Vec::new();
        for (name, props) in connectors {
            let pairs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
            files.push(write_connector(dir.path(), name, &pairs));
        }
        let mut worker = Worker::new(dir.path(), worker_extra);
        worker.start(&files);
        Pipeline { worker, dir, files }
    }

    /// Starts the worker again with the same connectors and offsets.
    pub fn restart(&mut self) {
        self.worker.start(&self.files);
    }

    pub fn task_state(&self, connector: &str) -> Option<(String, String)> {
        let (code, body) = http_get(&self.worker.url(&format!("/connectors/{connector}/status")))?;
        if code != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let task = v["tasks"].get(0)?;
        Some((
            task["state"].as_str().unwrap_or_default().to_owned(),
            task["trace"].as_str().unwrap_or_default().to_owned(),
        ))
    }
}

/// Waits until `read` returns the same rows as `expected` returns.
pub fn wait_same(
    what: &str,
    timeout: Duration,
    expected: impl Fn() -> Vec<Vec<String>>,
    read: impl Fn() -> Option<Vec<Vec<String>>>,
) {
    let mut last = (Vec::new(), None);
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(what, timeout, || {
            let want = expected();
            let got = read();
            let same = got.as_ref() == Some(&want);
            last = (want, got);
            same.then_some(())
        })
    }));
    if ok.is_err() {
        panic!(
            "{what}: rows differ\nexpected: {:#?}\nfound: {:#?}",
            last.0, last.1
        );
    }
}

/// Common sink settings: upsert by the `id` field of the value.
pub fn sink_props(url: &str, topic: &str, table: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector".into(),
        ),
        ("connection.url", url.into()),
        ("topics", topic.into()),
        ("table.name.format", table.into()),
        ("insert.mode", "upsert".into()),
        ("pk.mode", "record_value".into()),
        ("pk.fields", "id".into()),
        ("auto.create", "true".into()),
        ("auto.evolve", "true".into()),
        ("consumer.override.auto.offset.reset", "earliest".into()),
    ]
}

/// Common source settings for one table.
pub fn source_props(
    url: &str,
    mode: &str,
    table: &str,
    prefix: &str,
) -> Vec<(&'static str, String)> {
    let mut p = vec![
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector".into(),
        ),
        ("connection.url", url.into()),
        ("mode", mode.into()),
        ("table.whitelist", table.into()),
        ("topic.prefix", prefix.into()),
        ("poll.interval.ms", "200".into()),
        ("batch.max.rows", "50".into()),
    ];
    if mode.contains("incrementing") {
        p.push(("incrementing.column.name", "id".into()));
    }
    if mode.contains("timestamp") {
        p.push(("timestamp.column.name", "updated_at".into()));
    }
    p
}

pub const TIMEOUT: Duration = Duration::from_secs(90);

/// A Debezium Postgres connector's settings as the CDC tests start from:
/// the server on `127.0.0.1:55432` as `postgres`, `pgoutput`, a filtered
/// publication and polls every 100 ms. Tests add or change keys with
/// [`CdcSettings::set`].
pub struct CdcSettings(Vec<(String, String)>);

impl CdcSettings {
    pub fn new(prefix: &str, slot: &str, publication: &str, include: &str) -> Self {
        let s = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        CdcSettings(vec![
            s(
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector",
            ),
            s("tasks.max", "1"),
            s("database.hostname", "127.0.0.1"),
            s("database.port", "55432"),
            s("database.user", "postgres"),
            s("database.dbname", "postgres"),
            s("database.sslmode", "disable"),
            s("topic.prefix", prefix),
            s("plugin.name", "pgoutput"),
            s("slot.name", slot),
            s("publication.name", publication),
            s("publication.autocreate.mode", "filtered"),
            s("table.include.list", include),
            s("poll.interval.ms", "100"),
        ])
    }

    /// Sets `key`, in place when it is already there.
    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
        self
    }

    /// Sets every pair of `extra`.
    pub fn set_all(self, extra: &[(&str, &str)]) -> Self {
        extra.iter().fold(self, |s, (k, v)| s.set(k, *v))
    }

    /// The settings, for `write_connector`.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The settings as the REST API takes a connector's config.
    pub fn json(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}
