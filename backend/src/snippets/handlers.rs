//! `/api/snippets`: list, create, read, replace and delete command snippets. The rules of who
//! may do what are `super`'s; every change is audited (`snippet.create`, `snippet.update`,
//! `snippet.delete`) with the snippet's name and flags but not its command, which may carry
//! something its author would rather not see copied into a log.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use wire::snippets::{SnippetRequest, SnippetView};
use wire::users::Role;

use super::{may_share, store, validate, visible, Writer};
use crate::audit::{self, Actor, Event};
use crate::auth::{Authenticated, CurrentUser};
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/snippets", get(list).post(create))
        .route("/api/snippets/{id}", get(show).put(update).delete(remove))
}

#[utoipa::path(get, path = "/api/snippets", tag = "snippets", operation_id = "snippets_list",
    responses((status = 200, description = "The caller's own snippets and the shared ones", body = Vec<wire::snippets::SnippetView>)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<axum::Json<Vec<SnippetView>>> {
    let rows = store::visible_to(&state.db, user.user.id).await?;
    let owners = store::owner_names(&state.db, &rows).await?;
    Ok(axum::Json(
        rows.iter()
            .map(|r| store::view(&user, r, &owners))
            .collect(),
    ))
}

/// The snippet, if the caller may see it; someone else's personal one is as missing as a
/// deleted one.
async fn find(state: &AppState, user: &Authenticated, id: i32) -> ApiResult<store::Model> {
    match store::get(&state.db, id).await? {
        Some(row) if visible(user, &row) => Ok(row),
        _ => Err(ApiError::NotFound("snippet")),
    }
}

async fn one_view(
    state: &AppState,
    user: &Authenticated,
    row: &store::Model,
) -> ApiResult<SnippetView> {
    let owners = store::owner_names(&state.db, std::slice::from_ref(row)).await?;
    Ok(store::view(user, row, &owners))
}

#[utoipa::path(get, path = "/api/snippets/{id}", tag = "snippets", operation_id = "snippets_show",
    params(("id" = i32, Path, description = "The snippet")),
    responses((status = 200, description = "The snippet", body = wire::snippets::SnippetView)))]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<SnippetView>> {
    let row = find(&state, &user, id).await?;
    Ok(axum::Json(one_view(&state, &user, &row).await?))
}

fn details(row: &store::Model, owner: &str) -> serde_json::Value {
    json!({
        "snippet_id": row.id,
        "name": row.name,
        "shared": row.shared,
        "confirm": row.confirm,
        "owner": owner,
    })
}

#[utoipa::path(post, path = "/api/snippets", tag = "snippets", operation_id = "snippets_create",
    request_body = wire::snippets::SnippetRequest,
    responses((status = 201, description = "Created (shared: admins only)", body = wire::snippets::SnippetView)))]
async fn create(
    State(state): State<AppState>,
    user: Writer,
    Json(req): Json<SnippetRequest>,
) -> ApiResult<(StatusCode, axum::Json<SnippetView>)> {
    may_share(&user, &req)?;
    let row = store::insert(&state.db, user.user.id, validate(req)?).await?;
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("snippet.create")
            .target(&row.name)
            .details(details(&row, &user.user.username)),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(one_view(&state, &user, &row).await?),
    ))
}

#[utoipa::path(put, path = "/api/snippets/{id}", tag = "snippets", operation_id = "snippets_update",
    params(("id" = i32, Path, description = "The snippet")),
    request_body = wire::snippets::SnippetRequest,
    responses((status = 200, description = "The snippet as changed", body = wire::snippets::SnippetView)))]
async fn update(
    State(state): State<AppState>,
    user: Writer,
    Path(id): Path<i32>,
    Json(req): Json<SnippetRequest>,
) -> ApiResult<axum::Json<SnippetView>> {
    let before = find(&state, &user, id).await?;
    if !super::editable(&user, &before) {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins can change shared snippets",
        ));
    }
    may_share(&user, &req)?;
    let valid = validate(req)?;
    // An admin who unshares a snippet someone else wrote takes it as their own: otherwise it
    // would vanish into a private list that no one but its author (perhaps gone) can see.
    let owner_id = if before.shared && !valid.shared && user.role() == Role::Admin {
        user.user.id
    } else {
        before.owner_id
    };
    let mut changed = Vec::new();
    for (field, differs) in [
        ("name", before.name != valid.name),
        ("command", before.command != valid.command),
        ("description", before.description != valid.description),
        ("shared", before.shared != valid.shared),
        ("confirm", before.confirm != valid.confirm),
        ("owner", before.owner_id != owner_id),
    ] {
        if differs {
            changed.push(field);
        }
    }
    let row = store::replace(&state.db, &before, owner_id, valid).await?;
    let view = one_view(&state, &user, &row).await?;
    let mut details = details(&row, &view.owner);
    details["changed"] = json!(changed);
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("snippet.update")
            .target(&row.name)
            .details(details),
    )
    .await;
    Ok(axum::Json(view))
}

#[utoipa::path(delete, path = "/api/snippets/{id}", tag = "snippets", operation_id = "snippets_delete",
    params(("id" = i32, Path, description = "The snippet")),
    responses((status = 204, description = "Deleted")))]
async fn remove(
    State(state): State<AppState>,
    user: Writer,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let row = find(&state, &user, id).await?;
    if !super::editable(&user, &row) {
        return Err(ApiError::coded(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins can delete shared snippets",
        ));
    }
    let owner = one_view(&state, &user, &row).await?.owner;
    store::delete(&state.db, row.id).await?;
    audit::record(
        &state.db,
        &Actor::from(&*user),
        Event::new("snippet.delete")
            .target(&row.name)
            .details(details(&row, &owner)),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
