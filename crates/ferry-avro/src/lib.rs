//! Kafka Connect data as Avro, the way Confluent's `AvroData` maps it:
//!
//! - [`schema`]: Connect schema → Avro schema (names, optional unions,
//!   logical types, `connect.*` properties), written byte for byte as
//!   Avro's `Schema.toString()`;
//! - [`encode`]: Connect values in Avro's binary encoding;
//! - [`decode`]: Avro schemas and data back to Connect (`toConnectSchema`,
//!   `toConnectData`), and container files read back;
//! - [`container`]: object container files (`.avro`), with the `null`,
//!   `deflate` and `snappy` codecs.

pub mod container;
pub mod decode;
pub mod encode;
pub mod schema;

pub use container::{Codec, ContainerWriter};
pub use schema::{from_connect, AvroSchema, Converted};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AvroError {
    /// A value that does not fit its schema, or a setting not supported.
    #[error("{0}")]
    Value(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
