//! Webhook endpoints (admins) and recording feedback given another way (staff).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Query, payload::Json};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody, ReadBody},
    problem::{ApiError, DeliveryActionError, ListError, WorklistChangeError},
    security::BearerKey,
};
use crate::{
    auth::{Principal, Role},
    config::HttpSettings,
    id::{AgencyId, ContactId, DeliveryId, EndpointId},
    intake::walker::{self, Walker},
    outbox::{self, DeliveryFilter, DeliveryRow, EndpointRow, service::EndpointOf},
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
    /// The signing secret in the Standard Webhooks form: `whsec_` and the base64 of 24-64
    /// random bytes. Omit it and the hub generates one and returns it, once, in the answer.
    #[oai(validator(min_length = 30, max_length = 200))]
    pub secret: Option<String>,
}

/// A new signing secret for an endpoint.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// The new secret (`whsec_` and the base64 of 24-64 random bytes); omitted, the hub
    /// generates one and returns it once.
    #[oai(validator(min_length = 30, max_length = 200))]
    pub secret: Option<String>,
    /// Hours the current secret keeps signing too (every delivery carries both signatures), so
    /// the receiver can switch when it is ready: 0-168, default 24.
    #[oai(validator(minimum(value = "0"), maximum(value = "168")))]
    pub overlap_hours: Option<i64>,
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
        let secret = w.optional_string(body, "secret", 30..=200);
        Some(Self { url: url?, secret })
    }
}

impl ReadBody for RotateSecretRequest {
    const FIELDS: &'static [&'static str] = &["secret", "overlap_hours"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        let secret = w.optional_string(body, "secret", 30..=200);
        let overlap_hours = w.optional_field(body, "overlap_hours", |w, v, p| {
            let hours = v.as_i64().filter(|h| (0..=outbox::service::MAX_OVERLAP_HOURS).contains(h));
            w.reported(hours, p, "must be a whole number of hours from 0 to 168")
        });
        Some(Self { secret, overlap_hours })
    }
}

impl BodyLimit for RotateSecretRequest {
    fn limit(_: &HttpSettings) -> usize {
        4 * 1024
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
    /// The secret the hub generated (none was supplied). Shown only in this answer: store it.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
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
    /// The secret the hub generated (none was supplied). Shown only in this answer: store it.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
}

/// An endpoint after its secret was rotated.
#[derive(Debug, Object)]
pub struct RotatedSecretResponse {
    pub id: uuid::Uuid,
    /// The secret the hub generated (none was supplied). Shown only in this answer: store it.
    #[oai(skip_serializing_if_is_none)]
    pub secret: Option<String>,
    /// Until then every delivery is signed with the old secret too.
    pub previous_secret_expires_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
pub enum RotatedResponses {
    /// Rotated.
    #[oai(status = 200)]
    Rotated(Json<RotatedSecretResponse>),
}

/// How an endpoint is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum EndpointState {
    /// Its last attempt succeeded (or none has been made).
    Active,
    /// Its last attempt failed; deliveries are being retried.
    Failing,
    /// It receives nothing more (`disabled_reason` says why).
    Disabled,
}

/// A webhook endpoint, with how its deliveries are going. Never its secret.
#[derive(Debug, Object)]
pub struct EndpointView {
    pub id: uuid::Uuid,
    /// `agency_feedback` (decisions on an agency's contacts) or `staff_notifications`.
    pub purpose: String,
    #[oai(skip_serializing_if_is_none)]
    pub agency_id: Option<uuid::Uuid>,
    pub url: String,
    pub state: EndpointState,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// `replaced`, `removed` (by an admin) or `gone` (it answered 410 Gone).
    #[oai(skip_serializing_if_is_none)]
    pub disabled_reason: Option<String>,
    /// While a rotation's overlap lasts: until then deliveries carry two signatures.
    #[oai(skip_serializing_if_is_none)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_success_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// The last failure: `http_<status>`, `timeout`, `connect`, `refused_destination`, `request`.
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub pending_deliveries: i64,
    /// Deliveries given up after every retry (replay them once the receiver is fixed).
    pub failed_deliveries: i64,
}

impl From<EndpointRow> for EndpointView {
    fn from(r: EndpointRow) -> Self {
        let state = if r.disabled_at.is_some() {
            EndpointState::Disabled
        } else if r.consecutive_failures > 0 {
            EndpointState::Failing
        } else {
            EndpointState::Active
        };
        Self {
            id: r.id,
            purpose: r.purpose,
            agency_id: r.agency_id.map(|a| a.0),
            url: r.url,
            state,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
            disabled_reason: r.disabled_reason,
            previous_secret_expires_at: r.previous_secret_expires_at,
            last_success_at: r.last_success_at,
            last_failure_at: r.last_failure_at,
            consecutive_failures: r.consecutive_failures,
            last_error: r.last_error,
            pending_deliveries: r.pending,
            failed_deliveries: r.failed,
        }
    }
}

/// Endpoints.
#[derive(Debug, Object)]
pub struct EndpointsPage {
    pub endpoints: Vec<EndpointView>,
}

#[derive(ApiResponse)]
pub enum EndpointsResponses {
    #[oai(status = 200)]
    Ok(Json<EndpointsPage>),
}

/// A webhook delivery: one event to one endpoint, with its attempts.
#[derive(Debug, Object)]
pub struct DeliveryView {
    /// The `webhook-id` header's value: the same on every retry and replay.
    pub id: uuid::Uuid,
    pub endpoint_id: uuid::Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub agency_id: Option<uuid::Uuid>,
    /// The event type: `contact.decided`, `webhook.test`, or a ladder step for staff endpoints.
    pub event: String,
    #[oai(skip_serializing_if_is_none)]
    pub contact_id: Option<uuid::Uuid>,
    /// `pending`, `delivered`, `failed` (every retry used) or `cancelled` (endpoint removed).
    pub status: String,
    pub attempts: i32,
    /// The receiver's last HTTP status.
    #[oai(skip_serializing_if_is_none)]
    pub last_status: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// When a pending delivery is tried next.
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(r: DeliveryRow) -> Self {
        Self {
            id: r.id.0,
            endpoint_id: r.endpoint_id,
            agency_id: r.agency_id.map(|a| a.0),
            event: r.event,
            contact_id: r.contact_id.map(|c| c.0),
            next_attempt_at: (r.status == "pending").then_some(r.next_attempt_at),
            status: r.status,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
            created_at: r.created_at,
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Object)]
pub struct DeliveriesPage {
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_before: Option<uuid::Uuid>,
}

#[derive(ApiResponse)]
pub enum DeliveriesResponses {
    #[oai(status = 200)]
    Ok(Json<DeliveriesPage>),
}

/// A test delivery, queued.
#[derive(Debug, Object)]
pub struct TestDeliveryResponse {
    /// Follow it in `GET /v1/webhook-deliveries`.
    pub delivery_id: uuid::Uuid,
}

#[derive(ApiResponse)]
pub enum TestDeliveryResponses {
    /// Queued: it is sent within seconds.
    #[oai(status = 202)]
    Accepted(Json<TestDeliveryResponse>),
}

#[derive(ApiResponse)]
pub enum ReplayResponses {
    /// Queued again, due now, with its id unchanged.
    #[oai(status = 202)]
    Accepted(Json<DeliveryView>),
}

/// A delivery status to filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatusFilter {
    Pending,
    Delivered,
    Failed,
    Cancelled,
}

impl DeliveryStatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Whose webhooks a caller may see: an agency key its own agency's (asking for another's is
/// 403); staff in `roles` any agency's (or all, when `agency_id` is absent).
fn webhook_scope(
    principal: &Principal,
    agency_id: Option<AgencyId>,
    roles: &[Role],
) -> Result<Option<AgencyId>, ApiError> {
    match principal {
        Principal::Agency(a) if agency_id.is_none_or(|asked| asked == a.agency_id) => Ok(Some(a.agency_id)),
        Principal::Agency(_) => Err(ApiError::forbidden()),
        Principal::Staff(_) => {
            principal.require_staff(roles)?;
            Ok(agency_id)
        }
    }
}

/// Staff who may see every agency's endpoints and deliveries.
const WEBHOOK_READERS: &[Role] = &[Role::Admin, Role::Manager, Role::Auditor];

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

impl WebhookApi {
    /// An endpoint's secret rotation (admins), for either kind of endpoint.
    async fn rotate(
        &self,
        auth: &BearerKey,
        of: EndpointOf,
        body: JsonBody<RotateSecretRequest>,
    ) -> Result<RotatedResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let RotateSecretRequest { secret, overlap_hours } = body.parse().await?;
        let r =
            outbox::service::rotate_secret(&self.state, &auth.0.actor(), of, secret.as_deref(), overlap_hours).await?;
        Ok(RotatedResponses::Rotated(Json(RotatedSecretResponse {
            id: r.id,
            secret: r.secret,
            previous_secret_expires_at: r.previous_secret_expires_at,
        })))
    }
}

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhookApi {
    /// Register an agency's webhook (admins).
    ///
    /// Decisions on the agency's contacts are sent to it by POST, signed by the Standard
    /// Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the
    /// endpoint's `whsec_` secret (generated and returned once when none is supplied), and
    /// retried for about three days. The URL must be `https://` to a public address unless the
    /// hub's `webhooks.allow_hosts` lists it. 409 when the agency already has an endpoint:
    /// replacing it is an explicit `PUT`.
    #[oai(path = "/v1/agencies/:id/webhook", method = "post", operation_id = "webhook.agency.register")]
    async fn register_agency(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
        body: JsonBody<EndpointRequest>,
    ) -> Result<EndpointResponses, WorklistChangeError> {
        auth.0.require_staff(&[Role::Admin])?;
        let EndpointRequest { url, secret } = body.parse().await?;
        let r = outbox::service::register_agency_webhook(&self.state, &auth.0.actor(), id.0, &url, secret.as_deref())
            .await?;
        Ok(EndpointResponses::Created(Json(EndpointResponse { id: r.id, secret: r.secret })))
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
        let r = outbox::service::replace_agency_webhook(&self.state, &auth.0.actor(), id.0, &url, secret.as_deref())
            .await?;
        let body = Json(ReplacedEndpointResponse { id: r.id, replaced: r.previous, secret: r.secret });
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
        let r = outbox::service::register_staff_endpoint(&self.state, &auth.0.actor(), &url, secret.as_deref()).await?;
        Ok(EndpointResponses::Created(Json(EndpointResponse { id: r.id, secret: r.secret })))
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

    /// Rotate an agency's webhook secret (admins).
    ///
    /// The new secret signs every delivery from now; the current one keeps signing too for
    /// `overlap_hours` (default 24), so `webhook-signature` carries both, space-separated, and the
    /// receiver switches when it is ready. Audited, without the secrets.
    #[oai(
        path = "/v1/agencies/:id/webhook/rotate-secret",
        method = "post",
        operation_id = "webhook.agency.rotate_secret"
    )]
    async fn rotate_agency_secret(
        &self,
        auth: BearerKey,
        id: Path<AgencyId>,
        body: JsonBody<RotateSecretRequest>,
    ) -> Result<RotatedResponses, WorklistChangeError> {
        self.rotate(&auth, EndpointOf::Agency(id.0), body).await
    }

    /// Rotate a staff-notification endpoint's secret (admins). As for an agency's webhook.
    #[oai(
        path = "/v1/notification-endpoints/:id/rotate-secret",
        method = "post",
        operation_id = "webhook.staff.rotate_secret"
    )]
    async fn rotate_staff_secret(
        &self,
        auth: BearerKey,
        /// The endpoint's id.
        id: Path<EndpointId>,
        body: JsonBody<RotateSecretRequest>,
    ) -> Result<RotatedResponses, WorklistChangeError> {
        self.rotate(&auth, EndpointOf::Staff(id.0.0), body).await
    }

    /// Webhook endpoints and how they are doing (an agency its own; admins, managers, auditors).
    ///
    /// Each endpoint's state (`active`, `failing` after a failed attempt, `disabled` with the
    /// reason: `replaced`, `removed`, or `gone` when it answered 410), its last success and
    /// failure, and its pending and failed deliveries. Never a secret. Audited.
    #[oai(path = "/v1/webhook-endpoints", method = "get", operation_id = "webhook.endpoint.list")]
    async fn endpoints(
        &self,
        auth: BearerKey,
        /// Staff: only this agency's endpoints. An agency key may give only its own.
        agency_id: Query<Option<uuid::Uuid>>,
    ) -> Result<EndpointsResponses, ListError> {
        let agency = webhook_scope(&auth.0, agency_id.0.map(AgencyId), WEBHOOK_READERS)?;
        let rows = outbox::service::list_endpoints(&self.state, &auth.0.actor(), agency).await?;
        Ok(EndpointsResponses::Ok(Json(EndpointsPage { endpoints: rows.into_iter().map(Into::into).collect() })))
    }

    /// Webhook deliveries, newest first (an agency its own; admins, managers, auditors).
    ///
    /// Each delivery's event, status, attempts and last error; page with `before`. An agency
    /// that finds a `failed` delivery replays it once its receiver is fixed. Audited.
    #[oai(path = "/v1/webhook-deliveries", method = "get", operation_id = "webhook.delivery.list")]
    async fn deliveries(
        &self,
        auth: BearerKey,
        /// Staff: only this agency's deliveries. An agency key may give only its own.
        agency_id: Query<Option<uuid::Uuid>>,
        /// Only this endpoint's.
        endpoint_id: Query<Option<uuid::Uuid>>,
        /// Only deliveries in this status.
        status: Query<Option<DeliveryStatusFilter>>,
        /// The `next_before` of the previous page.
        before: Query<Option<uuid::Uuid>>,
        /// Page size, 1-500 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
    ) -> Result<DeliveriesResponses, ListError> {
        let agency = webhook_scope(&auth.0, agency_id.0.map(AgencyId), WEBHOOK_READERS)?;
        let limit = limit.0.unwrap_or(100).clamp(1, 500);
        let filter = DeliveryFilter {
            agency,
            endpoint: endpoint_id.0,
            status: status.0.map(|s| s.as_str().to_owned()),
            before: before.0.map(DeliveryId),
            limit,
        };
        let rows = outbox::service::list_deliveries(&self.state, &auth.0.actor(), &filter).await?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == limit;
        let next_before = if full { rows.last().map(|r| r.id.0) } else { None };
        let deliveries = rows.into_iter().map(Into::into).collect();
        Ok(DeliveriesResponses::Ok(Json(DeliveriesPage { deliveries, next_before })))
    }

    /// Ask for a test delivery (the agency itself, or admins with `agency_id`).
    ///
    /// A `webhook.test` event is queued to the agency's live endpoint, signed and sent like any
    /// other: use it to check a receiver and its signature verification. 409 when the agency has
    /// no live endpoint. Audited.
    #[oai(path = "/v1/webhook-deliveries/test", method = "post", operation_id = "webhook.delivery.test")]
    async fn test_delivery(
        &self,
        auth: BearerKey,
        /// Admins: the agency to test. An agency key may give only its own.
        agency_id: Query<Option<uuid::Uuid>>,
    ) -> Result<TestDeliveryResponses, DeliveryActionError> {
        let agency = webhook_scope(&auth.0, agency_id.0.map(AgencyId), &[Role::Admin])?
            .ok_or_else(|| ApiError::invalid_parameter("agency_id", "is required for staff"))?;
        let id = outbox::service::queue_test(&self.state, &auth.0.actor(), agency).await?;
        Ok(TestDeliveryResponses::Accepted(Json(TestDeliveryResponse { delivery_id: id.0 })))
    }

    /// Replay a failed or cancelled delivery (the agency for its own, or admins).
    ///
    /// It is queued again, due now, with the same `webhook-id` (so a receiver that did get it
    /// drops the repeat) and its attempts counted afresh; if its endpoint was since replaced it
    /// goes to the new one. 409 for a delivery still pending or already delivered. Audited.
    #[oai(path = "/v1/webhook-deliveries/:id/replay", method = "post", operation_id = "webhook.delivery.replay")]
    async fn replay(
        &self,
        auth: BearerKey,
        /// The delivery's id.
        id: Path<DeliveryId>,
    ) -> Result<ReplayResponses, DeliveryActionError> {
        let agency = webhook_scope(&auth.0, None, &[Role::Admin])?;
        let row = outbox::service::replay(&self.state, &auth.0.actor(), agency, id.0).await?;
        Ok(ReplayResponses::Accepted(Json(row.into())))
    }
}
