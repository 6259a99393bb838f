//! The reports' one read: a row per contact of the cohort, with what its figures need.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::{CohortRow, Period, ReportFilter};

/// The cohort of a report: contacts received in the period (`$1`, `$2`) that pass the filters
/// (`$3` to `$6`, bound by [`cohort_query`]); `c` is the contact and `a` its agency.
const COHORT: &str = "where c.received_at >= $1 and c.received_at < $2
            and ($3::text is null or c.queue = $3)
            and ($4::text is null or c.urgency = $4)
            and ($5::uuid is null or c.agency_id = $5)
            and ($6::text is null or a.kind = $6)";

/// Binds the cohort's period and filters to a query written with [`COHORT`].
fn cohort_query<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    period: Period,
    filter: &'q ReportFilter,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    query
        .bind(period.start)
        .bind(period.end)
        .bind(&filter.queue)
        .bind(&filter.urgency)
        .bind(filter.agency_id)
        .bind(filter.agency_kind.map(<&str>::from))
}

/// The contacts received in `period` that pass the filter, with their decision, feedback clock,
/// breach and recorded late reason. The intake urgency is the first classification's.
pub(crate) async fn cohort(
    conn: &mut PgConnection,
    period: Period,
    filter: &ReportFilter,
) -> Result<Vec<CohortRow>, sqlx::Error> {
    no_jit(conn).await?;
    cohort_query(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select c.agency_id, a.name as agency_name, a.kind as agency_kind, c.received_at, c.status, c.urgency,
                ir.urgency as intake_urgency,
                c.queue, c.decision_due_at, c.re_referral, c.outcome,
                d.decided_at, d.late_reason, d.authorisation,
                f.started_at as feedback_started_at, f.stopped_at as feedback_stopped_at,
                f.stop_reason as feedback_stop_reason,
                exists (select 1 from clocks k join breaches b on b.clock_id = k.id
                         where k.contact_id = c.id and k.kind = 'decision') as decision_breached,
                lr.late_reason as recorded_late_reason,
                coalesce(sb.n, 0) as sent_back
           from contacts c
           join agencies a on a.id = c.agency_id
           -- the first classification is the intake's, at receipt: one hash join over the
           -- period's, not a look-up per contact
           left join (select distinct on (r.contact_id) r.contact_id, r.urgency from contact_ratings r
                       where r.kind = 'classification' and r.at >= $1 and r.at < $2
                       order by r.contact_id, r.id) ir on ir.contact_id = c.id
           left join (select contact_id, count(*) as n from decisions_sent_back group by contact_id) sb
                  on sb.contact_id = c.id
           left join decisions d on d.contact_id = c.id
           left join clocks f on f.contact_id = c.id and f.kind = 'feedback'
           left join contact_late_reasons lr on lr.contact_id = c.id
          {COHORT}"
        ))),
        period,
        filter,
    )
    .fetch_all(conn)
    .await
}

/// PostgreSQL's JIT compiles a query of this size for longer than it then runs (measured: 1.1 s
/// with it, 0.49 s without, for a year of 100,000 contacts), so the report's transaction runs
/// without it.
async fn no_jit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("set local jit = off").execute(conn).await?;
    Ok(())
}

/// One child of a contact received in the period, for Ofsted's Annex A list of contacts.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AnnexAChild {
    pub child_id: uuid::Uuid,
    pub received_at: DateTime<Utc>,
    /// The child as the agency sent it (`submission.children[ordinal]`).
    pub child: sqlx::types::Json<serde_json::Value>,
    pub contact_source: Option<String>,
    pub agency_kind: String,
}

/// Every child of every contact received in `period` that passes the filter, in order of receipt.
pub(crate) async fn annex_a(
    conn: &mut PgConnection,
    period: Period,
    filter: &ReportFilter,
) -> Result<Vec<AnnexAChild>, sqlx::Error> {
    no_jit(conn).await?;
    cohort_query(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select cc.id as child_id, c.received_at, c.submission -> 'children' -> cc.ordinal as child,
                a.contact_source, a.kind as agency_kind
           from contacts c
           join agencies a on a.id = c.agency_id
           join contact_children cc on cc.contact_id = c.id
          {COHORT}
          order by c.received_at, c.id, cc.ordinal"
        ))),
        period,
        filter,
    )
    .fetch_all(conn)
    .await
}
