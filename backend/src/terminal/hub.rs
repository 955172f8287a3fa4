//! The session hub: one task per terminal session that owns the reading half of the shell's SSH
//! channel and outlives any WebSocket.
//!
//! It reads the channel, merges what is already queued into chunks of up to 64 KiB, appends each
//! chunk to the replay ring and hands it to the attached owner socket through a small queue,
//! with a backlog behind it.
//!
//! The hub never stops reading the channel. The shell's SSH connection is shared (pooled per
//! user and server, and bastion connections carry every hop behind them), and russh delivers
//! every channel of a connection from one loop: a channel nobody reads stalls them all. So a
//! socket that cannot keep up (a slow link, a background tab whose acks lag) builds a backlog,
//! bounded by `terminal_lag_bytes`; past it, the oldest waiting output is dropped and the
//! socket is told how much (`skipped`), as a terminal multiplexer does for a slow client. The
//! shell is never slowed by a browser and memory stays bounded. With no socket attached the hub
//! reads on into the ring alone.
//!
//! The viewer side is a set of queues, one per socket: the owner's, and one per joiner (share
//! link or watcher). Each joiner has its own backlog, fed with `try_send` only and flushed on a
//! short tick, so a slow joiner lags, then skips, alone and never holds the hub, the owner or the
//! other joiners up. Joiners do not keep a session alive: only the owner's socket counts for the
//! grace timer.
//!
//! A recorded session's hub also hands every chunk to its recorder (`try_send` only: see
//! `recordings/recorder.rs`), in the order the shell wrote it.
//!
//! Lifetime: the owner's socket going away detaches the session and starts the grace timer; a
//! reattach cancels it, expiry ends the session. The shell exiting, a close request, the idle
//! timeout and shutdown end it at once. The caller (`session.rs`) then closes the channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use russh::{ChannelMsg, ChannelReadHalf};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;
use wire::terminal::codes;

use super::backlog::Backlog;
use super::input::Input;
use super::joiners::fan_out;
use super::registry::TerminalRegistry;
use super::ring::Ring;
use super::viewer::{Attached, CloseReason, Command, Ending, HubEnd, Output};
use crate::recordings::Recorder;

/// Output chunks already queued are merged into one frame up to this size: fewer, larger
/// WebSocket frames when a command floods the terminal, no added latency when it does not.
const MAX_FRAME: usize = 64 * 1024;

/// Chunks in flight to the owner's socket; more wait in the hub's backlog.
const VIEWER_QUEUE: usize = 4;

/// How often output waiting for lagging joiners is offered to them again.
const JOINER_FLUSH: Duration = Duration::from_millis(50);

/// When the session last saw input or output; `Input` touches it too.
pub struct Activity {
    base: Instant,
    millis: AtomicU64,
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            base: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    pub fn touch(&self) {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_max(now, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.base + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

pub struct Settings {
    pub grace: Duration,
    /// `None`: no idle timeout.
    pub idle: Option<Duration>,
    pub replay_bytes: usize,
    /// Most output waiting for a socket that falls behind before the oldest is dropped.
    pub lag_bytes: usize,
}

pub(super) struct Viewer {
    pub(super) output: mpsc::Sender<Output>,
    pub(super) ending: oneshot::Sender<Ending>,
}

pub struct Hub {
    session_id: String,
    registry: TerminalRegistry,
    settings: Settings,
    activity: Arc<Activity>,
    input: Input,
    ring: Ring,
    owner: Option<Viewer>,
    /// Output read but not yet taken by the owner's queue.
    backlog: Backlog,
    /// Joiners by participant id, each with its own backlog.
    joiners: HashMap<String, (Viewer, Backlog)>,
    /// Gets every chunk of output, when the session is recorded.
    recorder: Option<Recorder>,
}

impl Hub {
    /// A hub whose first owner is the socket that opened the session.
    pub fn new(
        session_id: String,
        registry: TerminalRegistry,
        settings: Settings,
        activity: Arc<Activity>,
        input: Input,
        recorder: Option<Recorder>,
    ) -> (Hub, Attached) {
        let mut hub = Hub {
            session_id,
            registry,
            ring: Ring::new(settings.replay_bytes),
            backlog: Backlog::new(settings.lag_bytes),
            settings,
            activity,
            input,
            owner: None,
            joiners: HashMap::new(),
            recorder,
        };
        let attached = hub.attach(None);
        (hub, attached)
    }

    pub async fn run(
        mut self,
        mut channel: ChannelReadHalf,
        mut commands: mpsc::Receiver<Command>,
        shutdown: CancellationToken,
    ) -> HubEnd {
        let mut grace = Box::pin(sleep(self.settings.grace));
        let idle_after = self.settings.idle;
        let mut idle = Box::pin(sleep(idle_after.unwrap_or(Duration::ZERO)));
        let mut exit_code = None;
        let mut flush = tokio::time::interval(JOINER_FLUSH);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let end = loop {
            let lagging = self.joiners.values().any(|(_, b)| !b.is_empty());
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break HubEnd::Shutdown,
                command = commands.recv() => match command {
                    Some(Command::Attach { offset, reply }) => {
                        let _ = reply.send(self.attach(offset));
                    }
                    Some(Command::Join { participant_id, reply }) => {
                        let _ = reply.send(self.join(participant_id));
                    }
                    Some(Command::Close(reason)) => break HubEnd::Closed(reason),
                    // The registry holds a sender for as long as the session is listed.
                    None => break HubEnd::Closed(CloseReason::Requested),
                },
                _ = owner_gone(self.owner.as_ref()) => {
                    self.detach();
                    if self.settings.grace.is_zero() {
                        break HubEnd::DetachedTimeout;
                    }
                    grace.as_mut().reset(Instant::now() + self.settings.grace);
                }
                _ = flush.tick(), if lagging => fan_out(&mut self.joiners, None),
                _ = &mut grace, if self.owner.is_none() => break HubEnd::DetachedTimeout,
                _ = &mut idle, if idle_after.is_some() => {
                    let due = self.activity.last() + idle_after.unwrap_or_default();
                    if due <= Instant::now() {
                        break HubEnd::IdleTimeout;
                    }
                    idle.as_mut().reset(due);
                }
                permit = room(self.owner.as_ref().map(|o| o.output.clone())), if !self.backlog.is_empty() => {
                    // No permit: the owner went away (the branch above notices next).
                    if let (Some(permit), Some(item)) = (permit, self.backlog.pop()) {
                        permit.send(item);
                    }
                }
                msg = channel.wait() => match msg {
                    Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                        let (chunk, closed) = coalesce(data, &mut channel, &mut exit_code);
                        self.activity.touch();
                        crate::metrics::terminal_out(chunk.len());
                        self.ring.push(&chunk);
                        if let Some(recorder) = &self.recorder {
                            recorder.output(&chunk);
                        }
                        self.offer(chunk.clone());
                        fan_out(&mut self.joiners, Some(chunk));
                        if closed {
                            break HubEnd::Exited(exit_code);
                        }
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => exit_code = Some(exit_status),
                    Some(ChannelMsg::Close) | None => break HubEnd::Exited(exit_code),
                    Some(_) => {}
                },
            }
        };
        if let Some(owner) = self.owner.take() {
            let _ = owner.ending.send(self.ending(end));
        }
        for (_, (joiner, mut backlog)) in std::mem::take(&mut self.joiners) {
            std::mem::swap(&mut self.backlog, &mut backlog);
            let _ = joiner.ending.send(self.ending(end));
        }
        // Unlisted before `commands` drops: whoever waits for that (`DELETE`) finds it gone.
        self.registry.remove(&self.session_id);
        end
    }

    fn attach(&mut self, offset: Option<u64>) -> Attached {
        if let Some(old) = self.owner.take() {
            let _ = old.ending.send(Ending::Error {
                code: codes::REPLACED,
                message: "this session was opened in another window".into(),
            });
        }
        // What was waiting for the old owner is in the ring, so in the new owner's replay.
        self.backlog.clear();
        let (output_tx, output) = mpsc::channel(VIEWER_QUEUE);
        let (ending_tx, ending) = oneshot::channel();
        self.owner = Some(Viewer {
            output: output_tx,
            ending: ending_tx,
        });
        self.registry
            .update(&self.session_id, |s| s.attached = true);
        Attached {
            replay: self.ring.since(offset),
            output,
            ending,
            input: self.input.clone(),
        }
    }

    /// A new joiner: its own queue and backlog, the whole ring as its replay.
    fn join(&mut self, participant_id: String) -> Attached {
        let (output_tx, output) = mpsc::channel(VIEWER_QUEUE);
        let (ending_tx, ending) = oneshot::channel();
        let viewer = Viewer {
            output: output_tx,
            ending: ending_tx,
        };
        let backlog = Backlog::new(self.settings.lag_bytes);
        self.joiners.insert(participant_id, (viewer, backlog));
        Attached {
            replay: self.ring.since(None),
            output,
            ending,
            input: self.input.clone(),
        }
    }

    /// Hands a chunk to the owner's socket: straight into its queue when nothing waits before it
    /// and there is room, else behind the backlog.
    fn offer(&mut self, chunk: Bytes) {
        let Some(owner) = &self.owner else {
            return;
        };
        if self.backlog.is_empty() {
            match owner.output.try_send(Output::Data(chunk)) {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(Output::Data(chunk))) => self.backlog.push(chunk),
                Err(TrySendError::Full(Output::Skipped(_))) => {}
            }
        } else {
            self.backlog.push(chunk);
        }
    }

    fn detach(&mut self) {
        self.owner = None;
        self.backlog.clear();
        self.registry
            .update(&self.session_id, |s| s.attached = false);
    }

    fn ending(&mut self, end: HubEnd) -> Ending {
        let error = |code, message: &str| Ending::Error {
            code,
            message: message.to_owned(),
        };
        match end {
            HubEnd::Exited(code) => Ending::Exited {
                code,
                tail: std::iter::from_fn(|| self.backlog.pop()).collect(),
            },
            HubEnd::Shutdown => error(codes::SHUTTING_DOWN, "the gateway is shutting down"),
            HubEnd::IdleTimeout => Ending::Error {
                code: codes::IDLE_TIMEOUT,
                message: format!(
                    "the session was ended after {} s without input or output",
                    self.settings.idle.unwrap_or_default().as_secs()
                ),
            },
            HubEnd::Closed(CloseReason::Requested) => {
                error(codes::SESSION_CLOSED, "the session was closed")
            }
            HubEnd::Closed(CloseReason::AccessRevoked) => error(
                codes::ACCESS_REVOKED,
                "the session was closed: you may no longer use this server",
            ),
            HubEnd::DetachedTimeout => error(codes::SESSION_CLOSED, "the session timed out"),
        }
    }
}

async fn owner_gone(owner: Option<&Viewer>) {
    match owner {
        Some(viewer) => viewer.output.closed().await,
        None => std::future::pending().await,
    }
}

/// Room for one more item in the owner's queue. Cancel-safe: nothing is taken from the
/// backlog until the permit is in hand.
async fn room(owner: Option<mpsc::Sender<Output>>) -> Option<mpsc::OwnedPermit<Output>> {
    match owner {
        Some(output) => output.reserve_owned().await.ok(),
        None => std::future::pending().await,
    }
}

/// Merges the chunks already waiting in the channel queue (without waiting for more). Returns the
/// merged bytes and whether the channel closed meanwhile.
fn coalesce(
    first: Bytes,
    channel: &mut ChannelReadHalf,
    exit_code: &mut Option<u32>,
) -> (Bytes, bool) {
    let mut buf: Option<BytesMut> = None;
    let mut closed = false;
    while buf.as_ref().map_or(first.len(), BytesMut::len) < MAX_FRAME {
        match channel.wait().now_or_never() {
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
