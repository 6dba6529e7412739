//! Debezium's `kafka` signal channel: signals as records of partition 0
//! of `signal.kafka.topic`, keyed by the connector's `topic.prefix`, their
//! value `{"id": …, "type": …, "data": {…}}`. A consumer in the group
//! `signal.kafka.groupId` (committing as it goes, from the earliest record
//! the first time) is read every `signal.poll.interval.ms`, as Debezium's
//! `SignalProcessor` reads its channels.

use std::time::{Duration, Instant};

use ferry_kafka::{Consumer, KafkaClientError};
use serde_json::Value as Json;
use tracing::{info, warn};

use crate::config::KafkaSignalChannel;
use crate::incremental::Signal;

/// Signals read at most per read of the topic.
const MAX_SIGNALS: usize = 100;

/// The channel's consumer and when it is read next.
pub struct KafkaSignals {
    consumer: Consumer,
    channel: KafkaSignalChannel,
    /// Only records with this key are the connector's signals.
    connector: String,
    next_read: Instant,
}

impl KafkaSignals {
    /// A consumer of the channel's topic for the connector `topic_prefix`.
    pub fn new(channel: &KafkaSignalChannel, topic_prefix: &str) -> Result<Self, KafkaClientError> {
        let consumer = Consumer::new(&channel.consumer)?;
        consumer.assign(&[(channel.topic.clone(), 0)])?;
        info!(topic = %channel.topic, "reading signals from Kafka");
        Ok(KafkaSignals {
            consumer,
            channel: channel.clone(),
            connector: topic_prefix.to_owned(),
            next_read: Instant::now(),
        })
    }

    /// The signals that arrived since the last read, once a read is due.
    pub async fn read(&mut self) -> Result<Vec<Signal>, KafkaClientError> {
        if Instant::now() < self.next_read {
            return Ok(Vec::new());
        }
        self.next_read = Instant::now() + self.channel.poll_interval;
        let mut signals = Vec::new();
        let connector = self.connector.as_str();
        self.consumer
            .poll_batch(
                MAX_SIGNALS,
                self.channel.poll_timeout.max(Duration::from_millis(1)),
                |m| {
                    if let Some(signal) = parse(connector, m.key, m.value) {
                        signals.push(signal);
                    }
                },
            )
            .await?;
        Ok(signals)
    }
}

/// A record of the signal topic as Debezium's `processSignal` reads it:
/// another connector's signal, an empty or malformed value are skipped.
fn parse(connector: &str, key: Option<&[u8]>, value: Option<&[u8]>) -> Option<Signal> {
    let key = key.map(String::from_utf8_lossy).unwrap_or_default();
    if key != connector {
        info!("signal key {key:?} does not match the connector's name {connector:?}");
        return None;
    }
    let value = value.filter(|v| !v.is_empty())?;
    let document: Json = match serde_json::from_slice(value) {
        Ok(d) => d,
        Err(e) => {
            warn!("a signal skipped: {e}: {}", String::from_utf8_lossy(value));
            return None;
        }
    };
    signal_of(&document)
}

/// A signal written as JSON, `{"id": …, "type": …, "data": {…}}`, as the
/// `kafka` and `file` channels carry them; `None` without a type.
pub(crate) fn signal_of(document: &Json) -> Option<Signal> {
    let text = |k: &str| document.get(k).and_then(Json::as_str).map(str::to_owned);
    Some(Signal {
        id: text("id").unwrap_or_default(),
        kind: text("type")?,
        data: document
            .get("data")
            .filter(|d| !d.is_null())
            .map(Json::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_connectors_well_formed_signals_are_read() {
        let value = br#"{"id": "s1", "type": "execute-snapshot", "data": {"data-collections": ["public.t"]}}"#;
        assert_eq!(
            parse("shop", Some(b"shop"), Some(value)),
            Some(Signal {
                id: "s1".into(),
                kind: "execute-snapshot".into(),
                data: Some(r#"{"data-collections":["public.t"]}"#.into()),
            })
        );
        assert_eq!(parse("shop", Some(b"other"), Some(value)), None);
        assert_eq!(parse("shop", None, Some(value)), None);
        assert_eq!(parse("shop", Some(b"shop"), Some(b"not json")), None);
        assert_eq!(parse("shop", Some(b"shop"), None), None);
        assert_eq!(
            parse(
                "shop",
                Some(b"shop"),
                Some(br#"{"type": "log", "data": null}"#)
            ),
            Some(Signal {
                id: String::new(),
                kind: "log".into(),
                data: None,
            })
        );
    }
}
