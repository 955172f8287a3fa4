//! The REST side of live terminal sessions: `GET /api/terminal/sessions` lists the caller's
//! (the UI reopens a tab for each after a reload), `DELETE /api/terminal/sessions/{id}` ends one,
//! `GET /api/terminal/limits` tells the settings. Only a session's owner ever learns that it
//! exists.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use tokio::sync::mpsc;
use wire::terminal::{codes, Limits, SessionView};

use super::remote::directory::{self, Entry};
use super::remote::protocol::{Answer, Call};
use super::remote::{self, Found};
use super::viewer::{CloseReason, Command};
use crate::auth::CurrentUser;
use crate::error::extract::Path;
use crate::error::{ApiError, ApiResult};
use crate::servers::service;
use crate::state::AppState;

/// How long `DELETE` waits for the session to be gone before answering anyway.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/terminal/sessions", get(list))
        .route("/api/terminal/sessions/{session_id}", delete(close))
        .route("/api/terminal/limits", get(limits))
}

#[utoipa::path(
    get,
    path = "/api/terminal/limits",
    tag = "terminal",
    operation_id = "terminal_limits",
    responses(
        (status = 200, description = "The live-session settings", body = wire::terminal::Limits),
    )
)]
async fn limits(State(state): State<AppState>, _user: CurrentUser) -> Json<Limits> {
    let c = &state.config;
    Json(Limits {
        max_sessions_per_user: c.terminal_max_sessions_per_user as u64,
        detach_grace_secs: c.terminal_detach_grace_secs,
        idle_timeout_secs: c.terminal_idle_timeout_secs,
        replay_bytes: c.terminal_replay_bytes as u64,
    })
}

pub fn session_not_found() -> ApiError {
    ApiError::coded(
        StatusCode::NOT_FOUND,
        codes::SESSION_NOT_FOUND,
        "no such terminal session",
    )
}

/// The session, here or on another replica, if it is live and the caller's; 404
/// `session_not_found` otherwise.
pub async fn find_owned(
    state: &AppState,
    user: &CurrentUser,
    session_id: &str,
) -> ApiResult<Found> {
    match remote::find(state, session_id).await {
        Some(found) if found.user_id() == user.user.id => Ok(found),
        _ => Err(session_not_found()),
    }
}

/// Ends a session that runs here and waits (a little) until it is gone, so an attach right
/// after finds nothing.
pub async fn close_and_wait(commands: &mpsc::Sender<Command>, reason: CloseReason) -> bool {
    if commands.send(Command::Close(reason)).await.is_err() {
        return false;
    }
    // The hub drops its command queue once it has unlisted the session.
    let _ = tokio::time::timeout(CLOSE_WAIT, commands.closed()).await;
    true
}

/// Ends the session wherever it runs; false when it was already gone.
pub async fn end_session(found: &Found, reason: CloseReason) -> bool {
    match found {
        Found::Local(_, commands) => close_and_wait(commands, reason).await,
        Found::Remote(r) => {
            let call = Call::Close {
                session_id: r.session_id.clone(),
                access_revoked: reason == CloseReason::AccessRevoked,
            };
            matches!(r.call(&call).await, Ok(Answer::Done))
        }
    }
}

/// The caller's live sessions on servers they may still use, oldest first.
#[utoipa::path(
    get,
    path = "/api/terminal/sessions",
    tag = "terminal",
    operation_id = "terminal_sessions_list",
    responses(
        (status = 200, description = "The caller's live sessions, detached ones included", body = Vec<wire::terminal::SessionView>),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<SessionView>>> {
    let usable: HashSet<i32> = service::list_visible(&state.db, &user)
        .await?
        .into_iter()
        .filter(|s| s.ssh_enabled)
        .map(|s| s.id)
        .collect();
    let mut sessions: Vec<(String, Entry)> = state
        .terminals
        .of_user(user.user.id)
        .into_iter()
        .map(|(id, info)| (id, Entry::of("", &info)))
        .collect();
    // Those other replicas run, when there are others.
    if let Some(cluster) = &state.cluster {
        match directory::of_user(cluster, user.user.id).await {
            Ok(all) => {
                let here: HashSet<String> = sessions.iter().map(|(id, _)| id.clone()).collect();
                let elsewhere = all
                    .into_iter()
                    .filter(|(id, e)| e.replica != cluster.replica() && !here.contains(id));
                sessions.extend(elsewhere);
            }
            Err(e) => tracing::warn!(error = %e, "listing only this replica's terminals"),
        }
    }
    sessions.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then(a.0.cmp(&b.0)));
    let sessions = sessions
        .into_iter()
        .filter(|(_, s)| usable.contains(&s.server_id))
        .map(|(session_id, s)| SessionView {
            session_id,
            server_id: s.server_id,
            server_name: s.server_name,
            started_at: s.started_at.to_rfc3339(),
            attached: s.attached,
            cols: u16::try_from(s.cols).unwrap_or(u16::MAX),
            rows: u16::try_from(s.rows).unwrap_or(u16::MAX),
        })
        .collect();
    Ok(Json(sessions))
}

/// Ends the session (its shell is closed, an attached socket is told `session_closed`) and
/// answers once it is gone, so an attach right after finds nothing.
#[utoipa::path(
    delete,
    path = "/api/terminal/sessions/{session_id}",
    tag = "terminal",
    operation_id = "terminal_sessions_close",
    params(("session_id" = String, Path, description = "The live session")),
    responses(
        (status = 204, description = "The session is ended"),
    )
)]
async fn close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
) -> ApiResult<StatusCode> {
    let found = find_owned(&state, &user, &session_id).await?;
    if !end_session(&found, CloseReason::Requested).await {
        return Err(session_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
