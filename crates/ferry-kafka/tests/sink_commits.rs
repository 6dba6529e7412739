//! A sink consumer's last commit, against the local broker: answered in
//! milliseconds, also as the other members of its group leave (the tasks of
//! a deleted connector stopping together).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_kafka::consumer::sink_consumer_defaults;
use ferry_kafka::{ClientProps, Consumer, PartitionOffset};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn consumer(group: &str) -> Consumer {
    let mut props: ClientProps = sink_consumer_defaults();
    props.insert("bootstrap.servers".into(), bootstrap());
    props.insert("group.id".into(), group.into());
    props.insert("heartbeat.interval.ms".into(), "3000".into());
    Consumer::new(&props).expect("consumer")
}

async fn produce(topic: &str, n: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("producer");
    for i in 0..n {
        let value = format!("record {i}");
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
}

/// Polls until `n` records were seen; returns the next offset per partition.
async fn read(consumer: &Consumer, n: usize) -> Vec<PartitionOffset> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = std::collections::BTreeMap::new();
    let mut seen = 0;
    while seen < n {
        assert!(Instant::now() < deadline, "saw {seen} of {n} records");
        consumer
            .poll_batch(100, Duration::from_millis(100), |m| {
                next.insert((m.topic.to_owned(), m.partition), m.offset + 1);
                seen += 1;
            })
            .await
            .expect("poll");
    }
    next.into_iter()
        .map(|((topic, partition), offset)| PartitionOffset {
            topic,
            partition,
            offset,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_commit_is_answered_at_once() {
    let topic = unique("ferry-commit");
    produce(&topic, 10).await;
    let first = consumer(&unique("ferry-commit-group"));
    first
        .subscribe(std::slice::from_ref(&topic))
        .expect("subscribe");
    let offsets = read(&first, 10).await;

    // Periodic commits are not waited for; the last one is.
    first.commit_async(&offsets).expect("commit sent");
    let started = Instant::now();
    first
        .commit_final(&offsets, Duration::from_secs(10))
        .await
        .expect("final commit");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "final commit took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_commit_as_the_other_members_leave_is_answered() {
    let topic = unique("ferry-commit-leave");
    let admin: rdkafka::admin::AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin");
    admin
        .create_topics(
            &[rdkafka::admin::NewTopic::new(
                &topic,
                3,
                rdkafka::admin::TopicReplication::Fixed(1),
            )],
            &rdkafka::admin::AdminOptions::new(),
        )
        .await
        .expect("topic");
    produce(&topic, 30).await;
    let group = unique("ferry-commit-group");
    let members: Vec<Consumer> = (0..3).map(|_| consumer(&group)).collect();
    for m in &members {
        m.subscribe(std::slice::from_ref(&topic))
            .expect("subscribe");
    }
    // Until every member holds a partition.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members
        .iter()
        .all(|m| !m.assignment().expect("assignment").is_empty())
    {
        assert!(Instant::now() < deadline, "the group never settled");
        for m in &members {
            let _ = m.poll_batch(100, Duration::from_millis(50), |_| {}).await;
        }
    }
    // The others stop (their connector was deleted) as this one commits.
    let mut members = members.into_iter();
    let first = members.next().expect("a member");
    let offsets: Vec<PartitionOffset> = first
        .assignment()
        .expect("assignment")
        .into_iter()
        .map(|(topic, partition)| PartitionOffset {
            topic,
            partition,
            offset: 1,
        })
        .collect();
    drop(members);
    let started = Instant::now();
    first
        .commit_final(&offsets, Duration::from_secs(10))
        .await
        .expect("final commit");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "final commit took {took:?}");
}
