//! Access is re-checked for live sessions whenever an admin changes an account or a server: an
//! owner or joiner who may no longer use the server is disconnected at once, with
//! `access_revoked`, not when they next reconnect.

use std::time::Duration;

use gatehouse_tests::terminal::{Closed, Marker};
use gatehouse_tests::Terminal;
use serde_json::Value;
use tokio::time::Instant;
use wire::terminal::codes;
use wire::users::{Role, UpdateUserRequest, UserView};

use crate::terminal_sessions::Rig;
use crate::terminal_share::{join, share, user};

async fn expect_revoked(term: &mut Terminal) {
    let started = Instant::now();
    assert_eq!(term.expect_error().await.0, codes::ACCESS_REVOKED);
    assert!(matches!(term.wait_closed().await, Closed::Clean(_)));
    assert!(started.elapsed() < Duration::from_secs(3), "not at once");
}

async fn user_id(rig: &Rig, name: &str) -> i32 {
    let users: Vec<UserView> = rig.admin.get("/api/users").await.expect(200).json();
    users.iter().find(|u| u.username == name).expect(name).id
}

#[tokio::test]
async fn joiners_and_watchers_who_lose_access_are_disconnected_at_once() {
    let rig = Rig::with(&[]).await;
    let carol = user(&rig, "carol", Role::User, &["ops"]).await;
    let audrey = user(&rig, "audrey", Role::Auditor, &[]).await;
    let mut owner = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = owner.session_id().to_owned();
    let (mut typist, _) = join(
        &carol,
        &share(&rig.admin, &sid, "rw", None).await,
        "admin",
        "rw",
    )
    .await;
    let mut watcher = Terminal::connect_path(&audrey, &format!("/api/ws/terminal/watch/{sid}"))
        .await
        .unwrap_or_else(|r| panic!("watch refused: {} {}", r.status, r.body));
    watcher.expect_session().await;
    watcher.next_control().await; // `joined`
    watcher.expect_replay().await;

    // Carol leaves the server's group: her read-write join ends; the owner's session does not.
    let regroup = UpdateUserRequest {
        allowed_groups: Some(vec!["elsewhere".into()]),
        ..Default::default()
    };
    let carol_id = user_id(&rig, "carol").await;
    rig.admin
        .put(&format!("/api/users/{carol_id}"), &regroup)
        .await
        .expect(200);
    expect_revoked(&mut typist).await;

    // The auditor becomes a plain user: watching ends.
    let demote = UpdateUserRequest {
        role: Some(Role::User),
        ..Default::default()
    };
    let audrey_id = user_id(&rig, "audrey").await;
    rig.admin
        .put(&format!("/api/users/{audrey_id}"), &demote)
        .await
        .expect(200);
    expect_revoked(&mut watcher).await;

    let alive = Marker::new("STILL");
    owner
        .send_line(&format!("printf '%s\\n' {}", alive.shell))
        .await;
    owner.read_until(alive.printed.as_bytes()).await;
}

#[tokio::test]
async fn an_owner_whose_server_moves_out_of_their_groups_loses_the_session() {
    let rig = Rig::with(&[]).await;
    let olga = user(&rig, "olga", Role::User, &["ops"]).await;
    let mut term = Terminal::open(&olga, rig.server.id).await;
    let ok = Marker::new("BEFORE");
    term.send_line(&format!("printf '%s\\n' {}", ok.shell))
        .await;
    term.read_until(ok.printed.as_bytes()).await;

    let mut body: Value = rig
        .admin
        .get(&format!("/api/servers/{}", rig.server.id))
        .await
        .expect(200)
        .json();
    body["group"] = Value::String("db-admins".into());
    rig.admin
        .put(&format!("/api/servers/{}", rig.server.id), &body)
        .await
        .expect(200);
    expect_revoked(&mut term).await;
    assert!(crate::terminal_sessions::sessions(&olga).await.is_empty());

    // A disabled account loses its sessions too (the admin's own stays: admins see every server).
    let mut admins = Terminal::open(&rig.admin, rig.server.id).await;
    body["group"] = Value::String("ops".into());
    rig.admin
        .put(&format!("/api/servers/{}", rig.server.id), &body)
        .await
        .expect(200);
    let mut again = Terminal::open(&olga, rig.server.id).await;
    let disable = UpdateUserRequest {
        disabled: Some(true),
        ..Default::default()
    };
    let olga_id = user_id(&rig, "olga").await;
    rig.admin
        .put(&format!("/api/users/{olga_id}"), &disable)
        .await
        .expect(200);
    expect_revoked(&mut again).await;
    let alive = Marker::new("ADMIN");
    admins
        .send_line(&format!("printf '%s\\n' {}", alive.shell))
        .await;
    admins.read_until(alive.printed.as_bytes()).await;
}
