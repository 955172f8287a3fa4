//! `GATEHOUSE_ROOT_PATH`: behind a reverse proxy at a sub-path, everything — REST, WebSockets,
//! health, the UI — answers below the prefix and nothing outside it; cookies, share links and
//! the page's `<base>` name the prefix.

use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{contains, Api, Gatehouse, Sshd, Terminal, ADMIN_PASSWORD};
use wire::terminal::ShareCreated;

async fn start() -> Gatehouse {
    Gatehouse::start_env(&[("GATEHOUSE_ROOT_PATH", "/gh")]).await
}

#[tokio::test]
async fn rest_and_health_answer_below_the_root_path_and_nowhere_else() {
    let gh = start().await;
    let api = gh.api();
    assert_eq!(api.base_url(), format!("{}/gh", gh.base_url()));
    api.get("/api/health").await.expect(200);
    assert_eq!(api.get("/healthz").await.expect(200).text, "ok");
    api.get("/readyz").await.expect(200);
    let admin = gh.admin().await;
    admin.get("/api/servers").await.expect(200);
    // Metrics label requests by route pattern, the same with or without a root path.
    let metrics = admin.get("/metrics").await.expect(200).text;
    assert!(metrics.contains(r#"route="/api/servers""#), "{metrics}");
    // The API document names the prefix as its server, so its paths resolve below it.
    let doc = api.get("/api/openapi.json").await.expect(200).body;
    assert_eq!(doc["servers"][0]["url"], "/gh");
    assert!(doc["paths"]["/api/servers"].is_object());
    // Unknown API paths below the prefix still answer in the API's error format.
    api.get("/api/no-such-thing")
        .await
        .expect_error(404, "not_found");

    let outside = Api::new(&gh.base_url());
    for path in [
        "/api/health",
        "/healthz",
        "/",
        "/ghx/api/health",
        "/assets/x.js",
    ] {
        outside.get(path).await.expect(404);
    }
}

#[tokio::test]
async fn the_ui_is_served_below_the_root_path_with_its_base_naming_it() {
    let gh = start().await;
    let api = gh.api();
    for path in ["/", "/servers/3"] {
        let page = api.get(path).await.expect(200);
        assert!(
            page.text.contains(r#"<base href="/gh/">"#),
            "{path}: {}",
            page.text
        );
    }
    // The bare prefix redirects to its slash form, where the UI's relative URLs resolve.
    let bare = Api::new(&gh.base_url()).get("/gh").await.expect(308);
    assert_eq!(bare.headers["location"], "/gh/");
}

#[tokio::test]
async fn sign_in_sets_a_cookie_scoped_to_the_root_path_and_it_works() {
    let gh = start().await;
    let resp = gh
        .api()
        .login_raw("admin", ADMIN_PASSWORD)
        .await
        .expect(200);
    let set_cookie = resp.set_cookie_header().expect("a session cookie");
    assert!(set_cookie.contains("; Path=/gh;"), "{set_cookie}");

    // A cookie session's writes pass the Origin check: the origin has no path.
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    session.cookie.me().await;
    session
        .cookie
        .post_empty("/api/auth/logout")
        .await
        .expect(204);
}

#[tokio::test]
async fn a_terminal_and_its_share_link_work_below_the_root_path() {
    let sshd = Sshd::start();
    let gh = start().await;
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    let server = session
        .bearer
        .create_server(&sshd.password_server("box"))
        .await;

    // The browser's way in: cookie plus Origin on the upgrade.
    let mut term = Terminal::open(&session.cookie, server.id).await;
    let session_id = term.session_id().to_owned();
    let marker = Marker::new("ROOT");
    term.send_line(&format!("printf '%s\\n' {}", marker.shell))
        .await;
    let out = term.read_until(marker.printed.as_bytes()).await;
    assert!(contains(&out, marker.printed.as_bytes()));

    let created: ShareCreated = session
        .bearer
        .post(
            &format!("/api/terminal/share/{session_id}"),
            &serde_json::json!({"mode": "ro"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(created.url, format!("/gh/#/join/{}", created.token));
    term.close().await;
    drop(gh);
}

#[tokio::test]
async fn a_bad_root_path_stops_the_start() {
    let gh = Gatehouse::start().await;
    for (bad, why) in [
        ("gatehouse", "must start with `/`"),
        ("/a/../b", "`..`"),
        ("/a?x=1", "query"),
    ] {
        let out = gh
            .command("serve")
            .env("GATEHOUSE_ROOT_PATH", bad)
            .output()
            .expect("run gatehouse serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad}: it started: {stderr}");
        assert!(
            stderr.contains("invalid root_path") && stderr.contains(why),
            "{bad}: {stderr}"
        );
    }
}
