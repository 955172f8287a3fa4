//! Sign-in throttling, per account and per client IP.
//!
//! Each failed attempt counts against the username tried (whether or not it exists, so the
//! answer never tells) and against the client's IP. Once either reaches its limit within the
//! window, that key is locked: the first lock lasts `login_lockout_secs`, and each failure that
//! ends a lock doubles the next one, up to an hour. A locked request is refused before any
//! password is verified (argon2 is expensive: a flood must not become a CPU attack) with 429
//! `too_many_attempts` and `Retry-After`, the same answer for every username. A success clears
//! the account's count; the IP's decays with its window.
//!
//! With `redis_url` set the counts live in Redis ([`redis_store`]), so every replica sees the
//! same limits. Sign-in never depends on Redis: a call it does not answer in time counts in this
//! process instead ([`memory`]), and a lock earned that way keeps holding here after Redis is
//! back. Without `redis_url` the process's own counts are the only ones.

mod memory;
mod redis_store;

use std::time::Duration;

use memory::MemoryCounts;
use redis_store::RedisCounts;

use crate::config::Config;

/// Longest lock, however often it was earned.
const MAX_LOCK: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window: Duration,
    pub lockout: Duration,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            per_account: config.login_max_failures_per_account,
            per_ip: config.login_max_failures_per_ip,
            window: Duration::from_secs(config.login_window_secs.max(1)),
            lockout: Duration::from_secs(config.login_lockout_secs.max(1)),
        }
    }
}

/// Why a sign-in is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub retry_after: Duration,
    /// Which key is locked (`account` or `ip`), for the audit row only.
    pub by: &'static str,
}

/// `redis_url` could not be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid GATEHOUSE_REDIS_URL: {0}")]
pub struct InvalidRedisUrl(#[source] redis::RedisError);

/// How an account name is counted: any spelling of one name is one account.
fn account_name(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The lock earned after `locks` earlier ones: doubling, up to [`MAX_LOCK`].
fn lock_for(limits: Limits, locks: u32) -> Duration {
    limits
        .lockout
        .saturating_mul(1 << locks.min(12))
        .min(MAX_LOCK)
}

#[derive(Clone)]
pub struct Throttle {
    memory: MemoryCounts,
    redis: Option<RedisCounts>,
}

impl Throttle {
    /// Counts in this process only.
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            memory: MemoryCounts::new(limits),
            redis: None,
        }
    }

    /// Counts in Redis when `redis_url` is set. Opens no connection: that happens in the
    /// background, and a Redis that is down now only earns a warning. Must run inside Tokio.
    pub fn from_config(config: &Config) -> Result<Throttle, InvalidRedisUrl> {
        let limits = Limits::from_config(config);
        let url = config
            .redis_url
            .as_ref()
            .map(|u| u.expose().trim())
            .filter(|u| !u.is_empty());
        let Some(url) = url else {
            return Ok(Throttle::new(limits));
        };
        let redis = RedisCounts::new(limits, url).map_err(InvalidRedisUrl)?;
        let first = redis.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(Duration::from_secs(5), first.ping()).await {
                Ok(Ok(())) => tracing::info!("sign-in throttling is shared through redis"),
                Ok(Err(error)) => tracing::warn!(
                    %error,
                    "redis is not reachable: sign-in throttling counts per replica until it is"
                ),
                Err(_) => tracing::warn!(
                    "redis did not answer within 5 s: sign-in throttling counts per replica \
                     until it does"
                ),
            }
        });
        Ok(Throttle {
            memory: MemoryCounts::new(limits),
            redis: Some(redis),
        })
    }

    /// Refuses the attempt if the account or the IP is locked right now.
    pub async fn check(&self, username: &str, ip: &str) -> Result<(), Locked> {
        // Locks earned here while Redis was unreachable still hold.
        self.memory.check(username, ip)?;
        let Some(redis) = &self.redis else {
            return Ok(());
        };
        match redis.check(username, ip).await {
            Ok(locked) => {
                redis.answered();
                locked.map_or(Ok(()), Err)
            }
            Err(error) => {
                redis.unanswered("check", &error);
                Ok(())
            }
        }
    }

    /// Counts a failed attempt; returns the lock it caused, if any.
    pub async fn failed(&self, username: &str, ip: &str) -> Option<Locked> {
        if let Some(redis) = &self.redis {
            match redis.failed(username, ip).await {
                Ok(caused) => {
                    redis.answered();
                    return caused;
                }
                Err(error) => redis.unanswered("failed", &error),
            }
        }
        self.memory.failed(username, ip)
    }

    /// A successful sign-in clears the account's count (not the IP's).
    pub async fn succeeded(&self, username: &str) {
        self.memory.clear_account(username);
        if let Some(redis) = &self.redis {
            match redis.clear_account(username).await {
                Ok(()) => redis.answered(),
                Err(error) => redis.unanswered("clear", &error),
            }
        }
    }

    /// Unlocks an account (an admin resetting its password).
    pub async fn clear_account(&self, username: &str) {
        self.succeeded(username).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            per_account: 2,
            per_ip: 100,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(10),
        }
    }

    #[tokio::test]
    async fn a_redis_that_does_not_answer_leaves_the_counting_to_this_process() {
        // Nothing listens on port 1: every call fails fast and falls back.
        let config = Config {
            redis_url: Some(crate::crypto::Secret::new("redis://127.0.0.1:1/0".into())),
            ..Config::default()
        };
        let t = Throttle::from_config(&Config {
            login_max_failures_per_account: 2,
            login_lockout_secs: 10,
            ..config
        })
        .expect("a valid URL");
        assert!(t.failed("alice", "1.1.1.1").await.is_none());
        let lock = t.failed("Alice", "1.1.1.1").await.expect("locked");
        assert_eq!(lock.by, "account");
        assert_eq!(
            t.check("alice", "2.2.2.2").await.map_err(|l| l.by),
            Err("account")
        );
        t.clear_account("alice").await;
        assert!(t.check("alice", "2.2.2.2").await.is_ok());
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused_at_start() {
        let config = Config {
            redis_url: Some(crate::crypto::Secret::new("http://example.invalid".into())),
            ..Config::default()
        };
        assert!(Throttle::from_config(&config).is_err());
    }

    #[test]
    fn locks_double_up_to_an_hour() {
        assert_eq!(lock_for(limits(), 0), Duration::from_secs(10));
        assert_eq!(lock_for(limits(), 3), Duration::from_secs(80));
        assert_eq!(lock_for(limits(), 40), MAX_LOCK);
    }
}
