//! SSH failures after the upgrade arrive as one error frame with a code, then a clean close; host
//! keys are pinned on first use and a changed key is refused until an admin clears the pin.

use gatehouse_tests::terminal::{Closed, Marker};
use gatehouse_tests::{free_port, Gatehouse, Sshd, Terminal};
use wire::terminal::codes;

use crate::auth::user_request;

/// Expect one error frame with `code`, then a clean close and no terminal bytes; returns the
/// frame's message.
pub async fn expect_failure(term: &mut Terminal, code: &str) -> String {
    let (got, message) = term.expect_error().await;
    assert_eq!(got, code, "error frame: {message}");
    assert!(!message.is_empty(), "the error frame explains itself");
    assert!(
        matches!(term.wait_closed().await, Closed::Clean(_)),
        "{:?}",
        term.closed()
    );
    assert!(
        term.pending_output().is_empty(),
        "no terminal bytes on a failed connection"
    );
    message
}

#[tokio::test]
async fn the_first_connection_pins_the_host_key() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("tofu")).await;
    assert_eq!(server.host_key_fingerprint, None);
    let mut term = Terminal::open(&admin, server.id).await;
    let marker = Marker::new("PIN");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(sshd.host_key_fingerprint())
    );
}

#[tokio::test]
async fn a_changed_host_key_is_refused_with_both_fingerprints_until_an_admin_clears_the_pin() {
    let mut sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("reimaged");
    req.group = Some("ops".into());
    let server = admin.create_server(&req).await;
    Terminal::open(&admin, server.id).await.close().await;
    let pinned = sshd.host_key_fingerprint();
    assert_eq!(
        admin
            .server(server.id)
            .await
            .host_key_fingerprint
            .as_deref(),
        Some(pinned.as_str())
    );

    sshd.replace_host_key();
    let presented = sshd.host_key_fingerprint();
    assert_ne!(pinned, presented);
    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::HOST_KEY_MISMATCH).await;
    assert!(
        message.contains(&pinned) && message.contains(&presented),
        "the message shows the pinned ({pinned}) and the presented ({presented}) key: {message}"
    );
    assert_eq!(
        admin
            .server(server.id)
            .await
            .host_key_fingerprint
            .as_deref(),
        Some(pinned.as_str()),
        "a mismatch never re-pins by itself"
    );

    // Only an admin clears the pin.
    admin
        .create_user(&user_request("oscar", "oscar-password-1", &["ops"]))
        .await;
    let oscar = gh.api().login("oscar", "oscar-password-1").await.bearer;
    oscar
        .delete(&format!("/api/servers/{}/host-key", server.id))
        .await
        .expect_error(403, "forbidden");
    admin
        .delete(&format!("/api/servers/{}/host-key", server.id))
        .await
        .expect(204);
    assert_eq!(admin.server(server.id).await.host_key_fingerprint, None);

    let mut term = Terminal::open(&admin, server.id).await;
    let marker = Marker::new("REPIN");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        Some(presented),
        "the next connection pins the new key"
    );
}

#[tokio::test]
async fn a_wrong_ssh_password_reports_auth_failed() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("wrong-password");
    req.password = Some("not-the-ssh-password".into());
    let server = admin.create_server(&req).await;
    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    expect_failure(&mut term, codes::AUTH_FAILED).await;
}

#[tokio::test]
async fn a_key_the_server_does_not_accept_reports_auth_failed() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.key_server("foreign-key");
    // A valid key that is not in authorized_keys: the host key of the sshd itself.
    req.private_key = Some(std::fs::read_to_string(sshd.dir().join("hostkey")).unwrap());
    let server = admin.create_server(&req).await;
    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    expect_failure(&mut term, codes::AUTH_FAILED).await;
}

#[tokio::test]
async fn a_closed_port_reports_unreachable() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let sshd = Sshd::start();
    let mut req = sshd.password_server("nobody-listens");
    req.port = free_port();
    let server = admin.create_server(&req).await;
    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    expect_failure(&mut term, codes::UNREACHABLE).await;
}
