//! `RegexRouter`: rewrites the topic when it matches a regular expression.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props};
use ferry_java::regex::JavaRegex;

use crate::config::{key, Def, Default, Validator};
use crate::error::{config_error, ConfigError, TransformError};
use crate::record::ConnectRecord;
use crate::util;
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.RegexRouter";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "regex",
                ConfigType::String,
                Default::Required,
                Some(Validator::Regex),
                Importance::High,
                "Regular expression to use for matching.",
            ),
            key(
                "replacement",
                ConfigType::String,
                Default::Required,
                None,
                Importance::High,
                "Replacement string.",
            ),
        ],
    }
}

#[derive(Default)]
pub struct RegexRouter {
    cfg: Option<(JavaRegex, String)>,
}

impl RegexRouter {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Transformation<R> for RegexRouter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        // The validator has compiled it already; compile once more to keep it.
        let regex = JavaRegex::compile(parsed.string("regex").unwrap_or_default())
            .map_err(|e| config_error("regex", e.to_string()))?;
        let replacement = parsed.string("replacement").unwrap_or_default().to_owned();
        self.cfg = Some((regex, replacement));
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let (regex, replacement) = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(CLASS))?;
        if regex.matches(record.topic()) {
            let topic = regex
                .replace_first(record.topic(), replacement)
                .map_err(crate::error::regex_error)?;
            record.set_topic(topic);
        }
        Ok(Some(record))
    }
}
