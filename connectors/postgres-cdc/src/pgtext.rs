//! PostgreSQL's text output formats, as pgoutput sends column values (and
//! a snapshot's `SELECT` reads them), parsed into numbers: dates as days
//! and times as microseconds since the Unix epoch, intervals as their
//! three fields, `bytea` as bytes, arrays as their elements.
//!
//! The replication session is pinned to `DateStyle=ISO` and
//! `IntervalStyle=postgres` (the JDBC driver Debezium uses does the same
//! for dates), so these are the only forms parsed.

/// Text that is not in the type's output format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a PostgreSQL {kind} value: {text:?}")]
pub struct ParseError {
    pub kind: &'static str,
    pub text: String,
}

fn err(kind: &'static str, text: &str) -> ParseError {
    ParseError {
        kind,
        text: text.to_owned(),
    }
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A date or timestamp, which may be infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instant<T> {
    Finite(T),
    Infinity,
    NegInfinity,
}

/// `t` or `f`, as `boolout` writes them.
pub fn parse_bool(text: &str) -> Result<bool, ParseError> {
    match text {
        "t" => Ok(true),
        "f" => Ok(false),
        _ => Err(err("boolean", text)),
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date
/// (astronomical year numbering: 1 BC is year 0).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` `days` after 1970-01-01
/// (astronomical year numbering), the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The date `days` after 1970-01-01 in PostgreSQL's ISO form
/// (`2024-01-02`, `0044-03-15 BC`).
pub fn date_text(days: i64) -> String {
    match civil_from_days(days) {
        (year, month, day) if year > 0 => format!("{year:04}-{month:02}-{day:02}"),
        (year, month, day) => format!("{:04}-{month:02}-{day:02} BC", 1 - year),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` (more year digits past 9999), then ` BC` if so: the days
/// and the rest of the text.
fn parse_ymd<'a>(kind: &'static str, text: &'a str) -> Result<(i64, &'a str), ParseError> {
    let bad = || err(kind, text);
    let (year, rest) = text.split_once('-').ok_or_else(bad)?;
    let (month, rest) = rest.split_once('-').ok_or_else(bad)?;
    let day = rest.get(..2).ok_or_else(bad)?;
    let rest = &rest[2..];
    // PostgreSQL writes at least four year digits and two of the others.
    if year.len() < 4 || month.len() != 2 {
        return Err(bad());
    }
    let (year, month, day): (i64, u32, u32) = (
        digits(year).ok_or_else(bad)?,
        digits(month).ok_or_else(bad)?,
        digits(day).ok_or_else(bad)?,
    );
    let bc = text.ends_with(" BC");
    let year = if bc { 1 - year } else { year };
    let month_days = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day == 0 || day > month_days[month as usize - 1] {
        return Err(bad());
    }
    Ok((days_from_civil(year, month, day), rest))
}

/// A `date`: days since 1970-01-01.
pub fn parse_date(text: &str) -> Result<Instant<i32>, ParseError> {
    match text {
        "infinity" => return Ok(Instant::Infinity),
        "-infinity" => return Ok(Instant::NegInfinity),
        _ => {}
    }
    let (days, rest) = parse_ymd("date", text)?;
    if !matches!(rest, "" | " BC") {
        return Err(err("date", text));
    }
    i32::try_from(days)
        .map(Instant::Finite)
        .map_err(|_| err("date", text))
}

/// `HH:MM:SS[.ffffff]`, up to 24:00:00: microseconds since midnight, and
/// the rest of the text.
fn parse_hms<'a>(kind: &'static str, text: &'a str) -> Result<(i64, &'a str), ParseError> {
    let bad = || err(kind, text);
    let b = text.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(bad());
    }
    let (h, m, s): (i64, i64, i64) = (
        digits(&text[..2]).ok_or_else(bad)?,
        digits(&text[3..5]).ok_or_else(bad)?,
        digits(&text[6..8]).ok_or_else(bad)?,
    );
    let mut rest = &text[8..];
    let mut micros = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return Err(bad());
        }
        let f: i64 = digits(&frac[..n]).ok_or_else(bad)?;
        micros = f * 10_i64.pow(6 - n as u32);
        rest = &frac[n..];
    }
    let total = ((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + micros;
    if m > 59 || s > 59 || total > MICROS_PER_DAY {
        return Err(bad());
    }
    Ok((total, rest))
}

/// A zone offset as PostgreSQL writes it: `+HH`, `+HH:MM` or `+HH:MM:SS`
/// (or `-`): seconds east of UTC.
fn parse_offset(kind: &'static str, whole: &str, text: &str) -> Result<i32, ParseError> {
    let bad = || err(kind, whole);
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let mut seconds = 0;
    let mut parts = 0;
    for (i, part) in rest.split(':').enumerate() {
        if i > 2 || part.len() != 2 {
            return Err(bad());
        }
        let v: i32 = digits(part).ok_or_else(bad)?;
        seconds += v * [3600, 60, 1][i];
        parts += 1;
    }
    if parts == 0 {
        return Err(bad());
    }
    Ok(sign * seconds)
}

/// A `time`: microseconds since midnight.
pub fn parse_time(text: &str) -> Result<i64, ParseError> {
    match parse_hms("time", text)? {
        (micros, "") => Ok(micros),
        _ => Err(err("time", text)),
    }
}

/// A `timetz`: microseconds since midnight, local, and the offset in
/// seconds east of UTC.
pub fn parse_timetz(text: &str) -> Result<(i64, i32), ParseError> {
    let (micros, rest) = parse_hms("timetz", text)?;
    Ok((micros, parse_offset("timetz", text, rest)?))
}

fn parse_datetime<'a>(kind: &'static str, text: &'a str) -> Result<(i64, &'a str), ParseError> {
    let (days, rest) = parse_ymd(kind, text)?;
    let rest = rest.strip_prefix(' ').ok_or_else(|| err(kind, text))?;
    let (micros, rest) = parse_hms(kind, rest)?;
    days.checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(micros))
        .map(|t| (t, rest))
        .ok_or_else(|| err(kind, text))
}

/// A `timestamp` (without time zone): microseconds since 1970-01-01
/// 00:00, as if in UTC.
pub fn parse_timestamp(text: &str) -> Result<Instant<i64>, ParseError> {
    match text {
        "infinity" => return Ok(Instant::Infinity),
        "-infinity" => return Ok(Instant::NegInfinity),
        _ => {}
    }
    match parse_datetime("timestamp", text)? {
        (micros, "" | " BC") => Ok(Instant::Finite(micros)),
        _ => Err(err("timestamp", text)),
    }
}

/// A `timestamptz`: microseconds since the Unix epoch (UTC).
pub fn parse_timestamptz(text: &str) -> Result<Instant<i64>, ParseError> {
    match text {
        "infinity" => return Ok(Instant::Infinity),
        "-infinity" => return Ok(Instant::NegInfinity),
        _ => {}
    }
    let (local, rest) = parse_datetime("timestamptz", text)?;
    let offset = parse_offset(
        "timestamptz",
        text,
        rest.strip_suffix(" BC").unwrap_or(rest),
    )?;
    Ok(Instant::Finite(
        local - i64::from(offset) * MICROS_PER_SECOND,
    ))
}

/// An `interval`'s fields, as PostgreSQL keeps them: months, days and
/// microseconds, each with its own sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// An `interval` in the `postgres` IntervalStyle: `1 year 2 mons -3 days
/// +04:05:06.789`, `00:00:00`, `-00:00:01`.
pub fn parse_interval(text: &str) -> Result<Interval, ParseError> {
    let bad = || err("interval", text);
    let mut out = Interval::default();
    let mut words = text.split(' ').peekable();
    while let Some(word) = words.next() {
        if word.contains(':') {
            let (sign, hms) = match word.as_bytes().first() {
                Some(b'-') => (-1, &word[1..]),
                Some(b'+') => (1, &word[1..]),
                _ => (1, word),
            };
            // Hours may exceed two digits: split them off first.
            let (hours, ms) = hms.split_once(':').ok_or_else(bad)?;
            let hours: i64 = digits(hours).ok_or_else(bad)?;
            let padded = format!("00:{ms}");
            let (micros, rest) = parse_hms("interval", &padded).map_err(|_| bad())?;
            if !rest.is_empty() || words.peek().is_some() {
                return Err(bad());
            }
            out.micros = sign * (hours * 3600 * MICROS_PER_SECOND + micros);
            break;
        }
        let n: i64 = word.parse().map_err(|_| bad())?;
        let unit = words.next().ok_or_else(bad)?;
        let n32 = i32::try_from(n).map_err(|_| bad())?;
        match unit {
            "year" | "years" => {
                out.months = n32
                    .checked_mul(12)
                    .and_then(|m| out.months.checked_add(m))
                    .ok_or_else(bad)?
            }
            "mon" | "mons" => out.months = out.months.checked_add(n32).ok_or_else(bad)?,
            "day" | "days" => out.days = n32,
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// A `bytea` in the `hex` output format (`\x0a1b`).
pub fn parse_bytea(text: &str) -> Result<Vec<u8>, ParseError> {
    let bad = || err("bytea", text);
    let hex = text.strip_prefix("\\x").ok_or_else(bad)?.as_bytes();
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    hex.chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)
}

/// The elements of a one-dimensional array (`{1,2,NULL,"a b","q\"x"}`),
/// unquoted; `None` for `NULL`. Multi-dimensional arrays are refused.
pub fn parse_array(text: &str) -> Result<Vec<Option<String>>, ParseError> {
    let bad = || err("array", text);
    // A lower bound other than 1 comes first: `[0:2]={…}`.
    let body = match text.find("={") {
        Some(i) if text.starts_with('[') => &text[i + 1..],
        _ => text,
    };
    let inner = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(bad)?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let element = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next().ok_or_else(bad)? {
                    '"' => break,
                    '\\' => s.push(chars.next().ok_or_else(bad)?),
                    c => s.push(c),
                }
            }
            Some(s)
        } else {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    return Err(bad());
                }
                s.push(c);
                chars.next();
            }
            (!s.eq_ignore_ascii_case("NULL")).then_some(s)
        };
        out.push(element);
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(_) => return Err(bad()),
        }
    }
}

/// A `numeric`: finite (sign, digits without the point, digits after it)
/// or one of its special values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numeric {
    Finite {
        negative: bool,
        /// Every digit, without leading zeros (`0` for zero).
        digits: String,
        scale: u32,
    },
    NaN,
    Infinity,
    NegInfinity,
}

/// A `numeric` as PostgreSQL writes it: `-12.3400`, `NaN`, `Infinity`.
pub fn parse_numeric(text: &str) -> Result<Numeric, ParseError> {
    let bad = || err("numeric", text);
    match text {
        "NaN" => return Ok(Numeric::NaN),
        "Infinity" => return Ok(Numeric::Infinity),
        "-Infinity" => return Ok(Numeric::NegInfinity),
        _ => {}
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (unsigned.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let all = format!("{int}{frac}");
    let trimmed = all.trim_start_matches('0');
    Ok(Numeric::Finite {
        negative,
        digits: if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        },
        scale: u32::try_from(frac.len()).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_back_as_postgresql_writes_them() {
        for text in [
            "1970-01-01",
            "2024-02-29",
            "1969-12-31",
            "0001-01-01",
            "0044-03-15 BC",
            "9999-12-31",
        ] {
            let Ok(Instant::Finite(days)) = parse_date(text) else {
                panic!("{text}");
            };
            assert_eq!(date_text(i64::from(days)), text);
        }
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 1 BC (year 0) is a leap year.
        assert_eq!(days_from_civil(0, 3, 1) - days_from_civil(0, 2, 28), 2);
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in ["", "2024-13-01", "2023-02-29", "2024-1-01", "2024-01-01x"] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
        for bad in ["25:00:00", "12:60:00", "12:00", "12:00:00.1234567"] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_timestamptz("2024-01-01 00:00:00").is_err(),
            "no offset"
        );
        assert!(parse_bytea("\\x0").is_err());
        assert!(parse_bytea("0a").is_err());
        assert!(parse_array("{{1,2},{3,4}}").is_err());
        assert!(parse_array("{1,2").is_err());
        for bad in ["", "-", "1.", ".5", "1e5", "12a"] {
            assert!(parse_numeric(bad).is_err(), "{bad:?}");
        }
        assert!(parse_interval("3 fortnights").is_err());
        assert!(parse_bool("true").is_err());
    }

    #[test]
    fn arrays_and_numerics() {
        assert_eq!(
            parse_array(r#"{1,NULL,"a b","q\"x","NULL"}"#),
            Ok(vec![
                Some("1".into()),
                None,
                Some("a b".into()),
                Some("q\"x".into()),
                Some("NULL".into())
            ])
        );
        assert_eq!(parse_array("{}"), Ok(vec![]));
        assert_eq!(
            parse_array("[0:1]={7,8}"),
            Ok(vec![Some("7".into()), Some("8".into())])
        );
        assert_eq!(
            parse_numeric("-0012.3400"),
            Ok(Numeric::Finite {
                negative: true,
                digits: "123400".into(),
                scale: 4
            })
        );
        assert_eq!(
            parse_numeric("0.00"),
            Ok(Numeric::Finite {
                negative: false,
                digits: "0".into(),
                scale: 2
            })
        );
    }
}
