//! gzip off the task's thread. Compressing is most of the CPU a JSON file
//! with `s3.compression.type=gzip` costs (about three quarters, measured
//! with `perf`), and a gzip stream is sequential; but a task writes to many
//! files at once, so each file's stream is compressed on a small pool of
//! threads, one chunk of a file at a time, while the task goes on turning
//! records into bytes. Each file keeps one encoder: its stream is one gzip
//! member, as when the task compressed it itself.

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flate2::write::GzEncoder;

use crate::buffer::{Budget, PartBuffer};

/// Raw bytes gathered before they go to the pool: small, as every open
/// file holds up to [`MAX_RAW`] plus a chunk in flight (100 files, 16 MB),
/// yet a millisecond of zlib's work, far above a hand-over's cost.
const CHUNK: usize = 32 * 1024;

/// Raw bytes a file may hold while its previous chunk is still being
/// compressed, while the worker's buffer budget has room for them; past
/// this the task waits for it. Room for a few chunks: the chunk waited for
/// can be behind every other file's in the pool's queue (twice a chunk
/// measured 38,500 records/s, four times 48,500).
const MAX_RAW: usize = 4 * CHUNK;

type Encoder = Box<GzEncoder<PartBuffer>>;
type Job = Box<dyn FnOnce() + Send>;

/// The threads that compress, one per core, started at first use; `None`
/// when none could start (files are then compressed on the task's thread).
fn pool() -> Option<&'static mpsc::Sender<Job>> {
    static POOL: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut started = 0;
        for n in 0..threads {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("ferry-s3-gzip-{n}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!("cannot start a gzip thread: {e}"),
            }
        }
        (started > 0).then_some(tx)
    })
    .as_ref()
}

/// A chunk being compressed: the encoder comes back when it is done.
type InFlight = mpsc::Receiver<io::Result<Encoder>>;

enum State {
    Idle(Encoder),
    Busy(InFlight),
    /// A chunk failed (or its thread went away): the file cannot be
    /// written any more.
    Failed(io::ErrorKind, String),
}

/// A gzip stream into a [`PartBuffer`], compressed on the pool.
pub struct GzipSink {
    raw: Vec<u8>,
    state: State,
    budget: Arc<Budget>,
    /// The part buffer's bytes in memory when last seen.
    in_memory: usize,
}

impl GzipSink {
    pub fn new(out: PartBuffer, level: u32, budget: Arc<Budget>) -> GzipSink {
        GzipSink {
            raw: Vec::new(),
            budget,
            state: State::Idle(Box::new(GzEncoder::new(
                out,
                flate2::Compression::new(level.min(9)),
            ))),
            in_memory: 0,
        }
    }

    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.raw.extend_from_slice(data);
        if self.raw.len() >= CHUNK {
            self.poll();
            if matches!(self.state, State::Busy(_))
                && self.raw.len() < MAX_RAW
                && self.budget.has_room(self.raw.len())
            {
                return Ok(());
            }
            let encoder = self.encoder()?;
            self.send(encoder)?;
        }
        Ok(())
    }

    /// Hands the gathered bytes to the pool with `encoder`.
    fn send(&mut self, mut encoder: Encoder) -> io::Result<()> {
        let chunk = std::mem::take(&mut self.raw);
        let Some(pool) = pool() else {
            encoder.write_all(&chunk)?;
            self.state = State::Idle(encoder);
            return Ok(());
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = tx.send(encoder.write_all(&chunk).map(|()| encoder));
        });
        self.state = State::Busy(rx);
        if pool.send(job).is_err() {
            self.state = State::Failed(io::ErrorKind::Other, "the gzip threads are gone".into());
        }
        Ok(())
    }

    /// Takes in a chunk that is done, without waiting.
    fn poll(&mut self) {
        if let State::Busy(rx) = &self.state {
            match rx.try_recv() {
                Ok(done) => self.settle(Ok(done)),
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => self.settle(Err(())),
            }
        }
    }

    fn settle(&mut self, done: Result<io::Result<Encoder>, ()>) {
        self.state = match done {
            Ok(Ok(encoder)) => {
                self.in_memory = encoder.get_ref().in_memory();
                State::Idle(encoder)
            }
            Ok(Err(e)) => State::Failed(e.kind(), e.to_string()),
            Err(()) => State::Failed(
                io::ErrorKind::Other,
                "a gzip thread stopped while compressing".into(),
            ),
        };
    }

    /// The encoder, once the chunk in flight is done: waits on this
    /// thread, as long as the chunks queued before it take (milliseconds;
    /// the task has nothing else to do meanwhile).
    fn encoder(&mut self) -> io::Result<Encoder> {
        if let State::Busy(rx) = &self.state {
            let done = rx.recv().map_err(|_| ());
            self.settle(done);
        }
        match std::mem::replace(
            &mut self.state,
            State::Failed(io::ErrorKind::Other, "the encoder is in use".into()),
        ) {
            State::Idle(encoder) => Ok(encoder),
            State::Failed(kind, message) => {
                self.state = State::Failed(kind, message.clone());
                Err(io::Error::new(kind, message))
            }
            State::Busy(_) => unreachable!("settled above"),
        }
    }

    /// Parts that filled up, taken without waiting for a chunk in flight
    /// (its parts come with a later call).
    pub fn take_full_parts(&mut self) -> Vec<Bytes> {
        self.poll();
        match &mut self.state {
            State::Idle(encoder) => std::mem::take(&mut encoder.get_mut().full),
            _ => Vec::new(),
        }
    }

    /// Bytes held in memory: the raw bytes gathered, the chunk in flight
    /// and the part buffer as last seen.
    pub fn in_memory(&mut self) -> usize {
        self.poll();
        let in_flight = match &self.state {
            State::Busy(_) => CHUNK,
            _ => 0,
        };
        if let State::Idle(encoder) = &self.state {
            self.in_memory = encoder.get_ref().in_memory();
        }
        self.raw.len() + in_flight + self.in_memory
    }

    /// Compresses what is left (on this thread) and ends the stream.
    pub fn finish(mut self) -> io::Result<PartBuffer> {
        let mut encoder = self.encoder()?;
        encoder.write_all(&self.raw)?;
        encoder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Budget;
    use std::io::Read;

    fn gunzip(parts: &[Bytes], last: &[u8]) -> Vec<u8> {
        let mut all: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
        all.extend_from_slice(last);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&all[..])
            .read_to_end(&mut out)
            .expect("a gzip stream");
        out
    }

    #[test]
    fn chunks_compressed_on_the_pool_make_one_stream() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"id\":{i},\"note\":\"order {}\"}}\n", i % 977).into_bytes())
            .collect();
        let budget = Budget::with_limit(usize::MAX);
        let mut sink = GzipSink::new(PartBuffer::new(100_000, budget.clone()), 6, budget);
        let mut parts = Vec::new();
        for piece in data.chunks(1000) {
            sink.write_all(piece).expect("written");
            parts.extend(sink.take_full_parts());
            assert!(sink.in_memory() > 0);
        }
        let mut out = sink.finish().expect("finished");
        parts.extend(std::mem::take(&mut out.full));
        let last = out.take_pending().expect("the last part");
        assert!(parts.len() > 1, "parts were cut while compressing");
        assert_eq!(gunzip(&parts, &last), data);
    }
}
