//! `DropHeaders`: removes headers by name.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props};

use crate::config::{key, Def, Default, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::util;
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.DropHeaders";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![key(
            "headers",
            ConfigType::List,
            Default::Required,
            Some(Validator::ValidList {
                empty_allowed: false,
                null_allowed: false,
            }),
            Importance::High,
            "The name of the headers to be removed.",
        )],
    }
}

#[derive(Default)]
pub struct DropHeaders {
    headers: Option<Vec<String>>,
}

impl DropHeaders {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Transformation<R> for DropHeaders {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.headers = Some(parsed.list("headers").to_vec());
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let names = self
            .headers
            .as_ref()
            .ok_or_else(|| util::not_configured(CLASS))?;
        let headers = record.headers_mut();
        for name in names {
            headers.remove(name);
        }
        Ok(Some(record))
    }
}
