//! Joda-Time's `DateTimeFormat.forPattern`, the syntax of `path.format`,
//! for formatting (the partitioners never parse paths). Numeric fields
//! are padded to the pattern's letter count; `yy` is the two-digit year;
//! three or more `M` and `E`, and `a`, are English text.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Literal(String),
    /// `y`, `Y` (year of era), `x` (week year); two letters: two digits.
    Year {
        width: usize,
        week_year: bool,
    },
    Century(usize),
    Era,
    Month(usize),
    MonthText {
        full: bool,
    },
    DayOfMonth(usize),
    DayOfYear(usize),
    WeekOfWeekYear(usize),
    DayOfWeek(usize),
    DayOfWeekText {
        full: bool,
    },
    HalfDay,
    Hour24(usize),
    ClockHour24(usize),
    Hour12(usize),
    ClockHour12(usize),
    Minute(usize),
    Second(usize),
    Fraction(usize),
    /// `Z`: `-0800`; `ZZ`: `-08:00`.
    Offset {
        colon: bool,
    },
}

/// A compiled `path.format`.
#[derive(Clone, Debug)]
pub struct JodaFormat {
    tokens: Vec<Token>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl JodaFormat {
    /// Compiles `pattern`; an unknown letter or an unterminated quote is
    /// an error, as in Joda.
    pub fn parse(pattern: &str) -> Result<JodaFormat, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        let mut literal = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // '' is a quote; 'text' is text, with '' inside for a quote.
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return Err(format!(
                                "Illegal pattern component: unterminated quote in '{pattern}'"
                            ))
                        }
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            literal.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&ch) => {
                            literal.push(ch);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(match c {
                'y' | 'Y' => Token::Year {
                    width: n,
                    week_year: false,
                },
                'x' => Token::Year {
                    width: n,
                    week_year: true,
                },
                'C' => Token::Century(n),
                'G' => Token::Era,
                'M' if n >= 3 => Token::MonthText { full: n >= 4 },
                'M' => Token::Month(n),
                'd' => Token::DayOfMonth(n),
                'D' => Token::DayOfYear(n),
                'w' => Token::WeekOfWeekYear(n),
                'e' => Token::DayOfWeek(n),
                'E' => Token::DayOfWeekText { full: n >= 4 },
                'a' => Token::HalfDay,
                'H' => Token::Hour24(n),
                'k' => Token::ClockHour24(n),
                'K' => Token::Hour12(n),
                'h' => Token::ClockHour12(n),
                'm' => Token::Minute(n),
                's' => Token::Second(n),
                'S' => Token::Fraction(n),
                'Z' => Token::Offset { colon: n >= 2 },
                other => {
                    return Err(format!(
                        "Illegal pattern component: {}",
                        other.to_string().repeat(n)
                    ))
                }
            });
            i += n;
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(JodaFormat { tokens })
    }

    /// Whether the pattern writes English words (months, days, AM/PM).
    pub fn has_text(&self) -> bool {
        self.tokens.iter().any(|t| {
            matches!(
                t,
                Token::MonthText { .. } | Token::DayOfWeekText { .. } | Token::HalfDay | Token::Era
            )
        })
    }

    /// Appends `t` formatted to `out`.
    pub fn format_into(&self, t: &DateTime<FixedOffset>, out: &mut String) {
        use std::fmt::Write;
        for token in &self.tokens {
            let _ = match *token {
                Token::Literal(ref s) => {
                    out.push_str(s);
                    Ok(())
                }
                Token::Year { width, week_year } => {
                    let year = if week_year {
                        t.iso_week().year()
                    } else {
                        t.year()
                    };
                    if width == 2 {
                        write!(out, "{:02}", year.rem_euclid(100))
                    } else {
                        pad(out, i64::from(year), width)
                    }
                }
                Token::Century(w) => pad(out, i64::from(t.year().div_euclid(100)), w),
                Token::Era => {
                    out.push_str(if t.year() > 0 { "AD" } else { "BC" });
                    Ok(())
                }
                Token::Month(w) => pad(out, i64::from(t.month()), w),
                Token::MonthText { full } => {
                    let name = MONTHS[t.month0() as usize];
                    out.push_str(if full { name } else { &name[..3] });
                    Ok(())
                }
                Token::DayOfMonth(w) => pad(out, i64::from(t.day()), w),
                Token::DayOfYear(w) => pad(out, i64::from(t.ordinal()), w),
                Token::WeekOfWeekYear(w) => pad(out, i64::from(t.iso_week().week()), w),
                Token::DayOfWeek(w) => pad(out, i64::from(t.weekday().number_from_monday()), w),
                Token::DayOfWeekText { full } => {
                    let name = DAYS[t.weekday().num_days_from_monday() as usize];
                    out.push_str(if full { name } else { &name[..3] });
                    Ok(())
                }
                Token::HalfDay => {
                    out.push_str(if t.hour() < 12 { "AM" } else { "PM" });
                    Ok(())
                }
                Token::Hour24(w) => pad(out, i64::from(t.hour()), w),
                Token::ClockHour24(w) => {
                    pad(out, i64::from(if t.hour() == 0 { 24 } else { t.hour() }), w)
                }
                Token::Hour12(w) => pad(out, i64::from(t.hour() % 12), w),
                Token::ClockHour12(w) => {
                    let h = t.hour() % 12;
                    pad(out, i64::from(if h == 0 { 12 } else { h }), w)
                }
                Token::Minute(w) => pad(out, i64::from(t.minute()), w),
                Token::Second(w) => pad(out, i64::from(t.second()), w),
                Token::Fraction(w) => {
                    // Milliseconds, then zeros (Joda keeps millisecond precision).
                    let ms = format!("{:03}", t.timestamp_subsec_millis());
                    let digits: String = ms.chars().chain(std::iter::repeat('0')).take(w).collect();
                    out.push_str(&digits);
                    Ok(())
                }
                Token::Offset { colon } => {
                    let secs = t.offset().local_minus_utc();
                    let sign = if secs < 0 { '-' } else { '+' };
                    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
                    if secs == 0 && colon {
                        out.push('Z');
                        Ok(())
                    } else if colon {
                        write!(out, "{sign}{h:02}:{m:02}")
                    } else {
                        write!(out, "{sign}{h:02}{m:02}")
                    }
                }
            };
        }
    }
}

fn pad(out: &mut String, v: i64, width: usize) -> std::fmt::Result {
    use std::fmt::Write;
    if v < 0 {
        write!(out, "-{:0width$}", -v)
    } else {
        write!(out, "{v:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fmt(p: &str, t: DateTime<FixedOffset>) -> String {
        let mut s = String::new();
        JodaFormat::parse(p).unwrap().format_into(&t, &mut s);
        s
    }

    #[test]
    fn hive_style_paths() {
        let t = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(2024, 3, 7, 5, 9, 2)
            .unwrap();
        assert_eq!(
            fmt("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", t),
            "year=2024/month=03/day=07/hour=05"
        );
        assert_eq!(
            fmt("YYYY-MM-dd'T'HH:mm:ss.SSSZ", t),
            "2024-03-07T05:09:02.000+0000"
        );
        assert_eq!(fmt("yy/M/d/H", t), "24/3/7/5");
        assert_eq!(fmt("EEE MMM", t), "Thu Mar");
        assert_eq!(fmt("EEEE MMMM D", t), "Thursday March 67");
        assert_eq!(fmt("'it''s' hh a", t), "it's 05 AM");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(JodaFormat::parse("'year").is_err());
        assert!(JodaFormat::parse("YYYY/q").is_err());
    }
}
