//! SFTP sessions pooled per (user, server).
//!
//! A file manager makes many small requests (list, stat, preview) in bursts; an SSH handshake and
//! authentication for each would cost more than the work. So each user keeps one SFTP channel
//! per server, on their pooled SSH connection to it (`ssh::pool`, shared with their terminals),
//! used by all their concurrent requests (SFTP multiplexes them by request id) and closed after
//! `files_pool_idle_secs` without use. Sessions are never shared
//! between users: each is authenticated with the server's stored credential but audited and
//! authorised per user, and one user's load or failure cannot touch another's session.
//!
//! Health: a session is replaced when its SSH connection has closed, when an operation saw the
//! connection drop, when the server's record changed (address, credential, pinned key), or when a
//! probe after a quiet spell gets no answer. Replacement is transparent to the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex as AsyncMutex;

use super::policy::Roots;
use super::sftp::{connection_lost, Sftp};
use crate::audit::Actor;
use crate::db::server;
use crate::error::ApiError;
use crate::ssh::{self, Lease, SshError};
use crate::state::AppState;

type Key = (i32, i32);

/// A live SFTP session and the SSH connection carrying it. Dropping the pool's handle ends it:
/// once the last request using it is done, its SFTP channel closes and its lease on the SSH
/// connection is returned (the connection itself stays pooled).
pub struct Pooled {
    pub sftp: Sftp,
    /// The server's allowed paths, canonicalised on this server when the session opened.
    pub roots: Roots,
    /// The user's pooled SSH connection carrying this session's channel.
    ssh: Lease,
    server_updated_at: DateTime<Utc>,
    fingerprint: String,
    last_used: Mutex<Instant>,
}

impl Pooled {
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

    /// Still the same server record and still connected?
    fn fits(&self, server: &server::Model) -> bool {
        !self.ssh.is_closed()
            && !self.sftp.is_dead()
            && self.server_updated_at == server.updated_at
            && server
                .host_key_fingerprint
                .as_ref()
                .is_none_or(|pinned| *pinned == self.fingerprint)
    }
}

#[derive(Default)]
struct Slot {
    session: AsyncMutex<Option<Arc<Pooled>>>,
}

impl Slot {
    /// Closes the slot's session unless a request holds the slot right now.
    fn close_if_free(&self) {
        if let Ok(mut session) = self.session.try_lock() {
            *session = None;
        }
    }
}

#[derive(Clone)]
pub struct SftpPool {
    slots: Arc<Mutex<HashMap<Key, Arc<Slot>>>>,
    idle: Duration,
    max_sessions: usize,
}

/// A session unused for this long is probed before reuse.
const PROBE_AFTER: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl SftpPool {
    pub fn new(idle: Duration, max_sessions: usize) -> SftpPool {
        SftpPool {
            slots: Arc::default(),
            idle,
            max_sessions: max_sessions.max(1),
        }
    }

    /// A healthy session for `actor` on `server`, reusing the pooled one when it still fits.
    pub async fn get(
        &self,
        state: &AppState,
        actor: &Actor,
        server: &server::Model,
    ) -> Result<Arc<Pooled>, ApiError> {
        let key = (actor.user_id.unwrap_or_default(), server.id);
        let slot = self.slot(key)?;
        let mut guard = slot.session.lock().await;
        if let Some(pooled) = guard.as_ref() {
            if pooled.fits(server) && (pooled.idle_for() < PROBE_AFTER || probe(pooled).await) {
                pooled.touch();
                return Ok(pooled.clone());
            }
            *guard = None;
        }
        let pooled = Arc::new(open(state, actor, server).await?);
        *guard = Some(pooled.clone());
        Ok(pooled)
    }

    fn slot(&self, key: Key) -> Result<Arc<Slot>, ApiError> {
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| ApiError::internal("sftp pool", "lock poisoned"))?;
        if let Some(slot) = slots.get(&key) {
            return Ok(slot.clone());
        }
        if slots.len() >= self.max_sessions {
            evict_idlest(&mut slots);
        }
        if slots.len() >= self.max_sessions {
            return Err(ApiError::coded(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_sessions",
                "the gateway has too many open file sessions; try again shortly",
            ));
        }
        Ok(slots.entry(key).or_default().clone())
    }

    /// Closes sessions idle longer than the TTL. Called periodically by `run_reaper`.
    pub fn reap(&self) -> usize {
        let Ok(mut slots) = self.slots.lock() else {
            return 0;
        };
        let before = slots.len();
        slots.retain(|_, slot| {
            let Ok(mut session) = slot.session.try_lock() else {
                return true; // in use right now
            };
            match session.as_ref() {
                // Still fresh, or a request is using it right now.
                Some(p) if p.idle_for() < self.idle || Arc::strong_count(p) > 1 => true,
                _ => {
                    *session = None;
                    false
                }
            }
        });
        before - slots.len()
    }

    /// Reaps idle sessions until shutdown, then closes them all.
    pub async fn run_reaper(self, shutdown: tokio_util::sync::CancellationToken) {
        let every = (self.idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => { self.reap(); }
                _ = shutdown.cancelled() => break,
            }
        }
        if let Ok(mut slots) = self.slots.lock() {
            for (_, slot) in slots.drain() {
                slot.close_if_free();
            }
        }
    }
}

/// Removes the slot whose session has been idle longest (and is not in use), if any.
fn evict_idlest(slots: &mut HashMap<Key, Arc<Slot>>) {
    let victim = slots
        .iter()
        .filter_map(|(k, slot)| {
            let session = slot.session.try_lock().ok()?;
            match session.as_ref() {
                Some(p) if Arc::strong_count(p) == 1 => Some((*k, p.idle_for())),
                Some(_) => None,
                None => Some((*k, Duration::MAX)),
            }
        })
        .max_by_key(|(_, idle)| *idle)
        .map(|(k, _)| k);
    if let Some(k) = victim {
        if let Some(slot) = slots.remove(&k) {
            slot.close_if_free();
        }
    }
}

async fn probe(pooled: &Pooled) -> bool {
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, pooled.sftp.realpath(".")).await,
        Ok(Ok(_))
    )
}

async fn open(state: &AppState, actor: &Actor, server: &server::Model) -> Result<Pooled, ApiError> {
    let (lease, channel) = ssh::session_channel(state, actor, server, "sftp")
        .await
        .map_err(ssh_refusal)?;
    if let Err(e) = channel.request_subsystem(true, "sftp").await {
        let _ = channel.close().await;
        return Err(connection_lost(e));
    }
    let sftp = Sftp::start(
        channel.into_stream(),
        state.config.files_request_timeout_secs.max(1),
    )
    .await
    .map_err(|e| connection_lost(format!("starting SFTP: {e}")))?;
    let roots = Roots::canonical(&sftp, server).await;
    Ok(Pooled {
        sftp,
        roots,
        fingerprint: lease.host_key().fingerprint.clone(),
        ssh: lease,
        server_updated_at: server.updated_at,
        last_used: Mutex::new(Instant::now()),
    })
}

/// An SSH failure as an HTTP answer: the gateway could not do its part, so 502 (504 on timeout),
/// with the SSH error's own code (`host_key_mismatch`, `auth_failed`, `unreachable`, ...).
pub fn ssh_refusal(e: SshError) -> ApiError {
    let status = match e.root() {
        SshError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        SshError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    ApiError::coded(status, e.code(), e.to_string())
}
