//! Failure counts and locks in Redis, shared by every replica that points at the same server.
//!
//! Per throttle key (`gatehouse:throttle:account:<name>`, `gatehouse:throttle:ip:<ip>`) three
//! Redis keys: `…:failures` (a counter that expires with the window), `…:lock` (present while
//! locked, expiring when the lock ends) and `…:locks` (locks earned, which double the next one;
//! kept an hour plus a window). Counting a failure is one Lua script over both throttle keys, so
//! two replicas racing cannot both slip past a limit. Names are lowercased and percent-encoded
//! (`:` included), so no username can spell another key's shape.
//!
//! Every call is bounded by [`CALL_TIMEOUT`]; the caller falls back to the process's own counts
//! when one fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use super::{account_name, Limits, Locked, MAX_LOCK};

/// Longest a sign-in waits for Redis before it counts in this process instead.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);

/// At most one "Redis did not answer" warning per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Name bytes kept as they are in a key; everything else (`:`, `%`, `{`, spaces…) is encoded.
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'@');

/// KEYS: failures, lock, locks of the account, then the same three of the IP.
/// ARGV: account limit, IP limit, window ms, first lock ms, longest lock ms.
/// Returns `{1 (account) | 2 (IP), lock ms}` for the first key it locked, else nil.
const FAILED_SCRIPT: &str = r"
local window = tonumber(ARGV[3])
local first = tonumber(ARGV[4])
local longest = tonumber(ARGV[5])
local caused = false
for i = 0, 1 do
  local limit = tonumber(ARGV[1 + i])
  if limit > 0 then
    local failures, lock, locks = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
    local n = redis.call('INCR', failures)
    if n == 1 then
      redis.call('PEXPIRE', failures, window)
    end
    if n >= limit then
      local earned = tonumber(redis.call('GET', locks) or '0')
      local ms = math.floor(math.min(first * 2 ^ math.min(earned, 12), longest))
      redis.call('SET', lock, '1', 'PX', ms)
      redis.call('SET', locks, earned + 1, 'PX', longest + window)
      redis.call('DEL', failures)
      if not caused then
        caused = {i + 1, ms}
      end
    end
  end
end
return caused
";

static FAILED: LazyLock<Script> = LazyLock::new(|| Script::new(FAILED_SCRIPT));

#[derive(Debug, thiserror::Error)]
pub(super) enum StoreError {
    #[error("{0}")]
    Redis(#[from] RedisError),
    #[error("no answer within {} ms", CALL_TIMEOUT.as_millis())]
    Timeout,
}

#[derive(Clone)]
pub(super) struct RedisCounts {
    limits: Limits,
    conn: ConnectionManager,
    health: Arc<Health>,
}

/// Whether Redis answered last time, and when we last said it did not.
#[derive(Default)]
struct Health {
    down: AtomicBool,
    last_warning: Mutex<Option<Instant>>,
}

fn account_base(username: &str) -> String {
    let name = account_name(username);
    format!(
        "gatehouse:throttle:account:{}",
        utf8_percent_encode(&name, KEY_SAFE)
    )
}

fn ip_base(ip: &str) -> String {
    format!(
        "gatehouse:throttle:ip:{}",
        utf8_percent_encode(ip, KEY_SAFE)
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn bounded<T>(
    call: impl std::future::Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(answer) => Ok(answer?),
        Err(_) => Err(StoreError::Timeout),
    }
}

impl RedisCounts {
    /// Parses `url` and prepares a connection without opening it: a Redis that is down at start
    /// must not stop the gateway. The manager connects on first use and reconnects by itself.
    pub(super) fn new(limits: Limits, url: &str) -> Result<RedisCounts, RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(CALL_TIMEOUT))
            // Retry often enough that a restarted Redis is used again within seconds.
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisCounts {
            limits,
            conn,
            health: Arc::default(),
        })
    }

    /// One `PING`, for the start-up log line.
    pub(super) async fn ping(&self) -> Result<(), RedisError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }

    /// The account's or the IP's lock, read in one round-trip.
    pub(super) async fn check(
        &self,
        username: &str,
        ip: &str,
    ) -> Result<Option<Locked>, StoreError> {
        let mut conn = self.conn.clone();
        let (account, ip): (i64, i64) = bounded(
            redis::pipe()
                .cmd("PTTL")
                .arg(format!("{}:lock", account_base(username)))
                .cmd("PTTL")
                .arg(format!("{}:lock", ip_base(ip)))
                .query_async(&mut conn),
        )
        .await?;
        // PTTL is -2 for no lock (and -1 for one without expiry, which this code never writes).
        let locked = [(account, "account"), (ip, "ip")]
            .into_iter()
            .find(|(ms, _)| *ms > 0)
            .map(|(ms, by)| Locked {
                retry_after: Duration::from_millis(ms.unsigned_abs()),
                by,
            });
        Ok(locked)
    }

    pub(super) async fn failed(
        &self,
        username: &str,
        ip: &str,
    ) -> Result<Option<Locked>, StoreError> {
        let limits = self.limits;
        let mut invocation = FAILED.prepare_invoke();
        for base in [account_base(username), ip_base(ip)] {
            for part in ["failures", "lock", "locks"] {
                invocation.key(format!("{base}:{part}"));
            }
        }
        invocation
            .arg(limits.per_account)
            .arg(limits.per_ip)
            .arg(millis(limits.window))
            .arg(millis(limits.lockout))
            .arg(millis(MAX_LOCK));
        let mut conn = self.conn.clone();
        let caused: Option<(i64, i64)> = bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(caused.map(|(which, ms)| Locked {
            retry_after: Duration::from_millis(ms.unsigned_abs()),
            by: if which == 1 { "account" } else { "ip" },
        }))
    }

    pub(super) async fn clear_account(&self, username: &str) -> Result<(), StoreError> {
        let base = account_base(username);
        let mut conn = self.conn.clone();
        bounded(
            redis::cmd("DEL")
                .arg(format!("{base}:failures"))
                .arg(format!("{base}:lock"))
                .arg(format!("{base}:locks"))
                .exec_async(&mut conn),
        )
        .await
    }

    /// Notes an answer from Redis (and says so once after an outage).
    pub(super) fn answered(&self) {
        if self.health.down.swap(false, Ordering::Relaxed) {
            tracing::info!("redis answers again: sign-in throttling is shared between replicas");
        }
    }

    /// Notes a call Redis did not answer, with a warning at most every [`WARN_EVERY`].
    pub(super) fn unanswered(&self, what: &str, error: &StoreError) {
        self.health.down.store(true, Ordering::Relaxed);
        let mut last = self
            .health
            .last_warning
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(
                %error,
                call = what,
                "redis did not answer the sign-in throttle: counting in this process meanwhile \
                 (limits apply per replica until it answers)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_spell_another_key() {
        assert_eq!(account_base(" Alice "), "gatehouse:throttle:account:alice");
        assert_eq!(
            account_base("a:lock"),
            "gatehouse:throttle:account:a%3Alock"
        );
        assert_eq!(
            account_base("x}:ip:{1.2.3.4 %3A"),
            "gatehouse:throttle:account:x%7D%3Aip%3A%7B1.2.3.4%20%253a"
        );
        assert_eq!(ip_base("::1"), "gatehouse:throttle:ip:%3A%3A1");
        assert_eq!(ip_base("10.0.0.1"), "gatehouse:throttle:ip:10.0.0.1");
    }
}
