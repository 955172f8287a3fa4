//! Request guards. A handler states who may call it by the type it takes:
//! - `Authenticated`: any signed-in user, even one with a pending forced password change; only
//!   `me`, `logout` and `change-password` take this.
//! - `CurrentUser`: a signed-in user with no pending password change and, where the policy
//!   requires a second factor, one set up — every other route and WebSocket (the TOTP
//!   enrolment routes take `Authenticated`);
//! - `AdminUser`: a `CurrentUser` whose role is admin.
//!
//! A handler cannot forget the check: without the guard it has no user to work with.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts};
use wire::users::Role;

use super::api_keys::{self, Grant, Scope};
use super::{origin, sessions, SESSION_COOKIE};
use crate::db::user;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Cookie,
    Bearer,
}

#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: user::Model,
    /// The sign-in session; `None` when an API key authenticated the request.
    pub session_id: Option<i32>,
    /// The API key's scopes, when one authenticated the request.
    pub api_key: Option<Grant>,
    pub client_ip: Option<String>,
}

impl Authenticated {
    pub fn role(&self) -> Role {
        Role::parse(&self.user.role).unwrap_or(Role::User)
    }
}

#[derive(Debug, Clone)]
pub struct CurrentUser(pub Authenticated);

#[derive(Debug, Clone)]
pub struct AdminUser(pub Authenticated);

impl std::ops::Deref for CurrentUser {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl std::ops::Deref for AdminUser {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

/// The token a request presents: `Authorization: Bearer` first, then the session cookie.
fn presented_token(parts: &Parts) -> Option<(String, AuthVia)> {
    if let Some(value) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_string(), AuthVia::Bearer));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_string(), AuthVia::Cookie))
}

/// The client's address: the TCP peer, or what a trusted proxy says it is.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| {
            state
                .proxies
                .client_ip(addr.ip(), &parts.headers)
                .to_string()
        })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via) = presented_token(parts).ok_or(ApiError::Unauthenticated)?;
        if token.is_empty() || token.len() > 256 {
            return Err(ApiError::Unauthenticated);
        }
        if via == AuthVia::Bearer && api_keys::prefix_of(&token).is_some() {
            return from_api_key(parts, state, &token).await;
        }
        let (session, user) = sessions::resolve(&state.db, &token)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        if via == AuthVia::Cookie
            && origin::needs_check(parts)
            && !origin::is_allowed(parts, &state.config.allowed_origins)
        {
            return Err(ApiError::OriginMismatch);
        }
        Ok(Authenticated {
            user,
            session_id: Some(session.id),
            api_key: None,
            client_ip: client_ip(parts, state),
        })
    }
}

/// A request authenticated by an API key: the key must be live and carry the scope the route
/// needs (`api_keys::required_scope`).
async fn from_api_key(
    parts: &Parts,
    state: &AppState,
    token: &str,
) -> Result<Authenticated, ApiError> {
    let (key, user) = api_keys::resolve(&state.db, token)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let grant = Grant {
        key_id: key.id,
        scopes: api_keys::parse_scopes(&key.scopes),
    };
    match api_keys::required_scope(&parts.method, parts.uri.path()) {
        Some(scope) if grant.allows(scope) => {}
        Some(scope) => {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                "scope_missing",
                format!("this API key lacks the `{}` scope", scope.as_str()),
            ))
        }
        None => {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                "api_key_not_allowed",
                "API keys cannot be used here; sign in",
            ))
        }
    }
    Ok(Authenticated {
        user,
        session_id: None,
        api_key: Some(grant),
        client_ip: client_ip(parts, state),
    })
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        if auth.user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
        }
        if super::totp::must_enroll(&state.config, &auth.user) {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                "totp_enrollment_required",
                "set up two-factor authentication before doing anything else",
            ));
        }
        Ok(CurrentUser(auth))
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, state).await?;
        if auth.role() != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        if auth
            .api_key
            .as_ref()
            .is_some_and(|k| !k.allows(Scope::Admin))
        {
            return Err(ApiError::coded(
                axum::http::StatusCode::FORBIDDEN,
                "scope_missing",
                "this API key lacks the `admin` scope",
            ));
        }
        Ok(AdminUser(auth))
    }
}
