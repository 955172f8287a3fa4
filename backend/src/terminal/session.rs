//! Starting a terminal session and seeing it to its end: a shell channel on the user's pooled
//! connection, a PTY and a shell, the hub and the input half, the registry entry, and the audit
//! rows `terminal.open` / `terminal.close`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::timeout;
use wire::terminal::codes;

use super::hub::{Activity, Hub, Settings};
use super::input::Input;
use super::registry::{SessionInfo, Slot};
use super::remote;
use super::viewer::{Attached, Command, HubEnd};
use crate::audit::{self, Actor, Event, Outcome};
use crate::config::Config;
use crate::db::server;
use crate::recordings::{self, Recorder};
use crate::ssh;
use crate::state::AppState;

/// Commands waiting for a hub (attach requests, a close).
const COMMAND_QUEUE: usize = 8;

/// A session that has just started, with the opening socket as its owner.
pub struct Started {
    pub session_id: String,
    pub attached: Attached,
    pub commands: mpsc::Sender<Command>,
}

/// Why a session could not start: an error-frame code and message.
pub struct StartError {
    pub code: &'static str,
    pub message: String,
}

fn settings(config: &Config) -> Settings {
    Settings {
        grace: Duration::from_secs(config.terminal_detach_grace_secs),
        idle: (config.terminal_idle_timeout_secs > 0)
            .then(|| Duration::from_secs(config.terminal_idle_timeout_secs)),
        replay_bytes: config.terminal_replay_bytes,
        lag_bytes: config.terminal_lag_bytes.max(1),
    }
}

async fn connect_failed(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    code: &str,
    message: &str,
) {
    let details = json!({"code": code, "error": message});
    audit::record(
        &state.db,
        actor,
        Event::new("terminal.connect_failed")
            .server(Some(server.id))
            .outcome(Outcome::Failure)
            .details(details),
    )
    .await;
}

/// Starts the session's recording if its server's policy says so.
async fn record(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    session_id: &str,
    cols: u32,
    rows: u32,
) -> Result<Option<Recorder>, String> {
    if !recordings::records(&state.config, server) {
        return Ok(None);
    }
    let session = recordings::Session {
        session_id,
        server,
        user_id: actor.user_id.unwrap_or_default(),
        username: actor.username.as_deref().unwrap_or_default(),
        cols,
        rows,
    };
    recordings::start(&state.db, &state.config, session)
        .await
        .map(Some)
}

/// Opens a shell on `server` for `actor` at `cols`×`rows` and starts its hub, which holds
/// `slot` (the user's session count) until the session ends.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    cols: u32,
    rows: u32,
    slot: Slot,
) -> Result<Started, StartError> {
    let (lease, channel) = ssh::session_channel(state, actor, server, "terminal")
        .await
        .map_err(|e| StartError {
            code: e.code(),
            message: e.to_string(),
        })?;
    let opened = timeout(ssh::open::timeouts(&state.config).auth, async {
        channel
            .request_pty(false, "xterm-256color", cols, rows, 0, 0, &[])
            .await?;
        channel.request_shell(true).await
    })
    .await;
    let failure = match opened {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some((codes::SSH_ERROR, format!("cannot open a shell: {e}"))),
        Err(_) => Some((codes::TIMEOUT, "timed out opening a shell".into())),
    };
    if let Some((code, message)) = failure {
        let _ = timeout(Duration::from_secs(2), channel.close()).await;
        connect_failed(state, actor, server, code, &message).await;
        return Err(StartError { code, message });
    }

    let session_id = uuid::Uuid::new_v4().to_string();
    let started_at = Utc::now();
    let recorder = match record(state, actor, server, &session_id, cols, rows).await {
        Ok(recorder) => recorder,
        Err(message) => {
            let _ = timeout(Duration::from_secs(2), channel.close()).await;
            let code = codes::RECORDING_FAILED;
            connect_failed(state, actor, server, code, &message).await;
            tracing::error!(error = %message, "a session that must be recorded could not be");
            let message = "this server's sessions are recorded, and the recording could not be \
                           started; ask an administrator to check the gateway's disk"
                .to_owned();
            return Err(StartError { code, message });
        }
    };
    let (reader, writer) = channel.split();
    let activity = Arc::new(Activity::new());
    let input = Input::new(writer, activity.clone(), recorder.clone());
    let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
    let (hub, attached) = Hub::new(
        session_id.clone(),
        state.terminals.clone(),
        settings(&state.config),
        activity,
        input.clone(),
        recorder.clone(),
    );
    let info = SessionInfo {
        user_id: actor.user_id.unwrap_or_default(),
        owner: actor.username.clone().unwrap_or_default(),
        server_id: server.id,
        server_name: server.name.clone(),
        started_at,
        attached: true,
        cols,
        rows,
        recorder: recorder.clone(),
    };
    state
        .terminals
        .insert(&session_id, info.clone(), commands.clone());
    remote::announce(state, &session_id, &info).await;
    audit::record(&state.db, actor, Event::new("terminal.open").target(&session_id).server(Some(server.id)).details(json!({"session_id": session_id, "cols": cols, "rows": rows, "recorded": recorder.is_some()})))
    .await;

    let (state2, actor2, id, server_id) =
        (state.clone(), actor.clone(), session_id.clone(), server.id);
    state.terminals.tracker().spawn(async move {
        let end = hub.run(reader, commands_rx, state2.shutdown.clone()).await;
        remote::withdraw(&state2, &id, info.user_id).await;
        // Close this channel only (ending the shell); the connection stays pooled for the user.
        input.close().await;
        drop(lease);
        drop(slot);
        // The shell has ended, so nothing more can reach the cast: finalise it.
        if let Some(recorder) = recorder {
            recorder.finish().await;
        }
        let exit_code = match end {
            HubEnd::Exited(code) => code,
            _ => None,
        };
        audit::record(
            &state2.db,
            &actor2,
            Event::new("terminal.close")
                .target(&id)
                .server(Some(server_id))
                .details(json!({
                    "session_id": id,
                    "reason": end.reason(),
                    "exit_code": exit_code,
                    "duration_secs": (Utc::now() - started_at).num_seconds(),
                })),
        )
        .await;
    });
    Ok(Started {
        session_id,
        attached,
        commands,
    })
}
