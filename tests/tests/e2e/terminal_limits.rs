//! Who may reattach, and what ends a live session besides its shell: only the owner attaches
//! (and only while they may still use the server), a per-user cap refuses one more before the
//! upgrade, and an idle session is ended with a message in the terminal.

use std::time::Duration;

use gatehouse_tests::terminal::{Closed, Marker};
use gatehouse_tests::Terminal;
use tokio::time::sleep;
use wire::terminal::{codes, Limits};
use wire::users::UpdateUserRequest;

use crate::auth::user_request;
use crate::ssh_pool::shell_pid;
use crate::terminal_sessions::{sessions, wait_for_exit, wait_until_gone, Rig};

#[tokio::test]
async fn only_the_owner_may_reattach_and_only_while_they_may_use_the_server() {
    let rig = Rig::with(&[]).await;
    let olga_user = rig
        .admin
        .create_user(&user_request("olga", "olga-password-1", &["ops"]))
        .await;
    let olga = rig.gh.api().login("olga", "olga-password-1").await.bearer;

    // Someone else's session does not exist, as far as olga can tell.
    let admins = Terminal::open(&rig.admin, rig.server.id).await;
    let admins_id = admins.session_id().to_owned();
    admins.detach().await;
    let refused = Terminal::attach(&olga, &admins_id, "")
        .await
        .err()
        .expect("not hers");
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(refused.code().as_deref(), Some(codes::SESSION_NOT_FOUND));
    olga.delete(&format!("/api/terminal/sessions/{admins_id}"))
        .await
        .expect_error(404, codes::SESSION_NOT_FOUND);
    assert!(sessions(&olga).await.is_empty());
    assert_eq!(sessions(&rig.admin).await.len(), 1, "and it lives on");

    // Olga's own session, until her access to the server is taken away.
    let mut hers = Terminal::open(&olga, rig.server.id).await;
    let id = hers.session_id().to_owned();
    let pid = shell_pid(&mut hers).await;
    hers.drop_connection();
    let refused = Terminal::attach(&rig.admin, &id, "")
        .await
        .err()
        .expect("not the admin's");
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(sessions(&olga).await.len(), 1);

    let revoke = UpdateUserRequest {
        allowed_groups: Some(vec!["elsewhere".into()]),
        ..Default::default()
    };
    rig.admin
        .put(&format!("/api/users/{}", olga_user.id), &revoke)
        .await
        .expect(200);
    assert!(sessions(&olga).await.is_empty(), "not listed any more");
    let refused = Terminal::attach(&olga, &id, "")
        .await
        .err()
        .expect("access is gone");
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(refused.code().as_deref(), Some(codes::SESSION_NOT_FOUND));
    // A session its owner can no longer use is ended, not left to run out its grace period.
    wait_for_exit(pid).await;
}

#[tokio::test]
async fn one_session_over_the_per_user_cap_is_refused_before_the_upgrade() {
    let rig = Rig::with(&[("GATEHOUSE_TERMINAL_MAX_SESSIONS_PER_USER", "2")]).await;
    let first = Terminal::open(&rig.admin, rig.server.id).await;
    let second = Terminal::open(&rig.admin, rig.server.id).await;
    // Detached sessions count too.
    second.detach().await;

    let refused = Terminal::connect(&rig.admin, rig.server.id, 80, 24)
        .await
        .err()
        .expect("over the cap");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.code().as_deref(), Some(codes::TOO_MANY_SESSIONS));
    // What a browser, which sees no status on a refused upgrade, asks to explain it.
    let limits: Limits = rig
        .admin
        .get("/api/terminal/limits")
        .await
        .expect(200)
        .json();
    assert_eq!(limits.max_sessions_per_user, 2);
    assert_eq!(limits.detach_grace_secs, 300);

    // Another user has a cap of their own.
    rig.admin
        .create_user(&user_request("uma", "uma-password-1", &["ops"]))
        .await;
    let uma = rig.gh.api().login("uma", "uma-password-1").await.bearer;
    Terminal::open(&uma, rig.server.id).await.close().await;

    // Ending one makes room.
    let id = first.session_id().to_owned();
    first.close().await;
    wait_until_gone(&rig.admin, &id).await;
    let mut third = Terminal::open(&rig.admin, rig.server.id).await;
    let marker = Marker::new("THIRD");
    third.send_line(&format!("echo {}", marker.shell)).await;
    third.read_until(marker.printed.as_bytes()).await;
}

#[tokio::test]
async fn an_idle_session_is_ended_with_an_idle_timeout_error_in_the_terminal() {
    let rig = Rig::with(&[("GATEHOUSE_TERMINAL_IDLE_TIMEOUT_SECS", "2")]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();

    // Typing (and its echo) keeps it alive past the timeout.
    for i in 0..4 {
        let marker = Marker::new(&format!("BUSY{i}"));
        term.send_line(&format!("echo {}", marker.shell)).await;
        term.read_until(marker.printed.as_bytes()).await;
        sleep(Duration::from_millis(900)).await;
    }
    assert!(term.closed().is_none(), "{:?}", term.closed());

    // Then nothing happens for two seconds.
    let (code, message) = term.expect_error().await;
    assert_eq!(code, codes::IDLE_TIMEOUT, "{message}");
    assert!(message.contains("without input or output"), "{message}");
    assert!(matches!(term.wait_closed().await, Closed::Clean(_)));
    wait_until_gone(&rig.admin, &id).await;
}
