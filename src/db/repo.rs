//! SQL for the database's own set-up: granting the runtime role its privileges after migrating.

use sqlx::PgPool;

/// Grants `runtime` exactly the privileges serving needs (migration
/// `20261130000011_grant_runtime_privileges.sql` holds the policy and its checks). Runs as the
/// owner, which holds the grant options.
pub(crate) async fn grant_runtime_privileges(pool: &PgPool, runtime: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select grant_runtime_privileges($1)").bind(runtime).execute(pool).await?;
    Ok(())
}
