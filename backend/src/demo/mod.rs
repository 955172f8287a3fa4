//! Demo mode (`demo_mode`): a public, read-only sandbox. One middleware around the whole router
//! (`read_only`) refuses every request that is not a read — by method and matched route, with a
//! short allow-list of what a visitor needs (signing in and out, a ZIP of a selection, closing
//! one's own terminal) — so a route added later is refused by default. WebSockets are upgraded
//! from GETs: terminals to the seeded servers open as usual (a demo of an SSH gateway must let
//! visitors type), and everything that would change Gatehouse (servers, users, keys, shares, file
//! writes, …) is a refused POST/PUT/DELETE. At start `seed` creates the demo user and servers.
//! See docs/demo.md.

pub mod seed;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// The error code of a refused write.
pub const READ_ONLY: &str = "demo_read_only";

/// The non-read requests a demo still needs, as `(method, route as mounted)`. Everything else
/// that is not a GET or HEAD is refused.
pub const ALLOWED_WRITES: &[(&str, &str)] = &[
    // Signing in writes a session row; signing out ends it.
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    // A read: the selection of paths travels as a body.
    ("POST", "/api/files/{server_id}/download-zip"),
    // Ends one's own live terminal (the UI's close button); changes nothing stored.
    ("DELETE", "/api/terminal/sessions/{session_id}"),
];

/// Whether demo mode lets `method` through on `route` (the matched route pattern; `None` when
/// nothing matched).
pub fn allows(method: &Method, route: Option<&str>) -> bool {
    if method == Method::GET || method == Method::HEAD {
        return true;
    }
    route.is_some_and(|route| {
        ALLOWED_WRITES
            .iter()
            .any(|(m, r)| *m == method.as_str() && *r == route)
    })
}

/// The middleware: refuses what `allows` does not let through with 403 `demo_read_only`, before
/// any extractor or handler runs, for every caller (admins included). Refusals are logged, not
/// audited: on a public demo every visitor's click would otherwise become a hash-chained audit
/// row, drowning the log in noise.
pub async fn read_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    if allows(req.method(), route.as_deref()) {
        return next.run(req).await;
    }
    let (parts, _body) = req.into_parts();
    tracing::info!(
        method = %parts.method,
        route = route.as_deref().unwrap_or("unmatched"),
        client_ip = crate::auth::extract::client_ip(&parts, &state).as_deref().unwrap_or("-"),
        "demo mode: write refused"
    );
    ApiError::coded(
        StatusCode::FORBIDDEN,
        READ_ONLY,
        "this is a read-only demo: changes are switched off",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_and_writes_outside_the_allow_list_are_refused() {
        assert!(allows(&Method::GET, Some("/api/servers")));
        assert!(allows(&Method::HEAD, None));
        assert!(allows(&Method::GET, Some("/api/ws/terminal/{server_id}")));
        assert!(allows(&Method::POST, Some("/api/auth/login")));
        assert!(allows(
            &Method::DELETE,
            Some("/api/terminal/sessions/{session_id}")
        ));
        assert!(!allows(&Method::POST, Some("/api/servers")));
        assert!(!allows(&Method::PUT, Some("/api/auth/login")));
        assert!(!allows(&Method::POST, None));
        assert!(!allows(&Method::PATCH, Some("/api/users/{id}")));
        assert!(!allows(&Method::OPTIONS, Some("/api/auth/login")));
    }
}
