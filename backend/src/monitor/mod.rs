//! The connectivity monitor: every `monitor_interval_secs` it probes each registered server
//! through its jump chain (TCP, SSH handshake, host-key check — no login to the server, no
//! shell; see `probe.rs`), keeps the result in `server_status` (`store.rs`) and answers
//! `GET /api/servers/status` (`handlers.rs`).
//!
//! With several replicas on one database, only the holder of the `monitor` lease (`lease.rs`)
//! probes; the others retry every few seconds and take over once the holder stops renewing.
//! A holder that cannot renew stops probing at once, well before its lease could expire.
//!
//! A change of state (`unknown`/`online`/`offline`) is written to the audit log as
//! `server.online` / `server.offline`, which also queues the `server_online` / `server_offline`
//! webhooks. Only the leader probes, so each transition is announced once across replicas.

pub mod handlers;
mod lease;
mod probe;
mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::{DbErr, EntityTrait};
use serde::Serialize;
use serde_json::json;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;
use wire::monitor::ServerState;

use crate::audit::{self, Actor, Event};
use crate::db::server;
use crate::state::AppState;
use lease::Lease;
use store::Transition;

/// The lease that makes one replica the prober.
const LEASE_NAME: &str = "monitor";
/// How long a lease lasts without renewal: a dead holder's successor starts within this (plus
/// one retry).
const LEASE_TTL: Duration = Duration::from_secs(20);
/// How often the holder renews, and how often the others try to take over.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long one lease statement may take before the attempt counts as failed.
const LEASE_DEADLINE: Duration = Duration::from_secs(5);

/// A server changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonitorEvent {
    pub server_id: i32,
    pub server_name: String,
    pub from: ServerState,
    pub to: ServerState,
    pub at: DateTime<Utc>,
    /// Failed probes in a row (0 when the server came online).
    pub failures: u32,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

impl MonitorEvent {
    /// The audit action and event name: `server.online` or `server.offline`.
    pub fn action(&self) -> &'static str {
        match self.to {
            ServerState::Online => "server.online",
            ServerState::Offline => "server.offline",
            ServerState::Unknown => "server.unknown",
        }
    }
}

/// The monitor as the rest of the gateway sees it: this replica's role.
#[derive(Clone)]
pub struct MonitorHandle {
    leader: Arc<AtomicBool>,
}

impl MonitorHandle {
    pub fn new() -> MonitorHandle {
        MonitorHandle {
            leader: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether this replica holds the lease and probes.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    /// `leader` or `follower`, for `GET /api/health`.
    pub fn role(&self) -> &'static str {
        if self.is_leader() {
            "leader"
        } else {
            "follower"
        }
    }
}

impl Default for MonitorHandle {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs until `state.shutdown`: competes for the lease, probes while holding it, and gives it
/// up on shutdown so another replica takes over at its next attempt.
pub async fn run(state: AppState) {
    if !state.config.monitor_enabled {
        tracing::info!("connectivity monitor disabled (monitor_enabled = false)");
        return;
    }
    let lease = Lease::new(LEASE_NAME, &state.instance_id, LEASE_TTL);
    loop {
        match bounded(lease.acquire(&state.db)).await {
            Ok(true) => lead(&state, &lease).await,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "monitor: cannot read the lease"),
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = sleep(RENEW_EVERY) => {}
        }
    }
}

/// Holds the lease: probes in the background, renews, and stops probing the moment a renewal
/// fails or the gateway shuts down.
async fn lead(state: &AppState, lease: &Lease) {
    tracing::info!(instance_id = %state.instance_id, "monitor: this replica holds the lease and probes");
    state.monitor.leader.store(true, Ordering::SeqCst);
    let stop = state.shutdown.child_token();
    let rounds = tokio::spawn(probe_rounds(state.clone(), stop.clone()));
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = sleep(RENEW_EVERY) => {}
        }
        match bounded(lease.acquire(&state.db)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("monitor: another replica took the lease; no longer probing");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "monitor: cannot renew the lease; no longer probing");
                break;
            }
        }
    }
    state.monitor.leader.store(false, Ordering::SeqCst);
    stop.cancel();
    let _ = rounds.await;
    if state.shutdown.is_cancelled() {
        match bounded(lease.release(&state.db)).await {
            Ok(()) => tracing::info!("monitor: lease released"),
            Err(e) => tracing::warn!(error = %e, "monitor: cannot release the lease; it expires"),
        }
    }
}

async fn bounded<T>(op: impl std::future::Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
    match tokio::time::timeout(LEASE_DEADLINE, op).await {
        Ok(result) => result,
        Err(_) => Err(DbErr::Custom("the database did not answer in time".into())),
    }
}

/// A round every `monitor_interval_secs` (counted from the start of the previous one) until
/// `stop`; a round still running when `stop` fires is abandoned.
async fn probe_rounds(state: AppState, stop: CancellationToken) {
    let every = Duration::from_secs(state.config.monitor_interval_secs.max(1));
    loop {
        let started = Instant::now();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = round(&state) => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep(every.saturating_sub(started.elapsed())) => {}
        }
    }
}

/// Probes every server, `monitor_concurrency` at a time. Servers with SSH disabled are probed
/// too: SFTP and jump chains still use their SSH service.
async fn round(state: &AppState) {
    let servers = match server::Entity::find().all(&state.db).await {
        Ok(servers) => servers,
        Err(e) => {
            tracing::warn!(error = %e, "monitor: cannot list the servers");
            return;
        }
    };
    let timeouts = probe::timeouts(state);
    futures::stream::iter(servers)
        .map(|server| async move {
            let outcome = probe::probe(state, &server, timeouts).await;
            let threshold = state.config.monitor_failures_before_offline;
            match store::record(&state.db, server.id, &outcome, threshold).await {
                Ok(Some(transition)) => announce(state, &server, transition).await,
                Ok(None) => {}
                // Most likely the server was deleted while it was being probed.
                Err(e) => {
                    tracing::debug!(server_id = server.id, error = %e, "monitor: status not stored")
                }
            }
        })
        .buffer_unordered(state.config.monitor_concurrency.max(1))
        .for_each(|()| async {})
        .await;
}

/// Audits a transition (which queues its webhooks).
async fn announce(state: &AppState, server: &server::Model, t: Transition) {
    let event = MonitorEvent {
        server_id: server.id,
        server_name: server.name.clone(),
        from: t.from,
        to: t.to,
        at: t.at,
        failures: t.failures,
        error_code: t.error_code,
        error: t.error,
    };
    tracing::info!(
        server_id = server.id,
        server = %server.name,
        from = event.from.as_str(),
        to = event.to.as_str(),
        error_code = event.error_code.as_deref().unwrap_or("-"),
        "monitor: server is now {}",
        event.to.as_str()
    );
    // No user acted: the gateway itself noticed.
    audit::record(
        &state.db,
        &Actor::default(),
        Event::new(event.action())
            .server(Some(server.id))
            .target(&event.server_name)
            .details(json!({
                "name": event.server_name,
                "from": event.from,
                "to": event.to,
                "error_code": event.error_code,
                "error": event.error,
                "failures": event.failures,
            })),
    )
    .await;
}
