//! Webhooks: admin-configured HTTP receivers told about what happens at the gateway (sign-ins,
//! terminals, file changes, servers coming and going, shares, host keys, recordings).
//!
//! An event is *published* (`publish`) where it happens — most through the audit log
//! (`event_for_audit` maps audit actions to event names), the rest where no audit row is written.
//! Publishing freezes the payload and queues one delivery row per subscribed hook in the
//! database; the dispatcher (`dispatcher.rs`) sends due rows, signed (`sign.rs`), and retries
//! failures with exponential back-off. Because the queue is a table, a delivery survives a
//! restart and any replica may send it. The admin API is `api.rs`; storage is `store.rs`.

pub mod api;
pub mod dispatcher;
pub mod sign;
pub mod store;

use chrono::{SecondsFormat, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::audit::chain::retrying_when_busy;
use crate::audit::Actor;
use crate::db::server;
use crate::ssh::SshError;

pub use wire::webhooks::{ALL_EVENTS, EVENTS, TEST_EVENT};

/// A recording's cast is final and can be played.
pub const RECORDING_READY: &str = "recording_ready";
/// A server presented a host key other than the pinned one, and the connection was refused.
pub const HOST_KEY_CHANGED: &str = "host_key_changed";

/// Wakes the dispatcher when a delivery is queued, so events go out at once rather than at the
/// next poll. Process-wide like the audit chain's key: publishing happens deep in code that holds
/// only a database handle.
static WAKE: Notify = Notify::const_new();

/// The webhook event an audit action announces, if any. `audit::record` calls this after
/// appending a row and publishes what it names.
pub fn event_for_audit(action: &str) -> Option<&'static str> {
    Some(match action {
        "auth.login" => "login",
        "auth.login_failed" | "auth.totp_failed" | "auth.oidc_failed" => "login_failed",
        "terminal.open" => "ssh_connect",
        "files.upload" => "sftp_upload",
        "files.delete" => "sftp_delete",
        "server.create" => "server_added",
        "server.update" => "server_updated",
        "server.delete" => "server_deleted",
        "server.online" => "server_online",
        "server.offline" => "server_offline",
        "terminal.share" => "share_created",
        "terminal.join" => "share_joined",
        _ => return None,
    })
}

/// Whether `name` is an event a hook may subscribe to (or `*`).
pub fn is_known_event(name: &str) -> bool {
    name == ALL_EVENTS || EVENTS.contains(&name)
}

/// The body every attempt of a delivery sends: `{id, event, timestamp, data}`.
pub fn payload(event_id: &str, event: &str, data: Value) -> String {
    json!({
        "id": event_id,
        "event": event,
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// Queues `event` for every enabled hook subscribed to it (or to `*`) and wakes the dispatcher.
/// A failure is logged and otherwise ignored: the action that caused the event already happened.
pub async fn publish(db: &DatabaseConnection, event: &str, data: Value) {
    let hooks = match store::subscribed(db, event).await {
        Ok(hooks) => hooks,
        Err(e) => return tracing::error!(event, error = %e, "webhooks: cannot list subscribers"),
    };
    if hooks.is_empty() {
        return;
    }
    let event_id = uuid::Uuid::new_v4().to_string();
    let body = payload(&event_id, event, data);
    let ids: Vec<i32> = hooks.iter().map(|h| h.id).collect();
    // SQLite can answer BUSY at once when another writer got in first; try afresh, as the
    // audit append does, rather than lose the deliveries.
    let enqueued = retrying_when_busy(|| store::enqueue(db, &ids, &event_id, event, &body)).await;
    match enqueued {
        Ok(()) => wake(),
        Err(e) => tracing::error!(event, error = %e, "webhooks: cannot queue deliveries"),
    }
}

/// Publishes `host_key_changed` when a connection failed because a hop presented a key other
/// than its pin. The audit log records that only as `<purpose>.connect_failed` with a code, so
/// the SSH layer hands its error here rather than through `event_for_audit`.
pub async fn host_key_refused(
    db: &DatabaseConnection,
    actor: &Actor,
    server: &server::Model,
    purpose: &str,
    error: &SshError,
) {
    let SshError::HostKeyMismatch {
        host,
        pinned,
        presented,
    } = error.root()
    else {
        return;
    };
    let data = json!({
        "server_id": server.id,
        "server_name": server.name,
        "host": host,
        "pinned_fingerprint": pinned,
        "presented_fingerprint": presented,
        "purpose": purpose,
        "user_id": actor.user_id,
        "username": actor.username,
        "client_ip": actor.client_ip,
    });
    publish(db, HOST_KEY_CHANGED, data).await;
}

/// Tells the dispatcher there is work (a permit is kept if it is busy).
pub fn wake() {
    WAKE.notify_one();
}

/// Waits for `wake`.
async fn woken() {
    WAKE.notified().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_audit_action_names_a_known_event() {
        for action in [
            "auth.login",
            "auth.login_failed",
            "auth.totp_failed",
            "auth.oidc_failed",
            "terminal.open",
            "files.upload",
            "files.delete",
            "server.create",
            "server.update",
            "server.delete",
            "server.online",
            "server.offline",
            "terminal.share",
            "terminal.join",
        ] {
            let event = event_for_audit(action).expect(action);
            assert!(EVENTS.contains(&event), "{action} → {event}");
        }
        assert!(EVENTS.contains(&RECORDING_READY));
        assert!(EVENTS.contains(&HOST_KEY_CHANGED));
        assert_eq!(event_for_audit("files.list"), None);
        assert_eq!(event_for_audit("webhook.create"), None);
    }

    #[test]
    fn payload_has_the_documented_shape() {
        let body: Value = serde_json::from_str(&payload("e1", "login", json!({"a": 1}))).unwrap();
        assert_eq!(body["id"], "e1");
        assert_eq!(body["event"], "login");
        assert_eq!(body["data"]["a"], 1);
        assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    }
}
