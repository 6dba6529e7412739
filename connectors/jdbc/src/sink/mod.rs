//! The sink connector (`JdbcSinkConnector`) and its task.

pub mod fields;
pub mod statement;
mod writer;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, ErrantRecordReporter, Props, SinkRecord, SinkTask,
    SinkTaskContext, TopicPartition,
};
use tokio::task::JoinHandle;
use tracing::debug;

use crate::config::{self, sink_config_def, SinkConfig};
use crate::db::Pool;
pub use writer::Writer;

#[derive(Default)]
pub struct JdbcSinkConnector {
    props: Props,
}

#[async_trait]
impl Connector for JdbcSinkConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }

    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }

    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        sink_config_def().validate_with(props, config::sink_cross_checks)
    }

    async fn start(
        &mut self,
        props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        SinkConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    /// Every task gets the same config; the worker spreads partitions.
    fn task_configs(&self, max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// A write running in the background, with the writer it borrowed.
type Inflight = JoinHandle<(Writer, Result<(), ConnectError>)>;

/// Writes overlap with the worker converting the next batch: `put` hands
/// the batch to a background write and returns once the previous write is
/// done; `flush` (before every offset commit), `close` and `stop` wait for
/// the write in flight, so no offset is committed before its rows are.
#[derive(Default)]
pub struct JdbcSinkTask {
    writer: Option<Writer>,
    inflight: Option<Inflight>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

impl JdbcSinkTask {
    /// Waits for the write in flight and takes the writer back.
    async fn settle(&mut self) -> Result<(), ConnectError> {
        if let Some(handle) = self.inflight.take() {
            let (writer, result) = handle
                .await
                .map_err(|e| ConnectError::caused_by("JDBC sink write task failed", e))?;
            self.writer = Some(writer);
            result?;
        }
        Ok(())
    }
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    async fn start(
        &mut self,
        props: Props,
        context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        let cfg = SinkConfig::parse(&props)?;
        let pool = Pool::connect(&cfg.connection.spec, 2)?;
        let mut writer = Writer::new(cfg, pool);
        writer.connector = props.get("name").cloned().unwrap_or_default();
        writer.stop = context.stop_signal().clone();
        self.writer = Some(writer);
        self.reporter = context.errant_record_reporter();
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        self.settle().await?;
        if records.is_empty() {
            return Ok(());
        }
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| ConnectError::other("JDBC sink task used before start"))?;
        let reporter = self.reporter.clone();
        debug!(connector = %writer.connector, records = records.len(), "writing");
        self.inflight = Some(tokio::spawn(async move {
            let result = writer.write(&records, reporter.as_ref()).await;
            (writer, result)
        }));
        Ok(())
    }

    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        self.settle().await
    }

    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        self.settle().await
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        let result = self.settle().await;
        if let Some(w) = self.writer.take() {
            w.close().await;
        }
        result
    }
}
