//! SASL client mechanisms the group member authenticates with: `PLAIN`
//! (RFC 4616) and `SCRAM-SHA-256` / `SCRAM-SHA-512` (RFC 5802, RFC 7677),
//! as Kafka's brokers implement them. The Kafka framing (SaslHandshake,
//! SaslAuthenticate) is in `connection`; this module only makes and checks
//! the tokens.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use thiserror::Error;

/// Kafka's brokers refuse SCRAM credentials with fewer iterations than this
/// (`ScramMechanism.minIterations`); a server asking for fewer is refused.
pub const SCRAM_MIN_ITERATIONS: u32 = 4096;

/// Bytes of randomness in a client nonce.
const NONCE_BYTES: usize = 24;

/// Why a SCRAM exchange failed on the client side.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScramError {
    #[error("server-first-message is malformed: {0}")]
    MalformedServerFirst(String),
    #[error("server nonce does not start with the client nonce")]
    NonceMismatch,
    #[error("server asks for {0} iterations, fewer than the minimum {SCRAM_MIN_ITERATIONS}")]
    TooFewIterations(u32),
    #[error("server-final-message is malformed: {0}")]
    MalformedServerFinal(String),
    #[error("server reported an error: {0}")]
    ServerError(String),
    #[error("server signature does not match: the broker does not know the password")]
    ServerSignatureMismatch,
    #[error("could not generate a nonce: {0}")]
    Random(String),
}

/// A SCRAM hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                for p in parts {
                    mac.update(p);
                }
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key");
                for p in parts {
                    mac.update(p);
                }
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's `Hi()`: PBKDF2 with HMAC as the pseudo-random function and
    /// one block of output.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut u = self.hmac(password, &[salt, &1u32.to_be_bytes()]);
        let mut result = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &[&u]);
            for (r, b) in result.iter_mut().zip(&u) {
                *r ^= b;
            }
        }
        result
    }
}

/// The `PLAIN` token: `authzid NUL authcid NUL passwd`, with an empty
/// authorization id as Kafka's clients send it.
pub fn plain_token(username: &str, password: &str) -> Vec<u8> {
    let mut token = Vec::with_capacity(username.len() + password.len() + 2);
    token.push(0);
    token.extend_from_slice(username.as_bytes());
    token.push(0);
    token.extend_from_slice(password.as_bytes());
    token
}

/// The client side of one SCRAM exchange: `client_first`, then
/// `client_final` with the server's first message, then `verify_server_final`
/// with its final message.
#[derive(Debug)]
pub struct ScramClient {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
    /// `ServerSignature`, known once `client_final` ran.
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// A client with a fresh random nonce.
    pub fn new(hash: ScramHash, username: &str, password: &str) -> Result<Self, ScramError> {
        let mut random = [0u8; NONCE_BYTES];
        getrandom::getrandom(&mut random).map_err(|e| ScramError::Random(e.to_string()))?;
        // Printable and free of ',' as RFC 5802 requires.
        let nonce = BASE64.encode(random);
        Ok(Self::with_nonce(hash, username, password, &nonce))
    }

    /// A client with the given nonce (tests use RFC test vectors).
    pub fn with_nonce(hash: ScramHash, username: &str, password: &str, nonce: &str) -> Self {
        ScramClient {
            hash,
            password: password.to_string(),
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={},r={nonce}", sasl_name(username)),
            server_signature: None,
        }
    }

    /// `client-first-message`: no channel binding, no authorization id.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    /// `client-final-message` for the server's first message.
    pub fn client_final(&mut self, server_first: &str) -> Result<String, ScramError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(BASE64.decode(v).map_err(|e| {
                        ScramError::MalformedServerFirst(format!("salt is not base64: {e}"))
                    })?)
                }
                Some(("i", v)) => {
                    iterations = Some(v.parse::<u32>().map_err(|_| {
                        ScramError::MalformedServerFirst(format!("iteration count {v:?}"))
                    })?)
                }
                Some(("e", v)) => return Err(ScramError::ServerError(v.to_string())),
                // Extensions (e.g. Kafka's `tokenauth`) are not for us.
                _ => {}
            }
        }
        let missing = |what: &str| ScramError::MalformedServerFirst(format!("no {what}"));
        let nonce = nonce.ok_or_else(|| missing("nonce (r=)"))?;
        let salt = salt.ok_or_else(|| missing("salt (s=)"))?;
        let iterations = iterations.ok_or_else(|| missing("iteration count (i=)"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        if iterations < SCRAM_MIN_ITERATIONS {
            return Err(ScramError::TooFewIterations(iterations));
        }

        let h = self.hash;
        let salted = h.salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, &[b"Client Key"]);
        let stored_key = h.hash(&client_key);
        // "biws" is base64("n,,"): the GS2 header without channel binding.
        let without_proof = format!("c={},r={nonce}", BASE64.encode("n,,"));
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, &[auth_message.as_bytes()]);
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, &[b"Server Key"]);
        self.server_signature = Some(h.hmac(&server_key, &[auth_message.as_bytes()]));
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)))
    }

    /// Checks the server's final message: the server proves it knows the
    /// password too.
    pub fn verify_server_final(&self, server_final: &str) -> Result<(), ScramError> {
        let expected = self.server_signature.as_ref().ok_or_else(|| {
            ScramError::MalformedServerFinal("received before the client-final-message".into())
        })?;
        for attr in server_final.split(',') {
            match attr.split_once('=') {
                Some(("e", v)) => return Err(ScramError::ServerError(v.to_string())),
                Some(("v", v)) => {
                    let got = BASE64.decode(v).map_err(|e| {
                        ScramError::MalformedServerFinal(format!("verifier is not base64: {e}"))
                    })?;
                    return if constant_time_eq(&got, expected) {
                        Ok(())
                    } else {
                        Err(ScramError::ServerSignatureMismatch)
                    };
                }
                _ => {}
            }
        }
        Err(ScramError::MalformedServerFinal("no verifier (v=)".into()))
    }
}

/// RFC 5802 `saslname`: `=` and `,` escaped.
fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    #[test]
    fn scram_sha_256_rfc7677_vector() {
        let mut client =
            ScramClient::with_nonce(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(client.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                            s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            client.client_final(server_first).expect("client final"),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        client
            .verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .expect("server signature");
        assert_eq!(
            client.verify_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::ServerSignatureMismatch)
        );
        assert_eq!(
            client.verify_server_final("e=invalid-proof"),
            Err(ScramError::ServerError("invalid-proof".into()))
        );
    }

    #[test]
    fn scram_refuses_bad_server_first() {
        let mut client = ScramClient::with_nonce(ScramHash::Sha512, "u", "p", "abc");
        assert_eq!(
            client.client_final("r=xyz123,s=AAAA,i=4096"),
            Err(ScramError::NonceMismatch)
        );
        assert_eq!(
            client.client_final("r=abc,s=AAAA,i=4096"),
            Err(ScramError::NonceMismatch)
        );
        assert_eq!(
            client.client_final("r=abcdef,s=AAAA,i=1000"),
            Err(ScramError::TooFewIterations(1000))
        );
        assert!(matches!(
            client.client_final("r=abcdef,i=4096"),
            Err(ScramError::MalformedServerFirst(_))
        ));
        assert!(matches!(
            client.verify_server_final("v=AAAA"),
            Err(ScramError::MalformedServerFinal(_))
        ));
    }

    #[test]
    fn scram_nonce_and_name_escaping() {
        let a = ScramClient::new(ScramHash::Sha256, "a=b,c", "p").expect("nonce");
        let b = ScramClient::new(ScramHash::Sha256, "a=b,c", "p").expect("nonce");
        assert_ne!(a.client_nonce, b.client_nonce);
        assert!(!a.client_nonce.contains(','));
        assert!(a.client_first().starts_with("n,,n=a=3Db=2Cc,r="));
    }

    #[test]
    fn plain_token_layout() {
        assert_eq!(plain_token("alice", "s3cret"), b"\0alice\0s3cret".to_vec());
    }
}
