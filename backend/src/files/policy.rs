//! Path policy, decided on canonical server-side paths.
//!
//! A path from a request is never trusted as text: it is checked for shape (no NUL, bounded
//! length), then resolved by the server itself (SFTP `realpath`, so `..` and symlinks are gone),
//! and only that canonical path is compared with the server's allowed prefixes. Operations on an
//! entry itself (delete, rename, mkdir, the name an upload lands under) resolve the *parent* and
//! append a single validated name, so they act on a symlink rather than through it.

use axum::http::StatusCode;
use wire::files::codes;

use super::sftp::Sftp;
use crate::db::server;
use crate::error::ApiError;
use crate::servers::service::json_list;

/// Longest path a request may name (Linux `PATH_MAX`).
pub const MAX_PATH: usize = 4096;
/// Longest single name (Linux `NAME_MAX`).
pub const MAX_NAME: usize = 255;

pub fn bad_path(message: impl Into<String>) -> ApiError {
    ApiError::coded(StatusCode::BAD_REQUEST, codes::BAD_PATH, message)
}

pub fn not_allowed(path: &str) -> ApiError {
    ApiError::coded(
        StatusCode::FORBIDDEN,
        codes::PATH_NOT_ALLOWED,
        format!("{path} is outside the paths this server allows"),
    )
}

pub fn read_only() -> ApiError {
    ApiError::coded(
        StatusCode::FORBIDDEN,
        codes::READ_ONLY,
        "files on this server are read-only",
    )
}

/// Checks the shape of a path from a request; an empty path means the login directory.
pub fn check_shape(path: &str) -> Result<&str, ApiError> {
    if path.contains('\0') {
        return Err(bad_path("the path contains a NUL byte"));
    }
    if path.len() > MAX_PATH {
        return Err(bad_path(format!(
            "the path is longer than {MAX_PATH} bytes"
        )));
    }
    if path.split('/').any(|c| c.len() > MAX_NAME) {
        return Err(bad_path(format!(
            "a path component is longer than {MAX_NAME} bytes"
        )));
    }
    Ok(if path.is_empty() { "." } else { path })
}

/// Checks a single file name (no separators, not `.` or `..`).
pub fn check_name(name: &str) -> Result<&str, ApiError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(bad_path(format!("'{name}' is not a valid file name")));
    }
    check_shape(name)
}

/// Splits a path into its parent and final name, lexically: `a/b/c` → (`a/b`, `c`),
/// `/c` → (`/`, `c`), `c` → (`.`, `c`). The name must be a real name.
pub fn split_parent(path: &str) -> Result<(&str, &str), ApiError> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    };
    Ok((parent, check_name(name)?))
}

pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The allowed prefixes of one server, canonicalised on that server (so an allowed path that is
/// itself a symlink still matches what `realpath` returns). `None`: everything is allowed.
#[derive(Debug, Clone, Default)]
pub struct Roots(Option<Vec<String>>);

impl Roots {
    pub async fn canonical(sftp: &Sftp, server: &server::Model) -> Roots {
        let configured = json_list(&server.sftp_allowed_paths);
        if configured.is_empty() {
            return Roots(None);
        }
        let mut roots = Vec::with_capacity(configured.len());
        for path in configured {
            // A prefix that does not exist (yet) keeps its literal, normalised form.
            let canonical = sftp
                .realpath(&path)
                .await
                .unwrap_or_else(|_| normalise(&path));
            roots.push(canonical);
        }
        Roots(Some(roots))
    }

    pub fn allows(&self, canonical: &str) -> bool {
        match &self.0 {
            None => true,
            Some(roots) => roots.iter().any(|root| within(canonical, root)),
        }
    }

    /// Is `canonical` `/` or one of the allowed roots themselves (never deleted or renamed)?
    pub fn is_protected(&self, canonical: &str) -> bool {
        canonical == "/" || self.0.iter().flatten().any(|root| root == canonical)
    }

    pub fn check(&self, canonical: &str) -> Result<(), ApiError> {
        if self.allows(canonical) {
            Ok(())
        } else {
            Err(not_allowed(canonical))
        }
    }

    /// The first allowed root, where a request without a path starts.
    pub fn first(&self) -> Option<&str> {
        self.0.as_ref().and_then(|r| r.first()).map(String::as_str)
    }
}

fn within(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// Lexical normalisation of an absolute path (`//a/./b/` → `/a/b`); `..` is kept out by
/// validation of allowed paths when a server is saved, and removed here defensively.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_components_only() {
        let roots = Roots(Some(vec!["/srv/data".into()]));
        assert!(roots.allows("/srv/data"));
        assert!(roots.allows("/srv/data/x/y"));
        assert!(!roots.allows("/srv/database"));
        assert!(!roots.allows("/srv"));
        assert!(!roots.allows("/"));
        assert!(Roots(Some(vec!["/".into()])).allows("/etc"));
        assert!(Roots(None).allows("/etc"));
    }

    #[test]
    fn protected_paths() {
        let roots = Roots(Some(vec!["/srv/data".into()]));
        assert!(roots.is_protected("/"));
        assert!(roots.is_protected("/srv/data"));
        assert!(!roots.is_protected("/srv/data/x"));
        assert!(Roots(None).is_protected("/"));
    }

    #[test]
    fn shapes_and_names() {
        assert_eq!(check_shape("").ok(), Some("."));
        assert!(check_shape("a\0b").is_err());
        assert!(check_shape(&"a/".repeat(2100)).is_err());
        assert!(check_shape(&"x".repeat(256)).is_err());
        for bad in ["", ".", "..", "a/b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(split_parent("/a/b/c").ok(), Some(("/a/b", "c")));
        assert_eq!(split_parent("/c/").ok(), Some(("/", "c")));
        assert_eq!(split_parent("c").ok(), Some((".", "c")));
        assert!(split_parent("/a/..").is_err());
        assert!(split_parent("/").is_err());
        assert_eq!(normalise("//a/./b/../c/"), "/a/c");
    }
}
