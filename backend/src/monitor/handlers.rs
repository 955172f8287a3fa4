//! `GET /api/servers/status`: the monitor's view of the servers the caller may see.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use wire::monitor::ServerStatus;

use super::store;
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::servers::service;
use crate::state::AppState;

/// A static path: axum's router prefers it to `/api/servers/{id}`, whatever the merge order.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/servers/status", get(list))
}

#[utoipa::path(
    get,
    path = "/api/servers/status",
    tag = "servers",
    operation_id = "servers_status",
    responses(
        (status = 200, description = "The monitor's state of the servers the caller may see", body = Vec<wire::monitor::ServerStatus>),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<ServerStatus>>> {
    let servers = service::list_visible(&state.db, &user).await?;
    Ok(Json(store::list(&state.db, &servers).await?))
}
