//! `/api/servers/{id}/host-key`: admins see the pinned key and a key awaiting approval, and
//! approve it (strict policy). Clearing a pin is `DELETE` on the same path (handlers.rs).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use wire::servers::{ApproveHostKey, HostKey, HostKeyView};

use super::service;
use crate::audit::{self, Actor, Event};
use crate::auth::AdminUser;
use crate::config::HostKeyPolicy;
use crate::db::server;
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/servers/{id}/host-key", get(show))
        .route("/api/servers/{id}/host-key/approve", post(approve))
}

fn view(state: &AppState, m: &server::Model) -> HostKeyView {
    let key = |fingerprint: &Option<String>,
               openssh: &Option<String>,
               at: &Option<chrono::DateTime<chrono::Utc>>| {
        Some(HostKey {
            fingerprint: fingerprint.clone()?,
            openssh: openssh.clone().unwrap_or_default(),
            at: at.map(|t| t.to_rfc3339()),
        })
    };
    HostKeyView {
        server_id: m.id,
        policy: match state.config.host_key_policy {
            HostKeyPolicy::Tofu => "tofu",
            HostKeyPolicy::Strict => "strict",
        }
        .into(),
        pinned: key(
            &m.host_key_fingerprint,
            &m.host_key_openssh,
            &m.host_key_pinned_at,
        ),
        // A pin supersedes whatever was held before it.
        pending: m
            .host_key_fingerprint
            .is_none()
            .then(|| {
                key(
                    &m.pending_host_key_fingerprint,
                    &m.pending_host_key_openssh,
                    &m.pending_host_key_seen_at,
                )
            })
            .flatten(),
    }
}

#[utoipa::path(
    get,
    path = "/api/servers/{id}/host-key",
    tag = "servers",
    operation_id = "servers_host_key_show",
    params(("id" = i32, Path, description = "The server")),
    responses(
        (status = 200, description = "The pinned key and any key awaiting approval", body = wire::servers::HostKeyView),
    )
)]
async fn show(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<HostKeyView>> {
    let server = service::get(&state.db, id).await?;
    Ok(axum::Json(view(&state, &server)))
}

/// Pins the held key, provided it is still the one the admin saw: a host that presented a
/// different key since then must be looked at again.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/host-key/approve",
    tag = "servers",
    operation_id = "servers_host_key_approve",
    params(("id" = i32, Path, description = "The server")),
    request_body = wire::servers::ApproveHostKey,
    responses(
        (status = 200, description = "Pinned", body = wire::servers::HostKeyView),
        (status = 409, description = "The key awaiting approval is not that one", body = wire::ErrorBody),
    )
)]
async fn approve(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
    Json(req): Json<ApproveHostKey>,
) -> ApiResult<axum::Json<HostKeyView>> {
    let server = service::get(&state.db, id).await?;
    if server.host_key_fingerprint.is_some() {
        return Err(ApiError::coded(
            StatusCode::CONFLICT,
            "already_pinned",
            "this server already has a pinned host key; clear it first to trust another",
        ));
    }
    if !service::approve_host_key(&state.db, id, &req.fingerprint).await? {
        return Err(ApiError::coded(
            StatusCode::CONFLICT,
            "fingerprint_changed",
            "no key with this fingerprint awaits approval (the host may have presented another \
             one since); reload and check the fingerprint again",
        ));
    }
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("server.host_key_pinned")
            .server(Some(id))
            .details(json!({"fingerprint": req.fingerprint, "source": "approved"})),
    )
    .await;
    let server = service::get(&state.db, id).await?;
    Ok(axum::Json(view(&state, &server)))
}
