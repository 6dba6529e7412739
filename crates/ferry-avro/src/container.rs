//! Avro object container files, as Avro's `DataFileWriter` writes them:
//! the header (magic, `avro.schema` and `avro.codec` metadata, sync
//! marker), then blocks of records cut at 64,000 bytes, each compressed
//! by the codec and followed by the sync marker.

use std::io::Write;

use crate::encode::{bytes, long};
use crate::AvroError;

/// `DataFileConstants.DEFAULT_SYNC_INTERVAL`.
const SYNC_INTERVAL: usize = 4000 * 16;

/// `avro.codec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Null,
    Deflate,
    Snappy,
}

impl Codec {
    pub fn parse(name: &str) -> Result<Codec, AvroError> {
        match name {
            "null" => Ok(Codec::Null),
            "deflate" => Ok(Codec::Deflate),
            "snappy" => Ok(Codec::Snappy),
            other => Err(AvroError::Value(format!(
                "the Avro codec '{other}' is not supported"
            ))),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Codec::Null => "null",
            Codec::Deflate => "deflate",
            Codec::Snappy => "snappy",
        }
    }
}

/// Writes one container file into any `Write`, a block at a time.
pub struct ContainerWriter {
    codec: Codec,
    sync: [u8; 16],
    block: Vec<u8>,
    count: i64,
    compressed: Vec<u8>,
}

impl ContainerWriter {
    /// Writes the header to `out`. `sync` is the file's marker: Avro picks
    /// a random one; a caller that wants a rewritten file to be the same
    /// bytes passes one derived from the file's name.
    pub fn start(
        schema_json: &str,
        codec: Codec,
        sync: [u8; 16],
        out: &mut impl Write,
    ) -> Result<ContainerWriter, AvroError> {
        let mut header = Vec::with_capacity(schema_json.len() + 64);
        header.extend_from_slice(b"Obj\x01");
        // A HashMap<String, byte[]> in Java: its iteration order.
        let meta = ferry_java::hash::in_bucket_order(
            vec![
                ("avro.schema", schema_json.as_bytes()),
                ("avro.codec", codec.name().as_bytes()),
            ],
            16,
            |(k, _)| k,
        );
        long(&mut header, meta.len() as i64);
        for (k, v) in meta {
            bytes(&mut header, k.as_bytes());
            bytes(&mut header, v);
        }
        long(&mut header, 0);
        header.extend_from_slice(&sync);
        out.write_all(&header)?;
        Ok(ContainerWriter {
            codec,
            sync,
            block: Vec::new(),
            count: 0,
            compressed: Vec::new(),
        })
    }

    /// The buffer the next record's encoding is appended to; call
    /// [`appended`](Self::appended) after.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.block
    }

    /// One record was appended to the buffer: a block is written out
    /// when it reached the sync interval.
    pub fn appended(&mut self, out: &mut impl Write) -> Result<(), AvroError> {
        self.count += 1;
        if self.block.len() >= SYNC_INTERVAL {
            self.write_block(out)?;
        }
        Ok(())
    }

    /// Writes the last block.
    pub fn finish(mut self, out: &mut impl Write) -> Result<(), AvroError> {
        self.write_block(out)
    }

    fn write_block(&mut self, out: &mut impl Write) -> Result<(), AvroError> {
        if self.count == 0 {
            return Ok(());
        }
        let data: &[u8] = match self.codec {
            Codec::Null => &self.block,
            Codec::Deflate => {
                self.compressed.clear();
                let mut e = flate2::write::DeflateEncoder::new(
                    std::mem::take(&mut self.compressed),
                    flate2::Compression::default(),
                );
                e.write_all(&self.block)?;
                self.compressed = e.finish()?;
                &self.compressed
            }
            Codec::Snappy => {
                let max = snap::raw::max_compress_len(self.block.len());
                self.compressed.resize(max, 0);
                let n = snap::raw::Encoder::new()
                    .compress(&self.block, &mut self.compressed)
                    .map_err(|e| AvroError::Value(format!("snappy: {e}")))?;
                self.compressed.truncate(n);
                // Avro's snappy codec appends the CRC32 of the uncompressed data.
                let crc = crc32fast::hash(&self.block);
                self.compressed.extend_from_slice(&crc.to_be_bytes());
                &self.compressed
            }
        };
        let mut head = Vec::with_capacity(20);
        long(&mut head, self.count);
        long(&mut head, data.len() as i64);
        out.write_all(&head)?;
        out.write_all(data)?;
        out.write_all(&self.sync)?;
        self.block.clear();
        self.count = 0;
        Ok(())
    }
}
