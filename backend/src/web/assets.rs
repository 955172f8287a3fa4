//! The web UI, embedded in the binary by `build.rs`: `/` and any non-API page path answer with
//! `index.html` (the UI routes on the client), `/assets/*` serves the wasm, JS and CSS.
//!
//! Every response carries a content-hash ETag and `Cache-Control: no-cache`, so browsers
//! revalidate cheaply (304) and never run a stale UI after an upgrade. Files were gzipped at build
//! time; a client that accepts gzip gets those bytes as they are.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use bytes::Bytes;

/// One embedded file, as `build.rs` lists it.
struct Asset {
    /// Path relative to the UI root: `index.html`, `assets/frontend_bg.wasm`, …
    path: &'static str,
    content_type: &'static str,
    /// Quoted strong ETag of the uncompressed body.
    etag: &'static str,
    body: &'static [u8],
    gzip: Option<&'static [u8]>,
}

static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

const INDEX: &str = "index.html";

/// Routes serving the embedded single-page UI: `/`, `/assets/*` and the SPA fallback.
/// `root_path` (`""` or `/gatehouse`) is where the gateway is mounted; the page's `<base>` names it.
pub fn routes<S: Clone + Send + Sync + 'static>(root_path: &str) -> Router<S> {
    let page = Arc::new(IndexPage::new(root_path));
    let fallback_page = page.clone();
    Router::new()
        .route(
            "/",
            get(move |headers: HeaderMap| async move { page.serve(&headers) }),
        )
        .route("/assets/{*path}", get(asset))
        .fallback(
            move |method: Method, uri: Uri, headers: HeaderMap| async move {
                fallback(&fallback_page, method, uri, headers)
            },
        )
}

/// `index.html` as served: embedded as built, or with `<base href="/">` naming the root path.
/// All the UI's URLs are relative to that base, so this one rewrite moves it under a prefix.
enum IndexPage {
    Embedded,
    Rewritten { body: Bytes, etag: String },
}

impl IndexPage {
    fn new(root_path: &str) -> IndexPage {
        let Some(asset) = find(INDEX).filter(|_| !root_path.is_empty()) else {
            return IndexPage::Embedded;
        };
        let html = String::from_utf8_lossy(asset.body).replacen(
            r#"<base href="/">"#,
            &format!(r#"<base href="{root_path}/">"#),
            1,
        );
        // The root path holds only ETag-safe characters (checked in `config`).
        let etag = format!("{}{root_path}\"", asset.etag.trim_end_matches('"'));
        IndexPage::Rewritten {
            body: Bytes::from(html),
            etag,
        }
    }

    fn serve(&self, headers: &HeaderMap) -> Response {
        match self {
            IndexPage::Embedded => serve(INDEX, headers),
            IndexPage::Rewritten { body, etag } => respond(
                "text/html; charset=utf-8",
                etag,
                body.clone(),
                false,
                headers,
            ),
        }
    }
}

async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    serve(uri.path().trim_start_matches('/'), &headers)
}

/// Page paths the client-side UI owns get `index.html`; unknown API paths get the API's JSON 404.
fn fallback(page: &IndexPage, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return api_not_found();
    }
    if method == Method::GET || method == Method::HEAD {
        return page.serve(&headers);
    }
    StatusCode::NOT_FOUND.into_response()
}

fn api_not_found() -> Response {
    let body = wire::ErrorBody {
        error: "no such API endpoint".to_owned(),
        code: "not_found".to_owned(),
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The embedded file at `path` (relative to the UI root), with the caching headers above; also
/// serves the API docs' files (`crate::openapi`).
pub(crate) fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = find(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip = asset.gzip.filter(|_| accepts_gzip(headers));
    let body = Bytes::from_static(gzip.unwrap_or(asset.body));
    respond(
        asset.content_type,
        asset.etag,
        body,
        gzip.is_some(),
        headers,
    )
}

/// `body` (gzip-encoded when `gzip`) with the caching headers above; `etag` is the tag of the
/// uncompressed representation.
fn respond(
    content_type: &'static str,
    etag: &str,
    body: Bytes,
    gzip: bool,
    headers: &HeaderMap,
) -> Response {
    // The gzip bytes are a different representation, so they get their own tag.
    let gzip_etag = format!("{}-gz\"", etag.trim_end_matches('"'));
    let plain_etag = etag;
    let etag = if gzip { gzip_etag.as_str() } else { plain_etag };

    let mut response = if none_match(headers, &[plain_etag, &gzip_etag]) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(Body::from(body));
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// True when `If-None-Match` names one of `etags` (weak comparison, as RFC 9110 asks for GET).
fn none_match(headers: &HeaderMap, etags: &[&str]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || etags.contains(&tag))
}

/// True when `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        routes::<()>("")
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn root_serves_index_html_with_caching_headers() {
        let response = get("/", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert!(h.contains_key(header::ETAG));
        assert!(!h.contains_key(header::CONTENT_ENCODING));
    }

    #[tokio::test]
    async fn matching_etag_gets_not_modified() {
        let etag = get("/", &[]).await.headers()[header::ETAG].clone();
        let response = get(
            "/",
            &[(header::IF_NONE_MATCH, etag.to_str().expect("ascii"))],
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        let response = get("/", &[(header::IF_NONE_MATCH, "\"something-else\"")]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn gzip_is_served_only_to_clients_that_accept_it() {
        let response = get("/", &[(header::ACCEPT_ENCODING, "br, gzip;q=0.8")]).await;
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let response = get("/", &[(header::ACCEPT_ENCODING, "gzip;q=0, br")]).await;
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
    }

    #[tokio::test]
    async fn unknown_asset_is_not_found() {
        let response = get("/assets/nope.js", &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn page_paths_fall_back_to_index_but_api_paths_do_not() {
        let response = get("/servers/3", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let response = get("/api/no-such-thing", &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[tokio::test]
    async fn under_a_root_path_the_page_base_names_it() {
        for path in ["/", "/servers/3"] {
            let request = Request::get(path).body(Body::empty()).expect("request");
            let response = routes::<()>("/gh")
                .oneshot(request)
                .await
                .expect("infallible");
            assert_eq!(response.status(), StatusCode::OK);
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            let html = String::from_utf8_lossy(&body);
            assert!(html.contains(r#"<base href="/gh/">"#), "{html}");
        }
    }

    #[test]
    fn every_embedded_file_has_a_content_type_and_wasm_is_application_wasm() {
        assert!(find(INDEX).is_some());
        for asset in ASSETS {
            assert!(!asset.content_type.is_empty());
            if asset.path.ends_with(".wasm") {
                assert_eq!(asset.content_type, "application/wasm");
            }
        }
    }
}
