//! The standalone offsets file in Kafka Connect's own format, so a worker
//! switching from `connect-standalone` keeps its source positions: a Java
//! serialized `java.util.HashMap<byte[], byte[]>` whose keys and values are
//! the JSON bytes also used in the offsets topic.
//!
//! Only this one object graph is read and written; anything else in the
//! file is reported as a format error rather than guessed at.

use std::collections::BTreeMap;

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum OffsetFileError {
    #[error("offsets file is not a serialized java.util.HashMap of byte arrays: {0}")]
    Format(String),
}

const MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: u32 = 0x7E_0000;
const HASHMAP_UID: u64 = 0x0507_DAC1_C316_60D1;
const BYTE_ARRAY_UID: u64 = 0xACF3_17F8_0608_54E0;

pub type RawOffsets = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Serializes as `ObjectOutputStream.writeObject(new HashMap<>(entries))`.
pub fn encode(entries: &RawOffsets) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + entries.len() * 96);
    out.extend_from_slice(&MAGIC);
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    put_utf(&mut out, "java.util.HashMap");
    out.extend_from_slice(&HASHMAP_UID.to_be_bytes());
    out.push(0x03); // SC_SERIALIZABLE | SC_WRITE_METHOD
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    put_utf(&mut out, "loadFactor");
    out.push(b'I');
    put_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL); // no serializable superclass
                       // Handles: 0 = HashMap class, 1 = the map; the byte[] class gets the next.
    let capacity = table_size(entries.len());
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&((capacity as f32 * 0.75) as i32).to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&(capacity as i32).to_be_bytes());
    out.extend_from_slice(&(entries.len() as i32).to_be_bytes());
    let mut byte_class_written = false;
    for (k, v) in entries {
        put_bytes(&mut out, Some(k), &mut byte_class_written);
        put_bytes(&mut out, v.as_deref(), &mut byte_class_written);
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

fn table_size(n: usize) -> usize {
    let mut cap = 16;
    while (cap as f32 * 0.75) < n as f32 {
        cap *= 2;
    }
    cap
}

fn put_utf(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>, class_written: &mut bool) {
    let Some(b) = b else {
        out.push(TC_NULL);
        return;
    };
    out.push(TC_ARRAY);
    if *class_written {
        out.push(TC_REFERENCE);
        out.extend_from_slice(&(BASE_HANDLE + 2).to_be_bytes());
    } else {
        out.push(TC_CLASSDESC);
        put_utf(out, "[B");
        out.extend_from_slice(&BYTE_ARRAY_UID.to_be_bytes());
        out.push(0x02); // SC_SERIALIZABLE
        out.extend_from_slice(&0u16.to_be_bytes());
        out.push(TC_ENDBLOCKDATA);
        out.push(TC_NULL);
        *class_written = true;
    }
    out.extend_from_slice(&(b.len() as i32).to_be_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    byte_class_handle: Option<u32>,
    next_handle: u32,
}

fn err(msg: impl Into<String>) -> OffsetFileError {
    OffsetFileError::Format(msg.into())
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], OffsetFileError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| err(format!("truncated at byte {}", self.pos)))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, OffsetFileError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, OffsetFileError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32, OffsetFileError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf(&mut self) -> Result<&'a str, OffsetFileError> {
        let n = self.u16()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| err("invalid class name"))
    }
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), OffsetFileError> {
        let b = self.u8()?;
        if b != byte {
            return Err(err(format!(
                "expected {what} at byte {}, found 0x{b:02x}",
                self.pos - 1
            )));
        }
        Ok(())
    }
    fn handle(&mut self) -> u32 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }

    fn bytes_or_null(&mut self) -> Result<Option<Vec<u8>>, OffsetFileError> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_ARRAY => {
                match self.u8()? {
                    TC_CLASSDESC => {
                        if self.utf()? != "[B" {
                            return Err(err("array is not a byte[]"));
                        }
                        self.take(8)?; // serialVersionUID
                        self.take(1)?; // flags
                        if self.u16()? != 0 {
                            return Err(err("byte[] class with fields"));
                        }
                        self.expect(TC_ENDBLOCKDATA, "end of class annotations")?;
                        self.expect(TC_NULL, "no superclass")?;
                        let h = self.handle();
                        self.byte_class_handle = Some(h);
                    }
                    TC_REFERENCE => {
                        let h = u32::from_be_bytes(
                            self.take(4)?.try_into().map_err(|_| err("handle"))?,
                        );
                        if Some(h) != self.byte_class_handle {
                            return Err(err("reference to a class other than byte[]"));
                        }
                    }
                    other => return Err(err(format!("unexpected array class tag 0x{other:02x}"))),
                }
                self.handle(); // the array itself
                let n = self.i32()?;
                let n = usize::try_from(n).map_err(|_| err("negative array length"))?;
                Ok(Some(self.take(n)?.to_vec()))
            }
            other => Err(err(format!(
                "unexpected tag 0x{other:02x} where a byte[] was expected"
            ))),
        }
    }
}

/// Reads what Kafka Connect's `FileOffsetBackingStore` (or `encode`) wrote.
pub fn decode(data: &[u8]) -> Result<RawOffsets, OffsetFileError> {
    let mut r = Reader {
        data,
        pos: 0,
        byte_class_handle: None,
        next_handle: BASE_HANDLE,
    };
    if r.take(4)? != MAGIC {
        return Err(err("bad stream header"));
    }
    r.expect(TC_OBJECT, "an object")?;
    r.expect(TC_CLASSDESC, "a class description")?;
    let class = r.utf()?;
    if class != "java.util.HashMap" {
        return Err(err(format!("top-level object is a {class}")));
    }
    r.take(8)?;
    r.take(1)?;
    let fields = r.u16()?;
    for _ in 0..fields {
        let code = r.u8()?;
        r.utf()?;
        if code == b'L' || code == b'[' {
            return Err(err("unexpected object field in HashMap"));
        }
    }
    r.expect(TC_ENDBLOCKDATA, "end of class annotations")?;
    r.expect(TC_NULL, "no superclass")?;
    r.handle(); // class
    r.handle(); // map
    r.take(4)?; // loadFactor
    r.take(4)?; // threshold
    r.expect(TC_BLOCKDATA, "block data")?;
    if r.u8()? != 8 {
        return Err(err("unexpected block length"));
    }
    r.i32()?; // buckets
    let size = r.i32()?;
    let size = usize::try_from(size).map_err(|_| err("negative size"))?;
    let mut out = RawOffsets::new();
    for _ in 0..size {
        let key = r.bytes_or_null()?;
        let value = r.bytes_or_null()?;
        if let Some(k) = key {
            out.insert(k, value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_maps_with_tombstones() {
        let mut m = RawOffsets::new();
        m.insert(
            br#"["a",{"filename":"x"}]"#.to_vec(),
            Some(br#"{"position":3}"#.to_vec()),
        );
        m.insert(br#"["b",{"filename":"y"}]"#.to_vec(), None);
        for n in 0..40 {
            m.insert(
                format!("[\"c{n}\",{{}}]").into_bytes(),
                Some(b"{}".to_vec()),
            );
        }
        assert_eq!(decode(&encode(&m)).unwrap(), m);
        assert_eq!(
            decode(&encode(&RawOffsets::new())).unwrap(),
            RawOffsets::new()
        );
    }

    #[test]
    fn rejects_other_files() {
        assert!(decode(b"not java").is_err());
        assert!(decode(&encode(&RawOffsets::new())[..20]).is_err());
    }
}
