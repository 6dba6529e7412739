//! What transforms need of records beyond `ferry_api::ConnectRecord`: the
//! key/value [`Side`] a `$Key` / `$Value` transform works on, and
//! `record.toString()` as Kafka Connect prints it in messages.

use std::any::Any;

pub(crate) use ferry_api::ConnectRecord;
use ferry_api::{Schema, SinkRecord, SourceRecord, TimestampType, Value};
use ferry_java::text;

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

/// `record.toString()` as Kafka Connect prints it in messages: the record
/// class's own fields, then the shared ones.
pub(crate) fn java_string<R: ConnectRecord>(r: &R) -> String {
    let any: &dyn Any = r;
    if let Some(s) = any.downcast_ref::<SourceRecord>() {
        return format!(
            "SourceRecord{{sourcePartition={}, sourceOffset={}}} {}",
            text::json_map_to_string(&s.source_partition),
            text::json_map_to_string(&s.source_offset),
            connect_record_string(r)
        );
    }
    match any.downcast_ref::<SinkRecord>() {
        // The runtime records the original position once the chain has
        // run (and only if it moved the record), so within a chain these
        // print the current values unless the record came with one.
        Some(s) => {
            let tt = match s.timestamp_type {
                TimestampType::NoTimestampType => "NoTimestampType",
                TimestampType::CreateTime => "CreateTime",
                TimestampType::LogAppendTime => "LogAppendTime",
            };
            format!(
                "SinkRecord{{kafkaOffset={}, timestampType={tt}, originalTopic={}, originalKafkaPartition={}, originalKafkaOffset={}}} {}",
                s.kafka_offset,
                s.original_topic(),
                s.original_kafka_partition(),
                s.original_kafka_offset(),
                connect_record_string(r)
            )
        }
        // `ConnectRecord` is implemented by the two record types only.
        None => connect_record_string(r),
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
