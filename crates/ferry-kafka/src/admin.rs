//! Topic creation, cluster metadata and consumer-group offsets.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::config::{client_config, ClientProps};
use crate::error::KafkaClientError;
use crate::PartitionOffset;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A topic to create. `partitions` / `replication_factor` of -1 take the
/// broker's defaults, as in Kafka Connect.
#[derive(Debug, Clone)]
pub struct NewTopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: Vec<(String, String)>,
}

impl NewTopicSpec {
    /// A compacted topic, as Kafka Connect's internal topics are.
    pub fn compacted(name: &str, partitions: i32, replication_factor: i32) -> Self {
        NewTopicSpec {
            name: name.to_owned(),
            partitions,
            replication_factor,
            configs: vec![("cleanup.policy".into(), "compact".into())],
        }
    }
}

pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    props: ClientProps,
}

/// Remembers the last error that retrying cannot mend (the broker refused
/// the credentials, or the TLS handshake failed), so a caller waiting for
/// the cluster gives up with its cause instead of at a timeout.
#[derive(Default)]
struct ProbeContext {
    refused: Mutex<Option<String>>,
}

impl ClientContext for ProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if matches!(
            code,
            Some(
                RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::SSL
            )
        ) {
            if let Ok(mut refused) = self.refused.lock() {
                *refused = Some(reason.to_owned());
            }
        }
        DefaultClientContext.error(error, reason);
    }
}

impl ProducerContext for ProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

impl ProbeContext {
    fn refused(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }
}

impl Admin {
    pub fn new(props: &ClientProps) -> Result<Self, KafkaClientError> {
        let client = client_config(props)?
            .create()
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        Ok(Admin {
            client,
            props: props.clone(),
        })
    }

    /// Creates the topics that do not exist yet; returns the names created.
    pub async fn create_topics(
        &self,
        specs: &[NewTopicSpec],
    ) -> Result<Vec<String>, KafkaClientError> {
        let topics: Vec<NewTopic<'_>> = specs
            .iter()
            .map(|s| {
                let mut t = NewTopic::new(
                    &s.name,
                    s.partitions,
                    TopicReplication::Fixed(s.replication_factor),
                );
                for (k, v) in &s.configs {
                    t = t.set(k, v);
                }
                t
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self.client.create_topics(topics.iter(), &opts).await?;
        let mut created = Vec::new();
        for r in results {
            match r {
                Ok(name) => created.push(name),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(KafkaClientError::Other(format!(
                        "could not create topic {name}: {code}"
                    )))
                }
            }
        }
        Ok(created)
    }

    /// The cluster id the brokers report.
    /// The cluster's id: the first answer from the cluster. A refused
    /// login or TLS handshake ends the wait at once, with its cause.
    ///
    /// Asked through a short-lived producer of the same settings: the
    /// admin client's main queue, where librdkafka reports such errors, is
    /// not polled, and a producer's is.
    pub async fn cluster_id(&self) -> Result<String, KafkaClientError> {
        let probe: BaseProducer<ProbeContext> = client_config(&self.props)?
            .create_with_context(ProbeContext::default())
            .map_err(|e| KafkaClientError::Config(e.to_string()))?;
        let deadline = Instant::now() + TIMEOUT;
        tokio::task::block_in_place(|| loop {
            if let Some(id) = probe.client().fetch_cluster_id(Duration::from_millis(500)) {
                return Ok(id);
            }
            probe.poll(Duration::ZERO);
            if let Some(reason) = probe.context().refused() {
                return Err(KafkaClientError::Refused(reason));
            }
            if Instant::now() >= deadline {
                return Err(KafkaClientError::Timeout(TIMEOUT, "the Kafka cluster id"));
            }
        })
    }

    /// Partition ids of `topic`, empty if it does not exist.
    pub fn partitions(&self, topic: &str) -> Result<Vec<i32>, KafkaClientError> {
        let md = tokio::task::block_in_place(|| {
            self.client.inner().fetch_metadata(Some(topic), TIMEOUT)
        })?;
        Ok(md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect())
    }

    /// All topic names in the cluster.
    pub fn topic_names(&self) -> Result<Vec<String>, KafkaClientError> {
        let md = tokio::task::block_in_place(|| self.client.inner().fetch_metadata(None, TIMEOUT))?;
        Ok(md.topics().iter().map(|t| t.name().to_owned()).collect())
    }

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer, KafkaClientError> {
        let mut props = self.props.clone();
        props.insert("group.id".into(), group.into());
        props.insert("enable.auto.commit".into(), "false".into());
        client_config(&props)?
            .create()
            .map_err(|e| KafkaClientError::Config(e.to_string()))
    }

    /// The group's committed offsets for `partitions` ("next offset").
    pub fn committed_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<PartitionOffset>, KafkaClientError> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let consumer = self.group_consumer(group)?;
        let mut tpl = TopicPartitionList::new();
        for (t, p) in partitions {
            tpl.add_partition(t, *p);
        }
        let got = tokio::task::block_in_place(|| consumer.committed_offsets(tpl, TIMEOUT))?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(PartitionOffset {
                    topic: e.topic().to_owned(),
                    partition: e.partition(),
                    offset: o,
                }),
                _ => None,
            })
            .collect())
    }

    /// Sets a group's committed offsets; the group must have no active
    /// members, which holds for a stopped connector.
    pub fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[PartitionOffset],
    ) -> Result<(), KafkaClientError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let consumer = self.group_consumer(group)?;
        let mut tpl = TopicPartitionList::new();
        for o in offsets {
            tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))?;
        }
        tokio::task::block_in_place(|| consumer.commit(&tpl, CommitMode::Sync))?;
        Ok(())
    }

    /// Deletes a consumer group (a full offset reset for a sink connector).
    pub async fn delete_group(&self, group: &str) -> Result<(), KafkaClientError> {
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let results = self.client.delete_groups(&[group], &opts).await?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((g, code)) => {
                    return Err(KafkaClientError::Other(format!(
                        "could not delete group {g}: {code}"
                    )))
                }
            }
        }
        Ok(())
    }
}
