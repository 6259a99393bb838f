//! PostgreSQL: the pool, the embedded migrations, and the one place that decides whether a
//! database error means "the store is unavailable" (answered 503 with Retry-After) or a bug.
//!
//! Two roles: the owner migrates and owns every table; the runtime role (`database.url`) owns
//! nothing and serves. [`migrate`] runs as the owner and then grants the runtime role its
//! privileges, so tables added by any migration are covered.

use std::{str::FromStr, time::Duration};

use secrecy::ExposeSecret;
use sqlx::{
    PgConnection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::DatabaseSettings;

mod repo;

/// The migrations in `migrations/`, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Applies pending migrations on `owner` (a pool connected as the tables' owner), then, when the
/// service runs as another role, grants that `runtime` role what serving needs. The grant runs
/// after every migration run, so it also covers tables that later migrations add.
pub async fn migrate(owner: &PgPool, runtime: Option<&str>) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(owner).await?;
    if let Some(runtime) = runtime {
        repo::grant_runtime_privileges(owner, runtime).await?;
    }
    Ok(())
}

/// Whether the database records every migration this build embeds as applied. A process
/// reports ready, and starts its background work, only once it does: a binary started before
/// `migrate` would otherwise send statements the schema does not have (answered 500, or ladder
/// steps recorded as failing and retried minutes later). `Err` when the database does not
/// answer. Asked afresh each time (one small query), so a database re-created, or restored from
/// an older backup, is noticed too.
///
/// Not checked: that the runtime role already holds its grants on tables the migrations added.
/// `migrate` grants them just after the migrations commit, so for those seconds (or until a
/// failed grant is run again) statements on a new table fail. Checking every table in `public`
/// would close that gap but would let any table someone else adds there take every replica out.
pub async fn schema_is_current(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let versions: Vec<i64> =
        MIGRATOR.iter().filter(|m| !m.migration_type.is_down_migration()).map(|m| m.version).collect();
    match repo::schema_holds(pool, &versions).await {
        Ok(current) => Ok(current),
        // Never migrated (no table), or this role not granted it: this build's `migrate`
        // grants it, so its migrations have not run either.
        Err(sqlx::Error::Database(err)) if matches!(err.code().as_deref(), Some("42P01" | "42501")) => Ok(false),
        Err(err) => Err(err),
    }
}

/// The role `migrate` should grant to: the user of `database.url` when `database.migrate_url`
/// names a different one; `None` when one role does both (then nothing is granted).
pub fn runtime_role(settings: &DatabaseSettings) -> Result<Option<String>, sqlx::Error> {
    let Some(migrate_url) = settings.migrate_url() else { return Ok(None) };
    let runtime = connect_options(settings)?.get_username().to_owned();
    let owner = PgConnectOptions::from_str(migrate_url)?.get_username().to_owned();
    Ok((runtime != owner).then_some(runtime))
}

/// Connection options for migrating: `database.migrate_url`, else `database.url`.
pub fn migrate_options(settings: &DatabaseSettings) -> Result<PgConnectOptions, sqlx::Error> {
    PgConnectOptions::from_str(settings.migrate_url().unwrap_or(settings.url.expose_secret()))
}

/// A database failure as the domain sees it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is refusing connections; the caller may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error: a bug or a broken invariant.
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_unavailable(&err) { Self::Unavailable(err) } else { Self::Query(err) }
    }
}

/// Whether `err` means the database is down or unreachable, rather than a faulty query.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08xxx connection exceptions; 57P01-57P03 shutdown / cannot connect now; 57014
            // statement cancelled; 53xxx out of disk, memory or connections; 25006 writing to a
            // server that became a read-only standby (failover); 40001/40P01 serialisation
            // failure or deadlock (retrying succeeds); 3D000 database missing (being re-created);
            // 55000 "database is not currently accepting connections" (maintenance); 25P03 the
            // session was ended for idling in a transaction (`database.idle_in_transaction_timeout_ms`:
            // the work is retried on a new one).
            code.starts_with("08")
                || code.starts_with("53")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "57014" | "25006" | "40001" | "40P01" | "3D000" | "55000" | "25P03"
                )
        }),
        _ => false,
    }
}

/// Whether `err` is a serialisation failure or a deadlock: the store is up, and the work, tried
/// again (or in smaller pieces), succeeds.
pub fn is_contention(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| matches!(code.as_ref(), "40001" | "40P01")))
}

/// Connection options from the settings.
pub fn connect_options(settings: &DatabaseSettings) -> Result<PgConnectOptions, sqlx::Error> {
    PgConnectOptions::from_str(settings.url.expose_secret())
}

/// A pool that connects on first use, so the server starts (and reports not-ready) while the
/// database is down rather than refusing to start.
pub fn connect_lazy(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    Ok(runtime_pool_options(settings).connect_lazy_with(connect_options(settings)?))
}

/// A small pool of its own for the key-change listener: one connection held by the listener,
/// one for its heartbeat. Connects on first use, like the main pool.
pub fn listener_pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    Ok(runtime_pool_options(settings)
        .max_connections(2)
        .min_connections(0)
        .connect_lazy_with(connect_options(settings)?))
}

/// A pool that connects now; for one-shot commands.
pub async fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    runtime_pool_options(settings).connect_with(connect_options(settings)?).await
}

/// A pool connected as the owner (`database.migrate_url`, else `database.url`), for `migrate`.
pub async fn connect_owner(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    pool_options(settings).max_connections(2).connect_with(migrate_options(settings)?).await
}

/// Runs `work` in one transaction: commits when it succeeds, and when it fails rolls back before
/// returning. A transaction that is only dropped is rolled back later, when its connection is
/// returned to the pool in a background task; until then it still holds its row locks, so a
/// caller that has just been refused could find the contact it touched locked by its own failed
/// request (claim expiry would skip it, another change would wait).
pub async fn in_transaction<T, E>(
    pool: &PgPool,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<sqlx::Error>,
{
    let mut tx = pool.begin().await?;
    match work(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = tx.rollback().await {
                // The connection is closed by the pool; the failure to report is the first one.
                tracing::warn!(error = %rollback, "rollback after a failed transaction failed");
            }
            Err(err)
        }
    }
}

/// Checks that the database answers.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    pool.acquire().await?.ping().await
}

fn pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
}

/// The runtime role's pools: each new connection first sets `database.idle_in_transaction_timeout_ms`
/// (`0` turns off whatever the server or role set), with a statement rather than a startup
/// option, which some connection poolers refuse. (A pooler in transaction mode is unsupported
/// anyway: transactions rely on advisory locks and prepared statements of their own session.)
/// The owner's pool, which migrates, has no such limit.
fn runtime_pool_options(settings: &DatabaseSettings) -> PgPoolOptions {
    let idle_ms = settings.idle_in_transaction_timeout_ms;
    pool_options(settings).after_connect(move |conn, _| {
        Box::pin(async move {
            repo::limit_idle_in_transaction(conn, idle_ms).await?;
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_count_as_unavailable_and_decode_errors_do_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(matches!(StoreError::from(sqlx::Error::RowNotFound), StoreError::Query(_)));
    }
}
