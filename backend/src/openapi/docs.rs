//! `/api/docs`: Swagger UI over `/api/openapi.json`, from files embedded in the binary
//! (`swagger-ui-dist`, copied in by `build.rs` under `api-docs/`), never from a CDN. Only this
//! page loads them, so the app's own first load does not grow.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::extract::Path;
use crate::error::ApiError;

const PAGE: &str = include_str!("docs.html");
const INIT: &str = include_str!("docs.js");

/// Scripts and styles from this origin only (no inline script); Swagger UI sets element styles
/// from script, and shows data: images.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The files of `swagger-ui-dist` the page uses, as embedded by `build.rs`.
const VENDORED: &[&str] = &["swagger-ui.css", "swagger-ui-bundle.js"];

pub async fn page() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file == "init.js" {
        return (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            INIT,
        )
            .into_response();
    }
    if !VENDORED.contains(&file.as_str()) {
        return ApiError::NotFound("documentation file").into_response();
    }
    let response = crate::web::assets::serve(&format!("api-docs/{file}"), &headers);
    if response.status() == StatusCode::NOT_FOUND {
        // A build with GATEHOUSE_SKIP_FRONTEND and no frontend/node_modules embeds no UI.
        return ApiError::NotFound("documentation UI (this build embeds no UI)").into_response();
    }
    response
}
