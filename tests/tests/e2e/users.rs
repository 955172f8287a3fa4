//! User management is for admins; disabled users are locked out at once.

use gatehouse_tests::{Gatehouse, Storage};
use wire::users::{Role, UpdateUserRequest, UserView};

use crate::auth::user_request;

on_every_storage!(
    only_admins_manage_users,
    admins_create_list_update_and_delete_users,
    a_disabled_user_cannot_sign_in_and_their_sessions_end,
);

async fn only_admins_manage_users(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let admin_id = admin.me().await.id;
    let bob = admin
        .create_user(&user_request("bob", "bob-password-123", &["web"]))
        .await;
    let session = gh.api().login("bob", "bob-password-123").await;
    let api = &session.bearer;

    api.get("/api/users").await.expect_error(403, "forbidden");
    api.post(
        "/api/users",
        &user_request("mallory", "mallory-password", &[]),
    )
    .await
    .expect_error(403, "forbidden");
    api.get(&format!("/api/users/{admin_id}"))
        .await
        .expect_error(403, "forbidden");
    let promote = UpdateUserRequest {
        role: Some(Role::Admin),
        ..Default::default()
    };
    api.put(&format!("/api/users/{}", bob.id), &promote)
        .await
        .expect_error(403, "forbidden");
    api.delete(&format!("/api/users/{admin_id}"))
        .await
        .expect_error(403, "forbidden");
    gh.api().get("/api/users").await.expect(401);

    assert_eq!(
        api.me().await.role,
        Role::User,
        "bob did not promote himself"
    );
    gh.api()
        .login_raw("mallory", "mallory-password")
        .await
        .expect_error(401, "invalid_credentials");
}

async fn admins_create_list_update_and_delete_users(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let created = admin
        .create_user(&user_request("carol", "carol-password-1", &["web"]))
        .await;
    assert_eq!(created.username, "carol");
    assert_eq!(created.role, Role::User);
    assert!(!created.is_admin);
    assert_eq!(created.allowed_groups, vec!["web".to_string()]);
    assert!(!created.disabled);
    assert!(!created.must_change_password);

    let listed: Vec<UserView> = admin.get("/api/users").await.expect(200).json();
    let mut names: Vec<&str> = listed.iter().map(|u| u.username.as_str()).collect();
    names.sort();
    assert_eq!(names, ["admin", "carol"]);
    let fetched: UserView = admin
        .get(&format!("/api/users/{}", created.id))
        .await
        .expect(200)
        .json();
    assert_eq!(fetched, created);
    let listing = admin.get("/api/users").await;
    assert!(
        !listing.text.contains("carol-password-1") && !listing.text.contains("argon2"),
        "user listings show no password or hash: {}",
        listing.text
    );

    let duplicate = admin
        .post(
            "/api/users",
            &user_request("carol", "another-password-9", &[]),
        )
        .await;
    assert!(
        (400..500).contains(&duplicate.status) && duplicate.code().is_some(),
        "a duplicate username is a client error with a code: {} {}",
        duplicate.status,
        duplicate.text
    );
    admin
        .post("/api/users", &user_request("shorty", "short", &[]))
        .await
        .expect(400);

    let updated: UserView = admin
        .put(
            &format!("/api/users/{}", created.id),
            &UpdateUserRequest {
                role: Some(Role::Auditor),
                allowed_groups: Some(vec!["db".into(), "web".into()]),
                ..Default::default()
            },
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated.role, Role::Auditor);
    let mut groups = updated.allowed_groups.clone();
    groups.sort();
    assert_eq!(groups, ["db", "web"]);

    admin
        .put(
            &format!("/api/users/{}", created.id),
            &UpdateUserRequest {
                password: Some("carol-password-2".into()),
                ..Default::default()
            },
        )
        .await
        .expect(200);
    gh.api()
        .login_raw("carol", "carol-password-1")
        .await
        .expect_error(401, "invalid_credentials");
    let carol = gh.api().login("carol", "carol-password-2").await;

    let deleted = admin.delete(&format!("/api/users/{}", created.id)).await;
    assert!(
        deleted.status == 204 || deleted.status == 200,
        "delete user: {} {}",
        deleted.status,
        deleted.text
    );
    admin
        .get(&format!("/api/users/{}", created.id))
        .await
        .expect_error(404, "not_found");
    carol.bearer.get("/api/auth/me").await.expect(401);
    gh.api()
        .login_raw("carol", "carol-password-2")
        .await
        .expect_error(401, "invalid_credentials");
}

async fn a_disabled_user_cannot_sign_in_and_their_sessions_end(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let dave = admin
        .create_user(&user_request("dave", "dave-password-1", &[]))
        .await;
    let session = gh.api().login("dave", "dave-password-1").await;
    session.bearer.me().await;

    let disabled: UserView = admin
        .put(
            &format!("/api/users/{}", dave.id),
            &UpdateUserRequest {
                disabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect(200)
        .json();
    assert!(disabled.disabled);
    session
        .bearer
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    session
        .cookie
        .get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    let refused = gh
        .api()
        .login_raw("dave", "dave-password-1")
        .await
        .expect_error(401, "invalid_credentials");
    let wrong = gh
        .api()
        .login_raw("dave", "not-daves-password")
        .await
        .expect_error(401, "invalid_credentials");
    assert_eq!(
        refused.body, wrong.body,
        "a disabled account looks like a wrong password"
    );

    admin
        .put(
            &format!("/api/users/{}", dave.id),
            &UpdateUserRequest {
                disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect(200);
    gh.api().login("dave", "dave-password-1").await;
}
