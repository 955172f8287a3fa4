//! The audit log: who did what, to which server, from where. Every state change and every
//! connection to a server writes a row, linked into a hash chain (`chain.rs`) that
//! `gatehouse audit verify` checks.

pub mod api;
pub mod chain;
pub mod cli;
pub mod retention;

use sea_orm::DatabaseConnection;
use serde_json::Value;

use crate::auth::Authenticated;

/// Who acted. Failed sign-ins have a username but no user id.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i32>,
    pub username: Option<String>,
    pub client_ip: Option<String>,
}

impl From<&Authenticated> for Actor {
    fn from(a: &Authenticated) -> Self {
        Actor {
            user_id: Some(a.user.id),
            username: Some(a.user.username.clone()),
            client_ip: a.client_ip.clone(),
        }
    }
}

/// Writes one audit row. A failure to audit is logged loudly but does not undo the action that
/// already happened.
pub async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    server_id: Option<i32>,
    details: Value,
) {
    crate::metrics::audit_action(action);
    let row = chain::NewRow {
        user_id: actor.user_id,
        username: actor.username.clone(),
        action: action.to_string(),
        server_id,
        client_ip: actor.client_ip.clone(),
        details: details.to_string(),
    };
    if let Err(e) = chain::append(db, row).await {
        tracing::error!(action, error = %e, "could not write audit row");
    }
    tracing::info!(
        target: "gatehouse::audit",
        action,
        user = actor.username.as_deref().unwrap_or("-"),
        server_id,
        client_ip = actor.client_ip.as_deref().unwrap_or("-"),
        "audit"
    );
}
