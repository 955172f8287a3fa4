//! `/api/servers`: everyone signed in reads what they may see; admins write.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use serde_json::json;
use wire::servers::{ServerRequest, ServerView};

use super::service;
use crate::audit::{self, Actor, Event};
use crate::auth::{AdminUser, CurrentUser};
use crate::error::extract::{Json, Path};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::terminal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/servers", get(list).post(create))
        .route("/api/servers/{id}", get(show).put(update).delete(remove))
        .route("/api/servers/{id}/host-key", delete(clear_host_key))
        .route("/api/servers/{id}/test", post(test_connection))
        .merge(super::known_hosts_import::routes())
        .merge(super::host_keys::routes())
        .merge(super::import::routes())
}

#[utoipa::path(
    get,
    path = "/api/servers",
    tag = "servers",
    operation_id = "servers_list",
    responses(
        (status = 200, description = "The servers the caller may see (no credential, ever)", body = Vec<wire::servers::ServerView>),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<axum::Json<Vec<ServerView>>> {
    let servers = service::list_visible(&state.db, &user).await?;
    Ok(axum::Json(servers.iter().map(service::view).collect()))
}

#[utoipa::path(
    get,
    path = "/api/servers/{id}",
    tag = "servers",
    operation_id = "servers_show",
    params(("id" = i32, Path, description = "The server")),
    responses(
        (status = 200, description = "The server", body = wire::servers::ServerView),
    )
)]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<ServerView>> {
    Ok(axum::Json(service::view(
        &service::get_visible(&state.db, &user, id).await?,
    )))
}

/// What an audit row says about a server body: the settings, never the secrets.
pub(super) fn audit_details(id: i32, req: &ServerRequest) -> serde_json::Value {
    json!({
        "server_id": id,
        "name": req.name,
        "hostname": req.hostname,
        "port": req.port,
        "username": req.username,
        "auth_method": req.auth_method.as_str(),
        "password_changed": req.password.is_some(),
        "private_key_changed": req.private_key.is_some(),
        "group": req.group,
        "jump_via_id": req.jump_via_id,
        "ssh_enabled": req.ssh_enabled,
        "sftp_enabled": req.sftp_enabled,
        "sftp_read_only": req.sftp_read_only,
        "sftp_allowed_paths": req.sftp_allowed_paths,
        "record_sessions": req.record_sessions,
    })
}

#[utoipa::path(
    post,
    path = "/api/servers",
    tag = "servers",
    operation_id = "servers_create",
    request_body = wire::servers::ServerRequest,
    responses(
        (status = 201, description = "Created", body = wire::servers::ServerView),
        (status = 409, description = "The name is taken", body = wire::ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<ServerRequest>,
) -> ApiResult<(StatusCode, axum::Json<ServerView>)> {
    let mut details = audit_details(0, &req);
    let server = service::create(&state.db, &state.vault, req).await?;
    details["server_id"] = json!(server.id);
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("server.create")
            .target(&server.name)
            .server(Some(server.id))
            .details(details),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(service::view(&server))))
}

#[utoipa::path(
    put,
    path = "/api/servers/{id}",
    tag = "servers",
    operation_id = "servers_update",
    params(("id" = i32, Path, description = "The server")),
    request_body = wire::servers::ServerRequest,
    responses(
        (status = 200, description = "Updated", body = wire::servers::ServerView),
        (status = 409, description = "The name is taken", body = wire::ErrorBody),
    )
)]
async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
    Json(req): Json<ServerRequest>,
) -> ApiResult<axum::Json<ServerView>> {
    let details = audit_details(id, &req);
    let server = service::update(&state.db, &state.vault, id, req).await?;
    let actor = Actor::from(&*admin);
    audit::record(
        &state.db,
        &actor,
        Event::new("server.update")
            .target(&server.name)
            .server(Some(id))
            .details(details),
    )
    .await;
    terminal::access::sweep(&state, &actor).await;
    Ok(axum::Json(service::view(&server)))
}

#[utoipa::path(
    delete,
    path = "/api/servers/{id}",
    tag = "servers",
    operation_id = "servers_delete",
    params(("id" = i32, Path, description = "The server")),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let server = service::delete(&state.db, id).await?;
    let actor = Actor::from(&*admin);
    let details = json!({"server_id": id, "name": server.name});
    audit::record(
        &state.db,
        &actor,
        Event::new("server.delete")
            .target(&server.name)
            .server(Some(id))
            .details(details),
    )
    .await;
    terminal::access::sweep(&state, &actor).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/servers/{id}/host-key",
    tag = "servers",
    operation_id = "servers_host_key_clear",
    params(("id" = i32, Path, description = "The server")),
    responses(
        (status = 204, description = "The pin is removed; the next connection pins the key it sees"),
    )
)]
async fn clear_host_key(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let old = service::clear_host_key(&state.db, id).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("server.host_key_cleared")
            .server(Some(id))
            .details(json!({"server_id": id, "previous_fingerprint": old})),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/servers/{id}/test`: anyone who may use the server may test it; each hop of its
/// chain is connected and authenticated (no shell), and reported with its timing.
#[utoipa::path(
    post,
    path = "/api/servers/{id}/test",
    tag = "servers",
    operation_id = "servers_test",
    params(("id" = i32, Path, description = "The server")),
    responses(
        (status = 200, description = "What connecting (through the jump chain) and signing in did", body = wire::servers::TestReport),
    )
)]
async fn test_connection(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<wire::servers::TestReport>> {
    let server = service::get_visible(&state.db, &user, id).await?;
    let actor = Actor::from(&*user);
    let report = crate::ssh::open::test(&state, &actor, &server).await;
    let hops: Vec<_> = report
        .hops
        .iter()
        .map(|h| json!({"server_id": h.server_id, "ok": h.ok, "ms": h.ms, "code": h.code}))
        .collect();
    audit::record(
        &state.db,
        &actor,
        Event::new("server.test")
            .server(Some(id))
            .details(json!({"ok": report.ok, "hops": hops})),
    )
    .await;
    Ok(axum::Json(report))
}
