//! Debezium's `file` signal channel: signals as lines of JSON,
//! `{"id": …, "type": …, "data": {…}}`, in `signal.file`. Every
//! `signal.poll.interval.ms` the file is read whole and emptied, and its
//! signals acted on, as Debezium's `FileSignalChannel` reads it; a line
//! that is not a signal is skipped with a warning.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tracing::{info, warn};

use crate::incremental::Signal;
use crate::kafka_signals::signal_of;

/// The signal file and when it is read next.
pub struct FileSignals {
    path: PathBuf,
    poll_interval: Duration,
    next_read: Instant,
}

impl FileSignals {
    pub fn new(path: PathBuf, poll_interval: Duration) -> Self {
        // Debezium's caution: whoever may configure connectors may have
        // any file the worker can write read and emptied.
        info!(
            file = %path.display(),
            "reading signals from a file; protect the REST API and restrict the worker's file permissions"
        );
        FileSignals {
            path,
            poll_interval,
            next_read: Instant::now(),
        }
    }

    /// The signals written since the last read, once a read is due. The
    /// file is emptied once read; a missing file holds no signals.
    pub fn read(&mut self) -> Result<Vec<Signal>, std::io::Error> {
        if Instant::now() < self.next_read {
            return Ok(Vec::new());
        }
        self.next_read = Instant::now() + self.poll_interval;
        if !self.path.is_file() {
            return Ok(Vec::new());
        }
        // Bytes, not text: a file that is not UTF-8 is still emptied, its
        // lines skipped, instead of failing every read.
        let bytes = std::fs::read(&self.path)?;
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        std::fs::File::create(&self.path)?;
        Ok(parse_lines(&String::from_utf8_lossy(&bytes)))
    }
}

fn parse_lines(text: &str) -> Vec<Signal> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let signal = serde_json::from_str::<Json>(line)
                .ok()
                .and_then(|d| signal_of(&d));
            if signal.is_none() {
                warn!("a signal line skipped, not a signal: {line}");
            }
            signal
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_signals_and_the_file_is_emptied() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("signals.txt");
        let mut channel = FileSignals::new(path.clone(), Duration::ZERO);
        assert!(channel.read().expect("no file").is_empty());
        std::fs::write(
            &path,
            "{\"id\": \"s1\", \"type\": \"execute-snapshot\", \"data\": {\"data-collections\": [\"public.a\"]}}\n\
             \n\
             not json\n\
             {\"id\": \"s2\", \"type\": \"log\", \"data\": {\"message\": \"hi\"}}\n",
        )
        .expect("write");
        let signals = channel.read().expect("read");
        let kinds: Vec<(&str, &str)> = signals
            .iter()
            .map(|s| (s.id.as_str(), s.kind.as_str()))
            .collect();
        assert_eq!(kinds, [("s1", "execute-snapshot"), ("s2", "log")]);
        assert_eq!(
            signals[0].data.as_deref(),
            Some("{\"data-collections\":[\"public.a\"]}")
        );
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "");
        assert!(channel.read().expect("read").is_empty());
    }
}
