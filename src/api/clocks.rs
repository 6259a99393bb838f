//! Clocks and the events outbox: staff read a contact's clocks, managers pause and resume them,
//! staff and monitoring page through ladder events.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};

use super::{
    ApiTags,
    path::Path,
    payload::{BodyLimit, JsonBody, ReadBody},
    problem::{ApiError, ClockChangeError, ContactReadError, ListError},
    security::BearerKey,
};
use crate::{
    auth::Role,
    clocks::{self, service::ClockView},
    config::HttpSettings,
    id::ContactId,
    intake::walker::{self, Walker},
    state::AppState,
};

/// One step of a clock's escalation ladder.
#[derive(Debug, Object)]
pub struct LadderStepResponse {
    /// e.g. `reminder`, `escalate`, `breach`.
    pub step: String,
    /// `pending`, `fired` or `cancelled` (the clock stopped first, or the step no longer applies).
    pub status: String,
    /// When it fires; absent while the clock is paused.
    #[oai(skip_serializing_if_is_none)]
    pub due_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub fired_at: Option<DateTime<Utc>>,
}

/// A clock on a contact.
#[derive(Debug, Object)]
pub struct ClockResponse {
    pub id: uuid::Uuid,
    /// `decision`, `authorisation` or `feedback`.
    pub kind: String,
    /// `running`, `paused` or `stopped`.
    pub state: String,
    /// The urgency whose budget applies (decision clocks).
    #[oai(skip_serializing_if_is_none)]
    pub level: Option<String>,
    /// The budget as the policy words it.
    pub budget: String,
    /// Whether the budget counts working time only.
    pub working_time: bool,
    pub budget_minutes: i64,
    /// Time counted so far (working or elapsed, as the budget counts).
    pub used_minutes: i64,
    /// Time left; negative once the deadline has passed.
    pub left_minutes: i64,
    pub started_at: DateTime<Utc>,
    /// Absent while paused or stopped.
    #[oai(skip_serializing_if_is_none)]
    pub deadline: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub stopped_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub stop_reason: Option<String>,
    pub policy_version: String,
    pub steps: Vec<LadderStepResponse>,
}

impl From<ClockView> for ClockResponse {
    fn from(v: ClockView) -> Self {
        Self {
            id: v.clock.id.0,
            kind: v.clock.kind,
            state: v.state.to_owned(),
            level: v.clock.level,
            budget: v.clock.budget,
            working_time: v.working_time,
            budget_minutes: v.budget_minutes,
            used_minutes: v.used.num_minutes(),
            left_minutes: v.left.num_minutes(),
            started_at: v.clock.started_at,
            deadline: v.clock.deadline,
            stopped_at: v.clock.stopped_at,
            stop_reason: v.clock.stop_reason,
            policy_version: v.clock.policy_version,
            steps: v
                .steps
                .into_iter()
                .map(|s| LadderStepResponse { step: s.step, status: s.status, due_at: s.due_at, fired_at: s.fired_at })
                .collect(),
        }
    }
}

/// A contact's clocks.
#[derive(Debug, Object)]
pub struct ClocksResponse {
    pub contact_id: uuid::Uuid,
    pub clocks: Vec<ClockResponse>,
}

#[derive(ApiResponse)]
pub enum ClocksResponses {
    #[oai(status = 200)]
    Ok(Json<ClocksResponse>),
}

/// Why a clock is paused.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PauseRequest {
    /// One of the policy's `timescales.pause_reasons`.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub reason: String,
}

impl ReadBody for PauseRequest {
    const FIELDS: &'static [&'static str] = &["reason"];

    fn read(w: &mut Walker, body: &walker::Object<'_>) -> Option<Self> {
        Some(Self { reason: w.required_string(body, "reason", 1..=100)? })
    }
}

impl BodyLimit for PauseRequest {
    fn limit(_: &HttpSettings) -> usize {
        4 * 1024
    }
}

/// One event of the outbox.
#[derive(Debug, Object)]
pub struct EventResponse {
    /// Pass as `after` to read the events after this one.
    pub cursor: String,
    pub occurred_at: DateTime<Utc>,
    /// The ladder step (`notify_duty_manager`, `reminder`, `escalate`, `breach`).
    pub kind: String,
    pub contact_id: uuid::Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub clock_id: Option<uuid::Uuid>,
    /// Ids, levels and times only; never personal data.
    pub payload: serde_json::Value,
}

/// A page of events.
#[derive(Debug, Object)]
pub struct EventsPage {
    pub events: Vec<EventResponse>,
    /// The cursor of the last event on this page (pass as `after`); the same `after` again when
    /// there are no new events.
    #[oai(skip_serializing_if_is_none)]
    pub next_after: Option<String>,
}

#[derive(ApiResponse)]
pub enum EventsResponses {
    #[oai(status = 200)]
    Ok(Json<EventsPage>),
}

/// A feed cursor, `<transaction>.<id>` (the events feed's, and the agency change feed's): two
/// decimal numbers. Numbers beyond any real place (the schemas allow 20 and 19 digits) stand for
/// the largest place: nothing comes after it.
pub(super) fn parse_cursor(cursor: &str) -> Option<(String, i64)> {
    let (xid, id) = cursor.split_once('.')?;
    if xid.is_empty() || id.is_empty() || !xid.bytes().chain(id.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let xid = xid.parse::<u64>().unwrap_or(u64::MAX);
    Some((xid.to_string(), id.parse::<i64>().unwrap_or(i64::MAX)))
}

/// Clocks and events.
pub struct ClocksApi {
    pub state: Arc<AppState>,
}

impl ClocksApi {
    async fn view(&self, auth: &BearerKey, contact: ContactId) -> Result<ClocksResponse, ApiError> {
        let clocks = clocks::service::clocks_of(&self.state, &auth.0.actor(), contact)
            .await?
            .ok_or_else(|| ApiError::not_found("contact"))?;
        Ok(ClocksResponse { contact_id: contact.0, clocks: clocks.into_iter().map(Into::into).collect() })
    }

    async fn change(
        &self,
        auth: &BearerKey,
        contact: ContactId,
        kind: &str,
        pause: Option<JsonBody<PauseRequest>>,
    ) -> Result<ClocksResponse, ApiError> {
        auth.0.require_staff(&[Role::Manager])?;
        if !matches!(kind, "decision" | "authorisation" | "feedback") {
            return Err(ApiError::not_found("clock"));
        }
        let actor = auth.0.actor();
        match pause {
            Some(body) => {
                let PauseRequest { reason } = body.parse().await?;
                clocks::service::pause(&self.state, &actor, contact, kind, &reason).await?;
            }
            None => clocks::service::resume(&self.state, &actor, contact, kind).await?,
        }
        self.view(auth, contact).await
    }
}

#[OpenApi(tag = "ApiTags::Clocks")]
impl ClocksApi {
    /// A contact's clocks (staff).
    ///
    /// Each clock with its budget, deadline, time used and left (working time for working-time
    /// budgets), state, and the ladder steps fired and pending. Practitioners, managers and
    /// auditors; audited.
    #[oai(path = "/v1/contacts/:id/clocks", method = "get", operation_id = "sla.clock.list")]
    async fn clocks(
        &self,
        auth: BearerKey,
        /// The contact's id.
        id: Path<ContactId>,
    ) -> Result<ClocksResponses, ContactReadError> {
        auth.0.require_staff(Role::CASE_READERS)?;
        Ok(ClocksResponses::Ok(Json(self.view(&auth, id.0).await?)))
    }

    /// Pause a clock (managers).
    ///
    /// With a reason from the policy's `timescales.pause_reasons`. Paused time never counts
    /// against the budget; pending ladder steps wait. Audited.
    #[oai(path = "/v1/contacts/:id/clocks/:kind/pause", method = "post", operation_id = "sla.clock.pause")]
    async fn pause(
        &self,
        auth: BearerKey,
        /// The contact's id.
        id: Path<ContactId>,
        /// `decision`, `authorisation` or `feedback`.
        kind: Path<String>,
        body: JsonBody<PauseRequest>,
    ) -> Result<ClocksResponses, ClockChangeError> {
        Ok(ClocksResponses::Ok(Json(self.change(&auth, id.0, &kind.0, Some(body)).await?)))
    }

    /// Resume a paused clock (managers). Audited.
    #[oai(path = "/v1/contacts/:id/clocks/:kind/resume", method = "post", operation_id = "sla.clock.resume")]
    async fn resume(
        &self,
        auth: BearerKey,
        /// The contact's id.
        id: Path<ContactId>,
        /// `decision`, `authorisation` or `feedback`.
        kind: Path<String>,
    ) -> Result<ClocksResponses, ClockChangeError> {
        Ok(ClocksResponses::Ok(Json(self.change(&auth, id.0, &kind.0, None).await?)))
    }

    /// Ladder events (staff and monitoring).
    ///
    /// The notification outbox, oldest first: every ladder step that fired. Page with `after`;
    /// an event that commits late is never skipped. Practitioners, managers and auditors.
    #[oai(path = "/v1/events", method = "get", operation_id = "sla.event.list")]
    async fn events(
        &self,
        auth: BearerKey,
        /// The `cursor` of the last event seen: `<transaction>.<event>`, two decimal numbers.
        #[oai(validator(pattern = r"^[0-9]{1,20}\.[0-9]{1,19}$"))]
        after: Query<Option<String>>,
        /// Page size, 1-1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
    ) -> Result<EventsResponses, ListError> {
        auth.0.require_staff(Role::CASE_READERS)?;
        let after_cursor = match after.0.as_deref() {
            None => None,
            Some(c) => Some(parse_cursor(c).ok_or_else(|| ApiError::invalid_parameter("after", "is not a cursor"))?),
        };
        let rows =
            clocks::service::events(&self.state, &auth.0.actor(), after_cursor, limit.0.unwrap_or(100).clamp(1, 1000))
                .await?;
        let events: Vec<EventResponse> = rows
            .into_iter()
            .map(|e| EventResponse {
                cursor: format!("{}.{}", e.xid, e.id),
                occurred_at: e.occurred_at,
                kind: e.kind,
                contact_id: e.contact_id.0,
                clock_id: e.clock_id.map(|c| c.0),
                payload: e.payload,
            })
            .collect();
        let next_after = events.last().map(|e| e.cursor.clone()).or(after.0);
        Ok(EventsResponses::Ok(Json(EventsPage { events, next_after })))
    }
}
