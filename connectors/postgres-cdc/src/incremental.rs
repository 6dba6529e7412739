//! Incremental snapshots on request, as Debezium's signal-based ones
//! (`AbstractIncrementalSnapshotChangeEventSource`, the DBLog algorithm):
//! while streaming goes on, a table is read in chunks of
//! `incremental.snapshot.chunk.size` rows in key order. Each chunk is read
//! between two watermarks written to the signal table (an open row before
//! the read, a close row after it); when the stream reaches the open
//! watermark, every streamed change of a row in the chunk removes that row
//! from the chunk, and when it reaches the close watermark, the rows left
//! go out as `op: r` events (`source.snapshot: "incremental"`) and the next
//! chunk is read. A streamed change is thus never followed by an older
//! snapshot row of the same key.
//!
//! Its progress rides in every offset while it runs (Debezium's
//! `incremental_snapshot_*` keys), so a restarted task reads on from the
//! last row sent, and Debezium can take the snapshot over from Ferry, and
//! back.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ferry_api::data::{Struct, Value};
use regex::Regex;
use serde_json::Value as Json;
use sqlx::{PgConnection, Row};
use tracing::{debug, info, warn};

use crate::catalog;
use crate::config::{
    signal_table_id, CdcConfig, ColumnFilter, KeyColumns, TableFilter, WatermarkingStrategy,
};
use crate::events::{EventError, SnapshotRecord, TableSchema};
use crate::javaser::{self, KeyValue};
use crate::notifications::{Notice, Outbox, INCREMENTAL_SNAPSHOT};
use crate::offsets::{IncrementalOffset, PgOffset};
use crate::pgoutput::Column;
use crate::snapshot::{self, captured_tables, quote_ident};
use crate::stream::{ChangeEvent, StreamSettings};
use crate::values::Modes;

/// A failure of the incremental snapshot's own reads and writes.
#[derive(Debug, thiserror::Error)]
pub enum IncrementalError {
    #[error("{what}: {source}")]
    Database {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("the stored incremental snapshot state: {0}")]
    Offset(String),
}

impl IncrementalError {
    /// The connection was lost: another attempt may succeed.
    pub fn is_lost_connection(&self) -> bool {
        matches!(self, IncrementalError::Database { source, .. } if crate::task::sqlx_transient(source))
    }
}

fn failed(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> IncrementalError {
    let what = what.into();
    move |source| IncrementalError::Database { what, source }
}

/// A table to snapshot, as `execute-snapshot` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCollection {
    /// `schema.table`.
    pub id: String,
    /// `additional-conditions`' filter for this table: a `WHERE` clause.
    pub additional_condition: Option<String>,
    /// `surrogate-key`: the column chunks are cut by, instead of the key.
    pub surrogate_key: Option<String>,
}

const COLLECTION_ID: &str = "incremental_snapshot_collections_id";
const COLLECTION_CONDITION: &str = "incremental_snapshot_collections_additional_condition";
const COLLECTION_SURROGATE: &str = "incremental_snapshot_collections_surrogate_key";

/// The tables as Debezium's `SnapshotDataCollection` writes them: a JSON
/// array of objects, in Jackson's compact form.
fn collections_json(collections: &VecDeque<DataCollection>) -> String {
    let text = |s: Option<&String>| s.map_or(Json::Null, |s| Json::String(s.clone()));
    let items: Vec<String> = collections
        .iter()
        .map(|c| {
            format!(
                "{{\"{COLLECTION_ID}\":{},\"{COLLECTION_CONDITION}\":{},\"{COLLECTION_SURROGATE}\":{}}}",
                Json::String(c.id.clone()),
                text(c.additional_condition.as_ref()),
                text(c.surrogate_key.as_ref()),
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn parse_collections(json: &str) -> Result<VecDeque<DataCollection>, String> {
    let items: Vec<serde_json::Map<String, Json>> =
        serde_json::from_str(json).map_err(|e| format!("{json:?} is not a list of tables: {e}"))?;
    items
        .into_iter()
        .map(|m| {
            let text = |k: &str| {
                m.get(k)
                    .and_then(Json::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            Ok(DataCollection {
                id: text(COLLECTION_ID).ok_or_else(|| format!("{json:?} names no table"))?,
                additional_condition: text(COLLECTION_CONDITION),
                surrogate_key: text(COLLECTION_SURROGATE),
            })
        })
        .collect()
}

/// A row of the signal table: `(id, type, data)`, by position as Debezium
/// reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub id: String,
    pub kind: String,
    pub data: Option<String>,
}

/// `snapshot-window-open`, `snapshot-window-close`.
pub const WINDOW_OPEN: &str = "snapshot-window-open";
pub const WINDOW_CLOSE: &str = "snapshot-window-close";

impl Signal {
    /// The signal an event of the signal table carries: an insert's new
    /// row; with `insert_delete` watermarks, a delete of an open row
    /// closes its window.
    pub fn of(event: &ChangeEvent, strategy: WatermarkingStrategy) -> Option<Signal> {
        let (_, envelope) = event.value.as_ref()?;
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let row = |field: &str| match envelope.get(field) {
            Some(Value::Struct(s)) if s.values().len() >= 3 => Some(s.clone()),
            _ => None,
        };
        match envelope.get("op").and_then(text).as_deref() {
            Some("c") => {
                let after = row("after")?;
                Some(Signal {
                    id: text(after.get_at(0))?,
                    kind: text(after.get_at(1))?,
                    data: text(after.get_at(2)),
                })
            }
            Some("d") if strategy == WatermarkingStrategy::InsertDelete => {
                let before = row("before")?;
                Some(Signal {
                    id: text(before.get_at(0))?.replace("open", "close"),
                    kind: WINDOW_CLOSE.to_owned(),
                    data: text(before.get_at(2)),
                })
            }
            _ => None,
        }
    }
}

/// `execute-snapshot`'s `data`, as Debezium's `SnapshotConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRequest {
    pub data_collections: Vec<String>,
    /// `incremental` (the default) or `blocking`.
    pub snapshot_type: String,
    /// `(table regex, filter)`.
    pub additional_conditions: Vec<(String, String)>,
    pub surrogate_key: Option<String>,
}

impl SnapshotRequest {
    pub fn parse(data: Option<&str>) -> Result<Self, String> {
        let json: Json = serde_json::from_str(data.unwrap_or("{}"))
            .map_err(|e| format!("the signal's data is not JSON: {e}"))?;
        let list = |key: &str| -> Vec<String> {
            json.get(key)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let additional_conditions = json
            .get("additional-conditions")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| {
                        Some((
                            c.get("data-collection")?.as_str()?.to_owned(),
                            c.get("filter")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(SnapshotRequest {
            data_collections: list("data-collections"),
            snapshot_type: json
                .get("type")
                .and_then(Json::as_str)
                .unwrap_or("incremental")
                .to_ascii_lowercase(),
            additional_conditions,
            surrogate_key: json
                .get("surrogate-key")
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }
}

/// How a key column is compared and recorded.
#[derive(Debug, Clone)]
struct KeyColumn {
    /// Its position among the columns read.
    position: usize,
    name: String,
    /// `format_type`, for the casts of bound values.
    sql_type: String,
    /// The Java class the JDBC driver gives its values.
    kind: KeyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Int,
    Long,
    Bool,
    Str,
    Uuid,
    Decimal,
    Date,
}

impl KeyKind {
    fn of(type_oid: u32) -> Option<Self> {
        Some(match type_oid {
            21 | 23 => KeyKind::Int,
            20 => KeyKind::Long,
            16 => KeyKind::Bool,
            // Debezium reads time and timestamp columns as text
            // (`PostgresConnection.getColumnValue`), so their positions
            // are strings.
            18 | 19 | 25 | 1042 | 1043 | 1083 | 1114 | 1184 | 1266 => KeyKind::Str,
            2950 => KeyKind::Uuid,
            1700 => KeyKind::Decimal,
            1082 => KeyKind::Date,
            _ => return None,
        })
    }

    fn value(self, text: &str) -> Option<KeyValue> {
        Some(match self {
            KeyKind::Int => KeyValue::Int(text.parse().ok()?),
            KeyKind::Long => KeyValue::Long(text.parse().ok()?),
            KeyKind::Bool => KeyValue::Bool(text == "t" || text == "true"),
            KeyKind::Str => KeyValue::Str(text.to_owned()),
            KeyKind::Uuid => KeyValue::Uuid(uuid::Uuid::parse_str(text).ok()?.as_u128()),
            // `NaN` and the infinities have no BigDecimal.
            KeyKind::Decimal => {
                javaser::decimal_parts(text)?;
                KeyValue::Decimal(text.to_owned())
            }
            KeyKind::Date => match crate::pgtext::parse_date(text).ok()? {
                crate::pgtext::Instant::Finite(days) => KeyValue::Date(days),
                _ => return None,
            },
        })
    }
}

/// A bound value as text, for `CAST($n AS type)`.
fn key_text(v: &KeyValue) -> Option<String> {
    Some(match v {
        KeyValue::Null => return None,
        KeyValue::Bool(b) => b.to_string(),
        KeyValue::Short(n) => n.to_string(),
        KeyValue::Int(n) => n.to_string(),
        KeyValue::Long(n) => n.to_string(),
        KeyValue::Str(s) => s.clone(),
        KeyValue::Uuid(u) => uuid::Uuid::from_u128(*u).to_string(),
        KeyValue::Decimal(d) => d.clone(),
        KeyValue::Date(days) => crate::pgtext::date_text(i64::from(*days)),
    })
}

/// What reading a table's next chunk came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Rows, in the window.
    Rows,
    /// The table is done: Debezium's `TableScanCompletionStatus`
    /// (`SUCCEEDED`, `EMPTY`, `NO_PRIMARY_KEY`, `UNKNOWN_SCHEMA`,
    /// `SKIPPED`).
    Done(&'static str),
}

/// A table whose key holds a value no Java object Debezium records stands
/// for (`NaN`, `infinity`): skipped, rather than read up to it.
fn unrecordable(current: &DataCollection, column: &str, text: &str) -> Chunk {
    warn!(table = %current.id, column, value = text, "incremental snapshot skipped: a key value Debezium cannot record as a position");
    Chunk::Done("SKIPPED")
}

/// A key value as Java's `Objects.toString` writes the object Debezium
/// holds for it (notifications show keys so).
fn java_to_string(v: &KeyValue) -> String {
    match v {
        KeyValue::Null => "<null>".to_owned(),
        KeyValue::Decimal(text) => big_decimal_string(text),
        KeyValue::Date(days) => crate::pgtext::date_text(i64::from(*days)),
        other => key_text(other).unwrap_or_default(),
    }
}

/// `BigDecimal.toString()`: plain, or scientific when the scale is
/// negative or the adjusted exponent is below -6 (`1.2E-7`).
fn big_decimal_string(text: &str) -> String {
    let Some((signum, magnitude, scale)) = javaser::decimal_parts(text) else {
        return text.to_owned();
    };
    let digits = javaser::decimal_text(1, &magnitude, 0);
    let adjusted = i64::try_from(digits.len()).unwrap_or(0) - 1 - i64::from(scale);
    if scale >= 0 && adjusted >= -6 {
        return javaser::decimal_text(signum, &magnitude, scale);
    }
    let mut out = String::new();
    if signum < 0 {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('E');
    if adjusted >= 0 {
        out.push('+');
    }
    out.push_str(&adjusted.to_string());
    out
}

/// The table being read: its event shape and the columns chunks are cut
/// by.
struct ChunkTable {
    schema: TableSchema,
    qualified: String,
    chunk_by: Vec<KeyColumn>,
}

/// A row of the open chunk.
struct WindowRow {
    key: Option<Struct>,
    after: Struct,
    position: Vec<KeyValue>,
}

/// The incremental snapshot: what is left to read and the open chunk.
pub struct IncrementalSnapshot {
    topic_prefix: String,
    modes: Modes,
    column_filter: ColumnFilter,
    key_columns: KeyColumns,
    signal_table: Option<(String, String)>,
    signal_topic: Option<String>,
    chunk_size: usize,
    strategy: WatermarkingStrategy,
    collections: VecDeque<DataCollection>,
    correlation_id: Option<String>,
    /// Where the next chunk starts (after this key).
    chunk_end: Option<Vec<KeyValue>>,
    /// The key of the last snapshot row sent.
    last_sent: Option<Vec<KeyValue>>,
    /// The table's largest key when its reading began.
    maximum_key: Option<Vec<KeyValue>>,
    chunk_id: Option<String>,
    open_timestamp_us: i64,
    window_open: bool,
    paused: bool,
    table: Option<ChunkTable>,
    window: Vec<Option<WindowRow>>,
    /// A key's place in `window`, by its values' text.
    window_index: HashMap<String, usize>,
    /// What offsets carry while the snapshot runs.
    offset: Option<Arc<IncrementalOffset>>,
    /// Read a chunk as soon as streaming is up (a restart mid-snapshot).
    pending_chunk: bool,
    /// Rows read of the current table, for its notifications.
    rows_scanned: u64,
    /// Notifications for the task to send.
    notices: Outbox,
}

/// `Instant.toString()`: ISO-8601 in UTC, the fraction in groups of three
/// digits as needed.
fn java_instant(unix_us: i64) -> String {
    let days = unix_us.div_euclid(86_400_000_000);
    let in_day = unix_us.rem_euclid(86_400_000_000);
    let (year, month, day) = crate::pgtext::civil_from_days(days);
    let secs = in_day / 1_000_000;
    let micros = in_day % 1_000_000;
    let fraction = if micros == 0 {
        String::new()
    } else if micros % 1000 == 0 {
        format!(".{:03}", micros / 1000)
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn fingerprint(key: &Struct) -> String {
    format!("{:?}", key.values())
}

impl IncrementalSnapshot {
    /// The incremental snapshot of a task, resumed from `stored` when its
    /// offset says one was running.
    pub fn new(
        config: &CdcConfig,
        modes: Modes,
        stored: &PgOffset,
    ) -> Result<Self, IncrementalError> {
        let mut s = IncrementalSnapshot {
            topic_prefix: config.topic_prefix.clone(),
            modes,
            column_filter: config.columns.clone(),
            key_columns: config.key_columns.clone(),
            signal_topic: config
                .signal_table
                .as_ref()
                .map(|(schema, table)| format!("{}.{schema}.{table}", config.topic_prefix)),
            signal_table: config.signal_table.clone(),
            chunk_size: config.incremental_chunk_size,
            strategy: config.watermarking,
            collections: VecDeque::new(),
            correlation_id: None,
            chunk_end: None,
            last_sent: None,
            maximum_key: None,
            chunk_id: None,
            open_timestamp_us: 0,
            window_open: false,
            paused: false,
            table: None,
            window: Vec::new(),
            window_index: HashMap::new(),
            offset: None,
            pending_chunk: false,
            rows_scanned: 0,
            notices: Outbox::new(config.notifications.enabled()),
        };
        if let Some(o) = &stored.incremental {
            let key = |name: &str, hex: &str| {
                if hex.is_empty() {
                    return Ok(None);
                }
                javaser::from_hex(hex).map_err(|e| IncrementalError::Offset(format!("{name}: {e}")))
            };
            // Debezium restarts from the last row sent.
            s.chunk_end = key("incremental_snapshot_primary_key", &o.primary_key)?;
            s.maximum_key = key("incremental_snapshot_maximum_key", &o.maximum_key)?;
            s.collections = parse_collections(&o.collections).map_err(IncrementalError::Offset)?;
            s.correlation_id = o.correlation_id.clone();
            s.pending_chunk = !s.collections.is_empty();
            s.refresh_offset();
            if s.pending_chunk {
                info!(
                    tables = %o.collections,
                    "an incremental snapshot was running; it goes on from the last row sent"
                );
            }
        }
        Ok(s)
    }

    /// Whether a snapshot is running.
    pub fn running(&self) -> bool {
        !self.collections.is_empty()
    }

    /// The topic of the signal table's events.
    /// The notifications made since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        self.notices.take()
    }

    /// A notification of this snapshot, as Debezium's
    /// `IncrementalSnapshotNotificationService` builds it.
    fn notify(&mut self, kind: &'static str, data: &[(&'static str, String)]) {
        let id = self.correlation_id.clone();
        self.notices.push(|| Notice {
            aggregate_type: INCREMENTAL_SNAPSHOT,
            kind,
            id,
            data: data.to_vec(),
        });
    }

    /// `data_collections`: the tables still to read, comma-separated.
    fn data_collections(&self) -> String {
        self.collections
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `TABLE_SCAN_COMPLETED` of the current table.
    fn notify_scan_completed(&mut self, status: &'static str) {
        if !self.notices.enabled() {
            return;
        }
        let scanned = self
            .collections
            .front()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        let data = [
            ("data_collections", self.data_collections()),
            ("scanned_collection", scanned),
            ("total_rows_scanned", self.rows_scanned.to_string()),
            ("status", status.to_owned()),
        ];
        self.notify("TABLE_SCAN_COMPLETED", &data);
    }

    pub fn signal_topic(&self) -> Option<&str> {
        self.signal_topic.as_deref()
    }

    pub fn strategy(&self) -> WatermarkingStrategy {
        self.strategy
    }

    /// What the offsets of records carry now.
    pub fn offset(&self) -> Option<Arc<IncrementalOffset>> {
        self.offset.clone()
    }

    fn refresh_offset(&mut self) {
        self.offset = self.running().then(|| {
            Arc::new(IncrementalOffset {
                primary_key: javaser::to_hex(self.last_sent.as_deref()),
                maximum_key: javaser::to_hex(self.maximum_key.as_deref()),
                collections: collections_json(&self.collections),
                correlation_id: self.correlation_id.clone(),
            })
        });
    }

    /// Whether a chunk is waiting to be read (after a restart).
    pub fn take_pending_chunk(&mut self) -> bool {
        std::mem::take(&mut self.pending_chunk)
    }

    /// A streamed change of `event`'s row, while a window is open: the
    /// chunk's copy of the row is older and is not sent.
    pub fn deduplicate(&mut self, event: &ChangeEvent) {
        if !self.window_open || self.window_index.is_empty() {
            return;
        }
        let (Some(table), Some((_, key))) = (&self.table, &event.key) else {
            return;
        };
        if event.topic != table.schema.topic {
            return;
        }
        if let Some(i) = self.window_index.remove(&fingerprint(key)) {
            self.window[i] = None;
        }
    }

    /// `execute-snapshot` for an incremental snapshot: the tables join the
    /// queue; when none was running, the first chunk is read.
    pub async fn execute(
        &mut self,
        db: &mut PgConnection,
        filter: &TableFilter,
        request: SnapshotRequest,
        correlation_id: &str,
    ) -> Result<(), IncrementalError> {
        let was_running = self.running();
        // Regular expressions matched against the captured tables, a name
        // that matches none kept as it is (Debezium's expansion).
        let known: Vec<String> = captured_tables(db, filter)
            .await
            .map_err(failed("cannot list the captured tables"))?
            .into_iter()
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        let mut ids: Vec<String> = Vec::new();
        for pattern in &request.data_collections {
            let matched: Vec<&String> = match Regex::new(&format!("^(?:{pattern})$")) {
                Ok(r) => known.iter().filter(|t| r.is_match(t)).collect(),
                Err(_) => Vec::new(),
            };
            if matched.is_empty() {
                ids.push(pattern.clone());
            } else {
                ids.extend(matched.into_iter().cloned());
            }
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        for id in ids {
            let additional_condition = request
                .additional_conditions
                .iter()
                .find(|(table, _)| {
                    Regex::new(&format!("^(?:{table})$")).is_ok_and(|r| r.is_match(&id))
                })
                .map(|(_, filter)| filter.clone())
                .filter(|f| !f.is_empty());
            self.collections.push_back(DataCollection {
                id,
                additional_condition,
                surrogate_key: request.surrogate_key.clone(),
            });
        }
        self.correlation_id = Some(correlation_id.to_owned());
        self.refresh_offset();
        info!(tables = %collections_json(&self.collections), "incremental snapshot requested");
        if self.notices.enabled() {
            let data = [("data_collections", self.data_collections())];
            self.notify("STARTED", &data);
        }
        if !was_running {
            self.read_chunk(db).await?;
        }
        Ok(())
    }

    /// `stop-snapshot`: the tables named (all when none) leave the queue.
    pub fn stop(&mut self, tables: &[String]) {
        if !self.running() {
            warn!("no incremental snapshot is running; stop-snapshot ignored");
            return;
        }
        let patterns: Vec<Regex> = if tables.is_empty() {
            Regex::new(".*").into_iter().collect()
        } else {
            tables
                .iter()
                .filter_map(|t| Regex::new(&format!("^(?:{t})$")).ok())
                .collect()
        };
        let stops = |id: &str| patterns.iter().any(|r| r.is_match(id));
        let current_stops = self.collections.front().is_some_and(|c| stops(&c.id));
        let before = self.collections.len();
        let stopped: Vec<String> = self
            .collections
            .iter()
            .filter(|c| stops(&c.id))
            .map(|c| c.id.clone())
            .collect();
        self.collections.retain(|c| !stops(&c.id));
        info!(
            removed = before - self.collections.len(),
            "tables removed from the incremental snapshot"
        );
        if current_stops {
            // The chunk read of the current table is dropped; the close
            // watermark still to come reads the next table's first chunk.
            self.window.clear();
            self.window_index.clear();
            self.table = None;
            self.chunk_end = None;
            self.last_sent = None;
            self.maximum_key = None;
        }
        if current_stops {
            self.rows_scanned = 0;
        }
        let data = [("data_collections", stopped.join(","))];
        self.notify("ABORTED", &data);
        if !self.running() {
            info!("the incremental snapshot was stopped");
            self.correlation_id = None;
        }
        self.refresh_offset();
    }

    pub fn pause(&mut self) {
        if self.running() && !self.paused {
            info!("incremental snapshot paused");
            self.paused = true;
            if self.notices.enabled() {
                let data = [("data_collections", self.data_collections())];
                self.notify("PAUSED", &data);
            }
        }
    }

    /// `resume-snapshot`: the next chunk is read.
    pub async fn resume(&mut self, db: &mut PgConnection) -> Result<(), IncrementalError> {
        if self.running() && self.paused {
            info!("incremental snapshot resumed");
            self.paused = false;
            if self.notices.enabled() {
                let data = [("data_collections", self.data_collections())];
                self.notify("RESUMED", &data);
            }
            self.read_chunk(db).await?;
        }
        Ok(())
    }

    /// The stream reached a chunk's open watermark; a stale one (from
    /// before a restart) is ignored.
    pub fn open_window(&mut self, id: &str) {
        if self.expected(id) {
            self.window_open = true;
        }
    }

    /// The stream reached a chunk's close watermark: the rows of the
    /// chunk not changed meanwhile, as events at `position` (the
    /// watermark's place in the stream). The caller sends them, then
    /// reads the next chunk.
    pub fn close_window(
        &mut self,
        id: &str,
        position: &PgOffset,
        settings: &StreamSettings,
        now_us: i64,
    ) -> Result<Option<Vec<ChangeEvent>>, IncrementalError> {
        if !self.expected(id) {
            return Ok(None);
        }
        self.window_open = false;
        let rows: Vec<WindowRow> = self.window.drain(..).flatten().collect();
        debug!(chunk = %id, rows = rows.len(), "window closed");
        self.window_index.clear();
        let mut events = Vec::with_capacity(rows.len());
        let Some(table) = self.table.take() else {
            return Ok(Some(events));
        };
        let result = self.window_events(&table, rows, position, settings, now_us, &mut events);
        self.table = Some(table);
        self.refresh_offset();
        result.map(|()| Some(events))
    }

    fn window_events(
        &mut self,
        table: &ChunkTable,
        rows: Vec<WindowRow>,
        position: &PgOffset,
        settings: &StreamSettings,
        now_us: i64,
        events: &mut Vec<ChangeEvent>,
    ) -> Result<(), IncrementalError> {
        let schema = &table.schema;
        for row in rows {
            // Each row's offset holds its own key; the rest of the
            // snapshot's state is the same for the whole window.
            let primary_key = javaser::to_hex(Some(&row.position));
            self.last_sent = Some(row.position);
            let mut offset = position.clone();
            offset.ts_usec = Some(now_us);
            offset.snapshot = None;
            offset.incremental = self.offset.as_ref().map(|base| {
                Arc::new(IncrementalOffset {
                    primary_key,
                    maximum_key: base.maximum_key.clone(),
                    collections: base.collections.clone(),
                    correlation_id: base.correlation_id.clone(),
                })
            });
            events.push(snapshot::read_event(
                schema,
                settings,
                SnapshotRecord::Incremental,
                now_us,
                row.key,
                row.after,
                offset,
                now_us,
            )?);
        }
        Ok(())
    }

    /// A watermark of the current chunk (`<chunk id>-open`/`-close`).
    fn expected(&self, id: &str) -> bool {
        self.chunk_id
            .as_ref()
            .is_some_and(|c| id.starts_with(c.as_str()))
    }

    fn next_collection(&mut self) {
        if let Some(done) = self.collections.pop_front() {
            info!(table = %done.id, "incremental snapshot of the table completed");
        }
        self.table = None;
        self.chunk_end = None;
        self.last_sent = None;
        self.maximum_key = None;
        self.rows_scanned = 0;
        if !self.running() {
            info!("incremental snapshot completed");
            self.notify("COMPLETED", &[]);
            self.correlation_id = None;
        }
        self.refresh_offset();
    }

    /// Reads the next chunk between an open and a close watermark
    /// (Debezium's `readChunk`): tables that are empty, gone or without a
    /// key are skipped with a warning, as Debezium skips them.
    pub async fn read_chunk(&mut self, db: &mut PgConnection) -> Result<(), IncrementalError> {
        if !self.running() || self.paused {
            return Ok(());
        }
        let Some(signal) = self.signal_table.clone() else {
            warn!("an incremental snapshot needs signal.data.collection for its watermarks; it does not run");
            return Ok(());
        };
        let signal_sql = format!("{}.{}", quote_ident(&signal.0), quote_ident(&signal.1));
        let chunk_id = uuid::Builder::from_random_bytes(crate::task::random_bytes())
            .into_uuid()
            .to_string();
        self.chunk_id = Some(chunk_id.clone());
        self.open_timestamp_us = crate::task::now_micros();
        sqlx::query(&format!("INSERT INTO {signal_sql} VALUES ($1, $2, $3)"))
            .bind(format!("{chunk_id}-open"))
            .bind(WINDOW_OPEN)
            .bind(format!(
                "{{\"openWindowTimestamp\": \"{}\"}}",
                java_instant(self.open_timestamp_us)
            ))
            .execute(&mut *db)
            .await
            .map_err(failed("cannot write the window's open watermark"))?;
        while let Some(current) = self.collections.front().cloned() {
            match self.read_table_chunk(db, &current).await {
                Ok(Chunk::Rows) => {
                    if self.notices.enabled() {
                        let key_text = |key: Option<&Vec<KeyValue>>| {
                            key.map(|k| k.iter().map(java_to_string).collect::<Vec<_>>().join(","))
                        };
                        let data = [
                            ("data_collections", self.data_collections()),
                            ("current_collection_in_progress", current.id.clone()),
                            (
                                "maximum_key",
                                key_text(self.maximum_key.as_ref())
                                    .unwrap_or_else(|| "\"<null>\"".to_owned()),
                            ),
                            (
                                "last_processed_key",
                                key_text(self.chunk_end.as_ref()).unwrap_or_default(),
                            ),
                        ];
                        self.notify("IN_PROGRESS", &data);
                    }
                    break;
                }
                Ok(Chunk::Done(status)) => {
                    self.notify_scan_completed(status);
                    self.next_collection();
                }
                // A lost connection is not the table's fault: the task
                // starts over and the snapshot goes on from its offset.
                Err(e) if e.is_lost_connection() => return Err(e),
                Err(e) => {
                    warn!(table = %current.id, error = %e, "incremental snapshot of the table skipped");
                    self.window.clear();
                    self.window_index.clear();
                    self.notify_scan_completed("SQL_EXCEPTION");
                    self.next_collection();
                }
            }
        }
        // The close watermark's commit waits for its WAL flush even where
        // synchronous_commit is off: the stream only carries flushed WAL,
        // and every chunk waits for this row to come back through it.
        let mut tx = sqlx::Connection::begin(&mut *db)
            .await
            .map_err(failed("cannot write the window's close watermark"))?;
        sqlx::query("SET LOCAL synchronous_commit = on")
            .execute(&mut *tx)
            .await
            .map_err(failed("cannot write the window's close watermark"))?;
        match self.strategy {
            WatermarkingStrategy::InsertInsert => {
                sqlx::query(&format!("INSERT INTO {signal_sql} VALUES ($1, $2, $3)"))
                    .bind(format!("{chunk_id}-close"))
                    .bind(WINDOW_CLOSE)
                    .bind(format!(
                        "{{\"openWindowTimestamp\": \"{}\", \"closeWindowTimestamp\": \"{}\"}}",
                        java_instant(self.open_timestamp_us),
                        java_instant(crate::task::now_micros())
                    ))
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("cannot write the window's close watermark"))?;
            }
            WatermarkingStrategy::InsertDelete => {
                sqlx::query(&format!("DELETE FROM {signal_sql} WHERE id = $1"))
                    .bind(format!("{chunk_id}-open"))
                    .execute(&mut *tx)
                    .await
                    .map_err(failed("cannot remove the window's open watermark"))?;
            }
        }
        tx.commit()
            .await
            .map_err(failed("cannot write the window's close watermark"))?;
        debug!(chunk = %chunk_id, rows = self.window.len(), "chunk read");
        Ok(())
    }

    /// Reads the current table's next chunk into the window: `false` when
    /// the table has no more rows (or cannot be read: a warning says why).
    async fn read_table_chunk(
        &mut self,
        db: &mut PgConnection,
        current: &DataCollection,
    ) -> Result<Chunk, IncrementalError> {
        let table = match self.table.take() {
            Some(t) => t,
            None => match self.load_table(db, current).await? {
                Ok(t) => t,
                Err(status) => return Ok(Chunk::Done(status)),
            },
        };
        let result = self.read_chunk_of(db, &table, current).await;
        self.table = Some(table);
        result
    }

    async fn read_chunk_of(
        &mut self,
        db: &mut PgConnection,
        table: &ChunkTable,
        current: &DataCollection,
    ) -> Result<Chunk, IncrementalError> {
        let key_list = table
            .chunk_by
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let qualified = &table.qualified;
        if self.maximum_key.is_none() {
            let mut sql = format!(
                "SELECT {} FROM {qualified}",
                snapshot::text_projection(
                    &table
                        .chunk_by
                        .iter()
                        .map(|c| c.name.clone())
                        .collect::<Vec<_>>()
                )
            );
            if let Some(c) = &current.additional_condition {
                sql.push_str(&format!(" WHERE {c}"));
            }
            let desc = table
                .chunk_by
                .iter()
                .map(|c| format!("{} DESC", quote_ident(&c.name)))
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" ORDER BY {desc} LIMIT 1"));
            let row = sqlx::query(&sql)
                .fetch_optional(&mut *db)
                .await
                .map_err(failed(format!(
                    "cannot read the largest key of {qualified}"
                )))?;
            let Some(row) = row else {
                info!(table = %current.id, "incremental snapshot: the table is empty");
                return Ok(Chunk::Done("EMPTY"));
            };
            let mut max = Vec::with_capacity(table.chunk_by.len());
            for (i, c) in table.chunk_by.iter().enumerate() {
                let text: Option<&str> = row.try_get(i).map_err(failed(format!(
                    "cannot read the largest key of {qualified}"
                )))?;
                match text.map(|t| (t, c.kind.value(t))) {
                    None => max.push(KeyValue::Null),
                    Some((_, Some(v))) => max.push(v),
                    Some((t, None)) => return Ok(unrecordable(current, &c.name, t)),
                }
            }
            info!(table = %current.id, maximum_key = ?max, "incremental snapshot of the table will end at this key");
            self.maximum_key = Some(max);
            self.refresh_offset();
        }
        let columns = table.schema.relation_columns().to_vec();
        let mut sql = format!(
            "SELECT {} FROM {qualified}",
            snapshot::text_projection(&columns)
        );
        let mut binds: Vec<String> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        if let (Some(from), Some(max)) = (&self.chunk_end, &self.maximum_key) {
            let row_of = |values: &[KeyValue], binds: &mut Vec<String>| -> Option<String> {
                let mut parts = Vec::new();
                for (c, v) in table.chunk_by.iter().zip(values) {
                    binds.push(key_text(v)?);
                    parts.push(format!("CAST(${} AS {})", binds.len(), c.sql_type));
                }
                Some(format!("ROW({})", parts.join(", ")))
            };
            let (Some(lower), Some(upper)) = (row_of(from, &mut binds), row_of(max, &mut binds))
            else {
                return Err(IncrementalError::Offset(format!(
                    "a null key position in {qualified}"
                )));
            };
            conditions.push(format!("ROW({key_list}) > {lower}"));
            conditions.push(format!("ROW({key_list}) <= {upper}"));
        }
        if let Some(c) = &current.additional_condition {
            conditions.push(format!("({c})"));
        }
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {key_list} LIMIT {}", self.chunk_size));
        // Planned for its bounds each time: a cached generic plan does not
        // know the range is a chunk, and sorts the rest of the table.
        let mut query = sqlx::query(&sql).persistent(false);
        for b in &binds {
            query = query.bind(b.as_str());
        }
        let rows = query
            .fetch_all(&mut *db)
            .await
            .map_err(failed(format!("cannot read a chunk of {qualified}")))?;
        let mut last = None;
        for row in &rows {
            let mut texts: Vec<Option<&str>> = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                texts.push(
                    row.try_get::<Option<&str>, _>(i)
                        .map_err(failed(format!("cannot read a row of {qualified}")))?,
                );
            }
            let mut position: Vec<KeyValue> = Vec::with_capacity(table.chunk_by.len());
            for c in &table.chunk_by {
                match texts[c.position].map(|t| (t, c.kind.value(t))) {
                    None => position.push(KeyValue::Null),
                    Some((_, Some(v))) => position.push(v),
                    Some((t, None)) => {
                        self.window.clear();
                        self.window_index.clear();
                        return Ok(unrecordable(current, &c.name, t));
                    }
                }
            }
            let values: Vec<Column<'_>> = texts
                .iter()
                .map(|t| t.map_or(Column::Null, |t| Column::Text(t.as_bytes())))
                .collect();
            let (after, key) = table.schema.row_of(&values)?;
            if let Some(k) = &key {
                self.window_index.insert(fingerprint(k), self.window.len());
            }
            last = Some(position.clone());
            self.window.push(Some(WindowRow {
                key,
                after,
                position,
            }));
        }
        self.rows_scanned += rows.len() as u64;
        match last {
            None => Ok(Chunk::Done("SUCCEEDED")),
            Some(last) => {
                self.chunk_end = Some(last);
                Ok(Chunk::Rows)
            }
        }
    }

    /// The table's event shape from the catalog, as streaming would write
    /// it, and the columns chunks are cut by; `None` (with a warning) when
    /// it cannot be snapshotted incrementally.
    async fn load_table(
        &self,
        db: &mut PgConnection,
        current: &DataCollection,
    ) -> Result<Result<ChunkTable, &'static str>, IncrementalError> {
        let Ok((schema_name, table_name)) = signal_table_id(&current.id) else {
            warn!(table = %current.id, "incremental snapshot: not a schema.table name; skipped");
            return Ok(Err("UNKNOWN_SCHEMA"));
        };
        let qualified = format!("{}.{}", quote_ident(&schema_name), quote_ident(&table_name));
        let oid: Option<i64> = sqlx::query_scalar(
            "SELECT c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
        )
        .bind(&schema_name)
        .bind(&table_name)
        .fetch_optional(&mut *db)
        .await
        .map_err(failed(format!("cannot find {qualified}")))?;
        let Some(oid) = oid else {
            warn!(table = %current.id, "incremental snapshot: no such table; skipped");
            return Ok(Err("UNKNOWN_SCHEMA"));
        };
        let oid = u32::try_from(oid).unwrap_or(0);
        let columns = catalog::captured_columns(
            db,
            oid,
            &schema_name,
            &table_name,
            &self.column_filter,
            &self.key_columns,
        )
        .await
        .map_err(failed(format!("cannot read the columns of {qualified}")))?;
        let schema = TableSchema::new(
            &self.topic_prefix,
            &schema_name,
            &table_name,
            &columns,
            self.modes,
        );
        let types: HashMap<String, String> = sqlx::query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = $1::int8::oid AND attnum > 0 AND NOT attisdropped",
        )
        .bind(i64::from(oid))
        .fetch_all(&mut *db)
        .await
        .map_err(failed(format!(
            "cannot read the column types of {qualified}"
        )))?
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
        .collect();
        let mut chunk_columns: Vec<(usize, &crate::events::ColumnMeta)> =
            match &current.surrogate_key {
                Some(name) => columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| &c.name == name)
                    .collect(),
                None => {
                    let mut key: Vec<_> = columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.key.is_some())
                        .collect();
                    key.sort_by_key(|(_, c)| c.key);
                    key
                }
            };
        if chunk_columns.is_empty() {
            warn!(table = %current.id, "incremental snapshot skipped: the table has no primary key (or no such surrogate key column)");
            return Ok(Err("NO_PRIMARY_KEY"));
        }
        let mut chunk_by = Vec::with_capacity(chunk_columns.len());
        for (position, c) in chunk_columns.drain(..) {
            let Some(kind) = KeyKind::of(c.column_type.oid) else {
                warn!(table = %current.id, column = %c.name, type_oid = c.column_type.oid, "incremental snapshot skipped: Ferry records key positions of integer, boolean, text, uuid, numeric, date, time and timestamp columns only");
                return Ok(Err("SKIPPED"));
            };
            if !c.not_null {
                warn!(table = %current.id, column = %c.name, "incremental snapshot skipped: a key column that may be null");
                return Ok(Err("SKIPPED"));
            }
            chunk_by.push(KeyColumn {
                position,
                name: c.name.clone(),
                sql_type: types
                    .get(&c.name)
                    .cloned()
                    .unwrap_or_else(|| "text".to_owned()),
                kind,
            });
        }
        info!(table = %current.id, "incremental snapshot of the table started");
        Ok(Ok(ChunkTable {
            schema,
            qualified,
            chunk_by,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_of(tables: &[&str]) -> IncrementalSnapshot {
        let props: ferry_api::Props = [
            ("topic.prefix", "shop"),
            ("database.hostname", "localhost"),
            ("database.user", "postgres"),
            ("database.dbname", "postgres"),
            ("plugin.name", "pgoutput"),
            ("signal.data.collection", "public.signals"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let config = CdcConfig::parse(&props).unwrap();
        let mut s =
            IncrementalSnapshot::new(&config, Modes::default(), &PgOffset::default()).unwrap();
        for t in tables {
            s.collections.push_back(DataCollection {
                id: (*t).to_owned(),
                additional_condition: None,
                surrogate_key: None,
            });
        }
        s.last_sent = Some(vec![KeyValue::Int(5)]);
        s.refresh_offset();
        s
    }

    fn ids(s: &IncrementalSnapshot) -> Vec<&str> {
        s.collections.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn stop_snapshot_removes_the_tables_it_names() {
        let mut s = snapshot_of(&["public.a", "public.b", "public.c"]);
        s.stop(&["public.b".to_owned()]);
        assert_eq!(ids(&s), ["public.a", "public.c"]);
        assert_eq!(
            s.last_sent,
            Some(vec![KeyValue::Int(5)]),
            "the current table goes on"
        );
        // The current table stopped: the next one is current, from its start.
        s.stop(&["public\\.a".to_owned()]);
        assert_eq!(ids(&s), ["public.c"]);
        assert_eq!(s.last_sent, None);
        // No table named: all of them.
        s.stop(&[]);
        assert!(!s.running());
        assert_eq!(s.offset(), None, "offsets no longer carry the snapshot");
    }

    #[test]
    fn keys_are_shown_as_java_shows_them() {
        for (text, java) in [
            ("12.50", "12.50"),
            ("-300", "-300"),
            ("0.000001", "0.000001"),
            ("0.00000012", "1.2E-7"),
            ("-0.0000001", "-1E-7"),
            ("0.000", "0.000"),
        ] {
            assert_eq!(big_decimal_string(text), java, "{text}");
        }
        assert_eq!(java_to_string(&KeyValue::Date(19_724)), "2024-01-02");
        assert_eq!(java_to_string(&KeyValue::Null), "<null>");
        assert_eq!(java_to_string(&KeyValue::Int(7)), "7");
    }

    #[test]
    fn instants_are_written_as_java_writes_them() {
        assert_eq!(java_instant(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            java_instant(1_765_000_000_123_000),
            "2025-12-06T05:46:40.123Z"
        );
        assert_eq!(
            java_instant(1_765_000_000_123_456),
            "2025-12-06T05:46:40.123456Z"
        );
        assert_eq!(java_instant(951_782_400_000_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn collections_round_trip_in_debeziums_form() {
        let c: VecDeque<DataCollection> = [
            DataCollection {
                id: "public.a".into(),
                additional_condition: None,
                surrogate_key: None,
            },
            DataCollection {
                id: "s.b".into(),
                additional_condition: Some("x > 'y'".into()),
                surrogate_key: Some("k".into()),
            },
        ]
        .into();
        let json = collections_json(&c);
        assert_eq!(
            json,
            "[{\"incremental_snapshot_collections_id\":\"public.a\",\"incremental_snapshot_collections_additional_condition\":null,\"incremental_snapshot_collections_surrogate_key\":null},{\"incremental_snapshot_collections_id\":\"s.b\",\"incremental_snapshot_collections_additional_condition\":\"x > 'y'\",\"incremental_snapshot_collections_surrogate_key\":\"k\"}]"
        );
        assert_eq!(parse_collections(&json).unwrap(), c);
        assert!(parse_collections("{}").is_err());
    }

    #[test]
    fn snapshot_requests_are_read_as_debezium_reads_them() {
        let r = SnapshotRequest::parse(Some(
            r#"{"data-collections": ["public.a", " s.b "], "type": "INCREMENTAL",
                "additional-conditions": [{"data-collection": "public.a", "filter": "id > 5"}],
                "surrogate-key": "k"}"#,
        ))
        .unwrap();
        assert_eq!(r.data_collections, vec!["public.a", "s.b"]);
        assert_eq!(r.snapshot_type, "incremental");
        assert_eq!(
            r.additional_conditions,
            vec![("public.a".into(), "id > 5".into())]
        );
        assert_eq!(r.surrogate_key.as_deref(), Some("k"));
        assert_eq!(
            SnapshotRequest::parse(None).unwrap().snapshot_type,
            "incremental"
        );
        assert!(SnapshotRequest::parse(Some("not json")).is_err());
    }
}
