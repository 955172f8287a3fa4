//! Request guards. A handler states who may call it by the type it takes:
//! - `Authenticated`: any signed-in user, even one with a pending forced password change; only
//!   `me`, `logout` and `change-password` take this.
//! - `CurrentUser`: a signed-in user with no pending change — every other route and WebSocket;
//! - `AdminUser`: a `CurrentUser` whose role is admin.
//!
//! A handler cannot forget the check: without the guard it has no user to work with.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts};
use wire::users::Role;

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
    pub session_id: i32,
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

pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via) = presented_token(parts).ok_or(ApiError::Unauthenticated)?;
        if token.is_empty() || token.len() > 256 {
            return Err(ApiError::Unauthenticated);
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
            session_id: session.id,
            client_ip: client_ip(parts),
        })
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        if auth.user.must_change_password {
            return Err(ApiError::PasswordChangeRequired);
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
        Ok(AdminUser(auth))
    }
}
