//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value
//! with one of its fields (nested paths with `field.syntax.version=V2`).

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Field, Props, Schema, SchemaType, Struct, Value};

use crate::config::{self, key, Def, Default, Validator};
use crate::error::{config_error, ConfigError, ExceptionKind, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util;
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.ExtractField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.ExtractField$Value";
const PURPOSE: &str = "field extraction";
const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

pub(crate) const FIELD_SYNTAX_VERSION_DOC: &str = "Defines the version of the syntax to access fields. If set to <code>V1</code>, then the field paths are limited to access the elements at the root level of the struct or map. If set to <code>V2</code>, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield <code>baz</code> from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"<code>foo.bar</code>.baz\".";

pub(crate) fn def() -> Def {
    Def {
        keys: vec![
            key(
                "field",
                ConfigType::String,
                Default::Required,
                None,
                Importance::Medium,
                "Field name to extract.",
            ),
            config::replace_null_with_default_key(),
            key(
                FIELD_SYNTAX_VERSION,
                ConfigType::String,
                Default::Str("V1"),
                Some(Validator::CaseInsensitiveValidString(&["V1", "V2"])),
                Importance::High,
                FIELD_SYNTAX_VERSION_DOC,
            ),
        ],
    }
}

/// `SingleFieldPath`: the steps of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    steps: Vec<String>,
}

impl FieldPath {
    /// Version 1: the whole text is one field name.
    pub(crate) fn v1(path: &str) -> Self {
        FieldPath {
            steps: vec![path.to_owned()],
        }
    }

    /// Version 2: dotted steps, with backtick-quoted names that may hold
    /// dots (`SingleFieldPath.buildFieldPathV2`).
    pub(crate) fn v2(path: &str) -> Result<Self, String> {
        let p: Vec<char> = path.chars().collect();
        let incomplete = |at: usize| {
            format!(
                "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
            )
        };
        let find =
            |from: usize, c: char| p.iter().skip(from).position(|x| *x == c).map(|i| i + from);
        let mut steps = Vec::new();
        let mut idx = 0usize;
        while idx < p.len() {
            if p[idx] != '`' {
                let start = idx;
                match find(idx, '.') {
                    Some(dot) => {
                        steps.push(p[start..dot].iter().collect());
                        idx = dot + 1;
                    }
                    None => {
                        steps.push(p[start..].iter().collect());
                        idx = p.len();
                    }
                }
            } else {
                let backtick_at = idx;
                idx += 1;
                let mut field = String::new();
                let mut start = idx;
                loop {
                    let Some(close) = find(idx, '`') else {
                        return Err(incomplete(backtick_at));
                    };
                    idx = close;
                    let escaped = p[idx - 1] == '\\';
                    if idx >= p.len() - 1 {
                        if escaped {
                            return Err(incomplete(backtick_at));
                        }
                        field.extend(&p[start..idx]);
                        steps.push(std::mem::take(&mut field));
                        idx += 1;
                        break;
                    }
                    if p[idx + 1] != '.' {
                        idx += 1;
                        continue;
                    }
                    if escaped {
                        field.extend(&p[start..idx - 1]);
                        field.push('`');
                        idx += 1;
                        start = idx;
                        continue;
                    }
                    field.extend(&p[start..idx]);
                    steps.push(std::mem::take(&mut field));
                    idx += 2;
                    break;
                }
            }
        }
        if p.last() == Some(&'.') {
            steps.push(String::new());
        }
        if steps.is_empty() {
            // An empty path: Java's step list is empty and every lookup of
            // its last step fails with an index error.
            steps.push(String::new());
        }
        Ok(FieldPath { steps })
    }

    fn split(&self) -> (&[String], &str) {
        match self.steps.split_last() {
            Some((last, init)) => (init, last.as_str()),
            None => (&[], ""),
        }
    }

    /// `fieldFrom(schema)`.
    pub(crate) fn field_from<'a>(
        &self,
        schema: &'a Schema,
    ) -> Result<Option<&'a Field>, TransformError> {
        let (init, last) = self.split();
        let mut current = schema;
        for step in init {
            match lookup_field(current, step)? {
                Some(f) => current = &f.schema,
                None => return Ok(None),
            }
        }
        lookup_field(current, last)
    }

    /// `valueFrom(struct, withDefault)`.
    pub(crate) fn value_from_struct<'a>(
        &self,
        s: &'a Struct,
        with_default: bool,
    ) -> Result<Option<&'a Value>, TransformError> {
        let (init, last) = self.split();
        let mut current = s;
        for step in init {
            let Some(f) = current.schema().field(step) else {
                return Ok(None);
            };
            match current.get_at(f.index) {
                Value::Null => return Ok(None),
                Value::Struct(inner) => current = inner,
                other => {
                    return Err(TransformError::data(format!(
                        "Only Struct objects supported for [nested field access], found: {}",
                        ferry_java::text::class_name(other)
                    )))
                }
            }
        }
        Ok(current
            .schema()
            .field(last)
            .map(|f| util::field_value(current, f.index, with_default)))
    }

    /// `valueFrom(map)`, moving the value out of the map.
    pub(crate) fn take_from_map(&self, m: Vec<(Value, Value)>) -> Result<Value, TransformError> {
        let (init, last) = self.split();
        let mut current = m;
        for step in init {
            match util::map_remove(&mut current, step) {
                None | Some(Value::Null) => return Ok(Value::Null),
                Some(Value::Map(inner)) => current = inner,
                Some(other) => {
                    return Err(TransformError::data(format!(
                        "Only Map objects supported in absence of schema for [nested field access], found: {}",
                        ferry_java::text::class_name(&other)
                    )))
                }
            }
        }
        Ok(util::map_remove(&mut current, last).unwrap_or_default())
    }
}

/// `Schema.field(name)`, which fails on non-struct schemas.
pub(crate) fn lookup_field<'a>(
    schema: &'a Schema,
    name: &str,
) -> Result<Option<&'a Field>, TransformError> {
    if schema.schema_type() != SchemaType::Struct {
        return Err(TransformError::data(
            "Cannot look up fields on non-struct type",
        ));
    }
    Ok(schema.field(name))
}

/// `FieldSyntaxVersion.fromConfig` and the path it gives.
pub(crate) fn parse_path(path: &str, version: &str) -> Result<FieldPath, ConfigError> {
    if version.eq_ignore_ascii_case("V2") {
        FieldPath::v2(path).map_err(|m| config_error("field", m))
    } else {
        Ok(FieldPath::v1(path))
    }
}

struct Config {
    original: String,
    path: FieldPath,
    replace_null_with_default: bool,
}

pub struct ExtractField {
    side: Side,
    cfg: Option<Config>,
}

impl ExtractField {
    pub fn new(side: Side) -> Self {
        ExtractField { side, cfg: None }
    }
}

impl<R: ConnectRecord> Transformation<R> for ExtractField {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let original = parsed.string("field").unwrap_or_default().to_owned();
        let version = parsed.string(FIELD_SYNTAX_VERSION).unwrap_or("V1");
        let path = parse_path(&original, version)?;
        self.cfg = Some(Config {
            original,
            path,
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        });
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
        let (schema, value) = match self.side.schema(&record) {
            None => {
                // Schemaless values are owned maps: move the field out.
                let (_, v) = self.side.take(&mut record);
                let extracted = match v {
                    Value::Null => Value::Null,
                    other => {
                        let m = util::require_map(other, PURPOSE)?;
                        cfg.path.take_from_map(m)?
                    }
                };
                (None, extracted)
            }
            Some(schema) => {
                let v = self.side.value(&record);
                let s = match v {
                    Value::Null => None,
                    other => Some(util::require_struct_ref(other, PURPOSE)?),
                };
                let Some(field) = cfg.path.field_from(schema)? else {
                    return Err(TransformError::new(
                        ExceptionKind::IllegalArgument,
                        format!("Unknown field: {}", cfg.original),
                    ));
                };
                let extracted = match s {
                    None => Value::Null,
                    Some(s) => cfg
                        .path
                        .value_from_struct(s, cfg.replace_null_with_default)?
                        .cloned()
                        .unwrap_or_default(),
                };
                (Some(field.schema.clone()), extracted)
            }
        };
        self.side.set(&mut record, schema, value);
        Ok(Some(record))
    }
}
