//! `InsertField$Key` / `InsertField$Value`: adds fields holding the topic,
//! partition, offset, timestamp or a static value.

use ferry_api::config::{ConfigType, Importance};
use ferry_api::{ConfigDef, Props, Schema, SchemaBuilder, Value};

use crate::config::{self, key, Def, Default};
use crate::error::{config_error, ConfigError, TransformError};
use crate::record::{ConnectRecord, Side};
use crate::util::{self, SchemaCache, StructBuilder};
use crate::Transformation;

pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.InsertField$Key";
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
const PURPOSE: &str = "field insertion";

pub(crate) fn def() -> Def {
    let opt = |name: &'static str, doc: &'static str| {
        key(
            name,
            ConfigType::String,
            Default::Null,
            None,
            Importance::Medium,
            doc,
        )
    };
    Def {
        keys: vec![
            opt("topic.field", "Field name for Kafka topic. Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."),
            opt("partition.field", "Field name for Kafka partition. Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."),
            opt("offset.field", "Field name for Kafka offset - only applicable to sink connectors.<br/>Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."),
            opt("timestamp.field", "Field name for record timestamp. Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."),
            opt("static.field", "Field name for static data field. Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."),
            opt("static.value", "Static field value, if field name configured."),
            config::replace_null_with_default_key(),
        ],
    }
}

/// `InsertionSpec`: a field name, optional unless suffixed with `!`.
#[derive(Clone)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(spec: Option<&str>) -> Option<Spec> {
        let spec = spec?;
        Some(if let Some(n) = spec.strip_suffix('?') {
            Spec {
                name: n.to_owned(),
                optional: true,
            }
        } else if let Some(n) = spec.strip_suffix('!') {
            Spec {
                name: n.to_owned(),
                optional: false,
            }
        } else {
            Spec {
                name: spec.to_owned(),
                optional: true,
            }
        })
    }
}

struct Config {
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
}

pub struct InsertField {
    side: Side,
    cfg: Option<Config>,
    cache: SchemaCache,
}

impl InsertField {
    pub fn new(side: Side) -> Self {
        InsertField {
            side,
            cfg: None,
            cache: SchemaCache::default(),
        }
    }
}

fn sink_offset<R: ConnectRecord>(record: &R) -> Result<i64, TransformError> {
    record.kafka_offset().ok_or_else(|| {
        TransformError::data(format!(
            "Only SinkRecord supported for [{PURPOSE}], found: {}",
            R::JAVA_CLASS
        ))
    })
}

impl<R: ConnectRecord> Transformation<R> for InsertField {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = def().parse(props)?;
        let cfg = Config {
            topic: Spec::parse(parsed.string("topic.field")),
            partition: Spec::parse(parsed.string("partition.field")),
            offset: Spec::parse(parsed.string("offset.field")),
            timestamp: Spec::parse(parsed.string("timestamp.field")),
            static_field: Spec::parse(parsed.string("static.field")),
            static_value: parsed.string("static.value").map(str::to_owned),
            replace_null_with_default: parsed.boolean(config::REPLACE_NULL_WITH_DEFAULT),
        };
        if cfg.topic.is_none()
            && cfg.partition.is_none()
            && cfg.offset.is_none()
            && cfg.timestamp.is_none()
            && cfg.static_field.is_none()
        {
            return Err(config_error("", "No field insertion configured"));
        }
        if let (Some(f), None) = (&cfg.static_field, &cfg.static_value) {
            // Java prints the spec object's identity here
            // (`InsertField$InsertionSpec@1b6d3586`); Ferry names the field.
            return Err(config_error(
                "static.value",
                format!(
                    "Invalid value null for configuration static.value: No value specified for static field: {}",
                    f.name
                ),
            ));
        }
        self.cfg = Some(cfg);
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
                let mut map = util::require_map(value, PURPOSE)?;
                if let Some(s) = &cfg.topic {
                    util::map_put(&mut map, &s.name, Value::String(record.topic().to_owned()));
                }
                if let (Some(s), Some(p)) = (&cfg.partition, record.kafka_partition()) {
                    util::map_put(&mut map, &s.name, Value::Int32(p));
                }
                if let Some(s) = &cfg.offset {
                    util::map_put(&mut map, &s.name, Value::Int64(sink_offset(&record)?));
                }
                if let (Some(s), Some(t)) = (&cfg.timestamp, record.timestamp()) {
                    util::map_put(&mut map, &s.name, Value::Int64(t));
                }
                if let (Some(s), Some(v)) = (&cfg.static_field, &cfg.static_value) {
                    util::map_put(&mut map, &s.name, Value::String(v.clone()));
                }
                self.side.set(&mut record, None, Value::Map(map));
            }
            Some(_) => {
                let value = util::require_struct(value, PURPOSE)?;
                let updated = self
                    .cache
                    .get_or_try_insert(value.schema(), || updated_schema(cfg, value.schema()))?;
                let mut out = util::new_struct(&updated)?;
                for f in value.schema().fields() {
                    let v =
                        util::field_value(&value, f.index, cfg.replace_null_with_default).clone();
                    util::put(&mut out, &f.name, v)?;
                }
                if let Some(s) = &cfg.topic {
                    util::put(&mut out, &s.name, Value::String(record.topic().to_owned()))?;
                }
                if let (Some(s), Some(p)) = (&cfg.partition, record.kafka_partition()) {
                    util::put(&mut out, &s.name, Value::Int32(p))?;
                }
                if let Some(s) = &cfg.offset {
                    util::put(&mut out, &s.name, Value::Int64(sink_offset(&record)?))?;
                }
                if let (Some(s), Some(t)) = (&cfg.timestamp, record.timestamp()) {
                    util::put(&mut out, &s.name, Value::Timestamp(t))?;
                }
                if let (Some(s), Some(v)) = (&cfg.static_field, &cfg.static_value) {
                    util::put(&mut out, &s.name, Value::String(v.clone()))?;
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
        b.field(&f.name, f.schema.clone())?;
    }
    let opt = |optional: bool, s: SchemaBuilder| if optional { s.optional() } else { s };
    if let Some(s) = &cfg.topic {
        b.field(
            &s.name,
            opt(
                s.optional,
                SchemaBuilder::new(ferry_api::SchemaType::String),
            )
            .build(),
        )?;
    }
    if let Some(s) = &cfg.partition {
        b.field(
            &s.name,
            opt(s.optional, SchemaBuilder::new(ferry_api::SchemaType::Int32)).build(),
        )?;
    }
    if let Some(s) = &cfg.offset {
        b.field(
            &s.name,
            opt(s.optional, SchemaBuilder::new(ferry_api::SchemaType::Int64)).build(),
        )?;
    }
    if let Some(s) = &cfg.timestamp {
        b.field(&s.name, opt(s.optional, SchemaBuilder::timestamp()).build())?;
    }
    if let Some(s) = &cfg.static_field {
        b.field(
            &s.name,
            opt(
                s.optional,
                SchemaBuilder::new(ferry_api::SchemaType::String),
            )
            .build(),
        )?;
    }
    Ok(b.build())
}
