//! The server registry: CRUD for admins, visibility by group for everyone else, and credentials
//! that never leave the gateway — not in answers, not in plaintext in the database.

use gatehouse_tests::sshd::{test_user, KEY_PASSPHRASE};
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{Gatehouse, Sshd, Storage, Terminal};
use reqwest::Method;
use wire::servers::{AuthMethod, ServerRequest, ServerView};

use crate::auth::user_request;

on_every_storage!(
    server_crud_never_returns_secrets_nor_stores_them_in_plaintext,
    updating_a_server_without_secrets_keeps_the_stored_ones,
    invalid_server_bodies_are_rejected_with_400,
    non_admins_see_and_open_only_servers_in_their_allowed_groups,
);

const SSH_PASSWORD: &str = "Plaintext-Canary-SSH-Password-7f3a9c";
const SSH_PASSWORD_2: &str = "Second-Canary-SSH-Password-51d0e2";

fn request(name: &str) -> ServerRequest {
    ServerRequest {
        name: name.into(),
        hostname: "127.0.0.1".into(),
        port: 2222,
        username: "deploy".into(),
        auth_method: AuthMethod::Password,
        password: Some(SSH_PASSWORD.into()),
        private_key: None,
        passphrase: None,
        group: Some("web".into()),
        tags: vec!["prod".into(), "eu".into()],
        description: "front-end box".into(),
        jump_via_id: None,
        ssh_enabled: None,
        sftp_enabled: None,
        sftp_read_only: None,
        sftp_allowed_paths: None,
        record_sessions: None,
    }
}

#[track_caller]
fn assert_no_secret_in(text: &str, what: &str) {
    let user = test_user();
    for secret in [
        SSH_PASSWORD,
        SSH_PASSWORD_2,
        KEY_PASSPHRASE,
        user.private_key_body_line(),
        "PRIVATE KEY",
    ] {
        assert!(
            !text.contains(secret),
            "{what} contains a credential ({secret:?}): {text}"
        );
    }
    let body: serde_json::Value = serde_json::from_str(text).expect("a JSON answer");
    let views = match body {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    for view in views {
        for field in ["password", "private_key", "passphrase"] {
            assert!(
                view.get(field).is_none(),
                "{what} has a `{field}` field: {text}"
            );
        }
    }
}

async fn server_crud_never_returns_secrets_nor_stores_them_in_plaintext(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;

    let resp = admin
        .post("/api/servers", &request("web-1"))
        .await
        .expect(201);
    assert_no_secret_in(&resp.text, "the create answer");
    let web: ServerView = resp.json();
    assert_eq!(
        (
            web.name.as_str(),
            web.hostname.as_str(),
            web.port,
            web.username.as_str()
        ),
        ("web-1", "127.0.0.1", 2222, "deploy")
    );
    assert_eq!(web.auth_method, AuthMethod::Password);
    assert!(web.has_password);
    assert!(!web.has_private_key);
    assert_eq!(web.group.as_deref(), Some("web"));
    assert_eq!(web.tags, ["prod", "eu"]);
    assert_eq!(web.description, "front-end box");
    assert_eq!(web.host_key_fingerprint, None);

    let mut key_req = request("db-1");
    key_req.auth_method = AuthMethod::Key;
    key_req.password = None;
    key_req.private_key = Some(test_user().encrypted_private_key.clone());
    key_req.passphrase = Some(KEY_PASSPHRASE.into());
    let resp = admin.post("/api/servers", &key_req).await.expect(201);
    assert_no_secret_in(&resp.text, "the create answer");
    let db: ServerView = resp.json();
    assert_eq!(db.auth_method, AuthMethod::Key);
    assert!(db.has_private_key);

    let list = admin.get("/api/servers").await.expect(200);
    assert_no_secret_in(&list.text, "the server list");
    let listed: Vec<ServerView> = list.json();
    assert_eq!(listed.len(), 2);
    let one = admin
        .get(&format!("/api/servers/{}", web.id))
        .await
        .expect(200);
    assert_no_secret_in(&one.text, "GET /api/servers/{id}");
    assert_eq!(one.json::<ServerView>(), web);

    // Update without secrets: everything else changes, the stored password stays.
    let mut update = request("web-1-renamed");
    update.password = None;
    update.description = "renamed".into();
    let resp = admin
        .put(&format!("/api/servers/{}", web.id), &update)
        .await
        .expect(200);
    assert_no_secret_in(&resp.text, "the update answer");
    let renamed: ServerView = resp.json();
    assert_eq!(renamed.name, "web-1-renamed");
    assert_eq!(renamed.description, "renamed");
    assert!(renamed.has_password);

    // A new password replaces the old one.
    let mut update = request("web-1-renamed");
    update.password = Some(SSH_PASSWORD_2.into());
    admin
        .put(&format!("/api/servers/{}", web.id), &update)
        .await
        .expect(200);

    // What is stored: names in the clear (so the search below can find things at all), and no
    // credential anywhere in the database files.
    assert!(
        gh.storage_contains(b"web-1-renamed"),
        "sanity: the search reads the database"
    );
    let user = test_user();
    for secret in [
        SSH_PASSWORD,
        SSH_PASSWORD_2,
        KEY_PASSPHRASE,
        user.private_key_body_line(),
        user.encrypted_private_key_body_line(),
    ] {
        assert!(
            !gh.storage_contains(secret.as_bytes()),
            "the database holds {secret:?} in plaintext"
        );
    }

    admin
        .delete(&format!("/api/servers/{}", web.id))
        .await
        .expect(204);
    admin
        .get(&format!("/api/servers/{}", web.id))
        .await
        .expect_error(404, "not_found");
    let left: Vec<ServerView> = admin.get("/api/servers").await.expect(200).json();
    assert_eq!(
        left.iter().map(|s| s.id).collect::<Vec<_>>(),
        [db.id],
        "only the deleted server is gone"
    );
}

async fn updating_a_server_without_secrets_keeps_the_stored_ones(storage: Storage) {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    for (i, mut req) in [
        sshd.password_server("by-password"),
        sshd.key_server("by-key"),
    ]
    .into_iter()
    .enumerate()
    {
        let server = admin.create_server(&req).await;
        req.password = None;
        req.private_key = None;
        req.description = format!("edited {i}");
        let edited: ServerView = admin
            .put(&format!("/api/servers/{}", server.id), &req)
            .await
            .expect(200)
            .json();
        assert_eq!(edited.description, format!("edited {i}"));
        assert_eq!(
            (edited.has_password, edited.has_private_key),
            (server.has_password, server.has_private_key)
        );
        // The kept credential still signs in.
        let mut term = Terminal::open(&admin, server.id).await;
        let marker = Marker::new("KEPT");
        term.send_line(&format!("echo {}", marker.shell)).await;
        term.read_until(marker.printed.as_bytes()).await;
    }
}

async fn invalid_server_bodies_are_rejected_with_400(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let valid = serde_json::to_value(request("valid")).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut body = valid.clone();
        body[key] = value;
        body.to_string()
    };
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(key);
        body.to_string()
    };
    let cases = [
        ("not JSON", "{\"name\": ".to_string()),
        ("an array", "[]".to_string()),
        ("no name", without("name")),
        ("no hostname", without("hostname")),
        ("an empty name", with("name", "".into())),
        ("an empty hostname", with("hostname", "".into())),
        ("a port that is text", with("port", "twenty-two".into())),
        ("port 0", with("port", 0.into())),
        ("port 70000", with("port", 70000.into())),
        (
            "an unknown auth method",
            with("auth_method", "telepathy".into()),
        ),
    ];
    for (what, body) in cases {
        let resp = admin.send_raw(Method::POST, "/api/servers", &body).await;
        assert_eq!(resp.status, 400, "{what}: {}", resp.text);
        assert!(
            matches!(resp.code(), Some("invalid_request" | "validation_failed")),
            "{what}: {}",
            resp.text
        );
    }
    assert!(
        admin.servers().await.is_empty(),
        "nothing invalid was stored"
    );
    admin
        .get("/api/servers/999999")
        .await
        .expect_error(404, "not_found");
    admin
        .put("/api/servers/999999", &request("ghost"))
        .await
        .expect_error(404, "not_found");
    admin
        .delete("/api/servers/999999")
        .await
        .expect_error(404, "not_found");
}

async fn non_admins_see_and_open_only_servers_in_their_allowed_groups(storage: Storage) {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let mut web = sshd.password_server("web-1");
    web.group = Some("web".into());
    let mut db = sshd.password_server("db-1");
    db.group = Some("db".into());
    let ungrouped = sshd.password_server("ungrouped");
    let web = admin.create_server(&web).await;
    let db = admin.create_server(&db).await;
    let ungrouped = admin.create_server(&ungrouped).await;
    assert_eq!(admin.servers().await.len(), 3, "admins see every server");

    admin
        .create_user(&user_request("erin", "erin-password-1", &["web"]))
        .await;
    let erin = gh.api().login("erin", "erin-password-1").await.bearer;
    let visible: Vec<String> = erin.servers().await.into_iter().map(|s| s.name).collect();
    assert_eq!(visible, ["web-1"]);
    erin.get(&format!("/api/servers/{}", web.id))
        .await
        .expect(200);
    for hidden in [&db, &ungrouped] {
        erin.get(&format!("/api/servers/{}", hidden.id))
            .await
            .expect_error(404, "not_found");
        let refused = Terminal::connect(&erin, hidden.id, 80, 24)
            .await
            .err()
            .unwrap_or_else(|| panic!("erin must not open a terminal on {}", hidden.name));
        assert!(
            refused.status == 404 || refused.status == 403,
            "{} {}",
            refused.status,
            refused.body
        );
    }

    // Writes are for admins, even on a visible server.
    erin.post("/api/servers", &sshd.password_server("mine"))
        .await
        .expect_error(403, "forbidden");
    erin.put(
        &format!("/api/servers/{}", web.id),
        &sshd.password_server("hijacked"),
    )
    .await
    .expect_error(403, "forbidden");
    erin.delete(&format!("/api/servers/{}", web.id))
        .await
        .expect_error(403, "forbidden");
    erin.delete(&format!("/api/servers/{}/host-key", web.id))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(admin.server(web.id).await.name, "web-1");

    // The visible one opens.
    let mut term = Terminal::open(&erin, web.id).await;
    let marker = Marker::new("ERIN");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
}
