//! Source offsets in Debezium's format, so that Debezium and Ferry can
//! take a slot over from each other: the partition `{"server":
//! <topic.prefix>}` and the offset keys Debezium's Postgres connector
//! writes and reads back (`PostgresOffsetContext`; see
//! `docs/reference/debezium-postgres-events.md`, section 1).

use std::sync::Arc;

use ferry_api::OffsetMap;
use serde_json::Value as Json;

use crate::lsn::Lsn;

/// The source partition: one per connector, named by `topic.prefix`.
pub fn partition(topic_prefix: &str) -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("server".into(), Json::String(topic_prefix.to_owned()));
    p
}

/// `snapshot` while a snapshot runs (`SnapshotType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotType {
    Initial,
    Blocking,
    Incremental,
}

impl SnapshotType {
    fn as_str(self) -> &'static str {
        match self {
            SnapshotType::Initial => "INITIAL",
            SnapshotType::Blocking => "BLOCKING",
            SnapshotType::Incremental => "INCREMENTAL",
        }
    }
}

/// `messageType`: the kind of the last message processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Insert,
    Update,
    Delete,
    Truncate,
    Message,
    Begin,
    Commit,
    Noop,
    Origin,
}

impl MessageType {
    fn as_str(self) -> &'static str {
        match self {
            MessageType::Insert => "INSERT",
            MessageType::Update => "UPDATE",
            MessageType::Delete => "DELETE",
            MessageType::Truncate => "TRUNCATE",
            MessageType::Message => "MESSAGE",
            MessageType::Begin => "BEGIN",
            MessageType::Commit => "COMMIT",
            MessageType::Noop => "NOOP",
            MessageType::Origin => "ORIGIN",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "INSERT" => MessageType::Insert,
            "UPDATE" => MessageType::Update,
            "DELETE" => MessageType::Delete,
            "TRUNCATE" => MessageType::Truncate,
            "MESSAGE" => MessageType::Message,
            "BEGIN" => MessageType::Begin,
            "COMMIT" => MessageType::Commit,
            "NOOP" => MessageType::Noop,
            "ORIGIN" => MessageType::Origin,
            _ => return None,
        })
    }
}

/// An offset Debezium could not have written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset key {key}: {reason}")]
pub struct OffsetError {
    pub key: &'static str,
    pub reason: String,
}

/// Where the connector is: the offset of each record it produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgOffset {
    /// Commit time (streaming) or the clock (snapshot), µs since epoch.
    pub ts_usec: Option<i64>,
    pub tx_id: Option<i64>,
    /// The last event's LSN.
    pub lsn: Option<Lsn>,
    pub xmin: Option<i64>,
    /// Set only while a snapshot runs.
    pub snapshot: Option<SnapshotType>,
    pub last_snapshot_record: bool,
    pub snapshot_completed: bool,
    /// The last completely processed LSN.
    pub lsn_proc: Option<Lsn>,
    /// The last transaction commit processed.
    pub lsn_commit: Option<Lsn>,
    pub message_type: Option<MessageType>,
    /// With `provide.transaction.metadata`, inside a transaction.
    pub transaction: Option<Box<TransactionOffset>>,
    /// While an incremental snapshot runs (streamed records too).
    pub incremental: Option<Arc<IncrementalOffset>>,
}

/// An incremental snapshot's progress, in the form Debezium stores it
/// (`AbstractIncrementalSnapshotContext.store`): key positions as
/// hex-encoded Java serializations, the tables still to read as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncrementalOffset {
    /// The key of the last snapshot record sent (`..._primary_key`).
    pub primary_key: String,
    /// The largest key of the table being read (`..._maximum_key`).
    pub maximum_key: String,
    /// The tables to read, the current first (`..._collections`).
    pub collections: String,
    pub correlation_id: Option<String>,
}

const INCREMENTAL_PRIMARY_KEY: &str = "incremental_snapshot_primary_key";
const INCREMENTAL_MAXIMUM_KEY: &str = "incremental_snapshot_maximum_key";
const INCREMENTAL_COLLECTIONS: &str = "incremental_snapshot_collections";
const INCREMENTAL_CORRELATION_ID: &str = "incremental_snapshot_correlation_id";

/// The transaction a record is part of and its events so far, per table
/// (`transaction_id`, `transaction_data_collection_order_<schema.table>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionOffset {
    /// The transaction id (`txId`), as text.
    pub id: String,
    /// Events per `schema.table`, in the order the tables came.
    pub per_table: Vec<(String, i64)>,
}

const TRANSACTION_ID: &str = "transaction_id";
const TRANSACTION_ORDER_PREFIX: &str = "transaction_data_collection_order_";

fn lsn_json(l: Lsn) -> Json {
    // Debezium keeps LSNs as Java longs.
    Json::from(l.0 as i64)
}

impl PgOffset {
    /// The offset map, with Debezium's keys.
    pub fn to_map(&self) -> OffsetMap {
        let mut m = OffsetMap::new();
        if let Some(ts) = self.ts_usec {
            m.insert("ts_usec".into(), Json::from(ts));
        }
        if let Some(tx) = self.tx_id {
            m.insert("txId".into(), Json::from(tx));
        }
        if let Some(lsn) = self.lsn {
            m.insert("lsn".into(), lsn_json(lsn));
        }
        if let Some(xmin) = self.xmin {
            m.insert("xmin".into(), Json::from(xmin));
        }
        if let Some(s) = self.snapshot {
            m.insert("snapshot".into(), Json::String(s.as_str().into()));
            m.insert(
                "last_snapshot_record".into(),
                Json::Bool(self.last_snapshot_record),
            );
            m.insert(
                "snapshot_completed".into(),
                Json::Bool(self.snapshot_completed),
            );
        }
        if let Some(lsn) = self.lsn_proc {
            m.insert("lsn_proc".into(), lsn_json(lsn));
        }
        if let Some(lsn) = self.lsn_commit {
            m.insert("lsn_commit".into(), lsn_json(lsn));
        }
        if let Some(t) = self.message_type {
            m.insert("messageType".into(), Json::String(t.as_str().into()));
        }
        if let Some(t) = &self.transaction {
            m.insert(TRANSACTION_ID.into(), Json::String(t.id.clone()));
            for (table, n) in &t.per_table {
                m.insert(format!("{TRANSACTION_ORDER_PREFIX}{table}"), Json::from(*n));
            }
        }
        // Debezium leaves them out of a snapshot's records.
        if let (Some(i), None | Some(SnapshotType::Incremental)) =
            (&self.incremental, self.snapshot)
        {
            m.insert(
                INCREMENTAL_PRIMARY_KEY.into(),
                Json::String(i.primary_key.clone()),
            );
            m.insert(
                INCREMENTAL_MAXIMUM_KEY.into(),
                Json::String(i.maximum_key.clone()),
            );
            m.insert(
                INCREMENTAL_COLLECTIONS.into(),
                Json::String(i.collections.clone()),
            );
            m.insert(
                INCREMENTAL_CORRELATION_ID.into(),
                i.correlation_id.clone().map_or(Json::Null, Json::String),
            );
        }
        m
    }

    /// Reads an offset back as Debezium does: no key is required;
    /// `lsn_commit` falls back to `lsn_proc`; a legacy `snapshot: true`
    /// is an initial snapshot; a finished snapshot leaves no snapshot
    /// state.
    pub fn from_map(m: &OffsetMap) -> Result<Self, OffsetError> {
        let long = |key: &'static str| -> Result<Option<i64>, OffsetError> {
            match m.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::Number(n)) => n.as_i64().map(Some).ok_or_else(|| OffsetError {
                    key,
                    reason: format!("{n} is not a long"),
                }),
                Some(other) => Err(OffsetError {
                    key,
                    reason: format!("{other} is not a number"),
                }),
            }
        };
        let lsn = |key| long(key).map(|v| v.map(|v| Lsn(v as u64)));
        let flag = |key| {
            matches!(m.get(key), Some(Json::Bool(true)))
                || m.get(key).and_then(Json::as_str) == Some("true")
        };
        let lsn_proc = lsn("lsn_proc")?;
        let snapshot_completed = flag("snapshot_completed");
        let last_snapshot_record = flag("last_snapshot_record");
        let snapshot = match m.get("snapshot") {
            None | Some(Json::Null) | Some(Json::Bool(false)) => None,
            Some(Json::String(s)) if s == "false" => None,
            Some(Json::Bool(true)) => Some(SnapshotType::Initial),
            Some(Json::String(s)) => Some(match s.as_str() {
                "INITIAL" | "true" => SnapshotType::Initial,
                "BLOCKING" => SnapshotType::Blocking,
                "INCREMENTAL" => SnapshotType::Incremental,
                other => {
                    return Err(OffsetError {
                        key: "snapshot",
                        reason: format!("{other:?} is not a snapshot type"),
                    })
                }
            }),
            Some(other) => {
                return Err(OffsetError {
                    key: "snapshot",
                    reason: format!("{other} is not a snapshot type"),
                })
            }
        };
        let message_type = match m.get("messageType").and_then(Json::as_str) {
            None => None,
            Some(s) => Some(MessageType::parse(s).ok_or_else(|| OffsetError {
                key: "messageType",
                reason: format!("{s:?} is not a message type"),
            })?),
        };
        let done = snapshot_completed || last_snapshot_record;
        let transaction = match m.get(TRANSACTION_ID).and_then(Json::as_str) {
            None => None,
            Some(id) => {
                let mut per_table = Vec::new();
                for (k, v) in m {
                    if let Some(table) = k.strip_prefix(TRANSACTION_ORDER_PREFIX) {
                        let n = v.as_i64().ok_or_else(|| OffsetError {
                            key: TRANSACTION_ORDER_PREFIX,
                            reason: format!("{k}: {v} is not a long"),
                        })?;
                        per_table.push((table.to_owned(), n));
                    }
                }
                Some(Box::new(TransactionOffset {
                    id: id.to_owned(),
                    per_table,
                }))
            }
        };
        let text = |key: &'static str| -> Result<Option<String>, OffsetError> {
            match m.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(OffsetError {
                    key,
                    reason: format!("{other} is not a string"),
                }),
            }
        };
        let incremental = match text(INCREMENTAL_COLLECTIONS)? {
            None => None,
            Some(collections) => Some(Arc::new(IncrementalOffset {
                primary_key: text(INCREMENTAL_PRIMARY_KEY)?.unwrap_or_default(),
                maximum_key: text(INCREMENTAL_MAXIMUM_KEY)?.unwrap_or_default(),
                collections,
                correlation_id: text(INCREMENTAL_CORRELATION_ID)?,
            })),
        };
        Ok(PgOffset {
            incremental,
            ts_usec: long("ts_usec")?,
            tx_id: long("txId")?,
            lsn: lsn("lsn")?,
            xmin: long("xmin")?,
            snapshot: if done { None } else { snapshot },
            last_snapshot_record: if done { false } else { last_snapshot_record },
            snapshot_completed: if done { false } else { snapshot_completed },
            lsn_proc,
            lsn_commit: lsn("lsn_commit")?.or(lsn_proc),
            message_type,
            transaction,
        })
    }

    /// Where streaming resumes: `lsn_proc`, else `lsn`.
    pub fn resume_lsn(&self) -> Option<Lsn> {
        self.lsn_proc.or(self.lsn)
    }

    /// The LSN confirmed to the slot once this offset is stored: the last
    /// commit (never the middle of a transaction), else `lsn_proc`.
    pub fn flush_lsn(&self) -> Option<Lsn> {
        self.lsn_commit.or(self.lsn_proc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> OffsetMap {
        serde_json::from_str(json).expect("a JSON object")
    }

    #[test]
    fn a_debezium_streaming_offset_round_trips() {
        // As Debezium 3.6 stores it in the offsets topic.
        let stored = map(r#"{"lsn_proc":24023960,"messageType":"INSERT",
                "lsn":24023960,"txId":742,"ts_usec":1700000000123456,"lsn_commit":24023928}"#);
        let o = PgOffset::from_map(&stored).expect("an offset");
        assert_eq!(o.lsn_proc, Some(Lsn(24_023_960)));
        assert_eq!(o.flush_lsn(), Some(Lsn(24_023_928)));
        assert_eq!(o.resume_lsn(), Some(Lsn(24_023_960)));
        assert_eq!(o.message_type, Some(MessageType::Insert));
        let written = o.to_map();
        for key in [
            "lsn_proc",
            "messageType",
            "lsn",
            "txId",
            "ts_usec",
            "lsn_commit",
        ] {
            assert_eq!(written.get(key), stored.get(key), "{key}");
        }
        assert_eq!(written.len(), 6);
    }

    #[test]
    fn snapshot_states_and_old_forms() {
        let o = PgOffset::from_map(&map(r#"{"snapshot":true,"lsn":10}"#)).expect("legacy");
        assert_eq!(o.snapshot, Some(SnapshotType::Initial));
        assert_eq!(o.flush_lsn(), None);
        let o = PgOffset::from_map(&map(
            r#"{"snapshot":"INITIAL","last_snapshot_record":true,"snapshot_completed":true,"lsn":10}"#,
        ))
        .expect("the last snapshot record");
        assert_eq!(o.snapshot, None, "the snapshot is over");
        let o = PgOffset::from_map(&map(r#"{"lsn_proc":7}"#)).expect("no commit yet");
        assert_eq!(o.lsn_commit, Some(Lsn(7)));
        let running = PgOffset {
            snapshot: Some(SnapshotType::Initial),
            lsn: Some(Lsn(5)),
            ..PgOffset::default()
        };
        assert_eq!(
            Json::Object(running.to_map()),
            serde_json::json!({"lsn": 5, "snapshot": "INITIAL", "last_snapshot_record": false, "snapshot_completed": false})
        );
        assert!(PgOffset::from_map(&map(r#"{"lsn":"16/B374D848"}"#)).is_err());
        assert!(PgOffset::from_map(&map(r#"{"messageType":"UPSERT"}"#)).is_err());
        assert_eq!(
            partition("shop").get("server"),
            Some(&Json::String("shop".into()))
        );
    }
}
