//! Submitting and reading contacts.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{SubsecRound, TimeDelta};
use futures_util::{StreamExt, stream};
use sha2::{Digest, Sha256};

use super::{model::Submitted, repo as key_repo, validate::FieldError};
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyPrincipal, AgencyScope},
    clocks,
    contact::{
        NewContact,
        repo::{self, RatingChange},
    },
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
    /// A request with the same `Idempotency-Key` is still being processed.
    #[error("a request with this Idempotency-Key is in flight")]
    KeyInFlight,
    /// The `Idempotency-Key` was used before with a different body.
    #[error("the Idempotency-Key was used with a different body")]
    KeyReused,
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

/// How long an `Idempotency-Key` is remembered.
pub const KEY_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// Stores a new contact for `agency`, or returns the stored one for a retry.
///
/// With an `Idempotency-Key` (the IETF httpapi draft's semantics): the key's first use is
/// recorded with the contact, in the same transaction; the same key and body again within
/// [`KEY_LIFETIME`] is answered as the first was ([`Submitted::Repeated`]); the same key with a
/// different body is [`IntakeError::KeyReused`]; and while a request with the key is still being
/// processed, another is [`IntakeError::KeyInFlight`]. The agency reference still de-duplicates
/// underneath: a new key with an old reference is a replay or a conflict as without a key.
#[tracing::instrument(skip_all, fields(agency_id = %agency.agency_id, contact_id))]
pub async fn submit_contact(
    state: &AppState,
    agency: &AgencyPrincipal,
    contact: &NewContact,
    key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let hash = request_hash(contact)?;
    let submission = serde_json::to_value(contact)?;
    let (db, clock, policy) = (&state.db, state.clock.as_ref(), &*state.policy);
    let id = ContactId::generate();
    let mut tx = db.begin().await?;
    if let Some(key) = key {
        if !key_repo::try_lock_key(&mut tx, agency.agency_id, key).await? {
            return Err(IntakeError::KeyInFlight);
        }
        if let Some((first_hash, contact_id, status)) =
            key_repo::find_key(&mut tx, agency.agency_id, key, clock.now() - KEY_LIFETIME).await?
        {
            tx.rollback().await?;
            if first_hash != hash {
                tracing::info!(contact_id = %contact_id, "idempotency key reused with a different body");
                return Err(IntakeError::KeyReused);
            }
            return repeat(state, agency, contact_id, status).await;
        }
    }
    triage::service::lock_children(&mut tx, contact).await?;
    // Read the clock only once the child locks are held (see `lock_children`). To the
    // microsecond, as PostgreSQL stores it: every instant derived from receipt (the hub's
    // deadline, read back from stored segments, and the agency's own) then has the same
    // precision, and none betrays by its digits how it was computed.
    let now = clock.now().trunc_subsecs(6);
    // The insert comes first: when another transaction holds the same reference, this waits for
    // it and then does nothing, so a losing racer writes nothing at all.
    let inserted =
        repo::insert_contact(&mut tx, id, agency.agency_id, &contact.agency_reference, &hash, now, &submission).await?;
    let Some(mut record) = inserted else {
        tx.rollback().await?;
        return replay(state, agency, &contact.agency_reference, &hash, key).await;
    };
    if let Some(key) = key {
        key_repo::record_key(&mut tx, agency.agency_id, key, (&hash, id, 201), now).await?;
    }
    // Triage in the same transaction: a contact is never stored unclassified.
    let classified =
        triage::service::classify_new_contact(&mut tx, policy, id, contact, (agency.agency_id, agency.kind), now)
            .await?;
    let decision = &classified.hub;
    // The decision clock starts at receipt, in the same transaction; the rating and the deadline
    // it implies are written to the contact together.
    let (due, steps) = clocks::service::start_decision_clock(&mut tx, policy, id, decision.level, now).await?;
    let classification = serde_json::to_value(triage::service::classification_of(decision))?;
    // The agency is answered with what it may see, which never rests on other agencies' contacts.
    let (shown, own_view) = triage::service::agency_view_at_intake(policy, &classified, due, now);
    let rating = RatingChange {
        urgency: &decision.urgency,
        queue: &decision.queue,
        classification: Some(&classification),
        decision_due_at: due,
    };
    // The hub's rating, the agency's view and the re-referral flag: one statement.
    repo::set_intake_rating(&mut tx, id, &rating, (&shown, &own_view), classified.re_referral).await?;
    record.urgency = Some(shown.urgency);
    record.queue = Some(shown.queue);
    record.classification = Some(shown.classification);
    record.decision_due_at = shown.decision_due_at;
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
    state.metrics.contact_received(agency.kind.into(), &decision.urgency);
    tracing::Span::current().record("contact_id", tracing::field::display(id));
    tracing::info!("contact received");
    Ok(Submitted::Created(record))
}

/// Batch items stored at once: enough to overlap round trips, few enough to leave the pool
/// connections for other requests.
const BATCH_CONCURRENCY: usize = 4;

/// Why one item of a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BatchItemError {
    /// The item is not a valid contact: every field at fault.
    #[error("the contact is not valid")]
    Invalid(Vec<FieldError>),
    /// Storing it failed as a single submission would have.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Not tried: the store was found unavailable for an earlier item, and each try would only
    /// wait out the pool timeout. Resending is safe.
    #[error("not tried: the store is unavailable")]
    StoreUnavailable,
}

/// Stores each item of a batch on its own, in request order of the answers: one bad item never
/// loses the others, and each gets the outcome it would have had alone.
///
/// Items that repeat an earlier item's `agency_reference` wait until the earlier ones are stored,
/// so the first occurrence wins and the repeats are replays or conflicts, exactly as if they had
/// been sent one after another. Once the store is found unavailable, the remaining items are not
/// tried.
pub async fn submit_batch(
    state: &AppState,
    agency: &AgencyPrincipal,
    items: Vec<Result<NewContact, Vec<FieldError>>>,
) -> Vec<Result<Submitted, BatchItemError>> {
    let mut seen = std::collections::HashSet::new();
    let (firsts, repeats): (Vec<_>, Vec<_>) = items.into_iter().enumerate().partition(|(_, item)| match item {
        Ok(contact) => seen.insert(contact.agency_reference.clone()),
        Err(_) => true,
    });
    let store_down = AtomicBool::new(false);
    let one = async |index: usize, item: Result<NewContact, Vec<FieldError>>| {
        let outcome = match item {
            Err(errors) => Err(BatchItemError::Invalid(errors)),
            Ok(_) if store_down.load(Ordering::Relaxed) => Err(BatchItemError::StoreUnavailable),
            Ok(contact) => {
                let outcome = submit_contact(state, agency, &contact, None).await.map_err(BatchItemError::from);
                if matches!(outcome, Err(BatchItemError::Intake(IntakeError::Store(StoreError::Unavailable(_))))) {
                    store_down.store(true, Ordering::Relaxed);
                }
                outcome
            }
        };
        (index, outcome)
    };
    let mut results: Vec<(usize, Result<Submitted, BatchItemError>)> =
        stream::iter(firsts).map(|(index, item)| one(index, item)).buffered(BATCH_CONCURRENCY).collect().await;
    for (index, item) in repeats {
        results.push(one(index, item).await);
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// A retry: the stored contact when the body matches, a conflict when it does not. With an
/// `Idempotency-Key`, the key is recorded for the replay (taking the key's lock again first).
async fn replay(
    state: &AppState,
    agency: &AgencyPrincipal,
    reference: &str,
    hash: &[u8],
    key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let mut tx = state.db.begin().await?;
    if let Some(key) = key
        && !key_repo::try_lock_key(&mut tx, agency.agency_id, key).await?
    {
        return Err(IntakeError::KeyInFlight);
    }
    let (record, stored_hash) = repo::find_by_reference(&mut tx, AgencyScope::Own(agency.agency_id), reference)
        .await?
        // The conflicting row committed before we looked, and rows are never deleted.
        .ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
    if stored_hash != hash {
        tx.rollback().await?;
        tracing::info!(contact_id = %record.id, "agency reference reused with a different body");
        return Err(IntakeError::ReferenceConflict);
    }
    let now = state.clock.now();
    if let Some(key) = key {
        key_repo::record_key(&mut tx, agency.agency_id, key, (hash, record.id, 200), now).await?;
    }
    audit::record(
        &mut tx,
        now,
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

/// A repeat of a request with the same `Idempotency-Key` and body: the contact as it is now,
/// answered with the first request's status; audited as a replay.
async fn repeat(
    state: &AppState,
    agency: &AgencyPrincipal,
    id: ContactId,
    status: i16,
) -> Result<Submitted, IntakeError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let record = repo::find_contact(tx, AgencyScope::Own(agency.agency_id), id)
            .await?
            .ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
        audit::record(
            tx,
            state.clock.now(),
            &Actor::agency(agency.agency_id, agency.key_id),
            AuditAction::ContactReplayed,
            Some(id),
            serde_json::json!({ "idempotency_key": true }),
        )
        .await?;
        tracing::info!(contact_id = %id, "contact submission repeated under its idempotency key");
        Ok(Submitted::Repeated(record, u16::try_from(status).unwrap_or(200)))
    })
    .await
}

/// Forgets `Idempotency-Key`s older than [`KEY_LIFETIME`]; returns how many.
pub async fn prune_idempotency_keys(state: &AppState) -> Result<u64, StoreError> {
    let before = state.clock.now() - KEY_LIFETIME;
    crate::db::in_transaction(&state.db, async |tx| Ok(key_repo::prune_keys(tx, before).await?)).await
}
