//! Test clocks: reading and moving an agency's, running due work on each, the sandbox's own staff
//! keys, and the start-up check of the database's mark.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use super::repo;
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{self, AgencyPrincipal, IssuedKey, Principal, Role},
    clock, clocks,
    db::StoreError,
    id::{AgencyId, ContactId, StaffId},
    state::AppState,
    webhook,
};

/// Why a sandbox operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// This deployment is not a sandbox (the endpoints are "not found").
    #[error("not a sandbox")]
    NotSandbox,
    /// A test clock only moves forward.
    #[error("advance_to must be after the test clock's time")]
    NotForward { now: DateTime<Utc> },
    /// Sandbox staff keys are practitioners or managers.
    #[error("a sandbox staff key is a practitioner or a manager")]
    Role,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Firing the due steps failed (the clock has moved; the worker's next round fires them).
    #[error(transparent)]
    Worker(clocks::worker::WorkerError),
}

impl From<clocks::worker::WorkerError> for SandboxError {
    fn from(err: clocks::worker::WorkerError) -> Self {
        match err {
            clocks::worker::WorkerError::Store(e) => Self::Store(e),
            other @ clocks::worker::WorkerError::Redis(_) => Self::Worker(other),
        }
    }
}

impl From<sqlx::Error> for SandboxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

impl From<auth::AuthError> for SandboxError {
    fn from(err: auth::AuthError) -> Self {
        match err {
            auth::AuthError::Store(e) => Self::Store(e),
            _ => Self::Role,
        }
    }
}

/// Checks the database's mark against this process's mode, marking an unmarked database.
/// A sandbox refuses a database marked live, or unmarked and holding contacts; a live process
/// refuses a database marked sandbox.
pub async fn check_database(state: &AppState) -> anyhow::Result<()> {
    let sandbox = state.settings.sandbox.enabled;
    let mode = repo::deployment_mode(&state.db).await?;
    match (sandbox, mode.as_deref()) {
        (true, Some("live")) => anyhow::bail!(
            "sandbox.enabled is true but the database is marked live: a sandbox never runs on live data (use a database of its own)"
        ),
        (false, Some("sandbox")) => anyhow::bail!(
            "the database is marked sandbox (its contacts ran on test clocks): set sandbox.enabled, or use a live database"
        ),
        (true, None) if repo::holds_contacts(&state.db).await? => anyhow::bail!(
            "sandbox.enabled is true but the database holds contacts and is not marked sandbox: a sandbox never runs on live data"
        ),
        (_, Some(_)) => Ok(()),
        (_, None) => Ok(repo::mark(&state.db, if sandbox { "sandbox" } else { "live" }, state.clock.wall()).await?),
    }
}

fn offset(us: i64) -> TimeDelta {
    TimeDelta::microseconds(us)
}

fn require_sandbox(state: &AppState) -> Result<(), SandboxError> {
    if state.settings.sandbox.enabled { Ok(()) } else { Err(SandboxError::NotSandbox) }
}

/// The test-clock offset the work of a request runs on: an agency key's own; for staff, that of
/// the agency whose contact the request names, or else a sandbox staff key's own agency's.
/// Zero outside a sandbox.
pub async fn offset_for(
    state: &AppState,
    principal: Option<&Principal>,
    contact: Option<ContactId>,
) -> Result<TimeDelta, StoreError> {
    if !state.settings.sandbox.enabled {
        return Ok(TimeDelta::zero());
    }
    let agency = match principal {
        Some(Principal::Agency(a)) => Some(a.agency_id),
        // Work on a contact runs on its agency's clock, whoever's key it is; a sandbox staff key
        // otherwise runs on its own agency's (taking the next contact from a queue, say).
        Some(Principal::Staff(s)) => match of_contact(state, contact).await? {
            Some(agency) => Some(agency),
            None => repo::agency_of_staff(&state.db, s.staff_id).await?,
        },
        None => of_contact(state, contact).await?,
    };
    Ok(match agency {
        Some(agency) => offset(repo::offset_us(&state.db, agency).await?),
        None => TimeDelta::zero(),
    })
}

async fn of_contact(state: &AppState, contact: Option<ContactId>) -> Result<Option<AgencyId>, StoreError> {
    Ok(match contact {
        Some(id) => repo::agency_of_contact(&state.db, id).await?,
        None => None,
    })
}

/// An agency's test clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    /// The agency's time now.
    pub now: DateTime<Utc>,
    /// How far ahead of the hub's time it is.
    pub offset: TimeDelta,
    /// Ladder steps (escalations, breaches, feedback reminders) that fired on the way.
    pub steps_fired: usize,
}

/// The agency's test clock as it stands.
pub async fn read_clock(state: &AppState, agency: &AgencyPrincipal) -> Result<Advanced, SandboxError> {
    require_sandbox(state)?;
    let off = offset(repo::offset_us(&state.db, agency.agency_id).await?);
    Ok(Advanced { now: state.clock.wall() + off, offset: off, steps_fired: 0 })
}

/// Moves the agency's test clock forward to `to` (never back), audited; then fires, on the new
/// time, every ladder step of its contacts now due. Webhook deliveries follow within a second
/// (the sandbox round), retried on the agency's time too.
pub async fn advance(state: &AppState, agency: &AgencyPrincipal, to: DateTime<Utc>) -> Result<Advanced, SandboxError> {
    require_sandbox(state)?;
    let to = to.trunc_subsecs(6);
    let wall = state.clock.wall();
    let off = crate::db::in_transaction(&state.db, async |tx| {
        let current = offset(repo::lock_offset(tx, agency.agency_id, wall).await?);
        if to <= wall + current {
            return Err(SandboxError::NotForward { now: wall + current });
        }
        let off = to - wall;
        repo::set_offset(tx, agency.agency_id, off.num_microseconds().unwrap_or(i64::MAX), to, wall).await?;
        audit::record(
            tx,
            wall,
            &Actor::agency(agency.agency_id, agency.key_id),
            AuditAction::SandboxClockAdvanced,
            None,
            serde_json::json!({ "from": wall + current, "to": to }),
        )
        .await?;
        Ok(off)
    })
    .await?;
    let steps_fired = clock::with_offset(off, clocks::worker::fire_due_for_agency(state, agency.agency_id)).await?;
    Ok(Advanced { now: to, offset: off, steps_fired })
}

/// One round for every agency whose test clock has moved: its due ladder steps fire and its
/// due webhook deliveries are sent, on its own time. Returns (steps fired, deliveries made).
pub async fn run_due(state: &AppState) -> anyhow::Result<(usize, usize)> {
    if !state.settings.sandbox.enabled {
        return Ok((0, 0));
    }
    let (mut fired, mut delivered) = (0, 0);
    for (agency, us) in repo::moved_clocks(&state.db).await? {
        let off = offset(us);
        fired += clock::with_offset(off, clocks::worker::fire_due_for_agency(state, agency)).await?;
        delivered += clock::with_offset(off, webhook::service::deliver_due_for(state, Some(agency))).await?;
    }
    Ok((fired, delivered))
}

/// A new staff key for the agency's sandbox: a practitioner (to claim and decide its contacts)
/// or a manager (to authorise). Its work runs on the agency's test clock. Audited.
pub async fn create_staff_key(
    state: &AppState,
    agency: &AgencyPrincipal,
    role: Role,
) -> Result<(StaffId, IssuedKey), SandboxError> {
    require_sandbox(state)?;
    if !matches!(role, Role::Practitioner | Role::Manager) {
        return Err(SandboxError::Role);
    }
    let now = state.clock.now();
    let actor = Actor::agency(agency.agency_id, agency.key_id);
    crate::db::in_transaction(&state.db, async |tx| {
        let name = format!("Sandbox {role}");
        let (staff, key) = auth::service::create_staff_with_key_in(tx, &actor, (&name, role), now, None).await?;
        repo::insert_staff(tx, staff, agency.agency_id).await?;
        Ok((staff, key))
    })
    .await
}
