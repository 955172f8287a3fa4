//! The wire contract between the Gatehouse backend and its clients (the Leptos UI, scripts, tests).
//!
//! Only plain data lives here, so the crate compiles for the server and for wasm32 alike. Field
//! names follow PRODUCT.md's contract; nothing in a response type can carry a credential.

pub mod audit;
pub mod auth;
pub mod files;
pub mod ldap;
pub mod monitor;
pub mod oidc;
pub mod recordings;
pub mod servers;
pub mod snippets;
pub mod terminal;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Serialize};

/// Every error response body: `{"error": "<human message>", "code": "<snake_case_code>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub instance_id: String,
    pub monitor_role: String,
    /// Demo mode: a read-only sandbox (the UI shows a banner).
    #[serde(default)]
    pub demo: bool,
    /// In demo mode, the account visitors sign in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo_login: Option<DemoLogin>,
}

/// The demo account. The one credential a response carries, on purpose: it is public, shown on
/// the login page, and the account can change nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoLogin {
    pub username: String,
    pub password: String,
}
