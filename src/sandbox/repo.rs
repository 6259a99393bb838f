//! SQL for the sandbox's test clocks, its staff keys and the database's deployment mark.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::id::{AgencyId, ContactId, StaffId};

/// The database's mark: `live` or `sandbox`, if it has one.
pub(crate) async fn deployment_mode(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select mode from deployment").fetch_optional(pool).await
}

/// Whether the database holds any contact.
pub(crate) async fn holds_contacts(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from contacts)").fetch_one(pool).await
}

/// Marks the database (once; the first mark stays).
pub(crate) async fn mark(pool: &PgPool, mode: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("insert into deployment (mode, marked_at) values ($1, $2) on conflict (only_row) do nothing")
        .bind(mode)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// The agency's test-clock offset in microseconds (0 if it never moved it).
pub(crate) async fn offset_us(pool: &PgPool, agency: AgencyId) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query_scalar("select offset_us from sandbox_clocks where agency_id = $1")
        .bind(agency)
        .fetch_optional(pool)
        .await?
        .unwrap_or(0))
}

/// The agency whose test clock a contact's work runs on.
pub(crate) async fn agency_of_contact(pool: &PgPool, contact: ContactId) -> Result<Option<AgencyId>, sqlx::Error> {
    sqlx::query_scalar("select agency_id from contacts where id = $1").bind(contact).fetch_optional(pool).await
}

/// The agency a sandbox staff key was made for.
pub(crate) async fn agency_of_staff(pool: &PgPool, staff: StaffId) -> Result<Option<AgencyId>, sqlx::Error> {
    sqlx::query_scalar("select agency_id from sandbox_staff where staff_id = $1").bind(staff).fetch_optional(pool).await
}

/// The agency's offset, locked for a change (a row is made at 0 if there was none).
pub(crate) async fn lock_offset(
    conn: &mut PgConnection,
    agency: AgencyId,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "insert into sandbox_clocks (agency_id, offset_us, advanced_to, updated_at) values ($1, 0, $2, $2)
         on conflict (agency_id) do nothing",
    )
    .bind(agency)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("select offset_us from sandbox_clocks where agency_id = $1 for update")
        .bind(agency)
        .fetch_one(conn)
        .await
}

pub(crate) async fn set_offset(
    conn: &mut PgConnection,
    agency: AgencyId,
    offset_us: i64,
    advanced_to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update sandbox_clocks set offset_us = $2, advanced_to = $3, updated_at = $4 where agency_id = $1")
        .bind(agency)
        .bind(offset_us)
        .bind(advanced_to)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Agencies whose test clocks have moved, with their offsets.
pub(crate) async fn moved_clocks(pool: &PgPool) -> Result<Vec<(AgencyId, i64)>, sqlx::Error> {
    sqlx::query_as("select agency_id, offset_us from sandbox_clocks where offset_us > 0 order by agency_id")
        .fetch_all(pool)
        .await
}

pub(crate) async fn insert_staff(conn: &mut PgConnection, staff: StaffId, agency: AgencyId) -> Result<(), sqlx::Error> {
    sqlx::query("insert into sandbox_staff (staff_id, agency_id) values ($1, $2)")
        .bind(staff)
        .bind(agency)
        .execute(conn)
        .await?;
    Ok(())
}
