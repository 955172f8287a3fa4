//! The audit log's calls: one filtered page (`GET /api/audit`) and the export links, which the
//! session cookie authenticates, so a plain download link works.

use wire::audit::AuditPage;

use crate::api::{self, query_value, ApiResult};

/// What the list shows: the gateway's filters and the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// A username, matched exactly.
    pub user: String,
    /// An action (`files.upload`) or an area prefix ending in `.` (`files.`).
    pub action: String,
    pub server_id: Option<i32>,
    /// `success`, `failure`, `denied`, or empty for all.
    pub outcome: String,
    /// RFC 3339 bounds (the local day's start / end).
    pub since: String,
    pub until: String,
    /// Text searched in user, action, target, client IP and details.
    pub q: String,
    pub limit: u32,
    pub offset: u64,
}

impl AuditFilter {
    /// The filter part of the query string (no paging), shared by the list and the export.
    fn filters(&self) -> Vec<String> {
        let mut query = Vec::new();
        if let Some(id) = self.server_id {
            query.push(format!("server_id={id}"));
        }
        for (name, value) in [
            ("user", &self.user),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("since", &self.since),
            ("until", &self.until),
            ("q", &self.q),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                query.push(format!("{name}={}", query_value(value)));
            }
        }
        query
    }

    pub fn is_filtered(&self) -> bool {
        !self.filters().is_empty()
    }
}

/// One page of the log, newest first, and how many rows match in all.
pub async fn page(filter: &AuditFilter) -> ApiResult<AuditPage> {
    let mut query = filter.filters();
    query.push(format!("limit={}", filter.limit));
    query.push(format!("offset={}", filter.offset));
    api::get(&format!("api/audit?{}", query.join("&"))).await
}

/// Every row the filter matches, as `csv` or `jsonl` (streamed by the gateway; the export is
/// itself audited).
pub fn export_url(filter: &AuditFilter, format: &str) -> String {
    let mut query = filter.filters();
    query.push(format!("format={format}"));
    api::url(&format!("api/audit/export?{}", query.join("&")))
}
