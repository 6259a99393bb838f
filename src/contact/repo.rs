//! SQL for the `contacts` table, the one place that writes it, and the reads that assemble the
//! case file. Every lookup of a contact by id or reference takes an [`AgencyScope`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::model::{
    CaseChild, Classification, ContactRecord, ContactStatus, Decision, DeliveryStatus, NewContact, Note, Rating,
    StaffContact,
};
use crate::{
    auth::AgencyScope,
    id::{AgencyId, ContactId},
};

const RECORD_COLUMNS: &str = "c.id, c.agency_id, c.agency_reference, c.status, c.received_at, c.urgency, c.queue,
     c.decision_due_at, c.classification, c.outcome, c.version";

/// The same record as its submitting agency sees it: the agency view's rating, queue, deadline
/// and classification in place of the hub's (see [`set_agency_view`]).
/// A decision awaiting a manager's authorisation is not yet the agency's to know: it sees
/// `in_screening`, no outcome (`contacts.outcome` is set only when the decision is final) and no
/// feedback.
const AGENCY_RECORD_COLUMNS: &str = "c.id, c.agency_id, c.agency_reference,
     case c.status when 'awaiting_authorisation' then 'in_screening' else c.status end as status, c.received_at,
     c.agency_urgency as urgency, c.agency_queue as queue, c.agency_decision_due_at as decision_due_at,
     c.agency_classification as classification, c.outcome, c.version";

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: ContactId,
    agency_id: AgencyId,
    agency_reference: String,
    status: String,
    received_at: DateTime<Utc>,
    urgency: Option<String>,
    queue: Option<String>,
    decision_due_at: Option<DateTime<Utc>>,
    classification: Option<sqlx::types::Json<Classification>>,
    outcome: Option<String>,
    /// Only reads join the decision; an insert's returned row has none.
    #[sqlx(default)]
    feedback: Option<String>,
    version: i64,
}

impl TryFrom<RecordRow> for ContactRecord {
    type Error = sqlx::Error;

    fn try_from(row: RecordRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            agency_id: row.agency_id,
            agency_reference: row.agency_reference,
            status: row.status.parse::<ContactStatus>().map_err(|e| sqlx::Error::Decode(e.into()))?,
            received_at: row.received_at,
            urgency: row.urgency,
            queue: row.queue,
            decision_due_at: row.decision_due_at,
            classification: row.classification.map(|c| c.0),
            outcome: row.outcome,
            feedback: row.feedback,
            version: row.version,
        })
    }
}

/// A contact to insert, already classified (for [`insert_contacts`]).
pub(crate) struct NewRow<'a> {
    pub id: ContactId,
    pub agency_id: AgencyId,
    pub agency_reference: &'a str,
    pub request_hash: &'a [u8],
    pub submission: &'a serde_json::Value,
    /// The hub's rating and classification, and the deadline it implies.
    pub rating: RatingChange<'a>,
    /// What the agency is shown, and what its own information warrants.
    pub shown: &'a AgencyView,
    pub own: &'a AgencyView,
    pub re_referral: bool,
}

/// Starts intake's statement (`intake::repo::rows_statement`) with the insert of contacts, all
/// received at `received_at` and each with its rating, agency view and re-referral flag, as the
/// common table expression `new_contacts`: the other parts write their rows only for the
/// contacts in it ([`NEW_CONTACTS`]), and [`fetch_new_contacts`] returns them. A row whose agency
/// already has a contact with its reference is not inserted: when another transaction holds the
/// reference, this waits for it first.
pub(crate) fn push_contacts(qb: &mut QueryBuilder<Postgres>, rows: &[NewRow<'_>], received_at: DateTime<Utc>) {
    let ids: Vec<ContactId> = rows.iter().map(|r| r.id).collect();
    let agencies: Vec<AgencyId> = rows.iter().map(|r| r.agency_id).collect();
    let references: Vec<&str> = rows.iter().map(|r| r.agency_reference).collect();
    let hashes: Vec<&[u8]> = rows.iter().map(|r| r.request_hash).collect();
    let submissions: Vec<&serde_json::Value> = rows.iter().map(|r| r.submission).collect();
    let urgencies: Vec<&str> = rows.iter().map(|r| r.rating.urgency).collect();
    let queues: Vec<&str> = rows.iter().map(|r| r.rating.queue).collect();
    let classifications: Vec<Option<&serde_json::Value>> = rows.iter().map(|r| r.rating.classification).collect();
    let due: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.rating.decision_due_at).collect();
    let shown_urgencies: Vec<&str> = rows.iter().map(|r| r.shown.urgency.as_str()).collect();
    let shown_queues: Vec<&str> = rows.iter().map(|r| r.shown.queue.as_str()).collect();
    let shown_classifications: Vec<sqlx::types::Json<&Classification>> =
        rows.iter().map(|r| sqlx::types::Json(&r.shown.classification)).collect();
    let shown_due: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.shown.decision_due_at).collect();
    let own: Vec<sqlx::types::Json<&AgencyView>> = rows.iter().map(|r| sqlx::types::Json(r.own)).collect();
    let re_referrals: Vec<bool> = rows.iter().map(|r| r.re_referral).collect();
    qb.push(
        "new_contacts as (
            insert into contacts as c (id, agency_id, agency_reference, request_hash, received_at, submission,
                                       urgency, queue, classification, decision_due_at, agency_urgency, agency_queue,
                                       agency_classification, agency_decision_due_at, own_view, re_referral)
            select n.id, n.agency_id, n.agency_reference, n.request_hash, ",
    );
    qb.push_bind(received_at).push(
        "::timestamptz, n.submission,
                   n.urgency, n.queue, n.classification, n.decision_due_at, n.agency_urgency, n.agency_queue,
                   n.agency_classification, n.agency_decision_due_at, n.own_view, n.re_referral
              from unnest(",
    );
    qb.push_bind(ids).push("::uuid[], ");
    qb.push_bind(agencies).push("::uuid[], ");
    qb.push_bind(references).push("::text[], ");
    qb.push_bind(hashes).push("::bytea[], ");
    qb.push_bind(submissions).push("::jsonb[], ");
    qb.push_bind(urgencies).push("::text[], ");
    qb.push_bind(queues).push("::text[], ");
    qb.push_bind(classifications).push("::jsonb[], ");
    qb.push_bind(due).push("::timestamptz[], ");
    qb.push_bind(shown_urgencies).push("::text[], ");
    qb.push_bind(shown_queues).push("::text[], ");
    qb.push_bind(shown_classifications).push("::jsonb[], ");
    qb.push_bind(shown_due).push("::timestamptz[], ");
    qb.push_bind(own).push("::jsonb[], ");
    qb.push_bind(re_referrals).push(
        "::bool[])
                     as n(id, agency_id, agency_reference, request_hash, submission, urgency, queue, classification,
                          decision_due_at, agency_urgency, agency_queue, agency_classification,
                          agency_decision_due_at, own_view, re_referral)
            on conflict (agency_id, agency_reference) do nothing
            returning c.*)",
    );
}

/// The name of the common table expression that [`push_contacts`] starts intake's statement
/// with: `select id from` it gives the contacts inserted.
pub(crate) const NEW_CONTACTS: &str = "new_contacts";

/// Ends and runs intake's statement (see [`push_contacts`]); returns the contacts it inserted.
pub(crate) async fn fetch_new_contacts(
    conn: &mut PgConnection,
    mut qb: QueryBuilder<Postgres>,
) -> Result<Vec<ContactRecord>, sqlx::Error> {
    qb.push(format_args!(" select {RECORD_COLUMNS} from new_contacts c"));
    let inserted: Vec<RecordRow> = qb.build_query_as().fetch_all(conn).await?;
    inserted.into_iter().map(ContactRecord::try_from).collect()
}

/// The contact with this reference and its request hash.
pub(crate) async fn find_by_reference(
    conn: &mut PgConnection,
    scope: AgencyScope,
    agency_reference: &str,
) -> Result<Option<(ContactRecord, Vec<u8>)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: RecordRow,
        request_hash: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {AGENCY_RECORD_COLUMNS}, c.request_hash from contacts c
          where c.agency_reference = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(agency_reference)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((ContactRecord::try_from(r.record)?, r.request_hash))).transpose()
}

pub(crate) async fn find_contact(
    conn: &mut PgConnection,
    scope: AgencyScope,
    id: ContactId,
) -> Result<Option<ContactRecord>, sqlx::Error> {
    let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {AGENCY_RECORD_COLUMNS}, case when d.authorisation = 'awaiting' then null else d.feedback end as feedback
           from contacts c left join decisions d on d.contact_id = c.id
          where c.id = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(id)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(ContactRecord::try_from).transpose()
}

/// Which of an agency's changed contacts to list.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// Stored statuses (an agency's `in_screening` is two of them).
    pub statuses: Option<Vec<&'static str>>,
    pub received_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub received_to: Option<DateTime<Utc>>,
}

/// A contact in the change feed, with its place: `(transaction, sequence)` of its last change
/// the agency can see.
pub struct FeedItem {
    pub record: ContactRecord,
    pub xid: String,
    pub seq: i64,
}

/// The agency's contacts changed after the place `after`, in the order of their changes, only
/// from transactions older than every running one (so a change that commits late is never
/// skipped: it lands after the cursor of anything already returned).
pub(crate) async fn changed_since(
    conn: &mut PgConnection,
    agency: AgencyId,
    after: Option<(&str, i64)>,
    filter: &FeedFilter,
    limit: i64,
) -> Result<Vec<FeedItem>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: RecordRow,
        feed_xid: String,
        feed_seq: i64,
    }
    let (xid, seq) = after.map_or((None, 0), |(x, s)| (Some(x), s));
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {AGENCY_RECORD_COLUMNS}, case when d.authorisation = 'awaiting' then null else d.feedback end as feedback,
                c.feed_xid::text as feed_xid, c.feed_seq
           from contacts c left join decisions d on d.contact_id = c.id
          where c.agency_id = $1
            and c.feed_xid < pg_snapshot_xmin(pg_current_snapshot())
            and ($2::text is null or (c.feed_xid, c.feed_seq) > ($2::xid8, $3))
            and ($4::text[] is null or c.status = any($4))
            and ($5::timestamptz is null or c.received_at >= $5)
            and ($6::timestamptz is null or c.received_at < $6)
          order by c.feed_xid, c.feed_seq limit $7"
    )))
    .bind(agency)
    .bind(xid)
    .bind(seq)
    .bind(filter.statuses.as_deref())
    .bind(filter.received_from)
    .bind(filter.received_to)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| Ok(FeedItem { record: ContactRecord::try_from(r.record)?, xid: r.feed_xid, seq: r.feed_seq }))
        .collect()
}

/// The contact with its submission and agency; `history` is left empty for the caller to fill.
pub(crate) async fn find_staff_contact(
    conn: &mut PgConnection,
    scope: AgencyScope,
    id: ContactId,
) -> Result<Option<StaffContact>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: RecordRow,
        submission: sqlx::types::Json<NewContact>,
        agency_name: String,
        agency_kind: String,
        re_referral: bool,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RECORD_COLUMNS}, d.feedback, c.submission, a.name as agency_name, a.kind as agency_kind,
                c.re_referral
           from contacts c join agencies a on a.id = c.agency_id left join decisions d on d.contact_id = c.id
          where c.id = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(id)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(StaffContact {
            record: ContactRecord::try_from(r.record)?,
            agency_name: r.agency_name,
            agency_kind: r.agency_kind,
            re_referral: r.re_referral,
            submission: r.submission.0,
            history: Vec::new(),
            children: Vec::new(),
            ratings: Vec::new(),
            notes: Vec::new(),
            decision: None,
            sent_back: Vec::new(),
            deliveries: Vec::new(),
        })
    })
    .transpose()
}

pub(crate) async fn ratings(
    conn: &mut PgConnection,
    scope: AgencyScope,
    contact_id: ContactId,
) -> Result<Vec<Rating>, sqlx::Error> {
    sqlx::query_as(
        "select r.kind, r.urgency, r.queue, r.previous_urgency, r.reason, r.actor_kind, r.actor_id, r.policy_version, r.at
           from contact_ratings r join contacts c on c.id = r.contact_id
          where r.contact_id = $1 and ($2::uuid is null or c.agency_id = $2)
          order by r.id",
    )
    .bind(contact_id)
    .bind(scope.agency_filter())
    .fetch_all(conn)
    .await
}

pub(crate) async fn children_of(
    conn: &mut PgConnection,
    scope: AgencyScope,
    contact_id: ContactId,
) -> Result<Vec<CaseChild>, sqlx::Error> {
    sqlx::query_as(
        "select ch.id, ch.ordinal,
                coalesce(array_agg(distinct m2.contact_id) filter (where m2.contact_id is not null), '{}') as matched_contact_ids
           from contact_children ch
           join contacts c on c.id = ch.contact_id
           left join child_matches m on m.child_id = ch.id
           left join contact_children m2 on m2.id = m.matched_child_id
          where ch.contact_id = $1 and ($2::uuid is null or c.agency_id = $2)
          group by ch.id, ch.ordinal
          order by ch.ordinal",
    )
    .bind(contact_id)
    .bind(scope.agency_filter())
    .fetch_all(conn)
    .await
}

/// A contact's rating as triage or a re-rating sets it, with the decision clock's deadline under
/// it (one statement: the rating and the deadline it implies change together).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RatingChange<'a> {
    pub urgency: &'a str,
    pub queue: &'a str,
    /// The classification, at intake only; a re-rating keeps the original.
    pub classification: Option<&'a serde_json::Value>,
    pub decision_due_at: Option<DateTime<Utc>>,
}

/// Sets the contact's urgency, queue and decision deadline, and (at intake) its classification.
pub(crate) async fn set_rating(
    conn: &mut PgConnection,
    contact_id: ContactId,
    rating: &RatingChange<'_>,
    bump_version: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "update contacts set urgency = $2, queue = $3, classification = coalesce($4, classification),
                decision_due_at = $5, version = version + case when $6 then 1 else 0 end
          where id = $1 returning version",
    )
    .bind(contact_id)
    .bind(rating.urgency)
    .bind(rating.queue)
    .bind(rating.classification)
    .bind(rating.decision_due_at)
    .bind(bump_version)
    .fetch_one(conn)
    .await
}

/// What the submitting agency is shown of the contact's rating. Never more urgent than the
/// hub's own rating, and never resting on other agencies' contacts: the triage service decides.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgencyView {
    pub urgency: String,
    pub queue: String,
    pub classification: Classification,
    pub decision_due_at: Option<DateTime<Utc>>,
}

/// Sets the agency view; `own` (the view the agency's own information warrants, fixed at
/// intake) is written when given.
pub(crate) async fn set_agency_view(
    conn: &mut PgConnection,
    contact_id: ContactId,
    view: &AgencyView,
    own: Option<&AgencyView>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update contacts set agency_urgency = $2, agency_queue = $3, agency_classification = $4,
                agency_decision_due_at = $5, own_view = coalesce($6, own_view)
          where id = $1",
    )
    .bind(contact_id)
    .bind(&view.urgency)
    .bind(&view.queue)
    .bind(sqlx::types::Json(&view.classification))
    .bind(view.decision_due_at)
    .bind(own.map(sqlx::types::Json))
    .execute(conn)
    .await?;
    Ok(())
}

/// The view the agency's own information warrants, as fixed at intake.
pub(crate) async fn own_view(
    conn: &mut PgConnection,
    contact_id: ContactId,
) -> Result<Option<AgencyView>, sqlx::Error> {
    let view: Option<Option<sqlx::types::Json<AgencyView>>> =
        sqlx::query_scalar("select own_view from contacts where id = $1").bind(contact_id).fetch_optional(conn).await?;
    Ok(view.flatten().map(|v| v.0))
}

pub(crate) async fn notes(conn: &mut PgConnection, id: ContactId) -> Result<Vec<Note>, sqlx::Error> {
    sqlx::query_as("select id, staff_id, kind, body, created_at from notes where contact_id = $1 order by id")
        .bind(id)
        .fetch_all(conn)
        .await
}

pub(crate) async fn decision(conn: &mut PgConnection, id: ContactId) -> Result<Option<Decision>, sqlx::Error> {
    sqlx::query_as(
        "select outcome, rationale, signpost_agency, feedback, decided_by, decided_at, late_reason, late_reason_text,
                threshold_level, authorisation, authorisation_reasons, authorised_by, authorised_at
           from decisions where contact_id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Decisions of the contact that a manager sent back, oldest first.
pub(crate) async fn sent_back(
    conn: &mut PgConnection,
    id: ContactId,
) -> Result<Vec<super::model::SentBack>, sqlx::Error> {
    sqlx::query_as(
        "select outcome, decided_by, decided_at, authorisation_reasons, sent_back_by, sent_back_at, reason
           from decisions_sent_back where contact_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}

/// Sets the contact's status (and optionally queue), bumping its version; returns the version.
pub(crate) async fn set_status(
    conn: &mut PgConnection,
    id: ContactId,
    status: ContactStatus,
    queue: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("update contacts set status = $2, queue = coalesce($3, queue), version = version + 1 where id = $1 returning version")
        .bind(id)
        .bind(<&str>::from(status))
        .bind(queue)
        .fetch_one(conn)
        .await
}

/// Returns contacts whose claim expired to their queue (`awaiting_screening`).
pub(crate) async fn reopen(conn: &mut PgConnection, ids: &[ContactId]) -> Result<(), sqlx::Error> {
    sqlx::query("update contacts set status = 'awaiting_screening', version = version + 1 where id = any($1) and status = 'in_screening'")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the contact exists (no lock: a note does not change the contact).
/// The contact's version, if it exists (no lock: for changes that do not bump it, like a note).
pub(crate) async fn version(conn: &mut PgConnection, id: ContactId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select version from contacts where id = $1").bind(id).fetch_optional(conn).await
}

pub(crate) async fn deliveries(
    conn: &mut PgConnection,
    contact_id: ContactId,
) -> Result<Vec<DeliveryStatus>, sqlx::Error> {
    sqlx::query_as(
        "select d.id, e.kind as event_kind, d.status, d.attempts, d.last_status, d.last_error, d.next_attempt_at, d.delivered_at
           from deliveries d join events e on e.id = d.event_id where e.contact_id = $1 order by d.created_at, d.id",
    )
    .bind(contact_id)
    .fetch_all(conn)
    .await
}

/// Locks a contact row. Every writer of clocks and steps takes its locks in one order
/// (contact, then clock, then ladder steps), so the worker and re-rating or pausing can never
/// deadlock; `NO KEY UPDATE` leaves foreign-key inserts (events, audit) unblocked.
pub(crate) async fn lock_contact(conn: &mut PgConnection, contact_id: ContactId) -> Result<bool, sqlx::Error> {
    let found: Option<ContactId> = sqlx::query_scalar("select id from contacts where id = $1 for no key update")
        .bind(contact_id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// Locks a contact as [`lock_contact`] does, returning its hub urgency and queue (`None` when it
/// does not exist).
pub(crate) async fn lock_contact_rating(
    conn: &mut PgConnection,
    contact_id: ContactId,
) -> Result<Option<(Option<String>, Option<String>)>, sqlx::Error> {
    sqlx::query_as("select urgency, queue from contacts where id = $1 for no key update")
        .bind(contact_id)
        .fetch_optional(conn)
        .await
}

pub(crate) async fn mark_escalated_many(conn: &mut PgConnection, contact_ids: &[ContactId]) -> Result<(), sqlx::Error> {
    // Escalation is the system's marker, not a change to what staff decide on: the version (and
    // so a holder's `If-Match`) is left alone.
    sqlx::query("update contacts set escalated = true where id = any($1) and not escalated")
        .bind(contact_ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the contact decided with its outcome (the decision itself is the worklist's row),
/// bumping its version; returns the version.
pub(crate) async fn mark_decided(conn: &mut PgConnection, id: ContactId, outcome: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "update contacts set status = 'decided', outcome = $2, version = version + 1 where id = $1 returning version",
    )
    .bind(id)
    .bind(outcome)
    .fetch_one(conn)
    .await
}

/// Keeps the contact's `decision_due_at` (the decision clock's deadline, denormalised for queue
/// order) in step with its decision clock; `None` once the clock stops, which clears the agency
/// view's deadline too (the agency's deadline ignores pauses, so it moves only then).
pub(crate) async fn set_decision_due(
    conn: &mut PgConnection,
    id: ContactId,
    due: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update contacts set decision_due_at = $2,
                agency_decision_due_at = case when $2::timestamptz is null then null else agency_decision_due_at end
          where id = $1",
    )
    .bind(id)
    .bind(due)
    .execute(conn)
    .await?;
    Ok(())
}
