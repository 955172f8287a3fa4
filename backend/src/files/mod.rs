//! Files over SFTP: the `/api/files/{server_id}/…` routes.
//!
//! - `context`: authorisation, per-server policy switches and a pooled session for each request;
//! - `policy`: path shape checks and allowed prefixes, always on canonical server-side paths;
//! - `pool`: one SFTP session per (user, server), reused, health-checked, reaped when idle;
//! - `sftp`: the raw SFTP session with errors mapped to API errors;
//! - `pipe`: pipelined reads and writes (several requests in flight) for every transfer;
//! - `walk`: lazy tree walks that never follow symlinks;
//! - `handlers` (list, stat, mkdir, rename, delete, chmod), `download`, `zip`, `upload`,
//!   `editor`, `copy`: the endpoints. Each calls `Files::audit` once per operation.

mod context;
mod copy;
pub mod download;
mod editor;
mod entry;
mod handlers;
mod pipe;
mod policy;
pub mod pool;
mod sftp;
mod upload;
mod walk;
mod zip;

pub use handlers::routes;
pub use pool::SftpPool;

/// The files routes' part of the OpenAPI document (`crate::openapi`): the handlers live in this
/// folder's private modules.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    handlers::ls,
    handlers::stat,
    editor::read,
    editor::write,
    download::download,
    zip::download_get,
    zip::download_post,
    upload::upload,
    handlers::mkdir,
    handlers::rename,
    handlers::remove,
    handlers::chmod,
    copy::copy_to,
))]
pub struct FilesApi;
