//! Parquet files, as Confluent's `ParquetFormat` writes them through
//! parquet-avro: the Parquet schema of the Avro schema AvroData makes of
//! the record's Connect schema (int8/int16 as INT32, decimals with their
//! precision and scale, dates, times and timestamps in milliseconds,
//! nested structs, lists and maps), 64 KiB pages, dictionary encoding, and
//! the Avro schema in the file's metadata (`parquet.avro.schema`), so that
//! Avro-model readers find it as they find Confluent's.
//!
//! Records are gathered into Arrow batches and encoded as they come; a
//! row group is closed when its encoded size reaches `s3.part.size`, so
//! the file streams to S3 a row group per part, where Confluent holds a
//! 128 MiB row group in memory per open file.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::{
    new_null_array, Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Decimal256Array, Float32Array, Float64Array, Int32Array, Int64Array, ListArray, MapArray,
    RecordBatch, StringArray, StructArray, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow_buffer::{i256, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields, Schema as ArrowSchema, SchemaRef, TimeUnit};
use ferry_api::data::logical;
use ferry_api::{Schema, SchemaType, Value};
use parquet::arrow::arrow_writer::{ArrowWriter, ArrowWriterOptions};
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::buffer::{Budget, PartBuffer};
use crate::error::{Result, S3Error};

/// Records gathered before they are encoded as one Arrow batch: enough
/// to amortise a batch, few enough that a hundred open files do not hold
/// much in decoded records (a 1 KB record is a few KB as values).
const BATCH_ROWS: usize = 64;
/// parquet-avro's page size.
const PAGE_SIZE: usize = 64 * 1024;

/// The part buffer, shared between the Parquet writer (which owns its
/// output) and the uploader that takes the full parts.
#[derive(Clone)]
pub struct SharedBuffer(pub Arc<Mutex<PartBuffer>>);

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        ferry_api::lock(&self.0).write(data)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One Parquet file being written.
pub struct ParquetFile {
    writer: ArrowWriter<SharedBuffer>,
    connect: Schema,
    arrow: SchemaRef,
    rows: Vec<Value>,
    row_group_bytes: usize,
    budget: Arc<Budget>,
    /// Bytes of the row group being encoded, charged to the budget.
    charged: usize,
}

/// The codec of `parquet.codec`.
pub fn compression(codec: &str) -> Result<Compression> {
    Ok(match codec {
        "none" => Compression::UNCOMPRESSED,
        "snappy" => Compression::SNAPPY,
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "zstd" => Compression::ZSTD(ZstdLevel::default()),
        "lz4" => Compression::LZ4,
        "lz4_raw" => Compression::LZ4_RAW,
        other => {
            return Err(S3Error::Config(format!(
                "parquet.codec: the {other} codec is not supported; use none, snappy, gzip, zstd, lz4 or lz4_raw"
            )))
        }
    })
}

impl ParquetFile {
    /// A file for records of `schema` (a struct), written into `out`.
    pub fn new(
        schema: &Schema,
        codec: &str,
        part_size: usize,
        out: SharedBuffer,
        budget: Arc<Budget>,
    ) -> Result<Self> {
        if schema.schema_type() != SchemaType::Struct {
            return Err(S3Error::Record(format!(
                "ParquetFormat writes struct values; this record's schema is {}",
                schema.schema_type()
            )));
        }
        let arrow = Arc::new(ArrowSchema::new(struct_fields(schema)));
        let avro = ferry_avro::from_connect(&schema.to_builder().optional_if(false).build())
            .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?;
        let props = WriterProperties::builder()
            .set_compression(compression(codec)?)
            .set_dictionary_enabled(true)
            .set_data_page_size_limit(PAGE_SIZE)
            .set_max_row_group_row_count(None)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("parquet.avro.schema".into(), avro.json),
                KeyValue::new("writer.model.name".into(), "avro".to_owned()),
            ]))
            .build();
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(out, arrow.clone(), options)
            .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?;
        Ok(ParquetFile {
            writer,
            connect: schema.clone(),
            arrow,
            rows: Vec::with_capacity(BATCH_ROWS),
            row_group_bytes: part_size,
            budget,
            charged: 0,
        })
    }

    /// Takes one record's value; refused (for the dead letter queue) if it
    /// does not fit the file's schema.
    pub fn write(&mut self, value: &Value) -> Result<()> {
        self.connect
            .validate_value(value)
            .map_err(|e| S3Error::Record(format!("ParquetFormat cannot write the record: {e}")))?;
        if matches!(value, Value::Null) {
            return Err(S3Error::Record(
                "ParquetFormat cannot write a null value".into(),
            ));
        }
        // What would make the Arrow batch fail is refused here, for this
        // record alone.
        convertible(&self.connect, value)
            .map_err(|e| S3Error::Record(format!("ParquetFormat cannot write the record: {e}")))?;
        self.rows.push(value.clone());
        if self.rows.len() >= BATCH_ROWS {
            self.encode_rows()?;
        }
        Ok(())
    }

    fn encode_rows(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        // Checked one by one in `write`: a batch that still fails is the
        // file's failure, not one record's.
        let rows = std::mem::take(&mut self.rows);
        let refs: Vec<&Value> = rows.iter().collect();
        let fatal = |e: String| S3Error::Config(format!("ParquetFormat: {e}"));
        let columns = struct_columns(&self.connect, &refs).map_err(|e| fatal(e.to_string()))?;
        let batch =
            RecordBatch::try_new(self.arrow.clone(), columns).map_err(|e| fatal(e.to_string()))?;
        self.writer
            .write(&batch)
            .map_err(|e| fatal(e.to_string()))?;
        // The row group being encoded counts against the worker's buffer
        // budget. A row group per part; a smaller one when the budget is
        // spent (the records and their order are the same).
        // (What the encoders hold in memory, dictionaries included, counts;
        // what the row group will take encoded decides the part.)
        let memory = self.writer.memory_size();
        let grow = memory.saturating_sub(self.charged);
        let fits = grow == 0 || self.budget.try_charge(grow);
        if fits {
            self.charged += grow;
        }
        if self.writer.in_progress_size() >= self.row_group_bytes || !fits {
            self.writer
                .flush()
                .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?;
            self.budget.release(std::mem::take(&mut self.charged));
        }
        Ok(())
    }

    /// Bytes held by the row group being encoded.
    pub fn in_progress(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the last row group and the footer.
    pub fn finish(mut self) -> Result<()> {
        self.encode_rows()?;
        self.writer
            .finish()
            .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?;
        Ok(())
    }
}

impl Drop for ParquetFile {
    fn drop(&mut self) {
        self.budget.release(self.charged);
    }
}

/// Whether `value` converts to the Arrow form of `schema`: decimals at the
/// schema's scale without rounding, map keys present.
fn convertible(schema: &Schema, value: &Value) -> std::result::Result<(), String> {
    match (schema.schema_type(), value) {
        (_, Value::Null) => Ok(()),
        (SchemaType::Bytes, Value::Decimal(d)) => {
            let (precision, scale) = decimal_params(schema);
            if i32::from(scale) > i32::from(precision) {
                return Err(format!(
                    "a decimal of scale {scale} and precision {precision}"
                ));
            }
            d.with_scale(i32::from(scale))
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        (SchemaType::Struct, Value::Struct(s)) => schema
            .fields()
            .iter()
            .try_for_each(|f| convertible(&f.schema, s.get_at(f.index))),
        (SchemaType::Array, Value::Array(items)) => {
            let item = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            items.iter().try_for_each(|x| convertible(&item, x))
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
            let val = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            entries.iter().try_for_each(|(k, v)| {
                if k.is_null() {
                    return Err("a map entry without a key".to_owned());
                }
                convertible(&key, k)?;
                convertible(&val, v)
            })
        }
        _ => Ok(()),
    }
}

fn struct_fields(schema: &Schema) -> Fields {
    schema
        .fields()
        .iter()
        .map(|f| Field::new(&f.name, data_type(&f.schema), f.schema.is_optional()))
        .collect()
}

fn decimal_params(schema: &Schema) -> (u8, i8) {
    let scale = schema
        .parameter(logical::DECIMAL_SCALE)
        .and_then(|s| s.parse::<i8>().ok())
        .unwrap_or(0);
    let precision = schema
        .parameter("connect.decimal.precision")
        .and_then(|s| s.parse::<u8>().ok())
        .unwrap_or(64);
    (precision, scale)
}

/// The Arrow type whose Parquet form is parquet-avro's for this schema.
fn data_type(schema: &Schema) -> DataType {
    match (schema.schema_type(), schema.name()) {
        (SchemaType::Int32, Some(logical::DATE)) => DataType::Date32,
        (SchemaType::Int32, Some(logical::TIME)) => DataType::Time32(TimeUnit::Millisecond),
        (SchemaType::Int64, Some(logical::TIMESTAMP)) => {
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        }
        (SchemaType::Bytes, Some(logical::DECIMAL)) => {
            let (p, s) = decimal_params(schema);
            if p <= 38 {
                DataType::Decimal128(p, s)
            } else {
                DataType::Decimal256(p.min(76), s)
            }
        }
        // Avro has no 8- or 16-bit integers: parquet-avro writes INT32.
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32, _) => DataType::Int32,
        (SchemaType::Int64, _) => DataType::Int64,
        (SchemaType::Float32, _) => DataType::Float32,
        (SchemaType::Float64, _) => DataType::Float64,
        (SchemaType::Boolean, _) => DataType::Boolean,
        (SchemaType::String, _) => DataType::Utf8,
        (SchemaType::Bytes, _) => DataType::Binary,
        (SchemaType::Array, _) => {
            let item = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            DataType::List(Arc::new(Field::new(
                "element",
                data_type(&item),
                item.is_optional(),
            )))
        }
        (SchemaType::Map, _) => {
            let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
            let value = schema
                .value_schema()
                .cloned()
                .unwrap_or_else(Schema::string);
            let entry = Fields::from(vec![
                Field::new("key", data_type(&key), false),
                Field::new("value", data_type(&value), value.is_optional()),
            ]);
            if key.schema_type() == SchemaType::String && !key.is_optional() {
                DataType::Map(
                    Arc::new(Field::new("key_value", DataType::Struct(entry), false)),
                    false,
                )
            } else {
                // AvroData: an array of key/value records.
                DataType::List(Arc::new(Field::new(
                    "element",
                    DataType::Struct(entry),
                    false,
                )))
            }
        }
        (SchemaType::Struct, _) => DataType::Struct(struct_fields(schema)),
    }
}

fn nulls(values: &[&Value]) -> Option<NullBuffer> {
    if values.iter().any(|v| matches!(v, Value::Null)) {
        let mut b = BooleanBufferBuilder::new(values.len());
        for v in values {
            b.append(!matches!(v, Value::Null));
        }
        Some(NullBuffer::new(b.finish()))
    } else {
        None
    }
}

fn struct_columns(schema: &Schema, values: &[&Value]) -> Result<Vec<ArrayRef>> {
    let null = Value::Null;
    schema
        .fields()
        .iter()
        .map(|f| {
            let children: Vec<&Value> = values
                .iter()
                .map(|v| match v {
                    Value::Struct(s) => s.get_at(f.index),
                    _ => &null,
                })
                .collect();
            array(&f.schema, &children)
        })
        .collect()
}

fn mismatch(schema: &Schema, v: &Value) -> S3Error {
    S3Error::Record(format!(
        "ParquetFormat: a {} value where the schema says {}",
        v.kind_name(),
        schema.schema_type()
    ))
}

/// One column of `values`, all of `schema`.
fn array(schema: &Schema, values: &[&Value]) -> Result<ArrayRef> {
    // A primitive column: `get` reads a value of the schema's kind.
    fn prim<'v, T, A>(
        schema: &Schema,
        values: &[&'v Value],
        get: impl Fn(&'v Value) -> Option<T>,
    ) -> Result<ArrayRef>
    where
        A: From<Vec<Option<T>>> + Array + 'static,
    {
        let mut out = Vec::with_capacity(values.len());
        for v in values {
            out.push(match v {
                Value::Null => None,
                v => Some(get(v).ok_or_else(|| mismatch(schema, v))?),
            });
        }
        Ok(Arc::new(A::from(out)))
    }
    Ok(match data_type(schema) {
        DataType::Date32 => prim::<i32, Date32Array>(schema, values, |v| match v {
            Value::Date(d) | Value::Int32(d) => Some(*d),
            _ => None,
        })?,
        DataType::Time32(_) => prim::<i32, Time32MillisecondArray>(schema, values, |v| match v {
            Value::Time(t) | Value::Int32(t) => Some(*t),
            _ => None,
        })?,
        DataType::Timestamp(_, tz) => {
            let a = prim::<i64, TimestampMillisecondArray>(schema, values, |v| match v {
                Value::Timestamp(t) | Value::Int64(t) => Some(*t),
                _ => None,
            })?;
            let a = a
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .map(|a| a.clone().with_timezone_opt(tz))
                .ok_or_else(|| mismatch(schema, &Value::Null))?;
            Arc::new(a)
        }
        DataType::Decimal128(p, s) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Decimal(d) => Some(
                        d.with_scale(i32::from(s))
                            .map_err(|e| S3Error::Record(e.to_string()))?
                            .unscaled,
                    ),
                    other => return Err(mismatch(schema, other)),
                });
            }
            Arc::new(
                Decimal128Array::from(out)
                    .with_precision_and_scale(p, s)
                    .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
            )
        }
        DataType::Decimal256(p, s) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    Value::Null => None,
                    Value::Decimal(d) => Some(i256::from_i128(
                        d.with_scale(i32::from(s))
                            .map_err(|e| S3Error::Record(e.to_string()))?
                            .unscaled,
                    )),
                    other => return Err(mismatch(schema, other)),
                });
            }
            Arc::new(
                Decimal256Array::from(out)
                    .with_precision_and_scale(p, s)
                    .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
            )
        }
        DataType::Int32 => prim::<i32, Int32Array>(schema, values, |v| match v {
            Value::Int8(n) => Some(i32::from(*n)),
            Value::Int16(n) => Some(i32::from(*n)),
            Value::Int32(n) => Some(*n),
            _ => None,
        })?,
        DataType::Int64 => prim::<i64, Int64Array>(schema, values, |v| match v {
            Value::Int64(n) => Some(*n),
            _ => None,
        })?,
        DataType::Float32 => prim::<f32, Float32Array>(schema, values, |v| match v {
            Value::Float32(f) => Some(*f),
            _ => None,
        })?,
        DataType::Float64 => prim::<f64, Float64Array>(schema, values, |v| match v {
            Value::Float64(f) => Some(*f),
            _ => None,
        })?,
        DataType::Boolean => prim::<bool, BooleanArray>(schema, values, |v| match v {
            Value::Boolean(b) => Some(*b),
            _ => None,
        })?,
        DataType::Utf8 => prim::<&str, StringArray>(schema, values, |v| match v {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })?,
        DataType::Binary => prim::<&[u8], BinaryArray>(schema, values, |v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        })?,
        DataType::Struct(fields) => Arc::new(
            StructArray::try_new(fields, struct_columns(schema, values)?, nulls(values))
                .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
        ),
        DataType::List(item_field) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut items: Vec<&Value> = Vec::new();
            let mut entries: Vec<(&Value, &Value)> = Vec::new();
            let is_map = schema.schema_type() == SchemaType::Map;
            for v in values {
                match v {
                    Value::Null => {}
                    Value::Array(xs) if !is_map => items.extend(xs.iter()),
                    Value::Map(kv) if is_map => entries.extend(kv.iter().map(|(k, v)| (k, v))),
                    other => return Err(mismatch(schema, other)),
                }
                let len = if is_map { entries.len() } else { items.len() };
                offsets.push(
                    i32::try_from(len)
                        .map_err(|_| S3Error::Record("a list too long for one batch".into()))?,
                );
            }
            let child = if is_map {
                entry_struct(schema, &entries)?
            } else {
                let item = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                array(&item, &items)?
            };
            Arc::new(
                ListArray::try_new(
                    item_field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    child,
                    nulls(values),
                )
                .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
            )
        }
        DataType::Map(entry_field, sorted) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut entries: Vec<(&Value, &Value)> = Vec::new();
            for v in values {
                match v {
                    Value::Null => {}
                    Value::Map(kv) => entries.extend(kv.iter().map(|(k, v)| (k, v))),
                    other => return Err(mismatch(schema, other)),
                }
                offsets.push(
                    i32::try_from(entries.len())
                        .map_err(|_| S3Error::Record("a map too long for one batch".into()))?,
                );
            }
            let DataType::Struct(fields) = entry_field.data_type().clone() else {
                return Err(mismatch(schema, &Value::Null));
            };
            let entries = entry_struct(schema, &entries)?;
            let entries = entries
                .as_any()
                .downcast_ref::<StructArray>()
                .cloned()
                .ok_or_else(|| mismatch(schema, &Value::Null))?;
            let _ = fields;
            Arc::new(
                MapArray::try_new(
                    entry_field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    entries,
                    nulls(values),
                    sorted,
                )
                .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
            )
        }
        other => new_null_array(&other, values.len()),
    })
}

/// Map entries as a struct of `key` and `value` columns.
fn entry_struct(schema: &Schema, entries: &[(&Value, &Value)]) -> Result<ArrayRef> {
    let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
    let value = schema
        .value_schema()
        .cloned()
        .unwrap_or_else(Schema::string);
    let keys: Vec<&Value> = entries.iter().map(|(k, _)| *k).collect();
    let vals: Vec<&Value> = entries.iter().map(|(_, v)| *v).collect();
    let fields = Fields::from(vec![
        Field::new("key", data_type(&key), false),
        Field::new("value", data_type(&value), value.is_optional()),
    ]);
    Ok(Arc::new(
        StructArray::try_new(
            fields,
            vec![array(&key, &keys)?, array(&value, &vals)?],
            None,
        )
        .map_err(|e| S3Error::Record(format!("ParquetFormat: {e}")))?,
    ))
}

/// Every record of a Parquet file the sink wrote, with its Connect
/// schema: the one the Avro schema in the file's metadata gives back, as
/// the sink wrote it.
pub fn read_parquet(data: bytes::Bytes, key: &str) -> Result<(Schema, Vec<Value>)> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let object = |reason: String| S3Error::Object {
        key: key.to_owned(),
        reason,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(data).map_err(|e| object(e.to_string()))?;
    let avro = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|e| e.key == "parquet.avro.schema"))
        .and_then(|e| e.value.clone())
        .ok_or_else(|| {
            object(
                "a Parquet file without the Avro schema the sink writes (parquet.avro.schema)"
                    .into(),
            )
        })?;
    let schema = ferry_avro::decode::parse_schema(&avro)
        .map_err(|e| object(e.to_string()))?
        .connect;
    let reader = builder.build().map_err(|e| object(e.to_string()))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| object(e.to_string()))?;
        let columns = batch.columns();
        for row in 0..batch.num_rows() {
            let mut s = ferry_api::Struct::new(schema.clone())?;
            for (f, column) in schema.fields().iter().zip(columns) {
                s.set(
                    &f.name,
                    from_arrow(column.as_ref(), row, &f.schema).map_err(&object)?,
                )?;
            }
            out.push(Value::Struct(s));
        }
    }
    Ok((schema, out))
}

/// One Arrow cell back as a Connect value of `schema`.
fn from_arrow(
    array: &dyn Array,
    row: usize,
    schema: &Schema,
) -> std::result::Result<Value, String> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int32Type, Int64Type,
        Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    let wrong = || {
        format!(
            "a {} column where the schema says {}",
            array.data_type(),
            schema.schema_type()
        )
    };
    Ok(
        match (schema.schema_type(), schema.name(), array.data_type()) {
            (SchemaType::Int32, Some(logical::DATE), DataType::Date32) => {
                Value::Date(array.as_primitive::<Date32Type>().value(row))
            }
            // Connect's times and timestamps are milliseconds: a file
            // written in another unit is read in it, then converted.
            (SchemaType::Int32, Some(logical::TIME), DataType::Time32(unit)) => {
                Value::Time(match unit {
                    TimeUnit::Second => array
                        .as_primitive::<Time32SecondType>()
                        .value(row)
                        .checked_mul(1000)
                        .ok_or("a time out of range")?,
                    _ => array.as_primitive::<Time32MillisecondType>().value(row),
                })
            }
            (SchemaType::Int32, Some(logical::TIME), DataType::Time64(unit)) => {
                let ms = match unit {
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000
                    }
                    _ => array.as_primitive::<Time64MicrosecondType>().value(row) / 1000,
                };
                Value::Time(i32::try_from(ms).map_err(|_| "a time out of range")?)
            }
            (SchemaType::Int64, Some(logical::TIMESTAMP), DataType::Timestamp(unit, _)) => {
                Value::Timestamp(match unit {
                    TimeUnit::Second => array
                        .as_primitive::<TimestampSecondType>()
                        .value(row)
                        .checked_mul(1000)
                        .ok_or("a timestamp out of range")?,
                    TimeUnit::Millisecond => {
                        array.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    TimeUnit::Microsecond => {
                        array.as_primitive::<TimestampMicrosecondType>().value(row) / 1000
                    }
                    TimeUnit::Nanosecond => {
                        array.as_primitive::<TimestampNanosecondType>().value(row) / 1_000_000
                    }
                })
            }
            (SchemaType::Bytes, Some(logical::DECIMAL), DataType::Decimal128(_, s)) => {
                Value::Decimal(ferry_api::Decimal::new(
                    array.as_primitive::<Decimal128Type>().value(row),
                    i32::from(*s),
                ))
            }
            (SchemaType::Bytes, Some(logical::DECIMAL), DataType::Decimal256(_, s)) => {
                let v = array.as_primitive::<Decimal256Type>().value(row);
                let unscaled = v.to_i128().ok_or("a decimal wider than 128 bits")?;
                Value::Decimal(ferry_api::Decimal::new(unscaled, i32::from(*s)))
            }
            (SchemaType::Int8, _, DataType::Int32) => Value::Int8(
                i8::try_from(array.as_primitive::<Int32Type>().value(row))
                    .map_err(|_| "an int8 column's value out of range")?,
            ),
            (SchemaType::Int16, _, DataType::Int32) => Value::Int16(
                i16::try_from(array.as_primitive::<Int32Type>().value(row))
                    .map_err(|_| "an int16 column's value out of range")?,
            ),
            (SchemaType::Int32, _, DataType::Int32) => {
                Value::Int32(array.as_primitive::<Int32Type>().value(row))
            }
            (SchemaType::Int64, _, DataType::Int64) => {
                Value::Int64(array.as_primitive::<Int64Type>().value(row))
            }
            (SchemaType::Float32, _, DataType::Float32) => {
                Value::Float32(array.as_primitive::<Float32Type>().value(row))
            }
            (SchemaType::Float64, _, DataType::Float64) => {
                Value::Float64(array.as_primitive::<Float64Type>().value(row))
            }
            (SchemaType::Boolean, _, DataType::Boolean) => {
                Value::Boolean(array.as_boolean().value(row))
            }
            (SchemaType::String, _, DataType::Utf8) => {
                Value::String(array.as_string::<i32>().value(row).to_owned())
            }
            (SchemaType::Bytes, _, DataType::Binary) => {
                Value::Bytes(array.as_binary::<i32>().value(row).to_vec())
            }
            (SchemaType::Array, _, DataType::List(_)) => {
                let items = array.as_list::<i32>().value(row);
                let item = schema
                    .value_schema()
                    .cloned()
                    .unwrap_or_else(Schema::string);
                Value::Array(
                    (0..items.len())
                        .map(|i| from_arrow(items.as_ref(), i, &item))
                        .collect::<std::result::Result<_, _>>()?,
                )
            }
            (SchemaType::Map, _, DataType::Map(..)) => {
                let entries = array.as_map().value(row);
                map_entries(&entries, schema)?
            }
            (SchemaType::Map, _, DataType::List(_)) => {
                let items = array.as_list::<i32>().value(row);
                map_entries(items.as_struct(), schema)?
            }
            (SchemaType::Struct, _, DataType::Struct(_)) => {
                let columns = array.as_struct();
                let mut s = ferry_api::Struct::new(schema.clone()).map_err(|e| e.to_string())?;
                for (f, column) in schema.fields().iter().zip(columns.columns()) {
                    s.set(&f.name, from_arrow(column.as_ref(), row, &f.schema)?)
                        .map_err(|e| e.to_string())?;
                }
                Value::Struct(s)
            }
            _ => return Err(wrong()),
        },
    )
}

fn map_entries(entries: &StructArray, schema: &Schema) -> std::result::Result<Value, String> {
    let key = schema.key_schema().cloned().unwrap_or_else(Schema::string);
    let value = schema
        .value_schema()
        .cloned()
        .unwrap_or_else(Schema::string);
    let (Some(keys), Some(values)) = (entries.columns().first(), entries.columns().get(1)) else {
        return Err("a map column whose entries are not key and value".into());
    };
    (0..entries.len())
        .map(|i| {
            Ok((
                from_arrow(keys.as_ref(), i, &key)?,
                from_arrow(values.as_ref(), i, &value)?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, String>>()
        .map(Value::Map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Decimal, SchemaBuilder, Struct};

    #[test]
    fn files_read_back_as_written() {
        let place = SchemaBuilder::struct_()
            .field("lat", Schema::float64())
            .field("city", Schema::string())
            .optional()
            .build();
        let schema = SchemaBuilder::struct_()
            .name("com.acme.Reading")
            .field("id", Schema::int64())
            .field("small", Schema::int16())
            .field("name", Schema::optional_string())
            .field("ok", Schema::boolean())
            .field("raw", Schema::optional_bytes())
            .field("price", SchemaBuilder::decimal(2).build())
            .field("day", SchemaBuilder::date().build())
            .field("at", SchemaBuilder::timestamp().build())
            .field("tags", SchemaBuilder::array(Schema::string()).build())
            .field(
                "attrs",
                SchemaBuilder::map(
                    Schema::string(),
                    SchemaBuilder::new(SchemaType::Int32).optional().build(),
                )
                .build(),
            )
            .field(
                "codes",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .field("where", place.clone())
            .build();
        let row = |i: i64| {
            let w = if i % 3 == 0 {
                Value::Null
            } else {
                Value::Struct(
                    Struct::new(place.clone())
                        .unwrap()
                        .put("lat", Value::Float64(1.5))
                        .unwrap()
                        .put("city", Value::String("Oslo".into()))
                        .unwrap(),
                )
            };
            Value::Struct(
                Struct::new(schema.clone())
                    .unwrap()
                    .put("id", Value::Int64(i))
                    .unwrap()
                    .put("small", Value::Int16(-(i as i16)))
                    .unwrap()
                    .put(
                        "name",
                        if i == 2 {
                            Value::Null
                        } else {
                            Value::String(format!("r{i}"))
                        },
                    )
                    .unwrap()
                    .put("ok", Value::Boolean(i % 2 == 0))
                    .unwrap()
                    .put(
                        "raw",
                        if i == 1 {
                            Value::Null
                        } else {
                            Value::Bytes(vec![0, 1, 255])
                        },
                    )
                    .unwrap()
                    .put(
                        "price",
                        Value::Decimal(Decimal::new(1234 + i128::from(i as i32), 2)),
                    )
                    .unwrap()
                    .put("day", Value::Date(19_723))
                    .unwrap()
                    .put("at", Value::Timestamp(1_704_067_200_000 + i))
                    .unwrap()
                    .put(
                        "tags",
                        Value::Array((0..i).map(|t| Value::String(format!("t{t}"))).collect()),
                    )
                    .unwrap()
                    .put(
                        "attrs",
                        Value::Map(vec![
                            (Value::String("a".into()), Value::Int32(i as i32)),
                            (Value::String("b".into()), Value::Null),
                        ]),
                    )
                    .unwrap()
                    .put(
                        "codes",
                        Value::Map(vec![(Value::Int32(i as i32), Value::String("x".into()))]),
                    )
                    .unwrap()
                    .put("where", w)
                    .unwrap(),
            )
        };
        for codec in ["none", "snappy", "gzip", "zstd", "lz4_raw"] {
            let out = SharedBuffer(Arc::new(Mutex::new(PartBuffer::new(
                usize::MAX,
                Budget::with_limit(usize::MAX),
            ))));
            let mut file = ParquetFile::new(
                &schema,
                codec,
                5 << 20,
                out.clone(),
                Budget::with_limit(usize::MAX),
            )
            .unwrap();
            // More than one Arrow batch.
            let rows: Vec<Value> = (0..2500).map(row).collect();
            for r in &rows {
                file.write(r).unwrap();
            }
            file.finish().unwrap();
            let bytes = ferry_api::lock(&out.0).take_pending().unwrap();
            let (read_schema, values) = read_parquet(bytes, "test").unwrap();
            assert_eq!(read_schema.name(), Some("com.acme.Reading"), "{codec}");
            // int16 comes back as int16 (from the Avro schema's connect.type).
            assert_eq!(values, rows, "{codec}");
        }
    }

    #[test]
    fn a_value_that_does_not_fit_the_schema_is_refused_alone() {
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int64())
            .build();
        let out = SharedBuffer(Arc::new(Mutex::new(PartBuffer::new(
            usize::MAX,
            Budget::with_limit(usize::MAX),
        ))));
        let mut file = ParquetFile::new(
            &schema,
            "snappy",
            5 << 20,
            out,
            Budget::with_limit(usize::MAX),
        )
        .unwrap();
        let other = SchemaBuilder::struct_()
            .field("id", Schema::string())
            .build();
        let bad = Value::Struct(
            Struct::new(other)
                .unwrap()
                .put("id", Value::String("x".into()))
                .unwrap(),
        );
        assert!(matches!(file.write(&bad), Err(S3Error::Record(_))));
        let good = Value::Struct(
            Struct::new(schema)
                .unwrap()
                .put("id", Value::Int64(1))
                .unwrap(),
        );
        file.write(&good).unwrap();
        file.finish().unwrap();
    }

    /// A Parquet file with the schema the sink writes.
    fn file_of(columns: Vec<(&str, ArrayRef)>, avro: &str) -> bytes::Bytes {
        let batch = arrow_array::RecordBatch::try_from_iter(columns).unwrap();
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "parquet.avro.schema".to_owned(),
                avro.to_owned(),
            )]))
            .build();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        out.into()
    }

    #[test]
    fn other_time_units_are_read_as_milliseconds_and_narrow_ints_are_checked() {
        use arrow_array::{
            Int32Array, Time32SecondArray, Time64MicrosecondArray, TimestampNanosecondArray,
        };
        let avro = r#"{"type":"record","name":"R","fields":[
            {"name":"t","type":{"type":"int","logicalType":"time-millis"}},
            {"name":"t64","type":{"type":"int","logicalType":"time-millis"}},
            {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"small","type":{"type":"int","connect.type":"int8"}}]}"#;
        let file = |small: i32| {
            file_of(
                vec![
                    (
                        "t",
                        Arc::new(Time32SecondArray::from(vec![3600])) as ArrayRef,
                    ),
                    (
                        "t64",
                        Arc::new(Time64MicrosecondArray::from(vec![1_500_000])),
                    ),
                    (
                        "ts",
                        Arc::new(TimestampNanosecondArray::from(vec![
                            1_700_000_000_123_456_789,
                        ])),
                    ),
                    ("small", Arc::new(Int32Array::from(vec![small]))),
                ],
                avro,
            )
        };
        let (_, values) = read_parquet(file(5), "ok.parquet").unwrap();
        let Value::Struct(row) = &values[0] else {
            panic!("a struct: {values:?}")
        };
        assert_eq!(row.get("t"), Some(&Value::Time(3_600_000)));
        assert_eq!(row.get("t64"), Some(&Value::Time(1500)));
        assert_eq!(row.get("ts"), Some(&Value::Timestamp(1_700_000_000_123)));
        assert_eq!(row.get("small"), Some(&Value::Int8(5)));
        let e = read_parquet(file(300), "wide.parquet").unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
    }
}
