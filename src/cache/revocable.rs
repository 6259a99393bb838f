//! Values remembered for a few seconds under a 32-byte key (a key's hash), all forgotten at
//! once when a change is announced: the cache of key lookups (`auth::service::authenticate`).
//!
//! PostgreSQL stays the truth: an entry is only a copy of what a lookup read, and it is dropped
//! the moment anything that could change an answer commits. Triggers on `api_keys`, `staff` and
//! `agencies` (migration `20261204000002`) `NOTIFY mash_keys_changed` in the changing
//! transaction, so the notification leaves with the commit, whoever commits (the API, the
//! command line on another machine, an operator's SQL). Every serving process listens
//! (`auth::service::follow_key_changes`) and forgets every entry when one arrives. Revocations
//! are rare; forgetting everything costs one lookup per active key.
//!
//! Two things bound how long a revoked key could still be let in:
//! - every process forgets when the notification arrives, milliseconds after the commit;
//! - the cache is used only while notifications are seen to arrive: each process also sends a
//!   heartbeat notification every second on a connection of its own, and the cache stays on
//!   until [`ALIVE_FOR`] after the sending of the last of its own heartbeats it heard
//!   (notifications arrive in commit order, so every change committed before that heartbeat
//!   has been heard). A listening connection that is lost turns it off at once and empties it;
//!   one that dies silently (a half-open connection that never errors) hears no heartbeat, so
//!   the cache turns itself off within [`ALIVE_FOR`] of the last one sent, everything is
//!   forgotten before it is used again, and the listener is replaced.
//!
//! No entry is trusted for longer than its lifetime (`http.key_cache_seconds`, at most 60) in
//! any case, counted from before the read.
//!
//! A lookup that started before a change and finishes after the notification must not put its
//! stale answer back: every entry is stored under the generation read before the lookup, and
//! forgetting moves the generation on, so such an answer is dropped. The caller caches only
//! answers worth caching (never an unknown key: a new key works at once, and nobody can fill the
//! cache with guesses); the cache is bounded by [`MAX_ENTRIES`] all the same.
//!
//! Values are stored type-erased (`Any`), so that `AppState` can hold the cache below the layer
//! that defines what it holds.
//!
//! A hand-written map rather than a caching crate: what makes it correct is that the generation
//! check and the insert happen under one lock, which a general-purpose cache's API does not
//! offer; everything else it needs is a `HashMap` and an instant.

use std::{
    any::Any,
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
// Tokio's instant, so the tests can run the lifetime on a paused clock.
use tokio::time::Instant;

/// More live keys than a hub has: past this the cache starts again rather than grow.
pub const MAX_ENTRIES: usize = 50_000;

/// How long the cache stays on after the last notification heard (heartbeats come every second).
pub const ALIVE_FOR: Duration = Duration::from_secs(3);

/// A key's SHA-256, the form in which keys are stored and looked up.
pub type KeyHash = [u8; 32];

/// The cache (one per process, in `AppState`).
pub struct Revocable {
    ttl: Duration,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    /// Until when notifications are known to arrive; `None` when the listener is not connected.
    alive_until: Option<Instant>,
    entries: HashMap<KeyHash, Entry>,
}

impl Inner {
    fn alive(&self) -> bool {
        self.alive_until.is_some_and(|until| until > Instant::now())
    }

    fn forget(&mut self) {
        self.generation += 1;
        self.entries.clear();
    }
}

struct Entry {
    value: Box<dyn Any + Send + Sync>,
    expires_at: Option<DateTime<Utc>>,
    /// When the lookup that read it started.
    read: Instant,
}

/// A ticket for storing the answer of one lookup: the generation it started in, and when.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<(u64, Instant)>);

impl Revocable {
    /// A cache whose entries live at most `ttl`; zero turns it off.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, inner: Mutex::new(Inner::default()), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value cached for `hash` if it is still good at `now` (its own expiry is checked on
    /// every use), or a ticket to store what the lookup reads.
    pub fn get<V: Clone + 'static>(&self, hash: &KeyHash, now: DateTime<Utc>) -> Result<V, Ticket> {
        if self.ttl.is_zero() {
            return Err(Ticket(None));
        }
        let mut inner = self.inner();
        if !inner.alive() {
            return Err(Ticket(None));
        }
        let found = inner.entries.get(hash).map(|e| {
            (e.read.elapsed() < self.ttl && e.expires_at.is_none_or(|at| at > now))
                .then(|| e.value.downcast_ref::<V>().cloned())
                .flatten()
        });
        match found {
            Some(Some(value)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(value)
            }
            stale => {
                if stale.is_some() {
                    inner.entries.remove(hash);
                }
                self.misses.fetch_add(1, Ordering::Relaxed);
                Err(Ticket(Some((inner.generation, Instant::now()))))
            }
        }
    }

    /// Stores what a lookup read, good until `expires_at` at most, unless something changed
    /// since its ticket was taken or the cache has turned off.
    pub fn put<V: Send + Sync + 'static>(
        &self,
        ticket: Ticket,
        hash: KeyHash,
        value: V,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let Ticket(Some((generation, read))) = ticket else { return };
        let mut inner = self.inner();
        if inner.generation != generation || !inner.alive() {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(hash, Entry { value: Box::new(value), expires_at, read });
    }

    /// Forgets every entry: something they were read from changed.
    pub fn forget_all(&self) {
        self.inner().forget();
    }

    /// A heartbeat sent at `sent` was heard: every change committed before it has been heard
    /// too, so the cache may be used until `sent` plus [`ALIVE_FOR`]. After a silence that
    /// turned it off, everything is forgotten first (a change may have gone unheard).
    pub fn heard(&self, sent: Instant) {
        let mut inner = self.inner();
        if !inner.alive() {
            inner.forget();
        }
        let until = sent + ALIVE_FOR;
        inner.alive_until = Some(inner.alive_until.map_or(until, |old| old.max(until)));
    }

    /// The listener is not connected (or never was): the cache is off, and empty, until a
    /// notification is heard again.
    pub fn stop(&self) {
        let mut inner = self.inner();
        inner.alive_until = None;
        inner.forget();
    }

    /// Whether the cache is in use: its lifetime is not zero and notifications arrive.
    pub fn listening(&self) -> bool {
        !self.ttl.is_zero() && self.inner().alive()
    }

    /// Lookups answered from the cache and from PostgreSQL (while it was in use), since start.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Id = uuid::Uuid;

    fn principal() -> Id {
        uuid::Uuid::now_v7()
    }

    fn live_cache() -> Revocable {
        let cache = Revocable::new(Duration::from_secs(5));
        cache.heard(Instant::now());
        cache
    }

    #[tokio::test(start_paused = true)]
    async fn an_entry_serves_until_its_lifetime_or_the_keys_expiry() {
        let cache = Revocable::new(Duration::from_secs(5));
        let now = Utc::now();
        let (hash, who) = ([1; 32], principal());
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        cache.put(ticket, hash, who, None);
        assert!(cache.get::<Id>(&hash, now).is_err(), "nothing is cached before a notification is heard");
        cache.heard(Instant::now());
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        cache.put(ticket, hash, who, Some(now + chrono::TimeDelta::seconds(60)));
        assert_eq!(cache.get::<Id>(&hash, now).ok(), Some(who));
        assert!(cache.get::<Id>(&hash, now + chrono::TimeDelta::seconds(60)).is_err(), "past the key's own expiry");
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        cache.put(ticket, hash, who, None);
        assert!(cache.get::<u32>(&hash, now).is_err(), "a value of another type is not there");

        // The lifetime counts from before the read.
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.heard(Instant::now());
        cache.put(ticket, hash, who, None);
        tokio::time::advance(Duration::from_secs(2)).await;
        cache.heard(Instant::now());
        tokio::time::advance(Duration::from_millis(1_900)).await;
        cache.heard(Instant::now());
        assert!(cache.get::<Id>(&hash, now).is_ok());
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(cache.get::<Id>(&hash, now).is_err(), "never trusted past http.key_cache_seconds");
        assert_eq!(cache.stats(), (2, 6));
    }

    #[test]
    fn a_lookup_that_straddles_a_change_does_not_store_its_stale_answer() {
        let cache = live_cache();
        let now = Utc::now();
        let hash = [2; 32];
        let before_change = cache.get::<Id>(&hash, now).unwrap_err();
        cache.forget_all(); // the revocation's notification arrives while the lookup runs
        cache.put(before_change, hash, principal(), None);
        assert!(cache.get::<Id>(&hash, now).is_err(), "the answer read before the change is dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_cached_while_notifications_do_not_arrive_or_the_lifetime_is_zero() {
        let now = Utc::now();
        let hash = [3; 32];
        let cache = live_cache();
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        cache.put(ticket, hash, principal(), None);
        cache.stop();
        assert!(cache.get::<Id>(&hash, now).is_err(), "a lost listener empties and stops the cache");
        cache.put(ticket, hash, principal(), None);
        cache.heard(Instant::now());
        assert!(cache.get::<Id>(&hash, now).is_err(), "nothing was stored while it was down");

        // A silent connection: no heartbeat for ALIVE_FOR turns it off, and what it held is
        // forgotten before it is used again.
        let ticket = cache.get::<Id>(&hash, now).unwrap_err();
        cache.put(ticket, hash, principal(), None);
        assert!(cache.get::<Id>(&hash, now).is_ok());
        tokio::time::advance(ALIVE_FOR).await;
        assert!(!cache.listening() && cache.get::<Id>(&hash, now).is_err(), "off after a silence");
        cache.heard(Instant::now());
        assert!(cache.get::<Id>(&hash, now).is_err(), "emptied: a change may have gone unheard");

        // A heartbeat heard late counts from when it was sent.
        let sent = Instant::now();
        tokio::time::advance(ALIVE_FOR).await;
        cache.heard(sent);
        assert!(!cache.listening(), "a heartbeat sent ALIVE_FOR ago proves nothing about now");

        let off = Revocable::new(Duration::ZERO);
        off.heard(Instant::now());
        let ticket = off.get::<Id>(&hash, now).unwrap_err();
        off.put(ticket, hash, principal(), None);
        assert!(off.get::<Id>(&hash, now).is_err());
        assert_eq!(off.stats(), (0, 0), "a cache that is off counts nothing");
    }
}
