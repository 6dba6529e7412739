//! Source and sink records, as Kafka Connect's `SourceRecord` / `SinkRecord`.

use std::sync::Arc;

use crate::data::{Schema, Value};
use crate::OffsetMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<Schema>,
    pub value: Value,
}

/// Record headers in order; keys may repeat, as in Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    pub fn add(&mut self, key: impl Into<String>, schema: Option<Schema>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    #[default]
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// A record produced by a source task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRecord {
    /// Shared: a task usually emits many records for few partitions.
    pub source_partition: Arc<OffsetMap>,
    pub source_offset: OffsetMap,
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<Schema>,
    pub key: Value,
    pub value_schema: Option<Schema>,
    pub value: Value,
    /// Milliseconds since the epoch; `None` lets Kafka assign one.
    pub timestamp: Option<i64>,
    pub headers: Headers,
}

impl SourceRecord {
    /// A record with a value only, the common case.
    pub fn new(
        source_partition: Arc<OffsetMap>,
        source_offset: OffsetMap,
        topic: impl Into<String>,
        value_schema: Option<Schema>,
        value: Value,
    ) -> Self {
        SourceRecord {
            source_partition,
            source_offset,
            topic: topic.into(),
            value_schema,
            value,
            ..Default::default()
        }
    }
}

/// Where Kafka stored a source record (Kafka's `RecordMetadata`), as
/// [`SourceTask::commit_record`](crate::SourceTask::commit_record) gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic written to: the record's topic after transformations.
    pub topic: String,
    /// The partition written to.
    pub partition: i32,
    /// The record's offset in that partition.
    pub offset: i64,
    /// The record's timestamp in the topic: the one it was sent with, or
    /// the broker's for a topic with `LogAppendTime`; `None` if unknown.
    pub timestamp: Option<i64>,
}

/// The topic, partition and offset a sink record was consumed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalPosition {
    /// The topic consumed from.
    pub topic: String,
    /// The partition consumed from.
    pub partition: i32,
    /// The record's offset in that partition.
    pub offset: i64,
}

/// A record delivered to a sink task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SinkRecord {
    /// The topic, possibly changed by a transformation (`RegexRouter`,
    /// `TimestampRouter`); see [`original_topic`](Self::original_topic).
    pub topic: String,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
    pub key_schema: Option<Schema>,
    pub key: Value,
    pub value_schema: Option<Schema>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub headers: Headers,
    /// Where the record was consumed, when transformations changed its
    /// topic, partition or offset; `None` when they are unchanged (or the
    /// record was built outside the runtime). Read it through
    /// [`original_topic`](Self::original_topic),
    /// [`original_kafka_partition`](Self::original_kafka_partition) and
    /// [`original_kafka_offset`](Self::original_kafka_offset).
    pub original: Option<OriginalPosition>,
}

impl SinkRecord {
    /// The topic the record was consumed from, before transformations
    /// (Kafka Connect 3.6's `originalTopic()`). A sink that tracks offsets
    /// itself, or returns them from `pre_commit`, must use this, the
    /// original partition and the original offset: the runtime commits
    /// offsets of the consumed topic partitions.
    pub fn original_topic(&self) -> &str {
        self.original.as_ref().map_or(&self.topic, |o| &o.topic)
    }
    /// The partition the record was consumed from, before transformations
    /// (`originalKafkaPartition()`).
    pub fn original_kafka_partition(&self) -> i32 {
        self.original
            .as_ref()
            .map_or(self.kafka_partition, |o| o.partition)
    }
    /// The offset the record was consumed at, before transformations
    /// (`originalKafkaOffset()`).
    pub fn original_kafka_offset(&self) -> i64 {
        self.original
            .as_ref()
            .map_or(self.kafka_offset, |o| o.offset)
    }
}
