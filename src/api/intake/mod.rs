//! `/v1/contacts`: partners submit contacts (one or a batch) and read them back; hub staff read
//! the full contact. Handlers authorise, parse and call the services, nothing else; the wire
//! types are in [`request`] and [`response`].

pub mod request;
pub mod response;

use std::sync::Arc;

use poem_openapi::{OpenApi, payload::Json};

use self::response::{BatchSubmitResponse, GetContactResponse, SubmitResponse};
pub use self::{
    request::{BatchRequest, NewContactRequest, as_request},
    response::{BatchItemResult, BatchResponse, ContactResponse},
};
use super::{
    ApiTags,
    path::Path,
    payload::JsonBody,
    problem::{ApiError, BatchError, ContactReadError, SubmitError},
    security::BearerKey,
};
use crate::{
    auth::{AgencyPrincipal, Principal, Role},
    contact::{self, NewContact},
    id::ContactId,
    intake::{self, Submitted, Today, validate},
    state::AppState,
};

/// Contact intake and reading.
pub struct IntakeApi {
    pub state: Arc<AppState>,
}

impl IntakeApi {
    fn today(&self) -> Today {
        Today { date: self.state.clock.today_local(), now: self.state.clock.now() }
    }

    fn location(&self, id: uuid::Uuid) -> String {
        format!("{}/v1/contacts/{id}", self.state.settings.http.public_base_url)
    }

    async fn submit_one(&self, agency: &AgencyPrincipal, contact: &NewContact) -> Result<Submitted, ApiError> {
        Ok(intake::service::submit_contact(&self.state, agency, contact).await?)
    }
}

#[OpenApi(tag = "ApiTags::Contacts")]
impl IntakeApi {
    /// Submit a contact.
    ///
    /// Validates the whole contact and answers 422 listing every field at fault. The same
    /// `agency_reference` with the same body again is a safe retry (200 with the stored contact);
    /// with a different body it is a 409. Agency keys only.
    #[oai(path = "/v1/contacts", method = "post", operation_id = "intake.contact.create")]
    async fn create(&self, auth: BearerKey, body: JsonBody<NewContactRequest>) -> Result<SubmitResponse, SubmitError> {
        let agency = auth.0.require_agency()?;
        let contact = validate::parse_new_contact(&body.read().await?, self.today()).map_err(ApiError::validation)?;
        Ok(match self.submit_one(&agency, &contact).await? {
            Submitted::Created(r) => SubmitResponse::Created(Json(r.clone().into()), self.location(r.id.0)),
            Submitted::Replayed(r) => SubmitResponse::Replayed(Json(r.clone().into()), self.location(r.id.0)),
        })
    }

    /// Submit up to 500 contacts at once.
    ///
    /// Each contact is validated, de-duplicated and stored on its own: one bad item never loses
    /// the others. The answer lists a result per item, in request order, with the status the
    /// item would have had if sent alone. Agency keys only.
    #[oai(path = "/v1/contacts/batch", method = "post", operation_id = "intake.contact.create_batch")]
    async fn create_batch(
        &self,
        auth: BearerKey,
        body: JsonBody<BatchRequest>,
    ) -> Result<BatchSubmitResponse, BatchError> {
        let agency = auth.0.require_agency()?;
        let items = validate::parse_batch(&body.read().await?, self.today()).map_err(ApiError::validation)?;
        let outcomes = intake::service::submit_batch(&self.state, &agency, items).await;
        let results: Vec<BatchItemResult> =
            outcomes.into_iter().zip(0u32..).map(|(outcome, index)| BatchItemResult::new(index, outcome)).collect();
        // A store that was down for some items: their answer is 503, and resending is safe.
        let retry_after = results.iter().any(|r| r.status == 503).then(|| self.state.retry_after().to_string());
        Ok(BatchSubmitResponse::MultiStatus(Json(BatchResponse { results }), retry_after))
    }

    /// Read a contact.
    ///
    /// An agency key sees its own contacts only (any other id is 404), in the agency view: status,
    /// urgency, queue, deadline and outcome. Practitioner, manager and auditor keys see the full
    /// contact: the agency, the submission (people, concerns, narrative) and its history. Admin
    /// keys manage the service, not cases (403). Every read is audited.
    #[oai(path = "/v1/contacts/:id", method = "get", operation_id = "intake.contact.get")]
    async fn get(
        &self,
        auth: BearerKey,
        /// The contact's id (a UUID). Anything else is "not found".
        id: Path<ContactId>,
    ) -> Result<GetContactResponse, ContactReadError> {
        let view = match auth.0 {
            Principal::Agency(agency) => {
                contact::service::read_contact_as_agency(&self.state, &agency, id.0).await?.into()
            }
            Principal::Staff(_) => {
                auth.0.require_staff(Role::CASE_READERS)?;
                ContactResponse::for_staff(
                    contact::service::read_contact_as_staff(&self.state, &auth.0.actor(), id.0).await?,
                )?
            }
        };
        let tag = view.version.map(super::triage::etag);
        Ok(GetContactResponse::Ok(Json(view), tag))
    }
}
