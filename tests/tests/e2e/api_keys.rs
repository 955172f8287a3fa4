//! API keys: created by a signed-in user, shown once, stored only as a digest; usable as a
//! bearer on REST and WebSocket; scopes enforced on every route; never able to manage keys or
//! second factors; revocation, expiry and a disabled owner stop them at once.

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{Api, Auth, Files, Gatehouse, Sshd, Storage, Terminal};
use wire::auth::{ApiKeyCreated, ApiKeyView};
use wire::users::{UpdateUserRequest, UserView};

use crate::auth::user_request;

async fn create(api: &Api, name: &str, scopes: &[&str]) -> ApiKeyCreated {
    let body = serde_json::json!({"name": name, "scopes": scopes});
    api.post("/api/auth/api-keys", &body)
        .await
        .expect(201)
        .json()
}

fn keyed(gh: &Gatehouse, key: &ApiKeyCreated) -> Api {
    gh.api().with_auth(Auth::Bearer(key.key.clone()))
}

#[tokio::test]
async fn each_scope_opens_only_its_own_routes() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("keyed");
    req.group = Some("ops".into());
    let server = admin.create_server(&req).await;
    admin
        .create_user(&user_request("kim", "kim-password-1", &["ops"]))
        .await;
    let kim = gh.api().login("kim", "kim-password-1").await.bearer;

    let read = create(&kim, "reader", &["read"]).await;
    assert!(read.key.starts_with("ghk_") && read.api_key.prefix.len() == 12);
    assert!(read.key.starts_with(&read.api_key.prefix));
    assert!(
        !gh.storage_contains(read.key.as_bytes()),
        "the key is stored in clear"
    );
    let reader = keyed(&gh, &read);
    assert_eq!(
        reader
            .get("/api/servers")
            .await
            .expect(200)
            .json::<Vec<serde_json::Value>>()
            .len(),
        1
    );
    assert_eq!(reader.me().await.username, "kim");
    reader
        .post("/api/servers", &req)
        .await
        .expect_error(403, "scope_missing");
    let refused = Terminal::connect(&reader, server.id, 80, 24)
        .await
        .err()
        .expect("no terminal");
    assert_eq!(refused.status, 403);
    Files::new(&reader, server.id)
        .ls(None)
        .await
        .expect_error(403, "scope_missing");
    // A key never manages keys, second factors or passwords.
    reader
        .get("/api/auth/api-keys")
        .await
        .expect_error(403, "api_key_not_allowed");
    let body = serde_json::json!({"name": "more", "scopes": ["read"]});
    reader
        .post("/api/auth/api-keys", &body)
        .await
        .expect_error(403, "api_key_not_allowed");
    reader
        .post_empty("/api/auth/totp/setup")
        .await
        .expect_error(403, "api_key_not_allowed");

    let term_key = create(&kim, "shell", &["terminal"]).await;
    let shell = keyed(&gh, &term_key);
    let mut term = Terminal::open(&shell, server.id).await;
    let m = Marker::new("KEYED");
    term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    term.read_until(m.printed.as_bytes()).await;
    term.close().await;
    shell
        .get("/api/servers")
        .await
        .expect_error(403, "scope_missing");

    let files_key = create(&kim, "files", &["files"]).await;
    Files::new(&keyed(&gh, &files_key), server.id)
        .ls(None)
        .await
        .expect(200);

    // Only admins hold admin keys; an admin's read key is no admin.
    let body = serde_json::json!({"name": "power", "scopes": ["admin"]});
    kim.post("/api/auth/api-keys", &body)
        .await
        .expect_error(403, "forbidden");
    let admin_read = keyed(&gh, &create(&admin, "audit", &["read"]).await);
    admin_read
        .get("/api/users")
        .await
        .expect_error(403, "scope_missing");
    let admin_full = keyed(&gh, &create(&admin, "ops", &["read", "admin"]).await);
    admin_full.get("/api/users").await.expect(200);

    // The list shows prefixes and use, never the key.
    let listed = kim.get("/api/auth/api-keys").await.expect(200);
    assert!(!listed.text.contains(&read.key));
    let keys: Vec<ApiKeyView> = listed.json();
    assert_eq!(keys.len(), 3);
    let reader_view = keys
        .iter()
        .find(|k| k.id == read.api_key.id)
        .expect("listed");
    assert!(reader_view.last_used_at.is_some());
    assert_eq!(reader_view.scopes, ["read"]);
}

#[tokio::test]
async fn revoked_and_expired_keys_and_disabled_owners_stop_at_once() {
    let gh = Gatehouse::start_with(Options {
        storage: Storage::Postgres,
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let lee: UserView = admin
        .create_user(&user_request("lee", "lee-password-1", &[]))
        .await;
    let session = gh.api().login("lee", "lee-password-1").await.bearer;
    let first = create(&session, "one", &["read"]).await;
    let second = create(&session, "two", &["read"]).await;
    let third = create(&session, "three", &["read"]).await;
    for key in [&first, &second, &third] {
        keyed(&gh, key).get("/api/servers").await.expect(200);
    }
    // A wrong secret behind a real prefix is just unauthenticated.
    let forged = format!("{}_{}", first.api_key.prefix, "A".repeat(43));
    gh.api()
        .with_auth(Auth::Bearer(forged))
        .get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");

    session
        .delete(&format!("/api/auth/api-keys/{}", first.api_key.id))
        .await
        .expect(204);
    keyed(&gh, &first)
        .get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");

    gh.psql(&format!(
        "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE id = {}",
        second.api_key.id
    ));
    keyed(&gh, &second)
        .get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");

    let disable = UpdateUserRequest {
        disabled: Some(true),
        ..Default::default()
    };
    admin
        .put(&format!("/api/users/{}", lee.id), &disable)
        .await
        .expect(200);
    keyed(&gh, &third)
        .get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");

    // Bad requests get clear answers.
    let body = serde_json::json!({"name": "x", "scopes": ["everything"]});
    admin
        .post("/api/auth/api-keys", &body)
        .await
        .expect_error(400, "validation_failed");
    let body = serde_json::json!({"name": "", "scopes": ["read"]});
    admin
        .post("/api/auth/api-keys", &body)
        .await
        .expect_error(400, "validation_failed");
    let body = serde_json::json!({"name": "x", "scopes": ["read"], "expires_in_days": 0});
    admin
        .post("/api/auth/api-keys", &body)
        .await
        .expect_error(400, "validation_failed");
}
