//! Java's proprietary `JKS` key store format, read-only: trusted
//! certificates and private keys with their chains, as `keytool -storetype
//! JKS` writes them.
//!
//! Layout: magic `FEEDFEED`, version (1 or 2), entry count, entries, then a
//! SHA-1 over the password (UTF-16BE), the words "Mighty Aphrodite" and
//! everything before it. A private key is an `EncryptedPrivateKeyInfo`
//! under Sun's key protector (OID 1.3.6.1.4.1.42.2.17.1.1): a salt, the
//! PKCS#8 key XORed with a SHA-1 key stream of password and salt, and a
//! SHA-1 check over password and plain key.

use sha1::{Digest, Sha1};
use thiserror::Error;

const MAGIC: u32 = 0xFEED_FEED;
const JCEKS_MAGIC: u32 = 0xCECE_CECE;
const PRIVATE_KEY: u32 = 1;
const TRUSTED_CERT: u32 = 2;
const SECRET_KEY: u32 = 3;
const DIGEST_LEN: usize = 20;
/// DER of OID 1.3.6.1.4.1.42.2.17.1.1, Sun's JKS key protector.
const KEY_PROTECTOR_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01];

/// Why a JKS store cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JksError {
    #[error("not a JKS key store (no FEEDFEED magic)")]
    NotJks,
    #[error("a JCEKS key store; convert it to PKCS12 or JKS with keytool -importkeystore")]
    Jceks,
    #[error("unsupported JKS version {0}")]
    Version(u32),
    #[error("truncated or malformed JKS data")]
    Malformed,
    #[error("entry {0:?} holds a secret key, which JKS does not support")]
    SecretKey(String),
    #[error("the key store's integrity check failed: wrong password, or the file is damaged")]
    Integrity,
    #[error("the key of entry {0:?} cannot be recovered: wrong key password (ssl.key.password)")]
    KeyPassword(String),
    #[error("the key of entry {0:?} is protected by an algorithm other than JKS's own")]
    KeyAlgorithm(String),
}

/// A private key entry: the PKCS#8 key (still protected) and its chain.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    pub alias: String,
    protected: Vec<u8>,
    /// DER certificates, the key's own first.
    pub chain: Vec<Vec<u8>>,
}

impl KeyEntry {
    /// The PKCS#8 DER of the key, recovered with `password`.
    pub fn private_key(&self, password: &str) -> Result<Vec<u8>, JksError> {
        let encrypted = protected_key_data(&self.protected)
            .ok_or_else(|| JksError::KeyAlgorithm(self.alias.clone()))?;
        if encrypted.len() < 2 * DIGEST_LEN {
            return Err(JksError::Malformed);
        }
        let pass = utf16be(password);
        let (salt, rest) = encrypted.split_at(DIGEST_LEN);
        let (cipher, check) = rest.split_at(rest.len() - DIGEST_LEN);
        let mut plain = Vec::with_capacity(cipher.len());
        let mut block: [u8; DIGEST_LEN] = salt.try_into().map_err(|_| JksError::Malformed)?;
        for chunk in cipher.chunks(DIGEST_LEN) {
            block = Sha1::new()
                .chain_update(&pass)
                .chain_update(block)
                .finalize()
                .into();
            plain.extend(chunk.iter().zip(block.iter()).map(|(c, k)| c ^ k));
        }
        let digest = Sha1::new()
            .chain_update(&pass)
            .chain_update(&plain)
            .finalize();
        if digest.as_slice() != check {
            return Err(JksError::KeyPassword(self.alias.clone()));
        }
        Ok(plain)
    }
}

/// The entries of a JKS store.
#[derive(Debug, Clone, Default)]
pub struct JksStore {
    pub keys: Vec<KeyEntry>,
    /// DER certificates of the trusted-certificate entries.
    pub trusted: Vec<Vec<u8>>,
}

/// True when `data` starts as a JKS or JCEKS store does.
pub fn looks_like_jks(data: &[u8]) -> bool {
    data.len() >= 4 && matches!(be_u32(&data[..4]), MAGIC | JCEKS_MAGIC)
}

/// Reads a JKS store; with a password its integrity is checked (Java
/// skips the check when a trust store has no password, and so does this).
pub fn parse(data: &[u8], password: Option<&str>) -> Result<JksStore, JksError> {
    let mut r = Reader { data, pos: 0 };
    match r.u32()? {
        MAGIC => {}
        JCEKS_MAGIC => return Err(JksError::Jceks),
        _ => return Err(JksError::NotJks),
    }
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(JksError::Version(version));
    }
    let count = r.u32()?;
    let mut store = JksStore::default();
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        let _created = r.bytes(8)?;
        match tag {
            PRIVATE_KEY => {
                let len = r.len()?;
                let protected = r.bytes(len)?.to_vec();
                let certs = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..certs {
                    chain.push(r.certificate(version)?);
                }
                store.keys.push(KeyEntry {
                    alias,
                    protected,
                    chain,
                });
            }
            TRUSTED_CERT => store.trusted.push(r.certificate(version)?),
            SECRET_KEY => return Err(JksError::SecretKey(alias)),
            _ => return Err(JksError::Malformed),
        }
    }
    let signed = r.pos;
    let digest = r.bytes(DIGEST_LEN)?;
    if let Some(password) = password {
        let expected = Sha1::new()
            .chain_update(utf16be(password))
            .chain_update(b"Mighty Aphrodite")
            .chain_update(&data[..signed])
            .finalize();
        if expected.as_slice() != digest {
            return Err(JksError::Integrity);
        }
    }
    Ok(store)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], JksError> {
        let end = self.pos.checked_add(n).ok_or(JksError::Malformed)?;
        let slice = self.data.get(self.pos..end).ok_or(JksError::Malformed)?;
        self.pos = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<u32, JksError> {
        Ok(be_u32(self.bytes(4)?))
    }

    fn len(&mut self) -> Result<usize, JksError> {
        usize::try_from(self.u32()?).map_err(|_| JksError::Malformed)
    }

    /// `DataOutputStream.writeUTF`: a u16 length and modified UTF-8, which
    /// for aliases is plain UTF-8 in practice.
    fn utf(&mut self) -> Result<String, JksError> {
        let b = self.bytes(2)?;
        let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
        Ok(String::from_utf8_lossy(self.bytes(len)?).into_owned())
    }

    fn certificate(&mut self, version: u32) -> Result<Vec<u8>, JksError> {
        if version == 2 {
            let _type = self.utf()?;
        }
        let len = self.len()?;
        Ok(self.bytes(len)?.to_vec())
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// The encrypted data of an `EncryptedPrivateKeyInfo` protected by JKS's
/// key protector: SEQUENCE { SEQUENCE { OID, NULL? }, OCTET STRING }.
fn protected_key_data(der: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = der_item(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, algorithm, rest) = der_item(info)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, oid, _) = der_item(algorithm)?;
    if tag != 0x06 || oid != KEY_PROTECTOR_OID {
        return None;
    }
    let (tag, data, _) = der_item(rest)?;
    (tag == 0x04).then_some(data)
}

/// One DER item: its tag, contents and what follows it.
fn der_item(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of one key entry protected as Java's KeyProtector does,
    /// built here so the reader is checked against the algorithm's
    /// definition; `tests/` checks it against files keytool wrote.
    fn store_with_key(store_password: &str, key_password: &str, key: &[u8]) -> Vec<u8> {
        let pass = utf16be(key_password);
        let salt = [7u8; DIGEST_LEN];
        let mut block = salt;
        let mut cipher = Vec::new();
        for chunk in key.chunks(DIGEST_LEN) {
            block = Sha1::new()
                .chain_update(&pass)
                .chain_update(block)
                .finalize()
                .into();
            cipher.extend(chunk.iter().zip(block.iter()).map(|(c, k)| c ^ k));
        }
        let check = Sha1::new().chain_update(&pass).chain_update(key).finalize();
        let mut encrypted = salt.to_vec();
        encrypted.extend(&cipher);
        encrypted.extend(check.as_slice());
        let mut algorithm = vec![0x06, KEY_PROTECTOR_OID.len() as u8];
        algorithm.extend(KEY_PROTECTOR_OID);
        algorithm.extend([0x05, 0x00]);
        let mut info = vec![0x30, algorithm.len() as u8];
        info.extend(&algorithm);
        info.extend([0x04, encrypted.len() as u8]);
        info.extend(&encrypted);
        let mut der = vec![0x30, info.len() as u8];
        der.extend(&info);

        let mut out = Vec::new();
        out.extend(MAGIC.to_be_bytes());
        out.extend(2u32.to_be_bytes());
        out.extend(1u32.to_be_bytes());
        out.extend(PRIVATE_KEY.to_be_bytes());
        out.extend(5u16.to_be_bytes());
        out.extend(b"alias");
        out.extend(0u64.to_be_bytes());
        out.extend((der.len() as u32).to_be_bytes());
        out.extend(&der);
        out.extend(1u32.to_be_bytes());
        out.extend(5u16.to_be_bytes());
        out.extend(b"X.509");
        out.extend(3u32.to_be_bytes());
        out.extend([1, 2, 3]);
        let digest = Sha1::new()
            .chain_update(utf16be(store_password))
            .chain_update(b"Mighty Aphrodite")
            .chain_update(&out)
            .finalize();
        out.extend(digest.as_slice());
        out
    }

    #[test]
    fn keys_are_recovered_and_passwords_checked() {
        // Short enough for single-byte DER lengths; not a multiple of 20.
        let key: Vec<u8> = (0..57u8).collect();
        let data = store_with_key("store-pw", "key-pw", &key);
        assert!(looks_like_jks(&data));
        let store = parse(&data, Some("store-pw")).expect("valid store");
        assert_eq!(store.keys.len(), 1);
        assert_eq!(store.keys[0].chain, vec![vec![1, 2, 3]]);
        assert_eq!(store.keys[0].private_key("key-pw").expect("key"), key);
        assert_eq!(
            store.keys[0].private_key("store-pw"),
            Err(JksError::KeyPassword("alias".into()))
        );
        assert_eq!(
            parse(&data, Some("wrong")).map(|_| ()),
            Err(JksError::Integrity)
        );
        // Without a password the integrity check is skipped, as in Java.
        assert!(parse(&data, None).is_ok());
        assert_eq!(
            parse(&data[..data.len() - 30], None).map(|_| ()),
            Err(JksError::Malformed)
        );
        assert_eq!(
            parse(b"\x30\x82\x01\x00\x02\x01", None).map(|_| ()),
            Err(JksError::NotJks)
        );
    }
}
