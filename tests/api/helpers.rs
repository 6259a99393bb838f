//! `spawn_app()` and the `TestApp` handle.

use std::{net::SocketAddr, sync::Arc};

use chrono::Utc;
use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use mash_triage::{
    app::{self, AppState},
    auth::{AgencyKind, Role, service},
    clock::{Clock, ManualClock},
    config::{DEFAULT_CONFIG, Settings},
    db,
    id::AgencyId,
};
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// An agency with its key.
pub struct TestAgency {
    pub id: AgencyId,
    pub key: String,
}

/// A running app and the keys to call it with.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub clock: Arc<ManualClock>,
    pub db_name: String,
    pub client: reqwest::Client,
    pub police: TestAgency,
    pub school: TestAgency,
    pub health: TestAgency,
    pub practitioner: String,
    pub manager: String,
    pub auditor: String,
    pub admin: String,
    pub shutdown: CancellationToken,
    pub server: JoinHandle<std::io::Result<()>>,
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct Overrides {
    pub redis_url: Option<String>,
    /// A clock that moves on by this after every reading (default: frozen).
    pub clock_step: Option<chrono::TimeDelta>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Overrides::default()).await
}

/// Creates a fresh database, migrates it, starts the app on port 0 and issues keys.
pub async fn spawn_app_with(overrides: Overrides) -> TestApp {
    let db_name = format!("mash_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url()).await.expect("PostgreSQL for tests (MASH_TEST_PG_ADMIN_URL)");
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db_name}"))).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();

    let prefix = format!("mash-test:{}:", uuid::Uuid::new_v4().simple());
    let settings = Settings::from_figment(
        &Figment::new()
            .merge(Toml::string(DEFAULT_CONFIG))
            .merge(Serialized::global("database.url", with_database(&admin_url(), &db_name)))
            .merge(Serialized::global("database.acquire_timeout_ms", 2000))
            .merge(Serialized::global("redis.url", overrides.redis_url.unwrap_or_else(redis_url)))
            .merge(Serialized::global("redis.key_prefix", prefix))
            .merge(Serialized::global("redis.timeout_ms", 1000))
            .merge(Serialized::global("http.listen", "127.0.0.1:0"))
            .merge(Serialized::global("http.shutdown_grace_seconds", 10)),
    )
    .unwrap();
    let migrate_pool = db::connect(&settings.database).await.unwrap();
    db::MIGRATOR.run(&migrate_pool).await.unwrap();
    migrate_pool.close().await;

    let clock = Arc::new(match overrides.clock_step {
        Some(step) => ManualClock::ticking(Utc::now(), step),
        None => ManualClock::new(Utc::now()),
    });
    let state = AppState::new(settings, clock.clone()).unwrap();
    let shutdown = CancellationToken::new();
    let (addr, server) = app::bind(state.clone(), "127.0.0.1:0".parse().unwrap(), shutdown.clone()).await.unwrap();
    let server = tokio::spawn(server);

    let pool = &state.db;
    let c = clock.as_ref();
    let agency = async |name: &str, kind| {
        let id = service::create_agency(pool, c, name, kind).await.unwrap();
        TestAgency { id, key: service::create_agency_key(pool, c, id).await.unwrap().secret }
    };
    let police = agency("Test Police", AgencyKind::Police).await;
    let school = agency("Test School", AgencyKind::School).await;
    let health = agency("Test Health", AgencyKind::Health).await;
    let staff =
        async |role| service::create_staff_with_key(pool, c, &format!("Test {role}"), role).await.unwrap().1.secret;

    TestApp {
        base: format!("http://{addr}"),
        addr,
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
        client: reqwest::Client::new(),
        shutdown,
        server,
    }
}

impl TestApp {
    /// Today in Europe/London by the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today_local()
    }

    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The key of the agency of `kind` (as the triage cases name it).
    pub fn agency_key(&self, kind: &str) -> &str {
        match kind {
            "police" => &self.police.key,
            "school" => &self.school.key,
            "health" => &self.health.key,
            other => panic!("no test agency of kind {other}"),
        }
    }

    pub async fn post_contact(&self, key: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url("/v1/contacts")).bearer_auth(key).json(body).send().await.unwrap()
    }

    pub async fn get_contact(&self, key: &str, id: &str) -> reqwest::Response {
        self.client.get(self.url(&format!("/v1/contacts/{id}"))).bearer_auth(key).send().await.unwrap()
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(self.db()).await.unwrap()
    }
}

/// Asserts a problem response and returns its body.
pub async fn assert_problem(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    assert_eq!(
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "problem responses are application/problem+json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail", "code"] {
        assert!(body[field].is_string(), "problem has `{field}`: {body}");
    }
    body
}
