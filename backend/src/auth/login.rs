//! `POST /api/auth/login`: who the credentials belong to (a local account, else the directory),
//! the second factor when the account has one, then a session.
//!
//! Order matters for safety: throttling is checked before any password is verified; the password
//! (or the directory bind) before the second factor; and no session of any kind exists until
//! both have passed. A missing or wrong TOTP code answers 401 with no session and no cookie, and
//! the client sends the whole request again with `totp_code`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wire::auth::{LoginRequest, LoginResponse};

use super::throttle::Locked;
use super::{ldap, sessions, totp, SESSION_COOKIE};
use crate::audit::{self, Actor, Event, Outcome};
use crate::crypto::password::{verify_password, DUMMY_HASH};
use crate::db::user;
use crate::error::extract::Json;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users;

/// The session cookie for `token` (an empty token and max-age 0 clear it).
pub fn session_cookie(state: &AppState, token: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if state.config.cookie_secure.unwrap_or(false) {
        "; Secure"
    } else {
        ""
    };
    // Under a root path the cookie goes only with requests to this gateway, not its neighbours.
    let path = match state.config.root_path.as_str() {
        "" => "/",
        root => root,
    };
    let value =
        format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age_secs}{secure}");
    // Tokens are URL-safe base64, so the header value is always valid.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Creates a session for `user` (fully signed in: every factor passed), audits `auth.login` with
/// `method`, and returns the cookie header and the answer body.
pub async fn start_session(
    state: &AppState,
    user: &user::Model,
    client_ip: Option<String>,
    method: &str,
) -> ApiResult<(HeaderMap, LoginResponse)> {
    let ttl_hours = state.config.session_ttl_hours;
    let session = sessions::create(&state.db, user.id, ttl_hours, client_ip.clone()).await?;
    let actor = Actor {
        user_id: Some(user.id),
        username: Some(user.username.clone()),
        client_ip,
    };
    let details = json!({"session_id": session.id, "method": method});
    audit::record(
        &state.db,
        &actor,
        Event::new("auth.login")
            .target(&user.username)
            .details(details),
    )
    .await;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(state, &session.token, ttl_hours * 3600),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let body = LoginResponse {
        token: session.token,
        must_change_password: user.must_change_password,
        user: users::user_view(user),
    };
    Ok((headers, body))
}

#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    operation_id = "login",
    request_body = wire::auth::LoginRequest,
    security(()),
    responses(
        (status = 200, description = "Signed in: a session cookie is set; `token` works as a bearer token for the same session", body = wire::auth::LoginResponse),
        (status = 401, description = "Invalid credentials, or the second factor is missing or wrong (`totp_required`, `invalid_totp`)", body = wire::ErrorBody),
        (status = 429, description = "Too many failed attempts for this account or address (`too_many_attempts`)", body = wire::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    // Behind a trusted reverse proxy, the client it names; anyone else's forwarded headers are
    // ignored, so the per-IP throttle counts real clients and cannot be dodged.
    let ip = state.proxies.client_ip(peer.ip(), &headers).to_string();
    let client_ip = Some(ip.clone());
    let tried: String = req.username.chars().take(128).collect();
    // A locked account or IP is refused before any password is verified.
    if let Err(locked) = state.throttle.check(&tried, &ip).await {
        let actor = Actor {
            user_id: None,
            username: Some(tried),
            client_ip,
        };
        let details =
            json!({"locked": locked.by, "retry_after_secs": locked.retry_after.as_secs()});
        audit::record(
            &state.db,
            &actor,
            Event::new("auth.login_throttled")
                .outcome(Outcome::Denied)
                .details(details),
        )
        .await;
        return Ok(too_many_attempts(locked));
    }

    let (user, method) = match identify(&state, &req, client_ip.clone()).await? {
        Some(found) => found,
        None => {
            let known = if req.username.len() <= 128 {
                users::service::find_by_username(&state.db, &req.username).await?
            } else {
                None
            };
            return Err(failed(
                &state,
                &tried,
                &ip,
                known.map(|u| u.id),
                "auth.login_failed",
            )
            .await);
        }
    };

    // The second factor, before any session exists.
    match totp::check_login(&state, &user, req.totp_code.as_deref()).await? {
        totp::LoginCheck::Passed | totp::LoginCheck::NotEnrolled => {}
        totp::LoginCheck::Missing => return Err(totp::required()),
        totp::LoginCheck::Wrong => {
            let code = "auth.totp_failed";
            failed(&state, &tried, &ip, Some(user.id), code).await;
            return Err(totp::invalid());
        }
    }
    state.throttle.succeeded(&tried).await;
    let (headers, body) = start_session(&state, &user, client_ip, method).await?;
    Ok((headers, axum::Json(body)).into_response())
}

/// The account the credentials prove: a local account by its password, else (for a name with no
/// local password) the directory. `None` when neither accepts them.
async fn identify(
    state: &AppState,
    req: &LoginRequest,
    client_ip: Option<String>,
) -> ApiResult<Option<(user::Model, &'static str)>> {
    let local = if req.username.len() <= 128 {
        users::service::find_by_username(&state.db, &req.username).await?
    } else {
        None
    };
    // Verify against a dummy hash when there is no usable local password, so response time does
    // not reveal which usernames exist.
    let stored = local
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password_ok = verify_password(req.password.clone(), stored).await;
    if let Some(u) = &local {
        if password_ok && !u.disabled && u.password_hash.is_some() {
            return Ok(local.map(|u| (u, "password")));
        }
    }
    // The directory vouches for its own accounts only (linked by id, never by this name).
    match ldap::sign_in(state, &req.username, &req.password, client_ip).await? {
        Some(user) => Ok(Some((user, "ldap"))),
        None => Ok(None),
    }
}

/// Counts and audits a failed attempt; the answer is the uniform 401.
async fn failed(
    state: &AppState,
    tried: &str,
    ip: &str,
    user_id: Option<i32>,
    action: &str,
) -> ApiError {
    let locked = state.throttle.failed(tried, ip).await;
    let actor = Actor {
        user_id,
        username: Some(tried.to_owned()),
        client_ip: Some(ip.to_owned()),
    };
    let details = json!({"locked": locked.map(|l| l.by)});
    audit::record(
        &state.db,
        &actor,
        Event::new(action)
            .outcome(Outcome::Failure)
            .target(tried)
            .details(details),
    )
    .await;
    ApiError::InvalidCredentials
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
