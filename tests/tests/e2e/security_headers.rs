//! Security headers on every kind of answer: the UI page, the JSON API (also its
//! errors) and health; HSTS only on a gateway declared to be served over HTTPS. (The browser
//! tests run the whole UI under this policy: a violation is a console error there.)

use gatehouse_tests::{Gatehouse, Response};

fn header<'a>(resp: &'a Response, name: &str) -> &'a str {
    resp.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_hsts_only_over_https() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let anon = gh.api();
    let answers = [
        anon.get("/").await.expect(200),
        anon.get("/api/health").await.expect(200),
        anon.get("/api/servers").await.expect(401),
        admin.get("/api/users").await.expect(200),
        admin.get("/api/no-such-route").await.expect(404),
    ];
    for resp in &answers {
        let csp = header(resp, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{directive} missing: {csp:?}");
        }
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"));
        assert_eq!(header(resp, "x-content-type-options"), "nosniff");
        assert_eq!(header(resp, "x-frame-options"), "DENY");
        assert_eq!(header(resp, "referrer-policy"), "no-referrer");
        assert_eq!(header(resp, "cross-origin-opener-policy"), "same-origin");
        assert!(header(resp, "permissions-policy").contains("camera=()"));
        assert_eq!(header(resp, "strict-transport-security"), "");
    }
    // The API docs page keeps its own, stricter policy (no WebAssembly there).
    let docs = anon.get("/api/docs").await.expect(200);
    assert!(
        !header(&docs, "content-security-policy").contains("wasm-unsafe-eval"),
        "{:?}",
        docs.headers
    );

    let https = Gatehouse::start_env(&[("GATEHOUSE_COOKIE_SECURE", "true")]).await;
    let resp = https.api().get("/api/health").await.expect(200);
    assert!(
        header(&resp, "strict-transport-security").starts_with("max-age=63072000"),
        "{:?}",
        resp.headers
    );
}
