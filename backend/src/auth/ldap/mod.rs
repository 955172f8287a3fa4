//! LDAP / Active Directory sign-in: search-then-bind against the configured directory, groups
//! mapped to a role and server groups, and the account linked to a Gatehouse user through
//! `auth::external` by its stable id (entryUUID / objectGUID), never by name. The login handler
//! asks here only after a local password failed; a directory that cannot be reached answers 503
//! `directory_unavailable` unless a local account has that name. Not configured (no `ldap_url`):
//! nobody signs in through it. Admins see the status and can run a dry-run test
//! (`handlers.rs`). See docs/ldap.md.

mod connect;
pub mod directory;
pub mod filter;
pub mod groups;
pub mod handlers;
pub mod settings;

use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::external::{self, ExternalAccount};
use crate::audit::{self, Actor, Event, Outcome};
use crate::db::{audit_entry, user};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users::service::find_by_username;
pub use settings::GroupMembership;
use settings::Settings;

/// Audit action for a directory that failed (unreachable, timed out, misconfigured).
pub const ERROR_ACTION: &str = "auth.ldap_error";

/// Why the directory could not answer. Never carries a password.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("LDAP is misconfigured: {0}")]
    Misconfigured(String),
    #[error("cannot reach the directory: {0}")]
    Unreachable(String),
    #[error("the directory did not answer in time ({0})")]
    Timeout(&'static str),
    #[error("the directory refused the service account: {0}")]
    ServiceBind(String),
    #[error("the directory failed the {op}: {detail}")]
    Operation { op: &'static str, detail: String },
}

impl DirectoryError {
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::Misconfigured(_) => "misconfigured",
            DirectoryError::Unreachable(_) => "unreachable",
            DirectoryError::Timeout(_) => "timeout",
            DirectoryError::ServiceBind(_) => "service_bind_refused",
            DirectoryError::Operation { .. } => "operation_failed",
        }
    }
}

/// The user the directory vouches for with this name and password, if LDAP is configured and it
/// does. `Ok(None)` for a wrong password or an unknown name, like a local failure.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    client_ip: Option<String>,
) -> ApiResult<Option<user::Model>> {
    let settings = match Settings::from_config(&state.config) {
        Ok(None) => return Ok(None),
        Ok(Some(settings)) => settings,
        Err(e) => return unavailable(state, username, &e, client_ip).await,
    };
    let mut trace = directory::Trace::default();
    let found = match directory::authenticate(&settings, username, Some(password), &mut trace).await
    {
        Ok(Ok(found)) => found,
        Ok(Err(rejected)) => {
            tracing::info!(reason = %rejected, "LDAP sign-in refused");
            return Ok(None);
        }
        Err(e) => return unavailable(state, username, &e, client_ip).await,
    };
    let grant = groups::grant(&settings, &found.ldap_groups);
    if !grant.allowed {
        tracing::info!(dn = %found.dn, "LDAP sign-in refused: in none of ldap_allowed_groups");
        return Ok(None);
    }
    let account = ExternalAccount {
        provider: "ldap",
        issuer: settings.issuer(),
        subject: found.subject,
        username: found.username,
        role: grant.role,
        groups: grant.server_groups,
    };
    match external::sign_in(&state.db, &account, client_ip).await {
        Ok(user) => Ok(Some(user)),
        // A disabled user: the same answer as a wrong password.
        Err(ApiError::InvalidCredentials) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Logs and audits a directory failure. The caller sees 503 `directory_unavailable`, unless a
/// local account has this name: then it is a plain failed local sign-in.
async fn unavailable(
    state: &AppState,
    username: &str,
    error: &DirectoryError,
    client_ip: Option<String>,
) -> ApiResult<Option<user::Model>> {
    tracing::warn!(code = error.code(), error = %error, "LDAP directory failed");
    let tried: String = username.chars().take(128).collect();
    record_error(state, Some(tried), client_ip, error).await;
    let local = if username.len() <= 128 {
        find_by_username(&state.db, username).await?
    } else {
        None
    };
    if local.is_some_and(|u| u.password_hash.is_some()) {
        return Ok(None);
    }
    Err(ApiError::coded(
        StatusCode::SERVICE_UNAVAILABLE,
        "directory_unavailable",
        "the directory (LDAP) cannot be reached; local accounts still work",
    ))
}

async fn record_error(
    state: &AppState,
    username: Option<String>,
    client_ip: Option<String>,
    error: &DirectoryError,
) {
    let actor = Actor {
        user_id: None,
        username,
        client_ip,
    };
    let details = json!({"code": error.code(), "message": error.to_string()});
    audit::record(
        &state.db,
        &actor,
        Event::new(ERROR_ACTION)
            .outcome(Outcome::Failure)
            .details(details),
    )
    .await;
}

/// The most recent directory failure, from the audit log (so every replica sees it).
pub async fn last_error(state: &AppState) -> ApiResult<Option<wire::ldap::LdapLastError>> {
    let row = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(ERROR_ACTION))
        .order_by_desc(audit_entry::Column::Id)
        .one(&state.db)
        .await?;
    Ok(row.map(|row| {
        let details: serde_json::Value = serde_json::from_str(&row.details).unwrap_or_default();
        let text = |key: &str| details[key].as_str().unwrap_or_default().to_owned();
        wire::ldap::LdapLastError {
            at: row.at.to_rfc3339(),
            code: text("code"),
            message: text("message"),
        }
    }))
}
