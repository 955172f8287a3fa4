//! `/api/auth/*`: sign in, sign out, who am I, change password.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use wire::auth::{ChangePasswordRequest, LoginRequest, LoginResponse};
use wire::users::UserView;

use super::throttle::Locked;
use super::{sessions, Authenticated, SESSION_COOKIE};
use crate::audit::{self, Actor};
use crate::crypto::password::{hash_password, verify_password, DUMMY_HASH};
use crate::error::extract::Json;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users::{self, service::validate_password};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/change-password", post(change_password))
}

fn session_cookie(state: &AppState, token: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if state.config.cookie_secure.unwrap_or(false) {
        "; Secure"
    } else {
        ""
    };
    let value =
        format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}");
    // Tokens are URL-safe base64, so the header value is always valid.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let ip = peer.ip().to_string();
    let client_ip = Some(ip.clone());
    let tried: String = req.username.chars().take(128).collect();
    // A locked account or IP is refused before any password is verified.
    if let Err(locked) = state.throttle.check(&tried, &ip) {
        let actor = Actor {
            user_id: None,
            username: Some(tried),
            client_ip,
        };
        let details =
            json!({"locked": locked.by, "retry_after_secs": locked.retry_after.as_secs()});
        audit::record(&state.db, &actor, "auth.login_throttled", None, details).await;
        return Ok(too_many_attempts(locked));
    }
    let user = if req.username.len() <= 128 {
        users::service::find_by_username(&state.db, &req.username).await?
    } else {
        None
    };
    // Verify against a dummy hash when there is no usable account, so response time does not
    // reveal which usernames exist.
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password_ok = verify_password(req.password, stored).await;
    let user = match user {
        Some(u) if password_ok && !u.disabled && u.password_hash.is_some() => u,
        other => {
            let locked = state.throttle.failed(&tried, &ip);
            let actor = Actor {
                user_id: other.map(|u| u.id),
                username: Some(tried),
                client_ip,
            };
            let details = json!({"locked": locked.map(|l| l.by)});
            audit::record(&state.db, &actor, "auth.login_failed", None, details).await;
            return Err(ApiError::InvalidCredentials);
        }
    };
    state.throttle.succeeded(&tried);
    let ttl_hours = state.config.session_ttl_hours;
    let session = sessions::create(&state.db, user.id, ttl_hours, client_ip.clone()).await?;
    let actor = Actor {
        user_id: Some(user.id),
        username: Some(user.username.clone()),
        client_ip,
    };
    audit::record(
        &state.db,
        &actor,
        "auth.login",
        None,
        json!({"session_id": session.id}),
    )
    .await;
    let cookie = session_cookie(&state, &session.token, ttl_hours * 3600);
    let body = LoginResponse {
        token: session.token,
        must_change_password: user.must_change_password,
        user: users::user_view(&user),
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, cookie);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, axum::Json(body)).into_response())
}

/// 429 `too_many_attempts` with `Retry-After`; the same words whichever key is locked.
fn too_many_attempts(locked: Locked) -> Response {
    let secs = locked.retry_after.as_secs().max(1);
    let body = wire::ErrorBody {
        error: format!("too many failed sign-in attempts; try again in {secs} s"),
        code: "too_many_attempts".into(),
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

async fn logout(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Response> {
    sessions::end(&state.db, auth.session_id).await?;
    audit::record(
        &state.db,
        &Actor::from(&auth),
        "auth.logout",
        None,
        json!({}),
    )
    .await;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

async fn me(auth: Authenticated) -> axum::Json<UserView> {
    axum::Json(users::user_view(&auth.user))
}

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
            "auth.password_change_failed",
            None,
            json!({}),
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
    let ended = sessions::end_all_for_user(&state.db, auth.user.id, Some(auth.session_id)).await?;
    audit::record(
        &state.db,
        &Actor::from(&auth),
        "auth.password_change",
        None,
        json!({"other_sessions_ended": ended}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
