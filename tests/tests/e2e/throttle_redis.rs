//! Sign-in throttling shared through Redis: two gateways (each its own SQLite, the same admin
//! password) count against one Redis, so failures spread over both lock the account or the IP on
//! both, and a success on either clears the account for both. A Redis that is down, at start or
//! later, never stops sign-in: each gateway counts on its own until Redis answers again.

use std::time::Duration;

use gatehouse_tests::redis::{Redis, REDIS_PASSWORD};
use gatehouse_tests::{Api, Gatehouse, Response, ADMIN_PASSWORD, WAIT};
use tokio::time::{sleep, Instant};

/// The uniform 429 answer; returns its Retry-After in seconds.
fn retry_after(resp: Response) -> u64 {
    resp.expect_error(429, "too_many_attempts")
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds")
}

async fn wrong_password(api: &Api, username: &str) {
    api.login_raw(username, "wrong-password")
        .await
        .expect_error(401, "invalid_credentials");
}

/// Two gateways on `redis` with the extra `env`.
async fn replicas(redis: &Redis, env: &[(&str, &str)]) -> (Gatehouse, Gatehouse) {
    let url = redis.url();
    let mut all = vec![("GATEHOUSE_REDIS_URL", url.as_str())];
    all.extend_from_slice(env);
    (
        Gatehouse::start_env(&all).await,
        Gatehouse::start_env(&all).await,
    )
}

/// Fails a sign-in on `api` with a fresh name until its failure count shows up in Redis: the
/// gateway is sharing counts again.
async fn wait_until_counted_in_redis(api: &Api, redis: &Redis, tag: &str) {
    let deadline = Instant::now() + WAIT;
    for attempt in 0.. {
        let name = format!("{tag}-{attempt}");
        wrong_password(api, &name).await;
        let key = format!("gatehouse:throttle:account:{name}:failures");
        if redis.cli(&["EXISTS", &key]) == "1" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not count in Redis again within {WAIT:?}"
        );
        sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn failures_on_two_replicas_lock_the_account_on_both_and_a_success_on_either_clears_it() {
    let redis = Redis::start();
    let (a, b) = replicas(&redis, &[("GATEHOUSE_LOGIN_LOCKOUT_SECS", "1")]).await;
    let (on_a, on_b) = (a.api(), b.api());
    for _ in 0..3 {
        wrong_password(&on_a, "admin").await;
    }
    for _ in 0..2 {
        wrong_password(&on_b, "Admin").await;
    }
    assert_eq!(
        retry_after(on_a.login_raw("admin", ADMIN_PASSWORD).await),
        1
    );
    assert_eq!(
        retry_after(on_b.login_raw("admin", ADMIN_PASSWORD).await),
        1
    );
    let earned = "gatehouse:throttle:account:admin:locks";
    assert_eq!(redis.cli(&["GET", earned]), "1");

    // After the lock, four failures on A; then B's success starts A's count over too: one more
    // failure on A is not the fifth, and the right password gets in.
    sleep(Duration::from_millis(1100)).await;
    for _ in 0..4 {
        wrong_password(&on_a, "admin").await;
    }
    on_b.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(redis.cli(&["EXISTS", earned]), "0");
    wrong_password(&on_a, "admin").await;
    on_a.login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn the_ip_limit_is_counted_across_replicas() {
    let redis = Redis::start();
    let (a, b) = replicas(
        &redis,
        &[
            ("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP", "4"),
            ("GATEHOUSE_LOGIN_LOCKOUT_SECS", "60"),
        ],
    )
    .await;
    let (on_a, on_b) = (a.api(), b.api());
    wrong_password(&on_a, "nobody-1").await;
    wrong_password(&on_a, "nobody-2").await;
    wrong_password(&on_b, "nobody-3").await;
    wrong_password(&on_b, "nobody-4").await;
    for api in [&on_a, &on_b] {
        let wait = retry_after(api.login_raw("admin", ADMIN_PASSWORD).await);
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
    }
    assert_eq!(
        redis.cli(&["EXISTS", "gatehouse:throttle:ip:127.0.0.1:lock"]),
        "1"
    );
}

#[tokio::test]
async fn without_redis_sign_in_works_and_failures_lock_each_replica_on_its_own() {
    let mut redis = Redis::start();
    let env = [
        ("GATEHOUSE_REDIS_URL", redis.url()),
        ("GATEHOUSE_LOGIN_LOCKOUT_SECS", "60".into()),
        // The polling below fails many sign-ins from this one IP.
        ("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP", "1000".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Gatehouse::start_env(&env).await;
    redis.stop();
    // A gateway that starts while Redis is down starts all the same.
    let b = Gatehouse::start_env(&env).await;
    let (on_a, on_b) = (a.api(), b.api());
    on_a.login("admin", ADMIN_PASSWORD).await;
    on_b.login("admin", ADMIN_PASSWORD).await;

    // Failures still lock, in the process that saw them.
    for _ in 0..5 {
        wrong_password(&on_a, "alice").await;
    }
    retry_after(on_a.login_raw("alice", "whatever").await);
    wrong_password(&on_b, "alice").await;
    assert!(
        a.log()
            .contains("redis did not answer the sign-in throttle"),
        "no warning about Redis in A's log"
    );
    assert!(
        !a.log().contains(REDIS_PASSWORD) && !b.log().contains(REDIS_PASSWORD),
        "the Redis password shows up in a log"
    );

    // Redis is back (empty): both count there again, and A's own lock still holds.
    redis.restart();
    wait_until_counted_in_redis(&on_a, &redis, "carol").await;
    wait_until_counted_in_redis(&on_b, &redis, "dave").await;
    retry_after(on_a.login_raw("alice", "whatever").await);
    for _ in 0..3 {
        wrong_password(&on_a, "erin").await;
    }
    for _ in 0..2 {
        wrong_password(&on_b, "erin").await;
    }
    retry_after(on_b.login_raw("erin", "whatever").await);
}
