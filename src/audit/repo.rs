//! SQL for the audit trail. Inserts only: the table refuses anything else. The chain columns are
//! set by the database's trigger, never here; the verifier reads them.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{
    chain::ChainLink,
    model::{Actor, AuditAction, AuditEvent, AuditFilter},
};
use crate::id::{ApiKeyId, ContactId};

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

/// One event per contact, all with the same action and time, each by its own actor.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    action: AuditAction,
    actors: &[&Actor],
    contact_ids: &[ContactId],
    details: &[serde_json::Value],
) -> Result<(), sqlx::Error> {
    let mut qb = QueryBuilder::new("with ");
    push_events(&mut qb, at, action, actors, contact_ids, details, None);
    qb.push(" select 1").build().execute(conn).await?;
    Ok(())
}

/// The events of [`insert_events`] as a common table expression (`new_events`) of a statement:
/// intake's one statement (`intake::repo`) holds its audit events. With `only`, only for the
/// contacts that expression lists (in intake's statement, those it inserted).
pub(crate) fn push_events(
    qb: &mut QueryBuilder<Postgres>,
    at: DateTime<Utc>,
    action: AuditAction,
    actors: &[&Actor],
    contact_ids: &[ContactId],
    details: &[serde_json::Value],
    only: Option<&'static str>,
) {
    let kinds: Vec<&str> = actors.iter().map(|a| a.kind.as_str()).collect();
    let ids: Vec<Option<uuid::Uuid>> = actors.iter().map(|a| a.id).collect();
    let keys: Vec<Option<ApiKeyId>> = actors.iter().map(|a| a.api_key_id).collect();
    qb.push(
        "new_events as (
            insert into audit_events (occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail)
            select ",
    );
    qb.push_bind(at).push("::timestamptz, e.actor_kind, e.actor_id, e.api_key_id, ");
    qb.push_bind(action.as_str()).push("::text, e.contact_id, e.detail from unnest(");
    qb.push_bind(kinds).push("::text[], ");
    qb.push_bind(ids).push("::uuid[], ");
    qb.push_bind(keys).push("::uuid[], ");
    qb.push_bind(contact_ids).push("::uuid[], ");
    qb.push_bind(details).push("::jsonb[]) as e(actor_kind, actor_id, api_key_id, contact_id, detail)");
    if let Some(only) = only {
        qb.push(format_args!(" where e.contact_id in (select id from {only})"));
    }
    qb.push(")");
}

const EVENT_COLUMNS: &str = "id, occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail";

pub(crate) async fn list_events(conn: &mut PgConnection, filter: &AuditFilter) -> Result<Vec<AuditEvent>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from audit_events
          where ($1::uuid is null or contact_id = $1) and ($2::bigint is null or id > $2)
            and ($4::uuid is null or actor_id = $4) and ($5::text is null or action = $5)
            and ($6::timestamptz is null or occurred_at >= $6) and ($7::timestamptz is null or occurred_at < $7)
          order by id limit $3"
    )))
    .bind(filter.contact_id)
    .bind(filter.after)
    .bind(filter.limit)
    .bind(filter.actor_id)
    .bind(&filter.action)
    .bind(filter.from)
    .bind(filter.to)
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

/// Makes the calling transaction one read-only snapshot, so a verification sees every row it
/// counts and no row appears between its pages. Must be the transaction's first statement.
pub(crate) async fn begin_snapshot(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("set transaction isolation level repeatable read, read only").execute(conn).await?;
    Ok(())
}

/// Up to `limit` chained rows after position `after`, in chain order, each with its canonical
/// text. The expression is a copy of `audit_event_canonical` in migration
/// `20261130000010_chain_audit_events.sql`, kept here so that replacing the database's function
/// cannot change what is verified.
pub(crate) async fn chain_links(
    conn: &mut PgConnection,
    after: Option<(NaiveDate, i16, i64)>,
    limit: i64,
) -> Result<Vec<ChainLink>, sqlx::Error> {
    let (day, lane, seq) = after.map_or((None, None, None), |(d, l, s)| (Some(d), Some(l), Some(s)));
    sqlx::query_as(
        "select chain_day, chain_lane, chain_seq, id, prev_hash, hash,
                jsonb_build_array(
                    id, to_char(chain_day, 'YYYY-MM-DD'), chain_lane, chain_seq,
                    (extract(epoch from occurred_at) * 1000000)::bigint,
                    (extract(epoch from recorded_at) * 1000000)::bigint,
                    actor_kind, actor_id, api_key_id, action, contact_id, detail)::text as canonical
           from audit_events
          where chain_day is not null and chain_lane is not null and chain_seq is not null
            and ($1::date is null or (chain_day, chain_lane, chain_seq) > ($1, $2, $3))
          order by chain_day, chain_lane, chain_seq
          limit $4",
    )
    .bind(day)
    .bind(lane)
    .bind(seq)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The smallest id of a row outside every chain (written with the chaining trigger disabled and
/// the columns' NOT NULL removed), if any.
pub(crate) async fn first_unchained(conn: &mut PgConnection) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from audit_events
          where chain_day is null or chain_lane is null or chain_seq is null
          order by id limit 1",
    )
    .fetch_optional(conn)
    .await
}
