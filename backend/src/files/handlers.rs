//! The files routes, and the small operations: list, stat, mkdir, rename, delete, chmod.
//! Transfers live in their own modules (download, zip, upload, editor, copy).

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json as JsonResponse, Router};
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::json;
use wire::files::{
    codes, ChmodRequest, DeleteResponse, Entry, EntryKind, Listing, MkdirRequest, Mode,
    RenameRequest,
};

use super::context::{self, Access, Files};
use super::entry::{self, build};
use super::policy::{check_name, join};
use super::walk::Walker;
use super::{copy, download, editor, upload, zip};
use crate::auth::CurrentUser;
use crate::error::extract::{Json, Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Symlink targets resolved at once while listing a directory.
const LIST_CONCURRENCY: usize = 16;

/// The files routes; every one passes `context::guard` before its own extractors run.
pub fn routes(state: AppState) -> Router<AppState> {
    let base = "/api/files/{server_id}";
    Router::new()
        .route(&format!("{base}/ls"), get(ls))
        .route(&format!("{base}/stat"), get(stat))
        .route(&format!("{base}/read"), get(editor::read))
        .route(
            &format!("{base}/write"),
            put(editor::write).layer(DefaultBodyLimit::max(editor::MAX_WRITE_BODY)),
        )
        .route(&format!("{base}/download"), get(download::download))
        .route(
            &format!("{base}/download-zip"),
            get(zip::download_get).post(zip::download_post),
        )
        .route(
            &format!("{base}/upload"),
            post(upload::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(&format!("{base}/mkdir"), post(mkdir))
        .route(&format!("{base}/rename"), post(rename))
        .route(&format!("{base}/delete"), delete(remove))
        .route(&format!("{base}/chmod"), post(chmod))
        .route(&format!("{base}/copy-to"), post(copy::copy_to))
        .route_layer(axum::middleware::from_fn_with_state(state, context::guard))
}

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    #[serde(default)]
    pub path: String,
}

pub fn basename(path: &str) -> String {
    match path.trim_end_matches('/').rsplit('/').next() {
        Some("") | None => "/".to_owned(),
        Some(name) => name.to_owned(),
    }
}

/// The entry at a canonical path, as it is now.
pub async fn entry_at(files: &Files, path: &str) -> ApiResult<Entry> {
    let attrs = files.sftp().lstat(path).await?;
    Ok(build(
        files.sftp(),
        files.roots(),
        basename(path),
        path.to_owned(),
        &attrs,
        None,
    )
    .await)
}

pub fn not_a_directory(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::BAD_REQUEST,
        codes::NOT_A_DIRECTORY,
        format!("{path} is not a directory"),
    )
}

pub fn exists(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::CONFLICT,
        codes::EXISTS,
        format!("{path} already exists"),
    )
}

#[utoipa::path(
    get,
    path = "/api/files/{server_id}/ls",
    tag = "files",
    operation_id = "files_ls",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "Absolute, or relative to the login directory (default: the login directory)"),
    ),
    responses(
        (status = 200, description = "The directory's entries (symlinks as such)", body = wire::files::Listing),
    )
)]
async fn ls(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<PathQuery>,
) -> ApiResult<JsonResponse<Listing>> {
    let files = Files::open(&state, &user, server_id, Access::Read).await?;
    let dir = files.resolve(&q.path).await?;
    if entry::kind(&files.sftp().stat(&dir).await?) != EntryKind::Dir {
        return Err(not_a_directory(&dir));
    }
    let items = files.sftp().read_dir(&dir).await?;
    let (sftp, roots) = (files.sftp(), files.roots());
    let mut entries: Vec<Entry> = stream::iter(items)
        .map(|item| {
            let path = join(&dir, &item.name);
            async move {
                build(
                    sftp,
                    roots,
                    item.name,
                    path,
                    &item.attrs,
                    Some(&item.longname),
                )
                .await
            }
        })
        .buffered(LIST_CONCURRENCY)
        .collect()
        .await;
    entries.sort_by(|a, b| {
        (a.kind != EntryKind::Dir)
            .cmp(&(b.kind != EntryKind::Dir))
            .then_with(|| a.name.cmp(&b.name))
    });
    files
        .audit("list", json!({"path": dir, "entries": entries.len()}))
        .await;
    Ok(JsonResponse(Listing { path: dir, entries }))
}

/// `stat` reports the entry itself: a symlink as a symlink. `/`, `.` and the like (no final
/// name) are resolved as a whole.
#[utoipa::path(
    get,
    path = "/api/files/{server_id}/stat",
    tag = "files",
    operation_id = "files_stat",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "Absolute, or relative to the login directory (default: the login directory)"),
    ),
    responses(
        (status = 200, description = "The entry", body = wire::files::Entry),
    )
)]
async fn stat(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<PathQuery>,
) -> ApiResult<JsonResponse<Entry>> {
    let files = Files::open(&state, &user, server_id, Access::Read).await?;
    let last = q
        .path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    let path = if check_name(last).is_ok() {
        files.locate(&q.path).await?.path
    } else {
        files.resolve(&q.path).await?
    };
    let entry = entry_at(&files, &path).await?;
    files.audit("stat", json!({"path": path})).await;
    Ok(JsonResponse(entry))
}

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/mkdir",
    tag = "files",
    operation_id = "files_mkdir",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::MkdirRequest,
    responses(
        (status = 201, description = "Created", body = wire::files::Entry),
        (status = 409, description = "It exists (`exists`)", body = wire::ErrorBody),
    )
)]
async fn mkdir(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<MkdirRequest>,
) -> ApiResult<(StatusCode, JsonResponse<Entry>)> {
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    let target = files.locate(&req.path).await?;
    if files.sftp().try_lstat(&target.path).await?.is_some() {
        return Err(exists(&target.path));
    }
    files.sftp().mkdir(&target.path).await?;
    files.audit("mkdir", json!({"path": target.path})).await;
    Ok((
        StatusCode::CREATED,
        JsonResponse(entry_at(&files, &target.path).await?),
    ))
}

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/rename",
    tag = "files",
    operation_id = "files_rename",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::RenameRequest,
    responses(
        (status = 200, description = "The entry under its new name", body = wire::files::Entry),
        (status = 409, description = "The new name exists (`exists`)", body = wire::ErrorBody),
    )
)]
async fn rename(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<RenameRequest>,
) -> ApiResult<JsonResponse<Entry>> {
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    let from = files.locate_removable(&req.old_path).await?;
    files.sftp().lstat(&from.path).await?;
    let to = files.locate(&req.new_path).await?;
    if files.roots().is_protected(&to.path) {
        return Err(super::context::protected(&to.path));
    }
    if to.path != from.path {
        if files.sftp().try_lstat(&to.path).await?.is_some() {
            if !req.overwrite {
                return Err(exists(&to.path));
            }
            files.sftp().replace(&from.path, &to.path).await?;
        } else {
            files.sftp().rename(&from.path, &to.path).await?;
        }
    }
    files
        .audit("rename", json!({"from": from.path, "to": to.path}))
        .await;
    Ok(JsonResponse(entry_at(&files, &to.path).await?))
}

#[utoipa::path(
    delete,
    path = "/api/files/{server_id}/delete",
    tag = "files",
    operation_id = "files_delete",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "Absolute, or relative to the login directory (default: the login directory)"),
    ),
    responses(
        (status = 200, description = "Removed (recursively)", body = wire::files::DeleteResponse),
    )
)]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<PathQuery>,
) -> ApiResult<JsonResponse<DeleteResponse>> {
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    let target = files.locate_removable(&q.path).await?;
    let attrs = files.sftp().lstat(&target.path).await?;
    let (mut removed_files, mut dirs) = (0u64, Vec::new());
    let mut walk = Walker::new(files.sftp());
    walk.push_root(target.path.clone(), target.name.clone(), attrs);
    let result = async {
        while let Some(item) = walk.next().await? {
            if item.kind == EntryKind::Dir {
                dirs.push(item.path);
            } else {
                files.sftp().remove(&item.path).await?;
                removed_files += 1;
            }
        }
        for dir in dirs.iter().rev() {
            files.sftp().rmdir(dir).await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    let details = json!({"path": target.path, "files": removed_files, "dirs": dirs.len(),
        "ok": result.is_ok()});
    files.audit("delete", details).await;
    result?;
    Ok(JsonResponse(DeleteResponse {
        path: target.path,
        files: removed_files,
        dirs: dirs.len() as u64,
    }))
}

pub fn parse_mode(mode: &Mode) -> ApiResult<u32> {
    let bits = match mode {
        Mode::Bits(bits) => Some(*bits),
        Mode::Octal(text) => {
            let digits = text.trim().trim_start_matches("0o");
            u32::from_str_radix(digits, 8).ok()
        }
    };
    bits.filter(|b| *b <= 0o7777).ok_or_else(|| {
        ApiError::Validation("mode must be permission bits, e.g. 420 or \"0644\"".into())
    })
}

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/chmod",
    tag = "files",
    operation_id = "files_chmod",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::ChmodRequest,
    responses(
        (status = 200, description = "The entry with its new mode", body = wire::files::Entry),
    )
)]
async fn chmod(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<ChmodRequest>,
) -> ApiResult<JsonResponse<Entry>> {
    let mode = parse_mode(&req.mode)?;
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    // chmod follows symlinks on the server, so policy applies to the target.
    let path = files.resolve(&req.path).await?;
    files.sftp().set_mode(&path, mode).await?;
    files
        .audit(
            "chmod",
            json!({"path": path, "mode": format!("{mode:04o}")}),
        )
        .await;
    let attrs = files.sftp().lstat(&path).await?;
    Ok(JsonResponse(
        entry::build(
            files.sftp(),
            files.roots(),
            basename(&path),
            path.clone(),
            &attrs,
            None,
        )
        .await,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode(&Mode::Bits(420)).ok(), Some(0o644));
        assert_eq!(parse_mode(&Mode::Octal("0755".into())).ok(), Some(0o755));
        assert_eq!(parse_mode(&Mode::Octal("0o600".into())).ok(), Some(0o600));
        assert!(parse_mode(&Mode::Octal("999".into())).is_err());
        assert!(parse_mode(&Mode::Bits(0o10000)).is_err());
    }

    #[test]
    fn basenames() {
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(basename("/a/b/"), "b");
        assert_eq!(basename("/"), "/");
    }
}
