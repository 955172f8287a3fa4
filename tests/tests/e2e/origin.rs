//! Cookie-authenticated requests that change state, and WebSocket upgrades, must come from the
//! gateway's own origin; bearer clients send no Origin and need none.

use gatehouse_tests::{Gatehouse, Sshd, Terminal, ADMIN_PASSWORD};

const FOREIGN: &str = "http://evil.example";

#[tokio::test]
async fn cookie_requests_that_change_state_need_the_gateways_own_origin() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    let req = sshd.password_server("origin-test");
    let other_port = format!("http://127.0.0.1:{}", gh.port() + 1);

    for origin in [None, Some(FOREIGN), Some(other_port.as_str()), Some("null")] {
        let client = session.cookie.with_origin(origin);
        client
            .post("/api/servers", &req)
            .await
            .expect_error(403, "origin_mismatch");
        client
            .post_empty("/api/auth/logout")
            .await
            .expect_error(403, "origin_mismatch");
    }
    assert!(
        session.bearer.servers().await.is_empty(),
        "refused requests changed nothing"
    );
    assert_eq!(
        session.cookie.me().await.username,
        "admin",
        "a refused logout did not end the session"
    );

    // Reads need no Origin; the gateway's own origin may change state.
    session
        .cookie
        .with_origin(None)
        .get("/api/servers")
        .await
        .expect(200);
    let created = session.cookie.create_server(&req).await;
    session
        .cookie
        .delete(&format!("/api/servers/{}", created.id))
        .await
        .expect(204);

    // A bearer client sends no Origin at all and is allowed.
    session.bearer.create_server(&req).await;
}

#[tokio::test]
async fn cookie_websocket_upgrades_need_the_gateways_own_origin() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    let server = session
        .bearer
        .create_server(&sshd.password_server("ws-origin"))
        .await;

    for origin in [None, Some(FOREIGN)] {
        let refused = Terminal::connect(&session.cookie.with_origin(origin), server.id, 80, 24)
            .await
            .err()
            .unwrap_or_else(|| panic!("upgrade with Origin {origin:?} must be refused"));
        assert_eq!(refused.status, 403, "{}", refused.body);
        if !refused.body.is_empty() {
            assert_eq!(refused.code().as_deref(), Some("origin_mismatch"));
        }
    }

    // The browser's own origin works, and so does a bearer client without one.
    let mut term = Terminal::open(&session.cookie, server.id).await;
    let marker = gatehouse_tests::terminal::Marker::new("COOKIE");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
    Terminal::open(&session.bearer, server.id).await;
}
