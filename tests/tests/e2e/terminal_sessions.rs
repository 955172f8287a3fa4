//! Terminal sessions outlive their WebSocket: a dropped socket only detaches the session, a
//! reattach replays what was missed, the grace period ends a session nobody came back to, and an
//! explicit close ends it at once.

use std::path::Path;
use std::time::Duration;

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::terminal::{Closed, Marker};
use gatehouse_tests::{contains, Api, Gatehouse, Sshd, Storage, Terminal};
use tokio::time::{sleep, Instant};
use wire::servers::ServerView;
use wire::terminal::{codes, SessionView};

use crate::ssh_pool::shell_pid;

/// An sshd, a gateway started with `env`, its admin and a server for the sshd.
pub struct Rig {
    pub gh: Gatehouse,
    pub admin: Api,
    pub server: ServerView,
    /// The server's sshd; it lives as long as the rig (and stops after the gateway).
    pub sshd: Sshd,
}

impl Rig {
    pub async fn with(env: &[(&str, &str)]) -> Rig {
        Rig::on(Storage::Sqlite, env).await
    }

    pub async fn on(storage: Storage, env: &[(&str, &str)]) -> Rig {
        let sshd = Sshd::start();
        let gh = Gatehouse::start_with(Options {
            storage,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Options::default()
        })
        .await;
        let admin = gh.admin().await;
        let mut req = sshd.password_server("live");
        req.group = Some("ops".into());
        let server = admin.create_server(&req).await;
        Rig {
            gh,
            admin,
            server,
            sshd,
        }
    }
}

/// Reattach and read the session and replay frames; returns the terminal and the replay.
pub async fn reattach(api: &Api, session_id: &str, query: &str) -> (Terminal, u64, Vec<u8>) {
    let mut term = Terminal::attach(api, session_id, query)
        .await
        .unwrap_or_else(|r| panic!("attach refused: {} {}", r.status, r.body));
    assert_eq!(term.expect_session().await, session_id);
    let (offset, replay) = term.expect_replay().await;
    (term, offset, replay)
}

/// Polls (up to 15 s) until attaching answers 404 `session_not_found`.
pub async fn wait_until_gone(api: &Api, session_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match Terminal::attach(api, session_id, "").await {
            Err(refused) if refused.status == 404 => {
                assert_eq!(refused.code().as_deref(), Some(codes::SESSION_NOT_FOUND));
                return;
            }
            Err(refused) => panic!("attach refused with {} {}", refused.status, refused.body),
            Ok(term) => {
                assert!(Instant::now() < deadline, "session {session_id} lives on");
                term.detach().await;
                sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Waits (up to 10 s) for process `pid` to be gone.
pub async fn wait_for_exit(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "shell {pid} is still running");
        sleep(Duration::from_millis(50)).await;
    }
}

pub async fn sessions(api: &Api) -> Vec<SessionView> {
    api.get("/api/terminal/sessions").await.expect(200).json()
}

async fn echo_back(term: &mut Terminal, tag: &str) {
    let marker = Marker::new(tag);
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;
}

#[tokio::test]
async fn a_reattach_after_a_dropped_socket_replays_the_output_missed_and_typing_works_again() {
    let rig = Rig::with(&[]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();
    let end = Marker::new("LOOPEND");
    term.send_line(&format!(
        "for i in $(seq 1 50); do echo line-$i; sleep 0.05; done; echo {}",
        end.shell
    ))
    .await;
    term.read_until(b"line-2\r\n").await;
    term.drop_connection();

    // The loop goes on without a socket; the session shows as detached meanwhile.
    sleep(Duration::from_millis(500)).await;
    let listed = sessions(&rig.admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(!listed[0].attached, "{listed:?}");
    sleep(Duration::from_secs(3)).await;

    let (mut term, offset, replay) = reattach(&rig.admin, &id, "").await;
    assert_eq!(offset, 0, "everything still fits in the buffer");
    let text = String::from_utf8_lossy(&replay);
    for line in [
        "line-1\r\n",
        "line-30\r\n",
        "line-50\r\n",
        end.printed.as_str(),
    ] {
        assert!(
            text.contains(line),
            "{line:?} missing from the replay: {text:?}"
        );
    }
    assert!(sessions(&rig.admin).await[0].attached);
    echo_back(&mut term, "AGAIN").await;

    // A client that says how far it got is sent only what came after.
    let seen = offset + term.received();
    term.drop_connection();
    let (_term, offset, replay) = reattach(&rig.admin, &id, &format!("?offset={seen}")).await;
    assert_eq!(offset, seen);
    assert!(
        !contains(&replay, b"line-"),
        "{:?}",
        String::from_utf8_lossy(&replay)
    );
}

#[tokio::test]
async fn after_the_grace_period_a_detached_session_and_its_shell_are_gone() {
    let rig = Rig::with(&[("GATEHOUSE_TERMINAL_DETACH_GRACE_SECS", "1")]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();
    let pid = shell_pid(&mut term).await;
    term.drop_connection();
    wait_for_exit(pid).await;
    wait_until_gone(&rig.admin, &id).await;
    assert!(sessions(&rig.admin).await.is_empty());
}

#[tokio::test]
async fn a_second_attach_replaces_the_first_socket() {
    let rig = Rig::with(&[]).await;
    let mut first = Terminal::open(&rig.admin, rig.server.id).await;
    let id = first.session_id().to_owned();
    echo_back(&mut first, "FIRST").await;
    let (mut second, _, replay) = reattach(&rig.admin, &id, "?cols=120&rows=40").await;
    assert!(!replay.is_empty(), "the prompt and the echo are replayed");
    let (code, _) = first.expect_error().await;
    assert_eq!(code, codes::REPLACED);
    assert!(matches!(first.wait_closed().await, Closed::Clean(_)));

    // The new socket's size applies to the PTY.
    let done = Marker::new("SIZE");
    second
        .send_line(&format!("echo \"[$(stty size)]\" {}", done.shell))
        .await;
    let out = second.read_until(done.printed.as_bytes()).await;
    assert!(
        contains(&out, b"[40 120]"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    let listed = sessions(&rig.admin).await;
    assert_eq!((listed[0].cols, listed[0].rows), (120, 40));
}

#[tokio::test]
async fn closing_a_session_ends_it_for_good() {
    let rig = Rig::with(&[]).await;

    // DELETE, while detached.
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();
    let pid = shell_pid(&mut term).await;
    term.detach().await;
    let path = format!("/api/terminal/sessions/{id}");
    rig.admin.delete(&path).await.expect(204);
    wait_for_exit(pid).await;
    let refused = Terminal::attach(&rig.admin, &id, "")
        .await
        .err()
        .expect("gone");
    assert_eq!(refused.status, 404);
    assert_eq!(refused.code().as_deref(), Some(codes::SESSION_NOT_FOUND));
    rig.admin
        .delete(&path)
        .await
        .expect_error(404, codes::SESSION_NOT_FOUND);

    // DELETE while attached: the socket is told.
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let path = format!("/api/terminal/sessions/{}", term.session_id());
    rig.admin.delete(&path).await.expect(204);
    assert_eq!(term.expect_error().await.0, codes::SESSION_CLOSED);
    assert!(matches!(term.wait_closed().await, Closed::Clean(_)));

    // A close frame on the socket.
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();
    let pid = shell_pid(&mut term).await;
    term.close().await;
    wait_for_exit(pid).await;
    wait_until_gone(&rig.admin, &id).await;
    assert!(sessions(&rig.admin).await.is_empty());
}

#[tokio::test]
async fn the_replay_keeps_only_the_newest_output_up_to_the_configured_size() {
    const BOUND: usize = 64 * 1024;
    let rig = Rig::with(&[("GATEHOUSE_TERMINAL_REPLAY_BYTES", "65536")]).await;
    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let id = term.session_id().to_owned();
    let end = Marker::new("FLOODEND");
    // About 170 KB of numbered lines, all printed while detached.
    term.send_line(&format!("sleep 1; seq 1 30000; echo {}", end.shell))
        .await;
    term.drop_connection();
    sleep(Duration::from_secs(4)).await;

    let (_term, offset, replay) = reattach(&rig.admin, &id, "").await;
    assert!(replay.len() <= BOUND, "{} bytes replayed", replay.len());
    assert!(replay.len() > BOUND / 2, "{} bytes replayed", replay.len());
    assert!(
        offset > 100_000,
        "the oldest output was dropped (offset {offset})"
    );
    let text = String::from_utf8_lossy(&replay);
    let tail = format!("29999\r\n30000\r\n{}\r\n", end.printed);
    assert!(
        text.contains(&tail),
        "the replay ends with the latest output: {:?}",
        gatehouse_tests::tail(&text, 300)
    );
    assert!(
        !text.contains("\n1\r\n2\r\n3\r\n"),
        "the oldest lines are gone"
    );
}

#[tokio::test]
async fn the_session_list_shows_the_callers_sessions_and_whether_they_are_attached() {
    let mut rig = Rig::with(&[]).await;
    let attached = Terminal::open_sized(&rig.admin, rig.server.id, 100, 30).await;
    let detached = Terminal::open(&rig.admin, rig.server.id).await;
    let detached_id = detached.session_id().to_owned();
    detached.detach().await;
    sleep(Duration::from_millis(500)).await;

    let listed = sessions(&rig.admin).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let by_id = |id: &str| listed.iter().find(|s| s.session_id == id).expect("listed");
    let a = by_id(attached.session_id());
    assert!(a.attached);
    assert_eq!(
        (a.server_id, a.server_name.as_str()),
        (rig.server.id, "live")
    );
    assert_eq!((a.cols, a.rows), (100, 30));
    assert!(chrono_like(&a.started_at), "{}", a.started_at);
    assert!(!by_id(&detached_id).attached);
    assert!(listed[0].started_at <= listed[1].started_at, "oldest first");

    // Unauthenticated callers get nothing.
    rig.gh
        .api()
        .get("/api/terminal/sessions")
        .await
        .expect_error(401, "unauthenticated");

    // Shutdown ends attached and detached sessions alike, promptly.
    let (status, by_itself) = rig.gh.terminate();
    assert!(by_itself && status.success(), "{status}");
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.contains('T')
}
