//! Kafka Connect's predicates (`org.apache.kafka.connect.transforms.predicates.*`).

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props};
use ferry_java::regex::JavaRegex;

use crate::config::{key, Def, Default, Validator};
use crate::error::{config_error, ConfigError};
use crate::record::ConnectRecord;
use crate::Predicate;

pub const TOPIC_NAME_MATCHES: &str =
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
pub const HAS_HEADER_KEY: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";
pub const RECORD_IS_TOMBSTONE: &str =
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";

pub(crate) fn topic_name_matches_def() -> Def {
    Def {
        keys: vec![key(
            "pattern",
            ConfigType::String,
            Default::Required,
            Some(Validator::Composite(&[
                Validator::NonEmptyString,
                Validator::Regex,
            ])),
            Importance::Medium,
            "A Java regular expression for matching against the name of a record's topic.",
        )],
    }
}

pub(crate) fn has_header_key_def() -> Def {
    Def {
        keys: vec![key(
            "name",
            ConfigType::String,
            Default::Required,
            Some(Validator::NonEmptyString),
            Importance::Medium,
            "The header name.",
        )],
    }
}

pub(crate) fn record_is_tombstone_def() -> Def {
    Def { keys: Vec::new() }
}

/// True for records whose topic matches a regular expression.
#[derive(Default)]
pub struct TopicNameMatches {
    pattern: Option<JavaRegex>,
}

impl TopicNameMatches {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Predicate<R> for TopicNameMatches {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = topic_name_matches_def().parse(props)?;
        let value = parsed.string("pattern").unwrap_or_default();
        let regex = JavaRegex::compile(value).map_err(|e| {
            config_error(
                "pattern",
                format!(
                    "Invalid value {value} for configuration pattern: entry must be a Java-compatible regular expression: {e}"
                ),
            )
        })?;
        self.pattern = Some(regex);
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        topic_name_matches_def().to_config_def()
    }

    fn test(&self, record: &R) -> bool {
        self.pattern
            .as_ref()
            .is_some_and(|p| p.matches(record.topic()))
    }
}

/// True for records with at least one header of a name.
#[derive(Default)]
pub struct HasHeaderKey {
    name: Option<String>,
}

impl HasHeaderKey {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: ConnectRecord> Predicate<R> for HasHeaderKey {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = has_header_key_def().parse(props)?;
        self.name = parsed.string("name").map(str::to_owned);
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        has_header_key_def().to_config_def()
    }

    fn test(&self, record: &R) -> bool {
        match &self.name {
            Some(n) => record.headers().iter().any(|h| h.key == *n),
            None => false,
        }
    }
}

/// True for tombstones (records with a null value).
#[derive(Default)]
pub struct RecordIsTombstone;

impl RecordIsTombstone {
    pub fn new() -> Self {
        RecordIsTombstone
    }
}

impl<R: ConnectRecord> Predicate<R> for RecordIsTombstone {
    fn configure(&mut self, _props: &Props) -> Result<(), ConfigError> {
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        record_is_tombstone_def().to_config_def()
    }

    fn test(&self, record: &R) -> bool {
        record.value().is_null()
    }
}
