//! A snapshot read by several connections at once (`snapshot.max.threads`
//! above 1), as Debezium's chunked snapshot splits it: a table with a
//! primary key (or non-null `message.key.columns`) becomes
//! `snapshot.max.threads` × `snapshot.max.threads.multiplier` ranges of
//! its key holding about as many rows each (the boundaries found by
//! counting along the key, in the snapshot's view); a table without one,
//! a table read through a SELECT override, and every table under
//! `legacy.snapshot.max.threads` is one chunk. Every connection imports
//! the snapshot's view (`SET TRANSACTION SNAPSHOT`) and reads one chunk
//! at a time through a cursor, taking the next when done.
//!
//! The rows reach the snapshot in table and chunk order, the order one
//! connection would read them, so events and their `snapshot` markers
//! are those of a sequential snapshot (Debezium's threads interleave
//! tables and chunks in whatever order they finish); the chunks ahead are
//! read meanwhile, each at most [`CHUNK_AHEAD`] fetches ahead of the poll.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Executor, PgConnection, Row};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::snapshot::SnapshotError;

/// Fetches of a chunk read ahead of the poll, per chunk in flight.
const CHUNK_AHEAD: usize = 2;

/// What a reader says of its chunk.
enum ChunkMessage {
    Rows(Vec<PgRow>),
    /// Every row of the chunk was sent.
    Done,
    Failed(SnapshotError),
}

/// A range of one table to read: the SELECT that returns it.
struct Chunk {
    select: String,
    rows: mpsc::Sender<ChunkMessage>,
}

/// How a table is split.
pub struct TablePlan {
    /// Its SELECT of every row (the table's projection, or an override).
    pub select: String,
    /// `schema.table`, quoted, when `select` is the table's own
    /// (`SELECT … FROM <from>`, no condition): with `key` it can be split.
    pub from: Option<String>,
    /// The key columns (quoted, in key order) when none is nullable.
    pub key: Vec<String>,
}

/// The connections reading a snapshot's chunks, and the chunks in the
/// order the snapshot takes them.
pub struct ChunkReaders {
    /// (table index, its chunk's rows), in table and chunk order.
    chunks: VecDeque<(usize, mpsc::Receiver<ChunkMessage>)>,
    workers: Vec<JoinHandle<Result<(), SnapshotError>>>,
}

impl ChunkReaders {
    /// Plans the chunks of `tables` on `db` (inside the snapshot's
    /// transaction, so the boundaries are the view's), opens `threads`
    /// connections into the view `snapshot_name` and starts reading.
    pub async fn start(
        db: &mut PgConnection,
        options: &PgConnectOptions,
        snapshot_name: &str,
        tables: Vec<TablePlan>,
        threads: usize,
        chunks_per_thread: Option<usize>,
        fetch_size: usize,
    ) -> Result<Self, SnapshotError> {
        let mut queue = VecDeque::new();
        let mut chunks = VecDeque::new();
        for (index, table) in tables.into_iter().enumerate() {
            let selects = match (chunks_per_thread, &table.from) {
                (Some(multiplier), Some(from)) if !table.key.is_empty() => {
                    split(db, &table, from, threads.saturating_mul(multiplier)).await?
                }
                _ => vec![table.select],
            };
            for select in selects {
                let (tx, rx) = mpsc::channel(CHUNK_AHEAD);
                queue.push_back(Chunk { select, rows: tx });
                chunks.push_back((index, rx));
            }
        }
        info!(
            chunks = chunks.len(),
            threads, "snapshot read by several connections"
        );
        let queue = Arc::new(Mutex::new(queue));
        let name = snapshot_name.replace('\'', "''");
        let mut workers = Vec::with_capacity(threads);
        for n in 0..threads {
            let mut conn = options
                .connect()
                .await
                .map_err(|source| SnapshotError::Database {
                    what: "cannot open a snapshot connection".into(),
                    source,
                })?;
            let open = async {
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                conn.execute(format!("SET TRANSACTION SNAPSHOT '{name}'").as_str())
                    .await
            };
            open.await.map_err(|source| SnapshotError::Database {
                what: "cannot import the snapshot on a snapshot connection".into(),
                source,
            })?;
            workers.push(tokio::spawn(read_chunks(
                n,
                conn,
                Arc::clone(&queue),
                fetch_size,
            )));
        }
        Ok(Self { chunks, workers })
    }

    /// The next rows of table `table`; `None` when its chunks are done.
    pub async fn next_rows(&mut self, table: usize) -> Result<Option<Vec<PgRow>>, SnapshotError> {
        loop {
            let Some((t, rows)) = self.chunks.front_mut() else {
                return Ok(None);
            };
            if *t != table {
                return Ok(None);
            }
            match rows.recv().await {
                Some(ChunkMessage::Rows(rows)) => return Ok(Some(rows)),
                Some(ChunkMessage::Done) => {
                    self.chunks.pop_front();
                }
                Some(ChunkMessage::Failed(e)) => return Err(e),
                // A reader gone without saying its chunk was done: a
                // panic, never the end of the rows.
                None => return Err(SnapshotError::ReaderLost),
            }
        }
    }

    /// Waits for the connections to end their transactions.
    pub async fn finish(mut self) -> Result<(), SnapshotError> {
        for worker in std::mem::take(&mut self.workers) {
            match worker.await {
                Ok(result) => result?,
                Err(_) => return Err(SnapshotError::ReaderLost),
            }
        }
        Ok(())
    }
}

impl Drop for ChunkReaders {
    fn drop(&mut self) {
        // A snapshot dropped before its end (the task stopped or failed).
        for worker in &self.workers {
            worker.abort();
        }
    }
}

/// Reads chunks from `queue` until it is empty, then ends the
/// transaction; a chunk that fails is reported on its channel.
async fn read_chunks(
    n: usize,
    mut db: PgConnection,
    queue: Arc<Mutex<VecDeque<Chunk>>>,
    fetch_size: usize,
) -> Result<(), SnapshotError> {
    loop {
        let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        let Some(chunk) = next else { break };
        match read_chunk(&mut db, &chunk, fetch_size).await {
            Ok(true) => {}
            // The snapshot is gone: nothing more to read.
            Ok(false) => return Ok(()),
            Err(e) => {
                warn!(reader = n, "snapshot chunk failed: {e}");
                let _ = chunk.rows.send(ChunkMessage::Failed(e)).await;
                return Ok(());
            }
        }
    }
    db.execute("COMMIT")
        .await
        .map_err(|source| SnapshotError::Database {
            what: "cannot end a snapshot connection's transaction".into(),
            source,
        })?;
    Ok(())
}

/// Sends `chunk`'s rows, `fetch_size` at a time; false when the snapshot
/// no longer takes them.
async fn read_chunk(
    db: &mut PgConnection,
    chunk: &Chunk,
    fetch_size: usize,
) -> Result<bool, SnapshotError> {
    let failed = |source| SnapshotError::Database {
        what: format!("cannot read the snapshot chunk {}", chunk.select),
        source,
    };
    db.execute(format!("DECLARE ferry_chunk NO SCROLL CURSOR FOR {}", chunk.select).as_str())
        .await
        .map_err(failed)?;
    loop {
        let rows = sqlx::query(&format!("FETCH FORWARD {fetch_size} FROM ferry_chunk"))
            .persistent(false)
            .fetch_all(&mut *db)
            .await
            .map_err(failed)?;
        let last = rows.len() < fetch_size;
        if !rows.is_empty() && chunk.rows.send(ChunkMessage::Rows(rows)).await.is_err() {
            return Ok(false);
        }
        if last {
            break;
        }
    }
    db.execute("CLOSE ferry_chunk").await.map_err(failed)?;
    Ok(chunk.rows.send(ChunkMessage::Done).await.is_ok())
}

/// `table`'s SELECT split into up to `wanted` key ranges of about equal
/// rows, as Debezium's `calculateChunkCount` and `ChunkBoundaryCalculator`
/// split it: `count / wanted` rows each, a boundary the last key of a
/// range (found by counting along the key from the one before).
async fn split(
    db: &mut PgConnection,
    table: &TablePlan,
    from: &str,
    wanted: usize,
) -> Result<Vec<String>, SnapshotError> {
    let failed = |source| SnapshotError::Database {
        what: format!("cannot split {from} into chunks"),
        source,
    };
    let count: i64 = sqlx::query(&format!("SELECT count(*) FROM {from}"))
        .fetch_one(&mut *db)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(failed)?;
    let count = u64::try_from(count).unwrap_or(0);
    let wanted = u64::try_from(wanted).unwrap_or(1).max(1);
    let per_chunk = count / wanted;
    if wanted == 1 || per_chunk == 0 {
        return Ok(vec![table.select.clone()]);
    }
    let keys = table.key.join(", ");
    // A boundary as literals of the key's types, compared as a row.
    let literals = table
        .key
        .iter()
        .map(|k| format!("format('%L::%s', {k}, pg_typeof({k}))"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut boundaries: Vec<String> = Vec::new();
    for _ in 1..wanted {
        let after = boundaries
            .last()
            .map(|b| format!(" WHERE ({keys}) > ({b})"))
            .unwrap_or_default();
        let row = sqlx::query(&format!(
            "SELECT {literals} FROM {from}{after} ORDER BY {keys} LIMIT 1 OFFSET {}",
            per_chunk - 1
        ))
        .fetch_optional(&mut *db)
        .await
        .map_err(failed)?;
        let Some(row) = row else { break };
        let values = (0..table.key.len())
            .map(|i| row.try_get::<String, _>(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        boundaries.push(values.join(", "));
    }
    let mut selects = Vec::with_capacity(boundaries.len() + 1);
    let mut lower: Option<&String> = None;
    for upper in boundaries.iter().map(Some).chain([None]) {
        let mut conditions = Vec::new();
        if let Some(l) = lower {
            conditions.push(format!("({keys}) > ({l})"));
        }
        if let Some(u) = upper {
            conditions.push(format!("({keys}) <= ({u})"));
        }
        selects.push(if conditions.is_empty() {
            table.select.clone()
        } else {
            format!("{} WHERE {}", table.select, conditions.join(" AND "))
        });
        lower = upper;
    }
    info!(table = %from, rows = count, chunks = selects.len(), "table split into chunks");
    Ok(selects)
}
