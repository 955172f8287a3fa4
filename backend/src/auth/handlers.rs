//! `/api/auth/*`: sign in, sign out, who am I, change password.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use wire::auth::ChangePasswordRequest;
use wire::users::UserView;

use super::{sessions, Authenticated};
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::password::{hash_password, verify_password, DUMMY_HASH};
use crate::error::extract::Json;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users::{self, service::validate_password};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(super::login::login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/change-password", post(change_password))
}

#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    operation_id = "logout",
    responses(
        (status = 204, description = "Signed out: the session ends and the cookie is cleared"),
    )
)]
async fn logout(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Response> {
    if let Some(id) = auth.session_id {
        sessions::end(&state.db, id).await?;
    }
    audit::record(&state.db, &Actor::from(&auth), Event::new("auth.logout")).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        super::login::session_cookie(&state, "", 0),
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    operation_id = "me",
    responses(
        (status = 200, description = "The signed-in account", body = wire::users::UserView),
    )
)]
async fn me(State(state): State<AppState>, auth: Authenticated) -> axum::Json<UserView> {
    let mut view = users::user_view(&auth.user);
    view.must_enroll_totp = super::totp::must_enroll(&state.config, &auth.user);
    axum::Json(view)
}

#[utoipa::path(
    post,
    path = "/api/auth/change-password",
    tag = "auth",
    operation_id = "change_password",
    request_body = wire::auth::ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; the account's other sessions end"),
        (status = 401, description = "The current password is wrong (`invalid_credentials`)", body = wire::ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let stored = auth
        .user
        .password_hash
        .clone()
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    if !verify_password(req.current_password.clone(), stored).await
        || auth.user.password_hash.is_none()
    {
        audit::record(
            &state.db,
            &Actor::from(&auth),
            Event::new("auth.password_change_failed").outcome(Outcome::Failure),
        )
        .await;
        return Err(ApiError::InvalidCredentials);
    }
    validate_password(&req.new_password)?;
    if req.new_password == req.current_password {
        return Err(ApiError::Validation(
            "the new password must differ from the current one".into(),
        ));
    }
    let hash = hash_password(req.new_password)
        .await
        .map_err(|e| ApiError::internal("hash", e))?;
    let mut row: crate::db::user::ActiveModel = auth.user.clone().into();
    row.password_hash = Set(Some(hash));
    row.must_change_password = Set(false);
    row.updated_at = Set(Utc::now());
    row.update(&state.db).await?;
    let ended = sessions::end_all_for_user(&state.db, auth.user.id, auth.session_id).await?;
    audit::record(
        &state.db,
        &Actor::from(&auth),
        Event::new("auth.password_change").details(json!({"other_sessions_ended": ended})),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
