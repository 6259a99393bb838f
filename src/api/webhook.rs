//! Webhook endpoints (admins) and recording feedback given another way (staff).

use std::sync::Arc;

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use serde_json::Value;

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody},
    problem::{ApiError, WorklistChangeError},
    security::BearerKey,
};
use crate::{
    auth::Role,
    config::HttpSettings,
    id::{AgencyId, ContactId},
    intake::FieldError,
    outbox,
    state::AppState,
    worklist,
};

/// An endpoint to deliver to.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct EndpointRequest {
    /// An http(s) URL.
    #[oai(validator(max_length = 2000))]
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
    pub method: String,
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
    /// Registered (an agency's previous endpoint, if any, is disabled).
    #[oai(status = 201)]
    Created(Json<EndpointResponse>),
}

#[derive(ApiResponse)]
pub enum FeedbackResponses {
    /// The referrer-feedback clock has stopped.
    #[oai(status = 204)]
    Done,
}

fn fields(body: &Value, keys: &[&'static str]) -> Result<Vec<String>, ApiError> {
    let unknown = super::payload::unknown_fields(body, keys);
    if !unknown.is_empty() {
        return Err(ApiError::validation(unknown));
    }
    let mut missing = Vec::new();
    let mut values = Vec::new();
    for k in keys {
        if let Some(v) = body.get(*k).and_then(Value::as_str) {
            values.push(v.to_owned());
        } else {
            missing.push(FieldError { pointer: format!("/{k}"), detail: "is required and must be a string".into() });
        }
    }
    if missing.is_empty() { Ok(values) } else { Err(ApiError::validation(missing)) }
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
    /// `X-Mash-Delivery` id, retried with backoff.
    #[oai(path = "/v1/agencies/:id/webhook", method = "post", operation_id = "webhook.agency.register")]
    async fn register_agency(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
        body: JsonBody<EndpointRequest>,
    ) -> Result<EndpointResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let v = fields(&body.value, &["url", "secret"])?;
        let endpoint =
            outbox::service::register_agency_webhook(&self.state, &auth.0.actor(), id.0, &v[0], &v[1]).await?;
        Ok(EndpointResponses::Created(Json(EndpointResponse { id: endpoint })))
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
        let v = fields(&body.value, &["url", "secret"])?;
        let endpoint = outbox::service::register_staff_endpoint(&self.state, &auth.0.actor(), &v[0], &v[1]).await?;
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
        let v = fields(&body.value, &["method"])?;
        worklist::service::feedback_given(&self.state, &auth.0.actor(), id.0, &v[0]).await?;
        Ok(FeedbackResponses::Done)
    }
}
