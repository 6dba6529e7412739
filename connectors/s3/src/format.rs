//! The formats files are written in: records in, the object's bytes out,
//! cut into parts of `s3.part.size` as they fill so that a file is
//! streamed to S3 rather than held whole.

use std::io::Write;

use bytes::Bytes;
use ferry_api::{Converter, Props, Schema, Value};
use ferry_convert::{ConverterRole, JsonConverter};
use flate2::write::GzEncoder;

use crate::config::{Compression, FormatKind, SinkConfig};
use crate::error::{Result, S3Error};

/// An object's bytes not yet uploaded, and the parts that are full.
pub struct PartBuffer {
    buf: Vec<u8>,
    part_size: usize,
    full: Vec<Bytes>,
}

impl PartBuffer {
    pub fn new(part_size: usize) -> PartBuffer {
        PartBuffer {
            buf: Vec::new(),
            part_size,
            full: Vec::new(),
        }
    }
}

impl Write for PartBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.part_size {
            let part = std::mem::take(&mut self.buf);
            self.full.push(Bytes::from(part));
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A [`PartBuffer`], gzip-compressed or not (`s3.compression.type`).
enum Sink {
    Plain(PartBuffer),
    Gzip(GzEncoder<PartBuffer>),
}

impl Sink {
    fn new(compression: Compression, part_size: usize) -> Sink {
        let buf = PartBuffer::new(part_size);
        match compression {
            Compression::None => Sink::Plain(buf),
            Compression::Gzip { level } => {
                Sink::Gzip(GzEncoder::new(buf, flate2::Compression::new(level.min(9))))
            }
        }
    }
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Sink::Plain(b) => b.write_all(data)?,
            Sink::Gzip(g) => g.write_all(data)?,
        }
        Ok(())
    }
    fn parts(&mut self) -> &mut PartBuffer {
        match self {
            Sink::Plain(b) => b,
            Sink::Gzip(g) => g.get_mut(),
        }
    }
    fn finish(self) -> Result<PartBuffer> {
        Ok(match self {
            Sink::Plain(b) => b,
            Sink::Gzip(g) => g.finish()?,
        })
    }
}

/// What is written of a record: its value, its key, or its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Value,
    Key,
    Headers,
}

/// An Avro file's writer, made at its first record (whose schema is the
/// file's).
struct AvroFile {
    shape: ferry_avro::AvroSchema,
    container: ferry_avro::ContainerWriter,
}

/// One file being written in one format.
pub struct FormatWriter {
    kind: FormatKind,
    sink: Sink,
    json: Option<JsonConverter>,
    avro: Option<AvroFile>,
    avro_codec: ferry_avro::Codec,
    /// The object's key: an Avro file's sync marker is derived from it,
    /// so that a file written again is the same bytes.
    key: String,
    separator: Vec<u8>,
    scratch: Vec<u8>,
    records: u64,
}

impl FormatWriter {
    pub fn new(kind: FormatKind, cfg: &SinkConfig, key: &str) -> Result<FormatWriter> {
        let json = match kind {
            FormatKind::Json => {
                let mut props = Props::new();
                props.insert("schemas.enable".into(), "false".into());
                props.insert(
                    "schemas.cache.size".into(),
                    cfg.schemas_cache_size.to_string(),
                );
                props.insert(
                    "decimal.format".into(),
                    if cfg.json_decimal_numeric {
                        "NUMERIC"
                    } else {
                        "BASE64"
                    }
                    .into(),
                );
                Some(
                    JsonConverter::new(ConverterRole::Value, &props)
                        .map_err(|e| S3Error::Config(format!("JsonFormat: {e}")))?,
                )
            }
            FormatKind::ByteArray | FormatKind::Avro => None,
            FormatKind::Parquet => {
                return Err(S3Error::Config(
                    "ParquetFormat is not available yet in this version".into(),
                ))
            }
        };
        let avro_codec = ferry_avro::Codec::parse(&cfg.avro_codec)
            .map_err(|e| S3Error::Config(format!("avro.codec: {e}")))?;
        Ok(FormatWriter {
            kind,
            sink: Sink::new(cfg.compression, cfg.store.part_size),
            json,
            avro: None,
            avro_codec,
            key: key.to_owned(),
            separator: match kind {
                FormatKind::ByteArray => cfg.bytearray_separator.clone(),
                _ => b"\n".to_vec(),
            },
            scratch: Vec::new(),
            records: 0,
        })
    }

    /// Appends one record's view. `topic` is the record's, for converters.
    pub fn write(&mut self, topic: &str, schema: Option<&Schema>, value: &Value) -> Result<()> {
        match self.kind {
            FormatKind::Json => {
                let conv = self
                    .json
                    .as_ref()
                    .ok_or_else(|| S3Error::Config("JsonFormat without a converter".into()))?;
                conv.from_connect(topic, schema, value, &mut self.scratch)
                    .map_err(|e| {
                        S3Error::Record(format!("JsonFormat cannot write the record: {e}"))
                    })?;
                if self.scratch.is_empty() {
                    // A null (schemaless): Jackson writes `null`.
                    self.scratch.extend_from_slice(b"null");
                }
                self.sink.write_all(&self.scratch)?;
            }
            FormatKind::ByteArray => {
                let bytes: &[u8] = match (schema, value) {
                    (s, Value::Bytes(b))
                        if s.is_none_or(|s| s.schema_type() == ferry_api::SchemaType::Bytes) =>
                    {
                        b
                    }
                    (_, v) => {
                        return Err(S3Error::Record(format!(
                            "ByteArrayFormat writes bytes only: ByteArrayConverter is not compatible with objects of type {}",
                            v.kind_name()
                        )))
                    }
                };
                self.sink.write_all(bytes)?;
            }
            FormatKind::Avro => {
                self.write_avro(schema, value)?;
                self.records += 1;
                return Ok(());
            }
            FormatKind::Parquet => {
                return Err(S3Error::Config("ParquetFormat is not available yet".into()))
            }
        }
        self.sink.write_all(&self.separator)?;
        self.records += 1;
        Ok(())
    }

    fn write_avro(&mut self, schema: Option<&Schema>, value: &Value) -> Result<()> {
        if self.avro.is_none() {
            let schema = schema.ok_or_else(|| {
                S3Error::Record(
                    "AvroFormat needs records with a schema (a converter with schemas, e.g. JsonConverter with schemas.enable=true)"
                        .into(),
                )
            })?;
            let converted = ferry_avro::from_connect(schema);
            let mut header = Vec::new();
            let container = ferry_avro::ContainerWriter::start(
                &converted.json,
                self.avro_codec,
                sync_marker(&self.key),
                &mut header,
            )
            .map_err(|e| S3Error::Record(format!("AvroFormat: {e}")))?;
            self.sink.write_all(&header)?;
            self.avro = Some(AvroFile {
                shape: converted.shape,
                container,
            });
        }
        let Some(file) = self.avro.as_mut() else {
            return Ok(());
        };
        let mark = file.container.buffer().len();
        if let Err(e) = ferry_avro::encode::encode(&file.shape, value, file.container.buffer()) {
            // The record is left out whole.
            file.container.buffer().truncate(mark);
            return Err(S3Error::Record(format!(
                "AvroFormat cannot write the record: {e}"
            )));
        }
        let mut out = Vec::new();
        file.container
            .appended(&mut out)
            .map_err(|e| S3Error::Record(format!("AvroFormat: {e}")))?;
        if !out.is_empty() {
            self.sink.write_all(&out)?;
        }
        Ok(())
    }

    /// Parts that filled up since the last call, to upload now.
    pub fn take_full_parts(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.sink.parts().full)
    }

    /// Bytes held in memory for this file (not yet handed out as parts).
    pub fn buffered(&mut self) -> usize {
        let p = self.sink.parts();
        p.buf.len() + p.full.iter().map(Bytes::len).sum::<usize>()
    }

    /// Ends the file: the full parts not yet taken, and the last bytes.
    pub fn finish(mut self) -> Result<(Vec<Bytes>, Bytes)> {
        if let Some(file) = self.avro.take() {
            let mut out = Vec::new();
            file.container
                .finish(&mut out)
                .map_err(|e| S3Error::Record(format!("AvroFormat: {e}")))?;
            self.sink.write_all(&out)?;
        }
        let parts = self.sink.finish()?;
        Ok((parts.full, Bytes::from(parts.buf)))
    }
}

/// A sync marker that depends on the object's key only.
fn sync_marker(key: &str) -> [u8; 16] {
    use md5::Digest;
    let mut marker = [0u8; 16];
    marker.copy_from_slice(&md5::Md5::digest(key.as_bytes()));
    marker
}
