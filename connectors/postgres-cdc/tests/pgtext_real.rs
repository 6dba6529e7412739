//! The text-format parsers against PostgreSQL itself: for each type, the
//! server writes values as text (as pgoutput sends them) and computes what
//! they mean (days since 1970, epoch microseconds, interval fields, …);
//! the parsers must agree on every value.

mod support;

use ferry_connector_postgres_cdc::pgtext::{self, Instant, Interval, Numeric};
use sqlx::{Executor, PgConnection, Row};

async fn connect() -> PgConnection {
    let mut db = support::connect().await;
    // What the replication session is pinned to.
    db.execute("SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'")
        .await
        .expect("session settings");
    db
}

/// Rows of `sql`: the value as text, then the columns to compare with.
async fn rows(db: &mut PgConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let rows = sqlx::query(sql)
        .fetch_all(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<Option<String>, _>(i))
                .collect()
        })
        .collect()
}

fn num<T: std::str::FromStr>(s: &Option<String>) -> T {
    s.as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a number: {s:?}"))
}

#[tokio::test]
async fn dates_times_and_timestamps_mean_what_postgres_says() {
    let mut db = connect().await;
    let dates = rows(
        &mut db,
        "SELECT d::text, CASE WHEN isfinite(d) THEN (d - DATE '1970-01-01')::text END, \
         CASE WHEN d = 'infinity' THEN '+' WHEN d = '-infinity' THEN '-' END \
         FROM unnest(ARRAY['2024-02-29', '1970-01-01', '1969-12-31', '0001-01-01', \
         '0001-12-31 BC', '0005-02-29 BC', '4713-01-01 BC', '5874897-12-31', 'infinity', \
         '-infinity']::date[]) AS d",
    )
    .await;
    for r in &dates {
        let text = r[0].as_deref().expect("text");
        let expected = match r[2].as_deref() {
            Some("+") => Instant::Infinity,
            Some("-") => Instant::NegInfinity,
            _ => Instant::Finite(num::<i32>(&r[1])),
        };
        assert_eq!(pgtext::parse_date(text), Ok(expected), "{text}");
    }

    let stamps = rows(
        &mut db,
        "SELECT t::text, (extract(epoch FROM t) * 1000000)::numeric(40,0)::text \
         FROM unnest(ARRAY['2024-02-29 12:34:56.789012', '1970-01-01 00:00:00', \
         '1969-12-31 23:59:59.999999', '0001-01-01 00:00:00 BC', '1900-03-01 00:00:00.1', \
         '262142-12-31 23:59:59.999999']::timestamp[]) AS t",
    )
    .await;
    for r in &stamps {
        let text = r[0].as_deref().expect("text");
        assert_eq!(
            pgtext::parse_timestamp(text),
            Ok(Instant::Finite(num::<i64>(&r[1]))),
            "{text}"
        );
    }
    assert_eq!(pgtext::parse_timestamp("infinity"), Ok(Instant::Infinity));
    // PostgreSQL's last timestamp lies past what 64-bit microseconds since
    // 1970 hold: refused, never wrapped.
    assert!(pgtext::parse_timestamp("294276-12-31 23:59:59.999999").is_err());

    // Offsets with minutes and, before 1937 in Amsterdam, seconds.
    for zone in [
        "UTC",
        "Asia/Kolkata",
        "America/St_Johns",
        "Europe/Amsterdam",
    ] {
        db.execute(format!("SET timezone = '{zone}'").as_str())
            .await
            .expect("a zone");
        let stamps = rows(
            &mut db,
            "SELECT t::text, (extract(epoch FROM t) * 1000000)::numeric(40,0)::text \
             FROM unnest(ARRAY['2024-06-01 12:00:00.5+00', '1900-01-01 00:00:00+00', \
             '1969-12-31 23:59:59.999999+00', '0044-03-15 12:00:00+00 BC']::timestamptz[]) AS t",
        )
        .await;
        for r in &stamps {
            let text = r[0].as_deref().expect("text");
            assert_eq!(
                pgtext::parse_timestamptz(text),
                Ok(Instant::Finite(num::<i64>(&r[1]))),
                "{text} in {zone}"
            );
        }
    }

    let times = rows(
        &mut db,
        "SELECT t::text, (extract(epoch FROM t) * 1000000)::bigint::text \
         FROM unnest(ARRAY['00:00:00', '23:59:59.999999', '24:00:00', '12:34:56.5']::time[]) AS t",
    )
    .await;
    for r in &times {
        let text = r[0].as_deref().expect("text");
        assert_eq!(pgtext::parse_time(text), Ok(num::<i64>(&r[1])), "{text}");
    }
    let times = rows(
        &mut db,
        "SELECT t::text, (extract(hour FROM t) * 3600000000 + extract(minute FROM t) * 60000000 \
         + extract(microseconds FROM t))::bigint::text, extract(timezone FROM t)::int::text \
         FROM unnest(ARRAY['12:34:56.25+05:30', '00:00:00-03:30', '23:59:59+00', \
         '06:00:00+00:19:32']::timetz[]) AS t",
    )
    .await;
    for r in &times {
        let text = r[0].as_deref().expect("text");
        assert_eq!(
            pgtext::parse_timetz(text),
            Ok((num::<i64>(&r[1]), num::<i32>(&r[2]))),
            "{text}"
        );
    }
}

#[tokio::test]
async fn intervals_bytes_numbers_and_arrays_mean_what_postgres_says() {
    let mut db = connect().await;
    let intervals = rows(
        &mut db,
        "SELECT i::text, (extract(year FROM i) * 12 + extract(month FROM i))::int::text, \
         extract(day FROM i)::int::text, (extract(hour FROM i) * 3600000000 \
         + extract(minute FROM i) * 60000000 + extract(microseconds FROM i))::bigint::text \
         FROM unnest(ARRAY['1 year 2 mons 3 days 04:05:06.789', '-1 days +02:03:00', \
         '00:00:00', '-00:00:01', '100 hours', '-1 year -2 mons', '1 mon -1 days', \
         '2 days 100:00:00.000001', '-178000000 years']::interval[]) AS i",
    )
    .await;
    for r in &intervals {
        let text = r[0].as_deref().expect("text");
        let expected = Interval {
            months: num(&r[1]),
            days: num(&r[2]),
            micros: num(&r[3]),
        };
        assert_eq!(pgtext::parse_interval(text), Ok(expected), "{text}");
    }

    let bytes = rows(
        &mut db,
        "SELECT b::text, encode(b, 'hex') FROM unnest(ARRAY[decode('00ff10', 'hex'), \
         ''::bytea, 'ab\\\\cd'::bytea]) AS b",
    )
    .await;
    for r in &bytes {
        let text = r[0].as_deref().expect("text");
        let hex = r[1].as_deref().expect("hex");
        let parsed = pgtext::parse_bytea(text).expect("bytea");
        let again: String = parsed.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(again, hex, "{text}");
    }

    let numerics = rows(
        &mut db,
        "SELECT n::text, scale(n)::text FROM unnest(ARRAY['-12.3400', '0', '0.000', \
         '123456789012345678901234567890.5', '-0.001']::numeric[]) AS n",
    )
    .await;
    for r in &numerics {
        let text = r[0].as_deref().expect("text");
        let Ok(Numeric::Finite { scale, .. }) = pgtext::parse_numeric(text) else {
            panic!("a finite numeric: {text}");
        };
        assert_eq!(scale, num::<u32>(&r[1]), "{text}");
    }
    let specials = rows(
        &mut db,
        "SELECT n::text FROM unnest(ARRAY['NaN', 'Infinity', '-Infinity']::numeric[]) AS n",
    )
    .await;
    let specials: Vec<_> = specials
        .iter()
        .map(|r| pgtext::parse_numeric(r[0].as_deref().expect("text")))
        .collect();
    assert_eq!(
        specials,
        vec![
            Ok(Numeric::NaN),
            Ok(Numeric::Infinity),
            Ok(Numeric::NegInfinity)
        ]
    );

    let array = rows(
        &mut db,
        "SELECT ARRAY['a b', NULL, 'q\"x', 'NULL', '{}', 'back\\slash', 'é,', '']::text[]::text",
    )
    .await;
    let text = array[0][0].as_deref().expect("text");
    let expected: Vec<Option<String>> = rows(
        &mut db,
        "SELECT e FROM unnest(ARRAY['a b', NULL, 'q\"x', 'NULL', '{}', 'back\\slash', 'é,', '']::text[]) \
         WITH ORDINALITY AS u(e, n) ORDER BY n",
    )
    .await
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(pgtext::parse_array(text), Ok(expected), "{text}");

    let bools = rows(&mut db, "SELECT true::text, false::text").await;
    assert_eq!(bools[0][0].as_deref(), Some("true"), "casts spell it out");
    let bools = rows(
        &mut db,
        "SELECT textin(boolout(true))::text, textin(boolout(false))::text",
    )
    .await;
    assert_eq!(
        (
            pgtext::parse_bool(bools[0][0].as_deref().expect("t")),
            pgtext::parse_bool(bools[0][1].as_deref().expect("f"))
        ),
        (Ok(true), Ok(false))
    );
}
