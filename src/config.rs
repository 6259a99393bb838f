//! Typed, validated settings.
//!
//! Layers (later wins): `config/default.toml` (compiled in), the file named by `MASH_CONFIG`,
//! `MASH_<SECTION>__<KEY>` environment variables, then `DATABASE_URL`, `REDIS_URL` and
//! `MASH_LISTEN`. [`Settings::load`] fails fast with a message naming the setting at fault, and
//! never prints a secret's value (URLs may carry passwords, so they are [`SecretString`]s).

use std::net::SocketAddr;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The defaults, compiled in so the binary runs from any directory.
pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

/// All settings of the service.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// PostgreSQL.
    pub database: DatabaseSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// The HTTP server.
    pub http: HttpSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// The hub's triage policy.
    pub policy: PolicySettings,
    /// The escalation-ladder worker.
    pub worker: WorkerSettings,
    /// Outgoing webhooks.
    pub webhooks: WebhookSettings,
    /// Request rate limits.
    pub rate_limit: RateLimitSettings,
    /// The monitoring endpoint.
    pub metrics: MetricsSettings,
    /// The staff console's sessions.
    pub console: ConsoleSettings,
    /// Sandbox mode: test clocks for partners (never in production).
    pub sandbox: SandboxSettings,
}

/// A sandbox deployment (see `src/sandbox/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// Each agency gets a test clock it can move forward (`POST /v1/sandbox/clock`). The
    /// process refuses a database that holds live data, and a live process refuses a sandbox's.
    pub enabled: bool,
}

/// The staff console (see `src/console/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused this long ends (the member of staff signs in again).
    pub idle_timeout_minutes: i64,
    /// A session ends this long after sign-in, however busy.
    pub lifetime_hours: i64,
}

/// Where monitoring scrapes (see [`crate::metrics`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address of the `/metrics` listener: separate from the partner API, never exposed to it.
    pub listen: SocketAddr,
    /// How long the gauges read from PostgreSQL are reused before a scrape reads them again.
    pub cache_seconds: u64,
}

/// Request rate limits (see [`crate::ratelimit`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Enforce limits at all.
    pub enabled: bool,
    /// The window the quotas are counted over.
    pub window_seconds: u32,
    /// Requests per window for each API key (all at once, or spread out).
    pub per_key: u32,
    /// Requests per window for each address sending no key.
    pub per_address: u32,
    /// How long a check waits for Redis before this process counts on its own.
    pub redis_timeout_ms: u64,
}

/// Where webhooks may be sent (see [`crate::egress`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Destinations allowed beyond public HTTPS: exact hosts, `host:port`s or CIDRs. A list in a
    /// file; a comma-separated string in `MASH_WEBHOOKS__ALLOW_HOSTS`.
    #[serde(deserialize_with = "comma_list")]
    pub allow_hosts: Vec<String>,
}

/// A list given either as a list or as one comma-separated string (environment variables).
fn comma_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        Either::Many(v) => v,
    })
}

/// Where the ladder worker runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Run the ladder worker inside `serve` as well (several replicas are safe together).
    pub in_serve: bool,
}

/// Which policy file to triage with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// Path of the policy file; empty means the shipped default (`config/policy/default.toml`).
    pub file: Option<String>,
}

/// PostgreSQL settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection URL of the runtime role, which serves and owns nothing; may contain a password,
    /// so it is never printed.
    pub url: SecretString,
    /// Connection URL of the owner role, used only by `migrate`; empty means `url` (one role does
    /// both, and the service could then rewrite its own audit trail). `migrate` grants the user of
    /// `url` its privileges when the two users differ.
    #[serde(default)]
    pub migrate_url: Option<SecretString>,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before the store counts as unavailable.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL ends a session of the runtime role left idle inside a transaction this long
    /// (`idle_in_transaction_session_timeout`), releasing its locks; `0` never.
    pub idle_in_transaction_timeout_ms: u64,
}

impl DatabaseSettings {
    /// `migrate_url`, unless it is unset or empty.
    pub fn migrate_url(&self) -> Option<&str> {
        self.migrate_url.as_ref().map(ExposeSecret::expose_secret).filter(|url| !url.is_empty())
    }
}

/// Redis settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL; may contain a password, so it is never printed.
    pub url: SecretString,
    /// Prefix of every key this service writes; lets environments and test runs share a server.
    pub key_prefix: String,
    /// Connect and command timeout for background work (claims, the re-seed).
    pub timeout_ms: u64,
    /// The longest an HTTP request waits on Redis (the index write after a commit, the readiness
    /// report) before going on without it: the re-seed and the PostgreSQL sweep are the backstops.
    pub request_timeout_ms: u64,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Largest accepted body for a single contact.
    pub max_body_bytes: usize,
    /// Largest accepted body for a batch.
    pub max_batch_body_bytes: usize,
    /// `Retry-After` seconds when a store is unavailable.
    pub retry_after_seconds: u32,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_grace_seconds: u64,
    /// How long a key lookup may be reused at most (0: never); a change to a key, its staff
    /// member or its agency forgets every lookup on every process at once regardless.
    pub key_cache_seconds: u64,
    /// Public base URL (OpenAPI `servers`, `Location` headers).
    pub public_base_url: String,
}

/// Telemetry settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `json` or `pretty`.
    pub log_format: LogFormat,
    /// Default log filter (`RUST_LOG` overrides).
    pub log_filter: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// A setting that is missing or invalid. The message names the setting, never a secret value.
#[derive(Debug, thiserror::Error)]
#[error("configuration setting `{setting}` {problem}")]
pub struct ConfigError {
    /// Dotted name of the setting, e.g. `database.url`.
    pub setting: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    fn new(setting: &str, problem: impl Into<String>) -> Self {
        Self { setting: setting.to_owned(), problem: problem.into() }
    }
}

impl Settings {
    /// Loads settings from the default file, `MASH_CONFIG`, and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(&Self::figment())
    }

    /// The layered configuration sources, before extraction.
    pub fn figment() -> Figment {
        let mut figment = Figment::new().merge(Toml::string(DEFAULT_CONFIG));
        if let Ok(path) = std::env::var("MASH_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(Env::prefixed("MASH_").split("__").ignore(&["CONFIG", "LISTEN"]))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
            .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "redis.url".into()))
            .merge(Env::raw().only(&["MASH_LISTEN"]).map(|_| "http.listen".into()))
    }

    /// Extracts and validates settings from `figment`.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|err| {
            let setting = err.path.join(".");
            // A type error's message quotes the value it found; for a URL that may be a password.
            let problem = if setting.ends_with("url") {
                "has an invalid value".to_owned()
            } else {
                format!("is invalid: {}", err.kind)
            };
            let setting = if setting.is_empty() { "(file)".to_owned() } else { setting };
            ConfigError { setting, problem }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the values that deserialisation alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(ConfigError::new("database.url", "must be a postgres:// URL"));
        }
        if let Some(url) = self.database.migrate_url()
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new("database.migrate_url", "must be empty or a postgres:// URL"));
        }
        if !(1..=24 * 60).contains(&self.console.idle_timeout_minutes) {
            return Err(ConfigError::new("console.idle_timeout_minutes", "must be from 1 to 1440"));
        }
        if !(1..=24 * 7).contains(&self.console.lifetime_hours) {
            return Err(ConfigError::new("console.lifetime_hours", "must be from 1 to 168"));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new("database.max_connections", "must be at least 1"));
        }
        if self.database.acquire_timeout_ms == 0 {
            return Err(ConfigError::new("database.acquire_timeout_ms", "must be at least 1"));
        }
        // PostgreSQL's own limit for the setting; above it every new connection would be refused.
        if self.database.idle_in_transaction_timeout_ms > u64::from(i32::MAX.unsigned_abs()) {
            return Err(ConfigError::new("database.idle_in_transaction_timeout_ms", "must be at most 2147483647"));
        }
        let redis = self.redis.url.expose_secret();
        if !(redis.starts_with("redis://") || redis.starts_with("rediss://")) {
            return Err(ConfigError::new("redis.url", "must be a redis:// or rediss:// URL"));
        }
        let prefix = &self.redis.key_prefix;
        if prefix.is_empty() || !prefix.ends_with(':') || prefix.chars().any(char::is_whitespace) {
            return Err(ConfigError::new("redis.key_prefix", "must be non-empty, end with ':' and contain no spaces"));
        }
        if self.redis.timeout_ms == 0 {
            return Err(ConfigError::new("redis.timeout_ms", "must be at least 1"));
        }
        if self.redis.request_timeout_ms == 0 || self.redis.request_timeout_ms > self.redis.timeout_ms {
            return Err(ConfigError::new("redis.request_timeout_ms", "must be between 1 and redis.timeout_ms"));
        }
        if self.http.max_body_bytes < 1024 {
            return Err(ConfigError::new("http.max_body_bytes", "must be at least 1024"));
        }
        if self.http.max_batch_body_bytes < self.http.max_body_bytes {
            return Err(ConfigError::new("http.max_batch_body_bytes", "must be at least http.max_body_bytes"));
        }
        if self.http.key_cache_seconds > 60 {
            return Err(ConfigError::new("http.key_cache_seconds", "must be from 0 to 60"));
        }
        if self.http.retry_after_seconds == 0 {
            return Err(ConfigError::new("http.retry_after_seconds", "must be at least 1"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.telemetry.log_filter).is_err() {
            return Err(ConfigError::new(
                "telemetry.log_filter",
                "is not a valid log filter (tracing-subscriber EnvFilter syntax)",
            ));
        }
        if let Err(bad) = crate::egress::AllowList::parse(&self.webhooks.allow_hosts) {
            return Err(ConfigError::new("webhooks.allow_hosts", bad.to_string()));
        }
        let rl = &self.rate_limit;
        if rl.window_seconds == 0 || rl.per_key == 0 || rl.per_address == 0 || rl.redis_timeout_ms == 0 {
            return Err(ConfigError::new(
                "rate_limit",
                "window_seconds, per_key, per_address and redis_timeout_ms must each be at least 1",
            ));
        }
        if self.metrics.listen == self.http.listen && self.metrics.listen.port() != 0 {
            return Err(ConfigError::new(
                "metrics.listen",
                "must differ from http.listen: metrics are never served to partners",
            ));
        }
        let base = &self.http.public_base_url;
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.ends_with('/') {
            return Err(ConfigError::new("http.public_base_url", "must be an http(s) URL without a trailing slash"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Serialized;

    fn with(key: &str, value: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(
            &Figment::new().merge(Toml::string(DEFAULT_CONFIG)).merge(Serialized::global(key, value)),
        )
    }

    #[test]
    fn webhook_allow_hosts_come_as_a_list_or_a_comma_separated_string() {
        let settings = with("webhooks.allow_hosts", "mail-gw.internal, 10.0.0.0/8,relay:8025").unwrap();
        assert_eq!(settings.webhooks.allow_hosts, ["mail-gw.internal", "10.0.0.0/8", "relay:8025"]);
        let list = Figment::new()
            .merge(Toml::string(DEFAULT_CONFIG))
            .merge(Serialized::global("webhooks.allow_hosts", ["a.internal", "b.internal"]));
        assert_eq!(Settings::from_figment(&list).unwrap().webhooks.allow_hosts, ["a.internal", "b.internal"]);
        let err = with("webhooks.allow_hosts", "ok.internal,10.0.0.0/99").unwrap_err();
        assert_eq!(err.setting, "webhooks.allow_hosts");
        assert!(with("webhooks.allow_hosts", "").unwrap().webhooks.allow_hosts.is_empty());
    }

    #[test]
    fn the_default_file_is_valid() {
        let settings = Settings::from_figment(&Figment::new().merge(Toml::string(DEFAULT_CONFIG))).unwrap();
        assert_eq!(settings.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.redis.key_prefix, "mash:");
    }

    #[test]
    fn the_idle_in_transaction_limit_is_one_postgresql_accepts() {
        let limit = |ms: u64| {
            Settings::from_figment(
                &Figment::new()
                    .merge(Toml::string(DEFAULT_CONFIG))
                    .merge(Serialized::global("database.idle_in_transaction_timeout_ms", ms)),
            )
        };
        assert_eq!(limit(0).unwrap().database.idle_in_transaction_timeout_ms, 0);
        assert_eq!(limit(2_147_483_647).unwrap().database.idle_in_transaction_timeout_ms, 2_147_483_647);
        assert_eq!(limit(2_147_483_648).unwrap_err().setting, "database.idle_in_transaction_timeout_ms");
    }

    #[test]
    fn a_bad_database_url_is_named_without_echoing_it() {
        let err = with("database.url", "mysql://user:hunter2@db/x").unwrap_err();
        assert_eq!(err.setting, "database.url");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_bad_migrate_url_is_named_without_echoing_it_and_empty_means_unset() {
        let err = with("database.migrate_url", "mysql://owner:hunter2@db/x").unwrap_err();
        assert_eq!(err.setting, "database.migrate_url");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(with("database.migrate_url", "").unwrap().database.migrate_url(), None);
        let set = with("database.migrate_url", "postgres://owner@db/x").unwrap();
        assert_eq!(set.database.migrate_url(), Some("postgres://owner@db/x"));
    }

    #[test]
    fn metrics_are_never_served_on_the_partner_api_address() {
        let err = with("metrics.listen", "127.0.0.1:8080").unwrap_err();
        assert_eq!(err.setting, "metrics.listen");
        assert!(with("metrics.listen", "0.0.0.0:9464").is_ok());
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let err = with("http.listen", "not-an-address").unwrap_err();
        assert_eq!(err.setting, "http.listen");
    }

    #[test]
    fn a_key_prefix_without_colon_is_refused() {
        let err = with("redis.key_prefix", "mash").unwrap_err();
        assert_eq!(err.setting, "redis.key_prefix");
    }

    #[test]
    fn a_bad_log_filter_names_the_setting() {
        let err = with("telemetry.log_filter", "info,[[[").unwrap_err();
        assert_eq!(err.setting, "telemetry.log_filter");
    }

    #[test]
    fn an_unknown_key_in_a_section_is_refused() {
        let err = with("http.max_body_byte", "10").unwrap_err();
        assert!(err.to_string().contains("http"), "{err}");
    }
}
