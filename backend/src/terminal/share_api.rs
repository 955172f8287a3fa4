//! The REST side of sharing a live session. `POST /api/terminal/share/{session_id}` creates a
//! link (`{"mode":"ro"|"rw","expires_in"?}` → the token, shown once, and the UI URL that joins
//! with it in the fragment); `GET` lists the links and participants; `DELETE` revokes every link
//! and disconnects everyone who joined through one; `DELETE …/participants/{id}` kicks one. The
//! owner may do all of it, admins too; anyone else learns nothing of the session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::json;
use wire::terminal::{ShareCreated, ShareRequest, ShareView, Sharing as SharingView};
use wire::users::Role as UserRole;

use super::api::session_not_found;
use super::remote::protocol::{Answer, Call, Kicked};
use super::remote::{self, directory, Found};
use super::sharing::Mode;
use crate::audit::{self, Actor, Event};
use crate::auth::CurrentUser;
use crate::crypto::token::token_digest;
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

/// The session (here or on another replica), if the caller owns it (or is an admin); 404
/// `session_not_found` otherwise.
async fn managed(state: &AppState, user: &CurrentUser, session_id: &str) -> ApiResult<Found> {
    let found = remote::find(state, session_id)
        .await
        .ok_or_else(session_not_found)?;
    if found.user_id() == user.user.id || user.role() == UserRole::Admin {
        Ok(found)
    } else {
        Err(session_not_found())
    }
}

/// A new link to a session that runs here, findable from every replica.
pub(super) async fn create_link(
    state: &AppState,
    session_id: &str,
    mode: Mode,
    expires_at: DateTime<Utc>,
) -> (String, ShareView) {
    let (token, share) = state
        .terminals
        .sharing()
        .create(session_id, mode, expires_at);
    if let Some(cluster) = &state.cluster {
        let digest = token_digest(&token);
        if let Err(e) = directory::add_share(cluster, &digest, session_id, expires_at).await {
            tracing::warn!(error = %e, "a share link is usable only through this replica");
        }
    }
    (token, share)
}

/// Revokes every link of a session that runs here; returns how many there were.
pub(super) async fn revoke_links(state: &AppState, session_id: &str) -> usize {
    let digests = state.terminals.sharing().revoke_all(session_id);
    if let Some(cluster) = &state.cluster {
        if let Err(e) = directory::remove_shares(cluster, &digests).await {
            // They lead nowhere: this replica no longer admits them.
            tracing::warn!(error = %e, "revoked share links stay listed in redis until they expire");
        }
    }
    digests.len()
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
    let found = managed(&state, &user, &session_id).await?;
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
    let (token, share) = match &found {
        Found::Local(..) => create_link(&state, &session_id, mode, expires_at).await,
        Found::Remote(r) => {
            let call = Call::ShareCreate {
                session_id: session_id.clone(),
                mode: mode.as_str().to_owned(),
                expires_at,
            };
            match r.call(&call).await? {
                Answer::Created { token, share } => (token, share),
                _ => return Err(session_not_found()),
            }
        }
    };
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.share")
            .target(&session_id)
            .server(Some(found.server_id()))
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
    match managed(&state, &user, &session_id).await? {
        Found::Local(..) => Ok(Json(state.terminals.sharing().view(&session_id))),
        Found::Remote(r) => match r.call(&Call::ShareList { session_id }).await? {
            Answer::Sharing { sharing } => Ok(Json(sharing)),
            _ => Err(session_not_found()),
        },
    }
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
    let found = managed(&state, &user, &session_id).await?;
    let revoked = match &found {
        Found::Local(..) => revoke_links(&state, &session_id).await,
        Found::Remote(r) => {
            let call = Call::ShareRevoke {
                session_id: session_id.clone(),
            };
            match r.call(&call).await? {
                Answer::Revoked { count } => count,
                _ => return Err(session_not_found()),
            }
        }
    };
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.share_revoked")
            .target(&session_id)
            .server(Some(found.server_id()))
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
    let found = managed(&state, &user, &session_id).await?;
    let kicked = match &found {
        Found::Local(..) => state
            .terminals
            .sharing()
            .kick(&session_id, &participant_id)
            .map(|p| Kicked {
                username: p.username.clone(),
                user_id: p.user_id,
            }),
        Found::Remote(r) => {
            let call = Call::Kick {
                session_id: session_id.clone(),
                participant_id: participant_id.clone(),
            };
            match r.call(&call).await? {
                Answer::Kicked { participant } => participant,
                _ => return Err(session_not_found()),
            }
        }
    };
    let participant = kicked.ok_or(ApiError::NotFound("participant"))?;
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("terminal.kick")
            .target(&session_id)
            .server(Some(found.server_id()))
            .details(json!({
                "session_id": session_id,
                "participant_id": participant_id,
                "username": participant.username,
                "user_id": participant.user_id,
            })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
