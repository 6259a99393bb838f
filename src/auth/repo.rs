//! SQL for agencies, staff and keys.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::model::{AgencyKind, AgencyPrincipal, Principal, Role, StaffPrincipal};
use crate::id::{AgencyId, ApiKeyId, StaffId};

/// Inserts an agency; `false` when the name is taken.
pub(crate) async fn insert_agency(
    conn: &mut PgConnection,
    id: AgencyId,
    name: &str,
    kind: AgencyKind,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "insert into agencies (id, name, kind, created_at) values ($1, $2, $3, $4)
         on conflict (name) do nothing",
    )
    .bind(id)
    .bind(name)
    .bind(<&str>::from(kind))
    .bind(now)
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
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into api_keys (id, key_hash, agency_id, staff_id, created_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(key_hash)
    .bind(agency_id)
    .bind(staff_id)
    .bind(now)
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
}

pub(crate) async fn find_principal_by_key_hash(db: &PgPool, key_hash: &[u8]) -> Result<Option<Principal>, sqlx::Error> {
    let row: Option<KeyRow> = sqlx::query_as(
        "select k.id as key_id, a.id as agency_id, a.kind as agency_kind,
                s.id as staff_id, s.role as staff_role
           from api_keys k
           left join agencies a on a.id = k.agency_id
           left join staff s on s.id = k.staff_id
          where k.key_hash = $1 and k.revoked_at is null",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|row| match row {
        KeyRow { key_id, agency_id: Some(agency_id), agency_kind: Some(kind), .. } => {
            Some(Principal::Agency(AgencyPrincipal { agency_id, kind: kind.parse().ok()?, key_id }))
        }
        KeyRow { key_id, staff_id: Some(staff_id), staff_role: Some(role), .. } => {
            Some(Principal::Staff(StaffPrincipal { staff_id, role: role.parse().ok()?, key_id }))
        }
        _ => None,
    }))
}

pub(crate) async fn agency_exists(conn: &mut PgConnection, id: AgencyId) -> Result<bool, sqlx::Error> {
    let found: Option<AgencyId> =
        sqlx::query_scalar("select id from agencies where id = $1").bind(id).fetch_optional(conn).await?;
    Ok(found.is_some())
}
