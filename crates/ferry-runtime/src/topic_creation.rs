//! Topic creation for source connectors (KIP-158): topics a source writes to
//! are created on first use from the connector's `topic.creation.*` groups.

use std::collections::BTreeMap;

use ferry_api::config::{parse_list, ValidatedValue};
use ferry_kafka::NewTopicSpec;
use regex::Regex;

use crate::Props;

pub const PREFIX: &str = "topic.creation.";
pub const GROUPS: &str = "topic.creation.groups";
const DEFAULT: &str = "default";
/// Per-group keys that are not topic configs.
const GROUP_KEYS: &[&str] = &["include", "exclude", "replication.factor", "partitions"];

/// One `topic.creation.<group>` with what it matches and creates.
#[derive(Debug, Clone)]
struct Group {
    /// `None` for the default group, which includes every topic.
    include: Option<Vec<Regex>>,
    exclude: Vec<Regex>,
    replication_factor: i32,
    partitions: i32,
    configs: Vec<(String, String)>,
}

impl Group {
    fn matches(&self, topic: &str) -> bool {
        let included = match &self.include {
            None => true,
            Some(include) => include.iter().any(|r| r.is_match(topic)),
        };
        included && !self.exclude.iter().any(|r| r.is_match(topic))
    }
}

/// The connector's topic creation rules, groups in listed order, `default`
/// last (it matches every topic no other group takes).
#[derive(Debug, Clone)]
pub struct TopicCreation {
    groups: Vec<Group>,
}

/// Whether the connector asks for topic creation at all.
pub fn requested(connector: &Props) -> bool {
    connector.keys().any(|k| k.starts_with(PREFIX))
}

fn number(props: &Props, key: &str) -> Result<Option<i32>, String> {
    match props.get(key) {
        None => Ok(None),
        Some(v) => {
            let n: i32 = v.trim().parse().map_err(|_| {
                format!("Invalid value {v} for configuration {key}: Not a number of type INT")
            })?;
            if n == 0 || n < -1 {
                return Err(format!(
                    "Invalid value {n} for configuration {key}: Value must be -1 (broker default) or at least 1"
                ));
            }
            Ok(Some(n))
        }
    }
}

fn regexes(props: &Props, key: &str) -> Result<Vec<Regex>, String> {
    parse_list(props.get(key).map(String::as_str).unwrap_or(""))
        .iter()
        .map(|r| {
            // Java's Pattern.matches semantics: the whole topic name.
            Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| format!("Invalid value {r} for configuration {key}: {e}"))
        })
        .collect()
}

impl TopicCreation {
    /// Parses the rules; the error names the offending key.
    pub fn from_config(props: &Props) -> Result<Self, (String, String)> {
        let mut names: Vec<String> =
            parse_list(props.get(GROUPS).map(String::as_str).unwrap_or(""))
                .into_iter()
                .filter(|g| g != DEFAULT)
                .collect();
        names.push(DEFAULT.to_owned());
        let default_rf_key = format!("{PREFIX}{DEFAULT}.replication.factor");
        let default_parts_key = format!("{PREFIX}{DEFAULT}.partitions");
        let missing = |k: &str| {
            (
                k.to_owned(),
                format!("Missing required configuration \"{k}\" which has no default value."),
            )
        };
        let default_rf = number(props, &default_rf_key)
            .map_err(|e| (default_rf_key.clone(), e))?
            .ok_or_else(|| missing(&default_rf_key))?;
        let default_parts = number(props, &default_parts_key)
            .map_err(|e| (default_parts_key.clone(), e))?
            .ok_or_else(|| missing(&default_parts_key))?;
        let mut groups = Vec::new();
        for name in names {
            let key = |k: &str| format!("{PREFIX}{name}.{k}");
            let include = if name == DEFAULT {
                None
            } else {
                Some(regexes(props, &key("include")).map_err(|e| (key("include"), e))?)
            };
            let exclude = regexes(props, &key("exclude")).map_err(|e| (key("exclude"), e))?;
            let rf = number(props, &key("replication.factor"))
                .map_err(|e| (key("replication.factor"), e))?
                .unwrap_or(default_rf);
            let partitions = number(props, &key("partitions"))
                .map_err(|e| (key("partitions"), e))?
                .unwrap_or(default_parts);
            let group_prefix = format!("{PREFIX}{name}.");
            let configs: BTreeMap<String, String> = props
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&group_prefix)
                        .map(|c| (c.to_owned(), v.clone()))
                })
                .filter(|(c, _)| !GROUP_KEYS.contains(&c.as_str()))
                .collect();
            groups.push(Group {
                include,
                exclude,
                replication_factor: rf,
                partitions,
                configs: configs.into_iter().collect(),
            });
        }
        Ok(TopicCreation { groups })
    }

    /// What to create for `topic`: the first group (in listed order) that
    /// matches it.
    pub fn spec_for(&self, topic: &str) -> Option<NewTopicSpec> {
        let g = self.groups.iter().find(|g| g.matches(topic))?;
        Some(NewTopicSpec {
            name: topic.to_owned(),
            partitions: g.partitions,
            replication_factor: g.replication_factor,
            configs: g.configs.clone(),
        })
    }
}

/// Adds the topic creation errors of a source connector config to its
/// validation results.
pub fn validate(props: &Props, values: &mut Vec<ValidatedValue>) {
    if !requested(props) {
        return;
    }
    if let Err((key, message)) = TopicCreation::from_config(props) {
        match values.iter_mut().find(|v| v.name == key) {
            Some(v) => v.errors.push(message),
            None => values.push(ValidatedValue {
                name: key,
                value: ferry_api::config::ConfigValue::Null,
                errors: vec![message],
                visible: true,
                recommended: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_props as props;

    #[test]
    fn groups_match_in_order_with_default_last() {
        let tc = TopicCreation::from_config(&props(&[
            ("topic.creation.groups", "compacted, big"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.compacted.include", "state-.*"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.big.include", "big-.*, huge"),
            ("topic.creation.big.exclude", "big-no"),
            ("topic.creation.big.partitions", "12"),
        ]))
        .unwrap();
        let s = tc.spec_for("state-x").unwrap();
        assert_eq!((s.partitions, s.replication_factor), (3, 1));
        assert_eq!(
            s.configs,
            vec![("cleanup.policy".to_owned(), "compact".to_owned())]
        );
        assert_eq!(tc.spec_for("big-1").unwrap().partitions, 12);
        assert_eq!(tc.spec_for("huge").unwrap().partitions, 12);
        assert_eq!(
            tc.spec_for("big-no").unwrap().partitions,
            3,
            "excluded falls to default"
        );
        assert!(tc.spec_for("other").unwrap().configs.is_empty());
    }

    #[test]
    fn default_replication_factor_and_partitions_are_required() {
        let err = TopicCreation::from_config(&props(&[("topic.creation.default.partitions", "1")]))
            .unwrap_err();
        assert_eq!(err.0, "topic.creation.default.replication.factor");
        let err = TopicCreation::from_config(&props(&[
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.default.replication.factor", "1"),
        ]))
        .unwrap_err();
        assert_eq!(err.0, "topic.creation.default.partitions");
    }
}
