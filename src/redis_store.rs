//! Redis: one auto-reconnecting connection shared by the process, and the key-prefix rule.
//!
//! Redis is an index and a coordinator, never the truth: everything in it can be rebuilt from
//! PostgreSQL. Every key this service writes is built with [`RedisStore::key`], which prepends the
//! configured prefix so that environments and test runs sharing a server never touch each
//! other's keys.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;

use crate::config::RedisSettings;

/// A Redis failure.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// Redis could not be reached or did not answer in time.
    #[error("redis is unavailable")]
    Unavailable(#[source] redis::RedisError),
    /// Redis did not answer within the configured timeout.
    #[error("redis did not answer in time")]
    Timeout,
}

/// The process's handle on Redis.
pub struct RedisStore {
    client: redis::Client,
    /// Created on first use, so the service starts while Redis is down and connects when it is up.
    manager: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
}

impl RedisStore {
    /// A handle for `settings`; does not connect yet.
    pub fn new(settings: &RedisSettings) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(settings.url.expose_secret()).map_err(RedisStoreError::Unavailable)?;
        Ok(Self {
            client,
            manager: OnceCell::new(),
            prefix: settings.key_prefix.clone(),
            timeout: Duration::from_millis(settings.timeout_ms),
        })
    }

    /// The full key for `suffix` under this service's prefix.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shared connection, connecting on first use.
    pub async fn connection(&self) -> Result<ConnectionManager, RedisStoreError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(1);
                // The connect itself can hang on a black-holed address: bound it.
                tokio::time::timeout(self.timeout, ConnectionManager::new_with_config(self.client.clone(), config))
                    .await
                    .map_err(|_| RedisStoreError::Timeout)?
                    .map_err(RedisStoreError::Unavailable)
            })
            .await?;
        Ok(manager.clone())
    }

    /// Checks that Redis answers.
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        let mut conn = self.connection().await?;
        let reply: String = tokio::time::timeout(self.timeout, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(|_| RedisStoreError::Timeout)?
            .map_err(RedisStoreError::Unavailable)?;
        debug_assert_eq!(reply, "PONG");
        Ok(())
    }
}
