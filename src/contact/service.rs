//! Reading a contact: the agency's view of its own, and the staff case file. Each read is
//! audited in its own transaction.

use super::{
    model::{ContactRecord, StaffContact},
    repo,
};
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyPrincipal, AgencyScope},
    db::StoreError,
    id::ContactId,
    state::AppState,
};

/// Why a read did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// No such contact within the caller's scope.
    #[error("contact not found")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ContactError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The submitting agency's view of its own contact; audited as a read.
pub async fn read_contact_as_agency(
    state: &AppState,
    agency: &AgencyPrincipal,
    id: ContactId,
) -> Result<ContactRecord, ContactError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let record =
            repo::find_contact(tx, AgencyScope::Own(agency.agency_id), id).await?.ok_or(ContactError::NotFound)?;
        audit::record(
            tx,
            state.clock.now(),
            &Actor::agency(agency.agency_id, agency.key_id),
            AuditAction::ContactRead,
            Some(id),
            serde_json::json!({}),
        )
        .await?;
        Ok(record)
    })
    .await
}

/// A page of an agency's change feed: its own contacts changed after `after`, oldest change
/// first, each in the agency view. Audited as one read (how many, and the page's place).
pub async fn changes_for_agency(
    state: &AppState,
    agency: &AgencyPrincipal,
    after: Option<(&str, i64)>,
    filter: &repo::FeedFilter,
    limit: i64,
) -> Result<Vec<repo::FeedItem>, ContactError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let items = repo::changed_since(tx, agency.agency_id, after, filter, limit).await?;
        audit::record(
            tx,
            state.clock.now(),
            &Actor::agency(agency.agency_id, agency.key_id),
            AuditAction::ContactFeedRead,
            None,
            serde_json::json!({
                "count": items.len(),
                "after": after.map(|(x, s)| format!("{x}.{s}")),
                "through": items.last().map(|i| format!("{}.{}", i.xid, i.seq)),
            }),
        )
        .await?;
        Ok(items)
    })
    .await
}

/// Everything hub staff may see of a contact; audited as a read by `actor`.
pub async fn read_contact_as_staff(
    state: &AppState,
    actor: &Actor,
    id: ContactId,
) -> Result<StaffContact, ContactError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let contact =
            repo::find_staff_contact(tx, AgencyScope::AllAgencies, id).await?.ok_or(ContactError::NotFound)?;
        let history = audit::contact_history(tx, id).await?;
        let children = repo::children_of(tx, AgencyScope::AllAgencies, id).await?;
        let ratings = repo::ratings(tx, AgencyScope::AllAgencies, id).await?;
        let notes = repo::notes(tx, id).await?;
        let decision = repo::decision(tx, id).await?;
        let sent_back = repo::sent_back(tx, id).await?;
        let deliveries = repo::deliveries(tx, id).await?;
        audit::record(
            tx,
            state.clock.now(),
            actor,
            AuditAction::ContactRead,
            Some(id),
            serde_json::json!({ "view": "staff" }),
        )
        .await?;
        Ok(StaffContact { history, children, ratings, notes, decision, sent_back, deliveries, ..contact })
    })
    .await
}
