//! Change events as Debezium's Postgres connector writes them: the key and
//! value schemas of a table, the envelope around a row change, and the
//! `source` block (see `docs/reference/debezium-postgres-events.md`,
//! sections 2–4).

use ferry_api::data::{Schema, SchemaBuilder, SchemaType, Struct, Value};
use ferry_api::DataError;

use crate::lsn::Lsn;
use crate::pgoutput::{Column, TupleData};
use crate::values::{self, ColumnType, Modes, ValueError};

/// `source.connector`.
pub const CONNECTOR: &str = "postgresql";
/// `source.version`: the Debezium release whose events these reproduce,
/// so that consumers checking it see the format they expect.
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";
/// What an unchanged TOASTed value becomes (`unavailable.value.placeholder`).
pub const UNAVAILABLE_VALUE: &str = "__debezium_unavailable_value";

/// An event's operation, `op` in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Update,
    Delete,
    Truncate,
}

impl Operation {
    pub fn code(self) -> &'static str {
        match self {
            Operation::Read => "r",
            Operation::Create => "c",
            Operation::Update => "u",
            Operation::Delete => "d",
            Operation::Truncate => "t",
        }
    }
}

/// `source.snapshot`, Debezium's `SnapshotRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotRecord {
    True,
    First,
    FirstInDataCollection,
    LastInDataCollection,
    Last,
    #[default]
    False,
    Incremental,
}

impl SnapshotRecord {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotRecord::True => "true",
            SnapshotRecord::First => "first",
            SnapshotRecord::FirstInDataCollection => "first_in_data_collection",
            SnapshotRecord::LastInDataCollection => "last_in_data_collection",
            SnapshotRecord::Last => "last",
            SnapshotRecord::False => "false",
            SnapshotRecord::Incremental => "incremental",
        }
    }
}

fn optional(t: SchemaType) -> Schema {
    SchemaBuilder::new(t).optional().build()
}

/// `io.debezium.connector.postgresql.Source`, version 1.
pub fn source_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.postgresql.Source")
        .version(1)
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field(
            "snapshot",
            SchemaBuilder::new(SchemaType::String)
                .name("io.debezium.data.Enum")
                .version(1)
                .parameter(
                    "allowed",
                    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
                )
                .default_value(Value::String("false".into()))
                .optional()
                .build(),
        )
        .field("db", Schema::string())
        .field("sequence", optional(SchemaType::String))
        .field("ts_us", optional(SchemaType::Int64))
        .field("ts_ns", optional(SchemaType::Int64))
        .field("schema", Schema::string())
        .field("table", Schema::string())
        .field("txId", optional(SchemaType::Int64))
        .field("lsn", optional(SchemaType::Int64))
        .field("xmin", optional(SchemaType::Int64))
        .field("origin", optional(SchemaType::String))
        .field("origin_lsn", optional(SchemaType::Int64))
        .build()
}

/// `event.block`, the optional transaction block of an envelope.
pub fn transaction_block_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("event.block")
        .version(1)
        .field("id", Schema::string())
        .field("total_order", Schema::int64())
        .field("data_collection_order", Schema::int64())
        .optional()
        .build()
}

/// The transaction topic's key: `io.debezium.connector.common.TransactionMetadataKey`.
pub fn transaction_key_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.TransactionMetadataKey")
        .version(1)
        .field("id", Schema::string())
        .build()
}

/// `event.collection`: one table's event count in an END.
pub fn transaction_collection_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("event.collection")
        .version(1)
        .field("data_collection", Schema::string())
        .field("event_count", Schema::int64())
        .optional()
        .build()
}

/// The transaction topic's value: `io.debezium.connector.common.TransactionMetadataValue`.
pub fn transaction_value_schema() -> Schema {
    SchemaBuilder::struct_()
        .name("io.debezium.connector.common.TransactionMetadataValue")
        .version(1)
        .field("status", Schema::string())
        .field("id", Schema::string())
        .field("event_count", optional(SchemaType::Int64))
        .field(
            "data_collections",
            SchemaBuilder::array(transaction_collection_schema())
                .optional()
                .build(),
        )
        .field("ts_ms", Schema::int64())
        .build()
}

/// Where an event comes from: the `source` block's contents.
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    /// Commit time when streaming, the clock when snapshotting;
    /// microseconds since the Unix epoch.
    pub ts_us: i64,
    pub snapshot: SnapshotRecord,
    pub db: String,
    /// `[last commit LSN, this event's LSN]`.
    pub sequence: (Option<Lsn>, Option<Lsn>),
    pub schema: String,
    pub table: String,
    pub tx_id: Option<i64>,
    pub lsn: Option<Lsn>,
    pub xmin: Option<i64>,
    pub origin: Option<String>,
    pub origin_lsn: Option<Lsn>,
}

impl SourceInfo {
    /// The `source` struct; `name` is `topic.prefix`.
    pub fn to_struct(&self, schema: &Schema, name: &str) -> Result<Struct, DataError> {
        let lsn_text = |l: Option<Lsn>| match l {
            Some(l) => format!("\"{}\"", l.0),
            None => "null".to_owned(),
        };
        let mut s = Struct::new(schema.clone())?
            .put("version", DEBEZIUM_VERSION)?
            .put("connector", CONNECTOR)?
            .put("name", name)?
            .put("ts_ms", Value::Int64(self.ts_us.div_euclid(1000)))?;
        // Only put when not `false`: the schema's default applies.
        if self.snapshot != SnapshotRecord::False {
            s.set("snapshot", Value::String(self.snapshot.as_str().into()))?;
        }
        s.set("db", Value::String(self.db.clone()))?;
        s.set(
            "sequence",
            Value::String(format!(
                "[{},{}]",
                lsn_text(self.sequence.0),
                lsn_text(self.sequence.1)
            )),
        )?;
        s.set("ts_us", Value::Int64(self.ts_us))?;
        s.set("ts_ns", Value::Int64(self.ts_us.saturating_mul(1000)))?;
        s.set("schema", Value::String(self.schema.clone()))?;
        s.set("table", Value::String(self.table.clone()))?;
        let long = |v: Option<i64>| v.map_or(Value::Null, Value::Int64);
        if self.snapshot != SnapshotRecord::Incremental {
            s.set("txId", long(self.tx_id))?;
            s.set("lsn", long(self.lsn.map(|l| l.0 as i64)))?;
            s.set("xmin", long(self.xmin))?;
        }
        if let Some(origin) = &self.origin {
            s.set("origin", Value::String(origin.clone()))?;
            s.set("origin_lsn", long(self.origin_lsn.map(|l| l.0 as i64)))?;
        }
        Ok(s)
    }
}

/// A captured column: where it sits in the relation's tuples, and how it
/// is written.
#[derive(Debug, Clone)]
pub struct CapturedColumn {
    /// Its position among the relation's columns (in tuples).
    pub position: usize,
    pub name: String,
    pub column_type: ColumnType,
    /// Part of the event key.
    pub key: bool,
}

/// A column as the catalog describes it.
#[derive(Debug, Clone)]
pub struct ColumnMeta {
    pub name: String,
    pub column_type: ColumnType,
    pub not_null: bool,
    /// Its place in the primary key (or in `message.key.columns`), from 1:
    /// key fields come in that order.
    pub key: Option<u16>,
    /// Captured (`column.include.list` / `exclude.list`).
    pub included: bool,
    /// The column's `DEFAULT` expression (`pg_get_expr`), if any.
    pub default: Option<String>,
}

/// A failure building an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("column {column} of {table}: {source}")]
    Value {
        table: String,
        column: String,
        #[source]
        source: ValueError,
    },
    #[error("{table}: a tuple of {got} columns for a relation of {expected}")]
    Shape {
        table: String,
        got: usize,
        expected: usize,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    /// The stream sent what cannot be turned into events.
    #[error("{0}")]
    Stream(String),
}

/// One table's schemas and how its rows become structs.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// `<prefix>.<schema>.<table>`, the topic and the schemas' prefix.
    pub topic: String,
    pub schema_name: String,
    pub table_name: String,
    pub columns: Vec<CapturedColumn>,
    pub key_schema: Option<Schema>,
    pub value_schema: Schema,
    pub envelope_schema: Schema,
    /// Columns of the relation, for checking tuples.
    relation_width: usize,
    /// The relation's column names, in order.
    relation_columns: Vec<String>,
    modes: Modes,
}

impl TableSchema {
    pub fn new(
        prefix: &str,
        schema_name: &str,
        table_name: &str,
        columns: &[ColumnMeta],
        modes: Modes,
    ) -> Self {
        let topic = format!("{prefix}.{schema_name}.{table_name}");
        let mut captured = Vec::new();
        let mut value = SchemaBuilder::struct_()
            .name(format!("{topic}.Value"))
            .optional();
        let mut key_fields = Vec::new();
        for (position, c) in columns.iter().enumerate() {
            // A column of a type Debezium does not write is left out.
            let Some(schema) = values::column_schema(c.column_type, !c.not_null, &modes) else {
                continue;
            };
            let schema = match c
                .default
                .as_deref()
                .and_then(|d| values::default_value(c.column_type, d, &modes))
            {
                Some(v) => schema.to_builder().default_value(v).build(),
                None => schema,
            };
            if let Some(seq) = c.key {
                key_fields.push((seq, c.name.clone(), schema.clone()));
            }
            if !c.included && c.key.is_none() {
                continue;
            }
            if c.included {
                value = value.field(c.name.clone(), schema);
            }
            captured.push(CapturedColumn {
                position,
                name: c.name.clone(),
                column_type: c.column_type,
                key: c.key.is_some(),
            });
        }
        key_fields.sort_by_key(|(seq, _, _)| *seq);
        let has_key = !key_fields.is_empty();
        let key = key_fields.into_iter().fold(
            SchemaBuilder::struct_().name(format!("{topic}.Key")),
            |k, (_, name, schema)| k.field(name, schema),
        );
        let value_schema = value.build();
        let envelope_schema = SchemaBuilder::struct_()
            .name(format!("{topic}.Envelope"))
            .version(2)
            .field("before", value_schema.clone())
            .field("after", value_schema.clone())
            .field("source", source_schema())
            .field("transaction", transaction_block_schema())
            .field("op", Schema::string())
            .field("ts_ms", optional(SchemaType::Int64))
            .field("ts_us", optional(SchemaType::Int64))
            .field("ts_ns", optional(SchemaType::Int64))
            .build();
        TableSchema {
            topic,
            schema_name: schema_name.to_owned(),
            table_name: table_name.to_owned(),
            columns: captured,
            key_schema: has_key.then(|| key.build()),
            value_schema,
            envelope_schema,
            relation_width: columns.len(),
            relation_columns: columns.iter().map(|c| c.name.clone()).collect(),
            modes,
        }
    }

    /// The relation's column names, in the order of its tuples.
    pub fn relation_columns(&self) -> &[String] {
        &self.relation_columns
    }

    fn qualified(&self) -> String {
        format!("{}.{}", self.schema_name, self.table_name)
    }

    fn value_of(&self, c: &CapturedColumn, column: Column<'_>) -> Result<Value, EventError> {
        let failed = |source| EventError::Value {
            table: self.qualified(),
            column: c.name.clone(),
            source,
        };
        match column {
            Column::Null => Ok(Value::Null),
            Column::Text(t) => {
                let text = std::str::from_utf8(t)
                    .map_err(|e| failed(ValueError::Other(format!("not UTF-8: {e}"))))?;
                values::column_value(c.column_type, text, &self.modes).map_err(failed)
            }
            Column::Binary(_) => Err(failed(ValueError::Other(
                "a value in binary form, which the stream does not ask for".into(),
            ))),
            Column::UnchangedToast => Ok(unavailable(c.column_type)),
        }
    }

    /// The row struct and the key struct of a tuple.
    pub fn row(&self, tuple: &TupleData<'_>) -> Result<(Struct, Option<Struct>), EventError> {
        let values: Vec<Column<'_>> = tuple.columns().collect();
        self.row_of(&values)
    }

    /// The row struct and the key struct of a row's column values, one
    /// per column of the relation, in its order (a tuple's columns, or a
    /// snapshot query's).
    pub fn row_of(&self, values: &[Column<'_>]) -> Result<(Struct, Option<Struct>), EventError> {
        if values.len() != self.relation_width {
            return Err(EventError::Shape {
                table: self.qualified(),
                got: values.len(),
                expected: self.relation_width,
            });
        }
        let mut row = Struct::new(self.value_schema.clone())?;
        let mut key = match &self.key_schema {
            Some(s) => Some(Struct::new(s.clone())?),
            None => None,
        };
        for c in &self.columns {
            let mut v = self.value_of(c, values[c.position])?;
            if let Some(f) = self.value_schema.field(&c.name) {
                if v == Value::Null && !f.schema.is_optional() {
                    v = values::fallback(&f.schema);
                }
                v = conform(v, &f.schema)?;
            }
            if let (true, Some(k)) = (c.key, key.as_mut()) {
                k.set(&c.name, v.clone())?;
            }
            if self.value_schema.field(&c.name).is_some() {
                row.set(&c.name, v)?;
            }
        }
        Ok((row, key))
    }

    /// The envelope of a change; `ts_us` is the connector's clock.
    pub fn envelope(
        &self,
        op: Operation,
        before: Option<Struct>,
        after: Option<Struct>,
        source: Struct,
        ts_us: i64,
    ) -> Result<Struct, DataError> {
        let mut e = Struct::new(self.envelope_schema.clone())?;
        if let Some(b) = before {
            e.set("before", Value::Struct(b))?;
        }
        if let Some(a) = after {
            e.set("after", Value::Struct(a))?;
        }
        e.set("source", Value::Struct(source))?;
        e.set("op", Value::String(op.code().into()))?;
        e.set("ts_ms", Value::Int64(ts_us.div_euclid(1000)))?;
        e.set("ts_us", Value::Int64(ts_us))?;
        e.set("ts_ns", Value::Int64(ts_us.saturating_mul(1000)))?;
        Ok(e)
    }
}

/// A struct value (a `VariableScaleDecimal`) built with the required form
/// of its schema, rebuilt with the field's (optional for a nullable
/// column), as Debezium builds it from the field's schema.
fn conform(v: Value, schema: &Schema) -> Result<Value, DataError> {
    match v {
        Value::Struct(s) if s.schema() != schema => {
            let mut out = Struct::new(schema.clone())?;
            for f in schema.fields() {
                if let Some(x) = s.get(&f.name) {
                    out.set(&f.name, x.clone())?;
                }
            }
            Ok(Value::Struct(out))
        }
        v => Ok(v),
    }
}

/// Debezium's placeholder for an unchanged TOASTed value, in the column
/// type's form (the common cases; see the reference for the rest).
fn unavailable(t: ColumnType) -> Value {
    use values::oid;
    match t.oid {
        oid::BYTEA => Value::Bytes(UNAVAILABLE_VALUE.as_bytes().to_vec()),
        // text[], varchar[], bpchar[], json[], jsonb[]
        1009 | 1015 | 1014 | 199 | 3807 => {
            Value::Array(vec![Value::String(UNAVAILABLE_VALUE.into())])
        }
        _ => Value::String(UNAVAILABLE_VALUE.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::oid;

    fn names(s: &Schema) -> Vec<&str> {
        s.fields().iter().map(|f| f.name.as_str()).collect()
    }

    fn table() -> TableSchema {
        let col = |name: &str, oid, not_null, key: Option<u16>| ColumnMeta {
            name: name.into(),
            column_type: ColumnType { oid, typmod: -1 },
            not_null,
            key,
            included: true,
            default: None,
        };
        TableSchema::new(
            "shop",
            "public",
            "orders",
            &[
                col("id", oid::INT4, true, Some(1)),
                col("note", oid::TEXT, false, None),
                col("span", 1187, false, None),
            ],
            Modes::default(),
        )
    }

    #[test]
    fn schemas_are_named_and_ordered_as_debeziums() {
        let t = table();
        assert_eq!(t.topic, "shop.public.orders");
        assert_eq!(
            t.envelope_schema.name(),
            Some("shop.public.orders.Envelope")
        );
        assert_eq!(t.envelope_schema.version(), Some(2));
        assert_eq!(
            names(&t.envelope_schema),
            vec![
                "before",
                "after",
                "source",
                "transaction",
                "op",
                "ts_ms",
                "ts_us",
                "ts_ns"
            ]
        );
        // interval[] has no Debezium form: left out.
        assert_eq!(names(&t.value_schema), vec!["id", "note"]);
        assert!(t.value_schema.is_optional());
        let key = t.key_schema.as_ref().expect("a key");
        assert_eq!(key.name(), Some("shop.public.orders.Key"));
        assert!(!key.is_optional());
        assert_eq!(
            names(&source_schema()),
            vec![
                "version",
                "connector",
                "name",
                "ts_ms",
                "snapshot",
                "db",
                "sequence",
                "ts_us",
                "ts_ns",
                "schema",
                "table",
                "txId",
                "lsn",
                "xmin",
                "origin",
                "origin_lsn"
            ]
        );
    }

    #[test]
    fn a_row_and_its_envelope() {
        let t = table();
        let tuple_bytes = [0u8, 3, b't', 0, 0, 0, 1, b'7', b'u', b'n'];
        // pgoutput's TupleData: decode it through an Insert message.
        let mut msg = vec![b'I', 0, 0, 0, 1, b'N'];
        msg.extend_from_slice(&tuple_bytes);
        let crate::pgoutput::Message::Insert { new, .. } =
            crate::pgoutput::decode(&msg, false).expect("an insert")
        else {
            panic!("an insert");
        };
        let (row, key) = t.row(&new).expect("a row");
        assert_eq!(row.get("id"), Some(&Value::Int32(7)));
        assert_eq!(
            row.get("note"),
            Some(&Value::String(UNAVAILABLE_VALUE.into()))
        );
        assert_eq!(key.expect("a key").get("id"), Some(&Value::Int32(7)));
        let info = SourceInfo {
            ts_us: 1_700_000_000_123_456,
            db: "shop".into(),
            sequence: (Some(Lsn(10)), Some(Lsn(20))),
            schema: "public".into(),
            table: "orders".into(),
            tx_id: Some(742),
            lsn: Some(Lsn(20)),
            ..SourceInfo::default()
        };
        let source = info.to_struct(&source_schema(), "shop").expect("source");
        assert_eq!(
            source.get("sequence"),
            Some(&Value::String("[\"10\",\"20\"]".into()))
        );
        assert_eq!(source.get("ts_ms"), Some(&Value::Int64(1_700_000_000_123)));
        // Not put when false: the schema's default stands.
        assert_eq!(source.get("snapshot"), Some(&Value::String("false".into())));
        let e = t
            .envelope(
                Operation::Create,
                None,
                Some(row),
                source,
                1_700_000_000_999_000,
            )
            .expect("an envelope");
        assert_eq!(e.get("op"), Some(&Value::String("c".into())));
        assert_eq!(e.get("before"), Some(&Value::Null));
        e.validate().expect("a valid struct");
    }
}
