//! Webhooks against a real HTTP receiver on loopback: signed JSON events for what really happens
//! at the gateway (sign-ins, servers, terminals, files, shares, recordings), per-event
//! subscriptions, retries with back-off from a queue that survives a restart, the test button,
//! the delivery log, write-only secrets, admin-only management and input validation.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gatehouse_tests::files::RemoteDir;
use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{free_port, Api, Auth, Gatehouse, Sshd, Storage, Terminal, WAIT};
use serde_json::{json, Value};
use tokio::time::{sleep, Instant};
use wire::users::{CreateUserRequest, Role};
use wire::webhooks::{DeliveryState, DeliveryView, WebhookCreated, WebhookView};

use crate::auth::user_request;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }

    fn event(&self) -> String {
        self.header("x-gatehouse-event").to_owned()
    }
}

#[derive(Default)]
struct Inbox {
    got: Mutex<Vec<Received>>,
    /// Requests still to be answered 500.
    fail: AtomicUsize,
}

/// A webhook receiver: records every request, answers 500 to the first `fail` ones, 200 after.
struct Receiver {
    inbox: Arc<Inbox>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        Self::start_on(0, 0).await
    }

    async fn start_on(port: u16, fail: usize) -> Receiver {
        let inbox = Arc::new(Inbox::default());
        inbox.fail.store(fail, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            inbox,
            addr,
            server,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.got.lock().expect("inbox").clone()
    }

    fn events(&self) -> Vec<String> {
        self.got().iter().map(Received::event).collect()
    }

    /// Waits until a request for `event` arrived and returns it.
    async fn wait_for(&self, event: &str) -> Received {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(r) = self.got().into_iter().find(|r| r.event() == event) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "no {event} event arrived; got {:?}",
                self.events()
            );
            sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.got.lock().expect("inbox").push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    let failing = inbox
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the request the way the documentation tells receivers to.
fn assert_signed(r: &Received, secret: &str) {
    let timestamp = r.header("x-gatehouse-timestamp");
    let sent: i64 = timestamp.parse().expect("a unix timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((now - sent).abs() < 300, "a fresh timestamp: {sent}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mac = ring::hmac::sign(&key, format!("{timestamp}.{}", r.body).as_bytes());
    assert_eq!(
        r.header("x-gatehouse-signature"),
        format!("sha256={}", hex(mac.as_ref())),
        "the signature covers `timestamp.body` with the secret"
    );
    assert!(r.header("content-type").starts_with("application/json"));
    let body = r.json();
    assert_eq!(body["event"], r.event());
    assert_eq!(body["id"], r.header("x-gatehouse-delivery"));
    assert!(body["timestamp"].as_str().is_some_and(|t| t.contains('T')));
    assert!(body["data"].is_object(), "{body}");
    let keys: BTreeSet<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["data", "event", "id", "timestamp"]));
}

async fn create_hook(
    admin: &Api,
    name: &str,
    url: &str,
    events: &[&str],
    secret: Option<&str>,
) -> WebhookCreated {
    let body =
        json!({"name": name, "url": url, "events": events, "secret": secret, "enabled": true});
    admin.post("/api/webhooks", &body).await.expect(201).json()
}

async fn deliveries(admin: &Api, hook: i32) -> Vec<DeliveryView> {
    admin
        .get(&format!("/api/webhooks/{hook}/deliveries"))
        .await
        .expect(200)
        .json()
}

/// Waits until the hook's delivery of `event` satisfies `done`.
async fn wait_delivery(
    admin: &Api,
    hook: i32,
    event: &str,
    timeout: Duration,
    done: impl Fn(&DeliveryView) -> bool,
) -> DeliveryView {
    let deadline = Instant::now() + timeout;
    loop {
        let log = deliveries(admin, hook).await;
        if let Some(d) = log.iter().find(|d| d.event == event && done(d)) {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "delivery log: {log:?}");
        sleep(Duration::from_millis(100)).await;
    }
}

async fn metric(admin: &Api, outcome: &str) -> f64 {
    let text = admin.get("/metrics").await.expect(200).text;
    let series = format!("gatehouse_webhook_deliveries_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[tokio::test]
async fn signed_events_arrive_for_what_happens_and_hooks_get_only_their_events() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let all = Receiver::start().await;
    let logins = Receiver::start().await;
    let secret = "a-shared-secret-for-the-receiver";
    let everything = create_hook(&admin, "all", &all.url(), &["*"], Some(secret)).await;
    assert_eq!(everything.secret, None, "a given secret is not echoed");
    assert!(everything.webhook.has_secret);
    let only_logins = create_hook(&admin, "logins", &logins.url(), &["login"], None).await;
    let generated = only_logins
        .secret
        .clone()
        .expect("a generated secret, once");
    assert!(generated.len() >= 32, "{generated}");

    // Sign-ins, good and bad.
    gh.api()
        .login("admin", gatehouse_tests::ADMIN_PASSWORD)
        .await;
    gh.api()
        .login_raw("admin", "wrong-password")
        .await
        .expect(401);
    let login = all.wait_for("login").await;
    assert_signed(&login, secret);
    assert_eq!(login.json()["data"]["username"], "admin");
    assert_eq!(login.json()["data"]["outcome"], "success");
    let failed = all.wait_for("login_failed").await;
    assert_signed(&failed, secret);
    assert_eq!(failed.json()["data"]["username"], "admin");

    // Servers added, updated, deleted.
    let mut req = sshd.password_server("box");
    let server = admin.create_server(&req).await;
    req.description = "changed".into();
    admin
        .put(&format!("/api/servers/{}", server.id), &req)
        .await
        .expect(200);
    let spare = admin.create_server(&sshd.password_server("spare")).await;
    admin
        .delete(&format!("/api/servers/{}", spare.id))
        .await
        .expect(204);
    for event in ["server_added", "server_updated", "server_deleted"] {
        let r = all.wait_for(event).await;
        assert_signed(&r, secret);
    }
    let added = all.wait_for("server_added").await.json();
    assert_eq!(added["data"]["server_id"], server.id);

    // A terminal (ssh_connect), shared and joined, then closed (recording_ready).
    let bob_password = "bob-password-1";
    admin
        .create_user(&CreateUserRequest {
            role: Role::Admin,
            ..user_request("bob", bob_password, &[])
        })
        .await;
    let bob = gh.api().login("bob", bob_password).await;
    let mut term = Terminal::open(&admin, server.id).await;
    let sid = term.session_id().to_owned();
    let m = Marker::new("HOOKED");
    term.send_line(&format!("printf '%s\\n' {}", m.shell)).await;
    term.read_until(m.printed.as_bytes()).await;
    let token = crate::terminal_share::share(&admin, &sid, "ro", None).await;
    let (joined, _) = crate::terminal_share::join(&bob.bearer, &token, "admin", "ro").await;
    for event in ["ssh_connect", "share_created", "share_joined"] {
        assert_signed(&all.wait_for(event).await, secret);
    }
    assert_eq!(
        all.wait_for("ssh_connect").await.json()["data"]["server_id"],
        server.id
    );
    drop(joined);
    term.close().await;
    let ready = all.wait_for("recording_ready").await;
    assert_signed(&ready, secret);
    assert!(ready.json()["data"]["recording_id"].is_string());

    // Files: an upload and a delete.
    let files = gatehouse_tests::Files::new(&admin, server.id);
    let dir = RemoteDir::new();
    files
        .upload(&dir.remote(""), false, &[("hello.txt", b"hi")])
        .await
        .expect(200);
    files.delete(&dir.remote("hello.txt")).await.expect(200);
    for event in ["sftp_upload", "sftp_delete"] {
        assert_signed(&all.wait_for(event).await, secret);
    }

    // The login-only hook saw sign-ins and nothing else, signed with its generated secret.
    let r = logins.wait_for("login").await;
    assert_signed(&r, &generated);
    sleep(Duration::from_millis(500)).await;
    let seen: BTreeSet<String> = logins.events().into_iter().collect();
    assert_eq!(seen, BTreeSet::from(["login".to_owned()]));

    // Every delivery is in the log with its status code; no secret is ever read back.
    let log = deliveries(&admin, everything.webhook.id).await;
    assert!(log.iter().any(|d| d.event == "login"
        && d.state == DeliveryState::Delivered
        && d.status_code == Some(200)
        && d.attempts == 1));
    let listed = admin.get("/api/webhooks").await.expect(200);
    assert!(!listed.text.contains(secret) && !listed.text.contains(&generated));
    let hooks: Vec<WebhookView> = listed.json();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|h| h.has_secret));
    assert!(
        !gh.storage_contains(secret.as_bytes()),
        "the secret is sealed at rest"
    );
}

async fn failed_deliveries_are_retried_with_back_off_until_the_receiver_answers(storage: Storage) {
    let gh = Gatehouse::start_with(Options {
        storage,
        env: vec![("GATEHOUSE_WEBHOOK_RETRY_BASE_SECS".into(), "1".into())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let receiver = Receiver::start_on(0, 2).await;
    let hook = create_hook(
        &admin,
        "flaky",
        &receiver.url(),
        &["login_failed"],
        Some("s3cret"),
    )
    .await;
    let retries_before = metric(&admin, "retry").await;
    let success_before = metric(&admin, "success").await;

    gh.api()
        .login_raw("nobody", "wrong-password")
        .await
        .expect(401);
    let done = wait_delivery(&admin, hook.webhook.id, "login_failed", WAIT, |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert_eq!(done.attempts, 3, "{done:?}");
    assert_eq!(done.status_code, Some(200));
    assert!(done.delivered_at.is_some());

    let got = receiver.got();
    assert_eq!(got.len(), 3, "two 500s, then the 200");
    for r in &got {
        assert_signed(r, "s3cret");
        assert_eq!(r.body, got[0].body, "every attempt sends the same body");
        assert_eq!(
            r.header("x-gatehouse-delivery"),
            got[0].header("x-gatehouse-delivery")
        );
    }
    // Back-off: about 1 s, then about 2 s (base 1 s, doubling).
    let first = got[1].at - got[0].at;
    let second = got[2].at - got[1].at;
    assert!(first >= Duration::from_millis(900), "{first:?}");
    assert!(second >= Duration::from_millis(1900), "{second:?}");
    assert!(second > first, "{first:?} then {second:?}");

    assert!(metric(&admin, "retry").await >= retries_before + 2.0);
    assert!(metric(&admin, "success").await >= success_before + 1.0);
}

async fn a_delivery_queued_while_the_receiver_is_down_is_sent_after_a_restart(storage: Storage) {
    let mut gh = Gatehouse::start_with(Options {
        storage,
        env: vec![("GATEHOUSE_WEBHOOK_RETRY_BASE_SECS".into(), "1".into())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    // Nothing listens there yet.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let hook = create_hook(&admin, "later", &url, &["login_failed"], Some("s3cret")).await;
    gh.api()
        .login_raw("nobody", "wrong-password")
        .await
        .expect(401);
    let failing = wait_delivery(&admin, hook.webhook.id, "login_failed", WAIT, |d| {
        d.attempts >= 1
    })
    .await;
    assert_eq!(failing.state, DeliveryState::Pending);
    assert_eq!(failing.status_code, None);
    assert!(failing.error.as_deref().is_some_and(|e| !e.is_empty()));
    assert!(failing.next_attempt_at.is_some());

    gh.restart().await;
    let receiver = Receiver::start_on(port, 0).await;
    let r = receiver.wait_for("login_failed").await;
    assert_signed(&r, "s3cret");
    let admin = gh.admin().await;
    let done = wait_delivery(&admin, hook.webhook.id, "login_failed", WAIT, |d| {
        d.state == DeliveryState::Delivered
    })
    .await;
    assert!(done.attempts >= 2, "{done:?}");
    // Exactly once.
    sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 1);
}

on_every_storage!(
    failed_deliveries_are_retried_with_back_off_until_the_receiver_answers,
    a_delivery_queued_while_the_receiver_is_down_is_sent_after_a_restart,
);

#[tokio::test]
async fn the_test_button_fires_only_that_hook_once() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let one = Receiver::start().await;
    let two = Receiver::start().await;
    let broken = Receiver::start_on(0, 100).await;
    let first = create_hook(&admin, "one", &one.url(), &["*"], Some("one-secret")).await;
    create_hook(&admin, "two", &two.url(), &["*"], Some("two-secret")).await;
    let failing = create_hook(&admin, "broken", &broken.url(), &["*"], None).await;

    let sent: DeliveryView = admin
        .post_empty(&format!("/api/webhooks/{}/test", first.webhook.id))
        .await
        .expect(200)
        .json();
    assert_eq!(sent.state, DeliveryState::Delivered);
    assert_eq!(sent.status_code, Some(200));
    assert_eq!(sent.event, "test");
    let r = one.wait_for("test").await;
    assert_signed(&r, "one-secret");
    assert_eq!(r.json()["data"]["webhook_id"], first.webhook.id);

    // A receiver answering 500: reported, logged, not retried.
    let refused: DeliveryView = admin
        .post_empty(&format!("/api/webhooks/{}/test", failing.webhook.id))
        .await
        .expect(200)
        .json();
    assert_eq!(refused.state, DeliveryState::Failed);
    assert_eq!(refused.status_code, Some(500));
    assert_eq!(refused.attempts, 1);
    sleep(Duration::from_secs(3)).await;
    assert_eq!(one.events(), ["test"]);
    assert!(two.events().is_empty(), "{:?}", two.events());
    assert_eq!(broken.events(), ["test"], "not retried");
    let log = deliveries(&admin, failing.webhook.id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].error.as_deref().map(|e| e.contains("500")),
        Some(true)
    );

    // An admin may send it again.
    let again: DeliveryView = admin
        .post_empty(&format!(
            "/api/webhooks/{}/deliveries/{}/retry",
            failing.webhook.id, refused.id
        ))
        .await
        .expect(202)
        .json();
    assert_eq!(again.state, DeliveryState::Pending);
    wait_delivery(&admin, failing.webhook.id, "test", WAIT, |d| {
        d.attempts == 2
    })
    .await;
    admin
        .post_empty(&format!(
            "/api/webhooks/{}/deliveries/{}/retry",
            first.webhook.id, sent.id
        ))
        .await
        .expect_error(409, "already_delivered");
}

#[tokio::test]
async fn webhooks_are_admin_only_validated_and_keep_their_secret() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("carol", "carol-password-1", &[]))
        .await;
    let carol = gh.api().login("carol", "carol-password-1").await.bearer;
    let anon = gh.api().with_auth(Auth::None);
    let body = json!({"name": "x", "url": "http://127.0.0.1:9/hook", "events": ["*"]});
    carol.get("/api/webhooks").await.expect(403);
    carol.post("/api/webhooks", &body).await.expect(403);
    anon.get("/api/webhooks")
        .await
        .expect_error(401, "unauthenticated");

    for (url, why) in [
        ("ftp://example.com/hook", "scheme"),
        ("not a url", "syntax"),
        ("http://", "host"),
        ("", "empty"),
    ] {
        let bad = json!({"name": "x", "url": url, "events": ["login"]});
        admin
            .post("/api/webhooks", &bad)
            .await
            .expect_error(400, "invalid_url");
        let _ = why;
    }
    let bad = json!({"name": "x", "url": "https://example.com/", "events": ["login", "nope"]});
    let resp = admin
        .post("/api/webhooks", &bad)
        .await
        .expect_error(400, "unknown_event");
    assert!(resp.text.contains("nope"), "{}", resp.text);
    let bad = json!({"name": "", "url": "https://example.com/", "events": ["login"]});
    admin.post("/api/webhooks", &bad).await.expect(400);
    let bad = json!({"name": "x", "url": "https://example.com/", "events": []});
    admin.post("/api/webhooks", &bad).await.expect(400);

    let created: WebhookCreated = admin.post("/api/webhooks", &body).await.expect(201).json();
    let id = created.webhook.id;
    let secret = created.secret.expect("generated");
    let shown = admin.get(&format!("/api/webhooks/{id}")).await.expect(200);
    assert!(!shown.text.contains(&secret));
    assert!(!shown.text.contains("\"secret\""), "{}", shown.text);

    // Updating other fields keeps the secret; a new one replaces it, still unreadable.
    let changed: WebhookView = admin
        .put(
            &format!("/api/webhooks/{id}"),
            &json!({"name": "renamed", "events": ["login", "server_added"], "enabled": false}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed.name, "renamed");
    assert_eq!(changed.events, ["login", "server_added"]);
    assert!(!changed.enabled && changed.has_secret);
    let resp = admin
        .put(
            &format!("/api/webhooks/{id}"),
            &json!({"secret": "new-secret-value"}),
        )
        .await
        .expect(200);
    assert!(!resp.text.contains("new-secret-value"));
    admin
        .put(
            &format!("/api/webhooks/{id}"),
            &json!({"url": "gopher://x"}),
        )
        .await
        .expect_error(400, "invalid_url");
    carol
        .delete(&format!("/api/webhooks/{id}"))
        .await
        .expect(403);

    // Changes are audited.
    admin
        .delete(&format!("/api/webhooks/{id}"))
        .await
        .expect(204);
    admin
        .get(&format!("/api/webhooks/{id}"))
        .await
        .expect_error(404, "not_found");
    let audit = admin
        .get("/api/audit?action=webhook.")
        .await
        .expect(200)
        .text;
    for action in ["webhook.create", "webhook.update", "webhook.delete"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    assert!(!audit.contains(&secret) && !audit.contains("new-secret-value"));
}

#[tokio::test]
async fn monitor_transitions_and_a_refused_host_key_are_announced() {
    let mut sshd = Sshd::start();
    let gh = Gatehouse::start_with(Options {
        env: crate::monitor::fast_monitor(1),
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let receiver = Receiver::start().await;
    let events = ["server_online", "server_offline", "host_key_changed"];
    create_hook(&admin, "ops", &receiver.url(), &events, Some("ops-secret")).await;
    let server = admin.create_server(&sshd.password_server("watched")).await;
    let online = receiver.wait_for("server_online").await;
    assert_signed(&online, "ops-secret");
    assert_eq!(online.json()["data"]["server_id"], server.id);

    // A use pins the key; then the host is re-keyed and another user's connection is refused.
    admin
        .post_empty(&format!("/api/servers/{}/test", server.id))
        .await
        .expect(200);
    admin
        .create_user(&CreateUserRequest {
            role: Role::Admin,
            ..user_request("dora", "dora-password-1", &[])
        })
        .await;
    let dora = gh.api().login("dora", "dora-password-1").await.bearer;
    sshd.replace_host_key();
    gatehouse_tests::Files::new(&dora, server.id)
        .ls(Some("/"))
        .await
        .expect_error(502, "host_key_mismatch");
    let changed = receiver.wait_for("host_key_changed").await;
    assert_signed(&changed, "ops-secret");
    let data = &changed.json()["data"];
    assert_eq!(data["server_id"], server.id);
    assert_eq!(data["username"], "dora");
    assert_eq!(data["presented_fingerprint"], sshd.host_key_fingerprint());

    // The monitor sees the mismatch too: the server goes offline, announced once.
    let offline = receiver.wait_for("server_offline").await;
    assert_signed(&offline, "ops-secret");
    assert_eq!(
        offline.json()["data"]["details"]["error_code"],
        "host_key_mismatch"
    );
    let seen: BTreeSet<String> = receiver.events().into_iter().collect();
    assert!(
        seen.iter().all(|e| events.contains(&e.as_str())),
        "{seen:?}"
    );
}
