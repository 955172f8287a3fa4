//! The security headers on every response. The UI is built for a strict policy: no inline
//! script (the WASM boot script is a file), WebAssembly compiled by the page itself
//! (`'wasm-unsafe-eval'`), every URL relative to the gateway's own origin, WebSockets included
//! (`connect-src 'self'` covers `ws:`/`wss:` to the same host). Styles allow `'unsafe-inline'`
//! because xterm.js, CodeMirror and asciinema-player set element styles at run time; no script
//! can be injected through a style attribute. A route that needs another policy sets its own
//! (the API docs page does), which these layers then leave alone.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
    connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

/// Two years, the preload lists' minimum; sent only when the gateway is declared to be served
/// over HTTPS (`cookie_secure = true`), since a browser ignores it over plain HTTP anyway and a
/// mistaken one would lock users out of an HTTP-only test gateway.
const HSTS: &str = "max-age=63072000; includeSubDomains";

pub fn headers(router: Router<AppState>, https: bool) -> Router<AppState> {
    let fixed: [(HeaderName, &'static str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
    ];
    let mut router = router;
    for (name, value) in fixed {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    if https {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ));
    }
    router
}
