//! Where each live session runs, in Redis, so any replica can find it: `gatehouse:term:<id>`
//! holds the session's summary and its replica, `gatehouse:user-terms:<user id>` the ids of a
//! user's sessions, and `gatehouse:share:<digest>` the session a share link leads to.
//!
//! The replica that runs a session writes its entry when the session starts, rewrites every
//! entry of its own every [`REFRESH`] with a [`TTL`], and deletes it when the session ends. A
//! replica that dies stops refreshing, so its sessions drop out of the directory within the TTL;
//! until then a bridge to it fails (nobody listens on its channel) and the caller sees 404.
//! The directory only routes: the hosting replica checks every request against its own state.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::cluster::{Cluster, ClusterError, CALL_TIMEOUT};
use crate::terminal::registry::SessionInfo;

/// How often a replica rewrites its sessions' entries.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long an entry outlives its last refresh.
const TTL: Duration = Duration::from_secs(15);

/// A session as other replicas see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub replica: String,
    pub user_id: i32,
    pub owner: String,
    pub server_id: i32,
    pub server_name: String,
    pub started_at: DateTime<Utc>,
    pub attached: bool,
    pub cols: u32,
    pub rows: u32,
}

impl Entry {
    pub fn of(replica: &str, info: &SessionInfo) -> Entry {
        Entry {
            replica: replica.to_owned(),
            user_id: info.user_id,
            owner: info.owner.clone(),
            server_id: info.server_id,
            server_name: info.server_name.clone(),
            started_at: info.started_at,
            attached: info.attached,
            cols: info.cols,
            rows: info.rows,
        }
    }
}

fn term_key(session_id: &str) -> String {
    format!("gatehouse:term:{session_id}")
}

fn user_key(user_id: i32) -> String {
    format!("gatehouse:user-terms:{user_id}")
}

fn share_key(digest: &str) -> String {
    format!("gatehouse:share:{digest}")
}

async fn bounded<T>(
    f: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    tokio::time::timeout(CALL_TIMEOUT, f)
        .await
        .map_err(|_| ClusterError::Timeout)?
        .map_err(ClusterError::from)
}

/// Writes (or refreshes) these sessions' entries.
pub async fn publish(cluster: &Cluster, entries: &[(String, Entry)]) -> Result<(), ClusterError> {
    if entries.is_empty() {
        return Ok(());
    }
    let ttl = TTL.as_millis() as u64;
    let mut pipe = redis::pipe();
    for (id, entry) in entries {
        let json = serde_json::to_string(entry)?;
        pipe.cmd("SET")
            .arg(term_key(id))
            .arg(json)
            .arg("PX")
            .arg(ttl)
            .ignore();
        pipe.cmd("SADD")
            .arg(user_key(entry.user_id))
            .arg(id)
            .ignore();
        // The set outlives its longest-lived member's entry; stale members are pruned on read.
        pipe.cmd("PEXPIRE")
            .arg(user_key(entry.user_id))
            .arg(ttl * 4)
            .ignore();
    }
    let mut conn = cluster.conn();
    bounded(pipe.query_async::<()>(&mut conn)).await
}

/// Removes a session that ended.
/// Its share links' keys are left to expire with the links: they lead nowhere once the session
/// is unlisted.
pub async fn withdraw(
    cluster: &Cluster,
    session_id: &str,
    user_id: i32,
) -> Result<(), ClusterError> {
    let mut pipe = redis::pipe();
    pipe.del(term_key(session_id)).ignore();
    pipe.srem(user_key(user_id), session_id).ignore();
    let mut conn = cluster.conn();
    bounded(pipe.query_async::<()>(&mut conn)).await
}

/// The session's entry, if some replica runs it.
pub async fn lookup(cluster: &Cluster, session_id: &str) -> Result<Option<Entry>, ClusterError> {
    let mut conn = cluster.conn();
    let json: Option<String> = bounded(conn.get(term_key(session_id))).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// Every live session of `user_id`, wherever it runs.
pub async fn of_user(
    cluster: &Cluster,
    user_id: i32,
) -> Result<Vec<(String, Entry)>, ClusterError> {
    let mut conn = cluster.conn();
    let ids: Vec<String> = bounded(conn.smembers(user_key(user_id))).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| term_key(id)).collect();
    let values: Vec<Option<String>> = bounded(conn.mget(&keys)).await?;
    let mut found = Vec::new();
    let mut gone = Vec::new();
    for (id, value) in ids.into_iter().zip(values) {
        match value.and_then(|j| serde_json::from_str::<Entry>(&j).ok()) {
            Some(entry) if entry.user_id == user_id => found.push((id, entry)),
            _ => gone.push(id),
        }
    }
    if !gone.is_empty() {
        let _: Result<(), _> = bounded(conn.srem(user_key(user_id), gone)).await;
    }
    Ok(found)
}

/// Records that the share link with `digest` leads to `session_id` until `expires_at`.
pub async fn add_share(
    cluster: &Cluster,
    digest: &str,
    session_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), ClusterError> {
    let mut conn = cluster.conn();
    let cmd = redis::cmd("SET")
        .arg(share_key(digest))
        .arg(session_id)
        .arg("PXAT")
        .arg(expires_at.timestamp_millis().max(1))
        .to_owned();
    bounded(cmd.query_async::<()>(&mut conn)).await
}

pub async fn remove_shares(cluster: &Cluster, digests: &[String]) -> Result<(), ClusterError> {
    if digests.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = digests.iter().map(|d| share_key(d)).collect();
    let mut conn = cluster.conn();
    bounded(conn.del::<_, ()>(keys)).await
}

/// The session a share link leads to, if it is live.
pub async fn share_session(
    cluster: &Cluster,
    digest: &str,
) -> Result<Option<String>, ClusterError> {
    let mut conn = cluster.conn();
    bounded(conn.get(share_key(digest))).await
}
