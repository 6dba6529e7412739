//! One table (or the custom query) of a source task: its offset, the
//! statement of each poll, and the conversion of rows into records.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike};
use ferry_api::{
    OffsetMap, OffsetStorageReader, Schema, SchemaBuilder, SourceRecord, Struct, Value,
};
use serde_json::Value as Json;
use sqlx::{Column, Row, TypeInfo};
use tracing::{debug, warn};

use crate::config::{Mode, SourceConfig};
use crate::db::{ColumnInfo, Pool};
use crate::dialect::TableId;
use crate::error::{JdbcError, Result};
use crate::source::query::{self, Base, Param, QuerySpec};
use crate::types::{self, Kind, NumericMapping};

pub const PARTITION_TABLE: &str = "table";
pub const PARTITION_PROTOCOL: &str = "protocol";
pub const PARTITION_QUERY: &str = "query";
pub const OFFSET_INCREMENTING: &str = "incrementing";
pub const OFFSET_TIMESTAMP: &str = "timestamp";
pub const OFFSET_TIMESTAMP_NANOS: &str = "timestamp_nanos";

/// Where a table's reading stands (Confluent's `TimestampIncrementingOffset`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offset {
    pub incrementing: Option<i64>,
    pub timestamp: Option<NaiveDateTime>,
}

impl Offset {
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::new();
        if let Some(i) = self.incrementing {
            m.insert(OFFSET_INCREMENTING.into(), Json::from(i));
        }
        if let Some(t) = self.timestamp {
            m.insert(
                OFFSET_TIMESTAMP.into(),
                Json::from(t.and_utc().timestamp_millis()),
            );
            m.insert(
                OFFSET_TIMESTAMP_NANOS.into(),
                Json::from(t.nanosecond() as i64),
            );
        }
        m
    }

    pub fn from_map(m: &OffsetMap) -> Offset {
        let incrementing = m.get(OFFSET_INCREMENTING).and_then(Json::as_i64);
        let timestamp = m
            .get(OFFSET_TIMESTAMP)
            .and_then(Json::as_i64)
            .and_then(|ms| {
                let secs = ms.div_euclid(1000);
                let nanos = m
                    .get(OFFSET_TIMESTAMP_NANOS)
                    .and_then(Json::as_i64)
                    .map(|n| n as u32)
                    .unwrap_or((ms.rem_euclid(1000) * 1_000_000) as u32);
                DateTime::from_timestamp(secs, nanos).map(|t| t.naive_utc())
            });
        Offset {
            incrementing,
            timestamp,
        }
    }
}

/// Confluent's current partition format: protocol 1 with the fully
/// qualified table name; `{"query": "query"}` in query mode.
pub fn partition_for(table: Option<&TableId>) -> OffsetMap {
    let mut m = OffsetMap::new();
    match table {
        Some(id) => {
            m.insert(PARTITION_PROTOCOL.into(), Json::from("1"));
            m.insert(PARTITION_TABLE.into(), Json::from(id.unquoted()));
        }
        None => {
            m.insert(PARTITION_QUERY.into(), Json::from("query"));
        }
    }
    m
}

/// A column of the result, as read.
#[derive(Debug, Clone)]
struct ResultColumn {
    /// Position in the row.
    index: usize,
    name: String,
    kind: Kind,
}

/// The result layout of the last query: field mapping and schema.
#[derive(Debug, Clone)]
struct Layout {
    /// Names of every column of the row, to notice schema changes.
    row_columns: Vec<String>,
    columns: Vec<ResultColumn>,
    schema: Schema,
    incrementing: Option<usize>,
    timestamps: Vec<usize>,
}

pub struct TableQuerier {
    pub table: Option<TableId>,
    base: Base,
    topic: String,
    partition: Arc<OffsetMap>,
    mode: Mode,
    incrementing: Option<String>,
    timestamps: Vec<String>,
    offset: Offset,
    layout: Option<Layout>,
    catalog: Vec<ColumnInfo>,
    pending: VecDeque<SourceRecord>,
    validated: bool,
    /// Whether the last query may have left rows behind (a full LIMIT).
    pub more: bool,
}

impl TableQuerier {
    pub fn new(
        cfg: &SourceConfig,
        table: Option<TableId>,
        offsets: &dyn OffsetStorageReader,
    ) -> Self {
        let (base, topic) = match (&table, &cfg.query) {
            (Some(id), _) => (
                Base::Table(id.clone()),
                format!("{}{}", cfg.topic_prefix, id.table),
            ),
            (None, Some(q)) => (Base::Query(q.clone()), cfg.topic_prefix.clone()),
            (None, None) => (Base::Query(String::new()), cfg.topic_prefix.clone()),
        };
        let partition = partition_for(table.as_ref());
        let stored = offsets.offset(&partition).or_else(|| {
            // Offsets of older Confluent versions: `{"table": name}`.
            table.as_ref().and_then(|id| {
                let mut v0 = OffsetMap::new();
                v0.insert(PARTITION_TABLE.into(), Json::from(id.table.clone()));
                offsets.offset(&v0)
            })
        });
        let mut offset = stored.as_ref().map(Offset::from_map).unwrap_or_default();
        if offset.timestamp.is_none() && cfg.mode.uses_timestamp() {
            if let Some(initial) = cfg.timestamp_initial.filter(|t| *t >= 0) {
                offset.timestamp = DateTime::from_timestamp_millis(initial).map(|t| t.naive_utc());
            }
        }
        let incrementing = if cfg.mode.uses_incrementing() {
            Some(cfg.incrementing_column.clone())
        } else {
            None
        };
        TableQuerier {
            table,
            base,
            topic,
            partition: Arc::new(partition),
            mode: cfg.mode,
            incrementing,
            timestamps: if cfg.mode.uses_timestamp() {
                cfg.timestamp_columns.clone()
            } else {
                Vec::new()
            },
            offset,
            layout: None,
            catalog: Vec::new(),
            pending: VecDeque::new(),
            validated: false,
            more: false,
        }
    }

    pub fn name(&self) -> String {
        match &self.table {
            Some(t) => t.unquoted(),
            None => "query".into(),
        }
    }

    pub fn offset(&self) -> &Offset {
        &self.offset
    }

    /// Reads the catalog once: finds the auto-increment column when
    /// `incrementing.column.name` is empty, and checks nullability.
    async fn prepare(&mut self, pool: &Pool, cfg: &SourceConfig) -> Result<()> {
        if self.validated {
            return Ok(());
        }
        if let Some(id) = &self.table {
            self.catalog = pool.describe_table(id).await?;
            if self.incrementing.as_deref() == Some("") {
                let auto = self
                    .catalog
                    .iter()
                    .find(|c| c.auto_increment)
                    .map(|c| c.name.clone());
                match auto {
                    Some(c) => self.incrementing = Some(c),
                    None => {
                        return Err(JdbcError::Config(format!(
                        "Cannot find an auto-increment column in {}; set incrementing.column.name",
                        id.unquoted()
                    )))
                    }
                }
            }
            if cfg.validate_non_null {
                if let Some(inc) = &self.incrementing {
                    if self.catalog.iter().any(|c| &c.name == inc && c.nullable) {
                        return Err(JdbcError::Config(format!(
                            "Cannot make incremental queries using incrementing column {inc} on {} because this column is nullable.",
                            id.unquoted()
                        )));
                    }
                }
                if !self.timestamps.is_empty()
                    && self
                        .timestamps
                        .iter()
                        .all(|t| self.catalog.iter().any(|c| &c.name == t && c.nullable))
                {
                    return Err(JdbcError::Config(format!(
                        "Cannot make incremental queries using timestamp columns {:?} on {} because all of these columns are nullable.",
                        self.timestamps,
                        id.unquoted()
                    )));
                }
            }
        } else if self.incrementing.as_deref() == Some("") {
            return Err(JdbcError::Config(
                "Query mode must be specified with incrementing.column.name for incrementing modes"
                    .into(),
            ));
        }
        self.validated = true;
        Ok(())
    }

    /// Up to `max` records: buffered ones first, else one query.
    pub async fn poll(
        &mut self,
        pool: &Pool,
        cfg: &SourceConfig,
        max: usize,
    ) -> Result<Vec<SourceRecord>> {
        if self.pending.is_empty() {
            self.prepare(pool, cfg).await?;
            self.fetch(pool, cfg).await?;
        }
        let n = self.pending.len().min(max);
        let out: Vec<SourceRecord> = self.pending.drain(..n).collect();
        if !self.pending.is_empty() {
            self.more = true;
        }
        Ok(out)
    }

    async fn fetch(&mut self, pool: &Pool, cfg: &SourceConfig) -> Result<()> {
        let d = pool.dialect();
        let stmt = query::build(&QuerySpec {
            dialect: d,
            quote: cfg.connection.quote,
            base: &self.base,
            mode: self.mode,
            incrementing: self.incrementing.as_deref(),
            timestamps: &self.timestamps,
            limit: Some(cfg.batch_max_rows),
        });
        let end = if stmt.params.contains(&Param::EndTimestamp) {
            let now = pool.current_timestamp().await?;
            Some(now - chrono::Duration::from_std(cfg.timestamp_delay).unwrap_or_default())
        } else {
            None
        };
        let epoch = DateTime::from_timestamp(0, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        let begin = self.offset.timestamp.unwrap_or(epoch);
        let inc = self.offset.incrementing.unwrap_or(-1);
        let bind: Vec<BindParam> = stmt
            .params
            .iter()
            .map(|p| match p {
                Param::Incrementing => BindParam::Int(inc),
                Param::BeginTimestamp => BindParam::Ts(begin),
                Param::EndTimestamp => BindParam::Ts(end.unwrap_or(begin)),
            })
            .collect();
        let count = self.run(pool, cfg, &stmt.sql, &bind).await?;
        self.more = self.mode.uses_incrementing() && count >= cfg.batch_max_rows;
        if self.mode == Mode::Timestamp && count >= cfg.batch_max_rows {
            self.complete_last_timestamp(pool, cfg).await?;
        }
        Ok(())
    }

    /// Timestamp mode reads `batch.max.rows` rows at a time, but rows
    /// sharing the batch's last timestamp may go past the limit: the ones
    /// read are dropped and the whole group is read by timestamp equality,
    /// so the next query can start strictly after that timestamp.
    async fn complete_last_timestamp(&mut self, pool: &Pool, cfg: &SourceConfig) -> Result<()> {
        let Some(last) = self.offset.timestamp else {
            return Ok(());
        };
        while self
            .pending
            .back()
            .is_some_and(|r| Offset::from_map(&r.source_offset).timestamp == Some(last))
        {
            self.pending.pop_back();
        }
        let stmt = query::build_equal_timestamp(
            pool.dialect(),
            cfg.connection.quote,
            &self.base,
            &self.timestamps,
        );
        self.run(pool, cfg, &stmt.sql, &[BindParam::Ts(last)])
            .await?;
        self.offset.timestamp = Some(last);
        self.more = true;
        Ok(())
    }

    /// Runs one statement and appends its rows to `pending` as records.
    async fn run(
        &mut self,
        pool: &Pool,
        cfg: &SourceConfig,
        sql: &str,
        bind: &[BindParam],
    ) -> Result<usize> {
        debug!(table = %self.name(), sql = %sql, "querying");
        let context = || format!("querying {}", self.name());
        let count = match pool {
            Pool::Pg(p) => {
                let mut q = sqlx::query(sql).persistent(false);
                for b in bind {
                    q = match b {
                        BindParam::Int(i) => q.bind(*i),
                        BindParam::Ts(t) => q.bind(*t),
                    };
                }
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(|e| JdbcError::from_sqlx(context(), e))?;
                self.refresh_catalog(pool, rows.first()).await?;
                if let (None, true, Some(first)) =
                    (&self.table, self.catalog.is_empty(), rows.first())
                {
                    self.catalog = crate::db::pg_result_catalog(p, first).await?;
                }
                self.convert_rows(
                    &rows,
                    cfg.numeric_mapping,
                    pool.dialect(),
                    types::pg_value,
                    types::pg_timestamp,
                )?
            }
            Pool::My(p) => {
                let mut q = sqlx::query(sql).persistent(false);
                for b in bind {
                    q = match b {
                        BindParam::Int(i) => q.bind(*i),
                        BindParam::Ts(t) => q.bind(*t),
                    };
                }
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(|e| JdbcError::from_sqlx(context(), e))?;
                self.refresh_catalog(pool, rows.first()).await?;
                self.convert_rows(
                    &rows,
                    cfg.numeric_mapping,
                    pool.dialect(),
                    types::mysql_value,
                    types::mysql_timestamp,
                )?
            }
            Pool::Lite(p) => {
                let mut q = sqlx::query(sql).persistent(false);
                for b in bind {
                    q = match b {
                        BindParam::Int(i) => q.bind(*i),
                        // Stored as text in the format SQLite's own
                        // CURRENT_TIMESTAMP writes, so text comparison works.
                        BindParam::Ts(t) => q.bind(t.format("%Y-%m-%d %H:%M:%S%.f").to_string()),
                    };
                }
                let rows = q
                    .fetch_all(p)
                    .await
                    .map_err(|e| JdbcError::from_sqlx(context(), e))?;
                self.refresh_catalog(pool, rows.first()).await?;
                self.convert_rows(
                    &rows,
                    cfg.numeric_mapping,
                    pool.dialect(),
                    types::sqlite_value,
                    |row, i, name, _| types::sqlite_timestamp(row, i, name),
                )?
            }
        };
        Ok(count)
    }

    /// Reads the catalog again when the result has a column it does not
    /// know (a column added upstream), so its type and nullability are right.
    async fn refresh_catalog<R: Row>(&mut self, pool: &Pool, first: Option<&R>) -> Result<()> {
        let (Some(id), Some(row)) = (&self.table, first) else {
            return Ok(());
        };
        let unknown = row
            .columns()
            .iter()
            .any(|c| !self.catalog.iter().any(|k| k.name == c.name()));
        if unknown {
            self.catalog = pool.describe_table(id).await?;
        }
        Ok(())
    }

    /// Builds (or reuses) the layout from the row's columns and the catalog.
    fn layout_for<R: Row>(
        &mut self,
        row: &R,
        mapping: NumericMapping,
        dialect: crate::dialect::Dialect,
    ) -> Result<Layout> {
        let names: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
        if let Some(l) = &self.layout {
            if l.row_columns == names {
                return Ok(l.clone());
            }
        }
        let mut columns = Vec::new();
        let mut builder = SchemaBuilder::struct_();
        if let Some(id) = &self.table {
            builder = builder.name(id.table.clone());
        }
        for (index, col) in row.columns().iter().enumerate() {
            let name = col.name().to_owned();
            let catalog = self.catalog.iter().find(|c| c.name == name);
            let (kind, nullable) = match catalog {
                Some(c) => (
                    Kind::classify(dialect, &c.type_name, c.precision, c.scale),
                    c.nullable,
                ),
                // Query mode, or a column added after the catalog was read:
                // the driver's type, nullable as far as we know.
                None => (
                    Kind::classify(dialect, col.type_info().name(), None, None),
                    true,
                ),
            };
            let Some(schema) = kind.schema(nullable, mapping) else {
                warn!(table = %self.name(), column = %name, kind = ?kind, "column type not supported; column skipped");
                continue;
            };
            builder = builder.field(name.clone(), schema);
            columns.push(ResultColumn { index, name, kind });
        }
        let find = |c: &str| columns.iter().position(|rc| rc.name == c);
        let incrementing = match &self.incrementing {
            Some(c) => Some(find(c).ok_or_else(|| {
                JdbcError::Config(format!(
                    "Incrementing column {c} not found in {}",
                    self.name()
                ))
            })?),
            None => None,
        };
        let mut timestamps = Vec::new();
        for t in &self.timestamps {
            timestamps.push(find(t).ok_or_else(|| {
                JdbcError::Config(format!("Timestamp column {t} not found in {}", self.name()))
            })?);
        }
        let layout = Layout {
            row_columns: names,
            columns,
            schema: builder.build(),
            incrementing,
            timestamps,
        };
        self.layout = Some(layout.clone());
        Ok(layout)
    }

    fn convert_rows<R: Row>(
        &mut self,
        rows: &[R],
        mapping: NumericMapping,
        dialect: crate::dialect::Dialect,
        value: impl Fn(&R, usize, &str, &Kind, NumericMapping) -> Result<Value>,
        timestamp: impl Fn(&R, usize, &str, &Kind) -> Result<Option<NaiveDateTime>>,
    ) -> Result<usize> {
        let Some(first) = rows.first() else {
            return Ok(0);
        };
        let layout = self.layout_for(first, mapping, dialect)?;
        let mut offset = self.offset.clone();
        for row in rows {
            let mut values = Vec::with_capacity(layout.columns.len());
            for c in &layout.columns {
                values.push(value(row, c.index, &c.name, &c.kind, mapping)?);
            }
            if let Some(i) = layout.incrementing {
                offset.incrementing =
                    Some(incrementing_value(&layout.columns[i].name, &values[i])?);
            }
            if !layout.timestamps.is_empty() {
                let mut ts = None;
                for &i in &layout.timestamps {
                    let c = &layout.columns[i];
                    if let Some(t) = timestamp(row, c.index, &c.name, &c.kind)? {
                        ts = Some(t);
                        break;
                    }
                }
                if ts.is_some() {
                    offset.timestamp = ts;
                }
            }
            let mut s =
                Struct::new(layout.schema.clone()).map_err(|e| JdbcError::Data(e.to_string()))?;
            for (c, v) in layout.columns.iter().zip(values) {
                s.set(&c.name, v)
                    .map_err(|e| JdbcError::Data(format!("column {}: {e}", c.name)))?;
            }
            let source_offset = if self.mode == Mode::Bulk {
                OffsetMap::new()
            } else {
                offset.to_map()
            };
            self.pending.push_back(SourceRecord::new(
                self.partition.clone(),
                source_offset,
                self.topic.clone(),
                Some(layout.schema.clone()),
                Value::Struct(s),
            ));
        }
        self.offset = offset;
        Ok(rows.len())
    }
}

enum BindParam {
    Int(i64),
    Ts(NaiveDateTime),
}

fn incrementing_value(column: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Int8(x) => Ok(*x as i64),
        Value::Int16(x) => Ok(*x as i64),
        Value::Int32(x) => Ok(*x as i64),
        Value::Int64(x) => Ok(*x),
        Value::Decimal(d) => d
            .with_scale(0)
            .ok()
            .and_then(|d| i64::try_from(d.unscaled).ok())
            .ok_or_else(|| {
                JdbcError::Data(format!(
                    "incrementing column {column} value {d} is not a 64-bit integer"
                ))
            }),
        other => Err(JdbcError::Data(format!(
            "incrementing column {column} must be an integer, found {}",
            other.kind_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_with_nanos() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        let o = Offset {
            incrementing: Some(42),
            timestamp: Some(t),
        };
        let m = o.to_map();
        assert_eq!(m.get("timestamp"), Some(&Json::from(1_700_000_000_123i64)));
        assert_eq!(m.get("timestamp_nanos"), Some(&Json::from(123_456_789i64)));
        assert_eq!(m.get("incrementing"), Some(&Json::from(42)));
        assert_eq!(Offset::from_map(&m), o);
    }

    #[test]
    fn partitions_follow_confluent_protocol_one() {
        let p = partition_for(Some(&TableId::new(
            Some("db".into()),
            Some("public".into()),
            "t",
        )));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"protocol":"1","table":"db.public.t"}"#
        );
        assert_eq!(
            serde_json::to_string(&partition_for(None)).unwrap(),
            r#"{"query":"query"}"#
        );
    }
}
