//! File → topic → file through a real broker: complete and in order, and
//! nothing lost when the worker is killed with SIGKILL mid-stream.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ferry_tests::*;

const LINES: usize = 100_000;

fn line(i: usize) -> String {
    format!("line {i:08} of the round trip, padded to look like a log line")
}

fn append_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("input file"),
    );
    for i in range {
        writeln!(f, "{}", line(i)).expect("write line");
    }
    f.flush().expect("flush input");
}

fn connectors(dir: &Path, topic: &str, input: &Path, output: &Path) -> Vec<std::path::PathBuf> {
    vec![
        write_connector(
            dir,
            "lines-in",
            &[
                ("connector.class", "FileStreamSource"),
                ("file", input.to_str().expect("utf-8 path")),
                ("topic", topic),
            ],
        ),
        write_connector(
            dir,
            "lines-out",
            &[
                (
                    "connector.class",
                    "org.apache.kafka.connect.file.FileStreamSinkConnector",
                ),
                ("file", output.to_str().expect("utf-8 path")),
                ("topics", topic),
            ],
        ),
    ]
}

#[test]
fn hundred_thousand_lines_arrive_complete_and_in_order() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    // Not created beforehand: the sink subscribes before the source's first
    // record makes the broker create it (one partition keeps the order).
    let topic = unique("roundtrip");
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    append_lines(&input, 0..LINES);
    let mut worker = Worker::new(dir.path(), &[]);
    worker.start(&connectors(dir.path(), &topic, &input, &output));

    wait_for(
        "every line in the output file",
        Duration::from_secs(180),
        || (read_lines(&output).len() >= LINES).then_some(()),
    );
    let got = read_lines(&output);
    assert_eq!(got.len(), LINES, "no duplicates without failures");
    for (i, l) in got.iter().enumerate() {
        assert_eq!(l, &line(i), "line {i} out of order or altered");
    }
    let status = worker.terminate();
    assert!(
        status.success(),
        "clean exit on SIGTERM, got {status}; log:\n{}",
        worker.log_text()
    );
}

#[test]
fn sigkill_mid_stream_loses_no_line() {
    require_kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = unique("killed");
    create_topic(&topic, 1);
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    let half = LINES / 2;
    append_lines(&input, 0..half);
    let files = connectors(dir.path(), &topic, &input, &output);
    let mut worker = Worker::new(dir.path(), &[("offset.flush.interval.ms", "200")]);
    worker.start(&files);

    // Kill while both connectors are mid-stream: the sink has written some
    // lines and the source still has half of the file to read.
    wait_for(
        "the sink to write its first lines",
        Duration::from_secs(120),
        || (read_lines(&output).len() >= 10_000).then_some(()),
    );
    worker.kill();
    let at_kill = read_lines(&output).len();
    append_lines(&input, half..LINES);
    worker.start(&files);

    let expected: HashSet<String> = (0..LINES).map(line).collect();
    wait_for(
        "every line after the restart",
        Duration::from_secs(180),
        || {
            let got: HashSet<String> = read_lines(&output).into_iter().collect();
            (got.len() >= expected.len()).then_some(())
        },
    );
    let got = read_lines(&output);
    let distinct: HashSet<&String> = got.iter().collect();
    assert!(
        expected.iter().all(|l| distinct.contains(l)),
        "lines were lost after SIGKILL"
    );
    assert_eq!(distinct.len(), LINES, "no unexpected lines");
    // First occurrences keep the file's order.
    let mut seen = HashSet::new();
    let firsts: Vec<&String> = got.iter().filter(|l| seen.insert(*l)).collect();
    assert!(
        firsts.windows(2).all(|w| w[0] < w[1]),
        "first occurrences out of order"
    );
    let duplicates = got.len() - LINES;
    println!(
        "SIGKILL after {at_kill} lines written: {LINES} lines delivered, {duplicates} duplicates (redelivered after the last offset commit)"
    );
    assert!(
        duplicates < LINES,
        "duplicates are bounded by uncommitted work"
    );
    worker.terminate();
}
