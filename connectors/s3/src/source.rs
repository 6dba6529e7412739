//! The S3 source: replays what the sink wrote back into Kafka (backup and
//! restore), in the manner of Confluent's S3 source in its backup-and-
//! restore mode. Objects are found under `topics.dir` by their names
//! (`<topic>+<partition>+<start offset>.<ext>`, whatever the partitioner
//! put in the directories), read in start-offset order per Kafka
//! partition, and produced to the same topic and partition, with the keys
//! and headers of their `.keys` / `.headers` objects when the sink stored
//! them and, for Avro and Parquet, the schema the file carries.
//!
//! Offsets: per Kafka partition of the backup, the start offset of the
//! object being read and how many of its records were produced, so a
//! restart resumes at the next record.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use ferry_api::config::{ConfigDef, Importance, Key, Validator};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, Converter, Headers, OffsetMap, Props, Schema,
    SourceRecord, SourceTask, SourceTaskContext, Value,
};
use ferry_convert::{ConverterRole, JsonConverter};
use serde_json::json;
use tracing::{debug, info};

use crate::config::{
    self, FormatKind, StoreConfig, BYTEARRAY_SEPARATOR, FILE_DELIM, FORMAT_CLASS, TOPICS_DIR,
};
use crate::error::{Result, S3Error};
use crate::storage::Store;

pub const POLL_INTERVAL_MS: Key<i64> = Key::new("s3.poll.interval.ms");
pub const BATCH_MAX_SIZE: Key<i32> = Key::new("record.batch.max.size");
/// Set by the connector in each task's configuration.
const TASK_INDEX: Key<i32> = Key::new("task.index");
const TASK_COUNT: Key<i32> = Key::new("task.count");

pub fn source_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    config::define_store_keys(&mut d);
    config::define_layout_keys(&mut d);
    let c = "Connector";
    d.define_key(FORMAT_CLASS)
        .validator(Validator::Custom(config::check_format))
        .importance(Importance::High)
        .group(c)
        .doc("The format of the objects the S3 sink wrote: JsonFormat, AvroFormat, ParquetFormat or ByteArrayFormat.");
    d.define_key(BYTEARRAY_SEPARATOR)
        .importance(Importance::Low)
        .group(c)
        .doc("The separator between records in ByteArrayFormat objects; a line separator by default.");
    d.define_key(POLL_INTERVAL_MS)
        .default(60_000)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group(c)
        .doc("How often the bucket is listed again for new objects once every object found was read.");
    d.define_key(BATCH_MAX_SIZE)
        .default(200)
        .validator(Validator::at_least(1.0))
        .importance(Importance::Low)
        .group(c)
        .doc("The most records one poll returns.");
    d.define_key(TASK_INDEX)
        .default(0)
        .importance(Importance::Low)
        .group("Internal")
        .doc("Which of the connector's tasks this is (set by the connector).");
    d.define_key(TASK_COUNT)
        .default(1)
        .importance(Importance::Low)
        .group("Internal")
        .doc("How many tasks the connector runs (set by the connector).");
    d
}

struct SourceConfig {
    store: StoreConfig,
    topics_dir: String,
    directory_delim: String,
    file_delim: String,
    format: FormatKind,
    separator: Vec<u8>,
    poll_interval: Duration,
    batch_max: usize,
    task_index: u64,
    task_count: u64,
}

impl SourceConfig {
    fn parse(props: &Props) -> Result<SourceConfig> {
        let p = source_config_def()
            .parse(props)
            .map_err(|e| S3Error::Config(e.message))?;
        Ok(SourceConfig {
            store: config::store_config(&p)?,
            topics_dir: p.get(TOPICS_DIR),
            directory_delim: p.get(config::DIRECTORY_DELIM),
            file_delim: p.get(FILE_DELIM),
            format: FormatKind::parse(&p.get(FORMAT_CLASS))
                .ok_or_else(|| S3Error::Config("format.class: unknown format".into()))?,
            separator: props
                .get(BYTEARRAY_SEPARATOR.name())
                .map_or_else(|| b"\n".to_vec(), |s| s.as_bytes().to_vec()),
            poll_interval: Duration::from_millis(
                u64::try_from(p.get(POLL_INTERVAL_MS)).unwrap_or(0),
            ),
            batch_max: usize::try_from(p.get(BATCH_MAX_SIZE)).unwrap_or(1).max(1),
            task_index: u64::try_from(p.get(TASK_INDEX)).unwrap_or(0),
            task_count: u64::try_from(p.get(TASK_COUNT)).unwrap_or(1).max(1),
        })
    }

    fn prefix(&self) -> String {
        if self.topics_dir.trim().is_empty() {
            String::new()
        } else {
            format!("{}{}", self.topics_dir, self.directory_delim)
        }
    }
}

#[derive(Default)]
pub struct S3SourceConnector {
    props: Props,
}

#[async_trait]
impl Connector for S3SourceConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }

    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }

    async fn start(
        &mut self,
        props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> std::result::Result<(), ConnectError> {
        SourceConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    /// The Kafka partitions of the backup are spread over the tasks by a
    /// hash of their names.
    fn task_configs(&self, max_tasks: usize) -> std::result::Result<Vec<Props>, ConnectError> {
        let n = max_tasks.max(1);
        Ok((0..n)
            .map(|i| {
                let mut p = self.props.clone();
                p.insert(TASK_INDEX.name().into(), i.to_string());
                p.insert(TASK_COUNT.name().into(), n.to_string());
                p
            })
            .collect())
    }

    async fn stop(&mut self) -> std::result::Result<(), ConnectError> {
        Ok(())
    }
}

/// An object the sink wrote, by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ObjectName {
    topic: String,
    partition: i32,
    start: i64,
    /// `None`: the value file; else `keys` or `headers`.
    view: Option<&'static str>,
}

/// `<dir>/<topic><d><partition><d><offset>[.keys|.headers].<ext>`.
fn parse_name(key: &str, file_delim: &str, dir_delim: &str) -> Option<ObjectName> {
    let file = key.rsplit(dir_delim).next()?;
    let (rest, tail) = file.rsplit_once(file_delim)?;
    let (topic, partition) = rest.rsplit_once(file_delim)?;
    let digits_end = tail.find(|c: char| !c.is_ascii_digit())?;
    let start = tail[..digits_end].parse().ok()?;
    let ext = &tail[digits_end..];
    let view = if ext.starts_with(".keys.") {
        Some("keys")
    } else if ext.starts_with(".headers.") {
        Some("headers")
    } else {
        None
    };
    Some(ObjectName {
        topic: topic.to_owned(),
        partition: partition.parse().ok()?,
        start,
        view,
    })
}

/// One Kafka partition of the backup: its objects, in start-offset order.
#[derive(Default)]
struct Backup {
    /// start offset → (value object, keys object, headers object).
    objects: BTreeMap<i64, [Option<String>; 3]>,
    /// The next object to read starts at or after this offset.
    next_start: i64,
    /// Records of the object at `next_start` already produced.
    skip: usize,
}

#[derive(Default)]
pub struct S3SourceTask {
    cfg: Option<SourceConfig>,
    store: Option<Store>,
    context: Option<SourceTaskContext>,
    backups: BTreeMap<(String, i32), Backup>,
    pending: VecDeque<SourceRecord>,
    last_listing: Option<Instant>,
    json: Option<JsonConverter>,
}

fn stable_hash(s: &str) -> u64 {
    // FNV-1a: the same on every worker, unlike std's randomized hasher.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn source_partition(bucket: &str, topic: &str, partition: i32) -> Arc<OffsetMap> {
    let mut m = OffsetMap::new();
    m.insert("bucket".into(), json!(bucket));
    m.insert("topic".into(), json!(topic));
    m.insert("kafka.partition".into(), json!(partition));
    Arc::new(m)
}

impl S3SourceTask {
    /// Lists the bucket and adds the objects of this task's partitions.
    async fn list(&mut self) -> Result<()> {
        let (Some(cfg), Some(store)) = (&self.cfg, &self.store) else {
            return Ok(());
        };
        let keys = store.list(&cfg.prefix()).await?;
        for (key, _) in keys {
            let Some(name) = parse_name(&key, &cfg.file_delim, &cfg.directory_delim) else {
                continue;
            };
            let id = format!("{}{}{}", name.topic, cfg.file_delim, name.partition);
            if stable_hash(&id) % cfg.task_count != cfg.task_index {
                continue;
            }
            let slot = match name.view {
                None => 0,
                Some("keys") => 1,
                _ => 2,
            };
            let entry = (name.topic.clone(), name.partition);
            if !self.backups.contains_key(&entry) {
                // Where an earlier run stopped.
                let mut b = Backup::default();
                let partition = source_partition(store.bucket(), &name.topic, name.partition);
                if let Some(offset) = self
                    .context
                    .as_ref()
                    .and_then(|c| c.offset_storage_reader().offset(&partition))
                {
                    b.next_start = offset
                        .get("start.offset")
                        .and_then(|v| v.as_i64())
                        .unwrap_or(0);
                    b.skip = offset.get("records").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
                    if offset.get("eof").and_then(|v| v.as_bool()) == Some(true) {
                        b.next_start += 1;
                        b.skip = 0;
                    }
                }
                self.backups.insert(entry.clone(), b);
            }
            if let Some(b) = self.backups.get_mut(&entry) {
                if name.start >= b.next_start {
                    b.objects.entry(name.start).or_default()[slot] = Some(key);
                }
            }
        }
        self.last_listing = Some(Instant::now());
        Ok(())
    }

    /// Reads the next object of some partition into `pending`; false when
    /// every object found was read.
    async fn read_next(&mut self) -> std::result::Result<bool, ConnectError> {
        let next = self.backups.iter().find_map(|((t, p), b)| {
            b.objects
                .range(b.next_start..)
                .next()
                .map(|(start, files)| ((t.clone(), *p), *start, files.clone()))
        });
        let Some(((topic, partition), start, [value_key, keys_key, headers_key])) = next else {
            return Ok(false);
        };
        let Some(store) = &self.store else {
            return Ok(false);
        };
        // A keys object without a value object holds null values
        // (behavior.on.null.values=write): replayed as tombstones.
        let Some(object_key) = value_key.clone().or(keys_key.clone()) else {
            if let Some(b) = self.backups.get_mut(&(topic.clone(), partition)) {
                b.next_start = start + 1;
                b.skip = 0;
            }
            return Ok(true);
        };
        let keys = match &keys_key {
            Some(k) => Some(self.decode_keys(k, store.get(k).await?)?),
            None => None,
        };
        let (schema, values) = match &value_key {
            Some(k) => self.decode(k, store.get(k).await?).await?,
            None => (
                None,
                vec![Value::Null; keys.as_ref().map_or(0, |(_, k)| k.len())],
            ),
        };
        let headers = match &headers_key {
            Some(k) => Some(decode_headers(k, store.get(k).await?)?),
            None => None,
        };
        let skip = self
            .backups
            .get(&(topic.clone(), partition))
            .map_or(0, |b| if b.next_start == start { b.skip } else { 0 });
        let partition_map = source_partition(store.bucket(), &topic, partition);
        let total = values.len();
        for (i, value) in values.into_iter().enumerate().skip(skip) {
            let mut offset = OffsetMap::new();
            offset.insert("object".into(), json!(object_key));
            offset.insert("start.offset".into(), json!(start));
            offset.insert("records".into(), json!(i + 1));
            offset.insert("eof".into(), json!(i + 1 == total));
            let (key_schema, key) = keys
                .as_ref()
                .and_then(|(s, k)| k.get(i).map(|k| (s.clone(), k.clone())))
                .unwrap_or((None, Value::Null));
            let mut record = SourceRecord::new(
                partition_map.clone(),
                offset,
                topic.clone(),
                schema.clone(),
                value,
            );
            record.kafka_partition = Some(partition);
            record.key_schema = key_schema;
            record.key = key;
            if let Some(h) = headers.as_ref().and_then(|h| h.get(i)) {
                record.headers = h.clone();
            }
            self.pending.push_back(record);
        }
        if let Some(b) = self.backups.get_mut(&(topic.clone(), partition)) {
            b.next_start = start + 1;
            b.skip = 0;
        }
        debug!(object = %object_key, records = total, "S3 object read");
        Ok(true)
    }

    fn json(&self) -> Result<&JsonConverter> {
        self.json
            .as_ref()
            .ok_or_else(|| S3Error::Config("the task was not started".into()))
    }

    async fn decode(&self, key: &str, data: Bytes) -> Result<(Option<Schema>, Vec<Value>)> {
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| S3Error::Config("not started".into()))?;
        let object = |reason: String| S3Error::Object {
            key: key.to_owned(),
            reason,
        };
        match cfg.format {
            FormatKind::Json => Ok((None, self.json_lines(key, data)?)),
            FormatKind::ByteArray => {
                let raw = gunzip_if(key, data)?;
                Ok((
                    Some(Schema::optional_bytes()),
                    split_records(&raw, &cfg.separator),
                ))
            }
            FormatKind::Avro => {
                let (parsed, values) =
                    ferry_avro::decode::read_container(&data).map_err(|e| object(e.to_string()))?;
                Ok((Some(parsed.connect), values))
            }
            FormatKind::Parquet => {
                let (schema, values) = crate::parquet::read_parquet(data, key)?;
                Ok((Some(schema), values))
            }
        }
    }

    /// JSON lines (gzipped when the name says so), each read as
    /// JsonConverter with schemas off reads a record.
    fn json_lines(&self, key: &str, data: Bytes) -> Result<Vec<Value>> {
        let text = gunzip_if(key, data)?;
        let json = self.json()?;
        text.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|line| {
                json.to_connect("", Some(line))
                    .map(|(_, v)| v)
                    .map_err(|e| S3Error::Object {
                        key: key.to_owned(),
                        reason: e.to_string(),
                    })
            })
            .collect()
    }

    /// A keys object, in the format its extension names.
    fn decode_keys(&self, key: &str, data: Bytes) -> Result<(Option<Schema>, Vec<Value>)> {
        let object = |reason: String| S3Error::Object {
            key: key.to_owned(),
            reason,
        };
        let name = key.strip_suffix(".gz").unwrap_or(key);
        if name.ends_with(".json") {
            Ok((None, self.json_lines(key, data)?))
        } else if name.ends_with(".avro") {
            let (parsed, values) =
                ferry_avro::decode::read_container(&data).map_err(|e| object(e.to_string()))?;
            Ok((Some(parsed.connect), values))
        } else if name.ends_with(".parquet") {
            // Enveloped: RecordKey{key}.
            let (schema, values) = crate::parquet::read_parquet(data, key)?;
            let key_schema = schema.field("key").map(|f| f.schema.clone());
            let keys = values
                .into_iter()
                .map(|v| match v {
                    Value::Struct(s) => s.get("key").cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                })
                .collect();
            Ok((key_schema, keys))
        } else {
            let raw = gunzip_if(key, data)?;
            let sep = self
                .cfg
                .as_ref()
                .map_or(b"\n".to_vec(), |c| c.separator.clone());
            Ok((Some(Schema::optional_bytes()), split_records(&raw, &sep)))
        }
    }
}

fn gunzip_if(key: &str, data: Bytes) -> Result<Vec<u8>> {
    if key.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&data[..])
            .read_to_end(&mut out)
            .map_err(|e| S3Error::Object {
                key: key.to_owned(),
                reason: format!("not gzip: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(data.to_vec())
    }
}

/// Records written each followed by the separator.
fn split_records(raw: &[u8], sep: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    if sep.is_empty() {
        out.push(Value::Bytes(raw.to_vec()));
        return out;
    }
    let mut rest = raw;
    while !rest.is_empty() {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                out.push(Value::Bytes(rest[..i].to_vec()));
                rest = &rest[i + sep.len()..];
            }
            None => {
                out.push(Value::Bytes(rest.to_vec()));
                break;
            }
        }
    }
    out
}

/// A headers object (JSON lines of `{"headers": [{"key", "value"}]}`,
/// or Avro / Parquet of the same): each record's headers, as strings.
fn decode_headers(key: &str, data: Bytes) -> Result<Vec<Headers>> {
    let object = |reason: String| S3Error::Object {
        key: key.to_owned(),
        reason,
    };
    let name = key.strip_suffix(".gz").unwrap_or(key);
    let lists: Vec<Value> = if name.ends_with(".json") {
        let text = gunzip_if(key, data)?;
        text.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let j: serde_json::Value =
                    serde_json::from_slice(l).map_err(|e| object(e.to_string()))?;
                let items = j
                    .get("headers")
                    .and_then(|h| h.as_array())
                    .cloned()
                    .unwrap_or_default();
                Ok(Value::Array(
                    items
                        .into_iter()
                        .map(|h| {
                            Value::Map(vec![
                                (
                                    Value::String("key".into()),
                                    Value::String(h["key"].as_str().unwrap_or_default().into()),
                                ),
                                (
                                    Value::String("value".into()),
                                    h["value"]
                                        .as_str()
                                        .map_or(Value::Null, |s| Value::String(s.into())),
                                ),
                            ])
                        })
                        .collect(),
                ))
            })
            .collect::<Result<_>>()?
    } else if name.ends_with(".avro") {
        ferry_avro::decode::read_container(&data)
            .map_err(|e| object(e.to_string()))?
            .1
    } else {
        crate::parquet::read_parquet(data, key)?
            .1
            .into_iter()
            .map(|v| match v {
                Value::Struct(s) => s.get("headers").cloned().unwrap_or(Value::Null),
                other => other,
            })
            .collect()
    };
    Ok(lists
        .into_iter()
        .map(|list| {
            let mut h = Headers::new();
            let Value::Array(items) = list else { return h };
            for item in items {
                let (k, v) = match &item {
                    Value::Struct(s) => (s.get("key").cloned(), s.get("value").cloned()),
                    Value::Map(m) => (
                        m.iter()
                            .find(|(k, _)| k.as_str() == Some("key"))
                            .map(|(_, v)| v.clone()),
                        m.iter()
                            .find(|(k, _)| k.as_str() == Some("value"))
                            .map(|(_, v)| v.clone()),
                    ),
                    _ => (None, None),
                };
                if let Some(Value::String(k)) = k {
                    let v = v.unwrap_or(Value::Null);
                    let schema = (!v.is_null()).then(Schema::optional_string);
                    h.add(k, schema, v);
                }
            }
            h
        })
        .collect())
}

#[async_trait]
impl SourceTask for S3SourceTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> std::result::Result<(), ConnectError> {
        let cfg = SourceConfig::parse(&props)?;
        let store = Store::new(&cfg.store).await?;
        store.check_bucket().await?;
        let mut json_props = Props::new();
        json_props.insert("schemas.enable".into(), "false".into());
        self.json = Some(
            JsonConverter::new(ConverterRole::Value, &json_props)
                .map_err(|e| ConnectError::other(e.to_string()))?,
        );
        info!(bucket = %store.bucket(), task = cfg.task_index, "S3 source task started");
        self.cfg = Some(cfg);
        self.store = Some(store);
        self.context = Some(context);
        Ok(())
    }

    async fn poll(&mut self) -> std::result::Result<Vec<SourceRecord>, ConnectError> {
        let Some(cfg) = &self.cfg else {
            return Err(ConnectError::other("the task was not started"));
        };
        let (batch_max, interval) = (cfg.batch_max, cfg.poll_interval);
        if self.pending.is_empty() {
            let listed_recently = self.last_listing.is_some_and(|t| t.elapsed() < interval);
            if !self.read_next().await? && !listed_recently {
                self.list().await?;
                self.read_next().await?;
            }
        }
        if self.pending.is_empty() {
            // Everything found was read: wait a little before asking again.
            let wait = interval.min(Duration::from_millis(500));
            if let Some(ctx) = &self.context {
                ctx.stop_signal()
                    .unless_stopped(tokio::time::sleep(wait))
                    .await;
            } else {
                tokio::time::sleep(wait).await;
            }
            return Ok(Vec::new());
        }
        let n = self.pending.len().min(batch_max);
        Ok(self.pending.drain(..n).collect())
    }

    async fn stop(&mut self) -> std::result::Result<(), ConnectError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_every_partitioner() {
        assert_eq!(
            parse_name("topics/t/partition=0/t+0+0000000010.json.gz", "+", "/"),
            Some(ObjectName {
                topic: "t".into(),
                partition: 0,
                start: 10,
                view: None
            })
        );
        assert_eq!(
            parse_name(
                "b/a+b/year=2024/hour=03/a+b+12+0000000007.keys.avro",
                "+",
                "/"
            ),
            Some(ObjectName {
                topic: "a+b".into(),
                partition: 12,
                start: 7,
                view: Some("keys")
            })
        );
        assert_eq!(
            parse_name("topics/t/p/t+1+0000000000.headers.snappy.parquet", "+", "/")
                .and_then(|n| n.view),
            Some("headers")
        );
        assert_eq!(parse_name("topics/t/notes.txt", "+", "/"), None);
    }

    #[test]
    fn byte_records_split_on_the_separator() {
        let v = split_records(b"ab|c||d|", b"|");
        assert_eq!(
            v,
            vec![
                Value::Bytes(b"ab".to_vec()),
                Value::Bytes(b"c".to_vec()),
                Value::Bytes(vec![]),
                Value::Bytes(b"d".to_vec())
            ]
        );
    }

    #[test]
    fn task_shares_are_stable() {
        assert_eq!(stable_hash("t+0"), stable_hash("t+0"));
        assert_ne!(stable_hash("t+0"), stable_hash("t+1"));
    }
}
