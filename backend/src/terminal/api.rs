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

use super::registry::SessionInfo;
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

/// The session if it is live and the caller's; 404 `session_not_found` otherwise.
pub fn find_owned(
    state: &AppState,
    user: &CurrentUser,
    session_id: &str,
) -> ApiResult<(SessionInfo, mpsc::Sender<Command>)> {
    state
        .terminals
        .owned(session_id, user.user.id)
        .ok_or_else(session_not_found)
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
    let sessions = state
        .terminals
        .of_user(user.user.id)
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
    let (_, commands) = find_owned(&state, &user, &session_id)?;
    commands
        .send(Command::Close(CloseReason::Requested))
        .await
        .map_err(|_| session_not_found())?;
    // The hub drops its command queue once it has unlisted the session.
    let _ = tokio::time::timeout(CLOSE_WAIT, commands.closed()).await;
    Ok(StatusCode::NO_CONTENT)
}
