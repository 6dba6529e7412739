//! Everything in Ferry that speaks to Kafka: producers for source tasks,
//! consumers for sink tasks, and the admin client, on rdkafka (librdkafka).
//!
//! Callers pass Kafka Connect–style (Java client) properties; `config`
//! translates them to librdkafka's names.

pub mod admin;
pub mod close;
pub mod config;
pub mod consumer;
pub mod error;
pub mod log;
pub mod producer;

pub use admin::{Admin, NewTopicSpec};
pub use config::ClientProps;
pub use consumer::{ConsumedMessage, Consumer, RebalanceEvent};
pub use error::KafkaClientError;
pub use log::{KafkaLog, LogRecord};
pub use producer::{Delivered, DeliveryListener, OutgoingRecord, Producer, ProducerPool};

/// A topic and partition, with an offset where it matters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}
