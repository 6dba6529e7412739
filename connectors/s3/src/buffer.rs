//! Where open files' bytes wait until they make a part: in memory while
//! the worker-wide budget (`s3.buffer.max.bytes`) allows, on local disk
//! beyond it. Many open files (a fine-grained `path.format` over many
//! partitions) then cost disk, not memory: a part is read back only when
//! it is full and about to be uploaded. What a file's bytes are does not
//! depend on where they waited, so file cuts and contents stay the same.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

/// The memory all of the worker's S3 sink tasks may hold in open files'
/// buffers together.
pub struct Budget {
    limit: AtomicUsize,
    used: AtomicUsize,
}

impl Budget {
    /// The worker's budget. Its limit is the smallest any running task
    /// configured (see [`Budget::limit_to`]).
    pub fn worker() -> Arc<Budget> {
        static WORKER: OnceLock<Arc<Budget>> = OnceLock::new();
        WORKER
            .get_or_init(|| {
                Arc::new(Budget {
                    limit: AtomicUsize::new(usize::MAX),
                    used: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// A budget of its own (tests).
    pub fn with_limit(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit: AtomicUsize::new(limit),
            used: AtomicUsize::new(0),
        })
    }

    /// Lowers the limit to `limit` if it is higher.
    pub fn limit_to(&self, limit: usize) {
        self.limit.fetch_min(limit, Ordering::Relaxed);
    }

    pub(crate) fn try_charge(&self, n: usize) -> bool {
        let limit = self.limit.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used.saturating_add(n) <= limit).then_some(used + n)
            })
            .is_ok()
    }

    /// Whether `n` more bytes would fit, without charging them.
    pub(crate) fn has_room(&self, n: usize) -> bool {
        self.used().saturating_add(n) <= self.limit.load(Ordering::Relaxed)
    }

    pub(crate) fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// An object's bytes not yet uploaded, and the parts that are full.
pub struct PartBuffer {
    buf: Vec<u8>,
    /// Bytes of `buf` charged to the budget.
    charged: usize,
    /// The rest of the part being filled, once the budget was spent.
    spill: Option<File>,
    spilled: usize,
    part_size: usize,
    pub(crate) full: Vec<Bytes>,
    budget: Arc<Budget>,
}

impl PartBuffer {
    pub fn new(part_size: usize, budget: Arc<Budget>) -> PartBuffer {
        PartBuffer {
            buf: Vec::new(),
            charged: 0,
            spill: None,
            spilled: 0,
            part_size,
            full: Vec::new(),
            budget,
        }
    }

    /// Bytes of the part being filled (in memory and on disk).
    pub fn pending(&self) -> usize {
        self.buf.len() + self.spilled
    }

    /// Bytes held in memory.
    pub fn in_memory(&self) -> usize {
        self.buf.len() + self.full.iter().map(Bytes::len).sum::<usize>()
    }

    /// The part being filled, whole, as it would be uploaded.
    pub fn take_pending(&mut self) -> std::io::Result<Bytes> {
        let mut part = std::mem::take(&mut self.buf);
        self.budget.release(std::mem::take(&mut self.charged));
        if let Some(mut file) = self.spill.take() {
            // The part in order: what was in memory, then the spilled rest.
            file.seek(SeekFrom::Start(0))?;
            part.reserve(self.spilled);
            file.read_to_end(&mut part)?;
            self.spilled = 0;
        }
        Ok(Bytes::from(part))
    }
}

impl Write for PartBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = self.spill.as_mut() {
            file.write_all(data)?;
            self.spilled += data.len();
        } else if self.budget.try_charge(data.len()) {
            self.buf.extend_from_slice(data);
            self.charged += data.len();
        } else {
            let mut file = tempfile::tempfile()?;
            file.write_all(data)?;
            self.spilled = data.len();
            self.spill = Some(file);
        }
        if self.pending() >= self.part_size {
            let part = self.take_pending()?;
            self.full.push(part);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for PartBuffer {
    fn drop(&mut self) {
        self.budget.release(self.charged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_budget_bytes_wait_on_disk_and_parts_keep_their_order() {
        let budget = Budget::with_limit(10);
        let mut a = PartBuffer::new(16, budget.clone());
        let mut b = PartBuffer::new(16, budget.clone());
        a.write_all(b"0123456789").unwrap();
        assert_eq!(budget.used(), 10);
        // No room left: b's bytes go to disk.
        b.write_all(b"abcdef").unwrap();
        assert_eq!(budget.used(), 10);
        assert_eq!(b.in_memory(), 0);
        b.write_all(b"ghijklmnopq").unwrap();
        assert_eq!(b.full.len(), 1);
        assert_eq!(&b.full[0][..], b"abcdefghijklmnopq");
        // a's part: memory first, then what spilled.
        a.write_all(b"ABCDEFG").unwrap();
        assert_eq!(&a.full[0][..], b"0123456789ABCDEFG");
        assert_eq!(budget.used(), 0);
        a.write_all(b"xy").unwrap();
        assert_eq!(budget.used(), 2);
        drop(a);
        assert_eq!(budget.used(), 0);
    }
}
