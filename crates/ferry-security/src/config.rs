//! The security settings of a Kafka client, read from Kafka Connect's
//! properties: `security.protocol`, the `ssl.*` settings (Java client names,
//! and librdkafka's where they differ) and the `sasl.*` settings
//! (`sasl.jaas.config` in Java's form, or librdkafka's `sasl.username` /
//! `sasl.password`).
//!
//! Trust and client certificates come from JKS or PKCS#12 stores (told
//! apart by their content, as Java 9 and later do whatever the type says),
//! PEM files or inline PEM. The group member builds a rustls configuration
//! from them; librdkafka gets them as PEM ([`crate::librdkafka`]).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use thiserror::Error;

use crate::jaas::JaasModule;
use crate::jks::{self, JksError};

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

    #[error("sasl.mechanism={0} is not supported (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)")]
    UnsupportedSaslMechanism(String),

    #[error("{key}={value} is not supported: {expected}")]
    InvalidValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("{type_key}={store_type} is not supported for {location_key}: use JKS, PKCS12 or PEM")]
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

    #[error("cannot read the key store {key} ({path}): {source}")]
    Store {
        key: &'static str,
        path: PathBuf,
        #[source]
        source: StoreError,
    },

    #[error("{key} ({path}) holds no private key entry")]
    NoKeyEntry { key: &'static str, path: PathBuf },

    #[error("{key} ({path}) holds {count} private key entries; Kafka's clients need exactly one")]
    SeveralKeyEntries {
        key: &'static str,
        path: PathBuf,
        count: usize,
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

    #[error("the private key in {key} is encrypted; Ferry reads unencrypted PEM keys only (PKCS#8, PKCS#1 or SEC1): use a JKS or PKCS12 key store for an encrypted key")]
    EncryptedKey { key: &'static str },

    #[error("no trust store: set ssl.truststore.location or ssl.ca.location; no system CA bundle found either")]
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

/// Why a JKS or PKCS#12 store cannot be read.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Jks(#[from] JksError),
    /// The PKCS#12 library's own error; a wrong password shows as a failed
    /// MAC check.
    #[error("not a readable PKCS12 store, or a wrong password ({0})")]
    Pkcs12(#[from] p12_keystore::error::Error),
    #[error("neither a JKS nor a PKCS12 store")]
    UnknownFormat,
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
    /// The name Java's and librdkafka's `security.protocol` take.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

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
    pub fn key(&self) -> &'static str {
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

/// A JKS or PKCS#12 file, as `ssl.truststore.location` or
/// `ssl.keystore.location` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFile {
    pub key: &'static str,
    pub path: PathBuf,
    /// `None`: no integrity check (Java allows it for trust stores).
    pub password: Option<Secret>,
}

enum OpenedStore {
    Jks(jks::JksStore),
    Pkcs12(Vec<u8>),
}

impl StoreFile {
    fn error(&self, source: impl Into<StoreError>) -> SecurityError {
        SecurityError::Store {
            key: self.key,
            path: self.path.clone(),
            source: source.into(),
        }
    }

    fn password(&self) -> &str {
        self.password.as_ref().map_or("", Secret::expose)
    }

    fn open(&self) -> Result<OpenedStore, SecurityError> {
        let data = std::fs::read(&self.path).map_err(|source| SecurityError::Read {
            key: self.key,
            path: self.path.clone(),
            source,
        })?;
        if jks::looks_like_jks(&data) {
            let password = self.password.as_ref().map(Secret::expose);
            jks::parse(&data, password)
                .map(OpenedStore::Jks)
                .map_err(|e| self.error(e))
        } else if data.first() == Some(&0x30) {
            Ok(OpenedStore::Pkcs12(data))
        } else {
            Err(self.error(StoreError::UnknownFormat))
        }
    }

    /// The trusted certificates; in a PKCS#12 store those Java marks as
    /// trusted, or, when none is, every certificate without a key (stores
    /// made by openssl carry no mark).
    fn trusted_certificates(&self) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
        let certs: Vec<Vec<u8>> = match self.open()? {
            OpenedStore::Jks(store) => store.trusted,
            OpenedStore::Pkcs12(data) => {
                let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&data, self.password())
                    .map_err(|e| self.error(e))?;
                let marked: Vec<Vec<u8>> = archive
                    .certs
                    .iter()
                    .filter(|c| c.trusted)
                    .map(|c| c.cert.as_der().to_vec())
                    .collect();
                if marked.is_empty() {
                    archive
                        .certs
                        .iter()
                        .filter(|c| c.local_key_id.is_none())
                        .map(|c| c.cert.as_der().to_vec())
                        .collect()
                } else {
                    marked
                }
            }
        };
        if certs.is_empty() {
            return Err(SecurityError::Missing {
                key: self.key,
                what: "trusted certificate",
            });
        }
        Ok(certs.into_iter().map(CertificateDer::from).collect())
    }

    /// The one private key and its chain; `key_password` is
    /// `ssl.key.password`, the store's password when unset.
    fn key_and_chain(&self, key_password: Option<&Secret>) -> Result<Identity, SecurityError> {
        let key_password = key_password.map_or(self.password(), Secret::expose);
        let (key, chain) = match self.open()? {
            OpenedStore::Jks(store) => {
                let entry = match store.keys.as_slice() {
                    [one] => one,
                    [] => return Err(self.no_key()),
                    many => return Err(self.several_keys(many.len())),
                };
                (
                    entry.private_key(key_password).map_err(|e| self.error(e))?,
                    entry.chain.clone(),
                )
            }
            OpenedStore::Pkcs12(data) => {
                let store = p12_keystore::KeyStore::from_pkcs12(
                    &data,
                    self.password(),
                    p12_keystore::Pkcs12ImportPolicy::Strict,
                )
                .map_err(|e| self.error(e))?;
                let chains: Vec<&p12_keystore::PrivateKeyChain> = store
                    .entries()
                    .filter_map(|(_, e)| match e {
                        p12_keystore::KeyStoreEntry::PrivateKeyChain(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                let chain = match chains.as_slice() {
                    [one] => *one,
                    [] => return Err(self.no_key()),
                    many => return Err(self.several_keys(many.len())),
                };
                (
                    chain.key().as_der().to_vec(),
                    chain.certs().iter().map(|c| c.as_der().to_vec()).collect(),
                )
            }
        };
        if chain.is_empty() {
            return Err(SecurityError::Missing {
                key: self.key,
                what: "certificate for its private key",
            });
        }
        Ok(Identity {
            chain: chain.into_iter().map(CertificateDer::from).collect(),
            key: PrivateKeyDer::Pkcs8(key.into()),
        })
    }

    fn no_key(&self) -> SecurityError {
        SecurityError::NoKeyEntry {
            key: self.key,
            path: self.path.clone(),
        }
    }

    fn several_keys(&self, count: usize) -> SecurityError {
        SecurityError::SeveralKeyEntries {
            key: self.key,
            path: self.path.clone(),
            count,
        }
    }
}

/// The CA certificates to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustStore {
    Pem(PemSource),
    Store(StoreFile),
}

impl TrustStore {
    /// The property that names it, for error messages.
    pub fn key(&self) -> &'static str {
        match self {
            TrustStore::Pem(p) => p.key(),
            TrustStore::Store(s) => s.key,
        }
    }

    /// Reads the certificates.
    pub fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
        match self {
            TrustStore::Pem(p) => p.certificates("CA certificate"),
            TrustStore::Store(s) => s.trusted_certificates(),
        }
    }
}

/// A certificate chain and its private key, read.
#[derive(Debug)]
pub struct Identity {
    /// The client's certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The client certificate chain and key for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientIdentity {
    Pem {
        certificates: PemSource,
        key: PemSource,
    },
    Store {
        store: StoreFile,
        /// `ssl.key.password`.
        key_password: Option<Secret>,
    },
}

impl ClientIdentity {
    /// Reads the chain and the key.
    pub fn load(&self) -> Result<Identity, SecurityError> {
        match self {
            ClientIdentity::Pem { certificates, key } => Ok(Identity {
                chain: certificates.certificates("certificate")?,
                key: key.private_key()?,
            }),
            ClientIdentity::Store {
                store,
                key_password,
            } => store.key_and_chain(key_password.as_ref()),
        }
    }
}

/// TLS settings of `SSL` and `SASL_SSL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// CA certificates to trust; `None`: the system's CA bundle.
    pub trust: Option<TrustStore>,
    /// Certificate and key for mutual TLS.
    pub identity: Option<ClientIdentity>,
    /// `ssl.endpoint.identification.algorithm=https` (the default): the
    /// broker's certificate must name the host connected to.
    pub verify_hostname: bool,
    /// `ssl.enabled.protocols`: TLS 1.2 and 1.3 unless it says otherwise.
    pub versions: TlsVersions,
    /// `ssl.cipher.suites` by their IANA names (as Java writes them);
    /// empty: the defaults.
    pub cipher_suites: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            trust: None,
            identity: None,
            verify_hostname: true,
            versions: TlsVersions::default(),
            cipher_suites: Vec::new(),
        }
    }
}

/// The TLS versions a client may negotiate: Java's defaults (TLS 1.2 and
/// 1.3) or a narrower `ssl.enabled.protocols`; older versions are off, as
/// Java's `jdk.tls.disabledAlgorithms` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

impl Default for TlsVersions {
    fn default() -> Self {
        TlsVersions {
            tls12: true,
            tls13: true,
        }
    }
}

/// `ssl.client.auth` of a TLS server: whether clients must present a
/// certificate the trust store's CAs signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Requested,
    Required,
}

impl FromStr for ClientAuth {
    type Err = SecurityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(ClientAuth::None),
            "requested" => Ok(ClientAuth::Requested),
            "required" => Ok(ClientAuth::Required),
            _ => Err(SecurityError::InvalidValue {
                key: "ssl.client.auth",
                value: s.to_string(),
                expected: "use required, requested or none",
            }),
        }
    }
}

/// Java's names of the TLS 1.3 cipher suites, and rustls's.
const TLS13_SUITES: [(&str, &str); 3] = [
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
];

/// True for the IANA name of a TLS 1.3 cipher suite.
pub fn is_tls13_suite(name: &str) -> bool {
    name.starts_with("TLS_AES_") || name.starts_with("TLS_CHACHA20_")
}

impl TlsConfig {
    /// Builds the rustls client configuration (reads the PEM files).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, SecurityError> {
        let provider = self.provider()?;
        let roots = self.roots()?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(SecurityError::Verifier)?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.verify_hostname {
            webpki
        } else {
            Arc::new(NoHostnameVerifier(webpki))
        };
        let versions = self.protocol_versions();
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(SecurityError::Tls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => {
                let Identity { chain, key } = identity.load()?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(SecurityError::Tls)?
            }
        };
        Ok(Arc::new(config))
    }

    /// The TLS configuration of a server (an `https` REST listener): the
    /// key store's key and chain, and for `ssl.client.auth=requested` or
    /// `required` the trust store's CAs to check client certificates.
    pub fn server_config(
        &self,
        client_auth: ClientAuth,
    ) -> Result<Arc<rustls::ServerConfig>, SecurityError> {
        let provider = self.provider()?;
        let identity = self.identity.as_ref().ok_or(SecurityError::Missing {
            key: "ssl.keystore.location",
            what: "key store for the server's certificate",
        })?;
        let Identity { chain, key } = identity.load()?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.protocol_versions())
            .map_err(SecurityError::Tls)?;
        let builder = match client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Requested | ClientAuth::Required => {
                let roots = Arc::new(self.roots()?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = if client_auth == ClientAuth::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder
                    .with_client_cert_verifier(verifier.build().map_err(SecurityError::Verifier)?)
            }
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(SecurityError::Tls)?;
        Ok(Arc::new(config))
    }

    /// ring, narrowed to `ssl.cipher.suites` when set.
    fn provider(&self) -> Result<Arc<rustls::crypto::CryptoProvider>, SecurityError> {
        // ring: builds with a C compiler alone (aws-lc-rs needs more of a
        // toolchain). rustls deprecates it for lacking post-quantum key
        // exchange, which Kafka's listeners do not offer either.
        #[allow(deprecated)]
        let mut provider = rustls::crypto::ring::default_provider();
        if !self.cipher_suites.is_empty() {
            provider.cipher_suites.retain(|suite| {
                let Some(name) = suite.suite().as_str() else {
                    return false;
                };
                self.cipher_suites.iter().any(|java| {
                    java == name || TLS13_SUITES.iter().any(|(j, r)| j == java && *r == name)
                })
            });
            if provider.cipher_suites.is_empty() {
                return Err(SecurityError::InvalidValue {
                    key: "ssl.cipher.suites",
                    value: self.cipher_suites.join(","),
                    expected: "name at least one suite of TLS 1.2 with ECDHE and AES-GCM or ChaCha20, or of TLS 1.3",
                });
            }
        }
        Ok(Arc::new(provider))
    }

    /// The trust store's CAs, or the system's bundle without one.
    fn roots(&self) -> Result<RootCertStore, SecurityError> {
        let mut roots = RootCertStore::empty();
        match &self.trust {
            Some(source) => {
                for cert in source.certificates()? {
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
        Ok(roots)
    }

    fn protocol_versions(&self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        [
            (self.versions.tls13, &rustls::version::TLS13),
            (self.versions.tls12, &rustls::version::TLS12),
        ]
        .into_iter()
        .filter_map(|(on, v)| on.then_some(v))
        .collect()
    }

    /// The `ssl.*` settings of `props` (Java's names, and librdkafka's
    /// where they differ), whatever `security.protocol` says: for TLS that
    /// is not a Kafka connection, such as the REST API's.
    pub fn from_props(props: &HashMap<String, String>) -> Result<TlsConfig, SecurityError> {
        tls_from_props(props)
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
    // Java's default store type is JKS; a JKS or PKCS12 file is read
    // whichever of the two the type names, as Java 9 and later do.
    let is_pem =
        |type_key: &'static str, location_key: &'static str| -> Result<bool, SecurityError> {
            let store_type = get(type_key).unwrap_or("JKS");
            if store_type.eq_ignore_ascii_case("PEM") {
                Ok(true)
            } else if store_type.eq_ignore_ascii_case("JKS")
                || store_type.eq_ignore_ascii_case("PKCS12")
            {
                Ok(false)
            } else {
                Err(SecurityError::UnsupportedStoreType {
                    type_key,
                    location_key,
                    store_type: store_type.to_string(),
                })
            }
        };
    let store = |key: &'static str, path: &str, password_key: &str| StoreFile {
        key,
        path: PathBuf::from(path),
        password: props.get(password_key).map(|p| Secret::new(p.as_str())),
    };
    let pem_only = |type_key: &'static str, location_key: &'static str| {
        if is_pem(type_key, location_key)? {
            Ok(())
        } else {
            Err(SecurityError::InvalidValue {
                key: type_key,
                value: get(type_key).unwrap_or("JKS").to_string(),
                expected: "inline certificates and keys are PEM: set it to PEM",
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
        pem_only("ssl.truststore.type", "ssl.truststore.certificates")?;
        Some(TrustStore::Pem(inline("ssl.truststore.certificates", pem)))
    } else if let Some(path) = get("ssl.truststore.location") {
        if is_pem("ssl.truststore.type", "ssl.truststore.location")? {
            Some(TrustStore::Pem(file("ssl.truststore.location", path)))
        } else {
            Some(TrustStore::Store(store(
                "ssl.truststore.location",
                path,
                "ssl.truststore.password",
            )))
        }
    } else if let Some(pem) = get("ssl.ca.pem") {
        Some(TrustStore::Pem(inline("ssl.ca.pem", pem)))
    } else {
        // librdkafka's "probe" means the system's CA store.
        get("ssl.ca.location")
            .filter(|p| !p.eq_ignore_ascii_case("probe"))
            .map(|p| TrustStore::Pem(file("ssl.ca.location", p)))
    };

    let pair = |cert: Option<PemSource>,
                key: Option<PemSource>,
                cert_key: &'static str,
                key_key: &'static str|
     -> Result<Option<ClientIdentity>, SecurityError> {
        match (cert, key) {
            (Some(certificates), Some(key)) => Ok(Some(ClientIdentity::Pem { certificates, key })),
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
        if is_pem("ssl.keystore.type", "ssl.keystore.location")? {
            // A PEM key store holds the key and the certificate chain.
            Some(ClientIdentity::Pem {
                certificates: file("ssl.keystore.location", path),
                key: file("ssl.keystore.location", path),
            })
        } else {
            Some(ClientIdentity::Store {
                store: store("ssl.keystore.location", path, "ssl.keystore.password"),
                key_password: props
                    .get("ssl.key.password")
                    .map(|p| Secret::new(p.as_str())),
            })
        }
    } else if get("ssl.keystore.certificate.chain").is_some() || get("ssl.keystore.key").is_some() {
        pem_only("ssl.keystore.type", "ssl.keystore.key")?;
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
    let versions = match get("ssl.enabled.protocols") {
        None => TlsVersions::default(),
        Some(list) => {
            let mut versions = TlsVersions {
                tls12: false,
                tls13: false,
            };
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    "TLSv1.3" => versions.tls13 = true,
                    "TLSv1.2" => versions.tls12 = true,
                    // Off in Java's default security policy as well.
                    "TLSv1.1" | "TLSv1" | "SSLv3" | "SSLv2Hello" => {}
                    _ => {
                        return Err(SecurityError::InvalidValue {
                            key: "ssl.enabled.protocols",
                            value: list.to_string(),
                            expected: "list TLSv1.3 and/or TLSv1.2",
                        })
                    }
                }
            }
            if !versions.tls12 && !versions.tls13 {
                return Err(SecurityError::InvalidValue {
                    key: "ssl.enabled.protocols",
                    value: list.to_string(),
                    expected: "list TLSv1.3 and/or TLSv1.2; older versions are not supported",
                });
            }
            versions
        }
    };
    let cipher_suites = get("ssl.cipher.suites")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(TlsConfig {
        trust,
        identity,
        verify_hostname,
        versions,
        cipher_suites,
    })
}

/// The login modules of Kafka's clients that log in with a user name and a
/// password (either serves PLAIN and SCRAM, as in Java).
const USERNAME_PASSWORD_MODULES: [&str; 2] = [
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
];

fn sasl_from_props(props: &HashMap<String, String>) -> Result<SaslConfig, SecurityError> {
    let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    // Java's and librdkafka's default mechanism is GSSAPI.
    let mechanism: SaslMechanism = get("sasl.mechanism")
        .or(get("sasl.mechanisms"))
        .unwrap_or("GSSAPI")
        .parse()?;
    let (username, password) = if let Some(jaas) = get("sasl.jaas.config") {
        let module = JaasModule::parse(jaas)?;
        if !USERNAME_PASSWORD_MODULES.contains(&module.class.as_str()) {
            return Err(SecurityError::Jaas(format!(
                "no login module {} for {}: use {}",
                module.class,
                mechanism.name(),
                USERNAME_PASSWORD_MODULES.join(" or ")
            )));
        }
        match (module.option("username"), module.option("password")) {
            (Some(u), Some(p)) => (u.to_string(), p.to_string()),
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
            Some(TrustStore::Pem(PemSource::File {
                key: "ssl.truststore.location",
                path: "/ca.pem".into()
            }))
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

        // JKS (Java's default type) and PKCS12 stores are read whatever
        // the type says; other types are refused naming the key.
        let c = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", "/ts.jks"),
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", "/ks.p12"),
            ("ssl.keystore.password", "pw"),
        ]))
        .expect("valid");
        let tls = c.tls.expect("tls");
        assert!(matches!(
            tls.trust,
            Some(TrustStore::Store(StoreFile { password: None, .. }))
        ));
        assert!(matches!(tls.identity, Some(ClientIdentity::Store { .. })));
        let e = SecurityConfig::from_worker_props(&props(&[
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "BCFKS"),
            ("ssl.keystore.location", "/ks.bcfks"),
        ]))
        .expect_err("BCFKS");
        assert!(e.to_string().contains("ssl.keystore.type=BCFKS"), "{e}");
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
