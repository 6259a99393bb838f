//! Console sessions: a member of staff signs in once and the server remembers them. The browser
//! holds a random token; the database holds its SHA-256, who it is, how they signed in, a CSRF
//! token for the session's forms, and when it ends (idle timeout, absolute lifetime). Every
//! resumption re-checks the way in: a staff key that was revoked or expired, or a member of
//! staff who left, ends the session there and then.
//!
//! Sessions run on the hub's wall clock: a sandbox agency's test clock never ends one.
//!
//! Signing in with a staff key is the one way in today. Single sign-on (`OpenID` Connect) is
//! another [`SignIn`] method: it would resolve its subject to a member of staff and call
//! [`start`] the same way; nothing else changes.

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{
    model::{Principal, StaffPrincipal},
    repo,
    service::{self, AuthError},
};
use crate::{
    audit::{self, Actor, AuditAction},
    state::AppState,
};

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub staff: StaffPrincipal,
    /// Every form of the session carries it.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// How a member of staff proved who they are.
#[derive(Debug)]
pub enum SignIn<'a> {
    /// Their staff key (the only credential the product has today).
    StaffKey(&'a str),
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn limits(state: &AppState) -> (TimeDelta, TimeDelta) {
    let c = &state.settings.console;
    (TimeDelta::minutes(c.idle_timeout_minutes), TimeDelta::hours(c.lifetime_hours))
}

/// Starts a session for a member of staff; returns the token for the cookie, and the session.
/// An agency's key cannot sign in (`Forbidden`); an unknown, revoked or expired one is
/// `Unauthenticated`. Audited as the member of staff.
pub async fn start(state: &AppState, how: SignIn<'_>) -> Result<(String, Session), AuthError> {
    let SignIn::StaffKey(secret) = how;
    let staff = match service::authenticate(state, secret).await? {
        Principal::Staff(staff) => staff,
        Principal::Agency(_) => return Err(AuthError::Forbidden),
    };
    let (token, csrf_token) = (random_hex(), random_hex());
    let now = state.clock.wall();
    let expires_at = now + limits(state).1;
    crate::db::in_transaction(&state.db, async |tx| {
        repo::insert_session(tx, &token_hash(&token), &staff, &csrf_token, now, expires_at).await?;
        let actor = Actor::staff(staff.staff_id, staff.key_id);
        audit::record(tx, now, &actor, AuditAction::SessionStarted, None, serde_json::json!({ "method": "staff_key" }))
            .await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    Ok((token, Session { staff, csrf_token, expires_at }))
}

/// The live session behind `token`, its last use moved to now when `used` (a page's own
/// refresh, such as the live board's, is not use: an unattended board must not keep a session
/// alive past its idle timeout); `None` when there is none (never was, signed out, or ended now
/// because it was idle too long, outlived its lifetime, or its key or member of staff is no
/// longer live: each ending is recorded once).
pub async fn resume(state: &AppState, token: &str, used: bool) -> Result<Option<Session>, AuthError> {
    let now = state.clock.wall();
    let (idle, _) = limits(state);
    let hash = token_hash(token);
    crate::db::in_transaction(&state.db, async |tx| {
        let Some(row) = repo::lock_session(tx, &hash, now).await? else { return Ok(None) };
        let ended = if !row.key_live {
            Some("key_revoked")
        } else if now >= row.expires_at {
            Some("expired")
        } else if now - row.last_seen_at >= idle {
            Some("idle")
        } else {
            None
        };
        if let Some(reason) = ended {
            repo::end_session(tx, &hash, now, reason).await?;
            let actor = Actor::staff(row.staff.staff_id, row.staff.key_id);
            audit::record(tx, now, &actor, AuditAction::SessionEnded, None, serde_json::json!({ "reason": reason }))
                .await?;
            return Ok(None);
        }
        if used {
            repo::touch_session(tx, &hash, now).await?;
        }
        Ok::<_, AuthError>(Some(Session { staff: row.staff, csrf_token: row.csrf_token, expires_at: row.expires_at }))
    })
    .await
}

/// Ends the session behind `token` (signing out); audited. Nothing happens for a token that has
/// no live session.
pub async fn end(state: &AppState, token: &str) -> Result<(), AuthError> {
    let now = state.clock.wall();
    let hash = token_hash(token);
    crate::db::in_transaction(&state.db, async |tx| {
        if let Some(row) = repo::lock_session(tx, &hash, now).await? {
            repo::end_session(tx, &hash, now, "signed_out").await?;
            let actor = Actor::staff(row.staff.staff_id, row.staff.key_id);
            audit::record(
                tx,
                now,
                &actor,
                AuditAction::SessionEnded,
                None,
                serde_json::json!({ "reason": "signed_out" }),
            )
            .await?;
        }
        Ok::<_, AuthError>(())
    })
    .await
}

/// Whether `given` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    let (a, b) = (session.csrf_token.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
