//! SQL for agencies, staff and keys, and for ending a departing staff member's claims.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::model::{AgencyKind, AgencyPrincipal, Principal, Role, StaffPrincipal};
use crate::id::{AgencyId, ApiKeyId, ContactId, StaffId};

/// Inserts an agency; `false` when the name is taken.
pub(crate) async fn insert_agency(
    conn: &mut PgConnection,
    id: AgencyId,
    name: &str,
    (kind, source): (AgencyKind, crate::vocabulary::ContactSource),
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into agencies (id, name, kind, created_at, contact_source) values ($1, $2, $3, $4, $5)
         on conflict (name) do nothing",
    )
    .bind(id)
    .bind(name)
    .bind(<&str>::from(kind))
    .bind(now)
    .bind(<&str>::from(source))
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

pub(crate) async fn find_agency(
    db: &PgPool,
    id: Option<AgencyId>,
    name: &str,
) -> Result<Option<AgencyId>, sqlx::Error> {
    sqlx::query_scalar("select id from agencies where id = $1 or name = $2 order by (id = $1) desc limit 1")
        .bind(id)
        .bind(name)
        .fetch_optional(db)
        .await
}

pub(crate) async fn insert_staff(
    conn: &mut PgConnection,
    id: StaffId,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into staff (id, name, role, created_at) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(<&str>::from(role))
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn insert_key(
    conn: &mut PgConnection,
    id: ApiKeyId,
    key_hash: &[u8],
    agency_id: Option<AgencyId>,
    staff_id: Option<StaffId>,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_keys (id, key_hash, agency_id, staff_id, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(key_hash)
    .bind(agency_id)
    .bind(staff_id)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: ApiKeyId,
    agency_id: Option<AgencyId>,
    agency_kind: Option<String>,
    staff_id: Option<StaffId>,
    staff_role: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

/// The principal of a key that is live at `now` (not revoked, not past its expiry, and not
/// belonging to deactivated staff), with the key's expiry so a cached copy can check it on
/// every use. A change to any of these notifies `mash_keys_changed` ([`listen_for_key_changes`]).
pub(crate) async fn find_principal_by_key_hash(
    db: &PgPool,
    key_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<(Principal, Option<DateTime<Utc>>)>, sqlx::Error> {
    let row: Option<KeyRow> = sqlx::query_as(
        "select k.id as key_id, a.id as agency_id, a.kind as agency_kind,
                s.id as staff_id, s.role as staff_role, k.expires_at
           from api_keys k
           left join agencies a on a.id = k.agency_id
           left join staff s on s.id = k.staff_id
          where k.key_hash = $1 and k.revoked_at is null
            and (k.expires_at is null or k.expires_at > $2)
            and s.deactivated_at is null",
    )
    .bind(key_hash)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|row| {
        let principal = match row {
            KeyRow { key_id, agency_id: Some(agency_id), agency_kind: Some(ref kind), .. } => {
                Principal::Agency(AgencyPrincipal { agency_id, kind: kind.parse().ok()?, key_id })
            }
            KeyRow { key_id, staff_id: Some(staff_id), staff_role: Some(ref role), .. } => {
                Principal::Staff(StaffPrincipal { staff_id, role: role.parse().ok()?, key_id })
            }
            _ => return None,
        };
        Some((principal, row.expires_at))
    }))
}

/// The channel on which a committed change to a key, a member of staff or an agency's kind is
/// announced (by the triggers of migration `20261204000002`).
const KEYS_CHANGED: &str = "mash_keys_changed";
/// The channel of the listeners' heartbeats, which prove that notifications arrive.
const KEYS_HEARD: &str = "mash_keys_heard";

/// What a key-change listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyNews {
    /// A key, a member of staff or an agency's kind changed.
    Changed,
    /// A heartbeat, with the payload its sender gave it.
    Heard(String),
}

/// Listens for key changes and heartbeats on a connection of its own (taken from `db`),
/// calling `on_news` for each. Returns `Ok` when the connection is lost or nothing at all is
/// heard for `silence` (a connection that died without an error: heartbeats come every
/// second), so that the caller stops trusting what it cached and listens again on a new
/// connection; or the error that made listening fail.
pub(crate) async fn listen_for_key_changes(
    db: &PgPool,
    silence: std::time::Duration,
    on_news: impl Fn(KeyNews),
) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect_with(db).await?;
    // A lost connection is reported at once rather than after reconnecting, so that the cache
    // stops before the reconnection's wait, not after it.
    listener.eager_reconnect(false);
    listener.listen_all([KEYS_CHANGED, KEYS_HEARD]).await?;
    loop {
        // Cancelling `try_recv` may leave the connection mid-message: it is dropped right after.
        match tokio::time::timeout(silence, listener.try_recv()).await {
            Ok(Ok(Some(n))) if n.channel() == KEYS_CHANGED => on_news(KeyNews::Changed),
            Ok(Ok(Some(n))) => on_news(KeyNews::Heard(n.payload().to_owned())),
            Ok(Ok(None)) | Err(_) => return Ok(()),
            Ok(Err(err)) => return Err(err),
        }
    }
}

/// Sends a heartbeat with `payload` to every key-change listener.
pub(crate) async fn send_key_heartbeat(db: &PgPool, payload: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_notify($1, $2)").bind(KEYS_HEARD).bind(payload).execute(db).await?;
    Ok(())
}

pub(crate) async fn agency_exists(conn: &mut PgConnection, id: AgencyId) -> Result<bool, sqlx::Error> {
    let found: Option<AgencyId> =
        sqlx::query_scalar("select id from agencies where id = $1").bind(id).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// A key with its owner, for listing (no hash).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KeyListRow {
    pub id: ApiKeyId,
    pub agency_id: Option<AgencyId>,
    pub agency_name: Option<String>,
    pub staff_id: Option<StaffId>,
    pub staff_role: Option<String>,
    pub staff_deactivated: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every key, oldest first.
pub(crate) async fn list_keys(db: &PgPool) -> Result<Vec<KeyListRow>, sqlx::Error> {
    sqlx::query_as(
        "select k.id, a.id as agency_id, a.name as agency_name, s.id as staff_id, s.role as staff_role,
                (s.deactivated_at is not null) as staff_deactivated,
                k.created_at, k.expires_at, k.revoked_at
           from api_keys k
           left join agencies a on a.id = k.agency_id
           left join staff s on s.id = k.staff_id
          order by k.created_at, k.id",
    )
    .fetch_all(db)
    .await
}

/// A key locked for a change, with what decides whether it is live.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LockedKey {
    pub agency_id: Option<AgencyId>,
    pub staff_id: Option<StaffId>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub staff_deactivated: bool,
}

pub(crate) async fn lock_key(conn: &mut PgConnection, id: ApiKeyId) -> Result<Option<LockedKey>, sqlx::Error> {
    sqlx::query_as(
        "select k.agency_id, k.staff_id, k.expires_at, k.revoked_at,
                coalesce(s.deactivated_at is not null, false) as staff_deactivated
           from api_keys k left join staff s on s.id = k.staff_id
          where k.id = $1 for update of k",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub(crate) async fn revoke_key(conn: &mut PgConnection, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update api_keys set revoked_at = $2 where id = $1 and revoked_at is null")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Brings a key's expiry forward to `at` (never later than it already was).
pub(crate) async fn expire_key_at(conn: &mut PgConnection, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("update api_keys set expires_at = least(expires_at, $2) where id = $1")
        .bind(id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a member of staff as gone. `None` when there is no such staff member; `Some(false)`
/// when they were deactivated already.
pub(crate) async fn deactivate_staff(
    conn: &mut PgConnection,
    id: StaffId,
    now: DateTime<Utc>,
) -> Result<Option<bool>, sqlx::Error> {
    let already: Option<bool> =
        sqlx::query_scalar("select deactivated_at is not null from staff where id = $1 for no key update")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if already != Some(false) {
        return Ok(already.map(|_| false));
    }
    sqlx::query("update staff set deactivated_at = $2 where id = $1").bind(id).bind(now).execute(conn).await?;
    Ok(Some(true))
}

/// Revokes every unrevoked key of a member of staff; returns them.
pub(crate) async fn revoke_staff_keys(
    conn: &mut PgConnection,
    staff: StaffId,
    now: DateTime<Utc>,
) -> Result<Vec<ApiKeyId>, sqlx::Error> {
    sqlx::query_scalar(
        "with revoked as (update api_keys set revoked_at = $2 where staff_id = $1 and revoked_at is null returning id)
         select id from revoked order by id",
    )
    .bind(staff)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// Ends the lease of every claim `staff` holds, so the contacts are free to claim at once and
/// the worklist's claim-expiry round returns them to their queues (audited there, per contact).
/// The claims stay the worklist's to delete; this only shortens them. A lease is ended by making
/// it end where it began, so it has ended by any replica's clock, even one a little behind the
/// operator's. The contacts are locked first, in id order: the one lock order every worklist
/// writer follows.
pub(crate) async fn end_claims_of(conn: &mut PgConnection, staff: StaffId) -> Result<Vec<ContactId>, sqlx::Error> {
    let held: Vec<ContactId> = sqlx::query_scalar(
        "select c.id from contacts c join claims k on k.contact_id = c.id
          where k.staff_id = $1 order by c.id for no key update of c",
    )
    .bind(staff)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "with ended as (update claims set expires_at = claimed_at
                         where contact_id = any($1) and staff_id = $2 returning contact_id)
         select contact_id from ended order by contact_id",
    )
    .bind(&held)
    .bind(staff)
    .fetch_all(conn)
    .await
}

/// Sets an agency's contact source; `false` when there is no such agency.
pub(crate) async fn set_contact_source(
    conn: &mut PgConnection,
    id: AgencyId,
    source: crate::vocabulary::ContactSource,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update agencies set contact_source = $2 where id = $1")
        .bind(id)
        .bind(<&str>::from(source))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a new console session (the token's hash only).
pub(crate) async fn insert_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    staff: &StaffPrincipal,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into console_sessions (token_hash, staff_id, method, api_key_id, csrf_token, created_at, last_seen_at,
                                       expires_at)
         values ($1, $2, 'staff_key', $3, $4, $5, $5, $6)",
    )
    .bind(token_hash)
    .bind(staff.staff_id)
    .bind(staff.key_id)
    .bind(csrf_token)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A console session not yet ended, locked, with whether the way it signed in is still live.
pub(crate) struct SessionRow {
    pub staff: StaffPrincipal,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub key_live: bool,
}

pub(crate) async fn lock_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<SessionRow>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        staff_id: StaffId,
        role: String,
        api_key_id: ApiKeyId,
        csrf_token: String,
        last_seen_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        key_live: bool,
    }
    let row: Option<Row> = sqlx::query_as(
        "select s.staff_id, st.role, s.api_key_id, s.csrf_token, s.last_seen_at, s.expires_at,
                (k.revoked_at is null and (k.expires_at is null or k.expires_at > $2) and st.deactivated_at is null)
                    as key_live
           from console_sessions s
           join staff st on st.id = s.staff_id
           join api_keys k on k.id = s.api_key_id
          where s.token_hash = $1 and s.ended_at is null
            for update of s",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        Some(SessionRow {
            staff: StaffPrincipal { staff_id: r.staff_id, role: r.role.parse().ok()?, key_id: r.api_key_id },
            csrf_token: r.csrf_token,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            key_live: r.key_live,
        })
    }))
}

pub(crate) async fn touch_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("update console_sessions set last_seen_at = $2 where token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn end_session(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update console_sessions set ended_at = $2, end_reason = $3 where token_hash = $1 and ended_at is null",
    )
    .bind(token_hash)
    .bind(now)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Staff who work contacts (practitioners and managers) and have not left, by name.
pub(crate) async fn caseworkers(db: &PgPool) -> Result<Vec<(StaffId, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select id, name, role from staff
          where role in ('practitioner', 'manager') and deactivated_at is null order by name, id",
    )
    .fetch_all(db)
    .await
}
