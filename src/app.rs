//! Composition root: the shared state, the HTTP server, and one shutdown signal for everything.
//!
//! Shutdown: SIGTERM or SIGINT cancels a [`CancellationToken`]; the server stops accepting,
//! lets in-flight requests finish (up to `http.shutdown_grace_seconds`), and returns.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use poem::listener::{Acceptor, Listener, TcpListener};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    clock::SharedClock,
    config::{PolicySettings, Settings},
    db,
    redis_store::RedisStore,
    triage::{Policy, policy::DEFAULT_POLICY},
};

/// The policy named by `policy.file`, or the shipped default when it is empty.
pub fn load_policy(settings: &PolicySettings) -> anyhow::Result<Policy> {
    let (text, source) = match settings.file.as_deref() {
        None | Some("") => (DEFAULT_POLICY.to_owned(), "the built-in default policy".to_owned()),
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read policy.file {path}: {e}"))?,
            format!("policy.file {path}"),
        ),
    };
    Policy::parse(&text).map_err(|errors| anyhow::anyhow!("{source} is invalid: {errors}"))
}

/// Everything a request or worker needs, shared behind an `Arc`.
pub struct AppState {
    /// PostgreSQL, the system of record.
    pub db: PgPool,
    /// Redis, index and coordinator.
    pub redis: RedisStore,
    /// The one source of time.
    pub clock: SharedClock,
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The hub's policy, loaded and checked at start-up; its version is on every decision.
    pub policy: Arc<Policy>,
    /// The HTTP client for webhook deliveries (a 10 s timeout per attempt).
    pub http: reqwest::Client,
}

impl AppState {
    /// State for `settings`. Connects to nothing yet: the stores are reached on first use, so
    /// the service starts (and reports not-ready) while a store is down.
    /// Fails when the policy file is missing or invalid: the service must not triage under a
    /// policy nobody checked.
    pub fn new(settings: Settings, clock: SharedClock) -> anyhow::Result<Arc<Self>> {
        let policy = Arc::new(load_policy(&settings.policy)?);
        let db = db::connect_lazy(&settings.database)?;
        let redis = RedisStore::new(&settings.redis)?;
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).user_agent("mash-triage-webhooks").build()?;
        Ok(Arc::new(Self { db, redis, clock, settings: Arc::new(settings), policy, http }))
    }
}

/// Binds `listen` and returns the bound address and the server future, which completes after
/// `shutdown` is cancelled and in-flight requests have drained.
pub async fn bind(
    state: Arc<AppState>,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> io::Result<(SocketAddr, impl Future<Output = io::Result<()>>)> {
    let acceptor = TcpListener::bind(listen).into_acceptor().await?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|addr| addr.as_socket_addr().copied())
        .ok_or_else(|| io::Error::other("listener has no socket address"))?;
    let grace = Duration::from_secs(state.settings.http.shutdown_grace_seconds);
    let server = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
        crate::api::routes(state),
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
