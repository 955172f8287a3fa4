//! One probe: reach a server through its jump chain and complete the SSH handshake with its
//! host-key check — no authentication to the server itself, no shell, nothing pinned.
//!
//! Bastions are logged in to with their own stored credentials (opening `direct-tcpip` needs an
//! authenticated session) and verified against their pins exactly as a terminal would. The final
//! hop only shows its host key: a pinned server must present the pinned key (a mismatch is a
//! failure coded `host_key_mismatch`); an unpinned one is accepted and left unpinned, whatever the
//! host-key policy, because the monitor sends it nothing secret and trust is granted only when a
//! person connects.

use std::time::{Duration, Instant};

use russh::client::Handle;

use crate::db::server;
use crate::ssh::connect::{dial, handshake, login_hop, Timeouts};
use crate::ssh::host_key::{HostKeyCheck, Trust};
use crate::ssh::open::{chain, targets};
use crate::ssh::SshError;
use crate::state::AppState;

use super::store::Outcome;

/// How long a goodbye to a probed host may take before the connection is just dropped.
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);

/// The deadlines of one probe: the monitor's own timeout for every network step.
pub fn timeouts(state: &AppState) -> Timeouts {
    let step = Duration::from_secs(state.config.monitor_timeout_secs.max(1));
    let mut timeouts = crate::ssh::open::timeouts(&state.config);
    timeouts.connect = step;
    timeouts.auth = timeouts.auth.min(step);
    timeouts
}

/// Probes `server` and says what happened. Every step has its deadline; the whole probe is also
/// bounded, so a host that trickles bytes cannot hold a probe slot for long.
pub async fn probe(state: &AppState, server: &server::Model, timeouts: Timeouts) -> Outcome {
    let started = Instant::now();
    // TCP + handshake per hop, plus authentication at each bastion.
    let hops = u32::try_from(chain_len(server)).unwrap_or(u32::MAX);
    let bound = timeouts
        .connect
        .saturating_mul(2)
        .saturating_add(timeouts.auth)
        .saturating_mul(hops);
    let result = match tokio::time::timeout(bound, reach(state, server, timeouts)).await {
        Ok(result) => result,
        Err(_) => Err(SshError::Timeout("probing the server")),
    };
    match result {
        Ok(()) => Outcome::Reachable {
            latency: started.elapsed(),
        },
        Err(e) => Outcome::Failed {
            code: e.code(),
            message: e.to_string(),
        },
    }
}

/// An upper estimate of the hops, before the chain is loaded (it is re-checked there).
fn chain_len(server: &server::Model) -> usize {
    if server.jump_via_id.is_some() {
        crate::servers::service::MAX_CHAIN_DEPTH + 1
    } else {
        1
    }
}

async fn reach(
    state: &AppState,
    server: &server::Model,
    timeouts: Timeouts,
) -> Result<(), SshError> {
    let hops = chain(state, server).await?;
    let bastions = hops.get(..hops.len().saturating_sub(1)).unwrap_or(&[]);
    // Only the bastions need a credential; the server's own is never decrypted here.
    let bastions = targets(state, bastions, server)?;
    let mut via: Vec<Handle<HostKeyCheck>> = Vec::with_capacity(bastions.len());
    let result = async {
        for bastion in &bastions {
            let (handle, _) = login_hop(via.last(), bastion, timeouts)
                .await
                .map_err(|e| bastion.blame(e))?;
            via.push(handle);
        }
        let port = u16::try_from(server.port).unwrap_or(22);
        let stream = dial(via.last(), &server.hostname, port, timeouts).await?;
        let trust = match &server.host_key_fingerprint {
            Some(pin) => Trust::Pinned(pin.clone()),
            None => Trust::FirstUse,
        };
        let (handle, _) = handshake(stream, &server.hostname, port, trust, timeouts).await?;
        say_goodbye(handle).await;
        Ok(())
    }
    .await;
    while let Some(bastion) = via.pop() {
        say_goodbye(bastion).await;
    }
    result
}

async fn say_goodbye(handle: Handle<HostKeyCheck>) {
    let bye = handle.disconnect(russh::Disconnect::ByApplication, "probe", "en");
    let _ = tokio::time::timeout(DISCONNECT_GRACE, bye).await;
}
