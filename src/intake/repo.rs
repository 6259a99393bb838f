//! SQL for `Idempotency-Key`s on submissions, and the one statement that writes the rows that
//! follow new contacts (the contacts themselves are written by [`crate::contact::repo`]).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::id::{AgencyId, ContactId};

/// Takes the key's lock for this transaction if no other transaction holds it; `false` when a
/// request with the same key is still being processed (here or on another replica).
pub(crate) async fn try_lock_key(conn: &mut PgConnection, agency: AgencyId, key: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select pg_try_advisory_xact_lock(hashtextextended('idempotency-key:' || $1::text || ':' || $2, 0))",
    )
    .bind(agency)
    .bind(key)
    .fetch_one(conn)
    .await
}

/// A key's earlier use still within its lifetime (used at or after `since`): the fingerprint of
/// the request, the contact it stored or found, and the status it was answered with.
pub(crate) async fn find_key(
    conn: &mut PgConnection,
    agency: AgencyId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<(Vec<u8>, ContactId, i16)>, sqlx::Error> {
    sqlx::query_as(
        "select request_hash, contact_id, status from idempotency_keys
          where agency_id = $1 and key = $2 and created_at >= $3",
    )
    .bind(agency)
    .bind(key)
    .bind(since)
    .fetch_optional(conn)
    .await
}

/// Records a key's use (replacing an expired one), in the submission's transaction.
pub(crate) async fn record_key(
    conn: &mut PgConnection,
    agency: AgencyId,
    key: &str,
    (request_hash, contact, status): (&[u8], ContactId, i16),
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into idempotency_keys (agency_id, key, request_hash, contact_id, status, created_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (agency_id, key) do update
            set request_hash = excluded.request_hash, contact_id = excluded.contact_id,
                status = excluded.status, created_at = excluded.created_at",
    )
    .bind(agency)
    .bind(key)
    .bind(request_hash)
    .bind(contact)
    .bind(status)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes keys used before `before`; returns how many.
pub(crate) async fn prune_keys(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("delete from idempotency_keys where created_at < $1")
        .bind(before)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Intake's one statement: the contacts (`contact::repo::push_contacts`, first, as the
/// expression its other parts read the inserted contacts from), their children, matches and
/// first ratings, their clocks with segments and steps, and their audit events. Each module adds
/// its own rows' SQL as common table expressions (`push_*`), after [`next_part`] between them;
/// `contact::repo::fetch_new_contacts` runs it: one round trip where there was one per module.
pub(crate) fn rows_statement() -> QueryBuilder<Postgres> {
    QueryBuilder::new("with ")
}

/// Separates two modules' parts of [`rows_statement`].
pub(crate) fn next_part(qb: &mut QueryBuilder<Postgres>) {
    qb.push(", ");
}
