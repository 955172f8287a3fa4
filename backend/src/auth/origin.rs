//! Cross-site request checks for cookie-authenticated requests. SameSite=Strict already keeps the
//! cookie off cross-site requests in modern browsers; checking `Origin` on every state change and
//! WebSocket upgrade also covers older browsers and same-site subdomains.

use axum::http::{header, request::Parts, Method};

/// Does this request need an Origin check (if it is authenticated by cookie)?
pub fn needs_check(parts: &Parts) -> bool {
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    unsafe_method || is_websocket_upgrade(parts)
}

pub fn is_websocket_upgrade(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The Origin must name this gateway as the client reached it (the Host header), over http or
/// https, or be one of the configured extra origins. A missing Origin is refused.
pub fn is_allowed(parts: &Parts, extra_origins: &[String]) -> bool {
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if extra_origins
        .iter()
        .any(|o| o.trim_end_matches('/') == origin)
    {
        return true;
    }
    let Some(host) = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let own = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    own.is_some_and(|o| o.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(method: Method, origin: Option<&str>) -> Parts {
        let mut b = Request::builder()
            .method(method)
            .uri("/api/servers")
            .header("host", "gw.example:8443");
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn own_origin_passes_and_others_do_not() {
        assert!(is_allowed(
            &parts(Method::POST, Some("https://gw.example:8443")),
            &[]
        ));
        assert!(is_allowed(
            &parts(Method::POST, Some("http://gw.example:8443")),
            &[]
        ));
        assert!(!is_allowed(
            &parts(Method::POST, Some("https://evil.example")),
            &[]
        ));
        assert!(!is_allowed(
            &parts(Method::POST, Some("https://gw.example:8443.evil")),
            &[]
        ));
        assert!(!is_allowed(&parts(Method::POST, None), &[]));
        assert!(is_allowed(
            &parts(Method::POST, Some("https://proxy.example")),
            &["https://proxy.example/".to_string()]
        ));
    }

    #[test]
    fn reads_need_no_check_but_writes_do() {
        assert!(!needs_check(&parts(Method::GET, None)));
        assert!(needs_check(&parts(Method::DELETE, None)));
    }
}
