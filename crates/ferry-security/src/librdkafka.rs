//! Kafka Connect's client security properties in librdkafka's terms.
//!
//! librdkafka shares many names with Java's clients (`security.protocol`,
//! `ssl.endpoint.identification.algorithm`, `sasl.kerberos.*`) but has no
//! `sasl.jaas.config`, no trust store, no JKS and no way to narrow TLS
//! versions. So the settings are read as Java reads them
//! ([`SecurityConfig`]) and given to librdkafka as what they mean: user
//! name and password, and certificates and keys as inline PEM read from
//! whatever store held them. A Java-only key whose value librdkafka cannot
//! honour is refused naming the key; librdkafka's own names pass through.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{
    is_tls13_suite, ClientIdentity, PemSource, SaslMechanism, SecurityConfig, SecurityProtocol,
    TlsConfig, TrustStore,
};
use crate::jaas::JaasModule;
use crate::SecurityError;

/// Java-only keys this module reads or judges; never passed to librdkafka.
const JAVA_ONLY: &[&str] = &[
    "sasl.jaas.config",
    "sasl.mechanism",
    "sasl.login.class",
    "sasl.login.callback.handler.class",
    "sasl.client.callback.handler.class",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.cipher.suites",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.engine.factory.class",
    "ssl.provider",
];

/// Java-only key prefixes: the JVM's token refresh and OAuth validation
/// settings, which do nothing for the mechanisms librdkafka is given here.
const JAVA_ONLY_PREFIXES: &[&str] = &["sasl.login.", "sasl.oauthbearer."];

/// OpenSSL's names of the TLS 1.2 suites Java names by their IANA names.
const TLS12_SUITES: &[(&str, &str)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
    (
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "DHE-RSA-AES128-GCM-SHA256",
    ),
    (
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "DHE-RSA-AES256-GCM-SHA384",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-ECDSA-AES128-SHA256",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        "ECDHE-ECDSA-AES256-SHA384",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        "ECDHE-RSA-AES128-SHA256",
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        "ECDHE-RSA-AES256-SHA384",
    ),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
];

/// The TLS 1.3 suites OpenSSL offers, which librdkafka cannot change.
const OPENSSL_TLS13_SUITES: [&str; 3] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
];

/// The security part of a librdkafka configuration.
#[derive(Default)]
pub struct LibrdkafkaSecurity {
    /// Properties to set, in place of the input keys [`Self::consumes`].
    pub settings: Vec<(&'static str, String)>,
    /// librdkafka-named keys of the input that were read here and are
    /// replaced by `settings`.
    replaced: Vec<&'static str>,
}

/// Keys only: the values are passwords and private keys.
impl std::fmt::Debug for LibrdkafkaSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibrdkafkaSecurity")
            .field(
                "settings",
                &self.settings.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("replaced", &self.replaced)
            .finish()
    }
}

impl LibrdkafkaSecurity {
    /// True when `key` of the input is translated here and must not be
    /// given to librdkafka as it is.
    pub fn consumes(&self, key: &str) -> bool {
        JAVA_ONLY.contains(&key)
            || JAVA_ONLY_PREFIXES
                .iter()
                .any(|p| key.starts_with(p) && !LIBRDKAFKA_OAUTH.contains(&key))
            || self.replaced.contains(&key)
    }
}

/// `sasl.oauthbearer.*` names librdkafka knows; kept out of the Java-only
/// prefix rule so a user's librdkafka settings still reach it.
const LIBRDKAFKA_OAUTH: &[&str] = &[
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.method",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.extensions",
    "sasl.oauthbearer.token.endpoint.url",
];

/// Reads the security settings of `props` (one client's Java-style
/// properties) and returns what librdkafka needs in their place.
pub fn librdkafka_security(
    props: &BTreeMap<String, String>,
) -> Result<LibrdkafkaSecurity, SecurityError> {
    let map: HashMap<String, String> = props
        .iter()
        .filter(|(k, _)| {
            k.starts_with("ssl.") || k.starts_with("sasl.") || k.starts_with("security.")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let get = |k: &str| map.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let protocol: SecurityProtocol = match get("security.protocol") {
        Some(p) => p.parse()?,
        None => SecurityProtocol::Plaintext,
    };
    // A mechanism other than PLAIN and SCRAM (GSSAPI, OAUTHBEARER) is
    // librdkafka's own business: its `sasl.*` keys pass through, only the
    // Java login module cannot.
    let mechanism = get("sasl.mechanism").or(get("sasl.mechanisms"));
    let native_sasl =
        protocol.uses_sasl() && mechanism.is_some_and(|m| m.parse::<SaslMechanism>().is_err());
    let config = if native_sasl {
        if let Some(jaas) = get("sasl.jaas.config") {
            let class = JaasModule::parse(jaas).map(|m| m.class).unwrap_or_default();
            return Err(SecurityError::InvalidValue {
                key: "sasl.jaas.config",
                value: class,
                expected: "for this sasl.mechanism Ferry's Kafka clients take librdkafka's sasl.* settings (sasl.kerberos.*, sasl.oauthbearer.*), not a Java login module",
            });
        }
        let mut without_sasl = map.clone();
        let tls_only = if protocol.uses_tls() {
            "SSL"
        } else {
            "PLAINTEXT"
        };
        without_sasl.insert("security.protocol".into(), tls_only.into());
        SecurityConfig::from_worker_props(&without_sasl)?
    } else {
        SecurityConfig::from_worker_props(&map)?
    };
    let mut out = LibrdkafkaSecurity::default();
    if get("security.protocol").is_some() {
        out.settings
            .push(("security.protocol", protocol.name().to_string()));
        out.replaced.push("security.protocol");
    }
    if let (true, Some(m)) = (native_sasl, mechanism) {
        out.settings.push(("sasl.mechanisms", m.to_string()));
        out.replaced.push("sasl.mechanisms");
    }
    match &config.tls {
        Some(tls) => {
            refuse_java_engine_settings(&get)?;
            tls_settings(tls, &mut out)?;
        }
        // Java reads no store without TLS; neither should librdkafka.
        None => out.replaced.extend([
            "ssl.keystore.location",
            "ssl.keystore.password",
            "ssl.key.password",
        ]),
    }
    if let Some(sasl) = &config.sasl {
        for key in [
            "sasl.login.class",
            "sasl.login.callback.handler.class",
            "sasl.client.callback.handler.class",
        ] {
            if let Some(class) = get(key) {
                return Err(SecurityError::InvalidValue {
                    key,
                    value: class.to_string(),
                    expected: "Java callback classes cannot run in Ferry; remove it",
                });
            }
        }
        out.settings
            .push(("sasl.mechanisms", sasl.mechanism.name().to_string()));
        out.settings.push(("sasl.username", sasl.username.clone()));
        out.settings
            .push(("sasl.password", sasl.password.expose().to_string()));
        out.replaced
            .extend(["sasl.mechanisms", "sasl.username", "sasl.password"]);
    }
    Ok(out)
}

/// Settings that choose Java's TLS machinery: their defaults mean what
/// OpenSSL does anyway; anything else cannot be honoured.
fn refuse_java_engine_settings<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<(), SecurityError> {
    let checks: [(&'static str, &[&str]); 5] = [
        (
            "ssl.keymanager.algorithm",
            &["SunX509", "NewSunX509", "PKIX"],
        ),
        (
            "ssl.trustmanager.algorithm",
            &["PKIX", "SunX509", "SunPKIX"],
        ),
        ("ssl.protocol", &["TLSv1.3", "TLSv1.2", "TLS"]),
        ("ssl.engine.factory.class", &[]),
        ("ssl.provider", &[]),
    ];
    for (key, allowed) in checks {
        if let Some(value) = get(key) {
            if !allowed.contains(&value) {
                return Err(SecurityError::InvalidValue {
                    key,
                    value: value.to_string(),
                    expected: "Ferry's Kafka clients use OpenSSL; remove it or use Java's default",
                });
            }
        }
    }
    Ok(())
}

fn tls_settings(tls: &TlsConfig, out: &mut LibrdkafkaSecurity) -> Result<(), SecurityError> {
    if !(tls.versions.tls12 && tls.versions.tls13) {
        return Err(SecurityError::InvalidValue {
            key: "ssl.enabled.protocols",
            value: if tls.versions.tls12 { "TLSv1.2" } else { "TLSv1.3" }.to_string(),
            expected: "librdkafka negotiates TLS 1.2 and 1.3 and cannot be limited to one: list TLSv1.2,TLSv1.3 or remove it",
        });
    }
    if !tls.cipher_suites.is_empty() {
        out.settings.push((
            "ssl.cipher.suites",
            openssl_cipher_list(&tls.cipher_suites)?,
        ));
    }
    out.settings.push((
        "ssl.endpoint.identification.algorithm",
        if tls.verify_hostname { "https" } else { "none" }.to_string(),
    ));
    out.replaced.push("ssl.endpoint.identification.algorithm");

    // Java's stores become inline PEM; librdkafka's own keys
    // (`ssl.ca.location`, `ssl.ca.pem`) are left to it.
    match &tls.trust {
        Some(TrustStore::Store(_)) => set_ca(tls, out)?,
        Some(TrustStore::Pem(source)) if source.key().starts_with("ssl.truststore.") => {
            set_ca(tls, out)?
        }
        _ => {}
    }
    let java_identity = match &tls.identity {
        Some(ClientIdentity::Store { .. }) => true,
        Some(ClientIdentity::Pem { key, .. }) => is_java_pem(key),
        None => false,
    };
    if let Some(identity) = tls.identity.as_ref().filter(|_| java_identity) {
        let identity = identity.load()?;
        let chain: String = identity
            .chain
            .iter()
            .map(|c| pem("CERTIFICATE", c.as_ref()))
            .collect();
        let (label, der) = match &identity.key {
            PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
            PrivateKeyDer::Pkcs8(k) => ("PRIVATE KEY", k.secret_pkcs8_der()),
            _ => ("PRIVATE KEY", identity.key.secret_der()),
        };
        out.settings.push(("ssl.certificate.pem", chain));
        out.settings.push(("ssl.key.pem", pem(label, der)));
        out.replaced.extend([
            "ssl.certificate.pem",
            "ssl.key.pem",
            "ssl.keystore.location",
            "ssl.keystore.password",
            "ssl.key.password",
        ]);
    }
    Ok(())
}

fn is_java_pem(source: &PemSource) -> bool {
    source.key().starts_with("ssl.keystore.")
}

fn set_ca(tls: &TlsConfig, out: &mut LibrdkafkaSecurity) -> Result<(), SecurityError> {
    if let Some(trust) = &tls.trust {
        let certs: Vec<CertificateDer<'static>> = trust.certificates()?;
        let bundle: String = certs
            .iter()
            .map(|c| pem("CERTIFICATE", c.as_ref()))
            .collect();
        out.settings.push(("ssl.ca.pem", bundle));
        out.replaced.extend(["ssl.ca.pem", "ssl.ca.location"]);
    }
    Ok(())
}

/// Java's suite names as an OpenSSL cipher list. TLS 1.3 suites cannot be
/// chosen through librdkafka: a list that names some but not all of
/// OpenSSL's, or none (Java would then not speak TLS 1.3), is refused.
fn openssl_cipher_list(suites: &[String]) -> Result<String, SecurityError> {
    let refuse = |expected: &'static str| SecurityError::InvalidValue {
        key: "ssl.cipher.suites",
        value: suites.join(","),
        expected,
    };
    let (tls13, tls12): (Vec<&String>, Vec<&String>) =
        suites.iter().partition(|s| is_tls13_suite(s));
    let mut all13 = OPENSSL_TLS13_SUITES.to_vec();
    all13.sort_unstable();
    let mut named13: Vec<&str> = tls13.iter().map(|s| s.as_str()).collect();
    named13.sort_unstable();
    named13.dedup();
    if named13 != all13 {
        return Err(refuse(
            "librdkafka offers TLS 1.3's three suites (TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256) and cannot narrow them: list all three, with the TLS 1.2 suites to allow",
        ));
    }
    let mut openssl = Vec::new();
    for name in tls12 {
        match TLS12_SUITES.iter().find(|(java, _)| java == name) {
            Some((_, o)) => openssl.push(*o),
            None => {
                return Err(refuse(
                    "a suite there has no OpenSSL equivalent known to Ferry (ECDHE/DHE/RSA with AES-GCM, AES-CBC-SHA2 or ChaCha20 are)",
                ))
            }
        }
    }
    if openssl.is_empty() {
        return Err(refuse("list at least one TLS 1.2 suite"));
    }
    Ok(openssl.join(":"))
}

/// DER as a PEM section.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = BASE64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn setting<'a>(s: &'a LibrdkafkaSecurity, key: &str) -> Option<&'a str> {
        s.settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn jaas_becomes_user_name_and_password() {
        let s = librdkafka_security(&props(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#,
            ),
            ("sasl.login.refresh.window.factor", "0.8"),
        ]))
        .expect("valid");
        assert_eq!(setting(&s, "security.protocol"), Some("SASL_PLAINTEXT"));
        assert_eq!(setting(&s, "sasl.mechanisms"), Some("SCRAM-SHA-256"));
        assert_eq!(setting(&s, "sasl.username"), Some("u"));
        assert_eq!(setting(&s, "sasl.password"), Some("p"));
        assert!(s.consumes("sasl.jaas.config") && s.consumes("sasl.mechanism"));
        assert!(s.consumes("sasl.login.refresh.window.factor"));
        assert!(!s.consumes("sasl.oauthbearer.client.id"));
        assert!(!s.consumes("bootstrap.servers"));
    }

    #[test]
    fn what_librdkafka_cannot_honour_is_refused_naming_the_key() {
        let tls = |extra: &[(&str, &str)]| {
            let mut p = props(&[("security.protocol", "SSL"), ("ssl.ca.location", "/ca.pem")]);
            p.extend(props(extra));
            librdkafka_security(&p)
                .map(|_| ())
                .expect_err("refused")
                .to_string()
        };
        let e = tls(&[("ssl.enabled.protocols", "TLSv1.2")]);
        assert!(
            e.contains("ssl.enabled.protocols") && e.contains("cannot be limited"),
            "{e}"
        );
        let e = tls(&[("ssl.engine.factory.class", "com.example.Engine")]);
        assert!(e.contains("ssl.engine.factory.class"), "{e}");
        let e = tls(&[("ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")]);
        assert!(
            e.contains("ssl.cipher.suites") && e.contains("TLS 1.3"),
            "{e}"
        );
        let e = librdkafka_security(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModul required username="u" password="p";"#,
            ),
        ]))
        .map(|_| ())
        .expect_err("typo in the module");
        assert!(e.to_string().contains("PlainLoginModul "), "{e}");
        assert!(!e.to_string().contains("\"p\""), "{e}");
    }

    #[test]
    fn cipher_suites_map_to_openssl_names() {
        let mut suites: Vec<String> = OPENSSL_TLS13_SUITES.iter().map(|s| s.to_string()).collect();
        suites.push("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into());
        assert_eq!(
            openssl_cipher_list(&suites).expect("valid"),
            "ECDHE-RSA-AES256-GCM-SHA384"
        );
    }

    #[test]
    fn other_mechanisms_are_librdkafkas_own() {
        let s = librdkafka_security(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "GSSAPI"),
            ("sasl.kerberos.service.name", "kafka"),
            ("ssl.ca.location", "/ca.pem"),
        ]))
        .expect("passed to librdkafka");
        assert_eq!(setting(&s, "sasl.mechanisms"), Some("GSSAPI"));
        assert_eq!(setting(&s, "security.protocol"), Some("SASL_SSL"));
        assert!(!s.consumes("sasl.kerberos.service.name") && !s.consumes("ssl.ca.location"));
        assert!(
            !format!("{s:?}").contains("GSSAPI"),
            "values stay out of Debug"
        );
        let e = librdkafka_security(&props(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
            ),
        ]))
        .map(|_| ())
        .expect_err("a Java login module");
        assert!(e.to_string().contains("OAuthBearerLoginModule"), "{e}");
    }

    #[test]
    fn plaintext_drops_java_tls_settings() {
        let s = librdkafka_security(&props(&[
            ("ssl.truststore.location", "/nonexistent.jks"),
            ("ssl.truststore.password", "x"),
        ]))
        .expect("not read without TLS");
        assert!(s.settings.is_empty());
        assert!(s.consumes("ssl.truststore.location"));
    }
}
