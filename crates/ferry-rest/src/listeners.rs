//! Kafka Connect's `listeners` worker property: a comma-separated list of
//! `protocol://host:port` URLs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use thiserror::Error;

/// Why a `listeners` value cannot be served. The texts of the format and
/// protocol errors are Kafka Connect's.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ListenerError {
    #[error("Invalid value for listeners, at least one URL is expected, ex: http://localhost:8080,https://localhost:8443.")]
    Empty,
    #[error("Empty URL found when parsing listeners list.")]
    EmptyUrl,
    #[error("Listener doesn't have the right format (protocol://hostname:port): {0}")]
    Format(String),
    #[error("Listener protocol must be either \"http\" or \"https\": {0}")]
    Protocol(String),
    #[error("Invalid port in listener {listener}: {port}")]
    Port { listener: String, port: String },
    #[error("Cannot resolve the host of listener {listener}: {reason}")]
    Resolve { listener: String, reason: String },
}

/// One `listeners` URL: where to bind, and whether it speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub addr: SocketAddr,
    pub https: bool,
}

/// Parses a `listeners` value into the addresses to bind.
///
/// An empty host binds every interface. Kafka Connect's Jetty binds the
/// IPv6 wildcard, which also takes IPv4 on dual-stack hosts; `0.0.0.0` is
/// used here because it works on hosts without IPv6 too. A host name
/// resolves to its first address, as Java's `InetSocketAddress` does.
pub fn parse_listeners(value: &str) -> Result<Vec<SocketAddr>, ListenerError> {
    Ok(parse_listener_urls(value)?
        .into_iter()
        .map(|l| l.addr)
        .collect())
}

/// Parses a `listeners` value into its listeners.
pub fn parse_listener_urls(value: &str) -> Result<Vec<Listener>, ListenerError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ListenerError::Empty);
    }
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            let https = item.to_ascii_lowercase().starts_with("https://");
            parse_listener(item).map(|addr| Listener { addr, https })
        })
        .collect()
}

fn parse_listener(listener: &str) -> Result<SocketAddr, ListenerError> {
    if listener.is_empty() {
        return Err(ListenerError::EmptyUrl);
    }
    let (protocol, host, port) = split_listener(listener)?;
    match protocol.to_ascii_lowercase().as_str() {
        "http" | "https" => {}
        _ => return Err(ListenerError::Protocol(listener.to_owned())),
    }
    let port: u16 = port.parse().map_err(|_| ListenerError::Port {
        listener: listener.to_owned(),
        port: port.to_owned(),
    })?;
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolve_error = |reason: String| ListenerError::Resolve {
        listener: listener.to_owned(),
        reason,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(|e| resolve_error(e.to_string()))?
        .next()
        .ok_or_else(|| resolve_error("no address found".to_owned()))
}

/// Splits like Kafka Connect's `^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)`
/// (the protocol is greedy, the port is the last colon's digits).
fn split_listener(listener: &str) -> Result<(&str, &str, &str), ListenerError> {
    let format_error = || ListenerError::Format(listener.to_owned());
    let (protocol, rest) = listener.rsplit_once("://").ok_or_else(format_error)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(format_error)?;
    let port_digits = port.strip_prefix('-').unwrap_or(port);
    if port_digits.is_empty() || !port_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format_error());
    }
    let host = host.strip_prefix('[').unwrap_or(host);
    let host = host.strip_suffix(']').unwrap_or(host);
    let host_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'%' | b'.' | b'_' | b':'));
    if !host_ok {
        return Err(format_error());
    }
    Ok((protocol, host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn default_listener_binds_every_interface() {
        assert_eq!(
            parse_listeners("http://:8083"),
            Ok(vec![addr("0.0.0.0:8083")])
        );
    }

    #[test]
    fn explicit_hosts_and_ephemeral_port() {
        assert_eq!(
            parse_listeners("http://127.0.0.1:8083"),
            Ok(vec![addr("127.0.0.1:8083")])
        );
        assert_eq!(
            parse_listeners("http://0.0.0.0:0"),
            Ok(vec![addr("0.0.0.0:0")])
        );
        assert_eq!(
            parse_listeners("HTTP://[::1]:9000"),
            Ok(vec![addr("[::1]:9000")])
        );
        assert_eq!(
            parse_listeners("http://[::]:9000"),
            Ok(vec![addr("[::]:9000")])
        );
    }

    #[test]
    fn host_names_resolve() {
        let addrs = parse_listeners("http://localhost:8083").expect("localhost resolves");
        assert_eq!(addrs.len(), 1);
        assert!(addrs[0].ip().is_loopback());
        assert_eq!(addrs[0].port(), 8083);
    }

    #[test]
    fn comma_lists() {
        assert_eq!(
            parse_listeners("http://127.0.0.1:8083, http://:8084"),
            Ok(vec![addr("127.0.0.1:8083"), addr("0.0.0.0:8084")])
        );
        assert_eq!(
            parse_listeners("http://:1,,http://:2"),
            Err(ListenerError::EmptyUrl)
        );
        assert_eq!(parse_listeners("http://:1,"), Err(ListenerError::EmptyUrl));
        assert_eq!(parse_listeners("  "), Err(ListenerError::Empty));
    }

    #[test]
    fn https_listeners_are_told_apart() {
        let listeners = parse_listener_urls("http://:8083,HTTPS://127.0.0.1:8443").expect("valid");
        assert_eq!(
            listeners,
            vec![
                Listener {
                    addr: addr("0.0.0.0:8083"),
                    https: false
                },
                Listener {
                    addr: addr("127.0.0.1:8443"),
                    https: true
                },
            ]
        );
    }

    #[test]
    fn malformed_listeners() {
        assert!(matches!(
            parse_listeners("localhost:8083"),
            Err(ListenerError::Format(_))
        ));
        assert!(matches!(
            parse_listeners("http://host"),
            Err(ListenerError::Format(_))
        ));
        assert!(matches!(
            parse_listeners("http://host:80/path"),
            Err(ListenerError::Format(_))
        ));
        assert!(matches!(
            parse_listeners("http://ho st:80"),
            Err(ListenerError::Format(_))
        ));
        assert!(matches!(
            parse_listeners("ftp://:21"),
            Err(ListenerError::Protocol(_))
        ));
        assert!(matches!(
            parse_listeners("http://:-1"),
            Err(ListenerError::Port { .. })
        ));
        assert!(matches!(
            parse_listeners("http://:65536"),
            Err(ListenerError::Port { .. })
        ));
        assert_eq!(
            ListenerError::Format("x".into()).to_string(),
            "Listener doesn't have the right format (protocol://hostname:port): x"
        );
    }
}
