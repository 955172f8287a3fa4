//! `/api/auth/api-keys`: a signed-in user lists, creates and revokes their own keys (a key never
//! manages keys). An admin may revoke anyone's key by id. Creating and revoking are audited.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::Router;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use wire::auth::{ApiKeyCreated, ApiKeyView, CreateApiKey};
use wire::users::Role;

use super::api_keys::{self, Scope};
use super::CurrentUser;
use crate::audit::{self, Actor, Event};
use crate::db::api_key;
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Keys one user may hold.
const MAX_KEYS_PER_USER: u64 = 50;
/// Longest expiry one may ask for (10 years); no expiry is allowed too.
const MAX_DAYS: u32 = 3650;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/api-keys", get(list).post(create))
        .route("/api/auth/api-keys/{id}", delete(revoke))
}

fn view(m: &api_key::Model) -> ApiKeyView {
    ApiKeyView {
        id: m.id,
        name: m.name.clone(),
        prefix: format!("{}{}", api_keys::KEY_PREFIX, m.prefix),
        scopes: api_keys::parse_scopes(&m.scopes)
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        created_at: m.created_at.to_rfc3339(),
        expires_at: m.expires_at.map(|t| t.to_rfc3339()),
        last_used_at: m.last_used_at.map(|t| t.to_rfc3339()),
    }
}

#[utoipa::path(
    get,
    path = "/api/auth/api-keys",
    tag = "api-keys",
    operation_id = "api_keys_list",
    responses(
        (status = 200, description = "The caller's API keys (never the keys themselves)", body = Vec<wire::auth::ApiKeyView>),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<axum::Json<Vec<ApiKeyView>>> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user.user.id))
        .order_by_desc(api_key::Column::CreatedAt)
        .all(&state.db)
        .await?;
    Ok(axum::Json(keys.iter().map(view).collect()))
}

#[utoipa::path(
    post,
    path = "/api/auth/api-keys",
    tag = "api-keys",
    operation_id = "api_keys_create",
    request_body = wire::auth::CreateApiKey,
    responses(
        (status = 201, description = "The key, shown this once", body = wire::auth::ApiKeyCreated),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<CreateApiKey>,
) -> ApiResult<(StatusCode, axum::Json<ApiKeyCreated>)> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "a key needs a name of 1-100 characters".into(),
        ));
    }
    let mut scopes = Vec::new();
    for s in &req.scopes {
        let scope = Scope::parse(s).ok_or_else(|| {
            ApiError::Validation(format!(
                "unknown scope {s:?}: use read, terminal, files or admin"
            ))
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::Validation(
            "a key needs at least one scope".into(),
        ));
    }
    if scopes.contains(&Scope::Admin) && user.role() != Role::Admin {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins may create keys with the admin scope",
        ));
    }
    if req.expires_in_days.is_some_and(|d| d == 0 || d > MAX_DAYS) {
        return Err(ApiError::Validation(format!(
            "expires_in_days must be 1-{MAX_DAYS}"
        )));
    }
    let held = api_key::Entity::find()
        .filter(api_key::Column::UserId.eq(user.user.id))
        .count(&state.db)
        .await?;
    if held >= MAX_KEYS_PER_USER {
        return Err(ApiError::Conflict(format!(
            "you already have {held} API keys; revoke one first"
        )));
    }
    let new = api_keys::generate();
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let row = api_key::ActiveModel {
        user_id: Set(user.user.id),
        name: Set(name.to_owned()),
        prefix: Set(new.prefix),
        key_hash: Set(new.digest),
        scopes: Set(serde_json::to_string(&names).map_err(|e| ApiError::internal("scopes", e))?),
        expires_at: Set(api_keys::expiry(req.expires_in_days)),
        last_used_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let details = json!({"api_key_id": row.id, "name": row.name, "scopes": names,
        "expires_at": row.expires_at.map(|t| t.to_rfc3339())});
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("auth.api_key_create").details(details),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(ApiKeyCreated {
            key: new.key,
            api_key: view(&row),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/auth/api-keys/{id}",
    tag = "api-keys",
    operation_id = "api_keys_revoke",
    params(("id" = i32, Path, description = "The key")),
    responses(
        (status = 204, description = "Revoked"),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let key = api_key::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|k| k.user_id == user.user.id || user.role() == Role::Admin)
        .ok_or(ApiError::NotFound("API key"))?;
    api_key::Entity::delete_by_id(key.id)
        .exec(&state.db)
        .await?;
    let details = json!({"api_key_id": key.id, "name": key.name, "owner_id": key.user_id});
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("auth.api_key_revoke").details(details),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
