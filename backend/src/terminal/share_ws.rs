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
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wire::terminal::codes;
use wire::users::Role as UserRole;

use super::api::session_not_found;
use super::attachment::{self, Binding, Role};
use super::handler::{fail, upgrade, usable_server, Upgrade};
use super::registry::SessionInfo;
use super::remote::protocol::{Call, Joiner};
use super::remote::proxy::{self, BindError};
use super::remote::{self, directory, Found, Remote};
use super::sharing::{Mode, Participant};
use super::viewer::{Attached, Command};
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::crypto::token::token_digest;
use crate::error::extract::Path;
use crate::error::{ApiError, ApiResult};
use crate::recordings::{Leave, Recorder};
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
    let found = match state.terminals.sharing().find(&token) {
        Some((session_id, _)) => remote::find(&state, &session_id)
            .await
            .map(|found| (session_id, found)),
        None => find_remote_share(&state, &token).await,
    };
    let (session_id, found) = found.ok_or_else(share_not_found)?;
    match usable_server(&state, &user, found.server_id()).await {
        Ok(_) => {}
        Err(ApiError::NotFound(_) | ApiError::Forbidden) => return Err(ApiError::Forbidden),
        Err(e) => return Err(e),
    }
    let share = Some(token_digest(&token));
    admit(state, &user, session_id, found, share, ws).await
}

/// The session a link made on another replica leads to.
async fn find_remote_share(state: &AppState, token: &str) -> Option<(String, Found)> {
    let cluster = state.cluster.as_ref()?;
    let session_id = match directory::share_session(cluster, &token_digest(token)).await {
        Ok(found) => found?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look a share link up in redis");
            return None;
        }
    };
    let found = remote::find(state, &session_id).await?;
    Some((session_id, found))
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
    let found = remote::find(&state, &session_id)
        .await
        .ok_or_else(session_not_found)?;
    admit(state, &user, session_id, found, None, ws).await
}

/// Joins the socket; `share` is the link's digest (`None`: watching). A session on another
/// replica is bound before the upgrade, so a refusal there is still a plain HTTP answer.
async fn admit(
    state: AppState,
    user: &CurrentUser,
    session_id: String,
    found: Found,
    share: Option<String>,
    ws: Upgrade,
) -> ApiResult<Response> {
    let actor = Actor::from(&**user);
    let joiner = Joiner {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.user.id,
        username: user.user.username.clone(),
    };
    let pending = match found {
        Found::Local(info, commands) => Err((info, commands)),
        Found::Remote(r) => Ok(remote_view(&state, &r, share.clone(), joiner.clone()).await?),
    };
    let tracker = state.terminals.tracker().clone();
    Ok(upgrade(ws)?.on_upgrade(move |socket| {
        tracker.track_future(async move {
            let view = match pending {
                Ok(view) => Some(view),
                Err((info, commands)) => {
                    local_view(&state, &session_id, info, commands, share, joiner).await
                }
            };
            match view {
                Some(view) => run(state, actor, session_id, view, socket).await,
                None => {
                    let message = "the session has ended".to_string();
                    fail(socket, codes::SESSION_NOT_FOUND, message).await
                }
            }
        })
    }))
}

/// A participant's view of a session, wherever it runs.
struct View {
    server_id: i32,
    owner: String,
    participant: Arc<Participant>,
    attached: Attached,
    commands: mpsc::Sender<Command>,
    /// Set when the session runs here: the roster and recording marks, ended after the socket.
    participation: Option<Participation>,
}

async fn local_view(
    state: &AppState,
    session_id: &str,
    info: SessionInfo,
    commands: mpsc::Sender<Command>,
    share: Option<String>,
    joiner: Joiner,
) -> Option<View> {
    let (mode, via_share) = match &share {
        // The link is checked again: it may have been revoked since the upgrade began.
        Some(digest) => {
            let (id, mode) = state.terminals.sharing().find_digest(digest)?;
            (id == session_id).then_some((mode, true))?
        }
        None => (Mode::ReadOnly, false),
    };
    let participant = Arc::new(Participant::with_id(
        joiner.id,
        joiner.user_id,
        joiner.username,
        mode,
        via_share,
    ));
    let (participation, attached) =
        Participation::begin(state, session_id, &info, &commands, participant.clone()).await?;
    Some(View {
        server_id: info.server_id,
        owner: info.owner,
        participant,
        attached,
        commands,
        participation: Some(participation),
    })
}

async fn remote_view(
    state: &AppState,
    r: &Remote,
    share: Option<String>,
    joiner: Joiner,
) -> ApiResult<View> {
    let via_share = share.is_some();
    let (id, user_id, username) = (joiner.id.clone(), joiner.user_id, joiner.username.clone());
    let call = |bridge| Call::Join {
        bridge,
        session_id: r.session_id.clone(),
        share,
        participant: joiner,
    };
    let lag = state.config.terminal_lag_bytes;
    let proxied = match proxy::bind(&r.cluster, &r.entry.replica, lag, false, call).await {
        Ok(proxied) => proxied,
        Err(BindError::NotFound) if via_share => return Err(share_not_found()),
        Err(BindError::NotFound) => return Err(session_not_found()),
        Err(BindError::Cluster(e)) => return Err(remote::unavailable(e)),
    };
    let participant = Arc::new(Participant::with_id(
        id,
        user_id,
        username,
        proxied.mode,
        via_share,
    ));
    Ok(View {
        server_id: r.entry.server_id,
        owner: proxied.owner,
        participant,
        attached: proxied.attached,
        commands: proxied.commands,
        participation: None,
    })
}

async fn run(state: AppState, actor: Actor, session_id: String, view: View, socket: WebSocket) {
    let participant = view.participant;
    let details = json!({
        "session_id": session_id,
        "participant_id": participant.id,
        "owner": view.owner,
        "mode": participant.mode.as_str(),
        "via": if participant.via_share { "share" } else { "watch" },
    });
    audit::record(
        &state.db,
        &actor,
        Event::new("terminal.join")
            .target(&session_id)
            .server(Some(view.server_id))
            .details(details),
    )
    .await;
    let binding = Binding {
        session_id: session_id.clone(),
        attached: view.attached,
        commands: view.commands,
        replay: true,
        role: Role::Joiner {
            participant: participant.clone(),
            owner: view.owner,
        },
        roster: None,
    };
    attachment::run(&state, socket, binding).await;
    if let Some(participation) = view.participation {
        participation.end().await;
    }
    audit::record(
        &state.db,
        &actor,
        Event::new("terminal.leave")
            .target(&session_id)
            .server(Some(view.server_id))
            .details(json!({
                "session_id": session_id,
                "participant_id": participant.id,
                "bytes_typed": participant.typed.load(Ordering::Relaxed),
            })),
    )
    .await;
}

/// A participant in a session that runs here, from its join to its leave: on the roster the
/// owner sees, and marked in the session's recording. Both a local socket and a bridge from
/// another replica take part through this.
pub struct Participation {
    state: AppState,
    session_id: String,
    participant: Arc<Participant>,
    /// Marks the departure in the recording the moment the participant is removed (a kick, a
    /// revoked link or access), not when its socket has finished closing, so the cast's
    /// timeline shows the removal where it happened.
    marker: Option<(Recorder, CancellationToken, JoinHandle<bool>)>,
}

impl Participation {
    /// Joins `participant` to the session; `None` when the session ended meanwhile.
    pub async fn begin(
        state: &AppState,
        session_id: &str,
        info: &SessionInfo,
        commands: &mpsc::Sender<Command>,
        participant: Arc<Participant>,
    ) -> Option<(Participation, Attached)> {
        let attached = attachment::request_join(commands, participant.id.clone()).await?;
        state
            .terminals
            .sharing()
            .join(session_id, participant.clone());
        let mode = if participant.via_share {
            participant.mode.as_str()
        } else {
            "watch"
        };
        let marker = match &info.recorder {
            Some(recorder) => {
                recorder.joined(&participant.username, mode).await;
                let (p, r, stop) = (
                    participant.clone(),
                    recorder.clone(),
                    CancellationToken::new(),
                );
                let stopped = stop.clone();
                let watch = tokio::spawn(async move {
                    tokio::select! {
                        code = p.kicked() => {
                            r.left(&p.username, leave_of(Some(code))).await;
                            true
                        }
                        _ = stopped.cancelled() => false,
                    }
                });
                Some((recorder.clone(), stop, watch))
            }
            None => None,
        };
        let participation = Participation {
            state: state.clone(),
            session_id: session_id.to_owned(),
            participant,
            marker,
        };
        Some((participation, attached))
    }

    pub async fn end(self) {
        let p = &self.participant;
        self.state
            .terminals
            .sharing()
            .leave(&self.session_id, &p.id);
        if let Some((recorder, stop, watch)) = self.marker {
            stop.cancel();
            // Unless the removal was marked already, this is a plain leave.
            if !watch.await.unwrap_or(false) {
                recorder.left(&p.username, leave_of(p.kicked_with())).await;
            }
        }
    }
}

/// How a participant that was removed with `code` (or left: `None`) is marked in the recording.
fn leave_of(code: Option<&str>) -> Leave {
    match code {
        Some(codes::SHARE_REVOKED) => Leave::Revoked,
        Some(codes::ACCESS_REVOKED) => Leave::AccessRevoked,
        Some(_) => Leave::Kicked,
        None => Leave::Left,
    }
}
