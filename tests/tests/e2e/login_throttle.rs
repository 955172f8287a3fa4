//! Sign-in throttling: an account locks after its failures, whoever tries it and whether or not
//! it exists, with one uniform 429 and `Retry-After`; a locked sign-in is refused even with the
//! right password; other accounts are untouched until the IP's own limit; locks lift with time
//! and an admin's password reset.

use std::time::Duration;

use gatehouse_tests::{Gatehouse, Response, ADMIN_PASSWORD};
use tokio::time::sleep;
use wire::users::{UpdateUserRequest, UserView};

use crate::auth::user_request;

/// The 429 answer, the same whichever key is locked; returns its Retry-After.
fn locked(resp: Response) -> u64 {
    let resp = resp.expect_error(429, "too_many_attempts");
    let error = resp.body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("too many failed sign-in attempts; try again in"),
        "{error}"
    );
    resp.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

#[tokio::test]
async fn an_account_locks_after_five_failures_and_then_refuses_even_the_right_password() {
    let gh = Gatehouse::start_env(&[("GATEHOUSE_LOGIN_LOCKOUT_SECS", "2")]).await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("alice", "alice-password-1", &[]))
        .await;
    let api = gh.api();
    for _ in 0..5 {
        api.login_raw("alice", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    let wait = locked(api.login_raw("alice", "alice-password-1").await);
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    // A name that does not exist locks the same way and answers the same words.
    for _ in 0..5 {
        api.login_raw("nobody-here", "wrong-password")
            .await
            .expect_error(401, "invalid_credentials");
    }
    locked(api.login_raw("nobody-here", "whatever").await);
    // Another account from the same address is not locked by alice's failures.
    api.login("admin", ADMIN_PASSWORD).await;

    sleep(Duration::from_millis(2100)).await;
    api.login("alice", "alice-password-1").await;
}

#[tokio::test]
async fn the_ip_limit_covers_every_username_and_a_password_reset_unlocks_an_account() {
    let gh = Gatehouse::start_env(&[
        ("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP", "8"),
        ("GATEHOUSE_LOGIN_LOCKOUT_SECS", "60"),
    ])
    .await;
    let admin = gh.admin().await;
    let bob: UserView = admin
        .create_user(&user_request("bob", "bob-password-1", &[]))
        .await;
    let api = gh.api();
    for _ in 0..5 {
        api.login_raw("bob", "wrong-password").await.expect(401);
    }
    locked(api.login_raw("bob", "bob-password-1").await);
    let reset = UpdateUserRequest {
        password: Some("bob-password-2".into()),
        ..Default::default()
    };
    admin
        .put(&format!("/api/users/{}", bob.id), &reset)
        .await
        .expect(200);
    api.login("bob", "bob-password-2").await;

    // Three more failures with other names reach the IP's limit of 8: now every name is refused.
    for name in ["carol", "dave", "erin"] {
        api.login_raw(name, "wrong-password").await.expect(401);
    }
    locked(api.login_raw("admin", ADMIN_PASSWORD).await);
}
