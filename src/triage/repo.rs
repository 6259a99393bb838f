//! SQL for triage: children and their match keys, matches, ratings, and the contact's
//! classification columns.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::{
    audit::Actor,
    auth::AgencyScope,
    contact::ContactStatus,
    id::{AgencyId, ChildId, ContactId},
};

/// An earlier contact's child that matches a key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PriorChild {
    pub child_id: ChildId,
    pub contact_id: ContactId,
    /// The agency that sent the earlier contact.
    pub agency_id: AgencyId,
    pub received_at: DateTime<Utc>,
    pub matched_on: String,
}

/// The most recent earlier contacts matched per child. Bounds the work for a child with a long
/// history; a policy's `prior_contacts.at_least` may not exceed it (the policy check enforces
/// that), and staff see the full history through `/v1/children/{id}/contacts`.
pub use crate::policy::PRIOR_LIMIT;

/// For each `(nhs_number, name_key)` in `keys`, the most recent [`PRIOR_LIMIT`] children of other
/// contacts received between `since` and `before` with the same NHS number or name key (where the
/// NHS numbers do not conflict), newest first (the child's id breaks a tie in time, so the limit
/// always keeps the same rows); in one statement for all the keys (one round trip, however many
/// children; none when no key has a value, and a key with neither matches nothing). Each row
/// carries the index in `keys` it answers. Intake reads these before it inserts its contacts,
/// so none matches itself.
pub(crate) async fn prior_children(
    conn: &mut PgConnection,
    keys: &[(Option<String>, Option<String>)],
    since: DateTime<Utc>,
    before: DateTime<Utc>,
) -> Result<Vec<(usize, PriorChild)>, sqlx::Error> {
    if keys.iter().all(|(nhs, name)| nhs.is_none() && name.is_none()) {
        return Ok(Vec::new());
    }
    let (nhs_numbers, name_keys): (Vec<Option<&str>>, Vec<Option<&str>>) =
        keys.iter().map(|(nhs, name)| (nhs.as_deref(), name.as_deref())).unzip();
    // The matching rule is stated once, in SQL (`read_prior_children`, migration
    // 20261205000002), for this read and for intake's (`lock_child_keys_then_read_prior`).
    let rows: Vec<PriorRow> = sqlx::query_as(
        "select key_index, child_id, contact_id, agency_id, received_at, matched_on
           from read_prior_children($1, $2, $3, $4, $5)",
    )
    .bind(&nhs_numbers)
    .bind(&name_keys)
    .bind(since)
    .bind(before)
    .bind(PRIOR_LIMIT)
    .fetch_all(conn)
    .await?;
    index_rows(rows, keys.len())
}

/// Each row with the index of the key it answers, refusing an index outside the `asked` keys.
fn index_rows(rows: Vec<PriorRow>, asked: usize) -> Result<Vec<(usize, PriorChild)>, sqlx::Error> {
    rows.into_iter()
        .map(|r| match usize::try_from(r.key_index) {
            Ok(index) if index < asked => Ok((index, r.prior)),
            _ => Err(sqlx::Error::Decode("a prior child answers a key that was not asked".into())),
        })
        .collect()
}

/// The `lock_child_keys` SQL function, then [`prior_children`] received since `since` with no
/// upper bound, in one round trip (the `lock_child_keys_then_read_prior` SQL function: the read
/// is a statement of its own after the locks, so it sees what their holders committed). The
/// caller reads the time of receipt after this returns, and must check that nothing returned
/// was received later (clocks that differ, as a sandbox agency's), reading again within its
/// window if something was.
pub(crate) async fn lock_child_keys_then_read_prior(
    conn: &mut PgConnection,
    locks: &[String],
    keys: &[(Option<String>, Option<String>)],
    since: DateTime<Utc>,
) -> Result<Vec<(usize, PriorChild)>, sqlx::Error> {
    if locks.is_empty() {
        // No child has a match key: nothing to lock, and nothing would match.
        return Ok(Vec::new());
    }
    let (nhs_numbers, name_keys): (Vec<Option<&str>>, Vec<Option<&str>>) =
        keys.iter().map(|(nhs, name)| (nhs.as_deref(), name.as_deref())).unzip();
    let rows: Vec<PriorRow> = sqlx::query_as(
        "select key_index, child_id, contact_id, agency_id, received_at, matched_on
           from lock_child_keys_then_read_prior($1, $2, $3, $4, $5)",
    )
    .bind(locks)
    .bind(&nhs_numbers)
    .bind(&name_keys)
    .bind(since)
    .bind(PRIOR_LIMIT)
    .fetch_all(conn)
    .await?;
    index_rows(rows, keys.len())
}

/// A row of [`prior_children`] or [`lock_child_keys_then_read_prior`]: the key it answers and the
/// child found.
#[derive(sqlx::FromRow)]
struct PriorRow {
    key_index: i64,
    #[sqlx(flatten)]
    prior: PriorChild,
}

/// Those of `contacts` decided with one of `outcomes` at or after `since`.
pub(crate) async fn decided_as_any(
    conn: &mut PgConnection,
    contacts: &[ContactId],
    outcomes: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<ContactId>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct contact_id from decisions
          where contact_id = any($1) and outcome = any($2) and decided_at >= $3",
    )
    .bind(contacts)
    .bind(outcomes)
    .bind(since)
    .fetch_all(conn)
    .await
}

/// New contacts' children (in order), their matches to earlier children, for
/// [`insert_intake_rows`]: one array per column.
#[derive(Debug, Default)]
pub(crate) struct IntakeRows {
    pub contact_ids: Vec<ContactId>,
    pub child_ids: Vec<ChildId>,
    pub ordinals: Vec<i32>,
    pub nhs_numbers: Vec<Option<String>>,
    pub name_keys: Vec<Option<String>>,
    pub match_children: Vec<ChildId>,
    pub matched_children: Vec<ChildId>,
    pub matched_on: Vec<String>,
}

/// New contacts' children, their matches and their first ratings (all received at `at`), as
/// common table expressions (`intake_children`, `intake_matches`, `intake_ratings`) of intake's
/// one statement (`intake::repo`): one round trip, however many contacts, children and matches.
/// Only for the contacts listed by the expression `only` (the contacts the statement inserted).
pub(crate) fn push_intake_rows(
    qb: &mut QueryBuilder<Postgres>,
    rows: &IntakeRows,
    ratings: &[NewRating<'_>],
    at: DateTime<Utc>,
    only: &'static str,
) {
    let column = |f: fn(&NewRating<'_>) -> Option<String>| ratings.iter().map(f).collect::<Vec<_>>();
    let contacts: Vec<ContactId> = ratings.iter().map(|r| r.contact_id).collect();
    let actor_ids: Vec<Option<uuid::Uuid>> = ratings.iter().map(|r| r.actor.id).collect();
    let ats: Vec<DateTime<Utc>> = ratings.iter().map(|r| r.at).collect();
    qb.push(
        "intake_children as (
            insert into contact_children (id, contact_id, ordinal, nhs_number, name_key, received_at)
            select c.id, c.contact_id, c.ordinal, c.nhs_number, c.name_key, ",
    );
    qb.push_bind(at).push("::timestamptz from unnest(");
    qb.push_bind(&rows.child_ids).push("::uuid[], ");
    qb.push_bind(&rows.contact_ids).push("::uuid[], ");
    qb.push_bind(&rows.ordinals).push("::int[], ");
    qb.push_bind(&rows.nhs_numbers).push("::text[], ");
    qb.push_bind(&rows.name_keys).push(format_args!(
        "::text[]) as c(id, contact_id, ordinal, nhs_number, name_key)
             where c.contact_id in (select id from {only})
            returning id),
         intake_matches as (
            insert into child_matches (child_id, matched_child_id, matched_on)
            select m.child_id, m.matched_child_id, m.matched_on from unnest("
    ));
    qb.push_bind(&rows.match_children).push("::uuid[], ");
    qb.push_bind(&rows.matched_children).push("::uuid[], ");
    qb.push_bind(&rows.matched_on).push(
        "::text[]) as m(child_id, matched_child_id, matched_on)
             where m.child_id in (select id from intake_children)
            on conflict do nothing),
         intake_ratings as (
            insert into contact_ratings
                (contact_id, kind, urgency, queue, previous_urgency, reason, actor_kind, actor_id, policy_version, at)
            select * from unnest(",
    );
    qb.push_bind(contacts).push("::uuid[], ");
    qb.push_bind(column(|r| Some(r.kind.to_owned()))).push("::text[], ");
    qb.push_bind(column(|r| Some(r.urgency.to_owned()))).push("::text[], ");
    qb.push_bind(column(|r| Some(r.queue.to_owned()))).push("::text[], ");
    qb.push_bind(column(|r| r.previous_urgency.map(str::to_owned))).push("::text[], ");
    qb.push_bind(column(|r| r.reason.map(str::to_owned))).push("::text[], ");
    qb.push_bind(column(|r| Some(r.actor.kind.as_str().to_owned()))).push("::text[], ");
    qb.push_bind(actor_ids).push("::uuid[], ");
    qb.push_bind(column(|r| Some(r.policy_version.to_owned()))).push("::text[], ");
    qb.push_bind(ats).push(format_args!(
        "::timestamptz[])
                   as r(contact_id, kind, urgency, queue, previous_urgency, reason, actor_kind, actor_id, policy_version, at)
             where r.contact_id in (select id from {only}))"
    ));
}

/// One rating row.
pub(crate) struct NewRating<'a> {
    pub contact_id: ContactId,
    pub kind: &'a str,
    pub urgency: &'a str,
    pub queue: &'a str,
    pub previous_urgency: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub actor: &'a Actor,
    pub policy_version: &'a str,
    pub at: DateTime<Utc>,
}

pub(crate) async fn insert_rating(conn: &mut PgConnection, r: &NewRating<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into contact_ratings
            (contact_id, kind, urgency, queue, previous_urgency, reason, actor_kind, actor_id, policy_version, at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(r.contact_id)
    .bind(r.kind)
    .bind(r.urgency)
    .bind(r.queue)
    .bind(r.previous_urgency)
    .bind(r.reason)
    .bind(r.actor.kind.as_str())
    .bind(r.actor.id)
    .bind(r.policy_version)
    .bind(r.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a re-rating needs of a contact, locked for update.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RatingTarget {
    #[sqlx(try_from = "String")]
    pub status: ContactStatus,
    pub urgency: Option<String>,
    pub version: i64,
    pub submission: sqlx::types::Json<crate::contact::NewContact>,
    pub agency_kind: String,
    pub received_at: DateTime<Utc>,
}

pub(crate) async fn lock_for_rerate(
    conn: &mut PgConnection,
    scope: AgencyScope,
    id: ContactId,
) -> Result<Option<RatingTarget>, sqlx::Error> {
    sqlx::query_as(
        "select c.status, c.urgency, c.version, c.submission, a.kind as agency_kind, c.received_at
           from contacts c join agencies a on a.id = c.agency_id
          where c.id = $1 and ($2::uuid is null or c.agency_id = $2)
          for no key update of c",
    )
    .bind(id)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await
}

/// A contact about a child, as listed for staff.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChildContact {
    pub contact_id: ContactId,
    pub child_id: ChildId,
    pub received_at: DateTime<Utc>,
    pub status: String,
    pub urgency: Option<String>,
    pub queue: Option<String>,
    pub agency_kind: String,
    pub matched_on: String,
}

/// Every contact about the same child as `child_id` (same NHS number or name key), oldest first;
/// `None` when there is no such child in scope.
pub(crate) async fn contacts_about_child(
    conn: &mut PgConnection,
    scope: AgencyScope,
    child_id: ChildId,
) -> Result<Option<Vec<ChildContact>>, sqlx::Error> {
    let exists: Option<ChildId> = sqlx::query_scalar(
        "select ch.id from contact_children ch join contacts c on c.id = ch.contact_id
          where ch.id = $1 and ($2::uuid is null or c.agency_id = $2)",
    )
    .bind(child_id)
    .bind(scope.agency_filter())
    .fetch_optional(&mut *conn)
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query_as(
        "select distinct on (c.received_at, c.id) c.id as contact_id, other.id as child_id, c.received_at, c.status,
                c.urgency, c.queue, a.kind as agency_kind,
                case when other.id = me.id then 'self'
                     when other.nhs_number = me.nhs_number then 'nhs_number'
                     else 'name_and_date_of_birth' end as matched_on
           from contact_children me
           join contact_children other
             on other.id = me.id
             or other.nhs_number = me.nhs_number
             -- Two different NHS numbers are two different children, whatever their names.
             or (other.name_key = me.name_key and (other.nhs_number is null or me.nhs_number is null))
           join contacts c on c.id = other.contact_id
           join agencies a on a.id = c.agency_id
          where me.id = $1 and ($2::uuid is null or c.agency_id = $2)
          order by c.received_at, c.id, (other.id = me.id) desc",
    )
    .bind(child_id)
    .bind(scope.agency_filter())
    .fetch_all(conn)
    .await?;
    Ok(Some(rows))
}
