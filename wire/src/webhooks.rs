//! Webhooks as the admin API shows and changes them, and their delivery log. A hook's secret is
//! write-only: responses say whether one is set (`has_secret`), and only the answer to a create
//! that generated the secret carries it, once.

use serde::{Deserialize, Serialize};

/// Subscribes a hook to every event.
pub const ALL_EVENTS: &str = "*";

/// The event a test delivery carries (`POST /api/webhooks/{id}/test`); it cannot be subscribed to.
pub const TEST_EVENT: &str = "test";

/// Every event a hook may subscribe to, in the order the UI lists them.
pub const EVENTS: &[&str] = &[
    "login",
    "login_failed",
    "ssh_connect",
    "sftp_upload",
    "sftp_delete",
    "server_added",
    "server_updated",
    "server_deleted",
    "server_online",
    "server_offline",
    "share_created",
    "share_joined",
    "host_key_changed",
    "recording_ready",
];

/// `POST /api/webhooks`. Without a `secret`, the gateway generates one and answers with it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateWebhookRequest {
    pub name: String,
    pub url: String,
    /// Event names, or `["*"]` for every event.
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// `PUT /api/webhooks/{id}`: absent fields stay as they are; the secret is replaced only when a
/// new one is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWebhookRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A hook as every response shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: i32,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub has_secret: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to `POST /api/webhooks`: the hook, and the generated secret when the request
/// gave none (shown this once; it cannot be read back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; no more are made (unless an admin retries it).
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> DeliveryState {
        match s {
            "delivered" => DeliveryState::Delivered,
            "failed" => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        }
    }
}

/// One event sent (or to be sent) to one hook: `GET /api/webhooks/{id}/deliveries`, newest
/// first; also the answer to a test or a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    pub id: i32,
    pub webhook_id: i32,
    /// The payload's `id`: the same for every attempt (receivers deduplicate on it).
    pub event_id: String,
    pub event: String,
    pub state: DeliveryState,
    pub attempts: i32,
    /// The receiver's HTTP status at the last attempt; none when it could not be reached.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub created_at: String,
    pub last_attempt_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}
