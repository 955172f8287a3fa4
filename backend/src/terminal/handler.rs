//! The terminal WebSockets. `GET /api/ws/terminal/{server_id}?cols=&rows=` starts a session and
//! binds the socket to it; `GET /api/ws/terminal/attach/{session_id}?cols=&rows=&offset=` binds
//! a new socket to a live session of the caller's (after a reload or a network loss), replaying
//! recent output first. Everything that can be refused is refused before the upgrade, with a
//! normal HTTP error.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use wire::terminal::codes;

use super::api::{end_session, find_owned, session_not_found};
use super::attachment::{self, Binding, Outcome, Role};
use super::registry::clamp_dims;
use super::remote::protocol::Call;
use super::remote::proxy::{self, BindError, Proxied};
use super::remote::{self, Found};
use super::session;
use super::viewer::{CloseReason, Command};
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::db::server;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::servers::service;
use crate::state::AppState;

/// Largest single frame a browser may send (a big paste); larger ones close the socket.
const MAX_INBOUND_FRAME: usize = 1 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/ws/terminal/{server_id}", get(open))
        .route("/api/ws/terminal/attach/{session_id}", get(attach))
}

#[derive(Debug, Deserialize)]
struct Size {
    cols: Option<u16>,
    rows: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct AttachQuery {
    cols: Option<u16>,
    rows: Option<u16>,
    /// Output stream position the client has already seen up to (see `ServerFrame::Replay`).
    offset: Option<u64>,
}

pub fn clamp_size(cols: Option<u16>, rows: Option<u16>) -> (u32, u32) {
    clamp_dims(u32::from(cols.unwrap_or(80)), u32::from(rows.unwrap_or(24)))
}

/// The socket's upgrade, limits applied. Handlers take the upgrade as a `Result` and call this
/// only after every authorisation check, so a caller who may not use a route learns that (401,
/// 403, 404) before anything about the request's shape.
pub(super) fn upgrade(ws: Upgrade) -> ApiResult<WebSocketUpgrade> {
    let ws = ws.map_err(|e| {
        ApiError::coded(
            axum::http::StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            format!("this route is a WebSocket: {}", e.body_text()),
        )
    })?;
    Ok(ws
        .max_message_size(MAX_INBOUND_FRAME)
        .max_frame_size(MAX_INBOUND_FRAME))
}

/// A WebSocket upgrade, or why the request is not one.
pub(super) type Upgrade = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;

async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(size): Query<Size>,
    ws: Upgrade,
) -> ApiResult<Response> {
    let server = usable_server(&state, &user, server_id).await?;
    let cap = state.config.terminal_max_sessions_per_user;
    let slot = state.terminals.reserve(user.user.id, cap).ok_or_else(|| {
        ApiError::coded(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            codes::TOO_MANY_SESSIONS,
            format!("you already have {cap} terminal sessions; close one first"),
        )
    })?;
    let (cols, rows) = clamp_size(size.cols, size.rows);
    let actor = Actor::from(&*user);
    let tracker = state.terminals.tracker().clone();
    Ok(upgrade(ws)?.on_upgrade(move |socket| {
        tracker.track_future(async move {
            let started = match session::start(&state, &actor, &server, cols, rows, slot).await {
                Ok(started) => started,
                Err(e) => return fail(socket, e.code, e.message).await,
            };
            let roster = Some(state.terminals.sharing().roster(&started.session_id));
            let binding = Binding {
                session_id: started.session_id,
                attached: started.attached,
                commands: started.commands,
                replay: false,
                role: Role::Owner,
                roster,
            };
            bind(&state, &actor, server.id, socket, binding).await;
        })
    }))
}

async fn attach(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
    Query(query): Query<AttachQuery>,
    ws: Upgrade,
) -> ApiResult<Response> {
    let found = find_owned(&state, &user, &session_id).await?;
    // The owner's access is checked again: it may have been taken away since the session began.
    // A session its owner can no longer use is of no use to anyone, so it ends here.
    match usable_server(&state, &user, found.server_id()).await {
        Ok(_) => {}
        Err(ApiError::NotFound(_) | ApiError::Forbidden) => {
            end_session(&found, CloseReason::AccessRevoked).await;
            return Err(session_not_found());
        }
        Err(e) => return Err(e),
    }
    let server_id = found.server_id();
    let target = match found {
        Found::Local(_, commands) => Target::Local(commands),
        // Bound before the upgrade, so a refusal there is still a plain HTTP answer.
        Found::Remote(r) => {
            let size = requested_size(&query);
            let call = |bridge| Call::Attach {
                bridge,
                session_id: session_id.clone(),
                user_id: r.entry.user_id,
                offset: query.offset,
                size,
            };
            let lag = state.config.terminal_lag_bytes;
            match proxy::bind(&r.cluster, &r.entry.replica, lag, true, call).await {
                Ok(proxied) => Target::Remote(proxied),
                Err(BindError::NotFound) => return Err(session_not_found()),
                Err(BindError::Cluster(e)) => return Err(remote::unavailable(e)),
            }
        }
    };
    let actor = Actor::from(&*user);
    let tracker = state.terminals.tracker().clone();
    Ok(upgrade(ws)?.on_upgrade(move |socket| {
        let reattach = reattach(state, actor, session_id, server_id, target, socket, query);
        tracker.track_future(reattach)
    }))
}

/// What a reattaching socket binds to.
enum Target {
    Local(mpsc::Sender<Command>),
    /// Already bound to a session on another replica.
    Remote(Proxied),
}

fn requested_size(query: &AttachQuery) -> Option<(u32, u32)> {
    match (query.cols, query.rows) {
        (Some(_), Some(_)) => Some(clamp_size(query.cols, query.rows)),
        _ => None,
    }
}

async fn reattach(
    state: AppState,
    actor: Actor,
    session_id: String,
    server_id: i32,
    target: Target,
    socket: WebSocket,
    query: AttachQuery,
) {
    let bound = match target {
        Target::Local(commands) => {
            let attached = attachment::request_attach(&commands, query.offset).await;
            if let (Some(attached), Some((cols, rows))) = (&attached, requested_size(&query)) {
                let input = &attached.input;
                state.terminals.resize(&session_id, input, cols, rows).await;
            }
            let roster = Some(state.terminals.sharing().roster(&session_id));
            attached.map(|attached| (attached, commands, roster))
        }
        Target::Remote(p) => Some((p.attached, p.commands, p.roster)),
    };
    let Some((attached, commands, roster)) = bound else {
        let message = "the session has ended".to_string();
        return fail(socket, codes::SESSION_NOT_FOUND, message).await;
    };
    audit::record(
        &state.db,
        &actor,
        Event::new("terminal.attach")
            .target(&session_id)
            .server(Some(server_id))
            .details(json!({"session_id": session_id, "offset": query.offset})),
    )
    .await;
    let binding = Binding {
        session_id,
        attached,
        commands,
        replay: true,
        role: Role::Owner,
        roster,
    };
    bind(&state, &actor, server_id, socket, binding).await;
}

/// Runs the socket's attachment; a socket that goes away while the session lives detaches it.
async fn bind(
    state: &AppState,
    actor: &Actor,
    server_id: i32,
    socket: WebSocket,
    binding: Binding,
) {
    let session_id = binding.session_id.clone();
    if attachment::run(state, socket, binding).await == Outcome::Detached {
        audit::record(
            &state.db,
            actor,
            Event::new("terminal.detach")
                .target(&session_id)
                .server(Some(server_id))
                .details(json!({"session_id": session_id})),
        )
        .await;
    }
}

/// The server, if the caller may see it and SSH is enabled on it.
pub(super) async fn usable_server(
    state: &AppState,
    user: &CurrentUser,
    server_id: i32,
) -> ApiResult<server::Model> {
    let server = service::get_visible(&state.db, user, server_id).await?;
    if !server.ssh_enabled {
        return Err(ApiError::Forbidden);
    }
    Ok(server)
}

pub(super) async fn fail(mut socket: WebSocket, code: &str, message: String) {
    attachment::send_error_and_close(&mut socket, code, message).await;
}
