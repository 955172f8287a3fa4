//! The REST side of sharing a live session. `POST /api/terminal/share/{session_id}` creates a
//! link (`{"mode":"ro"|"rw","expires_in"?}` → the token, shown once, and the UI URL that joins
//! with it in the fragment); `GET` lists the links and participants; `DELETE` revokes every link
//! and disconnects everyone who joined through one; `DELETE …/participants/{id}` kicks one. The
//! owner may do all of it, admins too; anyone else learns nothing of the session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;
use wire::terminal::{ShareCreated, ShareRequest, Sharing as SharingView};
use wire::users::Role as UserRole;

use super::api::session_not_found;
use super::registry::SessionInfo;
use super::sharing::Mode;
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::error::extract::{Json as BodyJson, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const DEFAULT_EXPIRY_SECS: u64 = 3600;
const MAX_EXPIRY_SECS: u64 = 7 * 24 * 3600;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/terminal/share/{session_id}",
            post(create).get(list).delete(revoke),
        )
        .route(
            "/api/terminal/share/{session_id}/participants/{participant_id}",
            delete(kick),
        )
}

/// The session, if the caller owns it (or is an admin); 404 `session_not_found` otherwise.
fn managed(state: &AppState, user: &CurrentUser, session_id: &str) -> ApiResult<SessionInfo> {
    let (info, _) = state
        .terminals
        .get(session_id)
        .ok_or_else(session_not_found)?;
    if info.user_id == user.user.id || user.role() == UserRole::Admin {
        Ok(info)
    } else {
        Err(session_not_found())
    }
}

#[utoipa::path(
    post,
    path = "/api/terminal/share/{session_id}",
    tag = "terminal",
    operation_id = "terminal_share_create",
    params(("session_id" = String, Path, description = "The caller's live session")),
    request_body = wire::terminal::ShareRequest,
    responses(
        (status = 201, description = "A share link; the token is shown only here", body = wire::terminal::ShareCreated),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
    req: Result<BodyJson<ShareRequest>, ApiError>,
) -> ApiResult<(StatusCode, Json<ShareCreated>)> {
    // Whose session it is comes first: others learn nothing, not even that the body is wrong.
    let info = managed(&state, &user, &session_id)?;
    let BodyJson(req) = req?;
    let mode = Mode::parse(&req.mode)
        .ok_or_else(|| ApiError::Validation("mode must be \"ro\" or \"rw\"".into()))?;
    let secs = req.expires_in.unwrap_or(DEFAULT_EXPIRY_SECS);
    if secs == 0 || secs > MAX_EXPIRY_SECS {
        return Err(ApiError::Validation(format!(
            "expires_in must be between 1 and {MAX_EXPIRY_SECS} seconds"
        )));
    }
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let expires_at = Utc::now() + chrono::Duration::seconds(secs);
    let (token, share) = state
        .terminals
        .sharing()
        .create(&session_id, mode, expires_at);
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.share")
            .target(&session_id)
            .server(Some(info.server_id))
            .details(json!({
                "session_id": session_id,
                "share_id": share.id,
                "mode": share.mode,
                "expires_at": share.expires_at,
            })),
    )
    .await;
    let url = format!("{}#/join/{token}", state.config.root_url());
    Ok((
        StatusCode::CREATED,
        Json(ShareCreated {
            id: share.id,
            token,
            url,
            mode: share.mode,
            expires_at: share.expires_at,
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/api/terminal/share/{session_id}",
    tag = "terminal",
    operation_id = "terminal_share_list",
    params(("session_id" = String, Path, description = "The caller's live session")),
    responses(
        (status = 200, description = "Active share links and who is connected", body = wire::terminal::Sharing),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
) -> ApiResult<Json<SharingView>> {
    managed(&state, &user, &session_id)?;
    Ok(Json(state.terminals.sharing().view(&session_id)))
}

#[utoipa::path(
    delete,
    path = "/api/terminal/share/{session_id}",
    tag = "terminal",
    operation_id = "terminal_share_revoke",
    params(("session_id" = String, Path, description = "The caller's live session")),
    responses(
        (status = 204, description = "Every link revoked; joiners are disconnected"),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(session_id): Path<String>,
) -> ApiResult<StatusCode> {
    let info = managed(&state, &user, &session_id)?;
    let revoked = state.terminals.sharing().revoke_all(&session_id);
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.share_revoked")
            .target(&session_id)
            .server(Some(info.server_id))
            .details(json!({"session_id": session_id, "shares": revoked})),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/terminal/share/{session_id}/participants/{participant_id}",
    tag = "terminal",
    operation_id = "terminal_share_kick",
    params(
        ("session_id" = String, Path, description = "The caller's live session"),
        ("participant_id" = String, Path, description = "The joiner"),
    ),
    responses(
        (status = 204, description = "The joiner is disconnected"),
    )
)]
async fn kick(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((session_id, participant_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let info = managed(&state, &user, &session_id)?;
    let participant = state
        .terminals
        .sharing()
        .kick(&session_id, &participant_id)
        .ok_or(ApiError::NotFound("participant"))?;
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.kick")
            .target(&session_id)
            .server(Some(info.server_id))
            .details(json!({
                "session_id": session_id,
                "participant_id": participant.id,
                "username": participant.username,
                "user_id": participant.user_id,
            })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
