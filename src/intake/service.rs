//! Submitting and reading contacts.

use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::{Arc, OnceLock};

use chrono::{SubsecRound, TimeDelta};
use futures_util::{FutureExt, StreamExt, stream};
use rustc_hash::FxHashMap as HashMap;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, pool::PoolConnection};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::{model::Submitted, repo as key_repo, validate::FieldError};
use crate::{
    audit::{self, Actor, AuditAction},
    auth::{AgencyPrincipal, AgencyScope},
    clocks::{self, service::ScheduledStep},
    contact::{
        ContactRecord, NewContact,
        repo::{self, RatingChange},
    },
    db::{self, StoreError},
    id::ContactId,
    policy::LevelIndex,
    state::AppState,
    triage::{self, service::NewIntake},
};

/// Why a submission or read did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The agency reference is taken by a contact with a different body.
    #[error("agency_reference is already used by a different contact")]
    ReferenceConflict,
    /// A request with the same `Idempotency-Key` is still being processed.
    #[error("a request with this Idempotency-Key is in flight")]
    KeyInFlight,
    /// The `Idempotency-Key` was used before with a different body.
    #[error("the Idempotency-Key was used with a different body")]
    KeyReused,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The contact could not be encoded for storage (a bug: every field is plain data).
    #[error("could not encode the contact")]
    Encode(#[from] serde_json::Error),
}

impl From<sqlx::Error> for IntakeError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// The idempotency fingerprint of a submission: SHA-256 over its normalised form, so key order,
/// whitespace and `null`-versus-absent do not make a retry look different.
pub fn request_hash(contact: &NewContact) -> Result<Vec<u8>, serde_json::Error> {
    Ok(Sha256::digest(serde_json::to_vec(contact)?).to_vec())
}

/// How long an `Idempotency-Key` is remembered.
pub const KEY_LIFETIME: TimeDelta = TimeDelta::hours(24);

/// Stores a new contact for `agency`, or returns the stored one for a retry.
///
/// With an `Idempotency-Key` (the IETF httpapi draft's semantics): the key's first use is
/// recorded with the contact, in the same transaction; the same key and body again within
/// [`KEY_LIFETIME`] is answered as the first was ([`Submitted::Repeated`]); the same key with a
/// different body is [`IntakeError::KeyReused`]; and while a request with the key is still being
/// processed, another is [`IntakeError::KeyInFlight`]. The agency reference still de-duplicates
/// underneath: a new key with an old reference is a replay or a conflict as without a key.
///
/// Without a key, `coalescer` (when given) stores the contact in one transaction with others
/// submitted at the same moment ([`Coalescer`]); the answer is the same as alone.
#[tracing::instrument(skip_all, fields(agency_id = %agency.agency_id, contact_id))]
pub async fn submit_contact(
    state: &AppState,
    coalescer: Option<&Coalescer>,
    agency: &AgencyPrincipal,
    contact: &NewContact,
    key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let submitted = match coalescer {
        // A sandbox moves each agency's time by its own offset, which only its own task sees.
        Some(coalescer) if key.is_none() && !state.settings.sandbox.enabled => {
            coalescer.submit(*agency, contact.clone()).await
        }
        _ => submit_alone(state, agency, contact, key).await,
    }?;
    if let Submitted::Created(record) = &submitted {
        tracing::Span::current().record("contact_id", tracing::field::display(record.id));
    }
    Ok(submitted)
}

/// Stores one contact in a transaction of its own (see [`submit_contact`]).
async fn submit_alone(
    state: &AppState,
    agency: &AgencyPrincipal,
    contact: &NewContact,
    key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let item = Pending::new(agency, contact, tracing::Span::current())?;
    let clock = state.clock.as_ref();
    let mut tx = state.db.begin().await?;
    if let Some(key) = key {
        if !key_repo::try_lock_key(&mut tx, agency.agency_id, key).await? {
            return Err(IntakeError::KeyInFlight);
        }
        if let Some((first_hash, contact_id, status)) =
            key_repo::find_key(&mut tx, agency.agency_id, key, clock.now() - KEY_LIFETIME).await?
        {
            tx.rollback().await?;
            if first_hash != item.hash {
                tracing::info!(contact_id = %contact_id, "idempotency key reused with a different body");
                return Err(IntakeError::KeyReused);
            }
            return repeat(state, agency, contact_id, status).await;
        }
    }
    if let Some(Stored::Created(created)) = store(&mut tx, state, std::slice::from_ref(&item)).await?.pop() {
        if let Some(key) = key {
            let now = created.record.received_at;
            key_repo::record_key(&mut tx, agency.agency_id, key, (&item.hash, item.id, 201), now).await?;
        }
        tx.commit().await?;
        let record = after_commit(state, vec![*created]).await.pop();
        Ok(Submitted::Created(record.ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?))
    } else {
        tx.rollback().await?;
        replay(state, agency, &contact.agency_reference, &item.hash, key).await
    }
}

/// A contact to store: who sent it, what, its fingerprint and stored form, and the id it gets.
struct Pending<'a> {
    agency: &'a AgencyPrincipal,
    contact: &'a NewContact,
    hash: Vec<u8>,
    submission: serde_json::Value,
    id: ContactId,
    /// The span of the request that sent it.
    span: tracing::Span,
}

impl<'a> Pending<'a> {
    fn new(agency: &'a AgencyPrincipal, contact: &'a NewContact, span: tracing::Span) -> Result<Self, IntakeError> {
        Ok(Self {
            agency,
            contact,
            hash: request_hash(contact)?,
            submission: serde_json::to_value(contact)?,
            id: ContactId::generate(),
            span,
        })
    }
}

/// What storing a contact did, in its transaction.
enum Stored {
    Created(Box<Created>),
    /// The agency already has a contact with this reference: a retry or a conflict, answered
    /// by [`replay`] once the transaction is over.
    Taken,
}

/// A contact stored, with what to do once its transaction commits.
struct Created {
    record: ContactRecord,
    agency_kind: &'static str,
    urgency: String,
    steps: Vec<ScheduledStep>,
    span: tracing::Span,
}

/// Stores `items` in the transaction `tx`, all received at one instant, in at most four round
/// trips however many there are (usually two): the children's locks with their earlier
/// contacts; re-referrals, only for children seen before; the earlier contacts read again, only
/// when clocks differ (see [`triage::service::classify_new_contacts`]); and one statement for
/// the contacts with their ratings, children, first ratings, clocks and audit events. Returns
/// each item's outcome, in order. The items must be about different children and carry
/// different references (the [`Coalescer`] keeps items that share either apart), so none is
/// matched to or de-duplicated against another.
async fn store(tx: &mut PgConnection, state: &AppState, items: &[Pending<'_>]) -> Result<Vec<Stored>, IntakeError> {
    let policy = &*state.policy;
    let contacts: Vec<&NewContact> = items.iter().map(|p| p.contact).collect();
    let earlier = triage::service::lock_children(tx, &contacts, state.clock.now().trunc_subsecs(6)).await?;
    // Read the clock only once the child locks are held (see `lock_children`). To the
    // microsecond, as PostgreSQL stores it: every instant derived from receipt (the hub's
    // deadline, read back from stored segments, and the agency's own) then has the same
    // precision, and none betrays by its digits how it was computed.
    let now = state.clock.now().trunc_subsecs(6);
    // Triage before the insert, in the same transaction: a contact is never stored
    // unclassified, and its row is written once, with its rating.
    let intakes: Vec<NewIntake<'_>> = items
        .iter()
        .map(|p| NewIntake { id: p.id, contact: p.contact, agency: (p.agency.agency_id, p.agency.kind) })
        .collect();
    let triaged = triage::service::classify_new_contacts(tx, policy, &intakes, now, earlier).await?;
    // The decision clocks start at receipt; the deadline each implies is written with the rating.
    let levels: Vec<(ContactId, LevelIndex)> = triaged.iter().map(|t| (t.contact_id, t.classified.hub.level)).collect();
    let clocks = clocks::service::plan_decision_clocks(policy, &levels, now);
    let mut classifications = Vec::with_capacity(items.len());
    let mut views = Vec::with_capacity(items.len());
    for (t, clock) in triaged.iter().zip(&clocks) {
        classifications.push(serde_json::to_value(triage::service::classification_of(&t.classified.hub))?);
        // The agency is answered with what it may see, which never rests on other agencies' contacts.
        views.push(triage::service::agency_view_at_intake(policy, &t.classified, clock.deadline(), now));
    }
    // One statement writes the contacts and, for those inserted, everything else they need.
    // When another transaction holds a contact's reference, it waits for it and then inserts
    // nothing for that contact, so a losing racer writes nothing at all.
    let mut statement = key_repo::rows_statement();
    let rows: Vec<repo::NewRow<'_>> = items
        .iter()
        .zip(&triaged)
        .zip(&clocks)
        .zip(classifications.iter().zip(&views))
        .map(|(((p, t), clock), (classification, (shown, own)))| repo::NewRow {
            id: p.id,
            agency_id: p.agency.agency_id,
            agency_reference: &p.contact.agency_reference,
            request_hash: &p.hash,
            submission: &p.submission,
            rating: RatingChange {
                urgency: &t.classified.hub.urgency,
                queue: &t.classified.hub.queue,
                classification: Some(classification),
                decision_due_at: clock.deadline(),
            },
            shown,
            own,
            re_referral: t.classified.re_referral,
        })
        .collect();
    repo::push_contacts(&mut statement, &rows, now);
    key_repo::next_part(&mut statement);
    triage::service::push_new_contacts(&mut statement, &triaged, now, repo::NEW_CONTACTS);
    key_repo::next_part(&mut statement);
    let started = clocks::service::push_planned_clocks(&mut statement, clocks, repo::NEW_CONTACTS);
    let actors: Vec<Actor> = items.iter().map(|p| Actor::agency(p.agency.agency_id, p.agency.key_id)).collect();
    let ids: Vec<ContactId> = items.iter().map(|p| p.id).collect();
    let details: Vec<serde_json::Value> = items
        .iter()
        .zip(&triaged)
        .map(|(p, t)| {
            serde_json::json!({
                "children": p.contact.children.len(),
                "concerns": p.contact.concerns,
                "urgency": t.classified.hub.urgency,
                "queue": t.classified.hub.queue,
                "policy_version": t.classified.hub.policy_version,
            })
        })
        .collect();
    key_repo::next_part(&mut statement);
    let actors: Vec<&Actor> = actors.iter().collect();
    audit::push_each(&mut statement, now, AuditAction::ContactSubmitted, (&actors, &ids, &details), repo::NEW_CONTACTS);
    let mut inserted: HashMap<ContactId, ContactRecord> =
        repo::fetch_new_contacts(tx, statement).await?.into_iter().map(|r| (r.id, r)).collect();
    drop(rows);
    let mut started: HashMap<ContactId, clocks::service::Started> = started.into_iter().collect();
    let mut outcomes = Vec::with_capacity(items.len());
    for ((p, t), (shown, _)) in items.iter().zip(triaged).zip(views) {
        let Some(mut record) = inserted.remove(&p.id) else {
            outcomes.push(Stored::Taken);
            continue;
        };
        // Every contact inserted had its clock planned (a missing one is a bug: nothing is stored).
        let (_, steps) =
            started.remove(&p.id).ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
        record.urgency = Some(shown.urgency);
        record.queue = Some(shown.queue);
        record.classification = Some(shown.classification);
        record.decision_due_at = shown.decision_due_at;
        let agency_kind = p.agency.kind.into();
        outcomes.push(Stored::Created(Box::new(Created {
            record,
            agency_kind,
            urgency: t.classified.hub.urgency,
            steps,
            span: p.span.clone(),
        })));
    }
    Ok(outcomes)
}

/// What follows a commit of contacts stored: their ladder steps indexed (in one pipeline), and
/// counted and logged. Returns their records.
async fn after_commit(state: &AppState, created: Vec<Created>) -> Vec<ContactRecord> {
    let steps: Vec<ScheduledStep> = created.iter().flat_map(|c| c.steps.iter().cloned()).collect();
    clocks::timer::schedule_or_log(&state.redis, &steps).await;
    created
        .into_iter()
        .map(|c| {
            state.metrics.contact_received(c.agency_kind, &c.urgency);
            c.span.in_scope(|| {
                tracing::info!(contact_id = %c.record.id, agency_id = %c.record.agency_id, "contact received");
            });
            c.record
        })
        .collect()
}

/// Batch items submitted at once: enough for the [`Coalescer`] to store them a transaction's
/// worth at a time; without one, each item takes a pool connection, so few enough to leave the
/// pool's connections for other requests.
const BATCH_CONCURRENCY: usize = MAX_BATCH;
const BATCH_CONCURRENCY_ALONE: usize = 4;

/// Why one item of a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum BatchItemError {
    /// The item is not a valid contact: every field at fault.
    #[error("the contact is not valid")]
    Invalid(Vec<FieldError>),
    /// Storing it failed as a single submission would have.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Not tried: the store was found unavailable for an earlier item, and each try would only
    /// wait out the pool timeout. Resending is safe.
    #[error("not tried: the store is unavailable")]
    StoreUnavailable,
}

/// Stores each item of a batch as if it were sent alone, in request order of the answers: one
/// bad item never loses the others, and each gets the outcome it would have had alone.
///
/// Items that repeat an earlier item's `agency_reference` wait until the earlier ones are stored,
/// so the first occurrence wins and the repeats are replays or conflicts, exactly as if they had
/// been sent one after another. Once the store is found unavailable, the remaining items are not
/// tried.
pub async fn submit_batch(
    state: &AppState,
    coalescer: Option<&Coalescer>,
    agency: &AgencyPrincipal,
    items: Vec<Result<NewContact, Vec<FieldError>>>,
) -> Vec<Result<Submitted, BatchItemError>> {
    let mut seen = std::collections::HashSet::new();
    let (firsts, repeats): (Vec<_>, Vec<_>) = items.into_iter().enumerate().partition(|(_, item)| match item {
        Ok(contact) => seen.insert(contact.agency_reference.clone()),
        Err(_) => true,
    });
    let store_down = AtomicBool::new(false);
    let grouped = coalescer.is_some() && !state.settings.sandbox.enabled;
    let concurrency = if grouped { BATCH_CONCURRENCY } else { BATCH_CONCURRENCY_ALONE };
    let one = async |index: usize, item: Result<NewContact, Vec<FieldError>>| {
        let outcome = match item {
            Err(errors) => Err(BatchItemError::Invalid(errors)),
            Ok(_) if store_down.load(Ordering::Relaxed) => Err(BatchItemError::StoreUnavailable),
            Ok(contact) => {
                let outcome =
                    submit_contact(state, coalescer, agency, &contact, None).await.map_err(BatchItemError::from);
                if matches!(outcome, Err(BatchItemError::Intake(IntakeError::Store(StoreError::Unavailable(_))))) {
                    store_down.store(true, Ordering::Relaxed);
                }
                outcome
            }
        };
        (index, outcome)
    };
    let mut results: Vec<(usize, Result<Submitted, BatchItemError>)> =
        stream::iter(firsts).map(|(index, item)| one(index, item)).buffered(concurrency).collect().await;
    for (index, item) in repeats {
        results.push(one(index, item).await);
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, outcome)| outcome).collect()
}

/// The most contacts one transaction stores.
pub const MAX_BATCH: usize = 16;

/// Transactions of contacts in flight at once, per process: one filling while another commits.
const WRITERS: usize = 2;

/// While another writer's transaction is under way, a writer holding fewer contacts than this
/// waits up to [`LINGER`] for more before it starts its own.
const FILL: usize = MAX_BATCH / 2;
/// At most 1 ms; tokio's timer rounds up to its next millisecond tick, so 1-2 ms in fact.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// A contact waiting for a [`Coalescer`]'s writer.
struct Job {
    agency: AgencyPrincipal,
    contact: NewContact,
    reply: oneshot::Sender<Result<Submitted, IntakeError>>,
    /// The request's span: what a writer logs of the contact carries the request's ids.
    span: tracing::Span,
}

/// Group commit for intake: contacts submitted at the same moment (without an
/// `Idempotency-Key`) are stored in one transaction, with one set-based statement per step for
/// all of them, instead of a transaction each. Most of a contact's cost in PostgreSQL is per
/// statement and per commit, not per row, so this is where intake's throughput comes from
/// (docs/PERFORMANCE.md).
///
/// Nothing is weaker than storing each alone: every contact gets the same rows, audit event,
/// locks and answer. Contacts that share a child's match key or a reference never share a
/// transaction (the later waits for the next one), so each still sees the ones before it; a
/// batch that fails for any other reason than the store being down is stored again one contact
/// at a time, so one bad contact never fails the others. [`WRITERS`] writer tasks take whatever
/// has queued, up to [`MAX_BATCH`], as soon as the previous transaction is done; while another
/// writer's transaction is under way, one holding fewer than [`FILL`] waits up to [`LINGER`] for
/// more (without that, under load one writer took 14 contacts and the other a lone straggler, in
/// a transaction that cost nearly as much). With both writers idle a contact waits for no one.
pub struct Coalescer {
    state: Arc<AppState>,
    jobs: OnceLock<mpsc::Sender<Job>>,
    /// Set while the store is found down (a breaker): one contact at a time then tries the store
    /// alone (`probe`), and the first that reaches it closes the breaker; contacts that arrive
    /// meanwhile wait for that probe's outcome (at most [`PROBE_WAIT`]) and are answered 503 if
    /// it failed or is still trying.
    down: Arc<std::sync::atomic::AtomicBool>,
    probe: tokio::sync::Semaphore,
}

/// How long a contact that finds the breaker open waits for the probe under way (connecting
/// to a store that is back takes milliseconds).
const PROBE_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a contact waits for its writer's answer before it is answered 503 (the writer may
/// still store it: the agency reference makes the retry a replay). Far beyond a transaction's
/// usual few milliseconds, so it only ends a wait on a stuck store.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

impl Coalescer {
    /// A coalescer storing into `state`'s database. Its writers start with the first contact.
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state, jobs: OnceLock::new(), down: Arc::default(), probe: tokio::sync::Semaphore::new(1) }
    }

    async fn submit(&self, agency: AgencyPrincipal, contact: NewContact) -> Result<Submitted, IntakeError> {
        if self.down.load(Ordering::Relaxed) {
            if let Ok(_probe) = self.probe.try_acquire() {
                let result = submit_alone(&self.state, &agency, &contact, None).await;
                if !matches!(result, Err(IntakeError::Store(StoreError::Unavailable(_)))) {
                    self.down.store(false, Ordering::Relaxed);
                }
                return result;
            }
            // Another contact is probing: its outcome answers this one too. Waiting for it
            // means the contacts that arrive just as the store comes back are stored, not
            // refused by a breaker about to close; waiting briefly means a store that hangs
            // (a probe may wait out the pool's acquire timeout) still gets a prompt 503. The
            // permit, if the wait gets it, is released at once: this contact is no probe.
            let _ = tokio::time::timeout(PROBE_WAIT, self.probe.acquire()).await;
            if self.down.load(Ordering::Relaxed) {
                return Err(unavailable(&sqlx::Error::PoolTimedOut));
            }
        }
        let (reply, answer) = oneshot::channel();
        let jobs = self.jobs.get_or_init(|| self.start());
        let span = tracing::Span::current();
        match jobs.send_timeout(Job { agency, contact, reply, span }, ANSWER_WITHIN).await {
            Ok(()) => {}
            // The queue stayed full: the writers are stuck or far behind.
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => return Err(unavailable(&sqlx::Error::PoolTimedOut)),
            // The writers have stopped (the runtime is shutting down): stored here.
            Err(mpsc::error::SendTimeoutError::Closed(job)) => {
                return submit_alone(&self.state, &job.agency, &job.contact, None).await;
            }
        }
        match tokio::time::timeout(ANSWER_WITHIN, answer).await {
            Ok(Ok(answer)) => answer,
            // A dropped reply (a writer that panicked) or no answer in time: answered as a store
            // that failed, which the caller may retry (the agency reference makes a retry safe).
            Ok(Err(_)) => Err(IntakeError::Store(StoreError::Unavailable(sqlx::Error::WorkerCrashed))),
            Err(_) => Err(unavailable(&sqlx::Error::PoolTimedOut)),
        }
    }

    fn start(&self) -> mpsc::Sender<Job> {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * WRITERS * 4);
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        // The contacts in the writers' transactions under way.
        let storing = Arc::default();
        for _ in 0..WRITERS {
            tokio::spawn(write(
                Arc::clone(&self.state),
                Arc::clone(&queue),
                Arc::clone(&self.down),
                Arc::clone(&storing),
            ));
        }
        jobs
    }
}

/// A writer: takes what has queued (up to [`MAX_BATCH`]), keeps apart the contacts that may not
/// share a transaction, stores the rest together, and goes round again. It keeps its connection
/// between transactions (a pool's acquire and release each cost a round trip).
async fn write(
    state: Arc<AppState>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
    storing: Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut waiting: Vec<Job> = Vec::new();
    let mut conn: Option<PoolConnection<Postgres>> = None;
    loop {
        if waiting.is_empty() {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            waiting.push(first);
            while waiting.len() < MAX_BATCH
                && let Ok(job) = queue.try_recv()
            {
                waiting.push(job);
            }
            // While another writer's transaction is under way, a few contacts are worth a
            // moment's wait for more: a transaction's cost is mostly fixed, and one started at
            // once with a lone contact would leave the rest to queue behind both writers. It
            // costs a lone caller's contact about 0.7 ms; waiting only while the other writer
            // holds two or more, or ending the wait when its transaction ends, left smaller
            // groups under load and intake slower (docs/PERFORMANCE.md, "When a writer waits").
            if waiting.len() < FILL && storing.load(Ordering::Relaxed) > 0 {
                let until = tokio::time::Instant::now() + LINGER;
                while waiting.len() < FILL
                    && let Ok(Some(job)) = tokio::time::timeout_at(until, queue.recv()).await
                {
                    waiting.push(job);
                }
            }
        }
        let (mut batch, later) = apart(std::mem::take(&mut waiting));
        waiting = later;
        // Inserted in one order by every transaction, two batches that share references (a
        // retry racing its original) wait for each other rather than deadlock.
        batch.sort_by(|a, b| {
            (a.agency.agency_id, &a.contact.agency_reference).cmp(&(b.agency.agency_id, &b.contact.agency_reference))
        });
        // A panic that escapes (storing a contact alone panicked too) loses this round's
        // connection, never the writer.
        let size = batch.len();
        storing.fetch_add(size, Ordering::Relaxed);
        conn = std::panic::AssertUnwindSafe(store_batch(&state, batch, conn.take(), &down))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                tracing::error!("a writer's round panicked");
                None
            });
        storing.fetch_sub(size, Ordering::Relaxed);
    }
}

/// Splits `jobs` into those that may share a transaction (in order, the first of any that share
/// a child's match key or an agency reference, and none that shares one with a contact held
/// back) and the rest, for the next.
fn apart(jobs: Vec<Job>) -> (Vec<Job>, Vec<Job>) {
    let mut taken = std::collections::HashSet::new();
    let (mut batch, mut later) = (Vec::new(), Vec::new());
    for job in jobs {
        let keys: Vec<String> = triage::service::lock_keys(&[&job.contact])
            .chain([format!("reference:{}:{}", job.agency.agency_id, job.contact.agency_reference)])
            .collect();
        if keys.iter().any(|k| taken.contains(k)) {
            // Its keys stay taken, so no contact queued after it overtakes it.
            taken.extend(keys);
            later.push(job);
        } else {
            taken.extend(keys);
            batch.push(job);
        }
    }
    (batch, later)
}

/// Stores `jobs` in one transaction on `conn` (or a connection from the pool) and answers each.
/// A kept connection that fails is replaced and the transaction tried once more (it may only
/// have gone stale: the database restarted since). Then, if the store is down, answers each 503
/// at once and opens the breaker (`down`); if the transaction failed otherwise or panicked,
/// stores each contact alone. Returns the connection to keep, unless it failed.
async fn store_batch(
    state: &Arc<AppState>,
    jobs: Vec<Job>,
    mut conn: Option<PoolConnection<Postgres>>,
    down: &std::sync::atomic::AtomicBool,
) -> Option<PoolConnection<Postgres>> {
    if down.load(Ordering::Relaxed) {
        // Queued before the breaker opened: answered at once, as new contacts are.
        for job in jobs {
            let _ = job.reply.send(Err(unavailable(&sqlx::Error::PoolTimedOut)));
        }
        return None;
    }
    let attempt = async |conn: &mut Option<PoolConnection<Postgres>>| {
        std::panic::AssertUnwindSafe(store_together(state, &jobs, conn)).catch_unwind().await
    };
    let kept = conn.is_some();
    let mut outcome = attempt(&mut conn).await;
    if kept && !matches!(outcome, Ok(Ok(_))) {
        close(&mut conn).await;
        outcome = attempt(&mut conn).await;
    }
    if !matches!(outcome, Ok(Ok(_))) {
        // The connection may hold the failed transaction (a panic leaves its rollback unsent,
        // and its locks would stop the contacts stored alone next) or be broken: closed.
        close(&mut conn).await;
    }
    match outcome {
        Ok(Ok(outcomes)) => {
            tokio::spawn(answer(Arc::clone(state), jobs, outcomes));
        }
        Ok(Err(IntakeError::Store(StoreError::Unavailable(err)))) if !db::is_contention(&err) => {
            tracing::warn!(error = %causes(&err), contacts = jobs.len(), "the store is unavailable for a batch of contacts");
            down.store(true, Ordering::Relaxed);
            for job in jobs {
                let _ = job.reply.send(Err(unavailable(&err)));
            }
        }
        Ok(Err(err)) if jobs.len() == 1 => {
            let _ = jobs.into_iter().next().map(|job| job.reply.send(Err(err)));
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %causes(&err), contacts = jobs.len(), "a batch of contacts failed; storing each alone");
            alone(state, jobs).await;
        }
        Err(_) => {
            tracing::error!(contacts = jobs.len(), "storing a batch of contacts panicked; storing each alone");
            alone(state, jobs).await;
        }
    }
    conn
}

/// Closes a connection that failed (rather than return it to the pool).
async fn close(conn: &mut Option<PoolConnection<Postgres>>) {
    if let Some(conn) = conn.take() {
        let _ = conn.close().await;
    }
}

/// Stores each of `jobs` in a transaction of its own (four at a time) and answers it; one that
/// panics is answered with an error, and the others are stored.
async fn alone(state: &AppState, jobs: Vec<Job>) {
    stream::iter(jobs)
        .for_each_concurrent(4, async |job| {
            let stored = std::panic::AssertUnwindSafe(
                submit_alone(state, &job.agency, &job.contact, None).instrument(job.span.clone()),
            )
            .catch_unwind()
            .await;
            let answer = stored.unwrap_or_else(|_| {
                tracing::error!("storing a contact panicked");
                Err(IntakeError::Store(StoreError::Query(sqlx::Error::Protocol("storing the contact panicked".into()))))
            });
            let _ = job.reply.send(answer);
        })
        .await;
}

/// An error's message and its causes' (sqlx's messages carry no values from the rows).
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The store unavailable, as `err` found it, for each contact it answers.
fn unavailable(err: &sqlx::Error) -> IntakeError {
    let like = match err {
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::Io(io) => sqlx::Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        _ => sqlx::Error::PoolTimedOut,
    };
    IntakeError::Store(StoreError::Unavailable(like))
}

/// Stores `jobs` in one transaction; returns each one's outcome and request hash, in order.
async fn store_together(
    state: &AppState,
    jobs: &[Job],
    conn: &mut Option<PoolConnection<Postgres>>,
) -> Result<Vec<(Stored, Vec<u8>)>, IntakeError> {
    let items = jobs
        .iter()
        .map(|job| Pending::new(&job.agency, &job.contact, job.span.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let conn = match conn {
        Some(kept) => kept,
        None => conn.insert(state.db.acquire().await?),
    };
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let stored = match store(&mut tx, state, &items).await {
        Ok(stored) => stored,
        Err(err) => {
            // At once, so the child locks are free for the contacts stored alone next.
            let _ = tx.rollback().await;
            return Err(err);
        }
    };
    tx.commit().await?;
    Ok(stored.into_iter().zip(items.into_iter().map(|item| item.hash)).collect())
}

/// Answers each of `jobs` once their transaction has committed: the stored ones after their
/// steps are indexed, the taken ones as replays. Off the writer's path, so the next transaction
/// starts at once.
async fn answer(state: Arc<AppState>, jobs: Vec<Job>, outcomes: Vec<(Stored, Vec<u8>)>) {
    let (mut created, mut replies, mut taken) = (Vec::new(), Vec::new(), Vec::new());
    for (job, (outcome, hash)) in jobs.into_iter().zip(outcomes) {
        match outcome {
            Stored::Created(c) => {
                created.push(*c);
                replies.push(job.reply);
            }
            Stored::Taken => taken.push((job, hash)),
        }
    }
    // The stored contacts first: a replay may wait for the pool.
    let records = after_commit(&state, created).await;
    for (reply, record) in replies.into_iter().zip(records) {
        // A caller that has gone away needs no answer: its contact is stored.
        let _ = reply.send(Ok(Submitted::Created(record)));
    }
    for (job, hash) in taken {
        let answer =
            replay(&state, &job.agency, &job.contact.agency_reference, &hash, None).instrument(job.span.clone()).await;
        let _ = job.reply.send(answer);
    }
}

/// A retry: the stored contact when the body matches, a conflict when it does not. With an
/// `Idempotency-Key`, the key is recorded for the replay (taking the key's lock again first).
async fn replay(
    state: &AppState,
    agency: &AgencyPrincipal,
    reference: &str,
    hash: &[u8],
    key: Option<&str>,
) -> Result<Submitted, IntakeError> {
    let mut tx = state.db.begin().await?;
    if let Some(key) = key
        && !key_repo::try_lock_key(&mut tx, agency.agency_id, key).await?
    {
        return Err(IntakeError::KeyInFlight);
    }
    let (record, stored_hash) = repo::find_by_reference(&mut tx, AgencyScope::Own(agency.agency_id), reference)
        .await?
        // The conflicting row committed before we looked, and rows are never deleted.
        .ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
    if stored_hash != hash {
        tx.rollback().await?;
        tracing::info!(contact_id = %record.id, "agency reference reused with a different body");
        return Err(IntakeError::ReferenceConflict);
    }
    let now = state.clock.now();
    if let Some(key) = key {
        key_repo::record_key(&mut tx, agency.agency_id, key, (hash, record.id, 200), now).await?;
    }
    audit::record(
        &mut tx,
        now,
        &Actor::agency(agency.agency_id, agency.key_id),
        AuditAction::ContactReplayed,
        Some(record.id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(contact_id = %record.id, "contact submission replayed");
    Ok(Submitted::Replayed(record))
}

/// A repeat of a request with the same `Idempotency-Key` and body: the contact as it is now,
/// answered with the first request's status; audited as a replay.
async fn repeat(
    state: &AppState,
    agency: &AgencyPrincipal,
    id: ContactId,
    status: i16,
) -> Result<Submitted, IntakeError> {
    crate::db::in_transaction(&state.db, async |tx| {
        let record = repo::find_contact(tx, AgencyScope::Own(agency.agency_id), id)
            .await?
            .ok_or(IntakeError::Store(StoreError::Query(sqlx::Error::RowNotFound)))?;
        audit::record(
            tx,
            state.clock.now(),
            &Actor::agency(agency.agency_id, agency.key_id),
            AuditAction::ContactReplayed,
            Some(id),
            serde_json::json!({ "idempotency_key": true }),
        )
        .await?;
        tracing::info!(contact_id = %id, "contact submission repeated under its idempotency key");
        Ok(Submitted::Repeated(record, u16::try_from(status).unwrap_or(200)))
    })
    .await
}

/// Forgets `Idempotency-Key`s older than [`KEY_LIFETIME`]; returns how many.
pub async fn prune_idempotency_keys(state: &AppState) -> Result<u64, StoreError> {
    let before = state.clock.now() - KEY_LIFETIME;
    crate::db::in_transaction(&state.db, async |tx| Ok(key_repo::prune_keys(tx, before).await?)).await
}
