//! What the replication stream does not say about a table, read from the
//! catalog: which columns may be null and which make the primary key (in
//! key order), as Debezium reads them over JDBC.

use sqlx::{PgConnection, Row};

use crate::config::{ColumnFilter, KeyColumns};
use crate::events::ColumnMeta;
use crate::pgoutput::Relation;
use crate::values::ColumnType;

/// The columns of the table with OID `relation`, in the order pgoutput's
/// tuples list them (dropped and generated columns are not sent).
/// `included` is set for every column; the caller applies the column
/// filters.
pub async fn columns(db: &mut PgConnection, relation: u32) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.attname::text, a.atttypid::int8, a.atttypmod, a.attnotnull, \
                array_position(i.indkey::int2[], a.attnum)::int4, \
                pg_get_expr(d.adbin, d.adrelid)::text \
         FROM pg_attribute a \
         LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
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
                default: r.try_get(5)?,
            })
        })
        .collect()
}

/// The columns of `schema.table` (OID `relation`), those the column
/// filters leave out marked so (their values are not captured; a key
/// column stays in the key), the key as `message.key.columns` chooses it.
pub async fn captured_columns(
    db: &mut PgConnection,
    relation: u32,
    schema: &str,
    table: &str,
    filter: &ColumnFilter,
    keys: &KeyColumns,
) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let mut columns = columns(db, relation).await?;
    for c in &mut columns {
        c.included = filter.includes(schema, table, &c.name);
    }
    keys.apply(schema, table, &mut columns);
    Ok(columns)
}

/// The columns of a relation message, as its tuples list them: names and
/// types from the message (the table as it was when the change was
/// written), nullability and key order from the catalog (read now, when a
/// later `ALTER TABLE` may have changed it: a column the catalog no longer
/// has is taken as nullable and outside the key).
pub async fn relation_columns(
    db: &mut PgConnection,
    relation: &Relation,
    filter: &ColumnFilter,
    keys: &KeyColumns,
) -> Result<Vec<ColumnMeta>, sqlx::Error> {
    let now = captured_columns(
        db,
        relation.oid,
        &relation.namespace,
        &relation.name,
        filter,
        keys,
    )
    .await?;
    Ok(relation
        .columns
        .iter()
        .map(|rc| {
            let known = now.iter().find(|c| c.name == rc.name);
            ColumnMeta {
                name: rc.name.clone(),
                column_type: ColumnType {
                    oid: rc.type_oid,
                    typmod: rc.type_modifier,
                },
                not_null: known.is_some_and(|c| c.not_null),
                key: known.and_then(|c| c.key),
                included: filter.includes(&relation.namespace, &relation.name, &rc.name),
                default: known.and_then(|c| c.default.clone()),
            }
        })
        .collect())
}
