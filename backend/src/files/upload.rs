//! `POST upload?path=<dir>[&overwrite=true]`, multipart field `files`: each part is streamed
//! into SFTP as it arrives (pipelined writes), under a temporary name beside its target, and
//! renamed onto the real name only once every byte is acknowledged. A part's file name may be a
//! relative path (`photos/2024/a.jpg`, from a folder upload); missing folders are created, and
//! every folder on the way is resolved and checked against the policy, so a symlink inside an
//! allowed folder cannot carry an upload out of it.
//!
//! Whatever ends an upload early (the client leaving, a full disk, a dropped connection), the
//! temporary file is removed by `TempFile`'s drop, through the pool (so on a fresh session if the
//! old one died with its connection).

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json as JsonResponse;
use russh_sftp::protocol::OpenFlags;
use serde::Deserialize;
use serde_json::json;
use wire::files::{codes, EntryKind, UploadResponse};

use super::context::{Access, Files};
use super::entry::kind;
use super::handlers::{entry_at, exists, not_a_directory};
use super::pipe::Writer;
use super::policy::{bad_path, check_name, check_shape, join, split_parent};
use super::sftp::{connection_lost, Sftp};
use crate::audit::Actor;
use crate::auth::CurrentUser;
use crate::db::server;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    path: String,
    #[serde(default)]
    overwrite: bool,
}

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/upload",
    tag = "files",
    operation_id = "files_upload",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Option<String>, Query, description = "The directory to upload into"),
        ("overwrite" = Option<bool>, Query, description = "Replace existing files"),
    ),
    request_body(content = crate::openapi::UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The files written", body = wire::files::UploadResponse),
        (status = 409, description = "A file exists and `overwrite` is not set (`exists`)", body = wire::ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Query(q): Query<UploadQuery>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<JsonResponse<UploadResponse>> {
    let mut multipart =
        multipart.map_err(|e| ApiError::BadRequest(format!("expected a multipart body: {e}")))?;
    let files = Files::open(&state, &user, server_id, Access::Write).await?;
    let dir = files.resolve(&q.path).await?;
    if kind(&files.sftp().stat(&dir).await?) != EntryKind::Dir {
        return Err(not_a_directory(&dir));
    }
    let mut written = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(body_error)? {
        if field.name() != Some("files") {
            continue;
        }
        let relative = field
            .file_name()
            .ok_or_else(|| bad_path("every part of `files` needs a file name"))?
            .to_owned();
        let target = store(&files, &dir, &relative, q.overwrite, field).await?;
        written.push(entry_at(&files, &target).await?);
    }
    if written.is_empty() {
        return Err(ApiError::BadRequest(
            "the body has no `files` part to upload".into(),
        ));
    }
    Ok(JsonResponse(UploadResponse { files: written }))
}

/// Streams one part to `dir/relative`; returns the final path.
async fn store(
    files: &Files,
    dir: &str,
    relative: &str,
    overwrite: bool,
    mut field: Field<'_>,
) -> ApiResult<String> {
    let (folders, name) = split_relative(relative)?;
    let mut parent = dir.to_owned();
    for folder in folders {
        parent = enter_or_create(files, &parent, folder).await?;
    }
    let target = join(&parent, name);
    files.roots().check(&target)?;
    let existing = files.sftp().try_lstat(&target).await?;
    match &existing {
        Some(a) if kind(a) == EntryKind::Dir => return Err(exists(&target)),
        Some(_) if !overwrite => return Err(exists(&target)),
        _ => {}
    }
    // Replacing a file keeps its mode; a symlink's own mode (0777) says nothing about a file.
    let mode = existing
        .as_ref()
        .filter(|a| kind(a) == EntryKind::File)
        .and_then(|a| a.permissions)
        .unwrap_or(0o644);

    let temp = TempFile::new(files, &parent, name);
    let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
    let handle = files.sftp().open(&temp.path, flags, Some(mode)).await?;
    let depth = files.state.config.files_pipeline_depth;
    let mut writer = Writer::new(files.sftp().raw(), handle, files.sftp().write_len, depth);
    while let Some(chunk) = field.chunk().await.map_err(body_error)? {
        if let Err(e) = writer.write(&chunk).await {
            return Err(files.write_failure(e, &target).await);
        }
    }
    let bytes = match writer.finish().await {
        Ok(n) => n,
        Err(e) => return Err(files.write_failure(e, &target).await),
    };
    crate::metrics::sftp_upload(bytes);
    temp.commit(files.sftp(), &target, existing.is_some())
        .await?;
    files
        .audit("upload", json!({"path": target, "bytes": bytes}))
        .await;
    Ok(target)
}

/// `a/b/c.txt` → (`[a, b]`, `c.txt`), every component a plain name.
fn split_relative(relative: &str) -> ApiResult<(Vec<&str>, &str)> {
    let relative = check_shape(relative)?;
    if relative.starts_with('/') {
        return Err(bad_path(format!(
            "upload names must be relative: {relative}"
        )));
    }
    let mut parts: Vec<&str> = relative.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    for part in parts.iter().chain(std::iter::once(&name)) {
        check_name(part)?;
    }
    Ok((parts, name))
}

/// The canonical path of `parent/folder`, created when missing; an existing one is resolved
/// (it may be a symlink) and must stay inside the policy.
async fn enter_or_create(files: &Files, parent: &str, folder: &str) -> ApiResult<String> {
    let candidate = join(parent, folder);
    if files.sftp().try_lstat(&candidate).await?.is_none() {
        files.roots().check(&candidate)?;
        files.sftp().mkdir(&candidate).await?;
        files.audit("mkdir", json!({"path": candidate})).await;
        return Ok(candidate);
    }
    let canonical = files.sftp().realpath(&candidate).await?;
    files.roots().check(&canonical)?;
    if kind(&files.sftp().stat(&canonical).await?) != EntryKind::Dir {
        return Err(ApiError::coded(
            StatusCode::CONFLICT,
            codes::EXISTS,
            format!("{candidate} exists and is not a directory"),
        ));
    }
    Ok(canonical)
}

fn body_error(e: MultipartError) -> ApiError {
    ApiError::coded(
        e.status(),
        "upload_interrupted",
        format!("the upload body could not be read: {}", e.body_text()),
    )
}

/// A temporary upload file, removed when dropped unless kept. Removal runs in the background
/// (drop may happen because the request itself was cancelled) and falls back to a fresh pooled
/// session when the one that wrote the file has died.
pub struct TempFile {
    pub path: String,
    cleanup: Option<Cleanup>,
}

struct Cleanup {
    state: AppState,
    actor: Actor,
    server: server::Model,
}

impl TempFile {
    pub fn new(files: &Files, parent: &str, name: &str) -> TempFile {
        // At most 120 bytes of the name (on a character boundary): the temporary name must fit
        // NAME_MAX (255 bytes) with its prefix and suffix.
        let mut cut = name.len().min(120);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let short = &name[..cut];
        let nonce = &uuid::Uuid::new_v4().simple().to_string()[..12];
        TempFile {
            path: join(parent, &format!(".{short}.gatehouse-upload-{nonce}")),
            cleanup: Some(Cleanup {
                state: files.state.clone(),
                actor: files.actor.clone(),
                server: files.server.clone(),
            }),
        }
    }

    /// Moves the finished temporary file onto `target`, atomically replacing what is there when
    /// `replace` (else a plain rename, which fails rather than overwrite), and keeps it.
    pub async fn commit(mut self, sftp: &Sftp, target: &str, replace: bool) -> ApiResult<()> {
        if replace {
            sftp.replace(&self.path, target).await?;
        } else {
            sftp.rename(&self.path, target).await?;
        }
        self.cleanup = None;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let (Some(c), Ok(runtime)) = (self.cleanup.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let path = std::mem::take(&mut self.path);
        runtime.spawn(async move {
            // Through the pool, never straight on the writer's session: that one may have died
            // with its connection, and a request queued on a dead channel waits out the whole
            // request timeout. The pool hands back the same session while it is healthy.
            // The record as it is now: an admin may have changed the address or credential.
            let Ok(server) = crate::servers::service::get(&c.state.db, c.server.id).await else {
                return;
            };
            if server.updated_at != c.server.updated_at {
                tracing::warn!(%path, "server changed during an upload; temporary file left");
                return;
            }
            match c.state.sftp_pool.get(&c.state, &c.actor, &server).await {
                Ok(session) => {
                    if let Err(e) = session.sftp.remove(&path).await {
                        tracing::debug!(%path, error = %e, "temporary upload file not removed");
                    }
                }
                Err(e) => tracing::warn!(%path, error = %e, "cannot remove temporary upload file"),
            }
        });
    }
}

impl Files {
    /// A failed write, named precisely: a full disk (when the server can tell), a lost
    /// connection, or the server's own message.
    pub async fn write_failure(&self, e: russh_sftp::client::error::Error, path: &str) -> ApiError {
        let mapped = self.sftp().fail(e, path);
        let generic = matches!(&mapped, ApiError::Coded { code, .. } if *code == codes::SFTP_ERROR);
        if generic {
            let parent = split_parent(path).map(|(p, _)| p).unwrap_or(".");
            if self
                .sftp()
                .free_bytes(parent)
                .await
                .is_some_and(|free| free < 1 << 20)
            {
                return ApiError::coded(
                    StatusCode::INSUFFICIENT_STORAGE,
                    codes::NO_SPACE,
                    format!("no space left on the server's disk for {path}"),
                );
            }
        }
        if self.sftp().is_dead() {
            return connection_lost("while writing");
        }
        mapped
    }
}

#[cfg(test)]
mod tests {
    use super::split_relative;

    #[test]
    fn relative_names() {
        assert_eq!(split_relative("a.txt").ok(), Some((vec![], "a.txt")));
        assert_eq!(
            split_relative("d/e/a.txt").ok(),
            Some((vec!["d", "e"], "a.txt"))
        );
        for bad in ["../a", "d/../a", "/etc/passwd", "d//a", "./a", "a/", "a\0b"] {
            assert!(split_relative(bad).is_err(), "{bad:?}");
        }
    }
}
