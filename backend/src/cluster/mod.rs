//! Replicas talking to each other through Redis, when `redis_url` is set: the transport under
//! cross-replica terminals (`terminal/remote/`).
//!
//! Every replica has an id (`AppState::instance_id`) and listens, on one pub/sub connection, to
//! everything published under `gatehouse:r:<its id>:` and to the broadcast channel
//! `gatehouse:all`. Under its prefix arrive:
//!
//! - `rpc`: requests from other replicas (JSON `{from, call, body}`), handed to whoever consumes
//!   [`Incoming::requests`];
//! - `reply`: answers to this replica's [`Cluster::call`]s (JSON `{call, body}`);
//! - `b:<id>`: the frames of one bridge (a terminal socket on one replica bound to a session on
//!   another), routed to the receiver [`Cluster::frames_of`] returned.
//!
//! One pattern subscription per replica, made once, means no subscribe-before-publish races and
//! no per-socket subscription churn. Publishing goes through one multiplexed connection, so frames
//! one task publishes arrive in the order it published them. Pub/sub is fire-and-forget: when
//! the listening connection drops, everything routed through it is ended (its receivers close)
//! rather than left silently missing frames, and it reconnects with back-off.

pub mod bus;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

/// Longest a publish, a key read or write, or a call's answer may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Broadcast channel every replica listens to.
const ALL: &str = "gatehouse:all";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the replica link through redis is down")]
    Down,
    #[error("no replica {0} is listening (it may have stopped)")]
    NoListener(String),
    #[error("no answer within {} s", CALL_TIMEOUT.as_secs())]
    Timeout,
    #[error("a malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// A request from another replica, to be answered with [`Cluster::reply`].
pub struct Request {
    pub from: String,
    pub call: u64,
    pub body: Value,
}

/// What the bus hands the rest of the gateway: requests to serve and broadcasts to act on.
pub struct Incoming {
    pub requests: mpsc::UnboundedReceiver<Request>,
    pub broadcasts: mpsc::UnboundedReceiver<Value>,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    call: u64,
    body: Value,
}

pub(crate) struct Inner {
    replica: String,
    conn: ConnectionManager,
    routes: Mutex<HashMap<String, mpsc::UnboundedSender<Bytes>>>,
    calls: Mutex<HashMap<u64, oneshot::Sender<Value>>>,
    next_call: AtomicU64,
    up: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// This replica's end of the cluster.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

/// A bridge's route; dropping it stops routing (and frees the entry).
pub struct Route {
    pub frames: mpsc::UnboundedReceiver<Bytes>,
    key: String,
    inner: Arc<Inner>,
}

impl Drop for Route {
    fn drop(&mut self) {
        lock(&self.inner.routes).remove(&self.key);
    }
}

impl Cluster {
    /// Connects to `url` (lazily: a Redis that is down now is retried) and starts listening.
    pub fn start(
        url: &str,
        replica: &str,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<(Cluster, Incoming), redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let inner = Arc::new(Inner {
            replica: replica.to_owned(),
            conn,
            routes: Mutex::new(HashMap::new()),
            calls: Mutex::new(HashMap::new()),
            next_call: AtomicU64::new(1),
            up: watch::Sender::new(false),
        });
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let (broadcasts_tx, broadcasts) = mpsc::unbounded_channel();
        let sinks = bus::Sinks {
            requests: requests_tx,
            broadcasts: broadcasts_tx,
        };
        tokio::spawn(bus::listen(client, inner.clone(), sinks, shutdown));
        Ok((
            Cluster { inner },
            Incoming {
                requests,
                broadcasts,
            },
        ))
    }

    pub fn replica(&self) -> &str {
        &self.inner.replica
    }

    /// Whether the listening connection is subscribed right now.
    pub fn is_up(&self) -> bool {
        *self.inner.up.borrow()
    }

    /// Waits (up to `limit`) for the listening connection to be subscribed.
    pub async fn wait_up(&self, limit: Duration) -> bool {
        let mut rx = self.inner.up.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// A multiplexed connection for key reads and writes.
    pub fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    /// The channel a bridge's frames for `replica` travel on.
    pub fn bridge_channel(replica: &str, bridge: &str) -> String {
        format!("gatehouse:r:{replica}:b:{bridge}")
    }

    /// Starts routing `bridge`'s frames addressed to this replica to the returned receiver.
    pub fn frames_of(&self, bridge: &str) -> Route {
        let (tx, frames) = mpsc::unbounded_channel();
        let key = format!("b:{bridge}");
        lock(&self.inner.routes).insert(key.clone(), tx);
        Route {
            frames,
            key,
            inner: self.inner.clone(),
        }
    }

    /// Publishes `payload` on `channel`; fails when nobody listens there.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), ClusterError> {
        let mut conn = self.inner.conn.clone();
        let cmd = redis::cmd("PUBLISH").arg(channel).arg(payload).to_owned();
        let receivers: i64 = tokio::time::timeout(CALL_TIMEOUT, cmd.query_async(&mut conn))
            .await
            .map_err(|_| ClusterError::Timeout)??;
        if receivers == 0 {
            return Err(ClusterError::NoListener(channel.to_owned()));
        }
        Ok(())
    }

    /// Publishes each payload on `channel`, in order, in one round trip; fails when nobody
    /// listens there.
    pub async fn publish_all(&self, channel: &str, payloads: &[Bytes]) -> Result<(), ClusterError> {
        let mut pipe = redis::pipe();
        for payload in payloads {
            pipe.cmd("PUBLISH").arg(channel).arg(payload.as_ref());
        }
        let mut conn = self.inner.conn.clone();
        let receivers: Vec<i64> = tokio::time::timeout(CALL_TIMEOUT, pipe.query_async(&mut conn))
            .await
            .map_err(|_| ClusterError::Timeout)??;
        if receivers.contains(&0) {
            return Err(ClusterError::NoListener(channel.to_owned()));
        }
        Ok(())
    }

    /// Sends `body` to every replica (this one included).
    pub async fn broadcast(&self, body: &impl Serialize) -> Result<(), ClusterError> {
        let payload = serde_json::to_vec(body)?;
        self.publish(ALL, &payload).await
    }

    /// Asks `replica` and waits for its answer.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        replica: &str,
        body: &Req,
    ) -> Result<Resp, ClusterError> {
        if !self.is_up() {
            return Err(ClusterError::Down);
        }
        let call = self.inner.next_call.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.calls).insert(call, tx);
        let envelope = Envelope {
            from: Some(self.inner.replica.clone()),
            call,
            body: serde_json::to_value(body)?,
        };
        let sent = self
            .publish(
                &format!("gatehouse:r:{replica}:rpc"),
                &serde_json::to_vec(&envelope)?,
            )
            .await;
        let answer = match sent {
            Ok(()) => match tokio::time::timeout(CALL_TIMEOUT, rx).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(_)) => Err(ClusterError::Down),
                Err(_) => Err(ClusterError::Timeout),
            },
            Err(e) => Err(e),
        };
        lock(&self.inner.calls).remove(&call);
        Ok(serde_json::from_value(answer?)?)
    }

    /// Answers `request`.
    pub async fn reply(&self, request: &Request, body: &impl Serialize) {
        let envelope = Envelope {
            from: None,
            call: request.call,
            body: match serde_json::to_value(body) {
                Ok(v) => v,
                Err(e) => return tracing::error!(error = %e, "cannot encode a cluster reply"),
            },
        };
        let Ok(payload) = serde_json::to_vec(&envelope) else {
            return;
        };
        let channel = format!("gatehouse:r:{}:reply", request.from);
        if let Err(e) = self.publish(&channel, &payload).await {
            tracing::warn!(error = %e, to = %request.from, "a cluster reply was not delivered");
        }
    }
}
