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

/// How an audited attempt ended. `Denied` is a refusal by policy (throttled, a host key not yet
/// trusted); `Failure` is an attempt that went wrong (a bad password, an unreachable server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One thing that happened: the action (`area.verb`), the server it touched, its target (a path,
/// a session, a user, a recording), how it ended, and action-specific details (never a secret).
#[derive(Debug, Clone)]
pub struct Event {
    action: String,
    server_id: Option<i32>,
    target: Option<String>,
    outcome: Outcome,
    details: Value,
}

impl Event {
    pub fn new(action: impl Into<String>) -> Self {
        Event {
            action: action.into(),
            server_id: None,
            target: None,
            outcome: Outcome::Success,
            details: Value::Object(Default::default()),
        }
    }

    pub fn server(mut self, server_id: Option<i32>) -> Self {
        self.server_id = server_id;
        self
    }

    pub fn target(mut self, target: impl std::fmt::Display) -> Self {
        self.target = Some(target.to_string());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Writes one audit row: the one entry point every part of the gateway uses. A failure to audit
/// is logged loudly but does not undo the action that already happened.
pub async fn record(db: &DatabaseConnection, actor: &Actor, event: Event) {
    let Event {
        action,
        server_id,
        target,
        outcome,
        details,
    } = event;
    crate::metrics::audit_action(&action);
    let row = chain::NewRow {
        user_id: actor.user_id,
        username: actor.username.clone(),
        action: action.clone(),
        server_id,
        client_ip: actor.client_ip.clone(),
        target: target.clone(),
        outcome: outcome.as_str().to_owned(),
        details: details.to_string(),
    };
    let audit_id = match chain::append(db, row).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(action, error = %e, "could not write audit row");
            None
        }
    };
    tracing::info!(
        target: "gatehouse::audit",
        action,
        user = actor.username.as_deref().unwrap_or("-"),
        server_id,
        target = target.as_deref().unwrap_or("-"),
        outcome = outcome.as_str(),
        client_ip = actor.client_ip.as_deref().unwrap_or("-"),
        "audit"
    );
    if let Some(event) = crate::webhooks::event_for_audit(&action) {
        let data = serde_json::json!({
            "audit_id": audit_id,
            "action": action,
            "user_id": actor.user_id,
            "username": actor.username,
            "client_ip": actor.client_ip,
            "server_id": server_id,
            "target": target,
            "outcome": outcome.as_str(),
            "details": details,
        });
        crate::webhooks::publish(db, event, data).await;
    }
}
