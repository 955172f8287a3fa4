//! A joiner that stops reading does not slow the owner: the hub feeds joiners from their own
//! bounded queues and never waits for one.

use std::time::Duration;

use gatehouse_tests::terminal::{Control, Marker};
use gatehouse_tests::{find, Terminal};
use tokio::time::Instant;
use wire::terminal::ServerFrame;
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;
use crate::terminal_sessions::Rig;
use crate::terminal_share::{join, share};

const OUTPUT: u64 = 32 << 20;
const RUNS: usize = 3;

/// Floods the owner's terminal with `OUTPUT` bytes and reads them all (counting what the gateway
/// skipped because this reader fell behind); returns how long it took.
async fn flood(owner: &mut Terminal) -> Duration {
    let end = Marker::new("FLOODEND");
    let started = Instant::now();
    owner
        .send_line(&format!(
            "head -c {OUTPUT} /dev/zero | tr '\\0' x; printf '%s\\n' {}",
            end.shell
        ))
        .await;
    let mut total = 0u64;
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let bytes = owner
            .next_output(gatehouse_tests::WAIT)
            .await
            .unwrap_or_else(|| panic!("the owner's output stalled after {total} bytes"));
        total += bytes.len() as u64;
        tail.extend_from_slice(&bytes);
        if find(&tail, end.printed.as_bytes()).is_some() {
            break;
        }
        tail.drain(..tail.len().saturating_sub(64));
    }
    let mut skipped = 0u64;
    while !owner.pending_controls().is_empty() {
        if let Control::Frame(ServerFrame::Skipped { bytes }) = owner.next_control().await {
            skipped += bytes;
        }
    }
    assert!(
        total + skipped >= OUTPUT,
        "the owner got {total} (and {skipped} skipped) of {OUTPUT} bytes"
    );
    started.elapsed()
}

#[tokio::test]
async fn a_joiner_that_never_reads_does_not_lower_the_owners_throughput() {
    let rig = Rig::with(&[]).await;
    rig.admin
        .create_user(&CreateUserRequest {
            role: Role::User,
            ..user_request("bob", "bob-password-1", &["ops"])
        })
        .await;
    let bob = rig.gh.api().login("bob", "bob-password-1").await.bearer;
    let mut owner = Terminal::open(&rig.admin, rig.server.id).await;
    let sid = owner.session_id().to_owned();
    let warm = Marker::new("WARM");
    owner
        .send_line(&format!("stty -echo; printf '%s\\n' {}", warm.shell))
        .await;
    owner.read_until(warm.printed.as_bytes()).await;

    // The best of a few runs each way, so that load elsewhere on the machine (the suite runs in
    // parallel) does not decide the outcome.
    let mut alone = Duration::MAX;
    for _ in 0..RUNS {
        alone = alone.min(flood(&mut owner).await);
    }

    // A joiner that reads its greeting, then nothing more.
    let token = share(&rig.admin, &sid, "ro", None).await;
    let (stalled, _) = join(&bob, &token, "admin", "ro").await;
    let mut watched = Duration::MAX;
    for _ in 0..RUNS {
        watched = watched.min(flood(&mut owner).await);
    }
    let ratio = alone.as_secs_f64() / watched.as_secs_f64();
    eprintln!("owner alone: {alone:?}; with a stalled joiner: {watched:?}; ratio {ratio:.2}");
    assert!(
        ratio >= 0.5,
        "a stalled joiner slowed the owner: {alone:?} alone, {watched:?} with it"
    );

    // The gateway and the session go on; the stalled joiner is still a participant.
    let after = Marker::new("AFTER");
    owner
        .send_line(&format!("printf '%s\\n' {}", after.shell))
        .await;
    owner.read_until(after.printed.as_bytes()).await;
    rig.admin.get("/api/health").await.expect(200);
    stalled.drop_connection();
}
