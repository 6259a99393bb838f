//! A value read from the system of record and reused for a few seconds: the hub-wide counts
//! that dashboards, `/metrics` and staff boards ask for constantly (see `monitoring` and
//! `worklist::service::queues`).
//!
//! Stale while revalidating: a reader gets the last value at once; when it is older than the
//! freshness window, the reader that notices starts one read in the background (never two at a
//! time) and the next reader sees the new value. So a reader never waits on an aggregate over
//! the open work, however large, and the database pays for at most one read per window per
//! process, and only while somebody is looking. Only the very first read waits (there is
//! nothing to show yet), as does every read when the window is zero (tests, and hubs that
//! prefer exactness to speed).

pub mod revocable;

pub use revocable::Revocable;

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

// Tokio's instant, so tests can run the window on a paused clock.
use tokio::time::Instant;

/// The last value and when it was read.
pub struct Fresh<T> {
    inner: Arc<Mutex<Slot<T>>>,
    window: Duration,
}

struct Slot<T> {
    value: Option<(Arc<T>, Instant)>,
    reading: bool,
}

impl<T> Clone for Fresh<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), window: self.window }
    }
}

impl<T: Send + Sync + 'static> Fresh<T> {
    /// A cache whose values are fresh for `window`.
    pub fn new(window: Duration) -> Self {
        Self { inner: Arc::new(Mutex::new(Slot { value: None, reading: false })), window }
    }

    /// The cached value, starting a background `read` when it is stale; waits for `read` only
    /// when there is no value yet or the window is zero. A failed background read keeps the old
    /// value (the next reader tries again).
    pub async fn get<E, F, Fut>(&self, read: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let cached = {
            let mut slot = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match slot.value.clone() {
                Some((value, at)) if !self.window.is_zero() => {
                    let revalidate = at.elapsed() >= self.window && !slot.reading;
                    slot.reading |= revalidate;
                    Some((value, revalidate))
                }
                _ => None,
            }
        };
        let Some((value, revalidate)) = cached else {
            let value = Arc::new(read().await?);
            let mut slot = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            slot.value = Some((value.clone(), Instant::now()));
            return Ok(value);
        };
        if revalidate {
            let this = self.clone();
            let pending = read();
            tokio::spawn(async move {
                let outcome = pending.await;
                let mut slot = this.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                slot.reading = false;
                match outcome {
                    Ok(value) => slot.value = Some((Arc::new(value), Instant::now())),
                    Err(err) => tracing::warn!(error = %err, "could not refresh cached counts; keeping the last"),
                }
            });
        }
        Ok(value)
    }
}

/// One [`Fresh`] per cached type, all with the same window: a service's caches.
pub struct Caches {
    slots: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    window: Duration,
}

impl Caches {
    pub fn new(window: Duration) -> Self {
        Self { slots: Mutex::new(HashMap::new()), window }
    }

    /// The cache of `T` values (the same one on every call).
    pub fn of<T: Send + Sync + 'static>(&self) -> Fresh<T> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(Fresh::<T>::new(self.window)))
            .downcast_ref::<Fresh<T>>()
            .cloned()
            .unwrap_or_else(|| Fresh::new(self.window))
    }
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").field("window", &self.window).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stale_value_is_served_at_once_and_refreshed_once_in_the_background() {
        let reads = Arc::new(AtomicU32::new(0));
        let cache = Fresh::new(Duration::from_millis(50));
        let read = || {
            let reads = reads.clone();
            async move { Ok::<_, String>(reads.fetch_add(1, Ordering::SeqCst) + 1) }
        };
        assert_eq!(*cache.get(read).await.unwrap(), 1, "the first read waits");
        assert_eq!(*cache.get(read).await.unwrap(), 1, "fresh: no read");
        tokio::time::sleep(Duration::from_millis(60)).await;
        // Stale: served at once, one background read however many readers notice.
        let (a, b) = tokio::join!(cache.get(read), cache.get(read));
        assert_eq!((*a.unwrap(), *b.unwrap()), (1, 1));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        assert_eq!(*cache.get(read).await.unwrap(), 2, "the refreshed value");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_window_reads_every_time_and_a_failed_refresh_keeps_the_value() {
        let cache = Fresh::new(Duration::ZERO);
        assert_eq!(*cache.get(|| async { Ok::<_, String>(1) }).await.unwrap(), 1);
        assert_eq!(*cache.get(|| async { Ok::<_, String>(2) }).await.unwrap(), 2);
        let cache = Fresh::new(Duration::from_millis(10));
        assert_eq!(*cache.get(|| async { Ok::<_, String>(1) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(*cache.get(|| async { Err::<u32, _>("down".to_owned()) }).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(*cache.get(|| async { Ok::<_, String>(3) }).await.unwrap(), 1, "stale served while re-reading");
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(*cache.get(|| async { Ok::<_, String>(4) }).await.unwrap(), 3, "fresh again: no read");
    }
}
