//! Connection pools for the three databases and the catalog queries both
//! connectors need (tables, columns, the database's clock).

use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDateTime;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Executor, Row};

use crate::dialect::{Dialect, TableId};
use crate::error::{JdbcError, Result};
use crate::url::ConnectionSpec;

/// One pool per connector or task; sqlx reconnects broken connections on
/// the next acquire, which is what makes a database restart survivable.
#[derive(Clone, Debug)]
pub enum Pool {
    Pg(PgPool),
    My(MySqlPool),
    Lite(SqlitePool),
}

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// Lower-case database type name (`int4`, `numeric`, `_text`,
    /// `bigint unsigned`, `decimal(10,2)`, ...).
    pub type_name: String,
    pub nullable: bool,
    pub precision: Option<i64>,
    pub scale: Option<i64>,
    pub auto_increment: bool,
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Pool {
    /// Builds a pool. Connections are opened lazily, so a database that is
    /// down at start surfaces as a connectivity error on first use.
    pub fn connect(spec: &ConnectionSpec, max_connections: u32) -> Result<Pool> {
        match spec {
            ConnectionSpec::Server {
                dialect,
                host,
                port,
                database,
                user,
                password,
                params,
            } => match dialect {
                Dialect::Postgres => {
                    let mut o = PgConnectOptions::new().host(host).port(*port);
                    if let Some(d) = database {
                        o = o.database(d);
                    }
                    if let Some(u) = user {
                        o = o.username(u);
                    }
                    if let Some(p) = password {
                        o = o.password(p);
                    }
                    for (k, v) in params {
                        if k == "sslmode" {
                            if let Ok(mode) = sqlx::postgres::PgSslMode::from_str(v) {
                                o = o.ssl_mode(mode);
                            }
                        } else if k == "ApplicationName" || k == "application_name" {
                            o = o.application_name(v);
                        }
                    }
                    // Timestamps without zone are read and written as UTC,
                    // Confluent's default `db.timezone`.
                    o = o.options([("TimeZone", "UTC")]);
                    Ok(Pool::Pg(
                        PgPoolOptions::new()
                            .max_connections(max_connections)
                            .acquire_timeout(ACQUIRE_TIMEOUT)
                            .connect_lazy_with(o),
                    ))
                }
                Dialect::MySql => {
                    let mut o = MySqlConnectOptions::new()
                        .host(host)
                        .port(*port)
                        .timezone(Some("+00:00".into()));
                    if let Some(d) = database {
                        o = o.database(d);
                    }
                    if let Some(u) = user {
                        o = o.username(u);
                    }
                    if let Some(p) = password {
                        o = o.password(p);
                    }
                    Ok(Pool::My(
                        MySqlPoolOptions::new()
                            .max_connections(max_connections)
                            .acquire_timeout(ACQUIRE_TIMEOUT)
                            .connect_lazy_with(o),
                    ))
                }
                Dialect::Sqlite => Err(JdbcError::Config("sqlite has no server".into())),
            },
            ConnectionSpec::Sqlite { path } => {
                let o = if path == ":memory:" {
                    SqliteConnectOptions::from_str("sqlite::memory:")
                        .map_err(|e| JdbcError::Config(e.to_string()))?
                } else {
                    SqliteConnectOptions::new()
                        .filename(path)
                        .create_if_missing(true)
                        // Readers and one writer in other processes at once.
                        .journal_mode(SqliteJournalMode::Wal)
                }
                .busy_timeout(Duration::from_secs(30));
                Ok(Pool::Lite(
                    SqlitePoolOptions::new()
                        .max_connections(max_connections)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .connect_lazy_with(o),
                ))
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Pg(_) => Dialect::Postgres,
            Pool::My(_) => Dialect::MySql,
            Pool::Lite(_) => Dialect::Sqlite,
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::Pg(p) => p.close().await,
            Pool::My(p) => p.close().await,
            Pool::Lite(p) => p.close().await,
        }
    }

    /// Runs a statement without results.
    pub async fn execute(&self, sql: &str) -> Result<()> {
        let r = match self {
            Pool::Pg(p) => p.execute(sql).await.map(|_| ()),
            Pool::My(p) => p.execute(sql).await.map(|_| ()),
            Pool::Lite(p) => p.execute(sql).await.map(|_| ()),
        };
        r.map_err(|e| JdbcError::from_sqlx(format!("executing {sql}"), e))
    }

    /// The database's current time in UTC.
    pub async fn current_timestamp(&self) -> Result<NaiveDateTime> {
        let sql = self.dialect().current_timestamp_sql();
        let r = match self {
            Pool::Pg(p) => {
                sqlx::query_scalar::<_, NaiveDateTime>(sql)
                    .fetch_one(p)
                    .await
            }
            Pool::My(p) => {
                sqlx::query_scalar::<_, NaiveDateTime>(sql)
                    .fetch_one(p)
                    .await
            }
            Pool::Lite(p) => sqlx::query_scalar::<_, String>(sql)
                .fetch_one(p)
                .await
                .and_then(|s| {
                    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f")
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
                }),
        };
        r.map_err(|e| JdbcError::from_sqlx("reading the database time", e))
    }

    /// The database (catalog) the connection uses.
    pub async fn current_catalog(&self) -> Result<Option<String>> {
        let r = match self {
            Pool::Pg(p) => sqlx::query_scalar::<_, String>("SELECT current_database()")
                .fetch_one(p)
                .await
                .map(Some),
            Pool::My(p) => {
                sqlx::query_scalar::<_, Option<String>>("SELECT DATABASE()")
                    .fetch_one(p)
                    .await
            }
            Pool::Lite(_) => Ok(None),
        };
        r.map_err(|e| JdbcError::from_sqlx("reading the current database", e))
    }

    /// Tables (and views, as `table.types` asks) visible to the connection.
    pub async fn list_tables(&self, types: &[String]) -> Result<Vec<TableId>> {
        let want_tables = types.iter().any(|t| t.eq_ignore_ascii_case("TABLE"));
        let want_views = types.iter().any(|t| t.eq_ignore_ascii_case("VIEW"));
        let mut kinds = Vec::new();
        if want_tables {
            kinds.push("'BASE TABLE'");
        }
        if want_views {
            kinds.push("'VIEW'");
        }
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds = kinds.join(",");
        let r: std::result::Result<Vec<TableId>, sqlx::Error> = match self {
            Pool::Pg(p) => {
                let sql = format!(
                    "SELECT current_database()::text, table_schema::text, table_name::text FROM information_schema.tables \
                     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type IN ({kinds}) \
                     ORDER BY 2, 3"
                );
                sqlx::query(&sql).fetch_all(p).await.map(|rows| {
                    rows.iter()
                        .map(|r| TableId::new(r.get(0), r.get(1), r.get::<String, _>(2)))
                        .collect()
                })
            }
            Pool::My(p) => {
                let sql = format!(
                    "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) FROM information_schema.tables \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ({kinds}) ORDER BY 1, 2"
                );
                sqlx::query(&sql).fetch_all(p).await.map(|rows| {
                    rows.iter()
                        .map(|r| TableId::new(r.get(0), None, r.get::<String, _>(1)))
                        .collect()
                })
            }
            Pool::Lite(p) => {
                let mut k = Vec::new();
                if want_tables {
                    k.push("'table'");
                }
                if want_views {
                    k.push("'view'");
                }
                let sql = format!(
                    "SELECT name FROM sqlite_master WHERE type IN ({}) AND name NOT LIKE 'sqlite_%' ORDER BY name",
                    k.join(",")
                );
                sqlx::query(&sql).fetch_all(p).await.map(|rows| {
                    rows.iter()
                        .map(|r| TableId::new(None, None, r.get::<String, _>(0)))
                        .collect()
                })
            }
        };
        r.map_err(|e| JdbcError::from_sqlx("listing tables", e))
    }

    /// The table's columns in order; empty when the table does not exist.
    pub async fn describe_table(&self, id: &TableId) -> Result<Vec<ColumnInfo>> {
        let r = match self {
            Pool::Pg(p) => {
                let sql = "SELECT column_name::text, \
                       CASE WHEN data_type = 'ARRAY' THEN udt_name::text \
                            WHEN data_type = 'USER-DEFINED' THEN udt_name::text ELSE data_type::text END, \
                       is_nullable = 'YES', numeric_precision::int8, numeric_scale::int8, \
                       (COALESCE(column_default, '') LIKE 'nextval(%' OR is_identity = 'YES') \
                     FROM information_schema.columns \
                     WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 \
                     ORDER BY ordinal_position";
                sqlx::query(sql)
                    .bind(id.schema.as_deref())
                    .bind(&id.table)
                    .fetch_all(p)
                    .await
                    .map(|rows| {
                        rows.iter()
                            .map(|r| ColumnInfo {
                                name: r.get(0),
                                type_name: r.get::<String, _>(1).to_ascii_lowercase(),
                                nullable: r.get(2),
                                precision: r.get(3),
                                scale: r.get(4),
                                auto_increment: r.get(5),
                            })
                            .collect()
                    })
            }
            Pool::My(p) => {
                let sql = "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), IS_NULLABLE = 'YES', \
                       CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED), \
                       CAST(EXTRA AS CHAR) LIKE '%auto_increment%' \
                     FROM information_schema.columns \
                     WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                     ORDER BY ORDINAL_POSITION";
                sqlx::query(sql)
                    .bind(id.catalog.as_deref().or(id.schema.as_deref()))
                    .bind(&id.table)
                    .fetch_all(p)
                    .await
                    .map(|rows| {
                        rows.iter()
                            .map(|r| ColumnInfo {
                                name: r.get(0),
                                type_name: r.get::<String, _>(1).to_ascii_lowercase(),
                                nullable: r.get::<i64, _>(2) != 0,
                                precision: r.get(3),
                                scale: r.get(4),
                                auto_increment: r.get::<i64, _>(5) != 0,
                            })
                            .collect()
                    })
            }
            Pool::Lite(p) => {
                let sql =
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid";
                sqlx::query(sql)
                    .bind(&id.table)
                    .fetch_all(p)
                    .await
                    .map(|rows| {
                        let pk_count = rows.iter().filter(|r| r.get::<i64, _>(3) > 0).count();
                        rows.iter()
                            .map(|r| {
                                let declared = r.get::<String, _>(1).to_ascii_lowercase();
                                let (precision, scale) = precision_scale(&declared);
                                let pk = r.get::<i64, _>(3) > 0;
                                ColumnInfo {
                                    name: r.get(0),
                                    // A single INTEGER PRIMARY KEY is the rowid,
                                    // SQLite's auto-increment.
                                    auto_increment: pk && pk_count == 1 && declared == "integer",
                                    type_name: declared,
                                    nullable: r.get::<i64, _>(2) == 0 && !pk,
                                    precision,
                                    scale,
                                }
                            })
                            .collect()
                    })
            }
        };
        r.map_err(|e| JdbcError::from_sqlx(format!("describing table {}", id.unquoted()), e))
    }
}

/// Column metadata of a Postgres result, for query mode: each column that
/// comes straight from a table column gets that column's type, precision,
/// scale and nullability (what JDBC's `ResultSetMetaData` reports).
pub async fn pg_result_catalog(
    pool: &PgPool,
    row: &sqlx::postgres::PgRow,
) -> Result<Vec<ColumnInfo>> {
    use sqlx::Column;
    let mut out = Vec::new();
    for c in row.columns() {
        let (Some(rel), Some(att)) = (c.relation_id(), c.relation_attribute_no()) else {
            continue;
        };
        let r = sqlx::query(
            "SELECT format_type(a.atttypid, NULL), a.atttypmod, NOT a.attnotnull \
             FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum = $2",
        )
        .bind(rel)
        .bind(att)
        .fetch_optional(pool)
        .await
        .map_err(|e| JdbcError::from_sqlx("describing the query's columns", e))?;
        let Some(r) = r else { continue };
        let type_name: String = r.get(0);
        let typmod: i32 = r.get(1);
        // numeric's typmod packs precision and scale after a 4-byte header.
        let (precision, scale) = if type_name == "numeric" && typmod >= 4 {
            let m = typmod - 4;
            (Some(((m >> 16) & 0xffff) as i64), Some((m & 0xffff) as i64))
        } else {
            (None, None)
        };
        out.push(ColumnInfo {
            name: c.name().to_owned(),
            type_name,
            nullable: r.get(2),
            precision,
            scale,
            auto_increment: false,
        });
    }
    Ok(out)
}

/// `numeric(10,2)` → (10, 2); `varchar(20)` → (20, None).
pub fn precision_scale(declared: &str) -> (Option<i64>, Option<i64>) {
    let Some(open) = declared.find('(') else {
        return (None, None);
    };
    let inner = declared[open + 1..]
        .trim_end_matches(|c| c != ')')
        .trim_end_matches(')');
    let mut parts = inner.split(',').map(|p| p.trim().parse::<i64>().ok());
    let p = parts.next().flatten();
    let s = parts.next().flatten();
    (p, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_precision_and_scale() {
        assert_eq!(precision_scale("numeric(10,2)"), (Some(10), Some(2)));
        assert_eq!(precision_scale("decimal( 5 )"), (Some(5), None));
        assert_eq!(precision_scale("integer"), (None, None));
        assert_eq!(precision_scale("int(11) unsigned"), (Some(11), None));
    }
}
