//! `java.text.SimpleDateFormat` (JDK 17, English locale, UTC) and the
//! `GregorianCalendar` arithmetic behind it.
//!
//! TimestampConverter and TimestampRouter take user patterns in
//! SimpleDateFormat syntax, and Cast and InsertHeader print and parse
//! Connect's ISO formats through it, so Ferry needs the same pattern
//! language, the same output and the same (lenient) parsing. This is a port
//! of the JDK code paths those transforms reach:
//!
//! * `compile`: pattern letters `GyMdkHmsSEDFwWahKzZYuXL`, quoting, and the
//!   `IllegalArgumentException` messages for bad patterns;
//! * formatting, with the Julian calendar before the Gregorian cut-over of
//!   1582-10-15 as `GregorianCalendar` has it, weeks starting on Sunday with
//!   one minimal day (the `en` locale's week data);
//! * parsing: leading blanks skipped per field, digit counts obeyed between
//!   abutting numeric fields, two-digit years placed in the century starting
//!   80 years ago, lenient field resolution (`Calendar.selectFields` and
//!   `GregorianCalendar.computeTime`), trailing text ignored.
//!
//! The formatter's time zone is always UTC (Kafka Connect sets it so for
//! these transforms, and assumes a UTC JVM for Cast's ISO output). Zone
//! names in parsed text are recognised for UTC and GMT only; other names
//! (`PST`, `CET`, ...) do not parse, where Java would look them up in its
//! time zone database.

use std::fmt::Write as _;

pub const MILLIS_PER_DAY: i64 = 86_400_000;
const MILLIS_PER_HOUR: i64 = 3_600_000;
const MILLIS_PER_MINUTE: i64 = 60_000;

/// Fixed date (days since 0001-01-01 Gregorian, counted from 1) of the epoch.
const EPOCH_OFFSET: i64 = 719_163;
/// Fixed date of 1582-10-15, the first Gregorian day.
const GREGORIAN_CUTOVER_DATE: i64 = 577_736;
const GREGORIAN_CUTOVER_YEAR: i32 = 1582;
/// The Julian year of the last Julian day (1582-10-04).
const GREGORIAN_CUTOVER_YEAR_JULIAN: i32 = 1582;

const FIRST_DAY_OF_WEEK: i32 = 1; // Sunday
const MINIMAL_DAYS_IN_FIRST_WEEK: i64 = 1;

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
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Indexed by `Calendar.DAY_OF_WEEK` (1 = Sunday); index 0 is unused.
const WEEKDAYS: [&str; 8] = [
    "",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const SHORT_WEEKDAYS: [&str; 8] = ["", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const ERAS: [&str; 2] = ["BC", "AD"];
const AM_PM: [&str; 2] = ["AM", "PM"];

// ------------------------------------------------------------ calendar

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn is_gregorian_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

fn is_julian_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CalSys {
    Gregorian,
    Julian,
}

impl CalSys {
    fn is_leap(self, y: i64) -> bool {
        match self {
            CalSys::Gregorian => is_gregorian_leap(y),
            CalSys::Julian => is_julian_leap(y),
        }
    }

    /// `BaseCalendar.getFixedDate` / `JulianCalendar.getFixedDate` for a
    /// month in 1..=12 and a normalized year (0 = 1 BC).
    fn fixed_date(self, year: i64, month: i64, day: i64) -> i64 {
        let prev = year.wrapping_sub(1);
        let mut days = match self {
            CalSys::Gregorian => day
                .wrapping_add(prev.wrapping_mul(365))
                .wrapping_add(floor_div(prev, 4))
                .wrapping_sub(floor_div(prev, 100))
                .wrapping_add(floor_div(prev, 400))
                .wrapping_add(floor_div(367 * month - 362, 12)),
            CalSys::Julian => (-2i64)
                .wrapping_add(prev.wrapping_mul(365))
                .wrapping_add(day)
                .wrapping_add(floor_div(prev, 4))
                .wrapping_add(floor_div(367 * month - 362, 12)),
        };
        if month > 2 {
            days -= if self.is_leap(year) { 1 } else { 2 };
        }
        days
    }

    /// (normalized year, month 1..=12, day) of a fixed date.
    fn date_from_fixed(self, fixed: i64) -> (i64, i64, i64) {
        let year = match self {
            CalSys::Gregorian => {
                let d0 = fixed - 1;
                let n400 = floor_div(d0, 146_097);
                let d1 = d0.rem_euclid(146_097);
                let n100 = d1 / 36_524;
                let d2 = d1 % 36_524;
                let n4 = d2 / 1461;
                let d3 = d2 % 1461;
                let n1 = d3 / 365;
                let mut y = 400 * n400 + 100 * n100 + 4 * n4 + n1;
                if !(n100 == 4 || n1 == 4) {
                    y += 1;
                }
                y
            }
            CalSys::Julian => floor_div(4 * (fixed + 1) + 1464, 1461),
        };
        let jan1 = self.fixed_date(year, 1, 1);
        let mut prior = fixed - jan1;
        if fixed >= self.fixed_date(year, 3, 1) {
            prior += if self.is_leap(year) { 1 } else { 2 };
        }
        let month = floor_div(12 * prior + 373, 367);
        let day = fixed - self.fixed_date(year, month, 1) + 1;
        (year, month, day)
    }
}

fn cal_for_fixed(fixed: i64) -> CalSys {
    if fixed >= GREGORIAN_CUTOVER_DATE {
        CalSys::Gregorian
    } else {
        CalSys::Julian
    }
}

/// `BaseCalendar.getDayOfWeekFromFixedDate`: 1 = Sunday.
fn day_of_week(fixed: i64) -> i32 {
    (fixed.rem_euclid(7) + 1) as i32
}

/// `BaseCalendar.getDayOfWeekDateOnOrBefore`.
fn day_of_week_on_or_before(fixed: i64, dow: i64) -> i64 {
    let fd = fixed - (dow - 1);
    fixed - fd.rem_euclid(7)
}

/// `GregorianCalendar.getWeekNumber`.
fn week_number(fixed_day1: i64, fixed: i64) -> i64 {
    let mut first = day_of_week_on_or_before(fixed_day1 + 6, i64::from(FIRST_DAY_OF_WEEK));
    if first - fixed_day1 >= MINIMAL_DAYS_IN_FIRST_WEEK {
        first -= 7;
    }
    floor_div(fixed - first, 7) + 1
}

/// `GregorianCalendar.isLeapYear` for a normalized year.
fn gc_is_leap(year: i64) -> bool {
    if year & 3 != 0 {
        return false;
    }
    if year > i64::from(GREGORIAN_CUTOVER_YEAR) {
        return year % 100 != 0 || year % 400 == 0;
    }
    true
}

fn gc_month_length(month0: i64, year: i64) -> i64 {
    const LEN: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let m = month0.rem_euclid(12) as usize;
    if m == 1 && gc_is_leap(year) {
        29
    } else {
        LEN[m]
    }
}

/// The calendar fields of an instant, in UTC, as `GregorianCalendar`
/// computes them.
#[derive(Debug, Clone, Copy)]
struct CalFields {
    era: i32,
    year: i32,
    month0: i32,
    day_of_month: i32,
    day_of_year: i32,
    day_of_week: i32,
    day_of_week_in_month: i32,
    week_of_year: i32,
    week_of_month: i32,
    hour_of_day: i32,
    minute: i32,
    second: i32,
    millis: i32,
    week_year: i32,
}

fn fields_of(millis: i64) -> CalFields {
    let days = floor_div(millis, MILLIS_PER_DAY);
    let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
    let fixed = days + EPOCH_OFFSET;
    let cal = cal_for_fixed(fixed);
    let (nyear, month, dom) = cal.date_from_fixed(fixed);
    let jan1 = if nyear == i64::from(GREGORIAN_CUTOVER_YEAR) && cal == CalSys::Gregorian {
        // The cut-over year starts on the Julian January 1st.
        CalSys::Julian.fixed_date(nyear, 1, 1)
    } else {
        cal.fixed_date(nyear, 1, 1)
    };
    let day_of_year = fixed - jan1 + 1;
    let month1 =
        if nyear == i64::from(GREGORIAN_CUTOVER_YEAR) && month == 10 && cal == CalSys::Gregorian {
            CalSys::Julian.fixed_date(nyear, 10, 1)
        } else {
            fixed - dom + 1
        };
    let mut woy = week_number(jan1, fixed);
    if woy == 0 {
        let dec31 = jan1 - 1;
        let prev_cal = cal_for_fixed(dec31);
        let (py, _, _) = prev_cal.date_from_fixed(dec31);
        let prev_jan1 = prev_cal.fixed_date(py, 1, 1);
        woy = week_number(prev_jan1, dec31);
    } else if woy >= 52 {
        let mut next_jan1 = jan1 + 365;
        if cal.is_leap(nyear) {
            next_jan1 += 1;
        }
        let next_first = day_of_week_on_or_before(next_jan1 + 6, i64::from(FIRST_DAY_OF_WEEK));
        let ndays = next_first - next_jan1;
        if ndays >= MINIMAL_DAYS_IN_FIRST_WEEK && fixed >= next_first - 7 {
            woy = 1;
        }
    }
    let (era, year) = if nyear > 0 {
        (1, nyear)
    } else {
        (0, 1 - nyear)
    };
    let mut week_year = nyear;
    if month == 1 {
        if woy >= 52 {
            week_year -= 1;
        }
    } else if woy == 1 {
        week_year += 1;
    }
    if era == 0 {
        week_year = 1 - week_year;
    }
    CalFields {
        era,
        year: year as i32,
        month0: (month - 1) as i32,
        day_of_month: dom as i32,
        day_of_year: day_of_year as i32,
        day_of_week: day_of_week(fixed),
        day_of_week_in_month: ((dom - 1) / 7 + 1) as i32,
        week_of_year: woy as i32,
        week_of_month: week_number(month1, fixed) as i32,
        hour_of_day: (ms_of_day / MILLIS_PER_HOUR) as i32,
        minute: (ms_of_day / MILLIS_PER_MINUTE % 60) as i32,
        second: (ms_of_day / 1000 % 60) as i32,
        millis: (ms_of_day % 1000) as i32,
        week_year: week_year as i32,
    }
}

/// `java.util.Date.toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn date_to_string(millis: i64) -> String {
    let f = fields_of(millis);
    let year = if f.era == 1 {
        i64::from(f.year)
    } else {
        1 - i64::from(f.year)
    };
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        SHORT_WEEKDAYS[f.day_of_week as usize],
        SHORT_MONTHS[f.month0 as usize],
        f.day_of_month,
        f.hour_of_day,
        f.minute,
        f.second,
        year
    )
}

// ------------------------------------------------------------ patterns

/// Pattern letters in `DateFormatSymbols.patternChars` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Era,
    Year,
    Month,
    DayOfMonth,
    HourOfDay1,
    HourOfDay0,
    Minute,
    Second,
    Millisecond,
    DayOfWeek,
    DayOfYear,
    DayOfWeekInMonth,
    WeekOfYear,
    WeekOfMonth,
    AmPm,
    Hour1,
    Hour0,
    ZoneName,
    ZoneValue,
    WeekYear,
    IsoDayOfWeek,
    IsoZone,
    MonthStandalone,
}

const PATTERN_CHARS: &str = "GyMdkHmsSEDFwWahKzZYuXL";
const TAGS: [Tag; 23] = [
    Tag::Era,
    Tag::Year,
    Tag::Month,
    Tag::DayOfMonth,
    Tag::HourOfDay1,
    Tag::HourOfDay0,
    Tag::Minute,
    Tag::Second,
    Tag::Millisecond,
    Tag::DayOfWeek,
    Tag::DayOfYear,
    Tag::DayOfWeekInMonth,
    Tag::WeekOfYear,
    Tag::WeekOfMonth,
    Tag::AmPm,
    Tag::Hour1,
    Tag::Hour0,
    Tag::ZoneName,
    Tag::ZoneValue,
    Tag::WeekYear,
    Tag::IsoDayOfWeek,
    Tag::IsoZone,
    Tag::MonthStandalone,
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(Vec<char>),
    Field { tag: Tag, count: usize },
}

/// A compiled `SimpleDateFormat` in UTC with the English locale.
#[derive(Debug, Clone)]
pub struct SimpleDateFormat {
    pattern: String,
    items: Vec<Item>,
    /// Start of the 100-year window for two-digit years (millis) and its year.
    century_start: i64,
    century_start_year: i32,
}

impl SimpleDateFormat {
    /// `new SimpleDateFormat(pattern)`; the error is the
    /// `IllegalArgumentException` message.
    pub fn new(pattern: &str) -> Result<Self, String> {
        Self::with_now(pattern, now_millis())
    }

    fn with_now(pattern: &str, now: i64) -> Result<Self, String> {
        let items = compile(pattern)?;
        // `initializeDefaultCentury`: the window starts 80 years ago.
        let century_start = add_years(now, -80);
        let century_start_year = fields_of(century_start).year;
        Ok(SimpleDateFormat {
            pattern: pattern.to_owned(),
            items,
            century_start,
            century_start_year,
        })
    }

    /// `toPattern()`.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// `format(new Date(millis))`.
    pub fn format(&self, millis: i64) -> String {
        let f = fields_of(millis);
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(chars) => out.extend(chars.iter()),
                Item::Field { tag, count } => self.format_field(&mut out, &f, *tag, *count),
            }
        }
        out
    }

    fn format_field(&self, out: &mut String, f: &CalFields, tag: Tag, count: usize) {
        let num = |out: &mut String, v: i32| zero_pad(out, i64::from(v), count);
        match tag {
            Tag::Era => out.push_str(ERAS[f.era as usize]),
            Tag::Year | Tag::WeekYear => {
                let v = if tag == Tag::Year {
                    f.year
                } else {
                    f.week_year
                };
                if count == 2 {
                    zero_pad(out, i64::from(v.rem_euclid(100)), 2);
                } else {
                    num(out, v);
                }
            }
            // With DateFormatSymbols (any Gregorian locale) Java's
            // `formatMonth` prints `L` with the same names as `M`.
            Tag::Month | Tag::MonthStandalone => {
                if count >= 4 {
                    out.push_str(MONTHS[f.month0 as usize]);
                } else if count == 3 {
                    out.push_str(SHORT_MONTHS[f.month0 as usize]);
                } else {
                    num(out, f.month0 + 1);
                }
            }
            Tag::DayOfMonth => num(out, f.day_of_month),
            Tag::HourOfDay1 => num(
                out,
                if f.hour_of_day == 0 {
                    24
                } else {
                    f.hour_of_day
                },
            ),
            Tag::HourOfDay0 => num(out, f.hour_of_day),
            Tag::Minute => num(out, f.minute),
            Tag::Second => num(out, f.second),
            Tag::Millisecond => num(out, f.millis),
            Tag::DayOfWeek => {
                let names = if count >= 4 {
                    &WEEKDAYS
                } else {
                    &SHORT_WEEKDAYS
                };
                out.push_str(names[f.day_of_week as usize]);
            }
            Tag::DayOfYear => num(out, f.day_of_year),
            Tag::DayOfWeekInMonth => num(out, f.day_of_week_in_month),
            Tag::WeekOfYear => num(out, f.week_of_year),
            Tag::WeekOfMonth => num(out, f.week_of_month),
            Tag::AmPm => out.push_str(AM_PM[(f.hour_of_day / 12) as usize]),
            Tag::Hour1 => {
                let h = f.hour_of_day % 12;
                num(out, if h == 0 { 12 } else { h });
            }
            Tag::Hour0 => num(out, f.hour_of_day % 12),
            Tag::ZoneName => out.push_str(if count >= 4 {
                "Coordinated Universal Time"
            } else {
                "UTC"
            }),
            Tag::ZoneValue => out.push_str("+0000"),
            Tag::IsoZone => out.push('Z'),
            Tag::IsoDayOfWeek => num(
                out,
                if f.day_of_week == 1 {
                    7
                } else {
                    f.day_of_week - 1
                },
            ),
        }
    }

    /// `parse(text, new ParsePosition(0))`: the instant and the index after
    /// the last character used, or `None` where Java returns null.
    pub fn parse_prefix(&self, text: &str) -> Option<(i64, usize)> {
        let chars: Vec<char> = text.chars().collect();
        let mut fields = FieldSet::default();
        let mut ambiguous_year = false;
        let mut pos = 0usize;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(lit) => {
                    for c in lit {
                        if pos >= chars.len() || chars[pos] != *c {
                            return None;
                        }
                        pos += 1;
                    }
                }
                Item::Field { tag, count } => {
                    let obey_count = match self.items.get(i + 1) {
                        Some(Item::Field {
                            tag: next,
                            count: n,
                        }) => should_obey_count(*next, *n),
                        _ => false,
                    };
                    pos = self.sub_parse(
                        &chars,
                        pos,
                        *tag,
                        *count,
                        obey_count,
                        &mut ambiguous_year,
                        &mut fields,
                    )?;
                }
            }
        }
        let mut millis = fields.establish()?;
        if ambiguous_year && millis < self.century_start {
            fields.add_year(100);
            millis = fields.establish()?;
        }
        Some((millis, pos))
    }

    #[allow(clippy::too_many_arguments)]
    fn sub_parse(
        &self,
        text: &[char],
        start: usize,
        tag: Tag,
        count: usize,
        obey_count: bool,
        ambiguous_year: &mut bool,
        fields: &mut FieldSet,
    ) -> Option<usize> {
        let mut pos = start;
        // Skip blanks; running out of text fails.
        loop {
            let c = *text.get(pos)?;
            if c != ' ' && c != '\t' {
                break;
            }
            pos += 1;
        }
        let actual_start = pos;
        let numeric_first = matches!(
            tag,
            Tag::HourOfDay1 | Tag::Hour1 | Tag::Year | Tag::WeekYear
        ) || (matches!(tag, Tag::Month | Tag::MonthStandalone) && count <= 2);
        // A number at `pos`: between abutting numeric fields (`obey_count`)
        // no further than `count` characters from the field's start.
        let parse_number = |pos: usize| {
            let limit = if obey_count {
                if start + count > text.len() {
                    return None;
                }
                start + count
            } else {
                text.len()
            };
            parse_int(text, pos, limit)
        };
        let mut value = 0i32;
        if numeric_first {
            let (v, end) = parse_number(pos)?;
            value = v;
            pos = end;
        }
        match tag {
            Tag::Era => match_names(text, start, &ERAS, 0).map(|(i, end)| {
                fields.set(ERA, i as i32);
                end
            }),
            Tag::Year | Tag::WeekYear => {
                if count <= 2
                    && pos - actual_start == 2
                    && text[actual_start].is_ascii_digit()
                    && text[actual_start + 1].is_ascii_digit()
                {
                    let ambiguous = self.century_start_year % 100;
                    *ambiguous_year = value == ambiguous;
                    value += (self.century_start_year / 100) * 100
                        + if value < ambiguous { 100 } else { 0 };
                }
                fields.set(if tag == Tag::Year { YEAR } else { WEEK_YEAR }, value);
                Some(pos)
            }
            Tag::Month | Tag::MonthStandalone => {
                if count <= 2 {
                    fields.set(MONTH, value.wrapping_sub(1));
                    return Some(pos);
                }
                let found = match_names(text, start, &MONTHS, 0)
                    .or_else(|| match_names(text, start, &SHORT_MONTHS, 0));
                found.map(|(i, end)| {
                    fields.set(MONTH, i as i32);
                    end
                })
            }
            Tag::HourOfDay1 => {
                fields.set(HOUR_OF_DAY, if value == 24 { 0 } else { value });
                Some(pos)
            }
            Tag::Hour1 => {
                fields.set(HOUR, if value == 12 { 0 } else { value });
                Some(pos)
            }
            Tag::DayOfWeek => match_names(text, start, &WEEKDAYS, 1)
                .or_else(|| match_names(text, start, &SHORT_WEEKDAYS, 1))
                .map(|(i, end)| {
                    fields.set(DAY_OF_WEEK, i as i32);
                    end
                }),
            Tag::AmPm => match_names(text, start, &AM_PM, 0).map(|(i, end)| {
                fields.set(AM_PM_FIELD, i as i32);
                end
            }),
            Tag::ZoneName | Tag::ZoneValue => parse_zone(text, pos, start, fields),
            Tag::IsoZone => {
                let c = *text.get(pos)?;
                if c == 'Z' {
                    fields.set(ZONE_OFFSET, 0);
                    fields.set(DST_OFFSET, 0);
                    return Some(pos + 1);
                }
                let sign = match c {
                    '+' => 1,
                    '-' => -1,
                    _ => return None,
                };
                numeric_zone(text, pos + 1, sign, count, count == 3, fields)
            }
            _ => {
                let (v, end) = parse_number(pos)?;
                let field = match tag {
                    Tag::DayOfMonth => DAY_OF_MONTH,
                    Tag::HourOfDay0 => HOUR_OF_DAY,
                    Tag::Minute => MINUTE,
                    Tag::Second => SECOND,
                    Tag::Millisecond => MILLISECOND,
                    Tag::DayOfYear => DAY_OF_YEAR,
                    Tag::DayOfWeekInMonth => DAY_OF_WEEK_IN_MONTH,
                    Tag::WeekOfYear => WEEK_OF_YEAR,
                    Tag::WeekOfMonth => WEEK_OF_MONTH,
                    Tag::Hour0 => HOUR,
                    _ => {
                        // `u`: ISO day of week, Monday = 1.
                        let dow = if (1..=7).contains(&v) {
                            if v == 7 {
                                1
                            } else {
                                v + 1
                            }
                        } else {
                            v
                        };
                        fields.set(DAY_OF_WEEK, dow);
                        return Some(end);
                    }
                };
                fields.set(field, v);
                Some(end)
            }
        }
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `Calendar.add(YEAR, n)` in UTC: same month, the day pinned to the
/// length of that month in the new year.
fn add_years(millis: i64, n: i64) -> i64 {
    let days = floor_div(millis, MILLIS_PER_DAY);
    let ms = millis.rem_euclid(MILLIS_PER_DAY);
    let fixed = days + EPOCH_OFFSET;
    let (y, m, d) = cal_for_fixed(fixed).date_from_fixed(fixed);
    let ny = y + n;
    let ncal = if ny > i64::from(GREGORIAN_CUTOVER_YEAR) {
        CalSys::Gregorian
    } else {
        CalSys::Julian
    };
    let len = match m {
        2 if ncal.is_leap(ny) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let nfixed = ncal.fixed_date(ny, m, d.min(len));
    (nfixed - EPOCH_OFFSET) * MILLIS_PER_DAY + ms
}

/// `zeroPaddingNumber`: at least `min` digits, no grouping.
fn zero_pad(out: &mut String, v: i64, min: usize) {
    if v < 0 {
        let _ = write!(out, "-{:0min$}", -v);
    } else {
        let _ = write!(out, "{v:0min$}");
    }
}

/// `SimpleDateFormat.compile`.
///
/// (Java's `forceStandaloneForm` for a lone `MMM` makes no difference in
/// English, whose stand-alone month names are the format names.)
fn compile(pattern: &str) -> Result<Vec<Item>, String> {
    struct Builder {
        items: Vec<Item>,
        last: Option<Tag>,
        count: usize,
    }
    impl Builder {
        fn literal(&mut self, c: char) {
            match self.items.last_mut() {
                Some(Item::Literal(v)) => v.push(c),
                _ => self.items.push(Item::Literal(vec![c])),
            }
        }
        /// Ends the pending run of one pattern letter (`encode`).
        fn flush(&mut self) -> Result<(), String> {
            if let (Some(tag), true) = (self.last, self.count != 0) {
                if tag == Tag::IsoZone && self.count >= 4 {
                    return Err(format!("invalid ISO 8601 format: length={}", self.count));
                }
                self.items.push(Item::Field {
                    tag,
                    count: self.count,
                });
            }
            self.last = None;
            self.count = 0;
            Ok(())
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let mut b = Builder {
        items: Vec::new(),
        last: None,
        count: 0,
    };
    let mut in_quote = false;
    let mut quoted = String::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        if c == '\'' {
            // '' is a quote character, inside or outside a quoted section.
            if i + 1 < p.len() && p[i + 1] == '\'' {
                i += 2;
                b.flush()?;
                if in_quote {
                    quoted.push('\'');
                } else {
                    b.literal('\'');
                }
                continue;
            }
            if in_quote {
                for q in quoted.chars() {
                    b.literal(q);
                }
                in_quote = false;
            } else {
                b.flush()?;
                quoted.clear();
                in_quote = true;
            }
            i += 1;
            continue;
        }
        if in_quote {
            quoted.push(c);
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            b.flush()?;
            b.literal(c);
            i += 1;
            continue;
        }
        let Some(idx) = PATTERN_CHARS.find(c) else {
            return Err(format!("Illegal pattern character '{c}'"));
        };
        let tag = TAGS[idx];
        if b.last.is_some() && b.last != Some(tag) {
            b.flush()?;
        }
        b.last = Some(tag);
        b.count += 1;
        i += 1;
    }
    if in_quote {
        return Err("Unterminated quote".to_owned());
    }
    b.flush()?;
    Ok(b.items)
}

fn should_obey_count(tag: Tag, count: usize) -> bool {
    match tag {
        Tag::Month | Tag::MonthStandalone => count <= 2,
        Tag::Year
        | Tag::DayOfMonth
        | Tag::HourOfDay1
        | Tag::HourOfDay0
        | Tag::Minute
        | Tag::Second
        | Tag::Millisecond
        | Tag::DayOfYear
        | Tag::DayOfWeekInMonth
        | Tag::WeekOfYear
        | Tag::WeekOfMonth
        | Tag::Hour1
        | Tag::Hour0
        | Tag::WeekYear
        | Tag::IsoDayOfWeek => true,
        _ => false,
    }
}

/// `DecimalFormat.parse` of an integer (the pattern's number format):
/// an optional `-` and decimal digits, up to `limit`. `intValue()` of the
/// result, as Java narrows it.
fn parse_int(text: &[char], start: usize, limit: usize) -> Option<(i32, usize)> {
    let mut pos = start;
    let negative = pos < limit && text[pos] == '-';
    if negative {
        pos += 1;
    }
    let digits_start = pos;
    let mut v: i128 = 0;
    while pos < limit {
        let Some(d) = text[pos].to_digit(10) else {
            break;
        };
        // Beyond 19 digits Java's parse result is a Double; the int value
        // saturates. Capping the accumulator keeps that outcome.
        v = (v * 10 + i128::from(d)).min(i128::from(u64::MAX));
        pos += 1;
    }
    if pos == digits_start {
        return None;
    }
    if negative {
        v = -v;
    }
    let narrowed = if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) {
        // `Double.intValue()` saturates.
        if v > 0 {
            i32::MAX
        } else {
            i32::MIN
        }
    } else {
        // `Long.intValue()` keeps the low 32 bits.
        (v as i64) as i32
    };
    Some((narrowed, pos))
}

/// `matchString`: the longest name matching at `start`, ignoring case.
fn match_names(text: &[char], start: usize, names: &[&str], from: usize) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate().skip(from) {
        let len = name.chars().count();
        if len == 0 || best.is_some_and(|(_, l)| l >= len) {
            continue;
        }
        if region_matches_ignore_case(text, start, name) {
            best = Some((i, len));
        }
    }
    best.map(|(i, len)| (i, start + len))
}

/// `String.regionMatches(true, ...)`: equal ignoring case, char by char.
fn region_matches_ignore_case(text: &[char], start: usize, s: &str) -> bool {
    let mut count = 0;
    for (t, c) in text.iter().skip(start).zip(s.chars()) {
        if !t.to_lowercase().eq(c.to_lowercase()) && !t.to_uppercase().eq(c.to_uppercase()) {
            return false;
        }
        count += 1;
    }
    count == s.chars().count()
}

/// `z` / `Z` parsing: `GMT`, `GMT+hh:mm`, `+hhmm`, or a zone name (UTC and
/// GMT names only).
fn parse_zone(text: &[char], pos: usize, start: usize, fields: &mut FieldSet) -> Option<usize> {
    let c = *text.get(pos)?;
    let sign = match c {
        '+' => 1,
        '-' => -1,
        _ => 0,
    };
    if sign != 0 {
        return numeric_zone(text, pos + 1, sign, 0, false, fields);
    }
    if (c == 'G' || c == 'g') && region_matches_ignore_case(text, start, "GMT") {
        let p = start + 3;
        let sign = match text.get(p) {
            Some('+') => 1,
            Some('-') => -1,
            _ => 0,
        };
        if sign == 0 {
            fields.set(ZONE_OFFSET, 0);
            fields.set(DST_OFFSET, 0);
            return Some(p);
        }
        return numeric_zone(text, p + 1, sign, 0, true, fields);
    }
    // The current zone (UTC) first, then GMT: long standard name, short
    // standard name, long and short daylight names, as `matchZoneString`.
    for names in [
        [
            "Coordinated Universal Time",
            "UTC",
            "Coordinated Universal Time",
            "UTC",
        ],
        ["Greenwich Mean Time", "GMT", "Greenwich Mean Time", "GMT"],
    ] {
        for name in names {
            if region_matches_ignore_case(text, pos, name) {
                // Both zones have no daylight saving: the offset is 0.
                return Some(pos + name.chars().count());
            }
        }
    }
    None
}

/// `subParseNumericZone`.
fn numeric_zone(
    text: &[char],
    start: usize,
    sign: i32,
    count: usize,
    colon: bool,
    fields: &mut FieldSet,
) -> Option<usize> {
    let mut i = start;
    let digit = |i: usize| text.get(i).and_then(|c| c.to_digit(10)).map(|d| d as i32);
    let mut hours = digit(i)?;
    i += 1;
    match digit(i) {
        Some(d) => {
            hours = hours * 10 + d;
            i += 1;
        }
        None => {
            if count > 0 || !colon {
                return None;
            }
        }
    }
    if hours > 23 {
        return None;
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if text.get(i) != Some(&':') {
                return None;
            }
            i += 1;
        }
        let m1 = digit(i)?;
        let m2 = digit(i + 1)?;
        minutes = m1 * 10 + m2;
        i += 2;
        if minutes > 59 {
            return None;
        }
    }
    let total = minutes + hours * 60;
    fields.set(ZONE_OFFSET, total * 60_000 * sign);
    fields.set(DST_OFFSET, 0);
    Some(i)
}

// ------------------------------------------------------------ fields

const ERA: usize = 0;
const YEAR: usize = 1;
const MONTH: usize = 2;
const WEEK_OF_YEAR: usize = 3;
const WEEK_OF_MONTH: usize = 4;
const DAY_OF_MONTH: usize = 5;
const DAY_OF_YEAR: usize = 6;
const DAY_OF_WEEK: usize = 7;
const DAY_OF_WEEK_IN_MONTH: usize = 8;
const AM_PM_FIELD: usize = 9;
const HOUR: usize = 10;
const HOUR_OF_DAY: usize = 11;
const MINUTE: usize = 12;
const SECOND: usize = 13;
const MILLISECOND: usize = 14;
const ZONE_OFFSET: usize = 15;
const DST_OFFSET: usize = 16;
const WEEK_YEAR: usize = 17;
const FIELD_COUNT: usize = 18;

/// `CalendarBuilder`: parsed fields with the order they were set in.
#[derive(Debug, Clone, Default)]
struct FieldSet {
    stamp: [u32; FIELD_COUNT],
    value: [i32; FIELD_COUNT],
    next: u32,
}

impl FieldSet {
    fn set(&mut self, field: usize, value: i32) {
        // Stamps start at 2 in Java (0 = unset, 1 = computed).
        if self.next < 2 {
            self.next = 2;
        }
        self.stamp[field] = self.next;
        self.value[field] = value;
        self.next += 1;
    }

    fn is_set(&self, field: usize) -> bool {
        self.stamp[field] > 0
    }

    fn get(&self, field: usize) -> i32 {
        if self.is_set(field) {
            self.value[field]
        } else {
            0
        }
    }

    fn add_year(&mut self, n: i32) {
        self.value[YEAR] = self.value[YEAR].wrapping_add(n);
        self.value[WEEK_YEAR] = self.value[WEEK_YEAR].wrapping_add(n);
    }

    /// `CalendarBuilder.establish(calendar).getTime()`; `None` where Java's
    /// calendar throws `IllegalArgumentException`.
    fn establish(&self) -> Option<i64> {
        let mut cal = self.clone();
        let week_date = cal.is_set(WEEK_YEAR) && cal.stamp[WEEK_YEAR] > cal.stamp[YEAR];
        if week_date {
            let woy = if cal.is_set(WEEK_OF_YEAR) {
                cal.value[WEEK_OF_YEAR]
            } else {
                1
            };
            let mut woy = i64::from(woy);
            let mut dow = if cal.is_set(DAY_OF_WEEK) {
                i64::from(cal.value[DAY_OF_WEEK])
            } else {
                i64::from(FIRST_DAY_OF_WEEK)
            };
            if !(1..=7).contains(&dow) {
                if dow >= 8 {
                    dow -= 1;
                    woy += dow / 7;
                    dow = dow % 7 + 1;
                } else {
                    // Java steps back a week at a time; same result.
                    let weeks = (-dow) / 7 + 1;
                    dow += 7 * weeks;
                    woy -= weeks;
                }
                // `toCalendarDayOfWeek` of an ISO day number.
                dow = if dow == 7 { 1 } else { dow + 1 };
            }
            cal.set_week_date(i64::from(cal.value[WEEK_YEAR]), woy, dow)?;
        }
        cal.compute_time()
    }

    /// `GregorianCalendar.setWeekDate` in lenient mode.
    fn set_week_date(&mut self, week_year: i64, woy: i64, dow: i64) -> Option<()> {
        let mut gc = FieldSet::default();
        gc.set(ERA, 1);
        gc.set(YEAR, week_year as i32);
        gc.set(WEEK_OF_YEAR, 1);
        gc.set(DAY_OF_WEEK, FIRST_DAY_OF_WEEK);
        let mut days = dow - i64::from(FIRST_DAY_OF_WEEK);
        if days < 0 {
            days += 7;
        }
        days += 7 * (woy - 1);
        let base = gc.compute_time()?;
        let millis = base.wrapping_add(days.wrapping_mul(MILLIS_PER_DAY));
        let fixed = floor_div(millis, MILLIS_PER_DAY) + EPOCH_OFFSET;
        let (y, m, d) = cal_for_fixed(fixed).date_from_fixed(fixed);
        let (era, year) = if y > 0 { (1, y) } else { (0, 1 - y) };
        self.set(ERA, era);
        self.set(YEAR, year as i32);
        self.set(MONTH, (m - 1) as i32);
        self.set(DAY_OF_MONTH, d as i32);
        self.value[WEEK_OF_YEAR] = woy as i32;
        Some(())
    }

    /// `Calendar.selectFields`: a bit mask of the fields to use.
    fn select_fields(&self) -> u32 {
        let bit = |f: usize| 1u32 << f;
        let s = &self.stamp;
        let aggregate = |a: u32, b: u32| if a == 0 || b == 0 { 0 } else { a.max(b) };
        let mut mask = bit(YEAR);
        if s[ERA] != 0 {
            mask |= bit(ERA);
        }
        let dow = s[DAY_OF_WEEK];
        let month = s[MONTH];
        let mut dom = s[DAY_OF_MONTH];
        let mut wom = aggregate(s[WEEK_OF_MONTH], dow);
        let mut dowim = aggregate(s[DAY_OF_WEEK_IN_MONTH], dow);
        let doy = s[DAY_OF_YEAR];
        let mut woy = aggregate(s[WEEK_OF_YEAR], dow);
        let mut best = dom.max(wom).max(dowim).max(doy).max(woy);
        if best == 0 {
            wom = s[WEEK_OF_MONTH];
            dowim = s[DAY_OF_WEEK_IN_MONTH].max(dow);
            woy = s[WEEK_OF_YEAR];
            best = wom.max(dowim).max(woy);
            if best == 0 {
                dom = month;
                best = month;
            }
        }
        if best == dom
            || (best == wom && s[WEEK_OF_MONTH] >= s[WEEK_OF_YEAR])
            || (best == dowim && s[DAY_OF_WEEK_IN_MONTH] >= s[WEEK_OF_YEAR])
        {
            mask |= bit(MONTH);
            if best == dom {
                mask |= bit(DAY_OF_MONTH);
            } else {
                if dow != 0 {
                    mask |= bit(DAY_OF_WEEK);
                }
                if wom == dowim {
                    if s[WEEK_OF_MONTH] >= s[DAY_OF_WEEK_IN_MONTH] {
                        mask |= bit(WEEK_OF_MONTH);
                    } else {
                        mask |= bit(DAY_OF_WEEK_IN_MONTH);
                    }
                } else if best == wom {
                    mask |= bit(WEEK_OF_MONTH);
                } else if s[DAY_OF_WEEK_IN_MONTH] != 0 {
                    mask |= bit(DAY_OF_WEEK_IN_MONTH);
                }
            }
        } else if best == doy {
            mask |= bit(DAY_OF_YEAR);
        } else {
            if dow != 0 {
                mask |= bit(DAY_OF_WEEK);
            }
            mask |= bit(WEEK_OF_YEAR);
        }
        let hod = s[HOUR_OF_DAY];
        let hour = aggregate(s[HOUR], s[AM_PM_FIELD]);
        let mut best = hour.max(hod);
        if best == 0 {
            best = s[HOUR].max(s[AM_PM_FIELD]);
        }
        if best != 0 {
            if best == hod {
                mask |= bit(HOUR_OF_DAY);
            } else {
                mask |= bit(HOUR);
                if s[AM_PM_FIELD] != 0 {
                    mask |= bit(AM_PM_FIELD);
                }
            }
        }
        for f in [MINUTE, SECOND, MILLISECOND, ZONE_OFFSET, DST_OFFSET] {
            if s[f] != 0 {
                mask |= bit(f);
            }
        }
        mask
    }

    /// `GregorianCalendar.computeTime` (lenient).
    fn compute_time(&self) -> Option<i64> {
        let mask = self.select_fields();
        let has = |f: usize| mask & (1 << f) != 0;
        let mut year = if self.is_set(YEAR) {
            i64::from(self.value[YEAR])
        } else {
            1970
        };
        let era = if self.is_set(ERA) { self.value[ERA] } else { 1 };
        if era == 0 {
            year = 1 - year;
        } else if era != 1 {
            return None;
        }
        let mut time_of_day: i64 = if has(HOUR_OF_DAY) {
            i64::from(self.get(HOUR_OF_DAY))
        } else {
            let mut t = i64::from(self.get(HOUR));
            if has(AM_PM_FIELD) {
                t += 12 * i64::from(self.get(AM_PM_FIELD));
            }
            t
        };
        time_of_day = time_of_day
            .wrapping_mul(60)
            .wrapping_add(i64::from(self.get(MINUTE)));
        time_of_day = time_of_day
            .wrapping_mul(60)
            .wrapping_add(i64::from(self.get(SECOND)));
        time_of_day = time_of_day
            .wrapping_mul(1000)
            .wrapping_add(i64::from(self.get(MILLISECOND)));
        let mut fixed = time_of_day / MILLIS_PER_DAY;
        time_of_day %= MILLIS_PER_DAY;
        while time_of_day < 0 {
            time_of_day += MILLIS_PER_DAY;
            fixed -= 1;
        }
        let cy = i64::from(GREGORIAN_CUTOVER_YEAR);
        let cyj = i64::from(GREGORIAN_CUTOVER_YEAR_JULIAN);
        let fixed_date = {
            let gfd;
            let jfd;
            if year > cy && year > cyj {
                let g = fixed.wrapping_add(self.fixed_date(CalSys::Gregorian, year, mask));
                if g >= GREGORIAN_CUTOVER_DATE {
                    g
                } else {
                    gfd = g;
                    jfd = fixed.wrapping_add(self.fixed_date(CalSys::Julian, year, mask));
                    self.resolve_cutover(gfd, jfd, year, mask)
                }
            } else if year < cy && year < cyj {
                let j = fixed.wrapping_add(self.fixed_date(CalSys::Julian, year, mask));
                if j < GREGORIAN_CUTOVER_DATE {
                    j
                } else {
                    self.resolve_cutover(j, j, year, mask)
                }
            } else {
                jfd = fixed.wrapping_add(self.fixed_date(CalSys::Julian, year, mask));
                gfd = fixed.wrapping_add(self.fixed_date(CalSys::Gregorian, year, mask));
                self.resolve_cutover(gfd, jfd, year, mask)
            }
        };
        let mut millis = (fixed_date.wrapping_sub(EPOCH_OFFSET))
            .wrapping_mul(MILLIS_PER_DAY)
            .wrapping_add(time_of_day);
        // The zone is UTC unless the text named an offset.
        if has(ZONE_OFFSET) {
            millis = millis.wrapping_sub(i64::from(self.value[ZONE_OFFSET]));
        }
        if has(DST_OFFSET) {
            millis = millis.wrapping_sub(i64::from(self.value[DST_OFFSET]));
        }
        Some(millis)
    }

    fn resolve_cutover(&self, gfd: i64, jfd: i64, year: i64, mask: u32) -> i64 {
        let has = |f: usize| mask & (1 << f) != 0;
        if (has(DAY_OF_YEAR) || has(WEEK_OF_YEAR))
            && GREGORIAN_CUTOVER_YEAR == GREGORIAN_CUTOVER_YEAR_JULIAN
        {
            return jfd;
        }
        let _ = year;
        if gfd >= GREGORIAN_CUTOVER_DATE {
            // In the overlap Java keeps the calendar system of the previous
            // computation, which for a cleared calendar is Gregorian.
            gfd
        } else {
            // Either truly Julian, or in the "missing" days (lenient mode
            // takes the Julian date).
            jfd
        }
    }

    /// `GregorianCalendar.getFixedDate`.
    fn fixed_date(&self, cal: CalSys, year: i64, mask: u32) -> i64 {
        let has = |f: usize| mask & (1 << f) != 0;
        let mut year = year;
        let mut month: i64 = 0;
        if has(MONTH) {
            month = i64::from(self.get(MONTH));
            if month > 11 {
                year = year.wrapping_add(month / 12);
                month %= 12;
            } else if month < 0 {
                year = year.wrapping_add(floor_div(month, 12));
                month = month.rem_euclid(12);
            }
        }
        let mut fixed = cal.fixed_date(year, month + 1, 1);
        if has(MONTH) {
            if has(DAY_OF_MONTH) {
                if self.is_set(DAY_OF_MONTH) {
                    fixed = fixed
                        .wrapping_add(i64::from(self.get(DAY_OF_MONTH)))
                        .wrapping_sub(1);
                }
            } else if has(WEEK_OF_MONTH) {
                let mut first = day_of_week_on_or_before(fixed + 6, i64::from(FIRST_DAY_OF_WEEK));
                if first - fixed >= MINIMAL_DAYS_IN_FIRST_WEEK {
                    first -= 7;
                }
                if has(DAY_OF_WEEK) {
                    first = day_of_week_on_or_before(first + 6, i64::from(self.get(DAY_OF_WEEK)));
                }
                fixed =
                    first.wrapping_add(7i64.wrapping_mul(i64::from(self.get(WEEK_OF_MONTH)) - 1));
            } else {
                let dow = if has(DAY_OF_WEEK) {
                    i64::from(self.get(DAY_OF_WEEK))
                } else {
                    i64::from(FIRST_DAY_OF_WEEK)
                };
                let dowim = if has(DAY_OF_WEEK_IN_MONTH) {
                    i64::from(self.get(DAY_OF_WEEK_IN_MONTH))
                } else {
                    1
                };
                if dowim >= 0 {
                    fixed = day_of_week_on_or_before(
                        fixed.wrapping_add(7i64.wrapping_mul(dowim)) - 1,
                        dow,
                    );
                } else {
                    let last = gc_month_length(month, year) + 7 * (dowim + 1);
                    fixed = day_of_week_on_or_before(fixed + last - 1, dow);
                }
            }
        } else {
            if year == i64::from(GREGORIAN_CUTOVER_YEAR)
                && cal == CalSys::Gregorian
                && fixed < GREGORIAN_CUTOVER_DATE
                && GREGORIAN_CUTOVER_YEAR != GREGORIAN_CUTOVER_YEAR_JULIAN
            {
                fixed = GREGORIAN_CUTOVER_DATE;
            }
            if has(DAY_OF_YEAR) {
                fixed = fixed
                    .wrapping_add(i64::from(self.get(DAY_OF_YEAR)))
                    .wrapping_sub(1);
            } else {
                let mut first = day_of_week_on_or_before(fixed + 6, i64::from(FIRST_DAY_OF_WEEK));
                if first - fixed >= MINIMAL_DAYS_IN_FIRST_WEEK {
                    first -= 7;
                }
                if has(DAY_OF_WEEK) {
                    let dow = i64::from(self.get(DAY_OF_WEEK));
                    if dow != i64::from(FIRST_DAY_OF_WEEK) {
                        first = day_of_week_on_or_before(first + 6, dow);
                    }
                }
                fixed =
                    first.wrapping_add(7i64.wrapping_mul(i64::from(self.get(WEEK_OF_YEAR)) - 1));
            }
        }
        fixed
    }
}

// ------------------------------------------------------------ ISO helpers

/// `Values.dateFormatFor(date).format(date)`: a time before the end of the
/// first day prints as `HH:mm:ss.SSS'Z'`, a whole day as `yyyy-MM-dd`,
/// anything else as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
pub fn iso_format(millis: i64) -> String {
    let f = fields_of(millis);
    if millis < MILLIS_PER_DAY {
        format!(
            "{:02}:{:02}:{:02}.{:03}Z",
            f.hour_of_day, f.minute, f.second, f.millis
        )
    } else if millis % MILLIS_PER_DAY == 0 {
        format!("{:04}-{:02}-{:02}", f.year, f.month0 + 1, f.day_of_month)
    } else {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            f.year,
            f.month0 + 1,
            f.day_of_month,
            f.hour_of_day,
            f.minute,
            f.second,
            f.millis
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(p: &str, millis: i64) -> String {
        SimpleDateFormat::new(p).unwrap().format(millis)
    }

    fn parse(p: &str, text: &str) -> Option<i64> {
        SimpleDateFormat::new(p)
            .unwrap()
            .parse_prefix(text)
            .map(|(m, _)| m)
    }

    #[test]
    fn formats_like_java() {
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss.SSS", 0), "1970-01-01 00:00:00.000");
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSZ", 1_700_000_000_123),
            "2023-11-14T22:13:20.123+0000"
        );
        assert_eq!(
            fmt("EEE, d MMM yy h:mm a", 1_700_000_000_123),
            "Tue, 14 Nov 23 10:13 PM"
        );
        assert_eq!(fmt("yyyyMMdd", -1), "19691231");
        assert_eq!(fmt("G yyyy", -62_135_769_600_000), "AD 0001");
        assert_eq!(fmt("'quoted ''x'' 'yyyy", 0), "quoted 'x' 1970");
    }

    #[test]
    fn date_strings_match_java_util_date() {
        assert_eq!(date_to_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            date_to_string(-141_427 * MILLIS_PER_DAY),
            "Fri Oct 15 00:00:00 UTC 1582"
        );
        assert_eq!(
            date_to_string(-141_428 * MILLIS_PER_DAY),
            "Thu Oct 04 00:00:00 UTC 1582"
        );
    }

    #[test]
    fn compile_errors_match_java() {
        assert_eq!(
            SimpleDateFormat::new("yyyy-bb").unwrap_err(),
            "Illegal pattern character 'b'"
        );
        assert_eq!(
            SimpleDateFormat::new("'abc").unwrap_err(),
            "Unterminated quote"
        );
    }

    #[test]
    fn parses_leniently_like_java() {
        assert_eq!(parse("yyyy-MM-dd", "1970-01-02"), Some(MILLIS_PER_DAY));
        assert_eq!(parse("yyyy-MM-dd", "1970-01-32"), Some(31 * MILLIS_PER_DAY));
        assert_eq!(parse("yyyyMMdd", "19700102"), Some(MILLIS_PER_DAY));
        assert_eq!(
            parse("yyyy-MM-dd", "1970-01-02trailing"),
            Some(MILLIS_PER_DAY)
        );
        assert_eq!(parse("yyyy-MM-dd", "x1970-01-02"), None);
        assert_eq!(
            parse("yyyy-MM-dd HH:mm Z", "1970-01-01 01:00 +0100"),
            Some(0)
        );
        assert_eq!(parse("MMM d yyyy", "feb 1 1970"), Some(31 * MILLIS_PER_DAY));
    }
}
