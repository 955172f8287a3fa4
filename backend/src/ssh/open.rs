//! Connecting to a registered server on behalf of a user: decrypt its credential, connect with the
//! configured deadlines, verify the host key against the pin, pin it on first use (audited), and
//! audit a failure. Terminals and the SFTP pool both come through here, so trust is the same on
//! every path.

use std::time::Duration;

use serde_json::json;

use super::{connect, Connection, SshError, Target, Timeouts};
use crate::audit::{self, Actor};
use crate::config::Config;
use crate::db::server;
use crate::servers::service;
use crate::state::AppState;

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
    let credential =
        service::credential(&state.vault, server).map_err(|_| SshError::CredentialsMissing)?;
    let target = Target {
        host: server.hostname.clone(),
        port: u16::try_from(server.port).unwrap_or(22),
        username: server.username.clone(),
        credential,
        pinned_fingerprint: server.host_key_fingerprint.clone(),
    };
    let connection = tokio::select! {
        r = connect(target, timeouts(&state.config)) => r?,
        _ = state.shutdown.cancelled() => return Err(SshError::ShuttingDown),
    };
    if server.host_key_fingerprint.is_none() {
        let key = &connection.presented;
        match service::pin_host_key(&state.db, server.id, &key.fingerprint, &key.openssh).await {
            Ok(true) => {
                audit::record(
                    &state.db,
                    actor,
                    "server.host_key_pinned",
                    Some(server.id),
                    json!({"fingerprint": key.fingerprint}),
                )
                .await
            }
            // Someone pinned first (a concurrent connection): verify against their pin instead
            // of trusting ours.
            Ok(false) => {
                let pinned = service::get(&state.db, server.id)
                    .await
                    .ok()
                    .and_then(|s| s.host_key_fingerprint);
                if let Some(pinned) = pinned.filter(|p| *p != key.fingerprint) {
                    return Err(SshError::HostKeyMismatch {
                        host: server.hostname.clone(),
                        pinned,
                        presented: key.fingerprint.clone(),
                    });
                }
            }
            Err(e) => tracing::error!(server_id = server.id, error = %e, "could not pin host key"),
        }
    }
    Ok(connection)
}
