//! Key stores written by Java's keytool and by openssl, read back and
//! compared with the PEM files they were made from: the test CA and client
//! certificate `deploy/local/kafka.sh` makes in `~/.cache/ferry/tls`
//! (`FERRY_TEST_TLS_DIR` overrides it).

use std::collections::HashMap;
use std::path::PathBuf;

use ferry_security::{
    librdkafka_security, ClientIdentity, SecurityConfig, SecurityError, TlsConfig,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const STORE_PASSWORD: &str = "ferry-store";
const KEY_PASSWORD: &str = "ferry-key";

fn tls_file(name: &str) -> String {
    let dir = std::env::var("FERRY_TEST_TLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::var("FERRY_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/ferry")
                })
                .join("tls")
        });
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run deploy/local/kafka.sh start",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

fn config(pairs: &[(&str, &str)]) -> Result<SecurityConfig, SecurityError> {
    let props: HashMap<String, String> = [("security.protocol", "SSL")]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SecurityConfig::from_worker_props(&props)
}

/// The TLS settings of `pairs` (with `security.protocol=SSL`).
fn tls_of(pairs: &[(&str, &str)]) -> TlsConfig {
    config(pairs).expect("valid").tls.expect("tls")
}

fn pem_certs(name: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(tls_file(name))
        .expect("PEM file")
        .collect::<Result<_, _>>()
        .expect("certificates")
}

fn pem_key_der() -> Vec<u8> {
    PrivateKeyDer::from_pem_file(tls_file("client.key"))
        .expect("client key")
        .secret_der()
        .to_vec()
}

#[test]
fn trust_stores_of_both_types_hold_the_ca() {
    let ca = pem_certs("ca.pem");
    for (file, password) in [
        ("truststore.jks", Some(STORE_PASSWORD)),
        // Java reads a JKS trust store without a password, unchecked.
        ("truststore.jks", None),
        ("truststore.p12", Some(STORE_PASSWORD)),
    ] {
        let location = tls_file(file);
        let mut pairs = vec![("ssl.truststore.location", location.as_str())];
        if let Some(p) = password {
            pairs.push(("ssl.truststore.password", p));
        }
        // The type is left at Java's default (JKS) for the PKCS12 file
        // too: Java 9 and later read either whatever the type says.
        let tls = tls_of(&pairs);
        let certs = tls.trust.expect("trust").certificates().expect(file);
        assert_eq!(certs, ca, "{file}");
    }
}

#[test]
fn key_stores_of_both_types_hold_the_client_key_and_chain() {
    let chain: Vec<_> = pem_certs("client.pem")
        .into_iter()
        .chain(pem_certs("ca.pem"))
        .collect();
    for (file, store_type, key_password) in [
        ("client.p12", "PKCS12", None),
        ("client.jks", "JKS", Some(KEY_PASSWORD)),
    ] {
        let location = tls_file(file);
        let mut pairs = vec![
            ("ssl.keystore.type", store_type),
            ("ssl.keystore.location", location.as_str()),
            ("ssl.keystore.password", STORE_PASSWORD),
        ];
        if let Some(k) = key_password {
            pairs.push(("ssl.key.password", k));
        }
        let tls = tls_of(&pairs);
        let identity = tls.identity.clone().expect("identity").load().expect(file);
        assert_eq!(identity.chain, chain, "{file}");
        assert_eq!(identity.key.secret_der(), pem_key_der(), "{file}");
        // And as librdkafka receives it.
        let props = pairs
            .iter()
            .chain(&[("security.protocol", "SSL")])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = librdkafka_security(&props).expect("translated");
        let setting = |key: &str| {
            s.settings
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        let certificate = setting("ssl.certificate.pem").expect("certificate");
        let parsed: Vec<_> = CertificateDer::pem_slice_iter(certificate.as_bytes())
            .collect::<Result<_, _>>()
            .expect("PEM");
        assert_eq!(parsed, chain);
        assert!(setting("ssl.key.pem")
            .expect("key")
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(s.consumes("ssl.keystore.location") && s.consumes("ssl.key.password"));
    }
}

#[test]
fn wrong_passwords_and_files_are_named() {
    let jks = tls_file("client.jks");
    let e = tls_of(&[
        ("ssl.keystore.location", jks.as_str()),
        ("ssl.keystore.password", "wrong"),
    ])
    .identity
    .expect("identity")
    .load()
    .expect_err("wrong store password");
    assert!(
        e.to_string().contains("ssl.keystore.location") && e.to_string().contains("password"),
        "{e}"
    );
    // The store password is right but the key has its own.
    let e = tls_of(&[
        ("ssl.keystore.location", jks.as_str()),
        ("ssl.keystore.password", STORE_PASSWORD),
    ])
    .identity
    .expect("identity")
    .load()
    .expect_err("wrong key password");
    assert!(e.to_string().contains("ssl.key.password"), "{e}");

    let p12 = tls_file("truststore.p12");
    let tls = tls_of(&[
        ("ssl.truststore.location", p12.as_str()),
        ("ssl.truststore.password", "wrong"),
    ]);
    let e = tls
        .trust
        .expect("trust")
        .certificates()
        .expect_err("wrong password");
    assert!(e.to_string().contains("ssl.truststore.location"), "{e}");

    let tls = tls_of(&[("ssl.truststore.location", "/nonexistent/truststore.jks")]);
    let e = tls.client_config().expect_err("missing file");
    assert!(
        e.to_string().contains("ssl.truststore.location")
            && e.to_string().contains("/nonexistent/truststore.jks"),
        "{e}"
    );
    // A PEM file given as a JKS store is named as neither.
    let pem = tls_file("ca.pem");
    let e = tls_of(&[("ssl.truststore.location", pem.as_str())])
        .trust
        .expect("trust")
        .certificates()
        .expect_err("PEM is not JKS");
    assert!(e.to_string().contains("neither a JKS nor a PKCS12"), "{e}");
    assert!(matches!(
        tls_of(&[("ssl.keystore.location", pem.as_str())]).identity,
        Some(ClientIdentity::Store { .. })
    ));
}
