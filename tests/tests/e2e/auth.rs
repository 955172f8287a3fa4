//! Sign-in, sessions, sign-out and password changes (on SQLite and on PostgreSQL).

use gatehouse_tests::api::SESSION_COOKIE;
use gatehouse_tests::{Api, Auth, Gatehouse, Storage, ADMIN_PASSWORD};
use wire::auth::{ChangePasswordRequest, LoginResponse};
use wire::users::{CreateUserRequest, Role};

on_every_storage!(
    login_returns_a_token_and_a_strict_httponly_session_cookie,
    a_wrong_password_and_an_unknown_user_get_the_same_401,
    requests_without_a_valid_session_are_unauthenticated,
    logout_ends_the_session_for_cookie_and_bearer_alike,
    a_password_change_ends_the_users_other_sessions,
    a_password_change_needs_the_current_password_and_a_strong_new_one,
);

pub fn user_request(username: &str, password: &str, groups: &[&str]) -> CreateUserRequest {
    CreateUserRequest {
        username: username.into(),
        password: password.into(),
        role: Role::User,
        allowed_groups: groups.iter().map(|g| g.to_string()).collect(),
        must_change_password: false,
    }
}

async fn login_returns_a_token_and_a_strict_httponly_session_cookie(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let resp = gh
        .api()
        .login_raw("admin", ADMIN_PASSWORD)
        .await
        .expect(200);
    let login: LoginResponse = resp.json();
    assert!(!login.token.is_empty());
    assert!(!login.must_change_password);
    assert_eq!(login.user.username, "admin");
    assert_eq!(login.user.role, Role::Admin);
    assert!(login.user.is_admin);

    let set_cookie = resp
        .set_cookie_header()
        .expect("login sets the session cookie");
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["httponly", "samesite=strict", "path=/"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "the session cookie lacks `{wanted}`: {set_cookie}"
        );
    }
    // Both credentials reach the same session.
    let bearer = gh.api().with_auth(Auth::Bearer(login.token.clone()));
    let cookie = gh.api().with_auth(Auth::Cookie {
        value: resp.session_cookie().unwrap(),
        origin: None,
    });
    assert_eq!(bearer.me().await.username, "admin");
    assert_eq!(cookie.me().await.username, "admin");
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_401(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let api = gh.api();
    let wrong = api
        .login_raw("admin", "not-the-admin-password")
        .await
        .expect_error(401, "invalid_credentials");
    let unknown = api
        .login_raw("no-such-user", "not-the-admin-password")
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(
        wrong.body, unknown.body,
        "the answer must not tell which part was wrong"
    );
    assert!(wrong.set_cookie_header().is_none());
    assert!(unknown.set_cookie_header().is_none());
}

async fn requests_without_a_valid_session_are_unauthenticated(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let api = gh.api();
    api.get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    api.get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");
    api.with_auth(Auth::Bearer("forged-token".into()))
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    api.with_auth(Auth::Cookie {
        value: format!("{SESSION_COOKIE}=forged"),
        origin: None,
    })
    .get("/api/auth/me")
    .await
    .expect_error(401, "unauthenticated");
}

async fn logout_ends_the_session_for_cookie_and_bearer_alike(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let api = gh.api();
    let bystander = api.login("admin", ADMIN_PASSWORD).await;

    // Sign out with the cookie: the bearer token of the same session dies too.
    let first = api.login("admin", ADMIN_PASSWORD).await;
    first
        .cookie
        .post_empty("/api/auth/logout")
        .await
        .expect(204);
    first
        .cookie
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    first
        .bearer
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");

    // Sign out with the bearer token: the cookie dies too.
    let second = api.login("admin", ADMIN_PASSWORD).await;
    second
        .bearer
        .post_empty("/api/auth/logout")
        .await
        .expect(204);
    second
        .bearer
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    second
        .cookie
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");

    // Other sessions of the same user are untouched.
    assert_eq!(bystander.bearer.me().await.username, "admin");
}

async fn a_password_change_ends_the_users_other_sessions(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("alice", "alice-first-password", &[]))
        .await;
    let api = gh.api();
    let here = api.login("alice", "alice-first-password").await;
    let elsewhere = api.login("alice", "alice-first-password").await;

    here.bearer
        .post(
            "/api/auth/change-password",
            &ChangePasswordRequest {
                current_password: "alice-first-password".into(),
                new_password: "alice-second-password".into(),
            },
        )
        .await
        .expect(204);

    assert_eq!(
        here.bearer.me().await.username,
        "alice",
        "the session that changed the password stays signed in"
    );
    elsewhere
        .bearer
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    elsewhere
        .cookie
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    api.login_raw("alice", "alice-first-password")
        .await
        .expect_error(401, "invalid_credentials");
    api.login("alice", "alice-second-password").await;
    assert_eq!(
        admin.me().await.username,
        "admin",
        "other users keep their sessions"
    );
}

async fn a_password_change_needs_the_current_password_and_a_strong_new_one(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let api: Api = gh.api();
    let session = api.login("admin", ADMIN_PASSWORD).await;
    session
        .bearer
        .post(
            "/api/auth/change-password",
            &ChangePasswordRequest {
                current_password: "not-the-current-password".into(),
                new_password: "a-perfectly-long-password".into(),
            },
        )
        .await
        .expect_error(401, "invalid_credentials");
    let too_short = "x".repeat(wire::auth::MIN_PASSWORD_LEN - 1);
    session
        .bearer
        .post(
            "/api/auth/change-password",
            &ChangePasswordRequest {
                current_password: ADMIN_PASSWORD.into(),
                new_password: too_short,
            },
        )
        .await
        .expect_error(400, "weak_password");
    // Neither attempt changed anything.
    api.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(session.bearer.me().await.username, "admin");
}
