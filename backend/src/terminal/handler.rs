//! `GET /api/ws/terminal/{server_id}?cols=&rows=`: authorise, upgrade, connect, then pump.
//! Everything that can be refused is refused before the upgrade, with a normal HTTP error.

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::pump::{self, PumpEnd};
use super::registry::LiveTerminal;
use crate::audit::{self, Actor};
use crate::auth::CurrentUser;
use crate::db::server;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::servers::service;
use crate::ssh;
use crate::state::AppState;

/// Largest single frame a browser may send (a big paste); larger ones close the socket.
const MAX_INBOUND_FRAME: usize = 1 << 20;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/ws/terminal/{server_id}", get(open))
}

#[derive(Debug, Deserialize)]
struct Size {
    cols: Option<u16>,
    rows: Option<u16>,
}

pub fn clamp_size(cols: Option<u16>, rows: Option<u16>) -> (u32, u32) {
    (
        u32::from(cols.unwrap_or(80).clamp(2, 1000)),
        u32::from(rows.unwrap_or(24).clamp(1, 1000)),
    )
}

async fn open(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(size): Query<Size>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let server = service::get_visible(&state.db, &user, server_id).await?;
    if !server.ssh_enabled {
        return Err(ApiError::Forbidden);
    }
    let (cols, rows) = clamp_size(size.cols, size.rows);
    let actor = Actor::from(&*user);
    let tracker = state.terminals.tracker().clone();
    Ok(ws
        .max_message_size(MAX_INBOUND_FRAME)
        .max_frame_size(MAX_INBOUND_FRAME)
        .on_upgrade(move |socket| {
            tracker.track_future(run(state, actor, server, socket, cols, rows))
        }))
}

async fn fail(mut socket: WebSocket, code: &str, message: String) {
    pump::send_error_and_close(&mut socket, code, message).await;
}

async fn run(
    state: AppState,
    actor: Actor,
    server: server::Model,
    socket: WebSocket,
    cols: u32,
    rows: u32,
) {
    let (lease, channel) = match ssh::session_channel(&state, &actor, &server, "terminal").await {
        Ok(opened) => opened,
        Err(e) => return fail(socket, e.code(), e.to_string()).await,
    };

    let session_id = uuid::Uuid::new_v4().to_string();
    let opened = Utc::now();
    audit::record(
        &state.db,
        &actor,
        "terminal.open",
        Some(server.id),
        json!({"session_id": session_id, "cols": cols, "rows": rows}),
    )
    .await;
    state.terminals.insert(
        &session_id,
        LiveTerminal {
            user_id: actor.user_id.unwrap_or_default(),
            server_id: server.id,
            started_at: opened,
        },
    );
    let end = pump::run(
        &state,
        channel,
        socket,
        &session_id,
        cols,
        rows,
        ssh::open::timeouts(&state.config).auth,
    )
    .await;
    state.terminals.remove(&session_id);
    // The connection stays pooled for this user's next terminal or file request.
    drop(lease);
    let (reason, exit_code) = match &end {
        PumpEnd::Exited(code) => ("exited", *code),
        PumpEnd::ClientClosed => ("client_closed", None),
        PumpEnd::Shutdown => ("shutdown", None),
        PumpEnd::Failed(reason) => {
            tracing::warn!(session_id, server_id = server.id, %reason, "terminal failed");
            ("failed", None)
        }
    };
    audit::record(
        &state.db,
        &actor,
        "terminal.close",
        Some(server.id),
        json!({
            "session_id": session_id,
            "reason": reason,
            "exit_code": exit_code,
            "duration_secs": (Utc::now() - opened).num_seconds(),
        }),
    )
    .await;
}
