//! Source offsets: the key encoding shared with Kafka Connect
//! (`["connector", {partition}]` as compact JSON) and the standalone file
//! store.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_api::{lock, OffsetMap, OffsetStorageReader};
use serde_json::Value as Json;
use thiserror::Error;

use crate::offset_file::{self, OffsetFileError, RawOffsets};

#[derive(Debug, Error)]
pub enum OffsetStoreError {
    #[error("cannot read offsets file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write offsets file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("offsets file {path}: {source}")]
    Format {
        path: PathBuf,
        source: OffsetFileError,
    },
    #[error("cannot write offsets to topic {topic}: {source}")]
    Topic {
        topic: String,
        source: ferry_kafka::KafkaClientError,
    },
}

/// The offsets-topic key of a source partition.
pub fn offset_key(connector: &str, partition: &OffsetMap) -> Vec<u8> {
    let key = Json::Array(vec![
        Json::String(connector.to_owned()),
        Json::Object(partition.clone()),
    ]);
    // Serializing a Value cannot fail.
    serde_json::to_vec(&key).unwrap_or_default()
}

/// Parses an offsets-topic key; keys that are not `[string, object]` are
/// skipped, as Kafka Connect does.
pub fn parse_offset_key(key: &[u8]) -> Option<(String, OffsetMap)> {
    match serde_json::from_slice::<Json>(key).ok()? {
        Json::Array(mut items) if items.len() == 2 => {
            let partition = match items.pop()? {
                Json::Object(m) => m,
                _ => return None,
            };
            match items.pop()? {
                Json::String(name) => Some((name, partition)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Where committed source offsets live.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap>;
    /// Writes offsets (`None` = delete) and makes them durable before
    /// returning. Many tasks commit at once when a connector with many
    /// tasks stops, so this waits without holding a thread.
    async fn put(
        &self,
        connector: &str,
        offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), OffsetStoreError>;
    /// Every partition with an offset for `connector`.
    fn connector_offsets(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)>;
}

/// Committed offsets in memory, keyed by parsed (connector, canonical
/// partition) so that a key written with another field order by another
/// writer still matches; the key bytes first seen are kept and reused when
/// writing, so compaction and Java readers line up.
#[derive(Default)]
pub struct OffsetCache {
    data: HashMap<(String, String), Entry>,
}

struct Entry {
    key_bytes: Vec<u8>,
    value: Option<Vec<u8>>,
}

fn canonical(partition: &OffsetMap) -> String {
    // serde_json's map keeps insertion order; sort for a canonical identity.
    let mut sorted: Vec<_> = partition.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    serde_json::to_string(&sorted).unwrap_or_default()
}

impl OffsetCache {
    /// Applies a record as stored (file entry or offsets-topic record);
    /// keys that are not `[connector, partition]` are skipped.
    pub fn apply_raw(&mut self, key_bytes: &[u8], value: Option<&[u8]>) {
        if let Some((name, partition)) = parse_offset_key(key_bytes) {
            self.data.insert(
                (name, canonical(&partition)),
                Entry {
                    key_bytes: key_bytes.to_vec(),
                    value: value.map(<[u8]>::to_vec),
                },
            );
        }
    }

    pub fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        let entry = self
            .data
            .get(&(connector.to_owned(), canonical(partition)))?;
        match serde_json::from_slice::<Json>(entry.value.as_deref()?).ok()? {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Applies new offsets (`None` = delete) and returns the records to
    /// store: (key bytes, value bytes or `None` for a tombstone).
    pub fn update(
        &mut self,
        connector: &str,
        offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut out = Vec::with_capacity(offsets.len());
        for (partition, offset) in offsets {
            let id = (connector.to_owned(), canonical(&partition));
            let value = offset.map(|o| serde_json::to_vec(&Json::Object(o)).unwrap_or_default());
            let entry = self.data.entry(id).or_insert_with(|| Entry {
                key_bytes: offset_key(connector, &partition),
                value: None,
            });
            entry.value = value;
            out.push((entry.key_bytes.clone(), entry.value.clone()));
        }
        out
    }

    /// Every stored record, for rewriting a whole file.
    pub fn raw(&self) -> RawOffsets {
        self.data
            .values()
            .map(|e| (e.key_bytes.clone(), e.value.clone()))
            .collect()
    }

    pub fn connector_offsets(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        let mut out: Vec<(OffsetMap, OffsetMap)> = self
            .data
            .iter()
            .filter(|((name, _), _)| name == connector)
            .filter_map(|(_, e)| {
                let (_, partition) = parse_offset_key(&e.key_bytes)?;
                match serde_json::from_slice::<Json>(e.value.as_deref()?).ok()? {
                    Json::Object(o) => Some((partition, o)),
                    _ => None,
                }
            })
            .collect();
        out.sort_by_key(|(p, _)| canonical(p));
        out
    }
}

/// Kafka Connect's `FileOffsetBackingStore`: all offsets in memory, the
/// whole map rewritten atomically (temp file, fsync, rename) on each commit.
/// Commits that arrive while a write is under way are written together by
/// the next one (group commit), so a thousand tasks stopping at once cost a
/// few file writes, not a thousand.
pub struct FileOffsetStore {
    path: PathBuf,
    data: Mutex<Versioned>,
    /// Held while writing; holds the version of the data last written.
    written: tokio::sync::Mutex<u64>,
}

#[derive(Default)]
struct Versioned {
    cache: OffsetCache,
    /// Bumped by every update.
    version: u64,
}

impl FileOffsetStore {
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, OffsetStoreError> {
        let path = path.into();
        let mut data = OffsetCache::default();
        match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => {
                let raw =
                    offset_file::decode(&bytes).map_err(|source| OffsetStoreError::Format {
                        path: path.clone(),
                        source,
                    })?;
                for (key_bytes, value) in raw {
                    data.apply_raw(&key_bytes, value.as_deref());
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(OffsetStoreError::Read { path, source }),
        }
        Ok(FileOffsetStore {
            path,
            data: Mutex::new(Versioned {
                cache: data,
                version: 0,
            }),
            written: tokio::sync::Mutex::new(0),
        })
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the
/// new file, never a torn one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    fn get(&self, connector: &str, partition: &OffsetMap) -> Option<OffsetMap> {
        lock(&self.data).cache.get(connector, partition)
    }

    async fn put(
        &self,
        connector: &str,
        offsets: Vec<(OffsetMap, Option<OffsetMap>)>,
    ) -> Result<(), OffsetStoreError> {
        let mine = {
            let mut data = lock(&self.data);
            data.cache.update(connector, offsets);
            data.version += 1;
            data.version
        };
        let mut written = self.written.lock().await;
        if *written >= mine {
            // A write that began after this update already covered it.
            return Ok(());
        }
        let (version, bytes) = {
            let data = lock(&self.data);
            (data.version, offset_file::encode(&data.cache.raw()))
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| OffsetStoreError::Write {
                path: self.path.clone(),
                source,
            })?;
        *written = version;
        Ok(())
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)> {
        lock(&self.data).cache.connector_offsets(connector)
    }
}

/// A source task's view of its connector's committed offsets.
pub struct ConnectorOffsetReader {
    pub connector: String,
    pub store: Arc<dyn OffsetStore>,
}

impl OffsetStorageReader for ConnectorOffsetReader {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        self.store.get(&self.connector, partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Json) -> OffsetMap {
        match v {
            Json::Object(m) => m,
            _ => unreachable!("test maps are objects"),
        }
    }

    #[test]
    fn keys_match_kafka_connect() {
        let p = map(json!({"filename": "/tmp/in.txt"}));
        assert_eq!(
            offset_key("file-source", &p),
            br#"["file-source",{"filename":"/tmp/in.txt"}]"#
        );
        assert_eq!(
            parse_offset_key(&offset_key("c", &p)),
            Some(("c".to_owned(), p))
        );
        assert_eq!(parse_offset_key(b"[1,2]"), None);
        assert_eq!(parse_offset_key(b"[\"c\",null]"), None);
    }

    #[tokio::test]
    async fn file_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets");
        let p = map(json!({"filename": "a"}));
        {
            let s = FileOffsetStore::open(&path).unwrap();
            s.put("c", vec![(p.clone(), Some(map(json!({"position": 10}))))])
                .await
                .unwrap();
            s.put("c", vec![(p.clone(), Some(map(json!({"position": 20}))))])
                .await
                .unwrap();
        }
        let s = FileOffsetStore::open(&path).unwrap();
        assert_eq!(s.get("c", &p), Some(map(json!({"position": 20}))));
        assert_eq!(s.connector_offsets("c").len(), 1);
        s.put("c", vec![(p.clone(), None)]).await.unwrap();
        assert_eq!(s.get("c", &p), None);
        assert!(s.connector_offsets("c").is_empty());
    }
}
