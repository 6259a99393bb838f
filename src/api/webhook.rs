//! Webhook endpoints (admins) and recording feedback given another way (staff).

use std::sync::Arc;

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody, ReadBody},
    problem::WorklistChangeError,
    security::BearerKey,
};
use crate::{
    auth::Role,
    config::HttpSettings,
    id::{AgencyId, ContactId, EndpointId},
    intake::walker::{self, Walker},
    outbox,
    state::AppState,
    worklist,
};

/// An endpoint to deliver to.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct EndpointRequest {
    /// An http(s) URL.
    #[oai(validator(min_length = 1, max_length = 2000))]
    pub url: String,
    /// The shared secret for the `X-Mash-Signature` HMAC (16-200 characters); never returned.
    #[oai(validator(min_length = 16, max_length = 200))]
    pub secret: String,
}

/// How the referrer was told the outcome.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct FeedbackGivenRequest {
    /// `phone`, `email`, `letter`, `meeting` or `other`.
    #[oai(validator(pattern = "^(phone|email|letter|meeting|other)$"))]
    pub method: String,
}

impl ReadBody for EndpointRequest {
    const FIELDS: &'static [&'static str] = &["url", "secret"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let url = w.required_string(body, "url", 1..=2000);
        let secret = w.required_string(body, "secret", 16..=200);
        Some(Self { url: url?, secret: secret? })
    }
}

impl ReadBody for FeedbackGivenRequest {
    const FIELDS: &'static [&'static str] = &["method"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        Some(Self { method: w.required_string(body, "method", 1..=100)? })
    }
}

impl BodyLimit for EndpointRequest {
    fn limit(_: &HttpSettings) -> usize {
        16 * 1024
    }
}

impl BodyLimit for FeedbackGivenRequest {
    fn limit(_: &HttpSettings) -> usize {
        4 * 1024
    }
}

/// A registered endpoint.
#[derive(Debug, Object)]
pub struct EndpointResponse {
    pub id: uuid::Uuid,
}

#[derive(ApiResponse)]
pub enum EndpointResponses {
    /// Registered.
    #[oai(status = 201)]
    Created(Json<EndpointResponse>),
}

/// An agency's endpoint after a replacement.
#[derive(Debug, Object)]
pub struct ReplacedEndpointResponse {
    pub id: uuid::Uuid,
    /// The endpoint it replaced, now disabled.
    #[oai(skip_serializing_if_is_none)]
    pub replaced: Option<uuid::Uuid>,
}

#[derive(ApiResponse)]
pub enum ReplaceResponses {
    /// Replaced: the old endpoint is disabled and pending deliveries go to the new one.
    #[oai(status = 200)]
    Replaced(Json<ReplacedEndpointResponse>),
    /// The agency had no endpoint; this is its first.
    #[oai(status = 201)]
    Created(Json<ReplacedEndpointResponse>),
}

#[derive(ApiResponse)]
pub enum RemovedResponses {
    /// Removed: it receives nothing more, and its pending deliveries are cancelled.
    #[oai(status = 204)]
    Removed,
}

#[derive(ApiResponse)]
pub enum FeedbackResponses {
    /// The referrer-feedback clock has stopped.
    #[oai(status = 204)]
    Done,
}

/// Webhooks.
pub struct WebhookApi {
    pub state: Arc<AppState>,
}

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhookApi {
    /// Register an agency's webhook (admins).
    ///
    /// Decisions on the agency's contacts are sent to it by POST, signed
    /// (`X-Mash-Signature: t=..,v1=..`, HMAC-SHA256 of `"<t>.<body>"`), with a stable
    /// `X-Mash-Delivery` id, retried with backoff. The URL must be `https://` to a public
    /// address unless the hub's `webhooks.allow_hosts` lists it. 409 when the agency already has
    /// an endpoint: replacing it is an explicit `PUT`.
    #[oai(path = "/v1/agencies/:id/webhook", method = "post", operation_id = "webhook.agency.register")]
    async fn register_agency(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
        body: JsonBody<EndpointRequest>,
    ) -> Result<EndpointResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let EndpointRequest { url, secret } = body.parse().await?;
        let endpoint =
            outbox::service::register_agency_webhook(&self.state, &auth.0.actor(), id.0, &url, &secret).await?;
        Ok(EndpointResponses::Created(Json(EndpointResponse { id: endpoint })))
    }

    /// Replace an agency's webhook (admins).
    ///
    /// The current endpoint is disabled and receives nothing more; deliveries still pending go
    /// to the new one. Audited with both endpoint ids. With no current endpoint, registers one.
    #[oai(path = "/v1/agencies/:id/webhook", method = "put", operation_id = "webhook.agency.replace")]
    async fn replace_agency(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
        body: JsonBody<EndpointRequest>,
    ) -> Result<ReplaceResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let EndpointRequest { url, secret } = body.parse().await?;
        let r = outbox::service::replace_agency_webhook(&self.state, &auth.0.actor(), id.0, &url, &secret).await?;
        let body = Json(ReplacedEndpointResponse { id: r.id, replaced: r.previous });
        Ok(if r.previous.is_some() { ReplaceResponses::Replaced(body) } else { ReplaceResponses::Created(body) })
    }

    /// Remove an agency's webhook (admins).
    ///
    /// It receives nothing more and its pending deliveries are cancelled; the referrer-feedback
    /// clock keeps running, so staff tell the referrer another way. Audited.
    #[oai(path = "/v1/agencies/:id/webhook", method = "delete", operation_id = "webhook.agency.remove")]
    async fn remove_agency(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
    ) -> Result<RemovedResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        outbox::service::remove_agency_webhook(&self.state, &auth.0.actor(), id.0).await?;
        Ok(RemovedResponses::Removed)
    }

    /// Remove a staff-notification endpoint (admins). Its pending deliveries are cancelled.
    #[oai(path = "/v1/notification-endpoints/:id", method = "delete", operation_id = "webhook.staff.remove")]
    async fn remove_staff(
        &self,
        auth: BearerKey,
        /// The endpoint's id (from its registration).
        id: Path<EndpointId>,
    ) -> Result<RemovedResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        outbox::service::remove_staff_endpoint(&self.state, &auth.0.actor(), id.0.0).await?;
        Ok(RemovedResponses::Removed)
    }

    /// Register an endpoint for staff notifications (admins).
    ///
    /// Every ladder event (`notify_duty_manager`, `reminder`, `escalate`, `breach`) is sent to it
    /// by POST, signed and retried like agency webhooks: e.g. a gateway to email or chat.
    #[oai(path = "/v1/notification-endpoints", method = "post", operation_id = "webhook.staff.register")]
    async fn register_staff(
        &self,
        auth: BearerKey,
        body: JsonBody<EndpointRequest>,
    ) -> Result<EndpointResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let EndpointRequest { url, secret } = body.parse().await?;
        let endpoint = outbox::service::register_staff_endpoint(&self.state, &auth.0.actor(), &url, &secret).await?;
        Ok(EndpointResponses::Created(Json(EndpointResponse { id: endpoint })))
    }

    /// Record that the referrer was told the outcome another way (practitioners, managers).
    ///
    /// Stops the referrer-feedback clock, as a delivered webhook does.
    #[oai(path = "/v1/contacts/:id/feedback-given", method = "post", operation_id = "webhook.feedback.given")]
    async fn feedback_given(
        &self,
        auth: BearerKey,
        id: Path<ContactId>,
        body: JsonBody<FeedbackGivenRequest>,
    ) -> Result<FeedbackResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Practitioner, Role::Manager])?;
        let FeedbackGivenRequest { method } = body.parse().await?;
        worklist::service::feedback_given(&self.state, &auth.0.actor(), id.0, &method).await?;
        Ok(FeedbackResponses::Done)
    }
}
