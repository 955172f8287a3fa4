//! SSH connections pooled per (user, server).
//!
//! One authenticated connection per user and server carries all of that user's terminals and
//! their SFTP session to it, and a connection to a bastion carries every hop that user tunnels
//! through it. Opening a second terminal or the file manager then costs one channel round trip
//! instead of a TCP connect, a key exchange and an authentication per hop.
//!
//! The boundary: a connection is never shared between users. Each is authenticated with the
//! server's stored credential, but everything done over it is authorised and audited for the one
//! user it belongs to, and one user's load, failure or revocation cannot touch another's.
//!
//! Lifetime: whatever uses a connection holds a [`Lease`] on it (a terminal channel, an SFTP
//! session, a connection tunnelled through a bastion). A connection takes at most
//! `ssh_channels_per_connection` leases (below OpenSSH's default `MaxSessions`), then another is
//! opened; a connection with no lease is closed after `ssh_pool_idle_secs`, and the pool holds
//! at most `ssh_pool_max_connections` connections. Keepalives (see `connect.rs`) end a
//! connection whose server stopped answering; a closed or outdated connection (its server's
//! record or pinned key changed, or any bastion's did) is never handed out again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use russh::client::Handle;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use super::host_key::{HostKeyCheck, PresentedKey};
use super::SshError;
use crate::db::server;

/// (user id, server id).
type Key = (i32, i32);

/// One pooled, authenticated connection.
pub struct Pooled {
    handle: Handle<HostKeyCheck>,
    /// The lease on the bastion connection this one is tunnelled through, held while it lives.
    via: Option<Lease>,
    server_id: i32,
    server_updated_at: DateTime<Utc>,
    key: PresentedKey,
    leases: AtomicUsize,
    /// Most leases at once; lowered when the server refused a channel on this connection.
    capacity: AtomicUsize,
    last_used: Mutex<Instant>,
    /// The pool's count of open connections, decremented when this one is gone.
    open: Arc<AtomicUsize>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pooled {
    fn alive(&self) -> bool {
        !self.handle.is_closed() && self.via.as_ref().is_none_or(|v| v.pooled.alive())
    }

    /// Does this connection still match `chain` (bastions first, its own server last) as the
    /// database describes it now, and is it still connected?
    fn fits(&self, chain: &[server::Model]) -> bool {
        let Some((server, bastions)) = chain.split_last() else {
            return false;
        };
        let same_record = self.server_id == server.id
            && self.server_updated_at == server.updated_at
            && server.host_key_fingerprint.as_ref() == Some(&self.key.fingerprint);
        let same_route = match &self.via {
            None => bastions.is_empty(),
            Some(via) => via.pooled.fits(bastions),
        };
        same_record && same_route && !self.handle.is_closed()
    }

    fn has_room(&self) -> bool {
        self.leases.load(Ordering::Acquire) < self.capacity.load(Ordering::Acquire)
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }

    fn unused(&self) -> bool {
        self.leases.load(Ordering::Acquire) == 0
    }
}

/// The right to use a pooled connection; the connection counts it until it is dropped.
pub struct Lease {
    pooled: Arc<Pooled>,
}

impl Lease {
    fn take(pooled: Arc<Pooled>) -> Lease {
        pooled.leases.fetch_add(1, Ordering::AcqRel);
        pooled.touch();
        Lease { pooled }
    }

    pub fn handle(&self) -> &Handle<HostKeyCheck> {
        &self.pooled.handle
    }

    /// The host key the server presented (and is pinned with).
    pub fn host_key(&self) -> &PresentedKey {
        &self.pooled.key
    }

    pub fn is_closed(&self) -> bool {
        !self.pooled.alive()
    }

    /// The server refused one more channel on this connection (its `MaxSessions`), or did not
    /// answer in time: hand it out no more; it closes once its current users are done.
    pub fn retire(&self) {
        self.pooled.capacity.store(0, Ordering::Release);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.pooled.touch();
        self.pooled.leases.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connections of one (user, server). Locked while one is being opened, so concurrent
/// first requests wait for one connection instead of each opening their own.
type Slot = Arc<AsyncMutex<Vec<Arc<Pooled>>>>;

#[derive(Clone)]
pub struct SshPool {
    slots: Arc<Mutex<HashMap<Key, Slot>>>,
    open: Arc<AtomicUsize>,
    idle: Duration,
    max_connections: usize,
    channels_per_connection: usize,
}

/// A slot locked for opening: the caller adds the connection it opens.
pub struct Opening<'a> {
    pool: &'a SshPool,
    connections: OwnedMutexGuard<Vec<Arc<Pooled>>>,
}

impl Opening<'_> {
    /// Adds a connection just opened (its key already verified) and leases it.
    pub fn admit(
        mut self,
        handle: Handle<HostKeyCheck>,
        via: Option<Lease>,
        server: &server::Model,
        key: PresentedKey,
    ) -> Result<Lease, SshError> {
        self.pool.make_room()?;
        self.pool.open.fetch_add(1, Ordering::AcqRel);
        let pooled = Arc::new(Pooled {
            handle,
            via,
            server_id: server.id,
            server_updated_at: server.updated_at,
            key,
            leases: AtomicUsize::new(0),
            capacity: AtomicUsize::new(self.pool.channels_per_connection),
            last_used: Mutex::new(Instant::now()),
            open: self.pool.open.clone(),
        });
        self.connections.push(pooled.clone());
        Ok(Lease::take(pooled))
    }
}

impl SshPool {
    pub fn new(idle: Duration, max_connections: usize, channels_per_connection: usize) -> SshPool {
        SshPool {
            slots: Arc::default(),
            open: Arc::default(),
            idle,
            max_connections: max_connections.max(1),
            channels_per_connection: channels_per_connection.max(1),
        }
    }

    /// A lease on a live connection of `user_id` that fits `chain`, if one has room.
    pub async fn reuse(&self, user_id: i32, chain: &[server::Model]) -> Option<Lease> {
        let server = chain.last()?;
        let slot = self
            .slots
            .lock()
            .ok()?
            .get(&(user_id, server.id))
            .cloned()?;
        let connections = slot.lock().await;
        pick(&connections, chain)
    }

    /// Locks the slot of (`user_id`, last of `chain`) for opening a connection. Returns a lease
    /// instead when a fitting connection appeared while waiting for the lock.
    pub async fn lock_for_opening(
        &self,
        user_id: i32,
        chain: &[server::Model],
    ) -> Result<Opening<'_>, Lease> {
        let server_id = chain.last().map_or(0, |s| s.id);
        let slot = match self.slots.lock() {
            Ok(mut slots) => slots.entry((user_id, server_id)).or_default().clone(),
            // A poisoned map still works: a fresh slot, unpooled.
            Err(_) => Slot::default(),
        };
        let connections = slot.lock_owned().await;
        match pick(&connections, chain) {
            Some(lease) => Err(lease),
            None => Ok(Opening {
                pool: self,
                connections,
            }),
        }
    }

    /// Before adding a connection: close the idlest unused one when the pool is full.
    fn make_room(&self) -> Result<(), SshError> {
        if self.open.load(Ordering::Acquire) < self.max_connections
            || self.close_where(Pooled::unused, Some(1)) > 0
        {
            Ok(())
        } else {
            Err(SshError::TooManyConnections)
        }
    }

    /// Connections open right now (all users), for metrics and tests.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Closes connections nobody has used for the idle TTL, and drops closed ones.
    pub fn reap(&self) -> usize {
        let idle = self.idle;
        self.close_where(|p| p.unused() && p.idle_for() >= idle, None)
    }

    /// Closes up to `limit` connections matching `doomed` (idlest first) and forgets closed
    /// ones nobody uses; removes empty slots. Slots locked right now are left for next time.
    fn close_where(&self, doomed: impl Fn(&Pooled) -> bool, limit: Option<usize>) -> usize {
        let Ok(mut slots) = self.slots.lock() else {
            return 0;
        };
        let mut guards: Vec<OwnedMutexGuard<Vec<Arc<Pooled>>>> = slots
            .values()
            .filter_map(|slot| slot.clone().try_lock_owned().ok())
            .collect();
        let mut victims: Vec<Arc<Pooled>> = guards
            .iter()
            .flat_map(|connections| connections.iter())
            .filter(|p| p.alive() && doomed(p))
            .cloned()
            .collect();
        victims.sort_by_key(|p| std::cmp::Reverse(p.idle_for()));
        victims.truncate(limit.unwrap_or(usize::MAX));
        let mut removed = 0;
        for connections in &mut guards {
            let before = connections.len();
            connections.retain(|p| {
                (p.alive() || !p.unused()) && !victims.iter().any(|v| Arc::ptr_eq(v, p))
            });
            removed += before - connections.len();
        }
        drop(guards);
        // A slot someone holds (opening into it) stays, even when empty.
        slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1 || slot.try_lock().map_or(true, |c| !c.is_empty())
        });
        for victim in victims {
            disconnect(victim, "idle");
        }
        removed
    }

    /// Reaps idle connections until shutdown, then closes them all.
    pub async fn run_reaper(self, shutdown: tokio_util::sync::CancellationToken) {
        let every = (self.idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {
                    let closed = self.reap();
                    if closed > 0 {
                        tracing::debug!(closed, open = self.open_connections(), "idle SSH connections closed");
                    }
                }
                _ = shutdown.cancelled() => break,
            }
        }
        self.close_where(|_| true, None);
    }
}

/// A fitting connection with room, leased.
fn pick(connections: &[Arc<Pooled>], chain: &[server::Model]) -> Option<Lease> {
    connections
        .iter()
        .find(|p| p.has_room() && p.fits(chain))
        .map(|p| Lease::take(p.clone()))
}

fn disconnect(pooled: Arc<Pooled>, why: &'static str) {
    tokio::spawn(async move {
        let _ = pooled
            .handle
            .disconnect(russh::Disconnect::ByApplication, why, "en")
            .await;
    });
}
