//! The first start without `GATEHOUSE_ADMIN_PASSWORD`: a generated admin password, printed once,
//! that must be changed before anything but the session routes works.

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::{Gatehouse, Sshd, Terminal};
use wire::auth::ChangePasswordRequest;

#[tokio::test]
async fn the_initial_admin_password_is_printed_once_and_must_be_changed_before_anything_else() {
    let sshd = Sshd::start();
    let mut gh = Gatehouse::start_with(Options {
        admin_password: None,
        ..Options::default()
    })
    .await;
    assert_eq!(gh.initial_admin_password_lines(), 1, "printed exactly once");
    let password = gh
        .initial_admin_password()
        .expect("an `initial admin password: …` line");
    assert!(password.len() >= wire::auth::MIN_PASSWORD_LEN);

    let session = gh.api().login("admin", &password).await;
    assert!(session.login.must_change_password);
    assert!(session.login.user.must_change_password);
    let api = &session.bearer;
    assert!(api.me().await.must_change_password);

    // Everything but me / logout / change-password is refused while the change is pending.
    api.get("/api/servers")
        .await
        .expect_error(403, "password_change_required");
    api.get("/api/users")
        .await
        .expect_error(403, "password_change_required");
    api.post("/api/servers", &sshd.password_server("blocked"))
        .await
        .expect_error(403, "password_change_required");
    session
        .cookie
        .get("/api/servers")
        .await
        .expect_error(403, "password_change_required");
    for client in [&session.bearer, &session.cookie] {
        let refused = Terminal::connect(client, 1, 80, 24)
            .await
            .err()
            .expect("the terminal upgrade is refused while a password change is pending");
        assert_eq!(refused.status, 403, "{}", refused.body);
    }

    // Signing out still works while the change is pending.
    let other = gh.api().login("admin", &password).await;
    other
        .bearer
        .post_empty("/api/auth/logout")
        .await
        .expect(204);
    other.bearer.get("/api/auth/me").await.expect(401);

    // A restart neither prints a new password nor forgets the pending change.
    gh.restart().await;
    assert_eq!(gh.initial_admin_password_lines(), 1, "not printed again");
    let session = gh.api().login("admin", &password).await;
    assert!(session.login.must_change_password);

    session
        .bearer
        .post(
            "/api/auth/change-password",
            &ChangePasswordRequest {
                current_password: password.clone(),
                new_password: "the-admins-own-password".into(),
            },
        )
        .await
        .expect(204);
    let api = &session.bearer;
    assert!(!api.me().await.must_change_password);
    let server = api
        .create_server(&sshd.password_server("now-allowed"))
        .await;
    api.get("/api/users").await.expect(200);
    Terminal::open(api, server.id).await;

    let again = gh.api().login("admin", "the-admins-own-password").await;
    assert!(!again.login.must_change_password);
    gh.api()
        .login_raw("admin", &password)
        .await
        .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn a_user_created_with_a_forced_change_is_held_to_it() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = crate::auth::user_request("frank", "frank-temporary-pw", &[]);
    req.must_change_password = true;
    admin.create_user(&req).await;
    let frank = gh.api().login("frank", "frank-temporary-pw").await;
    assert!(frank.login.must_change_password);
    frank
        .bearer
        .get("/api/servers")
        .await
        .expect_error(403, "password_change_required");
    frank
        .bearer
        .post(
            "/api/auth/change-password",
            &ChangePasswordRequest {
                current_password: "frank-temporary-pw".into(),
                new_password: "frank-chosen-password".into(),
            },
        )
        .await
        .expect(204);
    frank.bearer.get("/api/servers").await.expect(200);
}
