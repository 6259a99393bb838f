//! The run root: starts what a process runs, from its role, and stops it all on one signal.
//!
//! A process is `serve` (the HTTP API, plus the background work when `worker.in_serve` is set)
//! or `worker` (the background work only). The background work is:
//! - **clock alignment**: keeps the process's clock aligned to PostgreSQL's (the one authority);
//! - **ladder**: fires due escalation-ladder steps (the Redis index, then a PostgreSQL sweep);
//! - **re-seed**: rebuilds the Redis index from PostgreSQL every minute (one replica at a time;
//!   the ladder also re-seeds at once when it finds the index lost);
//! - **claim expiry**: returns contacts whose claim lapsed to their queues;
//! - **webhook delivery**: sends due deliveries (its own loop: a hanging receiver never delays
//!   the ladder);
//! - **housekeeping**: forgets `Idempotency-Key`s older than a day;
//! - **sandbox test clocks** (sandbox only): fires due steps and sends due deliveries for each
//!   agency whose test clock has moved, on its own time.
//!
//! Before any of it, the database's deployment mark is checked against `sandbox.enabled`.
//!
//! Each runs as a named task under one [`CancellationToken`]. SIGTERM or SIGINT cancels it: the
//! HTTP server stops accepting and drains in-flight requests (up to `http.shutdown_grace_seconds`),
//! the loops finish their round. A task that panics, or ends while the process should be running,
//! is logged by name and cancels everything, and [`run`] returns an error, so the process exits
//! non-zero and its supervisor (Kubernetes) restarts it instead of a half-working process staying up.
//!
//! [`run_pending_work`] runs one round of every background job at the current clock, for tests
//! and tools that step time by hand.

use std::{collections::HashMap, io, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use futures_util::{FutureExt as _, future::BoxFuture};
use poem::listener::{Acceptor, Listener, TcpListener};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::authority::AlignedClock,
    clocks::{timer, worker},
    config::Settings,
    intake, sandbox,
    state::AppState,
    telemetry, webhook, worklist,
};

/// What a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRole {
    /// The HTTP API; with `worker.in_serve`, the background work too.
    Serve,
    /// The background work only (the Helm worker Deployment).
    Worker,
}

/// How often claim expiry and webhook delivery run a round.
const ROUND_EVERY: Duration = Duration::from_secs(1);
/// How often expired idempotency keys are forgotten.
const HOUSEKEEPING_EVERY: Duration = Duration::from_mins(10);
/// How long the loops get to finish their round after shutdown is signalled.
const LOOP_GRACE: Duration = Duration::from_secs(15);

/// Runs a process of `role` until SIGTERM or SIGINT, or until one of its tasks fails.
pub async fn run(role: ProcessRole, settings: Settings) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&settings.telemetry)?;
    let listen = settings.http.listen;
    // Serving and the ladder take their time from the database: one authority for every replica.
    let aligned = Arc::new(AlignedClock::default());
    let state = AppState::new(settings, aligned.clone())?;
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())?;
    aligned.align_at_start(&state.db).await;
    check_deployment(&state).await?;

    let mut tasks = Tasks::new(shutdown.clone());
    tasks.spawn("clock alignment", {
        let (db, shutdown) = (state.db.clone(), shutdown.clone());
        async move {
            aligned.keep_aligned(db, shutdown).await;
            Ok(())
        }
    });
    let background = match role {
        ProcessRole::Serve => state.settings.worker.in_serve,
        ProcessRole::Worker => true,
    };
    if background {
        // The loops start once the database holds this build's migrations (one check, shared).
        let schema = schema_gate(state.clone(), shutdown.clone()).boxed().shared();
        for (name, task) in background_tasks(&state, &shutdown) {
            let schema = schema.clone();
            tasks.spawn(name, async move { if schema.await { task.await } else { Ok(()) } });
        }
    }
    // Every process is scraped: `serve` for intake and HTTP, `worker` for the ladder.
    let metrics_listen = state.settings.metrics.listen;
    let (metrics_addr, metrics_server) = bind_metrics(state.clone(), metrics_listen, shutdown.clone())
        .await
        .with_context(|| format!("cannot listen on {metrics_listen} (metrics.listen)"))?;
    tracing::info!(addr = %metrics_addr, "serving metrics");
    tasks.spawn("metrics", async move { Ok(metrics_server.await?) });
    if role == ProcessRole::Serve {
        let (addr, server) = bind(state.clone(), listen, shutdown.clone())
            .await
            .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
        tracing::info!(%addr, "listening");
        tasks.spawn("http", async move { Ok(server.await?) });
    }
    tracing::info!(?role, background, "started");
    let result = tasks.supervise().await;
    tracing::info!("stopped");
    state.metrics.shutdown();
    telemetry.shutdown();
    result
}

/// How often a process whose database lacks its build's migrations looks again.
const SCHEMA_RECHECK: Duration = Duration::from_secs(1);
/// How often it says so in the log while it waits.
const SCHEMA_WARN_EVERY: Duration = Duration::from_mins(1);

/// Waits until the database holds every migration this build embeds
/// (`db::schema_is_current`); `false` if shutdown came first. Background work against an older
/// schema would fail statement by statement: ladder steps recorded as failing and retried
/// minutes later, deliveries put off. A database that does not answer holds the loops too (they
/// could do nothing without it, and it may come back with the previous release's schema).
/// Waiting costs one query once `migrate` has run, the usual order.
async fn schema_gate(state: Arc<AppState>, shutdown: CancellationToken) -> bool {
    let mut warned: Option<std::time::Instant> = None;
    loop {
        if shutdown.is_cancelled() {
            return false;
        }
        let current = crate::db::schema_is_current(&state.db).await;
        if matches!(current, Ok(true)) {
            if warned.is_some() {
                tracing::info!("the database now holds this build's migrations; background work starts");
            }
            return true;
        }
        if warned.is_none_or(|at| at.elapsed() >= SCHEMA_WARN_EVERY) {
            if let Err(err) = current {
                tracing::warn!(error = %err, "the database does not answer; background work waits for it");
            } else {
                tracing::warn!(
                    "the database lacks migrations of this build; background work waits for `mash-triage migrate`"
                );
            }
            warned = Some(std::time::Instant::now());
        }
        sleep_or_stop(&shutdown, SCHEMA_RECHECK).await;
    }
}

/// Checks the database's deployment mark against `sandbox.enabled` before anything runs. A
/// sandbox must be sure (it refuses to start without the check); a live process whose database
/// is down starts anyway (it reports not-ready and takes contacts once the database is back),
/// and a database it could not check is checked at the next start.
async fn check_deployment(state: &AppState) -> anyhow::Result<()> {
    match tokio::time::timeout(Duration::from_secs(10), sandbox::service::check_database(state)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) if err.downcast_ref::<sqlx::Error>().is_none() => Err(err),
        _ if state.settings.sandbox.enabled => {
            anyhow::bail!("sandbox.enabled: could not check that the database is not live (is it up?)")
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "could not check the database's deployment mark; starting anyway");
            Ok(())
        }
        Err(_) => {
            tracing::warn!("the database did not answer the deployment check in time; starting anyway");
            Ok(())
        }
    }
}

/// A background loop: one round, then the pause the round asks for, until shutdown.
type Loop = BoxFuture<'static, anyhow::Result<()>>;

fn repeat<F, Fut>(state: &Arc<AppState>, shutdown: &CancellationToken, round: F) -> Loop
where
    F: Fn(Arc<AppState>) -> Fut + Send + 'static,
    Fut: Future<Output = Duration> + Send,
{
    let (state, shutdown) = (state.clone(), shutdown.clone());
    Box::pin(async move {
        while !shutdown.is_cancelled() {
            let pause = round(state.clone()).await;
            sleep_or_stop(&shutdown, pause).await;
        }
        Ok(())
    })
}

/// The background loops, each until `shutdown`.
pub fn background_tasks(state: &Arc<AppState>, shutdown: &CancellationToken) -> Vec<(&'static str, Loop)> {
    let ladder = repeat(state, shutdown, async |state| match worker::run_pending_work(&state).await {
        Ok(_) => {
            state.metrics.worker_round(state.clock.now().timestamp());
            worker::next_wake(&state).await
        }
        Err(err) => {
            tracing::warn!(error = %err, "ladder round failed");
            worker::POLL
        }
    });
    let reseed = repeat(state, shutdown, async |state| {
        let started = std::time::Instant::now();
        match timer::reseed_if_free(&state.db, &state.redis).await {
            Ok(n) => {
                tracing::debug!(steps = ?n, "re-seeded the ladder index (None: another replica was)");
                if n.is_some() {
                    state.metrics.reseed(true, started.elapsed().as_secs_f64());
                }
                worker::RESEED_EVERY
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not re-seed the ladder index");
                state.metrics.reseed(false, started.elapsed().as_secs_f64());
                ROUND_EVERY * 5
            }
        }
    });
    let claims = repeat(state, shutdown, async |state| {
        if let Err(err) = worklist::service::expire_claims(&state).await {
            tracing::warn!(error = %err, "could not expire claims");
        }
        ROUND_EVERY
    });
    let deliveries = repeat(state, shutdown, async |state| {
        if let Err(err) = webhook::service::deliver_due(&state).await {
            tracing::warn!(error = %err, "webhook delivery round failed");
        }
        ROUND_EVERY
    });
    let housekeeping = repeat(state, shutdown, async |state| {
        match intake::service::prune_idempotency_keys(&state).await {
            Ok(n) => tracing::debug!(pruned = n, "forgot expired idempotency keys"),
            Err(err) => tracing::warn!(error = %err, "could not prune idempotency keys"),
        }
        HOUSEKEEPING_EVERY
    });
    let mut loops = vec![
        ("ladder", ladder),
        ("re-seed", reseed),
        ("claim expiry", claims),
        ("webhook delivery", deliveries),
        ("housekeeping", housekeeping),
    ];
    if state.settings.sandbox.enabled {
        let test_clocks = repeat(state, shutdown, async |state| {
            if let Err(err) = sandbox::service::run_due(&state).await {
                tracing::warn!(error = %err, "sandbox test-clock round failed");
            }
            ROUND_EVERY
        });
        loops.push(("sandbox test clocks", test_clocks));
    }
    loops
}

async fn sleep_or_stop(shutdown: &CancellationToken, pause: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(pause) => {}
    }
}

/// What one round of [`run_pending_work`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingWork {
    pub claims_expired: usize,
    pub steps_fired: usize,
    pub webhooks_delivered: usize,
    /// In a sandbox: steps fired and deliveries made on agencies' test clocks.
    pub sandbox: (usize, usize),
}

/// One round of every background job at the state's clock: expire lapsed claims, fire the due
/// ladder steps, send the due webhook deliveries. What the loops do, without the loops.
pub async fn run_pending_work(state: &AppState) -> anyhow::Result<PendingWork> {
    Ok(PendingWork {
        claims_expired: worklist::service::expire_claims(state).await?,
        steps_fired: worker::run_pending_work(state).await?,
        webhooks_delivered: webhook::service::deliver_due(state).await?,
        sandbox: sandbox::service::run_due(state).await?,
    })
}

/// Named tasks under one shutdown token; see the module docs for what failure means.
pub struct Tasks {
    set: JoinSet<anyhow::Result<()>>,
    names: HashMap<tokio::task::Id, &'static str>,
    shutdown: CancellationToken,
}

impl Tasks {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { set: JoinSet::new(), names: HashMap::new(), shutdown }
    }

    /// Starts `task` under `name`.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        let handle = self.set.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Waits for every task. Returns an error naming the first task that panicked, failed, or
    /// ended before shutdown was signalled; such a task cancels the others first.
    pub async fn supervise(mut self) -> anyhow::Result<()> {
        let mut failure: Option<anyhow::Error> = None;
        loop {
            // Once shutting down, the loops get a grace period; a task still running then is
            // abandoned (the process is exiting anyway).
            let next = if self.shutdown.is_cancelled() {
                let Ok(next) = tokio::time::timeout(LOOP_GRACE, self.set.join_next_with_id()).await else {
                    tracing::warn!(tasks = self.set.len(), "tasks did not stop in time");
                    self.set.abort_all();
                    break;
                };
                next
            } else {
                self.set.join_next_with_id().await
            };
            let Some(joined) = next else { break };
            let (name, outcome) = match joined {
                Ok((id, result)) => (self.name(id), result.err().map(|e| format!("failed: {e:#}"))),
                Err(err) => (
                    self.name(err.id()),
                    Some(if err.is_panic() { "panicked".to_owned() } else { "was cancelled".to_owned() }),
                ),
            };
            let problem = match outcome {
                Some(problem) => Some(problem),
                None if !self.shutdown.is_cancelled() => Some("ended before shutdown".to_owned()),
                None => None,
            };
            if let Some(problem) = problem {
                tracing::error!(task = name, problem = %problem, "a task stopped; stopping the process");
                failure.get_or_insert_with(|| anyhow::anyhow!("task `{name}` {problem}"));
                self.shutdown.cancel();
            }
        }
        failure.map_or(Ok(()), Err)
    }

    fn name(&self, id: tokio::task::Id) -> &'static str {
        self.names.get(&id).copied().unwrap_or("unnamed")
    }
}

/// Binds `listen` and returns the bound address and the server future, which completes after
/// `shutdown` is cancelled and in-flight requests have drained.
pub async fn bind(
    state: Arc<AppState>,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> io::Result<(SocketAddr, impl Future<Output = io::Result<()>>)> {
    let grace = Duration::from_secs(state.settings.http.shutdown_grace_seconds);
    // The key cache is used only while this process is told of key changes: the listener runs
    // as long as the server does.
    let keys = tokio::spawn(crate::auth::service::follow_key_changes(state.clone(), shutdown.clone()));
    let (addr, server) =
        serve_on(listen, crate::api::routes(state), shutdown, grace).await.inspect_err(|_| keys.abort())?;
    Ok((addr, async move {
        let outcome = server.await;
        keys.abort();
        outcome
    }))
}

/// Binds the monitoring listener (`metrics.listen`) and returns its address and the server,
/// which stops at `shutdown` (a scrape is short: a second's grace).
pub async fn bind_metrics(
    state: Arc<AppState>,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> io::Result<(SocketAddr, impl Future<Output = io::Result<()>>)> {
    serve_on(listen, crate::api::metrics_routes(state), shutdown, Duration::from_secs(1)).await
}

/// Binds `listen` for `routes`: the bound address (port 0 picks one) and the server future.
async fn serve_on(
    listen: SocketAddr,
    routes: impl poem::Endpoint + 'static,
    shutdown: CancellationToken,
    grace: Duration,
) -> io::Result<(SocketAddr, impl Future<Output = io::Result<()>>)> {
    let acceptor = TcpListener::bind(listen).into_acceptor().await?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .ok_or_else(|| io::Error::other("listener has no socket address"))?;
    let server = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
        routes,
        shutdown.cancelled_owned(),
        Some(grace),
    );
    Ok((local, server))
}

/// Cancels `token` on SIGTERM (Kubernetes) or SIGINT (Ctrl-C).
pub fn cancel_on_signal(token: CancellationToken) -> io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "shutting down"),
        }
        token.cancel();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn until_shutdown(shutdown: CancellationToken) -> anyhow::Result<()> {
        shutdown.cancelled().await;
        Ok(())
    }

    #[tokio::test]
    async fn a_task_that_panics_is_named_and_stops_every_other_task() {
        let shutdown = CancellationToken::new();
        let mut tasks = Tasks::new(shutdown.clone());
        tasks.spawn("steady", until_shutdown(shutdown.clone()));
        tasks.spawn("faulty", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            panic!("boom");
        });
        let err = tokio::time::timeout(Duration::from_secs(5), tasks.supervise())
            .await
            .expect("supervise returns once the panic has stopped the others")
            .expect_err("a panic is a failure");
        assert_eq!(err.to_string(), "task `faulty` panicked");
        assert!(shutdown.is_cancelled(), "the other tasks were told to stop");
    }

    #[tokio::test]
    async fn a_task_that_ends_early_or_fails_stops_the_process() {
        for (task, expected) in [
            (Box::pin(async { Ok(()) }) as Loop, "task `loop` ended before shutdown"),
            (Box::pin(async { anyhow::bail!("no database") }), "task `loop` failed: no database"),
        ] {
            let shutdown = CancellationToken::new();
            let mut tasks = Tasks::new(shutdown.clone());
            tasks.spawn("steady", until_shutdown(shutdown.clone()));
            tasks.spawn("loop", task);
            let err = tasks.supervise().await.expect_err("an early end is a failure");
            assert_eq!(err.to_string(), expected);
            assert!(shutdown.is_cancelled());
        }
    }

    #[tokio::test]
    async fn tasks_that_stop_on_shutdown_are_a_clean_exit() {
        let shutdown = CancellationToken::new();
        let mut tasks = Tasks::new(shutdown.clone());
        tasks.spawn("a", until_shutdown(shutdown.clone()));
        tasks.spawn("b", until_shutdown(shutdown.clone()));
        shutdown.cancel();
        tasks.supervise().await.expect("a clean shutdown");
    }
}
