//! SQL for the audit trail. Inserts only: the table refuses anything else.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::{Actor, AuditAction, AuditEvent, AuditFilter};
use crate::id::ContactId;

pub(crate) async fn insert_event(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: AuditAction,
    contact_id: Option<ContactId>,
    detail: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_events (occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at)
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .bind(actor.api_key_id)
    .bind(action.as_str())
    .bind(contact_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: &Actor,
    action: AuditAction,
    contact_ids: &[ContactId],
    details: &[serde_json::Value],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_events (occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail)
         select $1, $2, $3, $4, $5, e.contact_id, e.detail from unnest($6::uuid[], $7::jsonb[]) as e(contact_id, detail)",
    )
    .bind(at)
    .bind(actor.kind.as_str())
    .bind(actor.id)
    .bind(actor.api_key_id)
    .bind(action.as_str())
    .bind(contact_ids)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}

const EVENT_COLUMNS: &str = "id, occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail";

pub(crate) async fn list_events(conn: &mut PgConnection, filter: &AuditFilter) -> Result<Vec<AuditEvent>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from audit_events
          where ($1::uuid is null or contact_id = $1) and ($2::bigint is null or id > $2)
          order by id limit $3"
    )))
    .bind(filter.contact_id)
    .bind(filter.after)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
}

pub(crate) async fn contact_writes(
    conn: &mut PgConnection,
    contact_id: ContactId,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from audit_events
          where contact_id = $1 and action <> all($2) order by id"
    )))
    .bind(contact_id)
    .bind(AuditAction::reads())
    .fetch_all(conn)
    .await
}
