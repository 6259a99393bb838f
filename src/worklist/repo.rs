//! SQL for queues, claims, notes and decisions.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::{
    contact::{ContactStatus, Decision},
    id::{ContactId, StaffId},
};

/// One queue's numbers.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QueueRow {
    pub queue: String,
    pub urgency: Option<String>,
    pub open: i64,
    pub claimed: i64,
    pub escalated: i64,
    pub oldest_received_at: Option<DateTime<Utc>>,
    pub next_deadline: Option<DateTime<Utc>>,
    /// Not yet past their deadline, but will be by `close` if nobody decides them.
    pub breach_by_close: i64,
    /// When the oldest contact nobody holds was received.
    pub oldest_unclaimed_at: Option<DateTime<Utc>>,
}

/// Open contacts per queue and urgency, with claim and escalation counts, and how many will
/// breach by `close` (the end of the working day) if nobody acts.
pub(crate) async fn queue_counts(
    pool: &PgPool,
    now: DateTime<Utc>,
    close: DateTime<Utc>,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    sqlx::query_as(
        "select c.queue, c.urgency, count(*) as open,
                count(k.contact_id) filter (where k.expires_at > $1) as claimed,
                count(*) filter (where c.escalated) as escalated,
                min(c.received_at) as oldest_received_at, min(c.decision_due_at) as next_deadline,
                count(*) filter (where c.decision_due_at > $1 and c.decision_due_at <= $2) as breach_by_close,
                min(c.received_at) filter (where k.contact_id is null or k.expires_at <= $1) as oldest_unclaimed_at
           from contacts c left join claims k on k.contact_id = c.id
          where c.status in ('awaiting_screening', 'in_screening') and c.queue is not null
          group by c.queue, c.urgency",
    )
    .bind(now)
    .bind(close)
    .fetch_all(pool)
    .await
}

/// An open contact in a queue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QueueItem {
    pub id: ContactId,
    pub urgency: Option<String>,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub decision_due_at: Option<DateTime<Utc>>,
    pub escalated: bool,
    pub claimed_by: Option<StaffId>,
    pub claim_expires_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// The queue's open contacts in working order: escalated first, then the soonest deadline.
pub(crate) async fn queue_items(
    pool: &PgPool,
    queue: &str,
    now: DateTime<Utc>,
    offset: i64,
    limit: i64,
) -> Result<Vec<QueueItem>, sqlx::Error> {
    sqlx::query_as(
        "select c.id, c.urgency, c.status, c.received_at, c.decision_due_at, c.escalated,
                k.staff_id as claimed_by, k.expires_at as claim_expires_at, c.version
           from contacts c left join claims k on k.contact_id = c.id and k.expires_at > $2
          where c.queue = $1 and c.status in ('awaiting_screening', 'in_screening')
          order by c.escalated desc, c.decision_due_at asc nulls last, c.received_at, c.id
          offset $3 limit $4",
    )
    .bind(queue)
    .bind(now)
    .bind(offset)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Locks the next unclaimed open contact of a queue, skipping any another transaction holds and
/// any in `tried`. A candidate only: another transaction may have claimed it and committed while
/// this statement ran (the lock re-check does not see the new claim), so [`try_claim`] decides.
pub(crate) async fn lock_next_unclaimed(
    conn: &mut PgConnection,
    queue: &str,
    now: DateTime<Utc>,
    tried: &[ContactId],
) -> Result<Option<ContactId>, sqlx::Error> {
    sqlx::query_scalar(
        "select c.id from contacts c
          where c.queue = $1 and c.status in ('awaiting_screening', 'in_screening')
            and not exists (select 1 from claims k where k.contact_id = c.id and k.expires_at > $2)
            and c.id <> all($3)
          order by c.escalated desc, c.decision_due_at asc nulls last, c.received_at, c.id
          for no key update of c skip locked
          limit 1",
    )
    .bind(queue)
    .bind(now)
    .bind(tried)
    .fetch_optional(conn)
    .await
}

/// The contact's state for a worklist change, locked (contact first: the one lock order).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Target {
    pub agency_reference: String,
    #[sqlx(try_from = "String")]
    pub status: ContactStatus,
    pub version: i64,
    pub queue: Option<String>,
    /// The hub's urgency (its current rating).
    pub urgency: Option<String>,
    pub claimed_by: Option<StaffId>,
}

pub(crate) async fn lock_target(
    conn: &mut PgConnection,
    id: ContactId,
    now: DateTime<Utc>,
) -> Result<Option<Target>, sqlx::Error> {
    sqlx::query_as(
        "select c.agency_reference, c.status, c.version, c.queue, c.urgency,
                (select k.staff_id from claims k where k.contact_id = c.id and k.expires_at > $2) as claimed_by
           from contacts c where c.id = $1 for no key update of c",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// The holder of an expired claim on a contact, if any (read before replacing it).
pub(crate) async fn expired_holder(
    conn: &mut PgConnection,
    id: ContactId,
    now: DateTime<Utc>,
) -> Result<Option<StaffId>, sqlx::Error> {
    sqlx::query_scalar("select staff_id from claims where contact_id = $1 and expires_at <= $2")
        .bind(id)
        .bind(now)
        .fetch_optional(conn)
        .await
}

/// Claims the contact for `staff` unless someone holds a live claim: the arbiter of claiming.
/// `ON CONFLICT DO UPDATE ... WHERE` re-reads the latest committed claim, so of two racing
/// callers exactly one gets `true`.
pub(crate) async fn try_claim(
    conn: &mut PgConnection,
    id: ContactId,
    staff: StaffId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let won: Option<ContactId> = sqlx::query_scalar(
        "insert into claims (contact_id, staff_id, claimed_at, expires_at) values ($1, $2, $3, $4)
         on conflict (contact_id) do update set staff_id = $2, claimed_at = $3, expires_at = $4
             where claims.expires_at <= $3
         returning contact_id",
    )
    .bind(id)
    .bind(staff)
    .bind(now)
    .bind(expires_at)
    .fetch_optional(conn)
    .await?;
    Ok(won.is_some())
}

/// Gives `staff` the claim until `expires_at`, replacing any claim (renewal, or a manager's
/// assignment).
pub(crate) async fn put_claim(
    conn: &mut PgConnection,
    id: ContactId,
    staff: StaffId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into claims (contact_id, staff_id, claimed_at, expires_at) values ($1, $2, $3, $4)
         on conflict (contact_id) do update set staff_id = $2, claimed_at = $3, expires_at = $4",
    )
    .bind(id)
    .bind(staff)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn delete_claim(conn: &mut PgConnection, id: ContactId) -> Result<(), sqlx::Error> {
    sqlx::query("delete from claims where contact_id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Locks (in id order, skipping contacts in use) the contacts whose claims have expired.
pub(crate) async fn lock_contacts_with_expired_claims(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Vec<ContactId>, sqlx::Error> {
    sqlx::query_scalar(
        "select c.id from contacts c join claims k on k.contact_id = c.id
          where k.expires_at <= $1 order by c.id limit 500 for no key update of c skip locked",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Removes the expired claims on `contacts`; returns them with their holders.
pub(crate) async fn expire_claims(
    conn: &mut PgConnection,
    contacts: &[ContactId],
    now: DateTime<Utc>,
) -> Result<Vec<(ContactId, StaffId, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "with gone as (delete from claims where contact_id = any($1) and expires_at <= $2 returning contact_id, staff_id)
         select g.contact_id, g.staff_id, c.queue from gone g join contacts c on c.id = g.contact_id
          order by g.contact_id",
    )
    .bind(contacts)
    .bind(now)
    .fetch_all(conn)
    .await
}

pub(crate) async fn insert_note(
    conn: &mut PgConnection,
    id: ContactId,
    staff: StaffId,
    kind: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into notes (contact_id, staff_id, kind, body, created_at) values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(id)
    .bind(staff)
    .bind(kind)
    .bind(body)
    .bind(at)
    .fetch_one(conn)
    .await
}

pub(crate) async fn insert_decision(
    conn: &mut PgConnection,
    id: ContactId,
    d: &Decision,
    policy_version: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into decisions (contact_id, outcome, rationale, signpost_agency, feedback, decided_by, decided_at,
                                policy_version, late_reason, late_reason_text, threshold_level, authorisation,
                                authorisation_reasons)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(&d.outcome)
    .bind(&d.rationale)
    .bind(&d.signpost_agency)
    .bind(&d.feedback)
    .bind(d.decided_by)
    .bind(d.decided_at)
    .bind(policy_version)
    .bind(&d.late_reason)
    .bind(&d.late_reason_text)
    .bind(&d.threshold_level)
    .bind(&d.authorisation)
    .bind(&d.authorisation_reasons)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records (or revises) a manager's late reason for an open contact.
pub(crate) async fn upsert_late_reason(
    conn: &mut PgConnection,
    id: ContactId,
    (reason, text): (&str, Option<&str>),
    staff: StaffId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into contact_late_reasons (contact_id, late_reason, late_reason_text, recorded_by, recorded_at)
         values ($1, $2, $3, $4, $5)
         on conflict (contact_id) do update
            set late_reason = excluded.late_reason, late_reason_text = excluded.late_reason_text,
                recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
    )
    .bind(id)
    .bind(reason)
    .bind(text)
    .bind(staff)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The late reason a manager recorded for a contact before its decision, if any.
pub(crate) async fn recorded_late_reason(
    conn: &mut PgConnection,
    id: ContactId,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("select late_reason, late_reason_text from contact_late_reasons where contact_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Whether a staff member exists with the practitioner or manager role and has not left
/// (a contact assigned to someone deactivated would sit with nobody able to work it).
pub(crate) async fn is_caseworker(conn: &mut PgConnection, staff: StaffId) -> Result<bool, sqlx::Error> {
    let found: Option<StaffId> = sqlx::query_scalar(
        "select id from staff where id = $1 and role in ('practitioner', 'manager') and deactivated_at is null",
    )
    .bind(staff)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Whether a decision on `id` at `now` is late: the contact breached its decision timescale, or
/// its deadline has passed (a paused clock has none, and is late only if it breached before).
/// Also whether any of the contact's clocks breached (which may ask for a manager's
/// authorisation): `(late, breached)`, in one round trip.
pub(crate) async fn lateness(
    conn: &mut PgConnection,
    id: ContactId,
    now: DateTime<Utc>,
) -> Result<(bool, bool), sqlx::Error> {
    sqlx::query_as(
        "select exists (select 1 from breaches b join clocks k on k.id = b.clock_id
                         where k.contact_id = $1 and k.kind = 'decision')
             or coalesce((select decision_due_at <= $2 from contacts where id = $1), false),
                exists (select 1 from breaches where contact_id = $1)",
    )
    .bind(id)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// A decision awaiting authorisation, as the manager acts on it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Awaiting {
    pub outcome: String,
    pub decided_by: StaffId,
}

/// The contact's decision if it awaits authorisation (lock the contact first).
pub(crate) async fn awaiting_decision(conn: &mut PgConnection, id: ContactId) -> Result<Option<Awaiting>, sqlx::Error> {
    sqlx::query_as("select outcome, decided_by from decisions where contact_id = $1 and authorisation = 'awaiting'")
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub(crate) async fn authorise_decision(
    conn: &mut PgConnection,
    id: ContactId,
    manager: StaffId,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update decisions set authorisation = 'authorised', authorised_by = $2, authorised_at = $3
          where contact_id = $1 and authorisation = 'awaiting'",
    )
    .bind(id)
    .bind(manager)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the awaiting decision to `decisions_sent_back` with the manager's reason.
pub(crate) async fn send_back_decision(
    conn: &mut PgConnection,
    id: ContactId,
    manager: StaffId,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with gone as (delete from decisions where contact_id = $1 and authorisation = 'awaiting' returning *)
         insert into decisions_sent_back (contact_id, outcome, threshold_level, late_reason, authorisation_reasons,
                                          decided_by, decided_at, policy_version, sent_back_by, sent_back_at, reason)
         select contact_id, outcome, threshold_level, late_reason, coalesce(authorisation_reasons, '{}'), decided_by,
                decided_at, policy_version, $2, $3, $4
           from gone",
    )
    .bind(id)
    .bind(manager)
    .bind(at)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// A decision awaiting authorisation, for the managers' list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AwaitingItem {
    pub contact_id: ContactId,
    pub outcome: String,
    pub urgency: Option<String>,
    pub queue: Option<String>,
    pub decided_by: StaffId,
    pub decided_at: DateTime<Utc>,
    pub authorisation_reasons: Vec<String>,
    /// The authorisation clock's deadline (none while paused).
    pub due_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// Decisions awaiting authorisation, oldest first.
pub(crate) async fn awaiting_list(conn: &mut PgConnection, limit: i64) -> Result<Vec<AwaitingItem>, sqlx::Error> {
    sqlx::query_as(
        "select d.contact_id, d.outcome, c.urgency, c.queue, d.decided_by, d.decided_at,
                coalesce(d.authorisation_reasons, '{}') as authorisation_reasons, k.deadline as due_at, c.version
           from decisions d join contacts c on c.id = d.contact_id
           left join clocks k on k.contact_id = d.contact_id and k.kind = 'authorisation'
          where d.authorisation = 'awaiting'
          order by d.decided_at, d.contact_id
          limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The live claim on a contact: who holds it and until when.
pub(crate) async fn live_claim(
    pool: &PgPool,
    id: ContactId,
    now: DateTime<Utc>,
) -> Result<Option<(StaffId, DateTime<Utc>)>, sqlx::Error> {
    sqlx::query_as("select staff_id, expires_at from claims where contact_id = $1 and expires_at > $2")
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await
}
