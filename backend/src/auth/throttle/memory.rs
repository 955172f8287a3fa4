//! Failure counts and locks kept in this process: the store when no Redis is configured, and the
//! fallback for any call Redis does not answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::{account_name, lock_for, Limits, Locked, MAX_LOCK};

/// Above this many keys, expired ones are pruned on the next failure.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
    /// Locks earned so far (doubles the next one); forgotten with the entry.
    locks: u32,
    last_seen: Instant,
}

#[derive(Clone)]
pub(super) struct MemoryCounts {
    limits: Limits,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

fn account_key(username: &str) -> String {
    format!("account:{}", account_name(username))
}

fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

impl MemoryCounts {
    pub(super) fn new(limits: Limits) -> MemoryCounts {
        MemoryCounts {
            limits,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn check(&self, username: &str, ip: &str) -> Result<(), Locked> {
        let now = Instant::now();
        let entries = self.lock();
        let locked = |key: &str| {
            entries
                .get(key)
                .and_then(|e| e.locked_until)
                .filter(|until| *until > now)
                .map(|until| until - now)
        };
        if let Some(left) = locked(&account_key(username)) {
            return Err(Locked {
                retry_after: left,
                by: "account",
            });
        }
        if let Some(left) = locked(&ip_key(ip)) {
            return Err(Locked {
                retry_after: left,
                by: "ip",
            });
        }
        Ok(())
    }

    pub(super) fn failed(&self, username: &str, ip: &str) -> Option<Locked> {
        let now = Instant::now();
        let limits = self.limits;
        let mut entries = self.lock();
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || now.duration_since(e.last_seen) < limits.window.max(MAX_LOCK)
            });
        }
        let mut caused = None;
        for (key, limit, by) in [
            (account_key(username), limits.per_account, "account"),
            (ip_key(ip), limits.per_ip, "ip"),
        ] {
            if limit == 0 {
                continue;
            }
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
                locks: 0,
                last_seen: now,
            });
            entry.last_seen = now;
            if now.duration_since(entry.window_start) > limits.window {
                entry.failures = 0;
                entry.window_start = now;
            }
            entry.failures += 1;
            if entry.failures >= limit {
                let lock = lock_for(limits, entry.locks);
                entry.locks += 1;
                entry.failures = 0;
                entry.window_start = now;
                entry.locked_until = Some(now + lock);
                caused.get_or_insert(Locked {
                    retry_after: lock,
                    by,
                });
            }
        }
        caused
    }

    pub(super) fn clear_account(&self, username: &str) {
        self.lock().remove(&account_key(username));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn throttle(per_account: u32, per_ip: u32) -> MemoryCounts {
        MemoryCounts::new(Limits {
            per_account,
            per_ip,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(10),
        })
    }

    #[test]
    fn an_account_locks_after_its_limit_for_any_spelling_of_its_name() {
        let t = throttle(3, 100);
        assert!(t.failed("alice", "1.1.1.1").is_none());
        assert!(t.failed("Alice", "2.2.2.2").is_none());
        let lock = t.failed(" alice ", "3.3.3.3").expect("locked");
        assert_eq!(
            (lock.by, lock.retry_after),
            ("account", Duration::from_secs(10))
        );
        assert_eq!(
            t.check("ALICE", "9.9.9.9").map_err(|l| l.by),
            Err("account")
        );
        assert!(t.check("bob", "9.9.9.9").is_ok());
    }

    #[test]
    fn an_ip_locks_across_usernames_and_a_success_does_not_clear_it() {
        let t = throttle(100, 3);
        for name in ["a", "b", "c"] {
            t.failed(name, "10.0.0.1");
        }
        assert_eq!(t.check("d", "10.0.0.1").map_err(|l| l.by), Err("ip"));
        t.clear_account("d");
        assert!(t.check("d", "10.0.0.1").is_err());
        assert!(t.check("d", "10.0.0.2").is_ok());
    }

    #[test]
    fn each_lock_earned_doubles_the_next() {
        let t = throttle(1, 0);
        assert_eq!(
            t.failed("x", "ip").map(|l| l.retry_after),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            t.failed("x", "ip").map(|l| l.retry_after),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            t.failed("x", "ip").map(|l| l.retry_after),
            Some(Duration::from_secs(40))
        );
        t.clear_account("x");
        assert_eq!(
            t.failed("x", "ip").map(|l| l.retry_after),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn a_zero_limit_turns_that_key_off() {
        let t = throttle(0, 0);
        for _ in 0..50 {
            assert!(t.failed("x", "ip").is_none());
        }
        assert!(t.check("x", "ip").is_ok());
    }
}
