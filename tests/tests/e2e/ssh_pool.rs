//! Connection reuse: one SSH connection per (user, server) carries that user's terminals and
//! SFTP session; a user's bastion connection carries every hop tunnelled through it; connections
//! are never shared between users; a server that refuses more channels on one connection gets
//! another; closing a terminal ends its shell, not the connection.

use std::path::Path;
use std::time::{Duration, Instant};

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::terminal::{Control, Marker};
use gatehouse_tests::{Bastion, Files, Gatehouse, RemoteDir, Sshd, Terminal};
use wire::terminal::ServerFrame;

use crate::auth::user_request;

/// Runs `echo $$` in the terminal's shell: its process id, as the server sees it.
pub async fn shell_pid(term: &mut Terminal) -> u32 {
    let done = Marker::new("PID");
    term.send_line(&format!(
        "stty -echo; echo \"PID[$$]\"; echo {}",
        done.shell
    ))
    .await;
    let out = String::from_utf8_lossy(&term.read_until(done.printed.as_bytes()).await).into_owned();
    let start = out.rfind("PID[").expect("a PID[...] line") + 4;
    let len = out[start..].find(']').expect("PID[...] is closed");
    out[start..start + len].parse().expect("a numeric pid")
}

async fn echo(term: &mut Terminal, tag: &str) {
    let marker = Marker::new(tag);
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
}

#[tokio::test]
async fn a_users_terminals_and_files_share_one_connection_never_another_users() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("shared");
    req.group = Some("ops".into());
    let server = admin.create_server(&req).await;

    let mut first = Terminal::open(&admin, server.id).await;
    let mut second = Terminal::open(&admin, server.id).await;
    echo(&mut first, "ONE").await;
    echo(&mut second, "TWO").await;
    Files::new(&admin, server.id).ls(None).await.expect(200);
    assert_eq!(sshd.logins(), 1, "{}", sshd.log());
    assert_eq!(sshd.connections(), 1);

    // Another user gets a connection of their own.
    admin
        .create_user(&user_request("olga", "olga-password-1", &["ops"]))
        .await;
    let olga = gh.api().login("olga", "olga-password-1").await.bearer;
    let mut hers = Terminal::open(&olga, server.id).await;
    echo(&mut hers, "HERS").await;
    assert_eq!(sshd.logins(), 2, "{}", sshd.log());
    assert_eq!(sshd.connections(), 2);

    // Closing a terminal ends its shell on the server; the shared connection stays for the
    // user's other terminal.
    let pid = shell_pid(&mut first).await;
    first.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "shell {pid} outlived its terminal"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    echo(&mut second, "STILL").await;
    assert_eq!(sshd.logins(), 2, "no new login: {}", sshd.log());
}

#[tokio::test]
async fn a_server_that_refuses_more_sessions_gets_a_second_connection() {
    // OpenSSH counts shells and subsystems per connection against `MaxSessions`.
    let sshd = Sshd::start_with("MaxSessions 2");
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("tight")).await;

    let mut terms = Vec::new();
    for tag in ["A", "B", "C"] {
        let mut term = Terminal::open(&admin, server.id).await;
        echo(&mut term, tag).await;
        terms.push(term);
    }
    assert_eq!(sshd.logins(), 2, "{}", sshd.log());
    // The full connection takes no more channels; the new one does.
    Files::new(&admin, server.id).ls(None).await.expect(200);
    assert_eq!(sshd.logins(), 2, "{}", sshd.log());
}

#[tokio::test]
async fn targets_behind_one_bastion_share_the_users_bastion_connection() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = crate::jump::register(&admin, &net).await;
    let mut req = net.private.password_server("private-db-by-password");
    req.jump_via_id = Some(bastion.id);
    let other = admin.create_server(&req).await;

    let mut term = Terminal::open(&admin, private.id).await;
    echo(&mut term, "VIA").await;
    Files::new(&admin, other.id).ls(None).await.expect(200);
    Files::new(&admin, private.id).ls(None).await.expect(200);
    let mut bastion_term = Terminal::open(&admin, bastion.id).await;
    echo(&mut bastion_term, "ON").await;

    assert_eq!(net.bastion.logins(), 1, "{}", net.bastion.log());
    // Two server records are two (user, server) connections, each tunnelled once.
    assert_eq!(net.private.logins(), 2, "{}", net.private.log());
}

#[tokio::test]
async fn a_terminal_whose_client_stops_reading_never_stalls_the_connection_it_shares() {
    // russh delivers every channel of a connection from one loop: a channel left unread would
    // stall the user's other terminals and files on the same connection. The hub reads on,
    // backlogs up to terminal_lag_bytes, then skips and says so.
    const LAG: u64 = 1 << 20;
    let sshd = Sshd::start();
    let gh = Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_TERMINAL_LAG_BYTES".into(), LAG.to_string())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("busy")).await;

    let mut flooded = Terminal::open(&admin, server.id).await;
    echo(&mut flooded, "READY").await;
    flooded.ack(0).await; // flow control on; no more acks for now
    flooded.send_line("yes flood-flood-flood-flood").await;
    let mut unacked = 0u64;
    while let Some(bytes) = flooded.next_output(Duration::from_millis(1500)).await {
        unacked += bytes.len() as u64;
    }
    assert!(unacked > 0, "the flood started");

    // Meanwhile the same user's other terminal and a download, on the same connection, flow.
    let mut other = Terminal::open(&admin, server.id).await;
    echo(&mut other, "ALIVE").await;
    let dir = RemoteDir::new();
    let body: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    dir.write("big.bin", &body);
    let got = Files::new(&admin, server.id)
        .download(&dir.remote("big.bin"), &[])
        .await
        .expect(200);
    assert!(got.bytes == body, "the download arrived whole");
    assert_eq!(sshd.logins(), 1, "all on one connection: {}", sshd.log());

    // Once it reads again, the flooded terminal learns how much it missed, then goes on.
    flooded.ack(unacked).await;
    let skipped = loop {
        match flooded.next_control().await {
            Control::Frame(ServerFrame::Skipped { bytes }) => break bytes,
            _ => continue,
        }
    };
    assert!(skipped > LAG, "skipped {skipped} bytes");
    flooded.send(b"\x03").await;
    echo(&mut other, "STILL").await;
}
