//! Terminals across replicas (when `redis_url` is set): a session lives in the process that
//! opened it, and any replica can reach it. `directory.rs` says where each session runs;
//! `proxy.rs` binds a socket here to a session elsewhere; `host.rs` serves such requests for
//! the sessions that run here, with a bridge standing in for each remote socket; `protocol.rs`
//! is what they say. The transport is `crate::cluster`.
//!
//! The asking replica checks authorisation (it has the caller and the database); the hosting
//! replica checks what only it knows (the session is alive and whose it is, a link is live).

pub mod directory;
pub mod host;
pub mod protocol;
pub mod proxy;

use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::mpsc;

use self::directory::Entry;
use self::protocol::{Answer, Call};
use super::registry::SessionInfo;
use super::viewer::Command;
use crate::cluster::{Cluster, ClusterError};
use crate::error::ApiError;
use crate::state::AppState;

/// How often each end of a bridge says it is still there.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// A bridge whose other end was not heard from for this long is ended.
pub const SILENCE: Duration = Duration::from_secs(15);

/// A live session, wherever it runs.
pub enum Found {
    Local(SessionInfo, mpsc::Sender<Command>),
    Remote(Remote),
}

/// A session another replica runs.
pub struct Remote {
    pub session_id: String,
    pub entry: Entry,
    pub cluster: Cluster,
}

impl Found {
    pub fn user_id(&self) -> i32 {
        match self {
            Found::Local(info, _) => info.user_id,
            Found::Remote(r) => r.entry.user_id,
        }
    }

    pub fn server_id(&self) -> i32 {
        match self {
            Found::Local(info, _) => info.server_id,
            Found::Remote(r) => r.entry.server_id,
        }
    }
}

impl Remote {
    /// Asks the hosting replica; a host that is gone means the session is.
    pub async fn call(&self, call: &Call) -> Result<Answer, ApiError> {
        match self.cluster.call(&self.entry.replica, call).await {
            Ok(answer) => Ok(answer),
            Err(ClusterError::NoListener(_)) => Ok(Answer::NotFound),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// 503 `replica_unavailable`: the session's replica could not be asked.
pub fn unavailable(e: ClusterError) -> ApiError {
    tracing::warn!(error = %e, "cannot reach the replica running a terminal");
    ApiError::coded(
        StatusCode::SERVICE_UNAVAILABLE,
        "replica_unavailable",
        "the gateway replica running this session cannot be reached right now; try again",
    )
}

/// The session, here or on another replica.
pub async fn find(state: &AppState, session_id: &str) -> Option<Found> {
    if let Some((info, commands)) = state.terminals.get(session_id) {
        return Some(Found::Local(info, commands));
    }
    let cluster = state.cluster.as_ref()?;
    match directory::lookup(cluster, session_id).await {
        Ok(Some(entry)) if entry.replica != cluster.replica() => Some(Found::Remote(Remote {
            session_id: session_id.to_owned(),
            entry,
            cluster: cluster.clone(),
        })),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look a terminal up in redis");
            None
        }
    }
}

/// Lists a session that just started, so other replicas find it at once.
pub async fn announce(state: &AppState, session_id: &str, info: &SessionInfo) {
    if let Some(cluster) = &state.cluster {
        let entry = Entry::of(cluster.replica(), info);
        if let Err(e) = directory::publish(cluster, &[(session_id.to_owned(), entry)]).await {
            tracing::warn!(error = %e, "cannot list a new terminal in redis");
        }
    }
}

/// Unlists a session that ended.
pub async fn withdraw(state: &AppState, session_id: &str, user_id: i32) {
    if let Some(cluster) = &state.cluster {
        if let Err(e) = directory::withdraw(cluster, session_id, user_id).await {
            tracing::warn!(error = %e, "cannot unlist an ended terminal in redis");
        }
    }
}
