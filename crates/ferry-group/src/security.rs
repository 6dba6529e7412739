//! How the group member secures its broker connections, read from the same
//! worker properties as the rest of the worker: `security.protocol`, the
//! `ssl.*` settings (Java client names, and librdkafka's where they differ)
//! and the `sasl.*` settings (`sasl.jaas.config` in Java's form, or
//! librdkafka's `sasl.username` / `sasl.password`).
//!
//! TLS is rustls with trust and client certificates from PEM files or
//! inline PEM; JKS and PKCS#12 stores are refused with an error naming the
//! key. SASL mechanisms are `PLAIN`, `SCRAM-SHA-256` and `SCRAM-SHA-512`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use thiserror::Error;

/// CA bundles of common systems, used when no trust store is configured
/// (Java falls back to the JVM's, librdkafka to the system's).
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Why the security settings cannot be used.
#[derive(Debug, Error)]
pub enum SecurityError {
    #[error("security.protocol={0} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL")]
    UnknownSecurityProtocol(String),

    #[error("sasl.mechanism={0} is not supported by the group member (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)")]
    UnsupportedSaslMechanism(String),

    #[error("{key}={value} is not supported: {expected}")]
    InvalidValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("{type_key}={store_type} is not supported for {location_key} yet; use a PEM file and set {type_key}=PEM")]
    UnsupportedStoreType {
        type_key: &'static str,
        location_key: &'static str,
        store_type: String,
    },

    #[error(
        "{mechanism} needs credentials: set sasl.jaas.config (or sasl.username and sasl.password)"
    )]
    MissingCredentials { mechanism: &'static str },

    #[error("{key} is set but {missing} is not; both are needed")]
    Incomplete {
        key: &'static str,
        missing: &'static str,
    },

    #[error("invalid sasl.jaas.config: {0}")]
    Jaas(String),

    #[error("cannot read {key} ({path}): {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid PEM in {key}: {source}")]
    Pem {
        key: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },

    #[error("{key} holds no {what}")]
    Missing {
        key: &'static str,
        what: &'static str,
    },

    #[error("the private key in {key} is encrypted; Ferry reads unencrypted PEM keys only (PKCS#8, PKCS#1 or SEC1)")]
    EncryptedKey { key: &'static str },

    #[error("no trust store: set ssl.truststore.location (with ssl.truststore.type=PEM) or ssl.ca.location; no system CA bundle found either")]
    NoTrustStore,

    #[error("invalid CA certificate in {key}: {source}")]
    CaCertificate {
        key: &'static str,
        #[source]
        source: rustls::Error,
    },

    #[error("cannot build the TLS client configuration: {0}")]
    Tls(#[source] rustls::Error),

    #[error("cannot build the TLS certificate verifier: {0}")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl FromStr for SecurityProtocol {
    type Err = SecurityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            _ => Err(SecurityError::UnknownSecurityProtocol(s.to_string())),
        }
    }
}

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    /// The name the broker knows the mechanism by.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl FromStr for SaslMechanism {
    type Err = SecurityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            _ => Err(SecurityError::UnsupportedSaslMechanism(s.to_string())),
        }
    }
}

/// A secret that `Debug` does not print.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

/// SASL mechanism and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Secret,
}

/// PEM data, from a file or inline in the properties, with the property it
/// came from for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    File { key: &'static str, path: PathBuf },
    Inline { key: &'static str, pem: Secret },
}

impl PemSource {
    fn key(&self) -> &'static str {
        match self {
            PemSource::File { key, .. } | PemSource::Inline { key, .. } => key,
        }
    }

    fn read(&self) -> Result<Vec<u8>, SecurityError> {
        match self {
            PemSource::Inline { pem, .. } => Ok(pem.expose().as_bytes().to_vec()),
            PemSource::File { key, path } => {
                read_pem_path(path).map_err(|source| SecurityError::Read {
                    key,
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    fn certificates(
        &self,
        what: &'static str,
    ) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
        let pem = self.read()?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| SecurityError::Pem {
                key: self.key(),
                source,
            })?;
        if certs.is_empty() {
            return Err(SecurityError::Missing {
                key: self.key(),
                what,
            });
        }
        Ok(certs)
    }

    fn private_key(&self) -> Result<PrivateKeyDer<'static>, SecurityError> {
        let pem = self.read()?;
        match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(key) => Ok(key),
            Err(rustls::pki_types::pem::Error::NoItemsFound) => {
                if String::from_utf8_lossy(&pem).contains("ENCRYPTED PRIVATE KEY")
                    || String::from_utf8_lossy(&pem).contains("Proc-Type: 4,ENCRYPTED")
                {
                    Err(SecurityError::EncryptedKey { key: self.key() })
                } else {
                    Err(SecurityError::Missing {
                        key: self.key(),
                        what: "private key",
                    })
                }
            }
            Err(source) => Err(SecurityError::Pem {
                key: self.key(),
                source,
            }),
        }
    }
}

/// A file of PEM sections, or (as librdkafka's `ssl.ca.location` allows) a
/// directory whose files are read in name order.
fn read_pem_path(path: &Path) -> std::io::Result<Vec<u8>> {
    if !path.is_dir() {
        return std::fs::read(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        all.extend(std::fs::read(file)?);
        all.push(b'\n');
    }
    Ok(all)
}

/// The client certificate chain and key for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub certificates: PemSource,
    pub key: PemSource,
}

/// TLS settings of `SSL` and `SASL_SSL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificates to trust; `None`: the system's CA bundle.
    pub trust: Option<PemSource>,
    /// Certificate and key for mutual TLS.
    pub identity: Option<ClientIdentity>,
    /// `ssl.endpoint.identification.algorithm=https` (the default): the
    /// broker's certificate must name the host connected to.
    pub verify_hostname: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            trust: None,
            identity: None,
            verify_hostname: true,
        }
    }
}

impl TlsConfig {
    /// Builds the rustls client configuration (reads the PEM files).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, SecurityError> {
        // ring: builds with a C compiler alone (aws-lc-rs needs more of a
        // toolchain). rustls deprecates it for lacking post-quantum key
        // exchange, which Kafka's listeners do not offer either.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &self.trust {
            Some(source) => {
                for cert in source.certificates("CA certificate")? {
                    roots
                        .add(cert)
                        .map_err(|source_err| SecurityError::CaCertificate {
                            key: source.key(),
                            source: source_err,
                        })?;
                }
            }
            None => {
                let bundle = std::env::var_os("SSL_CERT_FILE")
                    .map(PathBuf::from)
                    .into_iter()
                    .chain(SYSTEM_CA_BUNDLES.iter().map(PathBuf::from))
                    .find(|p| p.is_file())
                    .ok_or(SecurityError::NoTrustStore)?;
                let source = PemSource::File {
                    key: "system CA bundle",
                    path: bundle,
                };
                // A system bundle may hold certificates webpki cannot parse;
                // skip those as browsers and librdkafka do.
                let (added, _ignored) =
                    roots.add_parsable_certificates(source.certificates("CA certificate")?);
                if added == 0 {
                    return Err(SecurityError::NoTrustStore);
                }
            }
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(SecurityError::Verifier)?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.verify_hostname {
            webpki
        } else {
            Arc::new(NoHostnameVerifier(webpki))
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(SecurityError::Tls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let chain = identity.certificates.certificates("certificate")?;
                let key = identity.key.private_key()?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(SecurityError::Tls)?
            }
        };
        Ok(Arc::new(config))
    }
}

/// Verifies the chain but not the host name
/// (`ssl.endpoint.identification.algorithm=`, as Kafka's clients allow).
#[derive(Debug)]
struct NoHostnameVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked last, after the chain: a name mismatch alone
        // means everything else passed.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The security settings of the group member's connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    pub protocol: SecurityProtocol,
    /// Set for `SSL` and `SASL_SSL`.
    pub tls: Option<TlsConfig>,
    /// Set for `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: Option<SaslConfig>,
}

impl SecurityConfig {
    /// Reads `security.protocol`, and the `ssl.*` / `sasl.*` settings the
    /// protocol uses, from worker properties. Files are read by
    /// [`SecurityConfig::validate`] and on each connection.
    pub fn from_worker_props(props: &HashMap<String, String>) -> Result<Self, SecurityError> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let protocol = match get("security.protocol") {
            Some(p) => p.parse()?,
            None => SecurityProtocol::Plaintext,
        };
        let tls = if protocol.uses_tls() {
            Some(tls_from_props(props)?)
        } else {
            None
        };
        let sasl = if protocol.uses_sasl() {
            Some(sasl_from_props(props)?)
        } else {
            None
        };
        Ok(SecurityConfig {
            protocol,
            tls,
            sasl,
        })
    }

    /// Reads the certificate files once, so a wrong path or format shows at
    /// startup rather than at the first connection.
    pub fn validate(&self) -> Result<(), SecurityError> {
        if let Some(tls) = &self.tls {
            tls.client_config()?;
        }
        Ok(())
    }
}

fn tls_from_props(props: &HashMap<String, String>) -> Result<TlsConfig, SecurityError> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let is_pem =
        |type_key: &'static str, location_key: &'static str| -> Result<(), SecurityError> {
            // Java's default store type is JKS.
            let store_type = get(type_key).unwrap_or("JKS");
            if store_type.eq_ignore_ascii_case("PEM") {
                Ok(())
            } else {
                Err(SecurityError::UnsupportedStoreType {
                    type_key,
                    location_key,
                    store_type: store_type.to_string(),
                })
            }
        };
    let file = |key: &'static str, path: &str| PemSource::File {
        key,
        path: PathBuf::from(path),
    };
    let inline = |key: &'static str, pem: &str| PemSource::Inline {
        key,
        pem: Secret::new(pem),
    };

    let trust = if let Some(pem) = get("ssl.truststore.certificates") {
        is_pem("ssl.truststore.type", "ssl.truststore.certificates")?;
        Some(inline("ssl.truststore.certificates", pem))
    } else if let Some(path) = get("ssl.truststore.location") {
        is_pem("ssl.truststore.type", "ssl.truststore.location")?;
        Some(file("ssl.truststore.location", path))
    } else if let Some(pem) = get("ssl.ca.pem") {
        Some(inline("ssl.ca.pem", pem))
    } else {
        // librdkafka's "probe" means the system's CA store.
        get("ssl.ca.location")
            .filter(|p| !p.eq_ignore_ascii_case("probe"))
            .map(|p| file("ssl.ca.location", p))
    };

    let pair = |cert: Option<PemSource>,
                key: Option<PemSource>,
                cert_key: &'static str,
                key_key: &'static str|
     -> Result<Option<ClientIdentity>, SecurityError> {
        match (cert, key) {
            (Some(certificates), Some(key)) => Ok(Some(ClientIdentity { certificates, key })),
            (Some(_), None) => Err(SecurityError::Incomplete {
                key: cert_key,
                missing: key_key,
            }),
            (None, Some(_)) => Err(SecurityError::Incomplete {
                key: key_key,
                missing: cert_key,
            }),
            (None, None) => Ok(None),
        }
    };
    let identity = if let Some(path) = get("ssl.keystore.location") {
        is_pem("ssl.keystore.type", "ssl.keystore.location")?;
        // A PEM key store holds the key and the certificate chain.
        Some(ClientIdentity {
            certificates: file("ssl.keystore.location", path),
            key: file("ssl.keystore.location", path),
        })
    } else if get("ssl.keystore.certificate.chain").is_some() || get("ssl.keystore.key").is_some() {
        is_pem("ssl.keystore.type", "ssl.keystore.key")?;
        pair(
            get("ssl.keystore.certificate.chain")
                .map(|p| inline("ssl.keystore.certificate.chain", p)),
            get("ssl.keystore.key").map(|p| inline("ssl.keystore.key", p)),
            "ssl.keystore.certificate.chain",
            "ssl.keystore.key",
        )?
    } else if get("ssl.certificate.pem").is_some() || get("ssl.key.pem").is_some() {
        pair(
            get("ssl.certificate.pem").map(|p| inline("ssl.certificate.pem", p)),
            get("ssl.key.pem").map(|p| inline("ssl.key.pem", p)),
            "ssl.certificate.pem",
            "ssl.key.pem",
        )?
    } else {
        pair(
            get("ssl.certificate.location").map(|p| file("ssl.certificate.location", p)),
            get("ssl.key.location").map(|p| file("ssl.key.location", p)),
            "ssl.certificate.location",
            "ssl.key.location",
        )?
    };

    // Present but empty means "no host name check" in Java's clients.
    let verify_hostname = match props
        .get("ssl.endpoint.identification.algorithm")
        .map(|v| v.trim())
    {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("https") => true,
        Some(v) if v.is_empty() || v.eq_ignore_ascii_case("none") => false,
        Some(v) => {
            return Err(SecurityError::InvalidValue {
                key: "ssl.endpoint.identification.algorithm",
                value: v.to_string(),
                expected: "use https (check the broker's host name) or an empty value (do not)",
            })
        }
    };
    Ok(TlsConfig {
        trust,
        identity,
        verify_hostname,
    })
}

fn sasl_from_props(props: &HashMap<String, String>) -> Result<SaslConfig, SecurityError> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    // Java's and librdkafka's default mechanism is GSSAPI.
    let mechanism: SaslMechanism = get("sasl.mechanism")
        .or(get("sasl.mechanisms"))
        .unwrap_or("GSSAPI")
        .parse()?;
    let (username, password) = if let Some(jaas) = get("sasl.jaas.config") {
        let module = JaasModule::parse(jaas)?;
        let option = |name: &str| {
            module
                .options
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        match (option("username"), option("password")) {
            (Some(u), Some(p)) => (u, p),
            _ => {
                return Err(SecurityError::Jaas(format!(
                    "{} needs username=\"…\" and password=\"…\" options",
                    module.class
                )))
            }
        }
    } else {
        match (get("sasl.username"), props.get("sasl.password")) {
            (Some(u), Some(p)) => (u.to_string(), p.clone()),
            _ => {
                return Err(SecurityError::MissingCredentials {
                    mechanism: mechanism.name(),
                })
            }
        }
    };
    Ok(SaslConfig {
        mechanism,
        username,
        password: Secret::new(password),
    })
}

/// The one login module of a `sasl.jaas.config` value:
/// `<class> <flag> key="value" …;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasModule {
    pub class: String,
    pub flag: String,
    pub options: Vec<(String, String)>,
}

impl JaasModule {
    /// Parses Java's JAAS configuration entry syntax as Kafka's clients
    /// accept it in `sasl.jaas.config`: exactly one login module, option
    /// values quoted (with backslash escapes) or bare.
    pub fn parse(text: &str) -> Result<Self, SecurityError> {
        let err = |m: String| SecurityError::Jaas(m);
        let mut tokens = JaasTokens {
            chars: text.chars().peekable(),
        };
        let class = match tokens.next()? {
            Some(JaasToken::Word(w)) => w,
            _ => return Err(err("expected a login module class name".into())),
        };
        let flag = match tokens.next()? {
            Some(JaasToken::Word(w))
                if ["required", "requisite", "sufficient", "optional"]
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&w)) =>
            {
                w
            }
            other => {
                return Err(err(format!(
                    "expected a control flag (required, requisite, sufficient, optional) after {class}, found {}",
                    describe(&other)
                )))
            }
        };
        let mut options = Vec::new();
        loop {
            match tokens.next()? {
                Some(JaasToken::Semicolon) => break,
                Some(JaasToken::Word(key)) => {
                    if tokens.next()? != Some(JaasToken::Equals) {
                        return Err(err(format!("expected = after option {key}")));
                    }
                    match tokens.next()? {
                        Some(JaasToken::Word(v)) | Some(JaasToken::Quoted(v)) => {
                            options.push((key, v))
                        }
                        other => {
                            return Err(err(format!(
                                "expected a value for option {key}, found {}",
                                describe(&other)
                            )))
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "expected an option or ';', found {}",
                        describe(&other)
                    )))
                }
            }
        }
        if tokens.next()?.is_some() {
            return Err(err(
                "must contain exactly one login module, terminated by ';'".into(),
            ));
        }
        Ok(JaasModule {
            class,
            flag,
            options,
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum JaasToken {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn describe(token: &Option<JaasToken>) -> String {
    match token {
        None => "the end".into(),
        Some(JaasToken::Word(w)) => format!("{w:?}"),
        // Values may be passwords: do not echo them.
        Some(JaasToken::Quoted(_)) => "a quoted value".into(),
        Some(JaasToken::Equals) => "'='".into(),
        Some(JaasToken::Semicolon) => "';'".into(),
    }
}

struct JaasTokens<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl JaasTokens<'_> {
    fn next(&mut self) -> Result<Option<JaasToken>, SecurityError> {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
        let Some(c) = self.chars.next() else {
            return Ok(None);
        };
        match c {
            '=' => Ok(Some(JaasToken::Equals)),
            ';' => Ok(Some(JaasToken::Semicolon)),
            '"' | '\'' => {
                let mut value = String::new();
                loop {
                    match self.chars.next() {
                        None => {
                            return Err(SecurityError::Jaas("unterminated quoted value".into()))
                        }
                        Some(q) if q == c => break,
                        Some('\\') => match self.chars.next() {
                            Some(e) => value.push(e),
                            None => {
                                return Err(SecurityError::Jaas("unterminated quoted value".into()))
                            }
                        },
                        Some(other) => value.push(other),
                    }
                }
                Ok(Some(JaasToken::Quoted(value)))
            }
            _ => {
                let mut word = String::from(c);
                while let Some(&n) = self.chars.peek() {
                    if n.is_whitespace() || matches!(n, '=' | ';' | '"' | '\'') {
                        break;
                    }
                    word.push(n);
                    self.chars.next();
                }
                Ok(Some(JaasToken::Word(word)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plaintext_by_default() {
        let c = SecurityConfig::from_worker_props(&props(&[])).expect("default");
        assert_eq!(c, SecurityConfig::default());
        assert_eq!(c.protocol, SecurityProtocol::Plaintext);
    }

    #[test]
    fn jaas_config_java_form() {
        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p\"w;d";"#,
            ),
        ]))
        .expect("valid");
        let sasl = c.sasl.expect("sasl");
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!(sasl.username, "alice");
        assert_eq!(sasl.password.expose(), "p\"w;d");
        assert!(c.tls.is_none());
        // Passwords never show in Debug output.
        assert!(!format!("{sasl:?}").contains("w;d"));

        let m = JaasModule::parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required\n  username=bob\n  password='x y';",
        )
        .expect("valid");
        assert_eq!(m.flag, "required");
        assert_eq!(
            m.options,
            vec![
                ("username".to_string(), "bob".to_string()),
                ("password".to_string(), "x y".to_string())
            ]
        );
        for bad in [
            "",
            "Module required username=\"a\"",
            "Module maybe username=\"a\";",
            "Module required username \"a\";",
            "Module required username=\"a;",
            "A required; B required;",
        ] {
            assert!(
                matches!(JaasModule::parse(bad), Err(SecurityError::Jaas(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn librdkafka_credentials_and_errors() {
        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]))
        .expect("valid");
        assert_eq!(c.sasl.expect("sasl").username, "u");

        let e = SecurityConfig::from_worker_props(&props(&[("security.protocol", "SASL")]))
            .expect_err("unknown protocol");
        assert!(matches!(e, SecurityError::UnknownSecurityProtocol(_)));
        assert!(e.to_string().contains("security.protocol=SASL"));

        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
        ]))
        .expect_err("GSSAPI by default");
        assert!(e.to_string().contains("sasl.mechanism=GSSAPI"), "{e}");

        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
        ]))
        .expect_err("no credentials");
        assert!(matches!(e, SecurityError::MissingCredentials { .. }));
    }

    #[test]
    fn tls_settings() {
        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", "/ca.pem"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", "/client.pem"),
            ("ssl.endpoint.identification.algorithm", ""),
        ]))
        .expect("valid");
        let tls = c.tls.expect("tls");
        assert!(!tls.verify_hostname);
        assert_eq!(
            tls.trust,
            Some(PemSource::File {
                key: "ssl.truststore.location",
                path: "/ca.pem".into()
            })
        );
        assert!(tls.identity.is_some());

        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/ca.pem"),
            ("ssl.certificate.location", "/c.pem"),
            ("ssl.key.location", "/k.pem"),
        ]))
        .expect("valid");
        let tls = c.tls.expect("tls");
        assert!(tls.verify_hostname);
        assert!(tls.identity.is_some());

        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/ts.jks"),
        ]))
        .expect_err("JKS");
        assert!(
            e.to_string().contains("ssl.truststore.type=JKS") && e.to_string().contains("PEM"),
            "{e}"
        );
        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", "/ks.p12"),
        ]))
        .expect_err("PKCS12");
        assert!(e.to_string().contains("ssl.keystore.type=PKCS12"), "{e}");
        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.certificate.location", "/c.pem"),
        ]))
        .expect_err("no key");
        assert!(matches!(e, SecurityError::Incomplete { .. }));
        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.endpoint.identification.algorithm", "dns"),
        ]))
        .expect_err("unknown algorithm");
        assert!(e
            .to_string()
            .contains("ssl.endpoint.identification.algorithm"));

        // A missing file shows when the settings are validated.
        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/nonexistent/ca.pem"),
        ]))
        .expect("valid");
        let e = c.validate().expect_err("missing file");
        assert!(
            matches!(
                e,
                SecurityError::Read {
                    key: "ssl.ca.location",
                    ..
                }
            ),
            "{e}"
        );
    }
}
