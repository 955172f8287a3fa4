//! The connectivity monitor as clients see it: `GET /api/servers/status`.

use serde::{Deserialize, Serialize};

/// Whether a server answered the monitor's probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    /// Never probed yet, or not failed often enough to call it offline.
    #[default]
    Unknown,
    Online,
    Offline,
}

impl ServerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Unknown => "unknown",
            ServerState::Online => "online",
            ServerState::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> ServerState {
        match s {
            "online" => ServerState::Online,
            "offline" => ServerState::Offline,
            _ => ServerState::Unknown,
        }
    }
}

/// One server's state. Timestamps are RFC 3339; everything but `server_id` and `state` is null
/// for a server the monitor has not probed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerStatus {
    pub server_id: i32,
    pub state: ServerState,
    /// When `state` last changed.
    pub since: Option<String>,
    /// When the last probe finished.
    pub checked_at: Option<String>,
    /// How long the last successful probe took (TCP and SSH handshake through the whole chain).
    pub latency_ms: Option<u64>,
    /// The last probe's failure, if it failed: a code such as `unreachable`, `timeout`,
    /// `host_key_mismatch`, `auth_failed` (at a bastion), and a message for people.
    pub error_code: Option<String>,
    pub error: Option<String>,
    /// Probes that failed in a row since the last success.
    #[serde(default)]
    pub consecutive_failures: u32,
}
