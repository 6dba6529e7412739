//! Kafka Connect's group subprotocols on the wire: JoinGroup member metadata
//! and SyncGroup assignments, byte for byte as the Java worker writes them.
//!
//! Encoding is Kafka's schema "Struct" form (big-endian, no tagged fields):
//! int16/int32/int64 fixed width, STRING = int16 length + UTF-8,
//! ARRAY = int32 count (-1 = null), NULLABLE_BYTES = int32 length (-1 = null).
//!
//! * metadata v0 (`default`): `version | url | config_offset`
//! * metadata v1/v2 (`compatible`/`sessioned`): v0 fields `| allocation`, where
//!   `allocation` is the member's current assignment encoded as below with
//!   the same header version, or null before it has one.
//! * assignment v0: `version | error | leader | leader_url | config_offset | assignment`
//! * assignment v1/v2: v0 fields `| revoked | delay`.
//!
//! Readers are the Java v1 readers: they accept every version ≥ 0, take the
//! defaults for missing trailing optional fields (null allocation, null
//! arrays, delay 0) and ignore unknown trailing bytes, so a Java worker of a
//! newer version can still talk to us.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Task id that stands for the connector instance itself in an assignment.
pub const CONNECTOR_TASK: i32 = -1;

/// `error` value of a successful assignment.
pub const NO_ERROR: i16 = 0;
/// `error` value telling members that the leader could not catch up with the
/// config topic; every member reads the config topic to its end and rejoins.
pub const CONFIG_MISMATCH: i16 = 1;

/// Protocol type every Connect worker uses in JoinGroup.
pub const PROTOCOL_TYPE: &str = "connect";

/// Connect's subprotocols. The `Ord` order is the version order, which is
/// also the order of preference (newest first when reversed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectProtocol {
    /// v0, protocol name `default`: eager rebalancing, full assignments.
    Eager,
    /// v1, protocol name `compatible`: incremental cooperative rebalancing.
    Compatible,
    /// v2, protocol name `sessioned`: v1 plus signed internal requests.
    Sessioned,
}

impl ConnectProtocol {
    /// The subprotocol name sent in JoinGroup and returned by the coordinator.
    pub fn name(self) -> &'static str {
        match self {
            ConnectProtocol::Eager => "default",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        }
    }

    /// The header version written in metadata and assignments.
    pub fn version(self) -> i16 {
        match self {
            ConnectProtocol::Eager => 0,
            ConnectProtocol::Compatible => 1,
            ConnectProtocol::Sessioned => 2,
        }
    }

    /// Looks a subprotocol up by its wire name (`default`, `compatible`,
    /// `sessioned`), ignoring case as the Java worker does.
    pub fn from_protocol_name(name: &str) -> Option<Self> {
        [Self::Eager, Self::Compatible, Self::Sessioned]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Looks a subprotocol up by its header version.
    pub fn from_version(version: i16) -> Option<Self> {
        match version {
            0 => Some(Self::Eager),
            1 => Some(Self::Compatible),
            2 => Some(Self::Sessioned),
            _ => None,
        }
    }

    /// The subprotocols a worker configured with this `connect.protocol`
    /// offers in JoinGroup, most preferred first. The coordinator picks the
    /// first one that every member supports, so a mixed group settles on the
    /// newest protocol all of its members know.
    pub fn offered(self) -> &'static [ConnectProtocol] {
        match self {
            ConnectProtocol::Sessioned => &[
                ConnectProtocol::Sessioned,
                ConnectProtocol::Compatible,
                ConnectProtocol::Eager,
            ],
            ConnectProtocol::Compatible => &[ConnectProtocol::Compatible, ConnectProtocol::Eager],
            ConnectProtocol::Eager => &[ConnectProtocol::Eager],
        }
    }

    /// True for the incremental cooperative protocols (v1 and v2).
    pub fn is_incremental(self) -> bool {
        self != ConnectProtocol::Eager
    }

    /// Internal REST requests are signed only when the group runs `sessioned`.
    pub fn signs_requests(self) -> bool {
        self == ConnectProtocol::Sessioned
    }
}

/// Displays the `connect.protocol` config value (`eager`, `compatible`,
/// `sessioned`), which differs from the wire name for v0.
impl fmt::Display for ConnectProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectProtocol::Eager => "eager",
            ConnectProtocol::Compatible => "compatible",
            ConnectProtocol::Sessioned => "sessioned",
        })
    }
}

/// Parses the `connect.protocol` worker setting (case-insensitive).
impl FromStr for ConnectProtocol {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "eager" => Ok(ConnectProtocol::Eager),
            "compatible" => Ok(ConnectProtocol::Compatible),
            "sessioned" => Ok(ConnectProtocol::Sessioned),
            _ => Err(ProtocolError::UnknownProtocol(s.to_string())),
        }
    }
}

/// A task of a connector. Ordered by connector name, then task number, as
/// Java's `ConnectorTaskId`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: i32,
}

impl ConnectorTaskId {
    pub fn new(connector: impl Into<String>, task: i32) -> Self {
        ConnectorTaskId {
            connector: connector.into(),
            task,
        }
    }
}

impl fmt::Display for ConnectorTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// An assignment as carried in SyncGroup (and, for v1/v2, as the
/// `allocation` a member reports in its JoinGroup metadata).
///
/// For v1/v2 the lists are incremental: `connectors`/`tasks` hold only work
/// that is new for the member, `revoked_*` the work it must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Header version: 0 (eager), 1 (compatible) or 2 (sessioned).
    pub version: i16,
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// Member id of the leader.
    pub leader: String,
    /// Advertised REST URL of the leader.
    pub leader_url: String,
    /// Config topic offset the leader computed the assignment from.
    pub config_offset: i64,
    pub connectors: Vec<String>,
    pub tasks: Vec<ConnectorTaskId>,
    pub revoked_connectors: Vec<String>,
    pub revoked_tasks: Vec<ConnectorTaskId>,
    /// Milliseconds after which the member should rejoin (scheduled
    /// rebalance); 0 for none. Not on the wire in v0.
    pub delay_ms: i32,
}

impl Assignment {
    /// An assignment with no work and no error.
    pub fn empty(
        version: i16,
        leader: impl Into<String>,
        leader_url: impl Into<String>,
        config_offset: i64,
    ) -> Self {
        Assignment {
            version,
            error: NO_ERROR,
            leader: leader.into(),
            leader_url: leader_url.into(),
            config_offset,
            connectors: Vec::new(),
            tasks: Vec::new(),
            revoked_connectors: Vec::new(),
            revoked_tasks: Vec::new(),
            delay_ms: 0,
        }
    }

    /// True when the leader reported an error (the member must rejoin).
    pub fn failed(&self) -> bool {
        self.error != NO_ERROR
    }

    /// True when something is revoked.
    pub fn has_revocations(&self) -> bool {
        !self.revoked_connectors.is_empty() || !self.revoked_tasks.is_empty()
    }

    /// Applies an incremental assignment received in a v1/v2 SyncGroup on top
    /// of this (the member's current) one: revoked work goes, new work comes,
    /// and the header fields are taken from `next`. The result is what the
    /// member runs and reports as its `allocation` when it joins again.
    pub fn apply_incremental(&self, next: &Assignment) -> Assignment {
        let mut connectors: Vec<String> = self
            .connectors
            .iter()
            .filter(|c| !next.revoked_connectors.contains(c))
            .cloned()
            .collect();
        let mut tasks: Vec<ConnectorTaskId> = self
            .tasks
            .iter()
            .filter(|t| !next.revoked_tasks.contains(t))
            .cloned()
            .collect();
        for c in &next.connectors {
            if !connectors.contains(c) {
                connectors.push(c.clone());
            }
        }
        for t in &next.tasks {
            if !tasks.contains(t) {
                tasks.push(t.clone());
            }
        }
        Assignment {
            connectors,
            tasks,
            ..next.clone()
        }
    }
}

/// What a member tells the group about itself in JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// Advertised REST URL, e.g. `http://10.0.0.5:8083/` (trailing slash, as
    /// Jetty reports it).
    pub url: String,
    /// Offset of the config topic this member has read up to (next offset;
    /// -1 when nothing was read).
    pub config_offset: i64,
    /// The member's current (complete) assignment; `None` before its first
    /// one. Only v1/v2 metadata carries it.
    pub allocation: Option<Assignment>,
}

impl WorkerMetadata {
    pub fn new(url: impl Into<String>, config_offset: i64) -> Self {
        WorkerMetadata {
            url: url.into(),
            config_offset,
            allocation: None,
        }
    }
}

/// Why bytes could not be encoded or decoded.
/// The longest connector name the Connect protocol can carry: assignments
/// name connectors and tasks as Kafka protocol strings, with an `i16`
/// length.
pub const MAX_NAME_BYTES: usize = i16::MAX as usize;

/// Whether a connector can be named in an assignment; one that cannot must
/// be left out of every assignment, or no assignment could be sent at all.
pub fn can_assign(connector: &str) -> bool {
    connector.len() <= MAX_NAME_BYTES
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("truncated {what}: needed {needed} bytes, {remaining} left")]
    Truncated {
        what: &'static str,
        needed: usize,
        remaining: usize,
    },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("invalid length {len} for {what}")]
    InvalidLength { what: &'static str, len: i64 },
    #[error("unsupported Connect protocol version {0}")]
    UnsupportedVersion(i16),
    #[error("{what} is too long to encode ({len} elements or bytes)")]
    TooLong { what: &'static str, len: usize },
    #[error("unknown connect.protocol {0:?} (expected eager, compatible or sessioned)")]
    UnknownProtocol(String),
}

// ---------------------------------------------------------------------------
// Writer

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new() -> Self {
        Writer {
            buf: Vec::with_capacity(64),
        }
    }

    fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn string(&mut self, what: &'static str, s: &str) -> Result<(), ProtocolError> {
        let len =
            i16::try_from(s.len()).map_err(|_| ProtocolError::TooLong { what, len: s.len() })?;
        self.i16(len);
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn array_len(&mut self, what: &'static str, len: usize) -> Result<(), ProtocolError> {
        let len = i32::try_from(len).map_err(|_| ProtocolError::TooLong { what, len })?;
        self.i32(len);
        Ok(())
    }

    fn nullable_bytes(
        &mut self,
        what: &'static str,
        b: Option<&[u8]>,
    ) -> Result<(), ProtocolError> {
        match b {
            None => self.i32(-1),
            Some(b) => {
                self.array_len(what, b.len())?;
                self.buf.extend_from_slice(b);
            }
        }
        Ok(())
    }
}

/// Groups connectors and tasks per connector the way the Java writer does:
/// one entry per connector, the connector itself (-1) first, then its task
/// ids in the given order. Entries appear in order of first mention.
fn connector_entries<'a>(
    connectors: &'a [String],
    tasks: &'a [ConnectorTaskId],
) -> Vec<(&'a str, Vec<i32>)> {
    let mut entries: Vec<(&str, Vec<i32>)> = Vec::new();
    let slot = |entries: &mut Vec<(&'a str, Vec<i32>)>, name: &'a str| -> usize {
        match entries.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                entries.push((name, Vec::new()));
                entries.len() - 1
            }
        }
    };
    for c in connectors {
        let i = slot(&mut entries, c);
        // A connector listed twice is still one instance.
        if !entries[i].1.contains(&CONNECTOR_TASK) {
            entries[i].1.push(CONNECTOR_TASK);
        }
    }
    for t in tasks {
        let i = slot(&mut entries, &t.connector);
        entries[i].1.push(t.task);
    }
    entries
}

fn write_connector_array(
    w: &mut Writer,
    what: &'static str,
    connectors: &[String],
    tasks: &[ConnectorTaskId],
) -> Result<(), ProtocolError> {
    let entries = connector_entries(connectors, tasks);
    w.array_len(what, entries.len())?;
    for (name, ids) in entries {
        w.string("connector name", name)?;
        w.array_len("task id array", ids.len())?;
        for id in ids {
            w.i32(id);
        }
    }
    Ok(())
}

/// Writes the assignment body (everything after the header) in the v0 or the
/// v1 layout.
fn write_assignment_body(
    w: &mut Writer,
    a: &Assignment,
    v1_layout: bool,
) -> Result<(), ProtocolError> {
    w.i16(a.error);
    w.string("leader id", &a.leader)?;
    w.string("leader url", &a.leader_url)?;
    w.i64(a.config_offset);
    write_connector_array(w, "assignment", &a.connectors, &a.tasks)?;
    if v1_layout {
        // The Java writer always writes both arrays (possibly empty), never null.
        write_connector_array(w, "revoked", &a.revoked_connectors, &a.revoked_tasks)?;
        w.i32(a.delay_ms);
    }
    Ok(())
}

fn check_version(version: i16) -> Result<(), ProtocolError> {
    if version < 0 {
        return Err(ProtocolError::UnsupportedVersion(version));
    }
    Ok(())
}

fn assignment_with_version(a: &Assignment, version: i16) -> Result<Vec<u8>, ProtocolError> {
    check_version(version)?;
    let mut w = Writer::new();
    w.i16(version);
    write_assignment_body(&mut w, a, version >= 1)?;
    Ok(w.buf)
}

/// Encodes an assignment with its own `version`: the v0 layout for version 0
/// (no revocations, no delay), the v1 layout otherwise.
pub fn encode_assignment(a: &Assignment) -> Result<Vec<u8>, ProtocolError> {
    assignment_with_version(a, a.version)
}

/// Encodes JoinGroup metadata for one subprotocol. For v1/v2 the allocation
/// is written with the same header version as the metadata, whatever the
/// version it was received with, as the Java worker does.
pub fn encode_metadata(
    m: &WorkerMetadata,
    protocol: ConnectProtocol,
) -> Result<Vec<u8>, ProtocolError> {
    let mut w = Writer::new();
    w.i16(protocol.version());
    w.string("url", &m.url)?;
    w.i64(m.config_offset);
    if protocol.is_incremental() {
        let allocation = match &m.allocation {
            Some(a) => Some(assignment_with_version(a, protocol.version())?),
            None => None,
        };
        w.nullable_bytes("allocation", allocation.as_deref())?;
    }
    Ok(w.buf)
}

// ---------------------------------------------------------------------------
// Reader

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn has_remaining(&self) -> bool {
        !self.buf.is_empty()
    }

    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() < n {
            return Err(ProtocolError::Truncated {
                what,
                needed: n,
                remaining: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, ProtocolError> {
        let b = self.take(what, 2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ProtocolError> {
        let b = self.take(what, 4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, ProtocolError> {
        let b = self.take(what, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    fn string(&mut self, what: &'static str) -> Result<String, ProtocolError> {
        let len = self.i16(what)?;
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidLength {
            what,
            len: i64::from(len),
        })?;
        let b = self.take(what, len)?;
        String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::InvalidUtf8 { what })
    }

    /// An array length; `None` for a null array (-1).
    fn array_len(&mut self, what: &'static str) -> Result<Option<usize>, ProtocolError> {
        let len = self.i32(what)?;
        if len == -1 {
            return Ok(None);
        }
        let n = usize::try_from(len).map_err(|_| ProtocolError::InvalidLength {
            what,
            len: i64::from(len),
        })?;
        // Every element takes at least one byte; a larger count is garbage and
        // must not drive a huge allocation.
        if n > self.buf.len() {
            return Err(ProtocolError::Truncated {
                what,
                needed: n,
                remaining: self.buf.len(),
            });
        }
        Ok(Some(n))
    }

    fn nullable_bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, ProtocolError> {
        match self.array_len(what)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(what, n)?)),
        }
    }

    /// Reads a (nullable) array of ConnectorAssignment into connectors and tasks.
    fn connector_array(
        &mut self,
        what: &'static str,
    ) -> Result<(Vec<String>, Vec<ConnectorTaskId>), ProtocolError> {
        let mut connectors = Vec::new();
        let mut tasks = Vec::new();
        let Some(n) = self.array_len(what)? else {
            return Ok((connectors, tasks));
        };
        for _ in 0..n {
            let connector = self.string("connector name")?;
            let ids = self.array_len("task id array")?.unwrap_or(0);
            for _ in 0..ids {
                let id = self.i32("task id")?;
                if id == CONNECTOR_TASK {
                    connectors.push(connector.clone());
                } else {
                    tasks.push(ConnectorTaskId::new(connector.clone(), id));
                }
            }
        }
        Ok((connectors, tasks))
    }
}

/// Decodes an assignment of any version with the tolerant v1 reader: a v0
/// payload simply ends after the assignment array.
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, ProtocolError> {
    let mut r = Reader::new(bytes);
    let version = r.i16("assignment version")?;
    check_version(version)?;
    let error = r.i16("assignment error")?;
    let leader = r.string("leader id")?;
    let leader_url = r.string("leader url")?;
    let config_offset = r.i64("config offset")?;
    let (connectors, tasks) = if r.has_remaining() {
        r.connector_array("assignment")?
    } else {
        (Vec::new(), Vec::new())
    };
    let (revoked_connectors, revoked_tasks) = if r.has_remaining() {
        r.connector_array("revoked")?
    } else {
        (Vec::new(), Vec::new())
    };
    let delay_ms = if r.has_remaining() {
        r.i32("delay")?
    } else {
        0
    };
    Ok(Assignment {
        version,
        error,
        leader,
        leader_url,
        config_offset,
        connectors,
        tasks,
        revoked_connectors,
        revoked_tasks,
        delay_ms,
    })
}

/// Decodes JoinGroup metadata of any version with the tolerant v1 reader.
pub fn decode_metadata(bytes: &[u8]) -> Result<WorkerMetadata, ProtocolError> {
    let mut r = Reader::new(bytes);
    let version = r.i16("metadata version")?;
    check_version(version)?;
    let url = r.string("url")?;
    let config_offset = r.i64("config offset")?;
    let allocation = if r.has_remaining() {
        match r.nullable_bytes("allocation")? {
            // An empty allocation cannot hold a header; read it as "none"
            // rather than failing the whole rebalance over it.
            Some(b) if !b.is_empty() => Some(decode_assignment(b)?),
            _ => None,
        }
    } else {
        None
    };
    Ok(WorkerMetadata {
        url,
        config_offset,
        allocation,
    })
}

/// The header version of encoded metadata or an assignment.
pub fn peek_version(bytes: &[u8]) -> Result<i16, ProtocolError> {
    Reader::new(bytes).i16("version")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    /// Builds bytes field by field, following the spec's layouts.
    #[derive(Default)]
    struct B(Vec<u8>);
    impl B {
        fn i16(mut self, v: i16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i64(mut self, v: i64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn s(self, v: &str) -> Self {
            let mut b = self.i16(v.len() as i16);
            b.0.extend_from_slice(v.as_bytes());
            b
        }
        fn bytes(self, v: &[u8]) -> Self {
            let mut b = self.i32(v.len() as i32);
            b.0.extend_from_slice(v);
            b
        }
        /// One ConnectorAssignment entry.
        fn entry(self, connector: &str, ids: &[i32]) -> Self {
            let mut b = self.s(connector).i32(ids.len() as i32);
            for id in ids {
                b = b.i32(*id);
            }
            b
        }
    }

    fn sample_current() -> Assignment {
        Assignment {
            version: 2,
            error: NO_ERROR,
            leader: "leader-1".into(),
            leader_url: "http://l:8083/".into(),
            config_offset: 42,
            connectors: vec!["c1".into()],
            tasks: vec![ConnectorTaskId::new("c1", 0), ConnectorTaskId::new("c1", 1)],
            revoked_connectors: vec![],
            revoked_tasks: vec![],
            delay_ms: 0,
        }
    }

    #[test]
    fn metadata_v0_matches_hand_built_layout() {
        let m = WorkerMetadata::new("http://10.0.0.5:8083/", 42);
        let expected = B::default().i16(0).s("http://10.0.0.5:8083/").i64(42).0;
        assert_eq!(
            encode_metadata(&m, ConnectProtocol::Eager).unwrap(),
            expected
        );
        // Captured from Kafka Connect 4.3.1 (ConnectProtocol.serializeMetadata).
        assert_eq!(
            expected,
            hex("00000015687474703a2f2f31302e302e302e353a383038332f000000000000002a")
        );
        assert_eq!(decode_metadata(&expected).unwrap(), m);
    }

    #[test]
    fn metadata_v1_without_allocation_writes_null_bytes() {
        let m = WorkerMetadata::new("http://10.0.0.5:8083/", -1);
        let expected = B::default()
            .i16(1)
            .s("http://10.0.0.5:8083/")
            .i64(-1)
            .i32(-1)
            .0;
        assert_eq!(
            encode_metadata(&m, ConnectProtocol::Compatible).unwrap(),
            expected
        );
        assert_eq!(
            expected,
            hex("00010015687474703a2f2f31302e302e302e353a383038332fffffffffffffffffffffffff")
        );
        assert_eq!(decode_metadata(&expected).unwrap(), m);
    }

    #[test]
    fn metadata_v2_embeds_allocation_with_same_header_version() {
        let mut m = WorkerMetadata::new("http://10.0.0.5:8083/", 42);
        // Received as v1; re-advertised under sessioned it must carry header 2.
        m.allocation = Some(Assignment {
            version: 1,
            ..sample_current()
        });
        let allocation = B::default()
            .i16(2)
            .i16(0)
            .s("leader-1")
            .s("http://l:8083/")
            .i64(42)
            .i32(1)
            .entry("c1", &[-1, 0, 1])
            .i32(0)
            .i32(0)
            .0;
        let expected = B::default()
            .i16(2)
            .s("http://10.0.0.5:8083/")
            .i64(42)
            .bytes(&allocation)
            .0;
        let encoded = encode_metadata(&m, ConnectProtocol::Sessioned).unwrap();
        assert_eq!(encoded, expected);
        // Captured from Kafka Connect 4.3.1 (sessioned metadata with allocation).
        assert_eq!(
            encoded,
            hex("00020015687474703a2f2f31302e302e302e353a383038332f000000000000002a000000460002000000086c65616465722d31000e687474703a2f2f6c3a383038332f000000000000002a000000010002633100000003ffffffff00000000000000010000000000000000")
        );
        let decoded = decode_metadata(&encoded).unwrap();
        assert_eq!(decoded.allocation, Some(sample_current()));
        // The same state under `compatible` differs only in the two headers.
        assert_eq!(
            encode_metadata(&m, ConnectProtocol::Compatible).unwrap(),
            hex("00010015687474703a2f2f31302e302e302e353a383038332f000000000000002a000000460001000000086c65616465722d31000e687474703a2f2f6c3a383038332f000000000000002a000000010002633100000003ffffffff00000000000000010000000000000000")
        );
    }

    #[test]
    fn v0_metadata_ignores_allocation() {
        let mut m = WorkerMetadata::new("http://w/", 3);
        m.allocation = Some(sample_current());
        let encoded = encode_metadata(&m, ConnectProtocol::Eager).unwrap();
        assert_eq!(encoded, B::default().i16(0).s("http://w/").i64(3).0);
        assert_eq!(decode_metadata(&encoded).unwrap().allocation, None);
    }

    #[test]
    fn assignment_v0_matches_hand_built_layout() {
        let a = Assignment {
            version: 0,
            ..sample_current()
        };
        let expected = B::default()
            .i16(0)
            .i16(0)
            .s("leader-1")
            .s("http://l:8083/")
            .i64(42)
            .i32(1)
            .entry("c1", &[-1, 0, 1])
            .0;
        assert_eq!(encode_assignment(&a).unwrap(), expected);
        // Captured from Kafka Connect 4.3.1 (ConnectProtocol.serializeAssignment).
        assert_eq!(
            expected,
            hex("0000000000086c65616465722d31000e687474703a2f2f6c3a383038332f000000000000002a000000010002633100000003ffffffff0000000000000001")
        );
        // The v1 reader accepts the v0 payload; missing fields take defaults.
        assert_eq!(decode_assignment(&expected).unwrap(), a);
    }

    #[test]
    fn assignment_v1_with_revocations_and_delay() {
        let a = Assignment {
            version: 1,
            error: NO_ERROR,
            leader: "leader-1".into(),
            leader_url: "http://l:8083/".into(),
            config_offset: 42,
            connectors: vec!["c1".into()],
            tasks: vec![ConnectorTaskId::new("c1", 0)],
            revoked_connectors: vec!["c2".into()],
            revoked_tasks: vec![ConnectorTaskId::new("c2", 0), ConnectorTaskId::new("c2", 1)],
            delay_ms: 1500,
        };
        let expected = B::default()
            .i16(1)
            .i16(0)
            .s("leader-1")
            .s("http://l:8083/")
            .i64(42)
            .i32(1)
            .entry("c1", &[-1, 0])
            .i32(1)
            .entry("c2", &[-1, 0, 1])
            .i32(1500)
            .0;
        assert_eq!(encode_assignment(&a).unwrap(), expected);
        // Captured from Kafka Connect 4.3.1 (IncrementalCooperativeConnectProtocol).
        assert_eq!(
            expected,
            hex("0001000000086c65616465722d31000e687474703a2f2f6c3a383038332f000000000000002a000000010002633100000002ffffffff00000000000000010002633200000003ffffffff0000000000000001000005dc")
        );
        assert_eq!(decode_assignment(&expected).unwrap(), a);
    }

    #[test]
    fn assignment_v2_config_mismatch() {
        let mut a = Assignment::empty(2, "leader-1", "http://l:8083/", 7);
        a.error = CONFIG_MISMATCH;
        let encoded = encode_assignment(&a).unwrap();
        assert_eq!(
            encoded,
            hex("0002000100086c65616465722d31000e687474703a2f2f6c3a383038332f0000000000000007000000000000000000000000")
        );
        let back = decode_assignment(&encoded).unwrap();
        assert!(back.failed());
        assert_eq!(back, a);
    }

    #[test]
    fn reader_tolerates_missing_trailing_fields_and_nulls() {
        // v1 header, no revoked array and no delay.
        let no_revoked = B::default()
            .i16(1)
            .i16(0)
            .s("L")
            .s("u")
            .i64(9)
            .i32(1)
            .entry("a", &[3])
            .0;
        let a = decode_assignment(&no_revoked).unwrap();
        assert_eq!(a.tasks, vec![ConnectorTaskId::new("a", 3)]);
        assert!(a.revoked_connectors.is_empty() && a.revoked_tasks.is_empty());
        assert_eq!(a.delay_ms, 0);

        // Null assignment and null revoked arrays, delay present.
        let nulls = B::default()
            .i16(2)
            .i16(0)
            .s("L")
            .s("u")
            .i64(9)
            .i32(-1)
            .i32(-1)
            .i32(250)
            .0;
        let a = decode_assignment(&nulls).unwrap();
        assert!(a.connectors.is_empty() && a.tasks.is_empty());
        assert_eq!(a.delay_ms, 250);

        // Metadata v1 without the allocation field at all.
        let meta = B::default().i16(1).s("http://x/").i64(5).0;
        assert_eq!(
            decode_metadata(&meta).unwrap(),
            WorkerMetadata::new("http://x/", 5)
        );

        // A newer version with extra trailing fields still parses.
        let newer = B::default().i16(3).s("http://x/").i64(5).i32(-1).i64(77).0;
        assert_eq!(
            decode_metadata(&newer).unwrap(),
            WorkerMetadata::new("http://x/", 5)
        );
    }

    #[test]
    fn reader_rejects_truncated_and_invalid_input() {
        assert!(matches!(
            decode_assignment(&[0, 1]),
            Err(ProtocolError::Truncated { .. })
        ));
        assert!(matches!(
            decode_metadata(&B::default().i16(-1).s("u").i64(0).0),
            Err(ProtocolError::UnsupportedVersion(-1))
        ));
        // A required field cut in the middle is an error, not a default.
        let cut = B::default()
            .i16(1)
            .i16(0)
            .s("L")
            .s("u")
            .i64(9)
            .i32(1)
            .s("a")
            .0;
        assert!(decode_assignment(&cut).is_err());
        // A partial delay field is an error too.
        let partial = B::default()
            .i16(1)
            .i16(0)
            .s("L")
            .s("u")
            .i64(9)
            .i32(0)
            .i32(0)
            .i16(1)
            .0;
        assert!(decode_assignment(&partial).is_err());
        // An absurd array count fails without allocating.
        let huge = B::default()
            .i16(1)
            .i16(0)
            .s("L")
            .s("u")
            .i64(9)
            .i32(i32::MAX)
            .0;
        assert!(decode_assignment(&huge).is_err());
        let bad_utf8 = B::default()
            .i16(0)
            .i16(1)
            .0
            .into_iter()
            .chain([0xff])
            .collect::<Vec<_>>();
        assert!(matches!(
            decode_metadata(&bad_utf8),
            Err(ProtocolError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn writer_groups_tasks_under_their_connector_with_connector_first() {
        let a = Assignment {
            connectors: vec!["b".into(), "b".into()],
            tasks: vec![
                ConnectorTaskId::new("a", 1),
                ConnectorTaskId::new("b", 0),
                ConnectorTaskId::new("a", 0),
            ],
            ..Assignment::empty(1, "L", "u", 0)
        };
        let expected = B::default()
            .i16(1)
            .i16(0)
            .s("L")
            .s("u")
            .i64(0)
            .i32(2)
            .entry("b", &[-1, 0])
            .entry("a", &[1, 0])
            .i32(0)
            .i32(0)
            .0;
        assert_eq!(encode_assignment(&a).unwrap(), expected);
    }

    #[test]
    fn overlong_string_is_an_error() {
        let m = WorkerMetadata::new("x".repeat(40_000), 0);
        assert!(matches!(
            encode_metadata(&m, ConnectProtocol::Eager),
            Err(ProtocolError::TooLong { .. })
        ));
    }

    #[test]
    fn protocol_names_versions_and_preferences() {
        assert_eq!(
            "SESSIONED".parse::<ConnectProtocol>().unwrap(),
            ConnectProtocol::Sessioned
        );
        assert_eq!(
            "eager".parse::<ConnectProtocol>().unwrap(),
            ConnectProtocol::Eager
        );
        assert!("default".parse::<ConnectProtocol>().is_err());
        assert_eq!(
            ConnectProtocol::from_protocol_name("default"),
            Some(ConnectProtocol::Eager)
        );
        assert_eq!(
            ConnectProtocol::from_version(1),
            Some(ConnectProtocol::Compatible)
        );
        assert_eq!(
            ConnectProtocol::Sessioned
                .offered()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>(),
            ["sessioned", "compatible", "default"]
        );
        assert_eq!(
            ConnectProtocol::Compatible
                .offered()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>(),
            ["compatible", "default"]
        );
        assert_eq!(ConnectProtocol::Eager.offered(), &[ConnectProtocol::Eager]);
        assert!(ConnectProtocol::Sessioned.signs_requests());
        assert!(!ConnectProtocol::Compatible.signs_requests());
    }

    #[test]
    fn apply_incremental_removes_revoked_and_adds_new() {
        let current = sample_current();
        let next = Assignment {
            version: 2,
            connectors: vec!["c2".into()],
            tasks: vec![ConnectorTaskId::new("c2", 0)],
            revoked_tasks: vec![ConnectorTaskId::new("c1", 1)],
            config_offset: 50,
            ..Assignment::empty(2, "leader-2", "http://m:8083/", 50)
        };
        let merged = current.apply_incremental(&next);
        assert_eq!(merged.connectors, vec!["c1".to_string(), "c2".to_string()]);
        assert_eq!(
            merged.tasks,
            vec![ConnectorTaskId::new("c1", 0), ConnectorTaskId::new("c2", 0)]
        );
        assert_eq!(merged.leader, "leader-2");
        assert_eq!(merged.config_offset, 50);
    }
}
