//! Writes batches of sink records: table checks (create / evolve), one
//! multi-row statement per chunk of rows with every value bound, all of a
//! `put` in one transaction, retries for connectivity errors, and per-record
//! fallback to report the records a database refuses.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use ferry_api::data::logical;
use ferry_api::{
    ConnectError, ErrantRecordReporter, Schema, SchemaType, SinkRecord, StopSignal, Value,
};
use sqlx::mysql::MySqlArguments;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{MySql, Postgres, Sqlite};
use tracing::{info, warn};

use crate::config::{InsertMode, SinkConfig};
use crate::db::{ColumnInfo, Pool};
use crate::dialect::{Dialect, TableId};
use crate::error::{JdbcError, Result};
use crate::sink::fields::{value_ref, Fields, SinkField, Source};
use crate::sink::statement::{self, pg_cast_for, Column, Target};
use crate::types::from_decimal;

/// What a run of records does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Write,
    Delete,
}

/// Consecutive records for one table with one schema and one operation.
struct Run {
    table: String,
    op: Op,
    start: usize,
    end: usize,
    plan: Arc<Plan>,
}

/// A table's current plan with the key and value schemas it was made for.
type PlanEntry = (Option<Schema>, Option<Schema>, Arc<Plan>);

/// Everything needed to write records of one schema to one table.
struct Plan {
    fields: Fields,
    rendered_table: String,
    keys: Vec<Column>,
    values: Vec<Column>,
}

pub struct Writer {
    cfg: SinkConfig,
    pool: Pool,
    /// Columns of each table seen so far.
    tables: HashMap<String, Vec<ColumnInfo>>,
    /// The last plan per table, with the schemas it was made for.
    plans: HashMap<String, PlanEntry>,
    pub connector: String,
    pub task: u32,
    /// The task's stop signal: ends a wait between retries.
    pub stop: StopSignal,
}

impl Writer {
    pub fn new(cfg: SinkConfig, pool: Pool) -> Self {
        Writer {
            cfg,
            pool,
            tables: HashMap::new(),
            plans: HashMap::new(),
            connector: String::new(),
            task: 0,
            stop: StopSignal::new(),
        }
    }

    /// Waits `retry.backoff.ms` before another attempt after `e`; when the
    /// task is stopped meanwhile, gives up with a retriable error, so that
    /// nothing past the batch is committed and it is written after a
    /// restart.
    async fn back_off(&self, e: JdbcError) -> std::result::Result<(), ConnectError> {
        match self
            .stop
            .unless_stopped(tokio::time::sleep(self.cfg.retry_backoff))
            .await
        {
            Some(()) => Ok(()),
            None => Err(ConnectError::retriable_caused_by(
                "Stopped while retrying a write to the database",
                e,
            )),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes `records`, retrying connectivity errors `max.retries` times;
    /// records the database refuses go to `reporter` when there is one.
    pub async fn write(
        &mut self,
        records: &[SinkRecord],
        reporter: Option<&Arc<dyn ErrantRecordReporter>>,
    ) -> std::result::Result<(), ConnectError> {
        let mut attempt = 0;
        loop {
            let result = self.write_all(records).await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_connectivity() && attempt < self.cfg.max_retries => {
                    attempt += 1;
                    warn!(connector = %self.connector, task = self.task, attempt, max = self.cfg.max_retries, error = %e,
                        "write failed; retrying in {:?}", self.cfg.retry_backoff);
                    self.back_off(e).await?;
                }
                Err(e) if e.is_connectivity() => {
                    return Err(ConnectError::caused_by(
                        format!(
                            "Exceeded max retries ({}) writing to the database",
                            self.cfg.max_retries
                        ),
                        e,
                    ))
                }
                Err(e @ JdbcError::Statement { .. }) | Err(e @ JdbcError::Data(_))
                    if reporter.is_some() =>
                {
                    warn!(connector = %self.connector, task = self.task, error = %e, "batch refused; writing records one by one to report the failing ones");
                    return self.write_one_by_one(records, reporter).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn write_one_by_one(
        &mut self,
        records: &[SinkRecord],
        reporter: Option<&Arc<dyn ErrantRecordReporter>>,
    ) -> std::result::Result<(), ConnectError> {
        for i in 0..records.len() {
            let one = &records[i..i + 1];
            let mut attempt = 0;
            loop {
                match self.write_all(one).await {
                    Ok(()) => break,
                    Err(e) if e.is_connectivity() && attempt < self.cfg.max_retries => {
                        attempt += 1;
                        self.back_off(e).await?;
                    }
                    Err(e)
                        if !e.is_connectivity()
                            && !matches!(
                                e,
                                JdbcError::MissingColumns { .. }
                                    | JdbcError::MissingTable(_)
                                    | JdbcError::Config(_)
                            ) =>
                    {
                        if let Some(r) = reporter {
                            r.report(&records[i], &e.into()).await?;
                        }
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Splits the records into runs, prepares every table, then writes all
    /// runs in one transaction.
    async fn write_all(&mut self, records: &[SinkRecord]) -> Result<()> {
        let mut runs: Vec<Run> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let table = self.cfg.table_for(&r.topic);
            let op = if r.value.is_null() {
                if !self.cfg.delete_enabled {
                    // As Confluent's RecordValidator: a tombstone is an
                    // error (for the errant record reporter) without deletes.
                    return Err(JdbcError::Data(format!(
                        "Sink connector is configured with 'delete.enabled=false' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={}) with a null value and null value schema.",
                        r.topic, r.kafka_partition, r.kafka_offset
                    )));
                }
                Op::Delete
            } else {
                if !matches!(r.value, Value::Struct(_)) {
                    return Err(JdbcError::Data(format!(
                        "Sink connector requires records with a non-null Struct value and non-null Struct schema, but found record at (topic='{}',partition={},offset={}) with a {} value",
                        r.topic, r.kafka_partition, r.kafka_offset, r.value.kind_name()
                    )));
                }
                Op::Write
            };
            if let Some(last) = runs.last_mut() {
                if last.end == i
                    && last.table == table
                    && last.op == op
                    && self.plan_matches(&table, r)
                {
                    last.end = i + 1;
                    continue;
                }
            }
            let plan = self.plan_for(&table, r).await?;
            runs.push(Run {
                table,
                op,
                start: i,
                end: i + 1,
                plan,
            });
        }
        if runs.is_empty() {
            return Ok(());
        }
        match &self.pool {
            Pool::Pg(p) => {
                let mut tx = p
                    .begin()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("starting a transaction", e))?;
                for run in &runs {
                    let st = self.statements(run, records);
                    for (sql, range) in &st.stmts {
                        let mut q = sqlx::query(sql);
                        let rows = &st.rows[range.clone()];
                        if st.columnar {
                            for f in &st.fields {
                                q = bind_pg_column(q, rows, f)?;
                            }
                        } else {
                            for record in rows {
                                for f in &st.fields {
                                    q = bind_pg(q, record, f)?;
                                }
                            }
                        }
                        q.execute(&mut *tx).await.map_err(|e| {
                            JdbcError::from_sqlx(format!("writing to {}", run.table), e)
                        })?;
                    }
                }
                tx.commit()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("committing", e))?;
            }
            Pool::My(p) => {
                let mut tx = p
                    .begin()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("starting a transaction", e))?;
                for run in &runs {
                    let st = self.statements(run, records);
                    for (sql, range) in &st.stmts {
                        let mut q = sqlx::query(sql);
                        for record in &st.rows[range.clone()] {
                            for f in &st.fields {
                                q = bind_mysql(q, record, f)?;
                            }
                        }
                        q.execute(&mut *tx).await.map_err(|e| {
                            JdbcError::from_sqlx(format!("writing to {}", run.table), e)
                        })?;
                    }
                }
                tx.commit()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("committing", e))?;
            }
            Pool::Lite(p) => {
                let mut tx = p
                    .begin()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("starting a transaction", e))?;
                for run in &runs {
                    let st = self.statements(run, records);
                    for (sql, range) in &st.stmts {
                        let mut q = sqlx::query(sql);
                        for record in &st.rows[range.clone()] {
                            for f in &st.fields {
                                q = bind_sqlite(q, record, f)?;
                            }
                        }
                        q.execute(&mut *tx).await.map_err(|e| {
                            JdbcError::from_sqlx(format!("writing to {}", run.table), e)
                        })?;
                    }
                }
                tx.commit()
                    .await
                    .map_err(|e| JdbcError::from_sqlx("committing", e))?;
            }
        }
        Ok(())
    }

    fn plan_matches(&self, table: &str, r: &SinkRecord) -> bool {
        match self.plans.get(table) {
            Some((k, v, _)) => {
                k.as_ref() == r.key_schema.as_ref()
                    && (r.value.is_null() || v.as_ref() == r.value_schema.as_ref())
            }
            None => false,
        }
    }

    /// The plan for records like `r`, checking (and creating or evolving)
    /// the table when the schema is new.
    async fn plan_for(&mut self, table: &str, r: &SinkRecord) -> Result<Arc<Plan>> {
        if self.plan_matches(table, r) {
            if let Some((_, _, p)) = self.plans.get(table) {
                return Ok(p.clone());
            }
        }
        let value_schema = if r.value.is_null() {
            None
        } else {
            r.value_schema.as_ref()
        };
        let fields = Fields::extract(&self.cfg, table, r.key_schema.as_ref(), value_schema)?;
        let columns = self.ensure_table(table, &fields).await?;
        let d = self.pool.dialect();
        let column = |f: &SinkField| {
            let info = columns.iter().find(|c| c.name == f.name).or_else(|| {
                columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(&f.name))
            });
            Column {
                name: info
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| f.name.clone()),
                cast: if d == Dialect::Postgres {
                    info.and_then(|c| pg_cast_for(&c.type_name))
                } else {
                    None
                },
            }
        };
        let plan = Arc::new(Plan {
            keys: fields.keys.iter().map(column).collect(),
            values: fields.values.iter().map(column).collect(),
            rendered_table: d.table(&TableId::parse(table), self.cfg.connection.quote),
            fields,
        });
        // A tombstone plan must not replace the value plan of the table.
        if value_schema.is_some() || !self.plans.contains_key(table) {
            self.plans.insert(
                table.to_owned(),
                (r.key_schema.clone(), r.value_schema.clone(), plan.clone()),
            );
        }
        Ok(plan)
    }

    /// Makes sure the table has every column of `fields`.
    async fn ensure_table(&mut self, table: &str, fields: &Fields) -> Result<Vec<ColumnInfo>> {
        let id = TableId::parse(table);
        let d = self.pool.dialect();
        let quote = self.cfg.connection.quote;
        let rendered = d.table(&id, quote);
        let mut columns = match self.tables.get(table) {
            Some(c) => c.clone(),
            None => self.pool.describe_table(&id).await?,
        };
        if columns.is_empty() {
            if !self.cfg.auto_create {
                return Err(JdbcError::MissingTable(table.to_owned()));
            }
            let keys: Vec<(&str, &Schema)> = fields
                .keys
                .iter()
                .map(|f| (f.name.as_str(), &f.schema))
                .collect();
            let values: Vec<(&str, &Schema)> = fields
                .values
                .iter()
                .map(|f| (f.name.as_str(), &f.schema))
                .collect();
            let sql = statement::create_table(d, quote, &rendered, &keys, &values)
                .map_err(JdbcError::Data)?;
            info!(connector = %self.connector, task = self.task, table, sql = %sql, "creating table");
            self.pool.execute(&sql).await?;
            columns = self.pool.describe_table(&id).await?;
        }
        let has = |cols: &[ColumnInfo], name: &str| {
            cols.iter()
                .any(|c| c.name == name || c.name.eq_ignore_ascii_case(name))
        };
        let missing: Vec<&SinkField> = fields.all().filter(|f| !has(&columns, &f.name)).collect();
        if !missing.is_empty() {
            // Another task may just have added them: look again first.
            columns = self.pool.describe_table(&id).await?;
            let missing: Vec<&SinkField> =
                fields.all().filter(|f| !has(&columns, &f.name)).collect();
            if !missing.is_empty() {
                let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
                if !self.cfg.auto_evolve {
                    return Err(JdbcError::MissingColumns {
                        table: table.to_owned(),
                        columns: names.join(", "),
                    });
                }
                for f in &missing {
                    if !f.schema.is_optional() && f.schema.default_value().is_none() {
                        return Err(JdbcError::Data(format!(
                            "Cannot ALTER TABLE {table} to add missing field {} ({}), as the field is not optional and does not have a default value",
                            f.name,
                            f.schema.schema_type()
                        )));
                    }
                }
                let add: Vec<(&str, &Schema)> = missing
                    .iter()
                    .map(|f| (f.name.as_str(), &f.schema))
                    .collect();
                for sql in
                    statement::add_columns(d, quote, &rendered, &add).map_err(JdbcError::Data)?
                {
                    info!(connector = %self.connector, task = self.task, table, sql = %sql, "evolving table");
                    self.pool.execute(&sql).await?;
                }
                columns = self.pool.describe_table(&id).await?;
            }
        }
        self.tables.insert(table.to_owned(), columns.clone());
        Ok(columns)
    }

    /// The statements of a run: the rows to write (after dropping records
    /// a later one in the run overrides), the fields each row binds, and
    /// each statement's SQL with its range of rows.
    fn statements<'a>(&self, run: &'a Run, records: &'a [SinkRecord]) -> Statements<'a> {
        let d = self.pool.dialect();
        let plan = &run.plan;
        let target = Target {
            dialect: d,
            quote: self.cfg.connection.quote,
            table: &plan.rendered_table,
            keys: &plan.keys,
            values: &plan.values,
        };
        let mut rows: Vec<&SinkRecord> = records[run.start..run.end].iter().collect();
        let mode = self.cfg.insert_mode;
        if d == Dialect::Postgres
            && run.op == Op::Write
            && mode == InsertMode::Upsert
            && !plan.keys.is_empty()
            && self.cfg.pk_mode != crate::config::PkMode::Kafka
        {
            rows = last_per_key(rows, &plan.fields.keys);
        }
        let fields: Vec<&SinkField> = match (run.op, mode) {
            (Op::Write, InsertMode::Update) => plan
                .fields
                .values
                .iter()
                .chain(plan.fields.keys.iter())
                .collect(),
            (Op::Write, _) => plan.fields.all().collect(),
            (Op::Delete, _) => plan.fields.keys.iter().collect(),
        };
        let mut stmts = Vec::new();
        let array_types: Option<Vec<&str>> =
            if d == Dialect::Postgres && run.op == Op::Write && mode != InsertMode::Update {
                fields.iter().map(|f| pg_array_type(f)).collect()
            } else {
                None
            };
        if let Some(types) = array_types {
            let sql: Arc<str> = target
                .insert_unnest(&types, mode == InsertMode::Upsert)
                .into();
            let mut start = 0;
            while start < rows.len() {
                let n = self.cfg.batch_size.min(rows.len() - start);
                stmts.push((sql.clone(), start..start + n));
                start += n;
            }
            return Statements {
                rows,
                fields,
                stmts,
                columnar: true,
            };
        }
        match (run.op, mode) {
            (Op::Write, InsertMode::Update) => {
                // One UPDATE per record; the text is shared.
                let sql: Arc<str> = target.update().into();
                for i in 0..rows.len() {
                    stmts.push((sql.clone(), i..i + 1));
                }
            }
            (op, _) => {
                let per_row = fields.len().max(1);
                let chunk = (d.max_params() / per_row).min(self.cfg.batch_size).max(1);
                let mut start = 0;
                while start < rows.len() {
                    let n = chunk.min(rows.len() - start);
                    let sql = match (op, mode) {
                        (Op::Delete, _) => target.delete(n),
                        (_, InsertMode::Upsert) => target.upsert(n),
                        _ => target.insert(n),
                    };
                    stmts.push((sql.into(), start..start + n));
                    start += n;
                }
            }
        }
        Statements {
            rows,
            fields,
            stmts,
            columnar: false,
        }
    }
}

/// The statements of one run (see `Writer::statements`).
struct Statements<'a> {
    rows: Vec<&'a SinkRecord>,
    fields: Vec<&'a SinkField>,
    stmts: Vec<(Arc<str>, std::ops::Range<usize>)>,
    /// Postgres inserts binding one array per column (`UNNEST`).
    columnar: bool,
}

/// Keeps the last record of each key, in order: Postgres refuses a
/// statement that updates one row twice, and applying the records in order
/// leaves the last one anyway. Keys are compared by hash, then by value.
fn last_per_key<'a>(rows: Vec<&'a SinkRecord>, keys: &[SinkField]) -> Vec<&'a SinkRecord> {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut seen: HashMap<u64, usize> = HashMap::with_capacity(rows.len());
    let mut keep: Vec<&SinkRecord> = Vec::with_capacity(rows.len());
    let same_key = |a: &SinkRecord, b: &SinkRecord| {
        keys.iter()
            .all(|k| value_ref(a, k.source) == value_ref(b, k.source))
    };
    for r in rows.iter().rev() {
        let mut h = state.build_hasher();
        for k in keys {
            hash_value(value_ref(r, k.source), &mut h);
        }
        let hash = h.finish();
        match seen.get(&hash) {
            Some(&i) if same_key(keep[i], r) => continue,
            Some(_) => {}
            None => {
                seen.insert(hash, keep.len());
            }
        }
        keep.push(r);
    }
    keep.reverse();
    keep
}

fn hash_value<H: std::hash::Hasher>(v: &Value, h: &mut H) {
    use std::hash::Hash;
    std::mem::discriminant(v).hash(h);
    match v {
        Value::Null => {}
        Value::Boolean(b) => b.hash(h),
        Value::Int8(x) => x.hash(h),
        Value::Int16(x) => x.hash(h),
        Value::Int32(x) | Value::Date(x) | Value::Time(x) => x.hash(h),
        Value::Int64(x) | Value::Timestamp(x) => x.hash(h),
        Value::Float32(x) => x.to_bits().hash(h),
        Value::Float64(x) => x.to_bits().hash(h),
        Value::String(s) => s.hash(h),
        Value::Bytes(b) => b.hash(h),
        Value::Decimal(d) => d.hash(h),
        Value::Array(items) => items.iter().for_each(|i| hash_value(i, h)),
        Value::Map(entries) => entries.iter().for_each(|(k, v)| {
            hash_value(k, h);
            hash_value(v, h);
        }),
        Value::Struct(s) => s.values().iter().for_each(|v| hash_value(v, h)),
    }
}

fn unsupported(f: &SinkField, v: &Value) -> JdbcError {
    JdbcError::Data(format!(
        "cannot write field {}: {} values are not supported here",
        f.name,
        v.kind_name()
    ))
}

fn to_naive_date(days: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(days as i64)
}

fn to_naive_time(ms: i32) -> NaiveTime {
    NaiveTime::from_num_seconds_from_midnight_opt(
        (ms / 1000) as u32,
        ((ms % 1000) * 1_000_000) as u32,
    )
    .unwrap_or_default()
}

fn to_naive_timestamp(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.naive_utc())
        .unwrap_or_default()
}

/// The kind of null to bind for a schema: databases type their parameters.
#[derive(Clone, Copy)]
enum NullKind {
    Bool,
    I16,
    I32,
    I64,
    F32,
    F64,
    Str,
    Bytes,
    Decimal,
    Date,
    Time,
    Timestamp,
}

fn null_kind(schema: &Schema) -> NullKind {
    match (schema.schema_type(), schema.name()) {
        (_, Some(logical::DECIMAL)) => NullKind::Decimal,
        (_, Some(logical::DATE)) => NullKind::Date,
        (_, Some(logical::TIME)) => NullKind::Time,
        (_, Some(logical::TIMESTAMP)) => NullKind::Timestamp,
        (SchemaType::Boolean, _) => NullKind::Bool,
        (SchemaType::Int8 | SchemaType::Int16, _) => NullKind::I16,
        (SchemaType::Int32, _) => NullKind::I32,
        (SchemaType::Int64, _) => NullKind::I64,
        (SchemaType::Float32, _) => NullKind::F32,
        (SchemaType::Float64, _) => NullKind::F64,
        (SchemaType::Bytes, _) => NullKind::Bytes,
        _ => NullKind::Str,
    }
}

/// Binds the scalar cases every database shares; `$decimal` and
/// `$null_decimal` say how decimals travel, `$other` handles the rest.
macro_rules! bind_scalar {
    ($q:ident, $f:ident, $v:expr, $decimal:expr, $null_decimal:expr, $other:expr) => {
        match $v {
            Value::Null => match null_kind(&$f.schema) {
                NullKind::Bool => $q.bind(None::<bool>),
                NullKind::I16 => $q.bind(None::<i16>),
                NullKind::I32 => $q.bind(None::<i32>),
                NullKind::I64 => $q.bind(None::<i64>),
                NullKind::F32 => $q.bind(None::<f32>),
                NullKind::F64 => $q.bind(None::<f64>),
                NullKind::Str => $q.bind(None::<&str>),
                NullKind::Bytes => $q.bind(None::<&[u8]>),
                NullKind::Decimal => $null_decimal($q),
                NullKind::Date => $q.bind(None::<NaiveDate>),
                NullKind::Time => $q.bind(None::<NaiveTime>),
                NullKind::Timestamp => $q.bind(None::<NaiveDateTime>),
            },
            Value::Boolean(b) => $q.bind(*b),
            Value::Int8(x) => $q.bind(*x as i16),
            Value::Int16(x) => $q.bind(*x),
            Value::Int32(x) => $q.bind(*x),
            Value::Int64(x) => $q.bind(*x),
            Value::Float32(x) => $q.bind(*x),
            Value::Float64(x) => $q.bind(*x),
            Value::String(s) => $q.bind(s.as_str()),
            Value::Bytes(b) => $q.bind(b.as_slice()),
            Value::Decimal(d) => $decimal($q, d),
            Value::Date(d) => $q.bind(to_naive_date(*d)),
            Value::Time(t) => $q.bind(to_naive_time(*t)),
            Value::Timestamp(t) => $q.bind(to_naive_timestamp(*t)),
            other => return $other($q, other),
        }
    };
}

/// Kafka coordinates bind directly; anything else is a value reference.
macro_rules! kafka_or_value {
    ($q:ident, $r:ident, $f:ident) => {
        match $f.source {
            Source::KafkaTopic => return Ok($q.bind($r.topic.as_str())),
            Source::KafkaPartition => return Ok($q.bind($r.kafka_partition)),
            Source::KafkaOffset => return Ok($q.bind($r.kafka_offset)),
            other => value_ref($r, other),
        }
    };
}

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;
type MyQuery<'q> = Query<'q, MySql, MySqlArguments>;
type LiteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

fn bind_pg<'q>(q: PgQuery<'q>, r: &'q SinkRecord, f: &SinkField) -> Result<PgQuery<'q>> {
    let v = kafka_or_value!(q, r, f);
    if let (Value::Null, SchemaType::Array) = (v, f.schema.schema_type()) {
        return bind_pg_array(q, f, &[], true);
    }
    Ok(bind_scalar!(
        q,
        f,
        v,
        |q: PgQuery<'q>, d| q.bind(from_decimal(d)),
        |q: PgQuery<'q>| q.bind(None::<bigdecimal::BigDecimal>),
        |q, other: &Value| match other {
            Value::Array(items) => bind_pg_array(q, f, items, false),
            _ => Err(unsupported(f, other)),
        }
    ))
}

fn bind_pg_array<'q>(
    q: PgQuery<'q>,
    f: &SinkField,
    items: &[Value],
    null: bool,
) -> Result<PgQuery<'q>> {
    let elem = f
        .schema
        .value_schema()
        .ok_or_else(|| JdbcError::Data(format!("array field {} has no item schema", f.name)))?;
    macro_rules! arr {
        ($t:ty, $pat:pat => $e:expr) => {{
            if null {
                return Ok(q.bind(None::<Vec<Option<$t>>>));
            }
            let mut out: Vec<Option<$t>> = Vec::with_capacity(items.len());
            for it in items {
                out.push(match it {
                    Value::Null => None,
                    $pat => Some($e),
                    other => return Err(unsupported(f, other)),
                });
            }
            Ok(q.bind(out))
        }};
    }
    match (elem.schema_type(), elem.name()) {
        (_, Some(logical::DECIMAL)) => {
            arr!(bigdecimal::BigDecimal, Value::Decimal(d) => from_decimal(d))
        }
        (_, Some(logical::DATE)) => arr!(NaiveDate, Value::Date(d) => to_naive_date(*d)),
        (_, Some(logical::TIMESTAMP)) => {
            arr!(NaiveDateTime, Value::Timestamp(t) => to_naive_timestamp(*t))
        }
        (SchemaType::Boolean, _) => arr!(bool, Value::Boolean(b) => *b),
        (SchemaType::Int8 | SchemaType::Int16, _) => arr!(i16, Value::Int16(x) => *x),
        (SchemaType::Int32, _) => arr!(i32, Value::Int32(x) => *x),
        (SchemaType::Int64, _) => arr!(i64, Value::Int64(x) => *x),
        (SchemaType::Float32, _) => arr!(f32, Value::Float32(x) => *x),
        (SchemaType::Float64, _) => arr!(f64, Value::Float64(x) => *x),
        (SchemaType::String, _) => arr!(String, Value::String(s) => s.clone()),
        _ => Err(JdbcError::Data(format!(
            "arrays of {} are not supported (field {})",
            elem.schema_type(),
            f.name
        ))),
    }
}

/// The Postgres array type a field's values travel in for `UNNEST`, or
/// `None` when the field cannot (Kafka coordinates, nested types).
fn pg_array_type(f: &SinkField) -> Option<&'static str> {
    if matches!(
        f.source,
        Source::KafkaTopic | Source::KafkaPartition | Source::KafkaOffset
    ) {
        return None;
    }
    Some(match (f.schema.schema_type(), f.schema.name()) {
        (_, Some(logical::DECIMAL)) => "numeric[]",
        (_, Some(logical::DATE)) => "date[]",
        (_, Some(logical::TIME)) => "time[]",
        (_, Some(logical::TIMESTAMP)) => "timestamp[]",
        (SchemaType::Boolean, _) => "bool[]",
        (SchemaType::Int8 | SchemaType::Int16, _) => "int2[]",
        (SchemaType::Int32, _) => "int4[]",
        (SchemaType::Int64, _) => "int8[]",
        (SchemaType::Float32, _) => "float4[]",
        (SchemaType::Float64, _) => "float8[]",
        (SchemaType::String, _) => "text[]",
        (SchemaType::Bytes, _) => "bytea[]",
        _ => return None,
    })
}

/// Binds one column of all `rows` as an array (see `pg_array_type`).
fn bind_pg_column<'q>(
    q: PgQuery<'q>,
    rows: &[&'q SinkRecord],
    f: &SinkField,
) -> Result<PgQuery<'q>> {
    macro_rules! column {
        ($t:ty, $($pat:pat => $e:expr),+) => {{
            let mut out: Vec<Option<$t>> = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(match value_ref(r, f.source) {
                    Value::Null => None,
                    $($pat => Some($e),)+
                    other => return Err(unsupported(f, other)),
                });
            }
            Ok(q.bind(out))
        }};
    }
    match (f.schema.schema_type(), f.schema.name()) {
        (_, Some(logical::DECIMAL)) => {
            column!(bigdecimal::BigDecimal, Value::Decimal(d) => from_decimal(d))
        }
        (_, Some(logical::DATE)) => column!(NaiveDate, Value::Date(d) => to_naive_date(*d)),
        (_, Some(logical::TIME)) => column!(NaiveTime, Value::Time(t) => to_naive_time(*t)),
        (_, Some(logical::TIMESTAMP)) => {
            column!(NaiveDateTime, Value::Timestamp(t) => to_naive_timestamp(*t))
        }
        (SchemaType::Boolean, _) => column!(bool, Value::Boolean(b) => *b),
        (SchemaType::Int8 | SchemaType::Int16, _) => {
            column!(i16, Value::Int8(x) => *x as i16, Value::Int16(x) => *x)
        }
        (SchemaType::Int32, _) => column!(i32, Value::Int32(x) => *x),
        (SchemaType::Int64, _) => column!(i64, Value::Int64(x) => *x),
        (SchemaType::Float32, _) => column!(f32, Value::Float32(x) => *x),
        (SchemaType::Float64, _) => column!(f64, Value::Float64(x) => *x),
        (SchemaType::String, _) => column!(&'q str, Value::String(x) => x.as_str()),
        (SchemaType::Bytes, _) => column!(&'q [u8], Value::Bytes(x) => x.as_slice()),
        _ => Err(JdbcError::Data(format!(
            "field {} cannot be written as a column array",
            f.name
        ))),
    }
}

fn bind_mysql<'q>(q: MyQuery<'q>, r: &'q SinkRecord, f: &SinkField) -> Result<MyQuery<'q>> {
    let v = kafka_or_value!(q, r, f);
    Ok(bind_scalar!(
        q,
        f,
        v,
        |q: MyQuery<'q>, d| q.bind(from_decimal(d)),
        |q: MyQuery<'q>| q.bind(None::<bigdecimal::BigDecimal>),
        |_q, other: &Value| Err(unsupported(f, other))
    ))
}

/// SQLite has no decimal type: decimals go as text, which a NUMERIC
/// column stores as a number.
fn bind_sqlite<'q>(q: LiteQuery<'q>, r: &'q SinkRecord, f: &SinkField) -> Result<LiteQuery<'q>> {
    let v = kafka_or_value!(q, r, f);
    Ok(bind_scalar!(
        q,
        f,
        v,
        |q: LiteQuery<'q>, d: &ferry_api::Decimal| q.bind(d.to_string()),
        |q: LiteQuery<'q>| q.bind(None::<String>),
        |_q, other: &Value| Err(unsupported(f, other))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{SchemaBuilder, Struct};

    #[test]
    fn last_record_per_key_wins_in_order() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int64())
            .field("v", Schema::int64())
            .build();
        let rec = |id: i64, v: i64| SinkRecord {
            value: Value::Struct(
                Struct::new(schema.clone())
                    .and_then(|s| s.put("id", id))
                    .and_then(|s| s.put("v", v))
                    .expect("struct"),
            ),
            ..SinkRecord::default()
        };
        let records = [rec(1, 1), rec(2, 2), rec(1, 3), rec(3, 4), rec(2, 5)];
        let keys = vec![SinkField {
            name: "id".into(),
            schema: Schema::int64(),
            source: Source::ValueField(0),
        }];
        let kept = last_per_key(records.iter().collect(), &keys);
        let vs: Vec<&Value> = kept
            .iter()
            .map(|r| value_ref(r, Source::ValueField(1)))
            .collect();
        assert_eq!(
            vs,
            vec![&Value::Int64(3), &Value::Int64(4), &Value::Int64(5)]
        );
    }
}
