//! `Double.toString` and `Float.toString` exactly as Java 17 prints them.
//!
//! Jackson writes `double` and `float` JSON numbers with these methods (and
//! `Values.convertToString`, casts and messages print them so), so
//! any byte-compatible JSON output has to reproduce them. Java 17 (the JDK
//! most Kafka Connect deployments run) still uses the classic
//! `FloatingDecimal.dtoa` algorithm, which sometimes prints more digits than
//! the shortest round-tripping form (`1.0E23` prints as
//! `9.999999999999999E22`). Rust's own float formatting is always shortest,
//! so this module is a faithful port of `jdk.internal.math.FloatingDecimal`
//! (JDK 17): the same fast paths with Java's 32/64-bit wrap-around, the same
//! stopping tests and the same rounding. The big-integer path uses exact
//! arithmetic, which is all `FDBigInteger` computes.
//!
//! JDK 19 and later print the shortest form instead; the two agree on the
//! vast majority of values (see `crates/ferry-convert/golden/README.md`,
//! whose `floats.txt` checks this module against Java 17).

use std::ops::{Div, Rem};

/// Writes `Double.toString(v)` into `out`.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    let mut buf = [0u8; 64];
    let n = format_f64(v, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// Writes `Float.toString(v)` into `out`.
pub fn write_f32(out: &mut Vec<u8>, v: f32) {
    let mut buf = [0u8; 64];
    let n = format_f32(v, &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// Appends `Double.toString(v)` to `out`.
pub fn push_f64(out: &mut String, v: f64) {
    let mut buf = [0u8; 64];
    let n = format_f64(v, &mut buf);
    out.push_str(ascii(&buf[..n]));
}

/// Appends `Float.toString(v)` to `out`.
pub fn push_f32(out: &mut String, v: f32) {
    let mut buf = [0u8; 64];
    let n = format_f32(v, &mut buf);
    out.push_str(ascii(&buf[..n]));
}

/// `Double.toString(v)` as a `String` (for messages and `toString` output).
pub fn f64_to_string(v: f64) -> String {
    let mut out = String::with_capacity(24);
    push_f64(&mut out, v);
    out
}

/// `Float.toString(v)` as a `String`.
pub fn f32_to_string(v: f32) -> String {
    let mut out = String::with_capacity(16);
    push_f32(&mut out, v);
    out
}

/// The formatted digits, which are only ever ASCII.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

const EXP_SHIFT: i32 = 52;
const FRACT_HOB: i64 = 1 << EXP_SHIFT;
const EXP_ONE: i64 = 1023 << EXP_SHIFT;
const SIGNIF_BIT_MASK: i64 = 0x000F_FFFF_FFFF_FFFF;
const EXP_BIT_MASK: i64 = 0x7FF0_0000_0000_0000;
const SIGN_BIT_MASK: i64 = i64::MIN;
const MAX_SMALL_BIN_EXP: i32 = 62;
const MIN_SMALL_BIN_EXP: i32 = -(63 / 3);

const SINGLE_EXP_SHIFT: i32 = 23;

/// `FDBigInteger.SMALL_5_POW`.
const SMALL_5_POW: [i32; 14] = {
    let mut t = [1i32; 14];
    let mut i = 1;
    while i < 14 {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// `FDBigInteger.LONG_5_POW`.
const LONG_5_POW: [i64; 27] = {
    let mut t = [1i64; 27];
    let mut i = 1;
    while i < 27 {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// Approximately `ceil(log2(5^i))`, as `FloatingDecimal.N_5_BITS`.
const N_5_BITS: [i32; 27] = [
    0, 3, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33, 35, 38, 40, 42, 45, 47, 49, 52, 54, 56,
    59, 61,
];

/// `insignificantDigitsForPow2` lookup table.
const INSIGNIFICANT_DIGITS_NUMBER: [i32; 64] = [
    0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9,
    9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 15, 16, 16,
    16, 17, 17, 17, 18, 18, 18, 19,
];

fn format_f64(v: f64, buf: &mut [u8; 64]) -> usize {
    let bits = v.to_bits() as i64;
    format_binary(
        bits & SIGN_BIT_MASK != 0,
        ((bits & EXP_BIT_MASK) >> EXP_SHIFT) as i32,
        bits & SIGNIF_BIT_MASK,
        EXP_SHIFT,
        1023,
        buf,
    )
}

fn format_f32(v: f32, buf: &mut [u8; 64]) -> usize {
    let bits = v.to_bits() as i32;
    format_binary(
        bits < 0,
        (bits & 0x7F80_0000) >> SINGLE_EXP_SHIFT,
        i64::from(bits & 0x007F_FFFF),
        SINGLE_EXP_SHIFT,
        127,
        buf,
    )
}

/// `FloatingDecimal.getBinaryToASCIIConverter`, which Java writes out once
/// for `double` and once for `float`: `bin_exp` and `fract_bits` are the
/// raw exponent and significand fields of a format with `fract_width`
/// significand bits (52 or 23) and exponent `bias` (1023 or 127). The
/// significand goes to `dtoa` aligned as a double's, which is how Java's
/// float path hands it over too.
fn format_binary(
    negative: bool,
    mut bin_exp: i32,
    mut fract_bits: i64,
    fract_width: i32,
    bias: i32,
    buf: &mut [u8; 64],
) -> usize {
    // All exponent bits set: infinite or NaN.
    if bin_exp == 2 * bias + 1 {
        return special(buf, negative, fract_bits != 0);
    }
    let n_significant_bits;
    if bin_exp == 0 {
        if fract_bits == 0 {
            return zero(buf, negative);
        }
        let leading_zeros = fract_bits.leading_zeros() as i32;
        let shift = leading_zeros - (63 - fract_width);
        fract_bits <<= shift;
        bin_exp = 1 - shift;
        n_significant_bits = 64 - leading_zeros;
    } else {
        fract_bits |= 1 << fract_width;
        n_significant_bits = fract_width + 1;
    }
    bin_exp -= bias;
    let mut d = Digits::new(negative);
    d.dtoa(
        bin_exp,
        fract_bits << (EXP_SHIFT - fract_width),
        n_significant_bits,
    );
    d.get_chars(buf)
}

fn special(buf: &mut [u8; 64], negative: bool, nan: bool) -> usize {
    let s: &[u8] = match (nan, negative) {
        (true, _) => b"NaN",
        (false, false) => b"Infinity",
        (false, true) => b"-Infinity",
    };
    buf[..s.len()].copy_from_slice(s);
    s.len()
}

fn zero(buf: &mut [u8; 64], negative: bool) -> usize {
    let s: &[u8] = if negative { b"-0.0" } else { b"0.0" };
    buf[..s.len()].copy_from_slice(s);
    s.len()
}

/// Java's `int` and `long`: the two widths `dtoa`'s fast paths compute in,
/// with Java's wrap-around.
trait JavaWord:
    Copy + PartialOrd + From<i8> + Into<i64> + Div<Output = Self> + Rem<Output = Self>
{
    fn wrapping_add(self, other: Self) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_mul(self, other: Self) -> Self;
    fn wrapping_shl(self, bits: u32) -> Self;
}

macro_rules! java_word {
    ($t:ty) => {
        impl JavaWord for $t {
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            fn wrapping_sub(self, other: Self) -> Self {
                <$t>::wrapping_sub(self, other)
            }
            fn wrapping_mul(self, other: Self) -> Self {
                <$t>::wrapping_mul(self, other)
            }
            fn wrapping_shl(self, bits: u32) -> Self {
                <$t>::wrapping_shl(self, bits)
            }
        }
    };
}

java_word!(i32);
java_word!(i64);

/// `FloatingDecimal.BinaryToASCIIBuffer`: the decimal digits (ASCII) and
/// the decimal exponent of a finite non-zero value.
struct Digits {
    negative: bool,
    dec_exponent: i32,
    first: usize,
    n_digits: usize,
    // Java uses 20; a little headroom costs nothing.
    digits: [u8; 32],
}

impl Digits {
    fn new(negative: bool) -> Self {
        Digits {
            negative,
            dec_exponent: 0,
            first: 0,
            n_digits: 0,
            digits: [b'0'; 32],
        }
    }

    /// `developLongDigits`: the exact case, all significant bits in a long.
    fn develop_long_digits(&mut self, mut dec_exponent: i32, mut lvalue: i64, insignificant: i32) {
        if insignificant != 0 {
            let pow10 = LONG_5_POW[insignificant as usize] << insignificant;
            let residue = lvalue % pow10;
            lvalue /= pow10;
            dec_exponent += insignificant;
            if residue >= (pow10 >> 1) {
                lvalue += 1;
            }
        }
        let mut digitno = self.digits.len() - 1;
        // Java has an int and a long copy of this loop; they compute the same.
        let mut c = lvalue % 10;
        lvalue /= 10;
        while c == 0 {
            dec_exponent += 1;
            c = lvalue % 10;
            lvalue /= 10;
        }
        while lvalue != 0 {
            self.digits[digitno] = b'0' + c as u8;
            digitno -= 1;
            dec_exponent += 1;
            c = lvalue % 10;
            lvalue /= 10;
        }
        self.digits[digitno] = b'0' + c as u8;
        self.dec_exponent = dec_exponent + 1;
        self.first = digitno;
        self.n_digits = self.digits.len() - digitno;
    }

    fn push(&mut self, ndigit: &mut usize, q: i64) {
        self.digits[*ndigit] = b'0' + q as u8;
        *ndigit += 1;
    }

    /// Keeps the first digit `q` unless it is a zero that needs no rounding
    /// up (the exponent drops instead), and returns the stopping test
    /// (`low`, `high`) for it: never met outside 1e-3..1e7, where Java wants
    /// a digit after the point in E-form.
    fn first_digit(
        &mut self,
        ndigit: &mut usize,
        dec_exp: &mut i32,
        q: i64,
        low: bool,
        high: bool,
    ) -> (bool, bool) {
        if q == 0 && !high {
            *dec_exp -= 1;
        } else {
            self.push(ndigit, q);
        }
        if (-3..8).contains(dec_exp) {
            (low, high)
        } else {
            (false, false)
        }
    }

    /// The digit loop of `dtoa`'s fast paths for `b`, `s` and `m` (Steele
    /// and White's B, S and M), in Java's `int` arithmetic when every
    /// quantity fits 32 bits and in `long` arithmetic otherwise, overflow
    /// included. Returns `(low, high, low_digit_difference)`.
    fn fast_digits<W: JavaWord>(
        &mut self,
        ndigit: &mut usize,
        dec_exp: &mut i32,
        mut b: W,
        s: W,
        mut m: W,
    ) -> (bool, bool, i64) {
        let ten = W::from(10);
        let tens = s.wrapping_mul(ten);
        let q = b / s;
        b = ten.wrapping_mul(b % s);
        m = m.wrapping_mul(ten);
        let (mut lo, mut hi) =
            self.first_digit(ndigit, dec_exp, q.into(), b < m, b.wrapping_add(m) > tens);
        while !lo && !hi {
            let q = b / s;
            b = ten.wrapping_mul(b % s);
            m = m.wrapping_mul(ten);
            if m > W::from(0) {
                lo = b < m;
                hi = b.wrapping_add(m) > tens;
            } else {
                lo = true;
                hi = true;
            }
            self.push(ndigit, q.into());
        }
        (lo, hi, b.wrapping_shl(1).wrapping_sub(tens).into())
    }

    /// `dtoa` with `isCompatibleFormat = true` (what `toString` uses).
    fn dtoa(&mut self, bin_exp: i32, mut fract_bits: i64, n_significant_bits: i32) {
        let tail_zeros = fract_bits.trailing_zeros() as i32;
        let n_fract_bits = EXP_SHIFT + 1 - tail_zeros;
        let n_tiny_bits = 0.max(n_fract_bits - bin_exp - 1);
        if (MIN_SMALL_BIN_EXP..=MAX_SMALL_BIN_EXP).contains(&bin_exp)
            && n_tiny_bits < LONG_5_POW.len() as i32
            && n_fract_bits + N_5_BITS[n_tiny_bits as usize] < 64
            && n_tiny_bits == 0
        {
            // An integer: print the long, dropping digits below the precision.
            let insignificant = if bin_exp > n_significant_bits {
                insignificant_digits_for_pow2(bin_exp - n_significant_bits - 1)
            } else {
                0
            };
            if bin_exp >= EXP_SHIFT {
                fract_bits <<= bin_exp - EXP_SHIFT;
            } else {
                fract_bits = ((fract_bits as u64) >> (EXP_SHIFT - bin_exp)) as i64;
            }
            self.develop_long_digits(0, fract_bits, insignificant);
            return;
        }

        let mut dec_exp = estimate_dec_exp(fract_bits, bin_exp);
        let b5 = 0.max(-dec_exp);
        let mut b2 = b5 + n_tiny_bits + bin_exp;
        let s5 = 0.max(dec_exp);
        let mut s2 = s5 + n_tiny_bits;
        let m5 = b5;
        let mut m2 = b2 - n_significant_bits;

        fract_bits = ((fract_bits as u64) >> tail_zeros) as i64;
        b2 -= n_fract_bits - 1;
        let common2 = b2.min(s2);
        b2 -= common2;
        s2 -= common2;
        m2 -= common2;
        // For exact powers of two the next smaller value is only half an ULP
        // away; Java compensates here (and only here).
        if n_fract_bits == 1 {
            m2 -= 1;
        }
        if m2 < 0 {
            b2 -= m2;
            s2 -= m2;
            m2 = 0;
        }

        let n5 = |i: i32| -> i32 {
            if (i as usize) < N_5_BITS.len() {
                N_5_BITS[i as usize]
            } else {
                i * 3
            }
        };
        let b_bits = n_fract_bits + b2 + n5(b5);
        let ten_s_bits = s2 + 1 + n5(s5 + 1);

        let mut ndigit = 0usize;
        let (low, high, low_digit_difference);
        if b_bits < 64 && ten_s_bits < 64 {
            (low, high, low_digit_difference) = if b_bits < 32 && ten_s_bits < 32 {
                self.fast_digits(
                    &mut ndigit,
                    &mut dec_exp,
                    (fract_bits as i32)
                        .wrapping_mul(SMALL_5_POW[b5 as usize])
                        .wrapping_shl(b2 as u32),
                    SMALL_5_POW[s5 as usize].wrapping_shl(s2 as u32),
                    SMALL_5_POW[m5 as usize].wrapping_shl(m2 as u32),
                )
            } else {
                self.fast_digits(
                    &mut ndigit,
                    &mut dec_exp,
                    fract_bits
                        .wrapping_mul(LONG_5_POW[b5 as usize])
                        .wrapping_shl(b2 as u32),
                    LONG_5_POW[s5 as usize].wrapping_shl(s2 as u32),
                    LONG_5_POW[m5 as usize].wrapping_shl(m2 as u32),
                )
            };
        } else {
            // FDBigInteger path. Java normalizes S (and scales B, M and 10S
            // alike) only to speed up its quotient estimate; with exact
            // arithmetic the digits and comparisons are the same without it.
            let s_val = Big::pow52(1, s5, s2);
            let mut b_val = Big::pow52(fract_bits as u64, b5, b2);
            let mut m_val = Big::pow52(1, m5 + 1, m2 + 1);
            let ten_s_val = Big::pow52(1, s5 + 1, s2 + 1);
            let q = b_val.quo_rem_iteration(&s_val);
            let (mut lo, mut hi) = self.first_digit(
                &mut ndigit,
                &mut dec_exp,
                q,
                b_val.cmp(&m_val).is_lt(),
                ten_s_val.add_and_cmp(&b_val, &m_val).is_le(),
            );
            while !lo && !hi {
                let q = b_val.quo_rem_iteration(&s_val);
                m_val.mul_small(10);
                lo = b_val.cmp(&m_val).is_lt();
                hi = ten_s_val.add_and_cmp(&b_val, &m_val).is_le();
                self.push(&mut ndigit, q);
            }
            low_digit_difference = if hi && lo {
                b_val.shl1();
                b_val.cmp(&ten_s_val) as i64
            } else {
                0
            };
            low = lo;
            high = hi;
        }
        self.dec_exponent = dec_exp + 1;
        self.first = 0;
        self.n_digits = ndigit;
        // The last digit is rounded according to the stopping condition.
        if high {
            if low {
                if low_digit_difference == 0 {
                    if self.digits[self.first + self.n_digits - 1] & 1 != 0 {
                        self.roundup();
                    }
                } else if low_digit_difference > 0 {
                    self.roundup();
                }
            } else {
                self.roundup();
            }
        }
    }

    fn roundup(&mut self) {
        let mut i = self.first + self.n_digits - 1;
        let mut q = self.digits[i];
        if q == b'9' {
            while q == b'9' && i > self.first {
                self.digits[i] = b'0';
                i -= 1;
                q = self.digits[i];
            }
            if q == b'9' {
                self.dec_exponent += 1;
                self.digits[self.first] = b'1';
                return;
            }
        }
        self.digits[i] = q + 1;
    }

    /// `getChars`: plain notation for 1e-3 <= |v| < 1e7, else `d.dddE±n`.
    fn get_chars(&self, out: &mut [u8; 64]) -> usize {
        let digits = &self.digits[self.first..self.first + self.n_digits];
        let mut i = 0;
        let mut put = |out: &mut [u8; 64], b: u8| {
            out[i] = b;
            i += 1;
        };
        if self.negative {
            put(out, b'-');
        }
        let e = self.dec_exponent;
        if e > 0 && e < 8 {
            let int_len = digits.len().min(e as usize);
            for &d in &digits[..int_len] {
                put(out, d);
            }
            if int_len < e as usize {
                for _ in int_len..e as usize {
                    put(out, b'0');
                }
                put(out, b'.');
                put(out, b'0');
            } else {
                put(out, b'.');
                if int_len < digits.len() {
                    for &d in &digits[int_len..] {
                        put(out, d);
                    }
                } else {
                    put(out, b'0');
                }
            }
        } else if e <= 0 && e > -3 {
            put(out, b'0');
            put(out, b'.');
            for _ in 0..-e {
                put(out, b'0');
            }
            for &d in digits {
                put(out, d);
            }
        } else {
            put(out, digits[0]);
            put(out, b'.');
            if digits.len() > 1 {
                for &d in &digits[1..] {
                    put(out, d);
                }
            } else {
                put(out, b'0');
            }
            put(out, b'E');
            let mut exp = if e <= 0 {
                put(out, b'-');
                -e + 1
            } else {
                e - 1
            };
            if exp >= 100 {
                put(out, b'0' + (exp / 100) as u8);
                exp %= 100;
                put(out, b'0' + (exp / 10) as u8);
            } else if exp >= 10 {
                put(out, b'0' + (exp / 10) as u8);
            }
            put(out, b'0' + (exp % 10) as u8);
        }
        i
    }
}

fn insignificant_digits_for_pow2(p2: i32) -> i32 {
    if p2 > 1 && (p2 as usize) < INSIGNIFICANT_DIGITS_NUMBER.len() {
        INSIGNIFICANT_DIGITS_NUMBER[p2 as usize]
    } else {
        0
    }
}

/// `estimateDecExp`: floor(log10(d)) estimated with double arithmetic,
/// evaluated in the same order as Java so the estimate is identical.
// Java's literal for log10(2) is a few ULPs off `LOG10_2`; the estimate (and
// so the digits in a few edge cases) depends on using exactly Java's.
#[allow(clippy::approx_constant)]
fn estimate_dec_exp(fract_bits: i64, bin_exp: i32) -> i32 {
    let d2 = f64::from_bits((EXP_ONE | (fract_bits & SIGNIF_BIT_MASK)) as u64);
    let d = (d2 - 1.5) * 0.289529654 + 0.176091259 + f64::from(bin_exp) * 0.301029995663981;
    let d_bits = d.to_bits() as i64;
    let exponent = ((d_bits & EXP_BIT_MASK) >> EXP_SHIFT) as i32 - 1023;
    let negative = d_bits & SIGN_BIT_MASK != 0;
    if (0..52).contains(&exponent) {
        let mask = SIGNIF_BIT_MASK >> exponent;
        let r = (((d_bits & SIGNIF_BIT_MASK) | FRACT_HOB) >> (EXP_SHIFT - exponent)) as i32;
        if negative {
            if mask & d_bits == 0 {
                -r
            } else {
                -r - 1
            }
        } else {
            r
        }
    } else if exponent < 0 {
        if d_bits & !SIGN_BIT_MASK == 0 {
            0
        } else if negative {
            -1
        } else {
            0
        }
    } else {
        d as i32
    }
}

/// Enough 32-bit words for the largest operand (`10 * S` for values near
/// `Double.MAX_VALUE`, or B for the smallest subnormals: about 1200 bits).
const BIG_WORDS: usize = 48;

/// A fixed-capacity unsigned big integer, little-endian 32-bit words.
#[derive(Clone)]
struct Big {
    len: usize,
    w: [u32; BIG_WORDS],
}

impl Big {
    /// `v * 5^p5 * 2^p2`.
    fn pow52(v: u64, p5: i32, p2: i32) -> Big {
        let mut b = Big {
            len: 0,
            w: [0; BIG_WORDS],
        };
        b.w[0] = v as u32;
        b.w[1] = (v >> 32) as u32;
        b.len = 2;
        b.trim();
        let mut p5 = p5;
        // 5^13 is the largest power of five below 2^32.
        while p5 >= 13 {
            b.mul_small(1_220_703_125);
            p5 -= 13;
        }
        if p5 > 0 {
            b.mul_small(5u32.pow(p5 as u32));
        }
        b.shl(p2 as usize);
        b
    }

    fn trim(&mut self) {
        while self.len > 0 && self.w[self.len - 1] == 0 {
            self.len -= 1;
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for i in 0..self.len {
            let p = u64::from(self.w[i]) * u64::from(m) + carry;
            self.w[i] = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            self.w[self.len] = carry as u32;
            self.len += 1;
        }
    }

    fn shl(&mut self, bits: usize) {
        if self.len == 0 || bits == 0 {
            return;
        }
        let words = bits / 32;
        let rem = bits % 32;
        let old = self.len;
        let mut new_len = old + words + 1;
        if rem == 0 {
            for i in (0..old).rev() {
                self.w[i + words] = self.w[i];
            }
            new_len -= 1;
        } else {
            self.w[old + words] = 0;
            for i in (0..old).rev() {
                let v = self.w[i];
                self.w[i + words + 1] |= v >> (32 - rem);
                self.w[i + words] = v << rem;
            }
        }
        for x in &mut self.w[..words] {
            *x = 0;
        }
        self.len = new_len;
        self.trim();
    }

    fn shl1(&mut self) {
        self.shl(1);
    }

    fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        if self.len != o.len {
            return self.len.cmp(&o.len);
        }
        for i in (0..self.len).rev() {
            if self.w[i] != o.w[i] {
                return self.w[i].cmp(&o.w[i]);
            }
        }
        std::cmp::Ordering::Equal
    }

    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.len {
            let rhs = if i < o.len { i64::from(o.w[i]) } else { 0 };
            let d = i64::from(self.w[i]) - rhs - borrow;
            if d < 0 {
                self.w[i] = (d + (1 << 32)) as u32;
                borrow = 1;
            } else {
                self.w[i] = d as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    /// `quoRemIteration`: returns `self / s` (a single digit) and sets
    /// `self = 10 * (self % s)`.
    fn quo_rem_iteration(&mut self, s: &Big) -> i64 {
        let mut q = 0;
        while self.cmp(s).is_ge() {
            self.sub_assign(s);
            q += 1;
        }
        self.mul_small(10);
        q
    }

    /// `addAndCmp`: compares `self` with `x + y`.
    fn add_and_cmp(&self, x: &Big, y: &Big) -> std::cmp::Ordering {
        let mut sum = Big {
            len: x.len.max(y.len),
            w: [0; BIG_WORDS],
        };
        let mut carry = 0u64;
        for i in 0..sum.len {
            let a = if i < x.len { u64::from(x.w[i]) } else { 0 };
            let b = if i < y.len { u64::from(y.w[i]) } else { 0 };
            let t = a + b + carry;
            sum.w[i] = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            sum.w[sum.len] = carry as u32;
            sum.len += 1;
        }
        self.cmp(&sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_values() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (1e7, "1.0E7"),
            (0.001, "0.001"),
            (1e-4, "1.0E-4"),
            (1e-5, "1.0E-5"),
            (1e10, "1.0E10"),
            (2e-3, "0.002"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            // Java 17 prints these longer than the shortest form.
            (1e23, "9.999999999999999E22"),
            (2e23, "1.9999999999999998E23"),
            (8.41e21, "8.409999999999999E21"),
            (2.82879384806159e17, "2.82879384806159008E17"),
            (1.18575755e-316, "1.18575755E-316"),
        ];
        for &(v, s) in cases {
            assert_eq!(f64_to_string(v), s, "{v:e}");
        }
        let fcases: &[(f32, &str)] = &[
            (1.0e10, "1.0E10"),
            (0.1, "0.1"),
            (1.0e-36, "1.0E-36"),
            (f32::MAX, "3.4028235E38"),
            (1.4e-45, "1.4E-45"),
            (33554432.0, "3.3554432E7"),
            (0.001, "0.001"),
            (-0.0, "-0.0"),
            (f32::NAN, "NaN"),
        ];
        for &(v, s) in fcases {
            assert_eq!(f32_to_string(v), s, "{v:e}");
        }
    }
}
