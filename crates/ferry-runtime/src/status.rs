//! Connector and task states, as the status endpoints report them, and the
//! topics each connector has used (KIP-558). Standalone keeps both in memory,
//! as Kafka Connect's `MemoryStatusBackingStore` does; in distributed mode a
//! [`StatusBackend`] also writes every change to the status topic, and the
//! statuses other workers write there are applied with Kafka Connect's
//! conflict rules ([`StatusStore::apply_record`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::distributed::records::{
    StatusKey, StatusRecord, StatusRecordValue, StatusState, StatusValue, TopicStatusValue,
};
use crate::entities::State;

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    /// The worker group generation of the writer (0 in standalone mode).
    pub generation: i32,
}

/// Where status changes are published (the status topic). Writes must not
/// block: they are called from task loops.
pub trait StatusBackend: Send + Sync {
    fn write(&self, key: String, value: Option<Vec<u8>>);
}

#[derive(Default)]
struct Inner {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
    topics: BTreeMap<String, BTreeSet<String>>,
}

pub struct StatusStore {
    worker_id: String,
    generation: AtomicI32,
    backend: OnceLock<Arc<dyn StatusBackend>>,
    inner: Mutex<Inner>,
    /// Bumped by every topic reset, so tasks caching what they reported
    /// know to report again.
    topic_resets: AtomicU64,
}

impl StatusStore {
    pub fn new(worker_id: impl Into<String>) -> Self {
        StatusStore {
            worker_id: worker_id.into(),
            generation: AtomicI32::new(0),
            backend: OnceLock::new(),
            inner: Mutex::new(Inner::default()),
            topic_resets: AtomicU64::new(0),
        }
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        ferry_api::lock(&self.inner)
    }

    /// Publishes every later change through `backend` (distributed mode).
    pub fn set_backend(&self, backend: Arc<dyn StatusBackend>) {
        let _ = self.backend.set(backend);
    }

    /// The group generation written with this worker's statuses.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::Release);
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.clone(),
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    fn publish(&self, key: StatusKey, status: Option<&Status>) {
        let Some(backend) = self.backend.get() else {
            return;
        };
        let record = StatusRecord {
            key,
            value: status.map(|s| {
                StatusRecordValue::Status(StatusValue {
                    state: status_state(s.state),
                    trace: s.trace.clone(),
                    worker_id: s.worker_id.clone(),
                    generation: s.generation,
                    version: None,
                })
            }),
        };
        let (key, value) = record.encode();
        backend.write(key, value);
    }

    pub fn set_connector(&self, name: &str, state: State, trace: Option<String>) {
        let s = self.status(state, trace);
        self.publish(StatusKey::Connector(name.to_owned()), Some(&s));
        self.lock().connectors.insert(name.to_owned(), s);
    }

    pub fn set_task(&self, connector: &str, task: u32, state: State, trace: Option<String>) {
        let s = self.status(state, trace);
        self.publish(
            StatusKey::Task {
                connector: connector.to_owned(),
                task,
            },
            Some(&s),
        );
        self.lock().tasks.insert((connector.to_owned(), task), s);
    }

    /// Writes tombstones for a deleted connector and its tasks, and forgets
    /// them (distributed mode: the leader cleans up after a deletion).
    pub fn delete_connector(&self, name: &str, tasks: u32) {
        self.publish(StatusKey::Connector(name.to_owned()), None);
        for task in 0..tasks {
            self.publish(
                StatusKey::Task {
                    connector: name.to_owned(),
                    task,
                },
                None,
            );
        }
        self.remove_connector(name);
    }

    /// Applies a record read from the status topic. A status replaces the
    /// cached one unless the cached one is from another worker and a newer
    /// generation; an UNASSIGNED task status from one worker does not
    /// replace another worker's RUNNING one of the same or a newer
    /// generation (the new owner already runs it).
    pub fn apply_record(&self, record: StatusRecord) {
        let mut inner = self.lock();
        match (record.key, record.value) {
            (StatusKey::Connector(name), Some(StatusRecordValue::Status(v))) => {
                let s = from_value(v);
                let keep = inner.connectors.get(&name).is_some_and(|old| {
                    old.worker_id != s.worker_id && old.generation > s.generation
                });
                if !keep {
                    inner.connectors.insert(name, s);
                }
            }
            (StatusKey::Connector(name), None) => {
                inner.connectors.remove(&name);
            }
            (StatusKey::Task { connector, task }, Some(StatusRecordValue::Status(v))) => {
                let s = from_value(v);
                let key = (connector, task);
                let keep = inner.tasks.get(&key).is_some_and(|old| {
                    old.worker_id != s.worker_id
                        && (old.generation > s.generation
                            || (s.state == State::Unassigned
                                && old.state == State::Running
                                && old.generation >= s.generation))
                });
                if !keep {
                    inner.tasks.insert(key, s);
                }
            }
            (StatusKey::Task { connector, task }, None) => {
                inner.tasks.remove(&(connector, task));
            }
            (StatusKey::Topic { topic, connector }, Some(StatusRecordValue::Topic(_))) => {
                inner.topics.entry(connector).or_default().insert(topic);
            }
            (StatusKey::Topic { topic, connector }, None) => {
                if let Some(set) = inner.topics.get_mut(&connector) {
                    set.remove(&topic);
                }
            }
            _ => {}
        }
    }

    pub fn connector(&self, name: &str) -> Option<Status> {
        self.lock().connectors.get(name).cloned()
    }

    pub fn task(&self, connector: &str, task: u32) -> Option<Status> {
        self.lock()
            .tasks
            .get(&(connector.to_owned(), task))
            .cloned()
    }

    /// Task statuses of a connector, by task id.
    pub fn tasks(&self, connector: &str) -> Vec<(u32, Status)> {
        self.lock()
            .tasks
            .range((connector.to_owned(), 0)..=(connector.to_owned(), u32::MAX))
            .map(|((_, t), s)| (*t, s.clone()))
            .collect()
    }

    pub fn remove_task(&self, connector: &str, task: u32) {
        self.lock().tasks.remove(&(connector.to_owned(), task));
    }

    /// Forgets a deleted connector, its tasks and its topics.
    pub fn remove_connector(&self, name: &str) {
        let mut inner = self.lock();
        inner.connectors.remove(name);
        inner.tasks.retain(|(c, _), _| c != name);
        inner.topics.remove(name);
    }

    /// Records that `connector` used `topic`; returns true the first time.
    pub fn record_topic(&self, connector: &str, topic: &str) -> bool {
        let mut inner = self.lock();
        let set = inner.topics.entry(connector.to_owned()).or_default();
        if set.contains(topic) {
            return false;
        }
        set.insert(topic.to_owned());
        drop(inner);
        if let Some(backend) = self.backend.get() {
            let record = StatusRecord {
                key: StatusKey::Topic {
                    topic: topic.to_owned(),
                    connector: connector.to_owned(),
                },
                value: Some(StatusRecordValue::Topic(TopicStatusValue {
                    name: topic.to_owned(),
                    connector: connector.to_owned(),
                    task: 0,
                    discover_timestamp: now_ms(),
                })),
            };
            let (key, value) = record.encode();
            backend.write(key, value);
        }
        true
    }

    pub fn topics(&self, connector: &str) -> Vec<String> {
        self.lock()
            .topics
            .get(connector)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn reset_topics(&self, connector: &str) {
        let removed = self.lock().topics.remove(connector).unwrap_or_default();
        for topic in removed {
            self.publish_topic_tombstone(&topic, connector);
        }
        self.topic_resets.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever tracked topics were reset.
    pub fn topic_resets(&self) -> u64 {
        self.topic_resets.load(Ordering::Acquire)
    }
}

impl StatusStore {
    fn publish_topic_tombstone(&self, topic: &str, connector: &str) {
        if let Some(backend) = self.backend.get() {
            let key = StatusKey::Topic {
                topic: topic.to_owned(),
                connector: connector.to_owned(),
            };
            backend.write(key.to_key_string(), None);
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn status_state(s: State) -> StatusState {
    match s {
        State::Unassigned => StatusState::Unassigned,
        State::Running => StatusState::Running,
        State::Paused => StatusState::Paused,
        State::Failed => StatusState::Failed,
        State::Restarting => StatusState::Restarting,
        State::Stopped => StatusState::Stopped,
    }
}

fn from_value(v: StatusValue) -> Status {
    Status {
        state: match v.state {
            StatusState::Unassigned => State::Unassigned,
            StatusState::Running => State::Running,
            StatusState::Paused => State::Paused,
            StatusState::Failed => State::Failed,
            StatusState::Restarting => State::Restarting,
            StatusState::Stopped => State::Stopped,
        },
        trace: v.trace,
        worker_id: v.worker_id,
        generation: v.generation,
    }
}

/// The text shown as a failed connector's or task's `trace`: the error and
/// its chain of causes, one per line, in the shape of a Java stack trace's
/// "Caused by" lines.
pub fn trace_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str("\nCaused by: ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(task: u32, state: StatusState, worker: &str, generation: i32) -> StatusRecord {
        StatusRecord {
            key: StatusKey::Task {
                connector: "c".into(),
                task,
            },
            value: Some(StatusRecordValue::Status(StatusValue {
                state,
                trace: None,
                worker_id: worker.into(),
                generation,
                version: None,
            })),
        }
    }

    #[test]
    fn statuses_from_the_topic_follow_kafka_connects_conflict_rules() {
        let store = StatusStore::new("w1:8083");
        store.apply_record(record(0, StatusState::Running, "w1:8083", 5));
        // An older generation from another worker does not win.
        store.apply_record(record(0, StatusState::Failed, "w2:8083", 4));
        assert_eq!(store.task("c", 0).map(|s| s.state), Some(State::Running));
        // The old owner's UNASSIGNED does not hide the new owner's RUNNING.
        store.apply_record(record(0, StatusState::Running, "w2:8083", 6));
        store.apply_record(record(0, StatusState::Unassigned, "w1:8083", 6));
        let s = store.task("c", 0).expect("status");
        assert_eq!((s.state, s.worker_id.as_str()), (State::Running, "w2:8083"));
        // The same worker stopping its own task does.
        store.apply_record(record(0, StatusState::Unassigned, "w2:8083", 6));
        assert_eq!(store.task("c", 0).map(|s| s.state), Some(State::Unassigned));
        // A newer generation always wins; a tombstone removes.
        store.apply_record(record(0, StatusState::Failed, "w3:8083", 7));
        assert_eq!(store.task("c", 0).map(|s| s.state), Some(State::Failed));
        store.apply_record(StatusRecord {
            key: StatusKey::Task {
                connector: "c".into(),
                task: 0,
            },
            value: None,
        });
        assert_eq!(store.task("c", 0), None);
    }

    struct Collect(Mutex<Vec<(String, Option<Vec<u8>>)>>);
    impl StatusBackend for Collect {
        fn write(&self, key: String, value: Option<Vec<u8>>) {
            ferry_api::lock(&self.0).push((key, value));
        }
    }

    #[test]
    fn local_changes_are_published_with_the_generation() {
        let store = StatusStore::new("w1:8083");
        let out = Arc::new(Collect(Mutex::new(Vec::new())));
        store.set_backend(out.clone());
        store.set_generation(9);
        store.set_task("c", 2, State::Running, None);
        store.delete_connector("c", 1);
        let written = ferry_api::lock(&out.0).clone();
        assert_eq!(written[0].0, "status-task-c-2");
        let v = crate::distributed::records::decode_status_value(
            written[0].1.as_deref().expect("a value"),
        )
        .expect("decodes");
        assert_eq!(
            (v.state, v.generation, v.worker_id.as_str()),
            (StatusState::Running, 9, "w1:8083")
        );
        assert_eq!(written[1], ("status-connector-c".to_owned(), None));
        assert_eq!(written[2], ("status-task-c-0".to_owned(), None));
    }
}
