//! A cluster's state written by real Apache Kafka Connect 4.3 (distributed,
//! jars from Maven Central via deploy/local/connect.sh) is taken over by a
//! Ferry cluster: the connector config is picked up and its task continues
//! from the source offsets Kafka Connect committed. Then Kafka Connect takes
//! the cluster back from Ferry the same way.

use std::time::Duration;

use ferry_tests::cluster::{append_lines, Cluster, Transfer};
use ferry_tests::kafka_connect::KafkaConnect;
use ferry_tests::*;
use serde_json::json;

#[test]
fn takes_over_a_cluster_written_by_kafka_connect() {
    const FIRST: usize = 20_000;
    const THEN: usize = 30_000;
    const LAST: usize = 25_000;
    require_kafka();
    let name = unique("takeover");
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.txt");
    append_lines(&input, 0..FIRST);
    let topic = format!("{name}-lines");
    let port = free_port();

    // The same group and internal topics the Ferry workers use.
    let worker_props = dir.path().join("connect.properties");
    std::fs::write(
        &worker_props,
        distributed_properties(port, &name, &[("offset.flush.interval.ms", "500")]),
    )
    .expect("worker properties");
    let connector_props = dir.path().join("source.properties");
    std::fs::write(
        &connector_props,
        format!(
            "name=lines\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )
    .expect("connector properties");

    let mut connect = KafkaConnect::new(worker_props, port);
    connect.start(&[&connector_props]);
    let size = std::fs::metadata(&input).expect("input").len();
    let offsets_url = format!("http://127.0.0.1:{port}/connectors/lines/offsets");
    wait_for(
        "Kafka Connect to commit the offset of the whole file",
        Duration::from_secs(120),
        || {
            let (code, body) = call("GET", &offsets_url, None);
            (code == 200 && body["offsets"][0]["offset"]["position"] == json!(size)).then_some(())
        },
    );
    connect.stop();

    // Ferry takes the cluster over and continues where Kafka Connect was.
    let cluster = Cluster::start_named(&name, 2, &[]);
    cluster.wait_running("lines", 1, Duration::from_secs(60));
    let (code, config) = cluster.request(1, "GET", "/connectors/lines/config", None);
    assert_eq!(code, 200);
    assert_eq!(config["connector.class"], "FileStreamSource");
    assert_eq!(config["topic"], json!(topic));
    let (code, offsets) = cluster.request(0, "GET", "/connectors/lines/offsets", None);
    assert_eq!(code, 200);
    assert!(
        offsets["offsets"][0]["offset"]["position"].as_u64() >= Some(size),
        "Kafka Connect's offset is Ferry's: {offsets}"
    );
    append_lines(&input, FIRST..FIRST + THEN);

    let output = dir.path().join("out.txt");
    cluster.create(
        0,
        "lines-out",
        json!({
            "connector.class": "FileStreamSink",
            "file": output.to_str().expect("utf-8 path"),
            "topics": topic,
        }),
    );
    let transfer = Transfer {
        source: "lines".into(),
        sink: "lines-out".into(),
        topic,
        input,
        output,
    };
    let duplicates = transfer.wait_complete(FIRST + THEN, Duration::from_secs(300));
    println!(
        "took over from Kafka Connect: {} lines, {duplicates} duplicate(s)",
        FIRST + THEN
    );
    assert_eq!(
        duplicates, 0,
        "Ferry resumed from Kafka Connect's committed offset, so nothing is read twice"
    );

    // And back: Kafka Connect runs both connectors from what Ferry wrote
    // (configs, task configs, source offsets, sink group offsets).
    let mut cluster = cluster;
    for w in &mut cluster.workers {
        let exit = w.terminate();
        assert!(exit.success(), "ferry exit status {exit}");
    }
    append_lines(&transfer.input, FIRST + THEN..FIRST + THEN + LAST);
    connect.start(&[]);
    let duplicates = transfer.wait_complete(FIRST + THEN + LAST, Duration::from_secs(300));
    println!(
        "Kafka Connect took it back: {} lines, {duplicates} duplicate(s)",
        FIRST + THEN + LAST
    );
    assert_eq!(duplicates, 0, "Kafka Connect resumed from Ferry's offsets");
    connect.stop();
}
