//! `TimestampRouter`: rewrites the topic from a format of the topic and the
//! record timestamp.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props};
use ferry_java::date::SimpleDateFormat;

use crate::config::{key, Def, Default};
use crate::error::{ConfigError, ExceptionKind, TransformError};
use crate::record::ConnectRecord;
use crate::util;
use crate::Transformation;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.TimestampRouter";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "topic.format",
                ConfigType::String,
                Default::Str("${topic}-${timestamp}"),
                None,
                Importance::High,
                "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.",
            ),
            key(
                "timestamp.format",
                ConfigType::String,
                Default::Str("yyyyMMdd"),
                None,
                Importance::High,
                "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.",
            ),
        ],
    }
}

struct Config {
    topic_format: String,
    /// Kafka Connect creates the formatter on first use, so a bad pattern
    /// fails each record rather than `configure`; the error is kept here.
    timestamp_format: Result<SimpleDateFormat, String>,
}

#[derive(Default)]
pub struct TimestampRouter {
    cfg: Option<Config>,
}

impl TimestampRouter {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Transformation<R> for TimestampRouter {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        self.cfg = Some(Config {
            topic_format: parsed.string("topic.format").unwrap_or_default().to_owned(),
            timestamp_format: SimpleDateFormat::new(
                parsed.string("timestamp.format").unwrap_or_default(),
            ),
        });
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(CLASS))?;
        let Some(ts) = record.timestamp() else {
            return Err(TransformError::data(format!(
                "Timestamp missing on record: {}",
                crate::record::java_string(&record)
            )));
        };
        let fmt = cfg
            .timestamp_format
            .as_ref()
            .map_err(|e| TransformError::new(ExceptionKind::IllegalArgument, e.clone()))?;
        let formatted = fmt.format(ts);
        // Two literal replacements in this order, as Kafka Connect does.
        let topic = cfg
            .topic_format
            .replace("${topic}", record.topic())
            .replace("${timestamp}", &formatted);
        record.set_topic(topic);
        Ok(Some(record))
    }
}
