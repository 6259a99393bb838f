//! The append-only audit trail: who did what, when, to which contact.
//!
//! Invariants:
//! - Every write, and every read of a contact by anyone, is recorded by [`record`] on the same
//!   connection (the same transaction) as the change or read it describes: if the change rolls
//!   back, so does its record, and a change cannot commit without one.
//! - The database refuses UPDATE, DELETE and TRUNCATE on `audit_events` (a trigger), and the
//!   runtime role holds no privilege to do them or to lift the trigger (migration
//!   `20261130000011_grant_runtime_privileges.sql`).
//! - Every row is a link in a hash chain, set by the database as it is inserted; [`verify`]
//!   re-checks every chain and names the first broken link ([`chain`]).
//! - `detail` carries ids and codes only, never personal data.

pub mod chain;
pub mod model;
mod repo;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

pub use chain::{BrokenLink, LinkProblem, Verdict};
pub use model::{Actor, ActorKind, AuditAction, AuditEvent, AuditFilter};

use crate::{db::StoreError, id::ContactId, state::AppState};

/// Appends one audit event on `conn`, which should be the transaction of the change it records.
pub async fn record(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: AuditAction,
    contact_id: Option<ContactId>,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    repo::insert_event(conn, at, actor, action, contact_id, &detail).await.map_err(StoreError::from)
}

/// Records a refused request by a known key in its own transaction: `status` (403 or 404), the
/// route template (`/v1/contacts/{id}`) and the ids it named. Never the raw path, which may hold
/// whatever the caller typed.
pub async fn record_access_denied(
    state: &AppState,
    actor: &Actor,
    status: u16,
    method: &str,
    route: &str,
    ids: &[uuid::Uuid],
) -> Result<(), StoreError> {
    let detail = serde_json::json!({ "status": status, "method": method, "route": route, "ids": ids });
    let at = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        repo::insert_event(tx, at, actor, AuditAction::AccessDenied, None, &detail).await.map_err(StoreError::from)
    })
    .await
}

/// Appends one audit event per contact, all with the same action (a batch of ladder steps).
pub async fn record_many(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: AuditAction,
    contact_ids: &[ContactId],
    details: &[serde_json::Value],
) -> Result<(), StoreError> {
    let actors = vec![actor; contact_ids.len()];
    repo::insert_events(conn, at, action, &actors, contact_ids, details).await.map_err(StoreError::from)
}

/// Adds to a statement one audit event per contact, all with the same action, each by its own
/// actor, for the contacts the expression `only` lists (in intake's statement, those it
/// inserted).
pub fn push_each(
    qb: &mut sqlx::QueryBuilder<sqlx::Postgres>,
    at: DateTime<Utc>,
    action: AuditAction,
    (actors, contact_ids, details): (&[&Actor], &[ContactId], &[serde_json::Value]),
    only: &'static str,
) {
    repo::push_events(qb, at, action, actors, contact_ids, details, Some(only));
}

/// Lists audit events, oldest first, and records that the auditor looked.
pub async fn list(state: &AppState, actor: &Actor, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
    let at = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        let events = repo::list_events(tx, filter).await?;
        let detail = serde_json::json!({
            "contact_id": filter.contact_id,
            "actor_id": filter.actor_id,
            "action": filter.action,
            "from": filter.from,
            "to": filter.to,
            "after": filter.after,
            "returned": events.len(),
        });
        repo::insert_event(tx, at, actor, AuditAction::AuditListed, None, &detail).await?;
        Ok(events)
    })
    .await
}

/// The writes recorded against one contact, oldest first: the history staff see.
pub async fn contact_history(conn: &mut PgConnection, contact_id: ContactId) -> Result<Vec<AuditEvent>, StoreError> {
    repo::contact_writes(conn, contact_id).await.map_err(StoreError::from)
}

/// Rows read per query while verifying: bounded memory on a trail of any length.
const VERIFY_PAGE: i64 = 5000;

/// Re-checks every hash chain of the audit trail in one read-only snapshot; the first broken link
/// if there is one. Reads ids, positions and hashes, never shows the rows' content.
pub async fn verify(state: &AppState) -> Result<Verdict, StoreError> {
    let mut tx = state.db.begin().await?;
    repo::begin_snapshot(&mut tx).await?;
    let mut walk = chain::ChainWalk::default();
    let mut after = None;
    loop {
        let links = repo::chain_links(&mut tx, after, VERIFY_PAGE).await?;
        for link in &links {
            if let Err(first) = walk.check(link) {
                return Ok(Verdict::Broken { checked: walk.events, first });
            }
        }
        match links.last() {
            Some(last) if links.len() == usize::try_from(VERIFY_PAGE).unwrap_or(usize::MAX) => {
                after = Some((last.chain_day, last.chain_lane, last.chain_seq));
            }
            _ => break,
        }
    }
    if let Some(event_id) = repo::first_unchained(&mut tx).await? {
        let first = BrokenLink { chain: "none".into(), seq: None, event_id, problem: LinkProblem::Unchained };
        return Ok(Verdict::Broken { checked: walk.events, first });
    }
    tx.rollback().await?;
    Ok(Verdict::Sound { events: walk.events, chains: walk.chains })
}
