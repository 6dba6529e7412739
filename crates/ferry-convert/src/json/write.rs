//! Low-level JSON output, byte-for-byte as Jackson's `UTF8JsonGenerator`
//! writes it with Kafka Connect's settings: compact, non-ASCII as raw UTF-8,
//! control characters as `\u00XX` (upper-case hex) except the five short
//! escapes, doubles and floats in Java's `toString` form, non-finite floats
//! as quoted strings, binary as padded standard base64.
//!
//! Everything appends to a caller-owned buffer; nothing allocates beyond
//! growing that buffer.

use base64::Engine;
use ferry_api::Decimal;

use ferry_java::float as java_float;

/// Per byte: 0 = copy as is, `u` = `\u00XX`, `s` = the lead byte of a
/// character outside the BMP, anything else = backslash + it.
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut lead = 0xF0;
    while lead <= 0xF4 {
        t[lead] = b's';
        lead += 1;
    }
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// A quoted, escaped JSON string. Jackson writes Java's UTF-16 chars, and
/// escapes each half of a surrogate pair (`COMBINE_UNICODE_SURROGATES_IN_UTF8`
/// is off), so characters beyond U+FFFF come out as `\uD83D\uDE00`.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPES[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match esc {
            b'u' => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_UPPER[(b >> 4) as usize]);
                out.push(HEX_UPPER[(b & 0xF) as usize]);
                start = i + 1;
            }
            b's' => {
                // A valid 4-byte sequence (the input is a `str`); its
                // continuation bytes need no escaping, so the loop skips them.
                let cp = (u32::from(b & 0x07) << 18)
                    | (u32::from(bytes[i + 1] & 0x3F) << 12)
                    | (u32::from(bytes[i + 2] & 0x3F) << 6)
                    | u32::from(bytes[i + 3] & 0x3F);
                let v = cp - 0x10000;
                utf16_escape(out, 0xD800 + (v >> 10));
                utf16_escape(out, 0xDC00 + (v & 0x3FF));
                start = i + 4;
            }
            _ => {
                out.push(b'\\');
                out.push(esc);
                start = i + 1;
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn utf16_escape(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX_UPPER[((unit >> shift) & 0xF) as usize]);
    }
}

/// An object key followed by the colon.
pub fn key(out: &mut Vec<u8>, name: &str) {
    string(out, name);
    out.push(b':');
}

/// Quoted standard base64 with padding (Jackson's default
/// `MIME-NO-LINEFEEDS` variant).
pub fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    // 4 output bytes per started 3 input bytes; cannot overflow for any
    // slice that fits in memory.
    let encoded = bytes.len().div_ceil(3) * 4;
    out.resize(start + encoded + 2, b'"');
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start + 1..start + 1 + encoded])
        .unwrap_or(0);
    out.truncate(start + 1 + written);
    out.push(b'"');
}

pub fn int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let digits = u64_digits(v.unsigned_abs(), &mut buf);
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(digits);
}

/// The decimal digits of `v`, written right-aligned into `buf`.
fn u64_digits(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// A double as Jackson writes it: `Double.toString`, but NaN and the
/// infinities as strings (`QUOTE_NON_NUMERIC_NUMBERS` is on by default).
pub fn double(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        java_float::write_f64(out, v);
    } else {
        out.push(b'"');
        java_float::write_f64(out, v);
        out.push(b'"');
    }
}

/// A float as Jackson writes it: `Float.toString`, non-finite quoted.
pub fn float(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        java_float::write_f32(out, v);
    } else {
        out.push(b'"');
        java_float::write_f32(out, v);
        out.push(b'"');
    }
}

/// `BigDecimal.toString()`: plain notation unless the scale is negative or
/// the adjusted exponent is below -6, then `d.dddE±n`.
pub fn big_decimal(out: &mut Vec<u8>, d: &Decimal) {
    let mut buf = [0u8; 40];
    let digits = u128_digits(d.unscaled.unsigned_abs(), &mut buf);
    if d.unscaled < 0 {
        out.push(b'-');
    }
    let scale = i64::from(d.scale);
    let adjusted = -scale + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        let scale = scale as usize;
        if scale == 0 {
            out.extend_from_slice(digits);
        } else if digits.len() > scale {
            let (int_part, frac) = digits.split_at(digits.len() - scale);
            out.extend_from_slice(int_part);
            out.push(b'.');
            out.extend_from_slice(frac);
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (scale - digits.len()), b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'E');
        if adjusted >= 0 {
            out.push(b'+');
        }
        int(out, adjusted);
    }
}

fn u128_digits(mut v: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

/// `BigInteger.toByteArray()` of `v`: minimal big-endian two's complement,
/// borrowed from `buf`.
pub fn twos_complement(v: i128, buf: &mut [u8; 16]) -> &[u8] {
    *buf = v.to_be_bytes();
    let negative = v < 0;
    let mut start = 0;
    while start < buf.len() - 1 {
        let (b, next) = (buf[start], buf[start + 1]);
        let redundant = if negative {
            b == 0xFF && next & 0x80 != 0
        } else {
            b == 0 && next & 0x80 == 0
        };
        if !redundant {
            break;
        }
        start += 1;
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_like_jackson() {
        assert_eq!(s(|o| string(o, "a\"b\\c/d")), r#""a\"b\\c/d""#);
        assert_eq!(
            s(|o| string(o, "\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}")),
            "\"\\n\\r\\t\\b\\f\\u0001\\u001F\u{7f}\""
        );
        assert_eq!(s(|o| string(o, "é€\u{2028}")), "\"é€\u{2028}\"");
        assert_eq!(
            s(|o| string(o, "a😀b\u{10FFFF}")),
            r#""a\uD83D\uDE00b\uDBFF\uDFFF""#
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(s(|o| int(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(s(|o| int(o, 0)), "0");
        assert_eq!(s(|o| double(o, f64::NAN)), "\"NaN\"");
        assert_eq!(s(|o| float(o, f32::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(s(|o| double(o, 1e10)), "1.0E10");
    }

    #[test]
    fn big_decimals_match_java() {
        let cases = [
            (231, 2, "2.31"),
            (-5, 3, "-0.005"),
            (1, -3, "1E+3"),
            (1, 10, "1E-10"),
            (123, 9, "1.23E-7"),
            (123, 8, "0.00000123"),
            (0, 2, "0.00"),
            (0, -2, "0E+2"),
            (-12345, -1, "-1.2345E+5"),
        ];
        for (u, sc, want) in cases {
            assert_eq!(s(|o| big_decimal(o, &Decimal::new(u, sc))), want);
        }
    }

    #[test]
    fn base64_is_padded_standard() {
        assert_eq!(s(|o| base64(o, &[0x00, 0xE7])), "\"AOc=\"");
        assert_eq!(s(|o| base64(o, &[])), "\"\"");
        assert_eq!(s(|o| base64(o, &[0xFB, 0xFF])), "\"+/8=\"");
    }

    #[test]
    fn twos_complement_is_minimal() {
        let mut b = [0; 16];
        assert_eq!(twos_complement(231, &mut b), &[0x00, 0xE7]);
        assert_eq!(twos_complement(-129, &mut b), &[0xFF, 0x7F]);
        assert_eq!(twos_complement(0, &mut b), &[0]);
        assert_eq!(twos_complement(-1, &mut b), &[0xFF]);
    }
}
