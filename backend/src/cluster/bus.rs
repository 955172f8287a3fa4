//! The listening side: one pub/sub connection per replica, subscribed to the replica's own
//! prefix and to the broadcast channel, routing each message where it belongs. Never blocks on a
//! consumer (every hand-off is an unbounded send that only moves the message), so one slow
//! bridge cannot hold up another's frames or a reply.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{lock, Envelope, Inner, Request, ALL};

/// Reconnect back-off bounds.
const FIRST_RETRY: Duration = Duration::from_millis(200);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

pub(super) struct Sinks {
    pub requests: mpsc::UnboundedSender<Request>,
    pub broadcasts: mpsc::UnboundedSender<Value>,
}

pub(super) async fn listen(
    client: redis::Client,
    inner: Arc<Inner>,
    sinks: Sinks,
    shutdown: CancellationToken,
) {
    let prefix = format!("gatehouse:r:{}:", inner.replica);
    let mut retry = FIRST_RETRY;
    let mut warned = false;
    while !shutdown.is_cancelled() {
        match subscribe(&client, &prefix).await {
            Ok(pubsub) => {
                if warned {
                    tracing::info!("the replica link through redis is back");
                }
                warned = false;
                retry = FIRST_RETRY;
                inner.up.send_replace(true);
                let mut stream = pubsub.into_on_message();
                loop {
                    let msg = tokio::select! {
                        m = stream.next() => m,
                        _ = shutdown.cancelled() => None,
                    };
                    let Some(msg) = msg else { break };
                    dispatch(&inner, &sinks, &prefix, &msg);
                }
                // Frames may have been missed: end every bridge and call rather than let them
                // go on with a gap.
                inner.up.send_replace(false);
                lock(&inner.routes).clear();
                lock(&inner.calls).clear();
                if !shutdown.is_cancelled() {
                    tracing::warn!("the replica link through redis dropped; reconnecting");
                }
            }
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "cannot listen on redis for other replicas; retrying");
                    warned = true;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = shutdown.cancelled() => {}
        }
        retry = (retry * 2).min(LONGEST_RETRY);
    }
}

async fn subscribe(
    client: &redis::Client,
    prefix: &str,
) -> Result<redis::aio::PubSub, redis::RedisError> {
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.psubscribe(format!("{prefix}*")).await?;
        pubsub.subscribe(ALL).await?;
        Ok(pubsub)
    };
    match tokio::time::timeout(super::CALL_TIMEOUT, connect).await {
        Ok(r) => r,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "redis did not answer",
        ))),
    }
}

fn dispatch(inner: &Inner, sinks: &Sinks, prefix: &str, msg: &redis::Msg) {
    let channel = msg.get_channel_name();
    let payload = msg.get_payload_bytes();
    if channel == ALL {
        match serde_json::from_slice(payload) {
            Ok(body) => {
                let _ = sinks.broadcasts.send(body);
            }
            Err(e) => tracing::warn!(error = %e, "ignored a malformed cluster broadcast"),
        }
        return;
    }
    let Some(suffix) = channel.strip_prefix(prefix) else {
        return;
    };
    match suffix {
        "rpc" => match serde_json::from_slice::<Envelope>(payload) {
            Ok(Envelope {
                from: Some(from),
                call,
                body,
            }) => {
                let _ = sinks.requests.send(Request { from, call, body });
            }
            _ => tracing::warn!("ignored a malformed cluster request"),
        },
        "reply" => match serde_json::from_slice::<Envelope>(payload) {
            Ok(envelope) => {
                if let Some(waiter) = lock(&inner.calls).remove(&envelope.call) {
                    let _ = waiter.send(envelope.body);
                }
            }
            Err(e) => tracing::warn!(error = %e, "ignored a malformed cluster reply"),
        },
        route => {
            let routes = lock(&inner.routes);
            if let Some(tx) = routes.get(route) {
                let _ = tx.send(Bytes::copy_from_slice(payload));
            }
        }
    }
}
