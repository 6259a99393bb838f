//! Working the queues: claims (leases), release, renewal, expiry, assignment, moves, notes and
//! decisions. Every change is one transaction with its audit record, takes the contact's lock
//! first (the service's one lock order), and honours the caller's `If-Match` version.

use chrono::{DateTime, Utc};

use super::repo;
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{Role, StaffPrincipal},
    clocks::{self, timer},
    contact::{self, ContactStatus, Decision, IfMatch},
    db::{self, StoreError},
    id::{ContactId, StaffId},
    outbox,
    state::AppState,
};

/// Why a worklist operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum WorklistError {
    #[error("no such contact")]
    NotFound,
    /// Feedback recorded for a contact whose feedback clock is not running (undecided, or the
    /// referrer was told already).
    #[error("no running feedback clock")]
    NoFeedbackClock,
    #[error("no such queue")]
    UnknownQueue,
    #[error("no such practitioner or manager")]
    UnknownStaff,
    #[error("only the claim holder or a manager may do this")]
    NotClaimHolder,
    #[error("the contact has changed since it was read")]
    VersionMismatch { current: i64 },
    /// An update without `If-Match`: it could silently undo someone else's change.
    #[error("If-Match is required")]
    VersionRequired,
    #[error("the contact has already been decided")]
    AlreadyDecided,
    /// Authorise or send back a contact whose decision is not awaiting authorisation.
    #[error("no decision awaits authorisation")]
    NotAwaitingAuthorisation,
    /// A manager may not authorise (or send back) their own decision.
    #[error("a decision is authorised by someone other than its author")]
    OwnDecision,
    #[error("someone else holds the contact")]
    ClaimedByOther,
    #[error("invalid field")]
    Invalid { pointer: &'static str, detail: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WorklistError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A claim held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub contact_id: ContactId,
    pub expires_at: DateTime<Utc>,
    pub version: i64,
}

/// What a decision records.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub outcome: String,
    pub rationale: String,
    pub signpost_agency: Option<String>,
    /// The text the referrer will see.
    pub feedback: String,
    /// Why the decision is late (required then, refused otherwise), and its sentence.
    pub late_reason: Option<String>,
    pub late_reason_text: Option<String>,
    /// One of the policy's threshold levels.
    pub threshold_level: String,
}

/// The late reason a decision needs, checked against the policy: required when `late`,
/// refused otherwise; a sentence when the reason asks for one, and only then.
fn late_reason(
    policy: &crate::policy::Policy,
    (reason, sentence): (Option<&str>, Option<&str>),
    late: bool,
) -> Result<(Option<String>, Option<String>), WorklistError> {
    let invalid = |pointer, detail| Err(WorklistError::Invalid { pointer, detail });
    let reason = match (late, reason.map(str::trim).filter(|r| !r.is_empty())) {
        (true, None) => return invalid("/late_reason", "is required: the decision is after the contact's deadline"),
        (false, Some(_)) => return invalid("/late_reason", "is only for a decision after the contact's deadline"),
        (_, Some(r)) if !policy.late_reasons.iter().any(|l| l == r) => {
            return invalid("/late_reason", "must be one of the policy's late reasons");
        }
        (_, reason) => reason.map(str::to_owned),
    };
    let needs_text = reason.as_ref().is_some_and(|r| policy.late_reasons_with_text.contains(r));
    let sentence = sentence.map(str::trim).filter(|t| !t.is_empty());
    let text = match (needs_text, sentence) {
        (true, None) => return invalid("/late_reason_text", "is required for this late reason"),
        (true, Some(t)) => Some(text(t, 2000, "/late_reason_text")?),
        (false, Some(_)) => return invalid("/late_reason_text", "applies only to a late reason that asks for one"),
        (false, None) => None,
    };
    Ok((reason, text))
}

fn text(value: &str, max: usize, pointer: &'static str) -> Result<String, WorklistError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max || t.contains('\0') {
        return Err(WorklistError::Invalid { pointer, detail: "must be text of the allowed length" });
    }
    Ok(t.to_owned())
}

/// Worklist updates require `If-Match`: without it an update could silently undo someone
/// else's change.
fn check_version(expected: Option<IfMatch>, current: i64) -> Result<(), WorklistError> {
    match expected {
        None => Err(WorklistError::VersionRequired),
        Some(tag) if !tag.matches(current) => Err(WorklistError::VersionMismatch { current }),
        Some(_) => Ok(()),
    }
}

fn open(status: ContactStatus) -> Result<(), WorklistError> {
    if status.is_decided() { Err(WorklistError::AlreadyDecided) } else { Ok(()) }
}

/// Gives `staff` the next unclaimed contact of `queue` in working order, or `None`. Under any
/// concurrency two callers never get the same contact (`FOR NO KEY UPDATE SKIP LOCKED`).
pub async fn claim_next(
    state: &AppState,
    staff: &StaffPrincipal,
    queue: &str,
) -> Result<Option<Claimed>, WorklistError> {
    if !state.policy.queues.iter().any(|q| q == queue) {
        return Err(WorklistError::UnknownQueue);
    }
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        // A lease is people's time: the hub's wall clock, even on a sandbox agency's test clock.
        let lease_now = state.clock.wall();
        let expires_at = lease_now + state.policy.claim_lease;
        let mut tried = Vec::new();
        let id = loop {
            let Some(candidate) = repo::lock_next_unclaimed(tx, queue, lease_now, &tried).await? else {
                return Ok(None);
            };
            let lapsed = repo::expired_holder(tx, candidate, lease_now).await?;
            if repo::try_claim(tx, candidate, staff.staff_id, lease_now, expires_at).await? {
                if let Some(previous) = lapsed {
                    // The worker had not yet returned it: record the expiry before the new claim.
                    audit::record(
                        tx,
                        now,
                        &Actor::system(),
                        AuditAction::ClaimExpired,
                        Some(candidate),
                        serde_json::json!({ "staff_id": previous }),
                    )
                    .await?;
                }
                break candidate;
            }
            // Claimed by someone who committed while we looked: try the next one.
            tried.push(candidate);
        };
        let version = contact::repo::set_status(tx, id, ContactStatus::InScreening, None).await?;
        let actor = Actor::staff(staff.staff_id, staff.key_id);
        audit::record(
            tx,
            now,
            &actor,
            AuditAction::ContactClaimed,
            Some(id),
            serde_json::json!({ "queue": queue, "expires_at": expires_at }),
        )
        .await?;
        Ok(Some(Claimed { contact_id: id, expires_at, version }))
    })
    .await
}

/// Claims one named contact (from the list, or back after a lapsed lease) if nobody else
/// holds it.
pub async fn claim_contact(state: &AppState, staff: &StaffPrincipal, id: ContactId) -> Result<Claimed, WorklistError> {
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        // A lease is people's time: the hub's wall clock, even on a sandbox agency's test clock.
        let lease_now = state.clock.wall();
        let target = repo::lock_target(tx, id, lease_now).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        if target.claimed_by.is_some_and(|holder| holder != staff.staff_id) {
            return Err(WorklistError::ClaimedByOther);
        }
        let lapsed = repo::expired_holder(tx, id, lease_now).await?;
        let expires_at = lease_now + state.policy.claim_lease;
        // With the contact locked, only a live claim could stop this, and there is none (or it
        // is the caller's own, which this renews).
        repo::put_claim(tx, id, staff.staff_id, lease_now, expires_at).await?;
        if let Some(previous) = lapsed {
            audit::record(
                tx,
                now,
                &Actor::system(),
                AuditAction::ClaimExpired,
                Some(id),
                serde_json::json!({ "staff_id": previous }),
            )
            .await?;
        }
        let version = contact::repo::set_status(tx, id, ContactStatus::InScreening, None).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(staff.staff_id, staff.key_id),
            AuditAction::ContactClaimed,
            Some(id),
            serde_json::json!({ "queue": target.queue, "expires_at": expires_at }),
        )
        .await?;
        Ok(Claimed { contact_id: id, expires_at, version })
    })
    .await
}

/// The holder extends their claim by a full lease.
pub async fn renew(state: &AppState, staff: &StaffPrincipal, id: ContactId) -> Result<Claimed, WorklistError> {
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        // A lease is people's time: the hub's wall clock, even on a sandbox agency's test clock.
        let lease_now = state.clock.wall();
        let target = repo::lock_target(tx, id, lease_now).await?.ok_or(WorklistError::NotFound)?;
        if target.claimed_by != Some(staff.staff_id) {
            return Err(WorklistError::NotClaimHolder);
        }
        let expires_at = lease_now + state.policy.claim_lease;
        repo::put_claim(tx, id, staff.staff_id, lease_now, expires_at).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(staff.staff_id, staff.key_id),
            AuditAction::ClaimRenewed,
            Some(id),
            serde_json::json!({ "expires_at": expires_at }),
        )
        .await?;
        Ok(Claimed { contact_id: id, expires_at, version: target.version })
    })
    .await
}

/// The holder (or a manager) gives the contact back to its queue.
pub async fn release(
    state: &AppState,
    staff: &StaffPrincipal,
    id: ContactId,
    expected_version: Option<IfMatch>,
) -> Result<i64, WorklistError> {
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let target = repo::lock_target(tx, id, state.clock.wall()).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        // A stale version first: whatever else changed, the caller must read again.
        check_version(expected_version, target.version)?;
        if target.claimed_by != Some(staff.staff_id) && staff.role != Role::Manager {
            return Err(WorklistError::NotClaimHolder);
        }
        repo::delete_claim(tx, id).await?;
        let version = contact::repo::set_status(tx, id, ContactStatus::AwaitingScreening, None).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(staff.staff_id, staff.key_id),
            AuditAction::ClaimReleased,
            Some(id),
            serde_json::json!({ "from": target.claimed_by }),
        )
        .await?;
        Ok(version)
    })
    .await
}

/// Returns contacts with expired claims to their queues (the worker runs it); audited.
pub async fn expire_claims(state: &AppState) -> Result<usize, WorklistError> {
    let queues = db::in_transaction(&state.db, async |tx| -> Result<Vec<Option<String>>, WorklistError> {
        let now = state.clock.now();
        // Lock order: the contacts first (id order, skipping any in use: the next round gets
        // them), then their claims, as every other writer does.
        // Leases are on the wall clock; one reading, so what is locked is what expires.
        let lease_now = state.clock.wall();
        let contacts = repo::lock_contacts_with_expired_claims(tx, lease_now).await?;
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let expired = repo::expire_claims(tx, &contacts, lease_now).await?;
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<ContactId> = expired.iter().map(|(c, _, _)| *c).collect();
        contact::repo::reopen(tx, &ids).await?;
        let details: Vec<serde_json::Value> =
            expired.iter().map(|(_, s, _)| serde_json::json!({ "staff_id": s })).collect();
        audit::record_many(tx, now, &Actor::system(), AuditAction::ClaimExpired, &ids, &details).await?;
        Ok(expired.into_iter().map(|(_, _, queue)| queue).collect())
    })
    .await?;
    for queue in &queues {
        state.metrics.claim_expired(queue.as_deref().unwrap_or("none"));
    }
    Ok(queues.len())
}

/// A manager gives the contact to a named practitioner (a fresh lease), with a reason.
pub async fn assign(
    state: &AppState,
    manager: &StaffPrincipal,
    id: ContactId,
    to: StaffId,
    reason: &str,
    expected_version: Option<IfMatch>,
) -> Result<Claimed, WorklistError> {
    let reason = text(reason, 2000, "/reason")?;
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        // A lease is people's time: the hub's wall clock, even on a sandbox agency's test clock.
        let lease_now = state.clock.wall();
        let target = repo::lock_target(tx, id, lease_now).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        check_version(expected_version, target.version)?;
        if !repo::is_caseworker(tx, to).await? {
            return Err(WorklistError::UnknownStaff);
        }
        let expires_at = lease_now + state.policy.claim_lease;
        repo::put_claim(tx, id, to, lease_now, expires_at).await?;
        let version = contact::repo::set_status(tx, id, ContactStatus::InScreening, None).await?;
        let note = repo::insert_note(tx, id, manager.staff_id, "assignment", &reason, now).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(manager.staff_id, manager.key_id),
            AuditAction::ContactAssigned,
            Some(id),
            serde_json::json!({ "from": target.claimed_by, "to": to, "note_id": note }),
        )
        .await?;
        Ok(Claimed { contact_id: id, expires_at, version })
    })
    .await
}

/// A manager moves the contact to another queue, with a reason; any claim is released.
pub async fn move_to(
    state: &AppState,
    manager: &StaffPrincipal,
    id: ContactId,
    queue: &str,
    reason: &str,
    expected_version: Option<IfMatch>,
) -> Result<i64, WorklistError> {
    if !state.policy.queues.iter().any(|q| q == queue) {
        return Err(WorklistError::Invalid { pointer: "/queue", detail: "must be one of the policy's queues" });
    }
    let reason = text(reason, 2000, "/reason")?;
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let target = repo::lock_target(tx, id, state.clock.wall()).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        check_version(expected_version, target.version)?;
        repo::delete_claim(tx, id).await?;
        let version = contact::repo::set_status(tx, id, ContactStatus::AwaitingScreening, Some(queue)).await?;
        let note = repo::insert_note(tx, id, manager.staff_id, "move", &reason, now).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(manager.staff_id, manager.key_id),
            AuditAction::ContactMoved,
            Some(id),
            serde_json::json!({ "from": target.queue, "to": queue, "released": target.claimed_by, "note_id": note }),
        )
        .await?;
        Ok(version)
    })
    .await
}

/// Adds a staff note (never shown to agencies); audited without its text. Returns the contact's
/// version, which a note does not change.
pub async fn add_note(
    state: &AppState,
    staff: &StaffPrincipal,
    id: ContactId,
    body: &str,
) -> Result<i64, WorklistError> {
    let body = text(body, 10_000, "/body")?;
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let version = contact::repo::version(tx, id).await?.ok_or(WorklistError::NotFound)?;
        let note = repo::insert_note(tx, id, staff.staff_id, "note", &body, now).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(staff.staff_id, staff.key_id),
            AuditAction::NoteAdded,
            Some(id),
            serde_json::json!({ "note_id": note }),
        )
        .await?;
        Ok(version)
    })
    .await
}

/// Records the screening decision: only the claim holder or a manager. The contact becomes
/// `decided`, its claim ends, the decision clock stops (no further ladder steps) and the
/// feedback clock starts; after the commit the ladder index follows. Returns the new version.
pub async fn decide(
    state: &AppState,
    staff: &StaffPrincipal,
    id: ContactId,
    input: &DecisionInput,
    expected_version: Option<IfMatch>,
) -> Result<i64, WorklistError> {
    if !state.policy.outcomes.contains(&input.outcome) {
        return Err(WorklistError::Invalid { pointer: "/outcome", detail: "must be one of the policy's outcomes" });
    }
    if !state.policy.threshold_levels.contains(&input.threshold_level) {
        return Err(WorklistError::Invalid {
            pointer: "/threshold_level",
            detail: "must be one of the policy's threshold levels",
        });
    }
    let rationale = text(&input.rationale, 10_000, "/rationale")?;
    let feedback = text(&input.feedback, 4000, "/feedback")?;
    let signpost = match (input.outcome.as_str(), input.signpost_agency.as_deref().map(str::trim)) {
        ("signpost_other_agency", Some(a)) if !a.is_empty() => Some(text(a, 200, "/signpost_agency")?),
        ("signpost_other_agency", _) => {
            return Err(WorklistError::Invalid { pointer: "/signpost_agency", detail: "is required when signposting" });
        }
        (_, _) => None,
    };
    let (version, stopped, late) = db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let target = repo::lock_target(tx, id, state.clock.wall()).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        check_version(expected_version, target.version)?;
        if target.claimed_by != Some(staff.staff_id) && staff.role != Role::Manager {
            return Err(WorklistError::NotClaimHolder);
        }
        let (late, breached) = repo::lateness(tx, id, now).await?;
        // A reason in the decision wins; otherwise the one a manager recorded before it.
        let recorded =
            if late && input.late_reason.is_none() { repo::recorded_late_reason(tx, id).await? } else { None };
        let given = match &recorded {
            Some((reason, text)) => (Some(reason.as_str()), text.as_deref()),
            None => (input.late_reason.as_deref(), input.late_reason_text.as_deref()),
        };
        let (late_reason, late_reason_text) = late_reason(&state.policy, given, late)?;
        let level = target.urgency.as_ref().and_then(|u| state.policy.levels.iter().position(|l| l == u));
        let reasons = state.policy.authorisation_reasons(&input.outcome, level, breached);
        let awaiting = !reasons.is_empty();
        let decision = Decision {
            outcome: input.outcome.clone(),
            rationale,
            signpost_agency: signpost,
            feedback,
            decided_by: staff.staff_id,
            decided_at: now,
            late_reason,
            late_reason_text,
            threshold_level: Some(input.threshold_level.clone()),
            authorisation: awaiting.then(|| "awaiting".to_owned()),
            authorisation_reasons: awaiting.then(|| reasons.clone()),
            authorised_by: None,
            authorised_at: None,
        };
        repo::insert_decision(tx, id, &decision, &state.policy.version).await?;
        repo::delete_claim(tx, id).await?;
        let actor = Actor::staff(staff.staff_id, staff.key_id);
        let (version, next) = if awaiting {
            // A manager authorises it first: the agency hears nothing yet (no outcome on the
            // contact, no delivery), and the authorisation clock runs instead of the feedback one.
            (contact::repo::set_status(tx, id, ContactStatus::AwaitingAuthorisation, None).await?, "authorisation")
        } else {
            (contact::repo::mark_decided(tx, id, &decision.outcome).await?, "feedback")
        };
        let stopped =
            clocks::service::stop_clock(tx, &state.policy, &actor, id, "decision", "outcome_recorded", now, Some(next))
                .await?;
        if !awaiting {
            tell_referrer(tx, id, &target.agency_reference, &input.outcome, now).await?;
        }
        audit::record(
            tx,
            now,
            &actor,
            AuditAction::ContactDecided,
            Some(id),
            // The late reason's code, never its sentence (free text stays in the decision).
            serde_json::json!({
                "outcome": input.outcome, "claim_holder": target.claimed_by, "late_reason": decision.late_reason,
                "threshold_level": input.threshold_level,
                "authorisation": decision.authorisation, "authorisation_reasons": decision.authorisation_reasons,
            }),
        )
        .await?;
        Ok((version, stopped, decision.late_reason))
    })
    .await?;
    timer::schedule_or_log(&state.redis, &stopped.scheduled).await;
    if let Some(usage) = &stopped.usage {
        state.metrics.decision(&usage.urgency, &usage.queue, &input.outcome, usage.budget_used, usage.working_seconds);
        if let Some(reason) = &late {
            state.metrics.late_decision(&usage.urgency, &usage.queue, reason);
        }
    }
    Ok(version)
}

/// Queues the outcome for the agency's webhook (if it has one): the referrer hears it. The
/// payload is thin (the contact, its reference, status and outcome): the feedback text and the
/// rest are read through the API with the agency's own key, so a webhook never carries more
/// than an identifier of the case.
async fn tell_referrer(
    tx: &mut sqlx::PgConnection,
    id: ContactId,
    agency_reference: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let payload = serde_json::json!({
        "contact_id": id,
        "agency_reference": agency_reference,
        "status": "decided",
        "outcome": outcome,
    });
    outbox::service::queue_decision(tx, id, &payload, now).await?;
    Ok(())
}

/// The contact locked, awaiting authorisation, at the caller's version, with its decision; and
/// the manager is not the decision's author (a decision is never its author's to authorise).
async fn lock_awaiting(
    tx: &mut sqlx::PgConnection,
    manager: &StaffPrincipal,
    id: ContactId,
    expected_version: Option<IfMatch>,
    now: DateTime<Utc>,
) -> Result<(repo::Target, repo::Awaiting), WorklistError> {
    let target = repo::lock_target(tx, id, now).await?.ok_or(WorklistError::NotFound)?;
    if target.status != ContactStatus::AwaitingAuthorisation {
        return Err(WorklistError::NotAwaitingAuthorisation);
    }
    check_version(expected_version, target.version)?;
    let decision = repo::awaiting_decision(tx, id).await?.ok_or(WorklistError::NotAwaitingAuthorisation)?;
    if decision.decided_by == manager.staff_id {
        return Err(WorklistError::OwnDecision);
    }
    Ok((target, decision))
}

/// A manager authorises a decision that awaits it: the contact is decided, the authorisation
/// clock stops, the feedback clock starts, and the referrer is told. Who and when are recorded
/// on the decision; audited.
pub async fn authorise(
    state: &AppState,
    manager: &StaffPrincipal,
    id: ContactId,
    expected_version: Option<IfMatch>,
) -> Result<i64, WorklistError> {
    let (version, stopped) = db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let (target, decision) = lock_awaiting(tx, manager, id, expected_version, now).await?;
        repo::authorise_decision(tx, id, manager.staff_id, now).await?;
        let version = contact::repo::mark_decided(tx, id, &decision.outcome).await?;
        let actor = Actor::staff(manager.staff_id, manager.key_id);
        let stopped = clocks::service::stop_clock(
            tx,
            &state.policy,
            &actor,
            id,
            "authorisation",
            "decision_authorised",
            now,
            Some("feedback"),
        )
        .await?;
        tell_referrer(tx, id, &target.agency_reference, &decision.outcome, now).await?;
        audit::record(
            tx,
            now,
            &actor,
            AuditAction::DecisionAuthorised,
            Some(id),
            serde_json::json!({ "outcome": decision.outcome, "decided_by": decision.decided_by }),
        )
        .await?;
        Ok::<_, WorklistError>((version, stopped))
    })
    .await?;
    timer::schedule_or_log(&state.redis, &stopped.scheduled).await;
    Ok(version)
}

/// A manager sends a decision that awaits authorisation back, with why: the decision moves to
/// the contact's sent-back record, the contact returns to its author's hands (claimed by them,
/// as when they decided) with its decision clock running again, and the authorisation clock
/// stops. The agency is told nothing. Audited (not the reason's text, which stays on the record).
pub async fn send_back(
    state: &AppState,
    manager: &StaffPrincipal,
    id: ContactId,
    reason: &str,
    expected_version: Option<IfMatch>,
) -> Result<i64, WorklistError> {
    let reason = text(reason, 2000, "/reason")?;
    let (version, scheduled) = db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let (_, decision) = lock_awaiting(tx, manager, id, expected_version, now).await?;
        repo::send_back_decision(tx, id, manager.staff_id, now, &reason).await?;
        let actor = Actor::staff(manager.staff_id, manager.key_id);
        let scheduled = clocks::service::stop_clock(
            tx,
            &state.policy,
            &actor,
            id,
            "authorisation",
            "decision_sent_back",
            now,
            Some("decision"),
        )
        .await?
        .scheduled;
        // Back with its author, as when they decided; their lease starts now.
        let lease_now = state.clock.wall();
        repo::put_claim(tx, id, decision.decided_by, lease_now, lease_now + state.policy.claim_lease).await?;
        let version = contact::repo::set_status(tx, id, ContactStatus::InScreening, None).await?;
        audit::record(
            tx,
            now,
            &actor,
            AuditAction::DecisionSentBack,
            Some(id),
            serde_json::json!({ "outcome": decision.outcome, "decided_by": decision.decided_by }),
        )
        .await?;
        Ok::<_, WorklistError>((version, scheduled))
    })
    .await?;
    timer::schedule_or_log(&state.redis, &scheduled).await;
    Ok(version)
}

/// Who holds a contact's live claim, and until when (`None`: nobody).
pub async fn claim_of(state: &AppState, id: ContactId) -> Result<Option<(StaffId, DateTime<Utc>)>, WorklistError> {
    Ok(repo::live_claim(&state.db, id, state.clock.wall()).await?)
}

/// Decisions awaiting a manager's authorisation, oldest first (at most `limit`).
pub async fn awaiting_authorisation(state: &AppState, limit: i64) -> Result<Vec<repo::AwaitingItem>, WorklistError> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::awaiting_list(&mut conn, limit).await?)
}

/// A manager records why a contact that is past its deadline (or breached) and still open is
/// late, before its decision; the decision takes it unless it gives its own. Audited (the
/// reason's code, never its sentence).
pub async fn record_late_reason(
    state: &AppState,
    staff: &StaffPrincipal,
    id: ContactId,
    (reason, sentence): (&str, Option<&str>),
) -> Result<i64, WorklistError> {
    db::in_transaction(&state.db, async |tx| {
        let now = state.clock.now();
        let target = repo::lock_target(tx, id, state.clock.wall()).await?.ok_or(WorklistError::NotFound)?;
        open(target.status)?;
        let (late, _) = repo::lateness(tx, id, now).await?;
        if !late {
            return Err(WorklistError::Invalid {
                pointer: "/late_reason",
                detail: "is only for a contact past its deadline",
            });
        }
        let (Some(reason), text) = late_reason(&state.policy, (Some(reason), sentence), true)? else {
            return Err(WorklistError::Invalid { pointer: "/late_reason", detail: "is required" });
        };
        repo::upsert_late_reason(tx, id, (&reason, text.as_deref()), staff.staff_id, now).await?;
        audit::record(
            tx,
            now,
            &Actor::staff(staff.staff_id, staff.key_id),
            AuditAction::LateReasonRecorded,
            Some(id),
            serde_json::json!({ "late_reason": reason }),
        )
        .await?;
        Ok(target.version)
    })
    .await
}

/// Staff record that the referrer was told the outcome another way: the feedback clock stops.
pub async fn feedback_given(
    state: &AppState,
    actor: &Actor,
    contact: ContactId,
    method: &str,
) -> Result<(), WorklistError> {
    if !matches!(method, "phone" | "email" | "letter" | "meeting" | "other") {
        return Err(WorklistError::Invalid {
            pointer: "/method",
            detail: "must be phone, email, letter, meeting or other",
        });
    }
    let now = state.clock.now();
    let stopped = db::in_transaction(&state.db, async |tx| {
        let stopped = clocks::service::stop_clock(
            tx,
            &state.policy,
            actor,
            contact,
            "feedback",
            &format!("referrer_informed_by_{method}"),
            now,
            None,
        )
        .await?;
        if stopped.scheduled.is_empty() {
            return Err(WorklistError::NoFeedbackClock);
        }
        Ok(stopped)
    })
    .await?;
    // The stopped clock's cancelled steps leave the index.
    timer::schedule_or_log(&state.redis, &stopped.scheduled).await;
    if let Some(usage) = &stopped.usage {
        state.metrics.feedback_given(&usage.urgency, usage.working_seconds);
    }
    Ok(())
}

/// One queue as the hub sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSummary {
    pub queue: String,
    /// Open contacts per urgency.
    pub by_urgency: Vec<(String, i64)>,
    pub unclaimed: i64,
    pub claimed: i64,
    pub escalated: i64,
    pub oldest_received_at: Option<DateTime<Utc>>,
    pub next_deadline: Option<DateTime<Utc>>,
    /// Open contacts not yet past their deadline that will be by the end of the working day
    /// (the next closing time of the hub's calendar) if nobody decides them.
    pub breach_by_close: i64,
    /// When the oldest contact nobody holds was received.
    pub oldest_unclaimed_at: Option<DateTime<Utc>>,
}

/// Every queue of the policy with its numbers (empty queues included), as read at most
/// `metrics.cache_seconds` ago: a board asks constantly, and the aggregate grows with the open
/// work, so it is read in the background while the last numbers are shown ([`crate::cache`]).
pub async fn queues(state: &AppState) -> Result<Vec<QueueSummary>, WorklistError> {
    let (db, clock, policy) = (state.db.clone(), state.clock.clone(), state.policy.clone());
    let rows = state
        .caches
        .of::<Vec<repo::QueueRow>>()
        .get(move || async move {
            let now = clock.now();
            let close = policy.clocks.calendar.next_closes(now).0;
            repo::queue_counts(&db, now, close).await.map_err(StoreError::from)
        })
        .await?;
    Ok(state
        .policy
        .queues
        .iter()
        .map(|queue| {
            let mine: Vec<_> = rows.iter().filter(|r| &r.queue == queue).collect();
            let open: i64 = mine.iter().map(|r| r.open).sum();
            let claimed: i64 = mine.iter().map(|r| r.claimed).sum();
            QueueSummary {
                queue: queue.clone(),
                by_urgency: state
                    .policy
                    .levels
                    .iter()
                    .rev()
                    .map(|level| {
                        (level.clone(), mine.iter().filter(|r| r.urgency.as_ref() == Some(level)).map(|r| r.open).sum())
                    })
                    .collect(),
                unclaimed: open - claimed,
                claimed,
                escalated: mine.iter().map(|r| r.escalated).sum(),
                oldest_received_at: mine.iter().filter_map(|r| r.oldest_received_at).min(),
                next_deadline: mine.iter().filter_map(|r| r.next_deadline).min(),
                breach_by_close: mine.iter().map(|r| r.breach_by_close).sum(),
                oldest_unclaimed_at: mine.iter().filter_map(|r| r.oldest_unclaimed_at).min(),
            }
        })
        .collect())
}

/// A queue's open contacts in working order (escalated first, then the soonest deadline);
/// audited as a listing, with the ids shown.
pub async fn queue_contacts(
    state: &AppState,
    actor: &Actor,
    queue: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<repo::QueueItem>, WorklistError> {
    if !state.policy.queues.iter().any(|q| q == queue) {
        return Err(WorklistError::UnknownQueue);
    }
    let now = state.clock.now();
    let items = repo::queue_items(&state.db, queue, now, offset, limit).await?;
    db::in_transaction(&state.db, async |tx| {
        // One row per contact shown, so each contact's trail (`/v1/audit?contact_id=`) says who
        // saw it in a listing; an empty page is still a recorded look at the queue.
        let ids: Vec<ContactId> = items.iter().map(|i| i.id).collect();
        if ids.is_empty() {
            let detail = serde_json::json!({ "queue": queue, "offset": offset, "contacts": 0 });
            audit::record(tx, now, actor, AuditAction::QueueListed, None, detail).await?;
        } else {
            let details: Vec<serde_json::Value> =
                (0..ids.len()).map(|_| serde_json::json!({ "queue": queue, "offset": offset })).collect();
            audit::record_many(tx, now, actor, AuditAction::QueueListed, &ids, &details).await?;
        }
        Ok(items)
    })
    .await
}
