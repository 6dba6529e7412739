//! What Ferry reproduces of Java and of Kafka Connect's `connect-api`
//! helpers, byte for byte.
//!
//! Kafka Connect's converters, transforms and runtime print numbers and
//! dates, parse user text and word their error messages through JDK classes
//! and a few `connect-api` helpers. Whatever of that reaches a topic, a
//! header, a dead letter queue or a REST response has to come out of Ferry
//! the same, so the converters, the transforms and the runtime all take it
//! from here:
//!
//! - [`float`]: `java.lang.Double.toString` and `Float.toString` (JDK 17's
//!   `jdk.internal.math.FloatingDecimal`);
//! - [`number`]: `Long.parseLong` and friends, `Double.parseDouble`,
//!   `new java.math.BigDecimal(String)` and `Number.longValue()` /
//!   `doubleValue()` of a `BigDecimal`;
//! - [`date`]: `java.text.SimpleDateFormat` on a UTC `GregorianCalendar`,
//!   and `java.util.Date.toString()`;
//! - [`regex`]: `java.util.regex.Pattern` / `Matcher` (`matches`,
//!   `replaceFirst`), translated onto the `regex` crate;
//! - [`text`]: `Object.getClass()` names and `String.valueOf` of Connect
//!   values, and the `toString()` of `ConnectSchema`, `ConnectHeader` and
//!   `ConnectHeaders`;
//! - [`values`]: `org.apache.kafka.connect.data.Values` (`parseString`,
//!   `convertToString`, `asLong`, `asDouble`);
//! - [`hash`]: `String.hashCode()` and `HashMap`'s iteration order.
//!
//! The golden tests of `ferry-convert` and `ferry-transforms` check these
//! against the real JDK and Kafka Connect jars.

pub mod date;
pub mod float;
pub mod hash;
pub mod number;
pub mod regex;
pub mod text;
pub mod values;
