//! The formats files are written in: records in, the object's bytes out,
//! cut into parts of `s3.part.size` as they fill so that a file is
//! streamed to S3 rather than held whole.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ferry_api::{Converter, Props, Schema, Value};
use ferry_convert::{ConverterRole, JsonConverter};

use crate::buffer::{Budget, PartBuffer};
use crate::config::{Compression, FormatKind, SinkConfig};
use crate::error::{Result, S3Error};
use crate::gzip::GzipSink;
use crate::parquet::{ParquetFile, SharedBuffer};

/// A [`PartBuffer`], gzip-compressed or not (`s3.compression.type`), or
/// shared with a Parquet writer, which owns its output.
enum Sink {
    Plain(PartBuffer),
    Gzip(Box<GzipSink>),
    Shared(SharedBuffer),
}

impl Sink {
    fn new(compression: Compression, part_size: usize, budget: Arc<Budget>) -> Sink {
        let buf = PartBuffer::new(part_size, budget.clone());
        match compression {
            Compression::None => Sink::Plain(buf),
            Compression::Gzip { level } => Sink::Gzip(Box::new(GzipSink::new(buf, level, budget))),
        }
    }
    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Sink::Plain(b) => b.write_all(data)?,
            Sink::Gzip(g) => g.write_all(data)?,
            Sink::Shared(b) => b.write_all(data)?,
        }
        Ok(())
    }
    /// Parts that filled up since the last call.
    fn take_full_parts(&mut self) -> Vec<Bytes> {
        match self {
            Sink::Plain(b) => std::mem::take(&mut b.full),
            Sink::Gzip(g) => g.take_full_parts(),
            Sink::Shared(b) => std::mem::take(&mut ferry_api::lock(&b.0).full),
        }
    }
    /// Bytes held in memory.
    fn in_memory(&mut self) -> usize {
        match self {
            Sink::Plain(b) => b.in_memory(),
            Sink::Gzip(g) => g.in_memory(),
            Sink::Shared(b) => ferry_api::lock(&b.0).in_memory(),
        }
    }
    fn finish(self) -> Result<PartBuffer> {
        Ok(match self {
            Sink::Plain(b) => b,
            Sink::Gzip(g) => g.finish()?,
            Sink::Shared(b) => {
                let mut shared = ferry_api::lock(&b.0);
                let budget = Budget::with_limit(0);
                std::mem::replace(&mut *shared, PartBuffer::new(usize::MAX, budget))
            }
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
    parquet: Option<ParquetFile>,
    parquet_codec: String,
    part_size: usize,
    budget: Arc<Budget>,
    /// The object's key: an Avro file's sync marker is derived from it,
    /// so that a file written again is the same bytes.
    key: String,
    separator: Vec<u8>,
    scratch: Vec<u8>,
    records: u64,
}

impl FormatWriter {
    pub fn new(
        kind: FormatKind,
        cfg: &SinkConfig,
        key: &str,
        budget: &Arc<Budget>,
    ) -> Result<FormatWriter> {
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
            FormatKind::ByteArray | FormatKind::Avro | FormatKind::Parquet => None,
        };
        let avro_codec = ferry_avro::Codec::parse(&cfg.avro_codec)
            .map_err(|e| S3Error::Config(format!("avro.codec: {e}")))?;
        Ok(FormatWriter {
            kind,
            sink: match kind {
                FormatKind::Parquet => Sink::Shared(SharedBuffer(Arc::new(Mutex::new(
                    PartBuffer::new(cfg.store.part_size, budget.clone()),
                )))),
                // s3.compression.type applies to JSON and raw bytes only
                // (an Avro keys or headers file beside gzipped JSON values
                // stays an Avro file).
                FormatKind::Avro => {
                    Sink::new(Compression::None, cfg.store.part_size, budget.clone())
                }
                _ => Sink::new(cfg.compression, cfg.store.part_size, budget.clone()),
            },
            json,
            avro: None,
            avro_codec,
            parquet: None,
            parquet_codec: cfg.parquet_codec.clone(),
            budget: budget.clone(),
            part_size: cfg.store.part_size,
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
                if self.parquet.is_none() {
                    let schema = schema.ok_or_else(|| {
                        S3Error::Record(
                            "ParquetFormat needs records with a schema (a converter with schemas, e.g. JsonConverter with schemas.enable=true)"
                                .into(),
                        )
                    })?;
                    let Sink::Shared(out) = &self.sink else {
                        return Err(S3Error::Config("ParquetFormat without its buffer".into()));
                    };
                    self.parquet = Some(ParquetFile::new(
                        schema,
                        &self.parquet_codec,
                        self.part_size,
                        out.clone(),
                        self.budget.clone(),
                    )?);
                }
                if let Some(p) = self.parquet.as_mut() {
                    p.write(value)?;
                }
                self.records += 1;
                return Ok(());
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
            let converted = ferry_avro::from_connect(schema)
                .map_err(|e| S3Error::Record(format!("AvroFormat: {e}")))?;
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

    /// Whether no record was written (a file whose only record was
    /// refused): it is not uploaded.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Whether this format can write a record of `schema` and `value` at
    /// all: checked before the record takes part in rotations, so that a
    /// record sent to the dead letter queue does not cut files.
    pub fn check(kind: FormatKind, schema: Option<&Schema>, value: &Value) -> Result<()> {
        match kind {
            FormatKind::Avro if schema.is_none() => Err(S3Error::Record(
                "AvroFormat needs records with a schema (a converter with schemas, e.g. JsonConverter with schemas.enable=true)"
                    .into(),
            )),
            FormatKind::Parquet => match schema {
                None => Err(S3Error::Record(
                    "ParquetFormat needs records with a schema (a converter with schemas, e.g. JsonConverter with schemas.enable=true)"
                        .into(),
                )),
                Some(s) if s.schema_type() != ferry_api::SchemaType::Struct => Err(S3Error::Record(format!(
                    "ParquetFormat writes struct values; this record's schema is {}",
                    s.schema_type()
                ))),
                Some(_) => Ok(()),
            },
            FormatKind::ByteArray if !matches!(value, Value::Bytes(_)) => Err(S3Error::Record(format!(
                "ByteArrayFormat writes bytes only: ByteArrayConverter is not compatible with objects of type {}",
                value.kind_name()
            ))),
            _ => Ok(()),
        }
    }

    /// Parts that filled up since the last call, to upload now.
    pub fn take_full_parts(&mut self) -> Vec<Bytes> {
        self.sink.take_full_parts()
    }

    /// Bytes held in memory for this file (not yet handed out as parts).
    pub fn buffered(&mut self) -> usize {
        let encoding = self.parquet.as_ref().map_or(0, ParquetFile::in_progress);
        encoding + self.sink.in_memory()
    }

    /// Ends the file: the full parts not yet taken, and the last bytes.
    pub fn finish(mut self) -> Result<(Vec<Bytes>, Bytes)> {
        if let Some(file) = self.parquet.take() {
            file.finish()?;
        }
        if let Some(file) = self.avro.take() {
            let mut out = Vec::new();
            file.container
                .finish(&mut out)
                .map_err(|e| S3Error::Record(format!("AvroFormat: {e}")))?;
            self.sink.write_all(&out)?;
        }
        let mut parts = self.sink.finish()?;
        let last = parts.take_pending()?;
        Ok((std::mem::take(&mut parts.full), last))
    }
}

/// A sync marker that depends on the object's key only.
fn sync_marker(key: &str) -> [u8; 16] {
    use md5::Digest;
    let mut marker = [0u8; 16];
    marker.copy_from_slice(&md5::Md5::digest(key.as_bytes()));
    marker
}
