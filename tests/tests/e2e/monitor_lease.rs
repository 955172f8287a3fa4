//! The monitor lease between replicas: two gateways on one real PostgreSQL database, exactly one
//! of which probes; when it dies the other takes over once the lease expires (20 s, retried
//! every 5 s), and when it stops cleanly it gives the lease up on its way out.

use std::time::Duration;

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::postgres::{self, PgDatabase};
use gatehouse_tests::{Api, Gatehouse, Sshd};
use tokio::time::{sleep, Instant};
use wire::monitor::ServerState;
use wire::Health;

use crate::monitor::{fast_monitor, wait_for_status};

/// Both replicas must decrypt the same stored credentials.
const SHARED_SECRET: &str = "monitor-lease-test-secret-key-0123456789";
/// A dead holder's lease expires after 20 s and the other replica retries every 5 s: 25 s at
/// most, with room for a slow machine.
const TAKEOVER: Duration = Duration::from_secs(40);

/// A gateway on the shared database, probing every second.
async fn replica(db: &PgDatabase) -> Gatehouse {
    let mut env = fast_monitor(1);
    env.push(("GATEHOUSE_DATABASE_URL".into(), db.url()));
    env.push(("GATEHOUSE_SECRET_KEY".into(), SHARED_SECRET.into()));
    Gatehouse::start_with(Options {
        env,
        ..Options::default()
    })
    .await
}

async fn health(gh: &Gatehouse) -> Health {
    gh.api().get("/api/health").await.expect(200).json()
}

/// Waits until exactly one of `replicas` leads; returns its index.
async fn single_leader(replicas: &[&Gatehouse]) -> usize {
    let deadline = Instant::now() + gatehouse_tests::WAIT;
    loop {
        let mut roles = Vec::new();
        for gh in replicas {
            roles.push(health(gh).await.monitor_role);
        }
        let leaders: Vec<usize> = (0..roles.len()).filter(|&i| roles[i] == "leader").collect();
        assert!(leaders.len() <= 1, "two replicas lead at once: {roles:?}");
        assert!(
            roles.iter().all(|r| r == "leader" || r == "follower"),
            "{roles:?}"
        );
        if let [leader] = leaders[..] {
            return leader;
        }
        assert!(Instant::now() < deadline, "no replica took the lease");
        sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to [`TAKEOVER`]) for `gh` to lead.
async fn wait_leader(gh: &Gatehouse) {
    let deadline = Instant::now() + TAKEOVER;
    while health(gh).await.monitor_role != "leader" {
        assert!(
            Instant::now() < deadline,
            "the surviving replica did not take the lease within {TAKEOVER:?}:\n{}",
            gatehouse_tests::tail(&gh.log(), 4000)
        );
        sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the server's `checked_at` moves past `after`: someone is probing.
async fn wait_probed_after(api: &Api, server_id: i32, after: &Option<String>) {
    wait_for_status(api, server_id, "probed again", TAKEOVER, |s| {
        s.state == ServerState::Online && s.checked_at.is_some() && s.checked_at > *after
    })
    .await;
}

#[tokio::test]
async fn two_gateways_on_one_postgres_hand_the_lease_over_when_the_holder_dies() {
    let db = postgres::create_database();
    let sshd = Sshd::start();
    let first = replica(&db).await;
    let second = replica(&db).await;
    let leader = single_leader(&[&first, &second]).await;
    let (mut holder, survivor) = if leader == 0 {
        (first, second)
    } else {
        (second, first)
    };
    let admin = survivor.admin().await;
    let server = admin.create_server(&sshd.password_server("leased")).await;
    let probed = wait_for_status(&admin, server.id, "online", gatehouse_tests::WAIT, |s| {
        s.state == ServerState::Online
    })
    .await;
    assert_eq!(health(&survivor).await.monitor_role, "follower");

    // A hard kill: no chance to release the lease, so it must expire.
    holder.signal(libc::SIGKILL);
    assert!(holder.wait_exit().await.is_some(), "the holder did not die");
    wait_leader(&survivor).await;
    let before = wait_for_status(&admin, server.id, "online", TAKEOVER, |s| {
        s.state == ServerState::Online
    })
    .await;
    assert!(before.checked_at >= probed.checked_at);
    wait_probed_after(&admin, server.id, &before.checked_at).await;
}

#[tokio::test]
async fn a_gateway_that_stops_cleanly_gives_its_lease_up() {
    let db = postgres::create_database();
    let first = replica(&db).await;
    let second = replica(&db).await;
    let leader = single_leader(&[&first, &second]).await;
    let (mut holder, survivor) = if leader == 0 {
        (first, second)
    } else {
        (second, first)
    };
    let holder_id = health(&holder).await.instance_id;

    let (status, by_itself) = holder.terminate();
    assert!(by_itself && status.success(), "clean stop: {status}");
    let lease_holder = db.psql("SELECT holder FROM leases WHERE name = 'monitor'");
    assert_ne!(
        lease_holder.trim(),
        holder_id,
        "the stopped replica still holds the lease"
    );
    wait_leader(&survivor).await;
}
