//! `/api/users`: admin-only account management.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::json;
use wire::users::{CreateUserRequest, UpdateUserRequest, UserView};

use super::service;
use crate::audit::{self, Actor, Event};
use crate::auth::AdminUser;
use crate::error::extract::{Json, Path};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::terminal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(create))
        .route("/api/users/{id}", get(show).put(update).delete(remove))
}

#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    operation_id = "users_list",
    responses(
        (status = 200, description = "Every account", body = Vec<wire::users::UserView>),
    )
)]
async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<axum::Json<Vec<UserView>>> {
    let users = service::list(&state.db).await?;
    Ok(axum::Json(users.iter().map(service::user_view).collect()))
}

#[utoipa::path(
    post,
    path = "/api/users",
    tag = "users",
    operation_id = "users_create",
    request_body = wire::users::CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = wire::users::UserView),
        (status = 409, description = "The username is taken", body = wire::ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<CreateUserRequest>,
) -> ApiResult<(StatusCode, axum::Json<UserView>)> {
    let user = service::create(&state.db, req).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("user.create")
            .target(&user.username)
            .details(json!({"user_id": user.id, "username": user.username, "role": user.role})),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(service::user_view(&user))))
}

#[utoipa::path(
    get,
    path = "/api/users/{id}",
    tag = "users",
    operation_id = "users_show",
    params(("id" = i32, Path, description = "The user")),
    responses(
        (status = 200, description = "The account", body = wire::users::UserView),
    )
)]
async fn show(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<axum::Json<UserView>> {
    Ok(axum::Json(service::user_view(
        &service::get(&state.db, id).await?,
    )))
}

#[utoipa::path(
    put,
    path = "/api/users/{id}",
    tag = "users",
    operation_id = "users_update",
    params(("id" = i32, Path, description = "The user")),
    request_body = wire::users::UpdateUserRequest,
    responses(
        (status = 200, description = "Updated; live terminals the account may no longer use are closed", body = wire::users::UserView),
    )
)]
async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
    Json(req): Json<UpdateUserRequest>,
) -> ApiResult<axum::Json<UserView>> {
    let changed = json!({
        "user_id": id,
        "password_set": req.password.is_some(),
        "role": req.role.map(|r| r.as_str()),
        "allowed_groups": req.allowed_groups,
        "disabled": req.disabled,
    });
    let password_reset = req.password.is_some();
    let user = service::update(&state.db, admin.user.id, id, req).await?;
    if password_reset {
        // A new password from an admin also lifts a sign-in lock on the account.
        state.throttle.clear_account(&user.username).await;
    }
    let actor = Actor::from(&*admin);
    audit::record(
        &state.db,
        &actor,
        Event::new("user.update")
            .target(&user.username)
            .details(changed),
    )
    .await;
    terminal::access::sweep(&state, &actor).await;
    Ok(axum::Json(service::user_view(&user)))
}

#[utoipa::path(
    delete,
    path = "/api/users/{id}",
    tag = "users",
    operation_id = "users_delete",
    params(("id" = i32, Path, description = "The user")),
    responses(
        (status = 204, description = "Deleted; the account's sessions end"),
    )
)]
async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let user = service::delete(&state.db, admin.user.id, id).await?;
    let actor = Actor::from(&*admin);
    let details = json!({"user_id": id, "username": user.username});
    audit::record(
        &state.db,
        &actor,
        Event::new("user.delete")
            .target(&user.username)
            .details(details),
    )
    .await;
    terminal::access::sweep(&state, &actor).await;
    Ok(StatusCode::NO_CONTENT)
}
