//! `Filter`: drops every record it is applied to (used with a predicate).

use ferry_api::{ConfigDef, Props};

use crate::config::Def;
use crate::error::{ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.Filter";

pub(crate) fn def() -> Def {
    Def { keys: Vec::new() }
}

#[derive(Default)]
pub struct Filter;

impl Filter {
    pub fn new() -> Self {
        Filter
    }
}

impl<R: ConnectRecord> Transformation<R> for Filter {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, _record: R) -> Result<Option<R>, TransformError> {
        Ok(None)
    }
}
