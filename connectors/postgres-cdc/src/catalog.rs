//! What the replication stream does not say about a table, read from the
//! catalog: which columns may be null and which make the primary key (in
//! key order), as Debezium reads them over JDBC.

use sqlx::{PgConnection, Row};

use crate::config::ColumnFilter;
use crate::events::ColumnMeta;
use crate::values::ColumnType;

/// The columns of the table with OID `relation`, in the order pgoutput's
/// tuples list them (dropped and generated columns are not sent).
/// `included` is set for every column; the caller applies the column
/// filters.
pub async fn columns(db: &mut PgConnection, relation: u32) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.attname::text, a.atttypid::int8, a.atttypmod, a.attnotnull, \
                array_position(i.indkey::int2[], a.attnum)::int4 \
         FROM pg_attribute a \
         LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
         WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' \
         ORDER BY a.attnum",
    )
    .bind(i64::from(relation))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let type_oid: i64 = r.try_get(1)?;
            let key: Option<i32> = r.try_get(4)?;
            Ok(ColumnMeta {
                name: r.try_get(0)?,
                column_type: ColumnType {
                    oid: u32::try_from(type_oid).unwrap_or(0),
                    typmod: r.try_get(2)?,
                },
                not_null: r.try_get(3)?,
                key: key.and_then(|k| u16::try_from(k).ok()),
                included: true,
            })
        })
        .collect()
}

/// The columns of `schema.table` (OID `relation`), those the column
/// filters leave out marked so (their values are not captured; a key
/// column stays in the key).
pub async fn captured_columns(
    db: &mut PgConnection,
    relation: u32,
    schema: &str,
    table: &str,
    filter: &ColumnFilter,
) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let mut columns = columns(db, relation).await?;
    for c in &mut columns {
        c.included = filter.includes(schema, table, &c.name);
    }
    Ok(columns)
}
