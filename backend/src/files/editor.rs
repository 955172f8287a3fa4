//! `GET read?path=` and `PUT write`: text files for the editor. Reads refuse binary and oversized
//! files with a clear code; writes go to a temporary file that replaces the original atomically,
//! and with `expected_mtime` refuse to overwrite a change someone else made since it was opened.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json as JsonResponse;
use russh_sftp::protocol::OpenFlags;
use serde::Deserialize;
use serde_json::json;
use wire::files::{codes, Entry, EntryKind, TextFile, WriteRequest};

use super::context::{Access, Files};
use super::download::not_a_file;
use super::entry::kind;
use super::handlers::entry_at;
use super::pipe::{Reader, Writer};
use super::policy::split_parent;
use super::upload::TempFile;
use crate::auth::CurrentUser;
use crate::error::extract::{Json, Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The request body cap of `PUT write` (JSON escaping can grow text several times); the content
/// itself is held to `files_edit_max_bytes`.
pub const MAX_WRITE_BODY: usize = 64 << 20;

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    #[serde(default)]
    path: String,
}

fn too_large(path: &str, limit: u64) -> ApiError {
    ApiError::coded(
        StatusCode::PAYLOAD_TOO_LARGE,
        codes::TOO_LARGE,
        format!("{path} is larger than the editor's limit of {limit} bytes; download it instead"),
    )
}

#[utoipa::path(
    get,
    path = "/api/files/{server_id}/read",
    tag = "files",
    operation_id = "files_read",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "Absolute, or relative to the login directory (default: the login directory)"),
    ),
    responses(
        (status = 200, description = "A text file for the editor", body = wire::files::TextFile),
        (status = 413, description = "Larger than the editor's limit (`too_large`)", body = wire::ErrorBody),
        (status = 415, description = "Not text (`binary`)", body = wire::ErrorBody),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<ReadQuery>,
) -> ApiResult<JsonResponse<TextFile>> {
    let files = Files::open(&state, &user, server_id, Access::Read).await?;
    let path = files.resolve(&q.path).await?;
    let attrs = files.sftp().stat(&path).await?;
    if kind(&attrs) != EntryKind::File {
        return Err(not_a_file(&path));
    }
    let size = attrs.size.unwrap_or(0);
    let limit = state.config.files_edit_max_bytes;
    if size > limit {
        return Err(too_large(&path, limit));
    }
    let handle = files.sftp().open(&path, OpenFlags::READ, None).await?;
    let sftp = files.sftp();
    let mut reader = Reader::new(sftp.raw(), handle, 0, size, sftp.read_len, 4);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    loop {
        match reader.next_chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(super::pipe::PipeError::Sftp(e)) => return Err(sftp.fail(e, &path)),
            // The file shrank while being read: what was read is what is there now.
            Err(super::pipe::PipeError::Truncated(_)) => break,
        }
    }
    let content = match String::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text,
        _ => {
            return Err(ApiError::coded(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                codes::BINARY,
                format!("{path} is not a text file; download it instead"),
            ))
        }
    };
    files
        .audit("read", json!({"path": path, "size": size}))
        .await;
    Ok(JsonResponse(TextFile {
        path,
        size: content.len() as u64,
        content,
        mtime: i64::from(attrs.mtime.unwrap_or(0)),
    }))
}

#[utoipa::path(
    put,
    path = "/api/files/{server_id}/write",
    tag = "files",
    operation_id = "files_write",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::WriteRequest,
    responses(
        (status = 200, description = "Written (through a temporary file and a rename)", body = wire::files::Entry),
        (status = 409, description = "Changed since `expected_mtime` (`conflict`)", body = wire::ErrorBody),
        (status = 413, description = "Larger than the editor's limit (`too_large`)", body = wire::ErrorBody),
    )
)]
pub async fn write(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<WriteRequest>,
) -> ApiResult<JsonResponse<Entry>> {
    let limit = state.config.files_edit_max_bytes;
    if req.content.len() as u64 > limit {
        return Err(too_large(&req.path, limit));
    }
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    // An existing file is written where it really is (through a symlink); a new one beside its
    // resolved parent.
    let existing = files.resolve_existing(&req.path).await?;
    let (target, parent, name, mode) = match &existing {
        Some(path) => {
            let attrs = files.sftp().stat(path).await?;
            if kind(&attrs) != EntryKind::File {
                return Err(not_a_file(path));
            }
            let mtime = i64::from(attrs.mtime.unwrap_or(0));
            if req.expected_mtime.is_some_and(|expected| expected != mtime) {
                return Err(conflict(path));
            }
            let (parent, name) = split_parent(path)?;
            (
                path.clone(),
                parent.to_owned(),
                name.to_owned(),
                attrs.permissions.unwrap_or(0o644),
            )
        }
        None => {
            if req.expected_mtime.is_some() {
                return Err(conflict(&req.path));
            }
            let located = files.locate(&req.path).await?;
            (located.path, located.parent, located.name, 0o644)
        }
    };

    let temp = TempFile::new(&files, &parent, &name);
    let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
    let handle = files.sftp().open(&temp.path, flags, Some(mode)).await?;
    let sftp = files.sftp();
    let mut writer = Writer::new(sftp.raw(), handle, sftp.write_len, 8);
    if let Err(e) = writer.write(req.content.as_bytes()).await {
        return Err(files.write_failure(e, &target).await);
    }
    if let Err(e) = writer.finish().await {
        return Err(files.write_failure(e, &target).await);
    }
    temp.commit(sftp, &target, existing.is_some()).await?;
    files
        .audit(
            "write",
            json!({"path": target, "bytes": req.content.len(), "created": existing.is_none()}),
        )
        .await;
    Ok(JsonResponse(entry_at(&files, &target).await?))
}

fn conflict(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::CONFLICT,
        codes::CONFLICT,
        format!("{path} changed on the server since it was opened; reload it or save anyway"),
    )
}
