//! The recordings API. Admins and auditors see every recording; a user sees the recordings of
//! their own sessions (unless `recordings_visible_to_owner` is off) and learns nothing about
//! anyone else's: another user's recording answers 404, as a missing one does. Only admins
//! delete. Every playback or download of a cast is audited.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::ReaderStream;
use wire::recordings::{RecordingList, RecordingState, RecordingView};
use wire::users::Role;

use super::{cast_path, dir, store};
use crate::audit::{self, Actor, Event};
use crate::auth::{AdminUser, CurrentUser};
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::files::download::disposition;
use crate::state::AppState;
use crate::web::dates;

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/recordings", get(list))
        .route("/api/recordings/{id}", get(one).delete(remove))
        .route("/api/recordings/{id}/cast", get(cast))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    server_id: Option<i32>,
    /// A username.
    user: Option<String>,
    /// RFC 3339, or a date (`YYYY-MM-DD`, from its start).
    since: Option<String>,
    /// RFC 3339, or a date (`YYYY-MM-DD`, that whole day included).
    until: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// Whose recordings the caller may see: `None` for all, `Some(id)` for their own.
fn scope(state: &AppState, user: &CurrentUser) -> ApiResult<Option<i32>> {
    match user.role() {
        Role::Admin | Role::Auditor => Ok(None),
        Role::User if state.config.recordings_visible_to_owner => Ok(Some(user.user.id)),
        Role::User => Err(ApiError::Forbidden),
    }
}

#[utoipa::path(
    get,
    path = "/api/recordings",
    tag = "recordings",
    operation_id = "recordings_list",
    params(
        ("server_id" = Option<i32>, Query, description = "Only this server's"),
        ("user" = Option<String>, Query, description = "Only this username's"),
        ("since" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`)"),
        ("until" = Option<String>, Query, description = "RFC 3339, or a date (`YYYY-MM-DD`, that whole day)"),
        ("limit" = Option<u64>, Query, description = "Page size"),
        ("offset" = Option<u64>, Query, description = "Rows to skip"),
    ),
    responses(
        (status = 200, description = "Recordings the caller may see, newest first", body = wire::recordings::RecordingList),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<RecordingList>> {
    let filter = store::Filter {
        server_id: q.server_id,
        username: q.user.filter(|u| !u.trim().is_empty()),
        owner_id: scope(&state, &user)?,
        since: q
            .since
            .as_deref()
            .map(|v| dates::parse_bound("since", v, false))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|v| dates::parse_bound("until", v, true))
            .transpose()?,
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    // SQL binds offsets as i64: a larger one would abort the request (found by schemathesis).
    let offset = q.offset.unwrap_or(0).min(i64::MAX as u64);
    let (rows, total) = store::list(&state.db, &filter, limit, offset).await?;
    Ok(Json(RecordingList {
        recordings: rows.iter().map(store::view).collect(),
        total,
    }))
}

/// The recording, if the caller may see it.
async fn visible(state: &AppState, user: &CurrentUser, id: &str) -> ApiResult<store::Model> {
    let owner = scope(state, user)?;
    match store::get(&state.db, id).await? {
        Some(row) if owner.is_none_or(|me| me == row.user_id) => Ok(row),
        _ => Err(ApiError::NotFound("recording")),
    }
}

#[utoipa::path(
    get,
    path = "/api/recordings/{id}",
    tag = "recordings",
    operation_id = "recordings_show",
    params(("id" = String, Path, description = "The recording")),
    responses(
        (status = 200, description = "The recording", body = wire::recordings::RecordingView),
    )
)]
async fn one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordingView>> {
    Ok(Json(store::view(&visible(&state, &user, &id).await?)))
}

fn in_progress() -> ApiError {
    ApiError::coded(
        StatusCode::CONFLICT,
        "recording_in_progress",
        "the session is still being recorded; watch it live or wait until it ends",
    )
}

#[utoipa::path(
    get,
    path = "/api/recordings/{id}/cast",
    tag = "recordings",
    operation_id = "recordings_cast",
    params(("id" = String, Path, description = "The recording")),
    responses(
        (status = 200, description = "The asciicast v2 file", body = String, content_type = "application/x-asciicast"),
        (status = 409, description = "Still recording", body = wire::ErrorBody),
        (status = 410, description = "The file is gone (`recording_missing`)", body = wire::ErrorBody),
    )
)]
async fn cast(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let row = visible(&state, &user, &id).await?;
    if RecordingState::parse(&row.state) == RecordingState::Recording {
        return Err(in_progress());
    }
    let file = tokio::fs::File::open(cast_path(&dir(&state.config), &row.id))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ApiError::coded(
                StatusCode::GONE,
                "recording_missing",
                "the recording's file is no longer on this gateway",
            ),
            _ => ApiError::internal("open recording", e),
        })?;
    let size = file
        .metadata()
        .await
        .map_err(|e| ApiError::internal("stat recording", e))?
        .len();
    audit::record(&state.db, &Actor::from(&*user), Event::new("recording.view").target(&row.id).server(row.server_id).details(json!({"recording_id": row.id, "session_id": row.session_id, "owner": row.username})))
    .await;
    let name = format!(
        "{}-{}.cast",
        row.server_name,
        row.started_at.format("%Y%m%d-%H%M%S")
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-asciicast")
        .header(header::CONTENT_LENGTH, size)
        .header(
            header::CONTENT_DISPOSITION,
            disposition("attachment", &name),
        )
        .body(Body::from_stream(ReaderStream::new(file)))
        .map_err(|e| ApiError::internal("cast response", e))
}

#[utoipa::path(
    delete,
    path = "/api/recordings/{id}",
    tag = "recordings",
    operation_id = "recordings_delete",
    params(("id" = String, Path, description = "The recording")),
    responses(
        (status = 204, description = "Deleted, with its file"),
        (status = 409, description = "Still recording", body = wire::ErrorBody),
    )
)]
async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let row = store::get(&state.db, &id)
        .await?
        .ok_or(ApiError::NotFound("recording"))?;
    if RecordingState::parse(&row.state) == RecordingState::Recording {
        return Err(in_progress());
    }
    match tokio::fs::remove_file(cast_path(&dir(&state.config), &row.id)).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ApiError::internal("remove recording", e)),
    }
    store::delete(&state.db, &row.id).await?;
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("recording.delete")
            .target(&row.id)
            .server(row.server_id)
            .details(json!({
                "recording_id": row.id,
                "session_id": row.session_id,
                "owner": row.username,
                "size_bytes": row.size_bytes,
            })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
