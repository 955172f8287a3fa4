//! The byte pump between one browser socket and one SSH shell channel.
//!
//! Two halves run concurrently so neither direction can starve the other:
//! - outbound (SSH → browser): each chunk is awaited into the socket before the next is read, so
//!   a slow browser stops us reading the channel; russh's bounded channel queue then fills and it
//!   stops reading the TCP stream, and sshd's channel window closes. Memory stays bounded.
//! - inbound (browser → SSH): binary frames are stdin bytes, text frames are JSON control.
//!   Writing to the channel waits for window space, so it runs in its own task and is cancelled
//!   when the session ends (russh can otherwise wait forever on a closed peer).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::{Bytes, BytesMut};
use futures::stream::{SplitSink, SplitStream};
use futures::{FutureExt, SinkExt, StreamExt};
use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelWriteHalf};
use tokio::sync::{mpsc, Notify};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use wire::terminal::{codes, ClientFrame, ServerFrame, FLOW_WINDOW};

use super::handler::clamp_size;
use crate::state::AppState;

/// Output chunks already queued are merged into one frame up to this size: fewer, larger
/// WebSocket frames when a command floods the terminal, no added latency when it does not.
const MAX_FRAME: usize = 64 * 1024;

/// Opt-in application-level flow control (see `wire::terminal::ClientFrame::Ack`). Browsers read
/// every WebSocket frame as soon as it arrives, whatever their renderer can keep up with, so TCP
/// back-pressure alone never reaches a slow browser tab; acks do.
#[derive(Default)]
struct Flow {
    enabled: AtomicBool,
    acked: AtomicU64,
    acks: Notify,
}

impl Flow {
    fn ack(&self, bytes: u64) {
        self.enabled.store(true, Ordering::Release);
        self.acked.fetch_add(bytes, Ordering::AcqRel);
        self.acks.notify_one();
    }

    /// Must the sender wait before sending more, having sent `sent` bytes in all?
    fn must_wait(&self, sent: u64) -> bool {
        self.enabled.load(Ordering::Acquire)
            && sent.saturating_sub(self.acked.load(Ordering::Acquire)) >= FLOW_WINDOW
    }
}

#[derive(Debug)]
pub enum PumpEnd {
    Exited(Option<u32>),
    ClientClosed,
    Shutdown,
    Failed(String),
}

pub fn text(f: &ServerFrame) -> Message {
    Message::Text(serde_json::to_string(f).unwrap_or_default().into())
}

/// Tells the client why the session cannot go on, then closes the socket (1011: server error).
/// Used before the pump starts (on the whole socket) and inside it (on its sending half).
pub async fn send_error_and_close<S>(sink: &mut S, code: &str, message: String)
where
    S: futures::Sink<Message> + Unpin,
{
    let _ = sink
        .send(text(&ServerFrame::Error {
            code: code.to_string(),
            message,
        }))
        .await;
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: 1011,
            reason: "".into(),
        })))
        .await;
}

pub async fn run(
    state: &AppState,
    channel: Channel<Msg>,
    socket: WebSocket,
    session_id: &str,
    cols: u32,
    rows: u32,
    setup_timeout: Duration,
) -> PumpEnd {
    let (mut ws_tx, ws_rx) = socket.split();
    let opened = timeout(setup_timeout, async {
        channel
            .request_pty(false, "xterm-256color", cols, rows, 0, 0, &[])
            .await?;
        channel.request_shell(true).await
    })
    .await;
    let failure = match opened {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some((codes::SSH_ERROR, format!("cannot open a shell: {e}"))),
        Err(_) => Some((codes::TIMEOUT, "timed out opening a shell".into())),
    };
    if let Some((code, message)) = failure {
        let _ = timeout(Duration::from_secs(2), channel.close()).await;
        return finish_with_error(ws_tx, code, message).await;
    }
    let greeted = ws_tx
        .send(text(&ServerFrame::Session {
            session_id: session_id.to_string(),
        }))
        .await;
    if greeted.is_err() {
        let _ = timeout(Duration::from_secs(2), channel.close()).await;
        return PumpEnd::ClientClosed;
    }
    let (mut ch_rx, ch_tx) = channel.split();

    // `done` stops the inbound task whichever side ends first.
    let done = CancellationToken::new();
    let (control_tx, mut control_rx) = mpsc::channel::<ServerFrame>(8);
    let flow = Arc::new(Flow::default());
    let inbound = tokio::spawn(inbound(
        ws_rx,
        ch_tx,
        control_tx,
        flow.clone(),
        done.clone(),
    ));
    let shutdown = state.shutdown.clone();

    let mut exit_code = None;
    let mut sent: u64 = 0;
    let end = loop {
        let paused = flow.must_wait(sent);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                let _ = ws_tx.send(text(&ServerFrame::Error {
                    code: codes::SHUTTING_DOWN.into(),
                    message: "the gateway is shutting down".into(),
                })).await;
                break PumpEnd::Shutdown;
            }
            _ = done.cancelled() => break PumpEnd::ClientClosed,
            Some(frame) = control_rx.recv() => {
                if ws_tx.send(text(&frame)).await.is_err() {
                    break PumpEnd::ClientClosed;
                }
            }
            // While paused, the channel is not read: russh's queue fills and sshd's window closes.
            _ = flow.acks.notified(), if paused => {}
            msg = ch_rx.wait(), if !paused => match msg {
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    let (chunk, closed) = coalesce(data, &mut ch_rx, &mut exit_code);
                    sent += chunk.len() as u64;
                    let sent = tokio::select! {
                        r = ws_tx.send(Message::Binary(chunk)) => r.is_ok(),
                        _ = done.cancelled() => false,
                        _ = shutdown.cancelled() => false,
                    };
                    if !sent {
                        break if shutdown.is_cancelled() { PumpEnd::Shutdown } else { PumpEnd::ClientClosed };
                    }
                    if closed {
                        break PumpEnd::Exited(exit_code);
                    }
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => exit_code = Some(exit_status),
                Some(ChannelMsg::Close) | None => break PumpEnd::Exited(exit_code),
                Some(_) => {}
            },
        }
    };

    done.cancel();
    if let PumpEnd::Exited(code) = &end {
        let _ = ws_tx.send(text(&ServerFrame::Exit { code: *code })).await;
    }
    let _ = ws_tx
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    // Close this channel only (ending the shell); the connection stays pooled for the user.
    if let Ok(ch_tx) = inbound.await {
        let _ = timeout(Duration::from_secs(2), ch_tx.close()).await;
    }
    end
}

/// Merges the chunks already waiting in the channel queue (without waiting for more). Returns the
/// merged bytes and whether the channel closed meanwhile.
fn coalesce(
    first: Bytes,
    ch_rx: &mut russh::ChannelReadHalf,
    exit_code: &mut Option<u32>,
) -> (Bytes, bool) {
    let mut buf: Option<BytesMut> = None;
    let mut closed = false;
    while buf.as_ref().map_or(first.len(), BytesMut::len) < MAX_FRAME {
        match ch_rx.wait().now_or_never() {
            Some(Some(ChannelMsg::Data { data }))
            | Some(Some(ChannelMsg::ExtendedData { data, .. })) => {
                buf.get_or_insert_with(|| BytesMut::from(&first[..]))
                    .extend_from_slice(&data);
            }
            Some(Some(ChannelMsg::ExitStatus { exit_status })) => *exit_code = Some(exit_status),
            Some(Some(ChannelMsg::Close)) | Some(None) => {
                closed = true;
                break;
            }
            Some(Some(_)) => {}
            // Nothing more queued right now.
            None => break,
        }
    }
    (buf.map_or(first, BytesMut::freeze), closed)
}

async fn inbound(
    mut ws_rx: SplitStream<WebSocket>,
    ch_tx: ChannelWriteHalf<russh::client::Msg>,
    control: mpsc::Sender<ServerFrame>,
    flow: Arc<Flow>,
    done: CancellationToken,
) -> ChannelWriteHalf<russh::client::Msg> {
    loop {
        let msg = tokio::select! {
            _ = done.cancelled() => break,
            m = ws_rx.next() => m,
        };
        match msg {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Binary(bytes))) => {
                let written = tokio::select! {
                    r = ch_tx.data_bytes(bytes) => r.is_ok(),
                    _ = done.cancelled() => false,
                };
                if !written {
                    break;
                }
            }
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ClientFrame>(t.as_str()) {
                Ok(ClientFrame::Resize { cols, rows }) => {
                    let (cols, rows) = clamp_size(Some(cols), Some(rows));
                    let _ = ch_tx.window_change(cols, rows, 0, 0).await;
                }
                Ok(ClientFrame::Ack { bytes }) => flow.ack(bytes),
                // A malformed control frame is answered, never fatal.
                Err(e) => {
                    let _ = control.try_send(ServerFrame::Error {
                        code: codes::BAD_FRAME.into(),
                        message: format!("ignored a malformed control frame: {e}"),
                    });
                }
            },
            Some(Ok(_)) => {}
        }
    }
    done.cancel();
    ch_tx
}

async fn finish_with_error(
    mut ws_tx: SplitSink<WebSocket, Message>,
    code: &str,
    message: String,
) -> PumpEnd {
    send_error_and_close(&mut ws_tx, code, message.clone()).await;
    PumpEnd::Failed(message)
}
