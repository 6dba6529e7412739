//! An example Ferry plugin library, built out of tree against `ferry-sdk`:
//!
//! - `com.example.ferry.LinesSourceConnector`: each line of `file` becomes
//!   a string record on `topic`, resuming after the last committed line;
//! - `com.example.ferry.LinesSinkConnector`: appends each record's value to
//!   `file`, one per line;
//! - `com.example.ferry.Upper`: a transformation upper-casing string values
//!   (and appending `suffix`);
//! - `com.example.ferry.ValueContains`: a predicate matching string values
//!   that contain `text`;
//! - `com.example.ferry.TextConverter`: UTF-8 text, like Kafka Connect's
//!   StringConverter.
//!
//! Each takes a `panic.on` (or `panic`) setting that makes it panic where
//! it says, to show that a panic fails one task and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_sdk::config::{ConfigDef, ConfigError, ConfigType, Importance};
use ferry_sdk::{
    async_trait, ConnectError, ConnectRecord, Connector, ConnectorContext, ConnectorKind,
    ConvertError, Converter, OffsetMap, Plugin, PluginDescriptor, Predicate, Props, Schema,
    SinkRecord, SinkTask, SinkTaskContext, SourceRecord, SourceTask, SourceTaskContext,
    TopicPartition, TransformError, Transformation, Value,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn required(props: &Props, key: &str) -> Result<String, ConnectError> {
    props
        .get(key)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| ConnectError::config(format!("Missing required configuration \"{key}\"")))
}

/// A connector that hands its own props to one task.
struct OneTask {
    kind: ConnectorKind,
    props: Props,
}

#[async_trait]
impl Connector for OneTask {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        def.define("file", ConfigType::String)
            .importance(Importance::High)
            .doc("The file to read (source) or append to (sink).");
        if self.kind == ConnectorKind::Source {
            def.define("topic", ConfigType::String)
                .importance(Importance::High)
                .doc("The topic to write to.");
            def.define("batch.size", ConfigType::Int)
                .default_str("500")
                .validator(ferry_sdk::Validator::at_least(1.0))
                .doc("Most lines per poll.");
            def.define("poll.idle.ms", ConfigType::Long)
                .default_str("200")
                .validator(ferry_sdk::Validator::at_least(0.0))
                .doc("How long a poll waits for new lines when there are none (a stop ends the wait).");
            def.define("acks.file", ConfigType::String)
                .default_str("")
                .doc("When set, each line Kafka acknowledged is appended to this file as <line> <topic>-<partition>@<offset> (commit_record).");
        }
        def.define("panic.on", ConfigType::String)
            .default_str("")
            .doc("Panic in this task method (poll, put), for tests.");
        def
    }
    async fn start(
        &mut self,
        props: Props,
        _context: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        required(&props, "file")?;
        self.props = props;
        Ok(())
    }
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        Ok(vec![self.props.clone()])
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

#[derive(Default)]
struct LinesSource {
    file: String,
    topic: String,
    batch: usize,
    panic_on_poll: bool,
    partition: Arc<OffsetMap>,
    line: i64,
    reader: Option<BufReader<tokio::fs::File>>,
    idle: std::time::Duration,
    stop: ferry_sdk::StopSignal,
    acks: Option<std::fs::File>,
}

#[async_trait]
impl SourceTask for LinesSource {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        self.file = required(&props, "file")?;
        self.topic = required(&props, "topic")?;
        self.batch = props
            .get("batch.size")
            .and_then(|b| b.parse().ok())
            .unwrap_or(500);
        self.panic_on_poll = props.get("panic.on").map(String::as_str) == Some("poll");
        self.idle = std::time::Duration::from_millis(
            props
                .get("poll.idle.ms")
                .and_then(|b| b.parse().ok())
                .unwrap_or(200),
        );
        self.stop = context.stop_signal().clone();
        if let Some(path) = props.get("acks.file").filter(|p| !p.is_empty()) {
            self.acks = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            );
        }
        let partition = OffsetMap::from_iter([("file".to_string(), self.file.clone().into())]);
        self.line = context
            .offset_storage_reader()
            .offset(&partition)
            .and_then(|o| o.get("line").and_then(serde_json::Value::as_i64))
            .unwrap_or(0);
        self.partition = Arc::new(partition);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        if self.panic_on_poll {
            panic!("LinesSource was told to panic in poll");
        }
        if self.reader.is_none() {
            match tokio::fs::File::open(&self.file).await {
                Ok(f) => {
                    let mut reader = BufReader::new(f);
                    let mut skipped = 0;
                    let mut line = String::new();
                    while skipped < self.line {
                        line.clear();
                        if reader.read_line(&mut line).await? == 0 {
                            break;
                        }
                        skipped += 1;
                    }
                    self.reader = Some(reader);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.stop
                        .unless_stopped(tokio::time::sleep(self.idle))
                        .await;
                    return Ok(Vec::new());
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(reader) = self.reader.as_mut() else {
            return Ok(Vec::new());
        };
        let mut records = Vec::new();
        let mut line = String::new();
        while records.len() < self.batch {
            line.clear();
            // A line without its newline yet is read again later.
            if reader.read_line(&mut line).await? == 0 || !line.ends_with('\n') {
                break;
            }
            self.line += 1;
            let offset = OffsetMap::from_iter([("line".to_string(), self.line.into())]);
            records.push(SourceRecord::new(
                Arc::clone(&self.partition),
                offset,
                self.topic.clone(),
                Some(Schema::string()),
                Value::String(line.trim_end_matches(['\n', '\r']).to_owned()),
            ));
        }
        if records.is_empty() {
            // Nothing new: reopen next time, from the line reached.
            self.reader = None;
            // Waits for more, but no longer than the task is wanted.
            self.stop
                .unless_stopped(tokio::time::sleep(self.idle))
                .await;
        }
        Ok(records)
    }

    /// An acknowledging source would confirm the line to its system here;
    /// this one notes it, so that a test can see what Kafka acknowledged.
    async fn commit_record(
        &mut self,
        record: &SourceRecord,
        metadata: Option<&ferry_sdk::RecordMetadata>,
    ) -> Result<(), ConnectError> {
        use std::io::Write;
        let (Some(acks), Some(m)) = (self.acks.as_mut(), metadata) else {
            return Ok(());
        };
        let line = record
            .source_offset
            .get("line")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(-1);
        writeln!(acks, "{line} {}-{}@{}", m.topic, m.partition, m.offset)?;
        Ok(())
    }

    fn wants_commit_record(&self) -> bool {
        self.acks.is_some()
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

#[derive(Default)]
struct LinesSink {
    file: Option<tokio::fs::File>,
    panic_on_put: bool,
    /// `retry.on`: a batch holding this value fails retriably, writing
    /// nothing, its first `retry.times` (default 2) times.
    retry_on: Option<String>,
    retries_left: u32,
}

#[async_trait]
impl SinkTask for LinesSink {
    async fn start(
        &mut self,
        props: Props,
        _context: Arc<SinkTaskContext>,
    ) -> Result<(), ConnectError> {
        let path = required(&props, "file")?;
        self.panic_on_put = props.get("panic.on").map(String::as_str) == Some("put");
        self.retry_on = props.get("retry.on").filter(|v| !v.is_empty()).cloned();
        self.retries_left = match props.get("retry.times") {
            Some(n) => n
                .parse()
                .map_err(|_| ConnectError::config(format!("retry.times: not a count: {n}")))?,
            None => 2,
        };
        self.file = Some(
            tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await?,
        );
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> Result<(), ConnectError> {
        if self.panic_on_put && !records.is_empty() {
            panic!("LinesSink was told to panic in put");
        }
        if let Some(on) = &self.retry_on {
            let hit = records
                .iter()
                .any(|r| matches!(&r.value, Value::String(s) if s == on));
            if hit && self.retries_left > 0 {
                self.retries_left -= 1;
                return Err(ConnectError::retriable(format!(
                    "LinesSink was told to fail retriably on {on}"
                )));
            }
        }
        let mut text = String::new();
        for r in &records {
            match &r.value {
                Value::String(s) => text.push_str(s),
                Value::Null => {}
                other => text.push_str(&format!("{other:?}")),
            }
            text.push('\n');
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(text.as_bytes()).await?;
        }
        Ok(())
    }

    async fn flush(
        &mut self,
        _offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<(), ConnectError> {
        if let Some(f) = self.file.as_mut() {
            f.flush().await?;
            f.sync_data().await?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if let Some(f) = self.file.as_mut() {
            f.flush().await?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Upper {
    suffix: String,
    panic: bool,
    fail_on: Option<String>,
}

impl<R: ConnectRecord> Transformation<R> for Upper {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        let parsed = Transformation::<R>::config_def(self).parse(props)?;
        self.suffix = parsed.string("suffix").unwrap_or_default().to_owned();
        self.panic = parsed.boolean("panic").unwrap_or(false);
        self.fail_on = parsed
            .string("fail.on")
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(())
    }
    fn config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        def.define("suffix", ConfigType::String)
            .default_str("")
            .doc("Appended to every value.");
        def.define("panic", ConfigType::Boolean)
            .default_str("false")
            .doc("Panic on every record, for tests.");
        def.define("fail.on", ConfigType::String)
            .default_str("")
            .doc("Fail (a DataException) on records with this value, for tests.");
        def
    }
    fn apply(&mut self, mut record: R) -> Result<Option<R>, TransformError> {
        if self.panic {
            panic!("Upper was told to panic in apply");
        }
        if self.fail_on.is_some() && record.value().as_str() == self.fail_on.as_deref() {
            return Err(TransformError::data(format!(
                "Upper was told to fail on {:?}",
                self.fail_on
            )));
        }
        let (schema, value) = record.take_value();
        let value = match value {
            Value::String(s) => Value::String(s.to_uppercase() + &self.suffix),
            other => other,
        };
        record.set_value(schema, value);
        Ok(Some(record))
    }
}

#[derive(Default)]
struct ValueContains {
    text: String,
}

impl<R: ConnectRecord> Predicate<R> for ValueContains {
    fn configure(&mut self, props: &Props) -> Result<(), ConfigError> {
        self.text = props
            .get("text")
            .cloned()
            .ok_or_else(|| ConfigError::missing("text"))?;
        Ok(())
    }
    fn config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        def.define("text", ConfigType::String)
            .doc("What a matching value contains.");
        def
    }
    fn test(&self, record: &R) -> bool {
        record
            .value()
            .as_str()
            .is_some_and(|s| s.contains(&self.text))
    }
}

#[derive(Default)]
struct TextConverter {
    panic: bool,
    fail_on: Option<String>,
}

impl Converter for TextConverter {
    fn configure(&mut self, props: &Props, _is_key: bool) -> Result<(), ConvertError> {
        self.panic = props.get("panic").map(String::as_str) == Some("true");
        self.fail_on = props.get("fail.on").filter(|v| !v.is_empty()).cloned();
        Ok(())
    }
    fn config_def(&self) -> ConfigDef {
        let mut def = ConfigDef::new();
        def.define("panic", ConfigType::Boolean)
            .default_str("false")
            .doc("Panic on every conversion, for tests.");
        def.define("fail.on", ConfigType::String)
            .default_str("")
            .doc("Fail (a DataException) to serialize this value, for tests.");
        def
    }
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&Schema>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        if self.panic {
            panic!("TextConverter was told to panic in fromConnectData");
        }
        if self.fail_on.is_some() && value.as_str() == self.fail_on.as_deref() {
            return Err(ConvertError::Data(format!(
                "TextConverter was told to fail on {:?}",
                self.fail_on
            )));
        }
        out.clear();
        match value {
            Value::Null => Ok(false),
            Value::String(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(true)
            }
            other => {
                out.extend_from_slice(format!("{other:?}").as_bytes());
                Ok(true)
            }
        }
    }
    fn to_connect(
        &self,
        _topic: &str,
        data: Option<&[u8]>,
    ) -> Result<(Option<Schema>, Value), ConvertError> {
        if self.panic {
            panic!("TextConverter was told to panic in toConnectData");
        }
        match data {
            None => Ok((Some(Schema::optional_string()), Value::Null)),
            Some(b) => String::from_utf8(b.to_vec())
                .map(|s| (Some(Schema::optional_string()), Value::String(s)))
                .map_err(|e| ConvertError::Data(e.to_string())),
        }
    }
}

fn plugins() -> Vec<Plugin> {
    vec![
        Plugin::connector(PluginDescriptor {
            class: "com.example.ferry.LinesSourceConnector",
            aliases: &[],
            kind: ConnectorKind::Source,
            version: VERSION,
            new_connector: || {
                Box::new(OneTask {
                    kind: ConnectorKind::Source,
                    props: Props::new(),
                })
            },
            new_source_task: Some(|| Box::<LinesSource>::default()),
            new_sink_task: None,
            local_file_keys: &["file"],
        }),
        Plugin::connector(PluginDescriptor {
            class: "com.example.ferry.LinesSinkConnector",
            aliases: &[],
            kind: ConnectorKind::Sink,
            version: VERSION,
            new_connector: || {
                Box::new(OneTask {
                    kind: ConnectorKind::Sink,
                    props: Props::new(),
                })
            },
            new_source_task: None,
            new_sink_task: Some(|| Box::<LinesSink>::default()),
            local_file_keys: &["file"],
        }),
        Plugin::transformation("com.example.ferry.Upper", VERSION, Upper::default),
        Plugin::predicate(
            "com.example.ferry.ValueContains",
            VERSION,
            ValueContains::default,
        ),
        Plugin::converter(
            "com.example.ferry.TextConverter",
            VERSION,
            TextConverter::default,
        ),
    ]
}

ferry_sdk::export_plugin!(plugins());
