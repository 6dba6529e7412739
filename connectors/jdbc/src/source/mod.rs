//! The source connector (`JdbcSourceConnector`): finds the tables, spreads
//! them over tasks and watches for new ones; the task polls each table in
//! turn with its mode's query.

mod querier;
pub mod query;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{
    lock, ConnectError, Connector, ConnectorContext, Props, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};

pub use querier::{partition_for, Offset, TableQuerier};

use crate::config::{self, source_config_def, SourceConfig, TASK_TABLES};
use crate::db::Pool;
use crate::dialect::TableId;
use crate::error::Result;

/// Longest a poll blocks, so the worker can act on pause requests and commit
/// offsets; a stop ends the wait at once.
const MAX_POLL_WAIT: Duration = Duration::from_millis(900);

/// The tables a connector selects, as the catalog lists them now.
async fn selected_tables(pool: &Pool, cfg: &SourceConfig) -> Result<Vec<TableId>> {
    let mut tables = pool.list_tables(&cfg.connection.table_types).await?;
    tables.retain(|t| cfg.selects(t));
    Ok(tables)
}

/// Tries `attempts` times with `backoff` between, as `connection.attempts`.
async fn with_attempts<T, F, Fut>(cfg: &config::ConnectionConfig, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if e.is_connectivity() && attempt < cfg.attempts => {
                warn!(attempt, error = %e, "{what} failed; retrying in {:?}", cfg.backoff);
                tokio::time::sleep(cfg.backoff).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[derive(Default)]
pub struct JdbcSourceConnector {
    props: Props,
    config: Option<SourceConfig>,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<JoinHandle<()>>,
    pool: Option<Pool>,
}

#[async_trait]
impl Connector for JdbcSourceConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }

    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }

    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        source_config_def().validate_with(props, config::source_cross_checks)
    }

    async fn start(
        &mut self,
        props: Props,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        let cfg = SourceConfig::parse(&props)?;
        let name = props.get("name").cloned().unwrap_or_default();
        self.props = props;
        if cfg.query.is_none() {
            let pool = Pool::connect(&cfg.connection.spec, 1)?;
            let tables = with_attempts(&cfg.connection, "listing tables", || {
                selected_tables(&pool, &cfg)
            })
            .await?;
            info!(connector = %name, tables = tables.len(), "tables selected");
            *lock(&self.tables) = tables;
            let shared = self.tables.clone();
            let monitor_cfg = cfg.clone();
            let monitor_pool = pool.clone();
            // Confluent's TableMonitorThread: new or dropped tables change
            // the task configs.
            self.monitor = Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(monitor_cfg.table_poll_interval).await;
                    match selected_tables(&monitor_pool, &monitor_cfg).await {
                        Ok(now) => {
                            let changed = {
                                let mut cur = lock(&shared);
                                if *cur != now {
                                    *cur = now;
                                    true
                                } else {
                                    false
                                }
                            };
                            if changed {
                                info!(connector = %name, "table set changed; reconfiguring tasks");
                                context.request_task_reconfiguration();
                            }
                        }
                        Err(e) => warn!(connector = %name, error = %e, "listing tables failed"),
                    }
                }
            }));
            self.pool = Some(pool);
        }
        self.config = Some(cfg);
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        let cfg = self
            .config
            .as_ref()
            .ok_or_else(|| ConnectError::other("task configs asked before start"))?;
        if cfg.query.is_some() {
            return Ok(vec![self.props.clone()]);
        }
        let tables = lock(&self.tables).clone();
        if tables.is_empty() {
            warn!("No tasks will be run because no tables were found");
            return Ok(Vec::new());
        }
        Ok(group(&tables, max_tasks.max(1))
            .into_iter()
            .map(|group| {
                let mut p = self.props.clone();
                let names: Vec<String> = group.iter().map(TableId::unquoted).collect();
                p.insert(TASK_TABLES.name().into(), names.join(","));
                p
            })
            .collect())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
        if let Some(p) = self.pool.take() {
            p.close().await;
        }
        Ok(())
    }
}

/// Contiguous groups of nearly equal size (`ConnectorUtils.groupPartitions`).
pub fn group<T: Clone>(items: &[T], groups: usize) -> Vec<Vec<T>> {
    let n = groups.min(items.len()).max(1);
    let per = items.len() / n;
    let extra = items.len() % n;
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    for g in 0..n {
        let size = per + usize::from(g < extra);
        out.push(items[i..i + size].to_vec());
        i += size;
    }
    out
}

#[derive(Default)]
pub struct JdbcSourceTask {
    config: Option<SourceConfig>,
    pool: Option<Pool>,
    queriers: Vec<TableQuerier>,
    /// When each querier is next due.
    due: Vec<Instant>,
    connector: String,
    task: u32,
    /// Fires when the task is to stop: ends a wait for the next query.
    stop: StopSignal,
}

impl JdbcSourceTask {
    /// Waits `d`, or less if the task is to stop.
    async fn idle(&self, d: Duration) {
        self.stop.unless_stopped(tokio::time::sleep(d)).await;
    }
}

#[async_trait]
impl SourceTask for JdbcSourceTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let cfg = SourceConfig::parse(&props)?;
        self.connector = context.connector_name().to_owned();
        self.task = context.task_number();
        self.stop = context.stop_signal().clone();
        let pool = Pool::connect(&cfg.connection.spec, 2)?;
        let offsets = context.offset_storage_reader();
        self.queriers = if cfg.query.is_some() {
            vec![TableQuerier::new(&cfg, None, offsets)]
        } else {
            cfg.tables
                .iter()
                .map(|t| TableQuerier::new(&cfg, Some(t.clone()), offsets))
                .collect()
        };
        for q in &self.queriers {
            info!(connector = %self.connector, task = self.task, table = %q.name(), offset = ?q.offset(), "reading");
        }
        self.due = vec![Instant::now(); self.queriers.len()];
        self.pool = Some(pool);
        self.config = Some(cfg);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let (Some(cfg), Some(pool)) = (&self.config, &self.pool) else {
            return Err(ConnectError::other("JDBC source task polled before start"));
        };
        let Some((i, due)) = self.due.iter().copied().enumerate().min_by_key(|(_, d)| *d) else {
            self.idle(MAX_POLL_WAIT).await;
            return Ok(Vec::new());
        };
        let now = Instant::now();
        if due > now {
            self.idle((due - now).min(MAX_POLL_WAIT)).await;
            return Ok(Vec::new());
        }
        let q = &mut self.queriers[i];
        match q.poll(pool, cfg, cfg.batch_max_rows).await {
            Ok(records) => {
                // A full batch may have more behind it: come back at once,
                // as Confluent keeps reading the open result set.
                self.due[i] = if q.more {
                    Instant::now()
                } else {
                    Instant::now() + cfg.poll_interval
                };
                q.more = false;
                Ok(records)
            }
            Err(e) if e.is_connectivity() => {
                warn!(connector = %self.connector, task = self.task, table = %q.name(), error = %e, "database unreachable; will retry");
                self.due[i] = Instant::now() + cfg.poll_interval.min(Duration::from_secs(1));
                self.idle(MAX_POLL_WAIT).await;
                Err(e.into())
            }
            Err(e) => Err(ConnectError::caused_by(
                format!("{} (table {})", e, q.name()),
                e,
            )),
        }
    }

    /// Committed offsets are all this task needs: records are not kept
    /// for `commit_record`.
    fn wants_commit_record(&self) -> bool {
        false
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(p) = self.pool.take() {
            p.close().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_grouped_contiguously() {
        let t: Vec<u32> = (0..5).collect();
        assert_eq!(group(&t, 2), vec![vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(group(&t, 10).len(), 5);
        assert_eq!(group(&t, 1), vec![t.clone()]);
    }
}
