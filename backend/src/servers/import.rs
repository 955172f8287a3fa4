//! `POST /api/servers/import` (admins): servers read from another tool's configuration. Each
//! format turns its text into a [`plan::Plan`]; storing it is shared: every server checked like a
//! normal create (except that it has no credential yet), jump hosts first, all in one transaction
//! or none. A dry run stores the same way and rolls back.

mod plan;

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use sea_orm::TransactionTrait;
use serde_json::json;
use wire::servers::{AuthMethod, ImportRequest, ImportResponse, ImportedServer, ServerRequest};

use self::plan::{Existing, Link, Plan, PlanError, Planned};
use super::ssh_config::{Config, ConfigError};
use super::{handlers, service, validate};
use crate::audit::{self, Actor, Event};
use crate::auth::AdminUser;
use crate::db::server;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest configuration text accepted.
const MAX_CONFIG: usize = 1 << 20;
/// The JSON body around it: escaping can make the text grow (`\n`, `\"`, `\t`).
const MAX_BODY: usize = 4 * MAX_CONFIG;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/servers/import",
        post(import).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

fn too_large(message: impl Into<String>) -> ApiError {
    ApiError::coded(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
}

/// The body is read here rather than through `error::extract::Json` so an oversized one is
/// answered `too_large` like an oversized configuration.
fn body_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large("the request body is too large")
    } else {
        ApiError::from(rejection)
    }
}

#[utoipa::path(
    post,
    path = "/api/servers/import",
    tag = "servers",
    operation_id = "servers_import",
    request_body = wire::servers::ImportRequest,
    responses(
        (status = 200, description = "What was (or, on a dry run, would be) created", body = wire::servers::ImportResponse),
        (status = 413, description = "The configuration is too large", body = wire::ErrorBody),
    )
)]
async fn import(
    State(state): State<AppState>,
    admin: AdminUser,
    body: Result<axum::Json<ImportRequest>, JsonRejection>,
) -> ApiResult<axum::Json<ImportResponse>> {
    let axum::Json(req) = body.map_err(body_error)?;
    if req.config.len() > MAX_CONFIG {
        return Err(too_large("the configuration is limited to 1 MiB"));
    }
    let existing = existing_servers(&state, &admin).await?;
    let plan = match req.format.as_str() {
        ImportRequest::OPENSSH_CONFIG => openssh_plan(&req, &existing)?,
        other => {
            return Err(ApiError::coded(
                StatusCode::BAD_REQUEST,
                "unsupported_format",
                format!(
                    "unsupported import format '{other}' (supported: '{}')",
                    ImportRequest::OPENSSH_CONFIG
                ),
            ))
        }
    };
    let stored = store(&state, &req, &plan).await?;
    if !req.dry_run {
        let actor = Actor::from(&*admin);
        for (server, body) in &stored {
            let details = handlers::audit_details(server.id, body);
            audit::record(
                &state.db,
                &actor,
                Event::new("server.create")
                    .target(&server.name)
                    .server(Some(server.id))
                    .details(details),
            )
            .await;
        }
        let details = json!({
            "format": req.format,
            "group": req.group,
            "created": stored.len(),
            "skipped": plan.skipped.len(),
            "warnings": plan.warnings.len(),
        });
        audit::record(
            &state.db,
            &actor,
            Event::new("server.import").details(details),
        )
        .await;
    }
    Ok(axum::Json(ImportResponse {
        created: stored
            .iter()
            .map(|(s, body)| ImportedServer {
                id: s.id,
                name: s.name.clone(),
                hostname: s.hostname.clone(),
                port: body.port,
                username: s.username.clone(),
                jump_via_id: s.jump_via_id,
            })
            .collect(),
        skipped: plan.skipped,
        warnings: plan.warnings,
    }))
}

/// Every stored server by name (an admin sees them all), for name clashes and jump links.
async fn existing_servers(
    state: &AppState,
    admin: &AdminUser,
) -> ApiResult<HashMap<String, Existing>> {
    let all = service::list_visible(&state.db, admin).await?;
    Ok(all
        .into_iter()
        .map(|s| {
            let existing = Existing {
                id: s.id,
                jump_via_id: s.jump_via_id,
            };
            (s.name, existing)
        })
        .collect())
}

fn openssh_plan(req: &ImportRequest, existing: &HashMap<String, Existing>) -> ApiResult<Plan> {
    let config = Config::parse(&req.config).map_err(|e| match e {
        ConfigError::TooManyHosts | ConfigError::TooManyBlocks => too_large(e.to_string()),
        ConfigError::UnterminatedQuote(_) => ApiError::Validation(e.to_string()),
    })?;
    plan::plan(&config, existing, req.default_username.as_deref()).map_err(|e| match e {
        PlanError::Cycle(_) => {
            ApiError::coded(StatusCode::BAD_REQUEST, "jump_cycle", e.to_string())
        }
        PlanError::TooManyServers => too_large(e.to_string()),
        PlanError::Invalid { .. } => ApiError::Validation(e.to_string()),
    })
}

/// The body a planned server is created with: no credential, the import's group.
fn server_request(
    planned: &Planned,
    group: Option<String>,
    jump_via_id: Option<i32>,
) -> ServerRequest {
    ServerRequest {
        name: planned.name.clone(),
        hostname: planned.hostname.clone(),
        port: planned.port,
        username: planned.username.clone(),
        auth_method: AuthMethod::Password,
        password: None,
        private_key: None,
        passphrase: None,
        group,
        tags: Vec::new(),
        description: String::new(),
        jump_via_id,
        ssh_enabled: None,
        sftp_enabled: None,
        sftp_read_only: None,
        sftp_allowed_paths: None,
        record_sessions: None,
    }
}

/// The same refusal, with the host it is about in front.
fn about(planned: &Planned, e: ApiError) -> ApiError {
    match e {
        ApiError::Internal(_) => e,
        other => ApiError::coded(
            other.status(),
            other.code(),
            format!("{}: {other}", planned.label()),
        ),
    }
}

/// Creates the plan's servers in one transaction, committed unless this is a dry run.
async fn store(
    state: &AppState,
    req: &ImportRequest,
    plan: &Plan,
) -> ApiResult<Vec<(server::Model, ServerRequest)>> {
    let txn = state.db.begin().await?;
    let mut stored: Vec<(server::Model, ServerRequest)> = Vec::with_capacity(plan.servers.len());
    for planned in &plan.servers {
        let jump_via_id = match planned.jump {
            None => None,
            Some(Link::Existing(id)) => Some(id),
            Some(Link::Planned(i)) => Some(
                stored
                    .get(i)
                    .map(|(s, _)| s.id)
                    .ok_or_else(|| ApiError::internal("import plan", "jump host out of order"))?,
            ),
        };
        let group = req.group.clone().filter(|g| !g.trim().is_empty());
        let body = server_request(planned, group, jump_via_id);
        validate::check(&body, false).map_err(|e| about(planned, e))?;
        let server = service::insert(&txn, &state.vault, &body)
            .await
            .map_err(|e| about(planned, e))?;
        stored.push((server, body));
    }
    if req.dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(stored)
}
