//! `ReplaceField$Key` / `ReplaceField$Value`: keeps, drops and renames
//! fields.
//!
//! Kafka Connect 4.0 removed the deprecated `whitelist` and `blacklist`
//! keys; a 4.3.1 worker silently ignores them. Ferry still honours them as
//! Kafka Connect 3.x did (`whitelist` for `include`, `blacklist` for
//! `exclude`, the new key winning when both are set), so configs written
//! for older workers keep their meaning.

use std::collections::{HashMap, HashSet};

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, Value};

use crate::config::{self, key, Def, Default, JValue, Validator};
use crate::error::{ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
const PURPOSE: &str = "field replacement";

pub(crate) fn def() -> Def {
    let list = |name, doc, validator| {
        key(
            name,
            ConfigType::List,
            Default::EmptyList,
            Some(validator),
            Importance::Medium,
            doc,
        )
    };
    let non_duplicate = Validator::ValidList {
        empty_allowed: true,
        null_allowed: false,
    };
    Def {
        keys: vec![
            list(
                "exclude",
                "Fields to exclude. This takes precedence over the fields to include.",
                non_duplicate.clone(),
            ),
            list(
                "include",
                "Fields to include. If specified, only these fields will be used.",
                non_duplicate,
            ),
            list(
                "renames",
                "Field rename mappings.",
                Validator::Lambda(check_renames),
            ),
            config::replace_null_with_default_key(),
        ],
    }
}

fn check_renames(_name: &str, value: &JValue) -> Result<(), ConfigError> {
    match value {
        JValue::List(l) => parse_renames(l).map(|_| ()),
        _ => Ok(()),
    }
}

/// `parseRenameMappings`: `from:to` pairs (Java's `split(":")`, which drops
/// trailing empty parts).
fn parse_renames(mappings: &[String]) -> Result<HashMap<String, String>, ConfigError> {
    let mut m = HashMap::new();
    for mapping in mappings {
        let mut parts: Vec<&str> = mapping.split(':').collect();
        while parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() != 2 {
            return Err(config::invalid(
                "renames",
                &JValue::List(mappings.to_vec()),
                &format!("Invalid rename mapping: {mapping}"),
            ));
        }
        m.insert(parts[0].to_owned(), parts[1].to_owned());
    }
    Ok(m)
}

/// `ConfigUtils.translateDeprecatedConfigs` for the keys Kafka Connect 3.x
/// accepted.
fn translate_deprecated(props: &Props) -> std::borrow::Cow<'_, Props> {
    let aliases = [("include", "whitelist"), ("exclude", "blacklist")];
    if !aliases.iter().any(|(_, old)| props.contains_key(*old)) {
        return std::borrow::Cow::Borrowed(props);
    }
    let mut out = props.clone();
    for (new, old) in aliases {
        if let Some(v) = out.remove(old) {
            out.entry(new.to_owned()).or_insert(v);
        }
    }
    std::borrow::Cow::Owned(out)
}

struct Config {
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
    reverse: HashMap<String, String>,
    replace_null_with_default: bool,
}

impl Config {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }
    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }
    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.reverse.get(name).map_or(name, String::as_str)
    }
}

pub struct ReplaceField {
    side: Side,
    cfg: Option<Config>,
    cache: SchemaCache,
}

impl ReplaceField {
    pub fn new(side: Side) -> Self {
        ReplaceField {
            side,
            cfg: None,
            cache: SchemaCache::default(),
        }
    }
}

impl<R: ConnectRecord> Transformation<R> for ReplaceField {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let props = translate_deprecated(props);
        let parsed = def().parse(&props)?;
        let renames = parse_renames(parsed.list("renames"))?;
        let reverse = renames
            .iter()
            .map(|(k, v)| (v.clone(), k.clone()))
            .collect();
        self.cfg = Some(Config {
            exclude: parsed.list("exclude").iter().cloned().collect(),
            include: parsed.list("include").iter().cloned().collect(),
            renames,
            reverse,
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
        self.cache = SchemaCache::default();
        Ok(())
    }

    fn config_def(&self) -> ConfigDef {
        def().to_config_def()
    }

    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        let class = match self.side {
            Side::Key => KEY_CLASS,
            Side::Value => VALUE_CLASS,
        };
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| util::not_configured(class))?;
        if self.side.value(&record).is_null() {
            return Ok(Some(record));
        }
        let (schema, value) = self.side.take(&mut record);
        match schema {
            None => {
                let map = util::require_map(value, PURPOSE)?;
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let Some(name) = k.as_str() else {
                        continue;
                    };
                    if cfg.keep(name) {
                        let renamed = cfg.renamed(name).to_owned();
                        util::map_put(&mut out, &renamed, v);
                    }
                }
                self.side.set(&mut record, None, Value::Map(out));
            }
            Some(_) => {
                let value = util::require_struct(value, PURPOSE)?;
                let updated = self
                    .cache
                    .get_or_try_insert(value.schema(), || updated_schema(cfg, value.schema()))?;
                let mut out = util::new_struct(&updated)?;
                for f in updated.fields() {
                    let source = cfg.reverse_renamed(&f.name);
                    let Some(src) = value.schema().field(source) else {
                        return Err(TransformError::data(format!(
                            "{source} is not a valid field name"
                        )));
                    };
                    let v =
                        util::field_value(&value, src.index, cfg.replace_null_with_default).clone();
                    util::put(&mut out, &f.name, v)?;
                }
                self.side
                    .set(&mut record, Some(updated), Value::Struct(out));
            }
        }
        Ok(Some(record))
    }
}

fn updated_schema(cfg: &Config, schema: &Schema) -> Result<Schema, TransformError> {
    let mut b = StructBuilder::copying(schema);
    for f in schema.fields() {
        if cfg.keep(&f.name) {
            b.field(cfg.renamed(&f.name), f.schema.clone())?;
        }
    }
    Ok(b.build())
}
