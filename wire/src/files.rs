//! The files (SFTP) contract: everything under `/api/files/{server_id}/`.
//!
//! Paths in requests may be absolute or relative to the login directory; every path in a response
//! is the canonical server-side path (SFTP `realpath`), which is also what policy is checked on.

use serde::{Deserialize, Serialize};

/// What a directory entry is, from `lstat` (a symlink is reported as a symlink, never followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One file or directory: a row of `ls`, or the answer of `stat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    pub name: String,
    /// Full path of the entry itself (for a symlink: the link, not its target).
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Permission bits and file type bits as `st_mode` (e.g. `0o100644`).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Owner and group names when the server reports them (OpenSSH does, in `ls -l` form).
    pub owner: Option<String>,
    pub group: Option<String>,
    /// For a symlink: where it points, as stored in the link.
    pub link_target: Option<String>,
    /// For a symlink: what it resolves to (`None` when dangling or unreadable).
    pub target_kind: Option<EntryKind>,
}

/// `GET ls?path=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing {
    /// The canonical path of the directory listed.
    pub path: String,
    pub entries: Vec<Entry>,
}

/// `GET read?path=`: a text file for the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextFile {
    pub path: String,
    pub content: String,
    pub size: u64,
    pub mtime: i64,
}

/// `PUT write`. With `expected_mtime`, the write is refused with 409 `conflict` when the file's
/// modification time is no longer that value (someone changed it since it was opened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WriteRequest {
    pub path: String,
    pub content: String,
    #[serde(default)]
    pub expected_mtime: Option<i64>,
}

/// Answer of `PUT write`, `POST mkdir`, `POST rename`, `POST chmod`: the entry as it is now.
pub type EntryResponse = Entry;

/// `POST mkdir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MkdirRequest {
    pub path: String,
}

/// `POST rename`: rename or move within one server. Refused with 409 `exists` when `new_path`
/// exists, unless `overwrite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameRequest {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub overwrite: bool,
}

/// `POST chmod`. `mode` is the permission bits, as a number (`420`) or an octal string (`"0644"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChmodRequest {
    pub path: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Mode {
    Bits(u32),
    Octal(String),
}

/// `POST download-zip {"paths"}`: several files and folders in one ZIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZipRequest {
    pub paths: Vec<String>,
}

/// `POST upload?path=<dir>` answers with the files written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub files: Vec<Entry>,
}

/// `DELETE delete?path=` answers with what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteResponse {
    pub path: String,
    pub files: u64,
    pub dirs: u64,
}

/// `POST copy-to`: copy a file or folder to a path on another (or the same) server, streamed
/// through the gateway. When `target_path` is an existing directory the source is copied into it
/// under its own name; otherwise `target_path` is the new name. An existing file is never replaced
/// unless `overwrite`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CopyRequest {
    pub source_path: String,
    pub target_server_id: i32,
    pub target_path: String,
    #[serde(default)]
    pub overwrite: bool,
}

/// `POST copy-to` streams its progress as JSON Lines (`application/x-ndjson`), one event per line,
/// ending with `done` or `error`. Anything refusable (policy, missing source, existing target) is
/// refused with a normal HTTP error before the stream starts. Closing the request cancels the copy
/// and removes the partial file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CopyEvent {
    /// Sent when the copy starts: totals, from a walk of the source.
    Start {
        files: u64,
        bytes: u64,
        target_path: String,
    },
    /// Sent at most a few times a second while bytes move.
    Progress {
        files_done: u64,
        bytes_done: u64,
        current: String,
    },
    Done {
        files: u64,
        dirs: u64,
        bytes: u64,
        target_path: String,
    },
    Error {
        code: String,
        message: String,
    },
}

/// Machine-readable `code`s of file errors.
pub mod codes {
    /// 403: SFTP is switched off for this server.
    pub const SFTP_DISABLED: &str = "sftp_disabled";
    /// 403: the server's SFTP policy is read-only.
    pub const READ_ONLY: &str = "read_only";
    /// 403: the canonical path is outside the server's allowed paths.
    pub const PATH_NOT_ALLOWED: &str = "path_not_allowed";
    /// 400: a NUL byte, an overlong path or name, or a name with `/`, `.` or `..`.
    pub const BAD_PATH: &str = "bad_path";
    /// 403: refused by the server's file permissions.
    pub const PERMISSION_DENIED: &str = "permission_denied";
    /// 404.
    pub const NOT_FOUND: &str = "not_found";
    /// 409: the target exists.
    pub const EXISTS: &str = "exists";
    /// 409: the file changed since it was opened (`expected_mtime`).
    pub const CONFLICT: &str = "conflict";
    /// 400: a directory where a file is needed, or the other way round.
    pub const NOT_A_FILE: &str = "not_a_file";
    pub const NOT_A_DIRECTORY: &str = "not_a_directory";
    /// 413: too big for the editor.
    pub const TOO_LARGE: &str = "too_large";
    /// 415: not text, so not for the editor.
    pub const BINARY: &str = "binary";
    /// 507: the server's disk is full.
    pub const NO_SPACE: &str = "no_space";
    /// 502: the SSH or SFTP connection dropped mid-operation.
    pub const CONNECTION_LOST: &str = "connection_lost";
    /// 400: `/` is never deleted, nor an allowed root.
    pub const PROTECTED_PATH: &str = "protected_path";
    /// 416: the Range header does not fit the file.
    pub const RANGE_NOT_SATISFIABLE: &str = "range_not_satisfiable";
    /// 502: any other SFTP failure, with the server's message.
    pub const SFTP_ERROR: &str = "sftp_error";
}
