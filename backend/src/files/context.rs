//! Everything a files request starts with: who asks, which server, whether its policy allows this
//! kind of access, a pooled SFTP session, and path resolution under the server's policy.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use wire::files::codes;

use super::policy::{self, check_shape, split_parent, Roots};
use super::pool::Pooled;
use super::sftp::Sftp;
use crate::audit::{self, Actor, Event};
use crate::auth::{Authenticated, CurrentUser};
use crate::db::server;
use crate::error::extract::Path;
use crate::error::{ApiError, ApiResult};
use crate::servers::service;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

pub struct Files {
    pub state: AppState,
    pub actor: Actor,
    pub server: server::Model,
    session: Arc<Pooled>,
}

/// An entry-level path: its canonical parent directory, its name, and the two joined.
pub struct Located {
    pub parent: String,
    pub name: String,
    pub path: String,
}

/// Runs before any files handler (a route layer): the caller must see the server and the server
/// must allow files, or the request ends here, before its body or query is even read. A caller
/// who may not use a server learns nothing more than that; `Files::open` checks again with the
/// access the operation needs.
pub async fn guard(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> ApiResult<Response> {
    let server_id = params
        .get("server_id")
        .and_then(|id| id.parse::<i32>().ok())
        .ok_or(ApiError::NotFound("server"))?;
    let server = service::get_visible(&state.db, &user, server_id).await?;
    if !server.sftp_enabled {
        return Err(sftp_disabled());
    }
    Ok(next.run(request).await)
}

fn sftp_disabled() -> ApiError {
    ApiError::coded(
        StatusCode::FORBIDDEN,
        codes::SFTP_DISABLED,
        "file access is switched off for this server",
    )
}

impl Files {
    /// Authorises `user` for `access` to `server_id`'s files and takes a pooled session.
    pub async fn open(
        state: &AppState,
        user: &Authenticated,
        server_id: i32,
        access: Access,
    ) -> ApiResult<Files> {
        let server = service::get_visible(&state.db, user, server_id).await?;
        if !server.sftp_enabled {
            return Err(sftp_disabled());
        }
        if access == Access::Write && server.sftp_read_only {
            return Err(policy::read_only());
        }
        let actor = Actor::from(user);
        let session = state.sftp_pool.get(state, &actor, &server).await?;
        Ok(Files {
            state: state.clone(),
            actor,
            server,
            session,
        })
    }

    pub fn sftp(&self) -> &Sftp {
        &self.session.sftp
    }

    pub fn roots(&self) -> &Roots {
        &self.session.roots
    }

    /// Resolves `path` fully (following symlinks) and checks it against the policy. An empty
    /// path is the first allowed root, or the login directory when everything is allowed.
    pub async fn resolve(&self, path: &str) -> ApiResult<String> {
        let path = match (path.is_empty(), self.roots().first()) {
            (true, Some(root)) => root.to_owned(),
            _ => check_shape(path)?.to_owned(),
        };
        let canonical = self.sftp().realpath(&path).await?;
        self.roots().check(&canonical)?;
        Ok(canonical)
    }

    /// `resolve` for a path that may not exist yet: `None` when nothing is there. (OpenSSH's
    /// `realpath` also resolves a path whose last component does not exist, so existence is
    /// checked, not inferred from the resolution.)
    pub async fn resolve_existing(&self, path: &str) -> ApiResult<Option<String>> {
        match self.resolve(path).await {
            Ok(canonical) if self.sftp().try_lstat(&canonical).await?.is_some() => {
                Ok(Some(canonical))
            }
            Ok(_) => Ok(None),
            Err(ApiError::Coded { code, .. }) if code == codes::NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Resolves the parent of `path` and appends its final name unresolved, so the result names
    /// the entry itself (a symlink, not its target). The parent must exist.
    pub async fn locate(&self, path: &str) -> ApiResult<Located> {
        let (parent, name) = split_parent(check_shape(path)?)?;
        let parent = self.sftp().realpath(parent).await?;
        let joined = policy::join(&parent, name);
        self.roots().check(&joined)?;
        Ok(Located {
            parent,
            name: name.to_owned(),
            path: joined,
        })
    }

    /// Like `locate`, but `/` and the allowed roots themselves are refused: for delete and rename.
    pub async fn locate_removable(&self, path: &str) -> ApiResult<Located> {
        let trimmed = check_shape(path)?.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(protected("/"));
        }
        let located = self.locate(trimmed).await?;
        if self.roots().is_protected(&located.path) {
            return Err(protected(&located.path));
        }
        Ok(located)
    }

    /// The one audit hook of every file operation: `files.<op>` with the server and details.
    pub async fn audit(&self, op: &str, details: Value) {
        crate::metrics::sftp_operation(op);
        let mut details = details;
        // The target is the path acted on: `path`, or the copy's destination on the receiving
        // server, or the source of a rename or copy; a ZIP of several names its paths.
        let key = match op {
            "copy_to" => "to",
            _ if details.get("path").is_some() => "path",
            _ => "from",
        };
        let target = match details.get(key).or_else(|| details.get("paths")) {
            Some(Value::String(path)) => path.clone(),
            Some(Value::Array(paths)) => paths
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        if let Value::Object(map) = &mut details {
            map.insert("server".into(), json!(self.server.name));
        }
        audit::record(
            &self.state.db,
            &self.actor,
            Event::new(format!("files.{op}"))
                .server(Some(self.server.id))
                .target(target)
                .details(details),
        )
        .await;
    }
}

pub fn protected(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::BAD_REQUEST,
        codes::PROTECTED_PATH,
        format!("{path} cannot be deleted or moved"),
    )
}
