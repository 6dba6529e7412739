//! Membership in the Kafka Connect worker group (protocol type `connect`).
//!
//! The one part of Ferry not on rdkafka: no client library offers a member of
//! a group with Connect's own subprotocols, so this crate speaks the classic
//! group protocol (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) with the kafka-protocol crate's message types.
//!
//! * [`protocol`]: byte-exact JoinGroup metadata and SyncGroup assignments of
//!   the `default` (v0), `compatible` (v1) and `sessioned` (v2) subprotocols,
//!   so Ferry and Java workers can share a group.
//! * [`assignor`]: the leader's incremental cooperative (KIP-415) and eager
//!   assignors, as pure state machines.
//! * [`member`]: the async group member the distributed herder drives.
//! * [`security`]: `security.protocol`, `ssl.*` and `sasl.*` worker
//!   properties (read by `ferry-security`); connections use TLS (rustls)
//!   and SASL (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, see [`sasl`]) as
//!   they ask.

pub mod assignor;
mod connection;
pub mod error;
pub mod member;
pub mod protocol;
pub mod sasl;
mod transport;

/// The security settings, as `ferry-security` reads them.
pub use ferry_security as security;

pub use assignor::{
    eager_assignment, AssignmentInput, ConfigSnapshot, ConnectAssignor, ConnectorsAndTasks,
    GroupAssignment, IncrementalCooperativeAssignor,
};
pub use error::{AuthenticationError, GroupError};
pub use member::{
    AssignmentProvider, GroupConfig, GroupMember, GroupSettings, JoinResult, RebalanceReason,
};
pub use protocol::{Assignment, ConnectProtocol, ConnectorTaskId, WorkerMetadata};
pub use security::{
    SaslConfig, SaslMechanism, SecurityConfig, SecurityError, SecurityProtocol, TlsConfig,
};
