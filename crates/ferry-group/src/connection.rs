//! One connection to a broker speaking the Kafka request/response protocol
//! with kafka-protocol's message types, over plain TCP or TLS, authenticated
//! with SASL when `security.protocol` asks for it.
//!
//! Frames are a 4-byte big-endian size followed by a request header and body
//! (responses: response header and body). Requests are sent one at a time and
//! matched to their response by correlation id; the group protocol never
//! needs pipelining. ApiVersions is exchanged first so every request uses the
//! highest version both sides know; then, for `SASL_PLAINTEXT` and
//! `SASL_SSL`, SaslHandshake names the mechanism and SaslAuthenticate
//! requests carry its tokens (KIP-152), as Kafka's Java clients do.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{AuthenticationError, GroupError, ResponseError};
use crate::sasl::{plain_token, ScramClient, ScramHash};
use crate::security::{SaslConfig, SaslMechanism, SecurityConfig};
use crate::transport::Transport;

/// Responses larger than this are refused instead of allocated: group
/// responses are small, so a huge size means a broken or foreign peer.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The version of the client software reported in ApiVersions.
const CLIENT_SOFTWARE_NAME: &str = "ferry";

pub(crate) struct BrokerConnection {
    addr: String,
    stream: Transport,
    client_id: StrBytes,
    next_correlation_id: i32,
    /// Broker-supported (min, max) version per API key.
    versions: HashMap<i16, (i16, i16)>,
    /// Set while a request is outstanding. If a caller is cancelled mid-way
    /// the stream may still hold a late response, so the connection must not
    /// be reused.
    in_flight: bool,
}

impl std::fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl BrokerConnection {
    /// Connects (with TLS for `SSL` and `SASL_SSL`), negotiates API
    /// versions and authenticates (for `SASL_*`).
    pub(crate) async fn connect(
        addr: &str,
        client_id: &str,
        security: &SecurityConfig,
        timeout: Duration,
    ) -> Result<Self, GroupError> {
        // Read the certificates before connecting: a bad file is a
        // configuration error, not a broker failure.
        let tls = security
            .tls
            .as_ref()
            .map(|t| t.client_config())
            .transpose()?;
        let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(GroupError::Io {
                    addr: addr.to_string(),
                    source,
                })
            }
            Err(_) => {
                return Err(GroupError::Timeout {
                    addr: addr.to_string(),
                    what: "connect",
                    timeout,
                })
            }
        };
        // Small request/response exchanges: do not wait for Nagle.
        tcp.set_nodelay(true).map_err(|source| GroupError::Io {
            addr: addr.to_string(),
            source,
        })?;
        let stream = match tls {
            None => Transport::Plain(tcp),
            Some(config) => {
                let host = host_of(addr);
                match tokio::time::timeout(timeout, Transport::tls(tcp, host, config)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(source)) => {
                        return Err(GroupError::Tls {
                            addr: addr.to_string(),
                            source,
                        })
                    }
                    Err(_) => {
                        return Err(GroupError::Timeout {
                            addr: addr.to_string(),
                            what: "TLS handshake",
                            timeout,
                        })
                    }
                }
            }
        };
        let mut conn = BrokerConnection {
            addr: addr.to_string(),
            stream,
            client_id: StrBytes::from_string(client_id.to_string()),
            next_correlation_id: 0,
            versions: HashMap::new(),
            in_flight: false,
        };
        conn.negotiate_versions(timeout).await?;
        if let Some(sasl) = &security.sasl {
            conn.authenticate(sasl, timeout).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1 (so the tokens travel in SaslAuthenticate requests),
    /// then the mechanism's exchange.
    async fn authenticate(
        &mut self,
        sasl: &SaslConfig,
        timeout: Duration,
    ) -> Result<(), GroupError> {
        let mechanism = sasl.mechanism.name();
        let auth_err = |addr: &str, source: AuthenticationError| GroupError::Authentication {
            addr: addr.to_string(),
            mechanism,
            source,
        };
        let version = self.version_for(ApiKey::SaslHandshake, "SaslHandshake")?;
        if version < 1 {
            return Err(GroupError::UnsupportedVersion {
                addr: self.addr.clone(),
                api: "SaslHandshake",
                broker_min: 0,
                broker_max: version,
                ours_min: 1,
                ours_max: ApiKey::SaslHandshake.valid_versions().max,
            });
        }
        let mut handshake = SaslHandshakeRequest::default();
        handshake.mechanism = StrBytes::from_static_str(mechanism);
        let response: SaslHandshakeResponse = self
            .send(ApiKey::SaslHandshake, version, &handshake, timeout)
            .await?;
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            let enabled = response
                .mechanisms
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let source = if error == ResponseError::UnsupportedSaslMechanism {
                AuthenticationError::MechanismNotEnabled { enabled }
            } else {
                AuthenticationError::Rejected {
                    error,
                    message: format!("SaslHandshake failed (broker enables: {enabled})"),
                }
            };
            return Err(auth_err(&self.addr, source));
        }

        let username = sasl.username.as_str();
        let password = sasl.password.expose();
        match sasl.mechanism {
            SaslMechanism::Plain => {
                self.sasl_exchange(mechanism, plain_token(username, password), timeout)
                    .await?;
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let hash = if sasl.mechanism == SaslMechanism::ScramSha256 {
                    ScramHash::Sha256
                } else {
                    ScramHash::Sha512
                };
                let mut scram = ScramClient::new(hash, username, password)
                    .map_err(|e| auth_err(&self.addr, e.into()))?;
                let server_first = self
                    .sasl_exchange(mechanism, scram.client_first().into_bytes(), timeout)
                    .await?;
                let client_final = scram
                    .client_final(&String::from_utf8_lossy(&server_first))
                    .map_err(|e| auth_err(&self.addr, e.into()))?;
                let server_final = self
                    .sasl_exchange(mechanism, client_final.into_bytes(), timeout)
                    .await?;
                scram
                    .verify_server_final(&String::from_utf8_lossy(&server_final))
                    .map_err(|e| auth_err(&self.addr, e.into()))?;
            }
        }
        tracing::debug!(broker = %self.addr, mechanism, user = %username, "SASL authenticated");
        Ok(())
    }

    /// Sends one SASL token, returns the broker's.
    async fn sasl_exchange(
        &mut self,
        mechanism: &'static str,
        token: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, GroupError> {
        let version = self.version_for(ApiKey::SaslAuthenticate, "SaslAuthenticate")?;
        let mut request = SaslAuthenticateRequest::default();
        request.auth_bytes = Bytes::from(token);
        let response: SaslAuthenticateResponse = self
            .send(ApiKey::SaslAuthenticate, version, &request, timeout)
            .await?;
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            // The broker closes the connection after a failed authentication.
            self.in_flight = true;
            return Err(GroupError::Authentication {
                addr: self.addr.clone(),
                mechanism,
                source: AuthenticationError::Rejected {
                    error,
                    message: response
                        .error_message
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                },
            });
        }
        Ok(response.auth_bytes)
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// False once a request was abandoned half-way; drop the connection then.
    pub(crate) fn is_usable(&self) -> bool {
        !self.in_flight
    }

    async fn negotiate_versions(&mut self, timeout: Duration) -> Result<(), GroupError> {
        let mut version = ApiKey::ApiVersions.valid_versions().max;
        let mut request = ApiVersionsRequest::default();
        request.client_software_name = StrBytes::from_static_str(CLIENT_SOFTWARE_NAME);
        request.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        // A broker that does not know our ApiVersions version answers with
        // UNSUPPORTED_VERSION in the v0 layout and lists what it supports;
        // retry once with the best version it offers.
        for _ in 0..2 {
            let response: ApiVersionsResponse = self
                .send(ApiKey::ApiVersions, version, &request, timeout)
                .await?;
            if response.error_code == ResponseError::UnsupportedVersion.code() {
                let broker_max = response
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map(|k| k.max_version)
                    .unwrap_or(0);
                if broker_max >= version {
                    break;
                }
                version = broker_max.max(0);
                continue;
            }
            if let Some(error) = ResponseError::try_from_code(response.error_code) {
                return Err(GroupError::Broker {
                    api: "ApiVersions",
                    group: String::new(),
                    error,
                });
            }
            self.versions = response
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            return Ok(());
        }
        Err(GroupError::UnsupportedVersion {
            addr: self.addr.clone(),
            api: "ApiVersions",
            broker_min: 0,
            broker_max: version,
            ours_min: ApiKey::ApiVersions.valid_versions().min,
            ours_max: ApiKey::ApiVersions.valid_versions().max,
        })
    }

    /// The highest version of `api` both sides support.
    pub(crate) fn version_for(&self, api: ApiKey, name: &'static str) -> Result<i16, GroupError> {
        let ours = api.valid_versions();
        let (broker_min, broker_max) = self.versions.get(&(api as i16)).copied().unwrap_or((0, -1));
        let version = ours.max.min(broker_max);
        if version < ours.min.max(broker_min) {
            return Err(GroupError::UnsupportedVersion {
                addr: self.addr.clone(),
                api: name,
                broker_min,
                broker_max,
                ours_min: ours.min,
                ours_max: ours.max,
            });
        }
        Ok(version)
    }

    /// Sends one request and waits for its response.
    pub(crate) async fn send<Req, Resp>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, GroupError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let api_name = api_name(api);
        let codec_err = |action: &'static str, message: String, addr: &str| GroupError::Codec {
            addr: addr.to_string(),
            action,
            api: api_name,
            version,
            message,
        };
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);

        let mut header = RequestHeader::default();
        header.request_api_key = api as i16;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(self.client_id.clone());

        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0); // size, filled in below
        header
            .encode(&mut frame, Req::header_version(version))
            .map_err(|e| codec_err("encode", e.to_string(), &self.addr))?;
        request
            .encode(&mut frame, version)
            .map_err(|e| codec_err("encode", e.to_string(), &self.addr))?;
        let size = i32::try_from(frame.len() - 4)
            .map_err(|_| codec_err("encode", "request too large".into(), &self.addr))?;
        frame[..4].copy_from_slice(&size.to_be_bytes());

        self.in_flight = true;
        let addr = self.addr.clone();
        let exchange = async {
            self.stream.write_all(&frame).await?;
            // TLS holds written data until flushed.
            self.stream.flush().await?;
            let size = self.stream.read_i32().await?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_RESPONSE_BYTES)
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("invalid response size {size}"),
                    )
                })?;
            let mut body = vec![0u8; size];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(Bytes::from(body))
        };
        let mut body = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(body)) => body,
            Ok(Err(source)) => return Err(GroupError::Io { addr, source }),
            Err(_) => {
                return Err(GroupError::Timeout {
                    addr,
                    what: api_name,
                    timeout,
                })
            }
        };
        self.in_flight = false;

        let response_header = ResponseHeader::decode(&mut body, Resp::header_version(version))
            .map_err(|e| codec_err("decode", e.to_string(), &self.addr))?;
        if response_header.correlation_id != correlation_id {
            // Requests are strictly sequential, so this is a broken stream.
            self.in_flight = true;
            return Err(codec_err(
                "decode",
                format!(
                    "correlation id {} does not match request {}",
                    response_header.correlation_id, correlation_id
                ),
                &self.addr,
            ));
        }
        Resp::decode(&mut body, version).map_err(|e| codec_err("decode", e.to_string(), &self.addr))
    }
}

fn api_name(api: ApiKey) -> &'static str {
    match api {
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::JoinGroup => "JoinGroup",
        ApiKey::SyncGroup => "SyncGroup",
        ApiKey::Heartbeat => "Heartbeat",
        ApiKey::LeaveGroup => "LeaveGroup",
        ApiKey::SaslHandshake => "SaslHandshake",
        ApiKey::SaslAuthenticate => "SaslAuthenticate",
        _ => "request",
    }
}

/// The host part of `host:port` or `[v6]:port`, for TLS server names.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_of_addresses() {
        assert_eq!(host_of("broker-1.example.com:9093"), "broker-1.example.com");
        assert_eq!(host_of("127.0.0.1:9095"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9095"), "::1");
    }
}
