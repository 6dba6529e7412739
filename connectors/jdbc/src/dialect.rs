//! What differs between the databases in the SQL Ferry writes: identifier
//! quoting, placeholders, the column type used for a Connect schema when a
//! table is created or evolved, and the catalog queries.

use ferry_api::data::logical;
use ferry_api::{Schema, SchemaType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Postgres,
    /// MySQL and MariaDB speak the same protocol and SQL here.
    MySql,
    Sqlite,
}

/// A table name as the catalogs know it: `catalog.schema.table` with the
/// parts a database does not use left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn new(catalog: Option<String>, schema: Option<String>, table: impl Into<String>) -> Self {
        TableId {
            catalog,
            schema,
            table: table.into(),
        }
    }

    /// Parses `table`, `schema.table` or `catalog.schema.table`.
    pub fn parse(name: &str) -> Self {
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [t] => TableId::new(None, None, *t),
            [s, t] => TableId::new(None, Some((*s).to_owned()), *t),
            [c, s, rest @ ..] => {
                TableId::new(Some((*c).to_owned()), Some((*s).to_owned()), rest.join("."))
            }
            [] => TableId::new(None, None, name),
        }
    }

    /// The unquoted, dot-separated name (Confluent's `QuoteMethod.NEVER`
    /// rendering), used in source partitions.
    pub fn unquoted(&self) -> String {
        let mut out = String::new();
        for p in [&self.catalog, &self.schema].into_iter().flatten() {
            out.push_str(p);
            out.push('.');
        }
        out.push_str(&self.table);
        out
    }
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL",
            Dialect::Sqlite => "SQLite",
        }
    }

    /// Appends `ident`, quoted when `quote` is set (`quote.sql.identifiers`).
    pub fn push_ident(self, out: &mut String, ident: &str, quote: bool) {
        if !quote {
            out.push_str(ident);
            return;
        }
        let q = match self {
            Dialect::MySql => '`',
            _ => '"',
        };
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
    }

    pub fn ident(self, ident: &str, quote: bool) -> String {
        let mut s = String::with_capacity(ident.len() + 2);
        self.push_ident(&mut s, ident, quote);
        s
    }

    /// Schema-qualified table name. The catalog is left out for Postgres
    /// (a connection is bound to one database).
    pub fn table(self, id: &TableId, quote: bool) -> String {
        let mut s = String::new();
        let parts: Vec<&String> = match self {
            Dialect::Postgres | Dialect::Sqlite => id.schema.iter().collect(),
            Dialect::MySql => id.catalog.iter().chain(id.schema.iter()).take(1).collect(),
        };
        for p in parts {
            self.push_ident(&mut s, p, quote);
            s.push('.');
        }
        self.push_ident(&mut s, &id.table, quote);
        s
    }

    /// Appends the placeholder of 1-based parameter `n`.
    pub fn push_placeholder(self, out: &mut String, n: usize) {
        match self {
            Dialect::Postgres => {
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push('?'),
        }
    }

    /// Most bind parameters one statement may carry.
    pub fn max_params(self) -> usize {
        match self {
            Dialect::Postgres | Dialect::MySql => 65_535,
            // SQLITE_MAX_VARIABLE_NUMBER since 3.32.
            Dialect::Sqlite => 32_766,
        }
    }

    /// The column type for a Connect schema, as Confluent's dialects choose
    /// it for `auto.create` / `auto.evolve`.
    pub fn sql_type(self, schema: &Schema) -> Option<String> {
        if let Some(name) = schema.name() {
            match name {
                logical::DECIMAL => {
                    let scale = schema.parameter(logical::DECIMAL_SCALE).unwrap_or("0");
                    return Some(match self {
                        Dialect::Postgres => "DECIMAL".into(),
                        Dialect::MySql => format!("DECIMAL(65,{scale})"),
                        Dialect::Sqlite => "NUMERIC".into(),
                    });
                }
                logical::DATE => return Some("DATE".into()),
                logical::TIME => {
                    return Some(match self {
                        Dialect::MySql => "TIME(3)".into(),
                        _ => "TIME".into(),
                    })
                }
                logical::TIMESTAMP => {
                    return Some(match self {
                        Dialect::MySql => "DATETIME(3)".into(),
                        Dialect::Sqlite => "NUMERIC".into(),
                        Dialect::Postgres => "TIMESTAMP".into(),
                    })
                }
                _ => {}
            }
        }
        let t = match (self, schema.schema_type()) {
            (Dialect::Postgres, SchemaType::Int8) => "SMALLINT",
            (Dialect::Postgres, SchemaType::Int16) => "SMALLINT",
            (Dialect::Postgres, SchemaType::Int32) => "INT",
            (Dialect::Postgres, SchemaType::Int64) => "BIGINT",
            (Dialect::Postgres, SchemaType::Float32) => "REAL",
            (Dialect::Postgres, SchemaType::Float64) => "DOUBLE PRECISION",
            (Dialect::Postgres, SchemaType::Boolean) => "BOOLEAN",
            (Dialect::Postgres, SchemaType::String) => "TEXT",
            (Dialect::Postgres, SchemaType::Bytes) => "BYTEA",
            (Dialect::Postgres, SchemaType::Array) => {
                let items = schema.value_schema()?;
                return Some(format!("{}[]", self.sql_type(items)?));
            }
            (Dialect::MySql, SchemaType::Int8) => "TINYINT",
            (Dialect::MySql, SchemaType::Int16) => "SMALLINT",
            (Dialect::MySql, SchemaType::Int32) => "INT",
            (Dialect::MySql, SchemaType::Int64) => "BIGINT",
            (Dialect::MySql, SchemaType::Float32) => "FLOAT",
            (Dialect::MySql, SchemaType::Float64) => "DOUBLE",
            (Dialect::MySql, SchemaType::Boolean) => "TINYINT",
            // Key columns cannot be TEXT in MySQL; Confluent uses
            // VARCHAR(256) for them (see `key_sql_type`).
            (Dialect::MySql, SchemaType::String) => "TEXT",
            (Dialect::MySql, SchemaType::Bytes) => "VARBINARY(1024)",
            (
                Dialect::Sqlite,
                SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64,
            ) => "INTEGER",
            (Dialect::Sqlite, SchemaType::Float32 | SchemaType::Float64) => "REAL",
            (Dialect::Sqlite, SchemaType::Boolean) => "INTEGER",
            (Dialect::Sqlite, SchemaType::String) => "TEXT",
            (Dialect::Sqlite, SchemaType::Bytes) => "BLOB",
            _ => return None,
        };
        Some(t.to_owned())
    }

    /// The column type for a primary-key column.
    pub fn key_sql_type(self, schema: &Schema) -> Option<String> {
        match (self, schema.schema_type(), schema.name()) {
            (Dialect::MySql, SchemaType::String, None) => Some("VARCHAR(256)".into()),
            (Dialect::MySql, SchemaType::Bytes, None) => Some("VARBINARY(255)".into()),
            _ => self.sql_type(schema),
        }
    }

    /// Current time of the database, as a UTC timestamp without zone.
    pub fn current_timestamp_sql(self) -> &'static str {
        match self {
            Dialect::Postgres => "SELECT (now() AT TIME ZONE 'UTC')::timestamp",
            Dialect::MySql => "SELECT UTC_TIMESTAMP(6)",
            Dialect::Sqlite => "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::SchemaBuilder;

    #[test]
    fn quoting_escapes_the_quote_character() {
        assert_eq!(Dialect::Postgres.ident("a\"b", true), "\"a\"\"b\"");
        assert_eq!(Dialect::MySql.ident("a`b", true), "`a``b`");
        assert_eq!(Dialect::Sqlite.ident("plain", false), "plain");
        let id = TableId::parse("public.orders");
        assert_eq!(Dialect::Postgres.table(&id, true), "\"public\".\"orders\"");
        assert_eq!(
            Dialect::MySql.table(&TableId::new(Some("db".into()), None, "t"), true),
            "`db`.`t`"
        );
        assert_eq!(
            TableId::new(Some("db".into()), Some("public".into()), "t").unquoted(),
            "db.public.t"
        );
    }

    #[test]
    fn placeholders() {
        let mut s = String::new();
        Dialect::Postgres.push_placeholder(&mut s, 12);
        Dialect::MySql.push_placeholder(&mut s, 3);
        assert_eq!(s, "$12?");
    }

    #[test]
    fn sql_types_follow_confluent() {
        let dec = SchemaBuilder::decimal(2).build();
        assert_eq!(Dialect::Postgres.sql_type(&dec).unwrap(), "DECIMAL");
        assert_eq!(Dialect::MySql.sql_type(&dec).unwrap(), "DECIMAL(65,2)");
        assert_eq!(
            Dialect::Postgres
                .sql_type(&SchemaBuilder::timestamp().build())
                .unwrap(),
            "TIMESTAMP"
        );
        assert_eq!(
            Dialect::MySql.key_sql_type(&Schema::string()).unwrap(),
            "VARCHAR(256)"
        );
        assert_eq!(
            Dialect::Sqlite.sql_type(&Schema::int64()).unwrap(),
            "INTEGER"
        );
        let arr = SchemaBuilder::array(Schema::int32()).build();
        assert_eq!(Dialect::Postgres.sql_type(&arr).unwrap(), "INT[]");
        assert!(Dialect::MySql.sql_type(&arr).is_none());
    }
}
