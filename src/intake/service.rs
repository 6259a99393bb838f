//! Submitting and reading contacts.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{
    model::{ContactRecord, NewContact, StaffContact, Submitted},
    repo,
};
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyPrincipal, AgencyScope},
    clock::Clock,
    db::StoreError,
    id::ContactId,
    redis_store::RedisStore,
    sla,
    triage::{self, Policy},
};

/// Why a submission or read did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The agency reference is taken by a contact with a different body.
    #[error("agency_reference is already used by a different contact")]
    ReferenceConflict,
    /// No such contact within the caller's scope.
    #[error("contact not found")]
    NotFound,
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
    db: &PgPool,
    redis: &RedisStore,
    clock: &dyn Clock,
    policy: &Policy,
    agency: &AgencyPrincipal,
    contact: &NewContact,
) -> Result<Submitted, IntakeError> {
    let hash = request_hash(contact)?;
    let submission = serde_json::to_value(contact)?;
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
        return replay(db, clock, agency, &contact.agency_reference, &hash).await;
    };
    // Triage in the same transaction: a contact is never stored unclassified.
    let decision = triage::service::classify_new_contact(&mut tx, policy, id, contact, agency.kind, now).await?;
    record.urgency = Some(decision.urgency.clone());
    record.queue = Some(decision.queue.clone());
    record.classification = Some(triage::service::classification_of(&decision));
    // The decision clock starts at receipt, in the same transaction.
    let (due, steps) = sla::service::start_decision_clock(&mut tx, policy, id, decision.level, now).await?;
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
    sla::timer::schedule_or_log(redis, &steps).await;
    tracing::Span::current().record("contact_id", tracing::field::display(id));
    tracing::info!("contact received");
    Ok(Submitted::Created(record))
}

/// A retry: the stored contact when the body matches, a conflict when it does not.
async fn replay(
    db: &PgPool,
    clock: &dyn Clock,
    agency: &AgencyPrincipal,
    reference: &str,
    hash: &[u8],
) -> Result<Submitted, IntakeError> {
    let mut tx = db.begin().await?;
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
        clock.now(),
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

/// The submitting agency's view of its own contact; audited as a read.
pub async fn read_contact_as_agency(
    db: &PgPool,
    clock: &dyn Clock,
    agency: &AgencyPrincipal,
    id: ContactId,
) -> Result<ContactRecord, IntakeError> {
    let mut tx = db.begin().await?;
    let record =
        repo::find_contact(&mut tx, AgencyScope::Own(agency.agency_id), id).await?.ok_or(IntakeError::NotFound)?;
    audit::record(
        &mut tx,
        clock.now(),
        &Actor::agency(agency.agency_id, agency.key_id),
        AuditAction::ContactRead,
        Some(id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// Everything hub staff may see of a contact; audited as a read by `actor`.
pub async fn read_contact_as_staff(
    db: &PgPool,
    clock: &dyn Clock,
    actor: &Actor,
    id: ContactId,
) -> Result<StaffContact, IntakeError> {
    let mut tx = db.begin().await?;
    let contact =
        repo::find_staff_contact(&mut tx, AgencyScope::AllAgencies, id).await?.ok_or(IntakeError::NotFound)?;
    let history = audit::contact_history(&mut tx, id).await?;
    let children = triage::repo::children_of(&mut tx, AgencyScope::AllAgencies, id).await?;
    let ratings = triage::repo::ratings(&mut tx, AgencyScope::AllAgencies, id).await?;
    let notes = crate::worklist::repo::notes(&mut tx, id).await?;
    let decision = crate::worklist::repo::decision(&mut tx, id).await?;
    let deliveries = crate::webhook::repo::deliveries_of(&mut tx, id).await?;
    audit::record(
        &mut tx,
        clock.now(),
        actor,
        AuditAction::ContactRead,
        Some(id),
        serde_json::json!({ "view": "staff" }),
    )
    .await?;
    tx.commit().await?;
    Ok(StaffContact { history, children, ratings, notes, decision, deliveries, ..contact })
}

/// The contact's current version (for an `ETag` after a change that does not bump it).
pub async fn current_version(db: &PgPool, id: ContactId) -> Result<i64, IntakeError> {
    let mut conn = db.acquire().await?;
    Ok(repo::find_contact(&mut conn, AgencyScope::AllAgencies, id).await?.ok_or(IntakeError::NotFound)?.version)
}
