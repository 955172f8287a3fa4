//! Connecting to a registered server on behalf of a user: follow its jump chain, decrypt each
//! hop's credential, connect with the configured deadlines (reusing the user's pooled
//! connections), verify every hop's host key against its pin, pin on first use or hold it for
//! approval (audited), and audit a failure. Terminals, the SFTP pool and the test endpoint all
//! come through here, so trust is the same on every path.

use std::time::Duration;

use serde_json::json;

use russh::client::Msg;
use russh::Channel;
use tokio::time::timeout;

use super::connect::{connect_timed, login_hop};
use super::host_key::PresentedKey;
use super::pool::Lease;
use super::{trust, SshError, Target, Timeouts};
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::Config;
use crate::db::server;
use crate::servers::service::{self, MAX_CHAIN_DEPTH};
use crate::state::AppState;
use wire::servers::{HopResult, TestReport};

pub fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(config.ssh_connect_timeout_secs),
        auth: Duration::from_secs(config.ssh_auth_timeout_secs),
        keepalive: Duration::from_secs(config.ssh_keepalive_secs.max(1)),
    }
}

/// A lease on an authenticated connection to `server` for `actor`: the user's pooled one when
/// it is still open and current, otherwise a new one, tunnelled through the user's pooled
/// bastion connections where it has a jump chain. `purpose` names the caller in audit rows
/// (`terminal`, `sftp`): a failure is recorded as `<purpose>.connect_failed`.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    purpose: &str,
) -> Result<Lease, SshError> {
    let result = tokio::select! {
        r = lease_chain(state, actor, server) => r,
        _ = state.shutdown.cancelled() => Err(SshError::ShuttingDown),
    };
    if let Err(e) = &result {
        audit::record(
            &state.db,
            actor,
            Event::new(format!("{purpose}.connect_failed"))
                .server(Some(server.id))
                .outcome(Outcome::Failure)
                .details(json!({"code": e.code(), "error": e.to_string()})),
        )
        .await;
        crate::webhooks::host_key_refused(&state.db, actor, server, purpose, e).await;
    }
    result
}

/// A new session channel (for a shell or a subsystem) to `server`, on a pooled connection.
/// When the server refuses one more channel on a shared connection (its `MaxSessions`) or does
/// not answer, that connection is retired and one new connection is tried.
pub async fn session_channel(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    purpose: &str,
) -> Result<(Lease, Channel<Msg>), SshError> {
    let wait = timeouts(&state.config).auth;
    let mut retried = false;
    loop {
        let lease = open(state, actor, server, purpose).await?;
        let failure = match timeout(wait, lease.handle().channel_open_session()).await {
            Ok(Ok(channel)) => return Ok((lease, channel)),
            Ok(Err(e)) => SshError::from(e),
            Err(_) => SshError::Timeout("opening a channel"),
        };
        lease.retire();
        if retried {
            return Err(failure);
        }
        tracing::info!(server_id = server.id, error = %failure, "channel refused on a pooled connection; opening another");
        retried = true;
    }
}

/// Follows the chain from the deepest connection the user already has on it (the server's own,
/// else the nearest bastion's), opening and pooling each missing hop in turn.
async fn lease_chain(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
) -> Result<Lease, SshError> {
    let hops = chain(state, server).await?;
    let pool = &state.ssh_pool;
    let user = actor.user_id.unwrap_or_default();
    let mut carrier = None;
    let mut start = 0;
    for i in (0..hops.len()).rev() {
        if let Some(lease) = pool.reuse(user, &hops[..=i]).await {
            carrier = Some(lease);
            start = i + 1;
            break;
        }
    }
    if start == hops.len() {
        return carrier.ok_or_else(|| SshError::Protocol("no server to connect to".into()));
    }
    let targets = targets(state, &hops, server)?;
    let last = hops.len() - 1;
    for (i, (hop, target)) in hops.iter().zip(&targets).enumerate().skip(start) {
        let opening = match pool.lock_for_opening(user, &hops[..=i]).await {
            Ok(opening) => opening,
            // Another request opened it meanwhile.
            Err(lease) => {
                carrier = Some(lease);
                continue;
            }
        };
        let blame = |e: SshError| if i < last { target.blame(e) } else { e };
        let via = carrier.as_ref().map(Lease::handle);
        let (handle, key) = match login_hop(via, target, timeouts(&state.config)).await {
            Ok(opened) => opened,
            Err(e) => {
                trust::hold_for_approval(state, actor, hop, &e).await;
                return Err(blame(e));
            }
        };
        if let Err(e) = trust::pin_if_new(state, actor, hop, &key).await {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "host key", "en")
                .await;
            return Err(blame(e));
        }
        carrier = Some(opening.admit(handle, carrier.take(), hop, key)?);
    }
    carrier.ok_or_else(|| SshError::Protocol("no server to connect to".into()))
}

/// `POST /api/servers/{id}/test`: connect through the chain hop by hop (no shell, no SFTP),
/// pinning first-use keys as any connection does, and report each hop.
pub async fn test(state: &AppState, actor: &Actor, server: &server::Model) -> TestReport {
    let started = std::time::Instant::now();
    let hops = match chain(state, server).await {
        Ok(hops) => hops,
        Err(e) => {
            let failed = hop_result(server, None, None, Some(&e));
            return TestReport {
                ok: false,
                hops: vec![failed],
                total_ms: millis(started.elapsed()),
            };
        }
    };
    let (result, timings) = match targets(state, &hops, server) {
        Ok(targets) => connect_timed(targets, timeouts(&state.config)).await,
        Err(e) => (Err(e), Vec::new()),
    };
    if let (Err(e), Some(hop)) = (&result, hops.get(timings.len())) {
        trust::hold_for_approval(state, actor, hop, e).await;
    }
    let presented = match &result {
        Ok(connection) => connection.presented.clone(),
        Err(_) => Vec::new(),
    };
    let mut report = Vec::with_capacity(hops.len());
    for (i, hop) in hops.iter().enumerate() {
        let line = match (timings.get(i), &result) {
            (Some(took), _) => hop_result(hop, Some(*took), presented.get(i), None),
            (None, Err(e)) if i == timings.len() => hop_result(hop, None, None, Some(e.root())),
            (None, _) => hop_result(hop, None, None, None),
        };
        report.push(line);
    }
    if let Ok(connection) = &result {
        for (hop, key) in hops.iter().zip(&connection.presented) {
            if let Err(e) = trust::pin_if_new(state, actor, hop, key).await {
                tracing::warn!(server_id = hop.id, error = %e, "pin during a test failed");
                break;
            }
        }
        for handle in std::iter::once(&connection.handle).chain(connection.via.iter().rev()) {
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "test done", "en")
                .await;
        }
    }
    TestReport {
        ok: result.is_ok(),
        hops: report,
        total_ms: millis(started.elapsed()),
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn hop_result(
    hop: &server::Model,
    took: Option<std::time::Duration>,
    key: Option<&PresentedKey>,
    error: Option<&SshError>,
) -> HopResult {
    HopResult {
        server_id: hop.id,
        name: hop.name.clone(),
        host: hop.hostname.clone(),
        port: u16::try_from(hop.port).unwrap_or(22),
        ok: took.is_some(),
        ms: took.map(millis),
        fingerprint: key.map(|k| k.fingerprint.clone()),
        code: error.map(|e| e.code().to_owned()),
        error: error.map(ToString::to_string),
    }
}

/// Each hop's login: its address, its own decrypted credential, its own pin.
pub fn targets(
    state: &AppState,
    hops: &[server::Model],
    server: &server::Model,
) -> Result<Vec<Target>, SshError> {
    let mut targets = Vec::with_capacity(hops.len());
    for hop in hops {
        let credential = service::credential(&state.vault, hop).map_err(|_| {
            if hop.id == server.id {
                SshError::CredentialsMissing
            } else {
                SshError::CredentialsMissing.at_bastion(&hop.name)
            }
        })?;
        targets.push(Target {
            name: hop.name.clone(),
            host: hop.hostname.clone(),
            port: u16::try_from(hop.port).unwrap_or(22),
            username: hop.username.clone(),
            credential,
            trust: trust::trust_for(state, hop),
        });
    }
    Ok(targets)
}

/// The servers to pass through, bastions first and `server` last, following `jump_via_id`.
/// Saving a server already refuses cycles and missing hops; this re-checks, since a bastion may
/// have been deleted or re-pointed since.
pub async fn chain(
    state: &AppState,
    server: &server::Model,
) -> Result<Vec<server::Model>, SshError> {
    let mut hops = vec![server.clone()];
    let mut next = server.jump_via_id;
    while let Some(id) = next {
        if hops.len() > MAX_CHAIN_DEPTH {
            return Err(SshError::BrokenChain(format!(
                "more than {MAX_CHAIN_DEPTH} jump hosts"
            )));
        }
        let hop = service::get(&state.db, id)
            .await
            .map_err(|_| SshError::BrokenChain(format!("jump host #{id} no longer exists")))?;
        if hops.iter().any(|h| h.id == hop.id) {
            return Err(SshError::BrokenChain(format!(
                "'{}' appears twice in the chain",
                hop.name
            )));
        }
        next = hop.jump_via_id;
        hops.push(hop);
    }
    hops.reverse();
    Ok(hops)
}
