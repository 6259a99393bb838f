//! Triage operations over the database: classifying a contact inside its intake transaction,
//! re-rating by a manager, and a child's contacts.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{
    ChildFacts, ContactFacts, Decision, classify,
    classify::route_for,
    matching,
    repo::{self, ChildContact, NewRating},
};
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyKind, AgencyScope},
    contact::repo::{AgencyView, RatingChange},
    contact::{
        IfMatch,
        model::{Classification, ClassificationReason, NewContact},
    },
    db::StoreError,
    id::{AgencyId, ChildId, ContactId},
    policy::{LevelIndex, Policy},
    state::AppState,
};

/// How far back a child's earlier contacts are matched: nobody named as a child is older than
/// 25, so older contacts cannot be about the same child.
const MATCH_HORIZON: TimeDelta = TimeDelta::days(26 * 366);

/// Why a triage operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("contact not found")]
    NotFound,
    #[error("child not found")]
    UnknownChild,
    #[error("not one of the policy's levels")]
    UnknownLevel,
    #[error("the contact already has that urgency")]
    SameLevel,
    #[error("a re-rating needs a written reason of 1 to 2000 characters")]
    ReasonRequired,
    /// A decided contact's urgency no longer drives anything.
    #[error("the contact has been decided")]
    Decided,
    /// The caller's `If-Match` version is not the contact's current version.
    #[error("the contact has changed since it was read")]
    VersionMismatch { current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TriageError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The stored form of a decision.
pub fn classification_of(decision: &Decision) -> Classification {
    Classification {
        urgency: decision.urgency.clone(),
        policy_version: decision.policy_version.clone(),
        reasons: decision
            .reasons
            .iter()
            .map(|r| ClassificationReason {
                rule: r.rule.clone(),
                effect: r.effect.clone(),
                explanation: r.explanation.clone(),
                child: r.child,
                uses_other_contacts: r.uses_other_contacts,
            })
            .collect(),
        flags: decision.flags.clone(),
    }
}

/// Takes the intake transaction's locks on the match keys of the children of `contacts` (all
/// the contacts it stores) and, once they are held, reads the children's earlier contacts, in
/// one round trip. Call it first in the transaction, before reading the clock for the receipt
/// time (`now_before` is the clock read just before it): concurrent contacts about the same
/// child then queue up here, so each is received after, and counts, the ones committed before
/// it. Locks are taken in sorted order, so two transactions can never deadlock. Pass what it
/// returns to [`classify_new_contacts`].
pub async fn lock_children(
    conn: &mut PgConnection,
    contacts: &[&NewContact],
    now_before: DateTime<Utc>,
) -> Result<EarlierContacts, StoreError> {
    let mut locks: Vec<String> = lock_keys(contacts).collect();
    locks.sort_unstable();
    locks.dedup();
    let keys: Vec<(Option<String>, Option<String>)> =
        contacts.iter().flat_map(|c| c.children.iter()).map(matching::keys_of).collect();
    let since = now_before - MATCH_HORIZON;
    let rows = repo::lock_child_keys_then_read_prior(conn, &locks, &keys, since).await?;
    Ok(EarlierContacts { keys, since, rows })
}

/// What [`lock_children`] read: the children's match keys, in order, and their earlier contacts
/// received since `since`, with no upper bound in time.
pub struct EarlierContacts {
    keys: Vec<(Option<String>, Option<String>)>,
    since: DateTime<Utc>,
    rows: Vec<(usize, repo::PriorChild)>,
}

/// The match-key locks a contact's children take (see [`lock_children`]): two contacts that
/// share one may be about the same child.
pub fn lock_keys<'a>(contacts: &'a [&'a NewContact]) -> impl Iterator<Item = String> + 'a {
    contacts.iter().flat_map(|c| c.children.iter()).map(matching::keys_of).flat_map(|(nhs, name)| {
        nhs.into_iter().map(|n| format!("nhs:{n}")).chain(name.into_iter().map(|k| format!("name:{k}")))
    })
}

/// A new contact's two ratings.
#[derive(Debug, Clone)]
pub struct Classified {
    /// The hub's: from every earlier contact about the children, whichever agency sent it.
    pub hub: Decision,
    /// What the submitting agency's own information warrants: its contact and its own earlier
    /// contacts only. The agency is shown this (never more urgent than the hub's), so its view
    /// cannot reveal that another agency has reported the child.
    pub own: Decision,
    /// A child of the contact had a contact decided as a referral within the previous 12 months.
    pub re_referral: bool,
}

/// A contact being classified at intake: its id, what was sent, and the agency that sent it.
pub struct NewIntake<'a> {
    pub id: ContactId,
    pub contact: &'a NewContact,
    pub agency: (AgencyId, AgencyKind),
}

/// Classifies contacts about to be stored on `conn` (their intake transaction, which took
/// [`lock_children`] first, whose read of the earlier contacts is `earlier`), in the order given:
/// matches each child to earlier contacts and applies the policy. Reads only: one round trip
/// for re-referrals, only when a child was seen before, and one more for the earlier contacts,
/// only when `earlier` cannot stand for this receipt time. [`push_new_contacts`] then stores the
/// children, matches and first ratings of those stored. The contacts must be about different
/// children (intake keeps contacts that share a match key apart), so none is matched to another
/// stored in the same transaction.
pub async fn classify_new_contacts(
    conn: &mut PgConnection,
    policy: &Policy,
    items: &[NewIntake<'_>],
    received_at: DateTime<Utc>,
    earlier: EarlierContacts,
) -> Result<Vec<Triaged>, StoreError> {
    let keys: Vec<(Option<String>, Option<String>)> =
        items.iter().flat_map(|item| item.contact.children.iter().map(matching::keys_of)).collect();
    let since = received_at - MATCH_HORIZON;
    // What `lock_children` read is the window's answer when it read these children, from no
    // later a start, and nothing in it was received after this contact. Otherwise (a clock moved
    // back, or another's clock is ahead, as a sandbox agency's own clock may be) the window is
    // read again: one more round trip, never a match with a contact from this one's future.
    let prior = if earlier.keys == keys
        && earlier.since <= since
        && earlier.rows.iter().all(|(_, prior)| prior.received_at <= received_at)
    {
        // Newest first and limited per child: those left after dropping the ones before the
        // window are the newest within it, as the window's own read would give.
        earlier.rows.into_iter().filter(|(_, prior)| prior.received_at >= since).collect()
    } else {
        repo::prior_children(conn, &keys, since, received_at).await?
    };
    let mut matches: Vec<Vec<repo::PriorChild>> = vec![Vec::new(); keys.len()];
    for (child, prior) in prior {
        // The repository refuses an index outside `keys`.
        matches[child].push(prior);
    }

    // A re-referral: a child of the contact had a contact decided as a referral within the
    // previous 12 months. Asked only when a child was seen before (no round trip otherwise).
    let mut seen: Vec<ContactId> = matches.iter().flatten().map(|p| p.contact_id).collect();
    seen.sort_unstable();
    seen.dedup();
    let referred: std::collections::HashSet<ContactId> = if seen.is_empty() || policy.referral_outcomes.is_empty() {
        std::collections::HashSet::new()
    } else {
        repo::decided_as_any(
            conn,
            &seen,
            &policy.referral_outcomes,
            received_at.checked_sub_months(chrono::Months::new(12)).unwrap_or(received_at),
        )
        .await?
        .into_iter()
        .collect()
    };

    let mut triaged = Vec::with_capacity(items.len());
    let mut first = 0;
    for item in items {
        let count = item.contact.children.len();
        let (keys, matches) = (&keys[first..first + count], &matches[first..first + count]);
        first += count;
        let classified = classify_one(policy, item, matches, &referred, received_at);
        let children = keys
            .iter()
            .zip(matches)
            .map(|((nhs, name), priors)| NewChild {
                id: ChildId::generate(),
                nhs_number: nhs.clone(),
                name_key: name.clone(),
                matches: priors.iter().map(|p| (p.child_id, p.matched_on.clone())).collect(),
            })
            .collect();
        triaged.push(Triaged { contact_id: item.id, classified, children });
    }
    Ok(triaged)
}

/// A contact classified at intake, with its children's rows to store.
#[derive(Debug, Clone)]
pub struct Triaged {
    pub contact_id: ContactId,
    pub classified: Classified,
    children: Vec<NewChild>,
}

/// A new contact's child: its id and match keys, and the earlier children it matched.
#[derive(Debug, Clone)]
struct NewChild {
    id: ChildId,
    nhs_number: Option<String>,
    name_key: Option<String>,
    matches: Vec<(ChildId, String)>,
}

/// Adds to intake's statement the children, their matches and the first rating of each contact
/// `triaged`, for those the expression `only` lists (the contacts the statement inserted).
pub fn push_new_contacts(
    qb: &mut QueryBuilder<Postgres>,
    triaged: &[Triaged],
    received_at: DateTime<Utc>,
    only: &'static str,
) {
    let mut rows = repo::IntakeRows::default();
    for t in triaged {
        for (ordinal, child) in t.children.iter().enumerate() {
            rows.contact_ids.push(t.contact_id);
            rows.child_ids.push(child.id);
            rows.ordinals.push(i32::try_from(ordinal).unwrap_or(i32::MAX));
            rows.nhs_numbers.push(child.nhs_number.clone());
            rows.name_keys.push(child.name_key.clone());
            for (matched, on) in &child.matches {
                rows.match_children.push(child.id);
                rows.matched_children.push(*matched);
                rows.matched_on.push(on.clone());
            }
        }
    }
    let system = Actor::system();
    let ratings: Vec<NewRating<'_>> = triaged
        .iter()
        .map(|t| NewRating {
            contact_id: t.contact_id,
            kind: "classification",
            urgency: &t.classified.hub.urgency,
            queue: &t.classified.hub.queue,
            previous_urgency: None,
            reason: None,
            actor: &system,
            policy_version: &t.classified.hub.policy_version,
            at: received_at,
        })
        .collect();
    repo::push_intake_rows(qb, &rows, &ratings, received_at, only);
}

/// One contact's two ratings, from its children's earlier contacts (`matches`, one list per
/// child) and the earlier contacts decided as referrals.
fn classify_one(
    policy: &Policy,
    item: &NewIntake<'_>,
    matches: &[Vec<repo::PriorChild>],
    referred: &std::collections::HashSet<ContactId>,
    received_at: DateTime<Utc>,
) -> Classified {
    let (agency_id, agency_kind) = item.agency;
    let mut children = ChildFacts::of(item.contact);
    for (priors, facts) in matches.iter().zip(&mut children) {
        let mut contacts_seen = std::collections::BTreeSet::new();
        facts.prior_contacts =
            priors.iter().filter(|p| contacts_seen.insert(p.contact_id)).map(|p| p.received_at).collect();
    }
    // The same children as the agency alone knows them.
    let mut own_children = children.clone();
    for (facts, priors) in own_children.iter_mut().zip(matches) {
        let mut contacts_seen = std::collections::BTreeSet::new();
        facts.prior_contacts = priors
            .iter()
            .filter(|p| p.agency_id == agency_id && contacts_seen.insert(p.contact_id))
            .map(|p| p.received_at)
            .collect();
    }
    let re_referral = matches.iter().flatten().any(|p| referred.contains(&p.contact_id));
    let facts = ContactFacts::of(item.contact, agency_kind, received_at, policy);
    let decision = classify(policy, &facts, &children);
    let own = classify(policy, &facts, &own_children);
    Classified { hub: decision, own, re_referral }
}

/// What the submitting agency is shown of a new contact: the rating its own information
/// warrants, or the hub's when that is lower; and its own information's view, kept for later
/// re-ratings. Returns (shown, own); intake writes both with the rating.
pub fn agency_view_at_intake(
    policy: &Policy,
    classified: &Classified,
    hub_due: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
) -> (AgencyView, AgencyView) {
    let Classified { hub, own, .. } = classified;
    let view_of = |d: &Decision, due| AgencyView {
        urgency: d.urgency.clone(),
        queue: d.queue.clone(),
        classification: classification_of(d),
        decision_due_at: due,
    };
    let own_due = if own.level == hub.level {
        hub_due
    } else {
        Some(crate::clocks::service::unpaused_decision_deadline(policy, own.level, received_at))
    };
    let own_view = view_of(own, own_due);
    let shown = if own.level <= hub.level { own_view.clone() } else { view_of(hub, hub_due) };
    (shown, own_view)
}

/// After a re-rating to `level`: the agency is shown its own information's view, or the hub's
/// new rating when a manager has rated the contact lower than that (never higher than the hub).
async fn set_agency_view_after_rerate(
    conn: &mut PgConnection,
    policy: &Policy,
    contact_id: ContactId,
    (level, queue, due): (LevelIndex, &str, Option<DateTime<Utc>>),
) -> Result<(), StoreError> {
    let Some(own) = crate::contact::repo::own_view(conn, contact_id).await? else { return Ok(()) };
    let own_level = policy.levels.iter().position(|l| *l == own.urgency).unwrap_or(0);
    let shown = if level < own_level {
        let urgency = policy.levels.get(level).cloned().unwrap_or_default();
        AgencyView {
            classification: Classification {
                urgency: urgency.clone(),
                policy_version: policy.version.clone(),
                reasons: vec![ClassificationReason {
                    rule: "hub_review".into(),
                    effect: urgency.clone(),
                    explanation: "The hub reviewed this contact and set its urgency.".into(),
                    child: None,
                    uses_other_contacts: false,
                }],
                flags: Vec::new(),
            },
            urgency,
            queue: queue.to_owned(),
            decision_due_at: due,
        }
    } else {
        own
    };
    crate::contact::repo::set_agency_view(conn, contact_id, &shown, None).await?;
    Ok(())
}

/// A manager's re-rating, as asked for.
#[derive(Debug, Clone, Copy)]
pub struct Rerate<'a> {
    /// The new level's name.
    pub urgency: &'a str,
    /// The written reason.
    pub reason: &'a str,
    /// The version the manager read (`If-Match`); `None` skips the check.
    pub expected_version: Option<IfMatch>,
}

/// The result of a re-rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerated {
    pub urgency: String,
    pub previous_urgency: Option<String>,
    pub queue: String,
    pub version: i64,
}

/// A manager re-rates a contact up or down with a written reason. The original classification
/// and every earlier rating stay on record; the queue follows the policy's routes at the new
/// level.
pub async fn rerate(
    state: &AppState,
    actor: &Actor,
    contact_id: ContactId,
    change: &Rerate<'_>,
) -> Result<Rerated, TriageError> {
    let Rerate { urgency, reason, expected_version } = *change;
    let (policy, db) = (&*state.policy, &state.db);
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(TriageError::ReasonRequired);
    }
    let level = policy.levels.iter().position(|l| l == urgency).ok_or(TriageError::UnknownLevel)?;
    let now = state.clock.now();
    let (rerated, scheduled) = crate::db::in_transaction(db, async |tx| {
        let target =
            repo::lock_for_rerate(tx, AgencyScope::AllAgencies, contact_id).await?.ok_or(TriageError::NotFound)?;
        if target.status.is_decided() {
            return Err(TriageError::Decided);
        }
        if expected_version.is_some_and(|tag| !tag.matches(target.version)) {
            return Err(TriageError::VersionMismatch { current: target.version });
        }
        if target.urgency.as_deref() == Some(urgency) {
            return Err(TriageError::SameLevel);
        }
        let contact = &target.submission.0;
        let kind = target.agency_kind.parse::<AgencyKind>().unwrap_or(AgencyKind::Other);
        let facts = ContactFacts::of(contact, kind, target.received_at, policy);
        let (queue, _) = route_for(policy, &facts, &ChildFacts::of(contact), level);
        // Re-compute the decision clock from the original receipt under the new level; the
        // contact's deadline moves with its rating.
        let (due, scheduled) = crate::clocks::service::relevel_decision_clock(tx, policy, contact_id, level).await?;
        let rating = RatingChange { urgency, queue: &queue, classification: None, decision_due_at: due };
        let version = crate::contact::repo::set_rating(tx, contact_id, &rating, true).await?;
        set_agency_view_after_rerate(tx, policy, contact_id, (level, &queue, due)).await?;
        repo::insert_rating(
            tx,
            &NewRating {
                contact_id,
                kind: "rerate",
                urgency,
                queue: &queue,
                previous_urgency: target.urgency.as_deref(),
                reason: Some(reason),
                actor,
                policy_version: &policy.version,
                at: now,
            },
        )
        .await?;
        // The reason is free text a manager wrote about a child: it stays in contact_ratings, not in
        // the audit detail, which holds codes only.
        audit::record(
            tx,
            now,
            actor,
            AuditAction::ContactRerated,
            Some(contact_id),
            serde_json::json!({ "from": target.urgency, "to": urgency, "queue": queue, "version": version }),
        )
        .await?;
        let rerated = Rerated { urgency: urgency.to_owned(), previous_urgency: target.urgency, queue, version };
        Ok((rerated, scheduled))
    })
    .await?;
    crate::clocks::timer::schedule_or_log(&state.redis, &scheduled).await;
    // Levels are listed least urgent first: a larger index is a rating up.
    let before = rerated.previous_urgency.as_deref().and_then(|p| policy.levels.iter().position(|l| l == p));
    state.metrics.rerate(match before {
        Some(b) if level > b => "up",
        Some(b) if level < b => "down",
        _ => "same",
    });
    tracing::info!(contact_id = %contact_id, to = urgency, "contact re-rated");
    Ok(rerated)
}

/// Every contact about the same child as `child_id`, for staff; audited as a read.
pub async fn contacts_about_child(
    state: &AppState,
    actor: &Actor,
    child_id: ChildId,
) -> Result<Vec<ChildContact>, TriageError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let contacts = repo::contacts_about_child(tx, AgencyScope::AllAgencies, child_id)
            .await?
            .ok_or(TriageError::UnknownChild)?;
        // The listing shows each contact's status and urgency: a read of each, in each one's trail.
        let now = state.clock.now();
        for contact in &contacts {
            audit::record(
                tx,
                now,
                actor,
                AuditAction::ChildContactsRead,
                Some(contact.contact_id),
                serde_json::json!({ "child_id": child_id }),
            )
            .await?;
        }
        Ok(contacts)
    })
    .await
}
