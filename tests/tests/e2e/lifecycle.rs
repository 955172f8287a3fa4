//! The process contract: health, the generated secret key, and graceful shutdown.

use std::os::unix::fs::PermissionsExt;

use gatehouse_tests::terminal::{Closed, Control, Marker};
use gatehouse_tests::{Gatehouse, Sshd, Terminal};
use wire::terminal::ServerFrame;
use wire::Health;

#[tokio::test]
async fn health_reports_ok_with_a_version_and_an_instance_id() {
    let gh = Gatehouse::start().await;
    let health: Health = gh.api().get("/api/health").await.expect(200).json();
    assert_eq!(health.status, "ok");
    assert!(!health.version.is_empty());
    assert!(!health.instance_id.is_empty());
    assert!(
        health.monitor_role == "leader" || health.monitor_role == "follower",
        "{health:?}"
    );
    assert!(gh.log().contains("listening on"), "{}", gh.log());
}

#[tokio::test]
async fn a_generated_secret_key_is_private_to_its_owner_and_survives_restarts() {
    let mut gh = Gatehouse::start().await;
    let path = gh.data_dir().join("secret.key");
    let meta = std::fs::metadata(&path).expect("secret.key in the data directory");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read(&path).unwrap();
    assert!(!key.is_empty());

    let sshd = Sshd::start();
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("survivor")).await;
    gh.restart().await;
    assert_eq!(
        std::fs::read(&path).unwrap(),
        key,
        "the key is kept, not regenerated"
    );
    // Credentials encrypted before the restart still decrypt after it.
    let admin = gh.admin().await;
    let mut term = Terminal::open(&admin, server.id).await;
    let marker = Marker::new("AFTER");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
}

#[tokio::test]
async fn sigterm_with_an_open_terminal_closes_it_cleanly_and_exits_zero() {
    let sshd = Sshd::start();
    let mut gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("shutdown")).await;
    let mut term = Terminal::open(&admin, server.id).await;
    let marker = Marker::new("UP");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;

    gh.signal(libc::SIGTERM);
    let closed = term.wait_closed().await;
    assert!(
        matches!(closed, Closed::Clean(_)),
        "the client gets a closing handshake, not a dropped connection: {closed:?}"
    );
    for control in term.pending_controls() {
        assert!(
            matches!(
                control,
                Control::Frame(ServerFrame::Exit { .. } | ServerFrame::Error { .. })
            ),
            "unexpected control frame at shutdown: {control:?}"
        );
    }
    let status = gh.wait_exit().await.expect("gatehouse exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn sigint_stops_an_idle_gateway_with_exit_code_zero() {
    let mut gh = Gatehouse::start().await;
    gh.signal(libc::SIGINT);
    let status = gh.wait_exit().await.expect("gatehouse exits after SIGINT");
    assert!(status.success(), "exit status {status}");
}
