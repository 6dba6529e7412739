//! The streaming phase's logic, apart from its input and output: pgoutput
//! messages in WAL order in, Debezium's change events with their offsets
//! out (tombstones after deletes, primary-key changes as a delete and a
//! create, truncates, `skipped.operations`). The caller owns the
//! connections: it reads the catalog for each relation and sends the
//! events.

use std::collections::{BTreeSet, HashMap};

use ferry_api::data::{Schema, Struct, Value};
use ferry_api::Headers;

use crate::events::{
    self, ColumnMeta, EventError, Operation, SnapshotRecord, SourceInfo, TableSchema,
};
use crate::lsn::Lsn;
use crate::offsets::{MessageType, PgOffset, TransactionOffset};
use crate::pgoutput::{unix_micros, Column, Message, OldTuple, Relation, TupleData};
use crate::values::Modes;

/// The `__debezium.context.*` headers Debezium adds to data events.
#[derive(Debug, Clone)]
pub struct ContextHeaders {
    /// A random id per task start (`__debezium.context.runId`).
    pub run_id: String,
}

/// What shapes the events.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    pub topic_prefix: String,
    pub db: String,
    pub modes: Modes,
    /// `op` letters not published.
    pub skipped_operations: BTreeSet<char>,
    pub tombstones_on_delete: bool,
    pub context_headers: Option<ContextHeaders>,
    /// With `provide.transaction.metadata`: where BEGIN and END go.
    pub transaction_topic: Option<String>,
}

impl StreamSettings {
    /// The headers of a data event.
    pub fn headers(&self) -> Headers {
        let mut h = Headers::new();
        if let Some(c) = &self.context_headers {
            for (k, v) in [
                (
                    "__debezium.context.connectorLogicalName",
                    self.topic_prefix.as_str(),
                ),
                ("__debezium.context.taskId", "0"),
                ("__debezium.context.connectorName", crate::events::CONNECTOR),
                ("__debezium.context.runId", c.run_id.as_str()),
            ] {
                h.add(k, Some(Schema::string()), Value::String(v.into()));
            }
        }
        h
    }
}

/// One record to send.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    pub topic: String,
    pub key: Option<(Schema, Struct)>,
    /// `None` for a tombstone.
    pub value: Option<(Schema, Struct)>,
    pub headers: Headers,
    pub offset: PgOffset,
}

struct Transaction {
    xid: u32,
    commit_us: i64,
    /// With transaction metadata, BEGIN is sent before the transaction's
    /// next message, at that message's position: PostgreSQL 15 sends
    /// BEGIN with the first change, at the change's LSN, and Debezium
    /// names the transaction by it.
    begin_pending: bool,
    /// Data events so far.
    total: i64,
    /// Data events so far per `schema.table`, in the order the tables came.
    per_table: Vec<(String, i64)>,
}

impl Transaction {
    fn offset(&self) -> Option<Box<TransactionOffset>> {
        Some(Box::new(TransactionOffset {
            id: self.xid.to_string(),
            per_table: self.per_table.clone(),
        }))
    }
}

/// `provide.transaction.metadata`: the transaction topic and its schemas.
struct TransactionTopic {
    topic: String,
    key_schema: Schema,
    value_schema: Schema,
    collection_schema: Schema,
}

impl TransactionTopic {
    /// A BEGIN or END record: keyed by the transaction's `<txId>:<lsn>`
    /// name, without headers, as Debezium sends them.
    fn record(
        &self,
        id: String,
        value: Struct,
        offset: PgOffset,
    ) -> Result<ChangeEvent, EventError> {
        let key = Struct::new(self.key_schema.clone())?.put("id", id)?;
        Ok(ChangeEvent {
            topic: self.topic.clone(),
            key: Some((self.key_schema.clone(), key)),
            value: Some((self.value_schema.clone(), value)),
            headers: Headers::new(),
            offset,
        })
    }
}

/// The order a Java `HashMap<String, _>` iterates `entries`, inserted in
/// this order: by bucket of the table it grew to, then by insertion.
/// Debezium lists an END's tables from one.
fn java_hash_map_order<T>(entries: &[(String, T)]) -> Vec<&(String, T)> {
    let capacity = ferry_java::hash::grown_capacity(entries.len());
    ferry_java::hash::in_bucket_order(entries.iter().collect(), capacity, |(k, _)| k.as_str())
}

/// The streaming state: the tables seen, the open transaction, the last
/// commit.
pub struct ChangeStream {
    settings: StreamSettings,
    /// `None`: a relation whose changes are not captured.
    tables: HashMap<u32, Option<TableSchema>>,
    transaction: Option<Transaction>,
    last_commit: Option<Lsn>,
    last_offset: PgOffset,
    transactions: Option<TransactionTopic>,
}

impl ChangeStream {
    /// A stream resuming after `last_commit` (from the stored offset).
    pub fn new(settings: StreamSettings, last_commit: Option<Lsn>) -> Self {
        let transactions = settings
            .transaction_topic
            .as_ref()
            .map(|topic| TransactionTopic {
                topic: topic.clone(),
                key_schema: events::transaction_key_schema(),
                value_schema: events::transaction_value_schema(),
                collection_schema: events::transaction_collection_schema(),
            });
        ChangeStream {
            settings,
            tables: HashMap::new(),
            transaction: None,
            last_commit,
            last_offset: PgOffset::default(),
            transactions,
        }
    }

    /// A relation, with its columns from the catalog, or `None` when its
    /// table is not captured.
    pub fn add_relation(&mut self, relation: &Relation, columns: Option<Vec<ColumnMeta>>) {
        let schema = columns.map(|c| {
            TableSchema::new(
                &self.settings.topic_prefix,
                &relation.namespace,
                &relation.name,
                &c,
                self.settings.modes,
            )
        });
        self.tables.insert(relation.oid, schema);
    }

    /// What shapes the events.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// The offset after the last message: what a heartbeat carries.
    pub fn offset(&self) -> &PgOffset {
        &self.last_offset
    }

    fn offset_at(&self, lsn: Lsn, kind: MessageType) -> PgOffset {
        PgOffset {
            ts_usec: self.transaction.as_ref().map(|t| t.commit_us),
            tx_id: self.transaction.as_ref().map(|t| i64::from(t.xid)),
            lsn: Some(lsn),
            lsn_proc: Some(lsn),
            lsn_commit: self.last_commit,
            message_type: Some(kind),
            ..PgOffset::default()
        }
    }

    fn source(&self, table: &TableSchema, lsn: Lsn) -> Result<Struct, EventError> {
        let info = SourceInfo {
            ts_us: self.transaction.as_ref().map_or(0, |t| t.commit_us),
            snapshot: SnapshotRecord::False,
            db: self.settings.db.clone(),
            sequence: (self.last_commit, Some(lsn)),
            schema: table.schema_name.clone(),
            table: table.table_name.clone(),
            tx_id: self.transaction.as_ref().map(|t| i64::from(t.xid)),
            lsn: Some(lsn),
            ..SourceInfo::default()
        };
        let schema = table
            .envelope_schema
            .field("source")
            .map(|f| f.schema.clone())
            .unwrap_or_else(crate::events::source_schema);
        Ok(info.to_struct(&schema, &self.settings.topic_prefix)?)
    }

    fn headers(&self) -> Headers {
        self.settings.headers()
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        table: &TableSchema,
        op: Operation,
        key: Option<Struct>,
        before: Option<Struct>,
        after: Option<Struct>,
        lsn: Lsn,
        kind: MessageType,
        now_us: i64,
        headers: Headers,
        out: &mut Vec<ChangeEvent>,
    ) -> Result<(), EventError> {
        let source = self.source(table, lsn)?;
        let envelope = table.envelope(op, before, after, source, now_us)?;
        let key = match (&table.key_schema, key) {
            (Some(s), Some(k)) => Some((s.clone(), k)),
            _ => None,
        };
        let offset = self.offset_at(lsn, kind);
        out.push(ChangeEvent {
            topic: table.topic.clone(),
            key: key.clone(),
            value: Some((table.envelope_schema.clone(), envelope)),
            headers: headers.clone(),
            offset: offset.clone(),
        });
        if op == Operation::Delete && self.settings.tombstones_on_delete {
            out.push(ChangeEvent {
                topic: table.topic.clone(),
                key,
                value: None,
                headers,
                offset,
            });
        }
        Ok(())
    }

    fn skips(&self, op: Operation) -> bool {
        op.code()
            .chars()
            .next()
            .is_some_and(|c| self.settings.skipped_operations.contains(&c))
    }

    fn table(&self, relation: u32) -> Result<Option<&TableSchema>, EventError> {
        match self.tables.get(&relation) {
            Some(t) => Ok(t.as_ref()),
            // pgoutput sends a relation before its first change.
            None => Err(EventError::Stream(format!(
                "a change of relation {relation}, which was never described"
            ))),
        }
    }

    /// The row of `tuple`, unchanged TOASTed values taken from the old
    /// row when there is one.
    fn row(
        table: &TableSchema,
        tuple: &TupleData<'_>,
        old: Option<&TupleData<'_>>,
    ) -> Result<(Struct, Option<Struct>), EventError> {
        let (mut row, key) = table.row(tuple)?;
        if let Some(old) = old {
            let (old_row, _) = table.row(old)?;
            let values: Vec<Column<'_>> = tuple.columns().collect();
            for c in &table.columns {
                if values.get(c.position) == Some(&Column::UnchangedToast) {
                    if let Some(v) = old_row.get(&c.name) {
                        if table.value_schema.field(&c.name).is_some() {
                            row.set(&c.name, v.clone())?;
                        }
                    }
                }
            }
        }
        Ok((row, key))
    }

    /// The pending BEGIN of the transaction, at `lsn`.
    fn send_begin(&mut self, lsn: Lsn, out: &mut Vec<ChangeEvent>) -> Result<(), EventError> {
        let (Some(topic), Some(tx)) = (&self.transactions, self.transaction.as_mut()) else {
            return Ok(());
        };
        if !tx.begin_pending {
            return Ok(());
        }
        tx.begin_pending = false;
        let id = format!("{}:{}", tx.xid, lsn.0);
        let value = Struct::new(topic.value_schema.clone())?
            .put("status", "BEGIN")?
            .put("id", id.as_str())?
            .put("ts_ms", Value::Int64(tx.commit_us.div_euclid(1000)))?;
        let offset = PgOffset {
            transaction: tx.offset(),
            ..self.last_offset.clone()
        };
        out.push(topic.record(id, value, offset)?);
        Ok(())
    }

    /// The END of the transaction committed at `lsn`: its events, per
    /// table.
    fn send_end(&mut self, lsn: Lsn, out: &mut Vec<ChangeEvent>) -> Result<(), EventError> {
        let (Some(topic), Some(tx)) = (&self.transactions, self.transaction.as_ref()) else {
            return Ok(());
        };
        let id = format!("{}:{}", tx.xid, lsn.0);
        let collections = java_hash_map_order(&tx.per_table)
            .into_iter()
            .map(|(table, n)| {
                Struct::new(topic.collection_schema.clone())?
                    .put("data_collection", table.as_str())?
                    .put("event_count", Value::Int64(*n))
                    .map(Value::Struct)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let value = Struct::new(topic.value_schema.clone())?
            .put("status", "END")?
            .put("id", id.as_str())?
            .put("event_count", Value::Int64(tx.total))?
            .put("data_collections", Value::Array(collections))?
            .put("ts_ms", Value::Int64(tx.commit_us.div_euclid(1000)))?;
        let offset = PgOffset {
            transaction: tx.offset(),
            ..self.last_offset.clone()
        };
        out.push(topic.record(id, value, offset)?);
        Ok(())
    }

    /// Numbers the data events of one message at `lsn` within their
    /// transaction: the envelope's `transaction` block, and the counts in
    /// the offset (a tombstone shares its delete's).
    fn number_events(&mut self, lsn: Lsn, events: &mut [ChangeEvent]) -> Result<(), EventError> {
        let (Some(topic), Some(tx)) = (&self.transactions, self.transaction.as_mut()) else {
            return Ok(());
        };
        let mut counted = None;
        for event in events.iter_mut().filter(|e| e.topic != topic.topic) {
            let Some((schema, envelope)) = &mut event.value else {
                event.offset.transaction = counted.clone();
                continue;
            };
            let collection = match envelope.get("source") {
                Some(Value::Struct(source)) => match (source.get("schema"), source.get("table")) {
                    (Some(Value::String(s)), Some(Value::String(t))) => format!("{s}.{t}"),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            tx.total += 1;
            let order = match tx.per_table.iter_mut().find(|(t, _)| *t == collection) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    tx.per_table.push((collection, 1));
                    1
                }
            };
            let block_schema = schema
                .field("transaction")
                .map(|f| f.schema.clone())
                .unwrap_or_else(events::transaction_block_schema);
            let block = Struct::new(block_schema)?
                .put("id", format!("{}:{}", tx.xid, lsn.0))?
                .put("total_order", Value::Int64(tx.total))?
                .put("data_collection_order", Value::Int64(order))?;
            envelope.set("transaction", Value::Struct(block))?;
            counted = tx.offset();
            event.offset.transaction = counted.clone();
        }
        Ok(())
    }

    /// One message, at `lsn` (its XLogData's position): its events are
    /// appended to `out`. `now_us` is the envelope's `ts_*`.
    pub fn message(
        &mut self,
        lsn: Lsn,
        message: &Message<'_>,
        now_us: i64,
        out: &mut Vec<ChangeEvent>,
    ) -> Result<(), EventError> {
        if !matches!(message, Message::Begin { .. }) {
            self.send_begin(lsn, out)?;
        }
        let first = out.len();
        match message {
            Message::Begin {
                xid, commit_time, ..
            } => {
                self.transaction = Some(Transaction {
                    xid: *xid,
                    commit_us: unix_micros(*commit_time),
                    begin_pending: self.transactions.is_some(),
                    total: 0,
                    per_table: Vec::new(),
                });
                // Nothing of the transaction is processed yet: the
                // positions stay where the last message left them.
                let previous = self.last_offset.clone();
                self.last_offset = PgOffset {
                    lsn: previous.lsn,
                    lsn_proc: previous.lsn_proc,
                    ..self.offset_at(lsn, MessageType::Begin)
                };
            }
            Message::Commit { .. } => {
                self.last_offset = self.offset_at(lsn, MessageType::Commit);
                self.last_offset.lsn_commit = Some(lsn);
                self.last_commit = Some(lsn);
                self.send_end(lsn, out)?;
                self.transaction = None;
                return Ok(());
            }
            Message::Relation(_) | Message::Type { .. } | Message::Origin { .. } => {}
            Message::Insert { relation, new, .. } => {
                self.last_offset = self.offset_at(lsn, MessageType::Insert);
                let Some(table) = self.table(*relation)? else {
                    return Ok(());
                };
                if self.skips(Operation::Create) {
                    return Ok(());
                }
                let (row, key) = table.row(new)?;
                let h = self.headers();
                self.emit(
                    table,
                    Operation::Create,
                    key,
                    None,
                    Some(row),
                    lsn,
                    MessageType::Insert,
                    now_us,
                    h,
                    out,
                )?;
            }
            Message::Update {
                relation, old, new, ..
            } => {
                self.last_offset = self.offset_at(lsn, MessageType::Update);
                let Some(table) = self.table(*relation)? else {
                    return Ok(());
                };
                if self.skips(Operation::Update) {
                    return Ok(());
                }
                let full_old = match old {
                    Some(OldTuple::Full(t)) => Some(t),
                    _ => None,
                };
                let (row, key) = Self::row(table, new, full_old)?;
                let old_row = match old {
                    Some(t) => Some(table.row(t.tuple())?),
                    None => None,
                };
                let changed_key =
                    old_row.filter(|(_, old_key)| old_key.is_some() && *old_key != key);
                let old_row = match (changed_key, old) {
                    (Some(changed), _) => Err(changed),
                    (None, Some(OldTuple::Full(t))) => Ok(Some(table.row(t)?)),
                    (None, _) => Ok(None),
                };
                if let Err((before, old_key)) = old_row {
                    // Debezium: a delete of the old key, its tombstone, then
                    // a create of the new one, each naming the other key.
                    // The key header first, then the context headers.
                    let mut h = Headers::new();
                    if let (Some(s), Some(k)) = (&table.key_schema, &key) {
                        h.add(
                            "__debezium.newkey",
                            Some(s.clone()),
                            Value::Struct(k.clone()),
                        );
                    }
                    h.extend(self.headers());
                    self.emit(
                        table,
                        Operation::Delete,
                        old_key.clone(),
                        Some(before),
                        None,
                        lsn,
                        MessageType::Update,
                        now_us,
                        h,
                        out,
                    )?;
                    let mut h = Headers::new();
                    if let (Some(s), Some(k)) = (&table.key_schema, old_key) {
                        h.add("__debezium.oldkey", Some(s.clone()), Value::Struct(k));
                    }
                    h.extend(self.headers());
                    self.emit(
                        table,
                        Operation::Create,
                        key,
                        None,
                        Some(row),
                        lsn,
                        MessageType::Update,
                        now_us,
                        h,
                        out,
                    )?;
                } else if let Ok(old_row) = old_row {
                    let before = old_row.map(|(r, _)| r);
                    let h = self.headers();
                    self.emit(
                        table,
                        Operation::Update,
                        key,
                        before,
                        Some(row),
                        lsn,
                        MessageType::Update,
                        now_us,
                        h,
                        out,
                    )?;
                }
            }
            Message::Delete { relation, old, .. } => {
                self.last_offset = self.offset_at(lsn, MessageType::Delete);
                let Some(table) = self.table(*relation)? else {
                    return Ok(());
                };
                if self.skips(Operation::Delete) {
                    return Ok(());
                }
                let (before, key) = table.row(old.tuple())?;
                let h = self.headers();
                self.emit(
                    table,
                    Operation::Delete,
                    key,
                    Some(before),
                    None,
                    lsn,
                    MessageType::Delete,
                    now_us,
                    h,
                    out,
                )?;
            }
            Message::Truncate { relations, .. } => {
                self.last_offset = self.offset_at(lsn, MessageType::Truncate);
                if self.skips(Operation::Truncate) {
                    return Ok(());
                }
                for relation in relations {
                    let Some(table) = self.table(*relation)? else {
                        continue;
                    };
                    let h = self.headers();
                    self.emit(
                        table,
                        Operation::Truncate,
                        None,
                        None,
                        None,
                        lsn,
                        MessageType::Truncate,
                        now_us,
                        h,
                        out,
                    )?;
                }
            }
            Message::LogicalMessage { .. } => {
                self.last_offset = self.offset_at(lsn, MessageType::Message);
            }
            Message::StreamStart { .. }
            | Message::StreamStop
            | Message::StreamCommit { .. }
            | Message::StreamAbort { .. } => {
                return Err(EventError::Stream(
                    "a transaction streamed in progress, which the stream does not ask for".into(),
                ))
            }
        }
        self.number_events(lsn, &mut out[first..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_listed_in_java_hash_map_order() {
        // As java.util.HashMap iterates them (jshell, OpenJDK 17).
        let entries: Vec<(String, i64)> = ["golden.no_key", "golden.types", "golden.orders"]
            .iter()
            .map(|k| ((*k).to_owned(), 1))
            .collect();
        let order: Vec<&str> = java_hash_map_order(&entries)
            .into_iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(order, ["golden.no_key", "golden.orders", "golden.types"]);
        // Twenty keys: the table grew to 32 buckets.
        let entries: Vec<(String, i64)> = (0..20).map(|i| (format!("public.t{i}"), 1)).collect();
        let order: Vec<String> = java_hash_map_order(&entries)
            .into_iter()
            .map(|(k, _)| k.trim_start_matches("public.t").to_owned())
            .collect();
        assert_eq!(
            order.join(","),
            "14,15,12,13,18,19,16,17,8,7,9,4,3,6,5,0,10,11,2,1"
        );
    }
}
