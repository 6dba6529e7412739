//! The sink connector (`JdbcSinkConnector`) and its task.

pub mod fields;
pub mod statement;
mod writer;

use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, ErrantRecordReporter, Props, SinkRecord, SinkTask,
    SinkTaskContext,
};
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
        config::validate_with(&sink_config_def(), props, config::sink_cross_checks(props))
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

#[derive(Default)]
pub struct JdbcSinkTask {
    writer: Option<Writer>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
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
        self.writer = Some(writer);
        self.reporter = context.errant_record_reporter();
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        if records.is_empty() {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| ConnectError::other("JDBC sink task used before start"))?;
        debug!(connector = %writer.connector, records = records.len(), "writing");
        writer.write(&records, self.reporter.as_ref()).await
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(w) = self.writer.take() {
            w.close().await;
        }
        Ok(())
    }
}
