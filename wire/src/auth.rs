//! Sign-in, session and password-change bodies.

use serde::{Deserialize, Serialize};

use crate::users::UserView;

/// `POST /api/auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

/// The answer to a successful sign-in. `token` is the same server-side session the cookie names,
/// for clients that send `Authorization: Bearer` instead of cookies. The browser UI ignores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub token: String,
    pub must_change_password: bool,
    pub user: UserView,
}

/// `GET /api/auth/providers` (no sign-in needed): how one may sign in here, for the login page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthProviders {
    /// Whether a directory (LDAP / AD) accepts username and password sign-ins too.
    pub ldap: bool,
    /// Single sign-on, when configured.
    pub oidc: Option<OidcProvider>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcProvider {
    /// The button's text, e.g. "Sign in with Acme SSO".
    pub label: String,
    /// Where the button goes (a plain navigation): `/api/auth/oidc/login`.
    pub login_url: String,
}

/// `POST /api/auth/change-password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Shortest password the gateway accepts for a local account.
pub const MIN_PASSWORD_LEN: usize = 10;

/// `GET /api/auth/totp`: the caller's second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpStatus {
    pub enabled: bool,
    /// The gateway's policy makes a second factor mandatory for this account.
    pub required: bool,
    /// Unused recovery codes (0 when not enabled).
    pub recovery_codes_left: u64,
}

/// `POST /api/auth/totp/setup`: a new secret, shown once; nothing changes until it is confirmed
/// with a code (`POST /api/auth/totp/enable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// Base32, for typing into an authenticator by hand.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_url: String,
    /// The QR code as a base64 PNG (for an `<img src="data:image/png;base64,…">`).
    pub qr_png_base64: String,
}

/// A code from the authenticator (or, where accepted, a recovery code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpCode {
    pub code: String,
}

/// Fresh recovery codes, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// `POST /api/auth/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateApiKey {
    pub name: String,
    /// Any of `read`, `terminal`, `files`, `admin`.
    pub scopes: Vec<String>,
    /// Days until it stops working; none: until revoked.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// One of the caller's API keys (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: i32,
    pub name: String,
    /// `ghk_<prefix>_…`: enough to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// The answer to creating a key: the key, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    pub key: String,
    pub api_key: ApiKeyView,
}
