//! Distributed mode on loopback: several `ferry distributed` workers in one
//! group on the real broker share connectors and tasks, agree on every
//! answer, forward writes to the leader, refuse unsigned internal requests,
//! and lose nothing when workers are killed, stopped or restarted.

use std::time::{Duration, Instant};

use ferry_tests::cluster::{append_lines, from_every_worker, Cluster, Transfer};
use ferry_tests::*;
use serde_json::{json, Value};

/// Session timeout and scheduled rebalance delay the test workers use.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
const MAX_DELAY: Duration = Duration::from_secs(3);

fn workers_of(status: &Value) -> Vec<String> {
    let mut ids: Vec<String> = std::iter::once(&status["connector"])
        .chain(status["tasks"].as_array().into_iter().flatten())
        .filter_map(|v| v["worker_id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn three_workers_spread_work_and_answer_alike() {
    let cluster = Cluster::start(3, &[]);
    let name = unique("gen");
    let topic = unique("gen-topic");
    // Created through a follower or the leader alike.
    cluster.create(
        2,
        &name,
        json!({
            "connector.class": "DatagenConnector",
            "kafka.topic": topic,
            "quickstart": "users",
            "tasks.max": "6",
            "max.interval": "50",
        }),
    );
    let status = cluster.wait_running(&name, 6, Duration::from_secs(60));
    let used = workers_of(&status);
    assert_eq!(
        used.len(),
        3,
        "connector and tasks spread over all three workers: {status}"
    );

    // Every worker gives the same answers.
    for path in [
        "/connectors".to_owned(),
        format!("/connectors/{name}"),
        format!("/connectors/{name}/config"),
        format!("/connectors/{name}/tasks"),
        format!("/connectors/{name}/status"),
        format!("/connectors/{name}/tasks/3/status"),
        "/connector-plugins".to_owned(),
    ] {
        let answers = from_every_worker(&cluster, &path);
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "{path} differs between workers: {answers:?}"
        );
        assert_eq!(answers[0].0, 200, "{path}: {answers:?}");
    }

    // Pause and resume through different workers reach every task.
    let (code, _) = cluster.request(1, "PUT", &format!("/connectors/{name}/pause"), None);
    assert_eq!(code, 202);
    wait_for("every task PAUSED", Duration::from_secs(30), || {
        let s = cluster.status(0, &name)?;
        let t = s["tasks"].as_array()?;
        (t.len() == 6 && t.iter().all(|t| t["state"] == "PAUSED")).then_some(())
    });
    let (code, _) = cluster.request(2, "PUT", &format!("/connectors/{name}/resume"), None);
    assert_eq!(code, 202);
    cluster.wait_running(&name, 6, Duration::from_secs(30));

    // A task restart sent to any worker reaches the worker running it.
    for via in 0..3 {
        let (code, body) = cluster.request(
            via,
            "POST",
            &format!("/connectors/{name}/tasks/{via}/restart"),
            None,
        );
        assert_eq!(code, 204, "restart through worker {via}: {body}");
    }
    let (code, plan) = cluster.request(
        1,
        "POST",
        &format!("/connectors/{name}/restart?includeTasks=true"),
        None,
    );
    assert_eq!(code, 202, "{plan}");
    assert_eq!(plan["connector"]["state"], "RESTARTING");
    cluster.wait_running(&name, 6, Duration::from_secs(60));

    // Internal requests must carry the session key's signature.
    let tasks_url = cluster.workers[0].url(&format!("/connectors/{name}/tasks"));
    let (code, body) = call("POST", &tasks_url, Some(&json!([{"task.class": "x"}])));
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "Internal request missing required signature"
    );
    let client = reqwest::blocking::Client::new();
    let resp = client
        .post(&tasks_url)
        .header("Content-Type", "application/json")
        .header("X-Connect-Authorization", "bm90IGEgbWFj")
        .header("X-Connect-Request-Signature-Algorithm", "HmacSHA256")
        .body(r#"[{"task.class":"x"}]"#)
        .send()
        .expect("internal request");
    assert_eq!(resp.status().as_u16(), 403);
    assert!(resp
        .text()
        .unwrap_or_default()
        .contains("Internal request contained invalid signature."));

    // A sink's tasks share the topic's partitions through its consumer
    // group: every record arrives, and not once per task.
    let lines = unique("lines");
    create_topic(&lines, 6);
    let values: Vec<String> = (0..3000).map(|i| format!("shared {i}")).collect();
    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    produce(&lines, &refs);
    let out = cluster.path("shared.txt");
    let sink = unique("shared-sink");
    cluster.create(
        1,
        &sink,
        json!({
            "connector.class": "FileStreamSink",
            "file": out.to_str().expect("utf-8 path"),
            "topics": lines,
            "tasks.max": "3",
        }),
    );
    let status = cluster.wait_running(&sink, 3, Duration::from_secs(60));
    assert!(
        workers_of(&status).len() >= 2,
        "sink tasks spread: {status}"
    );
    wait_for(
        "every record in the sink's file",
        Duration::from_secs(60),
        || (read_lines(&out).len() >= values.len()).then_some(()),
    );
    let got = read_lines(&out);
    let distinct: std::collections::BTreeSet<&String> = got.iter().collect();
    let want: std::collections::BTreeSet<&String> = values.iter().collect();
    assert_eq!(distinct, want, "every record, nothing else");
    assert!(
        got.len() < 2 * values.len(),
        "{} lines for {} records: tasks did not share the partitions",
        got.len(),
        values.len()
    );
    println!(
        "sink with 3 tasks: {} records, {} redelivered while the group formed",
        values.len(),
        got.len() - values.len()
    );

    // Deleting through a follower removes it everywhere.
    let (code, _) = cluster.request(2, "DELETE", &format!("/connectors/{name}"), None);
    assert_eq!(code, 204);
    wait_for(
        "the connector gone from every worker",
        Duration::from_secs(30),
        || {
            from_every_worker(&cluster, &format!("/connectors/{name}"))
                .iter()
                .all(|(c, _)| *c == 404)
                .then_some(())
        },
    );
}

#[test]
fn killed_worker_loses_nothing_and_its_tasks_move() {
    const N: usize = 1_000_000;
    let mut cluster = Cluster::start(3, &[]);
    let t = Transfer::start(&cluster, 1, N);
    let status = cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    wait_for("the transfer under way", Duration::from_secs(120), || {
        (t.output_lines() >= N / 5).then_some(())
    });

    // Kill the worker running the source task, mid-transfer.
    let owner = status["tasks"][0]["worker_id"]
        .as_str()
        .expect("task owner")
        .to_owned();
    let victim = cluster.index_of(&owner);
    let killed_at = Instant::now();
    cluster.workers[victim].kill();
    let moved = cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    let took = killed_at.elapsed();
    assert_ne!(
        moved["tasks"][0]["worker_id"].as_str(),
        Some(owner.as_str())
    );
    println!("source task running again {took:?} after SIGKILL of its worker");
    assert!(
        took <= SESSION_TIMEOUT + MAX_DELAY + Duration::from_secs(10),
        "took {took:?}, more than session timeout + delay"
    );
    cluster.wait_running(&t.sink, 1, Duration::from_secs(60));

    let duplicates = t.wait_complete(N, Duration::from_secs(600));
    println!("SIGKILL during {N} records: all delivered, {duplicates} duplicate(s) from after the last commit");
}

#[test]
fn graceful_stop_moves_work_at_once() {
    const N: usize = 200_000;
    let mut cluster = Cluster::start(3, &[]);
    let t = Transfer::start(&cluster, 0, N);
    let status = cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    let owner = status["tasks"][0]["worker_id"]
        .as_str()
        .expect("task owner")
        .to_owned();
    let leaving = cluster.index_of(&owner);
    let stopped_at = Instant::now();
    let exit = cluster.workers[leaving].terminate();
    assert!(exit.success(), "worker exit status {exit}");
    let moved = cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    let took = stopped_at.elapsed();
    println!("source task running elsewhere {took:?} after SIGTERM of its worker");
    assert_ne!(
        moved["tasks"][0]["worker_id"].as_str(),
        Some(owner.as_str())
    );
    assert!(
        took < SESSION_TIMEOUT,
        "a graceful stop should move work at once, not after the session timeout ({took:?})"
    );
    let duplicates = t.wait_complete(N, Duration::from_secs(300));
    println!("graceful stop during {N} records: {duplicates} duplicate(s)");
}

#[test]
fn rolling_restarts_lose_nothing() {
    const CHUNK: usize = 30_000;
    const RESTARTS: usize = 10;
    let mut cluster = Cluster::start(3, &[]);
    let t = Transfer::start(&cluster, 0, CHUNK);
    cluster.wait_running(&t.source, 1, Duration::from_secs(60));
    for r in 0..RESTARTS {
        // More input arrives while each worker in turn is restarted.
        append_lines(&t.input, CHUNK * (r + 1)..CHUNK * (r + 2));
        let i = r % cluster.workers.len();
        let exit = cluster.workers[i].terminate();
        assert!(exit.success(), "restart {r}: worker {i} exit status {exit}");
        cluster.workers[i].start(&[]);
        cluster.wait_healthy(i);
    }
    let n = CHUNK * (RESTARTS + 1);
    let duplicates = t.wait_complete(n, Duration::from_secs(600));
    println!("{RESTARTS} rolling restarts during {n} records: {duplicates} duplicate(s)");
}
