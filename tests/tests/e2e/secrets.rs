//! No credential or token ever reaches the gateway's own output.

use gatehouse_tests::sshd::{test_user, KEY_PASSPHRASE, TEST_PASSWORD};
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{Gatehouse, Sshd, Terminal, ADMIN_PASSWORD};

use crate::auth::user_request;

#[tokio::test]
async fn logs_never_contain_credentials_or_tokens() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    let admin = &session.bearer;
    gh.api()
        .login_raw("admin", "Typo-In-The-Admin-Password-77")
        .await
        .expect(401);
    admin
        .create_user(&user_request("gina", "Ginas-Secret-Password-31", &[]))
        .await;
    gh.api().login("gina", "Ginas-Secret-Password-31").await;

    let by_password = admin.create_server(&sshd.password_server("pw")).await;
    let mut by_key = sshd.key_server("key");
    by_key.private_key = Some(test_user().encrypted_private_key.clone());
    by_key.passphrase = Some(KEY_PASSPHRASE.into());
    let by_key = admin.create_server(&by_key).await;
    for id in [by_password.id, by_key.id] {
        let mut term = Terminal::open(admin, id).await;
        let marker = Marker::new("LOGGED");
        term.send_line(&format!("echo {}", marker.shell)).await;
        term.read_until(marker.printed.as_bytes()).await;
    }
    session
        .cookie
        .post_empty("/api/auth/logout")
        .await
        .expect(204);

    let log = gh.log();
    assert!(log.contains("listening on"), "sanity: the log is read");
    let cookie = session.cookie.auth_headers(false)[0].1.clone();
    let cookie_value = cookie.split_once('=').map(|(_, v)| v).unwrap_or(&cookie);
    for (what, secret) in [
        ("the admin password", ADMIN_PASSWORD),
        ("a mistyped password", "Typo-In-The-Admin-Password-77"),
        ("a user's password", "Ginas-Secret-Password-31"),
        ("an SSH password", TEST_PASSWORD),
        ("a key passphrase", KEY_PASSPHRASE),
        (
            "a private key",
            test_user().encrypted_private_key_body_line(),
        ),
        ("the session token", session.login.token.as_str()),
        ("the session cookie", cookie_value),
    ] {
        assert!(
            !log.contains(secret),
            "the log contains {what}:\n{}",
            gatehouse_tests::tail(&log, 4000)
        );
    }
}
