//! The messages of PostgreSQL's `pgoutput` logical decoding plugin
//! ("Logical Replication Message Formats" in PostgreSQL's documentation),
//! protocol versions 1 and 2, decoded without copying: tuple data and
//! names borrow from the message.
//!
//! Integers are big-endian, strings NUL-terminated. In protocol 2, the
//! messages of a transaction streamed while still in progress (between
//! Stream Start and Stream Stop) carry its xid first; the caller says
//! whether a message is one of those.

use crate::lsn::Lsn;

/// A message that does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed pgoutput message (type {kind:?}) at byte {at}: {reason}")]
pub struct DecodeError {
    /// The message type byte, as a character.
    pub kind: char,
    pub at: usize,
    pub reason: String,
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp (microseconds since 2000-01-01 UTC) as
/// microseconds since the Unix epoch.
pub fn unix_micros(pg_micros: i64) -> i64 {
    pg_micros.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// A transaction begins; its changes follow, then [`Message::Commit`].
    Begin {
        /// The LSN of the commit record.
        final_lsn: Lsn,
        /// Commit time, microseconds since 2000-01-01 ([`unix_micros`]).
        commit_time: i64,
        xid: u32,
    },
    Commit {
        flags: u8,
        commit_lsn: Lsn,
        /// The LSN just past the transaction's commit record.
        end_lsn: Lsn,
        commit_time: i64,
    },
    /// The transaction came from another node's replication origin.
    Origin {
        commit_lsn: Lsn,
        name: &'a str,
    },
    /// A table's shape, sent before the first change of it in a session
    /// and again after it changes (ALTER TABLE).
    Relation(Relation),
    /// A data type's name, sent before a relation that uses a type not
    /// built in.
    Type {
        xid: Option<u32>,
        oid: u32,
        namespace: &'a str,
        name: &'a str,
    },
    Insert {
        xid: Option<u32>,
        relation: u32,
        new: TupleData<'a>,
    },
    Update {
        xid: Option<u32>,
        relation: u32,
        /// The old key or row: present when the key changed, or always
        /// under REPLICA IDENTITY FULL.
        old: Option<OldTuple<'a>>,
        new: TupleData<'a>,
    },
    Delete {
        xid: Option<u32>,
        relation: u32,
        old: OldTuple<'a>,
    },
    Truncate {
        xid: Option<u32>,
        /// [`truncate_option::CASCADE`], [`truncate_option::RESTART_IDENTITY`].
        options: u8,
        relations: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`), with the
    /// `messages` option.
    LogicalMessage {
        xid: Option<u32>,
        transactional: bool,
        lsn: Lsn,
        prefix: &'a str,
        content: &'a [u8],
    },
    StreamStart {
        xid: u32,
        first_segment: bool,
    },
    StreamStop,
    StreamCommit {
        xid: u32,
        flags: u8,
        commit_lsn: Lsn,
        end_lsn: Lsn,
        commit_time: i64,
    },
    StreamAbort {
        xid: u32,
        subxid: u32,
    },
}

/// Truncate's option bits.
pub mod truncate_option {
    pub const CASCADE: u8 = 1;
    pub const RESTART_IDENTITY: u8 = 2;
}

/// A table's description: its columns in order, as tuples list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    /// The schema; pgoutput sends an empty name for `pg_catalog`, given
    /// here as `pg_catalog`.
    pub namespace: String,
    pub name: String,
    pub replica_identity: ReplicaIdentity,
    pub columns: Vec<RelationColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (the primary key, by default).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    /// `atttypmod`: a varchar's length + 4, a numeric's precision and
    /// scale, -1 for none.
    pub type_modifier: i32,
}

/// `REPLICA IDENTITY`: what a table's updates and deletes carry of the
/// old row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaIdentity {
    /// The primary key (`d`).
    Default,
    /// Nothing (`n`).
    Nothing,
    /// The whole row (`f`).
    Full,
    /// The columns of a chosen unique index (`i`).
    Index,
}

/// The old side of an update or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple<'a> {
    /// The replica identity's columns only (`K`); the others are null.
    Key(TupleData<'a>),
    /// The whole old row (`O`, REPLICA IDENTITY FULL).
    Full(TupleData<'a>),
}

impl<'a> OldTuple<'a> {
    pub fn tuple(&self) -> &TupleData<'a> {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }
}

/// A row's column values, in the relation's column order, checked when
/// the message was decoded and read without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleData<'a> {
    count: u16,
    raw: &'a [u8],
}

/// One column value of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column<'a> {
    Null,
    /// A TOASTed value the change did not touch, so not sent (`u`).
    UnchangedToast,
    /// The value in the type's text output format.
    Text(&'a [u8]),
    /// The value in the type's binary format (with the `binary` option).
    Binary(&'a [u8]),
}

impl<'a> TupleData<'a> {
    /// The number of columns.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values, in column order.
    pub fn columns(&self) -> Columns<'a> {
        Columns { rest: self.raw }
    }
}

/// The values of a [`TupleData`].
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Columns<'a> {
    type Item = Column<'a>;

    fn next(&mut self) -> Option<Column<'a>> {
        // Checked when decoded: a malformed tail cannot occur, and would
        // just end the values.
        let (&kind, rest) = self.rest.split_first()?;
        let (column, rest) = match kind {
            b'n' => (Column::Null, rest),
            b'u' => (Column::UnchangedToast, rest),
            b't' | b'b' => {
                let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                let value = rest.get(4..4 + len)?;
                let column = if kind == b't' {
                    Column::Text(value)
                } else {
                    Column::Binary(value)
                };
                (column, &rest[4 + len..])
            }
            _ => return None,
        };
        self.rest = rest;
        Some(column)
    }
}

struct Reader<'a> {
    kind: char,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError {
            kind: self.kind,
            at: self.at,
            reason: reason.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error(format!("{n} more bytes expected, the message ends")))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn lsn(&mut self) -> Result<Lsn, DecodeError> {
        Ok(Lsn(u64::from_be_bytes(self.array()?)))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let rest = &self.bytes[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| self.error("a string has no terminating NUL"))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|e| self.error(format!("a string is not UTF-8: {e}")))?;
        self.at += len + 1;
        Ok(s)
    }

    fn xid(&mut self, in_stream: bool) -> Result<Option<u32>, DecodeError> {
        in_stream.then(|| self.u32()).transpose()
    }

    fn tuple(&mut self) -> Result<TupleData<'a>, DecodeError> {
        let count = self.u16()?;
        let start = self.at;
        for _ in 0..count {
            match self.u8()? {
                b'n' | b'u' => {}
                b't' | b'b' => {
                    let len = self.u32()? as usize;
                    self.take(len)?;
                }
                other => {
                    return Err(
                        self.error(format!("unknown tuple column kind {:?}", char::from(other)))
                    )
                }
            }
        }
        Ok(TupleData {
            count,
            raw: &self.bytes[start..self.at],
        })
    }

    fn old_tuple(&mut self, tag: u8) -> Result<OldTuple<'a>, DecodeError> {
        Ok(match tag {
            b'K' => OldTuple::Key(self.tuple()?),
            b'O' => OldTuple::Full(self.tuple()?),
            other => {
                return Err(self.error(format!(
                    "expected an old tuple (K or O), got {:?}",
                    char::from(other)
                )))
            }
        })
    }

    fn expect_new(&mut self) -> Result<TupleData<'a>, DecodeError> {
        match self.u8()? {
            b'N' => self.tuple(),
            other => Err(self.error(format!(
                "expected a new tuple (N), got {:?}",
                char::from(other)
            ))),
        }
    }

    fn relation(&mut self, in_stream: bool) -> Result<Relation, DecodeError> {
        // The xid of a streamed transaction is not kept: relations are
        // cached by OID whatever transaction sent them.
        self.xid(in_stream)?;
        let oid = self.u32()?;
        let namespace = match self.str()? {
            "" => "pg_catalog",
            ns => ns,
        }
        .to_owned();
        let name = self.str()?.to_owned();
        let replica_identity = match self.u8()? {
            b'd' => ReplicaIdentity::Default,
            b'n' => ReplicaIdentity::Nothing,
            b'f' => ReplicaIdentity::Full,
            b'i' => ReplicaIdentity::Index,
            other => {
                return Err(self.error(format!("unknown replica identity {:?}", char::from(other))))
            }
        };
        let n = self.u16()?;
        let mut columns = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let flags = self.u8()?;
            columns.push(RelationColumn {
                key: flags & 1 != 0,
                name: self.str()?.to_owned(),
                type_oid: self.u32()?,
                type_modifier: self.i32()?,
            });
        }
        Ok(Relation {
            oid,
            namespace,
            name,
            replica_identity,
            columns,
        })
    }
}

/// Decodes one message (the payload of one XLogData). `in_stream`: the
/// message lies between Stream Start and Stream Stop (protocol 2), so the
/// messages that carry a transaction's changes start with its xid.
pub fn decode(bytes: &[u8], in_stream: bool) -> Result<Message<'_>, DecodeError> {
    let (&tag, _) = bytes.split_first().ok_or(DecodeError {
        kind: '\0',
        at: 0,
        reason: "empty message".into(),
    })?;
    let mut r = Reader {
        kind: char::from(tag),
        bytes,
        at: 1,
    };
    let message = match tag {
        b'B' => Message::Begin {
            final_lsn: r.lsn()?,
            commit_time: r.i64()?,
            xid: r.u32()?,
        },
        b'C' => Message::Commit {
            flags: r.u8()?,
            commit_lsn: r.lsn()?,
            end_lsn: r.lsn()?,
            commit_time: r.i64()?,
        },
        b'O' => Message::Origin {
            commit_lsn: r.lsn()?,
            name: r.str()?,
        },
        b'R' => Message::Relation(r.relation(in_stream)?),
        b'Y' => Message::Type {
            xid: r.xid(in_stream)?,
            oid: r.u32()?,
            namespace: r.str()?,
            name: r.str()?,
        },
        b'I' => Message::Insert {
            xid: r.xid(in_stream)?,
            relation: r.u32()?,
            new: r.expect_new()?,
        },
        b'U' => {
            let xid = r.xid(in_stream)?;
            let relation = r.u32()?;
            let (old, new) = match r.u8()? {
                b'N' => (None, r.tuple()?),
                tag => (Some(r.old_tuple(tag)?), r.expect_new()?),
            };
            Message::Update {
                xid,
                relation,
                old,
                new,
            }
        }
        b'D' => {
            let xid = r.xid(in_stream)?;
            let relation = r.u32()?;
            let tag = r.u8()?;
            Message::Delete {
                xid,
                relation,
                old: r.old_tuple(tag)?,
            }
        }
        b'T' => {
            let xid = r.xid(in_stream)?;
            let n = r.u32()?;
            let options = r.u8()?;
            let relations = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            Message::Truncate {
                xid,
                options,
                relations,
            }
        }
        b'M' => {
            let xid = r.xid(in_stream)?;
            let transactional = r.u8()? & 1 != 0;
            let lsn = r.lsn()?;
            let prefix = r.str()?;
            let len = r.u32()? as usize;
            Message::LogicalMessage {
                xid,
                transactional,
                lsn,
                prefix,
                content: r.take(len)?,
            }
        }
        b'S' => Message::StreamStart {
            xid: r.u32()?,
            first_segment: r.u8()? == 1,
        },
        b'E' => Message::StreamStop,
        b'c' => Message::StreamCommit {
            xid: r.u32()?,
            flags: r.u8()?,
            commit_lsn: r.lsn()?,
            end_lsn: r.lsn()?,
            commit_time: r.i64()?,
        },
        b'A' => {
            let xid = r.u32()?;
            let subxid = r.u32()?;
            // Protocol 4 adds the abort's LSN and time; not requested.
            Message::StreamAbort { xid, subxid }
        }
        other => return Err(r.error(format!("unknown message type {:?}", char::from(other)))),
    };
    // A longer message is only a stream abort of protocol 4.
    if r.at != bytes.len() && tag != b'A' {
        return Err(r.error(format!("{} bytes left over", bytes.len() - r.at)));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds messages as PostgreSQL writes them.
    #[derive(Default)]
    struct W(Vec<u8>);

    impl W {
        fn u8(mut self, v: u8) -> Self {
            self.0.push(v);
            self
        }
        fn u16(mut self, v: u16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u32(mut self, v: u32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u64(mut self, v: u64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn str(mut self, s: &str) -> Self {
            self.0.extend_from_slice(s.as_bytes());
            self.0.push(0);
            self
        }
        fn text(self, s: &str) -> Self {
            let mut w = self.u8(b't').u32(s.len() as u32);
            w.0.extend_from_slice(s.as_bytes());
            w
        }
    }

    #[test]
    fn transaction_framing() {
        let begin = W::default()
            .u8(b'B')
            .u64(0x16_B374_D848)
            .u64(1000)
            .u32(742)
            .0;
        assert_eq!(
            decode(&begin, false),
            Ok(Message::Begin {
                final_lsn: Lsn(0x16_B374_D848),
                commit_time: 1000,
                xid: 742
            })
        );
        let commit = W::default().u8(b'C').u8(0).u64(10).u64(20).u64(1000).0;
        assert_eq!(
            decode(&commit, false),
            Ok(Message::Commit {
                flags: 0,
                commit_lsn: Lsn(10),
                end_lsn: Lsn(20),
                commit_time: 1000
            })
        );
        assert_eq!(unix_micros(0), 946_684_800_000_000);
    }

    #[test]
    fn relations_and_changes() {
        let rel = W::default()
            .u8(b'R')
            .u32(16384)
            .str("")
            .str("t")
            .u8(b'f')
            .u16(2)
            .u8(1)
            .str("id")
            .u32(23)
            .u32(u32::MAX)
            .u8(0)
            .str("name")
            .u32(1043)
            .u32(36)
            .0;
        let Ok(Message::Relation(r)) = decode(&rel, false) else {
            panic!("a relation");
        };
        assert_eq!(r.namespace, "pg_catalog");
        assert_eq!(r.replica_identity, ReplicaIdentity::Full);
        assert_eq!(
            r.columns[0],
            RelationColumn {
                key: true,
                name: "id".into(),
                type_oid: 23,
                type_modifier: -1
            }
        );
        assert_eq!(r.columns[1].type_modifier, 36);

        let update = W::default()
            .u8(b'U')
            .u32(16384)
            .u8(b'O')
            .u16(2)
            .text("1")
            .u8(b'u')
            .u8(b'N')
            .u16(2)
            .text("2")
            .u8(b'n')
            .0;
        let Ok(Message::Update {
            relation,
            old: Some(OldTuple::Full(old)),
            new,
            xid: None,
        }) = decode(&update, false)
        else {
            panic!("an update with the old row");
        };
        assert_eq!(relation, 16384);
        let old: Vec<Column<'_>> = old.columns().collect();
        assert_eq!(old, vec![Column::Text(b"1"), Column::UnchangedToast]);
        let new: Vec<Column<'_>> = new.columns().collect();
        assert_eq!(new, vec![Column::Text(b"2"), Column::Null]);

        // In a streamed transaction, the xid comes first.
        let insert = W::default()
            .u8(b'I')
            .u32(99)
            .u32(16384)
            .u8(b'N')
            .u16(1)
            .text("x")
            .0;
        let Ok(Message::Insert {
            xid: Some(99),
            relation: 16384,
            new,
        }) = decode(&insert, true)
        else {
            panic!("a streamed insert");
        };
        assert_eq!(new.len(), 1);

        let truncate = W::default().u8(b'T').u32(2).u8(3).u32(1).u32(2).0;
        assert_eq!(
            decode(&truncate, false),
            Ok(Message::Truncate {
                xid: None,
                options: truncate_option::CASCADE | truncate_option::RESTART_IDENTITY,
                relations: vec![1, 2]
            })
        );
    }

    #[test]
    fn malformed_messages_are_refused_with_the_place() {
        assert!(decode(&[], false).is_err());
        let e = decode(b"Z", false).expect_err("unknown type");
        assert!(e.reason.contains("unknown message type"), "{e}");
        // A text column longer than the message.
        let bad = W::default()
            .u8(b'I')
            .u32(1)
            .u8(b'N')
            .u16(1)
            .u8(b't')
            .u32(100)
            .0;
        let e = decode(&bad, false).expect_err("truncated value");
        assert_eq!((e.kind, e.at), ('I', 13), "where the value should start");
        // Bytes after the end.
        let long = W::default().u8(b'B').u64(1).u64(1).u32(1).u8(0).0;
        assert!(decode(&long, false).is_err());
        // A delete must say which old tuple it carries.
        let del = W::default().u8(b'D').u32(1).u8(b'N').u16(0).0;
        assert!(decode(&del, false).is_err());
    }
}
