//! The connector, under Debezium's class name: its configuration checked
//! as Debezium checks it, and one task (a slot streams to one reader).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, ValidatedValue};
use ferry_api::{ConnectError, Connector, ConnectorContext, Props};
use tracing::info;

use crate::config::{self, CdcConfig};

/// `io.debezium.connector.postgresql.PostgresConnector`.
#[derive(Default)]
pub struct PostgresCdcConnector {
    props: Props,
}

#[async_trait]
impl Connector for PostgresCdcConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }

    fn config_def(&self) -> ConfigDef {
        config::config_def()
    }

    fn validate(&self, props: &Props) -> Vec<ValidatedValue> {
        config::config_def().validate_with(props, config::cross_checks)
    }

    async fn start(
        &mut self,
        props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        let config = CdcConfig::parse(&props).map_err(|e| ConnectError::config(e.to_string()))?;
        info!(
            slot = %config.slot_name,
            publication = %config.publication_name,
            topic_prefix = %config.topic_prefix,
            "PostgreSQL change data capture starting"
        );
        self.props = props;
        Ok(())
    }

    /// Debezium's `taskConfigs`: one task whatever `tasks.max` says.
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}
