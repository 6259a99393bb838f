//! SQL for the database's own set-up: granting the runtime role its privileges after migrating,
//! checking that a build's migrations are applied, and the runtime role's session limits.

use sqlx::{PgConnection, PgPool};

/// Grants `runtime` exactly the privileges serving needs (migration
/// `20261130000011_grant_runtime_privileges.sql` holds the policy and its checks). Runs as the
/// owner, which holds the grant options.
pub(crate) async fn grant_runtime_privileges(pool: &PgPool, runtime: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select grant_runtime_privileges($1)").bind(runtime).execute(pool).await?;
    Ok(())
}

/// Whether the database records every one of `versions` as applied successfully. Fails with
/// `undefined_table` on a database never migrated.
pub(crate) async fn schema_holds(pool: &PgPool, versions: &[i64]) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select count(*) = cardinality($1) from _sqlx_migrations where success and version = any($1)")
        .bind(versions)
        .fetch_one(pool)
        .await
}

/// Sets this session's `idle_in_transaction_session_timeout` (milliseconds).
pub(crate) async fn limit_idle_in_transaction(conn: &mut PgConnection, ms: u64) -> Result<(), sqlx::Error> {
    sqlx::query("select set_config('idle_in_transaction_session_timeout', $1, false)")
        .bind(ms.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
