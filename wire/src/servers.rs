//! Server registry bodies. Requests may carry credentials; responses never do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    Password,
    Key,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Key => "key",
        }
    }
}

/// `POST /api/servers` and `PUT /api/servers/{id}`. On update, an absent `password`,
/// `private_key` or `passphrase` keeps the stored one, so a form never has to echo secrets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRequest {
    pub name: String,
    pub hostname: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_via_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_allowed_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_sessions: Option<bool>,
}

fn default_port() -> u16 {
    22
}

/// A registered server as responses show it. `has_password` / `has_private_key` say whether a
/// credential is stored without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerView {
    pub id: i32,
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub auth_method: AuthMethod,
    pub has_password: bool,
    pub has_private_key: bool,
    pub group: Option<String>,
    pub tags: Vec<String>,
    pub description: String,
    pub jump_via_id: Option<i32>,
    pub ssh_enabled: bool,
    pub sftp_enabled: bool,
    pub sftp_read_only: bool,
    pub sftp_allowed_paths: Vec<String>,
    pub record_sessions: Option<bool>,
    /// `SHA256:…` fingerprint of the pinned host key, once the first connection pinned one.
    pub host_key_fingerprint: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/servers/{id}/test`: each hop of the server's chain (bastions first, the server
/// last), tried in order until one fails. Hops after a failure are listed with `ok: false` and no
/// `ms`, so the answer always names every hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub ok: bool,
    pub hops: Vec<HopResult>,
    /// Wall time of the whole test, in milliseconds.
    pub total_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HopResult {
    pub server_id: i32,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub ok: bool,
    /// Time for this hop's TCP connect (or forwarded channel), handshake and authentication.
    pub ms: Option<u64>,
    /// The host key the hop presented (`SHA256:…`).
    pub fingerprint: Option<String>,
    /// Why the hop failed (the terminal error codes: `unreachable`, `auth_failed`,
    /// `host_key_mismatch`, `timeout`, `forwarding_prohibited`, …).
    pub code: Option<String>,
    pub error: Option<String>,
}
