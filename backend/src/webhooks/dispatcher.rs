//! The background sender: takes due deliveries from the queue, POSTs them signed, and records
//! what happened. A 2xx answer delivers; anything else (another status, a refused connection, a
//! timeout) schedules a retry after an exponential back-off (`webhook_retry_base_secs` · 2^n,
//! capped at an hour, plus jitter so a recovering receiver is not hit by every retry at once),
//! until `MAX_ATTEMPTS`, when the delivery is marked failed.
//!
//! It wakes when an event is published and polls every few seconds besides, so rows left due by
//! a restart, or queued by another replica, go out too. Every replica runs one; a conditional
//! claim (`store::claim`) keeps two from sending the same row. Delivered and failed rows are the
//! delivery log, pruned after `LOG_DAYS`.
//!
//! Redirects are not followed (a receiver's redirect could point the signed body anywhere), and
//! neither the secret nor the signature is ever logged.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use rand::Rng;
use sea_orm::DbErr;
use tokio::time::{sleep, Instant};
use wire::webhooks::DeliveryState;

use super::store::{self, Attempt, Delivery};
use super::{sign, TEST_EVENT};
use crate::state::AppState;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECS: u64 = 3600;
/// How often the queue is read when nothing woke the dispatcher.
const POLL: Duration = Duration::from_secs(2);
/// Rows taken per round, and sent at the same time.
const BATCH: u64 = 32;
const CONCURRENCY: usize = 8;
/// One attempt's deadline (connect, send, answer).
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long delivered and failed rows stay in the log.
const LOG_DAYS: i64 = 30;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs until shutdown.
pub async fn run(state: AppState) {
    let mut pruned: Option<Instant> = None;
    loop {
        let found = match round(&state).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the delivery queue");
                0
            }
        };
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned = Some(Instant::now());
            let before = Utc::now() - chrono::Duration::days(LOG_DAYS);
            match store::prune(&state.db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "webhooks: old deliveries pruned"),
                Err(e) => tracing::warn!(error = %e, "webhooks: cannot prune deliveries"),
            }
        }
        // A full batch means more may be waiting: go again at once.
        if found as u64 == BATCH {
            continue;
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = super::woken() => {}
            _ = sleep(until_next(&state).await) => {}
        }
    }
}

/// How long to sleep: until the next retry falls due, at most `POLL` (rows queued by another
/// replica wake nobody here).
async fn until_next(state: &AppState) -> Duration {
    match store::next_due(&state.db).await {
        Ok(Some(at)) => (at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_millis(50), POLL),
        _ => POLL,
    }
}

/// Sends every due row this replica manages to claim; answers how many were due.
async fn round(state: &AppState) -> Result<usize, DbErr> {
    let due = store::due(&state.db, BATCH).await?;
    let found = due.len();
    futures::stream::iter(due)
        .map(|row| async move {
            match store::claim(&state.db, row.id).await {
                Ok(true) => {
                    if let Err(e) = deliver(state, &row).await {
                        tracing::warn!(delivery = row.id, error = %e, "webhooks: cannot record an attempt");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(delivery = row.id, error = %e, "webhooks: cannot claim"),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|()| async {})
        .await;
    Ok(found)
}

/// The HTTP client every attempt uses: no redirects, a deadline, our user agent.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Gatehouse-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "webhooks: cannot build the HTTP client; using defaults");
                reqwest::Client::new()
            })
    })
}

/// One attempt at a row this dispatcher has claimed; answers the row as recorded.
pub async fn deliver(state: &AppState, row: &Delivery) -> Result<Delivery, DbErr> {
    let Some(hook) = store::get(&state.db, row.webhook_id).await? else {
        // The hook was deleted meanwhile; its rows are going too.
        return Ok(row.clone());
    };
    let sent = if !hook.enabled && row.event != TEST_EVENT {
        Err((None, "the webhook is disabled".to_owned()))
    } else {
        match state.vault.open(&hook.secret) {
            Ok(secret) => post(&hook.url, secret.expose(), row).await,
            Err(e) => Err((None, format!("cannot open the webhook's secret: {e}"))),
        }
    };
    let attempts = row.attempts.saturating_add(1);
    let attempt = match sent {
        Ok(status) => {
            crate::metrics::webhook_delivery(crate::metrics::WebhookOutcome::Success);
            Attempt {
                status_code: Some(status),
                error: None,
                state: DeliveryState::Delivered,
                next_attempt_at: None,
            }
        }
        // A test fires once; a disabled hook is not retried either.
        Err((status_code, error))
            if attempts >= MAX_ATTEMPTS || row.event == TEST_EVENT || !hook.enabled =>
        {
            crate::metrics::webhook_delivery(crate::metrics::WebhookOutcome::Failure);
            tracing::warn!(delivery = row.id, webhook = hook.id, event = %row.event, attempts, status = status_code, %error, "webhooks: delivery failed; giving up");
            Attempt {
                status_code,
                error: Some(error),
                state: DeliveryState::Failed,
                next_attempt_at: None,
            }
        }
        Err((status_code, error)) => {
            crate::metrics::webhook_delivery(crate::metrics::WebhookOutcome::Retry);
            let wait = backoff(state.config.webhook_retry_base_secs, attempts);
            tracing::info!(delivery = row.id, webhook = hook.id, event = %row.event, attempts, status = status_code, %error, retry_in_ms = wait.as_millis() as u64, "webhooks: delivery failed; will retry");
            Attempt {
                status_code,
                error: Some(error),
                state: DeliveryState::Pending,
                next_attempt_at: Some(
                    Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
                ),
            }
        }
    };
    store::attempted(&state.db, row, attempt).await
}

/// POSTs the row's frozen body with a fresh timestamp and signature. `Ok(status)` for a 2xx;
/// otherwise the status (if any) and what went wrong.
async fn post(url: &str, secret: &str, row: &Delivery) -> Result<u16, (Option<u16>, String)> {
    let timestamp = Utc::now().timestamp();
    let signature = sign::signature(secret, timestamp, row.payload.as_bytes());
    let sent = client()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Gatehouse-Event", &row.event)
        .header("X-Gatehouse-Delivery", &row.event_id)
        .header("X-Gatehouse-Timestamp", timestamp.to_string())
        .header("X-Gatehouse-Signature", signature)
        .body(row.payload.clone())
        .send()
        .await;
    match sent {
        Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16()),
        Ok(answer) => {
            let status = answer.status();
            Err((
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
            ))
        }
        // Without the URL: it may carry credentials in its user-info part.
        Err(e) => Err((None, describe(&e.without_url()))),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect to the receiver".to_owned()
    } else {
        format!("request failed: {e}")
    }
}

/// The wait after the `attempts`-th failure: base · 2^(attempts-1), capped, plus up to 20 %.
pub fn backoff(base_secs: u64, attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let secs = base_secs
        .max(1)
        .saturating_mul(1 << exponent)
        .min(MAX_BACKOFF_SECS);
    let millis = secs * 1000;
    let jitter = rand::thread_rng().gen_range(0..=millis / 5);
    Duration::from_millis(millis + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        for (attempts, secs) in [(1, 10), (2, 20), (3, 40), (4, 80), (12, 3600), (40, 3600)] {
            let wait = backoff(10, attempts).as_millis() as u64;
            assert!(
                (secs * 1000..=secs * 1200).contains(&wait),
                "attempt {attempts}: {wait} ms"
            );
        }
        assert!(backoff(0, 1) >= Duration::from_secs(1));
    }
}
