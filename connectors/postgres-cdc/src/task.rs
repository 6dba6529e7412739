//! The source task: the publication and the slot set up as Debezium sets
//! them up, a snapshot when `snapshot.mode` and the stored offset call for
//! one, then changes streamed from the stored offset (or the snapshot's
//! position), and the slot told what is flushed only once the offsets past
//! it are committed.
//!
//! Heartbeats (`heartbeat.interval.ms`, `heartbeat.action.query`) carry
//! the offset while no captured table changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ferry_api::{
    ConnectError, OffsetMap, Props, Schema, SchemaBuilder, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal, Struct, Value,
};
use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, Row};
use tracing::{info, warn};

use crate::catalog;
use crate::config::{AutoCreateMode, CdcConfig, LsnFlushMode, SnapshotMode, SslMode};
use crate::file_signals::FileSignals;
use crate::incremental::{self, IncrementalError, IncrementalSnapshot, Signal, SnapshotRequest};
use crate::kafka_signals::KafkaSignals;
use crate::lsn::Lsn;
use crate::notifications::{Notice, Notifier, Outbox, INITIAL_SNAPSHOT};
use crate::offsets::{self, PgOffset, SnapshotType};
use crate::pgoutput::{self, Message};
use crate::snapshot::{quote_ident, OnDemand, Snapshot, SnapshotError, View};
use crate::stream::{ChangeEvent, ChangeStream, ContextHeaders, StreamSettings};
use crate::values::Modes;

/// A failed statement; a lost connection is retriable (the task starts
/// over, see [`PostgresCdcTask::schedule_restart`]).
fn failed(what: &str) -> impl Fn(sqlx::Error) -> ConnectError + '_ {
    move |e| {
        let message = format!("{what}: {e}");
        if sqlx_transient(&e) {
            ConnectError::retriable_caused_by(message, e)
        } else {
            ConnectError::caused_by(message, e)
        }
    }
}

/// The streaming source task.
#[derive(Default)]
pub struct PostgresCdcTask {
    config: Option<CdcConfig>,
    context: Option<SourceTaskContext>,
    catalog: Option<PgConnection>,
    client: Option<ReplicationClient>,
    stream: Option<ChangeStream>,
    partition: Arc<OffsetMap>,
    /// After a restart: the transaction the stored offset was inside of,
    /// and its last event processed; its events up to there are not sent
    /// again.
    resume: Option<(i64, Lsn)>,
    /// The transaction being read: its id and final (commit) LSN.
    open_tx: Option<(i64, Lsn)>,
    /// The offset the task started from, until the stream has one.
    stored: PgOffset,
    next_heartbeat: Option<Instant>,
    /// The snapshot, while it runs.
    snapshot: Option<Snapshot>,
    /// The session that created the slot, waiting to stream until the
    /// snapshot it exported is read.
    pending_stream: Option<ReplicationClient>,
    /// `__debezium.context.runId`, one per start.
    run_id: String,
    /// The replication session was lost: when to connect again.
    reconnect: Option<Instant>,
    /// Reconnections since the stream last delivered anything.
    reconnect_attempts: u32,
    /// `(commit LSN of its transaction, LSN)` of the last change handed
    /// to the worker.
    last_sent: Option<(Lsn, Lsn)>,
    /// After a reconnection, which resumes from the committed offset:
    /// changes up to here were handed to the worker already.
    replay_upto: Option<(Lsn, Lsn)>,
    /// Incremental snapshots on request (kept across reconnections).
    incremental: Option<IncrementalSnapshot>,
    /// The `kafka` signal channel, when enabled.
    kafka_signals: Option<KafkaSignals>,
    /// The `file` signal channel, when enabled.
    file_signals: Option<FileSignals>,
    /// Blocking snapshots asked for and not begun yet, in order.
    blocking_requests: std::collections::VecDeque<SnapshotRequest>,
    /// The configuration the task started with, to start over.
    props: Option<Props>,
    /// A connection other than the replication session was lost (the
    /// snapshot's, the catalog's): when to start the task over.
    restart: Option<Instant>,
    /// Snapshot notifications' channels, when any is enabled.
    notifier: Option<Notifier>,
    /// Notifications of the task itself and of a snapshot that ended.
    notices: Outbox,
    /// The offset of the last record handed to the worker: notification
    /// records carry it, so that committing one never moves the offset.
    last_offset: Option<OffsetMap>,
}

/// Whether a failed replication session is worth opening again: the
/// network, or the server going down or coming up (SQLSTATE classes 08,
/// 53, 57P, and 55006 for a slot another session still holds), not a
/// refusal another attempt would meet the same way.
fn transient(e: &pgwire_replication::PgWireError) -> bool {
    use pgwire_replication::PgWireError;
    match e {
        // Internal: the session's worker ended in a state the client did
        // not expect (e.g. a receive cancelled while its end was being
        // collected); a new session is the way on.
        PgWireError::Io(_) | PgWireError::Task(_) | PgWireError::Internal(_) => true,
        PgWireError::Server(m) => m.split("SQLSTATE ").nth(1).is_some_and(|code| {
            transient_sqlstate(code.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        }),
        _ => false,
    }
}

fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "55006"
}

/// [`transient`] for the catalog connection.
pub(crate) fn sqlx_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| transient_sqlstate(&c)),
        _ => false,
    }
}

impl PostgresCdcTask {
    async fn connect(config: &CdcConfig) -> Result<PgConnection, ConnectError> {
        Self::connect_options(config)?
            .connect()
            .await
            .map_err(failed("cannot connect to PostgreSQL"))
    }

    fn connect_options(
        config: &CdcConfig,
    ) -> Result<sqlx::postgres::PgConnectOptions, ConnectError> {
        use sqlx::postgres::PgSslMode;
        let ssl = match config.ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        };
        let mut options = sqlx::postgres::PgConnectOptions::new()
            .host(&config.hostname)
            .port(config.port)
            .username(&config.user)
            .database(&config.dbname)
            .ssl_mode(ssl)
            .options([("DateStyle", "ISO"), ("IntervalStyle", "postgres")]);
        if let Some(p) = &config.password {
            options = options.password(p.value());
        }
        if let Some(ca) = &config.ssl_root_cert {
            options = options.ssl_root_cert(ca.as_str());
        }
        if let Some(cert) = &config.ssl_cert {
            options = options.ssl_client_cert(cert.as_str());
        }
        if let Some(key) = &config.ssl_key {
            options = options.ssl_client_key(key.as_str());
        }
        Ok(options)
    }

    /// Creates the publication as `publication.autocreate.mode` says.
    async fn ensure_publication(
        db: &mut PgConnection,
        config: &CdcConfig,
    ) -> Result<(), ConnectError> {
        let exists = sqlx::query("SELECT 1 FROM pg_publication WHERE pubname = $1")
            .bind(&config.publication_name)
            .fetch_optional(&mut *db)
            .await
            .map_err(failed("cannot read publications"))?
            .is_some();
        let name = quote_ident(&config.publication_name);
        let sql = match (exists, config.publication_autocreate) {
            (true, AutoCreateMode::Filtered) | (false, AutoCreateMode::Filtered) => {
                let tables = captured_tables(db, config).await?;
                if tables.is_empty() {
                    return Err(ConnectError::config(
                        "publication.autocreate.mode=filtered: no table matches the include and exclude lists",
                    ));
                }
                let verb = if exists {
                    "ALTER PUBLICATION {} SET TABLE"
                } else {
                    "CREATE PUBLICATION {} FOR TABLE"
                };
                format!("{} {}", verb.replace("{}", &name), tables.join(", "))
            }
            (true, _) => return Ok(()),
            (false, AutoCreateMode::AllTables) => {
                format!("CREATE PUBLICATION {name} FOR ALL TABLES")
            }
            (false, AutoCreateMode::NoTables) => format!("CREATE PUBLICATION {name}"),
            (false, AutoCreateMode::Disabled) => {
                return Err(ConnectError::config(format!(
                    "publication {} does not exist and publication.autocreate.mode is disabled",
                    config.publication_name
                )))
            }
        };
        info!(publication = %config.publication_name, "{sql}");
        db.execute(sql.as_str())
            .await
            .map_err(failed("cannot create the publication"))?;
        Ok(())
    }

    /// Creates the slot if it is missing. One another session holds is
    /// waited for, `slot.max.retries` times `slot.retry.delay.ms`, as
    /// Debezium waits: a connector restarted quickly finds its old session
    /// still going.
    async fn ensure_slot(
        db: &mut PgConnection,
        config: &CdcConfig,
        stop: &StopSignal,
    ) -> Result<(), ConnectError> {
        let mut attempts = 0;
        loop {
            let row = sqlx::query(
                "SELECT plugin, active, active_pid FROM pg_replication_slots WHERE slot_name = $1",
            )
            .bind(&config.slot_name)
            .fetch_optional(&mut *db)
            .await
            .map_err(failed("cannot read replication slots"))?;
            let Some(r) = row else {
                sqlx::query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')")
                    .bind(&config.slot_name)
                    .execute(&mut *db)
                    .await
                    .map_err(failed("cannot create the replication slot"))?;
                info!(slot = %config.slot_name, "replication slot created");
                return Ok(());
            };
            let plugin: Option<String> = r.get(0);
            if plugin.as_deref() != Some("pgoutput") {
                return Err(ConnectError::config(format!(
                    "replication slot {} uses the {} plugin, not pgoutput",
                    config.slot_name,
                    plugin.unwrap_or_default()
                )));
            }
            if !r.get::<bool, _>(1) {
                return Ok(());
            }
            let pid: Option<i32> = r.get(2);
            let held = format!(
                "replication slot {} is active for another session (PID {}): is another connector using slot.name={}?",
                config.slot_name,
                pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
                config.slot_name
            );
            if attempts >= config.slot_max_retries {
                return Err(ConnectError::other(format!(
                    "{held} Gave up after {attempts} retries (slot.max.retries)"
                )));
            }
            attempts += 1;
            warn!(slot = %config.slot_name, attempt = attempts, "{held} Waiting slot.retry.delay.ms");
            if stop
                .unless_stopped(tokio::time::sleep(config.slot_retry_delay))
                .await
                .is_none()
            {
                return Err(ConnectError::other(held));
            }
        }
    }

    fn record(&self, event: ChangeEvent) -> SourceRecord {
        let (key_schema, key) = match event.key {
            Some((s, k)) => (Some(s), Value::Struct(k)),
            None => (None, Value::Null),
        };
        let (value_schema, value) = match event.value {
            Some((s, v)) => (Some(s), Value::Struct(v)),
            None => (None, Value::Null),
        };
        let mut r = SourceRecord::new(
            Arc::clone(&self.partition),
            event.offset.to_map(),
            event.topic,
            value_schema,
            value,
        );
        r.key_schema = key_schema;
        r.key = key;
        r.headers = event.headers;
        r
    }

    /// A heartbeat, when one is due: `heartbeat.action.query` run, then a
    /// record on the heartbeat topic carrying the current offset, so that
    /// the offset (and the slot) move on while no captured table changes.
    async fn heartbeat(&mut self) -> Result<Option<SourceRecord>, ConnectError> {
        // Debezium beats from its streaming loop: not while a snapshot
        // runs (its records carry their own offsets; the stored one could
        // say no snapshot is running), nor while the stream is reopened
        // and replays what was sent (its position is older than that).
        if self.snapshot.is_some() || self.reconnect.is_some() || self.replay_upto.is_some() {
            return Ok(None);
        }
        let (Some(config), Some(due)) = (self.config.as_ref(), self.next_heartbeat) else {
            return Ok(None);
        };
        if Instant::now() < due {
            return Ok(None);
        }
        if let Some(interval) = config.heartbeat_interval {
            self.next_heartbeat = Some(Instant::now() + interval);
        }
        if let (Some(query), Some(db)) = (&config.heartbeat_action_query, self.catalog.as_mut()) {
            db.execute(query.as_str())
                .await
                .map_err(failed("heartbeat.action.query failed"))?;
        }
        let mut offset = self.position();
        if offset.lsn_proc.is_none() && offset.lsn.is_none() {
            // Nothing to carry yet.
            return Ok(None);
        }
        if let Some(inc) = &self.incremental {
            offset.incremental = inc.offset();
        }
        let key_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.ServerNameKey")
            .version(1)
            .field("serverName", Schema::string())
            .build();
        let value_schema = SchemaBuilder::struct_()
            .name("io.debezium.connector.common.Heartbeat")
            .version(1)
            .field("ts_ms", Schema::int64())
            .build();
        let key = Struct::new(key_schema.clone())
            .and_then(|k| k.put("serverName", config.topic_prefix.as_str()))
            .map_err(|e| ConnectError::caused_by("a heartbeat key", e))?;
        let value = Struct::new(value_schema.clone())
            .and_then(|v| v.put("ts_ms", Value::Int64(now_micros() / 1000)))
            .map_err(|e| ConnectError::caused_by("a heartbeat value", e))?;
        let mut r = SourceRecord::new(
            Arc::clone(&self.partition),
            offset.to_map(),
            config.heartbeat_topic.clone(),
            Some(value_schema),
            Value::Struct(value),
        );
        r.kafka_partition = Some(0);
        r.key_schema = Some(key_schema);
        r.key = Value::Struct(key);
        Ok(Some(r))
    }

    /// Where streaming is: the stream's offset once it has read a
    /// message, the offset it started from before.
    fn position(&self) -> PgOffset {
        match self.stream.as_ref().map(ChangeStream::offset) {
            Some(o) if o.lsn_proc.is_some() || o.lsn.is_some() => o.clone(),
            _ => self.stored.clone(),
        }
    }

    fn stop_signal(&self) -> Option<StopSignal> {
        self.context.as_ref().map(|c| c.stop_signal().clone())
    }

    /// Drops the snapshot, keeping its last notifications to send.
    fn end_snapshot(&mut self) {
        if let Some(mut snapshot) = self.snapshot.take() {
            for notice in snapshot.take_notices() {
                self.notices.push(|| notice);
            }
        }
    }

    /// `records` and, after them, the notifications made meanwhile, as
    /// records of the `sink` channel (the `log` channel logs them here).
    fn with_notifications(&mut self, mut records: Vec<SourceRecord>) -> Vec<SourceRecord> {
        let Some(notifier) = &self.notifier else {
            return records;
        };
        if let Some(last) = records.last() {
            self.last_offset = Some(last.source_offset.clone());
        }
        let mut notices = self.notices.take();
        if let Some(snapshot) = &mut self.snapshot {
            notices.extend(snapshot.take_notices());
        }
        if let Some(inc) = &mut self.incremental {
            notices.extend(inc.take_notices());
        }
        // Before any offset (a first start that takes no snapshot), the
        // notifications wait: a record with an empty offset, committed,
        // would read as an offset that exists.
        let stored = self.stored.to_map();
        let Some(offset) = self
            .last_offset
            .clone()
            .or_else(|| (!stored.is_empty()).then_some(stored))
        else {
            for notice in notices {
                self.notices.push(|| notice);
            }
            return records;
        };
        let now_ms = now_micros() / 1000;
        for notice in notices {
            let Some(n) = notifier.send(notice, now_ms) else {
                continue;
            };
            let offset = offset.clone();
            let mut r = SourceRecord::new(
                Arc::clone(&self.partition),
                offset,
                n.topic,
                Some(n.value_schema),
                Value::Struct(n.value),
            );
            r.key_schema = Some(n.key_schema);
            r.key = Value::Struct(n.key);
            records.push(r);
        }
        records
    }

    /// Events of the snapshot while it runs; when it is done, streaming
    /// starts from its position (`initial_only`: nothing more is read).
    async fn poll_snapshot(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let (Some(config), Some(snapshot)) = (self.config.clone(), self.snapshot.as_mut()) else {
            return Ok(Vec::new());
        };
        let events = snapshot
            .next_events(config.max_batch_size, now_micros)
            .await;
        if snapshot.is_blocking() {
            return self.blocking_snapshot_events(events).await;
        }
        let events = events.map_err(|e| {
            let message = format!("the snapshot failed: {e}");
            match &e {
                SnapshotError::Database { source, .. } if sqlx_transient(source) => {
                    ConnectError::retriable_caused_by(message, e)
                }
                _ => ConnectError::caused_by(message, e),
            }
        })?;
        if !events.is_empty() {
            self.reconnect_attempts = 0;
        }
        if snapshot.is_done() {
            let position = snapshot.position().clone();
            self.end_snapshot();
            if config.snapshot_mode != SnapshotMode::InitialOnly {
                let gated = self.pending_stream.take();
                self.start_streaming(&config, position, gated).await?;
            } else {
                self.stored = position;
            }
            // Debezium sends a heartbeat as a snapshot ends.
            if config.heartbeat_interval.is_some() {
                self.next_heartbeat = Some(Instant::now());
            }
        }
        let mut records: Vec<SourceRecord> = events.into_iter().map(|e| self.record(e)).collect();
        records.extend(self.heartbeat().await?);
        Ok(records)
    }

    /// A blocking snapshot's events; when it is done (or failed, which
    /// is logged), streaming resumes.
    async fn blocking_snapshot_events(
        &mut self,
        events: Result<Vec<ChangeEvent>, SnapshotError>,
    ) -> Result<Vec<SourceRecord>, ConnectError> {
        let events = match events {
            Ok(events) => events,
            Err(e) => {
                warn!("the blocking snapshot failed: {e}; streaming resumes");
                self.end_snapshot();
                self.begin_blocking_snapshot().await;
                return Ok(Vec::new());
            }
        };
        if self.snapshot.as_ref().is_some_and(Snapshot::is_done) {
            self.end_snapshot();
            if self
                .config
                .as_ref()
                .is_some_and(|c| c.heartbeat_interval.is_some())
            {
                self.next_heartbeat = Some(Instant::now());
            }
            // The next one asked for, if any, before streaming resumes.
            self.begin_blocking_snapshot().await;
        }
        let mut records: Vec<SourceRecord> = events.into_iter().map(|e| self.record(e)).collect();
        records.extend(self.heartbeat().await?);
        Ok(records)
    }

    fn stream_settings(&self, config: &CdcConfig) -> StreamSettings {
        StreamSettings {
            topic_prefix: config.topic_prefix.clone(),
            db: config.dbname.clone(),
            modes: Modes {
                decimal: config.decimal_handling,
                time_precision: config.time_precision,
                binary: config.binary_handling,
            },
            skipped_operations: config.skipped_operations.clone(),
            tombstones_on_delete: config.tombstones_on_delete,
            context_headers: Some(ContextHeaders {
                run_id: self.run_id.clone(),
            }),
            transaction_topic: config.transaction_topic.clone(),
        }
    }

    /// Streams from `stored` on `gated`, a session that created the slot
    /// (and waited while its exported snapshot was read), or on a new
    /// session.
    async fn start_streaming(
        &mut self,
        config: &CdcConfig,
        stored: PgOffset,
        gated: Option<ReplicationClient>,
    ) -> Result<(), ConnectError> {
        let start = stored.resume_lsn().unwrap_or(Lsn::INVALID);
        info!(slot = %config.slot_name, start = %start, "streaming");
        let cannot = |e: pgwire_replication::PgWireError| {
            let what = format!("cannot start streaming from slot {}: {e}", config.slot_name);
            if transient(&e) {
                ConnectError::retriable_caused_by(what, e)
            } else {
                ConnectError::caused_by(what, e)
            }
        };
        let client = match gated {
            // A new slot starts at its consistent point, the snapshot's.
            Some(mut client) => {
                client.start().await.map_err(cannot)?;
                client.wait_started().await.map_err(cannot)?;
                client
            }
            None => {
                let mut replication = replication_config(config);
                if start != Lsn::INVALID {
                    replication =
                        replication.with_start_lsn(pgwire_replication::Lsn::from_u64(start.0));
                }
                ReplicationClient::connect(replication)
                    .await
                    .map_err(cannot)?
            }
        };
        self.resume = match (stored.tx_id, stored.lsn_proc, stored.message_type) {
            (Some(tx), Some(lsn), Some(t)) if t != offsets::MessageType::Commit => Some((tx, lsn)),
            _ => None,
        };
        self.stream = Some(ChangeStream::new(
            self.stream_settings(config),
            stored.lsn_commit,
        ));
        if self.incremental.is_none()
            && (config.signal_table.is_some() || stored.incremental.is_some())
        {
            let modes = self.stream_settings(config).modes;
            self.incremental = Some(
                IncrementalSnapshot::new(config, modes, &stored)
                    .map_err(|e| ConnectError::config(e.to_string()))?,
            );
        }
        self.stored = stored;
        self.client = Some(client);
        Ok(())
    }
}

impl PostgresCdcTask {
    /// The replication session failed: a transient failure schedules a
    /// new session after `retriable.restart.connector.wait.ms` (while
    /// `errors.max.retries` allows), anything else fails the task.
    fn lose_stream(&mut self, cause: String, transient: bool) -> Result<(), ConnectError> {
        self.client = None;
        self.stream = None;
        self.open_tx = None;
        let Some(config) = self.config.as_ref() else {
            return Err(ConnectError::other(cause));
        };
        if !transient {
            return Err(ConnectError::other(cause));
        }
        if config
            .errors_max_retries
            .is_some_and(|max| self.reconnect_attempts >= max)
        {
            return Err(ConnectError::other(format!(
                "{cause}; gave up after {} reconnections (errors.max.retries)",
                self.reconnect_attempts
            )));
        }
        self.reconnect_attempts += 1;
        warn!(
            slot = %config.slot_name,
            attempt = self.reconnect_attempts,
            wait_ms = config.retriable_restart_wait.as_millis() as u64,
            "{cause}; reconnecting"
        );
        self.reconnect = Some(Instant::now() + config.retriable_restart_wait);
        // What was handed to the worker before stays handed.
        self.replay_upto = self.replay_upto.max(self.last_sent);
        Ok(())
    }

    /// A new replication session, once the wait after a lost one is over,
    /// from the committed offset: the slot has kept everything after it.
    /// Changes already handed to the worker are skipped as they come
    /// again. `false` while there is no session yet.
    async fn reconnect_stream(&mut self) -> Result<bool, ConnectError> {
        let (Some(at), Some(stop), Some(config)) =
            (self.reconnect, self.stop_signal(), self.config.clone())
        else {
            return Ok(true);
        };
        let wait = at.saturating_duration_since(Instant::now());
        if stop
            .unless_stopped(tokio::time::sleep(wait))
            .await
            .is_none()
        {
            return Ok(false);
        }
        self.reconnect = None;
        let options = Self::connect_options(&config)?;
        let catalog = async {
            let mut db = options.connect().await?;
            let slot = sqlx::query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1")
                .bind(&config.slot_name)
                .fetch_optional(&mut db)
                .await?;
            Ok::<_, sqlx::Error>((db, slot))
        };
        let (db, slot) = match catalog.await {
            Ok(found) => found,
            Err(e) if sqlx_transient(&e) => {
                self.lose_stream(format!("cannot connect to PostgreSQL: {e}"), true)?;
                return Ok(false);
            }
            Err(e) => {
                return Err(ConnectError::caused_by(
                    format!("cannot connect to PostgreSQL: {e}"),
                    e,
                ))
            }
        };
        if slot.is_none() {
            return Err(ConnectError::other(format!(
                "replication slot {} no longer exists (dropped while the connector ran); \
                 the changes since the last committed offset are gone with it",
                config.slot_name
            )));
        }
        if let Some(old) = self.catalog.replace(db) {
            let _ = tokio::time::timeout(Duration::from_secs(1), old.close()).await;
        }
        let committed = match self
            .context
            .as_ref()
            .and_then(|c| c.offset_storage_reader().offset(&self.partition))
        {
            Some(m) => PgOffset::from_map(&m).map_err(|e| ConnectError::config(e.to_string()))?,
            None => self.stored.clone(),
        };
        match self.start_streaming(&config, committed, None).await {
            Ok(()) => {
                info!(slot = %config.slot_name, "replication stream reconnected");
                Ok(true)
            }
            Err(e) if e.is_retriable() => {
                self.lose_stream(e.to_string(), true)?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// An incremental snapshot's failure: a lost connection restarts the
/// task (the snapshot goes on from its offset); anything else is logged
/// and streaming goes on, as Debezium skips a table it cannot read.
fn incremental_outcome(result: Result<(), IncrementalError>) -> Result<(), ConnectError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.is_lost_connection() => Err(ConnectError::retriable_caused_by(
            format!("incremental snapshot: {e}"),
            e,
        )),
        Err(IncrementalError::Offset(e)) => Err(ConnectError::config(e)),
        Err(e) => {
            warn!(error = %e, "incremental snapshot");
            Ok(())
        }
    }
}

/// The incremental snapshot's part in a message's events (`events[first..]`):
/// signals acted on (a closed window's rows go out just before the close
/// watermark's own event, as Debezium sends them), rows of the open chunk
/// that the stream changed dropped from it, and the snapshot's progress
/// in every offset. A request for a blocking snapshot is returned: the
/// task pauses streaming for it.
async fn incremental_step(
    inc: &mut IncrementalSnapshot,
    db: &mut PgConnection,
    config: &CdcConfig,
    stream: &ChangeStream,
    events: &mut Vec<ChangeEvent>,
    first: usize,
    now: i64,
) -> Result<Option<SnapshotRequest>, ConnectError> {
    let mut i = first;
    while i < events.len() {
        let signal = (inc.signal_topic() == Some(events[i].topic.as_str()))
            .then(|| Signal::of(&events[i], inc.strategy()))
            .flatten();
        if let Some(signal) = signal {
            match signal.kind.as_str() {
                incremental::WINDOW_OPEN => inc.open_window(&signal.id),
                incremental::WINDOW_CLOSE => {
                    let rows = inc
                        .close_window(&signal.id, stream.offset(), stream.settings(), now)
                        .map_err(|e| {
                            ConnectError::caused_by(format!("incremental snapshot: {e}"), e)
                        })?;
                    if let Some(rows) = rows {
                        let n = rows.len();
                        events.splice(i..i, rows);
                        i += n;
                        incremental_outcome(inc.read_chunk(db).await)?;
                    }
                }
                _ if !config.signals_from_table => {}
                _ => {
                    if let Some(request) =
                        act_on_signal(Some(&mut *inc), db, config, stream, &signal).await?
                    {
                        events[i].offset.incremental = inc.offset();
                        return Ok(Some(request));
                    }
                }
            }
        } else {
            inc.deduplicate(&events[i]);
        }
        events[i].offset.incremental = inc.offset();
        i += 1;
    }
    Ok(None)
}

/// A signal from the signal table or from Kafka acted on, as Debezium's
/// signal actions do; a blocking snapshot's request is returned for the
/// task to pause streaming. `inc` is `None` without a signal table, which
/// incremental snapshots need for their watermarks.
async fn act_on_signal(
    inc: Option<&mut IncrementalSnapshot>,
    db: &mut PgConnection,
    config: &CdcConfig,
    stream: &ChangeStream,
    signal: &Signal,
) -> Result<Option<SnapshotRequest>, ConnectError> {
    let data = signal.data.as_deref();
    match signal.kind.as_str() {
        "execute-snapshot" => match SnapshotRequest::parse(data) {
            Err(e) => warn!(signal = %signal.id, "execute-snapshot ignored: {e}"),
            Ok(r) if r.data_collections.is_empty() => {
                warn!(signal = %signal.id, "execute-snapshot ignored: it names no data-collections")
            }
            Ok(r) if r.snapshot_type == "blocking" => {
                info!(signal = %signal.id, tables = ?r.data_collections, "execute-snapshot (blocking)");
                return Ok(Some(r));
            }
            Ok(r) if r.snapshot_type != "incremental" => warn!(
                signal = %signal.id,
                "execute-snapshot ignored: {:?} is not a snapshot type; use incremental or blocking",
                r.snapshot_type
            ),
            Ok(r) => match inc {
                Some(inc) => {
                    info!(signal = %signal.id, tables = ?r.data_collections, "execute-snapshot");
                    incremental_outcome(inc.execute(db, &config.tables, r, &signal.id).await)?
                }
                None => warn!(
                    signal = %signal.id,
                    "execute-snapshot ignored: incremental snapshots need a signal table (signal.data.collection) for their watermarks"
                ),
            },
        },
        kind @ ("stop-snapshot" | "pause-snapshot" | "resume-snapshot") => {
            let Some(inc) = inc else {
                warn!(signal = %signal.id, "{kind} ignored: no incremental snapshot runs without a signal table");
                return Ok(None);
            };
            match kind {
                "stop-snapshot" => match SnapshotRequest::parse(data) {
                    Ok(r) => inc.stop(&r.data_collections),
                    Err(e) => warn!(signal = %signal.id, "stop-snapshot ignored: {e}"),
                },
                "pause-snapshot" => inc.pause(),
                _ => incremental_outcome(inc.resume(db).await)?,
            }
        }
        "log" => {
            let message = data
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|d| d.get("message")?.as_str().map(str::to_owned))
                .unwrap_or_default();
            info!(signal = %signal.id, offset = ?stream.offset().to_map(), "{message}");
        }
        other => warn!(signal = %signal.id, "unknown signal type {other:?} ignored"),
    }
    Ok(None)
}

/// Where `message` is in stream order: `(commit LSN of its transaction,
/// LSN)`, BEGIN first and COMMIT last in their transaction; `None`
/// outside a transaction. Transactions arrive in commit order, so
/// positions only grow.
fn position(tx_final: Option<Lsn>, message: &Message<'_>, lsn: Lsn) -> Option<(Lsn, Lsn)> {
    match message {
        Message::Begin { final_lsn, .. } => Some((*final_lsn, Lsn(0))),
        Message::Commit { commit_lsn, .. } => Some((*commit_lsn, Lsn(u64::MAX))),
        _ => tx_final.map(|f| (f, lsn)),
    }
}

/// Whether the message at `position` was handed to the worker before the
/// session was lost, up to `replay_upto`; once past it, `replay_upto` is
/// cleared.
fn replayed(replay_upto: &mut Option<(Lsn, Lsn)>, position: Option<(Lsn, Lsn)>) -> bool {
    let (Some(upto), Some(at)) = (*replay_upto, position) else {
        return false;
    };
    if at > upto {
        *replay_upto = None;
        return false;
    }
    true
}

/// The replication session's settings: the values' text forms as the
/// catalog connection and the snapshot read them.
fn replication_config(config: &CdcConfig) -> ReplicationConfig {
    ReplicationConfig::new(
        config.hostname.clone(),
        config.user.clone(),
        config
            .password
            .as_ref()
            .map(|p| p.value().to_owned())
            .unwrap_or_default(),
        config.dbname.clone(),
        config.slot_name.clone(),
        config.publication_name.as_str(),
    )
    .with_port(config.port)
    .with_tls(tls_config(config))
    .with_status_interval(config.status_update_interval)
    .with_options("-c datestyle=ISO -c intervalstyle=postgres -c extra_float_digits=3")
}

/// The replication session's TLS, as `database.sslmode` and the
/// certificate keys say for the catalog connection. The replication
/// client has no `allow` (plain first, TLS if refused): it tries TLS
/// first, as `prefer`. With `verify-full` and an IP address for
/// `database.hostname`, the address is the name checked against the
/// certificate (its IP subject alternative names), as libpq checks it;
/// the client refuses an IP address unless it is given as that name.
fn tls_config(config: &CdcConfig) -> pgwire_replication::TlsConfig {
    use pgwire_replication::SslMode as Mode;
    let mode = match config.ssl_mode {
        SslMode::Disable => Mode::Disable,
        SslMode::Allow | SslMode::Prefer => Mode::Prefer,
        SslMode::Require => Mode::Require,
        SslMode::VerifyCa => Mode::VerifyCa,
        SslMode::VerifyFull => Mode::VerifyFull,
    };
    pgwire_replication::TlsConfig {
        mode,
        ca_pem_path: config.ssl_root_cert.as_ref().map(Into::into),
        sni_hostname: (config.ssl_mode == SslMode::VerifyFull
            && config.hostname.parse::<std::net::IpAddr>().is_ok())
        .then(|| config.hostname.clone()),
        client_cert_pem_path: config.ssl_cert.as_ref().map(Into::into),
        client_key_pem_path: config.ssl_key.as_ref().map(Into::into),
    }
}

/// Creates the slot on a replication session that exports its snapshot,
/// as Debezium does for a snapshot: the session waits (gated) while the
/// snapshot is read, then streams from the slot's consistent point.
async fn create_slot_exporting(
    config: &CdcConfig,
) -> Result<(ReplicationClient, String, Lsn), ConnectError> {
    let cannot = |e: pgwire_replication::PgWireError| {
        let what = format!(
            "cannot create the replication slot {}: {e}",
            config.slot_name
        );
        if transient(&e) {
            ConnectError::retriable_caused_by(what, e)
        } else {
            ConnectError::caused_by(what, e)
        }
    };
    let mut client = ReplicationClient::connect_gated(replication_config(config))
        .await
        .map_err(cannot)?;
    let rows = client
        .simple_query(&format!(
            "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
            quote_ident(&config.slot_name)
        ))
        .await
        .map_err(cannot)?;
    // slot_name, consistent_point, snapshot_name, output_plugin
    let text = |i: usize| {
        rows.first()
            .and_then(|r| r.get(i))
            .and_then(|v| v.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let (Some(point), Some(snapshot)) = (text(1), text(2)) else {
        return Err(ConnectError::other(format!(
            "CREATE_REPLICATION_SLOT {} returned no consistent point or snapshot",
            config.slot_name
        )));
    };
    let lsn = point
        .parse::<Lsn>()
        .map_err(|e| ConnectError::other(format!("the slot's consistent point {point:?}: {e}")))?;
    info!(slot = %config.slot_name, consistent_point = %lsn, "replication slot created, its snapshot exported");
    Ok((client, snapshot, lsn))
}

/// The slot's `restart_lsn`, or `None` when there is no such slot.
async fn slot_restart_lsn(
    db: &mut PgConnection,
    slot: &str,
) -> Result<Option<Option<Lsn>>, ConnectError> {
    let row =
        sqlx::query("SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1")
            .bind(slot)
            .fetch_optional(db)
            .await
            .map_err(failed("cannot read replication slots"))?;
    Ok(row.map(|r| {
        r.get::<Option<String>, _>(0)
            .and_then(|t| t.parse::<Lsn>().ok())
    }))
}

/// The captured tables, quoted, for a filtered publication.
async fn captured_tables(
    db: &mut PgConnection,
    config: &CdcConfig,
) -> Result<Vec<String>, ConnectError> {
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(db)
    .await
    .map_err(failed("cannot list tables"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .filter(|(s, t)| config.tables.captures(s, t))
        .map(|(s, t)| format!("{}.{}", quote_ident(&s), quote_ident(&t)))
        .collect())
}

pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl PostgresCdcTask {
    /// One poll: the snapshot's next events, or the stream's.
    async fn poll_once(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if self.snapshot.is_some() {
            return self.poll_snapshot().await;
        }
        if self.reconnect.is_some() && !self.reconnect_stream().await? {
            return Ok(Vec::new());
        }
        // A blocking snapshot asked for there starts before more of the
        // stream is read.
        self.read_channel_signals().await;
        let (Some(config), Some(stop)) = (self.config.as_ref(), self.stop_signal()) else {
            return Err(ConnectError::other("the task was not started"));
        };
        if self.client.is_none() {
            // initial_only after its snapshot: nothing more to read.
            let _ = stop
                .unless_stopped(tokio::time::sleep(config.poll_interval))
                .await;
            return Ok(Vec::new());
        }
        if let (Some(inc), Some(db)) = (self.incremental.as_mut(), self.catalog.as_mut()) {
            if inc.take_pending_chunk() {
                incremental_outcome(inc.read_chunk(db).await)?;
            }
        }
        let (max, interval) = (config.max_batch_size, config.poll_interval);
        let deadline = Instant::now() + interval;
        let mut events = Vec::new();
        // The session failed: the events read before the failure are
        // still handed over.
        let mut lost = None;
        while events.len() < max && self.blocking_requests.is_empty() {
            let Some(client) = self.client.as_mut() else {
                break;
            };
            // Up to poll.interval.ms for the first event; after it, only
            // what has already arrived, as Debezium drains its queue:
            // waiting to fill a batch would add its filling time to every
            // event's latency.
            let wait = if events.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            let event = match stop
                .unless_stopped(tokio::time::timeout(wait, client.recv()))
                .await
            {
                None | Some(Err(_)) => break,
                Some(Ok(Ok(Some(event)))) => event,
                Some(Ok(Ok(None))) => {
                    lost = Some(("the replication stream ended".to_owned(), true));
                    break;
                }
                Some(Ok(Err(e))) => {
                    lost = Some((format!("the replication stream failed: {e}"), transient(&e)));
                    break;
                }
            };
            self.reconnect_attempts = 0;
            let now = now_micros();
            let (lsn, message_bytes, decoded) = match event {
                ReplicationEvent::XLogData {
                    wal_start, data, ..
                } => (Lsn(wal_start.as_u64()), Some(data), None),
                ReplicationEvent::Begin {
                    final_lsn,
                    xid,
                    commit_time_micros,
                } => (
                    Lsn(final_lsn.as_u64()),
                    None,
                    Some(Message::Begin {
                        final_lsn: Lsn(final_lsn.as_u64()),
                        commit_time: commit_time_micros,
                        xid,
                    }),
                ),
                ReplicationEvent::Commit {
                    lsn,
                    end_lsn,
                    commit_time_micros,
                } => (
                    Lsn(end_lsn.as_u64()),
                    None,
                    Some(Message::Commit {
                        flags: 0,
                        commit_lsn: Lsn(lsn.as_u64()),
                        end_lsn: Lsn(end_lsn.as_u64()),
                        commit_time: commit_time_micros,
                    }),
                ),
                _ => continue,
            };
            let message = match (&message_bytes, decoded) {
                (Some(bytes), _) => pgoutput::decode(bytes, false).map_err(|e| {
                    ConnectError::caused_by(format!("a malformed replication message: {e}"), e)
                })?,
                (None, Some(m)) => m,
                (None, None) => continue,
            };
            if let Message::Begin { final_lsn, xid, .. } = &message {
                self.open_tx = Some((i64::from(*xid), *final_lsn));
            }
            // Replayed messages are processed all the same (the stream's
            // state, the transaction's counts), their events dropped.
            let at = position(self.open_tx.map(|(_, f)| f), &message, lsn);
            let replay = replayed(&mut self.replay_upto, at);
            match &message {
                Message::Relation(r) => {
                    let captured = config.tables.captures(&r.namespace, &r.name);
                    let columns = match (captured, self.catalog.as_mut()) {
                        (true, Some(db)) => Some(
                            catalog::relation_columns(db, r, &config.columns, &config.key_columns)
                                .await
                                .map_err(failed("cannot read the table's columns"))?,
                        ),
                        _ => None,
                    };
                    if let Some(s) = self.stream.as_mut() {
                        s.add_relation(r, columns);
                    }
                }
                Message::Commit { .. } => {
                    self.open_tx = None;
                    // Past the transaction the stored offset was inside of.
                    self.resume = None;
                }
                _ => {}
            }
            let before = events.len();
            if let Some(s) = self.stream.as_mut() {
                s.message(lsn, &message, now, &mut events).map_err(|e| {
                    ConnectError::caused_by(format!("cannot turn a change into an event: {e}"), e)
                })?;
            }
            // After a restart, changes already sent before the stored
            // offset are not sent again.
            if let (Some((tx, upto)), Some((current, _))) = (self.resume, self.open_tx) {
                if tx == current && lsn <= upto {
                    events.truncate(before);
                }
            }
            if replay {
                events.truncate(before);
            }
            if let (Some(inc), Some(db), Some(stream)) = (
                self.incremental.as_mut(),
                self.catalog.as_mut(),
                self.stream.as_ref(),
            ) {
                // Streaming pauses right after the signal's message
                // (Debezium's as soon as its snapshot thread asks, which
                // can be a message or so later).
                if let Some(request) =
                    incremental_step(inc, db, config, stream, &mut events, before, now).await?
                {
                    self.blocking_requests.push_back(request);
                }
            }
            if at.is_some() {
                self.last_sent = at;
            }
        }
        let mut records: Vec<SourceRecord> = events.into_iter().map(|e| self.record(e)).collect();
        if let Some((cause, transient)) = lost {
            self.lose_stream(cause, transient)?;
            return Ok(records);
        }
        self.begin_blocking_snapshot().await;
        records.extend(self.heartbeat().await?);
        Ok(records)
    }

    /// Signals from the `kafka` channel, when a read is due, acted on at
    /// this point of the stream (between two polls); blocking snapshots
    /// asked for are queued. Not while the stream replays what was sent
    /// before a reconnection: its position is behind. A failed read or a
    /// signal that fails is logged and the rest go on, as in Debezium's
    /// signal processor.
    /// Signals of the `kafka` and `file` channels, when a read is due,
    /// acted on at this point of the stream.
    async fn read_channel_signals(&mut self) {
        // Read only where they can be acted on: what is read is gone.
        if self.replay_upto.is_some()
            || self.config.is_none()
            || self.catalog.is_none()
            || self.stream.is_none()
        {
            return;
        }
        let mut signals = Vec::new();
        if let Some(channel) = self.kafka_signals.as_mut() {
            match channel.read().await {
                Ok(read) => signals.extend(read),
                Err(e) => warn!("cannot read the kafka signal channel: {e}"),
            }
        }
        if let Some(channel) = self.file_signals.as_mut() {
            match channel.read() {
                Ok(read) => signals.extend(read),
                Err(e) => warn!("cannot read the file signal channel: {e}"),
            }
        }
        let (Some(config), Some(db), Some(stream)) = (
            self.config.as_ref(),
            self.catalog.as_mut(),
            self.stream.as_ref(),
        ) else {
            return;
        };
        for signal in signals {
            match act_on_signal(self.incremental.as_mut(), db, config, stream, &signal).await {
                Ok(Some(request)) => self.blocking_requests.push_back(request),
                Ok(None) => {}
                Err(e) => warn!(signal = %signal.id, "the signal failed: {e}"),
            }
        }
    }

    /// `execute-snapshot` of type `blocking`: streaming pauses while the
    /// tables are read (the replication session stays open, its status
    /// updates still sent), then resumes where it stopped, as Debezium's
    /// `doBlockingSnapshot`. As there, a snapshot that cannot start or
    /// fails is logged and streaming goes on.
    async fn begin_blocking_snapshot(&mut self) {
        // Not while the stream is down or replays what was sent: its
        // position would be behind.
        if self.snapshot.is_some() || self.stream.is_none() || self.replay_upto.is_some() {
            return;
        }
        if self.blocking_requests.is_empty() {
            return;
        }
        let (Some(config), Some(request)) =
            (self.config.clone(), self.blocking_requests.pop_front())
        else {
            return;
        };
        // Each entry a comma-separated list of patterns, as Debezium's
        // `getDataCollectionPattern` reads it.
        let mut tables = Vec::new();
        for pattern in request.data_collections.iter().flat_map(|d| d.split(',')) {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                continue;
            }
            match crate::config::anchored(pattern) {
                Ok(r) => tables.push(r),
                Err(e) => warn!("blocking snapshot: {pattern:?} is not a regular expression: {e}"),
            }
        }
        let on_demand = OnDemand {
            at: self.position(),
            tables,
            selects: request.additional_conditions,
        };
        let settings = self.stream_settings(&config);
        let connected = match Self::connect_options(&config) {
            Ok(options) => Self::connect(&config).await.map(|db| (db, options)),
            Err(e) => Err(e),
        };
        let begun = match connected {
            Ok((db, options)) => Snapshot::begin(
                db,
                View::OnDemand(on_demand),
                &config,
                &options,
                settings,
                now_micros(),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match begun {
            Ok(snapshot) => self.snapshot = Some(snapshot),
            Err(e) => warn!("the blocking snapshot cannot start: {e}; streaming resumes"),
        }
    }

    /// A transient failure outside the replication session: the task
    /// starts over after `retriable.restart.connector.wait.ms` (up to
    /// `errors.max.retries` times in a row), from the committed offset, as
    /// Debezium restarts its task. A snapshot cut short is taken again.
    fn schedule_restart(&mut self, cause: String) -> Result<(), ConnectError> {
        let Some(config) = self.config.as_ref() else {
            return Err(ConnectError::other(cause));
        };
        if config
            .errors_max_retries
            .is_some_and(|max| self.reconnect_attempts >= max)
        {
            return Err(ConnectError::other(format!(
                "{cause}; gave up after {} restarts (errors.max.retries)",
                self.reconnect_attempts
            )));
        }
        self.reconnect_attempts += 1;
        warn!(
            attempt = self.reconnect_attempts,
            wait_ms = config.retriable_restart_wait.as_millis() as u64,
            "{cause}; starting the task over"
        );
        self.restart = Some(Instant::now() + config.retriable_restart_wait);
        Ok(())
    }

    /// Closes every session (the slot stays) and starts again.
    async fn start_over(&mut self, at: Instant) -> Result<Vec<SourceRecord>, ConnectError> {
        let (Some(stop), Some(context), Some(props)) =
            (self.stop_signal(), self.context.clone(), self.props.clone())
        else {
            return Err(ConnectError::other("the task was not started"));
        };
        if stop
            .unless_stopped(tokio::time::sleep_until(at.into()))
            .await
            .is_none()
        {
            return Ok(Vec::new());
        }
        self.restart = None;
        self.snapshot = None;
        self.pending_stream = None;
        self.stream = None;
        self.incremental = None;
        self.resume = None;
        self.open_tx = None;
        self.reconnect = None;
        self.last_sent = None;
        self.replay_upto = None;
        if let Some(mut client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), client.shutdown()).await;
        }
        if let Some(db) = self.catalog.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), db.close()).await;
        }
        match self.start(props, context).await {
            Ok(()) => {
                info!("the task started over");
                Ok(Vec::new())
            }
            Err(e) if e.is_retriable() => {
                self.schedule_restart(e.to_string())?;
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl SourceTask for PostgresCdcTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let config = CdcConfig::parse(&props).map_err(|e| ConnectError::config(e.to_string()))?;
        self.props = Some(props);
        let mut db = Self::connect(&config).await?;
        let wal_level: String = sqlx::query("SHOW wal_level")
            .fetch_one(&mut db)
            .await
            .map_err(failed("cannot read wal_level"))?
            .get(0);
        let streams = config.snapshot_mode != SnapshotMode::InitialOnly;
        if streams && wal_level != "logical" {
            return Err(ConnectError::config(format!(
                "PostgreSQL's wal_level is {wal_level}; logical decoding needs wal_level=logical"
            )));
        }
        self.run_id = uuid::Builder::from_random_bytes(rand_id().to_be_bytes())
            .into_uuid()
            .to_string();
        self.partition = Arc::new(offsets::partition(&config.topic_prefix));
        let stored_map = context.offset_storage_reader().offset(&self.partition);
        let mut stored = match &stored_map {
            Some(m) => PgOffset::from_map(m).map_err(|e| ConnectError::config(e.to_string()))?,
            None => PgOffset::default(),
        };
        let mut offset_exists = stored_map.is_some();
        // Only an initial snapshot cut short is taken again; streaming
        // resumes after a blocking one, as in Debezium.
        let in_progress = stored.snapshot == Some(SnapshotType::Initial);
        if stored.snapshot == Some(SnapshotType::Blocking) {
            stored.snapshot = None;
            stored.last_snapshot_record = false;
            stored.snapshot_completed = false;
        }
        let slot = if streams {
            slot_restart_lsn(&mut db, &config.slot_name).await?
        } else {
            None
        };
        // A stored position the slot no longer has (Debezium's log
        // position check): a snapshot fills the gap in when_needed mode,
        // any other mode refuses to skip changes silently.
        if streams && offset_exists && !in_progress {
            let available = match (&slot, stored.lsn_proc) {
                (None, _) => false,
                (Some(Some(restart)), Some(processed)) => *restart <= processed,
                (Some(_), _) => true,
            };
            if !available {
                if config.snapshot_mode == SnapshotMode::WhenNeeded {
                    warn!(slot = %config.slot_name, "the last recorded offset is no longer available on the server; snapshotting to fill the gap");
                    stored = PgOffset::default();
                    offset_exists = false;
                } else {
                    return Err(ConnectError::config(format!(
                        "The connector is trying to read change stream starting at {:?}, but this is no longer available on the server (replication slot {} {}). Reconfigure the connector to use a snapshot mode when needed.",
                        stored.to_map(),
                        config.slot_name,
                        if slot.is_none() { "does not exist" } else { "is past it" }
                    )));
                }
            }
        }
        let snapshot_data = match config.snapshot_mode {
            SnapshotMode::Always => true,
            SnapshotMode::NoData => false,
            _ => !offset_exists || in_progress,
        };
        self.notifier = Notifier::new(&config.notifications, &config.topic_prefix);
        // Kept across a start over (a snapshot that ended just before),
        // carrying the committed offset from now on.
        let pending = self.notices.take();
        self.notices = Outbox::new(config.notifications.enabled());
        for notice in pending {
            self.notices.push(|| notice);
        }
        self.last_offset = None;
        if !snapshot_data {
            self.notices
                .push(|| Notice::new(INITIAL_SNAPSHOT, "SKIPPED"));
        }
        if in_progress && snapshot_data {
            info!(
                "a previous snapshot was cancelled before completion; a new snapshot will be taken"
            );
        }
        if streams {
            Self::ensure_publication(&mut db, &config).await?;
        }
        // The slot: created before the snapshot, so that the changes made
        // while it runs are streamed after it.
        let mut gated = None;
        let mut view = View::Own;
        if streams {
            match slot {
                None if snapshot_data => {
                    let (client, snapshot_name, lsn) = create_slot_exporting(&config).await?;
                    gated = Some(client);
                    view = View::Exported { snapshot_name, lsn };
                }
                _ => Self::ensure_slot(&mut db, &config, context.stop_signal()).await?,
            }
        }
        self.next_heartbeat = config.heartbeat_interval.map(|i| Instant::now() + i);
        if let (Some(channel), None) = (&config.kafka_signals, &self.kafka_signals) {
            self.kafka_signals = Some(
                KafkaSignals::new(channel, &config.topic_prefix)
                    .map_err(|e| ConnectError::config(format!("the kafka signal channel: {e}")))?,
            );
        }
        if let (Some(file), None) = (&config.signal_file, &self.file_signals) {
            self.file_signals = Some(FileSignals::new(file.clone(), config.signal_poll_interval));
        }
        self.context = Some(context);
        if snapshot_data {
            let snapshot_db = Self::connect(&config).await?;
            let snapshot = Snapshot::begin(
                snapshot_db,
                view,
                &config,
                &Self::connect_options(&config)?,
                self.stream_settings(&config),
                now_micros(),
            )
            .await
            .map_err(|e| {
                ConnectError::retriable_caused_by(format!("cannot start the snapshot: {e}"), e)
            })?;
            self.snapshot = Some(snapshot);
            self.pending_stream = gated;
            self.stored = stored;
        } else if streams {
            self.start_streaming(&config, stored, None).await?;
        } else {
            self.stored = stored;
        }
        self.catalog = Some(db);
        self.config = Some(config);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if let Some(at) = self.restart {
            return self.start_over(at).await;
        }
        match self.poll_once().await {
            Err(e) if e.is_retriable() => {
                self.schedule_restart(e.to_string())?;
                Ok(Vec::new())
            }
            Ok(records) => Ok(self.with_notifications(records)),
            failed => failed,
        }
    }

    /// The offsets up to some record were committed: the slot may drop
    /// the WAL before that record's last commit.
    async fn commit(&mut self) -> Result<(), ConnectError> {
        let (Some(config), Some(context), Some(client)) =
            (&self.config, &self.context, &self.client)
        else {
            return Ok(());
        };
        if config.lsn_flush_mode == LsnFlushMode::Manual {
            return Ok(());
        }
        if let Some(stored) = context.offset_storage_reader().offset(&self.partition) {
            match PgOffset::from_map(&stored).map(|o| o.flush_lsn()) {
                Ok(Some(lsn)) => {
                    client.update_applied_lsn(pgwire_replication::Lsn::from_u64(lsn.0))
                }
                Ok(None) => {}
                Err(e) => {
                    warn!(error = %e, "stored offset not understood; the slot is not advanced")
                }
            }
        }
        Ok(())
    }

    fn wants_commit_record(&self) -> bool {
        false
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        // A snapshot cut short: its transaction and the session waiting
        // on it end; the stored offset says it was running.
        self.snapshot = None;
        self.pending_stream = None;
        // Closing commits the signals read (auto-commit).
        self.kafka_signals = None;
        if let Some(mut client) = self.client.take() {
            if let Err(e) = tokio::time::timeout(Duration::from_secs(5), client.shutdown()).await {
                warn!(error = %e, "the replication connection did not close in 5 s");
            }
        }
        if let (Some(config), Some(db)) = (&self.config, self.catalog.as_mut()) {
            if config.slot_drop_on_stop {
                // The server releases the slot a moment after the stream
                // closes; until then it cannot be dropped.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let dropped = sqlx::query(
                        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                         WHERE slot_name = $1 AND NOT active",
                    )
                    .bind(&config.slot_name)
                    .fetch_optional(&mut *db)
                    .await;
                    match dropped {
                        Ok(Some(_)) => break,
                        Ok(None) if Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(20)).await
                        }
                        Ok(None) => {
                            warn!(slot = %config.slot_name, "the replication slot is still in use after 5 s; not dropped");
                            break;
                        }
                        Err(e) => {
                            warn!(slot = %config.slot_name, error = %e, "cannot drop the replication slot");
                            break;
                        }
                    }
                }
            }
        }
        if let Some(db) = self.catalog.take() {
            let _ = db.close().await;
        }
        Ok(())
    }
}

/// 16 random bytes, for a UUID.
pub(crate) fn random_bytes() -> [u8; 16] {
    rand_id().to_be_bytes()
}

/// A random 128-bit id, for `__debezium.context.runId`.
fn rand_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut id = 0u128;
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(id ^ now_micros() as u128);
        id = (id << 64) | u128::from(h.finish());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgwire_replication::PgWireError;

    fn begin(final_lsn: u64) -> Message<'static> {
        Message::Begin {
            final_lsn: Lsn(final_lsn),
            commit_time: 0,
            xid: 1,
        }
    }

    fn commit(lsn: u64) -> Message<'static> {
        Message::Commit {
            flags: 0,
            commit_lsn: Lsn(lsn),
            end_lsn: Lsn(lsn + 8),
            commit_time: 0,
        }
    }

    fn truncate() -> Message<'static> {
        Message::Truncate {
            xid: None,
            options: 0,
            relations: Vec::new(),
        }
    }

    #[test]
    fn changes_sent_before_a_reconnection_are_dropped_as_they_come_again() {
        // Sent before the session was lost: all of the transaction
        // committing at 100, and up to its change at 150 of the one at 200.
        let mut upto = Some((Lsn(200), Lsn(150)));
        let mut sent = |tx: Option<u64>, m: &Message<'_>, lsn: u64| {
            replayed(&mut upto, position(tx.map(Lsn), m, Lsn(lsn)))
        };
        // The transaction at 100 comes again whole.
        assert!(sent(None, &begin(100), 50));
        assert!(sent(Some(100), &truncate(), 90));
        assert!(sent(Some(100), &commit(100), 108));
        // The one at 200: up to 150 again, then what was not sent.
        assert!(sent(None, &begin(200), 140));
        assert!(sent(Some(200), &truncate(), 150));
        assert!(!sent(Some(200), &truncate(), 160));
        // Past it, nothing is dropped any more.
        assert!(!sent(Some(200), &truncate(), 10));
        assert!(!sent(None, &begin(100), 10));
        assert_eq!(upto, None);
    }

    #[test]
    fn a_commit_sent_before_a_reconnection_is_dropped_too() {
        let mut upto = position(Some(Lsn(200)), &commit(200), Lsn(208));
        assert!(replayed(
            &mut upto,
            position(Some(Lsn(200)), &truncate(), Lsn(190))
        ));
        assert!(replayed(&mut upto, position(None, &commit(200), Lsn(208))));
        assert!(!replayed(&mut upto, position(None, &begin(300), Lsn(250))));
    }

    #[test]
    fn a_lost_connection_is_retried_a_refusal_is_not() {
        let io = PgWireError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(transient(&io));
        let server = |m: &str| PgWireError::Server(m.to_owned());
        assert!(transient(&server(
            "FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"
        )));
        assert!(transient(&server(
            "FATAL: the database system is starting up (SQLSTATE 57P03)"
        )));
        assert!(transient(&server(
            "ERROR: replication slot \"s\" is active for PID 42 (SQLSTATE 55006)"
        )));
        assert!(!transient(&server(
            "ERROR: replication slot \"s\" does not exist (SQLSTATE 42704)"
        )));
        assert!(!transient(&server(
            "ERROR: permission denied to start WAL sender (SQLSTATE 42501)"
        )));
        assert!(!transient(&PgWireError::Auth("password".into())));
    }
}
