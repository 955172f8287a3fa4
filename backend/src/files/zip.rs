//! `GET download-zip?path=…[&path=…]` and `POST download-zip {"paths"}`: files and folders as one
//! ZIP, streamed while it is built.
//!
//! The `zip` crate's streaming writer is synchronous, so it runs on a blocking thread that pulls
//! the tree walk and file bytes from the async SFTP session (`Handle::block_on`) and pushes the
//! archive through a small bounded channel into the response body. A slow client stalls the
//! writer, which stalls SFTP reads: memory stays at a few chunks whatever the folder's size.
//! Members are whatever the walk finds under the canonical selection; symlinks are stored as
//! symlinks (never followed), so no member can come from outside the allowed paths.

use std::collections::HashSet;
use std::io::{self, Write};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use russh_sftp::protocol::OpenFlags;
use serde_json::json;
use tokio::sync::mpsc;
use wire::files::{EntryKind, ZipRequest};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::context::{Access, Files};
use super::download::disposition;
use super::handlers::basename;
use super::pipe::Reader;
use super::walk::{Item, Walker};
use crate::auth::CurrentUser;
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Archive bytes handed to the response at a time, and how many such chunks may wait.
const OUT_CHUNK: usize = 64 * 1024;
const OUT_QUEUE: usize = 4;
/// ZIPs built at once, gateway-wide.
const MAX_ZIPS: usize = 32;
static ZIPS_AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_ZIPS);

#[utoipa::path(
    get,
    path = "/api/files/{server_id}/download-zip",
    tag = "files",
    operation_id = "files_download_zip",
    params(
        ("server_id" = i32, Path, description = "The server"),
        ("path" = Vec<String>, Query, description = "One or more files or folders (repeat `path`)"),
    ),
    responses(
        (status = 200, description = "A streamed ZIP", body = Vec<u8>, content_type = "application/zip"),
    )
)]
pub async fn download_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let paths = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "path")
        .map(|(_, v)| v.into_owned())
        .collect();
    archive(state, &user, server_id, paths).await
}

#[utoipa::path(
    post,
    path = "/api/files/{server_id}/download-zip",
    tag = "files",
    operation_id = "files_download_zip_post",
    params(("server_id" = i32, Path, description = "The server")),
    request_body = wire::files::ZipRequest,
    responses(
        (status = 200, description = "A streamed ZIP", body = Vec<u8>, content_type = "application/zip"),
    )
)]
pub async fn download_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(server_id): Path<i32>,
    Json(req): Json<ZipRequest>,
) -> ApiResult<Response> {
    archive(state, &user, server_id, req.paths).await
}

async fn archive(
    state: AppState,
    user: &CurrentUser,
    server_id: i32,
    paths: Vec<String>,
) -> ApiResult<Response> {
    if paths.is_empty() {
        return Err(ApiError::BadRequest("name at least one path".into()));
    }
    if paths.len() > 10_000 {
        return Err(ApiError::BadRequest("too many paths in one ZIP".into()));
    }
    let files = Files::open(&state, user, server_id, Access::Read).await?;
    // Everything is resolved and checked before the first byte is sent.
    let mut roots = Vec::with_capacity(paths.len());
    let mut names = HashSet::new();
    for requested in &paths {
        let canonical = files.resolve(requested).await?;
        let attrs = files.sftp().lstat(&canonical).await?;
        let mut name = match basename(requested).as_str() {
            "/" | "." | ".." | "" => basename(&canonical),
            n => n.to_owned(),
        };
        if name == "/" {
            name = "root".into();
        }
        let mut unique = name.clone();
        for n in 2.. {
            if names.insert(unique.clone()) {
                break;
            }
            unique = format!("{name} ({n})");
        }
        roots.push((canonical, unique, attrs));
    }
    let archive_name = match roots.as_slice() {
        [(_, name, _)] => format!("{name}.zip"),
        _ => format!("{}-files.zip", files.server.name),
    };
    files
        .audit(
            "download_zip",
            json!({"paths": roots.iter().map(|(p, _, _)| p).collect::<Vec<_>>()}),
        )
        .await;

    // Each ZIP holds a blocking thread for as long as its client reads: cap them, so slow or
    // stalled readers can never exhaust the blocking pool that sign-ins (argon2) also use.
    let permit = ZIPS_AT_ONCE.try_acquire().map_err(|_| {
        ApiError::coded(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_transfers",
            "too many ZIP downloads are running; try again shortly",
        )
    })?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(OUT_QUEUE);
    let depth = state.config.files_pipeline_depth;
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let error_tx = tx.clone();
        let out = ChannelWriter {
            tx,
            buf: BytesMut::with_capacity(OUT_CHUNK),
        };
        if let Err(e) = write_zip(&runtime, &files, roots, depth, out, &error_tx) {
            tracing::warn!(server_id = files.server.id, error = %e, "ZIP stream ended early");
            let _ = error_tx.blocking_send(Err(e));
        }
    });

    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            disposition("attachment", &archive_name),
        )
        .body(Body::from_stream(futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )))
        .map_err(|e| ApiError::internal("zip response", e))
}

fn write_zip(
    runtime: &tokio::runtime::Handle,
    files: &Files,
    roots: Vec<(String, String, super::sftp::Attrs)>,
    depth: usize,
    out: ChannelWriter,
    client: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(out);
    let mut walk = Walker::new(files.sftp());
    for (path, name, attrs) in roots {
        walk.push_root(path, name, attrs);
    }
    let failed = |e: ApiError| io::Error::other(e.to_string());
    while let Some(mut item) = runtime.block_on(walk.next()).map_err(failed)? {
        // Windows extractors read a backslash as a separator: never let a name carry a path.
        item.rel = item.rel.replace('\\', "_");
        let mut options = options_for(&item);
        match item.kind {
            EntryKind::Dir => zip.add_directory(format!("{}/", item.rel), options)?,
            EntryKind::Symlink => {
                let target = runtime
                    .block_on(files.sftp().readlink(&item.path))
                    .map_err(failed)?;
                zip.add_symlink(item.rel.clone(), target, options)?;
            }
            EntryKind::File => {
                let size = item.attrs.size.unwrap_or(0);
                let handle = runtime
                    .block_on(files.sftp().open(&item.path, OpenFlags::READ, None))
                    .map_err(failed)?;
                let mut reader = Reader::new(
                    files.sftp().raw(),
                    handle,
                    0,
                    size,
                    files.sftp().read_len,
                    depth,
                );
                let mut next = || {
                    runtime
                        .block_on(reader.next_chunk())
                        .map_err(|e| io::Error::other(format!("{}: {e}", item.path)))
                };
                // The method is fixed when the entry starts: decide it on the first chunk.
                let first = next()?;
                if first.as_deref().is_some_and(incompressible) {
                    options = options
                        .compression_method(CompressionMethod::Stored)
                        .compression_level(None);
                }
                zip.start_file(item.rel.clone(), options)?;
                let mut chunk = first;
                while let Some(bytes) = chunk {
                    zip.write_all(&bytes)?;
                    if client.is_closed() {
                        return Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the client went away",
                        ));
                    }
                    chunk = next()?;
                }
            }
            // Devices, sockets and FIFOs have no content to archive.
            EntryKind::Other => {}
        }
    }
    let mut out = zip.finish()?.into_inner();
    out.flush()
}

/// Does a sample of a file shrink by less than a tenth at deflate's fastest level? Then deflating
/// the whole file would cost CPU (the ZIP's bottleneck) for nothing: random data, media, archives
/// with unknown extensions. Costs one compression of at most 64 KiB per file.
fn incompressible(first: &[u8]) -> bool {
    use flate2::write::DeflateEncoder;
    let sample = &first[..first.len().min(64 * 1024)];
    if sample.len() < 4096 {
        return false;
    }
    let mut encoder = DeflateEncoder::new(
        Vec::with_capacity(sample.len()),
        flate2::Compression::fast(),
    );
    let packed = encoder
        .write_all(sample)
        .and_then(|()| encoder.finish())
        .map(|v| v.len())
        .unwrap_or(0);
    packed * 10 > sample.len() * 9
}

/// Already-compressed data is stored as is; everything else is deflated at the fastest level,
/// which keeps a ZIP near SFTP speed while still shrinking text and logs.
fn options_for(item: &Item) -> SimpleFileOptions {
    const STORED: &[&str] = &[
        "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "jpg", "jpeg", "png", "gif", "webp",
        "mp4", "mkv", "mov", "mp3", "ogg", "flac", "pdf", "jar", "whl", "deb", "rpm",
    ];
    let ext = item
        .rel
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let method = if STORED.contains(&ext.as_str()) || item.kind != EntryKind::File {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let mtime = i64::from(item.attrs.mtime.unwrap_or(0));
    let modified = chrono::DateTime::from_timestamp(mtime, 0)
        .and_then(|t| {
            use chrono::{Datelike, Timelike};
            DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default();
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .unix_permissions(item.attrs.permissions.unwrap_or(0o644) & 0o7777)
        .last_modified_time(modified)
        .large_file(item.attrs.size.unwrap_or(0) >= u64::from(u32::MAX));
    if method == CompressionMethod::Deflated {
        options.compression_level(Some(1))
    } else {
        options
    }
}

/// `Write` for the zip crate, forwarding full chunks into the response body's bounded channel.
/// A closed channel (the client went away) ends the archive with a broken pipe.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        crate::metrics::sftp_download(chunk.len());
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= OUT_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::incompressible;

    #[test]
    fn text_is_deflated_and_noise_is_stored() {
        let text = "GET /index.html 200 0.003s\n".repeat(4000);
        assert!(!incompressible(text.as_bytes()));
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..65536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(incompressible(&noise));
        assert!(!incompressible(b"tiny"));
    }
}
