//! Errors of the worker group membership.

use std::time::Duration;

pub use kafka_protocol::error::ResponseError;
use thiserror::Error;

use crate::protocol::ProtocolError;
use crate::sasl::ScramError;
use crate::security::SecurityError;

/// Why a group operation failed.
#[derive(Debug, Error)]
pub enum GroupError {
    /// The worker properties do not describe a usable group member.
    #[error("invalid group configuration: {0}")]
    Config(String),

    /// A TCP connection to a broker failed.
    #[error("I/O error talking to broker {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// The security settings (`security.protocol`, `ssl.*`, `sasl.*`) are
    /// unusable.
    #[error("invalid security settings for the group member: {0}")]
    Security(#[from] SecurityError),

    /// The TLS handshake with a broker failed (certificate not trusted, host
    /// name mismatch, broker not speaking TLS, ...).
    #[error("TLS handshake with broker {addr} failed: {source}")]
    Tls {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// SASL authentication with a broker failed.
    #[error("SASL {mechanism} authentication with broker {addr} failed: {source}")]
    Authentication {
        addr: String,
        mechanism: &'static str,
        #[source]
        source: AuthenticationError,
    },

    /// A broker did not answer in time.
    #[error("broker {addr} did not answer {what} within {timeout:?}")]
    Timeout {
        addr: String,
        what: &'static str,
        timeout: Duration,
    },

    /// A request could not be encoded or a response not decoded.
    #[error("could not {action} {api} v{version} ({addr}): {message}")]
    Codec {
        addr: String,
        action: &'static str,
        api: &'static str,
        version: i16,
        message: String,
    },

    /// The broker supports no version of an API that Ferry can speak.
    #[error("broker {addr} supports {api} only in versions {broker_min}..={broker_max}; Ferry speaks {ours_min}..={ours_max}")]
    UnsupportedVersion {
        addr: String,
        api: &'static str,
        broker_min: i16,
        broker_max: i16,
        ours_min: i16,
        ours_max: i16,
    },

    /// None of `bootstrap.servers` could be reached.
    #[error("no bootstrap server reachable ({servers}): {last}")]
    NoBrokerAvailable { servers: String, last: String },

    /// The broker answered with an error code.
    #[error("{api} for group {group} failed: {error}")]
    Broker {
        api: &'static str,
        group: String,
        error: ResponseError,
    },

    /// The coordinator chose a protocol that is not one of Connect's.
    #[error("the coordinator chose protocol {0:?}, which is not a Connect subprotocol")]
    UnknownProtocol(String),

    /// Metadata or an assignment could not be encoded or decoded.
    #[error("invalid Connect group data: {0}")]
    Protocol(#[from] ProtocolError),

    /// The leader's assignment callback failed.
    #[error("leader could not compute assignments: {0}")]
    Assignment(String),

    /// Joining did not succeed before the join deadline.
    #[error("could not join group {group} within {timeout:?}; last error: {last}")]
    JoinTimeout {
        group: String,
        timeout: Duration,
        last: String,
    },
}

/// Why SASL authentication failed.
#[derive(Debug, Error)]
pub enum AuthenticationError {
    /// The broker does not enable the configured `sasl.mechanism`.
    #[error("the broker does not enable this mechanism (it enables: {enabled})")]
    MechanismNotEnabled { enabled: String },

    /// The broker refused the credentials (or the exchange).
    #[error("{error}: {message}")]
    Rejected {
        error: ResponseError,
        message: String,
    },

    /// The SCRAM exchange failed on this side (e.g. the broker could not
    /// prove it knows the password).
    #[error(transparent)]
    Scram(#[from] ScramError),
}

impl GroupError {
    /// True for errors that a later attempt may not hit again (network,
    /// coordinator moves, rebalances, timeouts); false for configuration,
    /// authorization and protocol errors that need a human.
    pub fn is_retriable(&self) -> bool {
        match self {
            GroupError::Io { .. }
            | GroupError::Timeout { .. }
            | GroupError::NoBrokerAvailable { .. }
            | GroupError::JoinTimeout { .. } => true,
            // A reset or a closed connection may pass; a certificate the
            // client does not trust (rustls reports InvalidData) will not.
            GroupError::Tls { source, .. } => source.kind() != std::io::ErrorKind::InvalidData,
            GroupError::Broker { error, .. } => {
                error.is_retriable()
                    || matches!(
                        error,
                        ResponseError::RebalanceInProgress
                            | ResponseError::UnknownMemberId
                            | ResponseError::IllegalGeneration
                            | ResponseError::MemberIdRequired
                    )
            }
            _ => false,
        }
    }
}
