//! Which columns a record writes and where each value comes from, per
//! `pk.mode`, `pk.fields` and `fields.whitelist` (Confluent's
//! `FieldsMetadata`).

use ferry_api::{Schema, SchemaType, SinkRecord, Value};

use crate::config::{PkMode, SinkConfig};
use crate::error::{JdbcError, Result};

const KAFKA_PK_DEFAULTS: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];
const KEY_PK_DEFAULT: &str = "__connect_key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    KafkaTopic,
    KafkaPartition,
    KafkaOffset,
    /// The whole (primitive) key.
    Key,
    KeyField(usize),
    ValueField(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SinkField {
    pub name: String,
    pub schema: Schema,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub keys: Vec<SinkField>,
    pub values: Vec<SinkField>,
}

impl Fields {
    pub fn all(&self) -> impl Iterator<Item = &SinkField> {
        self.keys.iter().chain(self.values.iter())
    }

    pub fn extract(
        cfg: &SinkConfig,
        table: &str,
        key_schema: Option<&Schema>,
        value_schema: Option<&Schema>,
    ) -> Result<Fields> {
        if let Some(v) = value_schema {
            if v.schema_type() != SchemaType::Struct {
                return Err(JdbcError::Data(format!(
                    "Sink connector '{table}' is configured with 'delete.enabled=false' and 'pk.mode=none' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record with a {} value schema",
                    v.schema_type()
                )));
            }
        }
        let mut keys = Vec::new();
        match cfg.pk_mode {
            PkMode::None => {}
            PkMode::Kafka => {
                let names: Vec<String> = if cfg.pk_fields.is_empty() {
                    KAFKA_PK_DEFAULTS.iter().map(|s| s.to_string()).collect()
                } else if cfg.pk_fields.len() == 3 {
                    cfg.pk_fields.clone()
                } else {
                    return Err(JdbcError::Config(
                        "PK mode for table '".to_owned() + table + "' is KAFKA so there should either be no field names defined for defaults (__connect_topic, __connect_partition, __connect_offset) to be applicable, or exactly 3, defined fields are: " + &cfg.pk_fields.join(","),
                    ));
                };
                let schemas = [Schema::string(), Schema::int32(), Schema::int64()];
                let sources = [
                    Source::KafkaTopic,
                    Source::KafkaPartition,
                    Source::KafkaOffset,
                ];
                for ((name, schema), source) in names.into_iter().zip(schemas).zip(sources) {
                    keys.push(SinkField {
                        name,
                        schema,
                        source,
                    });
                }
            }
            PkMode::RecordKey => {
                let ks = key_schema.ok_or_else(|| {
                    JdbcError::Data(format!("PK mode for table '{table}' is RECORD_KEY, but record key schema is missing"))
                })?;
                if ks.schema_type().is_primitive() {
                    if cfg.pk_fields.len() > 1 {
                        return Err(JdbcError::Config(format!(
                            "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: {}",
                            cfg.pk_fields.join(",")
                        )));
                    }
                    let name = cfg
                        .pk_fields
                        .first()
                        .cloned()
                        .unwrap_or_else(|| KEY_PK_DEFAULT.to_owned());
                    keys.push(SinkField {
                        name,
                        schema: ks.clone(),
                        source: Source::Key,
                    });
                } else if ks.schema_type() == SchemaType::Struct {
                    for f in ks.fields() {
                        if cfg.pk_fields.is_empty() || cfg.pk_fields.contains(&f.name) {
                            keys.push(SinkField {
                                name: f.name.clone(),
                                schema: f.schema.clone(),
                                source: Source::KeyField(f.index),
                            });
                        }
                    }
                    for p in &cfg.pk_fields {
                        if ks.field(p).is_none() {
                            return Err(JdbcError::Config(format!(
                                "PK field '{p}' not found in the record key of table '{table}'"
                            )));
                        }
                    }
                } else {
                    return Err(JdbcError::Data(format!(
                        "Key schema must be primitive type or Struct, but is of type: {}",
                        ks.schema_type()
                    )));
                }
            }
            PkMode::RecordValue => {
                let vs = value_schema.ok_or_else(|| {
                    JdbcError::Data(format!("PK mode for table '{table}' is RECORD_VALUE, but record value schema is missing"))
                })?;
                for f in vs.fields() {
                    if cfg.pk_fields.is_empty() || cfg.pk_fields.contains(&f.name) {
                        keys.push(SinkField {
                            name: f.name.clone(),
                            schema: f.schema.clone(),
                            source: Source::ValueField(f.index),
                        });
                    }
                }
                for p in &cfg.pk_fields {
                    if vs.field(p).is_none() {
                        return Err(JdbcError::Config(format!(
                            "PK field '{p}' not found in the record value of table '{table}'"
                        )));
                    }
                }
            }
        }
        let mut values = Vec::new();
        if let Some(vs) = value_schema {
            for f in vs.fields() {
                if keys.iter().any(|k| k.name == f.name) {
                    continue;
                }
                if !cfg.fields_whitelist.is_empty() && !cfg.fields_whitelist.contains(&f.name) {
                    continue;
                }
                values.push(SinkField {
                    name: f.name.clone(),
                    schema: f.schema.clone(),
                    source: Source::ValueField(f.index),
                });
            }
        }
        if keys.is_empty() && values.is_empty() {
            return Err(JdbcError::Data(format!(
                "No fields found using key and value schemas for table: {table}"
            )));
        }
        Ok(Fields { keys, values })
    }
}

/// The value a field takes in a record (borrowed where it can be).
pub fn field_value<'a>(
    record: &'a SinkRecord,
    source: Source,
    scratch: &'a mut Value,
) -> &'a Value {
    match source {
        Source::KafkaTopic => {
            *scratch = Value::String(record.topic.clone());
            scratch
        }
        Source::KafkaPartition => {
            *scratch = Value::Int32(record.kafka_partition);
            scratch
        }
        Source::KafkaOffset => {
            *scratch = Value::Int64(record.kafka_offset);
            scratch
        }
        Source::Key => &record.key,
        Source::KeyField(i) => match &record.key {
            Value::Struct(s) => s.get_at(i),
            _ => &Value::Null,
        },
        Source::ValueField(i) => match &record.value {
            Value::Struct(s) => s.get_at(i),
            _ => &Value::Null,
        },
    }
}

/// A record's value for a key or value field (not the Kafka coordinates).
pub fn value_ref(record: &SinkRecord, source: Source) -> &Value {
    match source {
        Source::Key => &record.key,
        Source::KeyField(i) => match &record.key {
            Value::Struct(s) => s.get_at(i),
            _ => &Value::Null,
        },
        Source::ValueField(i) => match &record.value {
            Value::Struct(s) => s.get_at(i),
            _ => &Value::Null,
        },
        Source::KafkaTopic | Source::KafkaPartition | Source::KafkaOffset => &Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    fn cfg(pairs: &[(&str, &str)]) -> SinkConfig {
        let mut p: ferry_api::Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.insert("connection.url".into(), "sqlite::memory:".into());
        SinkConfig::parse(&p).unwrap()
    }

    fn value_schema() -> Schema {
        SchemaBuilder::struct_()
            .field("id", Schema::int64())
            .field("name", Schema::optional_string())
            .field("extra", Schema::optional_string())
            .build()
    }

    #[test]
    fn record_value_keys_and_whitelist() {
        let c = cfg(&[
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("fields.whitelist", "name"),
        ]);
        let f = Fields::extract(&c, "t", None, Some(&value_schema())).unwrap();
        assert_eq!(
            f.keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            vec!["id"]
        );
        assert_eq!(
            f.values.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
            vec!["name"]
        );
    }

    #[test]
    fn kafka_and_primitive_key_defaults() {
        let c = cfg(&[("pk.mode", "kafka")]);
        let f = Fields::extract(&c, "t", None, Some(&value_schema())).unwrap();
        assert_eq!(f.keys.len(), 3);
        assert_eq!(f.keys[0].name, "__connect_topic");
        let c = cfg(&[("pk.mode", "record_key")]);
        let f = Fields::extract(&c, "t", Some(&Schema::int64()), Some(&value_schema())).unwrap();
        assert_eq!(f.keys[0].name, "__connect_key");
        assert_eq!(f.values.len(), 3);
        assert!(Fields::extract(&c, "t", None, Some(&value_schema())).is_err());
    }
}
