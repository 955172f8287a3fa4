//! The audit log: who did what, to which server, from where. Every state change and every
//! connection to a server writes a row. (Hash chaining, search and export come with the audit work.)

use chrono::Utc;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use serde_json::Value;

use crate::auth::Authenticated;
use crate::db::audit_entry;

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
    let row = audit_entry::ActiveModel {
        at: Set(Utc::now()),
        user_id: Set(actor.user_id),
        username: Set(actor.username.clone()),
        action: Set(action.to_string()),
        server_id: Set(server_id),
        client_ip: Set(actor.client_ip.clone()),
        details: Set(details.to_string()),
        ..Default::default()
    };
    if let Err(e) = row.insert(db).await {
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
