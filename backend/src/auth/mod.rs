//! Who is calling: sign-in, server-side sessions, the request guards (`Authenticated`,
//! `CurrentUser`, `AdminUser`) every route and WebSocket goes through, and the initial admin.

pub mod api_keys;
pub mod api_keys_api;
pub mod bootstrap;
pub mod external;
pub mod extract;
pub mod handlers;
pub mod ldap;
pub mod login;
pub mod oidc;
pub mod origin;
pub mod sessions;
pub mod throttle;
pub mod totp;
pub mod totp_api;

pub use extract::{AdminUser, Authenticated, CurrentUser};

/// Name of the session cookie (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "gatehouse_session";
