//! Tasks sharing a producer, against the local broker: each handle hears
//! only its own delivery reports, flushes only its own records, and the
//! librdkafka producer closes with its last handle.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferry_kafka::{ClientProps, Delivered, DeliveryListener, OutgoingRecord, ProducerPool};
use rdkafka::error::KafkaError;

fn bootstrap() -> String {
    std::env::var("FERRY_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn unique_topic() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "ferry-pool-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

/// A delivery report: the record's sequence number and where it landed.
type Report = (usize, Result<(i32, i64), KafkaError>);

#[derive(Default)]
struct Reports(Mutex<Vec<Report>>);

impl DeliveryListener for Reports {
    fn delivered(&self, seq: usize, result: Result<Delivered<'_>, KafkaError>) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((seq, result.map(|d| (d.partition, d.offset))));
    }
}

impl Reports {
    fn seqs(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(seq, r)| {
                assert!(r.is_ok(), "delivery failed: {r:?}");
                *seq
            })
            .collect();
        s.sort_unstable();
        s
    }
}

fn props() -> ClientProps {
    [
        ("bootstrap.servers".to_owned(), bootstrap()),
        ("linger.ms".to_owned(), "5".to_owned()),
    ]
    .into_iter()
    .collect()
}

async fn send(producer: &ferry_kafka::Producer, topic: &str, seqs: std::ops::Range<usize>) {
    for seq in seqs {
        let value = format!("record {seq}");
        let record = OutgoingRecord {
            topic,
            partition: Some(0),
            key: None,
            value: Some(value.as_bytes()),
            headers: &[],
            timestamp: None,
        };
        producer.send(&record, seq).await.expect("send");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_share_one_producer_and_hear_only_their_own_reports() {
    let topic = unique_topic();
    let pool = ProducerPool::new();
    let (a_reports, b_reports) = (Arc::new(Reports::default()), Arc::new(Reports::default()));
    let a = pool
        .producer(&props(), a_reports.clone())
        .expect("handle a");
    let b = pool
        .producer(&props(), b_reports.clone())
        .expect("handle b");
    assert_eq!(pool.open_producers(), 1, "equal settings share a producer");

    send(&a, &topic, 0..500).await;
    send(&b, &topic, 1_000_000..1_000_300).await;
    a.flush(Duration::from_secs(30)).await.expect("flush a");
    b.flush(Duration::from_secs(30)).await.expect("flush b");
    assert_eq!(a.in_flight(), 0);
    assert_eq!(a_reports.seqs(), (0..500).collect::<Vec<_>>());
    assert_eq!(b_reports.seqs(), (1_000_000..1_000_300).collect::<Vec<_>>());

    // Other settings, another producer.
    let mut other = props();
    other.insert("client.id".into(), "ferry-pool-test-other".into());
    let c = pool
        .producer(&other, Arc::new(Reports::default()))
        .expect("handle c");
    assert_eq!(pool.open_producers(), 2);

    // A new handle may reuse a closed one's slot, and only its own reports
    // reach it.
    drop(a);
    assert_eq!(pool.open_producers(), 2, "b still uses the first producer");
    let d_reports = Arc::new(Reports::default());
    let d = pool
        .producer(&props(), d_reports.clone())
        .expect("handle d");
    send(&d, &topic, 7..9).await;
    d.flush(Duration::from_secs(30)).await.expect("flush d");
    assert_eq!(d_reports.seqs(), vec![7, 8]);
    assert_eq!(
        a_reports.seqs().len(),
        500,
        "no report reached a closed handle"
    );

    drop((b, d));
    assert_eq!(
        pool.open_producers(),
        1,
        "the first producer closed with its last handle"
    );
    drop(c);
    assert_eq!(pool.open_producers(), 0);
}
