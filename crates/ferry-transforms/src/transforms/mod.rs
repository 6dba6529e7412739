//! Kafka Connect's transformations, and Debezium's `ExtractNewRecordState`
//! and `ByLogicalTableRouter`, one module each.

pub mod by_logical_table_router;
pub mod cast;
pub mod drop_headers;
pub mod extract_field;
pub mod extract_new_record_state;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;

pub use by_logical_table_router::ByLogicalTableRouter;
pub use cast::Cast;
pub use drop_headers::DropHeaders;
pub use extract_field::ExtractField;
pub use extract_new_record_state::ExtractNewRecordState;
pub use filter::Filter;
pub use flatten::Flatten;
pub use header_from::HeaderFrom;
pub use hoist_field::HoistField;
pub use insert_field::InsertField;
pub use insert_header::InsertHeader;
pub use mask_field::MaskField;
pub use regex_router::RegexRouter;
pub use replace_field::ReplaceField;
pub use set_schema_metadata::SetSchemaMetadata;
pub use timestamp_converter::TimestampConverter;
pub use timestamp_router::TimestampRouter;
pub use value_to_key::ValueToKey;
