//! Connector and task states, as the status endpoints report them, and the
//! topics each connector has used (KIP-558). Standalone keeps both in memory,
//! as Kafka Connect's `MemoryStatusBackingStore` does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::entities::State;

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
}

#[derive(Default)]
struct Inner {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
    topics: BTreeMap<String, BTreeSet<String>>,
}

pub struct StatusStore {
    worker_id: String,
    inner: Mutex<Inner>,
    /// Bumped by every topic reset, so tasks caching what they reported
    /// know to report again.
    topic_resets: AtomicU64,
}

impl StatusStore {
    pub fn new(worker_id: impl Into<String>) -> Self {
        StatusStore {
            worker_id: worker_id.into(),
            inner: Mutex::new(Inner::default()),
            topic_resets: AtomicU64::new(0),
        }
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.clone(),
        }
    }

    pub fn set_connector(&self, name: &str, state: State, trace: Option<String>) {
        let s = self.status(state, trace);
        self.lock().connectors.insert(name.to_owned(), s);
    }

    pub fn set_task(&self, connector: &str, task: u32, state: State, trace: Option<String>) {
        let s = self.status(state, trace);
        self.lock().tasks.insert((connector.to_owned(), task), s);
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
        self.lock().topics.remove(connector);
        self.topic_resets.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever tracked topics were reset.
    pub fn topic_resets(&self) -> u64 {
        self.topic_resets.load(Ordering::Acquire)
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
