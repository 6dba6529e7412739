//! The statements the source runs: `SELECT * FROM t` or the user's query,
//! followed by the mode's criteria, as Confluent's
//! `TimestampIncrementingCriteria` writes them.

use crate::config::Mode;
use crate::dialect::{Dialect, TableId};

/// What a statement reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Table(TableId),
    Query(String),
}

/// A parameter slot of the criteria, in placeholder order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// The last incrementing value read.
    Incrementing,
    /// The last timestamp read (lower bound).
    BeginTimestamp,
    /// The database time minus `timestamp.delay.interval.ms` (upper bound).
    EndTimestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

pub struct QuerySpec<'a> {
    pub dialect: Dialect,
    pub quote: bool,
    pub base: &'a Base,
    pub mode: Mode,
    pub incrementing: Option<&'a str>,
    pub timestamps: &'a [String],
    /// Appended as LIMIT when the order is total (an incrementing column
    /// is part of it), so batches can be read with one query each.
    pub limit: Option<usize>,
}

/// Builds the statement for one poll of a table or query.
pub fn build(spec: &QuerySpec<'_>) -> Statement {
    let d = spec.dialect;
    let mut sql = String::with_capacity(128);
    match spec.base {
        Base::Table(id) => {
            sql.push_str("SELECT * FROM ");
            sql.push_str(&d.table(id, spec.quote));
        }
        Base::Query(q) => sql.push_str(q),
    }
    let inc = spec.incrementing.map(|c| d.ident(c, spec.quote));
    let ts = timestamp_expr(d, spec.quote, spec.timestamps);
    let mut params = Vec::new();
    let mut n = 0;
    let mut ph = |sql: &mut String, p: Param, params: &mut Vec<Param>| {
        n += 1;
        push_param(d, sql, n, p);
        params.push(p);
    };
    match (spec.mode, inc.as_deref(), ts.as_deref()) {
        (Mode::TimestampIncrementing, Some(inc), Some(ts)) => {
            sql.push_str(" WHERE ");
            sql.push_str(ts);
            sql.push_str(" < ");
            ph(&mut sql, Param::EndTimestamp, &mut params);
            sql.push_str(" AND ((");
            sql.push_str(ts);
            sql.push_str(" = ");
            ph(&mut sql, Param::BeginTimestamp, &mut params);
            sql.push_str(" AND ");
            sql.push_str(inc);
            sql.push_str(" > ");
            ph(&mut sql, Param::Incrementing, &mut params);
            sql.push_str(") OR ");
            sql.push_str(ts);
            sql.push_str(" > ");
            ph(&mut sql, Param::BeginTimestamp, &mut params);
            sql.push_str(") ORDER BY ");
            sql.push_str(ts);
            sql.push(',');
            sql.push_str(inc);
            sql.push_str(" ASC");
        }
        (Mode::Incrementing, Some(inc), _) => {
            sql.push_str(" WHERE ");
            sql.push_str(inc);
            sql.push_str(" > ");
            ph(&mut sql, Param::Incrementing, &mut params);
            sql.push_str(" ORDER BY ");
            sql.push_str(inc);
            sql.push_str(" ASC");
        }
        (Mode::Timestamp, _, Some(ts)) => {
            sql.push_str(" WHERE ");
            sql.push_str(ts);
            sql.push_str(" > ");
            ph(&mut sql, Param::BeginTimestamp, &mut params);
            sql.push_str(" AND ");
            sql.push_str(ts);
            sql.push_str(" < ");
            ph(&mut sql, Param::EndTimestamp, &mut params);
            sql.push_str(" ORDER BY ");
            sql.push_str(ts);
            sql.push_str(" ASC");
        }
        _ => {}
    }
    // A total order (with the incrementing column) or timestamp order: the
    // timestamp querier completes a cut-off group of equal timestamps.
    let ordered = (spec.mode.uses_incrementing() && inc.is_some())
        || (spec.mode == Mode::Timestamp && ts.is_some());
    if let (Some(limit), true) = (spec.limit, ordered) {
        sql.push_str(" LIMIT ");
        sql.push_str(&limit.to_string());
    }
    Statement { sql, params }
}

/// Every row whose (coalesced) timestamp equals the parameter.
pub fn build_equal_timestamp(
    d: Dialect,
    quote: bool,
    base: &Base,
    timestamps: &[String],
) -> Statement {
    let mut sql = String::with_capacity(96);
    match base {
        Base::Table(id) => {
            sql.push_str("SELECT * FROM ");
            sql.push_str(&d.table(id, quote));
        }
        Base::Query(q) => sql.push_str(q),
    }
    if let Some(ts) = timestamp_expr(d, quote, timestamps) {
        sql.push_str(" WHERE ");
        sql.push_str(&ts);
        sql.push_str(" = ");
        push_param(d, &mut sql, 1, Param::BeginTimestamp);
    }
    Statement {
        sql,
        params: vec![Param::BeginTimestamp],
    }
}

/// A placeholder; SQLite timestamps are compared as `julianday(…)`, since
/// the same instant may be stored as text in several formats
/// (`2024-01-01 10:00:00` and `2024-01-01 10:00:00.000`).
fn push_param(d: Dialect, sql: &mut String, n: usize, p: Param) {
    let wrap = d == Dialect::Sqlite && p != Param::Incrementing;
    if wrap {
        sql.push_str("julianday(");
    }
    d.push_placeholder(sql, n);
    if wrap {
        sql.push(')');
    }
}

/// `ts` or `COALESCE(ts1, ts2, …)` (each `julianday(ts)` on SQLite).
fn timestamp_expr(d: Dialect, quote: bool, cols: &[String]) -> Option<String> {
    let col = |c: &String| {
        if d == Dialect::Sqlite {
            format!("julianday({})", d.ident(c, quote))
        } else {
            d.ident(c, quote)
        }
    };
    match cols {
        [] => None,
        [one] => Some(col(one)),
        many => {
            let inner: Vec<String> = many.iter().map(col).collect();
            Some(format!("COALESCE({})", inner.join(",")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Base {
        Base::Table(TableId::new(None, Some("public".into()), "orders"))
    }

    #[test]
    fn incrementing_query() {
        let b = table();
        let s = build(&QuerySpec {
            dialect: Dialect::Postgres,
            quote: true,
            base: &b,
            mode: Mode::Incrementing,
            incrementing: Some("id"),
            timestamps: &[],
            limit: Some(100),
        });
        assert_eq!(
            s.sql,
            r#"SELECT * FROM "public"."orders" WHERE "id" > $1 ORDER BY "id" ASC LIMIT 100"#
        );
        assert_eq!(s.params, vec![Param::Incrementing]);
    }

    #[test]
    fn timestamp_incrementing_query_coalesces_columns() {
        let b = table();
        let ts = vec!["updated".to_owned(), "created".to_owned()];
        let s = build(&QuerySpec {
            dialect: Dialect::MySql,
            quote: true,
            base: &b,
            mode: Mode::TimestampIncrementing,
            incrementing: Some("id"),
            timestamps: &ts,
            limit: None,
        });
        assert_eq!(
            s.sql,
            "SELECT * FROM `public`.`orders` WHERE COALESCE(`updated`,`created`) < ? AND ((COALESCE(`updated`,`created`) = ? AND `id` > ?) OR COALESCE(`updated`,`created`) > ?) ORDER BY COALESCE(`updated`,`created`),`id` ASC"
        );
        assert_eq!(
            s.params,
            vec![
                Param::EndTimestamp,
                Param::BeginTimestamp,
                Param::Incrementing,
                Param::BeginTimestamp
            ]
        );
    }

    #[test]
    fn timestamp_and_bulk_and_query_mode() {
        let q = Base::Query("SELECT a, b FROM x".into());
        let ts = vec!["b".to_owned()];
        let s = build(&QuerySpec {
            dialect: Dialect::Sqlite,
            quote: false,
            base: &q,
            mode: Mode::Timestamp,
            incrementing: None,
            timestamps: &ts,
            limit: Some(10),
        });
        assert_eq!(
            s.sql,
            "SELECT a, b FROM x WHERE julianday(b) > julianday(?) AND julianday(b) < julianday(?) ORDER BY julianday(b) ASC LIMIT 10"
        );
        let e = build_equal_timestamp(Dialect::Postgres, true, &table(), &ts);
        assert_eq!(e.sql, r#"SELECT * FROM "public"."orders" WHERE "b" = $1"#);
        let b = table();
        let s = build(&QuerySpec {
            dialect: Dialect::Postgres,
            quote: false,
            base: &b,
            mode: Mode::Bulk,
            incrementing: None,
            timestamps: &[],
            limit: Some(10),
        });
        assert_eq!(s.sql, "SELECT * FROM public.orders");
        assert!(s.params.is_empty());
    }
}
