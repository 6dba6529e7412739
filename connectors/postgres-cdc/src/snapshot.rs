//! The snapshot phase: every captured table read in one consistent view,
//! each row a read (`op: r`) event, as Debezium's
//! `RelationalSnapshotChangeEventSource` writes them: tables in the order
//! of their `schema.table` names, the `source.snapshot` markers (`first`,
//! `first_in_data_collection`, `true`, `last_in_data_collection`, `last`),
//! and offsets that say a snapshot is running until the last record, whose
//! offset says it is complete.
//!
//! The view is the slot's exported snapshot when the slot was created for
//! this snapshot (streaming then starts at the slot's consistent point and
//! misses nothing), otherwise a serializable read-only transaction and the
//! WAL position read in it. A blocking snapshot (an `execute-snapshot`
//! signal of that type) reads the tables it names in a read-only
//! serializable transaction of its own while streaming waits, its records
//! at the stream's position.
//! `snapshot.select.statement.overrides` (or a blocking snapshot's
//! `additional-conditions`) replace a table by a SELECT. Rows are read through a cursor,
//! `snapshot.fetch.size` at a time, as text, and turned into values by the
//! same code as streamed tuples.

use sqlx::{Executor, PgConnection, Row};
use tracing::info;

use crate::catalog;
use crate::chunks::{ChunkReaders, TablePlan};
use crate::config::{CdcConfig, TableFilter};
use crate::events::{ColumnMeta, EventError, Operation, SnapshotRecord, SourceInfo, TableSchema};
use crate::lsn::Lsn;
use crate::notifications::{java_hash_set_order, Notice, Outbox, INITIAL_SNAPSHOT};
use crate::offsets::{PgOffset, SnapshotType};
use crate::pgoutput::Column;
use crate::stream::{ChangeEvent, StreamSettings};

/// A captured table to read.
#[derive(Debug, Clone)]
pub struct SnapshotTable {
    pub oid: u32,
    pub schema: String,
    pub table: String,
}

/// The captured tables, in Debezium's snapshot order
/// ([`TableFilter::snapshot_rank`], then `schema.table`).
pub async fn captured_tables(
    db: &mut PgConnection,
    filter: &TableFilter,
) -> Result<Vec<SnapshotTable>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT c.oid::int8, n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'",
    )
    .fetch_all(db)
    .await?;
    let mut tables = Vec::with_capacity(rows.len());
    for r in rows {
        let (oid, schema, table): (i64, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if filter.captures(&schema, &table) {
            tables.push(SnapshotTable {
                oid: u32::try_from(oid).unwrap_or(0),
                schema,
                table,
            });
        }
    }
    tables.sort_by_cached_key(|t| {
        (
            filter.snapshot_rank(&t.schema, &t.table),
            format!("{}.{}", t.schema, t.table),
        )
    });
    Ok(tables)
}

/// A failure while snapshotting.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{what}: {source}")]
    Database {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("a snapshot connection stopped before its chunk was read")]
    ReaderLost,
}

fn failed(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> SnapshotError {
    let what = what.into();
    move |source| SnapshotError::Database { what, source }
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A select list of `columns` in the stream's text format, parsed by the
/// same code as streamed tuples: `format('%s')` writes a value with its
/// type's output function, as pgoutput does (a cast to text differs for
/// some types: booleans, blank-padded char).
pub fn text_projection(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| {
            let c = quote_ident(c);
            format!("CASE WHEN {c} IS NULL THEN NULL ELSE format('%s', {c}) END")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the snapshot's transaction sees the database.
pub enum View {
    /// The snapshot a new slot exported, and the slot's consistent point.
    Exported { snapshot_name: String, lsn: Lsn },
    /// A transaction of its own, at the WAL position read in it.
    Own,
    /// A blocking snapshot an `execute-snapshot` signal asked for while
    /// streaming was paused.
    OnDemand(OnDemand),
}

/// A blocking snapshot's request: Debezium's `getBlockingSnapshottingTask`.
/// Its transaction sees what is committed when it starts; its records
/// carry the stream's position, where streaming resumes after it (changes
/// committed meanwhile come after the snapshot's records, as in Debezium).
pub struct OnDemand {
    /// The stream's offset when the signal came.
    pub at: PgOffset,
    /// `data-collections`: the captured tables whose `schema.table` one
    /// of them matches, whole and in any case.
    pub tables: Vec<regex::Regex>,
    /// `additional-conditions`: `(schema.table, SELECT)`, what is read of
    /// a table instead of all of it.
    pub selects: Vec<(String, String)>,
}

/// A row read but not yet sent: whether another follows in its table
/// decides its marker.
struct HeldRow {
    key: Option<ferry_api::data::Struct>,
    after: ferry_api::data::Struct,
    number: u64,
}

/// An event whose marker is known, held until the next one comes: the
/// snapshot's last event is marked `last` whichever table it is from.
struct Ready {
    table: usize,
    key: Option<ferry_api::data::Struct>,
    after: ferry_api::data::Struct,
    marker: SnapshotRecord,
    table_ts_us: i64,
}

/// A running snapshot: its transaction, the tables, where it is.
pub struct Snapshot {
    db: PgConnection,
    settings: StreamSettings,
    tables: Vec<(SnapshotTable, TableSchema)>,
    fetch_size: usize,
    /// The table being read (its cursor open), or the next to open.
    current: usize,
    cursor_open: bool,
    /// The connections reading chunks, when `snapshot.max.threads` is
    /// above 1 (otherwise `db` reads each table through a cursor).
    readers: Option<ChunkReaders>,
    /// Rows fetched and not yet turned into events.
    fetched: std::collections::VecDeque<sqlx::postgres::PgRow>,
    /// The cursor returned its last rows.
    cursor_exhausted: bool,
    rows_in_table: u64,
    table_ts_us: i64,
    held_row: Option<HeldRow>,
    ready: Option<Ready>,
    /// Every record's offset: the snapshot's position and transaction.
    offset: PgOffset,
    /// `(schema.table, SELECT)` read instead of whole tables.
    selects: Vec<(String, String)>,
    blocking: bool,
    done: bool,
    /// Every captured table (`schema.table`), in snapshot order, as
    /// notifications list them.
    captured: Vec<String>,
    /// Notifications for the task to send.
    notices: Outbox,
}

impl Snapshot {
    /// Opens the snapshot's transaction on `db` (a connection of its own)
    /// and reads the structure of the tables `config` captures.
    /// With `snapshot.max.threads` above 1, that many more connections
    /// (`options`) read the tables' chunks in the same view.
    pub async fn begin(
        mut db: PgConnection,
        view: View,
        config: &CdcConfig,
        options: &sqlx::postgres::PgConnectOptions,
        settings: StreamSettings,
        now_us: i64,
    ) -> Result<Self, SnapshotError> {
        let mut on_demand = None;
        let mut exported = None;
        let lsn = match view {
            View::OnDemand(request) => {
                // Debezium's isolation for a snapshot without an exported
                // one (`snapshotTransactionIsolationLevelStatement`).
                db.execute("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE")
                    .await
                    .map_err(failed("cannot open the snapshot transaction"))?;
                let lsn = request.at.lsn;
                on_demand = Some(request);
                lsn
            }
            View::Exported { snapshot_name, lsn } => {
                db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    .await
                    .map_err(failed("cannot open the snapshot transaction"))?;
                // A snapshot name is the server's, hex digits and dashes.
                let name = snapshot_name.replace('\'', "''");
                db.execute(format!("SET TRANSACTION SNAPSHOT '{name}'").as_str())
                    .await
                    .map_err(failed("cannot use the slot's exported snapshot"))?;
                exported = Some(snapshot_name);
                Some(lsn)
            }
            View::Own => {
                db.execute("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE")
                    .await
                    .map_err(failed("cannot open the snapshot transaction"))?;
                let at: String = sqlx::query("SELECT pg_current_wal_lsn()::text")
                    .fetch_one(&mut db)
                    .await
                    .map_err(failed("cannot read the WAL position"))?
                    .try_get(0)
                    .map_err(failed("cannot read the WAL position"))?;
                Some(at.parse::<Lsn>().map_err(|e| SnapshotError::Database {
                    what: format!("the WAL position {at:?}"),
                    source: sqlx::Error::Protocol(e.to_string()),
                })?)
            }
        };
        let (offset, only, selects) = match on_demand {
            Some(OnDemand {
                at,
                tables,
                selects,
            }) => (
                PgOffset {
                    ts_usec: Some(now_us),
                    snapshot: Some(SnapshotType::Blocking),
                    // Debezium keeps no transaction or incremental
                    // snapshot in a snapshot's offsets.
                    transaction: None,
                    incremental: None,
                    ..at
                },
                Some(tables),
                selects,
            ),
            None => {
                let tx_id: i64 = sqlx::query(
                    "SELECT (CASE pg_is_in_recovery() WHEN 't' THEN 0 ELSE txid_current() END)::int8",
                )
                .fetch_one(&mut db)
                .await
                .map_err(failed("cannot read the snapshot's transaction id"))?
                .try_get(0)
                .map_err(failed("cannot read the snapshot's transaction id"))?;
                let offset = PgOffset {
                    ts_usec: Some(now_us),
                    tx_id: Some(tx_id),
                    lsn,
                    snapshot: Some(SnapshotType::Initial),
                    ..PgOffset::default()
                };
                (offset, None, config.select_overrides.clone())
            }
        };
        let mut tables = Vec::new();
        let mut captured = Vec::new();
        for t in captured_tables(&mut db, &config.tables)
            .await
            .map_err(failed("cannot list the captured tables"))?
        {
            let qualified = format!("{}.{}", t.schema, t.table);
            captured.push(qualified.clone());
            // The signal table is read only when asked for by name.
            if only.is_none() && !config.tables.snapshots(&t.schema, &t.table) {
                continue;
            }
            if only
                .as_ref()
                .is_some_and(|only| !only.iter().any(|r| r.is_match(&qualified)))
            {
                continue;
            }
            let columns: Vec<ColumnMeta> = catalog::captured_columns(
                &mut db,
                t.oid,
                &t.schema,
                &t.table,
                &config.columns,
                &config.key_columns,
            )
            .await
            .map_err(failed(format!(
                "cannot read the columns of {}.{}",
                t.schema, t.table
            )))?;
            let schema = TableSchema::new(
                &settings.topic_prefix,
                &t.schema,
                &t.table,
                &columns,
                settings.modes,
            );
            // A key a chunk's range can be taken on: no column of it null.
            let mut key: Vec<&ColumnMeta> = columns.iter().filter(|c| c.key.is_some()).collect();
            key.sort_by_key(|c| c.key);
            let key = if key.iter().all(|c| c.not_null) {
                key.iter().map(|c| quote_ident(&c.name)).collect()
            } else {
                Vec::new()
            };
            tables.push((t, schema, key));
        }
        let readers = if config.snapshot_max_threads > 1 && !tables.is_empty() {
            let name = match exported {
                Some(name) => name,
                None => sqlx::query("SELECT pg_export_snapshot()")
                    .fetch_one(&mut db)
                    .await
                    .and_then(|r| r.try_get::<String, _>(0))
                    .map_err(failed(
                        "cannot export the snapshot to its other connections",
                    ))?,
            };
            let mut plans = Vec::with_capacity(tables.len());
            for (t, schema, key) in &tables {
                let (select, own) = table_select(&mut db, t, schema, &selects).await?;
                plans.push(TablePlan {
                    select,
                    from: own
                        .then(|| format!("{}.{}", quote_ident(&t.schema), quote_ident(&t.table))),
                    key: key.clone(),
                });
            }
            Some(
                ChunkReaders::start(
                    &mut db,
                    options,
                    &name,
                    plans,
                    config.snapshot_max_threads,
                    config.snapshot_chunks_per_thread,
                    config.snapshot_fetch_size.max(1),
                )
                .await?,
            )
        } else {
            None
        };
        let tables = tables
            .into_iter()
            .map(|(t, schema, _)| (t, schema))
            .collect::<Vec<_>>();
        let blocking = only.is_some();
        info!(
            tables = tables.len(),
            lsn = ?offset.lsn,
            tx_id = ?offset.tx_id,
            blocking,
            "snapshot started"
        );
        let mut notices = Outbox::new(config.notifications.enabled());
        notices.push(|| Notice::new(INITIAL_SNAPSHOT, "STARTED"));
        Ok(Snapshot {
            captured,
            notices,
            db,
            settings,
            tables,
            fetch_size: config.snapshot_fetch_size.max(1),
            current: 0,
            cursor_open: false,
            readers,
            fetched: std::collections::VecDeque::new(),
            cursor_exhausted: false,
            rows_in_table: 0,
            table_ts_us: now_us,
            held_row: None,
            ready: None,
            offset,
            selects,
            blocking,
            done: false,
        })
    }

    /// The offset streaming continues from once the snapshot is done.
    pub fn position(&self) -> &PgOffset {
        &self.offset
    }

    /// The notifications made since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.notices.take()
    }

    /// Whether a signal asked for this snapshot while streaming.
    pub fn is_blocking(&self) -> bool {
        self.blocking
    }

    /// Whether every event was returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Up to about `max` more events; the last call returns the final
    /// event (its offset says the snapshot is complete) and ends the
    /// transaction.
    pub async fn next_events(
        &mut self,
        max: usize,
        now_us: impl Fn() -> i64,
    ) -> Result<Vec<ChangeEvent>, SnapshotError> {
        let mut out = Vec::new();
        while !self.done && out.len() < max {
            if self.current == self.tables.len() {
                self.finish(&now_us, &mut out).await?;
                break;
            }
            if !self.cursor_open {
                self.open_cursor(now_us()).await?;
            }
            if self.fetched.is_empty() && !self.cursor_exhausted {
                if let Some(readers) = &mut self.readers {
                    match readers.next_rows(self.current).await? {
                        Some(rows) => self.fetched = rows.into(),
                        None => self.cursor_exhausted = true,
                    }
                } else {
                    // Not a prepared statement kept for the next table: a
                    // FETCH's row description is its cursor's at preparation.
                    let rows = sqlx::query(&format!(
                        "FETCH FORWARD {} FROM {}",
                        self.fetch_size,
                        self.cursor()
                    ))
                    .persistent(false)
                    .fetch_all(&mut self.db)
                    .await
                    .map_err(failed(format!("cannot read {}", self.qualified())))?;
                    self.cursor_exhausted = rows.len() < self.fetch_size;
                    self.fetched = rows.into();
                }
            }
            // Rows become events only as the poll takes them: a fetch
            // holds `snapshot.fetch.size` rows, a poll `max.batch.size`
            // events, not the events of a whole fetch.
            while out.len() < max {
                let Some(row) = self.fetched.pop_front() else {
                    break;
                };
                let mut texts: Vec<Option<&str>> = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    texts.push(row.try_get::<Option<&str>, _>(i).map_err(|source| {
                        SnapshotError::Database {
                            what: format!("cannot read a row of {}", self.qualified()),
                            source,
                        }
                    })?);
                }
                let values: Vec<Column<'_>> = texts
                    .iter()
                    .map(|t| t.map_or(Column::Null, |t| Column::Text(t.as_bytes())))
                    .collect();
                let (after, key) = self.tables[self.current].1.row_of(&values)?;
                self.rows_in_table += 1;
                if let Some(prev) = self.held_row.take() {
                    self.release_row(prev, false, &now_us, &mut out)?;
                }
                self.held_row = Some(HeldRow {
                    key,
                    after,
                    number: self.rows_in_table,
                });
            }
            let exhausted = self.fetched.is_empty() && self.cursor_exhausted;
            if exhausted {
                if let Some(last) = self.held_row.take() {
                    self.release_row(last, true, &now_us, &mut out)?;
                }
                if self.readers.is_none() {
                    self.db
                        .execute(format!("CLOSE {}", self.cursor()).as_str())
                        .await
                        .map_err(failed("cannot close the snapshot cursor"))?;
                }
                info!(
                    table = %self.qualified(),
                    rows = self.rows_in_table,
                    "table snapshotted"
                );
                if self.notices.enabled() {
                    let notice = Notice::new(INITIAL_SNAPSHOT, "TABLE_SCAN_COMPLETED")
                        .with("scanned_collection", self.qualified())
                        .with("data_collections", self.captured.join(","))
                        .with("total_rows_scanned", self.rows_in_table.to_string())
                        .with("status", "SUCCEEDED");
                    self.notices.push(|| notice);
                }
                self.cursor_open = false;
                self.current += 1;
            }
        }
        Ok(out)
    }

    /// The cursor of the current table: one name per table, so that no
    /// statement of one table's reads is mistaken for another's.
    fn cursor(&self) -> String {
        format!("ferry_snapshot_{}", self.current)
    }

    fn qualified(&self) -> String {
        self.tables
            .get(self.current)
            .map(|(t, _)| format!("{}.{}", t.schema, t.table))
            .unwrap_or_default()
    }

    /// Starts reading the current table: its cursor on `db`, or (chunks
    /// read by other connections) only the notice.
    async fn open_cursor(&mut self, now_us: i64) -> Result<(), SnapshotError> {
        let (t, _) = &self.tables[self.current];
        let qualified = format!("{}.{}", t.schema, t.table);
        info!(table = %format!("{}.{}", t.schema, t.table), "snapshotting ({} of {})", self.current + 1, self.tables.len());
        if self.notices.enabled() {
            // Debezium lists the tables read from a HashSet of them.
            let read: Vec<String> = self
                .tables
                .iter()
                .map(|(t, _)| format!("{}.{}", t.schema, t.table))
                .collect();
            let notice = Notice::new(INITIAL_SNAPSHOT, "IN_PROGRESS")
                .with("current_collection_in_progress", qualified.clone())
                .with("data_collections", java_hash_set_order(read).join(","));
            self.notices.push(|| notice);
        }
        if self.readers.is_none() {
            let (t, schema) = &self.tables[self.current];
            let (select, _) = table_select(&mut self.db, t, schema, &self.selects).await?;
            let sql = format!("DECLARE {} NO SCROLL CURSOR FOR {select}", self.cursor());
            self.db
                .execute(sql.as_str())
                .await
                .map_err(failed(format!("cannot read {}.{}", t.schema, t.table)))?;
        }
        self.cursor_open = true;
        self.cursor_exhausted = false;
        self.rows_in_table = 0;
        self.table_ts_us = now_us;
        Ok(())
    }

    /// A row's marker is known: it becomes the ready event, and the one
    /// ready before it goes out.
    fn release_row(
        &mut self,
        row: HeldRow,
        last_in_table: bool,
        now_us: &impl Fn() -> i64,
        out: &mut Vec<ChangeEvent>,
    ) -> Result<(), SnapshotError> {
        let first_table = self.current == 0;
        let last_table = self.current + 1 == self.tables.len();
        let first_in_table = row.number == 1;
        let marker = if last_in_table && last_table {
            SnapshotRecord::Last
        } else if first_in_table && first_table {
            SnapshotRecord::First
        } else if last_in_table {
            SnapshotRecord::LastInDataCollection
        } else if first_in_table {
            SnapshotRecord::FirstInDataCollection
        } else {
            SnapshotRecord::True
        };
        let next = Ready {
            table: self.current,
            key: row.key,
            after: row.after,
            marker,
            table_ts_us: self.table_ts_us,
        };
        if let Some(prev) = self.ready.replace(next) {
            out.push(self.event(prev, false, now_us())?);
        }
        Ok(())
    }

    /// The end: the last event is marked `last` and its offset says the
    /// snapshot is complete; the transaction ends.
    async fn finish(
        &mut self,
        now_us: &impl Fn() -> i64,
        out: &mut Vec<ChangeEvent>,
    ) -> Result<(), SnapshotError> {
        if let Some(mut last) = self.ready.take() {
            last.marker = SnapshotRecord::Last;
            out.push(self.event(last, true, now_us())?);
        }
        if let Some(readers) = self.readers.take() {
            readers.finish().await?;
        }
        self.db
            .execute("COMMIT")
            .await
            .map_err(failed("cannot end the snapshot transaction"))?;
        self.offset.snapshot = None;
        self.done = true;
        info!(tables = self.tables.len(), "snapshot completed");
        self.notices
            .push(|| Notice::new(INITIAL_SNAPSHOT, "COMPLETED"));
        Ok(())
    }

    fn event(&self, r: Ready, last: bool, now_us: i64) -> Result<ChangeEvent, SnapshotError> {
        let table = &self.tables[r.table].1;
        let mut offset = self.offset.clone();
        offset.ts_usec = Some(r.table_ts_us);
        offset.last_snapshot_record = last;
        offset.snapshot_completed = last;
        Ok(read_event(
            table,
            &self.settings,
            r.marker,
            r.table_ts_us,
            r.key,
            r.after,
            offset,
            now_us,
        )?)
    }
}

/// The SELECT of every row of `t` in the stream's text format (every
/// column the catalog lists, in order), and whether it is the table's own
/// (`SELECT … FROM schema.table`, no override).
async fn table_select(
    db: &mut PgConnection,
    t: &SnapshotTable,
    schema: &TableSchema,
    selects: &[(String, String)],
) -> Result<(String, bool), SnapshotError> {
    let qualified = format!("{}.{}", t.schema, t.table);
    let columns = schema.relation_columns();
    let Some((_, select)) = selects.iter().find(|(table, _)| *table == qualified) else {
        return Ok((
            format!(
                "SELECT {} FROM {}.{}",
                text_projection(columns),
                quote_ident(&t.schema),
                quote_ident(&t.table)
            ),
            true,
        ));
    };
    // A SELECT given for the table: its result's columns are the table's
    // by name, one it leaves out is null, as Debezium reads the result set.
    let select = select.trim().trim_end_matches(';');
    let from = format!("({select}) AS ferry_snapshot_select");
    let described = db
        .describe(&format!("SELECT * FROM {from}"))
        .await
        .map_err(failed(format!("cannot read {qualified} with {select:?}")))?;
    let returned: std::collections::HashSet<&str> =
        described.columns().iter().map(sqlx::Column::name).collect();
    let list = columns
        .iter()
        .map(|c| {
            if returned.contains(c.as_str()) {
                text_projection(std::slice::from_ref(c))
            } else {
                "NULL::text".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok((format!("SELECT {list} FROM {from}"), false))
}

/// A read (`op: r`) event of `after`, its `source` at `offset`'s
/// position and clock `ts_us`; `now_us` is the envelope's clock. Both
/// snapshots write these, the initial and the incremental one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_event(
    table: &TableSchema,
    settings: &StreamSettings,
    marker: SnapshotRecord,
    ts_us: i64,
    key: Option<ferry_api::data::Struct>,
    after: ferry_api::data::Struct,
    offset: PgOffset,
    now_us: i64,
) -> Result<ChangeEvent, EventError> {
    let info = SourceInfo {
        ts_us,
        snapshot: marker,
        db: settings.db.clone(),
        sequence: (offset.lsn_commit, offset.lsn),
        schema: table.schema_name.clone(),
        table: table.table_name.clone(),
        tx_id: offset.tx_id,
        lsn: offset.lsn,
        ..SourceInfo::default()
    };
    let source_schema = table
        .envelope_schema
        .field("source")
        .map(|f| f.schema.clone())
        .unwrap_or_else(crate::events::source_schema);
    let source = info.to_struct(&source_schema, &settings.topic_prefix)?;
    let envelope = table.envelope(Operation::Read, None, Some(after), source, now_us)?;
    let key = match (&table.key_schema, key) {
        (Some(s), Some(k)) => Some((s.clone(), k)),
        _ => None,
    };
    Ok(ChangeEvent {
        topic: table.topic.clone(),
        key,
        value: Some((table.envelope_schema.clone(), envelope)),
        headers: settings.headers(),
        offset,
    })
}
