//! Errors of the JDBC connectors, and how they map onto the runtime's
//! `ConnectError` (retriable or not).

use ferry_api::ConnectError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum JdbcError {
    #[error("invalid connection.url '{url}': {reason}")]
    Url { url: String, reason: String },
    #[error("{0}")]
    Config(String),
    /// The database could not be reached or the connection broke; worth
    /// retrying once it is back.
    #[error("connection to the database failed: {0}")]
    Connectivity(#[source] sqlx::Error),
    /// The database refused a statement for reasons of the data or the
    /// schema; retrying the same statement fails the same way.
    #[error("{context}: {source}")]
    Statement {
        context: String,
        #[source]
        source: sqlx::Error,
    },
    /// A record or row that cannot be converted.
    #[error("{0}")]
    Data(String),
    #[error("Table {table} is missing field(s) {columns} and auto-evolution is disabled (auto.evolve=false)")]
    MissingColumns { table: String, columns: String },
    #[error("Table {0} is missing and auto-creation is disabled (auto.create=false)")]
    MissingTable(String),
}

impl JdbcError {
    /// Classifies a driver error: connection problems are retriable, the
    /// rest concern the statement or its data.
    pub fn from_sqlx(context: impl Into<String>, e: sqlx::Error) -> Self {
        if is_connectivity(&e) {
            JdbcError::Connectivity(e)
        } else {
            JdbcError::Statement {
                context: context.into(),
                source: e,
            }
        }
    }

    pub fn is_connectivity(&self) -> bool {
        matches!(self, JdbcError::Connectivity(_))
    }
}

/// Whether `e` means "the database is not reachable right now" rather than
/// "this statement is wrong".
pub fn is_connectivity(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL SQLSTATE classes: 08 connection exception, 57P0x
            // shutdown / cannot connect now, 53 insufficient resources,
            // 40001 / 40P01 serialization failure / deadlock.
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "40001"
                || code == "40P01"
                // MySQL / MariaDB report lock wait timeouts and killed
                // connections under generic SQLSTATEs; the text tells.
                || ((code == "HY000" || code == "70100") && is_mysql_transient(db.message()))
        }
        _ => false,
    }
}

fn is_mysql_transient(message: &str) -> bool {
    let msg = message.to_ascii_lowercase();
    msg.contains("lock wait timeout")
        || msg.contains("server has gone away")
        || msg.contains("lost connection")
        || msg.contains("shutdown")
        || msg.contains("killed")
}

impl From<JdbcError> for ConnectError {
    fn from(e: JdbcError) -> Self {
        // The driver's error stays the cause, so traces end with its words.
        let message = e.to_string();
        match e {
            JdbcError::Connectivity(source) => ConnectError::retriable_caused_by(message, source),
            JdbcError::Statement { source, .. } => ConnectError::caused_by(message, source),
            JdbcError::Url { .. } | JdbcError::Config(_) => ConnectError::Config(message),
            _ => ConnectError::other(message),
        }
    }
}

pub type Result<T, E = JdbcError> = std::result::Result<T, E>;
