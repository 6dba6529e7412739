//! SQL text of the sink: multi-row INSERT / upsert, UPDATE, DELETE, and the
//! DDL of `auto.create` / `auto.evolve`. Values are always bound, never
//! inlined.

use ferry_api::Schema;

use crate::dialect::Dialect;

/// A target column: its name and, for Postgres, the cast its placeholder
/// needs (a text parameter does not convert to json, jsonb or uuid on its
/// own, as Confluent's Postgres dialect also casts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub cast: Option<String>,
}

impl Column {
    pub fn plain(name: &str) -> Self {
        Column {
            name: name.to_owned(),
            cast: None,
        }
    }
}

/// Column types whose placeholders Postgres must be told to cast.
pub fn pg_cast_for(type_name: &str) -> Option<String> {
    match type_name {
        "json" | "jsonb" | "uuid" | "inet" | "cidr" | "macaddr" | "xml" | "citext" | "interval"
        | "money" => Some(type_name.to_owned()),
        _ => None,
    }
}

pub struct Target<'a> {
    pub dialect: Dialect,
    pub quote: bool,
    /// The table, already rendered (quoted and qualified).
    pub table: &'a str,
    pub keys: &'a [Column],
    pub values: &'a [Column],
}

impl Target<'_> {
    fn ident(&self, out: &mut String, name: &str) {
        self.dialect.push_ident(out, name, self.quote);
    }

    fn placeholder(&self, out: &mut String, n: &mut usize, col: &Column) {
        *n += 1;
        self.dialect.push_placeholder(out, *n);
        if let (Dialect::Postgres, Some(c)) = (self.dialect, &col.cast) {
            out.push_str("::");
            out.push_str(c);
        }
    }

    fn columns(&self) -> impl Iterator<Item = &Column> {
        self.keys.iter().chain(self.values.iter())
    }

    fn column_list(&self, out: &mut String) {
        out.push('(');
        for (i, c) in self.columns().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.ident(out, &c.name);
        }
        out.push(')');
    }

    fn values_rows(&self, out: &mut String, rows: usize) {
        out.push_str(" VALUES ");
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                out.push(',');
            }
            out.push('(');
            for (i, c) in self.columns().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                self.placeholder(out, &mut n, c);
            }
            out.push(')');
        }
    }

    /// `INSERT INTO t (k…, v…) VALUES (…), (…)`.
    pub fn insert(&self, rows: usize) -> String {
        let mut s = String::with_capacity(64 + rows * 8 * (self.keys.len() + self.values.len()));
        s.push_str("INSERT INTO ");
        s.push_str(self.table);
        s.push(' ');
        self.column_list(&mut s);
        self.values_rows(&mut s, rows);
        s
    }

    /// The insert with the database's "insert or update" clause.
    pub fn upsert(&self, rows: usize) -> String {
        let mut s = self.insert(rows);
        self.push_conflict(&mut s);
        s
    }

    /// Postgres only: all rows as one array parameter per column,
    /// `INSERT INTO t (…) SELECT … FROM UNNEST($1::int8[], …)`. One short
    /// statement whatever the row count, so it is parsed and planned once and
    /// carries no 65,535-parameter limit. `array_types` are the parameters'
    /// array types, in column order.
    pub fn insert_unnest(&self, array_types: &[&str], upsert: bool) -> String {
        let mut s = String::with_capacity(128 + array_types.len() * 24);
        s.push_str("INSERT INTO ");
        s.push_str(self.table);
        s.push(' ');
        self.column_list(&mut s);
        s.push_str(" SELECT ");
        for (i, c) in self.columns().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str("u.c");
            s.push_str(&(i + 1).to_string());
            if let Some(cast) = &c.cast {
                s.push_str("::");
                s.push_str(cast);
            }
        }
        s.push_str(" FROM UNNEST(");
        for (i, t) in array_types.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            self.dialect.push_placeholder(&mut s, i + 1);
            s.push_str("::");
            s.push_str(t);
        }
        s.push_str(") AS u(");
        for i in 0..array_types.len() {
            if i > 0 {
                s.push(',');
            }
            s.push('c');
            s.push_str(&(i + 1).to_string());
        }
        s.push(')');
        if upsert {
            self.push_conflict(&mut s);
        }
        s
    }

    fn push_conflict(&self, s: &mut String) {
        match self.dialect {
            Dialect::Postgres | Dialect::Sqlite => {
                s.push_str(" ON CONFLICT (");
                for (i, k) in self.keys.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    self.ident(s, &k.name);
                }
                s.push(')');
                if self.values.is_empty() {
                    s.push_str(" DO NOTHING");
                } else {
                    s.push_str(" DO UPDATE SET ");
                    for (i, v) in self.values.iter().enumerate() {
                        if i > 0 {
                            s.push(',');
                        }
                        self.ident(s, &v.name);
                        s.push_str("=EXCLUDED.");
                        self.ident(s, &v.name);
                    }
                }
            }
            Dialect::MySql => {
                s.push_str(" ON DUPLICATE KEY UPDATE ");
                // With only key columns, re-assigning a key is the no-op.
                let update: &[Column] = if self.values.is_empty() {
                    self.keys
                } else {
                    self.values
                };
                for (i, v) in update.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    self.ident(s, &v.name);
                    s.push_str("=VALUES(");
                    self.ident(s, &v.name);
                    s.push(')');
                }
            }
        }
    }

    /// `UPDATE t SET v…=? WHERE k…=?` for one record (values bound first).
    pub fn update(&self) -> String {
        let mut s = String::from("UPDATE ");
        s.push_str(self.table);
        s.push_str(" SET ");
        let mut n = 0;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            self.ident(&mut s, &v.name);
            s.push('=');
            self.placeholder(&mut s, &mut n, v);
        }
        self.key_predicate(&mut s, &mut n);
        s
    }

    fn key_predicate(&self, s: &mut String, n: &mut usize) {
        s.push_str(" WHERE ");
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                s.push_str(" AND ");
            }
            self.ident(s, &k.name);
            s.push('=');
            self.placeholder(s, n, k);
        }
    }

    /// `DELETE FROM t WHERE (k…=?) OR (k…=?)` for `rows` keys.
    pub fn delete(&self, rows: usize) -> String {
        let mut s = String::from("DELETE FROM ");
        s.push_str(self.table);
        s.push_str(" WHERE ");
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                s.push_str(" OR ");
            }
            s.push('(');
            for (i, k) in self.keys.iter().enumerate() {
                if i > 0 {
                    s.push_str(" AND ");
                }
                self.ident(&mut s, &k.name);
                s.push('=');
                self.placeholder(&mut s, &mut n, k);
            }
            s.push(')');
        }
        s
    }
}

/// `CREATE TABLE t (…, PRIMARY KEY(…))` for `auto.create`.
pub fn create_table(
    d: Dialect,
    quote: bool,
    table: &str,
    keys: &[(&str, &Schema)],
    values: &[(&str, &Schema)],
) -> Result<String, String> {
    let mut s = format!("CREATE TABLE {table} (");
    let mut first = true;
    for (name, schema, is_key) in keys
        .iter()
        .map(|(n, s)| (n, s, true))
        .chain(values.iter().map(|(n, s)| (n, s, false)))
    {
        if !first {
            s.push(',');
        }
        first = false;
        let ty = if is_key {
            d.key_sql_type(schema)
        } else {
            d.sql_type(schema)
        }
        .ok_or_else(|| {
            format!(
                "{} ({}) type doesn't have a mapping to the SQL database column type",
                name,
                schema.schema_type()
            )
        })?;
        d.push_ident(&mut s, name, quote);
        s.push(' ');
        s.push_str(&ty);
        if is_key || !schema.is_optional() {
            s.push_str(" NOT NULL");
        }
    }
    if !keys.is_empty() {
        s.push_str(",PRIMARY KEY(");
        for (i, (name, _)) in keys.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            d.push_ident(&mut s, name, quote);
        }
        s.push(')');
    }
    s.push(')');
    Ok(s)
}

/// `ALTER TABLE t ADD …` statements for `auto.evolve` (one per column:
/// SQLite accepts nothing else). New columns are nullable, as Confluent
/// requires of fields it adds.
pub fn add_columns(
    d: Dialect,
    quote: bool,
    table: &str,
    columns: &[(&str, &Schema)],
) -> Result<Vec<String>, String> {
    columns
        .iter()
        .map(|(name, schema)| {
            let ty = d.sql_type(schema).ok_or_else(|| {
                format!(
                    "{} ({}) type doesn't have a mapping to the SQL database column type",
                    name,
                    schema.schema_type()
                )
            })?;
            let mut s = format!("ALTER TABLE {table} ADD ");
            if d == Dialect::Postgres {
                s.push_str("COLUMN ");
            }
            d.push_ident(&mut s, name, quote);
            s.push(' ');
            s.push_str(&ty);
            s.push_str(" NULL");
            Ok(s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    fn cols(names: &[&str]) -> Vec<Column> {
        names.iter().map(|n| Column::plain(n)).collect()
    }

    #[test]
    fn postgres_multi_row_upsert() {
        let keys = cols(&["id"]);
        let mut values = cols(&["name", "doc"]);
        values[1].cast = Some("jsonb".into());
        let t = Target {
            dialect: Dialect::Postgres,
            quote: true,
            table: "\"t\"",
            keys: &keys,
            values: &values,
        };
        assert_eq!(
            t.upsert(2),
            "INSERT INTO \"t\" (\"id\",\"name\",\"doc\") VALUES ($1,$2,$3::jsonb),($4,$5,$6::jsonb) ON CONFLICT (\"id\") DO UPDATE SET \"name\"=EXCLUDED.\"name\",\"doc\"=EXCLUDED.\"doc\""
        );
    }

    #[test]
    fn postgres_unnest_insert() {
        let keys = cols(&["id"]);
        let mut values = cols(&["doc"]);
        values[0].cast = Some("jsonb".into());
        let t = Target {
            dialect: Dialect::Postgres,
            quote: true,
            table: "\"t\"",
            keys: &keys,
            values: &values,
        };
        assert_eq!(
            t.insert_unnest(&["int8[]", "text[]"], true),
            "INSERT INTO \"t\" (\"id\",\"doc\") SELECT u.c1,u.c2::jsonb FROM UNNEST($1::int8[],$2::text[]) AS u(c1,c2) ON CONFLICT (\"id\") DO UPDATE SET \"doc\"=EXCLUDED.\"doc\""
        );
    }

    #[test]
    fn mysql_upsert_update_delete() {
        let keys = cols(&["a", "b"]);
        let values = cols(&["v"]);
        let t = Target {
            dialect: Dialect::MySql,
            quote: true,
            table: "`t`",
            keys: &keys,
            values: &values,
        };
        assert_eq!(
            t.upsert(1),
            "INSERT INTO `t` (`a`,`b`,`v`) VALUES (?,?,?) ON DUPLICATE KEY UPDATE `v`=VALUES(`v`)"
        );
        assert_eq!(t.update(), "UPDATE `t` SET `v`=? WHERE `a`=? AND `b`=?");
        assert_eq!(
            t.delete(2),
            "DELETE FROM `t` WHERE (`a`=? AND `b`=?) OR (`a`=? AND `b`=?)"
        );
        let only_keys = Target {
            dialect: Dialect::MySql,
            quote: false,
            table: "t",
            keys: &keys,
            values: &[],
        };
        assert_eq!(
            only_keys.upsert(1),
            "INSERT INTO t (a,b) VALUES (?,?) ON DUPLICATE KEY UPDATE a=VALUES(a),b=VALUES(b)"
        );
    }

    #[test]
    fn ddl() {
        let id = Schema::int64();
        let name = Schema::optional_string();
        let price = SchemaBuilder::decimal(2).build();
        let sql = create_table(
            Dialect::Postgres,
            true,
            "\"t\"",
            &[("id", &id)],
            &[("name", &name), ("price", &price)],
        )
        .unwrap();
        assert_eq!(sql, "CREATE TABLE \"t\" (\"id\" BIGINT NOT NULL,\"name\" TEXT,\"price\" DECIMAL NOT NULL,PRIMARY KEY(\"id\"))");
        let alter = add_columns(Dialect::Sqlite, true, "\"t\"", &[("x", &name)]).unwrap();
        assert_eq!(alter, vec!["ALTER TABLE \"t\" ADD \"x\" TEXT NULL"]);
        let bad = SchemaBuilder::map(Schema::string(), Schema::string()).build();
        assert!(create_table(Dialect::MySql, true, "t", &[], &[("m", &bad)]).is_err());
    }
}
