//! `GET /api/audit` (filtered, searched, paged) and `GET /api/audit/export?format=csv|jsonl`
//! (the same filters, every matching row, streamed page by page so memory stays flat however
//! long the log). Admins and auditors only; each export is itself audited.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use futures::stream;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Deserialize;
use serde_json::json;
use wire::audit::{AuditEntry, AuditPage};
use wire::users::Role;

use std::collections::HashMap;

use super::{Actor, Event};
use crate::auth::CurrentUser;
use crate::db::{audit_entry, recording};
use crate::error::extract::Query;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::web::dates;

const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;
/// Rows read per database round-trip while exporting.
const EXPORT_CHUNK: u64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/audit", get(list))
        .route("/api/audit/export", get(export))
}

#[derive(Debug, Deserialize)]
struct Filters {
    /// A username, exactly.
    user: Option<String>,
    /// An action, exactly, or a prefix ending in `.` (e.g. `files.`).
    action: Option<String>,
    server_id: Option<i32>,
    /// `success`, `failure` or `denied`.
    outcome: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// Text searched in the username, action, target, client IP and details.
    q: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
    /// Export only: `csv` or `jsonl`.
    format: Option<String>,
}

fn reader(user: &CurrentUser) -> ApiResult<()> {
    match user.role() {
        Role::Admin | Role::Auditor => Ok(()),
        Role::User => Err(ApiError::Forbidden),
    }
}

/// The user's text with `LIKE`'s wildcards and escape character taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `LIKE` with the user's text taken literally.
fn contains(text: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(text))).escape('\\')
}

fn condition(f: &Filters) -> ApiResult<Condition> {
    let mut cond = Condition::all();
    if let Some(user) = f.user.as_deref().filter(|u| !u.is_empty()) {
        cond = cond.add(audit_entry::Column::Username.eq(user));
    }
    if let Some(action) = f.action.as_deref().filter(|a| !a.is_empty()) {
        cond = cond.add(match action.strip_suffix('.') {
            Some(prefix) => audit_entry::Column::Action
                .like(LikeExpr::new(format!("{}.%", escape_like(prefix))).escape('\\')),
            None => audit_entry::Column::Action.eq(action),
        });
    }
    if let Some(id) = f.server_id {
        cond = cond.add(audit_entry::Column::ServerId.eq(id));
    }
    if let Some(outcome) = f.outcome.as_deref().filter(|o| !o.is_empty()) {
        if !["success", "failure", "denied"].contains(&outcome) {
            return Err(ApiError::Validation(format!(
                "outcome must be success, failure or denied, not {outcome:?}"
            )));
        }
        cond = cond.add(audit_entry::Column::Outcome.eq(outcome));
    }
    if let Some(since) = &f.since {
        cond = cond.add(audit_entry::Column::At.gte(dates::parse_bound("since", since, false)?));
    }
    if let Some(until) = &f.until {
        cond = cond.add(audit_entry::Column::At.lt(dates::parse_bound("until", until, true)?));
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.len() > 200 {
            return Err(ApiError::Validation("q is at most 200 characters".into()));
        }
        let like = || contains(q);
        cond = cond.add(
            Condition::any()
                .add(Expr::col(audit_entry::Column::Username).like(like()))
                .add(Expr::col(audit_entry::Column::Action).like(like()))
                .add(Expr::col(audit_entry::Column::Target).like(like()))
                .add(Expr::col(audit_entry::Column::ClientIp).like(like()))
                .add(Expr::col(audit_entry::Column::Details).like(like())),
        );
    }
    Ok(cond)
}

fn view(row: audit_entry::Model) -> AuditEntry {
    AuditEntry {
        id: row.id,
        at: row.at.to_rfc3339(),
        user_id: row.user_id,
        username: row.username,
        action: row.action,
        server_id: row.server_id,
        client_ip: row.client_ip,
        target: row.target,
        outcome: row.outcome,
        details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
        recording_id: None,
    }
}

/// Links the page's terminal events to their sessions' recordings, in one query.
async fn link_recordings(db: &DatabaseConnection, entries: &mut [AuditEntry]) -> Result<(), DbErr> {
    let sessions: Vec<String> = entries
        .iter()
        .filter(|e| e.action.starts_with("terminal."))
        .filter_map(|e| e.target.clone())
        .collect();
    if sessions.is_empty() {
        return Ok(());
    }
    let found: HashMap<String, String> = recording::Entity::find()
        .filter(recording::Column::SessionId.is_in(sessions))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.session_id, r.id))
        .collect();
    for entry in entries.iter_mut() {
        if entry.action.starts_with("terminal.") {
            entry.recording_id = entry.target.as_ref().and_then(|t| found.get(t).cloned());
        }
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    operation_id = "audit_list",
    params(
        ("user" = Option<String>, Query, description = "A username, exactly"),
        ("action" = Option<String>, Query, description = "An action, exactly, or a prefix ending in `.` (`files.`)"),
        ("server_id" = Option<i32>, Query, description = "Only this server's"),
        ("outcome" = Option<String>, Query, description = "`success`, `failure` or `denied`"),
        ("since" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`)"),
        ("until" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`, that whole day)"),
        ("q" = Option<String>, Query, description = "Text searched in username, action, target, client IP and details (at most 200 characters)"),
        ("limit" = Option<u64>, Query, description = "Page size (at most 1000)"),
        ("offset" = Option<u64>, Query, description = "Rows to skip"),
    ),
    responses(
        (status = 200, description = "Matching rows, newest first", body = wire::audit::AuditPage),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<Filters>,
) -> ApiResult<Json<AuditPage>> {
    reader(&user)?;
    let query = audit_entry::Entity::find().filter(condition(&f)?);
    let total = query.clone().count(&state.db).await?;
    let rows = query
        .order_by_desc(audit_entry::Column::Id)
        .limit(f.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE))
        // SQL binds offsets as i64: a larger one would abort the request (found by schemathesis).
        .offset(f.offset.unwrap_or(0).min(i64::MAX as u64))
        .all(&state.db)
        .await?;
    let mut entries: Vec<AuditEntry> = rows.into_iter().map(view).collect();
    link_recordings(&state.db, &mut entries).await?;
    Ok(Json(AuditPage { entries, total }))
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Jsonl,
}

#[utoipa::path(
    get,
    path = "/api/audit/export",
    tag = "audit",
    operation_id = "audit_export",
    params(
        ("user" = Option<String>, Query, description = "A username, exactly"),
        ("action" = Option<String>, Query, description = "An action, exactly, or a prefix ending in `.` (`files.`)"),
        ("server_id" = Option<i32>, Query, description = "Only this server's"),
        ("outcome" = Option<String>, Query, description = "`success`, `failure` or `denied`"),
        ("since" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`)"),
        ("until" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`, that whole day)"),
        ("q" = Option<String>, Query, description = "Text searched in username, action, target, client IP and details (at most 200 characters)"),
        ("format" = Option<String>, Query, description = "`jsonl` (default) or `csv`"),
    ),
    responses(
        (status = 200, description = "Every matching row, streamed: JSON Lines (one `AuditEntry` a line) or CSV", body = String, content_type = "application/x-ndjson"),
    )
)]
async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(f): Query<Filters>,
) -> ApiResult<Response> {
    reader(&user)?;
    let format = match f.format.as_deref().unwrap_or("jsonl") {
        "csv" => Format::Csv,
        "jsonl" => Format::Jsonl,
        other => {
            return Err(ApiError::Validation(format!(
                "format must be csv or jsonl, not {other:?}"
            )))
        }
    };
    let cond = condition(&f)?;
    let details = json!({"format": f.format.as_deref().unwrap_or("jsonl"), "user": f.user,
        "action": f.action, "server_id": f.server_id, "outcome": f.outcome, "since": f.since, "until": f.until, "q": f.q});
    let event = Event::new("audit.export").details(details);
    super::record(&state.db, &Actor::from(&*user), event).await;

    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "gatehouse-audit.csv"),
        Format::Jsonl => ("application/x-ndjson", "gatehouse-audit.jsonl"),
    };
    let head = match format {
        Format::Csv => {
            "id,at,user_id,username,action,server_id,client_ip,target,outcome,details\n".to_owned()
        }
        Format::Jsonl => String::new(),
    };
    // Oldest first, page by page after the last id sent: stable while new rows arrive.
    let pages = stream::unfold(Some(0i32), move |after| {
        let (db, cond) = (state.db.clone(), cond.clone());
        async move {
            let after = after?;
            match page(&db, cond, after).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|r| r.id);
                    let text: String = rows.into_iter().map(|r| line(format, r)).collect();
                    Some((Ok::<_, std::io::Error>(text), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    Some((Err(std::io::Error::other("the export failed")), None))
                }
            }
        }
    });
    let body = Body::from_stream(futures::StreamExt::chain(
        stream::once(async move { Ok::<_, std::io::Error>(head) }),
        pages,
    ));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(body)
        .map_err(|e| ApiError::internal("audit export", e))
}

async fn page(
    db: &DatabaseConnection,
    cond: Condition,
    after: i32,
) -> Result<Vec<audit_entry::Model>, DbErr> {
    audit_entry::Entity::find()
        .filter(cond)
        .filter(audit_entry::Column::Id.gt(after))
        .order_by_asc(audit_entry::Column::Id)
        .limit(EXPORT_CHUNK)
        .all(db)
        .await
}

fn line(format: Format, row: audit_entry::Model) -> String {
    match format {
        Format::Jsonl => {
            let mut s = serde_json::to_string(&view(row)).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => {
            let fields = [
                row.id.to_string(),
                row.at.to_rfc3339(),
                row.user_id.map(|v| v.to_string()).unwrap_or_default(),
                row.username.unwrap_or_default(),
                row.action,
                row.server_id.map(|v| v.to_string()).unwrap_or_default(),
                row.client_ip.unwrap_or_default(),
                row.target.unwrap_or_default(),
                row.outcome.unwrap_or_default(),
                row.details,
            ];
            let mut s = fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",");
            s.push('\n');
            s
        }
    }
}

/// RFC 4180 quoting, and a leading `'` before `=`, `+`, `-`, `@` so a spreadsheet never runs a
/// username or path as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }
}
