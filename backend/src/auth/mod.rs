//! Who is calling: sign-in, server-side sessions, the request guards (`Authenticated`,
//! `CurrentUser`, `AdminUser`) every route and WebSocket goes through, and the initial admin.

pub mod bootstrap;
pub mod extract;
pub mod handlers;
pub mod origin;
pub mod sessions;
pub mod throttle;

pub use extract::{AdminUser, Authenticated, CurrentUser};

/// Name of the session cookie (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "gatehouse_session";
