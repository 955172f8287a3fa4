//! `POST /api/servers/known-hosts`: an admin pins registered servers' host keys from an OpenSSH
//! `known_hosts` file. Parsing and the choice of key live in `known_hosts.rs`; this file applies
//! the choices, each as a compare-and-swap on the pin, and audits them.
//!
//! Pooled connections compare the pin on their next use, so a replaced pin needs nothing more.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use wire::servers::{
    KnownHostsConflict, KnownHostsImportReport, KnownHostsImportRequest, KnownHostsPinned,
    KnownHostsUnchanged,
};

use super::known_hosts::{HostKey, HostKeys, KnownHosts, Outcome};
use super::service;
use crate::audit::{self, Actor, Event};
use crate::auth::AdminUser;
use crate::db::server;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest `known_hosts` text accepted.
const MAX_TEXT: usize = 4 << 20;
/// Largest request body: the text plus room for JSON escaping (each newline doubles).
const MAX_BODY: usize = MAX_TEXT + (MAX_TEXT / 8);
/// Most lines a file may have.
const MAX_LINES: usize = 100_000;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/servers/known-hosts",
        post(import).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

fn too_large(what: &str) -> ApiError {
    ApiError::coded(StatusCode::PAYLOAD_TOO_LARGE, "too_large", what.to_string())
}

#[utoipa::path(
    post,
    path = "/api/servers/known-hosts",
    tag = "servers",
    operation_id = "servers_known_hosts_import",
    request_body = wire::servers::KnownHostsImportRequest,
    responses(
        (status = 200, description = "Pins set, unchanged and in conflict", body = wire::servers::KnownHostsImportReport),
        (status = 413, description = "The file is too large", body = wire::ErrorBody),
    )
)]
async fn import(
    State(state): State<AppState>,
    admin: AdminUser,
    body: Result<axum::Json<KnownHostsImportRequest>, JsonRejection>,
) -> ApiResult<axum::Json<KnownHostsImportReport>> {
    let req = match body {
        Ok(axum::Json(req)) => req,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(too_large(
                "the request body is too large for a known_hosts import",
            ))
        }
        Err(rejection) => return Err(rejection.into()),
    };
    if req.known_hosts.len() > MAX_TEXT {
        return Err(too_large("known_hosts files are limited to 4 MiB"));
    }
    if req.known_hosts.lines().count() > MAX_LINES {
        return Err(too_large("known_hosts files are limited to 100000 lines"));
    }
    let actor = Actor::from(&*admin);
    let report = apply(&state.db, &actor, req).await?;
    Ok(axum::Json(report))
}

/// The keys the file lists for each server. Parsing and hashing a large file with many hashed
/// lines takes CPU time, so it runs off the async workers.
async fn keys_per_server(
    text: String,
    servers: &[server::Model],
) -> Result<(Vec<HostKeys>, Vec<String>), ApiError> {
    let addresses: Vec<(String, u16)> = servers
        .iter()
        .map(|s| (s.hostname.clone(), u16::try_from(s.port).unwrap_or(22)))
        .collect();
    tokio::task::spawn_blocking(move || {
        let file = KnownHosts::parse(&text);
        let mut seen: std::collections::HashMap<&(String, u16), HostKeys> = Default::default();
        let keys = addresses
            .iter()
            .map(|address| {
                seen.entry(address)
                    .or_insert_with(|| file.keys_for(&address.0, address.1))
                    .clone()
            })
            .collect();
        (keys, file.warnings())
    })
    .await
    .map_err(|e| ApiError::internal("known_hosts parser", e))
}

async fn apply(
    db: &DatabaseConnection,
    actor: &Actor,
    req: KnownHostsImportRequest,
) -> Result<KnownHostsImportReport, ApiError> {
    let servers = server::Entity::find()
        .order_by_asc(server::Column::Name)
        .all(db)
        .await?;
    let (keys, warnings) = keys_per_server(req.known_hosts, &servers).await?;
    let mut report = KnownHostsImportReport {
        pinned: Vec::new(),
        unchanged: Vec::new(),
        conflicts: Vec::new(),
        unmatched_servers: 0,
        warnings,
    };
    for (server, keys) in servers.iter().zip(&keys) {
        let outcome = settle(db, server, keys, req.replace, req.dry_run).await?;
        let (server_id, name) = (server.id, server.name.clone());
        match outcome {
            Outcome::Pin { key, replaced } => {
                if !req.dry_run {
                    let mut details = json!({
                        "fingerprint": key.fingerprint,
                        "source": "known_hosts",
                    });
                    if let Some(old) = &replaced {
                        details["replaced_fingerprint"] = json!(old);
                    }
                    audit::record(
                        db,
                        actor,
                        Event::new("server.host_key_pinned")
                            .server(Some(server_id))
                            .details(details),
                    )
                    .await;
                }
                report.pinned.push(KnownHostsPinned {
                    server_id,
                    name,
                    fingerprint: key.fingerprint,
                    key_type: key.key_type,
                    replaced_fingerprint: replaced,
                });
            }
            Outcome::Unchanged => report
                .unchanged
                .push(KnownHostsUnchanged { server_id, name }),
            Outcome::Conflict {
                pinned,
                file,
                reason,
            } => report.conflicts.push(KnownHostsConflict {
                server_id,
                name,
                pinned,
                file,
                reason: reason.to_string(),
            }),
            Outcome::Unmatched => report.unmatched_servers += 1,
        }
    }
    if !req.dry_run {
        let details = json!({
            "pinned": report.pinned.len(),
            "unchanged": report.unchanged.len(),
            "conflicts": report.conflicts.len(),
            "unmatched_servers": report.unmatched_servers,
            "warnings": report.warnings.len(),
            "replace": req.replace,
        });
        audit::record(
            db,
            actor,
            Event::new("server.known_hosts_import").details(details),
        )
        .await;
    }
    Ok(report)
}

/// Decides for one server and, unless `dry_run`, writes the pin. The write only lands if the
/// pin is still what the decision saw; otherwise the fresh row is decided once more, and a
/// second race is reported rather than chased.
async fn settle(
    db: &DatabaseConnection,
    server: &server::Model,
    keys: &HostKeys,
    replace: bool,
    dry_run: bool,
) -> Result<Outcome, ApiError> {
    let mut pinned = server.host_key_fingerprint.clone();
    for _ in 0..2 {
        let outcome = keys.decide(pinned.as_deref(), replace);
        let Outcome::Pin { key, .. } = &outcome else {
            return Ok(outcome);
        };
        if dry_run || swap_pin(db, server.id, pinned.as_deref(), key).await? {
            return Ok(outcome);
        }
        pinned = service::get(db, server.id).await?.host_key_fingerprint;
    }
    Ok(Outcome::Conflict {
        pinned,
        file: keys
            .preferred()
            .map(|k| k.fingerprint.clone())
            .unwrap_or_default(),
        reason: KnownHostsConflict::CHANGED_DURING_IMPORT,
    })
}

/// Pins `key` if the server's pin is still `expected`. A pin supersedes a key awaiting approval.
async fn swap_pin(
    db: &DatabaseConnection,
    id: i32,
    expected: Option<&str>,
    key: &HostKey,
) -> Result<bool, ApiError> {
    let none = || Option::<String>::None;
    let query = server::Entity::update_many()
        .col_expr(
            server::Column::HostKeyFingerprint,
            key.fingerprint.clone().into(),
        )
        .col_expr(server::Column::HostKeyOpenssh, key.openssh.clone().into())
        .col_expr(server::Column::HostKeyPinnedAt, Utc::now().into())
        .col_expr(server::Column::PendingHostKeyFingerprint, none().into())
        .col_expr(server::Column::PendingHostKeyOpenssh, none().into())
        .col_expr(
            server::Column::PendingHostKeySeenAt,
            Option::<chrono::DateTime<Utc>>::None.into(),
        )
        .filter(server::Column::Id.eq(id));
    let query = match expected {
        Some(fingerprint) => query.filter(server::Column::HostKeyFingerprint.eq(fingerprint)),
        None => query.filter(server::Column::HostKeyFingerprint.is_null()),
    };
    Ok(query.exec(db).await?.rows_affected == 1)
}
