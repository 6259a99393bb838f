//! `spawn_app()` and the `TestApp` handle: the callers, the clock, the background work, and the
//! few internals the tests drive directly.
//!
//! This is the only test file that calls into the library (`mash_triage::...`); the scenarios go
//! through HTTP with the [`Caller`]s made here, so a change of the library's layout is an edit
//! here alone.

use std::{net::SocketAddr, sync::Arc};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use mash_triage::{
    app,
    audit::Actor,
    auth::{AgencyKind, AgencyPrincipal, Role, service},
    clock::{Clock, ManualClock, authority::AlignedClock},
    clocks::{self, timer, worker},
    config::{DEFAULT_CONFIG, Settings},
    db,
    id::ClockId,
    intake, sandbox,
    state::AppState,
    webhook, worklist,
};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use crate::client::Caller;

/// How overdue a ladder step must be before the PostgreSQL sweep fires it without the index.
pub const SWEEP_GRACE: TimeDelta = worker::SWEEP_GRACE;

pub fn admin_url() -> String {
    std::env::var("MASH_TEST_PG_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("MASH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a database URL has a path");
    format!("{base}/{database}")
}

/// The role that owns and migrates every test database (no superuser, as in production).
pub const OWNER_ROLE: &str = "mash_test_owner";
/// The role every test app serves as: it owns nothing and holds what `migrate` grants it.
pub const RUNTIME_ROLE: &str = "mash_test_runtime";

/// The admin server's URL for `database`, connecting as `role` (the server trusts local users).
pub fn database_url_as(role: &str, database: &str) -> String {
    let mut url = reqwest::Url::parse(&with_database(&admin_url(), database)).expect("a database URL");
    url.set_username(role).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

/// Creates `role` (LOGIN, nothing else) unless it exists. Roles are cluster-wide and tests run in
/// parallel, and CREATE ROLE has no IF NOT EXISTS: the loser of a race gets `duplicate_object`, or
/// `unique_violation` when the winner had not yet committed, and either means the role is there.
async fn ensure_role(admin: &mut PgConnection, role: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "do $$ begin create role {role} login; exception when duplicate_object or unique_violation then null; end $$"
    )))
    .execute(admin)
    .await
    .unwrap();
}

/// The webhook signature header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign_webhook(secret: &str, timestamp: i64, body: &[u8]) -> String {
    webhook::sign(secret, timestamp, body)
}

/// An agency with its key.
struct TestAgency {
    id: String,
    key: String,
}

/// A running app, the keys to call it with and its manual clock.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The monitoring listener (`metrics.listen`).
    pub metrics_addr: SocketAddr,
    pub db_name: String,
    /// Connected as the owner ([`OWNER_ROLE`]): for what only the owner may do.
    owner: PgPool,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<std::io::Result<()>>,
    base: String,
    http: reqwest::Client,
    state: Arc<AppState>,
    clock: Arc<ManualClock>,
    police: TestAgency,
    school: TestAgency,
    health: TestAgency,
    practitioner: String,
    manager: String,
    auditor: String,
    admin: String,
}

/// A Redis address that accepts connections and never answers, as a hung Redis (or a network
/// that black-holes its replies) would. Lives as long as the test's runtime.
pub async fn hung_redis() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // kept open, never read or written
        }
    });
    format!("redis://{addr}")
}

/// A Redis that can be made to hang and to recover: a proxy to the test Redis. While hung it
/// swallows every command and answers nothing, as a partitioned network does; recovering resets
/// the connections it carried (as such a network's peers eventually do), so the commands sent
/// meanwhile are lost while Redis keeps its data.
pub struct RedisSwitch {
    pub url: String,
    hung: Arc<std::sync::atomic::AtomicBool>,
    epoch: tokio::sync::watch::Sender<u64>,
}

impl RedisSwitch {
    pub fn hang(&self) {
        self.hung.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn recover(&self) {
        self.hung.store(false, std::sync::atomic::Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }
}

pub async fn switchable_redis() -> RedisSwitch {
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    type Half = (Box<dyn AsyncRead + Send + Unpin>, Box<dyn AsyncWrite + Send + Unpin>);
    let upstream = redis_url().trim_start_matches("redis://").trim_end_matches('/').to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let hung = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (epoch, _) = tokio::sync::watch::channel(0u64);
    let (flag, epochs) = (hung.clone(), epoch.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
            let ((client_rx, client_tx), (server_rx, server_tx)) = (client.into_split(), server.into_split());
            let directions: [(Half, bool); 2] = [
                ((Box::new(client_rx), Box::new(server_tx)), true),
                ((Box::new(server_rx), Box::new(client_tx)), false),
            ];
            for ((mut from, mut to), commands) in directions {
                let (flag, mut epoch) = (flag.clone(), epochs.subscribe());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = tokio::select! {
                            read = from.read(&mut buf) => match read { Ok(n @ 1..) => n, _ => break },
                            _ = epoch.changed() => break, // recovered: reset this connection
                        };
                        if commands && flag.load(std::sync::atomic::Ordering::SeqCst) {
                            continue; // swallowed
                        }
                        if to.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    });
    RedisSwitch { url, hung, epoch }
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct Overrides {
    pub redis_url: Option<String>,
    /// A clock that moves on by this after every reading (default: frozen).
    pub clock_step: Option<TimeDelta>,
    /// `webhooks.allow_hosts` (default: `127.0.0.1`, where tests' receivers listen).
    pub allow_hosts: Option<Vec<String>>,
    /// `rate_limit.per_key` and `rate_limit.per_address` (default: the shipped defaults).
    pub rate_limit: Option<u32>,
    /// `sandbox.enabled` (default: false).
    pub sandbox: bool,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Overrides::default()).await
}

/// Creates a fresh database owned by [`OWNER_ROLE`], migrates it as the owner (granting
/// [`RUNTIME_ROLE`] its privileges, as `mash-triage migrate` does), starts the app on port 0 as
/// the runtime role and issues keys.
pub async fn spawn_app_with(overrides: Overrides) -> TestApp {
    let db_name = format!("mash_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url()).await.expect("PostgreSQL for tests (MASH_TEST_PG_ADMIN_URL)");
    ensure_role(&mut admin, OWNER_ROLE).await;
    ensure_role(&mut admin, RUNTIME_ROLE).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db_name} owner {OWNER_ROLE}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    let prefix = format!("mash-test:{}:", uuid::Uuid::new_v4().simple());
    let own_redis = overrides.redis_url.is_none();
    let settings = Settings::from_figment(
        &Figment::new()
            .merge(Toml::string(DEFAULT_CONFIG))
            .merge(Serialized::global("database.url", database_url_as(RUNTIME_ROLE, &db_name)))
            .merge(Serialized::global("database.migrate_url", database_url_as(OWNER_ROLE, &db_name)))
            .merge(Serialized::global("database.acquire_timeout_ms", 2000))
            .merge(Serialized::global("redis.url", overrides.redis_url.unwrap_or_else(redis_url)))
            .merge(Serialized::global("redis.key_prefix", prefix))
            .merge(Serialized::global("redis.timeout_ms", 1000))
            .merge(Serialized::global("http.listen", "127.0.0.1:0"))
            .merge(Serialized::global("http.shutdown_grace_seconds", 10))
            // Every scrape reads the gauges afresh: tests change the state between scrapes.
            .merge(Serialized::global("metrics.cache_seconds", 0))
            .merge(Serialized::global(
                "webhooks.allow_hosts",
                overrides.allow_hosts.unwrap_or_else(|| vec!["127.0.0.1".into()]),
            )),
    )
    .unwrap();
    let mut settings = settings;
    if let Some(limit) = overrides.rate_limit {
        (settings.rate_limit.per_key, settings.rate_limit.per_address) = (limit, limit);
    }
    settings.sandbox.enabled = overrides.sandbox;
    let owner = db::connect_owner(&settings.database).await.unwrap();
    let runtime = db::runtime_role(&settings.database).unwrap();
    assert_eq!(runtime.as_deref(), Some(RUNTIME_ROLE));
    db::migrate(&owner, runtime.as_deref()).await.unwrap();

    let clock = Arc::new(match overrides.clock_step {
        Some(step) => ManualClock::ticking(Utc::now(), step),
        None => ManualClock::new(Utc::now()),
    });
    let state = AppState::new(settings, clock.clone()).unwrap();
    // What every process does at start-up: mark the database live or sandbox.
    sandbox::service::check_database(&state).await.unwrap();
    // What a worker does at start-up: seed the (empty) index, which marks it complete. A Redis
    // made to fail is left alone (its first failure would open the breaker before the test).
    if own_redis {
        let mut conn = state.db.acquire().await.unwrap();
        timer::reseed(&mut conn, &state.redis).await.unwrap();
    }
    let shutdown = CancellationToken::new();
    let (addr, server) = app::bind(state.clone(), "127.0.0.1:0".parse().unwrap(), shutdown.clone()).await.unwrap();
    let server = tokio::spawn(server);
    let (metrics_addr, metrics_server) =
        app::bind_metrics(state.clone(), "127.0.0.1:0".parse().unwrap(), shutdown.clone()).await.unwrap();
    tokio::spawn(metrics_server);

    let st = &*state;
    let agency = async |name: &str, kind| {
        let id = service::create_agency(st, name, kind).await.unwrap();
        TestAgency { id: id.to_string(), key: service::create_agency_key(st, id).await.unwrap().secret }
    };
    let police = agency("Test Police", AgencyKind::Police).await;
    let school = agency("Test School", AgencyKind::School).await;
    let health = agency("Test Health", AgencyKind::Health).await;
    let staff = async |role| service::create_staff_with_key(st, &format!("Test {role}"), role).await.unwrap().1.secret;

    TestApp {
        base: format!("http://{addr}"),
        addr,
        metrics_addr,
        practitioner: staff(Role::Practitioner).await,
        manager: staff(Role::Manager).await,
        auditor: staff(Role::Auditor).await,
        admin: staff(Role::Admin).await,
        police,
        school,
        health,
        state,
        clock,
        db_name,
        owner,
        http: reqwest::Client::new(),
        shutdown,
        server,
    }
}

impl TestApp {
    /// The version of the policy the service triages under.
    pub fn policy_version(&self) -> String {
        self.state.policy.version.clone()
    }

    /// The `/metrics` text from the monitoring listener.
    pub async fn scrape(&self) -> String {
        let resp = self.http.get(format!("http://{}/metrics", self.metrics_addr)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        resp.text().await.unwrap()
    }
}

/// The value of the one sample of `name` in a scrape whose labels include every pair of
/// `labels` (0 when there is none; panics when several match).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            (metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
                .then(|| value.parse().unwrap())
        })
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} matches {} series", matching.len());
    matching.first().copied().unwrap_or(0.0)
}

/// What one round of background work did.
pub use mash_triage::app::PendingWork;

// The callers.
impl TestApp {
    /// A caller with `key`: extra staff or agency keys made in a test.
    pub fn caller(&self, key: &str) -> Caller {
        Caller::new(self.http.clone(), self.base.clone(), Some(key.to_owned()), None)
    }

    /// A caller with no key.
    pub fn anonymous(&self) -> Caller {
        Caller::new(self.http.clone(), self.base.clone(), None, None)
    }

    fn agency_caller(&self, agency: &TestAgency) -> Caller {
        Caller::new(self.http.clone(), self.base.clone(), Some(agency.key.clone()), Some(agency.id.clone()))
    }

    /// The police agency.
    pub fn police(&self) -> Caller {
        self.agency_caller(&self.police)
    }

    /// The school agency.
    pub fn school(&self) -> Caller {
        self.agency_caller(&self.school)
    }

    /// The health agency.
    pub fn health(&self) -> Caller {
        self.agency_caller(&self.health)
    }

    /// The agency of `kind` (as the triage cases name it).
    pub fn agency(&self, kind: &str) -> Caller {
        match kind {
            "police" => self.police(),
            "school" => self.school(),
            "health" => self.health(),
            other => panic!("no test agency of kind {other}"),
        }
    }

    pub fn practitioner(&self) -> Caller {
        self.caller(&self.practitioner)
    }

    pub fn manager(&self) -> Caller {
        self.caller(&self.manager)
    }

    pub fn auditor(&self) -> Caller {
        self.caller(&self.auditor)
    }

    pub fn admin(&self) -> Caller {
        self.caller(&self.admin)
    }

    /// Every member of staff: practitioner, manager, auditor, admin.
    pub fn all_staff(&self) -> [Caller; 4] {
        [self.practitioner(), self.manager(), self.auditor(), self.admin()]
    }

    /// The service's base URL (`http://127.0.0.1:<port>`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The secret of the staff key of `role` (for signing in to the console).
    pub fn staff_key(&self, role: Role) -> &str {
        match role {
            Role::Practitioner => &self.practitioner,
            Role::Manager => &self.manager,
            Role::Auditor => &self.auditor,
            Role::Admin => &self.admin,
        }
    }

    /// A group-commit writer of the app's own state, as intake's route holds one.
    pub fn coalescer(&self) -> intake::service::Coalescer {
        intake::service::Coalescer::new(Arc::clone(&self.state))
    }

    /// The police agency as intake sees it once its key is checked (checked now, so that later
    /// submissions need no key lookup).
    pub async fn police_principal(&self) -> AgencyPrincipal {
        service::authenticate(&self.state, &self.police.key).await.unwrap().require_agency().unwrap()
    }

    /// `contacts` submitted by `agency` to `coalescer` all at once, as intake's route submits
    /// them but without HTTP or the key lookup: each one's outcome, in order.
    pub async fn submit_together(
        &self,
        coalescer: &intake::service::Coalescer,
        agency: &AgencyPrincipal,
        contacts: &[Value],
    ) -> Vec<Result<u16, intake::IntakeError>> {
        let today = intake::Today { date: self.today(), now: self.now() };
        let submissions = contacts.iter().map(|contact| async move {
            let contact = intake::validate::parse_new_contact(contact, today).expect("a valid contact");
            intake::service::submit_contact(&self.state, Some(coalescer), agency, &contact, None)
                .await
                .map(|submitted| submitted.status())
        });
        futures_util::future::join_all(submissions).await
    }

    /// The secret of the police agency's key.
    pub fn police_key(&self) -> &str {
        &self.police.key
    }

    /// Another manager, with a key of their own.
    pub async fn add_manager(&self, name: &str) -> Caller {
        let (_, key) = service::create_staff_with_key(&self.state, name, Role::Manager).await.unwrap();
        self.caller(&key.secret)
    }

    /// Another practitioner, with a key of their own.
    pub async fn add_practitioner(&self, name: &str) -> Caller {
        let (_, key) = service::create_staff_with_key(&self.state, name, Role::Practitioner).await.unwrap();
        self.caller(&key.secret)
    }
}

// Time and the stores.
impl TestApp {
    /// The app's clock reading.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in Europe/London by the app's clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.today_local()
    }

    /// Moves the app's clock to `instant`.
    pub fn set_time(&self, instant: DateTime<Utc>) {
        self.clock.set(instant);
    }

    /// Moves the app's clock on by `delta`.
    pub fn advance_time(&self, delta: TimeDelta) {
        self.clock.advance(delta);
    }

    /// The app's own pool, connected as the runtime role.
    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    /// The app's cache of key lookups.
    pub fn key_cache(&self) -> &mash_triage::cache::Revocable {
        &self.state.keys
    }

    /// The app's database settings.
    pub fn database_settings(&self) -> &mash_triage::config::DatabaseSettings {
        &self.state.settings.database
    }

    /// A pool connected as the tables' owner.
    pub fn owner_db(&self) -> &PgPool {
        &self.owner
    }

    /// The URL the app serves with (the runtime role), for the binary's `DATABASE_URL`.
    pub fn database_url(&self) -> String {
        database_url_as(RUNTIME_ROLE, &self.db_name)
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db()).await.unwrap()
    }

    /// The one value `sql` selects with `$1` bound to `param` (a contact id, a role).
    pub async fn value<T>(&self, sql: &'static str, param: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).bind(param).fetch_one(self.db()).await.unwrap()
    }

    /// Every value `sql` selects.
    pub async fn values<T>(&self, sql: &'static str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_all(self.db()).await.unwrap()
    }
}

// Background work, once, at the app's clock.
impl TestApp {
    /// Everything the background workers would do now, in their order: expire lapsed claims,
    /// fire the due ladder steps, send the due webhook deliveries.
    pub async fn run_pending_work(&self) -> PendingWork {
        app::run_pending_work(&self.state).await.unwrap()
    }

    /// Returns lapsed claims to their queues; how many.
    pub async fn expire_claims(&self) -> usize {
        worklist::service::expire_claims(&self.state).await.unwrap()
    }

    /// Fires the ladder steps due now (from the Redis index, then the PostgreSQL sweep); how many.
    pub async fn fire_due_steps(&self) -> usize {
        self.worker().fire_due_steps().await
    }

    /// Sends the webhook deliveries due now, once each; how many were delivered.
    pub async fn deliver_webhooks(&self) -> usize {
        webhook::service::deliver_due(&self.state).await.unwrap()
    }
}

/// A ladder worker: this app's, or another process's with its own pools (see
/// [`TestApp::another_worker`]).
pub struct Worker {
    state: Arc<AppState>,
}

impl Worker {
    /// As [`TestApp::fire_due_steps`].
    pub async fn fire_due_steps(&self) -> usize {
        worker::run_pending_work(&self.state).await.unwrap()
    }

    /// Fires these claimed steps as due at `now`; how many fired.
    pub async fn fire_claimed(&self, claimed: &ClaimedSteps, now: DateTime<Utc>) -> usize {
        worker::fire_batch(&self.state, &claimed.0, now).await.unwrap()
    }
}

/// Ladder steps claimed from the Redis index.
pub struct ClaimedSteps(Vec<(ClockId, String)>);

impl ClaimedSteps {
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

// The ladder's internals, for the tests of races, crashes and lost indexes.
impl TestApp {
    /// The app's own ladder worker.
    pub fn worker(&self) -> Worker {
        Worker { state: self.state.clone() }
    }

    /// The start-up check of a process on this app's database with `sandbox.enabled` as given:
    /// `Err` with the refusal's message.
    pub async fn deployment_check(&self, sandbox_enabled: bool) -> Result<(), String> {
        let mut settings = (*self.state.settings).clone();
        settings.sandbox.enabled = sandbox_enabled;
        let state = AppState::new(settings, self.clock.clone()).unwrap();
        sandbox::service::check_database(&state).await.map_err(|e| e.to_string())
    }

    /// A second worker process: its own pools and Redis connection, the same stores and clock.
    pub fn another_worker(&self) -> Worker {
        Worker { state: AppState::new((*self.state.settings).clone(), self.clock.clone()).unwrap() }
    }

    /// Claims (leases) up to `limit` steps due by `now` from the index, as a worker does.
    pub async fn claim_due_steps(&self, now: DateTime<Utc>, limit: usize, lease: TimeDelta) -> ClaimedSteps {
        match timer::claim(&self.state.redis, now, limit, lease).await.unwrap() {
            timer::Claim::Steps(steps) => ClaimedSteps(steps),
            timer::Claim::IndexLost => panic!("the index is not seeded"),
        }
    }

    /// How many steps the Redis index holds.
    pub async fn ladder_index_len(&self) -> usize {
        timer::len(&self.state.redis).await.unwrap()
    }

    /// Removes this app's ladder index from Redis but not the marker that says it is complete,
    /// as an eviction of that one key would: nothing tells the workers, so only the PostgreSQL
    /// sweep and the periodic re-seed put it right.
    pub async fn lose_ladder_index(&self) {
        let redis = &self.state.redis;
        let mut conn = redis.connection().await.unwrap();
        let _: () = redis::cmd("DEL").arg(redis.key("ladder:due")).query_async(&mut conn).await.unwrap();
    }

    /// Removes every key of this app from Redis, as a restart without persistence would (other
    /// runs' keys on the shared server stay).
    pub async fn lose_redis_data(&self) {
        let redis = &self.state.redis;
        let mut conn = redis.connection().await.unwrap();
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}*", redis.prefix())).query_async(&mut conn).await.unwrap();
        assert!(!keys.is_empty(), "the app had data in Redis");
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
    }

    /// Re-seeds the index from PostgreSQL; how many steps.
    pub async fn reseed_ladder_index(&self) -> usize {
        let mut conn = self.db().acquire().await.unwrap();
        timer::reseed(&mut conn, &self.state.redis).await.unwrap()
    }

    /// How many pending steps are recorded as failing to fire (what monitoring alerts on).
    pub async fn failing_steps(&self) -> i64 {
        worker::failing_steps(&self.state).await.unwrap()
    }

    /// How many advisory locks are held in this app's database (by any session).
    pub async fn advisory_locks_held(&self) -> i64 {
        self.count(
            "select count(*) from pg_locks where locktype = 'advisory'
              and database = (select oid from pg_database where datname = current_database())",
        )
        .await
    }

    /// What this app's Redis circuit breaker knows.
    pub fn redis_health(&self) -> mash_triage::redis_store::RedisHealth {
        self.state.redis.health()
    }

    /// Re-seeds unless another replica holds the re-seed lock (then `None`).
    pub async fn reseed_ladder_index_if_free(&self) -> Option<usize> {
        timer::reseed_if_free(self.db(), &self.state.redis).await.unwrap()
    }

    /// Starts a re-seed and abandons it after `after` (a cancelled task, a shutdown), as a
    /// worker that is stopped midway would; whether it finished.
    pub async fn abandon_reseed_after(&self, after: std::time::Duration) -> bool {
        tokio::time::timeout(after, timer::reseed_if_free(self.db(), &self.state.redis)).await.is_ok()
    }

    /// Stops the contact's decision clock as recording an outcome at `at` does (the system acting),
    /// and indexes the steps that changed (the feedback clock's).
    pub async fn stop_decision_clock(&self, contact_id: &str, at: DateTime<Utc>) {
        let id: uuid::Uuid = contact_id.parse().unwrap();
        let mut tx = self.db().begin().await.unwrap();
        let scheduled = clocks::service::stop_clock(
            &mut tx,
            &self.state.policy,
            &Actor::system(),
            id.into(),
            "decision",
            "outcome_recorded",
            at,
            Some("feedback"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        timer::schedule(&self.state.redis, &scheduled.scheduled).await.unwrap();
    }

    /// The time by a clock aligned to the database server's.
    pub async fn aligned_clock_now(&self) -> DateTime<Utc> {
        let clock = AlignedClock::default();
        clock.align(self.db()).await.unwrap();
        clock.now()
    }
}

// The spec.
impl TestApp {
    /// The OpenAPI document the code generates.
    /// Whether another replica (its own limiter, the same Redis) would let `key` send a request now.
    pub async fn another_replica_allows(&self, key: &str) -> bool {
        let limiter = mash_triage::ratelimit::RateLimiter::new(self.state.settings.rate_limit.clone());
        let caller = mash_triage::ratelimit::Caller::key(key);
        limiter.check(&self.state.redis, &caller, self.now().timestamp_millis()).await.allowed
    }

    pub fn generated_openapi(&self) -> String {
        mash_triage::api::openapi_json(&self.state)
    }

    /// Whether the documented request schema accepts `contact` as the validator outputs it
    /// (panics if the validator refuses it).
    pub fn schema_accepts_validated(&self, contact: &Value) -> bool {
        let today = mash_triage::intake::Today { date: self.today(), now: self.now() };
        let parsed = mash_triage::intake::validate::parse_new_contact(contact, today).unwrap();
        mash_triage::api::intake::as_request(&parsed).is_some()
    }
}
