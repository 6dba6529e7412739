//! How Kafka Connect (Java) names and prints values: the class names that
//! appear in its error messages and `Object.toString()`, which
//! `StringConverter` writes.

use ferry_api::Value;

use crate::java_float;
use crate::json::write;

/// `value.getClass()` as Java prints it (`class java.lang.Integer`): the
/// Java class each value variant stands for.
pub fn class_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Boolean(_) => "class java.lang.Boolean",
        Value::Int8(_) => "class java.lang.Byte",
        Value::Int16(_) => "class java.lang.Short",
        Value::Int32(_) => "class java.lang.Integer",
        Value::Int64(_) => "class java.lang.Long",
        Value::Float32(_) => "class java.lang.Float",
        Value::Float64(_) => "class java.lang.Double",
        Value::String(_) => "class java.lang.String",
        Value::Bytes(_) => "class [B",
        Value::Array(_) => "class java.util.ArrayList",
        Value::Map(_) => "class java.util.HashMap",
        Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
        Value::Decimal(_) => "class java.math.BigDecimal",
        Value::Date(_) | Value::Time(_) | Value::Timestamp(_) => "class java.util.Date",
    }
}

/// Appends `String.valueOf(value)` as Kafka Connect's Java objects print.
///
/// Two deliberate differences: bytes print as their (lossy UTF-8) content,
/// where Java prints an identity hash such as `[B@1b6d3586`; and maps print
/// in insertion order, where Java's `HashMap` prints in hash order.
/// `java.util.Date` prints in UTC, the usual time zone of Connect workers.
pub fn write_to_string(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => write::int(out, i64::from(*v)),
        Value::Int16(v) => write::int(out, i64::from(*v)),
        Value::Int32(v) => write::int(out, i64::from(*v)),
        Value::Int64(v) => write::int(out, *v),
        Value::Float32(v) => java_float::write_f32(out, *v),
        Value::Float64(v) => java_float::write_f64(out, *v),
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(String::from_utf8_lossy(b).as_bytes()),
        Value::Decimal(d) => write::big_decimal(out, d),
        Value::Date(days) => write_date(out, i64::from(*days) * MILLIS_PER_DAY),
        Value::Time(ms) => write_date(out, i64::from(*ms)),
        Value::Timestamp(ms) => write_date(out, *ms),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_to_string(out, item);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_to_string(out, k);
                out.push(b'=');
                write_to_string(out, v);
            }
            out.push(b'}');
        }
        Value::Struct(s) => {
            // `Struct.toString()`: set fields only, comma without space.
            out.extend_from_slice(b"Struct{");
            let mut first = true;
            for (field, v) in s.schema().fields().iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(field.name.as_bytes());
                out.push(b'=');
                write_to_string(out, v);
            }
            out.push(b'}');
        }
    }
}

pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
/// Like Java, dates before the Gregorian cut-over (1582-10-15) use the
/// Julian calendar.
fn write_date(out: &mut Vec<u8>, millis: i64) {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_date(days);
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    out.extend_from_slice(DAYS[(days + 4).rem_euclid(7) as usize].as_bytes());
    out.push(b' ');
    out.extend_from_slice(MONTHS[(month - 1) as usize].as_bytes());
    out.push(b' ');
    two(out, day);
    out.push(b' ');
    two(out, ms_of_day / 3_600_000);
    out.push(b':');
    two(out, ms_of_day / 60_000 % 60);
    out.push(b':');
    two(out, ms_of_day / 1000 % 60);
    out.extend_from_slice(b" UTC ");
    write::int(out, year);
}

/// Days since 1970-01-01 to (year, month, day) on Java's default calendar.
fn civil_date(days: i64) -> (i64, i64, i64) {
    // 1582-10-15, the first Gregorian day.
    const GREGORIAN_CUTOVER: i64 = -141_427;
    if days >= GREGORIAN_CUTOVER {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    } else {
        // Julian calendar from the Julian day number.
        let c = days + 2_440_588 + 32_082;
        let d = (4 * c + 3).div_euclid(1461);
        let e = c - (1461 * d).div_euclid(4);
        let m = (5 * e + 2).div_euclid(153);
        let day = e - (153 * m + 2).div_euclid(5) + 1;
        let month = m + 3 - 12 * (m / 10);
        let year = d - 4800 + m / 10;
        (year, month, day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::{Decimal, Schema, SchemaBuilder, Struct};

    fn s(v: &Value) -> String {
        let mut out = Vec::new();
        write_to_string(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates_print_like_java_util_date() {
        assert_eq!(s(&Value::Timestamp(0)), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(s(&Value::Date(19_723)), "Mon Jan 01 00:00:00 UTC 2024");
        assert_eq!(s(&Value::Time(45_296_789)), "Thu Jan 01 12:34:56 UTC 1970");
        assert_eq!(s(&Value::Timestamp(-1)), "Wed Dec 31 23:59:59 UTC 1969");
        assert_eq!(s(&Value::Date(-141_427)), "Fri Oct 15 00:00:00 UTC 1582");
        assert_eq!(s(&Value::Date(-141_428)), "Thu Oct 04 00:00:00 UTC 1582");
    }

    #[test]
    fn containers_print_like_java_collections() {
        let v = Value::Array(vec![Value::Int32(1), Value::Null, "x".into()]);
        assert_eq!(s(&v), "[1, null, x]");
        let m = Value::Map(vec![
            ("a".into(), Value::Float64(1.0)),
            ("b".into(), Value::Decimal(Decimal::new(5, 1))),
        ]);
        assert_eq!(s(&m), "{a=1.0, b=0.5}");
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .field("c", Schema::boolean())
            .build();
        let st = Struct::new(schema)
            .unwrap()
            .put("a", 1)
            .unwrap()
            .put("c", true)
            .unwrap();
        assert_eq!(s(&Value::Struct(st)), "Struct{a=1,c=true}");
    }
}
