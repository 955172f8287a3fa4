//! User accounts as the admin API shows and changes them.

use serde::{Deserialize, Serialize};

/// What a user may do. `auditor` reads recordings and the audit log but opens no server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    #[default]
    User,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }
}

/// A user as every API response shows it (never a password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub is_admin: bool,
    pub allowed_groups: Vec<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: String,
    /// Whether the account has a second factor (TOTP).
    #[serde(default)]
    pub totp_enabled: bool,
    /// The policy requires a second factor this account has not set up: until it does, it may
    /// only enrol (only `GET /api/auth/me` says so; elsewhere false).
    #[serde(default)]
    pub must_enroll_totp: bool,
    /// `local`, `ldap` or `oidc`.
    #[serde(default)]
    pub auth_source: String,
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Make the user pick a new password at first sign-in.
    #[serde(default)]
    pub must_change_password: bool,
}

/// `PUT /api/users/{id}`: every field optional; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}
