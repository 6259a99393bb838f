//! The sandbox's test clocks and staff keys (`/v1/sandbox/...`), and the middleware that runs a
//! request's work on the right test clock. Outside a sandbox the operations answer 404.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Endpoint, Request};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    payload::{BodyLimit, JsonBody, ReadBody},
    problem::{ApiError, SandboxError},
    security::BearerKey,
};
use crate::{
    auth::{self, Role},
    clock,
    config::HttpSettings,
    id::ContactId,
    intake::walker::{self, Walker},
    sandbox,
    state::AppState,
};

/// Where to move the agency's test clock.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AdvanceRequest {
    /// The instant (RFC 3339) the agency's time moves to; after its time now.
    pub advance_to: DateTime<Utc>,
}

impl ReadBody for AdvanceRequest {
    const FIELDS: &'static [&'static str] = &["advance_to"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        Some(Self { advance_to: w.required_field(body, "advance_to", Walker::date_time_value)? })
    }
}

impl BodyLimit for AdvanceRequest {
    fn limit(_: &HttpSettings) -> usize {
        4 * 1024
    }
}

/// Which kind of sandbox staff key.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct SandboxStaffKeyRequest {
    /// `practitioner` (claims and decides) or `manager` (also authorises and re-rates).
    #[oai(validator(pattern = "^(practitioner|manager)$"))]
    pub role: String,
}

impl ReadBody for SandboxStaffKeyRequest {
    const FIELDS: &'static [&'static str] = &["role"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let role = w.required_string(body, "role", 1..=20)?;
        Some(Self { role })
    }
}

impl BodyLimit for SandboxStaffKeyRequest {
    fn limit(_: &HttpSettings) -> usize {
        4 * 1024
    }
}

/// An agency's test clock.
#[derive(Debug, Object)]
pub struct TestClockResponse {
    /// The agency's time now.
    pub now: DateTime<Utc>,
    /// How far it is ahead of the hub's time, in seconds.
    pub offset_seconds: i64,
    /// Ladder steps (reminders, escalations, breaches, feedback reminders) that fired because
    /// the clock moved.
    pub steps_fired: u64,
}

#[derive(ApiResponse)]
pub enum TestClockResponses {
    #[oai(status = 200)]
    Ok(Json<TestClockResponse>),
}

/// A sandbox staff key, shown once.
#[derive(Debug, Object)]
pub struct SandboxStaffKeyResponse {
    pub staff_id: uuid::Uuid,
    pub role: String,
    /// The key (`Authorization: Bearer ...`). Shown only now.
    pub key: String,
}

#[derive(ApiResponse)]
pub enum SandboxStaffKeyResponses {
    #[oai(status = 201)]
    Created(Json<SandboxStaffKeyResponse>),
}

impl From<sandbox::Advanced> for TestClockResponse {
    fn from(a: sandbox::Advanced) -> Self {
        Self { now: a.now, offset_seconds: a.offset.num_seconds(), steps_fired: a.steps_fired as u64 }
    }
}

/// The sandbox.
pub struct SandboxApi {
    pub state: Arc<AppState>,
}

impl SandboxApi {
    /// The calling agency, in a sandbox: outside one every operation is "not found", whatever
    /// the key (production has no such endpoint); in one, only agency keys have a test clock.
    fn sandbox_agency(&self, auth: &BearerKey) -> Result<crate::auth::AgencyPrincipal, ApiError> {
        if !self.state.settings.sandbox.enabled {
            return Err(sandbox::SandboxError::NotSandbox.into());
        }
        Ok(auth.0.require_agency()?)
    }
}

#[OpenApi(tag = "ApiTags::Sandbox")]
impl SandboxApi {
    /// The agency's test clock (sandbox only; agency keys).
    #[oai(path = "/v1/sandbox/clock", method = "get", operation_id = "sandbox.clock.get")]
    async fn clock(&self, auth: BearerKey) -> Result<TestClockResponses, SandboxError> {
        let agency = self.sandbox_agency(&auth)?;
        let clock = sandbox::service::read_clock(&self.state, &agency).await?;
        Ok(TestClockResponses::Ok(Json(clock.into())))
    }

    /// Move the agency's test clock forward (sandbox only; agency keys).
    ///
    /// The agency's time (for its contacts, its requests and its sandbox staff keys) moves to
    /// `advance_to`, never back. Everything due by then happens as if the time had passed, in
    /// working time with bank holidays: ladder steps (reminder, escalation, breach) and
    /// feedback reminders fire now, and webhook deliveries and their retries follow within a
    /// second. Audited. 404 outside a sandbox: production's clock cannot be moved.
    #[oai(path = "/v1/sandbox/clock", method = "post", operation_id = "sandbox.clock.advance")]
    async fn advance(
        &self,
        auth: BearerKey,
        body: JsonBody<AdvanceRequest>,
    ) -> Result<TestClockResponses, SandboxError> {
        let agency = self.sandbox_agency(&auth)?;
        let AdvanceRequest { advance_to } = body.parse().await?;
        let advanced = sandbox::service::advance(&self.state, &agency, advance_to).await?;
        Ok(TestClockResponses::Ok(Json(advanced.into())))
    }

    /// A staff key for the agency's sandbox (sandbox only; agency keys).
    ///
    /// A practitioner key claims and decides the agency's contacts (so the agency sees the
    /// outcome and its webhook arrive); a manager key also authorises decisions that need it.
    /// Its work runs on the agency's test clock. The key is shown once. Audited.
    #[oai(path = "/v1/sandbox/staff-keys", method = "post", operation_id = "sandbox.staff_key.create")]
    async fn staff_key(
        &self,
        auth: BearerKey,
        body: JsonBody<SandboxStaffKeyRequest>,
    ) -> Result<SandboxStaffKeyResponses, SandboxError> {
        let agency = self.sandbox_agency(&auth)?;
        let SandboxStaffKeyRequest { role } = body.parse().await?;
        let role = match role.as_str() {
            "practitioner" => Role::Practitioner,
            "manager" => Role::Manager,
            _ => return Err(ApiError::from(sandbox::SandboxError::Role).into()),
        };
        let (staff, key) = sandbox::service::create_staff_key(&self.state, &agency, role).await?;
        Ok(SandboxStaffKeyResponses::Created(Json(SandboxStaffKeyResponse {
            staff_id: staff.0,
            role: role.to_string(),
            key: key.secret,
        })))
    }
}

/// Runs each request's work on its test clock in a sandbox (see
/// [`sandbox::service::offset_for`]); does nothing otherwise.
pub struct SandboxTime(pub Arc<AppState>);

impl<E: Endpoint> poem::Middleware<E> for SandboxTime {
    type Output = SandboxTimeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SandboxTimeEndpoint { inner, state: self.0.clone() }
    }
}

pub struct SandboxTimeEndpoint<E> {
    inner: E,
    state: Arc<AppState>,
}

impl<E: Endpoint> Endpoint for SandboxTimeEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        if !self.state.settings.sandbox.enabled {
            return self.inner.call(req).await;
        }
        let bearer = req
            .header(poem::http::header::AUTHORIZATION)
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::to_owned);
        let principal = match bearer {
            Some(key) => auth::service::authenticate(&self.state, &key).await.ok(),
            None => None,
        };
        let contact = contact_in_path(req.uri().path());
        // A store that fails here fails the request itself just after; its own error answers.
        let offset = sandbox::service::offset_for(&self.state, principal.as_ref(), contact).await.unwrap_or_default();
        clock::with_offset(offset, self.inner.call(req)).await
    }
}

/// The contact a path names: `/v1/contacts/{id}/...` or `/console/contacts/{id}/...`.
fn contact_in_path(path: &str) -> Option<ContactId> {
    let rest = path.strip_prefix("/v1/contacts/").or_else(|| path.strip_prefix("/console/contacts/"))?;
    let id = rest.split('/').next()?;
    uuid::Uuid::parse_str(id).ok().map(ContactId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_is_found_in_api_and_console_paths_only() {
        let id = "01937b6e-0000-7000-8000-000000000001";
        assert!(contact_in_path(&format!("/v1/contacts/{id}/decision")).is_some());
        assert!(contact_in_path(&format!("/console/contacts/{id}")).is_some());
        assert!(contact_in_path("/v1/contacts/batch").is_none());
        assert!(contact_in_path(&format!("/v1/children/{id}/contacts")).is_none());
    }
}
