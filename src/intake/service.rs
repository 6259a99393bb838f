//! Submitting and reading contacts.

use sha2::{Digest, Sha256};

use super::model::Submitted;
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyPrincipal, AgencyScope},
    clocks,
    contact::{NewContact, repo},
    db::StoreError,
    id::ContactId,
    state::AppState,
    triage,
};

/// Why a submission or read did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The agency reference is taken by a contact with a different body.
    #[error("agency_reference is already used by a different contact")]
    ReferenceConflict,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The contact could not be encoded for storage (a bug: every field is plain data).
    #[error("could not encode the contact")]
    Encode(#[from] serde_json::Error),
}

impl From<sqlx::Error> for IntakeError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The idempotency fingerprint of a submission: SHA-256 over its normalised form, so key order,
/// whitespace and `null`-versus-absent do not make a retry look different.
pub fn request_hash(contact: &NewContact) -> Result<Vec<u8>, serde_json::Error> {
    Ok(Sha256::digest(serde_json::to_vec(contact)?).to_vec())
}

/// Stores a new contact for `agency`, or returns the stored one for a retry.
#[tracing::instrument(skip_all, fields(agency_id = %agency.agency_id, contact_id))]
pub async fn submit_contact(
    state: &AppState,
    agency: &AgencyPrincipal,
    contact: &NewContact,
) -> Result<Submitted, IntakeError> {
    let hash = request_hash(contact)?;
    let submission = serde_json::to_value(contact)?;
    let (db, clock, policy) = (&state.db, state.clock.as_ref(), &*state.policy);
    let id = ContactId::generate();
    let mut tx = db.begin().await?;
    triage::service::lock_children(&mut tx, contact).await?;
    // Read the clock only once the child locks are held (see `lock_children`).
    let now = clock.now();
    // The insert comes first: when another transaction holds the same reference, this waits for
    // it and then does nothing, so a losing racer writes nothing at all.
    let inserted =
        repo::insert_contact(&mut tx, id, agency.agency_id, &contact.agency_reference, &hash, now, &submission).await?;
    let Some(mut record) = inserted else {
        tx.rollback().await?;
        return replay(state, agency, &contact.agency_reference, &hash).await;
    };
    // Triage in the same transaction: a contact is never stored unclassified.
    let decision = triage::service::classify_new_contact(&mut tx, policy, id, contact, agency.kind, now).await?;
    record.urgency = Some(decision.urgency.clone());
    record.queue = Some(decision.queue.clone());
    record.classification = Some(triage::service::classification_of(&decision));
    // The decision clock starts at receipt, in the same transaction.
    let (due, steps) = clocks::service::start_decision_clock(&mut tx, policy, id, decision.level, now).await?;
    record.decision_due_at = due;
    audit::record(
        &mut tx,
        now,
        &Actor::agency(agency.agency_id, agency.key_id),
        AuditAction::ContactSubmitted,
        Some(id),
        serde_json::json!({
            "children": contact.children.len(),
            "concerns": contact.concerns,
            "urgency": decision.urgency,
            "queue": decision.queue,
            "policy_version": decision.policy_version,
        }),
    )
    .await?;
    tx.commit().await?;
    clocks::timer::schedule_or_log(&state.redis, &steps).await;
    tracing::Span::current().record("contact_id", tracing::field::display(id));
    tracing::info!("contact received");
    Ok(Submitted::Created(record))
}

/// A retry: the stored contact when the body matches, a conflict when it does not.
async fn replay(
    state: &AppState,
    agency: &AgencyPrincipal,
    reference: &str,
    hash: &[u8],
) -> Result<Submitted, IntakeError> {
    let mut tx = state.db.begin().await?;
    let (record, stored_hash) = repo::find_by_reference(&mut tx, AgencyScope::Own(agency.agency_id), reference)
        .await?
        // The conflicting row committed before we looked, and rows are never deleted.
        .ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
    if stored_hash != hash {
        tx.rollback().await?;
        tracing::info!(contact_id = %record.id, "agency reference reused with a different body");
        return Err(IntakeError::ReferenceConflict);
    }
    audit::record(
        &mut tx,
        state.clock.now(),
        &Actor::agency(agency.agency_id, agency.key_id),
        AuditAction::ContactReplayed,
        Some(record.id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(contact_id = %record.id, "contact submission replayed");
    Ok(Submitted::Replayed(record))
}
