//! The audit log as clients see it: `GET /api/audit` (admins and auditors).

use serde::{Deserialize, Serialize};

/// One audit row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Action-specific details (never a secret).
    pub details: serde_json::Value,
}

/// `GET /api/audit?user=&action=&server_id=&since=&until=&q=&limit=&offset=`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// How many rows match the filters.
    pub total: u64,
}
