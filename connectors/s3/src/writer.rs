//! One Kafka partition's files: Confluent's `TopicPartitionWriter`.
//!
//! Records go into one open file per encoded partition. A rotation —
//! `flush.size` records across the partition's open files, a record
//! `rotate.interval.ms` after the first one's timestamp, a changed value
//! schema, or the wall-clock schedule — commits every open file of the
//! Kafka partition together. Files start at the offset of their first
//! record and end where the data and the configuration say, so after a
//! crash the records after the last committed offset are written again
//! into objects of the same names and contents.
//!
//! A commit's uploads complete in the background; the offset the writer
//! hands to the offset commit only moves past a file set once every one
//! of its objects is complete.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ferry_api::{Schema, SinkRecord, Struct, TopicPartition, Value};
use tokio::task::JoinHandle;

use crate::buffer::Budget;
use crate::config::{FormatKind, NullValues, SchemaCompatibility, SinkConfig};
use crate::error::{Result, S3Error};
use crate::format::FormatWriter;
use crate::storage::{ObjectUpload, Store};

/// An object being written: the format's bytes and their upload.
struct ObjectFile {
    writer: FormatWriter,
    upload: ObjectUpload,
}

impl ObjectFile {
    fn new(
        kind: FormatKind,
        cfg: &SinkConfig,
        store: &Store,
        key: String,
        budget: &Arc<Budget>,
    ) -> Result<ObjectFile> {
        Ok(ObjectFile {
            writer: FormatWriter::new(kind, cfg, &key, budget)?,
            upload: store.upload(key),
        })
    }

    async fn upload_full_parts(&mut self) -> Result<()> {
        for part in self.writer.take_full_parts() {
            self.upload.upload_part(part).await?;
        }
        Ok(())
    }

    /// Uploads what is left and completes the object.
    async fn complete(mut self) -> Result<()> {
        let (parts, last) = self.writer.finish()?;
        for part in parts {
            self.upload.upload_part(part).await?;
        }
        self.upload.complete(last).await
    }
}

/// The files of one encoded partition: the value file, and the keys and
/// headers files when they are stored.
struct OpenFile {
    value: Option<ObjectFile>,
    keys: Option<ObjectFile>,
    headers: Option<ObjectFile>,
    /// The value schema of the file's records (for `schema.compatibility`).
    schema: Option<Schema>,
}

/// A commit whose objects are being completed; `end` is the offset to
/// commit once they are.
struct PendingCommit {
    start: i64,
    end: i64,
    done: JoinHandle<Result<()>>,
}

pub struct PartitionWriter {
    tp: TopicPartition,
    cfg: Arc<SinkConfig>,
    store: Store,
    budget: Arc<Budget>,
    files: HashMap<String, OpenFile>,
    record_count: i64,
    base_ts: Option<i64>,
    current_ts: Option<i64>,
    current_encoded: Option<String>,
    /// The offset after the last record taken: records below it are ones
    /// delivered again after a rewind, and were taken already.
    next_offset: Option<i64>,
    /// The first offset not in a committed (or committing) file set.
    uncommitted_from: Option<i64>,
    pending: VecDeque<PendingCommit>,
    /// The start of a commit that failed, until [`discard`](Self::discard).
    failed_from: Option<i64>,
    offset_to_commit: Option<i64>,
    next_scheduled_rotation: Option<i64>,
    encoded: String,
}

/// What became of a record given to [`PartitionWriter::write`].
pub enum Outcome {
    Written,
    /// Dropped: a null value with `behavior.on.null.values=ignore`, to be
    /// reported when `report.null.values.to.dlq`.
    IgnoredNull,
}

impl PartitionWriter {
    pub fn new(
        tp: TopicPartition,
        cfg: Arc<SinkConfig>,
        store: Store,
        budget: Arc<Budget>,
        now: i64,
    ) -> Self {
        let mut w = PartitionWriter {
            tp,
            cfg,
            store,
            budget,
            files: HashMap::new(),
            record_count: 0,
            base_ts: None,
            current_ts: None,
            current_encoded: None,
            next_offset: None,
            uncommitted_from: None,
            pending: VecDeque::new(),
            failed_from: None,
            offset_to_commit: None,
            next_scheduled_rotation: None,
            encoded: String::new(),
        };
        w.set_next_scheduled_rotation(now);
        w
    }

    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    fn set_next_scheduled_rotation(&mut self, now: i64) {
        let period = self.cfg.rotate_schedule_interval_ms;
        if period <= 0 {
            return;
        }
        let zone = self
            .cfg
            .partitioner
            .time
            .as_ref()
            .map_or_else(crate::partitioner::Zone::utc, |t| t.zone);
        self.next_scheduled_rotation = Some(next_time_adjusted_by_day(now, period, &zone));
    }

    /// Takes one record (in offset order). `now` is the wall-clock time of
    /// the write.
    pub async fn write(&mut self, record: &SinkRecord, now: i64) -> Result<Outcome> {
        let offset = record.original_kafka_offset();
        if self.next_offset.is_some_and(|n| offset < n) {
            return Ok(Outcome::Written);
        }
        if record.value.is_null() {
            match self.cfg.null_values {
                NullValues::Fail => {
                    return Err(S3Error::Record(format!(
                        "Null valued records are not writeable with current behavior.on.null.values 'fail' settings (topic {} partition {} offset {offset})",
                        record.topic, record.kafka_partition
                    )))
                }
                NullValues::Ignore => {
                    self.next_offset = Some(offset + 1);
                    return Ok(Outcome::IgnoredNull);
                }
                NullValues::Write => {}
            }
        }
        let time = self.cfg.partitioner.time.as_ref();
        let ts = match time {
            // Null values' times are the records' own (Confluent's
            // TombstoneTimestampExtractor).
            Some(_) if record.value.is_null() => record.timestamp,
            Some(t) => Some(t.extractor.extract(record, now)?),
            None => None,
        };
        let mut encoded = std::mem::take(&mut self.encoded);
        if record.value.is_null() {
            encoded.clear();
            encoded.push_str(&self.cfg.tombstone_partition);
        } else {
            self.cfg.partitioner.encode(record, ts, &mut encoded)?;
        }
        let result = self.write_encoded(record, offset, ts, &encoded, now).await;
        self.encoded = encoded;
        result.map(|()| Outcome::Written)
    }

    async fn write_encoded(
        &mut self,
        record: &SinkRecord,
        offset: i64,
        ts: Option<i64>,
        encoded: &str,
        now: i64,
    ) -> Result<()> {
        // Whatever would refuse the record is checked before it takes
        // part in rotations or is written anywhere.
        if !record.value.is_null() {
            FormatWriter::check(self.cfg.format, record.value_schema.as_ref(), &record.value)?;
        }
        if self.cfg.keys_format.is_some() && record.key.is_null() {
            return Err(S3Error::Record(format!(
                "Key cannot be null for SinkRecord (topic {} partition {} offset {offset}) with store.kafka.keys=true",
                record.topic, record.kafka_partition
            )));
        }
        // Parquet files hold records: the key goes into one.
        let enveloped_key = match self.cfg.keys_format {
            Some(FormatKind::Parquet) => Some(key_envelope(record)?),
            _ => None,
        };
        let headers = match self.cfg.headers_format {
            Some(kind) => Some(headers_view(record, kind != FormatKind::Avro)?),
            None => None,
        };
        if let Some(kind) = self.cfg.keys_format {
            match &enveloped_key {
                Some((ks, kv)) => FormatWriter::check(kind, Some(ks), kv)?,
                None => FormatWriter::check(kind, record.key_schema.as_ref(), &record.key)?,
            }
        }
        if let (Some(kind), Some((hs, hv))) = (self.cfg.headers_format, &headers) {
            FormatWriter::check(kind, Some(hs), hv)?;
        }
        if self.base_ts.is_none() {
            self.base_ts = ts;
        }
        if ts.is_some() {
            self.current_ts = ts;
        }
        let schema = record.value_schema.as_ref();
        // Rotations decided before the record is written: it starts the
        // next file set.
        let file_schema = self.files.get(encoded).map(|f| f.schema.as_ref());
        let null_switch = file_schema.is_some_and(|s| s.is_none() != schema.is_none());
        let incompatible = self.record_count > 0
            && match file_schema {
                Some(Some(current)) if schema.is_some() => schema_changes(
                    self.cfg.schema_compatibility,
                    current,
                    schema.unwrap_or(current),
                ),
                _ => false,
            };
        if null_switch || self.rotate_on_time(encoded, ts, now) || incompatible {
            self.commit_files(now);
            // The record starts the next file set: its time is the base.
            self.base_ts = ts;
        }
        let opened_now = !self.files.contains_key(encoded);
        if opened_now {
            let file = self.open_file(record, offset, encoded)?;
            self.files.insert(encoded.to_owned(), file);
        }
        let file = self
            .files
            .get_mut(encoded)
            .ok_or_else(|| S3Error::Config("open file vanished".into()))?;
        // A record of an older or newer compatible schema is written in
        // the file's (`SchemaProjector`), as Confluent's writer does.
        let projected;
        let (value, value_schema) = match (&file.schema, schema) {
            (Some(current), Some(s)) if !s.same_instance(current) && s != current => {
                projected = project(&record.value, s, current)?;
                (&projected, Some(current))
            }
            _ => (&record.value, schema),
        };
        if let Some(v) = &mut file.value {
            if let Err(e) = v.writer.write(&record.topic, value_schema, value) {
                // A file the refused record would have started is not left
                // behind, empty and named after it.
                if opened_now {
                    if let Some(f) = self.files.remove(encoded) {
                        for mut o in [f.value, f.keys, f.headers].into_iter().flatten() {
                            o.upload.abort().await;
                        }
                    }
                }
                return Err(e);
            }
            v.upload_full_parts().await?;
        }
        // The value is in its file: a key or headers file that refused the
        // record now would no longer line up with it, row for row.
        let misaligned = |e: S3Error| {
            match e {
            S3Error::Record(m) => S3Error::Config(format!(
                "the record at offset {offset} was written to its value file but its key or headers could not be: {m}"
            )),
            other => other,
        }
        };
        if let Some(k) = &mut file.keys {
            match &enveloped_key {
                Some((ks, kv)) => k.writer.write(&record.topic, Some(ks), kv),
                None => k
                    .writer
                    .write(&record.topic, record.key_schema.as_ref(), &record.key),
            }
            .map_err(misaligned)?;
            k.upload_full_parts().await?;
        }
        if let (Some(h), Some((hs, hv))) = (&mut file.headers, &headers) {
            h.writer
                .write(&record.topic, Some(hs), hv)
                .map_err(misaligned)?;
            h.upload_full_parts().await?;
        }
        if file.schema.is_none() {
            file.schema = record.value_schema.clone();
        }
        if self.uncommitted_from.is_none() {
            self.uncommitted_from = Some(offset);
        }
        self.next_offset = Some(offset + 1);
        self.current_encoded = Some(encoded.to_owned());
        self.record_count += 1;
        if self.record_count >= self.cfg.flush_size {
            self.commit_files(now);
        }
        Ok(())
    }

    fn open_file(&self, record: &SinkRecord, offset: i64, encoded: &str) -> Result<OpenFile> {
        let cfg = &*self.cfg;
        let base = self.object_base(record, offset, encoded);
        let tombstone = record.value.is_null();
        let value = if tombstone {
            None
        } else {
            Some(ObjectFile::new(
                cfg.format,
                cfg,
                &self.store,
                format!("{base}{}", cfg.extension(cfg.format)),
                &self.budget,
            )?)
        };
        let keys = match cfg.keys_format {
            Some(kind) => Some(ObjectFile::new(
                kind,
                cfg,
                &self.store,
                format!("{base}.keys{}", cfg.extension(kind)),
                &self.budget,
            )?),
            None => None,
        };
        let headers = match cfg.headers_format {
            Some(kind) => Some(ObjectFile::new(
                kind,
                cfg,
                &self.store,
                format!("{base}.headers{}", cfg.extension(kind)),
                &self.budget,
            )?),
            None => None,
        };
        Ok(OpenFile {
            value,
            keys,
            headers,
            schema: record.value_schema.clone(),
        })
    }

    /// `<topics.dir>/<topic>/<encoded>/<topic>+<partition>+<offset>`, the
    /// extension left out.
    fn object_base(&self, record: &SinkRecord, offset: i64, encoded: &str) -> String {
        let cfg = &*self.cfg;
        let d = &cfg.directory_delim;
        let f = &cfg.file_delim;
        let mut key = String::new();
        if !cfg.topics_dir.trim().is_empty() {
            key.push_str(&cfg.topics_dir);
            key.push_str(d);
        }
        let width = cfg.zero_pad_width;
        key.push_str(&format!(
            "{topic}{d}{encoded}{d}{topic}{f}{partition}{f}{offset:0width$}",
            topic = record.topic,
            partition = record.kafka_partition,
        ));
        key
    }

    fn rotate_on_time(&self, encoded: &str, ts: Option<i64>, now: i64) -> bool {
        if self.record_count <= 0 {
            return false;
        }
        let cfg = &*self.cfg;
        let periodic = cfg.rotate_interval_ms > 0
            && cfg.partitioner.time.is_some()
            && (matches!((self.base_ts, ts), (Some(b), Some(t)) if t - b >= cfg.rotate_interval_ms)
                || (cfg.rotate_on_partition_change
                    && self
                        .current_encoded
                        .as_deref()
                        .is_some_and(|c| c != encoded)
                    && !(cfg.null_values == NullValues::Write
                        && (encoded == cfg.tombstone_partition
                            || self.current_encoded.as_deref()
                                == Some(&cfg.tombstone_partition)))));
        let scheduled = self.next_scheduled_rotation.is_some_and(|next| now >= next);
        periodic || scheduled
    }

    /// Closes every open file and completes their uploads in the
    /// background; the offset after the last record is committed once
    /// they are complete.
    fn commit_files(&mut self, now: i64) {
        let files: Vec<ObjectFile> = self
            .files
            .drain()
            .flat_map(|(_, f)| [f.value, f.keys, f.headers])
            .flatten()
            .filter(|o| !o.writer.is_empty())
            .collect();
        let end = self.next_offset.unwrap_or(0);
        let start = self.uncommitted_from.unwrap_or(end);
        let done = tokio::spawn(async move {
            let results =
                futures::future::join_all(files.into_iter().map(ObjectFile::complete)).await;
            results.into_iter().collect::<Result<Vec<()>>>().map(|_| ())
        });
        self.pending.push_back(PendingCommit { start, end, done });
        self.record_count = 0;
        self.base_ts = None;
        self.current_encoded = None;
        self.uncommitted_from = None;
        self.set_next_scheduled_rotation(now);
    }

    /// A record the format refused and the task reported (dead letter
    /// queue): it is behind the partition from now on.
    pub fn refused(&mut self, offset: i64) {
        self.next_offset = Some(self.next_offset.map_or(offset + 1, |n| n.max(offset + 1)));
    }

    /// Commits on the wall-clock schedule when no record came to do it
    /// (called between batches).
    pub fn rotate_if_scheduled(&mut self, now: i64) {
        match self.next_scheduled_rotation {
            Some(next) if now >= next => {
                if self.record_count > 0 {
                    self.commit_files(now);
                } else {
                    self.set_next_scheduled_rotation(now);
                }
            }
            _ => {}
        }
    }

    /// Collects finished commits: the offset they make safe, or the first
    /// failure (then [`discard`](Self::discard) before going on). With
    /// `wait`, waits for all of them.
    pub async fn settle(&mut self, wait: bool) -> Result<()> {
        while let Some(front) = self.pending.front_mut() {
            if !wait && !front.done.is_finished() {
                break;
            }
            match (&mut front.done).await {
                Ok(Ok(())) => {
                    self.offset_to_commit = Some(front.end);
                    self.pending.pop_front();
                }
                Ok(Err(e)) => {
                    self.failed_from = Some(front.start);
                    self.pending.pop_front();
                    return Err(e);
                }
                Err(e) => {
                    self.failed_from = Some(front.start);
                    self.pending.pop_front();
                    return Err(S3Error::Unavailable {
                        context: format!(
                            "completing files of {}-{}",
                            self.tp.topic, self.tp.partition
                        ),
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(())
    }

    /// The offset safe to commit now, if it moved: after the last
    /// complete file set, or after the last record taken when no file is
    /// open (ignored null values).
    pub fn offset_to_commit(&self) -> Option<i64> {
        if self.files.is_empty() && self.pending.is_empty() && self.failed_from.is_none() {
            return self.next_offset.or(self.offset_to_commit);
        }
        self.offset_to_commit
    }

    /// Drops open files and commits in flight (their multipart uploads
    /// aborted, best effort). Returns where consumption must resume: the
    /// first record in no complete file set, delivered again from there.
    pub async fn discard(&mut self) -> Option<i64> {
        let resume = self
            .failed_from
            .take()
            .or(self.pending.front().map(|p| p.start))
            .or(self.uncommitted_from)
            .or(self.next_offset);
        for p in self.pending.drain(..) {
            p.done.abort();
        }
        for (_, f) in self.files.drain() {
            for mut o in [f.value, f.keys, f.headers].into_iter().flatten() {
                o.upload.abort().await;
            }
        }
        self.record_count = 0;
        self.base_ts = None;
        self.current_encoded = None;
        self.uncommitted_from = None;
        self.next_offset = resume;
        resume
    }

    /// Bytes this partition holds in memory.
    pub fn buffered(&mut self) -> usize {
        self.files
            .values_mut()
            .flat_map(|f| [&mut f.value, &mut f.keys, &mut f.headers])
            .flatten()
            .map(|o| o.writer.buffered())
            .sum()
    }
}

/// Whether a record of schema `new` cannot go into a file of schema
/// `current` (`StorageSchemaCompatibility.shouldChangeSchema`).
fn schema_changes(mode: SchemaCompatibility, current: &Schema, new: &Schema) -> bool {
    if current.same_instance(new) {
        return false;
    }
    match mode {
        SchemaCompatibility::None => current != new,
        SchemaCompatibility::Backward | SchemaCompatibility::Full => {
            current != new && new.version().unwrap_or(0) > current.version().unwrap_or(0)
                || !projectable(new, current)
        }
        SchemaCompatibility::Forward => {
            current != new && new.version().unwrap_or(0) < current.version().unwrap_or(0)
                || !projectable(new, current)
        }
    }
}

/// Whether values of `source` can be projected onto `target` (Kafka
/// Connect's `SchemaProjector`): same types and names, and every field of
/// the target either in the source or optional or defaulted.
fn projectable(source: &Schema, target: &Schema) -> bool {
    use ferry_api::SchemaType;
    if source.schema_type() != target.schema_type()
        || source.name() != target.name()
        || (source.is_optional() && !target.is_optional())
    {
        return false;
    }
    match target.schema_type() {
        SchemaType::Struct => target.fields().iter().all(|f| match source.field(&f.name) {
            Some(sf) => projectable(&sf.schema, &f.schema),
            None => f.schema.is_optional() || f.schema.default_value().is_some(),
        }),
        SchemaType::Array => match (source.value_schema(), target.value_schema()) {
            (Some(s), Some(t)) => projectable(s, t),
            _ => false,
        },
        SchemaType::Map => match (
            source.key_schema(),
            target.key_schema(),
            source.value_schema(),
            target.value_schema(),
        ) {
            (Some(sk), Some(tk), Some(sv), Some(tv)) => projectable(sk, tk) && projectable(sv, tv),
            _ => false,
        },
        _ => true,
    }
}

/// `SchemaProjector.project`: `value` of schema `source` as a value of
/// the compatible schema `target` (fields the source lacks take their
/// default, or null).
fn project(value: &Value, source: &Schema, target: &Schema) -> Result<Value> {
    use ferry_api::SchemaType;
    Ok(match (target.schema_type(), value) {
        (_, Value::Null) => target.default_value().cloned().unwrap_or(Value::Null),
        (SchemaType::Struct, Value::Struct(s)) => {
            let mut out = Struct::new(target.clone())?;
            for f in target.fields() {
                let v = match source.field(&f.name) {
                    Some(sf) => project(s.get_at(sf.index), &sf.schema, &f.schema)?,
                    None => f.schema.default_value().cloned().unwrap_or(Value::Null),
                };
                out.set(&f.name, v)?;
            }
            Value::Struct(out)
        }
        (SchemaType::Array, Value::Array(items)) => {
            match (source.value_schema(), target.value_schema()) {
                (Some(si), Some(ti)) => Value::Array(
                    items
                        .iter()
                        .map(|x| project(x, si, ti))
                        .collect::<Result<Vec<_>>>()?,
                ),
                _ => value.clone(),
            }
        }
        (SchemaType::Map, Value::Map(entries)) => match (
            source.key_schema(),
            target.key_schema(),
            source.value_schema(),
            target.value_schema(),
        ) {
            (Some(sk), Some(tk), Some(sv), Some(tv)) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((project(k, sk, tk)?, project(v, sv, tv)?)))
                    .collect::<Result<Vec<_>>>()?,
            ),
            _ => value.clone(),
        },
        _ => value.clone(),
    })
}

/// The key as Confluent's enveloped key view: `RecordKey{key}`.
fn key_envelope(record: &SinkRecord) -> Result<(Schema, Value)> {
    let key_schema = record.key_schema.clone().ok_or_else(|| {
        S3Error::Record(format!(
            "ParquetFormat needs keys with a schema (topic {} partition {} offset {})",
            record.topic, record.kafka_partition, record.kafka_offset
        ))
    })?;
    let schema = ferry_api::SchemaBuilder::struct_()
        .name("RecordKey")
        .field("key", key_schema)
        .build();
    let value = Struct::new(schema.clone())?.put("key", record.key.clone())?;
    Ok((schema, Value::Struct(value)))
}

/// Confluent's header view: `[{"key", "value"}]` with each value as Kafka
/// Connect's `Values.convertToString` writes it; `enveloped` (JSON,
/// Parquet) as the `headers` field of a `RecordHeaders` struct.
fn headers_view(record: &SinkRecord, enveloped: bool) -> Result<(Schema, Value)> {
    use ferry_api::SchemaBuilder;
    if record.headers.iter().next().is_none() {
        return Err(S3Error::Record(format!(
            "Headers cannot be null for SinkRecord (topic {} partition {} offset {}) with store.kafka.headers=true",
            record.topic, record.kafka_partition, record.kafka_offset
        )));
    }
    let entry = SchemaBuilder::struct_()
        .field("key", Schema::string())
        .field("value", Schema::string())
        .build();
    let list_schema = SchemaBuilder::array(entry.clone()).build();
    let mut list = Vec::new();
    for h in record.headers.iter() {
        let s = Struct::new(entry.clone())?
            .put("key", Value::String(h.key.clone()))?
            .put(
                "value",
                Value::String(ferry_java::values::convert_to_string(&h.value)),
            )?;
        list.push(Value::Struct(s));
    }
    if !enveloped {
        return Ok((list_schema, Value::Array(list)));
    }
    let schema = SchemaBuilder::struct_()
        .name("RecordHeaders")
        .field("headers", list_schema)
        .build();
    let value = Struct::new(schema.clone())?.put("headers", Value::Array(list))?;
    Ok((schema, Value::Struct(value)))
}

/// `DateTimeUtils.getNextTimeAdjustedByDay`: the next multiple of
/// `period` after local midnight, cut at the next midnight.
fn next_time_adjusted_by_day(now: i64, period: i64, zone: &crate::partitioner::Zone) -> i64 {
    use chrono::{Duration, TimeZone};
    let local = zone.at(now);
    let start_of_day = local
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| local.offset().from_local_datetime(&t).single())
        .map_or(now, |t| t.timestamp_millis());
    let day_len = Duration::days(1).num_milliseconds();
    let next = ((now - start_of_day) / period + 1) * period;
    start_of_day + next.min(day_len)
}

impl Drop for PartitionWriter {
    fn drop(&mut self) {
        // Commits nobody waits for any more (a revoked partition) must not
        // go on completing objects behind the next owner's rewrite.
        for p in &self.pending {
            p.done.abort();
        }
    }
}
