//! The terminal WebSocket: bytes through a real PTY on a real sshd, both ways, untouched.

use std::time::Duration;

use gatehouse_tests::terminal::{Closed, Control, Marker};
use gatehouse_tests::{contains, find, Api, Gatehouse, Sshd, Terminal};
use wire::servers::ServerView;
use wire::terminal::{ServerFrame, ACK_EVERY, FLOW_WINDOW};

/// An sshd, a gateway, an admin bearer client and a password server for that sshd.
/// Fields drop in order: the gateway stops before the sshd it talks to.
pub struct Rig {
    pub gh: Gatehouse,
    pub admin: Api,
    pub server: ServerView,
    /// Kept so the sshd lives as long as the rig.
    _sshd: Sshd,
}

impl Rig {
    pub async fn new() -> Rig {
        let sshd = Sshd::start();
        let gh = Gatehouse::start().await;
        let admin = gh.admin().await;
        let server = admin.create_server(&sshd.password_server("box")).await;
        Rig {
            gh,
            admin,
            server,
            _sshd: sshd,
        }
    }

    pub async fn open(&self) -> Terminal {
        Terminal::open(&self.admin, self.server.id).await
    }
}

/// Run `command` with the shell's echo off and wait for the marker it prints last.
async fn run(term: &mut Terminal, command: &str) -> Vec<u8> {
    let marker = Marker::new("DONE");
    term.send_line(&format!(
        "stty -echo; {command}; printf '%s\\n' {}",
        marker.shell
    ))
    .await;
    term.read_until(marker.printed.as_bytes()).await
}

#[tokio::test]
async fn a_typed_command_runs_and_its_output_comes_back_through_an_xterm_pty() {
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    let out = run(
        &mut term,
        "printf 'OUT%s:%s:%s\\n' $((6*7)) \"$TERM\" \"$(id -un)\"",
    )
    .await;
    assert!(
        contains(&out, b"OUT42:xterm-256color:gatehouse-test"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn the_pty_starts_at_the_requested_size_and_follows_resize_frames() {
    let rig = Rig::new().await;
    let mut term = Terminal::open_sized(&rig.admin, rig.server.id, 100, 30).await;
    let out = run(&mut term, "printf 'SIZE[%s]\\n' \"$(stty size)\"").await;
    assert!(
        contains(&out, b"SIZE[30 100]"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );

    term.resize(132, 43).await;
    let out = run(&mut term, "printf 'SIZE[%s]\\n' \"$(stty size)\"").await;
    assert!(
        contains(&out, b"SIZE[43 132]"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn the_shell_exit_code_arrives_in_an_exit_frame_then_the_socket_closes() {
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    term.send_line("exit 7").await;
    assert_eq!(term.expect_exit().await, Some(7));
    assert!(
        matches!(term.wait_closed().await, Closed::Clean(_)),
        "{:?}",
        term.closed()
    );
}

#[tokio::test]
async fn invalid_utf8_output_arrives_byte_for_byte() {
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    let out = run(&mut term, "printf 'BEGIN\\377\\376\\200\\300END\\n'").await;
    assert!(
        contains(&out, b"BEGIN\xff\xfe\x80\xc0END"),
        "the raw bytes were altered: {out:?}"
    );
    // And the session goes on.
    let out = run(&mut term, "printf 'STILL%s\\n' $((40+2))").await;
    assert!(contains(&out, b"STILL42"));
}

#[tokio::test]
async fn invalid_utf8_input_reaches_the_program_untouched_and_the_session_goes_on() {
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    let ready = Marker::new("READY");
    let done = Marker::new("HEX");
    term.send_line(&format!(
        "stty raw -echo; printf '%s\\n' {}; head -c 4 | od -An -tx1; printf '%s\\n' {}; stty sane",
        ready.shell, done.shell
    ))
    .await;
    term.read_until(ready.printed.as_bytes()).await;
    term.send(b"\xff\xfe\x80\xc0").await;
    let out = term.read_until(done.printed.as_bytes()).await;
    assert!(
        contains(&out, b"ff fe 80 c0"),
        "the program did not read the bytes sent: {:?}",
        String::from_utf8_lossy(&out)
    );
    // Garbage typed at the prompt is just a bad command line.
    term.send(b"\xff\xfe\r").await;
    let out = run(&mut term, "printf 'ALIVE%s\\n' $((6*7))").await;
    assert!(contains(&out, b"ALIVE42"));
    assert!(term.closed().is_none());
}

#[tokio::test]
async fn malformed_text_frames_do_not_end_the_session() {
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    for junk in [
        "not json at all",
        "{}",
        "[]",
        "null",
        "{\"type\":\"resize\"}",
        "{\"type\":\"resize\",\"cols\":\"wide\",\"rows\":-1}",
        "{\"type\":\"resize\",\"cols\":99999999,\"rows\":99999999}",
        "{\"type\":\"no_such_message\"}",
        "{\"type\":",
        "\u{0}\u{1}\u{2}",
    ] {
        term.send_text(junk).await;
    }
    term.send_text(&"x".repeat(64 * 1024)).await;
    let out = run(&mut term, "printf 'SURVIVED%s\\n' $((6*7))").await;
    assert!(contains(&out, b"SURVIVED42"));
    assert!(term.closed().is_none(), "{:?}", term.closed());
    // Any complaint is an error frame the client may ignore, never an exit.
    for control in term.pending_controls() {
        assert!(
            matches!(control, Control::Frame(ServerFrame::Error { .. })),
            "unexpected control frame {control:?}"
        );
    }
}

#[tokio::test]
async fn a_server_with_a_private_key_opens_a_terminal() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.key_server("by-key")).await;
    let mut term = Terminal::open(&admin, server.id).await;
    let out = run(&mut term, "printf 'KEY%s\\n' $((6*7))").await;
    assert!(contains(&out, b"KEY42"));
}

#[tokio::test]
async fn a_server_with_a_passphrase_protected_key_opens_a_terminal() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = sshd.key_server("by-encrypted-key");
    req.private_key = Some(
        gatehouse_tests::sshd::test_user()
            .encrypted_private_key
            .clone(),
    );
    req.passphrase = Some(gatehouse_tests::sshd::KEY_PASSPHRASE.into());
    let server = admin.create_server(&req).await;
    let mut term = Terminal::open(&admin, server.id).await;
    let out = run(&mut term, "printf 'ENC%s\\n' $((6*7))").await;
    assert!(contains(&out, b"ENC42"));
}

#[tokio::test]
async fn a_terminal_opened_with_the_session_cookie_works_like_the_browsers() {
    let rig = Rig::new().await;
    let session = rig
        .gh
        .api()
        .login("admin", gatehouse_tests::ADMIN_PASSWORD)
        .await;
    let mut term = Terminal::open(&session.cookie, rig.server.id).await;
    let out = run(&mut term, "printf 'COOKIE%s\\n' $((6*7))").await;
    assert!(contains(&out, b"COOKIE42"));
}

#[tokio::test]
async fn a_terminal_upgrade_needs_a_session_and_a_known_server() {
    let rig = Rig::new().await;
    let refused = Terminal::connect(&rig.gh.api(), rig.server.id, 80, 24)
        .await
        .err()
        .expect("no credentials, no terminal");
    assert_eq!(refused.status, 401, "{}", refused.body);
    let refused = Terminal::connect(&rig.admin, 999_999, 80, 24)
        .await
        .err()
        .expect("no such server");
    assert_eq!(refused.status, 404, "{}", refused.body);
}

#[tokio::test]
async fn two_terminals_on_one_server_are_independent() {
    let rig = Rig::new().await;
    let mut one = rig.open().await;
    let mut two = rig.open().await;
    run(&mut one, "cd /tmp").await;
    let out = run(&mut two, "printf 'PWD[%s]\\n' \"$PWD\"").await;
    assert!(
        contains(&out, b"PWD[/home/gatehouse-test]"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    one.send_line("exit 3").await;
    assert_eq!(one.expect_exit().await, Some(3));
    let out = run(&mut two, "printf 'ALIVE%s\\n' $((6*7))").await;
    assert!(contains(&out, b"ALIVE42"));
}

#[tokio::test]
async fn an_acking_client_never_has_more_than_the_flow_window_in_flight() {
    const OUTPUT: u64 = 8 << 20;
    // One SSH packet of slack: the gateway may have a chunk in hand when the window fills.
    const SLACK: u64 = 64 << 10;
    let rig = Rig::new().await;
    let mut term = rig.open().await;
    run(&mut term, "true").await; // echo off, prompt drained
    term.ack(0).await;
    let end = Marker::new("FLOWEND");
    term.send_line(&format!(
        "head -c {OUTPUT} /dev/zero | tr '\\0' x; printf '%s\\n' {}",
        end.shell
    ))
    .await;

    // Without acks the output stops at the window. "Stopped" = nothing new for a while; if the
    // gateway only paused, the count below is still bounded by the window.
    let mut unacked = 0u64;
    while let Some(bytes) = term.next_output(Duration::from_millis(1500)).await {
        unacked += bytes.len() as u64;
    }
    assert!(unacked > 0, "output started");
    assert!(
        unacked <= FLOW_WINDOW + SLACK,
        "{unacked} bytes in flight without an ack (window {FLOW_WINDOW})"
    );
    assert!(term.closed().is_none());

    // Acking as the output is processed lets all of it through.
    let mut total = unacked;
    let mut tail: Vec<u8> = Vec::new();
    term.ack(unacked).await;
    unacked = 0;
    loop {
        let bytes = term
            .next_output(gatehouse_tests::WAIT)
            .await
            .unwrap_or_else(|| panic!("output stalled after {total} bytes although acked"));
        total += bytes.len() as u64;
        unacked += bytes.len() as u64;
        tail.extend_from_slice(&bytes);
        if find(&tail, end.printed.as_bytes()).is_some() {
            break;
        }
        tail.drain(..tail.len().saturating_sub(64));
        if unacked >= ACK_EVERY {
            term.ack(unacked).await;
            unacked = 0;
        }
    }
    assert!(total >= OUTPUT, "received {total} of {OUTPUT} bytes");
}
