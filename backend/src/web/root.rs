//! Serving under a root path (`GATEHOUSE_ROOT_PATH`, e.g. `/gatehouse` behind a reverse proxy):
//! every route — API, WebSockets, health, metrics, the UI — moves below the prefix, `/gatehouse`
//! redirects to `/gatehouse/` (the UI's relative URLs need the slash), and anything outside the
//! prefix is a plain 404.
//!
//! The prefix is stripped before routing rather than nesting every route under it, so handlers,
//! route patterns (the metrics' `route` label) and the API-key scope table see the same paths as
//! at the root.

use std::convert::Infallible;

use axum::extract::{OriginalUri, Request};
use axum::http::{uri::PathAndQuery, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use tower::ServiceExt;

/// `app` as it answers under `root_path` (`""`: unchanged).
pub fn mount(app: Router, root_path: String) -> Router {
    if root_path.is_empty() {
        return app;
    }
    Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let (app, root_path) = (app.clone(), root_path.clone());
        async move { Ok::<_, Infallible>(forward(app, &root_path, request).await) }
    }))
}

async fn forward(app: Router, root_path: &str, mut request: Request) -> Response {
    let uri = request.uri().clone();
    let Some(rest) = uri.path().strip_prefix(root_path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if rest.is_empty() {
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        return Redirect::permanent(&format!("{root_path}/{query}")).into_response();
    }
    if !rest.starts_with('/') {
        // `/gatehousex` is not under `/gatehouse`.
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(inner) = strip(&uri, rest) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    request.extensions_mut().insert(OriginalUri(uri));
    *request.uri_mut() = inner;
    match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `uri` with its path replaced by `path` (the part below the root), query kept.
fn strip(uri: &Uri, path: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;

    async fn get_path(path: &str) -> Response {
        let app = Router::new().route("/", get(|| async { "index" })).route(
            "/api/health",
            get(|uri: Uri| async move { uri.to_string() }),
        );
        let request = Request::get(path).body(Body::empty()).expect("request");
        mount(app, "/gh".into())
            .oneshot(request)
            .await
            .expect("infallible")
    }

    async fn text(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8_lossy(&body).into_owned()
    }

    #[tokio::test]
    async fn routes_answer_below_the_root_path_with_it_stripped() {
        let response = get_path("/gh/api/health?x=1").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(text(response).await, "/api/health?x=1");
        assert_eq!(text(get_path("/gh/").await).await, "index");
    }

    #[tokio::test]
    async fn the_bare_root_path_redirects_to_its_slash_form() {
        let response = get_path("/gh").await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()["location"], "/gh/");
    }

    #[tokio::test]
    async fn paths_outside_the_root_path_are_not_found() {
        for path in ["/", "/api/health", "/ghx/api/health", "/other/gh/"] {
            assert_eq!(
                get_path(path).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
}
