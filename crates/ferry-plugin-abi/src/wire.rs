//! The byte encoding of Connect data across the boundary: primitives,
//! tags and a reader and writer for them. Every integer and float is
//! little-endian; text is UTF-8. The grammar (schemas, values, batches,
//! props) is in docs/design.md and `examples/plugin-c/ferry_plugin.h`;
//! the mapping to Ferry's types lives in `ferry-sdk`'s codec.

use std::fmt;

/// Schema types (`schema := u8 type, u8 flags, …`).
pub mod schema_type {
    pub const INT8: u8 = 1;
    pub const INT16: u8 = 2;
    pub const INT32: u8 = 3;
    pub const INT64: u8 = 4;
    pub const FLOAT32: u8 = 5;
    pub const FLOAT64: u8 = 6;
    pub const BOOLEAN: u8 = 7;
    pub const STRING: u8 = 8;
    pub const BYTES: u8 = 9;
    pub const ARRAY: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
}

/// Schema flags: which optional parts follow the type.
pub mod schema_flag {
    pub const OPTIONAL: u8 = 1;
    pub const NAME: u8 = 2;
    pub const VERSION: u8 = 4;
    pub const DOC: u8 = 8;
    pub const PARAMETERS: u8 = 16;
    pub const DEFAULT: u8 = 32;
}

/// Value tags (`value := u8 tag, payload`).
pub mod value_tag {
    pub const NULL: u8 = 0;
    pub const BOOLEAN: u8 = 1;
    pub const INT8: u8 = 2;
    pub const INT16: u8 = 3;
    pub const INT32: u8 = 4;
    pub const INT64: u8 = 5;
    pub const FLOAT32: u8 = 6;
    pub const FLOAT64: u8 = 7;
    pub const STRING: u8 = 8;
    pub const BYTES: u8 = 9;
    pub const ARRAY: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const DECIMAL: u8 = 13;
    pub const DATE: u8 = 14;
    pub const TIME: u8 = 15;
    pub const TIMESTAMP: u8 = 16;
}

/// `timestamp_type` of a sink record.
pub mod timestamp_type {
    pub const NONE: u8 = 0;
    pub const CREATE_TIME: u8 = 1;
    pub const LOG_APPEND_TIME: u8 = 2;
}

/// A schema ref meaning "no schema".
pub const NO_SCHEMA: u32 = 0;

/// A source record's partition index meaning "empty partition map".
pub const NO_PARTITION: u32 = u32::MAX;

/// A source record's `kafka_partition` meaning "let the producer choose".
pub const ANY_PARTITION: i32 = -1;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// What was wrong.
    pub message: String,
    /// The byte offset where it was found.
    pub at: usize,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed plugin data at byte {}: {}",
            self.at, self.message
        )
    }
}

impl std::error::Error for WireError {}

/// Appends encoded primitives to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `bytes` (a batch about the size of the
    /// last one is written without regrowing its buffer).
    pub fn with_capacity(bytes: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(bytes),
        }
    }

    /// A writer appending to `buf` (cleared first), to reuse its capacity.
    pub fn reusing(mut buf: Vec<u8>) -> Self {
        buf.clear();
        Writer { buf }
    }

    /// The bytes written.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// How many bytes were written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends `n` zero bytes (room to fill in later).
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Appends bytes as they are (already encoded).
    pub fn append(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    #[inline]
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    #[inline]
    pub fn i8(&mut self, v: i8) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A length or count. Lengths above `u32::MAX` cannot be encoded; the
    /// codec refuses such data before it gets here.
    #[inline]
    pub fn len_u32(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    /// `bytes := u32 length, bytes`.
    #[inline]
    pub fn bytes(&mut self, v: &[u8]) {
        self.len_u32(v.len());
        self.buf.extend_from_slice(v);
    }

    /// `str := u32 length, UTF-8 bytes`.
    #[inline]
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }

    /// Reserves a `u32` to be filled in later by [`Writer::patch_u32`]
    /// (a count not known up front); returns its position.
    pub fn placeholder_u32(&mut self) -> usize {
        let at = self.buf.len();
        self.u32(0);
        at
    }

    /// Fills in a placeholder.
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Reads encoded primitives from bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The current position.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next byte, not consumed.
    #[inline]
    pub fn peek_u8(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Whether every byte was read.
    pub fn is_at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// An error at the current position.
    pub fn error(&self, message: impl Into<String>) -> WireError {
        WireError {
            message: message.into(),
            at: self.pos,
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.is_at_end() {
            Ok(())
        } else {
            Err(self.error(format!("{} bytes left over", self.buf.len() - self.pos)))
        }
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => Err(self.short(n)),
        }
    }

    /// The error of a read past the end, out of the inlined read path.
    #[cold]
    #[inline(never)]
    fn short(&self, n: usize) -> WireError {
        self.error(format!(
            "needs {n} bytes, {} left",
            self.buf.len() - self.pos
        ))
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }
    #[inline]
    pub fn i8(&mut self) -> Result<i8, WireError> {
        Ok(i8::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn f32(&mut self) -> Result<f32, WireError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    #[inline]
    pub fn f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A count of items, each at least `min_item_size` bytes long: a count
    /// the remaining bytes cannot hold is refused before anything is
    /// allocated for it.
    #[inline]
    pub fn count(&mut self, min_item_size: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        let left = self.buf.len() - self.pos;
        if n.saturating_mul(min_item_size.max(1)) > left && min_item_size > 0 {
            return Err(self.error(format!("a count of {n} does not fit in {left} bytes")));
        }
        Ok(n)
    }

    /// `bytes := u32 length, bytes`.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// `str := u32 length, UTF-8 bytes`.
    #[inline(always)]
    pub fn str(&mut self) -> Result<&'a str, WireError> {
        let at = self.pos;
        let b = self.bytes()?;
        if b.is_ascii() {
            // SAFETY: ASCII is UTF-8. Most text is, and this check is
            // inlined where `from_utf8`'s is a call returning through memory.
            return Ok(unsafe { std::str::from_utf8_unchecked(b) });
        }
        std::str::from_utf8(b).map_err(|e| WireError {
            message: format!("text is not UTF-8: {e}"),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip() {
        let mut w = Writer::new();
        w.u8(7);
        w.i32(-2);
        w.i64(i64::MIN);
        w.f64(1.5);
        w.str("héllo");
        w.str("plain");
        let at = w.placeholder_u32();
        w.patch_u32(at, 42);
        let bytes = w.into_vec();
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(7));
        assert_eq!(r.i32(), Ok(-2));
        assert_eq!(r.i64(), Ok(i64::MIN));
        assert_eq!(r.f64(), Ok(1.5));
        assert_eq!(r.str(), Ok("héllo"));
        assert_eq!(r.str(), Ok("plain"));
        assert_eq!(r.u32(), Ok(42));
        assert!(r.finish().is_ok());
    }

    #[test]
    fn short_or_lying_input_is_an_error() {
        let mut r = Reader::new(&[5, 0, 0, 0, b'a']);
        assert!(r.str().is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.count(1).is_err(), "no room for 4 billion items");
        let mut r = Reader::new(&[2, 0, 0, 0, 0xff, 0xfe]);
        assert!(r.str().unwrap_err().message.contains("UTF-8"));
    }
}
