//! Locks whose holders may have panicked.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, taking over a lock poisoned by a panic elsewhere: what such a
/// lock guards here is plain data that stays usable, and a worker must not
/// take one task's panic down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
