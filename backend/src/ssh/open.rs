//! Connecting to a registered server on behalf of a user: follow its jump chain, decrypt each
//! hop's credential, connect with the configured deadlines, verify every hop's host key against
//! its pin, pin on first use (audited), and audit a failure. Terminals and the SFTP pool both come through here, so trust is the same on
//! every path.

use std::time::Duration;

use serde_json::json;

use super::connect::connect_timed;
use super::host_key::PresentedKey;
use super::{connect, Connection, SshError, Target, Timeouts};
use crate::audit::{self, Actor};
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

/// Opens an authenticated connection to `server`. `purpose` names the caller in audit rows
/// (`terminal`, `sftp`): a failure is recorded as `<purpose>.connect_failed`.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    purpose: &str,
) -> Result<Connection, SshError> {
    let result = connect_and_pin(state, actor, server).await;
    if let Err(e) = &result {
        audit::record(
            &state.db,
            actor,
            &format!("{purpose}.connect_failed"),
            Some(server.id),
            json!({"code": e.code(), "error": e.to_string()}),
        )
        .await;
    }
    result
}

async fn connect_and_pin(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
) -> Result<Connection, SshError> {
    let hops = chain(state, server).await?;
    let targets = targets(state, &hops, server)?;
    let connection = tokio::select! {
        r = connect(targets, timeouts(&state.config)) => r?,
        _ = state.shutdown.cancelled() => return Err(SshError::ShuttingDown),
    };
    pin_new_keys(state, actor, &hops, &connection).await?;
    Ok(connection)
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
        if let Err(e) = pin_new_keys(state, actor, &hops, connection).await {
            tracing::warn!(server_id = server.id, error = %e, "pin during a test failed");
        }
        let _ = connection
            .handle
            .disconnect(russh::Disconnect::ByApplication, "test done", "en")
            .await;
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
fn targets(
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
            pinned_fingerprint: hop.host_key_fingerprint.clone(),
        });
    }
    Ok(targets)
}

/// The servers to pass through, bastions first and `server` last, following `jump_via_id`.
/// Saving a server already refuses cycles and missing hops; this re-checks, since a bastion may
/// have been deleted or re-pointed since.
async fn chain(state: &AppState, server: &server::Model) -> Result<Vec<server::Model>, SshError> {
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

/// Pins every hop of a fresh connection that had no pin yet, stopping at the first conflict.
async fn pin_new_keys(
    state: &AppState,
    actor: &Actor,
    hops: &[server::Model],
    connection: &Connection,
) -> Result<(), SshError> {
    for (hop, key) in hops.iter().zip(&connection.presented) {
        if hop.host_key_fingerprint.is_none() {
            pin_first_use(state, actor, hop, key).await?;
        }
    }
    Ok(())
}

/// Trust on first use for one hop: pin the key it presented (audited). When another connection
/// pinned first, this one must match that pin.
async fn pin_first_use(
    state: &AppState,
    actor: &Actor,
    hop: &server::Model,
    key: &PresentedKey,
) -> Result<(), SshError> {
    match service::pin_host_key(&state.db, hop.id, &key.fingerprint, &key.openssh).await {
        Ok(true) => {
            audit::record(
                &state.db,
                actor,
                "server.host_key_pinned",
                Some(hop.id),
                json!({"fingerprint": key.fingerprint}),
            )
            .await;
        }
        Ok(false) => {
            let pinned = service::get(&state.db, hop.id)
                .await
                .ok()
                .and_then(|s| s.host_key_fingerprint);
            if let Some(pinned) = pinned.filter(|p| *p != key.fingerprint) {
                return Err(SshError::HostKeyMismatch {
                    host: hop.hostname.clone(),
                    pinned,
                    presented: key.fingerprint.clone(),
                });
            }
        }
        Err(e) => tracing::error!(server_id = hop.id, error = %e, "could not pin host key"),
    }
    Ok(())
}
