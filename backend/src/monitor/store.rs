//! Status rows: what each probe found, the state it leads to, and the list the API answers with.
//!
//! A server goes online on its first successful probe and offline only after
//! `monitor_failures_before_offline` failures in a row, so one lost packet does not page anyone.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, Set};
use wire::monitor::{ServerState, ServerStatus};

use crate::db::{server, server_status};

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Reachable { latency: Duration },
    Failed { code: &'static str, message: String },
}

/// A change of state, for the audit log and the event channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: ServerState,
    pub to: ServerState,
    pub at: DateTime<Utc>,
    /// Failures in a row when it happened (0 for a change to online).
    pub failures: u32,
    pub error_code: Option<String>,
    pub error: Option<String>,
}

/// The state after a probe, and the failures in a row that leave behind.
pub fn next(
    state: ServerState,
    failures: u32,
    reachable: bool,
    failures_before_offline: u32,
) -> (ServerState, u32) {
    if reachable {
        return (ServerState::Online, 0);
    }
    let failures = failures.saturating_add(1);
    if failures >= failures_before_offline.max(1) {
        (ServerState::Offline, failures)
    } else {
        (state, failures)
    }
}

/// Stores one probe's outcome for `server_id`; returns the transition it caused, if any.
pub async fn record(
    db: &DatabaseConnection,
    server_id: i32,
    outcome: &Outcome,
    failures_before_offline: u32,
) -> Result<Option<Transition>, DbErr> {
    let previous = server_status::Entity::find_by_id(server_id).one(db).await?;
    let (was, failures_before) = match &previous {
        Some(row) => (
            ServerState::parse(&row.state),
            u32::try_from(row.consecutive_failures).unwrap_or(0),
        ),
        None => (ServerState::Unknown, 0),
    };
    let reachable = matches!(outcome, Outcome::Reachable { .. });
    let (state, failures) = next(was, failures_before, reachable, failures_before_offline);
    let now = Utc::now();
    let since = match &previous {
        Some(row) if state == was => row.since,
        _ => now,
    };
    let (latency_ms, error_code, error) = match outcome {
        Outcome::Reachable { latency } => (
            Some(i32::try_from(latency.as_millis()).unwrap_or(i32::MAX)),
            None,
            None,
        ),
        Outcome::Failed { code, message } => {
            (None, Some((*code).to_owned()), Some(message.clone()))
        }
    };
    let row = server_status::ActiveModel {
        server_id: Set(server_id),
        state: Set(state.as_str().to_owned()),
        since: Set(since),
        checked_at: Set(now),
        consecutive_failures: Set(i32::try_from(failures).unwrap_or(i32::MAX)),
        latency_ms: Set(latency_ms),
        error_code: Set(error_code.clone()),
        error: Set(error.clone()),
    };
    use server_status::Column as C;
    server_status::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::ServerId)
                .update_columns([
                    C::State,
                    C::Since,
                    C::CheckedAt,
                    C::ConsecutiveFailures,
                    C::LatencyMs,
                    C::ErrorCode,
                    C::Error,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok((state != was).then_some(Transition {
        from: was,
        to: state,
        at: now,
        failures,
        error_code,
        error,
    }))
}

/// The status of each of `servers`, in their order; a server never probed is `unknown`.
pub async fn list(
    db: &DatabaseConnection,
    servers: &[server::Model],
) -> Result<Vec<ServerStatus>, DbErr> {
    let mut rows: HashMap<i32, server_status::Model> = server_status::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.server_id, row))
        .collect();
    Ok(servers
        .iter()
        .map(|s| match rows.remove(&s.id) {
            Some(row) => view(row),
            None => ServerStatus {
                server_id: s.id,
                state: ServerState::Unknown,
                since: None,
                checked_at: None,
                latency_ms: None,
                error_code: None,
                error: None,
                consecutive_failures: 0,
            },
        })
        .collect())
}

fn view(row: server_status::Model) -> ServerStatus {
    ServerStatus {
        server_id: row.server_id,
        state: ServerState::parse(&row.state),
        since: Some(row.since.to_rfc3339()),
        checked_at: Some(row.checked_at.to_rfc3339()),
        latency_ms: row.latency_ms.and_then(|ms| u64::try_from(ms).ok()),
        error_code: row.error_code,
        error: row.error,
        consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServerState::{Offline, Online, Unknown};

    #[test]
    fn one_success_brings_a_server_online() {
        assert_eq!(next(Unknown, 0, true, 2), (Online, 0));
        assert_eq!(next(Offline, 7, true, 2), (Online, 0));
        assert_eq!(next(Online, 1, true, 2), (Online, 0));
    }

    #[test]
    fn a_server_goes_offline_only_after_enough_failures_in_a_row() {
        assert_eq!(next(Online, 0, false, 2), (Online, 1));
        assert_eq!(next(Online, 1, false, 2), (Offline, 2));
        assert_eq!(next(Unknown, 0, false, 2), (Unknown, 1));
        assert_eq!(next(Unknown, 1, false, 2), (Offline, 2));
        assert_eq!(next(Offline, 2, false, 2), (Offline, 3));
    }

    #[test]
    fn a_threshold_of_one_or_zero_means_the_first_failure() {
        assert_eq!(next(Online, 0, false, 1), (Offline, 1));
        assert_eq!(next(Online, 0, false, 0), (Offline, 1));
    }
}
