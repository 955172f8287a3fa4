//! `POST copy-to`: a file or folder copied to another server (or elsewhere on the same one),
//! streamed through the gateway: pipelined reads from the source feed pipelined writes to the
//! target, a few chunks in memory at a time. Progress goes back as JSON Lines. Every file lands
//! under a temporary name first, so a cancelled copy (the client closes the request) leaves no
//! partial file under a real name.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use russh_sftp::protocol::OpenFlags;
use serde_json::json;
use tokio::sync::mpsc;
use wire::files::{CopyEvent, CopyRequest, EntryKind};

use super::context::{Access, Files};
use super::handlers::{basename, exists};
use super::pipe::{PipeError, Reader, Writer};
use super::policy::{join, split_parent};
use super::sftp::Attrs;
use super::upload::TempFile;
use super::walk::Walker;
use crate::auth::CurrentUser;
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const PROGRESS_EVERY: Duration = Duration::from_millis(250);

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/copy-to",
    tag = "files",
    operation_id = "files_copy_to",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::CopyRequest,
    responses(
        (status = 200, description = "Progress as JSON Lines, one `CopyEvent` a line, ending with `done` or `error`", body = wire::files::CopyEvent, content_type = "application/x-ndjson"),
        (status = 409, description = "The target exists (`exists`)", body = wire::ErrorBody),
    )
)]
pub async fn copy_to(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<CopyRequest>,
) -> ApiResult<Response> {
    let src = Files::open(&state, &user, server_id, Access::Read).await?;
    let dst = Files::open(&state, &user, req.target_server_id, Access::Write).await?;
    let source = src.resolve(&req.source_path).await?;
    let attrs = src.sftp().lstat(&source).await?;
    let target = target_path(&dst, &req.target_path, &source).await?;
    let target_exists = dst.sftp().try_lstat(&target).await?.is_some();
    if target_exists && !req.overwrite {
        return Err(exists(&target));
    }
    if dst.roots().is_protected(&target) {
        return Err(super::context::protected(&target));
    }
    let inside_source = format!("{}/", source.trim_end_matches('/'));
    if src.server.id == dst.server.id && (target == source || target.starts_with(&inside_source)) {
        return Err(ApiError::Validation(
            "a folder cannot be copied into itself".into(),
        ));
    }
    let (files_total, bytes_total) = totals(&src, &source, &attrs).await?;
    let audit = json!({"from": source, "to_server_id": dst.server.id, "to": target,
        "files": files_total, "bytes": bytes_total});
    src.audit("copy_from", audit.clone()).await;
    dst.audit(
        "copy_to",
        json!({"from_server_id": src.server.id, "from": source, "to": target,
            "files": files_total, "bytes": bytes_total}),
    )
    .await;

    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let start = CopyEvent::Start {
        files: files_total,
        bytes: bytes_total,
        target_path: target.clone(),
    };
    tokio::spawn(async move {
        let events = Events {
            tx: tx.clone(),
            last: Instant::now(),
        };
        events.send(&start).await;
        let job = Copy {
            src: &src,
            dst: &dst,
            events,
            overwrite: req.overwrite,
            done: (0, 0, 0),
        };
        // The copy stops when the client stops listening; the temp file is cleaned on drop.
        tokio::select! {
            end = job.run(source, attrs, target.clone()) => {
                let event = match end {
                    Ok((files, dirs, bytes)) => CopyEvent::Done { files, dirs, bytes, target_path: target },
                    Err(e) => CopyEvent::Error { code: e.code().into(), message: e.to_string() },
                };
                let _ = tx.send(line(&event)).await;
            }
            _ = tx.closed() => tracing::info!(server_id = src.server.id, "copy cancelled by the client"),
        }
    });

    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, std::io::Error>(line), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from_stream(body))
        .map_err(|e| ApiError::internal("copy response", e))
}

/// Where the copy lands: inside `requested` when that is a directory, else at `requested`.
async fn target_path(dst: &Files, requested: &str, source: &str) -> ApiResult<String> {
    let Some(existing) = dst.resolve_existing(requested).await? else {
        return Ok(dst.locate(requested).await?.path);
    };
    if super::entry::kind(&dst.sftp().stat(&existing).await?) == EntryKind::Dir {
        let inside = join(&existing, &basename(source));
        dst.roots().check(&inside)?;
        Ok(inside)
    } else {
        Ok(existing)
    }
}

async fn totals(src: &Files, source: &str, attrs: &Attrs) -> ApiResult<(u64, u64)> {
    let mut walk = Walker::new(src.sftp());
    walk.push_root(source.to_owned(), String::new(), attrs.clone());
    let (mut files, mut bytes) = (0, 0);
    while let Some(item) = walk.next().await? {
        if item.kind == EntryKind::File {
            files += 1;
            bytes += item.attrs.size.unwrap_or(0);
        }
    }
    Ok((files, bytes))
}

fn line(event: &CopyEvent) -> Bytes {
    let mut text = serde_json::to_vec(event).unwrap_or_default();
    text.push(b'\n');
    Bytes::from(text)
}

struct Events {
    tx: mpsc::Sender<Bytes>,
    last: Instant,
}

impl Events {
    async fn send(&self, event: &CopyEvent) {
        let _ = self.tx.send(line(event)).await;
    }

    async fn progress(&mut self, files_done: u64, bytes_done: u64, current: &str) {
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            self.send(&CopyEvent::Progress {
                files_done,
                bytes_done,
                current: current.to_owned(),
            })
            .await;
        }
    }
}

struct Copy<'a> {
    src: &'a Files,
    dst: &'a Files,
    events: Events,
    overwrite: bool,
    /// Files, directories and bytes copied so far.
    done: (u64, u64, u64),
}

impl Copy<'_> {
    async fn run(
        mut self,
        source: String,
        attrs: Attrs,
        target: String,
    ) -> ApiResult<(u64, u64, u64)> {
        let mut walk = Walker::new(self.src.sftp());
        walk.push_root(source, String::new(), attrs);
        while let Some(item) = walk.next().await? {
            let to = format!("{target}{}", item.rel);
            // `target` is canonical and checked; every folder below it is either created here or
            // verified to be a real folder (never a symlink), so every `to` stays inside it. The
            // string check is the second line of defence.
            self.dst.roots().check(&to)?;
            match item.kind {
                EntryKind::Dir => {
                    match self.dst.sftp().try_lstat(&to).await? {
                        None => {
                            self.dst.sftp().mkdir(&to).await?;
                            let mode = item.attrs.permissions.unwrap_or(0o755);
                            self.dst.sftp().set_mode(&to, mode).await?;
                        }
                        Some(a) if super::entry::kind(&a) == EntryKind::Dir => {}
                        Some(_) => return Err(exists(&to)),
                    }
                    self.done.1 += 1;
                }
                EntryKind::Symlink => {
                    let link = self.src.sftp().readlink(&item.path).await?;
                    if self.dst.sftp().try_lstat(&to).await?.is_some() {
                        if !self.overwrite {
                            return Err(exists(&to));
                        }
                        self.dst.sftp().remove(&to).await?;
                    }
                    self.dst.sftp().symlink(&to, &link).await?;
                }
                EntryKind::File => self.file(&item.path, &item.attrs, &to).await?,
                EntryKind::Other => {}
            }
        }
        Ok(self.done)
    }

    async fn file(&mut self, from: &str, attrs: &Attrs, to: &str) -> ApiResult<()> {
        let (parent, name) = split_parent(to)?;
        let existed = self.dst.sftp().try_lstat(to).await?.is_some();
        if existed && !self.overwrite {
            return Err(exists(to));
        }
        let size = attrs.size.unwrap_or(0);
        let (src, dst) = (self.src.sftp(), self.dst.sftp());
        let depth = self.src.state.config.files_pipeline_depth;
        let handle = src.open(from, OpenFlags::READ, None).await?;
        let mut reader = Reader::new(src.raw(), handle, 0, size, src.read_len, depth);
        let temp = TempFile::new(self.dst, parent, name);
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
        let mode = attrs.permissions.unwrap_or(0o644);
        let out = dst.open(&temp.path, flags, Some(mode)).await?;
        let mut writer = Writer::new(dst.raw(), out, dst.write_len, depth);
        loop {
            let chunk = match reader.next_chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(PipeError::Sftp(e)) => return Err(src.fail(e, from)),
                Err(PipeError::Truncated(_)) => {
                    return Err(super::sftp::sftp_error(
                        from,
                        "the file shrank while being copied",
                    ))
                }
            };
            if let Err(e) = writer.write(&chunk).await {
                return Err(self.dst.write_failure(e, to).await);
            }
            self.done.2 += chunk.len() as u64;
            self.events.progress(self.done.0, self.done.2, from).await;
        }
        if let Err(e) = writer.finish().await {
            return Err(self.dst.write_failure(e, to).await);
        }
        temp.commit(dst, to, existed).await?;
        self.done.0 += 1;
        self.events.progress(self.done.0, self.done.2, from).await;
        Ok(())
    }
}
