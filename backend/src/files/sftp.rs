//! A thin layer over `russh_sftp`'s raw session: every call maps its failure to an `ApiError`
//! naming the path, and a failure that means the connection is gone marks the session dead so the
//! pool replaces it. The raw session (not the high-level `SftpSession`) is used because it exposes
//! `ls -l` owner names, `posix-rename`, `statvfs`, and lets `pipe.rs` pipeline reads and writes
//! with its own chunk size and depth.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::client::RawSftpSession;
use russh_sftp::protocol::{FileAttributes, OpenFlags, Packet, StatusCode as Fx};
use wire::files::codes;

use crate::error::ApiError;

pub type Attrs = FileAttributes;
type R<T> = Result<T, ApiError>;

/// One directory entry as the server sent it.
pub struct DirItem {
    pub name: String,
    pub longname: String,
    pub attrs: Attrs,
}

pub struct Sftp {
    raw: Arc<RawSftpSession>,
    dead: AtomicBool,
    /// Largest read and write payloads the server accepts (`limits@openssh.com`, else 32 KiB).
    pub read_len: u32,
    pub write_len: u32,
    posix_rename: bool,
    statvfs: bool,
    /// The server speaks OpenSSH's dialect (it advertises `@openssh.com` extensions).
    openssh: bool,
}

/// Most entries one directory listing may hold in memory.
pub const MAX_DIR_ENTRIES: usize = 200_000;

/// Closes a directory handle in the background when dropped.
struct CloseOnDrop(Arc<RawSftpSession>, Option<String>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let (Some(handle), Ok(runtime)) = (self.1.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let raw = self.0.clone();
        runtime.spawn(async move {
            let _ = raw.close(handle).await;
        });
    }
}

/// SFTP v3's smallest guaranteed packet: 32 KiB of data per request always works.
const SAFE_CHUNK: u32 = 32 * 1024;
/// Our own cap per request, whatever the server offers.
const MAX_CHUNK: u32 = 255 * 1024;

impl Sftp {
    /// Runs the SFTP version exchange on an opened `sftp` subsystem stream.
    pub async fn start<S>(stream: S, request_timeout_secs: u64) -> Result<Sftp, SftpError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let config = russh_sftp::client::Config {
            request_timeout_secs,
            ..Default::default()
        };
        let mut raw = RawSftpSession::new_with_config(stream, config);
        let version = raw.init().await?;
        let has = |name: &str| version.extensions.contains_key(name);
        let (mut read_len, mut write_len) = (SAFE_CHUNK, SAFE_CHUNK);
        if has("limits@openssh.com") {
            let limits = raw.limits().await?;
            let clamp = |v: u64| {
                u32::try_from(v)
                    .unwrap_or(MAX_CHUNK)
                    .clamp(SAFE_CHUNK, MAX_CHUNK)
            };
            read_len = clamp(limits.max_read_len);
            write_len = clamp(limits.max_write_len);
            raw.set_limits(limits.into());
        }
        Ok(Sftp {
            posix_rename: has("posix-rename@openssh.com"),
            openssh: version
                .extensions
                .keys()
                .any(|k| k.ends_with("@openssh.com")),
            statvfs: has("statvfs@openssh.com"),
            raw: Arc::new(raw),
            dead: AtomicBool::new(false),
            read_len,
            write_len,
        })
    }

    pub fn raw(&self) -> Arc<RawSftpSession> {
        self.raw.clone()
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }

    /// Maps an SFTP failure on `path` to an API error, remembering a lost connection.
    pub fn fail(&self, err: SftpError, path: &str) -> ApiError {
        let mapped = map_error(err, path);
        if matches!(&mapped, ApiError::Coded { code, .. } if *code == codes::CONNECTION_LOST) {
            self.dead.store(true, Ordering::Relaxed);
        }
        mapped
    }

    pub async fn realpath(&self, path: &str) -> R<String> {
        let name = self
            .raw
            .realpath(path)
            .await
            .map_err(|e| self.fail(e, path))?;
        name.files
            .into_iter()
            .next()
            .map(|f| f.filename)
            .ok_or_else(|| sftp_error(path, "the server returned no canonical path"))
    }

    pub async fn lstat(&self, path: &str) -> R<Attrs> {
        Ok(self
            .raw
            .lstat(path)
            .await
            .map_err(|e| self.fail(e, path))?
            .attrs)
    }

    pub async fn stat(&self, path: &str) -> R<Attrs> {
        Ok(self
            .raw
            .stat(path)
            .await
            .map_err(|e| self.fail(e, path))?
            .attrs)
    }

    /// `lstat`, with "does not exist" as `None` instead of an error.
    pub async fn try_lstat(&self, path: &str) -> R<Option<Attrs>> {
        match self.raw.lstat(path).await {
            Ok(a) => Ok(Some(a.attrs)),
            Err(SftpError::Status(s)) if s.status_code == Fx::NoSuchFile => Ok(None),
            Err(e) => Err(self.fail(e, path)),
        }
    }

    pub async fn readlink(&self, path: &str) -> R<String> {
        let name = self
            .raw
            .readlink(path)
            .await
            .map_err(|e| self.fail(e, path))?;
        Ok(name
            .files
            .into_iter()
            .next()
            .map(|f| f.filename)
            .unwrap_or_default())
    }

    /// Every entry of a directory except `.` and `..`. Names the server sends that are not
    /// plain names (a `/` in them, empty) are dropped: a hostile server must not steer a copy or
    /// a ZIP member outside the folder being walked. At most `MAX_DIR_ENTRIES` are read.
    pub async fn read_dir(&self, path: &str) -> R<Vec<DirItem>> {
        let handle = self
            .raw
            .opendir(path)
            .await
            .map_err(|e| self.fail(e, path))?
            .handle;
        // Closed even when the request is cancelled mid-listing.
        let _close = CloseOnDrop(self.raw.clone(), Some(handle.clone()));
        let mut items = Vec::new();
        loop {
            match self.raw.readdir(handle.as_str()).await {
                Ok(name) => items.extend(
                    name.files
                        .into_iter()
                        .filter(|f| super::policy::check_name(&f.filename).is_ok())
                        .map(|f| DirItem {
                            name: f.filename,
                            longname: f.longname,
                            attrs: f.attrs,
                        }),
                ),
                Err(SftpError::Status(s)) if s.status_code == Fx::Eof => return Ok(items),
                Err(e) => return Err(self.fail(e, path)),
            }
            if items.len() > MAX_DIR_ENTRIES {
                return Err(sftp_error(
                    path,
                    &format!("the folder has more than {MAX_DIR_ENTRIES} entries"),
                ));
            }
        }
    }

    pub async fn mkdir(&self, path: &str) -> R<()> {
        self.raw
            .mkdir(path, FileAttributes::empty())
            .await
            .map_err(|e| self.fail(e, path))?;
        Ok(())
    }

    pub async fn rmdir(&self, path: &str) -> R<()> {
        self.raw.rmdir(path).await.map_err(|e| self.fail(e, path))?;
        Ok(())
    }

    pub async fn remove(&self, path: &str) -> R<()> {
        self.raw
            .remove(path)
            .await
            .map_err(|e| self.fail(e, path))?;
        Ok(())
    }

    /// Plain SFTP rename: fails when `new` exists.
    pub async fn rename(&self, old: &str, new: &str) -> R<()> {
        self.raw
            .rename(old, new)
            .await
            .map_err(|e| self.fail(e, new))?;
        Ok(())
    }

    /// Atomically replaces `new` with `old` (`posix-rename@openssh.com`); without the extension,
    /// removes `new` first, which is the best plain SFTP v3 can do.
    pub async fn replace(&self, old: &str, new: &str) -> R<()> {
        if !self.posix_rename {
            if self.try_lstat(new).await?.is_some() {
                self.remove(new).await?;
            }
            return self.rename(old, new).await;
        }
        let mut data = Vec::with_capacity(8 + old.len() + new.len());
        for s in [old, new] {
            data.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            data.extend_from_slice(s.as_bytes());
        }
        match self.raw.extended("posix-rename@openssh.com", data).await {
            Ok(Packet::Status(s)) if s.status_code == Fx::Ok => Ok(()),
            Ok(Packet::Status(s)) => Err(self.fail(SftpError::Status(s), new)),
            Ok(_) => Err(sftp_error(new, "unexpected reply to posix-rename")),
            Err(e) => Err(self.fail(e, new)),
        }
    }

    pub async fn set_mode(&self, path: &str, mode: u32) -> R<()> {
        let attrs = FileAttributes {
            permissions: Some(mode & 0o7777),
            ..FileAttributes::empty()
        };
        self.raw
            .setstat(path, attrs)
            .await
            .map_err(|e| self.fail(e, path))?;
        Ok(())
    }

    pub async fn symlink(&self, link: &str, target: &str) -> R<()> {
        // OpenSSH's sftp-server reads SSH_FXP_SYMLINK's two paths in the opposite order to the
        // draft (a long-standing, documented quirk), and russh-sftp follows the draft: swap for
        // OpenSSH only, so the link lands at `link` on every server.
        let (first, second) = if self.openssh {
            (target, link)
        } else {
            (link, target)
        };
        self.raw
            .symlink(first, second)
            .await
            .map_err(|e| self.fail(e, link))?;
        Ok(())
    }

    pub async fn open(&self, path: &str, flags: OpenFlags, mode: Option<u32>) -> R<String> {
        let attrs = FileAttributes {
            permissions: mode.map(|m| m & 0o7777),
            ..FileAttributes::empty()
        };
        Ok(self
            .raw
            .open(path, flags, attrs)
            .await
            .map_err(|e| self.fail(e, path))?
            .handle)
    }

    /// Bytes free for an unprivileged user on the filesystem holding `path`, when the server says.
    pub async fn free_bytes(&self, path: &str) -> Option<u64> {
        if !self.statvfs {
            return None;
        }
        let v = self.raw.statvfs(path).await.ok()?;
        Some(v.blocks_avail.saturating_mul(v.fragment_size))
    }
}

pub fn sftp_error(path: &str, message: &str) -> ApiError {
    ApiError::coded(
        StatusCode::BAD_GATEWAY,
        codes::SFTP_ERROR,
        format!("{path}: {message}"),
    )
}

pub fn connection_lost(detail: impl std::fmt::Display) -> ApiError {
    ApiError::coded(
        StatusCode::BAD_GATEWAY,
        codes::CONNECTION_LOST,
        format!("the SFTP connection to the server was lost ({detail})"),
    )
}

fn map_error(err: SftpError, path: &str) -> ApiError {
    match err {
        SftpError::Status(s) => match s.status_code {
            Fx::NoSuchFile => ApiError::coded(
                StatusCode::NOT_FOUND,
                codes::NOT_FOUND,
                format!("no such file or directory: {path}"),
            ),
            Fx::PermissionDenied => ApiError::coded(
                StatusCode::FORBIDDEN,
                codes::PERMISSION_DENIED,
                format!("permission denied by the server: {path}"),
            ),
            Fx::NoConnection | Fx::ConnectionLost => connection_lost(s.error_message),
            Fx::BadMessage => ApiError::coded(
                StatusCode::BAD_REQUEST,
                codes::BAD_PATH,
                format!("the server rejected the path: {path}"),
            ),
            _ if s.error_message.is_empty() => sftp_error(path, &s.status_code.to_string()),
            _ => sftp_error(path, &s.error_message),
        },
        SftpError::Timeout => connection_lost("the server stopped answering"),
        SftpError::IO(e) | SftpError::UnexpectedBehavior(e) => connection_lost(e),
        SftpError::Limited(e) => sftp_error(path, &e),
        SftpError::UnexpectedPacket => sftp_error(path, "unexpected reply"),
    }
}
