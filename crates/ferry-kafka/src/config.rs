//! Java client properties → librdkafka properties.

use std::collections::BTreeMap;

use ferry_security::librdkafka_security;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;

use crate::KafkaClientError;

/// Client properties as Kafka Connect users write them.
pub type ClientProps = BTreeMap<String, String>;

/// Java client settings that have no librdkafka equivalent and only
/// configure the JVM client; dropping them changes nothing for users.
const JAVA_ONLY: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "interceptor.classes",
    "partitioner.class",
    "partitioner.ignore.keys",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "auto.include.jmx.reporter",
    "default.api.timeout.ms",
    "max.poll.records",
    "max.poll.interval.ms.ignored",
    "exclude.internal.topics",
    "allow.auto.create.topics",
    "client.dns.lookup",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "security.providers",
    "enable.metrics.push",
    "retry.backoff.max.ms",
    "reconnect.backoff.max.ms",
    "connections.max.idle.ms",
    "metadata.max.idle.ms",
    "internal.leave.group.on.close",
];

/// Builds a librdkafka config from Java-style properties. `max.request.size`
/// and `buffer.memory` are mapped to their librdkafka counterparts; the
/// security settings (`sasl.jaas.config`, trust and key stores) are read as
/// Java reads them and given to librdkafka as what they mean, and one
/// librdkafka cannot honour is an error naming its key.
pub fn client_config(props: &ClientProps) -> Result<ClientConfig, KafkaClientError> {
    let security = librdkafka_security(props)?;
    let mut cfg = ClientConfig::new();
    cfg.set_log_level(RDKafkaLogLevel::Warning);
    for (k, v) in props {
        if JAVA_ONLY.contains(&k.as_str()) || k.starts_with("metrics.") || security.consumes(k) {
            continue;
        }
        match k.as_str() {
            "max.request.size" => {
                cfg.set("message.max.bytes", v);
            }
            // The same setting under Java's and librdkafka's names: the
            // librdkafka one is only ever written by a user, so it wins
            // over a default under the Java name.
            "max.partition.fetch.bytes" if props.contains_key("fetch.message.max.bytes") => {}
            "buffer.memory" => {
                if let Ok(bytes) = v.trim().parse::<u64>() {
                    cfg.set(
                        "queue.buffering.max.kbytes",
                        (bytes / 1024).max(1).to_string(),
                    );
                }
            }
            _ => {
                cfg.set(k, v);
            }
        }
    }
    for (k, v) in security.settings {
        cfg.set(k, v);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> ClientProps {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_fetch_size_under_librdkafkas_name_wins_over_one_under_javas() {
        let both = client_config(&props(&[
            ("max.partition.fetch.bytes", "262144"),
            ("fetch.message.max.bytes", "2097152"),
        ]))
        .expect("valid");
        assert_eq!(both.get("fetch.message.max.bytes"), Some("2097152"));
        assert_eq!(both.get("max.partition.fetch.bytes"), None);
        let java =
            client_config(&props(&[("max.partition.fetch.bytes", "524288")])).expect("valid");
        assert_eq!(java.get("max.partition.fetch.bytes"), Some("524288"));
    }
}
