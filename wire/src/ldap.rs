//! `/api/admin/ldap`: the directory sign-in's status and a dry-run test, for admins. Nothing here
//! carries a password (the test request's `password` is only ever sent, never answered).

use serde::{Deserialize, Serialize};

use crate::users::Role;

/// `GET /api/admin/ldap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapStatus {
    /// Whether `ldap_url` is set (the settings may still be wrong: see `last_error`).
    pub configured: bool,
    pub url: Option<String>,
    pub starttls: bool,
    pub user_base: Option<String>,
    /// `member`, `memberOf` or `ad_nested`.
    pub group_membership: String,
    /// Whether searches bind as a service account (false: anonymous).
    pub service_account: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LdapLastError>,
}

/// The most recent failure to use the directory (from the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapLastError {
    /// RFC 3339.
    pub at: String,
    /// `unreachable`, `timeout`, `misconfigured`, `service_bind_refused`, `operation_failed`.
    pub code: String,
    pub message: String,
}

/// `POST /api/admin/ldap/test`. Without a username only the connection and the service bind are
/// tried; with a username (and no password) the entry and its groups are looked up; with both,
/// the password is checked too. Nothing is created or changed either way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapTestRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapTestResult {
    /// Every step passed (and the account, when one was asked for, would be let in).
    pub ok: bool,
    pub steps: Vec<LdapTestStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<LdapTestAccount>,
}

/// One step: `settings`, `connect`, `service_bind`, `user_search`, `groups`, `user_bind`,
/// `mapping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapTestStep {
    pub name: String,
    pub ok: bool,
    pub millis: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a sign-in of the tested account would produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapTestAccount {
    pub dn: String,
    /// The stable id the account is linked by.
    pub subject: String,
    /// The name it would ask for (it gets `<name>@ldap` if a local account has it).
    pub username: String,
    /// The LDAP groups found (CN, or DN when there is none).
    pub ldap_groups: Vec<String>,
    pub role: Role,
    pub server_groups: Vec<String>,
    /// False when `ldap_allowed_groups` keeps it out.
    pub allowed: bool,
    /// Whether the password was checked (only when one was given).
    pub password_checked: bool,
}
