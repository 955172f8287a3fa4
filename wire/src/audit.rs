//! The audit log as clients see it: `GET /api/audit` (admins and auditors).

use serde::{Deserialize, Serialize};

/// One audit row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i32,
    /// RFC 3339.
    pub at: String,
    pub user_id: Option<i32>,
    pub username: Option<String>,
    /// e.g. `auth.login`, `terminal.open`, `files.upload`.
    pub action: String,
    pub server_id: Option<i32>,
    pub client_ip: Option<String>,
    /// What was acted on: a file path, a terminal session id, a username, a recording id.
    pub target: Option<String>,
    /// `success`, `failure` or `denied`; `None` on rows from before outcomes were recorded.
    pub outcome: Option<String>,
    /// Action-specific details (never a secret).
    pub details: serde_json::Value,
    /// For terminal events: the session's recording, when there is one (list only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_id: Option<String>,
}

/// `GET /api/audit?user=&action=&server_id=&outcome=&since=&until=&q=&limit=&offset=`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// How many rows match the filters.
    pub total: u64,
}
