//! Audit retention: with `audit_retention_days` set, rows older than that are removed every
//! `audit_retention_interval_secs` (the chain's sealed anchor moves with them, so the rest still
//! verifies), and the removal is itself audited. Off by default: an audit log is usually kept.

use std::time::Duration;

use serde_json::json;

use super::{chain, record, Actor, Event};
use crate::state::AppState;

pub async fn run(state: AppState) {
    let days = state.config.audit_retention_days;
    if days == 0 {
        return;
    }
    let every = Duration::from_secs(state.config.audit_retention_interval_secs.max(1));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let days = i64::try_from(days).unwrap_or(i64::MAX / 2).min(365_000);
        let cutoff = chrono::Utc::now() - chrono::Duration::days(days);
        match chain::prune_before(&state.db, cutoff).await {
            Ok(0) => {}
            Ok(removed) => {
                let details = json!({"rows": removed, "older_than_days": days});
                record(
                    &state.db,
                    &Actor::default(),
                    Event::new("audit.prune").details(details),
                )
                .await;
            }
            Err(e) => tracing::warn!(error = %e, "audit retention round failed"),
        }
    }
}
