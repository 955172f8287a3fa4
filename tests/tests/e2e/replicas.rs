//! Several replicas on one PostgreSQL database and one Redis, with no stickiness: a terminal
//! opened through one replica is listed, reattached, shared, joined, watched, resized and
//! ended through any other; the owner follows joiners on other replicas; and a replica that
//! dies (SIGKILL) ends only its own terminals, while the others keep serving theirs.

use std::time::Duration;

use gatehouse_tests::api::Auth;
use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::postgres::{self, PgDatabase};
use gatehouse_tests::redis::Redis;
use gatehouse_tests::terminal::{Closed, Control, Marker};
use gatehouse_tests::{contains, Api, Gatehouse, Sshd, Terminal, WAIT};
use tokio::time::{sleep, Instant};
use wire::servers::ServerView;
use wire::terminal::{codes, ServerFrame, SessionView, Sharing};
use wire::users::{CreateUserRequest, Role, UpdateUserRequest, UserView};

use crate::auth::user_request;
use crate::terminal_share::{join, next_participants, share};

/// Every replica must open the same stored credentials.
const SHARED_SECRET: &str = "replicas-test-secret-key-0123456789abcdef";

struct Cluster {
    replicas: Vec<Gatehouse>,
    /// The admin's bearer token, usable on every replica.
    admin: Auth,
    server: ServerView,
    _sshd: Sshd,
    _redis: Redis,
    _db: PgDatabase,
}

impl Cluster {
    /// `n` replicas, started one after the other (the first migrates the database).
    async fn start(n: usize) -> Cluster {
        let db = postgres::create_database();
        let redis = Redis::start();
        let sshd = Sshd::start();
        let mut replicas = Vec::new();
        for _ in 0..n {
            let env = vec![
                ("GATEHOUSE_DATABASE_URL".to_owned(), db.url()),
                ("GATEHOUSE_REDIS_URL".to_owned(), redis.url()),
                ("GATEHOUSE_SECRET_KEY".to_owned(), SHARED_SECRET.to_owned()),
            ];
            replicas.push(
                Gatehouse::start_with(Options {
                    env,
                    ..Options::default()
                })
                .await,
            );
        }
        let admin = replicas[0].admin().await;
        let mut req = sshd.password_server("shared");
        req.group = Some("ops".into());
        let server = admin.create_server(&req).await;
        Cluster {
            admin: admin.auth.clone(),
            replicas,
            server,
            _sshd: sshd,
            _redis: redis,
            _db: db,
        }
    }

    /// The admin, through replica `i`.
    fn admin(&self, i: usize) -> Api {
        self.replicas[i].api().with_auth(self.admin.clone())
    }

    /// A new user in group `ops` with `role`; returns their token.
    async fn user(&self, name: &str, role: Role) -> Auth {
        let password = format!("{name}-password-1");
        self.admin(0)
            .create_user(&CreateUserRequest {
                role,
                ..user_request(name, &password, &["ops"])
            })
            .await;
        self.replicas[0]
            .api()
            .login(name, &password)
            .await
            .bearer
            .auth
    }

    /// `auth`, through replica `i`.
    fn on(&self, i: usize, auth: &Auth) -> Api {
        self.replicas[i].api().with_auth(auth.clone())
    }
}

async fn sessions(api: &Api) -> Vec<SessionView> {
    api.get("/api/terminal/sessions").await.expect(200).json()
}

async fn echo(term: &mut Terminal, tag: &str) -> Marker {
    let marker = Marker::new(tag);
    term.send_line(&format!("printf '%s\\n' {}", marker.shell))
        .await;
    term.read_until(marker.printed.as_bytes()).await;
    marker
}

#[tokio::test]
async fn links_made_and_joined_through_other_replicas_share_one_terminal() {
    let c = Cluster::start(3).await;
    let bob = c.user("bob", Role::User).await;
    let carol = c.user("carol", Role::User).await;
    let mut owner = Terminal::open(&c.admin(0), c.server.id).await;
    let sid = owner.session_id().to_owned();
    let before = echo(&mut owner, "BEFORE").await;

    // Every replica lists it; only its owner's.
    for i in 0..3 {
        let listed = sessions(&c.admin(i)).await;
        assert_eq!(listed.len(), 1, "through replica {i}");
        assert_eq!(listed[0].session_id, sid);
        assert_eq!(listed[0].server_name, "shared");
    }
    assert!(sessions(&c.on(1, &bob)).await.is_empty());

    // A read-write link made through replica 1, joined through replica 2.
    let rw = share(&c.admin(1), &sid, "rw", None).await;
    let (mut typist, replay) = join(&c.on(2, &bob), &rw, "admin", "rw").await;
    assert!(contains(&replay, before.printed.as_bytes()), "the replay");
    let roster = next_participants(&mut owner).await;
    assert_eq!(roster.len(), 1);
    assert_eq!(
        (roster[0].username.as_str(), roster[0].mode.as_str()),
        ("bob", "rw")
    );

    // Typed on replica 2, run on replica 0's shell, seen by both.
    let typed = echo(&mut typist, "BOBTYPED").await;
    owner.read_until(typed.printed.as_bytes()).await;
    let answered = echo(&mut owner, "OWNERTYPED").await;
    typist.read_until(answered.printed.as_bytes()).await;

    // A read-only link made on the owner's replica, joined through replica 1: typing is
    // refused there, and nothing reaches the shell.
    let ro = share(&c.admin(0), &sid, "ro", None).await;
    let (mut watcher, _) = join(&c.on(1, &carol), &ro, "admin", "ro").await;
    assert_eq!(next_participants(&mut owner).await.len(), 2);
    let refused = Marker::new("ROTYPED");
    watcher
        .send_line(&format!("printf '%s\\n' {}", refused.shell))
        .await;
    assert_eq!(watcher.expect_error().await.0, codes::READ_ONLY);
    let after = echo(&mut owner, "AFTER").await;
    let seen = watcher.read_until(after.printed.as_bytes()).await;
    assert!(!contains(&seen, refused.printed.as_bytes()), "ro input ran");

    // The links and participants, through a replica that holds neither.
    let sharing: Sharing = c
        .admin(2)
        .get(&format!("/api/terminal/share/{sid}"))
        .await
        .expect(200)
        .json();
    assert_eq!(sharing.shares.len(), 2);
    assert_eq!(sharing.participants.len(), 2);
    let bob_id = sharing
        .participants
        .iter()
        .find(|p| p.username == "bob")
        .expect("bob is listed")
        .id
        .clone();
    c.on(1, &bob)
        .get(&format!("/api/terminal/share/{sid}"))
        .await
        .expect_error(404, codes::SESSION_NOT_FOUND);

    // Kicked through replica 1: bob's socket on replica 2 is told at once.
    c.admin(1)
        .delete(&format!("/api/terminal/share/{sid}/participants/{bob_id}"))
        .await
        .expect(204);
    assert_eq!(typist.expect_error().await.0, codes::KICKED);
    assert_eq!(next_participants(&mut owner).await.len(), 1);

    // Revoked through replica 2: carol is disconnected, and the links no longer join anywhere.
    c.admin(2)
        .delete(&format!("/api/terminal/share/{sid}"))
        .await
        .expect(204);
    assert_eq!(watcher.expect_error().await.0, codes::SHARE_REVOKED);
    for i in 0..3 {
        let refused =
            Terminal::connect_path(&c.on(i, &bob), &format!("/api/ws/terminal/join/{rw}"))
                .await
                .err()
                .expect("a revoked link");
        assert_eq!(refused.code().as_deref(), Some(codes::SHARE_NOT_FOUND));
    }

    // An auditor watches through replica 2 without a link.
    let auditor = c.user("audrey", Role::Auditor).await;
    let mut watching =
        Terminal::connect_path(&c.on(2, &auditor), &format!("/api/ws/terminal/watch/{sid}"))
            .await
            .unwrap_or_else(|r| panic!("watch refused: {} {}", r.status, r.body));
    watching.expect_session().await;
    let last = echo(&mut owner, "WATCHED").await;
    watching.read_until(last.printed.as_bytes()).await;
}

#[tokio::test]
async fn the_owner_reattaches_resizes_and_ends_the_session_through_other_replicas() {
    let c = Cluster::start(3).await;
    let mut first = Terminal::open(&c.admin(0), c.server.id).await;
    let sid = first.session_id().to_owned();
    let before = echo(&mut first, "DETACHED").await;
    first.detach().await;

    // Reattached through replica 1, at a new size: the replay, then live input and output.
    let mut again = Terminal::attach(&c.admin(1), &sid, "?offset=0&cols=132&rows=43")
        .await
        .unwrap_or_else(|r| panic!("reattach refused: {} {}", r.status, r.body));
    assert_eq!(again.expect_session().await, sid);
    let (_, replay) = again.expect_replay().await;
    assert!(contains(&replay, before.printed.as_bytes()), "the replay");
    again.send_line("stty size").await;
    again.read_until(b"43 132").await;
    again.resize(100, 30).await;
    sleep(Duration::from_millis(300)).await;
    again.send_line("stty size").await;
    again.read_until(b"30 100").await;

    // Taking it over through replica 2 replaces the socket on replica 1.
    let mut third = Terminal::attach(&c.admin(2), &sid, "")
        .await
        .unwrap_or_else(|r| panic!("reattach refused: {} {}", r.status, r.body));
    third.expect_session().await;
    third.expect_replay().await;
    assert_eq!(again.expect_error().await.0, codes::REPLACED);
    echo(&mut third, "THIRD").await;

    // Someone else cannot reattach or end it from anywhere.
    let bob = c.user("bob", Role::User).await;
    for i in 0..3 {
        let refused = Terminal::attach(&c.on(i, &bob), &sid, "").await.err();
        assert_eq!(refused.expect("not bob's").status, 404);
        c.on(i, &bob)
            .delete(&format!("/api/terminal/sessions/{sid}"))
            .await
            .expect_error(404, codes::SESSION_NOT_FOUND);
    }

    // Ended through replica 1: the socket on replica 2 is told, and no replica lists it.
    c.admin(1)
        .delete(&format!("/api/terminal/sessions/{sid}"))
        .await
        .expect(204);
    assert_eq!(third.expect_error().await.0, codes::SESSION_CLOSED);
    for i in 0..3 {
        assert!(sessions(&c.admin(i)).await.is_empty(), "replica {i}");
        let refused = Terminal::attach(&c.admin(i), &sid, "").await.err();
        assert_eq!(refused.expect("ended").status, 404);
    }
}

#[tokio::test]
async fn a_replica_that_dies_ends_only_its_own_terminals() {
    let mut c = Cluster::start(3).await;
    let bob = c.user("bob", Role::User).await;
    let mut doomed = Terminal::open(&c.admin(0), c.server.id).await;
    let doomed_id = doomed.session_id().to_owned();
    let mut survivor = Terminal::open(&c.admin(1), c.server.id).await;
    let survivor_id = survivor.session_id().to_owned();
    echo(&mut doomed, "DOOMED").await;
    // A joiner on replica 2 of the session on replica 0, and one of the session on replica 1.
    let link = share(&c.admin(0), &doomed_id, "ro", None).await;
    let (mut orphan, _) = join(&c.on(2, &bob), &link, "admin", "ro").await;
    let link = share(&c.admin(1), &survivor_id, "ro", None).await;
    let (mut kept, _) = join(&c.on(2, &bob), &link, "admin", "ro").await;

    c.replicas[0].signal(libc::SIGKILL);
    c.replicas[0].wait_exit().await;

    // The joiner of the dead replica's session is told, within a ping or two.
    let started = Instant::now();
    let (code, _) = orphan.expect_error().await;
    assert_eq!(code, codes::REPLICA_GONE);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // The other replicas and their terminals carry on: typing, joining and reattaching.
    let alive = echo(&mut survivor, "ALIVE").await;
    kept.read_until(alive.printed.as_bytes()).await;
    survivor.detach().await;
    let mut back = Terminal::attach(&c.admin(2), &survivor_id, "")
        .await
        .unwrap_or_else(|r| panic!("reattach refused: {} {}", r.status, r.body));
    back.expect_session().await;
    // The owner's socket learns who is joined (bob, on replica 2) before the replay.
    match back.next_control().await {
        Control::Frame(ServerFrame::Participants { participants }) => {
            assert_eq!(participants.len(), 1);
            assert_eq!(participants[0].username, "bob");
        }
        other => panic!("expected the participants, got {other:?}"),
    }
    back.expect_replay().await;
    echo(&mut back, "BACK").await;

    // The dead replica's session drops out of every listing once its entry lapses; until then
    // reaching it fails cleanly, never hangs.
    let deadline = Instant::now() + WAIT;
    loop {
        let listed = sessions(&c.admin(1)).await;
        let ids: Vec<_> = listed.iter().map(|s| s.session_id.as_str()).collect();
        assert!(ids.contains(&survivor_id.as_str()), "{ids:?}");
        if !ids.contains(&doomed_id.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead replica's session is still listed"
        );
        sleep(Duration::from_millis(500)).await;
    }
    let refused = Terminal::attach(&c.admin(2), &doomed_id, "").await.err();
    assert_eq!(refused.expect("gone with its replica").status, 404);
    assert!(matches!(orphan.wait_closed().await, Closed::Clean(_)));
    drop(doomed);
}

#[tokio::test]
async fn an_admin_change_on_one_replica_ends_the_access_it_took_on_every_replica() {
    let c = Cluster::start(3).await;
    let bob = c.user("bob", Role::User).await;
    let carol = c.user("carol", Role::User).await;
    let users: Vec<UserView> = c.admin(0).get("/api/users").await.expect(200).json();
    let id_of = |name: &str| users.iter().find(|u| u.username == name).expect(name).id;

    // Bob's own terminal runs on replica 0, his socket is bridged from replica 2; carol joins
    // the admin's session on replica 1 through replica 2.
    let first = Terminal::open(&c.on(0, &bob), c.server.id).await;
    let bobs = first.session_id().to_owned();
    first.detach().await;
    let mut bridged = Terminal::attach(&c.on(2, &bob), &bobs, "")
        .await
        .unwrap_or_else(|r| panic!("reattach refused: {} {}", r.status, r.body));
    bridged.expect_session().await;
    bridged.expect_replay().await;
    let mut owner = Terminal::open(&c.admin(1), c.server.id).await;
    let sid = owner.session_id().to_owned();
    let link = share(&c.admin(1), &sid, "rw", None).await;
    let (mut joined, _) = join(&c.on(2, &carol), &link, "admin", "rw").await;

    // Both leave the server's group, changed through replica 0 and replica 2 respectively.
    let regroup = UpdateUserRequest {
        allowed_groups: Some(vec!["elsewhere".into()]),
        ..Default::default()
    };
    c.admin(0)
        .put(&format!("/api/users/{}", id_of("carol")), &regroup)
        .await
        .expect(200);
    assert_eq!(joined.expect_error().await.0, codes::ACCESS_REVOKED);
    c.admin(2)
        .put(&format!("/api/users/{}", id_of("bob")), &regroup)
        .await
        .expect(200);
    assert_eq!(bridged.expect_error().await.0, codes::ACCESS_REVOKED);
    for i in 0..3 {
        let refused = Terminal::attach(&c.on(i, &bob), &bobs, "").await.err();
        assert_eq!(refused.expect("ended").status, 404, "replica {i}");
    }
    // The admin's own session goes on.
    echo(&mut owner, "STILL").await;
}
