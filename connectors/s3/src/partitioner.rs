//! The partitioners of Confluent's storage connectors: the directory
//! ("encoded partition") a record's file goes under, and the timestamp
//! extractors the time-based ones use.

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use ferry_api::{ParsedConfig, SinkRecord, Value};

use crate::config::{
    DIRECTORY_DELIM, LOCALE, PARTITIONER_CLASS, PARTITION_DURATION_MS, PARTITION_FIELD_NAME,
    PATH_FORMAT, TIMESTAMP_EXTRACTOR, TIMESTAMP_FIELD, TIMEZONE,
};
use crate::error::{Result, S3Error};
use crate::joda::JodaFormat;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionerKind {
    Default,
    Field,
    TimeBased,
    Hourly,
    Daily,
}

impl PartitionerKind {
    pub fn parse(class: &str) -> std::result::Result<PartitionerKind, String> {
        match class.rsplit('.').next().unwrap_or(class) {
            "DefaultPartitioner" => Ok(PartitionerKind::Default),
            "FieldPartitioner" => Ok(PartitionerKind::Field),
            "TimeBasedPartitioner" => Ok(PartitionerKind::TimeBased),
            "HourlyPartitioner" => Ok(PartitionerKind::Hourly),
            "DailyPartitioner" => Ok(PartitionerKind::Daily),
            _ => Err(format!(
                "Class {class} is not a known partitioner: use DefaultPartitioner, FieldPartitioner, \
                 TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner of io.confluent.connect.storage.partitioner"
            )),
        }
    }
}

/// A time zone as Joda's `DateTimeZone.forID` accepts it: `UTC`, a region
/// id (`Europe/Paris`), or a fixed offset (`+05:30`).
#[derive(Clone, Copy, Debug)]
pub enum Zone {
    Fixed(FixedOffset),
    Region(Tz),
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }
    fn offset_at(&self, utc_ms: i64) -> FixedOffset {
        let t = Utc
            .timestamp_millis_opt(utc_ms)
            .single()
            .unwrap_or_default();
        match self {
            Zone::Fixed(f) => *f,
            Zone::Region(tz) => tz.offset_from_utc_datetime(&t.naive_utc()).fix(),
        }
    }
    pub fn at(&self, utc_ms: i64) -> DateTime<FixedOffset> {
        let t = Utc
            .timestamp_millis_opt(utc_ms)
            .single()
            .unwrap_or_default();
        t.with_timezone(&self.offset_at(utc_ms))
    }
    /// Joda's `convertLocalToUTC(local, false)`: the offset in force at
    /// that local time (the earlier one when ambiguous, the one after a
    /// gap when skipped).
    fn local_to_utc(&self, local_ms: i64) -> i64 {
        let guess =
            local_ms.saturating_sub(i64::from(self.offset_at(local_ms).local_minus_utc()) * 1000);
        let offset = self.offset_at(guess).local_minus_utc();
        local_ms.saturating_sub(i64::from(offset) * 1000)
    }
}

pub fn parse_zone(id: &str) -> std::result::Result<Zone, String> {
    if id == "UTC" || id == "Z" {
        return Ok(Zone::utc());
    }
    if let Some(rest) = id.strip_prefix('+').or_else(|| id.strip_prefix('-')) {
        let sign = if id.starts_with('-') { -1 } else { 1 };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        if let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) {
            if let Some(f) = FixedOffset::east_opt(sign * (h * 3600 + m * 60)) {
                return Ok(Zone::Fixed(f));
            }
        }
    }
    id.parse::<Tz>()
        .map(Zone::Region)
        .map_err(|_| format!("The datetime zone id '{id}' is not recognised"))
}

/// Where the timestamp of a record comes from (`timestamp.extractor`).
#[derive(Clone, Debug)]
pub enum Extractor {
    /// The time the batch is written.
    Wallclock,
    /// The record's Kafka timestamp.
    Record,
    /// A field of the value (dots for nested fields).
    RecordField(Vec<String>),
}

impl Extractor {
    pub fn parse_kind(name: &str) -> std::result::Result<&'static str, String> {
        match name.rsplit(['.', '$']).next().unwrap_or(name) {
            "Wallclock" | "WallclockTimestampExtractor" => Ok("Wallclock"),
            "Record" | "RecordTimestampExtractor" => Ok("Record"),
            "RecordField" | "RecordFieldTimestampExtractor" => Ok("RecordField"),
            _ => Err(format!(
                "{name} is not a known timestamp extractor: use Wallclock, Record or RecordField"
            )),
        }
    }

    /// The record's timestamp in epoch milliseconds; `now` for Wallclock.
    pub fn extract(&self, record: &SinkRecord, now: i64) -> Result<i64> {
        let missing = || {
            S3Error::Record(format!(
                "Unable to determine timestamp using timestamp.extractor {} for record: {}",
                self.name(),
                describe(record)
            ))
        };
        match self {
            Extractor::Wallclock => Ok(now),
            Extractor::Record => record.timestamp.ok_or_else(missing),
            Extractor::RecordField(path) => {
                let v = nested(&record.value, path).ok_or_else(missing)?;
                match v {
                    Value::Timestamp(ms) | Value::Int64(ms) => Ok(*ms),
                    Value::Int32(n) => Ok(i64::from(*n)),
                    Value::String(s) => parse_time_text(s).ok_or_else(missing),
                    _ => Err(S3Error::Record(format!(
                        "Unsupported type '{}' for user-defined timestamp field '{}'",
                        v.kind_name(),
                        path.join(".")
                    ))),
                }
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Extractor::Wallclock => "WallclockTimestampExtractor",
            Extractor::Record => "RecordTimestampExtractor",
            Extractor::RecordField(_) => "RecordFieldTimestampExtractor",
        }
    }
}

/// Digits are epoch milliseconds; anything else an ISO date-time
/// (UTC when it names no offset).
fn parse_time_text(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

fn describe(record: &SinkRecord) -> String {
    format!(
        "topic {} partition {} offset {}",
        record.topic, record.kafka_partition, record.kafka_offset
    )
}

/// `value.a.b`: a struct's field or a string-keyed map's entry, at each dot.
fn nested<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut v = value;
    for name in path {
        v = match v {
            Value::Struct(s) => s.get(name)?,
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The partitioner's settings, checked.
#[derive(Clone, Debug)]
pub struct PartitionerConfig {
    pub kind: PartitionerKind,
    pub delim: String,
    pub fields: Vec<(String, Vec<String>)>,
    pub time: Option<TimeConfig>,
}

#[derive(Clone, Debug)]
pub struct TimeConfig {
    pub format: JodaFormat,
    pub duration_ms: i64,
    pub zone: Zone,
    pub extractor: Extractor,
}

impl PartitionerConfig {
    pub fn from_parsed(p: &ParsedConfig) -> Result<PartitionerConfig> {
        let kind = PartitionerKind::parse(&p.get(PARTITIONER_CLASS)).map_err(S3Error::Config)?;
        let delim = p.get(DIRECTORY_DELIM);
        let mut fields = Vec::new();
        let mut time = None;
        match kind {
            PartitionerKind::Default => {}
            PartitionerKind::Field => {
                for name in p.get(PARTITION_FIELD_NAME) {
                    let name = name.trim().to_owned();
                    let path: Vec<String> = name.split('.').map(str::to_owned).collect();
                    if name.is_empty() || path.iter().any(String::is_empty) {
                        return Err(S3Error::Config(format!(
                            "partition.field.name: '{name}' is not a field name"
                        )));
                    }
                    fields.push((name, path));
                }
                if fields.is_empty() {
                    return Err(S3Error::Config(
                        "partition.field.name: FieldPartitioner needs at least one field".into(),
                    ));
                }
            }
            PartitionerKind::TimeBased | PartitionerKind::Hourly | PartitionerKind::Daily => {
                let (pattern, duration_ms) = match kind {
                    PartitionerKind::Hourly => (
                        format!(
                            "'year'=YYYY{d}'month'=MM{d}'day'=dd{d}'hour'=HH",
                            d = quote(&delim)
                        ),
                        HOUR_MS,
                    ),
                    PartitionerKind::Daily => (
                        format!("'year'=YYYY{d}'month'=MM{d}'day'=dd", d = quote(&delim)),
                        DAY_MS,
                    ),
                    _ => (p.get(PATH_FORMAT), p.get(PARTITION_DURATION_MS)),
                };
                if duration_ms <= 0 {
                    return Err(S3Error::Config(
                        "partition.duration.ms: TimeBasedPartitioner needs a positive partition duration".into(),
                    ));
                }
                let mut pattern = pattern.trim().to_owned();
                if pattern.is_empty() || pattern == delim {
                    return Err(S3Error::Config(
                        "path.format: TimeBasedPartitioner needs a path format".into(),
                    ));
                }
                if pattern.ends_with(delim.as_str()) {
                    pattern.truncate(pattern.len() - delim.len());
                }
                let format = JodaFormat::parse(&pattern)
                    .map_err(|e| S3Error::Config(format!("path.format: {e}")))?;
                let locale = p.get(LOCALE);
                if locale.trim().is_empty() {
                    return Err(S3Error::Config(
                        "locale: TimeBasedPartitioner needs a locale".into(),
                    ));
                }
                if format.has_text() && !locale.to_ascii_lowercase().starts_with("en") {
                    return Err(S3Error::Config(format!(
                        "locale: month and day names are written in English only; '{locale}' with a path.format that writes names is not supported"
                    )));
                }
                let tz = p.get(TIMEZONE);
                if tz.trim().is_empty() {
                    return Err(S3Error::Config(
                        "timezone: TimeBasedPartitioner needs a timezone".into(),
                    ));
                }
                let zone =
                    parse_zone(tz.trim()).map_err(|e| S3Error::Config(format!("timezone: {e}")))?;
                let extractor = match Extractor::parse_kind(&p.get(TIMESTAMP_EXTRACTOR))
                    .map_err(|e| S3Error::Config(format!("timestamp.extractor: {e}")))?
                {
                    "Record" => Extractor::Record,
                    "RecordField" => Extractor::RecordField(
                        p.get(TIMESTAMP_FIELD)
                            .split('.')
                            .map(str::to_owned)
                            .collect(),
                    ),
                    _ => Extractor::Wallclock,
                };
                time = Some(TimeConfig {
                    format,
                    duration_ms,
                    zone,
                    extractor,
                });
            }
        }
        Ok(PartitionerConfig {
            kind,
            delim,
            fields,
            time,
        })
    }

    /// The directory of `record` under its topic's: `partition=3`,
    /// `region=eu/kind=a`, `year=2024/month=01/day=05/hour=13`. `now` is
    /// the wall-clock time of the write (Wallclock extractor); `ts` the
    /// record's timestamp the extractor gave, for time-based partitioners.
    pub fn encode(&self, record: &SinkRecord, ts: Option<i64>, out: &mut String) -> Result<()> {
        out.clear();
        match self.kind {
            PartitionerKind::Default => {
                out.push_str("partition=");
                out.push_str(&record.kafka_partition.to_string());
            }
            PartitionerKind::Field => {
                if !matches!(record.value, Value::Struct(_) | Value::Map(_)) {
                    return Err(S3Error::Record(format!(
                        "FieldPartitioner needs a struct value; {} has {}",
                        describe(record),
                        record.value.kind_name()
                    )));
                }
                for (i, (name, path)) in self.fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.delim);
                    }
                    out.push_str(name);
                    out.push('=');
                    match nested(&record.value, path) {
                        None | Some(Value::Null) => out.push_str("null"),
                        Some(Value::Int8(n)) => out.push_str(&n.to_string()),
                        Some(Value::Int16(n)) => out.push_str(&n.to_string()),
                        Some(Value::Int32(n)) => out.push_str(&n.to_string()),
                        Some(Value::Int64(n)) => out.push_str(&n.to_string()),
                        Some(Value::String(s)) => out.push_str(s),
                        Some(Value::Boolean(b)) => out.push_str(if *b { "true" } else { "false" }),
                        Some(other) => {
                            return Err(S3Error::Record(format!(
                                "Error encoding partition: field '{name}' of {} is a {}, not a number, string or boolean",
                                describe(record),
                                other.kind_name()
                            )))
                        }
                    }
                }
            }
            _ => {
                let time = self.time.as_ref().ok_or_else(|| {
                    S3Error::Config("time-based partitioner without settings".into())
                })?;
                let ts = ts.ok_or_else(|| {
                    S3Error::Record(format!("no timestamp for {}", describe(record)))
                })?;
                let bucket = time_bucket(time.duration_ms, ts, &time.zone);
                time.format.format_into(&time.zone.at(bucket), out);
            }
        }
        Ok(())
    }
}

/// Confluent's `getPartition`: the timestamp floored to the duration in
/// local time (Java's division, truncating toward zero), back in UTC.
pub fn time_bucket(duration_ms: i64, ts: i64, zone: &Zone) -> i64 {
    // Saturating: a record's timestamp can be any long.
    let local = ts.saturating_add(i64::from(zone.offset_at(ts).local_minus_utc()) * 1000);
    let floored = (local / duration_ms) * duration_ms;
    zone.local_to_utc(floored)
}

/// A directory delimiter inside a Joda pattern: quoted when it holds letters.
fn quote(delim: &str) -> String {
    if delim.chars().any(|c| c.is_ascii_alphabetic() || c == '\'') {
        format!("'{}'", delim.replace('\'', "''"))
    } else {
        delim.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_floor_in_local_time() {
        let utc = parse_zone("UTC").unwrap();
        // 2024-01-05T13:45:00Z
        let ts = 1_704_462_300_000;
        assert_eq!(time_bucket(HOUR_MS, ts, &utc), 1_704_459_600_000);
        let paris = parse_zone("Europe/Paris").unwrap();
        // Local midnight in Paris is 23:00 UTC the day before, in winter.
        assert_eq!(time_bucket(DAY_MS, ts, &paris), 1_704_409_200_000);
        let plus = parse_zone("+05:30").unwrap();
        assert_eq!(plus.at(0).offset().local_minus_utc(), 19_800);
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn timestamps_from_text() {
        assert_eq!(parse_time_text("1704462300000"), Some(1_704_462_300_000));
        assert_eq!(
            parse_time_text("2024-01-05T13:45:00Z"),
            Some(1_704_462_300_000)
        );
        assert_eq!(
            parse_time_text("2024-01-05T13:45:00.000+00:00"),
            Some(1_704_462_300_000)
        );
        assert_eq!(parse_time_text("2024-01-05"), Some(1_704_412_800_000));
        assert_eq!(parse_time_text("yesterday"), None);
    }
}
