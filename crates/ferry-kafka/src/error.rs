use rdkafka::error::KafkaError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KafkaClientError {
    /// A property librdkafka refused, named so that users can fix it.
    #[error("invalid Kafka client property: {0}")]
    Config(String),
    /// Security settings that cannot be read or honoured.
    #[error("invalid Kafka client security setting: {0}")]
    Security(#[from] ferry_security::SecurityError),
    /// The broker refused the connection's credentials, or TLS failed.
    #[error("the connection's security was refused: {0}")]
    Refused(String),
    #[error("Kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(std::time::Duration, &'static str),
    #[error("{0}")]
    Other(String),
}
