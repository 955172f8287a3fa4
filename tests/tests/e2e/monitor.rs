//! The connectivity monitor: probes through each server's chain (TCP, SSH handshake, host-key
//! check), states in `GET /api/servers/status`, and who may see them. The lease between
//! replicas is in `monitor_lease.rs`.
//!
//! Every wait polls the status with a deadline: probes run every second here, but a loaded
//! machine may be slow, and nothing asserts how fast.

use std::time::Duration;

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::{Api, Bastion, Gatehouse, Sshd};
use tokio::time::{sleep, Instant};
use wire::monitor::{ServerState, ServerStatus};
use wire::servers::TestReport;
use wire::terminal::codes;
use wire::users::{CreateUserRequest, Role};
use wire::Health;

use crate::auth::user_request;

/// Environment for a gateway that probes every second and calls a server offline after
/// `failures` failed probes in a row.
pub(crate) fn fast_monitor(failures: u32) -> Vec<(String, String)> {
    [
        ("GATEHOUSE_MONITOR_ENABLED", "true".to_string()),
        ("GATEHOUSE_MONITOR_INTERVAL_SECS", "1".to_string()),
        ("GATEHOUSE_MONITOR_TIMEOUT_SECS", "5".to_string()),
        (
            "GATEHOUSE_MONITOR_FAILURES_BEFORE_OFFLINE",
            failures.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn monitored_gateway(failures: u32) -> Gatehouse {
    Gatehouse::start_with(Options {
        env: fast_monitor(failures),
        ..Options::default()
    })
    .await
}

pub(crate) async fn statuses(api: &Api) -> Vec<ServerStatus> {
    api.get("/api/servers/status").await.expect(200).json()
}

async fn status(api: &Api, server_id: i32) -> ServerStatus {
    statuses(api)
        .await
        .into_iter()
        .find(|s| s.server_id == server_id)
        .unwrap_or_else(|| panic!("server {server_id} is missing from /api/servers/status"))
}

/// Polls `server_id`'s status until `accept` holds; fails after `within` with the last status.
pub(crate) async fn wait_for_status(
    api: &Api,
    server_id: i32,
    what: &str,
    within: Duration,
    accept: impl Fn(&ServerStatus) -> bool,
) -> ServerStatus {
    let deadline = Instant::now() + within;
    loop {
        let current = status(api, server_id).await;
        if accept(&current) {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "server {server_id} was not {what} within {within:?}; last status: {current:?}"
        );
        sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_online(api: &Api, server_id: i32) -> ServerStatus {
    wait_for_status(api, server_id, "online", gatehouse_tests::WAIT, |s| {
        s.state == ServerState::Online
    })
    .await
}

async fn wait_offline(api: &Api, server_id: i32, code: &str) -> ServerStatus {
    wait_for_status(
        api,
        server_id,
        &format!("offline ({code})"),
        gatehouse_tests::WAIT,
        |s| s.state == ServerState::Offline && s.error_code.as_deref() == Some(code),
    )
    .await
}

#[tokio::test]
async fn a_stopped_sshd_goes_offline_and_comes_back_online() {
    let mut sshd = Sshd::start();
    let gh = monitored_gateway(2).await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("watched")).await;
    let mut wrong = sshd.password_server("wrong-password");
    wrong.password = Some("not-the-password".into());
    let wrong = admin.create_server(&wrong).await;

    let online = wait_online(&admin, server.id).await;
    wait_online(&admin, wrong.id).await;
    assert!(online.latency_ms.is_some(), "{online:?}");
    assert_eq!((online.error_code, online.error), (None, None));
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        None,
        "the monitor never pins a host key"
    );
    assert!(
        !sshd.log().contains("Accepted") && !sshd.log().contains("Failed password"),
        "a probe never authenticates, so a wrong password does not matter: {}",
        sshd.log()
    );

    sshd.stop();
    let offline = wait_offline(&admin, server.id, codes::UNREACHABLE).await;
    assert!(offline.consecutive_failures >= 2, "{offline:?}");
    assert!(offline.latency_ms.is_none(), "{offline:?}");
    assert_ne!(offline.since, online.since, "the change of state is dated");
    let message = offline.error.clone().unwrap_or_default();
    assert!(
        message.contains(&sshd.port().to_string()),
        "the error names the address: {message}"
    );

    sshd.restart();
    let back = wait_online(&admin, server.id).await;
    assert_eq!(back.consecutive_failures, 0);
    assert_eq!((back.error_code, back.error), (None, None));
    assert_ne!(back.since, offline.since);
}

#[tokio::test]
async fn a_server_behind_a_bastion_is_probed_through_it() {
    let net = Bastion::start();
    let gh = monitored_gateway(2).await;
    let admin = gh.admin().await;
    let (bastion, private) = crate::jump::register(&admin, &net).await;

    wait_online(&admin, bastion.id).await;
    let through = wait_online(&admin, private.id).await;
    assert!(through.latency_ms.is_some(), "{through:?}");
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        None,
        "the probe pins nothing"
    );
    assert_eq!(
        net.private.logins(),
        0,
        "only the bastion is logged in to: {}",
        net.private.log()
    );
}

#[tokio::test]
async fn a_changed_host_key_shows_as_offline_with_host_key_mismatch() {
    let mut sshd = Sshd::start();
    let gh = monitored_gateway(1).await;
    let admin = gh.admin().await;
    let server = admin.create_server(&sshd.password_server("rekeyed")).await;
    // A person's connection pins the key; the monitor only checks against it.
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", server.id))
        .await
        .expect(200)
        .json();
    assert!(report.ok, "{report:?}");
    wait_online(&admin, server.id).await;

    sshd.replace_host_key();
    let offline = wait_offline(&admin, server.id, codes::HOST_KEY_MISMATCH).await;
    let message = offline.error.unwrap_or_default();
    assert!(
        message.contains(&sshd.host_key_fingerprint()),
        "the error shows the presented key: {message}"
    );
}

#[tokio::test]
async fn status_lists_what_the_caller_may_see_and_unprobed_servers_as_unknown() {
    let sshd = Sshd::start();
    let gh = Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_MONITOR_ENABLED".into(), "false".into())],
        ..Options::default()
    })
    .await;
    let admin = gh.admin().await;
    let mut web = sshd.password_server("web-1");
    web.group = Some("web".into());
    let web = admin.create_server(&web).await;
    let mut db = sshd.password_server("db-1");
    db.group = Some("db".into());
    let db = admin.create_server(&db).await;

    let health: Health = gh.api().get("/api/health").await.expect(200).json();
    assert_eq!(
        health.monitor_role, "follower",
        "a disabled monitor never leads"
    );

    let all = statuses(&admin).await;
    let ids: Vec<i32> = all.iter().map(|s| s.server_id).collect();
    assert!(ids.contains(&web.id) && ids.contains(&db.id), "{all:?}");
    for s in &all {
        assert_eq!(s.state, ServerState::Unknown, "{s:?}");
        assert_eq!(
            (&s.since, &s.checked_at, s.latency_ms),
            (&None, &None, None)
        );
        assert_eq!((&s.error_code, &s.error), (&None, &None));
    }

    admin
        .create_user(&user_request("wendy", "wendy-password-1", &["web"]))
        .await;
    admin
        .create_user(&CreateUserRequest {
            role: Role::Auditor,
            ..user_request("audrey", "audrey-password-1", &["web", "db"])
        })
        .await;
    let wendy = gh.api().login("wendy", "wendy-password-1").await.bearer;
    let audrey = gh.api().login("audrey", "audrey-password-1").await.bearer;
    let seen: Vec<i32> = statuses(&wendy).await.iter().map(|s| s.server_id).collect();
    assert_eq!(seen, vec![web.id], "a user sees her groups' servers only");
    assert!(statuses(&audrey).await.is_empty(), "auditors see no server");
    gh.api()
        .get("/api/servers/status")
        .await
        .expect_error(401, "unauthenticated");
}

#[tokio::test]
async fn a_single_gateway_on_sqlite_is_the_monitor_leader() {
    let gh = Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_MONITOR_ENABLED".into(), "true".into())],
        ..Options::default()
    })
    .await;
    let deadline = Instant::now() + gatehouse_tests::WAIT;
    loop {
        let health: Health = gh.api().get("/api/health").await.expect(200).json();
        if health.monitor_role == "leader" {
            break;
        }
        assert_eq!(health.monitor_role, "follower");
        assert!(
            Instant::now() < deadline,
            "the only gateway never took the lease"
        );
        sleep(Duration::from_millis(100)).await;
    }
}
