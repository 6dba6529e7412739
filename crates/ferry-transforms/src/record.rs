//! The record abstraction transforms work on: Kafka Connect's
//! `ConnectRecord`, implemented for both `SourceRecord` and `SinkRecord`.
//!
//! Transforms take records by value and change them in place (Kafka
//! Connect's `newRecord` copies every untouched field; moving them is the
//! same thing without the copies). Everything a record carries that a
//! transform does not touch (source partition and offset, Kafka offset,
//! timestamp type) therefore survives a chain unchanged.

use ferry_api::{Headers, Schema, SinkRecord, SourceRecord, TimestampType, Value};
use ferry_java::text;

/// A record a transform can read and rewrite.
pub trait ConnectRecord: Send + 'static {
    /// The Java class Kafka Connect names in messages about this record.
    const JAVA_CLASS: &'static str;

    fn topic(&self) -> &str;
    fn set_topic(&mut self, topic: String);
    fn kafka_partition(&self) -> Option<i32>;

    fn key_schema(&self) -> Option<&Schema>;
    fn key(&self) -> &Value;
    /// Moves the key (and its schema) out, leaving a null key behind.
    fn take_key(&mut self) -> (Option<Schema>, Value);
    fn set_key(&mut self, schema: Option<Schema>, key: Value);

    fn value_schema(&self) -> Option<&Schema>;
    fn value(&self) -> &Value;
    /// Moves the value (and its schema) out, leaving a null value behind.
    fn take_value(&mut self) -> (Option<Schema>, Value);
    fn set_value(&mut self, schema: Option<Schema>, value: Value);

    /// Milliseconds since the epoch, if the record has a timestamp.
    fn timestamp(&self) -> Option<i64>;
    fn headers(&self) -> &Headers;
    fn headers_mut(&mut self) -> &mut Headers;

    /// The record's offset in its Kafka partition: sink records only.
    fn kafka_offset(&self) -> Option<i64>;

    /// `record.toString()` as Kafka Connect prints it in messages.
    fn to_java_string(&self) -> String;
}

/// `ConnectRecord.toString()`, the part both record classes share.
fn connect_record_string<R: ConnectRecord>(r: &R) -> String {
    format!(
        "ConnectRecord{{topic='{}', kafkaPartition={}, key={}, keySchema={}, value={}, valueSchema={}, timestamp={}, headers={}}}",
        r.topic(),
        r.kafka_partition()
            .map_or_else(|| "null".to_owned(), |p| p.to_string()),
        text::to_string(r.key()),
        text::opt_schema_to_string(r.key_schema()),
        text::to_string(r.value()),
        text::opt_schema_to_string(r.value_schema()),
        r.timestamp()
            .map_or_else(|| "null".to_owned(), |t| t.to_string()),
        text::headers_to_string(r.headers()),
    )
}

impl ConnectRecord for SourceRecord {
    const JAVA_CLASS: &'static str = "org.apache.kafka.connect.source.SourceRecord";

    fn topic(&self) -> &str {
        &self.topic
    }
    fn set_topic(&mut self, topic: String) {
        self.topic = topic;
    }
    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn key_schema(&self) -> Option<&Schema> {
        self.key_schema.as_ref()
    }
    fn key(&self) -> &Value {
        &self.key
    }
    fn take_key(&mut self) -> (Option<Schema>, Value) {
        (self.key_schema.take(), std::mem::take(&mut self.key))
    }
    fn set_key(&mut self, schema: Option<Schema>, key: Value) {
        self.key_schema = schema;
        self.key = key;
    }
    fn value_schema(&self) -> Option<&Schema> {
        self.value_schema.as_ref()
    }
    fn value(&self) -> &Value {
        &self.value
    }
    fn take_value(&mut self) -> (Option<Schema>, Value) {
        (self.value_schema.take(), std::mem::take(&mut self.value))
    }
    fn set_value(&mut self, schema: Option<Schema>, value: Value) {
        self.value_schema = schema;
        self.value = value;
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
    fn to_java_string(&self) -> String {
        format!(
            "SourceRecord{{sourcePartition={}, sourceOffset={}}} {}",
            text::json_map_to_string(&self.source_partition),
            text::json_map_to_string(&self.source_offset),
            connect_record_string(self)
        )
    }
}

impl ConnectRecord for SinkRecord {
    const JAVA_CLASS: &'static str = "org.apache.kafka.connect.sink.SinkRecord";

    fn topic(&self) -> &str {
        &self.topic
    }
    fn set_topic(&mut self, topic: String) {
        self.topic = topic;
    }
    fn kafka_partition(&self) -> Option<i32> {
        Some(self.kafka_partition)
    }
    fn key_schema(&self) -> Option<&Schema> {
        self.key_schema.as_ref()
    }
    fn key(&self) -> &Value {
        &self.key
    }
    fn take_key(&mut self) -> (Option<Schema>, Value) {
        (self.key_schema.take(), std::mem::take(&mut self.key))
    }
    fn set_key(&mut self, schema: Option<Schema>, key: Value) {
        self.key_schema = schema;
        self.key = key;
    }
    fn value_schema(&self) -> Option<&Schema> {
        self.value_schema.as_ref()
    }
    fn value(&self) -> &Value {
        &self.value
    }
    fn take_value(&mut self) -> (Option<Schema>, Value) {
        (self.value_schema.take(), std::mem::take(&mut self.value))
    }
    fn set_value(&mut self, schema: Option<Schema>, value: Value) {
        self.value_schema = schema;
        self.value = value;
    }
    fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
    /// ferry-api's `SinkRecord` does not keep the original topic, partition
    /// and offset apart from the current ones, so those print the current
    /// values (they differ only after a chain has rerouted the record).
    fn to_java_string(&self) -> String {
        let tt = match self.timestamp_type {
            TimestampType::NoTimestampType => "NoTimestampType",
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        };
        format!(
            "SinkRecord{{kafkaOffset={}, timestampType={tt}, originalTopic={}, originalKafkaPartition={}, originalKafkaOffset={}}} {}",
            self.kafka_offset,
            self.topic,
            self.kafka_partition,
            self.kafka_offset,
            connect_record_string(self)
        )
    }
}

/// Which half of a record a `$Key` / `$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub fn schema<R: ConnectRecord>(self, r: &R) -> Option<&Schema> {
        match self {
            Side::Key => r.key_schema(),
            Side::Value => r.value_schema(),
        }
    }
    pub fn value<R: ConnectRecord>(self, r: &R) -> &Value {
        match self {
            Side::Key => r.key(),
            Side::Value => r.value(),
        }
    }
    pub fn take<R: ConnectRecord>(self, r: &mut R) -> (Option<Schema>, Value) {
        match self {
            Side::Key => r.take_key(),
            Side::Value => r.take_value(),
        }
    }
    pub fn set<R: ConnectRecord>(self, r: &mut R, schema: Option<Schema>, value: Value) {
        match self {
            Side::Key => r.set_key(schema, value),
            Side::Value => r.set_value(schema, value),
        }
    }
}
