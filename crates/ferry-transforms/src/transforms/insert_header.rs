//! `InsertHeader`: adds a header with a literal value, whose schema is
//! inferred from the text as `Values.parseString` does.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props};
use ferry_java::values::{self, SchemaAndValue};

use crate::config::{key, Def, Default, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::util;
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.InsertHeader";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "header",
                ConfigType::String,
                Default::Required,
                Some(Validator::NonNull),
                Importance::High,
                "The name of the header.",
            ),
            key(
                "value.literal",
                ConfigType::String,
                Default::Required,
                Some(Validator::NonNull),
                Importance::High,
                "The literal value that is to be set as the header value on all records.",
            ),
        ],
    }
}

#[derive(Default)]
pub struct InsertHeader {
    cfg: Option<(String, SchemaAndValue)>,
}

impl InsertHeader {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Transformation<R> for InsertHeader {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let header = parsed.string("header").unwrap_or_default().to_owned();
        let literal = values::parse_string(parsed.string("value.literal").unwrap_or_default());
        self.cfg = Some((header, literal));
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let (header, literal) = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(CLASS))?;
        // Each record owns its headers, so each gets a copy of the value.
        record.headers_mut().add(
            header.as_str(),
            literal.schema.clone(),
            literal.value.clone(),
        );
        Ok(Some(record))
    }
}
