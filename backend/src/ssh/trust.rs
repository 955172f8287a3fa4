//! What happens to the key a hop presented: pinned on first use (trust-on-first-use policy),
//! or held for an admin's approval (strict policy). Both are audited; the check against an
//! existing pin happens during the handshake itself (`host_key.rs`), before any credential is
//! sent.

use serde_json::json;

use super::host_key::{PresentedKey, Trust};
use super::SshError;
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::HostKeyPolicy;
use crate::db::server;
use crate::servers::service;
use crate::state::AppState;

/// The trust the configured policy gives `hop` right now.
pub fn trust_for(state: &AppState, hop: &server::Model) -> Trust {
    Trust::for_pin(
        hop.host_key_fingerprint.as_ref(),
        state.config.host_key_policy == HostKeyPolicy::Strict,
    )
}

/// After a hop's handshake: pin its key when it had none (trust on first use). When another
/// connection pinned first, this one must match that pin.
pub async fn pin_if_new(
    state: &AppState,
    actor: &Actor,
    hop: &server::Model,
    key: &PresentedKey,
) -> Result<(), SshError> {
    if hop.host_key_fingerprint.is_some() {
        return Ok(());
    }
    match service::pin_host_key(&state.db, hop.id, &key.fingerprint, &key.openssh).await {
        Ok(true) => {
            audit::record(
                &state.db,
                actor,
                Event::new("server.host_key_pinned")
                    .server(Some(hop.id))
                    .details(json!({"fingerprint": key.fingerprint, "source": "first_use"})),
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

/// Strict policy: a hop presented a key no admin has approved. Hold it for approval (audited
/// when it is new or differs from the key already held).
pub async fn hold_for_approval(
    state: &AppState,
    actor: &Actor,
    hop: &server::Model,
    error: &SshError,
) {
    let SshError::HostKeyUnapproved { presented, .. } = error.root() else {
        return;
    };
    match service::hold_host_key(
        &state.db,
        hop.id,
        &presented.fingerprint,
        &presented.openssh,
    )
    .await
    {
        Ok(true) => {
            audit::record(
                &state.db,
                actor,
                Event::new("server.host_key_pending")
                    .server(Some(hop.id))
                    .outcome(Outcome::Denied)
                    .details(json!({"fingerprint": presented.fingerprint})),
            )
            .await;
        }
        Ok(false) => {}
        Err(e) => tracing::error!(server_id = hop.id, error = %e, "could not hold host key"),
    }
}
