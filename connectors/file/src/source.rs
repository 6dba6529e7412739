use std::io::SeekFrom;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_api::config::{ConfigDef, Importance, Key, Validator};
use ferry_api::{
    ConnectError, Connector, ConnectorContext, OffsetMap, Props, Schema, SourceRecord, SourceTask,
    SourceTaskContext, StopSignal, Value,
};
use serde_json::Value as Json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use tracing::{debug, info, warn};

pub const FILE: Key<Option<String>> = Key::new("file");
pub const TOPIC: Key<String> = Key::new("topic");
pub const BATCH_SIZE: Key<i32> = Key::new("batch.size");
const POSITION: &str = "position";
const FILENAME: &str = "filename";

fn config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define_key(FILE)
        .importance(Importance::High)
        .doc("Source filename. If not specified, the standard input will be used");
    d.define_key(TOPIC)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .doc("The topic to publish data to");
    d.define_key(BATCH_SIZE)
        .default(2000)
        .importance(Importance::Low)
        .doc("The maximum number of records the source task can read from the file each time it is polled");
    d
}

#[derive(Default)]
pub struct FileStreamSourceConnector {
    props: Props,
}

#[async_trait]
impl Connector for FileStreamSourceConnector {
    fn version(&self) -> String {
        crate::VERSION.into()
    }
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(
        &mut self,
        props: Props,
        _ctx: Arc<dyn ConnectorContext>,
    ) -> Result<(), ConnectError> {
        config_def()
            .parse(&props)
            .map_err(|e| ConnectError::config(e.message))?;
        self.props = props;
        Ok(())
    }
    /// One task: a file is read sequentially.
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>, ConnectError> {
        let mut cfg = Props::new();
        for k in [FILE.name(), TOPIC.name(), BATCH_SIZE.name()] {
            if let Some(v) = self.props.get(k) {
                cfg.insert(k.to_owned(), v.clone());
            }
        }
        Ok(vec![cfg])
    }
    async fn stop(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
}

/// How long `poll` waits for new data before returning an empty batch (the
/// worker handles pause requests and offset commits between polls; a stop
/// ends the wait at once).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Re-reads of a file that has nothing new back off from the first to the
/// second: a tailed file is picked up quickly once it grows, and a hundred
/// idle tasks cost what Kafka Connect's (one read a second each) do.
const IDLE_STEP: Duration = Duration::from_millis(50);
const IDLE_MAX_STEP: Duration = Duration::from_secs(1);
const READ_CHUNK: usize = 64 * 1024;

pub struct FileStreamSourceTask {
    topic: String,
    batch_size: usize,
    filename: Option<String>,
    partition: Arc<OffsetMap>,
    reader: Option<Box<dyn AsyncRead + Send + Unpin>>,
    /// Bytes read but not yet emitted (an incomplete last line).
    buffer: Vec<u8>,
    /// Start of `buffer` in the file.
    position: u64,
    /// Bytes of `buffer` already consumed into records.
    consumed: usize,
    /// A '\r' ended the previous line; a '\n' right after it belongs to it.
    skip_lf: bool,
    /// After a read found nothing new: when to read again, and the wait
    /// after the next empty read.
    next_read: Option<tokio::time::Instant>,
    idle_step: Duration,
    /// Fires when the task is to stop: ends a wait for more data.
    stop: StopSignal,
}

impl Default for FileStreamSourceTask {
    /// A task before `start`, which sets the topic and batch size.
    fn default() -> Self {
        FileStreamSourceTask {
            topic: String::new(),
            batch_size: 1,
            filename: None,
            partition: Arc::new(OffsetMap::new()),
            reader: None,
            buffer: Vec::new(),
            position: 0,
            consumed: 0,
            skip_lf: false,
            next_read: None,
            idle_step: IDLE_STEP,
            stop: StopSignal::new(),
        }
    }
}

impl FileStreamSourceTask {
    async fn open(&mut self) -> Result<(), ConnectError> {
        let Some(name) = self.filename.clone() else {
            self.reader = Some(Box::new(tokio::io::stdin()));
            return Ok(());
        };
        let mut file = match tokio::fs::File::open(&name).await {
            Ok(f) => f,
            // Kafka Connect waits for a missing file to appear.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                debug!(file = %name, "file does not exist yet");
                return Ok(());
            }
            Err(e) => {
                return Err(ConnectError::caused_by(
                    format!("Couldn't open file {name}"),
                    e,
                ))
            }
        };
        if self.position > 0 {
            file.seek(SeekFrom::Start(self.position))
                .await
                .map_err(|e| ConnectError::caused_by(format!("Couldn't seek in file {name}"), e))?;
            info!(file = %name, position = self.position, "resuming from committed offset");
        }
        self.reader = Some(Box::new(file));
        Ok(())
    }

    /// Emits complete lines from the buffer, up to the batch size.
    fn extract_lines(&mut self, out: &mut Vec<SourceRecord>) -> Result<(), ConnectError> {
        while out.len() < self.batch_size {
            let rest = &self.buffer[self.consumed..];
            if self.skip_lf {
                if rest.is_empty() {
                    return Ok(());
                }
                if rest[0] == b'\n' {
                    self.consumed += 1;
                }
                self.skip_lf = false;
                continue;
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', rest) else {
                return Ok(());
            };
            // Valid UTF-8 is the norm; only invalid bytes take the lossy path.
            let line = match String::from_utf8(rest[..end].to_vec()) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            self.skip_lf = rest[end] == b'\r';
            self.consumed += end + 1;
            // A "\r\n" whose "\n" is already here is consumed with its line.
            if self.skip_lf && self.buffer.get(self.consumed) == Some(&b'\n') {
                self.consumed += 1;
                self.skip_lf = false;
            }
            let line_end = self.position + self.consumed as u64;
            out.push(self.record(line, line_end));
        }
        Ok(())
    }

    fn record(&self, line: String, line_end: u64) -> SourceRecord {
        let offset = if self.filename.is_some() {
            let mut o = OffsetMap::new();
            o.insert(POSITION.into(), Json::from(line_end));
            o
        } else {
            OffsetMap::new()
        };
        SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            Some(Schema::string()),
            Value::String(line),
        )
    }

    /// Drops consumed bytes so the buffer does not grow with the file.
    fn compact(&mut self) {
        if self.consumed > 0 {
            self.buffer.drain(..self.consumed);
            self.position += self.consumed as u64;
            self.consumed = 0;
        }
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(
        &mut self,
        props: Props,
        context: SourceTaskContext,
    ) -> Result<(), ConnectError> {
        let cfg = config_def()
            .parse(&props)
            .map_err(|e| ConnectError::config(e.message))?;
        self.topic = cfg.get(TOPIC);
        self.batch_size = cfg.get(BATCH_SIZE).max(1) as usize;
        self.filename = cfg.get(FILE).filter(|f| !f.is_empty());
        if let Some(name) = &self.filename {
            let mut p = OffsetMap::new();
            p.insert(FILENAME.into(), Json::String(name.clone()));
            if let Some(offset) = context.offset_storage_reader().offset(&p) {
                match offset.get(POSITION).and_then(Json::as_u64) {
                    Some(pos) => self.position = pos,
                    None => {
                        return Err(ConnectError::other(format!(
                            "Offset position is the incorrect type: {:?}",
                            offset.get(POSITION)
                        )))
                    }
                }
            }
            self.partition = Arc::new(p);
        }
        self.stop = context.stop_signal().clone();
        self.open().await
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>, ConnectError> {
        let mut records = Vec::new();
        let deadline = tokio::time::Instant::now() + IDLE_POLL;
        loop {
            self.extract_lines(&mut records)?;
            if records.len() >= self.batch_size {
                break;
            }
            if let Some(at) = self.next_read {
                // The last read found nothing: return what we have, or wait
                // for the next read within this poll's deadline.
                if !records.is_empty() {
                    break;
                }
                // A stop ends the wait at once.
                let waited = self
                    .stop
                    .unless_stopped(tokio::time::sleep_until(at.min(deadline)))
                    .await;
                if waited.is_none() || at > deadline {
                    break;
                }
            }
            if self.reader.is_none() {
                self.open().await?;
            }
            self.compact();
            let n = match self.reader.as_mut() {
                Some(reader) => {
                    // Reads into spare capacity: no zero-filling per chunk.
                    self.buffer.reserve(READ_CHUNK);
                    // Standard input may block until a line is typed.
                    match self
                        .stop
                        .unless_stopped(reader.read_buf(&mut self.buffer))
                        .await
                    {
                        Some(read) => read.map_err(|e| {
                            ConnectError::caused_by("Error while reading from file", e)
                        })?,
                        None => break,
                    }
                }
                None => 0,
            };
            if n == 0 {
                self.next_read = Some(tokio::time::Instant::now() + self.idle_step);
                self.idle_step = (self.idle_step * 2).min(IDLE_MAX_STEP);
            } else {
                self.next_read = None;
                self.idle_step = IDLE_STEP;
            }
        }
        Ok(records)
    }

    /// Committed offsets are all this task needs: records are not kept
    /// for `commit_record`.
    fn wants_commit_record(&self) -> bool {
        false
    }

    async fn stop(&mut self) -> Result<(), ConnectError> {
        if self.reader.take().is_some() {
            debug!(file = ?self.filename, "closed source file");
        }
        if !self.buffer.is_empty() && self.consumed < self.buffer.len() {
            warn!(file = ?self.filename, bytes = self.buffer.len() - self.consumed, "stopping with an unterminated last line");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use ferry_api::testkit::{offset_map, props, SourceHarness};
    use serde_json::json;

    use super::*;

    fn task_props(file: &std::path::Path) -> Props {
        let file = file.to_str().expect("utf-8 path");
        props(&[("file", file), ("topic", "t"), ("batch.size", "3")])
    }

    fn lines(records: &[SourceRecord]) -> Vec<&str> {
        records.iter().filter_map(|r| r.value.as_str()).collect()
    }

    fn positions(records: &[SourceRecord]) -> Vec<u64> {
        records
            .iter()
            .filter_map(|r| r.source_offset[POSITION].as_u64())
            .collect()
    }

    #[tokio::test]
    async fn reads_lines_with_any_terminator_and_reports_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, b"a\r\nbb\rccc\ndddd\npartial").unwrap();
        let mut source = SourceHarness::new(FileStreamSourceTask::default());
        source.start(task_props(&path)).await.unwrap();
        let first = source.poll().await.unwrap();
        assert_eq!(lines(&first), ["a", "bb", "ccc"]);
        assert_eq!(positions(&first), [3, 6, 10]);
        assert_eq!(first[0].topic, "t");
        let second = source.poll().await.unwrap();
        assert_eq!(positions(&second), [15]);
        // The unterminated line is held back until it is complete.
        assert!(source.poll().await.unwrap().is_empty());
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b" line\n")
            .unwrap();
        let third = source.poll().await.unwrap();
        assert_eq!(lines(&third), ["partial line"]);
        assert_eq!(positions(&third), [28]);
        source.stop().await.unwrap();
    }

    #[tokio::test]
    async fn a_restarted_task_resumes_after_the_committed_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, b"one\ntwo\nthree\nfour\n").unwrap();
        let mut first = SourceHarness::new(FileStreamSourceTask::default());
        first.start(task_props(&path)).await.unwrap();
        let records = first.poll().await.unwrap();
        // Only the first two reached Kafka before the task stopped.
        first.acknowledge(&records[..2]).await.unwrap();
        first.commit_offsets().await.unwrap();
        first.stop().await.unwrap();
        let partition = offset_map(json!({ FILENAME: path.to_str() }));
        assert_eq!(
            first.committed_offset(&partition),
            Some(offset_map(json!({ POSITION: 8 })))
        );

        let mut second =
            SourceHarness::with_offsets(FileStreamSourceTask::default(), first.offsets().clone());
        second.start(task_props(&path)).await.unwrap();
        let rest = second
            .poll_records(2, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(lines(&rest), ["three", "four"]);
        second.stop().await.unwrap();
    }

    #[tokio::test]
    async fn an_idle_poll_returns_at_once_when_the_task_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        std::fs::write(&path, b"").unwrap();
        // Well under the idle wait of a poll.
        let mut source = SourceHarness::new(FileStreamSourceTask::default()).timeout(IDLE_POLL / 5);
        source.start(task_props(&path)).await.unwrap();
        source.stop_signal().stop();
        assert!(source.poll().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_missing_file_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.txt");
        let mut source = SourceHarness::new(FileStreamSourceTask::default());
        source.start(task_props(&path)).await.unwrap();
        assert!(source.poll().await.unwrap().is_empty());
        std::fs::write(&path, b"here\n").unwrap();
        let records = source
            .poll_records(1, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(lines(&records), ["here"]);
    }
}
