//! Sign-in, session and password-change bodies.

use serde::{Deserialize, Serialize};

use crate::users::UserView;

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

/// The answer to a successful sign-in. `token` is the same server-side session the cookie names,
/// for clients that send `Authorization: Bearer` instead of cookies. The browser UI ignores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub must_change_password: bool,
    pub user: UserView,
}

/// `POST /api/auth/change-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Shortest password the gateway accepts for a local account.
pub const MIN_PASSWORD_LEN: usize = 10;
