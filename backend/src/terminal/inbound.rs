//! A socket's reading half: stdin bytes and JSON control frames, written to the shell channel
//! (`input.rs`). A joiner's socket types only in read-write mode (its bytes counted for the
//! audit), never resizes the PTY and cannot close the session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures::stream::SplitStream;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wire::terminal::{codes, ClientFrame, ServerFrame};

use super::flow::Flow;
use super::handler::clamp_size;
use super::input::Input;
use super::sharing::{Mode, Participant};
use super::viewer::{CloseReason, Command};
use crate::state::AppState;

/// The socket's reading half: stdin bytes and control frames.
pub struct Inbound {
    pub state: AppState,
    pub session_id: String,
    pub input: Input,
    pub commands: mpsc::Sender<Command>,
    pub control: mpsc::Sender<ServerFrame>,
    pub flow: Arc<Flow>,
    pub close_requested: Arc<AtomicBool>,
    pub done: CancellationToken,
    /// Set on a joiner's socket.
    pub participant: Option<Arc<Participant>>,
}

impl Inbound {
    pub async fn run(self, mut ws_rx: SplitStream<WebSocket>) {
        let mut warned = false;
        // Who types on this socket, for the recording (`None`: the owner).
        let author: Option<Arc<str>> = self
            .participant
            .as_ref()
            .map(|p| p.username.as_str().into());
        loop {
            let msg = tokio::select! {
                _ = self.done.cancelled() => break,
                m = ws_rx.next() => m,
            };
            match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Binary(bytes))) => {
                    if !self.may_type(bytes.len(), &mut warned) {
                        continue;
                    }
                    tokio::select! {
                        _ = self.input.write(bytes, author.as_ref()) => {}
                        _ = self.done.cancelled() => {}
                    }
                }
                Some(Ok(Message::Text(t))) => self.control(t.as_str()).await,
                Some(Ok(_)) => {}
            }
        }
        self.done.cancel();
    }

    /// Whether these stdin bytes go to the shell. A read-only joiner's never do (it is told
    /// once); a read-write joiner's are counted (and `input.rs` names them in the recording).
    fn may_type(&self, len: usize, warned: &mut bool) -> bool {
        let Some(p) = &self.participant else {
            return true;
        };
        if p.mode == Mode::ReadOnly {
            if !std::mem::replace(warned, true) {
                let _ = self.control.try_send(ServerFrame::Error {
                    code: codes::READ_ONLY.into(),
                    message: "this session is shared with you read-only".into(),
                });
            }
            return false;
        }
        p.typed.fetch_add(len as u64, Ordering::Relaxed);
        true
    }

    async fn control(&self, frame: &str) {
        let joiner = self.participant.is_some();
        match serde_json::from_str::<ClientFrame>(frame) {
            // Only the owner sizes the PTY or ends the session; a joiner's `close` leaves.
            Ok(ClientFrame::Resize { .. }) if joiner => {}
            Ok(ClientFrame::Close) if joiner => self.done.cancel(),
            Ok(ClientFrame::Resize { cols, rows }) => {
                let (cols, rows) = clamp_size(Some(cols), Some(rows));
                let resized =
                    self.state
                        .terminals
                        .resize(&self.session_id, &self.input, cols, rows);
                tokio::select! {
                    _ = resized => {}
                    _ = self.done.cancelled() => {}
                }
            }
            Ok(ClientFrame::Ack { bytes }) => self.flow.ack(bytes),
            Ok(ClientFrame::Close) => {
                self.close_requested.store(true, Ordering::Release);
                let command = Command::Close(CloseReason::Requested);
                tokio::select! {
                    _ = self.commands.send(command) => {}
                    _ = self.done.cancelled() => {}
                }
            }
            // A malformed control frame is answered, never fatal.
            Err(e) => {
                let _ = self.control.try_send(ServerFrame::Error {
                    code: codes::BAD_FRAME.into(),
                    message: format!("ignored a malformed control frame: {e}"),
                });
            }
        }
    }
}
