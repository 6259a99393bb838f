//! SQL for the time authority: the database server's clock.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// The database server's current time: the time authority for every replica.
pub(crate) async fn database_now(conn: &mut PgConnection) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar("select clock_timestamp()").fetch_one(conn).await
}
