//! Java behaviour the transforms inherit from the JDK and from Kafka
//! Connect's `connect-api`, reproduced so that Ferry's transforms produce
//! the same values, schemas and messages. Public for the golden tests and
//! for other crates that need Java's formatting and parsing rules.

pub mod date;
pub use ferry_api::java_float as float;
pub mod number;
pub mod regex;
pub mod text;
pub mod values;
