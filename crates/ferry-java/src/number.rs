//! Java's number parsing and narrowing, which Cast, MaskField and
//! InsertHeader inherit: `Integer.parseInt` and friends,
//! `Double.parseDouble`, `new BigDecimal(String)` and `Number.xxxValue()`.

use ferry_api::Decimal;

use crate::text;

/// `Long.parseLong`: optional sign, ASCII digits, no blanks; `None` where
/// Java throws `NumberFormatException`.
pub fn parse_long(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        // Accumulate negatively so that i64::MIN parses.
        v = v.checked_mul(10)?.checked_sub(d)?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// `Integer.parseInt`.
pub fn parse_int(s: &str) -> Option<i32> {
    parse_long(s).and_then(|v| i32::try_from(v).ok())
}

/// `Short.parseShort`.
pub fn parse_short(s: &str) -> Option<i16> {
    parse_long(s).and_then(|v| i16::try_from(v).ok())
}

/// `Byte.parseByte`.
pub fn parse_byte(s: &str) -> Option<i8> {
    parse_long(s).and_then(|v| i8::try_from(v).ok())
}

/// The text `Double.parseDouble` / `Float.parseFloat` accept, normalised for
/// Rust's parser: blanks trimmed, a type suffix (`1.5f`, `2d`) dropped,
/// Java's spellings of NaN and infinity only. Hexadecimal floating-point
/// literals (`0x1p3`) are not supported.
fn java_float_text(s: &str) -> Option<String> {
    let t = text::trim(s);
    let (sign, body) = match t.as_bytes().first()? {
        b'-' => ("-", &t[1..]),
        b'+' => ("", &t[1..]),
        _ => ("", t),
    };
    if body == "NaN" {
        return Some("NaN".to_owned());
    }
    if body == "Infinity" {
        return Some(format!("{sign}inf"));
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    // Digits, at most one dot, an optional exponent: nothing else.
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut digits = 0;
    let mut dots = 0;
    for b in mantissa.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return None,
        }
    }
    if digits == 0 || dots > 1 {
        return None;
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(format!("{sign}{body}"))
}

/// `Double.parseDouble`.
pub fn parse_double(s: &str) -> Option<f64> {
    java_float_text(s)?.parse().ok()
}

/// `Float.parseFloat` (rounded once, from the decimal text).
pub fn parse_float(s: &str) -> Option<f32> {
    java_float_text(s)?.parse().ok()
}

/// `new BigDecimal(String)`: `None` where Java throws
/// `NumberFormatException`. Values beyond 38 digits are out of Ferry's
/// decimal range and also give `None`.
pub fn parse_big_decimal(s: &str) -> Option<Decimal> {
    // BigDecimal's grammar: sign, digits with an optional dot, exponent.
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if mantissa.is_empty() || mantissa == "." {
        return None;
    }
    if mantissa.bytes().filter(|b| *b == b'.').count() > 1
        || !mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return None;
    }
    if let Some(e) = exp {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Decimal::parse(s).ok()
}

/// `BigDecimal.toBigInteger()` truncated to the low 64 bits: `longValue()`.
pub fn decimal_long_value(d: &Decimal) -> i64 {
    decimal_truncated(d) as i64
}

/// The integer part of a decimal (towards zero), wrapped to 128 bits.
fn decimal_truncated(d: &Decimal) -> i128 {
    if d.scale >= 0 {
        match 10i128.checked_pow(d.scale as u32) {
            Some(f) => d.unscaled / f,
            // 10^39 exceeds any 128-bit unscaled value: the integer part is 0.
            None => 0,
        }
    } else {
        let mut v = d.unscaled;
        for _ in 0..(-(d.scale as i64)).min(200) {
            v = v.wrapping_mul(10);
        }
        v
    }
}

/// `BigDecimal.doubleValue()`: correctly rounded from the exact value.
pub fn decimal_double_value(d: &Decimal) -> f64 {
    format!("{}e{}", d.unscaled, -(d.scale as i64))
        .parse()
        .unwrap_or(f64::NAN)
}

/// `BigDecimal.floatValue()`.
pub fn decimal_float_value(d: &Decimal) -> f32 {
    format!("{}e{}", d.unscaled, -(d.scale as i64))
        .parse()
        .unwrap_or(f32::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_parsing_follows_java() {
        assert_eq!(parse_int("+42"), Some(42));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int(" 1"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_byte("128"), None);
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn float_parsing_follows_java() {
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("1.5f"), Some(1.5));
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("1e"), None);
        assert_eq!(parse_double("."), None);
        assert_eq!(parse_float("0.1"), Some(0.1f32));
    }

    #[test]
    fn decimals_narrow_like_big_decimal() {
        let d = parse_big_decimal("-12.75").unwrap();
        assert_eq!(decimal_long_value(&d), -12);
        assert_eq!(decimal_double_value(&d), -12.75);
        assert_eq!(
            decimal_long_value(&parse_big_decimal("1E+3").unwrap()),
            1000
        );
        assert!(parse_big_decimal("1.2.3").is_none());
        assert!(parse_big_decimal("abc").is_none());
    }
}
