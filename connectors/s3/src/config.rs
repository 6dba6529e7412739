//! Configuration keys, defaults and cross-key checks of the S3 sink:
//! Confluent's `S3SinkConnectorConfig` with `StorageSinkConnectorConfig`,
//! `StorageCommonConfig` and `PartitionerConfig`, declared once here.

use std::time::Duration;

use ferry_api::config::{ConfigDef, ConfigValue, Importance, Key, Password, Validator};
use ferry_api::{ParsedConfig, Props};

use crate::error::{Result, S3Error};
use crate::partitioner::PartitionerConfig;
use crate::storage::Encryption;

pub const BUCKET: Key<String> = Key::new("s3.bucket.name");
pub const REGION: Key<String> = Key::new("s3.region");
pub const STORE_URL: Key<Option<String>> = Key::new("store.url");
pub const PATH_STYLE: Key<bool> = Key::new("s3.path.style.access.enabled");
pub const ACCESS_KEY_ID: Key<String> = Key::new("aws.access.key.id");
pub const SECRET_ACCESS_KEY: Key<Option<Password>> = Key::new("aws.secret.access.key");
pub const CREDENTIALS_PROVIDER: Key<String> = Key::new("s3.credentials.provider.class");
pub const PART_SIZE: Key<i32> = Key::new("s3.part.size");
pub const PART_RETRIES: Key<i32> = Key::new("s3.part.retries");
pub const S3_RETRY_BACKOFF_MS: Key<i64> = Key::new("s3.retry.backoff.ms");
pub const COMPRESSION_TYPE: Key<String> = Key::new("s3.compression.type");
pub const COMPRESSION_LEVEL: Key<i32> = Key::new("s3.compression.level");
pub const SSEA_NAME: Key<String> = Key::new("s3.ssea.name");
pub const SSE_CUSTOMER_KEY: Key<Option<Password>> = Key::new("s3.sse.customer.key");
pub const SSE_KMS_KEY_ID: Key<String> = Key::new("s3.sse.kms.key.id");
pub const ACL_CANNED: Key<Option<String>> = Key::new("s3.acl.canned");
pub const WAN_MODE: Key<bool> = Key::new("s3.wan.mode");
pub const OBJECT_TAGGING: Key<bool> = Key::new("s3.object.tagging");
/// Ferry's: the memory the worker's S3 sink tasks may buffer together.
pub const BUFFER_MAX_BYTES: Key<i64> = Key::new("s3.buffer.max.bytes");

pub const STORAGE_CLASS: Key<String> = Key::new("storage.class");
pub const TOPICS_DIR: Key<String> = Key::new("topics.dir");
pub const DIRECTORY_DELIM: Key<String> = Key::new("directory.delim");
pub const FILE_DELIM: Key<String> = Key::new("file.delim");

pub const FORMAT_CLASS: Key<String> = Key::new("format.class");
pub const FLUSH_SIZE: Key<i32> = Key::new("flush.size");
pub const ROTATE_INTERVAL_MS: Key<i64> = Key::new("rotate.interval.ms");
pub const ROTATE_SCHEDULE_INTERVAL_MS: Key<i64> = Key::new("rotate.schedule.interval.ms");
pub const ROTATE_ON_PARTITION_CHANGE: Key<bool> = Key::new("rotate.file.on.partition.change");
pub const SCHEMAS_CACHE_CONFIG: Key<i32> = Key::new("schemas.cache.config");
pub const ENHANCED_AVRO: Key<bool> = Key::new("enhanced.avro.schema.support");
pub const CONNECT_META_DATA: Key<bool> = Key::new("connect.meta.data");
pub const RETRY_BACKOFF_MS: Key<i64> = Key::new("retry.backoff.ms");
pub const ZERO_PAD_WIDTH: Key<i32> = Key::new("filename.offset.zero.pad.width");
pub const AVRO_CODEC: Key<String> = Key::new("avro.codec");
pub const SCHEMA_COMPATIBILITY: Key<String> = Key::new("schema.compatibility");
pub const PARQUET_CODEC: Key<String> = Key::new("parquet.codec");
pub const JSON_DECIMAL_FORMAT: Key<String> = Key::new("json.decimal.format");
pub const BYTEARRAY_EXTENSION: Key<String> = Key::new("format.bytearray.extension");
pub const BYTEARRAY_SEPARATOR: Key<Option<String>> = Key::new("format.bytearray.separator");
pub const BEHAVIOR_ON_NULL_VALUES: Key<String> = Key::new("behavior.on.null.values");
pub const REPORT_NULLS_TO_DLQ: Key<bool> = Key::new("report.null.values.to.dlq");
pub const TOMBSTONE_PARTITION: Key<String> = Key::new("tombstone.encoded.partition");
pub const STORE_KEYS: Key<bool> = Key::new("store.kafka.keys");
pub const STORE_HEADERS: Key<bool> = Key::new("store.kafka.headers");
pub const KEYS_FORMAT_CLASS: Key<String> = Key::new("keys.format.class");
pub const HEADERS_FORMAT_CLASS: Key<String> = Key::new("headers.format.class");

pub const PARTITIONER_CLASS: Key<String> = Key::new("partitioner.class");
pub const PARTITION_FIELD_NAME: Key<Vec<String>> = Key::new("partition.field.name");
pub const PARTITION_DURATION_MS: Key<i64> = Key::new("partition.duration.ms");
pub const PATH_FORMAT: Key<String> = Key::new("path.format");
pub const LOCALE: Key<String> = Key::new("locale");
pub const TIMEZONE: Key<String> = Key::new("timezone");
pub const TIMESTAMP_EXTRACTOR: Key<String> = Key::new("timestamp.extractor");
pub const TIMESTAMP_FIELD: Key<String> = Key::new("timestamp.field");

const S3_STORAGE: &str = "io.confluent.connect.s3.storage.S3Storage";
const DEFAULT_CREDENTIALS: &str =
    "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider";
const AVRO_FORMAT: &str = "io.confluent.connect.s3.format.avro.AvroFormat";
const MIN_PART_SIZE: i32 = 5 * 1024 * 1024;

/// The formats of `format.class`, `keys.format.class` and
/// `headers.format.class`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatKind {
    Json,
    ByteArray,
    Avro,
    Parquet,
}

impl FormatKind {
    /// The class name or its simple name (`JsonFormat`).
    pub fn parse(class: &str) -> Option<FormatKind> {
        let simple = class.rsplit('.').next().unwrap_or(class);
        match simple {
            "JsonFormat" => Some(FormatKind::Json),
            "ByteArrayFormat" => Some(FormatKind::ByteArray),
            "AvroFormat" => Some(FormatKind::Avro),
            "ParquetFormat" => Some(FormatKind::Parquet),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip { level: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullValues {
    Ignore,
    Fail,
    Write,
}

/// `schema.compatibility`: what a change of value schema does to the open
/// file. Any value but these three is NONE, as in Confluent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaCompatibility {
    None,
    Backward,
    Forward,
    Full,
}

/// How the task reaches the bucket.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub bucket: String,
    pub region: String,
    pub store_url: Option<String>,
    pub path_style_access: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub part_size: usize,
    pub part_retries: u32,
    pub retry_backoff: Duration,
    pub encryption: Encryption,
    pub acl: Option<aws_sdk_s3::types::ObjectCannedAcl>,
}

/// Everything the sink task reads from its configuration.
#[derive(Clone, Debug)]
pub struct SinkConfig {
    pub store: StoreConfig,
    pub topics_dir: String,
    pub directory_delim: String,
    pub file_delim: String,
    pub zero_pad_width: usize,
    pub format: FormatKind,
    pub compression: Compression,
    pub flush_size: i64,
    pub rotate_interval_ms: i64,
    pub rotate_schedule_interval_ms: i64,
    pub rotate_on_partition_change: bool,
    pub schema_compatibility: SchemaCompatibility,
    pub null_values: NullValues,
    pub report_nulls: bool,
    pub tombstone_partition: String,
    pub keys_format: Option<FormatKind>,
    pub headers_format: Option<FormatKind>,
    pub json_decimal_numeric: bool,
    pub schemas_cache_size: i32,
    pub bytearray_extension: String,
    pub bytearray_separator: Vec<u8>,
    pub avro_codec: String,
    pub parquet_codec: String,
    pub retry_backoff: Duration,
    pub partitioner: PartitionerConfig,
    pub buffer_max_bytes: usize,
}

fn one_of(values: &'static [&'static str]) -> Validator {
    Validator::OneOf(values.to_vec())
}

pub(crate) fn check_format(_k: &str, v: &ConfigValue) -> std::result::Result<(), String> {
    match v {
        ConfigValue::String(s) if FormatKind::parse(s).is_none() => Err(format!(
            "Class {s} is not a known format: use io.confluent.connect.s3.format.json.JsonFormat, \
             avro.AvroFormat, parquet.ParquetFormat or bytearray.ByteArrayFormat"
        )),
        _ => Ok(()),
    }
}

fn check_timezone(_k: &str, v: &ConfigValue) -> std::result::Result<(), String> {
    match v {
        ConfigValue::String(s) if !s.is_empty() => crate::partitioner::parse_zone(s).map(|_| ()),
        _ => Ok(()),
    }
}

/// The keys that say how to reach the bucket, the sink's and the source's.
pub fn define_store_keys(d: &mut ConfigDef) {
    let g = "S3";
    d.define_key(BUCKET)
        .validator(Validator::NonEmptyString)
        .importance(Importance::High)
        .group(g)
        .doc("The S3 Bucket.");
    d.define_key(REGION)
        .default("us-west-2")
        .importance(Importance::Medium)
        .group(g)
        .doc("The AWS region to be used the connector.");
    d.define_key(STORE_URL)
        .importance(Importance::High)
        .group(g)
        .doc("Store's connection URL, if applicable (an S3-compatible server's endpoint).");
    d.define_key(PATH_STYLE)
        .default(true)
        .importance(Importance::Low)
        .group(g)
        .doc("Specifies whether or not to enable path style access to the bucket used by the connector.");
    d.define_key(ACCESS_KEY_ID)
        .default("")
        .importance(Importance::High)
        .group(g)
        .doc("The AWS access key ID used to authenticate personal AWS credentials; with the secret, instead of the default credential chain.");
    d.define_key(SECRET_ACCESS_KEY)
        .importance(Importance::High)
        .group(g)
        .doc("The secret access key used to authenticate personal AWS credentials.");
    d.define_key(CREDENTIALS_PROVIDER)
        .default(DEFAULT_CREDENTIALS)
        .validator(one_of(&[DEFAULT_CREDENTIALS]))
        .importance(Importance::Low)
        .group(g)
        .doc("Credentials provider: the default chain (environment, profile, web identity, container, instance) is the one supported.");
    d.define_key(PART_SIZE)
        .default(26_214_400)
        .validator(Validator::between(
            f64::from(MIN_PART_SIZE),
            f64::from(i32::MAX),
        ))
        .importance(Importance::High)
        .group(g)
        .doc("The Part Size in S3 Multi-part Uploads.");
    d.define_key(PART_RETRIES)
        .default(3)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group(g)
        .doc("Maximum number of retry attempts for failed requests.");
    d.define_key(S3_RETRY_BACKOFF_MS)
        .default(200)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .group(g)
        .doc("How long to wait in milliseconds before attempting the first retry of a failed S3 request.");
    d.define_key(SSEA_NAME)
        .default("")
        .validator(one_of(&["", "AES256", "aws:kms", "aws:kms:dsse"]))
        .importance(Importance::Low)
        .group(g)
        .doc("The S3 Server Side Encryption Algorithm.");
    d.define_key(SSE_CUSTOMER_KEY)
        .importance(Importance::Low)
        .group(g)
        .doc("The S3 Server Side Encryption Customer-Provided Key (SSE-C), base64.");
    d.define_key(SSE_KMS_KEY_ID)
        .default("")
        .importance(Importance::Low)
        .group(g)
        .doc("The name of the AWS Key Management Service (AWS-KMS) key to be used for server side encryption.");
    d.define_key(ACL_CANNED)
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::String(s) if !ACLS.contains(&s.as_str()) => {
                Err(format!("String must be one of: {}", ACLS.join(", ")))
            }
            _ => Ok(()),
        }))
        .importance(Importance::Low)
        .group(g)
        .doc("An S3 canned ACL header value to apply when writing objects.");
    d.define_key(WAN_MODE)
        .default(false)
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::Boolean(true) => Err("S3 transfer acceleration is not supported".into()),
            _ => Ok(()),
        }))
        .importance(Importance::Medium)
        .group(g)
        .doc("Use S3 accelerated endpoint (not supported: false only).");
}

/// The keys that say where objects are and how they are named.
pub fn define_layout_keys(d: &mut ConfigDef) {
    d.define_key(TOPICS_DIR)
        .default("topics")
        .importance(Importance::High)
        .group("Storage")
        .doc("Top level directory to store the data ingested from Kafka.");
    d.define_key(DIRECTORY_DELIM)
        .default("/")
        .importance(Importance::Medium)
        .group("Storage")
        .doc("Directory delimiter pattern");
    d.define_key(FILE_DELIM)
        .default("+")
        .importance(Importance::Medium)
        .group("Storage")
        .doc("File delimiter pattern");
}

/// The connector's keys, with Confluent's defaults.
pub fn sink_config_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    define_store_keys(&mut d);
    define_layout_keys(&mut d);
    let g = "S3";
    d.define_key(COMPRESSION_TYPE)
        .default("none")
        .validator(one_of(&["none", "gzip"]))
        .importance(Importance::Low)
        .group(g)
        .doc("Compression type for files written to S3 (JSON and ByteArray formats).");
    d.define_key(COMPRESSION_LEVEL)
        .default(-1)
        .validator(Validator::between(-1.0, 9.0))
        .importance(Importance::Low)
        .group(g)
        .doc("Compression level for gzip; -1 is the default level.");
    d.define_key(OBJECT_TAGGING)
        .default(false)
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::Boolean(true) => Err("object tagging is not supported".into()),
            _ => Ok(()),
        }))
        .importance(Importance::Low)
        .group(g)
        .doc("Tag S3 objects with start and end offsets and the record count (not supported: false only).");
    // 48 MiB: a worker with 100 open Parquet files stays under 150 MiB
    // (64 MiB took it to 153-160 MiB at the same throughput).
    d.define_key(BUFFER_MAX_BYTES)
        .default(48 * 1024 * 1024)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Medium)
        .group(g)
        .doc("Memory all S3 sink tasks of the worker may hold in open files' buffers together (the smallest value any running connector sets applies); bytes beyond it wait in local temporary files until their part is uploaded.");
    d.define_key(STORAGE_CLASS)
        .default(S3_STORAGE)
        .validator(one_of(&[S3_STORAGE]))
        .importance(Importance::High)
        .group("Storage")
        .doc("The underlying storage layer.");

    let c = "Connector";
    d.define_key(FORMAT_CLASS)
        .validator(Validator::Custom(check_format))
        .importance(Importance::High)
        .group(c)
        .doc("The format class to use when writing data to the store.");
    d.define_key(FLUSH_SIZE)
        .importance(Importance::High)
        .group(c)
        .doc("Number of records written to store before invoking file commits.");
    d.define_key(ROTATE_INTERVAL_MS)
        .default(-1)
        .importance(Importance::High)
        .group(c)
        .doc("The time interval in milliseconds to invoke file commits, by the timestamps the timestamp extractor gives.");
    d.define_key(ROTATE_SCHEDULE_INTERVAL_MS)
        .default(-1)
        .importance(Importance::Medium)
        .group(c)
        .doc("The time interval in milliseconds to periodically invoke file commits, by the wall clock (at least once).");
    d.define_key(ROTATE_ON_PARTITION_CHANGE)
        .default(true)
        .importance(Importance::Low)
        .group(c)
        .doc("With rotate.interval.ms and a time-based partitioner, commit the open files when a record's encoded partition differs from the last one's.");
    d.define_key(SCHEMAS_CACHE_CONFIG)
        .default(1000)
        .importance(Importance::Low)
        .group(c)
        .doc("The size of the schema cache used in the Avro converter.");
    d.define_key(ENHANCED_AVRO)
        .default(true)
        .importance(Importance::Low)
        .group(c)
        .doc("Enable enhanced Avro schema support in AvroConverter: Enum symbol preservation and Package Name awareness.");
    d.define_key(CONNECT_META_DATA)
        .default(true)
        .importance(Importance::Low)
        .group(c)
        .doc("Allow connect converter to add its meta data to the output schema.");
    d.define_key(RETRY_BACKOFF_MS)
        .default(5000)
        .importance(Importance::Low)
        .group(c)
        .doc("The retry backoff in milliseconds after a retriable failure.");
    d.define_key(ZERO_PAD_WIDTH)
        .default(10)
        .validator(Validator::at_least(0.0))
        .importance(Importance::Low)
        .group(c)
        .doc("Width to zero-pad offsets in store's filenames if offsets are too short in order to provide fixed-width filenames that can be ordered by simple lexicographic sorting.");
    d.define_key(AVRO_CODEC)
        .default("null")
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::String(s) if s == "bzip2" => {
                Err("the bzip2 codec is not supported; use null, deflate or snappy".into())
            }
            ConfigValue::String(s) if !["null", "deflate", "snappy"].contains(&s.as_str()) => {
                Err("String must be one of: null, deflate, snappy, bzip2".into())
            }
            _ => Ok(()),
        }))
        .importance(Importance::Low)
        .group(c)
        .doc("The Avro compression codec to be used for output files.");
    d.define_key(SCHEMA_COMPATIBILITY)
        .default("NONE")
        .importance(Importance::High)
        .group("Schema")
        .doc("The schema compatibility rule to use when the connector is observing schema changes: NONE, BACKWARD, FORWARD or FULL.");
    d.define_key(PARQUET_CODEC)
        .default("snappy")
        .validator(one_of(&[
            "none", "snappy", "gzip", "lz4", "lz4_raw", "zstd", "brotli", "lzo",
        ]))
        .importance(Importance::Low)
        .group(c)
        .doc("The Parquet compression codec to be used for output files.");
    d.define_key(JSON_DECIMAL_FORMAT)
        .default("BASE64")
        .validator(Validator::OneOfIgnoreCase(vec!["BASE64", "NUMERIC"]))
        .importance(Importance::Low)
        .group(c)
        .doc("Controls which format json converter will serialize decimals in: BASE64 or NUMERIC.");
    d.define_key(BYTEARRAY_EXTENSION)
        .default(".bin")
        .importance(Importance::Low)
        .group(c)
        .doc("Output file extension for ByteArrayFormat.");
    d.define_key(BYTEARRAY_SEPARATOR)
        .importance(Importance::Low)
        .group(c)
        .doc("String inserted between records for ByteArrayFormat; a line separator by default.");
    d.define_key(BEHAVIOR_ON_NULL_VALUES)
        .default("fail")
        .validator(Validator::OneOfIgnoreCase(vec!["ignore", "fail", "write"]))
        .importance(Importance::Low)
        .group(c)
        .doc("How to handle records with a null value (i.e. Kafka tombstone records): ignore, fail, or write (keys and headers files only, under tombstone.encoded.partition).");
    d.define_key(REPORT_NULLS_TO_DLQ)
        .default(true)
        .importance(Importance::Low)
        .group(c)
        .doc("With behavior.on.null.values=ignore, whether ignored null values are reported to the errant record reporter.");
    d.define_key(TOMBSTONE_PARTITION)
        .default("tombstone")
        .importance(Importance::Low)
        .group(c)
        .doc("The encoded partition of null values with behavior.on.null.values=write.");
    d.define_key(STORE_KEYS)
        .default(false)
        .importance(Importance::Low)
        .group(c)
        .doc("Enable or disable writing keys to storage.");
    d.define_key(STORE_HEADERS)
        .default(false)
        .importance(Importance::Low)
        .group(c)
        .doc("Enable or disable writing headers to storage.");
    d.define_key(KEYS_FORMAT_CLASS)
        .default(AVRO_FORMAT)
        .validator(Validator::Custom(check_format))
        .importance(Importance::Low)
        .group(c)
        .doc("The format class to use when writing keys to the store.");
    d.define_key(HEADERS_FORMAT_CLASS)
        .default(AVRO_FORMAT)
        .validator(Validator::Custom(check_format))
        .importance(Importance::Low)
        .group(c)
        .doc("The format class to use when writing headers to the store.");

    let p = "Partitioner";
    d.define_key(PARTITIONER_CLASS)
        .default("io.confluent.connect.storage.partitioner.DefaultPartitioner")
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::String(s) => crate::partitioner::PartitionerKind::parse(s).map(|_| ()),
            _ => Ok(()),
        }))
        .importance(Importance::High)
        .group(p)
        .doc("The partitioner to use when writing data to the store: DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner.");
    d.define_key(PARTITION_FIELD_NAME)
        .default(Vec::new())
        .importance(Importance::Medium)
        .group(p)
        .doc("The name of the partitioning field when FieldPartitioner is used; dots name nested fields.");
    d.define_key(PARTITION_DURATION_MS)
        .default(-1)
        .importance(Importance::Medium)
        .group(p)
        .doc("The duration of a partition milliseconds used by TimeBasedPartitioner.");
    d.define_key(PATH_FORMAT)
        .default("")
        .importance(Importance::Medium)
        .group(p)
        .doc("This configuration is used to set the format of the data directories when partitioning with TimeBasedPartitioner (Joda-Time pattern).");
    d.define_key(LOCALE)
        .default("")
        .importance(Importance::Medium)
        .group(p)
        .doc("The locale to use when partitioning with TimeBasedPartitioner.");
    d.define_key(TIMEZONE)
        .default("")
        .validator(Validator::Custom(check_timezone))
        .importance(Importance::Medium)
        .group(p)
        .doc("The timezone to use when partitioning with TimeBasedPartitioner.");
    d.define_key(TIMESTAMP_EXTRACTOR)
        .default("Wallclock")
        .validator(Validator::Custom(|_, v| match v {
            ConfigValue::String(s) => crate::partitioner::Extractor::parse_kind(s).map(|_| ()),
            _ => Ok(()),
        }))
        .importance(Importance::Medium)
        .group(p)
        .doc("The extractor that gets the timestamp for records when partitioning with TimeBasedPartitioner: Wallclock, Record or RecordField.");
    d.define_key(TIMESTAMP_FIELD)
        .default("timestamp")
        .importance(Importance::Medium)
        .group(p)
        .doc("The record field to be used as timestamp by the timestamp extractor.");
    d
}

const ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Checks that need more than one key, as Confluent's `validate()` makes them.
pub fn cross_checks(p: &ParsedConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let format = FormatKind::parse(&p.get(FORMAT_CLASS));
    if p.get(COMPRESSION_TYPE) == "gzip"
        && matches!(format, Some(FormatKind::Avro | FormatKind::Parquet))
    {
        out.push((
            COMPRESSION_TYPE.name().to_owned(),
            "s3.compression.type=gzip applies to JsonFormat and ByteArrayFormat only; use avro.codec or parquet.codec".to_owned(),
        ));
    }
    if p.get(BEHAVIOR_ON_NULL_VALUES).eq_ignore_ascii_case("write") && !p.get(STORE_KEYS) {
        out.push((
            BEHAVIOR_ON_NULL_VALUES.name().to_owned(),
            "behavior.on.null.values=write requires store.kafka.keys=true".to_owned(),
        ));
    }
    if p.get(ROTATE_SCHEDULE_INTERVAL_MS) > 0 && p.get(TIMEZONE).is_empty() {
        out.push((
            TIMEZONE.name().to_owned(),
            "Timezone cannot be empty when using scheduled file rotation.".to_owned(),
        ));
    }
    if p.get(FLUSH_SIZE) < 1 {
        out.push((
            FLUSH_SIZE.name().to_owned(),
            "flush.size must be at least 1".to_owned(),
        ));
    }
    if p.get(SSE_CUSTOMER_KEY)
        .is_some_and(|k| !k.value().trim().is_empty())
        && p.get(SSEA_NAME) != "AES256"
    {
        out.push((
            SSE_CUSTOMER_KEY.name().to_owned(),
            "a customer key (SSE-C) needs s3.ssea.name=AES256".to_owned(),
        ));
    }
    if p.get(STORE_HEADERS)
        && FormatKind::parse(&p.get(HEADERS_FORMAT_CLASS)) == Some(FormatKind::ByteArray)
    {
        out.push((
            HEADERS_FORMAT_CLASS.name().to_owned(),
            "headers cannot be written with ByteArrayFormat".to_owned(),
        ));
    }
    if let Err(e) = PartitionerConfig::from_parsed(p) {
        let key = match &e {
            S3Error::Config(m) if m.contains("path.format") => PATH_FORMAT.name(),
            S3Error::Config(m) if m.contains("partition.duration.ms") => {
                PARTITION_DURATION_MS.name()
            }
            S3Error::Config(m) if m.contains("partition.field.name") => PARTITION_FIELD_NAME.name(),
            S3Error::Config(m) if m.contains("locale") => LOCALE.name(),
            _ => TIMEZONE.name(),
        };
        out.push((key.to_owned(), e.to_string()));
    }
    out
}

impl SinkConfig {
    pub fn parse(props: &Props) -> Result<SinkConfig> {
        let p = sink_config_def()
            .parse(props)
            .map_err(|e| S3Error::Config(e.message))?;
        if let Some((_, message)) = cross_checks(&p).into_iter().next() {
            return Err(S3Error::Config(message));
        }
        let format = FormatKind::parse(&p.get(FORMAT_CLASS))
            .ok_or_else(|| S3Error::Config("format.class: unknown format".into()))?;
        let compression = match p.get(COMPRESSION_TYPE).as_str() {
            "gzip" => Compression::Gzip {
                level: u32::try_from(p.get(COMPRESSION_LEVEL)).unwrap_or(6),
            },
            _ => Compression::None,
        };
        let null_values = match p.get(BEHAVIOR_ON_NULL_VALUES).to_ascii_lowercase().as_str() {
            "ignore" => NullValues::Ignore,
            "write" => NullValues::Write,
            _ => NullValues::Fail,
        };
        let schema_compatibility = match p.get(SCHEMA_COMPATIBILITY).as_str() {
            "BACKWARD" => SchemaCompatibility::Backward,
            "FORWARD" => SchemaCompatibility::Forward,
            "FULL" => SchemaCompatibility::Full,
            _ => SchemaCompatibility::None,
        };
        Ok(SinkConfig {
            store: store_config(&p)?,
            topics_dir: p.get(TOPICS_DIR),
            directory_delim: p.get(DIRECTORY_DELIM),
            file_delim: p.get(FILE_DELIM),
            zero_pad_width: usize::try_from(p.get(ZERO_PAD_WIDTH)).unwrap_or(0),
            format,
            compression,
            flush_size: i64::from(p.get(FLUSH_SIZE)),
            rotate_interval_ms: p.get(ROTATE_INTERVAL_MS),
            rotate_schedule_interval_ms: p.get(ROTATE_SCHEDULE_INTERVAL_MS),
            rotate_on_partition_change: p.get(ROTATE_ON_PARTITION_CHANGE),
            schema_compatibility,
            null_values,
            report_nulls: p.get(REPORT_NULLS_TO_DLQ),
            tombstone_partition: p.get(TOMBSTONE_PARTITION),
            keys_format: if p.get(STORE_KEYS) {
                FormatKind::parse(&p.get(KEYS_FORMAT_CLASS))
            } else {
                None
            },
            headers_format: if p.get(STORE_HEADERS) {
                FormatKind::parse(&p.get(HEADERS_FORMAT_CLASS))
            } else {
                None
            },
            json_decimal_numeric: p.get(JSON_DECIMAL_FORMAT).eq_ignore_ascii_case("NUMERIC"),
            schemas_cache_size: p.get(SCHEMAS_CACHE_CONFIG),
            bytearray_extension: p.get(BYTEARRAY_EXTENSION),
            // Raw from the originals, untrimmed, as Confluent reads it.
            bytearray_separator: props
                .get(BYTEARRAY_SEPARATOR.name())
                .map_or_else(|| b"\n".to_vec(), |s| s.as_bytes().to_vec()),
            avro_codec: p.get(AVRO_CODEC),
            parquet_codec: p.get(PARQUET_CODEC),
            retry_backoff: Duration::from_millis(
                u64::try_from(p.get(RETRY_BACKOFF_MS)).unwrap_or(0),
            ),
            partitioner: PartitionerConfig::from_parsed(&p)?,
            buffer_max_bytes: usize::try_from(p.get(BUFFER_MAX_BYTES)).unwrap_or(0),
        })
    }

    /// The value files' extension: `.json`, `.json.gz`, `.bin`, `.avro`,
    /// `.snappy.parquet`…
    pub fn extension(&self, format: FormatKind) -> String {
        let gz = match self.compression {
            Compression::Gzip { .. } => ".gz",
            Compression::None => "",
        };
        match format {
            FormatKind::Json => format!(".json{gz}"),
            FormatKind::ByteArray => format!("{}{gz}", self.bytearray_extension),
            FormatKind::Avro => ".avro".to_owned(),
            FormatKind::Parquet => match self.parquet_codec.as_str() {
                "none" => ".parquet".to_owned(),
                "snappy" => ".snappy.parquet".to_owned(),
                "gzip" => ".gz.parquet".to_owned(),
                "zstd" => ".zstd.parquet".to_owned(),
                "lz4" => ".lz4hadoop.parquet".to_owned(),
                "lz4_raw" => ".lz4raw.parquet".to_owned(),
                "brotli" => ".br.parquet".to_owned(),
                other => format!(".{other}.parquet"),
            },
        }
    }
}

pub(crate) fn store_config(p: &ParsedConfig) -> Result<StoreConfig> {
    let id = p.get(ACCESS_KEY_ID);
    let secret = p.get(SECRET_ACCESS_KEY).map(|s| s.value().to_owned());
    let (access_key_id, secret_access_key) = match (id.trim(), secret) {
        (id, Some(s)) if !id.is_empty() && !s.trim().is_empty() => (Some(id.to_owned()), Some(s)),
        _ => (None, None),
    };
    let ssea = p.get(SSEA_NAME);
    let customer = p
        .get(SSE_CUSTOMER_KEY)
        .map(|k| k.value().trim().to_owned())
        .filter(|k| !k.is_empty());
    let kms = p.get(SSE_KMS_KEY_ID);
    let encryption = match (ssea.as_str(), customer) {
        ("AES256", Some(key)) => Encryption::Customer {
            key_md5: crate::storage::customer_key_md5(&key)?,
            key,
        },
        ("", _) => Encryption::None,
        // aws:kms with no key id: Confluent sends no encryption header.
        ("aws:kms", _) if kms.trim().is_empty() => Encryption::None,
        (alg, _) => Encryption::Server {
            algorithm: aws_sdk_s3::types::ServerSideEncryption::from(alg),
            kms_key_id: Some(kms.trim().to_owned()).filter(|k| !k.is_empty()),
        },
    };
    let store_url = p.get(STORE_URL).filter(|u| !u.trim().is_empty()).map(|u| {
        // Confluent prepends https:// to an endpoint without a scheme.
        if u.contains("://") {
            u
        } else {
            format!("https://{u}")
        }
    });
    Ok(StoreConfig {
        bucket: p.get(BUCKET),
        region: p.get(REGION).trim().to_ascii_lowercase(),
        store_url,
        path_style_access: p.get(PATH_STYLE),
        access_key_id,
        secret_access_key,
        part_size: usize::try_from(p.get(PART_SIZE)).unwrap_or(MIN_PART_SIZE as usize),
        part_retries: u32::try_from(p.get(PART_RETRIES)).unwrap_or(0),
        retry_backoff: Duration::from_millis(
            u64::try_from(p.get(S3_RETRY_BACKOFF_MS)).unwrap_or(0),
        ),
        encryption,
        acl: p
            .get(ACL_CANNED)
            .map(|a| aws_sdk_s3::types::ObjectCannedAcl::from(a.as_str())),
    })
}
