//! An attachment: one WebSocket bound to a session for as long as the socket lives.
//!
//! Outbound, it takes the hub's output queue and sends each chunk as a binary frame, awaiting the
//! send before taking the next: a slow browser leaves the queue full and the hub backlogs its
//! output (and past `terminal_lag_bytes` skips it, which the client is told). With ack flow
//! control on, it also stops taking from the queue while a window's worth of output is
//! unacknowledged. Inbound, binary frames are stdin bytes and text frames
//! JSON control, written to the shell channel (`input.rs`). When the session ends the socket gets
//! `exit` or `error` and a close; when the socket goes away first, the session only detaches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use wire::terminal::{codes, ParticipantView, ServerFrame};

use super::flow::Flow;
use super::inbound::Inbound;
use super::sharing::Participant;
use super::viewer::{Attached, Command, Ending, Output};
use crate::state::AppState;

/// How long an ending socket may take to flush its last output and say goodbye.
const GOODBYE: Duration = Duration::from_secs(5);

/// A socket about to be bound to a session.
pub struct Binding {
    pub session_id: String,
    pub attached: Attached,
    pub commands: mpsc::Sender<Command>,
    /// A reattach announces and sends the replay; a new session has nothing to replay.
    pub replay: bool,
    pub role: Role,
    /// The session's participants, followed by an owner's socket (`None` for a joiner's).
    pub roster: Option<watch::Receiver<Vec<ParticipantView>>>,
}

/// Whose socket this is.
pub enum Role {
    /// The owner's: it types, sizes the PTY, and follows the roster of participants.
    Owner,
    /// A participant's (share link or watcher), in someone else's (`owner`'s) session.
    Joiner {
        participant: Arc<Participant>,
        owner: String,
    },
}

/// How an attachment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The socket went away; the session lives on, detached.
    Detached,
    /// The session ended (or this socket was replaced, or asked to close it).
    Ended,
}

pub fn text(f: &ServerFrame) -> Message {
    Message::Text(serde_json::to_string(f).unwrap_or_default().into())
}

fn close(code: u16) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: "".into(),
    }))
}

/// Tells the client why the session cannot go on, then closes the socket (1011: server error).
/// Used before a session exists, on the whole socket.
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
    let _ = sink.send(close(1011)).await;
}

pub async fn run(state: &AppState, socket: WebSocket, binding: Binding) -> Outcome {
    let Attached {
        replay,
        mut output,
        mut ending,
        input,
    } = binding.attached;
    let (mut ws_tx, ws_rx) = socket.split();
    let mut sent: u64 = 0;
    let mut greeting = vec![text(&ServerFrame::Session {
        session_id: binding.session_id.clone(),
    })];
    let mut roster = binding.roster;
    let mut participant = None;
    if let Some(rx) = &mut roster {
        let participants = rx.borrow_and_update().clone();
        if !participants.is_empty() {
            greeting.push(text(&ServerFrame::Participants { participants }));
        }
    }
    match binding.role {
        Role::Owner => {}
        Role::Joiner {
            participant: p,
            owner,
        } => {
            greeting.push(text(&ServerFrame::Joined {
                owner,
                mode: p.mode.as_str().to_owned(),
            }));
            participant = Some(p);
        }
    }
    if binding.replay {
        greeting.push(text(&ServerFrame::Replay {
            offset: replay.offset,
            bytes: replay.len(),
        }));
        sent = replay.len();
        greeting.extend(replay.chunks.into_iter().map(Message::Binary));
    }
    let greeted = async {
        for frame in greeting {
            ws_tx.send(frame).await?;
        }
        Ok::<_, axum::Error>(())
    };
    let greeted = tokio::select! {
        r = greeted => r.is_ok(),
        // A client that does not read cannot hold up shutdown.
        _ = state.shutdown.cancelled() => false,
    };
    if !greeted {
        return Outcome::Detached;
    }

    let done = CancellationToken::new();
    let (control_tx, mut control_rx) = mpsc::channel::<ServerFrame>(8);
    let flow = Arc::new(Flow::default());
    let close_requested = Arc::new(AtomicBool::new(false));
    let inbound = tokio::spawn(
        Inbound {
            state: state.clone(),
            session_id: binding.session_id,
            input,
            commands: binding.commands,
            control: control_tx,
            flow: flow.clone(),
            close_requested: close_requested.clone(),
            done: done.clone(),
            participant: participant.clone(),
        }
        .run(ws_rx),
    );
    let shutdown = state.shutdown.clone();

    let outcome = loop {
        let paused = flow.must_wait(sent);
        tokio::select! {
            biased;
            end = &mut ending => {
                let requested = close_requested.load(Ordering::Acquire);
                goodbye(&mut ws_tx, end.ok(), &mut output, requested, &done).await;
                break Outcome::Ended;
            }
            _ = done.cancelled() => break Outcome::Detached,
            code = kicked(participant.as_deref()) => {
                let end = Ending::Error { code, message: kick_message(code).to_owned() };
                goodbye(&mut ws_tx, Some(end), &mut output, false, &done).await;
                break Outcome::Ended;
            }
            Some(participants) = changed(roster.as_mut()) => {
                if ws_tx.send(text(&ServerFrame::Participants { participants })).await.is_err() {
                    break Outcome::Detached;
                }
            }
            Some(frame) = control_rx.recv() => {
                if ws_tx.send(text(&frame)).await.is_err() {
                    break Outcome::Detached;
                }
            }
            // While paused the queue is not read: it fills and the hub backlogs (then skips) output.
            _ = flow.acks.notified(), if paused => {}
            item = output.recv(), if !paused => {
                let chunk = match item {
                    Some(Output::Data(chunk)) => Some(chunk),
                    Some(Output::Skipped(bytes)) => {
                        if ws_tx.send(text(&ServerFrame::Skipped { bytes })).await.is_err() {
                            break Outcome::Detached;
                        }
                        continue;
                    }
                    None => None,
                };
                let Some(chunk) = chunk else {
                    // The hub let go of this socket; its ending says why.
                    let end = (&mut ending).await.ok();
                    goodbye(&mut ws_tx, end, &mut output, false, &done).await;
                    break Outcome::Ended;
                };
                sent += chunk.len() as u64;
                let delivered = tokio::select! {
                    r = ws_tx.send(Message::Binary(chunk)) => r.is_ok(),
                    _ = done.cancelled() => false,
                    _ = shutdown.cancelled() => {
                        // The hub is ending every session; say goodbye if the client still listens.
                        let end = tokio::time::timeout(GOODBYE, &mut ending).await.ok().and_then(Result::ok);
                        goodbye(&mut ws_tx, end, &mut output, false, &done).await;
                        break Outcome::Ended;
                    }
                };
                if !delivered {
                    break Outcome::Detached;
                }
            }
        }
    };
    done.cancel();
    let _ = inbound.await;
    if close_requested.load(Ordering::Acquire) {
        Outcome::Ended
    } else {
        outcome
    }
}

/// The last frames of an ending socket: any output still queued, then `exit` or `error`, then a
/// close. Bounded in time, since a client that stopped reading cannot be told anything.
async fn goodbye(
    ws_tx: &mut SplitSink<WebSocket, Message>,
    end: Option<Ending>,
    output: &mut mpsc::Receiver<Output>,
    close_requested: bool,
    done: &CancellationToken,
) {
    let mut frames = Vec::new();
    match end {
        Some(Ending::Exited { code, tail }) => {
            let queued = std::iter::from_fn(|| output.try_recv().ok());
            frames.extend(queued.chain(tail).map(|item| match item {
                Output::Data(chunk) => Message::Binary(chunk),
                Output::Skipped(bytes) => text(&ServerFrame::Skipped { bytes }),
            }));
            frames.push(text(&ServerFrame::Exit { code }));
        }
        // The client asked for this; it needs no explanation.
        Some(Ending::Error { code, .. }) if code == codes::SESSION_CLOSED && close_requested => {}
        Some(Ending::Error { code, message }) => frames.push(text(&ServerFrame::Error {
            code: code.to_owned(),
            message,
        })),
        None => {}
    }
    frames.push(close(1000));
    let send_all = async {
        for frame in frames {
            if ws_tx.send(frame).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = send_all => {}
        _ = done.cancelled() => {}
        _ = tokio::time::sleep(GOODBYE) => {}
    }
}

/// What a participant is told when it is removed with `code`.
pub fn kick_message(code: &str) -> &'static str {
    match code {
        codes::SHARE_REVOKED => "the owner stopped sharing this session",
        codes::ACCESS_REVOKED => "you may no longer use this session's server",
        _ => "the owner removed you from this session",
    }
}

pub(super) async fn kicked(participant: Option<&Participant>) -> &'static str {
    match participant {
        Some(p) => p.kicked().await,
        None => std::future::pending().await,
    }
}

/// The roster, each time it changes (never, for a joiner; `None` once it is gone).
pub(super) async fn changed(
    roster: Option<&mut watch::Receiver<Vec<ParticipantView>>>,
) -> Option<Vec<ParticipantView>> {
    match roster {
        Some(rx) => {
            rx.changed().await.ok()?;
            let list = rx.borrow_and_update().clone();
            Some(list)
        }
        None => std::future::pending().await,
    }
}

/// Resolves an attach request: the hub's answer, unless the session ended meanwhile.
pub async fn request_attach(
    commands: &mpsc::Sender<Command>,
    offset: Option<u64>,
) -> Option<Attached> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(Command::Attach { offset, reply })
        .await
        .ok()?;
    answer.await.ok()
}

/// Resolves a join request: the hub's answer, unless the session ended meanwhile.
pub async fn request_join(
    commands: &mpsc::Sender<Command>,
    participant_id: String,
) -> Option<Attached> {
    let (reply, answer) = oneshot::channel();
    commands
        .send(Command::Join {
            participant_id,
            reply,
        })
        .await
        .ok()?;
    answer.await.ok()
}
