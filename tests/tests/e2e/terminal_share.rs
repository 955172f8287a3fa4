//! Sharing a live terminal by link: read-only joiners watch, read-write joiners type, only users
//! who may use the server join, expired links are refused, kick and revoke disconnect at once,
//! admins and auditors watch without a link, and the owner follows the participants live.

use std::time::Duration;

use gatehouse_tests::terminal::{Closed, Control, Marker};
use gatehouse_tests::{contains, Api, Terminal};
use tokio::time::{sleep, Instant};
use wire::terminal::{codes, ParticipantView, ServerFrame, ShareCreated, Sharing};
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;
use crate::terminal_sessions::Rig;

pub async fn share(owner: &Api, session_id: &str, mode: &str, expires_in: Option<u64>) -> String {
    let body = serde_json::json!({"mode": mode, "expires_in": expires_in});
    let created: ShareCreated = owner
        .post(&format!("/api/terminal/share/{session_id}"), &body)
        .await
        .expect(201)
        .json();
    assert_eq!(created.url, format!("/#/join/{}", created.token));
    assert_eq!(created.mode, mode);
    created.token
}

/// Joins with `token` and reads `session`, `joined` (checked) and the replay.
pub async fn join(api: &Api, token: &str, owner: &str, mode: &str) -> (Terminal, Vec<u8>) {
    let mut term = Terminal::connect_path(api, &format!("/api/ws/terminal/join/{token}"))
        .await
        .unwrap_or_else(|r| panic!("join refused: {} {}", r.status, r.body));
    expect_joined(&mut term, owner, mode).await;
    let (_, replay) = term.expect_replay().await;
    (term, replay)
}

async fn expect_joined(term: &mut Terminal, owner: &str, mode: &str) {
    term.expect_session().await;
    match term.next_control().await {
        Control::Frame(ServerFrame::Joined { owner: o, mode: m }) => {
            assert_eq!((o.as_str(), m.as_str()), (owner, mode));
        }
        other => panic!("expected a joined frame, got {other:?}"),
    }
}

/// The next `participants` frame on the owner's socket (other control frames are skipped).
pub async fn next_participants(term: &mut Terminal) -> Vec<ParticipantView> {
    loop {
        if let Control::Frame(ServerFrame::Participants { participants }) =
            term.next_control().await
        {
            return participants;
        }
    }
}

/// Expects the error frame `code` and the socket closing right after it.
async fn expect_thrown_out(term: &mut Terminal, code: &str) {
    let started = Instant::now();
    assert_eq!(term.expect_error().await.0, code);
    assert!(matches!(term.wait_closed().await, Closed::Clean(_)));
    assert!(started.elapsed() < Duration::from_secs(3), "not at once");
}

pub async fn user(rig: &Rig, name: &str, role: Role, groups: &[&str]) -> Api {
    let password = format!("{name}-password-1");
    rig.admin
        .create_user(&CreateUserRequest {
            role,
            ..user_request(name, &password, groups)
        })
        .await;
    rig.gh.api().login(name, &password).await.bearer
}

#[tokio::test]
async fn a_read_only_joiner_watches_and_a_read_write_joiner_types() {
    let rig = Rig::with(&[]).await;
    let bob = user(&rig, "bob", Role::User, &["ops"]).await;
    let carol = user(&rig, "carol", Role::User, &["ops"]).await;
    let mut owner = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = owner.session_id().to_owned();
    let before = Marker::new("BEFORE");
    owner
        .send_line(&format!("printf '%s\\n' {}", before.shell))
        .await;
    owner.read_until(before.printed.as_bytes()).await;

    // Someone else cannot share the admin's session.
    let body = serde_json::json!({"mode": "rw"});
    bob.post(&format!("/api/terminal/share/{sid}"), &body)
        .await
        .expect_error(404, codes::SESSION_NOT_FOUND);

    let ro = share(&rig.admin, &sid, "ro", None).await;
    let (mut watcher, replay) = join(&bob, &ro, "admin", "ro").await;
    assert!(contains(&replay, before.printed.as_bytes()), "the replay");
    let roster = next_participants(&mut owner).await;
    assert_eq!(roster.len(), 1);
    assert_eq!(
        (roster[0].username.as_str(), roster[0].mode.as_str()),
        ("bob", "ro")
    );

    // The read-only joiner's typing never reaches the shell.
    let typed = Marker::new("ROTYPED");
    watcher
        .send_line(&format!("printf '%s\\n' {}", typed.shell))
        .await;
    assert_eq!(watcher.expect_error().await.0, codes::READ_ONLY);
    let after = Marker::new("AFTER");
    owner
        .send_line(&format!("printf '%s\\n' {}", after.shell))
        .await;
    let seen = owner.read_until(after.printed.as_bytes()).await;
    assert!(!contains(&seen, typed.printed.as_bytes()), "ro input ran");
    let seen = watcher.read_until(after.printed.as_bytes()).await;
    assert!(!contains(&seen, typed.printed.as_bytes()), "ro input ran");

    // The read-write joiner's command runs; everybody sees it.
    let rw = share(&rig.admin, &sid, "rw", Some(600)).await;
    let (mut typist, _) = join(&carol, &rw, "admin", "rw").await;
    assert_eq!(next_participants(&mut owner).await.len(), 2);
    let ran = Marker::new("RWTYPED");
    typist
        .send_line(&format!("printf '%s\\n' {}", ran.shell))
        .await;
    for term in [&mut owner, &mut watcher, &mut typist] {
        term.read_until(ran.printed.as_bytes()).await;
    }

    let sharing: Sharing = rig
        .admin
        .get(&format!("/api/terminal/share/{sid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(sharing.shares.len(), 2);
    let mut names: Vec<_> = sharing
        .participants
        .iter()
        .map(|p| p.username.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["bob", "carol"]);
    bob.get(&format!("/api/terminal/share/{sid}"))
        .await
        .expect_error(404, codes::SESSION_NOT_FOUND);

    // Leaving updates the owner's list; joiners do not end or detach the session.
    typist.close().await;
    let roster = next_participants(&mut owner).await;
    assert_eq!(roster.len(), 1);
    assert_eq!(roster[0].username, "bob");
    let still = Marker::new("STILL");
    owner
        .send_line(&format!("printf '%s\\n' {}", still.shell))
        .await;
    owner.read_until(still.printed.as_bytes()).await;
}

#[tokio::test]
async fn only_users_of_the_server_join_while_the_link_lives() {
    let rig = Rig::with(&[]).await;
    let bob = user(&rig, "bob", Role::User, &["ops"]).await;
    let dave = user(&rig, "dave", Role::User, &[]).await;
    let mut owner = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = owner.session_id().to_owned();

    let token = share(&rig.admin, &sid, "rw", None).await;
    let refused = Terminal::connect_path(&dave, &format!("/api/ws/terminal/join/{token}"))
        .await
        .err()
        .expect("dave may not use the server");
    assert_eq!(refused.status, 403, "{}", refused.body);
    let anonymous = rig.gh.api();
    let refused = Terminal::connect_path(&anonymous, &format!("/api/ws/terminal/join/{token}"))
        .await
        .err()
        .expect("signed in only");
    assert_eq!(refused.status, 401, "{}", refused.body);
    for bad in ["not-a-token".to_owned(), format!("{token}x")] {
        let refused = Terminal::connect_path(&bob, &format!("/api/ws/terminal/join/{bad}"))
            .await
            .err()
            .expect("unknown token");
        assert_eq!(refused.code().as_deref(), Some(codes::SHARE_NOT_FOUND));
    }

    let short = share(&rig.admin, &sid, "ro", Some(1)).await;
    sleep(Duration::from_secs(2)).await;
    let refused = Terminal::connect_path(&bob, &format!("/api/ws/terminal/join/{short}"))
        .await
        .err()
        .expect("expired");
    assert_eq!(refused.status, 404);
    assert_eq!(refused.code().as_deref(), Some(codes::SHARE_NOT_FOUND));

    // Kick: that joiner is out at once; the link still admits.
    let (mut joiner, _) = join(&bob, &token, "admin", "rw").await;
    let id = next_participants(&mut owner).await[0].id.clone();
    rig.admin
        .delete(&format!("/api/terminal/share/{sid}/participants/{id}"))
        .await
        .expect(204);
    expect_thrown_out(&mut joiner, codes::KICKED).await;
    assert!(next_participants(&mut owner).await.is_empty());

    // Revoke: every joiner is out at once and the link is dead.
    let (mut joiner, _) = join(&bob, &token, "admin", "rw").await;
    rig.admin
        .delete(&format!("/api/terminal/share/{sid}"))
        .await
        .expect(204);
    expect_thrown_out(&mut joiner, codes::SHARE_REVOKED).await;
    let refused = Terminal::connect_path(&bob, &format!("/api/ws/terminal/join/{token}"))
        .await
        .err()
        .expect("revoked");
    assert_eq!(refused.code().as_deref(), Some(codes::SHARE_NOT_FOUND));
    let done = Marker::new("OWNEROK");
    owner
        .send_line(&format!("printf '%s\\n' {}", done.shell))
        .await;
    owner.read_until(done.printed.as_bytes()).await;
}

#[tokio::test]
async fn admins_and_auditors_watch_any_session_read_only() {
    let rig = Rig::with(&[]).await;
    let bob = user(&rig, "bob", Role::User, &["ops"]).await;
    let carol = user(&rig, "carol", Role::User, &["ops"]).await;
    let audrey = user(&rig, "audrey", Role::Auditor, &[]).await;
    let mut owner = Terminal::open(&bob, rig.server.id).await;
    let sid = owner.session_id().to_owned();
    let path = format!("/api/ws/terminal/watch/{sid}");

    let refused = Terminal::connect_path(&carol, &path)
        .await
        .err()
        .expect("a plain user cannot watch");
    assert_eq!(refused.status, 403, "{}", refused.body);

    for (watcher, name) in [(&rig.admin, "admin"), (&audrey, "audrey")] {
        let mut term = Terminal::connect_path(watcher, &path)
            .await
            .unwrap_or_else(|r| panic!("{name} refused: {} {}", r.status, r.body));
        expect_joined(&mut term, "bob", "ro").await;
        term.expect_replay().await;
        let roster = next_participants(&mut owner).await;
        assert_eq!(roster[0].username, name);
        let typed = Marker::new("WATCHTYPED");
        term.send_line(&format!("printf '%s\\n' {}", typed.shell))
            .await;
        assert_eq!(term.expect_error().await.0, codes::READ_ONLY);
        let seen = Marker::new("SEEN");
        owner
            .send_line(&format!("printf '%s\\n' {}", seen.shell))
            .await;
        let out = term.read_until(seen.printed.as_bytes()).await;
        assert!(!contains(&out, typed.printed.as_bytes()), "watcher typed");
        term.close().await;
        assert!(next_participants(&mut owner).await.is_empty());
    }
}
