//! The signal a task receives when the runtime stops it.
//!
//! Kafka Connect calls `SourceTask.stop()` from another thread while
//! `poll()` may be blocked, so that the task can interrupt it. Here `poll`
//! holds the task mutably, so nothing else can call into the task while it
//! runs; instead the task's context carries a [`StopSignal`] that the
//! runtime fires as soon as the task is to stop. A `poll` (or a sink's
//! `put` / `flush`) that waits for data can wait for the signal at the
//! same time and return early. The runtime calls `stop()` afterwards, once
//! the loop has ended, as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::sync::lock;

/// A one-way switch from "running" to "stopping", shared by clones.
/// [`stopped`](StopSignal::stopped) returns a future that resolves once
/// [`stop`](StopSignal::stop) is called, and
/// [`unless_stopped`](StopSignal::unless_stopped) runs a future until it
/// completes or the signal fires; neither needs a particular async runtime.
///
/// ```
/// # use ferry_api::StopSignal;
/// # async fn wait_for_data() -> Vec<u8> { Vec::new() }
/// async fn next(stop: &StopSignal) -> Option<Vec<u8>> {
///     // Whichever comes first: data, or the task being stopped.
///     tokio::select! {
///         data = wait_for_data() => Some(data),
///         () = stop.stopped() => None,
///     }
/// }
/// ```
#[derive(Clone, Default)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    next_id: AtomicU64,
    /// Wakers of the `Stopped` futures waiting now, by their id.
    waiting: Mutex<Vec<(u64, Waker)>>,
}

impl StopSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Fires the signal: [`is_stopped`](Self::is_stopped) turns true and
    /// every [`stopped`](Self::stopped) future resolves. Firing again does
    /// nothing. The runtime calls this; a test kit may too.
    pub fn stop(&self) {
        if !self.inner.stopped.swap(true, Ordering::AcqRel) {
            let waiting = std::mem::take(&mut *lock(&self.inner.waiting));
            for (_, waker) in waiting {
                waker.wake();
            }
        }
    }

    /// Whether the signal has fired.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    /// A future that resolves once the signal fires (at once if it has).
    /// It holds its own reference, so it can be moved into a spawned task.
    pub fn stopped(&self) -> Stopped {
        Stopped {
            inner: self.inner.clone(),
            id: None,
        }
    }

    /// Runs `work` until it completes (`Some` of its output) or the signal
    /// fires (`None`; `work` is dropped). A fired signal wins even when
    /// `work` could complete too.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ferry_api::StopSignal;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let stop = StopSignal::new();
    /// let waited = stop.unless_stopped(tokio::time::sleep(Duration::from_millis(1)));
    /// assert_eq!(waited.await, Some(()));
    /// stop.stop();
    /// let waited = stop.unless_stopped(tokio::time::sleep(Duration::from_secs(3600)));
    /// assert_eq!(waited.await, None);
    /// # }
    /// ```
    pub async fn unless_stopped<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        let mut stopped = self.stopped();
        std::future::poll_fn(|cx| {
            if Pin::new(&mut stopped).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopSignal")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// The future of [`StopSignal::stopped`].
pub struct Stopped {
    inner: Arc<Inner>,
    /// Set while this future's waker is registered.
    id: Option<u64>,
}

impl Future for Stopped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.stopped.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        let inner = self.inner.clone();
        let mut waiting = lock(&inner.waiting);
        // Checked again under the lock: `stop` sets the flag before it
        // takes the wakers, so a waker registered now is still woken.
        if inner.stopped.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        match self
            .id
            .and_then(|id| waiting.iter_mut().find(|(i, _)| *i == id))
        {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => {
                let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
                waiting.push((id, cx.waker().clone()));
                self.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for Stopped {
    /// A future dropped before the signal fired (one branch of a `select!`
    /// that lost) takes its waker away, so that waiting repeatedly does
    /// not pile wakers up.
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock(&self.inner.waiting).retain(|(i, _)| *i != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stopped_resolves_when_the_signal_fires() {
        let signal = StopSignal::new();
        assert!(!signal.is_stopped());
        let waiting = tokio::spawn(signal.stopped());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        signal.clone().stop();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("resolved once fired")
            .expect("joined");
        assert!(signal.is_stopped());
        // Fired signals resolve new futures at once; firing again is harmless.
        signal.stop();
        signal.stopped().await;
    }

    #[tokio::test]
    async fn unless_stopped_ends_waiting_work_when_the_signal_fires() {
        let signal = StopSignal::new();
        let fire = signal.clone();
        let waiting = tokio::spawn(async move {
            signal
                .unless_stopped(tokio::time::sleep(Duration::from_secs(3600)))
                .await
        });
        tokio::task::yield_now().await;
        fire.stop();
        let outcome = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("ended by the signal")
            .expect("joined");
        assert_eq!(outcome, None);
        // Work that is ready still loses to a fired signal.
        assert_eq!(fire.unless_stopped(async { 1 }).await, None);
        assert_eq!(StopSignal::new().unless_stopped(async { 1 }).await, Some(1));
    }

    #[tokio::test]
    async fn futures_that_lose_a_race_leave_no_waker_behind() {
        let signal = StopSignal::new();
        for _ in 0..100 {
            tokio::select! {
                () = signal.stopped() => panic!("not fired"),
                () = tokio::task::yield_now() => {}
            }
        }
        assert!(lock(&signal.inner.waiting).is_empty());
    }
}
