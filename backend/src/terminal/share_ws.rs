//! Joining someone else's live session. `GET /api/ws/terminal/join/{share_token}` admits a
//! signed-in user who may use the session's server, in the link's mode; `GET
//! /api/ws/terminal/watch/{session_id}` lets admins and auditors watch any live session,
//! read-only, without a link. Joiner frames: `session`, `joined`, `replay` and the replay, then
//! live output. Everything refusable is refused before the upgrade: 404 `share_not_found`
//! (unknown, expired or revoked, never told apart) or 403 `forbidden`.
//!
//! The token is in the path (the contract); nothing in the gateway logs request paths, and the
//! audit rows name the share's session, never the token.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::WebSocket;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use tokio::sync::mpsc;
use wire::terminal::codes;
use wire::users::Role as UserRole;

use super::api::session_not_found;
use super::attachment::{self, Binding, Role};
use super::handler::{fail, upgrade, usable_server, Upgrade};
use super::registry::SessionInfo;
use super::sharing::{Mode, Participant};
use super::viewer::Command;
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::error::extract::Path;
use crate::error::{ApiError, ApiResult};
use crate::recordings::Leave;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/ws/terminal/join/{share_token}", get(join))
        .route("/api/ws/terminal/watch/{session_id}", get(watch))
}

pub fn share_not_found() -> ApiError {
    ApiError::coded(
        StatusCode::NOT_FOUND,
        codes::SHARE_NOT_FOUND,
        "no such share link (it may have expired or been revoked)",
    )
}

async fn join(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(token): Path<String>,
    ws: Upgrade,
) -> ApiResult<Response> {
    let (session_id, mode) = state
        .terminals
        .sharing()
        .find(&token)
        .ok_or_else(share_not_found)?;
    let (info, commands) = state
        .terminals
        .get(&session_id)
        .ok_or_else(share_not_found)?;
    match usable_server(&state, &user, info.server_id).await {
        Ok(_) => {}
        Err(ApiError::NotFound(_) | ApiError::Forbidden) => return Err(ApiError::Forbidden),
        Err(e) => return Err(e),
    }
    admit(state, &user, session_id, info, commands, mode, true, ws)
}

async fn watch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
    ws: Upgrade,
) -> ApiResult<Response> {
    if !matches!(user.role(), UserRole::Admin | UserRole::Auditor) {
        return Err(ApiError::Forbidden);
    }
    let (info, commands) = state
        .terminals
        .get(&session_id)
        .ok_or_else(session_not_found)?;
    let mode = Mode::ReadOnly;
    admit(state, &user, session_id, info, commands, mode, false, ws)
}

#[allow(clippy::too_many_arguments)]
fn admit(
    state: AppState,
    user: &CurrentUser,
    session_id: String,
    info: SessionInfo,
    commands: mpsc::Sender<Command>,
    mode: Mode,
    via_share: bool,
    ws: Upgrade,
) -> ApiResult<Response> {
    let actor = Actor::from(&**user);
    let participant = Arc::new(Participant::new(
        user.user.id,
        user.user.username.clone(),
        mode,
        via_share,
    ));
    let tracker = state.terminals.tracker().clone();
    Ok(upgrade(ws)?.on_upgrade(move |socket| {
        tracker.track_future(run(
            state,
            actor,
            session_id,
            info,
            commands,
            participant,
            socket,
        ))
    }))
}

async fn run(
    state: AppState,
    actor: Actor,
    session_id: String,
    info: SessionInfo,
    commands: mpsc::Sender<Command>,
    participant: Arc<Participant>,
    socket: WebSocket,
) {
    let Some(attached) = attachment::request_join(&commands, participant.id.clone()).await else {
        let message = "the session has ended".to_string();
        return fail(socket, codes::SESSION_NOT_FOUND, message).await;
    };
    let sharing = state.terminals.sharing().clone();
    sharing.join(&session_id, participant.clone());
    let mode = if participant.via_share {
        participant.mode.as_str()
    } else {
        "watch"
    };
    if let Some(recorder) = &info.recorder {
        recorder.joined(&participant.username, mode).await;
    }
    let details = json!({
        "session_id": session_id,
        "participant_id": participant.id,
        "owner": info.owner,
        "mode": participant.mode.as_str(),
        "via": if participant.via_share { "share" } else { "watch" },
    });
    audit::record(
        &state.db,
        &actor,
        Event::new("terminal.join")
            .target(&session_id)
            .server(Some(info.server_id))
            .details(details),
    )
    .await;
    let binding = Binding {
        session_id: session_id.clone(),
        attached,
        commands,
        replay: true,
        role: Role::Joiner {
            participant: participant.clone(),
            owner: info.owner.clone(),
        },
    };
    attachment::run(&state, socket, binding).await;
    sharing.leave(&session_id, &participant.id);
    if let Some(recorder) = &info.recorder {
        let how = match participant.kicked_with() {
            Some(codes::SHARE_REVOKED) => Leave::Revoked,
            Some(codes::ACCESS_REVOKED) => Leave::AccessRevoked,
            Some(_) => Leave::Kicked,
            None => Leave::Left,
        };
        recorder.left(&participant.username, how).await;
    }
    audit::record(
        &state.db,
        &actor,
        Event::new("terminal.leave")
            .target(&session_id)
            .server(Some(info.server_id))
            .details(json!({
                "session_id": session_id,
                "participant_id": participant.id,
                "bytes_typed": participant.typed.load(Ordering::Relaxed),
            })),
    )
    .await;
}
