//! Closing librdkafka clients off the async runtime.

use std::ops::Deref;

/// Owns a librdkafka client and, when dropped inside the async runtime,
/// destroys it on a blocking thread: closing a client joins its threads and
/// a consumer's close also leaves its group, tens of milliseconds to seconds
/// that would otherwise stall a runtime worker (and every task and REST
/// request scheduled on it), and serialize the close of many tasks.
pub struct CloseOffRuntime<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> CloseOffRuntime<T> {
    pub fn new(client: T) -> Self {
        CloseOffRuntime(Some(client))
    }
}

impl<T: Send + 'static> Deref for CloseOffRuntime<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(client) => client,
            // Taken only in `drop`.
            None => unreachable!("client used after drop"),
        }
    }
}

impl<T: Send + 'static> Drop for CloseOffRuntime<T> {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(move || drop(client));
            }
            Err(_) => drop(client),
        }
    }
}
