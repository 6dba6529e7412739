//! How Ferry's Kafka clients secure their connections, read from Kafka
//! Connect's properties exactly as Java's clients read them.
//!
//! * [`config`]: `security.protocol`, `sasl.*` and `ssl.*` as a
//!   [`SecurityConfig`]; the group member builds its rustls configuration
//!   from it.
//! * [`jaas`]: `sasl.jaas.config`'s syntax.
//! * [`jks`]: Java's JKS key store format (PKCS#12 is read by
//!   `p12-keystore`).
//! * [`librdkafka`]: the same settings in librdkafka's terms, for the
//!   producers, consumers and admin clients.

pub mod config;
pub mod jaas;
pub mod jks;
pub mod librdkafka;

pub use config::{
    ClientAuth, ClientIdentity, Identity, PemSource, SaslConfig, SaslMechanism, Secret,
    SecurityConfig, SecurityError, SecurityProtocol, StoreError, StoreFile, TlsConfig, TlsVersions,
    TrustStore,
};
pub use jaas::JaasModule;
pub use librdkafka::{librdkafka_security, LibrdkafkaSecurity};
