//! `connection.url` parsing: the `jdbc:` forms users paste from Confluent
//! configs (`jdbc:postgresql://host:5432/db?user=u`, `jdbc:mysql://…`,
//! `jdbc:mariadb://…`, `jdbc:sqlite:path`) and the native URL forms
//! (`postgresql://`, `mysql://`, `sqlite:`), with `connection.user` /
//! `connection.password` taking precedence over credentials in the URL.

use crate::dialect::Dialect;
use crate::error::{JdbcError, Result};

/// Where and how to connect, independent of the URL spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionSpec {
    Server {
        dialect: Dialect,
        host: String,
        port: u16,
        database: Option<String>,
        user: Option<String>,
        password: Option<String>,
        /// Remaining query parameters (e.g. `sslmode`), passed through.
        params: Vec<(String, String)>,
    },
    Sqlite {
        /// A file path, or `:memory:`.
        path: String,
    },
}

impl ConnectionSpec {
    pub fn dialect(&self) -> Dialect {
        match self {
            ConnectionSpec::Server { dialect, .. } => *dialect,
            ConnectionSpec::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// The database (catalog) name, used in fully qualified table names.
    pub fn database(&self) -> Option<&str> {
        match self {
            ConnectionSpec::Server { database, .. } => database.as_deref(),
            ConnectionSpec::Sqlite { .. } => None,
        }
    }
}

fn bad(url: &str, reason: impl Into<String>) -> JdbcError {
    JdbcError::Url {
        url: redact(url),
        reason: reason.into(),
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(i) = out.find("password=") {
        let end = out[i..].find('&').map_or(out.len(), |e| i + e);
        out.replace_range(i + "password=".len()..end, "****");
    }
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        if let Some(at) = out[rest_start..].find('@') {
            let auth = &out[rest_start..rest_start + at];
            if let Some(colon) = auth.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "****");
            }
        }
    }
    out
}

/// Parses `url`; `user` / `password` (from `connection.user` /
/// `connection.password`) override what the URL carries.
pub fn parse(url: &str, user: Option<&str>, password: Option<&str>) -> Result<ConnectionSpec> {
    let trimmed = url.trim();
    let rest = trimmed.strip_prefix("jdbc:").unwrap_or(trimmed);
    let (scheme, body) = rest.split_once(':').ok_or_else(|| {
        bad(
            url,
            "expected a scheme such as postgresql:, mysql: or sqlite:",
        )
    })?;
    let dialect = match scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => Dialect::Postgres,
        "mysql" | "mariadb" => Dialect::MySql,
        "sqlite" => return parse_sqlite(url, body),
        other => {
            return Err(bad(
                url,
                format!(
                "unsupported database '{other}' (supported: postgresql, mysql, mariadb, sqlite)"
            ),
            ))
        }
    };
    let default_port = match dialect {
        Dialect::Postgres => 5432,
        _ => 3306,
    };
    // `jdbc:postgresql:db` (no authority) means localhost.
    let body = match body.strip_prefix("//") {
        Some(b) => b,
        None => return server_without_authority(url, dialect, default_port, body, user, password),
    };
    let (before_query, query) = match body.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (body, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (mut url_user, mut url_password) = (None, None);
    if let Some(info) = userinfo {
        let (u, p) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        url_user = Some(percent_decode(u));
        url_password = p.map(percent_decode);
    }
    // Several hosts (failover lists) are not supported: take the first.
    let first_host = hostport.split(',').next().unwrap_or_default();
    let (host, port) = split_host_port(url, first_host, default_port)?;
    let database = path.filter(|p| !p.is_empty()).map(percent_decode);
    let mut params = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match k.as_str() {
            "user" => url_user = Some(v),
            "password" => url_password = Some(v),
            _ => params.push((k, v)),
        }
    }
    Ok(ConnectionSpec::Server {
        dialect,
        host: if host.is_empty() {
            "localhost".into()
        } else {
            host
        },
        port,
        database,
        user: user.map(str::to_owned).or(url_user),
        password: password.map(str::to_owned).or(url_password),
        params,
    })
}

fn server_without_authority(
    url: &str,
    dialect: Dialect,
    port: u16,
    body: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<ConnectionSpec> {
    let db = body.split('?').next().unwrap_or_default();
    if db.is_empty() {
        return Err(bad(url, "missing host or database"));
    }
    Ok(ConnectionSpec::Server {
        dialect,
        host: "localhost".into(),
        port,
        database: Some(percent_decode(db)),
        user: user.map(str::to_owned),
        password: password.map(str::to_owned),
        params: Vec::new(),
    })
}

fn split_host_port(url: &str, hostport: &str, default_port: u16) -> Result<(String, u16)> {
    // [::1]:5432
    if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| bad(url, "unterminated IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p
                .parse()
                .map_err(|_| bad(url, format!("invalid port '{p}'")))?,
            None => default_port,
        };
        return Ok((h.to_owned(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => {
            let port = p
                .parse()
                .map_err(|_| bad(url, format!("invalid port '{p}'")))?;
            Ok((h.to_owned(), port))
        }
        None => Ok((hostport.to_owned(), default_port)),
    }
}

fn parse_sqlite(url: &str, body: &str) -> Result<ConnectionSpec> {
    // sqlite:path, sqlite://path, sqlite:///abs/path, sqlite::memory:
    let body = body.split('?').next().unwrap_or_default();
    let path = body.strip_prefix("//").unwrap_or(body);
    if path.is_empty() {
        return Err(bad(url, "missing database file path"));
    }
    Ok(ConnectionSpec::Sqlite {
        path: percent_decode(path),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(
        spec: ConnectionSpec,
    ) -> (
        Dialect,
        String,
        u16,
        Option<String>,
        Option<String>,
        Option<String>,
    ) {
        match spec {
            ConnectionSpec::Server {
                dialect,
                host,
                port,
                database,
                user,
                password,
                ..
            } => (dialect, host, port, database, user, password),
            other => panic!("not a server: {other:?}"),
        }
    }

    #[test]
    fn jdbc_postgres_with_query_credentials() {
        let s = parse(
            "jdbc:postgresql://db.local:55432/shop?user=app&password=s%40cret&sslmode=disable",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            server(s.clone()),
            (
                Dialect::Postgres,
                "db.local".into(),
                55432,
                Some("shop".into()),
                Some("app".into()),
                Some("s@cret".into())
            )
        );
        match s {
            ConnectionSpec::Server { params, .. } => {
                assert_eq!(params, vec![("sslmode".into(), "disable".into())])
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn connection_user_overrides_url() {
        let s = parse("postgres://u:p@127.0.0.1/db", Some("other"), Some("pw")).unwrap();
        let (_, host, port, db, user, pass) = server(s);
        assert_eq!(
            (host.as_str(), port, db.as_deref()),
            ("127.0.0.1", 5432, Some("db"))
        );
        assert_eq!(
            (user.as_deref(), pass.as_deref()),
            (Some("other"), Some("pw"))
        );
    }

    #[test]
    fn mysql_and_mariadb_forms() {
        for url in [
            "jdbc:mysql://h:53306/d",
            "jdbc:mariadb://h:53306/d",
            "mysql://h:53306/d",
            "mariadb://h:53306/d",
        ] {
            let (d, h, p, db, _, _) = server(parse(url, None, None).unwrap());
            assert_eq!(
                (d, h.as_str(), p, db.as_deref()),
                (Dialect::MySql, "h", 53306, Some("d")),
                "{url}"
            );
        }
        let (_, _, p, _, _, _) = server(parse("jdbc:mysql://h/d", None, None).unwrap());
        assert_eq!(p, 3306);
    }

    #[test]
    fn sqlite_forms() {
        for (url, path) in [
            ("jdbc:sqlite:/tmp/a.db", "/tmp/a.db"),
            ("sqlite:rel.db", "rel.db"),
            ("sqlite:///tmp/b.db", "/tmp/b.db"),
            ("sqlite::memory:", ":memory:"),
        ] {
            assert_eq!(
                parse(url, None, None).unwrap(),
                ConnectionSpec::Sqlite { path: path.into() },
                "{url}"
            );
        }
    }

    #[test]
    fn rejects_unknown_and_redacts_passwords() {
        let e = parse("jdbc:oracle:thin:@h:1521:x", None, None).unwrap_err();
        assert!(
            e.to_string().contains("unsupported database 'oracle'"),
            "{e}"
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:****@h/db");
        assert_eq!(
            redact("jdbc:postgresql://h/db?user=u&password=x&a=b"),
            "jdbc:postgresql://h/db?user=u&password=****&a=b"
        );
        assert!(parse("jdbc:postgresql://h:notaport/db", None, None).is_err());
    }

    #[test]
    fn ipv6_and_no_authority() {
        let (_, h, p, _, _, _) =
            server(parse("jdbc:postgresql://[::1]:6000/db", None, None).unwrap());
        assert_eq!((h.as_str(), p), ("::1", 6000));
        let (_, h, _, db, _, _) = server(parse("jdbc:postgresql:mydb", None, None).unwrap());
        assert_eq!((h.as_str(), db.as_deref()), ("localhost", Some("mydb")));
    }
}
