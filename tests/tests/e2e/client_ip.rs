//! The client's address: `X-Forwarded-For` counts only from a trusted proxy, both in the audit
//! log and for the per-IP sign-in throttle, which an untrusted client therefore cannot dodge.

use gatehouse_tests::{Api, Gatehouse, ADMIN_PASSWORD};
use reqwest::Method;
use wire::audit::AuditPage;

/// A sign-in attempt claiming to come from `forwarded`; the status.
async fn login_from(api: &Api, forwarded: &str, user: &str, password: &str) -> u16 {
    let body = serde_json::json!({"username": user, "password": password});
    api.request(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", forwarded)
        .json(&body)
        .send()
        .await
        .expect("login request")
        .status()
        .as_u16()
}

async fn last_login_ip(gh: &Gatehouse) -> Option<String> {
    let admin = gh.admin().await;
    let page: AuditPage = admin
        .get("/api/audit?action=auth.login&limit=2")
        .await
        .expect(200)
        .json();
    // The newest row is the admin() sign-in above; the one before it is the test's.
    page.entries.get(1).and_then(|e| e.client_ip.clone())
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_change_nothing() {
    let gh = Gatehouse::start_env(&[("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    let api = gh.api();
    assert_eq!(
        login_from(&api, "198.51.100.7", "admin", ADMIN_PASSWORD).await,
        200
    );
    assert_eq!(last_login_ip(&gh).await.as_deref(), Some("127.0.0.1"));
    // Three failures, each claiming another address, still lock this one client.
    for (n, name) in ["x", "y", "z"].iter().enumerate() {
        assert_eq!(
            login_from(&api, &format!("203.0.113.{n}"), name, "wrong").await,
            401
        );
    }
    assert_eq!(
        login_from(&api, "203.0.113.99", "admin", ADMIN_PASSWORD).await,
        429
    );
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_for_the_audit_log_and_the_throttle() {
    let gh = Gatehouse::start_env(&[
        ("GATEHOUSE_TRUSTED_PROXIES", "[\"127.0.0.0/8\"]"),
        ("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP", "3"),
    ])
    .await;
    let api = gh.api();
    // A forged left-most entry is skipped: the proxy appended the address it saw.
    assert_eq!(
        login_from(&api, "6.6.6.6, 198.51.100.7", "admin", ADMIN_PASSWORD).await,
        200
    );
    assert_eq!(last_login_ip(&gh).await.as_deref(), Some("198.51.100.7"));
    for name in ["x", "y", "z"] {
        assert_eq!(login_from(&api, "203.0.113.1", name, "wrong").await, 401);
    }
    // That client is locked; another one behind the same proxy is not.
    assert_eq!(
        login_from(&api, "203.0.113.1", "admin", ADMIN_PASSWORD).await,
        429
    );
    assert_eq!(
        login_from(&api, "203.0.113.2", "admin", ADMIN_PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn a_bad_trusted_proxy_entry_stops_the_start() {
    let gh = Gatehouse::start().await;
    let out = gh
        .command("serve")
        .env("GATEHOUSE_TRUSTED_PROXIES", "[\"proxy.internal\"]")
        .output()
        .expect("run gatehouse serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {stderr}");
    assert!(
        stderr.contains("\"proxy.internal\" is not an IP address or network"),
        "{stderr}"
    );
}
