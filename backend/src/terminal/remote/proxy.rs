//! The viewing side: a socket on this replica bound to a session on another. [`bind`] asks the
//! hosting replica for a bridge and returns what a local hub would have handed the socket (the
//! replay, an output queue, the ending, an input, a command queue and, for an owner, the
//! roster), so `attachment::run` drives it unchanged.
//!
//! Back-pressure: the pub/sub listener hands frames over without waiting; the pump moves them
//! into the socket's queue (4 chunks, as from a hub) and acks to the host what the socket took,
//! every `ACK_EVERY` bytes. The host keeps at most a flow window (1 MiB) unacknowledged, so a
//! slow browser here backs up into the hub's backlog there, as if it were connected there, and
//! this replica holds at most a window. Frames that find the queue full wait in a backlog
//! bounded by `terminal_lag_bytes` (past it: `skipped`), which the window keeps from filling.

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use wire::terminal::{codes, ParticipantView, ACK_EVERY};

use super::protocol::{Answer, Call, Frame};
use super::{PING_EVERY, SILENCE};
use crate::cluster::{Cluster, ClusterError, Route, CALL_TIMEOUT};
use crate::terminal::backlog::Backlog;
use crate::terminal::input::Input;
use crate::terminal::ring::Replay;
use crate::terminal::sharing::Mode;
use crate::terminal::viewer::{Attached, Command, Ending, Output};

/// Chunks in flight to the socket, as a hub's viewer queue.
const VIEWER_QUEUE: usize = 4;

/// A view of a session on another replica.
pub struct Proxied {
    pub attached: Attached,
    pub commands: mpsc::Sender<Command>,
    pub roster: Option<watch::Receiver<Vec<ParticipantView>>>,
    /// The session owner's username.
    pub owner: String,
    /// What the host admitted a participant to.
    pub mode: Mode,
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The host does not have it (any more), or will not bind this caller to it.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Cluster(#[from] ClusterError),
}

/// Asks `host` to bind a bridge built by `call` (given the bridge id); `owner` says whether
/// this is the owner's socket (it follows the roster).
pub async fn bind(
    cluster: &Cluster,
    host: &str,
    lag_bytes: usize,
    owner: bool,
    call: impl FnOnce(String) -> Call,
) -> Result<Proxied, BindError> {
    let bridge = uuid::Uuid::new_v4().to_string();
    let mut route = cluster.frames_of(&bridge);
    let answer: Answer = cluster.call(host, &call(bridge.clone())).await?;
    let (owner_name, mode) = match answer {
        Answer::Bound { owner, mode } => (owner, Mode::parse(&mode).unwrap_or(Mode::ReadOnly)),
        _ => return Err(BindError::NotFound),
    };
    let up = Cluster::bridge_channel(host, &bridge);
    let mut chunks = Vec::new();
    let mut first_roster = Vec::new();
    let offset = loop {
        let frame = tokio::time::timeout(CALL_TIMEOUT, route.frames.recv())
            .await
            .map_err(|_| ClusterError::Timeout)?
            .ok_or(ClusterError::Down)?;
        match Frame::decode(frame) {
            Some(Frame::ReplayChunk(chunk)) => chunks.push(chunk),
            Some(Frame::ReplayEnd(offset)) => break offset,
            // Before the replay ends, so the socket's greeting names the participants.
            Some(Frame::Roster(list)) => first_roster = list,
            Some(Frame::Exited(_) | Frame::Error { .. }) => return Err(BindError::NotFound),
            _ => {}
        }
    };
    let (output_tx, output) = mpsc::channel(VIEWER_QUEUE);
    let (ending_tx, ending) = oneshot::channel();
    let (commands, commands_rx) = mpsc::channel(8);
    let (roster_tx, roster_rx) = watch::channel(first_roster);
    let pump = Pump {
        cluster: cluster.clone(),
        up: up.clone(),
        output: output_tx,
        ending: Some(ending_tx),
        backlog: Backlog::new(lag_bytes.max(1)),
        roster: roster_tx,
        unacked: 0,
    };
    tokio::spawn(pump.run(route, commands_rx));
    Ok(Proxied {
        attached: Attached {
            replay: Replay { offset, chunks },
            output,
            ending,
            input: Input::remote(cluster.clone(), up),
        },
        commands,
        roster: owner.then_some(roster_rx),
        owner: owner_name,
        mode,
    })
}

struct Pump {
    cluster: Cluster,
    up: String,
    output: mpsc::Sender<Output>,
    ending: Option<oneshot::Sender<Ending>>,
    backlog: Backlog,
    roster: watch::Sender<Vec<ParticipantView>>,
    /// Output bytes handed to the socket and not acked to the host yet.
    unacked: u64,
}

impl Pump {
    async fn run(mut self, mut route: Route, mut commands: mpsc::Receiver<Command>) {
        let mut ping = tokio::time::interval(PING_EVERY);
        let mut last_heard = Instant::now();
        // A second handle, so waiting on the queue borrows nothing the arms change.
        let output = self.output.clone();
        // Flow control on from the start (see `host.rs`).
        let _ = self
            .cluster
            .publish(&self.up, &Frame::Ack(0).encode())
            .await;
        loop {
            if self.unacked >= ACK_EVERY {
                let ack = Frame::Ack(std::mem::take(&mut self.unacked));
                let _ = self.cluster.publish(&self.up, &ack.encode()).await;
            }
            tokio::select! {
                biased;
                frame = route.frames.recv() => {
                    let Some(frame) = frame else {
                        self.end_lost("the link to the replica running this session was lost");
                        break;
                    };
                    last_heard = Instant::now();
                    if !self.take(frame) {
                        break;
                    }
                }
                permit = output.reserve(), if !self.backlog.is_empty() => {
                    match (permit, self.backlog.pop()) {
                        (Ok(permit), Some(item)) => {
                            self.unacked += taken(&item);
                            permit.send(item);
                        }
                        (Err(_), _) => { self.leave().await; break; }
                        _ => {}
                    }
                }
                command = commands.recv() => {
                    if let Some(Command::Close(_)) = command {
                        let _ = self.cluster.publish(&self.up, &Frame::Close.encode()).await;
                    }
                }
                // The socket went away: the session detaches (or the joiner leaves) there.
                _ = output.closed() => {
                    self.leave().await;
                    break;
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > SILENCE {
                        self.end_lost("the replica running this session stopped answering");
                        break;
                    }
                    if self.cluster.publish(&self.up, &Frame::Ping.encode()).await.is_err() {
                        self.end_lost("the replica running this session is gone");
                        break;
                    }
                }
            }
        }
    }

    /// Handles one frame from the host; false once the view has ended.
    fn take(&mut self, frame: Bytes) -> bool {
        match Frame::decode(frame) {
            Some(Frame::Data(chunk)) => self.offer(Output::Data(chunk)),
            Some(Frame::Skipped(n)) => self.offer(Output::Skipped(n)),
            Some(Frame::Roster(list)) => {
                self.roster.send_replace(list);
            }
            Some(Frame::Exited(code)) => {
                let tail = std::iter::from_fn(|| self.backlog.pop()).collect();
                self.end(Ending::Exited { code, tail });
                return false;
            }
            Some(Frame::Error { code, message }) => {
                let code = codes::known(&code);
                self.end(Ending::Error { code, message });
                return false;
            }
            _ => {}
        }
        true
    }

    /// Straight into the socket's queue when it has room and nothing waits; else the backlog.
    fn offer(&mut self, item: Output) {
        use mpsc::error::TrySendError::{Closed, Full};
        if !self.backlog.is_empty() {
            return self.queue(item);
        }
        let bytes = taken(&item);
        match self.output.try_send(item) {
            Ok(()) => self.unacked += bytes,
            Err(Full(item) | Closed(item)) => self.queue(item),
        }
    }

    fn queue(&mut self, item: Output) {
        match item {
            Output::Data(chunk) => self.backlog.push(chunk),
            Output::Skipped(n) => self.backlog.push_skipped(n),
        }
    }

    fn end(&mut self, ending: Ending) {
        if let Some(tx) = self.ending.take() {
            let _ = tx.send(ending);
        }
    }

    fn end_lost(&mut self, message: &str) {
        self.end(Ending::Error {
            code: codes::REPLICA_GONE,
            message: message.to_owned(),
        });
    }

    async fn leave(&self) {
        let _ = self.cluster.publish(&self.up, &Frame::Leave.encode()).await;
    }
}

/// Output bytes an item hands the socket.
fn taken(item: &Output) -> u64 {
    match item {
        Output::Data(chunk) => chunk.len() as u64,
        Output::Skipped(_) => 0,
    }
}

/// A stdin frame for the host.
pub(crate) fn stdin_frame(bytes: Bytes) -> Bytes {
    Frame::Data(bytes).encode()
}

/// A resize frame for the host.
pub(crate) fn resize_frame(cols: u32, rows: u32) -> Bytes {
    Frame::Resize(cols, rows).encode()
}
