//! SQL for contacts. Every read takes an [`AgencyScope`].

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::{Classification, ContactRecord, ContactStatus, NewContact, StaffContact};
use crate::{
    auth::AgencyScope,
    id::{AgencyId, ContactId},
};

const RECORD_COLUMNS: &str = "c.id, c.agency_id, c.agency_reference, c.status, c.received_at, c.urgency, c.queue,
     c.decision_due_at, c.classification, c.outcome, c.version";

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: ContactId,
    agency_id: AgencyId,
    agency_reference: String,
    status: String,
    received_at: DateTime<Utc>,
    urgency: Option<String>,
    queue: Option<String>,
    decision_due_at: Option<DateTime<Utc>>,
    classification: Option<sqlx::types::Json<Classification>>,
    outcome: Option<String>,
    /// Only reads join the decision; an insert's returned row has none.
    #[sqlx(default)]
    feedback: Option<String>,
    version: i64,
}

impl TryFrom<RecordRow> for ContactRecord {
    type Error = sqlx::Error;

    fn try_from(row: RecordRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            agency_id: row.agency_id,
            agency_reference: row.agency_reference,
            status: row.status.parse::<ContactStatus>().map_err(|e| sqlx::Error::Decode(e.into()))?,
            received_at: row.received_at,
            urgency: row.urgency,
            queue: row.queue,
            decision_due_at: row.decision_due_at,
            classification: row.classification.map(|c| c.0),
            outcome: row.outcome,
            feedback: row.feedback,
            version: row.version,
        })
    }
}

/// Inserts a contact; `None` when the agency already has a contact with this reference.
pub(crate) async fn insert_contact(
    conn: &mut PgConnection,
    id: ContactId,
    agency_id: AgencyId,
    agency_reference: &str,
    request_hash: &[u8],
    received_at: DateTime<Utc>,
    submission: &serde_json::Value,
) -> Result<Option<ContactRecord>, sqlx::Error> {
    let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into contacts as c (id, agency_id, agency_reference, request_hash, received_at, submission)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (agency_id, agency_reference) do nothing
         returning {RECORD_COLUMNS}"
    )))
    .bind(id)
    .bind(agency_id)
    .bind(agency_reference)
    .bind(request_hash)
    .bind(received_at)
    .bind(submission)
    .fetch_optional(conn)
    .await?;
    row.map(ContactRecord::try_from).transpose()
}

/// The contact with this reference and its request hash.
pub(crate) async fn find_by_reference(
    conn: &mut PgConnection,
    scope: AgencyScope,
    agency_reference: &str,
) -> Result<Option<(ContactRecord, Vec<u8>)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: RecordRow,
        request_hash: Vec<u8>,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RECORD_COLUMNS}, c.request_hash from contacts c
          where c.agency_reference = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(agency_reference)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((ContactRecord::try_from(r.record)?, r.request_hash))).transpose()
}

pub(crate) async fn find_contact(
    conn: &mut PgConnection,
    scope: AgencyScope,
    id: ContactId,
) -> Result<Option<ContactRecord>, sqlx::Error> {
    let row: Option<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RECORD_COLUMNS}, d.feedback from contacts c left join decisions d on d.contact_id = c.id
          where c.id = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(id)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(ContactRecord::try_from).transpose()
}

/// The contact with its submission and agency; `history` is left empty for the caller to fill.
pub(crate) async fn find_staff_contact(
    conn: &mut PgConnection,
    scope: AgencyScope,
    id: ContactId,
) -> Result<Option<StaffContact>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: RecordRow,
        submission: sqlx::types::Json<NewContact>,
        agency_name: String,
        agency_kind: String,
    }
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {RECORD_COLUMNS}, d.feedback, c.submission, a.name as agency_name, a.kind as agency_kind
           from contacts c join agencies a on a.id = c.agency_id left join decisions d on d.contact_id = c.id
          where c.id = $1 and ($2::uuid is null or c.agency_id = $2)"
    )))
    .bind(id)
    .bind(scope.agency_filter())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(StaffContact {
            record: ContactRecord::try_from(r.record)?,
            agency_name: r.agency_name,
            agency_kind: r.agency_kind,
            submission: r.submission.0,
            history: Vec::new(),
            children: Vec::new(),
            ratings: Vec::new(),
            notes: Vec::new(),
            decision: None,
            deliveries: Vec::new(),
        })
    })
    .transpose()
}
