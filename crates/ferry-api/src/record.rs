//! Source and sink records, as Kafka Connect's `SourceRecord` / `SinkRecord`,
//! and [`ConnectRecord`], what transformations and predicates see of both.
#![warn(missing_docs)]

use std::sync::Arc;

use crate::data::{Schema, Value};
use crate::plugin::{PredicateFactory, TransformationFactory};
use crate::transform::{Predicate, Transformation};
use crate::OffsetMap;

/// One record header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header's name.
    pub key: String,
    /// The value's schema, when it has one.
    pub schema: Option<Schema>,
    /// The value.
    pub value: Value,
}

/// Record headers in order; keys may repeat, as in Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// Appends a header (keeping any of the same name).
    pub fn add(&mut self, key: impl Into<String>, schema: Option<Schema>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }
    /// The last header named `key`.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }
    /// Removes every header named `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }
    /// The headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<Header> for Headers {
    /// Appends the headers in order.
    fn extend<I: IntoIterator<Item = Header>>(&mut self, headers: I) {
        self.0.extend(headers);
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What a consumed record's timestamp means (Kafka's `TimestampType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// The record has no timestamp.
    #[default]
    NoTimestampType,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the record.
    LogAppendTime,
}

/// A record produced by a source task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRecord {
    /// Where in the source the record comes from (a file, a table).
    /// Shared: a task usually emits many records for few partitions.
    pub source_partition: Arc<OffsetMap>,
    /// The position in the source partition after this record.
    pub source_offset: OffsetMap,
    /// The Kafka topic to write to.
    pub topic: String,
    /// The Kafka partition; `None` lets the producer choose.
    pub kafka_partition: Option<i32>,
    /// The key's schema, when it has one.
    pub key_schema: Option<Schema>,
    /// The key.
    pub key: Value,
    /// The value's schema, when it has one.
    pub value_schema: Option<Schema>,
    /// The value.
    pub value: Value,
    /// Milliseconds since the epoch; `None` lets Kafka assign one.
    pub timestamp: Option<i64>,
    /// The headers.
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
    /// The topic the record was read from (or, after a transformation
    /// rerouted it, the topic it now names); see
    /// [`original_topic`](Self::original_topic).
    pub topic: String,
    /// The partition the record was read from.
    pub kafka_partition: i32,
    /// The record's offset in its partition.
    pub kafka_offset: i64,
    /// The key's schema, when it has one.
    pub key_schema: Option<Schema>,
    /// The key.
    pub key: Value,
    /// The value's schema, when it has one.
    pub value_schema: Option<Schema>,
    /// The value.
    pub value: Value,
    /// Milliseconds since the epoch, if the record has a timestamp.
    pub timestamp: Option<i64>,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The headers.
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

pub(crate) mod sealed {
    use super::*;

    /// The record types a transformation can be built for: exactly
    /// [`SourceRecord`] and [`SinkRecord`], as in Kafka Connect, so that a
    /// factory can build a plugin for either.
    pub trait RecordType: Sized {
        /// A transformation for this record type.
        fn new_transformation(factory: &TransformationFactory) -> Box<dyn Transformation<Self>>
        where
            Self: ConnectRecord;
        /// A predicate for this record type.
        fn new_predicate(factory: &PredicateFactory) -> Box<dyn Predicate<Self>>
        where
            Self: ConnectRecord;
    }

    impl RecordType for SourceRecord {
        fn new_transformation(factory: &TransformationFactory) -> Box<dyn Transformation<Self>> {
            factory.for_source()
        }
        fn new_predicate(factory: &PredicateFactory) -> Box<dyn Predicate<Self>> {
            factory.for_source()
        }
    }

    impl RecordType for SinkRecord {
        fn new_transformation(factory: &TransformationFactory) -> Box<dyn Transformation<Self>> {
            factory.for_sink()
        }
        fn new_predicate(factory: &PredicateFactory) -> Box<dyn Predicate<Self>> {
            factory.for_sink()
        }
    }
}

/// Kafka Connect's `ConnectRecord`: what transformations and predicates
/// read and rewrite of a record, source or sink alike.
///
/// Transformations take records by value and change them in place (Kafka
/// Connect's `newRecord` copies every untouched field; moving them is the
/// same thing without the copies), so what a record carries beyond these
/// accessors (source partition and offset, timestamp type) survives a
/// chain unchanged. Implemented by [`SourceRecord`] and [`SinkRecord`] only.
pub trait ConnectRecord: sealed::RecordType + Send + 'static {
    /// The Java class Kafka Connect names in messages about this record.
    const JAVA_CLASS: &'static str;

    /// The topic.
    fn topic(&self) -> &str;
    /// Replaces the topic.
    fn set_topic(&mut self, topic: String);
    /// The Kafka partition, if the record has one.
    fn kafka_partition(&self) -> Option<i32>;

    /// The key's schema.
    fn key_schema(&self) -> Option<&Schema>;
    /// The key.
    fn key(&self) -> &Value;
    /// Moves the key (and its schema) out, leaving a null key behind.
    fn take_key(&mut self) -> (Option<Schema>, Value);
    /// Replaces the key and its schema.
    fn set_key(&mut self, schema: Option<Schema>, key: Value);

    /// The value's schema.
    fn value_schema(&self) -> Option<&Schema>;
    /// The value.
    fn value(&self) -> &Value;
    /// Moves the value (and its schema) out, leaving a null value behind.
    fn take_value(&mut self) -> (Option<Schema>, Value);
    /// Replaces the value and its schema.
    fn set_value(&mut self, schema: Option<Schema>, value: Value);

    /// Milliseconds since the epoch, if the record has a timestamp.
    fn timestamp(&self) -> Option<i64>;
    /// The headers.
    fn headers(&self) -> &Headers;
    /// The headers, to change.
    fn headers_mut(&mut self) -> &mut Headers;

    /// The record's offset in its Kafka partition: sink records only.
    fn kafka_offset(&self) -> Option<i64>;
}

/// The accessors both record types share (their fields have the same names).
macro_rules! connect_record_fields {
    () => {
        fn topic(&self) -> &str {
            &self.topic
        }
        fn set_topic(&mut self, topic: String) {
            self.topic = topic;
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
    };
}

impl ConnectRecord for SourceRecord {
    const JAVA_CLASS: &'static str = "org.apache.kafka.connect.source.SourceRecord";

    connect_record_fields!();

    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
}

impl ConnectRecord for SinkRecord {
    const JAVA_CLASS: &'static str = "org.apache.kafka.connect.sink.SinkRecord";

    connect_record_fields!();

    fn kafka_partition(&self) -> Option<i32> {
        Some(self.kafka_partition)
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
}
