//! Audit events and the actors behind them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::id::{AgencyId, ApiKeyId, ContactId, StaffId};

/// What kind of actor acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Agency,
    Staff,
    /// The service itself, or an operator at the command line.
    System,
}

impl ActorKind {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agency => "agency",
            Self::Staff => "staff",
            Self::System => "system",
        }
    }
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The agency or staff id; `None` for the system.
    pub id: Option<Uuid>,
    pub api_key_id: Option<ApiKeyId>,
}

impl Actor {
    pub fn agency(id: AgencyId, key: ApiKeyId) -> Self {
        Self { kind: ActorKind::Agency, id: Some(id.0), api_key_id: Some(key) }
    }

    pub fn staff(id: StaffId, key: ApiKeyId) -> Self {
        Self { kind: ActorKind::Staff, id: Some(id.0), api_key_id: Some(key) }
    }

    pub fn system() -> Self {
        Self { kind: ActorKind::System, id: None, api_key_id: None }
    }
}

/// What happened. The spelling is stable: monitoring and auditors filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A new contact was stored.
    ContactSubmitted,
    /// A retry of an earlier submission returned the stored contact (a read by its agency).
    ContactReplayed,
    /// A contact was read.
    ContactRead,
    /// The audit trail was listed.
    AuditListed,
    /// Staff ran a report or an export (which, for which period and filters).
    ReportRead,
    /// A manager re-rated a contact.
    ContactRerated,
    /// Staff listed the contacts about a child.
    ChildContactsRead,
    /// A manager paused a clock.
    ClockPaused,
    /// A manager resumed a clock.
    ClockResumed,
    /// A ladder step fired (the system).
    LadderStepFired,
    /// A ladder step failed to fire and waits for a retry (the system).
    LadderStepFailed,
    /// A clock stopped (the outcome was recorded, or the referrer was told).
    ClockStopped,
    /// Staff or monitoring read the events outbox.
    EventsListed,
    ContactClaimed,
    ClaimRenewed,
    ClaimReleased,
    ClaimExpired,
    ContactAssigned,
    ContactMoved,
    NoteAdded,
    ContactDecided,
    /// A manager recorded why a breached, still-open contact is late (before its decision).
    LateReasonRecorded,
    /// A manager authorised a decision that needed it (the referrer is then told).
    DecisionAuthorised,
    /// A manager sent a decision that needed authorisation back to its author, with a reason.
    DecisionSentBack,
    WebhookRegistered,
    /// An admin replaced an agency's webhook endpoint (pending deliveries follow it).
    WebhookReplaced,
    /// An admin removed an endpoint (its pending deliveries are cancelled).
    WebhookRemoved,
    QueueListed,
    WebhookDelivered,
    /// An endpoint answered 410 Gone: it is disabled and receives nothing more.
    WebhookDisabled,
    /// An admin gave an endpoint a new secret; the old one signs too until the overlap ends.
    WebhookSecretRotated,
    /// An agency (or an admin for it) asked for a test delivery.
    WebhookTestRequested,
    /// A failed or cancelled delivery was queued again, with its id unchanged.
    WebhookReplayed,
    /// An agency or an admin listed webhook endpoints or deliveries.
    WebhookListed,
    /// An agency read its change feed (how many contacts, never which fields).
    ContactFeedRead,
    /// An agency moved its sandbox test clock forward.
    SandboxClockAdvanced,
    AgencyCreated,
    /// An operator changed an agency (its contact source).
    AgencyChanged,
    StaffCreated,
    ApiKeyCreated,
    /// A key was refused what it asked for (403), or asked for a contact it may not see (404).
    AccessDenied,
    /// An operator or admin revoked a key: every replica refuses it within a second.
    ApiKeyRevoked,
    /// A key was replaced by a new one for the same owner; the old one works until its expiry.
    ApiKeyRotated,
    /// A member of staff left: their keys were revoked and their claims' leases ended.
    StaffDeactivated,
    /// A member of staff signed in to the console.
    SessionStarted,
    /// A console session ended (signed out, idle, past its lifetime, or its key no longer live).
    SessionEnded,
}

impl AuditAction {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContactSubmitted => "contact.submitted",
            Self::ContactReplayed => "contact.replayed",
            Self::ContactRead => "contact.read",
            Self::AuditListed => "audit.listed",
            Self::ReportRead => "report.read",
            Self::ContactRerated => "contact.rerated",
            Self::ChildContactsRead => "child.contacts_read",
            Self::ClockPaused => "clock.paused",
            Self::ClockResumed => "clock.resumed",
            Self::LadderStepFired => "clock.step_fired",
            Self::LadderStepFailed => "clock.step_failed",
            Self::ClockStopped => "clock.stopped",
            Self::EventsListed => "events.listed",
            Self::ContactClaimed => "contact.claimed",
            Self::ClaimRenewed => "claim.renewed",
            Self::ClaimReleased => "claim.released",
            Self::ClaimExpired => "claim.expired",
            Self::ContactAssigned => "contact.assigned",
            Self::ContactMoved => "contact.moved",
            Self::NoteAdded => "note.added",
            Self::ContactDecided => "contact.decided",
            Self::LateReasonRecorded => "contact.late_reason_recorded",
            Self::DecisionAuthorised => "decision.authorised",
            Self::DecisionSentBack => "decision.sent_back",
            Self::WebhookRegistered => "webhook.registered",
            Self::WebhookReplaced => "webhook.replaced",
            Self::AccessDenied => "access.denied",
            Self::WebhookRemoved => "webhook.removed",
            Self::QueueListed => "queue.listed",
            Self::WebhookDelivered => "webhook.delivered",
            Self::WebhookDisabled => "webhook.disabled",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
            Self::WebhookTestRequested => "webhook.test_requested",
            Self::WebhookReplayed => "webhook.replayed",
            Self::WebhookListed => "webhook.listed",
            Self::ContactFeedRead => "contact.feed_read",
            Self::SandboxClockAdvanced => "sandbox.clock_advanced",
            Self::AgencyCreated => "agency.created",
            Self::AgencyChanged => "agency.changed",
            Self::StaffCreated => "staff.created",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyRotated => "api_key.rotated",
            Self::StaffDeactivated => "staff.deactivated",
            Self::SessionStarted => "session.started",
            Self::SessionEnded => "session.ended",
        }
    }

    /// Actions that read rather than change, as stored; used to filter a contact's history.
    pub(crate) const READ_ACTIONS: [AuditAction; 6] = [
        Self::ContactReplayed,
        Self::ContactRead,
        Self::AuditListed,
        Self::ChildContactsRead,
        Self::EventsListed,
        Self::QueueListed,
    ];

    /// The stored spellings of [`Self::READ_ACTIONS`].
    pub(crate) fn reads() -> Vec<&'static str> {
        Self::READ_ACTIONS.iter().map(|a| a.as_str()).collect()
    }
}

/// One stored audit event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub api_key_id: Option<ApiKeyId>,
    pub action: String,
    pub contact_id: Option<ContactId>,
    pub detail: serde_json::Value,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub contact_id: Option<ContactId>,
    /// Only what this member of staff (or agency) did.
    pub actor_id: Option<Uuid>,
    /// Only this action, e.g. `contact.read`.
    pub action: Option<String>,
    /// Only events at or after `from` and before `to`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events with a larger id (cursor).
    pub after: Option<i64>,
    /// At most this many (1..=1000).
    pub limit: i64,
}
