//! Creating agencies, staff and keys, turning a presented key into a [`Principal`], and the
//! key lifecycle: listing, revoking, rotating, expiring, and deactivating staff.
//!
//! A key is live while it is not revoked, not past its `expires_at` and not held by deactivated
//! staff. [`authenticate`] checks all three against PostgreSQL, and reuses the answer for a few
//! seconds (`cache::revocable`) only while it is told of every change: a change committed by the
//! command line (or an admin) on any machine announces itself with the commit
//! ([`follow_key_changes`]), so every replica, the one that made the change included, refuses
//! the key within milliseconds.

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{
    model::{
        AgencyKind, AgencyPrincipal, DeactivatedStaff, KeyOwner, KeyStatus, KeySummary, Principal, Role, RotatedKey,
        StaffPrincipal,
    },
    repo,
};
use crate::{
    audit::{self, Actor, AuditAction},
    db::StoreError,
    id::{AgencyId, ApiKeyId, StaffId},
    state::AppState,
    vocabulary::ContactSource,
};

/// Every key starts with this, so secret scanners and people can recognise one.
const KEY_PREFIX: &str = "mash_";
/// Random bytes in a key: 192 bits, far beyond guessing, so a fast hash (SHA-256) is enough.
const KEY_BYTES: usize = 24;

/// Why a caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No key, or a key that is unknown or revoked.
    #[error("missing or unknown API key")]
    Unauthenticated,
    /// A valid key whose principal may not use this route.
    #[error("this key may not use this operation")]
    Forbidden,
    /// The agency named on the command line does not exist.
    #[error("no agency with that id or name")]
    UnknownAgency,
    /// An agency with that name exists already.
    #[error("an agency with that name exists already")]
    DuplicateAgency,
    /// No key with that id.
    #[error("no key with that id")]
    UnknownKey,
    /// Rotation of a key that no longer lets anyone in: revoked, expired, or its staff member
    /// deactivated. Issuing a successor would bring back a credential someone chose to end.
    #[error("the key is revoked or expired, or its staff member is deactivated")]
    KeyNotLive,
    /// No staff member with that id.
    #[error("no staff member with that id")]
    UnknownStaff,
    /// A key asked to expire at or before the moment it is issued.
    #[error("the expiry must be in the future")]
    ExpiryNotInFuture,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuthError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A newly issued key: the secret is shown once and never stored.
#[derive(Debug)]
pub struct IssuedKey {
    pub id: ApiKeyId,
    pub secret: String,
}

/// The stored form of a key.
pub(crate) fn hash_key(secret: &str) -> crate::cache::revocable::KeyHash {
    Sha256::digest(secret.as_bytes()).into()
}

fn generate_secret() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Resolves a presented key to its principal.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Principal, AuthError> {
    // Anything not shaped like one of our keys cannot match; skip the database.
    if !secret.starts_with(KEY_PREFIX) || secret.len() != KEY_PREFIX.len() + KEY_BYTES * 2 {
        return Err(AuthError::Unauthenticated);
    }
    // A key's expiry is in real time, even for a sandbox agency whose test clock has moved.
    let now = state.clock.wall();
    let hash = hash_key(secret);
    let ticket = match state.keys.get::<Principal>(&hash, now) {
        Ok(principal) => return Ok(principal),
        Err(ticket) => ticket,
    };
    // An unknown key is not remembered: a new key works at once, and guesses fill nothing.
    let (principal, expires_at) =
        repo::find_principal_by_key_hash(&state.db, &hash, now).await?.ok_or(AuthError::Unauthenticated)?;
    state.keys.put(ticket, hash, principal, expires_at);
    Ok(principal)
}

/// How often a process proves that its key-change listener hears notifications.
const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps this process's key cache told of every committed change to a key, a member of staff
/// or an agency's kind, until `shutdown`: the cache is used only while this process's own
/// heartbeats come back (see `cache::revocable`). PostgreSQL delivers notifications in commit
/// order, so a heartbeat sent at `t` and heard proves that every change committed before `t`
/// has been heard; the cache then stays on until `t` plus `cache::revocable::ALIVE_FOR`.
/// Runs beside every HTTP server (`app::bind`), on a pool of its own (one connection listens,
/// one sends the heartbeat), so that a busy request pool neither delays the heartbeat nor takes
/// the listener's connection.
pub async fn follow_key_changes(state: std::sync::Arc<AppState>, shutdown: tokio_util::sync::CancellationToken) {
    /// Stops the cache however this ends, a panic included.
    struct StopOnDrop<'a>(&'a crate::cache::Revocable);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    let _stop = StopOnDrop(&state.keys);
    if state.settings.http.key_cache_seconds == 0 {
        return;
    }
    let pool = match crate::db::listener_pool(&state.settings.database) {
        Ok(pool) => pool,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for key changes; keys are read from PostgreSQL on every request");
            return;
        }
    };
    // This process's heartbeats: a random tag and a sequence number, and when each was sent.
    let tag = format!("{:016x}", rand::random::<u64>());
    let sent: std::sync::Mutex<std::collections::VecDeque<(u64, tokio::time::Instant)>> = std::sync::Mutex::default();
    let pause = async || {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(HEARTBEAT_EVERY) => {}
        }
    };
    let heartbeat = async {
        let mut seq = 0u64;
        while !shutdown.is_cancelled() {
            seq += 1;
            {
                let mut sent = sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                sent.push_back((seq, tokio::time::Instant::now()));
                if sent.len() > 16 {
                    sent.pop_front();
                }
            }
            let payload = format!("{tag}:{seq}");
            let beat = tokio::time::timeout(HEARTBEAT_EVERY, repo::send_key_heartbeat(&pool, &payload));
            if !matches!(beat.await, Ok(Ok(()))) {
                tracing::debug!("key-change heartbeat not sent in time");
            }
            pause().await;
        }
    };
    let on_news = |news: repo::KeyNews| match news {
        repo::KeyNews::Changed => state.keys.forget_all(),
        repo::KeyNews::Heard(payload) => {
            let ours = payload.strip_prefix(&tag).and_then(|s| s.strip_prefix(':')).and_then(|s| s.parse::<u64>().ok());
            let at = ours.and_then(|seq| {
                let sent = sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                sent.iter().find(|(s, _)| *s == seq).map(|(_, at)| *at)
            });
            if let Some(at) = at {
                state.keys.heard(at);
            }
        }
    };
    let listening = async {
        // Said once per outage, not every second of it.
        let mut reported = false;
        while !shutdown.is_cancelled() {
            let heard = repo::listen_for_key_changes(&pool, crate::cache::revocable::ALIVE_FOR, &on_news);
            let result = tokio::select! {
                () = shutdown.cancelled() => Ok(()),
                result = heard => result,
            };
            let was_live = state.keys.listening();
            state.keys.stop();
            if shutdown.is_cancelled() {
                break;
            }
            reported &= !was_live;
            if !reported {
                let error = result.as_ref().err().map(ToString::to_string);
                tracing::warn!(
                    error = error.as_deref().unwrap_or("lost or silent"),
                    "key-change listener down; keys are read from PostgreSQL until it is back"
                );
                reported = true;
            }
            if result.is_err() {
                pause().await;
            }
        }
    };
    tokio::join!(heartbeat, listening);
}

impl Principal {
    /// The agency behind this principal, or `Forbidden` for staff.
    pub fn require_agency(&self) -> Result<AgencyPrincipal, AuthError> {
        match self {
            Self::Agency(agency) => Ok(*agency),
            Self::Staff(_) => Err(AuthError::Forbidden),
        }
    }

    /// The staff member behind this principal if their role is one of `roles`.
    pub fn require_staff(&self, roles: &[Role]) -> Result<StaffPrincipal, AuthError> {
        match self {
            Self::Staff(staff) if roles.contains(&staff.role) => Ok(*staff),
            _ => Err(AuthError::Forbidden),
        }
    }

    /// Who this principal is, for the audit trail.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Agency(a) => Actor::agency(a.agency_id, a.key_id),
            Self::Staff(s) => Actor::staff(s.staff_id, s.key_id),
        }
    }
}

/// Creates an agency (command line), with the contact source its kind usually means. Audited
/// as a system action.
pub async fn create_agency(state: &AppState, name: &str, kind: AgencyKind) -> Result<AgencyId, AuthError> {
    create_agency_with_source(state, name, kind, ContactSource::default_for(kind)).await
}

/// Creates an agency with its contact source (the census code its contacts are reported under).
pub async fn create_agency_with_source(
    state: &AppState,
    name: &str,
    kind: AgencyKind,
    source: ContactSource,
) -> Result<AgencyId, AuthError> {
    let id = AgencyId::generate();
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        if !repo::insert_agency(tx, id, name, (kind, source), now).await? {
            return Err(AuthError::DuplicateAgency);
        }
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::AgencyCreated,
            None,
            serde_json::json!({ "agency_id": id, "kind": kind, "contact_source": source }),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// Changes an agency's contact source (command line); audited as a system action.
pub async fn set_contact_source(state: &AppState, id: AgencyId, source: ContactSource) -> Result<(), AuthError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        if !repo::set_contact_source(tx, id, source).await? {
            return Err(AuthError::UnknownAgency);
        }
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::AgencyChanged,
            None,
            serde_json::json!({ "agency_id": id, "contact_source": source }),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Staff who work contacts (practitioners and managers, not those who left): (id, name, role),
/// by name. What a manager assigns to.
pub async fn caseworkers(state: &AppState) -> Result<Vec<(StaffId, String, String)>, AuthError> {
    Ok(repo::caseworkers(&state.db).await?)
}

/// Whether an agency exists.
pub async fn agency_exists(conn: &mut sqlx::PgConnection, id: AgencyId) -> Result<bool, sqlx::Error> {
    repo::agency_exists(conn, id).await
}

/// Finds an agency by id or exact name.
pub async fn find_agency(state: &AppState, id_or_name: &str) -> Result<AgencyId, AuthError> {
    let by_id = id_or_name.parse::<uuid::Uuid>().ok().map(AgencyId);
    repo::find_agency(&state.db, by_id, id_or_name).await?.ok_or(AuthError::UnknownAgency)
}

/// Refuses an expiry that would make a key dead on arrival.
fn check_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), AuthError> {
    match expires_at {
        Some(at) if at <= now => Err(AuthError::ExpiryNotInFuture),
        _ => Ok(()),
    }
}

/// Issues a key for an existing agency that works until revoked.
pub async fn create_agency_key(state: &AppState, agency_id: AgencyId) -> Result<IssuedKey, AuthError> {
    create_agency_key_expiring(state, agency_id, None).await
}

/// Issues a key for an existing agency that stops working after `expires_at` (if given).
pub async fn create_agency_key_expiring(
    state: &AppState,
    agency_id: AgencyId,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedKey, AuthError> {
    let key = IssuedKey { id: ApiKeyId::generate(), secret: generate_secret() };
    let now = state.clock.now();
    check_expiry(expires_at, now)?;
    crate::db::in_transaction(&state.db, async |tx| {
        repo::insert_key(tx, key.id, &hash_key(&key.secret), Some(agency_id), None, now, expires_at).await?;
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::ApiKeyCreated,
            None,
            serde_json::json!({ "api_key_id": key.id, "agency_id": agency_id, "expires_at": expires_at }),
        )
        .await?;
        Ok(key)
    })
    .await
}

/// Creates a staff member with one role and issues their key, which works until revoked.
pub async fn create_staff_with_key(
    state: &AppState,
    name: &str,
    role: Role,
) -> Result<(StaffId, IssuedKey), AuthError> {
    create_staff_with_key_expiring(state, name, role, None).await
}

/// Creates a staff member with one role and issues their key, which stops working after
/// `expires_at` (if given).
pub async fn create_staff_with_key_expiring(
    state: &AppState,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(StaffId, IssuedKey), AuthError> {
    let now = state.clock.now();
    check_expiry(expires_at, now)?;
    crate::db::in_transaction(&state.db, async |tx| {
        create_staff_with_key_in(tx, &Actor::system(), (name, role), now, expires_at).await
    })
    .await
}

/// [`create_staff_with_key_expiring`] within the caller's transaction, by `actor`.
pub async fn create_staff_with_key_in(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    (name, role): (&str, Role),
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(StaffId, IssuedKey), AuthError> {
    let staff_id = StaffId::generate();
    let key = IssuedKey { id: ApiKeyId::generate(), secret: generate_secret() };
    repo::insert_staff(tx, staff_id, name, role, now).await?;
    repo::insert_key(tx, key.id, &hash_key(&key.secret), None, Some(staff_id), now, expires_at).await?;
    audit::record(
        tx,
        now,
        actor,
        AuditAction::StaffCreated,
        None,
        serde_json::json!({ "staff_id": staff_id, "role": role, "api_key_id": key.id, "expires_at": expires_at }),
    )
    .await?;
    Ok((staff_id, key))
}

/// Every key, oldest first, with its owner and whether it is live now. Never the secret or its
/// hash; staff are named by id and role only.
pub async fn list_keys(state: &AppState) -> Result<Vec<KeySummary>, AuthError> {
    let now = state.clock.now();
    let rows = repo::list_keys(&state.db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let owner = match (row.agency_id, row.agency_name, row.staff_id, row.staff_role) {
                (Some(id), Some(name), _, _) => KeyOwner::Agency { id, name },
                (_, _, Some(id), Some(role)) => KeyOwner::Staff { id, role: role.parse().ok()? },
                _ => return None,
            };
            let status = if row.revoked_at.is_some() {
                KeyStatus::Revoked
            } else if row.staff_deactivated {
                KeyStatus::StaffDeactivated
            } else if row.expires_at.is_some_and(|at| at <= now) {
                KeyStatus::Expired
            } else {
                KeyStatus::Live
            };
            Some(KeySummary {
                id: row.id,
                owner,
                created_at: row.created_at,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                status,
            })
        })
        .collect())
}

/// The owner's ids for an audit detail.
fn owner_detail(agency_id: Option<AgencyId>, staff_id: Option<StaffId>) -> serde_json::Value {
    match (agency_id, staff_id) {
        (Some(agency_id), _) => serde_json::json!({ "agency_id": agency_id }),
        (_, staff_id) => serde_json::json!({ "staff_id": staff_id }),
    }
}

/// Revokes a key: 401 within milliseconds on every replica (`follow_key_changes`). `Ok(false)`
/// when it was revoked already (nothing changes, so nothing is audited).
pub async fn revoke_key(state: &AppState, actor: &Actor, key_id: ApiKeyId) -> Result<bool, AuthError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        let key = repo::lock_key(tx, key_id).await?.ok_or(AuthError::UnknownKey)?;
        if key.revoked_at.is_some() {
            return Ok(false);
        }
        repo::revoke_key(tx, key_id, now).await?;
        let mut detail = owner_detail(key.agency_id, key.staff_id);
        detail["api_key_id"] = serde_json::json!(key_id);
        audit::record(tx, now, actor, AuditAction::ApiKeyRevoked, None, detail).await?;
        Ok(true)
    })
    .await
}

/// Issues a new key for the owner of a live key, shown once, and ends the old one after
/// `grace` (at once when `grace` is zero), so a partner can switch without downtime. The old
/// key's expiry only ever moves earlier. The new key expires at `new_expires_at`, if given.
pub async fn rotate_key(
    state: &AppState,
    actor: &Actor,
    key_id: ApiKeyId,
    grace: TimeDelta,
    new_expires_at: Option<DateTime<Utc>>,
) -> Result<RotatedKey, AuthError> {
    let now = state.clock.now();
    check_expiry(new_expires_at, now)?;
    let new = IssuedKey { id: ApiKeyId::generate(), secret: generate_secret() };
    crate::db::in_transaction(&state.db, async |tx| {
        let old = repo::lock_key(tx, key_id).await?.ok_or(AuthError::UnknownKey)?;
        if old.revoked_at.is_some() || old.staff_deactivated || old.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::KeyNotLive);
        }
        repo::insert_key(tx, new.id, &hash_key(&new.secret), old.agency_id, old.staff_id, now, new_expires_at).await?;
        let old_stops_at = if grace <= TimeDelta::zero() {
            // Revoked rather than expired: revocation needs no clock, so no replica whose
            // clock is a moment behind this one lets the key in again.
            repo::revoke_key(tx, key_id, now).await?;
            now
        } else {
            let at = old.expires_at.map_or(now + grace, |at| at.min(now + grace));
            repo::expire_key_at(tx, key_id, at).await?;
            at
        };
        let mut detail = owner_detail(old.agency_id, old.staff_id);
        detail["api_key_id"] = serde_json::json!(key_id);
        detail["new_api_key_id"] = serde_json::json!(new.id);
        detail["old_key_stops_at"] = serde_json::json!(old_stops_at);
        detail["new_key_expires_at"] = serde_json::json!(new_expires_at);
        audit::record(tx, now, actor, AuditAction::ApiKeyRotated, None, detail).await?;
        Ok(RotatedKey { new, old_stops_at })
    })
    .await
}

/// Deactivates a member of staff who has left, in one audited transaction: every key of theirs
/// is revoked (so each is 401 everywhere within a second), they can no longer be assigned work, and
/// the lease of each contact they hold ends, so colleagues may claim it at once and the
/// claim-expiry round returns it to its queue. `Ok(None)` when they were deactivated already.
pub async fn deactivate_staff(
    state: &AppState,
    actor: &Actor,
    staff_id: StaffId,
) -> Result<Option<DeactivatedStaff>, AuthError> {
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        match repo::deactivate_staff(tx, staff_id, now).await? {
            None => return Err(AuthError::UnknownStaff),
            Some(false) => return Ok(None),
            Some(true) => {}
        }
        let revoked_keys = repo::revoke_staff_keys(tx, staff_id, now).await?;
        let ended_claims = repo::end_claims_of(tx, staff_id).await?;
        audit::record(
            tx,
            now,
            actor,
            AuditAction::StaffDeactivated,
            None,
            serde_json::json!({
                "staff_id": staff_id,
                "revoked_api_key_ids": revoked_keys,
                "ended_claims_contact_ids": ended_claims,
            }),
        )
        .await?;
        Ok(Some(DeactivatedStaff { revoked_keys, ended_claims }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_prefixed_and_hash_to_32_bytes() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + KEY_BYTES * 2);
        assert_eq!(hash_key(&a).len(), 32);
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn roles_gate_staff_and_agencies_separately() {
        let staff = Principal::Staff(StaffPrincipal {
            staff_id: StaffId::generate(),
            role: Role::Practitioner,
            key_id: ApiKeyId::generate(),
        });
        assert!(staff.require_staff(&[Role::Practitioner, Role::Manager]).is_ok());
        assert!(matches!(staff.require_staff(&[Role::Auditor]), Err(AuthError::Forbidden)));
        assert!(matches!(staff.require_agency(), Err(AuthError::Forbidden)));
    }
}
